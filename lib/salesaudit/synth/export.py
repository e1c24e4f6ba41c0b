"""The department written as CRM exports: the generic one and a Bitrix24-style one.

Both plant the same extra *dirty* rows (added rows, never corruptions of real ones) that a loader
must quarantine; ``MANIFEST.json`` in the output folder lists the expected quarantine counts and the
rows per file.

The real rows are formatted column by column with pyarrow and numpy (dates by their digits,
amounts by their whole and half units, labels by lookup), never row by row; the few dirty rows go
through the per-value formatters (:func:`_num`, :func:`_fmt_dt`, :func:`_txt`), which are the
reference the columns must agree with, and Python's ``csv`` module. The bytes are those the
row-by-row ``csv.writer`` gave before.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..data.model import TABLE_ORDER, TABLES
from .design import (
    _BITRIX_LEAD_TITLES,
    _NAT,
    _NOT_IN_GENERIC_EXPORT,
    _NS_DAY,
    BAD_DATE_TEXT,
    BITRIX_ACTIVITY_TYPES,
    BITRIX_CHANNELS,
    BITRIX_DEAL_CLOSED,
    BITRIX_LEAD_STATUS,
    BITRIX_NOT_CLOSED,
    BITRIX_PAYMENT_TERMS,
    BITRIX_PIPELINE,
    BITRIX_PLAN_METRICS,
    BITRIX_ROLES,
    BITRIX_STAGE_IDS,
    BITRIX_STAGE_LABELS,
    BITRIX_STAGE_PROBABILITY,
    BITRIX_STAGE_SEMANTICS,
    BITRIX_TEAM_LABEL,
    BITRIX_UNKNOWN_STAGE_ID,
    BITRIX_UNKNOWN_STAGE_LABEL,
    DESK,
    GENERIC_UNKNOWN_STAGE,
    ROBOT,
    Department,
    _missing,
)

__all__ = ["write_generic", "write_bitrix24", "write_anomalies", "UNKNOWN_STAGE"]

# --------------------------------------------------------------------------- dirty rows


class _Raw(str):
    """A value written verbatim (an unparseable date, say)."""


class _UnknownStage:
    """A stage that is not in the funnel; each format writes its own label."""


UNKNOWN_STAGE = _UnknownStage()


def _dirty_rows(dept: Department) -> dict[str, list[tuple[str, dict]]]:
    """The planted dirty rows per table: ``(reason, canonical row dict)``.

    Every row has exactly one problem. Dirty deals have no history, payments or
    activities (the exact duplicate is a copy of a real row whose first copy is
    accepted).
    """
    rng = np.random.default_rng([dept.seed, 17])
    t = dept.tables
    deals = t["deals"]
    # managers employed during the whole period, so that a row's manager is never a problem
    managers = list(dept.anomalies["roster"]["normal"]) or ["h01"]
    won_deals = deals[deals["outcome"] == "won"]
    real = won_deals.iloc[len(won_deals) // 3]
    span = dept.as_of - dept.start

    def when(frac):
        opening = dept.calendar.next_open((dept.start + span * frac).normalize())
        return dept.calendar.add_working_minutes(opening, float(rng.integers(20, 500 * 60)) / 60).floor("s")

    def deal(deal_id, frac, **over):
        created = when(frac)
        row = {
            "deal_id": deal_id, "created_at": created, "manager": managers[int(rng.integers(len(managers)))],
            "amount": float(np.round(rng.uniform(80_000, 600_000) / 100) * 100), "currency": "RUB",
            "product": "Сервисный контракт", "channel": "website", "lead_id": None, "stage": "qualified",
            "closed_at": None, "outcome": "open", "lost_reason": None, "discount_pct": None, "payment_terms": None,
        }
        row.update(over)
        return row

    all_ids = np.concatenate([_ids(deals["deal_id"]), _ids(t["leads"]["lead_id"])])
    next_id = _max_id(deals["deal_id"]) + 1000
    if np.isin(np.arange(next_id, next_id + 7), all_ids).any():  # a large department: its lead ids reach the deals' next ones
        next_id = int(all_ids.max()) + 1000
    new_ids = [str(next_id + i) for i in range(3)]
    ghost = [str(49001 + i) for i in range(5)]  # deal ids that exist nowhere
    assert not np.isin(np.array([int(x) for x in new_ids + ghost]), all_ids).any()

    c1 = when(0.42)
    conflict = deal(new_ids[0], 0.31, amount=185_000.0)
    out: dict[str, list[tuple[str, dict]]] = {
        "deals": [
            ("missing_id", deal(None, 0.15)),
            ("duplicate_conflict", conflict),
            ("duplicate_conflict", dict(conflict, amount=215_000.0)),
            ("duplicate_exact", {c: real[c] for c in deals.columns}),
            ("bad_date", deal(new_ids[1], 0.5, created_at=_Raw(BAD_DATE_TEXT))),
            ("future_date", deal(new_ids[2], 0.5, created_at=pd.Timestamp("2027-03-15 11:20:00"), stage="new")),
            ("negative_amount", deal(str(next_id + 3), 0.66, amount=-125_000.0)),
            ("unknown_stage", deal(str(next_id + 4), 0.22, stage=UNKNOWN_STAGE)),
            ("unknown_stage", deal(str(next_id + 5), 0.71, stage=UNKNOWN_STAGE)),
            (
                "closed_before_created",
                deal(str(next_id + 6), 0.42, created_at=c1, stage="won", outcome="won",
                     closed_at=c1 - pd.Timedelta(days=12), discount_pct=5.0, payment_terms="postpaid"),
            ),
        ],
    }
    # one exact copy must only carry the original's problems: none
    h = t["stage_history"]
    some = h.iloc[len(h) // 2]
    out["stage_history"] = [
        ("unknown_deal", {"deal_id": ghost[0], "stage": "qualified", "entered_at": when(0.2), "moved_by": managers[0 % len(managers)]}),
        ("unknown_deal", {"deal_id": ghost[1], "stage": "proposal", "entered_at": when(0.55), "moved_by": managers[1 % len(managers)]}),
        ("unknown_deal", {"deal_id": ghost[2], "stage": "won", "entered_at": when(0.8), "moved_by": managers[2 % len(managers)]}),
        ("unknown_stage", {"deal_id": some["deal_id"], "stage": UNKNOWN_STAGE,
                           "entered_at": some["entered_at"] + pd.Timedelta(minutes=7), "moved_by": some["moved_by"]}),
    ]
    le = t["leads"]
    next_lead = _max_id(le["lead_id"]) + 1000
    out["leads"] = [
        ("missing_id", {"lead_id": None, "created_at": when(0.37), "channel": "website", "manager": managers[3 % len(managers)],
                        "first_response_at": None, "status": "new", "disqualify_reason": None, "deal_id": None}),
        ("bad_date", {"lead_id": str(next_lead), "created_at": _Raw(BAD_DATE_TEXT), "channel": "calls", "manager": managers[4 % len(managers)],
                      "first_response_at": None, "status": "new", "disqualify_reason": None, "deal_id": None}),
    ]
    p = t["payments"]
    won = won_deals.iloc[len(won_deals) // 5]
    next_pay = _max_id(p["payment_id"]) + 1000
    out["payments"] = [
        ("unknown_deal", {"payment_id": str(next_pay), "deal_id": ghost[3], "paid_at": when(0.3), "amount": 120_000.0}),
        ("unknown_deal", {"payment_id": str(next_pay + 1), "deal_id": ghost[4], "paid_at": when(0.6), "amount": 64_500.0}),
        ("negative_amount", {"payment_id": str(next_pay + 2), "deal_id": won["deal_id"],
                             "paid_at": dept.calendar.next_open(won["closed_at"] + pd.Timedelta(days=2)), "amount": -50_000.0}),
    ]
    a = t["activities"]
    next_act = _max_id(a["activity_id"]) + 1000
    lead = le.iloc[len(le) // 2]
    out["activities"] = [
        ("bad_date", {"activity_id": str(next_act), "type": "call", "manager": lead["manager"], "deal_id": None,
                      "lead_id": lead["lead_id"], "created_at": _Raw(BAD_DATE_TEXT), "duration_sec": 95.0,
                      "due_at": None, "done_at": None}),
    ]
    return out


def _ids(col: pd.Series) -> np.ndarray:
    """A column of decimal ids as integers."""
    return pc.cast(pa.array(col.astype(object).to_numpy() if col.dtype == object else col.array), pa.int64()).to_numpy(zero_copy_only=False)


def _max_id(col: pd.Series) -> int:
    return int(_ids(col).max())


def _positions(seed: int, table: str, n_real: int, dirty: list[tuple[str, dict]], real_ids: pd.Series | None) -> list[int]:
    """Where each dirty row goes: index in the real rows before which it is inserted."""
    rng = np.random.default_rng([seed, 23, TABLE_ORDER.index(table)])
    pos = [int(x) for x in rng.integers(1, max(n_real, 2), len(dirty))]
    for i, (reason, row) in enumerate(dirty):
        if reason == "duplicate_exact" and real_ids is not None:
            original = int(np.flatnonzero((real_ids == row["deal_id"]).to_numpy(dtype=bool, na_value=False))[0])
            pos[i] = max(pos[i], original + 1)  # the copy comes after the original
            if pos[i] > n_real:
                pos[i] = n_real
    return pos


# --------------------------------------------------------------------------- per-value formatters (the reference)


def _num(v, comma: bool = False, fixed: bool = False) -> str:
    """Number with at most 2 decimals; ``fixed`` always writes 2; ``comma`` uses a decimal comma."""
    if _missing(v):
        return ""
    text = f"{float(v):.2f}"
    if not fixed:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text.replace(".", ",") if comma else text


def _fmt_dt(v, fmt: str) -> str:
    if isinstance(v, _Raw):
        return str(v)
    if _missing(v):
        return ""
    return pd.Timestamp(v).strftime(fmt)


def _txt(v) -> str:
    if isinstance(v, _Raw):
        return str(v)
    return "" if _missing(v) else str(v)


# --------------------------------------------------------------------------- column formatters

_STR = pa.large_string()
#: rows formatted at once (bounds the memory a large table takes while it is written)
_CHUNK = 1 << 19
_TENS = (np.arange(100) // 10 + 48).astype(np.uint8)
_UNITS = (np.arange(100) % 10 + 48).astype(np.uint8)


def _join(*parts, sep: str = "") -> pa.Array:
    """Texts (columns or constant strings) joined element-wise with ``sep``."""
    return pc.binary_join_element_wise(*[pa.scalar(p, _STR) if isinstance(p, str) else p for p in parts], pa.scalar(sep, _STR))


def _const(value: str, n: int) -> pa.Array:
    return pa.array([value], type=_STR).take(pa.array(np.zeros(n, dtype=np.int64)))


def _choose(values: list[str], codes: np.ndarray) -> pa.Array:
    """``values[codes]`` as a text column."""
    return pa.array(values, type=_STR).take(pa.array(np.asarray(codes, dtype=np.int64)))


def _text(col) -> pa.Array:
    """A text column as a pyarrow array, missing values as empty texts."""
    if isinstance(col, pd.Series):
        col = col.array
    arr = col._pa_array if hasattr(col, "_pa_array") else pa.array(np.asarray(col, dtype=object), type=_STR, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pc.fill_null(arr.cast(_STR), "")


def _from_fixed(buf: np.ndarray, empty: np.ndarray | None = None) -> pa.Array:
    """Rows of a ``uint8`` matrix as texts (ASCII), the rows in ``empty`` as empty texts."""
    n, width = buf.shape
    lengths = np.full(n, width, dtype=np.int64) if empty is None else np.where(empty, 0, width)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = buf if empty is None else buf[~empty]
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data)))


def _civil(days: np.ndarray):
    """Year, month, day of days since 1970-01-01 (proleptic Gregorian; H. Hinnant's civil_from_days)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def _fmt_dt_column(col, fmt: str) -> pa.Array:
    """:func:`_fmt_dt` of a whole datetime column, by the digits: ``fmt`` of ``%Y %m %d %H %M %S`` and literal characters."""
    ns = np.asarray(col.to_numpy(dtype="datetime64[ns]") if isinstance(col, pd.Series) else col).view(np.int64)
    nat = ns == _NAT
    ns = np.where(nat, 0, ns)
    days = np.floor_divide(ns, _NS_DAY)
    sec = (ns - days * _NS_DAY) // 1_000_000_000
    fields = {}
    if any(k in fmt for k in ("%Y", "%m", "%d")):
        year, month, day = _civil(days)
        fields.update({"%Y": year, "%m": month, "%d": day})
    fields.update({"%H": sec // 3600, "%M": sec // 60 % 60, "%S": sec % 60})
    parts, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%":
            parts.append(fmt[i:i + 2])
            i += 2
        else:
            parts.append(fmt[i])
            i += 1
    width = sum(4 if p == "%Y" else 2 if p.startswith("%") else len(p.encode("ascii")) for p in parts)
    buf = np.empty((len(ns), width), dtype=np.uint8)
    at = 0
    for p in parts:
        if p == "%Y":
            y = fields[p]
            for pair in (y // 100 % 100, y % 100):
                buf[:, at], buf[:, at + 1] = _TENS[pair], _UNITS[pair]
                at += 2
        elif p.startswith("%"):
            v = fields[p]
            buf[:, at], buf[:, at + 1] = _TENS[v], _UNITS[v]
            at += 2
        else:
            buf[:, at] = ord(p)
            at += 1
    return _from_fixed(buf, nat if nat.any() else None)


def _fmt_num_column(col, comma: bool = False, fixed: bool = False) -> pa.Array:
    """:func:`_num` of a whole float column: whole and half units by their digits (every amount,
    discount, duration and target of the department), anything else value by value."""
    v = np.asarray(col, dtype=float)
    missing = np.isnan(v)
    twice = v * 2
    simple = ~missing & (twice == np.floor(twice)) & (np.abs(v) < 2.0**50) & ~((v == 0) & np.signbit(v))
    whole = np.floor(np.abs(np.where(simple, v, 0.0))).astype(np.int64)
    half = (simple & (np.abs(v) - whole == 0.5)).astype(np.int8)
    point = "," if comma else "."
    tail = _choose([point + "00", point + "50"] if fixed else ["", point + "5"], half)
    out = _join(pc.cast(pa.array(whole), _STR), tail)
    negative = v < 0
    if negative.any():
        out = _join(_choose(["", "-"], negative.astype(np.int8)), out)
    other = np.flatnonzero(~simple & ~missing)
    if not len(other) and not missing.any():
        return out
    values = out.to_numpy(zero_copy_only=False).astype(object)
    values[missing] = ""
    for i in other:
        values[i] = _num(v[i], comma=comma, fixed=fixed)
    return pa.array(values, type=_STR)


def _needs_quotes(col: pa.Array, sep: str, eol: str) -> bool:
    """Whether any value holds the separator, the quote character or a line-end character of ``eol``
    (all ASCII: a byte scan of the column's data)."""
    col = col.cast(_STR)
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int64)[col.offset:col.offset + len(col) + 1]
    if not len(col) or offsets[-1] == offsets[0]:
        return False
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return any(bool((data == ord(c)).any()) for c in {sep, '"', *eol})


def _quote(col: pa.Array, sep: str, eol: str) -> pa.Array:
    """Python ``csv``'s minimal quoting of a text column: quoted when it holds the separator, the
    quote character or a line-end character of ``eol``; the quote doubled."""
    if not _needs_quotes(col, sep, eol):
        return col
    cls = "".join({"\r": "\\r", "\n": "\\n"}.get(c, c) for c in sorted({sep, '"', *eol}))
    hit = pc.match_substring_regex(col, "[" + cls + "]")
    quoted = _join('"', pc.replace_substring(col, '"', '""'), '"')
    return pc.if_else(hit, quoted, col)


def _csv_line(cells: list[str], sep: str, eol: str) -> str:
    """One row as Python's ``csv`` writes it (without the line end)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator=eol, quoting=csv.QUOTE_MINIMAL).writerow(cells)
    return buf.getvalue()[: -len(eol)]


def _lines(columns: list[pa.Array], sep: str, eol: str) -> pa.Array:
    """The rows of formatted text columns as CSV lines (without the line end)."""
    if len(columns) == 1:
        return _quote(columns[0], sep, eol)
    return _join(*[_quote(c, sep, eol) for c in columns], sep=sep)


def _write_lines(out, lines: pa.Array, eol: str, encoding: str) -> None:
    """``line + eol`` for every line, into the open binary file ``out``."""
    if len(lines) == 0:
        return
    ended = _join(lines, "", sep=eol)
    offsets = np.frombuffer(ended.buffers()[1], dtype=np.int64)[ended.offset:ended.offset + len(ended) + 1]
    data = memoryview(ended.buffers()[2])[int(offsets[0]):int(offsets[-1])]
    out.write(data if encoding == "utf-8" else bytes(data).decode("utf-8").encode(encoding))


def _write_table(path: Path, header: list[str], n_real: int, real_lines, dirty_line, order: list[tuple], sep: str, eol: str,
                 encoding: str, blank_after: int | None = None) -> None:
    """Write the header, then the rows in ``order`` (``("real", a, b)``: the real rows a..b-1,
    formatted ``_CHUNK`` at a time by ``real_lines(a, b, first_row)``; ``("dirty", i)``: the line
    ``dirty_line(i, row)``), with an empty line before data row ``blank_after``."""
    with open(path, "wb") as out:
        out.write((_csv_line(header, sep, eol) + eol).encode(encoding))
        row = 0
        for part in order:
            if part[0] == "dirty":
                if row == blank_after:
                    out.write(eol.encode(encoding))
                out.write((dirty_line(part[1], row) + eol).encode(encoding))
                row += 1
                continue
            a, b = part[1], part[2]
            while a < b:
                stop = min(b, a + _CHUNK)
                if blank_after is not None and row < blank_after < row + (stop - a):
                    stop = a + (blank_after - row)  # the chunk ends where the empty line goes
                if row == blank_after:
                    out.write(eol.encode(encoding))
                _write_lines(out, real_lines(a, stop, row), eol, encoding)
                row += stop - a
                a = stop


def _order(dept: Department, table: str, n_real: int, dirty: list, real_ids=None):
    """Where the dirty rows go among the real ones: the parts in file order and each dirty row's 0-based data-row index."""
    pos = _positions(dept.seed, table, n_real, dirty, real_ids)
    parts, where, j, n = [], {}, 0, 0
    for i in sorted(range(len(dirty)), key=lambda i: (pos[i], i)):
        if pos[i] > j:
            parts.append(("real", j, pos[i]))
            n += pos[i] - j
            j = pos[i]
        where[i] = n
        parts.append(("dirty", i))
        n += 1
    if j < n_real:
        parts.append(("real", j, n_real))
    return parts, [where[i] for i in range(len(dirty))]


def _write_manifest(dept: Department, out: Path, fmt: str, files: dict, dirty: dict, lines: dict, blank: dict) -> dict:
    quarantine: dict[str, dict[str, int]] = {}
    planted = []
    for table, items in dirty.items():
        for (reason, row), line in zip(items, lines[table]):
            quarantine.setdefault(table, {})
            quarantine[table][reason] = quarantine[table].get(reason, 0) + 1
            key = TABLES[table].key or "deal_id"
            planted.append({"table": table, "file": files[table], "reason": reason, "line": line,
                            "key_column": key, "key": None if _missing(row.get(key)) else str(row[key])})
    for table, line in blank.items():
        quarantine.setdefault(table, {})["empty_row"] = 1
        planted.append({"table": table, "file": files[table], "reason": "empty_row", "line": line, "key_column": None, "key": None})
    counts = dept.counts()
    manifest = {
        "format": fmt,
        "seed": dept.seed,
        "as_of": dept.as_of.strftime("%Y-%m-%d %H:%M:%S"),
        "files": {
            files[t]: {
                "table": t,
                "rows": counts[t] + len(dirty.get(t, [])),
                "blank_lines": 1 if t in blank else 0,
                "planted_rows": len(dirty.get(t, [])),
            }
            for t in TABLE_ORDER
        },
        "expected_clean_rows": counts,
        "expected_quarantine": {t: dict(sorted(v.items())) for t, v in quarantine.items()},
        "planted": sorted(planted, key=lambda x: (TABLE_ORDER.index(x["table"]), x["line"])),
        "notes": (
            "rows = data records as pandas reads them (header and blank lines excluded); "
            "line = 1-based physical line in the file (line 1 is the header). "
            "duplicate_exact: the second copy is quarantined, the first accepted; "
            "duplicate_conflict: both rows are quarantined."
        ),
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


# --------------------------------------------------------------------------- the generic export

_ISO = "%Y-%m-%d %H:%M:%S"


def write_generic(dept: Department, out_dir) -> dict:
    """Format A: one UTF-8 CSV per canonical table (``<table>.csv``), comma, LF, ISO-like dates.

    Plants the dirty rows and a blank line in ``deals.csv``; writes ``MANIFEST.json``.
    Returns the manifest.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dirty = _dirty_rows(dept)

    def cell(table, col, v):
        if isinstance(v, _UnknownStage):
            return GENERIC_UNKNOWN_STAGE
        kind = TABLES[table].column(col).kind
        if kind == "datetime":
            return _fmt_dt(v, _ISO)
        if kind == "float":
            return _num(v)
        return _txt(v)

    files, lines, blank = {}, {}, {}
    for table in TABLE_ORDER:
        df = dept.tables[table]
        cols = [c for c in df.columns if (table, c) not in _NOT_IN_GENERIC_EXPORT]
        kinds = [TABLES[table].column(c).kind for c in cols]

        def real_lines(a, b, row, df=df, cols=cols, kinds=kinds):
            part = df.iloc[a:b]
            formatted = [_fmt_dt_column(part[c], _ISO) if k == "datetime" else _fmt_num_column(part[c]) if k == "float" else _text(part[c])
                         for c, k in zip(cols, kinds)]
            return _lines(formatted, ",", "\n")

        items = dirty.get(table, [])
        drows = [_csv_line([cell(table, c, row.get(c)) for c in cols], ",", "\n") for _, row in items]
        order, at = _order(dept, table, len(df), items, df["deal_id"] if table == "deals" else None)
        blank_after = None
        line_of = [i + 2 for i in at]
        if table == "deals":
            blank_after = (len(df) + len(items)) // 2
            line_of = [i + 2 + (1 if i >= blank_after else 0) for i in at]
            blank[table] = blank_after + 2
        files[table] = f"{table}.csv"
        lines[table] = line_of
        _write_table(out / files[table], cols, len(df), real_lines, lambda i, row, drows=drows: drows[i], order, ",", "\n", "utf-8", blank_after)
    return _write_manifest(dept, out, "generic", files, dirty, lines, blank)


# --------------------------------------------------------------------------- the Bitrix24 export

_BX_DATE = "%d.%m.%Y %H:%M:%S"
_BX_DAY = "%d.%m.%Y"
_BX_TIME = "%Y-%m-%dT%H:%M:%S"
_BITRIX_USER_ID = {"h01": "1", ROBOT: "2", DESK: "40"}


def _bx_user_id(key: str) -> str:
    """The portal's user id of a manager key: ``m07`` → ``17``; from ``m30`` on one more, so that
    no seller takes the inbound desk's ``40``."""
    if key in _BITRIX_USER_ID:
        return _BITRIX_USER_ID[key]
    if not key[1:].isdigit():
        return key
    n = 10 + int(key[1:])
    return str(n if n < 40 else n + 1)


def _lookup(col: pa.Array, mapping: dict, default: str | None = "") -> pa.Array:
    """``mapping[value]`` of every value of a text column; a value not in it: ``default``, or the
    value itself when ``default`` is ``None``; a missing value: ``""``."""
    idx = pc.index_in(col, value_set=pa.array(list(mapping), type=_STR))
    found = pa.array([str(v) for v in mapping.values()], type=_STR).take(idx)
    return pc.fill_null(found, default) if default is not None else pc.fill_null(pc.coalesce(found, col), "")


class _BitrixColumns:
    """The Bitrix24 columns of a table's real rows, formatted a slice at a time; what needs the
    whole table (the clients of each deal and lead, the first entry of each deal) is read once."""

    def __init__(self, dept: Department, table: str):
        self.dept, self.table, self.df = dept, table, dept.tables[table]
        self.names = dept.manager_names()
        df = self.df
        if table == "deals":
            self.clients = dept.extras["deal_clients"].set_index("deal_id").reindex(df["deal_id"].astype(object).to_numpy())
        elif table == "leads":
            self.clients = dept.extras["lead_clients"].set_index("lead_id").reindex(df["lead_id"].astype(object).to_numpy())
        elif table == "stage_history":
            self.first = ~df["deal_id"].duplicated().to_numpy()

    def __call__(self, a: int, b: int) -> list[pa.Array]:
        df = self.df.iloc[a:b]
        n = len(df)

        def who(col):
            return _lookup(_text(df[col]), self.names, None)

        def dt(col, fmt=_BX_DATE):
            return _fmt_dt_column(df[col], fmt)

        table = self.table
        if table == "managers":
            return [pa.array([_bx_user_id(k) for k in df["manager"]], type=_STR), _text(df["name"]), _lookup(_text(df["role"]), BITRIX_ROLES),
                    _text(df["team"]), dt("hired_at", _BX_DAY), dt("left_at", _BX_DAY)]
        if table == "deals":
            clients = self.clients.iloc[a:b]
            company, company_id, contact, contact_id = (_text(clients[c].fillna("")) for c in ("company", "company_id", "contact", "contact_id"))
            stage, product, channel = _text(df["stage"]), _text(df["product"]), _text(df["channel"])
            closed = df["outcome"].isin(["won", "lost"]).to_numpy(dtype=bool)
            form = pa.array(df["product"].isna().to_numpy())
            title = pc.if_else(form, _join(_lookup(channel, _BITRIX_LEAD_TITLES, "Заявка"), contact, sep=": "), _join(product, company, sep=" для "))
            return [
                _text(df["deal_id"]), title, _const(BITRIX_PIPELINE, n), _lookup(stage, BITRIX_STAGE_LABELS, None),
                _lookup(stage, BITRIX_STAGE_PROBABILITY), who("manager"), _fmt_num_column(df["amount"], comma=True, fixed=True),
                _text(df["currency"]), _lookup(channel, BITRIX_CHANNELS, None), product, company, company_id, contact, contact_id,
                _choose([BITRIX_DEAL_CLOSED[False], BITRIX_DEAL_CLOSED[True]], closed.astype(np.int8)), dt("created_at"),
                pc.if_else(pa.array(closed), dt("closed_at"), pa.scalar(BITRIX_NOT_CLOSED, _STR)), _fmt_num_column(df["discount_pct"], comma=True),
                _lookup(_text(df["payment_terms"]), BITRIX_PAYMENT_TERMS), _text(df["lost_reason"]), _text(df["lead_id"]),
            ]
        if table == "leads":
            channel = _text(df["channel"])
            title = _join(_lookup(channel, _BITRIX_LEAD_TITLES, "Заявка"), _text(self.clients["company"].iloc[a:b].fillna("")), sep=": ")
            return [_text(df["lead_id"]), title, _lookup(_text(df["status"]), BITRIX_LEAD_STATUS), _lookup(channel, BITRIX_CHANNELS, None),
                    who("manager"), dt("created_at"), dt("first_response_at"), _text(df["disqualify_reason"]), _text(df["deal_id"])]
        if table == "activities":
            dur = df["duration_sec"].to_numpy(dtype=float)
            whole = ~np.isnan(dur) & (dur == np.round(dur))
            durations = _fmt_num_column(np.where(whole, dur, np.nan))
            odd = np.flatnonzero(~whole & ~np.isnan(dur))
            if len(odd):  # not a whole number of seconds: rounded value by value
                values = durations.to_numpy(zero_copy_only=False).astype(object)
                for i in odd:
                    values[i] = str(int(round(float(dur[i]))))
                durations = pa.array(values, type=_STR)
            return [_text(df["activity_id"]), _lookup(_text(df["type"]), BITRIX_ACTIVITY_TYPES), who("manager"), _text(df["deal_id"]),
                    _text(df["lead_id"]), dt("created_at"), durations, dt("due_at"), dt("done_at")]
        if table == "payments":
            return [_text(df["payment_id"]), _text(df["deal_id"]), dt("paid_at"), _fmt_num_column(df["amount"], comma=True, fixed=True)]
        if table == "stage_history":
            stage = _text(df["stage"])
            semantic = _lookup(stage, BITRIX_STAGE_SEMANTICS)
            final = pc.not_equal(semantic, pa.scalar("P", _STR)).to_numpy(zero_copy_only=False)
            type_id = _choose(["2", "3", "1"], np.where(self.first[a:b], 2, final.astype(np.int8)))
            return [type_id, _text(df["deal_id"]), _join(dt("entered_at", _BX_TIME), "+03:00"), _const("0", n), semantic,
                    _lookup(stage, BITRIX_STAGE_IDS)]
        if table == "plans":
            team = df["manager"].isna().to_numpy()
            return [_text(df["period"]), pc.if_else(pa.array(team), pa.scalar(BITRIX_TEAM_LABEL, _STR), who("manager")),
                    _lookup(_text(df["metric"]), BITRIX_PLAN_METRICS), _fmt_num_column(df["target"], comma=True)]
        raise KeyError(table)


def write_bitrix24(dept: Department, out_dir) -> dict:
    """Format B: a Bitrix24-style export (see the module constants for the labels).

    Windows-1251, ``;``, CRLF, ``DD.MM.YYYY HH:MM:SS`` and decimal commas, managers by
    full name; ``stagehistory.csv`` is a UTF-8 ``crm.stagehistory.list`` dump. Plants
    the dirty rows and writes ``MANIFEST.json``. Returns the manifest.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dirty = _dirty_rows(dept)
    names = dept.manager_names()
    client = dept.extras["deal_clients"].set_index("deal_id")
    lead_client = dept.extras["lead_clients"].set_index("lead_id")
    default_client = ("ООО «Новый клиент»", "3999", "Клиентов Иван", "799999")

    def stage_label(v):
        return BITRIX_UNKNOWN_STAGE_LABEL if isinstance(v, _UnknownStage) else BITRIX_STAGE_LABELS.get(v, _txt(v))

    def who(v):
        return "" if _missing(v) else names.get(v, str(v))

    # the dirty rows, value by value (the reference the column formatters agree with)
    def deal_row(r: dict) -> list[str]:
        did = _txt(r["deal_id"])
        if did in client.index:
            c = client.loc[did]
            company, company_id, contact, contact_id = c["company"], c["company_id"], c["contact"], c["contact_id"]
        else:
            company, company_id, contact, contact_id = default_client
        stage = r["stage"]
        closed = (r.get("outcome") in ("won", "lost")) if not _missing(r.get("outcome")) else False
        prob = "" if isinstance(stage, _UnknownStage) else str(BITRIX_STAGE_PROBABILITY[stage])
        if _missing(r["product"]):  # a deal the web form created: titled by the form, no company
            title = f"{_BITRIX_LEAD_TITLES.get(r['channel'], 'Заявка')}: {contact}"
        else:
            title = f"{_txt(r['product'])} для {company}"
        return [
            did, title, BITRIX_PIPELINE, stage_label(stage), prob, who(r["manager"]), _num(r["amount"], comma=True, fixed=True),
            _txt(r["currency"]), BITRIX_CHANNELS.get(r["channel"], _txt(r["channel"])), _txt(r["product"]),
            company, company_id, contact, contact_id, BITRIX_DEAL_CLOSED[bool(closed)], _fmt_dt(r["created_at"], _BX_DATE),
            _fmt_dt(r["closed_at"], _BX_DATE) if closed else BITRIX_NOT_CLOSED, _num(r["discount_pct"], comma=True),
            BITRIX_PAYMENT_TERMS.get(r["payment_terms"], "") if not _missing(r["payment_terms"]) else "",
            _txt(r["lost_reason"]), _txt(r["lead_id"]),
        ]

    def lead_row(r: dict) -> list[str]:
        lid = _txt(r["lead_id"])
        company = lead_client.loc[lid, "company"] if lid in lead_client.index else default_client[0]
        return [lid, f"{_BITRIX_LEAD_TITLES.get(r['channel'], 'Заявка')}: {company}", BITRIX_LEAD_STATUS[r["status"]],
                BITRIX_CHANNELS.get(r["channel"], _txt(r["channel"])), who(r["manager"]), _fmt_dt(r["created_at"], _BX_DATE),
                _fmt_dt(r["first_response_at"], _BX_DATE), _txt(r["disqualify_reason"]), _txt(r["deal_id"])]

    def activity_row(r: dict) -> list[str]:
        dur = r["duration_sec"]
        return [_txt(r["activity_id"]), BITRIX_ACTIVITY_TYPES[r["type"]], who(r["manager"]), _txt(r["deal_id"]), _txt(r["lead_id"]),
                _fmt_dt(r["created_at"], _BX_DATE), "" if _missing(dur) else str(int(round(float(dur)))),
                _fmt_dt(r["due_at"], _BX_DATE), _fmt_dt(r["done_at"], _BX_DATE)]

    def payment_row(r: dict) -> list[str]:
        return [_txt(r["payment_id"]), _txt(r["deal_id"]), _fmt_dt(r["paid_at"], _BX_DATE), _num(r["amount"], comma=True, fixed=True)]

    def history_row(r: dict) -> list[str]:
        # without the ID (the file's row number, added when written); TYPE_ID: 1 the deal's
        # creation, 2 a move to an intermediate stage, 3 to a final one
        stage = r["stage"]
        unknown = isinstance(stage, _UnknownStage)
        ts = r["entered_at"]
        type_id = "1" if r.get("_created") else ("2" if unknown or BITRIX_STAGE_SEMANTICS[stage] == "P" else "3")
        return [
            type_id, _txt(r["deal_id"]),
            _fmt_dt(ts, _BX_TIME) + "+03:00" if not isinstance(ts, _Raw) else str(ts),
            "0", "P" if unknown else BITRIX_STAGE_SEMANTICS[stage], BITRIX_UNKNOWN_STAGE_ID if unknown else BITRIX_STAGE_IDS[stage],
        ]

    def manager_row(r: dict) -> list[str]:
        return [_bx_user_id(r["manager"]), r["name"], BITRIX_ROLES[r["role"]], _txt(r["team"]), _fmt_dt(r["hired_at"], _BX_DAY),
                _fmt_dt(r["left_at"], _BX_DAY)]

    def plan_row(r: dict) -> list[str]:
        return [r["period"], BITRIX_TEAM_LABEL if _missing(r["manager"]) else who(r["manager"]), BITRIX_PLAN_METRICS[r["metric"]],
                _num(r["target"], comma=True)]

    spec = {
        "managers": ("managers.csv", ["ID", "ФИО", "Должность", "Отдел", "Дата приёма", "Дата увольнения"], manager_row),
        "deals": (
            "deals.csv",
            ["ID", "Название сделки", "Воронка", "Стадия сделки", "Вероятность", "Ответственный", "Сумма", "Валюта",
             "Источник", "Товар", "Компания", "ID", "Контакт", "ID", "Сделка закрыта", "Дата создания", "Дата закрытия",
             "Скидка, %", "Условия оплаты", "Причина отказа", "ID лида"],
            deal_row,
        ),
        "leads": (
            "leads.csv",
            ["ID", "Название лида", "Статус", "Источник", "Ответственный", "Дата создания", "Дата первого ответа",
             "Причина отказа", "ID сделки"],
            lead_row,
        ),
        "stage_history": (
            "stagehistory.csv",
            ["ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "CATEGORY_ID", "STAGE_SEMANTIC_ID", "STAGE_ID"],
            history_row,
        ),
        "activities": (
            "activities.csv",
            ["ID", "Тип", "Ответственный", "ID сделки", "ID лида", "Дата начала", "Длительность, сек", "Крайний срок",
             "Дата выполнения"],
            activity_row,
        ),
        "payments": ("payments.csv", ["ID", "ID сделки", "Дата оплаты", "Сумма"], payment_row),
        "plans": ("plans.csv", ["Период", "Менеджер", "Показатель", "План"], plan_row),
    }
    files, lines = {}, {}
    for table in TABLE_ORDER:
        fname, header, fn = spec[table]
        df = dept.tables[table]
        history = table == "stage_history"
        sep, eol, encoding = ("," if history else ";"), ("\n" if history else "\r\n"), ("utf-8" if history else "cp1251")
        columns = _BitrixColumns(dept, table)
        items = dirty.get(table, [])
        drows = [_csv_line(fn(row), sep, eol) for _, row in items]
        if history:  # the ID column is the row's number in the file

            def real_lines(a, b, row, columns=columns, sep=sep, eol=eol):
                ids = pc.cast(pa.array(np.arange(1001 + row, 1001 + row + b - a, dtype=np.int64)), _STR)
                return _lines([ids] + columns(a, b), sep, eol)

            def dirty_line(i, row, drows=drows, sep=sep):
                return f"{1001 + row}{sep}{drows[i]}"
        else:

            def real_lines(a, b, row, columns=columns, sep=sep, eol=eol):
                return _lines(columns(a, b), sep, eol)

            def dirty_line(i, row, drows=drows):
                return drows[i]
        order, at = _order(dept, table, len(df), items, df["deal_id"] if table == "deals" else None)
        _write_table(out / fname, header, len(df), real_lines, dirty_line, order, sep, eol, encoding)
        files[table] = fname
        lines[table] = [i + 2 for i in at]
    return _write_manifest(dept, out, "bitrix24", files, dirty, lines, {})


def write_anomalies(dept: Department, out_dir) -> Path:
    """``ANOMALIES.json``: the planted-truth manifest."""
    path = Path(out_dir) / "ANOMALIES.json"
    path.write_text(json.dumps(dept.anomalies, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
