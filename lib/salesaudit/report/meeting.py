"""The meeting page (notebook 08) in one language, made from a :class:`~salesaudit.analysis.meeting.MeetingResult`.

Titles, metric names and repeat / do not repeat come from the message catalogue; the numbers are
the result's own, formatted by :mod:`salesaudit.report.format`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.meeting import METRICS
from ..analysis.planfact import TEAM
from . import format as fmt_
from .i18n import t
from .page import Heading, Page, Table, Text

__all__ = ["page", "back_table", "ahead_table", "repeat_avoid_table"]


def _manager(m, r, lang: str) -> str:
    return t("meeting.team", lang) if m == TEAM else r.manager_names.get(m, m)


def back_table(r, lang: str) -> pd.DataFrame:
    """Fact against plan, one row per manager (team first), ``fact / plan (attainment)`` per metric."""
    back = r.back_
    cell = back.assign(text=[f"{fmt_.integer(f, lang)} / {fmt_.integer(p, lang)} ({fmt_.percent(a / 100, lang, 0)})" if np.isfinite(a) else f"{fmt_.integer(f, lang)} / {fmt_.DASH}"
                             for f, p, a in zip(back["fact"], back["plan"], back["attainment_pct"])])
    wide = cell.pivot_table(index="manager", columns="metric", values="text", aggfunc="first")
    wide = wide[[m for m in METRICS if m in wide.columns]]
    order = [TEAM] + sorted(i for i in wide.index if i != TEAM)
    wide = wide.reindex([i for i in order if i in wide.index])
    wide.index = [_manager(i, r, lang) for i in wide.index]
    wide.columns = [t(f"meeting.metric.{c}", lang) for c in wide.columns]
    return wide.reset_index(names=t("meeting.col.manager", lang))


def ahead_table(r, lang: str) -> pd.DataFrame:
    """The plan of the period, one row per manager (team first), one column per metric."""
    out = r.ahead_.copy()
    out["manager"] = [_manager(m, r, lang) for m in out["manager"]]
    out = out.sort_values("manager", key=lambda s: s != t("meeting.team", lang), kind="stable")
    return out.rename(columns={"manager": t("meeting.col.manager", lang), **{m: t(f"meeting.metric.{m}", lang) for m in METRICS}}).round(1)


def repeat_avoid_table(r, lang: str) -> pd.DataFrame:
    """What to repeat and what not: kind, metric, manager, fact / plan, attainment."""
    ra = r.repeat_avoid_
    return pd.DataFrame(
        {
            t("meeting.col.kind", lang): [t(f"meeting.kind.{k}", lang) for k in ra["kind"]],
            t("meeting.col.metric", lang): [t(f"meeting.metric.{m}", lang) for m in ra["metric"]],
            t("meeting.col.manager", lang): [r.manager_names.get(m, m) for m in ra["manager"]],
            t("meeting.col.fact_plan", lang): [f"{fmt_.integer(f, lang)} / {fmt_.integer(p, lang)}" for f, p in zip(ra["fact"], ra["plan"])],
            t("meeting.col.attainment", lang): [fmt_.percent(a / 100, lang, 0) for a in ra["attainment_pct"]],
        }
    )


def page(r, lang: str) -> Page:
    """Notebook 08's page: the period just ended against plan, what to repeat and what not, the plan ahead.

    Without a period or without the plans: one sentence saying what is missing.
    """
    p = Page(lang=lang)
    if r.period is None:
        return p.add(Text(t("meeting.no_period", lang)))
    if r.missing_tables:
        return p.add(Text(t("meeting.no_plans", lang, tables=", ".join(t(f"table.{x}", lang) for x in r.missing_tables))))
    p.add(Heading(t(f"meeting.title.{r.grain}", lang, reviewed=r.previous, planned=r.planned or r.period, client=r.client), 1))
    p.add(Heading(t("meeting.back", lang, period=r.previous)), Table(back_table(r, lang)))
    p.add(Heading(t("meeting.repeat_avoid", lang), 3))
    p.add(Table(repeat_avoid_table(r, lang)) if len(r.repeat_avoid_) else Text(t("meeting.nothing", lang)))
    p.add(Heading(t("meeting.ahead", lang, period=r.planned or r.period)))
    p.add(Table(ahead_table(r, lang)) if len(r.ahead_) else Text(t("meeting.no_plan_ahead", lang, period=r.planned or r.period)))
    return p
