"""A working calendar: working days, opening hours and public holidays.

Response times, stage durations and deadlines in a sales audit only make sense
in *working* time: a lead that arrives at 21:00 on Friday and is answered at
09:10 on Monday waited ten working minutes, not sixty hours.

All timestamps are naive local times in the calendar's timezone. The timezone
is stored only to convert tz-aware inputs: an aware timestamp is converted to
the calendar's timezone and its tz information dropped.

Every method accepts a scalar (``pandas.Timestamp``, ``datetime``,
``numpy.datetime64`` or an ISO string), a ``pandas.Series``, a
``pandas.DatetimeIndex`` or any array-like of datetimes, and answers in the same
shape: a scalar for a scalar, a Series with the same index for a Series, an
index for an index and a numpy array otherwise. ``NaT`` in gives ``NaT`` (or
``NaN`` for numbers) out; :meth:`WorkCalendar.is_working_time` answers
``False`` for ``NaT``.

The computation is fully vectorised. Internally a moment ``t`` is mapped to its
*working clock* ``W(t)``: the number of working nanoseconds between a fixed
epoch and ``t``. Then ``working_minutes_between(a, b) = W(b) - W(a)`` and
:meth:`WorkCalendar.add_working_minutes` is the inverse of ``W``.

>>> cal = WorkCalendar(holidays=RU_HOLIDAYS_2025_2026)
>>> cal.working_minutes_between("2026-10-16 21:00", "2026-10-19 09:10")
10.0
>>> cal.add_working_minutes("2026-10-16 17:30", 45)
Timestamp('2026-10-19 09:15:00')
>>> cal.is_working_time("2026-01-05 10:00")  # New Year holidays in Russia
False
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = ["WorkCalendar", "RU_HOLIDAYS_2025_2026"]

#: Russian public non-working days of 2025 and 2026 (approximate).
#:
#: Compiled from the production calendars (производственный календарь) as
#: published by the government decrees on moved days off: New Year holidays,
#: Defender of the Fatherland Day, Women's Day, Spring and Labour Day, Victory
#: Day, Russia Day, Unity Day, plus the days off moved onto weekdays (e.g.
#: 2025-05-02, 2025-12-31, 2026-01-09, 2026-12-31). Holidays that fall on a
#: weekend are listed too, which is harmless. Working Saturdays created by a
#: transfer (e.g. 2025-11-01) are *not* modelled: a calendar here has only one
#: weekly pattern. Treat this list as approximate and check it against the
#: client's own calendar when precision matters.
RU_HOLIDAYS_2025_2026: tuple[str, ...] = (
    # 2025
    "2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05",
    "2025-01-06", "2025-01-07", "2025-01-08",
    "2025-02-23",
    "2025-03-08",
    "2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04",
    "2025-05-08", "2025-05-09", "2025-05-10", "2025-05-11",
    "2025-06-12", "2025-06-13", "2025-06-14", "2025-06-15",
    "2025-11-02", "2025-11-03", "2025-11-04",
    "2025-12-31",
    # 2026
    "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05",
    "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09", "2026-01-10",
    "2026-01-11",
    "2026-02-21", "2026-02-22", "2026-02-23",
    "2026-03-07", "2026-03-08", "2026-03-09",
    "2026-05-01", "2026-05-02", "2026-05-03",
    "2026-05-09", "2026-05-10", "2026-05-11",
    "2026-06-12", "2026-06-13", "2026-06-14",
    "2026-11-04",
    "2026-12-31",
)

#: Origin of the working clock. Any date works; moments before it simply get a
#: negative clock value.
_EPOCH = np.datetime64("2000-01-01", "D")
_NS_PER_MIN = 60 * 1_000_000_000
_NAT = np.iinfo(np.int64).min


def _parse_hhmm(value: str | _dt.time) -> int:
    """``"09:30"`` or a :class:`datetime.time` → minutes after midnight."""
    if isinstance(value, _dt.time):
        return value.hour * 60 + value.minute
    text = str(value).strip()
    try:
        hh, mm = text.split(":")[:2]
        minutes = int(hh) * 60 + int(mm)
    except ValueError as exc:  # pragma: no cover - message only
        raise ValueError(f"time of day must look like '09:00', got {value!r}") from exc
    if not 0 <= minutes <= 24 * 60:
        raise ValueError(f"time of day out of range: {value!r}")
    return minutes


class _Shape:
    """Remembers how an input looked so the answer can be given the same shape."""

    def __init__(self, kind: str, index: Any = None, name: Any = None):
        self.kind = kind  # "scalar", "series", "index" or "array"
        self.index = index
        self.name = name

    def datetimes(self, ns: np.ndarray):
        values = ns.view("datetime64[ns]")
        if self.kind == "scalar":
            return pd.Timestamp(values[0]) if ns[0] != _NAT else pd.NaT
        if self.kind == "series":
            return pd.Series(values, index=self.index, name=self.name)
        if self.kind == "index":
            return pd.DatetimeIndex(values, name=self.name)
        return values

    def floats(self, values: np.ndarray):
        if self.kind == "scalar":
            return float(values[0])
        if self.kind == "series":
            return pd.Series(values, index=self.index, name=self.name, dtype="float64")
        return values

    def bools(self, values: np.ndarray):
        if self.kind == "scalar":
            return bool(values[0])
        if self.kind == "series":
            return pd.Series(values, index=self.index, name=self.name, dtype="bool")
        return values


class WorkCalendar:
    """Working days and hours of a sales department.

    Parameters
    ----------
    timezone:
        IANA name of the local timezone (only used to convert tz-aware inputs).
    workdays:
        Python weekday numbers of the working days (Monday = 0).
    start, end:
        Opening and closing time of a working day, ``"HH:MM"``. Working time is
        the half-open interval ``[start, end)``; there is no lunch break.
    holidays:
        Non-working dates (``date`` objects, Timestamps or ISO strings).

    >>> cal = WorkCalendar(holidays=["2026-11-04"])
    >>> cal.minutes_per_day
    540
    >>> cal.next_open("2026-11-03 18:30")  # Nov 4 is a holiday
    Timestamp('2026-11-05 09:00:00')
    >>> cal.end_of_working_day("2026-11-03 12:00")
    Timestamp('2026-11-03 18:00:00')
    >>> cal.end_of_working_day("2026-11-03 20:00")
    Timestamp('2026-11-05 18:00:00')
    >>> cal.business_days_between("2026-11-02 09:00", "2026-11-05 13:30")
    2.5
    """

    def __init__(
        self,
        timezone: str = "Europe/Moscow",
        workdays: Iterable[int] = (0, 1, 2, 3, 4),
        start: str | _dt.time = "09:00",
        end: str | _dt.time = "18:00",
        holidays: Iterable[Any] = (),
    ):
        self.timezone = timezone
        days = sorted({int(d) for d in workdays})
        if not days or any(d < 0 or d > 6 for d in days):
            raise ValueError(f"workdays must be weekday numbers 0..6 (Monday = 0), got {list(workdays)!r}")
        self.workdays = tuple(days)
        self.start = start if isinstance(start, str) else start.strftime("%H:%M")
        self.end = end if isinstance(end, str) else end.strftime("%H:%M")
        self._start_min = _parse_hhmm(start)
        self._end_min = _parse_hhmm(end)
        if self._end_min <= self._start_min:
            raise ValueError(f"the working day must end after it starts: {self.start}–{self.end}")
        self.holidays = tuple(sorted({pd.Timestamp(h).date() for h in holidays}))
        weekmask = [1 if d in self.workdays else 0 for d in range(7)]
        self._busdaycal = np.busdaycalendar(
            weekmask=weekmask,
            holidays=np.array([np.datetime64(h, "D") for h in self.holidays], dtype="datetime64[D]"),
        )
        self._start_ns = np.int64(self._start_min) * _NS_PER_MIN
        self._day_ns = np.int64(self._end_min - self._start_min) * _NS_PER_MIN

    def __reduce__(self):
        """Pickle by the constructor's arguments (numpy's busdaycalendar cannot be pickled),
        so a calendar can travel to process-pool and Dask workers."""
        return (WorkCalendar, (self.timezone, self.workdays, self.start, self.end, self.holidays))

    # ------------------------------------------------------------------ info
    @property
    def minutes_per_day(self) -> int:
        """Working minutes in one working day (540 for 09:00–18:00)."""
        return self._end_min - self._start_min

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(timezone={self.timezone!r}, workdays={self.workdays!r}, start={self.start!r}, "
            f"end={self.end!r}, holidays=<{len(self.holidays)} dates>)"
        )

    def is_working_day(self, ts):
        """Whether the date of ``ts`` is a working day (not a weekend, not a holiday).

        >>> WorkCalendar().is_working_day("2026-10-17")  # a Saturday
        False
        """
        ns, shape = self._ns(ts)
        ok = ns != _NAT
        out = np.zeros(len(ns), dtype=bool)
        out[ok] = np.is_busday(ns[ok].view("datetime64[ns]").astype("datetime64[D]"), busdaycal=self._busdaycal)
        return shape.bools(out)

    # ------------------------------------------------------------ conversions
    def _ns(self, ts) -> tuple[np.ndarray, _Shape]:
        """Input → int64 nanoseconds (naive local time, ``_NAT`` for missing) and its shape."""
        if isinstance(ts, pd.Series):
            shape = _Shape("series", ts.index, ts.name)
            values = pd.DatetimeIndex(pd.to_datetime(ts))
        elif isinstance(ts, pd.Index):
            shape = _Shape("index", name=ts.name)
            values = pd.DatetimeIndex(pd.to_datetime(ts))
        elif isinstance(ts, (list, tuple, np.ndarray)):
            shape = _Shape("array")
            values = pd.DatetimeIndex(pd.to_datetime(list(ts) if not isinstance(ts, np.ndarray) else ts))
        else:
            # fast path for scalars: no index construction
            stamp = pd.Timestamp(ts) if ts is not None else pd.NaT
            if stamp is pd.NaT:
                return np.array([_NAT], dtype=np.int64), _Shape("scalar")
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert(self.timezone).tz_localize(None)
            return np.array([stamp.as_unit("ns").value], dtype=np.int64), _Shape("scalar")
        if values.tz is not None:
            values = values.tz_convert(self.timezone).tz_localize(None)
        return np.asarray(values.as_unit("ns").asi8, dtype=np.int64), shape

    def _clock(self, ns: np.ndarray) -> np.ndarray:
        """Working clock ``W(t)`` in nanoseconds for valid (non-NaT) moments."""
        t = ns.view("datetime64[ns]")
        day = t.astype("datetime64[D]")
        k = np.busday_count(_EPOCH, day, busdaycal=self._busdaycal).astype(np.int64)
        is_bd = np.is_busday(day, busdaycal=self._busdaycal)
        tod = ns - day.astype("datetime64[ns]").view(np.int64)
        within = np.clip(tod - self._start_ns, 0, self._day_ns)
        return k * self._day_ns + np.where(is_bd, within, 0)

    def _from_clock(self, clock: np.ndarray, closing_on_boundary: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`_clock` → ns. Where ``closing_on_boundary`` is set, a
        clock value exactly between two days is the previous day's closing time
        instead of the next day's opening time."""
        k = np.floor_divide(clock, self._day_ns)
        r = clock - k * self._day_ns
        back = closing_on_boundary & (r == 0)
        k = np.where(back, k - 1, k)
        r = np.where(back, self._day_ns, r)
        day = np.busday_offset(_EPOCH, k, roll="forward", busdaycal=self._busdaycal)
        return day.astype("datetime64[ns]").view(np.int64) + self._start_ns + r

    # ---------------------------------------------------------------- methods
    def is_working_time(self, ts):
        """Whether ``ts`` falls inside working hours of a working day (``False`` for NaT).

        >>> cal = WorkCalendar()
        >>> cal.is_working_time("2026-10-16 17:59"), cal.is_working_time("2026-10-16 18:00")
        (True, False)
        """
        ns, shape = self._ns(ts)
        ok = ns != _NAT
        out = np.zeros(len(ns), dtype=bool)
        if ok.any():
            v = ns[ok]
            day = v.view("datetime64[ns]").astype("datetime64[D]")
            tod = v - day.astype("datetime64[ns]").view(np.int64)
            out[ok] = (
                np.is_busday(day, busdaycal=self._busdaycal)
                & (tod >= self._start_ns)
                & (tod < self._start_ns + self._day_ns)
            )
        return shape.bools(out)

    def next_open(self, ts):
        """``ts`` itself inside working hours, else the next opening moment.

        >>> cal = WorkCalendar()
        >>> cal.next_open("2026-10-16 21:00")  # Friday evening
        Timestamp('2026-10-19 09:00:00')
        >>> cal.next_open("2026-10-19 11:25")
        Timestamp('2026-10-19 11:25:00')
        """
        return self.add_working_minutes(ts, 0)

    def end_of_working_day(self, ts):
        """Closing time of the working day ``ts`` belongs to (after moving to :meth:`next_open`).

        >>> WorkCalendar().end_of_working_day("2026-10-17 10:00")  # Saturday → Monday
        Timestamp('2026-10-19 18:00:00')
        """
        ns, shape = self._ns(ts)
        ok = ns != _NAT
        out = np.full(len(ns), _NAT, dtype=np.int64)
        if ok.any():
            opened = self._from_clock(self._clock(ns[ok]), np.zeros(ok.sum(), dtype=bool))
            day = opened.view("datetime64[ns]").astype("datetime64[D]").astype("datetime64[ns]").view(np.int64)
            out[ok] = day + self._start_ns + self._day_ns
        return shape.datetimes(out)

    def working_minutes_between(self, a, b):
        """Working minutes in ``[a, b)``; 0 when ``b <= a``; NaN when either is missing.

        ``a`` and ``b`` broadcast: a scalar against a Series works; two array
        inputs are paired by position and must have the same length.

        >>> cal = WorkCalendar(holidays=RU_HOLIDAYS_2025_2026)
        >>> cal.working_minutes_between("2026-10-19 10:00", "2026-10-19 10:45")
        45.0
        >>> cal.working_minutes_between("2026-10-19 17:00", "2026-10-20 10:00")  # overnight
        120.0
        >>> cal.working_minutes_between("2026-10-20 10:00", "2026-10-19 17:00")  # b < a
        0.0
        """
        a_ns, a_shape = self._ns(a)
        b_ns, b_shape = self._ns(b)
        shape = a_shape if a_shape.kind != "scalar" else b_shape
        if len(a_ns) != len(b_ns):
            if len(a_ns) == 1:
                a_ns = np.repeat(a_ns, len(b_ns))
            elif len(b_ns) == 1:
                b_ns = np.repeat(b_ns, len(a_ns))
            else:
                raise ValueError(f"a and b have different lengths: {len(a_ns)} and {len(b_ns)}")
        ok = (a_ns != _NAT) & (b_ns != _NAT)
        out = np.full(len(a_ns), np.nan)
        if ok.any():
            diff = self._clock(b_ns[ok]) - self._clock(a_ns[ok])
            out[ok] = np.maximum(diff, 0) / _NS_PER_MIN
        return shape.floats(out)

    def add_working_minutes(self, ts, minutes):
        """The moment ``minutes`` working minutes after ``ts`` (before it if negative).

        ``ts`` outside working hours counts from the next opening. A result that
        falls exactly at the end of a working day is given as that day's closing
        time (``09:00 + 540 min = 18:00`` the same day). ``minutes`` may be a
        scalar or an array of the same length as ``ts``.

        >>> cal = WorkCalendar(holidays=RU_HOLIDAYS_2025_2026)
        >>> cal.add_working_minutes("2026-10-19 09:00", 540)
        Timestamp('2026-10-19 18:00:00')
        >>> cal.add_working_minutes("2025-12-30 17:00", 120)  # Dec 31 – Jan 11 are days off
        Timestamp('2026-01-12 10:00:00')
        """
        ns, shape = self._ns(ts)
        mins = np.asarray(minutes, dtype="float64")
        if mins.ndim == 0:
            mins = np.full(len(ns), float(mins))
        elif isinstance(minutes, pd.Series):
            mins = minutes.to_numpy(dtype="float64", na_value=np.nan)
        if len(mins) != len(ns):
            raise ValueError(f"minutes has length {len(mins)} but ts has length {len(ns)}")
        ok = (ns != _NAT) & np.isfinite(mins)
        out = np.full(len(ns), _NAT, dtype=np.int64)
        if ok.any():
            delta = np.round(mins[ok] * _NS_PER_MIN).astype(np.int64)
            out[ok] = self._from_clock(self._clock(ns[ok]) + delta, delta > 0)
        return shape.datetimes(out)

    def business_days_between(self, a, b):
        """Working days in ``[a, b)`` as a float: working minutes / minutes per working day.

        >>> WorkCalendar().business_days_between("2026-10-16 13:30", "2026-10-19 13:30")
        1.0
        """
        minutes = self.working_minutes_between(a, b)
        return minutes / self.minutes_per_day
