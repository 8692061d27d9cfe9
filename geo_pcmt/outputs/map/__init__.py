"""The interactive hotspot map (bản đồ điểm nóng): a folium Map built from layer frames, offline.

:func:`build` is a pure function: it takes the layers as frames (``{"communes": gdf, …}``), the
reader's role and a few options, and returns a :class:`folium.Map` whose JavaScript/CSS all come
from the vendored copies (:mod:`geo_pcmt.outputs.map.vendor`). Each layer appears only when its frame is
given and the role may read it (:mod:`geo_pcmt.access`): a *viewer* gets the base map, the
public layers and per-commune counts with small counts suppressed — never a point record.

Data reach the browser as compact JSON (arrays for points, rounded GeoJSON for areas) and are
drawn there: 50,000 retail points cost one array row each instead of one folium object each,
clustered with Leaflet.markercluster. Popups are made when opened, in Vietnamese or English
(``?lang=en`` or the switch in the panel), and every value from data is HTML-escaped there.

:func:`frames_from_store` reads what a role may see from a store; :func:`render_html` and
:func:`save` write the page (``standalone=True`` inlines every asset into one file).
"""
from __future__ import annotations

import html
import json
import math
import re
import shutil
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import JSCSSMixin
from folium.template import Template

from geo_pcmt import access
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import COMMUNE_STATUS, CROSSING_KINDS, RETAIL_POINT_STATUS, RETAIL_POINT_TYPES
from geo_pcmt.paths import PACKAGE_DIR
from geo_pcmt.outputs.map.vendor import DEFAULT_BASE_URL, VENDOR_DIR, inline_assets, localize

TEMPLATE_DIR = PACKAGE_DIR / "web" / "templates"


@dataclass(frozen=True)
class Overlay:
    """One toggleable layer of the map: key (used in URLs), labels, shown at opening or not."""

    key: str
    vi: str
    en: str
    show: bool = True


# In the order of the layer control; each is drawn only when its data exist for the role.
OVERLAYS: tuple[Overlay, ...] = (
    Overlay("communes", "Phân loại xã, phường", "Commune status"),
    Overlay("commune_counts", "Số điểm, vụ việc theo xã (tổng hợp)", "Counts per commune (public)"),
    Overlay("lao_provinces", "Tỉnh Lào giáp ranh", "Adjacent Lao provinces"),
    Overlay("border_line", "Đường biên giới Việt – Lào", "Viet Nam–Laos border"),
    Overlay("progress", "Tiến độ chuyển hóa dọc biên giới", "Transformation progress (border)",
            show=False),
    Overlay("distance_bands", "Khoảng cách tới biên giới", "Distance from the border", show=False),
    Overlay("retail_points", "Điểm, tụ điểm ma túy", "Drug retail points and places"),
    Overlay("opium_plots", "Nương thuốc phiện", "Opium poppy plots"),
    Overlay("border_crossings", "Cửa khẩu, lối mở, đường mòn", "Border crossings"),
    Overlay("border_posts", "Đồn biên phòng", "Border posts"),
    Overlay("facilities", "Cơ sở điều trị, cai nghiện", "Treatment facilities", show=False),
    Overlay("hotspot_clusters", "Cụm điểm nóng", "Hotspot clusters"),
    Overlay("complex_hotspots", "Địa bàn phức tạp (cảnh báo)", "Complex hotspots (flags)"),
    Overlay("gistar_cells", "Điểm nóng thống kê Gi*", "Gi* hot and cold spots", show=False),
    Overlay("emerging_hotspots", "Xu hướng điểm nóng", "Emerging hot spots", show=False),
    Overlay("heat", "Bản đồ nhiệt vụ án, điểm", "Heat map of cases and points", show=False),
    Overlay("osm", "Nền OpenStreetMap (cần Internet)", "OpenStreetMap (needs internet)",
            show=False),
)
OVERLAY_KEYS = tuple(o.key for o in OVERLAYS)

# Colour of a commune in the status choropleth; "sach_ve_ma_tuy" is Nghệ An's own label,
# shown apart from the national "không ma túy" (DOMAIN.md §1).
STATUS_CLASSES: tuple[str, ...] = ("loai_I", "loai_II", "loai_III", "sach_ve_ma_tuy",
                                   "khong_ma_tuy", "chua_danh_gia")
STATUS_COLOURS = {"loai_I": "#a50f15", "loai_II": "#ef3b2c", "loai_III": "#fc9272",
                  "sach_ve_ma_tuy": "#a1d99b", "khong_ma_tuy": "#238b45",
                  "chua_danh_gia": "#f7f7f7"}
STATUS_RANK = {"loai_I": 3, "loai_II": 2, "loai_III": 1, "sach_ve_ma_tuy": 0, "khong_ma_tuy": 0}

# Static words of the page, both languages; values from data never come from here.
I18N: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Bản đồ điểm nóng ma túy – tỉnh Nghệ An",
        "status.loai_I": "Trọng điểm phức tạp loại I", "status.loai_II": "Loại II",
        "status.loai_III": "Loại III", "status.khong_ma_tuy": "Không ma túy",
        "status.sach_ve_ma_tuy": "Sạch về ma túy (nhãn tỉnh)",
        "status.chua_danh_gia": "Chưa đánh giá",
        "type.diem_ban_le": "Điểm bán lẻ", "type.dia_diem_to_chuc_chua_chap":
            "Địa điểm tổ chức, chứa chấp", "type.tu_diem_phuc_tap": "Tụ điểm phức tạp",
        "pstatus.active": "Đang hoạt động", "pstatus.watch": "Theo dõi",
        "pstatus.cleared": "Đã triệt xóa", "pstatus.re-emerged": "Hoạt động trở lại",
        "kind.international": "Cửa khẩu quốc tế", "kind.main": "Cửa khẩu chính",
        "kind.secondary": "Cửa khẩu phụ", "kind.opening": "Lối mở", "kind.trail": "Đường mòn",
        "fac.methadone_treatment": "Điều trị Methadone", "fac.methadone_dispensing":
            "Cấp phát Methadone", "fac.rehab": "Cơ sở cai nghiện",
        "f.name": "Tên", "f.address": "Địa chỉ", "f.commune": "Xã", "f.type": "Loại",
        "f.status": "Tình trạng", "f.first_seen": "Phát hiện lần đầu",
        "f.last_activity": "Hoạt động gần nhất", "f.cleared_on": "Ngày triệt xóa",
        "f.case_ref": "Số vụ án", "f.id": "Mã", "f.area_m2": "Diện tích (m²)",
        "f.plant_count": "Số cây", "f.detected_on": "Ngày phát hiện",
        "f.detected_by": "Đơn vị phát hiện", "f.eradicated_on": "Ngày triệt phá",
        "f.method": "Phương pháp", "f.village": "Bản", "f.kind": "Loại",
        "f.lao_counterpart": "Phía Lào", "f.border_post": "Đồn biên phòng",
        "f.planned": "Quy hoạch", "f.position_quality": "Độ chính xác vị trí",
        "f.unit": "Đơn vị", "f.aor": "Địa bàn phụ trách", "f.capacity": "Công suất",
        "f.n_points": "Số điểm", "f.n_active": "Đang hoạt động", "f.n_cleared": "Đã triệt xóa",
        "f.dates": "Thời gian", "f.communes": "Xã liên quan",
        "f.nearest_crossing": "Cửa khẩu/lối mở gần nhất", "f.dist_border": "Cách biên giới",
        "f.score": "Điểm đánh giá", "f.level": "Mức", "f.reasons": "Lý do",
        "f.z": "Gi* z", "f.p": "p", "f.p_fdr": "p (FDR)", "f.class": "Phân loại",
        "f.value": "Giá trị", "f.category": "Xu hướng", "f.mk": "Mann–Kendall",
        "f.periods_hot": "Số kỳ nóng", "f.year": "Năm", "f.rule_set": "Bộ tiêu chí",
        "f.criteria": "Tiêu chí", "f.recognition": "Quyết định công nhận",
        "f.label": "Danh hiệu", "f.count_points": "Điểm, tụ điểm ma túy",
        "f.count_cases": "Vụ án", "f.count_plots": "Nương thuốc phiện",
        "f.suppressed": "dưới 5 (ẩn số)", "f.segment": "Đoạn biên giới",
        "f.border_communes": "Xã biên giới", "f.drug_free": "Không ma túy",
        "f.target": "Chỉ tiêu", "f.points_eliminated": "Điểm bị triệt xóa",
        "f.plots_eradicated": "Nương bị phá", "f.improved": "Chuyển biến tốt",
        "f.worsened": "Diễn biến xấu", "f.since": "so với năm", "f.band": "Cách biên giới",
        "gi.hot": "Điểm nóng", "gi.cold": "Điểm lạnh", "gi.ns": "Không có ý nghĩa thống kê",
        "em.new": "Mới", "em.consecutive": "Liên tiếp", "em.intensifying": "Gia tăng",
        "em.persistent": "Kéo dài", "em.diminishing": "Suy giảm", "em.sporadic": "Rải rác",
        "em.oscillating": "Dao động", "em.historical": "Trong quá khứ",
        "ui.all_time": "Toàn bộ thời gian", "ui.month": "Tháng", "ui.play": "Chạy",
        "ui.pause": "Dừng", "ui.print": "In bản đồ", "ui.legend": "Chú giải",
        "ui.lang": "English", "ui.headline": "Tình hình chuyển hóa địa bàn",
        "ui.communes_drug_free": "xã, phường không ma túy",
        "ui.communes_sach": "xã, phường sạch về ma túy", "ui.target": "chỉ tiêu",
        "ui.in_year": "năm", "ui.of": "/", "ui.points_active": "điểm đang hoạt động",
        "ui.points_eliminated": "điểm bị triệt xóa trong năm",
        "ui.plots_eradicated": "nương thuốc phiện bị phá trong năm",
        "ui.classes": "Phân loại", "ui.by_segment": "Dọc biên giới Việt – Lào",
        "ui.by_post": "Theo đồn biên phòng", "ui.no_status":
            "Chưa có kết quả phân loại xã; đang hiển thị quyết định công nhận.",
        "ui.generated": "Lập ngày", "ui.north": "B", "ui.synthetic":
            "DỮ LIỆU MẪU TỔNG HỢP – không phải thông tin nghiệp vụ",
        "ui.class.public": "Công khai", "ui.class.restricted": "MẬT – lưu hành nội bộ",
        "ui.class.secret": "TỐI MẬT", "ui.hide": "Thu gọn", "ui.show": "Mở",
        "ui.cases_heat": "Mật độ vụ án (3 tháng)", "ui.km": "km",
        "ui.compare_target": "so với chỉ tiêu",
    },
    "en": {
        "title": "Drug hotspot map – Nghệ An province",
        "status.loai_I": "Key complex area class I", "status.loai_II": "Class II",
        "status.loai_III": "Class III", "status.khong_ma_tuy": "Drug-free (national)",
        "status.sach_ve_ma_tuy": "'Sạch về ma túy' (provincial label)",
        "status.chua_danh_gia": "Not assessed",
        "type.diem_ban_le": "Retail point", "type.dia_diem_to_chuc_chua_chap":
            "Place organising/harbouring use", "type.tu_diem_phuc_tap":
            "Complex gathering place",
        "pstatus.active": "Active", "pstatus.watch": "Watch", "pstatus.cleared": "Eliminated",
        "pstatus.re-emerged": "Re-emerged",
        "kind.international": "International gate", "kind.main": "Main gate",
        "kind.secondary": "Secondary gate", "kind.opening": "Opening", "kind.trail": "Trail",
        "fac.methadone_treatment": "Methadone treatment", "fac.methadone_dispensing":
            "Methadone dispensing", "fac.rehab": "Rehabilitation centre",
        "f.name": "Name", "f.address": "Address", "f.commune": "Commune", "f.type": "Type",
        "f.status": "Status", "f.first_seen": "First seen", "f.last_activity": "Last activity",
        "f.cleared_on": "Eliminated on", "f.case_ref": "Case ref.", "f.id": "ID",
        "f.area_m2": "Area (m²)", "f.plant_count": "Plants", "f.detected_on": "Detected on",
        "f.detected_by": "Detected by", "f.eradicated_on": "Eradicated on",
        "f.method": "Method", "f.village": "Village", "f.kind": "Kind",
        "f.lao_counterpart": "Lao side", "f.border_post": "Border post",
        "f.planned": "Planned", "f.position_quality": "Position quality", "f.unit": "Unit",
        "f.aor": "Area of responsibility", "f.capacity": "Capacity", "f.n_points": "Points",
        "f.n_active": "Active", "f.n_cleared": "Eliminated", "f.dates": "Period",
        "f.communes": "Communes", "f.nearest_crossing": "Nearest crossing",
        "f.dist_border": "Distance to border", "f.score": "Score", "f.level": "Level",
        "f.reasons": "Reasons", "f.z": "Gi* z", "f.p": "p", "f.p_fdr": "p (FDR)",
        "f.class": "Class", "f.value": "Value", "f.category": "Trend", "f.mk": "Mann–Kendall",
        "f.periods_hot": "Hot periods", "f.year": "Year", "f.rule_set": "Rule set",
        "f.criteria": "Criteria", "f.recognition": "Recognition decision",
        "f.label": "Label", "f.count_points": "Drug retail points", "f.count_cases": "Cases",
        "f.count_plots": "Opium plots", "f.suppressed": "under 5 (suppressed)",
        "f.segment": "Border segment", "f.border_communes": "Border communes",
        "f.drug_free": "Drug-free", "f.target": "Target",
        "f.points_eliminated": "Points eliminated", "f.plots_eradicated": "Plots eradicated",
        "f.improved": "Improved", "f.worsened": "Worsened", "f.since": "since",
        "f.band": "Distance to border",
        "gi.hot": "Hot spot", "gi.cold": "Cold spot", "gi.ns": "Not significant",
        "em.new": "New", "em.consecutive": "Consecutive", "em.intensifying": "Intensifying",
        "em.persistent": "Persistent", "em.diminishing": "Diminishing",
        "em.sporadic": "Sporadic", "em.oscillating": "Oscillating",
        "em.historical": "Historical",
        "ui.all_time": "All time", "ui.month": "Month", "ui.play": "Play", "ui.pause": "Pause",
        "ui.print": "Print map", "ui.legend": "Legend", "ui.lang": "Tiếng Việt",
        "ui.headline": "Transformation of communes",
        "ui.communes_drug_free": "communes drug-free",
        "ui.communes_sach": "communes 'sạch về ma túy'", "ui.target": "target",
        "ui.in_year": "in", "ui.of": "/", "ui.points_active": "points active",
        "ui.points_eliminated": "points eliminated this year",
        "ui.plots_eradicated": "opium plots eradicated this year", "ui.classes": "Classes",
        "ui.by_segment": "Along the Viet Nam–Laos border", "ui.by_post": "By border post",
        "ui.no_status": "No commune classification yet; showing recognition decisions.",
        "ui.generated": "Made on", "ui.north": "N",
        "ui.synthetic": "SYNTHETIC SAMPLE DATA – not intelligence",
        "ui.class.public": "Public", "ui.class.restricted": "RESTRICTED – internal use",
        "ui.class.secret": "SECRET", "ui.hide": "Hide", "ui.show": "Show",
        "ui.cases_heat": "Case density (3 months)", "ui.km": "km",
        "ui.compare_target": "against target",
    },
}
for _o in OVERLAYS:
    I18N["vi"][f"layer.{_o.key}"] = _o.vi
    I18N["en"][f"layer.{_o.key}"] = _o.en

DISTANCE_BANDS_KM: tuple[float, ...] = (5.0, 15.0, 30.0)
_MONTH_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class MapInputError(ValueError):
    """A map option or frame the map cannot use; the message names it."""


@dataclass(frozen=True)
class MapOptions:
    """What the reader chose: dates, communes, point types, layers, year; all bookmarkable.

    Parameters
    ----------
    date_from, date_to : str, optional
        ``YYYY-MM`` or ``YYYY-MM-DD``, inclusive: only records active in the range are drawn.
    communes : tuple of str
        GSO codes; when given, records outside them are dropped and the map opens on them.
    point_types : tuple of str
        Retail point types (``diem_ban_le`` …) to draw; empty means all.
    layers : tuple of str, optional
        Overlay keys shown at opening (:data:`OVERLAY_KEYS`); ``None`` keeps the defaults.
    year : int, optional
        Year whose commune classes colour the map at opening (default: the latest).
    since_year : int, optional
        Class changes are counted since this year (default: the first year with classes).
    title : str, optional
        Title in the panel and on the printout.
    simplify_m : float
        Tolerance in metres for simplifying boundaries (screen-sized detail, smaller page).
    online_tiles : bool
        Offer an OpenStreetMap layer (off at opening; stays blank without internet).
    assets_base_url : str
        Where the vendored JS/CSS are served (``/static/vendor`` by the app).
    print_view : bool
        Open in the A4 landscape print layout.
    """

    date_from: str | None = None
    date_to: str | None = None
    communes: tuple[str, ...] = ()
    point_types: tuple[str, ...] = ()
    layers: tuple[str, ...] | None = None
    year: int | None = None
    since_year: int | None = None
    title: str | None = None
    simplify_m: float = 25.0
    online_tiles: bool = True
    assets_base_url: str = DEFAULT_BASE_URL
    print_view: bool = False

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                if not _MONTH_RE.match(str(value)):
                    raise ValueError
                date.fromisoformat(str(value) if len(str(value)) == 10 else f"{value}-01")
            except ValueError:
                raise MapInputError(f"{name}={value!r}: expected a date YYYY-MM or YYYY-MM-DD"
                                    ) from None
        bad = [t for t in self.point_types if t not in RETAIL_POINT_TYPES]
        if bad:
            raise MapInputError(f"type={bad[0]!r}: one of {', '.join(RETAIL_POINT_TYPES)}")
        bad = [k for k in (self.layers or ()) if k not in OVERLAY_KEYS]
        if bad:
            raise MapInputError(f"layers={bad[0]!r}: one of {', '.join(OVERLAY_KEYS)}")
        if self.simplify_m < 0:
            raise MapInputError(f"simplify_m={self.simplify_m}: must be ≥ 0")

    @classmethod
    def from_query(cls, args: Mapping[str, str], **overrides: Any) -> "MapOptions":
        """Options from URL parameters: ``from``, ``to``, ``commune``, ``type``, ``layers``,
        ``year``, ``since``, ``print`` (lists comma-separated).

        Examples
        --------
        >>> MapOptions.from_query({"from": "2024-01", "type": "diem_ban_le"}).point_types
        ('diem_ban_le',)
        """
        def items(key: str) -> tuple[str, ...]:
            return tuple(v.strip() for v in str(args.get(key) or "").split(",") if v.strip())

        def year(key: str) -> int | None:
            value = args.get(key)
            if not value:
                return None
            if not str(value).isdigit():
                raise MapInputError(f"{key}={value!r}: expected a year such as 2025")
            return int(value)
        layers = items("layers") if "layers" in args else None
        return cls(date_from=args.get("from") or None, date_to=args.get("to") or None,
                   communes=items("commune"), point_types=items("type"), layers=layers,
                   year=year("year"), since_year=year("since"),
                   print_view=str(args.get("print", "")) in ("1", "true", "yes"), **overrides)


# ---------------------------------------------------------------- small pure helpers

def _script_json(obj: Any) -> str:
    """JSON safe inside ``<script>``: no ``</script>``, no HTML comment, no line separators."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _text(value: Any) -> str | None:
    """A cell as text for the browser (None for missing); escaping happens there, once."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _num(value: Any, digits: int = 2) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else round(f, digits)


def _dates(series: pd.Series) -> pd.Series:
    """Dates from ISO text, datetimes or timestamps with offsets, as naive ``datetime64``."""
    out = pd.to_datetime(series.astype("string").str.slice(0, 10), errors="coerce",
                         format="%Y-%m-%d")
    return out


def _month_number(d: pd.Series) -> np.ndarray:
    """Months since year 0 (``NaN`` where missing), for month arithmetic."""
    return (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype=float)


def _month_label(n: int) -> str:
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def _bound_month(value: str | None, end: bool) -> float:
    if value is None:
        return math.inf if end else -math.inf
    y, m = int(value[:4]), int(value[5:7])
    return y * 12 + m - 1


def _round_geoms(geoms: np.ndarray, decimals: int) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _simplified(frame: gpd.GeoDataFrame, tolerance_m: float) -> np.ndarray:
    """Geometries simplified in metres (EPSG:32648) and returned in lon/lat, rounded to ~1 m."""
    wkb = tuple(shapely.to_wkb(frame.to_crs(STORAGE_CRS).geometry.values))
    return _simplified_wkb(wkb, float(tolerance_m))


# Boundaries are the same on every page view: their simplified forms and the distance bands
# are remembered by content (a pure function of the geometries, so the cache cannot go stale).
@lru_cache(maxsize=32)
def _simplified_wkb(wkb: tuple[bytes | None, ...], tolerance_m: float) -> np.ndarray:
    geoms = gpd.GeoSeries(shapely.from_wkb(np.array(wkb, dtype=object)), crs=STORAGE_CRS)
    if tolerance_m > 0:
        geoms = geoms.to_crs(METRIC_CRS).simplify(tolerance_m, preserve_topology=True)
        geoms = geoms.to_crs(STORAGE_CRS)
    return _round_geoms(geoms.values, 5)


def _feature_collection(geoms: Sequence, props: Sequence[dict]) -> dict:
    feats = []
    for g, p in zip(geoms, props):
        if g is None or shapely.is_empty(g):
            continue
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(g)),
                      "properties": p})
    return {"type": "FeatureCollection", "features": feats}


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame),
                                                                index=frame.index, dtype=object)


def _split_reasons(value: Any) -> list[str]:
    """Reasons stored as one text, separated by newlines or `` | `` (both occur)."""
    text = _text(value)
    if not text:
        return []
    return [r.strip() for r in re.split(r"\n|\s\|\s", text) if r.strip()]


def _is_geo(frame: Any) -> bool:
    return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns


# ---------------------------------------------------------------- who sees what

def visible_frames(frames: Mapping[str, pd.DataFrame], role: str
                   ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Split ``frames`` into what ``role`` may see as rows and what only feeds public counts.

    Returns
    -------
    (visible, counted)
        ``visible``: frames redacted for the role (:func:`geo_pcmt.access.redact`);
        ``counted``: the frames of layers the role may not read, kept only to count records
        per commune (:func:`geo_pcmt.access.commune_counts`) — never drawn.
    """
    access.role_rank(role)
    visible, counted = {}, {}
    for name, frame in frames.items():
        if frame is None:
            continue
        if access.can_read_layer(role, name):
            visible[name] = access.redact(frame, name, role)
        else:
            counted[name] = frame
    return visible, counted


# ---------------------------------------------------------------- filters from options

def _filter_records(frames: dict[str, pd.DataFrame], opts: MapOptions) -> dict[str, pd.DataFrame]:
    lo, hi = _bound_month(opts.date_from, False), _bound_month(opts.date_to, True)
    out = {}
    for name, frame in frames.items():
        f = frame
        if opts.communes and "commune_code" in f.columns and name not in (
                "border_crossings", "border_posts", "facilities", "targets"):
            f = f[f["commune_code"].astype("string").isin(opts.communes).fillna(False).to_numpy()]
        if name == "retail_points":
            if opts.point_types and "type" in f.columns:
                f = f[f["type"].isin(opts.point_types).to_numpy()]
            start = _month_number(_dates(_col(f, "first_seen")))
            end = _month_number(_dates(_col(f, "cleared_on")))
            keep = ~(start > hi) & ~(end < lo)  # active some time in [lo, hi]
            f = f[keep]
        elif name in ("cases", "opium_plots"):
            when = _month_number(_dates(_col(f, "date" if name == "cases" else "detected_on")))
            keep = np.isnan(when) | ((when >= lo) & (when <= hi))
            f = f[keep]
        out[name] = f
    return out


# ---------------------------------------------------------------- commune status by year

def _status_by_year(status: pd.DataFrame | None, recognitions: pd.DataFrame | None,
                    codes: Sequence[str]) -> tuple[dict[int, dict[str, str]], dict, bool]:
    """Per year, each commune's class (see :data:`STATUS_CLASSES`) and per-commune details.

    From ``commune_status`` when given (the last period of each year wins); otherwise only
    what the recognition decisions say (drug-free labels), everything else "not assessed".
    """
    by_year: dict[int, dict[str, str]] = {}
    details: dict[str, dict[str, dict]] = {}
    if status is not None and len(status):
        s = status.copy()
        s["gp_year"] = pd.to_numeric(s["period"].astype(str).str.slice(0, 4), errors="coerce")
        s = s.dropna(subset=["gp_year"]).sort_values(["commune_code", "period"])
        label = _col(s, "drug_free_label").astype("string")
        cls = s["status"].where(s["status"].isin(COMMUNE_STATUS), "chua_danh_gia")
        sach = (label == "sach_ve_ma_tuy").fillna(False) & ~cls.isin(
            ["loai_I", "loai_II", "loai_III", "khong_ma_tuy"])
        s["gp_class"] = cls.where(~sach.to_numpy(), "sach_ve_ma_tuy")
        for row in s.itertuples(index=False):
            year, code = int(row.gp_year), str(row.commune_code)
            by_year.setdefault(year, {})[code] = row.gp_class
            details.setdefault(code, {})[str(year)] = {
                "c": row.gp_class, "p": _text(row.period),
                "r": _text(getattr(row, "rule_set", None)),
                "k": _text(getattr(row, "criteria", None)),
                "l": _text(getattr(row, "drug_free_label", None)),
                "d": _text(getattr(row, "recognition", None))}
        return by_year, details, True
    if recognitions is not None and len(recognitions):
        r = recognitions.copy()
        r["_date"] = _dates(r["date"])
        r["_revoked"] = _dates(_col(r, "revoked_on"))
        years = range(int(r["_date"].dt.year.min()), max(int(r["_date"].dt.year.max()),
                                                          date.today().year) + 1)
        for year in years:
            end = pd.Timestamp(year=year, month=12, day=31)
            valid = r[(r["_date"] <= end) & ~(r["_revoked"] <= end)]
            classes = {c: "chua_danh_gia" for c in codes}
            for row in valid.sort_values("_date").itertuples(index=False):
                code = str(row.commune_code)
                if row.label == "khong_ma_tuy" or classes.get(code) != "khong_ma_tuy":
                    classes[code] = str(row.label)
                details.setdefault(code, {})[str(year)] = {
                    "c": classes[code], "l": _text(row.label),
                    "d": f"{_text(row.decision_no)} ({_text(row.date)}, {_text(row.authority)})"}
            by_year[year] = classes
    return by_year, details, False


def _target(targets: pd.DataFrame | None, scope: str, year: int) -> tuple[float | None, int | None]:
    """The share drug-free set for ``year`` (or the next target after it) and its year."""
    if targets is None or not len(targets):
        return None, None
    t = targets[targets["scope"].astype(str) == scope].copy()
    t["_y"] = pd.to_numeric(t["year"], errors="coerce")
    t["_s"] = pd.to_numeric(t["share_drug_free"], errors="coerce")
    exact = t[t["_y"] == year]
    if len(exact):
        return float(exact["_s"].iloc[-1]), year
    later = t[t["_y"] > year].sort_values("_y")
    if len(later):
        return float(later["_s"].iloc[0]), int(later["_y"].iloc[0])
    return None, None


def _areas_progress(areas: list[tuple[str, str, list[str]]], classes: Mapping[str, str],
                    since: Mapping[str, str], cleared_by_code: Mapping[str, int] | None,
                    plots_by_code: Mapping[str, tuple[int, float]] | None,
                    target: float | None, labels: Mapping[str, str] | None = None) -> list[dict]:
    """Progress of groups of communes (a border segment, a post's area): one dict each.

    ``labels`` (commune → drug-free label in force) counts a commune holding Nghệ An's
    "sạch về ma túy" label as such even when its computed class is shown on the map."""
    labels = labels or {}
    out = []
    for key, name, codes in areas:
        n = len(codes)
        free = sum(classes.get(c) == "khong_ma_tuy" for c in codes)
        sach = sum(classes.get(c) in ("khong_ma_tuy", "sach_ve_ma_tuy")
                   or labels.get(c) in ("khong_ma_tuy", "sach_ve_ma_tuy") for c in codes)
        ranked = [c for c in codes if classes.get(c) in STATUS_RANK and since.get(c) in STATUS_RANK]
        improved = sum(STATUS_RANK[classes[c]] < STATUS_RANK[since[c]] for c in ranked)
        worsened = sum(STATUS_RANK[classes[c]] > STATUS_RANK[since[c]] for c in ranked)
        share = free / n if n else None
        row = {"key": key, "name": name, "n": n, "free": free, "sach": sach, "share": share,
               "target": target, "improved": improved, "worsened": worsened,
               "grade": _grade(share, target)}
        if cleared_by_code is not None:
            row["eliminated"] = int(sum(cleared_by_code.get(c, 0) for c in codes))
        if plots_by_code is not None:
            row["plots"] = int(sum(plots_by_code.get(c, (0, 0.0))[0] for c in codes))
            row["plots_m2"] = round(float(sum(plots_by_code.get(c, (0, 0.0))[1] for c in codes)))
        out.append(row)
    return out


def _grade(share: float | None, target: float | None) -> str:
    """good: target met; fair: at least half of it; poor: less; none: no target known."""
    if share is None or target is None or target <= 0:
        return "none"
    return "good" if share >= target else "fair" if share >= target / 2 else "poor"


def progress_summary(communes: gpd.GeoDataFrame, by_year: Mapping[int, Mapping[str, str]], *,
                     targets: pd.DataFrame | None = None,
                     retail_points: pd.DataFrame | None = None,
                     opium_plots: pd.DataFrame | None = None,
                     border_posts: pd.DataFrame | None = None,
                     since_year: int | None = None,
                     labels_by_year: Mapping[int, Mapping[str, str]] | None = None,
                     ) -> dict[int, dict]:
    """Headline numbers per year, province-wide, by border segment and by border post.

    A simple stand-in for :mod:`geo_pcmt.analysis.progress` (used when that module is absent): share of
    communes drug-free against the year's target, class changes since ``since_year``, retail
    points eliminated and opium plots eradicated in the year (only when those layers are given,
    i.e. the reader may see them).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> c = gpd.GeoDataFrame({"code": ["1", "2"], "is_border": [True, False],
    ...     "lao_province": ["Hủa Phăn", None]}, geometry=[shapely.box(0, 0, 1, 1)] * 2)
    >>> progress_summary(c, {2026: {"1": "khong_ma_tuy", "2": "loai_III"}})[2026]["free"]
    1
    """
    years = sorted(by_year)
    if not years:
        return {}
    since_year = since_year if since_year in by_year else years[0]
    codes = communes["code"].astype(str).tolist()
    border = communes[communes["is_border"].fillna(False).astype(bool)]
    segments = [(str(p), str(p), border.loc[border["lao_province"] == p, "code"].astype(str)
                 .tolist()) for p in sorted(border["lao_province"].dropna().unique())]
    posts = []
    if border_posts is not None and len(border_posts) and "area_of_responsibility" in border_posts:
        for row in border_posts.itertuples(index=False):
            aor = [c.strip() for c in re.split(r"[;,\s]+", _text(row.area_of_responsibility) or "")
                   if c.strip()]
            if aor:
                posts.append((str(row.id), str(row.name), aor))
    cleared_year = plots_year = None
    if retail_points is not None and len(retail_points):
        cleared_year = _dates(_col(retail_points, "cleared_on")).dt.year
    if opium_plots is not None and len(opium_plots):
        plots_year = _dates(_col(opium_plots, "eradicated_on")).dt.year
    out: dict[int, dict] = {}
    for year in years:
        classes = by_year[year]
        since = by_year[since_year]
        labels = (labels_by_year or {}).get(year, {})
        cleared_by_code = plots_by_code = None
        if cleared_year is not None:
            sel = retail_points[(cleared_year == year).to_numpy()]
            cleared_by_code = _col(sel, "commune_code").astype(str).value_counts().to_dict()
        if plots_year is not None:
            sel = opium_plots[(plots_year == year).to_numpy()]
            g = sel.assign(_c=_col(sel, "commune_code").astype(str),
                           _a=pd.to_numeric(_col(sel, "area_m2"), errors="coerce").fillna(0))
            plots_by_code = {c: (len(x), float(x["_a"].sum())) for c, x in g.groupby("_c")}
        prov_target, prov_target_year = _target(targets, "province", year)
        border_target, _ = _target(targets, "border", year)
        province = _areas_progress([("province", "", codes)], classes, since, cleared_by_code,
                                   plots_by_code, prov_target if prov_target_year == year
                                   else None, labels)[0]
        province["classes"] = {c: sum(classes.get(k, "chua_danh_gia") == c for k in codes)
                               for c in STATUS_CLASSES}
        province["target"], province["target_year"] = prov_target, prov_target_year
        if retail_points is not None and len(retail_points):
            start = _dates(_col(retail_points, "first_seen")).dt.year
            active = (start <= year) & ~(cleared_year <= year)
            province["active_end"] = int(active.sum())
        out[year] = {
            **province, "since": since_year,
            "segments": _areas_progress(segments, classes, since, cleared_by_code,
                                        plots_by_code, border_target, labels),
            "posts": _areas_progress(posts, classes, since, cleared_by_code, plots_by_code,
                                     border_target, labels),
        }
    return out


def _progress(communes, by_year, frames, since_year, today: date,
              details: Mapping[str, Mapping[str, dict]] | None = None) -> dict[int, dict]:
    """:func:`progress_summary`, with the province headline from :func:`geo_pcmt.analysis.progress.dashboard`
    (recognitions in force against the targets) when that module and the recognitions exist."""
    labels_by_year: dict[int, dict[str, str]] = {}
    for code, per_year in (details or {}).items():
        for year, d in per_year.items():
            if d.get("l"):
                labels_by_year.setdefault(int(year), {})[code] = d["l"]
    out = progress_summary(communes, by_year, targets=frames.get("targets"),
                           retail_points=frames.get("retail_points"),
                           opium_plots=frames.get("opium_plots"),
                           border_posts=frames.get("border_posts"), since_year=since_year,
                           labels_by_year=labels_by_year)
    recognitions = frames.get("recognitions")
    try:  # written by the status engineer; the map works without it
        from geo_pcmt.analysis.progress import dashboard
    except ImportError:
        return out
    if recognitions is None or not len(recognitions):
        return out
    for year, row in out.items():
        try:
            d = dashboard(recognitions, communes, frames.get("targets"),
                          on=min(date(year, 12, 31), today))
        except (KeyError, ValueError, TypeError):  # an older or newer signature: keep ours
            continue
        target = None if d.target_pct is None else d.target_pct / 100
        row.update(free=d.n_drug_free, n=d.n_total, share=d.share_pct / 100, verdict=d.verdict,
                   headline_vi=d.text_vi, headline_en=d.text_en)
        if target is not None:
            row.update(target=target, target_year=year,
                       grade="good" if d.verdict in ("achieved", "on_track") else
                       _grade(row["share"], target))
    return out


def _bands(border, province) -> dict:
    """Distance bands: geo_pcmt.progress.distance_bands when present, else our own."""
    key = (tuple(shapely.to_wkb(border.to_crs(STORAGE_CRS).geometry.values)),
           None if province is None else
           tuple(shapely.to_wkb(province.to_crs(STORAGE_CRS).geometry.values)))
    return json.loads(_bands_wkb(*key))


@lru_cache(maxsize=8)
def _bands_wkb(border_wkb: tuple, province_wkb: tuple | None) -> str:
    border = gpd.GeoDataFrame(geometry=shapely.from_wkb(np.array(border_wkb, dtype=object)),
                              crs=STORAGE_CRS)
    province = None if province_wkb is None else gpd.GeoDataFrame(
        geometry=shapely.from_wkb(np.array(province_wkb, dtype=object)), crs=STORAGE_CRS)
    return json.dumps(_bands_of(border, province))


def _bands_of(border, province) -> dict:
    try:
        from geo_pcmt.analysis.progress import distance_bands
    except ImportError:
        distance_bands = None
    if distance_bands is not None and province is not None and len(province):
        try:
            bands = distance_bands(province, border,
                                   bands_km=(0.0,) + tuple(DISTANCE_BANDS_KM))
            geoms = _round_geoms(bands.to_crs(METRIC_CRS).simplify(150).to_crs(STORAGE_CRS)
                                 .values, 4)
            return _feature_collection(geoms, [{"lo": float(a), "hi": float(b)} for a, b in
                                               zip(bands["from_km"], bands["to_km"])])
        except (KeyError, ValueError, TypeError):
            pass
    return _distance_bands(border, province, DISTANCE_BANDS_KM)


def _kde(frames: Mapping[str, pd.DataFrame], province) -> dict | None:
    """Kernel density (EPSG:32648) of cases and live retail points for the all-time heat map,
    from geo_pcmt.density when present; None lets the page draw the raw points instead."""
    try:
        from geo_pcmt.analysis.density import kde
    except ImportError:
        return None
    parts = []
    if "cases" in frames and _is_geo(frames["cases"]):
        parts.append(frames["cases"].geometry)
    if "retail_points" in frames and _is_geo(frames["retail_points"]):
        pts = frames["retail_points"]
        parts.append(pts.geometry[(_col(pts, "status") != "cleared").to_numpy()])
    geoms = [g for g in parts if len(g)]
    if not geoms:
        return None
    points = gpd.GeoDataFrame(geometry=pd.concat(geoms, ignore_index=True), crs=STORAGE_CRS)
    points = points[points.geometry.notna() & ~points.geometry.is_empty]
    if len(points) < 3:
        return None
    cell_m = 1000.0
    try:
        surface = kde(points, cell_size_m=cell_m,
                      area=None if province is None else province.to_crs(METRIC_CRS))
    except (ValueError, TypeError):
        return None
    return {"cell_m": cell_m, "bandwidth_m": round(surface.bandwidth_m),
            "data": surface.heat_data(min_share=0.02, precision=4)}


# ---------------------------------------------------------------- layer payloads

def _communes_payload(communes: gpd.GeoDataFrame, tolerance_m: float) -> dict:
    geoms = _simplified(communes, tolerance_m)
    props = [{"code": str(r.code), "name": _text(r.name), "kind": _text(getattr(r, "kind", None)),
              "border": bool(getattr(r, "is_border", False) or False),
              "lao": _text(getattr(r, "lao_province", None)),
              "district": _text(getattr(r, "district_pre2025", None))}
             for r in communes.itertuples(index=False)]
    return _feature_collection(geoms, props)


def _simple_layer(frame: gpd.GeoDataFrame, tolerance_m: float, fields: Sequence[str]) -> dict:
    geoms = _simplified(frame, tolerance_m)
    props = [{f: _text(v) for f, v in zip(fields, vals)}
             for vals in zip(*[_col(frame, f) for f in fields])] if fields else [{}] * len(frame)
    return _feature_collection(geoms, props)


class _Dict:
    """Values → small integers, so repeated text is sent once."""

    def __init__(self) -> None:
        self.values: list[str | None] = []
        self._index: dict[str | None, int] = {}

    def codes(self, series: pd.Series) -> list[int]:
        out = []
        for v in series.tolist():
            t = _text(v)
            i = self._index.get(t)
            if i is None:
                i = self._index[t] = len(self.values)
                self.values.append(t)
            out.append(i)
        return out


def _months_of(d: pd.Series, base: int) -> list[int]:
    m = _month_number(d)
    return [-1 if math.isnan(x) else int(x) - base for x in m]


def _points_payload(points: gpd.GeoDataFrame, base_month: int, names: Mapping[str, str]) -> dict:
    """Retail points as columns of arrays (the page builds markers from them)."""
    pts = points[points.geometry.notna() & ~points.geometry.is_empty]
    xy = np.round(shapely.get_coordinates(pts.geometry.values), 5)
    texts = _Dict()
    first, cleared = _dates(_col(pts, "first_seen")), _dates(_col(pts, "cleared_on"))
    commune_names = _col(pts, "commune_code").astype("string").map(names)
    return {
        "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(),
        "type": [RETAIL_POINT_TYPES.index(t) if t in RETAIL_POINT_TYPES else 0
                 for t in _col(pts, "type")],
        "status": [RETAIL_POINT_STATUS.index(s) if s in RETAIL_POINT_STATUS else 0
                   for s in _col(pts, "status")],
        "m0": _months_of(first, base_month), "m1": _months_of(cleared, base_month),
        "id": [_text(v) for v in _col(pts, "id")],
        "name": [_text(v) for v in _col(pts, "name")],
        "address": [_text(v) for v in _col(pts, "address")],
        "commune": texts.codes(commune_names),
        "first": texts.codes(first.dt.strftime("%Y-%m-%d")),
        "last": texts.codes(_dates(_col(pts, "last_activity")).dt.strftime("%Y-%m-%d")),
        "cleared": texts.codes(cleared.dt.strftime("%Y-%m-%d")),
        "case": [_text(v) for v in _col(pts, "case_ref")],
        "texts": texts.values,
    }


def _cases_payload(cases: gpd.GeoDataFrame, base_month: int) -> dict:
    pts = cases[cases.geometry.notna() & ~cases.geometry.is_empty]
    pts = pts[pts.geometry.geom_type == "Point"]
    xy = np.round(shapely.get_coordinates(pts.geometry.values), 4)
    return {"x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(),
            "m": _months_of(_dates(_col(pts, "date")), base_month)}


def _plots_payload(plots: gpd.GeoDataFrame, base_month: int, names: Mapping[str, str]) -> dict:
    plots = plots[plots.geometry.notna() & ~plots.geometry.is_empty]
    centre = plots.geometry.representative_point()
    xy = np.round(shapely.get_coordinates(centre.values), 5)
    polys = plots[plots.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    outlines = _round_geoms(polys.geometry.values, 6)
    return {
        "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(),
        "area": [_num(v, 0) for v in _col(plots, "area_m2")],
        "plants": [_num(v, 0) for v in _col(plots, "plant_count")],
        "m0": _months_of(_dates(_col(plots, "detected_on")), base_month),
        "m1": _months_of(_dates(_col(plots, "eradicated_on")), base_month),
        "props": [{k: _text(v) for k, v in zip(
            ("id", "detected_on", "detected_by", "eradicated_on", "method", "village", "commune"),
            vals)} for vals in zip(_col(plots, "id"), _dates(_col(plots, "detected_on")),
                                   _col(plots, "detected_by"),
                                   _dates(_col(plots, "eradicated_on")), _col(plots, "method"),
                                   _col(plots, "village"),
                                   _col(plots, "commune_code").astype("string").map(names))],
        "outlines": _feature_collection(outlines, [{}] * len(outlines)),
    }


def _point_features(frame: gpd.GeoDataFrame, fields: Sequence[str]) -> dict:
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    centre = frame.geometry.representative_point() if len(frame) else frame.geometry
    return _feature_collection(_round_geoms(centre.values, 5),
                               [{f: _text(v) for f, v in zip(fields, vals)}
                                for vals in zip(*[_col(frame, f) for f in fields])])


def _gi_class(row: Mapping[str, Any]) -> str:
    """``hot99`` … ``cold90`` or ``ns`` from hotspot_class text, else from z and p."""
    text = (_text(row.get("hotspot_class")) or "").lower()
    m = re.search(r"(hot|cold|nóng|lạnh)\D*(99|95|90)", text)
    if m:
        return ("hot" if m.group(1) in ("hot", "nóng") else "cold") + m.group(2)
    if text and re.search(r"not|ns|không", text):
        return "ns"
    z = _num(row.get("z"), 6)
    conf = _num(row.get("confidence"), 0)
    if conf is None:
        p = _num(row.get("p_fdr"), 6)
        p = p if p is not None else _num(row.get("p"), 6)
        conf = None if p is None else 99 if p < 0.01 else 95 if p < 0.05 else 90 if p < 0.1 else 0
    if z is None or not conf or int(conf) not in (90, 95, 99):
        return "ns"
    return ("hot" if z > 0 else "cold") + str(int(conf))


def _derived_payload(name: str, frame: gpd.GeoDataFrame, tolerance_m: float) -> dict:
    fields = {
        "hotspot_clusters": ("id", "method", "cluster", "n_points", "n_active", "n_cleared",
                             "n_re_emerged", "counts", "first_date", "last_date", "communes",
                             "commune_names", "nearest_crossing", "dist_crossing_km",
                             "dist_border_km"),
        "gistar_cells": ("cell", "value", "z", "p", "p_fdr", "hotspot_class", "confidence"),
        "emerging_hotspots": ("cell", "category", "label_vi", "label_en", "mk_tau", "mk_p",
                              "periods_hot"),
        "complex_hotspots": ("id", "area_kind", "area_ref", "name", "score", "level",
                             "commune_code"),
    }[name]
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    # cells with nothing to show would be drawn invisible: leave them out of the page
    if name == "gistar_cells":
        frame = frame[[_gi_class(r) != "ns" for r in frame.to_dict("records")]]
    if name == "emerging_hotspots" and "category" in frame.columns:
        cat = frame["category"].astype("string").str.lower()
        frame = frame[~(cat.isna() | cat.str.contains("no_pattern|no pattern|none"))
                      .fillna(True).to_numpy()]
    geoms = _round_geoms(frame.geometry.values, 5)
    props = []
    for rec in frame.to_dict("records"):
        p = {f: _text(rec.get(f)) for f in fields}
        if name == "gistar_cells":
            p["gi"] = _gi_class(rec)
        if name == "complex_hotspots":
            p["reasons_vi"] = _split_reasons(rec.get("reasons_vi"))
            p["reasons_en"] = _split_reasons(rec.get("reasons_en"))
        props.append(p)
    fc = _feature_collection(geoms, props)
    if name == "complex_hotspots":  # a marker on every flag, whatever its geometry
        centres = _round_geoms(frame.geometry.representative_point().values, 5)
        fc["centres"] = [list(shapely.get_coordinates(c)[0]) for c in centres]
    return fc


def _distance_bands(border: gpd.GeoDataFrame, province: gpd.GeoDataFrame | None,
                    bands_km: Sequence[float]) -> dict:
    """Rings 0–5, 5–15, 15–30 km from the border line, clipped to the province."""
    # bands are drawn at province scale: a 250 m simplified line buffers 100× faster
    line = shapely.union_all(border.to_crs(METRIC_CRS).geometry.values).simplify(250)
    clip = (shapely.union_all(province.to_crs(METRIC_CRS).geometry.values)
            if province is not None and len(province) else None)
    rings, props, inner, lo = [], [], None, 0.0
    for km in bands_km:
        outer = line.buffer(km * 1000, quad_segs=4)
        ring = outer if inner is None else outer.difference(inner)
        if clip is not None:
            ring = ring.intersection(clip)
        rings.append(ring.simplify(150))
        props.append({"lo": lo, "hi": km})
        inner, lo = outer, km
    geoms = gpd.GeoSeries(rings, crs=METRIC_CRS).to_crs(STORAGE_CRS).values
    return _feature_collection(_round_geoms(geoms, 4), props)


def _post_areas(posts: pd.DataFrame, communes: gpd.GeoDataFrame, tolerance_m: float) -> dict:
    geoms, props = [], []
    by_code = communes.set_index(communes["code"].astype(str)).geometry
    for row in posts.itertuples(index=False):
        aor = [c for c in re.split(r"[;,\s]+", _text(getattr(row, "area_of_responsibility", ""))
                                   or "") if c in by_code.index]
        if not aor:
            continue
        geoms.append(shapely.union_all(by_code.loc[aor].values))
        props.append({"key": str(row.id), "name": _text(row.name)})
    if not geoms:
        return _feature_collection([], [])
    series = gpd.GeoSeries(geoms, crs=communes.crs)
    simple = _simplified(gpd.GeoDataFrame(geometry=series), max(tolerance_m, 60))
    return _feature_collection(simple, props)


def _counts_payload(counted: Mapping[str, pd.DataFrame], communes: gpd.GeoDataFrame) -> dict | None:
    """Per-commune counts of the layers the reader may not see, small counts suppressed."""
    keys = {"retail_points": "points", "cases": "cases", "opium_plots": "plots"}
    table: dict[str, dict[str, Any]] = {}
    for layer, short in keys.items():
        frame = counted.get(layer)
        if frame is None or "commune_code" not in frame.columns:
            continue
        agg = access.commune_counts(frame, communes)
        for code, n, hidden in zip(agg["code"].astype(str), agg["count"], agg["suppressed"]):
            if hidden:
                table.setdefault(code, {})[short] = "<5"
            elif not pd.isna(n) and int(n) > 0:
                table.setdefault(code, {})[short] = int(n)
    if not table:
        return None
    centres = communes.geometry.representative_point()
    where = {str(c): [round(p.x, 4), round(p.y, 4)] for c, p in zip(communes["code"], centres)}
    return {"counts": table, "at": {c: where[c] for c in table if c in where}}


# ---------------------------------------------------------------- the folium elements

class _App(JSCSSMixin):
    """The page's own data, panel, legend, time slider and drawing code (templates/map_app.*)."""

    default_js = [
        ("markerclusterjs", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/"
                            "1.1.0/leaflet.markercluster.js"),
        ("leaflet-heat.js", "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/"
                            "folium/templates/leaflet_heat.min.js"),
    ]
    default_css = [
        ("markerclustercss", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/"
                             "1.1.0/MarkerCluster.css"),
        ("markerclusterdefaultcss", "https://cdnjs.cloudflare.com/ajax/libs/"
                                    "leaflet.markercluster/1.1.0/MarkerCluster.Default.css"),
    ]
    _template = Template("""
{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
  var config = {{ this.config }};
  var groups = { {% for key, layer in this.groups.items() %}{{ key|tojson }}: {{ layer.get_name() }}, {% endfor %} };
  window.geoPcmtMap = geoPcmtApp({{ this._parent.get_name() }}, groups, config);
})();
{% endmacro %}
{% macro html(this, kwargs) %}{% endmacro %}
""")

    def __init__(self, config: dict, groups: Mapping[str, Any], code: str, css: str):
        super().__init__()
        self._name = "GeoPcmtApp"
        self.config = _script_json(config)
        self.groups = dict(groups)
        self.css = css
        self.code = code

    def render(self, **kwargs):
        figure = self.get_root()
        # the drawing code once, before the map script that calls it
        figure.header.add_child(folium.Element(f"<script>{self.code}</script>"),
                                name="geo_pcmt_app_js")
        super().render(**kwargs)


def _read_template(name: str) -> str:
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def build(frames: Mapping[str, pd.DataFrame], *, role: str = "viewer", lang: str = "vi",
          options: MapOptions | None = None, generated_on: date | None = None) -> folium.Map:
    """The interactive hotspot map of the given layers, as the role may see it.

    Parameters
    ----------
    frames : mapping of layer name → frame
        Any of ``communes``, ``province``, ``border_line``, ``lao_provinces``,
        ``retail_points``, ``opium_plots``, ``border_crossings``, ``border_posts``,
        ``facilities``, ``cases``, ``hotspot_clusters``, ``gistar_cells``,
        ``emerging_hotspots``, ``complex_hotspots``, ``commune_status``, ``recognitions``,
        ``targets`` (EPSG:4326). A layer is drawn only if its frame is given, not empty, and
        readable by ``role``.
    role : {"viewer", "analyst", "commander", "admin"}
        The reader. A viewer gets no record of an intelligence layer, only commune counts
        with small counts suppressed.
    lang : {"vi", "en"}
        Language the page opens in (the reader can switch; ``?lang=en`` also works).
    options : MapOptions, optional
        Filters and opening view (dates, communes, point types, layers, year).
    generated_on : date, optional
        Date printed on the map (default: today).

    Returns
    -------
    folium.Map
        With every JS/CSS link pointing at ``options.assets_base_url``.

    Examples
    --------
    >>> from geo_pcmt import boundaries
    >>> m = build({"communes": boundaries.communes(), "border_line": boundaries.border_line()})
    >>> "cdn.jsdelivr" in m.get_root().render()
    False
    """
    opts = options or MapOptions()
    if lang not in ("vi", "en"):
        raise MapInputError(f"lang={lang!r}: 'vi' or 'en'")
    for name, frame in frames.items():
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise MapInputError(f"frame {name!r} is a {type(frame).__name__}, not a DataFrame")
    visible, counted = visible_frames(
        {k: v for k, v in frames.items() if v is not None and len(v)}, role)
    visible = _filter_records(visible, opts)
    counted = _filter_records(counted, opts)
    communes = visible.get("communes")
    names = ({} if communes is None else
             dict(zip(communes["code"].astype(str), communes["name"].astype(str))))

    # months spanned by the dated records: the time slider's range
    month_values = []
    for name, col in (("retail_points", "first_seen"), ("retail_points", "cleared_on"),
                      ("cases", "date"), ("opium_plots", "detected_on")):
        if name in visible and col in visible[name].columns:
            m = _month_number(_dates(visible[name][col]))
            month_values.extend(m[~np.isnan(m)].tolist())
    lo_opt, hi_opt = _bound_month(opts.date_from, False), _bound_month(opts.date_to, True)
    base_month, months = None, []
    if month_values:  # the data's months, within the chosen range
        first = int(max(min(month_values), lo_opt))
        last = int(max(min(max(month_values), hi_opt), first))  # records may predate the range
        base_month, months = first, [_month_label(m) for m in range(first, last + 1)]

    by_year, status_details, from_status = _status_by_year(
        visible.get("commune_status"), visible.get("recognitions"),
        list(names))
    years = sorted(by_year)
    today = generated_on or date.today()
    progress = (_progress(communes, by_year, visible, opts.since_year, today, status_details)
                if communes is not None and years else {})

    show = set(opts.layers) if opts.layers is not None else {o.key for o in OVERLAYS if o.show}
    m = folium.Map(location=[19.2, 104.9], zoom_start=9, tiles=None, control_scale=True,
                   prefer_canvas=False, zoom_control=True, minZoom=6, maxZoom=18)

    data: dict[str, Any] = {}
    groups: dict[str, Any] = {}

    def group(key: str, cluster: bool = False):
        label = _layer_label(key, lang)
        if cluster:
            g = folium.plugins.MarkerCluster(name=label, show=key in show, options={
                "chunkedLoading": True, "chunkInterval": 250, "chunkDelay": 10,
                "maxClusterRadius": 50, "disableClusteringAtZoom": 16,
                "spiderfyOnMaxZoom": True, "showCoverageOnHover": False})
        else:
            g = folium.FeatureGroup(name=label, show=key in show)
        g.add_to(m)
        groups[key] = g
        return g

    province = visible.get("province")
    if province is not None and _is_geo(province):
        data["province"] = _simple_layer(province, 100, ())
    if communes is not None and _is_geo(communes):
        data["communes"] = _communes_payload(communes, opts.simplify_m)
        group("communes")
    if counted and communes is not None:
        counts = _counts_payload(counted, communes)
        if counts:
            data["commune_counts"] = counts
            group("commune_counts")
    if "lao_provinces" in visible and _is_geo(visible["lao_provinces"]):
        data["lao_provinces"] = _simple_layer(visible["lao_provinces"], 200, ("name", "name_en"))
        group("lao_provinces")
    border = visible.get("border_line")
    if border is not None and _is_geo(border):
        data["border_line"] = _simple_layer(border, 20, ("segment", "lao_province", "length_km"))
        group("border_line")
    if progress and border is not None:
        if "border_posts" in visible and communes is not None:
            data["post_areas"] = _post_areas(visible["border_posts"], communes, opts.simplify_m)
        group("progress")
    if border is not None and _is_geo(border):
        data["distance_bands"] = _bands(border, province)
        group("distance_bands")
    for name in ("hotspot_clusters", "complex_hotspots", "gistar_cells", "emerging_hotspots"):
        if name in visible and _is_geo(visible[name]):
            data[name] = _derived_payload(name, visible[name], opts.simplify_m)
    if "retail_points" in visible and _is_geo(visible["retail_points"]) and base_month is not None:
        data["retail_points"] = _points_payload(visible["retail_points"], base_month, names)
        group("retail_points", cluster=True)
    if "opium_plots" in visible and _is_geo(visible["opium_plots"]) and base_month is not None:
        data["opium_plots"] = _plots_payload(visible["opium_plots"], base_month, names)
        group("opium_plots")
    if "border_crossings" in visible and _is_geo(visible["border_crossings"]):
        data["border_crossings"] = _point_features(visible["border_crossings"], (
            "id", "kind", "name", "lao_counterpart", "lao_province", "border_post",
            "planned_kind", "planned_year", "position_quality"))
        group("border_crossings")
    if "border_posts" in visible and _is_geo(visible["border_posts"]):
        data["border_posts"] = _point_features(visible["border_posts"], (
            "id", "name", "unit", "area_of_responsibility"))
        group("border_posts")
    if "facilities" in visible and _is_geo(visible["facilities"]):
        data["facilities"] = _point_features(visible["facilities"], (
            "id", "kind", "name", "capacity", "opened_on"))
        group("facilities")
    for name in ("hotspot_clusters", "complex_hotspots", "gistar_cells", "emerging_hotspots"):
        if name in data:
            group(name)
    if "cases" in visible and _is_geo(visible["cases"]) and base_month is not None:
        data["cases"] = _cases_payload(visible["cases"], base_month)
    if "cases" in data or "retail_points" in data:
        kde = _kde(visible, province)
        if kde:
            data["kde"] = kde
        group("heat")

    synthetic = any(
        "SYNTHETIC" in " ".join(map(str, f["source"].dropna().unique()[:50]))
        for f in list(visible.values()) + list(counted.values()) if "source" in f.columns)
    level = access.CLEARANCE[role] if any(access.is_restricted_layer(n) for n in visible) \
        else "public"
    focus = None
    if communes is not None and len(communes):
        sel = communes[communes["code"].astype(str).isin(opts.communes)] if opts.communes \
            else communes
        if len(sel):
            minx, miny, maxx, maxy = sel.total_bounds
            focus = [[round(miny, 4), round(minx, 4)], [round(maxy, 4), round(maxx, 4)]]
            # keep the province clear of the panel (left) and the legend (right)
            m.fit_bounds(focus, padding_top_left=(320, 10), padding_bottom_right=(240, 10))
    default_year = opts.year if opts.year in by_year else (years[-1] if years else None)
    if years and opts.year is None:
        this_year = (generated_on or date.today()).year
        default_year = this_year if this_year in by_year else years[-1]
    config = {
        "lang": lang, "role": role, "i18n": I18N, "months": months,
        "years": years, "year": default_year, "byYear": {str(k): v for k, v in by_year.items()},
        "statusDetails": status_details, "fromStatus": from_status,
        "progress": {str(k): v for k, v in progress.items()},
        "colours": STATUS_COLOURS, "classes": list(STATUS_CLASSES),
        "types": list(RETAIL_POINT_TYPES), "pstatus": list(RETAIL_POINT_STATUS),
        "kinds": list(CROSSING_KINDS), "data": data, "focus": focus,
        "selected": list(opts.communes),
        "title": opts.title, "generated": today.isoformat(),
        "classification": level, "synthetic": synthetic, "print": opts.print_view,
        "overlays": [o.key for o in OVERLAYS if o.key in groups or
                     (o.key == "osm" and opts.online_tiles)],
    }
    app = _App(config, groups, _read_template("map_app.js"), _read_template("map_app.css"))
    m.add_child(app)
    folium.plugins.Fullscreen(position="topleft", title="Toàn màn hình / Full screen",
                              title_cancel="Thoát / Exit").add_to(m)
    if opts.online_tiles:  # last in the control; blank (and harmless) without internet
        folium.TileLayer("OpenStreetMap", name=_layer_label("osm", lang), overlay=True,
                         control=True, show="osm" in show, max_zoom=19, opacity=0.75).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.get_root().header.add_child(folium.Element(
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,">'
        f"<title>{html.escape(opts.title or I18N[lang]['title'])}</title>"), name="gp_title")
    m.get_root().html.add_child(folium.Element(
        f'<script>document.documentElement.lang = "{lang}";</script>'), name="gp_lang")
    localize(m, base_url=opts.assets_base_url)
    return m


def _layer_label(key: str, lang: str) -> str:
    # The control shows this as HTML; the page relabels it on a language switch.
    return (f'<span class="gp-i18n gp-layer gp-layer-{key}" data-k="layer.{key}">'
            f"{html.escape(I18N[lang]['layer.' + key])}</span>")


# ---------------------------------------------------------------- reading, writing

# Layers the map draws or counts, in the order they are read.
MAP_LAYERS: tuple[str, ...] = (
    "communes", "province", "border_line", "lao_provinces", "commune_status", "recognitions",
    "targets", "border_crossings", "border_posts", "facilities", "retail_points", "opium_plots",
    "cases", "hotspot_clusters", "gistar_cells", "emerging_hotspots", "complex_hotspots")


def frames_from_store(store, role: str, *, layers: Sequence[str] = MAP_LAYERS
                      ) -> dict[str, pd.DataFrame]:
    """Read from ``store`` what the map needs for ``role``.

    Layers the role may read come with their rows (filtered by clearance in the query); of the
    others only ``commune_code`` (and the date) is read, to count records per commune.
    """
    present = {info.name for info in store.layers() if info.count}
    out: dict[str, pd.DataFrame] = {}
    for name in layers:
        if name not in present:
            continue
        if access.can_read_layer(role, name):
            out[name] = store.read(name, where=access.row_filter(role, name) or None)
        elif name in ("retail_points", "cases", "opium_plots"):
            cols = ["commune_code", {"retail_points": "first_seen", "cases": "date",
                                     "opium_plots": "detected_on"}[name]]
            out[name] = store.read(name, columns=cols)
    return out


def render_html(m: folium.Map, *, standalone: bool = False,
                base_url: str = DEFAULT_BASE_URL) -> str:
    """The page as HTML text; ``standalone`` inlines every vendored asset (one file)."""
    page = m.get_root().render()
    return inline_assets(page, base_url=base_url) if standalone else page


def save(m: folium.Map, path: str | Path, *, standalone: bool = False,
         base_url: str = "vendor") -> Path:
    """Write the map to ``path``.

    Without ``standalone`` the vendored assets are copied to ``vendor/`` beside the file (the
    map must have been built with ``assets_base_url="vendor"``), so the folder opens offline;
    with it, everything is inside the one HTML file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(m, standalone=standalone, base_url=base_url)
    if not standalone:
        target = path.parent / base_url
        if target.resolve() != VENDOR_DIR.resolve():
            shutil.copytree(VENDOR_DIR, target, dirs_exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def with_base_url(options: MapOptions | None, base_url: str) -> MapOptions:
    """``options`` with the assets served from ``base_url``."""
    return replace(options or MapOptions(), assets_base_url=base_url)
