"""Key results of notebook 05 for :func:`salesaudit.runs.record.record` (keys ``record.incentives_*``),
and the owner's answer (:func:`answer`): what each scheme costs and brings, and which one wins."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["summary", "answer"]


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


def answer(mc, focus_result=None) -> pd.DataFrame:
    """The owner's answer, one row per scheme of ``mc`` (a :class:`~salesaudit.incentives.montecarlo.MonteCarloResult`):

    ``cost_p50``, ``cost_p90``: the head's yearly cost (pay plus the sellers' commission on handed
    deals) over the Monte Carlo's ``mc.months`` months; ``dept_revenue`` (payments received) and
    ``owner_profit`` (margin minus the scheme's cost) over the focus model's horizon, under the
    split of hours the head picks (NaN without a focus result); ``best``: the winner.

    The winner has the highest owner's profit; without a focus result (no plan), the lowest P50
    cost. ``attrs``: ``metric`` (``owner_profit`` or ``cost_p50``), ``winner``, ``runner_up``
    (None with one scheme), ``cost_months`` and ``months`` (the focus model's horizon, None
    without it).

    >>> import types
    >>> mc = types.SimpleNamespace(months=12, summary=pd.DataFrame({"scheme": ["a", "b"], "p50": [2.0, 1.0], "p90": [3.0, 2.0]}))
    >>> a = answer(mc)
    >>> a["best"].tolist(), a.attrs["metric"], a.attrs["winner"], a.attrs["runner_up"]
    ([False, True], 'cost_p50', 'b', 'a')
    """
    s = mc.summary
    out = pd.DataFrame({"scheme": s["scheme"].to_numpy(), "cost_p50": s["p50"].to_numpy(float), "cost_p90": s["p90"].to_numpy(float)})
    months = None
    if focus_result is not None:
        f = focus_result.table.set_index("scheme")
        out["dept_revenue"] = out["scheme"].map(f["dept_revenue"]).astype(float)
        out["owner_profit"] = out["scheme"].map(f["owner_profit"]).astype(float)
        months = int(focus_result.assumptions["months"])
    else:
        out["dept_revenue"] = np.nan
        out["owner_profit"] = np.nan
    metric = "owner_profit" if focus_result is not None and out["owner_profit"].notna().all() else "cost_p50"
    order = out.sort_values(metric, ascending=metric == "cost_p50", kind="stable")["scheme"].tolist()
    out["best"] = out["scheme"] == order[0]
    out.attrs.update(metric=metric, winner=order[0], runner_up=order[1] if len(order) > 1 else None, cost_months=int(mc.months), months=months)
    return out
