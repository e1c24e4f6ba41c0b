"""The stage-stall page (notebook 02) in one language, made from a :class:`~salesaudit.analysis.stalls.StallsResult`.

Stage and manager names, verdicts, yes/no and column headers come from the message catalogue and
the funnel; numbers are the result's own, formatted by :mod:`salesaudit.report.format`. Durations
are kept in seconds by the result; every table, column and plot here shows them in the unit its
typical value calls for (:func:`salesaudit.report.format.duration_unit`: seconds, minutes, hours or
days), named in the header, in calendar time or in working time (where a day is the working day).
Managers appear by name, in the tables and on the plots alike.
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

#: the columns of the stage tables (team, calendar and business days); durations in the table's unit
STAGE_COLUMNS = ["stage", "stays", "open", "median", "naive_median_closed", "p80", "p90", "norm", "norm_source",
                 "share_over_norm", "share_over_ci", "naive_share_over_closed", "stalled"]
#: the columns of the manager tables (manager × stage against the rest of the team)
MANAGER_COLUMNS = ["manager", "stage", "stays", "median", "median_ci", "rest_median", "ratio", "ratio_ci", "difference", "p_adjusted", "verdict"]
#: the columns of the compliance table per manager
COMPLIANCE_COLUMNS = ["manager", "deals", "eligible", "skips", "skip_rate", "skip_ci", "excess", "excess_ci", "p_adjusted", "verdict", "skip_examples",
                      "backward", "backward_rate", "backward_excess", "backward_p_adjusted", "backward_verdict", "loops", "loop_examples"]
#: a list of more than this many items is a table, not a sentence
LIST_MAX = 5

_STAGE_COLUMNS = ("stage", "next_stage", "skipped", "from_stage", "to_stage")
_P_COLUMNS = ("p_value", "p_adjusted", "backward_p_value", "backward_p_adjusted")
_DIVISOR = {"s": 1.0, "min": 60.0, "h": 3600.0}
#: the manager × stage verdicts the page's table lists ("same" rows are on the heatmap only)
_SHOWN = ("worse", "better", "small", "not_judged", _an.OUTSIDE)


# ---------------------------------------------------------------------------
# durations: the unit that fits, in calendar or working time


class _Clock:
    """Durations in seconds of one time basis (``calendar`` or ``working``) shown in a unit that fits."""

    def __init__(self, basis: str, day_s: float = 86400.0):
        self.basis = basis
        self.day_s = float(day_s) if day_s and np.isfinite(day_s) else 86400.0

    def unit(self, values) -> str:
        """The unit of a table, column or plot: from the median of its finite values (seconds)."""
        v = np.abs(np.asarray(pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce"), dtype="float64"))
        v = v[np.isfinite(v) & (v > 0)]
        return fmt_.duration_unit(float(np.median(v)) if v.size else float("nan"), day_seconds=self.day_s)

    def divisor(self, unit: str) -> float:
        return self.day_s if unit == "d" else _DIVISOR[unit]

    def convert(self, seconds, unit: str):
        """Seconds → the unit (floats, NaN kept)."""
        return pd.to_numeric(pd.Series(seconds), errors="coerce").astype("float64").to_numpy() / self.divisor(unit)

    def abbr(self, unit: str, lang: str) -> str:
        return t(f"stalls.abbr.{self.basis}.{unit}", lang)

    def name(self, unit: str, lang: str) -> str:
        return t(f"stalls.uname.{self.basis}.{unit}", lang)

    def header(self, column: str, unit: str, lang: str) -> str:
        return t("stalls.col_unit", lang, col=t(f"stalls.col.{column}", lang), unit=self.abbr(unit, lang))

    def value(self, seconds, lang: str, unit: str | None = None, sign: bool = False) -> str:
        """One duration for a sentence, with its unit: ``3.8 days``, ``10.9 working h``."""
        if fmt_.missing(seconds):
            return fmt_.DASH
        unit = unit or self.unit([seconds])
        x = float(seconds) / self.divisor(unit)
        return t("stalls.value", lang, n=fmt_.number(x, lang, _digits(x), sign=sign, trim=True), unit=self.abbr(unit, lang))


def _digits(x: float) -> int:
    """Decimals a duration needs in a sentence: none from 100, one from 1, two below."""
    x = abs(float(x))
    return 0 if x >= 100 else 1 if x >= 1 else 2


def _ci_digits(lo, hi) -> int:
    """Decimals of an interval of durations: two below 10, one below 100, none above."""
    x = np.nanmax(np.abs([lo, hi])) if np.isfinite([lo, hi]).any() else 0.0
    return 2 if x < 10 else 1 if x < 100 else 0


def _clocks(r) -> tuple[_Clock, _Clock]:
    return _Clock("calendar"), _Clock("working", getattr(r, "working_day_s", 32400.0))


def _interval(lo, hi, lang: str, kind: str = "percent", digits: int = 0) -> str:
    """``lo–hi`` with as many decimals (up to three more) as it takes for the two ends to differ;
    ``≥ lo`` or ``≤ hi`` where one end is unknown (a median interval whose bound the data never reach).

    >>> _interval(0.981, 0.984, "en"), _interval(2.0, float("nan"), "ru", "number", 2)
    ('98.1%–98.4%', '≥ 2,00')
    """
    def one(x, d):
        return fmt_.percent(x, lang, d) if kind == "percent" else fmt_.number(x, lang, d)

    if fmt_.missing(lo) and fmt_.missing(hi):
        return fmt_.DASH
    if fmt_.missing(hi):
        return "≥ " + one(lo, digits)
    if fmt_.missing(lo):
        return "≤ " + one(hi, digits)
    d = fmt_.digits_apart([(lo, hi)], digits, digits + 3, show=one)
    return f"{one(lo, d)}–{one(hi, d)}"


def _pp(x, lang: str, sign: bool = True) -> str:
    """A difference of shares in percentage points, one decimal: ``+36.7``."""
    return fmt_.DASH if fmt_.missing(x) else fmt_.number(float(x) * 100, lang, 1, sign=sign)


# ---------------------------------------------------------------------------
# texts and tables in the page's language


def _fmt_p(p, lang: str) -> str:
    if p is None or pd.isna(p):
        return fmt_.DASH
    return "<" + fmt_.number(1e-4, lang, 4) if p < 1e-4 else fmt_.number(p, lang, 4)


def _as_of(moment, lang: str) -> str:
    """The audit moment in the page's language (:func:`salesaudit.report.format.datetime_`)."""
    return fmt_datetime(moment, lang)


def _who(m, names: dict | None, lang: str) -> str:
    """A manager key → the name a reader knows (``stalls.no_manager`` for deals without one)."""
    if m is None or (not isinstance(m, str) and pd.isna(m)) or m == _an.NO_MANAGER:
        return t("stalls.no_manager", lang)
    return str((names or {}).get(m, m))


def _verdict(v, group, lang: str, kind: str = "verdict") -> str:
    if v == _an.OUTSIDE:
        return t(f"stalls.{kind}.outside_team", lang, group=t(f"stalls.group.{group}", lang))
    return t(f"stalls.{kind}.{v}", lang) if isinstance(v, str) and v else ""


def report_table(df: pd.DataFrame, funnel, lang: str, columns: list[str] | None = None, digits: int | None = None, names: dict | None = None,
                 headers: dict | None = None) -> pd.DataFrame:
    """``df`` ready for the report: chosen ``columns``, floats rounded to ``digits``, stage keys
    → stage names, manager keys → ``names`` (``Dataset.manager_names()``), flags and yes/no in
    ``lang``, column names from the ``stalls.col.*`` labels (``headers``: column → header, for the
    columns whose header carries a unit)."""
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
            out[c] = [_who(m, names, lang) for m in out[c].astype(object)]
        elif str(out[c].dtype).startswith("datetime64"):
            out[c] = [fmt_.datetime_(v, lang) for v in out[c]]
    renamed = {c: t(f"stalls.col.{c}", lang) for c in out.columns if _has_label(f"stalls.col.{c}")}
    renamed.update(headers or {})
    return out.rename(columns=renamed)


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


def _seconds_col(df: pd.DataFrame, column: str) -> pd.Series:
    """``column`` of a stage or manager table in seconds (its ``_s`` / ``_working_s`` twin)."""
    sfx = df.attrs.get("seconds_suffix", "_s")
    if column + sfx in df.columns:
        return df[column + sfx].astype("float64")
    return df[column].astype("float64") * float(df.attrs.get("seconds_per_unit", 86400.0))


def describe_stalled(summary: pd.DataFrame, funnel, lang: str, clock: _Clock | None = None) -> list[str]:
    """One sentence fragment per stalled stage of a :func:`~salesaudit.analysis.stalls.stage_summary`, in ``lang``;
    each stage's median and norm in the unit that fits the stage."""
    clock = clock or _Clock("working" if summary.attrs.get("unit") == "business_days" else "calendar",
                            summary.attrs.get("seconds_per_unit", 86400.0))
    med_s, norm_s = _seconds_col(summary, "median"), _seconds_col(summary, "norm")
    out = []
    for i, r in enumerate(summary.itertuples()):
        if not r.stalled:
            continue
        unit = clock.unit([med_s.iloc[i]])
        out.append(
            t(
                "stalls.stalled_item",
                lang,
                stage=funnel.label(r.stage, lang),
                median=clock.value(med_s.iloc[i], lang, unit),
                norm=clock.value(norm_s.iloc[i], lang, unit),
                share=fmt_.percent(r.share_over_norm, lang, 0),
                ci=_interval(r.share_over_ci_low, r.share_over_ci_high, lang),
                naive=fmt_.percent(r.naive_share_over_closed, lang, 0),
            )
        )
    return out


def describe_skippers(per_manager: pd.DataFrame, lang: str, names: dict | None = None) -> list[str]:
    """One fragment per manager flagged for skipping mandatory stages (:func:`~salesaudit.analysis.stalls.compliance`)."""
    f = per_manager[per_manager["flag"]]
    return [
        t("stalls.skipper_item", lang, manager=_who(r.manager, names, lang), skips=fmt_.integer(r.skips, lang), eligible=fmt_.integer(r.eligible, lang),
          rate=fmt_.percent(r.skip_rate, lang, 0), ci=_interval(r.skip_ci_low, r.skip_ci_high, lang), excess=_pp(r.excess, lang, sign=False),
          excess_ci=_interval(r.excess_ci_low * 100, r.excess_ci_high * 100, lang, "number", 1), examples=r.skip_examples)
        for r in f.itertuples()
    ]


def describe_not_judgeable(mss: pd.DataFrame, funnel, lang: str, names: dict | None = None) -> str:
    """``manager: stage, stage; …`` for the team's manager × stage cells with too few stays ('' if none)."""
    nj = mss[mss["verdict"] == "not_judged"] if "verdict" in mss.columns else mss[~mss["judgeable"].astype(bool)]
    if not len(nj):
        return ""
    order = funnel.order()
    parts = []
    for m, g in nj.groupby("manager", sort=True):
        stages = sorted(g["stage"].astype(str), key=order.get)
        parts.append(f"{_who(m, names, lang)}: " + ", ".join(funnel.label(s, lang) for s in stages))
    return "; ".join(parts)


def _describe_effects(mss: pd.DataFrame, verdict: str, key: str, funnel, lang: str, names: dict, clock: _Clock, work: _Clock) -> list[str]:
    """The manager × stage differences with ``verdict`` in words: the medians (each pair in the unit that
    fits it), the ratio with its interval, the difference in working time."""
    sel = mss["verdict"] == verdict
    med, rest = _seconds_col(mss, "median")[sel], _seconds_col(mss, "rest_median")[sel]
    out = []
    for r, m, rm in zip(mss[sel].itertuples(), med, rest):
        unit = clock.unit([rm])
        ratio = fmt_.number(r.ratio, lang, 2)
        out.append(t(key, lang, manager=_who(r.manager, names, lang), stage=funnel.label(r.stage, lang),
                     median=clock.value(m, lang, unit) if np.isfinite(m) else t("stalls.not_reached", lang),
                     rest=clock.value(rm, lang, unit), ratio=(("≥ " if r.ratio_bound else "") + ratio),
                     ci=_interval(r.ratio_ci_low, r.ratio_ci_high, lang, "number", 2), diff=work.value(abs(r.difference_working_s), lang)))
    return out


def _listed(items: list[str], key: str, many_key: str, lang: str) -> Text:
    """A sentence listing up to :data:`LIST_MAX` items; more: a sentence pointing to the table."""
    if len(items) > LIST_MAX:
        return Text(t(many_key, lang, n=fmt_.integer(len(items), lang)))
    return Text(t(key, lang, who="; ".join(items)))


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
    Each panel's time axis is in the unit that fits its stage (seconds to days), named on the axis.

    ``curves``: :func:`~salesaudit.analysis.stalls.km_curves`; ``summary``: the
    :func:`~salesaudit.analysis.stalls.stage_summary` of the same stays and unit.
    """
    sns = _sns()
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    per_unit = float(summary.attrs.get("seconds_per_unit", curves.attrs.get("seconds_per_unit", 86400.0)))
    clock = _Clock("working" if unit == "business_days" else "calendar", per_unit)
    ss = summary[summary["stays"] > 0].reset_index(drop=True)
    by_stage = {str(s): g for s, g in curves.groupby("stage", sort=False)}
    k = max(len(ss), 1)
    ncols = min(3, k)
    nrows = int(np.ceil(k / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), squeeze=False)
    colors = sns.color_palette("deep", max(len(funnel.open_stages), 1))
    for i, row in ss.iterrows():
        ax = axes[i // ncols][i % ncols]
        s = row["stage"]
        km = by_stage.get(str(s), curves.iloc[:0])
        typical = row["median"] if np.isfinite(row["median"]) else (row["p80"] if np.isfinite(row["p80"]) else (km["time"].max() if len(km) else np.nan))
        u = clock.unit([typical * per_unit])
        f = per_unit / clock.divisor(u)  # the table's unit → the panel's
        tt = np.concatenate([[0.0], km["time"].to_numpy(dtype="float64")]) * f
        sv = np.concatenate([[1.0], km["survival"].to_numpy(dtype="float64")])
        lo = np.concatenate([[1.0], km["ci_low"].to_numpy(dtype="float64")])
        hi = np.concatenate([[1.0], km["ci_high"].to_numpy(dtype="float64")])
        color = "#c44e52" if row["stalled"] else colors[funnel.open_stages.index(s) % len(colors)]
        ax.fill_between(tt, lo, hi, step="post", alpha=0.25, color=color, linewidth=0)
        ax.step(tt, sv, where="post", color=color, linewidth=1.8)
        norm = row["norm"] * f
        if np.isfinite(norm):
            ax.axvline(norm, color="black", linestyle="--", linewidth=1)
            ax.text(norm, 0.97, " " + t("stalls.plot.norm", lang, norm=clock.value(row["norm"] * per_unit, lang, u)), ha="left", va="top", fontsize=8)
        ax.axhline(0.5, color="grey", linewidth=0.6, linestyle=":")
        p90 = row["p90"] * f
        right = np.nanmax([p90 * 1.4 if np.isfinite(p90) else np.nan, norm * 2.5 if np.isfinite(norm) else np.nan, 1.0])
        if not np.isfinite(p90) and len(km):
            right = max(right, float(km["time"].max()) * f)  # the longest stay: every time is a row of the curve
        ax.set_xlim(0, right)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_.number(x, lang, None)))
        title = funnel.label(s, lang)
        if row["stalled"]:
            title += f" — {t('stalls.plot.stalled', lang)}"
        ax.set_title(title, fontsize=10, color="#c44e52" if row["stalled"] else "black")
        ax.set_xlabel(t("stalls.plot.km_x", lang, unit=clock.name(u, lang)), fontsize=9)
        ax.set_ylabel(t("stalls.plot.km_y", lang) if i % ncols == 0 else "", fontsize=9)
    for j in range(len(ss), nrows * ncols):
        axes[j // ncols][j % ncols].set_axis_off()
    fig.suptitle(t("stalls.plot.km", lang), fontsize=12)
    fig.tight_layout()
    return fig


def _heatmap_order(mss: pd.DataFrame, names: dict, lang: str) -> list:
    """Managers in the heatmap's order: flagged slower first (the biggest ratio first), then faster,
    then the rest of the team by name, then the rows outside the team."""
    rows = []
    for m, g in mss.groupby("manager", sort=False):
        v = set(g["verdict"])
        outside = (g["owner_group"] != "manager").all() if "owner_group" in g.columns else False
        worst = float(g.loc[g["verdict"] == "worse", "ratio"].max()) if "worse" in v else 0.0
        rank = 3 if outside else 0 if "worse" in v else 1 if "better" in v else 2
        rows.append((rank, -worst, _who(m, names, lang), m))
    return [m for *_, m in sorted(rows)]


def plot_manager_heatmap(mss: pd.DataFrame, funnel, lang: str, team: pd.DataFrame | None = None, names: dict | None = None):
    """Manager × stage heatmap of the median stay, in the unit its typical cell calls for: annotated
    with the median (▲ flagged slower, ▼ flagged faster than the rest of the team: significant and
    big enough), coloured by median / norm; flagged managers on top, by name; the rows outside the
    team below them and the team's row at the bottom when ``team`` is given (the team's median,
    ``team_median`` of ``mss``; a :func:`stage_summary` where ``mss`` has none)."""
    sns = _sns()
    import matplotlib.pyplot as plt

    names = names or {}
    if "verdict" not in mss.columns:
        mss = mss.assign(verdict=np.where(mss["flag"] == "slower", "worse", np.where(mss.get("faster", False), "better", "same")))
    working = mss.attrs.get("unit") == "business_days"
    clock = _Clock("working" if working else "calendar", mss.attrs.get("seconds_per_unit", 86400.0))
    med_s = _seconds_col(mss, "median")
    unit = clock.unit(med_s)
    cells = mss.assign(_v=clock.convert(med_s, unit), stage=mss["stage"].astype(str))
    stages = [s for s in funnel.open_stages if s in set(cells["stage"])]
    order = _heatmap_order(mss, names, lang)
    med = cells.pivot_table(index="manager", columns="stage", values="_v", aggfunc="first").reindex(index=order, columns=stages)
    verdicts = cells.pivot_table(index="manager", columns="stage", values="verdict", aggfunc="first").reindex(index=order, columns=stages)
    norm = pd.Series(clock.convert(_seconds_col(mss, "norm"), unit), index=mss.index).groupby(cells["stage"]).first().reindex(stages)
    group = mss.groupby("manager")["owner_group"].first() if "owner_group" in mss.columns else pd.Series("manager", index=order)
    outside = [m for m in order if group.get(m, "manager") != "manager"]
    labels = [_who(m, names, lang) if m not in outside else t("stalls.plot.outside", lang, name=_who(m, names, lang), group=t(f"stalls.group.{group[m]}", lang))
              for m in order]
    if team is not None:
        label = t("stalls.plot.team", lang)
        if "team_median" in mss.columns:
            tm = pd.Series(clock.convert(_seconds_col(mss, "team_median"), unit), index=mss.index).groupby(cells["stage"]).first().reindex(stages)
        else:
            tm = pd.Series(clock.convert(_seconds_col(team, "median"), unit), index=team["stage"].astype(str)).reindex(stages)
        med.loc[label] = tm.to_numpy()
        verdicts.loc[label] = ""
        labels.append(label)
    ratio = med / norm.to_numpy()
    annot = med.copy().astype(object)
    for r in med.index:
        for c in stages:
            v = med.at[r, c]
            f = verdicts.at[r, c] if isinstance(verdicts.at[r, c], str) else ""
            mark = " ▲" if f == "worse" else (" ▼" if f == "better" else "")
            annot.at[r, c] = "" if pd.isna(v) else fmt_.number(v, lang, _digits(v)) + mark
    fig, ax = plt.subplots(figsize=(1.6 * len(stages) + 3.5, 0.42 * len(med) + 1.8))
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
    ax.set_yticks(np.arange(len(labels)) + 0.5)
    ax.set_yticklabels(labels, rotation=0)
    ax.set_xlabel("")
    ax.set_ylabel("")
    import textwrap

    ax.set_title(textwrap.fill(t("stalls.plot.heatmap", lang, unit=clock.name(unit, lang)), 80), fontsize=11)
    if outside:
        ax.axhline(len(order) - len(outside), color="black", linewidth=1.0, linestyle="--")
    if team is not None:
        ax.axhline(len(med) - 1, color="black", linewidth=1.5)
    fig.tight_layout()
    return fig


def plot_money_at_risk(actions: pd.DataFrame, funnel, lang: str, top: int = 20, names: dict | None = None):
    """Stacked horizontal bars: the amount of open deals over the norm, per manager (by name) and stage."""
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
    who = [_who(m, names, lang) for m in pv.index]
    for s in stages:
        ax.barh(who, pv[s].to_numpy(), left=left, color=colors[funnel.open_stages.index(s)], label=funnel.label(s, lang))
        left += pv[s].to_numpy()
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_.integer(x, lang)))
    ax.set_xlabel(t("stalls.plot.money_x", lang))
    ax.set_title(t("stalls.plot.money", lang), fontsize=11)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# the page's tables


def _stage_table(ss: pd.DataFrame, funnel, lang: str, clock: _Clock) -> pd.DataFrame:
    """A :func:`stage_summary` for the page: durations in the unit of its typical median, shares in percent."""
    unit = clock.unit(_seconds_col(ss, "median"))
    df = ss.copy()
    headers = {}
    for c in ("median", "naive_median_closed", "p80", "p90", "norm"):
        df[c] = clock.convert(_seconds_col(ss, c), unit)
        headers[c] = clock.header(c, unit, lang)
    for c in ("share_over_norm", "naive_share_over_closed"):
        df[c] = [fmt_.percent(v, lang, 0) if not fmt_.missing(v) else fmt_.DASH for v in ss[c]]
    df["share_over_ci"] = [_interval(lo, hi, lang) for lo, hi in zip(ss["share_over_ci_low"], ss["share_over_ci_high"])]
    return report_table(df, funnel, lang, STAGE_COLUMNS, headers=headers)


def _exits_table(ex: pd.DataFrame, funnel, lang: str, clock: _Clock) -> pd.DataFrame:
    """:func:`~salesaudit.analysis.stalls.stage_exits` for the page: each way out in words, the times
    with their unit in each cell (the unit that fits that row: minutes at a minutes-long stage, days at a
    long one), shares in percent, amounts grouped."""
    def way(e: str) -> str:
        return t(f"stalls.exit.{e}", lang) if e in ("forward", "back") else funnel.label(e, lang)

    return pd.DataFrame({
        t("stalls.col.stage", lang): [funnel.label(s, lang) for s in ex["stage"]],
        t("stalls.col.exit", lang): [way(e) for e in ex["exit"]],
        t("stalls.col.exit_stays", lang): [fmt_.integer(n, lang) for n in ex["stays"]],
        t("stalls.col.exit_share", lang): [fmt_.percent(v, lang, 0) for v in ex["share"]],
        t("stalls.col.exit_amount", lang): [money(v, lang) for v in ex["amount"]],
        t("stalls.col.exit_median", lang): [clock.value(v, lang) for v in ex["median_s"]],
        t("stalls.col.exit_p80", lang): [clock.value(v, lang, clock.unit([m])) for v, m in zip(ex["p80_s"], ex["median_s"])],
    })


def _exits(p: Page, r, lang: str, clock: _Clock) -> None:
    """Where the time in a stage ends: moved on, moved back or lost, and how (each lost terminal)."""
    ex = r.exits_
    if ex is None or not len(ex):
        return
    lost = ex[ex["outcome"] == "lost"]
    p.add(Heading(t("stalls.exits", lang)), Text(t("stalls.exits_note", lang)))
    if len(lost):
        top = lost.groupby("stage", sort=False)["stays"].sum().sort_values(ascending=False)
        worst = str(top.index[0])
        p.add(Text(t("stalls.exits_most", lang, stage=funnel_label(r.funnel, worst, lang), lost=fmt_.integer(int(top.iloc[0]), lang),
                     share=fmt_.percent(top.iloc[0] / int(lost["stays"].sum()), lang, 0))))
    p.add(Table(_exits_table(ex, r.funnel, lang, clock), max_rows=60))


def funnel_label(funnel, stage: str, lang: str) -> str:
    """A stage's name in quotes of the page's language."""
    return stage_names([stage], funnel, lang)


def _manager_table(mss: pd.DataFrame, r, lang: str, clock: _Clock, work: _Clock, verdicts=None) -> pd.DataFrame:
    """The manager × stage cells that say something (``verdicts``; default: flagged, significant but
    small, not judged, outside the team), in the result's order."""
    shown = mss[mss["verdict"].isin(verdicts or _SHOWN)]
    unit = clock.unit(_seconds_col(shown, "rest_median"))
    wunit = work.unit(shown["difference_working_s"])
    df = shown.copy()
    df["median"] = clock.convert(_seconds_col(shown, "median"), unit)
    df["rest_median"] = clock.convert(_seconds_col(shown, "rest_median"), unit)
    lo, hi = clock.convert(_seconds_col(shown, "median_ci_low"), unit), clock.convert(_seconds_col(shown, "median_ci_high"), unit)
    df["median_ci"] = [_interval(a, b, lang, "number", _ci_digits(a, b)) for a, b in zip(lo, hi)]
    df["ratio"] = [("≥ " if b else "") + fmt_.number(x, lang, 2) if not fmt_.missing(x) else fmt_.DASH for x, b in zip(shown["ratio"], shown["ratio_bound"])]
    df["ratio_ci"] = [_interval(a, b, lang, "number", 2) for a, b in zip(shown["ratio_ci_low"], shown["ratio_ci_high"])]
    df["difference"] = [fmt_.number(x, lang, _digits(x), sign=True) if not fmt_.missing(x) else fmt_.DASH
                        for x in work.convert(shown["difference_working_s"], wunit)]
    df["verdict"] = [_verdict(v, g, lang) for v, g in zip(shown["verdict"], shown["owner_group"])]
    headers = {"median": clock.header("median", unit, lang), "rest_median": clock.header("rest_median", unit, lang),
               "median_ci": clock.header("median_ci", unit, lang), "difference": work.header("difference", wunit, lang)}
    return report_table(df, r.funnel, lang, MANAGER_COLUMNS, names=r.manager_names, headers=headers)


def _compliance_table(pm: pd.DataFrame, funnel, lang: str, names: dict) -> pd.DataFrame:
    df = pm.copy()
    for c in ("skip_rate", "backward_rate"):
        df[c] = [fmt_.percent(v, lang, 1) if not fmt_.missing(v) else fmt_.DASH for v in pm[c]]
    df["skip_ci"] = [_interval(a, b, lang, "percent", 1) for a, b in zip(pm["skip_ci_low"], pm["skip_ci_high"])]
    df["excess"] = [_pp(v, lang) for v in pm["excess"]]
    df["backward_excess"] = [_pp(v, lang) for v in pm["backward_excess"]]
    df["excess_ci"] = [_interval(a * 100, b * 100, lang, "number", 1) for a, b in zip(pm["excess_ci_low"], pm["excess_ci_high"])]
    df["verdict"] = [_verdict(v, g, lang, "cverdict") for v, g in zip(pm["verdict"], pm["owner_group"])]
    df["backward_verdict"] = [_verdict(v, g, lang, "cverdict") for v, g in zip(pm["backward_verdict"], pm["owner_group"])]
    return report_table(df, funnel, lang, COMPLIANCE_COLUMNS, names=names)


def _owner_text(r, lang: str) -> str:
    if r.stay_owner == "moved_by":
        return t("stalls.owner.moved_by", lang, n=fmt_.integer(r.stay_owner_fallback, lang))
    if r.stay_owner_requested == "moved_by":
        return t("stalls.owner.moved_by_no_history", lang)
    return t("stalls.owner.deal_owner", lang)


def _managers_section(p: Page, r, mss: pd.DataFrame, lang: str, clock: _Clock, work: _Clock) -> None:
    """The manager × stage comparison: the rule, the heatmap, the effects in words, the table."""
    funnel, names, st = r.funnel, r.manager_names, r.settings
    p.add(Heading(t("stalls.managers", lang)),
              Text(t("stalls.managers_rule", lang, tests=fmt_.integer(mss.attrs.get("tests", 0), lang), alpha=fmt_.percent(st.alpha, lang, 0, trim=True),
                     ratio=fmt_.number(st.min_ratio, lang, 2, trim=True), inverse=fmt_.number(1 / st.min_ratio, lang, 2, trim=True),
                     hours=work.value(st.min_difference_hours * 3600, lang, "h"), min_stays=fmt_.integer(st.min_stays, lang),
                     min_ended=fmt_.integer(st.min_ended, lang))),
              Figure(plot_manager_heatmap(mss, funnel, lang, team=r.stages_, names=names)))
    worse = _describe_effects(mss, "worse", "stalls.slow_item", funnel, lang, names, clock, work)
    better = _describe_effects(mss, "better", "stalls.fast_item", funnel, lang, names, clock, work)
    p.add(_listed(worse, "stalls.slow", "stalls.slow_many", lang) if worse else Text(t("stalls.no_flags", lang)))
    if better:
        p.add(_listed(better, "stalls.faster_info", "stalls.faster_many", lang))
    small = int((mss["verdict"] == "small").sum())
    if small:
        p.add(Text(t("stalls.small_note", lang, n=fmt_.integer(small, lang))))
    if mss["verdict"].isin(_SHOWN).any():
        p.add(Heading(t("stalls.flagged", lang), 3), Table(_manager_table(mss, r, lang, clock, work), max_rows=60))


# ---------------------------------------------------------------------------
# the page


def page(r, lang: str) -> Page:
    """Notebook 02's page: time in stage, the stalls, managers against the rest of the team, the
    action list, process compliance and the same in working time."""
    funnel, names, st = r.funnel, r.manager_names, r.settings
    clock, work = _clocks(r)
    p = Page(lang=lang)
    p.add(Heading(t("stalls.title", lang, client=r.client), 1), Text(t("stalls.intro", lang, as_of=_as_of(r.as_of, lang))))
    if not r.has_history:
        p.add(Text(t("stalls.source.deals", lang)))
    p.add(Text(_owner_text(r, lang)))

    # time in each stage (calendar time)
    team = r.stages_
    p.add(Heading(t("stalls.summary", lang)), Text(t("stalls.summary_note", lang, share=fmt_.percent(st.stall_share, lang, 0))),
          Table(_stage_table(team, funnel, lang, clock)))
    derived = team.loc[team["norm_source"] == "derived", "stage"]
    if len(derived):
        p.add(Text(t("stalls.derived_note", lang, stages=stage_names(derived, funnel, lang))))
    p.add(Heading(t("stalls.km", lang)), Text(t("stalls.km_note", lang)), Figure(plot_km_curves(r.km_, team, funnel, lang, "days")))
    stalled = describe_stalled(team, funnel, lang, clock)
    if not stalled:
        p.add(Text(t("stalls.no_stalls", lang)))
    elif len(stalled) <= LIST_MAX:
        p.add(Text(t("stalls.stalled", lang, stages="; ".join(stalled))))
    else:
        p.add(Text(t("stalls.stalled", lang, stages=stage_names(team.loc[team["stalled"], "stage"], funnel, lang))))

    # managers against the rest of the team
    _managers_section(p, r, r.managers_, lang, clock, work)

    # the action list
    actions = r.actions_
    p.add(Heading(t("stalls.actions", lang)))
    if len(actions):
        unit = clock.unit(actions["in_stage_s"].head(30))
        df = actions.copy()
        for c, col in (("in_stage", "in_stage_s"), ("norm", "norm_s"), ("over", "over_s")):
            df[c] = clock.convert(actions[col], unit)
        headers = {c: clock.header(c, unit, lang) for c in ("in_stage", "norm", "over")}
        p.add(Text(t("stalls.actions_note", lang, n=len(actions), amount=money(r.money_at_risk, lang))),
              Table(report_table(df, funnel, lang, ["deal_id", "manager", "stage", "entered_at", "in_stage", "norm", "over", "amount"], names=names,
                                 headers=headers), max_rows=200),
              Figure(plot_money_at_risk(actions, funnel, lang, names=names)))
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
                         effect=fmt_.number(st.min_effect * 100, lang, 1, trim=True), min_deals=fmt_.integer(st.min_deals, lang))))
            skippers = describe_skippers(pm, lang, names=names)
            p.add(_listed(skippers, "stalls.skippers", "stalls.skippers_many", lang) if skippers else Text(t("stalls.no_skippers", lang)))
        else:
            p.add(Text(t("stalls.no_mandatory", lang)))
        p.add(Heading(t("stalls.per_manager", lang), 3), Table(_compliance_table(pm, funnel, lang, names), max_rows=60))
        if len(r.skips_):
            p.add(Heading(t("stalls.skips", lang), 3), Table(report_table(r.skips_, funnel, lang, names=names), max_rows=200))
        flagged = [_who(m, names, lang) for m in r.backward_managers]
        who = t("stalls.nobody", lang) if not flagged else ", ".join(flagged) if len(flagged) <= LIST_MAX else t("stalls.see_table", lang, n=fmt_.integer(len(flagged), lang))
        p.add(Heading(t("stalls.backward", lang), 3),
              Text(t("stalls.backward_note", lang, n=fmt_.integer(len(r.backward_), lang), deals=fmt_.integer(r.backward_deals, lang),
                     share=fmt_.percent(r.backward_share, lang, 1), tolerance=fmt_.percent(st.backward_tolerance, lang, 0),
                     effect=fmt_.number(st.min_effect * 100, lang, 1, trim=True), who=who)))
        if len(r.backward_):
            p.add(Table(report_table(r.backward_, funnel, lang, names=names), max_rows=200))
        p.add(Heading(t("stalls.loops", lang), 3), Text(t("stalls.loops_note", lang, n=fmt_.integer(len(r.loops_), lang), deals=fmt_.integer(r.loop_deals, lang))))
        if len(r.loops_):
            p.add(Table(report_table(r.loops_, funnel, lang, names=names), max_rows=200))

    # how deals leave each stage: moved on, back, or lost (and how)
    _exits(p, r, lang, clock)

    # the same in working time
    business = r.stages_business_
    p.add(Heading(t("stalls.business", lang)),
          Text(t("stalls.business_note", lang, day=_Clock("calendar").value(work.day_s, lang, "h"),
                 stages=stage_names(business.loc[business["stalled"], "stage"], funnel, lang))),
          Table(_stage_table(business, funnel, lang, work)))
    judged = ("worse", "better", "small")
    if r.managers_business_["verdict"].isin(judged).any():
        p.add(Heading(t("stalls.flagged_business", lang), 3), Table(_manager_table(r.managers_business_, r, lang, work, work, judged), max_rows=60))
    return p
