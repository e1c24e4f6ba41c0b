"""Elapsed time between local timestamps, right across clock changes.

The canonical tables hold naive local times in the run's one timezone (``timezone:`` in the
run config). Subtracting two wall-clock times is wrong when a clock change lies between them:
a stay from 01:00 before the spring change to 01:00 the next day lasted 23 hours, not 24.
:func:`utc_ns` places local times on the UTC axis so that differences are elapsed time.

A wall-clock time that does not exist (skipped by the spring change) is moved forward to the
first valid instant; one that occurs twice (the autumn change) is read as the first occurrence.

>>> import pandas as pd
>>> a = pd.Series(pd.to_datetime(["2026-03-28 12:00"]))
>>> b = pd.Series(pd.to_datetime(["2026-03-29 12:00"]))
>>> float(elapsed_hours(a, b, "Europe/Berlin")[0])  # Berlin moves its clocks on 29 March 2026
23.0
>>> float(elapsed_hours(a, b, "Europe/Moscow")[0])  # Moscow keeps one offset all year
24.0
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["utc_ns", "elapsed_seconds", "elapsed_hours", "elapsed_days", "NAT_NS"]

NAT_NS = np.iinfo(np.int64).min
_FIXED = {"UTC", "Etc/UTC", "GMT", "Etc/GMT"}


def utc_ns(values, timezone: str | None) -> np.ndarray:
    """Naive local datetimes (any array-like, NaT allowed) -> int64 nanoseconds on the UTC axis.

    NaT stays ``NAT_NS``. Without a timezone, or in UTC, the local time is taken as it is.
    """
    idx = pd.DatetimeIndex(pd.Series(values).to_numpy() if not isinstance(values, np.ndarray) else values).as_unit("ns")
    if idx.tz is not None:
        return np.asarray(idx.tz_convert("UTC").tz_localize(None).asi8, dtype=np.int64)
    if not timezone or timezone in _FIXED or len(idx) == 0:
        return np.asarray(idx.asi8, dtype=np.int64)
    local = idx.tz_localize(timezone, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="shift_forward")
    return np.asarray(local.tz_convert("UTC").tz_localize(None).asi8, dtype=np.int64)


def elapsed_seconds(start, end, timezone: str | None) -> np.ndarray:
    """Elapsed seconds from ``start`` to ``end`` (local times), NaN where either is missing."""
    a, b = utc_ns(start, timezone), utc_ns(end, timezone)
    out = (b - a).astype("float64") / 1e9
    out[(a == NAT_NS) | (b == NAT_NS)] = np.nan
    return out


def elapsed_hours(start, end, timezone: str | None) -> np.ndarray:
    return elapsed_seconds(start, end, timezone) / 3600.0


def elapsed_days(start, end, timezone: str | None) -> np.ndarray:
    return elapsed_seconds(start, end, timezone) / 86400.0
