"""Each scheme's payout for each past month, from the dataset's plan and fact.

:func:`monthly_inputs` turns a loaded dataset into one row per complete month
(:data:`~salesaudit.incentives.schemes.INPUT_COLUMNS`):

* revenue is money received (``payments.paid_at`` in the month, as in notebook 04) or, when
  the export has no payments or ``assumptions.revenue: won``, the amount of deals won;
* the head of sales is the ``managers`` row with role ``head_of_sales``; the head's revenue is
  that of the deals they own;
* plans come from the ``plans`` table (the team row, else the sum of the managers' rows);
* the margin is revenue × the assumed ``margin_pct`` (a CRM export has no cost of goods);
* units are won deals per product (by ``closed_at``);
* receivables: each won deal falls due by its ``payment_terms`` (prepaid and postpaid after the
  assumed days, ``instalment_Nm`` in N monthly parts from the win); *overdue* is what fell due by
  the month's end and was not paid by then, *collected* the payments in the month on deals won
  before it;
* NPS and LTV are the assumed values (a CRM export has neither).

The first ``warmup_months`` months of the data are left out, and a year-ago value exists only
when that month is in the history too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .schemes import Scheme, complete_inputs, payout

__all__ = ["monthly_inputs", "history", "history_summary"]


def _head(ds):
    from ..analysis.scorecard import head_of_sales

    return head_of_sales(ds)["manager"]


def _month(ts) -> pd.Series:
    return pd.to_datetime(ts).dt.strftime("%Y-%m")


def monthly_inputs(ds, assumptions) -> pd.DataFrame:
    """One row per complete month of the dataset: the inputs every scheme is paid from.

    ``attrs``: ``revenue_basis`` (``received``/``won``), ``head`` (the head's key or None),
    ``has_plans``, ``assumed`` (the input columns that are assumptions, not data).
    """
    deals = ds.tables["deals"]
    a = assumptions
    won = deals[deals["outcome"] == "won"].copy()
    won["month"] = _month(won["closed_at"])
    basis = "received" if (a.revenue == "received" and ds.has("payments") and len(ds.tables["payments"])) else "won"
    if basis == "received":
        pay = ds.tables["payments"].merge(deals[["deal_id", "manager"]], on="deal_id", how="left")
        rev = pd.DataFrame({"month": _month(pay["paid_at"]), "manager": pay["manager"].astype(object), "amount": pay["amount"].astype(float)})
    else:
        rev = pd.DataFrame({"month": won["month"], "manager": won["manager"].astype(object), "amount": won["amount"].astype(float).fillna(0.0)})
    first = pd.Period(pd.to_datetime(deals["created_at"]).min(), "M") + a.warmup_months
    as_of = pd.Timestamp(ds.as_of)
    last = pd.Period(as_of, "M")
    if (as_of + pd.Timedelta(seconds=1)).to_period("M") == last:  # the audit month is not complete
        last = last - 1
    months = [str(p) for p in pd.period_range(first, last, freq="M")] if first <= last else []
    head = _head(ds)
    out = pd.DataFrame({"month": months})
    out["path"] = 0
    out["dept_revenue"] = out["month"].map(rev.groupby("month")["amount"].sum()).fillna(0.0)
    hr = rev[rev["manager"] == head] if head is not None else rev.iloc[:0]
    out["head_revenue"] = out["month"].map(hr.groupby("month")["amount"].sum()).fillna(0.0)
    out["dept_plan"], out["head_plan"] = np.nan, np.nan
    if ds.has("plans"):
        pl = ds.tables["plans"]
        pl = pl[pl["metric"] == "revenue"]
        team = pl[pl["manager"].isna()].groupby(pl["period"].astype(str))["target"].sum()
        mgr = pl[pl["manager"].notna()].groupby(pl["period"].astype(str))["target"].sum()
        plan = out["month"].map(team)
        out["dept_plan"] = plan.where(plan.notna(), out["month"].map(mgr)).astype(float)
        if head is not None:
            out["head_plan"] = out["month"].map(pl[pl["manager"] == head].groupby(pl["period"].astype(str))["target"].sum()).astype(float)
    m = a.margin_pct / 100.0
    out["dept_margin"] = out["dept_revenue"] * m
    out["head_margin"] = out["head_revenue"] * m
    out["dept_margin_plan"] = out["dept_plan"] * m
    per = pd.PeriodIndex(out["month"], freq="M") if len(out) else pd.PeriodIndex([], freq="M")
    by_month = dict(zip(out["month"], out["dept_revenue"]))
    out["revenue_year_ago"] = [by_month.get(str(p - 12), np.nan) for p in per]
    out["margin_year_ago"] = out["revenue_year_ago"] * m
    out["quarter"] = [f"{p.year}Q{p.quarter}" for p in per]
    out["quarter_end"] = [p.month % 3 == 0 for p in per]
    products = sorted(won["product"].dropna().astype(str).unique()) if "product" in won.columns else []
    for p in products:
        u = won[won["product"].astype(str) == p].groupby("month").size()
        out[f"units.{p}"] = out["month"].map(u).fillna(0).astype(float)
    out["deals_won"] = out["month"].map(won.groupby("month").size()).fillna(0).astype(float)
    coll, overdue = _receivables(ds, won, months, a.receivables)
    out["receivables_collected"] = coll
    out["overdue_receivables"] = overdue
    out["nps"] = np.nan if a.nps is None else float(a.nps)
    out["ltv"] = np.nan if a.ltv is None else float(a.ltv)
    out = complete_inputs(out)
    out.attrs.update(revenue_basis=basis, head=head, has_plans=bool(out["dept_plan"].notna().any()), products=products,
                     assumed=["dept_margin", "head_margin", "nps", "ltv"])
    return out


def _receivables(ds, won: pd.DataFrame, months: list[str], rules) -> tuple[np.ndarray, np.ndarray]:
    n = len(months)
    if not n or not ds.has("payments") or not len(won):
        return np.full(n, np.nan), np.full(n, np.nan)
    pay = ds.tables["payments"][["deal_id", "paid_at", "amount"]]
    w = won[["deal_id", "closed_at", "amount", "payment_terms"]].copy() if "payment_terms" in won.columns else won[["deal_id", "closed_at", "amount"]].assign(payment_terms=None)
    w["amount"] = w["amount"].astype(float).fillna(0.0)
    terms = w["payment_terms"].astype(object).where(w["payment_terms"].notna(), "postpaid").astype(str)
    rows = []
    for (deal, closed, amount, term) in zip(w["deal_id"], pd.to_datetime(w["closed_at"]), w["amount"], terms):
        if term.startswith("instalment_") and term[len("instalment_"):-1].isdigit():
            k = int(term[len("instalment_"):-1])
            rows += [(deal, closed + pd.DateOffset(months=i), amount / k) for i in range(k)]
        else:
            days = rules.prepaid_days if term == "prepaid" else rules.postpaid_days
            rows.append((deal, closed + pd.Timedelta(days=days), amount))
    due = pd.DataFrame(rows, columns=["deal_id", "due_at", "due"])
    closed_by = w.set_index("deal_id")["closed_at"]
    pay = pay[pay["deal_id"].isin(closed_by.index)]
    coll, over = [], []
    for mth in months:
        start = pd.Period(mth, "M").start_time
        end = start + pd.offsets.MonthBegin(1)
        inm = pay[(pay["paid_at"] >= start) & (pay["paid_at"] < end)]
        coll.append(float(inm.loc[inm["deal_id"].map(closed_by) < start, "amount"].sum()))
        d = due[due["due_at"] < end].groupby("deal_id")["due"].sum()
        p = pay[pay["paid_at"] < end].groupby("deal_id")["amount"].sum()
        over.append(float(np.maximum(d - p.reindex(d.index).fillna(0.0), 0.0).sum()))
    return np.asarray(coll), np.asarray(over)


def history(schemes: dict[str, Scheme], inputs: pd.DataFrame) -> pd.DataFrame:
    """Long table: ``scheme``, ``month``, ``dept_revenue``, ``dept_margin``, the pay parts, ``total``,
    ``cost`` (pay + sellers' commission on handed deals), ``cost_pct_revenue``, ``cost_pct_margin``."""
    parts = []
    for key, s in schemes.items():
        p = payout(s, inputs)
        df = pd.DataFrame({"scheme": key, "month": inputs["month"].to_numpy(), "dept_revenue": inputs["dept_revenue"].to_numpy(),
                           "dept_margin": inputs["dept_margin"].to_numpy(), "attainment_pct": _att(inputs),
                           "base": p["base"].to_numpy(), "variable": p["variable"].to_numpy(), "total": p["total"].to_numpy(), "cost": p["cost"].to_numpy()})
        with np.errstate(divide="ignore", invalid="ignore"):
            df["cost_pct_revenue"] = np.where(df["dept_revenue"] > 0, 100.0 * df["cost"] / df["dept_revenue"], np.nan)
            df["cost_pct_margin"] = np.where(df["dept_margin"] > 0, 100.0 * df["cost"] / df["dept_margin"], np.nan)
        parts.append(df)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _att(inputs):
    plan = inputs["dept_plan"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(plan > 0, 100.0 * inputs["dept_revenue"].to_numpy(dtype=float) / np.where(plan > 0, plan, 1.0), np.nan)


def history_summary(hist: pd.DataFrame) -> pd.DataFrame:
    """Per scheme: months, mean / min / max monthly pay, its standard deviation and coefficient of
    variation (volatility), the total cost and the cost as % of revenue and of margin over the history."""
    rows = []
    for key, g in hist.groupby("scheme", sort=False):
        pay = g["total"].to_numpy(dtype=float)
        cost = g["cost"].sum()
        sd = float(np.std(pay, ddof=1)) if len(pay) > 1 else np.nan
        rows.append({"scheme": key, "months": len(g), "mean_pay": float(pay.mean()), "min_pay": float(pay.min()), "max_pay": float(pay.max()),
                     "sd_pay": sd, "cv_pct": 100.0 * sd / pay.mean() if pay.mean() > 0 else np.nan,
                     "variable_share_pct": 100.0 * g["variable"].sum() / g["total"].sum() if g["total"].sum() > 0 else np.nan,
                     "total_cost": float(cost),
                     "cost_pct_revenue": 100.0 * cost / g["dept_revenue"].sum() if g["dept_revenue"].sum() > 0 else np.nan,
                     "cost_pct_margin": 100.0 * cost / g["dept_margin"].sum() if g["dept_margin"].sum() > 0 else np.nan})
    return pd.DataFrame(rows)
