"""Where do deals get stuck, and does the team follow the process (notebook 02).

What CRMs get wrong about time in stage, and what this module does instead:

* A CRM averages the *finished* stays of a stage, or looks at the current stay alone. A deal
  that is still sitting in a stage at the audit moment has not finished its stay: it is a
  right-censored observation (we know it has lasted *at least* this long). The longest stays
  are exactly those that have not ended yet, so dropping them understates the time. Here every
  stay enters a Kaplan–Meier estimate (:mod:`salesaudit.stats`): medians, 80th/90th percentiles
  and the share of stays longer than the norm, with confidence intervals. The CRM-style figures
  (finished stays only) are kept beside them for contrast.
* Time is measured in calendar days and, with the client's working calendar, in business days
  (``unit="days"`` or ``unit="business_days"`` everywhere).
* Managers are compared with the rest of the team in each stage with a log-rank test (censoring
  handled), Holm-corrected over every manager × stage test; a manager with too few stays is
  "not judgeable" rather than flagged.
* Process compliance (skipped mandatory stages, backward moves, loops) is read from each deal's
  path through the stage history, and a manager is flagged only when his rate is significantly
  above a tolerance for stray CRM mis-clicks (one-sided exact binomial test, Holm-corrected).

Every analysis function returns a language-neutral DataFrame (stage keys, manager keys, column
names as documented). ``analyse(dataset, settings) -> StallsResult`` computes everything notebook
02 shows, once; the page a reader sees (tables renamed, texts, plots in one language) is made from
the result by :mod:`salesaudit.report.stalls`, and the key figures notebook 02 records come from
:meth:`StallsResult.key_figures`, never from a second computation. The display helpers that used
to live here (``report_table``, ``money``, ``describe_*``, ``plot_*``) are in the report module;
their old names here still work.

Everything is vectorised (numpy over the whole history; per-group Kaplan–Meier via groupby), so
a million deals with a few million history rows take seconds, not hours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data.clock import utc_ns
from ..data.model import require_tables
from ..stats import holm, kaplan_meier, km_quantile, km_quantiles, rate_above_tolerance, wilson

__all__ = [
    "UNITS",
    "StallsResult",
    "analyse",
    "stage_stays",
    "stage_summary",
    "manager_stage_summary",
    "action_list",
    "compliance",
    "summary",
    "stage_norms",
    "km_curves",
    "logrank_one_vs_rest",
]

#: the time units every summary accepts: the column of :func:`stage_stays` it reads
UNITS = ("days", "business_days")
#: the manager key shown for deals without a manager
NO_MANAGER = "—"

_NAT = np.iinfo(np.int64).min
_NS_PER_DAY = 86_400 * 1_000_000_000
_ANALYSIS = "the stage-stall analysis (notebook 02)"
_STAY_COLUMNS = ["deal_id", "manager", "stage", "entered_at", "left_at", "next_stage", "observed", "is_current", "days", "business_days", "amount"]


def _check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")
    return unit


def _ns(values) -> np.ndarray:
    """Datetimes → int64 nanoseconds, NaT as ``_NAT``."""
    return np.asarray(pd.DatetimeIndex(values).as_unit("ns").asi8, dtype=np.int64)


def _positions(values, lookup) -> np.ndarray:
    """Position of each of ``values`` in ``lookup`` (-1 where absent or missing), via pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arr(x):
        a = pa.array(x, from_pandas=True) if not isinstance(x, (pa.Array, pa.ChunkedArray)) else x
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        return a.cast(pa.large_string())

    res = pc.index_in(arr(values), value_set=arr(lookup))
    return res.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _closed_deals(deals: pd.DataFrame) -> np.ndarray:
    return deals["outcome"].isin(["won", "lost"]).fillna(False).to_numpy(dtype=bool)


# ---------------------------------------------------------------------------
# stays


def _ordered_path(ds) -> dict:
    """Every deal's path through the funnel, as numpy arrays sorted by deal, time, funnel order.

    Rows whose deal is not in ``deals`` (the loader already quarantines them) or whose stage is
    not a funnel key are ignored. A repeated entry into the stage the deal is already in (a
    re-save in the CRM) is not a move and is dropped, so it neither splits a stay nor counts as
    a loop. Returns ``deal`` (row position in ``deals``), ``ord`` (funnel position), ``ns``
    (entered_at in ns) and the number of deals without any history row.
    """
    deals = ds.tables["deals"]
    hist = ds.tables["stage_history"]
    keys = ds.funnel.keys
    ords = _positions(hist["stage"], pd.Series(keys, dtype="string")).astype(np.int16)
    deal = _positions(hist["deal_id"], deals["deal_id"])
    ns = _ns(hist["entered_at"])
    keep = (ords >= 0) & (deal >= 0) & (ns != _NAT)
    deal, ords, ns = deal[keep], ords[keep], ns[keep]
    order = np.lexsort((ords, ns, deal))
    deal, ords, ns = deal[order], ords[order], ns[order]
    if len(deal) > 1:
        repeat = np.zeros(len(deal), dtype=bool)
        repeat[1:] = (deal[1:] == deal[:-1]) & (ords[1:] == ords[:-1])
        deal, ords, ns = deal[~repeat], ords[~repeat], ns[~repeat]
    with_history = np.zeros(len(deals), dtype=bool)
    with_history[deal] = True
    return {"deal": deal, "ord": ords, "ns": ns, "deals_without_history": int((~with_history).sum())}


def _business_days(ds, start_ns: np.ndarray, end_ns: np.ndarray) -> np.ndarray:
    cal = ds.calendar
    if len(start_ns) == 0:
        return np.zeros(0)
    out = cal.business_days_between(start_ns.view("datetime64[ns]"), end_ns.view("datetime64[ns]"))
    return np.asarray(out, dtype="float64")


def _frame_stays(ds, deal_pos, ords, entered_ns, left_ns, next_ords, source: str, extra_attrs: dict) -> pd.DataFrame:
    deals = ds.tables["deals"]
    keys = ds.funnel.keys
    as_of_ns = pd.Timestamp(ds.as_of).as_unit("ns").value
    observed = left_ns != _NAT
    end_ns = np.where(observed, left_ns, as_of_ns)
    # elapsed time: a stay across a clock change is not an hour short (salesaudit.data.clock)
    tz = getattr(ds.config, "timezone", None)
    days = np.maximum(utc_ns(end_ns.view("datetime64[ns]"), tz) - utc_ns(entered_ns.view("datetime64[ns]"), tz), 0) / _NS_PER_DAY
    is_current = ~observed
    manager = deals["manager"].take(deal_pos).reset_index(drop=True)
    manager = manager.fillna(NO_MANAGER).astype("string")
    out = pd.DataFrame(
        {
            "deal_id": deals["deal_id"].take(deal_pos).reset_index(drop=True).astype("string"),
            "manager": manager,
            "stage": pd.Categorical.from_codes(ords.astype(np.int64), categories=keys),
            "entered_at": entered_ns.view("datetime64[ns]"),
            "left_at": left_ns.view("datetime64[ns]"),
            "next_stage": pd.Categorical.from_codes(next_ords.astype(np.int64), categories=keys),
            "observed": observed,
            "is_current": is_current,
            "days": days,
            "business_days": _business_days(ds, entered_ns, end_ns),
            "amount": deals["amount"].to_numpy(dtype="float64", na_value=np.nan)[deal_pos] if len(deal_pos) else np.zeros(0),
        }
    )
    cal = ds.calendar
    out.attrs.update(
        {
            "source": source,
            "as_of": str(pd.Timestamp(ds.as_of)),
            "business_days_per_day": len(cal.workdays) / 7.0,
            **extra_attrs,
        }
    )
    return out


def stage_stays(ds, closed_stage: str | None = None) -> pd.DataFrame:
    """One row per stay of a deal in an open stage, the current stay censored at ``ds.as_of``.

    Columns: ``deal_id, manager`` (the deal's owner; ``"—"`` when empty), ``stage`` (a
    categorical in funnel order), ``entered_at``, ``left_at`` (the deal's next entry; NaT while
    it is still there), ``next_stage``, ``observed`` (the stay ended), ``is_current`` (the
    deal's present stay, the deal open), ``days`` (calendar days, fractional, up to ``left_at``
    or ``as_of``), ``business_days`` (working days of the run's calendar over the same span)
    and ``amount``.

    With ``stage_history``: entries are ordered by ``entered_at``, ties by funnel order. A stay
    ends at the deal's next entry; a won/lost entry ends a stay but is not one. When a deal is
    won or lost but its history lacks the terminal entry, its last stay ends at ``closed_at``
    (never censored: the deal is closed); a closed deal with no ``closed_at`` either cannot
    say when its last stay ended, so that stay is left out (counted in
    ``attrs["dropped_no_close"]``). A repeated entry into the stage the deal is already in is
    not a move and does not split the stay.

    Without ``stage_history`` (e.g. Maven's opportunities table, which keeps the current stage
    only) the stays are derived from ``deals``: **one stay per deal, in its last open stage**,
    from ``created_at`` to ``closed_at`` for won and lost deals, censored at ``as_of`` for open
    ones. The last open stage of an open deal is its current stage; for a closed deal it is
    ``closed_stage`` (default: the funnel's last open stage, the stage deals are closed from).
    Only that stage can then be measured; ``attrs["source"]`` is ``"deals"`` instead of
    ``"stage_history"``. The stay starts at ``created_at``, which is exact when deals are
    created in (or, as Maven's ``engage_date``, dated by entering) that stage; for an open deal
    that has moved on from the stage it was created in, the stay is its age, an upper bound.

    ``attrs`` also carries ``business_days_per_day`` (working days per calendar day of the
    calendar's week, 5/7 for Mon–Fri), used to express calendar-day norms in business days.
    """
    require_tables(ds, "deals", analysis=_ANALYSIS)
    if not ds.has("stage_history") or len(ds.tables["stage_history"]) == 0:
        return _stays_from_deals(ds, closed_stage)
    require_tables(ds, "deals", "stage_history", analysis=_ANALYSIS)
    funnel = ds.funnel
    deals = ds.tables["deals"]
    path = _ordered_path(ds)
    deal, ords, ns = path["deal"], path["ord"], path["ns"]
    n = len(deal)
    n_open = len(funnel.open_stages)
    order = funnel.order()
    same_next = np.zeros(n, dtype=bool)
    if n > 1:
        same_next[:-1] = deal[1:] == deal[:-1]
    left = np.full(n, _NAT, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    if n > 1:
        left[:-1] = np.where(same_next[:-1], ns[1:], _NAT)
        nxt[:-1] = np.where(same_next[:-1], ords[1:], -1)
    is_stay = ords < n_open
    closed = _closed_deals(deals)[deal]
    closed_at = _ns(deals["closed_at"])[deal]
    terminal = deals["outcome"].map({"won": order[funnel.won], "lost": order[funnel.lost]}).fillna(-1).to_numpy(dtype=np.int64)[deal]
    fix = is_stay & ~same_next & closed
    no_close = fix & (closed_at == _NAT)
    fix &= ~no_close
    left[fix] = np.maximum(closed_at[fix], ns[fix])
    nxt[fix] = terminal[fix]
    sel = is_stay & ~no_close
    return _frame_stays(
        ds,
        deal[sel],
        ords[sel],
        ns[sel],
        left[sel],
        nxt[sel],
        "stage_history",
        {"dropped_no_close": int(no_close.sum()), "deals_without_history": path["deals_without_history"]},
    )


def _stays_from_deals(ds, closed_stage: str | None) -> pd.DataFrame:
    funnel = ds.funnel
    deals = ds.tables["deals"]
    open_keys = funnel.open_stages
    closed_stage = closed_stage or open_keys[-1]
    if closed_stage not in open_keys:
        raise ValueError(f"closed_stage must be an open stage of the funnel ({', '.join(open_keys)}); got {closed_stage!r}")
    order = funnel.order()
    closed = _closed_deals(deals)
    cur = _positions(deals["stage"], pd.Series(funnel.keys, dtype="string"))
    ords = np.where(closed, order[closed_stage], cur)
    created = _ns(deals["created_at"])
    closed_at = _ns(deals["closed_at"])
    ok = (created != _NAT) & (ords >= 0) & (ords < len(open_keys)) & ~(closed & (closed_at == _NAT))
    pos = np.flatnonzero(ok)
    left = np.where(closed, np.maximum(closed_at, created), _NAT)[pos]
    nxt = np.where(closed, cur, -1)[pos]
    return _frame_stays(
        ds,
        pos,
        ords[pos],
        created[pos],
        left,
        nxt,
        "deals",
        {"dropped_no_close": int((closed & (closed_at == _NAT)).sum()), "deals_without_history": int(len(deals))},
    )


# ---------------------------------------------------------------------------
# team per stage


def _durations(frame: pd.DataFrame, unit: str) -> tuple[np.ndarray, np.ndarray]:
    return frame[unit].to_numpy(dtype="float64"), frame["observed"].to_numpy(dtype=bool)


def _by_stage(stays: pd.DataFrame, funnel) -> dict[str, pd.DataFrame]:
    groups = {str(k): g for k, g in stays.groupby("stage", observed=True, sort=False)}
    return {s: groups.get(s, stays.iloc[:0]) for s in funnel.open_stages}


def stage_norms(stays: pd.DataFrame, funnel, unit: str = "days", norms: dict | None = None) -> pd.DataFrame:
    """The norm of every open stage in ``unit``: ``stage, norm, norm_source``.

    ``norms`` (stage → value in ``unit``) overrides the funnel. Otherwise the funnel's
    ``norm_days`` (calendar days) is used, multiplied by ``attrs["business_days_per_day"]``
    (5/7 for a Mon–Fri week) when ``unit="business_days"``: 7 calendar days hold 5 working
    days. A stage without a norm gets the team's own Kaplan–Meier 80th percentile
    (``norm_source="derived"``): it lets managers be compared, but a norm derived from the
    team can never show that the whole team stalls.
    """
    _check_unit(unit)
    ratio = 1.0 if unit == "days" else float(stays.attrs.get("business_days_per_day", 5 / 7))
    given = funnel.norms()
    by_stage = None
    rows = []
    for s in funnel.open_stages:
        if norms and s in norms and norms[s] is not None:
            rows.append((s, float(norms[s]), "parameters"))
        elif given.get(s) is not None:
            rows.append((s, float(given[s]) * ratio, "parameters"))
        else:
            if by_stage is None:
                by_stage = _by_stage(stays, funnel)
            d, o = _durations(by_stage[s], unit)
            p80 = km_quantile(d, o, 0.8) if len(d) else np.nan
            rows.append((s, float(p80), "derived"))
    return pd.DataFrame(rows, columns=["stage", "norm", "norm_source"])


def _survival_ci_at(d: np.ndarray, o: np.ndarray, t: float, alpha: float) -> tuple[float, float, float]:
    """KM S(t) with its confidence interval, read off :func:`salesaudit.stats.kaplan_meier`."""
    if not len(d) or not np.isfinite(t):
        return (np.nan, np.nan, np.nan)
    km = kaplan_meier(d, o, alpha=alpha)
    times = km["time"].to_numpy(dtype="float64")
    i = int(np.searchsorted(times, t, side="right")) - 1
    s, lo, hi = (1.0, np.nan, np.nan) if i < 0 else tuple(float(km.iloc[i][c]) for c in ("survival", "ci_low", "ci_high"))
    # The log-log interval is undefined where S is exactly 1 (no stay ended by t) or 0 (all
    # ended). There the data are "k of n" with k = n or 0, and the exact (Clopper–Pearson)
    # bound for that is (alpha/2)^(1/n): n = stays known to outlast t, resp. all stays.
    if s >= 1.0:
        n = int(np.sum(d > t))
        return (1.0, float((alpha / 2) ** (1 / n)) if n else np.nan, 1.0 if n else np.nan)
    if s <= 0.0:
        return (0.0, 0.0, float(1 - (alpha / 2) ** (1 / len(d))))
    return (s, lo, hi)


def stage_summary(stays: pd.DataFrame, funnel, unit: str = "days", alpha: float = 0.05, stall_share: float = 0.5, norms: dict | None = None) -> pd.DataFrame:
    """Time in each open stage, in funnel order, censoring handled (Kaplan–Meier).

    Columns: ``stage, stays, open`` (stays still running, i.e. censored), ``median, p80, p90``
    (KM quantiles; NaN when the curve never falls that low), ``norm, norm_source``
    (``"parameters"``, or ``"derived"`` = the team's KM p80, see :func:`stage_norms`),
    ``share_over_norm`` (KM S(norm): the share of stays longer than the norm),
    ``share_over_ci_low, share_over_ci_high`` (its log-log confidence interval),
    ``naive_share_over_closed``, ``naive_median_closed``, ``naive_mean_closed`` (what a CRM
    shows: finished stays only, for contrast) and ``stalled``.

    **The stall rule.** A stage stalls when *most* of its stays exceed the norm, beyond sampling
    doubt: the lower bound of the ``1 - alpha`` confidence interval of ``share_over_norm`` is
    above ``stall_share`` (default 0.5, "most"). Equivalently, the KM median stay is
    significantly longer than the norm. A norm is a target most deals should meet (in the demo
    funnel a normal stage has about 20% of its stays over the norm), so a stage where more than
    half of the stays break it is stuck, and requiring the lower bound (not the point estimate)
    keeps a small stage from being called stuck on a handful of deals. The rule has no other
    parameter and nothing in it is fitted to a particular dataset. A stage whose norm is
    *derived* from the team's own p80 has S(norm) = 0.2 by construction, so it can never be
    flagged: a team-wide stall is invisible against a norm taken from the team itself.
    """
    _check_unit(unit)
    nm = stage_norms(stays, funnel, unit, norms).set_index("stage")
    by_stage = _by_stage(stays, funnel)
    rows = []
    for s in funnel.open_stages:
        d, o = _durations(by_stage[s], unit)
        norm = float(nm.at[s, "norm"])
        if len(d):
            q = km_quantiles(d, o, (0.5, 0.8, 0.9))
            share, lo, hi = _survival_ci_at(d, o, norm, alpha)
            closed = d[o]
        else:
            q = {0.5: np.nan, 0.8: np.nan, 0.9: np.nan}
            share = lo = hi = np.nan
            closed = d
        rows.append(
            {
                "stage": s,
                "stays": int(len(d)),
                "open": int((~o).sum()),
                "median": float(q[0.5]),
                "p80": float(q[0.8]),
                "p90": float(q[0.9]),
                "norm": norm,
                "norm_source": nm.at[s, "norm_source"],
                "share_over_norm": share,
                "share_over_ci_low": lo,
                "share_over_ci_high": hi,
                "naive_share_over_closed": float(np.mean(closed > norm)) if len(closed) and np.isfinite(norm) else np.nan,
                "naive_median_closed": float(np.median(closed)) if len(closed) else np.nan,
                "naive_mean_closed": float(np.mean(closed)) if len(closed) else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out["stalled"] = (out["share_over_ci_low"] > stall_share).fillna(False).astype(bool)
    out.attrs["unit"] = unit
    return out


# ---------------------------------------------------------------------------
# managers per stage


def logrank_one_vs_rest(durations, observed, groups) -> pd.DataFrame:
    """Log-rank test of every group against all the others, in one pass.

    The two-sample log-rank statistic of group ``m`` against the rest is
    ``(O_m - E_m)² / V_m`` with, over the distinct event times ``t`` (``n_t`` at risk, ``d_t``
    events, ``n_mt`` of them in ``m``), ``E_m = Σ d_t n_mt / n_t`` and the hypergeometric
    variance ``V_m = Σ w_t (n_mt/n_t)(1 - n_mt/n_t)``, ``w_t = d_t (n_t - d_t)/(n_t - 1)``.
    Since ``n_mt`` counts the subjects of ``m`` with ``T_i ≥ t``, ``E_m`` is the sum over the
    subjects of ``m`` of the pooled Nelson–Aalen hazard up to ``T_i``, and the variance's
    quadratic term is a sum over pairs of subjects at the smaller of their two times; both are
    computed for all groups with one sort (O(n log n) instead of one pass per group). The
    result equals :func:`salesaudit.stats.logrank` of the group against the rest (a test
    checks it). Returns ``group, n, events, expected, chi2, p_value, z`` (``z < 0``: fewer
    endings than expected, i.e. slower).
    """
    from scipy.stats import chi2 as _chi2

    t = np.asarray(durations, dtype="float64")
    d = np.asarray(observed, dtype=bool)
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    k = len(uniques)
    if len(t) == 0 or k == 0:
        return pd.DataFrame(columns=["group", "n", "events", "expected", "chi2", "p_value", "z"])
    ev_t, d_t = np.unique(t[d], return_counts=True)
    if len(ev_t) == 0:  # no stay has ended: nothing to compare
        n_m = np.bincount(codes, minlength=k)
        nan = np.full(k, np.nan)
        return pd.DataFrame({"group": list(uniques), "n": n_m.astype(int), "events": np.zeros(k, dtype=int), "expected": np.zeros(k), "chi2": nan, "p_value": nan, "z": nan})
    ts = np.sort(t)
    n_t = (len(t) - np.searchsorted(ts, ev_t, side="left")).astype("float64")
    d_t = d_t.astype("float64")
    w = np.where(n_t > 1, d_t * (n_t - d_t) / np.maximum(n_t - 1, 1), 0.0)
    H = np.cumsum(d_t / n_t)
    A = np.cumsum(w / n_t)
    B = np.cumsum(w / n_t**2)
    pos = np.searchsorted(ev_t, t, side="right") - 1
    has = pos >= 0
    Hi = np.where(has, H[np.maximum(pos, 0)], 0.0)
    Ai = np.where(has, A[np.maximum(pos, 0)], 0.0)
    Bi = np.where(has, B[np.maximum(pos, 0)], 0.0)
    n_m = np.bincount(codes, minlength=k).astype("float64")
    O = np.bincount(codes, weights=d.astype("float64"), minlength=k)  # noqa: E741 (observed events, the log-rank O)
    E = np.bincount(codes, weights=Hi, minlength=k)
    V1 = np.bincount(codes, weights=Ai, minlength=k)
    srt = np.lexsort((t, codes))
    c_s = codes[srt]
    start = np.searchsorted(c_s, np.arange(k), side="left")
    rank = np.arange(len(t)) - start[c_s]
    V2 = np.bincount(c_s, weights=Bi[srt] * (2.0 * (n_m[c_s] - rank) - 1.0), minlength=k)
    V = V1 - V2
    U = O - E
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(V > 1e-12, U**2 / V, np.nan)
        z = np.where(V > 1e-12, U / np.sqrt(V), np.nan)
    p = np.where(np.isfinite(chi2), _chi2.sf(np.nan_to_num(chi2), 1), np.nan)
    return pd.DataFrame({"group": list(uniques), "n": n_m.astype(int), "events": O.astype(int), "expected": E, "chi2": chi2, "p_value": p, "z": z})


def manager_stage_summary(stays: pd.DataFrame, funnel, unit: str = "days", min_stays: int = 15, alpha: float = 0.05, norms: dict | None = None,
                          min_ended: int = 5) -> pd.DataFrame:
    """Each manager in each stage against the rest of the team.

    Columns: ``stage, manager, stays, open, median, p80`` (KM), ``norm``, ``share_over_norm``
    (KM) with its confidence interval ``share_over_ci_low`` / ``share_over_ci_high``, ``team_median`` (the whole team's KM median in the stage), ``chi2, p_value`` (log-rank
    of this manager against the rest of the team in this stage, :func:`logrank_one_vs_rest`),
    ``p_adjusted`` (Holm over all judgeable manager × stage tests), ``direction`` (``"slower"``
    when the manager's stays end less often than expected, else ``"faster"``), ``judgeable``
    (at least ``min_stays`` stays, at least ``min_ended`` of them ended), ``flag`` (``"slower"`` or ``""``:
    only when judgeable and ``p_adjusted < alpha``) and ``faster`` (significantly faster: shown
    as information, not flagged — a stage left quickly is nothing to act on, and against a "rest
    of the team" that holds a very slow colleague everyone else looks faster).

    Sorted worst first: flagged slower (most significant first), then the rest from slowest
    to fastest by the signed log-rank z, flagged faster last.
    """
    _check_unit(unit)
    nm = stage_norms(stays, funnel, unit, norms).set_index("stage")["norm"]
    by_stage = _by_stage(stays, funnel)
    parts = []
    for s in funnel.open_stages:
        sub = by_stage[s]
        if not len(sub):
            continue
        d, o = _durations(sub, unit)
        mgr = sub["manager"].astype(object).to_numpy()
        lr = logrank_one_vs_rest(d, o, mgr).set_index("group")
        team_median = km_quantile(d, o, 0.5)
        norm = float(nm[s])
        codes, uniques = pd.factorize(pd.Series(mgr), sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for j, m in enumerate(uniques):
            idx = order[bounds[j] : bounds[j + 1]]
            dm, om = d[idx], o[idx]
            q = km_quantiles(dm, om, (0.5, 0.8))
            parts.append(
                {
                    "stage": s,
                    "manager": m,
                    "stays": int(len(dm)),
                    "open": int((~om).sum()),
                    "ended": int(om.sum()),
                    "median": float(q[0.5]),
                    "p80": float(q[0.8]),
                    "norm": norm,
                    **dict(zip(("share_over_norm", "share_over_ci_low", "share_over_ci_high"), _survival_ci_at(dm, om, norm, alpha))),
                    "team_median": float(team_median),
                    "chi2": float(lr.at[m, "chi2"]),
                    "p_value": float(lr.at[m, "p_value"]),
                    "z": float(lr.at[m, "z"]),
                }
            )
    cols = ["stage", "manager", "stays", "open", "median", "p80", "norm", "share_over_norm", "share_over_ci_low", "share_over_ci_high", "team_median",
            "chi2", "p_value", "p_adjusted", "direction", "judgeable", "flag", "faster"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(parts)
    out["direction"] = np.where(out["z"] < 0, "slower", "faster")
    out["judgeable"] = (out["stays"] >= min_stays) & (out["ended"] >= min_ended)
    tested = out["judgeable"] & out["p_value"].notna()
    out["p_adjusted"] = np.nan
    if tested.any():
        out.loc[tested, "p_adjusted"] = np.asarray(holm(out.loc[tested, "p_value"].to_numpy()), dtype="float64")
    sig = tested & (out["p_adjusted"] < alpha)
    # only "slower" is a flag: a stage left quickly is nothing to act on, and against a "rest of the
    # team" that holds a very slow colleague the others look faster; it stays visible as information
    out["flag"] = np.where(sig & (out["direction"] == "slower"), "slower", "")
    out["faster"] = sig & (out["direction"] == "faster")
    group = np.where(out["flag"] == "slower", 0, np.where(out["faster"], 2, 1))
    out["_g"] = group
    out["_z"] = out["z"].fillna(0.0)
    out["_o"] = out["stage"].map(funnel.order())
    out = out.sort_values(["_g", "_z", "_o", "manager"], kind="mergesort").reset_index(drop=True)
    out = out[cols]
    out.attrs["unit"] = unit
    out.attrs["tests"] = int(tested.sum())
    return out


# ---------------------------------------------------------------------------
# the action list


def action_list(stays: pd.DataFrame, funnel, unit: str = "days", norms: dict | None = None) -> pd.DataFrame:
    """Open deals whose current stay already exceeds the stage norm: the head of sales' worklist.

    Columns: ``deal_id, manager, stage, entered_at, days_in_stage`` (in ``unit``), ``norm``,
    ``days_over`` (``days_in_stage - norm``), ``amount``; the largest amount (money at risk)
    first, then the longest over the norm, then the deal id (deals without an amount last).
    A stage without a norm in the funnel uses the team's 80th percentile (:func:`stage_norms`).
    """
    _check_unit(unit)
    nm = stage_norms(stays, funnel, unit, norms).set_index("stage")["norm"]
    cur = stays[stays["is_current"].to_numpy(dtype=bool)]
    norm = cur["stage"].astype(object).map(nm).astype("float64").to_numpy()
    value = cur[unit].to_numpy(dtype="float64")
    over = np.isfinite(norm) & (value > norm)
    c = cur[over]
    out = pd.DataFrame(
        {
            "deal_id": c["deal_id"].to_numpy(),
            "manager": c["manager"].to_numpy(),
            "stage": c["stage"].to_numpy(),
            "entered_at": c["entered_at"].to_numpy(),
            "days_in_stage": value[over],
            "norm": norm[over],
            "days_over": value[over] - norm[over],
            "amount": c["amount"].to_numpy(dtype="float64"),
        }
    )
    out["deal_id"] = out["deal_id"].astype("string")
    out["manager"] = out["manager"].astype("string")
    out["stage"] = pd.Categorical(out["stage"], categories=stays["stage"].cat.categories if hasattr(stays["stage"], "cat") else None)
    out = out.sort_values(["amount", "days_over", "deal_id"], ascending=[False, False, True], na_position="last", kind="mergesort").reset_index(drop=True)
    out.attrs["unit"] = unit
    return out


# ---------------------------------------------------------------------------
# process compliance


def _examples(frame: pd.DataFrame, n: int) -> pd.Series:
    """Per manager: the first ``n`` distinct deal ids of ``frame`` (in its order), comma-joined."""
    if not len(frame):
        return pd.Series(dtype=object)
    first = frame.drop_duplicates("deal_id").groupby("manager", sort=False).head(n)
    return first.groupby("manager", sort=False)["deal_id"].agg(lambda s: ", ".join(map(str, s)))


def compliance(ds, tolerance: float = 0.02, backward_tolerance: float = 0.05, min_deals: int = 10, alpha: float = 0.05, examples: int = 3) -> dict[str, pd.DataFrame]:
    """Does the team follow the process? Skips, backward moves and loops from the stage paths.

    Each deal's path is its stage history ordered by time (ties in funnel order), repeated
    entries into the stage it is already in dropped. Returns a dict of DataFrames:

    * ``skips``: one row per deal and mandatory stage the deal moved past without ever having
      entered it: ``deal_id, manager, skipped, from_stage`` (NA when the deal's first entry
      already lay past it), ``to_stage, at``. "Past" means a later open stage or the won
      terminal; a deal lost early has skipped nothing.
    * ``backward``: every move from an open stage to an earlier open stage:
      ``deal_id, manager, from_stage, to_stage, at``.
    * ``loops``: every re-entry into a stage the deal had already visited:
      ``deal_id, manager, stage, at``.
    * ``per_manager``: ``manager, deals`` (deals with history), ``eligible`` (deals that
      reached a stage past a mandatory one), ``skips`` (of those, deals that skipped one),
      ``skip_rate, skip_ci_low, skip_ci_high`` (Wilson), ``judgeable`` (``eligible >=
      min_deals``), ``p_value`` (one-sided exact binomial test of skip rate > ``tolerance``,
      the allowance for a stray CRM mis-click), ``p_adjusted`` (Holm over the judgeable
      managers), ``flag``, ``skip_examples`` (the first ``examples`` deal ids), and the same
      for backward moves against ``backward_tolerance`` over all the manager's deals:
      ``backward`` (deals with a backward move), ``backward_moves``, ``backward_rate,
      backward_ci_low, backward_ci_high, backward_judgeable, backward_p_value,
      backward_p_adjusted, backward_flag, backward_examples``; then ``loops`` (deals with a
      re-entry), ``loop_moves, loop_examples``. Flagged managers first.
    """
    require_tables(ds, "deals", "stage_history", analysis="the process-compliance check (notebook 02)")
    funnel = ds.funnel
    deals = ds.tables["deals"]
    keys = pd.Series(funnel.keys, dtype="string")
    order = funnel.order()
    n_open = len(funnel.open_stages)
    lost_o = order[funnel.lost]
    path = _ordered_path(ds)
    deal, ords, ns = path["deal"], path["ord"].astype(np.int64), path["ns"]
    n = len(deal)
    first = np.ones(n, dtype=bool)
    if n > 1:
        first[1:] = deal[1:] != deal[:-1]
    prev = np.full(n, -1, dtype=np.int64)
    if n > 1:
        prev[1:] = np.where(first[1:], -1, ords[:-1])
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else np.zeros(0, dtype=np.int64)
    mgr_codes, mgr_names = pd.factorize(deals["manager"].fillna(NO_MANAGER).astype(object), sort=True)
    n_mgr = len(mgr_names)

    def stage_names(codes) -> pd.Series:
        codes = np.asarray(codes, dtype=np.int64)
        out = keys.take(np.maximum(codes, 0)).reset_index(drop=True)
        return out.where(codes >= 0, pd.NA)

    def frame(rows: np.ndarray, **cols) -> pd.DataFrame:
        pos = deal[rows]
        out = pd.DataFrame(
            {
                "deal_id": deals["deal_id"].take(pos).reset_index(drop=True).astype("string"),
                "manager": pd.Series(np.asarray(mgr_names, dtype=object)[mgr_codes[pos]], dtype="string"),
            }
        )
        for k, v in cols.items():
            out[k] = v(rows)
        return out

    def at(rows):
        return ns[rows].view("datetime64[ns]")

    # skips of mandatory stages: a move past m (to a later open stage or won) before ever entering m
    eligible = np.zeros(len(deals), dtype=bool)
    skipped_deal = np.zeros(len(deals), dtype=bool)
    skip_parts = []
    for m in funnel.mandatory:
        mo = order[m]
        if mo >= n_open:
            continue
        is_m = (ords == mo).astype(np.int64)
        cum = np.cumsum(is_m)
        before = cum - is_m - (cum[group_start] - is_m[group_start]) if n else cum
        past = (ords > mo) & (ords != lost_o)
        eligible[deal[past]] = True
        hit = np.flatnonzero(past & (prev < mo) & (before == 0))
        if len(hit):  # one row per deal: its first such move
            hit = hit[np.concatenate([[True], deal[hit][1:] != deal[hit][:-1]])]
        skipped_deal[deal[hit]] = True
        skip_parts.append(
            frame(
                hit,
                skipped=lambda r, m=m: pd.Series([m] * len(r), dtype="string"),
                from_stage=lambda r: stage_names(prev[r]),
                to_stage=lambda r: stage_names(ords[r]),
                at=at,
            )
        )
    if skip_parts:
        skips = pd.concat(skip_parts, ignore_index=True).sort_values(["at", "deal_id"], kind="mergesort").reset_index(drop=True)
    else:
        skips = frame(np.zeros(0, dtype=np.int64), skipped=lambda r: stage_names(r), from_stage=lambda r: stage_names(r), to_stage=lambda r: stage_names(r), at=at)

    # backward moves between open stages
    back = np.flatnonzero((prev >= 0) & (prev < n_open) & (ords < n_open) & (ords < prev))
    backward = frame(back, from_stage=lambda r: stage_names(prev[r]), to_stage=lambda r: stage_names(ords[r]), at=at)
    # loops: re-entries into a stage already visited (every entry of a (deal, stage) but the first)
    key = deal.astype(np.int64) * (len(funnel.keys) + 1) + ords
    seen_first = np.zeros(n, dtype=bool)
    if n:
        _, first_idx = np.unique(key, return_index=True)
        seen_first[first_idx] = True
    loop = np.flatnonzero(~seen_first)
    loops = frame(loop, stage=lambda r: stage_names(ords[r]), at=at)

    # per manager
    has_hist = np.zeros(len(deals), dtype=bool)
    has_hist[deal] = True
    back_deal = np.zeros(len(deals), dtype=bool)
    back_deal[deal[back]] = True
    loop_deal = np.zeros(len(deals), dtype=bool)
    loop_deal[deal[loop]] = True

    def per(mask, weights=None):
        return np.bincount(mgr_codes[mask], minlength=n_mgr) if weights is None else np.bincount(mgr_codes, weights=weights, minlength=n_mgr)

    pm = pd.DataFrame(
        {
            "manager": pd.Series(list(mgr_names), dtype="string"),
            "deals": per(has_hist),
            "eligible": per(eligible & has_hist),
            "skips": per(skipped_deal),
            "backward": per(back_deal),
            "backward_moves": np.bincount(mgr_codes[deal[back]], minlength=n_mgr),
            "loops": per(loop_deal),
            "loop_moves": np.bincount(mgr_codes[deal[loop]], minlength=n_mgr),
        }
    )
    pm = pm[pm["deals"] > 0].reset_index(drop=True)

    def rate_ci(k, nn):
        k = k.to_numpy(dtype="float64")
        nn = nn.to_numpy(dtype="float64")
        r = np.where(nn > 0, k / np.maximum(nn, 1), np.nan)
        lo, hi = wilson(k, nn, alpha)
        return r, np.asarray(lo, dtype="float64"), np.asarray(hi, dtype="float64")

    pm["skip_rate"], pm["skip_ci_low"], pm["skip_ci_high"] = rate_ci(pm["skips"], pm["eligible"])
    pm["judgeable"] = pm["eligible"] >= min_deals
    pm["p_value"], pm["p_adjusted"], pm["flag"] = rate_above_tolerance(pm["skips"], pm["eligible"], tolerance, pm["judgeable"], alpha)
    pm["skip_examples"] = pm["manager"].astype(object).map(_examples(skips, examples)).fillna("").astype(str)
    pm["backward_rate"], pm["backward_ci_low"], pm["backward_ci_high"] = rate_ci(pm["backward"], pm["deals"])
    pm["backward_judgeable"] = pm["deals"] >= min_deals
    pm["backward_p_value"], pm["backward_p_adjusted"], pm["backward_flag"] = rate_above_tolerance(pm["backward"], pm["deals"], backward_tolerance, pm["backward_judgeable"], alpha)
    pm["backward_examples"] = pm["manager"].astype(object).map(_examples(backward, examples)).fillna("").astype(str)
    pm["loop_examples"] = pm["manager"].astype(object).map(_examples(loops, examples)).fillna("").astype(str)
    pm = pm[
        [
            "manager", "deals", "eligible", "skips", "skip_rate", "skip_ci_low", "skip_ci_high", "judgeable", "p_value", "p_adjusted", "flag", "skip_examples",
            "backward", "backward_moves", "backward_rate", "backward_ci_low", "backward_ci_high", "backward_judgeable", "backward_p_value", "backward_p_adjusted", "backward_flag", "backward_examples",
            "loops", "loop_moves", "loop_examples",
        ]
    ]
    pm = pm.sort_values(["flag", "backward_flag", "skip_rate", "manager"], ascending=[False, False, False, True], kind="mergesort").reset_index(drop=True)
    pm.attrs.update({"tolerance": tolerance, "backward_tolerance": backward_tolerance, "min_deals": min_deals, "mandatory": list(funnel.mandatory)})
    return {"skips": skips, "backward": backward, "loops": loops, "per_manager": pm}


# ---------------------------------------------------------------------------
# Kaplan–Meier curves


def km_curves(stays: pd.DataFrame, funnel, unit: str = "days", alpha: float = 0.05) -> pd.DataFrame:
    """The Kaplan–Meier "still in the stage" curve of every open stage with stays, in funnel order.

    One row per stage and distinct stay length: ``stage`` and the columns of
    :func:`salesaudit.stats.kaplan_meier` (``time, at_risk, events, censored, survival, ci_low,
    ci_high``; the interval at level ``1 - alpha``).
    """
    _check_unit(unit)
    by_stage = _by_stage(stays, funnel)
    parts = []
    for s in funnel.open_stages:
        d, o = _durations(by_stage[s], unit)
        if len(d):
            km = kaplan_meier(d, o, alpha=alpha)
            km.insert(0, "stage", s)
            parts.append(km)
    if not parts:
        return kaplan_meier([], [], alpha=alpha).assign(stage=pd.Series(dtype=object))[["stage", "time", "at_risk", "events", "censored", "survival", "ci_low", "ci_high"]]
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------
# key results


def _key_results(ss: pd.DataFrame, ms: pd.DataFrame, al: pd.DataFrame, per_manager: pd.DataFrame | None, skips: pd.DataFrame | None,
                 source: str, unit: str) -> dict:
    """The key results of :func:`summary`, read off its tables (``per_manager``/``skips``: None without a stage history)."""
    skippers: list[str] = []
    backward: list[str] = []
    skipped = 0
    if per_manager is not None:
        skippers = sorted(per_manager.loc[per_manager["flag"], "manager"].astype(str))
        backward = sorted(per_manager.loc[per_manager["backward_flag"], "manager"].astype(str))
        skipped = int(skips["deal_id"].nunique())
    measured = ss[ss["stays"] > 0]

    def r(x, nd=3):
        return None if pd.isna(x) else round(float(x), nd)

    return {
        "stalled_stages": [str(s) for s in ss.loc[ss["stalled"], "stage"]],
        "slow_managers": [f"{m}:{s}" for m, s in zip(ms.loc[ms["flag"] == "slower", "manager"], ms.loc[ms["flag"] == "slower", "stage"])],
        "fast_managers": [f"{m}:{s}" for m, s in zip(ms.loc[ms["faster"], "manager"], ms.loc[ms["faster"], "stage"])],
        "skipping_managers": skippers,
        "backward_managers": backward,
        "skipped_deals": skipped,
        "open_over_norm": int(len(al)),
        "money_at_risk": None if al["amount"].isna().all() else float(al["amount"].sum()),
        f"median_{unit}": {str(s): r(v) for s, v in zip(measured["stage"], measured["median"])},
        f"p80_{unit}": {str(s): r(v) for s, v in zip(measured["stage"], measured["p80"])},
        "share_over_norm": {str(s): r(v) for s, v in zip(measured["stage"], measured["share_over_norm"])},
        "stays_source": source,
    }


def summary(ds, unit: str = "days", stays: pd.DataFrame | None = None, alpha: float = 0.05, stall_share: float = 0.5, min_stays: int = 15,
            tolerance: float = 0.02, backward_tolerance: float = 0.05, min_deals: int = 10, min_ended: int = 5) -> dict:
    """Key results of the stall and compliance analysis (language-neutral), for ``record``.

    ``stalled_stages``; ``slow_managers`` / ``fast_managers`` (``"manager:stage"`` flagged by
    :func:`manager_stage_summary`); ``skipping_managers`` / ``backward_managers`` (flagged by
    :func:`compliance`; empty without a stage history); ``skipped_deals``; ``open_over_norm``
    and ``money_at_risk`` (count and amount of :func:`action_list`; ``None`` when no deal on
    it has an amount); per measured stage
    ``median_<unit>``, ``p80_<unit>`` and ``share_over_norm`` (dicts stage → value); and
    ``stays_source`` (``"stage_history"`` or ``"deals"``). Pass ``stays`` to reuse
    :func:`stage_stays` output. :meth:`StallsResult.key_figures` gives the same, read off the result.
    """
    _check_unit(unit)
    funnel = ds.funnel
    if stays is None:
        stays = stage_stays(ds)
    ss = stage_summary(stays, funnel, unit, alpha=alpha, stall_share=stall_share)
    ms = manager_stage_summary(stays, funnel, unit, min_stays=min_stays, alpha=alpha, min_ended=min_ended)
    al = action_list(stays, funnel, unit)
    comp = None
    if ds.has("stage_history") and len(ds.tables["stage_history"]):
        comp = compliance(ds, tolerance=tolerance, backward_tolerance=backward_tolerance, min_deals=min_deals, alpha=alpha)
    return _key_results(ss, ms, al, comp["per_manager"] if comp else None, comp["skips"] if comp else None,
                        str(stays.attrs.get("source", "stage_history")), unit)


# ---------------------------------------------------------------------------
# the result of notebook 02


@dataclass(frozen=True)
class StallsResult:
    """What notebook 02 reports, computed once (:func:`analyse`).

    Tables (canonical column names; ``stage`` holds funnel keys, ``manager`` manager keys):

    * ``stays_`` – every stay of a deal in an open stage (:func:`stage_stays`);
    * ``stages_`` / ``stages_business_`` – time in each open stage, in calendar / business days (:func:`stage_summary`);
    * ``km_`` – the Kaplan–Meier curve of each measured stage, calendar days (:func:`km_curves`);
    * ``managers_`` / ``managers_business_`` – each manager in each stage against the team (:func:`manager_stage_summary`);
    * ``actions_`` – open deals over their stage norm, the most money first (:func:`action_list`, calendar days);
    * ``compliance_``, ``skips_``, ``backward_``, ``loops_`` – process compliance per manager and its
      skips, backward moves and loops (:func:`compliance`); ``None`` without a stage history.

    ``source`` is where the stays come from (``"stage_history"`` or ``"deals"``), ``settings``
    the ``analysis.stalls`` settings used, ``manager_tests`` the log-rank tests behind ``managers_``
    (calendar days), ``business_days_per_day`` the calendar's working days per calendar day.
    """

    client: str
    as_of: pd.Timestamp
    source: str
    settings: Any
    funnel: Any
    manager_names: dict
    business_days_per_day: float
    stays_: pd.DataFrame
    stages_: pd.DataFrame
    km_: pd.DataFrame
    managers_: pd.DataFrame
    manager_tests: int
    actions_: pd.DataFrame
    stages_business_: pd.DataFrame
    managers_business_: pd.DataFrame
    compliance_: pd.DataFrame | None = None
    skips_: pd.DataFrame | None = None
    backward_: pd.DataFrame | None = None
    loops_: pd.DataFrame | None = None

    @property
    def has_history(self) -> bool:
        """Whether the stays come from a stage history (else one stay per deal, from ``deals``; no compliance)."""
        return self.source == "stage_history"

    @property
    def money_at_risk(self) -> float:
        """The amount of the open deals over the norm (NaN when none of them has an amount)."""
        return float(self.actions_["amount"].sum(min_count=1))

    @property
    def backward_deals(self) -> int:
        """Deals with a backward move (0 without a stage history)."""
        return int(self.backward_["deal_id"].nunique()) if self.backward_ is not None else 0

    @property
    def backward_share(self) -> float:
        """Their share of the deals with a stage history."""
        deals = int(self.compliance_["deals"].sum()) if self.compliance_ is not None else 0
        return self.backward_deals / max(deals, 1)

    @property
    def backward_managers(self) -> list[str]:
        """Managers flagged for backward moves, in the order of ``compliance_``."""
        return [] if self.compliance_ is None else self.compliance_.loc[self.compliance_["backward_flag"], "manager"].tolist()

    @property
    def loop_deals(self) -> int:
        """Deals with a re-entry into a stage already visited (0 without a stage history)."""
        return int(self.loops_["deal_id"].nunique()) if self.loops_ is not None else 0

    def key_figures(self) -> dict:
        """The key results of notebook 02's JSON (language-neutral), read off this result: those of
        :func:`summary` in calendar days, and ``stalled_stages_business_days``."""
        out = _key_results(self.stages_, self.managers_, self.actions_, self.compliance_, self.skips_, self.source, "days")
        out["stalled_stages_business_days"] = [str(s) for s in self.stages_business_.loc[self.stages_business_["stalled"], "stage"]]
        return out


def analyse(ds, settings=None) -> StallsResult:
    """The stage-stall result of a loaded dataset.

    ``settings``: the ``analysis.stalls`` settings (``ds.config.analysis.settings("stalls", ...)``);
    None: the run config's.
    """
    st = settings if settings is not None else ds.config.analysis.settings("stalls")
    funnel = ds.funnel
    stays = stage_stays(ds)
    source = str(stays.attrs.get("source", "stage_history"))
    per_unit = {}
    for unit in UNITS:
        per_unit[unit] = (stage_summary(stays, funnel, unit, alpha=st.alpha, stall_share=st.stall_share),
                          manager_stage_summary(stays, funnel, unit, min_stays=st.min_stays, alpha=st.alpha, min_ended=st.min_ended))
    comp = {}
    if source == "stage_history":
        comp = compliance(ds, tolerance=st.tolerance, backward_tolerance=st.backward_tolerance, min_deals=st.min_deals, alpha=st.alpha)
    managers = per_unit["days"][1]
    return StallsResult(
        client=ds.config.client,
        as_of=pd.Timestamp(ds.as_of),
        source=source,
        settings=st,
        funnel=funnel,
        manager_names=dict(ds.manager_names()),
        business_days_per_day=float(stays.attrs["business_days_per_day"]),
        stays_=stays,
        stages_=per_unit["days"][0],
        km_=km_curves(stays, funnel, "days", alpha=st.alpha),
        managers_=managers,
        manager_tests=int(managers.attrs.get("tests", 0)),
        actions_=action_list(stays, funnel, "days"),
        stages_business_=per_unit["business_days"][0],
        managers_business_=per_unit["business_days"][1],
        compliance_=comp.get("per_manager"),
        skips_=comp.get("skips"),
        backward_=comp.get("backward"),
        loops_=comp.get("loops"),
    )
