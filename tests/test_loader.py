"""Loaders: formats, encodings, Russian dates, quarantine reasons, reconciliation, whole-file errors."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from salesaudit.data.loader import REASONS, load
from salesaudit.data.model import TABLES, empty_table
from salesaudit.errors import InputFileError

DEALS_HEADER = "deal_id,created_at,manager,amount,stage,closed_at,discount_pct"


def test_every_reason_is_counted_once_and_rows_reconcile(client):
    deals = "\n".join(
        [
            DEALS_HEADER,
            "d1,2026-01-05 10:00:00,m01,1000,new,,",  # ok
            "d2,2026-01-05 11:00:00,m01,2000,won,2026-01-10 12:00:00,5",  # ok
            ",2026-01-05 10:00:00,m01,100,new,,",  # missing_id
            "d3,2026-01-05,m02,-5,new,,",  # negative_amount
            "",  # empty_row
            "d4,2026-01-05,m02,5,archive,,",  # unknown_stage
            "d5,2026-01-05,m02,5,lost,2026-01-01,",  # closed_before_created
            "d6,2027-01-05,m02,5,new,,",  # future_date
            "d2,2026-01-05 11:00:00,m01,2000,won,2026-01-10 12:00:00,5",  # duplicate_exact
            "d7,2026-01-05,m02,5,new,,",  # duplicate_conflict
            "d7,2026-01-05,m02,6,new,,",  # duplicate_conflict
            "d8,32.13.2026,m02,6,new,,",  # bad_date
            "d9,2026-01-05,m02,12abc,new,,",  # bad_number
            "d10,2026-01-05,m02,7,new,,150",  # out_of_range (discount > 100)
            "d11,,m02,7,new,,",  # missing_value (created_at)
            "d12,2026-01-05,m02,7,new,,,extra",  # bad_shape
        ]
    )
    history = "\n".join(
        [
            "deal_id,stage,entered_at,moved_by",
            "d1,new,2026-01-05 10:00:00,m01",
            "d2,won,2026-01-10 12:00:00,m01",
            "d3,new,2026-01-05 10:00:00,m02",  # deal_quarantined (negative amount)
            "zz,new,2026-01-05 10:00:00,m01",  # unknown_deal
            "d1,nonsense,2026-01-06 10:00:00,m01",  # unknown_stage
        ]
    )
    ds = load(client({"deals.csv": deals, "stage_history.csv": history}))
    q = ds.quarantine
    got = q.groupby(["table", "reason"]).size().to_dict()
    assert got == {
        ("deals", "missing_id"): 1,
        ("deals", "negative_amount"): 1,
        ("deals", "empty_row"): 1,
        ("deals", "unknown_stage"): 1,
        ("deals", "closed_before_created"): 1,
        ("deals", "future_date"): 1,
        ("deals", "duplicate_exact"): 1,
        ("deals", "duplicate_conflict"): 2,
        ("deals", "bad_date"): 1,
        ("deals", "bad_number"): 1,
        ("deals", "out_of_range"): 1,
        ("deals", "missing_value"): 1,
        ("deals", "bad_shape"): 1,
        ("stage_history", "deal_quarantined"): 1,
        ("stage_history", "unknown_deal"): 1,
        ("stage_history", "unknown_stage"): 1,
    }
    assert set(q["reason"]) <= set(REASONS)
    assert sorted(ds.tables["deals"]["deal_id"]) == ["d1", "d2"]
    rec = ds.reconciliation().set_index("table")
    assert rec.loc["deals", "input"] == 16 and rec.loc["deals", "accepted"] == 2 and rec.loc["deals", "quarantined"] == 14
    assert rec.loc["stage_history", "input"] == 5 and rec.loc["stage_history", "accepted"] == 2
    assert rec["balanced"].all()
    # the row numbers are those a user sees in a spreadsheet (header = row 1)
    assert q.loc[q["reason"] == "empty_row", "row"].tolist() == [6]
    assert q.loc[q["reason"] == "bad_date", ["column", "value"]].values.tolist() == [["created_at", "32.13.2026"]]
    # examples come back as the source rows
    ex = ds.quarantine_examples("negative_amount")
    assert ex.loc[0, "amount"] == "-5" and ex.loc[0, "row"] == 5


def test_canonical_dtypes_and_derived_outcome(client):
    deals = DEALS_HEADER + "\nd1,2026-01-05 10:00:00,m01,1000,new,,\nd2,2026-01-05,m01,5,won,2026-02-01,\nd3,2026-01-05,m01,5,lost,2026-02-01,\n"
    ds = load(client({"deals.csv": deals}))
    df = ds.tables["deals"]
    assert df.dtypes.to_dict() == empty_table("deals").dtypes.to_dict()
    assert list(df.columns) == list(TABLES["deals"].names)
    assert df["outcome"].tolist() == ["open", "won", "lost"]
    assert not ds.has("leads") and ds.reports["leads"].status == "no_file"


def _deals_text(sep: str, decimal_comma: bool) -> str:
    amount = '"125 000,50"' if (decimal_comma and sep == ",") else ("125 000,50" if decimal_comma else "125000.50")
    rows = [
        sep.join(["ID", "Название сделки", "Стадия сделки", "Ответственный", "Сумма", "Дата создания", "Дата закрытия", "ID", "Компания", "ID"]),
        sep.join(["101", "Поставка", "Новая", "Иванова Мария", amount, "31.12.2025 14:05", "не закрыта", "9001", "ООО «Ромашка»", "7001"]),
        sep.join(["102", "Сервис", "Сделка успешна", "Петров Пётр", "1000", "31-12-2025 14:05:00", "15.01.2026 10:00:00", "9002", "ООО «Лютик»", "7002"]),
    ]
    return "\r\n".join(rows) + "\r\n"


PRESET_MINI = """
name: mini
tables:
  deals:
    files: ["deals*.csv", "deals*.xlsx", "deals*.parquet", "deals*.xls"]
    columns:
      deal_id: ID
      stage: Стадия сделки
      manager: Ответственный
      amount: Сумма
      created_at: Дата создания
      closed_at: Дата закрытия
      lead_id: "ID#3"
stages:
  "Новая": new
  "Сделка успешна": won
"""


@pytest.mark.parametrize(
    "encoding,sep,decimal_comma",
    [("utf-8", ",", False), ("utf-8-sig", ";", True), ("cp1251", ";", True), ("utf-8", ",", True), ("utf-16", "\t", True)],
)
def test_csv_encodings_separators_and_russian_formats(client, tmp_path, encoding, sep, decimal_comma):
    (tmp_path / "mini.yaml").write_text(PRESET_MINI, encoding="utf-8")
    data = _deals_text(sep, decimal_comma).encode(encoding)
    ds = load(client({"deals.csv": data}, preset="mini.yaml"))
    df = ds.tables["deals"]
    assert ds.quarantine.empty
    assert df["deal_id"].tolist() == ["101", "102"]
    assert df["amount"].tolist() == [125000.5, 1000.0]
    assert df["created_at"].tolist() == [pd.Timestamp("2025-12-31 14:05")] * 2
    assert pd.isna(df.loc[0, "closed_at"]) and df.loc[1, "closed_at"] == pd.Timestamp("2026-01-15 10:00")
    assert df["stage"].tolist() == ["new", "won"]
    assert df["lead_id"].tolist() == ["7001", "7002"]  # the third "ID" column


def test_xlsx_parquet_and_bitrix_html_xls_give_the_same_table(client, tmp_path):
    import openpyxl

    (tmp_path / "mini.yaml").write_text(PRESET_MINI, encoding="utf-8")
    rows = [r.split(";") for r in _deals_text(";", True).strip().split("\r\n")]
    expected = load(client({"deals.csv": _deals_text(";", True).encode("cp1251")}, preset="mini.yaml")).tables["deals"]
    (tmp_path / "data" / "deals.csv").unlink()

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows[:1]:
        ws.append(r)
    ws.append(["101", "Поставка", "Новая", "Иванова Мария", 125000.5, dt.datetime(2025, 12, 31, 14, 5), "не закрыта", 9001, "ООО «Ромашка»", 7001])
    ws.append(["102", "Сервис", "Сделка успешна", "Петров Пётр", 1000, dt.datetime(2025, 12, 31, 14, 5), dt.datetime(2026, 1, 15, 10), 9002, "ООО «Лютик»", 7002])
    wb.save(tmp_path / "data" / "deals.xlsx")
    got = load(client({}, preset="mini.yaml")).tables["deals"]
    pd.testing.assert_frame_equal(got, expected)
    (tmp_path / "data" / "deals.xlsx").unlink()

    html_rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    html = f"<html><head><meta charset='windows-1251'></head><body><table>{html_rows}</table></body></html>"
    (tmp_path / "data" / "deals.xls").write_bytes(html.encode("cp1251"))
    got = load(client({}, preset="mini.yaml")).tables["deals"]
    pd.testing.assert_frame_equal(got, expected)
    (tmp_path / "data" / "deals.xls").unlink()

    frame = pd.DataFrame(rows[1:], columns=["ID", "Название сделки", "Стадия сделки", "Ответственный", "Сумма", "Дата создания", "Дата закрытия", "ID2", "Компания", "ID3"])
    frame.to_parquet(tmp_path / "data" / "deals.parquet")
    preset = PRESET_MINI.replace('lead_id: "ID#3"', "lead_id: ID3")
    (tmp_path / "mini.yaml").write_text(preset, encoding="utf-8")
    got = load(client({}, preset="mini.yaml")).tables["deals"]
    pd.testing.assert_frame_equal(got, expected)


def test_amocrm_quirks_trailing_space_and_not_closed(client):
    text = (
        'ID,Название сделки,"Бюджет ",Ответственный,Дата создания сделки,Дата закрытия,Этап сделки,Товар,Товар\n'
        "1,A,15000,Анна,31-12-2025 14:05:00,не закрыта,Переговоры,X,Y\n"
        "2,B,20000,Анна,30-12-2025 10:00:00,15.01.2026 10:00:00,Успешно реализовано,X,Y\n"
    )
    funnel = str((__import__("conftest").REPO / "params" / "funnels" / "amocrm_default.yaml"))
    ds = load(client({"amocrm_export_leads_2026.csv": text}, preset="amocrm", funnel=funnel))
    df = ds.tables["deals"]
    assert ds.quarantine.empty
    assert df["amount"].tolist() == [15000.0, 20000.0]
    assert df["stage"].tolist() == ["negotiation", "won"]
    assert df["outcome"].tolist() == ["open", "won"]
    assert pd.isna(df.loc[0, "closed_at"])
    assert df["product"].tolist() == ["X", "X"]  # the first of the two "Товар" columns


# --- whole-file problems: one paragraph, the file, what was expected, the preset key -------------


def test_missing_required_column_names_file_column_and_preset_key(client):
    with pytest.raises(InputFileError) as err:
        load(client({"deals.csv": "deal_id,created,stage\nd1,2026-01-01,new\n"}))
    msg = str(err.value)
    assert "data/deals.csv" in msg and "'created_at'" in msg and "tables.deals.columns.created_at" in msg
    assert "generic.yaml" in msg and "Did you mean 'created'" in msg
    assert "\n" not in msg


def test_undecodable_bytes(client):
    bad = "deal_id,created_at,stage\nd1,2026-01-01,new\n".encode() + b"d2,2026-01-01,\x98\x81\n"
    with pytest.raises(InputFileError) as err:
        load(client({"deals.csv": bad}))
    msg = str(err.value)
    assert "not valid utf-8 or cp1251" in msg and "byte 0x98" in msg and "encoding:" in msg


def test_explicit_encoding_mismatch(client, tmp_path):
    (tmp_path / "p.yaml").write_text(PRESET_MINI.replace('files: ["deals*.csv"', 'encoding: utf-8\n    files: ["deals*.csv"'), encoding="utf-8")
    with pytest.raises(InputFileError, match="not valid utf-8 text"):
        load(client({"deals.csv": _deals_text(";", True).encode("cp1251")}, preset="p.yaml"))


@pytest.mark.parametrize("content", [b"", b"   \n"])
def test_empty_file(client, content):
    with pytest.raises(InputFileError, match="the file is empty"):
        load(client({"deals.csv": content}))


def test_column_mapping_that_matches_nothing(client):
    with pytest.raises(InputFileError) as err:
        load(client({"deals.csv": "a,b,c\n1,2,3\n"}))
    assert "none of the columns that preset `generic` maps for `deals`" in str(err.value) and "`preset:`" in str(err.value)


def test_stage_mapping_that_matches_nothing(client):
    with pytest.raises(InputFileError) as err:
        load(client({"deals.csv": "deal_id,created_at,stage\nd1,2026-01-01,Stage A\nd2,2026-01-01,Stage B\n"}))
    msg = str(err.value)
    assert "'Stage A'" in msg and "stage_map:" in msg


def test_stage_map_in_config_rescues_custom_stages(client):
    ds = load(client({"deals.csv": "deal_id,created_at,stage,manager\nd1,2026-01-01,Stage A,m1\nd2,2026-01-01,Stage B,m1\n"}, stage_map={"Stage A": "new", "stage b": "won"}))
    assert ds.tables["deals"]["stage"].tolist() == ["new", "won"]


def test_no_matching_file_and_missing_folder(client, tmp_path):
    with pytest.raises(InputFileError, match="no file in it matches any table of preset `generic`"):
        load(client({"other.csv": "x\n1\n"}))
    with pytest.raises(InputFileError, match="the data folder does not exist"):
        load(client({}, data="nowhere"))


def test_join_with_repeated_key_is_a_whole_file_error(client, tmp_path):
    (tmp_path / "j.yaml").write_text(
        "name: j\ntables:\n  deals:\n    files: [a.csv]\n    join: [{file: b.csv, key: k, prefix: 'b.'}]\n    columns: {deal_id: k, created_at: b.d, stage: s, manager: m}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFileError, match="join key 'k' repeats"):
        load(client({"a.csv": "k,s,m\n1,new,m1\n", "b.csv": "k,d\n1,2026-01-01\n1,2026-01-02\n"}, preset="j.yaml"))
    (tmp_path / "data" / "b.csv").write_text("k,d\n1,2026-01-01\n", encoding="utf-8")
    ds = load(tmp_path / "client.yaml")
    assert ds.tables["deals"]["created_at"].tolist() == [pd.Timestamp("2026-01-01")]


def test_aware_timestamps_convert_to_the_run_timezone(client):
    deals = "deal_id,created_at,stage,manager\nd1,2026-01-05T07:00:00Z,new,m1\nd2,2026-01-05T10:00:00+03:00,new,m1\n"
    ds = load(client({"deals.csv": deals}, timezone="Europe/Moscow"))
    assert ds.tables["deals"]["created_at"].tolist() == [pd.Timestamp("2026-01-05 10:00")] * 2
    assert ds.calendar.timezone == "Europe/Moscow"
    # the generic preset's own timezone is UTC
    ds = load(client({"deals.csv": deals}))
    assert ds.timezone == "UTC" and ds.tables["deals"]["created_at"].tolist() == [pd.Timestamp("2026-01-05 07:00")] * 2


def test_closed_at_derived_from_history_when_export_has_none(client):
    deals = "deal_id,created_at,stage,manager\nd1,2026-01-05,won,m1\nd2,2026-01-05,new,m1\n"
    hist = "deal_id,stage,entered_at\nd1,new,2026-01-05\nd1,won,2026-01-20 15:00\nd2,new,2026-01-05\n"
    ds = load(client({"deals.csv": deals, "stage_history.csv": hist}))
    d = ds.tables["deals"].set_index("deal_id")
    assert d.loc["d1", "closed_at"] == pd.Timestamp("2026-01-20 15:00") and pd.isna(d.loc["d2", "closed_at"])
    assert ds.reports["deals"].notes == [("note.closed_at_from_history", {"n": 1})]
