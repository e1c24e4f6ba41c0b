"""Working time on the simulation clock.

The simulation clock counts minutes from a midnight (``start``). A manager
works only inside the working intervals of the client's calendar
(:class:`salesaudit.data.calendar.WorkCalendar`): weekdays, hours and holidays.
:class:`WorkTime` turns the calendar into sorted interval arrays once, and then
answers, in scalar Python with :mod:`bisect` (about a microsecond each):

* :meth:`WorkTime.worked` ``W(t)``: working minutes from the clock's zero to ``t``;
* :meth:`WorkTime.begin` the moment work resumes once ``w`` working minutes are done
  (a lead arriving on Saturday is picked up on Monday's opening);
* :meth:`WorkTime.finish` the moment ``w`` working minutes are completed
  (a job may end exactly at closing time).

Without a calendar (``calendar=None``) every minute is a working minute, which
is how the model reduces to a plain M/M/c queue for validation.

>>> import pandas as pd
>>> from salesaudit.data.calendar import WorkCalendar
>>> cal = WorkCalendar(start="09:00", end="18:00")          # Mon–Fri 9–18
>>> wt = WorkTime(pd.Timestamp("2026-10-02"), days=10, calendar=cal)   # a Friday
>>> wt.worked(9 * 60 + 30)             # Friday 09:30: half an hour worked
30.0
>>> wt.begin(wt.worked(20 * 60)) / 60  # Friday 20:00 → Monday 09:00, in hours from Friday 00:00
81.0
>>> wt.finish(wt.worked(17 * 60) + 120) / 60   # Friday 17:00 + 2 working hours → Monday 10:00
82.0
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np
import pandas as pd

__all__ = ["WorkTime"]

_DAY = 1440.0


class WorkTime:
    """The working intervals of ``days`` days from ``start`` on a minute clock."""

    def __init__(self, start: pd.Timestamp, days: int, calendar=None):
        self.start = pd.Timestamp(start).normalize()
        self.days = int(days)
        self.calendar = calendar
        if calendar is None:
            self.always = True
            self.minutes_per_day = _DAY
            self.opens: list[float] = []
            return
        self.always = False
        dates = pd.date_range(self.start, periods=self.days + 1, freq="D")
        working = np.asarray(calendar.is_working_day(dates), dtype=bool)
        idx = np.flatnonzero(working)
        o = idx * _DAY + float(calendar._start_min)
        c = idx * _DAY + float(calendar._end_min)
        length = c - o
        cum = np.concatenate([[0.0], np.cumsum(length)])
        self.minutes_per_day = float(calendar._end_min - calendar._start_min)
        self.opens = o.tolist()
        self.closes = c.tolist()
        self.before = cum[:-1].tolist()  # working minutes before each interval opens
        self.after = cum[1:].tolist()  # ... after it closes
        self.working_day = working
        self.total = float(cum[-1])

    def worked(self, t: float) -> float:
        """Working minutes between the clock's zero and ``t``."""
        if self.always:
            return float(t)
        k = bisect_right(self.opens, t) - 1
        if k < 0:
            return 0.0
        return self.before[k] + min(t - self.opens[k], self.closes[k] - self.opens[k])

    def begin(self, w: float) -> float:
        """The first moment at which work goes on after ``w`` working minutes."""
        if self.always:
            return float(w)
        k = bisect_right(self.after, w)
        if k >= len(self.opens):
            return self._beyond(w)
        return self.opens[k] + max(0.0, w - self.before[k])

    def finish(self, w: float) -> float:
        """The first moment at which ``w`` working minutes are done."""
        if self.always:
            return float(w)
        if w <= 0:
            return 0.0
        k = bisect_left(self.after, w)
        if k >= len(self.opens):
            return self._beyond(w)
        return self.opens[k] + (w - self.before[k])

    def _beyond(self, w: float) -> float:
        # past the prepared horizon: extrapolate at the average working share
        share = self.total / (self.days * _DAY) if self.total > 0 else 1.0
        return self.days * _DAY + (w - self.total) / max(share, 1e-9)

    def day_end(self, t: float) -> float:
        """Closing time of the working day a lead arriving at ``t`` belongs to.

        As in :func:`salesaudit.analysis.leads.response_times`: the day of the next opening,
        so a lead from 18:30 or Saturday is due by the close of the next working day.
        """
        if self.always:
            return (np.floor(t / _DAY) + 1.0) * _DAY
        k = bisect_right(self.after, self.worked(t))
        if k >= len(self.opens):
            return self._beyond(self.worked(t)) + self.minutes_per_day
        return self.closes[k]

    def worked_array(self, t) -> np.ndarray:
        """:meth:`worked` for an array of moments (vectorised, the same numbers)."""
        t = np.asarray(t, dtype=float)
        if self.always:
            return t.copy()
        opens = np.asarray(self.opens)
        k = np.searchsorted(opens, t, side="right") - 1
        kk = np.maximum(k, 0)
        length = np.asarray(self.closes)[kk] - opens[kk]
        w = np.asarray(self.before)[kk] + np.minimum(t - opens[kk], length)
        return np.where(k < 0, 0.0, w)

    def day_end_array(self, t) -> np.ndarray:
        """:meth:`day_end` for an array of moments (vectorised, the same numbers)."""
        t = np.asarray(t, dtype=float)
        if self.always:
            return (np.floor(t / _DAY) + 1.0) * _DAY
        w = self.worked_array(t)
        k = np.searchsorted(np.asarray(self.after), w, side="right")
        inside = k < len(self.opens)
        out = np.asarray(self.closes + [np.nan])[np.minimum(k, len(self.opens))]
        if not inside.all():
            out[~inside] = [self._beyond(x) + self.minutes_per_day for x in w[~inside]]
        return out

    def working_days_between(self, a: float, b: float) -> float:
        """Working days (in units of a full working day) between two moments."""
        return (self.worked(b) - self.worked(a)) / self.minutes_per_day

    def to_timestamp(self, minutes) -> pd.DatetimeIndex | pd.Timestamp:
        """Clock minutes back to local datetimes."""
        if np.ndim(minutes) == 0:
            return self.start + pd.to_timedelta(float(minutes), unit="min")
        return self.start + pd.to_timedelta(np.asarray(minutes, dtype=float), unit="min")

    def to_minutes(self, ts) -> np.ndarray:
        """Local datetimes to clock minutes."""
        ts = pd.to_datetime(ts)
        return np.asarray((ts - self.start) / pd.Timedelta(minutes=1), dtype=float)
