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

Everything is vectorised, so a million deals with a few million history rows take seconds, not
hours: numpy over the whole history (the history's deal lookup made once and shared with the
funnel); the stays of every manager of a stage sorted once, together, every manager's
Kaplan–Meier figures and his rest of the team's median with its interval computed for all
managers at once, and one pass for all the log-rank tests (:mod:`salesaudit.stats.km_groups`);
the stages on two threads when there are many stays. The numbers are those of the
one-manager-at-a-time computation to the last bit (tests/test_scale_equivalence.py checks them
against independent ones).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data.clock import utc_ns
from ..data.model import require_tables
from ..stats import _check_alpha, _survival_input, _z, holm, kaplan_meier, km_quantile, rate_above_tolerance, wilson
from ..stats.effect import judge, median_ratios
from ..stats.km_groups import KMEach, RiskTable, SingleEventTerms, SortedKM, grouped_order, logrank_each, order_within, small_codes
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
    """Datetimes → int64 nanoseconds, NaT as ``_NAT`` (a column already in nanoseconds: a read-only view of it, not a copy)."""
    if isinstance(values, pd.Series) and values.dtype == "datetime64[ns]":
        return values.to_numpy().view(np.int64)
    return np.asarray(pd.DatetimeIndex(values).as_unit("ns").asi8, dtype=np.int64)


def _positions(values, lookup) -> np.ndarray:
    """Position of each of ``values`` in ``lookup`` (-1 where absent or missing), via pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arr(x, whole: bool):
        a = pa.array(x, from_pandas=True) if not isinstance(x, (pa.Array, pa.ChunkedArray)) else x
        if whole and isinstance(a, pa.ChunkedArray):  # the values may stay in their chunks, not copied
            a = a.combine_chunks()
        return a.cast(pa.large_string())

    res = pc.index_in(arr(values, False), value_set=arr(lookup, True))
    return res.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


#: the last lookups of :func:`_lookup`: (weak reference to the values' array, the lookup, positions), newest first
_LOOKUPS: list = []


def _arrow(values):
    """The pyarrow array behind a column (None when it is not backed by one)."""
    array = getattr(values, "array", None)
    return array.__arrow_array__() if isinstance(array, pd.arrays.ArrowExtensionArray) else None


def _lookup(values: pd.Series, lookup) -> np.ndarray:
    """:func:`_positions` of a column of the dataset (read-only), remembered while its array lives.

    The funnel, the stays and the compliance check each look the stage history's deal ids and
    stages up. A column backed by pyarrow holds an immutable array (a change makes a new one),
    so the same array looked up in the same lookup (the same array of deal ids, or the same
    keys) gives the same positions: the last few are given again instead of being repeated."""
    array = _arrow(values)
    key = _arrow(lookup) if isinstance(lookup, pd.Series) else tuple(lookup)
    if array is None or key is None:
        return _positions(values, pd.Series(lookup, dtype="string") if isinstance(key, tuple) else lookup)
    for ref, known, pos in _LOOKUPS:
        if ref() is array and (known == key if isinstance(key, tuple) else known() is key):
            return pos
    pos = _positions(values, pd.Series(key, dtype="string") if isinstance(key, tuple) else lookup)
    pos.flags.writeable = False
    _LOOKUPS.insert(0, (weakref.ref(array, _forget), key if isinstance(key, tuple) else weakref.ref(key, _forget), pos))
    del _LOOKUPS[4:]
    return pos


def _forget(gone) -> None:
    """Drop the lookups of an array that is gone, or the sort order of a table that is gone (:data:`_SORTED`)."""
    _LOOKUPS[:] = [x for x in _LOOKUPS if x[0] is not gone and x[1] is not gone]
    _SORTED[:] = [x for x in _SORTED if x[0] is not gone]


def _closed_deals(deals: pd.DataFrame) -> np.ndarray:
    return deals["outcome"].isin(["won", "lost"]).fillna(False).to_numpy(dtype=bool)


# ---------------------------------------------------------------------------
# stays


def _in_order(deal: np.ndarray, ns: np.ndarray, ords: np.ndarray, rows: np.ndarray | None = None) -> bool:
    """Whether the rows are already sorted by deal, then time, then funnel order (ties allowed); with ``rows``
    (each row's position before it was moved), whether they are in the one order a stable sort gives: the
    rows of equal keys in ascending ``rows``. Checked a block of rows at a time (the temporaries stay in the
    cache), up to the first block out of order."""
    n, step = len(deal), 1 << 16
    for i in range(0, n - 1, step):
        j = min(i + step, n - 1)
        a, b = slice(i, j), slice(i + 1, j + 1)  # each row against the one before
        same_deal = deal[b] == deal[a]
        same_time = ns[b] == ns[a]
        tie_ok = ords[b] >= ords[a] if rows is None else (ords[b] > ords[a]) | ((ords[b] == ords[a]) & (rows[b] > rows[a]))
        if not ((deal[b] > deal[a]) | (same_deal & ((ns[b] > ns[a]) | (same_time & tie_ok)))).all():
            return False
    return True


def _stable_sort(deal: np.ndarray, ns: np.ndarray, ords: np.ndarray, n_deals: int, n_keys: int) -> tuple:
    """The rows in the order ``np.lexsort((ords, ns, deal))`` puts them (deal positions below ``n_deals``, funnel
    positions below ``n_keys``): ``(order, deal, ords, ns)``, the order and the three columns in it.

    Faster where the three fit in one int64 key (the time from the first entry in the coarsest of a second, a
    millisecond, a microsecond or a nanosecond that divides every entry): one (unstable, vectorised) sort of the
    key, the sorted columns read back from the sorted key (not gathered row by row), then the rows of equal keys
    put back in their order. The key is made and read a slice at a time (:data:`_SLICE`): few arrays over the
    whole history."""
    n = len(deal)

    def gathered(order: np.ndarray) -> tuple:
        return order, deal[order], ords[order], ns[order]

    if n < 2:
        return gathered(np.arange(n))
    lo = int(ns.min())
    span = int(ns.max()) - lo
    bits_ord = max(n_keys - 1, 1).bit_length()
    bits = max(n_deals - 1, 1).bit_length() + bits_ord
    slices = [slice(i, min(i + _SLICE, n)) for i in range(0, n, _SLICE)]
    for unit in (1_000_000_000, 1_000_000, 1_000, 1):
        if span.bit_length() > 62 or (span // unit).bit_length() + bits > 63:  # a finer unit fits even less
            return gathered(np.lexsort((ords, ns, deal)))
        if unit == 1 or not any(((ns[at] - lo) % unit).any() for at in slices):
            break
    bits_time = (span // unit).bit_length() + bits_ord  # the key: deal | time | funnel position
    key = np.left_shift(deal, bits_time, dtype=np.int64)
    for at in slices:
        t = (ns[at] - lo) // unit
        t <<= bits_ord
        t |= ords[at]
        key[at] |= t
    order = np.argsort(key)
    out = (np.empty(n, dtype=np.int64), np.empty(n, dtype=ords.dtype), np.empty(n, dtype=np.int64))
    tie = []
    for at in slices:
        k = key[order[at.start:at.stop + 1]]  # one past the slice: the pair across its end
        tie.append(np.flatnonzero(k[1:] == k[:-1]) + at.start)
        k = k[:at.stop - at.start]
        out[0][at] = k >> bits_time
        out[1][at] = k & ((1 << bits_ord) - 1)
        out[2][at] = ((k >> bits_ord) & ((1 << (bits_time - bits_ord)) - 1)) * unit + lo
    # runs of equal keys (the same deal, time and stage): their rows in ascending position, as a stable sort leaves them
    tie = np.concatenate(tie)
    if len(tie):
        at = np.union1d(tie, tie + 1)
        order[at] = order[at][np.lexsort((order[at], key[order[at]]))]
    return (order, *out)


#: the order :func:`_ordered_path` last sorted a stage history into: (weak reference to the table, the order)
_SORTED: list = []


def _ordered_path(ds) -> dict:
    """Every deal's path through the funnel, as numpy arrays sorted by deal, time, funnel order.

    Rows whose deal is not in ``deals`` (the loader already quarantines them) or whose stage is
    not a funnel key are ignored. A repeated entry into the stage the deal is already in (a
    re-save in the CRM) is not a move and is dropped, so it neither splits a stay nor counts as
    a loop. Returns ``deal`` (row position in ``deals``), ``ord`` (funnel position), ``ns``
    (entered_at in ns), ``row`` (the entry's row position in ``stage_history``: the row that moved
    the deal into the stage; None when every row is kept in the table's order), ``with_history``
    (per deal of ``deals``, whether it has a history row) and the number of deals without any. The
    arrays are read-only (the usual export, whole and in order, is not copied).
    """
    deals = ds.tables["deals"]
    hist = ds.tables["stage_history"]
    keys = ds.funnel.keys
    ords = _lookup(hist["stage"], keys).astype(np.int16)
    deal = _lookup(hist["deal_id"], deals["deal_id"])
    ns = _ns(hist["entered_at"])
    keep = (ords >= 0) & (deal >= 0) & (ns != _NAT)
    row = None  # None: the rows of the history as they are
    if not keep.all():
        row = np.flatnonzero(keep)
        deal, ords, ns = deal[keep], ords[keep], ns[keep]
    # the stays and the compliance check both read the path: the order this table was sorted into the last time
    # is taken again when it still sorts the rows as the stable sort would (then it is that sort's order)
    order = _SORTED[0][1] if _SORTED and _SORTED[0][0]() is hist and len(_SORTED[0][1]) == len(deal) else None
    moved = None if order is None else (deal[order], ords[order], ns[order])
    if moved is None or not _in_order(moved[0], moved[2], moved[1], order):
        order = moved = None
        if not _in_order(deal, ns, ords):  # an export is usually ordered already: then the (stable) sort would change nothing
            order, *moved = _stable_sort(deal, ns, ords, len(deals), len(keys))
            order.flags.writeable = False
            _SORTED[:] = [(weakref.ref(hist, _forget), order)]
    if order is not None:
        (deal, ords, ns), row = moved, (order if row is None else row[order])
    if len(deal) > 1:
        repeat = np.zeros(len(deal), dtype=bool)
        repeat[1:] = (deal[1:] == deal[:-1]) & (ords[1:] == ords[:-1])
        if repeat.any():
            row = np.flatnonzero(~repeat) if row is None else row[~repeat]
            deal, ords, ns = deal[~repeat], ords[~repeat], ns[~repeat]
    with_history = np.zeros(len(deals), dtype=bool)
    with_history[deal] = True
    for a in (deal, ords, ns, row, with_history):
        if a is not None:
            a.flags.writeable = False
    return {"deal": deal, "ord": ords, "ns": ns, "row": row, "with_history": with_history, "deals_without_history": int((~with_history).sum())}


#: stays per slice of :func:`_stay_durations` (the clock conversions' temporaries stay this small)
_SLICE = 1 << 19


def _stay_durations(ds, cal, entered_ns: np.ndarray, left_ns: np.ndarray) -> dict[str, np.ndarray]:
    """Each stay's ``days``, ``seconds`` (elapsed: a stay across a clock change is not an hour short,
    :func:`salesaudit.data.clock.utc_ns`), ``business_days`` and ``working_s`` (working minutes of the
    calendar ``cal``, :meth:`WorkCalendar.working_minutes_ns`) from its entry to ``left_ns``, or to
    ``ds.as_of`` while it lasts (``left_ns`` NaT). Computed a slice of stays at a time into the four
    columns, so that the temporaries are a slice's, not the whole history's: memory a fresh process
    need not be given (on a virtual machine, fresh memory costs more than the arithmetic)."""
    as_of_ns = pd.Timestamp(ds.as_of).as_unit("ns").value
    tz = getattr(ds.config, "timezone", None)
    out = {k: np.empty(len(entered_ns)) for k in ("days", "business_days", "seconds", "working_s")}
    for i in range(0, len(entered_ns), _SLICE):
        at = slice(i, i + _SLICE)
        a, b = entered_ns[at], left_ns[at]
        b = np.where(b != _NAT, b, as_of_ns)
        elapsed = np.maximum(utc_ns(b.view("datetime64[ns]"), tz) - utc_ns(a.view("datetime64[ns]"), tz), 0)
        minutes = cal.working_minutes_ns(a, b)
        out["days"][at] = elapsed / _NS_PER_DAY
        out["seconds"][at] = elapsed / 1e9
        out["business_days"][at] = minutes / cal.minutes_per_day
        out["working_s"][at] = minutes * 60.0
    return out


def _blank(values: pd.Series) -> np.ndarray:
    """Where a manager column is empty (missing or only spaces)."""
    v = values.astype("string")
    return (v.isna() | (v.str.strip() == "")).to_numpy(dtype=bool, na_value=True)


def _named(names, codes: np.ndarray, missing: str | None = None) -> pd.Series:
    """A string column from each row's code into ``names`` (a missing name: ``missing``), built from the
    distinct names, not row by row."""
    names = [missing if missing is not None and pd.isna(v) else v for v in names]
    return pd.Series(pd.array(names, dtype="string").take(codes) if len(names) else pd.array([], dtype="string"))


def _frame_stays(ds, deal_pos, ords, entered_ns, left_ns, next_ords, source: str, extra_attrs: dict, mover=None) -> pd.DataFrame:
    """The stays frame; ``mover``: per stay, who moved the deal into the stage (charged instead of the
    owner where given and not empty; None: every stay is charged to the deal's owner)."""
    deals = ds.tables["deals"]
    keys = ds.funnel.keys
    observed = left_ns != _NAT
    is_current = ~observed
    owner_codes, owners = pd.factorize(deals["manager"].astype("string"), use_na_sentinel=False)  # each deal's manager, once per name
    owner_codes = owner_codes.astype(np.int32)[deal_pos]  # 32-bit: half the memory
    codes, charged = owner_codes, owners
    fallback = 0
    if mover is not None:
        mover = pd.Series(mover, dtype="string").reset_index(drop=True)
        empty = _blank(mover)
        fallback = int(empty.sum())
        codes, charged = pd.factorize(mover.where(~empty, _named(owners, owner_codes)), use_na_sentinel=False)
    groups = owner_group(ds, list(charged)) if len(charged) else []
    cal = ds.calendar
    durations = _stay_durations(ds, cal, entered_ns, left_ns)
    deal_owner = _named(owners, owner_codes, NO_MANAGER)
    out = pd.DataFrame(
        {
            "deal_id": deals["deal_id"].take(deal_pos).reset_index(drop=True).astype("string"),
            "manager": deal_owner if mover is None else _named(charged, codes, NO_MANAGER),  # charged to the owner: the same column
            "deal_owner": deal_owner,
            "owner_group": _named(groups, codes),
            "stage": pd.Categorical.from_codes(ords, categories=keys),
            "entered_at": entered_ns.view("datetime64[ns]"),
            "left_at": left_ns.view("datetime64[ns]"),
            "next_stage": pd.Categorical.from_codes(next_ords, categories=keys),
            "observed": observed,
            "is_current": is_current,
            "days": durations["days"],
            "business_days": durations["business_days"],
            "seconds": durations["seconds"],
            "working_s": durations["working_s"],
            "amount": deals["amount"].to_numpy(dtype="float64", na_value=np.nan)[deal_pos] if len(deal_pos) else np.zeros(0),
        },
        copy=False,
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


def _terminals(deals: pd.DataFrame, funnel, rows: np.ndarray) -> np.ndarray:
    """The funnel position of the terminal each deal at ``rows`` of ``deals`` ended in (-1: none): its stage when
    that is a terminal (one of several lost ones), else the first won / lost terminal by its outcome."""
    order = funnel.order()
    terminals = list(getattr(funnel, "terminals", [funnel.won, funnel.lost]))
    own = _positions(deals["stage"].take(rows), pd.Series(terminals, dtype="string"))
    by_outcome = _positions(deals["outcome"].take(rows), pd.Series(["won", "lost"], dtype="string"))
    own = np.where(own >= 0, np.asarray([order[k] for k in terminals], dtype=np.int64)[np.maximum(own, 0)], -1)
    by_outcome = np.where(by_outcome >= 0, np.asarray([order[funnel.won], order[funnel.lost]], dtype=np.int64)[np.maximum(by_outcome, 0)], -1)
    return np.where(own >= 0, own, by_outcome)


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
    return _frame_stays(ds, *_history_stays(ds, owner))


def _history_stays(ds, owner: str) -> tuple:
    """The arguments of :func:`_frame_stays` for the stays read from the stage history (:func:`stage_stays`).

    A function of its own so that the arrays over the whole history are freed before the frame is made:
    memory a fresh process need not be given."""
    funnel = ds.funnel
    deals = ds.tables["deals"]
    path = _ordered_path(ds)
    deal, ords, ns = path["deal"], path["ord"], path["ns"]
    n = len(deal)
    n_open = len(funnel.open_stages)
    same_next = np.zeros(n, dtype=bool)
    if n > 1:
        same_next[:-1] = deal[1:] == deal[:-1]
    left = np.full(n, _NAT, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int16)
    if n > 1:
        np.copyto(left[:-1], ns[1:], where=same_next[:-1])
        np.copyto(nxt[:-1], ords[1:], where=same_next[:-1])
    is_stay = ords < n_open
    # a closed deal's last stay (its history lacks the terminal entry) ends at its close, in the terminal it ended in
    last = np.flatnonzero(is_stay & ~same_next)
    last = last[_closed_deals(deals)[deal[last]]]
    closed_at = _ns(deals["closed_at"])[deal[last]]
    no_close = np.zeros(n, dtype=bool)
    no_close[last[closed_at == _NAT]] = True
    fix, closed_at = last[closed_at != _NAT], closed_at[closed_at != _NAT]
    left[fix] = np.maximum(closed_at, ns[fix])
    if len(fix):
        nxt[fix] = _terminals(deals, funnel, deal[fix])
    sel = is_stay & ~no_close
    mover = None
    if owner == "moved_by":
        hist = ds.tables["stage_history"]
        moved_by = hist["moved_by"] if "moved_by" in hist.columns else pd.Series(pd.NA, index=hist.index, dtype="string")
        rows = np.flatnonzero(sel) if path["row"] is None else path["row"][sel]
        mover = moved_by.astype("string").take(rows).reset_index(drop=True)
    return (
        deal[sel],
        ords[sel],
        ns[sel],
        left[sel],
        nxt[sel],
        "stage_history",
        {"dropped_no_close": int(no_close.sum()), "deals_without_history": path["deals_without_history"], "stay_owner_requested": owner},
        mover,
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


def _stage_rows(stays: pd.DataFrame, funnel) -> dict[str, np.ndarray]:
    """The positions of the stays of each open stage, in the table's order (as a group-by of the stage keeps them), by one sort of the stages
    (of a categorical column's own small codes, not of a factorization of it)."""
    stage = stays["stage"]
    codes, stages = (stage.cat.codes.to_numpy(), stage.cat.categories) if isinstance(stage.dtype, pd.CategoricalDtype) else pd.factorize(stage)
    order = np.argsort(small_codes(codes, len(stages) + 1), kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(stages) + 1))
    at = {str(k): j for j, k in enumerate(stages)}
    return {s: order[bounds[at[s]]:bounds[at[s] + 1]] if s in at else np.zeros(0, dtype=np.int64) for s in funnel.open_stages}


def people_stays(stays: pd.DataFrame) -> pd.DataFrame:
    """The stays of the department's people: the team's and the head of sales' (what a stage's time is).

    Stays charged to nobody or to a system owner (``owner_group`` ``no_manager`` / ``system``,
    :mod:`salesaudit.analysis.baseline`) are left out; a frame without the column is kept whole.
    """
    people = _people_mask(stays)
    return stays if people is None else stays[people]


def _people_mask(stays: pd.DataFrame) -> np.ndarray | None:
    """Where :func:`people_stays` keeps a stay (None: the frame has no ``owner_group``, every stay), decided once per group."""
    if "owner_group" not in stays.columns:
        return None
    codes, groups = pd.factorize(stays["owner_group"], use_na_sentinel=False)
    return people_mask(np.asarray(groups, dtype=object))[codes]


def _people_durations(stays: pd.DataFrame, funnel, unit: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each open stage's durations in ``unit`` and whether they ended, of the department's people
    (:func:`people_stays`), in the table's order: no frame copied."""
    d, o = _durations(stays, unit)
    people = _people_mask(stays)
    out = {}
    for s, at in _stage_rows(stays, funnel).items():
        at = at if people is None else at[people[at]]
        out[s] = (d[at], o[at])
    return out


def _people_columns(stays: pd.DataFrame, columns) -> pd.DataFrame:
    """:func:`people_stays` with only ``stage`` and ``columns`` (those the frame has), not every column copied."""
    keep = ["stage"] + [c for c in columns if c in stays.columns and c != "stage"]
    return people_stays(stays[keep + (["owner_group"] if "owner_group" in stays.columns and "owner_group" not in keep else [])])


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
    stays = _people_columns(stays, ("observed", "next_stage", "seconds", "amount"))
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
                by_stage = _people_durations(stays, funnel, unit)
            d, o = by_stage[s]
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


def _km_stats(d: np.ndarray, o: np.ndarray, qs, t: float, alpha: float) -> tuple[dict, tuple[float, float, float]]:
    """:func:`salesaudit.stats.km_quantiles` at ``qs`` and the row of :func:`salesaudit.stats.kaplan_meier` at ``t``
    (S with its interval, :meth:`~salesaudit.stats.km_groups.SortedKM.survival_ci`), from one fit."""
    alpha = _check_alpha(alpha)
    dd, oo = _survival_input(d, o)
    order = np.argsort(dd)
    km = SortedKM(dd[order], oo[order])
    return {x: km.quantile(x) for x in qs}, km.survival_ci(t, alpha, n_all=len(d))


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
    per_unit = _seconds_per_unit(stays, unit)
    nm = stage_norms(stays, funnel, unit, norms).set_index("stage")
    by_stage = _people_durations(stays, funnel, unit)
    rows = []
    for s in funnel.open_stages:
        d, o = by_stage[s]
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
    _add_seconds(out, ("median", "p80", "p90", "norm", "naive_median_closed", "naive_mean_closed"), unit, per_unit)
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
    t = np.asarray(durations, dtype="float64")
    d = np.asarray(observed, dtype=bool)
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    k = len(uniques)
    if len(t) == 0 or k == 0:
        return pd.DataFrame(columns=["group", "n", "events", "expected", "chi2", "p_value", "z"])
    return pd.DataFrame({"group": list(uniques), **logrank_each(RiskTable(t, d), d, codes, k)})


def _stage_managers(d: np.ndarray, o: np.ndarray, w: np.ndarray | None, everyone: np.ndarray, group_codes: np.ndarray, names: np.ndarray,
                    groups: np.ndarray, stage: str, unit: str, norm: float, per_unit: float, alpha: float, z: float, terms: SingleEventTerms) -> dict[str, np.ndarray]:
    """:func:`manager_stage_summary`'s rows of one stage, before the correction over all tests: its stays'
    durations ``d`` in ``unit`` (``o``: ended; ``w``: working seconds, None when the frame has none),
    managers and groups as codes into ``names`` and ``groups``.

    Each manager's stays are sorted once for all managers (``grouped_order``, by duration and by
    working time) and give every manager's Kaplan–Meier figures at once (``KMEach``); the rest
    of the team of every team manager comes from the team's risk table at once
    (``RiskTable.median_ci_each``), and the log-rank tests from one pass (``logrank_each``), all
    from :mod:`salesaudit.stats.km_groups`.
    ``terms``: shared by the stages' risk tables. Returns the columns of the stage's rows, one row per
    manager in the order of their names.
    """
    _survival_input(d, o)  # the checks of every Kaplan–Meier fit: finite durations >= 0
    same_clock = unit == "business_days" and w is not None  # the working medians are the table's own
    w = d * per_unit if w is None else w
    here = np.bincount(everyone, minlength=len(names)) > 0
    codes = (np.cumsum(here) - 1)[everyone]  # the stage's managers, numbered in the order of their names
    managers = names[here]
    k = len(managers)
    team = (groups == TEAM)[group_codes]
    by_d, order, bounds = grouped_order(codes, k, d)
    if not same_clock:
        by_w, order_w, _ = grouped_order(codes, k, w)
    # the team: its log-rank tests, its median and each team manager's rest of the team
    dt, ot, ct = d[team], o[team], codes[team]
    counts = RiskTable(dt, ot, order=order_within(by_d, team), terms=terms)
    by_group = order_within(order, team)  # the team's stays by manager, then duration: the sort behind counts.order, by manager
    lr = logrank_each(counts, ot, ct, k, by_group=by_group)
    team_ci = counts.median_ci(z)
    in_team = np.bincount(ct, minlength=k) > 0
    at = np.cumsum(in_team) - 1  # a team manager's row among the team's managers
    rest = counts.median_ci_each(at[ct], int(in_team.sum()), z, by_group=by_group)
    if same_clock:
        team_w, rest_w = team_ci[0] * per_unit, rest[:, 0] * per_unit
    else:
        counts_w = RiskTable(w[team], ot, order=order_within(by_w, team), terms=terms)
        team_w, rest_w = counts_w.median_ci(z, ci=False)[0], counts_w.median_ci_each(at[ct], int(in_team.sum()), z, ci=False,
                                                                                                   by_group=order_within(order_w, team))[:, 0]
    n = np.diff(bounds)
    first = np.minimum.reduceat(order, bounds[:-1])  # each manager's first stay in the table's order says his group
    in_t = team[first]
    each = KMEach(d[order], o[order], bounds)
    quantiles, share = each.figures((0.5, 0.8), norm, alpha)
    own = each.median_ci(z)
    longest = d[order][bounds[1:] - 1]
    if same_clock:
        own_w, longest_w = own[:, 0] * per_unit, np.maximum.reduceat(w[order], bounds[:-1])
    else:
        own_w, longest_w = KMEach(w[order_w], o[order_w], bounds).median_ci(z, ci=False)[:, 0], w[order_w][bounds[1:] - 1]
    row = np.maximum(at, 0)
    r = np.where(in_t[:, None], rest[row], np.asarray(team_ci, dtype="float64")[None, :])
    r_w = np.where(in_t, rest_w[row] if np.ndim(rest_w) else rest_w, team_w)
    ratio, r_lo, r_hi = median_ratios(own[:, 0], own[:, 1], own[:, 2], r[:, 0], r[:, 1], r[:, 2], alpha=alpha)
    # where his median is not reached, the ratio is at least his longest stay over the rest's median
    bound = ~np.isfinite(own[:, 0]) & np.isfinite(r[:, 0]) & (r[:, 0] > 0) & (n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bound, longest / r[:, 0], ratio)
    r_lo, r_hi = np.where(bound, np.nan, r_lo), np.where(bound, np.nan, r_hi)
    own_w = np.where(~np.isfinite(own_w) & np.isfinite(r_w) & (n > 0), longest_w, own_w)
    ended = np.bincount(codes[o], minlength=k)
    return {
        "stage": np.full(k, stage, dtype=object),
        "manager": managers,
        "owner_group": np.array([str(g) for g in groups[group_codes[first]]], dtype=object),
        "stays": n,
        "open": n - ended,
        "ended": ended,
        "median": quantiles[:, 0],
        "median_ci_low": own[:, 1],
        "median_ci_high": own[:, 2],
        "p80": quantiles[:, 1],
        "norm": np.full(k, norm, dtype="float64"),
        "share_over_norm": share[:, 0],
        "share_over_ci_low": share[:, 1],
        "share_over_ci_high": share[:, 2],
        "team_median": np.full(k, team_ci[0], dtype="float64"),
        "rest_median": r[:, 0],
        "rest_median_ci_low": r[:, 1],
        "rest_median_ci_high": r[:, 2],
        "ratio": ratio,
        "ratio_ci_low": r_lo,
        "ratio_ci_high": r_hi,
        "ratio_bound": bound,
        "difference_working_s": own_w - r_w,
        **{c: np.where(in_t, lr[c], np.nan) for c in ("chi2", "p_value", "z")},
    }


#: from this many stays on, :func:`manager_stage_summary` works on its stages in threads
_THREADS_FROM = 200_000


def _in_threads(f, items: list, size: int) -> list:
    """``[f(x) for x in items]``, on two threads when there are two cores and ``size`` is large: the work is
    numpy's, which lets go of the interpreter lock, and each item's is its own, so the results are one
    thread's, in order."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    if size < _THREADS_FROM or min(2, os.cpu_count() or 1, len(items)) < 2:
        return [f(x) for x in items]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(f, items))


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
    # the columns read, as arrays; managers and groups as codes (a stay without a manager key is left out)
    d, o = _durations(stays, unit)
    w = stays["working_s"].to_numpy(dtype="float64") if "working_s" in stays.columns else None
    manager_codes, names = pd.factorize(stays["manager"], sort=True)
    if "owner_group" in stays.columns:
        group_codes, groups = pd.factorize(stays["owner_group"], use_na_sentinel=False)
    else:
        group_codes, groups = np.zeros(len(stays), dtype=np.int64), [TEAM]
    names, groups = np.asarray(names, dtype=object), np.asarray(groups, dtype=object)

    def stage(item) -> dict | None:
        s, at = item
        at = at[manager_codes[at] >= 0]
        if not len(at):
            return None
        return _stage_managers(d[at], o[at], None if w is None else w[at], manager_codes[at], group_codes[at], names, groups, s, unit,
                               float(nm[s]), per_unit, alpha, z_crit, SingleEventTerms())

    rows = _stage_rows(stays, funnel)
    largest_first = sorted(rows.items(), key=lambda x: -len(x[1]))  # so that the threads end together
    done = dict(zip([s for s, _ in largest_first], _in_threads(stage, largest_first, len(stays))))
    parts = [done[s] for s in rows if done[s] is not None]  # in the funnel's order
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
    out = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in parts[0]})
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
    is_lost = np.zeros(len(funnel.keys), dtype=bool)
    is_lost[lost_o] = True
    path = _ordered_path(ds)
    deal, ords, ns = path["deal"], path["ord"], path["ns"]
    n = len(deal)
    first = np.ones(n, dtype=bool)  # a deal's first entry
    if n > 1:
        first[1:] = deal[1:] != deal[:-1]
    mgr_codes, mgr_names = pd.factorize(deals["manager"].fillna(NO_MANAGER), sort=True)
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

    def prev(rows: np.ndarray) -> np.ndarray:
        """The funnel position of the deal's entry before each of ``rows`` (-1 at a deal's first entry)."""
        return np.where(first[rows], -1, ords[rows - 1])

    # skips of mandatory stages: a move past m (to a later open stage or won) before ever entering m
    eligible = np.zeros(len(deals), dtype=bool)
    skipped_deal = np.zeros(len(deals), dtype=bool)
    skip_parts = []
    for m in funnel.mandatory:
        mo = order[m]
        if mo >= n_open:
            continue
        past = np.flatnonzero(((np.arange(len(funnel.keys)) > mo) & ~is_lost)[ords])
        eligible[deal[past]] = True
        hit = past[prev(past) < mo]
        if len(hit):  # one row per deal: its first move past m from before m (a later one is no earlier in the deal)
            hit = hit[np.concatenate([[True], deal[hit][1:] != deal[hit][:-1]])]
        at_m = np.flatnonzero(ords == mo)
        if len(hit) and len(at_m):  # the deal entered m before that move: no skip (the last entry into m before it is the deal's)
            j = np.maximum(np.searchsorted(at_m, hit) - 1, 0)
            hit = hit[(at_m[j] > hit) | (deal[at_m[j]] != deal[hit])]
        skipped_deal[deal[hit]] = True
        skip_parts.append(
            frame(
                hit,
                skipped=lambda r, m=m: pd.Series([m] * len(r), dtype="string"),
                from_stage=lambda r: stage_names(prev(r)),
                to_stage=lambda r: stage_names(ords[r]),
                at=at,
            )
        )
    if skip_parts:
        skips = pd.concat(skip_parts, ignore_index=True).sort_values(["at", "deal_id"], kind="mergesort").reset_index(drop=True)
    else:
        skips = frame(np.zeros(0, dtype=np.int64), skipped=lambda r: stage_names(r), from_stage=lambda r: stage_names(r), to_stage=lambda r: stage_names(r), at=at)

    # backward moves between open stages
    down = np.flatnonzero(~first[1:] & (ords[1:] < ords[:-1])) + 1  # every move to an earlier stage
    back = down[ords[down - 1] < n_open]
    backward = frame(back, from_stage=lambda r: stage_names(prev(r)), to_stage=lambda r: stage_names(ords[r]), at=at)
    # loops: re-entries into a stage already visited (every entry of a (deal, stage) but the first). Only a deal
    # that has moved to an earlier stage can be back in one (the path has no repeated entries), so only the
    # entries of those deals are sorted by (deal, stage), stably: the first of each pair is its earliest entry
    went_down = np.zeros(len(deals), dtype=bool)
    went_down[deal[down]] = True
    rows = np.flatnonzero(went_down[deal])
    key = deal[rows] * len(funnel.keys) + ords[rows]
    by_key = np.argsort(key, kind="stable")
    key = key[by_key]
    loop = np.sort(rows[by_key[1:][key[1:] == key[:-1]]])
    loops = frame(loop, stage=lambda r: stage_names(ords[r]), at=at)

    # per manager
    has_hist = path["with_history"]
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
    per_unit = _seconds_per_unit(stays, unit)
    by_stage = _people_durations(stays, funnel, unit)
    parts = []
    for s in funnel.open_stages:
        d, o = by_stage[s]
        if len(d):
            km = kaplan_meier(d, o, alpha=alpha)
            km.insert(0, "stage", s)
            parts.append(km)
    if not parts:
        out = kaplan_meier([], [], alpha=alpha).assign(stage=pd.Series(dtype=object))[["stage", "time", "at_risk", "events", "censored", "survival", "ci_low", "ci_high"]]
    else:
        out = pd.concat(parts, ignore_index=True)
    out.attrs.update({"unit": unit, "seconds_per_unit": per_unit})
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
