"""The funnel page (notebook 01) in one language, made from a :class:`~salesaudit.analysis.funnel.FunnelResult`.

Headers, stage and step names, flags and texts come from the message catalogue and the funnel's
labels; numbers are formatted by :mod:`salesaudit.report.format`; the numbers are the result's own.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import binomial_limits
from . import format as fmt_
from . import losses as losses_report
from .format import date as fmt_date  # noqa: F401
from .format import datetime_ as fmt_datetime
from .i18n import t
from .page import Figure, Heading, Page, Table, Text
from .show import p_text as _p_text

__all__ = [
    "page",
    "step_label",
    "team_table",
    "period_table",
    "lead_table",
    "lead_managers_table",
    "flags_table",
    "findings",
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
# numbers in the page's language

#: verdicts flagged on the page (red below the team, green above)
_FLAGGED = ("worse", "better")
_COLOURS = {"worse": "#b00020", "better": "#006400", "small": "#e09000", "same": "#4c72b0", "not_judged": "#bbbbbb"}


def _digits(lo, hi, scale: float = 1.0, most: int = 3) -> int:
    """The fewest decimals (0 … ``most``) at which every interval's two bounds, times ``scale``, print differently.

    >>> _digits([0.981, 0.5], [0.984, 0.7], 100)
    1
    """
    pairs = [(a * scale, b * scale) for a, b in zip(lo, hi) if not (pd.isna(a) or pd.isna(b)) and b > a]
    return fmt_.digits_apart(pairs, 0, most)


def _pct(values, lang: str, digits: int = 1) -> list[str]:
    """Shares as percentages (``63.2%``)."""
    return [fmt_.percent(v, lang, digits) for v in values]


def _ci(lo, hi, lang: str) -> list[str]:
    """Wilson intervals as ``61%–66%``, with as many decimals as it takes for the bounds to differ."""
    d = _digits(lo, hi, 100, 2)
    return [fmt_.DASH if pd.isna(a) else f"{fmt_.percent(a, lang, d)}–{fmt_.percent(b, lang, d)}" for a, b in zip(lo, hi)]


def _pp(values, lang: str, digits: int, sign: bool = False) -> list[str]:
    """Differences of shares in percentage points (0.182 -> ``18.2``)."""
    return [fmt_.DASH if pd.isna(v) else fmt_.number(v * 100, lang, digits, sign=sign) for v in values]


def _group(code: str, lang: str) -> str:
    """An owner group's name (:mod:`salesaudit.analysis.baseline`): the team, no manager, system, head of sales."""
    return t(f"funnel.group.{code}", lang)


def _verdict(code: str, lang: str) -> str:
    return t(f"funnel.flag.{code}", lang)


# ---------------------------------------------------------------------------
# tables in the page's language


def _step_names(frame: pd.DataFrame, r, lang: str) -> list[str]:
    if "from_stage" in frame.columns:
        return [step_label((a, b), r.funnel, lang) for a, b in zip(frame["from_stage"], frame["to_stage"])]
    return [t("funnel.step.lead_deal", lang)] * len(frame)


def team_table(r, lang: str) -> pd.DataFrame:
    """The team's step conversion, then the same for each owner group outside the team (rows of their own)."""
    parts = [r.team_.assign(owner_group="manager")]
    if r.groups_ is not None and len(r.groups_):
        parts.append(r.groups_)
    rows = pd.concat(parts, ignore_index=True)
    out = pd.DataFrame(
        {
            t("funnel.col.who", lang): [_group(g, lang) for g in rows["owner_group"]],
            t("funnel.col.step", lang): _step_names(rows, r, lang),
            t("funnel.col.entered", lang): rows["entered"].to_numpy(),
        }
    )
    if (rows["skipped"] > 0).any():
        out[t("funnel.col.skipped", lang)] = rows["skipped"].to_numpy()
    out[t("funnel.col.pending", lang)] = rows["pending"].to_numpy()
    out[t("funnel.col.finished", lang)] = rows["finished"].to_numpy()
    out[t("funnel.col.advanced", lang)] = rows["advanced"].to_numpy()
    out[t("funnel.col.rate", lang)] = _pct(rows["rate"], lang)
    out[t("funnel.col.ci", lang)] = _ci(rows["ci_low"], rows["ci_high"], lang)
    out[t("funnel.col.naive", lang)] = _pct(rows["naive_rate"], lang)
    return out


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


def lead_table(r, lang: str) -> pd.DataFrame:
    """Lead → deal conversion of the team, then of each owner group outside it."""
    parts = [r.lead_team_.assign(owner_group="manager")]
    if r.lead_groups_ is not None and len(r.lead_groups_):
        parts.append(r.lead_groups_)
    rows = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(
        {
            t("funnel.col.who", lang): [_group(g, lang) for g in rows["owner_group"]],
            t("funnel.col.entered", lang): rows["entered"].to_numpy(),
            t("funnel.col.pending", lang): rows["pending"].to_numpy(),
            t("funnel.col.advanced", lang): rows["advanced"].to_numpy(),
            t("funnel.col.rate", lang): _pct(rows["rate"], lang),
            t("funnel.col.ci", lang): _ci(rows["ci_low"], rows["ci_high"], lang),
        }
    )


def _comparison(r, flags: pd.DataFrame, groups: pd.DataFrame | None, lang: str) -> pd.DataFrame:
    """Managers against the rest of the team (flagged first, as the result sorts them), then the groups outside the team."""
    names = r.manager_names
    rows = [flags]
    if groups is not None and len(groups):
        rows.append(groups.assign(flag="excluded"))
    f = pd.concat(rows, ignore_index=True)
    d = _digits(f["diff_low"], f["diff_high"], 100, 3)
    group = f["owner_group"] if "owner_group" in f else pd.Series([None] * len(f))
    who = [_group(g, lang) if isinstance(g, str) else names.get(m, m) for m, g in zip(f["manager"] if "manager" in f else group, group)]
    low, high = _pp(f["diff_low"], lang, d, sign=True), _pp(f["diff_high"], lang, d, sign=True)
    return pd.DataFrame(
        {
            t("funnel.col.manager", lang): who,
            t("funnel.col.step", lang): _step_names(f, r, lang),
            t("funnel.col.finished", lang): f["finished"].astype(int).to_numpy(),
            t("funnel.col.rate", lang): _pct(f["rate"], lang),
            t("funnel.col.rest_rate", lang): _pct(f["team_rate"], lang),
            t("funnel.col.difference", lang): _pp(f["difference"], lang, d, sign=True),
            t("funnel.col.diff_ci", lang): [fmt_.DASH if a == fmt_.DASH else f"{a} … {b}" for a, b in zip(low, high)],
            t("funnel.col.p_adj", lang): [_p_text(p, lang) for p in f["p_adjusted"]],
            t("funnel.col.flag", lang): [_verdict(x, lang) for x in f["flag"]],
        }
    )


def flags_table(r, lang: str) -> pd.DataFrame:
    """Every manager × step against the rest of the team, flagged first, not judged last; then the groups outside the team."""
    return _comparison(r, r.flags_, r.groups_, lang)


def lead_managers_table(r, lang: str) -> pd.DataFrame:
    """Lead → deal conversion per manager against the rest of the team; then the groups outside the team."""
    return _comparison(r, r.lead_flags_, r.lead_groups_, lang)


def findings(r, lang: str) -> list[str]:
    """One sentence per flagged manager × step, how big: 'Name: 18 p.p. below the team at Proposal → Invoice (interval 9–27 p.p.).'

    Lead → deal first (when judged), then the deal steps, in the result's order.
    """
    out = []
    names = r.manager_names
    for flags in ([r.lead_flags_] if r.lead_flags_ is not None else []) + [r.flags_]:
        f = flags[flags["flag"].isin(_FLAGGED)]
        if not len(f):
            continue
        d = max(0, _digits(f["diff_low"], f["diff_high"], 100, 3))
        for row, step in zip(f.itertuples(), _step_names(f, r, lang)):
            size = abs(row.difference)
            # the interval's bounds as distances from the team, nearest first
            a, b = sorted((-row.diff_high, -row.diff_low) if row.flag == "worse" else (row.diff_low, row.diff_high))
            out.append(t(f"funnel.finding.{row.flag}", lang, name=names.get(row.manager, row.manager), diff=fmt_.number(size * 100, lang, d),
                         step=step, lo=fmt_.number(a * 100, lang, d), hi=fmt_.number(b * 100, lang, d)))
    return out


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
    out[t("funnel.col.ci", lang)] = _ci(ch["ci_low"], ch["ci_high"], lang)
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
    d = _digits(conv["ci_low"], conv["ci_high"], 100, 2)
    for i, row in conv.iterrows():
        ax.text(widths.max() * 1.02, y[i] - 0.5, f"↓ {fmt_.percent(row['rate'], lang, d)} [{fmt_.percent(row['ci_low'], lang, d)}–{fmt_.percent(row['ci_high'], lang, d)}]",
                va="center", fontsize=8)
    ax.set_xlim(0, widths.max() * 1.3)
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title(t("funnel.plot.funnel", lang))
    fig.tight_layout()
    return fig


def _manager_order(flags: pd.DataFrame) -> list:
    """Managers with a flag first (worst verdict first), then the rest in the result's order."""
    rank = {v: i for i, v in enumerate(("worse", "better", "small", "same", "not_judged"))}
    best = flags.assign(_r=flags["flag"].map(rank)).groupby("manager", sort=False)["_r"].min()
    return list(best.sort_values(kind="stable").index)


def plot_heatmap(r, lang: str):
    """Manager × step conversion, annotated; flagged managers on top, flagged cells outlined (red below, green above the team)."""
    plt, sns = _plt()
    names = r.manager_names
    f = r.flags_.copy()
    f["step_label"] = [step_label((a, b), r.funnel, lang) for a, b in zip(f["from_stage"], f["to_stage"])]
    order = [step_label(s, r.funnel, lang) for s in r.steps]
    managers = _manager_order(f)
    mat = f.pivot(index="manager", columns="step_label", values="rate").reindex(index=managers, columns=order)
    flag = f.pivot(index="manager", columns="step_label", values="flag").reindex(index=managers, columns=order)
    mat.index = [names.get(m, m) for m in mat.index]
    flag.index = mat.index
    fig, ax = plt.subplots(figsize=(1.6 * len(order) + 3, 0.45 * len(mat) + 1.5))
    sns.heatmap(mat, annot=mat.map(lambda v: "" if pd.isna(v) else fmt_.percent(v, lang, 0)).to_numpy(), fmt="", cmap="RdYlGn", vmin=0, vmax=1, cbar=False, ax=ax, linewidths=0.5)
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            fl = flag.iat[i, j]
            if fl in _FLAGGED:
                ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, edgecolor=_COLOURS[fl], lw=3))
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(t("funnel.plot.heatmap_flagged", lang), wrap=True)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    return fig


def plot_funnel_plots(r, lang: str):
    """One funnel plot per step: each manager's rate against volume, with 95% and 99.8% limits around the team rate; only flagged managers are named."""
    plt, _ = _plt()
    names = r.manager_names
    flags = r.flags_
    all_steps = list(r.steps)
    st = list(dict.fromkeys(zip(flags["from_stage"], flags["to_stage"])))
    st = [s for s in all_steps if s in st] + [s for s in st if s not in all_steps]
    cols = min(3, max(1, len(st)))
    rows = max(1, int(np.ceil(len(st) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    team = r.team_.set_index(["from_stage", "to_stage"])["rate"]
    for ax, step in zip(axes.flat, st):
        f = flags[(flags["from_stage"] == step[0]) & (flags["to_stage"] == step[1])]
        p0 = float(team.get(step, np.nan))
        nmax = max(20.0, float(f["finished"].max()) * 1.1)
        grid = np.linspace(5, nmax, 200)
        if np.isfinite(p0):
            for a, style in ((0.05, "--"), (0.002, ":")):
                lo, hi = binomial_limits(np.full_like(grid, p0), grid, a)
                ax.plot(grid, lo, style, color="grey", lw=1)
                ax.plot(grid, hi, style, color="grey", lw=1)
            ax.axhline(p0, color="black", lw=1)
        ax.scatter(f["finished"], f["rate"], c=f["flag"].map(_COLOURS).fillna("#bbbbbb"), zorder=3)
        for _, row in f[f["flag"].isin(_FLAGGED)].iterrows():
            ax.annotate(names.get(row["manager"], row["manager"]), (row["finished"], row["rate"]), fontsize=8, xytext=(4, 4), textcoords="offset points")
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
    elif r.deals_without_history:
        p.add(Text(t("funnel.reach_rule", lang, n=fmt_.integer(r.deals_without_history, lang), total=fmt_.integer(r.deals, lang))))

    team = Table(team_table(r, lang), max_rows=len(r.team_) + (0 if r.groups_ is None else len(r.groups_)))
    p.add(Heading(t("funnel.team", lang)), Figure(plot_funnel(r, lang)))
    if r.deals > r.team_deals:
        p.add(Text(t("funnel.team_note", lang, deals=fmt_.integer(r.team_deals, lang), other=fmt_.integer(r.deals - r.team_deals, lang))))
    p.add(team)
    if (r.team_["skipped"] > 0).any() or (r.groups_ is not None and (r.groups_["skipped"] > 0).any()):
        p.add(Text(t("funnel.skips_note", lang)))

    if r.period_flow_ is not None:
        p.add(Heading(t("funnel.period", lang, period=r.period)), Text(t("funnel.period_note", lang)), Table(period_table(r, lang)))

    if r.lead_team_ is not None:
        p.add(Heading(t("funnel.leads", lang)), Table(lead_table(r, lang)))
        if r.lead_managers_known:
            leads = lead_managers_table(r, lang)
            p.add(Table(leads, max_rows=len(leads)))
        else:
            p.add(Text(t("funnel.lead_manager_unknown", lang)))

    p.add(Heading(t("funnel.managers", lang)),
          Text(t("funnel.managers_rule", lang, tests=fmt_.integer(int(r.flags_["judgeable"].sum()), lang), alpha=fmt_.percent(r.alpha, lang, 1, trim=True),
                 min_effect=fmt_.number(r.min_effect * 100, lang, 1, trim=True), min_n=fmt_.integer(r.min_n, lang))),
          Figure(plot_heatmap(r, lang)),
          Figure(plot_funnel_plots(r, lang)))

    p.add(Heading(t("funnel.flagged", lang), 3))
    found = findings(r, lang)
    p.add(*[Text(x) for x in found] if found else [Text(t("funnel.no_findings", lang, min_effect=fmt_.number(r.min_effect * 100, lang, 1, trim=True)))])
    table = flags_table(r, lang)
    p.add(Table(table, max_rows=len(table)))

    if r.losses is not None:
        p.add(*losses_report.blocks(r.losses, lang))
    p.add(Heading(t("funnel.cohorts", lang)), Text(t("funnel.cohorts_note", lang)), Table(cohort_table(r, lang)), Figure(plot_cohorts(r, lang)))
    p.add(Heading(t("funnel.channels", lang)), Table(channel_table(r, lang)))
    return p
