"""Lead processing: first-response time in working time, the SLA, the same-day rule, disqualification.

What the seeds demand of a sales department: every lead is processed the same working day, the
first response is fast, and disqualification is controlled. This module measures each of them.

* **Working time.** A lead's response time is counted in working minutes of the client's
  calendar (:class:`salesaudit.data.calendar.WorkCalendar`): a lead that arrives at 21:00 on
  Friday and is answered at 09:10 on Monday waited 10 minutes (:func:`response_times`).
* **Unanswered leads are censored, not dropped.** A lead not answered by the audit moment has
  waited *at least* the working minutes from its arrival to ``as_of``. Medians and the 80th/90th
  percentiles are Kaplan–Meier quantiles (:func:`response_summary`); a percentile the data cannot
  reach (too many leads still waiting) is left empty rather than guessed.
* **SLA.** A lead answered within ``lead_response.sla_minutes`` working minutes is within the SLA;
  an unanswered lead older than the SLA is a breach; an unanswered lead still inside its SLA window
  at ``as_of`` is undecided and left out. Shares carry Wilson intervals.
* **Same day.** A lead's working day is the working day of ``next_open(created_at)``: a lead from
  Saturday belongs to Monday, one from 18:30 to the next working day. It is processed the same day
  when its first response comes by that day's closing time; otherwise it was *left overnight*.
  A lead still unanswered whose day has not ended at ``as_of`` is undecided.
* **Managers against the team** use the funnel-plot method of :func:`salesaudit.analysis.funnel.manager_flags`
  (exact binomial limits at the manager's volume, Holm-corrected, fewer than ``min_n`` decided
  leads: not judged) for the SLA share, the overnight share and the disqualification rate.
* **Suspicious disqualifications** (:func:`suspicious_disqualifications`). The canonical model
  has no moment of disqualification, so "disqualified faster than any real contact" is implemented
  as: a disqualified lead with no reason, or with no first response, or (when the activities carry
  ``lead_id``) with no call on the lead at all.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.model import require_tables
from ..report import format as fmt_
from ..report.i18n import t
from ..report.show import ci_text as _pct_ci
from ..report.show import p_text as _p_text
from ..stats import km_quantiles, wilson
from .funnel import _rates, manager_flags

__all__ = [
    "has_response_times",
    "response_times",
    "response_summary",
    "response_flags",
    "overnight_daily",
    "overnight_weekly",
    "overnight_by_manager",
    "overnight_flags",
    "disqualification_by_manager",
    "disqualification_flags",
    "disqualification_reasons",
    "suspicious_disqualifications",
    "summary",
    "report_table",
    "flags_table",
    "plot_response_by_manager",
    "plot_sla_by_hour",
    "plot_overnight_weekly",
]

OPEN_STATUSES = ("new", "in_work")
QUANTILES = (0.5, 0.8, 0.9)


def has_response_times(ds) -> bool:
    """Whether the leads table holds any first-response time (Olist's export has none)."""
    return ds.has("leads") and bool(ds.tables["leads"]["first_response_at"].notna().any())


def response_times(ds) -> pd.DataFrame:
    """One row per lead: its first-response time in working minutes and the SLA and same-day verdicts.

    Columns: ``lead_id, manager, channel, status, created_at, first_response_at, arrived_in_hours,
    hour, weekday, answered, censored, working_minutes, within_sla, due_day, day_end, same_day,
    left_overnight``.

    ``working_minutes`` is the working time from arrival to the first response, or, for a lead not
    answered yet (``censored``), to the audit moment. ``within_sla``, ``same_day`` and
    ``left_overnight`` are nullable booleans: NA while undecided at ``as_of``. ``due_day`` is the
    lead's working day (the date of ``next_open(created_at)``) and ``day_end`` its closing time.
    """
    require_tables(ds, "leads", analysis="Lead processing")
    leads = ds.tables["leads"]
    cal = ds.calendar
    as_of = pd.Timestamp(ds.as_of)
    sla = float(ds.config.lead_response.sla_minutes)
    created = leads["created_at"]
    resp = leads["first_response_at"]
    answered = resp.notna()
    until = resp.where(answered, as_of)
    minutes = cal.working_minutes_between(created, until)
    day_end = cal.end_of_working_day(created)
    open_ = cal.next_open(created)

    within = pd.array(np.where(minutes <= sla, True, False), dtype="boolean")
    within[(~answered & (minutes <= sla)).to_numpy()] = pd.NA
    same = pd.array((answered & (resp <= day_end)).to_numpy(), dtype="boolean")
    same[(~answered & (day_end > as_of)).to_numpy()] = pd.NA
    out = pd.DataFrame(
        {
            "lead_id": leads["lead_id"],
            "manager": leads["manager"],
            "channel": leads["channel"],
            "status": leads["status"],
            "created_at": created,
            "first_response_at": resp,
            "arrived_in_hours": cal.is_working_time(created).to_numpy(dtype=bool),
            "hour": created.dt.hour.astype("int64"),
            "weekday": created.dt.day_of_week.astype("int64"),
            "answered": answered.to_numpy(dtype=bool),
            "censored": (~answered).to_numpy(dtype=bool),
            "working_minutes": minutes.to_numpy(dtype=float),
            "within_sla": within,
            "due_day": open_.dt.normalize(),
            "day_end": day_end,
            "same_day": same,
        }
    )
    out["left_overnight"] = ~out["same_day"]
    return out


def _group_key(rt: pd.DataFrame, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("team", index=rt.index)
    return rt[by].astype(object).fillna("—")


def response_summary(rt: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Per ``by`` (``manager``, ``channel``, ``hour``; ``None`` for the team): KM percentiles and the SLA share.

    Columns: ``[by,] leads, answered, unanswered, median, p80, p90, sla_decided, within_sla,
    share_within_sla, ci_low, ci_high``. Worst on top (highest median, then lowest SLA share);
    for ``hour`` in hour order.
    """
    key = _group_key(rt, by)
    rows = []
    for k, g in rt.groupby(key, sort=True):
        q = km_quantiles(g["working_minutes"].to_numpy(float), g["answered"].to_numpy(bool), QUANTILES)
        w = g["within_sla"]
        n, kk = int(w.notna().sum()), int(w.fillna(False).sum())
        lo, hi = wilson(kk, n)
        rows.append(
            {
                **({by: k} if by else {}),
                "leads": len(g),
                "answered": int(g["answered"].sum()),
                "unanswered": int(g["censored"].sum()),
                "median": q[0.5],
                "p80": q[0.8],
                "p90": q[0.9],
                "sla_decided": n,
                "within_sla": kk,
                "share_within_sla": kk / n if n else np.nan,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    out = pd.DataFrame(rows)
    if by and by != "hour" and len(out):
        out = out.sort_values(["median", "share_within_sla"], ascending=[False, True], na_position="first", kind="stable")
    return out.reset_index(drop=True)


def _binary_frame(rt: pd.DataFrame, col: str, by: str | None, step: str, *, pending: pd.Series | None = None) -> pd.DataFrame:
    """entered / pending / finished / advanced per ``by`` for a nullable-boolean column (NA = pending)."""
    v = rt[col]
    frame = pd.DataFrame(
        {
            "entered": 1,
            "pending": v.isna().to_numpy() if pending is None else pending.to_numpy(),
            "advanced": v.fillna(False).to_numpy(dtype=bool),
        },
        index=rt.index,
    )
    frame["finished"] = ~frame["pending"]
    cols = ["entered", "pending", "finished", "advanced"]
    if by:
        frame[by] = rt[by].astype(object)
        frame = frame[frame[by].notna()]
        g = frame.groupby(by, sort=True)[cols].sum().reset_index()
    else:
        g = frame[cols].sum().to_frame().T
    for c in cols:
        g[c] = g[c].astype(int)
    g.insert(1 if by else 0, "step", step)
    return _rates(g)


def response_flags(rt: pd.DataFrame, *, min_n: int = 20, alpha: float = 0.05) -> pd.DataFrame:
    """Managers' share of leads answered within the SLA against the team's (``below`` is worse)."""
    team = _binary_frame(rt, "within_sla", None, "sla")
    return manager_flags(_binary_frame(rt, "within_sla", "manager", "sla"), team, min_n=min_n, alpha=alpha)


def overnight_by_manager(rt: pd.DataFrame) -> pd.DataFrame:
    """Per manager: leads decided, left overnight, the overnight share with a Wilson CI (worst on top)."""
    g = _binary_frame(rt, "left_overnight", "manager", "overnight")
    return g.sort_values(["rate", "finished"], ascending=[False, False], kind="stable").reset_index(drop=True)


def overnight_flags(rt: pd.DataFrame, *, min_n: int = 20, alpha: float = 0.05) -> pd.DataFrame:
    """Managers' share of leads left overnight against the team's (``above`` is worse)."""
    team = _binary_frame(rt, "left_overnight", None, "overnight")
    return manager_flags(_binary_frame(rt, "left_overnight", "manager", "overnight"), team, min_n=min_n, alpha=alpha)


def overnight_daily(rt: pd.DataFrame, by_manager: bool = False) -> pd.DataFrame:
    """Per working day (``due_day``) [and manager]: leads due, decided, left overnight, their share."""
    keys = ["due_day"] + (["manager"] if by_manager else [])
    d = rt.assign(_decided=rt["left_overnight"].notna(), _left=rt["left_overnight"].fillna(False).astype(bool))
    g = d.groupby(keys, sort=True).agg(leads=("lead_id", "size"), decided=("_decided", "sum"), left_overnight=("_left", "sum")).reset_index()
    g["share"] = np.where(g["decided"] > 0, g["left_overnight"] / g["decided"].where(g["decided"] > 0, 1), np.nan)
    return g


def overnight_weekly(rt: pd.DataFrame) -> pd.DataFrame:
    """Leads left overnight per ISO week (of their working day), with the share of decided leads."""
    d = overnight_daily(rt)
    week = d["due_day"].dt.to_period("W-SUN").dt.start_time
    g = d.groupby(week).agg(leads=("leads", "sum"), decided=("decided", "sum"), left_overnight=("left_overnight", "sum")).reset_index()
    g = g.rename(columns={"due_day": "week"})
    g["share"] = np.where(g["decided"] > 0, g["left_overnight"] / g["decided"].where(g["decided"] > 0, 1), np.nan)
    return g


# ---------------------------------------------------------------------------
# disqualification


def _status(ds) -> pd.Series:
    return ds.tables["leads"]["status"].astype(object)


def has_disqualification(ds) -> bool:
    """Whether the export has any disqualified lead."""
    return ds.has("leads") and bool((_status(ds) == "disqualified").any())


def disqualification_by_manager(ds, by: str | None = "manager") -> pd.DataFrame:
    """Disqualified among decided leads (new / in work are pending), per manager or for the team."""
    require_tables(ds, "leads", analysis="Disqualification")
    leads = ds.tables["leads"]
    status = _status(ds)
    rt = pd.DataFrame({"lead_id": leads["lead_id"], "manager": leads["manager"], "dq": pd.array((status == "disqualified").to_numpy(), dtype="boolean")})
    pending = pd.Series(status.isin(OPEN_STATUSES).to_numpy() & leads["deal_id"].isna().to_numpy(), index=leads.index)
    g = _binary_frame(rt, "dq", by, "disqualified", pending=pending)
    if by:
        g = g.sort_values(["rate", "finished"], ascending=[False, False], kind="stable").reset_index(drop=True)
    return g


def disqualification_flags(ds, *, min_n: int = 20, alpha: float = 0.05) -> pd.DataFrame:
    """Managers' disqualification rate against the team's (both directions deserve a look)."""
    return manager_flags(disqualification_by_manager(ds), disqualification_by_manager(ds, by=None), min_n=min_n, alpha=alpha)


def disqualification_reasons(ds, no_reason: str = "—") -> pd.DataFrame:
    """Manager × reason counts of disqualified leads (``no_reason`` for an empty reason), a total column."""
    require_tables(ds, "leads", analysis="Disqualification")
    leads = ds.tables["leads"]
    d = leads[_status(ds) == "disqualified"]
    reason = d["disqualify_reason"].astype(object).fillna(no_reason)
    tab = pd.crosstab(d["manager"].astype(object).fillna("—"), reason)
    tab = tab[tab.sum().sort_values(ascending=False).index]
    tab["total"] = tab.sum(axis=1)
    tab.columns.name = None
    return tab.sort_values("total", ascending=False, kind="stable").reset_index().rename(columns={"index": "manager"})


def suspicious_disqualifications(ds) -> pd.DataFrame:
    """Disqualified leads with no reason, no first response, or (activities with ``lead_id``) no call at all.

    Columns: ``lead_id, manager, channel, created_at, disqualify_reason, no_reason, no_response,
    no_call`` (``no_call`` is NA when the activities do not link calls to leads).
    """
    require_tables(ds, "leads", analysis="Disqualification")
    leads = ds.tables["leads"]
    d = leads[_status(ds) == "disqualified"]
    no_reason = d["disqualify_reason"].isna() | (d["disqualify_reason"].astype(object).fillna("").str.strip() == "")
    no_response = d["first_response_at"].isna()
    if ds.has("activities") and ds.tables["activities"]["lead_id"].notna().any():
        a = ds.tables["activities"]
        called = set(a.loc[(a["type"] == "call") & a["lead_id"].notna(), "lead_id"])
        no_call = pd.array((~d["lead_id"].isin(called)).to_numpy(), dtype="boolean")
    else:
        no_call = pd.array([pd.NA] * len(d), dtype="boolean")
    out = pd.DataFrame(
        {
            "lead_id": d["lead_id"].to_numpy(),
            "manager": d["manager"].to_numpy(),
            "channel": d["channel"].to_numpy(),
            "created_at": d["created_at"].to_numpy(),
            "disqualify_reason": d["disqualify_reason"].to_numpy(),
            "no_reason": no_reason.to_numpy(dtype=bool),
            "no_response": no_response.to_numpy(dtype=bool),
            "no_call": no_call,
        }
    )
    hit = out["no_reason"] | out["no_response"] | out["no_call"].fillna(False).to_numpy(dtype=bool)
    return out[hit].reset_index(drop=True)


# ---------------------------------------------------------------------------
# key results


def _flagged(flags: pd.DataFrame, direction: str) -> list[str]:
    return sorted(str(m) for m, f in zip(flags["manager"], flags["flag"]) if f == direction)


def summary(ds, *, min_n: int = 20, alpha: float = 0.05) -> dict:
    """Key results of the lead analysis (language-neutral), for ``record``; keys start with ``leads_``."""
    require_tables(ds, "leads", analysis="Lead processing")
    out: dict = {"leads_total": int(len(ds.tables["leads"])), "leads_response_times_known": has_response_times(ds)}
    if out["leads_response_times_known"]:
        rt = response_times(ds)
        team = response_summary(rt).iloc[0]
        ov = rt["left_overnight"]
        out.update(
            {
                "leads_unanswered": int(rt["censored"].sum()),
                "leads_median_response_min": round(float(team["median"]), 1),
                "leads_p90_response_min": None if pd.isna(team["p90"]) else round(float(team["p90"]), 1),
                "leads_share_within_sla": round(float(team["share_within_sla"]), 4),
                "leads_share_left_overnight": round(float(ov.fillna(False).sum() / max(1, ov.notna().sum())), 4),
                "leads_flagged_response": _flagged(response_flags(rt, min_n=min_n, alpha=alpha), "below"),
                "leads_flagged_overnight": _flagged(overnight_flags(rt, min_n=min_n, alpha=alpha), "above"),
            }
        )
    if has_disqualification(ds):
        team = disqualification_by_manager(ds, by=None).iloc[0]
        f = disqualification_flags(ds, min_n=min_n, alpha=alpha)
        out.update(
            {
                "leads_disqualified": int(team["advanced"]),
                "leads_disqualification_rate": round(float(team["rate"]), 4),
                "leads_flagged_disqualification_high": _flagged(f, "above"),
                "leads_flagged_disqualification_low": _flagged(f, "below"),
                "leads_suspicious_disqualifications": int(len(suspicious_disqualifications(ds))),
            }
        )
    return out


# ---------------------------------------------------------------------------
# report tables


_COLS = (
    "manager", "channel", "hour", "leads", "answered", "unanswered", "median", "p80", "p90", "sla_decided",
    "within_sla", "share_within_sla", "ci", "entered", "pending", "finished", "advanced", "rate", "team_rate",
    "p_adj", "flag", "due_day", "decided", "left_overnight", "share", "total", "lead_id", "created_at",
    "disqualify_reason", "no_reason", "no_response", "no_call", "check",
)


def report_table(df: pd.DataFrame, lang: str, names: dict | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """``df`` for the report: a CI column from ``ci_low``/``ci_high``, manager names, labelled headers.

    Columns without a ``leads.col.*`` label (reasons, for instance) keep their name.
    """
    d = df.copy()
    if "ci_low" in d and "ci_high" in d:
        d["ci"] = _pct_ci(d["ci_low"], d["ci_high"], lang)
    if "manager" in d and names:
        d["manager"] = [names.get(m, m) for m in d["manager"]]
    if "due_day" in d:
        d["due_day"] = [fmt_.date(v, lang) for v in d["due_day"]]
    if "created_at" in d:
        d["created_at"] = [fmt_.datetime_(v, lang) for v in d["created_at"]]
    for c in ("no_reason", "no_response", "no_call"):
        if c in d:
            d[c] = [("—" if pd.isna(x) else t("leads.yes", lang) if x else "") for x in d[c]]
    if columns is None:
        columns = [c for c in d.columns if c not in ("ci_low", "ci_high", "step", "naive_rate")]
    d = d[columns]
    for c in d.columns:
        if d[c].dtype.kind == "f":
            d[c] = d[c].round(3)
    return d.rename(columns={c: t(f"leads.col.{c}", lang) for c in d.columns if c in _COLS})


def flags_table(flags: pd.DataFrame, check: str, lang: str, names: dict | None = None, only_flagged: bool = True) -> pd.DataFrame:
    """Managers against the team for one check (``sla``, ``overnight``, ``disqualified``), worst on top."""
    f = flags[flags["flag"].isin(["below", "above"])] if only_flagged else flags
    d = pd.DataFrame(
        {
            "manager": f["manager"].to_numpy(),
            "check": [t(f"leads.check.{check}", lang)] * len(f),
            "finished": f["finished"].to_numpy(),
            "rate": f["rate"].to_numpy(),
            "ci_low": f["ci_low"].to_numpy(),
            "ci_high": f["ci_high"].to_numpy(),
            "team_rate": f["team_rate"].to_numpy(),
            "p_adj": [_p_text(p, lang) for p in f["p_adjusted"]],
            "flag": [t(f"leads.flag.{check}.{x}", lang) if x in ("below", "above") else t(f"leads.flag.{x or 'none'}", lang) for x in f["flag"]],
        }
    )
    return report_table(d, lang, names, ["manager", "check", "finished", "rate", "ci", "team_rate", "p_adj", "flag"])


# ---------------------------------------------------------------------------
# plots


def _plt():
    from ..report.show import plotting

    return plotting()


def plot_response_by_manager(rt: pd.DataFrame, sla: float, lang: str, names: dict | None = None):
    """Box and strip of first-response working minutes per manager (answered leads), log scale, SLA line.

    A response in the same minute is drawn at 0.5 min so that it fits on the log scale.
    """
    plt, sns = _plt()
    a = rt[rt["answered"] & rt["manager"].notna()].copy()
    a["who"] = [names.get(m, m) if names else m for m in a["manager"].astype(object)]
    a["minutes"] = a["working_minutes"].clip(lower=0.5)
    order = a.groupby("who")["minutes"].median().sort_values(ascending=False).index.tolist()
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(order) + 1.6))
    sns.boxplot(data=a, x="minutes", y="who", order=order, showfliers=False, color="#dde6f2", ax=ax, width=0.6)
    sns.stripplot(data=a, x="minutes", y="who", order=order, size=2, alpha=0.35, color="#4c72b0", ax=ax, jitter=0.25)
    ax.set_xscale("log")
    ax.axvline(sla, color="#b00020", ls="--", lw=1.2, label=t("leads.plot.sla_line", lang, sla=fmt_.number(sla, lang)))
    ax.set_xlabel(t("leads.plot.working_minutes", lang))
    ax.set_ylabel("")
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(t("leads.plot.response_by_manager", lang))
    fig.tight_layout()
    return fig


def plot_sla_by_hour(by_hour: pd.DataFrame, lang: str):
    """Share of leads answered within the SLA by hour of arrival, with Wilson intervals."""
    plt, sns = _plt()
    d = by_hour[by_hour["sla_decided"] > 0]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = d["hour"].to_numpy()
    y = d["share_within_sla"].to_numpy()
    ax.bar(x, y, color="#4c72b0", alpha=0.8)
    ax.errorbar(x, y, yerr=[y - d["ci_low"].to_numpy(), d["ci_high"].to_numpy() - y], fmt="none", ecolor="black", lw=1, capsize=2)
    ax.set_xticks(range(0, 24))
    ax.set_xlim(-0.6, 23.6)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(t("leads.plot.hour", lang))
    ax.set_ylabel(t("leads.plot.share_within_sla", lang))
    ax.set_title(t("leads.plot.sla_by_hour", lang))
    fig.tight_layout()
    return fig


def plot_overnight_weekly(weekly: pd.DataFrame, lang: str):
    """Leads left overnight per week (bars) and their share of the week's decided leads (line)."""
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.bar(weekly["week"], weekly["left_overnight"], width=5, color="#c44e52", alpha=0.8, label=t("leads.plot.left_overnight", lang))
    ax.set_ylabel(t("leads.plot.left_overnight", lang))
    ax2 = ax.twinx()
    ax2.plot(weekly["week"], weekly["share"], color="black", lw=1, label=t("leads.plot.share_overnight", lang))
    ax2.set_ylim(0, max(0.05, float(np.nanmax(weekly["share"])) * 1.15) if weekly["share"].notna().any() else 1)
    ax2.set_ylabel(t("leads.plot.share_overnight", lang))
    ax2.grid(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize="small")
    ax.set_title(t("leads.plot.overnight_weekly", lang))
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
