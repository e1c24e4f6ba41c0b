"""Batch runs of periods: ranges, parallel workers, a failing period that does not stop the others."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from salesaudit.errors import SalesauditError
from salesaudit.runs.batch import expand_periods, run_periods

FIXTURES = REPO / "tests" / "fixtures"
CONFIG = FIXTURES / "runner" / "config.yaml"


@pytest.mark.parametrize(
    "text,grain,expected",
    [
        ("2026-01..2026-10", None, [f"2026-{m:02d}" for m in range(1, 11)]),
        ("2025-11..2026-02", None, ["2025-11", "2025-12", "2026-01", "2026-02"]),
        ("2026-10-14..2026-10-16", "day", ["2026-10-14", "2026-10-15", "2026-10-16"]),
        ("2026-10-14..2026-10-27", "week", ["2026-W42", "2026-W43", "2026-W44"]),
        ("2026-W01..2026-W03", None, ["2026-W01", "2026-W02", "2026-W03"]),
    ],
)
def test_expand_periods(text, grain, expected):
    assert expand_periods(text, grain) == expected


@pytest.mark.parametrize("text", ["2026-10", "2026-10..2026-01", "2026/01..2026/03"])
def test_bad_ranges_are_clear_errors(text):
    with pytest.raises(SalesauditError, match="--periods"):
        expand_periods(text)


def test_one_failing_period_does_not_stop_the_others(tmp_path):
    res = run_periods(CONFIG, "2026-08..2026-10", out_dir=tmp_path, notebooks_dir=FIXTURES / "batch", workers=2, progress=False, preflight=False)
    assert [p.period for p in res.periods] == ["2026-08", "2026-09", "2026-10"]
    assert [p.ok for p in res.periods] == [True, False, True]
    assert "no plan for 2026-09" in res.periods[1].error
    for label in ("2026-08", "2026-10"):
        rec = json.loads((tmp_path / label / "00_period.json").read_text(encoding="utf-8"))
        assert rec["period"] == label and rec["grain"] == "month"
    index = res.index.read_text(encoding="utf-8")
    assert 'href="2026-08/index.html"' in index and "no plan for 2026-09" in index
    assert not res.ok


def test_cli_periods_exit_code_and_listing(tmp_path):
    cmd = [sys.executable, "-m", "salesaudit.runs.cli", "run", "--config", str(CONFIG), "--periods", "2026-W40..2026-W41", "--grain", "week",
           "--notebooks-dir", str(FIXTURES / "batch"), "--out", str(tmp_path), "--no-preflight", "--no-progress", "--workers", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "2026-W40  ok" in proc.stdout and "2026-W41  ok" in proc.stdout
    rec = json.loads((tmp_path / "2026-W41" / "00_period.json").read_text(encoding="utf-8"))
    assert rec["period"] == "2026-W41" and rec["grain"] == "week"
    both = subprocess.run(cmd[:6] + ["--period", "2026-10"] + cmd[6:], capture_output=True, text=True)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


# ---------------------------------------------------------------------------
# coverage: periods outside the data are refused, partly covered ones carry the banner


def _cut_config(tmp_path):
    """The demo department exported on 2026-10-20 (absolute paths, so the copy works from anywhere)."""
    import yaml
    from conftest import DEMO_FUNNEL

    cfg = yaml.safe_load((REPO / "params" / "clients" / "demo.yaml").read_text(encoding="utf-8"))
    cfg.update({"data": str(REPO / "data_samples" / "demo_generic"), "funnel": str(DEMO_FUNNEL), "as_of": "2026-10-20 23:59:59"})
    path = tmp_path / "cut.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def test_periods_outside_the_data_fail_without_running_and_partial_ones_get_the_banner(tmp_path, monkeypatch):
    import salesaudit.data.loader

    loads = []
    real = salesaudit.data.loader.load_dataset
    monkeypatch.setattr(salesaudit.data.loader, "load_dataset", lambda *a, **k: loads.append(1) or real(*a, **k))
    out = tmp_path / "out"
    res = run_periods(_cut_config(tmp_path), "2026-10..2026-12", out_dir=out, notebooks_dir=FIXTURES / "batch", workers=2, progress=False)
    assert loads == [1]  # the data are loaded once for the whole batch
    assert [(p.period, p.ok) for p in res.periods] == [("2026-10", True), ("2026-11", False), ("2026-12", False)]
    assert [p.coverage.status for p in res.periods] == ["partial", "none", "none"]
    for p in res.periods[1:]:
        assert p.error == (f"The period {p.period} lies outside the data: the export covers 1 Aug 2025 – 20 Oct 2026 (first and last "
                           f"dated row). How to fix: choose a period inside that range with --period, or export the data for {p.period}.")
        assert p.index is None and not (out / p.period).exists()  # no notebook ran
    banner = "Период 2026-10 покрыт данными частично: с 01.10.2026 по 20.10.2026."
    assert res.periods[0].banner == banner
    for page in ("2026-10/00_period.html", "2026-10/index.html"):
        assert banner in (out / page).read_text(encoding="utf-8"), page
    index = res.index.read_text(encoding="utf-8")
    assert '<td class="cov partial">частично: 01.10.2026 – 20.10.2026</td>' in index  # the batch index: the coverage column
    assert "Период 2026-11 лежит вне данных: выгрузка охватывает 01.08.2025 – 20.10.2026" in index  # report language


def test_cli_refuses_a_range_wholly_outside_the_data(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "salesaudit.runs.cli", "run", "--config", str(_cut_config(tmp_path)), "--periods", "2027-01..2027-03",
                           "--notebooks-dir", str(FIXTURES / "batch"), "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "salesaudit: error: All periods 2027-01..2027-03 lie outside the data: the export covers 1 Aug 2025 – 20 Oct 2026 "
        "(first and last dated row). How to fix: choose periods inside that range with --periods, or export the data for 2027-01..2027-03."
    )
    assert not out.exists()
