"""The methadone-access run: travel time to dispensing points per commune and the best new sites.

Behind ``geo-pcmt methadone``: :func:`read_inputs` reads communes, facilities and the
``treatment`` counts as a role may see them; :func:`run` calls
:func:`geo_pcmt.analysis.methadone.access` (pure); :func:`write` stores the derived
``methadone_access`` layer (one point per commune and per candidate site) for the map and API.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import geopandas as gpd
import pandas as pd

from geo_pcmt.analysis import methadone
from geo_pcmt.runs import common

LAYER = "methadone_access"
RECORD_INPUTS = ("communes", "facilities", "treatment")


@dataclass(frozen=True)
class MethadoneParams:
    """``year`` of the people counts (default the latest), ``threshold_min`` the new site is
    chosen for (30 or 60), ``top`` candidate sites, ``role``."""

    year: int | None = None
    threshold_min: float = 30.0
    top: int = 3
    role: str = common.DEFAULT_ROLE


@dataclass
class MethadoneRun:
    """``access`` (:class:`geo_pcmt.analysis.methadone.Access`), ``year``, ``rows`` (the
    derived layer), ``run_id``, ``params``, ``confidentiality``."""

    access: methadone.Access
    year: int
    rows: gpd.GeoDataFrame
    run_id: str
    params: dict
    confidentiality: str


def read_inputs(store, params: MethadoneParams, role: str | None = None) -> dict[str, Any]:
    """Communes, facilities and treatment counts as ``role`` may see them."""
    role = common.check_role(params.role if role is None else role)
    return {layer: common.read(store, layer, role) for layer in RECORD_INPUTS}


def run(inputs: Mapping[str, Any], params: MethadoneParams | None = None) -> MethadoneRun:
    """Compute access and candidate sites (pure); ``ValueError`` without the inputs."""
    params = params or MethadoneParams()
    if params.threshold_min not in methadone.DEFAULT_THRESHOLDS_MIN:
        raise ValueError(f"threshold must be one of {methadone.DEFAULT_THRESHOLDS_MIN} minutes")
    counts = inputs["treatment"]
    years = sorted(set(pd.to_numeric(counts["year"]).astype(int))) if len(counts) else []
    if not years:
        raise ValueError("no treatment counts (people with records) in the store")
    year = params.year or years[-1]
    if year not in years:
        raise ValueError(f"no treatment counts for {year}; years: {', '.join(map(str, years))}")
    mine = counts[pd.to_numeric(counts["year"]).astype(int) == year]
    people = mine.groupby(mine["commune_code"].astype(str))["addicts_with_records"].sum()
    acc = methadone.access(inputs["communes"], inputs["facilities"], people,
                           sites_for_min=params.threshold_min, top=params.top)
    level = common.layer_confidentiality(LAYER, [counts, inputs["facilities"]])
    stored = {**asdict(params), "year": year, "confidentiality": level}
    run_id = common.new_run_id("md", common.params_json(stored), common.now_utc())
    return MethadoneRun(acc, year, _rows(acc, year, run_id, stored, level), run_id, stored, level)


def _rows(acc: methadone.Access, year: int, run_id: str, params: dict,
          level: str) -> gpd.GeoDataFrame:
    c = acc.communes.assign(kind="commune", id=lambda d: "c:" + d["commune_code"])
    s = acc.sites.assign(kind="candidate_site", id=lambda d: "s:" + d["rank"].astype(str))
    rows = pd.concat([c, s], ignore_index=True)
    rows = gpd.GeoDataFrame(rows, geometry="geometry", crs=acc.communes.crs)
    rows["year"], rows["run_id"] = year, run_id
    rows["params"], rows["confidentiality"] = common.params_json(params), level
    rows["rank"] = rows["rank"].astype("Int64")
    for col in ("gain_people", "communes_gained", "people"):
        rows[col] = rows[col].astype("Int64")
    return rows


def write(store, result: MethadoneRun, *, user: str = "system") -> list:
    """Replace the ``methadone_access`` layer with the run's rows."""
    return common.check_and_write(store, {LAYER: result.rows}, mode="replace", user=user)


__all__ = ["MethadoneParams", "MethadoneRun", "read_inputs", "run", "write"]
