"""Figures for the head of sales' daily, weekly and monthly meetings (планёрки), per period.

A meeting is held at the audit moment (``as_of``). When the audited period ``p`` has ended by
then (the usual audit: October audited on 31 October 23:59), the meeting reviews ``p`` — fact
against plan per manager and for the team — and plans the next period (November). When ``p`` is
still running (a daily run: ``--period 2026-10-14 --grain day`` with the data as of that morning),
it is the meeting at the start of ``p``: it reviews the period just ended (the previous working
day, week or month) and plans ``p``. Either way it names what to repeat (the best attainment)
and what not to repeat (the worst), as the seeds ask: "what to do to repeat / not repeat
yesterday's results".

``analyse(dataset, settings) -> MeetingResult``: tables with canonical column names and codes, no
language, no formatting. The page a reader sees is made from the result by
:mod:`salesaudit.report.meeting`; the key figures notebook 08 records come from
:meth:`MeetingResult.key_figures`, never from a second computation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.params import Period, parse_period
from . import planfact

__all__ = ["MeetingResult", "analyse", "previous_period", "next_period", "look_back", "look_ahead", "repeat_avoid", "summary", "METRICS"]

#: what a meeting discusses, in this order
METRICS = ("revenue", "deals_won", "leads", "calls", "call_minutes", "tasks_done")
#: the team's attainments the run records
KEY_METRICS = ("revenue", "deals_won", "calls")


@dataclass(frozen=True)
class MeetingResult:
    """What notebook 08 reports, computed once.

    A meeting needs a period (``period`` None: the run has none) and the plans (``missing_tables``:
    the tables plan vs fact needs that the export lacks); without either the tables are empty.

    * ``back_`` – fact against plan for the period just ended (``previous``), per manager (``""``: the
      team) and metric of :data:`METRICS`: ``manager``, ``metric``, ``plan``, ``fact``,
      ``attainment_pct`` (fact / plan × 100, NaN without a plan) and plan vs fact's other columns;
    * ``repeat_avoid_`` – per metric the ``top_n`` managers furthest above plan (``kind`` repeat) and
      below (avoid): ``kind``, ``metric``, ``manager``, ``plan``, ``fact``, ``attainment_pct``;
    * ``ahead_`` – the plan of ``planned``, one row per manager (``""``: the team), one column per metric;
    * ``period`` – the audited period; ``previous`` – the period reviewed (the audited one when it has
      ended by the audit moment, else the one before it); ``planned`` – the period planned (the next
      one, else the audited one);
    * ``manager_names`` – manager key -> name.
    """

    client: str
    grain: str | None
    period: str | None
    previous: str | None
    missing_tables: tuple
    top_n: int
    back_: pd.DataFrame
    repeat_avoid_: pd.DataFrame
    ahead_: pd.DataFrame
    manager_names: dict = field(default_factory=dict)
    planned: str | None = None

    @property
    def ready(self) -> bool:
        """Whether the meeting could be built (a period and the plans)."""
        return self.period is not None and not self.missing_tables

    def key_figures(self) -> dict:
        """The key results of notebook 08's JSON, read off this result: the team's attainment in the period just ended (none when not ready)."""
        if not self.ready:
            return {}
        out = {"meeting_grain": self.grain, "meeting_period": self.period, "meeting_looked_back_at": self.previous, "meeting_plans_for": self.planned}
        team = self.back_[self.back_["manager"] == planfact.TEAM].set_index("metric")
        for m in KEY_METRICS:
            if m in team.index and np.isfinite(team.loc[m, "attainment_pct"]):
                out[f"meeting_team_{m}_pct"] = round(float(team.loc[m, "attainment_pct"]), 1)
        return out


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


def next_period(ds, p: Period) -> Period:
    """The period after ``p``: the next *working* day for a day, else the next week or month."""
    if p.grain == "day":
        day = pd.Timestamp(p.end)
        cal = ds.calendar
        for _ in range(30):
            if bool(np.asarray(cal.is_working_day(pd.Series([day])))[0]):
                break
            day += pd.Timedelta(days=1)
        return parse_period(day.strftime("%Y-%m-%d"), "day")
    return parse_period(pd.Timestamp(p.end).strftime("%Y-%m-%d"), p.grain)


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


def analyse(ds, settings=None, *, period: str | None = None, grain: str | None = None) -> MeetingResult:
    """The meeting at the start of the run's period (``period``, ``grain``: None, the run config's).

    ``settings``: the ``analysis.meeting`` settings (None: the run config's), e.g. with a
    notebook's overrides, ``ds.config.analysis.settings("meeting", top_n=…)``.
    """
    st = settings if settings is not None else ds.config.analysis.meeting
    period = period if period is not None else ds.config.period
    grain = grain if grain is not None else ds.config.grain
    missing = tuple(planfact.missing_tables(ds, ("plans",)))
    empty = pd.DataFrame(columns=["manager", "metric", "plan", "fact", "attainment_pct"])
    if period is None or missing:
        return MeetingResult(client=ds.config.client, grain=None, period=None if period is None else parse_period(period, grain).label, previous=None, missing_tables=missing,
                             top_n=st.top_n, back_=empty, repeat_avoid_=repeat_avoid(empty), ahead_=pd.DataFrame(columns=["manager"]),
                             manager_names=ds.manager_names())
    p = parse_period(period, grain)
    if pd.Timestamp(ds.as_of) >= pd.Timestamp(p.end) - pd.Timedelta(seconds=1):  # the audited period is over: review it, plan the next
        prev, back, planned = p, _table(ds, p), next_period(ds, p)
    else:  # the meeting at the start of the period: review the one just ended, plan this one
        (prev, back), planned = look_back(ds, p), p
    return MeetingResult(
        client=ds.config.client,
        grain=p.grain,
        period=p.label,
        previous=prev.label,
        missing_tables=missing,
        top_n=st.top_n,
        back_=back,
        repeat_avoid_=repeat_avoid(back, n=st.top_n),
        ahead_=look_ahead(ds, planned),
        manager_names=ds.manager_names(),
        planned=planned.label,
    )


def summary(ds, period: str, grain: str) -> dict:
    """Key results for ``record``: the team's attainment in the period just ended (:meth:`MeetingResult.key_figures`)."""
    return analyse(ds, period=period, grain=grain).key_figures()
