"""The dataset as it looked at an earlier moment: for backtests.

:func:`snapshot` cuts every canonical table back to what the CRM knew at ``as_of``: rows
created later disappear, and what happened later to the rows that remain is undone — a deal
closed afterwards is open again in the stage it was in, a lead answered afterwards is
unanswered, a task done afterwards is not done. Calibrating on the snapshot and comparing the
forecast with what really followed is an honest backtest: nothing from the future leaks in.

One thing cannot be undone exactly: the canonical ``leads`` table has no moment of
disqualification, so a lead disqualified after ``as_of`` stays disqualified if it had been
answered by then (converted leads are reopened, since the deal's creation dates the decision).
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

__all__ = ["snapshot"]


def _before(col: pd.Series, T: pd.Timestamp) -> pd.Series:
    return col.notna() & (col <= T)


def snapshot(ds, as_of) -> "object":
    """A copy of ``ds`` with every table cut back to ``as_of`` (see the module docstring)."""
    T = pd.Timestamp(as_of)
    tables = {}
    src = ds.tables
    if "managers" in src:
        m = src["managers"].copy()
        m = m[~(m["hired_at"].notna() & (m["hired_at"] > T))]
        m.loc[m["left_at"].notna() & (m["left_at"] > T), "left_at"] = pd.NaT
        tables["managers"] = m.reset_index(drop=True)
    late_deals = set()
    if "deals" in src:
        d = src["deals"]
        d = d[d["created_at"] <= T].copy()
        reopen = d["closed_at"].notna() & (d["closed_at"] > T)
        d.loc[reopen, "closed_at"] = pd.NaT
        d.loc[reopen, "outcome"] = "open"
        if "lost_reason" in d:
            d.loc[reopen, "lost_reason"] = pd.NA
        if "stage_history" in src and reopen.any():
            h = src["stage_history"]
            h = h[h["entered_at"] <= T]
            h = h[h["deal_id"].isin(d.loc[reopen, "deal_id"])]
            order = {s: i for i, s in enumerate(ds.funnel.order())} if hasattr(ds.funnel, "order") else {}
            terminal = set(getattr(ds.funnel, "terminals", [ds.funnel.won, ds.funnel.lost]))
            h = h[~h["stage"].astype(str).isin(terminal)]
            h = h.assign(_o=h["stage"].astype(str).map(order)).sort_values(["deal_id", "entered_at", "_o"])
            last = h.groupby("deal_id", observed=True)["stage"].last()
            first_open = ds.funnel.open_stages[0] if hasattr(ds.funnel, "open_stages") else None
            new_stage = d.loc[reopen, "deal_id"].map(last)
            if first_open is not None:
                new_stage = new_stage.astype(object).where(new_stage.notna(), first_open)
            d["stage"] = d["stage"].astype(object)
            d.loc[reopen, "stage"] = new_stage.astype(object)
            d["stage"] = d["stage"].astype(src["deals"]["stage"].dtype)
        tables["deals"] = d.reset_index(drop=True)
        late_deals = set(src["deals"].loc[src["deals"]["created_at"] > T, "deal_id"].astype(str))
    if "leads" in src:
        le = src["leads"]
        le = le[le["created_at"] <= T].copy()
        late_resp = le["first_response_at"].notna() & (le["first_response_at"] > T)
        le.loc[late_resp, "first_response_at"] = pd.NaT
        conv_late = le["deal_id"].notna() & le["deal_id"].astype(str).isin(late_deals)
        status = le["status"].astype(object)
        status[conv_late] = "in_work"
        status[late_resp] = "new"
        le["status"] = pd.Categorical(status, categories=src["leads"]["status"].cat.categories) if hasattr(src["leads"]["status"], "cat") else status
        le.loc[conv_late | late_resp, "deal_id"] = pd.NA
        if "disqualify_reason" in le:
            le.loc[late_resp, "disqualify_reason"] = pd.NA
        tables["leads"] = le.reset_index(drop=True)
    if "stage_history" in src:
        h = src["stage_history"]
        tables["stage_history"] = h[h["entered_at"] <= T].reset_index(drop=True)
    if "activities" in src:
        a = src["activities"]
        a = a[a["created_at"] <= T].copy()
        a.loc[a["done_at"].notna() & (a["done_at"] > T), "done_at"] = pd.NaT
        tables["activities"] = a.reset_index(drop=True)
    if "payments" in src:
        p = src["payments"]
        tables["payments"] = p[p["paid_at"] <= T].reset_index(drop=True)
    for name, df in src.items():
        tables.setdefault(name, df)
    return replace(ds, tables=tables, as_of=T)
