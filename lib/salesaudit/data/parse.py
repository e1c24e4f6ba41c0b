"""Turn exported text into typed values, marking what cannot be parsed.

Every parser takes a Series of strings and returns ``(values, bad)``: the typed
values (NaT/NaN where empty or bad) and a boolean mask of the non-empty values
it could not parse. Empty cells and null tokens such as ``не закрыта`` are not
bad, just missing.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["NULL_TOKENS", "is_null", "parse_datetimes", "parse_numbers", "clean_text", "DATE_FORMATS", "CURRENCY_ALIASES", "currency_code", "parse_currencies"]

#: cell values that mean "no value" in real exports (compared case-insensitively)
NULL_TOKENS = (
    "",
    "-",
    "—",
    "–",
    "не закрыта",
    "не указано",
    "не указана",
    "нет данных",
    "null",
    "none",
    "nan",
    "nat",
    "n/a",
    "#н/д",
    "#n/a",
)

#: tried in order on what is still unparsed; day-first formats before month-first ones
DATE_FORMATS_DAYFIRST = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d.%m.%y %H:%M",
    "%d.%m.%y",
)
DATE_FORMATS_MONTHFIRST = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
)
DATE_FORMATS = DATE_FORMATS_DAYFIRST + DATE_FORMATS_MONTHFIRST

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_ISO_TZ = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$")

#: Python's ``\s`` on ASCII text (``re`` counts the separators \x1c-\x1f as whitespace too)
_ASCII_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"
#: the same patterns for ASCII text, in the syntax both Python's ``re`` and pyarrow's RE2 read alike
_ISO_ASCII = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"
_ISO_TZ_ASCII = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?" + _ASCII_SPACE + r"*(Z|[+-][0-9]{2}:?[0-9]{2})$"


def _vectorised(text: pd.Series) -> pd.Series | None:
    """Which values of ``text`` are ASCII, when ``text`` is held by pyarrow (its regex engine then reads them); else None."""
    dtype = text.dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return None
    return text.str.isascii().astype(bool)


def _match(text: pd.Series, rx: re.Pattern, ascii_pattern: str) -> pd.Series:
    """``text.str.match(rx)``, the same mask: ASCII values matched by pyarrow with ``ascii_pattern``
    (``rx`` rewritten without Unicode classes), the others by Python's ``re`` as before.
    ``text`` holds stripped values, so ``$`` means the end of the value for both engines."""
    ascii_ = _vectorised(text)
    if ascii_ is None:
        return text.str.match(rx)
    out = text.str.match(ascii_pattern).astype(bool) & ascii_
    other = ~ascii_
    if other.any():
        out[other] = text[other].str.match(rx).astype(bool)
    return out


def _drop(text: pd.Series, rx: re.Pattern, ascii_pattern: str) -> pd.Series:
    """``text.str.replace(rx, "", regex=True)``, the same values, ASCII values done by pyarrow (see :func:`_match`)."""
    ascii_ = _vectorised(text)
    if ascii_ is None:
        return text.str.replace(rx, "", regex=True)
    out = text.str.replace(ascii_pattern, "", regex=True)
    other = ~ascii_
    if other.any():
        out[other] = text[other].str.replace(rx, "", regex=True)
    return out


#: the dtype ``astype(str)`` gives: a Series already of it needs no round trip through Python objects
_STR = pd.Series([""], dtype=object).astype(str).dtype


def clean_text(s: pd.Series) -> pd.Series:
    """Strip spaces (non-breaking too) around every value."""
    if s.dtype == _STR:
        text = s.fillna("") if s.hasnans else s
    else:
        text = s.astype(object).fillna("").astype(str)
    return text.str.replace("\xa0", " ", regex=False).str.strip()


def is_null(s: pd.Series, extra=()) -> pd.Series:
    """True where a cleaned value is empty or a null token."""
    tokens = set(NULL_TOKENS) | {str(t).strip().casefold() for t in extra}
    return s.str.casefold().isin(tokens)


_NS_MIN, _NS_MAX = pd.Timestamp.min.as_unit("us"), pd.Timestamp.max.as_unit("us")


def _as_ns(parsed: pd.Series) -> pd.Series:
    """Parsed datetimes at nanosecond resolution; a date outside what that holds (before 1677,
    after 2262, e.g. 31.12.9999) becomes NaT and so a bad date, instead of an overflow."""
    inside = parsed.isna() | ((parsed >= _NS_MIN) & (parsed <= _NS_MAX))
    return parsed.where(inside).astype("datetime64[ns]")


def parse_datetimes(s: pd.Series, *, dayfirst: bool = True, timezone: str | None = None, null_values=()) -> tuple[pd.Series, pd.Series]:
    """Parse dates in the formats CRMs export; values with a UTC offset are converted to ``timezone``.

    >>> v, bad = parse_datetimes(pd.Series(["31.12.2025 14:05", "31-12-2025 14:05:00", "2025-12-31T11:05:00Z", "не закрыта", "32.13.2025"]), timezone="Europe/Moscow")
    >>> [str(x) for x in v]
    ['2025-12-31 14:05:00', '2025-12-31 14:05:00', '2025-12-31 14:05:00', 'NaT', 'NaT']
    >>> bad.tolist()
    [False, False, False, False, True]
    """
    text = clean_text(s)
    null = is_null(text, null_values)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    todo = ~null
    if todo.any():
        with_tz = todo & _match(text, _ISO_TZ, _ISO_TZ_ASCII)
        if with_tz.any():
            parsed = pd.to_datetime(text[with_tz], utc=True, errors="coerce", format="ISO8601")
            if timezone:
                parsed = parsed.dt.tz_convert(timezone)
            out[with_tz] = _as_ns(parsed.dt.tz_localize(None))
            todo &= ~with_tz
        iso = todo & _match(text, _ISO, _ISO_ASCII)
        if iso.any():
            out[iso] = _as_ns(pd.to_datetime(text[iso], errors="coerce", format="ISO8601"))
            todo &= out.isna() & ~iso
        formats = DATE_FORMATS_DAYFIRST + DATE_FORMATS_MONTHFIRST if dayfirst else DATE_FORMATS_MONTHFIRST + DATE_FORMATS_DAYFIRST
        for fmt in formats:
            if not todo.any():
                break
            parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
            ok = parsed.notna()
            if ok.any():
                idx = parsed.index[ok]
                out[idx] = _as_ns(parsed[ok])
                todo[idx] = False
    bad = ~null & out.isna()
    return out, bad


_NUM_JUNK = re.compile(r"[\s\u00a0\u202f\u2009'’]|₽|руб\.?|р\.|rub|usd|eur|\$|€|%", re.IGNORECASE)
_THOUSANDS_COMMA = re.compile(r"^-?\d{1,3}(,\d{3})+$")
_THOUSANDS_DOT = re.compile(r"^-?\d{1,3}(\.\d{3})+$")
_NUM_JUNK_ASCII = r"(?i)" + _ASCII_SPACE[:-1] + r"']|rub|usd|eur|\$|%"
_THOUSANDS_COMMA_ASCII = r"^-?[0-9]{1,3}(,[0-9]{3})+$"
_THOUSANDS_DOT_ASCII = r"^-?[0-9]{1,3}(\.[0-9]{3})+$"


def parse_numbers(s: pd.Series, *, decimal: str = "auto", null_values=()) -> tuple[pd.Series, pd.Series]:
    """Parse numbers written with a decimal comma or point, spaces as thousands separators, currency signs.

    ``decimal="auto"`` decides per value: with both ``,`` and ``.`` the later one is the
    decimal mark; a lone ``,`` is a decimal comma unless it groups thousands (``1,234,567``).

    >>> v, bad = parse_numbers(pd.Series(["125 000,50", "1 234.5", "1,234,567", "12,5", "15%", "abc", ""]))
    >>> v.tolist()[:5], bad.tolist()
    ([125000.5, 1234.5, 1234567.0, 12.5, 15.0], [False, False, False, False, False, True, False])
    """
    text = clean_text(s)
    null = is_null(text, null_values)
    t = _drop(text, _NUM_JUNK, _NUM_JUNK_ASCII).str.replace("−", "-", regex=False)
    if decimal == ",":
        t = t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    elif decimal == ".":
        t = t.str.replace(",", "", regex=False)
    else:
        has_c = t.str.contains(",", regex=False)
        has_d = t.str.contains(".", regex=False)
        both = has_c & has_d
        comma_last = t.str.rfind(",") > t.str.rfind(".")
        # both marks: the later one is decimal
        m = both & comma_last
        t = t.mask(m, t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
        m = both & ~comma_last
        t = t.mask(m, t.str.replace(",", "", regex=False))
        only_c = has_c & ~has_d
        thousands = only_c & _match(t, _THOUSANDS_COMMA, _THOUSANDS_COMMA_ASCII)
        t = t.mask(thousands, t.str.replace(",", "", regex=False))
        t = t.mask(only_c & ~thousands, t.str.replace(",", ".", regex=False))
        dots = ~has_c & _match(t, _THOUSANDS_DOT, _THOUSANDS_DOT_ASCII) & (t.str.count(r"\.") > 1)
        t = t.mask(dots, t.str.replace(".", "", regex=False))
    values = pd.to_numeric(t.where(~null, None), errors="coerce").astype("float64")
    values[~np.isfinite(values.fillna(0.0))] = np.nan  # 1e309, 400 nines: no amount a CRM holds
    bad = ~null & values.isna()
    return values, bad


#: currency names as CRM exports write them -> ISO 4217 code (compared case-insensitively,
#: spaces and a trailing dot ignored); a three-letter code is taken as it is
CURRENCY_ALIASES = {
    "₽": "RUB", "руб": "RUB", "рубль": "RUB", "рубли": "RUB", "рублей": "RUB", "российский рубль": "RUB",
    "р": "RUB", "rur": "RUB", "rub": "RUB", "russian ruble": "RUB", "russian rouble": "RUB",
    "$": "USD", "us$": "USD", "usd": "USD", "доллар": "USD", "доллар сша": "USD", "доллары": "USD", "us dollar": "USD", "dollar": "USD",
    "€": "EUR", "eur": "EUR", "евро": "EUR", "euro": "EUR",
    "₸": "KZT", "тенге": "KZT", "казахстанский тенге": "KZT", "kzt": "KZT",
    "br": "BYN", "белорусский рубль": "BYN", "бел. руб": "BYN", "byn": "BYN", "byr": "BYN",
    "₴": "UAH", "гривна": "UAH", "uah": "UAH",
    "¥": "CNY", "юань": "CNY", "китайский юань": "CNY", "cny": "CNY", "rmb": "CNY",
    "£": "GBP", "фунт стерлингов": "GBP", "gbp": "GBP",
    "сум": "UZS", "узбекский сум": "UZS", "uzs": "UZS",
    "драм": "AMD", "amd": "AMD", "лари": "GEL", "gel": "GEL", "лира": "TRY", "турецкая лира": "TRY", "try": "TRY",
    "дирхам": "AED", "aed": "AED", "сом": "KGS", "kgs": "KGS",
}
_ISO_CODE = re.compile(r"^[A-Za-z]{3}$")


def currency_code(text) -> str | None:
    """The ISO code of a currency as an export writes it, or None when it is not a currency.

    >>> [currency_code(x) for x in ["Российский рубль", "руб.", "USD", "$", "eur", "тугрик"]]
    ['RUB', 'RUB', 'USD', 'USD', 'EUR', None]
    """
    t = re.sub(r"\s+", " ", str(text).replace("\xa0", " ")).strip().casefold().rstrip(".").strip()
    if t in CURRENCY_ALIASES:
        return CURRENCY_ALIASES[t]
    if _ISO_CODE.match(t):
        return t.upper()
    return None


def parse_currencies(s: pd.Series, null_values=()) -> tuple[pd.Series, pd.Series]:
    """ISO codes for a column of currency names (None where empty), and the mask of values that are no currency."""
    text = clean_text(s)
    null = is_null(text, null_values)
    uniq = {v: currency_code(v) for v in pd.unique(text[~null])}
    codes = text.map(uniq).where(~null, None).astype(object)
    bad = ~null & codes.isna()
    return codes.where(codes.notna(), None), bad
