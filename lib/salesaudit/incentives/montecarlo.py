"""Monte Carlo of the pay cost: P50 and P90 of a year, the reserve to hold, payout curves.

Months are drawn in one of two ways, both giving a long table of simulated months (one row per
``path`` × ``month``, the columns of :data:`~salesaudit.incentives.schemes.INPUT_COLUMNS`):

* **fitted to the history** (:func:`simulate_inputs` without ``outcomes``): the department's
  plan attainment (revenue / plan) of the history's months is taken as lognormal — ``log`` of
  it has the history's mean and standard deviation — and drawn independently for every month
  (months are treated as independent: a streak of bad months is not modelled). Revenue is the
  attainment × the plan of the same month a year earlier (the last plan when there is none);
  without plans, revenue is the history's mean revenue × a factor drawn the same way around
  it, and plan-based pay stays zero. The head's share of revenue is drawn from a normal
  distribution fitted to the history (clipped to 0–1); units of each product are Poisson with
  the history's units per unit of revenue; money collected is the history's share of revenue;
  overdue receivables are resampled from the history's months; NPS and LTV vary around the
  assumed values by the assumed spreads.
* **taken from the capacity simulation** (``outcomes=``): pass the simulated monthly department
  revenue as a 2-D array ``(paths, months)`` or a DataFrame with columns ``path``, ``month``
  (0, 1, …) and ``dept_revenue``, optionally with any other input column (``head_revenue``,
  ``dept_margin``, ``units.<product>``, ``overdue_receivables``, ``nps``, …). What is given is
  used as it is; the rest is derived from the given revenue exactly as above. This is the
  interface :mod:`salesaudit.sim` feeds.

Every draw takes ``seed`` (``numpy.random.default_rng``): the same inputs give the same numbers.

The cost of a scheme at the *average* month is not its average cost: thresholds, accelerators
and caps make pay a non-linear function of attainment, so :func:`monte_carlo` reports both
(``cost_at_mean_outcome`` and ``mean``) and their difference.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .schemes import Scheme, complete_inputs, payout

__all__ = ["fit_history", "simulate_inputs", "monte_carlo", "payout_curves", "MonteCarloResult"]


def fit_history(inputs: pd.DataFrame) -> dict:
    """The distributions :func:`simulate_inputs` draws from, fitted to the history's months."""
    h = inputs[inputs["dept_revenue"] > 0]
    plan = h["dept_plan"].to_numpy(dtype=float)
    has_plan = bool(np.isfinite(plan).any() and (plan[np.isfinite(plan)] > 0).any())
    if has_plan:
        ok = np.isfinite(plan) & (plan > 0)
        ratio = h["dept_revenue"].to_numpy(dtype=float)[ok] / plan[ok]
    else:
        ratio = h["dept_revenue"].to_numpy(dtype=float) / max(h["dept_revenue"].mean(), 1e-9) if len(h) else np.array([])
    logs = np.log(ratio) if len(ratio) else np.array([0.0])
    rev = h["dept_revenue"].to_numpy(dtype=float)
    share = (h["head_revenue"] / h["dept_revenue"]).to_numpy(dtype=float) if len(h) else np.array([0.0])
    units = {c: float(h[c].sum() / rev.sum()) if rev.sum() > 0 else 0.0 for c in inputs.columns if c.startswith("units.")}
    coll = h["receivables_collected"].to_numpy(dtype=float)
    return {
        "months": int(len(h)),
        "has_plan": has_plan,
        "log_mean": float(np.mean(logs)),
        "log_sd": float(np.std(logs, ddof=1)) if len(logs) > 1 else 0.0,
        "mean_attainment": float(np.mean(ratio)) if len(ratio) else np.nan,
        "mean_revenue": float(rev.mean()) if len(rev) else 0.0,
        "head_share_mean": float(np.mean(share)) if len(share) else 0.0,
        "head_share_sd": float(np.std(share, ddof=1)) if len(share) > 1 else 0.0,
        "units_per_revenue": units,
        "collected_share": float(np.nansum(coll) / rev.sum()) if np.isfinite(coll).any() and rev.sum() > 0 else np.nan,
        "overdue": h["overdue_receivables"].to_numpy(dtype=float),
        "margin_share": float(h["dept_margin"].sum() / rev.sum()) if rev.sum() > 0 else np.nan,
        "head_plan": float(np.nanmean(h["head_plan"])) if h["head_plan"].notna().any() else np.nan,
    }


def _calendar(inputs: pd.DataFrame, months: int) -> pd.DataFrame:
    """The simulated months: the ``months`` calendar months after the history, with their year-ago
    revenue and plan (the plan of the same month a year earlier, else the last plan)."""
    hist = inputs.set_index("month")
    try:
        last = pd.Period(str(inputs["month"].iloc[-1]), "M")
    except (ValueError, IndexError):
        last = None
    rows = []
    last_plan = inputs["dept_plan"].dropna().iloc[-1] if inputs["dept_plan"].notna().any() else np.nan
    for k in range(months):
        if last is not None:
            p = last + 1 + k
            ago = str(p - 12)
            rows.append({"month": k, "label": str(p), "quarter": f"{p.year}Q{p.quarter}", "quarter_end": p.month % 3 == 0,
                         "revenue_year_ago": float(hist.loc[ago, "dept_revenue"]) if ago in hist.index else np.nan,
                         "dept_plan": float(hist.loc[ago, "dept_plan"]) if ago in hist.index and np.isfinite(hist.loc[ago, "dept_plan"]) else last_plan})
        else:
            rows.append({"month": k, "label": str(k), "quarter": k // 3, "quarter_end": k % 3 == 2, "revenue_year_ago": np.nan, "dept_plan": last_plan})
    return pd.DataFrame(rows)


def simulate_inputs(inputs: pd.DataFrame, assumptions, seed: int, outcomes=None, n_sims: int | None = None, months: int | None = None) -> pd.DataFrame:
    """Simulated months for the Monte Carlo (see the module doc): fitted to ``inputs`` (the
    history of :func:`~salesaudit.incentives.history.monthly_inputs`), or built around
    ``outcomes`` from the capacity simulation. ``attrs["fit"]`` holds the fitted parameters and
    ``attrs["source"]`` is ``history`` or ``simulation``."""
    mc = assumptions.monte_carlo
    n_sims = n_sims or mc.n_sims
    months = months or mc.months
    rng = np.random.default_rng(seed)
    fit = fit_history(inputs)
    margin = assumptions.margin_pct / 100.0
    given: pd.DataFrame | None = None
    if outcomes is not None:
        if isinstance(outcomes, pd.DataFrame):
            missing = [c for c in ("path", "month", "dept_revenue") if c not in outcomes.columns]
            if missing:
                raise ValueError(f"simulated outcomes need the columns path, month and dept_revenue; missing: {', '.join(missing)}")
            given = outcomes.sort_values(["path", "month"], ignore_index=True)
        else:
            arr = np.asarray(outcomes, dtype=float)
            if arr.ndim != 2:
                raise ValueError(f"simulated outcomes must be a 2-D array (paths, months), got shape {arr.shape}")
            given = pd.DataFrame({"path": np.repeat(np.arange(arr.shape[0]), arr.shape[1]), "month": np.tile(np.arange(arr.shape[1]), arr.shape[0]),
                                  "dept_revenue": arr.ravel()})
        n_sims = int(given["path"].nunique())
        months = int(given["month"].nunique())
    cal = _calendar(inputs, months)
    path = np.repeat(np.arange(n_sims), months)
    k = np.tile(np.arange(months), n_sims)
    df = pd.DataFrame({"path": path, "month": k})
    df["label"] = cal["label"].to_numpy()[k]
    df["quarter"] = cal["quarter"].to_numpy()[k]
    df["quarter_end"] = cal["quarter_end"].to_numpy()[k]
    plan = cal["dept_plan"].to_numpy(dtype=float)[k]
    df["dept_plan"] = plan if fit["has_plan"] else np.nan
    df["revenue_year_ago"] = cal["revenue_year_ago"].to_numpy(dtype=float)[k]
    ref = plan if fit["has_plan"] else np.full(len(df), fit["mean_revenue"])
    draw = np.exp(fit["log_mean"] + fit["log_sd"] * rng.standard_normal(len(df)))
    if given is not None:
        df["dept_revenue"] = given["dept_revenue"].to_numpy(dtype=float)
    else:
        df["dept_revenue"] = ref * draw
    g = (lambda c: given[c].to_numpy(dtype=float)) if given is not None else None
    share = np.clip(fit["head_share_mean"] + fit["head_share_sd"] * rng.standard_normal(len(df)), 0.0, 1.0)
    df["head_revenue"] = g("head_revenue") if given is not None and "head_revenue" in given.columns else df["dept_revenue"] * share
    df["dept_margin"] = g("dept_margin") if given is not None and "dept_margin" in given.columns else df["dept_revenue"] * margin
    df["head_margin"] = g("head_margin") if given is not None and "head_margin" in given.columns else df["head_revenue"] * margin
    df["dept_margin_plan"] = df["dept_plan"] * margin
    df["margin_year_ago"] = df["revenue_year_ago"] * margin
    df["head_plan"] = fit["head_plan"]
    for col, rate in fit["units_per_revenue"].items():
        df[col] = g(col) if given is not None and col in given.columns else rng.poisson(np.maximum(rate * df["dept_revenue"].to_numpy(), 0.0)).astype(float)
    df["receivables_collected"] = g("receivables_collected") if given is not None and "receivables_collected" in given.columns else df["dept_revenue"] * fit["collected_share"]
    over = fit["overdue"][np.isfinite(fit["overdue"])]
    df["overdue_receivables"] = g("overdue_receivables") if given is not None and "overdue_receivables" in given.columns else (rng.choice(over, len(df)) if len(over) else np.nan)
    nps = assumptions.nps
    df["nps"] = g("nps") if given is not None and "nps" in given.columns else (np.clip(nps + mc.nps_sd * rng.standard_normal(len(df)), -100, 100) if nps is not None else np.nan)
    ltv = assumptions.ltv
    df["ltv"] = g("ltv") if given is not None and "ltv" in given.columns else (np.maximum(ltv * (1 + mc.ltv_sd_pct / 100 * rng.standard_normal(len(df))), 0.0) if ltv is not None else np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["attainment_pct"] = 100.0 * df["dept_revenue"] / ref
    df = complete_inputs(df)
    df.attrs.update(fit=fit, source="simulation" if given is not None else "history", n_sims=n_sims, months=months, seed=seed)
    return df


@dataclass
class MonteCarloResult:
    """The Monte Carlo of the pay cost: per-scheme summary, the yearly cost of every path, monthly pay."""

    summary: pd.DataFrame
    annual: pd.DataFrame  # path, scheme, cost
    monthly: pd.DataFrame  # path, month, scheme, attainment_pct, cost
    fit: dict = field(default_factory=dict)
    source: str = "history"
    n_sims: int = 0
    months: int = 12
    seed: int = 0


def monte_carlo(schemes: dict[str, Scheme], sims: pd.DataFrame) -> MonteCarloResult:
    """Each scheme paid on every simulated month of ``sims`` (from :func:`simulate_inputs`).

    ``summary`` per scheme: ``mean``, ``p10``, ``p50``, ``p90`` of the yearly cost (pay plus the
    sellers' commission on handed deals), ``reserve`` (P90 − P50: what to hold above a budget set
    at the median), ``monthly_p50``/``monthly_p90``, ``cost_at_mean_outcome`` (the yearly cost
    when every month is the average month) and ``jensen_gap`` (mean − that), ``pct_revenue``
    (mean cost / mean revenue, %).
    """
    months = int(sims["month"].nunique())
    mean_month = sims.groupby("month", sort=True).mean(numeric_only=True).reset_index()
    for c in ("quarter", "quarter_end", "label"):
        if c in sims.columns:
            mean_month[c] = sims.groupby("month", sort=True)[c].first().to_numpy()
    mean_month["path"] = 0
    rows, annual, monthly = [], [], []
    rev_year = sims.groupby("path")["dept_revenue"].sum().to_numpy()
    for key, s in schemes.items():
        cost = payout(s, sims)["cost"].to_numpy()
        per_path = cost.reshape(-1, months).sum(axis=1)
        at_mean = float(payout(s, mean_month)["cost"].sum())
        q = np.percentile(per_path, [10, 50, 90])
        mq = np.percentile(cost, [50, 90])
        rows.append({"scheme": key, "mean": float(per_path.mean()), "p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2]),
                     "reserve": float(q[2] - q[1]), "monthly_p50": float(mq[0]), "monthly_p90": float(mq[1]),
                     "cost_at_mean_outcome": at_mean, "jensen_gap": float(per_path.mean() - at_mean),
                     "pct_revenue": 100.0 * float(per_path.mean() / rev_year.mean()) if rev_year.mean() > 0 else np.nan})
        annual.append(pd.DataFrame({"path": np.arange(len(per_path)), "scheme": key, "cost": per_path}))
        monthly.append(pd.DataFrame({"path": sims["path"].to_numpy(), "month": sims["month"].to_numpy(), "scheme": key,
                                     "attainment_pct": sims["attainment_pct"].to_numpy() if "attainment_pct" in sims.columns else np.nan, "cost": cost}))
    a = sims.attrs
    return MonteCarloResult(summary=pd.DataFrame(rows), annual=pd.concat(annual, ignore_index=True), monthly=pd.concat(monthly, ignore_index=True),
                            fit=a.get("fit", {}), source=a.get("source", "history"), n_sims=int(sims["path"].nunique()), months=months, seed=a.get("seed", 0))


def typical_month(inputs: pd.DataFrame) -> pd.DataFrame:
    """One row: the history's average month (means of every numeric input; the latest plans)."""
    row = inputs.mean(numeric_only=True).to_frame().T
    for c in ("dept_plan", "dept_margin_plan", "head_plan"):
        if inputs[c].notna().any():
            row[c] = float(inputs[c].dropna().iloc[-1])
    row["path"], row["month"], row["quarter"], row["quarter_end"] = 0, 0, 0, False
    return row


def payout_curves(schemes: dict[str, Scheme], inputs: pd.DataFrame, grid=None) -> pd.DataFrame:
    """Pay against the department's plan attainment, other inputs at the history's average month.

    Revenue-linked inputs (the head's revenue, the margin, units, money collected) move with
    revenue; the year-ago revenue, overdue receivables, NPS and LTV stay at their averages.
    Without a plan the x-axis is revenue relative to the history's mean. Columns: ``scheme``,
    ``attainment_pct``, ``pay`` (the head's total pay in that month).
    """
    grid = np.arange(0, 201, 2.0) if grid is None else np.asarray(grid, dtype=float)
    base = typical_month(inputs)
    plan = float(base["dept_plan"].iloc[0]) if np.isfinite(base["dept_plan"].iloc[0]) and base["dept_plan"].iloc[0] > 0 else np.nan
    ref = plan if np.isfinite(plan) else float(base["dept_revenue"].iloc[0])
    df = pd.concat([base] * len(grid), ignore_index=True)
    rev0 = float(base["dept_revenue"].iloc[0])
    scale = grid / 100.0 * ref / rev0 if rev0 > 0 else np.zeros(len(grid))
    for c in ["dept_revenue", "head_revenue", "dept_margin", "head_margin", "receivables_collected"] + [c for c in df.columns if c.startswith("units.")]:
        df[c] = df[c].to_numpy(dtype=float) * scale
    df["path"] = np.arange(len(grid))
    out = []
    for key, s in schemes.items():
        out.append(pd.DataFrame({"scheme": key, "attainment_pct": grid, "pay": payout(s, df)["total"].to_numpy()}))
    res = pd.concat(out, ignore_index=True)
    res.attrs.update(reference=ref, has_plan=bool(np.isfinite(plan)))
    return res
