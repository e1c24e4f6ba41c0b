"""The audit finds exactly what the synthetic department plants, and flags nobody else.

Notebooks 01 and 02 run through the real runner (papermill, real kernels) on the demo, in
English; the key results they record are compared with ``data_samples/demo_generic/ANOMALIES.json``.
"""
from __future__ import annotations

import json

import pytest
from conftest import REPO

from salesaudit.runs.runner import run

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

ANOMALIES = json.loads((REPO / "data_samples" / "demo_generic" / "ANOMALIES.json").read_text(encoding="utf-8"))
PLANTED = {ANOMALIES[k]["manager"] for k in ("slow_responder", "stage_skipper", "overloaded_manager", "discount_violator", "weak_closer")}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("planted")
    result = run(REPO / "params" / "clients" / "demo.yaml", out_dir=out, language="en", notebooks=["01_funnel", "02_stage_stalls", "03_leads", "04_plan_fact"], progress=False)
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


def test_the_slow_responder_the_overloaded_manager_and_the_discount_breaker(records):
    leads, pf = records["03_leads"], records["04_plan_fact"]
    assert leads["leads_flagged_response"] == [ANOMALIES["slow_responder"]["manager"]] == ["m11"]
    assert leads["leads_flagged_overnight"] == ["m11"]
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
        | set(leads["leads_flagged_overnight"])
        | set(leads["leads_flagged_disqualification_high"])
        | set(leads["leads_flagged_disqualification_low"])
        | set(pf["hygiene_over_deal_limit"])
        | set(pf["hygiene_policy_breakers"])
    )
    assert flagged <= PLANTED, flagged - PLANTED
    # and what is flagged is each planted manager's own anomaly
    assert f"{ANOMALIES['weak_closer']['manager']}:proposal>invoice" in funnel["flagged_below"]
    assert ANOMALIES["slow_responder"]["manager"] in funnel["lead_flagged_below"]
    assert managers_of(stalls["slow_managers"]) == {ANOMALIES["overloaded_manager"]["manager"]}
