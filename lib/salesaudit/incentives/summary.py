"""Key results of notebook 05 for :func:`salesaudit.runs.record.record` (keys ``record.incentives_*``)."""
from __future__ import annotations

import pandas as pd

__all__ = ["summary"]


def summary(hist_summary: pd.DataFrame | None = None, mc=None, focus_result=None, gaming_table: pd.DataFrame | None = None, claim: dict | None = None) -> dict:
    """The notebook's key results as plain, rounded values (what is missing is left out)."""
    out: dict = {}
    if hist_summary is not None and len(hist_summary):
        out["incentives_schemes"] = hist_summary["scheme"].tolist()
        out["incentives_history_months"] = int(hist_summary["months"].iloc[0])
        out["incentives_history_cost_pct_revenue"] = {r.scheme: round(float(r.cost_pct_revenue), 2) for r in hist_summary.itertuples()}
    if mc is not None:
        out["incentives_mc_cost"] = {r.scheme: {"p50": round(r.p50), "p90": round(r.p90), "reserve": round(r.reserve)} for r in mc.summary.itertuples()}
    if focus_result is not None:
        out["incentives_focus"] = {r.scheme: {"selling_share": round(float(r.selling_share), 2), "dept_revenue": round(r.dept_revenue), "owner_profit": round(r.owner_profit)}
                                   for r in focus_result.table.itertuples()}
    if claim is not None:
        out["incentives_seeds_claim_holds"] = bool(claim["holds"])
    if gaming_table is not None and len(gaming_table):
        out["incentives_gaming_max"] = {r.scheme: round(max(r.pull_in_max, r.push_out_max, 0.0)) for r in gaming_table.itertuples()}
    return out
