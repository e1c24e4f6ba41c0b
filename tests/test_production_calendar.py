"""Tests for the production calendar (the ``holidays`` package) and transferred working days
in salesaudit.data.calendar: hand-computed values, a brute-force reference and round-trip properties."""
from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesaudit.data import calendar as workcalendar
from salesaudit.data.calendar import (
    PRODUCTION_CALENDARS,
    RU_HOLIDAYS_2025_2026,
    ProductionCalendar,
    WorkCalendar,
    covered_years,
    production_calendar,
)

T = pd.Timestamp
D = dt.date.fromisoformat
RU = WorkCalendar.for_country("RU", [2024, 2025, 2026, 2027])


# --------------------------------------------------------------------------- the source


def test_current_and_next_year_are_covered():
    this_year = dt.date.today().year
    years = set(covered_years("RU"))
    missing = sorted({this_year, this_year + 1} - years)
    assert not missing, (
        f"the installed `holidays` package has no Russian production calendar (decree) for {missing}; "
        f"it covers up to {max(years)}. Upgrade it: pip install -U holidays"
    )


def test_covered_years_rule():
    years = covered_years("ru")
    assert years == tuple(sorted(set(years)))
    assert {2024, 2025, 2026, 2027} <= set(years)
    # holidays 0.109 has no decree for 2028: only the fixed-date holidays, no observed days off
    pc = production_calendar("RU", [2027, 2028])
    if 2028 not in years:
        assert pc.extrapolated == (2028,) and pc.covered == (2027,)
        assert D("2028-11-04") in pc.holidays  # Saturday, Unity Day
        assert D("2028-11-06") not in pc.holidays  # no Monday off although the law gives one
    assert PRODUCTION_CALENDARS == ("ru",)
    with pytest.raises(ValueError, match="no production calendar"):
        covered_years("XX")
    with pytest.raises(ValueError, match="no production calendar"):
        production_calendar("US", [2025])


def test_ru_2025():
    pc = production_calendar("RU", [2025])
    assert isinstance(pc, ProductionCalendar)
    assert pc.country == "RU" and pc.years == (2025,) and pc.extrapolated == ()
    assert pc.workdays_extra == (D("2025-11-01"),)  # the only working Saturday of 2025
    weekdays_off = [d.isoformat() for d in pc.holidays if d.weekday() < 5]
    assert weekdays_off == [
        "2025-01-01", "2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08",
        "2025-05-01", "2025-05-02", "2025-05-08", "2025-05-09",
        "2025-06-12", "2025-06-13",
        "2025-11-03", "2025-11-04",
        "2025-12-31",
    ]
    # deterministic and hashable (frozen)
    assert production_calendar("ru", (2025,)) == pc and hash(pc) == hash(production_calendar("RU", 2025))


def test_ru_2027_transfers():
    pc = production_calendar("RU", 2027)
    assert pc.workdays_extra == (D("2027-02-20"),)  # Saturday, day off moved to Monday 02-22
    for d in ("2027-02-22", "2027-05-03", "2027-05-10", "2027-06-14", "2027-11-05", "2027-12-31"):
        assert D(d) in pc.holidays
    # Jan 2 and 3 are New Year holidays whose days off moved to Nov 5 and Dec 31: still days off
    assert D("2027-01-02") in pc.holidays and D("2027-01-02") not in pc.workdays_extra


def test_same_weekday_holidays_as_the_hand_list():
    """The committed sample data used RU_HOLIDAYS_2025_2026; the package agrees on every weekday."""
    pc = production_calendar("RU", [2025, 2026])
    hand = {T(d).date() for d in RU_HOLIDAYS_2025_2026}
    assert {d for d in hand if d.weekday() < 5} == {d for d in pc.holidays if d.weekday() < 5}
    assert pc.workdays_extra == (D("2025-11-01"),)  # the one thing the hand list could not say


def test_labels_agree_with_the_structured_data():
    """The en_US "substituted from" labels name the same working days as ``weekend_workdays``."""
    import holidays

    years = tuple(range(2015, 2028))
    named = holidays.country_holidays("RU", years=years, language="en_US")
    pc = production_calendar("RU", years)
    off = set(pc.holidays)
    parsed = {d for d in workcalendar._substituted_from(named.items()) if d.weekday() >= 5 and d not in off}
    assert parsed == set(pc.workdays_extra)


def test_fallback_to_labels(monkeypatch):
    """Without ``weekend_workdays`` the labels are parsed, with the same result."""
    import holidays

    real = holidays.country_holidays

    def without_attribute(*args, **kwargs):
        cal = real(*args, **kwargs)
        cal.__dict__.pop("weekend_workdays", None)
        assert getattr(cal, "weekend_workdays", None) is None
        return cal

    expected = production_calendar("RU", [2024, 2025, 2027])
    workcalendar._production_calendar.cache_clear()
    monkeypatch.setattr(holidays, "country_holidays", without_attribute)
    try:
        assert production_calendar("RU", [2024, 2025, 2027]) == expected
    finally:
        workcalendar._production_calendar.cache_clear()


# --------------------------------------------------------------------------- the RU calendar


def test_working_saturday_2025_11_01():
    assert RU.is_working_day("2025-11-01")  # Saturday, working by transfer
    assert RU.is_working_time("2025-11-01 10:00")
    assert not RU.is_working_time("2025-11-01 18:00")
    assert not RU.is_working_day("2025-11-02")  # Sunday
    assert not RU.is_working_day("2025-11-03")  # Monday, the day off moved from Saturday
    assert not RU.is_working_day("2025-11-04")  # Unity Day
    assert RU.is_working_day("2025-11-05")
    assert not RU.is_working_day("2025-11-08")  # an ordinary Saturday


def test_working_minutes_over_the_transfer():
    # Fri 17:00–18:00 = 60, Sat 11-01 09:00–18:00 = 540, Sun off, Mon 11-03 off
    assert RU.working_minutes_between("2025-10-31 17:00", "2025-11-03 10:00") == 600.0
    # ... Tue 11-04 off too, Wed 11-05 09:00–10:00 = 60
    assert RU.working_minutes_between("2025-10-31 17:00", "2025-11-05 10:00") == 660.0
    assert RU.working_minutes_between("2025-11-01 12:00", "2025-11-01 13:30") == 90.0
    assert RU.business_days_between("2025-10-31 09:00", "2025-11-06 09:00") == 3.0  # Fri, Sat, Wed
    # without the transfer (the old hand list) the Saturday does not count
    old = WorkCalendar(holidays=RU_HOLIDAYS_2025_2026)
    assert old.working_minutes_between("2025-10-31 17:00", "2025-11-05 10:00") == 120.0


def test_add_working_minutes_over_the_transfer():
    assert RU.add_working_minutes("2025-10-31 17:00", 60) == T("2025-10-31 18:00")
    assert RU.add_working_minutes("2025-10-31 17:00", 61) == T("2025-11-01 09:01")
    assert RU.add_working_minutes("2025-10-31 17:00", 600) == T("2025-11-01 18:00")  # closing time
    assert RU.add_working_minutes("2025-10-31 17:00", 601) == T("2025-11-05 09:01")
    assert RU.add_working_minutes("2025-11-05 09:30", -60) == T("2025-11-01 17:30")  # backwards
    assert RU.add_working_minutes("2025-11-05 09:30", -600) == T("2025-10-31 17:30")
    assert RU.next_open("2025-10-31 19:00") == T("2025-11-01 09:00")
    assert RU.next_open("2025-11-01 18:00") == T("2025-11-05 09:00")
    assert RU.end_of_working_day("2025-10-31 20:00") == T("2025-11-01 18:00")
    assert RU.end_of_working_day("2025-11-02 10:00") == T("2025-11-05 18:00")


def test_new_year_2026():
    for day in pd.date_range("2026-01-01", "2026-01-09"):
        assert not RU.is_working_day(day), day
    assert not RU.is_working_day("2025-12-31")
    assert RU.is_working_day("2026-01-12")  # Monday
    assert RU.next_open("2025-12-30 18:30") == T("2026-01-12 09:00")
    assert RU.working_minutes_between("2025-12-30 17:00", "2026-01-12 10:00") == 120.0


def test_2027_working_saturday():
    assert RU.is_working_day("2027-02-20")
    assert not RU.is_working_day("2027-02-22")
    # Fri 02-19 17:00 → Tue 02-23 is a holiday → Wed 02-24 10:00: 60 + 540 + 60
    assert RU.working_minutes_between("2027-02-19 17:00", "2027-02-24 10:00") == 660.0


def test_vectorised_with_transfers():
    s = pd.Series(pd.to_datetime(["2025-10-31 17:00", None, "2025-11-01 12:00"]), index=[10, 20, 30])
    wm = RU.working_minutes_between(s, T("2025-11-05 10:00"))
    assert wm.index.tolist() == [10, 20, 30]
    assert wm.iloc[0] == 660.0 and np.isnan(wm.iloc[1]) and wm.iloc[2] == 420.0
    assert RU.is_working_day(s).tolist() == [True, False, True]
    assert list(RU.add_working_minutes(pd.DatetimeIndex(s.dropna()), 60)) == [T("2025-10-31 18:00"), T("2025-11-01 13:00")]


# --------------------------------------------------------------------------- years


def test_uncovered_years():
    assert RU.years == (2024, 2025, 2026, 2027)
    assert RU.uncovered_years("2025-11-01 10:00") == []
    inside = pd.Series(pd.to_datetime(["2024-01-09", "2025-06-01", None, "2027-12-30"]))
    assert RU.uncovered_years(inside) == []
    mixed = pd.to_datetime(["2023-12-29", "2025-06-01", "2029-01-01", "2029-03-01", None])
    assert RU.uncovered_years(mixed) == [2023, 2029]
    assert RU.uncovered_years(np.array(["2030-01-01"], dtype="datetime64[ns]")) == [2030]
    assert RU.uncovered_years([pd.NaT]) == []
    aware = pd.Timestamp("2027-12-31 22:00", tz="UTC")  # 2028-01-01 01:00 in Moscow
    assert RU.uncovered_years(aware) == [2028]
    # the user's own list makes no claim
    assert WorkCalendar(holidays=RU_HOLIDAYS_2025_2026).uncovered_years("2031-01-01") == []
    assert WorkCalendar(years=[2025]).uncovered_years(["2024-05-05", "2025-05-05"]) == [2024]


def test_for_country_drops_extrapolated_years():
    cal = WorkCalendar.for_country("RU", [2027, 2028])
    if 2028 not in covered_years("RU"):
        assert cal.years == (2027,)
        assert cal.uncovered_years("2028-03-01") == [2028]
    assert not cal.is_working_day("2028-01-03")  # the fixed-date holidays are still there


def test_for_country_default_years():
    cal = WorkCalendar.for_country("ru")
    assert cal.years == covered_years("RU")
    assert cal.is_working_day("2000-12-09")  # Saturday, working by the 2000 decree
    assert not cal.is_working_day("2000-12-11")


# --------------------------------------------------------------------------- merging and validation


def test_for_country_merges_the_users_lists():
    cal = WorkCalendar.for_country(
        "RU",
        2025,
        timezone="Asia/Yekaterinburg",
        start="10:00",
        end="19:00",
        holidays=["2025-12-30", dt.date(2025, 11, 1)],  # a corporate day off, also on the working Saturday
        workdays_extra=["2025-11-09", "2025-11-03"],  # a working Sunday, and the company works on Nov 3
    )
    assert cal.timezone == "Asia/Yekaterinburg" and cal.minutes_per_day == 540
    assert D("2025-12-30") in cal.holidays and not cal.is_working_day("2025-12-30")
    assert not cal.is_working_day("2025-11-01")  # the user's holiday wins over the transfer
    assert D("2025-11-01") not in cal.workdays_extra
    assert cal.is_working_day("2025-11-09") and cal.is_working_day("2025-11-03")
    assert D("2025-11-03") not in cal.holidays
    assert not cal.is_working_day("2025-11-04")
    # Mon 12-29 18:00 → Wed 12-31 off → Jan 1–11 off → Mon 2026-01-12 10:00 is uncovered but a weekday
    assert cal.working_minutes_between("2025-12-29 18:00", "2025-12-31 19:00") == 60.0
    with pytest.raises(ValueError, match="both a holiday and an extra working day"):
        WorkCalendar.for_country("RU", 2025, holidays=["2025-06-02"], workdays_extra=["2025-06-02"])


def test_workdays_extra_validation():
    with pytest.raises(ValueError, match="both a holiday and an extra working day"):
        WorkCalendar(holidays=["2026-10-17"], workdays_extra=["2026-10-17"])
    # an extra date on a working weekday changes nothing
    cal = WorkCalendar(workdays_extra=["2026-10-19"])
    assert cal.working_minutes_between("2026-10-16 09:00", "2026-10-20 09:00") == WorkCalendar().working_minutes_between(
        "2026-10-16 09:00", "2026-10-20 09:00"
    )
    six = WorkCalendar(workdays=(0, 1, 2, 3, 4, 5), workdays_extra=["2026-10-18"])  # a working Sunday
    assert six.working_minutes_between("2026-10-16 09:00", "2026-10-19 09:00") == 3 * 540.0
    assert WorkCalendar(years=2026).years == (2026,)
    assert WorkCalendar().years is None and WorkCalendar().workdays_extra == ()


def test_pickle_keeps_workdays_extra_and_years():
    cal = WorkCalendar(start="08:30", end="17:00", holidays=["2025-11-03"], workdays_extra=["2025-11-01"], years=[2025])
    back = pickle.loads(pickle.dumps(cal))
    assert back.workdays_extra == (D("2025-11-01"),) and back.years == (2025,)
    assert back.holidays == cal.holidays and back.start == "08:30" and back.end == "17:00"
    assert back.working_minutes_between("2025-10-31 16:00", "2025-11-04 09:00") == 60 + 510 + 30
    ru = pickle.loads(pickle.dumps(RU))
    assert ru.workdays_extra == RU.workdays_extra and ru.years == RU.years and ru.holidays == RU.holidays
    assert repr(ru) == repr(RU) and "years=2024–2027" in repr(RU)
    # a calendar without the new settings pickles as before
    assert pickle.loads(pickle.dumps(WorkCalendar())).__reduce__()[0] is WorkCalendar


# --------------------------------------------------------------------------- a brute-force reference


def _reference_minutes(cal: WorkCalendar, a: pd.Timestamp, b: pd.Timestamp) -> float:
    """Working minutes in [a, b), day by day, straight from the definitions."""
    if b <= a:
        return 0.0
    off, extra = set(cal.holidays), set(cal.workdays_extra)
    total = pd.Timedelta(0)
    for day in pd.date_range(a.normalize(), b.normalize(), freq="D"):
        d = day.date()
        if d in off or (d.weekday() not in cal.workdays and d not in extra):
            continue
        lo = max(a, day + pd.Timedelta(cal.start + ":00"))
        hi = min(b, day + pd.Timedelta(cal.end + ":00"))
        if hi > lo:
            total += hi - lo
    return total / pd.Timedelta(minutes=1)


# extra working days around the clock's epoch (2000-01-01, itself a Saturday) and far from it
EDGE = WorkCalendar(
    holidays=["1999-12-31", "2000-01-03", "2000-01-10"],
    workdays_extra=["1999-12-25", "2000-01-01", "2000-01-02", "2000-01-08", "2000-01-15", "2000-01-16"],
)
EDGE_MOMENTS = st.integers(0, 40 * 24 * 60).map(lambda m: T("1999-12-20") + pd.Timedelta(minutes=m))
RU_MOMENTS = st.integers(0, 3 * 365 * 24 * 60).map(lambda m: T("2024-12-01") + pd.Timedelta(minutes=m))


@settings(max_examples=200, deadline=None)
@given(a=EDGE_MOMENTS, b=EDGE_MOMENTS)
def test_matches_reference_near_the_epoch(a, b):
    assert EDGE.working_minutes_between(a, b) == _reference_minutes(EDGE, a, b)
    assert EDGE.is_working_day(a) == (_reference_minutes(EDGE, a.normalize(), a.normalize() + pd.Timedelta(days=1)) > 0)


@settings(max_examples=200, deadline=None)
@given(a=RU_MOMENTS, span=st.integers(0, 20 * 24 * 60))
def test_matches_reference_ru(a, span):
    b = a + pd.Timedelta(minutes=span)
    assert RU.working_minutes_between(a, b) == _reference_minutes(RU, a, b)


@settings(max_examples=300, deadline=None)
@given(
    cal=st.sampled_from([RU, EDGE]),
    data=st.data(),
    minutes=st.floats(-30_000, 30_000, allow_nan=False, allow_infinity=False),
)
def test_round_trip_with_workdays_extra(cal, data, minutes):
    start = data.draw(RU_MOMENTS if cal is RU else EDGE_MOMENTS)
    end = cal.add_working_minutes(start, minutes)
    # measured from the moment the clock starts counting (the next opening)
    opened = cal.next_open(start)
    measured = cal.working_minutes_between(opened, end) - cal.working_minutes_between(end, opened)
    assert measured == pytest.approx(minutes, abs=1e-6)
    back = cal.add_working_minutes(opened, measured)
    assert cal.working_minutes_between(back, end) == pytest.approx(0, abs=1e-6)
    assert cal.working_minutes_between(end, back) == pytest.approx(0, abs=1e-6)
    if minutes > 1e-6:  # ends inside working hours or at a closing time
        assert cal.is_working_time(end - pd.Timedelta(microseconds=1))
    elif minutes < -1e-6:
        assert cal.is_working_time(end)
