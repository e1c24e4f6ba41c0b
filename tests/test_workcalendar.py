"""Tests for salesaudit.data.calendar: hand-computed cases, vectorised input, a round-trip property."""
from __future__ import annotations

import datetime as dt
import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesaudit.data import calendar as workcalendar
from salesaudit.data.calendar import RU_HOLIDAYS_2025_2026, WorkCalendar

CAL = WorkCalendar(holidays=RU_HOLIDAYS_2025_2026)
PLAIN = WorkCalendar()  # Mon–Fri 09:00–18:00, no holidays
T = pd.Timestamp


def test_doctests():
    result = doctest.testmod(workcalendar)
    assert result.attempted >= 15
    assert result.failed == 0


@pytest.mark.parametrize(
    "a, b, minutes",
    [
        ("2026-10-16 21:00", "2026-10-19 09:10", 10.0),  # Friday night lead, answered Monday
        ("2026-10-19 10:00", "2026-10-19 10:45", 45.0),  # same day
        ("2026-10-19 17:00", "2026-10-20 10:00", 120.0),  # overnight
        ("2026-10-16 17:00", "2026-10-19 10:00", 120.0),  # over the weekend
        ("2026-10-17 10:00", "2026-10-18 16:00", 0.0),  # Saturday to Sunday
        ("2026-10-19 07:00", "2026-10-19 20:00", 540.0),  # the whole day from outside hours
        ("2026-10-19 09:00", "2026-10-23 18:00", 2700.0),  # Monday to Friday: 5 days
        ("2026-11-03 17:00", "2026-11-05 10:00", 120.0),  # Nov 4 is a holiday
        ("2025-12-30 09:00", "2026-01-12 09:00", 540.0),  # New Year holidays
        ("2026-10-20 10:00", "2026-10-19 17:00", 0.0),  # b < a
        ("2026-10-19 11:00", "2026-10-19 11:00", 0.0),  # b == a
    ],
)
def test_working_minutes_between(a, b, minutes):
    assert CAL.working_minutes_between(a, b) == minutes


def test_holiday_changes_the_count():
    assert PLAIN.working_minutes_between("2026-11-03 17:00", "2026-11-05 10:00") == 120.0 + 540.0
    assert CAL.business_days_between("2026-11-02 09:00", "2026-11-06 18:00") == 4.0
    assert PLAIN.business_days_between("2026-11-02 09:00", "2026-11-06 18:00") == 5.0


def test_business_days_between():
    assert CAL.business_days_between("2026-10-19 09:00", "2026-10-23 18:00") == 5.0
    assert CAL.business_days_between("2026-10-19 13:30", "2026-10-20 09:00") == 0.5
    assert CAL.business_days_between("2026-10-20", "2026-10-19") == 0.0


@pytest.mark.parametrize(
    "ts, expected",
    [
        ("2026-10-19 09:00", True),
        ("2026-10-19 17:59:59", True),
        ("2026-10-19 18:00", False),
        ("2026-10-19 08:59:59", False),
        ("2026-10-17 12:00", False),  # Saturday
        ("2026-01-05 12:00", False),  # holiday
        ("2026-01-12 12:00", True),
    ],
)
def test_is_working_time(ts, expected):
    assert CAL.is_working_time(ts) is expected


def test_next_open_and_end_of_day():
    assert CAL.next_open("2026-10-16 21:00") == T("2026-10-19 09:00")
    assert CAL.next_open("2026-10-19 06:00") == T("2026-10-19 09:00")
    assert CAL.next_open("2026-10-19 12:34:56") == T("2026-10-19 12:34:56")
    assert CAL.next_open("2026-10-19 18:00") == T("2026-10-20 09:00")
    assert CAL.next_open("2025-12-30 18:30") == T("2026-01-12 09:00")
    assert CAL.end_of_working_day("2026-10-19 12:00") == T("2026-10-19 18:00")
    assert CAL.end_of_working_day("2026-10-19 19:00") == T("2026-10-20 18:00")
    assert CAL.end_of_working_day("2026-10-18 10:00") == T("2026-10-19 18:00")


@pytest.mark.parametrize(
    "ts, minutes, expected",
    [
        ("2026-10-16 17:30", 45, "2026-10-19 09:15"),
        ("2026-10-19 09:00", 540, "2026-10-19 18:00"),  # closing time, not next morning
        ("2026-10-19 09:00", 541, "2026-10-20 09:01"),
        ("2026-10-17 11:00", 30, "2026-10-19 09:30"),  # counted from the next opening
        ("2026-10-19 09:30", -60, "2026-10-16 17:30"),  # backwards
        ("2026-10-19 10:00", 0, "2026-10-19 10:00"),
        ("2026-10-19 20:00", 0, "2026-10-20 09:00"),
        ("2025-12-30 17:00", 120, "2026-01-12 10:00"),
        ("2026-10-19 10:00", 2.5, "2026-10-19 10:02:30"),
    ],
)
def test_add_working_minutes(ts, minutes, expected):
    assert CAL.add_working_minutes(ts, minutes) == T(expected)


def test_nat_in_nat_out():
    assert CAL.next_open(pd.NaT) is pd.NaT
    assert CAL.add_working_minutes(None, 10) is pd.NaT
    assert np.isnan(CAL.working_minutes_between(pd.NaT, "2026-10-19 10:00"))
    assert np.isnan(CAL.business_days_between("2026-10-19 10:00", None))
    assert CAL.is_working_time(pd.NaT) is False
    s = pd.Series([T("2026-10-19 10:00"), pd.NaT])
    out = CAL.working_minutes_between(s, T("2026-10-19 11:00"))
    assert out.iloc[0] == 60.0 and np.isnan(out.iloc[1])
    assert CAL.add_working_minutes(s, 5).isna().tolist() == [False, True]


def test_series_equals_scalar_results():
    rng = np.random.default_rng(1)
    base = T("2025-12-20").value
    a = pd.Series(pd.to_datetime(base + rng.integers(0, 40 * 86400, 300) * 10**9), index=np.arange(300) * 3)
    b = a + pd.to_timedelta(rng.integers(-3 * 86400, 9 * 86400, 300), unit="s")
    a.iloc[5] = pd.NaT
    mins = rng.uniform(-600, 3000, 300)

    wm = CAL.working_minutes_between(a, b)
    assert isinstance(wm, pd.Series) and wm.index.equals(a.index)
    added = CAL.add_working_minutes(a, mins)
    opened = CAL.next_open(a)
    eod = CAL.end_of_working_day(a)
    inside = CAL.is_working_time(a)
    for i in range(300):
        x, y = a.iloc[i], b.iloc[i]
        if pd.isna(x):
            assert np.isnan(wm.iloc[i]) and pd.isna(added.iloc[i]) and not inside.iloc[i]
            continue
        assert wm.iloc[i] == CAL.working_minutes_between(x, y)
        assert added.iloc[i] == CAL.add_working_minutes(x, mins[i])
        assert opened.iloc[i] == CAL.next_open(x)
        assert eod.iloc[i] == CAL.end_of_working_day(x)
        assert inside.iloc[i] == CAL.is_working_time(x)
    # a DatetimeIndex answers with an index, a list with an array
    idx = pd.DatetimeIndex(a.dropna())
    assert isinstance(CAL.next_open(idx), pd.DatetimeIndex)
    assert list(CAL.next_open(idx)) == list(opened.dropna())
    arr = CAL.working_minutes_between(list(a.dropna()), list(b[a.notna()]))
    assert isinstance(arr, np.ndarray) and np.array_equal(arr, wm.dropna().to_numpy())


def test_tz_aware_input_is_converted():
    utc = pd.Timestamp("2026-10-19 06:30", tz="UTC")  # 09:30 in Moscow
    assert CAL.is_working_time(utc)
    assert CAL.next_open(utc) == T("2026-10-19 09:30")
    s = pd.Series(pd.to_datetime(["2026-10-19 05:00", "2026-10-19 16:00"]).tz_localize("UTC"))
    assert CAL.working_minutes_between(s.iloc[0], s.iloc[1]) == 540.0  # 08:00→19:00 local


def test_construction():
    six = WorkCalendar(workdays=(0, 1, 2, 3, 4, 5), start="10:00", end="19:30", holidays=[dt.date(2026, 10, 20)])
    assert six.minutes_per_day == 570
    assert six.is_working_time("2026-10-17 10:00")  # Saturday is a working day here
    assert not six.is_working_time("2026-10-20 12:00")  # holiday given as a date
    assert six.working_minutes_between("2026-10-19 19:00", "2026-10-21 10:30") == 60.0
    assert WorkCalendar(holidays=["2026-10-20"]).holidays == (dt.date(2026, 10, 20),)
    with pytest.raises(ValueError):
        WorkCalendar(start="18:00", end="09:00")
    with pytest.raises(ValueError):
        WorkCalendar(workdays=(7,))


def test_ru_holidays():
    days = {pd.Timestamp(d).date() for d in RU_HOLIDAYS_2025_2026}
    assert len(days) == len(RU_HOLIDAYS_2025_2026)
    for d in ("2025-01-01", "2025-01-08", "2025-05-09", "2025-06-12", "2025-11-04", "2025-12-31",
              "2026-01-09", "2026-02-23", "2026-03-09", "2026-05-11", "2026-11-04", "2026-12-31"):
        assert pd.Timestamp(d).date() in days
    assert not CAL.is_working_day("2026-03-09")
    assert CAL.is_working_day("2026-03-10")


# --------------------------------------------------------------------------- property

WORKDAY_STARTS = pd.bdate_range("2025-01-09", "2026-12-30")
WORKDAY_STARTS = WORKDAY_STARTS[np.asarray(CAL.is_working_day(WORKDAY_STARTS))]


@settings(max_examples=300, deadline=None)
@given(
    day=st.integers(0, len(WORKDAY_STARTS) - 1),
    second=st.integers(0, 9 * 3600 - 1),
    minutes=st.floats(0, 60_000, allow_nan=False, allow_infinity=False),
)
def test_add_and_between_are_inverse(day, second, minutes):
    start = WORKDAY_STARTS[day] + pd.Timedelta(hours=9, seconds=second)
    assert CAL.is_working_time(start)
    end = CAL.add_working_minutes(start, minutes)
    assert end >= start
    assert CAL.working_minutes_between(start, end) == pytest.approx(minutes, abs=1e-6)
    # and back: adding the measured span lands on the same working moment
    back = CAL.add_working_minutes(start, CAL.working_minutes_between(start, end))
    assert CAL.working_minutes_between(back, end) == pytest.approx(0, abs=1e-6)
    assert CAL.working_minutes_between(end, back) == pytest.approx(0, abs=1e-6)


def test_before_the_clock_epoch():
    """Moments before 2000-01-01 (the working clock's origin) count like any others."""
    assert PLAIN.working_minutes_between("1999-12-31 10:00", "2000-01-03 10:00") == 540.0
    assert PLAIN.working_minutes_between("1999-12-20 10:00", "1999-12-21 10:00") == 540.0
    assert PLAIN.add_working_minutes("1999-12-20 10:00", 60) == T("1999-12-20 11:00")
    assert PLAIN.add_working_minutes("2000-01-03 09:30", -60) == T("1999-12-31 17:30")
    assert PLAIN.next_open("1999-12-31 18:00") == T("2000-01-03 09:00")
    assert PLAIN.business_days_between("1999-12-27 09:00", "2000-01-04 09:00") == 6.0
