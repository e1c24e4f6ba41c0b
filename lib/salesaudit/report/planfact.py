"""The plan vs fact page (notebook 04) in one language, made from a :class:`~salesaudit.analysis.planfact.PlanFactResult`.

Headers, metric names and sentences come from the message catalogue; amounts are formatted by
:mod:`salesaudit.report.format`; the numbers are the result's own. Dates in the sentences and the
chance to meet the plan keep the notebook's earlier form in both languages (``31.10.2026``,
``45%``): see :func:`_day`, :func:`_moment` and :func:`_share_as_before`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.planfact import TEAM
from ..data.model import PLAN_METRICS
from . import format as fmt_
from .format import date as fmt_date  # noqa: F401
from .format import datetime_ as fmt_datetime
from .format import percent as fmt_percent
from .i18n import LABELS, t
from .page import Figure, Heading, Page, Table, Text

__all__ = ["page", "display", "plot_cumulative", "plot_attainment", "plot_forecast", "MANAGER_METRICS", "GROWTH_MONTHS"]

#: metrics of the per-manager plan vs fact table
MANAGER_METRICS = ("revenue", "deals_won", "leads", "calls")
#: months of the team's growth table (the latest ones)
GROWTH_MONTHS = 4


def _money(x, lang: str) -> str:
    """An amount in whole units, grouped, without a currency (the sentence names it); ``—`` when missing."""
    return fmt_.money(x, lang, currency=None)


def _day(ts, lang: str) -> str:
    """A day in the page's language (:func:`salesaudit.report.format.date`)."""
    return fmt_date(ts, lang)


def _moment(ts, lang: str) -> str:
    """A moment in the page's language (:func:`salesaudit.report.format.datetime_`)."""
    return fmt_datetime(ts, lang)


def _share(share: float, lang: str) -> str:
    """A chance as a whole percentage (``45 %`` in ru, ``45%`` in en)."""
    return fmt_percent(share, lang, 0)


# ---------------------------------------------------------------------------
# tables in the page's language

_COLS = {
    "manager": "planfact.col.manager", "metric": "planfact.col.metric", "plan": "planfact.col.plan", "fact": "planfact.col.fact",
    "attainment_pct": "planfact.col.attainment_pct", "gap": "planfact.col.gap", "expected_to_date": "planfact.col.expected_to_date",
    "lag_pct": "planfact.col.lag_pct", "total": "planfact.col.total", "low": "planfact.col.low", "high": "planfact.col.high",
    "per_manager": "planfact.col.per_manager", "per_manager_low": "planfact.col.per_manager_low", "per_manager_high": "planfact.col.per_manager_high",
    "per_day": "planfact.col.per_day", "per_week": "planfact.col.per_week", "month": "planfact.col.month", "value": "planfact.col.value",
    "prev_month": "planfact.col.prev_month", "mom_pct": "planfact.col.mom_pct", "year_ago": "planfact.col.year_ago", "yoy_pct": "planfact.col.yoy_pct",
    "deal_id": "planfact.col.deal_id", "stage": "planfact.col.stage", "days_in_stage": "planfact.col.days_in_stage", "amount": "planfact.col.amount",
    "p_win": "planfact.col.p_win", "paid_share_if_won": "planfact.col.paid_share_if_won", "expected": "planfact.col.expected",
    "rate": "planfact.col.rate", "n": "planfact.col.n",
}


def display(df: pd.DataFrame, lang: str, names: dict | None = None, digits: int = 1) -> pd.DataFrame:
    """A report copy of a plan vs fact table: manager names (``""`` → the team), metric names and column headers in ``lang``."""
    out = df.copy()
    if "manager" in out.columns:
        names = names or {}
        out["manager"] = out["manager"].map(lambda m: t("planfact.team", lang) if m == TEAM else names.get(m, m))
    for col in ("metric", "rate"):
        if col in out.columns:
            out[col] = out[col].map(lambda m: t(f"planfact.metric.{m}", lang) if f"planfact.metric.{m}" in LABELS else m)
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(digits if c not in ("p_win", "paid_share_if_won", "value") or c == "value" else 3)
    return out.rename(columns={c: t(k, lang) for c, k in _COLS.items() if c in out.columns})


# ---------------------------------------------------------------------------
# plots


def _short_name(name) -> str:
    """A person's name for a small plot's title: the surname and initials (``Иванов К. Ю.``)."""
    parts = str(name).split()
    return " ".join([parts[0], *(p[0] + "." for p in parts[1:3])]) if len(parts) > 1 else str(name)


def _plt():
    from .show import plotting

    return plotting()[0]


def plot_cumulative(r, lang: str, metric: str = "revenue"):
    """Cumulative plan (dashed) vs fact: the team on top, then small multiples per manager."""
    plt = _plt()
    names = r.manager_names
    lag = r.cumulative_lag_
    sel = lag[lag["metric"] == metric]
    mgrs = [m for m in sorted(sel["manager"].unique()) if m != TEAM]
    ncol = 4
    nrow = 1 + int(np.ceil(len(mgrs) / ncol))
    fig = plt.figure(figsize=(12, 2.6 * nrow + 0.6))
    gs = fig.add_gridspec(nrow, ncol)
    ax = fig.add_subplot(gs[0, :])
    tm = sel[sel["manager"] == TEAM]
    ax.plot(tm["date"], tm["plan_cum"], "--", color="grey", label=t("planfact.plot.plan", lang))
    ax.plot(tm["date"], tm["fact_cum"], color="C0", label=t("planfact.plot.fact", lang))
    ax.set_title(t("planfact.plot.cumulative_team", lang, metric=t(f"planfact.metric.{metric}", lang)))
    ax.legend(loc="upper left")
    for i, m in enumerate(mgrs):
        a = fig.add_subplot(gs[1 + i // ncol, i % ncol])
        s = sel[sel["manager"] == m]
        behind = s["fact_cum"].iloc[-1] < s["plan_cum"].iloc[-1] if len(s) else False
        a.plot(s["date"], s["plan_cum"], "--", color="grey")
        a.plot(s["date"], s["fact_cum"], color="C3" if behind else "C2")
        a.set_title(_short_name(names.get(m, m)), fontsize=9)
        a.tick_params(labelsize=7)
        a.set_xticks([])
    fig.tight_layout()
    return fig


def plot_attainment(r, lang: str):
    """Heatmap of attainment % (manager × metric); 100 % is white, below red, above green."""
    plt = _plt()
    import seaborn as sns

    names = r.manager_names
    d = r.plan_vs_fact_.copy()
    d["who"] = d["manager"].map(lambda m: t("planfact.team", lang) if m == TEAM else f"{m} {str(names.get(m, m)).split(' ')[0]}")
    d["what"] = d["metric"].map(lambda m: t(f"planfact.metric.{m}", lang))
    order_m = [t(f"planfact.metric.{m}", lang) for m in PLAN_METRICS if m in set(d["metric"])]
    order_w = list(dict.fromkeys(d["who"]))
    piv = d.pivot_table(index="who", columns="what", values="attainment_pct").reindex(index=order_w, columns=order_m)
    fig, ax = plt.subplots(figsize=(1.1 * len(order_m) + 3, 0.42 * len(order_w) + 1.5))
    sns.heatmap(piv, annot=piv.map(lambda v: "" if pd.isna(v) else fmt_.integer(v, lang)).to_numpy(), fmt="", cmap="RdYlGn", center=100, vmin=0, vmax=200, cbar=False, ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(t("planfact.plot.attainment", lang))
    fig.tight_layout()
    return fig


def plot_forecast(fc, lang: str):
    """Histogram of a :class:`~salesaudit.analysis.planfact.Forecast`'s simulated period revenue with P10/P50/P90 and the plan."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.hist(fc.sims / 1e6, bins=50, color="C0", alpha=0.6)
    for k, ls in (("p10", ":"), ("p50", "-"), ("p90", ":")):
        v = getattr(fc, k)
        ax.axvline(v / 1e6, color="C0", ls=ls, label=f"{k.upper()} {fmt_.number(v / 1e6, lang, 2)}")
    if fc.plan:
        ax.axvline(fc.plan / 1e6, color="C3", lw=2, label=t("planfact.plot.plan", lang) + " " + fmt_.number(fc.plan / 1e6, lang, 2))
    ax.set_xlabel(t("planfact.plot.revenue_mln", lang))
    ax.set_title(t("planfact.plot.forecast", lang, period=fc.period, as_of=fmt_.date(fc.as_of, lang)))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# the page


def _plan_vs_fact(r, lang: str) -> list:
    pvf, names = r.plan_vs_fact_, r.manager_names
    return [Heading(t("planfact.team_section", lang, period=r.period_label)),
            Text(t("planfact.team_note", lang, share=fmt_percent(r.share_of_period_elapsed, lang, 0))),
            Table(display(pvf[pvf["manager"] == TEAM], lang, names)),
            Heading(t("planfact.managers_section", lang)),
            Figure(plot_attainment(r, lang)),
            Table(display(pvf[(pvf["manager"] != TEAM) & pvf["metric"].isin(MANAGER_METRICS)], lang, names), max_rows=60)]


def _lag(r, lang: str) -> list:
    lag = r.cumulative_lag_
    blocks = [Heading(t("planfact.lag_section", lang)), Text(t("planfact.lag_note", lang))]
    team = lag[(lag["manager"] == TEAM) & (lag["metric"] == "revenue")]
    if len(team):
        last = team.iloc[-1]
        blocks += [Text(t("planfact.lag_warning", lang, date=_day(last["date"], lang), lag=_money(last["lag"], lang),
                                pct=fmt_percent(last["lag_pct"] / 100, lang, 1, sign=True))),
                   Figure(plot_cumulative(r, lang, "revenue"))]
    return blocks


def _reverse(r, lang: str) -> list:
    lo, hi = r.reverse_window
    window = f"{_day(lo, lang)}–{_day(hi - pd.Timedelta(days=1), lang)}"  # the window ends before its last moment: show its last day
    return [Heading(t("planfact.reverse_section", lang, target=_money(r.revenue_target, lang))),
            Text(t("planfact.reverse_note", lang, window=window, seed=r.seed, managers=r.reverse_managers, days=r.reverse_working_days)),
            Table(display(r.reverse_funnel_, lang)),
            Table(display(r.reverse_rates_, lang, digits=3))]


def _backtests(r, lang: str) -> list:
    """The backtests of the audited period and those before it: how often the band held."""
    bts = r.backtests_
    if len(bts) < 2:
        return []
    from scipy.stats import binom

    n = len(bts)
    low = int(binom.ppf(0.05, n, 0.8)) - 1  # at most this many hits: below the 5 % tail of an honest 80 % band
    tab = pd.DataFrame({
        t("planfact.col.period", lang): bts["period"],
        t("planfact.col.as_of", lang): [_day(x, lang) for x in bts["as_of"]],
        **{t(f"planfact.col.{k}", lang): [_money(x, lang) for x in bts[k]] for k in ("p10", "p50", "p90", "actual")},
        t("planfact.col.inside", lang): [t("planfact.yes" if x else "planfact.no", lang) for x in bts["inside"]],
    })
    lines = [Heading(t("planfact.backtests_section", lang), 3),
             Text(t("planfact.backtests_line", lang, n=n, inside=int(bts["inside"].sum()), low=max(low, 0)))]
    return lines + [Table(tab)]


def _forecast(r, lang: str) -> list:
    fc, bt = r.forecast, r.backtest
    blocks = [Heading(t("planfact.forecast_section", lang)), Text(t("planfact.forecast_note", lang, seed=r.seed))]
    if fc.has_band:
        chance = fmt_.DASH if fc.chance_to_meet_plan is None else _share(fc.chance_to_meet_plan, lang)
        blocks += [Text(t("planfact.forecast_line", lang, as_of=_day(fc.as_of, lang), received=_money(fc.received, lang), won=_money(fc.expected_from_won, lang),
                          open=_money(fc.expected_from_open, lang), new=_money(fc.expected_from_new, lang), p10=_money(fc.p10, lang), p50=_money(fc.p50, lang), p90=_money(fc.p90, lang),
                          plan=_money(fc.plan, lang), chance=chance)),
                   Figure(plot_forecast(fc, lang))]
    else:
        blocks.append(Text(t("planfact.forecast_done", lang)))
    verdict = t("planfact.inside" if bt.inside else "planfact.outside", lang)
    return blocks + [
        Heading(t("planfact.backtest", lang, as_of=_day(bt.as_of, lang)), 3),
        Text(t("planfact.backtest_line", lang, as_of=_day(bt.as_of, lang), p10=_money(bt.p10, lang), p90=_money(bt.p90, lang), actual=_money(bt.actual, lang), verdict=verdict)),
        Figure(plot_forecast(bt, lang)),
        *_backtests(r, lang),
        Heading(t("planfact.top_deals", lang), 3),
        Table(display(bt.deals_.head(15), lang, r.manager_names, digits=2)),
    ]


def _growth(r, lang: str) -> list:
    gr, names = r.growth_, r.manager_names
    months = sorted(gr["month"].unique())[-GROWTH_MONTHS:]
    return [Heading(t("planfact.growth_section", lang)), Text(t("planfact.growth_note", lang)),
            Table(display(gr[(gr["manager"] == TEAM) & gr["month"].isin(months)], lang, names)),
            Table(display(gr[(gr["manager"] != TEAM) & (gr["month"] == months[-1]) & (gr["metric"] == "revenue")], lang, names))]


def page(r, lang: str) -> Page:
    """Notebook 04's plan vs fact page: the team's and the managers' plan vs fact, the cumulative lag,
    the reverse funnel, the forecast and its backtest, growth (only the title and why, when unavailable)."""
    p = Page(lang=lang)
    p.add(Heading(t("planfact.title", lang, client=r.client), 1),
          Text(t("planfact.intro", lang, period=r.period or fmt_.DASH, as_of=_moment(r.as_of, lang))))
    if r.missing:
        p.add(Text(t("planfact.missing", lang, tables=", ".join(r.missing))))
    elif r.period is None:
        p.add(Text(t("planfact.no_period", lang)))
    if r.available:
        p.add(*_plan_vs_fact(r, lang), *_lag(r, lang), *_reverse(r, lang), *_forecast(r, lang), *_growth(r, lang))
    return p
