"""Lead inflow of the capacity simulation (``salesaudit.sim.inflow``): fit, expectation, sampling, parameters.

Every statistical bound below is fixed in advance (z or chi-square quantiles at
a small alpha) and every random draw has a fixed seed, so the tests are exact
checks of the arithmetic and never flaky.
"""
from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO
from scipy import stats

import salesaudit as sa
from salesaudit.data.calendar import WorkCalendar
from salesaudit.errors import ParameterError
from salesaudit.sim import inflow as inflow_module
from salesaudit.sim.inflow import DIAGNOSTIC_COLUMNS, LeadInflow
from salesaudit.stats import wilson
from salesaudit.synth import (
    _HOURS_IN,
    _LEADS_IN_HOURS,
    _LEADS_OFF_DAY,
    _LEADS_OUT_WORKDAY,
    _MONTH_FACTOR,
    _WEEKDAY_FACTOR,
    CHANNELS,
)

TS = pd.Timestamp


def test_doctests():
    result = doctest.testmod(inflow_module)
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------- (1) fit on a tiny table


def tiny_leads() -> pd.DataFrame:
    rows = [
        ("2026-10-05 09:40", "website"),  # Mon 09
        ("2026-10-12 09:05", "website"),  # Mon 09
        ("2026-10-12 09:59", "website"),  # Mon 09
        ("2026-10-12 08:15", "website"),  # Mon 08
        ("2026-10-06 10:00", " website "),  # Tue 10 (spaces stripped)
        ("2026-10-07 12:30", "calls"),  # Wed 07 is a holiday: counts as Sun 12
        ("2026-10-11 12:10", "calls"),  # Sun 12
        ("2026-10-14 12:45", "calls"),  # Wed 12 (an ordinary Wednesday)
        ("2026-10-10 23:59", None),  # Sat 23, no channel -> unknown
        ("2026-10-17 23:00", ""),  # Sat 23, empty channel -> unknown
        ("2026-10-05 09:00", "website"),  # before the window start (09:30): not counted
        ("2026-10-19 00:00", "website"),  # at the window end (half-open): not counted
        (None, "calls"),  # no arrival time: dropped
    ]
    return pd.DataFrame(
        {
            "lead_id": [str(i) for i in range(len(rows))],
            "created_at": pd.to_datetime([r[0] for r in rows]),
            "channel": pd.array([r[1] for r in rows], dtype="string"),
        }
    )


HOLIDAY_CAL = WorkCalendar(holidays=["2026-10-07"])


def test_fit_tiny_table_exact_rates():
    # Window [Mon 2026-10-05 09:30, Mon 2026-10-19 00:00): two weeks minus Monday's first 9.5 hours.
    # Exposure hours per (weekday profile, hour):
    #   Mon 00..08: only Oct 12 -> 1 h;  Mon 09: 0.5 h (Oct 5, 09:30-10:00) + 1 h (Oct 12) = 1.5 h;  Mon 10..23: 2 h
    #   Tue, Thu, Fri, Sat: 2 h each hour
    #   Wed: Oct 7 is a holiday (counted as Sunday) -> only Oct 14 -> 1 h
    #   Sun: Oct 11 + Oct 18 + the holiday Oct 7 -> 3 h
    m = LeadInflow.fit(tiny_leads(), "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL)
    # channels by volume: website 5, calls 3, unknown 2
    assert m.channels == ("website", "calls", "unknown")
    w, c, u = 0, 1, 2
    expected = np.zeros((3, 7, 24))
    expected[w, 0, 9] = 3 / 1.5  # three Monday 09:xx leads over 1.5 h = 2.0
    expected[w, 0, 8] = 1 / 1.0  # one Monday 08:xx lead over 1 h
    expected[w, 1, 10] = 1 / 2.0  # Tuesday 10:00 over 2 h
    expected[c, 6, 12] = 2 / 3.0  # holiday Wed 12:30 and Sun 12:10 over 3 Sunday-profile hours
    expected[c, 2, 12] = 1 / 1.0  # Wed Oct 14 12:45 over the one ordinary Wednesday
    expected[u, 5, 23] = 2 / 2.0  # two Saturday 23:xx leads over 2 h
    np.testing.assert_allclose(m.rates, expected, rtol=0, atol=1e-15)
    assert m.n_observed == 10
    assert m.fit_summary_["n_outside_window"] == 2 and m.fit_summary_["n_missing_time"] == 1
    assert m.window == (TS("2026-10-05 09:30"), TS("2026-10-19"))
    # the diagnostics' exposure: the weekday rows count days = exposure hours / 24
    wd = m.diagnostics().query("section == 'weekday'").set_index("key")
    assert wd.loc["Mon", "days"] == pytest.approx((9 * 1 + 1.5 + 14 * 2) / 24)  # 38.5 h
    assert wd.loc["Wed", "days"] == 1.0 and wd.loc["Sun", "days"] == 3.0
    assert wd["observed"].tolist() == [4, 1, 1, 0, 0, 2, 2]
    np.testing.assert_allclose(wd["fitted"], wd["observed"])  # a saturated MLE reproduces its margins


def test_fit_tiny_table_without_calendar_and_options():
    leads = tiny_leads()
    # no calendar: Oct 7 is an ordinary Wednesday -> Wed 12 has 2 leads over 2 h, Sun 12 has 1 over 2 h
    m = LeadInflow.fit(leads, "2026-10-05 09:30", "2026-10-19")
    c = m.channels.index("calls")
    assert m.rates[c, 2, 12] == 2 / 2 and m.rates[c, 6, 12] == 1 / 2
    # holiday_as=None with a calendar: the same as no calendar
    m2 = LeadInflow.fit(leads, "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL, holiday_as=None)
    np.testing.assert_array_equal(m2.rates, m.rates)
    # min_rate floors the empty cells only
    m3 = LeadInflow.fit(leads, "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL, min_rate=0.01)
    assert m3.rates[0, 0, 9] == 2.0 and m3.rates[0, 3, 3] == 0.01 and m3.rates.min() == 0.01
    # shared profile: total rate per cell times the channel's share (website 5/10, calls 3/10, unknown 2/10)
    m4 = LeadInflow.fit(leads, "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL, channel_profile="shared")
    # Mon 09: all channels 3 leads / 1.5 h = 2.0 per hour
    np.testing.assert_allclose(m4.rates[:, 0, 9], [2.0 * 0.5, 2.0 * 0.3, 2.0 * 0.2])
    np.testing.assert_allclose(m4.rates.sum(axis=0), LeadInflow.fit(leads, "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL).rates.sum(axis=0))


def test_fit_default_window_and_missing_channel_column():
    # no start/end: from the midnight of the first lead's day to the midnight after the last one's
    leads = tiny_leads().drop(columns="channel")
    m = LeadInflow.fit(leads)
    assert m.channels == ("unknown",)
    assert m.window == (TS("2026-10-05"), TS("2026-10-20"))
    # Mon 09: Oct 5 (09:00, 09:40), Oct 12 (09:05, 09:59), Oct 19: none -> 4 leads over 3 Monday hours
    assert m.rates[0, 0, 9] == pytest.approx(4 / 3)
    assert m.fit_summary_["n_outside_window"] == 0


def test_clear_errors():
    leads = tiny_leads()
    with pytest.raises(ParameterError, match="leads table is empty"):
        LeadInflow.fit(leads.iloc[:0])
    with pytest.raises(ParameterError, match="no lead arrived in the window"):
        LeadInflow.fit(leads, "2025-01-06", "2025-02-03")
    with pytest.raises(ParameterError, match="at least one full"):
        LeadInflow.fit(leads, "2026-10-05", "2026-10-09")
    with pytest.raises(ParameterError, match="no `created_at` column"):
        LeadInflow.fit(leads.drop(columns="created_at"))
    with pytest.raises(ParameterError, match="min_rate"):
        LeadInflow.fit(leads, min_rate=-1)
    rates = np.zeros((1, 7, 24))
    rates[0, 2, 5] = -0.5
    with pytest.raises(ParameterError, match=r"negative: -0.5 leads per hour for channel 'a' on Wed at 05:00"):
        LeadInflow(rates, ("a",))
    with pytest.raises(ParameterError, match="shape"):
        LeadInflow(np.zeros((1, 7, 23)), ("a",))
    with pytest.raises(ParameterError, match="factor"):
        LeadInflow.from_daily(10).scaled(-2)
    with pytest.raises(ParameterError, match="volume"):
        LeadInflow.from_daily(10).sample(TS("2026-10-19"), TS("2026-10-20"), np.random.default_rng(0), volume=-1)
    with pytest.raises(ParameterError, match="end after it starts"):
        LeadInflow.from_daily(10).expected("2026-10-20", "2026-10-19")
    with pytest.raises(ParameterError, match="not fitted on data"):
        LeadInflow.from_daily(10).diagnostics()
    with pytest.raises(ParameterError, match="profile"):
        LeadInflow.from_daily(10, profile="night")


# --------------------------------------------------------------------------- (3) expected()


def test_expected_is_the_sum_of_rates_over_the_window_hours():
    base = np.add.outer(100 * np.arange(7), np.arange(24)) + 1.0  # rate of weekday d, hour h = 100 d + h + 1
    m = LeadInflow(np.stack([base, 0.5 * base]), ("a", "b"))
    cal = WorkCalendar(holidays=["2026-11-04"])  # Wednesday
    start, end = "2026-11-03 10:30", "2026-11-05 14:15"
    # Tue: half of hour 10 (0.5 * 111 = 55.5) + hours 11..23 (13 * 101 + (11 + ... + 23) = 1313 + 221 = 1534) = 1589.5
    # Wed, a holiday, as Sunday: 24 * 601 + (0 + ... + 23) = 14424 + 276 = 14700
    # Thu: hours 0..13 (14 * 301 + 91 = 4305) + a quarter of hour 14 (0.25 * 315 = 78.75) = 4383.75
    a_holiday = 1589.5 + 14700 + 4383.75  # 20673.25
    assert m.expected(start, end, calendar=cal) == pytest.approx(1.5 * a_holiday)  # channel b is half of a
    s = m.expected(start, end, calendar=cal, by_channel=True)
    assert s["a"] == pytest.approx(20673.25) and s["b"] == pytest.approx(10336.625)
    # no calendar (or holiday_as=None): Wednesday keeps its own profile, 24 * 201 + 276 = 5100
    a_plain = 1589.5 + 5100 + 4383.75
    assert m.expected(start, end) == pytest.approx(1.5 * a_plain)
    no_hol = LeadInflow(m.rates, m.channels, holiday_as=None)
    assert no_hol.expected(start, end, calendar=cal) == pytest.approx(1.5 * a_plain)
    # holiday_as=5: the holiday looks like a Saturday, 24 * 501 + 276 = 12300
    sat = LeadInflow(m.rates, m.channels, holiday_as=5)
    assert sat.expected(start, end, calendar=cal) == pytest.approx(1.5 * (1589.5 + 12300 + 4383.75))
    # a holiday on a weekend keeps its weekday: Saturday 2026-11-07 declared a holiday changes nothing
    cal_sat = WorkCalendar(holidays=["2026-11-07"])
    assert m.expected("2026-11-07", "2026-11-08", calendar=cal_sat) == pytest.approx(1.5 * (24 * 501 + 276))


def test_expected_against_an_hour_by_hour_loop():
    rng = np.random.default_rng(3)
    m = LeadInflow(rng.uniform(0, 2, (2, 7, 24)), ("x", "y"))
    cal = WorkCalendar(holidays=["2026-12-31", "2027-01-01", "2027-01-08"])
    start, end = TS("2026-12-20 07:20"), TS("2027-01-15 16:45")
    total = 0.0
    t = start.floor("h")
    while t < end:  # reference: one hour at a time
        lo, hi = max(t, start), min(t + pd.Timedelta(hours=1), end)
        d = 6 if (t.date() in cal.holidays and t.day_of_week < 5) else t.day_of_week
        total += m.rates[:, d, t.hour].sum() * ((hi - lo) / pd.Timedelta(hours=1))
        t += pd.Timedelta(hours=1)
    assert m.expected(start, end, calendar=cal) == pytest.approx(total, rel=1e-12)


# --------------------------------------------------------------------------- (2) sampling


def test_sample_counts_within_poisson_tolerance():
    rng = np.random.default_rng(11)
    rates = rng.uniform(0.0, 2.0, (3, 7, 24))
    rates[:, :, 0:6] = 0.0  # nobody writes at night
    rates[2, 5:, :] = 0.0  # channel 2 is silent at the weekend
    m = LeadInflow(rates, ("a", "b", "c"))
    start, end = TS("2026-01-05"), TS("2027-01-04")  # 52 whole weeks from a Monday: 52 hours per cell
    minutes, channel = m.sample(start, end, np.random.default_rng(2026))
    assert minutes.dtype == np.float64 and channel.dtype == np.int64
    assert np.all(np.diff(minutes) >= 0) and minutes.min() >= 0 and minutes.max() < (end - start) / pd.Timedelta(minutes=1)
    when = start + pd.to_timedelta(minutes, unit="min")
    wd, hr = when.day_of_week.to_numpy(), when.hour.to_numpy()
    obs = np.zeros((3, 7, 24))
    np.add.at(obs, (channel, wd, hr), 1)
    exp = 52 * rates
    assert obs[exp == 0].sum() == 0  # no arrival where the rate is zero
    # margins: |z| < 4 (two-sided p = 6e-5 each)
    for axis_keep in ((1,), (2,), (0,)):
        other = tuple(a for a in (0, 1, 2) if a not in axis_keep)
        o, e = obs.sum(axis=other), exp.sum(axis=other)
        assert o[e == 0].sum() == 0
        z = (o - e)[e > 0] / np.sqrt(e[e > 0])
        assert np.abs(z).max() < 4, (axis_keep, z)
    # every (channel, weekday, hour) cell: Pearson X² below the 0.9999 quantile of its chi-square
    pos = exp > 0
    x2 = (((obs - exp) ** 2)[pos] / exp[pos]).sum()
    assert x2 < stats.chi2.ppf(0.9999, pos.sum())
    # uniform inside the hour: Kolmogorov-Smirnov on the minute within the hour
    within = (minutes % 60) / 60
    assert stats.kstest(within, "uniform").pvalue > 1e-4


def test_sample_partial_hours_volume_and_holidays():
    m = LeadInflow.from_daily(90, calendar=WorkCalendar(holidays=["2026-11-04"]))  # 10 per working hour 09-18
    start, end = TS("2026-11-02 10:30"), TS("2026-11-06 09:10")  # Mon 10:30 .. Fri 09:10, Wed a holiday
    # expected: Mon 7.5 h (10:30-18:00) + Tue 9 h + Wed 0 (holiday as Sunday: no leads) + Thu 9 h + Fri 10 min
    hours = 7.5 + 9 + 0 + 9 + 10 / 60
    assert m.expected(start, end) == pytest.approx(10 * hours)
    minutes, _ = m.sample(start, end, np.random.default_rng(0), volume=20)  # 20 times the volume: ~5100 leads
    when = start + pd.to_timedelta(minutes, unit="min")
    assert when.min() >= start and when.max() < end
    assert not (when.normalize() == TS("2026-11-04")).any()
    assert ((when.hour >= 9) & (when.hour < 18)).all()
    n, mu = len(minutes), 20 * 10 * hours
    assert abs(n - mu) < 4 * math.sqrt(mu)
    # Friday has only 09:00-09:10 inside the window: 10/60 h * 200 per hour = 33.3 expected
    fri = (when.normalize() == TS("2026-11-06")).sum()
    assert abs(fri - 200 / 6) < 4 * math.sqrt(200 / 6) and (when[when.normalize() == TS("2026-11-06")].minute < 10).all()
    assert len(m.sample(start, end, np.random.default_rng(0), volume=0)[0]) == 0


# --------------------------------------------------------------------------- (5) determinism, (6) round trip


def test_determinism():
    m = LeadInflow.fit(tiny_leads(), "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL, min_rate=0.05)
    a = m.sample(TS("2026-01-01"), TS("2026-03-01"), np.random.default_rng(42))
    b = m.sample(TS("2026-01-01"), TS("2026-03-01"), np.random.default_rng(42))
    c = m.sample(TS("2026-01-01"), TS("2026-03-01"), np.random.default_rng(43))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not (len(a[0]) == len(c[0]) and np.array_equal(a[0], c[0]))
    again = LeadInflow.fit(tiny_leads(), "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL, min_rate=0.05)
    np.testing.assert_array_equal(m.rates, again.rates)
    pd.testing.assert_frame_equal(m.diagnostics(), again.diagnostics())


def test_as_dict_from_dict_round_trip_through_yaml():
    m = LeadInflow.fit(tiny_leads(), "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL, min_rate=1 / 7)
    text = yaml.safe_dump(m.as_dict(), allow_unicode=True)
    back = LeadInflow.from_dict(yaml.safe_load(text))
    np.testing.assert_array_equal(back.rates, m.rates)  # bit for bit
    assert back.channels == m.channels and back.holiday_as == m.holiday_as
    assert back.window == m.window and back.n_observed == m.n_observed
    assert back.calendar.holidays == m.calendar.holidays and back.calendar.workdays == m.calendar.workdays
    assert back.expected("2026-10-01", "2026-11-01") == m.expected("2026-10-01", "2026-11-01")
    s1 = m.sample(TS("2026-10-01"), TS("2026-11-01"), np.random.default_rng(5))
    s2 = back.sample(TS("2026-10-01"), TS("2026-11-01"), np.random.default_rng(5))
    assert np.array_equal(s1[0], s2[0]) and np.array_equal(s1[1], s2[1])
    # parameters without calendar or window, as a user would write them
    rates = {"site": [[0.5] * 24] * 5 + [[0.0] * 24] * 2}
    p = LeadInflow.from_dict({"rates": rates, "holiday_as": None})
    assert p.channels == ("site",) and p.holiday_as is None and p.expected("2026-10-19", "2026-10-26") == 5 * 24 * 0.5
    with pytest.raises(ParameterError, match="unknown key 'rate'"):
        LeadInflow.from_dict({"rate": rates})
    with pytest.raises(ParameterError, match="7 rows"):
        LeadInflow.from_dict({"rates": {"site": [[0.5] * 24] * 6}})
    with pytest.raises(ParameterError, match="negative"):
        LeadInflow.from_dict({"rates": {"site": [[-0.5] * 24] * 7}})


def test_from_daily_and_scaled():
    m = LeadInflow.from_daily(60, {"website": 35, "calls": 20, "ads": 45})
    # shares normalised: 0.35, 0.20, 0.45; office hours 09-18 -> 60 / 9 per hour on working days
    np.testing.assert_allclose(m.rates[:, 2, 12], np.array([0.35, 0.20, 0.45]) * 60 / 9)
    assert m.rates[:, 5:].sum() == 0 and m.rates[:, :, :9].sum() == 0 and m.rates[:, :, 18:].sum() == 0
    assert m.expected("2026-10-19", "2026-10-26") == pytest.approx(300)
    assert m.scaled(2).expected("2026-10-19", "2026-10-26") == pytest.approx(600)
    d = LeadInflow.from_daily(48, profile="24h")  # every day alike, 2 per hour
    assert d.expected("2026-10-19", "2026-10-26") == pytest.approx(7 * 48)
    weights = [0] * 8 + [1, 2, 2, 2, 1, 1, 1, 1, 1, 1] + [0] * 6  # 08:00-18:00, a morning peak
    c = LeadInflow.from_daily(26, profile=weights, off_day_ratio=0.25)
    assert c.rates[0, 0, 9] == pytest.approx(26 * 2 / 13) and c.daily.tolist() == pytest.approx([26] * 5 + [6.5] * 2)


# --------------------------------------------------------------------------- (4) the demo department


@pytest.fixture(scope="module")
def demo():
    ds = sa.load(REPO / "params" / "clients" / "demo.yaml")
    return ds, LeadInflow.from_dataset(ds)


def planted(ds, model):
    """The generator's expected counts on the actual days of the window (synth._lead_times)."""
    start, end = model.window
    days = pd.date_range(start.normalize(), (end - pd.Timedelta(seconds=1)).normalize(), freq="D")
    working = np.asarray(ds.calendar.is_working_day(days))
    mf = np.array([_MONTH_FACTOR[mm] for mm in days.month])
    wf = np.array([_WEEKDAY_FACTOR.get(d, 0.0) for d in days.day_of_week])
    return pd.DataFrame(
        {
            "day": days,
            "working": working,
            "weekday": days.day_of_week,
            "in_hours": np.where(working, _LEADS_IN_HOURS * wf * mf, 0.0),  # all land in 09..17
            "total": np.where(working, _LEADS_IN_HOURS * wf * mf + _LEADS_OUT_WORKDAY * mf, _LEADS_OFF_DAY * mf),
        }
    )


def test_demo_fit_reproduces_the_planted_weekday_structure(demo):
    ds, m = demo
    p = planted(ds, m)
    assert m.window == (TS("2025-08-01"), ds.as_of) and m.n_observed == len(ds.tables["leads"])
    assert set(_HOURS_IN) == set(range(9, 18))  # the generator's in-hours leads land in 09..17
    s = m.fit_summary_
    # leads per working day and per day off: within 3.5 Poisson sd of the planted sums on the same days
    for key, mask in (("leads_per_working_day", p["working"]), ("leads_per_off_day", ~p["working"])):
        mu, n_days = p.loc[mask, "total"].sum(), mask.sum()
        assert abs(s[key] * n_days - mu) < 3.5 * math.sqrt(mu), (key, s[key], mu / n_days)
    # in working hours of working days, per weekday: fitted in-hours volume vs planted, |z| < 3.9 (Bonferroni 5 x 0.001)
    exposure_days = m.diagnostics().query("section == 'weekday'")["days"].to_numpy()
    fitted_in = m.rates[:, :5, 9:18].sum(axis=(0, 2)) * exposure_days[:5]  # counts 09-18 per weekday
    planted_in = p[p["working"]].groupby("weekday")["in_hours"].sum().to_numpy()
    z = (fitted_in - planted_in) / np.sqrt(planted_in)
    assert np.abs(z).max() < 3.9, z
    # recovered weekday factors vs _WEEKDAY_FACTOR: Monday/Friday ratio with an exact CI (conditional binomial)
    mon, fri = fitted_in[0], fitted_in[4]
    lo, hi = wilson(mon, mon + fri)
    e_mon, e_fri = exposure_days[0], exposure_days[4]
    ratio_lo, ratio_hi = (lo / (1 - lo)) * e_fri / e_mon, (hi / (1 - hi)) * e_fri / e_mon
    planted_ratio = _WEEKDAY_FACTOR[0] / _WEEKDAY_FACTOR[4]  # 1.12 / 0.85 = 1.318 (month mix is close on both)
    assert 1.0 < ratio_lo < planted_ratio < ratio_hi
    # days off are much lower in office hours: a Saturday or Sunday 09-18 brings < 15% of a working day's 09-18
    work_in = m.rates[:, :5, 9:18].sum() / 5
    off_in = m.rates[:, 5:, 9:18].sum() / 2
    assert off_in / work_in < 0.15  # planted: 1.3 * 9 / 16.6 / 8.6 = 0.082
    # holidays look like Sundays: counting holiday Mondays as Mondays lowers the Monday volume
    plain = LeadInflow.from_dataset(ds, holiday_as=None)
    assert plain.daily[0] < m.daily[0] - 0.3


def test_demo_channel_shares_match_the_generator(demo):
    ds, m = demo
    d = m.diagnostics().query("section == 'channel'").set_index("key")
    assert set(d.index) == set(CHANNELS)
    n = d["observed"].sum()
    lo, hi = wilson(d["observed"].to_numpy(), n, alpha=0.05 / len(CHANNELS))  # Bonferroni over the channels
    share = np.array([CHANNELS[c][0] for c in d.index])
    assert np.all((lo < share) & (share < hi)), (d["share"], share)
    # channels were drawn independently of time: the contingency test does not reject
    assert m.fit_summary_["channel_independence"]["p_value"] > 0.01


def test_demo_diagnostics_report_the_planted_seasonality(demo):
    ds, m = demo
    s = m.fit_summary_
    d = m.diagnostics()
    assert list(d.columns) == list(DIAGNOSTIC_COLUMNS)
    assert set(d["section"]) == {"weekday", "hour", "hour_working", "hour_off", "day_type", "channel", "month"}
    # the flat model is wrong about months (planted _MONTH_FACTOR): the monthly check rejects it ...
    assert s["monthly"]["p_value"] < 0.01
    # ... while the monthly counts agree with the planted month factors on the same days
    p = planted(ds, m)
    exp_month = p.groupby(p["day"].dt.strftime("%Y-%m"))["total"].sum()
    obs_month = d.query("section == 'month'").set_index("key")["observed"]
    x2 = float((((obs_month - exp_month) ** 2) / exp_month).sum())
    assert stats.chi2.sf(x2, len(exp_month)) > 0.01
    # the day-to-day variance exceeds Poisson (months differ): index > 1, reported with its p-value
    assert s["dispersion"]["index"] > 1.05 and s["dispersion"]["df"] == s["dispersion"]["days"] - 7
    # no trend was planted: the yearly rate ratio's 95% CI contains 1
    assert s["trend"]["ci_low"] < 1 < s["trend"]["ci_high"]
    # the weekday x hour profile is the same in even and odd weeks
    assert s["profile_gof"]["p_value"] > 0.01 and s["profile_gof"]["pooled_cells"] < 168


# --------------------------------------------------------------------------- (7) fit -> sample -> refit


def test_fit_sample_refit_recovers_the_rates(demo):
    ds, m = demo
    start, end = TS("2027-01-04"), TS("2032-01-05")  # 261 whole weeks
    minutes, code = m.sample(start, end, np.random.default_rng(20261031))
    leads = pd.DataFrame(
        {"created_at": start + pd.to_timedelta(minutes, unit="min"), "channel": np.array(m.channels, dtype=object)[code]}
    )
    re = LeadInflow.fit(leads, start, end, calendar=ds.calendar)
    assert set(re.channels) == set(m.channels)
    order = [re.channels.index(c) for c in m.channels]
    exposure = 261.0  # hours per (weekday, hour) cell; the calendar has no holidays after 2026
    # total rate per cell: Pearson X² of the refit counts against the true expectation
    e = m.rates.sum(axis=0) * exposure
    o = re.rates.sum(axis=0) * exposure
    assert np.allclose(o, np.round(o))
    assert o[e == 0].sum() == 0
    x2 = ((o - e)[e > 0] ** 2 / e[e > 0]).sum()
    assert x2 < stats.chi2.ppf(0.999, (e > 0).sum())
    # daily volume per weekday and channel totals within 4 sd
    z_day = (re.daily - m.daily) * exposure / np.sqrt(m.daily * exposure)
    assert np.abs(z_day).max() < 4
    tot_true = m.rates.sum(axis=(1, 2)) * exposure
    tot_re = re.rates[order].sum(axis=(1, 2)) * exposure
    assert np.abs((tot_re - tot_true) / np.sqrt(tot_true)).max() < 4
    # the data are Poisson by construction: the refit's own diagnostics do not reject
    s = re.fit_summary_
    assert s["dispersion"]["p_value"] > 0.001 and abs(s["dispersion"]["index"] - 1) < 0.1
    assert s["monthly"]["p_value"] > 0.001 and s["trend"]["ci_low"] < 1 < s["trend"]["ci_high"]
    assert s["profile_gof"]["p_value"] > 0.001
    # and checked out of sample against the true model, the sample fits
    _, out = m.diagnose(leads, start, end)
    assert out["profile_gof"]["p_value"] > 0.001 and abs(out["profile_gof"]["level_ratio"] - 1) < 0.02


def test_diagnose_rejects_a_wrong_parameter_set(demo):
    ds, m = demo
    leads = ds.tables["leads"]
    shares = {c: v[0] for c, v in CHANNELS.items()}
    # "all leads in office hours, 9.4 per working day": the demo has evening and weekend leads
    office = LeadInflow.from_daily(9.4, shares, calendar=ds.calendar)
    d, s = office.diagnose(leads, end=ds.as_of)
    assert s["in_sample"] is False and s["n"] == len(leads)
    assert s["profile_gof"]["p_value"] < 1e-9
    off = d.query("section == 'day_type'").set_index("key").loc["off"]
    assert off["fitted"] == 0 and off["observed"] > 100
    # the fitted model checked on the same leads: level 1, and the out-of-sample Pearson test has all its df
    _, s2 = m.diagnose(leads, end=ds.as_of)
    assert s2["profile_gof"]["level_ratio"] == pytest.approx(1.0) and s2["monthly"]["df"] == s2["monthly"]["months"]


def test_timezone_aware_times_need_a_calendar():
    leads = tiny_leads().dropna(subset=["created_at"])
    leads["created_at"] = leads["created_at"].dt.tz_localize("Europe/Moscow").dt.tz_convert("UTC")
    with pytest.raises(ParameterError, match="carries a timezone"):
        LeadInflow.fit(leads, "2026-10-05 09:30", "2026-10-19")
    m = LeadInflow.fit(leads, "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL)  # converted back to Moscow time
    np.testing.assert_array_equal(m.rates, LeadInflow.fit(tiny_leads(), "2026-10-05 09:30", "2026-10-19", calendar=HOLIDAY_CAL).rates)


# --------------------------------------------------------------------------- (8) a growing inflow


def test_a_planted_growth_is_measured_and_projected_forward():
    """Leads sampled from an inflow growing × 3 a year: the fit's log-linear trend finds × 3
    (inside its 95 % CI), and ``with_trend()`` projects the next quarter's volume close to the
    truth, where the flat fit falls a third short."""
    cal = WorkCalendar(start="09:00", end="18:00")
    truth = LeadInflow.from_daily(40, {"web": 0.6, "calls": 0.4}, calendar=cal).with_trend(3.0, "2026-01-05")
    start, end = TS("2026-01-05"), TS("2026-07-06")  # half a year, 26 weeks
    minutes, code = truth.sample(start, end, np.random.default_rng(11))
    leads = pd.DataFrame({"created_at": start + pd.to_timedelta(minutes, unit="min"),
                          "channel": np.array(truth.channels, dtype=object)[code]})
    fit = LeadInflow.fit(leads, start, end, calendar=cal)
    tr = fit.fit_summary_["trend"]
    assert tr["ci_low"] < 3.0 < tr["ci_high"] and 2.2 < tr["per_year"] < 4.2
    grown = fit.with_trend()
    assert grown.growth_per_year == tr["per_year"] and grown.fit_summary_ is fit.fit_summary_
    # inside the window the trended fit adds up to the leads seen (the flat fit does by construction)
    assert grown.expected(start, end) == pytest.approx(len(minutes), rel=0.02)
    nxt = (TS("2026-07-06"), TS("2026-10-05"))
    want = truth.expected(*nxt)
    assert grown.expected(*nxt) == pytest.approx(want, rel=0.12)  # over 8 seeds: within -5.5 … +2 %
    assert fit.expected(*nxt) < 0.75 * want  # flat: the window's average level
    # the trend survives scaling and the parameter file
    assert grown.scaled(2.0).expected(*nxt) == pytest.approx(2 * grown.expected(*nxt))
    back = LeadInflow.from_dict(yaml.safe_load(yaml.safe_dump(grown.as_dict())))
    assert back.expected(*nxt) == pytest.approx(grown.expected(*nxt), rel=1e-12)
    with pytest.raises(ParameterError, match="growth_per_year"):
        LeadInflow.from_daily(10).with_trend(-1.0, "2026-01-05")
    with pytest.raises(ParameterError, match="no fitted trend"):
        LeadInflow.from_daily(10).with_trend()
