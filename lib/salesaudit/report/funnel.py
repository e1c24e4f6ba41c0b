"""The funnel page (notebook 01) in one language, made from a :class:`~salesaudit.analysis.funnel.FunnelResult`.

Headers, stage and step names, flags and texts come from the message catalogue and the funnel's
labels; numbers are formatted by :mod:`salesaudit.report.format`; the numbers are the result's own.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import binomial_limits
from . import format as fmt_
from .format import date as fmt_date  # noqa: F401
from .format import datetime_ as fmt_datetime
from .i18n import t
from .page import Figure, Heading, Page, Table, Text
from .show import ci_text as _pct_ci
from .show import p_text as _p_text

__all__ = [
    "page",
    "step_label",
    "team_table",
    "period_table",
    "lead_table",
    "lead_managers_table",
    "flags_table",
    "not_judgeable",
    "cohort_table",
    "channel_table",
    "plot_funnel",
    "plot_heatmap",
    "plot_funnel_plots",
    "plot_cohorts",
]

#: the lead -> deal step's code in the result's tables (``analysis.funnel.LEAD_STEP``)
_LEAD_STEP = "lead>deal"


def step_label(step: tuple[str, str] | str, funnel, lang: str) -> str:
    """A step's name in ``lang``: ``Stage A → Stage B``, or the lead → deal step's.

    >>> from salesaudit.data.params import load_funnel
    >>> from salesaudit.data.presets import REPO_ROOT
    >>> f = load_funnel(REPO_ROOT / "params/funnels/demo_b2b.yaml")
    >>> step_label(("invoice", "won"), f, "en") == f.label("invoice", "en") + " → " + f.label("won", "en")
    True
    >>> step_label("lead>deal", f, "en") == t("funnel.step.lead_deal", "en")
    True
    """
    if step == _LEAD_STEP or step == ("lead", "deal"):
        return t("funnel.step.lead_deal", lang)
    a, b = step
    return f"{funnel.label(a, lang)} → {funnel.label(b, lang)}"


def _as_of(moment, lang: str) -> str:
    """The audit moment in the page's language (:func:`salesaudit.report.format.datetime_`)."""
    return fmt_datetime(moment, lang)


# ---------------------------------------------------------------------------
# tables in the page's language


def team_table(r, lang: str) -> pd.DataFrame:
    """The team's step conversion."""
    team = r.team_
    return pd.DataFrame(
        {
            t("funnel.col.step", lang): [step_label((a, b), r.funnel, lang) for a, b in zip(team["from_stage"], team["to_stage"])],
            t("funnel.col.entered", lang): team["entered"].to_numpy(),
            t("funnel.col.pending", lang): team["pending"].to_numpy(),
            t("funnel.col.finished", lang): team["finished"].to_numpy(),
            t("funnel.col.advanced", lang): team["advanced"].to_numpy(),
            t("funnel.col.rate", lang): team["rate"].round(3).to_numpy(),
            t("funnel.col.ci", lang): _pct_ci(team["ci_low"], team["ci_high"], lang),
            t("funnel.col.naive", lang): team["naive_rate"].round(3).to_numpy(),
        }
    )


def period_table(r, lang: str) -> pd.DataFrame:
    """Deals that entered each stage in the period, and the flow between neighbouring stages."""
    flow = r.period_flow_
    return pd.DataFrame(
        {
            t("funnel.col.stage", lang): [r.funnel.label(k, lang) for k in flow["stage"]],
            t("funnel.col.entered", lang): flow["entered"].to_numpy(),
            t("funnel.col.flow", lang): flow["flow_ratio"].round(3).to_numpy(),
        }
    )


def _lead_frame(lt: pd.DataFrame, lang: str, by: str | None = None, names: dict | None = None) -> pd.DataFrame:
    out = {}
    if by:
        out[t(f"funnel.col.{by}", lang)] = [names.get(x, x) if names else x for x in lt[by]]
    out.update(
        {
            t("funnel.col.entered", lang): lt["entered"].to_numpy(),
            t("funnel.col.pending", lang): lt["pending"].to_numpy(),
            t("funnel.col.advanced", lang): lt["advanced"].to_numpy(),
            t("funnel.col.rate", lang): lt["rate"].round(3).to_numpy(),
            t("funnel.col.ci", lang): _pct_ci(lt["ci_low"], lt["ci_high"], lang),
        }
    )
    if "flag" in lt:
        out[t("funnel.col.flag", lang)] = [t(f"funnel.flag.{f}", lang) for f in lt["flag"]]
    return pd.DataFrame(out)


def lead_table(r, lang: str) -> pd.DataFrame:
    """Lead → deal conversion of the team."""
    return _lead_frame(r.lead_team_, lang)


def lead_managers_table(r, lang: str) -> pd.DataFrame:
    """Lead → deal conversion per manager, with the flag against the team."""
    return _lead_frame(r.lead_flags_, lang, by="manager", names=r.manager_names)


def _flags_frame(r, flags: pd.DataFrame, lang: str) -> pd.DataFrame:
    names = r.manager_names
    f = flags[flags["flag"].isin(["below", "above"])]
    if "from_stage" in f.columns:
        steps_ = [step_label((a, b), r.funnel, lang) for a, b in zip(f["from_stage"], f["to_stage"])]
    else:
        steps_ = [t("funnel.step.lead_deal", lang)] * len(f)
    return pd.DataFrame(
        {
            t("funnel.col.manager", lang): [names.get(m, m) for m in f["manager"]],
            t("funnel.col.step", lang): steps_,
            t("funnel.col.finished", lang): f["finished"].to_numpy(),
            t("funnel.col.rate", lang): f["rate"].round(3).to_numpy(),
            t("funnel.col.ci", lang): _pct_ci(f["ci_low"], f["ci_high"], lang),
            t("funnel.col.team_rate", lang): f["team_rate"].round(3).to_numpy(),
            t("funnel.col.p_adj", lang): [_p_text(p, lang) for p in f["p_adjusted"]],
            t("funnel.col.flag", lang): [t(f"funnel.flag.{x}", lang) for x in f["flag"]],
        }
    )


def flags_table(r, lang: str) -> pd.DataFrame:
    """Managers that differ from the team, worst on top: lead → deal first (when judged), then the deal steps."""
    deals = _flags_frame(r, r.flags_, lang)
    if r.lead_flags_ is None:
        return deals
    return pd.concat([_flags_frame(r, r.lead_flags_, lang), deals], ignore_index=True)


def not_judgeable(r, lang: str) -> str:
    """'Name (step: finished deals), …' for every manager × step with too few finished deals to judge."""
    names = r.manager_names
    f = r.flags_[~r.flags_["judgeable"]]
    return ", ".join(f"{names.get(m, m)} ({step_label((a, b), r.funnel, lang)}: {n})" for m, a, b, n in zip(f["manager"], f["from_stage"], f["to_stage"], f["finished"]))


def cohort_table(r, lang: str) -> pd.DataFrame:
    """Cohorts by creation month: naive won / created beside the share won within each horizon."""
    cohorts = r.cohorts_
    ren = {
        "cohort": t("funnel.col.cohort", lang),
        "deals": t("funnel.col.deals", lang),
        "won": t("funnel.col.won", lang),
        "lost": t("funnel.col.lost", lang),
        "open": t("funnel.col.open", lang),
        "naive_win_rate": t("funnel.col.naive_win", lang),
        "closed_win_rate": t("funnel.col.closed_win", lang),
        "days_observed": t("funnel.col.days_observed", lang),
    }
    for c in cohorts.columns:
        if c.startswith("won_by_"):
            ren[c] = t("funnel.col.won_by", lang, h=c[len("won_by_") : -1])
    return cohorts.rename(columns=ren).round(3)


def channel_table(r, lang: str) -> pd.DataFrame:
    """Conversion by lead source, the worst first."""
    ch = r.channels_
    out = pd.DataFrame({t("funnel.col.channel", lang): ch["channel"].to_numpy()})
    if "leads" in ch:
        out[t("funnel.col.leads", lang)] = ch["leads"].to_numpy()
        out[t("funnel.col.lead_to_deal", lang)] = ch["lead_to_deal"].round(3).to_numpy()
    out[t("funnel.col.deals", lang)] = ch["deals"].to_numpy()
    out[t("funnel.col.won", lang)] = ch["won"].to_numpy()
    out[t("funnel.col.closed_win", lang)] = ch["closed_win_rate"].round(3).to_numpy()
    out[t("funnel.col.ci", lang)] = _pct_ci(ch["ci_low"], ch["ci_high"], lang)
    out[t("funnel.col.won_by", lang, h=90)] = ch["won_by_90d"].round(3).to_numpy()
    out[t("funnel.col.revenue_won", lang)] = ch["revenue_won"].round(0).to_numpy()
    return out


# ---------------------------------------------------------------------------
# plots


def _plt():
    from .show import plotting

    return plotting()


def plot_funnel(r, lang: str):
    """The funnel chart: deals reaching each stage, with the censoring-aware step conversion beside each bar."""
    plt, sns = _plt()
    sr, conv = r.reach_, r.team_
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(sr) + 1.2))
    labels = [r.funnel.label(k, lang) for k in sr["stage"]]
    y = np.arange(len(sr))[::-1]
    widths = sr["deals"].to_numpy()
    ax.barh(y, widths, left=(widths.max() - widths) / 2, color=sns.color_palette("Blues_r", len(sr)))
    ax.set_yticks(y, labels)
    for yi, w in zip(y, widths):
        ax.text(widths.max() / 2, yi, fmt_.integer(w, lang), ha="center", va="center", color="black", fontsize=9)
    for i, row in conv.iterrows():
        ax.text(widths.max() * 1.02, y[i] - 0.5, f"↓ {fmt_.percent(row['rate'], lang, 0)} [{fmt_.percent(row['ci_low'], lang, 0)}–{fmt_.percent(row['ci_high'], lang, 0)}]",
                va="center", fontsize=8)
    ax.set_xlim(0, widths.max() * 1.3)
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title(t("funnel.plot.funnel", lang))
    fig.tight_layout()
    return fig


def plot_heatmap(r, lang: str):
    """Manager × step conversion, annotated; flagged cells outlined (red below, green above)."""
    plt, sns = _plt()
    names = r.manager_names
    f = r.flags_.copy()
    f["step_label"] = [step_label((a, b), r.funnel, lang) for a, b in zip(f["from_stage"], f["to_stage"])]
    order = [step_label(s, r.funnel, lang) for s in r.steps]
    mat = f.pivot(index="manager", columns="step_label", values="rate").reindex(columns=order)
    flag = f.pivot(index="manager", columns="step_label", values="flag").reindex(columns=order)
    if names:
        mat.index = [names.get(m, m) for m in mat.index]
        flag.index = mat.index
    fig, ax = plt.subplots(figsize=(1.6 * len(order) + 3, 0.45 * len(mat) + 1.5))
    sns.heatmap(mat, annot=mat.map(lambda v: "" if pd.isna(v) else fmt_.percent(v, lang, 0)).to_numpy(), fmt="", cmap="RdYlGn", vmin=0, vmax=1, cbar=False, ax=ax, linewidths=0.5)
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            fl = flag.iat[i, j]
            if fl in ("below", "above"):
                ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, edgecolor="#b00020" if fl == "below" else "#006400", lw=3))
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(t("funnel.plot.heatmap", lang))
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    return fig


def plot_funnel_plots(r, lang: str):
    """One funnel plot per step: each manager's rate against volume, with 95% and 99.8% limits around the team rate."""
    plt, _ = _plt()
    names = r.manager_names
    flags = r.flags_
    all_steps = list(r.steps)
    st = list(dict.fromkeys(zip(flags["from_stage"], flags["to_stage"])))
    st = [s for s in all_steps if s in st] + [s for s in st if s not in all_steps]
    cols = min(3, len(st))
    rows = int(np.ceil(len(st) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    for ax, step in zip(axes.flat, st):
        f = flags[(flags["from_stage"] == step[0]) & (flags["to_stage"] == step[1])]
        p0 = float(f["team_rate"].iloc[0])
        nmax = max(20.0, float(f["finished"].max()) * 1.1)
        grid = np.linspace(5, nmax, 200)
        for a, style in ((0.05, "--"), (0.002, ":")):
            lo, hi = binomial_limits(np.full_like(grid, p0), grid, a)
            ax.plot(grid, lo, style, color="grey", lw=1)
            ax.plot(grid, hi, style, color="grey", lw=1)
        ax.axhline(p0, color="black", lw=1)
        colors = f["flag"].map({"below": "#b00020", "above": "#006400", "": "#4c72b0", "not_judgeable": "#bbbbbb"})
        ax.scatter(f["finished"], f["rate"], c=colors, zorder=3)
        for _, row in f.iterrows():
            if row["flag"] in ("below", "above"):
                ax.annotate(names.get(row["manager"], row["manager"]) if names else row["manager"], (row["finished"], row["rate"]), fontsize=8, xytext=(4, 4), textcoords="offset points")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(step_label(step, r.funnel, lang), fontsize=10)
        ax.set_xlabel(t("funnel.plot.volume", lang))
    for ax in list(axes.flat)[len(st):]:
        ax.set_axis_off()
    fig.suptitle(t("funnel.plot.funnel_plots", lang))
    fig.tight_layout()
    return fig


def plot_cohorts(r, lang: str):
    """Cumulative incidence of a win by days since creation, one curve per cohort (open deals censored)."""
    plt, sns = _plt()
    curves = r.cohort_curves_
    fig, ax = plt.subplots(figsize=(9, 4))
    palette = sns.color_palette("viridis", curves["cohort"].nunique())
    for color, (c, g) in zip(palette, curves.groupby("cohort", sort=True)):
        ax.step(g["time"], g["won"], where="post", color=color, label=c)
        ax.fill_between(g["time"], g["won_low"], g["won_high"], step="post", color=color, alpha=0.12)
    ax.set_xlabel(t("funnel.plot.days_since_created", lang))
    ax.set_ylabel(t("funnel.plot.share_won", lang))
    ax.set_ylim(0, None)
    ax.legend(title=t("funnel.col.cohort", lang), fontsize="small", ncol=2)
    ax.set_title(t("funnel.plot.cohorts", lang))
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# the page


def page(r, lang: str) -> Page:
    """Notebook 01's page: the team funnel, the period's flow, leads, managers against the team, cohorts, channels."""
    p = Page(lang=lang)
    p.add(Heading(t("funnel.title", lang, client=r.client), 1), Text(t("funnel.intro", lang, as_of=_as_of(r.as_of, lang))))
    if not r.has_history:
        p.add(Text(t("funnel.no_history", lang)))

    p.add(Heading(t("funnel.team", lang)), Figure(plot_funnel(r, lang)), Table(team_table(r, lang)))

    if r.period_flow_ is not None:
        p.add(Heading(t("funnel.period", lang, period=r.period)), Text(t("funnel.period_note", lang)), Table(period_table(r, lang)))

    if r.lead_team_ is not None:
        p.add(Heading(t("funnel.leads", lang)), Table(lead_table(r, lang)))
        if r.lead_managers_known:
            p.add(Table(lead_managers_table(r, lang)))
        else:
            p.add(Text(t("funnel.lead_manager_unknown", lang)))

    p.add(Heading(t("funnel.managers", lang)),
          Text(t("funnel.managers_note", lang, tests=int(r.flags_["judgeable"].sum()), min_n=r.min_n)),
          Figure(plot_heatmap(r, lang)),
          Figure(plot_funnel_plots(r, lang)))

    p.add(Heading(t("funnel.flagged", lang), 3))
    flagged = flags_table(r, lang)
    p.add(Table(flagged) if len(flagged) else Text(t("funnel.no_flags", lang)))
    small = not_judgeable(r, lang)
    if small:
        p.add(Text(t("funnel.not_judgeable", lang, who=small)))

    p.add(Heading(t("funnel.cohorts", lang)), Text(t("funnel.cohorts_note", lang)), Table(cohort_table(r, lang)), Figure(plot_cohorts(r, lang)))
    p.add(Heading(t("funnel.channels", lang)), Table(channel_table(r, lang)))
    return p
