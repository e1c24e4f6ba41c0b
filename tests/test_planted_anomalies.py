"""The audit finds exactly what the synthetic department plants, and flags nobody else.

Notebooks 01–04 and 07 run once per test session in real kernels: under ``make test`` these are
nbval's executions of the committed notebooks (on the demo), read through ``notebooks/conftest.py``;
without nbval in the session the real runner (papermill) executes them here. The key results they
record are compared with ``data_samples/demo_generic/ANOMALIES.json``: every planted effect is
flagged where the manifest says ``flag`` and not flagged where it says ``do_not_flag``; the groups
outside the team (no manager, the CRM robot, the head of sales) are never tested; the inbound desk's
differences on ten sellers' volume are "small", not flagged; the minutes-long stage is measured in
minutes and nobody is flagged there for a difference of minutes; losses are reported by both lost
terminals with their reasons; with ``stay_owner: moved_by`` the head's moves are his stays.
"""
from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml
from conftest import REPO, executed_records

from salesaudit.runs.runner import run

pytestmark = [pytest.mark.notebook, pytest.mark.slow, pytest.mark.reads_notebooks]
NOTEBOOKS = ["01_funnel", "02_stage_stalls", "03_leads", "04_plan_fact", "07_rop_scorecard"]

ANOMALIES = json.loads((REPO / "data_samples" / "demo_generic" / "ANOMALIES.json").read_text(encoding="utf-8"))
PLANTED = {ANOMALIES[k]["manager"] for k in ("slow_responder", "stage_skipper", "overloaded_manager", "discount_violator", "weak_closer")}


@pytest.fixture(scope="module")
def records(request, tmp_path_factory):
    shared = executed_records(request.config)
    if all(shared.get(name) for name in NOTEBOOKS):
        return {name: shared[name] for name in NOTEBOOKS}
    out = tmp_path_factory.mktemp("planted")
    result = run(REPO / "params" / "clients" / "demo.yaml", out_dir=out, language="en", notebooks=NOTEBOOKS, progress=False)
    assert result.ok, [(n.stem, n.error) for n in result.notebooks]
    return {n.stem: n.records for n in result.notebooks}


def managers_of(items):
    return {str(x).split(":")[0] for x in items}


def test_the_stalling_stage_and_only_it(records):
    stalls = records["02_stage_stalls"]
    assert stalls["stalled_stages"] == [ANOMALIES["stalling_stage"]["stage"]] == ["proposal"]
    assert stalls["stalled_stages_business_days"] == ["proposal"]


def test_the_stage_skipper_and_only_them(records):
    stalls = records["02_stage_stalls"]
    assert stalls["skipping_managers"] == [ANOMALIES["stage_skipper"]["manager"]] == ["m09"]
    assert stalls["skipped_deals"] == ANOMALIES["stage_skipper"]["skipped_deals"]
    assert stalls["backward_managers"] == []


def _overnight_counts():
    """Leads left overnight per seller, counted from the CSV without salesaudit: a lead created on a working day
    (Mon-Fri, 09:00-18:00) and answered on a later day, or unanswered at the audit moment after its day ended."""
    import pandas as pd

    leads = pd.read_csv(REPO / "data_samples" / "demo_generic" / "leads.csv")
    leads["created_at"], leads["first_response_at"] = pd.to_datetime(leads["created_at"], errors="coerce"), pd.to_datetime(leads["first_response_at"], errors="coerce")  # the planted bad rows: NaT
    leads = leads[leads["manager"].isin(ANOMALIES["roster"]["team"])]
    created = leads["created_at"]
    in_hours = (created.dt.day_of_week < 5) & (created.dt.hour >= 9) & (created.dt.hour < 18)
    leads = leads[in_hours]
    answered_later = leads["first_response_at"].dt.normalize() > leads["created_at"].dt.normalize()
    unanswered = leads["first_response_at"].isna() & (leads["created_at"].dt.normalize() < pd.Timestamp("2026-10-31"))
    left = answered_later | unanswered
    return left.groupby(leads["manager"]).agg(["sum", "size"])


#: Flags the data support although the generator planted nothing there: the newcomer m12 left 7 of his 67 leads
#: overnight against about 2 % of the other sellers' (six arrived after 17:30). Checked in the data by
#: test_chance_findings_are_real_in_the_data; any other unplanted flag fails the tests below.
CHANCE = {"m12": "left_overnight"}


def test_chance_findings_are_real_in_the_data():
    from scipy.stats import fisher_exact

    counts = _overnight_counts()
    m = "m12"
    rest = counts.drop(index=[m, ANOMALIES["slow_responder"]["manager"]]).sum()  # the robust rest: the slow responder judged apart
    own = counts.loc[m]
    assert (own["sum"], own["size"]) == (7, 57)  # of the leads that arrived in working hours (the page counts 7 of all 67)
    p = fisher_exact([[own["sum"], own["size"] - own["sum"]], [rest["sum"], rest["size"] - rest["sum"]]])[1]
    assert p * (len(counts) - 1) < 0.05  # significant after a Bonferroni correction over the other sellers (stricter than Holm)
    assert own["sum"] / own["size"] - rest["sum"] / rest["size"] > 0.05  # and above the 5 p.p. threshold


def test_the_slow_responder_the_overloaded_manager_and_the_discount_breaker(records):
    leads, pf = records["03_leads"], records["04_plan_fact"]
    assert leads["leads_flagged_response"] == [ANOMALIES["slow_responder"]["manager"]] == ["m11"]
    assert leads["leads_flagged_response_time"] == ["m11"]
    assert leads["leads_flagged_overnight"] == ["m11", "m12"]  # m12: a chance finding the data support (CHANCE)
    assert pf["hygiene_over_deal_limit"] == [ANOMALIES["overloaded_manager"]["manager"]] == ["m02"]
    assert pf["hygiene_policy_breakers"] == [ANOMALIES["discount_violator"]["manager"]] == ["m07"]


def test_no_manager_without_a_planted_anomaly_is_flagged(records):
    funnel, stalls, leads, pf = records["01_funnel"], records["02_stage_stalls"], records["03_leads"], records["04_plan_fact"]
    flagged = (
        set(funnel["managers_flagged"])
        | managers_of(stalls["slow_managers"])
        | set(stalls["skipping_managers"])
        | set(stalls["backward_managers"])
        | set(leads["leads_flagged_response"])
        | set(leads["leads_flagged_response_time"])
        | (set(leads["leads_flagged_overnight"]) - set(CHANCE))
        | set(leads["leads_flagged_disqualification_high"])
        | set(leads["leads_flagged_disqualification_low"])
        | set(pf["hygiene_over_deal_limit"])
        | set(pf["hygiene_policy_breakers"])
    )
    assert flagged <= PLANTED, flagged - PLANTED
    assert set(records["07_rop_scorecard"]["scorecard_lagging"]) - PLANTED == set(CHANCE)
    # and what is flagged is each planted manager's own anomaly
    assert f"{ANOMALIES['weak_closer']['manager']}:proposal>invoice" in funnel["flagged_below"]
    assert ANOMALIES["slow_responder"]["manager"] in funnel["lead_flagged_below"]
    assert managers_of(stalls["slow_managers"]) == {ANOMALIES["overloaded_manager"]["manager"]}


def test_the_records_come_from_nbvals_execution_when_it_ran(request, records):
    """Under `make test` the notebooks are not executed a second time for this module."""
    ran = {i.path.stem for i in request.session.items if i.path.suffix == ".ipynb"}
    if not set(NOTEBOOKS) <= ran:
        pytest.skip("nbval does not execute notebooks 01-04 in this session: the runner executed them here")
    shared = executed_records(request.config)
    assert {name: shared[name] for name in NOTEBOOKS} == records
    assert shared["02_stage_stalls"]["stalled_stages"] == ["proposal"]


# ---------------------------------------------------------------------------
# every expectation of the manifest, one by one


def _flagged(records, what: str) -> set[str]:
    """The managers (or manager:stage items) a notebook flagged for one of the manifest's checks."""
    f, s, ld, pf = (records[n] for n in NOTEBOOKS[:4])
    return {
        "response_time": set(ld["leads_flagged_response_time"]),
        "sla_share": set(ld["leads_flagged_response"]),
        "left_overnight": set(ld["leads_flagged_overnight"]),
        "lead_to_deal": set(f["lead_flagged_below"]) | set(f["lead_flagged_above"]),
        "deal_load": set(pf["hygiene_over_deal_limit"]),
        "time_in_stage": set(s["slow_managers"]) | set(s["slow_managers_business_days"]),
        "policy": set(pf["hygiene_policy_breakers"]),
        "skips_mandatory_stage": set(s["skipping_managers"]),
    }[what]


EXPECTATIONS = [(k, m, check, str(v)) for k in ("slow_responder", "overloaded_manager", "discount_violator", "inbound_desk")
                for m in [ANOMALIES[k]["manager"]] for check, v in ANOMALIES[k]["expect"].items()]
EXPECTATIONS += [("stage_skipper", ANOMALIES["stage_skipper"]["manager"], "skips_mandatory_stage", ANOMALIES["stage_skipper"]["expect"]["skips_mandatory_stage"])]
@pytest.mark.parametrize("anomaly,manager,check,expect", EXPECTATIONS, ids=[f"{a}-{c}" for a, _, c, _ in EXPECTATIONS])
def test_each_expectation_of_the_manifest(records, anomaly, manager, check, expect):
    got = _flagged(records, check)
    who = managers_of(got) if check == "time_in_stage" else got
    if expect.startswith("flag"):
        assert manager in who, (check, got)
    else:
        assert expect.startswith("do_not_flag") and manager not in who, (check, got)


def test_funnel_steps_the_skipper_skips_and_the_weak_closers_step(records):
    funnel = records["01_funnel"]
    for step, expect in ANOMALIES["stage_skipper"]["expect"].items():
        if step.startswith("funnel_step_"):
            item = f"{ANOMALIES['stage_skipper']['manager']}:{step.removeprefix('funnel_step_')}"
            assert expect == "do_not_flag" and item not in funnel["flagged_below"] + funnel["flagged_above"], item
    weak = ANOMALIES["weak_closer"]
    assert weak["expect"] == {"funnel_step_proposal>invoice": "flag"}
    assert funnel["flagged_below"] == [f"{weak['manager']}:{weak['from_stage']}>{weak['to_stage']}"]


def test_the_groups_outside_the_team_are_counted_apart_and_never_tested(records):
    groups = ANOMALIES["owner_groups"]
    funnel = records["01_funnel"]
    assert funnel["excluded_deals"] == {"head_of_sales": groups["head_of_sales"]["deals"], "no_manager": groups["no_manager"]["deals"],
                                        "system": groups["system"]["deals"]}
    assert funnel["team_deals"] == groups["team"]["deals"] == funnel["deals"] - sum(funnel["excluded_deals"].values())
    # the first step among the team's deals, not all deals (the robot's and the unassigned ones are declined at once)
    assert funnel["step_rates"]["new>qualified"] == pytest.approx(groups["first_step_rate"]["team_deals"], abs=5e-4)
    outside = {ANOMALIES["roster"]["head_of_sales"], *ANOMALIES["roster"]["system_owners"], "—", "", "None"}
    every_flag = set()
    for rec in records.values():
        for key, value in rec.items():
            if ("flagged" in key or key.endswith("_managers") or key in ("hygiene_over_deal_limit", "hygiene_policy_breakers", "scorecard_lagging",
                                                                          "small_differences")) and isinstance(value, list):
                every_flag |= managers_of(value)
    assert not every_flag & outside, every_flag & outside


def test_the_desk_differs_by_tiny_amounts_shown_small_not_flagged(records):
    desk = ANOMALIES["inbound_desk"]["manager"]
    stalls, funnel, pf = records["02_stage_stalls"], records["01_funnel"], records["04_plan_fact"]
    # significant on ten sellers' volume, below the practical thresholds: "small" in the stalls, never slower
    assert desk in managers_of(stalls["small_differences"]) and desk not in managers_of(stalls["slow_managers"])
    assert desk not in managers_of(funnel["flagged_below"] + funnel["flagged_above"]) and desk not in funnel["lead_flagged_below"]
    assert desk not in pf["hygiene_over_deal_limit"]  # 29 open deals under its own limit of 60
    assert desk not in records["03_leads"]["leads_flagged_response_time"]  # 1.12 times the rest's median: small


def test_the_minutes_long_stage_is_in_minutes_and_nobody_is_flagged_there(records):
    from salesaudit.report.format import duration_unit

    m = ANOMALIES["minutes_stage"]
    stalls = records["02_stage_stalls"]
    stage = m["stage"]
    assert m["expect"] == {"unit": "minutes", "managers_flagged": []}
    assert duration_unit(stalls["median_s"][stage]) == "min" and duration_unit(stalls["median_working_s"][stage]) == "min"
    assert stalls["median_working_s"][stage] == pytest.approx(60 * m["median_working_min_team"], rel=0.05)  # seconds at full precision
    assert not [x for x in stalls["slow_managers"] + stalls["slow_managers_business_days"] if x.endswith(f":{stage}")]
    # the overloaded manager IS slower there, by minutes: significant, small
    assert f"{ANOMALIES['overloaded_manager']['manager']}:{stage}" in stalls["small_differences"]
    assert stage not in stalls["stalled_stages"]


def test_losses_by_both_lost_terminals_with_their_reasons(records):
    lt = ANOMALIES["lost_terminals"]
    funnel = records["01_funnel"]
    assert sorted(funnel["losses_by_terminal"]) == sorted(lt["terminals"]) == ["cancelled", "lost"]
    assert funnel["losses_by_terminal"] == lt["deals_by_terminal_team"]
    assert funnel["losses_lost"] == sum(lt["deals_by_terminal_team"].values())
    by_stage = {stage: sum(v.values()) for stage, v in lt["team_by_stage_lost_at"].items()}
    assert funnel["losses_by_stage"] == by_stage
    reasons = Counter()
    for per in lt["team_reasons_by_terminal"].values():
        reasons.update(per)
    assert funnel["losses_top_reasons"] == {r: n for r, n in reasons.items() if r in funnel["losses_top_reasons"]}
    assert set(funnel["losses_top_reasons"]) == {r for r, _ in reasons.most_common(len(funnel["losses_top_reasons"]))}
    assert funnel["losses_no_reason_share"] == pytest.approx(lt["team_empty_reason"] / funnel["losses_lost"])
    assert funnel["losses_flagged"] == [] and funnel["losses_managers_flagged"] == []  # nobody loses differently by design


def test_the_heads_moves_are_his_stays_with_moved_by(tmp_path):
    """The real runner on the demo with `stay_owner: moved_by`: the head's invoice moves on the sellers' deals are his stays."""
    from salesaudit.analysis import stalls as st
    from salesaudit.data.loader import load

    cfg = yaml.safe_load((REPO / "params" / "clients" / "demo.yaml").read_text(encoding="utf-8"))
    cfg.update(stay_owner="moved_by", data=str(REPO / "data_samples" / "demo_generic"), funnel=str(REPO / "params" / "funnels" / "demo_b2b.yaml"))
    path = tmp_path / "demo_moved_by.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    res = run(path, out_dir=tmp_path / "out", language="en", notebooks=["02_stage_stalls"], progress=False)
    assert res.ok, [n.error for n in res.notebooks]
    (nb,) = res.notebooks
    assert nb.records["stay_owner"] == "moved_by"
    assert "charged to whoever moved the deal into it" in nb.html.read_text(encoding="utf-8")
    # the same data by hand: the invoice entries the head made, on anyone's deals
    ds = load(path)
    h = ds.tables["stage_history"]
    head = ANOMALIES["roster"]["head_of_sales"]
    moved = ANOMALIES["moved_by"]
    team_deals = ds.tables["deals"].loc[ds.tables["deals"]["manager"].isin(ANOMALIES["roster"]["team"]), "deal_id"]
    entries = h[(h["stage"] == "invoice") & (h["moved_by"] == head)]
    assert int(entries["deal_id"].isin(team_deals).sum()) == moved["invoice_entries_moved_by_head"]
    stays = st.stage_stays(ds, owner="moved_by")
    mine = stays[(stays["stage"] == "invoice") & (stays["manager"] == head)]
    assert len(mine) == len(entries) and (mine["owner_group"] == "head_of_sales").all()
    by_owner = st.stage_stays(ds, owner="deal_owner")
    assert int(((by_owner["stage"] == "invoice") & (by_owner["manager"] == head)).sum()) < len(mine)  # with deal_owner: only his own deals
