"""What the reader chose for the map (dates, communes, types, layers, year), checked once."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Mapping

from geo_pcmt.layers import RETAIL_POINT_TYPES
from geo_pcmt.outputs.map.overlays import OVERLAY_KEYS
from geo_pcmt.outputs.map.vendor import DEFAULT_BASE_URL

_MONTH_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
# Paper sizes of the print layouts, portrait (width, height) in millimetres.
PAPER_MM: dict[str, tuple[int, int]] = {"A4": (210, 297), "A3": (297, 420)}
ORIENTATIONS: tuple[str, ...] = ("landscape", "portrait")
# What a printed map shows: the province, the border strip, one commune or one post's area.
VIEW_KINDS: tuple[str, ...] = ("province", "border", "commune", "post")


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
        Open in the print layout (title block, map, legend and scale bar side by side).
    paper : {"A4", "A3"}
        Paper of the print layout.
    orientation : {"landscape", "portrait"}
        Orientation of the print layout.
    view : str, optional
        What the map is fitted to: ``province``, ``border`` (the border communes),
        ``commune:<GSO code>`` or ``post:<border post name>`` (see
        :func:`geo_pcmt.outputs.map.views.view_bounds`); default: the chosen communes, else
        the province.
    unit : str, optional
        The unit named in the print title block (e.g. "Bộ Chỉ huy BĐBP tỉnh Nghệ An").
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
    paper: str = "A4"
    orientation: str = "landscape"
    view: str | None = None
    unit: str | None = None

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
        if self.paper not in PAPER_MM:
            raise MapInputError(f"paper={self.paper!r}: one of {', '.join(PAPER_MM)}")
        if self.orientation not in ORIENTATIONS:
            raise MapInputError(f"orientation={self.orientation!r}: one of "
                                f"{', '.join(ORIENTATIONS)}")
        if self.view is not None:
            kind, _, arg = self.view.partition(":")
            if kind not in VIEW_KINDS or (kind in ("commune", "post")) != bool(arg.strip()):
                raise MapInputError(f"view={self.view!r}: province, border, commune:<code> or "
                                    "post:<name>")
        if self.simplify_m < 0:
            raise MapInputError(f"simplify_m={self.simplify_m}: must be ≥ 0")

    @classmethod
    def from_query(cls, args: Mapping[str, str], **overrides: Any) -> "MapOptions":
        """Options from URL parameters: ``from``, ``to``, ``commune``, ``type``, ``layers``,
        ``year``, ``since``, ``print``, ``paper``, ``orientation``, ``view`` (lists
        comma-separated).

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
                   print_view=str(args.get("print", "")) in ("1", "true", "yes"),
                   paper=str(args.get("paper") or "A4").upper(),
                   orientation=str(args.get("orientation") or "landscape").lower(),
                   view=args.get("view") or None, **overrides)


def with_base_url(options: MapOptions | None, base_url: str) -> MapOptions:
    """``options`` with the assets served from ``base_url``."""
    return replace(options or MapOptions(), assets_base_url=base_url)
