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
  (``unit="days"`` or ``unit="business_days"`` everywhere): working minutes over the length of
  one working day. Every table also carries its durations in seconds at full precision
  (``median_s`` elapsed, ``median_working_s`` working), so that a stage of minutes is not
  "0.001 days"; the report picks the unit that fits. A norm is compared in the unit of the
  measure: N calendar days, or N working days (:func:`stage_norms`).
* A stay is charged to the deal's owner or, with the run config's ``stay_owner: moved_by``, to
  whoever moved the deal into the stage (:func:`stage_stays`).
* Managers are compared with the rest of the *team* in each stage (deals without a manager, of
  system users and of the head of sales are reported apart, :mod:`salesaudit.analysis.baseline`)
  with a log-rank test (censoring handled), Holm-corrected over every manager × stage test, and
  an effect size: the ratio of the Kaplan–Meier medians with its interval and their difference
  in working hours. A manager is flagged only when the test is significant *and* the effect is
  big enough (``min_ratio``, ``min_difference_hours``); a manager with too few stays is "not
  judged" rather than flagged.
* Process compliance (skipped mandatory stages, backward moves, loops) is read from each deal's
  path through the stage history, and a manager is flagged only when his rate is significantly
  above a tolerance for stray CRM mis-clicks (one-sided exact binomial test, Holm-corrected)
  *and* the excess over it is at least ``min_effect``.

Every analysis function returns a language-neutral DataFrame (stage keys, manager keys, column
names as documented). ``analyse(dataset, settings) -> StallsResult`` computes everything notebook
02 shows, once; the page a reader sees (tables renamed, texts, plots in one language) is made from
the result by :mod:`salesaudit.report.stalls`, and the key figures notebook 02 records come from
:meth:`StallsResult.key_figures`, never from a second computation. The display helpers
(``report_table``, ``money``, ``describe_*``, ``plot_*``) are in the report module.

Everything is vectorised (numpy over the whole history; per-group Kaplan–Meier via groupby; the
rest of the team's median and its interval from the team's risk table minus one manager's), so
a million deals with a few million history rows take seconds, not hours.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data.clock import utc_ns
from ..data.model import require_tables
from ..stats import _QUANTILE_TOL, _check_alpha, _km_fit, _survival_input, _z, holm, kaplan_meier, km_quantile, rate_above_tolerance, wilson
from ..stats.effect import judge, median_ratio
from .baseline import TEAM, owner_group, people_mask

__all__ = [
    "UNITS",
    "STAY_OWNERS",
    "SECONDS_SUFFIX",
    "OUTSIDE",
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
    "people_stays",
    "stage_exits",
    "logrank_one_vs_rest",
]

#: the time units every summary accepts: the column of :func:`stage_stays` it reads
UNITS = ("days", "business_days")
#: the manager key shown for deals without a manager
NO_MANAGER = "—"
#: who a stay is charged to (the run config's ``stay_owner``)
STAY_OWNERS = ("deal_owner", "moved_by")
#: per unit: the suffix of the columns that hold the same durations in seconds (elapsed / working)
SECONDS_SUFFIX = {"days": "_s", "business_days": "_working_s"}
#: the verdict of a manager × stage (or compliance) row whose owner is outside the team
#: (no manager, a system user, the head of sales): reported, never tested
OUTSIDE = "outside_team"

#: per unit: what a norm of N days means in it (see :func:`stage_norms`)
_NORM_BASIS = {"days": "calendar_days", "business_days": "working_days"}

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


def _in_order(deal: np.ndarray, ns: np.ndarray, ords: np.ndarray) -> bool:
    """Whether the rows are already sorted by deal, then time, then funnel order (ties allowed)."""
    if len(deal) < 2:
        return True
    a, b = slice(None, -1), slice(1, None)
    same_deal = deal[b] == deal[a]
    same_time = ns[b] == ns[a]
    ok = (deal[b] > deal[a]) | (same_deal & ((ns[b] > ns[a]) | (same_time & (ords[b] >= ords[a]))))
    return bool(ok.all())


def _ordered_path(ds) -> dict:
    """Every deal's path through the funnel, as numpy arrays sorted by deal, time, funnel order.

    Rows whose deal is not in ``deals`` (the loader already quarantines them) or whose stage is
    not a funnel key are ignored. A repeated entry into the stage the deal is already in (a
    re-save in the CRM) is not a move and is dropped, so it neither splits a stay nor counts as
    a loop. Returns ``deal`` (row position in ``deals``), ``ord`` (funnel position), ``ns``
    (entered_at in ns), ``row`` (the entry's row position in ``stage_history``: the row that moved
    the deal into the stage) and the number of deals without any history row.
    """
    deals = ds.tables["deals"]
    hist = ds.tables["stage_history"]
    keys = ds.funnel.keys
    ords = _positions(hist["stage"], pd.Series(keys, dtype="string")).astype(np.int16)
    deal = _positions(hist["deal_id"], deals["deal_id"])
    ns = _ns(hist["entered_at"])
    keep = (ords >= 0) & (deal >= 0) & (ns != _NAT)
    row = np.flatnonzero(keep)
    deal, ords, ns = deal[keep], ords[keep], ns[keep]
    if not _in_order(deal, ns, ords):  # an export is usually ordered already: then the (stable) sort would change nothing
        order = np.lexsort((ords, ns, deal))
        deal, ords, ns, row = deal[order], ords[order], ns[order], row[order]
    if len(deal) > 1:
        repeat = np.zeros(len(deal), dtype=bool)
        repeat[1:] = (deal[1:] == deal[:-1]) & (ords[1:] == ords[:-1])
        deal, ords, ns, row = deal[~repeat], ords[~repeat], ns[~repeat], row[~repeat]
    with_history = np.zeros(len(deals), dtype=bool)
    with_history[deal] = True
    return {"deal": deal, "ord": ords, "ns": ns, "row": row, "deals_without_history": int((~with_history).sum())}


def _working_minutes(ds, start_ns: np.ndarray, end_ns: np.ndarray) -> np.ndarray:
    """Working minutes of the run's calendar in ``[start, end)`` (:meth:`WorkCalendar.working_minutes_between`)."""
    if len(start_ns) == 0:
        return np.zeros(0)
    out = ds.calendar.working_minutes_between(start_ns.view("datetime64[ns]"), end_ns.view("datetime64[ns]"))
    return np.asarray(out, dtype="float64")


def _blank(values: pd.Series) -> np.ndarray:
    """Where a manager column is empty (missing or only spaces)."""
    v = values.astype("string")
    return (v.isna() | (v.str.strip() == "")).to_numpy(dtype=bool, na_value=True)


def _frame_stays(ds, deal_pos, ords, entered_ns, left_ns, next_ords, source: str, extra_attrs: dict, mover=None) -> pd.DataFrame:
    """The stays frame; ``mover``: per stay, who moved the deal into the stage (charged instead of the
    owner where given and not empty; None: every stay is charged to the deal's owner)."""
    deals = ds.tables["deals"]
    keys = ds.funnel.keys
    as_of_ns = pd.Timestamp(ds.as_of).as_unit("ns").value
    observed = left_ns != _NAT
    end_ns = np.where(observed, left_ns, as_of_ns)
    # elapsed time: a stay across a clock change is not an hour short (salesaudit.data.clock)
    tz = getattr(ds.config, "timezone", None)
    elapsed_ns = np.maximum(utc_ns(end_ns.view("datetime64[ns]"), tz) - utc_ns(entered_ns.view("datetime64[ns]"), tz), 0)
    is_current = ~observed
    owner = deals["manager"].take(deal_pos).reset_index(drop=True).astype("string")
    charged = owner
    fallback = 0
    if mover is not None:
        mover = pd.Series(mover, dtype="string").reset_index(drop=True)
        empty = _blank(mover)
        fallback = int(empty.sum())
        charged = mover.where(~empty, owner)
    codes, uniques = pd.factorize(charged.astype(object).where(charged.notna(), None), use_na_sentinel=False)
    group = np.asarray(owner_group(ds, list(uniques)), dtype=object)[codes] if len(uniques) else np.zeros(0, dtype=object)
    cal = ds.calendar
    minutes = _working_minutes(ds, entered_ns, end_ns)
    out = pd.DataFrame(
        {
            "deal_id": deals["deal_id"].take(deal_pos).reset_index(drop=True).astype("string"),
            "manager": charged.fillna(NO_MANAGER).astype("string"),
            "deal_owner": owner.fillna(NO_MANAGER).astype("string"),
            "owner_group": pd.Series(group, dtype="string"),
            "stage": pd.Categorical.from_codes(ords.astype(np.int64), categories=keys),
            "entered_at": entered_ns.view("datetime64[ns]"),
            "left_at": left_ns.view("datetime64[ns]"),
            "next_stage": pd.Categorical.from_codes(next_ords.astype(np.int64), categories=keys),
            "observed": observed,
            "is_current": is_current,
            "days": elapsed_ns / _NS_PER_DAY,
            "business_days": minutes / cal.minutes_per_day,
            "seconds": elapsed_ns / 1e9,
            "working_s": minutes * 60.0,
            "amount": deals["amount"].to_numpy(dtype="float64", na_value=np.nan)[deal_pos] if len(deal_pos) else np.zeros(0),
        }
    )
    out.attrs.update(
        {
            "source": source,
            "as_of": str(pd.Timestamp(ds.as_of)),
            "business_days_per_day": len(cal.workdays) / 7.0,
            "working_seconds_per_day": float(cal.minutes_per_day) * 60.0,
            "stay_owner": "moved_by" if mover is not None else "deal_owner",
            "stay_owner_fallback": fallback,
            **extra_attrs,
        }
    )
    return out


def stage_stays(ds, closed_stage: str | None = None, owner: str | None = None) -> pd.DataFrame:
    """One row per stay of a deal in an open stage, the current stay censored at ``ds.as_of``.

    Columns: ``deal_id, manager`` (who the stay is charged to, see ``owner``; ``"—"`` when
    empty), ``deal_owner`` (the deal's manager), ``owner_group`` (the charged person's group,
    :func:`salesaudit.analysis.baseline.owner_group`: ``manager`` = the team, ``no_manager``,
    ``system``, ``head_of_sales``), ``stage`` (a categorical in funnel order), ``entered_at``,
    ``left_at`` (the deal's next entry; NaT while it is still there), ``next_stage``,
    ``observed`` (the stay ended), ``is_current`` (the deal's present stay, the deal open),
    ``days`` (calendar days, fractional, up to ``left_at`` or ``as_of``), ``business_days``
    (working days of the run's calendar over the same span: working minutes / the minutes of
    one working day), ``seconds`` (the elapsed time in seconds, full precision),
    ``working_s`` (the working time in seconds) and ``amount``.

    ``owner`` (None: the run config's ``stay_owner``): ``"deal_owner"`` charges every stay to the
    deal's manager; ``"moved_by"`` to the ``moved_by`` of the history row that moved the deal
    into the stage (the deal's manager where that is empty, counted in
    ``attrs["stay_owner_fallback"]``). Without a stage history nobody is known to have moved a
    deal, so the stays are the owner's (``attrs["stay_owner"]`` is the rule applied,
    ``attrs["stay_owner_requested"]`` the one asked for).

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

    ``attrs`` also carries ``working_seconds_per_day`` (the length of one working day, 32 400
    for 09:00–18:00) and ``business_days_per_day`` (working days per calendar day of the
    calendar's week, 5/7 for Mon–Fri; for information: norms are not converted with it, see
    :func:`stage_norms`).
    """
    require_tables(ds, "deals", analysis=_ANALYSIS)
    owner = owner or getattr(ds.config, "stay_owner", None) or "deal_owner"
    if owner not in STAY_OWNERS:
        raise ValueError(f"owner must be one of {', '.join(STAY_OWNERS)}; got {owner!r}")
    if not ds.has("stage_history") or len(ds.tables["stage_history"]) == 0:
        return _stays_from_deals(ds, closed_stage, owner)
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
    # the terminal a closed deal ended in: its stage when that is a terminal (one of several lost ones), else the first won / lost
    first_terminal = deals["outcome"].map({"won": order[funnel.won], "lost": order[funnel.lost]}).fillna(-1).to_numpy(dtype=np.int64)
    own = deals["stage"].map({k: order[k] for k in getattr(funnel, "terminals", [funnel.won, funnel.lost])}).fillna(-1).to_numpy(dtype=np.int64)
    terminal = np.where(own >= 0, own, first_terminal)[deal]
    fix = is_stay & ~same_next & closed
    no_close = fix & (closed_at == _NAT)
    fix &= ~no_close
    left[fix] = np.maximum(closed_at[fix], ns[fix])
    nxt[fix] = terminal[fix]
    sel = is_stay & ~no_close
    mover = None
    if owner == "moved_by":
        hist = ds.tables["stage_history"]
        moved_by = hist["moved_by"] if "moved_by" in hist.columns else pd.Series(pd.NA, index=hist.index, dtype="string")
        mover = moved_by.astype("string").take(path["row"][sel]).reset_index(drop=True)
    return _frame_stays(
        ds,
        deal[sel],
        ords[sel],
        ns[sel],
        left[sel],
        nxt[sel],
        "stage_history",
        {"dropped_no_close": int(no_close.sum()), "deals_without_history": path["deals_without_history"], "stay_owner_requested": owner},
        mover=mover,
    )


def _stays_from_deals(ds, closed_stage: str | None, owner: str = "deal_owner") -> pd.DataFrame:
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
        {"dropped_no_close": int((closed & (closed_at == _NAT)).sum()), "deals_without_history": int(len(deals)), "stay_owner_requested": owner},
    )


# ---------------------------------------------------------------------------
# team per stage


def _durations(frame: pd.DataFrame, unit: str) -> tuple[np.ndarray, np.ndarray]:
    return frame[unit].to_numpy(dtype="float64"), frame["observed"].to_numpy(dtype=bool)


def _by_stage(stays: pd.DataFrame, funnel, columns=None) -> dict[str, pd.DataFrame]:
    """The stays of each open stage; ``columns``: only these (those the frame has), not every column copied per stage."""
    if columns is not None:
        stays = stays[["stage"] + [c for c in columns if c in stays.columns and c != "stage"]]
    groups = {str(k): g for k, g in stays.groupby("stage", observed=True, sort=False)}
    return {s: groups.get(s, stays.iloc[:0]) for s in funnel.open_stages}


def people_stays(stays: pd.DataFrame) -> pd.DataFrame:
    """The stays of the department's people: the team's and the head of sales' (what a stage's time is).

    Stays charged to nobody or to a system owner (``owner_group`` ``no_manager`` / ``system``,
    :mod:`salesaudit.analysis.baseline`) are left out; a frame without the column is kept whole.
    """
    if "owner_group" not in stays.columns:
        return stays
    return stays[people_mask(stays["owner_group"])]


def stage_exits(stays: pd.DataFrame, funnel) -> pd.DataFrame:
    """How deals leave each open stage and after how long: where the stalls end in a loss.

    One row per open stage and way out (``exit``): ``forward`` (a later open stage or a won
    terminal), ``back`` (an earlier open stage) or a lost terminal by name (``lost``,
    ``cancelled``…), from the ended stays of the department's people (:func:`people_stays`).
    Columns: ``stage``, ``exit``, ``outcome`` (``forward``/``back``/``lost``), ``stays`` (ended
    that way), ``share`` (of the stage's ended stays), ``amount`` (their deals' amount) and
    ``median_s`` / ``p80_s``: the time in the stage before that exit, in seconds (calendar).
    The times are of ended stays only, so each describes the deals that left that way, not a
    stage's duration (that is :func:`stage_summary`, which censors the open ones).
    """
    stays = people_stays(stays)
    cols = ["stage", "exit", "outcome", "stays", "share", "amount", "median_s", "p80_s"]
    ended = stays[stays["observed"].astype(bool) & stays["next_stage"].notna()] if len(stays) else stays
    if not len(ended):
        return pd.DataFrame(columns=cols)
    order = {s: i for i, s in enumerate(funnel.open_stages)}
    lost, won = set(funnel.lost_stages), set(funnel.won_stages)
    stage = ended["stage"].astype(str).to_numpy()
    nxt = ended["next_stage"].astype(str).to_numpy()
    pos = np.array([order.get(x, -1) for x in stage])
    npos = np.array([order.get(x, -1) for x in nxt])
    exit_ = np.where(np.isin(nxt, list(lost)), nxt, np.where(np.isin(nxt, list(won)) | (npos > pos), "forward", "back"))
    df = pd.DataFrame({"stage": stage, "exit": exit_, "seconds": ended["seconds"].to_numpy(dtype=float),
                       "amount": pd.to_numeric(ended["amount"], errors="coerce").to_numpy(dtype=float)})
    df["outcome"] = np.where(np.isin(df["exit"], list(lost)), "lost", df["exit"])
    g = df.groupby(["stage", "exit", "outcome"], sort=False)
    out = g.agg(stays=("seconds", "size"), amount=("amount", lambda a: a.sum(min_count=1)),
                median_s=("seconds", "median"), p80_s=("seconds", lambda x: float(np.quantile(x, 0.8)))).reset_index()
    out["share"] = out["stays"] / out.groupby("stage")["stays"].transform("sum")
    rank = {"forward": 0, "back": 1}
    out["_o"] = out["stage"].map(order)
    out["_e"] = [rank.get(e, 2 + funnel.lost_stages.index(e) if e in lost else 9) for e in out["exit"]]
    return out.sort_values(["_o", "_e"], ignore_index=True)[cols]


def stage_norms(stays: pd.DataFrame, funnel, unit: str = "days", norms: dict | None = None) -> pd.DataFrame:
    """The norm of every open stage in ``unit``: ``stage, norm, norm_source``.

    ``norms`` (stage → value in ``unit``) overrides the funnel. Otherwise the funnel's
    ``norm_days`` is used **in the unit of the measure it is compared with**: N calendar days
    against calendar time, N working days (each of the calendar's working-day length, e.g. 9 h
    for 09:00–18:00) against working time. The measure in business days is working minutes over
    the length of a working day, so a norm must be working days too: scaling calendar days by
    the share of working days in a week (×5/7) would turn a 1-day norm into 0.71 working days,
    6.4 working hours of a 9-hour day, and call a deal that kept to it late. ``attrs["basis"]`` says
    which (``"calendar_days"`` / ``"working_days"``). A stage without a norm gets the team's own
    Kaplan–Meier 80th percentile (``norm_source="derived"``): it lets managers be compared, but a
    norm derived from the team can never show that the whole team stalls. Derived from the stays of
    the department's people (:func:`people_stays`).
    """
    stays = people_stays(stays)
    _check_unit(unit)
    given = funnel.norms()
    by_stage = None
    rows = []
    for s in funnel.open_stages:
        if norms and s in norms and norms[s] is not None:
            rows.append((s, float(norms[s]), "parameters"))
        elif given.get(s) is not None:
            rows.append((s, float(given[s]), "parameters"))
        else:
            if by_stage is None:
                by_stage = _by_stage(stays, funnel, (unit, "observed"))
            d, o = _durations(by_stage[s], unit)
            p80 = km_quantile(d, o, 0.8) if len(d) else np.nan
            rows.append((s, float(p80), "derived"))
    out = pd.DataFrame(rows, columns=["stage", "norm", "norm_source"])
    out.attrs["basis"] = _NORM_BASIS[unit]
    return out


def _seconds_per_unit(stays: pd.DataFrame, unit: str) -> float:
    """Seconds in one ``unit``: 86 400 for a calendar day, the working day's length in working seconds (NaN if unknown)."""
    if unit == "days":
        return 86400.0
    return float(stays.attrs.get("working_seconds_per_day", np.nan))


def _add_seconds(out: pd.DataFrame, columns, unit: str, per_unit: float) -> None:
    """Add ``<column>_s`` (calendar) or ``<column>_working_s`` (working time) beside each of ``columns`` (in ``unit``),
    to the microsecond (the clock's resolution; what is left is the float noise of the day fractions)."""
    for c in columns:
        out[c + SECONDS_SUFFIX[unit]] = (out[c].astype("float64") * per_unit).round(6)
    out.attrs["unit"] = unit
    out.attrs["seconds_per_unit"] = per_unit
    out.attrs["seconds_suffix"] = SECONDS_SUFFIX[unit]


def _survival_ci_from(d: np.ndarray, t: float, alpha: float, times: np.ndarray, surv: np.ndarray, fit) -> tuple[float, float, float]:
    """KM S(t) with its confidence interval, from a fitted curve (``times``: the distinct durations,
    ``surv``: S at them, ``fit``: scipy's ecdf, None when nothing ended); ``d``: the durations as given.

    The same numbers as reading the row of :func:`salesaudit.stats.kaplan_meier` at ``t`` (the same
    fit, evaluated at the same time), without building the whole table: the interval is evaluated
    at that one time only.
    """
    if not len(d) or not np.isfinite(t):
        return (np.nan, np.nan, np.nan)
    i = int(np.searchsorted(times, t, side="right")) - 1
    s = 1.0 if i < 0 else float(surv[i])
    # The log-log interval is undefined where S is exactly 1 (no stay ended by t) or 0 (all
    # ended). There the data are "k of n" with k = n or 0, and the exact (Clopper–Pearson)
    # bound for that is (alpha/2)^(1/n): n = stays known to outlast t, resp. all stays.
    if s >= 1.0:
        n = int(np.sum(d > t))
        return (1.0, float((alpha / 2) ** (1 / n)) if n else np.nan, 1.0 if n else np.nan)
    if s <= 0.0:
        return (0.0, 0.0, float(1 - (alpha / 2) ** (1 / len(d))))
    with warnings.catch_warnings():
        # scipy warns that the log-log CI is undefined where S is 0 or 1 (not the case here)
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = fit.sf.confidence_interval(confidence_level=1.0 - alpha, method="log-log")
        at = times[i:i + 1]
        return (s, float(np.asarray(ci.low.evaluate(at), dtype=float)[0]), float(np.asarray(ci.high.evaluate(at), dtype=float)[0]))


def _km_stats(d: np.ndarray, o: np.ndarray, qs, t: float, alpha: float) -> tuple[dict, tuple[float, float, float]]:
    """:func:`salesaudit.stats.km_quantiles` at ``qs`` and :func:`_survival_ci_at` at ``t``, from one fit."""
    dd, oo = _survival_input(d, o)
    if dd.size == 0:
        times = surv = np.empty(0)
        fit = None
    else:
        times = np.unique(dd)
        fit = _km_fit(dd, oo) if oo.any() else None
        surv = np.ones(times.size) if fit is None else np.asarray(fit.sf.evaluate(times), dtype=float)
    q = {}
    for x in qs:
        hit = np.flatnonzero(surv <= 1.0 - float(x) + _QUANTILE_TOL) if times.size else np.zeros(0, dtype=np.int64)
        q[x] = float(times[hit[0]]) if hit.size else float("nan")
    return q, _survival_ci_from(d, t, _check_alpha(alpha), times, surv, fit)


def _survival_ci_at(d: np.ndarray, o: np.ndarray, t: float, alpha: float) -> tuple[float, float, float]:
    """KM S(t) with its confidence interval, as read off :func:`salesaudit.stats.kaplan_meier`."""
    return _km_stats(d, o, (), t, alpha)[1]


def stage_summary(stays: pd.DataFrame, funnel, unit: str = "days", alpha: float = 0.05, stall_share: float = 0.5, norms: dict | None = None) -> pd.DataFrame:
    """Time in each open stage, in funnel order, censoring handled (Kaplan–Meier).

    Columns: ``stage, stays, open`` (stays still running, i.e. censored), ``median, p80, p90``
    (KM quantiles; NaN when the curve never falls that low), ``norm, norm_source``
    (``"parameters"``, or ``"derived"`` = the team's KM p80, see :func:`stage_norms`),
    ``share_over_norm`` (KM S(norm): the share of stays longer than the norm),
    ``share_over_ci_low, share_over_ci_high`` (its log-log confidence interval),
    ``naive_share_over_closed``, ``naive_median_closed``, ``naive_mean_closed`` (what a CRM
    shows: finished stays only, for contrast) and ``stalled``; then the same durations in seconds
    at full precision, ``median_s, p80_s, p90_s, norm_s, naive_median_closed_s,
    naive_mean_closed_s`` for ``unit="days"`` (elapsed seconds) or ``median_working_s, …`` for
    ``unit="business_days"`` (working seconds).

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

    **Whose stays.** The department's people: the stays charged to the team and to the head of
    sales. Stays of deals without a manager and of a system owner (a CRM robot that declines
    web-form duplicates within minutes) are left out (``owner_group`` ``no_manager`` / ``system``,
    :mod:`salesaudit.analysis.baseline`; all stays when the frame has no such column): on the demo
    they pulled the median stay in ``new`` from 0.75 to 0.28 days.
    """
    _check_unit(unit)
    stays = people_stays(stays)
    nm = stage_norms(stays, funnel, unit, norms).set_index("stage")
    by_stage = _by_stage(stays, funnel, (unit, "observed"))
    rows = []
    for s in funnel.open_stages:
        d, o = _durations(by_stage[s], unit)
        norm = float(nm.at[s, "norm"])
        if len(d):
            q, (share, lo, hi) = _km_stats(d, o, (0.5, 0.8, 0.9), norm, alpha)
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
    _add_seconds(out, ("median", "p80", "p90", "norm", "naive_median_closed", "naive_mean_closed"), unit, _seconds_per_unit(stays, unit))
    out.attrs["norm_basis"] = _NORM_BASIS[unit]
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
    return _logrank_one_vs_rest(durations, observed, groups)


def _logrank_one_vs_rest(durations, observed, groups, order: np.ndarray | None = None) -> pd.DataFrame:
    """:func:`logrank_one_vs_rest`; ``order``: ``np.argsort(durations, kind="stable")`` when the caller has it."""
    from scipy.stats import chi2 as _chi2

    t = np.asarray(durations, dtype="float64")
    d = np.asarray(observed, dtype=bool)
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    k = len(uniques)
    if len(t) == 0 or k == 0:
        return pd.DataFrame(columns=["group", "n", "events", "expected", "chi2", "p_value", "z"])
    order_t = np.argsort(t, kind="stable") if order is None else order  # one sort of the durations serves every step below
    ts = t[order_t]
    ev_s = ts[d[order_t]]  # the ended durations, sorted
    if len(ev_s):
        first = np.empty(len(ev_s), dtype=bool)
        first[0] = True
        first[1:] = ev_s[1:] != ev_s[:-1]
        starts = np.flatnonzero(first)
        ev_t, d_t = ev_s[starts], np.diff(np.append(starts, len(ev_s)))  # = np.unique(t[d], return_counts=True)
    else:
        ev_t, d_t = ev_s, np.zeros(0, dtype=np.int64)
    if len(ev_t) == 0:  # no stay has ended: nothing to compare
        n_m = np.bincount(codes, minlength=k)
        nan = np.full(k, np.nan)
        return pd.DataFrame({"group": list(uniques), "n": n_m.astype(int), "events": np.zeros(k, dtype=int), "expected": np.zeros(k), "chi2": nan, "p_value": nan, "z": nan})
    n_t = (len(t) - np.searchsorted(ts, ev_t, side="left")).astype("float64")
    d_t = d_t.astype("float64")
    w = np.where(n_t > 1, d_t * (n_t - d_t) / np.maximum(n_t - 1, 1), 0.0)
    H = np.cumsum(d_t / n_t)
    A = np.cumsum(w / n_t)
    B = np.cumsum(w / n_t**2)
    pos = np.empty(len(t), dtype=np.int64)
    pos[order_t] = np.searchsorted(ev_t, ts, side="right") - 1  # sorted keys: a fast search
    has = pos >= 0
    Hi = np.where(has, H[np.maximum(pos, 0)], 0.0)
    Ai = np.where(has, A[np.maximum(pos, 0)], 0.0)
    Bi = np.where(has, B[np.maximum(pos, 0)], 0.0)
    n_m = np.bincount(codes, minlength=k).astype("float64")
    O = np.bincount(codes, weights=d.astype("float64"), minlength=k)  # noqa: E741 (observed events, the log-rank O)
    E = np.bincount(codes, weights=Hi, minlength=k)
    V1 = np.bincount(codes, weights=Ai, minlength=k)
    srt = order_t[np.argsort(codes[order_t], kind="stable")]  # = np.lexsort((t, codes)): by group, then duration, stable
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


#: ``S <= 0.5`` and the log-log bounds ``<= 0.5`` with the tolerance of :func:`salesaudit.stats.km_quantile`, on the scales computed here
_LOG_HALF = float(np.log(0.5 + 1e-10))
_LOGLOG_HALF = float(np.log(-np.log(0.5 + 1e-10)))
#: grid points per block of :func:`_median_ci_counts` (it stops at the block where the last crossing is found)
_BLOCK = 8192


def _median_ci_counts(times: np.ndarray, n, d, z: float, ci: bool = True) -> tuple[float, float, float]:
    """The Kaplan–Meier median with its Brookmeyer–Crowley interval from a risk table.

    ``times``: distinct times (sorted), ``n``: at risk at each, ``d``: events at each (times without
    an event change nothing). The same numbers as :func:`salesaudit.stats.effect.km_median_ci` on
    the durations behind the table (scipy's log-log interval written out: Greenwood's sum on the
    ``log(-log S)`` scale, undefined where S is 1 or 0), but from counts, so that the rest of the
    team (the team's counts minus one manager's) needs no pass over the team's stays per manager;
    and block by block, stopping once the upper bound has crossed one half (the lower bound and the
    curve cross no later), so a median early in a long grid costs a fraction of it. A test checks
    the two agree. ``ci=False``: the median alone (NaN bounds). ``n`` may also be a function
    ``(start, stop) -> (at risk, events)`` of a block of the grid (``d`` unused), so that a table is
    only made as far as it is read (:meth:`_Counts.median_ci`).
    """
    nan = float("nan")
    found = [nan, nan, nan]
    carry_log, carry_green = 0.0, 0.0
    for a in range(0, len(times), _BLOCK):
        if callable(n):
            nn, dd = n(a, min(a + _BLOCK, len(times)))
            nn, dd = nn.astype("float64"), dd.astype("float64")
        else:
            nn = n[a:a + _BLOCK].astype("float64")
            dd = d[a:a + _BLOCK].astype("float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.divide(dd, nn, out=np.zeros_like(dd), where=nn > 0)
            log_s = carry_log + np.cumsum(np.log1p(-q))
            hits = [log_s <= _LOG_HALF]
            if ci:
                green = carry_green + np.cumsum(np.where(dd > 0, np.where(nn > dd, dd / (nn * (nn - dd)), np.inf), 0.0))
                theta = np.log(-log_s)
                se = np.sqrt(green) / np.abs(log_s)
                hits += [theta + z * se >= _LOGLOG_HALF, theta - z * se >= _LOGLOG_HALF]  # NaN where S is 1 or 0: no hit
                carry_green = float(green[-1])
        carry_log = float(log_s[-1])
        for k, hit in enumerate(hits):
            if np.isnan(found[k]) and hit.any():
                found[k] = float(times[a + int(np.argmax(hit))])
        if not np.isnan(found[2] if ci else found[0]):
            break
    return found[0], found[1], found[2]


class _Counts:
    """The risk table of durations ``d`` (``o``: ended) on the grid of their ended times, with each
    duration's place in it, so that the table of the same durations *without* some of them (the rest
    of the team without one manager) is the team's minus theirs, counted block by block from their
    sorted places (only as far into the grid as the median's interval needs)."""

    def __init__(self, d: np.ndarray, o: np.ndarray, order: np.ndarray | None = None):
        srt = np.argsort(d, kind="stable") if order is None else order  # order: the caller's np.argsort(d, kind="stable")
        ds = d[srt]
        ev = ds[o[srt]]  # the ended durations, sorted
        keep = np.empty(len(ev), dtype=bool)
        keep[:1] = True
        keep[1:] = ev[1:] != ev[:-1]
        self.grid = ev[keep]  # = np.unique(d[o])
        g = len(self.grid)
        self.after = np.empty(len(d), dtype=np.int64)
        self.after[srt] = np.searchsorted(self.grid, ds, side="right")  # d >= grid[i]  <=>  after > i
        self.ended = np.empty(len(d), dtype=np.int64)
        self.ended[srt] = np.where(o[srt], np.searchsorted(self.grid, ds), g)  # g: not ended (cut off below)
        self.at_risk, self.events = self._table(self.after, self.ended)

    def _table(self, after: np.ndarray, ended: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = len(self.grid)
        at_risk = len(after) - np.cumsum(np.bincount(after, minlength=g + 1))[:g]
        return at_risk, np.bincount(ended, minlength=g + 1)[:g]

    def median_ci(self, z: float, without=None, ci: bool = True) -> tuple[float, float, float]:
        """:func:`_median_ci_counts` of all the durations, or of all but the positions ``without``."""
        if without is None:
            return _median_ci_counts(self.grid, self.at_risk, self.events, z, ci=ci)
        after_w = np.sort(self.after[without])
        ended_w = np.sort(self.ended[without])
        m = len(after_w)

        def block(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
            lo, hi = np.searchsorted(after_w, (a, b))  # theirs with a <= after < b
            n_g = m - lo - np.cumsum(np.bincount(after_w[lo:hi] - a, minlength=b - a))  # theirs with after > i: at risk at grid[i]
            lo, hi = np.searchsorted(ended_w, (a, b))
            e_g = np.bincount(ended_w[lo:hi] - a, minlength=b - a)
            return self.at_risk[a:b] - n_g, self.events[a:b] - e_g

        return _median_ci_counts(self.grid, block, None, z, ci=ci)


def _median_ci(d: np.ndarray, o: np.ndarray, z: float, ci: bool = True) -> tuple[float, float, float]:
    """:func:`_median_ci_counts` of the durations ``d`` (``o``: ended)."""
    return _Counts(d, o).median_ci(z, ci=ci)


def manager_stage_summary(stays: pd.DataFrame, funnel, unit: str = "days", min_stays: int = 15, alpha: float = 0.05, norms: dict | None = None,
                          min_ended: int = 5, min_ratio: float = 1.25, min_difference_hours: float = 1.0) -> pd.DataFrame:
    """Each manager in each stage against the rest of the team: a test, an effect size and a verdict.

    **Who is compared with whom.** The team is the stays whose ``owner_group`` is ``manager``
    (:mod:`salesaudit.analysis.baseline`; all stays when the frame has no such column). A team
    manager is compared with the rest of the team; the stays of deals without a manager, of system
    users and of the head of sales are reported in rows of their own (``verdict`` ``"outside_team"``),
    left out of the team's baseline and never tested.

    **The test and the size.** A log-rank test of the manager against the rest of the team in the
    stage (:func:`logrank_one_vs_rest`, censoring handled), Holm-corrected over every judgeable
    manager × stage test; the effect is the ratio of the Kaplan–Meier medians (the manager's over
    the rest's) with its interval (:func:`salesaudit.stats.effect.median_ratio` from each median's
    Brookmeyer–Crowley interval), and the difference of the medians in **working time**
    (``difference_working_s``, from the stays' working seconds whatever ``unit`` is). The verdict
    (:func:`salesaudit.stats.effect.judge`): ``worse`` (flagged slower) only when the test is
    significant after the correction, the ratio is at least ``min_ratio`` *and* the medians differ by
    at least ``min_difference_hours`` working hours; ``better`` the same the other way; ``small``
    significant but smaller than that (with thousands of stays every few seconds are
    "significant"); ``same``; ``not_judged`` (fewer than ``min_stays`` stays or ``min_ended``
    ended, or a median unknown). When a manager's own median is not reached (more than half of his
    stays still running) the ratio is a lower bound, the longest of his stays over the rest's
    median (``ratio_bound``): it can prove ``worse``, never ``small`` (then ``not_judged``).

    Columns: ``stage, manager, owner_group, stays, open, ended, median, median_ci_low,
    median_ci_high, p80`` (KM, in ``unit``), ``norm``, ``share_over_norm`` with its interval
    ``share_over_ci_low`` / ``share_over_ci_high``, ``team_median`` (the team's KM median in the
    stage), ``rest_median, rest_median_ci_low, rest_median_ci_high`` (the rest of the team, what the
    manager is compared with; for a row outside the team, the whole team), ``ratio, ratio_ci_low,
    ratio_ci_high, ratio_bound, difference_working_s``, ``chi2, p_value, p_adjusted``,
    ``direction`` (``"slower"`` when the manager's stays end less often than expected by the
    log-rank, else ``"faster"``), ``judgeable``, ``verdict``, ``flag`` (``"slower"`` exactly when
    the verdict is ``worse``, else ``""``) and ``faster`` (the verdict is ``better``: shown as
    information, not a flag — a stage left quickly is nothing to act on); then the durations in
    seconds at full precision (``median_s, median_ci_low_s, …`` for calendar days,
    ``median_working_s, …`` for business days).

    Sorted: worse (the largest ratio first), then the rest of the team from slowest to fastest by
    the signed log-rank z, better last of the judged; then the not judged, then the rows outside
    the team.
    """
    _check_unit(unit)
    z_crit = _z(alpha)
    per_unit = _seconds_per_unit(stays, unit)
    nm = stage_norms(stays, funnel, unit, norms).set_index("stage")["norm"]
    by_stage = _by_stage(stays, funnel, (unit, "observed", "working_s", "manager", "owner_group"))
    parts = []
    for s in funnel.open_stages:
        sub = by_stage[s]
        if not len(sub):
            continue
        d, o = _durations(sub, unit)
        w = sub["working_s"].to_numpy(dtype="float64") if "working_s" in sub.columns else d * per_unit
        mgr = sub["manager"].astype(object).to_numpy()
        group = sub["owner_group"].astype(object).to_numpy() if "owner_group" in sub.columns else np.full(len(sub), TEAM, dtype=object)
        team = group == TEAM
        dt, ot, wt = d[team], o[team], w[team]
        order_t = np.argsort(dt, kind="stable")  # shared by the log-rank test and the team's risk table
        lr = _logrank_one_vs_rest(dt, ot, mgr[team], order=order_t).set_index("group")
        same_clock = unit == "business_days" and "working_s" in sub.columns  # the working medians are the table's own
        counts = _Counts(dt, ot, order=order_t)
        team_ci = counts.median_ci(z_crit)
        counts_w = None if same_clock else _Counts(wt, ot)
        team_w = team_ci[0] * per_unit if same_clock else counts_w.median_ci(z_crit, ci=False)[0]
        in_team_at = np.cumsum(team) - 1  # a stay's position among the team's stays
        norm = float(nm[s])
        codes, uniques = pd.factorize(pd.Series(mgr), sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for j, m in enumerate(uniques):
            idx = order[bounds[j] : bounds[j + 1]]
            dm, om, wm = d[idx], o[idx], w[idx]
            in_team = bool(team[idx[0]])
            q, share_ci = _km_stats(dm, om, (0.5, 0.8), norm, alpha)
            own = _median_ci(dm, om, z_crit)
            if in_team:
                rows = in_team_at[idx]
                rest = counts.median_ci(z_crit, without=rows)
                if same_clock:
                    own_w, rest_w = own[0] * per_unit, rest[0] * per_unit
                else:
                    own_w = _median_ci(wm, om, z_crit, ci=False)[0]
                    rest_w = counts_w.median_ci(z_crit, without=rows, ci=False)[0]
                chi2, p, zz = (float(lr.at[m, c]) for c in ("chi2", "p_value", "z"))
            else:
                rest = team_ci
                own_w = own[0] * per_unit if same_clock else _median_ci(wm, om, z_crit, ci=False)[0]
                rest_w = team_w
                chi2 = p = zz = np.nan
            ratio, r_lo, r_hi = median_ratio(*own, *rest, alpha=alpha)
            bound = False
            if not np.isfinite(own[0]) and np.isfinite(rest[0]) and rest[0] > 0 and len(dm):
                ratio, r_lo, r_hi, bound = float(dm.max()) / rest[0], np.nan, np.nan, True  # at least this: the median is beyond his longest stay
            if not np.isfinite(own_w) and np.isfinite(rest_w) and len(wm):
                own_w = float(wm.max())
            parts.append(
                {
                    "stage": s,
                    "manager": m,
                    "owner_group": str(group[idx[0]]),
                    "stays": int(len(dm)),
                    "open": int((~om).sum()),
                    "ended": int(om.sum()),
                    "median": float(q[0.5]),
                    "median_ci_low": own[1],
                    "median_ci_high": own[2],
                    "p80": float(q[0.8]),
                    "norm": norm,
                    **dict(zip(("share_over_norm", "share_over_ci_low", "share_over_ci_high"), share_ci)),
                    "team_median": team_ci[0],
                    "rest_median": rest[0],
                    "rest_median_ci_low": rest[1],
                    "rest_median_ci_high": rest[2],
                    "ratio": ratio,
                    "ratio_ci_low": r_lo,
                    "ratio_ci_high": r_hi,
                    "ratio_bound": bound,
                    "difference_working_s": own_w - rest_w,
                    "chi2": chi2,
                    "p_value": p,
                    "z": zz,
                }
            )
    cols = ["stage", "manager", "owner_group", "stays", "open", "ended", "median", "median_ci_low", "median_ci_high", "p80", "norm",
            "share_over_norm", "share_over_ci_low", "share_over_ci_high", "team_median", "rest_median", "rest_median_ci_low", "rest_median_ci_high",
            "ratio", "ratio_ci_low", "ratio_ci_high", "ratio_bound", "difference_working_s", "chi2", "p_value", "p_adjusted", "direction",
            "judgeable", "verdict", "flag", "faster"]
    in_seconds = ("median", "median_ci_low", "median_ci_high", "p80", "norm", "team_median", "rest_median", "rest_median_ci_low", "rest_median_ci_high")
    if not parts:
        out = pd.DataFrame(columns=cols)
        _add_seconds(out, in_seconds, unit, per_unit)
        out.attrs["tests"] = 0
        return out
    out = pd.DataFrame(parts)
    out["direction"] = np.where(out["z"] < 0, "slower", "faster")
    team = (out["owner_group"] == TEAM).to_numpy()
    out["judgeable"] = team & (out["stays"] >= min_stays) & (out["ended"] >= min_ended)
    tested = out["judgeable"] & out["p_value"].notna()
    out["p_adjusted"] = np.nan
    if tested.any():
        out.loc[tested, "p_adjusted"] = np.asarray(holm(out.loc[tested, "p_value"].to_numpy()), dtype="float64")
    verdict = judge(out["p_adjusted"], out["ratio"], alpha=alpha, threshold=min_ratio, judgeable=tested, higher_is_worse=True, ratio=True,
                    extra=out["difference_working_s"] / 3600.0, extra_threshold=min_difference_hours)
    verdict = np.where(out["ratio_bound"].to_numpy(dtype=bool) & (verdict == "small"), "not_judged", verdict)  # a lower bound cannot show a difference is small
    out["verdict"] = np.where(team, verdict, OUTSIDE).astype(object)
    out["flag"] = np.where(out["verdict"] == "worse", "slower", "")
    out["faster"] = (out["verdict"] == "better").to_numpy()
    rank = out["verdict"].map({"worse": 0, "small": 1, "same": 1, "better": 2, "not_judged": 3, OUTSIDE: 4}).to_numpy()
    out["_g"] = rank
    out["_k"] = np.where(rank == 0, -out["ratio"].fillna(0.0), out["z"].fillna(0.0))
    out["_o"] = out["stage"].map(funnel.order())
    out = out.sort_values(["_g", "_k", "_o", "manager"], kind="mergesort").reset_index(drop=True)
    out = out[cols]
    _add_seconds(out, in_seconds, unit, per_unit)
    out.attrs.update({"tests": int(tested.sum()), "alpha": alpha, "min_ratio": min_ratio, "min_difference_hours": min_difference_hours,
                      "min_stays": min_stays, "min_ended": min_ended})
    return out


# ---------------------------------------------------------------------------
# the action list


def action_list(stays: pd.DataFrame, funnel, unit: str = "days", norms: dict | None = None) -> pd.DataFrame:
    """Open deals whose current stay already exceeds the stage norm: the head of sales' worklist.

    Columns: ``deal_id, manager`` (the deal's owner, who acts on it, whatever ``stay_owner``
    says), ``stage, entered_at, days_in_stage`` (in ``unit``), ``norm``, ``days_over``
    (``days_in_stage - norm``), ``amount``, and the same three durations in seconds (``in_stage_s,
    norm_s, over_s`` for calendar days; ``in_stage_working_s, …`` for business days); the largest
    amount (money at risk) first, then the longest over the norm, then the deal id (deals without
    an amount last).
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
            "manager": c["deal_owner" if "deal_owner" in c.columns else "manager"].to_numpy(),  # who acts on an open deal: its owner
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
    per_unit = _seconds_per_unit(stays, unit)
    sfx = SECONDS_SUFFIX[unit]
    for c, name in (("days_in_stage", "in_stage"), ("norm", "norm"), ("days_over", "over")):
        out[name + sfx] = (out[c] * per_unit).round(6)
    out.attrs.update({"unit": unit, "seconds_per_unit": per_unit, "seconds_suffix": sfx})
    return out


# ---------------------------------------------------------------------------
# process compliance


def _examples(frame: pd.DataFrame, n: int) -> pd.Series:
    """Per manager: the first ``n`` distinct deal ids of ``frame`` (in its order), comma-joined."""
    if not len(frame):
        return pd.Series(dtype=object)
    first = frame.drop_duplicates("deal_id").groupby("manager", sort=False).head(n)
    return first.groupby("manager", sort=False)["deal_id"].agg(lambda s: ", ".join(map(str, s)))


def _examples_of(managers: pd.Series, frame: pd.DataFrame, n: int) -> list[str]:
    """:func:`_examples` per manager of ``managers`` ('' for a manager without any)."""
    found = _examples(frame, n).to_dict()
    return [str(found.get(m, "")) for m in managers.astype(object)]


def compliance(ds, tolerance: float = 0.02, backward_tolerance: float = 0.05, min_deals: int = 10, alpha: float = 0.05, examples: int = 3,
               min_effect: float = 0.05) -> dict[str, pd.DataFrame]:
    """Does the team follow the process? Skips, backward moves and loops from the stage paths.

    Each deal's path is its stage history ordered by time (ties in funnel order), repeated
    entries into the stage it is already in dropped. Returns a dict of DataFrames:

    * ``skips``: one row per deal and mandatory stage the deal moved past without ever having
      entered it: ``deal_id, manager, skipped, from_stage`` (NA when the deal's first entry
      already lay past it), ``to_stage, at``. "Past" means a later open stage or a won
      terminal; a deal lost early (in any lost terminal) has skipped nothing.
    * ``backward``: every move from an open stage to an earlier open stage:
      ``deal_id, manager, from_stage, to_stage, at``.
    * ``loops``: every re-entry into a stage the deal had already visited:
      ``deal_id, manager, stage, at``.
    * ``per_manager``: ``manager, owner_group`` (:mod:`salesaudit.analysis.baseline`), ``deals``
      (deals with history), ``eligible`` (deals that reached a stage past a mandatory one),
      ``skips`` (of those, deals that skipped one), ``skip_rate, skip_ci_low, skip_ci_high``
      (Wilson), ``judgeable`` (a team manager with ``eligible >= min_deals``), ``p_value``
      (one-sided exact binomial test of skip rate > ``tolerance``, the allowance for a stray CRM
      mis-click), ``p_adjusted`` (Holm over the judgeable managers), ``excess, excess_ci_low,
      excess_ci_high`` (the skip rate over the tolerance, with the Wilson interval shifted by it:
      the effect), ``verdict`` (:func:`salesaudit.stats.effect.judge`: ``worse`` only when the test
      is significant after the correction *and* the excess is at least ``min_effect``; ``small``
      when significant but less; ``outside_team`` for deals without a manager, of a system user
      or of the head of sales, never tested), ``flag`` (the verdict is ``worse``),
      ``skip_examples`` (the first ``examples`` deal ids), and the same for backward moves against
      ``backward_tolerance`` over all the manager's deals: ``backward`` (deals with a backward
      move), ``backward_moves``, ``backward_rate, backward_ci_low, backward_ci_high,
      backward_judgeable, backward_p_value, backward_p_adjusted, backward_excess,
      backward_excess_ci_low, backward_excess_ci_high, backward_verdict, backward_flag,
      backward_examples``; then ``loops`` (deals with a re-entry), ``loop_moves, loop_examples``.
      The team first, flagged managers first; the rows outside the team last. Skips and
      backward moves are charged to the deal's owner.
    """
    require_tables(ds, "deals", "stage_history", analysis="the process-compliance check (notebook 02)")
    funnel = ds.funnel
    deals = ds.tables["deals"]
    keys = pd.Series(funnel.keys, dtype="string")
    order = funnel.order()
    n_open = len(funnel.open_stages)
    lost_o = np.asarray([order[k] for k in getattr(funnel, "lost_stages", [funnel.lost])], dtype=np.int64)
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
        past = (ords > mo) & ~np.isin(ords, lost_o)
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
    pm = pm[pm["deals"] > 0]

    def rate_ci(k, nn):
        k = k.to_numpy(dtype="float64")
        nn = nn.to_numpy(dtype="float64")
        r = np.where(nn > 0, k / np.maximum(nn, 1), np.nan)
        lo, hi = wilson(k, nn, alpha)
        return r, np.asarray(lo, dtype="float64"), np.asarray(hi, dtype="float64")

    groups = np.asarray(owner_group(ds, [None if m == NO_MANAGER else m for m in mgr_names]), dtype=object)
    pm["owner_group"] = groups[pm.index.to_numpy()]
    pm = pm.reset_index(drop=True)
    team = (pm["owner_group"] == TEAM).to_numpy(dtype=bool)

    def judged(k, n, tol: float, enough):
        rate, lo, hi = rate_ci(k, n)
        ok = enough.to_numpy(dtype=bool) & team
        p, adj, _ = rate_above_tolerance(k, n, tol, ok, alpha)
        verdict = judge(adj, rate - tol, alpha=alpha, threshold=min_effect, judgeable=ok, higher_is_worse=True)
        verdict = np.where(team, verdict, OUTSIDE).astype(object)
        return rate, lo, hi, p, adj, verdict

    (pm["skip_rate"], pm["skip_ci_low"], pm["skip_ci_high"], pm["p_value"], pm["p_adjusted"], pm["verdict"]) = judged(
        pm["skips"], pm["eligible"], tolerance, pm["eligible"] >= min_deals)
    pm["judgeable"] = (pm["eligible"] >= min_deals).to_numpy() & team
    pm["excess"], pm["excess_ci_low"], pm["excess_ci_high"] = pm["skip_rate"] - tolerance, pm["skip_ci_low"] - tolerance, pm["skip_ci_high"] - tolerance
    pm["flag"] = (pm["verdict"] == "worse").to_numpy(dtype=bool)
    pm["skip_examples"] = _examples_of(pm["manager"], skips, examples)
    (pm["backward_rate"], pm["backward_ci_low"], pm["backward_ci_high"], pm["backward_p_value"], pm["backward_p_adjusted"], pm["backward_verdict"]) = judged(
        pm["backward"], pm["deals"], backward_tolerance, pm["deals"] >= min_deals)
    pm["backward_judgeable"] = (pm["deals"] >= min_deals).to_numpy() & team
    pm["backward_excess"] = pm["backward_rate"] - backward_tolerance
    pm["backward_excess_ci_low"], pm["backward_excess_ci_high"] = pm["backward_ci_low"] - backward_tolerance, pm["backward_ci_high"] - backward_tolerance
    pm["backward_flag"] = (pm["backward_verdict"] == "worse").to_numpy(dtype=bool)
    pm["backward_examples"] = _examples_of(pm["manager"], backward, examples)
    pm["loop_examples"] = _examples_of(pm["manager"], loops, examples)
    pm = pm[
        [
            "manager", "owner_group", "deals", "eligible", "skips", "skip_rate", "skip_ci_low", "skip_ci_high", "judgeable", "p_value", "p_adjusted",
            "excess", "excess_ci_low", "excess_ci_high", "verdict", "flag", "skip_examples",
            "backward", "backward_moves", "backward_rate", "backward_ci_low", "backward_ci_high", "backward_judgeable", "backward_p_value", "backward_p_adjusted",
            "backward_excess", "backward_excess_ci_low", "backward_excess_ci_high", "backward_verdict", "backward_flag", "backward_examples",
            "loops", "loop_moves", "loop_examples",
        ]
    ]
    outside = (pm["owner_group"] != TEAM).to_numpy()
    pm = (pm.assign(_out=outside).sort_values(["_out", "flag", "backward_flag", "skip_rate", "manager"], ascending=[True, False, False, False, True], kind="mergesort")
          .drop(columns="_out").reset_index(drop=True))
    pm.attrs.update({"tolerance": tolerance, "backward_tolerance": backward_tolerance, "min_deals": min_deals, "min_effect": min_effect,
                     "mandatory": list(funnel.mandatory)})
    return {"skips": skips, "backward": backward, "loops": loops, "per_manager": pm}


# ---------------------------------------------------------------------------
# Kaplan–Meier curves


def km_curves(stays: pd.DataFrame, funnel, unit: str = "days", alpha: float = 0.05) -> pd.DataFrame:
    """The Kaplan–Meier "still in the stage" curve of every open stage with stays, in funnel order.

    One row per stage and distinct stay length: ``stage`` and the columns of
    :func:`salesaudit.stats.kaplan_meier` (``time, at_risk, events, censored, survival, ci_low,
    ci_high``; the interval at level ``1 - alpha``). ``time`` is in ``unit``; ``attrs["seconds_per_unit"]``
    turns it into seconds. The stays of the department's people only (:func:`people_stays`), as in
    :func:`stage_summary`.
    """
    _check_unit(unit)
    stays = people_stays(stays)
    by_stage = _by_stage(stays, funnel, (unit, "observed"))
    parts = []
    for s in funnel.open_stages:
        d, o = _durations(by_stage[s], unit)
        if len(d):
            km = kaplan_meier(d, o, alpha=alpha)
            km.insert(0, "stage", s)
            parts.append(km)
    if not parts:
        out = kaplan_meier([], [], alpha=alpha).assign(stage=pd.Series(dtype=object))[["stage", "time", "at_risk", "events", "censored", "survival", "ci_low", "ci_high"]]
    else:
        out = pd.concat(parts, ignore_index=True)
    out.attrs.update({"unit": unit, "seconds_per_unit": _seconds_per_unit(stays, unit)})
    return out


# ---------------------------------------------------------------------------
# key results


def _num(x):
    """A float for the JSON at full precision (None for NaN)."""
    return None if x is None or pd.isna(x) else float(x)


def _cells(ms: pd.DataFrame, verdict: str) -> list[str]:
    sel = ms["verdict"] == verdict
    return [f"{m}:{s}" for m, s in zip(ms.loc[sel, "manager"], ms.loc[sel, "stage"])]


def _key_results(ss: pd.DataFrame, ms: pd.DataFrame, al: pd.DataFrame, per_manager: pd.DataFrame | None, skips: pd.DataFrame | None,
                 source: str, unit: str, stay_owner: str = "deal_owner") -> dict:
    """The key results of :func:`summary`, read off its tables (``per_manager``/``skips``: None without a stage history)."""
    skippers: list[str] = []
    backward: list[str] = []
    skip_small: list[str] = []
    backward_small: list[str] = []
    skip_effects: dict = {}
    skipped = 0
    if per_manager is not None:
        skippers = sorted(per_manager.loc[per_manager["flag"], "manager"].astype(str))
        backward = sorted(per_manager.loc[per_manager["backward_flag"], "manager"].astype(str))
        skip_small = sorted(per_manager.loc[per_manager["verdict"] == "small", "manager"].astype(str))
        backward_small = sorted(per_manager.loc[per_manager["backward_verdict"] == "small", "manager"].astype(str))
        skip_effects = {str(r.manager): {"rate": _num(r.skip_rate), "excess": _num(r.excess), "excess_ci_low": _num(r.excess_ci_low),
                                         "excess_ci_high": _num(r.excess_ci_high)}
                        for r in per_manager[per_manager["flag"]].itertuples()}
        skipped = int(skips["deal_id"].nunique())
    measured = ss[ss["stays"] > 0]
    sfx = SECONDS_SUFFIX[unit]
    team = ms[ms["owner_group"] == TEAM] if "owner_group" in ms.columns else ms
    worse = ms[ms["verdict"] == "worse"]
    return {
        "stalled_stages": [str(s) for s in ss.loc[ss["stalled"], "stage"]],
        "slow_managers": _cells(ms, "worse"),
        "fast_managers": _cells(ms, "better"),
        "small_differences": _cells(ms, "small"),
        "not_judged_cells": int((team["verdict"] == "not_judged").sum()),
        "slow_effects": {f"{r.manager}:{r.stage}": {"ratio": _num(r.ratio), "ratio_ci_low": _num(r.ratio_ci_low), "ratio_ci_high": _num(r.ratio_ci_high),
                                                     "ratio_is_lower_bound": bool(r.ratio_bound), "difference_working_s": _num(r.difference_working_s),
                                                     "p_adjusted": _num(r.p_adjusted)}
                         for r in worse.itertuples()},
        "skipping_managers": skippers,
        "backward_managers": backward,
        "skipping_small": skip_small,
        "backward_small": backward_small,
        "skip_effects": skip_effects,
        "skipped_deals": skipped,
        "open_over_norm": int(len(al)),
        "money_at_risk": None if al["amount"].isna().all() else float(al["amount"].sum()),
        f"median_{unit}": {str(s): _num(v) for s, v in zip(measured["stage"], measured["median"])},
        f"p80_{unit}": {str(s): _num(v) for s, v in zip(measured["stage"], measured["p80"])},
        f"median{sfx}": {str(s): _num(v) for s, v in zip(measured["stage"], measured["median" + sfx])},
        f"p80{sfx}": {str(s): _num(v) for s, v in zip(measured["stage"], measured["p80" + sfx])},
        f"norm{sfx}": {str(s): _num(v) for s, v in zip(ss["stage"], ss["norm" + sfx])},
        "share_over_norm": {str(s): _num(v) for s, v in zip(measured["stage"], measured["share_over_norm"])},
        "stays_source": source,
        "stay_owner": stay_owner,
    }


def summary(ds, unit: str = "days", stays: pd.DataFrame | None = None, alpha: float = 0.05, stall_share: float = 0.5, min_stays: int = 15,
            tolerance: float = 0.02, backward_tolerance: float = 0.05, min_deals: int = 10, min_ended: int = 5, min_ratio: float = 1.25,
            min_difference_hours: float = 1.0, min_effect: float = 0.05) -> dict:
    """Key results of the stall and compliance analysis (language-neutral), for ``record``.

    ``stalled_stages``; ``slow_managers`` / ``fast_managers`` (``"manager:stage"`` with the verdict
    ``worse`` / ``better`` of :func:`manager_stage_summary`: significant *and* big enough),
    ``small_differences`` (significant but below the practical threshold: not flagged),
    ``not_judged_cells`` (team manager × stage cells with too few stays), ``slow_effects`` (per
    slow cell: the ratio of the medians with its interval, the difference in working seconds, the
    adjusted p); ``skipping_managers`` / ``backward_managers`` (verdict ``worse`` of
    :func:`compliance`; empty without a stage history), ``skipping_small`` / ``backward_small``
    and ``skip_effects`` (the excess over the tolerance with its interval); ``skipped_deals``;
    ``open_over_norm`` and ``money_at_risk`` (count and amount of :func:`action_list`; ``None``
    when no deal on it has an amount); per measured stage ``median_<unit>``, ``p80_<unit>`` (in
    ``unit``), ``median_s`` / ``p80_s`` / ``norm_s`` (calendar; ``median_working_s``, … for
    business days: seconds, full precision) and ``share_over_norm`` (dicts stage → value,
    unrounded); ``stays_source`` (``"stage_history"`` or ``"deals"``) and ``stay_owner`` (the rule
    the stays were charged by). Pass ``stays`` to reuse :func:`stage_stays` output.
    :meth:`StallsResult.key_figures` gives the same, read off the result.
    """
    _check_unit(unit)
    funnel = ds.funnel
    if stays is None:
        stays = stage_stays(ds)
    ss = stage_summary(stays, funnel, unit, alpha=alpha, stall_share=stall_share)
    ms = manager_stage_summary(stays, funnel, unit, min_stays=min_stays, alpha=alpha, min_ended=min_ended, min_ratio=min_ratio,
                               min_difference_hours=min_difference_hours)
    al = action_list(stays, funnel, unit)
    comp = None
    if ds.has("stage_history") and len(ds.tables["stage_history"]):
        comp = compliance(ds, tolerance=tolerance, backward_tolerance=backward_tolerance, min_deals=min_deals, alpha=alpha, min_effect=min_effect)
    return _key_results(ss, ms, al, comp["per_manager"] if comp else None, comp["skips"] if comp else None,
                        str(stays.attrs.get("source", "stage_history")), unit, str(stays.attrs.get("stay_owner", "deal_owner")))


# ---------------------------------------------------------------------------
# the result of notebook 02


@dataclass(frozen=True)
class StallsResult:
    """What notebook 02 reports, computed once (:func:`analyse`).

    Tables (canonical column names; ``stage`` holds funnel keys, ``manager`` manager keys):

    * ``stays_`` – every stay of a deal in an open stage (:func:`stage_stays`);
    * ``stages_`` / ``stages_business_`` – time in each open stage, in calendar / business days (:func:`stage_summary`);
    * ``km_`` – the Kaplan–Meier curve of each measured stage, calendar days (:func:`km_curves`);
    * ``managers_`` / ``managers_business_`` – each manager in each stage against the rest of the team (:func:`manager_stage_summary`);
    * ``actions_`` – open deals over their stage norm, the most money first (:func:`action_list`, calendar days);
    * ``compliance_``, ``skips_``, ``backward_``, ``loops_`` – process compliance per manager and its
      skips, backward moves and loops (:func:`compliance`); ``None`` without a stage history.
    * ``exits_`` – how deals leave each stage (forward, back, each lost terminal) and after how
      long (:func:`stage_exits`); ``None`` without a stage history.

    ``source`` is where the stays come from (``"stage_history"`` or ``"deals"``), ``settings``
    the ``analysis.stalls`` settings used, ``manager_tests`` the log-rank tests behind ``managers_``
    (calendar days), ``business_days_per_day`` the calendar's working days per calendar day (for
    information: norms are not converted with it), ``working_day_s`` the length of a working day
    in seconds (what one business day is), ``stay_owner`` the rule the stays were charged by
    (``deal_owner`` / ``moved_by``; ``stay_owner_fallback`` stays charged to the owner because
    ``moved_by`` was empty).
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
    exits_: pd.DataFrame | None = None
    working_day_s: float = 32400.0
    stay_owner: str = "deal_owner"
    stay_owner_requested: str = "deal_owner"
    stay_owner_fallback: int = 0

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
        :func:`summary` in calendar days; then from the business-day tables ``stalled_stages_business_days``,
        ``slow_managers_business_days``, ``median_working_s``, ``p80_working_s`` and ``norm_working_s``
        (working seconds, full precision), and ``working_day_s``."""
        out = _key_results(self.stages_, self.managers_, self.actions_, self.compliance_, self.skips_, self.source, "days", self.stay_owner)
        b = self.stages_business_
        out["stalled_stages_business_days"] = [str(s) for s in b.loc[b["stalled"], "stage"]]
        out["slow_managers_business_days"] = _cells(self.managers_business_, "worse")
        measured = b[b["stays"] > 0]
        for c in ("median", "p80"):
            out[c + "_working_s"] = {str(s): _num(v) for s, v in zip(measured["stage"], measured[c + "_working_s"])}
        out["norm_working_s"] = {str(s): _num(v) for s, v in zip(b["stage"], b["norm_working_s"])}
        out["working_day_s"] = float(self.working_day_s)
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
                          manager_stage_summary(stays, funnel, unit, min_stays=st.min_stays, alpha=st.alpha, min_ended=st.min_ended,
                                                min_ratio=st.min_ratio, min_difference_hours=st.min_difference_hours))
    comp = {}
    if source == "stage_history":
        comp = compliance(ds, tolerance=st.tolerance, backward_tolerance=st.backward_tolerance, min_deals=st.min_deals, alpha=st.alpha,
                          min_effect=st.min_effect)
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
        exits_=stage_exits(stays, funnel) if source == "stage_history" else None,
        working_day_s=float(stays.attrs["working_seconds_per_day"]),
        stay_owner=str(stays.attrs.get("stay_owner", "deal_owner")),
        stay_owner_requested=str(stays.attrs.get("stay_owner_requested", "deal_owner")),
        stay_owner_fallback=int(stays.attrs.get("stay_owner_fallback", 0)),
    )
