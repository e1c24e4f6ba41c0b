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

The tables hold numbers and scenario keys only; the plots and the report's tables in ``ru`` or
``en`` are in :mod:`salesaudit.report.capacity`.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

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
