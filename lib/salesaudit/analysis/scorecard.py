"""The head-of-sales scorecard: the seeds' checkpoints, answered from data where data can answer.

The head of sales (РОП) is judged by business figures, and differently in the first months
(``scorecard.new_head_months``) than later. Each checkpoint gets green, amber or red with its
figure and the rule; the thresholds live in the run parameters (``scorecard:``). Checkpoints
that data cannot answer (how stand-ups are run, whether the head brought a vision for the team,
authority, discipline…) are listed as questions for the consultant.

Lagging managers come with the evidence behind a development plan: which check, which stage or
step, how far from the team, and since when. They are judged with the run config's
``analysis.funnel``, ``analysis.leads`` and ``analysis.stalls`` settings, as in notebooks 01–03.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..report import format as fmt_
from ..report.i18n import t

__all__ = ["head_of_sales", "checkpoints", "lagging_managers", "questions", "summary", "STATUS_COLORS"]

STATUS_COLORS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "n/a": "#9e9e9e"}
QUESTIONS_NEW = ("vision", "manager_assessment", "standups", "discipline")
QUESTIONS_EXPERIENCED = ("initiative", "authority", "idp_in_use", "standups", "salary_talk")


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


def _rule_text(rule, lang: str, pct: bool) -> str:
    fmt = (lambda v: fmt_.percent(v, lang, 0)) if pct else (lambda v: fmt_.number(v, lang))
    op_good, op_ok = (("≥", "≥") if rule.higher_is_better else ("≤", "≤"))
    return t("scorecard.rule", lang, green=f"{op_good} {fmt(rule.green)}", amber=f"{op_ok} {fmt(rule.amber)}")


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


def checkpoints(ds, lang: str, period: str | None = None) -> pd.DataFrame:
    """One row per data checkpoint: ``key, checkpoint, value, shown, status, rule, applies``."""
    from . import leads as leads_mod
    from . import planfact

    sc = ds.config.scorecard
    period = period or ds.config.period
    head = head_of_sales(ds)
    rows = []

    def add(key, value, shown, rule, pct, applies=True):
        rows.append(
            {
                "key": key,
                "checkpoint": t(f"scorecard.check.{key}", lang),
                "value": value,
                "shown": shown,
                "status": _grade(value, rule) if applies else "n/a",
                "rule": _rule_text(rule, lang, pct),
                "applies": applies,
            }
        )

    has_plans = ds.has("plans") and ds.has("deals")
    att = _monthly_attainment(ds, period, 3) if has_plans and ds.has("payments") else []
    last = att[-1][1] if att else None
    add("plan_attainment", last, "—" if last is None else f"{fmt_.percent(last, lang, 0)} ({att[-1][0]})", sc.plan_attainment, True)
    trend = None
    if len(att) >= 2:
        trend = float(np.polyfit(np.arange(len(att)), [a for _, a in att], 1)[0])
    add("plan_trend", trend, "—" if trend is None else " → ".join(fmt_.percent(a, lang, 0) for _, a in att), sc.plan_trend, True)
    lag = None
    if has_plans and ds.has("payments"):
        cl = planfact.cumulative_lag(ds, period, "month", metrics=("revenue",))
        team = cl[cl["manager"] == planfact.TEAM]
        if len(team):
            lag = float(team["lag_pct"].iloc[-1]) / 100.0
    add("cumulative_lag", lag, "—" if lag is None else fmt_.percent(lag, lang, 0, sign=True), sc.cumulative_lag, True)
    same_day = None
    if ds.has("leads") and leads_mod.has_response_times(ds):
        s = leads_mod.summary(ds)
        same_day = 1.0 - s["leads_share_left_overnight"]
    add("same_day_processing", same_day, "—" if same_day is None else fmt_.percent(same_day, lang, 1), sc.same_day_processing, True)
    mom = None
    if ds.has("payments"):
        g = planfact.growth(ds)
        month = (period or ds.as_of.strftime("%Y-%m"))[:7]
        r = g[(g["manager"] == planfact.TEAM) & (g["metric"] == "revenue") & (g["month"] == month)]
        if len(r) and np.isfinite(r["mom_pct"].iloc[0]):
            mom = float(r["mom_pct"].iloc[0]) / 100.0
    add("mom_growth", mom, "—" if mom is None else fmt_.percent(mom, lang, 0, sign=True), sc.mom_growth, True, applies=head["new"] is not True)
    per_manager = None
    if ds.has("deals"):
        d = ds.tables["deals"]
        share = float(d["manager"].notna().mean()) if len(d) else None
        has_mgr_plans = ds.has("plans") and ds.tables["plans"]["manager"].notna().any()
        per_manager = None if share is None else (share if has_mgr_plans else 0.0)
    add("analytics_per_manager", per_manager, "—" if per_manager is None else fmt_.percent(per_manager, lang, 0), sc.analytics_per_manager, True)
    lag_df = lagging_managers(ds, lang)
    n_lag = int(lag_df["manager"].nunique()) if len(lag_df) else 0
    add("lagging_managers", float(n_lag), str(n_lag), sc.lagging_managers, False)
    return pd.DataFrame(rows)


def _streak_start(mine: pd.Series, team: pd.Series, worse: str) -> str:
    """First month of the latest unbroken run of months in which ``mine`` was worse than ``team``.

    ``worse`` is ``"lower"`` (a rate that should be high) or ``"higher"`` (a time or a breach rate).
    "—" when the latest month with data was not worse.

    >>> m = pd.Series({"2026-07": 0.5, "2026-08": 0.2, "2026-09": 0.1, "2026-10": 0.3})
    >>> _streak_start(m, pd.Series(0.4, index=m.index), "lower")
    '2026-08'
    """
    since = "—"
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


def _since(ds, manager: str, step: tuple[str, str]) -> str:
    """Since when the manager's step conversion has been below the team's, by deal creation month."""
    from . import funnel as fn

    reach = fn.deal_reach(ds)
    order = {k: i for i, k in enumerate(fn.steps(ds.funnel))}
    i = order[step]
    entered = reach[reach["reach"] >= i]
    finished = entered[~(entered["pending"] & (entered["reach"] == i))]
    mine, team = _monthly((finished["reach"] > i).astype(float), finished["created_at"].dt.to_period("M").astype(str), finished["manager"].astype(object), manager)
    return _streak_start(mine, team, "lower")


def _settings(ds):
    """The run config's ``analysis`` settings (the defaults for a config without them)."""
    from ..data.params import Analysis

    return getattr(ds.config, "analysis", None) or Analysis()


def lagging_managers(ds, lang: str) -> pd.DataFrame:
    """Managers behind the team, with the evidence a development plan needs: check, where, gap, since when.

    Judged with the run config's ``analysis.funnel``, ``analysis.leads`` and ``analysis.stalls`` settings.
    """
    from . import funnel as fn
    from . import leads as leads_mod
    from . import stalls as st

    a = _settings(ds)
    fs, ls, ss = a.funnel, a.leads, a.stalls
    names = ds.manager_names()
    rows = []
    if ds.has("deals"):
        reach = fn.deal_reach(ds)
        team = fn.step_conversion(ds, reach=reach)
        flags = fn.manager_flags(fn.step_conversion(ds, by="manager", reach=reach), team, min_n=fs.min_n, alpha=fs.alpha)
        for r in flags[flags["flag"] == "below"].itertuples():
            rows.append({"manager": r.manager, "check": t("scorecard.evidence.conversion", lang), "where": fn.step_label((r.from_stage, r.to_stage), ds.funnel, lang),
                         "manager_value": fmt_.percent(r.rate, lang, 0), "team_value": fmt_.percent(r.team_rate, lang, 0), "since": _since(ds, r.manager, (r.from_stage, r.to_stage))})
    if ds.has("leads") and leads_mod.has_response_times(ds):
        rt = leads_mod.response_times(ds)
        month = rt["created_at"].dt.to_period("M").astype(str)
        who = rt["manager"].astype(object)
        for check, f, bad, col, worse in (("response", leads_mod.response_flags(rt, min_n=ls.min_n, alpha=ls.alpha), "below", "within_sla", "lower"),
                                          ("overnight", leads_mod.overnight_flags(rt, min_n=ls.min_n, alpha=ls.alpha), "above", "left_overnight", "higher")):
            decided = rt[col].notna()
            for r in f[f["flag"] == bad].itertuples():
                mine, team = _monthly(rt.loc[decided, col].astype(float), month[decided], who[decided], r.manager)
                rows.append({"manager": r.manager, "check": t(f"scorecard.evidence.{check}", lang), "where": t("scorecard.where.leads", lang),
                             "manager_value": fmt_.percent(r.rate, lang, 0), "team_value": fmt_.percent(r.team_rate, lang, 0), "since": _streak_start(mine, team, worse)})
    if ds.has("stage_history") and ds.has("deals"):
        stays = st.stage_stays(ds)
        ms = st.manager_stage_summary(stays, ds.funnel, min_stays=ss.min_stays, alpha=ss.alpha, min_ended=ss.min_ended)
        closed = stays[stays["observed"]]
        for r in ms[ms["flag"] == "slower"].itertuples():
            sub = closed[closed["stage"] == r.stage]  # by month of entry, ended stays: a monthly comparison, the KM test is above
            mine, team = _monthly(sub["days"], sub["entered_at"].dt.to_period("M").astype(str), sub["manager"].astype(object), r.manager)
            rows.append({"manager": r.manager, "check": t("scorecard.evidence.slower", lang), "where": ds.funnel.label(r.stage, lang),
                         "manager_value": fmt_.number(r.median, lang, 1), "team_value": fmt_.number(r.team_median, lang, 1), "since": _streak_start(mine, team, "higher")})
        comp = st.compliance(ds, tolerance=ss.tolerance, backward_tolerance=ss.backward_tolerance, min_deals=ss.min_deals, alpha=ss.alpha)
        pm, skips = comp["per_manager"], comp["skips"]
        team_rate = pm["skips"].sum() / max(1, pm["eligible"].sum())
        for r in pm[pm["flag"]].itertuples():
            first = skips.loc[skips["manager"] == r.manager, "at"].min() if len(skips) else pd.NaT
            rows.append({"manager": r.manager, "check": t("scorecard.evidence.skips", lang), "where": ", ".join(ds.funnel.label(s, lang) for s in ds.funnel.mandatory),
                         "manager_value": fmt_.percent(r.skip_rate, lang, 0), "team_value": fmt_.percent(team_rate, lang, 0),
                         "since": "—" if pd.isna(first) else pd.Timestamp(first).strftime("%Y-%m")})
    out = pd.DataFrame(rows, columns=["manager", "check", "where", "manager_value", "team_value", "since"])
    out.insert(1, "name", [names.get(m, m) for m in out["manager"]])
    return out.sort_values(["manager", "check"], kind="stable").reset_index(drop=True)


def questions(ds, lang: str) -> list[str]:
    """Checkpoints data cannot answer: questions for the consultant's interview."""
    head = head_of_sales(ds)
    keys = QUESTIONS_NEW if head["new"] else QUESTIONS_EXPERIENCED
    return [t(f"scorecard.question.{k}", lang) for k in keys]


def summary(ds, period: str | None = None) -> dict:
    """Key results for ``record``: the status of every checkpoint and the lagging managers."""
    cp = checkpoints(ds, "en", period)
    head = head_of_sales(ds)
    lag = lagging_managers(ds, "en")
    return {
        "scorecard_head_new": head["new"],
        "scorecard_status": {r.key: r.status for r in cp.itertuples()},
        "scorecard_red": sorted(cp.loc[cp["status"] == "red", "key"]),
        "scorecard_lagging": sorted(set(lag["manager"])),
    }


def display(cp: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The checkpoints for the report, with a coloured status word."""
    return pd.DataFrame(
        {
            t("scorecard.col.checkpoint", lang): cp["checkpoint"].to_numpy(),
            t("scorecard.col.value", lang): cp["shown"].to_numpy(),
            t("scorecard.col.status", lang): [t(f"scorecard.status.{s}", lang) for s in cp["status"]],
            t("scorecard.col.rule", lang): cp["rule"].to_numpy(),
        }
    )


def display_lagging(lag: pd.DataFrame, lang: str) -> pd.DataFrame:
    return lag.drop(columns="manager").rename(columns={c: t(f"scorecard.col.{c}", lang) for c in lag.columns if c != "manager"})
