"""The focus model: how a scheme moves the head's hours between own deals and managing the team.

Each month the head has ``hours_per_month``; ``fixed_hours`` go to operations, hiring and the
other services, and the rest — the *flexible* hours — split between:

* **own deals**: ``revenue_per_selling_hour`` of revenue per hour, this month;
* **managing** (coaching the team): the team's revenue is its no-coaching level times
  :class:`salesaudit.sim.coaching.CoachingEffect`'s multiplier — a skill stock built by the hours,
  shown after ``lag`` months, carried over (``carryover``) and with diminishing returns
  (``max_lift``, ``half_hours``). The team starts at the stock of ``initial_coaching_hours`` a
  month, and ``team_revenue`` is its revenue at that level.

The head keeps one split for the horizon (``months``) and picks, from the shares
``0, split_step, …, 1`` of flexible hours on own deals, the one that maximises their own pay
weighted by ``head_discount^t`` (a short-sighted head discounts later months). For that split the
model reports the department's revenue and the owner's profit (margin − the scheme's cost) over
the horizon, next to the owner's own best split. Own deals count in the department's revenue and
plan; the year-ago revenue of a growth bonus is the department's revenue at the initial split; a
personal plan a scheme leaves empty is the initial split's own revenue. NPS, LTV and overdue
receivables stay at their assumed or average values (the model does not say how coaching moves
them). Everything is deterministic: expected values, no draws. The seeds' claim in words is
:func:`salesaudit.report.incentives.explanation`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .schemes import Scheme, complete_inputs, payout

__all__ = ["focus_context", "focus", "FocusResult", "focus_inputs", "seeds_claim"]


def focus_context(inputs: pd.DataFrame | None, assumptions) -> dict:
    """The department's figures the focus model starts from: from the assumptions where given, else
    from the history's last 12 months. ``sources`` says which came from where."""
    F = assumptions.focus
    h = inputs.tail(12) if inputs is not None and len(inputs) else None
    src = {}
    if F.team_revenue is not None:
        team, src["team_revenue"] = F.team_revenue, "assumption"
    elif h is not None and (h["dept_revenue"] - h["head_revenue"]).mean() > 0:
        team, src["team_revenue"] = float((h["dept_revenue"] - h["head_revenue"]).mean()), "data"
    else:
        raise ValueError("the focus model needs the team's monthly revenue: set `focus.team_revenue` in the assumptions (the data give none)")
    if F.department_plan is not None:
        plan, src["department_plan"] = F.department_plan, "assumption"
    elif h is not None and h["dept_plan"].notna().any():
        plan, src["department_plan"] = float(h["dept_plan"].mean()), "data"
    else:
        plan, src["department_plan"] = team * 1.1, "team_revenue × 1.1"
    rev = float(h["dept_revenue"].sum()) if h is not None else 0.0
    units = {c: float(h[c].sum() / rev) if rev > 0 else 0.0 for c in (h.columns if h is not None else []) if c.startswith("units.")}
    coll = float(h["receivables_collected"].sum() / rev) if h is not None and rev > 0 and h["receivables_collected"].notna().any() else np.nan
    overdue = float(h["overdue_receivables"].mean()) if h is not None and h["overdue_receivables"].notna().any() else np.nan
    return {"team_revenue": team, "department_plan": plan, "units_per_revenue": units, "collected_share": coll, "overdue": overdue, "sources": src}


def focus_inputs(assumptions, context: dict) -> pd.DataFrame:
    """The months of every split (``path`` = split index, ``share`` = share of flexible hours on own deals)."""
    F = assumptions.focus
    eff = F.coaching.effect()
    flex = F.flexible_hours
    shares = np.round(np.arange(0.0, 1.0 + 1e-9, F.split_step), 10)
    if shares[-1] < 1.0:
        shares = np.append(shares, 1.0)
    M = F.months
    team0 = context["team_revenue"] / eff.steady_multiplier(F.initial_coaching_hours)
    own0 = (flex - F.initial_coaching_hours) * F.revenue_per_selling_hour
    m = assumptions.margin_pct / 100.0
    rows = []
    for i, s in enumerate(shares):
        coach = (1.0 - s) * flex
        mult = eff.multiplier(np.full(M, coach), initial=F.initial_coaching_hours)
        team = team0 * mult
        head = np.full(M, s * flex * F.revenue_per_selling_hour)
        rows.append(pd.DataFrame({"path": i, "share": s, "month": np.arange(M), "selling_hours": s * flex, "coaching_hours": coach,
                                  "team_revenue": team, "head_revenue": head, "dept_revenue": team + head}))
    df = pd.concat(rows, ignore_index=True)
    df["dept_plan"] = context["department_plan"]
    df["head_plan"] = F.head_plan if F.head_plan is not None else own0
    df["dept_margin"] = df["dept_revenue"] * m
    df["head_margin"] = df["head_revenue"] * m
    df["dept_margin_plan"] = df["dept_plan"] * m
    df["revenue_year_ago"] = context["team_revenue"] + own0
    df["margin_year_ago"] = df["revenue_year_ago"] * m
    df["quarter"] = df["month"] // 3
    df["quarter_end"] = df["month"] % 3 == 2
    for c, rate in context["units_per_revenue"].items():
        df[c] = rate * df["dept_revenue"]
    df["receivables_collected"] = context["collected_share"] * df["dept_revenue"]
    df["overdue_receivables"] = context["overdue"]
    df["nps"] = np.nan if assumptions.nps is None else assumptions.nps
    df["ltv"] = np.nan if assumptions.ltv is None else assumptions.ltv
    return complete_inputs(df)


@dataclass
class FocusResult:
    """The focus model's answer: per scheme the head's chosen split and what it produces."""

    table: pd.DataFrame  # one row per scheme
    monthly: pd.DataFrame  # scheme, month, team/head/dept revenue, pay at the chosen split
    curves: pd.DataFrame  # scheme, share, head_objective, head_pay, dept_revenue, owner_profit
    assumptions: dict = field(default_factory=dict)


def focus(schemes: dict[str, Scheme], assumptions, context: dict) -> FocusResult:
    """For each scheme, the split that maximises the head's (discounted) pay, and its 12 months.

    ``table`` columns: ``scheme``, ``selling_share`` (of flexible hours), ``selling_hours`` and
    ``coaching_hours`` per month, ``head_pay`` (over the horizon, undiscounted), ``dept_revenue``,
    ``owner_profit`` (margin − cost), ``dept_revenue_first2`` (the first two months),
    ``owner_best_share`` and ``owner_best_profit`` (the split the owner would pick).
    """
    F = assumptions.focus
    df = focus_inputs(assumptions, context)
    m = assumptions.margin_pct / 100.0
    disc = F.head_discount ** df["month"].to_numpy(dtype=float)
    rows, monthly, curves = [], [], []
    for key, s in schemes.items():
        p = payout(s, df)
        d = df[["path", "share", "month", "team_revenue", "head_revenue", "dept_revenue", "selling_hours", "coaching_hours"]].copy()
        d["pay"] = p["total"].to_numpy()
        d["cost"] = p["cost"].to_numpy()
        d["weighted_pay"] = d["pay"] * disc
        d["profit"] = m * d["dept_revenue"] - d["cost"]
        g = d.groupby("path", sort=True).agg(share=("share", "first"), head_objective=("weighted_pay", "sum"), head_pay=("pay", "sum"),
                                             dept_revenue=("dept_revenue", "sum"), owner_profit=("profit", "sum"))
        g["scheme"] = key
        curves.append(g.reset_index(drop=True))
        obj = np.round(g["head_objective"].to_numpy(), 6)
        best = int(np.argmax(obj))  # ties: the lowest share on own deals
        own_best = int(np.argmax(np.round(g["owner_profit"].to_numpy(), 6)))
        chosen = d[d["path"] == g.index[best]]
        first2 = chosen[chosen["month"] < 2]["dept_revenue"].sum()
        rows.append({"scheme": key, "selling_share": float(g["share"].iloc[best]), "selling_hours": float(chosen["selling_hours"].iloc[0]),
                     "coaching_hours": float(chosen["coaching_hours"].iloc[0]), "head_pay": float(g["head_pay"].iloc[best]),
                     "dept_revenue": float(g["dept_revenue"].iloc[best]), "owner_profit": float(g["owner_profit"].iloc[best]),
                     "dept_revenue_first2": float(first2), "owner_best_share": float(g["share"].iloc[own_best]),
                     "owner_best_profit": float(g["owner_profit"].iloc[own_best])})
        monthly.append(chosen.assign(scheme=key)[["scheme", "month", "share", "team_revenue", "head_revenue", "dept_revenue", "pay", "cost"]])
    shown = {"months": F.months, "hours_per_month": F.hours_per_month, "fixed_hours": F.fixed_hours, "flexible_hours": F.flexible_hours,
             "revenue_per_selling_hour": F.revenue_per_selling_hour, "initial_coaching_hours": F.initial_coaching_hours,
             "team_revenue": context["team_revenue"], "department_plan": context["department_plan"], "head_discount": F.head_discount,
             "margin_pct": assumptions.margin_pct, **{f"coaching.{k}": v for k, v in F.coaching.model_dump().items()},
             "sources": context.get("sources", {})}
    return FocusResult(table=pd.DataFrame(rows), monthly=pd.concat(monthly, ignore_index=True), curves=pd.concat(curves, ignore_index=True), assumptions=shown)


def seeds_claim(result: FocusResult, seeds_scheme: str, others) -> dict:
    """Whether the model reproduces the seeds' claim: under ``seeds_scheme`` the head spends more
    hours on own deals and the department's revenue over the horizon is lower than under each of
    ``others``. Returns ``holds`` and the figures behind it."""
    tb = result.table.set_index("scheme")
    me = tb.loc[seeds_scheme]
    rows = {o: {"more_selling": bool(me["selling_hours"] > tb.loc[o, "selling_hours"]),
                "less_revenue": bool(me["dept_revenue"] < tb.loc[o, "dept_revenue"]),
                "revenue_gap": float(tb.loc[o, "dept_revenue"] - me["dept_revenue"]),
                "profit_gap": float(tb.loc[o, "owner_profit"] - me["owner_profit"]),
                "early_gain": float(me["dept_revenue_first2"] - tb.loc[o, "dept_revenue_first2"])} for o in others}
    return {"holds": all(r["more_selling"] and r["less_revenue"] for r in rows.values()), "against": rows}
