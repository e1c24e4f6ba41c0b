"""The loader's vectorised paths give exactly what the value-by-value paths give.

* the text helpers (strip, null tokens, categories, empty values) against plain Python on every value, across the
  blocks the helpers work in;
* ``parse_datetimes`` and ``parse_numbers``: the values read without the general parsers (fixed layouts, plain whole
  numbers) against the general parsers on the same values, edge cases included (31.02, 24:00, leap days, -0, 007);
* whole loads (the demo, the Bitrix24 demo, exports of the malformed corpus) with every fast path switched off:
  tables, quarantine, reconciliation, reports, verdict and the quarantined rows as read, identical;
* what a load keeps: of the rows as read, only the quarantined ones (``ds.raw[table]`` reads the file again, and
  refuses when the file changed); the largest table read first without changing which error a broken export gets;
  pyarrow's default allocator restored.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from salesaudit.data import loader, parse, readers
from salesaudit.data.dataset import RawRows
from salesaudit.data.loader import load, load_dataset
from salesaudit.data.params import load_run_config
from salesaudit.errors import InputFileError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import REPO  # noqa: E402

#: every character Python's str.strip() (and pyarrow's utf8_trim_whitespace) strips
WHITESPACE = [chr(c) for c in (9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)]


def _text(values) -> pd.Series:
    """``values`` as the loader holds text: pandas' pyarrow-backed ``str``."""
    return pd.Series(list(values), dtype=object).astype(str)


def _spread(values, n: int = 150_000, seed: int = 0) -> list:
    """``values`` scattered over ``n`` rows of a plain value, so that they fall into several blocks of the helpers."""
    rng = np.random.default_rng(seed)
    out = ["2025-08-01 09:57:51"] * n
    for v, at in zip(values, rng.choice(n, size=len(values), replace=False)):
        out[at] = v
    return out


# --------------------------------------------------------------------------- text helpers against Python


def test_whitespace_is_what_python_strips():
    assert [chr(c) for c in range(0x110000) if chr(c).isspace()] == WHITESPACE


CLEAN_CASES = (
    ["", " ", "a", " a", "a ", "\xa0a\xa0", "d\xa0d", "в «кавычках»", "рубль р", "Р", "Ра", "a\u200bb", "\u200b", "x\u00ad"]
    + [w + "v" for w in WHITESPACE] + ["v" + w for w in WHITESPACE] + [w for w in WHITESPACE] + ["é" + w + "é" for w in WHITESPACE]
)


def test_clean_text_strips_as_python_does():
    values = _spread(CLEAN_CASES)
    got = parse.clean_text(_text(values))
    assert got.tolist() == [v.replace("\xa0", " ").strip() for v in values]
    assert got.dtype == _text([]).dtype
    for v in CLEAN_CASES:  # each alone among clean values: no other value's stripping covers for it
        column = ["ab", "в", v, "cd"]
        assert parse.clean_text(_text(column)).tolist() == [x.replace("\xa0", " ").strip() for x in column], repr(v)
    clean = _text(["a", "b c", "Р"] * 40_000)
    assert parse.clean_text(clean) is clean  # nothing to change: the column as it is, no copy


def test_is_null_and_categories_match_python_per_value():
    extra = ["Straße", "нет информации", " N/A "]
    values = ["", "-", "NULL", "Не закрыта", "НЕ ЗАКРЫТА", "straße", "STRASSE", "Нет информации", "n/a", "nan", "NaN ", "won", "WON", "Won", "lost", "ﬁ", "open", "x" * 30]
    tokens = set(parse.NULL_TOKENS) | {t.strip().casefold() for t in extra}
    s = _text(_spread(values, 100_000))
    assert parse.is_null(s, extra).tolist() == [v.casefold() in tokens for v in s]
    allowed = ("won", "lost", "open")
    got, bad = parse.categorise(s, allowed, extra)
    want = [None if v.casefold() in tokens or v.casefold() not in allowed else v.casefold() for v in s]
    assert [None if pd.isna(x) else x for x in got] == want
    assert bad.tolist() == [v.casefold() not in tokens and v.casefold() not in allowed for v in s]
    assert parse.casefold(s).tolist() == [v.casefold() for v in s]


@pytest.mark.parametrize("start", [0, 5])
def test_blank_as_missing_is_where(start):
    s = _text(_spread(["", "", "a", " "], 100_000))[start:]
    got = parse.blank_as_missing(s)
    want = s.where(s != "", None)
    pd.testing.assert_series_equal(got, want, check_exact=True)
    assert got.isna().sum() == (s == "").sum() == 2


# --------------------------------------------------------------------------- parsers: fast values against the general parsers

DATE_CASES = [
    "2025-08-01 09:57:51", "2025-08-01T09:57:51", "2025-08-01 09:57", "2025-08-01", "2024-02-29", "2024-02-29 23:59:59",
    "2025-02-29", "2100-02-29", "2000-02-29", "1699-12-31", "1700-01-01", "2199-12-31 23:59:59", "2200-01-01", "9999-12-31",
    "2025-13-01", "2025-00-10", "2025-01-00", "2025-01-32", "2025-04-31", "2025-01-01 24:00:00", "2025-01-01 23:60:00",
    "2025-01-01 23:59:60", "2025-1-1 9:05:00", "2025-08-01 09:57:51.5", "2025-08-01T09:57:51Z", "2025-08-01 09:57:51+03:00",
    "01.08.2025 09:57:51", "01.08.2025 09:57", "01.08.2025", "31.02.2025", "29.02.2024 10:00", "29.02.2023", "32.13.2025 25:61",
    "1.8.2025", "31.12.25", "31.12.25 14:05", "12/31/2025 02:05 PM", "12/31/2025", "31/12/2025", "01-08-2025 09:57",
    "не закрыта", "", "-", " 2025-08-01 ", "\xa02025-08-01", "2025-08-01 09:57:51 ", "2025‐08‐01", "２０２５-08-01", "abc",
]


@pytest.mark.parametrize("dayfirst", [True, False])
def test_datetimes_read_fast_are_what_the_general_parsers_give(dayfirst):
    s = _text(_spread(DATE_CASES))
    values, bad = parse.parse_datetimes(s, dayfirst=dayfirst, timezone="Europe/Moscow", null_values=["n/a"])
    text = parse.clean_text(s)
    want, want_bad = parse._parse_datetimes(text, parse.is_null(text, ["n/a"]), dayfirst, "Europe/Moscow")
    pd.testing.assert_series_equal(values, want, check_exact=True, check_names=False)
    assert bad.tolist() == want_bad.tolist()
    one = dict(zip(s, values))
    assert one["29.02.2024 10:00"] == pd.Timestamp("2024-02-29 10:00") and one["01.08.2025 09:57"] == pd.Timestamp("2025-08-01 09:57")
    assert pd.isna(one["2025-02-29"]) and pd.isna(one["31.02.2025"]) and pd.isna(one["2025-01-01 24:00:00"])
    assert one["2025-08-01T09:57:51Z"] == pd.Timestamp("2025-08-01 12:57:51")  # converted to Moscow time


NUMBER_CASES = [
    "0", "-0", "00", "007", "-007", "123", "-123", "999999999999999", "-999999999999999", "1000000000000000", "12345678901234567890",
    "1.5", "1,5", "1 234,5", "1,234,567", "1.234.567", "125 000,50", "15%", "12abc", "", "-", "abc", " 42 ", "+5", "١٢٣", "４２", "1e5",
    "−7", "$10", "10 руб.", "inf", "nan", "0.0", "-0.0", "18446744073709551615", "9223372036854775808", "-9223372036854775809",
    "9007199254740993", "123456789012345678901234567890",
]
#: whole numbers only, for pandas' integer paths (signed, unsigned, their conflict) beside the plain ones read fast
WHOLE_CASES = {
    "ints": ["0", "-0", "007", "123", "-5", "1000000000000000"],
    "uint": ["5", "-5", "18446744073709551615", "9007199254740993"],
    "big": ["5", "9223372036854775808", "9007199254740993", "12345678901234567891"],
    "nulls": ["5", "", "-", "9007199254740993", "-0"],
}


@pytest.mark.parametrize("decimal", ["auto", ",", "."])
@pytest.mark.parametrize("mix", ["all", *WHOLE_CASES])
def test_numbers_read_fast_are_what_the_general_parser_gives(decimal, mix):
    cases, nulls = (NUMBER_CASES, ["0"]) if mix == "all" else (WHOLE_CASES[mix], [])  # whole numbers without a null: pandas' integer path
    s = _text([c for c in cases for _ in range(3)] + [str(i) for i in range(70_000)])
    values, bad = parse.parse_numbers(s, decimal=decimal, null_values=nulls)
    text = parse.clean_text(s)
    want, want_bad = parse._parse_numbers(text, parse.is_null(text, nulls), decimal)
    np.testing.assert_array_equal(values.to_numpy(), want.to_numpy())
    assert np.array_equal(np.signbit(values.fillna(1).to_numpy()), np.signbit(want.fillna(1).to_numpy()))  # -0.0 stays -0.0
    assert bad.tolist() == want_bad.tolist()
    assert values.iloc[-1] == 69_999.0 and (pd.isna(values.iloc[0]) if mix == "all" else values.iloc[0] == float(cases[0]))  # "0": a null value in "all"


def test_duplicated_ids_compared_as_numbers_only_when_that_is_the_same():
    key = pd.Series(["7", "007", "7", "0", "00", "12", "12345678901234567890", "12345678901234567890", "x", None, "8"], dtype="string")
    rows = key.notna().to_numpy()
    pd.testing.assert_series_equal(loader._duplicated(key, rows), key[rows].duplicated(keep=False))
    plain = pd.Series([str(i % 50_000) for i in range(60_000)] + [None], dtype="string")
    rows = plain.notna().to_numpy() & (np.arange(len(plain)) % 7 != 0)
    got = loader._duplicated(plain, rows)
    pd.testing.assert_series_equal(got, plain[rows].duplicated(keep=False))
    from collections import Counter

    seen = Counter(plain[rows])
    assert int(got.sum()) == sum(n for n in seen.values() if n > 1)


# --------------------------------------------------------------------------- whole loads, fast paths off


def _off(monkeypatch):
    """Every vectorised path of the loader off: text through the general pandas string methods, Python strings read."""
    real = readers.read_raw
    monkeypatch.setattr(parse, "_arrow_text", lambda s: None)
    monkeypatch.setattr(loader, "_arrow_strings", lambda x: False)
    monkeypatch.setattr(parse, "_arrow_strings", lambda x: False)
    monkeypatch.setattr(loader, "_per_distinct", lambda s, fn: fn(s))
    monkeypatch.setattr(loader, "read_raw", lambda *a, **k: real(*a, **{**k, "strings": "object"}))


def _outputs(ds) -> dict:
    return {
        "tables": ds.tables, "quarantine": ds.quarantine, "reconciliation": ds.reconciliation(), "stage_mapping": ds.stage_mapping,
        "reports": {k: dataclasses.asdict(r) for k, r in ds.reports.items()}, "facts": ds.facts, "currency": ds.config.currency,
        "problems": [(p.severity, p.code, p.table, p.file, p.params) for p in ds.problems],
        "raw_rows": {t: ds.raw_rows(t) for t in ds.raw}, "raw_columns": {t: ds.raw_columns(t) for t in ds.raw},
    }


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key in ("tables", "raw_rows"):
            assert list(a[key]) == list(b[key]), key
            for name in a[key]:
                pd.testing.assert_frame_equal(a[key][name], b[key][name], check_exact=True, obj=f"{key}.{name}")
        elif isinstance(a[key], pd.DataFrame):
            pd.testing.assert_frame_equal(a[key], b[key], check_exact=True, obj=key)
        else:
            assert a[key] == b[key], key


CORPUS_CASES = ["deals_bad_rows", "history_unknown_deals", "bitrix_pipeline_selected", "bitrix_stage_ids_pipeline3", "bitrix_currencies_rate_90",
                "amocrm_export", "amocrm_bad_budget", "deals_semicolon_decimal_comma", "deals_cp1251_undeclared", "deals_utf16_bom", "zip_all_tables"]


def _configs(tmp_path):
    from corpus import CASES, build_case

    out = {"demo": REPO / "params" / "clients" / "demo.yaml", "bitrix24": REPO / "params" / "clients" / "demo_bitrix24.yaml"}
    cases = {c.name: c for c in CASES}
    for name in CORPUS_CASES:
        out[name], _ = build_case(cases[name], tmp_path / name)
    return out


def test_loads_with_every_fast_path_off_are_identical(tmp_path, monkeypatch):
    configs = _configs(tmp_path)
    fast = {}
    for name, path in configs.items():
        monkeypatch.chdir(path.parent)
        fast[name] = _outputs(load_dataset(load_run_config(path), refuse=False))
    _off(monkeypatch)
    for name, path in configs.items():
        monkeypatch.chdir(path.parent)
        slow = _outputs(load_dataset(load_run_config(path), refuse=False))
        _assert_same(fast[name], slow)
    assert fast["demo"]["reconciliation"]["quarantined"].sum() == len(fast["demo"]["quarantine"]) == 21
    assert len(fast["deals_bad_rows"]["quarantine"]) > 0 and len(fast["bitrix_pipeline_selected"]["quarantine"]) > 0


# --------------------------------------------------------------------------- what a load keeps


def test_raw_keeps_the_quarantined_rows_and_reads_a_table_again_on_demand(demo, tmp_path):
    assert isinstance(demo.raw, RawRows) and list(demo.raw) == list(demo.tables)
    q = demo.quarantine
    for name in demo.raw:
        kept = demo.raw_rows(name)
        assert len(kept) == int((q["table"] == name).sum())
        assert kept[readers.ROW_COL].tolist() == q.loc[q["table"] == name, "row"].tolist()
    assert demo.raw._full == {}  # the checks, the examples and `in` read nothing again
    assert "deals" in demo.raw and "nonsense" not in demo.raw and demo.raw._full == {}
    deals = demo.raw["deals"]
    want, _ = readers.read_raw(REPO / "data_samples" / "demo_generic" / "deals.csv")
    want[readers.FILE_COL] = "deals.csv"
    pd.testing.assert_frame_equal(deals, want, check_exact=True)
    rows = deals[deals[readers.ROW_COL].isin(demo.raw_rows("deals")[readers.ROW_COL])]
    pd.testing.assert_frame_equal(demo.raw_rows("deals"), rows, check_exact=True)
    assert demo.raw_columns("deals") == list(deals.columns) and demo.raw_columns("nonsense") is None


def test_raw_refuses_a_file_changed_since_the_load(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(REPO / "data_samples" / "demo_generic", data)
    cfg = (REPO / "params" / "clients" / "demo.yaml").read_text(encoding="utf-8")
    cfg = cfg.replace("data: ../../data_samples/demo_generic", f"data: {data}").replace("funnel: ../funnels/demo_b2b.yaml", f"funnel: {REPO / 'params/funnels/demo_b2b.yaml'}")
    (tmp_path / "c.yaml").write_text(cfg, encoding="utf-8")
    ds = load(tmp_path / "c.yaml")
    with open(data / "payments.csv", "a", encoding="utf-8") as f:
        f.write("99999,50001,2026-01-01 10:00:00,1\n")
    with pytest.raises(InputFileError, match="changed"):
        ds.raw["payments"]
    assert len(ds.raw["deals"]) == ds.reports["deals"].input_rows  # an unchanged file reads again


def _write(tmp_path, files: dict) -> Path:
    import yaml

    data = tmp_path / "data"
    data.mkdir()
    for name, text in files.items():
        (data / name).write_text(text, encoding="utf-8")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"data": "data", "preset": "generic", "funnel": str(REPO / "params/funnels/demo_b2b.yaml"),
                                    "as_of": "2026-10-31 23:59:59"}), encoding="utf-8")
    return path


DEALS = "deal_id,created_at,manager,amount,currency,stage\nd1,2026-01-05 10:00:00,m01,100,USD,new\n"
ACTIVITIES = "activity_id,type,manager,created_at\n" + "".join(f"a{i},call,m01,2026-01-05 10:00:00\n" for i in range(2000))


@pytest.mark.parametrize("broken, named, currency", [({"activities"}, "activities.csv", "USD"), ({"activities", "deals"}, "deals.csv", None),
                                                     ({"activities", "managers"}, "managers.csv", None), ({"managers"}, "managers.csv", None)])
def test_the_table_read_first_leaves_the_error_to_the_tables_before_it(tmp_path, broken, named, currency):
    files = {"deals.csv": DEALS, "activities.csv": ACTIVITIES, "managers.csv": "manager,name,role\nm01,Иванов,manager\n"}
    if "activities" in broken:
        files["activities.csv"] = ACTIVITIES.replace("created_at", "created")  # a required column missing
    if "deals" in broken:
        files["deals.csv"] = DEALS.replace("created_at", "created")
    if "managers" in broken:
        files["managers.csv"] = "manager,name\nm01,Иванов\n"
    config = load_run_config(_write(tmp_path, files))
    assert loader._size(readers.Source(tmp_path / "data" / "activities.csv")) > 10 * loader._size(readers.Source(tmp_path / "data" / "deals.csv"))
    with pytest.raises(InputFileError) as err:
        load_dataset(config)
    assert f"data/{named}" in str(err.value)
    others = {"activities.csv", "deals.csv", "managers.csv"} - {named}
    assert not any(f"data/{o}" in str(err.value) for o in others)
    # as when the tables were read in the model's order: the deals (which fill in the currency) read before activities
    # fails, never read when a table before them fails
    assert config.currency == currency


def test_the_default_allocator_is_restored(tmp_path):
    before = pa.default_memory_pool().backend_name
    ds = load(REPO / "params" / "clients" / "demo.yaml")
    assert pa.default_memory_pool().backend_name == before and len(ds.tables["deals"]) == 3270
    with pytest.raises(InputFileError):
        load(_write(tmp_path, {"deals.csv": DEALS.replace("created_at", "created")}))
    assert pa.default_memory_pool().backend_name == before
