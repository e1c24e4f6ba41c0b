"""The lead-processing page (notebook 03) in one language, made from a :class:`~salesaudit.analysis.leads.LeadsResult`.

Headers, verdicts, manager names and intervals come from the message catalogue and
:mod:`salesaudit.report.format`; the numbers are the result's own.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.leads import NO_REASON
from . import format as fmt_
from .format import date as fmt_date  # noqa: F401
from .format import datetime_ as fmt_datetime
from .i18n import t
from .page import Figure, Heading, Page, Table, Text
from .show import ci_text as _pct_ci
from .show import p_text as _p_text

__all__ = ["page", "report_table", "flags_table", "plot_response_by_manager", "plot_sla_by_hour", "plot_overnight_weekly"]


# ---------------------------------------------------------------------------
# tables in the page's language


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
    from .show import plotting

    return plotting()


def plot_response_by_manager(r, lang: str):
    """Box and strip of first-response working minutes per manager (answered leads), log scale, SLA line.

    A response in the same minute is drawn at 0.5 min so that it fits on the log scale.
    """
    plt, sns = _plt()
    rt, names, sla = r.response_times_, r.manager_names, r.sla_minutes
    a = rt[rt["answered"] & rt["manager"].notna()].copy()
    a["who"] = [names.get(m, m) if names else m for m in a["manager"].astype(object)]
    a["minutes"] = a["working_minutes"].clip(lower=0.5)
    order = a.groupby("who")["minutes"].median().sort_values(ascending=False).index.tolist()
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(order) + 1.6))
    sns.boxplot(data=a, x="minutes", y="who", order=order, showfliers=False, color="#dde6f2", ax=ax, width=0.6)
    # seaborn jitters the points with numpy's global generator: seed it here (and put it back), so that
    # the same result draws the same picture
    state = np.random.get_state()
    np.random.seed(20261031)
    try:
        sns.stripplot(data=a, x="minutes", y="who", order=order, size=2, alpha=0.35, color="#4c72b0", ax=ax, jitter=0.25)
    finally:
        np.random.set_state(state)
    ax.set_xscale("log")
    ax.axvline(sla, color="#b00020", ls="--", lw=1.2, label=t("leads.plot.sla_line", lang, sla=fmt_.number(sla, lang)))
    ax.set_xlabel(t("leads.plot.working_minutes", lang))
    ax.set_ylabel("")
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(t("leads.plot.response_by_manager", lang))
    fig.tight_layout()
    return fig


def plot_sla_by_hour(r, lang: str):
    """Share of leads answered within the SLA by hour of arrival, with Wilson intervals."""
    plt, sns = _plt()
    by_hour = r.by_hour_
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


def plot_overnight_weekly(r, lang: str):
    """Leads left overnight per week (bars) and their share of the week's decided leads (line)."""
    plt, sns = _plt()
    weekly = r.overnight_weekly_
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


# ---------------------------------------------------------------------------
# the page


def _as_of(moment, lang: str) -> str:
    """The audit moment in the page's language (:func:`salesaudit.report.format.datetime_`)."""
    return fmt_datetime(moment, lang)


def _binary_table(d: pd.DataFrame, lang: str, names: dict, advanced: str, rate: str) -> pd.DataFrame:
    """Per manager: leads, undecided, decided, the counted ones (``advanced``) and their share (``rate``) with a CI."""
    return (report_table(d, lang, names, ["manager", "entered", "pending", "finished", "advanced", "rate", "ci"])
            .rename(columns={t("leads.col.advanced", lang): t(advanced, lang), t("leads.col.rate", lang): t(rate, lang)}))


def _response(p: Page, r, lang: str) -> None:
    sla, names, team = fmt_.number(r.sla_minutes, lang), r.manager_names, r.team_.iloc[0]
    n = len(r.response_times_)
    p.add(Heading(t("leads.response", lang)),
          Text(t("leads.arrivals_text", lang, n=n, out_of_hours=r.out_of_hours, share=fmt_.percent(r.out_of_hours / n, lang, 0))),
          Text(t("leads.team_text", lang, median=fmt_.number(team["median"], lang, 0), p80=fmt_.number(team["p80"], lang, 0),
                 p90=fmt_.number(team["p90"], lang, 0), sla=sla, share=fmt_.percent(team["share_within_sla"], lang, 0),
                 lo=fmt_.percent(team["ci_low"], lang, 0), hi=fmt_.percent(team["ci_high"], lang, 0), unanswered=int(team["unanswered"]))),
          Figure(plot_response_by_manager(r, lang)),
          Heading(t("leads.by_manager", lang), 3),
          Table(report_table(r.by_manager_, lang, names)),
          Text(t("leads.percentile_note", lang)),
          Heading(t("leads.by_channel", lang), 3),
          Table(report_table(r.by_channel_, lang)),
          Heading(t("leads.by_hour", lang), 3),
          Figure(plot_sla_by_hour(r, lang)),
          Table(report_table(r.by_hour_, lang), max_rows=24))


def _overnight(p: Page, r, lang: str) -> None:
    p.add(Heading(t("leads.overnight", lang)),
          Text(t("leads.overnight_text", lang, n=r.overnight_left, decided=r.overnight_decided, share=fmt_.percent(r.share_left_overnight, lang, 1))),
          Figure(plot_overnight_weekly(r, lang)),
          Table(_binary_table(r.overnight_by_manager_, lang, r.manager_names, "leads.col.left_overnight", "leads.col.overnight_share")))
    if r.overnight_days_ is not None:
        p.add(Heading(t("leads.overnight_days", lang, period=r.period), 3))
        if len(r.overnight_days_):
            p.add(Table(report_table(r.overnight_days_, lang, r.manager_names, ["due_day", "manager", "leads", "left_overnight"])))
        else:
            p.add(Text(t("leads.overnight_none_in_period", lang, period=r.period)))


def _flags(p: Page, r, lang: str) -> None:
    p.add(Heading(t("leads.flags", lang)), Text(t("leads.flags_note", lang, min_n=r.min_n)))
    parts = []
    if r.response_times_known:
        parts += [flags_table(r.response_flags_, "sla", lang, r.manager_names), flags_table(r.overnight_flags_, "overnight", lang, r.manager_names)]
    if r.has_disqualification:
        parts.append(flags_table(r.disqualification_flags_, "disqualified", lang, r.manager_names))
    flagged = pd.concat(parts, ignore_index=True)
    p.add(Table(flagged) if len(flagged) else Text(t("leads.no_flags", lang)))


def _disqualification(p: Page, r, lang: str) -> None:
    p.add(Heading(t("leads.disq", lang)))
    if not r.has_disqualification:
        p.add(Text(t("leads.no_disq", lang)))
        return
    team, names = r.disqualification_team_.iloc[0], r.manager_names
    reasons = r.disqualification_reasons_.rename(columns={NO_REASON: t("leads.no_reason", lang)})
    p.add(Text(t("leads.disq_text", lang, n=int(team["advanced"]), decided=int(team["finished"]),
                 rate=fmt_.percent(team["rate"], lang, 0), lo=fmt_.percent(team["ci_low"], lang, 0), hi=fmt_.percent(team["ci_high"], lang, 0))),
          Table(_binary_table(r.disqualification_by_manager_, lang, names, "leads.col.disqualified", "leads.col.disq_rate")),
          Heading(t("leads.reasons", lang), 3),
          Table(report_table(reasons, lang, names)),
          Heading(t("leads.suspicious", lang), 3),
          Text(t("leads.suspicious_rule", lang)))
    if not r.calls_linked:
        p.add(Text(t("leads.no_calls_linked", lang)))
    if len(r.suspicious_):
        p.add(Text(t("leads.suspicious_count", lang, n=len(r.suspicious_))), Table(report_table(r.suspicious_, lang, names)))
    else:
        p.add(Text(t("leads.suspicious_none", lang)))


def page(r, lang: str) -> Page:
    """Notebook 03's page: response time and the SLA, leads left overnight, managers against the team, disqualification."""
    p = Page(lang=lang)
    p.add(Heading(t("leads.title", lang, client=r.client), 1))
    if not r.has_leads:
        return p.add(Text(t("leads.no_leads", lang)))
    if not r.response_times_known:
        p.add(Text(t("leads.no_response_times", lang)))
    else:
        p.add(Text(t("leads.intro", lang, calendar=f"{r.calendar_start}–{r.calendar_end}, {r.timezone}", sla=fmt_.number(r.sla_minutes, lang),
                     as_of=_as_of(r.as_of, lang), n=r.leads_total)))
        _response(p, r, lang)
        _overnight(p, r, lang)
    if r.response_times_known or r.has_disqualification:
        _flags(p, r, lang)
    _disqualification(p, r, lang)
    return p
