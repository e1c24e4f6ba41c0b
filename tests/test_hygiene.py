"""CRM hygiene (salesaudit.analysis.hygiene): by hand and on the demo against the planted truth."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import REPO
from test_planfact import FILES

from salesaudit import load
from salesaudit.analysis import hygiene as hy

TRUTH = json.loads((REPO / "data_samples" / "demo_generic" / "ANOMALIES.json").read_text(encoding="utf-8"))


@pytest.fixture
def tiny(client):
    return load(client(FILES, period="2026-10", deal_load={"limit": 1},
                       discounts={"max_discount_pct": 10, "allowed_payment_terms": ["prepaid", "postpaid", "instalment_3m"], "instalment_min_amount": 300000}))


def test_tasks_by_hand(tiny):
    tk = hy.tasks(tiny).set_index("manager")
    assert tk.loc["m01", ["tasks", "due", "overdue", "done", "done_late"]].tolist() == [1, 1, 0, 1, 1]
    assert tk.loc["m02", ["tasks", "due", "overdue", "done", "done_late"]].tolist() == [2, 2, 1, 1, 0]
    assert tk.loc["m02", "overdue_rate"] == 0.5 and tk.loc["m01", "late_rate"] == 1.0
    assert tk.loc["", "overdue"] == 1 and 0 < tk.loc["m02", "overdue_rate_low"] < 0.5 < tk.loc["m02", "overdue_rate_high"] < 1


def test_cards_next_task_load_and_policy_by_hand(tiny):
    ef = hy.empty_fields(tiny).set_index("manager")
    assert ef.loc["m02", "with_empty"] == 1 and ef.loc["m02", "empty_product"] == 1 and ef.loc["m01", "with_empty"] == 0
    nn = hy.no_next_task(tiny).set_index("manager")
    assert nn.loc["m02", ["open_deals", "no_open_task", "only_overdue", "without_next_task"]].tolist() == [2, 2, 0, 2]
    dl = hy.deal_load(tiny).set_index("manager")
    assert dl.loc["m02", "open_deals"] == 2 and bool(dl.loc["m02", "over"]) and dl.loc["m02", "excess"] == 1
    assert not dl.loc["m01", "over"]
    v = hy.policy(tiny).set_index("deal_id")
    assert set(v.index) == {"D1", "D2", "D3"}
    assert v.loc["D1", "discount_over_limit"] and v.loc["D2", "terms_not_allowed"] and v.loc["D3", "instalment_below_min"]
    pm = hy.policy_by_manager(tiny).set_index("manager")
    assert pm.loc["m01", "deals_with_violation"] == 2 and pm.loc["m01", "deal_ids"] == "D1, D2"


def test_demo_overdue_tasks_match_the_manifest(demo):
    tk = hy.tasks(demo).set_index("manager")
    expected = TRUTH["background"]["overdue_open_tasks_by_manager"]
    assert {m: int(tk.loc[m, "overdue"]) for m in expected} == expected
    a = demo.tables["activities"]
    t = a[a["type"] == "task"]
    late = t["done_at"].notna() & (t["done_at"] > t["due_at"])
    assert tk.loc["", "done_late"] == late.sum()


def test_demo_deal_load_flags_only_m02(demo):
    dl = hy.deal_load(demo)
    assert dl.loc[dl["over"], "manager"].tolist() == ["m02"]
    assert dict(zip(dl["manager"], dl["open_deals"])) == TRUTH["open_deals_by_manager"]  # the robot (a system owner) has no row
    assert dl.set_index("manager").at["m_desk", "limit"] == 60  # the desk's own limit: its 28 open deals are not over it
    assert TRUTH["open_deals_by_manager"]["m_desk"] == 28


def test_demo_policy_matches_the_manifest(demo):
    pm = hy.policy_by_manager(demo).set_index("manager")
    for m, e in TRUTH["discount_violator"]["violations_by_manager"].items():
        got = pm.loc[m] if m in pm.index else None
        assert got is not None
        assert (got["discount_over_limit"], got["instalment_below_min"], got["deals_with_violation"], got["deals_with_terms"]) == (
            e["discount_over_limit"], e["instalment_below_min"], e["deals_with_violation"], e["deals_with_terms"]), m
    assert pm["terms_not_allowed"].sum() == 0
    d = demo.tables["deals"]
    m07 = d[(d["manager"] == "m07") & ((d["discount_pct"] > 10) | (d["payment_terms"].str.startswith("instalment") & (d["amount"] <= 300000)))]
    assert set(pm.loc["m07", "deal_ids"].split(", ")) == set(m07["deal_id"].astype(str))


def test_demo_empty_fields_and_next_task(demo):
    d = demo.tables["deals"]
    ef = hy.empty_fields(demo)
    assert ef.loc[ef["manager"] == "", "with_empty"].item() == d[["manager", "amount", "product", "channel"]].isna().any(axis=1).sum()
    nn = hy.no_next_task(demo).set_index("manager")
    assert nn.loc["", "open_deals"] == (d["outcome"] == "open").sum() == TRUTH["background"]["deal_outcome_counts"]["open"]
    # the demo holds no task due after as_of, so no open deal has a next step
    assert nn.loc["", "without_next_task"] == TRUTH["background"]["deal_outcome_counts"]["open"]
    # the web form's deals (no manager, the robot) have no amount and no product: every one of them, nothing else
    groups = TRUTH["owner_groups"]
    assert ef.loc[ef["manager"] == "", "with_empty"].item() == groups["no_manager"]["deals"] + groups["system"]["deals"] == 316


def test_call_sample_is_stratified_and_reproducible(demo):
    a = hy.call_sample(demo)
    b = hy.call_sample(demo)
    pd.testing.assert_frame_equal(a, b)
    c = hy.call_sample(demo, seed=demo.config.seed + 1)
    assert not a["activity_id"].equals(c["activity_id"])
    assert a.groupby(["manager", "length", "outcome"]).size().max() == 1
    assert set(a["length"]) == {"long", "short"} and set(a["outcome"]) == {"won", "lost"}
    # four calls for each of the 13 sellers and the head, who all have won and lost deals with calls (the robot has no calls)
    assert len(a) == (len(TRUTH["roster"]["team"]) + 1) * 4 == 56
    calls = demo.tables["activities"].set_index("activity_id")
    assert (calls.loc[a["activity_id"], "type"] == "call").all()
    two = hy.call_sample(demo, per_stratum=2)
    assert two.groupby(["manager", "length", "outcome"]).size().max() == 2


def test_summary(demo):
    from salesaudit.report.i18n import LABELS

    s = hy.summary(demo)
    assert s["hygiene_over_deal_limit"] == ["m02"]
    assert s["hygiene_policy_violations_by_manager"] == {m: v["deals_with_violation"] for m, v in TRUTH["discount_violator"]["violations_by_manager"].items()
                                                         if v["deals_with_violation"]}
    assert s["hygiene_overdue_tasks"] == sum(TRUTH["background"]["overdue_open_tasks_by_manager"].values())
    for key in s:
        assert f"record.{key}" in LABELS
    from salesaudit.report import hygiene as report

    shown = report.display(hy.tasks(demo), "en", demo.manager_names())
    assert "Overdue, %" in shown.columns


def test_hygiene_result_is_language_free_and_matches_the_data(demo):
    r = hy.analyse(demo)
    d, a, T = demo.tables["deals"], demo.tables["activities"], demo.as_of
    assert r.has_activities and r.as_of == T and r.required_deal_fields == ("manager", "amount", "product", "channel")
    tk = a[a["type"] == "task"]
    overdue = tk["due_at"].notna() & (tk["due_at"] < T) & tk["done_at"].isna()
    team = r.tasks_.set_index("manager").loc[""]
    assert team["overdue"] == overdue.sum() == sum(TRUTH["background"]["overdue_open_tasks_by_manager"].values())
    assert team["overdue_rate"] == pytest.approx(overdue.sum() / (tk["due_at"].notna() & (tk["due_at"] < T)).sum())
    assert r.empty_fields_.set_index("manager").loc["", "with_empty"] == d[list(r.required_deal_fields)].isna().any(axis=1).sum() == 316
    opened = d[d["outcome"] == "open"]
    assert r.no_next_task_.set_index("manager").loc["", "open_deals"] == len(opened)
    load = r.deal_load_.set_index("manager")
    assert load.loc["m02", "open_deals"] == (opened["manager"] == "m02").sum() and load.index[load["over"]].tolist() == ["m02"]
    pm = r.policy_by_manager_.set_index("manager")
    assert pm.loc["m07", "deals_with_violation"] == TRUTH["discount_violator"]["violations_by_manager"]["m07"]["deals_with_violation"]
    assert pm.index[pm["breaker"]].tolist() == ["m07"]
    assert (r.max_discount_pct, r.allowed_payment_terms, r.instalment_min_amount) == (10, ("prepaid", "postpaid", "instalment_3m", "instalment_6m"), 300000)
    calls = a[(a["type"] == "call") & (a["duration_sec"] > 0)].merge(d.loc[d["outcome"].isin(["won", "lost"]), ["deal_id"]], on="deal_id")
    assert r.call_median_sec == float(calls["duration_sec"].median()) and len(r.call_sample_) == 14 * 4
    # the key figures are read off the result: the numbers of its tables, the keys of summary()
    k = r.key_figures()
    assert k == hy.summary(demo)
    assert k["hygiene_overdue_tasks"] == int(team["overdue"]) and k["hygiene_over_deal_limit"] == ["m02"] and k["hygiene_policy_breakers"] == ["m07"]
    assert k["hygiene_open_without_next_task"] == r.no_next_task_.set_index("manager").loc["", "without_next_task"] == len(opened) == TRUTH["background"]["deal_outcome_counts"]["open"]
    # nothing in the result is in a language
    for frame in (r.tasks_, r.empty_fields_, r.no_next_task_, r.deal_load_, r.policy_by_manager_, r.call_sample_):
        assert all(c == c.lower() and " " not in c for c in frame.columns)
    assert set(r.call_sample_["length"]) == {"long", "short"} and set(r.call_sample_["outcome"]) == {"won", "lost"}


def test_hygiene_page_in_both_languages(demo, client):
    from salesaudit.report import hygiene as report

    r = hy.analyse(demo)
    en, ru = report.page(r, "en"), report.page(r, "ru")
    assert en.texts()[:2] == ["CRM hygiene and discipline", "Overdue tasks, empty deal cards, deals without a next step, the load per seller "
                                                               "and the discount policy, at the audit moment 31 Oct 2026 23:59."]
    assert ru.texts()[0] == "Дисциплина в CRM"
    name = demo.manager_names()["m02"]
    assert TRUTH["overloaded_manager"]["open_deals"] == 61
    assert f"Over the limit: {name} (61 / 30)." in en.texts() and f"Сверх лимита: {name} (61 / 30)." in ru.texts()  # names, not codes
    assert r.call_median_sec == pytest.approx(3.8 * 60, abs=3)  # the median computed from the calls in the test above
    assert any("(split at the median, 3.8 min)" in x for x in en.texts()) and any("медиана 3,8 мин" in x for x in ru.texts())
    tasks = en.tables()[0].set_index("Manager")
    assert "Overdue, %" in tasks.columns and tasks.loc["Team", "Overdue"] == sum(TRUTH["background"]["overdue_open_tasks_by_manager"].values()) == 507
    # the policy: the breaker with how far above the tolerance, each number with its interval (27 of 72 deals; Wilson 95 %)
    from salesaudit.stats import wilson

    v = TRUTH["discount_violator"]["violations_by_manager"]["m07"]
    k, n = v["deals_with_violation"], v["deals_with_terms"]
    assert (k, n) == (27, 72)
    lo, hi = wilson(k, n)
    m07 = demo.manager_names()["m07"]
    assert (f"**{m07}**: {100 * k / n:.1f}% of {n} deals with terms are outside the policy (95% CI {100 * lo:.1f}%–{100 * hi:.1f}%), "
            f"{100 * (k / n - 0.05):.1f} p.p. over the tolerated 5% (95% CI {100 * (lo - 0.05):+.1f}…{100 * (hi - 0.05):+.1f}).") in en.texts()
    policy = en.tables()[4].set_index("Manager")  # after tasks, empty fields (the web form's 316 empty cards), next tasks, load
    assert list(policy.columns) == ["Deals with terms", "Discount over the limit", "Terms not allowed", "Instalment below the minimum", "Deals with a violation",
                                    "Outside the policy (95% CI)", "Over the tolerance, p.p. (95% CI)", "p (Holm)", "Verdict", "Deal ids"]
    assert policy.index[0] == m07 and policy.loc[m07, "Verdict"] == "breaks the policy systematically" and policy.loc[m07, "p (Holm)"] == "<0.001"
    head = demo.manager_names()["h01"]
    assert policy.index[-1] == f"{head} (head of sales)" and policy.loc[f"{head} (head of sales)", "Verdict"] == "outside the team: not judged"
    assert set(policy["Verdict"][1:-1]) == {"within the tolerance"} and "No manager breaks" not in " ".join(en.texts())
    assert ru.tables()[4].iloc[0, -2] == "нарушает политику систематически" and "(95\u00a0% ДИ" in ru.tables()[4].columns[6]
    # presentation never changes a number: the same result gives the same tables in both pages
    assert len(en.tables()) == 6 and [len(x) for x in en.tables()] == [len(x) for x in ru.tables()]
    # without activities: no tasks, next tasks or calls, and the page says why
    bare = hy.analyse(load(client({k: v for k, v in FILES.items() if k != "activities.csv"}, period="2026-10", deal_load={"limit": 1})))
    assert not bare.has_activities and bare.tasks_.empty and bare.call_sample_.empty
    assert "The export has no Activities (calls, tasks, meetings) table: this section is skipped." in report.page(bare, "en").texts()
    assert set(bare.key_figures()) == {"hygiene_over_deal_limit", "hygiene_policy_violations", "hygiene_policy_violations_by_manager",
                                       "hygiene_policy_breakers", "hygiene_deals_with_empty_required"}
