"""The answers of notebook 06 on hand-made sweep tables, the plan default, and the snapshot."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import REPO

from salesaudit.sim import experiments as ex
from salesaudit.sim.department import DepartmentParams
from salesaudit.stats import wilson


def _runs():
    # 3 headcounts × 10 replications: plan met 5, 8 and 10 times out of 10
    rows = []
    for i, (n, k) in enumerate([(4, 5), (5, 8), (6, 10)]):
        for r in range(10):
            rows.append({"scenario": i, "replication": r, "managers": n, "revenue": 100.0 * n + r,
                         "plan_met": float(r < k), "won": 10.0})
    df = pd.DataFrame(rows)
    df.attrs.update({"scenario_keys": ["managers"], "metrics": ["revenue", "plan_met", "won"], "replications": 10})
    return df


def test_sweep_table_and_smallest_headcount():
    tab = ex.sweep_table(_runs(), metrics=("revenue", "won"))
    assert tab["managers"].tolist() == [4, 5, 6]
    assert tab["revenue"].tolist() == pytest.approx([404.5, 504.5, 604.5])  # mean of 100n + 0..9
    lo, hi = wilson(8, 10)
    assert tab.loc[1, "p_plan"] == pytest.approx(0.8)
    assert (tab.loc[1, "p_plan_lo"], tab.loc[1, "p_plan_hi"]) == pytest.approx((lo, hi))
    ans = ex.smallest_headcount(tab, 0.8)
    assert ans["managers"] == 5 and ans["p"] == pytest.approx(0.8) and not ans["sure"]
    assert ex.smallest_headcount(tab, 0.95)["managers"] == 6
    none = ex.smallest_headcount(tab.iloc[:2], 0.9)
    assert none["managers"] is None and none["p"] == pytest.approx(0.8)


def test_best_limit_names_the_limits_it_cannot_tell_apart():
    tab = pd.DataFrame({"deal_limit": [5, 10, 20, None], "revenue": [80.0, 100.0, 97.0, 90.0],
                        "revenue_lo": [75.0, 95.0, 92.0, 85.0], "revenue_hi": [85.0, 105.0, 102.0, 95.0]})
    best = ex.best_limit(tab)
    assert best["deal_limit"] == 10 and best["mean"] == 100.0
    assert best["tied"] == [10, 20]  # 20's upper bound 102 reaches 100; no-limit's 95 does not


def _team_revenue_plans() -> dict:
    """The team's monthly revenue plans read straight from the demo's plans.csv (no loader)."""
    import csv

    with open(REPO / "data_samples" / "demo_generic" / "plans.csv", encoding="utf-8") as f:
        return {r["period"]: float(r["target"]) for r in csv.DictReader(f) if r["metric"] == "revenue" and not r["manager"]}


def test_the_plan_of_the_horizon_from_plans_csv(demo):
    team = _team_revenue_plans()
    assert team["2026-10"] == 20_100_000 and "2026-11" not in team  # the demo plans up to the audit month
    # September 2026 in full plus the first 15 of October's 31 days: the CRM's plans
    info = ex.horizon_plan(demo, pd.Timestamp("2026-09-01"), 45)
    assert info["source"] == "plans" and info["planned_months"] == ["2026-09", "2026-10"]
    assert info["plan"] == pytest.approx(team["2026-09"] + team["2026-10"] * 15 / 31)
    assert ex.default_plan(demo, pd.Timestamp("2026-09-01"), 45) == (info["plan"], "plans")
    # the notebook's horizon, 91 days from 1 November 2026: no plan in the CRM, so the stated
    # assumption: the team's plan of August–October per day × the growth factor × 91 days
    per_day = (team["2026-08"] + team["2026-09"] + team["2026-10"]) / (31 + 30 + 31)
    info = ex.horizon_plan(demo, pd.Timestamp("2026-11-01"), 91, growth=1.1)
    assert info["source"] == "last_three_plans" and info["planned_months"] == []
    assert info["months"] == ["2026-11", "2026-12", "2027-01"] and info["basis_months"] == ["2026-08", "2026-09", "2026-10"]
    assert info["plan"] == pytest.approx(per_day * 1.1 * 91) and info["growth"] == 1.1
    assert info["basis_per_month"] == pytest.approx((19_960_000 + 20_100_000 + 20_100_000) / 3)
    assert info["end"] == pd.Timestamp("2027-01-31")  # exclusive: the horizon's last day is 30 January
    # partly planned: October's last 17 days from the plan, the 43 days after it at July–September's rate
    info = ex.horizon_plan(demo, pd.Timestamp("2026-10-15"), 60)
    rate = (team["2026-07"] + team["2026-09"] + team["2026-08"]) / (31 + 31 + 30)
    assert info["source"] == "plans_and_assumption" and info["planned_months"] == ["2026-10"]
    assert info["plan"] == pytest.approx(team["2026-10"] * 17 / 31 + rate * 43)


def test_without_plans_the_plan_is_the_last_three_months_payments(demo):
    import csv
    import dataclasses

    no_plans = dataclasses.replace(demo, tables={k: v for k, v in demo.tables.items() if k != "plans"})
    assert not no_plans.has("plans")
    with open(REPO / "data_samples" / "demo_generic" / "payments.csv", encoding="utf-8") as f:
        paid = sum(float(r["amount"]) for r in csv.DictReader(f) if "2026-08-01" <= r["paid_at"] < "2026-11-01")
    info = ex.horizon_plan(no_plans, pd.Timestamp("2026-11-01"), 91, growth=1.05)
    assert info["source"] == "last_three_payments" and info["basis_months"] == ["2026-08", "2026-09", "2026-10"]
    assert info["plan"] == pytest.approx(paid / 92 * 1.05 * 91)
    nothing = dataclasses.replace(demo, tables={k: v for k, v in demo.tables.items() if k not in ("plans", "payments")})
    assert ex.default_plan(nothing, pd.Timestamp("2026-11-01"), 91) == (None, "none")


def test_more_is_worse_reads_the_new_hires_figures():
    rows = []
    for r in range(4):
        for n, rev, assigned, won, new_l, new_w in ((12, 100.0 + r, 1000, 110, 0, 0), (14, 97.0 + r + (r % 2), 1000, 104, 140, 9)):
            rows.append({"scenario": int(n == 14), "replication": r, "managers": n, "revenue": rev, "won_amount": 2 * rev,
                         "assigned": assigned, "won_from_leads": won, "new_hire_leads": new_l, "new_hire_won": new_w})
    runs = pd.DataFrame(rows)
    runs.attrs.update({"scenario_keys": ["managers"], "replications": 4})
    tab = ex.sweep_table(runs)
    w = ex.more_is_worse(tab, 12, runs)
    assert w["managers"] == 14 and w["current"] == 12
    assert w["revenue"] == pytest.approx(99.0) and w["revenue_current"] == pytest.approx(101.5)
    assert w["new_share"] == pytest.approx(0.14) and w["new_rate"] == pytest.approx(9 / 140)
    assert w["rest_rate"] == pytest.approx((104 - 9) / (1000 - 140))
    # the paired differences are -3, -2, -3, -2: mean -2.5, sd 0.577, t(3) interval
    from scipy import stats

    half = stats.t.ppf(0.975, 3) * (1 / 3) ** 0.5 / 2
    assert (w["diff"], w["diff_lo"], w["diff_hi"]) == pytest.approx((-2.5, -2.5 - half, -2.5 + half))
    # a larger team that brings in more: nothing to explain
    assert ex.more_is_worse(tab.assign(revenue=[100.0, 101.0]), 12, None) is None


def test_snapshot_forgets_the_future():
    import salesaudit as sa
    from salesaudit.data.snapshot import snapshot

    ds = sa.load(REPO / "params" / "clients" / "demo.yaml")
    T = pd.Timestamp("2026-03-31 23:59:59")
    s = snapshot(ds, T)
    d = s.tables["deals"]
    assert (d["created_at"] <= T).all() and len(d) == int((ds.tables["deals"]["created_at"] <= T).sum())
    assert (d["closed_at"].dropna() <= T).all()
    reopened = d[(d["outcome"] == "open")]
    # a deal that was closed after T is open again, in the last stage it had entered by T
    full = ds.tables["deals"].set_index("deal_id")
    later = reopened[full.loc[reopened["deal_id"], "closed_at"].notna().to_numpy()]
    assert len(later) > 0
    h = ds.tables["stage_history"]
    one = later.iloc[0]
    last = h[(h["deal_id"] == one["deal_id"]) & (h["entered_at"] <= T)].sort_values("entered_at")["stage"].iloc[-1]
    assert str(one["stage"]) == str(last)
    le = s.tables["leads"]
    assert (le["first_response_at"].dropna() <= T).all()
    assert not le["deal_id"].dropna().astype(str).isin(set(ds.tables["deals"].loc[ds.tables["deals"]["created_at"] > T, "deal_id"].astype(str))).any()
    assert s.as_of == T


def test_dask_localcluster_gives_the_same_numbers_as_the_local_pool():
    distributed = pytest.importorskip("distributed", reason="the cluster extra (distributed) is not installed")
    from functools import partial

    from salesaudit.sim.department import run_scenario
    from salesaudit.sim.sweep import run_sweep

    p = DepartmentParams.example(managers=4, leads_per_year=3000)
    scen = [{"managers": 3, "days": 30}, {"managers": 5, "deal_limit": 6, "days": 30}]
    func = partial(run_scenario, base=p)
    local = run_sweep(func, scen, 4, seed=3, executor="processes", workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = run_sweep(func, scen, 4, seed=3, executor=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(local, on_dask)
    assert local["leads"].nunique() > 1


def test_the_run_configs_executor_sends_the_capacity_sweeps_to_a_dask_cluster(demo):
    """``executor: tcp://...`` in a run config: notebook 06's sweeps run on that cluster, with the serial numbers."""
    distributed = pytest.importorskip("distributed", reason="the cluster extra (distributed) is not installed")
    import dataclasses

    from salesaudit.errors import SalesauditError
    from salesaudit.sim import capacity

    settings = demo.config.analysis.settings("capacity", replications=2, headcount_below=0, headcount_above=0, deal_limits=[None],
                                             volumes=[1.0], routings=["round_robin"], sla_minutes=[15], head_shares=[0.0], head_months=1)

    def on(executor):
        return dataclasses.replace(demo, config=demo.config.model_copy(update={"executor": executor}))

    # a scheduler nobody listens on: the run config's address is the one tried, and the error says how to fix it
    with pytest.raises(SalesauditError, match="tcp://127.0.0.1:9"):
        capacity.analyse(on("tcp://127.0.0.1:9"), settings, seed=7, progress=False)
    serial = capacity.analyse(on("serial"), settings, seed=7, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40) as cluster:
        with distributed.Client(cluster) as client:
            on_dask = capacity.analyse(on(cluster.scheduler_address), settings, seed=7, progress=False)
            # the tasks went through this cluster's scheduler
            tasks = client.run_on_scheduler(lambda dask_scheduler: len({t[0] for t in dask_scheduler.transition_log}))
    assert tasks >= 2
    for name in ("baseline_", "headcount_", "limit_", "sla_"):
        pd.testing.assert_frame_equal(getattr(serial, name), getattr(on_dask, name))
    assert serial.p_plan == on_dask.p_plan


# --------------------------------------------------------------------------- the result and the page (a small run)


@pytest.fixture(scope="module")
def capacity_result(demo):
    from salesaudit.sim import capacity

    settings = demo.config.analysis.settings("capacity", replications=4, headcount_below=0, headcount_above=1, deal_limits=[5, None],
                                             volumes=[1.0], routings=["round_robin"], sla_minutes=[15], head_shares=[0.0, 0.5], head_months=1)
    return capacity.analyse(demo, settings, seed=7, executor="serial", progress=False)


def test_capacity_result_is_language_free_and_matches_the_data(demo, capacity_result):
    r = capacity_result
    assert r.missing == () and r.client == demo.config.client and r.horizon_days == 91 and r.replications == 4
    n = r.params.n_sellers
    assert r.headcount_["managers"].tolist() == [n, n + 1]
    assert r.limit_["deal_limit"].tolist()[0] == 5 and len(r.limit_) == 2 and len(r.volume_) == 1 and len(r.sla_) == 2
    # the tables are the replications' means; the chance of meeting the plan is the share of runs that met it
    base = r.runs["base"]
    assert len(base) == 4 and r.baseline_.loc[0, "revenue"] == pytest.approx(base["revenue"].mean())
    assert r.p_plan == pytest.approx((base["plan_met"] > 0.5).mean())
    assert r.plan == pytest.approx(r.params.plan_revenue) and r.plan_source == "last_three_plans"
    team = _team_revenue_plans()
    assert r.plan == pytest.approx((team["2026-08"] + team["2026-09"] + team["2026-10"]) / 92 * 91)
    # revenue is the payments received: the wins' paid share plus the deals won before the start
    assert (base["revenue"] >= base["revenue_earlier_wins"]).all() and base["revenue_earlier_wins"].nunique() == 1
    assert r.baseline_.loc[0, "won_amount"] == pytest.approx(base["won_amount"].mean())
    assert "plan_met" not in r.runs["head"] and "p_plan" not in r.head_  # a year is not compared with the quarter's plan
    if r.plan is not None:
        chance = r.runs["headcount"].groupby("managers")["plan_met"].apply(lambda s: (s > 0.5).mean())
        ok = chance[chance >= r.target]
        assert r.smallest_headcount["managers"] == (int(ok.index.min()) if len(ok) else None)
    rev = r.runs["limit"].groupby(r.runs["limit"]["deal_limit"].fillna(-1))["revenue"].mean()
    best = rev.idxmax()
    assert r.best_limit["deal_limit"] == (None if best == -1 else int(best))
    # the backtest: one horizon back from the audit moment
    assert r.backtest_end - r.backtest_start == pd.Timedelta(days=91)
    assert r.backtest_as_of == pd.Timestamp(r.calibration.as_of) - pd.Timedelta(days=91)
    # the key figures are read off the result
    k = r.key_figures()
    assert k["capacity_backtest_inside"] == dict(zip(r.backtest_["metric"], r.backtest_["inside"]))
    assert k["capacity_best_limit"] == r.best_limit["deal_limit"]
    assert (k["capacity_p_plan"] is None) if r.p_plan != r.p_plan else k["capacity_p_plan"] == round(r.p_plan, 3)
    # nothing in the result is in a language
    for frame in (r.backtest_, r.baseline_, r.headcount_, r.limit_, r.volume_, r.sla_):
        assert all(c == c.lower() and " " not in c for c in frame.columns)
    assert set(r.backtest_["metric"]) <= {c for c in r.backtest_["metric"] if c == c.lower()}


def test_capacity_page_in_both_languages(capacity_result):
    import matplotlib.pyplot as plt

    from salesaudit.report import capacity as report
    from salesaudit.report.page import Figure

    en, ru = report.page(capacity_result, "en"), report.page(capacity_result, "ru")
    for p in (en, ru):
        for b in p.blocks:
            if isinstance(b, Figure):
                plt.close(b.figure)
    assert en.texts()[0] == "Capacity simulation: ООО «Демо» (synthetic demo)" and ru.texts()[0].startswith("Моделирование мощности отдела")
    assert "Backtest on the past" in en.texts() and "Проверка на прошлом (бэктест)" in ru.texts()
    assert "Which deal-load limit per seller" in en.texts()
    assert len(en.blocks) == len(ru.blocks) and len(en.tables()) == len(ru.tables())
    bt = report.backtest_table(capacity_result, "en")
    assert len(bt) == len(capacity_result.backtest_) and "metric" not in bt.columns
    # the calibration's dates in each page's language
    from salesaudit.report import format as fmt

    start = capacity_result.params.start
    assert any(fmt.date(start, "en") in x for x in en.texts()) and any(start.strftime("%d.%m.%Y") in x for x in ru.texts())


def test_capacity_without_leads_says_so(demo):
    import dataclasses

    from salesaudit.report import capacity as report
    from salesaudit.sim import capacity

    class NoLeads:
        config = demo.config

        @staticmethod
        def has(name):
            return name != "leads"

    r = capacity.analyse(NoLeads(), demo.config.analysis.settings("capacity"))
    assert r.missing == ("leads",) and r.key_figures() == {} and dataclasses.is_dataclass(r)
    p = report.page(r, "en")
    assert len(p.blocks) == 2 and "leads" in p.texts()[1]
