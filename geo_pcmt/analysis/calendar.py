"""The calendar of the work: every date window (month, quarter, year, action month, opium season) once.

Flags, patrol targets, status and the backtest ask this module which window a day falls in,
so that "this season" or "this month" means the same thing everywhere.

The opium season (mùa thuốc phiện) runs from **1 September to 31 March**. Poppy in the
mountains of Nghệ An is sown in autumn after the upland rice harvest and harvested about
March (DOMAIN.md §4: Tri Lễ, "harvest ~March"; "planted from late autumn"), and the
eradication teams uproot plots *on detection* (DOMAIN.md §4). A plot found in October or
November is therefore a standing crop that must be destroyed before it flowers: it belongs
to the season both for the flags ("opium poppy this season") and for the patrol targets
(standing plots to visit). Until this module, patrol targets started the season on 1 Dec,
so plots found in Oct–Nov never became targets; the flags' 1 Sep was right. A season is
named by the year it starts in ("mùa 2025–2026" starts on 1 Sep 2025).

The action month (tháng hành động phòng, chống ma túy) is **June** (Report 564/BC-UBND on
the June 2023 action month, DOMAIN.md §6/§8).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

#: First month of the opium season (sowing), and its last month (harvest).
OPIUM_SEASON_START_MONTH = 9
OPIUM_SEASON_END_MONTH = 3
#: The month of the action month against drugs (tháng hành động phòng, chống ma túy).
ACTION_MONTH = 6

KINDS = ("month", "quarter", "year", "action_month", "opium_season")


@dataclass(frozen=True, order=True)
class Window:
    """A closed window of days ``start`` … ``end`` (both included), with its names.

    Attributes
    ----------
    start, end : date — first and last day, both inside the window
    kind : one of :data:`KINDS`
    label_vi, label_en : what an officer reads ("tháng 10/2025", "mùa 2025–2026")
    """

    start: date
    end: date
    kind: str = "month"
    label_vi: str = ""
    label_en: str = ""

    def __contains__(self, day: object) -> bool:
        d = _as_date(day)
        return self.start <= d <= self.end

    @property
    def end_exclusive(self) -> date:
        """The day after ``end`` (for half-open filters ``start <= t < end_exclusive``)."""
        return self.end + timedelta(days=1)

    def previous(self) -> "Window":
        """The window of the same kind just before this one."""
        if self.kind == "action_month":
            return action_month(date(self.start.year - 1, 1, 1))
        return window(self.kind, self.start - timedelta(days=1))

    def next(self) -> "Window":
        """The window of the same kind just after this one."""
        if self.kind == "action_month":
            return action_month(date(self.start.year + 1, 1, 1))
        if self.kind == "opium_season":
            return opium_season_of_year(self.start.year + 1, start_month=self.start.month)
        return window(self.kind, self.end_exclusive)


def _as_date(day: object) -> date:
    """A ``date`` from a date, datetime, Timestamp or ISO text."""
    if isinstance(day, pd.Timestamp):
        return day.date()
    if hasattr(day, "date") and callable(day.date):  # datetime
        return day.date()
    if isinstance(day, date):
        return day
    return pd.Timestamp(str(day)).date()


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def month(day: object) -> Window:
    """The calendar month of ``day``.

    >>> month("2025-10-17").label_vi
    'tháng 10/2025'
    """
    d = _as_date(day)
    return Window(date(d.year, d.month, 1), _month_end(d.year, d.month), "month",
                  f"tháng {d.month}/{d.year}", f"{d.year}-{d.month:02d}")


def quarter(day: object) -> Window:
    """The calendar quarter of ``day`` ("quý III/2025")."""
    d = _as_date(day)
    q = (d.month - 1) // 3 + 1
    first = 3 * (q - 1) + 1
    roman = ("I", "II", "III", "IV")[q - 1]
    return Window(date(d.year, first, 1), _month_end(d.year, first + 2), "quarter",
                  f"quý {roman}/{d.year}", f"{d.year} Q{q}")


def year(day: object) -> Window:
    """The calendar year of ``day``."""
    d = _as_date(day)
    return Window(date(d.year, 1, 1), date(d.year, 12, 31), "year", f"năm {d.year}", str(d.year))


def action_month(day: object) -> Window:
    """The action month (June) of the year of ``day``, whether or not ``day`` is in it."""
    d = _as_date(day)
    return Window(date(d.year, ACTION_MONTH, 1), _month_end(d.year, ACTION_MONTH),
                  "action_month", f"tháng hành động {ACTION_MONTH}/{d.year}",
                  f"action month {d.year}-{ACTION_MONTH:02d}")


def season_year(day: object, *, start_month: int = OPIUM_SEASON_START_MONTH) -> int:
    """The year the opium season counted for ``day`` started in (the last 1 ``start_month``
    on or before ``day``)."""
    d = _as_date(day)
    return d.year if d.month >= start_month else d.year - 1


def opium_season_of_year(start_year: int, *, start_month: int = OPIUM_SEASON_START_MONTH
                         ) -> Window:
    """The opium season that starts in ``start_year`` (1 Sep … 31 Mar of the next year)."""
    end_year = start_year + (OPIUM_SEASON_END_MONTH < start_month)
    return Window(date(start_year, start_month, 1), _month_end(end_year, OPIUM_SEASON_END_MONTH),
                  "opium_season", f"mùa {start_year}–{end_year}",
                  f"season {start_year}–{end_year}")


def opium_season(day: object, *, start_month: int = OPIUM_SEASON_START_MONTH) -> Window | None:
    """The opium season ``day`` falls in, or None between harvest and sowing (Apr–Aug).

    >>> opium_season("2025-10-15").label_vi
    'mùa 2025–2026'
    >>> opium_season("2026-06-01") is None
    True
    """
    w = opium_season_of_year(season_year(day, start_month=start_month), start_month=start_month)
    return w if _as_date(day) in w else None


def latest_opium_season(day: object, *, start_month: int = OPIUM_SEASON_START_MONTH) -> Window:
    """The opium season ``day`` falls in, or out of season the one that ended last."""
    return opium_season_of_year(season_year(day, start_month=start_month),
                                start_month=start_month)


def window(kind: str, day: object) -> Window:
    """The window of ``kind`` (one of :data:`KINDS`) that holds ``day``; for the action month
    and the opium season, the one of ``day``'s year / the latest one."""
    makers = {"month": month, "quarter": quarter, "year": year, "action_month": action_month,
              "opium_season": latest_opium_season}
    if kind not in makers:
        raise ValueError(f"unknown date window {kind!r}; choose from {', '.join(KINDS)}")
    return makers[kind](day)


def months_between(first: object, last: object) -> list[Window]:
    """Every calendar month from the one holding ``first`` to the one holding ``last``."""
    out = []
    w = month(first)
    end = _as_date(last)
    while w.start <= end:
        out.append(w)
        w = w.next()
    return out


__all__ = ["ACTION_MONTH", "KINDS", "OPIUM_SEASON_END_MONTH", "OPIUM_SEASON_START_MONTH",
           "Window", "action_month", "latest_opium_season", "month", "months_between",
           "opium_season", "opium_season_of_year", "quarter", "season_year", "window", "year"]
