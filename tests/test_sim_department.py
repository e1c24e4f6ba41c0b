"""The department simulation: queueing theory, Little's law, determinism, rules, calibration, backtest.

* ``..._against_erlang_c``: reduced to an M/M/c queue (no calendar, no reaction delay, the shared
  ``pool`` queue, exponential handling), the department model's probability of waiting, ASA and
  service level must contain the Erlang C value in the 95 % t-interval of its replications, at a
  high and a low occupancy.
* Little's law on the full model (calendar, stages, reaction, limits): the time-average number of
  leads and deals in the system equals arrival rate × mean time in system.
* Calibration on the demo department recovers what the generator planted; the backtest on the
  synthetic department's past puts the actual quarter inside the 90 % prediction interval.
"""
from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from salesaudit.data.calendar import WorkCalendar
from salesaudit.errors import ParameterError
from salesaudit.sim.coaching import CoachingEffect
from salesaudit.sim.department import DepartmentParams, HeadOfSales, apply_scenario, run_scenario, simulate
from salesaudit.sim.erlang import asa, erlang_c, service_level
from salesaudit.sim.queue import confidence_interval
from salesaudit.sim.worktime import WorkTime

# --------------------------------------------------------------------------- M/M/c


def _mmc_stats(lam, mu, c, days, reps, sla, warmup_days=1.0):
    p = DepartmentParams.mmc(lam, mu, c)
    rows = []
    for r in range(reps):
        res = simulate(p, days=days, seed=1000 + r)
        w = res.leads.loc[res.leads["arrived"] >= warmup_days * 1440, "wait_working_min"].to_numpy()
        rows.append({"p_wait": float(np.mean(w > 1e-9)), "asa": float(w.mean()), "sl": float(np.mean(w <= sla))})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "lam, mu, c, days",
    [
        (0.85, 0.1, 10, 6.0),  # a = 8.5 Erlangs on 10 sellers: occupancy 0.85
        (0.3, 0.1, 6, 12.0),  # a = 3 on 6: occupancy 0.5
    ],
)
def test_department_reduces_to_mmc_against_erlang_c(lam, mu, c, days):
    sla = 5.0
    df = _mmc_stats(lam, mu, c, days, reps=30, sla=sla)
    expected = {"p_wait": erlang_c(c, lam / mu), "asa": asa(c, lam, mu), "sl": service_level(c, lam, mu, sla)}
    for col, value in expected.items():
        mean, lo, hi = confidence_interval(df[col])
        assert lo <= value <= hi, (col, value, (lo, mean, hi))


# --------------------------------------------------------------------------- Little's law


def test_littles_law_in_the_full_model():
    p = DepartmentParams.example(managers=6, leads_per_year=6000).replace(deal_limit=25, at_limit="queue")
    res = simulate(p, days=400, seed=7)
    L = res.leads[~res.leads["lost"]]
    a, b = 60 * 1440.0, 400 * 1440.0
    start, end = L["arrived"].to_numpy(), L["released"].to_numpy()
    assert np.isfinite(end).all()  # the run finishes every lead and deal
    in_system = np.clip(np.minimum(end, b) - np.maximum(start, a), 0, None).sum() / (b - a)
    arrived = (start >= a) & (start < b)
    lam = arrived.sum() / (b - a)
    W = (end[arrived] - start[arrived]).mean()
    assert in_system == pytest.approx(lam * W, rel=0.03)
    assert in_system > 50  # a real load, not an empty system


# --------------------------------------------------------------------------- determinism and rules


def test_same_seed_same_result_and_other_seed_differs():
    p = DepartmentParams.example(managers=5, leads_per_year=3000)
    a, b = simulate(p, days=60, seed=11), simulate(p, days=60, seed=11)
    assert a.summary == b.summary
    pd.testing.assert_frame_equal(a.leads, b.leads)
    assert simulate(p, days=60, seed=12).summary != a.summary


def test_deal_load_limit_is_never_exceeded_and_lose_loses_leads():
    p = DepartmentParams.example(managers=4, leads_per_year=8000)
    free = simulate(p, days=120, seed=3).summary
    assert free["max_load"] > 8
    for mode in ("queue", "reassign", "lose"):
        s = simulate(p.replace(deal_limit=8, at_limit=mode), days=120, seed=3).summary
        assert s["max_load"] <= 8
        assert (s["lost_leads"] > 0) == (mode == "lose")
    lost = simulate(p.replace(deal_limit=8, at_limit="lose"), days=120, seed=3)
    assert lost.leads.loc[lost.leads["lost"], "seller"].isna().all()


def test_round_robin_spreads_leads_evenly_and_skill_routing_respects_channels():
    p = DepartmentParams.example(managers=4, leads_per_year=4000)
    counts = simulate(p, days=90, seed=5).sellers["leads"].to_numpy()
    assert counts.max() - counts.min() <= 1
    sellers = [s for s in p.sellers]
    sellers[0] = type(sellers[0])(**{**sellers[0].__dict__, "channels": ("referrals",)})
    res = simulate(p.replace(sellers=sellers, routing="skill"), days=90, seed=5)
    got = res.leads.loc[res.leads["seller"] == sellers[0].key, "channel"].unique().tolist()
    assert got == ["referrals"]


def test_slower_reaction_means_slower_response_more_overnight_and_fewer_deals():
    p = DepartmentParams.example(managers=5, leads_per_year=5000)
    slow = p.replace(sellers=[type(s)(**{**s.__dict__, "reaction_median": 240.0}) for s in p.sellers])
    a, b = simulate(p, days=120, seed=9).summary, simulate(slow, days=120, seed=9).summary
    assert b["response_p50"] > 5 * a["response_p50"]
    assert b["overnight_share"] > a["overnight_share"] + 0.1
    assert b["deals"] < a["deals"]  # beta_response < 0 in the example


def test_coaching_multiplier_and_head_selling_share():
    head = HeadOfSales(selling_share=0.9, baseline_share=0.3, coaching_share=0.5,
                       effect=CoachingEffect(max_lift=0.2, half_hours=20, lag=1, carryover=0.5))
    m = head.monthly_multiplier(12)
    # less coaching than the baseline: the multiplier falls below 1 after the lag and settles
    base_h, new_h = 0.7 * 168 * 0.5, 0.1 * 168 * 0.5
    steady = (1 + 0.2 * new_h / (new_h + 20)) / (1 + 0.2 * base_h / (base_h + 20))
    assert m[0] == pytest.approx(1.0)
    assert m[-1] == pytest.approx(steady, rel=1e-3) and steady < 1
    assert np.all(np.diff(m) <= 1e-12)


def test_attrition_hires_replacements_and_keeps_loads_consistent():
    p = DepartmentParams.example(managers=6, leads_per_year=6000).replace(
        staffing=DepartmentParams.example().staffing.__class__(attrition_per_month=0.3, time_to_fill_days=20))
    res = simulate(p, days=240, seed=4)
    s = res.summary
    assert s["sellers_left"] >= 3 and s["sellers_hired"] >= 2
    assert len(res.sellers) == 6 + s["sellers_hired"]
    assert np.isfinite(res.leads["released"]).all()


def test_apply_scenario_and_its_errors():
    p = DepartmentParams.example(managers=5)
    q = apply_scenario(p, {"managers": 7, "deal_limit": 20, "volume": 2.0, "routing": "least_loaded"})
    assert q.n_sellers == 7 and q.deal_limit == 20 and q.routing == "least_loaded"
    assert q.inflow.expected("2026-01-05", "2026-01-12") == pytest.approx(2 * p.inflow.expected("2026-01-05", "2026-01-12"))
    assert [s.hired_day for s in q.sellers[5:]] == [0.0, 0.0]  # new hires ramp up from day 0
    with pytest.raises(ParameterError, match="Allowed keys: managers"):
        apply_scenario(p, {"manager": 3})
    assert run_scenario({"managers": 3, "days": 20}, 1) == run_scenario({"managers": 3, "days": 20}, 1)


def test_params_pickle_for_process_and_dask_workers():
    p = DepartmentParams.example(managers=3)
    q = pickle.loads(pickle.dumps(p))
    assert simulate(q, days=20, seed=2).summary == simulate(p, days=20, seed=2).summary


def test_worktime_overnight_weekend_and_holiday():
    cal = WorkCalendar(start="09:00", end="18:00", holidays=["2026-10-05"])  # a Monday holiday
    wt = WorkTime(pd.Timestamp("2026-10-02"), days=10, calendar=cal)  # Friday
    # Friday 17:50 + 30 working minutes: Friday's 10 + Tuesday's 20 (Monday is a holiday)
    t = wt.finish(wt.worked(17 * 60 + 50) + 30)
    assert wt.to_timestamp(t) == pd.Timestamp("2026-10-06 09:20")
    # a lead from Saturday is due by Tuesday's close
    assert wt.to_timestamp(wt.day_end(24 * 60 + 12 * 60)) == pd.Timestamp("2026-10-06 18:00")


# --------------------------------------------------------------------------- calibration on the demo


def test_calibration_recovers_the_planted_department(demo_cal):
    c = demo_cal
    sel = c.sellers_.set_index("seller")
    # the slow responder answers after a median of 240 working minutes (synth: lognormal, median 240)
    assert 180 < sel.loc["m11", "reaction_median"] < 320
    others = sel.drop(index=["m11"])
    assert others["reaction_median"].between(8, 25).all()
    # the head of sales gets leads with weight 0.9 of a seller's
    assert sel.loc["h01", "capacity"] == pytest.approx(0.9, abs=0.12)
    # the stall: proposal's median stay ~ 11 days, every other stage under 4
    st = c.stages_.set_index("stage")
    assert 9 < st.loc["proposal", "median_fit"] < 14
    assert (st.drop(index="proposal")["median_fit"] < 4).all()
    # forward shares against the generator's probabilities, inside their 95 % intervals
    planted = {"new": 0.88, "qualified": 0.78, "needs": 0.80, "invoice": 0.86}
    for k, v in planted.items():
        assert st.loc[k, "p_lo"] - 0.03 <= v <= st.loc[k, "p_hi"] + 0.03, k
    eff = c.effects_.set_index("effect")
    # slow response costs conversion (planted: 0.55 + 0.45·exp(-delay/120)); overload does not (planted: none)
    assert eff.loc["beta_response", "hi"] < 0 and eff.loc["beta_response", "source"] == "data"
    assert eff.loc["delta_overload", "lo"] < 0 < eff.loc["delta_overload", "hi"]
    assert eff.loc["delta_overload", "used"] == 0.0
    # every open deal of the demo enters the pipeline (the generator's count, 128 in the regenerated demo, all owned by people)
    opened = json.loads((REPO / "data_samples" / "demo_generic" / "ANOMALIES.json").read_text(encoding="utf-8"))["background"]["deal_outcome_counts"]["open"]
    assert len(c.params.initial) == opened == 128
    # the overloaded m02's recent deals move 4x slower (a mix with his older deals in the window):
    # his pace stands out, everybody else's is about the team's
    assert sel.loc["m02", "stage_pace"] > 1.4
    assert sel.drop(index="m02")["stage_pace"].between(0.8, 1.15).all()


def test_calibration_assumption_errors_name_the_key():
    from salesaudit.sim.calibrate import load_assumptions

    with pytest.raises(ParameterError, match="ramp_weeks"):
        load_assumptions(ramp_week=4)
    with pytest.raises(ParameterError, match="must be one of queue, reassign, lose"):
        load_assumptions(at_limit="drop")
    assert load_assumptions(ramp_weeks=4)["ramp_weeks"] == 4


def test_backtest_on_the_synthetic_department_inside_90pct(demo):
    from salesaudit.sim.backtest import backtest

    # calibrate on the data known at the end of March 2026, simulate April–June
    b = backtest(demo, "2026-03-31 23:59:59", days=91, replications=60, seed=1, executor="serial")
    t = b["table"].set_index("metric")
    assert b["complete"]
    for m in ("leads", "deals", "won", "won_amount", "revenue"):
        assert t.loc[m, "inside"], (m, t.loc[m].to_dict())
    assert abs(t.loc["revenue", "error"]) < 0.25
    # revenue is the money received April–June (payments.csv), the won amount the deals won then
    pay = demo.tables["payments"]
    assert t.loc["revenue", "actual"] == pytest.approx(float(pay.loc[(pay["paid_at"] >= "2026-04-01") & (pay["paid_at"] < "2026-07-01"), "amount"].sum()))
    d = demo.tables["deals"]
    won = (d["outcome"] == "won") & (d["closed_at"] >= "2026-04-01") & (d["closed_at"] < "2026-07-01")
    assert t.loc["won_amount", "actual"] == pytest.approx(float(d.loc[won, "amount"].sum()))


# --------------------------------------------------------------------------- touch work, working-time arrays


def test_worktime_arrays_match_the_scalar_functions():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    cal = WorkCalendar(start="09:00", end="18:00", holidays=["2026-10-05"])
    wt = WorkTime(pd.Timestamp("2026-10-02"), days=30, calendar=cal)
    always = WorkTime(pd.Timestamp("2026-10-02"), days=30, calendar=None)
    edges = [0.0, 540.0, 1080.0, 1080.0 + 1e-9, 3 * 1440 + 540.0, 45 * 1440.0]  # opens, closes, past the horizon

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.floats(-1000, 40 * 1440, allow_nan=False), min_size=1, max_size=50))
    def check(ts):
        t = np.asarray(ts + edges)
        for w in (wt, always):
            assert np.array_equal(w.worked_array(t), [w.worked(x) for x in t])
            np.testing.assert_allclose(w.day_end_array(t), [w.day_end(x) for x in t], rtol=0, atol=1e-9)

    check()


class _Spy:
    """A department that records the touch load it reads at each assignment and every deal's path."""

    @staticmethod
    def run(p, days, seed):
        from salesaudit.sim.department import _Department

        class Spy(_Department):
            def assign(self, i, k):
                self.seen.append((k, self.env.now, self.touch_at(k, self.env.now)))
                super().assign(i, k)

            def schedule_touch(self, k, i, first, t0, ends):
                self.paths.append((k, first, t0, list(ends)))
                super().schedule_touch(k, i, first, t0, ends)

        m = Spy(p, days, seed)
        m.seen, m.paths = [], []
        res = m.run()
        return m, res


def test_touch_work_per_stage_matches_a_brute_force_count():
    """The lazy per-seller heap gives, at every assignment, the sum over the seller's open deals
    of the touch minutes of the stage each deal is in at that moment."""
    from salesaudit.sim.department import Stage

    base = DepartmentParams.example(managers=4, leads_per_year=3000)
    touch = [10.0, 0.0, 5.0, 30.0, 2.0]
    p = base.replace(stages=[Stage(s.key, s.p_forward, s.mu, s.sigma, touch_min_per_day=v) for s, v in zip(base.stages, touch)])
    m, res = _Spy.run(p, 120, 3)
    assert len(m.paths) > 300 and len(m.seen) > 900
    worst = 0.0
    for k, now, got in m.seen[::7]:
        want = 0.0
        for (kk, first, t0, ends) in m.paths:
            if kk == k and t0 <= now < ends[-1]:
                want += touch[first + sum(e <= now for e in ends)]
        worst = max(worst, abs(got - want))
    assert worst < 1e-6
    # more touch work means slower answers than with none
    none = simulate(p.replace(stages=[Stage(s.key, s.p_forward, s.mu, s.sigma, touch_min_per_day=0.0) for s in base.stages]), 120, 3)
    assert res.summary["response_p50"] > none.summary["response_p50"]
    assert res.summary["utilisation"] > none.summary["utilisation"]


def test_uniform_touch_work_equals_rate_times_deal_days_and_moves_with_leavers():
    p = DepartmentParams.example(managers=5, leads_per_year=5000)  # 4 minutes per deal-day in every stage
    res = simulate(p, days=150, seed=8)
    s = res.sellers
    np.testing.assert_allclose(s["touch_min"], 4.0 * s["deal_days"], rtol=1e-9)
    # with sellers leaving, their open deals (and their touch work) move to the others; at the end
    # every deal is closed, so every seller's touch load is back to zero
    from salesaudit.sim.department import Staffing

    q = p.replace(staffing=Staffing(attrition_per_month=0.4, time_to_fill_days=15))
    m, res = _Spy.run(q, 200, 5)
    assert res.summary["sellers_left"] >= 2
    for k in range(len(m.sellers)):
        assert abs(m.touch_at(k, math.inf)) < 1e-6


def test_overload_effect_lowers_the_win_share():
    p = DepartmentParams.example(managers=4, leads_per_year=4000)
    from dataclasses import replace

    heavy = p.replace(conversion=replace(p.conversion, delta_overload=-0.8, ref_load=0.0))
    a = simulate(p, days=180, seed=2).leads
    b = simulate(heavy, days=180, seed=2).leads
    win = lambda x: x.loc[x["converted"], "won"].mean()  # noqa: E731
    assert win(b) < 0.8 * win(a)


def test_touch_by_stage_recovers_the_generators_minutes_per_stage_visit(demo):
    """synth plants per stage visit: calls (Poisson 0.7/0.9/1.1/1.0/0.7, ~4.0 min each with 12 %
    missed), one task (45 % at new, else 60 %; 5 min each), at proposal a meeting half the time
    (3–9 × 10 min) and an e-mail at proposal and invoice 70 % of the time (5 min)."""
    from salesaudit.analysis import stalls
    from salesaudit.sim.calibrate import touch_by_stage

    call = 230.0 * math.exp(0.6**2 / 2) / 60 * 0.88  # lognormal mean (the clip at 25–1800 s barely matters) × answered
    planted = {
        "new": 0.7 * call + 0.45 * 5, "qualified": 0.9 * call + 0.6 * 5, "needs": 1.1 * call + 0.6 * 5,
        "proposal": 1.0 * call + 0.6 * 5 + 0.5 * 60 + 0.7 * 5, "invoice": 0.7 * call + 0.6 * 5 + 0.7 * 5,
    }
    from salesaudit.analysis.baseline import deal_groups

    stays = stalls.stage_stays(demo)
    # the sellers' deals (the team and the head): the robot's and the unassigned web-form deals get no calls or tasks
    groups = pd.Series(deal_groups(demo).to_numpy(), index=demo.tables["deals"]["deal_id"].to_numpy())
    people = stays["deal_id"].map(groups).isin(["manager", "head_of_sales"])
    assert (~people).sum() > 300  # the demo has such deals: the filter matters
    closed = stays[stays["observed"] & people]  # whole visits: their activities are all in
    t = touch_by_stage(closed, demo.tables["activities"], closed["entered_at"].min(), demo.as_of).set_index("stage")
    for key, want in planted.items():
        got = t.loc[key, "minutes"] / t.loc[key, "stays"]
        assert got == pytest.approx(want, rel=0.12), (key, got, want)
        assert t.loc[key, "lo"] <= t.loc[key, "touch_min_per_day"] <= t.loc[key, "hi"]
    # per day, proposal's long stays dilute its meetings: its rate is far from the average of the rest
    assert t.loc["proposal", "minutes"] / t.loc["proposal", "stays"] > 4 * t.loc["new", "minutes"] / t.loc["new", "stays"]


def test_calibration_reads_touch_per_stage_and_keeps_sellers_on_their_channels(demo_cal):
    st = demo_cal.stages_.set_index("stage")
    assert (st["touch_source"] == "data").all()
    by_stage = {s.key: s.touch_min_per_day for s in demo_cal.params.stages}
    assert all(v is not None and v > 0 for v in by_stage.values())
    # weighted round robin in the demo: every seller took every channel, so nobody is excluded
    assert all(s.channels is None for s in demo_cal.params.sellers)
    assert (demo_cal.sellers_["channels"] == "all").all()
    res = simulate(demo_cal.params.replace(routing="skill"), days=30, seed=1)
    assert res.summary["leads"] > 100


def test_seller_channels_excludes_only_what_cannot_be_chance():
    from salesaudit.sim.calibrate import seller_channels

    rng = np.random.default_rng(0)
    ch = rng.choice(["web", "calls", "ads"], size=900, p=[0.5, 0.3, 0.2])
    mgr = rng.choice(["a", "b", "c"], size=900)
    mgr = np.where((mgr == "c") & (ch == "calls"), "a", mgr)  # c never takes calls
    got = seller_channels(pd.DataFrame({"manager": mgr, "channel": ch}), ["web", "calls", "ads", "exhibitions"])
    # a channel with no leads in the history is open to everybody
    assert got == {"a": None, "b": None, "c": ("web", "ads", "exhibitions")}
    # a seller with three leads, all from the web, is not kept off the rest: too few to tell
    few = pd.DataFrame({"manager": ["a"] * 300 + ["z"] * 3, "channel": ["web", "calls", "ads"] * 100 + ["web"] * 3})
    assert seller_channels(few)["z"] is None


def test_a_sellers_own_pace_stretches_their_deals_only():
    from dataclasses import replace

    p = DepartmentParams.example(managers=4, leads_per_year=4000).replace(touch_min_per_deal_day=0.0)
    slow = p.replace(sellers=[replace(s, stay_scale={st.key: 3.0 for st in p.stages}) if s.key == "m01" else s for s in p.sellers])
    a, b = simulate(p, days=120, seed=6).leads, simulate(slow, days=120, seed=6).leads
    life = lambda x, who: (x["closed"] - x["deal_at"])[x["converted"] & (x["seller"] == who)].to_numpy()  # noqa: E731
    np.testing.assert_allclose(life(b, "m01"), 3.0 * life(a, "m01"), rtol=1e-9)  # same draws, three times as long
    np.testing.assert_allclose(life(b, "m02"), life(a, "m02"), rtol=1e-12)
    assert (b["won"] == a["won"]).all()  # the pace does not change the outcomes


def test_lead_to_deal_model_against_the_observed_conversions(demo_cal):
    """By channel, response band and seller, the fitted chance of a deal lies inside the observed
    share's 95 % CI on the demo (planted: conversion falls with the delay, m11 answers slowly)."""
    cv = demo_cal.conversions_
    assert set(cv["group"]) == {"channel", "response", "seller"}
    assert cv["inside"].all(), cv[~cv["inside"]]
    assert cv["leads"][cv["group"] == "channel"].sum() == cv["leads"][cv["group"] == "response"].sum()
    bands = cv[cv["group"] == "response"]
    assert bands["key"].tolist() == ["≤15", "≤60", "≤240", "≤540", ">540"]
    assert (np.diff(bands["fitted"]) < 0).all()  # slower answers, fewer deals
    assert bands["observed"].iloc[0] - bands["observed"].iloc[2] > 0.1
    sel = cv[cv["group"] == "seller"].set_index("key")
    assert sel.loc["m11", "observed"] == sel["observed"].min()


# --------------------------------------------------------------------------- revenue = payments received


def _paying_department(curves, amount=250_000.0, earlier=None):
    p = DepartmentParams.example(managers=4, leads_per_year=3000, seed=2)
    return p.replace(amounts=np.full(7, amount), amount_terms=np.array(["postpaid"] * 7, dtype=object), pay_curves=curves,
                     earlier_payments=earlier)


def test_payments_are_the_wins_times_the_share_paid():
    """A flat pay curve (60 % of a won amount arrives on the day of the win, the rest never) and one
    amount: the payments are exactly wins × amount × 0.6, counted from the simulated leads."""
    flat = {"*": np.full(801, 0.6)}
    r = simulate(_paying_department(flat), days=91, seed=5)
    T = 91 * 1440.0
    wins = int((r.leads["won"] & (r.leads["closed"] < T)).sum())
    assert wins > 20 and r.summary["won"] == wins  # no open pipeline at the start
    assert r.summary["won_amount"] == 250_000.0 * wins
    assert r.summary["revenue"] == pytest.approx(0.6 * 250_000.0 * wins)
    assert r.summary["revenue_earlier_wins"] == 0.0
    # the same department paid in full on the day of the win (no pay curves): revenue is the won amount
    whole = simulate(_paying_department(None), days=91, seed=5)
    assert whole.summary["won"] == wins and whole.summary["revenue"] == whole.summary["won_amount"] == 250_000.0 * wins
    # the seed fixes everything
    assert simulate(_paying_department(flat), days=91, seed=5).summary == r.summary


def test_postpaid_wins_pay_a_month_later_and_earlier_wins_add_their_schedule():
    """Postpaid deals pay in full 30 days after the win: a win counts only when it closed at least 30
    days before the horizon's end; the deals won before the start add 10 a day."""
    step = {"*": np.ones(801), "postpaid": np.where(np.arange(801) >= 30, 1.0, 0.0)}
    earlier = np.arange(801) * 10.0
    r = simulate(_paying_department(step, amount=100.0, earlier=earlier), days=91, seed=8)
    T = 91 * 1440.0
    closed = r.leads.loc[r.leads["won"] & (r.leads["closed"] < T), "closed"].to_numpy()
    paid_by_T = int(np.sum(np.floor((T - closed) / 1440.0) >= 30))
    assert 0 < paid_by_T < len(closed)
    assert r.summary["revenue_earlier_wins"] == 910.0
    assert r.summary["revenue"] == pytest.approx(100.0 * paid_by_T + 910.0)
    assert r.summary["won_amount"] == pytest.approx(100.0 * len(closed))
    # by calendar month of the horizon (the example starts on 5 January 2026): the payments due in each month
    m = r.monthly.set_index("month")
    start = r.params.start
    edges = [0.0] + [((start + pd.offsets.MonthBegin(k)).normalize() - start) / pd.Timedelta(minutes=1) for k in (1, 2, 3)]
    edges = [e for e in edges if e < T] + [T]
    assert len(m) == len(edges) - 1
    for j, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        by_hand = 100.0 * np.sum((np.floor((hi - closed) / 1440.0) >= 30) & ~(np.floor((lo - closed) / 1440.0) >= 30))
        by_hand += 10.0 * (np.floor(hi / 1440.0) - np.floor(lo / 1440.0))
        assert m["revenue"].iloc[j] == pytest.approx(by_hand), j
    assert m["revenue"].sum() == pytest.approx(r.summary["revenue"])


def test_calibration_uses_the_plan_fact_pay_curves_and_the_unpaid_won_deals(demo, demo_cal):
    """The calibrated curves are the plan-fact forecast's own (planfact._pay_curves at the audit
    moment); the deals won before it pay what is left of them as the forecast expects."""
    from salesaudit.analysis.planfact import _g, _pay_curves

    P = demo_cal.params
    T = pd.Timestamp(demo.as_of)
    ref = _pay_curves(demo, T)
    assert set(P.pay_curves) == set(ref) - {"_grid"} == {"*", "prepaid", "postpaid", "instalment_3m", "instalment_6m"}
    for k, c in P.pay_curves.items():
        assert np.array_equal(c, ref[k])
    # the deals won by T with money still owed, summed deal by deal (planfact's rule for deals already won)
    deals, pay = demo.tables["deals"], demo.tables["payments"]
    won = deals[(deals["outcome"] == "won") & (deals["closed_at"] <= T) & (deals["amount"] > 0)]
    paid = pay[pay["paid_at"] <= T].groupby("deal_id")["amount"].sum()
    total, left_sum, n = 0.0, 0.0, 0
    for row in won.itertuples(index=False):
        left = max(float(row.amount) - float(paid.get(row.deal_id, 0.0)), 0.0)
        if left <= 0:
            continue
        n += 1
        left_sum += left
        a = (T - row.closed_at).total_seconds() / 86400.0
        g0, g1 = float(_g(ref, row.payment_terms, a)), float(_g(ref, row.payment_terms, a + 91))
        if g0 < 1 - 1e-9:
            total += left * min(max(g1 - g0, 0.0) / (1 - g0), 1.0)
    assert P.notes["earlier_deals"] == n and P.notes["earlier_left"] == pytest.approx(left_sum)
    assert P.earlier_payments[91] == pytest.approx(total)
    assert 0 < total <= left_sum
    # every resampled amount carries its deal's payment terms
    assert len(P.amount_terms) == len(P.amounts) and set(P.amount_terms) <= {"prepaid", "postpaid", "instalment_3m", "instalment_6m", "?"}
