"""The load verdict in words: each :class:`~salesaudit.data.verdict.LoadProblem` as one paragraph in Russian or English.

:func:`salesaudit.data.verdict.assess` finds the problems of a load as codes and figures (no
language); here they become text: what was found, in which file and column, and how to fix it
(:func:`problem_text`), the warnings of a dataset (:func:`warning_texts`, shown at the top of
``salesaudit check``, notebook 00 and the report's index page) and the message of a refused load
(:func:`refusal_message`, in English). Importing this module installs :func:`refusal_message` as
the writer of :class:`~salesaudit.data.verdict.LoadRefused`'s message (the data layer has no
words of its own; :mod:`salesaudit.report` imports this module).
"""
from __future__ import annotations

import numbers

from ..data.verdict import LoadProblem, LoadRefused
from .format import integer, percent
from .i18n import t

__all__ = ["problem_text", "warning_texts", "refusal_message"]


def _pct(x: float, lang: str) -> str:
    return percent(x, lang, 1, trim=True)


def _n(x, lang: str) -> str:
    return integer(x, lang)


def problem_text(problem: LoadProblem, lang: str = "en") -> str:
    """The problem as one paragraph for people, in ``lang``."""
    p = dict(problem.params)
    fmt = {k: v for k, v in p.items() if not k.startswith("_")}
    if problem.table is not None:
        fmt.setdefault("table", t(f"table.{problem.table}", lang))
        fmt.setdefault("table_key", problem.table)
    fmt.setdefault("file", problem.file or "")
    for k in ("share",):
        if k in fmt:
            fmt[k] = _pct(fmt[k], lang)
    if problem.code == "column_empty" and "rows" in fmt:
        fmt["count"] = fmt["rows"]  # the plural form follows the rows
    for k in ("n", "input", "quarantined", "rows", "deals"):
        if isinstance(fmt.get(k), numbers.Integral):  # int or a numpy integer
            fmt[k] = _n(fmt[k], lang)
    if problem.code == "table_empty":
        fmt["why"] = t("problem.table_empty.why", lang, reason=t(f"reason.{p['_top_reason']}", lang)) if p.get("_top_reason") else ""
    if problem.code in ("column_missing", "column_empty"):
        fmt["why"] = t(p["_why"], lang)
    if problem.code == "quarantine_share":
        fmt["reason"] = t(f"reason.{p['_reason']}", lang)
        text = t("problem.quarantine_share", lang, **fmt)
        if p.get("_lines"):
            text += t("problem.quarantine_share.fix_stage", lang, keys=p["_keys"], lines=p["_lines"])
        else:
            text += t("problem.quarantine_share.fix", lang, preset=p.get("preset", ""))
        return text
    if problem.code == "currencies":
        parts = []
        if p.get("_rates"):
            parts.append(t("problem.currencies.converted", lang, rates=p["_rates"]))
        if p.get("_missing"):
            parts.append(t("problem.currencies.quarantined", lang, n=_n(p["_n_missing"], lang), missing=p["_missing"], currency=p["currency"], example=p["_example"]))
        fmt["what"] = " ".join(parts)
    return t(f"problem.{problem.code}", lang, **fmt)


def warning_texts(dataset, lang: str) -> list[str]:
    """The warnings of a loaded dataset as paragraphs in ``lang`` (empty when the load is clean)."""
    return [problem_text(p, lang) for p in getattr(dataset, "problems", []) if not p.fatal]


def refusal_message(problems: list[LoadProblem]) -> str:
    """The message of a refused load: one English paragraph per fatal problem."""
    texts = [problem_text(p, "en") for p in problems]
    if len(texts) == 1:
        return f"The load is refused. {texts[0]}"
    return "The load is refused: " + " ".join(f"({i}) {text}" for i, text in enumerate(texts, 1))


LoadRefused.writer = staticmethod(refusal_message)
