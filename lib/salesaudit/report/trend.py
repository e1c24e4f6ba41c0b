"""Key figures across the periods of a batch: the table cells and the small-multiple plot of the batch index.

``salesaudit run --periods A..B`` runs the audit once per period (:mod:`salesaudit.runs.batch`);
every notebook's key results are recorded in its JSON (:mod:`salesaudit.runs.record`). This module
reads the figures listed in :data:`FIGURES` from those records - it never recomputes them - and
shows them in the report language: one cell per figure and period, and one plot panel per figure.

A figure is *per period* when its notebook computes it for the report's period (plan vs fact of
notebook 04: payments received in the period, its plan and their ratio; notebook 04 also records
the period it covered, ``planfact_period``, and a value recorded for another period than the row's
is not shown). The share of leads answered within the SLA (notebook 03) and the money in open deals
stalled over their stage norm (notebook 02) are measured over the whole export at the audit moment,
whatever the period: every period shows the same value, so their columns say so and no trend is
drawn for them (:func:`horizon_note`).

A figure that was not recorded (the notebook failed or was not run, the period has no plan) is
``None`` and shows as ``—``.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from . import format as fmt_
from .i18n import t

__all__ = ["TrendFigure", "FIGURES", "figure_values", "column_label", "cell", "horizon_note", "plot", "plot_svg", "currency_unit"]


@dataclass(frozen=True)
class TrendFigure:
    """One key figure of the batch index."""

    key: str  # the recorded key
    notebook: str  # the two-digit number of the notebook that records it
    label: str  # catalogue key of its column (what it is, its horizon and unit; ``{unit}`` is the currency)
    kind: str  # "pct" (recorded in percent: 87.5), "share" (0.875) or "money" (the client's currency)
    per_period: bool  # computed for the report's period (else over the whole data at the audit moment)
    short: str  # catalogue key of its name in a sentence
    period_key: Optional[str] = None  # the recorded key that names the period the figure covers


FIGURES: tuple[TrendFigure, ...] = (
    TrendFigure("planfact_team_revenue_attainment_pct", "04", "batch.fig.attainment", "pct", True, "batch.short.attainment", "planfact_period"),
    TrendFigure("planfact_team_revenue", "04", "batch.fig.revenue", "money", True, "batch.short.revenue", "planfact_period"),
    TrendFigure("planfact_team_revenue_plan", "04", "batch.fig.revenue_plan", "money", True, "batch.short.revenue_plan", "planfact_period"),
    TrendFigure("leads_share_within_sla", "03", "batch.fig.sla", "share", False, "batch.short.sla"),
    TrendFigure("money_at_risk", "02", "batch.fig.money_at_risk", "money", False, "batch.short.money_at_risk"),
)
_BY_KEY = {f.key: f for f in FIGURES}


def _number(value) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def figure_values(records: Mapping[str, Mapping], period: str) -> dict[str, Optional[float]]:
    """The value of every figure of :data:`FIGURES` for one period, None where it was not recorded.

    ``records``: notebook stem (``04_plan_fact``) -> the key results it recorded (the runner's
    ``NotebookResult.records``, or its ``<stem>.json``). A per-period figure whose notebook recorded
    a different period than ``period`` is None.
    """
    out: dict[str, Optional[float]] = {}
    for f in FIGURES:
        recs = [r for stem, r in records.items() if str(stem).startswith(f.notebook + "_")]
        rec = recs[0] if recs else {}
        value = _number(rec.get(f.key))
        if value is not None and f.period_key is not None and rec.get(f.period_key) not in (None, period):
            value = None
        out[f.key] = value
    return out


def currency_unit(currency: Optional[str], lang: str) -> str:
    """The currency as a unit in a label: ``₽`` (ru), ``RUB`` (en), ``$``; in words when unknown."""
    if not currency:
        return t("batch.unit.currency_unknown", lang)
    from babel.numbers import get_currency_symbol

    return get_currency_symbol(str(currency).upper(), locale=lang)


def column_label(key: str, lang: str, currency: Optional[str]) -> str:
    """The column heading of a figure: what it is, its horizon and its unit."""
    return t(_BY_KEY[key].label, lang, unit=currency_unit(currency, lang))


def cell(key: str, value, lang: str, currency: Optional[str]) -> str:
    """A figure's value as the reader sees it (``—`` when missing)."""
    kind = _BY_KEY[key].kind
    if value is None or fmt_.missing(value):
        return fmt_.DASH
    if kind == "pct":
        return fmt_.percent(value / 100, lang, 1)
    if kind == "share":
        return fmt_.percent(value, lang, 1)
    return fmt_.money(value, lang, currency)


def horizon_note(lang: str, as_of=None) -> Optional[str]:
    """Why the figures measured at the audit moment show no trend (None when every figure is per period)."""
    whole = [f for f in FIGURES if not f.per_period]
    if not whole:
        return None
    shorts = [t(f.short, lang) for f in whole]
    names = shorts[0] if len(shorts) == 1 else t("batch.list", lang, first=", ".join(shorts[:-1]), last=shorts[-1])
    if as_of is None:
        return t("batch.horizon.now", lang, figures=names)
    return t("batch.horizon.as_of", lang, figures=names, moment=fmt_.datetime_(as_of, lang))


# ---------------------------------------------------------------------------
# the plot


def _panels() -> list[tuple[str, list[TrendFigure]]]:
    """(title key, the figures drawn in it): the plan attainment, revenue with its plan, then the other per-period figures."""
    drawn = [f for f in FIGURES if f.per_period]
    keys = {f.key for f in drawn}
    panels = []
    if "planfact_team_revenue_attainment_pct" in keys:
        panels.append(("batch.fig.attainment", [_BY_KEY["planfact_team_revenue_attainment_pct"]]))
    if "planfact_team_revenue" in keys:
        panels.append(("batch.plot.revenue", [_BY_KEY["planfact_team_revenue"]]
                       + ([_BY_KEY["planfact_team_revenue_plan"]] if "planfact_team_revenue_plan" in keys else [])))
    used = {f.key for _, fs in panels for f in fs}
    panels += [(f.label, [f]) for f in drawn if f.key not in used]
    return panels


def plot(periods: Sequence[str], values: Mapping[str, Mapping[str, Optional[float]]], lang: str, currency: Optional[str],
         partial: Sequence[str] = ()):
    """The per-period figures across ``periods`` as a matplotlib Figure: one small multiple per figure.

    ``values``: period -> :func:`figure_values`. The plan attainment carries a 100 % line, revenue
    its plan (dashed); a missing value is a gap. Periods are labelled as they are named
    (``2026-10``, ``2026-W41``, ``2026-10-14``); ticks are formatted by :mod:`salesaudit.report.format`.
    Periods in ``partial`` (partly covered by the data) are shaded. None when no period recorded any
    figure drawn. The figure is not registered with pyplot.
    """
    panels = _panels()
    if not periods or not panels:
        return None
    series = {f.key: [values.get(p, {}).get(f.key) for p in periods] for _, fs in panels for f in fs}
    if all(v is None for vs in series.values() for v in vs):
        return None

    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

    unit = currency_unit(currency, lang)
    n = len(periods)
    ncol = 1 if len(panels) == 1 else 2
    nrow = math.ceil(len(panels) / ncol)
    with _style():
        fig = Figure(figsize=(5.6 * ncol, 3.3 * nrow + 0.3))
        axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
        x = list(range(n))
        step = max(1, math.ceil(n / 12))  # at most about twelve period labels per panel
        for ax, (title_key, figs) in zip(axes, panels):
            kind = figs[0].kind
            for j, i in enumerate(i for i, p in enumerate(periods) if p in set(partial)):
                ax.axvspan(i - 0.5, i + 0.5, color="#f0a020", alpha=0.15, lw=0, label=t("batch.plot.partial", lang) if j == 0 else None)
            for i, f in enumerate(figs):
                ys = [math.nan if v is None else v for v in series[f.key]]
                if len(figs) > 1 and i > 0:  # the plan beside the fact
                    ax.plot(x, ys, "--", color="grey", marker="o", markersize=3, label=t("planfact.plot.plan", lang))
                else:
                    ax.plot(x, ys, "-", color="C0", marker="o", markersize=4,
                            label=t("planfact.plot.fact", lang) if len(figs) > 1 else None)
            if figs[0].key == "planfact_team_revenue_attainment_pct":
                ax.axhline(100, color="C3", lw=1, ls=":", label=t("batch.plot.plan_line", lang, pct=fmt_.percent(1, lang, 0)))
                ax.set_ylim(bottom=0, top=max([100.0] + [v for v in series[figs[0].key] if v is not None]) * 1.12)
                ax.legend(loc="lower left", fontsize=8)
            elif len(figs) > 1 or partial:
                ax.legend(loc="best", fontsize=8)
            if kind == "pct":
                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_.percent(v / 100, lang, 0)))
            elif kind == "share":
                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_.percent(v, lang, 0)))
            else:
                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_.money(v, lang, currency)))
            if kind != "pct":  # amounts and shares from zero, with room above the highest point
                top = max([0.0] + [v for f in figs for v in series[f.key] if v is not None])
                ax.set_ylim(bottom=0, top=top * 1.12 if top > 0 else 1)
            ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.xaxis.set_major_locator(FixedLocator(x[::step]))
            ax.set_xticklabels([periods[i] for i in x[::step]], rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center")
            ax.set_xlim(-0.5, n - 0.5)
            ax.set_title(t(title_key, lang, unit=unit), fontsize=10, loc="left")
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        fig.tight_layout()
    return fig


def _style():
    """The reports' plot style (seaborn whitegrid), text kept as text in an SVG, deterministic ids."""
    import seaborn as sns
    from matplotlib import rc_context

    return rc_context({**sns.axes_style("whitegrid"), **sns.plotting_context("notebook", font_scale=0.85),
                       "svg.fonttype": "none", "svg.hashsalt": "salesaudit"})


def plot_svg(periods: Sequence[str], values: Mapping[str, Mapping[str, Optional[float]]], lang: str,
             currency: Optional[str], partial: Sequence[str] = ()) -> Optional[str]:
    """:func:`plot` as an inline ``<svg>`` element for an HTML page (None when there is nothing to draw)."""
    fig = plot(periods, values, lang, currency, partial)
    if fig is None:
        return None
    buf = io.StringIO()
    with _style():
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # no XML declaration or DOCTYPE inside the HTML page
    label = t("batch.plot.title", lang)
    return re.sub(r"^<svg ", f'<svg role="img" aria-label="{_attr(label)}" class="trend" ', svg, count=1)


def _attr(text: str) -> str:
    import html

    return html.escape(text, quote=True)
