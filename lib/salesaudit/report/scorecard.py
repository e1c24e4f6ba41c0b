"""The head-of-sales scorecard page (notebook 07) in one language, made from a :class:`~salesaudit.analysis.scorecard.ScorecardResult`.

Checkpoint names, statuses, rules, checks and questions come from the message catalogue; the
numbers are the result's own, formatted by :mod:`salesaudit.report.format`.
"""
from __future__ import annotations

import pandas as pd

from . import format as fmt_
from .i18n import t
from .page import Heading, Page, Table, Text

__all__ = ["page", "head_text", "checkpoints_table", "lagging_table", "questions", "value_text", "rule_text", "where_text"]

#: the funnel's step from lead to deal (``salesaudit.analysis.funnel.LEAD_STEP``)
_LEAD_STEP = ("lead", "deal")


def head_text(r, lang: str) -> str:
    """Who the head of sales is, how long in the job and how judged; the data's date."""
    if not r.head_name:
        return t("scorecard.head_unknown", lang)
    kind = t("scorecard.kind." + ("new" if r.head_new else "experienced"), lang)
    months = fmt_.number(r.head_months, lang, 1) if r.head_months is not None else fmt_.DASH
    return t("scorecard.head", lang, name=r.head_name, months=months, kind=kind, as_of=fmt_.date(r.as_of, lang))


def value_text(row, attainment: pd.DataFrame, lang: str) -> str:
    """A checkpoint's figure as the table shows it (``row``: a row of ``checkpoints_``)."""
    v = row.value
    if v is None or pd.isna(v):
        return fmt_.DASH
    if row.key == "plan_attainment":
        return f"{fmt_.percent(v, lang, 0)} ({attainment['month'].iloc[-1]})"
    if row.key == "plan_trend":
        return " → ".join(fmt_.percent(a, lang, 0) for a in attainment["attainment"])
    if row.key in ("cumulative_lag", "mom_growth"):
        return fmt_.percent(v, lang, 0, sign=True)
    if row.key == "same_day_processing":
        return fmt_.percent(v, lang, 1)
    if row.unit == "count":
        return fmt_.integer(v, lang)
    return fmt_.percent(v, lang, 0)


def rule_text(row, lang: str) -> str:
    """The rule of a checkpoint: ``green ≥ 100 %, amber ≥ 90 %``."""
    fmt = (lambda v: fmt_.percent(v, lang, 0)) if row.unit == "share" else (lambda v: fmt_.number(v, lang))
    op = "≥" if row.higher_is_better else "≤"
    return t("scorecard.rule", lang, green=f"{op} {fmt(row.green)}", amber=f"{op} {fmt(row.amber)}")


def checkpoints_table(r, lang: str) -> pd.DataFrame:
    """The checkpoints for the report: checkpoint, value, status, rule."""
    cp = r.checkpoints_
    rows = list(cp.itertuples())
    return pd.DataFrame(
        {
            t("scorecard.col.checkpoint", lang): [t(f"scorecard.check.{k}", lang) for k in cp["key"]],
            t("scorecard.col.value", lang): [value_text(row, r.attainment_, lang) for row in rows],
            t("scorecard.col.status", lang): [t(f"scorecard.status.{s}", lang) for s in cp["status"]],
            t("scorecard.col.rule", lang): [rule_text(row, lang) for row in rows],
        }
    )


def where_text(check: str, stages: tuple, labels: dict, lang: str) -> str:
    """Where a lagging manager's evidence lies: the step, the stage(s), or leads."""
    if check in ("response", "overnight"):
        return t("scorecard.where.leads", lang)
    if check == "conversion":
        if tuple(stages) == _LEAD_STEP:
            return t("funnel.step.lead_deal", lang)
        return " → ".join(labels[s][lang] for s in stages)
    return ", ".join(labels[s][lang] for s in stages)


def _value(v, unit: str, lang: str) -> str:
    return fmt_.number(v, lang, 1) if unit == "days" else fmt_.percent(v, lang, 0)


def lagging_table(r, lang: str) -> pd.DataFrame:
    """Lagging managers with their evidence: name, what, where, manager, team, since (per manager, checks in the language's order)."""
    lag = r.lagging_
    out = pd.DataFrame(
        {
            "manager": lag["manager"].to_numpy(),
            "name": lag["name"].to_numpy(),
            "check": [t(f"scorecard.evidence.{c}", lang) for c in lag["check"]],
            "where": [where_text(c, s, r.stage_labels, lang) for c, s in zip(lag["check"], lag["stages"])],
            "manager_value": [_value(v, u, lang) for v, u in zip(lag["manager_value"], lag["unit"])],
            "team_value": [_value(v, u, lang) for v, u in zip(lag["team_value"], lag["unit"])],
            "since": [fmt_.DASH if fmt_.missing(s) else s for s in lag["since"]],
        }
    )
    out = out.sort_values(["manager", "check"], kind="stable").drop(columns="manager").reset_index(drop=True)
    # en names two columns "Manager" (who, and the manager's figure): rename, as a dict would keep one
    return out.rename(columns={c: t(f"scorecard.col.{c}", lang) for c in out.columns})


def questions(r, lang: str) -> list[str]:
    """Checkpoints data cannot answer: questions for the consultant's interview."""
    return [t(f"scorecard.question.{k}", lang) for k in r.questions]


def page(r, lang: str) -> Page:
    """Notebook 07's page: the head of sales, the checkpoints, the lagging managers, the questions."""
    p = Page(lang=lang)
    p.add(Heading(t("scorecard.title", lang, client=r.client), 1), Text(head_text(r, lang)))
    p.add(Heading(t("scorecard.checkpoints", lang)), Text(t("scorecard.checkpoints_note", lang)), Table(checkpoints_table(r, lang)))
    p.add(Heading(t("scorecard.lagging", lang)))
    p.add(Table(lagging_table(r, lang)) if len(r.lagging_) else Text(t("scorecard.no_lagging", lang)))
    p.add(Heading(t("scorecard.questions", lang)), *[Text("- " + q) for q in questions(r, lang)])
    return p
