"""Meeting reports: the period just ended, fact against the prorated plan, what to repeat or avoid."""
from __future__ import annotations

import pandas as pd
import pytest

from salesaudit.analysis import meeting as mt
from salesaudit.analysis import planfact
from salesaudit.data.params import parse_period


@pytest.mark.parametrize(
    "period,grain,previous",
    [
        ("2026-10-14", "day", "2026-10-13"),
        ("2026-10-12", "day", "2026-10-09"),  # Monday: back to Friday
        ("2026-01-12", "day", "2025-12-30"),  # after the New Year holidays (Dec 31 – Jan 9 off)
        ("2026-W42", "week", "2026-W41"),
        ("2026-01", "month", "2025-12"),
    ],
)
def test_previous_period_skips_non_working_days(demo, period, grain, previous):
    assert mt.previous_period(demo, parse_period(period, grain)).label == previous


def test_daily_look_back_against_independent_sums(demo):
    prev, back = mt.look_back(demo, parse_period("2026-10-14", "day"))
    team = back[back["manager"] == planfact.TEAM].set_index("metric")
    pay = demo.tables["payments"]
    day = (pay["paid_at"] >= "2026-10-13") & (pay["paid_at"] < "2026-10-14")
    assert team.loc["revenue", "fact"] == pytest.approx(pay.loc[day, "amount"].sum())
    plans = demo.tables["plans"]
    monthly = plans[(plans["period"] == "2026-10") & plans["manager"].isna() & (plans["metric"] == "revenue")]["target"].iloc[0]
    workdays = sum(bool(demo.calendar.is_working_day(pd.Series([d]))[0]) for d in pd.date_range("2026-10-01", "2026-10-31"))
    assert team.loc["revenue", "plan"] == pytest.approx(monthly / workdays)


def test_repeat_and_avoid_are_above_and_below_plan(demo):
    _, back = mt.look_back(demo, parse_period("2026-10", "month"))
    ra = mt.repeat_avoid(back)
    assert (ra.loc[ra["kind"] == "repeat", "attainment_pct"] >= 100).all()
    assert (ra.loc[ra["kind"] == "avoid", "attainment_pct"] < 100).all()
    rev = ra[(ra["metric"] == "revenue") & (ra["kind"] == "repeat")]
    per = back[(back["metric"] == "revenue") & (back["manager"] != planfact.TEAM) & (back["plan"] > 0)]
    assert rev["manager"].iloc[0] == per.sort_values("attainment_pct", ascending=False)["manager"].iloc[0]
    assert mt.summary(demo, "2026-10", "month")["meeting_looked_back_at"] == "2026-09"
