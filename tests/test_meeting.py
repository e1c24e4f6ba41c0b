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
    assert mt.summary(demo, "2026-10", "month")["meeting_looked_back_at"] == "2026-10"  # October is over at the audit moment


@pytest.mark.parametrize("period,grain,following", [("2026-10-09", "day", "2026-10-12"), ("2026-11-03", "day", "2026-11-05"),
                                                     ("2026-W41", "week", "2026-W42"), ("2026-12", "month", "2027-01")])  # 4 November: a holiday
def test_next_period_skips_non_working_days(demo, period, grain, following):
    assert mt.next_period(demo, parse_period(period, grain)).label == following


def test_after_the_audited_period_the_meeting_reviews_it_and_plans_the_next(demo):
    """The demo's audit moment is 31 Oct 23:59: October is reviewed, November planned; a run for November (still
    running at the audit moment) is the meeting at its start: October reviewed, November planned."""
    r = mt.analyse(demo)
    assert (r.period, r.previous, r.planned) == ("2026-10", "2026-10", "2026-11")
    start = mt.analyse(demo, period="2026-11")
    assert (start.period, start.previous, start.planned) == ("2026-11", "2026-10", "2026-11")
    assert start.back_.equals(r.back_)
    # the same month's revenue as plan vs fact (notebook 04) states it: one vocabulary, one period
    pvf = planfact.plan_vs_fact(demo, "2026-10", "month").set_index(["manager", "metric"])
    team = r.back_.set_index(["manager", "metric"])
    assert team.loc[(planfact.TEAM, "revenue"), "fact"] == pvf.loc[(planfact.TEAM, "revenue"), "fact"]
    assert r.key_figures()["meeting_team_revenue_pct"] == planfact.analyse(demo).key_figures()["planfact_team_revenue_attainment_pct"]


def test_meeting_result_is_language_free_and_matches_the_data(demo):
    r = mt.analyse(demo, period="2026-10-01", grain="month")  # the demo's run config: period 2026-10, month
    assert r.ready and (r.grain, r.period, r.previous, r.top_n) == ("month", "2026-10", "2026-10", 3)
    r = mt.analyse(demo, period="2026-10", grain="month")
    pay, plans = demo.tables["payments"], demo.tables["plans"]
    team = r.back_[r.back_["manager"] == planfact.TEAM].set_index("metric")
    september = (pay["paid_at"] >= "2026-10-01") & (pay["paid_at"] < "2026-11-01")  # the month reviewed: October
    assert team.loc["revenue", "fact"] == pytest.approx(pay.loc[september, "amount"].sum())

    def team_plan(period, metric):
        return plans.loc[(plans["period"] == period) & plans["manager"].isna() & (plans["metric"] == metric), "target"].iloc[0]

    assert team.loc["revenue", "plan"] == pytest.approx(team_plan("2026-10", "revenue"))
    assert set(r.back_["metric"]) <= set(mt.METRICS)
    assert r.ahead_.empty  # the demo's CRM has no plan for November
    ahead = mt.analyse(demo, period="2026-10-01", grain="day").ahead_.set_index("manager")  # a daily meeting on 1 October plans that day
    workdays = sum(bool(demo.calendar.is_working_day(pd.Series([d]))[0]) for d in pd.date_range("2026-10-01", "2026-10-31"))
    assert workdays == 22 and ahead.loc[planfact.TEAM, "revenue"] == pytest.approx(team_plan("2026-10", "revenue") / workdays)
    # repeat: above plan, the best first; avoid: below plan, the worst first; at most top_n of each per metric
    ra = r.repeat_avoid_
    assert ra.groupby(["kind", "metric"]).size().max() <= 3
    assert (ra.loc[ra["kind"] == "repeat", "attainment_pct"] >= 100).all() and (ra.loc[ra["kind"] == "avoid", "attainment_pct"] < 100).all()
    one = mt.analyse(demo, demo.config.analysis.settings("meeting", top_n=1))
    assert one.top_n == 1 and one.repeat_avoid_.groupby(["kind", "metric"]).size().max() == 1
    # the key figures are read off the result
    k = r.key_figures()
    assert k["meeting_team_revenue_pct"] == round(100 * pay.loc[september, "amount"].sum() / team_plan("2026-10", "revenue"), 1)
    assert k == mt.summary(demo, "2026-10", "month")
    assert set(k) == {"meeting_grain", "meeting_period", "meeting_looked_back_at", "meeting_plans_for", "meeting_team_revenue_pct",
                      "meeting_team_deals_won_pct", "meeting_team_calls_pct"}
    # nothing in the result is in a language
    for frame in (r.back_, r.repeat_avoid_, r.ahead_):
        assert all(c == c.lower() and " " not in c for c in frame.columns)
    assert set(ra["kind"]) == {"repeat", "avoid"}


def test_meeting_without_a_period_or_plans_says_so(client):
    from salesaudit.data.loader import load
    from salesaudit.report import meeting as report
    from salesaudit.report.i18n import t

    deals = "deal_id,created_at,manager,stage\nd1,2026-10-01,m1,new\n"
    no_period = mt.analyse(load(client({"deals.csv": deals})))
    assert not no_period.ready and no_period.key_figures() == {}
    assert report.page(no_period, "en").texts() == [t("meeting.no_period", "en")]
    no_plans = mt.analyse(load(client({"deals.csv": deals}, period="2026-10")))
    assert no_plans.missing_tables == ("plans",) and no_plans.key_figures() == {}
    assert report.page(no_plans, "en").texts() == ["The export has no Plans table(s): the meeting's fact against plan cannot be built."]


def test_meeting_page_in_both_languages(demo):
    from salesaudit.report import meeting as report

    r = mt.analyse(demo)
    en, ru = report.page(r, "en"), report.page(r, "ru")
    assert en.texts() == ["Monthly meeting: results of 2026-10, plan for 2026-11 — ООО «Демо» (synthetic demo)",
                          "Fact for 2026-10 against plan (fact / plan, attainment)", "What to repeat and what not to repeat", "Plan for 2026-11",
                          "The CRM has no plan for 2026-11 yet: set it before the meeting (the reverse funnel on the plan-fact page shows the leads, "
                          "deals and calls a revenue plan needs)."]
    assert ru.texts()[0] == "Ежемесячная планёрка: итоги 2026-10, план на 2026-11 — ООО «Демо» (synthetic demo)"
    back_en, back_ru = report.back_table(r, "en"), report.back_table(r, "ru")
    # October: the revenue received by hand from the payments, the team's plan from the plans table
    p, plans = demo.tables["payments"], demo.tables["plans"]
    octo = p.loc[(p["paid_at"] >= "2026-10-01") & (p["paid_at"] < "2026-11-01"), "amount"].sum()
    team_plan = lambda month: plans.loc[(plans["period"] == month) & plans["manager"].isna() & (plans["metric"] == "revenue"), "target"].item()  # noqa: E731
    assert (octo, team_plan("2026-10"), round(100 * octo / team_plan("2026-10"))) == (22_521_462, 20_100_000, 112)
    assert back_en.iloc[0, :2].tolist() == ["Whole team", "22,521,462 / 20,100,000 (112%)"]
    nb = "\u00a0"
    assert back_ru.iloc[0, :2].tolist() == ["Весь отдел", f"22{nb}521{nb}462 / 20{nb}100{nb}000 (112{nb}%)"]
    ra = report.repeat_avoid_table(r, "en")
    # the best attainment of October, by hand: each manager's payments against his revenue plan (the head, without a plan, left out)
    paid = p.merge(demo.tables["deals"][["deal_id", "manager"]], on="deal_id")
    paid = paid[(paid["paid_at"] >= "2026-10-01") & (paid["paid_at"] < "2026-11-01")].groupby("manager")["amount"].sum()
    plan = plans[(plans["period"] == "2026-10") & plans["manager"].notna() & (plans["metric"] == "revenue")].set_index("manager")["target"]
    best = (paid.reindex(plan.index, fill_value=0) / plan)[plan > 0].idxmax()
    # m02, the overloaded seller with five times the leads of late, against a plan set from his typical month of won revenue
    assert best == "m02" and (round(paid["m02"]), plan["m02"]) == (2_652_759, 600_000)
    assert ra.iloc[0].tolist() == ["repeat", "Revenue received", "Иванов Кирилл Юрьевич", "2,652,759 / 600,000", "442%"]
    # presentation never changes a number: the same result gives the same tables in both pages
    assert [t.shape for t in en.tables()] == [t.shape for t in ru.tables()]
