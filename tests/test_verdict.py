"""The load verdict (salesaudit.data.verdict, in words: salesaudit.report.verdict): thresholds, calendar years, texts in both languages."""
from __future__ import annotations

import re

import pytest

from salesaudit.data.loader import load_dataset
from salesaudit.data.params import load_run_config
from salesaudit.data.verdict import THRESHOLDS, LoadRefused, assess
from salesaudit.report.i18n import LABELS
from salesaudit.report.verdict import problem_text, warning_texts

HEAD = "deal_id,created_at,manager,amount,product,channel,stage\n"


def _deals(n: int, *, unknown: int = 0, no_product: int = 0, year: int = 2026) -> str:
    rows = []
    for i in range(n):
        stage = "archive" if i < unknown else "new"
        product = "" if i < no_product else "p1"
        rows.append(f"d{i},{year}-03-{1 + i % 28:02d} 10:00,m{i % 3},1000,{product},web,{stage}")
    return HEAD + "\n".join(rows) + "\n"


def _load(client, files, **cfg):
    return load_dataset(load_run_config(client(files, **cfg)), refuse=False)


def _codes(ds):
    return sorted(p.code for p in ds.problems)


def test_quarantine_share_is_warned_above_five_percent_only(client):
    # 5 of 100 rows (exactly 5 %) is not above the threshold; 6 of 100 is
    assert THRESHOLDS["quarantine_share"] == 0.05
    ds = _load(client, {"deals.csv": _deals(100, unknown=5)})
    assert "quarantine_share" not in _codes(ds)
    ds = _load(client, {"deals.csv": _deals(100, unknown=6)})
    (p,) = [p for p in ds.problems if p.code == "quarantine_share"]
    assert p.table == "deals" and p.params["n"] == 6 and p.params["share"] == pytest.approx(0.06)
    text = problem_text(p, "en")
    assert "6.0%" not in text and "6%" in text and "«archive» (6)" in text
    assert 'stage_map:\n  "archive": ___' in text


def test_field_empty_above_twenty_percent(client):
    ds = _load(client, {"deals.csv": _deals(50, no_product=10)})  # 20 %: not above
    assert "field_empty" not in _codes(ds)
    ds = _load(client, {"deals.csv": _deals(50, no_product=11)})  # 22 %
    (p,) = [p for p in ds.problems if p.code == "field_empty"]
    assert p.params["canonical"] == "product" and p.params["n"] == 11 and p.params["rows"] == 50
    assert "22%" in problem_text(p, "en") and "22\u00a0%" in problem_text(p, "ru")


def test_manager_empty_in_every_row_refuses(client):
    text = _deals(10).replace(",m0,", ",,").replace(",m1,", ",,").replace(",m2,", ",,")
    path = client({"deals.csv": text})
    with pytest.raises(LoadRefused) as err:
        load_dataset(load_run_config(path))
    msg = str(err.value)
    assert "deals.csv" in msg and "empty in all 10 rows" in msg and "How to fix" in msg and "\n" not in msg


def test_dates_outside_the_production_calendar_are_a_warning(client):
    # the Russian production calendar covers the years the holidays package has a decree for
    ds = _load(client, {"deals.csv": _deals(10, year=2031)}, as_of="2031-12-31 23:59:59",
               lead_response={"calendar": {"production": "ru"}})
    (p,) = [p for p in ds.problems if p.code == "calendar_years"]
    assert p.params["years"] == "2031"
    assert "2031" in problem_text(p, "ru") and "holidays" in problem_text(p, "en")
    inside = _load(client, {"deals.csv": _deals(10, year=2026)}, lead_response={"calendar": {"production": "ru"}})
    assert "calendar_years" not in _codes(inside)
    # a calendar of the client's own days claims no years
    own = _load(client, {"deals.csv": _deals(10, year=2031)}, as_of="2031-12-31 23:59:59")
    assert "calendar_years" not in _codes(own)


def test_history_for_few_deals_is_a_warning(client):
    hist = "deal_id,stage,entered_at\n" + "\n".join(f"d{i},new,2026-03-{1 + i:02d} 10:00" for i in range(4))
    ds = _load(client, {"deals.csv": _deals(10), "stage_history.csv": hist})
    (p,) = [p for p in ds.problems if p.code == "history_sparse"]
    assert (p.params["n"], p.params["deals"]) == (4, 10)
    hist = "deal_id,stage,entered_at\n" + "\n".join(f"d{i},new,2026-03-{1 + i:02d} 10:00" for i in range(5))
    assert "history_sparse" not in _codes(_load(client, {"deals.csv": _deals(10), "stage_history.csv": hist}))


def test_assess_is_the_datasets_own_verdict(client, demo):
    assert demo.problems == [] and assess(demo) == []
    ds = _load(client, {"deals.csv": _deals(100, unknown=6)})
    assert [p.code for p in assess(ds)] == [p.code for p in ds.problems]


def test_every_problem_text_exists_in_both_languages_and_fills_its_placeholders(client):
    keys = [k for k in LABELS if k.startswith("problem.")]
    assert keys and all(set(LABELS[k]) == {"ru", "en"} for k in keys)
    ds = _load(client, {"deals.csv": _deals(100, unknown=7, no_product=30)}, currency="EUR")
    assert {"quarantine_share", "field_empty", "no_file"} <= set(_codes(ds))
    for p in ds.problems:
        for lang in ("ru", "en"):
            text = problem_text(p, lang)
            assert not re.search(r"\{[a-z_]+\}", text), (p.code, lang, text)
            assert "None" not in text and "nan" not in text


def test_index_page_keeps_the_stage_map_lines_pasteable(client):
    from salesaudit.runs.runner import render_index

    ds = _load(client, {"deals.csv": _deals(100, unknown=6)})
    page = render_index(ds.config, [], warnings=warning_texts(ds, "en"))
    assert '<pre>stage_map:\n  &quot;archive&quot;: ___</pre>' in page
