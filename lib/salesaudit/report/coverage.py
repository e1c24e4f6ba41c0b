"""How the data cover an audit period, in words: the banner of a partly covered period and the refusal of one outside the data.

:func:`salesaudit.data.coverage.period_coverage` judges the period (a
:class:`~salesaudit.data.coverage.Coverage`, no language); here it becomes text:

>>> import pandas as pd
>>> from salesaudit.data.coverage import Coverage
>>> from salesaudit.data.params import parse_period
>>> c = Coverage(parse_period("2026-10"), pd.Timestamp("2025-11-01 09:00"), pd.Timestamp("2026-10-20 17:00"),
...              "partial", pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-20 17:00"))
>>> banner(c, "en")
'The period 2026-10 is only partly covered by the data: 1 Oct 2026 to 20 Oct 2026.'
"""
from __future__ import annotations

import html
from typing import Optional

from ..data.coverage import Coverage
from . import format as fmt_
from .i18n import t

__all__ = ["banner", "refusal", "fmt_date"]


def fmt_date(moment, lang: str = "ru") -> str:
    """A date in coverage messages: ``31.10.2026`` (ru), ``31 Oct 2026`` (en); :func:`salesaudit.report.format.date`."""
    return fmt_.date(moment, lang)


def banner(coverage: Coverage, lang: str) -> Optional[str]:
    """The notice shown at the top of every page of a partly covered period (else None)."""
    if not coverage.partial:
        return None
    return t("coverage.partial", lang, period=coverage.period.label,
             start=fmt_date(coverage.covered_from, lang), end=fmt_date(coverage.covered_to, lang))


def refusal(coverage: Coverage, lang: str = "en") -> Optional[str]:
    """Why a period outside the data is refused, with how to fix it (else None)."""
    if not coverage.outside:
        return None
    if coverage.first is None:
        return t("coverage.no_dates", lang, period=coverage.period.label)
    return t("coverage.outside", lang, period=coverage.period.label,
             first=fmt_date(coverage.first, lang), last=fmt_date(coverage.last, lang))


_BANNER_STYLE = (
    "background:#fff4e5;border:1px solid #f0a020;border-left:6px solid #f0a020;border-radius:6px;"
    "color:#4a3000;font-weight:600;padding:10px 16px;margin:12px 0 16px;"
    "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:15px;"
)


def banner_html(text: str) -> str:
    """The coverage banner as a self-styled block (shown at the top of every page of a run and of its summary)."""
    return f'<div class="salesaudit-banner" role="note" style="{_BANNER_STYLE}">{html.escape(text)}</div>'
