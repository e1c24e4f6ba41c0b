"""Period coverage: a period outside the data is refused, a partly covered one is labelled on every page.

The demo department (data_samples/demo_generic) has dated rows from 2025-08-01 to 2026-10-30 and
the audit moment 2026-10-31 23:59:59. Real runs go through the real command line (a subprocess).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import DEMO_FUNNEL, REPO

from salesaudit import load
from salesaudit.data.coverage import Coverage, data_range, period_coverage
from salesaudit.data.params import parse_period
from salesaudit.report.coverage import banner, fmt_date, refusal

DEMO = REPO / "params" / "clients" / "demo.yaml"
DEMO_DATA = REPO / "data_samples" / "demo_generic"
CUT = "2026-10-20 23:59:59"
BANNER_RU = "Период 2026-10 покрыт данными частично: с 01.10.2026 по 20.10.2026."
BANNER_EN = "The period 2026-10 is only partly covered by the data: 1 Oct 2026 to 20 Oct 2026."


def _independent_range(ds):
    """min/max of the activity dates, computed here without salesaudit.data.coverage."""
    columns = [("deals", "created_at"), ("deals", "closed_at"), ("leads", "created_at"),
               ("stage_history", "entered_at"), ("activities", "created_at"), ("payments", "paid_at")]
    values = pd.concat([ds.tables[t][c] for t, c in columns if t in ds.tables and c in ds.tables[t]]).dropna()
    return values.min(), min(values.max(), ds.as_of)


@pytest.fixture(scope="module")
def cut(demo):
    """The demo department exported on 2026-10-20 (as_of override): October is covered only in part."""
    return load(DEMO, as_of=CUT)


def _partial_config(folder: Path) -> Path:
    """A copy of demo.yaml cut at 2026-10-20, with absolute paths to the data and the funnel."""
    cfg = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    cfg.update({"data": str(DEMO_DATA), "funnel": str(DEMO_FUNNEL), "as_of": CUT, "period": "2026-10"})
    path = folder / "partial.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesaudit.runs.cli", "run", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


# ---------------------------------------------------------------------------
# data_range and period_coverage on the demo dataset


def test_data_range_is_min_and_max_of_the_activity_dates(demo):
    first, last = data_range(demo)
    assert (first, last) == _independent_range(demo)
    assert (first, last) == (pd.Timestamp("2025-08-01 09:53:29"), pd.Timestamp("2026-10-31 08:47:13"))  # the last lead, a Saturday morning


def test_data_range_is_capped_at_as_of(cut):
    first, last = data_range(cut)
    assert (first, last) == _independent_range(cut)
    assert last <= pd.Timestamp(CUT) and last.date().isoformat() == "2026-10-20"


def test_october_is_full_and_may_2027_is_outside(demo):
    first, last = data_range(demo)
    october = period_coverage(demo, "2026-10", "month")
    assert (october.status, october.first, october.last) == ("full", first, last)
    assert (october.covered_from, october.covered_to) == (pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-31 23:59:59"))
    assert banner(october, "ru") is None and refusal(october) is None

    may = period_coverage(demo, "2027-05", "month")
    assert may.status == "none" and may.period == parse_period("2027-05", "month")
    assert (may.covered_from, may.covered_to) == (None, None)
    assert refusal(may) == (
        "The period 2027-05 lies outside the data: the export covers 1 Aug 2025 – 31 Oct 2026 (first and last "
        "dated row). How to fix: choose a period inside that range with --period, or export the data for 2027-05."
    )
    assert period_coverage(demo, "2025-07", "month").status == "none"  # before the first row


def test_a_period_straddling_the_end_of_the_data_is_partial(cut):
    c = period_coverage(cut, "2026-10", "month")
    assert isinstance(c, Coverage) and c.status == "partial"
    assert c.covered_from == pd.Timestamp("2026-10-01")
    assert c.covered_to == pd.Timestamp(CUT)  # the export's moment: the data stop before the month is over
    assert c.last == data_range(cut)[1]
    assert banner(c, "ru") == BANNER_RU and banner(c, "en") == BANNER_EN
    assert period_coverage(cut, "2026-10-20", "day").status == "full"
    assert period_coverage(cut, "2026-10-21", "day").status == "none"


def test_a_period_straddling_the_start_of_the_data_is_partial(demo):
    week = period_coverage(demo, "2025-W31", "week")  # Mon 28.07.2025 .. Sun 03.08.2025; data from Fri 01.08
    assert week.status == "partial"
    assert week.covered_from == pd.Timestamp("2025-08-01 09:53:29")
    assert banner(week, "en") == "The period 2025-W31 is only partly covered by the data: 1 Aug 2025 to 3 Aug 2025."
    # the first day counts as covered even though its first row is at 09:53
    assert period_coverage(demo, "2025-08", "month").status == "full"


class _Stub:
    """The bits of a Dataset that coverage reads."""

    def __init__(self, tables, as_of, explicit):
        self.tables = tables
        self.as_of = pd.Timestamp(as_of)
        self.config = type("Cfg", (), {"as_of": self.as_of if explicit else None})()

    def has(self, name):
        return name in self.tables


def test_without_a_fixed_as_of_coverage_ends_with_the_last_row():
    deals = pd.DataFrame({"created_at": pd.to_datetime(["2026-09-03 10:00", "2026-10-20 15:00", None]),
                          "closed_at": pd.to_datetime([None, None, None])})
    quiet = _Stub({"deals": deals, "leads": pd.DataFrame({"created_at": pd.to_datetime(["2026-09-01 08:00"])})},
                  "2026-11-30 12:00", explicit=False)
    assert data_range(quiet) == (pd.Timestamp("2026-09-01 08:00"), pd.Timestamp("2026-10-20 15:00"))
    c = period_coverage(quiet, "2026-10", "month")
    assert (c.status, c.covered_to) == ("partial", pd.Timestamp("2026-10-20 15:00"))
    assert period_coverage(quiet, "2026-09", "month").status == "full"
    # the same export with the audit moment fixed at the month's end covers October
    fixed = _Stub(quiet.tables, "2026-10-31 23:59:59", explicit=True)
    assert period_coverage(fixed, "2026-10", "month").status == "full"


def test_no_dated_row_means_no_coverage():
    empty = _Stub({"deals": pd.DataFrame({"created_at": pd.to_datetime([None])})}, "2026-10-31", explicit=True)
    assert data_range(empty) is None
    c = period_coverage(empty, "2026-10", "month")
    assert c.status == "none" and "no dated row" in refusal(c, "en") and "нет ни одной строки" in refusal(c, "ru")


def test_fmt_date_is_day_month_year():
    assert fmt_date(pd.Timestamp("2026-01-05 17:00")) == "05.01.2026"


# ---------------------------------------------------------------------------
# through the real command line


def test_cli_refuses_a_period_outside_the_data(tmp_path):
    out = tmp_path / "x"
    proc = _cli("--config", str(DEMO), "--period", "2027-05", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    err = proc.stderr.strip()
    assert err.startswith("salesaudit: error: The period 2027-05 lies outside the data")
    assert "1 Aug 2025 – 31 Oct 2026" in err and "How to fix" in err and "--period" in err
    assert len(err.splitlines()) == 1  # one paragraph
    assert not out.exists()  # refused before any notebook


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory):
    """One real run of notebook 00 for a partly covered October (the default progress bar on)."""
    folder = tmp_path_factory.mktemp("partial")
    config = _partial_config(folder)
    out = folder / "out"
    proc = _cli("--config", str(config), "--notebooks", "00_data_quality", "--out", str(out), cwd=folder)
    return proc, out


@pytest.mark.notebook
def test_partial_period_banner_on_every_page(partial_run):
    proc, out = partial_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert BANNER_RU in proc.stdout
    for page in ("00_data_quality.html", "index.html"):
        text = (out / page).read_text(encoding="utf-8")
        assert text.count(BANNER_RU) == 1, page
        body = text[text.index("<body"):]
        # the banner is the first thing the reader sees
        first_block = re.search(r"<body[^>]*>\s*(?:<main>\s*)?(<div[^>]*>)", body)
        assert first_block and "salesaudit-banner" in first_block.group(1), page


@pytest.mark.notebook
def test_successful_run_prints_no_kernel_errors(partial_run):
    proc, _ = partial_run
    assert proc.returncode == 0
    bad = [line for line in proc.stderr.splitlines() if "ERROR" in line or "KeyboardInterrupt" in line or "Traceback" in line]
    assert bad == []


def test_doctests():
    import doctest

    import salesaudit.data.coverage
    import salesaudit.report.coverage

    assert doctest.testmod(salesaudit.data.coverage).failed == 0
    assert doctest.testmod(salesaudit.report.coverage).failed == 0
