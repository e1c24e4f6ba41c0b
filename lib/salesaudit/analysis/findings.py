"""The audit's findings, ranked by the money at stake (the summary page, notebook 07).

A *finding* is a difference the other analyses flagged — significant after their multiplicity
correction **and** above their practical threshold (``analysis:`` settings) — turned into what a
client acts on: who or which stage, how big in money with an interval, how sure, where the
evidence is and what to do (the action the seeds prescribe). Nothing below the thresholds becomes
a finding: the analyses' flags are the only entry.

Money at stake is **payments** a finding costs, in the client's currency, under a documented model
built on the analyses' result objects. ``horizon`` says what the amount covers:

* ``month`` — per month, at the pace of the last :attr:`FindingsSettings.months` months before the
  audit moment (a flow that goes on until fixed);
* ``now`` — open deals as they stand at the audit moment (a stock at risk).

The amounts of different findings may overlap (a manager's slow answers and his weak lead
conversion are one problem seen twice), so they are ranked, never added.

Models (``avg_won`` is the mean amount of the team's deals won in the last 12 months — what a won
deal's payments bring in; ``p_win(s)`` the share won among the team's closed deals that reached
stage ``s``):

``weak_conversion`` (funnel, a manager × step flagged below the rest of the team)
    the manager's deals finishing the step per month × the gap to the rest's rate ×
    ``p_win(next stage)`` × ``avg_won``; the interval from the gap's Newcombe interval.
``weak_lead_conversion`` (funnel, lead → deal flagged below)
    the manager's decided leads per month × the gap × the team's win rate of deals × ``avg_won``.
``slow_response`` (leads, flagged on response time, the SLA share or leads left overnight, and not
    on lead → deal, which would already carry the cost)
    the calibrated slow-response effect (:func:`salesaudit.sim.effects.response_effect`: lead →
    deal log-odds against log(1 + response hours), channel and seller in the model): each of the
    manager's decided leads of the window, answered at the rest of the team's median instead of
    his own time, converts with the odds changed by the effect; the sum of the gains per month ×
    the team's win rate of deals × ``avg_won``; the interval from the effect's interval. No
    finding when the effect's interval covers zero (the data cannot tell that slowness costs).
``slow_stage`` (stalls, a manager × stage flagged slower)
    now: the amount of the manager's open deals over the stage's norm × the win chance a stall
    costs at that stage: ``P(won | stay within the norm) − P(won | stay over it)`` over the team's
    closed deals' ended stays (Newcombe interval).
``stalled_stage`` (stalls, a stage whose stays run over its norm)
    the same for the other open deals over the norm there (those of a slow_stage finding at that
    stage are counted there, not twice).
``discount_policy`` (hygiene, a manager flagged for breaching the discount policy)
    per month: over the won deals of the last 12 months with a discount above the policy, the list
    price × the discount above the policy (``amount × (d − max) / (1 − d)``) / 12; counted, so no
    interval.
``head_selling`` (the head of sales owns deals himself: the seeds' "personal plan pulls the head
    into selling")
    no money; the head's share of the department's deals won in the window.
``skips`` (stalls compliance, a manager skipping a mandatory stage) — no money.

``analyse(ds, settings) -> FindingsResult``: no language, no formatting; the page and the summary
are made from it by :mod:`salesaudit.report.findings`; notebook 07 records
:meth:`FindingsResult.records`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..stats.effect import rate_difference
from . import baseline, reusable

__all__ = ["Finding", "FindingsResult", "analyse", "KINDS", "ACTIONS", "EVIDENCE"]

#: the kinds of finding, and the notebook whose page holds the evidence
EVIDENCE = {
    "weak_conversion": "01_funnel", "weak_lead_conversion": "01_funnel", "slow_response": "03_leads",
    "slow_stage": "02_stage_stalls", "stalled_stage": "02_stage_stalls", "discount_policy": "04_plan_fact",
    "head_selling": "07_rop_scorecard", "skips": "02_stage_stalls",
}
KINDS = tuple(EVIDENCE)
#: the action the seeds prescribe, per kind (``slow_stage`` of a manager over his deal limit: redistribute)
ACTIONS = {
    "weak_conversion": "development_plan", "weak_lead_conversion": "same_day_processing", "slow_response": "same_day_processing",
    "slow_stage": "stage_norm", "stalled_stage": "stage_norm", "discount_policy": "discount_rule", "head_selling": "hand_over_own_deals",
    "skips": "mandatory_stage",
}


@dataclass(frozen=True)
class Finding:
    """One finding; money in the client's currency (NaN: no money model), ``p`` the adjusted p-value (None: counted)."""

    kind: str
    manager: str | None
    stage: str | None
    money: float
    money_low: float
    money_high: float
    horizon: str | None
    p: float | None
    action: str
    facts: dict = field(default_factory=dict)

    @property
    def evidence(self) -> str:
        return EVIDENCE[self.kind]

    def record(self) -> dict:
        """Plain values for the JSON (NaN → None)."""
        out = asdict(self)
        out["evidence"] = self.evidence
        for k in ("money", "money_low", "money_high", "p"):
            v = out[k]
            out[k] = None if v is None or not np.isfinite(v) else float(f"{v:.3g}") if k == "p" else float(round(float(v)))
        # figures to 6 significant digits: what a page shows, and stable across machines (a fitted effect's last digits are not)
        out["facts"] = {k: (None if isinstance(v, float) and not np.isfinite(v) else float(f"{v:.6g}") if isinstance(v, float) else v)
                        for k, v in self.facts.items()}
        return out


@dataclass(frozen=True)
class FindingsResult:
    """The findings of a run, ranked: money first (largest P50), then those without a money model."""

    client: str
    as_of: pd.Timestamp
    currency: str
    months: int
    avg_won: float
    manager_names: dict
    findings: tuple = ()

    @property
    def ranked(self) -> list[Finding]:
        money = [f for f in self.findings if np.isfinite(f.money)]
        rest = [f for f in self.findings if not np.isfinite(f.money)]
        return sorted(money, key=lambda f: -f.money) + rest

    stage_labels: dict = field(default_factory=dict)

    def records(self) -> list[dict]:
        """What notebook 07 records under ``findings``: the ranked findings as plain values, each with
        the manager's name (``name``) and its stage's labels per language (``stage_label``), so that a
        page can be made from the records alone (the run's summary page)."""
        out = []
        for f in self.ranked:
            rec = f.record()
            rec["name"] = self.manager_names.get(f.manager, f.manager) if f.manager else None
            stages = f.stage.split(">") if f.stage else []
            rec["stage_label"] = {lang: " → ".join(self.stage_labels.get(s, {}).get(lang, s) for s in stages) for lang in ("ru", "en")} if stages else None
            out.append(rec)
        return out

    def key_figures(self) -> dict:
        """Notebook 07's record of the findings, and the currency and horizon their money is in."""
        return {"findings": self.records(), "findings_currency": self.currency, "findings_months": self.months}


# --------------------------------------------------------------------------- shared rates


def _deal_groups(ds) -> np.ndarray:
    """The owner group of each deal (:func:`salesaudit.analysis.baseline.owner_group`), worked out once per analysis."""
    return baseline.owner_group(ds, ds.tables["deals"]["manager"])


def _people_deals(ds, groups: np.ndarray | None = None) -> pd.DataFrame:
    d = ds.tables["deals"]
    g = baseline.owner_group(ds, d["manager"]) if groups is None else groups
    return d[baseline.people_mask(g)]


def _avg_won(ds, T: pd.Timestamp, groups: np.ndarray | None = None) -> float:
    d = _people_deals(ds, groups)
    won = d[(d["outcome"] == "won") & (d["closed_at"] > T - pd.DateOffset(months=12)) & (d["closed_at"] <= T)]
    return float(won["amount"].mean()) if len(won) else float("nan")


def _p_win_after(ds, groups: np.ndarray | None = None) -> dict:
    """Share won among the people's closed deals that reached each stage (deals without a history: their stage)."""
    d = _people_deals(ds, groups)
    closed = d[d["outcome"].isin(["won", "lost"])]
    out = {}
    if ds.has("stage_history") and len(ds.tables["stage_history"]):
        h = ds.tables["stage_history"]
        h = h[h["deal_id"].isin(closed["deal_id"])]
        # each stage's distinct deals, and how many of them were won
        reached = pd.DataFrame({"stage": h["stage"].astype(str).to_numpy(), "deal_id": h["deal_id"].astype(object).to_numpy()}).drop_duplicates()
        reached["won"] = reached["deal_id"].isin(closed.loc[closed["outcome"] == "won", "deal_id"].astype(object)).to_numpy()
        for s, g in reached.groupby("stage", sort=True)["won"]:
            out[s] = int(g.sum()) / len(g)
    out["_deal"] = float((closed["outcome"] == "won").mean()) if len(closed) else float("nan")
    return out


def _span_months(dates: pd.Series, T: pd.Timestamp) -> float:
    """Months covered from the first date to T (at least one)."""
    dates = pd.to_datetime(dates).dropna()
    if not len(dates):
        return float("nan")
    return max((T - dates.min()).days / 30.4375, 1.0)


def _first_dates(frame: pd.DataFrame) -> dict:
    """Each manager's earliest ``created_at`` in ``frame`` (one grouping, instead of a pass over the frame per manager)."""
    dates = pd.to_datetime(frame["created_at"])
    return dates.groupby(frame["manager"].astype(object)).min().dropna().to_dict()


def _span_from(first, T: pd.Timestamp) -> float:
    """:func:`_span_months` of dates whose earliest is ``first`` (None or NaT: no dates)."""
    if first is None or pd.isna(first):
        return float("nan")
    return max((T - first).days / 30.4375, 1.0)


def _p(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


# --------------------------------------------------------------------------- per analysis


def _funnel(ds, fr, avg_won: float, pwin: dict, T) -> list[Finding]:
    out = []
    flags = fr.flags_
    first = _first_dates(ds.tables["deals"])
    for r in flags[flags["flag"] == "worse"].itertuples():
        span = _span_from(first.get(r.manager), T)
        per_month = r.finished / span
        gain = pwin.get(str(r.to_stage), pwin["_deal"]) * avg_won * per_month
        gap, lo, hi = -r.difference, -r.diff_high, -r.diff_low
        out.append(Finding("weak_conversion", r.manager, f"{r.from_stage}>{r.to_stage}", gap * gain, max(lo, 0.0) * gain, max(hi, 0.0) * gain,
                           "month", _p(r.p_adjusted), ACTIONS["weak_conversion"],
                           {"rate": float(r.rate), "team_rate": float(r.team_rate), "finished": int(r.finished), "per_month": float(per_month)}))
    lf = fr.lead_flags_
    if lf is not None and len(lf):
        first = _first_dates(ds.tables["leads"]) if ds.has("leads") else None
        for r in lf[lf["flag"] == "worse"].itertuples():
            span = _span_from(first.get(r.manager), T) if first is not None else float("nan")
            per_month = r.finished / span
            gain = pwin["_deal"] * avg_won * per_month
            gap, lo, hi = -r.difference, -r.diff_high, -r.diff_low
            out.append(Finding("weak_lead_conversion", r.manager, None, gap * gain, max(lo, 0.0) * gain, max(hi, 0.0) * gain, "month",
                               _p(r.p_adjusted), ACTIONS["weak_lead_conversion"],
                               {"rate": float(r.rate), "team_rate": float(r.team_rate), "finished": int(r.finished), "per_month": float(per_month)}))
    return out


class _StallCosts:
    """:func:`_stall_cost` of each stage, computed once: the closed deals' ended stays of the people, and their outcomes, prepared once."""

    def __init__(self, ds, sr):
        stays = sr.stays_
        st = stays[stays["observed"].astype(bool).to_numpy()]
        if "owner_group" in st.columns:
            st = st[baseline.people_mask(st["owner_group"])]
        self.stays = st
        self.stage = st["stage"].astype(str).to_numpy()
        self.norms = sr.stages_.set_index("stage")["norm"]
        self.outcome = st["deal_id"].map(ds.tables["deals"].set_index("deal_id")["outcome"])
        self.costs: dict[str, dict] = {}

    def __call__(self, stage: str) -> dict:
        if stage not in self.costs:
            at = self.stage == stage
            norm = self.norms.get(stage, np.nan)
            outcome = self.outcome[at]
            closed = outcome.isin(["won", "lost"]).to_numpy()
            over = (self.stays.loc[at, "days"] > norm).to_numpy()[closed]
            won = (outcome == "won").to_numpy()[closed]
            k1, n1, k0, n0 = int(won[~over].sum()), int((~over).sum()), int(won[over].sum()), int(over.sum())
            diff, lo, hi = rate_difference(k1, n1, k0, n0)
            self.costs[stage] = {"cost": float(diff), "low": float(lo), "high": float(hi), "win_within": k1 / n1 if n1 else float("nan"),
                                 "win_over": k0 / n0 if n0 else float("nan"), "within": n1, "over": n0}
        return self.costs[stage]


def _stall_cost(ds, sr, stage: str) -> dict:
    """Win chance a stay over the norm costs at ``stage``: P(won | within) − P(won | over), closed deals' ended stays of the people."""
    return _StallCosts(ds, sr)(stage)


def _money(amount: float, c: dict) -> tuple[float, float, float]:
    """An amount at risk × the win chance a stall costs (its interval clipped at no cost).

    Where the deals that stayed over the norm won at least as often as those within it, a stall
    costs nothing measurable in won deals: no money (NaN), the finding stays (the delay is real)."""
    if not np.isfinite(c["cost"]) or c["cost"] <= 0:
        return float("nan"), float("nan"), float("nan")
    return amount * c["cost"], amount * max(c["low"], 0.0), amount * max(c["high"], 0.0)


def _stalls(ds, sr, hy) -> list[Finding]:
    out = []
    m, actions = sr.managers_, sr.actions_
    over_limit = set(hy.deal_load_.loc[hy.deal_load_["over"].astype(bool), "manager"]) if hy is not None and len(hy.deal_load_) else set()
    counted: dict[str, set] = {}
    cost = _StallCosts(ds, sr)
    action_stage = actions["stage"].astype(str)
    # each manager's open deals over the norm at each stage, by one grouping (positions in the table's order)
    where = actions.groupby([actions["manager"].astype(object), action_stage], sort=False).indices if len(actions) else {}
    none = np.empty(0, dtype=np.int64)
    for r in m[m["verdict"] == "worse"].itertuples():
        stage = str(r.stage)
        c = cost(stage)
        mine = actions.iloc[where.get((r.manager, stage), none)]
        amount = float(mine["amount"].sum())
        counted.setdefault(stage, set()).update(mine["deal_id"])
        action = "redistribute" if r.manager in over_limit else ACTIONS["slow_stage"]
        out.append(Finding("slow_stage", r.manager, stage, *_money(amount, c), "now", _p(r.p_adjusted), action,
                           {"median_days": float(r.median), "rest_median_days": float(r.rest_median), "ratio": float(r.ratio),
                            "open_over_norm": int(len(mine)), "amount_over_norm": amount, "win_within": c["win_within"], "win_over": c["win_over"],
                            "over_limit": r.manager in over_limit}))
    for r in sr.stages_[sr.stages_["stalled"].astype(bool)].itertuples():
        stage = str(r.stage)
        c = cost(stage)
        rest = actions[(action_stage == stage) & ~actions["deal_id"].isin(counted.get(stage, set()))]
        amount = float(rest["amount"].sum())
        out.append(Finding("stalled_stage", None, stage, *_money(amount, c), "now", None, ACTIONS["stalled_stage"],
                           {"median_days": float(r.median), "norm_days": float(r.norm), "share_over_norm": float(r.share_over_norm),
                            "share_over_low": float(r.share_over_ci_low), "share_over_high": float(r.share_over_ci_high),
                            "open_over_norm": int(len(rest)), "amount_over_norm": amount, "win_within": c["win_within"], "win_over": c["win_over"]}))
    comp = sr.compliance_
    if comp is not None and len(comp):
        for r in comp[comp["verdict"] == "worse"].itertuples():
            out.append(Finding("skips", r.manager, None, float("nan"), float("nan"), float("nan"), None, _p(r.p_adjusted), ACTIONS["skips"],
                               {"skips": int(r.skips), "eligible": int(r.eligible), "rate": float(r.skip_rate)}))
    return out


def _leads(ds, lr, fr, avg_won: float, pwin: dict, T, months: int) -> list[Finding]:
    """Slow answers of managers flagged on the leads page but not on lead → deal (which would carry the cost already)."""
    from ..sim.effects import response_effect

    flagged = set()
    for f in (lr.response_time_flags_, lr.response_flags_, lr.overnight_flags_):
        if f is not None and len(f):
            flagged |= set(f.loc[f["verdict"] == "worse", "manager"])
    lf = fr.lead_flags_
    weak_leads = set(lf.loc[lf["flag"] == "worse", "manager"]) if lf is not None and len(lf) else set()
    flagged -= weak_leads
    if not flagged:
        return []
    rt = lr.response_times_
    eff = response_effect(rt)
    beta, lo_b, hi_b = eff["beta"], eff["lo"], eff["hi"]
    if not (np.isfinite(beta) and np.isfinite(hi_b) and hi_b < 0):
        return []  # the data cannot tell that a slow answer costs deals
    decided = rt[rt["status"].isin(["converted", "disqualified"]) & rt["answered"].astype(bool)]
    window = decided[decided["created_at"] > T - pd.DateOffset(months=months)]
    team = window[baseline.team_mask(ds, window["manager"])]
    out = []
    for m in sorted(flagged):
        mine = window[window["manager"] == m]
        rest = team[team["manager"] != m]
        if not len(mine) or not len(rest):
            continue
        h_own = np.log1p(mine["working_minutes"].to_numpy(float) / 60.0)
        h_rest = np.log1p(float(rest["working_minutes"].median()) / 60.0)
        c = float((mine["status"] == "converted").mean())

        def gain(b):
            odds = c / (1 - c) * np.exp(b * (h_rest - h_own))
            return float(np.sum(odds / (1 + odds) - c))

        scale = pwin["_deal"] * avg_won / months
        worse = [f[(f["manager"] == m) & (f["verdict"] == "worse")].assign(check=k)
                 for k, f in (("response_time", lr.response_time_flags_), ("sla", lr.response_flags_), ("overnight", lr.overnight_flags_))
                 if f is not None and len(f)]
        worse = pd.concat(worse) if worse else pd.DataFrame(columns=["check", "p_adjusted"])
        checks = sorted(worse["check"])
        out.append(Finding("slow_response", m, None, gain(beta) * scale, max(gain(hi_b), 0.0) * scale, max(gain(lo_b), 0.0) * scale, "month",
                           _p(worse["p_adjusted"].min()) if len(worse) else None, ACTIONS["slow_response"],
                           {"leads": int(len(mine)), "median_minutes": float(np.median(mine["working_minutes"])),
                            "rest_median_minutes": float(rest["working_minutes"].median()), "checks": checks, "beta": float(beta)}))
    return out


def _hygiene(ds, hy, T) -> list[Finding]:
    out = []
    pol = hy.policy_by_manager_
    if pol is None or not len(pol) or "breaker" not in pol.columns:
        return out
    limit = float(hy.max_discount_pct) if hy.max_discount_pct is not None else np.nan
    d = ds.tables["deals"]
    won = d[(d["outcome"] == "won") & (d["closed_at"] > T - pd.DateOffset(months=12)) & (d["closed_at"] <= T)]
    for r in pol[pol["breaker"].astype(bool)].itertuples():
        mine = won[(won["manager"] == r.manager) & (won["discount_pct"] > limit)]
        disc = mine["discount_pct"].to_numpy(float) / 100.0
        excess = float(np.sum(mine["amount"].to_numpy(float) * (disc - limit / 100.0) / (1.0 - disc))) / 12.0
        out.append(Finding("discount_policy", r.manager, None, excess, excess, excess, "month", _p(r.p_adjusted), ACTIONS["discount_policy"],
                           {"violations": int(r.deals_with_violation), "deals_with_terms": int(r.deals_with_terms), "discount_over": int(r.discount_over_limit),
                            "deals_over_12m": int(len(mine)), "max_discount_pct": limit}))
    return out


def _head(ds, T, months: int, groups: np.ndarray | None = None) -> list[Finding]:
    d = ds.tables["deals"]
    g = baseline.owner_group(ds, d["manager"]) if groups is None else groups
    window = (d["outcome"] == "won") & (d["closed_at"] > T - pd.DateOffset(months=months)) & (d["closed_at"] <= T)
    people = window & baseline.people_mask(g)
    head = window & (g == "head_of_sales")
    if not head.any():
        return []
    share = float(d.loc[head, "amount"].sum() / d.loc[people, "amount"].sum())
    who = str(d.loc[head, "manager"].iloc[0])
    return [Finding("head_selling", who, None, float("nan"), float("nan"), float("nan"), None, None, ACTIONS["head_selling"],
                    {"won": int(head.sum()), "share_of_won_amount": share, "months": months})]


def analyse(ds, settings=None, *, leads=None, funnel=None, stalls=None) -> FindingsResult:
    """The ranked findings of a loaded dataset (``settings``: ``analysis.findings``; None: the run config's).

    The findings are read off the funnel, stalls, hygiene and leads results of the run config's
    ``analysis:`` settings. A caller that has some of them already (notebook 07: the scorecard reads
    the same) passes them as ``funnel``, ``stalls`` and ``leads``: the results of
    ``funnel.analyse(ds)``, ``stalls.analyse(ds)`` and ``leads.analyse(ds)`` on this dataset, which
    are read and never changed. One judged with other settings than the run config's is not used
    (that analysis is made here again), so passing a result never changes the findings.
    """
    from . import funnel as funnel_mod
    from . import hygiene as hygiene_mod
    from . import leads as leads_mod
    from . import stalls as stalls_mod

    st = settings if settings is not None else ds.config.analysis.settings("findings")
    analysis = ds.config.analysis
    T = pd.Timestamp(ds.as_of)
    groups = _deal_groups(ds)
    avg_won = _avg_won(ds, T, groups)
    pwin = _p_win_after(ds, groups)
    fs = analysis.funnel
    fr = funnel if reusable(funnel, lambda r: (r.min_n, r.alpha, r.min_effect) == (fs.min_n, fs.alpha, fs.min_effect)) else funnel_mod.analyse(ds)
    found = _funnel(ds, fr, avg_won, pwin, T)
    hy = None
    if ds.has("deals"):  # the parts of the hygiene result the findings read (not its tasks, fields or calls)
        hy = SimpleNamespace(deal_load_=hygiene_mod.deal_load(ds), policy_by_manager_=hygiene_mod.judged_policy(ds),
                             max_discount_pct=ds.config.discounts.max_discount_pct)
    sr = stalls if reusable(stalls, lambda r: r.settings == analysis.stalls) else stalls_mod.analyse(ds)
    found += _stalls(ds, sr, hy)
    if ds.has("leads"):
        ls = analysis.leads
        lr = leads if reusable(leads, lambda r: (r.min_n, r.alpha, r.min_effect, r.min_ratio, r.min_difference_minutes) == (
            ls.min_n, ls.alpha, ls.min_effect, ls.min_ratio, ls.min_difference_minutes)) else leads_mod.analyse(ds)
        if lr.has_leads and lr.response_times_known:
            found += _leads(ds, lr, fr, avg_won, pwin, T, st.months)
    if hy is not None:
        found += _hygiene(ds, hy, T)
    found += _head(ds, T, st.months, groups)
    cur = ds.tables["deals"]["currency"].dropna()
    labels = {k: {lang: ds.funnel.label(k, lang) for lang in ("ru", "en")} for k in ds.funnel.keys}
    return FindingsResult(client=ds.config.client, as_of=T, currency=str(cur.mode().iloc[0]) if len(cur) else "RUB", months=st.months,
                          avg_won=avg_won, manager_names=dict(ds.manager_names()), findings=tuple(found), stage_labels=labels)
