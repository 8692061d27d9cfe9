"""Numbers as an officer reads them: Vietnamese (``1.234,5``) or English (``1,234.5``).

The one place numbers become text in products (pages, briefs, reports, reasons, exports
meant for reading). Formatting is Babel's (CLDR locale data), not hand-rolled.
"""
from __future__ import annotations

import decimal
from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_decimal

from geo_pcmt.values import number as _number

LOCALES = {"vi": "vi_VN", "en": "en_GB"}


def _pattern(digits: int) -> str:
    return "#,##0" + ("." + "0" * digits if digits > 0 else "")


def fmt_number(value, digits: int = 0, lang: str = "vi", missing: str = "–") -> str:
    """``value`` with ``digits`` decimals in the reader's language.

    Examples
    --------
    >>> fmt_number(1234567.891, 1), fmt_number(1234567.891, 1, "en"), fmt_number(None)
    ('1.234.567,9', '1,234,567.9', '–')
    >>> fmt_number(6.25, 1), fmt_number(2.5)   # halves round up
    ('6,3', '3')
    """
    x = _number(value)
    if x is None:
        return missing
    with decimal.localcontext() as ctx:  # halves round up, as figures in reports are read
        ctx.rounding = decimal.ROUND_HALF_UP
        return format_decimal(decimal.Decimal(repr(x)), format=_pattern(digits),
                              locale=LOCALES.get(lang, "vi_VN"))


def fmt_percent(share, digits: int = 1, lang: str = "vi", missing: str = "–") -> str:
    """A share (0.457) as a percentage (``45,7 %`` in Vietnamese, ``45.7%`` in English).

    Examples
    --------
    >>> fmt_percent(0.4567), fmt_percent(0.4567, lang="en"), fmt_percent(1)
    ('45,7 %', '45.7%', '100,0 %')
    """
    x = _number(share)
    if x is None:
        return missing
    text = fmt_number(x * 100, digits, lang)
    return f"{text} %" if lang == "vi" else f"{text}%"


def fmt_date(value, lang: str = "vi", missing: str = "–") -> str:
    """A day as an officer writes it: ``05/12/2026`` (both languages use day/month/year here).

    Accepts a ``date``/``datetime``, a pandas ``Timestamp`` or an ISO text (a time part and
    offset are dropped: the day is the one written, not converted).

    Examples
    --------
    >>> fmt_date("2026-12-05"), fmt_date("2026-12-05T23:10:00+07:00"), fmt_date(None)
    ('05/12/2026', '05/12/2026', '–')
    """
    if value is None or (isinstance(value, float) and value != value):
        return missing
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return missing
        try:
            value = date.fromisoformat(text[:10])
        except ValueError:
            return text
    day = value.date() if isinstance(value, datetime) else value
    return format_date(day, "dd/MM/yyyy", locale=LOCALES.get(lang, "vi_VN"))


def fmt_compact(value, max_digits: int = 3, lang: str = "vi", missing: str = "–") -> str:
    """``value`` with only the decimals it needs, at most ``max_digits`` (like ``:g``, but
    in the reader's language and with thousands grouped).

    Examples
    --------
    >>> fmt_compact(6.5), fmt_compact(8.0), fmt_compact(0.25, lang="en"), fmt_compact(1500)
    ('6,5', '8', '0.25', '1.500')
    """
    x = _number(value)
    if x is None:
        return missing
    with decimal.localcontext() as ctx:
        ctx.rounding = decimal.ROUND_HALF_UP
        pattern = "#,##0" + ("." + "#" * max_digits if max_digits > 0 else "")
        return format_decimal(decimal.Decimal(repr(x)), format=pattern,
                              locale=LOCALES.get(lang, "vi_VN"))
