"""The CRM hygiene page (notebook 04, after plan vs fact) in one language, made from a
:class:`~salesaudit.analysis.hygiene.HygieneResult`.

Headers, values and sentences come from the message catalogue; rates and dates in the tables are
formatted by :mod:`salesaudit.report.format`; the numbers are the result's own. The audit moment,
the policy's discount limit and the median call keep the notebook's earlier form in both languages
(``31.10.2026 23:59``, ``10``, ``3.9``): see :func:`_moment`, :func:`_limit_as_before` and :func:`_minutes_as_before`.
"""
from __future__ import annotations

import pandas as pd

from . import format as fmt_
from .format import date as fmt_date  # noqa: F401
from .format import datetime_ as fmt_datetime
from .format import number as fmt_number
from .i18n import has, t
from .leads import decimals_apart, pp_parts, pp_with_ci, share_parts, share_with_ci
from .page import Heading, Page, Table, Text
from .show import p_text

__all__ = ["page", "display", "manager_label", "policy_table", "policy_findings"]


def payment_terms(code: str, lang: str) -> str:
    """Payment terms of the policy in words: ``prepaid`` → "prepaid", ``instalment_3m`` → "3-month instalments";
    terms the catalogue does not know (a client's own word) as they are."""
    import re

    m = re.fullmatch(r"instalment_(\d+)m", code)
    if m:
        return t("page.terms.instalment", lang, months=fmt_.integer(int(m.group(1)), lang))
    key = f"page.terms.{code}"
    return t(key, lang) if has(key) else code


def _moment(ts, lang: str) -> str:
    """A moment in the page's language (:func:`salesaudit.report.format.datetime_`)."""
    return fmt_datetime(ts, lang)


def _limit(pct: float, lang: str) -> str:
    """The discount limit, given in percent as the policy states it (``10 %``, ``12,5 %`` in ru; ``10%`` in en)."""
    return fmt_.percent(None if pct is None else pct / 100, lang, 3, trim=True)


def _minutes(minutes: float, lang: str) -> str:
    """Minutes with one decimal (``3,9`` in ru, ``3.9`` in en)."""
    return fmt_number(minutes, lang, 1)


def manager_label(m: str, names: dict) -> str:
    """A manager's name (``Иванов Кирилл Юрьевич``), the code when the name is unknown: the names the other pages and the plots show."""
    return names.get(m) or m


_COLS = [
    "manager", "tasks", "due", "overdue", "overdue_rate", "overdue_rate_low", "overdue_rate_high", "done", "done_late", "late_rate", "late_rate_low",
    "late_rate_high", "deals", "with_empty", "share_empty", "share_empty_low", "share_empty_high", "open_deals", "no_open_task", "only_overdue",
    "without_next_task", "limit", "over", "excess", "deals_with_terms", "discount_over_limit", "terms_not_allowed", "instalment_below_min",
    "deals_with_violation", "deal_ids", "length", "outcome", "activity_id", "deal_id", "created_at", "minutes",
]


def display(df: pd.DataFrame, lang: str, names: dict | None = None) -> pd.DataFrame:
    """A report copy of a hygiene table with manager names, translated values and headers (``""`` → the team)."""
    out = df.copy()
    names = names or {}
    if "manager" in out.columns:
        out["manager"] = out["manager"].map(lambda m: t("hygiene.team", lang) if m == "" else manager_label(m, names))
    for c in ("length", "outcome"):
        if c in out.columns:
            out[c] = out[c].map(lambda v: t(f"hygiene.value.{v}", lang))
    if "over" in out.columns:
        out["over"] = out["over"].map(lambda v: t("hygiene.value.yes", lang) if v else "")
    for c in [c for c in out.columns if f"{c}_low" in out.columns and f"{c}_high" in out.columns]:
        v, lo, hi = (100 * out[x].astype(float) for x in (c, f"{c}_low", f"{c}_high"))
        digits = [decimals_apart((a, b, h), 1, 3) for a, b, h in zip(v, lo, hi)]  # enough decimals for the bounds to differ
        out[c] = [(fmt_.DASH if pd.isna(a) else f"{fmt_.number(a, lang, d)} ({fmt_.number(b, lang, d)}–{fmt_.number(h, lang, d)})")
                  for a, b, h, d in zip(v, lo, hi, digits)]
        out = out.drop(columns=[f"{c}_low", f"{c}_high"])
    if "created_at" in out.columns:
        out["created_at"] = [fmt_.datetime_(v, lang) for v in pd.to_datetime(out["created_at"])]
    ren = {c: t(f"hygiene.col.{c}", lang) for c in _COLS if c in out.columns}
    ren.update({c: t("hygiene.col.empty_field", lang, field=c[6:]) for c in out.columns if c.startswith("empty_")})
    return out.rename(columns=ren)


# ---------------------------------------------------------------------------
# the page


def _tasks_and_cards(r, lang: str) -> list:
    names = r.manager_names
    if r.has_activities:
        blocks = [Heading(t("hygiene.tasks", lang), 3), Text(t("hygiene.tasks_note", lang)), Table(display(r.tasks_, lang, names))]
    else:
        blocks = [Text(t("hygiene.no_table", lang, table=t("table.activities", lang)))]
    ef = r.empty_fields_
    fields = ", ".join(r.required_deal_fields)
    if ef["with_empty"].iloc[-1]:  # the last row is the team
        return blocks + [Heading(t("hygiene.empty", lang, fields=fields), 3), Table(display(ef, lang, names))]
    return blocks + [Text(t("hygiene.no_empty", lang, fields=fields, n=int(ef["deals"].iloc[-1])))]


def _next_task_and_load(r, lang: str) -> list:
    names = r.manager_names
    blocks = []
    if r.has_activities:
        blocks += [Heading(t("hygiene.next_task", lang), 3), Text(t("hygiene.next_task_note", lang)), Table(display(r.no_next_task_, lang, names))]
    dl = r.deal_load_.sort_values(["excess", "open_deals"], ascending=False, kind="stable")  # over the limit first, the furthest over on top
    over = dl[dl["over"]]
    blocks.append(Heading(t("hygiene.load", lang), 3))
    if len(over) > 5:  # more than five: the table says who, the sentence how many
        blocks.append(Text(t("hygiene.over_limit_many", lang, n=fmt_.integer(len(over), lang))))
    elif len(over):
        who = ", ".join(t("hygiene.load_of", lang, who=manager_label(o.manager, names), n=fmt_.integer(o.open_deals, lang), limit=fmt_.integer(o.limit, lang))
                        for o in over.itertuples())
        blocks.append(Text(t("hygiene.over_limit", lang, who=who)))
    else:
        blocks.append(Text(t("hygiene.none_over", lang)))
    return blocks + [Table(display(dl, lang, names), max_rows=200)]


def _who(m: str, group: str, names: dict, lang: str) -> str:
    """A policy row's name: the manager's, or the owner group's label for the rows outside the team."""
    if group == "no_manager":
        return t("hygiene.group.no_manager", lang)
    name = manager_label(m, names)
    return name if group == "manager" else t(f"hygiene.group.{group}", lang, name=name)


def _verdict(v: str, r, lang: str) -> str:
    """A policy verdict code in words."""
    return t(f"hygiene.verdict.{v}", lang, min_effect=fmt_.number(100 * r.policy_min_effect, lang, 2, trim=True),
             min_deals=fmt_.integer(r.policy_min_deals, lang))


def policy_table(r, lang: str) -> pd.DataFrame:
    """Per manager: deals with terms, the exceptions by kind, the share outside the policy and its excess over the tolerance
    (each with its 95 % interval), p (Holm) and the verdict; breakers first, rows outside the team last."""
    pm, names = r.policy_by_manager_, r.manager_names
    cols = {c: t(f"hygiene.col.{c}", lang) for c in ("deals_with_terms", "discount_over_limit", "terms_not_allowed", "instalment_below_min",
                                                      "deals_with_violation")}
    out = pd.DataFrame({t("hygiene.col.manager", lang): [_who(m, g, names, lang) for m, g in zip(pm["manager"], pm["owner_group"])]})
    for c, label in cols.items():
        out[label] = pm[c].astype(int).to_numpy()
    out[t("hygiene.col.violation_rate", lang)] = [share_with_ci(x, lo, hi, lang) for x, lo, hi in
                                                  zip(pm["violation_rate"], pm["violation_rate_low"], pm["violation_rate_high"])]
    out[t("hygiene.col.excess_pp", lang)] = [pp_with_ci(x, lo, hi, lang) for x, lo, hi in zip(pm["excess"], pm["excess_low"], pm["excess_high"])]
    out[t("hygiene.col.p_adj", lang)] = [p_text(p, lang) for p in pm["p_adjusted"]]
    out[t("hygiene.col.verdict", lang)] = [_verdict(v, r, lang) for v in pm["verdict"]]
    out[t("hygiene.col.deal_ids", lang)] = pm["deal_ids"].to_numpy()
    return out


def policy_findings(r, lang: str) -> list:
    """The breakers with how far above the tolerance they are (a sentence each; beyond five, a count: they head the table)."""
    pm, names = r.policy_by_manager_, r.manager_names
    tol = fmt_.percent(r.policy_tolerance, lang, 1, trim=True)
    breakers = pm[pm["breaker"]]
    blocks = []
    if not len(breakers):
        blocks.append(Text(t("hygiene.no_breakers", lang)))
    elif len(breakers) <= 5:
        for b in breakers.itertuples():
            share, lo, hi = share_parts(b.violation_rate, b.violation_rate_low, b.violation_rate_high, lang)
            excess, _, _ = pp_parts(b.excess, b.excess_low, b.excess_high, lang, sign=False)  # a breaker's excess is positive
            _, elo, ehi = pp_parts(b.excess, b.excess_low, b.excess_high, lang)
            blocks.append(Text(t("hygiene.breaker", lang, who=_who(b.manager, b.owner_group, names, lang), share=share, lo=lo, hi=hi,
                                 n=fmt_.integer(b.deals_with_terms, lang), excess=excess, elo=elo, ehi=ehi, tolerance=tol)))
    else:
        blocks.append(Text(t("hygiene.breakers_many", lang, n=fmt_.integer(len(breakers), lang))))
    small = int((pm["verdict"] == "small").sum())
    if small:
        blocks.append(Text(t("hygiene.policy_small", lang, n=fmt_.integer(small, lang))))
    return blocks


def _policy_and_calls(r, lang: str) -> list:
    names = r.manager_names
    pm = r.policy_by_manager_
    blocks = [Heading(t("hygiene.policy", lang), 3)]
    if pm["deals_with_terms"].sum():
        blocks += [Text(t("hygiene.policy_note", lang, max=_limit(r.max_discount_pct, lang), terms=", ".join(payment_terms(x, lang) for x in r.allowed_payment_terms),
                          min=fmt_.money(r.instalment_min_amount, lang, currency=None))),
                   Text(t("hygiene.policy_rule", lang, tolerance=fmt_.percent(r.policy_tolerance, lang, 1, trim=True),
                          min_effect=fmt_.number(100 * r.policy_min_effect, lang, 2, trim=True), min_deals=fmt_.integer(r.policy_min_deals, lang))),
                   *policy_findings(r, lang),
                   Table(policy_table(r, lang), max_rows=200)]
    else:
        blocks.append(Text(t("hygiene.no_terms", lang)))
    if r.has_activities and len(r.call_sample_):
        blocks += [Heading(t("hygiene.calls", lang), 3),
                   Text(t("hygiene.calls_note", lang, seed=str(r.seed), median=_minutes(r.call_median_sec / 60, lang))),
                   Table(display(r.call_sample_, lang, names), max_rows=60)]
    return blocks


def page(r, lang: str) -> Page:
    """Notebook 04's CRM hygiene page: tasks, empty cards, deals without a next task, deal load, the discount policy, calls to listen to."""
    p = Page(lang=lang)
    p.add(Heading(t("hygiene.section", lang)), Text(t("hygiene.intro", lang, as_of=_moment(r.as_of, lang))))
    return p.add(*_tasks_and_cards(r, lang), *_next_task_and_load(r, lang), *_policy_and_calls(r, lang))
