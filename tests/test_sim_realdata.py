"""The capacity simulation on the real Olist lead funnel (../shared/realdata), where its data allow.

Olist's limits, written down by the calibration's notes and checked here: lead times carry the
date only (no hour), there is no first-response time (it is proxied by the lead → deal time of
converted leads, so the slow-response effect is not estimated), leads are never marked
disqualified (derived: no deal after 60 days), no deal is ever lost and there is no stage
history (one stage is measured), deal amounts are empty (revenue cannot be backtested), and the
lead volume grows fast (the inflow is fitted on the last two months: flat, or with its
trend projected forward).
"""
from __future__ import annotations

import pytest
from conftest import REPO

from salesaudit.report.capacity import calibration_notes

OLIST = REPO.parent / "shared" / "realdata" / "olist_marketing_funnel"
pytestmark = [pytest.mark.realdata, pytest.mark.skipif(not OLIST.exists(), reason="../shared/realdata/olist_marketing_funnel is not beside the repository")]


def test_olist_backtest_inside_its_wide_interval_and_limits_noted():
    import salesaudit as sa
    from salesaudit.sim.backtest import backtest

    ds = sa.load(REPO / "params" / "clients" / "olist.yaml")
    b = backtest(ds, "2018-02-28 23:59:59", days=92, replications=20, seed=1, executor="serial",
                 assumptions={"window_days": 61})
    t = b["table"].set_index("metric")
    notes = " ".join(calibration_notes(b["calibration"], "en"))
    assert "no first-response times" in notes and "no status" in notes
    eff = b["calibration"].effects_.set_index("effect")
    assert eff.loc["beta_response", "source"] == "assumption"
    # March–May 2018: 3,829 leads and 475 deals won in reality
    assert t.loc["leads", "actual"] == 3829 and t.loc["won", "actual"] == 475
    # the volume grows fast, so the month-to-month level variation the model draws is large and the
    # 90 % interval is wide: the actual quarter falls inside it, the median is well off
    for m in ("leads", "deals", "won"):
        assert t.loc[m, "inside"], (m, t.loc[m].to_dict())
    assert t.loc["leads", "p95"] > 4 * t.loc["leads", "p05"]
    assert t.loc["won_amount", "actual"] == 0  # Olist's deals carry no amount
    assert "revenue" not in t.index  # and there is no payments table: no payments received to compare with


def test_olist_backtest_with_the_fitted_trend_is_close_and_narrower():
    """Olist's lead volume grows: with ``inflow_trend: fitted`` the same 61-day window's trend
    (about × 3 a year) is projected over March–May 2018, and the quarter's median lands within
    a fifth of the actual leads and won deals, with a far narrower interval than the flat model's
    (whose month-level variation has to cover the growth)."""
    import salesaudit as sa
    from salesaudit.sim.backtest import backtest

    ds = sa.load(REPO / "params" / "clients" / "olist.yaml")
    kw = dict(days=92, replications=20, seed=1, executor="serial")
    flat = backtest(ds, "2018-02-28 23:59:59", assumptions={"window_days": 61}, **kw)["table"].set_index("metric")
    b = backtest(ds, "2018-02-28 23:59:59", assumptions={"window_days": 61, "inflow_trend": "fitted"}, **kw)
    t = b["table"].set_index("metric")
    growth = b["calibration"].params.inflow.growth_per_year
    assert 1.5 < growth < 8, growth
    assert "trend is projected" in " ".join(calibration_notes(b["calibration"], "en"))
    for m in ("leads", "deals", "won"):
        assert t.loc[m, "inside"], (m, t.loc[m].to_dict())
    assert abs(t.loc["leads", "error"]) < 0.2 and abs(t.loc["won", "error"]) < 0.2
    assert abs(t.loc["leads", "error"]) < abs(flat.loc["leads", "error"]) / 2
    assert t.loc["leads", "p95"] / t.loc["leads", "p05"] < 0.5 * flat.loc["leads", "p95"] / flat.loc["leads", "p05"]
