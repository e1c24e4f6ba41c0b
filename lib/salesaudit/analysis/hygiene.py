"""CRM hygiene and discipline (a section of notebook 04).

* :func:`tasks` — overdue tasks (due before the audit moment and not done) and tasks closed
  late, per manager, with rates and Wilson intervals;
* :func:`empty_fields` — deals with the config's ``required_deal_fields`` empty, per manager;
* :func:`no_next_task` — open deals without a next step (no open task, or only overdue ones);
* :func:`deal_load` — open deals per manager against ``deal_load.limit_for``;
* :func:`policy` — discounts over ``discounts.max_discount_pct``, payment terms outside
  ``allowed_payment_terms``, instalments at or below ``instalment_min_amount``, with deal ids;
  :func:`policy_by_manager` — per manager, the share of deals outside the policy with its
  interval and its excess over the tolerated share; a *breaker* is significantly above the
  tolerance *and* at least ``policy_min_effect`` above it (a flag needs a size, not only a
  p-value); deals without a manager, of a system owner or of the head of sales are shown in rows
  of their own and not judged (:mod:`salesaudit.analysis.baseline`);
* :func:`call_sample` — a stratified random sample of calls to listen to (seeded);
* :func:`analyse` — all of them as one :class:`HygieneResult` (no language, no formatting), whose
  :meth:`~HygieneResult.key_figures` notebook 04 records; :mod:`salesaudit.report.hygiene` renders it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.model import require_tables
from ..stats import rate_above_tolerance, wilson
from ..stats.effect import judge
from .baseline import TEAM, owner_group

__all__ = ["HygieneResult", "analyse", "tasks", "empty_fields", "no_next_task", "deal_load", "policy", "policy_by_manager", "call_sample", "summary"]


def _mgr(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "—").astype(str)


def _with_ci(out: pd.DataFrame, k: str, n: str, rate: str) -> pd.DataFrame:
    kk, nn = out[k].to_numpy(dtype=float), out[n].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[rate] = np.where(nn > 0, kk / np.where(nn > 0, nn, 1), np.nan)
    lo, hi = wilson(kk, nn)
    out[rate + "_low"], out[rate + "_high"] = lo, hi
    return out


def tasks(ds) -> pd.DataFrame:
    """Per manager (and ``""`` for the team): tasks, those due by the audit moment, overdue ones
    (due before ``as_of``, not done), done ones and those done after their deadline, with
    ``overdue_rate`` = overdue / due and ``late_rate`` = done late / done (Wilson 95 % intervals).
    """
    require_tables(ds, "activities", analysis="CRM hygiene")
    a = ds.tables["activities"]
    tk = a[a["type"] == "task"].copy()
    T = pd.Timestamp(ds.as_of)
    tk["manager"] = _mgr(tk["manager"])
    tk["due"] = tk["due_at"].notna() & (tk["due_at"] < T)
    tk["overdue"] = tk["due"] & tk["done_at"].isna()
    tk["done"] = tk["done_at"].notna()
    tk["late"] = tk["done"] & tk["due_at"].notna() & (tk["done_at"] > tk["due_at"])
    agg = dict(tasks=("activity_id", "size"), due=("due", "sum"), overdue=("overdue", "sum"), done=("done", "sum"), done_late=("late", "sum"))
    per = tk.groupby("manager").agg(**agg).reset_index()
    team = tk.assign(manager="").groupby("manager").agg(**agg).reset_index()
    out = pd.concat([per, team], ignore_index=True)
    out = _with_ci(out, "overdue", "due", "overdue_rate")
    return _with_ci(out, "done_late", "done", "late_rate")


def empty_fields(ds) -> pd.DataFrame:
    """Per manager: deals, deals with any required field empty (``with_empty``, ``share_empty`` with
    a Wilson interval), and per required field ``empty_<field>``. A deal without a manager counts
    under ``"—"``."""
    require_tables(ds, "deals", analysis="CRM hygiene")
    d = ds.tables["deals"]
    fields = list(ds.config.required_deal_fields)
    empty = pd.DataFrame({f"empty_{f}": d[f].isna() | (d[f].astype(str).str.strip() == "") if f in d.columns else True for f in fields}, index=d.index)
    frame = pd.concat([pd.DataFrame({"manager": _mgr(d["manager"]), "deals": 1, "with_empty": empty.any(axis=1).astype(int) if fields else 0}), empty.astype(int)], axis=1)
    per = frame.groupby("manager").sum().reset_index()
    team = frame.drop(columns="manager").sum().to_frame().T
    team.insert(0, "manager", "")
    out = pd.concat([per, team], ignore_index=True)
    return _with_ci(out, "with_empty", "deals", "share_empty")


def _open_deals(ds) -> pd.DataFrame:
    d = ds.tables["deals"]
    return d[d["outcome"] == "open"]


def no_next_task(ds) -> pd.DataFrame:
    """Open deals without a next step, per manager: ``no_open_task`` (no task on the deal that is
    not done) and ``only_overdue`` (open tasks exist, but none is due at or after ``as_of``);
    ``without_next_task`` is their sum. The team is ``manager == ""``. ``attrs["deal_ids"]``
    lists the deals per manager.
    """
    require_tables(ds, "deals", "activities", analysis="CRM hygiene")
    op = _open_deals(ds)
    a = ds.tables["activities"]
    T = pd.Timestamp(ds.as_of)
    open_tasks = a[(a["type"] == "task") & a["done_at"].isna() & a["deal_id"].notna()]
    has_open = set(open_tasks["deal_id"].astype(str))
    has_future = set(open_tasks.loc[open_tasks["due_at"].isna() | (open_tasks["due_at"] >= T), "deal_id"].astype(str))
    ids = op["deal_id"].astype(str)
    f = pd.DataFrame({"manager": _mgr(op["manager"]).to_numpy(), "deal_id": ids.to_numpy()})
    f["open_deals"] = 1
    f["no_open_task"] = (~ids.isin(has_open)).astype(int).to_numpy()
    f["only_overdue"] = (ids.isin(has_open) & ~ids.isin(has_future)).astype(int).to_numpy()
    f["without_next_task"] = f["no_open_task"] + f["only_overdue"]
    cols = ["open_deals", "no_open_task", "only_overdue", "without_next_task"]
    per = f.groupby("manager")[cols].sum().reset_index()
    team = f[cols].sum().to_frame().T
    team.insert(0, "manager", "")
    out = pd.concat([per, team], ignore_index=True)
    out.attrs["deal_ids"] = f[f["without_next_task"] > 0].groupby("manager")["deal_id"].apply(list).to_dict()
    return out


def deal_load(ds) -> pd.DataFrame:
    """Open deals per manager (the managers table, the head included, and every deal owner) against
    ``deal_load.limit_for(manager)``: ``open_deals``, ``limit``, ``over`` (open > limit), ``excess``.
    A system owner (``system_owners``, :mod:`salesaudit.analysis.baseline`: a CRM robot) is no seller
    and has no load limit: it is left out."""
    require_tables(ds, "deals", analysis="CRM hygiene")
    op = _open_deals(ds)
    counts = _mgr(op["manager"]).value_counts()
    mgrs = list(ds.tables["managers"]["manager"].astype(str)) if ds.has("managers") else []
    owners = sorted(set(_mgr(ds.tables["deals"]["manager"])) - {"—"})
    mgrs = list(dict.fromkeys(mgrs + owners + sorted(counts.index)))
    mgrs = [m for m, g in zip(mgrs, owner_group(ds, mgrs)) if g != "system"]
    out = pd.DataFrame({"manager": mgrs})
    out["open_deals"] = out["manager"].map(counts).fillna(0).astype(int)
    out["limit"] = out["manager"].map(ds.config.deal_load.limit_for).astype(int)
    out["over"] = out["open_deals"] > out["limit"]
    out["excess"] = np.maximum(out["open_deals"] - out["limit"], 0)
    return out


def policy(ds) -> pd.DataFrame:
    """Deals breaking the discount and instalment policy, one row per deal.

    Columns: ``deal_id, manager, amount, discount_pct, payment_terms, outcome``, and the flags
    ``discount_over_limit`` (discount > ``max_discount_pct``), ``terms_not_allowed`` (terms given
    but not in ``allowed_payment_terms``), ``instalment_below_min`` (``instalment_*`` terms with an
    amount at or below ``instalment_min_amount``: the policy wants strictly more).
    """
    require_tables(ds, "deals", analysis="CRM hygiene")
    d = ds.tables["deals"]
    pol = ds.config.discounts
    terms = d["payment_terms"].astype(object)
    has_terms = terms.notna() & (terms.astype(str).str.strip() != "")
    f = pd.DataFrame({
        "deal_id": d["deal_id"].astype(str), "manager": _mgr(d["manager"]), "amount": d["amount"], "discount_pct": d["discount_pct"],
        "payment_terms": terms, "outcome": d["outcome"].astype(object),
    })
    f["discount_over_limit"] = (d["discount_pct"] > pol.max_discount_pct).fillna(False).to_numpy(dtype=bool)
    f["terms_not_allowed"] = (has_terms & ~terms.isin(pol.allowed_payment_terms)).to_numpy(dtype=bool)
    inst = has_terms & terms.astype(str).str.startswith("instalment")
    if pol.instalment_min_amount is not None:
        f["instalment_below_min"] = (inst & (d["amount"] <= pol.instalment_min_amount).fillna(False)).to_numpy(dtype=bool)
    else:
        f["instalment_below_min"] = False
    f["has_terms"] = has_terms.to_numpy(dtype=bool)
    flags = ["discount_over_limit", "terms_not_allowed", "instalment_below_min"]
    out = f[f[flags].any(axis=1)].drop(columns="has_terms").reset_index(drop=True)
    out.attrs["deals_with_terms"] = f[f["has_terms"]].groupby("manager").size().to_dict()
    return out


def policy_by_manager(ds, violations: pd.DataFrame | None = None, tolerance: float = 0.05, min_deals: int = 10, alpha: float = 0.05,
                      min_effect: float = 0.05) -> pd.DataFrame:
    """Per manager: deals with terms, violations of each kind, deals with any, their ids, and the verdict.

    ``violation_rate`` is the share of the manager's deals with terms that break the policy, with
    its Wilson 95 % interval ``violation_rate_low``/``violation_rate_high``; ``excess`` is that share
    minus ``tolerance`` (a fraction: 0.05 = 5 p.p.), ``excess_low``/``excess_high`` its interval (the
    tolerance is a fixed number, so the share's interval shifted). ``p_value``: the one-sided exact
    binomial test of the share against ``tolerance``, ``p_adjusted``: Holm over the judged managers;
    ``judgeable``: a team manager with at least ``min_deals`` deals with terms. ``verdict``
    (:func:`salesaudit.stats.effect.judge`, ``threshold=min_effect``): ``worse`` when significantly
    above the tolerance *and* at least ``min_effect`` above it, ``small`` when significant but less
    (one stray exception more than tolerated is not a pattern), ``same``, ``not_judged``, and
    ``excluded`` for the rows outside the team (``owner_group`` ``no_manager`` — the manager ``"—"`` —,
    ``system``, ``head_of_sales``): shown, not tested. ``breaker`` is ``verdict == "worse"``.
    Sorted breakers first, then by the excess.
    """
    v = policy(ds) if violations is None else violations
    wt = pd.Series(v.attrs.get("deals_with_terms", policy(ds).attrs["deals_with_terms"]), dtype=float)
    mgrs = sorted(set(wt.index) | set(v["manager"]))
    out = pd.DataFrame({"manager": mgrs})
    out["owner_group"] = np.where(out["manager"] == "—", "no_manager", owner_group(ds, out["manager"].where(out["manager"] != "—"))).astype(object)
    out["deals_with_terms"] = out["manager"].map(wt).fillna(0).astype(int)
    g = v.groupby("manager")
    for c in ("discount_over_limit", "terms_not_allowed", "instalment_below_min"):
        out[c] = out["manager"].map(g[c].sum()).fillna(0).astype(int)
    out["deals_with_violation"] = out["manager"].map(g.size()).fillna(0).astype(int)
    out["deal_ids"] = out["manager"].map(g["deal_id"].apply(lambda s: ", ".join(sorted(s)))).fillna("")
    n = out["deals_with_terms"].to_numpy()
    k = out["deals_with_violation"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["violation_rate"] = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    out["violation_rate_low"], out["violation_rate_high"] = wilson(k, n)
    out["excess"] = out["violation_rate"] - tolerance
    out["excess_low"], out["excess_high"] = out["violation_rate_low"] - tolerance, out["violation_rate_high"] - tolerance
    # tested: team managers with enough deals; one-sided exact binomial against the tolerance, Holm over them
    in_team = (out["owner_group"] == TEAM).to_numpy()
    judgeable = in_team & (n >= min_deals)
    p, adj, _ = rate_above_tolerance(k, n, tolerance, judgeable, alpha)
    out["p_value"], out["p_adjusted"] = np.where(judgeable, p, np.nan), adj
    out["judgeable"] = judgeable
    verdict = judge(out["p_adjusted"], out["excess"], alpha=alpha, threshold=min_effect, judgeable=judgeable, higher_is_worse=True)
    verdict[~in_team] = "excluded"
    out["verdict"] = verdict
    out["breaker"] = verdict == "worse"
    order = out["verdict"].map({"worse": 0, "small": 1, "better": 2, "same": 3, "not_judged": 4, "excluded": 5})
    return out.assign(_o=order).sort_values(["_o", "excess", "manager"], ascending=[True, False, True], kind="stable").drop(columns="_o").reset_index(drop=True)


def call_sample(ds, per_stratum: int = 1, seed: int | None = None) -> pd.DataFrame:
    """A stratified random sample of calls on closed deals for the head of sales to listen to.

    Strata: manager × length (``long`` at or above the team's median length of connected calls,
    else ``short``; missed 0-second calls are left out) × the deal's outcome (won, lost).
    ``per_stratum`` calls are drawn from each stratum without replacement with
    ``numpy.random.default_rng(seed)`` (default ``ds.config.seed``) over the calls sorted by id,
    so the same seed gives the same sample.
    """
    require_tables(ds, "deals", "activities", analysis="the call sample")
    a = ds.tables["activities"]
    c = a[(a["type"] == "call") & a["deal_id"].notna() & (a["duration_sec"] > 0)]
    d = ds.tables["deals"][["deal_id", "outcome"]]
    c = c.merge(d, on="deal_id")
    c = c[c["outcome"].isin(["won", "lost"])].copy()
    if not len(c):
        return pd.DataFrame(columns=["manager", "length", "outcome", "activity_id", "deal_id", "created_at", "minutes"])
    med = float(c["duration_sec"].median())
    c["length"] = np.where(c["duration_sec"] >= med, "long", "short")
    c["manager"] = _mgr(c["manager"])
    c["outcome"] = c["outcome"].astype(str)
    c = c.sort_values("activity_id", kind="mergesort")
    rng = np.random.default_rng(ds.config.seed if seed is None else seed)
    picks = []
    for _, g in c.groupby(["manager", "length", "outcome"], sort=True):
        k = min(per_stratum, len(g))
        picks.append(g.iloc[np.sort(rng.choice(len(g), size=k, replace=False))])
    out = pd.concat(picks)
    out["minutes"] = (out["duration_sec"] / 60.0).round(1)
    out = out[["manager", "length", "outcome", "activity_id", "deal_id", "created_at", "minutes"]].reset_index(drop=True)
    out.attrs["median_sec"] = med
    return out


@dataclass(frozen=True)
class HygieneResult:
    """What notebook 04 reports on CRM hygiene, computed once; no language, no formatting.

    Tables (canonical column names; ``manager == ""`` is the team, ``"—"`` deals without a manager):
    ``tasks_`` (:func:`tasks`), ``empty_fields_`` (:func:`empty_fields`), ``no_next_task_``
    (:func:`no_next_task`), ``deal_load_`` (:func:`deal_load`), ``policy_by_manager_``
    (:func:`policy_by_manager`: the share outside the policy, its excess over ``policy_tolerance``
    and the verdict, judged with ``policy_min_deals`` and ``policy_min_effect``) and
    ``call_sample_`` (:func:`call_sample`). Without an activities table (``has_activities``
    false) the tasks, next-task and call tables are empty.
    """

    as_of: pd.Timestamp
    seed: int
    manager_names: dict
    required_deal_fields: tuple
    has_activities: bool
    max_discount_pct: float
    allowed_payment_terms: tuple
    instalment_min_amount: float | None
    tasks_: pd.DataFrame
    empty_fields_: pd.DataFrame
    no_next_task_: pd.DataFrame
    deal_load_: pd.DataFrame
    policy_by_manager_: pd.DataFrame
    call_sample_: pd.DataFrame
    call_median_sec: float | None = None
    policy_tolerance: float = 0.05
    policy_min_effect: float = 0.05
    policy_min_deals: int = 10

    def key_figures(self) -> dict:
        """The key results of notebook 04's hygiene section (language-neutral), read off this result."""
        if not self.has_activities:
            return _key_results(self.deal_load_, self.policy_by_manager_, self.empty_fields_)
        return _key_results(self.deal_load_, self.policy_by_manager_, self.empty_fields_, self.tasks_, self.no_next_task_)


def _key_results(dl: pd.DataFrame, pm: pd.DataFrame, ef: pd.DataFrame, tk: pd.DataFrame | None = None, nn: pd.DataFrame | None = None) -> dict:
    """Key results of the deal load, the policy, empty cards and (with activities) tasks and next tasks."""
    out: dict = {}
    out["hygiene_over_deal_limit"] = dl.loc[dl["over"], "manager"].tolist()
    out["hygiene_policy_violations"] = int(pm["deals_with_violation"].sum())
    out["hygiene_policy_violations_by_manager"] = {r.manager: int(r.deals_with_violation) for r in pm.sort_values("manager").itertuples() if r.deals_with_violation}
    out["hygiene_policy_breakers"] = sorted(pm.loc[pm["breaker"], "manager"])  # team managers judged worse: above the tolerance by a size that matters
    out["hygiene_deals_with_empty_required"] = int(ef.loc[ef["manager"] == "", "with_empty"].iloc[0]) if len(ef) else 0
    if tk is not None:
        team = tk[tk["manager"] == ""]
        if len(team):
            out["hygiene_overdue_tasks"] = int(team["overdue"].iloc[0])
            out["hygiene_overdue_rate"] = round(float(team["overdue_rate"].iloc[0]), 4)
        out["hygiene_open_without_next_task"] = int(nn.loc[nn["manager"] == "", "without_next_task"].iloc[0]) if len(nn) else 0
    return out


def judged_policy(ds, settings=None) -> pd.DataFrame:
    """:func:`policy_by_manager` judged with the ``analysis.hygiene`` settings (None: the run config's):
    :attr:`HygieneResult.policy_by_manager_`, for a caller that needs this table alone (the findings)."""
    st = ds.config.analysis.hygiene if settings is None else settings
    return policy_by_manager(ds, tolerance=st.policy_tolerance, min_deals=st.policy_min_deals, alpha=st.policy_alpha, min_effect=st.policy_min_effect)


def analyse(ds, settings=None) -> HygieneResult:
    """CRM hygiene at the audit moment; ``settings``: ``analysis.hygiene`` (default: the run config's)."""
    st = ds.config.analysis.hygiene if settings is None else settings
    acts = ds.has("activities")
    cs = call_sample(ds, per_stratum=st.calls_per_stratum) if acts else pd.DataFrame()
    pol = ds.config.discounts
    return HygieneResult(
        as_of=pd.Timestamp(ds.as_of),
        seed=ds.config.seed,
        manager_names=dict(ds.manager_names()),
        required_deal_fields=tuple(ds.config.required_deal_fields),
        has_activities=acts,
        max_discount_pct=pol.max_discount_pct,
        allowed_payment_terms=tuple(pol.allowed_payment_terms),
        instalment_min_amount=pol.instalment_min_amount,
        tasks_=tasks(ds) if acts else pd.DataFrame(),
        empty_fields_=empty_fields(ds),
        no_next_task_=no_next_task(ds) if acts else pd.DataFrame(),
        deal_load_=deal_load(ds),
        policy_by_manager_=judged_policy(ds, st),
        policy_tolerance=st.policy_tolerance,
        policy_min_effect=st.policy_min_effect,
        policy_min_deals=st.policy_min_deals,
        call_sample_=cs,
        call_median_sec=cs.attrs.get("median_sec"),
    )


def summary(ds, **policy_kw) -> dict:
    """Key results for :func:`salesaudit.runs.record.record`; ``policy_kw`` (``tolerance``, ``min_deals``, ``alpha``, ``min_effect``) go to :func:`policy_by_manager`.

    Notebook 04 records :meth:`HygieneResult.key_figures` instead (the same keys, read off the result).
    """
    if not ds.has("deals"):
        return {}
    acts = ds.has("activities")
    return _key_results(deal_load(ds), policy_by_manager(ds, **policy_kw), empty_fields(ds),
                        tasks(ds) if acts else None, no_next_task(ds) if acts else None)
