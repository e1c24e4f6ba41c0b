"""Every way a deal is lost: where, how and why, for the team and per manager against the rest of it.

A funnel may have several lost terminals (``terminal: lost``: declined by us, cancelled by the
client, no answer…); the loss-reason column (``deals.lost_reason``) says why. Three questions:

* **Where**: the last open stage the deal was in before it entered its lost terminal, read off the
  stage history (a deal lost, reopened and lost again: before the last loss). A deal without
  history, or whose history holds no open stage before the loss, is lost at an unknown stage
  (``stage`` NA): the export cannot say, and nothing is assumed.
* **How**: the lost terminal the deal ended in: its ``stage`` (the loader keeps which one).
* **Why**: the loss reason as written, normalised (surrounding and repeated spaces dropped,
  spellings that differ only in case counted together under the commonest one); an empty reason, or
  one of dashes only, is *no reason*. The ``top_reasons`` commonest reasons of the team are shown
  one by one, the rest together as *other*.

The team is the deals of managers (:mod:`salesaudit.analysis.baseline`): deals with no manager, of
a system owner or of the head of sales are counted in rows of their own (``groups_``) and left out
of the team's tables and of the tests.

**Managers against the rest of the team.** For every manager and every lost terminal (when the
funnel has several), every top reason and *no reason* (when some losses have one and some do not),
the share of the manager's lost deals that went that way is compared with the same share among the
rest of the team's lost deals: the difference in percentage points with Newcombe's interval
(:func:`salesaudit.stats.effect.rate_difference`), Fisher's exact two-sided test, Holm over every
judged manager × category, and :func:`salesaudit.stats.effect.judge` with the run config's
``analysis.funnel.min_effect``: ``worse`` means *significantly and materially more often than the
rest of the team* (``better``: less often). A manager with fewer than ``analysis.funnel.min_n``
lost deals is ``not_judged``. The shares of one manager add up to one, so a manager who loses far
more to one reason loses less to the others; the verdicts say where the weight moved.

``analyse(ds, settings) -> LossesResult``: tables with canonical column names and codes, no
language; :mod:`salesaudit.report.losses` makes the page blocks from it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.model import require_tables
from ..data.params import FunnelSettings
from ..stats import holm, wilson
from ..stats.effect import fisher_p, judge, rate_difference
from .baseline import GROUPS, TEAM, owner_group

__all__ = [
    "TOP_REASONS",
    "DIMENSIONS",
    "normalise_reasons",
    "lost_deals",
    "where_table",
    "how_table",
    "why_table",
    "groups_table",
    "manager_tests",
    "LossesResult",
    "analyse",
]

#: reasons of the team shown one by one (the rest: ``other``); enough for a picklist, few enough to read
TOP_REASONS = 8
#: what a manager's lost deals are compared on: the lost terminal, a top reason, no reason given
DIMENSIONS = ("terminal", "reason", "no_reason")

_SPACE = re.compile(r"\s+")
_ONLY_DASHES = re.compile(r"^[\s\-–—_.,;:/\\|*?!]*$")


def normalise_reasons(values) -> pd.Series:
    """Loss reasons as written -> one spelling per reason; NA for no reason.

    Surrounding and repeated spaces are dropped; an empty text, or one of dashes and punctuation
    only, is no reason; spellings that differ only in case are one reason, written as most deals
    write it (ties: the first in sorted order).

    >>> normalise_reasons([" Дорого", "дорого ", "Дорого", "", None, "—", "Нет  бюджета"]).tolist()
    ['Дорого', 'Дорого', 'Дорого', <NA>, <NA>, <NA>, 'Нет бюджета']
    """
    s = pd.Series(values, dtype="string") if not isinstance(values, pd.Series) else values.astype("string")
    text = s.str.replace(_SPACE, " ", regex=True).str.strip()
    empty = text.isna() | text.str.fullmatch(_ONLY_DASHES).fillna(True).astype(bool)
    text = text.mask(empty)
    key = text.str.casefold()
    given = pd.DataFrame({"key": key, "text": text}).dropna()
    if given.empty:
        return pd.Series(pd.NA, index=s.index, dtype="string")
    counts = given.value_counts().reset_index(name="n")
    counts = counts.sort_values(["key", "n", "text"], ascending=[True, False, True], kind="stable")
    spelling = counts.drop_duplicates("key").set_index("key")["text"]
    return key.map(spelling).astype("string")


def _history_where(ds, lost: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """For each lost deal: the last open stage before its (last) entry into a lost terminal; and whether it has history."""
    funnel = ds.funnel
    idx = lost.index
    none = pd.Series(pd.NA, index=idx, dtype="string")
    if not ds.has("stage_history") or len(ds.tables["stage_history"]) == 0:
        return none, pd.Series(False, index=idx)
    h = ds.tables["stage_history"]
    ids = lost["deal_id"].astype(object)
    h = h[h["deal_id"].isin(ids)]
    has_history = ids.isin(set(h["deal_id"].astype(object))).set_axis(idx)
    if h.empty:
        return none, has_history
    stage = h["stage"].astype(object)
    order = funnel.order()
    n_open = len(funnel.open_stages)
    pos = stage.map(order)
    deal = h["deal_id"].astype(object)
    loss_at = h.loc[stage.isin(funnel.lost_stages).to_numpy(), "entered_at"].groupby(deal[stage.isin(funnel.lost_stages)]).max()
    opened = (pos < n_open).to_numpy()
    rows = pd.DataFrame({"deal_id": deal[opened], "stage": stage[opened], "at": h.loc[opened, "entered_at"], "pos": pos[opened]})
    cut = rows["deal_id"].map(loss_at)
    rows = rows[cut.isna() | (rows["at"] <= cut)]
    rows = rows.sort_values(["deal_id", "at", "pos"], kind="stable")
    last = rows.groupby("deal_id", sort=False)["stage"].last()
    return pd.Series(ids.map(last).to_numpy(), index=idx, dtype="string"), has_history


def lost_deals(ds) -> pd.DataFrame:
    """One row per lost deal: ``deal_id, manager, owner_group, amount, terminal, stage, has_history, reason``.

    ``terminal``: the lost terminal the deal ended in (its stage; NA when the stage is not a lost
    terminal); ``stage``: where it was lost (the last open stage before the loss; NA: unknown);
    ``reason``: the normalised loss reason (NA: none given). ``owner_group``: the deal's owner
    group (:data:`salesaudit.analysis.baseline.GROUPS`).
    """
    require_tables(ds, "deals", analysis="Where, how and why deals are lost")
    d = ds.tables["deals"]
    lost = d[(d["outcome"] == "lost").fillna(False).to_numpy(dtype=bool)]
    stage = lost["stage"].astype(object)
    terminal = stage.where(stage.isin(ds.funnel.lost_stages), None)
    where, has_history = _history_where(ds, lost)
    reasons = normalise_reasons(lost["lost_reason"]) if "lost_reason" in lost else pd.Series(pd.NA, index=lost.index, dtype="string")
    out = pd.DataFrame(
        {
            "deal_id": lost["deal_id"].astype("string"),
            "manager": lost["manager"].astype("string"),
            "owner_group": owner_group(ds, lost["manager"]),
            "amount": lost["amount"].astype("float64") if "amount" in lost else np.nan,
            "terminal": pd.Series(terminal, index=lost.index, dtype="string"),
            "stage": where,
            "has_history": has_history.to_numpy(dtype=bool),
            "reason": reasons,
        },
        index=lost.index,
    )
    return out.reset_index(drop=True)


def _shares(counts: pd.Series, amounts: pd.Series, total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = counts.to_numpy(dtype=np.int64)
    return n, (n / total if total else np.full(len(n), np.nan)), amounts.to_numpy(dtype=float)


def where_table(lost: pd.DataFrame, funnel) -> pd.DataFrame:
    """Lost deals by the stage they were lost at: ``stage`` (open stages in funnel order; NA: unknown, last, when any), ``lost, share, amount``."""
    keys = list(funnel.open_stages)
    st = lost["stage"].astype(object)
    counts = st.value_counts().reindex(keys, fill_value=0)
    amounts = lost["amount"].groupby(st).sum(min_count=1).reindex(keys)
    rows = pd.DataFrame({"stage": pd.Series(keys, dtype="string")})
    unknown = int(st.isna().sum())
    n, share, amount = _shares(counts, amounts, len(lost))
    rows["lost"], rows["share"], rows["amount"] = n, share, amount
    if unknown:
        extra = pd.DataFrame({"stage": pd.Series([pd.NA], dtype="string"), "lost": [unknown], "share": [unknown / len(lost)],
                              "amount": [float(lost.loc[st.isna(), "amount"].sum(min_count=1))]})
        rows = pd.concat([rows, extra], ignore_index=True)
    return rows


def how_table(lost: pd.DataFrame, funnel) -> pd.DataFrame:
    """Lost deals by lost terminal: ``terminal`` (every lost terminal, in funnel order), ``lost, share, amount``."""
    keys = list(funnel.lost_stages)
    te = lost["terminal"].astype(object)
    counts = te.value_counts().reindex(keys, fill_value=0)
    amounts = lost["amount"].groupby(te).sum(min_count=1).reindex(keys)
    n, share, amount = _shares(counts, amounts, len(lost))
    return pd.DataFrame({"terminal": pd.Series(keys, dtype="string"), "lost": n, "share": share, "amount": amount})


def _top(reasons: pd.Series, top: int) -> list[str]:
    """The ``top`` commonest given reasons, the commonest first (ties: in sorted order)."""
    counts = reasons.dropna().astype(str).value_counts()
    if counts.empty:
        return []
    frame = counts.rename_axis("reason").reset_index(name="n").sort_values(["n", "reason"], ascending=[False, True], kind="stable")
    return frame["reason"].head(top).tolist()


def why_table(lost: pd.DataFrame, top: list[str]) -> pd.DataFrame:
    """Lost deals by reason: ``kind`` (``given``, ``other``: the reasons beyond the top, ``unknown``: no reason),
    ``reason`` (the text; NA for other and unknown), ``lost, share, amount``; the top reasons first, commonest first."""
    r = lost["reason"].astype(object)
    total = len(lost)
    rows = []
    for reason in top:
        m = (r == reason).fillna(False).to_numpy(dtype=bool)
        rows.append({"kind": "given", "reason": reason, "lost": int(m.sum()), "amount": lost.loc[m, "amount"].sum(min_count=1)})
    other = (r.notna() & ~r.isin(top)).to_numpy(dtype=bool)
    if other.any():
        rows.append({"kind": "other", "reason": pd.NA, "lost": int(other.sum()), "amount": lost.loc[other, "amount"].sum(min_count=1)})
    unknown = r.isna().to_numpy(dtype=bool)
    if unknown.any():
        rows.append({"kind": "unknown", "reason": pd.NA, "lost": int(unknown.sum()), "amount": lost.loc[unknown, "amount"].sum(min_count=1)})
    out = pd.DataFrame(rows, columns=["kind", "reason", "lost", "amount"])
    out["reason"] = out["reason"].astype("string")
    out["lost"] = out["lost"].astype(np.int64)
    out["amount"] = out["amount"].astype(float)
    out.insert(3, "share", out["lost"] / total if total else np.nan)
    return out


def cross_table(lost: pd.DataFrame, funnel) -> pd.DataFrame:
    """Lost deals by stage × lost terminal (long): ``stage`` (NA: unknown), ``terminal, lost``; every pair, zeros included."""
    stages = list(funnel.open_stages) + ([None] if lost["stage"].isna().any() else [])
    rows = []
    st = lost["stage"].astype(object)
    te = lost["terminal"].astype(object)
    for s in stages:
        at = st.isna() if s is None else (st == s)
        for term in funnel.lost_stages:
            rows.append({"stage": pd.NA if s is None else s, "terminal": term, "lost": int((at & (te == term)).sum())})
    out = pd.DataFrame(rows, columns=["stage", "terminal", "lost"])
    out["stage"] = out["stage"].astype("string")
    out["terminal"] = out["terminal"].astype("string")
    return out


def groups_table(lost: pd.DataFrame) -> pd.DataFrame:
    """Lost deals per owner group, the team first: ``owner_group, lost, amount, no_reason, unknown_stage`` (empty groups other than the team left out)."""
    rows = []
    for g in GROUPS:
        m = (lost["owner_group"] == g).to_numpy(dtype=bool)
        if g != TEAM and not m.any():
            continue
        sub = lost[m]
        rows.append({"owner_group": g, "lost": int(m.sum()), "amount": float(sub["amount"].sum(min_count=1)),
                     "no_reason": int(sub["reason"].isna().sum()), "unknown_stage": int(sub["stage"].isna().sum())})
    return pd.DataFrame(rows, columns=["owner_group", "lost", "amount", "no_reason", "unknown_stage"])


def _categories(team: pd.DataFrame, funnel, top: list[str]) -> list[tuple[str, object, np.ndarray]]:
    """(dimension, category, mask over the team's lost deals) for every comparison worth making."""
    out = []
    te = team["terminal"].astype(object)
    if len(funnel.lost_stages) > 1:
        present = [k for k in funnel.lost_stages if (te == k).any()]
        if len(present) > 1:
            out += [("terminal", k, (te == k).to_numpy(dtype=bool)) for k in present]
    r = team["reason"].astype(object)
    given = r.notna().to_numpy(dtype=bool)
    kinds = len(top) + int(given.any() and bool((~r.isin(top) & r.notna()).any())) + int((~given).any())
    if kinds > 1:  # one category holding every loss says nothing about anyone
        out += [("reason", x, (r == x).fillna(False).to_numpy(dtype=bool)) for x in top]
        if given.any() and (~given).any():
            out.append(("no_reason", pd.NA, ~given))
    return out


_MANAGER_COLUMNS = ["manager", "dimension", "category", "lost", "count", "share", "ci_low", "ci_high", "rest_lost", "rest_count", "rest_share",
                    "diff", "diff_low", "diff_high", "judgeable", "p_value", "p_adjusted", "verdict"]
_VERDICT_ORDER = {"worse": 0, "better": 1, "small": 2, "same": 3, "not_judged": 4}


def manager_tests(lost: pd.DataFrame, funnel, top: list[str], *, min_n: int, alpha: float, min_effect: float) -> pd.DataFrame:
    """Each team manager × category: the share of his lost deals against the rest of the team's.

    One row per manager (team only) × (lost terminal, top reason, no reason; see :func:`_categories`):
    ``lost`` (his lost deals), ``count`` (of them, that way), ``share`` with its Wilson interval
    ``ci_low, ci_high``, ``rest_lost, rest_count, rest_share`` (the rest of the team), ``diff``
    (share − rest share) with Newcombe's ``diff_low, diff_high``, ``judgeable`` (``lost >= min_n``),
    ``p_value`` (Fisher's exact, two-sided), ``p_adjusted`` (Holm over the judged rows),
    ``verdict`` (:func:`salesaudit.stats.effect.judge`, higher share = ``worse``). Flagged rows first.
    """
    team = lost[(lost["owner_group"] == TEAM).to_numpy(dtype=bool)].reset_index(drop=True)
    cats = _categories(team, funnel, top)
    if team.empty or not cats:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(_MANAGER_COLUMNS, ["string", "string", "string"] + ["float64"] * 11 + ["bool", "float64", "float64", "object"])})
    mgr = team["manager"].astype(object).to_numpy()
    managers = sorted(set(mgr))
    total = len(team)
    # one pass over the lost deals per category (not per manager × category): each manager's counts by his place
    place = pd.Index(managers, dtype=object).get_indexer(mgr)
    n_m = len(managers)
    lost_by = np.bincount(place, minlength=n_m)
    count_by = np.stack([np.bincount(place[mask], minlength=n_m) for _, _, mask in cats], axis=1)  # managers × categories
    rest_by = np.array([int(mask.sum()) for _, _, mask in cats], dtype=np.int64)[None, :] - count_by
    n_c = len(cats)
    out = pd.DataFrame({
        "manager": np.repeat(np.asarray(managers, dtype=object), n_c),
        "dimension": np.array([dim for _ in range(n_m) for dim, _, _ in cats], dtype=object),
        "category": np.array([cat for _ in range(n_m) for _, cat, _ in cats], dtype=object),
        "lost": np.repeat(lost_by, n_c).astype(np.int64),
        "count": count_by.ravel().astype(np.int64),
        "rest_lost": np.repeat(total - lost_by, n_c).astype(np.int64),
        "rest_count": rest_by.ravel().astype(np.int64),
    })
    n1, k1, n0, k0 = (out[c].to_numpy(dtype=float) for c in ("lost", "count", "rest_lost", "rest_count"))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(n1 > 0, k1 / np.where(n1 > 0, n1, 1), np.nan)
        out["rest_share"] = np.where(n0 > 0, k0 / np.where(n0 > 0, n0, 1), np.nan)
    out["ci_low"], out["ci_high"] = wilson(k1, n1, alpha)
    out["diff"], out["diff_low"], out["diff_high"] = rate_difference(k1, n1, k0, n0, alpha)
    out["judgeable"] = (n1 >= min_n) & (n0 > 0)
    out["p_value"] = [(fisher_p(int(a), int(b), int(c), int(d)) if j else np.nan) for a, b, c, d, j in zip(k1, n1, k0, n0, out["judgeable"])]
    out["p_adjusted"] = holm(out["p_value"].to_numpy(dtype=float))
    out["verdict"] = judge(out["p_adjusted"], out["diff"], alpha=alpha, threshold=min_effect, judgeable=out["judgeable"], higher_is_worse=True)
    dim_order = {d: i for i, d in enumerate(DIMENSIONS)}
    cat_order = {("terminal", k): i for i, k in enumerate(funnel.lost_stages)} | {("reason", r): i for i, r in enumerate(top)}
    out["_v"] = out["verdict"].map(_VERDICT_ORDER)
    out["_d"] = out["dimension"].map(dim_order)
    out["_c"] = [cat_order.get((d, c), 0) for d, c in zip(out["dimension"], out["category"])]
    out = out.sort_values(["_v", "manager", "_d", "_c"], kind="stable").drop(columns=["_v", "_d", "_c"]).reset_index(drop=True)
    out["manager"] = out["manager"].astype("string")
    out["dimension"] = out["dimension"].astype("string")
    out["category"] = out["category"].astype("string")
    for c in ("lost", "count", "rest_lost", "rest_count"):
        out[c] = out[c].astype(np.int64)
    return out[_MANAGER_COLUMNS]


# ---------------------------------------------------------------------------
# the result


@dataclass(frozen=True)
class LossesResult:
    """Where, how and why the team's deals are lost, and managers against the rest of the team.

    Tables (canonical column names; stages, terminals, groups, dimensions and verdicts are codes;
    reasons are the client's own text):

    * ``where_`` – per open stage (NA: unknown, last): the team's lost deals lost there, ``lost, share, amount`` (:func:`where_table`);
    * ``how_`` – per lost terminal: ``lost, share, amount`` (:func:`how_table`);
    * ``why_`` – per reason (top reasons, then ``other``, then ``unknown``): ``lost, share, amount`` (:func:`why_table`);
    * ``cross_`` – stage × lost terminal counts (:func:`cross_table`);
    * ``groups_`` – lost deals per owner group, the team first (:func:`groups_table`);
    * ``managers_`` – per team manager × category, his share against the rest of the team with the verdict (:func:`manager_tests`).

    ``lost`` counts the team's lost deals; ``has_history`` says whether a stage history was loaded,
    ``has_reasons`` whether any lost deal gives a reason; ``min_n``, ``alpha``, ``min_effect`` and
    ``top_reasons`` are the settings the tables were made with; ``currency`` is the amounts' currency.
    """

    client: str
    as_of: pd.Timestamp
    funnel: object
    manager_names: dict
    has_history: bool
    has_reasons: bool
    min_n: int
    alpha: float
    min_effect: float
    top_reasons: int
    currency: str | None
    lost: int
    where_: pd.DataFrame
    how_: pd.DataFrame
    why_: pd.DataFrame
    cross_: pd.DataFrame
    groups_: pd.DataFrame
    managers_: pd.DataFrame

    @property
    def several_terminals(self) -> bool:
        """Whether the funnel has more than one lost terminal."""
        return len(self.funnel.lost_stages) > 1

    def key_figures(self) -> dict:
        """The key results (language-neutral) of the losses, read off this result.

        ``losses_lost``: the team's lost deals; ``losses_by_terminal`` and ``losses_by_stage``
        (``unknown`` for a stage the export cannot tell): counts; ``losses_top_reasons``: the top
        reasons' counts, commonest first; ``losses_no_reason_share``: the share lost without a
        reason; ``losses_flagged``: ``manager:dimension:category`` where a manager loses
        significantly and materially more often that way than the rest of the team
        (``losses_flagged_less``: less often); ``losses_managers_flagged``: those managers;
        ``losses_not_judged``: managers with too few lost deals to judge.
        """
        m = self.managers_

        def tag(r) -> str:
            return f"{r.manager}:{r.dimension}:{'' if pd.isna(r.category) else r.category}"

        unknown = self.why_.loc[self.why_["kind"] == "unknown", "lost"].sum()
        per_manager = m.drop_duplicates("manager") if len(m) else m
        return {
            "losses_lost": int(self.lost),
            "losses_by_terminal": {str(k): int(v) for k, v in zip(self.how_["terminal"], self.how_["lost"])},
            "losses_by_stage": {("unknown" if pd.isna(k) else str(k)): int(v) for k, v in zip(self.where_["stage"], self.where_["lost"])},
            "losses_top_reasons": {str(r): int(n) for k, r, n in zip(self.why_["kind"], self.why_["reason"], self.why_["lost"]) if k == "given"},
            "losses_no_reason_share": float(unknown / self.lost) if self.lost else None,
            "losses_flagged": sorted(tag(r) for r in m.itertuples() if r.verdict == "worse"),
            "losses_flagged_less": sorted(tag(r) for r in m.itertuples() if r.verdict == "better"),
            "losses_managers_flagged": sorted({str(r.manager) for r in m.itertuples() if r.verdict in ("worse", "better")}),
            "losses_not_judged": int((~per_manager["judgeable"].astype(bool)).sum()) if len(per_manager) else 0,
        }


def analyse(ds, settings=None, *, top_reasons: int = TOP_REASONS) -> LossesResult:
    """The losses of a loaded dataset.

    ``settings``: the run's :class:`~salesaudit.data.params.FunnelSettings` (``min_n``: lost deals a
    manager needs to be judged; ``alpha``; ``min_effect``: the smallest difference in a share that
    is flagged); None: the run config's ``analysis.funnel``. ``top_reasons``: reasons shown one by
    one (the rest as other).
    """
    if settings is None:
        analysis = getattr(ds.config, "analysis", None)
        settings = analysis.funnel if analysis is not None else FunnelSettings()
    lost = lost_deals(ds)
    team = lost[(lost["owner_group"] == TEAM).to_numpy(dtype=bool)].reset_index(drop=True)
    top = _top(team["reason"], top_reasons)
    return LossesResult(
        client=ds.config.client,
        as_of=pd.Timestamp(ds.as_of),
        funnel=ds.funnel,
        manager_names=ds.manager_names(),
        has_history=bool(ds.has("stage_history") and len(ds.tables["stage_history"])),
        has_reasons=bool(lost["reason"].notna().any()),
        min_n=settings.min_n,
        alpha=settings.alpha,
        min_effect=settings.min_effect,
        top_reasons=top_reasons,
        currency=getattr(ds.config, "currency", None),
        lost=int(len(team)),
        where_=where_table(team, ds.funnel),
        how_=how_table(team, ds.funnel),
        why_=why_table(team, top),
        cross_=cross_table(team, ds.funnel),
        groups_=groups_table(lost),
        managers_=manager_tests(lost, ds.funnel, top, min_n=settings.min_n, alpha=settings.alpha, min_effect=settings.min_effect),
    )
