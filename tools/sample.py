"""Seeded generator of the SYNTHETIC sample data set shipped in ``data/sample/``.

Nothing here is intelligence. Every record says ``SYNTHETIC`` in ``source``; person names are
placeholders in the Vietnamese "Nguyễn Văn A" convention ("Nhà ông Lầu Bá C."); hotspots,
plots, cases and commune histories are a *story* written to exercise the analyses (clusters,
Gi*, emerging trends, commune status, progress, patrol planning). The story is shaped on the
real figures in ``shared/DOMAIN.md``: about 245 drug cases a month province-wide with 312
offenders per 245 cases, opium plots of 40–600 m² in mountain border communes found in the
January–March harvest season, the five border gates and four openings (lối mở) on the Lao
border, 12 methadone treatment facilities and 19 dispensing points.

The background (retail points and cases outside the designed communes) is a
**persistent-plus-contagious** process, so that a forecast can be tested on it
(``geo-pcmt backtest``): :data:`HOT_PLACES` persistent hot places, each active for months to
years (:func:`_hot_places`), take a share of the new records while they are active, and every
background record starts a self-exciting (Hawkes-type) cascade of near repeats — Poisson(η)
children within a few hundred metres over the next weeks, who have children in turn
(:data:`NEAR_REPEAT`, :func:`_near_repeats`). The immigrants are thinned by (1 − η) so the
monthly totals keep the figures above.

The only input is the real boundary data shipped in ``data/boundaries/`` (read through
:mod:`geo_pcmt.ingest.boundaries`); :func:`generate` writes nothing and returns the same frames for
the same seed. :func:`write` stores them (GeoJSON RFC 7946 for spatial layers, CSV for
tables), :func:`read` loads them back typed as the layer schemas::

    python -m tools.sample --seed 180 --out data/sample

Examples
--------
>>> from tools import sample
>>> frames = sample.generate(seed=180)
>>> sorted(frames)[:3]
['border_crossings', 'border_posts', 'cases']
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

from geo_pcmt.ingest import boundaries
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import LAYERS, Layer
from geo_pcmt.paths import SAMPLE_DIR
from geo_pcmt.ingest.sample_files import LAYER_NAMES, SPATIAL_LAYERS, TABLE_LAYERS, conform, read

DEFAULT_SEED = 180
DEFAULT_START = "2022-01-01"
DEFAULT_END = "2026-10-31"


INSET_M = 50.0          # every generated point lies at least this far inside its commune
CASES_PER_MONTH = 245   # Jun 2023 action month: 245 cases / 312 offenders (Report 564/BC-UBND)
TZ = "+07:00"           # timestamps are Viet Nam local time, written with their offset
STORY_YEARS = (2022, 2023, 2024, 2025, 2026)

_MOUNTAIN_DISTRICTS = {"Huyện Kỳ Sơn", "Huyện Tương Dương", "Huyện Quế Phong", "Huyện Con Cuông",
                       "Huyện Quỳ Châu", "Huyện Quỳ Hợp"}
_D = np.timedelta64(1, "D")


# ───────────────────────────── the story, as data ─────────────────────────────

@dataclass(frozen=True)
class Wave:
    """``n`` retail points of one ``type`` first seen in ``seen`` (ISO date window).

    A share ``clear_share`` of them is cleared (triệt xóa) in the ``cleared`` window, and a
    share ``reemerge_share`` of the cleared ones comes back in the ``reemerge`` window.
    """

    n: int
    type: str
    seen: tuple[str, str]
    cleared: tuple[str, str] | None = None
    clear_share: float = 1.0
    reemerge: tuple[str, str] | None = None
    reemerge_share: float = 0.0


@dataclass(frozen=True)
class Hotspot:
    """A planted concentration of retail points around (lon, lat) in one 2025 commune."""

    key: str
    name: str
    commune_code: str
    lon: float
    lat: float
    spread_m: float
    waves: tuple[Wave, ...]
    story: str


_BL, _HB, _TD = "diem_ban_le", "dia_diem_to_chuc_chua_chap", "tu_diem_phuc_tap"

HOTSPOTS: tuple[Hotspot, ...] = (
    Hotspot("muong_xen", "Mường Xén – trung tâm, QL7", "16813", 104.1310, 19.4045, 350, (
        Wave(22, _BL, ("2022-01-05", "2022-12-20"), ("2023-05-20", "2023-07-10"), 0.5),
        Wave(14, _BL, ("2023-03-01", "2024-12-20"), ("2025-05-15", "2025-07-15"), 0.3),
        Wave(12, _BL, ("2025-01-05", "2026-09-30")),
        Wave(6, _HB, ("2022-01-05", "2022-05-31"), ("2024-08-01", "2024-12-15"), 5 / 6),
        Wave(2, _TD, ("2022-01-05", "2022-03-31"), ("2023-06-01", "2023-06-30")),
    ), "persistent district-town market on QL7; half cleared in the June 2023 action month, "
       "harbouring places cleared late 2024, new retail points keep appearing"),
    Hotspot("nam_can", "Nậm Cắn – QL7 lên cửa khẩu", "16837", 104.1078, 19.4526, 300, (
        Wave(5, _BL, ("2022-02-01", "2022-12-20"), ("2024-06-01", "2024-07-31"), 0.4),
        Wave(10, _BL, ("2023-01-05", "2023-12-20"), ("2025-06-01", "2025-07-31"), 0.2),
        Wave(12, _BL, ("2024-01-05", "2024-12-20")),
        Wave(14, _BL, ("2025-01-05", "2026-09-30")),
        Wave(1, _HB, ("2022-03-01", "2022-05-31")),
        Wave(3, _HB, ("2024-01-05", "2024-06-30")),
        Wave(2, _TD, ("2025-01-05", "2025-06-30")),
    ), "emerging: grows every year along QL7 towards the Nậm Cắn international gate"),
    Hotspot("thanh_vinh", "Vinh – phường Thành Vinh", "16681", 105.6813, 18.6796, 450, (
        Wave(30, _BL, ("2022-01-05", "2022-12-20"), ("2022-06-01", "2026-09-30"), 0.5),
        Wave(22, _BL, ("2023-01-05", "2024-12-20"), ("2024-06-01", "2026-09-30"), 0.35),
        Wave(12, _BL, ("2025-01-05", "2026-09-30")),
        Wave(6, _HB, ("2022-01-05", "2024-06-30"), ("2023-06-01", "2026-06-30"), 0.5),
        Wave(3, _TD, ("2022-01-05", "2022-06-30"), ("2024-06-01", "2024-06-30"), 1 / 3),
    ), "persistent city hotspot: steady turnover, points cleared and replaced every year"),
    Hotspot("thong_thu", "Thông Thụ – QL48 gần cửa khẩu", "16744", 104.8596, 19.8418, 350, (
        Wave(10, _BL, ("2022-01-05", "2022-09-30"), ("2022-10-01", "2023-03-31")),
        Wave(14, _BL, ("2022-01-05", "2022-09-30"), ("2023-04-01", "2024-10-31")),
        Wave(3, _HB, ("2022-01-05", "2022-04-30"), ("2022-10-01", "2022-12-20")),
        Wave(1, _TD, ("2022-02-01", "2022-03-31"), ("2024-04-01", "2024-06-30")),
    ), "diminishing: every point cleared between Oct 2022 and Oct 2024, none since"),
    Hotspot("tam_thai", "Tam Thái – QL7 (cửa khẩu Tam Hợp)", "16936", 104.5501, 19.2265, 300, (
        Wave(16, _BL, ("2022-01-10", "2022-09-30"), ("2023-05-15", "2023-07-15"), 1.0,
             ("2025-01-15", "2025-06-30"), 0.4),
        Wave(3, _HB, ("2022-01-10", "2022-04-30"), ("2022-11-01", "2022-12-20")),
        Wave(1, _TD, ("2022-02-01", "2022-03-31"), ("2023-06-01", "2023-06-30"), 1.0,
             ("2025-02-01", "2025-03-31"), 1.0),
        Wave(5, _BL, ("2025-03-01", "2026-08-31")),
    ), "cleared in the June 2023 sweep, re-emerged from early 2025"),
    Hotspot("hoang_mai", "Hoàng Mai – QL1", "17110", 105.7180, 19.2714, 400, (
        Wave(4, _BL, ("2022-03-01", "2024-10-31"), ("2024-11-01", "2024-12-20"), 0.5),
        Wave(34, _BL, ("2025-01-05", "2026-09-30"), ("2026-06-01", "2026-06-30"), 0.15),
        Wave(1, _HB, ("2025-02-01", "2025-04-30")),
        Wave(3, _HB, ("2026-01-05", "2026-05-31")),
    ), "new: a QL1 market that appears in 2025 and grows fast"),
    Hotspot("tri_le", "Tri Lễ – bản vùng cao", "16756", 104.6929, 19.6116, 500, (
        Wave(3, _TD, ("2022-01-05", "2022-02-28"), ("2023-05-01", "2023-07-31")),
        Wave(4, _BL, ("2022-01-05", "2022-06-30"), ("2023-06-01", "2023-07-31")),
        Wave(1, _HB, ("2023-09-01", "2023-11-30"), ("2024-10-01", "2024-12-20")),
    ), "the 3 tụ điểm of the opium commune, all cleared by the end of 2024"),
)

#: Intended class of the designed communes per year 2022–2026 (I, II, III or clean = nothing
#: to report) and the opium area found each season (m²). The assessment counts are built so
#: that Decision 28/2025 (and 3122/2010 before 2025) give these classes; see README.md.
STORY: dict[str, tuple[tuple[str, ...], tuple[float, ...] | None]] = {
    "16681": (("I", "I", "I", "I", "I"), None),                       # Phường Thành Vinh
    "16813": (("I", "I", "I", "II", "II"), None),                     # Xã Mường Xén
    "16837": (("II", "II", "I", "I", "I"), None),                     # Xã Nậm Cắn (worse)
    "16744": (("I", "II", "II", "clean", "clean"), (300, 200, 100, 0, 0)),   # Xã Thông Thụ
    "16936": (("I", "II", "III", "II", "II"), None),                  # Xã Tam Thái (relapse)
    "17110": (("III", "III", "III", "II", "I"), None),                # Phường Hoàng Mai (worse)
    "16756": (("I", "I", "II", "III", "III"), (2400, 1100, 450, 90, 60)),    # Xã Tri Lễ
    "16822": (("II", "II", "III", "III", "III"), (600, 550, 250, 150, 100)),  # Xã Keng Đu
    "16816": (("II", "II", "III", "III", "III"), (650, 500, 220, 120, 0)),    # Xã Mỹ Lý
    "16870": (("II", "II", "II", "III", "III"), (550, 600, 400, 150, 90)),    # Xã Na Ngoi
    "17971": (("III", "III", "III", "clean", "clean"), None),        # Xã Kim Liên
    "17944": (("III", "III", "III", "clean", "clean"), None),        # Xã Đại Huệ
    "16804": (("III", "III", "III", "clean", "clean"), None),        # Xã Châu Bình
    "17818": (("III", "III", "III", "clean", "clean"), None),        # Xã Bích Hào
    "17989": (("III", "III", "III", "clean", "clean"), None),        # Xã Thiên Nhẫn
    "17743": (("III", "III", "III", "clean", "clean"), None),        # Xã Tam Đồng
    "17524": (("III", "III", "III", "III", "clean"), None),          # Xã Giai Lạc
}

#: Population (2022) of the designed communes; the others are drawn by kind.
STORY_POPULATION = {"16681": 58_000, "16813": 15_000, "16837": 13_500, "16744": 12_500,
                    "16936": 11_000, "17110": 46_000, "16756": 11_500, "16822": 7_000,
                    "16816": 8_500, "16870": 12_000}

#: National "không ma túy" recognitions by the province (commune, date); the commune reports
#: nothing from the assessment year of the decision on.
KHONG_MA_TUY = (("17971", "2025-11-25"), ("16744", "2025-12-18"), ("17944", "2025-12-18"),
                ("16804", "2026-03-10"), ("17818", "2026-06-15"), ("17989", "2026-08-20"),
                ("17743", "2026-09-22"), ("17524", "2026-10-05"))

#: Province label "sạch về ma túy" of the designed communes (date, revoked_on).
SACH_STORY = {"16744": ("2025-03-20", None), "16936": ("2024-11-28", "2025-05-16"),
              "16756": ("2025-06-10", None), "16822": ("2024-06-18", None),
              "16816": ("2024-07-09", None), "16870": ("2025-06-05", None),
              "17971": ("2023-09-12", None), "17944": ("2024-03-21", None),
              "16804": ("2023-12-14", None), "17818": ("2024-05-08", None),
              "17989": ("2023-10-26", None), "17743": ("2024-09-17", None),
              "17524": ("2025-04-22", None)}
_NEVER_SACH = {"16681", "16813", "16837", "17110"}

# Rates of the resident population per class (criteria a and c of Decision 28/2025).
_USE_RATE = {"I": 0.0075, "II": 0.0035, "III": 0.0012, "clean": 0.0}
_ARREST_RATE = {"I": 0.0015, "II": 0.00075, "III": 0.0003, "clean": 0.0}

#: Approximate national-road centre lines (lon, lat), for cases "along the route".
ROUTES = {
    "QL1": ((105.735, 19.33), (105.7137, 19.2565), (105.63, 19.14), (105.59, 18.98),
            (105.64, 18.78), (105.68, 18.68), (105.70, 18.655)),
    "QL7": ((105.59, 18.98), (105.30, 18.90), (105.05, 18.93), (104.88, 19.05), (104.45, 19.28),
            (104.131, 19.4045), (104.0916, 19.48609)),
    "QL48": ((105.56, 19.01), (105.44, 19.32), (105.19, 19.33), (105.09, 19.55), (104.91, 19.63),
             (104.8457, 19.9004)),
}
_ROUTE_WEIGHT = {"QL1": 0.45, "QL7": 0.35, "QL48": 0.20}

#: Border-guard posts (đồn biên phòng): name, host 2025 commune, gate it sits behind.
BORDER_POSTS = (
    ("Đồn BP CKQT Nậm Cắn", "16837", "Cửa khẩu quốc tế Nậm Cắn"),
    ("Đồn BP Keng Đu", "16822", None),
    ("Đồn BP Mỹ Lý", "16816", None),
    ("Đồn BP Na Ngoi", "16870", None),
    ("Đồn BP Mường Típ", "16858", None),
    ("Đồn BP Nhôn Mai", "16882", None),
    ("Đồn BP Tam Hợp", "16936", "Cửa khẩu Tam Hợp"),
    ("Đồn BP Thông Thụ", "16744", "Cửa khẩu Thông Thụ"),
    ("Đồn BP Tri Lễ", "16756", None),
    ("Đồn BP Môn Sơn", "17263", None),
    ("Đồn BP Hạnh Lâm", "17722", None),
    ("Đồn BP cửa khẩu Thanh Thủy", "17791", "Cửa khẩu Thanh Thủy"),
)

#: Gate attributes from DOMAIN.md §3: Lao counterpart, planned kind and year.
GATES = {
    "Cửa khẩu quốc tế Nậm Cắn": ("Nậm Cắn (Noọng Hét, Xiêng Khoảng)", None, None),
    "Cửa khẩu Thanh Thủy": ("Nậm On (Bô Ly Khăm Xay)", "international", 2030),
    "Cửa khẩu Thông Thụ": ("Nậm Tạy (Hủa Phăn)", "main", 2030),
    "Cửa khẩu Tam Hợp": ("Thoong Mi Xay (Bô Ly Khăm Xay)", "main", 2050),
    "Cửa khẩu Cao Vều": (None, None, None),
}

#: Openings (lối mở) and the planned Huồi Khe gate: name, host commune, place along the
#: commune's stretch of border (0–1), Lao counterpart, planned kind, planned year.
OPENINGS = (
    ("Lối mở Ta Đo", "16858", 0.30, None, None, None),
    ("Lối mở Buộc Mú", "16870", 0.50, None, None, None),
    ("Lối mở Keng Đu", "16822", 0.50, None, None, None),
    ("Lối mở Xiềng Trên", "16816", 0.50, None, None, None),
    ("Cửa khẩu Huồi Khe (quy hoạch)", "16858", 0.75, "Loong Ho (Xiêng Khoảng)", "secondary", 2030),
)
N_TRAILS = {"Xiêng Khoảng": 8, "Hủa Phăn": 7, "Bô Ly Khăm Xay": 5}

#: Opium communes outside the story and their weight in the yearly background sweeps.
OPIUM_COMMUNES = {"16858": 1.2, "16828": 1.0, "16831": 1.3, "16819": 0.8, "16834": 0.7,
                  "16750": 0.8, "16738": 0.5, "16882": 1.0, "16933": 0.4, "17248": 0.3}
OPIUM_BACKGROUND_PLOTS = (26, 22, 18, 16, 13)
OPIUM_BACKGROUND_CAP_M2 = 1500.0  # most a background commune yields in one season

FACILITIES = {
    "methadone_treatment": ("16681", "17110", "16939", "17464", "17662", "17254", "16876",
                            "16813", "16738", "16777", "17035", "17506"),
    "methadone_dispensing": ("16732", "16702", "17920", "17179", "16941", "17266", "17935",
                             "18001", "17827", "17713", "16837", "16822", "16756", "16744",
                             "17248", "16936", "16882", "17329", "17071"),
    "rehab": ("17857", "17713", "17779"),
}

TARGETS = (
    ("province", 2025, 0.20, "Kế hoạch 695/KH-UBND ngày 21/8/2025 của UBND tỉnh Nghệ An "
                             "(Plan 695/KH-UBND)"),
    ("province", 2026, 0.30, "Kế hoạch 107/KH-UBND ngày 12/02/2026 của UBND tỉnh Nghệ An "
                             "(Plan 107/KH-UBND)"),
    ("province", 2030, 0.50, "Kế hoạch 695/KH-UBND (Plan 695/KH-UBND); Kết luận 132-KL/TW"),
    ("border", 2026, 0.20, "SYNTHETIC illustrative border-commune target, aligned with "
                           "Plan 695/KH-UBND (no official border figure)"),
    ("border", 2028, 0.35, "SYNTHETIC illustrative border-commune target (no official figure)"),
    ("border", 2030, 0.50, "SYNTHETIC illustrative border-commune target, aligned with "
                           "Kết luận 132-KL/TW (no official border figure)"),
)

_KINDS = ("trafficking", "possession", "use_organising", "retail", "transport", "other")
_KIND_P = {  # by how a case was placed
    "route": (0.30, 0.28, 0.02, 0.05, 0.32, 0.03),
    "retail": (0.12, 0.40, 0.13, 0.30, 0.02, 0.03),
    "population": (0.10, 0.55, 0.10, 0.15, 0.03, 0.07),
    "hot_place": (0.10, 0.40, 0.15, 0.30, 0.02, 0.03),
}
_EXTRA_OFFENDERS = dict(zip(_KINDS, (0.55, 0.08, 0.9, 0.2, 0.45, 0.15)))  # mean offenders − 1
# Mild seasonality: sweeps before Tết (Jan, Dec), a Tết lull (Feb), the June action month.
_SEASON = np.array([1.05, 0.88, 0.95, 0.95, 1.0, 1.35, 1.0, 0.94, 0.94, 0.98, 0.98, 1.08])
_SEASON = _SEASON / _SEASON.mean()

# The background is a persistent-plus-contagious process (see the module docstring):
#: persistent hot places of the background — how many, how long each stays active (months),
#: how tightly its records sit around it (m), and the share of background records they take.
HOT_PLACES = 36
HOT_PLACE_MONTHS = (6, 48)
HOT_PLACE_SPREAD_M = 150.0
HOT_PLACE_SHARE = {"cases": 0.30, "retail_points": 0.30}


@dataclass(frozen=True)
class NearRepeat:
    """Self-exciting (Hawkes-type) near repeats: every record has Poisson(``eta``) children
    (and they theirs), each ``Exp(mean_delay_days)`` days later and ``N(0, sigma_m)`` metres
    away; ``eta`` < 1 is the branching ratio (the share of records that are near repeats)."""

    eta: float
    mean_delay_days: float
    sigma_m: float


NEAR_REPEAT = {"cases": NearRepeat(0.40, 10.0, 200.0),
               "retail_points": NearRepeat(0.35, 21.0, 250.0)}

_SURNAMES_HIGH = ("Lầu", "Vừ", "Và", "Xồng", "Mùa", "Lữ", "Lô", "Vi", "Lương", "Moong", "Kha",
                  "Cụt", "Lỳ", "Già")
_SURNAMES_LOW = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Hồ",
                 "Đinh", "Cao", "Thái", "Đậu")
_INITIALS = tuple("ABCDĐGHKLMNPQSTVX")
_VILLAGE_A = ("Huồi", "Nậm", "Phà", "Xốp", "Pha", "Ca", "Na", "Piêng", "Long", "Cha", "Hòa",
              "Tà", "Pủng", "Mường")
_VILLAGE_B = ("Giang", "Khảo", "Cháo", "Lõm", "Tụ", "Xái", "Pục", "Kháng", "Mới", "Lầu", "Chảo",
              "Ngọn", "Đun", "Sơn", "Típ", "Piệt", "Khốm", "Tiến", "Nọi", "Cóng")
_TU_DIEM = ("bãi đất trống ven sông", "khu lán trại bỏ hoang", "khu nhà trọ ven quốc lộ",
            "khu vực gầm cầu", "quán nước ven đường", "khu nhà hoang cuối bản", "bãi xe tải")
_METHODS = ("nhổ bỏ, tiêu hủy tại chỗ", "phát, đốt tại chỗ", "nhổ bỏ, thu gom về tiêu hủy")


# ─────────────────────────────── helpers ───────────────────────────────

def _day(s: str) -> np.datetime64:
    return np.datetime64(s, "D")


def _uniform_days(rng: np.random.Generator, lo, hi, n: int | None = None):
    """Uniform dates in [lo, hi] (arrays or scalars of datetime64[D]); lo > hi gives lo.

    Scalars give one date unless ``n`` asks for an array of ``n``.
    """
    lo = np.asarray(lo, dtype="datetime64[D]")
    hi = np.asarray(hi, dtype="datetime64[D]")
    if n is not None:
        lo, hi = np.broadcast_to(lo, (n,)), np.broadcast_to(hi, (n,))
    missing = np.isnat(lo) | np.isnat(hi)
    with np.errstate(invalid="ignore"):
        span = np.where(missing, 0, np.maximum((hi - lo) // _D, 0))
    out = lo + rng.integers(0, span + 1) * _D
    return out[()] if out.ndim == 0 else out


def _iso(days: np.ndarray) -> np.ndarray:
    out = np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D").astype(object)
    out[out == "NaT"] = None
    return out


def _stamp(days: np.ndarray, rng: np.random.Generator, end: np.datetime64,
           after_h: tuple[int, int] = (8, 40)) -> np.ndarray:
    """ISO datetimes some hours after ``days`` (record entered after the event), ≤ ``end``."""
    days = np.asarray(days, dtype="datetime64[D]")
    minutes = rng.integers(after_h[0] * 60, after_h[1] * 60, len(days))
    t = days.astype("datetime64[m]") + minutes * np.timedelta64(1, "m")
    t = np.minimum(t, end.astype("datetime64[m]") + np.timedelta64(23 * 60 + 59, "m"))
    return (np.datetime_as_string(t, unit="s").astype(object) + TZ)


def _short(name: str) -> str:
    """'Xã Mường Xén' → 'Mường Xén'."""
    for prefix in ("Phường ", "Xã "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _lower_first(name: str) -> str:
    """'Xã Tri Lễ' → 'xã Tri Lễ', 'Huyện Kỳ Sơn' → 'huyện Kỳ Sơn'."""
    return name[:1].lower() + name[1:]


def _pick(rng: np.random.Generator, options, n: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


class _Geo:
    """The shipped geography, prepared once per :func:`generate` call (metric work in UTM 48N)."""

    def __init__(self, communes: gpd.GeoDataFrame, border: gpd.GeoDataFrame,
                 gates: gpd.GeoDataFrame):
        self.communes = communes.reset_index(drop=True)
        self.code = self.communes["code"].to_numpy(dtype=object)
        self.index = {c: i for i, c in enumerate(self.code)}
        self.name = self.communes["name"].to_numpy(dtype=object)
        self.is_border = self.communes["is_border"].to_numpy(dtype=bool)
        self.is_ward = (self.communes["kind"] == "phuong").to_numpy()
        self.district = self.communes["district_pre2025"].to_numpy(dtype=object)
        self.lao_province = self.communes["lao_province"].to_numpy(dtype=object)
        self.area_km2 = self.communes["area_km2"].to_numpy(dtype=float)
        self.mountain = np.isin(self.district, list(_MOUNTAIN_DISTRICTS)) | self.is_border
        self._fwd = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)
        self._inv = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)
        self.metric = self.communes.to_crs(METRIC_CRS).geometry.to_numpy()
        self.inner = shapely.buffer(self.metric, -INSET_M)
        self.tree = shapely.STRtree(self.inner)
        rep = self.communes.geometry.representative_point()
        self.rep_lon = np.round(rep.x.to_numpy(), 6)
        self.rep_lat = np.round(rep.y.to_numpy(), 6)
        self.rep_x, self.rep_y = self.to_metric(self.rep_lon, self.rep_lat)
        bad = self.locate(self.rep_x, self.rep_y) != np.arange(len(self.code))
        if bad.any():  # a representative point too close to an edge: use one of the inset polygon
            inner_pt = shapely.point_on_surface(self.inner[bad])
            self.rep_x[bad], self.rep_y[bad] = shapely.get_x(inner_pt), shapely.get_y(inner_pt)
            self.rep_lon[bad], self.rep_lat[bad] = self.to_lonlat(self.rep_x[bad], self.rep_y[bad])
        # scatter radius around a commune's centre for "somewhere in the commune"
        self.spread_m = np.where(self.is_ward, 900.0,
                                 np.clip(np.sqrt(self.area_km2) * 1000 / 4, 800, 3500))
        self.border = border.reset_index(drop=True)
        self.border_metric = self.border.to_crs(METRIC_CRS).geometry.to_numpy()
        self.border_all = shapely.union_all(self.border_metric)
        self.gates = gates.reset_index(drop=True)
        self.routes = {k: shapely.LineString(np.column_stack(self.to_metric(*np.array(v).T)))
                       for k, v in ROUTES.items()}
        route_union = shapely.union_all(list(self.routes.values()))
        self.on_route = shapely.intersects(self.metric, route_union)
        self.villages = {}

    def to_metric(self, lon, lat):
        x, y = self._fwd.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def to_lonlat(self, x, y):
        lon, lat = self._inv.transform(np.asarray(x, float), np.asarray(y, float))
        return np.round(np.asarray(lon, float), 6), np.round(np.asarray(lat, float), 6)

    def locate(self, x, y) -> np.ndarray:
        """Index of the commune whose inset polygon holds each point, −1 if none."""
        pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
        out = np.full(len(pts), -1, dtype=int)
        i_pt, i_c = self.tree.query(pts, predicate="within")
        out[i_pt] = i_c
        return out

    def scatter(self, rng, cx, cy, sigma_m, ok, tries: int = 60):
        """Normal scatter around centres; re-draw points whose commune fails ``ok``.

        ``ok(rows, commune_idx) -> bool array``. Points still failing after ``tries`` rounds
        fall back to their centre, which the caller guarantees is acceptable.
        """
        cx, cy = np.asarray(cx, float), np.asarray(cy, float)
        n = len(cx)
        sigma = np.broadcast_to(np.asarray(sigma_m, float), (n,))
        x, y, ci = cx.copy(), cy.copy(), np.full(n, -1)
        todo = np.arange(n)
        for _ in range(tries):
            if not len(todo):
                break
            px = cx[todo] + rng.normal(0.0, sigma[todo])
            py = cy[todo] + rng.normal(0.0, sigma[todo])
            c = self.locate(px, py)
            good = (c >= 0) & ok(todo, c)
            x[todo[good]], y[todo[good]], ci[todo[good]] = px[good], py[good], c[good]
            todo = todo[~good]
        if len(todo):
            ci[todo] = self.locate(cx[todo], cy[todo])
        return x, y, ci

    def village_names(self, i: int, seed: int) -> list[str]:
        """Eight fictional village names of commune ``i`` ('bản Huồi Xái', 'xóm 7', 'khối 3')."""
        if i not in self.villages:
            r = np.random.default_rng([seed, 7, int(self.code[i])])
            if self.mountain[i]:
                combos = [f"{a} {b}" for a in _VILLAGE_A for b in _VILLAGE_B]
                names = [f"bản {combos[k]}" for k in r.choice(len(combos), 8, replace=False)]
            else:
                word = "khối" if self.is_ward[i] else "xóm"
                numbers = sorted(r.choice(np.arange(1, 25), 8, replace=False))
                names = [f"{word} {k}" for k in numbers]
            self.villages[i] = names
        return self.villages[i]

    def border_point(self, part: shapely.LineString, at_m: float, inward_m: float, want=None):
        """A point ``inward_m`` inside the province from ``part`` at ``at_m`` metres along it.

        Tries shorter offsets if the first lands outside (or outside commune ``want``).
        """
        at_m = float(np.clip(at_m, 30.0, part.length - 30.0))
        p = part.interpolate(at_m)
        a, b = part.interpolate(at_m - 30.0), part.interpolate(at_m + 30.0)
        tx, ty = b.x - a.x, b.y - a.y
        norm = np.hypot(tx, ty) or 1.0
        nx, ny = -ty / norm, tx / norm
        d = inward_m
        while d >= 60.0:
            for sign in (1.0, -1.0):
                x, y = p.x + sign * nx * d, p.y + sign * ny * d
                c = self.locate([x], [y])[0]
                if c >= 0 and (want is None or c == want):
                    return x, y, c
            d *= 0.6
        return None

    def border_stretch(self, i: int) -> shapely.LineString:
        """The longest piece of the Lao border along commune ``i``."""
        piece = shapely.intersection(self.border_all, shapely.buffer(self.metric[i], 150.0))
        parts = list(getattr(piece, "geoms", [piece]))
        parts = [g for g in parts if g.geom_type == "LineString" and not g.is_empty]
        return max(parts, key=lambda g: g.length)


# ─────────────────────────────── layers ───────────────────────────────

def _populations(geo: _Geo, rng: np.random.Generator, years) -> np.ndarray:
    """Resident population per commune (rows) and year (columns)."""
    n = len(geo.code)
    base = np.where(geo.is_ward, rng.uniform(25_000, 60_000, n),
                    np.where(geo.is_border, rng.uniform(6_000, 14_000, n),
                             np.where(geo.mountain, rng.uniform(9_000, 20_000, n),
                                      rng.uniform(20_000, 45_000, n))))
    for code, pop in STORY_POPULATION.items():
        if code in geo.index:
            base[geo.index[code]] = pop
    growth = 1.007 ** (np.asarray(list(years)) - 2022)
    return np.round(base[:, None] * growth[None, :] / 10) * 10


def _level(code: str, year: int) -> str | None:
    if code not in STORY:
        return None
    levels = STORY[code][0]
    return levels[int(np.clip(year - STORY_YEARS[0], 0, len(levels) - 1))]


def _opium_quota(code: str, year: int) -> float:
    quota = STORY.get(code, (None, None))[1]
    if quota is None or not STORY_YEARS[0] <= year <= STORY_YEARS[-1]:
        return 0.0
    return float(quota[year - STORY_YEARS[0]])


def _statuses(rng, fs, cl, re, end):
    """Last activity and status from first seen / cleared on / re-emerged on dates."""
    n = len(fs)
    cleared, back = ~np.isnat(cl), ~np.isnat(re)
    room = (end - fs) // _D
    quiet = (rng.random(n) < 0.3) & (room > 150) & ~cleared
    hi = np.minimum(room, 540)
    old = end - rng.integers(121, np.maximum(hi, 122) + 1) * _D
    recent = np.maximum(end - rng.integers(0, 90, n) * _D, fs)
    last = np.where(quiet, np.maximum(old, fs), recent)
    before_clear = np.maximum(np.where(cleared, cl, fs) - rng.integers(0, 21, n) * _D, fs)
    last = np.where(cleared, before_clear, last)
    last = np.where(back, np.maximum(end - rng.integers(0, 90, n) * _D, re), last)
    status = np.where(back, "re-emerged", np.where(cleared, "cleared",
                                                   np.where(quiet, "watch", "active")))
    return last, status.astype(object)


def _retail_points(geo, rng, seed, start, end):
    cols = {k: [] for k in ("x", "y", "ci", "type", "fs", "cl", "re", "quality", "hotspot")}
    nat = np.datetime64("NaT", "D")

    def clip(w):
        return np.clip(_day(w[0]), start, end), np.clip(_day(w[1]), start, end)

    for h in HOTSPOTS:
        if h.commune_code not in geo.index:
            continue
        target = geo.index[h.commune_code]
        hx, hy = geo.to_metric([h.lon], [h.lat])
        if geo.locate(hx, hy)[0] != target:  # keep the planted centre inside its commune
            hx, hy = geo.rep_x[[target]], geo.rep_y[[target]]
        for w in h.waves:
            n = w.n
            x, y, ci = geo.scatter(rng, np.repeat(hx, n), np.repeat(hy, n), h.spread_m,
                                   lambda rows, c: c == target)
            fs = _uniform_days(rng, *clip(w.seen), n=n)
            cl = np.full(n, nat)
            re = np.full(n, nat)
            if w.cleared is not None:
                k = int(round(w.clear_share * n))
                chosen = rng.permutation(n)[:k]
                lo, hi = clip(w.cleared)
                lo_i = np.maximum(lo, fs[chosen] + 30 * _D)
                c_days = _uniform_days(rng, lo_i, np.maximum(hi, lo_i))
                keep = c_days <= end
                cl[chosen[keep]] = c_days[keep]
                if w.reemerge is not None:
                    done = chosen[keep]
                    m = int(round(w.reemerge_share * len(done)))
                    back = rng.permutation(done)[:m]
                    lo, hi = clip(w.reemerge)
                    lo_r = np.maximum(lo, cl[back] + 60 * _D)
                    r_days = _uniform_days(rng, lo_r, np.maximum(hi, lo_r))
                    ok = r_days <= end
                    re[back[ok]] = r_days[ok]
            quality = _pick(rng, ("exact", "address"), n, p=(0.93, 0.07))
            for key, val in (("x", x), ("y", y), ("ci", ci), ("type", np.full(n, w.type, object)),
                             ("fs", fs), ("cl", cl), ("re", re), ("quality", quality),
                             ("hotspot", np.full(n, h.key, object))):
                cols[key].append(val)
    n_cluster = sum(len(v) for v in cols["x"])

    # sparse background across populated communes outside the designed ones
    n = max(600 - n_cluster, 0)
    story = np.isin(geo.code, list(STORY))
    w = geo.pop_now * np.where(geo.is_ward, 1.8, 1.0) * np.where(geo.on_route, 1.5, 1.0)
    w = np.where(story, 0.0, w)
    ok = lambda rows, c: ~story[c]  # noqa: E731
    last_day = end - 30 * _D
    process = NEAR_REPEAT["retail_points"]

    def roots(k):  # new points: spread by population, or at a persistent hot place
        fs = _uniform_days(rng, start, last_day, n=k)
        home = rng.choice(len(w), size=k, p=w / w.sum())
        x, y, ci = geo.scatter(rng, geo.rep_x[home], geo.rep_y[home], geo.spread_m[home], ok)
        hx, hy, hc, placed = _at_hot_places(geo, rng, geo.hot, fs, ok)
        hot = placed & (rng.random(k) < HOT_PLACE_SHARE["retail_points"])
        x[hot], y[hot], ci[hot] = hx[hot], hy[hot], hc[hot]
        return fs, x, y, ci

    fs, x, y, ci = roots(int(round(n * (1 - process.eta))))
    cd, cx, cy, cc, _ = _near_repeats(geo, rng, fs, x, y, process, last_day, ok)
    room = n - len(fs)
    if len(cd) > room:   # the count is fixed: keep a random subset of the near repeats
        keep = np.sort(rng.choice(len(cd), size=room, replace=False))
        cd, cx, cy, cc = cd[keep], cx[keep], cy[keep], cc[keep]
    more = roots(room - len(cd))
    fs, x, y, ci = (np.concatenate(v) for v in zip((fs, x, y, ci), (cd, cx, cy, cc), more))
    quality = _pick(rng, ("exact", "address", "commune"), n, p=(0.82, 0.12, 0.06))
    at_rep = quality == "commune"
    x[at_rep], y[at_rep] = geo.rep_x[ci[at_rep]], geo.rep_y[ci[at_rep]]
    cl = np.full(n, nat)
    re = np.full(n, nat)
    is_cl = rng.random(n) < 0.35
    c_days = _uniform_days(rng, fs + 30 * _D, np.maximum(end, fs + 30 * _D))
    is_cl &= c_days <= end
    cl[is_cl] = c_days[is_cl]
    is_re = is_cl & (rng.random(n) < 0.12) & (cl < end - 180 * _D)
    r_days = _uniform_days(rng, cl + 60 * _D, np.maximum(end, cl + 60 * _D))
    re[is_re] = r_days[is_re]
    for key, val in (("x", x), ("y", y), ("ci", ci),
                     ("type", _pick(rng, (_BL, _HB, _TD), n, p=(0.92, 0.05, 0.03))),
                     ("fs", fs), ("cl", cl), ("re", re), ("quality", quality),
                     ("hotspot", np.full(n, None, object))):
        cols[key].append(val)

    pts = {k: np.concatenate(v) for k, v in cols.items()}
    pts["last"], pts["status"] = _statuses(rng, pts["fs"], pts["cl"], pts["re"], end)
    order = np.lexsort((pts["x"], pts["fs"]))
    pts = {k: v[order] for k, v in pts.items()}
    n = len(order)
    lon, lat = geo.to_lonlat(pts["x"], pts["y"])
    commune_pt = pts["quality"] == "commune"
    lon[commune_pt] = geo.rep_lon[pts["ci"][commune_pt]]
    lat[commune_pt] = geo.rep_lat[pts["ci"][commune_pt]]

    # Vietnamese names and addresses (placeholder initials, never a real person)
    high = geo.mountain[pts["ci"]]
    surname = np.where(high, _pick(rng, _SURNAMES_HIGH, n), _pick(rng, _SURNAMES_LOW, n))
    woman = rng.random(n) < 0.35
    middle = np.where(woman, "Thị", np.where(high, _pick(rng, ("Bá", "Văn"), n), "Văn"))
    title = np.where(woman, "bà", "ông")
    initial = _pick(rng, _INITIALS, n)
    place = _pick(rng, _TU_DIEM, n)
    village_i = rng.integers(0, 8, n)
    names, addresses = [], []
    for j in range(n):
        c = pts["ci"][j]
        hamlet = geo.village_names(c, seed)[village_i[j]]
        addresses.append(f"{hamlet}, {_lower_first(geo.name[c])}")
        if pts["type"][j] == _TD:
            names.append(f"Tụ điểm {place[j]}, {hamlet}")
        else:
            names.append(f"Nhà {title[j]} {surname[j]} {middle[j]} {initial[j]}.")
    pts["lon"], pts["lat"], pts["name"], pts["address"] = lon, lat, names, addresses
    pts["id"] = np.array([f"RP-{k:06d}" for k in range(1, n + 1)], dtype=object)
    return pts


def _hot_places(geo, rng, start, end) -> dict[str, np.ndarray]:
    """:data:`HOT_PLACES` persistent hot places of the background: a spot in a populated
    commune outside the designed ones (weighted like the background), active for 6–48 months
    from a start drawn over the period (some already active when it begins), with a weight
    (lognormal) for how much happens there."""
    story = np.isin(geo.code, list(STORY))
    w = geo.pop_now * np.where(geo.is_ward, 1.8, 1.0) * np.where(geo.on_route, 1.5, 1.0)
    w = np.where(story, 0.0, w)
    n = HOT_PLACES
    home = rng.choice(len(w), size=n, p=w / w.sum())
    x, y, ci = geo.scatter(rng, geo.rep_x[home], geo.rep_y[home], 0.5 * geo.spread_m[home],
                           lambda rows, c: ~story[c])
    months = rng.integers(HOT_PLACE_MONTHS[0], HOT_PLACE_MONTHS[1] + 1, n)
    begin = _uniform_days(rng, start - 365 * _D, end - 60 * _D, n=n)
    return {"x": x, "y": y, "ci": ci, "start": begin, "end": begin + months * 30 * _D,
            "weight": rng.lognormal(0.0, 0.6, n)}


def _at_hot_places(geo, rng, hot, days, ok) -> tuple[np.ndarray, ...]:
    """Positions for records dated ``days`` at the hot places active then (by weight);
    ``placed`` is False where none was active."""
    n = len(days)
    x, y, ci = np.zeros(n), np.zeros(n), np.full(n, -1)
    active = (hot["start"][None, :] <= days[:, None]) & (days[:, None] <= hot["end"][None, :])
    w = active * hot["weight"][None, :]
    placed = w.sum(axis=1) > 0
    rows = np.flatnonzero(placed)
    cum = np.cumsum(w[rows], axis=1)
    pick = (cum < rng.random(len(rows))[:, None] * cum[:, -1:]).sum(axis=1)
    x[rows], y[rows], ci[rows] = geo.scatter(rng, hot["x"][pick], hot["y"][pick],
                                             HOT_PLACE_SPREAD_M, ok)
    return x, y, ci, placed


def _near_repeats(geo, rng, days, x, y, process: NearRepeat, until, ok):
    """Every generation of near repeats of the records (``days``, ``x``, ``y``): a branching
    (Hawkes cluster) process, children after ``until`` dropped. Returns (days, x, y, ci,
    root) of the children, ``root`` the index of the original record each descends from."""
    out = {k: [] for k in ("d", "x", "y", "ci", "root")}
    root = np.arange(len(days))
    while len(days):
        k = rng.poisson(process.eta, len(days))
        parent = np.repeat(np.arange(len(days)), k)
        delay = np.ceil(rng.exponential(process.mean_delay_days, len(parent))).astype(int)
        d = days[parent] + np.maximum(delay, 1) * _D
        keep = d <= until
        parent, d = parent[keep], d[keep]
        cx, cy, cc = geo.scatter(rng, x[parent], y[parent], process.sigma_m, ok)
        for key, val in (("d", d), ("x", cx), ("y", cy), ("ci", cc), ("root", root[parent])):
            out[key].append(val)
        days, x, y, root = d, cx, cy, root[parent]
    if not out["d"]:
        return (np.array([], "datetime64[D]"), np.zeros(0), np.zeros(0), np.zeros(0, int),
                np.zeros(0, int))
    return tuple(np.concatenate(out[k]) for k in ("d", "x", "y", "ci", "root"))


def _clearing_events(pts, rng):
    """One case per clearing (triệt xóa) of a retail point, at the point, on ``cleared_on``."""
    idx = np.flatnonzero(~np.isnat(pts["cl"]))
    harbour = pts["type"][idx] != _BL
    return {
        "date": pts["cl"][idx], "x": pts["x"][idx], "y": pts["y"][idx], "ci": pts["ci"][idx],
        "kind": np.where(harbour, "use_organising", "retail").astype(object),
        "offenders": 1 + rng.poisson(np.where(harbour, 0.4, 0.25)),
        "retail_row": idx, "mech": np.full(len(idx), "clearing", dtype=object),
    }


def _active_in(fs, cl, re, end, lo, hi):
    """Whether each point was active at some time in [lo, hi]."""
    until = np.where(np.isnat(cl), end, cl)
    first = (fs <= hi) & (until >= lo)
    second = ~np.isnat(re) & (re <= hi)
    return first | second


def _case_dates_in_year(rng, year, n, start, end, june_weight=2.0):
    months = np.arange(1, 13)
    first = np.array([np.datetime64(f"{year}-{m:02d}-01", "D") for m in months])
    last = np.array([np.datetime64(f"{year + (m == 12)}-{m % 12 + 1:02d}-01", "D") - _D
                     for m in months])
    lo, hi = np.maximum(first, start), np.minimum(last, end)
    w = np.where(hi >= lo, ((hi - lo) // _D + 1) * np.where(months == 6, june_weight, 1.0), 0.0)
    if n == 0 or w.sum() == 0:
        return np.array([], dtype="datetime64[D]")
    m = rng.choice(12, size=n, p=w / w.sum())
    return _uniform_days(rng, lo[m], hi[m])


def _route_points(geo, rng, n, ok):
    """``n`` points along QL1/QL7/QL48 (±400 m) in communes accepted by ``ok``."""
    names = list(ROUTES)
    p = np.array([_ROUTE_WEIGHT[k] for k in names])
    xs, ys, cs = [], [], []
    need = n
    for _ in range(60):
        if need <= 0:
            break
        m = need * 2 + 10
        r = rng.choice(len(names), size=m, p=p / p.sum())
        x = np.empty(m)
        y = np.empty(m)
        for k, name in enumerate(names):
            sel = r == k
            line = geo.routes[name]
            pts = shapely.line_interpolate_point(line, rng.uniform(0, line.length, sel.sum()))
            x[sel], y[sel] = shapely.get_x(pts), shapely.get_y(pts)
        x += rng.normal(0, 400, m)
        y += rng.normal(0, 400, m)
        c = geo.locate(x, y)
        good = np.flatnonzero((c >= 0) & ok(c))[:need]
        xs.append(x[good]), ys.append(y[good]), cs.append(c[good])
        need -= len(good)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(cs)


def _cases(geo, rng, pts, posts, start, end, years):
    story = np.isin(geo.code, list(STORY))
    events = [_clearing_events(pts, rng)]
    clear = events[0]

    # designed communes: exactly the offenders their class asks for (criterion c)
    for code in STORY:
        if code not in geo.index:
            continue
        i = geo.index[code]
        mine = np.flatnonzero(pts["ci"] == i)
        for yi, year in enumerate(years):
            level = _level(code, year)
            target = int(round(_ARREST_RATE[level] * geo.pop[i, yi] * rng.uniform(0.92, 1.08)))
            in_year = (clear["ci"] == i) & (clear["date"].astype("datetime64[Y]").astype(int)
                                            + 1970 == year)
            rest = target - int(clear["offenders"][in_year].sum())
            if rest <= 0:
                continue
            off = 1 + rng.poisson(0.27, rest)
            k = int(np.searchsorted(np.cumsum(off), rest) + 1)
            off = off[:k]
            off[-1] = rest - off[:-1].sum()
            dates = _case_dates_in_year(rng, year, k, start, end)
            k = len(dates)
            if k == 0:
                continue
            off = off[:k]
            if len(mine):
                seen = pts["fs"][mine]
                choice = np.array([rng.choice(mine[seen <= d]) if (seen <= d).any()
                                   else rng.choice(mine) for d in dates])
                cx, cy, sig = pts["x"][choice], pts["y"][choice], 200.0
            else:
                cx, cy = np.repeat(geo.rep_x[i], k), np.repeat(geo.rep_y[i], k)
                sig = geo.spread_m[i]
            x, y, ci = geo.scatter(rng, cx, cy, sig, lambda rows, c: c == i)
            events.append({"date": dates, "x": x, "y": y, "ci": ci,
                           "kind": _pick(rng, _KINDS, k, p=_KIND_P["retail"]), "offenders": off,
                           "retail_row": np.full(k, -1), "mech": np.full(k, "retail", object)})

    # background: Poisson months with mild seasonality and the June action month
    months = np.arange(start.astype("datetime64[M]"), end.astype("datetime64[M]") + 1)
    month_no = months.astype(int) % 12
    year_no = months.astype("datetime64[Y]").astype(int) + 1970
    lam = CASES_PER_MONTH * _SEASON[month_no] * (1 + 0.02 * (year_no - 2024))
    m_first = np.maximum(months.astype("datetime64[D]"), start)
    m_last = np.minimum((months + 1).astype("datetime64[D]") - _D, end)
    lam = lam * (((m_last - m_first) // _D + 1) / ((months + 1).astype("datetime64[D]")
                                                 - months.astype("datetime64[D]")).astype(int))
    total = rng.poisson(lam)
    fixed_dates = np.concatenate([e["date"] for e in events])
    fixed = np.bincount(np.searchsorted(months, fixed_dates.astype("datetime64[M]")),
                        minlength=len(months))
    process = NEAR_REPEAT["cases"]
    # the immigrants of the Hawkes process; their near repeats make up the rest of the month
    per_month = rng.binomial(np.maximum(total - fixed, 0), 1.0 - process.eta)
    m_idx = np.repeat(np.arange(len(months)), per_month)
    n = len(m_idx)
    dates = _uniform_days(rng, m_first[m_idx], m_last[m_idx])
    hot = HOT_PLACE_SHARE["cases"]
    mech = _pick(rng, ("route", "retail", "hot_place", "population"), n,
                 p=np.array((0.35, 0.20, 0.0, 0.45)) * (1 - hot) + np.array((0, 0, hot, 0)))
    x, y, ci = np.zeros(n), np.zeros(n), np.full(n, -1)

    sel = np.flatnonzero(mech == "hot_place")
    hx, hy, hc, placed = _at_hot_places(geo, rng, geo.hot, dates[sel],
                                        lambda rows, c: ~story[c])
    mech[sel[~placed]] = "population"
    x[sel[placed]], y[sel[placed]], ci[sel[placed]] = hx[placed], hy[placed], hc[placed]

    sel = np.flatnonzero(mech == "route")
    rx, ry, rc = _route_points(geo, rng, len(sel), lambda c: ~story[c])
    mech[sel[len(rx):]] = "population"
    sel = sel[:len(rx)]
    x[sel], y[sel], ci[sel] = rx, ry, rc

    bg_pts = np.flatnonzero(~story[pts["ci"]])
    sel = np.flatnonzero(mech == "retail")
    anchor = np.full(n, -1)
    for mi in np.unique(m_idx[sel]):
        here = sel[m_idx[sel] == mi]
        act = bg_pts[_active_in(pts["fs"][bg_pts], pts["cl"][bg_pts], pts["re"][bg_pts], end,
                                m_first[mi], m_last[mi])]
        if len(act):
            anchor[here] = rng.choice(act, size=len(here))
    mech[sel[anchor[sel] < 0]] = "population"
    sel = sel[anchor[sel] >= 0]
    x[sel], y[sel], ci[sel] = geo.scatter(rng, pts["x"][anchor[sel]], pts["y"][anchor[sel]], 250.0,
                                          lambda rows, c: ~story[c])

    sel = np.flatnonzero(mech == "population")
    w = geo.pop_now * np.where(geo.is_ward, 2.5, 1.0) * np.where(story, 0.0, 1.0)
    home = rng.choice(len(w), size=len(sel), p=w / w.sum())
    x[sel], y[sel], ci[sel] = geo.scatter(rng, geo.rep_x[home], geo.rep_y[home],
                                          geo.spread_m[home], lambda rows, c: ~story[c])
    kind = np.empty(n, dtype=object)
    for m in ("route", "retail", "hot_place", "population"):
        s = mech == m
        kind[s] = _pick(rng, _KINDS, int(s.sum()), p=_KIND_P[m])
    # near repeats of every generation, of the same kind as the case they descend from
    cd, cx, cy, cc, root = _near_repeats(geo, rng, dates, x, y, process, end,
                                         lambda rows, c: ~story[c])
    dates, x, y, ci = (np.concatenate(v) for v in ((dates, cd), (x, cx), (y, cy), (ci, cc)))
    kind = np.concatenate([kind, kind[root]])
    mech = np.concatenate([mech, np.full(len(cd), "near_repeat", dtype=object)])
    n = len(dates)
    extra = np.array([_EXTRA_OFFENDERS[k] for k in kind], dtype=float)
    events.append({"date": dates, "x": x, "y": y, "ci": ci, "kind": kind,
                   "offenders": 1 + rng.poisson(extra), "retail_row": np.full(n, -1),
                   "mech": mech})

    ev = {k: np.concatenate([e[k] for e in events]) for k in events[0]}
    order = np.lexsort((ev["x"], ev["date"]))
    ev = {k: v[order] for k, v in ev.items()}
    n = len(order)
    ev["id"] = np.array([f"CA-{k:06d}" for k in range(1, n + 1)], dtype=object)

    # seizures: heroin and opium more in the mountains, pills and crystal meth in the lowlands
    kind = ev["kind"]
    big = np.isin(kind, ("trafficking", "transport"))
    high = geo.mountain[ev["ci"]]

    def draw(p_big, p_small, med_big, med_small, sigma_big, sigma_small):
        has = rng.random(n) < np.where(big, p_big, p_small)
        val = np.where(big, rng.lognormal(np.log(med_big), sigma_big, n),
                       rng.lognormal(np.log(med_small), sigma_small, n))
        return np.where(has, val, 0.0)

    heroin = draw(np.where(high, 0.6, 0.35), np.where(high, 0.55, 0.3), 40, 0.25, 1.3, 0.9)
    cakes = big & (heroin > 0) & (rng.random(n) < 0.15)   # whole 350 g blocks (bánh)
    heroin = np.where(cakes, 350.0 * rng.integers(1, 21, n), heroin)
    pills = np.round(draw(np.where(high, 0.45, 0.5), np.where(high, 0.35, 0.4), 600, 6, 1.4, 0.9))
    crystal = draw(np.where(high, 0.15, 0.35), np.where(high, 0.1, 0.3), 80, 0.6, 1.3, 0.9)
    opium = draw(np.where(high, 0.12, 0.0), np.where(high, 0.08, 0.0), 300, 5, 1.0, 1.0)
    nothing = (heroin == 0) & (pills == 0) & (crystal == 0) & (opium == 0)
    small = rng.lognormal(np.log(0.3), 0.8, n)
    heroin = np.where(nothing & high, small, heroin)
    pills = np.where(nothing & ~high, np.maximum(np.round(small * 10), 1), pills)
    ev["heroin_g"] = np.round(np.minimum(heroin, 20_000), 2)
    ev["meth_pills"] = np.minimum(pills, 60_000).astype(np.int64)
    ev["crystal_meth_g"] = np.round(np.minimum(crystal, 10_000), 2)
    ev["opium_g"] = np.round(np.minimum(opium, 10_000), 2)

    # arresting unit: commune/district police, the province's drug police, border guards
    before = ev["date"] < _day(boundaries.REFORM_DATE)
    u = rng.random(n)
    post_names = posts["name"].to_numpy(dtype=object)
    nearest_post = _posts_nearest(posts, ev["x"], ev["y"])
    units = np.empty(n, dtype=object)
    for j in range(n):
        c = ev["ci"][j]
        if geo.is_border[c] and big[j] and u[j] < 0.45:
            units[j] = post_names[nearest_post[j]]
        elif kind[j] == "trafficking" and u[j] > 0.8:
            units[j] = "Phòng Cảnh sát điều tra tội phạm về ma túy, Công an tỉnh Nghệ An"
        elif before[j] and u[j] < 0.55:
            units[j] = "Công an " + _lower_first(geo.district[c])
        else:
            units[j] = "Công an " + _lower_first(geo.name[c])
    ev["unit"] = units
    return ev


#: Big seizures that can make a case part of a chuyên án (major case, a planned operation).
_MAJOR_SEIZURE = {"heroin_g": 100.0, "meth_pills": 1_000, "crystal_meth_g": 100.0, "opium_g": 500.0}
_MAJOR_WINDOW_DAYS = 45   # cases of one unit this close in time can belong to one operation
_MAJOR_MAX_CASES = 4
_MAJOR_SHARE = 0.7        # share of eligible groups that were worked as a chuyên án


def _major_cases(ev: dict, rng: np.random.Generator) -> np.ndarray:
    """The chuyên án (major case) reference of each case, or None.

    Trafficking and transport cases with a big seizure (:data:`_MAJOR_SEIZURE`) are grouped
    per arresting unit into runs of at most :data:`_MAJOR_MAX_CASES` cases no more than
    :data:`_MAJOR_WINDOW_DAYS` days apart; :data:`_MAJOR_SHARE` of the runs were worked as a
    chuyên án and get a reference ``CA 017/2025`` (numbered by year in date order). Report
    564/BC-UBND gives 23 chuyên án in the June 2023 action month against 245 cases; this
    gives the same order (a few per cent of cases). Drawn from its own random stream, so the
    other layers do not move when this changes.
    """
    n = len(ev["id"])
    refs = np.full(n, None, dtype=object)
    kind = np.asarray(ev["kind"], dtype=object)
    big = np.zeros(n, bool)
    for col, threshold in _MAJOR_SEIZURE.items():
        big |= np.asarray(ev[col], dtype=float) >= threshold
    eligible = np.flatnonzero(big & np.isin(kind, ("trafficking", "transport")))
    if not len(eligible):
        return refs
    days = np.asarray(ev["date"], dtype="datetime64[D]")
    units = np.asarray(ev["unit"], dtype=object)
    order = eligible[np.lexsort((days[eligible], units[eligible]))]
    groups, current = [], [order[0]]
    for j in order[1:]:
        last = current[-1]
        if (units[j] == units[last] and len(current) < _MAJOR_MAX_CASES
                and (days[j] - days[last]) <= _MAJOR_WINDOW_DAYS * _D):
            current.append(j)
        else:
            groups.append(current)
            current = [j]
    groups.append(current)
    kept = [g for g in groups if rng.random() < _MAJOR_SHARE]
    kept.sort(key=lambda g: days[g[-1]])   # numbered by the day the operation closed
    per_year: dict[str, int] = {}
    for g in kept:
        year = str(days[g[-1]])[:4]
        per_year[year] = per_year.get(year, 0) + 1
        refs[g] = f"CA {per_year[year]:03d}/{year}"
    return refs


def _posts_nearest(posts, x, y) -> np.ndarray:
    """Row of the nearest border post for each metric point."""
    px, py = posts["_x"].to_numpy(), posts["_y"].to_numpy()
    d = (np.asarray(x)[:, None] - px[None, :]) ** 2 + (np.asarray(y)[:, None] - py[None, :]) ** 2
    return np.argmin(d, axis=1) if len(px) else np.zeros(len(x), int)


def _border_posts(geo, rng):
    gate_xy = dict(zip(geo.gates["name"], zip(*geo.to_metric(geo.gates.geometry.x,
                                                                geo.gates.geometry.y))))
    rows = []
    for name, code, gate in BORDER_POSTS:
        if code not in geo.index:
            continue
        i = geo.index[code]
        part = geo.border_stretch(i)
        if gate in gate_xy:
            at = part.project(shapely.Point(gate_xy[gate]))
            inward = rng.uniform(1200.0, 2000.0)
        else:
            at = part.length * rng.uniform(0.35, 0.65)
            inward = rng.uniform(2500.0, 4500.0)
        x, y = _inland(geo, i, part.interpolate(at), inward, 0.6 * inward)
        rows.append((name, i, x, y))
    posts = pd.DataFrame(rows, columns=["name", "ci", "_x", "_y"])
    # area of responsibility: each border commune goes to the nearest post
    border_i = np.flatnonzero(geo.is_border)
    pts = shapely.points(posts["_x"], posts["_y"])
    dist = shapely.distance(pts[:, None], geo.metric[border_i][None, :])
    owner = np.argmin(dist, axis=0)
    posts["aor"] = [";".join(sorted({geo.code[posts.at[k, "ci"]]} |
                                    {geo.code[c] for c in border_i[owner == k]}))
                    for k in range(len(posts))]
    return posts


def _inland(geo, i, p: shapely.Point, want_m: float, min_m: float):
    """A point about ``want_m`` inland from border point ``p``, heading for the commune centre.

    Keeps at least ``min_m`` from the border line and stays in commune ``i``; falls back to
    the commune's representative point.
    """
    vx, vy = geo.rep_x[i] - p.x, geo.rep_y[i] - p.y
    length = float(np.hypot(vx, vy))
    if length > 0:
        for d in want_m * np.array([1.0, 0.8, 1.25, 0.6, 1.5, 2.0]):
            d = min(d, 0.9 * length)
            x, y = p.x + vx / length * d, p.y + vy / length * d
            if (geo.locate([x], [y])[0] == i
                    and shapely.distance(shapely.Point(x, y), geo.border_all) >= min_m):
                return x, y
    return geo.rep_x[i], geo.rep_y[i]


def _crossings(geo, rng, seed, posts):
    rows = []  # name, kind, lao_counterpart, lao_province, planned kind/year, quality, x, y, ci
    for _, g in geo.gates.iterrows():
        lao, planned, year = GATES.get(g["name"], (None, None, None))
        if lao is None and isinstance(g["lao_counterpart"], str):
            lao = g["lao_counterpart"]
        i = geo.index.get(g["commune_code"])
        gx, gy = geo.to_metric([g.geometry.x], [g.geometry.y])
        found = None
        if i is not None:
            part = geo.border_stretch(i)
            found = geo.border_point(part, part.project(shapely.Point(gx[0], gy[0])), 150.0, want=i)
        x, y, ci = found if found else (geo.rep_x[i], geo.rep_y[i], i)
        province = boundaries.LAO_PROVINCE_NAMES.get(g["lao_province_iso"], geo.lao_province[ci])
        rows.append((g["name"], g["kind"], lao, province, planned, year, "approximate", x, y, ci))
    for name, code, frac, lao, planned, year in OPENINGS:
        if code not in geo.index:
            continue
        i = geo.index[code]
        part = geo.border_stretch(i)
        found = geo.border_point(part, part.length * frac, 150.0, want=i)
        x, y, ci = found if found else (geo.rep_x[i], geo.rep_y[i], i)
        rows.append((name, "opening", lao, geo.lao_province[ci], planned, year, "commune",
                     x, y, ci))
    k = 0
    for seg, geom in zip(geo.border["lao_province"], geo.border_metric):
        line = max(getattr(geom, "geoms", [geom]), key=lambda g: g.length)
        n = N_TRAILS.get(seg, 0)
        bins = np.linspace(0, line.length, n + 1)
        for b0, b1 in zip(bins[:-1], bins[1:]):
            for _ in range(20):
                margin = 0.1 * (b1 - b0)
                found = geo.border_point(line, rng.uniform(b0 + margin, b1 - margin),
                                         rng.uniform(80.0, 450.0))
                if found:
                    break
            if not found:
                continue
            x, y, ci = found
            k += 1
            hamlet = geo.village_names(ci, seed)[k % 8]
            rows.append((f"Đường mòn {k:02d} – {hamlet}, {_lower_first(geo.name[ci])}", "trail",
                         None, seg, None, None, "approximate", x, y, ci))
    out = pd.DataFrame(rows, columns=["name", "kind", "lao_counterpart", "lao_province",
                                      "planned_kind", "planned_year", "position_quality",
                                      "_x", "_y", "ci"])
    post_of_gate = {gate: name for name, _, gate in BORDER_POSTS if gate}
    nearest = posts["name"].to_numpy(dtype=object)[_posts_nearest(posts, out["_x"], out["_y"])]
    out["border_post"] = [post_of_gate.get(nm, near) for nm, near in zip(out["name"], nearest)]
    return out


def _opium_plots(geo, rng, seed, posts, years, start, end):
    sweeps = []  # (commune index, year, areas array, one_day)

    def areas_to(quota):
        out, total = [], 0.0
        while total < quota - 1e-9:
            a = float(np.clip(rng.lognormal(np.log(150), 0.7), 40, 600))
            if quota - total - a < 40:
                a = quota - total
                if a < 40:
                    if out and out[-1] + a <= 600:
                        out[-1] += a
                    break
            out.append(a)
            total += a
        return np.array(out)

    for yi, year in enumerate(years):
        for code in STORY:
            q = _opium_quota(code, year)
            if q > 0 and code in geo.index:
                a = areas_to(q)
                chunks = [a] if (code == "16756" and year == 2022) else \
                    np.array_split(a, max(1, int(np.ceil(len(a) / 5))))
                for ch in chunks:
                    sweeps.append((geo.index[code], year, ch))
        codes = [c for c in OPIUM_COMMUNES if c in geo.index]
        w = np.array([OPIUM_COMMUNES[c] for c in codes])
        n_bg = OPIUM_BACKGROUND_PLOTS[int(np.clip(year - STORY_YEARS[0], 0,
                                                  len(OPIUM_BACKGROUND_PLOTS) - 1))]
        found = dict.fromkeys(codes, 0.0)
        while n_bg > 0 and w.sum() > 0:
            k = int(min(n_bg, rng.integers(2, 7)))
            a = np.clip(rng.lognormal(np.log(150), 0.75, k), 40, 600)
            larger = rng.random(k) < 0.06
            a[larger] = rng.uniform(600, 2000, larger.sum())
            j = rng.choice(len(codes), p=w / w.sum())
            if found[codes[j]] + a.sum() > OPIUM_BACKGROUND_CAP_M2:
                w[j] = 0.0  # this commune had its season; stay under 3122's 2,000 m²
                continue
            found[codes[j]] += a.sum()
            sweeps.append((geo.index[codes[j]], year, a))
            n_bg -= k

    rows = []
    for s, (i, year, areas) in enumerate(sweeps):
        lo = max(np.datetime64(f"{year}-01-05", "D"), start)
        hi = min(np.datetime64(f"{year}-03-25", "D"), end)
        if lo > hi:
            continue
        day = _uniform_days(rng, lo, hi)
        if geo.code[i] == "16756" and year == 2022:  # the one-day Tri Lễ sweep
            day = np.clip(_day("2022-02-17"), lo, hi)
        for _ in range(200):  # a village centre somewhere in the commune
            b = shapely.bounds(geo.inner[i])
            vx, vy = rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3])
            if geo.locate([vx], [vy])[0] == i:
                break
        else:
            vx, vy = geo.rep_x[i], geo.rep_y[i]
        k = len(areas)
        x, y, ci = geo.scatter(rng, np.full(k, vx), np.full(k, vy), 500.0,
                               lambda rows_, c: c == i)
        village = geo.village_names(i, seed)[int(rng.integers(0, 8))]
        village = "Bản" + village[3:] if village.startswith("bản") else village
        police = f"Công an {_lower_first(geo.name[i])}"
        team = f"Tổ công tác liên ngành {_lower_first(geo.name[i])}"
        post = posts["name"].iloc[_posts_nearest(posts, [vx], [vy])[0]]
        by = (post, police, team) if geo.is_border[i] else (police, team, police)
        detected_by = by[int(rng.choice(3, p=(0.4, 0.35, 0.25)))]
        for j in range(k):
            rows.append((i, year, day, areas[j], x[j], y[j], village, detected_by))
    df = pd.DataFrame(rows, columns=["ci", "year", "day", "area", "_x", "_y", "village",
                                     "detected_by"])
    n = len(df)
    day = df["day"].to_numpy(dtype="datetime64[D]")
    u = rng.random(n)
    delay = np.where(u < 0.88, rng.integers(0, 4, n), rng.integers(4, 16, n))
    erad = day + delay * _D
    erad_none = (u > 0.97) | (erad > end)
    # polygons: rotated rectangles of the drawn area, in UTM, rounded like the stored file
    poly = rng.random(n) < 0.45
    aspect = rng.uniform(1.0, 2.5, n)
    theta = rng.uniform(0, np.pi, n)
    drawn = np.maximum(df["area"].to_numpy(), 41.0)  # rounding to 6 decimals moves ±1 m²
    wdt = np.sqrt(drawn * aspect)
    hgt = drawn / wdt
    geoms, area = [], df["area"].to_numpy().copy()
    lon_c, lat_c = geo.to_lonlat(df["_x"], df["_y"])
    corners = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)])  # counter-clockwise
    for j in range(n):
        if poly[j]:
            cx = corners[:, 0] * wdt[j]
            cy = corners[:, 1] * hgt[j]
            rx = df["_x"].iat[j] + cx * np.cos(theta[j]) - cy * np.sin(theta[j])
            ry = df["_y"].iat[j] + cx * np.sin(theta[j]) + cy * np.cos(theta[j])
            lon, lat = geo.to_lonlat(rx, ry)
            ring = np.column_stack([np.append(lon, lon[0]), np.append(lat, lat[0])])
            geoms.append(shapely.Polygon(ring))
        else:
            geoms.append(shapely.Point(lon_c[j], lat_c[j]))
    geoms = np.array(geoms, dtype=object)
    if poly.any():
        metric = gpd.GeoSeries(geoms[poly], crs=STORAGE_CRS).to_crs(METRIC_CRS)
        area[poly] = metric.area.to_numpy()
    area = np.round(area, 1)
    plants = np.round(area * rng.uniform(15, 25, n)).astype(np.int64)
    df = df.assign(area=area, plants=plants, erad=np.where(erad_none, np.datetime64("NaT"), erad),
                   method=np.where(erad_none, None, _pick(rng, _METHODS, n, p=(0.7, 0.2, 0.1))),
                   intercropped=rng.random(n) < 0.25, geometry=geoms)
    df = df.sort_values(["day", "_x"], kind="stable").reset_index(drop=True)
    df["id"] = [f"OP-{k:06d}" for k in range(1, n + 1)]
    return df


# ─────────────────────────────── assembly ───────────────────────────────

def _common(layer: str, ids, source: str, created, updated) -> dict:
    return {"id": ids, "source": source, "confidentiality": LAYERS[layer].confidentiality_default,
            "created_at": created, "updated_at": updated}


def _frame(layer_name: str, data: dict, lon=None, lat=None, geometry=None):
    layer = LAYERS[layer_name]
    df = pd.DataFrame({f: data[f] for f in layer.field_names})
    if layer.has_geometry:
        geom = geometry if geometry is not None else shapely.points(lon, lat)
        df = gpd.GeoDataFrame(df, geometry=np.asarray(geom, dtype=object), crs=STORAGE_CRS)
    return conform(df, layer)


def generate(seed: int = DEFAULT_SEED, start: str = DEFAULT_START, end: str = DEFAULT_END,
             *, boundaries_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """Generate the SYNTHETIC sample data set.

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same seed gives equal frames.
    start, end : str
        ISO dates of the first and last day covered (cases, retail points, plots, assessments).
    boundaries_dir : path, optional
        Where the real boundary files are (default ``data/boundaries/``); only read.

    Returns
    -------
    dict of str to GeoDataFrame or DataFrame
        One frame per layer in :data:`LAYER_NAMES`, columns exactly those of
        ``geo_pcmt.layers.LAYERS[name]`` (plus ``geometry`` for spatial layers), EPSG:4326.
    """
    start_d, end_d = _day(start), _day(end)
    if end_d < start_d:
        raise ValueError(f"end {end} is before start {start}")
    years = list(range(int(str(start_d)[:4]), int(str(end_d)[:4]) + 1))
    rngs = {k: np.random.default_rng([seed, i]) for i, k in enumerate(
        ("pop", "posts", "crossings", "retail", "cases", "plots", "facilities", "assess",
         "recog", "stamps", "treatment", "hot_places", "major_cases"))}
    geo = _Geo(boundaries.communes(boundaries_dir), boundaries.border_line(boundaries_dir),
               boundaries.border_gates(boundaries_dir))
    geo.pop = _populations(geo, rngs["pop"], years)
    geo.pop_now = geo.pop[:, 0]
    geo.hot = _hot_places(geo, rngs["hot_places"], start_d, end_d)
    source = f"SYNTHETIC (geo_pcmt.sample, seed {seed})"
    stamp = rngs["stamps"]
    t0 = np.datetime64(start_d)

    def static(n):  # reference records: entered when the period starts
        return (_stamp(np.full(n, t0), stamp, end_d),
                _stamp(np.full(n, t0), stamp, end_d, (41, 60)))

    def located(ci):
        ci = np.asarray(ci, dtype=int)
        return {"commune_code": geo.code[ci], "is_border": geo.is_border[ci]}

    frames: dict[str, pd.DataFrame] = {}

    # border posts and crossings
    posts = _border_posts(geo, rngs["posts"])
    lon, lat = geo.to_lonlat(posts["_x"], posts["_y"])
    n = len(posts)
    frames["border_posts"] = _frame("border_posts", {
        **_common("border_posts", [f"BP-{k:03d}" for k in range(1, n + 1)], source,
                  *static(n)),
        "name": posts["name"], "unit": "BĐBP Nghệ An", "area_of_responsibility": posts["aor"],
        **located(posts["ci"])}, lon, lat)
    cross = _crossings(geo, rngs["crossings"], seed, posts)
    lon, lat = geo.to_lonlat(cross["_x"], cross["_y"])
    n = len(cross)
    frames["border_crossings"] = _frame("border_crossings", {
        **_common("border_crossings", [f"BC-{k:03d}" for k in range(1, n + 1)],
                  source + "; gates and openings named after DOMAIN.md §3, positions approximate",
                  *static(n)),
        **{c: cross[c] for c in ("kind", "name", "lao_counterpart", "lao_province", "border_post",
                                 "planned_kind", "planned_year", "position_quality")},
        **located(cross["ci"])}, lon, lat)

    # retail points, then cases (clearing a point makes a case; its id is the point's case_ref)
    pts = _retail_points(geo, rngs["retail"], seed, start_d, end_d)
    ev = _cases(geo, rngs["cases"], pts, posts, start_d, end_d, years)
    case_ref = np.full(len(pts["id"]), None, dtype=object)
    from_clearing = ev["retail_row"] >= 0
    case_ref[ev["retail_row"][from_clearing]] = ev["id"][from_clearing]
    n = len(pts["id"])
    touched = np.maximum(pts["last"], np.where(np.isnat(pts["cl"]), pts["last"], pts["cl"]))
    frames["retail_points"] = _frame("retail_points", {
        **_common("retail_points", pts["id"], source, _stamp(pts["fs"], stamp, end_d),
                  _stamp(touched, stamp, end_d, (41, 60))),
        "type": pts["type"], "name": pts["name"], "address": pts["address"],
        "geocode_quality": pts["quality"], "first_seen": _iso(pts["fs"]),
        "last_activity": _iso(pts["last"]), "status": pts["status"], "cleared_on": _iso(pts["cl"]),
        "case_ref": case_ref, **located(pts["ci"])}, pts["lon"], pts["lat"])
    lon, lat = geo.to_lonlat(ev["x"], ev["y"])
    created = _stamp(ev["date"], stamp, end_d)
    frames["cases"] = _frame("cases", {
        **_common("cases", ev["id"], source, created,
                  _stamp(ev["date"] + stamp.integers(0, 21, len(ev["id"])) * _D, stamp, end_d,
                         (41, 60))),
        "date": _iso(ev["date"]), "kind": ev["kind"], "offenders": ev["offenders"],
        "heroin_g": ev["heroin_g"], "meth_pills": ev["meth_pills"],
        "crystal_meth_g": ev["crystal_meth_g"], "opium_g": ev["opium_g"], "unit": ev["unit"],
        "major_case": _major_cases(ev, rngs["major_cases"]), **located(ev["ci"])}, lon, lat)

    # opium plots
    plots = _opium_plots(geo, rngs["plots"], seed, posts, years, start_d, end_d)
    day = plots["day"].to_numpy(dtype="datetime64[D]")
    erad = plots["erad"].to_numpy(dtype="datetime64[D]")
    frames["opium_plots"] = _frame("opium_plots", {
        **_common("opium_plots", plots["id"], source, _stamp(day, stamp, end_d),
                  _stamp(np.where(np.isnat(erad), day, erad), stamp, end_d, (41, 60))),
        "area_m2": plots["area"], "plant_count": plots["plants"], "detected_on": _iso(day),
        "detected_by": plots["detected_by"], "eradicated_on": _iso(erad),
        "method": plots["method"], "village": plots["village"],
        "intercropped": plots["intercropped"], **located(plots["ci"])},
        geometry=plots["geometry"].to_numpy())

    frames["facilities"] = _facilities(geo, rngs["facilities"], source, stamp, end_d, t0)
    frames["commune_assessments"] = _assessments(geo, rngs["assess"], source, stamp, years,
                                                 end_d, pts, ev, plots)
    frames["recognitions"] = _recognitions(geo, rngs["recog"], source, stamp, start_d, end_d)
    frames["targets"] = _targets(source, stamp, end_d)
    frames["treatment"] = _treatment(frames["commune_assessments"], rngs["treatment"], source,
                                     stamp, end_d)
    return {name: frames[name] for name in LAYER_NAMES}


# Share of addicts with records in each kind of treatment, 2022 → 2026 (rising toward Plan
# 180's 76 % reach); Report 564 (Jun 2023): 1,701 compulsory + 98 voluntary at facilities,
# 12 methadone facilities. Shapes only: the counts are SYNTHETIC.
_TREATMENT_SHARES = {  # compulsory, voluntary at facility, home/community, methadone
    2022: (0.36, 0.03, 0.14, 0.09), 2023: (0.40, 0.03, 0.16, 0.10),
    2024: (0.41, 0.04, 0.18, 0.11), 2025: (0.42, 0.05, 0.20, 0.11),
    2026: (0.42, 0.05, 0.21, 0.12)}


def _treatment(assess: pd.DataFrame, rng, source, stamp, end):
    """Treatment counts per commune and year, drawn from its assessment's addicts (counts only)."""
    rows = []
    for r in assess.itertuples():
        year = int(r.period)
        shares = np.array(_TREATMENT_SHARES.get(year, _TREATMENT_SHARES[2026]))
        shares = np.clip(shares * rng.uniform(0.7, 1.3, 4), 0, None)
        shares = shares / max(1.0, shares.sum() / 0.95)
        n = int(r.addicts_with_records)
        comp, vol, comm, meth, _ = rng.multinomial(n, [*shares, 1 - shares.sum()])
        post = int(rng.binomial(n, 0.12))
        trained = int(rng.binomial(comm, 0.3))
        rows.append((r.commune_code, year, n, int(r.users), comp, vol, comm, post, meth, trained))
    df = pd.DataFrame(rows, columns=["commune_code", "year", "addicts_with_records", "users",
                                     "compulsory_treatment", "voluntary_treatment",
                                     "community_treatment", "post_treatment", "on_methadone",
                                     "vocational_trained"])
    made = np.array([min(_day(f"{y + 1}-01-20"), end) for y in df["year"]], dtype="datetime64[D]")
    return _frame("treatment", {
        **_common("treatment", [f"TR-{c}-{y}" for c, y in zip(df["commune_code"], df["year"])],
                  source, _stamp(made, stamp, end), _stamp(made, stamp, end, (41, 60))),
        **{c: df[c] for c in df.columns}})


def _facilities(geo, rng, source, stamp, end, t0):
    rows = []
    for kind, codes in FACILITIES.items():
        for k, code in enumerate(codes):
            if code not in geo.index:
                continue
            i = geo.index[code]
            short = _short(geo.name[i])
            if kind == "methadone_treatment":
                name, cap = f"Cơ sở điều trị Methadone {short}", int(rng.integers(15, 46)) * 10
                opened = _uniform_days(rng, _day("2009-06-01"), _day("2016-12-31"))
            elif kind == "methadone_dispensing":
                name, cap = f"Điểm cấp phát thuốc Methadone {short}", int(rng.integers(3, 13)) * 10
                opened = _uniform_days(rng, _day("2016-01-01"), _day("2024-06-30"))
            else:
                name = f"Cơ sở cai nghiện ma túy số {k + 1} tỉnh Nghệ An"
                cap = int(rng.integers(30, 81)) * 10
                opened = _uniform_days(rng, _day("1998-01-01"), _day("2012-12-31"))
            rows.append((kind, name, cap, opened, i))
    df = pd.DataFrame(rows, columns=["kind", "name", "capacity", "opened", "ci"])
    ci = df["ci"].to_numpy()
    cx, cy = geo.rep_x[ci].copy(), geo.rep_y[ci].copy()
    for h in HOTSPOTS:  # the town centre of a planted hotspot, if the commune has one
        if h.commune_code in geo.index:
            hx, hy = geo.to_metric([h.lon], [h.lat])
            at = ci == geo.index[h.commune_code]
            if geo.locate(hx, hy)[0] == geo.index[h.commune_code]:
                cx[at], cy[at] = hx[0], hy[0]
    x, y, ci = geo.scatter(rng, cx, cy, 400.0,
                           lambda rows_, c: c == df["ci"].to_numpy()[rows_])
    lon, lat = geo.to_lonlat(x, y)
    n = len(df)
    opened = df["opened"].to_numpy(dtype="datetime64[D]")
    return _frame("facilities", {
        **_common("facilities", [f"FA-{k:03d}" for k in range(1, n + 1)], source,
                  _stamp(np.full(n, t0), stamp, end), _stamp(np.full(n, t0), stamp, end, (41, 60))),
        "kind": df["kind"], "name": df["name"], "capacity": df["capacity"],
        "opened_on": _iso(opened), "commune_code": geo.code[ci], "is_border": geo.is_border[ci]},
        lon, lat)


def _assessments(geo, rng, source, stamp, years, end, pts, ev, plots):
    n_c = len(geo.code)
    ev_year = ev["date"].astype("datetime64[Y]").astype(int) + 1970
    plot_year = plots["year"].to_numpy()
    harbour = pts["type"] != _BL
    rows = []
    for yi, year in enumerate(years):
        lo, hi = _day(f"{year}-01-01"), _day(f"{year}-12-31")
        act = harbour & _active_in(pts["fs"], pts["cl"], pts["re"], end, lo, hi)
        harb = np.bincount(pts["ci"][act], minlength=n_c)
        offenders = np.bincount(ev["ci"][ev_year == year], weights=ev["offenders"][ev_year == year],
                                minlength=n_c)
        sel = plot_year == year
        plants = np.bincount(plots["ci"][sel], weights=plots["plants"][sel], minlength=n_c)
        area = np.bincount(plots["ci"][sel], weights=plots["area"][sel], minlength=n_c)
        pop = geo.pop[:, yi]
        trend = 1 - 0.06 * (year - 2022)
        for i, code in enumerate(geo.code):
            level = _level(code, year)
            if level is None:   # background commune: a few users, fewer each year
                rate = rng.uniform(0.0004, 0.0020) * trend * (1.3 if geo.mountain[i] else 1.0)
                total = min(rate * pop[i], 0.0045 * pop[i])
                if year < 2025:
                    total = min(total, 110)
            else:
                total = _USE_RATE[level] * pop[i] * rng.uniform(0.95, 1.2)
                if level == "I" and year < 2025:
                    total = max(total, 130)   # 3122/2010: ≥100 addicts with records
            users = int(round(total * rng.uniform(0.12, 0.22)))
            addicts = int(round(total)) - users
            if year < 2025 and level != "I":
                addicts = min(addicts, 95)
            rows.append((code, year, int(pop[i]), addicts, users, int(harb[i]), int(offenders[i]),
                         int(plants[i]), round(float(area[i]), 1), bool(geo.on_route[i] or
                                                                        code in _route_hosts(geo)),
                         "28/2025" if year >= 2025 else "3122/2010"))
    df = pd.DataFrame(rows, columns=["commune_code", "year", "population", "addicts_with_records",
                                     "users", "harbouring_locations", "offenders_arrested",
                                     "plants", "plant_area_m2", "on_drug_route", "rule_set"])
    made = np.array([min(_day(f"{y + 1}-01-15"), end) for y in df["year"]], dtype="datetime64[D]")
    n = len(df)
    return _frame("commune_assessments", {
        **_common("commune_assessments",
                  [f"AS-{c}-{y}" for c, y in zip(df["commune_code"], df["year"])],
                  source, _stamp(made, stamp, end), _stamp(made, stamp, end, (41, 60))),
        "period": df["year"].astype(str), **{c: df[c] for c in df.columns if c not in ("year",)}})


def _route_hosts(geo) -> set[str]:
    """Communes hosting a gate or an opening: on a cross-border drug route."""
    if not hasattr(geo, "_hosts"):
        geo._hosts = set(geo.gates["commune_code"]) | {o[1] for o in OPENINGS}
    return geo._hosts


def _authority_district(district: str) -> str:
    return "UBND " + _lower_first(district)


def _recognitions(geo, rng, source, stamp, start, end):
    rows = []  # code, label, date, authority, revoked
    for code, (date, revoked) in SACH_STORY.items():
        if code in geo.index:
            rows.append((code, "sach_ve_ma_tuy", _day(date),
                         _authority_district(geo.district[geo.index[code]]),
                         _day(revoked) if revoked else None))
    story = set(STORY) | _NEVER_SACH
    border = [c for c, b in zip(geo.code, geo.is_border) if b and c not in story]
    for code in border:
        rows.append((code, "sach_ve_ma_tuy",
                     _uniform_days(rng, _day("2022-06-01"), _day("2023-12-20")),
                     _authority_district(geo.district[geo.index[code]]), None))
    inland = [c for c, b in zip(geo.code, geo.is_border) if not b and c not in story]
    for code in sorted(rng.choice(inland, size=min(32, len(inland)), replace=False)):
        rows.append((code, "sach_ve_ma_tuy",
                     _uniform_days(rng, _day("2023-03-01"), _day("2025-06-20")),
                     _authority_district(geo.district[geo.index[code]]), None))
    for code, date in KHONG_MA_TUY:
        if code in geo.index:
            rows.append((code, "khong_ma_tuy", _day(date), "UBND tỉnh Nghệ An", None))
    df = pd.DataFrame(rows, columns=["commune_code", "label", "date", "authority", "revoked"])
    df = df[(df["date"] >= start) & (df["date"] <= end)]
    df = df.sort_values(["date", "commune_code"], kind="stable").reset_index(drop=True)
    n = len(df)
    date = df["date"].to_numpy(dtype="datetime64[D]")
    nat = np.datetime64("NaT")
    revoked = np.array([np.datetime64(v, "D") if v is not None and v <= end else nat
                        for v in df["revoked"]], dtype="datetime64[D]")
    numbers = rng.integers(120, 4800, n)
    touched = np.where(np.isnat(revoked), date, revoked)
    return _frame("recognitions", {
        **_common("recognitions", [f"RE-{k:04d}" for k in range(1, n + 1)], source,
                  _stamp(date + _D, stamp, end), _stamp(touched + _D, stamp, end, (41, 60))),
        "commune_code": df["commune_code"], "label": df["label"],
        "decision_no": [f"{k}/QĐ-UBND" for k in numbers], "date": _iso(date),
        "authority": df["authority"], "revoked_on": _iso(revoked)})


def _targets(source, stamp, end):
    n = len(TARGETS)
    made = np.array([_day("2025-08-21"), _day("2026-02-12"), _day("2025-08-21"),
                     _day("2025-08-21"), _day("2025-08-21"), _day("2025-08-21")][:n])
    return _frame("targets", {
        **_common("targets", [f"TG-{k:02d}" for k in range(1, n + 1)], source,
                  _stamp(made, stamp, end), _stamp(made, stamp, end, (41, 60))),
        "scope": [t[0] for t in TARGETS], "year": [t[1] for t in TARGETS],
        "share_drug_free": [t[2] for t in TARGETS], "basis": [t[3] for t in TARGETS]})


# ─────────────────────────────── files ───────────────────────────────

def write(out_dir: str | Path, frames: dict[str, pd.DataFrame]) -> list[Path]:
    """Write each frame as ``<layer>.geojson`` (RFC 7946, 6 decimals) or ``<layer>.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        if LAYERS[name].has_geometry:
            path = out / f"{name}.geojson"
            if path.exists():
                path.unlink()  # the GeoJSON driver does not overwrite
            frame.to_file(
                path, driver="GeoJSON", engine="pyogrio",
                layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 6})
        else:
            path = out / f"{name}.csv"
            frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        written.append(path)
    return written


def readme(frames: dict[str, pd.DataFrame], seed: int, start: str, end: str) -> str:
    """The text of ``data/sample/README.md`` for these frames."""
    lines = [
        "# data/sample — SYNTHETIC sample data set",
        "",
        "**Everything in this folder is synthetic.** It was generated by `tools/sample.py` "
        f"with seed **{seed}** for {start} … {end}. Every record says `SYNTHETIC` in its "
        "`source`. Person names are placeholders in the \"Nguyễn Văn A\" convention (surname "
        "and one initial); villages and hamlets are invented; no record describes a real "
        "person, place of sale, case or plot. It is never to be mistaken for intelligence.",
        "",
        "Only the geography is real: commune polygons, border line and the five gates come "
        "from `data/boundaries/` (gate positions approximate). The figures the story is "
        "shaped on are in `shared/DOMAIN.md` (about 245 cases a month with 312 offenders per "
        "245 cases, opium plots of 40–600 m² in mountain border communes, 12 methadone "
        "treatment facilities and 19 dispensing points).",
        "",
        "Regenerate (deterministic for a seed):",
        "",
        "```",
        f"python -m tools.sample --seed {seed} --out data/sample",
        "```",
        "",
        "## Files",
        "",
        "| file | layer | rows |",
        "|---|---|---|",
    ]
    for name, frame in frames.items():
        ext = "geojson" if LAYERS[name].has_geometry else "csv"
        lines.append(f"| `{name}.{ext}` | {LAYERS[name].title_en} | {len(frame):,} |")
    lines += [
        "",
        "What the layers hold:",
        "",
        "- `retail_points`: planted hotspots (below) plus sparse background; types "
        "`diem_ban_le` (most), `dia_diem_to_chuc_chua_chap`, `tu_diem_phuc_tap`; statuses "
        "active / watch / cleared / re-emerged with consistent dates.",
        "- `cases`: about 245 a month province-wide (Poisson, mild seasonality, a spike in "
        "June, the action month), near retail points, along QL1 / QL7 / QL48 and spread by "
        "population; offenders ≈ 312 per 245 cases; seizures in grams / pills; about 6 % "
        "of cases (big trafficking or transport seizures of one unit within 45 days, up to 4 "
        "cases) belong to a chuyên án `CA 017/2025`, about 100 a year (Report 564: 23 in "
        "the June 2023 action month; the sample gives 16).",
        "- `opium_plots`: detected 5 Jan – 25 Mar each season in the mountain communes of "
        "Kỳ Sơn, Quế Phong, Tương Dương and Con Cuông, most on the border (Tri Lễ, Keng Đu, "
        "Mỹ Lý, Na Ngoi, Mường Típ …), 40–600 m² (a few larger), "
        "plants ≈ 15–25 per m², points and small polygons (area computed in EPSG:32648), "
        "mostly eradicated within days.",
        "- `border_crossings`: the five gates of `data/boundaries/` moved 150 m inside the "
        "province (Nậm Cắn, Thanh Thủy, Thông Thụ, Tam Hợp, Cao Vều), the planned Huồi Khe "
        "gate (kind `opening`, `planned_kind` secondary by 2030; placed in Mường Típ, its "
        "commune not confirmed) and the four openings (Ta Đo, Buộc Mú, Keng Đu, Xiềng Trên) placed on their "
        "commune's stretch of border (`position_quality` = commune: the exact places are not "
        "known), and synthetic trails within 500 m of the border line.",
        "- `border_posts`: border-guard posts a few km inside the border; "
        "`area_of_responsibility` lists each border commune once, with its nearest post.",
        "- `facilities`: 12 methadone treatment facilities, 19 dispensing points, 3 rehab "
        "centres.",
        "- `commune_assessments`, `recognitions`, `targets`: see below.",
        "",
        "GeoJSON files are RFC 7946 (EPSG:4326 lon/lat, 6 decimals, counter-clockwise "
        "exterior rings); CSV files are UTF-8 with a header row. Columns are exactly those of "
        "`geo_pcmt.layers.LAYERS[<layer>]`; dates are ISO `YYYY-MM-DD`, timestamps ISO with "
        "the `+07:00` offset. `geo_pcmt.ingest.sample_files.read()` loads them typed as the "
        "schemas.",
        "",
        "## Planted hotspots (retail_points)",
        "",
        "| place | commune | points | story |",
        "|---|---|---|---|",
    ]
    rp = frames["retail_points"]
    n_background = int((~rp["commune_code"].isin([h.commune_code for h in HOTSPOTS])).sum())
    for h in HOTSPOTS:
        count = int((rp["commune_code"] == h.commune_code).sum())
        lines.append(f"| {h.name} | {h.commune_code} | {count} | {h.story} |")
    lines += [
        "",
        f"The rest ({n_background}) "
        "is sparse background across populated communes (weighted by "
        "population, wards and national roads). Clearing a point makes a case on "
        "`cleared_on` whose id is the point's `case_ref`.",
        "",
        "## The background: persistent plus contagious",
        "",
        "So that a forecast can be tested (`geo-pcmt backtest`), the background retail points "
        "and cases outside the designed communes are not scattered independently: they follow "
        "a persistent-plus-contagious process, the pattern the near-repeat literature finds "
        "for street crime and drug markets (Townsley, Homel & Chaseling 2003; Mohler et al. "
        "2011, self-exciting point processes):",
        "",
        f"- **Persistent hot places**: {HOT_PLACES} spots in populated communes (weighted "
        "like the background), each active for "
        f"{HOT_PLACE_MONTHS[0]}–{HOT_PLACE_MONTHS[1]} months from a start drawn over the "
        "period, with a lognormal weight. While a place is active it takes a share of the "
        f"new background records ({HOT_PLACE_SHARE['cases']:.0%} of cases, "
        f"{HOT_PLACE_SHARE['retail_points']:.0%} of retail points), within "
        f"about {HOT_PLACE_SPREAD_M:.0f} m of it.",
        "- **Near repeats (Hawkes-type, self-exciting)**: every background record has "
        "Poisson(η) children, each an exponential delay later and a normal offset away, and "
        "they have children in turn (a branching process; η is the share of records that "
        "are near repeats): "
        + "; ".join(f"{layer}: η = {p.eta:g}, mean delay {p.mean_delay_days:g} days, "
                    f"σ = {p.sigma_m:g} m" for layer, p in NEAR_REPEAT.items()) + ". "
        "The Poisson immigrants are thinned by (1 − η) so the totals stay about 245 cases a "
        "month and 600 retail points.",
        "",
        "The designed communes keep their story (their counts are set by their class), "
        "so the contagion is in the background only.",
        "",
        "## Commune histories (commune_assessments, recognitions)",
        "",
        "Counts of harbouring locations, arrested offenders, plants and plant area are the "
        "sums of the retail points, cases and opium plots of that commune and year; addicts "
        "and users are set per commune. The designed communes are meant to classify as "
        "below under Decision 28/2025 (2025–2026) and 3122/2010 (2022–2024); \"clean\" means "
        "nothing to report (all counts zero). Class I rows fire at least three of criteria "
        "a (addicts + users ≥ 0.5 %), b (≥ 2 harbouring locations), c (arrests ≥ 0.1 %), "
        "d (≥ 3,000 plants or ≥ 750 m²), đ (two lower-band criteria on a drug route) and, "
        "before 2025, also 3122/2010 type I (≥ 100 addicts, ≥ 5 places or ≥ 2,000 m²); "
        "class II rows fire at most two class-I criteria and at least three lower bands; "
        "class III rows only the lowest bands. Other communes are background: mostly "
        "class III, a few reaching class II or I where opium, harbouring places and route "
        "cases meet.",
        "",
        "| commune | 2022 | 2023 | 2024 | 2025 | 2026 | opium m² by season |",
        "|---|---|---|---|---|---|---|",
    ]
    assess = frames["commune_assessments"]
    name_of = dict(zip(boundaries.communes()["code"], boundaries.communes()["name"]))
    for code, (levels, opium) in STORY.items():
        areas = "–" if opium is None else ", ".join(f"{a:g}" for a in opium)
        lines.append(f"| {name_of.get(code, code)} ({code}) | " + " | ".join(levels) +
                     f" | {areas} |")
    rec = frames["recognitions"]
    lines += [
        "",
        f"Recognitions: {int((rec['label'] == 'sach_ve_ma_tuy').sum())} province labels "
        "\"sạch về ma túy\" (district People's Committees, 2022 – June 2025; the Tam Thái one "
        "revoked in May 2025 when its points re-emerged) and "
        f"{int((rec['label'] == 'khong_ma_tuy').sum())} national \"không ma túy\" decisions of "
        "UBND tỉnh Nghệ An (Nov 2025 – Oct 2026), well short of the targets in `targets.csv` "
        "(20 % in 2025, 30 % in 2026, 50 % in 2030).",
        "",
        f"Assessment rows: {len(assess):,} (one per 2025 commune and year).",
        "",
        "## Treatment (treatment.csv)",
        "",
        "Counts per commune and year (2022–2026), never person records: addicts and users "
        "with records (the same numbers as `commune_assessments`), in compulsory treatment, "
        "voluntary treatment at a facility, at home/in the community, under post-treatment "
        "management, on methadone, and with vocational training. Shares rise toward Plan "
        "180/KH-UBND's targets; SYNTHETIC (`_treatment`, its own random stream).",
        "",
        "## Corrections",
        "",
        "- Cửa khẩu Cao Vều: `lao_counterpart` was once stored in English (\"Mương Chăm area "
        "(Laos)\", copied from `data/boundaries/border_gates_approx.geojson`); the boundary "
        "file now says \"khu vực Mương Chăm (Bô Ly Khăm Xay)\" (data/boundaries/PROVENANCE.md) "
        "and the generated `border_crossings.geojson` takes it from there.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.sample [--seed N] [--out DIR] [--start DATE] [--end DATE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.sample",
        description="Generate the SYNTHETIC sample data set (GeoJSON + CSV) into a folder.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 180)")
    parser.add_argument("--out", default=str(SAMPLE_DIR),
                        help="output folder (default data/sample)")
    parser.add_argument("--start", default=DEFAULT_START, help="first day covered (ISO date)")
    parser.add_argument("--end", default=DEFAULT_END, help="last day covered (ISO date)")
    args = parser.parse_args(argv)
    frames = generate(args.seed, args.start, args.end)
    paths = write(args.out, frames)
    (Path(args.out) / "README.md").write_text(readme(frames, args.seed, args.start, args.end),
                                              encoding="utf-8")
    for path, frame in zip(paths, frames.values()):
        print(f"{path}  {len(frame):>6} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
