"""Estimators behind the audit's numbers: proportions, funnel limits, tests, survival.

A sales audit compares rates and durations, and a CRM export makes both easy to
get wrong: a stage conversion of 3/4 is not "75 %", an open deal has not yet
taken "as long as it has been open", and among twenty managers one looks bad at
the 5 % level by chance alone. The functions here are the statistically correct
building blocks the analyses (``funnel``, ``stalls``) use:

* proportions: :func:`wilson` (score confidence interval), :func:`binomial_limits`
  (funnel-plot control limits, Spiegelhalter 2005), :func:`binomial_pvalue`
  (exact two-sided binomial test);
* multiple comparisons: :func:`holm` (family-wise error) and
  :func:`benjamini_hochberg` (false discovery rate);
* durations with open (right-censored) deals: :func:`kaplan_meier`,
  :func:`km_quantile`, :func:`km_quantiles`, :func:`km_survival_at` and the
  two-sample :func:`logrank` test;
* competing outcomes (won *or* lost, open = censored):
  :func:`cumulative_incidence` (Aalen–Johansen) and :func:`cif_at`.

Conventions shared by every function:

* inputs may be scalars, lists, numpy arrays or pandas Series; arguments
  broadcast against each other like numpy arrays;
* a result that is a number per input element is a Python ``float`` when every
  input is a scalar and a numpy array otherwise;
* NaN in, NaN out: a NaN count or probability gives NaN; survival functions
  drop observations whose duration or status is missing;
* impossible inputs (``k > n``, a negative duration, ``alpha`` outside (0, 1))
  raise :class:`ValueError`: they are bugs, not data;
* everything is deterministic.

>>> lo, hi = wilson(3, 4)
>>> round(lo, 4), round(hi, 4)
(0.3006, 0.9544)
>>> km_quantile([2, 3, 3, 5, 8], [True, True, False, True, False], 0.5)
5.0
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

__all__ = [
    "wilson",
    "binomial_limits",
    "binomial_pvalue",
    "holm",
    "benjamini_hochberg",
    "kaplan_meier",
    "km_quantile",
    "km_quantiles",
    "km_survival_at",
    "cumulative_incidence",
    "cif_at",
    "cif_at_each",
    "logrank",
    "KM_COLUMNS",
]

#: Columns of the :func:`kaplan_meier` table, in order.
KM_COLUMNS: tuple[str, ...] = ("time", "at_risk", "events", "censored", "survival", "ci_low", "ci_high")

# KM survival is a product of floats: S = 0.5 may come out as 0.5000000000000001.
# Quantiles compare S with 1 - q up to this absolute tolerance.
_QUANTILE_TOL = 1e-10


# --------------------------------------------------------------------------- helpers


def _all_scalar(*args: Any) -> bool:
    return all(np.ndim(a) == 0 for a in args)


def _out(x: np.ndarray, scalar: bool):
    """A Python float for scalar inputs, a float ndarray otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if scalar else x


def _as_float(x: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric (got {np.asarray(x).dtype}): {exc}") from None


def _check_alpha(alpha: float) -> float:
    if np.ndim(alpha) != 0:
        raise ValueError(f"alpha must be a single number in (0, 1), got {alpha!r}")
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return alpha


def _z(alpha: float) -> float:
    """The two-sided normal critical value z_{1 - alpha/2}."""
    return float(_st.norm.ppf(1.0 - alpha / 2.0))


def _survival_input(durations: Any, observed: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validated 1-d (durations, observed) with missing rows dropped."""
    d = _as_float(durations, "durations").ravel()
    o = np.asarray(observed)
    if o.ndim == 0:
        o = np.full(d.shape, o.item(), dtype=o.dtype)
    o = o.ravel()
    if o.shape != d.shape:
        raise ValueError(f"durations and observed differ in length: {d.size} vs {o.size}")
    if o.dtype == bool:
        missing = np.zeros(o.shape, dtype=bool)
        ob = o
    else:
        missing = np.asarray(pd.isna(o), dtype=bool)
        try:
            vals = o[~missing].astype(float)
        except (TypeError, ValueError):
            raise ValueError("observed must hold booleans (True = the event happened, False = censored)") from None
        if not np.isin(vals, (0.0, 1.0)).all():
            raise ValueError("observed must hold booleans or 0/1 (True = the event happened, False = censored)")
        ob = np.zeros(o.shape, dtype=bool)
        ob[~missing] = vals == 1.0
    keep = ~(np.isnan(d) | missing)
    d, ob = d[keep], ob[keep]
    if np.isinf(d).any():
        raise ValueError("durations must be finite")
    if (d < 0).any():
        raise ValueError(f"durations must be >= 0, got {d[d < 0][:5].tolist()}")
    return d, ob


def _risk_table(d: np.ndarray, o: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times with at-risk, event and censoring counts (censored at t are at risk at t)."""
    times, inv = np.unique(d, return_inverse=True)
    total = np.bincount(inv, minlength=times.size)
    events = np.bincount(inv, weights=o.astype(float), minlength=times.size).round().astype(np.int64)
    at_risk = d.size - (np.cumsum(total) - total)
    return times, at_risk.astype(np.int64), events, (total - events).astype(np.int64)


def _km_fit(d: np.ndarray, o: np.ndarray):
    """scipy's nonparametric estimate for right-censored data."""
    return _st.ecdf(_st.CensoredData(uncensored=d[o], right=d[~o]))


def _km_core(durations: Any, observed: Any) -> tuple[np.ndarray, np.ndarray]:
    """(distinct times, KM survival at those times)."""
    d, o = _survival_input(durations, observed)
    if d.size == 0:
        return np.empty(0), np.empty(0)
    times = np.unique(d)
    if not o.any():
        return times, np.ones(times.size)
    return times, np.asarray(_km_fit(d, o).sf.evaluate(times), dtype=float)


def _step_at(times: np.ndarray, values: np.ndarray, t: Any, before: float):
    """Right-continuous step function through (times, values), ``before`` left of the first time."""
    scalar = np.ndim(t) == 0
    tt = _as_float(t, "t")
    if times.size == 0:
        return _out(np.full(tt.shape, np.nan), scalar)
    idx = np.searchsorted(times, tt, side="right") - 1
    res = np.where(idx >= 0, values[np.clip(idx, 0, None)], before)
    res = np.where(np.isnan(tt), np.nan, res)
    return _out(res, scalar)


# --------------------------------------------------------------------------- proportions


def wilson(k, n, alpha: float = 0.05):
    """Wilson score interval for ``k`` successes in ``n`` trials.

    The interval inverts the score test: all p with ``|k/n - p| <= z sqrt(p(1-p)/n)``.
    Unlike the Wald interval it never leaves [0, 1] and keeps close to nominal
    coverage for small ``n`` and rates near 0 or 1 (Newcombe 1998, method 3).

    ``k`` and ``n`` broadcast; ``n == 0`` or NaN gives ``(nan, nan)``. ``k`` may
    be fractional (weighted counts) but must lie in ``[0, n]``. Returns
    ``(low, high)``: Python floats for scalar inputs, arrays otherwise.

    >>> lo, hi = wilson(81, 263)
    >>> round(lo, 4), round(hi, 4)
    (0.2553, 0.3662)
    >>> lo, hi = wilson([0, 15, 0], [20, 148, 0])
    >>> lo.round(4), hi.round(4)
    (array([0.    , 0.0624,    nan]), array([0.1611, 0.1605,    nan]))
    """
    alpha = _check_alpha(alpha)
    scalar = _all_scalar(k, n)
    k, n = np.broadcast_arrays(_as_float(k, "k"), _as_float(n, "n"))
    with np.errstate(invalid="ignore"):
        if np.any(n < 0) or np.any(k < 0) or np.any(k > n):
            raise ValueError("wilson needs 0 <= k <= n")
    z = _z(alpha)
    valid = np.isfinite(k) & np.isfinite(n) & (n > 0)
    nn = np.where(valid, n, 1.0)
    kk = np.where(valid, k, 0.0)
    p = kk / nn
    z2n = z * z / nn
    center = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * np.sqrt(p * (1.0 - p) / nn + z2n / (4.0 * nn)) / (1.0 + z2n)
    lo = np.where(kk == 0, 0.0, np.clip(center - half, 0.0, 1.0))
    hi = np.where(kk == nn, 1.0, np.clip(center + half, 0.0, 1.0))
    lo = np.where(valid, lo, np.nan)
    hi = np.where(valid, hi, np.nan)
    return _out(lo, scalar), _out(hi, scalar)


def _spiegelhalter_limit(q: float, n: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """The q-quantile of Binomial(n, p0) interpolated (Spiegelhalter 2005, A.1.1), as a count.

    r = smallest count with F(r) >= q; a = (F(r) - q) / (F(r) - F(r-1)); limit = r - a.
    n: integers >= 1, p0 strictly inside (0, 1).
    """
    r = _st.binom.ppf(q, n, p0)
    f_r = _st.binom.cdf(r, n, p0)
    f_r1 = _st.binom.cdf(r - 1, n, p0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.clip((f_r - q) / (f_r - f_r1), 0.0, 1.0)
    return r - a


def binomial_limits(p0, n, alpha: float = 0.05):
    """Funnel-plot control limits for a proportion with target ``p0`` at sample size ``n``.

    The limits are the ``alpha/2`` and ``1 - alpha/2`` quantiles of
    Binomial(n, p0), divided by ``n``, with Spiegelhalter's continuity
    interpolation (Spiegelhalter 2005, "Funnel plots for comparing institutional
    performance", Appendix A.1.1): with r the exact quantile (smallest count with
    ``F(r) >= q``) and ``a = (F(r) - q) / (F(r) - F(r - 1))``, the limit is
    ``(r - a) / n``. This is the exact q-quantile of the continuous variable
    ``X - U`` (U uniform on [0, 1)), so the limits move smoothly with ``n``
    instead of jumping by whole counts. They are clipped to [0, 1].

    ``p0`` and ``n`` broadcast. ``n == 0`` (or below 1) or NaN gives NaN. For a
    non-integer ``n`` (a plotting grid) the limits are interpolated linearly
    between ``floor(n)`` and ``ceil(n)``. ``p0 == 0`` or ``1`` gives degenerate
    limits ``(p0, p0)``. Returns ``(low, high)``: floats for scalar inputs, arrays
    otherwise.

    Use the limits to *draw* a funnel, and :func:`binomial_pvalue` to *decide*.
    Because ``X - U`` has mean ``n p0 - 1/2``, the band sits half a count below
    a symmetric one, and the upper limit lies in ``(r - 1, r]`` counts: an
    observed count of exactly r plots above the upper line although its exact
    one-sided p-value is above ``alpha / 2``. So the share of in-control units
    outside the 95 % limits exceeds 5 % for small ``n``: at most about 6 % for
    ``n >= 700`` and ``0.05 <= p0 <= 0.95``, but 10.6 % at ``n = 100`` and
    37 % at ``p0 = 0.95, n = 20`` (k = 20 happens 36 % of the time and lies
    above the upper line at 0.9965). For ``p0`` within about ``alpha / (2n)`` of
    1 the upper limit even falls below ``p0``. The lower limit has no such
    effect: a count below it has exact lower-tail probability below ``alpha / 2``.

    >>> lo, hi = binomial_limits(0.5, 100)
    >>> round(lo, 4), round(hi, 4)
    (0.3968, 0.5932)
    >>> lo, hi = binomial_limits(0.2, [10, 100, 1000, 0])
    >>> lo.round(4), hi.round(4)
    (array([0.    , 0.1197, 0.175 ,    nan]), array([0.4295, 0.2765, 0.2246,    nan]))
    """
    alpha = _check_alpha(alpha)
    scalar = _all_scalar(p0, n)
    p0, n = np.broadcast_arrays(_as_float(p0, "p0"), _as_float(n, "n"))
    with np.errstate(invalid="ignore"):
        if np.any((p0 < 0) | (p0 > 1)):
            raise ValueError("p0 must be a probability in [0, 1]")
        if np.any(n < 0):
            raise ValueError("n must be >= 0")
    valid = np.isfinite(p0) & np.isfinite(n) & (n >= 1)
    lo = np.full(p0.shape, np.nan)
    hi = np.full(p0.shape, np.nan)
    degenerate = valid & ((p0 == 0) | (p0 == 1))
    lo[degenerate] = hi[degenerate] = p0[degenerate]
    inner = valid & ~degenerate
    if inner.any():
        pi, ni = p0[inner], n[inner]
        n_lo, n_hi = np.floor(ni), np.ceil(ni)
        w = ni - n_lo  # 0 for whole n
        between = w > 0  # only there does ceil(n) differ from floor(n)
        for q, target in ((alpha / 2.0, lo), (1.0 - alpha / 2.0, hi)):
            at_lo = np.clip(_spiegelhalter_limit(q, n_lo, pi) / n_lo, 0.0, 1.0)
            at_hi = at_lo.copy()
            if between.any():
                at_hi[between] = np.clip(_spiegelhalter_limit(q, n_hi[between], pi[between]) / n_hi[between], 0.0, 1.0)
            target[inner] = (1.0 - w) * at_lo + w * at_hi
    return _out(lo, scalar), _out(hi, scalar)


def binomial_pvalue(k, n, p0):
    """Two-sided exact binomial test p-value of ``k`` successes in ``n`` trials against ``p0``.

    The same number as ``scipy.stats.binomtest(k, n, p0).pvalue``: the total
    probability, under Binomial(n, p0), of every outcome no more likely than the
    one observed. ``k``, ``n`` and ``p0`` broadcast; ``k`` and ``n`` must be
    whole numbers with ``0 <= k <= n`` (floats such as 7.0 are fine). NaN where
    ``n == 0`` or any input is NaN. A float for scalar inputs, an array otherwise.

    >>> binomial_pvalue(0, 10, 0.5)
    0.001953125
    >>> binomial_pvalue([7, 3, 0], [10, 10, 0], 0.5).round(4)
    array([0.3438, 0.3438,    nan])
    """
    scalar = _all_scalar(k, n, p0)
    k, n, p0 = np.broadcast_arrays(_as_float(k, "k"), _as_float(n, "n"), _as_float(p0, "p0"))
    valid = np.isfinite(k) & np.isfinite(n) & np.isfinite(p0) & (n > 0)
    kv, nv, pv = k[valid], n[valid], p0[valid]
    if np.any(kv != np.round(kv)) or np.any(nv != np.round(nv)):
        raise ValueError("binomial_pvalue needs whole-number k and n")
    if np.any(kv < 0) or np.any(kv > nv) or np.any(n[np.isfinite(n)] < 0):
        raise ValueError("binomial_pvalue needs 0 <= k <= n")
    if np.any((pv < 0) | (pv > 1)):
        raise ValueError("p0 must be a probability in [0, 1]")
    out = np.full(k.shape, np.nan)
    out[valid] = _binomtest_pvalues(kv, nv, pv)
    return _out(out, scalar)


def _binomtest_pvalues(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``scipy.stats.binomtest(k, n, p).pvalue`` (two-sided) of every row, the same numbers, all rows at once.

    scipy's steps, each on every row at once: the probability d of the observed count, then a
    binary search on the other side of the mode for the last count no more likely than d (relative
    tolerance 1e-7), then the two tails. The same calls of ``scipy.stats.binom`` on the same
    arguments give the same floats; a loop of ``binomtest`` takes about half a millisecond a row.
    ``k``, ``n``: whole numbers, ``0 <= k <= n``, ``n >= 1``; ``p`` in [0, 1].
    """
    binom = _st.binom
    d = binom.pmf(k, n, p)
    rerr = 1 + 1e-7
    pn = p * n
    out = np.ones(k.shape)  # k == p n: 1
    low = np.flatnonzero(k < pn)  # the other tail lies above the mode
    if low.size:
        kl, nl, pl, dl = k[low], n[low], p[low], d[low]
        ix = _search_binom(lambda x, i: -binom.pmf(x, nl[i], pl[i]), -dl * rerr, np.ceil(pn[low]), nl.copy())
        y = nl - ix + (dl * rerr == binom.pmf(ix, nl, pl))
        out[low] = binom.cdf(kl, nl, pl) + binom.sf(nl - y, nl, pl)
    high = np.flatnonzero(k > pn)  # below
    if high.size:
        kh, nh, ph, dh = k[high], n[high], p[high], d[high]
        ix = _search_binom(lambda x, i: binom.pmf(x, nh[i], ph[i]), dh * rerr, np.zeros(high.size), np.floor(pn[high]))
        out[high] = binom.cdf(ix, nh, ph) + binom.sf(kh - 1, nh, ph)
    return np.where(out < 1.0, out, 1.0)  # min(1.0, p) as scipy takes it


def _search_binom(a, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """scipy's ``_binary_search_for_binom_tst`` on every row at once: the i in [lo, hi] with a(i) <= d < a(i + 1).

    ``a(x, rows)`` gives the (ascending) function at x for those rows; ``lo`` and ``hi`` are updated in place.
    """
    out = np.empty(d.shape)
    done = np.zeros(d.shape, dtype=bool)
    while True:
        rows = np.flatnonzero(~done & (lo < hi))
        if not rows.size:
            break
        mid = lo[rows] + (hi[rows] - lo[rows]) // 2
        value = a(mid, rows)
        below, above = value < d[rows], value > d[rows]
        lo[rows] = np.where(below, mid + 1, lo[rows])
        hi[rows] = np.where(above, mid - 1, hi[rows])
        hit = ~(below | above)
        out[rows[hit]] = mid[hit]
        done[rows[hit]] = True
    rows = np.flatnonzero(~done)
    out[rows] = np.where(a(lo[rows], rows) <= d[rows], lo[rows], lo[rows] - 1)
    return out


# --------------------------------------------------------------------------- multiple comparisons


def _adjust(pvalues: Any, method: str) -> np.ndarray:
    p = _as_float(pvalues, "pvalues")
    out = np.full(p.shape, np.nan)
    flat = p.ravel()
    mask = ~np.isnan(flat)
    v = flat[mask]
    if np.any((v < 0) | (v > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = v.size
    if m == 0:
        return out
    order = np.argsort(v, kind="stable")
    sv = v[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * sv)
    else:  # Benjamini-Hochberg step-up
        adj = np.minimum.accumulate((sv * m / np.arange(1, m + 1))[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    flat_out = out.ravel()
    flat_out[mask] = res
    return flat_out.reshape(p.shape)


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (family-wise error rate, any dependence).

    Sorted ascending, the i-th smallest of m p-values (i = 1..m) becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``; reject where adjusted < alpha.
    NaNs are not counted in m and stay NaN. Returns an array of the input's shape.

    >>> holm([0.01, 0.04, 0.03, 0.005])
    array([0.03, 0.06, 0.06, 0.02])
    >>> holm([0.01, np.nan, 0.04])
    array([0.02,  nan, 0.04])
    """
    return _adjust(pvalues, "holm")


def benjamini_hochberg(pvalues) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (false discovery rate, independent or PRDS tests).

    Sorted ascending, the i-th smallest becomes ``min_{j >= i} min(1, p_(j) m / j)``
    (the same numbers as ``scipy.stats.false_discovery_control(p, method="bh")``).
    NaNs are not counted in m and stay NaN. Returns an array of the input's shape.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    array([0.02, 0.04, 0.04, 0.02])
    """
    return _adjust(pvalues, "bh")


# --------------------------------------------------------------------------- Kaplan-Meier


def kaplan_meier(durations, observed, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier survival table for right-censored durations (open deals are censored).

    ``durations``: times >= 0 (any unit); ``observed``: True where the event
    happened (deal closed, stage left), False where the observation is censored
    (still open at the cut-off). Rows with a NaN duration or a missing status are
    ignored.

    One row per distinct time (event or censoring), sorted: ``time``,
    ``at_risk`` (durations >= time: a deal censored at t still counts at t),
    ``events``, ``censored``, ``survival`` = S(time) (right-continuous: the drop
    at an event time is included) and the pointwise ``1 - alpha`` confidence
    interval ``ci_low``, ``ci_high``. S comes from ``scipy.stats.ecdf`` on
    ``CensoredData``; the interval is scipy's ``"log-log"`` one (Greenwood
    variance on the ``log(-log S)`` scale, Kalbfleisch & Prentice), which stays
    in [0, 1]. It is undefined, hence NaN, where S is exactly 1 (before the
    first event) or 0 (after the last one), as in R's
    ``survfit(conf.type = "log-log")``. Empty input gives an empty table with
    these columns.

    >>> tab = kaplan_meier([2, 3, 3, 5, 8], [True, True, False, True, False])
    >>> print(tab.round(4).to_string(index=False))
     time  at_risk  events  censored  survival  ci_low  ci_high
      2.0        5       1         0       0.8  0.2038   0.9692
      3.0        4       1         1       0.6  0.1257   0.8818
      5.0        2       1         0       0.3  0.0123   0.7192
      8.0        1       0         1       0.3  0.0123   0.7192
    """
    alpha = _check_alpha(alpha)
    d, o = _survival_input(durations, observed)
    if d.size == 0:
        return pd.DataFrame(
            {
                "time": np.empty(0, dtype=float),
                "at_risk": np.empty(0, dtype=np.int64),
                "events": np.empty(0, dtype=np.int64),
                "censored": np.empty(0, dtype=np.int64),
                "survival": np.empty(0, dtype=float),
                "ci_low": np.empty(0, dtype=float),
                "ci_high": np.empty(0, dtype=float),
            }
        )
    times, at_risk, events, censored = _risk_table(d, o)
    if o.any():
        sf = _km_fit(d, o).sf
        survival = np.asarray(sf.evaluate(times), dtype=float)
        with warnings.catch_warnings():
            # scipy warns that the log-log CI is undefined where S is 0 or 1; we document it.
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = sf.confidence_interval(confidence_level=1.0 - alpha, method="log-log")
            low = np.asarray(ci.low.evaluate(times), dtype=float)
            high = np.asarray(ci.high.evaluate(times), dtype=float)
        undefined = (survival >= 1.0) | (survival <= 0.0)
        low[undefined] = np.nan
        high[undefined] = np.nan
    else:
        survival = np.ones(times.size)
        low = np.full(times.size, np.nan)
        high = np.full(times.size, np.nan)
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk,
            "events": events,
            "censored": censored,
            "survival": survival,
            "ci_low": low,
            "ci_high": high,
        }
    )


def km_quantile(durations, observed, q: float) -> float:
    """The q-quantile of the duration from Kaplan–Meier: the smallest t with S(t) <= 1 - q.

    ``q = 0.5`` is the median, ``q = 0.8`` the time by which 80 % have had the
    event. NaN when the curve never gets that low (too many open deals: the
    quantile is not yet known, only that it is beyond the longest follow-up) or
    when there is no data. ``S(t) <= 1 - q`` is tested with an absolute
    tolerance of 1e-10, so a KM step landing exactly on 1 - q counts despite
    floating-point rounding. No averaging with the next event time is done (R's
    ``survfit`` median averages when S equals 0.5 exactly on an interval).

    >>> km_quantile([2, 3, 3, 5, 8], [True, True, False, True, False], 0.5)
    5.0
    >>> km_quantile([2, 3, 3, 5, 8], [True, True, False, True, False], 0.8)
    nan
    """
    return km_quantiles(durations, observed, (q,))[q]


def km_quantiles(durations, observed, qs: Iterable[float] = (0.5, 0.8, 0.9)) -> dict:
    """Several Kaplan–Meier quantiles at once (see :func:`km_quantile`): ``{q: time}``.

    >>> km_quantiles([1, 2, 3, 4], [True, True, True, True], (0.25, 0.5, 0.9))
    {0.25: 1.0, 0.5: 2.0, 0.9: 4.0}
    """
    qs = list(qs)
    for q in qs:
        if np.ndim(q) != 0:
            raise ValueError(f"each q must be a single number, got {q!r}")
        if not np.isnan(q) and not 0.0 < float(q) <= 1.0:
            raise ValueError(f"q must be in (0, 1], got {q!r}")
    times, surv = _km_core(durations, observed)
    out: dict = {}
    for q in qs:
        if np.isnan(q) or times.size == 0:
            out[q] = float("nan")
            continue
        hit = np.flatnonzero(surv <= 1.0 - float(q) + _QUANTILE_TOL)
        out[q] = float(times[hit[0]]) if hit.size else float("nan")
    return out


def km_survival_at(durations, observed, t):
    """Kaplan–Meier S(t): the share still without the event after time ``t``.

    A right-continuous step function: 1 before the first event, the drop at an
    event time included at that time, flat after the last time. ``t`` may be a
    scalar (gives a float) or an array (gives an array); NaN ``t`` or empty data
    gives NaN.

    >>> d, o = [2, 3, 3, 5, 8], [True, True, False, True, False]
    >>> [round(km_survival_at(d, o, t), 4) for t in (1.9, 2, 100)]
    [1.0, 0.8, 0.3]
    >>> km_survival_at(d, o, [0, 3, 4.5]).round(2)
    array([1. , 0.6, 0.6])
    """
    times, surv = _km_core(durations, observed)
    return _step_at(times, surv, t, before=1.0)


# --------------------------------------------------------------------------- competing risks


def cumulative_incidence(durations, events, causes: Sequence = ("won", "lost")) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of each competing outcome (e.g. won vs lost).

    ``events`` holds a label per deal; a label in ``causes`` is that outcome at
    ``durations``, anything else (``"open"``, ``None``, NaN) is censored there.
    Rows with a NaN duration are ignored.

    With n_j at risk at distinct time t_j, d_cj events of cause c and d_j of any
    cause, and S the Kaplan–Meier curve of *any* event:

    * ``CIF_c(t) = sum_{t_j <= t} S(t_{j-1}) d_cj / n_j`` — the probability of
      ending in c by t. Unlike ``1 - KM`` with the other causes censored, it does
      not pretend a lost deal could still be won; ``sum_c CIF_c(t) + S(t) = 1``.
    * variance: the delta-method (Greenwood-type) estimator of Marubini &
      Valsecchi (1995), PROC LIFETEST ``ERROR=DELTA``, Collett (2015, sec. 12.2)::

        Var CIF_c(t) = sum_{t_j <= t} [CIF_c(t) - CIF_c(t_j)]^2 d_j / (n_j (n_j - d_j))
                     + sum_{t_j <= t} S(t_{j-1})^2 d_cj (n_j - d_cj) / n_j^3
                     - 2 sum_{t_j <= t} [CIF_c(t) - CIF_c(t_j)] S(t_{j-1}) d_cj / n_j^2

      (the first term is 0 where n_j = d_j, since then CIF_c(t) = CIF_c(t_j));
    * ``ci_low_c``, ``ci_high_c``: the linear 95 % pointwise interval
      ``CIF_c ± 1.96 SE``, clipped to [0, 1].

    Columns: ``time, at_risk``, then per cause c ``events_c, cif_c, ci_low_c,
    ci_high_c``, then ``survival`` (KM of any event). One row per distinct time
    (events and censorings), sorted.

    >>> days = [1, 2, 2, 3, 3, 4, 5]
    >>> outcome = ["won", "lost", "won", "open", "won", "lost", None]
    >>> tab = cumulative_incidence(days, outcome)
    >>> print(tab[["time", "at_risk", "events_won", "cif_won", "cif_lost", "survival"]].round(4).to_string(index=False))
     time  at_risk  events_won  cif_won  cif_lost  survival
      1.0        7           1   0.1429    0.0000    0.8571
      2.0        6           1   0.2857    0.1429    0.5714
      3.0        4           1   0.4286    0.1429    0.4286
      4.0        2           0   0.4286    0.3571    0.2143
      5.0        1           0   0.4286    0.3571    0.2143
    """
    causes = tuple(causes)
    if not causes:
        raise ValueError("causes must name at least one outcome")
    if len(set(causes)) != len(causes):
        raise ValueError(f"causes must be distinct, got {causes!r}")
    if any(pd.isna(c) for c in causes):
        raise ValueError("a cause cannot be missing (None/NaN): missing labels mean censored")
    d = _as_float(durations, "durations").ravel()
    labels = pd.Series(np.asarray(events, dtype=object).ravel(), dtype=object)
    if labels.size != d.size:
        raise ValueError(f"durations and events differ in length: {d.size} vs {labels.size}")
    keep = ~np.isnan(d)
    d = d[keep]
    labels = labels[keep]
    if np.isinf(d).any():
        raise ValueError("durations must be finite")
    if (d < 0).any():
        raise ValueError(f"durations must be >= 0, got {d[d < 0][:5].tolist()}")
    is_cause = {c: labels.isin([c]).to_numpy() for c in causes}
    any_event = np.zeros(d.size, dtype=bool)
    for m in is_cause.values():
        any_event |= m
    times, at_risk, d_all, _ = _risk_table(d, any_event)
    cols: dict[str, np.ndarray] = {"time": times, "at_risk": at_risk}
    n = at_risk.astype(float)
    da = d_all.astype(float)
    surv = np.cumprod(1.0 - da / n) if times.size else np.empty(0)
    s_prev = np.concatenate(([1.0], surv[:-1])) if times.size else np.empty(0)
    # First-term weight d_j / (n_j (n_j - d_j)); where n_j == d_j nothing follows and the
    # bracket [CIF(t) - CIF(t_j)] is 0 for every t >= t_j, so the term is 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        w1 = np.where(n > da, da / (n * (n - da)), 0.0)
    z = _z(0.05)
    inv = np.searchsorted(times, d)
    for c in causes:
        dc = np.bincount(inv, weights=is_cause[c].astype(float), minlength=times.size)
        f = np.cumsum(s_prev * dc / n) if times.size else np.empty(0)
        var = _cif_delta_variance(f, w1, s_prev, dc, n)
        se = np.sqrt(var)
        cols[f"events_{c}"] = dc.round().astype(np.int64)
        cols[f"cif_{c}"] = f
        cols[f"ci_low_{c}"] = np.clip(f - z * se, 0.0, 1.0)
        cols[f"ci_high_{c}"] = np.clip(f + z * se, 0.0, 1.0)
    cols["survival"] = surv
    return pd.DataFrame(cols)


def _cif_delta_variance(f: np.ndarray, w1: np.ndarray, s_prev: np.ndarray, dc: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Delta-method variance of the CIF at every row, by cumulative sums (O(rows)).

    Expands sum_{j<=i} (F_i - F_j)^2 w1_j = F_i^2 C0 - 2 F_i C1 + C2 (and likewise the
    cross term), so each row needs running sums only. Clipped at 0 against rounding.
    """
    if f.size == 0:
        return np.empty(0)
    c0 = np.cumsum(w1)
    c1 = np.cumsum(f * w1)
    c2 = np.cumsum(f * f * w1)
    b = np.cumsum(s_prev**2 * dc * (n - dc) / n**3)
    g = s_prev * dc / n**2
    e0 = np.cumsum(g)
    e1 = np.cumsum(f * g)
    var = (f * f * c0 - 2.0 * f * c1 + c2) + b - 2.0 * (f * e0 - e1)
    return np.clip(var, 0.0, None)


def cif_at(table: pd.DataFrame, cause, t):
    """Read a cumulative incidence off a :func:`cumulative_incidence` table at time ``t``.

    A right-continuous step: 0 before the first time, the last value after the
    last time (the curve is only known up to the longest follow-up; check
    ``table["time"].max()`` before reading far beyond it). ``t`` may be a scalar
    (gives a float) or an array; NaN ``t`` or an empty table gives NaN.

    >>> tab = cumulative_incidence([1, 2, 2, 3], ["won", "lost", "won", "open"])
    >>> cif_at(tab, "won", 0.5), cif_at(tab, "won", 2), cif_at(tab, "lost", 10)
    (0.0, 0.5, 0.25)
    """
    col = f"cif_{cause}"
    if col not in table.columns:
        known = [c[4:] for c in table.columns if c.startswith("cif_")]
        raise KeyError(f"no cause {cause!r} in the cumulative incidence table (causes: {known})")
    times = table["time"].to_numpy(dtype=float)
    values = table[col].to_numpy(dtype=float)
    return _step_at(times, values, t, before=0.0)


def cif_at_each(durations, cause, competing, codes, k: int, times) -> np.ndarray:
    """:func:`cif_at` of each group's :func:`cumulative_incidence` of ``cause``, at each of ``times``, all groups at once.

    ``durations``: each subject's time (NaN: left out); ``cause``, ``competing``: boolean arrays, the subject
    ended by the cause or by the competing outcome (neither: censored); ``codes``: each subject's group,
    0 … ``k - 1`` (-1: in none). Row j, column i is ``cif_at(cumulative_incidence(...of group j), cause, times[i])``,
    the same number (NaN for a group without a duration): the distinct times, the subjects at risk, the events
    and the causes at each, then the products and sums over the times in order, are those
    :func:`cumulative_incidence` makes, so the floating-point operations are the same ones; only the cause's
    curve is made, without its variance and table, and the subjects are grouped by one sort of their codes
    (the funnel's cohort table: every cohort's wins by 30, 60 and 90 days).

    >>> cif_at_each([1, 2, 2, 3, 5], [1, 0, 1, 0, 1], [0, 1, 0, 0, 0], [0, 0, 0, 0, 1], 2, [2, 10]).tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    days = np.asarray(durations, dtype=float)
    codes = np.asarray(codes, dtype=np.int64)
    times = np.asarray(times, dtype=float)
    out = np.full((k, len(times)), np.nan)
    kind = np.where(np.asarray(cause, dtype=bool), 2, np.asarray(competing, dtype=bool)).astype(np.int8)  # 2 cause, 1 competing, 0 censored
    shifted = (codes + 1).astype(np.min_scalar_type(k))  # small non-negative ints: a radix sort
    by_group = np.argsort(shifted, kind="stable")
    bounds = np.cumsum(np.bincount(shifted, minlength=k + 1))  # group j: by_group[bounds[j]:bounds[j + 1]]
    for j in range(k):
        idx = by_group[bounds[j]:bounds[j + 1]]
        t = days[idx]
        known = ~np.isnan(t)
        if not known.all():
            t, idx = t[known], idx[known]
        if not t.size:
            continue
        by_time = np.argsort(t)
        t, kk = t[by_time], kind[idx[by_time]]
        first = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])  # the first subject of each distinct time
        at_risk = (t.size - first).astype(float)  # subjects with a duration >= the time
        events = np.add.reduceat((kk > 0).astype(float), first)
        hits = np.add.reduceat((kk == 2).astype(float), first)
        surv = np.cumprod(1.0 - events / at_risk)
        cif = np.cumsum(np.concatenate(([1.0], surv[:-1])) * hits / at_risk)
        at = np.searchsorted(t[first], times, side="right") - 1  # as cif_at reads the curve: 0 before the first time
        out[j] = np.where(at >= 0, cif[np.clip(at, 0, None)], 0.0)
    return out


# --------------------------------------------------------------------------- log-rank


def logrank(durations_a, observed_a, durations_b, observed_b) -> tuple[float, float]:
    """Two-sample log-rank test: ``(chi-square statistic with 1 df, p-value)``.

    At every distinct event time of the pooled sample, the observed events in
    group a are compared with those expected if both groups shared one hazard
    (hypergeometric mean and variance, ties handled as in Mantel 1966); the
    statistic is ``(O_a - E_a)^2 / V``. The same as ``scipy.stats.logrank``
    (whose statistic is the signed square root). ``(nan, nan)`` if either
    group is empty or there are no events. Rows with a NaN duration or status
    are ignored.

    >>> chi2, p = logrank([1, 2, 3, 4], [True] * 4, [5, 6, 7, 8], [True, True, True, False])
    >>> round(chi2, 4), round(p, 4)
    (7.3444, 0.0067)
    """
    da, oa = _survival_input(durations_a, observed_a)
    db, ob = _survival_input(durations_b, observed_b)
    nan = (float("nan"), float("nan"))
    if da.size == 0 or db.size == 0:
        return nan
    ev = np.unique(np.concatenate((da[oa], db[ob])))
    if ev.size == 0:
        return nan
    sa, sb = np.sort(da), np.sort(db)
    ea, eb = np.sort(da[oa]), np.sort(db[ob])
    n_a = (sa.size - np.searchsorted(sa, ev, side="left")).astype(float)
    n_b = (sb.size - np.searchsorted(sb, ev, side="left")).astype(float)
    d_a = (np.searchsorted(ea, ev, side="right") - np.searchsorted(ea, ev, side="left")).astype(float)
    d_b = (np.searchsorted(eb, ev, side="right") - np.searchsorted(eb, ev, side="left")).astype(float)
    n = n_a + n_b
    d = d_a + d_b
    expected_a = d * n_a / n
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, n_a * n_b * d * (n - d) / (n * n * (n - 1.0)), 0.0)
    var = float(v.sum())
    if not var > 0:
        return nan
    stat = float((d_a.sum() - expected_a.sum()) ** 2 / var)
    return stat, float(_st.chi2.sf(stat, 1))


def rate_above_tolerance(k, n, tolerance: float, judgeable, alpha: float = 0.05):
    """Which groups exceed a tolerated rate: one-sided exact binomial test, Holm over the judgeable ones.

    ``p = P(X >= k)`` for ``X ~ Binomial(n, tolerance)`` (``scipy.stats.binomtest(k, n,
    tolerance, alternative="greater")``); returns ``(p, p_adjusted, flag)`` arrays, ``flag`` where
    the group is judgeable and its Holm-adjusted p is below ``alpha``. Used for process breaches
    (skipped stages, policy exceptions) where a few stray cases are tolerated.

    >>> p, adj, flag = rate_above_tolerance([0, 24, 1], [70, 62, 60], 0.02, [True, True, True])
    >>> flag.tolist(), round(float(p[2]), 3)
    ([False, True, False], 0.702)
    """
    from scipy.stats import binom

    kk = np.asarray(k, dtype="float64")
    nn = np.asarray(n, dtype="float64")
    p = np.where(nn > 0, binom.sf(kk - 1, np.maximum(nn, 1), tolerance), np.nan)
    adj = np.full(len(p), np.nan)
    tested = np.asarray(judgeable, dtype=bool) & np.isfinite(p)
    if tested.any():
        adj[tested] = np.asarray(holm(p[tested]), dtype="float64")
    flag = tested & (adj < alpha)
    return p, adj, flag
