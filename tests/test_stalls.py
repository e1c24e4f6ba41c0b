"""Stage stalls and process compliance: a hand-made department, the planted demo, real Maven data.

The tiny department is small enough to compute every stay by hand; the demo department has a
planted truth (data_samples/demo_generic/ANOMALIES.json); the Maven sample is checked against an
independent Kaplan–Meier computed with scipy straight from the raw CSV.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import REALDATA, REPO, needs_realdata

from salesaudit.analysis import stalls as st
from salesaudit.data.loader import load
from salesaudit.data.params import Funnel
from salesaudit.runs.runner import run
from salesaudit.stats import km_survival_at, logrank

ANOMALIES = json.loads((REPO / "data_samples" / "demo_generic" / "ANOMALIES.json").read_text(encoding="utf-8"))
NORMAL = set(ANOMALIES["roster"]["normal"])  # m01, m03, m05, m08, m10
#: the key figures read off the business-day tables (StallsResult.key_figures adds them to summary's)
BUSINESS_KEYS = {"stalled_stages_business_days", "slow_managers_business_days", "median_working_s", "p80_working_s", "norm_working_s", "working_day_s"}

# ---------------------------------------------------------------------------
# a department computed by hand (as_of 2026-02-01 00:00; 2026-01-09 is a Friday)

DEALS = """deal_id,created_at,manager,amount,stage,closed_at
A,2026-01-05 10:00,m1,200000,won,2026-01-14 10:00
B,2026-01-05 10:00,m1,50000,lost,2026-01-20 10:00
C,2026-01-05 10:00,m2,100000,proposal,
D,2026-01-05 10:00,m2,70000,lost,2026-01-10 10:00
E,2026-01-20 10:00,m2,500000,needs,
F,2026-01-31 12:00,m1,900000,new,
G,2026-01-15 10:00,m2,500000,invoice,
H,2026-01-05 10:00,m1,10000,lost,2026-01-06 10:00
"""
# A: the full path, proposal over a weekend, won.   B: skips `needs` (qualified -> proposal).
# C: needs -> qualified (backward, a loop) and back, then open in proposal.
# D: lost, but the history lacks the terminal entry (its qualified stay ends at closed_at).
# E, G: open over the norm, same amount.  F: a repeated `new` entry (not a move), open under the norm.
# H: two entries at the same moment, listed out of order (funnel order decides).
HISTORY = """deal_id,stage,entered_at
A,new,2026-01-05 10:00
A,qualified,2026-01-06 10:00
A,needs,2026-01-07 10:00
A,proposal,2026-01-09 17:00
A,invoice,2026-01-12 10:00
A,won,2026-01-14 10:00
B,new,2026-01-05 10:00
B,qualified,2026-01-06 10:00
B,proposal,2026-01-07 10:00
B,lost,2026-01-20 10:00
C,new,2026-01-05 10:00
C,qualified,2026-01-06 10:00
C,needs,2026-01-07 10:00
C,qualified,2026-01-08 10:00
C,needs,2026-01-09 10:00
C,proposal,2026-01-12 10:00
D,new,2026-01-05 10:00
D,qualified,2026-01-06 10:00
E,new,2026-01-20 10:00
E,needs,2026-01-26 10:00
F,new,2026-01-31 12:00
F,new,2026-01-31 13:00
G,new,2026-01-15 10:00
G,qualified,2026-01-16 10:00
G,needs,2026-01-19 10:00
G,invoice,2026-01-20 10:00
H,qualified,2026-01-05 10:00
H,new,2026-01-05 10:00
H,lost,2026-01-06 10:00
"""


@pytest.fixture
def tiny(client):
    return load(client({"deals.csv": DEALS, "stage_history.csv": HISTORY}, as_of="2026-02-01 00:00:00"))


def test_stays_by_hand(tiny):
    s = st.stage_stays(tiny)
    got = [(r.deal_id, r.stage, round(r.days, 6), r.observed, r.is_current, r.next_stage if isinstance(r.next_stage, str) else None) for r in s.itertuples()]
    h = 1 / 24
    assert got == [
        ("A", "new", 1.0, True, False, "qualified"),
        ("A", "qualified", 1.0, True, False, "needs"),
        ("A", "needs", round(2 + 7 * h, 6), True, False, "proposal"),
        ("A", "proposal", round(2 + 17 * h, 6), True, False, "invoice"),
        ("A", "invoice", 2.0, True, False, "won"),
        ("B", "new", 1.0, True, False, "qualified"),
        ("B", "qualified", 1.0, True, False, "proposal"),
        ("B", "proposal", 13.0, True, False, "lost"),
        ("C", "new", 1.0, True, False, "qualified"),
        ("C", "qualified", 1.0, True, False, "needs"),
        ("C", "needs", 1.0, True, False, "qualified"),
        ("C", "qualified", 1.0, True, False, "needs"),
        ("C", "needs", 3.0, True, False, "proposal"),
        ("C", "proposal", round(19 + 14 * h, 6), False, True, None),  # censored at as_of
        ("D", "new", 1.0, True, False, "qualified"),
        ("D", "qualified", 4.0, True, False, "lost"),  # ended at closed_at: a closed deal is never censored
        ("E", "new", 6.0, True, False, "needs"),
        ("E", "needs", round(5 + 14 * h, 6), False, True, None),
        ("F", "new", 0.5, False, True, None),  # the repeated entry does not split the stay
        ("G", "new", 1.0, True, False, "qualified"),
        ("G", "qualified", 3.0, True, False, "needs"),
        ("G", "needs", 1.0, True, False, "invoice"),
        ("G", "invoice", round(11 + 14 * h, 6), False, True, None),
        ("H", "new", 0.0, True, False, "qualified"),  # same moment: funnel order
        ("H", "qualified", 1.0, True, False, "lost"),
    ]
    assert s["manager"].tolist()[:8] == ["m1"] * 8 and s.loc[s["deal_id"] == "C", "manager"].unique().tolist() == ["m2"]
    assert pd.isna(s.loc[13, "left_at"]) and s.loc[15, "left_at"] == pd.Timestamp("2026-01-10 10:00")
    assert s.attrs["source"] == "stage_history"


def test_business_days_across_a_weekend(tiny):
    s = st.stage_stays(tiny).set_index(["deal_id", "stage"])
    # Fri 17:00 -> Mon 10:00: 1 h on Friday + 1 h on Monday = 120 of 540 working minutes
    assert s.loc[("A", "proposal"), "days"] == pytest.approx(2 + 17 / 24)
    assert s.loc[("A", "proposal"), "business_days"] == pytest.approx(120 / 540)
    # C's second needs stay: Fri 10:00 -> Mon 10:00 = 8 h + 1 h = one working day
    assert s.loc[("C", "needs"), "business_days"].tolist()[1] == pytest.approx(1.0)
    assert s.loc[("A", "invoice"), "business_days"] == pytest.approx(2.0)


def test_stage_summary_by_hand_censored_against_naive(tiny):
    ss = st.stage_summary(st.stage_stays(tiny), tiny.funnel).set_index("stage")
    p = ss.loc["proposal"]
    # proposal: A 2.708 (ended), B 13 (ended), C 19.583 (still there). KM: S = 2/3 after 2.708, 1/3 after 13
    assert (p["stays"], p["open"]) == (3, 1)
    assert p["median"] == 13.0
    assert p["naive_median_closed"] == pytest.approx((2 + 17 / 24 + 13) / 2)
    assert p["share_over_norm"] == pytest.approx(2 / 3)
    assert p["naive_share_over_closed"] == pytest.approx(1 / 2)
    assert p["norm"] == 7 and p["norm_source"] == "parameters"
    # three stays cannot prove a stall at proposal; qualified's norm in the demo funnel is one hour, and
    # every one of its 7 stays here (A, B, C twice, D, G, H) lasts a day or more: stalled
    qual = st.stage_stays(tiny)
    qual = qual[qual["stage"] == "qualified"]
    assert len(qual) == 7 and (qual["days"] >= 1).all() and p["stays"] == 3
    assert ss.index[ss["stalled"]].tolist() == ["qualified"]
    bd = st.stage_summary(st.stage_stays(tiny), tiny.funnel, unit="business_days").set_index("stage")
    # a norm of 7 days is 7 working days against working time (not 7 x 5/7 = 5: the measure is
    # working minutes over the 9-hour day, so the norm is working days of 9 hours)
    assert bd.loc["proposal", "norm"] == 7.0 and bd.loc["proposal", "norm_working_s"] == 7 * 9 * 3600
    assert ss.loc["proposal", "norm_s"] == 7 * 86400 and bd.attrs["norm_basis"] == "working_days" and ss.attrs["norm_basis"] == "calendar_days"
    # the seconds columns: B's 13 days are 1 123 200 s; in working time the proposal median is B's 9 working days (7-20 Jan)
    assert ss.loc["proposal", "median_s"] == 13 * 86400
    assert bd.loc["proposal", "median_working_s"] == bd.loc["proposal", "median"] * 9 * 3600
    assert list(ss.index) == ["new", "qualified", "needs", "proposal", "invoice"]


def test_stall_rule_needs_most_stays_over_the_norm_beyond_doubt(tiny):
    """The rule on made-up stays: lower CI bound of S(norm) above one half."""

    def stays(days, observed=True):
        n = len(days)
        return pd.DataFrame({"stage": pd.Categorical(["proposal"] * n, categories=tiny.funnel.keys), "days": np.asarray(days, float), "observed": np.full(n, observed)})

    f = tiny.funnel
    three = st.stage_summary(stays([10, 11, 12]), f).set_index("stage").loc["proposal"]
    assert three["share_over_norm"] == 1.0 and three["share_over_ci_low"] == pytest.approx(0.025 ** (1 / 3))
    assert not three["stalled"]  # 3 of 3 over the norm proves nothing
    many = st.stage_summary(stays([10.0] * 30 + [3.0] * 10), f).set_index("stage").loc["proposal"]
    assert many["share_over_norm"] == pytest.approx(0.75) and many["share_over_ci_low"] > 0.5 and many["stalled"]
    half = st.stage_summary(stays([10.0] * 22 + [3.0] * 18), f).set_index("stage").loc["proposal"]
    assert half["share_over_norm"] > 0.5 and not half["stalled"]  # 55% over, but not beyond doubt
    # without a norm in the funnel the norm is the team's own p80: even a team where every stay
    # is endless cannot be flagged against it
    data = f.model_dump()
    for stage in data["stages"]:
        stage["norm_days"] = None
    no_norms = Funnel(**data)
    derived = st.stage_summary(stays([100.0 + i for i in range(100)]), no_norms).set_index("stage").loc["proposal"]
    assert derived["norm_source"] == "derived" and derived["norm"] == derived["p80"] == 179.0
    assert derived["share_over_norm"] == pytest.approx(0.2) and not derived["stalled"]


def test_action_list_order(tiny):
    al = st.action_list(st.stage_stays(tiny), tiny.funnel)
    assert al["deal_id"].tolist() == ["G", "E", "C"]  # 500 000 (6.6 d over), 500 000 (0.6 d over), 100 000
    assert al["stage"].astype(str).tolist() == ["invoice", "needs", "proposal"]
    assert al["days_over"].round(4).tolist() == [round(6 + 14 / 24, 4), round(14 / 24, 4), round(12 + 14 / 24, 4)]
    assert al["amount"].tolist() == [500000.0, 500000.0, 100000.0]
    assert "F" not in set(al["deal_id"])  # 0.5 day in new, norm 1


def test_compliance_by_hand(tiny):
    c = st.compliance(tiny)
    skips = c["skips"]
    assert skips[["deal_id", "manager", "skipped", "from_stage", "to_stage"]].values.tolist() == [["B", "m1", "needs", "qualified", "proposal"]]
    assert skips.loc[0, "at"] == pd.Timestamp("2026-01-07 10:00")
    assert c["backward"][["deal_id", "from_stage", "to_stage"]].values.tolist() == [["C", "needs", "qualified"]]
    assert c["loops"][["deal_id", "stage"]].values.tolist() == [["C", "qualified"], ["C", "needs"]]  # F's repeat is not a loop
    pm = c["per_manager"].set_index("manager")
    assert pm.loc["m1", ["deals", "eligible", "skips", "backward", "loops"]].tolist() == [4, 2, 1, 0, 0]  # eligible: A, B
    assert pm.loc["m2", ["deals", "eligible", "skips", "backward", "loops"]].tolist() == [4, 2, 0, 1, 1]  # eligible: C, G
    assert pm.loc["m1", "skip_examples"] == "B" and pm.loc["m2", "backward_examples"] == "C"
    assert not pm["judgeable"].any() and not pm["flag"].any()  # 2 eligible deals < min_deals


def test_one_pass_logrank_equals_stats_logrank(demo_stays):
    sub = demo_stays[demo_stays["stage"] == "proposal"]
    d, o, m = sub["days"].to_numpy(), sub["observed"].to_numpy(), sub["manager"].to_numpy(dtype=object)
    fast = st.logrank_one_vs_rest(d, o, m).set_index("group")
    for g in ("m02", "m06", "m10", "m12"):
        chi2, p = logrank(d[m == g], o[m == g], d[m != g], o[m != g])
        assert fast.loc[g, "chi2"] == pytest.approx(chi2, rel=1e-9)
        assert fast.loc[g, "p_value"] == pytest.approx(p, rel=1e-6)
        assert fast.loc[g, "chi2"] == pytest.approx(fast.loc[g, "z"] ** 2, rel=1e-9)
    assert fast.loc["m02", "z"] < 0  # m02 slower (more time in the stage than expected: fewer events)
    assert fast.loc["m02", "events"] < fast.loc["m02", "expected"]


# ---------------------------------------------------------------------------
# the demo department and its planted truth


@pytest.fixture(scope="module")
def demo():
    return load(REPO / "params" / "clients" / "demo.yaml")


@pytest.fixture(scope="module")
def demo_stays(demo):
    return st.stage_stays(demo)


def test_demo_stays_reconcile_with_the_history(demo, demo_stays):
    h = demo.tables["stage_history"]
    entries = h[h["stage"].isin(demo.funnel.open_stages)].groupby("stage").size()
    per_stage = demo_stays.groupby("stage", observed=True).size()
    assert {k: int(v) for k, v in per_stage.items()} == {k: int(v) for k, v in entries.items()}
    # every open deal has exactly one current stay; nothing else is censored
    assert int(demo_stays["is_current"].sum()) == int((demo.tables["deals"]["outcome"] == "open").sum()) == ANOMALIES["background"]["deal_outcome_counts"]["open"]
    assert (demo_stays["is_current"] == ~demo_stays["observed"]).all()


def test_demo_stalled_stage_is_proposal_only(demo, demo_stays):
    for unit in ("days", "business_days"):
        ss = st.stage_summary(demo_stays, demo.funnel, unit)
        assert ss.loc[ss["stalled"], "stage"].tolist() == ["proposal"], unit
    ss = st.stage_summary(demo_stays, demo.funnel).set_index("stage")
    p = ss.loc["proposal"]
    assert p["share_over_norm"] > 0.7 and p["share_over_ci_low"] > 0.5
    assert (ss.drop(index="proposal")["share_over_ci_high"] < 0.35).all()  # others: ~a quarter over the norm
    # the censored median is longer than the CRM's (finished stays only): the 76 deals still there are long
    assert p["median"] > p["naive_median_closed"]
    # the KM median and 80th percentile: the first times S falls to 0.5 and 0.2 (KM by stats.km_survival_at)
    sub = demo_stays[demo_stays["stage"] == "proposal"]
    for q, s_at in (("median", 0.5), ("p80", 0.2)):
        assert km_survival_at(sub["days"], sub["observed"], p[q]) <= s_at < km_survival_at(sub["days"], sub["observed"], p[q] - 1e-6)
    # finished-stay medians are the generator's measured ones
    for stage, median in ANOMALIES["stalling_stage"]["median_days_by_stage"].items():
        assert ss.loc[stage, "naive_median_closed"] == pytest.approx(median, abs=0.01)
    # the share over the norm is KM S(norm)
    sub = demo_stays[demo_stays["stage"] == "proposal"]
    assert p["share_over_norm"] == pytest.approx(km_survival_at(sub["days"], sub["observed"], 7.0))


def test_demo_slow_managers_are_planted_ones_only(demo, demo_stays):
    for unit in ("days", "business_days"):
        ms = st.manager_stage_summary(demo_stays, demo.funnel, unit)
        slow = set(ms.loc[ms["flag"] == "slower", "manager"])
        # observed: m02 (overloaded, "slower closing") in new, needs, proposal and invoice; nobody else; not at
        # the minutes-long qualified (slower there by minutes, under the practical difference of an hour)
        assert slow == {"m02"}, unit
        assert set(ms.loc[(ms["flag"] == "slower"), "stage"]) == {"new", "needs", "proposal", "invoice"}
        assert not slow & NORMAL
        assert ms["flag"].iloc[0] == "slower" and ms["p_adjusted"].iloc[0] < 1e-20  # worst on top
        assert ms.loc[~ms["judgeable"], "flag"].eq("").all()
    # significantly faster is information, never a flag; in this demo (each seller's moves drawn from
    # equidistributed sequences of his own) nobody is notably faster anywhere
    ms = st.manager_stage_summary(demo_stays, demo.funnel)
    assert set(ms["flag"]) <= {"slower", ""}
    assert not ms["faster"].any()


def test_demo_compliance_matches_the_planted_skipper(demo):
    c = st.compliance(demo)
    pm = c["per_manager"].set_index("manager")
    truth = ANOMALIES["stage_skipper"]
    assert set(pm.index[pm["flag"]]) == {truth["manager"]} == {"m09"}
    assert pm.loc["m09", "skips"] == truth["skipped_deals"] == 29
    assert pm.loc["m09", "eligible"] == truth["eligible_deals"] == 77
    assert int(pm.drop(index="m09")["skips"].sum()) == truth["skipped_deals_others"] == 0
    by_next = c["skips"]["to_stage"].value_counts().to_dict()
    assert by_next == truth["skips_by_next_stage"]
    assert pm.loc["m09", "skip_examples"].count(",") == 2
    # backward moves: ~1% noise for everybody, counted exactly, flagged for nobody
    assert not pm["backward_flag"].any()
    assert pm.loc[list(truth["backward_moves_by_manager"]), "backward_moves"].to_dict() == truth["backward_moves_by_manager"]
    # the robot's and the unassigned deals: rows of their own, never flagged
    assert pm.loc[["robot", "—"], "owner_group"].tolist() == ["system", "no_manager"] and not pm.loc[["robot", "—"], "flag"].any()
    assert len(c["backward"]) == sum(truth["backward_moves_by_manager"].values())


def test_demo_action_list_and_summary(demo, demo_stays):
    al = st.action_list(demo_stays, demo.funnel)
    assert al["amount"].is_monotonic_decreasing
    cur = demo_stays[demo_stays["is_current"]]
    over = int((cur["days"] > cur["stage"].astype(str).map(demo.funnel.norms())).sum())  # open stays over their calendar norm
    assert (al["days_over"] > 0).all() and len(al) == over == 75  # 75: also counted from the raw CSVs with pandas
    assert set(al["deal_id"]) <= set(cur["deal_id"])
    s = st.summary(demo, stays=demo_stays)
    assert s["stalled_stages"] == ["proposal"]
    assert s["skipping_managers"] == ["m09"] and s["backward_managers"] == [] and s["skipped_deals"] == ANOMALIES["stage_skipper"]["skipped_deals"]
    assert {x.split(":")[0] for x in s["slow_managers"]} == {"m02"}
    assert s["open_over_norm"] == over and s["money_at_risk"] == pytest.approx(al["amount"].sum())
    assert s["median_days"]["proposal"] == st.stage_summary(demo_stays, demo.funnel).set_index("stage").at["proposal", "median"]
    assert s["share_over_norm"]["proposal"] > 0.7 and s["stays_source"] == "stage_history"


# ---------------------------------------------------------------------------
# compute -> result -> render: analyse(ds) -> StallsResult, report.stalls.page(result, lang)


@pytest.fixture(scope="module")
def demo_result(demo):
    return st.analyse(demo)


def _current_stays_by_hand(ds) -> pd.DataFrame:
    """Open deals: when their present stay began (the first entry of the trailing run of entries into
    the current stage) and how many calendar days it has lasted at ``as_of`` (Moscow: no clock change)."""
    deals = ds.tables["deals"]
    open_deals = deals[deals["outcome"] == "open"].set_index("deal_id")
    h = ds.tables["stage_history"]
    h = h[h["deal_id"].isin(open_deals.index) & h["stage"].isin(ds.funnel.keys)]
    order = ds.funnel.order()
    h = h.assign(_o=h["stage"].map(order)).sort_values(["deal_id", "entered_at", "_o"], kind="mergesort")
    rows = []
    for deal_id, g in h.groupby("deal_id", sort=False):
        stages, times = g["stage"].tolist(), g["entered_at"].tolist()
        i = len(stages) - 1
        while i > 0 and stages[i - 1] == stages[-1]:
            i -= 1
        rows.append({"deal_id": str(deal_id), "stage": stages[-1], "entered_at": times[i],
                     "days": (pd.Timestamp(ds.as_of) - times[i]) / pd.Timedelta(days=1), "amount": float(open_deals.at[deal_id, "amount"])})
    return pd.DataFrame(rows)


def test_stalls_result_is_language_free_and_matches_the_data(demo, demo_result):
    from scipy.stats import CensoredData, ecdf

    r = demo_result
    assert r.source == "stage_history" and r.has_history and r.as_of == pd.Timestamp("2026-10-31 23:59:59")
    # stays per stage: one per entry into an open stage of the history, in the deals of the department's
    # people (the robot's and the unassigned deals left out); open = the open deals
    h = demo.tables["stage_history"]
    d = demo.tables["deals"]
    robotless = d.loc[d["manager"].notna() & (d["manager"] != "robot"), "deal_id"]
    entries = h[h["stage"].isin(demo.funnel.open_stages) & h["deal_id"].isin(robotless)].groupby("stage").size()
    for stages in (r.stages_, r.stages_business_):
        assert dict(zip(stages["stage"], stages["stays"])) == {k: int(v) for k, v in entries.items()}
        assert int(stages["open"].sum()) == int((demo.tables["deals"]["outcome"] == "open").sum()) == ANOMALIES["background"]["deal_outcome_counts"]["open"]
    # the Kaplan–Meier curves and the share over the norm, against scipy straight from the stays
    people = ~r.stays_["owner_group"].isin(["no_manager", "system"])
    for stage in demo.funnel.open_stages:
        sub = r.stays_[(r.stays_["stage"] == stage) & people]
        d, o = sub["days"].to_numpy(), sub["observed"].to_numpy()
        sf = ecdf(CensoredData(uncensored=d[o], right=d[~o])).sf
        row = r.stages_.set_index("stage").loc[stage]
        assert row["share_over_norm"] == pytest.approx(float(sf.evaluate(row["norm"])), abs=1e-12), stage
        km = r.km_[r.km_["stage"] == stage]
        assert km["time"].tolist() == sorted(set(d)) and km["survival"].to_numpy() == pytest.approx(sf.evaluate(km["time"].to_numpy()), abs=1e-12)
    # the action list: open deals whose present stay is already longer than the stage's norm
    norms = demo.funnel.norms()
    cur = _current_stays_by_hand(demo)
    over = cur[cur["days"] > cur["stage"].map(norms)]
    assert set(r.actions_["deal_id"]) == set(over["deal_id"]) and len(r.actions_) == 75
    assert r.money_at_risk == pytest.approx(over["amount"].sum())
    # compliance: the planted skipper and the backward moves
    truth = ANOMALIES["stage_skipper"]
    assert r.compliance_.set_index("manager").at["m09", "skips"] == truth["skipped_deals"] == r.skips_["deal_id"].nunique() == 29
    assert len(r.backward_) == sum(ANOMALIES["stage_skipper"]["backward_moves_by_manager"].values()) and r.backward_managers == []
    deals_with_history = int(demo.tables["deals"]["deal_id"].isin(h.loc[h["stage"].isin(demo.funnel.keys), "deal_id"]).sum())
    assert r.backward_share == pytest.approx(r.backward_["deal_id"].nunique() / deals_with_history)
    assert r.loop_deals == r.loops_["deal_id"].nunique() and r.manager_tests == r.managers_.attrs["tests"] > 0
    # the key figures are read off the result, and they are the summary's
    k = r.key_figures()
    assert {kk: v for kk, v in k.items() if kk not in BUSINESS_KEYS} == st.summary(demo)
    assert k["stalled_stages"] == k["stalled_stages_business_days"] == ["proposal"] and k["skipping_managers"] == ["m09"]
    assert k["open_over_norm"] == len(over) and k["money_at_risk"] == pytest.approx(over["amount"].sum())
    # the settings are the ones passed
    strict = st.analyse(demo, demo.config.analysis.settings("stalls", stall_share=0.9, min_stays=10**6))
    assert strict.key_figures()["stalled_stages"] == [] and strict.key_figures()["slow_managers"] == [] and not strict.managers_["judgeable"].any()
    # nothing in the result is in a language: canonical column names, keys and codes
    frames = (r.stays_, r.stages_, r.km_, r.managers_, r.actions_, r.stages_business_, r.managers_business_, r.compliance_, r.skips_, r.backward_, r.loops_)
    for frame in frames:
        assert all(c == c.lower() and " " not in c for c in frame.columns)
    assert set(r.stages_["stage"]) == set(demo.funnel.open_stages) and set(r.stages_["norm_source"]) <= {"parameters", "derived"}
    assert set(r.managers_["flag"]) <= {"slower", ""} and set(r.managers_["direction"]) <= {"slower", "faster"}
    labels = {demo.funnel.label(s, lang) for s in demo.funnel.keys for lang in ("ru", "en")}
    for frame in frames:
        for c in frame.columns:
            if frame[c].dtype == object or str(frame[c].dtype) in ("string", "category"):
                assert not set(frame[c].dropna().astype(str)) & labels, c


def test_stalls_page_in_both_languages(demo, demo_result):
    import matplotlib.pyplot as plt

    from salesaudit.report import stalls as report
    from salesaudit.report.page import Figure

    r = demo_result
    en, ru = report.page(r, "en"), report.page(r, "ru")
    assert en.texts()[0] == "Where deals get stuck: ООО «Демо» (synthetic demo)" and ru.texts()[0] == "Где зависают сделки: ООО «Демо» (synthetic demo)"
    assert "31 Oct 2026 23:59" in en.texts()[1] and "31.10.2026 23:59" in ru.texts()[1]
    # the figures in the sentences: the KM median (checked against scipy above), the action list (75 open deals over
    # the norm, counted by hand above), the planted skipper (29 of 77, the generator's count), 32 backward moves (idem).
    # Also recomputed from the raw CSVs (pandas + scipy.stats.ecdf, log-log interval): proposal median 11.06 days,
    # S(7 days) = 0.774 (95% CI 0.752–0.794); 75 open deals over the norm worth 23 644 913; m09's first skips 50049,
    # 50108, 50193; 32 backward moves in 32 of the 3 270 deals
    p = r.stages_.set_index("stage").loc["proposal"]
    assert round(p["median"], 1) == 11.1 and round(100 * p["share_over_norm"]) == 77
    assert any(x.startswith("**Stalling:** “Proposal sent”: median 11.1 days against a norm of 7 days, 77% of the deals over the norm (95% CI 75%–79%)")
               for x in en.texts())
    assert any(x.startswith("**Зависание:** «Коммерческое предложение» — медиана 11,1 дн. при норме 7 дн., дольше нормы 77\u00a0% сделок") for x in ru.texts())
    assert round(r.money_at_risk) == 23_644_913
    assert any("75 deals worth 23,644,913" in x for x in en.texts()) and any("75 сделок на 23\u00a0644\u00a0913" in x for x in ru.texts())
    skipper = ANOMALIES["stage_skipper"]
    assert (skipper["skipped_deals"], skipper["eligible_deals"]) == (29, 77)
    assert ("**Skipping mandatory stages:** Волков Илья Алексеевич: 29 of 77 deals (38%, 95% CI 28%–49%; 35.7 p.p. over the tolerance, 95% CI 25.7–46.8; "
            "e.g. 50049, 50108, 50193).") in en.texts()
    assert sum(skipper["backward_moves_by_manager"].values()) == 32
    assert ("Backward moves: 32 (in 32 deals, 1.0% of the deals). A manager is flagged only when his share is significantly above the tolerance of 5% "
            "and exceeds it by at least 5 percentage points; flagged: nobody.") in en.texts()
    assert "The same in working time" in en.texts() and "Process compliance" in en.texts()
    # the slower manager's effect in words: medians, the ratio with its interval, the difference in working time
    # (recomputed with scipy from the raw CSVs: KM medians 6.23 and 2.90 days, Brookmeyer–Crowley intervals combined on the log scale)
    slow = next(x for x in en.texts() if x.startswith("**Slower than the rest of the team:**"))
    assert "Иванов Кирилл Юрьевич, “Needs identified”: median 6.2 days against 2.9 days for the rest of the team, 2.15 times as long (95% CI 1.80–2.57)" in slow
    assert slow.count("Иванов Кирилл Юрьевич") == 4 and "m02" not in slow and "“Qualified”" not in slow  # not flagged at the minutes-long stage
    team = en.tables()[0]
    assert team["Stage"].tolist() == [demo.funnel.label(s, "en") for s in demo.funnel.open_stages]
    assert team["Stalls"].tolist() == ["no", "no", "no", "yes", "no"] and team["Stays"].tolist() == r.stages_["stays"].tolist()
    assert ru.tables()[0].iloc[:, 0].tolist() == [demo.funnel.label(s, "ru") for s in demo.funnel.open_stages]
    # presentation never changes a number: the same result gives the same tables and figures in both pages
    # stages; managers (4 slower, 5 small, 1 not judged; 5 of the head of sales, 1 of the robot, 1 without a manager); actions;
    # compliance (13 sellers, the head, the robot, no manager); skips; backward; loops (two re-entries per backward move); exits;
    # stages and managers in working time (4 slower, 5 significant but small: m02 at qualified and the inbound desk at four stages)
    assert [t.shape for t in en.tables()] == [t.shape for t in ru.tables()] == [(5, 13), (17, 11), (75, 8), (16, 18), (29, 6), (32, 5), (64, 4), (16, 7), (5, 13), (9, 11)]
    assert en.tables()[9]["Verdict"].tolist() == ["slower"] * 4 + ["significant, but small"] * 5
    managers = en.tables()[1]
    assert managers["Verdict"].tolist() == ["slower"] * 4 + ["significant, but small"] * 5 + ["not judged: too few stays"] + \
        ["not compared: head of sales", "not compared: system user", "not compared: no manager"] + ["not compared: head of sales"] * 4
    assert list(team.columns[3:8]) == ["Median (days)", "Median, CRM-style (days)", "80th percentile (days)", "90th percentile (days)", "Norm (days)"]
    assert list(en.tables()[8].columns[3:8]) == ["Median (working days)", "Median, CRM-style (working days)", "80th percentile (working days)",
                                                 "90th percentile (working days)", "Norm (working days)"]
    assert en.tables()[8]["Norm (working days)"].tolist() == [1.0, 1 / 24, 5.0, 7.0, 5.0]  # N days of the funnel = N working days here
    assert sum(isinstance(b, Figure) for b in en.blocks) == sum(isinstance(b, Figure) for b in ru.blocks) == 3
    plt.close("all")


def test_stalls_without_a_stage_history(client):
    """Deals only: one stay per deal, no compliance section; a stage whose stays are all still running has nothing to test."""
    import matplotlib.pyplot as plt

    from salesaudit.report import stalls as report
    from salesaudit.report.i18n import t

    ds = load(client({"deals.csv": DEALS}, as_of="2026-02-01 00:00:00"))
    r = st.analyse(ds)
    assert r.source == "deals" and not r.has_history and r.compliance_ is None and r.skips_ is None
    assert r.stages_.set_index("stage")["stays"].to_dict() == {"new": 1, "qualified": 0, "needs": 1, "proposal": 1, "invoice": 5}
    k = r.key_figures()
    assert (k["stays_source"], k["skipping_managers"], k["skipped_deals"], k["open_over_norm"]) == ("deals", [], 0, 3)
    assert {kk: v for kk, v in k.items() if kk not in BUSINESS_KEYS} == st.summary(ds) and k["stalled_stages_business_days"] == []
    # the log-rank test of a stage where no stay has ended: nothing to compare, no error
    lr = st.logrank_one_vs_rest([1.0, 2.0], [False, False], ["a", "b"])
    assert lr["events"].tolist() == [0, 0] and lr["p_value"].isna().all()
    for lang in ("en", "ru"):
        texts = report.page(r, lang).texts()
        assert texts[2] == t("stalls.source.deals", lang)
        assert t("dq.no_table", lang, table=t("table.stage_history", lang)) in texts
        assert t("stalls.per_manager", lang) not in texts
    plt.close("all")


@pytest.mark.notebook
def test_report_in_english_via_the_runner_on_the_bitrix_export(tmp_path, demo):
    """The notebook end to end (papermill, a real kernel) on the other export format, in English."""
    res = run(REPO / "params" / "clients" / "demo_bitrix24.yaml", out_dir=tmp_path, language="en", notebooks=["02_stage_stalls"], progress=False)
    assert res.ok, [n.error for n in res.notebooks]
    (nb,) = res.notebooks
    rec = json.loads(nb.json.read_text(encoding="utf-8"))
    names = dict(zip(demo.tables["managers"]["manager"].astype(str), demo.tables["managers"]["name"].astype(str)))
    assert rec["stalled_stages"] == rec["stalled_stages_business_days"] == ["proposal"]
    assert rec["skipping_managers"] == [names["m09"]] and rec["skipped_deals"] == ANOMALIES["stage_skipper"]["skipped_deals"]
    assert {x.split(":")[0] for x in rec["slow_managers"]} == {names["m02"]}
    assert rec["open_over_norm"] == st.analyse(demo).key_figures()["open_over_norm"]
    html = nb.html.read_text(encoding="utf-8")
    for text in ("Where deals get stuck", "Proposal sent", "Action list: open deals over the norm", "Skipping mandatory stages", "The same in working time"):
        assert text in html
    assert "Зависание" not in html and "def " not in html


# ---------------------------------------------------------------------------
# real data: Maven keeps no stage history


MAVEN_CSV = REALDATA / "maven_crm_sales_opportunities" / "sales_pipeline.csv"


@needs_realdata("maven_crm_sales_opportunities", "sales_pipeline.csv")
def test_maven_one_stay_per_deal_matches_an_independent_kaplan_meier():
    from scipy.stats import CensoredData, ecdf

    ds = load(REPO / "params" / "clients" / "maven.yaml")
    assert not ds.has("stage_history")
    stays = st.stage_stays(ds)
    assert stays.attrs["source"] == "deals"
    ss = st.stage_summary(stays, ds.funnel).set_index("stage")

    raw = pd.read_csv(MAVEN_CSV, parse_dates=["engage_date", "close_date"])
    raw = raw[raw["deal_stage"].isin(["Won", "Lost", "Engaging"])]
    as_of = pd.Timestamp("2017-12-31 23:59:59")
    closed = (raw["deal_stage"] != "Engaging").to_numpy()
    dur = np.where(closed, (raw["close_date"] - raw["engage_date"]).dt.total_seconds(), (as_of - raw["engage_date"]).dt.total_seconds()) / 86400
    sf = ecdf(CensoredData(uncensored=dur[closed], right=dur[~closed])).sf
    times = np.unique(dur)
    surv = sf.evaluate(times)
    median = times[np.flatnonzero(surv <= 0.5 + 1e-10)[0]]

    e = ss.loc["engaging"]
    assert (e["stays"], e["open"]) == (len(raw), int((~closed).sum())) == (8300, 1589)
    assert e["median"] == pytest.approx(median) == 69.0
    assert e["naive_median_closed"] < e["median"]  # the 1 589 open deals have run long
    assert e["norm_source"] == "derived" and not e["stalled"]  # a norm taken from the team cannot flag it
    assert e["share_over_norm"] == pytest.approx(0.2, abs=0.01)
    assert ss.loc["prospecting", "stays"] == 0  # quarantined: no engage_date
    assert stays.loc[~stays["observed"], "next_stage"].isna().all()
    assert set(stays.loc[stays["observed"], "next_stage"].astype(str)) == {"won", "lost"}


def test_demo_stage_exits_against_the_stage_history(demo, demo_result):
    """How deals leave each stage, counted from the stage history CSV by hand: the next row of each deal."""
    h = pd.read_csv(REPO / "data_samples" / "demo_generic" / "stage_history.csv", dtype={"deal_id": str})
    deals = pd.read_csv(REPO / "data_samples" / "demo_generic" / "deals.csv", dtype={"deal_id": str})
    h["entered_at"] = pd.to_datetime(h["entered_at"], errors="coerce")
    h = h[h["deal_id"].isin(demo.tables["deals"]["deal_id"].astype(str)) & h["stage"].isin(demo.funnel.keys)]
    h = h.sort_values(["deal_id", "entered_at"], kind="stable")
    h["next"] = h.groupby("deal_id")["stage"].shift(-1)
    people = set(ANOMALIES["roster"]["team"]) | {ANOMALIES["roster"]["head_of_sales"]}
    owner = deals.drop_duplicates("deal_id").set_index("deal_id")["manager"]
    h = h[h["deal_id"].map(owner).isin(people) & h["stage"].isin(demo.funnel.open_stages) & h["next"].notna()]
    lost = h[h["next"].isin(demo.funnel.lost_stages)].groupby(["stage", "next"]).size()
    ex = demo_result.exits_
    got = ex[ex["outcome"] == "lost"].set_index(["stage", "exit"])["stays"]
    assert got.to_dict() == lost.to_dict()
    assert set(ex["exit"]) == {"forward", "back", "lost", "cancelled"}
    # shares add up per stage; proposal loses most to the client's cancellations, the stage where deals stall
    assert ex.groupby("stage")["share"].sum().round(12).eq(1).all()
    prop = ex[ex["stage"] == "proposal"].set_index("exit")
    assert prop.loc["cancelled", "stays"] > prop.loc["lost", "stays"] and prop.loc["cancelled", "median_s"] > 7 * 86400
    # the page: a table in words, times with their unit, the stage with the most losses said in a sentence
    from salesaudit.report import stalls as report

    en = report.page(demo_result, "en")
    i = en.texts().index("How deals leave each stage")
    most = lost.groupby(level=0).sum().sort_values(ascending=False)
    assert en.texts()[i + 2].startswith(f"Most losses happen at “{demo.funnel.label(most.index[0], 'en')}”: {most.iloc[0]:,} deals")
    table = next(x for x in en.tables() if "Way out" in x.columns)
    assert len(table) == len(ex) and table["Way out"].iloc[0] == "moved on"
    q = table[table["Stage"] == "Qualified"]["Median time in the stage before"]
    assert q.str.endswith(" min").all()  # the minutes-long stage in minutes


def test_one_fit_gives_the_quantiles_and_the_interval_at_the_norm_the_whole_tables_give():
    """stalls._km_stats (one Kaplan-Meier fit per cell) against reading the row off kaplan_meier and km_quantiles,
    on random stays with ties and open ones; stalls._in_order says "already sorted" only when np.lexsort agrees."""
    from salesaudit.stats import kaplan_meier, km_quantiles

    rng = np.random.default_rng(1)
    for _ in range(150):
        n = int(rng.integers(1, 60))
        d = np.round(rng.exponential(3, n), int(rng.integers(0, 3)))
        o = rng.random(n) < rng.uniform(0, 1)
        for t in (0.0, 1.0, 2.5, 10.0, float(d.max())):
            q, ci = st._km_stats(d, o, (0.5, 0.8, 0.9), t, 0.05)
            km = kaplan_meier(d, o, alpha=0.05)
            i = int(np.searchsorted(km["time"].to_numpy(dtype="float64"), t, side="right")) - 1
            s, lo, hi = (1.0, np.nan, np.nan) if i < 0 else tuple(float(km.iloc[i][c]) for c in ("survival", "ci_low", "ci_high"))
            if s >= 1.0:
                k = int(np.sum(d > t))
                ref = (1.0, float(0.025 ** (1 / k)) if k else np.nan, 1.0 if k else np.nan)
            elif s <= 0.0:
                ref = (0.0, 0.0, float(1 - 0.025 ** (1 / len(d))))
            else:
                ref = (s, lo, hi)
            assert np.array_equal(np.array(ci), np.array(ref), equal_nan=True)
            assert np.array_equal(np.array(list(q.values())), np.array(list(km_quantiles(d, o, (0.5, 0.8, 0.9)).values())), equal_nan=True)
        m = int(rng.integers(1, 30))
        deal, ns, ords = np.sort(rng.integers(0, 5, m)), rng.integers(0, 4, m), rng.integers(0, 3, m).astype(np.int16)
        if rng.random() < 0.5:
            o2 = np.lexsort((ords, ns, deal))
            deal, ns, ords = deal[o2], ns[o2], ords[o2]
        assert st._in_order(deal, ns, ords) == np.array_equal(np.lexsort((ords, ns, deal)), np.arange(m))
