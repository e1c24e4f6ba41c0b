"""The head-of-sales scorecard: the seeds' checkpoints, answered from data where data can answer.

The head of sales (РОП) is judged by business figures, and differently in the first months
(``scorecard.new_head_months``) than later. Each checkpoint gets green, amber or red with its
figure and the rule; the thresholds live in the run parameters (``scorecard:``). Checkpoints
that data cannot answer (how stand-ups are run, whether the head brought a vision for the team,
authority, discipline…) are listed as questions for the consultant.

Lagging managers come with the evidence behind a development plan: which check, which stage or
step, how far from the team, and since when. They are judged with the run config's
``analysis.funnel``, ``analysis.leads`` and ``analysis.stalls`` settings, as in notebooks 01–03.

``analyse(dataset) -> ScorecardResult``: tables with canonical column names and codes, no
language, no formatting. The page a reader sees is made from the result by
:mod:`salesaudit.report.scorecard`; the key figures notebook 07 records come from
:meth:`ScorecardResult.key_figures`, never from a second computation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import reusable

__all__ = ["ScorecardResult", "analyse", "head_of_sales", "lagging_managers", "summary", "CHECKPOINTS", "STATUS_COLORS"]

STATUS_COLORS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "n/a": "#9e9e9e"}
QUESTIONS_NEW = ("vision", "manager_assessment", "standups", "discipline")
QUESTIONS_EXPERIENCED = ("initiative", "authority", "idp_in_use", "standups", "salary_talk")
#: the checkpoints data can answer, in the report's order, and how each value reads: a share or a count
CHECKPOINTS = {
    "plan_attainment": "share",
    "plan_trend": "share",
    "cumulative_lag": "share",
    "same_day_processing": "share",
    "mom_growth": "share",
    "analytics_per_manager": "share",
    "lagging_managers": "count",
}
#: lagging managers' checks (codes) whose evidence is about leads rather than funnel stages
LEAD_CHECKS = ("response", "overnight")


@dataclass(frozen=True)
class ScorecardResult:
    """What notebook 07 reports, computed once.

    * ``head_*`` – the head of sales (key, name, months in the job at the audit moment, judged as new);
    * ``checkpoints_`` – one row per data checkpoint (order of :data:`CHECKPOINTS`): ``key``, ``value``
      (a share, e.g. 0.75, or a count), ``status`` (green, amber, red, n/a), ``applies`` (False: not
      judged for this head), the rule ``green``, ``amber``, ``higher_is_better``, and ``unit``
      (``share`` or ``count``);
    * ``attainment_`` – the team's revenue received / plan per month (``month``, ``attainment``),
      the last three months with a plan, oldest first: the plan attainment and its trend;
    * ``lagging_`` – managers behind the team: ``manager``, ``name``, ``check`` (conversion, response,
      overnight, slower, skips), ``stages`` (funnel stage keys: the step of a conversion, the stage
      of a slower stay, the mandatory stages of skips; none for lead checks), ``unit`` (``share``
      or ``days``), ``manager_value``, ``team_value``, ``since`` (the month ``YYYY-MM`` the gap
      started, None when the latest month was not worse);
    * ``questions`` – codes of the checkpoints data cannot answer (``scorecard.question.*``);
    * ``stage_labels`` – funnel stage key -> {language: label}, to name the stages of ``lagging_``.
    """

    client: str
    as_of: pd.Timestamp
    period: str | None
    head_manager: str | None
    head_name: str | None
    head_months: float | None
    head_new: bool | None
    checkpoints_: pd.DataFrame
    attainment_: pd.DataFrame
    lagging_: pd.DataFrame
    questions: tuple = field(default_factory=tuple)
    stage_labels: dict = field(default_factory=dict)

    def key_figures(self) -> dict:
        """The key results of notebook 07's JSON (language-neutral), read off this result."""
        cp = self.checkpoints_
        return {
            "scorecard_head_new": self.head_new,
            "scorecard_status": {r.key: r.status for r in cp.itertuples()},
            "scorecard_red": sorted(cp.loc[cp["status"] == "red", "key"]),
            "scorecard_lagging": sorted(set(self.lagging_["manager"])),
            # what the run's summary page shows of the scorecard, as plain values (the page is made from the records)
            "scorecard_head": {"name": self.head_name, "months": None if self.head_months is None else round(float(self.head_months), 1),
                               "new": self.head_new},
            "scorecard_checkpoints": [
                {"key": r.key, "value": None if pd.isna(r.value) else float(r.value), "status": r.status, "applies": bool(r.applies),
                 "green": float(r.green), "amber": float(r.amber), "higher_is_better": bool(r.higher_is_better), "unit": r.unit}
                for r in cp.itertuples()],
            "scorecard_attainment": [{"month": m, "attainment": float(a)} for m, a in zip(self.attainment_["month"], self.attainment_["attainment"])],
        }


def head_of_sales(ds) -> dict:
    """Who the head of sales is and how long in the job at the audit moment (from the managers table)."""
    if not ds.has("managers"):
        return {"manager": None, "name": None, "months": None, "new": None}
    m = ds.tables["managers"]
    heads = m[m["role"] == "head_of_sales"]
    if heads.empty:
        return {"manager": None, "name": None, "months": None, "new": None}
    h = heads.iloc[0]
    months = None if pd.isna(h["hired_at"]) else (ds.as_of - h["hired_at"]).days / 30.4375
    new = None if months is None else months < ds.config.scorecard.new_head_months
    return {"manager": str(h["manager"]), "name": str(h["name"]), "months": None if months is None else round(months, 1), "new": new}


def _grade(value, rule) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    if rule.higher_is_better:
        return "green" if value >= rule.green else ("amber" if value >= rule.amber else "red")
    return "green" if value <= rule.green else ("amber" if value <= rule.amber else "red")


def _monthly_attainment(ds, period, months: int) -> list[tuple[str, float]]:
    from ..data.params import parse_period
    from . import planfact

    p = parse_period(period or ds.as_of.strftime("%Y-%m"), "month")
    out = []
    for k in range(months - 1, -1, -1):
        start = (pd.Timestamp(p.start) - pd.DateOffset(months=k)).strftime("%Y-%m")
        pvf = planfact.plan_vs_fact(ds, start, "month")
        row = pvf[(pvf["manager"] == planfact.TEAM) & (pvf["metric"] == "revenue")]
        if len(row) and np.isfinite(row["attainment_pct"].iloc[0]):
            out.append((start, float(row["attainment_pct"].iloc[0]) / 100.0))
    return out


def _checkpoints(ds, period, head: dict, att: list[tuple[str, float]], n_lagging: int, rt: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per data checkpoint (see :class:`ScorecardResult`); ``rt``: :func:`salesaudit.analysis.leads.response_times`
    when the caller has it (None: worked out here when the leads have response times)."""
    from . import leads as leads_mod
    from . import planfact

    sc = ds.config.scorecard
    rows = []

    def add(key, value, applies=True):
        rule = getattr(sc, key)
        rows.append({"key": key, "value": value, "status": _grade(value, rule) if applies else "n/a", "applies": applies,
                     "green": float(rule.green), "amber": float(rule.amber), "higher_is_better": bool(rule.higher_is_better), "unit": CHECKPOINTS[key]})

    has_plans = ds.has("plans") and ds.has("deals")
    add("plan_attainment", att[-1][1] if att else None)
    trend = None
    if len(att) >= 2:
        trend = float(np.polyfit(np.arange(len(att)), [a for _, a in att], 1)[0])
    add("plan_trend", trend)
    lag = None
    if has_plans and ds.has("payments"):
        cl = planfact.cumulative_lag(ds, period, "month", metrics=("revenue",))
        team = cl[cl["manager"] == planfact.TEAM]
        if len(team):
            lag = float(team["lag_pct"].iloc[-1]) / 100.0
    add("cumulative_lag", lag)
    same_day = None
    if ds.has("leads") and leads_mod.has_response_times(ds):
        # the key figure leads_share_left_overnight of notebook 03 (it does not depend on the analysis settings)
        rt = leads_mod.response_times(ds) if rt is None else rt
        same_day = 1.0 - round(leads_mod.share_left_overnight(rt), 4)
    add("same_day_processing", same_day)
    mom = None
    if ds.has("payments"):
        g = planfact.growth(ds)
        month = (period or ds.as_of.strftime("%Y-%m"))[:7]
        r = g[(g["manager"] == planfact.TEAM) & (g["metric"] == "revenue") & (g["month"] == month)]
        if len(r) and np.isfinite(r["mom_pct"].iloc[0]):
            mom = float(r["mom_pct"].iloc[0]) / 100.0
    add("mom_growth", mom, applies=head["new"] is not True)
    per_manager = None
    if ds.has("deals"):
        d = ds.tables["deals"]
        share = float(d["manager"].notna().mean()) if len(d) else None
        has_mgr_plans = ds.has("plans") and ds.tables["plans"]["manager"].notna().any()
        per_manager = None if share is None else (share if has_mgr_plans else 0.0)
    add("analytics_per_manager", per_manager)
    add("lagging_managers", float(n_lagging))
    return pd.DataFrame(rows, columns=["key", "value", "status", "applies", "green", "amber", "higher_is_better", "unit"])


def _streak_start(mine: pd.Series, team: pd.Series, worse: str) -> str | None:
    """First month of the latest unbroken run of months in which ``mine`` was worse than ``team``.

    ``worse`` is ``"lower"`` (a rate that should be high) or ``"higher"`` (a time or a breach rate).
    None when the latest month with data was not worse.

    >>> m = pd.Series({"2026-07": 0.5, "2026-08": 0.2, "2026-09": 0.1, "2026-10": 0.3})
    >>> _streak_start(m, pd.Series(0.4, index=m.index), "lower")
    '2026-08'
    >>> _streak_start(m, pd.Series(0.0, index=m.index), "lower") is None
    True
    """
    since = None
    for month in sorted(mine.index, reverse=True):
        ref = team.get(month, np.nan)
        bad = mine[month] < ref if worse == "lower" else mine[month] > ref
        if not bad:
            break
        since = month
    return since


def _monthly(values: pd.Series, months: pd.Series, who: pd.Series, manager: str) -> tuple[pd.Series, pd.Series]:
    """(the manager's monthly mean, the team's monthly mean) of ``values``."""
    team = values.groupby(months).mean()
    mine = values[who == manager].groupby(months[who == manager]).mean()
    return mine.dropna(), team


class _Monthly:
    """:func:`_monthly` of any manager: the team's monthly mean computed once, and each manager's rows found
    by one grouping rather than a comparison over all the rows per manager (his mean is then
    :func:`_monthly`'s own: the same rows, in the same order, averaged the same way)."""

    def __init__(self, values: pd.Series, months: pd.Series, who: pd.Series):
        self.values, self.months = values, months
        self.team = values.groupby(months).mean()
        self.rows = who.reset_index(drop=True).groupby(who.to_numpy(), sort=False).indices if len(who) else {}

    def of(self, manager) -> tuple[pd.Series, pd.Series]:
        pos = self.rows.get(manager, np.empty(0, dtype=np.int64))
        mine = self.values.iloc[pos].groupby(self.months.iloc[pos]).mean()
        return mine.dropna(), self.team


def _step_monthly(reach: pd.DataFrame, i: int) -> _Monthly:
    """The monthly conversions at step ``i`` (of the deals that finished it), by deal creation month."""
    entered = reach[reach["reach"] >= i]
    finished = entered[~(entered["pending"] & (entered["reach"] == i))]
    return _Monthly((finished["reach"] > i).astype(float), finished["created_at"].dt.to_period("M").astype(str), finished["manager"].astype(object))


def _since(ds, manager: str, step: tuple[str, str], reach: pd.DataFrame | None = None, cache: dict | None = None) -> str | None:
    """Since when the manager's step conversion has been below the team's, by deal creation month
    (``cache``: the steps' monthly conversions already worked out, filled as steps are met)."""
    from . import funnel as fn

    reach = fn.deal_reach(ds) if reach is None else reach
    order = {k: i for i, k in enumerate(fn.steps(ds.funnel))}
    i = order[step]
    cache = {} if cache is None else cache
    if i not in cache:
        cache[i] = _step_monthly(reach, i)
    mine, team = cache[i].of(manager)
    return _streak_start(mine, team, "lower")


def _settings(ds):
    """The run config's ``analysis`` settings (the defaults for a config without them)."""
    from ..data.params import Analysis

    return getattr(ds.config, "analysis", None) or Analysis()


LAGGING_COLUMNS = ["manager", "name", "check", "stages", "unit", "manager_value", "team_value", "since"]


def lagging_managers(ds, settings=None, *, leads=None, funnel=None, stalls=None) -> pd.DataFrame:
    """Managers behind the team, with the evidence a development plan needs: check, where, gap, since when.

    Judged with ``settings`` (an :class:`~salesaudit.data.params.Analysis`; None: the run config's),
    its ``funnel``, ``leads`` and ``stalls`` parts. Columns: see ``lagging_`` of :class:`ScorecardResult`;
    sorted by manager and check, the evidence of one check in the order it was found.

    ``leads``, ``funnel``, ``stalls``: results of :func:`salesaudit.analysis.leads.analyse`,
    :func:`~salesaudit.analysis.funnel.analyse` and :func:`~salesaudit.analysis.stalls.analyse` on this
    dataset that the caller has already (see :func:`analyse`); their verdicts are read (never changed)
    where they were judged with these settings, and worked out here otherwise.
    """
    from . import funnel as fn
    from . import leads as leads_mod
    from . import stalls as st

    a = settings if settings is not None else _settings(ds)
    fs, ls, ss = a.funnel, a.leads, a.stalls
    names = ds.manager_names()
    rows = []
    if ds.has("deals"):
        # the same verdicts as notebook 01: team deals only, skip-aware, significant and big enough
        reach = None
        if reusable(funnel, lambda r: (r.min_n, r.alpha, r.min_effect) == (fs.min_n, fs.alpha, fs.min_effect)):
            flags = funnel.flags_
        else:
            reach = fn.deal_reach(ds)
            flags = fn.manager_comparison(ds, fs, reach=reach)
        behind = flags[flags["flag"] == "worse"]
        if len(behind) and reach is None:
            reach = fn.deal_reach(ds)  # for the months since when (one deal table for every step)
        steps: dict = {}
        for r in behind.itertuples():
            rows.append({"manager": r.manager, "check": "conversion", "stages": (r.from_stage, r.to_stage), "unit": "share",
                         "manager_value": float(r.rate), "team_value": float(r.team_rate),
                         "since": _since(ds, r.manager, (r.from_stage, r.to_stage), reach, steps)})
    if ds.has("leads") and leads_mod.has_response_times(ds):
        rt = leads.response_times_ if reusable(leads, lambda r: r.response_times_ is not None) else leads_mod.response_times(ds)
        month = rt["created_at"].dt.to_period("M").astype(str)
        who = rt["manager"].astype(object)
        judged = dict(min_n=ls.min_n, alpha=ls.alpha, min_effect=ls.min_effect)
        if reusable(leads, lambda r: r.response_flags_ is not None and (r.min_n, r.alpha, r.min_effect) == (ls.min_n, ls.alpha, ls.min_effect)):
            response, overnight = leads.response_flags_, leads.overnight_flags_
        else:
            response, overnight = leads_mod.response_flags(rt, **judged), leads_mod.overnight_flags(rt, **judged)
        for check, f, bad, col, worse in (("response", response, "below", "within_sla", "lower"),
                                          ("overnight", overnight, "above", "left_overnight", "higher")):
            flagged = f[f["flag"] == bad]
            if not len(flagged):
                continue
            decided = rt[col].notna()
            monthly = _Monthly(rt.loc[decided, col].astype(float), month[decided], who[decided])
            for r in flagged.itertuples():
                mine, team = monthly.of(r.manager)
                rows.append({"manager": r.manager, "check": check, "stages": (), "unit": "share",
                             "manager_value": float(r.rate), "team_value": float(r.team_rate), "since": _streak_start(mine, team, worse)})
    if ds.has("stage_history") and ds.has("deals"):
        reuse = reusable(stalls, lambda r: r.settings == ss)
        stays = stalls.stays_ if reuse else st.stage_stays(ds)
        if reuse:
            ms = stalls.managers_
        else:
            ms = st.manager_stage_summary(stays, ds.funnel, min_stays=ss.min_stays, alpha=ss.alpha, min_ended=ss.min_ended,
                                          min_ratio=ss.min_ratio, min_difference_hours=ss.min_difference_hours)
        slower = ms[ms["flag"] == "slower"]
        closed = stays[stays["observed"]] if len(slower) else stays.iloc[:0]
        by_stage: dict = {}
        for r in slower.itertuples():
            if r.stage not in by_stage:
                sub = closed[closed["stage"] == r.stage]  # by month of entry, ended stays: a monthly comparison, the KM test is above
                by_stage[r.stage] = _Monthly(sub["days"], sub["entered_at"].dt.to_period("M").astype(str), sub["manager"].astype(object))
            mine, team = by_stage[r.stage].of(r.manager)
            rows.append({"manager": r.manager, "check": "slower", "stages": (r.stage,), "unit": "days",
                         "manager_value": float(r.median), "team_value": float(r.team_median), "since": _streak_start(mine, team, "higher")})
        if reuse and stalls.compliance_ is not None and stalls.skips_ is not None:
            pm, skips = stalls.compliance_, stalls.skips_
        else:
            comp = st.compliance(ds, tolerance=ss.tolerance, backward_tolerance=ss.backward_tolerance, min_deals=ss.min_deals, alpha=ss.alpha,
                                 min_effect=ss.min_effect)
            pm, skips = comp["per_manager"], comp["skips"]
        team_rate = pm["skips"].sum() / max(1, pm["eligible"].sum())
        for r in pm[pm["flag"]].itertuples():
            first = skips.loc[skips["manager"] == r.manager, "at"].min() if len(skips) else pd.NaT
            rows.append({"manager": r.manager, "check": "skips", "stages": tuple(ds.funnel.mandatory), "unit": "share",
                         "manager_value": float(r.skip_rate), "team_value": float(team_rate),
                         "since": None if pd.isna(first) else pd.Timestamp(first).strftime("%Y-%m")})
    out = pd.DataFrame(rows, columns=[c for c in LAGGING_COLUMNS if c != "name"])
    out.insert(1, "name", [names.get(m, m) for m in out["manager"]])
    return out.sort_values(["manager", "check"], kind="stable").reset_index(drop=True)


def analyse(ds, settings=None, *, period: str | None = None, leads=None, funnel=None, stalls=None) -> ScorecardResult:
    """The scorecard of the dataset's head of sales.

    The rules come from the run config's ``scorecard:``; ``settings`` is the ``analysis`` section
    the lagging managers are judged with (an :class:`~salesaudit.data.params.Analysis`; None: the
    run config's). ``period``: the month judged (None: the run config's ``period``, else the
    audit moment's month).

    ``leads``, ``funnel``, ``stalls``: the results of :func:`salesaudit.analysis.leads.analyse`,
    :func:`~salesaudit.analysis.funnel.analyse` and :func:`~salesaudit.analysis.stalls.analyse` on this
    dataset when the caller has them already (notebook 07 passes the ones it gives the findings too):
    the scorecard reads their response times and verdicts instead of working them out again, and
    never changes them. A result judged with other settings than the lagging managers' is not read
    (its part is worked out here), so passing one never changes the scorecard.
    """
    period = period or ds.config.period
    head = head_of_sales(ds)
    att = _monthly_attainment(ds, period, 3) if ds.has("plans") and ds.has("deals") and ds.has("payments") else []
    lag = lagging_managers(ds, settings, leads=leads, funnel=funnel, stalls=stalls)
    rt = leads.response_times_ if leads is not None else None
    n_lagging = int(lag["manager"].nunique()) if len(lag) else 0
    return ScorecardResult(
        client=ds.config.client,
        as_of=pd.Timestamp(ds.as_of),
        period=period,
        head_manager=head["manager"],
        head_name=head["name"],
        head_months=head["months"],
        head_new=head["new"],
        checkpoints_=_checkpoints(ds, period, head, att, n_lagging, rt),
        attainment_=pd.DataFrame(att, columns=["month", "attainment"]),
        lagging_=lag,
        questions=QUESTIONS_NEW if head["new"] else QUESTIONS_EXPERIENCED,
        stage_labels={k: {"ru": ds.funnel.label(k, "ru"), "en": ds.funnel.label(k, "en")} for k in ds.funnel.keys},
    )


def summary(ds, period: str | None = None) -> dict:
    """Key results for ``record``: the status of every checkpoint and the lagging managers (:meth:`ScorecardResult.key_figures`)."""
    return analyse(ds, period=period).key_figures()
