"""Working time for millions of moments: :class:`~salesaudit.data.calendar.WorkCalendar`'s clock,
read from tables of days.

The calendar maps a moment to its *working clock* (working nanoseconds since an epoch) and back
with ``numpy.busday_count`` and ``numpy.busday_offset`` for every moment. The generator asks that
tens of millions of times, over a few years of days; :class:`WorkClock` counts the working days
once per day of the span (with the calendar's own day index) and then only looks them up. The
answers are the calendar's, to the nanosecond (``tests/test_synth_scale.py`` compares them); a
moment outside the tabulated span is handed to the calendar itself.
"""
from __future__ import annotations

import numpy as np

from ..data.calendar import WorkCalendar

__all__ = ["WorkClock"]

_NS_DAY = 86_400 * 1_000_000_000
_NS_PER_MIN = 60 * 1_000_000_000
_NAT = np.iinfo(np.int64).min


class WorkClock:
    """:meth:`add_working_minutes`, :meth:`working_minutes_between` and :meth:`next_open` of
    ``calendar`` on arrays of moments (``datetime64[ns]`` or int64 nanoseconds), for the days
    ``first``..``last`` read from tables (other days: the calendar)."""

    def __init__(self, calendar: WorkCalendar, first, last):
        self.calendar = calendar
        self._start_ns, self._day_ns = calendar._start_ns, calendar._day_ns
        days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
        self._d0 = int(days[0].astype(np.int64))
        self._k = calendar._day_index(days)
        self._work = calendar._is_workday(days)
        at = np.flatnonzero(self._work)
        self._work_days = days[at].astype(np.int64)
        self._k0 = int(self._k[at[0]]) if len(at) else 0

    def _clock(self, ns: np.ndarray):
        day = np.floor_divide(ns, _NS_DAY)
        i = day - self._d0
        if len(i) and (i.min() < 0 or i.max() >= len(self._k)):
            return None
        tod = ns - day * _NS_DAY
        within = np.clip(tod - self._start_ns, 0, self._day_ns)
        return self._k[i] * self._day_ns + np.where(self._work[i], within, 0)

    def _from_clock(self, clock: np.ndarray, closing_on_boundary: np.ndarray):
        k = np.floor_divide(clock, self._day_ns)
        r = clock - k * self._day_ns
        back = closing_on_boundary & (r == 0)
        k = np.where(back, k - 1, k)
        r = np.where(back, self._day_ns, r)
        j = k - self._k0
        if len(j) and (j.min() < 0 or j.max() >= len(self._work_days)):
            return None
        return self._work_days[j] * _NS_DAY + self._start_ns + r

    def add_working_minutes(self, ts, minutes) -> np.ndarray:
        """As :meth:`WorkCalendar.add_working_minutes`, on an array; ``datetime64[ns]`` out."""
        ns = np.asarray(ts).view(np.int64)
        mins = np.asarray(minutes, dtype="float64")
        if mins.ndim == 0:
            mins = np.full(len(ns), float(mins))
        ok = (ns != _NAT) & np.isfinite(mins)
        out = np.full(len(ns), _NAT, dtype=np.int64)
        if ok.any():
            delta = np.round(mins[ok] * _NS_PER_MIN).astype(np.int64)
            clock = self._clock(ns[ok])
            moved = None if clock is None else self._from_clock(clock + delta, delta > 0)
            if moved is None:
                return np.asarray(self.calendar.add_working_minutes(ns.view("datetime64[ns]"), mins)).astype("datetime64[ns]")
            out[ok] = moved
        return out.view("datetime64[ns]")

    def next_open(self, ts) -> np.ndarray:
        """As :meth:`WorkCalendar.next_open`, on an array."""
        return self.add_working_minutes(ts, 0.0)

    def working_minutes_between(self, a, b) -> np.ndarray:
        """As :meth:`WorkCalendar.working_minutes_between`, on two arrays of the same length."""
        a_ns, b_ns = np.asarray(a).view(np.int64), np.asarray(b).view(np.int64)
        ok = (a_ns != _NAT) & (b_ns != _NAT)
        out = np.full(len(a_ns), np.nan)
        if ok.any():
            ca, cb = self._clock(a_ns[ok]), self._clock(b_ns[ok])
            if ca is None or cb is None:
                return np.asarray(self.calendar.working_minutes_between(a_ns.view("datetime64[ns]"), b_ns.view("datetime64[ns]")), dtype=float)
            out[ok] = np.maximum(cb - ca, 0) / _NS_PER_MIN
        return out

    def is_working_day(self, days) -> np.ndarray:
        return np.asarray(self.calendar.is_working_day(days))
