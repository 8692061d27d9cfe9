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


def with_base_url(options: MapOptions | None, base_url: str) -> MapOptions:
    """``options`` with the assets served from ``base_url``."""
    return replace(options or MapOptions(), assets_base_url=base_url)
