"""How well the loaded data cover an audit period.

A report for a month the export does not reach reads like a quiet, good month. Before the
notebooks run, :func:`period_coverage` compares the period with the data's range:

* ``"none"`` - the period does not overlap the data at all: ``salesaudit run`` refuses it
  (the reason in words: :func:`salesaudit.report.coverage.refusal`);
* ``"partial"`` - the data start after the period's first day or stop before its last day:
  every page of the report carries a banner (:func:`salesaudit.report.coverage.banner`);
* ``"full"`` - otherwise.

The data's range (:func:`data_range`) runs from the first to the last dated row (deals created
or closed, leads, stage changes, activities, payments), capped at the audit moment ``as_of``.
When the run config fixes ``as_of`` the export is taken to be complete up to that moment: a
quiet weekend before it is not missing data, so coverage reaches ``as_of``. Without it (the audit
moment is "now") coverage ends with the last dated row. Coverage is judged in whole days: data
starting at 09:53 on the period's first day cover that day.

>>> import pandas as pd
>>> from salesaudit.data.params import parse_period
>>> c = Coverage(parse_period("2026-10"), pd.Timestamp("2025-11-01 09:00"), pd.Timestamp("2026-10-20 17:00"),
...              "partial", pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-20 17:00"))
>>> c.partial, str(c.covered_to)
(True, '2026-10-20 17:00:00')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

from .params import Period, parse_period

__all__ = ["DATE_COLUMNS", "STATUSES", "Coverage", "data_range", "period_coverage"]

#: the dated columns that mark activity, per canonical table
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": ("created_at", "closed_at"),
    "leads": ("created_at",),
    "stage_history": ("entered_at",),
    "activities": ("created_at",),
    "payments": ("paid_at",),
}
STATUSES = ("full", "partial", "none")
_SECOND = pd.Timedelta(seconds=1)
_DAY = pd.Timedelta(days=1)


def data_range(ds) -> Optional[tuple[pd.Timestamp, pd.Timestamp]]:
    """The first and last moment of activity in a loaded Dataset, or None when no row is dated.

    The minimum and maximum over deals.created_at, deals.closed_at, leads.created_at,
    stage_history.entered_at, activities.created_at and payments.paid_at (whichever tables and
    columns exist; empty dates ignored); the last is capped at ``ds.as_of``.
    """
    firsts, lasts = [], []
    for table, columns in DATE_COLUMNS.items():
        if not ds.has(table):
            continue
        frame = ds.tables[table]
        for column in columns:
            if column not in frame.columns:
                continue
            values = pd.to_datetime(frame[column], errors="coerce").dropna()
            if len(values):
                firsts.append(values.min())
                lasts.append(values.max())
    if not firsts:
        return None
    first, last = min(firsts), max(lasts)
    as_of = getattr(ds, "as_of", None)
    if as_of is not None and not pd.isna(as_of):
        last = min(last, pd.Timestamp(as_of))
    return pd.Timestamp(first), pd.Timestamp(last)


@dataclass(frozen=True)
class Coverage:
    """How the data cover ``period``: ``status`` is ``"full"``, ``"partial"`` or ``"none"``.

    ``first``/``last`` are the data's range (None when no row is dated); ``covered_from`` and
    ``covered_to`` the part of the period the data cover (None when ``status`` is ``"none"``).
    """

    period: Period
    first: Optional[pd.Timestamp]
    last: Optional[pd.Timestamp]
    status: str
    covered_from: Optional[pd.Timestamp]
    covered_to: Optional[pd.Timestamp]

    @property
    def full(self) -> bool:
        return self.status == "full"

    @property
    def partial(self) -> bool:
        return self.status == "partial"

    @property
    def outside(self) -> bool:
        return self.status == "none"


def period_coverage(ds, period_label: str, grain: Optional[str] = None) -> Coverage:
    """How the data of ``ds`` cover the period ``period_label`` (at ``grain``)."""
    period = parse_period(period_label, grain)
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)  # [start, end)
    span = data_range(ds)
    if span is None:
        return Coverage(period, None, None, "none", None, None)
    first, last = span
    if end <= first or start > last:
        return Coverage(period, first, last, "none", None, None)
    explicit_as_of = getattr(getattr(ds, "config", None), "as_of", None) is not None
    data_end = max(last, pd.Timestamp(ds.as_of)) if explicit_as_of else last
    covered_from = max(first, start)
    covered_to = min(data_end, end - _SECOND)
    starts_late = covered_from.normalize() > start
    stops_early = covered_to.normalize() + _DAY < end
    status = "partial" if starts_late or stops_early else "full"
    return Coverage(period, first, last, status, covered_from, covered_to)
