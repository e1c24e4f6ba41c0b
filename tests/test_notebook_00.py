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
    assert "stage_history" in proc.stdout and "7123" in proc.stdout and "7119" in proc.stdout


def test_quality_tables(demo):
    rec = dq.reconciliation(demo, "en").set_index("Table")
    assert rec.loc["Deals", "Input"] == 1693 and rec.loc["Deals", "Quarantined"] == 11
    summary = dq.quarantine_summary(demo, "en")
    assert summary.iloc[0].tolist() == ["Stage history", "refers to an unknown deal", "unknown_deal", 3]
    sm = dq.stage_mapping(demo, "en")
    archive = sm[sm["CRM stage"] == "archive"]
    assert archive["Table"].tolist() == ["Deals", "Stage history"] and archive["Rows"].tolist() == [2, 1]
    assert set(archive["Funnel stage"]) == {"not in the funnel"}
    assert sm.loc[(sm["Table"] == "Deals") & (sm["CRM stage"] == "won"), "Rows"].tolist() == [int((demo.raw["deals"]["stage"] == "won").sum())]
    comp = dq.completeness(demo, "deals", "en").set_index("Column")
    deals = demo.tables["deals"]
    assert comp.loc["lost_reason", "Filled"] == round(float(deals["lost_reason"].notna().mean()), 4)
    cards = dq.empty_deal_cards(demo, "ru")
    assert cards["Сделок"].sum() == len(deals)
    fields = ["amount", "product", "channel"]
    expected = deals[fields].isna().any(axis=1).groupby(deals["manager"].astype(object)).sum()
    got = cards.set_index("Менеджер")["С пустыми полями"]
    assert got.sort_index().tolist() == expected.sort_index().tolist()
    ranges = dq.date_ranges(demo, "en")
    first = ranges[(ranges["Table"] == "Deals") & (ranges["Column"] == "created_at")]["From"].iloc[0]
    assert first == deals["created_at"].min()
    assert dq.reference_checks(demo, "en")["Broken links"].sum() == 0


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
    assert dq.summary(ds)["tables_loaded"] == ["leads"]
    assert "deals_with_empty_required_field" not in dq.summary(ds)
    assert dq.reference_checks(ds, "en").empty
    assert len(dq.stage_mapping(ds, "en")) == 0
