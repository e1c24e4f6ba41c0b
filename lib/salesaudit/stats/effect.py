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

from functools import lru_cache

import numpy as np

from . import _check_alpha, _km_core, _z, kaplan_meier, wilson

__all__ = ["rate_difference", "km_median_ci", "median_ratio", "median_ratios", "judge", "VERDICTS", "km_median_ci_each", "km_quantiles_each", "compare_with_rest", "fisher_p"]

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


@lru_cache(maxsize=1 << 16)
def _fisher_table(a: int, b: int, c: int, d: int) -> float:
    from scipy.stats import fisher_exact

    return float(fisher_exact([[a, b], [c, d]]).pvalue)


def fisher_p(k1, n1, k0, n0) -> float:
    """Fisher's exact two-sided p-value of ``k1`` of ``n1`` against ``k0`` of ``n0`` (``scipy.stats.fisher_exact``).

    The p-value of a 2×2 table is remembered: the comparisons of every manager with the rest of the
    team meet the same tables again and again (each pass of a robust baseline, each analysis of a
    run), and a large table costs milliseconds.

    >>> round(fisher_p(8, 10, 1, 6), 6)
    0.034965
    """
    return _fisher_table(int(k1), int(n1 - k1), int(k0), int(n0 - k0))


def median_ratio(m1: float, lo1: float, hi1: float, m0: float, lo0: float, hi0: float, alpha: float = 0.05):
    """The ratio ``m1 / m0`` of two medians with an interval, from each median's interval.

    Each median's standard error on the log scale is read off its interval,
    ``(log(high) - log(low)) / (2 z)``, and the two are combined as independent:
    ``exp(log(m1/m0) ± z * sqrt(se1² + se0²))``. Where a median's upper limit is unknown (the
    curve's bound never reaches 0.5), its lower half-width is used for both sides. Returns
    ``(ratio, low, high)``; NaN when a median is unknown or not positive. Many pairs at once:
    :func:`median_ratios`.

    >>> r, lo, hi = median_ratio(10.0, 8.0, 12.5, 5.0, 4.5, 5.5)
    >>> round(r, 3), round(lo, 3), round(hi, 3)
    (2.0, 1.566, 2.554)
    """
    return tuple(float(x) for x in median_ratios(m1, lo1, hi1, m0, lo0, hi0, alpha=alpha))


def median_ratios(m1, lo1, hi1, m0, lo0, hi0, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`median_ratio` of arrays of medians and their bounds, element by element: ``(ratio, low, high)`` as arrays.

    >>> [x.round(3).tolist() for x in median_ratios([10.0, 3.0], [8.0, np.nan], [12.5, 4.0], [5.0, 0.0], [4.5, 0.0], [5.5, 1.0])]
    [[2.0, nan], [1.566, nan], [2.554, nan]]
    """
    z = _z(_check_alpha(alpha))
    m1, lo1, hi1, m0, lo0, hi0 = np.broadcast_arrays(*(np.asarray(x, dtype="float64") for x in (m1, lo1, hi1, m0, lo0, hi0)))

    def se(m, lo, hi):
        # the mean of the half-widths known, on the log scale (the mean of two is their sum over two, as np.mean has it)
        with np.errstate(divide="ignore", invalid="ignore"):
            low_w, high_w = np.log(m) - np.log(lo), np.log(hi) - np.log(m)
        has_lo, has_hi = (lo > 0) & np.isfinite(lo), (hi > 0) & np.isfinite(hi)
        mean = np.where(has_lo & has_hi, (low_w + high_w) / 2, np.where(has_lo, low_w, np.where(has_hi, high_w, np.nan)))
        return np.where((m > 0) & np.isfinite(m), mean / z, np.nan)

    def squared(x):  # as Python floats (C's pow, which numpy's square does not always match to the last bit), as median_ratio always had it
        return np.array([v ** 2 for v in x.ravel().tolist()], dtype="float64").reshape(x.shape)

    known = (m1 > 0) & (m0 > 0) & np.isfinite(m1) & np.isfinite(m0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(squared(se(m1, lo1, hi1)) + squared(se(m0, lo0, hi0)))
        r = m1 / m0
        low, high = r * np.exp(-z * s), r * np.exp(z * s)
    nan = np.full(r.shape, np.nan)
    sure = known & np.isfinite(s)
    return np.where(known, r, nan), np.where(sure, low, nan), np.where(sure, high, nan)


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


# --------------------------------------------------------------------------- many groups at once
#
# The functions below give, for every group of a sample, the numbers the one-group functions above
# (and :func:`salesaudit.stats.km_quantiles`, :func:`salesaudit.stats.logrank`) give for that group,
# to the last bit, from one sort of the sample instead of one pass over it per group: a department
# of 400 sellers and 170,000 leads compares each seller with the rest of the team in a second
# rather than a minute. They compute what ``scipy.stats.ecdf`` computes (the estimate behind
# :func:`salesaudit.stats.kaplan_meier`), in the same floating-point operations and order, and a
# test checks them against the one-group functions on random samples with ties and censoring.

#: the tolerance of :func:`km_median_ci`'s comparisons with one half
_HALF = 0.5 + 1e-10
#: at most this many cells (groups × grid times) are held at once by :func:`compare_with_rest`
_CELLS = 1 << 20


def _valid(durations, observed, codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Durations, observed and group codes as arrays, with the rows :func:`salesaudit.stats.kaplan_meier` ignores dropped."""
    d = np.asarray(durations, dtype=float).ravel()
    o = np.asarray(observed, dtype=bool).ravel()
    c = np.asarray(codes, dtype=np.int64).ravel()
    if not (d.size == o.size == c.size):
        raise ValueError(f"durations, observed and codes differ in length: {d.size}, {o.size}, {c.size}")
    keep = ~np.isnan(d)
    if not keep.all():
        d, o, c = d[keep], o[keep], c[keep]
    if np.isinf(d).any() or (d < 0).any():
        raise ValueError("durations must be finite and >= 0")
    return d, o, c


def _z_of(alpha: float):
    """The critical value exactly as ``EmpiricalDistributionFunction.confidence_interval`` computes it."""
    from scipy import special

    level = np.asarray(1.0 - _check_alpha(alpha))[()]
    return special.ndtri(1 / 2 + level / 2)


def _km_sorted(d: np.ndarray, o: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(times, at_risk, events, survival)`` of durations sorted ascending: ``scipy.stats.ecdf``'s numbers.

    scipy's estimate on ``CensoredData`` is ``S = cumprod((n - d) / n)`` over the distinct times;
    without censoring it is one minus the empirical distribution function, ``1 - cumsum(d) / N``.
    """
    n = d.size
    distinct = np.diff(d, prepend=-np.inf, append=np.inf) > 0
    first = np.flatnonzero(distinct[:-1])
    times = d[first]
    at_risk = n - first
    events = np.diff(np.cumsum(o)[distinct[1:]], prepend=0)
    if o.all():
        surv = 1 - np.cumsum(events) / n
    else:
        surv = np.cumprod((at_risk - events) / at_risk)
    return times, at_risk, events, surv


def _loglog(surv: np.ndarray, at_risk: np.ndarray, events: np.ndarray, z) -> tuple[np.ndarray, np.ndarray]:
    """scipy's log-log interval of S (Greenwood's sum on the ``log(-log S)`` scale, clipped to [0, 1]); NaN where S is 1 or 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        var = 1 / np.log(surv) ** 2 * np.cumsum(events / (at_risk * (at_risk - events)), axis=-1)
        se = np.sqrt(var)
        lnl = np.log(-np.log(surv))
        z_se = z * se
        low = np.clip(np.exp(-np.exp(lnl + z_se)), 0, 1)
        high = np.clip(np.exp(-np.exp(lnl - z_se)), 0, 1)
    undefined = (surv >= 1.0) | (surv <= 0.0)
    low[undefined] = np.nan
    high[undefined] = np.nan
    return low, high


def _first(times: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Per row of ``hit`` (last axis: ``times``), the first time it is true; NaN where it never is."""
    any_ = hit.any(axis=-1)
    at = np.argmax(hit, axis=-1)
    return np.where(any_, times[at], np.nan)


def _by_group(d: np.ndarray, c: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorted by group and, within a group, by duration; and where each group's run starts (``bounds[j]:bounds[j + 1]``)."""
    by_value = np.argsort(d, kind="stable")
    order = by_value[np.argsort(c[by_value], kind="stable")]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(c[c >= 0], minlength=k))])
    return order[len(order) - bounds[-1]:], bounds


def km_median_ci_each(durations, observed, codes, k: int, alpha: float = 0.05) -> np.ndarray:
    """Row ``j`` of the ``(k, 3)`` result is :func:`km_median_ci` of the durations of group ``j``.

    ``codes``: each duration's group, ``0 … k-1`` (``-1``: in no group). One sort for all groups.

    >>> km_median_ci_each([2, 3, 3, 5, 8, 1, 4], [True, True, False, True, False, True, True], [0, 0, 0, 0, 0, 1, 1], 2).tolist()
    [[5.0, 2.0, nan], [1.0, 1.0, nan]]
    """
    d, o, c = _valid(durations, observed, codes)
    z = _z_of(alpha)
    out = np.full((k, 3), np.nan)
    order, bounds = _by_group(d, c, k)
    for j in range(k):
        pos = order[bounds[j]:bounds[j + 1]]
        if not len(pos) or not o[pos].any():
            continue
        times, at_risk, events, surv = _km_sorted(d[pos], o[pos])
        low, high = _loglog(surv, at_risk, events, z)
        out[j] = (_first(times, surv <= _HALF), _first(times, low <= _HALF), _first(times, high <= _HALF))
    return out


def km_quantiles_each(durations, observed, codes, k: int, qs=(0.5, 0.8, 0.9)) -> np.ndarray:
    """Row ``j`` of the ``(k, len(qs))`` result is :func:`salesaudit.stats.km_quantiles` of group ``j`` at ``qs`` (NaN for an empty group).

    >>> km_quantiles_each([2, 3, 3, 5, 8, 1, 4], [True, True, False, True, False, True, True], [0, 0, 0, 0, 0, 1, 1], 2, (0.5, 0.8)).tolist()
    [[5.0, nan], [1.0, 4.0]]
    """
    d, o, c = _valid(durations, observed, codes)
    qs = [float(q) for q in qs]
    out = np.full((k, len(qs)), np.nan)
    order, bounds = _by_group(d, c, k)
    for j in range(k):
        pos = order[bounds[j]:bounds[j + 1]]
        if not len(pos):
            continue
        times, _, _, surv = _km_sorted(d[pos], o[pos]) if o[pos].any() else (np.unique(d[pos]), None, None, None)
        if surv is None:
            surv = np.ones(times.size)
        out[j] = [_first(times, surv <= 1.0 - q + 1e-10) for q in qs]
    return out


def compare_with_rest(durations, observed, codes, k: int, alpha: float = 0.05) -> dict:
    """Every group against all the other durations: the others' :func:`km_median_ci` and the log-rank test.

    ``codes``: each duration's group, ``0 … k-1`` (``-1``: in no group, so among the others of every
    group). Returns arrays of length ``k``: ``rest_median``, ``rest_low``, ``rest_high`` (row ``j``:
    :func:`km_median_ci` of the durations not in group ``j``) and ``chi2``, ``p_value`` (row ``j``:
    :func:`salesaudit.stats.logrank` of group ``j`` against the others). The others' risk table is the
    whole sample's minus the group's, on the grid of the sample's event times (times without an event
    change neither the estimate nor Greenwood's sum: their factors are exactly 1 and their terms 0),
    so no group needs a pass over the others' durations; the arithmetic is the one-group functions'
    own, hence the same numbers.
    """
    from scipy.stats import chi2 as _chi2

    d, o, c = _valid(durations, observed, codes)
    z = _z_of(alpha)
    out = {key: np.full(k, np.nan) for key in ("rest_median", "rest_low", "rest_high", "chi2", "p_value")}
    if k == 0 or d.size == 0:
        return out
    ds = np.sort(d)
    ev = np.unique(d[o])
    g = ev.size
    if g == 0:
        return out
    n_all = d.size - np.searchsorted(ds, ev, side="left")  # at risk at each event time, everybody
    ends = np.sort(d[o])
    d_all = np.searchsorted(ends, ev, side="right") - np.searchsorted(ends, ev, side="left")
    size = np.bincount(c[c >= 0], minlength=k)
    cens = np.bincount(c[(c >= 0) & ~o], minlength=k)
    censored_all = int((~o).sum())
    place = np.searchsorted(ev, d, side="right")  # event times up to each duration: at risk at ev[i] <=> i < place
    order, bounds = _by_group(d, c, k)
    step = max(1, _CELLS // (g + 1))
    for j0 in range(0, k, step):
        j1 = min(k, j0 + step)
        rows = j1 - j0
        pos = order[bounds[j0]:bounds[j1]]
        row = c[pos] - j0
        cnt = np.bincount(row * (g + 1) + place[pos], minlength=rows * (g + 1)).reshape(rows, g + 1)
        n_a = np.cumsum(cnt[:, :0:-1], axis=1)[:, ::-1]  # theirs at risk at ev[i]: places > i
        ended = pos[o[pos]]
        d_a = np.bincount((c[ended] - j0) * g + place[ended] - 1, minlength=rows * g).reshape(rows, g)
        n_r, d_r = n_all - n_a, d_all - d_a  # the others'
        # the others' Kaplan-Meier median with its interval (km_median_ci)
        uncensored = (censored_all - cens[j0:j1]) == 0
        alive = n_r > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(alive, (n_r - d_r) / n_r, 1.0)
            surv = np.cumprod(factor, axis=1)
            if uncensored.any():
                left = d.size - size[j0:j1]
                surv[uncensored] = 1 - np.cumsum(d_r[uncensored], axis=1) / left[uncensored, None]
            green = np.where(alive, d_r / (n_r * (n_r - d_r)), 0.0)
            var = 1 / np.log(surv) ** 2 * np.cumsum(green, axis=1)
            lnl = np.log(-np.log(surv))
            z_se = z * np.sqrt(var)
            low = np.clip(np.exp(-np.exp(lnl + z_se)), 0, 1)
            high = np.clip(np.exp(-np.exp(lnl - z_se)), 0, 1)
        undefined = (surv >= 1.0) | (surv <= 0.0)
        low[undefined] = np.nan
        high[undefined] = np.nan
        some = (d_r > 0).any(axis=1)  # the others have an event (else km_median_ci is NaN)
        for key, values in (("rest_median", surv), ("rest_low", low), ("rest_high", high)):
            out[key][j0:j1] = np.where(some, _first(ev, values <= _HALF), np.nan)
        # the log-rank test of each group against the others (logrank)
        na, nb = n_a.astype(float), n_r.astype(float)
        da, db = d_a.astype(float), d_r.astype(float)
        n = na + nb
        dd = da + db
        expected = dd * na / n
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(n > 1, na * nb * dd * (n - dd) / (n * n * (n - 1.0)), 0.0)
        for r in range(rows):
            j = j0 + r
            if size[j] == 0 or size[j] == d.size:
                continue
            var_r = float(v[r].sum())
            if not var_r > 0:
                continue
            stat = float((da[r].sum() - expected[r].sum()) ** 2 / var_r)
            out["chi2"][j], out["p_value"][j] = stat, float(_chi2.sf(stat, 1))
    return out
