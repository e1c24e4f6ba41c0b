"""The head-of-sales scorecard: rules from the parameters, the demo's lagging managers, new vs experienced."""
from __future__ import annotations

import json

import pytest
import yaml
from conftest import REPO

from salesaudit.analysis import scorecard as sc
from salesaudit.data.loader import load
from salesaudit.data.params import Rule, load_run_config
from salesaudit.errors import ParameterError

ANOMALIES = json.loads((REPO / "data_samples" / "demo_generic" / "ANOMALIES.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "value,rule,status",
    [
        (1.02, Rule(green=1.0, amber=0.9), "green"),
        (0.95, Rule(green=1.0, amber=0.9), "amber"),
        (0.80, Rule(green=1.0, amber=0.9), "red"),
        (0.0, Rule(green=0, amber=2, higher_is_better=False), "green"),
        (2.0, Rule(green=0, amber=2, higher_is_better=False), "amber"),
        (3.0, Rule(green=0, amber=2, higher_is_better=False), "red"),
        (None, Rule(green=1.0, amber=0.9), "n/a"),
    ],
)
def test_grades_follow_the_rule(value, rule, status):
    assert sc._grade(value, rule) == status


def test_a_rule_with_amber_on_the_better_side_is_a_parameter_error(tmp_path):
    cfg = yaml.safe_load((REPO / "params" / "clients" / "demo.yaml").read_text(encoding="utf-8"))
    cfg["funnel"] = str(REPO / "params" / "funnels" / "demo_b2b.yaml")
    cfg["data"] = str(REPO / "data_samples" / "demo_generic")
    cfg["scorecard"] = {"plan_attainment": {"green": 0.9, "amber": 1.0}}
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParameterError, match=r"`scorecard.plan_attainment`: `amber` must lie on the worse side of `green`"):
        load_run_config(p)


def test_demo_head_is_experienced_and_lagging_managers_are_the_planted_ones(demo):
    head = sc.head_of_sales(demo)
    assert head["manager"] == "h01" and head["new"] is False and head["months"] > 3
    lag = sc.lagging_managers(demo, "en")
    planted = {ANOMALIES[k]["manager"] for k in ("slow_responder", "stage_skipper", "overloaded_manager", "weak_closer")}
    assert set(lag["manager"]) == planted
    weak = lag[lag["manager"] == ANOMALIES["weak_closer"]["manager"]].iloc[0]
    assert weak["where"] == "Proposal sent → Invoice issued" and weak["since"] != "—"


def test_demo_checkpoints_against_independent_figures(demo):
    from salesaudit.analysis import leads, planfact

    cp = sc.checkpoints(demo, "en").set_index("key")
    assert set(cp.index) == {"plan_attainment", "plan_trend", "cumulative_lag", "same_day_processing", "mom_growth", "analytics_per_manager", "lagging_managers"}
    pvf = planfact.plan_vs_fact(demo, "2026-10", "month")
    team = pvf[(pvf["manager"] == planfact.TEAM) & (pvf["metric"] == "revenue")].iloc[0]
    assert cp.loc["plan_attainment", "value"] == pytest.approx(team["fact"] / team["plan"])
    assert cp.loc["same_day_processing", "value"] == pytest.approx(1 - leads.summary(demo)["leads_share_left_overnight"])
    assert cp.loc["lagging_managers", "value"] == 4 and cp.loc["lagging_managers", "status"] == "red"
    assert cp.loc["analytics_per_manager", "status"] == "green"
    assert len(sc.questions(demo, "ru")) == len(sc.QUESTIONS_EXPERIENCED)


def test_a_new_head_skips_growth_and_gets_the_new_questions(client, tmp_path):
    managers = "manager,name,role,hired_at\nh1,Head,head_of_sales,2026-09-01\nm1,Ann,manager,2024-01-01\n"
    deals = "deal_id,created_at,manager,stage\nd1,2026-10-01,m1,new\n"
    ds = load(client({"managers.csv": managers, "deals.csv": deals}))
    assert sc.head_of_sales(ds)["new"] is True
    cp = sc.checkpoints(ds, "en").set_index("key")
    assert cp.loc["mom_growth", "status"] == "n/a" and not cp.loc["mom_growth", "applies"]
    assert cp.loc["plan_attainment", "status"] == "n/a"  # no plans or payments in this export
    assert sc.questions(ds, "en")[0].startswith("Did the head present")
