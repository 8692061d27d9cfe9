"""Who may see what: roles, clearances, layer visibility, row redaction, public aggregates.

One place decides access, and every output (API items, exports, map, OpenAPI) asks it:

=========  =========================  ==============================================
role       clearance                  sees
=========  =========================  ==============================================
viewer     public                     base layers, public layers, per-commune counts
                                      (small counts suppressed); no point records
analyst    restricted                 every record up to *restricted*
commander  restricted                 as analyst, plus patrol plans
admin      secret                     everything, users, uploads, deletes, audit log
=========  =========================  ==============================================
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd

from .layers import CONFIDENTIALITY_LEVELS, LAYERS, Layer, get_layer

ROLES: tuple[str, ...] = ("viewer", "analyst", "commander", "admin")
CLEARANCE = {"viewer": "public", "analyst": "restricted", "commander": "restricted",
             "admin": "secret"}
SMALL_COUNT = 5  # counts below this are suppressed in public aggregates ("< 5")

# Record layers a viewer never sees as rows, whatever a row's confidentiality says.
INTELLIGENCE_LAYERS = frozenset({"retail_points", "opium_plots", "cases", "hotspot_clusters",
                                 "gistar_cells", "emerging_hotspots", "complex_hotspots",
                                 "commune_assessments"})
ADMIN_ONLY_LAYERS = frozenset({"audit_log"})


def role_rank(role: str) -> int:
    """0 viewer … 3 admin; ``ValueError`` for unknown roles."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}") from None


def at_least(role: str, needed: str) -> bool:
    """Whether ``role`` has the rights of ``needed`` (roles are ordered)."""
    return role_rank(role) >= role_rank(needed)


def allowed_levels(role: str) -> tuple[str, ...]:
    """Confidentiality levels a role may read."""
    top = CONFIDENTIALITY_LEVELS.index(CLEARANCE[ROLES[role_rank(role)]])
    return CONFIDENTIALITY_LEVELS[: top + 1]


def can_read_layer(role: str, layer: str | Layer) -> bool:
    """Whether any row of ``layer`` may reach ``role``."""
    spec = get_layer(layer) if isinstance(layer, str) else layer
    if spec.name in ADMIN_ONLY_LAYERS:
        return role == "admin"
    if spec.name in INTELLIGENCE_LAYERS:
        return at_least(role, "analyst")
    return spec.confidentiality_default in allowed_levels(role) or at_least(role, "analyst")


def readable_layers(role: str) -> list[str]:
    """Names of the layers ``role`` may read, in schema order."""
    return [name for name in LAYERS if can_read_layer(role, name)]


def row_filter(role: str, layer: str | Layer) -> dict:
    """A store ``where`` that keeps only rows the role is cleared for (empty if no column)."""
    spec = get_layer(layer) if isinstance(layer, str) else layer
    if "confidentiality" not in spec.field_names or role == "admin":
        return {}
    return {"confidentiality": list(allowed_levels(role))}


def redact(frame: pd.DataFrame, layer: str | Layer, role: str) -> pd.DataFrame:
    """Drop rows above the role's clearance (for frames that did not come through the store)."""
    if not can_read_layer(role, layer):
        return frame.iloc[0:0]
    if "confidentiality" not in frame.columns or role == "admin":
        return frame
    keep = frame["confidentiality"].fillna("restricted").isin(allowed_levels(role))
    return frame[keep.to_numpy()]


def commune_counts(records: pd.DataFrame, communes: gpd.GeoDataFrame, *,
                   by: str | None = None, min_count: int = SMALL_COUNT) -> gpd.GeoDataFrame:
    """Public aggregate: records per commune (optionally per ``by`` value), small counts hidden.

    Counts below ``min_count`` (but above zero) become missing and ``suppressed`` is True,
    so a viewer cannot single out a household from a count of 1.
    """
    codes = records["commune_code"] if "commune_code" in records.columns else pd.Series([], dtype=object)
    if by is None:
        counts = codes.value_counts().rename("count")
        table = pd.DataFrame(counts)
    else:
        table = (records.groupby(["commune_code", by]).size().unstack(fill_value=0)
                 .add_prefix("count_"))
    out = communes[["code", "name", "geometry"]].merge(table, left_on="code", right_index=True,
                                                      how="left")
    count_cols = [c for c in out.columns if c.startswith("count")]
    out[count_cols] = out[count_cols].fillna(0).astype(int)
    small = (out[count_cols] > 0) & (out[count_cols] < min_count)
    out["suppressed"] = small.any(axis=1).to_numpy()
    for c in count_cols:
        out[c] = out[c].astype("Int64").mask(small[c])
    return gpd.GeoDataFrame(out, geometry="geometry", crs=communes.crs)

