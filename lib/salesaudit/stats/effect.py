"""Effect sizes with intervals, and the one rule that turns a comparison into a flag.

With thousands of deals every tiny difference between a manager and the team is "significant";
a flag must also say that the difference is big enough to matter. Every comparison of a manager
with the team states its size with an interval:

* a rate (conversion, share of breaches, share answered in time): the difference in percentage
  points, :func:`rate_difference` (Newcombe's hybrid score interval, method 10 of Newcombe 1998);
* a duration (time in a stage, time to respond): the ratio of the medians and their difference,
  :func:`median_ratio`, from each median's Brookmeyer–Crowley interval (:func:`km_median_ci`)
  combined on the log scale;

and :func:`judge` flags it only when the test is significant after multiplicity correction *and*
the effect passes the practical threshold of the run config's ``analysis:`` settings. The verdicts
are codes (:data:`VERDICTS`); the report layer words them.

>>> d, lo, hi = rate_difference(56, 70, 48, 80)
>>> round(d, 4), round(lo, 4), round(hi, 4)
(0.2, 0.0524, 0.3339)
"""
from __future__ import annotations

import numpy as np

from . import _check_alpha, _km_core, _z, kaplan_meier, wilson

__all__ = ["rate_difference", "km_median_ci", "median_ratio", "judge", "VERDICTS"]

#: what :func:`judge` returns for one comparison
VERDICTS = {
    "worse": "significant after correction and at least the practical threshold, in the bad direction",
    "better": "significant after correction and at least the practical threshold, in the good direction",
    "small": "significant after correction, but smaller than the practical threshold: not flagged",
    "same": "not significant after correction",
    "not_judged": "too few cases to judge",
}


def rate_difference(k1, n1, k0, n0, alpha: float = 0.05):
    """``p1 - p0`` with Newcombe's hybrid score interval (no continuity correction).

    ``k1/n1`` is the manager's rate, ``k0/n0`` the team's (without the manager). The interval
    combines each rate's Wilson interval (Newcombe 1998, method 10): it keeps its coverage with few
    cases and rates near 0 or 1, where the Wald interval does not. Returns ``(difference, low,
    high)``, NaN where either ``n`` is 0. Scalars in, floats out; arrays broadcast.

    Newcombe's worked examples (Statistics in Medicine 17:873-890, Table II, method 10):

    >>> [tuple(round(x, 4) for x in rate_difference(*c)) for c in [(9, 10, 3, 10), (5, 56, 0, 29), (0, 10, 0, 10), (10, 10, 0, 10)]]
    [(0.6, 0.1705, 0.809), (0.0893, -0.0381, 0.1926), (0.0, -0.2775, 0.2775), (1.0, 0.6075, 1.0)]
    """
    alpha = _check_alpha(alpha)
    scalar = all(np.ndim(x) == 0 for x in (k1, n1, k0, n0))
    k1, n1, k0, n0 = (np.asarray(x, dtype=float) for x in (k1, n1, k0, n0))
    k1, n1, k0, n0 = np.broadcast_arrays(k1, n1, k0, n0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.where(n1 > 0, k1 / np.where(n1 > 0, n1, 1), np.nan)
        p0 = np.where(n0 > 0, k0 / np.where(n0 > 0, n0, 1), np.nan)
    l1, u1 = (np.asarray(x, dtype=float) for x in wilson(k1, n1, alpha))
    l0, u0 = (np.asarray(x, dtype=float) for x in wilson(k0, n0, alpha))
    d = p1 - p0
    lo = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    if scalar:
        return float(d), float(lo), float(hi)
    return d, lo, hi


def km_median_ci(durations, observed, alpha: float = 0.05) -> tuple[float, float, float]:
    """The Kaplan–Meier median with its Brookmeyer–Crowley interval: ``(median, low, high)``.

    The interval is the set of times whose survival interval (:func:`kaplan_meier`'s log-log one)
    contains 0.5: ``low`` is the first time the lower survival bound reaches 0.5, ``high`` the first
    time the upper bound does. NaN where the curve (or a bound) never gets that low: too many deals
    still open to know.

    >>> km_median_ci([2, 3, 3, 5, 8], [True, True, False, True, False])
    (5.0, 2.0, nan)
    """
    alpha = _check_alpha(alpha)
    times, surv = _km_core(durations, observed)
    if times.size == 0:
        return float("nan"), float("nan"), float("nan")
    tab = kaplan_meier(durations, observed, alpha)
    t = tab["time"].to_numpy()
    med_hit = np.flatnonzero(surv <= 0.5 + 1e-10)
    median = float(times[med_hit[0]]) if med_hit.size else float("nan")
    low_hit = np.flatnonzero(tab["ci_low"].to_numpy() <= 0.5 + 1e-10)
    high_hit = np.flatnonzero(tab["ci_high"].to_numpy() <= 0.5 + 1e-10)
    low = float(t[low_hit[0]]) if low_hit.size else float("nan")
    high = float(t[high_hit[0]]) if high_hit.size else float("nan")
    return median, low, high


def median_ratio(m1: float, lo1: float, hi1: float, m0: float, lo0: float, hi0: float, alpha: float = 0.05):
    """The ratio ``m1 / m0`` of two medians with an interval, from each median's interval.

    Each median's standard error on the log scale is read off its interval,
    ``(log(high) - log(low)) / (2 z)``, and the two are combined as independent:
    ``exp(log(m1/m0) ± z * sqrt(se1² + se0²))``. Where a median's upper limit is unknown (the
    curve's bound never reaches 0.5), its lower half-width is used for both sides. Returns
    ``(ratio, low, high)``; NaN when a median is unknown or not positive.

    >>> r, lo, hi = median_ratio(10.0, 8.0, 12.5, 5.0, 4.5, 5.5)
    >>> round(r, 3), round(lo, 3), round(hi, 3)
    (2.0, 1.566, 2.554)
    """
    z = _z(_check_alpha(alpha))

    def se(m, lo, hi):
        if not (m > 0) or not np.isfinite(m):
            return float("nan")
        parts = []
        if lo > 0 and np.isfinite(lo):
            parts.append(np.log(m) - np.log(lo))
        if hi > 0 and np.isfinite(hi):
            parts.append(np.log(hi) - np.log(m))
        return float(np.mean(parts)) / z if parts else float("nan")

    if not (m1 > 0 and m0 > 0) or not (np.isfinite(m1) and np.isfinite(m0)):
        return float("nan"), float("nan"), float("nan")
    s = np.sqrt(se(m1, lo1, hi1) ** 2 + se(m0, lo0, hi0) ** 2)
    r = m1 / m0
    if not np.isfinite(s):
        return float(r), float("nan"), float("nan")
    return float(r), float(r * np.exp(-z * s)), float(r * np.exp(z * s))


def judge(p_adjusted, effect, *, alpha: float, threshold: float, judgeable=True, higher_is_worse: bool = False,
          ratio: bool = False, extra=None, extra_threshold: float | None = None) -> np.ndarray:
    """One verdict per comparison (:data:`VERDICTS`): a flag needs significance *and* size.

    ``p_adjusted``: p-values after the multiplicity correction; ``effect``: the effect in the unit
    of ``threshold``: a difference (percentage points as fractions, 0.05 = 5 p.p., for rates), or
    with ``ratio=True`` a ratio (of medians, for durations), where ``threshold`` is such as 1.25 and
    a ratio at or below ``1 / threshold`` is as big in the other direction. ``extra`` / ``extra_threshold``: a second
    size both directions must also reach (for durations: the absolute difference of the medians,
    e.g. one working hour). ``higher_is_worse`` says which direction is ``worse`` (a longer stay,
    a higher share of breaches); otherwise lower is worse (a lower conversion).

    >>> judge([0.001, 0.001, 0.3, 0.001, np.nan], [-0.12, -0.02, -0.2, 0.08, np.nan], alpha=0.05, threshold=0.05,
    ...       judgeable=[True, True, True, True, False]).tolist()
    ['worse', 'small', 'same', 'better', 'not_judged']
    >>> judge([1e-6, 1e-6, 1e-6], [1.5, 1.5, 0.5], alpha=0.05, threshold=1.25, ratio=True, higher_is_worse=True,
    ...       extra=[0.5, 3.0, -3.0], extra_threshold=1.0).tolist()
    ['small', 'worse', 'better']
    """
    p = np.asarray(p_adjusted, dtype=float)
    e = np.asarray(effect, dtype=float)
    p, e = np.broadcast_arrays(p, e)
    ok = np.broadcast_to(np.asarray(judgeable, dtype=bool), p.shape)
    if ratio:
        up, down = e >= threshold, e <= 1.0 / threshold
    else:
        up, down = e >= threshold, e <= -threshold
    big = up | down
    if extra is not None and extra_threshold is not None:
        x = np.broadcast_to(np.abs(np.asarray(extra, dtype=float)), p.shape)
        big = big & (x >= extra_threshold)
    sig = p < alpha
    worse_dir = up if higher_is_worse else down
    out = np.where(~ok | np.isnan(p) | np.isnan(e), "not_judged",
                   np.where(~sig, "same", np.where(~big, "small", np.where(worse_dir, "worse", "better"))))
    return out.astype(object)
