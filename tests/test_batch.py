"""Batch runs of periods: ranges, parallel workers, a failing period that does not stop the others."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from salesaudit.batch import expand_periods, run_periods
from salesaudit.errors import SalesauditError

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
    cmd = [sys.executable, "-m", "salesaudit.cli", "run", "--config", str(CONFIG), "--periods", "2026-W40..2026-W41", "--grain", "week",
           "--notebooks-dir", str(FIXTURES / "batch"), "--out", str(tmp_path), "--no-preflight", "--no-progress", "--workers", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "2026-W40  ok" in proc.stdout and "2026-W41  ok" in proc.stdout
    rec = json.loads((tmp_path / "2026-W41" / "00_period.json").read_text(encoding="utf-8"))
    assert rec["period"] == "2026-W41" and rec["grain"] == "week"
    both = subprocess.run(cmd[:6] + ["--period", "2026-10"] + cmd[6:], capture_output=True, text=True)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
