"""The discount and payment policy check (#13): a breaker is significantly above the tolerance *and* by a size that matters.

A small export read through the real loader: a manager with many deals slightly above the
tolerated share of exceptions, one well above it with few deals, one within it, deals without a
manager and the head of sales' deals (rows of their own, not judged).
"""
from __future__ import annotations

import pytest
from scipy.stats import binom

from salesaudit import load
from salesaudit.analysis import hygiene as hy
from salesaudit.data.params import HygieneSettings
from salesaudit.stats import holm, wilson

COLUMNS = "deal_id,created_at,manager,amount,product,channel,stage,closed_at,outcome,discount_pct,payment_terms\n"
MANAGERS = "manager,name,role\nmany,Многодельный,manager\nwell,Скидочный,manager\nok,Аккуратный,manager\nboss,Главный,head_of_sales\n"


def _deals(manager: str, n: int, over_limit: int) -> list[str]:
    """``n`` won deals with terms; the first ``over_limit`` of them with a 15 % discount (the policy allows 10 %)."""
    return [f"{manager or 'x'}-{i},2026-10-01 10:00,{manager},100000,P,web,won,2026-10-05 12:00,won,{15 if i < over_limit else 5},prepaid"
            for i in range(n)]


def _export() -> dict:
    rows = _deals("many", 2000, 160) + _deals("well", 40, 12) + _deals("ok", 100, 2) + _deals("", 50, 25) + _deals("boss", 30, 15)
    return {"deals.csv": COLUMNS + "\n".join(rows) + "\n", "managers.csv": MANAGERS}


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    import yaml
    from conftest import DEMO_FUNNEL

    root = tmp_path_factory.mktemp("policy")
    (root / "data").mkdir()
    for name, text in _export().items():
        (root / "data" / name).write_text(text, encoding="utf-8")
    cfg = {"data": "data", "preset": "generic", "funnel": str(DEMO_FUNNEL), "as_of": "2026-10-31 23:59:59",
           "discounts": {"max_discount_pct": 10, "allowed_payment_terms": ["prepaid", "postpaid"]}}
    (root / "client.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return load(root / "client.yaml")


def test_slightly_above_on_many_deals_is_small_well_above_is_a_breaker(ds):
    pm = hy.policy_by_manager(ds, tolerance=0.05, min_deals=10, alpha=0.05, min_effect=0.05).set_index("manager")
    # many: 160 of 2000 = 8 %, 3 p.p. over the tolerated 5 %: far beyond sampling doubt, yet below the 5 p.p. that matter
    many = pm.loc["many"]
    assert (many["deals_with_terms"], many["deals_with_violation"], many["violation_rate"]) == (2000, 160, 0.08)
    assert many["excess"] == pytest.approx(0.03)
    lo, hi = wilson(160, 2000)
    assert (many["violation_rate_low"], many["violation_rate_high"]) == pytest.approx((lo, hi))
    assert (many["excess_low"], many["excess_high"]) == pytest.approx((lo - 0.05, hi - 0.05)) and many["excess_low"] > 0
    # the one-sided exact binomial test against 5 %, Holm over the three team managers (the head and "no manager" are not tested)
    p = {m: binom.sf(k - 1, n, 0.05) for m, k, n in (("many", 160, 2000), ("well", 12, 40), ("ok", 2, 100))}
    adjusted = dict(zip(p, holm(list(p.values()))))
    assert many["p_value"] == pytest.approx(p["many"]) and many["p_adjusted"] == pytest.approx(adjusted["many"]) and adjusted["many"] < 1e-4
    assert many["verdict"] == "small" and not many["breaker"]
    # well: 12 of 40 = 30 %, 25 p.p. over: a breaker
    well = pm.loc["well"]
    assert (well["violation_rate"], well["excess"]) == pytest.approx((0.3, 0.25)) and well["p_adjusted"] == pytest.approx(adjusted["well"])
    assert well["verdict"] == "worse" and well["breaker"]
    # ok: 2 of 100, within the tolerance
    assert pm.loc["ok", "verdict"] == "same" and not pm.loc["ok", "breaker"]
    # breakers first
    assert hy.policy_by_manager(ds)["manager"].iloc[0] == "well"


def test_the_size_rule_is_what_spares_the_small_excess(ds):
    pm = hy.policy_by_manager(ds, min_effect=0.02).set_index("manager")
    assert pm.loc["many", "verdict"] == "worse" and pm.loc["many", "breaker"]


def test_deals_outside_the_team_are_shown_not_judged(ds):
    pm = hy.policy_by_manager(ds).set_index("manager")
    # "—": deals without a manager (25 of 50 over the limit); boss: the head of sales (15 of 30); both half outside the policy
    for m, group, k, n in (("—", "no_manager", 25, 50), ("boss", "head_of_sales", 15, 30)):
        row = pm.loc[m]
        assert (row["owner_group"], row["deals_with_violation"], row["deals_with_terms"], row["violation_rate"]) == (group, k, n, 0.5)
        assert row["verdict"] == "excluded" and not row["judgeable"] and not row["breaker"] and row["p_value"] != row["p_value"]
    assert set(pm.index[pm["owner_group"] == "manager"]) == {"many", "well", "ok"}


def test_the_key_figure_and_the_settings(ds):
    r = hy.analyse(ds, HygieneSettings())
    k = r.key_figures()
    assert k["hygiene_policy_breakers"] == ["well"]
    assert k["hygiene_policy_violations"] == 160 + 12 + 2 + 25 + 15
    assert k["hygiene_policy_violations_by_manager"] == {"boss": 15, "many": 160, "ok": 2, "well": 12, "—": 25}
    assert (r.policy_tolerance, r.policy_min_effect, r.policy_min_deals) == (0.05, 0.05, 10)
    lax = hy.analyse(ds, ds.config.analysis.settings("hygiene", policy_min_effect=0.02))
    assert lax.key_figures()["hygiene_policy_breakers"] == ["many", "well"] and lax.policy_min_effect == 0.02
    assert hy.summary(ds, min_effect=0.02)["hygiene_policy_breakers"] == ["many", "well"]


def test_more_than_five_over_the_deal_limit_is_a_table_not_a_sentence(client):
    from salesaudit.report import hygiene as report

    # seven sellers with 2 + i open deals against a limit of 1, one within it
    rows = [f"{m}-{i},2026-10-01 10:00,{m},100000,P,web,new,,open,,"
            for j, m in enumerate([f"s{k}" for k in range(7)]) for i in range(2 + j)] + ["ok-0,2026-10-01 10:00,ok,100000,P,web,new,,open,,"]
    ds = load(client({"deals.csv": COLUMNS + "\n".join(rows) + "\n"}, deal_load={"limit": 1}))
    en = report.page(hy.analyse(ds), "en")
    assert "7 sellers are over the open-deal limit: the first rows of the table, the furthest over on top." in en.texts()
    assert not any(x.startswith("Over the limit:") for x in en.texts())
    load_table = en.tables()[-1]
    assert load_table["Manager"].tolist()[:7] == [f"s{k}" for k in range(6, -1, -1)] and load_table["Manager"].iloc[-1] == "ok"
    assert load_table["Excess"].tolist() == [7, 6, 5, 4, 3, 2, 1, 0]


def test_shares_in_the_hygiene_tables_have_the_decimals_their_bounds_need(ds):
    import pandas as pd

    from salesaudit.report import hygiene as report

    shown = report.display(pd.DataFrame({"manager": ["a", "b"], "share_empty": [0.5, 0.98015], "share_empty_low": [0.3, 0.98011],
                                         "share_empty_high": [0.7, 0.98019]}), "en")
    assert shown["Share, %"].tolist() == ["50.0 (30.0–70.0)", "98.015 (98.011–98.019)"]
