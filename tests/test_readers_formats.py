"""Readers: a file is read by what it is (CSV, XLSX, HTML table, Parquet), not by its name; gzip and zip exports."""
from __future__ import annotations

import gzip
import io
import os
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from salesaudit.data.readers import Source, find_sources, list_sources, read_raw, sniff_format
from salesaudit.errors import InputFileError

CSV_TEXT = "ID;Сумма;Стадия\r\n1;100;Новая\r\n2;250,5;Успешно\r\n"


def _html(rows, charset="utf-8"):
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<meta http-equiv="Content-type" content="text/html;charset={charset}" />\n<table border="1">{body}</table>'


def _xlsx_bytes(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Сделки"
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _values(df):
    return df.drop(columns=["_file", "_row", "_extra"]).values.tolist()


# --- content wins over the name ------------------------------------------------------------------------


def test_csv_saved_as_xlsx_is_read_as_csv_with_a_note(tmp_path):
    p = tmp_path / "deals.xlsx"
    p.write_bytes(CSV_TEXT.encode("cp1251"))
    df, info = read_raw(p)
    assert list(df.columns[:3]) == ["ID", "Сумма", "Стадия"]
    assert _values(df) == [["1", "100", "Новая"], ["2", "250,5", "Успешно"]]
    assert df["_row"].tolist() == [2, 3]
    assert info["format"] == "csv" and info["encoding"] == "cp1251" and info["sep"] == ";"
    assert info["format_note"] == "this file is CSV text, not an Excel workbook; it was read as CSV text"


@pytest.mark.parametrize("name", ["deals.csv", "deals.xls"])
@pytest.mark.parametrize("encoding", ["utf-8", "cp1251"])
def test_html_table_saved_as_csv_or_xls_is_read_as_a_table(tmp_path, name, encoding):
    p = tmp_path / name
    p.write_bytes(_html([["ID", "Название", "Сумма"], ["7", "Поставка &amp; монтаж", "1 000"], ["8", "Сервис", ""]], encoding).encode(encoding))
    df, info = read_raw(p)
    assert list(df.columns) == ["ID", "Название", "Сумма", "_file", "_row", "_extra"]
    assert _values(df) == [["7", "Поставка & монтаж", "1 000"], ["8", "Сервис", ""]]
    assert df["_row"].tolist() == [2, 3]
    assert info["format"] == "html"
    what = "CSV text" if name.endswith(".csv") else "an Excel workbook"
    assert info["format_note"] == f"this file is HTML, not {what}; it was read as an HTML table"


def test_html_in_utf16_with_doctype_is_sniffed():
    data = ("\ufeff  <!DOCTYPE html>\n<html><body>" + _html([["a"], ["b"]]) + "</body></html>").encode("utf-16-le")
    assert sniff_format(data) == "html"
    assert sniff_format("ID,Name\n1,<b>x</b>\n".encode("utf-16")) == "csv"


def test_real_xlsx_saved_as_csv_is_read_as_a_workbook(tmp_path):
    p = tmp_path / "deals.csv"
    p.write_bytes(_xlsx_bytes([["ID", "Сумма", "Дата"], [1, 100.0, "2026-01-05"], [2, 7.5, None]]))
    df, info = read_raw(p)
    assert _values(df) == [["1", "100", "2026-01-05"], ["2", "7.5", ""]]
    assert df["_row"].tolist() == [2, 3]
    assert info["format"] == "xlsx" and info["sheet"] == "Сделки"
    assert info["format_note"] == "this file is an Excel .xlsx workbook, not CSV text; it was read as an Excel workbook"


def test_xlsx_with_its_own_name_has_no_note(tmp_path):
    p = tmp_path / "deals.xlsx"
    p.write_bytes(_xlsx_bytes([["ID"], ["x"]]))
    df, info = read_raw(p)
    assert _values(df) == [["x"]] and info == {"sheet": "Сделки", "format": "xlsx"}


@pytest.mark.parametrize("name", ["deals.dat", "deals.csv"])
def test_parquet_under_another_name_is_read(tmp_path, name):
    p = tmp_path / name
    pd.DataFrame({"ID": ["a1", "a2"], "Сумма": [10.0, None]}).to_parquet(p)
    assert sniff_format(p.read_bytes()) == "parquet"
    df, info = read_raw(p)
    assert _values(df) == [["a1", "10"], ["a2", ""]]
    assert info["format"] == "parquet"
    if name.endswith(".csv"):
        assert info["format_note"] == "this file is a Parquet file, not CSV text; it was read as a Parquet table"
    else:
        assert "format_note" not in info  # .dat says nothing about the content


def test_plain_csv_keeps_todays_info_and_file_column(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.tsv").write_text("ID\tName\n1\tA,B\n", encoding="utf-8")
    df, info = read_raw("x.tsv")
    assert info == {"encoding": "utf-8", "sep": "\t"} and _values(df) == [["1", "A,B"]]
    assert df["_file"].tolist() == ["x.tsv"]


# --- gzip ----------------------------------------------------------------------------------------------


def test_gzip_csv_is_read_and_found_by_its_inner_name(tmp_path):
    p = tmp_path / "deals_2026.csv.gz"
    p.write_bytes(gzip.compress(CSV_TEXT.encode("utf-8")))
    (tmp_path / "leads.csv").write_text("ID\n1\n", encoding="utf-8")
    src = find_sources(tmp_path, "deals*.csv")
    assert src == [Source(p, None, "deals_2026.csv", "deals_2026.csv.gz")]
    df, info = read_raw(src[0])
    assert _values(df) == [["1", "100", "Новая"], ["2", "250,5", "Успешно"]]
    assert df["_file"].unique().tolist() == ["deals_2026.csv.gz"]
    assert info["format"] == "csv" and info["compression"] == "gzip" and info["sep"] == ";" and "format_note" not in info
    df2, _ = read_raw(p)  # a path works too
    assert _values(df2) == _values(df)


def test_gzip_tsv_defaults_to_tab(tmp_path):
    p = tmp_path / "calls.tsv.gz"
    p.write_bytes(gzip.compress(b"ID\tNote\n1\ta;b\n"))
    df, info = read_raw(p)
    assert _values(df) == [["1", "a;b"]] and info["sep"] == "\t"


def test_damaged_gzip_is_refused(tmp_path):
    p = tmp_path / "deals.csv.gz"
    p.write_bytes(gzip.compress(CSV_TEXT.encode() * 50)[:40])
    with pytest.raises(InputFileError) as err:
        read_raw(p)
    assert "gzip-compressed" in str(err.value) and "damaged" in str(err.value) and "How to fix" in str(err.value)


# --- zip -----------------------------------------------------------------------------------------------


def _export_zip(path: Path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("crm/", "")
        zf.writestr("crm/leads.csv", "ID,Источник\r\nL1,Сайт\r\nL2,Звонок\r\n")
        zf.writestr("deals.csv", CSV_TEXT)
        zf.writestr("__MACOSX/._deals.csv", b"\x00\x05\x16\x07junk")
        zf.writestr(".DS_Store", b"\x00\x00\x00\x01Bud1")


def test_zip_members_are_sources(tmp_path):
    z = tmp_path / "export.zip"
    _export_zip(z)
    (tmp_path / "book.xlsx").write_bytes(_xlsx_bytes([["ID"], [1]]))
    src = list_sources(tmp_path)
    assert [(s.member, s.name, s.label) for s in src] == [
        (None, "book.xlsx", "book.xlsx"),  # a workbook is a zip too, but it is not expanded
        ("crm/leads.csv", "leads.csv", "export.zip:crm/leads.csv"),
        ("deals.csv", "deals.csv", "export.zip:deals.csv"),
    ]
    assert all(s.path == z for s in src[1:])

    hits = find_sources(tmp_path, ["nothing*.csv", "LEADS*.csv"])
    assert hits == [Source(z, "crm/leads.csv", "leads.csv", "export.zip:crm/leads.csv")]
    df, info = read_raw(hits[0])
    assert list(df.columns[:2]) == ["ID", "Источник"]
    assert _values(df) == [["L1", "Сайт"], ["L2", "Звонок"]] and df["_row"].tolist() == [2, 3]
    assert df["_file"].unique().tolist() == ["export.zip:crm/leads.csv"]
    assert info["format"] == "csv" and info["compression"] == "zip"

    deals = find_sources(tmp_path, "deals*.csv")
    assert [s.label for s in deals] == ["export.zip:deals.csv"]
    assert _values(read_raw(deals[0])[0])[1] == ["2", "250,5", "Успешно"]


def test_find_sources_keeps_glob_patterns_and_first_match_wins(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Deals_B.csv").write_text("ID\n2\n", encoding="utf-8")
    (tmp_path / "deals_a.CSV").write_text("ID\n1\n", encoding="utf-8")
    assert [s.label for s in find_sources(tmp_path, ["sub/*.csv", "deals*.csv"])] == ["sub/Deals_B.csv"]
    assert [s.name for s in find_sources(tmp_path, ["nope.csv", "DEALS*.csv"])] == ["deals_a.CSV"]
    assert find_sources(tmp_path / "missing", "*.csv") == [] and list_sources(tmp_path / "missing") == []


def test_zip_with_one_export_read_by_path(tmp_path):
    z = tmp_path / "deals.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("out/deals.csv", "ID,Amount\n1,5\n")
    df, info = read_raw(z)
    assert _values(df) == [["1", "5"]] and info["compression"] == "zip"
    assert df["_file"].iloc[0].endswith("deals.zip:out/deals.csv")


def test_zip_member_over_2_gib_is_refused(tmp_path):
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("deals.csv", "ID\n" + "1\n" * 5000)
    data = bytearray(z.read_bytes())
    cd = data.index(b"PK\x01\x02")  # the central directory says how big the member unpacks: claim 3 GiB
    data[cd + 24 : cd + 28] = (3 * 1024**3).to_bytes(4, "little")
    z.write_bytes(bytes(data))
    (src,) = list_sources(tmp_path)
    assert src.label == "export.zip:deals.csv"
    with pytest.raises(InputFileError) as err:
        read_raw(src)
    msg = str(err.value)
    assert "export.zip:deals.csv" in msg and "unpacks to more than 2 GiB" in msg and "How to fix" in msg


# --- refused files: one short paragraph that names the file and says what it is ---------------------------


def _empty_zip() -> bytes:
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").close()
    return buf.getvalue()


@pytest.mark.parametrize(
    "name, content, looks_like",
    [
        ("deals.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20, "a PDF document"),
        ("deals.xlsx", bytes(range(256)) * 8 + os.urandom(512), "binary data, not text"),
        ("export.zip", _empty_zip(), "an empty zip archive"),
    ],
)
def test_unreadable_files_are_refused_clearly(tmp_path, name, content, looks_like):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputFileError) as err:
        read_raw(p)
    msg = str(err.value)
    assert name in msg and f"this file is {looks_like}" in msg and "neither CSV, XLSX, HTML nor Parquet" in msg
    assert "How to fix" in msg and len(msg) < 400 and "\n" not in msg
    assert "endobj" not in msg and "Catalog" not in msg


def test_empty_zip_stays_a_source_so_that_reading_it_explains(tmp_path):
    (tmp_path / "export.zip").write_bytes(_empty_zip())
    (src,) = list_sources(tmp_path)
    assert (src.member, src.name, src.label) == (None, "export.zip", "export.zip")
    with pytest.raises(InputFileError, match="an empty zip archive"):
        read_raw(src)


def test_zip_of_several_exports_read_as_one_file_is_refused(tmp_path):
    z = tmp_path / "export.zip"
    _export_zip(z)
    with pytest.raises(InputFileError) as err:
        read_raw(z)
    msg = str(err.value)
    assert "holding 2 files (crm/leads.csv, deals.csv)" in msg and "How to fix" in msg and len(msg) < 400


@pytest.mark.parametrize("name", ["deals.xls", "deals.csv"])
def test_old_binary_xls_is_refused_as_before(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    assert sniff_format(p.read_bytes()) == "xls-binary"
    with pytest.raises(InputFileError) as err:
        read_raw(p)
    assert "old binary Excel 97–2003 workbook (.xls)" in str(err.value) and "save it as .xlsx or CSV" in str(err.value)


def test_html_snippet_never_lands_in_a_column_name(tmp_path):
    p = tmp_path / "deals.csv"
    p.write_text("<html><head><title>Export</title></head><body><table><tr><th>ID</th><th>Stage</th></tr>"
                 "<tr><td>1</td><td>won</td></tr></table></body></html>", encoding="utf-8")
    df, _ = read_raw(p)
    assert list(df.columns[:2]) == ["ID", "Stage"] and _values(df) == [["1", "won"]]
