"""What a patrol plan is made of: posts, plans, the error, the timetable clock, constants."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Mapping

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from geo_pcmt.access import marking
from geo_pcmt.ingest.gazetteer import normalize
from geo_pcmt.layers import CONFIDENTIALITY_LEVELS, area_codes
from geo_pcmt.values import is_missing, text

#: Koper curve: stops of about 10–16 minutes deter best (DOMAIN.md §5); 15 min by default.
DWELL_MIN_DEFAULT = 15.0
KOPER_DWELL_RANGE_MIN = (10, 16)
#: Opium poppy season in Nghệ An (1 Sep – 31 Mar, :mod:`geo_pcmt.analysis.calendar`):
#: sown in autumn, harvested around March.
OPIUM_SEASON_MONTHS = (9, 10, 11, 12, 1, 2, 3)
#: Risk at or above which a target is "high risk" for the weekly coverage guarantee.
HIGH_RISK_MIN = 7.0
#: The least a stored plan is marked: patrol plans are never public.
PLAN_CONFIDENTIALITY_MIN = "restricted"

TARGET_COLUMNS = ["target_id", "target_kind", "name", "risk", "reason_vi", "dwell_min",
                  "tw_open_min", "tw_close_min", "revisit_min", "lao_counterpart",
                  "commune_code", "source_layer", "source_ids", "confidentiality"]


class PatrolError(ValueError):
    """A patrol request that cannot be planned, with a reason a commander can act on."""


def as_date(value: Any) -> date | None:
    """A cell (ISO text, date, timestamp) as a date; ``None`` when missing or unreadable."""
    if is_missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    day = text(value, "")[:10]
    try:
        return date.fromisoformat(day) if day else None
    except ValueError:
        return None


def highest_confidentiality(values: Iterable[Any], *,
                            at_least: str = PLAN_CONFIDENTIALITY_MIN) -> str:
    """The strictest level among ``values`` (missing counts as *restricted*), never below
    ``at_least``: what a result derived from rows with these levels must carry.

    Examples
    --------
    >>> highest_confidentiality(["public", None, "secret"]), highest_confidentiality([])
    ('secret', 'restricted')
    """
    order = {level: i for i, level in enumerate(CONFIDENTIALITY_LEVELS)}
    top = order[at_least]
    for v in values:
        top = max(top, order.get(text(v, "restricted"), order["restricted"]))
    return CONFIDENTIALITY_LEVELS[top]


# --- posts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Post:
    """Where the teams leave from and come back to (đồn biên phòng, trạm)."""

    id: str
    name: str
    lon: float
    lat: float
    unit: str = ""
    area_codes: tuple[str, ...] = ()

    @property
    def point(self) -> Point:
        return Point(self.lon, self.lat)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Post":
        """A post from a ``border_posts`` row (a polygon stands for its inner point)."""
        geom = row.get("geometry")
        if geom is None or geom.is_empty:
            raise PatrolError(f"post {row.get('name')!r} has no position")
        geom = geom if geom.geom_type == "Point" else geom.representative_point()
        return cls(str(row["id"]), str(row["name"]), float(geom.x), float(geom.y),
                   text(row.get("unit"), ""), area_codes(row.get("area_of_responsibility")))


def _match_score(name: str, pid: str, query: str, q: str) -> int:
    if pid == query.strip().lower() or name == q:
        return 3
    if name.endswith(" " + q):
        return 2
    return 1 if f" {q} " in f" {name} " else 0


def find_post(posts: pd.DataFrame, query: str) -> Post:
    """The border post whose name or id matches ``query``, with or without diacritics.

    ``"Nậm Cắn"``, ``"nam can"`` and ``"Đồn BP CKQT Nậm Cắn"`` all find *Đồn BP CKQT Nậm Cắn*.
    An exact name beats a name ending in the query, which beats a name containing it.

    Raises
    ------
    PatrolError
        No post matches (the message lists the known posts) or several match equally.

    Examples
    --------
    >>> posts = gpd.GeoDataFrame({"id": ["BP-1"], "name": ["Đồn BP CKQT Nậm Cắn"]},
    ...                          geometry=[Point(104.12, 19.48)], crs="EPSG:4326")
    >>> find_post(posts, "nam can").name
    'Đồn BP CKQT Nậm Cắn'
    """
    q = normalize(query)
    if not q:
        raise PatrolError("Cần tên đồn, ví dụ \"Nậm Cắn\" / give the post's name, "
                          "e.g. --post \"Nậm Cắn\"")
    if posts is None or len(posts) == 0:
        raise PatrolError("Chưa có đồn biên phòng nào trong kho dữ liệu / no border posts in "
                          "the store (layer border_posts is empty)")
    score = [_match_score(normalize(n), str(i).strip().lower(), query, q)
             for n, i in zip(posts["name"], posts["id"])]
    best = max(score)
    if best == 0:
        known = ", ".join(sorted(map(str, posts["name"])))
        raise PatrolError(f"Không có đồn \"{query}\"; các đồn có: {known} / unknown post "
                          f"{query!r}; known posts: {known}")
    rows = [i for i, s in enumerate(score) if s == best]
    if len(rows) > 1:
        found = ", ".join(str(posts["name"].iloc[i]) for i in rows)
        raise PatrolError(f"Tên \"{query}\" khớp nhiều đồn: {found}; hãy ghi đủ tên / post "
                          f"{query!r} is ambiguous: {found}; give the full name")
    return Post.from_row(posts.iloc[rows[0]].to_dict())


# --- the plan ---------------------------------------------------------------------------------

@dataclass
class PatrolPlan:
    """A patrol plan: ``stops`` (EPSG:4326 points, one per visit, in team order), ``routes``
    (one line per team), the ``post``, a ``report`` (JSON-able) and the ``params`` it was
    made with. ``targets`` are the targets (risk > 0) with flags ``reachable``, ``candidate``
    (in today's draw), ``forced``, ``visited`` and the draw's ``inclusion_p``."""

    post: Post
    stops: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    report: dict
    params: dict
    targets: gpd.GeoDataFrame | None = None
    plan_id: str | None = None
    created_by: str | None = None

    @property
    def risk_covered(self) -> float:
        return float(self.report.get("risk_covered", 0.0))

    @property
    def confidentiality(self) -> str:
        """The plan's level: the strictest of the targets it was made from (≥ restricted)."""
        return highest_confidentiality([self.report.get("confidentiality")])

    @property
    def marking_vi(self) -> str:
        """The classification printed on the brief and the GPS: ``MẬT`` or ``TỐI MẬT``."""
        return marking([self.confidentiality], at_least=PLAN_CONFIDENTIALITY_MIN)[0]


# --- the timetable clock ----------------------------------------------------------------------

def parse_clock(value: str) -> int:
    """Minutes after midnight of ``HH:MM`` (also ``7h30``, ``7g30``); ``PatrolError`` if not."""
    m = re.fullmatch(r"\s*(\d{1,2})[:hg](\d{2})\s*", str(value))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise PatrolError(f"start time must look like 07:30, got {value!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


def clock(start_time: str, minutes: float) -> str:
    """``start_time`` plus ``minutes`` as HH:MM (24 h; ``+1`` marks the next day).

    Examples
    --------
    >>> clock("07:30", 95.4)
    '09:05'
    """
    total = parse_clock(start_time) + int(round(minutes))
    day, rest = divmod(total, 24 * 60)
    return f"{rest // 60:02d}:{rest % 60:02d}" + (f" (+{day})" if day else "")
