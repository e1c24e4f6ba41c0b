"""The run config's `analysis:` section: today's defaults, errors in plain words, notebook overrides."""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import get_args

import pytest
import yaml

import salesaudit as sa
from salesaudit.analysis import funnel as fn
from salesaudit.analysis import hygiene, leads, meeting, planfact, stalls
from salesaudit.data.params import Analysis, CapacitySettings, load_run_config
from salesaudit.errors import ParameterError

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "params" / "clients" / "demo.yaml"

#: what the notebooks' parameters cells held before the values moved to the run config
NOTEBOOK_VALUES_BEFORE = {
    ("funnel", "min_n"): 20,  # 01_funnel
    ("leads", "min_n"): 20,  # 03_leads
    ("stalls", "min_stays"): 15,  # 02_stage_stalls, written in the calls
    ("stalls", "tolerance"): 0.02,
    ("stalls", "backward_tolerance"): 0.05,
    ("stalls", "min_deals"): 10,
    ("stalls", "stall_share"): 0.5,
    ("planfact", "backtest_day"): 15,  # 04_plan_fact
    ("incentives", "schemes"): ["personal_plus_department", "department_revenue", "growth_yoy", "focus_product", "kpi_basket"],  # 05_incentives
    ("incentives", "widget_schemes"): ["personal_plus_department", "department_revenue", "kpi_basket"],
    ("incentives", "min_months"): 3,
    ("capacity", "horizon_days"): 91,  # 06_capacity
    ("capacity", "replications"): 30,
    ("capacity", "plan_revenue"): None,
    ("capacity", "target"): 0.8,
    ("capacity", "deal_limits"): [5, 8, 12, 20, 30, None],
    ("capacity", "volumes"): [1.0, 1.5, 2.0],
    ("capacity", "routings"): ["round_robin", "least_loaded", "pool"],
    ("capacity", "sla_minutes"): [15, 30, 60],
    ("capacity", "head_shares"): [0.0, 0.3, 0.6, 0.9],
    ("capacity", "head_months"): 12,
}

#: notebook -> the areas its parameters cell may override
NOTEBOOK_AREAS = {
    "01_funnel": ["funnel"],
    "02_stage_stalls": ["stalls"],
    "03_leads": ["leads"],
    "04_plan_fact": ["planfact", "hygiene"],
    "05_incentives": ["incentives"],
    "06_capacity": ["capacity"],
    "08_meeting": ["meeting"],
}


def default(func, name):
    return inspect.signature(func).parameters[name].default


def write(tmp_path, analysis, name="c.yaml", **extra):
    """The demo's run config with an `analysis:` section, written beside ``tmp_path``."""
    cfg = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    cfg["data"] = str((DEMO.parent / cfg["data"]).resolve())
    cfg["funnel"] = str((DEMO.parent / cfg["funnel"]).resolve())
    cfg["analysis"] = analysis
    cfg.update(extra)
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return p


def test_defaults_are_the_function_defaults_the_code_used():
    a = Analysis()
    assert a.funnel.min_n == default(fn.manager_flags, "min_n") == default(fn.summary, "min_n") == 20
    assert a.funnel.alpha == default(fn.manager_flags, "alpha") == default(fn.summary, "alpha") == 0.05
    assert a.funnel.cohort_horizons == list(default(fn.cohort_table, "horizons")) == [30, 60, 90]
    assert a.funnel.cohort_days == default(fn.cohort_curves, "max_days") == 180  # the cohort plot draws the result's curves

    s = a.stalls
    for func in (stalls.stage_summary, stalls.manager_stage_summary, stalls.compliance, stalls.summary, stalls.km_curves):  # the KM plot draws the result's curves
        assert s.alpha == default(func, "alpha") == 0.05, func.__name__
    assert s.stall_share == default(stalls.stage_summary, "stall_share") == default(stalls.summary, "stall_share") == 0.5
    assert s.min_stays == default(stalls.manager_stage_summary, "min_stays") == default(stalls.summary, "min_stays") == 15
    assert s.min_ended == default(stalls.manager_stage_summary, "min_ended") == default(stalls.summary, "min_ended") == 5
    for func in (stalls.compliance, stalls.summary):
        assert (s.tolerance, s.backward_tolerance, s.min_deals) == (default(func, "tolerance"), default(func, "backward_tolerance"), default(func, "min_deals")) == (0.02, 0.05, 10)

    for func in (leads.response_flags, leads.overnight_flags, leads.disqualification_flags, leads.summary):
        assert (a.leads.min_n, a.leads.alpha) == (default(func, "min_n"), default(func, "alpha")) == (20, 0.05), func.__name__

    p = a.planfact
    assert (p.reverse_months, p.reverse_draws, p.reverse_alpha) == tuple(default(planfact.reverse_funnel, k) for k in ("months", "n_boot", "alpha")) == (6, 4000, 0.05)
    assert (p.forecast_sims, p.forecast_grid, p.forecast_min_entries, p.forecast_recent_days) == tuple(
        default(planfact.forecast, k) for k in ("n_sims", "grid", "min_entries", "recent_days")) == (10000, 20, 30, 180)

    h = a.hygiene
    assert (h.policy_tolerance, h.policy_min_deals, h.policy_alpha) == tuple(default(hygiene.policy_by_manager, k) for k in ("tolerance", "min_deals", "alpha")) == (0.05, 10, 0.05)
    assert h.calls_per_stratum == default(hygiene.call_sample, "per_stratum") == 1
    assert a.meeting.top_n == default(meeting.repeat_avoid, "n") == 3


def test_capacity_and_incentive_defaults_match_the_simulation_and_the_controls():
    from salesaudit.incentives import widgets
    from salesaudit.incentives.schemes import load_schemes
    from salesaudit.report import capacity as capacity_report
    from salesaudit.sim import backtest, department, experiments

    c = Analysis().capacity
    assert c.target == default(experiments.smallest_headcount, "target") == default(capacity_report.plot_chance_by_headcount, "target") == 0.8
    assert (c.headcount_below, c.headcount_above) == (default(experiments.headcount_axis, "below"), default(experiments.headcount_axis, "above")) == (2, 3)
    assert c.horizon_days == default(backtest.backtest, "days") == 91
    assert get_args(get_args(CapacitySettings.model_fields["routings"].annotation)[0]) == department.ROUTING_RULES
    i = Analysis().incentives
    assert i.widget_sims == default(widgets.IncentiveApp.__init__, "n_sims") == 2000
    assert len(i.widget_schemes) <= widgets.MAX_SCHEMES
    assert list(load_schemes(REPO / "params" / "incentives", i.schemes)) == i.schemes  # every default scheme exists


def test_defaults_are_the_values_the_notebooks_held():
    a = Analysis()
    for (area, key), value in NOTEBOOK_VALUES_BEFORE.items():
        got = getattr(getattr(a, area), key)
        assert got == value and type(got) is type(value), (area, key, got)
    # whole numbers stay whole numbers: the scenario tables show 15, not 15.0
    assert all(type(x) is int for x in a.capacity.sla_minutes) and all(x is None or type(x) is int for x in a.capacity.deal_limits)


def test_every_setting_is_a_notebook_parameter_none_by_default():
    for name, areas in NOTEBOOK_AREAS.items():
        nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        params = "".join(next(c for c in code if "parameters" in c["metadata"].get("tags", []))["source"])
        body = "\n".join("".join(c["source"]) for c in code)
        for area in areas:
            keys = list(type(getattr(Analysis(), area)).model_fields)
            call = re.search(rf'ds\.config\.analysis\.settings\("{area}", (.*?)\)', body, re.S)
            assert call, (name, area)
            for key in keys:
                assert re.search(rf"^{key}\s*= None\s*# None: as in the run config's `analysis\.{area}\.{key}`", params, re.M), (name, key)
                assert f"{key}={key}" in call.group(1), (name, key)


def test_a_typo_names_the_file_and_suggests_the_key(tmp_path):
    with pytest.raises(ParameterError) as err:
        load_run_config(write(tmp_path, {"stalls": {"alfa": 0.1}}))
    msg = str(err.value)
    assert msg.startswith(str(tmp_path / "c.yaml")) or "c.yaml" in msg.split(":")[0]
    assert "unknown key `analysis.stalls.alfa`" in msg and "Did you mean 'alpha'?" in msg
    assert "Allowed keys here: alpha, stall_share, min_stays" in msg
    with pytest.raises(ParameterError, match=r"unknown key `analysis.stals`\. Did you mean 'stalls'\?"):
        load_run_config(write(tmp_path, {"stals": {"alpha": 0.1}}))


@pytest.mark.parametrize("analysis, words", [
    ({"stalls": {"alpha": 1.5}}, "`analysis.stalls.alpha` is 1.5: it should be less than 1"),
    ({"funnel": {"min_n": 0}}, "`analysis.funnel.min_n` is 0: it should be at least 1"),
    ({"funnel": {"min_n": "twenty"}}, "`analysis.funnel.min_n` is 'twenty': it should be a whole number"),
    ({"capacity": {"routings": ["round_robin", "random"]}}, "`analysis.capacity.routings[1]` is 'random'; allowed values: 'round_robin', 'least_loaded'"),
    ({"capacity": {"head_shares": [0.3, 1.2]}}, "`analysis.capacity.head_shares`: every value must be a share from 0 to 1; check 1.2"),
    ({"capacity": {"deal_limits": [10, 0, None]}}, "`analysis.capacity.deal_limits`: every value must be a whole number greater than 0 or empty (no limit); check 0"),
    ({"incentives": {"widget_schemes": ["a", "b", "c", "d"]}}, "`analysis.incentives.widget_schemes` is ['a', 'b', 'c', 'd']: it has too many items"),
])
def test_out_of_range_values_are_refused_in_plain_words(tmp_path, analysis, words):
    with pytest.raises(ParameterError) as err:
        load_run_config(write(tmp_path, analysis))
    msg = str(err.value)
    assert words in msg
    assert "Input should" not in msg and "validation error" not in msg and "pydantic" not in msg


def test_analysis_may_live_in_its_own_file_whose_errors_name_it(tmp_path):
    (tmp_path / "analysis.yaml").write_text("funnel:\n  min_n: 40\n", encoding="utf-8")
    assert load_run_config(write(tmp_path, "analysis.yaml")).analysis.funnel.min_n == 40
    (tmp_path / "bad.yaml").write_text("leads:\n  alpha: 2\n", encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        load_run_config(write(tmp_path, "bad.yaml"))
    assert "bad.yaml" in str(err.value).split(":")[0] and "`leads.alpha` is 2: it should be less than 1" in str(err.value)


def test_notebook_overrides_none_keeps_the_config_a_value_replaces_it(tmp_path):
    cfg = load_run_config(write(tmp_path, {"stalls": {"alpha": 0.01, "min_stays": 30}}))
    assert cfg.analysis.settings("stalls", alpha=None).alpha == 0.01
    over = cfg.analysis.settings("stalls", alpha=0.1, min_stays=None)
    assert (over.alpha, over.min_stays, over.tolerance) == (0.1, 30, 0.02)
    assert cfg.analysis.stalls.alpha == 0.01  # the config itself is untouched
    assert Analysis().settings("stalls", alpha=None).alpha == 0.05
    with pytest.raises(ParameterError) as err:
        cfg.analysis.settings("stalls", alpha=1.5)
    assert str(err.value).startswith("notebook parameters") and "`analysis.stalls.alpha` is 1.5: it should be less than 1" in str(err.value)
    with pytest.raises(ParameterError, match=r"unknown key `analysis.stalls.alfa`\. Did you mean 'alpha'\?"):
        cfg.analysis.settings("stalls", alfa=0.1)
    with pytest.raises(ParameterError, match=r"no area 'stals'\. Did you mean 'stalls'\?"):
        cfg.analysis.settings("stals")


def test_analysis_settings_do_not_change_the_dataset_cache_key(tmp_path):
    from salesaudit.data.cache import dataset_key

    assert dataset_key(load_run_config(write(tmp_path, {}, "a.yaml"))) == dataset_key(load_run_config(write(tmp_path, {"funnel": {"min_n": 40}}, "b.yaml")))


def test_min_n_in_the_run_config_changes_what_notebook_01_judges(tmp_path, demo):
    ds40 = sa.load(write(tmp_path, {"funnel": {"min_n": 40}}))

    def judged(ds):
        # as notebook 01: settings after the load, then the manager flags with them
        st = ds.config.analysis.settings("funnel", min_n=None, alpha=None)
        reach = fn.deal_reach(ds)
        flags = fn.manager_flags(fn.step_conversion(ds, by="manager", reach=reach), fn.step_conversion(ds, reach=reach), min_n=st.min_n, alpha=st.alpha)
        return st, flags

    st20, f20 = judged(demo)
    st40, f40 = judged(ds40)
    assert (st20.min_n, st40.min_n) == (20, 40)
    not20, not40 = int((~f20["judgeable"]).sum()), int((~f40["judgeable"]).sum())
    assert not40 > not20
    assert set(f20.loc[~f20["judgeable"], ["manager", "step"]].itertuples(index=False)) < set(f40.loc[~f40["judgeable"], ["manager", "step"]].itertuples(index=False))
    assert (f40.loc[~f40["judgeable"], "finished"] < 40).all() and (f40.loc[f40["judgeable"], "finished"] >= 40).all()
    # a notebook parameter overrides the config for one run
    assert ds40.config.analysis.settings("funnel", min_n=20).min_n == 20


def test_the_scorecard_judges_lagging_managers_with_the_config_settings(tmp_path, demo):
    from salesaudit.analysis import scorecard

    strict = sa.load(write(tmp_path, {"funnel": {"min_n": 100000}, "leads": {"min_n": 100000}, "stalls": {"min_stays": 100000, "min_deals": 100000}}))
    assert len(scorecard.lagging_managers(demo))  # the demo plants lagging managers
    assert scorecard.lagging_managers(strict).empty  # nobody has enough data to be judged
