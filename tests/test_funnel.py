"""Funnel conversion: hand-computed cases, the planted anomalies of the demo, real data."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import REALDATA, REPO, needs_realdata

from salesaudit.analysis import funnel as fn
from salesaudit.data.loader import load
from salesaudit.stats import cif_at, cumulative_incidence

ANOMALIES = json.loads((REPO / "data_samples" / "demo_generic" / "ANOMALIES.json").read_text(encoding="utf-8"))

DEALS = """deal_id,created_at,manager,stage,closed_at,channel
d1,2026-01-05 10:00,m1,won,2026-02-01 10:00,web
d2,2026-01-06 10:00,m1,lost,2026-01-20 10:00,web
d3,2026-01-07 10:00,m2,needs,,calls
d4,2026-01-08 10:00,m2,new,,calls
d5,2026-01-09 10:00,m2,lost,2026-01-10 10:00,web
"""
HISTORY = """deal_id,stage,entered_at
d1,new,2026-01-05 10:00
d1,qualified,2026-01-06 10:00
d1,needs,2026-01-08 10:00
d1,proposal,2026-01-12 10:00
d1,invoice,2026-01-20 10:00
d1,won,2026-02-01 10:00
d2,new,2026-01-06 10:00
d2,qualified,2026-01-07 10:00
d2,lost,2026-01-20 10:00
d3,new,2026-01-07 10:00
d3,qualified,2026-01-08 10:00
d3,needs,2026-01-09 10:00
d4,new,2026-01-08 10:00
d5,new,2026-01-09 10:00
d5,lost,2026-01-10 10:00
"""


def _owner_groups(ds, owners: pd.Series) -> pd.Series:
    """Who owns each deal or lead, from the managers table and the run config (independently of analysis.baseline)."""
    m = ds.tables["managers"]
    heads = set(m.loc[m["role"] == "head_of_sales", "manager"].astype(str)) | ({ds.config.head_of_sales} if ds.config.head_of_sales else set())
    system = {s.casefold() for s in ds.config.system_owners}
    name = dict(zip(m["manager"].astype(str), m["name"].astype(str)))
    out = []
    for o in owners.astype(object):
        if o is None or pd.isna(o) or not str(o).strip():
            out.append("no_manager")
        elif str(o).casefold() in system or name.get(str(o), "").casefold() in system:
            out.append("system")
        elif str(o) in heads or name.get(str(o)) in heads:
            out.append("head_of_sales")
        else:
            out.append("manager")
    return pd.Series(out, index=owners.index)


@pytest.fixture
def tiny(client):
    return load(client({"deals.csv": DEALS, "stage_history.csv": HISTORY}, as_of="2026-02-10 00:00:00"))


def test_step_conversion_leaves_open_deals_out_of_the_denominator(tiny):
    team = fn.step_conversion(tiny)
    got = team[["from_stage", "entered", "pending", "finished", "advanced"]].values.tolist()
    assert got == [
        ["new", 5, 1, 4, 3],  # d4 still in new
        ["qualified", 3, 0, 3, 2],
        ["needs", 2, 1, 1, 1],  # d3 still in needs
        ["proposal", 1, 0, 1, 1],
        ["invoice", 1, 0, 1, 1],
    ]
    assert team["rate"].round(4).tolist() == [0.75, 0.6667, 1.0, 1.0, 1.0]
    assert team["naive_rate"].round(4).tolist() == [0.6, 0.6667, 0.5, 1.0, 1.0]
    # Wilson 3/4 by hand: centre (3 + 1.92) / (4 + 3.84), half-width 1.96*sqrt(3*1/4 + 0.96)/(4+3.84)
    z = 1.959963984540054
    centre = (3 + z * z / 2) / (4 + z * z)
    half = z * np.sqrt(3 * 1 / 4 + z * z / 4) / (4 + z * z)
    assert team.loc[0, "ci_low"] == pytest.approx(centre - half) and team.loc[0, "ci_high"] == pytest.approx(centre + half)
    per = fn.step_conversion(tiny, by="manager")
    assert per[per["step"] == 0][["manager", "finished", "advanced"]].values.tolist() == [["m1", 2, 2], ["m2", 2, 1]]


def test_reach_and_period_flow(tiny):
    assert fn.stage_reach(tiny)["deals"].tolist() == [5, 3, 2, 1, 1, 1]
    flow = fn.period_flow(tiny, "2026-01-08", "2026-01-13")
    assert dict(zip(flow["stage"], flow["entered"])) == {"new": 2, "qualified": 1, "needs": 2, "proposal": 1, "invoice": 0, "won": 0, "lost": 1, "cancelled": 0}
    assert flow["flow_ratio"].tolist()[1:3] == [0.5, 2.0]


def test_cohort_table_uses_cumulative_incidence(tiny):
    c = fn.cohort_table(tiny, freq="M", horizons=(10, 30))
    row = c.iloc[0]
    assert (row["deals"], row["won"], row["lost"], row["open"]) == (5, 1, 2, 2)
    assert row["naive_win_rate"] == 0.2 and row["closed_win_rate"] == pytest.approx(1 / 3)
    days = np.array([27, 14, 33 + 14 / 24, 32 + 14 / 24, 1])
    ev = np.array(["won", "lost", None, None, "lost"], dtype=object)
    assert row["won_by_30d"] == pytest.approx(cif_at(cumulative_incidence(days, ev), "won", 30))
    # by hand: losses on day 1 (5 at risk) and day 14 (4 at risk) leave S = 3/5; on day 27 one of 3 at risk wins
    assert row["won_by_30d"] == pytest.approx(3 / 5 * 1 / 3)


def test_manager_flags_judge_only_big_enough_samples():
    team = pd.DataFrame({"step": [0], "rate": [0.5]})
    per = pd.DataFrame({"manager": ["a", "b", "c"], "step": [0, 0, 0], "finished": [100, 100, 8], "advanced": [20, 52, 0]})
    per["rate"] = per["advanced"] / per["finished"]
    f = fn.manager_flags(per, team, min_n=20).set_index("manager")
    assert f.loc["a", "flag"] == "below" and f.loc["b", "flag"] == "" and f.loc["c", "flag"] == "not_judgeable"
    assert f.loc["a", "p_adjusted"] == pytest.approx(min(1.0, 2 * f.loc["a", "p_value"]))  # Holm over two judgeable tests
    assert f.index.tolist()[0] == "a"  # worst on top


def test_demo_finds_the_planted_funnel_anomalies_and_nobody_else(demo):
    s = fn.summary(demo)
    weak = ANOMALIES["weak_closer"]["manager"]
    slow = ANOMALIES["slow_responder"]["manager"]
    assert f"{weak}:proposal>invoice" in s["flagged_below"]
    assert slow in s["lead_flagged_below"]
    planted = {ANOMALIES[k]["manager"] for k in ("weak_closer", "slow_responder", "stage_skipper", "overloaded_manager", "discount_violator")}
    assert set(s["managers_flagged"]) <= planted, s["managers_flagged"]


def test_demo_team_rates_by_hand(demo):
    d = demo.tables["deals"]
    team = fn.step_conversion(demo).set_index("from_stage")
    won, lost = (d["outcome"] == "won").sum(), (d["outcome"] == "lost").sum()
    # the last step: deals won over deals that left the invoice stage
    h = demo.tables["stage_history"]
    at_invoice = set(h.loc[h["stage"] == "invoice", "deal_id"]) | set(d.loc[d["outcome"] == "won", "deal_id"])
    still = set(d.loc[(d["outcome"] == "open") & (d["stage"] == "invoice"), "deal_id"])
    assert team.loc["invoice", "finished"] == len(at_invoice - still)
    assert team.loc["invoice", "advanced"] == won
    assert fn.summary(demo)["win_rate_closed"] == pytest.approx(won / (won + lost))


@needs_realdata("maven_crm_sales_opportunities", "sales_pipeline.csv")
def test_maven_funnel_against_independent_counts():
    ds = load(REPO / "params" / "clients" / "maven.yaml")
    src = pd.read_csv(REALDATA / "maven_crm_sales_opportunities" / "sales_pipeline.csv")
    src = src[src["engage_date"].notna()]
    team = fn.step_conversion(ds).set_index("from_stage")
    won, lost = (src["deal_stage"] == "Won").sum(), (src["deal_stage"] == "Lost").sum()
    # engaging -> won: open Engaging deals are left out of the denominator
    assert team.loc["engaging", "advanced"] == won == 4238
    assert team.loc["engaging", "finished"] == won + lost == 6711
    assert team.loc["engaging", "rate"] == pytest.approx(4238 / 6711)
    per = fn.step_conversion(ds, by="manager").query("from_stage == 'engaging'").set_index("manager")
    won_by = (src["deal_stage"] == "Won").groupby(src["sales_agent"]).sum()
    closed_by = src["deal_stage"].isin(["Won", "Lost"]).groupby(src["sales_agent"]).sum()
    by_agent = won_by / closed_by
    for agent in ("Darcel Schlecht", "Anna Snelling", "Reed Clapper"):
        assert per.loc[agent, "rate"] == pytest.approx(by_agent[agent])


@needs_realdata("olist_marketing_funnel", "olist_closed_deals_dataset.csv")
def test_olist_lead_conversion_by_sdr_and_channel():
    ds = load(REPO / "params" / "clients" / "olist.yaml")
    mql = pd.read_csv(REALDATA / "olist_marketing_funnel" / "olist_marketing_qualified_leads_dataset.csv")
    won = pd.read_csv(REALDATA / "olist_marketing_funnel" / "olist_closed_deals_dataset.csv")
    lt = fn.lead_conversion(ds)
    assert lt["advanced"].iloc[0] == 842 and lt["finished"].iloc[0] == 8000
    assert lt["rate"].iloc[0] == pytest.approx(842 / 8000)
    by_sdr = fn.lead_conversion(ds, by="manager").set_index("manager")
    assert by_sdr["advanced"].sum() == 842
    assert by_sdr["advanced"].to_dict() == won.groupby("sdr_id").size().to_dict()
    ch = fn.channel_conversion(ds).set_index("channel")
    merged = mql.merge(won[["mql_id"]], on="mql_id", how="left", indicator=True)
    expected = merged.groupby(merged["origin"].fillna("—"))["_merge"].agg(lambda s: (s == "both").mean())
    assert ch.loc["organic_search", "lead_to_deal"] == pytest.approx(expected["organic_search"])
    assert ch.loc["paid_search", "lead_to_deal"] == pytest.approx(expected["paid_search"])
    # won deals per SR, from the deals table (one deal is quarantined: won before first contact)
    per_sr = ds.tables["deals"].groupby(ds.tables["deals"]["manager"].astype(object)).size()
    assert per_sr.sum() == 841 and per_sr.max() == won.groupby("sr_id").size().max()


def test_funnel_result_is_language_free_and_matches_the_data(demo):
    r = fn.analyse(demo)
    deals = demo.tables["deals"]
    outcome = deals["outcome"].astype(object)
    won, lost, open_ = int((outcome == "won").sum()), int((outcome == "lost").sum()), int((outcome == "open").sum())
    assert (r.deals, r.won, r.lost, r.open) == (len(deals), won, lost, open_)
    # the team: deals of the sellers; the head of sales' own, a system owner's and nobody's deals are rows of their own
    owners = _owner_groups(demo, deals["manager"])
    team_deals = owners == "manager"
    team_won = int((outcome[team_deals] == "won").sum())
    excluded = {g: int((owners == g).sum()) for g in ("no_manager", "system", "head_of_sales") if (owners == g).any()}
    assert r.team_deals == int(team_deals.sum()) < len(deals) and r.key_figures()["excluded_deals"] == excluded and "head_of_sales" in excluded
    assert r.groups_["owner_group"].unique().tolist() == list(excluded) and r.groups_.groupby("owner_group")["reached"].first().to_dict() == excluded
    assert r.groups_.loc[r.groups_["step"] == r.groups_["step"].max(), "advanced"].sum() == won - team_won
    assert not set(deals.loc[~team_deals, "manager"].dropna()) & (set(r.flags_["manager"]) | set(r.lead_flags_["manager"]))
    # every team deal entered the first stage; the won "stage" holds the won deals; the last step's movers are the wins
    assert r.reach_["deals"].iloc[0] == r.team_deals and r.reach_["deals"].iloc[-1] == team_won
    assert r.team_["advanced"].iloc[-1] == team_won and r.team_["to_stage"].iloc[-1] == demo.funnel.won
    # the by-period funnel of the run's period (2026-10): distinct deals entering each stage in October
    h = demo.tables["stage_history"]
    october = h[(h["entered_at"] >= "2026-10-01") & (h["entered_at"] < "2026-11-01")]
    assert r.period == "2026-10"
    assert dict(zip(r.period_flow_["stage"], r.period_flow_["entered"])) == {k: october.loc[october["stage"] == k, "deal_id"].nunique() for k in demo.funnel.keys}
    # leads: every lead entered, those with a deal moved on; leads carry their manager in the demo
    leads = demo.tables["leads"]
    team_leads = _owner_groups(demo, leads["manager"]) == "manager"
    assert r.lead_team_["entered"].iloc[0] == team_leads.sum() and r.lead_team_["advanced"].iloc[0] == (leads["deal_id"].notna() & team_leads).sum()
    assert r.lead_managers_known is True and r.lead_flags_["entered"].sum() == team_leads.sum()
    assert r.lead_groups_["entered"].sum() == len(leads) - team_leads.sum()
    # the planted weak closer is below the team at proposal -> invoice, and only judgeable managers are flagged
    weak = ANOMALIES["weak_closer"]
    row = r.flags_[(r.flags_["manager"] == weak["manager"]) & (r.flags_["from_stage"] == weak["from_stage"])].iloc[0]
    assert row["flag"] == "worse" and row["rate"] < row["team_rate"] and row["diff_high"] < -r.min_effect
    assert (r.flags_.loc[r.flags_["finished"] < r.min_n, "flag"] == "not_judged").all()
    # cohorts by creation month and channels add up to the deals
    by_month = deals["created_at"].dt.to_period("M").astype(str).value_counts().sort_index()
    assert r.cohorts_["cohort"].tolist() == by_month.index.tolist() and r.cohorts_["deals"].tolist() == by_month.tolist()
    assert [c for c in r.cohorts_.columns if c.startswith("won_by_")] == ["won_by_30d", "won_by_60d", "won_by_90d"]
    assert r.cohort_curves_["time"].max() <= 180
    ch = r.channels_.set_index("channel")
    assert ch["deals"].sum() == len(deals) and ch["won"].sum() == won
    won_by_channel = outcome.eq("won").groupby(deals["channel"].astype(object).fillna("—")).sum()
    assert ch["won"].sort_index().tolist() == won_by_channel.sort_index().tolist()
    # the key figures are read off the result: what the notebook records, as summary() computes them from the data
    k = r.key_figures()
    assert k == fn.summary(demo)
    assert k["win_rate_closed"] == pytest.approx(won / (won + lost)) and k["managers_flagged"] == ["m06", "m11"]
    assert k["step_rates"]["proposal>invoice"] == round(float(r.team_.set_index("from_stage").loc["proposal", "rate"]), 4)
    # the settings are the run's: a stricter min_n judges fewer managers
    strict = fn.analyse(demo, demo.config.analysis.settings("funnel", min_n=200, cohort_horizons=[45], cohort_days=60))
    assert strict.min_n == 200 and (strict.flags_["judgeable"] == (strict.flags_["finished"] >= 200)).all()
    # and a practical threshold of 40 points leaves the weak closer's 37-point gap unflagged, though significant
    lax = fn.analyse(demo, demo.config.analysis.settings("funnel", min_effect=0.4))
    assert "m06:proposal>invoice" in lax.key_figures()["flagged_small"] and lax.key_figures()["flagged_below"] == []
    assert "won_by_45d" in strict.cohorts_.columns and strict.cohort_curves_["time"].max() <= 60
    # nothing in the result is in a language
    for frame in (r.reach_, r.team_, r.groups_, r.flags_, r.period_flow_, r.lead_team_, r.lead_groups_, r.lead_flags_, r.cohorts_, r.cohort_curves_, r.channels_):
        assert all(c == c.lower() and " " not in c for c in frame.columns)
    assert set(r.flags_["flag"]) <= set(fn.VERDICT_ORDER) and set(r.reach_["stage"]) <= set(demo.funnel.keys)


def test_funnel_page_in_both_languages(demo, client):
    from salesaudit.report import funnel as report

    r = fn.analyse(demo)
    en, ru = report.page(r, "en"), report.page(r, "ru")
    assert en.texts()[0] == "Sales funnel: ООО «Демо» (synthetic demo)" and ru.texts()[0] == "Воронка продаж: ООО «Демо» (synthetic demo)"
    assert en.texts()[1].endswith("Data as of 31 Oct 2026 23:59.") and "31.10.2026 23:59" in ru.texts()[1]
    assert "Funnel for 2026-10 (deals moving through stages)" in en.texts()
    tests = int(r.flags_["judgeable"].sum())
    assert any(f"Holm's correction for {tests} comparisons (α = 5%) and at least 5\u00a0p.p." in x and "fewer than 20 finished deals" in x for x in en.texts())
    other = r.deals - r.team_deals
    assert any(f"{r.team_deals:,} deals of its managers" in x and f"The {other:,} deals" in x for x in en.texts())  # the team without the others
    # the step table: the team's rows, then each group outside the team
    team = report.team_table(r, "en")
    group_names = {"no_manager": "No manager", "system": "System user", "head_of_sales": "Head of sales"}
    assert team["Deals of"].tolist() == ["Team"] * len(r.team_) + [group_names[g] for g in r.groups_["owner_group"]]
    last = f"{demo.funnel.label('invoice', 'en')} → {demo.funnel.label('won', 'en')}"
    row = team[(team["Deals of"] == "Team") & (team["Step"] == last)].iloc[0]
    assert row["Moved on"] == r.team_["advanced"].iloc[-1] and row["Conversion"] == f"{r.team_['rate'].iloc[-1]:.1%}"
    lo, hi = (float(x.rstrip("%")) for x in row["95% CI"].split("–"))
    assert lo < hi and abs(lo - 100 * r.team_["ci_low"].iloc[-1]) <= 0.5 and abs(hi - 100 * r.team_["ci_high"].iloc[-1]) <= 0.5
    assert team["Jumped over"].tolist()[: len(r.team_)] == r.team_["skipped"].tolist() and r.team_["skipped"].sum() > 0
    # managers against the rest of the team: every manager × step, flagged first, not judged in the table, the other groups last
    flagged = report.flags_table(r, "en")
    names = demo.manager_names()
    weak_step = f"{demo.funnel.label('proposal', 'en')} → {demo.funnel.label('invoice', 'en')}"
    weak = r.flags_.iloc[0]
    assert flagged.iloc[0][["Manager", "Step", "Verdict"]].tolist() == [names["m06"], weak_step, "below the team"]
    assert flagged.iloc[0]["Conversion"] == f"{weak['rate']:.1%}" and flagged.iloc[0]["Rest of the team"] == f"{weak['team_rate']:.1%}"
    diff = float(flagged.iloc[0]["Difference, p.p."])
    low, high = (float(x) for x in flagged.iloc[0]["95% CI, p.p."].split(" … "))
    assert abs(diff - 100 * weak["difference"]) <= 0.5 and abs(low - 100 * weak["diff_low"]) <= 0.5 and abs(high - 100 * weak["diff_high"]) <= 0.5
    assert low < diff < high < -5
    assert len(flagged) == len(r.flags_) + len(r.groups_)
    assert flagged["Verdict"].tolist()[-len(r.groups_):] == ["not compared"] * len(r.groups_)
    assert flagged["Manager"].iloc[-1] == group_names[r.groups_["owner_group"].iloc[-1]]
    not_judged = flagged[flagged["Verdict"] == "not judged: too few deals"]
    assert len(not_judged) == (r.flags_["flag"] == "not_judged").sum() > 0 and (not_judged["Finished"] < 20).all()
    ru_verdicts = set(report.flags_table(r, "ru")["Оценка"])
    assert {"ниже отдела", "не оценивается: мало сделок", "не сравнивается"} <= ru_verdicts
    assert ru_verdicts <= {"ниже отдела", "выше отдела", "разница мала, без отметки", "разница не доказана", "не оценивается: мало сделок", "не сравнивается"}
    # how big, in words: one sentence per flagged manager × step, leads first, with the numbers of the result
    said = report.findings(r, "en")
    lead_flagged = r.lead_flags_[r.lead_flags_["flag"].isin(["worse", "better"])]
    deal_flagged = r.flags_[r.flags_["flag"].isin(["worse", "better"])]
    assert len(said) == len(lead_flagged) + len(deal_flagged) and all(x in en.texts() for x in said)
    sentence = re.compile(r"\*\*(.+)\*\*: (\d+)\u00a0p\.p\. (below|above) the team at (.+) \(interval (\d+)–(\d+)\u00a0p\.p\.\)\.")
    for text, row in zip(said, list(lead_flagged.itertuples()) + list(deal_flagged.itertuples())):
        who, size, side, _, a, b = sentence.fullmatch(text).groups()
        assert who == names.get(row.manager, row.manager) and side == ("below" if row.flag == "worse" else "above")
        assert abs(int(size) - 100 * abs(row.difference)) <= 0.5 and int(a) <= int(size) <= int(b)
        assert abs(int(a) - 100 * min(abs(row.diff_low), abs(row.diff_high))) <= 0.5 and abs(int(b) - 100 * max(abs(row.diff_low), abs(row.diff_high))) <= 0.5
    assert said[0].startswith(f"**{names['m11']}**: ") and " below the team at Lead → deal (interval " in said[0]
    assert any(x.startswith(f"**{names['m06']}**: ") and weak_step in x for x in said)
    assert any(x.startswith(f"**{names['m06']}**: на ") and "\u00a0п.\u00a0п. ниже отдела на шаге" in x for x in report.findings(r, "ru"))
    leads = report.lead_managers_table(r, "en")
    assert leads.iloc[0]["Manager"] == names["m11"] and len(leads) == len(r.lead_flags_) + len(r.lead_groups_)
    assert leads["Manager"].tolist()[-len(r.lead_groups_):] == [group_names[g] for g in r.lead_groups_["owner_group"]]
    assert report.channel_table(r, "ru").shape == report.channel_table(r, "en").shape
    # presentation never changes a number: the same result gives the same tables in both pages
    assert [t.shape for t in en.tables()] == [t.shape for t in ru.tables()]
    assert [t.select_dtypes("number").fillna(-1).to_numpy().tolist() for t in en.tables()] == [t.select_dtypes("number").fillna(-1).to_numpy().tolist() for t in ru.tables()]
    # a CRM without stage history, leads or a period: the page says so and leaves those sections out
    bare = fn.analyse(load(client({"deals.csv": DEALS}, as_of="2026-02-10 00:00:00")))
    texts = report.page(bare, "en").texts()
    assert bare.period_flow_ is None and bare.lead_team_ is None and not bare.has_history and bare.deals_without_history == 5
    assert texts[2].startswith("The export has no stage history") and "Leads → deals" not in texts and not any(x.startswith("Funnel for") for x in texts)
    assert "No manager differs from the rest of the team by 5\u00a0p.p. or more beyond sampling doubt." in texts
    assert not any("deals of its managers" in x for x in texts)  # everyone is in the team: nothing to explain
    assert "lead_to_deal" not in bare.key_figures()
    import matplotlib.pyplot as plt

    plt.close("all")


def test_intervals_print_with_enough_digits_to_differ():
    from salesaudit.report import funnel as report

    assert report._ci([0.9812, 0.5], [0.9849, 0.7], "en") == ["98.1%–98.5%", "50.0%–70.0%"]
    assert report._ci([0.5], [0.7], "en") == ["50%–70%"]
    assert report._digits([-0.0021], [-0.0012], 100) == 1 and report._digits([-0.00201], [-0.00199], 100) == 3
