"""Read one export file into a table of text, whatever its format.

CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, Windows-1251; ``,`` ``;`` tab or
``|``), XLSX, Bitrix24's "Excel" export (an HTML table saved as ``.xls``) and
Parquet all come out the same way: a DataFrame of strings (``""`` for empty),
its header made unique (a repeated ``ID`` becomes ``ID``, ``ID#2``, ``ID#3``),
plus two bookkeeping columns, ``_file`` and ``_row`` (the row number a user sees
in a spreadsheet, the header being row 1). Nothing is parsed or dropped here:
every record of the file is a row, blank lines included.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from .errors import InputFileError, display_path

__all__ = ["read_raw", "normalize_header", "unique_headers", "detect_encoding", "sniff_separator", "FILE_COL", "ROW_COL"]

FILE_COL = "_file"
ROW_COL = "_row"
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp1251", "utf-16")
SEPARATORS = ("auto", ",", ";", "\t", "|")


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
        display_path(path),
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


def _frame(header: list, rows: list[list], row_numbers: list[int], path) -> pd.DataFrame:
    names = unique_headers(header)
    width = len(names)
    fixed = []
    for r in rows:
        r = ["" if v is None else str(v) for v in r]
        if len(r) < width:
            r = r + [""] * (width - len(r))
        fixed.append(r[:width])
    df = pd.DataFrame(fixed, columns=names, dtype=object) if fixed else pd.DataFrame(columns=names, dtype=object)
    df[FILE_COL] = display_path(path)
    df[ROW_COL] = pd.Series(row_numbers, dtype="int64", index=df.index)
    # count of fields beyond the header: a row with more values than columns is malformed
    df["_extra"] = pd.Series([max(0, len(r) - width) for r in rows], dtype="int64", index=df.index)
    return df


def _read_csv(path: Path, encoding: str, sep: str) -> tuple[pd.DataFrame, dict]:
    data = path.read_bytes()
    if not data.strip():
        raise InputFileError(display_path(path), "the file is empty.", "export the table again; the export must have a header row and data rows.")
    text = detect_encoding(data, path, encoding)
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
        raise InputFileError(display_path(path), "the file is empty.", "export the table again with its header row.") from None
    rows, numbers = [], []
    last = reader.line_num
    try:
        for rec in reader:
            rows.append(rec)
            numbers.append(last + 1)
            last = reader.line_num
    except csv.Error as exc:
        raise InputFileError(
            display_path(path),
            f"the CSV is malformed near line {reader.line_num + 1} ({exc}).",
            "check for an unclosed quote there, or set `sep:` for this table in the preset.",
        ) from None
    return _frame(header, rows, numbers, path), {"encoding": used_encoding, "sep": sep}


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


def _read_xlsx(path: Path, sheet) -> tuple[pd.DataFrame, dict]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds
        raise InputFileError(display_path(path), f"it is not a readable .xlsx workbook ({type(exc).__name__}: {exc}).", "open it in Excel and save it again as .xlsx, or export CSV.") from None
    try:
        names = wb.sheetnames
        if isinstance(sheet, int):
            if sheet >= len(names):
                raise InputFileError(display_path(path), f"it has {len(names)} sheet(s), the preset asks for sheet number {sheet}.", f"set `sheet:` in the preset to one of {names} or a number below {len(names)}.")
            ws = wb[names[sheet]]
        elif sheet in names:
            ws = wb[sheet]
        else:
            raise InputFileError(display_path(path), f"it has no sheet {sheet!r}.", f"set `sheet:` in the preset to one of: {', '.join(names)}.")
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise InputFileError(display_path(path), "the sheet is empty.", "export the table again with its header row.")
        rows = [[_cell_text(v) for v in r] for r in it]
    finally:
        wb.close()
    header = [_cell_text(v) for v in header]
    while header and header[-1] == "":
        header.pop()
    return _frame(header, rows, list(range(2, len(rows) + 2)), path), {"sheet": ws.title}


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


def _read_html_table(path: Path, encoding: str) -> tuple[pd.DataFrame, dict]:
    text = detect_encoding(path.read_bytes(), path, encoding)
    parser = _TableParser()
    parser.feed(text)
    if not parser.rows:
        raise InputFileError(display_path(path), "it is an HTML page without a table.", "export the deals list again as CSV or Excel.")
    header, rows = parser.rows[0], parser.rows[1:]
    return _frame(header, rows, list(range(2, len(rows) + 2)), path), {"format": "html-table"}


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict]:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:
        raise InputFileError(display_path(path), f"it is not a readable Parquet file ({type(exc).__name__}).", "write it again with pandas or pyarrow, or export CSV.") from None
    header = [str(c) for c in df.columns]
    rows = [[_cell_text(None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)) for v in rec] for rec in df.itertuples(index=False, name=None)]
    return _frame(header, rows, list(range(2, len(rows) + 2)), path), {}


def read_raw(path, *, encoding: str = "auto", sep: str = "auto", sheet=0) -> tuple[pd.DataFrame, dict]:
    """Read ``path`` into a DataFrame of strings; returns it and what was detected (encoding, separator).

    The format follows the file's ending: ``.csv``/``.txt``/``.tsv``, ``.xlsx``/``.xlsm``,
    ``.xls`` (only Bitrix24's HTML-table kind), ``.parquet``/``.pq``.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(display_path(path), "the file does not exist.", "check `data:` in the run config and the file names in the preset's `files:`.")
    if path.stat().st_size == 0:
        raise InputFileError(display_path(path), "the file is empty (0 bytes).", "export the table again; the export must have a header row and data rows.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, encoding, "\t" if (suffix == ".tsv" and sep == "auto") else sep)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if suffix == ".xls":
        head = path.read_bytes()[:512].lstrip()
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise InputFileError(display_path(path), "it is an old binary Excel 97–2003 workbook (.xls).", "open it in Excel or LibreOffice and save it as .xlsx or CSV (UTF-8).")
        return _read_html_table(path, encoding)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    raise InputFileError(display_path(path), f"the file type {suffix or '(none)'} is not supported.", "export CSV, XLSX or Parquet.")
