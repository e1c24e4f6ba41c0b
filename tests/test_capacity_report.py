"""Notebook 06's page in the report's language (:mod:`salesaudit.report.capacity`).

* the sweep tables and the lead inflow's plot in words;
* the page of a small real run on the demo, in ru and en: the horizon stated with its dates, revenue
  named as the payments received, the plan of the horizon and where it comes from (the demo plans
  up to October 2026, so the plan of November–January is the stated assumption, checked against
  plans.csv), the figures the sentences quote read off the result, and no internals anywhere
  (no snake_case, no None / True / False / nan);
* why a larger team brings in less, in a sentence made from the simulation's own figures;
* the executed notebook keeps no progress-bar widget and no stderr.
"""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from conftest import REPO
from test_sim_experiments import _runs, _team_revenue_plans  # the same 3 headcounts × 10 replications; plans.csv read by hand

from salesaudit.report import format as fmt
from salesaudit.report.capacity import more_is_worse_text, page, plot_inflow, report_table
from salesaudit.sim import experiments as ex
from salesaudit.sim.inflow import LeadInflow

NBSP = "\u00a0"
#: what a reader must never see: code names, Python's values
INTERNAL = re.compile(r"\b[a-z]+_[a-z_]+\b|\bNone\b|\bTrue\b|\bFalse\b|\bnan\b|\bNaN\b")


def test_report_table_formats_keys_and_intervals():
    tab = ex.sweep_table(_runs(), metrics=("revenue",))
    out = report_table(tab, "en", ["managers"], metrics=("revenue",))
    assert list(out.columns) == ["Sellers", "Revenue (payments received), mln", "Chance of plan"]
    assert out.iloc[2, 2].startswith("100% (")
    ru = report_table(tab, "ru", ["managers"], metrics=("revenue",))
    assert list(ru.columns) == ["Менеджеров", "Выручка (поступления), млн", "Вероятность плана"]
    # 404.5 in millions: 0.0004045 -> 0,00
    assert ru.iloc[0, 1].startswith("0,00 (") and ru.iloc[0, 0] == "4"


def test_plot_observed_vs_fitted(demo):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = LeadInflow.from_dataset(demo)
    fig = plot_inflow(m, lang="ru")
    a1, a2 = fig.axes[:2]
    assert a2.get_xticklabels()[0].get_text() == "Пн" and a1.get_xlabel() == "Час суток"
    fig2 = plot_inflow(m, labels={"title_hour": "Inflow"})
    assert fig2.axes[0].get_title() == "Inflow"
    plt.close(fig)
    plt.close(fig2)


# --------------------------------------------------------------------------- the page of a small real run


@pytest.fixture(scope="module")
def result(demo):
    from salesaudit.sim import capacity

    settings = demo.config.analysis.settings("capacity", replications=4, headcount_below=0, headcount_above=1, deal_limits=[5, None],
                                             volumes=[1.0], routings=["round_robin", "pool"], sla_minutes=[15], head_shares=[0.0, 0.5],
                                             head_months=1)
    return capacity.analyse(demo, settings, assumptions_path=REPO / "params" / "simulation" / "default.yaml", seed=7, executor="serial")


@pytest.fixture(scope="module")
def pages(result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from salesaudit.report.page import Figure

    out = {lang: page(result, lang) for lang in ("ru", "en")}
    for p in out.values():
        for b in p.blocks:
            if isinstance(b, Figure):
                plt.close(b.figure)
    return out


def _with(texts, part):
    found = [x for x in texts if part in x]
    assert found, (part, texts)
    return found[0]


def test_the_page_states_the_horizon_the_metric_and_the_plan(result, pages):
    ru, en = pages["ru"].texts(), pages["en"].texts()
    # the horizon: 91 days from the day after the audit moment (31.10.2026 23:59:59)
    assert result.plan_info["start"] == pd.Timestamp("2026-11-01") and result.plan_info["end"] == pd.Timestamp("2027-01-31")
    intro_ru = _with(ru, "Горизонт: 01.11.2026 – 30.01.2027 (91 дн.)")
    intro_en = _with(en, "Horizon: 1 Nov 2026 – 30 Jan 2027 (91 days)")
    assert "Выручка — поступления за горизонт" in intro_ru and "Revenue is the payments received in the horizon" in intro_en
    # the plan: no revenue plan for November–January in plans.csv, so the team's plan of August–October per day × 91 days
    team = _team_revenue_plans()
    plan = (team["2026-08"] + team["2026-09"] + team["2026-10"]) / 92 * 91
    assert result.plan == pytest.approx(plan) and result.plan_source == "last_three_plans"
    plan_ru, plan_en = fmt.money(plan, "ru", None), fmt.money(plan, "en", None)
    assert plan_ru == f"59{NBSP}506{NBSP}087" and plan_en == "59,506,087"
    line = _with(ru, "План на горизонт: " + plan_ru)
    assert "в CRM нет плана выручки на ноябрь 2026 – январь 2027; допущение: план отдела за август 2026 – октябрь 2026" in line
    assert f"(20{NBSP}053{NBSP}333 в месяц в среднем) × 1,00" in line
    line = _with(en, "Plan of the horizon: " + plan_en)
    assert "the CRM has no revenue plan for November 2026 – January 2027; assumed: the team's revenue plan of August 2026 – October 2026" in line
    p = result.p_plan
    assert f"Chance of receiving at least the plan: {fmt.percent(p, 'en', 0)}" in line
    # the baseline's payments, read off the replications; of them, the deals won before the start
    base = result.runs["base"]
    q = base["revenue"].quantile([0.1, 0.5, 0.9])
    line = _with(en, "Revenue (payments received) over 1 Nov 2026 – 30 Jan 2027 (91 days): P10 ")
    assert f"P50 {fmt.money(q[0.5], 'en', None)}" in line and f"P90 {fmt.money(q[0.9], 'en', None)}" in line
    assert f"of it {fmt.money(base['revenue_earlier_wins'].iloc[0], 'en', None)} from deals won before 1 Nov 2026" in line
    assert f"Won amount (P50): {fmt.money(base['won_amount'].median(), 'en', None)}" in line
    # the headcount answer names the horizon, the metric and the plan
    hc_ru = _with(ru, "Выручка (поступления) за 01.11.2026 – 30.01.2027 (91 дн.) против плана " + plan_ru)
    hc_en = _with(en, "Revenue (payments received) over 1 Nov 2026 – 30 Jan 2027 (91 days) against the plan of " + plan_en)
    n = result.smallest_headcount["managers"]
    if n is None:
        assert "ни один проверенный состав, от 12 до 13 менеджеров" in hc_ru and "no team size tried, from 12 to 13 sellers" in hc_en
    else:
        assert f"**{n}**" in hc_ru and f"**{n}**" in hc_en


def test_the_payments_paragraph_quotes_the_pay_curves(result, pages):
    P = result.params
    c = P.pay_curves["*"]
    line = _with(pages["en"].texts(), "Revenue here is the payments received, as on the plan-fact page.")
    assert f"within 30 days of the win {fmt.percent(c[30], 'en', 0)} of the amount, within 90 days {fmt.percent(c[90], 'en', 0)}" in line
    assert f"The {P.notes['earlier_deals']} deals won by 31 Oct 2026 and not fully paid still owe {fmt.money(P.notes['earlier_left'], 'en', None)}" in line
    assert f"{fmt.money(P.earlier_payments[91], 'en', None)} of it is expected within the horizon" in line
    _with(pages["ru"].texts(), "Выручка здесь — поступления, как на странице «План-факт».")


def test_no_internals_on_the_page(pages):
    for lang, p in pages.items():
        for text in p.texts():
            assert not INTERNAL.search(text.replace("P10", "").replace("P50", "")), (lang, text)
        for frame in p.tables():
            for h in frame.columns:
                assert not INTERNAL.search(str(h)), (lang, h)
            cells = [str(x) for x in frame.to_numpy().ravel() if isinstance(x, str)]
            bad = [c for c in cells if INTERNAL.search(c) and not re.fullmatch(r"m_desk|[a-z_]+", c)]  # manager ids and channels are the CRM's data
            assert not bad, (lang, bad)
    ru, en = pages["ru"], pages["en"]
    # routing in words, the limit and the escalation too
    vol = next(f for f in ru.tables() if "Распределение" in f.columns)
    assert list(vol["Распределение"]) == ["по кругу", "общая очередь"]
    lim = next(f for f in en.tables() if "Deal-load limit" in f.columns)
    assert list(lim["Deal-load limit"]) == ["5", "no limit"]
    sla = next(f for f in en.tables() if "Escalation" in f.columns)
    assert list(sla["Escalation"]) == ["no escalation", "with escalation"]
    head = next(f for f in ru.tables() if "Доля РОПа на своих сделках" in f.columns)
    assert list(head["Доля РОПа на своих сделках"]) == [f"0{NBSP}%", f"50{NBSP}%"] and "Вероятность плана" not in head
    asm = next(f for f in en.tables() if "Parameter" in f.columns).set_index("Parameter")
    assert asm.loc["Deal-load limit (base scenario)", "Value"] == "no limit"
    assert asm.loc["A lead for a seller at the limit", "Value"] == "goes to a seller below the limit"  # default.yaml: reassign
    assert asm.loc["Lead routing (base scenario)", "Value"] == "round robin"
    # the backtest: its metrics in words, revenue as payments next to the won amount
    bt = next(f for f in en.tables() if "Metric" in f.columns)
    assert list(bt["Metric"]) == ["Leads", "Deals created", "Deals won", "Won amount", "Revenue (payments received)"]
    assert len(en.blocks) == len(ru.blocks) and len(en.tables()) == len(ru.tables())


def test_the_backtest_compares_payments_received(demo, result):
    import csv

    start, end = result.backtest_start, result.backtest_end
    assert (start, end) == (pd.Timestamp("2026-08-02"), pd.Timestamp("2026-11-01"))
    with open(REPO / "data_samples" / "demo_generic" / "payments.csv", encoding="utf-8") as f:
        paid = sum(float(r["amount"]) for r in csv.DictReader(f) if "2026-08-02" <= r["paid_at"] < "2026-11-01")
    bt = result.backtest_.set_index("metric")
    assert bt.loc["revenue", "actual"] == pytest.approx(paid)
    won = demo.tables["deals"]
    won = won[(won["outcome"] == "won") & (won["closed_at"] >= start) & (won["closed_at"] < end)]
    assert bt.loc["won_amount", "actual"] == pytest.approx(float(won["amount"].sum()))


def test_why_more_sellers_bring_in_less_in_both_languages(result):
    import dataclasses

    w = {"managers": 14, "current": 12, "revenue": 61_400_000.0, "revenue_current": 61_850_000.0, "diff": -450_000.0,
         "diff_lo": -1_200_000.0, "diff_hi": 300_000.0, "won_amount": 0.0, "won_amount_current": 0.0,
         "new_share": 0.14, "new_rate": 0.066, "rest_rate": 0.109}
    r = dataclasses.replace(result, more_is_worse=w)
    en, ru = more_is_worse_text(r, "en"), more_is_worse_text(r, "ru")
    assert en.startswith("More sellers do not bring more money within the horizon: with 14 sellers the department receives "
                         "61,400,000 against 61,850,000 with the current 12. The 2 new hires start at 50% of a seller's productivity "
                         "and reach full productivity after 8 weeks; they get 14% of the leads and win 6.6% of their leads against 10.9%")
    assert en.endswith("the difference is -450,000 (95 % CI -1,200,000 … 300,000).")
    assert ru.startswith(f"Больше менеджеров — не больше денег в пределах горизонта: при 14 менеджерах отдел получает 61{NBSP}400{NBSP}000")
    assert f"они получают 14{NBSP}% лидов и выигрывают 6,6{NBSP}% своих лидов против 10,9{NBSP}% у остальных" in ru
    assert more_is_worse_text(dataclasses.replace(result, more_is_worse=None), "en") is None


def test_the_executed_notebook_keeps_no_widgets_and_no_stderr():
    nb = json.loads((REPO / "notebooks" / "06_capacity.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert outputs, "notebook 06 is saved executed"
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert not [o for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert "widgets" not in nb.get("metadata", {})
