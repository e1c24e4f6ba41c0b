"""Kaplan–Meier figures of many groups at once, and of each group's rest, from one sort.

The stall analysis compares every manager in every stage with the rest of the team: his own
Kaplan–Meier median, quantiles, share over the norm and their intervals, the rest's median with
its Brookmeyer–Crowley interval, and a log-rank test, for hundreds of managers and millions of
stays. Done one manager at a time that is minutes; here it is seconds, with the same numbers to
the last bit (``tests/test_scale_equivalence.py`` checks them against scipy and
:mod:`salesaudit.stats.effect` on random tables):

* :class:`SortedKM` — one group's estimate from its durations already sorted, as scipy computes it;
  :class:`KMEach` — every group's at once, in padded matrices;
* :class:`RiskTable` — a table's risk table on the grid of its ended times, with each duration's
  place in it, so that any group's rest is the table minus the group:
  :meth:`RiskTable.median_ci_each` gives every group's rest's median and interval, by
  :class:`RestSeries` (the table's prefix sums plus a series in the group's own numbers at risk,
  in time proportional to the durations) or, for small tables and the groups the series leaves,
  by summing each rest along the grid, block by block (:func:`median_ci_rows`);
* :func:`logrank_each` — every group's log-rank test against the rest, in one pass;
* :func:`grouped_order`, :func:`order_within`, :func:`small_codes` — the sorts they share.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri as _ndtri

from . import _QUANTILE_TOL


class SortedKM:
    """The Kaplan–Meier estimate of durations already sorted ascending (``o``: ended, in the same order).

    ``times`` are the distinct durations, ``at_risk`` and ``events`` the risk table on them and
    ``surv`` S at each: the numbers of ``scipy.stats.ecdf`` on ``CensoredData`` (the fit behind
    :func:`salesaudit.stats.kaplan_meier`), computed as scipy computes them (``S = cumprod((n - d) /
    n)`` over the distinct times; all 1 when nothing ended) but without its sort, so that the stays
    of every manager of a stage are sorted once, together (without censoring scipy's S is one minus the
    empirical distribution function, and so it is here). ``n`` is the number of durations.
    """

    def __init__(self, d: np.ndarray, o: np.ndarray):
        self.n = len(d)
        distinct = np.diff(d, prepend=-np.inf, append=np.inf) > 0
        first = np.flatnonzero(distinct[:-1])
        self.times = d[first]
        self.at_risk = self.n - first
        self.events = np.diff(np.cumsum(o)[distinct[1:]], prepend=0)
        self.ended = bool(self.events.any())
        if not self.ended:
            self.surv = np.ones(len(first))
        elif o.all():  # scipy's formula without censoring: one minus the empirical distribution function
            self.surv = 1 - np.cumsum(self.events) / self.n
        else:
            self.surv = np.cumprod((self.at_risk - self.events) / self.at_risk)

    def quantile(self, q: float) -> float:
        """:func:`salesaudit.stats.km_quantile`: the first time S falls to ``1 - q`` (NaN if it never does)."""
        hit = np.flatnonzero(self.surv <= 1.0 - float(q) + _QUANTILE_TOL)
        return float(self.times[hit[0]]) if hit.size else float("nan")

    def survival_ci(self, t: float, alpha: float, n_all: int | None = None) -> tuple[float, float, float]:
        """KM S(t) with its confidence interval: the row of :func:`salesaudit.stats.kaplan_meier` at ``t``.

        The interval is scipy's log-log one (``EmpiricalDistributionFunction.confidence_interval``:
        Greenwood's sum on the ``log(-log S)`` scale, clipped to [0, 1]), its formula evaluated at
        that one time only. Where it is undefined, S exactly 1 (no stay ended by t) or 0 (all
        ended), the data are "k of n" with k = n or 0, and the exact (Clopper–Pearson) bound for
        that is (alpha/2)^(1/n): n = stays known to outlast t, resp. all stays (``n_all``: the
        durations as given, missing ones included; default ``n``).
        """
        n_all = self.n if n_all is None else n_all
        if not n_all or not np.isfinite(t):
            return (np.nan, np.nan, np.nan)
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        s = 1.0 if i < 0 else float(self.surv[i])
        if s >= 1.0:
            n = int(self.at_risk[i + 1]) if i + 1 < len(self.times) else 0  # the stays longer than t
            return (1.0, float((alpha / 2) ** (1 / n)) if n else np.nan, 1.0 if n else np.nan)
        if s <= 0.0:
            return (0.0, 0.0, float(1 - (alpha / 2) ** (1 / n_all)))
        level = np.asarray(1.0 - alpha)[()]
        z = _ndtri(1 / 2 + level / 2)
        n, d = self.at_risk[: i + 1], self.events[: i + 1]
        sf = self.surv[i:i + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            var = 1 / np.log(sf) ** 2 * np.cumsum(d / (n * (n - d)))[-1:]
            theta = np.log(-np.log(sf))
        z_se = z * np.sqrt(var)
        low, high = np.clip(np.exp(-np.exp(theta + z_se)), 0, 1), np.clip(np.exp(-np.exp(theta - z_se)), 0, 1)
        return (s, float(low[0]), float(high[0]))

    def median_ci(self, z: float, ci: bool = True) -> tuple[float, float, float]:
        """:func:`median_ci_counts` of the durations: the median with its Brookmeyer–Crowley interval."""
        ev = self.events > 0
        return median_ci_counts(self.times[ev], self.at_risk[ev], self.events[ev], z, ci=ci)


def small_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Group codes ``0 … k-1`` as 16-bit integers when they fit, which numpy's stable sort orders by radix."""
    return codes.astype(np.int16) if k < 2**15 else codes


def logrank_each(counts: "RiskTable", d: np.ndarray, codes: np.ndarray, k: int, by_group: np.ndarray | None = None) -> dict:
    """The log-rank test of every group ``0 … k-1`` (``codes``) against the others: ``n, events, expected, chi2, p_value, z``
    per group (:func:`salesaudit.analysis.stalls.logrank_one_vs_rest` is its frame), from the risk table of all the durations
    (``counts``; ``d``: ended). ``by_group``: the durations' positions sorted by group, then as in ``counts.order``, when
    the caller has them (else sorted here)."""
    from scipy.stats import chi2 as _chi2

    order_t = counts.order  # one sort of the durations serves every step below
    ev_t, d_t = counts.grid, counts.events  # = np.unique(t[d], return_counts=True)
    if len(ev_t) == 0:  # no stay has ended: nothing to compare
        nan = np.full(k, np.nan)
        return {"n": np.bincount(codes, minlength=k).astype(int), "events": np.zeros(k, dtype=int), "expected": np.zeros(k), "chi2": nan, "p_value": nan, "z": nan}
    n_t = counts.at_risk.astype("float64")
    d_t = d_t.astype("float64")
    w = np.where(n_t > 1, d_t * (n_t - d_t) / np.maximum(n_t - 1, 1), 0.0)
    H = np.cumsum(d_t / n_t)
    A = np.cumsum(w / n_t)
    B = np.cumsum(w / n_t**2)
    pos = counts.after - 1  # the last event time up to each duration (-1: none)
    has = pos >= 0
    Hi = np.where(has, H[np.maximum(pos, 0)], 0.0)
    Ai = np.where(has, A[np.maximum(pos, 0)], 0.0)
    Bi = np.where(has, B[np.maximum(pos, 0)], 0.0)
    n_m = np.bincount(codes, minlength=k).astype("float64")
    O = np.bincount(codes, weights=d.astype("float64"), minlength=k)  # noqa: E741 (observed events, the log-rank O)
    E = np.bincount(codes, weights=Hi, minlength=k)
    V1 = np.bincount(codes, weights=Ai, minlength=k)
    # by group, then duration (tied durations have equal weights); by_group: the caller's
    srt = order_t[np.argsort(small_codes(codes[order_t], k), kind="stable")] if by_group is None else by_group
    c_s = codes[srt]
    start = np.searchsorted(c_s, np.arange(k), side="left")
    rank = np.arange(len(codes)) - start[c_s]
    V2 = np.bincount(c_s, weights=Bi[srt] * (2.0 * (n_m[c_s] - rank) - 1.0), minlength=k)
    V = V1 - V2
    U = O - E
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(V > 1e-12, U**2 / V, np.nan)
        z = np.where(V > 1e-12, U / np.sqrt(V), np.nan)
    p = np.where(np.isfinite(chi2), _chi2.sf(np.nan_to_num(chi2), 1), np.nan)
    return {"n": n_m.astype(int), "events": O.astype(int), "expected": E, "chi2": chi2, "p_value": p, "z": z}


#: ``S <= 0.5`` and the log-log bounds ``<= 0.5`` with the tolerance of :func:`salesaudit.stats.km_quantile`, on the scales computed here
LOG_HALF = float(np.log(0.5 + 1e-10))
LOGLOG_HALF = float(np.log(-np.log(0.5 + 1e-10)))
#: grid points per block of :func:`median_ci_counts` (it stops at the block where the last crossing is found)
BLOCK = 8192
#: at most this many grid cells (tables × grid points) are held at once by :meth:`RiskTable.median_ci_each`
CELLS = 1 << 16
#: :meth:`RiskTable.median_ci_each` sums every group's rest by :class:`RestSeries` from this many groups and durations on
SERIES_GROUPS = 24
SERIES_DURATIONS = 20_000
#: cells (block pairs × block points) per pass of :meth:`RestSeries.dense`
DENSE_CELLS = 1 << 16


def median_ci_counts(times: np.ndarray, n, d, z: float, ci: bool = True) -> tuple[float, float, float]:
    """The Kaplan–Meier median with its Brookmeyer–Crowley interval from a risk table.

    ``times``: distinct times (sorted), ``n``: at risk at each, ``d``: events at each (times without
    an event change nothing). The same numbers as :func:`salesaudit.stats.effect.km_median_ci` on
    the durations behind the table (scipy's log-log interval written out: Greenwood's sum on the
    ``log(-log S)`` scale, undefined where S is 1 or 0), but from counts, so that the rest of the
    team (the team's counts minus one manager's) needs no pass over the team's stays per manager;
    and block by block, stopping once the upper bound has crossed one half (the lower bound and the
    curve cross no later), so a median early in a long grid costs a fraction of it. A test checks
    the two agree. ``ci=False``: the median alone (NaN bounds). Several tables at once, or a table
    made only as far as it is read: :func:`median_ci_rows`.
    """
    def block(a, b, rows):
        return n[None, a:b], d[None, a:b]

    return tuple(float(x) for x in median_ci_rows(times, block, 1, z, ci)[0])


def km_terms(nn: np.ndarray, dd: np.ndarray, ci: bool = True, table: "SingleEventTerms | None" = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Each grid point's term of log S, ``log1p(-d/n)`` (0 where nobody is at risk), and with ``ci`` of
    Greenwood's sum, ``d / (n (n - d))`` (infinite where everybody at risk ends, 0 without an event), from
    integer arrays of at risk ``nn`` and events ``dd``. ``table``: the terms of a single event by ``n``
    (:class:`SingleEventTerms`), read instead of computed where ``d`` is 1 — the same numbers, as the table is this
    formula at ``d = 1``."""
    if table is None:
        nn, dd = nn.astype("float64"), dd.astype("float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.divide(dd, nn, out=np.zeros_like(dd), where=nn > 0)
            log_t = np.log1p(-q)
            green_t = np.where(dd > 0, np.where(nn > dd, dd / (nn * (nn - dd)), np.inf), 0.0) if ci else None
        return log_t, green_t
    log_t, green_t = table.single(nn, ci)
    other = np.flatnonzero(dd != 1)  # no event, or several: computed
    if len(other):
        log_o, green_o = km_terms(nn.ravel()[other], dd.ravel()[other], ci)
        log_t.ravel()[other] = log_o
        if ci:
            green_t.ravel()[other] = green_o
    return log_t, green_t


class SingleEventTerms:
    """:func:`km_terms` of a single event (``d = 1``) by the number at risk ``n``, worked out for the
    numbers read so far and then looked up: the risk tables of every manager's rest of the team, on
    every stage, read the same terms over and over."""

    def __init__(self):
        self.log, self.green = np.empty(0), np.empty(0)
        self.lo = self.hi = 0  # the terms of lo <= n < hi are known

    def single(self, nn: np.ndarray, ci: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """The terms at ``nn`` (rows of numbers at risk along a grid, so never rising along a row) as if each
        point had one event."""
        lo, hi = int(nn[:, -1].min()), int(nn[:, 0].max()) + 1
        if hi > len(self.log):
            size = max(hi, 2 * len(self.log))
            self.log, self.green = (np.concatenate([x, np.empty(size - len(x))]) for x in (self.log, self.green))
        for a, b in ((lo, self.lo), (self.hi, hi)) if self.hi > self.lo else ((lo, hi),):
            if a < b:
                n = np.arange(a, b)
                self.log[a:b], self.green[a:b] = km_terms(n, np.ones_like(n))
        self.lo, self.hi = (min(lo, self.lo), max(hi, self.hi)) if self.hi > self.lo else (lo, hi)
        return self.log[nn], (self.green[nn] if ci else None)


#: how far short of one half the log-log bounds must stay in a block for :func:`median_ci_rows` not to search it (rounding is far smaller)
MARGIN = 1e-6


def median_ci_rows(times: np.ndarray, block, rows: int, z: float, ci: bool = True, table: SingleEventTerms | None = None) -> np.ndarray:
    """:func:`median_ci_counts` of ``rows`` risk tables on the same grid at once: a ``(rows, 3)`` array of
    medians and bounds.

    ``block(a, b, which)`` gives at risk and events of the tables ``which`` (row numbers, ascending) on
    ``times[a:b]`` as integer arrays of shape ``(len(which), b - a)``; it is called for each block in
    turn. Each row is the one-table computation, the same blocks with the same carries (so the
    same numbers to the last bit: a row of a cumulative sum along an axis is summed in order), and
    each stops at the block where its last crossing is found. A block is searched for a crossing
    only where there can be one: log S never rises, so the curve crosses one half in the block
    exactly when its last value there is past it; and as ``theta = log(-log S)`` and Greenwood's sum
    never fall and ``|log S|`` never does, the bounds ``theta ± z·se`` (``se = sqrt(Greenwood) /
    |log S|``) stay below ``theta`` at the block's end plus ``z·sqrt(Greenwood at the end) / |log S at
    its start|``: where that is short of the threshold, neither bound crosses in the block.
    ``table``: :func:`km_terms`'s lookup.
    """
    found = np.full((rows, 3), np.nan)
    carry_log, carry_green = np.zeros(rows), np.zeros(rows)
    last = 2 if ci else 0
    todo = np.arange(rows)

    def first_hits(k: int, which: np.ndarray, hit: np.ndarray, a: int) -> None:
        new = hit.any(axis=1) & np.isnan(found[which, k])
        if new.any():
            found[which[new], k] = times[a + np.argmax(hit[new], axis=1)]

    for a in range(0, len(times), BLOCK):
        if not len(todo):
            break
        b = min(a + BLOCK, len(times))
        nn, dd = block(a, b, todo)
        log_t, green_t = km_terms(nn, dd, ci, table)
        log_s = np.cumsum(log_t, axis=1, out=log_t)
        log_s += carry_log[todo, None]  # the carry plus the block's own running sum, as one table has it
        carry_log[todo] = log_s[:, -1]
        crossed = np.flatnonzero(log_s[:, -1] <= LOG_HALF)
        if len(crossed):
            first_hits(0, todo[crossed], log_s[crossed] <= LOG_HALF, a)
        if ci:
            green = np.cumsum(green_t, axis=1, out=green_t)
            green += carry_green[todo, None]
            carry_green[todo] = green[:, -1]
            with np.errstate(divide="ignore", invalid="ignore"):
                reach = np.log(-log_s[:, -1]) + z * np.sqrt(green[:, -1]) / np.abs(log_s[:, 0])  # abs: +0, never -0
                near = np.flatnonzero(~(reach < LOGLOG_HALF - MARGIN))  # NaN: search
                if len(near):
                    ls = log_s[near]
                    theta = np.log(-ls)
                    se = np.sqrt(green[near]) / np.abs(ls)
                    first_hits(1, todo[near], theta + z * se >= LOGLOG_HALF, a)  # NaN where S is 1 or 0: no hit
                    first_hits(2, todo[near], theta - z * se >= LOGLOG_HALF, a)
        todo = todo[np.isnan(found[todo, last])]
    return found


class RiskTable:
    """The risk table of durations ``d`` (``o``: ended) on the grid of their ended times, with each
    duration's place in it, so that the table of the same durations *without* some of them (the rest
    of the team without one manager) is the team's minus theirs, counted block by block from their
    sorted places (only as far into the grid as the median's interval needs)."""

    def __init__(self, d: np.ndarray, o: np.ndarray, order: np.ndarray | None = None, terms: SingleEventTerms | None = None):
        self.terms = terms or SingleEventTerms()  # terms: shared with other tables (the same numbers at risk recur)
        srt = np.argsort(d) if order is None else order  # order: the caller's np.argsort(d) (ties in any order)
        self.order = srt
        ds, os = d[srt], o[srt]
        # each distinct duration once: whether any stay of that length ended (then it is a grid time)
        first = np.empty(len(ds), dtype=bool)
        first[:1] = True
        first[1:] = ds[1:] != ds[:-1]
        starts = np.flatnonzero(first)
        on_grid = np.logical_or.reduceat(os, starts) if len(ds) else np.zeros(0, dtype=bool)
        self.grid = ds[starts[on_grid]]  # = np.unique(d[o])
        g = len(self.grid)
        # a duration's place: the grid times up to it (= np.searchsorted(grid, d, side="right")); an ended one is the last of them
        places = np.cumsum(on_grid)[np.cumsum(first) - 1]
        self.after = np.empty(len(d), dtype=np.int64)
        self.after[srt] = places  # d >= grid[i]  <=>  after > i
        self.ended = np.empty(len(d), dtype=np.int64)
        self.ended[srt] = np.where(os, places - 1, g)  # g: not ended (cut off below)
        self.at_risk = len(d) - np.cumsum(np.bincount(self.after, minlength=g + 1))[:g]
        self.events = np.bincount(self.ended, minlength=g + 1)[:g]

    def median_ci(self, z: float, without=None, ci: bool = True) -> tuple[float, float, float]:
        """:func:`median_ci_counts` of all the durations, or of all but the positions ``without``."""
        if without is None:
            return median_ci_counts(self.grid, self.at_risk, self.events, z, ci=ci)
        without = np.asarray(without, dtype=np.int64)
        return tuple(float(x) for x in self._without_each(without, np.zeros(len(without), dtype=np.int64), 1, z, ci)[0])

    def median_ci_each(self, codes: np.ndarray, k: int, z: float, ci: bool = True, series: bool | None = None,
                       by_group: np.ndarray | None = None) -> np.ndarray:
        """Row ``j`` of the ``(k, 3)`` result is ``median_ci(z, without=np.flatnonzero(codes == j), ci=ci)``:
        every group's rest at once (``codes``: each duration's group, ``0 … k-1``).

        Many groups (``series``, by default from :data:`SERIES_GROUPS` groups and :data:`SERIES_DURATIONS`
        durations on) go through :class:`RestSeries`, in time proportional to the durations; the groups it
        leaves, and every group of a small table, are summed along the grid a few groups at a time (the same
        numbers either way: a test checks it). ``by_group``: the durations' positions sorted by group, then
        as in ``order``, when the caller has them (else sorted here)."""
        out = np.full((k, 3), np.nan)
        exact = np.ones(k, dtype=bool)
        if series if series is not None else (k >= SERIES_GROUPS and len(codes) >= SERIES_DURATIONS):
            out, exact = RestSeries(self, codes, k, z, ci, by_group=by_group).solve()
        left = np.flatnonzero(exact)
        if not len(left):
            return out
        renumber = np.full(k, -1)
        renumber[left] = np.arange(len(left))
        new = renumber[codes]
        order = np.argsort(small_codes(new, k), kind="stable")[np.count_nonzero(new < 0):]  # the groups left, by group
        bounds = np.concatenate([[0], np.cumsum(np.bincount(new[new >= 0], minlength=len(left)))])
        step = max(1, CELLS // BLOCK)  # groups per pass: a block of their tables fits in CELLS
        for c0 in range(0, len(left), step):
            c1 = min(len(left), c0 + step)
            pos = order[bounds[c0]:bounds[c1]]
            out[left[c0:c1]] = self._without_each(pos, new[pos] - c0, c1 - c0, z, ci)
        return out

    def _without_each(self, pos: np.ndarray, codes: np.ndarray, k: int, z: float, ci: bool) -> np.ndarray:
        """:func:`median_ci_rows` of the table without the durations at ``pos`` of group ``j``, for each ``j < k``
        (``codes``: the group of each of ``pos``)."""
        g = len(self.grid)
        blocks = -(-g // BLOCK)

        def by_block(places: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Their places and groups in the order of the block each place falls in (``g``: in none), and where each block's run starts."""
            block = np.where(places < g, places // BLOCK, blocks)
            order = np.argsort(small_codes(block, blocks + 1), kind="stable")
            return places[order], codes[order], np.concatenate([[0], np.cumsum(np.bincount(block, minlength=blocks + 1))])

        after, after_code, after_at = by_block(self.after[pos])
        ended, ended_code, ended_at = by_block(self.ended[pos])
        left = np.bincount(codes, minlength=k)  # each group's durations at risk at the start of the block

        def block(a: int, b: int, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            w, i = b - a, a // BLOCK
            lo, hi = after_at[i], after_at[i + 1]  # theirs with a <= after < b: no longer at risk after grid[after - 1]
            gone = np.bincount(after_code[lo:hi] * w + (after[lo:hi] - a), minlength=k * w).reshape(k, w)
            theirs = left[:, None] - np.cumsum(gone, axis=1)  # theirs with after > i: at risk at grid[i]
            left[:] = theirs[:, -1]
            lo, hi = ended_at[i], ended_at[i + 1]
            their_events = np.bincount(ended_code[lo:hi] * w + (ended[lo:hi] - a), minlength=k * w).reshape(k, w)
            if len(which) < k:
                theirs, their_events = theirs[which], their_events[which]
            return self.at_risk[a:b] - theirs, self.events[a:b] - their_events

        return median_ci_rows(self.grid, block, k, z, ci, table=self.terms)


class RestSeries:
    """Every group's rest of a risk table (:class:`RiskTable`), its Kaplan–Meier median and interval found
    without summing the rest's terms one grid point at a time.

    The rest of group ``m`` has ``n - c`` at risk and ``d - e`` events at each grid point, where ``c``
    and ``e`` are the group's own; summing its log-S and Greenwood terms along the grid costs every
    group a pass over the grid (:meth:`RiskTable._without_each`), which with hundreds of sellers is
    most of the stall analysis. But where the group has no event of its own,

        log(1 - d/(n - c)) = log(1 - d/n) - sum_p (c^p / p) ((n - d)^-p - n^-p)
        d / ((n - c)(n - c - d)) = d / (n (n - d)) + sum_p c^p ((n - d)^-(p+1) - n^-(p+1))

    and ``c`` is constant between the group's own places on the grid. So with the team's prefix sums
    of ``(n - d)^-p - n^-p`` the rest's log S and Greenwood sum at any grid point are the team's plus
    one term per stretch of constant ``c`` (one per distinct length of the group's durations) plus
    the exact terms at the group's own event points: work in proportion to the durations, not to
    groups × grid points. The series is cut after ``K`` terms (3 to 8, as many as most groups need for
    a bound below 2e-11); with ``x = c / (n - d) < 1/2`` the rest is at most ``H x^(K+1) / (1 - x)``
    for log S (``H``: the team's Nelson–Aalen sum) and ``G (K+2) x^(K+1) / (1 - x)²`` for
    Greenwood's sum (``G``: the team's); the error bounds add the rounding of this sum and of the
    sum along the grid.

    The crossings are then found as :func:`median_ci_rows` finds them, on blocks of the grid: the
    values at each block's ends (with their error bounds) say which blocks can hold a crossing, and
    only those are summed point by point, the exact terms of the rest (the same arithmetic as the
    exact path) from the block's starting value (the first block from 0, as the sum along the grid
    starts: the same numbers). A crossing is taken only when the value there and
    before it are farther from one half than their error bound; otherwise, or where the series does
    not hold (``x`` too large, the team's last point when everybody at risk ends there, a curve that
    has not crossed in the searched stretch), the group is left to the exact path (``exact``). So
    the result is the exact path's, and a test checks it on random tables.
    """

    def __init__(self, counts: "RiskTable", codes: np.ndarray, k: int, z: float, ci: bool, terms: int | None = None,
                 block: int | None = None, by_group: np.ndarray | None = None):
        self.counts, self.k, self.z, self.ci = counts, k, z, ci
        G = self.G = len(counts.grid)
        self.c0 = np.bincount(codes, minlength=k)
        n, d = counts.at_risk, counts.events
        self.nd = n - d
        J = int(np.argmax(self.nd == 0)) if G and self.nd[-1] == 0 else G  # the series hold where n - d > 0
        self.log_t, self.green_t = km_terms(n[:J], d[:J], ci)
        self.TT = np.concatenate([[0.0], np.cumsum(self.log_t)])  # the team's log S, G before index i at i
        self.GG = np.concatenate([[0.0], np.cumsum(self.green_t)]) if ci else None
        # the searched stretch: up to a quarter past the team's own last crossing (and two blocks)
        with np.errstate(divide="ignore", invalid="ignore"):
            if ci:
                hit = np.log(-self.TT[1:]) - z * np.sqrt(self.GG[1:]) / np.abs(self.TT[1:]) >= LOGLOG_HALF
            else:
                hit = self.TT[1:] <= LOG_HALF
        h = int(np.argmax(hit)) if hit.any() else J
        # blocks of about 2 sqrt(grid) points: ~grid / B block ends read per group against ~3 B points searched
        self.B = B = block or int(np.clip(2 ** np.round(np.log2(2 * np.sqrt(max(h, 1)))), 128, 4096))
        self.J = Jq = min(J, h + h // 4 + 2 * B)
        nf, df = n[:Jq].astype("float64"), d[:Jq].astype("float64")
        self.HH = np.concatenate([[0.0], np.cumsum(df / nf)])
        if terms is None:  # enough terms for x^(K+1) < 2e-11 in most groups: S exactly one half is 2e-10 short of the threshold,
            # and a larger error bound only leaves more groups to the exact path
            x = self.c0[self.c0 > 0] / max(int(self.nd[Jq - 1]), 1) if Jq else np.zeros(0)
            x = min(max(float(np.percentile(x, 95)), 1e-6), 0.5) if len(x) else 0.5
            terms = int(np.clip(np.ceil(np.log(2e-11) / np.log(x)) - 1, 3, 8))
        self.K = terms
        # A[p - 1, i] = sum over j < i of (n - d)^-p - n^-p = (n - d)^-p (1 - (1 - d/n)^p), p = 1 … K (+1 with ci)
        P = terms + 1 if ci else terms
        lq, inv = np.log1p(-df / nf), 1.0 / (nf - df)
        self.A = A = np.zeros((P, Jq + 1))
        power = np.ones(Jq)
        for p in range(1, P + 1):
            power *= inv
            A[p - 1, 1:] = power * -np.expm1(p * lq)
        np.cumsum(A, axis=1, out=A)
        self.w = -1.0 / np.arange(1, terms + 1)
        self._runs(codes, by_group)

    def series(self, c: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The series' part of log S and of Greenwood's sum over the grid points ``a … b-1`` with ``c`` at risk of the group (Horner's rule)."""
        A, K = self.A, self.K
        at_b, at_a = np.empty(len(c)), np.empty(len(c))  # two buffers for every term: no fresh array per term

        def term(p: int) -> np.ndarray:  # A[p] over [a, b)
            np.take(A[p], b, out=at_b)
            np.take(A[p], a, out=at_a)
            return np.subtract(at_b, at_a, out=at_b)

        lg = term(K - 1) * self.w[K - 1]
        gr = term(K).copy() if self.ci else None
        for p in range(K - 1, 0, -1):
            lg *= c
            t = term(p - 1)
            t *= self.w[p - 1]
            lg += t
            if self.ci:
                gr *= c
                gr += term(p)
        lg *= c
        if self.ci:
            gr *= c
        return lg, gr

    def _runs(self, codes: np.ndarray, by_group: np.ndarray | None) -> None:
        """Each group's durations by place (``after``: at risk at grid point i iff after > i), in runs of one place;
        the stretches of constant ``c`` with their series summed; the exact terms at the group's own event points."""
        counts, k, G, Jq, c0 = self.counts, self.k, self.G, self.J, self.c0
        srt = counts.order[np.argsort(small_codes(codes[counts.order], k), kind="stable")] if by_group is None else by_group  # by group, then place
        self.W = W = G + 2
        after = counts.after[srt]
        near = after <= Jq  # the durations past the searched stretch count only in c0
        srt, after = srt[near], after[near]
        group = codes[srt]
        key = group.astype(np.int64) * W + after
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        rs = np.flatnonzero(first)
        self.rkey, self.rq = key[rs], after[rs]
        self.rcnt = np.diff(rs, append=len(key))
        self.rev = np.add.reduceat(counts.ended[srt] < G, rs) if len(rs) else np.zeros(0, dtype=np.int64)  # ended (at place - 1)
        rm, rq = group[rs], self.rq
        kept = np.bincount(group, minlength=k)
        before = rs - (np.cumsum(kept) - kept)[rm]  # the group's durations at earlier places
        # stretches: each group's first (c0 from place 0), then one from each run's place with c less the run, placed
        # in order of group and place without a sort; a stretch ends before the next run's event point
        runs = np.bincount(rm, minlength=k)
        lead = np.cumsum(runs + 1) - (runs + 1)  # each group's first stretch
        at = np.arange(len(rs)) + rm + 1
        n = len(rs) + k
        sm, self.ss, sc, ev_next = np.empty(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.empty(n), np.zeros(n, dtype=np.int64)
        sm[lead], sm[at] = np.arange(k), rm
        self.ss[at] = rq
        sc[lead], sc[at] = c0, c0[rm] - before - self.rcnt
        ev_next[at] = self.rev
        self.sc = sc
        self.skey = sm * W + self.ss
        last = np.zeros(n, dtype=bool)
        last[lead + runs] = True
        se = np.empty(n, dtype=np.int64)
        se[:-1] = self.ss[1:] - ((ev_next[1:] > 0) & ~last[:-1])
        se[last] = Jq
        self.se = se
        sl, sg = self.series(self.sc, self.ss, se)
        self.cl = np.cumsum(sl) - sl
        self.cl -= self.cl[lead[sm]]
        if self.ci:
            self.cg = np.cumsum(sg) - sg
            self.cg -= self.cg[lead[sm]]
        # the group's own event points j = place - 1 < Jq: the exact term of the rest instead of the team's
        fe = np.flatnonzero(self.rev > 0)
        fm, fj = rm[fe], rq[fe] - 1
        ex_log, ex_green = km_terms(counts.at_risk[fj] - (c0[fm] - before[fe]), counts.events[fj] - self.rev[fe], self.ci)
        fl = ex_log - self.log_t[fj]
        bad = ~np.isfinite(fl)
        if self.ci:
            fg = ex_green - self.green_t[fj]
            bad |= ~np.isfinite(fg)
        self.exact = np.zeros(k, dtype=bool)
        self.exact[np.unique(fm[bad])] = True
        self.fkey = fm * W + fj
        self.fstart = np.concatenate([[0], np.cumsum(np.bincount(fm, minlength=k))])
        self.cfl = np.concatenate([[0.0], np.cumsum(np.where(bad, 0.0, fl))])
        self.cfg = np.concatenate([[0.0], np.cumsum(np.where(bad, 0.0, fg))]) if self.ci else None

    def query(self, m: np.ndarray, i: np.ndarray):
        """The rest of groups ``m`` at grid points ``i`` (``-1 <= i < J``): log S, Greenwood's sum (None without ci) and bounds on their errors."""
        s = np.searchsorted(self.skey, m * self.W + np.maximum(i, 0), side="right") - 1
        lg, gr = self.series(self.sc[s], self.ss[s], np.maximum(np.minimum(i + 1, self.se[s]), self.ss[s]))
        pe = np.searchsorted(self.fkey, m * self.W + i, side="right")
        L = self.TT[i + 1] + self.cl[s] + lg + (self.cfl[pe] - self.cfl[self.fstart[m]])
        x = self.c0[m] / np.maximum(self.nd[np.maximum(i, 0)], 1)  # >= c / (n - d) at every point up to i
        K, eps, before = self.K, np.finfo(float).eps, i < 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # the series' rest, and the rounding of this sum and of the one along the grid (each at most (i + 1) eps/2 |L|), doubled
            eL = np.where(x < 0.5, self.HH[i + 1] * x ** (K + 1) / (1 - x), np.inf) + 1e-13 + 2 * eps * (i + 2) * np.abs(L)
            L, eL = np.where(before, 0.0, L), np.where(before, 0.0, eL)
            if not self.ci:
                return L, None, eL, None
            Gs = self.GG[i + 1] + self.cg[s] + gr + (self.cfg[pe] - self.cfg[self.fstart[m]])
            eG = np.where(x < 0.5, self.GG[i + 1] * (K + 2) * x ** (K + 1) / (1 - x) ** 2, np.inf) + 1e-13 * (1 + Gs) + 2 * eps * (i + 2) * np.abs(Gs)
        return L, np.where(before, 0.0, Gs), eL, np.where(before, 0.0, eG)

    def dense(self, m: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, dict]:
        """Blocks ``b`` of groups ``m`` summed point by point from their starting values: per target (0: the curve,
        1 and 2: the interval's bounds), the first hit in the block (-1: none) and whether it is sure."""
        counts, B, W, ci, z = self.counts, self.B, self.W, self.ci, self.z
        a = b * B
        e = np.minimum(a + B, self.J)
        Lc, Gc, eLc, eGc = self.query(m, a - 1)
        s = np.searchsorted(self.skey, m * W + np.maximum(a - 1, 0), side="right") - 1
        c_before = np.where(a == 0, self.c0[m], self.sc[s].astype(np.int64))
        npair, cols, rows_ = len(m), np.arange(B), np.arange(len(m))

        def per_point(lo_at: np.ndarray, hi_at: np.ndarray, shift: int, weights: np.ndarray) -> np.ndarray:
            lo, hi = np.searchsorted(self.rkey, m * W + lo_at), np.searchsorted(self.rkey, m * W + hi_at)
            ln = hi - lo
            rows = np.repeat(rows_, ln)
            idx = np.arange(ln.sum()) - np.repeat(np.cumsum(ln) - ln, ln) + lo[rows]
            return np.bincount(rows * B + (self.rq[idx] - shift - a[rows]), weights=weights[idx], minlength=npair * B).reshape(npair, B).astype(np.int64)

        c = c_before[:, None] - np.cumsum(per_point(a, e, 0, self.rcnt), axis=1)  # theirs at risk
        ev = per_point(a + 1, e + 1, 1, self.rev)  # theirs ending
        at = a[:, None] + cols[None, :]
        valid = at < e[:, None]
        at = np.minimum(at, self.G - 1)
        nn = np.where(valid, counts.at_risk[at] - c, 0)
        dd = np.where(valid, counts.events[at] - ev, 0)
        log_t, green_t = km_terms(nn, dd, ci, counts.terms)
        ls = np.cumsum(log_t, axis=1)
        ls += Lc[:, None]
        eps = np.finfo(float).eps
        el = eLc + 2 * B * eps * np.abs(ls[:, -1]) + 1e-15
        hits = {}
        hit = ls <= LOG_HALF
        i0 = np.where(hit.any(axis=1), np.argmax(hit, axis=1), -1)
        prev = np.where(i0 > 0, ls[rows_, np.maximum(i0 - 1, 0)], Lc)
        first = a == 0  # the first block starts from 0, as the sum along the grid does: the same numbers, nothing to be unsure of
        hits[0] = (i0, (i0 >= 0) & (first | ((ls[rows_, np.maximum(i0, 0)] <= LOG_HALF - el) & (prev > LOG_HALF + el))))
        if ci:
            gr = np.cumsum(green_t, axis=1)
            gr += Gc[:, None]
            eg = eGc + 2 * B * eps * np.abs(gr[:, -1]) + 1e-15
            with np.errstate(divide="ignore", invalid="ignore"):
                absl = np.abs(ls)
                theta, se = np.log(-ls), np.sqrt(gr) / absl
                # one bound on the error of theta +- z se over the whole block (|log S| and G never fall along it);
                # none where S is within its error of 1 at the block's start (theta and se undefined on one side)
                a0, g0 = absl[:, 0], gr[:, 0]
                ef = 2 * ((el / a0) * (1 + z * np.sqrt(gr[:, -1]) / a0) + z * eg / (2 * np.sqrt(g0) * a0)) + 1e-12
                ef = np.where(a0 > el, ef, np.inf)
                for t, f in ((1, theta + z * se), (2, theta - z * se)):
                    hit = f >= LOGLOG_HALF
                    it = np.where(hit.any(axis=1), np.argmax(hit, axis=1), B)
                    unsure = ~(f < (LOGLOG_HALF - ef)[:, None])
                    clean = np.where(unsure.any(axis=1), np.argmax(unsure, axis=1), B) >= it  # every point before the hit surely short of one half
                    sure = (it == B) | (f[rows_, np.minimum(it, B - 1)] >= LOGLOG_HALF + ef)
                    hits[t] = (np.where(it < B, it, -1), first | (clean & sure))
        return a, hits

    def solve(self, rounds: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """``(out, exact)``: the ``(k, 3)`` medians and bounds of every group's rest (NaN where not found here) and the groups left to the exact path."""
        out, exact, ci, z = np.full((self.k, 3), np.nan), self.exact.copy(), self.ci, self.z
        team = np.flatnonzero((self.c0 > 0) & ~exact)
        if self.J == 0 or not len(team):
            exact[self.c0 > 0] = True
            return out, exact
        B, J = self.B, self.J
        nb = -(-J // B)
        starts = np.arange(nb) * B
        ends = np.minimum(starts + B, J) - 1
        Le, Ge, eLe, eGe = self.query(np.repeat(team, nb), np.tile(ends, len(team)))
        shape = (len(team), nb)
        Le, eLe = Le.reshape(shape), eLe.reshape(shape)
        cand = Le <= LOG_HALF + eLe  # the curve may be at one half by the block's end
        crossed = cand.any(axis=1)
        exact[team[~crossed]] = True  # not crossed in the searched stretch
        keep = np.flatnonzero(crossed)
        team, Le, eLe = team[keep], Le[keep], eLe[keep]
        med = np.argmax(cand[keep], axis=1)
        T, nbr = len(team), np.arange(nb)[None, :]
        if ci:
            Ge, eGe = Ge.reshape(shape)[keep], eGe.reshape(shape)[keep]
            Ls, Gs, eLs, eGs = (x.reshape(T, nb) for x in self.query(np.repeat(team, nb), np.tile(starts, T)))
            with np.errstate(divide="ignore", invalid="ignore"):
                # in a block, theta +- z se stays below theta at its end +- z sqrt(G at its end (start)) / |log S at its start (end)|
                theta = np.log(-(Le - eLe))
                start = np.abs(Ls) - eLs
                near_up = ~(theta + z * np.sqrt(Ge + eGe) / np.where(start > 0, start, 0.0) < LOGLOG_HALF - MARGIN) & (nbr <= med[:, None])
                near_lo = ~(theta - z * np.sqrt(np.maximum(Gs - eGs, 0.0)) / (np.abs(Le) + eLe) < LOGLOG_HALF - MARGIN) & (nbr >= med[:, None])
        targets = 3 if ci else 1
        found = np.full((T, 3), -1, dtype=np.int64)
        nxt = np.zeros((T, 3), dtype=np.int64)  # the first block a bound's crossing may still be in
        ok = np.ones(T, dtype=bool)
        for _ in range(rounds):
            want = np.full((T, 3), -1, dtype=np.int64)
            want[:, 0] = np.where(found[:, 0] < 0, med, -1)
            if ci:
                for t, near in ((1, near_up), (2, near_lo)):
                    c = near & (nbr >= nxt[:, t, None])
                    left = c.any(axis=1)
                    ok &= ~((found[:, t] < 0) & ~left)  # no block left that may hold it: exact path
                    want[:, t] = np.where((found[:, t] < 0) & left, np.argmax(c, axis=1), -1)
            want[~ok] = -1
            if not (want >= 0).any():
                break
            pairs = np.unique((np.arange(T)[:, None] * (nb + 1) + want)[want >= 0])
            pg, pb = pairs // (nb + 1), pairs % (nb + 1)
            step = max(1, DENSE_CELLS // B)  # pairs per pass: their matrices stay small enough to be reused, not faulted in anew
            parts = [self.dense(team[pg[s:s + step]], pb[s:s + step]) for s in range(0, len(pg), step)]
            a = np.concatenate([x[0] for x in parts])
            hits = {t: tuple(np.concatenate([x[1][t][j] for x in parts]) for j in (0, 1)) for t in parts[0][1]}
            for t in range(targets):
                asked = want[pg, t] == pb
                g, (i, sure) = pg[asked], (x[asked] for x in hits[t])
                ok[g[~sure]] = False
                found[g[sure & (i >= 0)], t] = a[asked][sure & (i >= 0)] + i[sure & (i >= 0)]
                none = sure & (i < 0)
                if t == 0:
                    ok[g[none]] = False  # the end was at one half within its error bound, the exact sum not
                else:
                    nxt[g[none], t] = pb[asked][none] + 1
        ok &= (found[:, :targets] >= 0).all(axis=1)
        exact[team[~ok]] = True
        g = np.flatnonzero(ok)
        out[team[g], :targets] = self.counts.grid[found[g, :targets]]
        return out, exact


def median_ci_of(d: np.ndarray, o: np.ndarray, z: float, ci: bool = True) -> tuple[float, float, float]:
    """:func:`median_ci_counts` of the durations ``d`` (``o``: ended)."""
    return RiskTable(d, o).median_ci(z, ci=ci)


def grouped_order(codes: np.ndarray, k: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions sorted by value (ties in any order), the same sorted by group (``codes`` ``0 … k-1``) first,
    and where each group's run starts and ends (``bounds[j]:bounds[j + 1]``): one quick sort and one
    radix sort for all groups."""
    by_value = np.argsort(values)
    order = by_value[np.argsort(small_codes(codes[by_value], k), kind="stable")]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=k))])
    return by_value, order, bounds


def order_within(order: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``order`` (positions) restricted to where ``mask`` holds, as positions among those rows."""
    return (np.cumsum(mask) - 1)[order[mask[order]]]


#: at most about this many cells (groups × times) per matrix of :class:`KMEach`
EACH_CELLS = 1 << 17


def padded_runs(start: np.ndarray, count: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the runs ``start[j]:start[j] + count[j]`` of the groups ``rows`` as the rows of a matrix, padded at the
    end (``valid``: a real position; padded cells hold the run's last position, or 0)."""
    width = max(1, int(count[rows].max())) if len(rows) else 1
    cols = np.arange(width)[None, :]
    valid = cols < count[rows][:, None]
    idx = start[rows][:, None] + np.minimum(cols, np.maximum(count[rows][:, None] - 1, 0))
    return np.where(count[rows][:, None] > 0, idx, 0), valid


class KMEach:
    """:class:`SortedKM` of every group at once: the durations ``d`` sorted by group and, within a group, ascending
    (``o``: ended, in the same order; group ``j`` is ``bounds[j]:bounds[j + 1]``).

    Each group's distinct times fill one row of a matrix padded at the end: a row's running sums and
    products start at its first time, as one group's do, so every number is :class:`SortedKM`'s to the last
    bit (a test checks it). Groups of similar size go together, so that a matrix has about
    :data:`EACH_CELLS` cells at most. The methods give what :class:`SortedKM`'s give, one row per group.
    """

    def __init__(self, d: np.ndarray, o: np.ndarray, bounds: np.ndarray):
        self.k = k = len(bounds) - 1
        self.n = np.diff(bounds)
        group = np.repeat(np.arange(k), self.n)
        new = np.ones(len(d), dtype=bool)
        new[1:] = (d[1:] != d[:-1]) | (group[1:] != group[:-1])
        first = np.flatnonzero(new)
        self.times = d[first]
        self.group = group[first]
        self.at_risk = self.n[self.group] - (first - bounds[:-1][self.group])
        self.events = np.add.reduceat(o.astype(np.int64), first) if len(first) else np.zeros(0, dtype=np.int64)
        self.count = np.bincount(self.group, minlength=k)
        self.start = np.cumsum(self.count) - self.count
        ended = np.bincount(group[o], minlength=k)
        self.ended, self.uncensored = ended > 0, ended == self.n
        with np.errstate(divide="ignore", invalid="ignore"):
            self.factor = (self.at_risk - self.events) / self.at_risk
            self.green = self.events / (self.at_risk * (self.at_risk - self.events))
        # the event times (KM's grid for the median's interval), per group
        ev = np.flatnonzero(self.events > 0)
        self.ev, self.ev_count = ev, np.bincount(self.group[ev], minlength=k)
        self.ev_start = np.cumsum(self.ev_count) - self.ev_count

    def _chunks(self, count: np.ndarray):
        """The groups in chunks of similar ``count`` (ascending), each of about :data:`EACH_CELLS` cells at most."""
        order = np.argsort(count, kind="stable")
        start = 0
        while start < self.k:
            stop = start + 1
            while stop < self.k and (stop + 1 - start) * max(1, int(count[order[stop]])) <= EACH_CELLS:
                stop += 1
            yield order[start:stop]
            start = stop

    def _surv(self, rows: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """S at each distinct time of the groups ``rows`` (padded cells repeat the last)."""
        surv = np.cumprod(np.where(valid, self.factor[idx], 1.0), axis=1)
        unc = self.uncensored[rows]
        if unc.any():
            surv[unc] = 1 - np.cumsum(np.where(valid, self.events[idx], 0)[unc], axis=1) / self.n[rows][unc, None]
        surv[~self.ended[rows]] = 1.0
        return surv

    def figures(self, qs, t: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """``(quantiles, share)``: per group, :meth:`SortedKM.quantile` at each of ``qs`` (a ``(k, len(qs))`` array) and
        :meth:`SortedKM.survival_ci` at ``t`` (``(k, 3)``)."""
        quant, share = np.full((self.k, len(qs)), np.nan), np.full((self.k, 3), np.nan)
        if not len(self.times):
            return quant, share
        level = np.asarray(1.0 - alpha)[()]
        z = _ndtri(1 / 2 + level / 2)
        for rows in self._chunks(self.count):
            rows = rows[self.n[rows] > 0]  # an empty group has no figures
            if not len(rows):
                continue
            idx, valid = padded_runs(self.start, self.count, rows)
            surv = self._surv(rows, idx, valid)
            for c, q in enumerate(qs):
                hit = surv <= 1.0 - float(q) + _QUANTILE_TOL
                quant[rows, c] = np.where(hit.any(axis=1), self.times[idx[np.arange(len(rows)), np.argmax(hit, axis=1)]], np.nan)
            if not np.isfinite(t):
                continue
            i = (valid & (self.times[idx] <= t)).sum(axis=1) - 1
            r = np.arange(len(rows))
            s = np.where(i < 0, 1.0, surv[r, np.maximum(i, 0)])
            green = np.cumsum(np.where(valid, self.green[idx], 0.0), axis=1)[r, np.maximum(i, 0)]
            with np.errstate(divide="ignore", invalid="ignore"):
                var = 1 / np.log(s) ** 2 * green
                theta = np.log(-np.log(s))
                z_se = z * np.sqrt(var)
                low, high = np.clip(np.exp(-np.exp(theta + z_se)), 0, 1), np.clip(np.exp(-np.exp(theta - z_se)), 0, 1)
            share[rows] = np.column_stack([s, low, high])
            for j in np.flatnonzero((s >= 1.0) | (s <= 0.0)):  # S exactly 1 or 0: the exact bound, as SortedKM has it
                share[rows[j]] = self._edge(rows[j], int(i[j]), float(s[j]), t, alpha)
        return quant, share

    def _edge(self, j: int, i: int, s: float, t: float, alpha: float) -> tuple[float, float, float]:
        """:meth:`SortedKM.survival_ci` where S at ``t`` is exactly 1 or 0, for group ``j`` (``i``: its last time up to ``t``)."""
        if s >= 1.0:
            n = int(self.at_risk[self.start[j] + i + 1]) if i + 1 < self.count[j] else 0
            return (1.0, float((alpha / 2) ** (1 / n)) if n else np.nan, 1.0 if n else np.nan)
        return (0.0, 0.0, float(1 - (alpha / 2) ** (1 / int(self.n[j]))))

    def median_ci(self, z: float, ci: bool = True) -> np.ndarray:
        """Per group, :meth:`SortedKM.median_ci`: the ``(k, 3)`` medians with their Brookmeyer–Crowley intervals (NaN bounds without ``ci``)."""
        out = np.full((self.k, 3), np.nan)
        if not len(self.ev):
            return out
        for rows in self._chunks(self.ev_count):
            idx, valid = padded_runs(self.ev_start, self.ev_count, rows)
            at = self.ev[idx]
            times = np.where(valid, self.times[at], np.nan)
            nn, dd = np.where(valid, self.at_risk[at], 0), np.where(valid, self.events[at], 0)
            log_t, green_t = km_terms(nn, dd, ci)
            # running sums block by block with the carry added after, as median_ci_rows sums one table
            carry_log, carry_green = np.zeros(len(rows)), np.zeros(len(rows))
            for a in range(0, log_t.shape[1], BLOCK):
                ls = np.cumsum(log_t[:, a:a + BLOCK], axis=1, out=log_t[:, a:a + BLOCK])
                ls += carry_log[:, None]
                carry_log = ls[:, -1].copy()
                if ci:
                    gs = np.cumsum(green_t[:, a:a + BLOCK], axis=1, out=green_t[:, a:a + BLOCK])
                    gs += carry_green[:, None]
                    carry_green = gs[:, -1].copy()
            hits = [log_t <= LOG_HALF]
            if ci:
                with np.errstate(divide="ignore", invalid="ignore"):
                    theta, se = np.log(-log_t), np.sqrt(green_t) / np.abs(log_t)
                    hits += [theta + z * se >= LOGLOG_HALF, theta - z * se >= LOGLOG_HALF]
            r = np.arange(len(rows))
            for c, hit in enumerate(hits):
                out[rows, c] = np.where(hit.any(axis=1), times[r, np.argmax(hit, axis=1)], np.nan)
        return out
