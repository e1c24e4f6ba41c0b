"""What-if experiments on the calibrated department (notebook 06).

Each experiment is a sweep (:func:`~.sweep.run_sweep`) of :func:`~.department.run_scenario` over
one or two scenario axes, with replications, confidence intervals and a progress bar, and an
answer drawn from it:

* :func:`smallest_headcount` — the fewest sellers for which the chance of meeting the revenue
  plan reaches ``target`` (80 %); the chance comes with its Wilson interval, and the answer says
  whether the lower bound also clears the target;
* :func:`best_limit` — the deal-load limit with the highest mean revenue, and the limits whose
  revenue cannot be told apart from it (their intervals overlap the best one's mean);
* :func:`sweep_table` — any sweep as a table: mean and 95 % CI of revenue, won deals, response
  percentiles, overnight and lost leads, utilisation, and the chance of meeting the plan.

Plots return matplotlib figures with labels in ``ru`` or ``en``.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from ..report import format as fmt_
from ..report.i18n import has, t
from .calibrate import revenue_plan
from .department import run_scenario
from .sweep import probability, run_sweep, summarise

__all__ = [
    "default_plan",
    "sweep",
    "sweep_table",
    "smallest_headcount",
    "best_limit",
    "headcount_axis",
    "plot_chance_by_headcount",
    "plot_revenue_by_limit",
    "plot_metric_by",
    "METRICS",
]

#: metrics shown in the sweep tables, in order
METRICS = ("revenue", "won", "deals", "response_p50", "response_p90", "sla_share", "overnight_share",
           "lost_leads", "utilisation")


def default_plan(ds, start, days: float) -> tuple[float | None, str]:
    """The revenue plan for the simulated horizon and where it came from.

    The team's monthly revenue plans for the horizon (prorated); if the plans do not reach that
    far, the mean of the last three planned months per day, times the horizon.
    """
    plan = revenue_plan(ds, start, days)
    if plan is not None:
        return plan, "plans"
    if not ds.has("plans"):
        return None, "none"
    pl = ds.tables["plans"]
    pl = pl[(pl["metric"] == "revenue") & pl["period"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
    team = pl[pl["manager"].isna()]
    pl = team if not team.empty else pl
    if pl.empty:
        return None, "none"
    by_month = pl.groupby(pl["period"].astype(str))["target"].sum().sort_index().tail(3)
    per_day = float(by_month.sum()) / sum(pd.Period(m).days_in_month for m in by_month.index)
    return per_day * days, "last_three_months"


def headcount_axis(params, below: int = 2, above: int = 3) -> list[int]:
    """Headcounts around the current one (the head of sales aside)."""
    n = params.n_sellers
    return list(range(max(1, n - below), n + above + 1))


def sweep(params, scenarios: list[dict], replications: int, seed: int = 0, executor=None, progress: bool = True,
          desc: str = "scenarios") -> pd.DataFrame:
    """Replications of every scenario on the calibrated ``params`` (one row per run)."""
    return run_sweep(partial(run_scenario, base=params), scenarios, replications, seed=seed, executor=executor,
                     progress=progress, desc=desc)


def sweep_table(runs: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """Per scenario: each metric's mean and 95 % CI, and the chance of meeting the plan (Wilson)."""
    metrics = [m for m in metrics if m in runs.columns]
    s = summarise(runs, metrics)
    keys = [k for k in runs.attrs.get("scenario_keys", []) if k in runs.columns and k != "days"]
    out = s[["scenario"] + [k for k in keys if k in s.columns]].copy() if "scenario" in s.columns else s[keys].copy()
    for m in metrics:
        out[m] = s[f"{m}_mean"]
        out[f"{m}_lo"] = s[f"{m}_lo"]
        out[f"{m}_hi"] = s[f"{m}_hi"]
    if "plan_met" in runs.columns:
        pr = probability(runs, lambda d: d["plan_met"] > 0.5)
        out["p_plan"] = pr["p"].to_numpy()
        out["p_plan_lo"] = pr["lo"].to_numpy()
        out["p_plan_hi"] = pr["hi"].to_numpy()
    return out.reset_index(drop=True)


def smallest_headcount(table: pd.DataFrame, target: float = 0.8) -> dict:
    """The fewest sellers whose chance of meeting the plan reaches ``target``."""
    tab = table.sort_values("managers")
    ok = tab[tab["p_plan"] >= target]
    if ok.empty:
        return {"managers": None, "p": float(tab["p_plan"].max()), "lo": np.nan, "hi": np.nan, "sure": False}
    row = ok.iloc[0]
    return {"managers": int(row["managers"]), "p": float(row["p_plan"]), "lo": float(row["p_plan_lo"]),
            "hi": float(row["p_plan_hi"]), "sure": bool(row["p_plan_lo"] >= target)}


def best_limit(table: pd.DataFrame, metric: str = "revenue") -> dict:
    """The deal-load limit with the highest mean ``metric``, and the limits not told apart from it."""
    tab = table.reset_index(drop=True)
    i = int(tab[metric].idxmax())
    best = tab.loc[i]
    tied = tab[(tab[f"{metric}_hi"] >= best[metric])]["deal_limit"].tolist()
    lim = best["deal_limit"]
    return {"deal_limit": None if lim is None or (isinstance(lim, float) and math.isnan(lim)) else int(lim),
            "mean": float(best[metric]), "lo": float(best[f"{metric}_lo"]), "hi": float(best[f"{metric}_hi"]),
            "tied": [None if x is None or (isinstance(x, float) and math.isnan(x)) else int(x) for x in tied]}


# --------------------------------------------------------------------------- plots


def _plt():
    from ..report.show import plotting

    return plotting()[0]


def _limit_label(x, lang):
    return t("capacity.no_limit", lang) if x is None or (isinstance(x, float) and math.isnan(x)) else str(int(x))


def plot_chance_by_headcount(table: pd.DataFrame, lang: str, target: float = 0.8):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    tab = table.sort_values("managers")
    x = tab["managers"].to_numpy()
    y = tab["p_plan"].to_numpy()
    ax.errorbar(x, y, yerr=[y - tab["p_plan_lo"].to_numpy(), tab["p_plan_hi"].to_numpy() - y], fmt="o-", capsize=3)
    ax.axhline(target, ls="--", color="grey")
    ax.text(x.min(), target + 0.02, t("capacity.plot.target", lang, target=target), color="grey", fontsize=8)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xticks(x)
    ax.set_xlabel(t("capacity.plot.headcount", lang))
    ax.set_ylabel(t("capacity.plot.p_plan", lang))
    ax.set_title(t("capacity.plot.headcount_title", lang))
    fig.tight_layout()
    return fig


def plot_revenue_by_limit(table: pd.DataFrame, lang: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    tab = table.reset_index(drop=True)
    x = np.arange(len(tab))
    y = tab["revenue"].to_numpy() / 1e6
    ax.errorbar(x, y, yerr=[y - tab["revenue_lo"].to_numpy() / 1e6, tab["revenue_hi"].to_numpy() / 1e6 - y], fmt="o-", capsize=3)
    i = int(np.argmax(y))
    ax.plot([x[i]], [y[i]], "o", ms=12, mfc="none", mec="C3")
    ax.set_xticks(x, [_limit_label(v, lang) for v in tab["deal_limit"]])
    ax.set_xlabel(t("capacity.plot.limit", lang))
    ax.set_ylabel(t("capacity.plot.revenue_mln", lang))
    ax.set_title(t("capacity.plot.limit_title", lang))
    fig.tight_layout()
    return fig


def plot_metric_by(table: pd.DataFrame, x: str, hue: str | None, metric: str, lang: str, scale: float = 1.0):
    """One metric (mean with 95 % CI) against a scenario axis, one line per ``hue`` value."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    groups = [(None, table)] if hue is None else list(table.groupby(hue, sort=False))
    for key, g in groups:
        g = g.sort_values(x)
        y = g[metric].to_numpy() / scale
        ax.errorbar(g[x].astype(str), y, yerr=[y - g[f"{metric}_lo"].to_numpy() / scale, g[f"{metric}_hi"].to_numpy() / scale - y],
                    fmt="o-", capsize=3, label=None if key is None else (t(f"capacity.value.{key}", lang) if has(f"capacity.value.{key}") else str(key)))
    ax.set_xlabel(t(f"capacity.axis.{x}", lang))
    ax.set_ylabel(t(f"capacity.col.{metric}", lang))
    if hue is not None:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- report tables

_SHARE = {"sla_share", "overnight_share", "utilisation", "p_plan"}


def _fmt(metric: str, v: float, lang: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return fmt_.DASH
    if metric in _SHARE:
        return fmt_.percent(v, lang, 0)
    if metric == "revenue":
        return fmt_.number(v / 1e6, lang, 2)
    return fmt_.number(v, lang, 0 if abs(v) >= 10 else 1)


def report_table(table: pd.DataFrame, lang: str, keys: list[str], metrics=METRICS) -> pd.DataFrame:
    """A sweep table for the report: scenario keys in words, each metric as ``mean (lo–hi)``.

    Revenue is in millions.
    """
    out = pd.DataFrame(index=table.index)
    for k in keys:
        vals = table[k].tolist()
        if k == "deal_limit":
            out[t(f"capacity.axis.{k}", lang)] = [_limit_label(v, lang) for v in vals]
        else:
            out[t(f"capacity.axis.{k}", lang)] = [t(f"capacity.value.{v}", lang) if has(f"capacity.value.{v}") else v for v in vals]
    for m in list(metrics) + (["p_plan"] if "p_plan" in table.columns else []):
        if m not in table.columns:
            continue
        name = t(f"capacity.col.{m}", lang) + (", " + ("млн" if lang == "ru" else "mln") if m == "revenue" else "")
        out[name] = [f"{_fmt(m, a, lang)} ({_fmt(m, lo, lang)}–{_fmt(m, hi, lang)})" for a, lo, hi in
                     zip(table[m], table[f"{m}_lo"], table[f"{m}_hi"])]
    return out.reset_index(drop=True)
