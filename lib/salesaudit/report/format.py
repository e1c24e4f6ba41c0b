"""Numbers, amounts, shares, dates and durations as a reader sees them, in ru or en (Babel, CLDR data).

Every number a report shows goes through this module, so one number looks the same in a table, a
sentence, a plot and the run's index page. The styles:

========================  ============================  ==========================
function                  ru                            en
========================  ============================  ==========================
``number(1234.5, l, 1)``  ``1 234,5``                   ``1,234.5``
``integer(35722878.4)``   ``35 722 878``                ``35,722,878``
``percent(0.277, l)``     ``27,7 %``                    ``27.7%``
``money(35722878.4, l)``  ``35 722 878 ₽``              ``RUB 35,722,878``
``date(2026-10-31)``      ``31.10.2026``                ``31 Oct 2026``
``datetime_(… 09:05)``    ``31.10.2026 09:05``          ``31 Oct 2026 09:05``
========================  ============================  ==========================

* Grouping and decimal marks are CLDR's: ru groups with a no-break space (U+00A0) and uses a
  decimal comma, en groups with a comma; a four-digit number is grouped too (ru ``2 026``).
  Rounding is half up on the shortest decimal form of the value (12.45 → 12.5, 0.125 → 0.13), as a
  reader rounds by hand; Babel then only groups and marks.
* ``percent`` is CLDR's percent pattern: ru puts a no-break space before ``%``, en none.
* ``money`` is CLDR's standard currency pattern with the precision set by ``digits``: ru
  ``35 722 878 ₽`` (the symbol after the amount), en ``$35,722,878`` for a currency with a symbol;
  where the symbol is the ISO code itself (RUB, KZT in en) a no-break space separates it from the
  digits (CLDR's currency spacing, which Babel does not apply): ``RUB 35,722,878``.
  ``currency=None`` gives the amount alone, grouped the same way (the report's amounts whose
  currency the caller does not know).
* ``date``: ru ``dd.MM.yyyy``; en ``d MMM y`` (``31 Oct 2026``), day first like ru and unambiguous
  for British and American readers alike. ``datetime_`` adds a 24-hour ``HH:mm``. A timezone-aware
  moment is shown in its own wall time.
* Durations need a unit word from the message catalogue, so they are :func:`salesaudit.report.i18n.duration`.
* A missing value (None, NaN, NaT, ``pd.NA``) gives ``—`` everywhere.

Machine outputs (JSON records, CSV, the command line's English log) do not use this module.

>>> number(35722878.4, "ru", 0), number(35722878.4, "en", 0)
('35\\xa0722\\xa0878', '35,722,878')
>>> percent(0.277, "ru"), percent(0.277, "en"), percent(-0.05, "en", 0, sign=True)
('27,7\\xa0%', '27.7%', '-5%')
>>> money(35722878.4, "ru"), money(35722878.4, "en"), money(1500, "en", "USD")
('35\\xa0722\\xa0878\\xa0₽', 'RUB\\xa035,722,878', '$1,500')
>>> date("2026-10-31", "ru"), date("2026-10-31", "en"), datetime_("2026-10-31 09:05", "en")
('31.10.2026', '31 Oct 2026', '31 Oct 2026 09:05')
>>> number(float("nan"), "ru")
'—'
"""
from __future__ import annotations

import copy
import datetime as _dt
import functools
import math
import numbers
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Optional

__all__ = ["DASH", "LANGUAGES", "missing", "number", "integer", "percent", "money", "date", "datetime_", "DURATION_UNITS", "duration_unit",
           "digits_apart"]

#: what a missing value looks like
DASH = "—"
LANGUAGES = ("ru", "en")
_NBSP = "\u00a0"

#: Babel (CLDR) date patterns per language
_DATE = {"ru": "dd.MM.yyyy", "en": "d MMM y"}
_TIME = "HH:mm"

#: duration units: seconds per unit (the unit words are the catalogue's ``unit.*``; see i18n.duration)
DURATION_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def _check(lang: str) -> str:
    if lang not in LANGUAGES:
        from ..errors import SalesauditError, closest

        raise SalesauditError(f"Unknown report language {lang!r}.{closest(lang, LANGUAGES)} Allowed languages: {', '.join(LANGUAGES)}.")
    return lang


@functools.cache
def _locale(lang: str):
    from babel import Locale

    return Locale.parse(_check(lang))


@functools.cache
def _pattern(lang: str, kind: str, digits: Optional[int], trim: bool = False):
    loc = _locale(lang)
    base = {"decimal": loc.decimal_formats[None], "percent": loc.percent_formats[None], "currency": loc.currency_formats["standard"]}[kind]
    if digits is None:
        return base
    p = copy.copy(base)
    p.frac_prec = (0 if trim else int(digits), int(digits))
    return p


def missing(x: Any) -> bool:
    """Whether ``x`` is a missing value (None, NaN, NaT, ``pd.NA``): shown as ``—``."""
    if x is None:
        return True
    if isinstance(x, float):
        return math.isnan(x)
    try:
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _decimal(x, digits: Optional[int]) -> Decimal:
    """``x`` as a Decimal rounded half up to ``digits`` (12.45 → 12.5, as a reader rounds; the
    shortest repr of a float, so 12.45 is not 12.4499…); a value that rounds to zero loses its
    minus sign (no ``-0,0``)."""
    if isinstance(x, numbers.Integral):
        d = Decimal(int(x))
    else:
        d = Decimal(repr(float(x)))
    if digits is not None and d.is_finite():
        d = d.quantize(Decimal(1).scaleb(-int(digits)), rounding=ROUND_HALF_UP)
        if d == 0:
            d = abs(d)
    return d


def _signed(text: str, value, sign: bool) -> str:
    return "+" + text if sign and not text.startswith("-") and value >= 0 else text


def number(x, lang: str, digits: Optional[int] = None, *, sign: bool = False, trim: bool = False) -> str:
    """``x`` with ``digits`` decimals (None: up to three, trailing zeros dropped), grouped.

    ``trim=True`` drops trailing zeros (at most ``digits`` decimals); ``sign=True`` puts ``+``
    before a positive value.

    >>> number(1234.5, "ru", 1), number(1234.5, "en", 1), number(0.1234, "en"), number(0.05, "ru", 2, sign=True), number(1.5, "en", 2, trim=True)
    ('1\\xa0234,5', '1,234.5', '0.123', '+0,05', '1.5')
    """
    if missing(x):
        return DASH
    d = _decimal(x, digits)
    return _signed(_pattern(lang, "decimal", digits, trim).apply(d, _locale(lang)), d, sign)


def digits_apart(pairs, base: int = 0, most: int = 3, show=None) -> int:
    """The fewest decimals, from ``base`` up to ``most``, at which the two values of every pair print
    differently (an interval's bounds, a value beside the team's); ``most`` when none suffices.

    ``show(value, digits)`` is how a value prints (default: :func:`number`; the language does not
    change whether two values differ).

    >>> digits_apart([(98.1, 98.4), (50.0, 70.0)]), digits_apart([(2.0, 2.0)], 1, 3)
    (1, 3)
    """
    show = show or (lambda v, d: number(v, "en", d))
    pairs = list(pairs)
    for d in range(base, most + 1):
        if all(show(a, d) != show(b, d) for a, b in pairs):
            return d
    return most


def integer(x, lang: str, *, sign: bool = False) -> str:
    """``x`` rounded to a whole number, grouped: ``35 722 878`` (ru), ``35,722,878`` (en)."""
    return number(x, lang, 0, sign=sign)


def percent(share, lang: str, digits: int = 1, *, sign: bool = False, trim: bool = False) -> str:
    """A share (0.277) as a percentage with ``digits`` decimals: ``27,7 %`` (ru), ``27.7%`` (en).

    ``trim=True`` drops trailing zeros (``6 %`` rather than ``6,0 %``); ``sign=True`` puts ``+``
    before a positive value.
    """
    if missing(share):
        return DASH
    d = _decimal(share, None if digits is None else int(digits) + 2)
    return _signed(_pattern(lang, "percent", digits, trim).apply(d, _locale(lang)), d, sign)


def money(amount, lang: str, currency: Optional[str] = "RUB", digits: int = 0) -> str:
    """An amount with its currency (ISO code): ``35 722 878 ₽`` (ru), ``RUB 35,722,878`` (en).

    ``currency=None``: the amount alone, as :func:`number` with ``digits`` decimals.
    """
    if missing(amount):
        return DASH
    if currency is None:
        return number(amount, lang, digits)
    d = _decimal(amount, digits)
    text = _pattern(lang, "currency", digits).apply(d, _locale(lang), currency=str(currency).upper(), currency_digits=False)
    from babel.numbers import get_currency_symbol

    symbol = get_currency_symbol(str(currency).upper(), locale=_locale(lang))
    if symbol.isalpha():  # CLDR currency spacing: a letter symbol never touches a digit
        i = text.find(symbol)
        after, before = text[i + len(symbol): i + len(symbol) + 1], text[i - 1: i] if i > 0 else ""
        if after.isdigit():
            text = text[: i + len(symbol)] + _NBSP + text[i + len(symbol):]
        elif before.isdigit():
            text = text[:i] + _NBSP + text[i:]
    return text


def _timestamp(d):
    import pandas as pd

    ts = pd.Timestamp(d)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)  # the moment's own wall time
    return ts


def date(d, lang: str) -> str:
    """A day: ``31.10.2026`` (ru), ``31 Oct 2026`` (en); accepts a date, datetime, Timestamp or ISO string."""
    if missing(d):
        return DASH
    from babel.dates import format_date

    return format_date(_timestamp(d).date(), _DATE[_check(lang)], locale=_locale(lang))


def datetime_(moment, lang: str) -> str:
    """A moment to the minute: ``31.10.2026 09:05`` (ru), ``31 Oct 2026 09:05`` (en)."""
    if missing(moment):
        return DASH
    from babel.dates import format_datetime

    ts = _timestamp(moment)
    value = _dt.datetime(ts.year, ts.month, ts.day, ts.hour, ts.minute)
    return format_datetime(value, f"{_DATE[_check(lang)]} {_TIME}", locale=_locale(lang))


def duration_unit(typical_seconds, day_seconds: float = 86400.0) -> str:
    """The unit (a key of :data:`DURATION_UNITS`) a table, column or plot of durations is shown in,
    chosen from its typical value (e.g. the median of its medians): the largest unit the value
    reaches, so that 44 seconds read ``44 s`` and not ``0.001`` days. ``day_seconds`` is the length
    of a day in the durations' own time: 86 400 for elapsed time, the working day's length (32 400
    for 09:00–18:00) for working time, where ``d`` then means a working day. A missing or zero
    typical value gives ``d``.

    >>> [duration_unit(x) for x in (44, 600, 7200, 3 * 86400, float("nan"))]
    ['s', 'min', 'h', 'd', 'd']
    >>> duration_unit(20 * 3600), duration_unit(20 * 3600, day_seconds=32400)
    ('h', 'd')
    """
    if missing(typical_seconds) or not math.isfinite(float(typical_seconds)) or float(typical_seconds) == 0:
        return "d"
    s = abs(float(typical_seconds))
    return "d" if s >= day_seconds else "h" if s >= DURATION_UNITS["h"] else "min" if s >= DURATION_UNITS["min"] else "s"
