"""Notebook 00 through the real runner (papermill, real kernel), and the quality module it calls.

As in `recommenders`: inject parameters, read the recorded key results, assert them
against figures known independently (the generator's manifest).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from salesaudit.analysis import quality as dq
from salesaudit.data.loader import load
from salesaudit.runs.runner import run

MANIFEST = json.loads((REPO / "data_samples" / "demo_bitrix24" / "MANIFEST.json").read_text(encoding="utf-8"))
GENERIC_MANIFEST = json.loads((REPO / "data_samples" / "demo_generic" / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def english_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run(REPO / "params" / "clients" / "demo_bitrix24.yaml", out_dir=out, language="en", notebooks=["00_data_quality"], progress=False)


@pytest.mark.notebook
def test_recorded_results_match_the_manifest(english_run):
    assert english_run.ok, [n.error for n in english_run.notebooks]
    (nb,) = english_run.notebooks
    rec = json.loads(nb.json.read_text(encoding="utf-8"))
    planted = sum(sum(r.values()) for r in MANIFEST["expected_quarantine"].values())
    assert rec["rows_quarantined"] == planted == 20
    assert rec["rows_accepted"] == sum(MANIFEST["expected_clean_rows"].values())
    assert rec["all_balanced"] is True
    assert rec["quarantine_by_reason"]["deals.duplicate_conflict"] == 2
    assert rec["quarantine_by_reason"]["stage_history.unknown_deal"] == 3
    assert rec["tables_loaded"] == ["managers", "deals", "leads", "stage_history", "activities", "payments", "plans"]


@pytest.mark.notebook
def test_english_report_has_english_labels_and_no_code(english_run):
    (nb,) = english_run.notebooks
    html = nb.html.read_text(encoding="utf-8")
    assert "Row reconciliation: input = accepted + quarantined" in html
    assert "Quarantined rows, as they were in the export" in html
    assert "Сверка строк" not in html
    assert "import salesaudit" not in html and "show.heading" not in html and "config_path" not in html
    index = english_run.index.read_text(encoding="utf-8")
    assert "Data quality" in index and "Rows quarantined" in index


def test_cli_stops_before_any_notebook_on_a_whole_file_problem(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text("deal_id,created,stage\nd1,2026-01-01,new\n", encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: data\npreset: generic\nfunnel: {REPO / 'params' / 'funnels' / 'demo_b2b.yaml'}\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "salesaudit.runs.cli", "run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--no-progress"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "salesaudit: error: Cannot load" in proc.stderr and "tables.deals.columns.created_at" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_check_prints_the_reconciliation():
    proc = subprocess.run([sys.executable, "-m", "salesaudit.runs.cli", "check", "--config", str(REPO / "params" / "clients" / "demo.yaml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    h = GENERIC_MANIFEST["files"]["stage_history.csv"]
    assert (h["rows"] + h["blank_lines"], GENERIC_MANIFEST["expected_clean_rows"]["stage_history"]) == (13453, 13449)
    assert "stage_history" in proc.stdout and "13453" in proc.stdout and "13449" in proc.stdout


def test_quality_result_is_language_free_and_matches_the_data(demo):
    r = dq.analyse(demo)
    rec = r.reconciliation_.set_index("table")
    # the generator's manifest: the rows it wrote (the blank line counts as an input row) and the ones it planted to be quarantined
    for table, row in rec.iterrows():
        f = next(v for v in GENERIC_MANIFEST["files"].values() if v["table"] == table)
        assert row["input"] == f["rows"] + f["blank_lines"] and row["accepted"] == GENERIC_MANIFEST["expected_clean_rows"][table], table
        assert row["quarantined"] == sum(GENERIC_MANIFEST["expected_quarantine"].get(table, {}).values()), table
    assert rec.loc["deals", "input"] == 3281 and rec.loc["deals", "quarantined"] == 11 and bool(rec["balanced"].all())
    assert r.quarantine_.iloc[0].tolist() == ["stage_history", "unknown_deal", 3]
    sm = r.stage_mapping_
    archive = sm[sm["source"] == "archive"]
    assert archive["table"].tolist() == ["deals", "stage_history"] and archive["rows"].tolist() == [2, 1] and set(archive["stage"]) == {""}
    assert sm.loc[(sm["table"] == "deals") & (sm["source"] == "won"), "rows"].tolist() == [int((demo.raw["deals"]["stage"] == "won").sum())]
    deals = demo.tables["deals"]
    comp = r.completeness_.set_index("column")
    assert comp.loc["lost_reason", "filled"] == round(float(deals["lost_reason"].notna().mean()), 4)
    cards = r.empty_cards_
    assert cards["deals"].sum() == len(deals)
    # per owner, the deals without a manager in a row of their own (the web form's 154, all with empty cards, as the robot's 162)
    owner = deals["manager"].astype(object).fillna("(none)")
    expected = deals[["amount", "product", "channel"]].isna().any(axis=1).groupby(owner).sum()
    assert cards.assign(manager=cards["manager"].fillna("(none)")).set_index("manager")["empty"].sort_index().to_dict() == expected.sort_index().to_dict()
    assert (expected["(none)"], expected["robot"]) == (154, 162) and expected.drop(["(none)", "robot"]).sum() == 0
    ranges = r.date_ranges_
    assert ranges[(ranges["table"] == "deals") & (ranges["column"] == "created_at")]["first"].iloc[0] == deals["created_at"].min()
    assert r.references_["broken"].sum() == 0
    # the key figures are read off the result: the same numbers as its tables
    k = r.key_figures()
    assert k["rows_input"] == int(r.reconciliation_["input"].sum()) and k["quarantine_by_reason"]["stage_history.unknown_deal"] == 3
    # nothing in the result is in a language
    for frame in (r.loaded_, r.reconciliation_, r.quarantine_, r.completeness_, r.date_ranges_, r.stage_mapping_, r.references_):
        assert all(c == c.lower() and " " not in c for c in frame.columns)


def test_quality_page_in_both_languages(demo):
    from salesaudit.report import quality as report

    r = dq.analyse(demo)
    en, ru = report.page(r, "en"), report.page(r, "ru")
    assert en.texts()[0] == "Data quality: ООО «Демо» (synthetic demo)" and ru.texts()[0].startswith("Качество данных")
    rec = report.reconciliation_table(r, "en").set_index("Table")
    assert rec.loc["Deals", "Input"] == 3281 and rec.loc["Deals", "Balanced"] == "yes"
    assert report.quarantine_table(r, "en").iloc[0].tolist() == ["Stage history", "refers to an unknown deal", 3]  # the reason in words, not its code
    sm = report.stage_mapping_table(r, "en")
    assert set(sm.loc[sm["CRM stage"] == "archive", "Funnel stage"]) == {"not in the funnel"}
    assert list(sm.columns) == ["Table", "CRM stage", "Funnel stage", "Rows"]  # the funnel's internal keys are not shown
    # canonical columns, tables and managers in words, never their keys (created_at, stage_history, m_desk)
    comp = report.completeness_table(r, "ru").set_index("Поле")
    assert comp.loc["Причина проигрыша", "Заполнено"] == r.completeness_.set_index("column").loc["lost_reason", "filled"]
    ex = report.example_table(r.examples_["unknown_deal"], "en")
    assert ex.columns[:7].tolist() == ["Table", "File", "Row", "Column", "Value", "Deal number", "Stage"]
    assert set(ex["Table"]) == {"Stage history"} and set(ex["Column"]) == {"Deal number"} and set(ex["File"]) == {"stage_history.csv"}
    cards = report.empty_cards_table(r, "en").set_index("Manager")
    names = dict(zip(demo.tables["managers"]["manager"], demo.tables["managers"]["name"]))
    assert cards.loc[names["m_desk"], "Deals"] == int((demo.tables["deals"]["manager"] == "m_desk").sum()) and "m_desk" not in cards.index
    assert "Empty: Amount" in cards.columns and "(none)" in cards.index
    intro = en.texts()[1]
    assert intro.startswith("Export of a CRM (one file per table, standard columns), audit moment 31 Oct 2026") and "demo_generic" not in intro
    assert report.empty_cards_table(r, "ru")["Сделок"].sum() == len(demo.tables["deals"])
    total = sum(f["rows"] + f["blank_lines"] for f in GENERIC_MANIFEST["files"].values())
    assert (total, sum(GENERIC_MANIFEST["expected_clean_rows"].values())) == (47300, 47279)
    assert "Every table balances: 47,300 input rows, 47,279 accepted, 21 quarantined." in en.texts()
    assert "Все таблицы сходятся: 47\u00a0300 строк на входе, 47\u00a0279 принято, 21 в карантине." in ru.texts()  # report.format, plural forms
    # presentation never changes a number: the same result gives the same figures in both pages
    assert [len(t) for t in en.tables()] == [len(t) for t in ru.tables()]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_quality_degrades_without_deals(client):
    from salesaudit.data.loader import load_dataset
    from salesaudit.data.params import load_run_config
    from salesaudit.data.verdict import LoadRefused

    path = client({"leads.csv": "lead_id,created_at,channel\nl1,2026-01-05 10:00,web\n"})
    with pytest.raises(LoadRefused, match="The deals table is missing"):
        load(path)
    # the data-quality tables still work on what was loaded (a look at a refused export)
    ds = load_dataset(load_run_config(path), refuse=False)
    assert [p.code for p in ds.problems if p.fatal] == ["deals_missing"] and {p.table for p in ds.warnings} == {"managers", "stage_history", "activities", "payments", "plans"}
    r = dq.analyse(ds)
    assert r.key_figures()["tables_loaded"] == ["leads"]
    assert "deals_with_empty_required_field" not in r.key_figures()
    assert r.references_.empty and len(r.stage_mapping_) == 0
