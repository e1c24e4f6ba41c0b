"""Read one export file into a table of text, whatever its format.

CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, Windows-1251; ``,`` ``;`` tab or
``|``), XLSX, Bitrix24's "Excel" export (an HTML table saved as ``.xls``) and
Parquet all come out the same way: a DataFrame of strings (``""`` for empty),
its header made unique (a repeated ``ID`` becomes ``ID``, ``ID#2``, ``ID#3``),
plus two bookkeeping columns, ``_file`` and ``_row`` (the row number a user sees
in a spreadsheet, the header being row 1). Nothing is parsed or dropped here:
every record of the file is a row, blank lines included.

The format is read from the file's content, not from its name
(:func:`sniff_format`): a CSV saved as ``.xlsx`` is read as CSV, an HTML table
saved as ``.csv`` as a table, and the result's info says so (``format_note``).
Compressed exports are read too: ``deals.csv.gz`` is decompressed in memory, and
a zip archive that is not a workbook holds one or several exports, each a
separate :class:`Source` (see :func:`list_sources` and :func:`find_sources`).
"""
from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import html
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

import pandas as pd

from ..errors import InputFileError, display_path

__all__ = [
    "read_raw",
    "sniff_format",
    "Source",
    "list_sources",
    "find_sources",
    "normalize_header",
    "unique_headers",
    "detect_encoding",
    "sniff_separator",
    "FILE_COL",
    "ROW_COL",
]

FILE_COL = "_file"
ROW_COL = "_row"
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp1251", "utf-16")
SEPARATORS = ("auto", ",", ";", "\t", "|")

#: the largest uncompressed member of a zip (or content of a gzip file) that is read: a guard against zip bombs
MAX_UNCOMPRESSED = 2 * 1024**3


def normalize_header(name: str) -> str:
    """How headers are compared: HTML entities decoded, spaces folded, case and ё ignored.

    >>> normalize_header("  Бюджет ")
    'бюджет'
    >>> normalize_header("Тип &quot;клиента&quot;") == normalize_header('тип "клиента"')
    True
    """
    text = html.unescape(str(name)).replace("\ufeff", "").replace("\xa0", " ")
    return re.sub(r"\s+", " ", text).strip().casefold().replace("ё", "е")


def unique_headers(names) -> list[str]:
    """Make repeated header names unique: the n-th repeat of ``X`` becomes ``X#n``.

    >>> unique_headers(["ID", "Компания", "ID", "Контакт", "ID", ""])
    ['ID', 'Компания', 'ID#2', 'Контакт', 'ID#3', 'column_6']
    """
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names, 1):
        name = html.unescape(str(raw)).replace("\ufeff", "").strip() or f"column_{i}"
        key = normalize_header(name)
        seen[key] = seen.get(key, 0) + 1
        out.append(name if seen[key] == 1 else f"{name}#{seen[key]}")
    return out


def detect_encoding(data: bytes, path, encoding: str = "auto") -> str:
    """Decode ``data``: a BOM wins, then UTF-8, then Windows-1251. Returns the text.

    An explicit ``encoding`` is tried alone; bytes it cannot decode are a whole-file error.
    """
    return _decode(data, display_path(path), encoding)


def _decode(data: bytes, label: str, encoding: str = "auto") -> str:
    if encoding not in ENCODINGS:
        raise ValueError(encoding)
    if encoding == "auto":
        if data.startswith(b"\xef\xbb\xbf"):
            candidates = ["utf-8-sig"]
        elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
            candidates = ["utf-16"]
        else:
            candidates = ["utf-8", "cp1251"]
    else:
        candidates = [encoding]
    first_error = None
    for enc in candidates:
        try:
            return data.decode(enc)
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    pos = first_error.start
    raise InputFileError(
        label,
        f"its bytes are not valid {' or '.join(candidates)} text (byte 0x{data[pos]:02x} at offset {pos} cannot be decoded).",
        "save the export as CSV in UTF-8 (or Windows-1251), or set `encoding:` for this table in the preset "
        f"to the file's real encoding; allowed: {', '.join(ENCODINGS)}.",
    )


def sniff_separator(text: str) -> str:
    """The separator that splits the header line into the most fields (quotes respected).

    >>> sniff_separator('ID;"Сумма, руб";Стадия\\n1;2;3')
    ';'
    """
    first = text.split("\n", 1)[0]
    best, best_n = ",", 0
    for sep in (",", ";", "\t", "|"):
        n = len(next(csv.reader([first], delimiter=sep), []))
        if n > best_n:
            best, best_n = sep, n
    return best


# --- what a file is -------------------------------------------------------------------------------

_HEAD = 4096
_HTML_START = re.compile(r"<\s*(?:html|table|!doctype\s+html|meta|head|body)\b", re.IGNORECASE)
#: control bytes that never occur in text exports (tab, newlines, form feed, Ctrl-Z and ESC excluded)
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 26, 27))


def sniff_format(data: bytes) -> str:
    """What ``data`` (a file's bytes) is, by its content alone.

    One of ``"csv"`` (any other text), ``"xlsx"``, ``"html"``, ``"parquet"``, ``"gzip"``,
    ``"zip"`` (a zip archive that is not an XLSX workbook), ``"xls-binary"`` (Excel 97–2003),
    ``"pdf"`` and ``"unknown-binary"``.

    >>> sniff_format(b"\\xef\\xbb\\xbfID;Name\\r\\n1;A\\r\\n")
    'csv'
    >>> sniff_format('  <meta http-equiv="Content-type"><table><tr><td>ID</td></tr></table>'.encode("cp1251"))
    'html'
    >>> sniff_format("<!DOCTYPE html><html>".encode("utf-16"))
    'html'
    >>> sniff_format(b"PAR1\\x15\\x04"), sniff_format(b"\\x1f\\x8b\\x08\\x00"), sniff_format(b"%PDF-1.4\\n")
    ('parquet', 'gzip', 'pdf')
    >>> sniff_format(bytes(range(256)))
    'unknown-binary'
    """
    head = data[:_HEAD]
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "xlsx" if _zip_kind(_zip_names(data)) == "xlsx" else "zip"
    stripped = head[:512].lstrip()
    if stripped.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls-binary"
    if stripped.startswith(b"%PDF-"):
        return "pdf"
    text = _text_head(head)
    if text is None:
        return "unknown-binary"
    body = text.lstrip("\ufeff \t\r\n\x0b\x0c")
    if body.startswith("<") and _HTML_START.search(body[:2048]):
        return "html"
    return "csv"


def _text_head(head: bytes) -> str | None:
    """The start of ``head`` as text (for spotting HTML), or None when it is binary."""
    if head.startswith(b"\xef\xbb\xbf"):
        return head[3:].decode("utf-8", "ignore")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "ignore")
    utf16 = _utf16_without_bom(head)
    if utf16:
        return head.decode(utf16, "ignore")
    controls = sum(head.count(bytes([c])) for c in _CONTROL)
    if controls and controls > len(head) / 100:
        return None
    return head.decode("cp1251", "replace")  # tags are ASCII: the same in UTF-8 and Windows-1251


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le``/``-be`` when the NUL bytes of ``head`` all sit on one side of its code units."""
    even, odd = head[0::2], head[1::2]
    for codec, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if len(zeros) >= 2 and zeros.count(0) >= len(zeros) / 4 and other.count(0) == 0:
            text = head[: len(head) // 2 * 2].decode(codec, "ignore")
            if not any(ord(ch) < 32 and ch not in "\t\r\n" for ch in text):
                return codec
    return None


def _zip_names(data_or_path) -> list[str] | None:
    """The entry names of a zip archive (bytes or a path), or None when it cannot be opened."""
    try:
        target = io.BytesIO(data_or_path) if isinstance(data_or_path, (bytes, bytearray)) else data_or_path
        with zipfile.ZipFile(target) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        if isinstance(data_or_path, (bytes, bytearray)) and b"xl/" in data_or_path:
            return ["xl/"]  # a damaged workbook: let the XLSX reader say what is wrong with it
        return None


def _zip_kind(names: list[str] | None) -> str | None:
    """``"xlsx"``, an office document other than XLSX (its description), or None for a plain archive."""
    if not names:
        return None
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if "mimetype" in names or "META-INF/manifest.xml" in names:
        return "an OpenDocument file (.ods/.odt)"
    if "[Content_Types].xml" in names:
        return "a Word or PowerPoint document" if any(n.startswith(("word/", "ppt/")) for n in names) else "an Office Open XML document"
    return None


def _zip_members(names: list[str]) -> list[str]:
    """The zip entries that can be exports: no folders, no ``__MACOSX/``, no dot-files; sorted."""
    out = []
    for name in names:
        parts = [p for p in name.replace("\\", "/").split("/") if p]
        if not parts or name.endswith(("/", "\\")):
            continue
        if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
            continue
        out.append(name)
    return sorted(out)


def _member_base(member: str) -> str:
    return PurePosixPath(member.replace("\\", "/")).name


def _strip_gz(name: str) -> str:
    return name[:-3] if name.lower().endswith(".gz") and len(name) > 3 else name


# --- where the tables are: files, gzip files and zip members ------------------------------------------


@dataclass(frozen=True)
class Source:
    """One export to read: a file, or a member of a zip archive.

    ``name`` is what file patterns are matched against (``deals.csv`` for ``deals.csv.gz``,
    the member's base name for a zip member); ``label`` is how reports and errors name it
    (``deals_2026.csv.gz``, ``export.zip:crm/deals.csv``). Both are derived when left empty.

    >>> Source(Path("data/export.zip"), "crm/deals.csv")
    Source(path=PosixPath('data/export.zip'), member='crm/deals.csv', name='deals.csv', label='export.zip:crm/deals.csv')
    >>> Source(Path("data/deals_2026.csv.gz")).name
    'deals_2026.csv'
    """

    path: Path
    member: str | None = None
    name: str = ""
    label: str = ""

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))
        if not self.name:
            object.__setattr__(self, "name", _strip_gz(_member_base(self.member) if self.member else self.path.name))
        if not self.label:
            object.__setattr__(self, "label", f"{self.path.name}:{self.member}" if self.member else self.path.name)


def _label_in(path: Path, data_dir: Path) -> str:
    try:
        return path.resolve().relative_to(data_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def _sources_of(path: Path, data_dir: Path) -> list[Source]:
    """A file as sources: itself, or the members of a zip archive that is not a workbook."""
    label = _label_in(path, data_dir)
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError:
        magic = b""
    if magic in (b"PK\x03\x04", b"PK\x05\x06"):
        names = _zip_names(path)
        if names and _zip_kind(names) is None:
            members = _zip_members(names)
            if members:
                return [Source(path, m, label=f"{label}:{m}") for m in members]
    return [Source(path, None, label=label)]


def list_sources(data_dir: Path) -> list[Source]:
    """Every file directly in ``data_dir`` (sorted by name) as a :class:`Source`.

    A zip archive that is not an XLSX workbook is replaced by its members (sorted; folders,
    ``__MACOSX/`` and dot-files skipped); a gzip file is named without its ``.gz``. An archive
    with no member to read stays one source, so that reading it says what is wrong.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return []
    out: list[Source] = []
    for path in sorted(p for p in data_dir.iterdir() if p.is_file()):
        out.extend(_sources_of(path, data_dir))
    return out


def find_sources(data_dir: Path, patterns: list[str] | str) -> list[Source]:
    """Sources for a table: the first pattern that matches anything wins (all its matches, sorted).

    Matching ignores case and is done on :attr:`Source.name`, so ``deals*.csv`` also finds
    ``Deals_2026.CSV``, ``deals_2026.csv.gz`` and the ``crm/deals.csv`` member of ``export.zip``.
    A pattern containing ``/`` is globbed relative to ``data_dir``.
    """
    data_dir = Path(data_dir)
    if isinstance(patterns, str):
        patterns = [patterns]
    entries = list_sources(data_dir)
    for pattern in patterns:
        if "/" in pattern:
            hits = [s for p in sorted(p for p in data_dir.glob(pattern) if p.is_file()) for s in _sources_of(p, data_dir)]
        else:
            hits = [s for s in entries if fnmatch.fnmatch(s.name.casefold(), pattern.casefold())]
        if hits:
            return hits
    return []


# --- readers: bytes in, a table of text out -------------------------------------------------------


def _frame(header: list, rows: list[list], row_numbers: list[int], label: str) -> pd.DataFrame:
    names = unique_headers(header)
    width = len(names)
    fixed = []
    for r in rows:
        r = ["" if v is None else str(v) for v in r]
        if len(r) < width:
            r = r + [""] * (width - len(r))
        fixed.append(r[:width])
    df = pd.DataFrame(fixed, columns=names, dtype=object) if fixed else pd.DataFrame(columns=names, dtype=object)
    df[FILE_COL] = label
    df[ROW_COL] = pd.Series(row_numbers, dtype="int64", index=df.index)
    # count of fields beyond the header: a row with more values than columns is malformed
    df["_extra"] = pd.Series([max(0, len(r) - width) for r in rows], dtype="int64", index=df.index)
    return df


def _as_strings(df: pd.DataFrame, strings: str) -> pd.DataFrame:
    """``df`` with its text columns held as ``strings`` says: ``"object"`` (Python strings, as built) or ``"arrow"``."""
    if strings == "arrow":
        text = [c for c in df.columns if c not in (FILE_COL, ROW_COL, "_extra") and df[c].dtype == object]
        if text:
            df[text] = df[text].astype(str)
        if FILE_COL in df and len(df) and df[FILE_COL].nunique() == 1:
            df[FILE_COL] = _file_label(str(df[FILE_COL].iloc[0]), len(df), strings)
    return df


def _utf8_head(data: bytes, encoding: str) -> tuple[str, str] | None:
    """The first line of a UTF-8 file as text and the encoding ``_read_csv`` reports, without decoding the whole file;
    None when the file is not UTF-8 or its first line is not plain (a quote, a lone carriage return, blank):
    the caller then decodes it all, as before."""
    if encoding not in ("auto", "utf-8", "utf-8-sig") or (encoding == "auto" and data.startswith((b"\xff\xfe", b"\xfe\xff"))):
        return None
    used = encoding if encoding != "auto" else "utf-8-sig" if data.startswith(_BOM) else "utf-8"
    if not _valid_utf8(data):
        return None
    start = 0
    while data.startswith(_BOM, start):
        start += 3
    end = data.find(b"\n", start)
    first = data[start: len(data) if end < 0 else end].decode("utf-8")
    body = first[:-1] if first.endswith("\r") else first
    if not body.strip() or '"' in body or "\r" in body:
        return None
    return first + ("\n" if end >= 0 else ""), used


def _valid_utf8(data: bytes) -> bool:
    """Whether ``data`` decodes as UTF-8 (checked by pyarrow on the bytes in place: no copy of the text)."""
    try:
        import numpy as np
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency of pandas here
        return _is_utf8(data)
    arr = pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, len(data)], dtype=np.int64)), pa.py_buffer(data)])
    try:
        arr.view(pa.large_string()).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _read_csv(data: bytes, label: str, encoding: str, sep: str, strings: str = "object") -> tuple[pd.DataFrame, dict]:
    if not data.strip():
        raise InputFileError(label, "the file is empty.", "export the table again; the export must have a header row and data rows.")
    head = _utf8_head(data, encoding)
    if head is not None:  # plain UTF-8: its first line is the header, read without decoding the rest
        first, used_encoding = head
        sep_used = sniff_separator(first) if sep == "auto" else sep
        header = next(csv.reader(io.StringIO(first, newline=""), delimiter=sep_used))
        fast = _read_csv_fast(data, None, used_encoding, sep_used, header, label, strings)
        if fast is not None:
            return fast, {"encoding": used_encoding, "sep": sep_used}
    text = _decode(data, label, encoding)
    used_encoding = encoding
    if encoding == "auto":
        used_encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8" if _is_utf8(data) else "cp1251")
    text = text.lstrip("\ufeff")
    if sep == "auto":
        sep = sniff_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError(label, "the file is empty.", "export the table again with its header row.") from None
    if reader.line_num == 1 and head is None:
        fast = _read_csv_fast(data, text, used_encoding, sep, header, label, strings)
        if fast is not None:
            return fast, {"encoding": used_encoding, "sep": sep}
    rows, numbers = [], []
    last = reader.line_num
    try:
        for rec in reader:
            rows.append(rec)
            numbers.append(last + 1)
            last = reader.line_num
    except csv.Error as exc:
        raise InputFileError(
            label,
            f"the CSV is malformed near line {reader.line_num + 1} ({exc}).",
            "check for an unclosed quote there, or set `sep:` for this table in the preset.",
        ) from None
    if rows:
        _check_last_quote(text, numbers[-1], sep, label)
    return _as_strings(_frame(header, rows, numbers, label), strings), {"encoding": used_encoding, "sep": sep}


#: Python's csv module refuses a field longer than this (``csv.field_size_limit()``): such files take the slow path
_FIELD_LIMIT = 131072
_BOM = b"\xef\xbb\xbf"


def _read_csv_fast(data: bytes, text: str | None, used_encoding: str, sep: str, header: list, label: str, strings: str = "object") -> pd.DataFrame | None:
    """The table :func:`_read_csv` builds, read by pyarrow's vectorised CSV reader; None when the file is not
    plain enough to be sure that the result is the same as the csv module's (the caller then reads it as before).

    Plain enough means: every record is one line and has exactly the header's number of fields, no NUL byte,
    no lone carriage return, no line longer than the csv module accepts, and every line holding a quote is
    parsed the same by both readers (those lines are read again with the csv module, strictly, and compared).
    ``text`` is the decoded file, needed only when it is not UTF-8 (None otherwise); ``strings="arrow"`` keeps the
    values in pyarrow (pandas' ``str`` columns) instead of turning them into Python strings.
    """
    try:
        import numpy as np
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency of pandas here
        return None
    if used_encoding in ("utf-8", "utf-8-sig"):
        start = 0
        while data.startswith(_BOM, start):
            start += 3
        buf = memoryview(data)[start:]
    else:
        buf = memoryview(text.encode("utf-8"))
    arr = np.frombuffer(buf, dtype=np.uint8)
    if not len(arr) or _has_byte(arr, 0):
        return None
    nl = _positions(arr, 10)
    cr = _positions(arr, 13) if _has_byte(arr, 13) else nl[:0]
    if len(cr) and (len(cr) > len(nl) or not np.isin(cr + 1, nl).all()):
        return None  # a carriage return that does not end a line
    ends = nl if len(nl) and nl[-1] == len(arr) - 1 else np.append(nl, len(arr))
    starts = np.concatenate(([0], ends[:-1] + 1))
    if len(ends) and int((ends - starts).max()) > _FIELD_LIMIT:
        return None
    expected = len(ends) - 1  # data records: one per line after the header
    width = len(header)
    if not width:
        return None
    names = [f"f{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(buf),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"', double_quote=True, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() if strings == "arrow" else pa.string() for n in names}, null_values=[],
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowException, ValueError):
        return None
    if table.num_rows != expected or table.num_columns != width:
        return None
    quotes = _positions(arr, 34) if _has_byte(arr, 34) else nl[:0]
    if len(quotes):
        lines = np.unique(np.searchsorted(ends, quotes))  # line index of each quote (0 = the header)
        lines = lines[lines > 0]
        if len(lines):
            rows = table.take(pa.array(lines - 1)).to_pylist()
            for i, row in zip(lines.tolist(), rows):
                line = bytes(buf[starts[i]:ends[i]]).decode("utf-8")
                try:
                    recs = list(csv.reader(io.StringIO(line, newline=""), delimiter=sep, strict=True))
                except csv.Error:
                    return None
                if len(recs) != 1 or recs[0] != [row[n] for n in names]:
                    return None
    del arr, nl, cr, ends, starts, quotes  # the scans' arrays: gone before the frame is built
    n = table.num_rows
    names_out = unique_headers(header)
    if strings == "arrow":
        dtype = pd.StringDtype("pyarrow", na_value=np.nan)  # what ``astype(str)`` gives
        cols = {name: pd.arrays.ArrowStringArray(table.column(i), dtype=dtype) for i, name in enumerate(names_out)}
    else:
        cols = {name: table.column(i).to_numpy(zero_copy_only=False).astype(object, copy=False) for i, name in enumerate(names_out)}
    del table
    if not n:
        df = _as_strings(pd.DataFrame(columns=names_out, dtype=object), strings)
    elif strings == "arrow":
        df = pd.DataFrame(cols, columns=names_out, copy=False)
    else:
        df = pd.DataFrame(cols, columns=names_out, dtype=object)
    df[FILE_COL] = _file_label(label, n, strings)
    df[ROW_COL] = pd.Series(np.arange(2, n + 2, dtype="int64"), index=df.index)
    df["_extra"] = pd.Series(np.zeros(n, dtype="int64"), index=df.index)
    return df


def _file_label(label: str, n: int, strings: str):
    """The ``_file`` column: the label on every row (a category with ``strings="arrow"``: one value, a million rows)."""
    if strings == "object":
        return label
    import numpy as np

    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [label])


def _has_byte(arr, byte: int, block: int = 1 << 23) -> bool:
    """``(arr == byte).any()``, block by block."""
    return any(bool((arr[i:i + block] == byte).any()) for i in range(0, len(arr), block))


def _positions(arr, byte: int, block: int = 1 << 23):
    """``np.flatnonzero(arr == byte)``, block by block (no mask as large as the file)."""
    import numpy as np

    parts = [np.flatnonzero(arr[i:i + block] == byte) + i for i in range(0, len(arr), block)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)


def _check_last_quote(text: str, first_line: int, sep: str, label: str) -> None:
    """Refuse a file whose last record opens a quote that is never closed.

    Python's lenient CSV reader takes everything after such a quote, to the end of the file, as
    one cell: the rows after it would silently vanish. Only the last record can hide it, so only
    that record is read again, strictly.
    """
    lines = io.StringIO(text, newline="").readlines()
    tail = "".join(lines[first_line - 1:])
    if tail.count('"') == 0:
        return
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=sep, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            return  # another irregularity the lenient reader tolerates, as before
        swallowed = max(len(lines) - first_line, 0)
        raise InputFileError(
            label,
            f"a quote opened on line {first_line} is never closed, so the {swallowed} line(s) after it would be read as one cell.",
            f"close or remove the quote on line {first_line}, or export the file again.",
        ) from None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_xlsx(data: bytes, label: str, sheet) -> tuple[pd.DataFrame, dict]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds
        raise InputFileError(label, f"it is not a readable .xlsx workbook ({type(exc).__name__}: {_snippet(exc)}).", "open it in Excel and save it again as .xlsx, or export CSV.") from None
    try:
        names = wb.sheetnames
        if isinstance(sheet, int):
            if sheet >= len(names):
                raise InputFileError(label, f"it has {len(names)} sheet(s), the preset asks for sheet number {sheet}.", f"set `sheet:` in the preset to one of {names} or a number below {len(names)}.")
            ws = wb[names[sheet]]
        elif sheet in names:
            ws = wb[sheet]
        else:
            raise InputFileError(label, f"it has no sheet {sheet!r}.", f"set `sheet:` in the preset to one of: {', '.join(names)}.")
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise InputFileError(label, "the sheet is empty.", "export the table again with its header row.")
        rows = [[_cell_text(v) for v in r] for r in it]
    finally:
        wb.close()
    header = [_cell_text(v) for v in header]
    while header and header[-1] == "":
        header.pop()
    return _frame(header, rows, list(range(2, len(rows) + 2)), label), {"sheet": ws.title}


class _TableParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _read_html_table(data: bytes, label: str, encoding: str) -> tuple[pd.DataFrame, dict]:
    text = _decode(data, label, encoding)
    parser = _TableParser()
    parser.feed(text)
    if not parser.rows:
        raise InputFileError(label, "it is an HTML page without a table.", "export the deals list again as CSV or Excel.")
    header, rows = parser.rows[0], parser.rows[1:]
    return _frame(header, rows, list(range(2, len(rows) + 2)), label), {}


def _read_parquet(data: bytes, label: str) -> tuple[pd.DataFrame, dict]:
    try:
        df = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:
        raise InputFileError(label, f"it is not a readable Parquet file ({type(exc).__name__}).", "write it again with pandas or pyarrow, or export CSV.") from None
    header = [str(c) for c in df.columns]
    rows = [[_cell_text(None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)) for v in rec] for rec in df.itertuples(index=False, name=None)]
    return _frame(header, rows, list(range(2, len(rows) + 2)), label), {}


# --- archives ------------------------------------------------------------------------------------------


def _snippet(value, limit: int = 60) -> str:
    """``value`` as text on one line, cut to ``limit`` characters: never a file's content pasted whole."""
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _too_big(label: str, what: str) -> InputFileError:
    return InputFileError(
        label,
        f"{what} unpacks to more than {MAX_UNCOMPRESSED // 1024**3} GiB, which is not read (it may be a zip bomb).",
        "export a smaller period or split the export into several files.",
    )


def _gunzip(data: bytes, label: str) -> bytes:
    """Decompress gzip ``data`` (all its members) in memory, refusing more than MAX_UNCOMPRESSED bytes."""
    out = bytearray()
    buf = data
    try:
        while buf:
            d = zlib.decompressobj(31)
            out += d.decompress(buf, MAX_UNCOMPRESSED + 1 - len(out))
            if len(out) > MAX_UNCOMPRESSED or d.unconsumed_tail:
                raise _too_big(label, "this gzip file")
            if not d.eof:
                raise zlib.error("unexpected end of data")
            buf = d.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise InputFileError(label, f"this file is gzip-compressed, but the compressed data is damaged ({_snippet(exc)}).",
                             "download or export the file again, or unpack it yourself and put the unpacked file in the data folder.") from None
    return bytes(out)


def _zip_read(path: Path, member: str, label: str) -> bytes:
    """One member of the zip archive at ``path``, refusing a damaged, encrypted or oversized one."""
    fix = "unpack the archive and put the export itself in the data folder, or export the table again."
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise InputFileError(label, "the zip archive has no such file.", "check the archive's content; it may have changed since it was listed.") from None
            if info.file_size > MAX_UNCOMPRESSED:
                raise _too_big(label, "this member of the zip archive")
            if info.flag_bits & 0x1:
                raise InputFileError(label, "this file in the zip archive is password-protected.", fix)
            return zf.read(info)
    except InputFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise InputFileError(label, f"the zip archive is damaged ({type(exc).__name__}: {_snippet(exc)}).", fix) from None
    except (NotImplementedError, RuntimeError) as exc:
        raise InputFileError(label, f"this file in the zip archive cannot be unpacked ({_snippet(exc)}).", fix) from None


# --- what the content is, against what the name says ---------------------------------------------------

_WHAT = {"csv": "CSV text", "xlsx": "an Excel .xlsx workbook", "html": "HTML", "parquet": "a Parquet file"}
_HOW = {"csv": "CSV text", "xlsx": "an Excel workbook", "html": "an HTML table", "parquet": "a Parquet table"}
#: what a file's ending says it is: the formats that agree with it, and how to say it
_CLAIMS = {
    ".csv": ({"csv"}, "CSV text"),
    ".txt": ({"csv"}, "CSV text"),
    ".tsv": ({"csv"}, "tab-separated text"),
    ".xlsx": ({"xlsx"}, "an Excel workbook"),
    ".xlsm": ({"xlsx"}, "an Excel workbook"),
    ".xls": ({"xlsx", "xls-binary"}, "an Excel workbook"),
    ".parquet": ({"parquet"}, "a Parquet file"),
    ".pq": ({"parquet"}, "a Parquet file"),
    ".html": ({"html"}, "an HTML page"),
    ".htm": ({"html"}, "an HTML page"),
    ".zip": ({"zip", "xlsx"}, "a zip archive"),
}
_NEITHER = "neither CSV, XLSX, HTML nor Parquet."
_EXPORT_AGAIN = "export the table from the CRM again as CSV (UTF-8) or XLSX and put that file in the data folder."


def _claim(name: str):
    return _CLAIMS.get(PurePosixPath(name).suffix.lower())


def _binary_kind(data: bytes) -> str:
    """What a binary file looks like, for the message that refuses it."""
    for magic, what in (
        (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
        (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"SQLite format 3", "an SQLite database"),
        (b"BZh", "a bzip2-compressed file"), (b"\xfd7zXZ", "an xz-compressed file"),
    ):
        if data.startswith(magic):
            return what
    if data[257:262] == b"ustar":
        return "a tar archive"
    return f"binary data, not text (it starts with bytes {data[:8].hex(' ')})"


def _refuse_unreadable(fmt: str, data: bytes, label: str) -> None:
    if fmt == "xls-binary":
        raise InputFileError(label, "it is an old binary Excel 97–2003 workbook (.xls).", "open it in Excel or LibreOffice and save it as .xlsx or CSV (UTF-8).")
    if fmt == "pdf":
        raise InputFileError(label, f"this file is a PDF document, {_NEITHER}", "a PDF report cannot be read as a table; " + _EXPORT_AGAIN)
    if fmt == "unknown-binary":
        raise InputFileError(label, f"this file is {_binary_kind(data)}, {_NEITHER}", "check that the file in the data folder is the export itself; " + _EXPORT_AGAIN)


def _refuse_zip(data: bytes, label: str) -> None:
    """A zip archive read as one file: refuse it, saying what is (not) in it."""
    names = _zip_names(data)
    kind = _zip_kind(names)
    if names is None:
        problem = f"this file is a damaged zip archive, {_NEITHER}"
    elif kind:
        problem = f"this file is {kind}, {_NEITHER}"
    elif not names:
        problem = f"this file is an empty zip archive, {_NEITHER}"
    else:
        members = _zip_members(names)
        if not members:
            problem = f"this file is a zip archive with no file to read in it (only folders or hidden files), {_NEITHER}"
        else:
            shown = ", ".join(_snippet(m, 40) for m in members[:3]) + (", …" if len(members) > 3 else "")
            problem = f"this file is a zip archive holding {len(members)} files ({shown}), not one table."
            raise InputFileError(label, problem, "unpack it into the data folder, so that each export is a file of its own.")
    raise InputFileError(label, problem, _EXPORT_AGAIN)


def _note(actual: str, name: str, *, gz_name: str | None = None, gzipped: bool = False, zipped_in: str | None = None) -> str | None:
    """The ``format_note`` when the content (``actual``) and the file's name disagree, else None."""
    how = _HOW[actual]
    if zipped_in is not None:  # a file that is a zip archive, read through its only member
        claim = _claim(zipped_in)
        if claim and "zip" not in claim[0]:
            return f"this file is a zip archive, not {claim[1]}; its only file {_snippet(name)} was read as {how}"
    if gz_name is not None:
        gz_claimed = gz_name.lower().endswith(".gz")
        if gzipped and not gz_claimed:
            claim = _claim(gz_name)
            if claim:
                return f"this file is gzip-compressed {_WHAT[actual]}, not {claim[1]}; it was decompressed and read as {how}"
            return None
        if gz_claimed and not gzipped:
            return f"this file is {_WHAT[actual]}, not gzip-compressed; it was read as {how}"
        name = _strip_gz(gz_name)
    claim = _claim(name)
    if claim and actual not in claim[0]:
        return f"this file is {_WHAT[actual]}, not {claim[1]}; it was read as {how}"
    return None


def read_raw(source, *, encoding: str = "auto", sep: str = "auto", sheet=0, strings: str = "object") -> tuple[pd.DataFrame, dict]:
    """Read a file (a path or a :class:`Source`) into a DataFrame of strings; returns it and what was detected.

    The format is the content's (:func:`sniff_format`), whatever the file's ending: CSV text,
    an XLSX workbook, an HTML table (Bitrix24's ".xls") or Parquet, possibly gzip-compressed
    or a member of a zip archive. The info dict holds what was detected (``encoding``, ``sep``,
    ``sheet``), ``format`` (the sniffed format, left out only for CSV text in a CSV-named
    file, as before), ``compression`` (``gzip``/``zip``) and ``format_note`` when the content
    and the name disagree. The ``_file`` column holds :func:`display_path` of a plain file and
    the source's label (``export.zip:crm/deals.csv``) for a zip member or a gzip file.

    ``strings`` says how the values are held: ``"object"`` (Python strings in object columns) or
    ``"arrow"`` (pandas' pyarrow-backed ``str`` columns, the same values in a fraction of the memory,
    and ``_file`` a category; the loader reads so).
    """
    if strings not in ("object", "arrow"):
        raise ValueError(strings)
    src = source if isinstance(source, Source) else None
    path = Path(src.path if src else source)
    if not path.exists():
        raise InputFileError(display_path(path), "the file does not exist.", "check `data:` in the run config and the file names in the preset's `files:`.")
    if path.is_dir():
        raise InputFileError(display_path(path), "it is a folder, not a file.", "point `data:` at the folder and name the files in the preset's `files:`.")
    if path.stat().st_size == 0:
        raise InputFileError(display_path(path), "the file is empty (0 bytes).", "export the table again; the export must have a header row and data rows.")
    data = path.read_bytes()
    label = display_path(path)
    name = path.name  # the name whose ending is compared with the content
    compression = None
    zipped_in = None
    if src is not None and src.member is not None:
        label = src.label
        data = _zip_read(path, src.member, label)
        name, compression = _member_base(src.member), "zip"
    fmt = sniff_format(data)
    if fmt == "zip" and compression is None:
        members = _zip_members(_zip_names(data) or []) if _zip_kind(_zip_names(data)) is None else []
        if len(members) != 1:
            _refuse_zip(data, label)
        label = f"{src.label if src else label}:{members[0]}"
        data = _zip_read(path, members[0], label)
        zipped_in, name, compression = path.name, _member_base(members[0]), "zip"
        fmt = sniff_format(data)
    gz_name = None
    if fmt == "gzip":
        if src is not None and src.member is None:
            label = src.label
        gz_name = name
        data = _gunzip(data, label)
        compression = "gzip" if compression is None else f"{compression}+gzip"
        fmt = sniff_format(data)
    elif name.lower().endswith(".gz"):
        gz_name = name
    if fmt in ("gzip", "zip"):
        raise InputFileError(label, f"this file is an archive inside an archive ({'gzip' if fmt == 'gzip' else 'zip'} in {compression}), {_NEITHER}",
                             "unpack it and put the export itself in the data folder.")
    if not data:
        raise InputFileError(label, "the file is empty (0 bytes once unpacked).", "export the table again; the export must have a header row and data rows.")
    _refuse_unreadable(fmt, data, label)
    csv_name = _strip_gz(name)
    if fmt == "csv":
        tsv = PurePosixPath(csv_name).suffix.lower() == ".tsv" and sep == "auto"
        df, info = _read_csv(data, label, encoding, "\t" if tsv else sep, strings)
    elif fmt == "xlsx":
        df, info = _read_xlsx(data, label, sheet)
    elif fmt == "html":
        df, info = _read_html_table(data, label, encoding)
    else:
        df, info = _read_parquet(data, label)
    if fmt != "csv":
        df = _as_strings(df, strings)
    note = _note(fmt, name, gz_name=gz_name, gzipped=gz_name is not None and "gzip" in (compression or ""), zipped_in=zipped_in)
    plain_csv = fmt == "csv" and compression is None and note is None and (_claim(name) or ({""},))[0] == {"csv"}
    if not plain_csv:  # a CSV file read as CSV keeps today's info: {"encoding", "sep"}
        info["format"] = fmt
    if compression:
        info["compression"] = compression
    if note:
        info["format_note"] = note
    return df, info
