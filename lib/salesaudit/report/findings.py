"""The findings ranked by money at stake, in one language (notebook 07's page and the run's summary).

Everything here works on the *records* of :meth:`salesaudit.analysis.findings.FindingsResult.records`
(plain values: the notebook records them, the summary page reads them back), so the summary shows
exactly what notebook 07 computed. :func:`rows` gives one finding per row in words; :func:`table`
the same as a report table; :func:`blocks` the section of notebook 07's page.
"""
from __future__ import annotations

import pandas as pd

from . import format as fmt_
from .i18n import t
from .page import Heading, Table, Text

__all__ = ["what_text", "money_text", "sure_text", "action_text", "rows", "table", "blocks"]


def _who(rec: dict) -> str:
    return rec.get("name") or rec.get("manager") or ""


def _stage(rec: dict, lang: str) -> str:
    labels = rec.get("stage_label") or {}
    return labels.get(lang) or ""


def _pct(x, lang: str) -> str:
    return fmt_.percent(x, lang, 0) if x is not None else fmt_.DASH


def _days(x, lang: str) -> str:
    return t("findings.days", lang, n=fmt_.number(x, lang, 1, trim=True)) if x is not None else fmt_.DASH


def _minutes(x, lang: str) -> str:
    return t("findings.minutes", lang, n=fmt_.number(x, lang, 1, trim=True)) if x is not None else fmt_.DASH


def what_text(rec: dict, lang: str, currency: str | None = None) -> str:
    """What was found, with the figures behind it, in ``lang``."""
    k, f = rec["kind"], rec.get("facts") or {}
    who, stage = _who(rec), _stage(rec, lang)
    if k == "weak_conversion":
        return t("findings.what.weak_conversion", lang, who=who, step=stage, rate=_pct(f.get("rate"), lang), team=_pct(f.get("team_rate"), lang),
                 n=fmt_.integer(f.get("finished", 0), lang))
    if k == "weak_lead_conversion":
        return t("findings.what.weak_lead_conversion", lang, who=who, rate=_pct(f.get("rate"), lang), team=_pct(f.get("team_rate"), lang),
                 n=fmt_.integer(f.get("finished", 0), lang))
    if k == "slow_response":
        checks = ", ".join(t(f"findings.check.{c}", lang) for c in f.get("checks", []))
        return t("findings.what.slow_response", lang, who=who, own=_minutes(f.get("median_minutes"), lang), rest=_minutes(f.get("rest_median_minutes"), lang),
                 checks=checks)
    if k == "slow_stage":
        return t("findings.what.slow_stage", lang, who=who, stage=stage, ratio=fmt_.number(f.get("ratio"), lang, 1), own=_days(f.get("median_days"), lang),
                 rest=_days(f.get("rest_median_days"), lang), n=fmt_.integer(f.get("open_over_norm", 0), lang),
                 amount=fmt_.money(f.get("amount_over_norm"), lang, currency))
    if k == "stalled_stage":
        return t("findings.what.stalled_stage", lang, stage=stage, median=_days(f.get("median_days"), lang), norm=_days(f.get("norm_days"), lang),
                 share=_pct(f.get("share_over_norm"), lang), n=fmt_.integer(f.get("open_over_norm", 0), lang),
                 amount=fmt_.money(f.get("amount_over_norm"), lang, currency))
    if k == "discount_policy":
        return t("findings.what.discount_policy", lang, who=who, violations=fmt_.integer(f.get("violations", 0), lang),
                 deals=fmt_.integer(f.get("deals_with_terms", 0), lang), won=fmt_.integer(f.get("deals_over_12m", 0), lang),
                 limit=fmt_.percent((f.get("max_discount_pct") or 0) / 100, lang, 0))
    if k == "head_selling":
        return t("findings.what.head_selling", lang, who=who, won=fmt_.integer(f.get("won", 0), lang), months=fmt_.integer(f.get("months", 0), lang),
                 share=fmt_.percent(f.get("share_of_won_amount"), lang, 1))
    if k == "skips":
        return t("findings.what.skips", lang, who=who, skips=fmt_.integer(f.get("skips", 0), lang), eligible=fmt_.integer(f.get("eligible", 0), lang),
                 rate=_pct(f.get("rate"), lang))
    return t("findings.what.other", lang)


def money_text(rec: dict, lang: str, currency: str | None) -> str:
    """How big: the money with its interval and horizon, or why there is none."""
    m = rec.get("money")
    if m is None:
        return t("findings.money.none_stall", lang) if rec["kind"] in ("slow_stage", "stalled_stage") else t("findings.money.none_model", lang)
    value = fmt_.money(m, lang, currency)
    lo, hi = rec.get("money_low"), rec.get("money_high")
    horizon = t(f"findings.horizon.{rec.get('horizon') or 'now'}", lang)
    if lo is None or hi is None or lo == hi:
        return t("findings.money.counted", lang, value=value, horizon=horizon)
    return t("findings.money.interval", lang, value=value, horizon=horizon, lo=fmt_.money(lo, lang, currency), hi=fmt_.money(hi, lang, currency))


def sure_text(rec: dict, lang: str) -> str:
    """How sure: the adjusted p-value of the flag behind it, or 'counted'."""
    p, f = rec.get("p"), rec.get("facts") or {}
    if rec["kind"] == "stalled_stage":
        return t("findings.sure.threshold", lang, share=_pct(f.get("share_over_norm"), lang), lo=_pct(f.get("share_over_low"), lang),
                 hi=_pct(f.get("share_over_high"), lang))
    if p is None:
        return t("findings.sure.counted", lang)
    if p < 0.001:
        return t("findings.sure.very", lang)
    return t("findings.sure.p", lang, p=fmt_.number(p, lang, 3))


def action_text(rec: dict, lang: str) -> str:
    """What to do: the action the seeds prescribe."""
    return t(f"findings.action.{rec['action']}", lang, who=_who(rec), stage=_stage(rec, lang))


def rows(records: list[dict], lang: str, currency: str | None) -> list[dict]:
    """One dict of texts per finding, in rank order: rank, what, money, sure, action, evidence (a notebook stem)."""
    return [{"rank": i + 1, "what": what_text(r, lang, currency), "money": money_text(r, lang, currency), "sure": sure_text(r, lang),
             "action": action_text(r, lang), "evidence": r.get("evidence")} for i, r in enumerate(records)]


def table(records: list[dict], lang: str, currency: str | None) -> pd.DataFrame:
    """The findings as a report table (without the evidence links: the summary page adds them)."""
    rs = rows(records, lang, currency)
    return pd.DataFrame({
        t("findings.col.rank", lang): [fmt_.integer(r["rank"], lang) for r in rs],
        t("findings.col.what", lang): [r["what"] for r in rs],
        t("findings.col.money", lang): [r["money"] for r in rs],
        t("findings.col.sure", lang): [r["sure"] for r in rs],
        t("findings.col.action", lang): [r["action"] for r in rs],
    })


def blocks(result, lang: str) -> list:
    """Notebook 07's section: the findings ranked by money, with how the money is estimated."""
    recs = result.records()
    out = [Heading(t("findings.title", lang)), Text(t("findings.intro", lang, months=fmt_.integer(result.months, lang),
                                                      avg=fmt_.money(result.avg_won, lang, result.currency)))]
    if not recs:
        return out + [Text(t("findings.none", lang))]
    return out + [Table(table(recs, lang, result.currency), max_rows=40), Text(t("findings.models", lang))]
