"""Figures for the head of sales' daily, weekly and monthly meetings (планёрки), per period.

A meeting is held at the start of a period ``p`` (``--period 2026-10-14 --grain day``: the
morning of 14 October). It looks back at the period just ended (the previous working day, the
previous week or month) — fact against plan per manager and for the team — and forward at the
plan of ``p``, and names what to repeat (the best attainment) and what not to repeat (the worst),
as the seeds ask: "what to do to repeat / not repeat yesterday's results".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.params import Period, parse_period
from ..report import format as fmt_
from ..report.i18n import t
from . import planfact

__all__ = ["previous_period", "look_back", "look_ahead", "repeat_avoid", "summary", "METRICS"]

#: what a meeting discusses, in this order
METRICS = ("revenue", "deals_won", "leads", "calls", "call_minutes", "tasks_done")


def previous_period(ds, p: Period) -> Period:
    """The period just ended before ``p``: the previous *working* day for a day, else the previous week or month."""
    if p.grain == "day":
        day = pd.Timestamp(p.start) - pd.Timedelta(days=1)
        cal = ds.calendar
        for _ in range(30):
            if bool(np.asarray(cal.is_working_day(pd.Series([day])))[0]):
                break
            day -= pd.Timedelta(days=1)
        return parse_period(day.strftime("%Y-%m-%d"), "day")
    before = (pd.Timestamp(p.start) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    return parse_period(before, p.grain)


def _table(ds, p: Period) -> pd.DataFrame:
    pvf = planfact.plan_vs_fact(ds, p)
    pvf = pvf[pvf["metric"].isin(METRICS)]
    return pvf


def look_back(ds, p: Period) -> tuple[Period, pd.DataFrame]:
    """Fact against plan for the period just ended, per manager and the team."""
    prev = previous_period(ds, p)
    return prev, _table(ds, prev)


def look_ahead(ds, p: Period) -> pd.DataFrame:
    """The plan of the period ``p`` per manager and the team (wide: one column per metric)."""
    pvf = _table(ds, p)
    wide = pvf.pivot_table(index="manager", columns="metric", values="plan", aggfunc="sum")
    cols = [m for m in METRICS if m in wide.columns]
    return wide[cols].reset_index()


def repeat_avoid(back: pd.DataFrame, n: int = 3, metrics=("revenue", "deals_won", "calls")) -> pd.DataFrame:
    """Per metric: the ``n`` managers furthest above plan (repeat) and furthest below (avoid)."""
    rows = []
    per = back[(back["manager"] != planfact.TEAM) & back["metric"].isin(metrics) & (back["plan"] > 0)]
    for m in metrics:
        g = per[per["metric"] == m].sort_values("attainment_pct", ascending=False, kind="stable")
        for kind, part in (("repeat", g.head(n)), ("avoid", g.tail(n).iloc[::-1])):
            for r in part.itertuples():
                if kind == "repeat" and r.attainment_pct < 100 or kind == "avoid" and r.attainment_pct >= 100:
                    continue
                rows.append({"kind": kind, "metric": m, "manager": r.manager, "plan": r.plan, "fact": r.fact, "attainment_pct": r.attainment_pct})
    return pd.DataFrame(rows, columns=["kind", "metric", "manager", "plan", "fact", "attainment_pct"])


def summary(ds, period: str, grain: str) -> dict:
    """Key results for ``record``: the team's attainment in the period just ended."""
    p = parse_period(period, grain)
    prev, back = look_back(ds, p)
    team = back[back["manager"] == planfact.TEAM].set_index("metric")
    out = {"meeting_grain": p.grain, "meeting_period": p.label, "meeting_looked_back_at": prev.label}
    for m in ("revenue", "deals_won", "calls"):
        if m in team.index and np.isfinite(team.loc[m, "attainment_pct"]):
            out[f"meeting_team_{m}_pct"] = round(float(team.loc[m, "attainment_pct"]), 1)
    return out


def display_back(back: pd.DataFrame, lang: str, names: dict) -> pd.DataFrame:
    """Fact against plan, one row per manager (team first), ``fact / plan (attainment)`` per metric."""
    cell = back.assign(text=[f"{fmt_.integer(f, lang)} / {fmt_.integer(p, lang)} ({fmt_.percent(a / 100, lang, 0)})" if np.isfinite(a) else f"{fmt_.integer(f, lang)} / {fmt_.DASH}"
                             for f, p, a in zip(back["fact"], back["plan"], back["attainment_pct"])])
    wide = cell.pivot_table(index="manager", columns="metric", values="text", aggfunc="first")
    wide = wide[[m for m in METRICS if m in wide.columns]]
    order = [planfact.TEAM] + sorted(i for i in wide.index if i != planfact.TEAM)
    wide = wide.reindex([i for i in order if i in wide.index])
    wide.index = [t("meeting.team", lang) if i == planfact.TEAM else names.get(i, i) for i in wide.index]
    wide.columns = [t(f"meeting.metric.{c}", lang) for c in wide.columns]
    return wide.reset_index(names=t("meeting.col.manager", lang))


def display_ahead(ahead: pd.DataFrame, lang: str, names: dict) -> pd.DataFrame:
    out = ahead.copy()
    out["manager"] = [t("meeting.team", lang) if m == planfact.TEAM else names.get(m, m) for m in out["manager"]]
    out = out.sort_values("manager", key=lambda s: s != t("meeting.team", lang), kind="stable")
    return out.rename(columns={"manager": t("meeting.col.manager", lang), **{m: t(f"meeting.metric.{m}", lang) for m in METRICS}}).round(1)


def display_repeat_avoid(ra: pd.DataFrame, lang: str, names: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("meeting.col.kind", lang): [t(f"meeting.kind.{k}", lang) for k in ra["kind"]],
            t("meeting.col.metric", lang): [t(f"meeting.metric.{m}", lang) for m in ra["metric"]],
            t("meeting.col.manager", lang): [names.get(m, m) for m in ra["manager"]],
            t("meeting.col.fact_plan", lang): [f"{fmt_.integer(f, lang)} / {fmt_.integer(p, lang)}" for f, p in zip(ra["fact"], ra["plan"])],
            t("meeting.col.attainment", lang): [fmt_.percent(a / 100, lang, 0) for a in ra["attainment_pct"]],
        }
    )
