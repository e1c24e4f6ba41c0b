"""The lead-processing page (notebook 03) in one language, made from a :class:`~salesaudit.analysis.leads.LeadsResult`.

Headers, verdicts, manager names and intervals come from the message catalogue and
:mod:`salesaudit.report.format`; the numbers are the result's own. Response times are shown in
working minutes or working hours, chosen per table, sentence and plot from its typical value (the
unit is in the header); every effect is stated with its interval, with as many decimals as the
bounds need to differ.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.leads import NO_REASON
from . import format as fmt_
from .format import date as fmt_date  # noqa: F401
from .format import datetime_ as fmt_datetime
from .i18n import duration, t
from .page import Figure, Heading, Page, Table, Text
from .show import p_text as _p_text

__all__ = ["page", "report_table", "comparison_table", "response_time_table", "findings", "plot_response_by_manager", "plot_sla_by_hour",
           "plot_overnight_weekly", "share_with_ci", "pp_with_ci", "time_with_ci", "ratio_with_ci", "time_unit", "decimals_apart"]

#: at most this many flagged differences are told in sentences; more are a table
MAX_SENTENCES = 5
#: the checks of the manager-vs-team comparisons, in the page's order
CHECKS = ("response_time", "sla", "overnight", "disqualified")

# ---------------------------------------------------------------------------
# sizes, intervals and units


def decimals_apart(values, base: int, most: int = 4) -> int:
    """The fewest decimals (from ``base``) at which every two different values of ``values`` print differently."""
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    pairs = [(a, b) for i, a in enumerate(v) for b in v[i + 1:] if abs(a - b) > 1e-12]
    return fmt_.digits_apart(pairs, base, most, show=round)


def _pct(x, lang: str, digits: int) -> str:
    return fmt_.percent(x, lang, digits)


def _pp(x, lang: str, digits: int, sign: bool = True) -> str:
    """A difference of two shares in percentage points, signed (``+12,5``, ``-3,0``)."""
    return fmt_.number(None if fmt_.missing(x) else 100 * float(x), lang, digits, sign=sign)


def _parts(x, lo, hi, fmt, base: int, most: int, scale: float = 1.0) -> tuple[str, str, str]:
    """A value and its interval bounds as three strings with one number of decimals, the fewest at which they differ."""
    d = decimals_apart([scale * v for v in (x, lo, hi) if not fmt_.missing(v)], base, most)
    return tuple(fmt_.DASH if fmt_.missing(v) else fmt(v, d) for v in (x, lo, hi))


def share_parts(x, lo, hi, lang: str) -> tuple[str, str, str]:
    """A share and its bounds in percent: ``('1,2 %', '0,4 %', '3,4 %')``."""
    return _parts(x, lo, hi, lambda v, d: _pct(v, lang, d), 1, 3, 100.0)


def pp_parts(x, lo, hi, lang: str, sign: bool = True) -> tuple[str, str, str]:
    """A difference of shares and its bounds in percentage points, signed unless ``sign`` is false: ``('-77,1', '-78,8', '-74,3')``."""
    return _parts(x, lo, hi, lambda v, d: _pp(v, lang, d, sign), 1, 3, 100.0)


def ratio_parts(x, lo, hi, lang: str) -> tuple[str, str, str]:
    """A ratio of medians and its bounds: ``('15,67', '13,71', '17,91')``."""
    return _parts(x, lo, hi, lambda v, d: fmt_.number(v, lang, d), 2, 4)


def _with_ci(parts: tuple[str, str, str], sep: str = "–") -> str:
    x, lo, hi = parts
    if x == fmt_.DASH:
        return x
    return f"{x} ({fmt_.DASH if fmt_.DASH in (lo, hi) else lo + sep + hi})"


def share_with_ci(x, lo, hi, lang: str) -> str:
    """A share with its interval, with as many decimals as it takes for the three to differ: ``1,2 % (0,4 %–3,4 %)``."""
    return _with_ci(share_parts(x, lo, hi, lang))


def pp_with_ci(x, lo, hi, lang: str) -> str:
    """A difference of shares in percentage points with its interval: ``-77,1 (-78,8…-74,3)``."""
    return _with_ci(pp_parts(x, lo, hi, lang), "…")


def time_unit(minutes) -> str:
    """``h`` when the typical (median) value of these working minutes is an hour or more, else ``min``."""
    v = np.asarray(pd.to_numeric(pd.Series(minutes), errors="coerce"), dtype=float)
    v = v[np.isfinite(v)]
    return "h" if v.size and float(np.median(v)) >= 60 else "min"


def _in_unit(minutes, unit: str):
    return minutes / 60.0 if unit == "h" else minutes


def _time(x, lang: str, unit: str, digits: int = 1, sign: bool = False) -> str:
    """Working minutes shown in ``unit`` (the number only: the unit is in the header or the sentence)."""
    return fmt_.DASH if fmt_.missing(x) else fmt_.number(_in_unit(float(x), unit), lang, digits, sign=sign)


def time_with_ci(x, lo, hi, lang: str, unit: str) -> str:
    """A median with its interval in ``unit``, decimals enough for the bounds to differ: ``214,2 (190,9–245,3)``."""
    return _with_ci(_parts(x, lo, hi, lambda v, d: _time(v, lang, unit, d), 1, 3, 1 / 60 if unit == "h" else 1.0))


def ratio_with_ci(x, lo, hi, lang: str) -> str:
    """A ratio of medians with its interval: ``15,67 (13,71–17,91)``."""
    return _with_ci(ratio_parts(x, lo, hi, lang))


def unit_word(unit: str, lang: str) -> str:
    """The unit of a header or a sentence: ``working min``, ``working h``."""
    return t(f"leads.unit.{unit}", lang)

# ---------------------------------------------------------------------------
# tables in the page's language


_COLS = (
    "manager", "channel", "hour", "leads", "answered", "unanswered", "median", "p80", "p90", "sla_decided",
    "within_sla", "share_within_sla", "ci", "due_day", "left_overnight", "total", "lead_id", "created_at",
    "disqualify_reason", "no_reason", "no_response", "no_call",
)
#: response-time columns, in working minutes in the result: shown in the table's unit
_TIMES = ("median", "p80", "p90")


def report_table(df: pd.DataFrame, lang: str, names: dict | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """``df`` for the report: a CI column from ``ci_low``/``ci_high``, manager names, labelled headers.

    Response times (``median``, ``p80``, ``p90``: working minutes) are shown in minutes or hours,
    as the table's typical median says, with the unit in the header; the SLA share in percent.
    Columns without a ``leads.col.*`` label (reasons, for instance) keep their name.
    """
    d = df.copy()
    unit = time_unit(d["median"]) if "median" in d else "min"
    if {"share_within_sla", "ci_low", "ci_high"} <= set(d.columns):
        parts = [share_parts(x, a, b, lang) for x, a, b in zip(d["share_within_sla"], d["ci_low"], d["ci_high"])]
        d["share_within_sla"] = [x for x, _, _ in parts]
        d["ci"] = [fmt_.DASH if fmt_.DASH in (a, b) else f"{a}–{b}" for _, a, b in parts]
    for c in _TIMES:
        if c in d:
            d[c] = [_time(x, lang, unit) for x in d[c]]
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
    return d.rename(columns={c: t(f"leads.col.{c}", lang, unit=unit_word(unit, lang)) for c in d.columns if c in _COLS})


def _who(manager, group: str, names: dict, lang: str) -> str:
    """A row's name: the manager's, or the owner group's label for the rows outside the team."""
    name = fmt_.DASH if manager is None or (not isinstance(manager, str) and pd.isna(manager)) else names.get(manager, manager)
    if group == "manager":
        return name
    return t(f"leads.group.{group}", lang, name=name)


def verdict_text(check: str, verdict: str, lang: str, min_n: int) -> str:
    """A verdict code (:data:`salesaudit.stats.effect.VERDICTS`, or ``excluded``) in words, for one check."""
    if verdict in ("worse", "better"):
        return t(f"leads.verdict.{check}.{verdict}", lang)
    return t(f"leads.verdict.{verdict}", lang, min_n=fmt_.integer(min_n, lang))


def comparison_table(flags: pd.DataFrame, check: str, lang: str, names: dict, min_n: int) -> pd.DataFrame:
    """Managers against the rest of the team on one share (``sla``, ``overnight``, ``disqualified``): flagged first."""
    counted = {"sla": "within_sla", "overnight": "left_overnight", "disqualified": "disqualified"}[check]
    rows = {
        t("leads.col.manager", lang): [_who(m, g, names, lang) for m, g in zip(flags["manager"], flags["owner_group"])],
        t("leads.col.decided", lang): flags["finished"].astype(int).to_numpy(),
        t(f"leads.col.{counted}", lang): flags["advanced"].astype(int).to_numpy(),
        t("leads.col.share_ci", lang): [share_with_ci(x, lo, hi, lang) for x, lo, hi in zip(flags["rate"], flags["ci_low"], flags["ci_high"])],
        t("leads.col.rest_share", lang): [fmt_.percent(x, lang, 1) for x in flags["team_rate"]],
        t("leads.col.diff_pp", lang): [pp_with_ci(x, lo, hi, lang) for x, lo, hi in zip(flags["diff"], flags["diff_low"], flags["diff_high"])],
        t("leads.col.p_adj", lang): [_p_text(p, lang) for p in flags["p_adjusted"]],
        t("leads.col.flag", lang): [verdict_text(check, v, lang, min_n) for v in flags["verdict"]],
    }
    return pd.DataFrame(rows)


def response_time_table(flags: pd.DataFrame, lang: str, names: dict, min_n: int) -> pd.DataFrame:
    """Managers against the rest of the team on the median first response (working time, the table's unit): flagged first."""
    unit = time_unit(pd.concat([flags["median"], flags["rest_median"]]))
    u = unit_word(unit, lang)
    rows = {
        t("leads.col.manager", lang): [_who(m, g, names, lang) for m, g in zip(flags["manager"], flags["owner_group"])],
        t("leads.col.leads", lang): flags["leads"].astype(int).to_numpy(),
        t("leads.col.unanswered", lang): (flags["leads"] - flags["answered"]).astype(int).to_numpy(),
        t("leads.col.median_ci", lang, unit=u): [time_with_ci(x, lo, hi, lang, unit)
                                                 for x, lo, hi in zip(flags["median"], flags["median_low"], flags["median_high"])],
        t("leads.col.rest_median", lang, unit=u): [_time(x, lang, unit) for x in flags["rest_median"]],
        t("leads.col.ratio", lang): [ratio_with_ci(x, lo, hi, lang) for x, lo, hi in zip(flags["ratio"], flags["ratio_low"], flags["ratio_high"])],
        t("leads.col.difference", lang, unit=u): [_time(x, lang, unit, sign=True) for x in flags["difference"]],
        t("leads.col.p_adj", lang): [_p_text(p, lang) for p in flags["p_adjusted"]],
        t("leads.col.flag", lang): [verdict_text("response_time", v, lang, min_n) for v in flags["verdict"]],
    }
    return pd.DataFrame(rows)


def _comparisons(r) -> dict:
    """check -> its comparison table in the result (the checks the export allows)."""
    out = {}
    if r.response_times_known:
        out.update(response_time=r.response_time_flags_, sla=r.response_flags_, overnight=r.overnight_flags_)
    if r.has_disqualification:
        out["disqualified"] = r.disqualification_flags_
    return out


def _effect(check: str, row, lang: str) -> tuple[str, str, str]:
    """(the manager's value, the rest's, the effect with its interval) of one flagged row, in words and units."""
    if check == "response_time":
        unit = time_unit([row["rest_median"]])  # the unit of the baseline: a slow manager is "214 min against 14", not "3.6 h against 0.2"
        d = decimals_apart([_in_unit(row["median"], unit), _in_unit(row["rest_median"], unit)], 1, 3)
        diff = duration(60 * abs(row["difference"]), lang, unit, d)
        diff = ("+" if row["difference"] > 0 else "-") + diff
        if fmt_.missing(row["ratio"]):
            effect = t("leads.effect.time_difference", lang, diff=diff)
        else:
            ratio, lo, hi = ratio_parts(row["ratio"], row["ratio_low"], row["ratio_high"], lang)
            effect = t("leads.effect.time", lang, ratio=ratio, lo=lo, hi=hi, diff=diff)
        return duration(60 * row["median"], lang, unit, d), duration(60 * row["rest_median"], lang, unit, d), effect
    value, rest, _ = _parts(row["rate"], row["team_rate"], np.nan, lambda v, dd: _pct(v, lang, dd), 1, 3, 100.0)
    diff, lo, hi = pp_parts(row["diff"], row["diff_low"], row["diff_high"], lang)
    return value, rest, t("leads.effect.share", lang, diff=diff, lo=lo, hi=hi)


def findings(r, lang: str) -> list:
    """What the comparisons found, with how big: a sentence per flagged difference (a table beyond five), or that none is."""
    names, flagged, small = r.manager_names, [], 0
    for check, f in _comparisons(r).items():
        small += int((f["verdict"] == "small").sum())
        for _, row in f[f["verdict"].isin(["worse", "better"])].iterrows():
            value, rest, effect = _effect(check, row, lang)
            flagged.append({"who": _who(row["manager"], row["owner_group"], names, lang), "check": t(f"leads.check.{check}", lang),
                            "value": value, "rest": rest, "effect": effect, "verdict": verdict_text(check, row["verdict"], lang, r.min_n)})
    blocks = []
    if not flagged:
        blocks.append(Text(t("leads.no_flags", lang)))
    elif len(flagged) <= MAX_SENTENCES:
        blocks += [Text(t("leads.finding", lang, **x)) for x in flagged]
    else:
        keys = {"who": "leads.col.manager", "check": "leads.col.check", "value": "leads.col.value", "rest": "leads.col.rest",
                "effect": "leads.col.effect", "verdict": "leads.col.flag"}
        blocks.append(Table(pd.DataFrame({t(k, lang): [x[c] for x in flagged] for c, k in keys.items()}), max_rows=200))
    if small:
        blocks.append(Text(t("leads.small_count", lang, n=fmt_.integer(small, lang))))
    return blocks


# ---------------------------------------------------------------------------
# plots


def _plt():
    from .show import plotting

    return plotting()


def plot_response_by_manager(r, lang: str):
    """Box and strip of first-response working time per manager (answered leads), log scale, SLA line.

    Minutes or hours as the answered leads' median says. A response in the same minute is drawn
    at half a minute so that it fits on the log scale. Managers flagged slower than the rest of the
    team are labelled in red.
    """
    plt, sns = _plt()
    rt, names, sla = r.response_times_, r.manager_names, r.sla_minutes
    a = rt[rt["answered"] & rt["manager"].notna()].copy()
    unit = time_unit(a["working_minutes"])
    a["who"] = [names.get(m, m) if names else m for m in a["manager"].astype(object)]
    a["time"] = _in_unit(a["working_minutes"].clip(lower=0.5), unit)
    order = a.groupby("who")["time"].median().sort_values(ascending=False).index.tolist()
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(order) + 1.6))
    sns.boxplot(data=a, x="time", y="who", order=order, showfliers=False, color="#dde6f2", ax=ax, width=0.6)
    # seaborn jitters the points with numpy's global generator: seed it here (and put it back), so that
    # the same result draws the same picture
    state = np.random.get_state()
    np.random.seed(20261031)
    try:
        sns.stripplot(data=a, x="time", y="who", order=order, size=2, alpha=0.35, color="#4c72b0", ax=ax, jitter=0.25)
    finally:
        np.random.set_state(state)
    ax.set_xscale("log")
    ax.axvline(_in_unit(sla, unit), color="#b00020", ls="--", lw=1.2, label=t("leads.plot.sla_line", lang, sla=fmt_.number(sla, lang)))
    f = r.response_time_flags_
    slow = {names.get(m, m) for m in f.loc[f["verdict"] == "worse", "manager"]} if f is not None else set()
    for label in ax.get_yticklabels():
        if label.get_text() in slow:
            label.set_color("#b00020")
    ax.set_xlabel(t("leads.plot.working_time", lang, unit=unit_word(unit, lang)))
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


def _summary(p: Page, r, lang: str) -> None:
    """The rule a manager is judged by, then what it found: how big each flagged difference is."""
    p.add(Heading(t("leads.flags", lang)),
          Text(t("leads.flags_note", lang, min_effect=fmt_.number(100 * r.min_effect, lang, 2, trim=True), min_ratio=fmt_.number(r.min_ratio, lang, 2, trim=True),
                 min_minutes=duration(60 * r.min_difference_minutes, lang, "min", 0), min_n=fmt_.integer(r.min_n, lang))),
          *findings(r, lang))


def _response(p: Page, r, lang: str) -> None:
    sla, names, team = fmt_.number(r.sla_minutes, lang), r.manager_names, r.team_.iloc[0]
    n = len(r.response_times_)
    unit = time_unit([team["median"]])
    d = decimals_apart([_in_unit(team[c], unit) for c in ("median", "p80", "p90")], 0, 2)
    p.add(Heading(t("leads.response", lang)),
          Text(t("leads.arrivals_text", lang, n=n, out_of_hours=r.out_of_hours, share=fmt_.percent(r.out_of_hours / n, lang, 0))),
          Text(t("leads.team_text", lang, median=_time(team["median"], lang, unit, d), p80=_time(team["p80"], lang, unit, d),
                 p90=_time(team["p90"], lang, unit, d), unit=unit_word(unit, lang), sla=sla, share=fmt_.percent(team["share_within_sla"], lang, 0),
                 lo=fmt_.percent(team["ci_low"], lang, 0), hi=fmt_.percent(team["ci_high"], lang, 0), unanswered=int(team["unanswered"]))),
          Figure(plot_response_by_manager(r, lang)),
          Heading(t("leads.table.response_time", lang), 3),
          Table(response_time_table(r.response_time_flags_, lang, names, r.min_n), max_rows=200),
          Heading(t("leads.table.sla", lang), 3),
          Table(comparison_table(r.response_flags_, "sla", lang, names, r.min_n), max_rows=200),
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
          Heading(t("leads.table.overnight", lang), 3),
          Table(comparison_table(r.overnight_flags_, "overnight", lang, r.manager_names, r.min_n), max_rows=200))
    if r.overnight_days_ is not None:
        p.add(Heading(t("leads.overnight_days", lang, period=r.period), 3))
        if len(r.overnight_days_):
            p.add(Table(report_table(r.overnight_days_, lang, r.manager_names, ["due_day", "manager", "leads", "left_overnight"])))
        else:
            p.add(Text(t("leads.overnight_none_in_period", lang, period=r.period)))


def _disqualification(p: Page, r, lang: str) -> None:
    p.add(Heading(t("leads.disq", lang)))
    if not r.has_disqualification:
        p.add(Text(t("leads.no_disq", lang)))
        return
    team, names = r.disqualification_team_.iloc[0], r.manager_names
    reasons = r.disqualification_reasons_.rename(columns={NO_REASON: t("leads.no_reason", lang)})
    p.add(Text(t("leads.disq_text", lang, n=int(team["advanced"]), decided=int(team["finished"]),
                 rate=fmt_.percent(team["rate"], lang, 0), lo=fmt_.percent(team["ci_low"], lang, 0), hi=fmt_.percent(team["ci_high"], lang, 0))),
          Heading(t("leads.table.disqualified", lang), 3),
          Table(comparison_table(r.disqualification_flags_, "disqualified", lang, names, r.min_n), max_rows=200),
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
    """Notebook 03's page: managers against the rest of the team (the rule and what it found), response time and the SLA,
    leads left overnight, disqualification; each with its per-manager comparison table, flagged first."""
    p = Page(lang=lang)
    p.add(Heading(t("leads.title", lang, client=r.client), 1))
    if not r.has_leads:
        return p.add(Text(t("leads.no_leads", lang)))
    if not r.response_times_known:
        p.add(Text(t("leads.no_response_times", lang)))
    else:
        p.add(Text(t("leads.intro", lang, calendar=f"{r.calendar_start}–{r.calendar_end}, {r.timezone}", sla=fmt_.number(r.sla_minutes, lang),
                     as_of=_as_of(r.as_of, lang), n=r.leads_total)))
    if r.response_times_known or r.has_disqualification:
        _summary(p, r, lang)
    if r.response_times_known:
        _response(p, r, lang)
        _overnight(p, r, lang)
    _disqualification(p, r, lang)
    return p
