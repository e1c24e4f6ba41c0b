"""What-if experiments on the calibrated department (notebook 06).

Each experiment is a sweep (:func:`~.sweep.run_sweep`) of :func:`~.department.run_scenario` over
one or two scenario axes, with replications, confidence intervals and a progress bar, and an
answer drawn from it:

* :func:`smallest_headcount` — the fewest sellers for which the chance of meeting the revenue
  plan (payments received over the horizon against the plan of the horizon, :func:`horizon_plan`)
  reaches ``target`` (80 %); the chance comes with its Wilson interval, and the answer says
  whether the lower bound also clears the target;
* :func:`best_limit` — the deal-load limit with the highest mean revenue, and the limits whose
  revenue cannot be told apart from it (their intervals overlap the best one's mean);
* :func:`sweep_table` — any sweep as a table: mean and 95 % CI of revenue (payments received),
  the won amount, won deals, response percentiles, overnight and lost leads, utilisation, and the
  chance of meeting the plan;
* :func:`more_is_worse` — when a larger team brings in less than a smaller one, the simulation's
  own figures that say why (the new hires' share of the leads and their win rate while ramping up).

The tables hold numbers and scenario keys only; the plots and the report's tables in ``ru`` or
``en`` are in :mod:`salesaudit.report.capacity`.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from .department import run_scenario
from .sweep import probability, run_sweep, summarise

__all__ = [
    "default_plan",
    "horizon_plan",
    "sweep",
    "sweep_table",
    "smallest_headcount",
    "best_limit",
    "headcount_axis",
    "more_is_worse",
    "METRICS",
]

#: metrics shown in the sweep tables, in order
METRICS = ("revenue", "won_amount", "won", "deals", "response_p50", "response_p90", "sla_share", "overnight_share",
           "lost_leads", "utilisation")
#: further per-run figures the tables carry (means and CIs) for the page's explanations
EXTRA = ("revenue_earlier_wins", "assigned", "won_from_leads", "new_hire_leads", "new_hire_won")


def default_plan(ds, start, days: float, growth: float = 1.0) -> tuple[float | None, str]:
    """The revenue plan (payments received) for the simulated horizon and where it came from.

    See :func:`horizon_plan` (this returns its ``plan`` and ``source``).
    """
    info = horizon_plan(ds, start, days, growth)
    return info["plan"], info["source"]


def _month_label(m) -> str:
    return str(pd.Period(m, freq="M"))


def horizon_plan(ds, start, days: float, growth: float = 1.0) -> dict:
    """The plan of payments received (revenue) over ``[start, start + days)``, and how it was set.

    * ``plans`` — the CRM's plans table covers every month of the horizon: the team's monthly
      revenue plans (metric ``revenue``, the row without a manager), prorated by calendar days;
    * ``plans_and_assumption`` — it covers some months: those, and for the other days the rate
      below;
    * ``last_three_plans`` — no plan for the horizon: the team's revenue plan of the last three
      planned months before ``start``, per day, × ``growth`` (an assumption of
      ``params/simulation/*.yaml``, ``plan_growth``), × the horizon's days;
    * ``last_three_payments`` — the CRM has no revenue plans at all: the payments received in
      the three full months before ``start``, per day, × ``growth`` × the days;
    * ``none`` — neither plans nor payments.

    Returns ``plan``, ``source``, ``start``, ``end`` (exclusive), ``days``, ``months`` (the
    horizon's months), ``planned_months`` (those the CRM plans), ``basis_months`` (the three
    months the assumption is read from), ``basis_per_month`` (their mean, before ``growth``),
    ``growth`` and ``planned`` (the part of the plan from the CRM's plans).
    """
    start = pd.Timestamp(start)
    end = start + pd.Timedelta(days=days)
    months = pd.period_range(start, end - pd.Timedelta(seconds=1), freq="M")
    info = {"plan": None, "source": "none", "start": start, "end": end, "days": float(days),
            "months": [str(m) for m in months], "planned_months": [], "basis_months": [], "basis_per_month": None,
            "growth": float(growth), "planned": None}
    team = None
    if ds.has("plans"):
        pl = ds.tables["plans"]
        pl = pl[(pl["metric"] == "revenue") & pl["period"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
        if not pl.empty:
            t_ = pl[pl["manager"].isna()]
            pl = t_ if not t_.empty else pl
            team = pl.groupby(pl["period"].astype(str))["target"].sum().sort_index()
    per_day = None
    if team is not None:
        planned = [str(m) for m in months if str(m) in team.index]
        info["planned_months"] = planned
        before = team[team.index < _month_label(start)].tail(3)
        if len(before):
            per_day = float(before.sum()) / sum(pd.Period(m, freq="M").days_in_month for m in before.index) * growth
            info["basis_months"] = list(before.index)
            info["basis_per_month"] = float(before.mean())
            basis = "last_three_plans"
    elif ds.has("payments"):
        pay = ds.tables["payments"]
        last = pd.Period(start, freq="M") - 1
        ms = [last - 2, last - 1, last]
        lo, hi = ms[0].start_time, (last + 1).start_time
        paid = pay[(pay["paid_at"] >= lo) & (pay["paid_at"] < hi)]
        if len(pay) and pay["paid_at"].min() <= lo + pd.Timedelta(days=7):  # the export covers the three months
            total = float(paid["amount"].sum())
            per_day = total / ((hi - lo) / pd.Timedelta(days=1)) * growth
            info["basis_months"] = [str(m) for m in ms]
            info["basis_per_month"] = total / 3
            basis = "last_three_payments"
    planned_part, covered = 0.0, 0.0
    if info["planned_months"]:
        for m in months:
            if str(m) not in info["planned_months"]:
                continue
            lo_, hi_ = max(m.start_time, start), min((m + 1).start_time, end)
            share = (hi_ - lo_) / ((m + 1).start_time - m.start_time)
            planned_part += float(team[str(m)]) * share
            covered += (hi_ - lo_) / pd.Timedelta(days=1)
        info["planned"] = planned_part
    rest = float(days) - covered
    if rest <= 1e-9:
        info.update(plan=planned_part, source="plans")
    elif per_day is not None:
        info.update(plan=planned_part + per_day * rest, source="plans_and_assumption" if covered > 0 else basis)
    elif covered > 0:  # plans for part of the horizon and nothing to extend them with
        info.update(plan=planned_part * float(days) / covered, source="plans_and_assumption")
    return info


def headcount_axis(params, below: int = 2, above: int = 3) -> list[int]:
    """Headcounts around the current one (the head of sales aside)."""
    n = params.n_sellers
    return list(range(max(1, n - below), n + above + 1))


def sweep(params, scenarios: list[dict], replications: int, seed: int = 0, executor=None, progress: bool | None = None,
          desc: str = "scenarios") -> pd.DataFrame:
    """Replications of every scenario on the calibrated ``params`` (one row per run).

    Replication ``r`` of every scenario gets the same seed (common random numbers: the same
    leads, at the same moments, with the same luck), so that scenarios differ by their decisions.
    """
    return run_sweep(partial(run_scenario, base=params), scenarios, replications, seed=seed, executor=executor,
                     progress=progress, desc=desc, common_seeds=True)


def sweep_table(runs: pd.DataFrame, metrics=METRICS + EXTRA) -> pd.DataFrame:
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


def more_is_worse(table: pd.DataFrame, current: int, runs: pd.DataFrame | None = None) -> dict | None:
    """The largest team whose mean revenue falls below the current team's, and why, or None.

    ``table``: the headcount sweep (:func:`sweep_table`); ``runs``: its replications (common
    random numbers), for the paired difference. Returns ``managers``, ``current``, ``revenue``
    and ``revenue_current`` (mean payments), ``diff``, ``diff_lo``, ``diff_hi`` (the mean
    paired difference in revenue and its 95 % t interval; NaN without ``runs``), ``won_amount``
    and ``won_amount_current``, ``new_share`` (the new hires' share of the leads assigned),
    ``new_rate`` and ``rest_rate`` (deals won per lead assigned, new hires and the others) —
    means over the replications.
    """
    from scipy import stats

    tab = table.set_index("managers").sort_index()
    if current not in tab.index or "new_hire_leads" not in tab:
        return None
    base = tab.loc[current]
    worse = tab[(tab.index > current) & (tab["revenue"] < base["revenue"])]
    if worse.empty:
        return None
    n = int(worse.index.max())
    row = tab.loc[n]
    diff, lo, hi = float(row["revenue"] - base["revenue"]), float("nan"), float("nan")
    if runs is not None and "replication" in runs:
        a = runs[runs["managers"] == n].set_index("replication")["revenue"]
        b = runs[runs["managers"] == current].set_index("replication")["revenue"]
        d = (a - b).dropna()
        if len(d) >= 2:
            diff = float(d.mean())
            half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
            lo, hi = diff - half, diff + half
    new_l, new_w = float(row["new_hire_leads"]), float(row["new_hire_won"])
    rest_l, rest_w = float(row["assigned"]) - new_l, float(row["won_from_leads"]) - new_w
    return {"managers": n, "current": int(current), "revenue": float(row["revenue"]), "revenue_current": float(base["revenue"]),
            "diff": diff, "diff_lo": lo, "diff_hi": hi,
            "won_amount": float(row["won_amount"]), "won_amount_current": float(base["won_amount"]),
            "new_share": new_l / float(row["assigned"]) if row["assigned"] > 0 else float("nan"),
            "new_rate": new_w / new_l if new_l > 0 else float("nan"),
            "rest_rate": rest_w / rest_l if rest_l > 0 else float("nan")}
