"""Incentive schemes (salesaudit.incentives): every component against payouts computed by hand,
the schema's errors, the history on a tiny department and on the demo, the Monte Carlo, the
focus model (the seeds' claim as a property) and gaming."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO

from salesaudit import incentives as inc
from salesaudit import load
from salesaudit.errors import ParameterError, SalesauditError
from salesaudit.sim.coaching import CoachingEffect

SCHEMES_DIR = REPO / "params" / "incentives"
ASSUMPTIONS = SCHEMES_DIR / "assumptions.yaml"
DEMO = REPO / "params" / "clients" / "demo.yaml"
L = {"ru": "x", "en": "x"}


def scheme(*components, **top):
    return inc.scheme_from_dict({"key": "t", "label": L, "components": list(components), **top})


def pay(s, **cols):
    return inc.payout(s, pd.DataFrame(cols))


# --------------------------------------------------------------------------- components by hand


def test_base_is_paid_whatever_happens():
    p = pay(scheme({"type": "base", "amount": 50000}), dept_revenue=[0.0, 5e6, np.nan])
    assert p["total"].tolist() == [50000.0] * 3
    assert p["variable"].tolist() == [0.0] * 3


def test_plan_percent_personal_and_department_by_hand():
    s = scheme({"type": "plan_percent",
                "personal": {"plan": 1_000_000, "bonus_at_plan": 60000, "threshold_pct": 50, "cap_pct": 150},
                "department": {"bonus_at_plan": 40000, "threshold_pct": 80, "cap_pct": 150}})
    p = pay(s, dept_revenue=[9e6, 7.5e6, 20e6, 9e6, 9e6], head_revenue=[8e5, 4e5, 2e6, 1e6, 1e6],
            dept_plan=[10e6, 10e6, 10e6, 0.0, np.nan])
    expected = [
        60000 * 0.80 + 40000 * 0.90,  # personal 80 %, department 90 %: 48 000 + 36 000
        0.0,                          # missed thresholds: personal 40 % < 50, department 75 % < 80
        60000 * 1.50 + 40000 * 1.50,  # cap hit: 200 % counts as 150 % on both: 90 000 + 60 000
        60000 * 1.00,                 # zero department plan: no department bonus; personal 100 %
        60000 * 1.00,                 # no department plan at all: the same
    ]
    assert p["c0_plan_percent"].tolist() == pytest.approx(expected)


def test_personal_plan_from_the_data_when_the_scheme_gives_none():
    s = scheme({"type": "plan_percent", "personal": {"bonus_at_plan": 50000}})
    # the data's head plan 500 000, fact 250 000: 50 % -> 25 000; no head plan: nothing
    assert pay(s, dept_revenue=[1e6, 1e6], head_revenue=[250000, 250000], head_plan=[500000, np.nan])["total"].tolist() == [25000.0, 0.0]


def test_revenue_percent_rate_cap_margin_threshold_and_own_deals():
    s = scheme({"type": "revenue_percent", "rate_pct": 1.5, "cap": 150000})
    # 1.5 % of 8 mln = 120 000; 1.5 % of 12 mln = 180 000, capped at 150 000
    assert pay(s, dept_revenue=[8e6, 12e6])["total"].tolist() == pytest.approx([120000, 150000])
    m = scheme({"type": "revenue_percent", "rate_pct": 2, "base": "margin"})
    assert pay(m, dept_revenue=[9e6], dept_margin=[3e6])["total"].tolist() == pytest.approx([60000])  # 2 % of 3 mln margin
    th = scheme({"type": "revenue_percent", "rate_pct": 1, "threshold_pct": 90})
    # 8 of 10 mln = 80 % < 90: nothing; 9.5 mln = 95 %: 1 % of 9.5 mln = 95 000
    assert pay(th, dept_revenue=[8e6, 9.5e6], dept_plan=[10e6, 10e6])["total"].tolist() == pytest.approx([0, 95000])
    ex = scheme({"type": "revenue_percent", "rate_pct": 1.5}, own_deals={"count_in_department": False})
    # the head's 1 mln is left out of the department's 8 mln: 1.5 % of 7 mln = 105 000
    assert pay(ex, dept_revenue=[8e6], head_revenue=[1e6])["total"].tolist() == pytest.approx([105000])


def test_growth_month_by_hand_with_a_fall_an_unknown_and_a_negative_base():
    s = scheme({"type": "growth_percent", "rate_pct": 5})
    p = pay(s, dept_revenue=[10e6, 7e6, 10e6, 10e6], revenue_year_ago=[8e6, 8e6, np.nan, -5e5])
    # 5 % of (10 − 8) mln = 100 000; a fall pays nothing; no year-ago figure: nothing;
    # a negative base (refunds) counts as 0: 5 % of 10 mln = 500 000
    assert p["total"].tolist() == pytest.approx([100000, 0, 0, 500000])
    capped = scheme({"type": "growth_percent", "rate_pct": 5, "cap": 200000})
    assert pay(capped, dept_revenue=[10e6], revenue_year_ago=[-5e5])["total"].tolist() == [200000.0]


def test_growth_quarter_is_paid_in_the_quarter_end_on_the_quarter_sum():
    s = scheme({"type": "growth_percent", "rate_pct": 5, "compare": "quarter"})
    p = pay(s, dept_revenue=[3e6, 3e6, 3e6, 4e6, 4e6, 4e6], revenue_year_ago=[2e6, 2e6, 2e6, 5e6, 5e6, 5e6],
            quarter=["Q1"] * 3 + ["Q2"] * 3, quarter_end=[False, False, True] * 2)
    # Q1: 9 − 6 = 3 mln, 5 % = 150 000 paid in its third month; Q2: 12 − 15 < 0: nothing
    assert p["total"].tolist() == pytest.approx([0, 0, 150000, 0, 0, 0])


def test_focus_units_minimum_and_cap():
    s = scheme({"type": "focus_units", "products": ["A", "B"], "per_unit": 4000, "min_units": 5, "cap": 30000})
    p = pay(s, **{"dept_revenue": [1e6] * 3, "units.A": [3, 2, 5], "units.B": [3, 2, 4], "units.C": [50, 50, 50]})
    # 6 units × 4 000 = 24 000; 4 units < 5: nothing; 9 × 4 000 = 36 000 capped at 30 000 (C is not a focus product)
    assert p["total"].tolist() == pytest.approx([24000, 0, 30000])


BASKET = {"type": "kpi_basket", "target_bonus": 100000, "kpis": [
    {"kpi": "department_revenue", "weight": 0.5, "threshold_pct": 80, "accelerator": 2, "cap_pct": 150},
    {"kpi": "overdue_receivables", "weight": 0.2, "target": 1_000_000, "threshold_pct": 50, "cap_pct": 120},
    {"kpi": "nps", "weight": 0.3, "target": 40, "threshold_pct": 75, "cap_pct": 120}]}


def test_kpi_basket_thresholds_accelerators_caps_by_hand():
    p = pay(scheme(BASKET), dept_revenue=[11e6, 7.5e6, 14e6], dept_plan=[10e6] * 3,
            overdue_receivables=[8e5, 2.5e6, 0.0], nps=[30, 50, np.nan])
    row_a = 100000 * (0.5 * (100 + 10 * 2) / 100   # revenue 110 %: 10 points above count twice -> 120 %
                      + 0.2 * 120 / 100              # overdue 1 mln / 0.8 mln = 125 %, capped at 120 %
                      + 0.3 * 75 / 100)              # NPS 30 / 40 = 75 %, just at the threshold
    row_b = 100000 * (0.0                            # revenue 75 % < 80: nothing
                      + 0.0                          # overdue 1 / 2.5 = 40 % < 50: nothing
                      + 0.3 * 120 / 100)             # NPS 50 / 40 = 125 %, capped at 120 %
    row_c = 100000 * (0.5 * 150 / 100                # 140 % -> 100 + 40 × 2 = 180, capped at 150
                      + 0.2 * 120 / 100              # nothing overdue: the cap
                      + 0.0)                         # NPS unknown: nothing
    assert p["total"].tolist() == pytest.approx([row_a, row_b, row_c])
    assert [row_a, row_b, row_c] == pytest.approx([106500, 36000, 99000])


def test_kpi_margin_and_plan_attainment_default_targets():
    s = scheme({"type": "kpi_basket", "target_bonus": 10000, "kpis": [
        {"kpi": "gross_margin", "weight": 0.5}, {"kpi": "plan_attainment", "weight": 0.5}]})
    # margin 3.3 mln against plan 10 mln × 30 % = 3 mln: 110 %; attainment 110 % against 100
    p = pay(s, dept_revenue=[11e6], dept_plan=[10e6], dept_margin=[3.3e6], dept_margin_plan=[3e6])
    assert p["total"].tolist() == pytest.approx([10000 * (0.5 * 1.1 + 0.5 * 1.1)])


def test_scheme_cap_on_variable_pay_and_sellers_commission_on_handed_deals():
    s = scheme({"type": "base", "amount": 50000}, {"type": "revenue_percent", "rate_pct": 2}, cap=150000,
               own_deals={"hand_to_seller": True, "seller_commission_pct": 3})
    p = pay(s, dept_revenue=[10e6, 5e6], head_revenue=[1e6, 0.0])
    # 2 % of 10 mln = 200 000 capped at 150 000, plus the base; 2 % of 5 mln = 100 000 under the cap
    assert p["total"].tolist() == pytest.approx([200000, 150000])
    # the seller earns 3 % of the head's 1 mln handed over: a cost to the owner, not the head's pay
    assert p["owner_extra_cost"].tolist() == pytest.approx([30000, 0])
    assert p["cost"].tolist() == pytest.approx([230000, 150000])


def test_pay_is_never_negative_and_missing_inputs_pay_nothing():
    s = scheme({"type": "revenue_percent", "rate_pct": 1}, {"type": "growth_percent", "rate_pct": 5})
    assert pay(s, dept_revenue=[-1e6])["total"].tolist() == [0.0]


# --------------------------------------------------------------------------- the schema and its errors


def test_every_scheme_file_loads_and_the_seeds_scheme_has_a_personal_plan():
    found = inc.load_schemes(SCHEMES_DIR)
    assert set(found) == {"personal_plus_department", "department_revenue", "growth_yoy", "focus_product", "kpi_basket"}
    assert [k for k, s in found.items() if s.has_personal_plan] == ["personal_plus_department"]
    assert list(inc.load_schemes(SCHEMES_DIR, ["kpi_basket", "growth_yoy"])) == ["kpi_basket", "growth_yoy"]
    with pytest.raises(ParameterError, match=r"no scheme 'kpi_baskets'.*Did you mean 'kpi_basket'"):
        inc.load_schemes(SCHEMES_DIR, ["kpi_baskets"])


def _write(tmp_path, data) -> str:
    p = tmp_path / "mine.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _good():
    return yaml.safe_load((SCHEMES_DIR / "kpi_basket.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["components"][1].update(type="bonus"), r"`components\[1\]\.type` is 'bonus'\..*Allowed values: 'base', 'plan_percent', 'revenue_percent'"),
    (lambda d: d["components"][0].update(amout=1), r"unknown key `components\[0\]\.amout`\. Did you mean 'amount'\? Allowed keys here: type, amount"),
    (lambda d: d["components"][1]["kpis"][0].update(weight=0.4), r"`components\[1\]`: the weights add up to 0\.9; make them add up to 1"),
    (lambda d: d["components"][1]["kpis"][3].pop("target"), r"`components\[1\]\.kpis\[3\]`: `target` is required for the KPI nps"),
    (lambda d: d["components"][1]["kpis"][0].update(kpi="revenue"), r"`components\[1\]\.kpis\[0\]\.kpi` is 'revenue'; allowed values: 'department_revenue'"),
    (lambda d: d["components"][1]["kpis"][0].update(threshold_pct=-5), r"`components\[1\]\.kpis\[0\]\.threshold_pct` is -5: it should be at least 0"),
    (lambda d: d.update(lable=d.pop("label")), r"unknown key `lable`\. Did you mean 'label'\?"),
    (lambda d: d.update(components=[]), r"`components` is \[\]"),
])
def test_a_wrong_value_names_the_file_and_the_key(tmp_path, edit, expected):
    data = _good()
    edit(data)
    path = _write(tmp_path, data)
    with pytest.raises(ParameterError, match=expected) as err:
        inc.load_scheme(path)
    assert "mine.yaml" in str(err.value) and isinstance(err.value, SalesauditError)
    assert "Traceback" not in str(err.value)


def test_personal_bonus_and_handing_deals_to_a_seller_exclude_each_other(tmp_path):
    data = yaml.safe_load((SCHEMES_DIR / "personal_plus_department.yaml").read_text(encoding="utf-8"))
    data["own_deals"]["hand_to_seller"] = True
    with pytest.raises(ParameterError, match=r"`own_deals\.hand_to_seller` is true.*drop `personal`"):
        inc.load_scheme(_write(tmp_path, data))


def test_assumptions_errors_name_the_key(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("focus:\n  fixed_hours: 200\n  coaching: {carryover: 1.5}\n", encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        inc.load_assumptions(p)
    msg = str(err.value)
    assert "a.yaml" in msg and "focus.coaching.carryover" in msg and "less than 1" in msg
    p.write_text("focus:\n  fixed_hours: 200\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"`focus`: `fixed_hours` \(200\) must be below `hours_per_month` \(168\)"):
        inc.load_assumptions(p)


def test_set_value_revalidates_and_keeps_the_weights_adding_up():
    s = inc.load_schemes(SCHEMES_DIR, ["kpi_basket"])["kpi_basket"]
    path = ("components", 1, "kpis", 0, "weight")
    new = inc.set_value(s, path, 0.7)
    # the other weights 0.2, 0.15, 0.15 (of 0.5) share the remaining 0.3: 0.12, 0.09, 0.09
    assert [k.weight for k in new.components[1].kpis] == pytest.approx([0.7, 0.12, 0.09, 0.09])
    assert [k.weight for k in s.components[1].kpis] == [0.5, 0.2, 0.15, 0.15]  # the original is untouched
    assert inc.get_value(new, ("components", 0, "amount")) == 70000
    with pytest.raises(ParameterError, match=r"components\[0\]\.amount"):
        inc.set_value(s, ("components", 0, "amount"), -1)
    tun = {t["path"]: t for t in inc.tunables(s)}
    assert tun[("components", 0, "amount")]["value"] == 70000 and tun[("cap",)]["kind"] == "money"
    assert tun[path]["kind"] == "weight" and ("components", 1, "kpis", 1, "accelerator") in tun


# --------------------------------------------------------------------------- history


DEALS = """deal_id,created_at,manager,amount,product,channel,stage,closed_at,outcome,discount_pct,payment_terms
D1,2026-01-05 10:00,m01,1000000,P,web,won,2026-01-10 12:00,won,0,prepaid
D2,2026-01-06 10:00,h01,200000,Q,web,won,2026-01-20 12:00,won,0,prepaid
D3,2026-01-07 10:00,m01,600000,P,web,won,2026-02-05 12:00,won,0,postpaid
D4,2026-02-01 10:00,m01,900000,P,web,won,2026-03-03 12:00,won,0,instalment_3m
D5,2026-01-08 10:00,m01,100000,P,web,won,2026-01-25 12:00,won,0,postpaid
D6,2026-01-09 10:00,m01,50000,P,web,lost,2026-01-30 12:00,lost,,
"""
PAYMENTS = """payment_id,deal_id,paid_at,amount
P1,D1,2026-01-12 11:00,1000000
P2,D2,2026-01-22 11:00,200000
P3,D3,2026-03-20 11:00,600000
P4,D4,2026-03-10 11:00,300000
"""
PLANS = """period,manager,metric,target
2026-01,,revenue,1000000
2026-02,,revenue,1000000
2026-03,m01,revenue,800000
"""
MANAGERS = """manager,name,role
h01,Head,head_of_sales
m01,Seller,manager
"""


@pytest.fixture
def tiny(client):
    return load(client({"deals.csv": DEALS, "payments.csv": PAYMENTS, "plans.csv": PLANS, "managers.csv": MANAGERS},
                       as_of="2026-03-31 23:59:59", period="2026-03"))


def test_monthly_inputs_by_hand(tiny):
    a = inc.Assumptions(warmup_months=0, margin_pct=30, nps=40)
    x = inc.monthly_inputs(tiny, a).set_index("month")
    assert list(x.index) == ["2026-01", "2026-02", "2026-03"]
    assert x["dept_revenue"].tolist() == [1_200_000, 0, 900_000]        # payments: P1+P2; none; P3+P4
    assert x["head_revenue"].tolist() == [200_000, 0, 0]                # the head's D2
    assert x["dept_plan"].tolist() == [1_000_000, 1_000_000, 800_000]   # March: no team row, the managers' sum
    assert x["dept_margin"].tolist() == pytest.approx([360_000, 0, 270_000])
    assert x["units.P"].tolist() == [2, 1, 1] and x["units.Q"].tolist() == [1, 0, 0]  # won deals by closed_at
    # D5 (postpaid, won 25.01) fell due 24.02 and was never paid; D3 fell due 07.03, paid 20.03
    assert x["overdue_receivables"].tolist() == [0, 100_000, 100_000]
    # collected on deals won before the month: March's P3 for D3 (won in February); P4's D4 was won in March
    assert x["receivables_collected"].tolist() == [0, 0, 600_000]
    assert x["nps"].tolist() == [40] * 3 and x["revenue_year_ago"].isna().all()
    assert x.attrs["revenue_basis"] == "received" and x.attrs["head"] == "h01" and x.attrs["has_plans"]
    won = inc.monthly_inputs(tiny, a.model_copy(update={"revenue": "won"}))
    assert won["dept_revenue"].tolist() == [1_300_000, 600_000, 900_000]  # D1+D2+D5; D3; D4


def test_history_and_its_summary_by_hand(tiny):
    a = inc.Assumptions(warmup_months=0, margin_pct=30)
    x = inc.monthly_inputs(tiny, a)
    s = {"r": scheme({"type": "base", "amount": 10000}, {"type": "revenue_percent", "rate_pct": 2})}
    h = inc.history(s, x)
    # 10 000 + 2 % of 1.2 mln; of 0; of 0.9 mln
    assert h["total"].tolist() == pytest.approx([34000, 10000, 28000])
    hs = inc.history_summary(h).iloc[0]
    assert hs["mean_pay"] == pytest.approx(24000)
    assert hs["sd_pay"] == pytest.approx(np.std([34000, 10000, 28000], ddof=1))
    assert hs["cv_pct"] == pytest.approx(100 * np.std([34000, 10000, 28000], ddof=1) / 24000)
    assert hs["cost_pct_revenue"] == pytest.approx(100 * 72000 / 2_100_000)
    assert hs["cost_pct_margin"] == pytest.approx(100 * 72000 / (0.3 * 2_100_000))
    assert h["attainment_pct"].tolist() == pytest.approx([120, 0, 112.5])


@pytest.fixture(scope="module")
def demo():
    ds = load(DEMO)
    a = inc.load_assumptions(ASSUMPTIONS)
    return ds, a, inc.monthly_inputs(ds, a), inc.load_schemes(SCHEMES_DIR)


def test_demo_inputs_against_pandas(demo):
    ds, a, x, _ = demo
    p = ds.tables["payments"].merge(ds.tables["deals"][["deal_id", "manager"]], on="deal_id")
    month = p["paid_at"].dt.strftime("%Y-%m")
    assert x["month"].iloc[0] == "2025-09" and x["month"].iloc[-1] == "2026-10"  # August is the warm-up month
    by = p.groupby(month)["amount"].sum()
    assert x["dept_revenue"].tolist() == pytest.approx(by.loc[x["month"]].tolist())
    head = p[p["manager"] == "h01"].groupby(month[p["manager"] == "h01"])["amount"].sum()
    assert x["head_revenue"].tolist() == pytest.approx(head.reindex(x["month"]).fillna(0).tolist())
    plans = ds.tables["plans"]
    team_plan = plans.loc[(plans["period"] == "2026-10") & plans["manager"].isna() & (plans["metric"] == "revenue"), "target"].item()
    assert x.set_index("month").loc["2026-10", "dept_plan"] == team_plan == 20_100_000
    # year-ago figures exist only where that month is in the history too
    assert x.set_index("month").loc["2026-10", "revenue_year_ago"] == pytest.approx(by["2025-10"])
    assert math.isnan(x.set_index("month").loc["2026-08", "revenue_year_ago"])


# --------------------------------------------------------------------------- Monte Carlo


def test_monte_carlo_is_seeded(demo):
    _, a, x, S = demo
    one = inc.monte_carlo(S, inc.simulate_inputs(x, a, seed=7, n_sims=400))
    two = inc.monte_carlo(S, inc.simulate_inputs(x, a, seed=7, n_sims=400))
    other = inc.monte_carlo(S, inc.simulate_inputs(x, a, seed=8, n_sims=400))
    pd.testing.assert_frame_equal(one.summary, two.summary)
    assert not one.summary["p50"].equals(other.summary["p50"])
    s = one.summary.set_index("scheme")
    assert (s["p10"] <= s["p50"]).all() and (s["p50"] <= s["p90"]).all()
    assert (s["reserve"] == s["p90"] - s["p50"]).all()


def test_monte_carlo_fit_is_the_history_lognormal(demo):
    _, a, x, _ = demo
    fit = inc.montecarlo.fit_history(x)
    logs = np.log(x["dept_revenue"] / x["dept_plan"])
    assert fit["log_mean"] == pytest.approx(logs.mean()) and fit["log_sd"] == pytest.approx(logs.std(ddof=1))
    sims = inc.simulate_inputs(x, a, seed=1, n_sims=3000)
    # the draws follow the fit: log attainment mean within 3 standard errors
    drawn = np.log(sims["dept_revenue"] / sims["dept_plan"])
    assert abs(drawn.mean() - fit["log_mean"]) < 3 * fit["log_sd"] / math.sqrt(len(drawn))
    assert sims.attrs["source"] == "history" and sims["path"].nunique() == 3000 and sims["month"].nunique() == 12


def test_outcomes_from_the_capacity_simulation_as_an_array(demo):
    _, a, x, S = demo
    s = {"department_revenue": S["department_revenue"]}
    sims = inc.simulate_inputs(x, a, seed=1, outcomes=np.full((5, 12), 10e6))
    mc = inc.monte_carlo(s, sims)
    # every month 10 mln: 70 000 + 1.2 % × 10 mln = 190 000 a month, 2 280 000 a year, no spread
    row = mc.summary.iloc[0]
    assert (row["p10"], row["p50"], row["p90"], row["reserve"]) == pytest.approx((2_280_000, 2_280_000, 2_280_000, 0))
    assert mc.source == "simulation" and mc.n_sims == 5


def test_outcomes_as_a_frame_keep_the_columns_given_and_derive_the_rest(demo):
    _, a, x, S = demo
    out = pd.DataFrame({"path": np.repeat([0, 1], 12), "month": np.tile(np.arange(12), 2), "dept_revenue": 9e6, "nps": 20.0})
    sims = inc.simulate_inputs(x, a, seed=1, outcomes=out)
    assert (sims["nps"] == 20.0).all()                                   # given: used as it is
    assert sims["dept_margin"].tolist() == pytest.approx([9e6 * 0.35] * 24)  # derived: the assumed margin
    with pytest.raises(ValueError, match="missing: dept_revenue"):
        inc.simulate_inputs(x, a, seed=1, outcomes=out.drop(columns="dept_revenue"))
    with pytest.raises(ValueError, match="2-D array"):
        inc.simulate_inputs(x, a, seed=1, outcomes=np.ones(12))


def test_cost_at_the_average_month_is_not_the_average_cost(demo):
    _, a, x, _ = demo
    cliff = {"cliff": scheme({"type": "plan_percent", "department": {"bonus_at_plan": 100000, "threshold_pct": 100, "cap_pct": 100}})}
    plan = inc.simulate_inputs(x, a, seed=1, n_sims=1)["dept_plan"].to_numpy()
    # one year every month at 90 % of plan, one at 110 %; the average month is at 100 %
    sims = inc.simulate_inputs(x, a, seed=1, outcomes=np.vstack([0.9 * plan, 1.1 * plan]))
    row = inc.monte_carlo(cliff, sims).summary.iloc[0]
    assert row["cost_at_mean_outcome"] == pytest.approx(12 * 100000)  # 100 % every month: the full bonus
    assert row["mean"] == pytest.approx((0 + 12 * 100000) / 2)         # 90 % pays nothing, 110 % pays the capped bonus
    assert row["jensen_gap"] == pytest.approx(-600000)


def test_payout_curve_of_a_linear_scheme(demo):
    _, _, x, S = demo
    c = inc.payout_curves({"d": S["department_revenue"]}, x, grid=[0, 50, 100])
    plan = x["dept_plan"].iloc[-1]
    # 70 000 + 1.2 % of (attainment × the latest plan), capped at 250 000
    assert c["pay"].tolist() == pytest.approx([70000, 70000 + 0.012 * 0.5 * plan, 70000 + 0.012 * plan])


# --------------------------------------------------------------------------- focus


def test_focus_reproduces_the_seeds_claim_under_default_assumptions(demo):
    _, a, x, S = demo
    res = inc.focus(S, a, inc.focus_context(x, a))
    tb = res.table.set_index("scheme")
    seeds = tb.loc["personal_plus_department"]
    for other in ("department_revenue", "kpi_basket"):
        assert seeds["selling_hours"] > tb.loc[other, "selling_hours"]   # the head sells more
        assert seeds["dept_revenue"] < tb.loc[other, "dept_revenue"]     # and the department loses over 12 months
        assert seeds["owner_profit"] < tb.loc[other, "owner_profit"]
    claim = inc.seeds_claim(res, "personal_plus_department", ["department_revenue", "kpi_basket"])
    assert claim["holds"]
    # in the first two months the seeds' scheme even sells more (the seeds: "a boost for a month or two")
    assert claim["against"]["department_revenue"]["early_gain"] > 0
    from salesaudit.report.incentives import explanation

    text = explanation(res, S, "en")
    assert "reproduces the seeds' claim" in text and "Personal plan + department plan" in text


def test_focus_months_follow_the_coaching_effect():
    a = inc.Assumptions(focus={"team_revenue": 1e6, "department_plan": 1e6, "split_step": 0.5, "months": 4,
                               "coaching": {"max_lift": 0.2, "half_hours": 20, "lag": 1, "carryover": 0.5}, "initial_coaching_hours": 20})
    ctx = inc.focus_context(None, a)
    from salesaudit.incentives.focus import focus_inputs

    df = focus_inputs(a, ctx)
    eff = CoachingEffect(max_lift=0.2, half_hours=20, lag=1, carryover=0.5)
    team0 = 1e6 / eff.steady_multiplier(20)  # 1 mln is the team's revenue at 20 coaching hours
    half = df[df["share"] == 0.5]
    # 120 flexible hours, half on the team: 60 coaching hours a month
    assert half["team_revenue"].tolist() == pytest.approx((team0 * eff.multiplier([60] * 4, initial=20)).tolist())
    assert half["head_revenue"].tolist() == pytest.approx([60 * 10000] * 4)
    none = df[df["share"] == 0.0]
    assert none["head_revenue"].tolist() == [0.0] * 4


def test_without_a_coaching_effect_a_revenue_share_head_sells_all_the_time():
    a = inc.Assumptions(focus={"team_revenue": 8e6, "coaching": {"max_lift": 0.0}})
    s = {"d": scheme({"type": "revenue_percent", "rate_pct": 1})}
    res = inc.focus(s, a, inc.focus_context(None, a))
    assert res.table["selling_share"].item() == 1.0 and res.table["owner_best_share"].item() == 1.0


def test_focus_needs_a_team_revenue_without_data():
    with pytest.raises(ValueError, match="focus.team_revenue"):
        inc.focus_context(None, inc.Assumptions())


# --------------------------------------------------------------------------- gaming


def test_gaming_by_hand_threshold_against_linear():
    x = inc.complete_inputs(pd.DataFrame({"month": ["m0", "m1"], "dept_revenue": [9.5e6, 12e6], "dept_plan": [10e6, 10e6],
                                          "dept_margin": [9.5e6 * 0.3, 12e6 * 0.3]}))
    a = inc.Assumptions(margin_pct=30, gaming={"shift_amount": 1e6, "discount_pct": 10})
    s = {"cliff": scheme({"type": "plan_percent", "department": {"bonus_at_plan": 100000, "threshold_pct": 100, "cap_pct": 150}}),
         "linear": scheme({"type": "revenue_percent", "rate_pct": 1})}
    g = inc.gaming(s, x, a).set_index("scheme")
    # baseline: 95 % pays nothing, 120 % pays 120 000
    # pull-in: 10.5 mln (105 % -> 105 000) + 11 mln (110 % -> 110 000) = 215 000: +95 000
    assert g.loc["cliff", "pull_in_max"] == pytest.approx(95000)
    # push-out: 8.5 mln (nothing) + 13 mln (130 % -> 130 000): +10 000
    assert g.loc["cliff", "push_out_max"] == pytest.approx(10000)
    # discount: 10.4 mln (104 000) + 11 mln (110 000) = 214 000: +94 000; the owner loses 100 000 + 94 000
    assert g.loc["cliff", "discount_max"] == pytest.approx(94000)
    assert g.loc["cliff", "owner_loss_discount_mean"] == pytest.approx(194000)
    # a linear scheme pays nothing for a move, and 1 % of the 100 000 discount less for discounting
    assert g.loc["linear", "pull_in_max"] == pytest.approx(0, abs=1e-6) and g.loc["linear", "push_out_max"] == pytest.approx(0, abs=1e-6)
    assert g.loc["linear", "discount_max"] == pytest.approx(-1000)
    assert g.attrs["shift_amount"] == 1e6


def test_summary_records(demo):
    _, a, x, S = demo
    hs = inc.history_summary(inc.history(S, x))
    out = inc.summary(hs)
    assert out["incentives_history_months"] == 14 and set(out["incentives_history_cost_pct_revenue"]) == set(S)


# --------------------------------------------------------------------------- notebook 05: result and page


@pytest.fixture(scope="module")
def demo_result(demo):
    ds = demo[0]
    return inc.analyse(ds, ds.config.analysis.settings("incentives"), schemes_dir=SCHEMES_DIR, assumptions_path=ASSUMPTIONS)


def test_incentives_result_is_language_free_and_matches_the_data(demo, demo_result):
    ds, a, x, S = demo
    r = demo_result
    assert r.ok and r.has_plans and r.revenue_basis == "received" and r.assumptions_file == "assumptions.yaml"
    assert list(r.schemes) == list(inc.load_schemes(SCHEMES_DIR, ds.config.analysis.incentives.schemes))
    # the head's share of the revenue, from the payments by hand
    p = ds.tables["payments"].merge(ds.tables["deals"][["deal_id", "manager"]], on="deal_id")
    p = p[p["paid_at"].dt.strftime("%Y-%m").isin(x["month"])]
    assert r.head == "h01" and r.head_name == ds.manager_names()["h01"]
    assert r.head_share == pytest.approx(p.loc[p["manager"] == "h01", "amount"].sum() / p["amount"].sum())
    assert (r.first_month, r.last_month) == ("2025-09", "2026-10")
    # the history: each scheme's cost over the history divided by the department's revenue
    hs = r.history_summary_.set_index("scheme")
    assert set(hs.index) == set(S) and (hs["months"] == 14).all()
    for k in S:
        assert hs.loc[k, "total_cost"] == pytest.approx(inc.payout(S[k], x)["cost"].sum())
        assert hs.loc[k, "cost_pct_revenue"] == pytest.approx(100 * hs.loc[k, "total_cost"] / x["dept_revenue"].sum())
    assert r.attainment_.tolist() == pytest.approx((x["dept_revenue"] / x["dept_plan"] * 100).dropna().tolist())
    mc = r.monte_carlo.summary
    assert r.jensen_scheme == mc.loc[mc["jensen_gap"].abs().idxmax(), "scheme"]
    assert r.claim["holds"] is True and r.focus_ is not None
    # the department-revenue scheme is 1.2 % of each month's revenue capped at 250 000: moving a deal pays only where the cap
    # binds (above 20.8 M a month). October 2026's 22.5 M is above it (the month pays the cap), and so are October 2025's 23.7 M,
    # January's 21.4 M and June's 21.9 M, still above it with a moved deal taken out, each after a month under the cap: pulling
    # a deal out of any of them into the month before pays the full 1.2 % of it. The best pull-in, by that formula over the month ends:
    pay = lambda rev: np.minimum(0.012 * rev, 250_000)  # noqa: E731
    rev, a = x["dept_revenue"].to_numpy(float), r.gaming_.attrs["shift_amount"]
    assert x["month"].iloc[-1] == "2026-10" and pay(rev[-1]) == 250_000
    gains = [pay(rev[i] + a) - pay(rev[i]) + pay(rev[i + 1] - a) - pay(rev[i + 1]) for i in range(len(rev) - 1)]
    best = max(gains)
    assert best == pytest.approx(0.012 * a) and [x["month"].iloc[i + 1] for i, g in enumerate(gains) if g == pytest.approx(best)] == [
        "2025-10", "2026-01", "2026-06", "2026-10"]
    assert r.gaming_.loc[r.gaming_["scheme"] == "department_revenue", "pull_in_max"].iloc[0] == pytest.approx(best)
    # the key figures are read off the result
    k = r.key_figures()
    assert k["incentives_history_months"] == 14 and k["incentives_seeds_claim_holds"] is True
    assert k["incentives_history_cost_pct_revenue"] == {s: round(v, 2) for s, v in hs["cost_pct_revenue"].items()}
    assert k == inc.summary(r.history_summary_, r.monte_carlo, r.focus_, r.gaming_, r.claim)
    # nothing in the result is in a language
    assert all(c == c.lower() or c.startswith("units.") for c in r.inputs_.columns)  # units.<product>: the data's product names
    for frame in (r.history_, r.history_summary_, mc, r.curves_, r.focus_.table, r.gaming_):
        assert all(c == c.lower() and " " not in c for c in frame.columns)
    assert set(r.history_["scheme"]) == set(S)


def test_incentives_page_in_both_languages(demo_result):
    from salesaudit.report import incentives as report

    r = demo_result
    en, ru = report.page(r, "en"), report.page(r, "ru", live=True)
    assert en.texts()[0] == "How to pay the head of sales: ООО «Демо» (synthetic demo)" and ru.texts()[0].startswith("Как платить руководителю")
    assert round(100 * r.head_share) == 5  # the head's share of the revenue received (5.1 %), checked against the payments above
    # the answer first: which scheme wins, by the owner's profit over the focus model's 12 months
    assert en.texts()[1] == "The answer" and ru.texts()[1] == "Ответ"
    assert en.texts()[2].startswith("Over the next 12 months the owner's profit is highest under “KPI basket”: RUB\u00a079,")
    assert ru.texts()[2].startswith("За следующие 12 мес. больше всего прибыли собственнику приносит схема «Корзина KPI»: 79\u00a0")
    answer = ru.tables()[0]
    assert list(answer.columns) == ["Схема", "Стоимость РОПа за год, P50", "Стоимость РОПа за год, P90", "Выручка отдела (поступления) за 12 мес.",
                                    "Прибыль собственника за 12 мес."]
    best = r.focus_.table.set_index("scheme")["owner_profit"].idxmax()
    assert answer.iloc[0, 0] == r.schemes[best].name("ru") and answer.iloc[0, 4].endswith("\u00a0₽")
    assert "their own deals brought 5% of the department's revenue" in en.texts()[5]
    assert "LTV 1,500,000" in en.texts()[4] and "LTV 1\u00a0500\u00a0000" in ru.texts()[4]
    assert "“Personal plan + department plan”" in en.texts()[7] and "«Личный план + план отдела»" in ru.texts()[7]
    assert en.tables()[1].columns[0] == "Scheme" and ru.tables()[1].columns[0] == "Схема"
    assert en.tables()[1].shape[0] == len(r.schemes) and len(en.tables()) == len(ru.tables()) == 6
    # no file names or class names on the page
    for text in en.texts() + ru.texts():
        assert ".yaml" not in text and "params/" not in text and "salesaudit." not in text and "make app" not in text
    # the last section: a sentence in a batch run, the note above the controls when they follow
    assert en.texts()[-1].startswith("In the owner's app") and not ru.texts()[-1].startswith("В приложении собственника")


def test_controls_follow_the_page_only_with_data_and_a_person(demo_result, monkeypatch):
    from dataclasses import replace

    from salesaudit.incentives import widgets as iw

    for var in ("VOILA_BASE_URL", "VOILA_SERVER_URL", "SERVER_SOFTWARE", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    assert iw.live(demo_result) is False and iw.live(demo_result, True) is True
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    assert iw.live(demo_result) is True and iw.live(demo_result, False) is False
    assert iw.live(replace(demo_result, ok=False), True) is False  # no controls without the history
