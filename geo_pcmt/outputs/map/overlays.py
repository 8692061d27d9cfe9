"""What the map can show: its toggleable overlays and the colours of commune classes."""
from __future__ import annotations

from dataclasses import dataclass


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
    Overlay("complex_places", "Danh sách địa bàn, tụ điểm phức tạp", "Complex places (the list)"),
    Overlay("methadone_access", "Tiếp cận điều trị Methadone", "Methadone access", show=False),
    Overlay("gistar_cells", "Điểm nóng thống kê Gi*", "Gi* hot and cold spots", show=False),
    Overlay("emerging_hotspots", "Xu hướng điểm nóng", "Emerging hot spots", show=False),
    Overlay("heat", "Bản đồ nhiệt vụ án, điểm", "Heat map of cases and points", show=False),
    Overlay("osm", "Nền OpenStreetMap (cần Internet)", "OpenStreetMap (needs internet)",
            show=False),
)
OVERLAY_KEYS = tuple(o.key for o in OVERLAYS)

# Colour of a commune in the status choropleth; "sach_ve_ma_tuy" is Nghệ An's own label,
# shown apart from the national "không ma túy" (DOMAIN.md §1).
STATUS_CLASSES: tuple[str, ...] = ("loai_I", "loai_II", "loai_III", "co_te_nan_ma_tuy",
                                   "khong_trong_diem", "sach_ve_ma_tuy", "khong_ma_tuy",
                                   "chua_danh_gia")
STATUS_COLOURS = {"loai_I": "#a50f15", "loai_II": "#ef3b2c", "loai_III": "#fc9272",
                  "co_te_nan_ma_tuy": "#fdd0a2", "khong_trong_diem": "#e5f5e0",
                  "sach_ve_ma_tuy": "#a1d99b", "khong_ma_tuy": "#238b45",
                  "chua_danh_gia": "#f7f7f7"}
# Worse classes rank higher; a commune improved when its rank fell since the base year.
# Ranks for "better/worse since": the classes below III are left out, because years judged
# by different rule sets disagree about them (see docs/status.md, one rule set year on year).
STATUS_RANK = {"loai_I": 3, "loai_II": 2, "loai_III": 1, "sach_ve_ma_tuy": 0, "khong_ma_tuy": 0}

DISTANCE_BANDS_KM: tuple[float, ...] = (5.0, 15.0, 30.0)
