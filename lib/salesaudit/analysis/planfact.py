"""Plan vs fact, the reverse funnel, the month-end forecast and growth (notebook 04).

* :func:`fact` — what happened per period bucket (day, ISO week or month) and manager, the team
  included (``manager == ""``), in the metric names of :data:`salesaudit.data.model.PLAN_METRICS`
  plus ``deals_created``, ``deals_closed``, ``conversion_closed`` and ``revenue_won``.
  ``revenue`` is **money received** (``payments.paid_at`` in the bucket), not the amount of deals
  won (that is ``revenue_won``). ``conversion`` is won deals per lead × 100 (the plans' convention),
  ``conversion_closed`` won / (won + lost) × 100, ``avg_deal`` the mean amount of the deals won.
* :func:`plan_vs_fact` — the period's plans against the fact, attainment in %, and the cumulative
  lag by day (the plan prorated by working days of the run's calendar).
* :func:`reverse_funnel` — the leads, deals, calls and meetings a revenue target needs, with
  bootstrap intervals.
* :func:`forecast` — the period-end revenue forecast from the open pipeline (method below), with a
  backtest mode (``as_of=`` earlier than the data's audit moment).
* :func:`growth` — month over month and year over year.
* :func:`analyse` — all of them for the run's period as one :class:`PlanFactResult` (no language,
  no formatting, no plotting; :meth:`PlanFactResult.key_figures` gives notebook 04's key results).
  The page a reader sees is made from it by :mod:`salesaudit.report.planfact`.

Forecast method
---------------
For every open stage ``s`` the history known at the forecast moment ``T`` gives one record per
entry into ``s`` in the last ``recent_days`` (180) days before ``T``: the time from the entry to the deal's close (won or lost, the competing outcomes)
or, for deals still open at ``T``, censored at ``T``. The Aalen–Johansen estimator
(:func:`salesaudit.stats.cumulative_incidence`) gives ``F_won(t)``, ``F_lost(t)`` and the
probability ``S(t)`` of being still open ``t`` days after entering ``s``. "Comparable" deals are
the same manager's entries into ``s`` when there are at least ``min_entries`` (30) of them, else
the team's (a manager whose deals slow down, like the demo's overloaded m02, is judged on his own
recent pace). An open deal that has
been in its stage ``a`` days is won by the period end ``E`` with probability
``(F_won(a + h) − F_won(a)) / S(a)``, ``h = E − T`` (conditioning on being open at age ``a``).
A won deal pays out over time: ``g_k(d)``, the share of the amount received within ``d`` days of
the win, is estimated per payment-terms group ``k`` from past won deals (≥ 10 deals, else all).
A deal won at ``T + u`` therefore adds ``amount × g_k(E − T − u)`` by ``E``; the win time follows
the increments of ``F_won`` on a grid. Already won deals add their expected further payments
``left × (g_k(a + h) − g_k(a)) / (1 − g_k(a))`` (``a`` days since the win, ``left`` the amount
not yet received): the share still to come that arrives by ``E``, given that it had not arrived
by ``T`` (a postpaid deal unpaid a month after the win is about to pay, not unlikely to).
Deals created after ``T`` arrive as a Poisson process at the rate of the ``recent_days``
before ``T``; each pays what a past deal created in that window paid within the days left to
``E`` after its creation (a deal drawn at random among those followed long enough).
The band: 10 000 seeded Monte Carlo draws in which every open deal is won and paid by ``E``
(Bernoulli, ``p_win × paid share``), every won deal pays what is left by ``E`` (Bernoulli with
the conditional share above) and the new deals are a compound Poisson draw; plus the money
received. P10/P50/P90 and the share of draws at or above the revenue plan.
Backtests on the demo as of the 15th of May–October 2026 (:func:`backtests`; the page shows
them): the realised month is inside the P10–P90 band in 5 of 6 months (August 0.1 % below its
P10); the expected payments of deals already won are within 13 % of what came in 5 of 6 months
(22 % above in May). Before the conditional payment share and the new deals (an unconditional
``g_k`` increment, no deals created after ``T``) the band held in 3 of 6 months on this demo
and in 0 of 6 on the previous draw of it, where the same model now holds in 4 of 6.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.clock import elapsed_days
from ..data.model import PLAN_METRICS, require_tables
from ..data.params import parse_period
from ..stats import cumulative_incidence, wilson

__all__ = [
    "ADDITIVE",
    "FACT_METRICS",
    "Forecast",
    "PlanFactResult",
    "analyse",
    "missing_tables",
    "fact",
    "plan_vs_fact",
    "cumulative_lag",
    "reverse_funnel",
    "forecast",
    "backtests",
    "growth",
    "summary",
]

_ANALYSIS = "plan vs fact"
#: metrics that add up over days and managers (the others are ratios)
ADDITIVE = ("revenue", "deals_won", "leads", "calls", "call_minutes", "meetings", "tasks_done", "deals_created", "deals_closed", "revenue_won")
FACT_METRICS = PLAN_METRICS + ("deals_created", "deals_closed", "conversion_closed", "revenue_won")
TEAM = ""


def missing_tables(ds, needed=("plans", "payments", "activities")) -> list[str]:
    """Tables plan vs fact needs that the dataset lacks (empty list: all there)."""
    return [n for n in ("deals",) + tuple(needed) if not ds.has(n)]


def _period(ds, period=None, grain=None):
    if period is None:
        period = ds.config.period
    if period is None:
        raise ValueError("no period: pass one (2026-10, 2026-W41, 2026-10-14) or set `period` in the run config")
    if hasattr(period, "start"):
        return period
    return parse_period(period, grain)


def _mgr(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "—").astype(str)


def _bucket(ts: pd.Series, grain: str) -> pd.Series:
    ts = pd.to_datetime(ts)
    if grain == "day":
        return ts.dt.strftime("%Y-%m-%d")
    if grain == "month":
        return ts.dt.strftime("%Y-%m")
    iso = ts.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)


def _events(ds, start, end) -> pd.DataFrame:
    """Long table of dated events: time, manager, metric, value (additive metrics only)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    parts = []

    def add(frame, time_col, metric, value=None):
        if frame is None or not len(frame):
            return
        tm = pd.to_datetime(frame[time_col])
        sel = (tm >= start) & (tm < end)
        f = frame[sel]
        parts.append(pd.DataFrame({"time": tm[sel].to_numpy(), "manager": _mgr(f["manager"]).to_numpy(), "metric": metric,
                                   "value": 1.0 if value is None else np.asarray(value[sel], dtype=float)}))

    deals = ds.tables["deals"]
    add(deals, "created_at", "deals_created")
    won = deals[deals["outcome"] == "won"]
    add(won, "closed_at", "deals_won")
    add(won, "closed_at", "revenue_won", won["amount"].fillna(0.0).to_numpy())
    closed = deals[deals["outcome"].isin(["won", "lost"])]
    add(closed, "closed_at", "deals_closed")
    if ds.has("leads"):
        add(ds.tables["leads"], "created_at", "leads")
    if ds.has("activities"):
        a = ds.tables["activities"]
        calls = a[a["type"] == "call"]
        add(calls, "created_at", "calls")
        add(calls, "created_at", "call_minutes", (calls["duration_sec"].fillna(0.0) / 60.0).to_numpy())
        add(a[a["type"] == "meeting"], "created_at", "meetings")
        tasks = a[(a["type"] == "task") & a["done_at"].notna()]
        add(tasks, "done_at", "tasks_done")
    if ds.has("payments"):
        p = ds.tables["payments"].merge(deals[["deal_id", "manager"]], on="deal_id", how="left")
        add(p, "paid_at", "revenue", p["amount"].to_numpy())
    if not parts:
        return pd.DataFrame(columns=["time", "manager", "metric", "value"])
    return pd.concat(parts, ignore_index=True)


def _ratios(wide: pd.DataFrame) -> pd.DataFrame:
    for m in ADDITIVE:
        if m not in wide.columns:
            wide[m] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        wide["conversion"] = np.where(wide["leads"] > 0, 100.0 * wide["deals_won"] / wide["leads"].where(wide["leads"] > 0), np.nan)
        wide["conversion_closed"] = np.where(wide["deals_closed"] > 0, 100.0 * wide["deals_won"] / wide["deals_closed"].where(wide["deals_closed"] > 0), np.nan)
        wide["avg_deal"] = np.where(wide["deals_won"] > 0, wide["revenue_won"] / wide["deals_won"].where(wide["deals_won"] > 0), np.nan)
    return wide


def fact(ds, start, end, grain: str = "month") -> pd.DataFrame:
    """The fact per bucket × manager in ``[start, end)``; the team has ``manager == ""``.

    Columns: ``bucket`` (a plan period label: ``2026-10``, ``2026-W41`` or ``2026-10-14``),
    ``manager``, then one column per name in :data:`FACT_METRICS`. Tables the export lacks give
    zeros for their metrics (see :func:`missing_tables`).
    """
    require_tables(ds, "deals", analysis=_ANALYSIS)
    ev = _events(ds, start, end)
    ev["bucket"] = _bucket(ev["time"], grain) if len(ev) else pd.Series(dtype=str)
    per = ev.pivot_table(index=["bucket", "manager"], columns="metric", values="value", aggfunc="sum", fill_value=0.0)
    team = ev.pivot_table(index=["bucket"], columns="metric", values="value", aggfunc="sum", fill_value=0.0)
    team["manager"] = TEAM
    team = team.reset_index().set_index(["bucket", "manager"])
    wide = pd.concat([per, team]).reset_index()
    wide.columns.name = None
    wide = _ratios(wide)
    return wide[["bucket", "manager", *FACT_METRICS]].sort_values(["bucket", "manager"], ignore_index=True)


def _workdays(cal, start, end) -> int:
    days = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end) - pd.Timedelta(nanoseconds=1), freq="D")
    return int(np.sum(cal.is_working_day(pd.Series(days)))) if len(days) else 0


def _plans_for(ds, p) -> pd.DataFrame:
    """Plan rows for the window ``p``: plans of other periods overlapping it are prorated by working days."""
    plans = ds.tables["plans"].copy()
    plans["manager"] = plans["manager"].astype(object).where(plans["manager"].notna(), TEAM).astype(str)
    cal = ds.calendar
    rows = []
    for label, g in plans.groupby(plans["period"].astype(str)):
        try:
            pp = parse_period(label)
        except ValueError:
            continue
        lo, hi = max(pp.start, p.start), min(pp.end, p.end)
        if lo >= hi:
            continue
        exact = pp.start == p.start and pp.end == p.end
        share = 1.0 if exact else _workdays(cal, lo, hi) / max(_workdays(cal, pp.start, pp.end), 1)
        if pp.grain != p.grain and pp.end - pp.start < p.end - p.start and not exact:
            share_target = g.copy()  # a finer plan inside the window: additive targets add up
        else:
            share_target = g.copy()
        share_target["target"] = np.where(share_target["metric"].isin(ADDITIVE), share_target["target"] * share, share_target["target"])
        share_target["finer"] = pp.end - pp.start < p.end - p.start
        rows.append(share_target)
    if not rows:
        return pd.DataFrame(columns=["manager", "metric", "target"])
    allp = pd.concat(rows, ignore_index=True)
    # prefer plans of the window's own grain or coarser; finer plans only when nothing else exists
    coarse = allp[~allp["finer"]]
    use = coarse if len(coarse) else allp
    add = use[use["metric"].isin(ADDITIVE)].groupby(["manager", "metric"], as_index=False)["target"].sum()
    rat = use[~use["metric"].isin(ADDITIVE)].groupby(["manager", "metric"], as_index=False)["target"].mean()
    return pd.concat([add, rat], ignore_index=True)


def plan_vs_fact(ds, period=None, grain=None) -> pd.DataFrame:
    """Plan against fact for the period, per manager (with a plan) and the team, per planned metric.

    Columns: ``manager`` (``""`` the team), ``metric``, ``plan``, ``fact``, ``attainment_pct``
    (fact / plan × 100), ``gap`` (fact − plan), plus ``expected_to_date`` and ``lag_pct``: the plan
    prorated by working days up to ``min(as_of, period end)`` and the fact's shortfall against it
    in % (negative: behind). Ratio metrics (conversion, avg_deal) are not prorated.
    """
    require_tables(ds, "deals", "plans", analysis=_ANALYSIS)
    p = _period(ds, period, grain)
    plans = _plans_for(ds, p)
    f = fact(ds, p.start, p.end, p.grain)
    f = f.drop(columns="bucket").groupby("manager", as_index=False).sum(numeric_only=True) if len(f) else f.drop(columns="bucket")
    f = _ratios(f)
    long = f.melt(id_vars="manager", var_name="metric", value_name="fact")
    out = plans.merge(long, on=["manager", "metric"], how="left")
    out["fact"] = out["fact"].where(out["fact"].notna(), np.where(out["metric"].isin(ADDITIVE), 0.0, np.nan))
    out = out.rename(columns={"target": "plan"})
    with np.errstate(divide="ignore", invalid="ignore"):
        out["attainment_pct"] = np.where(out["plan"] > 0, 100.0 * out["fact"] / out["plan"], np.nan)
    out["gap"] = out["fact"] - out["plan"]
    cal = ds.calendar
    cut = min(pd.Timestamp(ds.as_of), pd.Timestamp(p.end))
    done = _workdays(cal, p.start, cut) / max(_workdays(cal, p.start, p.end), 1)
    out["expected_to_date"] = np.where(out["metric"].isin(ADDITIVE), out["plan"] * done, out["plan"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["lag_pct"] = np.where(out["expected_to_date"] > 0, 100.0 * (out["fact"] / out["expected_to_date"] - 1.0), np.nan)
    order = {m: i for i, m in enumerate(PLAN_METRICS)}
    out["_o"] = out["metric"].map(order).fillna(99)
    out["_t"] = out["manager"] != TEAM
    out = out.sort_values(["_t", "manager", "_o"]).drop(columns=["_o", "_t"]).reset_index(drop=True)
    out.attrs.update(period=p.label, share_of_period_elapsed=done)
    return out


def cumulative_lag(ds, period=None, grain=None, metrics=("revenue", "deals_won", "leads", "calls")) -> pd.DataFrame:
    """Cumulative plan and fact by day within the period, per manager and the team.

    The plan of an additive metric is prorated by working days (a day's share is 1 / working
    days of the period on a working day, 0 otherwise). Columns: ``date``, ``manager``,
    ``metric``, ``plan_cum``, ``fact_cum``, ``lag`` (fact − plan), ``lag_pct``. Days after the
    audit moment are left out.
    """
    require_tables(ds, "deals", "plans", analysis=_ANALYSIS)
    p = _period(ds, period, grain)
    plans = _plans_for(ds, p)
    plans = plans[plans["metric"].isin(metrics)]
    days = pd.date_range(p.start, pd.Timestamp(p.end) - pd.Timedelta(days=1), freq="D")
    days = days[days <= pd.Timestamp(ds.as_of)]
    work = np.asarray(ds.calendar.is_working_day(pd.Series(days)), dtype=float)
    total = max(_workdays(ds.calendar, p.start, p.end), 1)
    share = np.cumsum(work) / total
    ev = _events(ds, p.start, p.end)
    ev = ev[ev["metric"].isin(metrics)]
    ev["date"] = pd.to_datetime(ev["time"]).dt.normalize()
    daily_m = ev.groupby(["manager", "metric", "date"])["value"].sum()
    daily_t = ev.groupby(["metric", "date"])["value"].sum()
    rows = []
    for r in plans.itertuples(index=False):
        if r.manager == TEAM:
            s = daily_t.xs(r.metric, level="metric") if r.metric in daily_t.index.get_level_values("metric") else pd.Series(dtype=float)
        else:
            key = (r.manager, r.metric)
            s = daily_m.loc[key] if key in daily_m.index.droplevel("date") else pd.Series(dtype=float)
        f = s.reindex(days, fill_value=0.0).cumsum().to_numpy()
        rows.append(pd.DataFrame({"date": days, "manager": r.manager, "metric": r.metric, "plan_cum": r.target * share, "fact_cum": f}))
    if not rows:
        return pd.DataFrame(columns=["date", "manager", "metric", "plan_cum", "fact_cum", "lag", "lag_pct"])
    out = pd.concat(rows, ignore_index=True)
    out["lag"] = out["fact_cum"] - out["plan_cum"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["lag_pct"] = np.where(out["plan_cum"] > 0, 100.0 * out["lag"] / out["plan_cum"], np.nan)
    return out


# --------------------------------------------------------------------------- reverse funnel


def _history_window(ds, p, months: int = 6):
    end = pd.Timestamp(p.start)
    return end - pd.DateOffset(months=months), end


def reverse_funnel(ds, revenue_target: float | None = None, period=None, months: int = 6, n_boot: int = 4000, alpha: float = 0.05) -> pd.DataFrame:
    """What a revenue target needs: won deals, deals, leads, calls and meetings, with intervals.

    Rates come from the ``months`` months before the period starts: the average won deal (mean
    amount of deals won there), deal → won among deals closed there, lead → deal among decided
    leads created there (converted / (converted + disqualified)), calls and meetings per deal
    created there. Needed: won = target / average deal, deals = won / p_won, leads = deals /
    p_lead, calls = deals × calls per deal, meetings likewise. Intervals: a seeded bootstrap
    (``ds.config.seed``) resampling the won amounts and drawing the two rates and the per-deal
    activity rates from their binomial / Poisson sampling distributions; the Wilson intervals
    of the rates are in ``attrs["rates"]``. The default target is the team's revenue plan.

    Columns: ``metric`` (won, deals, leads, calls, meetings), ``total``, ``low``, ``high``,
    ``per_manager``, ``per_manager_low``, ``per_manager_high``, ``per_day``, ``per_week``.
    Per manager: divided among the managers with a plan in the period (else the managers with
    deals in the window); per working day of the period; per week = per day × working days a week.
    """
    require_tables(ds, "deals", analysis="the reverse funnel")
    p = _period(ds, period)
    lo, hi = _history_window(ds, p, months)
    if revenue_target is None:
        require_tables(ds, "plans", analysis="the reverse funnel")
        pl = _plans_for(ds, p)
        tr = pl[(pl["manager"] == TEAM) & (pl["metric"] == "revenue")]["target"]
        if not len(tr):
            tr = pl[(pl["manager"] != TEAM) & (pl["metric"] == "revenue")]["target"].sum()
            revenue_target = float(tr)
        else:
            revenue_target = float(tr.iloc[0])
    deals = ds.tables["deals"]
    closed_in = deals["closed_at"].between(lo, hi, inclusive="left")
    won_amt = deals.loc[closed_in & (deals["outcome"] == "won"), "amount"].dropna().to_numpy(dtype=float)
    n_closed = int((closed_in & deals["outcome"].isin(["won", "lost"])).sum())
    k_won = int((closed_in & (deals["outcome"] == "won")).sum())
    created = deals["created_at"].between(lo, hi, inclusive="left")
    n_deals = int(created.sum())
    if ds.has("leads"):
        L = ds.tables["leads"]
        lc = L["created_at"].between(lo, hi, inclusive="left")
        k_lead = int((lc & (L["status"] == "converted")).sum())
        n_lead = int((lc & L["status"].isin(["converted", "disqualified"])).sum())
    else:
        k_lead = n_lead = 0
    calls = meetings = 0
    if ds.has("activities"):
        a = ds.tables["activities"]
        ac = a["created_at"].between(lo, hi, inclusive="left") & a["deal_id"].notna()
        calls = int((ac & (a["type"] == "call")).sum())
        meetings = int((ac & (a["type"] == "meeting")).sum())
    rng = np.random.default_rng(ds.config.seed)
    avg = float(np.mean(won_amt)) if len(won_amt) else np.nan
    p_won = k_won / n_closed if n_closed else np.nan
    p_lead = k_lead / n_lead if n_lead else np.nan
    cpd = calls / n_deals if n_deals else np.nan
    mpd = meetings / n_deals if n_deals else np.nan

    def need(avg_, pw, pl_, c, m):
        won = revenue_target / avg_
        d = won / pw
        return np.array([won, d, d / pl_, d * c, d * m])

    point = need(avg, p_won, p_lead, cpd, mpd)
    if len(won_amt) and n_closed and n_lead and n_deals:
        b_avg = rng.choice(won_amt, size=(n_boot, len(won_amt)), replace=True).mean(axis=1)
        b_pw = np.maximum(rng.binomial(n_closed, p_won, n_boot), 1) / n_closed
        b_pl = np.maximum(rng.binomial(n_lead, p_lead, n_boot), 1) / n_lead
        b_c = rng.poisson(calls, n_boot) / n_deals
        b_m = rng.poisson(meetings, n_boot) / n_deals
        boot = need(b_avg, b_pw, b_pl, b_c, b_m)
        low = np.nanpercentile(boot, 100 * alpha / 2, axis=1)
        high = np.nanpercentile(boot, 100 * (1 - alpha / 2), axis=1)
    else:
        low = high = np.full(5, np.nan)
    # managers to share the target
    n_mgr = 0
    if ds.has("plans"):
        pl = _plans_for(ds, p)
        n_mgr = pl.loc[pl["manager"] != TEAM, "manager"].nunique()
    if not n_mgr:
        n_mgr = deals.loc[created, "manager"].nunique() or 1
    wd = max(_workdays(ds.calendar, p.start, p.end), 1)
    per_week_days = len(ds.calendar.workdays) if hasattr(ds.calendar, "workdays") else 5
    out = pd.DataFrame({
        "metric": ["won", "deals", "leads", "calls", "meetings"],
        "total": point, "low": low, "high": high,
        "per_manager": point / n_mgr, "per_manager_low": low / n_mgr, "per_manager_high": high / n_mgr,
        "per_day": point / wd, "per_week": point / wd * per_week_days,
    })
    wl, wh = wilson(k_won, n_closed) if n_closed else (np.nan, np.nan)
    ll, lh = wilson(k_lead, n_lead) if n_lead else (np.nan, np.nan)
    out.attrs.update(
        revenue_target=revenue_target, period=p.label, window=(lo, hi), managers=int(n_mgr), working_days=wd,
        rates=pd.DataFrame({
            "rate": ["avg_deal", "won_of_closed", "deal_of_lead", "calls_per_deal", "meetings_per_deal"],
            "value": [avg, p_won, p_lead, cpd, mpd],
            "n": [len(won_amt), n_closed, n_lead, n_deals, n_deals],
            "low": [np.percentile(b_avg, 2.5) if len(won_amt) else np.nan, wl, ll, np.nan, np.nan],
            "high": [np.percentile(b_avg, 97.5) if len(won_amt) else np.nan, wh, lh, np.nan, np.nan],
        }) if len(won_amt) and n_closed and n_lead and n_deals else pd.DataFrame(),
    )
    return out


# --------------------------------------------------------------------------- forecast


def _known_state(ds, T: pd.Timestamp):
    """Deals as known at ``T``: created by T, outcome only if closed by T, current stage at T."""
    deals = ds.tables["deals"]
    d = deals[deals["created_at"] <= T].copy()
    closed_known = d["outcome"].isin(["won", "lost"]) & d["closed_at"].notna() & (d["closed_at"] <= T)
    d["outcome_T"] = np.where(closed_known, d["outcome"].astype(object), "open")
    d["closed_T"] = d["closed_at"].where(closed_known)
    open_stages = list(ds.funnel.open_stages)
    entries = None
    if ds.has("stage_history") and len(ds.tables["stage_history"]):
        h = ds.tables["stage_history"]
        h = h[(h["entered_at"] <= T) & h["stage"].isin(open_stages) & h["deal_id"].isin(d["deal_id"])]
        entries = h[["deal_id", "stage", "entered_at"]].copy()
        entries["stage"] = entries["stage"].astype(str)
        last = entries.sort_values("entered_at").groupby("deal_id").tail(1).set_index("deal_id")
        d["stage_T"] = d["deal_id"].map(last["stage"]).astype(object)
        d["entered_T"] = d["deal_id"].map(last["entered_at"])
    else:
        d["stage_T"] = d["stage"].astype(object).where(d["stage"].isin(open_stages), open_stages[-1])
        d["entered_T"] = d["created_at"]
    d["stage_T"] = d["stage_T"].where(d["stage_T"].notna(), open_stages[0])
    d["entered_T"] = d["entered_T"].where(d["entered_T"].notna(), d["created_at"])
    if entries is None:
        entries = d[["deal_id", "stage_T", "entered_T"]].rename(columns={"stage_T": "stage", "entered_T": "entered_at"})
    return d, entries


def _pay_curves(ds, T: pd.Timestamp, grid_days: int = 800) -> dict:
    """Share of a won deal's amount received within d days of the win, per payment-terms group."""
    deals = ds.tables["deals"]
    won = deals[(deals["outcome"] == "won") & deals["closed_at"].notna() & (deals["closed_at"] <= T) & (deals["amount"] > 0)]
    pay = ds.tables["payments"]
    pay = pay[pay["paid_at"] <= T].merge(won[["deal_id", "closed_at", "amount"]].rename(columns={"amount": "deal_amount"}), on="deal_id")
    pay["lag"] = np.maximum(elapsed_days(pay["closed_at"], pay["paid_at"], getattr(ds.config, "timezone", None)), 0.0)
    pay["share"] = pay["amount"] / pay["deal_amount"]
    terms = won["payment_terms"].astype(object).where(won["payment_terms"].notna(), "?").astype(str)
    terms.index = won["deal_id"].to_numpy()
    follow = ((T - won["closed_at"]).dt.total_seconds() / 86400.0).to_numpy()
    follow = pd.Series(follow, index=won["deal_id"].to_numpy())
    grid = np.arange(grid_days + 1, dtype=float)
    pay["group"] = pay["deal_id"].map(terms)

    def curve(ids) -> np.ndarray:
        # share received within d days among deals followed at least d days (censoring-aware mean)
        ids = pd.Index(ids)
        if not len(ids):
            return np.zeros_like(grid)
        fol = follow.reindex(ids).to_numpy()
        pp = pay[pay["deal_id"].isin(ids)]
        out = np.zeros_like(grid)
        lag, sh, did = pp["lag"].to_numpy(), pp["share"].to_numpy(), pp["deal_id"].to_numpy()
        fol_by = follow.reindex(did).to_numpy()
        for i, dd in enumerate(grid):
            at_risk = fol >= dd
            n = at_risk.sum()
            if n == 0:
                out[i] = out[i - 1] if i else 0.0
                continue
            m = (lag <= dd) & (fol_by >= dd)
            out[i] = min(sh[m].sum() / n, 1.0)
        return np.maximum.accumulate(out)

    curves = {"*": curve(won["deal_id"])}
    for g, ids in terms.groupby(terms).groups.items():
        if len(ids) >= 10:
            curves[g] = curve(ids)
    curves["_grid"] = grid
    return curves


def _g(curves, group, days):
    c = curves.get(group, curves["*"])
    idx = np.clip(np.floor(np.asarray(days, dtype=float)), 0, len(c) - 1).astype(int)
    return np.where(np.asarray(days) < 0, 0.0, c[idx])


def _step(times, values, x, before):
    i = np.searchsorted(times, x, side="right") - 1
    return np.where(i >= 0, values[np.clip(i, 0, None)], before)


def _new_deals(ds, T: pd.Timestamp, h: float, recent_days: int) -> dict:
    """Deals created after ``T``: their rate and what such a deal pays within ``x`` days.

    The rate is the deals created per calendar day in the ``recent_days`` before ``T``. The paid
    amounts come from the deals created in that window early enough to have been followed ``h``
    days by ``T``: ``paid[i, x]`` is what deal ``i`` had paid within ``x`` days of its creation
    (payments known at ``T``), on a grid of whole days ``0..ceil(h)``.
    """
    deals = ds.tables["deals"]
    start = T - pd.Timedelta(days=recent_days)
    created = deals.loc[(deals["created_at"] > start) & (deals["created_at"] <= T), ["deal_id", "created_at"]]
    rate = len(created) / float(recent_days)
    days = int(np.ceil(h))
    grid = np.arange(days + 1, dtype=float)
    ref = created[created["created_at"] <= T - pd.Timedelta(days=days)]
    paid = np.zeros((len(ref), days + 1))
    if len(ref) and days > 0:
        pay = ds.tables["payments"]
        pay = pay[pay["paid_at"] <= T].merge(ref, on="deal_id")
        lag = (pay["paid_at"] - pay["created_at"]).dt.total_seconds().to_numpy() / 86400.0
        pos = pd.Index(ref["deal_id"]).get_indexer(pay["deal_id"])
        first = np.clip(np.ceil(np.maximum(lag, 0.0)).astype(int), 0, days + 1)
        keep = first <= days
        np.add.at(paid, (pos[keep], first[keep]), pay["amount"].to_numpy(dtype=float)[keep])
        paid = np.cumsum(paid, axis=1)
    mean_paid = paid.mean(axis=0) if len(ref) else np.zeros(days + 1)
    return {"rate": rate, "grid": grid, "paid": paid, "mean_paid": mean_paid}


def _expected_new(new: dict, h: float) -> float:
    """The mean of :func:`_draw_new`: ``rate × ∫₀ʰ mean_paid(⌊u⌋) du``."""
    if h <= 0 or not len(new["paid"]):
        return 0.0
    m, k = new["mean_paid"], int(np.floor(h))
    return float(new["rate"] * (m[:k].sum() + (h - k) * m[min(k, len(m) - 1)]))


def _draw_new(new: dict, h: float, n_sims: int, rng) -> np.ndarray:
    """Money the deals created in ``(T, E]`` pay by ``E``: a compound Poisson draw per simulation.

    Each simulation draws the number of new deals (Poisson, ``rate × h``), a creation time for
    each (uniform over the horizon) and a past deal to play it (uniform among the reference
    deals); the new deal pays what that past deal paid within ``E − created`` days.
    """
    out = np.zeros(n_sims)
    paid = new["paid"]
    if h <= 0 or not len(paid) or new["rate"] <= 0:
        return out
    n = rng.poisson(new["rate"] * h, size=n_sims)
    total = int(n.sum())
    if not total:
        return out
    left = np.floor(rng.random(total) * h).astype(int)  # whole days from creation to E
    who = rng.integers(0, len(paid), size=total)
    vals = paid[who, np.clip(left, 0, paid.shape[1] - 1)]
    # summed per simulation in the order drawn (what np.add.at does, in one pass)
    return np.bincount(np.repeat(np.arange(n_sims), n), weights=vals, minlength=n_sims)


def _bernoulli_sums(rng, n_sims: int, p: np.ndarray, amounts: np.ndarray, block_bytes: int = 64 * 2**20) -> np.ndarray:
    """Per simulation, the sum of the ``amounts`` whose Bernoulli(``p``) draw came out true.

    The uniforms are drawn simulation by simulation (row-major, as one ``rng.random((n_sims,
    len(p)))`` would draw them), in blocks of rows, so that a large pipeline never holds
    ``n_sims × deals`` numbers at once.
    """
    out = np.zeros(n_sims)
    if not len(p):
        return out
    rows = max(1, int(block_bytes // (8 * len(p))))
    for a in range(0, n_sims, rows):
        b = min(n_sims, a + rows)
        out[a:b] = (rng.random((b - a, len(p))) < p[None, :]).astype(float) @ amounts
    return out


def _open_deal_chances(opn: pd.DataFrame, cif: dict, curves: dict, h: float, grid: int, us: np.ndarray):
    """Per open deal: the chance it is won by the period's end and the share of it paid by then.

    The deal's stage table is its stage and manager's cumulative incidence when there is one,
    else the stage's. With ``a`` the deal's age in the stage and ``S``, ``F_won`` the table's
    survival and cumulative incidence of a win: ``p_win = (F_won(a + h) − F_won(a)) / S(a)`` and
    the paid share is the payment curve averaged over the win times inside the horizon
    (``grid`` steps). Deals of one table are computed together.
    """
    n = len(opn)
    pw, share = np.zeros(n), np.zeros(n)
    if n == 0 or h == 0:
        return pw, share
    stage = opn["stage_T"].to_numpy(dtype=object)
    manager = opn["manager"].to_numpy(dtype=object)
    age = opn["age"].to_numpy(dtype=float)
    group = opn["group"].to_numpy(dtype=object)
    tables: dict = {}  # the table each deal uses -> the deals using it
    for i, (s, m) in enumerate(zip(stage, manager)):
        k = (s, m) if (s, m) in cif else (s if s in cif else None)
        tables.setdefault(k, []).append(i)
    paid_by_group = {g: _g(curves, g, h - us) for g in pd.unique(group)}
    offsets = np.linspace(0.0, h, grid + 1)
    for k, rows in tables.items():
        tab = cif.get(k) if k is not None else None
        if tab is None or len(tab) == 0:
            continue
        rows = np.asarray(rows)
        tm = tab["time"].to_numpy(dtype=float)
        Fw = tab["cif_won"].to_numpy(dtype=float)
        S = tab["survival"].to_numpy(dtype=float)
        a = age[rows]
        s_a = _step(tm, S, a, 1.0)
        live = s_a > 0
        rows, a, s_a = rows[live], a[live], s_a[live]
        F = _step(tm, Fw, a[:, None] + offsets[None, :], 0.0)
        inc = np.diff(F, axis=1) / s_a[:, None]
        p = np.minimum(np.maximum(F[:, -1] - F[:, 0], 0.0) / s_a, 1.0)
        paid = np.stack([paid_by_group[g] for g in group[rows]]) if len(rows) else np.zeros((0, grid))
        sh = np.where(p > 0, np.sum(inc * paid, axis=1) / np.where(p > 0, p, 1.0), 0.0)
        pw[rows], share[rows] = p, np.minimum(sh, 1.0)
    return pw, share


def forecast(ds, period=None, as_of=None, n_sims: int = 10000, grid: int = 20, min_entries: int = 30, recent_days: int | None = 180) -> dict:
    """Period-end revenue (money received) forecast from the open pipeline; see the module doc.

    ``as_of``: the forecast moment (default ``ds.as_of``); only what was known then is used.
    Returns a dict: ``as_of``, ``period``, ``received`` (by ``as_of`` in the period),
    ``expected_from_won`` (further payments of deals already won), ``expected_from_open``,
    ``p10``, ``p50``, ``p90``, ``mean``, ``plan`` (team revenue plan or None),
    ``chance_to_meet_plan``, ``actual`` (money received in the whole period as far as the data
    know — a backtest's realised figure when ``as_of`` is earlier than the data), ``deals`` (per
    open deal: stage, days in stage, amount, p_win, expected revenue) and ``sims`` (the draws).
    """
    require_tables(ds, "deals", "payments", analysis="the forecast")
    p = _period(ds, period)
    T = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(ds.as_of)
    E = pd.Timestamp(p.end)
    h = max((E - T).total_seconds() / 86400.0, 0.0)
    d, entries = _known_state(ds, T)
    outcome_by = d.set_index("deal_id")["outcome_T"]
    closed_by = d.set_index("deal_id")["closed_T"]
    ent = entries.copy()
    ent["closed"] = ent["deal_id"].map(closed_by)
    ent["event"] = ent["deal_id"].map(outcome_by)
    end_t = ent["closed"].where(ent["closed"].notna(), T)
    ent["dur"] = np.maximum(elapsed_days(ent["entered_at"], end_t, getattr(ds.config, "timezone", None)), 0.0)
    if recent_days:
        ent = ent[ent["entered_at"] >= T - pd.Timedelta(days=recent_days)]
    cif = {s: cumulative_incidence(g["dur"].to_numpy(), g["event"].astype(object).to_numpy()) for s, g in ent.groupby("stage") if len(g)}
    ent["manager"] = ent["deal_id"].map(d.set_index("deal_id")["manager"].astype(object))
    for (s, m), g in ent.groupby(["stage", "manager"]):
        if len(g) >= min_entries:
            cif[(s, m)] = cumulative_incidence(g["dur"].to_numpy(), g["event"].astype(object).to_numpy())
    opn = d[d["outcome_T"] == "open"].copy()
    opn["age"] = np.maximum((T - opn["entered_T"]).dt.total_seconds() / 86400.0, 0.0)
    curves = _pay_curves(ds, T)
    opn["group"] = opn["payment_terms"].astype(object).where(opn["payment_terms"].notna(), "?").astype(str)
    us = (np.arange(grid) + 0.5) / grid * h
    pw, pay_share = _open_deal_chances(opn, cif, curves, h, grid, us)
    opn["p_win"] = pw
    opn["paid_share_if_won"] = pay_share
    opn["amount"] = opn["amount"].fillna(0.0)
    opn["expected"] = opn["p_win"] * opn["paid_share_if_won"] * opn["amount"]
    pay = ds.tables["payments"]
    received = float(pay.loc[(pay["paid_at"] >= p.start) & (pay["paid_at"] <= T) & (pay["paid_at"] < E), "amount"].sum())
    actual = float(pay.loc[(pay["paid_at"] >= p.start) & (pay["paid_at"] < E) & (pay["paid_at"] <= pd.Timestamp(ds.as_of)), "amount"].sum())
    # deals already won by T: expected further payments by E
    won = d[d["outcome_T"] == "won"].copy()
    paid_T = pay[pay["paid_at"] <= T].groupby("deal_id")["amount"].sum()
    won["paid"] = won["deal_id"].map(paid_T).fillna(0.0)
    won["left"] = np.maximum(won["amount"].fillna(0.0) - won["paid"], 0.0)
    won = won[won["left"] > 0]
    won["group"] = won["payment_terms"].astype(object).where(won["payment_terms"].notna(), "?").astype(str)
    w_age_T = ((T - won["closed_T"]).dt.total_seconds() / 86400.0).to_numpy()
    left = won["left"].to_numpy(dtype=float)
    g0, g1 = np.zeros(len(won)), np.zeros(len(won))
    for grp, rows in won.groupby("group", sort=False).indices.items():
        g0[rows], g1[rows] = _g(curves, grp, w_age_T[rows]), _g(curves, grp, w_age_T[rows] + h)
    # the share still to come, paid by E, given that it has not come by T
    to_come = g0 < 1.0 - 1e-9
    e = np.where(to_come, left * np.minimum(np.maximum(g1 - g0, 0.0) / np.where(to_come, 1.0 - g0, 1.0), 1.0), 0.0)
    exp_won = float(sum(e.tolist()))  # summed in order, one deal after another
    won_exp = pd.DataFrame({"left": left, "p": e / left})
    rng = np.random.default_rng(ds.config.seed)
    # open deals: won with p_win, then the amount paid by E with the paid share's chance
    p_pay = (opn["p_win"] * opn["paid_share_if_won"]).to_numpy()
    sims = received + _bernoulli_sums(rng, n_sims, p_pay, opn["amount"].to_numpy(dtype=float))
    # won deals: what is left is paid by E with the chance that gives the expected payment
    if len(won_exp):
        sims = sims + _bernoulli_sums(rng, n_sims, won_exp["p"].to_numpy(), won_exp["left"].to_numpy(dtype=float))
    new_deals = _new_deals(ds, T, h, recent_days or 180)
    sims = sims + _draw_new(new_deals, h, n_sims, rng)
    plan = None
    if ds.has("plans"):
        pl = _plans_for(ds, p)
        tr = pl[(pl["manager"] == TEAM) & (pl["metric"] == "revenue")]["target"]
        plan = float(tr.iloc[0]) if len(tr) else (float(pl.loc[pl["metric"] == "revenue", "target"].sum()) or None)
    q = np.percentile(sims, [10, 50, 90])
    exp_new = _expected_new(new_deals, h)
    cols = ["deal_id", "manager", "stage_T", "age", "amount", "p_win", "paid_share_if_won", "expected"]
    return {
        "as_of": T, "period": p.label, "received": received, "expected_from_won": exp_won,
        "expected_from_open": float(opn["expected"].sum()), "open_deals": int(len(opn)),
        "expected_from_new": exp_new, "new_deals_per_day": float(new_deals["rate"]),
        "p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2]), "mean": float(sims.mean()),
        "plan": plan, "chance_to_meet_plan": float(np.mean(sims >= plan)) if plan else None,
        "actual": actual, "actual_complete": pd.Timestamp(ds.as_of) >= E - pd.Timedelta(seconds=1),
        "deals": opn[cols].rename(columns={"stage_T": "stage", "age": "days_in_stage"}).sort_values("expected", ascending=False, ignore_index=True),
        "sims": sims,
    }


# --------------------------------------------------------------------------- growth


def growth(ds) -> pd.DataFrame:
    """Revenue received and deals won per month, per manager and the team, MoM and YoY.

    Columns: ``month`` (``2026-10``), ``manager`` (``""`` the team), ``metric`` (revenue,
    deals_won), ``value``, ``prev_month``, ``mom_pct``, ``year_ago``, ``yoy_pct`` (NaN where the
    earlier month has no data or a zero).
    """
    require_tables(ds, "deals", analysis="growth")
    deals = ds.tables["deals"]
    lo = deals["created_at"].min()
    hi = pd.Timestamp(ds.as_of) + pd.Timedelta(seconds=1)
    f = fact(ds, lo, hi, "month")
    long = f[["bucket", "manager", "revenue", "deals_won"]].melt(id_vars=["bucket", "manager"], var_name="metric", value_name="value")
    long = long.rename(columns={"bucket": "month"})
    months = pd.period_range(pd.Period(lo, "M"), pd.Period(pd.Timestamp(ds.as_of), "M"), freq="M").strftime("%Y-%m")
    full = pd.MultiIndex.from_product([months, long["manager"].unique(), ["revenue", "deals_won"]], names=["month", "manager", "metric"])
    s = long.set_index(["month", "manager", "metric"])["value"].reindex(full, fill_value=0.0).sort_index()
    out = s.reset_index()
    out["month_p"] = pd.PeriodIndex(out["month"], freq="M")
    key = out.set_index(["month_p", "manager", "metric"])["value"]

    def look(shift):
        idx = list(zip(out["month_p"] - shift, out["manager"], out["metric"]))
        return key.reindex(pd.MultiIndex.from_tuples(idx, names=key.index.names)).to_numpy()

    out["prev_month"] = look(1)
    out["year_ago"] = look(12)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mom_pct"] = np.where(out["prev_month"] > 0, 100.0 * (out["value"] / out["prev_month"] - 1), np.nan)
        out["yoy_pct"] = np.where(out["year_ago"] > 0, 100.0 * (out["value"] / out["year_ago"] - 1), np.nan)
    return out.drop(columns="month_p")[["month", "manager", "metric", "value", "prev_month", "mom_pct", "year_ago", "yoy_pct"]]



# --------------------------------------------------------------------------- the result of notebook 04's plan vs fact


@dataclass(frozen=True)
class Forecast:
    """A period-end revenue forecast: :func:`forecast`'s dict as typed fields (``deals_``: per open deal)."""

    as_of: pd.Timestamp
    period: str
    received: float
    expected_from_won: float
    expected_from_open: float
    open_deals: int
    expected_from_new: float
    new_deals_per_day: float
    p10: float
    p50: float
    p90: float
    mean: float
    plan: float | None
    chance_to_meet_plan: float | None
    actual: float
    actual_complete: bool
    deals_: pd.DataFrame
    sims: np.ndarray

    @classmethod
    def of(cls, fc: dict) -> Forecast:
        """The typed copy of a :func:`forecast` dict."""
        return cls(**{("deals_" if k == "deals" else k): v for k, v in fc.items()})

    @property
    def has_band(self) -> bool:
        """Whether open deals leave a band (P90 above P10); otherwise the forecast is the fact."""
        return bool(self.open_deals and self.p90 > self.p10)

    @property
    def inside(self) -> bool:
        """Whether the revenue realised in the period lies within P10–P90 (a backtest's verdict)."""
        return bool(self.p10 <= self.actual <= self.p90)


@dataclass(frozen=True)
class PlanFactResult:
    """What notebook 04 reports on plan vs fact, computed once; no language, no formatting.

    ``available`` is false when a table the analyses need is missing (``missing``) or the run
    config sets no ``period``: then the tables are empty and the rest is None. Tables (canonical
    column names; ``manager == ""`` is the team, metrics are codes):

    * ``plan_vs_fact_`` – :func:`plan_vs_fact` of the period;
    * ``cumulative_lag_`` – :func:`cumulative_lag` by day;
    * ``reverse_funnel_`` and ``reverse_rates_`` – :func:`reverse_funnel` and the rates behind it;
    * ``growth_`` – :func:`growth`, every month, manager and metric.

    ``forecast`` is the period-end forecast as of the audit moment, ``backtest`` the one made on
    the period's ``backtest_day`` (settings), whose realised revenue is known. ``backtests_`` is
    :func:`backtests`: the same backtest for the audited period and the ``backtest_periods − 1``
    before it, so the reader sees how often the band held.
    """

    client: str
    period: str | None
    as_of: pd.Timestamp
    seed: int
    manager_names: dict
    missing: tuple = ()
    period_label: str | None = None
    share_of_period_elapsed: float | None = None
    plan_vs_fact_: pd.DataFrame = field(default_factory=pd.DataFrame)
    cumulative_lag_: pd.DataFrame = field(default_factory=pd.DataFrame)
    reverse_funnel_: pd.DataFrame = field(default_factory=pd.DataFrame)
    reverse_rates_: pd.DataFrame = field(default_factory=pd.DataFrame)
    revenue_target: float | None = None
    reverse_window: tuple = ()
    reverse_managers: int | None = None
    reverse_working_days: int | None = None
    forecast: Forecast | None = None
    backtest: Forecast | None = None
    backtests_: pd.DataFrame = field(default_factory=pd.DataFrame)
    growth_: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def available(self) -> bool:
        return not self.missing and self.period is not None

    def key_figures(self) -> dict:
        """The key results of notebook 04's plan vs fact (language-neutral), read off this result."""
        if not self.available:
            return {"planfact_available": False}
        bt = self.backtest
        return {
            **_key_results(self.plan_vs_fact_, self.period_label, self.forecast),
            "planfact_backtest": {"as_of": bt.as_of.isoformat(), "p10": round(bt.p10), "p50": round(bt.p50), "p90": round(bt.p90),
                                  "actual": round(bt.actual), "inside": bt.inside},
            "planfact_backtests_inside": int(self.backtests_["inside"].sum()),
            "planfact_backtests": int(len(self.backtests_)),
        }


def _key_results(pvf: pd.DataFrame, period_label: str, fc: Forecast | None) -> dict:
    """Key results of a period's plan vs fact and its forecast (None: no payments to forecast)."""
    out: dict = {"planfact_available": True, "planfact_period": period_label}
    team = pvf[pvf["manager"] == TEAM].set_index("metric")
    for m in ("revenue", "deals_won", "leads"):
        if m in team.index:
            out[f"planfact_team_{m}_attainment_pct"] = round(float(team.loc[m, "attainment_pct"]), 1)
    if "revenue" in team.index:  # money received in the period, and its plan (None: no plan)
        out["planfact_team_revenue"] = round(float(team.loc["revenue", "fact"]), 2)
        plan = team.loc["revenue", "plan"]
        out["planfact_team_revenue_plan"] = None if pd.isna(plan) else round(float(plan), 2)
    mgr = pvf[(pvf["manager"] != TEAM) & (pvf["metric"] == "revenue")]
    out["planfact_managers_below_plan_revenue"] = sorted(mgr.loc[mgr["attainment_pct"] < 100, "manager"].tolist())
    if fc is not None:
        out.update(planfact_forecast_p10=round(fc.p10), planfact_forecast_p50=round(fc.p50), planfact_forecast_p90=round(fc.p90),
                   planfact_chance_to_meet_plan=None if fc.chance_to_meet_plan is None else round(fc.chance_to_meet_plan, 3))
    return out


def _backtest_moment(ds, p, day: int) -> pd.Timestamp:
    """The moment a period is backtested from: its ``day``-th day (a month) or its middle (a week or a day),
    never later than the audit moment."""
    start, end = pd.Timestamp(p.start), pd.Timestamp(p.end)
    offset = pd.Timedelta(days=day - 1) if p.grain == "month" else (end - start) / 2
    return min(start + min(offset, end - start - pd.Timedelta(seconds=1)), pd.Timestamp(ds.as_of))


def backtests(ds, period, day: int = 15, periods: int = 6, **forecast_kw) -> pd.DataFrame:
    """The forecast of ``period`` and of the ``periods − 1`` before it, each made on its ``day``.

    One row per period that the data cover from its start (oldest first): ``period``, ``as_of``,
    ``p10``, ``p50``, ``p90``, ``actual`` (money received in the period as far as the data know),
    ``complete`` (the period has ended by the audit moment) and ``inside`` (P10 ≤ actual ≤ P90).
    An 80 % band should hold in about 8 periods of 10.
    """
    p = _period(ds, period)
    first = pd.Timestamp(ds.tables["deals"]["created_at"].min())
    rows = []
    for k in range(periods - 1, -1, -1):
        if p.grain == "month":
            start = (pd.Timestamp(p.start) - pd.DateOffset(months=k)).strftime("%Y-%m")
        else:
            start = (pd.Timestamp(p.start) - k * (pd.Timestamp(p.end) - pd.Timestamp(p.start))).strftime("%Y-%m-%d")
        pk = parse_period(start, p.grain)
        if pd.Timestamp(pk.start) < first:
            continue
        fc = forecast(ds, pk, as_of=_backtest_moment(ds, pk, day), **forecast_kw)
        rows.append({"period": pk.label, "as_of": fc["as_of"], "p10": fc["p10"], "p50": fc["p50"], "p90": fc["p90"],
                     "actual": fc["actual"], "complete": bool(fc["actual_complete"]), "inside": bool(fc["p10"] <= fc["actual"] <= fc["p90"])})
    cols = ["period", "as_of", "p10", "p50", "p90", "actual", "complete", "inside"]
    return pd.DataFrame(rows, columns=cols)


def analyse(ds, settings=None) -> PlanFactResult:
    """Plan vs fact, the cumulative lag, the reverse funnel, the forecast with its backtest and growth
    for the run config's period; ``settings``: ``analysis.planfact`` (default: the run config's)."""
    st = ds.config.analysis.planfact if settings is None else settings
    base = dict(client=ds.config.client, period=ds.config.period, as_of=pd.Timestamp(ds.as_of), seed=ds.config.seed,
                manager_names=dict(ds.manager_names()), missing=tuple(missing_tables(ds)))
    if base["missing"] or ds.config.period is None:
        return PlanFactResult(**base)
    fc_kw = dict(n_sims=st.forecast_sims, grid=st.forecast_grid, min_entries=st.forecast_min_entries, recent_days=st.forecast_recent_days)
    pvf = plan_vs_fact(ds)
    rf = reverse_funnel(ds, months=st.reverse_months, n_boot=st.reverse_draws, alpha=st.reverse_alpha)
    p = parse_period(ds.config.period, ds.config.grain)
    backtest_as_of = _backtest_moment(ds, p, st.backtest_day)
    bts = backtests(ds, p, st.backtest_day, st.backtest_periods, **fc_kw)
    return PlanFactResult(
        **base,
        period_label=pvf.attrs["period"],
        share_of_period_elapsed=float(pvf.attrs["share_of_period_elapsed"]),
        plan_vs_fact_=pvf,
        cumulative_lag_=cumulative_lag(ds),
        reverse_funnel_=rf,
        reverse_rates_=rf.attrs["rates"],
        revenue_target=float(rf.attrs["revenue_target"]),
        reverse_window=tuple(rf.attrs["window"]),
        reverse_managers=int(rf.attrs["managers"]),
        reverse_working_days=int(rf.attrs["working_days"]),
        forecast=Forecast.of(forecast(ds, **fc_kw)),
        backtest=Forecast.of(forecast(ds, as_of=backtest_as_of, **fc_kw)),
        backtests_=bts,
        growth_=growth(ds),
    )


def summary(ds, period=None, backtest_as_of=None, **forecast_kw) -> dict:
    """Key results for :func:`salesaudit.runs.record.record` (keys documented in ``record.*`` labels).

    ``forecast_kw`` (``n_sims``, ``grid``, ``min_entries``, ``recent_days``) go to :func:`forecast`.
    Notebook 04 records :meth:`PlanFactResult.key_figures` instead (the same keys and the backtest).
    """
    if missing_tables(ds, ("plans",)):
        return {"planfact_available": False}
    p = _period(ds, period)
    fc = Forecast.of(forecast(ds, p, **forecast_kw)) if ds.has("payments") else None
    return _key_results(plan_vs_fact(ds, p), p.label, fc)
