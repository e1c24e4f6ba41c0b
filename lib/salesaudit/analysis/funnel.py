"""Funnel conversion, statistically right: open deals are unfinished, rates have intervals.

What the CRMs' funnel reports get wrong, and what this module does instead:

* A deal still sitting in a stage has not failed to move on; it has not finished. Step
  conversion here counts, at each step, only the deals that have *left* the stage (moved on,
  won or lost): a deal open in the stage is excluded from the denominator
  (:func:`deal_steps`). The naive ratio is kept beside it for contrast.
* Every rate has a Wilson confidence interval (:func:`salesaudit.stats.wilson`).
* Young cohorts have had less time to convert, so cohorts are compared with cumulative
  incidence curves of won and lost as competing outcomes, open deals censored
  (:func:`cohort_table`, :func:`cohort_curves`), not with won / created.
* Only deals that really were in a stage count at the step out of it (:func:`deal_reach`): a deal
  that jumped over stage a (by its stage history) has neither entered nor left a, so it is not
  credited with a 100 % pass at a → b. Skipping is reported by the process-compliance section
  (notebook 02), not judged here.
* The team is the managers (:mod:`salesaudit.analysis.baseline`): deals with no manager, of a
  system owner or of the head of sales have rows of their own, are never tested and are in no
  baseline.
* Each manager is compared with the rest of the team (:func:`manager_verdicts`): the difference
  in percentage points with its interval, Fisher's exact test Holm-corrected over every manager ×
  step, and a flag only when the difference is significant *and* at least ``min_effect``
  (:func:`salesaudit.stats.effect.judge`); a manager with too few finished deals at a step is
  "not judged".

Reach: a deal reached a stage if its history entered that stage or any later one (a deal that
skipped a stage still passed it, as in Bitrix24's funnel); a won deal reached every open stage.
Reach makes the cumulative funnel chart and the CRM's naive ratio. A deal with no stage history
(no ``stage_history``, or none for that deal) is known only by its reach, so it counts as having
been in every stage up to it; the result says how many deals that was. Without history a lost
deal counts as having reached the first stage only, or the stage the funnel names in
``lost_reached_without_history`` (Maven: every opportunity with an engage date was engaging);
the page says so.

``analyse(ds, settings) -> FunnelResult``: everything notebook 01 reports, as tables with
canonical column names and codes, no language, no formatting, no plotting. The page is made from
the result by :mod:`salesaudit.report.funnel`; the key figures the notebook records come from
:meth:`FunnelResult.key_figures`, never from a second computation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.clock import elapsed_days
from ..data.model import require_tables
from ..data.params import FunnelSettings, parse_period
from ..stats import benjamini_hochberg, binomial_limits, binomial_pvalue, cif_at, cif_at_each, cumulative_incidence, holm, wilson  # noqa: F401
from ..stats.effect import fisher_p, judge, rate_difference
from . import losses
from .baseline import GROUPS, TEAM, owner_group
from .stalls import _lookup, _positions

__all__ = [
    "steps",
    "deal_reach",
    "deal_steps",
    "step_conversion",
    "stage_reach",
    "period_flow",
    "lead_conversion",
    "lead_managers_known",
    "manager_flags",
    "manager_verdicts",
    "manager_comparison",
    "VERDICT_ORDER",
    "cohort_table",
    "cohort_curves",
    "channel_conversion",
    "summary",
    "FunnelResult",
    "analyse",
]

LEAD_STEP = "lead>deal"
OPEN_LEAD_STATUSES = ("new", "in_work")


def steps(funnel) -> list[tuple[str, str]]:
    """The funnel's steps: each open stage to the next, the last open stage to won.

    >>> from salesaudit.data.params import load_funnel
    >>> from salesaudit.data.presets import REPO_ROOT
    >>> steps(load_funnel(REPO_ROOT / "params/funnels/demo_b2b.yaml"))[-2:]
    [('proposal', 'invoice'), ('invoice', 'won')]
    """
    keys = funnel.open_stages + [funnel.won]
    return list(zip(keys[:-1], keys[1:]))


#: the codes of :func:`_outcomes`
WON, LOST, OPEN = 0, 1, 2


def _outcomes(values: pd.Series) -> np.ndarray:
    """Each deal's outcome as a code: :data:`WON`, :data:`LOST`, :data:`OPEN`, -1 for anything else or missing (one lookup for the three)."""
    return _positions(values, pd.Series(["won", "lost", "open"], dtype="string"))


def _owner_groups(ds, managers: pd.Series):
    """:func:`~salesaudit.analysis.baseline.owner_group` of a manager column, decided once per distinct manager.

    The groups of the distinct managers become a column as pandas makes it of their strings, then are taken for
    every deal: no column of a million Python strings to convert."""
    codes, names = pd.factorize(managers, use_na_sentinel=False)
    return pd.Series(np.asarray(owner_group(ds, list(names)), dtype=object)).array.take(codes) if len(names) else owner_group(ds, [])


def _history_stages(ds, order: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per deal: whether the stage history has a row of it, and the bit mask of the open stages (``order``: key -> bit) it was in there.

    Each history row sets one flag in a deals × (open stages + 1) table, the last column standing for a stage that is
    not open (won, lost, unknown); the flags are then packed into bits. A row of a deal not among the deals sets
    nothing. The lookups of the stages and deal ids are those the stays and the compliance check make
    (:func:`~salesaudit.analysis.stalls._lookup`), done once.
    """
    h, d, keys = ds.tables["stage_history"], ds.tables["deals"], ds.funnel.keys
    n, width = len(d), len(order) + 1
    column = np.asarray([order.get(k, width - 1) for k in keys] + [width - 1], dtype=np.int64)  # the last for a stage not a key
    cell = _lookup(h["deal_id"], d["deal_id"]) * width + column[_lookup(h["stage"], keys)]
    cell[cell < 0] = n * width  # a deal not among the deals (position -1): a spare flag after the table
    seen = np.zeros(n * width + 1, dtype=bool)
    seen[cell] = True
    packed = np.packbits(seen[:-1].reshape(n, width), axis=1, bitorder="little")
    bits = np.zeros(n, dtype=np.int64)
    for j in range(packed.shape[1]):
        bits |= packed[:, j].astype(np.int64) << (8 * j)
    return bits != 0, bits & ((1 << (width - 1)) - 1)


def deal_reach(ds) -> pd.DataFrame:
    """One row per deal: how far it got (``reach``), which stages it really was in (``entered_mask``), its state.

    ``reach`` = k means the deal entered open stage k (0-based) or a later one, or, for k = number
    of open stages, was won. ``entered_mask`` has bit k set when the deal was in open stage k:
    in its stage history or as its current stage. A deal with no history at all (no
    ``stage_history``, or none for this deal: ``has_history`` False) is known only by its reach, so
    it counts as having been in every stage up to its reach (the CRM's rule). ``pending`` is True
    for an open deal sitting at its furthest stage; ``owner_group`` is the deal's
    :mod:`~salesaudit.analysis.baseline` group.
    """
    require_tables(ds, "deals", analysis="The funnel")
    funnel = ds.funnel
    order = {k: i for i, k in enumerate(funnel.open_stages)}
    n_open = len(funnel.open_stages)
    d = ds.tables["deals"]
    cur = _positions(d["stage"], pd.Series(funnel.open_stages, dtype="string"))
    reach = np.maximum(cur, 0)
    mask = np.where(cur >= 0, np.left_shift(1, reach), 0).astype(np.int64)
    has_history = np.zeros(len(d), dtype=bool)
    if ds.has("stage_history") and len(ds.tables["stage_history"]):
        has_history, in_history = _history_stages(ds, order)
        reach = np.maximum(reach, np.frexp(in_history)[1] - 1)  # the furthest open stage in the history: the mask's highest bit (-1 for none)
        mask |= in_history
    outcome = _outcomes(d["outcome"])
    if funnel.lost_reached_without_history:
        assumed = order[funnel.lost_reached_without_history]
        reach = np.where((outcome == LOST) & ~has_history, np.maximum(reach, assumed), reach)
    reach = np.where(outcome == WON, n_open, reach).astype(int)
    # without history only the reach is known: every stage up to it (a won deal: every open stage)
    up_to = np.left_shift(1, np.minimum(reach, n_open - 1) + 1).astype(np.int64) - 1
    mask = np.where(has_history, mask, up_to)
    is_open = outcome == OPEN
    return pd.DataFrame(
        {
            "deal_id": d["deal_id"],
            "manager": d["manager"],
            "owner_group": _owner_groups(ds, d["manager"]),
            "channel": d["channel"],
            "created_at": d["created_at"],
            "closed_at": d["closed_at"],
            "outcome": d["outcome"],
            "amount": d["amount"],
            "reach": reach,
            "entered_mask": mask,
            "is_open": is_open,
            "has_history": has_history,
            "pending": is_open & (reach == cur),
        },
        copy=False,  # the deals' columns are shared, not copied (copy on write keeps the dataset's own intact)
    )


def _entered(reach: pd.DataFrame, i: int) -> np.ndarray:
    """Deals that were in open stage ``i`` (:func:`deal_reach`'s ``entered_mask``)."""
    return (np.right_shift(reach["entered_mask"].to_numpy(dtype=np.int64), i) & 1).astype(bool)


def deal_steps(reach: pd.DataFrame, funnel) -> pd.DataFrame:
    """Long table, one row per deal × step whose from-stage the deal was in: ``finished`` (left the stage), ``advanced``.

    The step rate is ``advanced.sum() / finished.sum()``. A deal that jumped over a stage has no
    row at the step from that stage (:func:`deal_reach`).
    """
    rows = []
    for i, step in enumerate(steps(funnel)):
        sub = reach[_entered(reach, i)]
        pending = sub["pending"] & (sub["reach"] == i)
        rows.append(
            pd.DataFrame(
                {
                    "deal_id": sub["deal_id"].to_numpy(),
                    "manager": sub["manager"].to_numpy(),
                    "channel": sub["channel"].to_numpy(),
                    "created_at": sub["created_at"].to_numpy(),
                    "step": i,
                    "from_stage": step[0],
                    "to_stage": step[1],
                    "finished": (~pending).to_numpy(),
                    "advanced": (sub["reach"] > i).to_numpy(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _rates(g: pd.DataFrame) -> pd.DataFrame:
    """k/n with Wilson CI from grouped sums of ``advanced`` and ``finished``; the naive rate from ``naive_advanced / reached`` (or ``advanced / entered``)."""
    k = g["advanced"].to_numpy(dtype=float)
    n = g["finished"].to_numpy(dtype=float)
    lo, hi = wilson(k, n)
    out = g.copy()
    naive_k = (g["naive_advanced"] if "naive_advanced" in g else g["advanced"]).to_numpy(dtype=float)
    naive_n = (g["reached"] if "reached" in g else g["entered"]).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
        out["naive_rate"] = np.where(naive_n > 0, naive_k / np.where(naive_n > 0, naive_n, 1), np.nan)
    out["ci_low"], out["ci_high"] = lo, hi
    return out.drop(columns=[c for c in ("naive_advanced",) if c in out])


STEP_COLUMNS = ["step", "from_stage", "to_stage", "reached", "skipped", "entered", "pending", "finished", "advanced"]


def step_conversion(ds, by: str | None = None, reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """Step conversion of the deals in ``reach`` (all: ``by=None``) or per ``manager`` / ``channel`` / ``owner_group``.

    At each step a→b a deal counts only if it really was in a (:func:`deal_reach`):
    ``entered``; of them ``pending`` are still open in a, ``finished`` left it, ``advanced``
    left it forward; ``rate = advanced / finished`` with its Wilson interval. ``reached`` counts
    the deals that got to a or beyond (the CRM's cumulative funnel), ``skipped`` those of them
    that jumped over a (``reached - entered``), and ``naive_rate`` is the CRM's ratio: deals
    beyond a over deals that reached a, open deals and skips included.

    Columns: ``[by,] step, from_stage, to_stage, reached, skipped, entered, pending, finished,
    advanced, rate, ci_low, ci_high, naive_rate``.
    """
    funnel = ds.funnel
    reach = deal_reach(ds) if reach is None else reach
    r = reach["reach"].to_numpy()
    pend = reach["pending"].to_numpy(dtype=bool)
    m = reach["entered_mask"].to_numpy(dtype=np.int64)
    if by:
        codes, keys = pd.factorize(reach[by], sort=True)
        valid = codes >= 0
        codes, r, pend, m = codes[valid], r[valid], pend[valid], m[valid]
        n_keys = len(keys)
    else:
        codes, n_keys = np.zeros(len(r), dtype=np.int64), 1
    width = len(steps(funnel)) + 1  # reach: 0 … the number of open stages
    # each deal's cell: its key, its reach, pending or not, and (at each step) in the step's stage or not;
    # the five counts of a step are sums of the deals per cell (one bincount, no weights)
    base = ((codes * width + r) * 2 + pend) * 2
    parts = []
    for i, (a, b) in enumerate(steps(funnel)):
        cells = np.bincount(base + (np.right_shift(m, i) & 1), minlength=n_keys * width * 4).reshape(n_keys, width, 2, 2)
        counts = {
            "reached": cells[:, i:].sum(axis=(1, 2, 3)),
            "entered": cells[..., 1].sum(axis=(1, 2)),
            "pending": cells[:, i, 1].sum(axis=1),
            "advanced": cells[:, i + 1:, :, 1].sum(axis=(1, 2)),
            "naive_advanced": cells[:, i + 1:].sum(axis=(1, 2, 3)),
        }
        if by:
            frame = pd.DataFrame({by: list(keys), "step": i, "from_stage": a, "to_stage": b, **counts})
            frame = frame[frame["reached"] > 0]
        else:
            frame = pd.DataFrame({"step": [i], "from_stage": [a], "to_stage": [b], **counts})
        parts.append(frame)
    g = pd.concat(parts, ignore_index=True)
    g["finished"] = g["entered"] - g["pending"]
    g["skipped"] = g["reached"] - g["entered"]
    g = g[([by] if by else []) + STEP_COLUMNS + ["naive_advanced"]]
    if by:
        g = g.sort_values([by, "step"], kind="stable").reset_index(drop=True)
    return _rates(g)


def stage_reach(ds, reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """Deals that reached each stage (open stages and won), as a share of the deals: the funnel chart."""
    funnel = ds.funnel
    reach = deal_reach(ds) if reach is None else reach
    keys = funnel.open_stages + [funnel.won]
    n = len(reach)
    counts = [int((reach["reach"] >= i).sum()) for i in range(len(keys))]
    return pd.DataFrame({"stage": keys, "deals": counts, "share_of_created": [c / n if n else np.nan for c in counts]})


def period_flow(ds, start, end) -> pd.DataFrame:
    """The "by period" funnel (Bitrix24's standard mode): distinct deals that entered each stage in [start, end).

    The ratio of consecutive counts is a flow ratio, not a conversion of the same deals; it is
    shown as such. Needs ``stage_history``; without it, deals created / won in the period.
    """
    funnel = ds.funnel
    keys = funnel.open_stages + list(funnel.won_stages) + list(funnel.lost_stages)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if ds.has("stage_history"):
        h = ds.tables["stage_history"]
        inside = h[(h["entered_at"] >= start) & (h["entered_at"] < end)]
        counts = inside.groupby(inside["stage"].astype(object))["deal_id"].nunique()
        values = [int(counts.get(k, 0)) for k in keys]
    else:
        d = ds.tables["deals"]
        created = int(((d["created_at"] >= start) & (d["created_at"] < end)).sum())
        closed = d[(d["closed_at"] >= start) & (d["closed_at"] < end)]
        by_stage = closed.groupby(closed["stage"].astype(object))["deal_id"].nunique()
        values = [created] + [0] * (len(funnel.open_stages) - 1) + [int(by_stage.get(k, 0)) for k in list(funnel.won_stages) + list(funnel.lost_stages)]
    out = pd.DataFrame({"stage": keys, "entered": values})
    prev = out["entered"].shift(1)
    # a flow ratio runs along the open stages into the first won terminal; the other terminals have none
    flows = set(funnel.open_stages) | {funnel.won}
    out["flow_ratio"] = np.where((prev > 0) & out["stage"].isin(flows), out["entered"] / prev, np.nan)
    out.loc[0, "flow_ratio"] = np.nan
    return out


def lead_conversion(ds, by: str | None = None, team: bool | None = None) -> pd.DataFrame:
    """Leads that became deals. Leads still new or in work are not finished and leave the denominator.

    ``by``: ``manager``, ``channel`` or ``owner_group`` (:mod:`~salesaudit.analysis.baseline`);
    ``team``: None every lead, True the team's leads only, False the leads outside the team.
    """
    require_tables(ds, "leads", analysis="Lead conversion")
    leads = ds.tables["leads"]
    status = leads["status"].astype(object)
    frame = pd.DataFrame(
        {
            "entered": 1,
            "pending": (status.isin(OPEN_LEAD_STATUSES) & leads["deal_id"].isna()).to_numpy(dtype=bool),
            "advanced": leads["deal_id"].notna().to_numpy(dtype=bool),
        }
    )
    frame["finished"] = ~frame["pending"]
    if by == "owner_group" or team is not None:
        groups = owner_group(ds, leads["manager"])
        if team is not None:
            keep = (groups == TEAM) == team
            frame, groups, leads = frame[keep], groups[keep], leads[keep]
    cols = ["entered", "pending", "finished", "advanced"]
    if by:
        frame[by] = groups if by == "owner_group" else leads[by].astype(object).to_numpy()
        frame = frame[frame[by].notna()]
        g = frame.groupby(by, sort=True)[cols].sum().reset_index()
    else:
        g = frame[cols].sum().to_frame().T
    for c in cols:
        g[c] = g[c].astype(int)
    g.insert(0 if not by else 1, "step", LEAD_STEP)
    return _rates(g)


def lead_managers_known(ds) -> bool:
    """Whether leads carry their manager whatever their fate.

    Some exports name the manager only on leads that became deals (Olist's SDR comes with the
    closed deal). Then every manager converts 100% of "their" leads and a per-manager lead
    conversion would be survivorship bias: it is not computed.
    """
    leads = ds.tables["leads"]
    unconverted = leads[leads["deal_id"].isna()]
    return bool(len(unconverted)) and bool(unconverted["manager"].notna().any())


def manager_flags(per_manager: pd.DataFrame, team: pd.DataFrame, *, min_n: int = 20, alpha: float = 0.05, step_col: str = "step") -> pd.DataFrame:
    """Compare each manager's step rate with the team's: the funnel-plot test (significance only, no effect size).

    Kept for the analyses that still use it; the funnel's managers are judged by
    :func:`manager_verdicts` (against the rest of the team, with the size of the difference).

    For every manager × step: the team rate ``p0``, 95% and 99.8% binomial control limits at the
    manager's volume, the exact two-sided binomial p-value, Holm-adjusted over every judgeable
    manager × step. ``flag`` is ``below``/``above`` when adjusted p < ``alpha``; a manager with
    fewer than ``min_n`` finished deals at a step is ``not_judgeable``. Worst first.
    """
    team_rate = team.set_index(step_col)["rate"]
    df = per_manager.copy()
    df["team_rate"] = df[step_col].map(team_rate).astype(float)
    n = df["finished"].to_numpy(dtype=float)
    k = df["advanced"].to_numpy(dtype=float)
    p0 = df["team_rate"].to_numpy(dtype=float)
    df["limit95_low"], df["limit95_high"] = binomial_limits(p0, n, 0.05)
    df["limit998_low"], df["limit998_high"] = binomial_limits(p0, n, 0.002)
    judgeable = n >= min_n
    p = np.full(len(df), np.nan)
    tested = judgeable & (n > 0) & np.isfinite(p0)  # as binomial_pvalue: NaN without trials or a team rate
    p[tested] = binomial_pvalue(k[tested], n[tested], p0[tested])
    df["p_value"] = p
    df["p_adjusted"] = holm(p)
    df["judgeable"] = judgeable
    direction = np.where(df["rate"] < df["team_rate"], "below", "above")
    df["flag"] = np.where(~judgeable, "not_judgeable", np.where(df["p_adjusted"] < alpha, direction, ""))
    df["gap"] = df["rate"] - df["team_rate"]
    order = df["flag"].map({"below": 0, "above": 2, "": 3, "not_judgeable": 4})
    return df.assign(_o=order).sort_values(["_o", "p_adjusted", "gap"], kind="stable").drop(columns="_o").reset_index(drop=True)


#: the verdicts of :func:`manager_verdicts`, in the order its table lists them (flagged first)
VERDICT_ORDER = ("worse", "better", "small", "same", "not_judged")


def manager_verdicts(per_manager: pd.DataFrame, *, min_n: int = 20, alpha: float = 0.05, min_effect: float = 0.05, step_col: str = "step") -> pd.DataFrame:
    """Each team manager against the rest of the team at each step: the size of the difference, a test, a verdict.

    ``per_manager``: one row per manager × step with ``finished`` and ``advanced`` (and ``rate``),
    team managers only (:mod:`~salesaudit.analysis.baseline`): the team of a step is the sum of
    its rows. For each row the baseline is *the rest of the team* (the team without the manager):

    * ``team_rate`` – the rest of the team's rate (``rest_advanced / rest_finished``);
      ``team_rate_all`` – the whole team's, with the 95% and 99.8% binomial control limits at
      the manager's volume around it (the funnel plot);
    * ``difference`` – ``rate - team_rate`` (a fraction: 0.05 = 5 percentage points) with
      ``diff_low, diff_high``, Newcombe's interval (:func:`~salesaudit.stats.effect.rate_difference`);
    * ``p_value`` – two-sided Fisher exact test of the manager's 2×2 table against the rest of the
      team's. Both rates are estimates: the one-sample exact binomial test against the team rate
      would treat the rest of the team's rate as known, which overstates significance when the
      manager is a large part of the team (a team of three) and is not a test against the rest of
      the team at all when the manager is left in it. ``p_adjusted`` – Holm over every judgeable
      row of the table;
    * ``judgeable`` – at least ``min_n`` finished deals (and a rest of the team to compare with);
    * ``flag`` – :func:`~salesaudit.stats.effect.judge`'s verdict: ``worse`` / ``better`` when the
      difference is significant after Holm *and* at least ``min_effect`` in size, ``small`` when
      significant but smaller, ``same``, ``not_judged``.

    Sorted by verdict (:data:`VERDICT_ORDER`), then adjusted p, then difference.
    """
    df = per_manager.copy()
    n = df["finished"].to_numpy(dtype=float)
    k = df["advanced"].to_numpy(dtype=float)
    total = df.groupby(step_col, sort=False)[["finished", "advanced"]].transform("sum")
    n0 = total["finished"].to_numpy(dtype=float) - n
    k0 = total["advanced"].to_numpy(dtype=float) - k
    with np.errstate(invalid="ignore", divide="ignore"):
        df["rate"] = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
        df["rest_finished"], df["rest_advanced"] = n0.astype(int), k0.astype(int)
        df["team_rate"] = np.where(n0 > 0, k0 / np.where(n0 > 0, n0, 1), np.nan)
        all_n = total["finished"].to_numpy(dtype=float)
        df["team_rate_all"] = np.where(all_n > 0, total["advanced"].to_numpy(dtype=float) / np.where(all_n > 0, all_n, 1), np.nan)
    p0 = df["team_rate_all"].to_numpy(dtype=float)
    df["limit95_low"], df["limit95_high"] = binomial_limits(p0, n, 0.05)
    df["limit998_low"], df["limit998_high"] = binomial_limits(p0, n, 0.002)
    diff, lo, hi = rate_difference(k, n, k0, n0, alpha)
    df["difference"], df["diff_low"], df["diff_high"] = diff, lo, hi
    judgeable = (n >= min_n) & (n0 > 0)
    p = np.full(len(df), np.nan)
    for i in np.flatnonzero(judgeable):
        p[i] = fisher_p(int(k[i]), int(n[i]), int(k0[i]), int(n0[i]))
    df["p_value"] = p
    df["p_adjusted"] = holm(p)
    df["judgeable"] = judgeable
    df["flag"] = judge(df["p_adjusted"].to_numpy(), diff, alpha=alpha, threshold=min_effect, judgeable=judgeable)
    order = df["flag"].map({v: i for i, v in enumerate(VERDICT_ORDER)})
    return df.assign(_o=order).sort_values(["_o", "p_adjusted", "difference"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _days(ds) -> np.ndarray:
    """Each deal's days from creation to its close, or to the audit moment while open (elapsed time, clock changes included)."""
    d = ds.tables["deals"]
    end = d["closed_at"].where(d["outcome"] != "open", ds.as_of)
    end = end.fillna(ds.as_of)
    return np.clip(elapsed_days(d["created_at"], end, getattr(ds.config, "timezone", None)), 0, None)


def _durations(ds) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Each deal's :func:`_days` and its outcome (None while open): what the Aalen–Johansen tables are made
    of. The outcomes are made once per distinct outcome, so that every deal won holds the same string
    (compared and hashed once)."""
    d = ds.tables["deals"]
    codes, outcomes = pd.factorize(d["outcome"], use_na_sentinel=False)
    outcomes = pd.Series(outcomes)
    events = outcomes.astype(object).where(outcomes != "open", None).to_numpy()[codes]
    return _days(ds), events, d


def _cohorts(ds, freq: str):
    """For each creation cohort in time order: (period, the positions of its deals, its Aalen–Johansen table).

    The deals are grouped by one sort of their cohorts, each cohort's deals kept in the table's order."""
    require_tables(ds, "deals", analysis="Cohort conversion")
    days, events, d = _durations(ds)
    codes, periods = pd.factorize(d["created_at"].dt.to_period(freq), sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(periods) + 1))
    for j, c in enumerate(periods):
        idx = order[bounds[j]:bounds[j + 1]]
        yield c, idx, cumulative_incidence(days[idx], events[idx], causes=("won", "lost"))


def cohort_table(ds, freq: str = "M", horizons=(30, 60, 90)) -> pd.DataFrame:
    """Deals by creation month (or quarter): naive won/created beside the censoring-aware view.

    ``won_by_<h>d`` is the Aalen–Johansen cumulative incidence of a win within h days of
    creation (lost is the competing outcome, open deals are censored, :func:`~salesaudit.stats.cif_at_each`); NaN when
    the cohort has not been observed that long. One row per cohort with deals, oldest first.
    """
    require_tables(ds, "deals", analysis="Cohort conversion")
    d = ds.tables["deals"]
    outcome = _outcomes(d["outcome"])
    cohort, periods = pd.factorize(d["created_at"].dt.to_period(freq), sort=True)
    k = len(periods)
    counts = np.bincount((cohort * 4 + outcome + 1)[cohort >= 0], minlength=4 * k).reshape(k, 4)  # per cohort: other, won, lost, open
    deals, (won, lost, open_) = counts.sum(axis=1), counts[:, 1:].T
    won_by = cif_at_each(_days(ds), outcome == WON, outcome == LOST, cohort, k, horizons)
    rows = []
    for j, c in enumerate(periods):
        n, w, lo = int(deals[j]), int(won[j]), int(lost[j])
        observed = (ds.as_of - c.start_time).total_seconds() / 86400.0
        row = {
            "cohort": str(c),
            "deals": n,
            "won": w,
            "lost": lo,
            "open": int(open_[j]),
            "naive_win_rate": w / n if n else np.nan,
            "closed_win_rate": w / (w + lo) if w + lo else np.nan,
            "days_observed": round(observed, 1),
        }
        for i, h in enumerate(horizons):
            row[f"won_by_{h}d"] = float(won_by[j, i]) if observed >= h else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def cohort_curves(ds, freq: str = "Q", max_days: float = 180) -> pd.DataFrame:
    """Cumulative incidence of won and lost by days since creation, per cohort, for plotting."""
    out = []
    for c, _, cif in _cohorts(ds, freq):
        cif = cif[cif["time"] <= max_days]
        out.append(pd.DataFrame({"cohort": str(c), "time": cif["time"], "won": cif["cif_won"], "won_low": cif["ci_low_won"], "won_high": cif["ci_high_won"], "lost": cif["cif_lost"]}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def channel_conversion(ds) -> pd.DataFrame:
    """Per lead source: leads → deals (if leads exist), deals → won among closed, and wins within 90 days.

    For the talk with marketing about lead quantity and quality; the worst channel first.
    """
    require_tables(ds, "deals", analysis="Conversion by channel")
    days, events, d = _durations(ds)
    ch = d["channel"].astype(object).fillna("—")
    rows = []
    lead_rates = lead_conversion(ds, by="channel").set_index("channel") if ds.has("leads") else None
    for c in sorted(ch.unique()):
        m = (ch == c).to_numpy()
        won, lost = int((d.loc[m, "outcome"] == "won").sum()), int((d.loc[m, "outcome"] == "lost").sum())
        lo, hi = wilson(won, won + lost)
        cif = cumulative_incidence(days[m], events[m], causes=("won", "lost"))
        row = {"channel": c}
        if lead_rates is not None:
            lr = lead_rates.loc[c] if c in lead_rates.index else None
            row.update({"leads": int(lr["entered"]) if lr is not None else 0, "lead_to_deal": float(lr["rate"]) if lr is not None else np.nan})
        row.update(
            {
                "deals": int(m.sum()),
                "won": won,
                "closed_win_rate": won / (won + lost) if won + lost else np.nan,
                "ci_low": lo,
                "ci_high": hi,
                "won_by_90d": cif_at(cif, "won", 90),
                "revenue_won": float(d.loc[m & (d["outcome"] == "won").to_numpy(), "amount"].sum()),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows).sort_values("closed_win_rate", kind="stable", na_position="last").reset_index(drop=True)


def _by_group(frame: pd.DataFrame) -> pd.DataFrame:
    """A table per owner group in :data:`~salesaudit.analysis.baseline.GROUPS` order (then step)."""
    order = {g: i for i, g in enumerate(GROUPS)}
    return frame.assign(_o=frame["owner_group"].map(order)).sort_values(["_o", "step"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _core(ds, settings: FunnelSettings) -> dict:
    """What both :func:`summary` and :func:`analyse` need: reach, the team, managers against the rest of the team, the other groups, leads."""
    reach = deal_reach(ds)
    in_team = (reach["owner_group"] == TEAM).to_numpy()
    team_reach = reach[in_team]
    judged = {"min_n": settings.min_n, "alpha": settings.alpha, "min_effect": settings.min_effect}
    team = step_conversion(ds, reach=team_reach)
    flags = manager_verdicts(step_conversion(ds, by="manager", reach=team_reach), **judged)
    groups = _by_group(step_conversion(ds, by="owner_group", reach=reach[~in_team]))
    lead_team = lead_groups = lead_flags = known = None
    if ds.has("leads"):
        known = lead_managers_known(ds)
        if known:
            lead_team = lead_conversion(ds, team=True)
            lead_groups = lead_conversion(ds, by="owner_group", team=False)
            lead_groups = lead_groups.assign(step=0).pipe(_by_group).assign(step=LEAD_STEP)
            lead_flags = manager_verdicts(lead_conversion(ds, by="manager", team=True), **judged)
        else:  # the manager of an unconverted lead is unknown: the department's rate, no team split
            lead_team = lead_conversion(ds)
    outcome = reach["outcome"]
    return {
        "reach": reach,
        "team_reach": team_reach,
        "deals": int(len(reach)),
        "won": int((outcome == "won").sum()),
        "lost": int((outcome == "lost").sum()),
        "open": int(reach["is_open"].sum()),
        "team_deals": int(in_team.sum()),
        "deals_without_history": int((~reach["has_history"]).sum()),
        "team": team,
        "flags": flags,
        "groups": groups,
        "lead_team": lead_team,
        "lead_groups": lead_groups,
        "lead_managers_known": known,
        "lead_flags": lead_flags,
    }


def _cells(flags: pd.DataFrame, verdict: str) -> list[str]:
    return sorted(f"{r.manager}:{r.from_stage}>{r.to_stage}" for r in flags.itertuples() if r.flag == verdict)


def _managers(flags: pd.DataFrame | None, verdict: str) -> list[str]:
    return [] if flags is None else sorted(str(m) for m, f in zip(flags["manager"], flags["flag"]) if f == verdict)


def _key_figures(c: dict) -> dict:
    """The key results (language-neutral) from :func:`_core`'s counts and tables: one rule for :func:`summary` and :meth:`FunnelResult.key_figures`.

    ``deals, won, lost, open`` and ``win_rate_closed`` are the whole export's; ``step_rates`` the
    team's (``team_deals``; ``excluded_deals`` per owner group outside it); ``flagged_below`` /
    ``flagged_above`` the manager × step verdicts ``worse`` / ``better``, ``flagged_small`` the
    significant differences below the practical threshold; ``deals_without_history``: deals
    counted by the reach rule, as nothing tells which stages they were in.
    """
    deals, won, lost, open_ = c["deals"], c["won"], c["lost"], c["open"]
    team, flags, groups = c["team"], c["flags"], c["groups"]
    out = {
        "deals": deals,
        "won": won,
        "lost": lost,
        "open": open_,
        "win_rate_closed": float(won / max(1, deals - open_)),
        "team_deals": c["team_deals"],
        "excluded_deals": {g: int(n) for g, n in groups.loc[groups["step"] == 0, ["owner_group", "reached"]].itertuples(index=False)},
        "deals_without_history": c["deals_without_history"],
        "step_rates": {f"{r.from_stage}>{r.to_stage}": round(float(r.rate), 4) for r in team.itertuples()},
        "flagged_below": _cells(flags, "worse"),
        "flagged_above": _cells(flags, "better"),
        "flagged_small": _cells(flags, "small"),
        "not_judged": int((flags["flag"] == "not_judged").sum()),
    }
    lead_team, lead_flags = c["lead_team"], c["lead_flags"]
    if lead_team is not None:
        out["lead_to_deal"] = round(float(lead_team["rate"].iloc[0]), 4)
        out["lead_managers_known"] = bool(c["lead_managers_known"])
        if lead_flags is not None:
            out["lead_flagged_below"] = _managers(lead_flags, "worse")
            out["lead_flagged_above"] = _managers(lead_flags, "better")
            out["lead_flagged_small"] = _managers(lead_flags, "small")
    out["managers_flagged"] = sorted({s.split(":")[0] for s in out["flagged_below"] + out["flagged_above"]} | set(out.get("lead_flagged_below", [])) | set(out.get("lead_flagged_above", [])))
    return out


def summary(ds, *, min_n: int = 20, alpha: float = 0.05, min_effect: float = 0.05) -> dict:
    """Key results of the funnel analysis (language-neutral), for ``record``: :meth:`FunnelResult.key_figures` without the cohorts and channels."""
    settings = FunnelSettings(min_n=min_n, alpha=alpha, min_effect=min_effect)
    return _key_figures(_core(ds, settings)) | losses.analyse(ds, settings).key_figures()


def manager_comparison(ds, settings: FunnelSettings | None = None, reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """The team managers against the rest of the team at every step, as notebook 01 judges them (:attr:`FunnelResult.flags_`).

    For other analyses that need the funnel's verdicts (the scorecard's lagging managers).
    """
    settings = settings or _settings(ds)
    reach = deal_reach(ds) if reach is None else reach
    team_reach = reach[(reach["owner_group"] == TEAM).to_numpy()]
    return manager_verdicts(step_conversion(ds, by="manager", reach=team_reach), min_n=settings.min_n, alpha=settings.alpha, min_effect=settings.min_effect)


def _settings(ds) -> FunnelSettings:
    analysis = getattr(ds.config, "analysis", None)
    return analysis.funnel if analysis is not None else FunnelSettings()


# ---------------------------------------------------------------------------
# the result notebook 01 reports


@dataclass(frozen=True)
class FunnelResult:
    """What notebook 01 reports, computed once.

    Tables (canonical column names; stages, steps, owner groups and verdicts are codes):

    * ``reach_`` – per stage (open stages, then won): the team's deals that reached it, share of them (:func:`stage_reach`);
    * ``team_`` – per step, the team's deals (:mod:`~salesaudit.analysis.baseline`): reached, skipped, entered, pending,
      finished, advanced, rate with its Wilson interval, the CRM's naive rate (:func:`step_conversion`);
    * ``groups_`` – the same per owner group outside the team (``owner_group``: no_manager, system, head_of_sales;
      only the groups that have deals): shown, never tested, in no baseline;
    * ``flags_`` – per team manager × step: rate, the rest of the team's rate, the difference with its interval,
      Fisher's p, Holm-adjusted p, ``flag`` the verdict (:func:`manager_verdicts`);
    * ``period_flow_`` – per stage: distinct deals that entered it in the run's period and the flow ratio (:func:`period_flow`); None without a period;
    * ``lead_team_`` – lead → deal conversion of the team's leads (:func:`lead_conversion`; every lead when leads do not
      carry their manager); None without leads;
    * ``lead_groups_`` – lead → deal per owner group outside the team; None without leads or when leads do not carry their manager;
    * ``lead_flags_`` – per team manager: lead → deal against the rest of the team (:func:`manager_verdicts`); None likewise;
    * ``cohorts_`` – per creation month, every deal: naive and closed win rates, the share won by each horizon (:func:`cohort_table`);
    * ``cohort_curves_`` – per creation quarter: cumulative incidence of won by days since creation (:func:`cohort_curves`);
    * ``channels_`` – per lead source, every deal and lead: leads → deals, won among closed, won within 90 days, revenue (:func:`channel_conversion`).

    ``funnel`` is the run's funnel (stage keys and their labels in each language), ``manager_names`` the
    managers' names by id; ``min_n``, ``alpha`` and ``min_effect`` the settings the managers were judged with;
    ``deals`` … ``open`` count every deal of the export, ``team_deals`` the team's;
    ``deals_without_history`` the deals with no stage history, counted by reach (:func:`deal_reach`).
    """

    client: str
    as_of: pd.Timestamp
    funnel: object
    manager_names: dict
    has_history: bool
    min_n: int
    alpha: float
    deals: int
    won: int
    lost: int
    open: int
    reach_: pd.DataFrame
    team_: pd.DataFrame
    flags_: pd.DataFrame
    cohorts_: pd.DataFrame
    cohort_curves_: pd.DataFrame
    channels_: pd.DataFrame
    period: str | None = None
    period_flow_: pd.DataFrame | None = None
    lead_team_: pd.DataFrame | None = None
    lead_managers_known: bool | None = None
    lead_flags_: pd.DataFrame | None = None
    min_effect: float = 0.05
    team_deals: int = 0
    deals_without_history: int = 0
    groups_: pd.DataFrame | None = None
    lead_groups_: pd.DataFrame | None = None
    #: where, how and why deals are lost (:class:`~salesaudit.analysis.losses.LossesResult`)
    losses: object = None

    @property
    def steps(self) -> list[tuple[str, str]]:
        """The funnel's steps, in order (:func:`steps`)."""
        return steps(self.funnel)

    def key_figures(self) -> dict:
        """The key results of notebook 01's JSON (language-neutral), read off this result."""
        return _key_figures({"deals": self.deals, "won": self.won, "lost": self.lost, "open": self.open, "team_deals": self.team_deals,
                             "deals_without_history": self.deals_without_history, "team": self.team_, "flags": self.flags_, "groups": self.groups_,
                             "lead_team": self.lead_team_, "lead_managers_known": self.lead_managers_known, "lead_flags": self.lead_flags_}) | (
            self.losses.key_figures() if self.losses is not None else {})


def analyse(ds, settings=None) -> FunnelResult:
    """The funnel result of a loaded dataset.

    ``settings``: the run's :class:`~salesaudit.data.params.FunnelSettings` (``ds.config.analysis.settings("funnel", ...)``);
    None: the run config's ``analysis.funnel``.
    """
    settings = settings if settings is not None else _settings(ds)
    core = _core(ds, settings)
    period = parse_period(ds.config.period, ds.config.grain) if ds.config.period else None
    return FunnelResult(
        client=ds.config.client,
        as_of=pd.Timestamp(ds.as_of),
        funnel=ds.funnel,
        manager_names=ds.manager_names(),
        has_history=bool(ds.has("stage_history")),
        min_n=settings.min_n,
        alpha=settings.alpha,
        min_effect=settings.min_effect,
        deals=core["deals"],
        won=core["won"],
        lost=core["lost"],
        open=core["open"],
        team_deals=core["team_deals"],
        deals_without_history=core["deals_without_history"],
        reach_=stage_reach(ds, core["team_reach"]),
        team_=core["team"],
        groups_=core["groups"],
        flags_=core["flags"],
        cohorts_=cohort_table(ds, horizons=settings.cohort_horizons),
        cohort_curves_=cohort_curves(ds, max_days=settings.cohort_days),
        channels_=channel_conversion(ds),
        period=period.label if period is not None else None,
        period_flow_=period_flow(ds, period.start, period.end) if period is not None else None,
        lead_team_=core["lead_team"],
        lead_groups_=core["lead_groups"],
        lead_managers_known=core["lead_managers_known"],
        lead_flags_=core["lead_flags"],
        losses=losses.analyse(ds, settings),
    )
