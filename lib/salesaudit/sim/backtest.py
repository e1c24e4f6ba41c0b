"""Backtest: calibrate on the past, simulate what followed, compare with what really happened.

:func:`backtest` calibrates the model on the dataset as it was at ``as_of``
(:func:`salesaudit.data.snapshot.snapshot`: nothing from later leaks in), simulates the next ``days``
with ``replications`` replications, and puts the actual figures of that period next to the
simulated 90 % prediction interval (5th–95th percentile of the replications):

* leads that arrived,
* deals created,
* deals won and their won amount (on the day each deal was won),
* revenue: the payments received in the period (``payments.paid_at``; the simulation's revenue
  is its wins' amounts × the share paid by the period's end, plus the expected payments of the
  deals won before it, as :mod:`salesaudit.analysis.planfact` counts revenue).

``error`` is (simulated median − actual) / actual.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .calibrate import calibrate
from .department import run_scenario
from .sweep import run_sweep

__all__ = ["backtest", "actual_figures", "BACKTEST_METRICS"]

BACKTEST_METRICS = ("leads", "deals", "won", "won_amount", "revenue")


def actual_figures(ds, start, days: float) -> dict:
    """What really happened in ``[start, start + days)``: leads, deals created, deals won, won amount, payments received."""
    start = pd.Timestamp(start)
    end = start + pd.Timedelta(days=days)
    out = {}
    if ds.has("leads"):
        c = ds.tables["leads"]["created_at"]
        out["leads"] = int(((c >= start) & (c < end)).sum())
    d = ds.tables["deals"]
    out["deals"] = int(((d["created_at"] >= start) & (d["created_at"] < end)).sum())
    won = (d["outcome"] == "won") & (d["closed_at"] >= start) & (d["closed_at"] < end)
    out["won"] = int(won.sum())
    out["won_amount"] = float(d.loc[won, "amount"].fillna(0).sum())
    if ds.has("payments"):
        pay = ds.tables["payments"]
        out["revenue"] = float(pay.loc[(pay["paid_at"] >= start) & (pay["paid_at"] < end), "amount"].sum())
    out["complete"] = bool(pd.Timestamp(ds.as_of) >= end - pd.Timedelta(seconds=1))
    return out


def backtest(ds, as_of, days: float = 91, replications: int = 100, seed: int = 0, assumptions: dict | None = None,
             executor="serial", progress: bool | None = False, calibration=None) -> dict:
    """Calibrate at ``as_of``, simulate ``days``, and compare with the actual figures.

    Returns ``table`` (one row per metric: ``actual, p05, p50, p95, inside, error``), ``runs``
    (the replications), ``calibration`` and ``start``/``end`` of the simulated period.
    """
    cal = calibration if calibration is not None else calibrate(ds, as_of=as_of, assumptions=assumptions)
    params = cal.params
    runs = run_sweep(partial(run_scenario, base=params), [{"days": float(days)}], replications, seed=seed,
                     executor=executor, progress=progress, desc="backtest")
    actual = actual_figures(ds, params.start, days)
    rows = []
    for m in BACKTEST_METRICS:
        if m not in actual:
            continue
        x = runs[m].to_numpy(float)
        p05, p50, p95 = np.percentile(x, [5, 50, 95])
        a = actual[m]
        rows.append({"metric": m, "actual": a, "p05": p05, "p50": p50, "p95": p95,
                     "inside": bool(p05 <= a <= p95), "error": (p50 - a) / a if a else np.nan})
    return {"table": pd.DataFrame(rows), "runs": runs, "calibration": cal, "start": params.start,
            "end": params.start + pd.Timedelta(days=days), "complete": actual["complete"]}
