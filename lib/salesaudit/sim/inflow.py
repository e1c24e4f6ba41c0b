"""Lead inflow of the capacity simulation: a non-homogeneous Poisson process by weekday, hour and channel.

The model
---------
Leads of channel ``c`` arrive as a Poisson process whose rate is constant within
each clock hour and repeats every week:

    lambda_c(t) = rates[c, profile(t), hour(t)]      (expected leads per hour)

where ``hour(t)`` is the hour of day (0..23) and ``profile(t)`` the weekday
(Monday = 0). With a working calendar, a public holiday that falls on one of
the calendar's working weekdays uses the profile of weekday ``holiday_as``
(Sunday by default): a holiday Monday looks like a Sunday, not like a Monday.
Holidays that fall on a weekend keep their own weekday. Channels are
independent Poisson processes, so their sum is again one with the total rate.

*Fitting* (:meth:`LeadInflow.fit`) is the maximum-likelihood estimate of a
piecewise-constant Poisson rate: for every (channel, weekday, hour) cell,

    rate = leads counted in the cell / hours of that (weekday, hour) in the window,

the window ``[start, end)`` being cut into clock hours (a partial first or last
hour counts with its fraction). Every (weekday, hour) cell must be covered at
least once, so the window must span a full week. The model is flat over the
window: month seasonality and trend are *measured* by the fit diagnostics
(``diagnostics_``, ``fit_summary_``), not modelled; ``sample(volume=...)`` and
:meth:`LeadInflow.scaled` change the level.

*Setting it in the parameters* (:meth:`LeadInflow.from_daily`, or
:meth:`LeadInflow.from_dict` on a YAML mapping) needs no data.

*Sampling* (:meth:`LeadInflow.sample`) is exact for a piecewise-constant rate:
one Poisson count per (hour, channel), then uniform times inside the hour,
fully vectorised and driven only by the ``numpy.random.Generator`` passed in.

Fit diagnostics, in-sample fitted margins and honest tests
----------------------------------------------------------
A saturated model reproduces its own weekday, hour and channel totals exactly,
so the observed-versus-fitted rows of those sections agree by construction
(they differ only with ``min_rate`` or on other data, see
:meth:`LeadInflow.diagnose`). The tests that can fail are:

* **dispersion** of daily totals: Pearson ``X2 = sum (N_d - lambda_d)^2 / lambda_d``
  over whole days, index ``X2 / df``; an index above 1 with a small p-value
  means the days vary more than Poisson (seasonality, campaigns), so a
  simulation from this model *understates* the day-to-day variance;
* **monthly volume** against the flat level (Pearson chi-square) and a
  log-linear Poisson **trend** over weeks with a quasi-Poisson 95% CI;
* **profile stability**: the weekday x hour profile of even ISO weeks against
  odd ones (a Poisson homogeneity test with a free level ratio, cells with an
  expected count below 5 pooled). Out of sample (:meth:`LeadInflow.diagnose`)
  this is a plain Pearson goodness of fit against the model's expected counts;
* **channel x time independence** (contingency chi-square): if not rejected,
  ``channel_profile="shared"`` (one time profile, constant channel shares) is
  adequate and less noisy.

>>> inflow = LeadInflow.from_daily(90, {"website": 2, "calls": 1})
>>> inflow.channels
('website', 'calls')
>>> inflow.expected("2026-10-19", "2026-10-26")   # Monday to Sunday: 5 working days x 90
450.0
>>> round(float(inflow.rates[0, 0, 9]), 4), float(inflow.rates[1, 5, 12])  # website Monday 09-10; calls Saturday noon
(6.6667, 0.0)
>>> rng = np.random.default_rng(7)
>>> minutes, channel = inflow.sample(pd.Timestamp("2026-10-19"), pd.Timestamp("2026-10-26"), rng)
>>> bool(np.all(np.diff(minutes) >= 0)), bool(minutes.min() >= 9 * 60), int(channel.max()) <= 1
(True, True, True)
>>> same = inflow.sample(pd.Timestamp("2026-10-19"), pd.Timestamp("2026-10-26"), np.random.default_rng(7))
>>> bool(np.array_equal(minutes, same[0]) and np.array_equal(channel, same[1]))
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from ..data.calendar import WorkCalendar
from ..errors import ParameterError

__all__ = ["LeadInflow", "DIAGNOSTIC_COLUMNS", "WEEKDAYS", "UNKNOWN_CHANNEL", "PROFILES"]

#: Weekday keys of the diagnostics (Monday = 0).
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Channel given to leads with a missing or empty channel.
UNKNOWN_CHANNEL = "unknown"
#: Named hour-of-day profiles of :meth:`LeadInflow.from_daily`.
PROFILES: tuple[str, ...] = ("office", "24h")
#: Columns of :attr:`LeadInflow.diagnostics_`, in order.
DIAGNOSTIC_COLUMNS: tuple[str, ...] = (
    "section",
    "key",
    "days",
    "observed",
    "fitted",
    "ratio",
    "ratio_low",
    "ratio_high",
    "pearson_residual",
    "observed_per_day",
    "fitted_per_day",
    "share",
    "share_low",
    "share_high",
)

_HOUR_NS = 3_600_000_000_000
_NAT = np.iinfo(np.int64).min
_MIN_EXPECTED = 5.0  # pooling threshold of the chi-square tests
_WEEKS_PER_YEAR = 365.25 / 7


# --------------------------------------------------------------------------- helpers


def _problem(where: str, text: str) -> ParameterError:
    return ParameterError(where, [text])


def _stamp_ns(value, calendar: WorkCalendar | None, where: str, what: str) -> int:
    """A scalar moment → int64 nanoseconds of naive local time."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise _problem(where, f"`{what}` must be a date or a moment such as '2026-10-19 09:00', got {value!r} ({exc}).") from None
    if ts is pd.NaT:
        raise _problem(where, f"`{what}` is empty (NaT). Give a date or a moment such as '2026-10-19 09:00'.")
    if ts.tzinfo is not None:
        if calendar is None:
            raise _problem(where, f"`{what}` = {ts} carries a timezone but no calendar says which local time to use. Give a naive local time or pass the calendar (its timezone converts it).")
        ts = ts.tz_convert(calendar.timezone).tz_localize(None)
    return int(ts.as_unit("ns").value)


def _ts(ns: int) -> pd.Timestamp:
    return pd.Timestamp(np.int64(ns).view("datetime64[ns]"))


def _lead_arrays(leads: pd.DataFrame, calendar: WorkCalendar | None, where: str) -> tuple[np.ndarray, np.ndarray, int]:
    """``(created_at ns, channel names as object array, rows without created_at)``, NaT rows dropped."""
    if not isinstance(leads, pd.DataFrame):
        raise _problem(where, f"expects the leads table as a pandas DataFrame (dataset.tables['leads']), got {type(leads).__name__}.")
    if len(leads) == 0:
        raise _problem(
            where,
            "the leads table is empty, so there is nothing to calibrate the inflow on. Check that the export "
            "holds leads and that the preset maps them (see the data-quality notebook), or set the inflow in the "
            "parameters with LeadInflow.from_daily(...).",
        )
    if "created_at" not in leads.columns:
        raise _problem(
            where,
            f"the leads table has no `created_at` column (it has: {', '.join(map(str, leads.columns))}). "
            "Pass the canonical leads table (dataset.tables['leads']).",
        )
    created = pd.to_datetime(leads["created_at"])
    if getattr(created.dt, "tz", None) is not None:
        if calendar is None:
            raise _problem(where, "`created_at` carries a timezone, but hours of the day must be local times and no calendar was given. "
                                  "Pass the calendar (its timezone converts the times) or the canonical table, whose times are naive local times.")
        created = created.dt.tz_convert(calendar.timezone).dt.tz_localize(None)
    ns = created.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if "channel" in leads.columns:
        raw = leads["channel"].astype("string").str.strip()
        chan = raw.where(raw.notna() & (raw != ""), UNKNOWN_CHANNEL).astype(object).to_numpy()
    else:
        chan = np.full(len(leads), UNKNOWN_CHANNEL, dtype=object)
    ok = ns != _NAT
    return ns[ok], chan[ok], int((~ok).sum())


@dataclass(frozen=True)
class _Grid:
    """The clock hours of a window ``[start, end)`` and what each of them is."""

    start_ns: int
    end_ns: int
    h0: int  # start of the first clock hour (ns)
    cover: np.ndarray  # fraction of each hour inside the window
    day: np.ndarray  # days since 1970-01-01 of each hour
    hod: np.ndarray  # hour of day
    weekday: np.ndarray  # real weekday
    profile: np.ndarray  # weekday profile used (holidays → holiday_as)
    working: np.ndarray  # a working day of the calendar (Mon–Fri without a calendar)

    @property
    def cell(self) -> np.ndarray:
        return self.profile * 24 + self.hod

    def exposure(self) -> np.ndarray:
        """Hours of each (weekday profile, hour) cell in the window, shape (7, 24)."""
        return np.bincount(self.cell, weights=self.cover, minlength=168).reshape(7, 24)

    def locate(self, t_ns: np.ndarray) -> np.ndarray:
        return ((t_ns - self.h0) // _HOUR_NS).astype(np.int64)

    def inside(self, t_ns: np.ndarray) -> np.ndarray:
        return (t_ns >= self.start_ns) & (t_ns < self.end_ns)


def _grid(start_ns: int, end_ns: int, calendar: WorkCalendar | None, holiday_as: int | None) -> _Grid:
    h0 = (start_ns // _HOUR_NS) * _HOUR_NS
    n = -((h0 - end_ns) // _HOUR_NS)  # ceil
    starts = h0 + np.arange(n, dtype=np.int64) * _HOUR_NS
    cover = (np.minimum(starts + _HOUR_NS, end_ns) - np.maximum(starts, start_ns)) / _HOUR_NS
    day = starts // (24 * _HOUR_NS)
    hod = (starts - day * 24 * _HOUR_NS) // _HOUR_NS
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    if calendar is not None:
        days, inverse = np.unique(day, return_inverse=True)
        working = np.asarray(calendar.is_working_day(days.astype("datetime64[D]")), dtype=bool)[inverse]
        holiday = np.isin(weekday, calendar.workdays) & ~working
    else:
        working = weekday < 5
        holiday = np.zeros(n, dtype=bool)
    profile = np.where(holiday, holiday_as, weekday) if holiday_as is not None else weekday
    return _Grid(int(start_ns), int(end_ns), int(h0), cover, day, hod.astype(np.int64), weekday, profile.astype(np.int64), working)


def _window(where: str, start, end, calendar) -> tuple[int, int]:
    s = _stamp_ns(start, calendar, where, "start")
    e = _stamp_ns(end, calendar, where, "end")
    if e <= s:
        raise _problem(where, f"the window must end after it starts, got start={_ts(s)} and end={_ts(e)}.")
    return s, e


def _garwood(k: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) confidence interval of a Poisson mean from a count ``k``."""
    k = np.asarray(k, dtype=float)
    lo = np.where(k > 0, _st.chi2.ppf(alpha / 2, 2 * np.maximum(k, 1)) / 2, 0.0)
    hi = _st.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return lo, hi


def _wilson(k: np.ndarray, n: float, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    from ..stats import wilson

    lo, hi = wilson(np.asarray(k, dtype=float), float(n), alpha)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def _pool(expected: np.ndarray, threshold: float = _MIN_EXPECTED) -> np.ndarray:
    """Group labels of the columns of ``expected`` (rows × cells) for a chi-square test.

    Cells are taken in ascending order of their smallest expected count and merged
    with their neighbours until every row of the group expects at least
    ``threshold``; a last group still short of it joins the previous one.
    """
    expected = np.atleast_2d(expected)
    k = expected.shape[1]
    order = np.argsort(expected.min(axis=0), kind="stable")
    labels = np.empty(k, dtype=np.int64)
    group, acc = 0, np.zeros(expected.shape[0])
    for j in order:  # at most 168 cells
        labels[j] = group
        acc = acc + expected[:, j]
        if acc.min() >= threshold:
            group, acc = group + 1, np.zeros(expected.shape[0])
    if group > 0 and np.any(labels == group):  # an unfinished last group joins the previous one
        labels[labels == group] = group - 1
    return labels


def _pearson_pooled(observed: np.ndarray, expected: np.ndarray) -> tuple[float, int]:
    """Pearson X² over pooled cells (expected >= 5) and the number of pooled cells."""
    labels = _pool(expected[None, :])
    g = int(labels.max()) + 1
    o = np.bincount(labels, weights=observed, minlength=g)
    e = np.bincount(labels, weights=expected, minlength=g)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(e > 0, (o - e) ** 2 / np.where(e > 0, e, 1.0), np.where(o > 0, np.inf, 0.0))
    return float(terms.sum()), g


def _homogeneity(x: np.ndarray, e: np.ndarray) -> dict:
    """Poisson homogeneity of a profile between two halves with a free level ratio.

    ``x`` and ``e`` are counts and exposures, shape (2, cells). H0: the rate of
    cell i is ``r_i`` in the first half and ``theta * r_i`` in the second.
    Cells are pooled first (expected >= 5 in both halves), then the model is
    fitted on the pooled table and Pearson's X² has ``groups - 1`` degrees of freedom.
    """
    n = x.sum(axis=0)
    share = e / np.where(e.sum(axis=0) > 0, e.sum(axis=0), 1.0)
    labels = _pool(n * share)
    g = int(labels.max()) + 1
    xg = np.vstack([np.bincount(labels, weights=x[h], minlength=g) for h in (0, 1)])
    eg = np.vstack([np.bincount(labels, weights=e[h], minlength=g) for h in (0, 1)])
    theta = 1.0
    for _ in range(200):  # fixed point of the two likelihood equations
        r = xg.sum(axis=0) / np.maximum(eg[0] + theta * eg[1], 1e-300)
        new = xg[1].sum() / max(float((eg[1] * r).sum()), 1e-300)
        if abs(new - theta) < 1e-12 * max(theta, 1.0):
            theta = new
            break
        theta = new
    r = xg.sum(axis=0) / np.maximum(eg[0] + theta * eg[1], 1e-300)
    mu = np.vstack([eg[0] * r, theta * eg[1] * r])
    ok = mu > 0
    chi2 = float(((xg - mu)[ok] ** 2 / mu[ok]).sum())
    df = g - 1
    return {
        "method": "even vs odd ISO weeks, Poisson homogeneity with a free level ratio",
        "chi2": chi2,
        "df": df,
        "p_value": float(_st.chi2.sf(chi2, df)) if df > 0 else math.nan,
        "cells": int(x.shape[1]),
        "pooled_cells": g,
        "level_ratio": float(theta),
    }


def _independence(table: np.ndarray) -> dict | None:
    """Contingency chi-square of channels (rows) × time cells (columns), columns pooled."""
    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2:
        return None
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    labels = _pool(expected)
    g = int(labels.max()) + 1
    pooled = np.vstack([np.bincount(labels, weights=row, minlength=g) for row in table])
    exp = np.outer(pooled.sum(axis=1), pooled.sum(axis=0)) / n
    chi2 = float(((pooled - exp) ** 2 / exp).sum())
    df = (pooled.shape[0] - 1) * (g - 1)
    return {"chi2": chi2, "df": df, "p_value": float(_st.chi2.sf(chi2, df)) if df > 0 else math.nan, "pooled_cells": g}


def _poisson_trend(y: np.ndarray, offset: np.ndarray, t: np.ndarray) -> dict | None:
    """Log-linear Poisson regression ``log mu = log offset + a + b t`` (Newton), quasi-Poisson CI of ``b``."""
    keep = offset > 0
    y, offset, t = y[keep], offset[keep], t[keep].astype(float)
    if len(y) < 3 or y.sum() == 0:
        return None
    tc = t - t.mean()
    beta = np.array([math.log(y.sum() / offset.sum()), 0.0])
    X = np.column_stack([np.ones_like(tc), tc])
    for _ in range(100):
        mu = offset * np.exp(X @ beta)
        step = np.linalg.solve(X.T @ (X * mu[:, None]), X.T @ (y - mu))
        beta = beta + step
        if np.abs(step).max() < 1e-12:
            break
    mu = offset * np.exp(X @ beta)
    cov = np.linalg.inv(X.T @ (X * mu[:, None]))
    phi = float(((y - mu) ** 2 / mu).sum() / (len(y) - 2))
    se = math.sqrt(cov[1, 1] * max(phi, 1.0))
    b = float(beta[1])
    z = _st.norm.ppf(0.975)
    return {
        "level": float(beta[0]),  # log of the multiplier on the flat model at the mean week
        "t_mean": float(t.mean()),
        "per_week": b,
        "per_year": math.exp(b * _WEEKS_PER_YEAR),
        "ci_low": math.exp((b - z * se) * _WEEKS_PER_YEAR),
        "ci_high": math.exp((b + z * se) * _WEEKS_PER_YEAR),
        "p_value": float(2 * _st.norm.sf(abs(b) / se)),
        "scale": phi,
        "weeks": int(len(y)),
    }


def _section(name: str, keys: Sequence[str], days, observed, fitted) -> pd.DataFrame:
    days = np.asarray(days, dtype=float)
    observed = np.asarray(observed, dtype=float)
    fitted = np.asarray(fitted, dtype=float)
    lo, hi = _garwood(observed)
    total = observed.sum()
    s_lo, s_hi = _wilson(observed, total) if total > 0 else (np.full(len(observed), np.nan),) * 2
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = fitted > 0
        safe = np.where(pos, fitted, 1.0)
        ratio = np.where(pos, observed / safe, np.nan)
        per_day_ok = days > 0
        dsafe = np.where(per_day_ok, days, 1.0)
        return pd.DataFrame(
            {
                "section": name,
                "key": list(keys),
                "days": days,
                "observed": observed.astype(np.int64),
                "fitted": fitted,
                "ratio": ratio,
                "ratio_low": np.where(pos, lo / safe, np.nan),
                "ratio_high": np.where(pos, hi / safe, np.nan),
                "pearson_residual": np.where(pos, (observed - fitted) / np.sqrt(safe), np.nan),
                "observed_per_day": np.where(per_day_ok, observed / dsafe, np.nan),
                "fitted_per_day": np.where(per_day_ok, fitted / dsafe, np.nan),
                "share": observed / total if total > 0 else np.nan,
                "share_low": s_lo,
                "share_high": s_hi,
            }
        )


def _calendar_dict(cal: WorkCalendar | None) -> dict | None:
    if cal is None:
        return None
    return {
        "timezone": cal.timezone,
        "workdays": list(cal.workdays),
        "start": cal.start,
        "end": cal.end,
        "holidays": [d.isoformat() for d in cal.holidays],
        "workdays_extra": [d.isoformat() for d in getattr(cal, "workdays_extra", ())],
        "years": list(cal.years) if getattr(cal, "years", None) else None,
    }


# --------------------------------------------------------------------------- the model


@dataclass(eq=False)
class LeadInflow:
    """Weekly-periodic, piecewise-constant Poisson lead inflow per channel.

    ``rates[c, d, h]`` is the expected number of leads of channel ``channels[c]``
    per hour in hour ``h`` (0..23) of a day with weekday profile ``d`` (Monday = 0).
    On a calendar holiday that falls on a working weekday the profile
    ``holiday_as`` is used (``None``: holidays are ordinary weekdays).

    The fitted attributes end with an underscore: ``diagnostics_`` (tidy table,
    columns :data:`DIAGNOSTIC_COLUMNS`) and ``fit_summary_`` (dict). ``calendar``
    is the calendar of the fit (or of :meth:`from_daily`), used by
    :meth:`expected` and :meth:`sample` when they are not given one; ``window``
    and ``n_observed`` record the fit window and the leads counted in it.
    """

    rates: np.ndarray
    channels: tuple[str, ...]
    holiday_as: int | None = 6
    diagnostics_: pd.DataFrame | None = None
    calendar: WorkCalendar | None = None
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None
    n_observed: int | None = None
    fit_summary_: dict | None = field(default=None, repr=False)
    growth_per_year: float = 1.0  # the rates hold at ``growth_origin`` and grow × this a year (1: flat)
    growth_origin: pd.Timestamp | None = None

    def __post_init__(self):
        where = "LeadInflow"
        self.channels = tuple(str(c) for c in self.channels)
        rates = np.array(self.rates, dtype=np.float64)  # a copy: the model owns its rates
        if rates.ndim == 2 and rates.shape == (7, 24):
            rates = rates[None]
        if rates.ndim != 3 or rates.shape[1:] != (7, 24):
            raise _problem(where, f"`rates` must have shape (n_channels, 7, 24) — channel, weekday (Monday = 0), hour — got {rates.shape}.")
        if rates.shape[0] != len(self.channels) or not self.channels:
            raise _problem(where, f"`rates` has {rates.shape[0]} channel rows but {len(self.channels)} channel names were given ({list(self.channels)}); give one name per row.")
        if len(set(self.channels)) != len(self.channels):
            raise _problem(where, f"channel names repeat: {list(self.channels)}. Give each channel once.")
        if not np.all(np.isfinite(rates)):
            raise _problem(where, "`rates` holds NaN or infinite values; every rate must be a finite number of leads per hour.")
        if np.any(rates < 0):
            c, d, h = np.argwhere(rates < 0)[0]
            raise _problem(
                where,
                f"a rate is negative: {rates[c, d, h]:g} leads per hour for channel {self.channels[c]!r} on {WEEKDAYS[d]} "
                f"at {h:02d}:00 ({int((rates < 0).sum())} negative cells in all). Rates are expected leads per hour and must be >= 0.",
            )
        if self.holiday_as is not None:
            if int(self.holiday_as) != self.holiday_as or not 0 <= int(self.holiday_as) <= 6:
                raise _problem(where, f"`holiday_as` must be a weekday number 0..6 (Monday = 0, Sunday = 6) or None, got {self.holiday_as!r}.")
            self.holiday_as = int(self.holiday_as)
        rates.setflags(write=False)
        self.rates = rates
        g = self.growth_per_year
        if not (isinstance(g, (int, float)) and math.isfinite(g) and g > 0):
            raise _problem(where, f"`growth_per_year` is the yearly growth factor of the lead volume (1 = flat, 2 = doubling a year) and must be a number > 0, got {g!r}.")
        if g != 1.0 and self.growth_origin is None:
            raise _problem(where, "`growth_origin` (the moment the rates hold) is needed with a `growth_per_year` other than 1.")
        self.growth_per_year = float(g)
        self.growth_origin = pd.Timestamp(self.growth_origin) if self.growth_origin is not None else None

    # ------------------------------------------------------------------ info
    @property
    def daily(self) -> np.ndarray:
        """Expected leads per day of each weekday profile (all channels), shape (7,)."""
        return self.rates.sum(axis=(0, 2))

    @property
    def channel_shares(self) -> dict[str, float]:
        """Share of each channel in a typical week."""
        per = self.rates.sum(axis=(1, 2))
        total = per.sum()
        return {c: float(v / total) if total > 0 else math.nan for c, v in zip(self.channels, per)}

    def _cal(self, calendar):
        return calendar if calendar is not None else self.calendar

    # ---------------------------------------------------------------- fitting
    @classmethod
    def fit(
        cls,
        leads: pd.DataFrame,
        start=None,
        end=None,
        calendar: WorkCalendar | None = None,
        min_rate: float = 0.0,
        *,
        holiday_as: int | None = 6,
        channel_profile: str = "own",
    ) -> "LeadInflow":
        """Maximum-likelihood rates from a leads table, with fit diagnostics.

        ``rate[c, d, h] = count[c, d, h] / exposure[d, h]``: the leads of channel
        ``c`` that arrived in hour ``h`` of a day with profile ``d``, divided by the
        hours of that (profile, hour) in ``[start, end)``. ``start`` defaults to
        the midnight of the first lead's day, ``end`` to the midnight after the
        last lead's day (prefer :meth:`from_dataset`, which ends at ``as_of``).
        Leads outside the window are not counted. A missing or empty channel is
        ``"unknown"``; channels are ordered by volume. With a ``calendar``,
        holidays on working weekdays count as weekday ``holiday_as``.

        ``min_rate`` floors every cell (a cell never seen gets that rate instead
        of 0). ``channel_profile="shared"`` fits one weekday × hour profile for
        all channels times constant channel shares (the MLE under channel-time
        independence; the total rates are the same either way).
        """
        where = "LeadInflow.fit"
        if not (isinstance(min_rate, (int, float)) and math.isfinite(min_rate) and min_rate >= 0):
            raise _problem(where, f"`min_rate` is a floor on the leads per hour of every cell and must be a number >= 0, got {min_rate!r}.")
        if channel_profile not in ("own", "shared"):
            raise _problem(where, f"`channel_profile` must be 'own' (a profile per channel) or 'shared' (one profile, constant channel shares), got {channel_profile!r}.")
        t_ns, chan, n_missing = _lead_arrays(leads, calendar, where)
        if len(t_ns) == 0:
            raise _problem(where, f"none of the {len(leads)} leads has a `created_at` time, so there is nothing to fit. Check the date column mapping in the preset.")
        day_ns = 24 * _HOUR_NS
        s = (int(t_ns.min()) // day_ns) * day_ns if start is None else _stamp_ns(start, calendar, where, "start")
        e = (int(t_ns.max()) // day_ns + 1) * day_ns if end is None else _stamp_ns(end, calendar, where, "end")
        if e <= s:
            raise _problem(where, f"the window must end after it starts, got start={_ts(s)} and end={_ts(e)}.")
        grid = _grid(s, e, calendar, holiday_as)
        inside = grid.inside(t_ns)
        if not inside.any():
            raise _problem(
                where,
                f"no lead arrived in the window [{_ts(s)}, {_ts(e)}); the leads run from {_ts(int(t_ns.min()))} "
                f"to {_ts(int(t_ns.max()))}. Choose `start` and `end` inside that span (or leave them empty).",
            )
        exposure = grid.exposure()
        if np.any(exposure <= 0):
            d, h = np.argwhere(exposure <= 0)[0]
            raise _problem(
                where,
                f"the window [{_ts(s)}, {_ts(e)}) contains no {WEEKDAYS[d]} {h:02d}:00 hour ({int((exposure <= 0).sum())} of the "
                "168 weekday × hour cells are never seen), so their rates cannot be estimated. Use a window of at least one full "
                "week, ideally several months.",
            )
        t_in, chan_in = t_ns[inside], chan[inside]
        names, counts_c = np.unique(chan_in.astype(str), return_counts=True)
        order = sorted(range(len(names)), key=lambda i: (-counts_c[i], names[i]))
        channels = tuple(str(names[i]) for i in order)
        code = pd.Index(channels).get_indexer(chan_in.astype(str))
        cell = grid.cell[grid.locate(t_in)]
        counts = np.bincount(code * 168 + cell, minlength=len(channels) * 168).reshape(len(channels), 7, 24).astype(float)
        if channel_profile == "own":
            rates = counts / exposure
        else:
            shares = counts.sum(axis=(1, 2)) / counts.sum()
            rates = shares[:, None, None] * (counts.sum(axis=0) / exposure)[None]
        rates = np.maximum(rates, float(min_rate))
        model = cls(rates, channels, holiday_as, calendar=calendar, window=(_ts(s), _ts(e)), n_observed=int(inside.sum()))
        diag, summary = model._diagnose(t_in, chan_in, grid, in_sample=True)
        summary.update(
            {
                "n_outside_window": int((~inside).sum()),
                "n_missing_time": n_missing,
                "min_rate": float(min_rate),
                "channel_profile": channel_profile,
            }
        )
        model.diagnostics_, model.fit_summary_ = diag, summary
        return model

    @classmethod
    def from_dataset(cls, dataset, start=None, end=None, **kw) -> "LeadInflow":
        """:meth:`fit` on ``dataset.tables["leads"]`` with the dataset's calendar, the window ending at ``as_of``.

        ``start`` defaults to the midnight of the first lead's day, ``end`` to
        ``dataset.as_of`` (a quiet last day still counts as exposure).
        """
        leads = dataset.tables.get("leads") if hasattr(dataset, "tables") else None
        if leads is None:
            raise _problem("LeadInflow.from_dataset", "the dataset has no leads table. Export the leads and map them in the preset's `tables:` section, "
                                                      "or set the inflow with LeadInflow.from_daily(...).")
        if end is None and getattr(dataset, "as_of", None) is not None:
            end = dataset.as_of
        kw.setdefault("calendar", getattr(dataset, "calendar", None))
        return cls.fit(leads, start=start, end=end, **kw)

    @classmethod
    def from_daily(
        cls,
        leads_per_working_day: float,
        channel_shares: Mapping[str, float] | None = None,
        calendar: WorkCalendar | None = None,
        profile: str | Sequence[float] = "office",
        *,
        off_day_ratio: float | None = None,
        holiday_as: int | None = 6,
    ) -> "LeadInflow":
        """Rates set in the parameters: a daily volume spread over an hour-of-day profile.

        ``leads_per_working_day`` is the expected total of a working day (all
        channels). ``channel_shares`` are weights (normalised to sum 1); without
        them there is one channel, ``"all"``. ``profile``:

        * ``"office"``: uniform over the calendar's working hours (default
          calendar: Monday–Friday 09:00–18:00), none outside; an hour only
          partly open gets its open fraction;
        * ``"24h"``: uniform over the 24 hours, every day alike;
        * 24 non-negative weights: the shape of a working day.

        Days off (weekdays outside ``calendar.workdays``) get ``off_day_ratio``
        times a working day's volume with the same hourly shape (default 0, or 1
        for ``"24h"``). Holidays use profile ``holiday_as`` when the model runs.

        >>> m = LeadInflow.from_daily(45, calendar=WorkCalendar(start="09:30", end="18:00"))
        >>> round(float(m.rates[0, 0, 9]), 4), round(float(m.rates[0, 0, 10]), 4), m.daily.tolist()
        (2.6471, 5.2941, [45.0, 45.0, 45.0, 45.0, 45.0, 0.0, 0.0])
        """
        where = "LeadInflow.from_daily"
        try:
            volume = float(leads_per_working_day)
        except (TypeError, ValueError):
            volume = math.nan
        if not (math.isfinite(volume) and volume >= 0):
            raise _problem(where, f"`leads_per_working_day` must be a number >= 0, got {leads_per_working_day!r}.")
        cal = calendar if calendar is not None else WorkCalendar()
        if isinstance(profile, str):
            if profile == "office":
                a, b = (int(x.split(":")[0]) * 60 + int(x.split(":")[1]) for x in (cal.start, cal.end))
                lo = np.arange(24) * 60
                weights = np.clip(np.minimum(lo + 60, b) - np.maximum(lo, a), 0, 60) / 60.0
                ratio = 0.0 if off_day_ratio is None else off_day_ratio
            elif profile == "24h":
                weights = np.ones(24)
                ratio = 1.0 if off_day_ratio is None else off_day_ratio
            else:
                raise _problem(where, f"unknown `profile` {profile!r}: use one of {', '.join(map(repr, PROFILES))} or a list of 24 hourly weights.")
        else:
            weights = np.asarray(profile, dtype=float)
            ratio = 0.0 if off_day_ratio is None else off_day_ratio
            if weights.shape != (24,) or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
                raise _problem(where, f"a custom `profile` must be 24 non-negative hourly weights (00:00 … 23:00) with a positive sum, got {profile!r}.")
        if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio >= 0):
            raise _problem(where, f"`off_day_ratio` must be a number >= 0, got {off_day_ratio!r}.")
        if channel_shares is None:
            names, shares = ("all",), np.array([1.0])
        else:
            names = tuple(str(k) for k in channel_shares)
            shares = np.array([float(v) for v in channel_shares.values()], dtype=float)
            if not names or not np.all(np.isfinite(shares)) or np.any(shares < 0) or shares.sum() <= 0:
                raise _problem(where, f"`channel_shares` must map channel names to non-negative weights with a positive sum, got {dict(channel_shares)!r}.")
            shares = shares / shares.sum()
        day = volume * weights / weights.sum()
        week = np.array([day if d in cal.workdays else ratio * day for d in range(7)])
        rates = shares[:, None, None] * week[None]
        return cls(rates, names, holiday_as, calendar=calendar)

    # ------------------------------------------------------------ derived models
    def scaled(self, factor: float) -> "LeadInflow":
        """The same profile with every rate multiplied by ``factor`` (e.g. 2.0: marketing doubles the leads).

        The fit diagnostics describe the data, not the scaled model, and are not carried over.

        >>> float(LeadInflow.from_daily(10).scaled(1.5).daily[0])
        15.0
        """
        try:
            f = float(factor)
        except (TypeError, ValueError):
            f = math.nan
        if not (math.isfinite(f) and f >= 0):
            raise _problem("LeadInflow.scaled", f"the factor must be a number >= 0 (1.0 keeps the inflow, 2.0 doubles it), got {factor!r}.")
        return LeadInflow(self.rates * f, self.channels, self.holiday_as, calendar=self.calendar, window=self.window, n_observed=self.n_observed,
                          growth_per_year=self.growth_per_year, growth_origin=self.growth_origin)

    def with_trend(self, growth_per_year: float | None = None, origin=None) -> "LeadInflow":
        """The same profile growing (or shrinking) ``growth_per_year`` × a year from ``origin``.

        Without arguments: the log-linear trend the fit measured (``fit_summary_["trend"]``),
        projected forward, so a growing inflow keeps growing after the window. ``1.0`` is flat.

        >>> flat = LeadInflow.from_daily(10)
        >>> up = flat.with_trend(4.0, "2026-01-05")
        >>> round(up.expected("2026-07-06", "2026-07-13") / flat.expected("2026-07-06", "2026-07-13"), 1)  # half a year on: × 2
        2.0
        """
        if growth_per_year is None:
            tr = (self.fit_summary_ or {}).get("trend")
            if not tr or "origin" not in tr:
                raise _problem("LeadInflow.with_trend", "this inflow has no fitted trend (it was not fitted on data, or the window is under three weeks); give growth_per_year and origin.")
            growth_per_year, origin = tr["per_year"], tr["origin"]
        return replace(self, growth_per_year=growth_per_year, growth_origin=origin if growth_per_year != 1.0 else None)

    # ---------------------------------------------------------------- use
    def _hour_rates(self, grid: _Grid) -> np.ndarray:
        """Expected leads per channel in each hour of the grid, shape (channels, hours)."""
        lam = self.rates.reshape(len(self.channels), 168)[:, grid.cell] * grid.cover[None, :]
        if self.growth_per_year != 1.0:
            lam = lam * self._growth(grid)[None, :]
        return lam

    def _growth(self, grid: _Grid) -> np.ndarray:
        """The trend's multiplier at the middle of each hour of the grid."""
        mid = grid.h0 + (np.arange(len(grid.cover), dtype=np.float64) + 0.5) * _HOUR_NS
        origin = _stamp_ns(self.growth_origin, self.calendar, "LeadInflow", "growth_origin")
        years = (mid - origin) / (365.25 * 24 * _HOUR_NS)
        return np.exp(math.log(self.growth_per_year) * years)

    def expected(self, start, end, calendar: WorkCalendar | None = None, by_channel: bool = False):
        """Expected number of leads in ``[start, end)``: the rates summed over its hours (partial hours pro rata).

        With ``by_channel`` a Series per channel instead of the total.
        """
        cal = self._cal(calendar)
        s, e = _window("LeadInflow.expected", start, end, cal)
        grid = _grid(s, e, cal, self.holiday_as)
        if self.growth_per_year != 1.0:
            per = self._hour_rates(grid).sum(axis=1)
        else:
            per = (self.rates * grid.exposure()[None]).sum(axis=(1, 2))
        if by_channel:
            return pd.Series(per, index=pd.Index(self.channels, name="channel"), name="expected")
        return float(per.sum())

    def sample(
        self,
        start,
        end,
        rng: np.random.Generator,
        calendar: WorkCalendar | None = None,
        volume: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One realisation of the arrivals in ``[start, end)``.

        Returns ``(minutes, channel)``: arrival times in minutes since ``start``
        (float64, ascending) and channel codes (int64 indices into ``channels``).
        Every (hour, channel) gets a Poisson count with mean ``volume × rate ×
        covered fraction of the hour``, the arrivals are uniform over the covered
        part of the hour: the exact NHPP for piecewise-constant rates. Only
        ``rng`` supplies randomness (first all counts, then all uniforms).
        """
        where = "LeadInflow.sample"
        if not isinstance(rng, np.random.Generator):
            raise _problem(where, f"`rng` must be a numpy.random.Generator (numpy.random.default_rng(seed)), got {type(rng).__name__}.")
        try:
            v = float(volume)
        except (TypeError, ValueError):
            v = math.nan
        if not (math.isfinite(v) and v >= 0):
            raise _problem(where, f"`volume` multiplies the rates and must be a number >= 0, got {volume!r}.")
        cal = self._cal(calendar)
        s, e = _window(where, start, end, cal)
        grid = _grid(s, e, cal, self.holiday_as)
        lam = self._hour_rates(grid) * v  # (channels, hours)
        counts = rng.poisson(lam)
        n_ch, n_h = counts.shape
        flat = counts.ravel()
        hour = np.repeat(np.tile(np.arange(n_h), n_ch), flat)
        channel = np.repeat(np.repeat(np.arange(n_ch, dtype=np.int64), n_h), flat)
        # covered part of each hour, in minutes since start
        first = np.maximum(grid.h0 + np.arange(n_h, dtype=np.int64) * _HOUR_NS, s)
        offset = (first - s) / 60e9
        width = grid.cover * 60.0
        minutes = offset[hour] + rng.random(hour.size) * width[hour]
        order = np.argsort(minutes, kind="stable")
        return minutes[order], channel[order]

    # ------------------------------------------------------------ diagnostics
    def diagnostics(self) -> pd.DataFrame:
        """The fit diagnostics (a copy of ``diagnostics_``); see :data:`DIAGNOSTIC_COLUMNS`.

        Sections: ``weekday`` (profile: holidays as ``holiday_as``), ``hour``,
        ``hour_working``, ``hour_off``, ``day_type`` (working / off), ``channel``,
        ``month``. ``days`` is the number of days a row covers (for an hour row:
        the days that contributed that hour), ``ratio`` observed / fitted with
        the exact Poisson 95% CI, ``share`` the row's share of the section's
        observed leads with a Wilson 95% CI.
        """
        if self.diagnostics_ is None:
            raise _problem("LeadInflow.diagnostics", "this inflow was not fitted on data (it was set in the parameters or scaled), so it has no fit diagnostics. "
                                                     "Fit it with LeadInflow.fit(leads, ...) or check it against data with .diagnose(leads, ...).")
        return self.diagnostics_.copy()

    def diagnose(self, leads: pd.DataFrame, start=None, end=None, calendar: WorkCalendar | None = None) -> tuple[pd.DataFrame, dict]:
        """Check this model against leads it was *not* fitted on: ``(diagnostics, summary)``.

        The same table and summary as a fit, but observed counts are compared with
        this model's expectations: the weekday × hour goodness of fit is a plain
        Pearson test (no parameter estimated), the dispersion and monthly tests
        keep all their degrees of freedom.
        """
        where = "LeadInflow.diagnose"
        cal = self._cal(calendar)
        t_ns, chan, n_missing = _lead_arrays(leads, cal, where)
        if len(t_ns) == 0:
            raise _problem(where, "none of the leads has a `created_at` time.")
        day_ns = 24 * _HOUR_NS
        s = (int(t_ns.min()) // day_ns) * day_ns if start is None else _stamp_ns(start, cal, where, "start")
        e = (int(t_ns.max()) // day_ns + 1) * day_ns if end is None else _stamp_ns(end, cal, where, "end")
        if e <= s:
            raise _problem(where, f"the window must end after it starts, got start={_ts(s)} and end={_ts(e)}.")
        grid = _grid(s, e, cal, self.holiday_as)
        inside = grid.inside(t_ns)
        if not inside.any():
            raise _problem(where, f"no lead arrived in the window [{_ts(s)}, {_ts(e)}); the leads run from {_ts(int(t_ns.min()))} to {_ts(int(t_ns.max()))}.")
        diag, summary = self._diagnose(t_ns[inside], chan[inside], grid, in_sample=False)
        summary.update({"n_outside_window": int((~inside).sum()), "n_missing_time": n_missing})
        return diag, summary

    def _diagnose(self, t_ns: np.ndarray, chan: np.ndarray, grid: _Grid, in_sample: bool) -> tuple[pd.DataFrame, dict]:
        """Observed leads (inside the grid's window) against this model on that window."""
        idx = grid.locate(t_ns)
        lam_c = self._hour_rates(grid)  # (channels, hours)
        lam = lam_c.sum(axis=0)
        exposure = grid.exposure()
        n = len(t_ns)
        nh = len(grid.cover)

        def hours_by(attr: np.ndarray, size: int, mask: np.ndarray | None = None):
            m = np.ones(nh, dtype=bool) if mask is None else mask
            obs = np.bincount(attr[idx][m[idx]], minlength=size)
            fit = np.bincount(attr[m], weights=lam[m], minlength=size)
            cov = np.bincount(attr[m], weights=grid.cover[m], minlength=size)
            return obs, fit, cov

        parts = []
        # weekday profile (daily volume)
        obs, fit, cov = hours_by(grid.profile, 7)
        parts.append(_section("weekday", WEEKDAYS, cov / 24, obs, fit))
        # hour of day: all days, working days, days off
        obs, fit, cov = hours_by(grid.hod, 24)
        hkeys = [f"{h:02d}" for h in range(24)]
        parts.append(_section("hour", hkeys, cov, obs, fit))
        for name, mask in (("hour_working", grid.working), ("hour_off", ~grid.working)):
            if mask.any():
                obs, fit, cov = hours_by(grid.hod, 24, mask)
                parts.append(_section(name, hkeys, cov, obs, fit))
        # day type
        dtype_code = np.where(grid.working, 0, 1)
        obs, fit, cov = hours_by(dtype_code, 2)
        keep = cov > 0
        parts.append(_section("day_type", np.array(["working", "off"])[keep], (cov / 24)[keep], obs[keep], fit[keep]))
        # channel (observed channels the model does not know get fitted 0)
        chan_s = chan.astype(str)
        if self.channels == ("all",):  # a model without channels: compare totals
            chan_s = np.full(len(chan_s), "all", dtype=object).astype(str)
        extra = sorted(set(chan_s) - set(self.channels))
        all_ch = list(self.channels) + extra
        code = pd.Index(all_ch).get_indexer(chan_s)
        obs_c = np.bincount(code, minlength=len(all_ch))
        fit_c = np.concatenate([(self.rates * exposure[None]).sum(axis=(1, 2)), np.zeros(len(extra))])
        total_days = grid.cover.sum() / 24
        parts.append(_section("channel", all_ch, np.full(len(all_ch), total_days), obs_c, fit_c))
        # month
        month = grid.day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        m0 = int(month.min())
        mcode = month - m0
        nm = int(mcode.max()) + 1
        obs_m, fit_m, cov_m = hours_by(mcode, nm)
        mkeys = [str(np.datetime64(m0 + i, "M")) for i in range(nm)]
        parts.append(_section("month", mkeys, cov_m / 24, obs_m, fit_m))
        diag = pd.concat(parts, ignore_index=True)[list(DIAGNOSTIC_COLUMNS)]

        # ---- summary
        summary: dict[str, Any] = {
            "in_sample": in_sample,
            "window_start": _ts(grid.start_ns),
            "window_end": _ts(grid.end_ns),
            "days": float(grid.cover.sum() / 24),
            "n": int(n),
            "expected": float(lam.sum()),
            "channels": list(self.channels),
        }
        dt = diag[diag["section"] == "day_type"].set_index("key")
        for key, label in (("working", "leads_per_working_day"), ("off", "leads_per_off_day")):
            summary[label] = float(dt.loc[key, "fitted_per_day"]) if key in dt.index else math.nan
            summary[label.replace("leads_", "observed_")] = float(dt.loc[key, "observed_per_day"]) if key in dt.index else math.nan
        summary["channel_shares"] = {c: float(v) for c, v in zip(all_ch, obs_c / max(n, 1))}
        summary["dispersion"] = self._dispersion(grid, idx, lam, in_sample)
        # monthly volume against the flat level
        ok = fit_m > 0
        chi2_m = float(((obs_m[ok] - fit_m[ok]) ** 2 / fit_m[ok]).sum())
        df_m = int(ok.sum()) - (1 if in_sample else 0)
        summary["monthly"] = {"chi2": chi2_m, "df": df_m, "p_value": float(_st.chi2.sf(chi2_m, df_m)) if df_m > 0 else math.nan, "months": int(ok.sum())}
        # weekly log-linear trend against the flat model
        week = (grid.day + 3) // 7  # Monday-aligned week number
        w0 = int(week.min())
        wcode = week - w0
        nw = int(wcode.max()) + 1
        y_w = np.bincount(wcode[idx], minlength=nw).astype(float)
        e_w = np.bincount(wcode, weights=lam, minlength=nw)
        trend = _poisson_trend(y_w, e_w, np.arange(nw))
        # (a slope of next to nothing puts the crossing centuries away, beyond any timestamp: no origin then)
        if trend is not None and trend["per_week"] != 0 and abs(trend["level"] / trend["per_week"]) < 5000:
            # the moment the trend line crosses the flat model (multiplier 1): the trend's origin
            t_one = trend["t_mean"] - trend["level"] / trend["per_week"]
            day = 7.0 * (w0 + t_one) - 3.0 + 3.5  # a week index counts from its Monday; its value is its middle
            trend["origin"] = _ts(int(round(day * 86400e9)))
        summary["trend"] = trend
        # weekday × hour profile
        cell = grid.cell
        x_cell = np.bincount(cell[idx], minlength=168).astype(float)
        if in_sample:
            half = week % 2
            x = np.vstack([np.bincount(cell[idx][half[idx] == h], minlength=168) for h in (0, 1)]).astype(float)
            e = np.vstack([np.bincount(cell[half == h], weights=grid.cover[half == h], minlength=168) for h in (0, 1)])
            summary["profile_gof"] = _homogeneity(x, e) if (e.sum(axis=1) > 0).all() else None
        else:
            e_cell = np.bincount(cell, weights=lam, minlength=168)
            chi2, g = _pearson_pooled(x_cell, e_cell)
            summary["profile_gof"] = {
                "method": "Pearson goodness of fit against the model's expected counts",
                "chi2": chi2,
                "df": g,
                "p_value": float(_st.chi2.sf(chi2, g)),
                "cells": 168,
                "pooled_cells": g,
                "level_ratio": float(n / lam.sum()) if lam.sum() > 0 else math.nan,
            }
        table = np.bincount(code * 168 + cell[idx], minlength=len(all_ch) * 168).reshape(len(all_ch), 168)
        summary["channel_independence"] = _independence(table)
        return diag, summary

    def _dispersion(self, grid: _Grid, idx: np.ndarray, lam: np.ndarray, in_sample: bool) -> dict | None:
        """Pearson dispersion of whole-day totals against the model's daily expectation."""
        dday = grid.day - grid.day[0]
        nd = int(dday[-1]) + 1
        cover = np.bincount(dday, weights=grid.cover, minlength=nd)
        full = np.isclose(cover, 24.0)
        obs = np.bincount(dday[idx], minlength=nd).astype(float)
        exp = np.bincount(dday, weights=lam, minlength=nd)
        prof = grid.profile[np.searchsorted(dday, np.arange(nd))]
        use = full & (exp > 0)
        if use.sum() < 2:
            return None
        x2 = float(((obs[use] - exp[use]) ** 2 / exp[use]).sum())
        if np.any(full & (exp == 0) & (obs > 0)):  # leads on a day the model rules out
            x2 = math.inf
        profiles = np.unique(prof[use])
        df = int(use.sum()) - (len(profiles) if in_sample else 0)
        by = {}
        for d in profiles:  # at most 7
            o = obs[use & (prof == d)]
            by[WEEKDAYS[d]] = {
                "days": int(o.size),
                "mean": float(o.mean()),
                "var": float(o.var(ddof=1)) if o.size > 1 else math.nan,
                "index": float(o.var(ddof=1) / o.mean()) if o.size > 1 and o.mean() > 0 else math.nan,
            }
        return {
            "index": x2 / df if df > 0 else math.nan,
            "chi2": x2,
            "df": df,
            "p_value": float(_st.chi2.sf(x2, df)) if df > 0 else math.nan,
            "days": int(use.sum()),
            "by_weekday": by,
        }

    # ------------------------------------------------------------ parameters
    def as_dict(self) -> dict:
        """A plain, YAML-able mapping: ``channels``, ``holiday_as``, ``rates`` (channel → 7 rows Mon..Sun of 24 hourly rates), ``calendar``, ``window``, ``n_observed``.

        The fit diagnostics are not included (they describe the data, not the parameters).
        """
        return {
            "channels": list(self.channels),
            "holiday_as": self.holiday_as,
            "rates": {c: self.rates[i].tolist() for i, c in enumerate(self.channels)},
            "calendar": _calendar_dict(self.calendar),
            "window": [str(self.window[0]), str(self.window[1])] if self.window is not None else None,
            "n_observed": self.n_observed,
            "growth_per_year": self.growth_per_year,
            "growth_origin": str(self.growth_origin) if self.growth_origin is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "lead inflow parameters") -> "LeadInflow":
        """Inverse of :meth:`as_dict` (``calendar``, ``window``, ``n_observed`` and ``channels`` optional).

        ``source`` names the file or key in error messages.
        """
        if not isinstance(data, Mapping):
            raise _problem(source, f"must be a mapping with a `rates` key, got {type(data).__name__}.")
        allowed = ["channels", "holiday_as", "rates", "calendar", "window", "n_observed", "growth_per_year", "growth_origin"]
        unknown = set(data) - set(allowed)
        if unknown:
            from ..errors import closest

            first = sorted(unknown)[0]
            raise _problem(source, f"unknown key {first!r}.{closest(first, allowed)} Allowed: {', '.join(allowed)}.")
        rates = data.get("rates")
        if not isinstance(rates, Mapping) or not rates:
            raise _problem(source, "`rates` must map each channel name to 7 rows (Monday … Sunday) of 24 hourly rates (leads per hour).")
        channels = tuple(data.get("channels") or rates)
        missing = [c for c in channels if c not in rates]
        if missing or set(rates) - set(channels):
            raise _problem(source, f"`channels` ({list(channels)}) and the keys of `rates` ({list(rates)}) must name the same channels.")
        try:
            arr = np.array([np.asarray(rates[c], dtype=float) for c in channels])
        except (TypeError, ValueError):
            raise _problem(source, "`rates` must hold numbers only: per channel 7 rows of 24 leads-per-hour values.") from None
        if arr.shape[1:] != (7, 24):
            raise _problem(source, f"each channel's `rates` must be 7 rows (Monday … Sunday) of 24 hourly values, got shape {arr.shape[1:]}.")
        cal = data.get("calendar")
        try:
            calendar = WorkCalendar(**cal) if cal else None
        except (TypeError, ValueError) as exc:
            raise _problem(source, f"`calendar` must hold timezone, workdays (0..6), start, end ('HH:MM') and holidays (dates): {exc}.") from None
        window = data.get("window")
        try:
            window = (pd.Timestamp(window[0]), pd.Timestamp(window[1])) if window else None
        except (TypeError, ValueError, IndexError):
            raise _problem(source, f"`window` must be two moments [start, end], got {window!r}.") from None
        n_obs = data.get("n_observed")
        try:
            return cls(arr, channels, data.get("holiday_as", 6), calendar=calendar, window=window, n_observed=None if n_obs is None else int(n_obs),
                       growth_per_year=data.get("growth_per_year", 1.0), growth_origin=data.get("growth_origin"))
        except ParameterError as exc:
            raise _problem(source, " ".join(exc.problems)) from None
