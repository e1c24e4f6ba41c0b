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

__all__ = [
    "NULL_TOKENS",
    "is_null",
    "casefold",
    "categorise",
    "blank_as_missing",
    "parse_datetimes",
    "parse_numbers",
    "clean_text",
    "isin",
    "DATE_FORMATS",
    "CURRENCY_ALIASES",
    "currency_code",
    "parse_currencies",
]

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


def _arrow_text(s: pd.Series):
    """The pyarrow array behind ``s`` when ``s`` is a column of text held by pyarrow without a missing value, else None
    (the vectorised paths below are taken only then; anything else goes the way it always went)."""
    if s.dtype != _STR or s.dtype.storage != "pyarrow":
        return None
    import pyarrow as pa

    arr = pa.array(s.array)  # no copy: the array pandas holds
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    if arr.null_count:
        return None
    return arr


def _text_series(arr, like: pd.Series) -> pd.Series:
    """A pyarrow array of text as a Series of the ``str`` dtype, on the index of ``like``."""
    import pyarrow as pa

    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(arr, dtype=_STR), index=like.index, name=like.name)


def _per_value(arr, fn, positions=None) -> list:
    """``[fn(x) for x in arr]`` (or for the values at ``positions``), calling ``fn`` once per distinct value;
    returns the distinct values' results and, for each value, the index of its result."""
    import pyarrow as pa

    sub = arr if positions is None else arr.take(pa.array(positions))
    enc = (sub.combine_chunks() if isinstance(sub, pa.ChunkedArray) else sub).dictionary_encode()
    results = [fn(x) for x in enc.dictionary.to_pylist()]
    return results, enc.indices.to_numpy(zero_copy_only=False)


def clean_text(s: pd.Series) -> pd.Series:
    """Strip spaces (non-breaking too) around every value."""
    arr = _arrow_text(s)
    if arr is not None:  # the same values, block by block; a block with nothing to change is kept as it is (no copy)
        import pyarrow as pa
        import pyarrow.compute as pc

        chunks, changed = [], False
        for chunk in _blocks(arr):
            if _has_nbsp(chunk):
                chunk, changed = pc.replace_substring(chunk, "\xa0", " "), True
            if _may_need_trim(chunk):
                trimmed = pc.utf8_trim_whitespace(chunk)
                if not pc.all(pc.equal(pc.binary_length(trimmed), pc.binary_length(chunk))).as_py():
                    chunk, changed = trimmed, True
            chunks.append(chunk)
        return _text_series(pa.chunked_array(chunks, type=arr.type), s) if changed else s
    if s.dtype == _STR:
        text = s.fillna("") if s.hasnans else s
    else:
        text = s.astype(object).fillna("").astype(str)
    return text.str.replace("\xa0", " ", regex=False).str.strip()


#: the bytes a value's first or last character starts or ends with when it may be whitespace to strip: ``str.strip()``
#: and pyarrow's ``utf8_trim_whitespace`` strip the same 29 characters, the ASCII ones and U+0085, U+00A0 (C2 85, C2 A0),
#: U+1680 (E1 9A 80), U+2000-U+200A, U+2028, U+2029, U+202F (E2 80 ..), U+205F (E2 81 9F) and U+3000 (E3 80 80)
_ASCII_WS = np.zeros(256, dtype=bool)
_ASCII_WS[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_LEAD_MULTI = np.zeros(256, dtype=bool)
_LEAD_MULTI[[0xC2, 0xE1, 0xE2, 0xE3]] = True
_LAST_MULTI = np.zeros(256, dtype=bool)
_LAST_MULTI[[0x85, 0xA0, 0x80, 0x81, 0x82, 0x83, 0x84, 0x86, 0x87, 0x88, 0x89, 0x8A, 0xA8, 0xA9, 0xAF, 0x9F]] = True
_BEFORE_LAST = np.zeros(256, dtype=bool)
_BEFORE_LAST[[0xC2, 0x80, 0x81, 0x9A]] = True


def _has_nbsp(chunk) -> bool:
    """Whether a value of ``chunk`` (a large_string array) holds a non-breaking space (bytes C2 A0 in UTF-8)."""
    bufs = chunk.buffers()
    if bufs[2] is None or not len(chunk):
        return False
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    lead = np.flatnonzero(data[:-1] == 0xC2)
    return bool(len(lead) and (data[lead + 1] == 0xA0).any())


def _may_need_trim(chunk) -> bool:
    """Whether a value of ``chunk`` (a large_string array) may start or end with whitespace: False only when none does
    (from the first and last bytes of each value; a value that might is then stripped for real by the caller)."""
    if chunk.null_count:
        return True
    bufs = chunk.buffers()
    if bufs[2] is None or not len(chunk):
        return False
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
    start, end = offsets[:-1], offsets[1:]
    filled = end > start
    if not filled.any():
        return False
    start, end = start[filled], end[filled]
    first, last = data[start], data[end - 1]
    if (_ASCII_WS[first] | _LEAD_MULTI[first] | _ASCII_WS[last]).any():
        return True
    multi = _LAST_MULTI[last] & (end - start >= 2)
    return bool(multi.any() and _BEFORE_LAST[data[end[multi] - 2]].any())


#: rows per block of the block-by-block passes (their scratch memory stays a few megabytes whatever the export's size)
_BLOCK = 1 << 16


def _blocks(arr):
    """``arr`` (a pyarrow chunked array) as slices of at most :data:`_BLOCK` rows, in order, without copying."""
    for chunk in arr.chunks:
        for start in range(0, len(chunk), _BLOCK):
            yield chunk.slice(start, _BLOCK)


def is_null(s: pd.Series, extra=()) -> pd.Series:
    """True where a cleaned value is empty or a null token."""
    tokens = set(NULL_TOKENS) | {str(t).strip().casefold() for t in extra}
    arr = _arrow_text(s)
    if arr is None:
        return s.str.casefold().isin(tokens)
    import pyarrow.compute as pc

    # casefold never shortens a value: only values as short as the longest token can be one; each distinct one is casefolded once
    out = np.zeros(len(s), dtype=bool)
    short = np.flatnonzero(pc.less_equal(pc.utf8_length(arr), max(len(t) for t in tokens)).to_numpy(zero_copy_only=False))
    if len(short):
        hits, idx = _per_value(arr, lambda x: x.casefold() in tokens, short)
        out[short] = np.asarray(hits, dtype=bool)[idx]
    return pd.Series(out, index=s.index, name=s.name)


def blank_as_missing(t: pd.Series) -> pd.Series:
    """``t.where(t != "", None)``, the same values: a column held by pyarrow keeps its buffers (the empty values
    are marked missing, nothing is copied)."""
    arr = _arrow_text(t)
    if arr is None or not len(t):
        return t.where(t != "", None)
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks, changed = [], False
    for chunk in arr.chunks:
        filled = pc.not_equal(pc.binary_length(chunk), 0)
        n_filled = pc.sum(filled).as_py() or 0
        if n_filled == len(chunk):
            chunks.append(chunk)
            continue
        changed = True
        if chunk.offset:  # a slice: its validity would not line up; copy instead
            chunks.append(pc.if_else(filled, chunk, pa.scalar(None, chunk.type)))
        else:
            chunks.append(pa.Array.from_buffers(chunk.type, len(chunk), [filled.buffers()[1], *chunk.buffers()[1:]], null_count=len(chunk) - n_filled))
    return _text_series(pa.chunked_array(chunks, type=arr.type), t) if changed else t.copy(deep=False)


def categorise(t: pd.Series, allowed, null_values=()) -> tuple[pd.Series, pd.Series]:
    """A category column: ``(values, bad)``, the values casefolded (missing where null or not ``allowed``) and the mask of
    the values that are neither null nor allowed. The same as ``t.str.casefold()`` checked against ``allowed`` and
    :func:`is_null`; a column held by pyarrow is judged once per distinct value."""
    arr = _arrow_text(t)
    if arr is None or not len(t):
        norm = t.str.casefold()
        null = is_null(t, null_values)
        bad = ~null & ~norm.isin(allowed)
        return norm.where(~null & ~bad, None), bad
    import pyarrow as pa

    tokens = set(NULL_TOKENS) | {str(x).strip().casefold() for x in null_values}
    allowed = set(allowed)

    def judge(x):
        folded = x.casefold()
        if folded in tokens:
            return None, False
        return (folded, False) if folded in allowed else (None, True)

    results, idx = _per_value(arr, judge)
    values = pa.array([r[0] for r in results], type=pa.large_string()).take(pa.array(idx))
    bad = np.asarray([r[1] for r in results], dtype=bool)[idx] if results else np.zeros(len(t), dtype=bool)
    return _text_series(values, t), pd.Series(bad, index=t.index)


def casefold(s: pd.Series) -> pd.Series:
    """``s.str.casefold()``, the same values; a column held by pyarrow is casefolded once per distinct value."""
    arr = _arrow_text(s)
    if arr is None or not len(s):
        return s.str.casefold()
    import pyarrow as pa

    folded, idx = _per_value(arr, str.casefold)
    return _text_series(pa.array(folded, type=pa.large_string()).take(pa.array(idx)), s)


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
    arr = _arrow_text(text)
    if arr is not None and len(text):
        # values written exactly in one of the common layouts: read by pyarrow, and kept where writing the result back
        # in that layout gives the value again (31.02.2025 does not); every other value is parsed below, as before
        out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
        todo = ~null.to_numpy(dtype=bool)
        _fast_datetimes(arr, todo, out)
        if todo.any():
            rest = pd.Series(todo, index=s.index)
            sub, _ = _parse_datetimes(text[rest], pd.Series(False, index=text.index[todo]), dayfirst, timezone)
            out[todo] = sub.to_numpy()
        values = pd.Series(out, index=s.index, name=text.name)
        return values, ~null & values.isna()
    return _parse_datetimes(text, null, dayfirst, timezone)


#: layouts of a whole value read without the general parsers (years 1700-2199: inside what nanoseconds hold): the
#: pattern, and where its fields' two or four digits start (year, month, day, hour, minute, second; None: absent)
_FAST_DATES = (
    (r"^(1[7-9]|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", (0, 5, 8, 11, 14, 17)),
    (r"^(1[7-9]|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", (0, 5, 8, 11, 14, 17)),
    (r"^(1[7-9]|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$", (0, 5, 8, 11, 14, None)),
    (r"^(1[7-9]|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2}$", (0, 5, 8, None, None, None)),
    (r"^[0-9]{2}\.[0-9]{2}\.(1[7-9]|2[01])[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", (6, 3, 0, 11, 14, 17)),
    (r"^[0-9]{2}\.[0-9]{2}\.(1[7-9]|2[01])[0-9]{2} [0-9]{2}:[0-9]{2}$", (6, 3, 0, 11, 14, None)),
    (r"^[0-9]{2}\.[0-9]{2}\.(1[7-9]|2[01])[0-9]{2}$", (6, 3, 0, None, None, None)),
)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _fast_datetimes(arr, todo: np.ndarray, out: np.ndarray) -> None:
    """Parse the values of ``arr`` still ``todo`` that are written in one of :data:`_FAST_DATES` into ``out``; clear their ``todo``.

    Such a value gets the moment every path of :func:`parse_datetimes` gives it: it is no ISO value with an offset,
    an ISO layout is read by ``format="ISO8601"`` and a dotted one by the first format of its shape (month-first
    formats all hold slashes), each field is read from its digits, and a value whose fields name no moment (month 13,
    31.02, 24:00, a leap second) is left to those parsers. Done block by block, on the text's bytes.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    start = 0
    for block in _blocks(arr):
        end = start + len(block)
        data = offsets = None
        for pattern, fields in _FAST_DATES:
            pos = np.flatnonzero(todo[start:end])
            if not len(pos):
                break
            sub = block if len(pos) == len(block) else block.take(pa.array(pos))
            hit = pc.match_substring_regex(sub, pattern).to_numpy(zero_copy_only=False)
            if not hit.any():
                continue
            pos = pos[hit]
            if data is None:
                data = np.frombuffer(block.buffers()[2], dtype=np.uint8) if block.buffers()[2] is not None else np.zeros(0, np.uint8)
                offsets = np.frombuffer(block.buffers()[1], dtype=np.int64)[block.offset:block.offset + len(block) + 1]
            first = offsets[pos]

            def number(at, width=2):
                value = np.zeros(len(first), dtype=np.int64)
                for k in range(width):
                    value = value * 10 + (data[first + at + k].astype(np.int64) - 48)
                return value

            y, mo, d = number(fields[0], 4), number(fields[1]), number(fields[2])
            h, mi, sec = (number(f) if f is not None else np.zeros(len(first), dtype=np.int64) for f in fields[3:])
            leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
            valid = (mo >= 1) & (mo <= 12)
            days = np.where(valid, _MONTH_DAYS[np.clip(mo - 1, 0, 11)] + ((mo == 2) & leap), 0)
            valid &= (d >= 1) & (d <= days) & (h <= 23) & (mi <= 59) & (sec <= 59)
            if not valid.any():
                continue
            pos, y, mo, d, h, mi, sec = (x[valid] for x in (pos, y, mo, d, h, mi, sec))
            day = ((y - 1970) * 12 + (mo - 1)).astype("datetime64[M]").astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
            out[start + pos] = day.astype("datetime64[ns]") + (h * 3600 + mi * 60 + sec).astype("timedelta64[s]")
            todo[start + pos] = False
        start = end


def _parse_datetimes(text: pd.Series, null: pd.Series, dayfirst: bool, timezone: str | None) -> tuple[pd.Series, pd.Series]:
    """:func:`parse_datetimes` of cleaned ``text`` whose null values are ``null``, value by value through every format."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
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
    arr = _arrow_text(text)
    if arr is not None and len(text):
        import pyarrow as pa
        import pyarrow.compute as pc

        # a whole number of at most 15 digits, without a leading zero, goes unchanged through every rule below and is
        # read exactly by any reader: pyarrow reads those; every other value is parsed below, as before
        missing = null.to_numpy(dtype=bool)
        plain = pc.match_substring_regex(arr, _PLAIN_INT).to_numpy(zero_copy_only=False) & ~missing
        if plain.any() or missing.any():
            values = np.full(len(text), np.nan)
            if plain.any():
                values[plain] = pc.cast(arr.filter(pa.array(plain)), pa.int64()).to_numpy().astype("float64")
            # the rest through every rule; of the null values (NaN, never bad) one goes along, so that pandas reads the
            # rest as it read the whole column: as floats once a value is missing
            rest = ~plain & ~missing
            if rest.any() and missing.any():
                rest[np.argmax(missing)] = True
            if rest.any():
                sub, _ = _parse_numbers(text[rest], null[rest], decimal)
                values[rest] = sub.to_numpy()
            values = pd.Series(values, index=s.index, name=text.name)
            return values, ~null & values.isna()
    return _parse_numbers(text, null, decimal)


#: what :func:`parse_numbers` reads with pyarrow: the same value through every path (no leading zero: no "-0")
_PLAIN_INT = r"^(0|-?[1-9][0-9]{0,14})$"


def _parse_numbers(text: pd.Series, null: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    """:func:`parse_numbers` of cleaned ``text`` whose null values are ``null``, through every rule."""
    t = _drop(text, _NUM_JUNK, _NUM_JUNK_ASCII).str.replace("−", "-", regex=False)
    if decimal == ",":
        t = t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    elif decimal == ".":
        t = t.str.replace(",", "", regex=False)
    else:
        has_c = t.str.contains(",", regex=False)
        has_d = t.str.contains(".", regex=False)
        both = has_c & has_d
        comma_last = pd.Series(False, index=t.index)  # read only where both marks are
        if both.any():
            comma_last[both] = t[both].str.rfind(",") > t[both].str.rfind(".")
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


def _arrow_strings(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def isin(s: pd.Series, values) -> pd.Series:
    """``s.isin(values)``, the same mask; for a column held by pyarrow and a set of strings, the value set is built by
    pyarrow at once (pandas converts the values one by one: seconds for a hundred thousand deal ids). ``values`` may be
    a Series or array of text held by pyarrow too: it then never becomes Python strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _arrow_strings(s) and _arrow_strings(values) and not isinstance(values, (set, list, tuple)):
        arr = pa.array(s.array)
        vals = pa.array(values.array if isinstance(values, (pd.Series, pd.Index)) else values)
        vals = (vals.combine_chunks() if isinstance(vals, pa.ChunkedArray) else vals).cast(arr.type)
        if not len(vals):  # pandas: no value, no match (a missing value matches a missing value)
            return pd.Series(np.zeros(len(s), dtype=bool), index=s.index, name=s.name)
        hit = pc.is_in(arr, value_set=pc.unique(vals))
        return pd.Series(np.asarray(hit, dtype=bool), index=s.index, name=s.name)
    vals = list(values)
    dtype = s.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow") or not all(isinstance(x, str) for x in vals):
        return s.isin(vals)

    arr = pa.array(s.array)
    hit = pc.is_in(arr, value_set=pa.array(vals, type=arr.type)) if vals else np.zeros(len(s), dtype=bool)
    return pd.Series(np.asarray(hit, dtype=bool), index=s.index, name=s.name)
