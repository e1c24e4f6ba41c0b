"""The stage-stall page (notebook 02) in one language, made from a :class:`~salesaudit.analysis.stalls.StallsResult`.

Stage and manager names, flags, yes/no and column headers come from the message catalogue and the
funnel; numbers are the result's own, formatted by :mod:`salesaudit.report.format`. The display
helpers of the analysis (``report_table``, ``describe_*``, ``plot_*``, ``money``) live here; the
names stay importable from :mod:`salesaudit.analysis.stalls` for older callers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import stalls as _an
from . import format as fmt_
from .format import date as fmt_date  # noqa: F401
from .format import datetime_ as fmt_datetime
from .i18n import has as _has_label
from .i18n import t
from .page import Figure, Heading, Page, Table, Text

__all__ = [
    "page",
    "report_table",
    "money",
    "stage_names",
    "describe_stalled",
    "describe_skippers",
    "describe_not_judgeable",
    "plot_km",
    "plot_km_curves",
    "plot_manager_heatmap",
    "plot_money_at_risk",
]

#: the columns of the stage tables (team, calendar and business days)
STAGE_COLUMNS = ["stage", "stays", "open", "median", "naive_median_closed", "p80", "p90", "norm", "norm_source",
                 "share_over_norm", "share_over_ci_low", "share_over_ci_high", "naive_share_over_closed", "stalled"]
#: the columns of the manager tables (flagged manager × stage cells)
MANAGER_COLUMNS = ["manager", "stage", "stays", "open", "median", "team_median", "p80", "share_over_norm", "chi2", "p_adjusted", "flag"]
#: the columns of the compliance table per manager
COMPLIANCE_COLUMNS = ["manager", "deals", "eligible", "skips", "skip_rate", "skip_ci_low", "skip_ci_high", "p_adjusted", "flag", "skip_examples",
                      "backward", "backward_rate", "backward_p_adjusted", "backward_flag", "loops", "loop_examples"]

_STAGE_COLUMNS = ("stage", "next_stage", "skipped", "from_stage", "to_stage")
_P_COLUMNS = ("p_value", "p_adjusted", "backward_p_value", "backward_p_adjusted")


# ---------------------------------------------------------------------------
# texts and tables in the page's language


def _fmt_p(p, lang: str) -> str:
    if p is None or pd.isna(p):
        return fmt_.DASH
    return "<" + fmt_.number(1e-4, lang, 4) if p < 1e-4 else fmt_.number(p, lang, 4)


def _as_of(moment, lang: str) -> str:
    """The audit moment in the page's language (:func:`salesaudit.report.format.datetime_`)."""
    return fmt_datetime(moment, lang)


def report_table(df: pd.DataFrame, funnel, lang: str, columns: list[str] | None = None, digits: int | None = None, names: dict | None = None) -> pd.DataFrame:
    """``df`` ready for the report: chosen ``columns``, floats rounded to ``digits``, stage keys
    → stage names, manager keys → ``names`` (``Dataset.manager_names()``), flags and yes/no in
    ``lang``, column names from the ``stalls.col.*`` labels."""
    out = df[list(columns)].copy() if columns is not None else df.copy()
    for c in out.columns:
        if out[c].dtype == bool:
            out[c] = [t("index.yes" if v else "index.no", lang) for v in out[c]]
        elif digits is not None and pd.api.types.is_float_dtype(out[c].dtype):
            out[c] = out[c].round(digits)
        if c in _P_COLUMNS:
            out[c] = [_fmt_p(v, lang) for v in df[c]]
        elif c in _STAGE_COLUMNS:
            out[c] = [funnel.label(s, lang) if isinstance(s, str) and s in funnel.keys else "—" for s in out[c].astype(object)]
        elif c in ("flag", "direction") and df[c].dtype != bool:
            out[c] = [t(f"stalls.flag.{v}", lang) if isinstance(v, str) and v else "" for v in out[c]]
        elif c == "norm_source":
            out[c] = [t(f"stalls.norm_source.{v}", lang) for v in out[c]]
        elif c == "manager":
            out[c] = [t("stalls.no_manager", lang) if m == _an.NO_MANAGER else (names or {}).get(m, m) for m in out[c].astype(object)]
        elif str(out[c].dtype).startswith("datetime64"):
            out[c] = [fmt_.datetime_(v, lang) for v in out[c]]
    names = {c: t(f"stalls.col.{c}", lang) for c in out.columns if _has_label(f"stalls.col.{c}")}
    return out.rename(columns=names)


def money(x, lang: str) -> str:
    """An amount for the report text in whole units, grouped (:func:`salesaudit.report.format.money`
    without a currency symbol: the caller's text names the currency): ``35 722 878`` (ru), ``35,722,878`` (en).

    >>> money(35722878.4, "ru"), money(35722878.4, "en")
    ('35\\xa0722\\xa0878', '35,722,878')
    """
    return fmt_.money(x, lang, currency=None)


def stage_names(stages, funnel, lang: str) -> str:
    """Stage keys → their names in ``lang``, comma-joined (``stalls.none`` when empty)."""
    stages = [str(s) for s in stages]
    return ", ".join(f"«{funnel.label(s, lang)}»" if lang == "ru" else f"“{funnel.label(s, lang)}”" for s in stages) if stages else t("stalls.none", lang)


def describe_stalled(summary: pd.DataFrame, funnel, lang: str) -> list[str]:
    """One sentence fragment per stalled stage of a :func:`~salesaudit.analysis.stalls.stage_summary`, in ``lang``."""
    unit = t(f"stalls.unit.{summary.attrs.get('unit', 'days')}", lang)
    out = []
    for r in summary[summary["stalled"]].itertuples():
        out.append(
            t(
                "stalls.stalled_item",
                lang,
                stage=funnel.label(r.stage, lang),
                median=fmt_.number(r.median, lang, 1),
                norm=fmt_.number(r.norm, lang, 2, trim=True),
                unit=unit,
                share=fmt_.percent(r.share_over_norm, lang, 0),
                lo=fmt_.percent(r.share_over_ci_low, lang, 0),
                hi=fmt_.percent(r.share_over_ci_high, lang, 0),
                naive=fmt_.percent(r.naive_share_over_closed, lang, 0),
            )
        )
    return out


def describe_skippers(per_manager: pd.DataFrame, lang: str, names: dict | None = None) -> list[str]:
    """One fragment per manager flagged for skipping mandatory stages (:func:`~salesaudit.analysis.stalls.compliance`)."""
    f = per_manager[per_manager["flag"]]
    return [
        t("stalls.skipper_item", lang, manager=(names or {}).get(r.manager, r.manager), skips=r.skips, eligible=r.eligible,
          rate=fmt_.percent(r.skip_rate, lang, 0), lo=fmt_.percent(r.skip_ci_low, lang, 0), hi=fmt_.percent(r.skip_ci_high, lang, 0),
          examples=r.skip_examples)
        for r in f.itertuples()
    ]


def describe_not_judgeable(mss: pd.DataFrame, funnel, lang: str, names: dict | None = None) -> str:
    """``manager: stage, stage; …`` for the manager × stage cells with too few stays ('' if none)."""
    nj = mss[~mss["judgeable"].astype(bool)]
    if not len(nj):
        return ""
    order = funnel.order()
    parts = []
    for m, g in nj.groupby("manager", sort=True):
        stages = sorted(g["stage"].astype(str), key=order.get)
        parts.append(f"{(names or {}).get(m, m)}: " + ", ".join(funnel.label(s, lang) for s in stages))
    return "; ".join(parts)


def _describe_faster(mss: pd.DataFrame, funnel, lang: str, names: dict) -> str:
    """``manager (stage), …`` for the cells significantly faster than the team ('' if none)."""
    faster = mss[mss["faster"]]
    return ", ".join(f"{names.get(m, m)} ({funnel.label(s, lang)})" for m, s in zip(faster["manager"], faster["stage"]))


# ---------------------------------------------------------------------------
# plots


def _sns():
    from .show import plotting

    return plotting()[1]


def plot_km(stays: pd.DataFrame, funnel, lang: str, unit: str = "days", alpha: float = 0.05, summary: pd.DataFrame | None = None, norms: dict | None = None):
    """Kaplan–Meier "still in the stage" curves of ``stays``, one panel per measured stage
    (:func:`plot_km_curves` on :func:`~salesaudit.analysis.stalls.km_curves`)."""
    _an._check_unit(unit)
    ss = summary if summary is not None else _an.stage_summary(stays, funnel, unit, alpha=alpha, norms=norms)
    return plot_km_curves(_an.km_curves(stays, funnel, unit, alpha=alpha), ss, funnel, lang, unit)


def plot_km_curves(curves: pd.DataFrame, summary: pd.DataFrame, funnel, lang: str, unit: str = "days"):
    """Kaplan–Meier "still in the stage" curves, one panel per measured stage, with the
    confidence band and the norm as a vertical line; stalled stages are marked in the title.

    ``curves``: :func:`~salesaudit.analysis.stalls.km_curves`; ``summary``: the
    :func:`~salesaudit.analysis.stalls.stage_summary` of the same stays and unit.
    """
    sns = _sns()
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    ss = summary[summary["stays"] > 0].reset_index(drop=True)
    by_stage = {str(s): g for s, g in curves.groupby("stage", sort=False)}
    k = max(len(ss), 1)
    ncols = min(3, k)
    nrows = int(np.ceil(k / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), squeeze=False)
    colors = sns.color_palette("deep", max(len(funnel.open_stages), 1))
    unit_label = t(f"stalls.unit.{unit}", lang)
    for i, row in ss.iterrows():
        ax = axes[i // ncols][i % ncols]
        s = row["stage"]
        km = by_stage.get(str(s), curves.iloc[:0])
        tt = np.concatenate([[0.0], km["time"].to_numpy(dtype="float64")])
        sv = np.concatenate([[1.0], km["survival"].to_numpy(dtype="float64")])
        lo = np.concatenate([[1.0], km["ci_low"].to_numpy(dtype="float64")])
        hi = np.concatenate([[1.0], km["ci_high"].to_numpy(dtype="float64")])
        color = "#c44e52" if row["stalled"] else colors[funnel.open_stages.index(s) % len(colors)]
        ax.fill_between(tt, lo, hi, step="post", alpha=0.25, color=color, linewidth=0)
        ax.step(tt, sv, where="post", color=color, linewidth=1.8)
        norm = row["norm"]
        if np.isfinite(norm):
            ax.axvline(norm, color="black", linestyle="--", linewidth=1)
            ax.text(norm, 0.97, " " + t("stalls.plot.norm", lang, norm=fmt_.number(norm, lang, 1, trim=True)), ha="left", va="top", fontsize=8)
        ax.axhline(0.5, color="grey", linewidth=0.6, linestyle=":")
        right = np.nanmax([row["p90"] * 1.4 if np.isfinite(row["p90"]) else np.nan, norm * 2.5 if np.isfinite(norm) else np.nan, 1.0])
        if not np.isfinite(row["p90"]) and len(km):
            right = max(right, float(km["time"].max()))  # the longest stay: every time is a row of the curve
        ax.set_xlim(0, right)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        title = funnel.label(s, lang)
        if row["stalled"]:
            title += f" — {t('stalls.plot.stalled', lang)}"
        ax.set_title(title, fontsize=10, color="#c44e52" if row["stalled"] else "black")
        ax.set_xlabel(t("stalls.plot.km_x", lang, unit=unit_label), fontsize=9)
        ax.set_ylabel(t("stalls.plot.km_y", lang) if i % ncols == 0 else "", fontsize=9)
    for j in range(len(ss), nrows * ncols):
        axes[j // ncols][j % ncols].set_axis_off()
    fig.suptitle(t("stalls.plot.km", lang), fontsize=12)
    fig.tight_layout()
    return fig
def plot_manager_heatmap(mss: pd.DataFrame, funnel, lang: str, team: pd.DataFrame | None = None):
    """Manager × stage heatmap of the median stay: annotated with the median (▲ flagged slower,
    ▼ flagged faster), coloured by median / norm; the team's row at the bottom when ``team``
    (a :func:`stage_summary`) is given."""
    sns = _sns()
    import matplotlib.pyplot as plt

    unit = mss.attrs.get("unit", "days")
    stages = [s for s in funnel.open_stages if s in set(mss["stage"].astype(str))]
    med = mss.pivot_table(index="manager", columns="stage", values="median", aggfunc="first", observed=True).reindex(columns=stages)
    norm = mss.groupby("stage", observed=True)["norm"].first().reindex(stages)
    flags = mss.pivot_table(index="manager", columns="stage", values="flag", aggfunc="first", observed=True).reindex(index=med.index, columns=stages)
    med = med.sort_index()
    flags = flags.reindex(med.index)
    if team is not None:
        tm = team.set_index("stage").reindex(stages)
        label = t("stalls.plot.team", lang)
        med.loc[label] = tm["median"].to_numpy()
        flags.loc[label] = ""
    ratio = med / norm.to_numpy()
    annot = med.copy().astype(object)
    for r in med.index:
        for c in stages:
            v = med.at[r, c]
            f = flags.at[r, c] if isinstance(flags.at[r, c], str) else ""
            mark = " ▲" if f == "slower" else (" ▼" if f == "faster" else "")
            annot.at[r, c] = "" if pd.isna(v) else fmt_.number(v, lang, 1) + mark
    fig, ax = plt.subplots(figsize=(1.6 * len(stages) + 3, 0.42 * len(med) + 1.8))
    sns.heatmap(
        ratio.astype(float),
        annot=annot.to_numpy(),
        fmt="",
        cmap="RdYlGn_r",
        center=1.0,
        vmin=0.0,
        vmax=2.0,
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": t("stalls.plot.heatmap_cbar", lang)},
        ax=ax,
    )
    ax.set_xticklabels([funnel.label(s, lang) for s in stages], rotation=20, ha="right")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(t("stalls.plot.heatmap", lang, unit=t(f"stalls.unit.{unit}", lang)), fontsize=11)
    if team is not None:
        ax.axhline(len(med) - 1, color="black", linewidth=1.5)
    fig.tight_layout()
    return fig


def plot_money_at_risk(actions: pd.DataFrame, funnel, lang: str, top: int = 20):
    """Stacked horizontal bars: the amount of open deals over the norm, per manager and stage."""
    sns = _sns()
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig_h = 0.4 * min(max(actions["manager"].nunique(), 1), top) + 1.6
    fig, ax = plt.subplots(figsize=(9, fig_h))
    if not len(actions):
        ax.text(0.5, 0.5, t("stalls.no_actions", lang), ha="center", va="center")
        ax.set_axis_off()
        return fig
    stages = [s for s in funnel.open_stages if s in set(actions["stage"].astype(str))]
    pv = (actions.assign(stage=actions["stage"].astype(str), amount=actions["amount"].fillna(0.0))
          .pivot_table(index="manager", columns="stage", values="amount", aggfunc="sum", fill_value=0.0).reindex(columns=stages, fill_value=0.0))
    pv = pv.loc[pv.sum(axis=1).sort_values(ascending=True, kind="mergesort").index[-top:]]
    colors = sns.color_palette("deep", len(funnel.open_stages))
    left = np.zeros(len(pv))
    for s in stages:
        ax.barh(pv.index.astype(str), pv[s].to_numpy(), left=left, color=colors[funnel.open_stages.index(s)], label=funnel.label(s, lang))
        left += pv[s].to_numpy()
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_.integer(x, lang)))
    ax.set_xlabel(t("stalls.plot.money_x", lang))
    ax.set_title(t("stalls.plot.money", lang), fontsize=11)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# the page


def _flagged_table(mss: pd.DataFrame, r, lang: str) -> pd.DataFrame:
    return report_table(mss[mss["flag"] != ""], r.funnel, lang, digits=4, columns=MANAGER_COLUMNS, names=r.manager_names)


def page(r, lang: str) -> Page:
    """Notebook 02's page: time in stage, the stalls, managers against the team, the action list,
    process compliance and the same in business days."""
    funnel, names, st = r.funnel, r.manager_names, r.settings
    days = t("stalls.unit.days", lang)
    p = Page(lang=lang)
    p.add(Heading(t("stalls.title", lang, client=r.client), 1), Text(t("stalls.intro", lang, as_of=_as_of(r.as_of, lang))))
    if not r.has_history:
        p.add(Text(t("stalls.source.deals", lang)))

    # time in each stage (calendar days)
    team = r.stages_
    p.add(Heading(t("stalls.summary", lang)), Text(t("stalls.summary_note", lang, unit=days, share=fmt_.percent(st.stall_share, lang, 0))),
          Table(report_table(team, funnel, lang, STAGE_COLUMNS, digits=3, names=names)))
    derived = team.loc[team["norm_source"] == "derived", "stage"]
    if len(derived):
        p.add(Text(t("stalls.derived_note", lang, stages=stage_names(derived, funnel, lang))))
    p.add(Heading(t("stalls.km", lang)), Text(t("stalls.km_note", lang)), Figure(plot_km_curves(r.km_, team, funnel, lang, "days")))
    stalled = describe_stalled(team, funnel, lang)
    p.add(Text(t("stalls.stalled", lang, stages="; ".join(stalled)) if stalled else t("stalls.no_stalls", lang)))

    # managers against the team
    managers = r.managers_
    p.add(Heading(t("stalls.managers", lang)),
          Text(t("stalls.managers_note", lang, unit=days, tests=r.manager_tests, min_stays=st.min_stays)),
          Figure(plot_manager_heatmap(managers, funnel, lang, team=team)),
          Heading(t("stalls.flagged", lang), 3))
    faster = _describe_faster(managers, funnel, lang, names)
    if faster:
        p.add(Text(t("stalls.faster_info", lang, who=faster)))
    if (managers["flag"] != "").any():
        p.add(Table(_flagged_table(managers, r, lang)))
    else:
        p.add(Text(t("stalls.no_flags", lang)))
    not_judged = describe_not_judgeable(managers, funnel, lang, names=names)
    if not_judged:
        p.add(Text(t("stalls.not_judgeable", lang, who=not_judged)))

    # the action list
    actions = r.actions_
    p.add(Heading(t("stalls.actions", lang)))
    if len(actions):
        p.add(Text(t("stalls.actions_note", lang, n=len(actions), amount=money(r.money_at_risk, lang))),
              Table(report_table(actions, funnel, lang, digits=2, names=names), max_rows=30),
              Figure(plot_money_at_risk(actions, funnel, lang)))
    else:
        p.add(Text(t("stalls.no_actions", lang)))

    # process compliance
    p.add(Heading(t("stalls.compliance", lang)))
    if not r.has_history:
        p.add(Text(t("dq.no_table", lang, table=t("table.stage_history", lang))))
    else:
        pm = r.compliance_
        if funnel.mandatory:
            p.add(Text(t("stalls.compliance_note", lang, stages=stage_names(funnel.mandatory, funnel, lang), tolerance=fmt_.percent(st.tolerance, lang, 0),
                                 min_deals=st.min_deals)))
            skippers = describe_skippers(pm, lang, names=names)
            p.add(Text(t("stalls.skippers", lang, who="; ".join(skippers)) if skippers else t("stalls.no_skippers", lang)))
        else:
            p.add(Text(t("stalls.no_mandatory", lang)))
        p.add(Heading(t("stalls.per_manager", lang), 3), Table(report_table(pm, funnel, lang, digits=4, columns=COMPLIANCE_COLUMNS, names=names), max_rows=60))
        if len(r.skips_):
            p.add(Heading(t("stalls.skips", lang), 3), Table(report_table(r.skips_, funnel, lang, names=names), max_rows=30))
        # the flagged managers are named by their keys here, as the page always did
        p.add(Heading(t("stalls.backward", lang), 3),
              Text(t("stalls.backward_note", lang, n=len(r.backward_), deals=r.backward_deals, share=fmt_.percent(r.backward_share, lang, 1),
                     tolerance=fmt_.percent(st.backward_tolerance, lang, 0),
                     who=", ".join(r.backward_managers) or t("stalls.nobody", lang))))
        if len(r.backward_):
            p.add(Table(report_table(r.backward_, funnel, lang, names=names), max_rows=30))
        p.add(Heading(t("stalls.loops", lang), 3), Text(t("stalls.loops_note", lang, n=len(r.loops_), deals=r.loop_deals)))
        if len(r.loops_):
            p.add(Table(report_table(r.loops_, funnel, lang, names=names), max_rows=30))

    # the same in business days
    business = r.stages_business_
    p.add(Heading(t("stalls.business", lang)),
          Text(t("stalls.business_note", lang, ratio=fmt_.number(r.business_days_per_day, lang, 2), stages=stage_names(business.loc[business["stalled"], "stage"], funnel, lang))),
          Table(report_table(business, funnel, lang, STAGE_COLUMNS, digits=3, names=names)))
    if (r.managers_business_["flag"] != "").any():
        p.add(Heading(t("stalls.flagged", lang), 3), Table(_flagged_table(r.managers_business_, r, lang)))
    return p
