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

Holidays need not be typed in by hand: :func:`production_calendar` reads the
official production calendar (производственный календарь) from the maintained
`holidays <https://pypi.org/project/holidays/>`_ package, including *transferred
working days* such as Saturday 2025-11-01, and :meth:`WorkCalendar.for_country`
builds a calendar from it. Such a calendar knows which years its holiday list
really covers, and :meth:`WorkCalendar.uncovered_years` names the years of the
data that lie outside them, so that a date after the last published decree is
reported instead of silently treated as an ordinary weekday.

>>> ru = WorkCalendar.for_country("RU", years=[2025])
>>> ru.is_working_day("2025-11-01"), ru.is_working_day("2025-11-03")  # a working Saturday, a day off
(True, False)
>>> ru.uncovered_years(["2025-06-01", "2031-06-01"])
[2031]
"""
from __future__ import annotations

import datetime as _dt
import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = [
    "WorkCalendar",
    "WorkClock",
    "RU_HOLIDAYS_2025_2026",
    "PRODUCTION_CALENDARS",
    "ProductionCalendar",
    "production_calendar",
    "covered_years",
]

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

#: Countries whose production calendar :func:`production_calendar` reads, as
#: lower-case codes (the values of the run config's ``calendar.production``
#: besides ``none``).
PRODUCTION_CALENDARS: tuple[str, ...] = ("ru",)

#: "Day off (substituted from 11/01/2025)": the en_US label of a transferred day off.
_SUBSTITUTED_FROM = re.compile(r"substituted from (\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE)


@dataclass(frozen=True)
class ProductionCalendar:
    """A country's official working calendar for some years; see :func:`production_calendar`.

    Attributes
    ----------
    country:
        ISO 3166 code, upper case (``"RU"``).
    years:
        The years the lists were built for, sorted.
    holidays:
        Non-working dates of those years, sorted: public holidays (also those
        that fall on a weekend), days off moved onto weekdays by a transfer and
        observed days off.
    workdays_extra:
        Weekend days that are working days by a transfer (Saturday 2025-11-01,
        whose day off moved to Monday 2025-11-03), sorted.
    extrapolated:
        The years of ``years`` outside :func:`covered_years`: the package only
        repeats the fixed-date holidays for them, without the decree's
        transfers and observed days off, so their lists are incomplete.
    source:
        The package and version the lists were read from (``"holidays 0.109"``).
    """

    country: str
    years: tuple[int, ...]
    holidays: tuple[_dt.date, ...]
    workdays_extra: tuple[_dt.date, ...]
    extrapolated: tuple[int, ...] = ()
    source: str = ""

    @property
    def covered(self) -> tuple[int, ...]:
        """The years of ``years`` the package knows the decree for (not extrapolated)."""
        return tuple(y for y in self.years if y not in self.extrapolated)


def _country_code(country: str) -> str:
    code = str(country).strip().lower()
    if code not in PRODUCTION_CALENDARS:
        raise ValueError(
            f"no production calendar for country {country!r}; available: "
            + ", ".join(PRODUCTION_CALENDARS)
            + " (or give the holidays yourself: WorkCalendar(holidays=...))"
        )
    return code.upper()


def _normalize_years(years: Iterable[int] | int) -> tuple[int, ...]:
    if isinstance(years, (int, np.integer)):
        years = (years,)
    out = tuple(sorted({int(y) for y in years}))
    if not out:
        raise ValueError("years must name at least one year")
    return out


def _substituted_from(names: Iterable[tuple[_dt.date, str]]) -> set[_dt.date]:
    """The dates named in en_US "Day off (substituted from MM/DD/YYYY)" labels
    (a fallback for a package that no longer exposes ``weekend_workdays``)."""
    out = set()
    for _, name in names:
        for label in str(name).split(";"):
            m = _SUBSTITUTED_FROM.search(label)
            if m:
                month, day, year = (int(g) for g in m.groups())
                out.add(_dt.date(year, month, day))
    return out


def covered_years(country: str = "RU") -> tuple[int, ...]:
    """The years for which the ``holidays`` package carries the government's decree.

    Rule: a year is covered when it has an entry in one of the country's
    ``special_*`` tables of the package (``special_public_holidays``: the
    transfers of days off, ``special_public_holidays_observed``: the days off
    given for holidays falling on a weekend). These tables are typed in from
    each year's decree, so they exist exactly for the published years. For
    any other year the package still answers, but only by repeating the
    fixed-date holidays: with ``holidays`` 0.109 the years 2028 and later have
    no transfer and no observed day off (Unity Day on Saturday 2028-11-04 gets
    no Monday off), while 2027 has its decree (Saturday 2027-02-20 is a working
    day, 2027-02-22 and 2027-11-05 are days off). The union of the tables'
    years is taken, not a range, so a stray later entry cannot vouch for a
    missing year. Should the package stop exposing the tables, a year counts as
    covered when one of its en_US names is a transfer ("substituted from") or an
    observed day off.

    The answer depends only on the installed package version (deterministic).
    Upgrade ``holidays`` to get the decrees of new years.

    >>> {2025, 2026, 2027} <= set(covered_years("RU"))
    True
    """
    return _covered_years(_country_code(country))


@functools.lru_cache(maxsize=None)
def _covered_years(code: str) -> tuple[int, ...]:
    import holidays  # lazily: importing this module stays cheap

    cal = holidays.country_holidays(code)
    lo = int(getattr(cal, "start_year", 1))
    hi = int(getattr(cal, "end_year", 9999))
    years: set[int] = set()
    for attr in dir(cal):
        table = getattr(cal, attr, None) if attr.startswith("special_") else None
        if isinstance(table, dict):
            years.update(int(y) for y, entries in table.items() if isinstance(y, (int, np.integer)) and entries)
    if not years:  # fallback: read the labels
        probe = range(max(lo, 1991), min(hi, _dt.date.today().year + 5) + 1)
        named = holidays.country_holidays(code, years=probe, language="en_US")
        years = {d.year for d, name in named.items() if _SUBSTITUTED_FROM.search(name) or "(observed)" in name}
    return tuple(sorted(y for y in years if lo <= y <= hi))


def production_calendar(country: str = "RU", years: Iterable[int] | int | None = None) -> ProductionCalendar:
    """The official production calendar of ``country`` for ``years``, from the ``holidays`` package.

    ``years`` defaults to all :func:`covered_years`. A requested year the
    package has no decree for is still filled with its fixed-date holidays
    but listed in :attr:`ProductionCalendar.extrapolated`.

    The transferred working days come from the package's own structured data
    (``weekend_workdays``: the weekend dates whose day off a decree moved to
    a weekday); weekend dates that are holidays themselves (Sunday 2025-01-05,
    whose day off moved to 2025-12-31, stays a New Year holiday) are not
    working days. Only when the package lacks that attribute are the en_US
    labels "Day off (substituted from MM/DD/YYYY)" parsed instead.

    >>> pc = production_calendar("RU", [2025])
    >>> pc.workdays_extra
    (datetime.date(2025, 11, 1),)
    >>> [d.isoformat() for d in pc.holidays if d.month == 11]
    ['2025-11-03', '2025-11-04']
    >>> production_calendar("ru", 2028).extrapolated  # holidays 0.109 has no 2028 decree
    (2028,)
    """
    code = _country_code(country)
    wanted = covered_years(code) if years is None else _normalize_years(years)
    return _production_calendar(code, wanted)


@functools.lru_cache(maxsize=32)
def _production_calendar(code: str, years: tuple[int, ...]) -> ProductionCalendar:
    import holidays  # lazily: importing this module stays cheap

    cal = holidays.country_holidays(code, years=years, language="en_US")
    wanted = set(years)
    days = {d for d in cal.keys() if d.year in wanted}
    weekend = {int(w) for w in getattr(cal, "weekend", (5, 6))}
    moved = getattr(cal, "weekend_workdays", None)
    if moved is None:  # an older or refactored package: read the labels
        moved = _substituted_from(cal.items())
    extra = {d for d in moved if d.year in wanted and d.weekday() in weekend and d not in days}
    covered = set(_covered_years(code))
    return ProductionCalendar(
        country=code,
        years=years,
        holidays=tuple(sorted(days)),
        workdays_extra=tuple(sorted(extra)),
        extrapolated=tuple(y for y in years if y not in covered),
        source=f"holidays {getattr(holidays, '__version__', '?')}",
    )


#: Origin of the working clock. Any date works; moments before it simply get a
#: negative clock value.
_EPOCH = np.datetime64("2000-01-01", "D")
_NS_PER_MIN = 60 * 1_000_000_000
_NS_PER_DAY = 86_400 * 1_000_000_000
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
    workdays_extra:
        Working dates although their weekday is not in ``workdays``: the
        Saturdays and Sundays made working days by a transfer (keyword only).
        A date cannot be both a holiday and an extra working day; an extra date
        whose weekday is a working day anyway changes nothing.
    years:
        The years the holiday list is known to cover (keyword only), or
        ``None``: the user's own list, with no claim about its years.
        :meth:`uncovered_years` reports data outside them.
        :meth:`for_country` fills both from the official production calendar.

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
        *,
        workdays_extra: Iterable[Any] = (),
        years: Iterable[int] | None = None,
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
        self.workdays_extra = tuple(sorted({pd.Timestamp(h).date() for h in workdays_extra}))
        both = sorted(set(self.holidays) & set(self.workdays_extra))
        if both:
            raise ValueError(
                "a date cannot be both a holiday and an extra working day: " + ", ".join(d.isoformat() for d in both)
            )
        if isinstance(years, (int, np.integer)):
            years = (years,)
        self.years = None if years is None else tuple(sorted({int(y) for y in years}))
        weekmask = [1 if d in self.workdays else 0 for d in range(7)]
        self._busdaycal = np.busdaycalendar(
            weekmask=weekmask,
            holidays=np.array([np.datetime64(h, "D") for h in self.holidays], dtype="datetime64[D]"),
        )
        # Extra working days on weekdays outside ``workdays`` (the others are
        # working days anyway). numpy's busdaycalendar has a single weekly
        # pattern, so these are counted on top of it; see ``_day_index``.
        extra = np.array(
            [np.datetime64(d, "D") for d in self.workdays_extra if d.weekday() not in self.workdays],
            dtype="datetime64[D]",
        )
        self._extra = np.sort(extra)
        self._extra_before_epoch = int(np.searchsorted(self._extra, _EPOCH, side="left"))
        # the working-day index of every extra day (strictly increasing)
        self._extra_index = (
            self._pattern_index(self._extra)
            + np.arange(len(self._extra), dtype=np.int64)
            - self._extra_before_epoch
        )
        self._start_ns = np.int64(self._start_min) * _NS_PER_MIN
        self._day_ns = np.int64(self._end_min - self._start_min) * _NS_PER_MIN

    def __reduce__(self):
        """Pickle by the constructor's arguments (numpy's busdaycalendar cannot be pickled),
        so a calendar can travel to process-pool and Dask workers."""
        args = (self.timezone, self.workdays, self.start, self.end, self.holidays)
        if not self.workdays_extra and self.years is None:
            return (WorkCalendar, args)
        return (_restore_calendar, (args, {"workdays_extra": self.workdays_extra, "years": self.years}))

    @classmethod
    def for_country(
        cls,
        country: str = "RU",
        years: Iterable[int] | int | None = None,
        *,
        timezone: str = "Europe/Moscow",
        workdays: Iterable[int] = (0, 1, 2, 3, 4),
        start: str | _dt.time = "09:00",
        end: str | _dt.time = "18:00",
        holidays: Iterable[Any] = (),
        workdays_extra: Iterable[Any] = (),
    ) -> "WorkCalendar":
        """A calendar with the official production calendar of ``country`` merged with the user's lists.

        ``years`` as in :func:`production_calendar` (default: every year the
        package has a decree for). The user's ``holidays`` (a corporate day
        off) and ``workdays_extra`` (a working Sunday) win over the production
        calendar; a date in both of the user's lists is an error. The
        calendar's :attr:`years` are the requested years the package has the
        decree for, so :meth:`uncovered_years` reports the others.

        >>> cal = WorkCalendar.for_country("RU", [2025, 2026], holidays=["2025-12-30"])
        >>> cal.years
        (2025, 2026)
        >>> cal.working_minutes_between("2025-12-29 17:00", "2026-01-12 10:00")  # Dec 30 off too
        120.0
        """
        production = production_calendar(country, years)
        own_off = {pd.Timestamp(h).date() for h in holidays}
        own_on = {pd.Timestamp(h).date() for h in workdays_extra}
        both = sorted(own_off & own_on)
        if both:
            raise ValueError(
                "a date cannot be both a holiday and an extra working day: " + ", ".join(d.isoformat() for d in both)
            )
        return cls(
            timezone=timezone,
            workdays=workdays,
            start=start,
            end=end,
            holidays=(set(production.holidays) - own_on) | own_off,
            workdays_extra=(set(production.workdays_extra) - own_off) | own_on,
            years=production.covered,
        )

    # ------------------------------------------------------------------ info
    @property
    def minutes_per_day(self) -> int:
        """Working minutes in one working day (540 for 09:00–18:00)."""
        return self._end_min - self._start_min

    def __repr__(self) -> str:
        extra = f", workdays_extra=<{len(self.workdays_extra)} dates>" if self.workdays_extra else ""
        years = f", years={_years_text(self.years)}" if self.years is not None else ""
        return (
            f"WorkCalendar(timezone={self.timezone!r}, workdays={self.workdays!r}, start={self.start!r}, "
            f"end={self.end!r}, holidays=<{len(self.holidays)} dates>{extra}{years})"
        )

    def uncovered_years(self, values) -> list[int]:
        """The sorted years of ``values`` outside :attr:`years` (``NaT`` ignored).

        Empty when the calendar makes no claim (``years=None``). Use it to warn
        that the holidays of those years are unknown.

        >>> cal = WorkCalendar(holidays=RU_HOLIDAYS_2025_2026, years=(2025, 2026))
        >>> cal.uncovered_years(pd.Series(pd.to_datetime(["2024-12-30", None, "2026-03-01", "2027-01-11"])))
        [2024, 2027]
        >>> WorkCalendar().uncovered_years("2031-01-01")
        []
        """
        if self.years is None:
            return []
        ns, _ = self._ns(values)
        ns = ns[ns != _NAT]
        if not len(ns):
            return []
        found = np.unique(ns.view("datetime64[ns]").astype("datetime64[Y]").astype(np.int64) + 1970)
        known = set(self.years)
        return [int(y) for y in found if int(y) not in known]

    def is_working_day(self, ts):
        """Whether the date of ``ts`` is a working day (not a weekend, not a holiday).

        >>> WorkCalendar().is_working_day("2026-10-17")  # a Saturday
        False
        """
        ns, shape = self._ns(ts)
        ok = ns != _NAT
        out = np.zeros(len(ns), dtype=bool)
        out[ok] = self._is_workday(ns[ok].view("datetime64[ns]").astype("datetime64[D]"))
        return shape.bools(out)

    # ------------------------------------------------------------ working days
    def _is_workday(self, day: np.ndarray) -> np.ndarray:
        """Whether each ``datetime64[D]`` is a working day."""
        out = np.is_busday(day, busdaycal=self._busdaycal)
        if len(self._extra):
            out = out | np.isin(day, self._extra)
        return out

    def _pattern_index(self, day: np.ndarray) -> np.ndarray:
        """Working days of the weekly pattern (holidays excluded) in ``[_EPOCH, day)``,
        or minus those in ``[day, _EPOCH)`` before the epoch. (``np.busday_count``
        with its arguments reversed counts ``(day, _EPOCH]`` instead.)"""
        day = np.asarray(day, dtype="datetime64[D]")
        after = np.busday_count(_EPOCH, np.maximum(day, _EPOCH), busdaycal=self._busdaycal)
        before = np.busday_count(np.minimum(day, _EPOCH), _EPOCH, busdaycal=self._busdaycal)
        return (after - before).astype(np.int64)

    def _day_index(self, day: np.ndarray) -> np.ndarray:
        """Working days in ``[_EPOCH, day)`` (minus those in ``[day, _EPOCH)`` before
        the epoch): the weekly pattern's count plus the extra working days in between."""
        k = self._pattern_index(day)
        if len(self._extra):
            k = k + np.searchsorted(self._extra, day, side="left") - self._extra_before_epoch
        return k

    def _nth_workday(self, k: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`_day_index` on working days: the working day with index ``k``."""
        if not len(self._extra):
            return np.busday_offset(_EPOCH, k, roll="forward", busdaycal=self._busdaycal)
        # extra working days with a smaller index come before the answer; the
        # remaining index counts the weekly pattern's working days
        pos = np.searchsorted(self._extra_index, k, side="left")
        day = np.busday_offset(
            _EPOCH, k - (pos - self._extra_before_epoch), roll="forward", busdaycal=self._busdaycal
        )
        hit = pos < len(self._extra)
        hit[hit] = self._extra_index[pos[hit]] == k[hit]
        if hit.any():
            day[hit] = self._extra[pos[hit]]
        return day

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
        k = self._day_index(day)
        is_bd = self._is_workday(day)
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
        day = self._nth_workday(k)
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
                self._is_workday(day)
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

    def working_minutes_ns(self, a_ns: np.ndarray, b_ns: np.ndarray) -> np.ndarray:
        """:meth:`working_minutes_between` of two int64 arrays of naive local nanoseconds paired by
        position (``NaT`` is the int64 minimum and gives NaN), for millions of moments.

        The working clock ``W(t)`` needs the working-day index of each moment's day and whether
        that day is a working day; :meth:`working_minutes_between` asks numpy's business-day
        functions for every moment, here a :class:`WorkClock` works them out once for each day of
        the span the moments cover and then looks them up. The answers are the same, to the last bit.

        >>> cal = WorkCalendar(holidays=RU_HOLIDAYS_2025_2026)
        >>> a = np.array(["2026-10-16 17:00", "2026-10-19 10:00"], dtype="datetime64[ns]").view(np.int64)
        >>> cal.working_minutes_ns(a, a[::-1])  # Friday 17:00 → Monday 10:00, and backwards
        array([120.,   0.])
        """
        a_ns = np.asarray(a_ns, dtype=np.int64)
        b_ns = np.asarray(b_ns, dtype=np.int64)
        if len(a_ns) != len(b_ns):
            raise ValueError(f"a and b have different lengths: {len(a_ns)} and {len(b_ns)}")
        known_a, known_b = a_ns != _NAT, b_ns != _NAT
        if not (known_a.any() or known_b.any()):
            return np.full(len(a_ns), np.nan)
        big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
        lo = min(int(np.min(a_ns, where=known_a, initial=big)), int(np.min(b_ns, where=known_b, initial=big)))
        hi = max(int(np.max(a_ns, where=known_a, initial=small)), int(np.max(b_ns, where=known_b, initial=small)))
        first, last = (np.datetime64(x // _NS_PER_DAY, "D") for x in (lo, hi))
        return WorkClock(self, first, last).working_minutes_between(a_ns, b_ns)

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


class WorkClock:
    """:meth:`~WorkCalendar.add_working_minutes`, :meth:`~WorkCalendar.working_minutes_between` and
    :meth:`~WorkCalendar.next_open` of ``calendar`` on arrays of moments (``datetime64[ns]`` or int64
    naive local nanoseconds), for millions of moments.

    The calendar maps a moment to its *working clock* (working nanoseconds since an epoch) and back
    with ``numpy.busday_count`` and ``numpy.busday_offset`` for every moment; here the working-day
    index and whether a day is a working day are worked out once for each day ``first``..``last``
    and then looked up. The answers are the calendar's, to the nanosecond (tests compare them); a
    moment outside the tabulated days is handed to the calendar itself. Used by the generator
    (tens of millions of moments over a few years) and by :meth:`WorkCalendar.working_minutes_ns`.
    """

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
        day = np.floor_divide(ns, _NS_PER_DAY)
        i = day - self._d0
        if len(i) and (i.min() < 0 or i.max() >= len(self._k)):
            return None
        tod = ns - day * _NS_PER_DAY
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
        return self._work_days[j] * _NS_PER_DAY + self._start_ns + r

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
            every = ok.all()  # then no copies of the moments
            ca, cb = self._clock(a_ns if every else a_ns[ok]), self._clock(b_ns if every else b_ns[ok])
            if ca is None or cb is None:
                return np.asarray(self.calendar.working_minutes_between(a_ns.view("datetime64[ns]"), b_ns.view("datetime64[ns]")), dtype=float)
            minutes = np.maximum(cb - ca, 0) / _NS_PER_MIN
            if every:
                return minutes
            out[ok] = minutes
        return out

    def is_working_day(self, days) -> np.ndarray:
        return np.asarray(self.calendar.is_working_day(days))


def _restore_calendar(args: tuple, kwargs: dict) -> WorkCalendar:
    """Unpickle a :class:`WorkCalendar` that has keyword-only settings."""
    return WorkCalendar(*args, **kwargs)


def _years_text(years: tuple[int, ...]) -> str:
    """``(2024, 2025, 2026, 2028)`` → ``"2024–2026,2028"``."""
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][1] + 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    return ",".join(f"{a}–{b}" if a != b else str(a) for a, b in runs) or "()"
