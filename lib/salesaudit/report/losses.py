"""Where, how and why deals are lost, as page blocks in one language, from a :class:`~salesaudit.analysis.losses.LossesResult`.

:func:`blocks` returns the section (a heading, tables, one bar plot, the managers against the rest
of the team) for the funnel page to include. Words come from the catalogue (``losses.*``), stage
names from the funnel, reasons are the client's own text, numbers go through
:mod:`salesaudit.report.format`.
"""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from . import format as fmt_
from .i18n import t
from .page import Figure, Heading, Table, Text
from .show import p_text

__all__ = ["blocks", "where_table", "how_table", "why_table", "groups_table", "flags_table", "not_judged_table", "plot", "points"]


def points(diff, lang: str, low=None, high=None) -> str:
    """A difference of two shares in percentage points, signed, with its interval when given: ``+12.3 pp (+5.1 to +19.0)``.

    >>> points(0.1234, "en"), points(0.35, "en", 0.21, 0.47)
    ('+12.3 pp', '+35.0 pp (+21.0 to +47.0)')
    """
    value = fmt_.number(100 * diff, lang, 1, sign=True)
    if low is None or high is None or fmt_.missing(low) or fmt_.missing(high):
        return t("losses.pp", lang, value=value)
    return t("losses.pp_ci", lang, value=value, low=fmt_.number(100 * low, lang, 1, sign=True), high=fmt_.number(100 * high, lang, 1, sign=True))


def _stage(key, r, lang: str) -> str:
    return t("losses.stage.unknown", lang) if pd.isna(key) else r.funnel.label(str(key), lang)


def _reason(kind: str, reason, lang: str) -> str:
    if kind == "unknown":
        return t("losses.reason.unknown", lang)
    if kind == "other":
        return t("losses.reason.other", lang)
    return str(reason)


def _pct(values, lang: str) -> list[str]:
    return [fmt_.percent(v, lang, 1) for v in values]


def _money(values, r, lang: str) -> list[str]:
    return [fmt_.money(v, lang, r.currency) for v in values]


def _has_amount(r) -> bool:
    """Whether the lost deals carry an amount (Maven's lost opportunities have none: 0)."""
    return bool((r.groups_["amount"].fillna(0) > 0).any())


def _counts(r, frame: pd.DataFrame, first: dict, lang: str) -> pd.DataFrame:
    out = dict(first)
    out[t("losses.col.lost", lang)] = frame["lost"].to_numpy()
    out[t("losses.col.share", lang)] = _pct(frame["share"], lang)
    if _has_amount(r):
        out[t("losses.col.amount", lang)] = _money(frame["amount"], r, lang)
    return pd.DataFrame(out)


def where_table(r, lang: str) -> pd.DataFrame:
    """The team's lost deals by the stage they were lost at."""
    return _counts(r, r.where_, {t("losses.col.stage", lang): [_stage(k, r, lang) for k in r.where_["stage"]]}, lang)


def how_table(r, lang: str) -> pd.DataFrame:
    """The team's lost deals by lost terminal."""
    return _counts(r, r.how_, {t("losses.col.terminal", lang): [r.funnel.label(str(k), lang) for k in r.how_["terminal"]]}, lang)


def why_table(r, lang: str) -> pd.DataFrame:
    """The team's lost deals by reason: the top reasons, other reasons, no reason given."""
    w = r.why_
    return _counts(r, w, {t("losses.col.reason", lang): [_reason(k, x, lang) for k, x in zip(w["kind"], w["reason"])]}, lang)


def groups_table(r, lang: str) -> pd.DataFrame:
    """Lost deals per owner group: the team, then deals without a manager, of system owners, of the head of sales."""
    g = r.groups_
    out = {t("losses.col.group", lang): [t(f"losses.group.{x}", lang) for x in g["owner_group"]], t("losses.col.lost", lang): g["lost"].to_numpy()}
    if _has_amount(r):
        out[t("losses.col.amount", lang)] = _money(g["amount"], r, lang)
    out[t("losses.col.no_reason", lang)] = g["no_reason"].to_numpy()
    out[t("losses.col.unknown_stage", lang)] = g["unknown_stage"].to_numpy()
    return pd.DataFrame(out)


def _compared(dim: str, cat, r, lang: str) -> str:
    if dim == "terminal":
        return t("losses.dim.terminal", lang, name=r.funnel.label(str(cat), lang))
    if dim == "reason":
        return t("losses.dim.reason", lang, name=str(cat))
    return t("losses.dim.no_reason", lang)


def flags_table(r, lang: str) -> pd.DataFrame:
    """Managers who lose deals one way significantly and materially more (or less) often than the rest of the team, more often first."""
    m = r.managers_
    f = m[m["verdict"].isin(["worse", "better"])]
    names = r.manager_names
    level = fmt_.percent(1 - r.alpha, lang, 0)
    return pd.DataFrame({
        t("losses.col.manager", lang): [names.get(x, x) for x in f["manager"]],
        t("losses.col.compared", lang): [_compared(d, c, r, lang) for d, c in zip(f["dimension"], f["category"])],
        t("losses.col.lost_deals", lang): f["lost"].to_numpy(),
        t("losses.col.his_share", lang, level=level): [f"{fmt_.percent(s, lang, 1)} ({fmt_.percent(lo, lang, 1)}–{fmt_.percent(hi, lang, 1)})"
                                           for s, lo, hi in zip(f["share"], f["ci_low"], f["ci_high"])],
        t("losses.col.rest_share", lang): _pct(f["rest_share"], lang),
        t("losses.col.diff", lang, level=level): [points(d, lang, lo, hi) for d, lo, hi in zip(f["diff"], f["diff_low"], f["diff_high"])],
        t("losses.col.p_adj", lang): [p_text(p, lang) for p in f["p_adjusted"]],
        t("losses.col.verdict", lang): [t(f"losses.verdict.{v}", lang) for v in f["verdict"]],
    })


def not_judged_table(r, lang: str) -> pd.DataFrame:
    """Managers with too few lost deals to be judged, the most first."""
    m = r.managers_
    per = m.drop_duplicates("manager")
    per = per[~per["judgeable"].astype(bool)].sort_values(["lost", "manager"], ascending=[False, True], kind="stable")
    names = r.manager_names
    return pd.DataFrame({
        t("losses.col.manager", lang): [names.get(x, x) for x in per["manager"]],
        t("losses.col.lost_deals", lang): per["lost"].to_numpy(),
        t("losses.col.verdict", lang): [t("losses.verdict.not_judged", lang)] * len(per),
    })


# ---------------------------------------------------------------------------
# the plot


def _where_known(r) -> bool:
    """Whether the stage of any lost deal is known (a stage history)."""
    return bool(r.where_["stage"].notna().any() and r.where_.loc[r.where_["stage"].notna(), "lost"].sum() > 0)


def _panels(r) -> list[str]:
    """The plot's panels: where (when any stage is known), how (several lost terminals), why (when reasons are given)."""
    return (["where"] if _where_known(r) else []) + (["how"] if r.several_terminals else []) + (["why"] if r.has_reasons else [])


def plot(r, lang: str):
    """Bars of the team's lost deals: where (stacked by lost terminal when there are several), how, why; None when there is nothing to draw."""
    if not _panels(r):
        return None
    from .show import plotting

    plt, sns = plotting()
    panels = _panels(r)
    heights = {"where": len(r.where_), "how": len(r.how_), "why": len(r.why_)}
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 0.45 * max(heights[p] for p in panels) + 1.6), squeeze=False)
    colors = sns.color_palette("deep", max(len(r.funnel.lost_stages), 3))
    for ax, panel in zip(axes.flat, panels):
        if panel == "where":
            labels = [_stage(k, r, lang) for k in r.where_["stage"]]
            y = np.arange(len(labels))[::-1]
            left = np.zeros(len(labels))
            cross = r.cross_
            for i, term in enumerate(r.funnel.lost_stages):
                part = cross[cross["terminal"] == term]
                counts = [int(part.loc[(part["stage"].isna() if pd.isna(k) else (part["stage"] == k)), "lost"].sum()) for k in r.where_["stage"]]
                ax.barh(y, counts, left=left, color=colors[i], label=r.funnel.label(term, lang) if r.several_terminals else None)
                left += counts
            totals, shares = r.where_["lost"].to_numpy(), r.where_["share"].to_numpy()
            if r.several_terminals:
                ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=min(3, len(r.funnel.lost_stages)), frameon=False)
        elif panel == "how":
            labels = [r.funnel.label(str(k), lang) for k in r.how_["terminal"]]
            y = np.arange(len(labels))[::-1]
            totals, shares = r.how_["lost"].to_numpy(), r.how_["share"].to_numpy()
            ax.barh(y, totals, color=[colors[i] for i in range(len(labels))])
        else:
            labels = [textwrap.shorten(_reason(k, x, lang), 40, placeholder="…") for k, x in zip(r.why_["kind"], r.why_["reason"])]
            y = np.arange(len(labels))[::-1]
            totals, shares = r.why_["lost"].to_numpy(), r.why_["share"].to_numpy()
            ax.barh(y, totals, color=["#bbbbbb" if k != "given" else "#4c72b0" for k in r.why_["kind"]])
        top = max(float(np.max(totals)) if len(totals) else 0.0, 1.0)
        for yi, n, s in zip(y, totals, shares):
            ax.text(n + top * 0.02, yi, f"{fmt_.integer(n, lang)} · {fmt_.percent(s, lang, 0)}", va="center", fontsize=8)
        ax.set_yticks(y, labels)
        ax.set_xlim(0, top * 1.35)
        ax.set_xlabel(t("losses.plot.lost", lang))
        ax.set_title(t(f"losses.plot.{panel}", lang), fontsize=11)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# the section


def blocks(r, lang: str) -> list:
    """The losses section: where, how and why the team's deals are lost, then managers against the rest of the team."""
    out: list = [Heading(t("losses.title", lang))]
    if r.lost == 0:
        return out + [Text(t("losses.none", lang))]
    if _has_amount(r):
        out.append(Text(t("losses.intro", lang, lost=fmt_.integer(r.lost, lang), amount=fmt_.money(r.how_["amount"].sum(min_count=1), lang, r.currency))))
    else:
        out.append(Text(t("losses.intro_no_amount", lang, lost=fmt_.integer(r.lost, lang))))
    fig = plot(r, lang)
    if fig is not None:
        out.append(Figure(fig))

    out.append(Heading(t("losses.where", lang), 3))
    if _where_known(r):
        out.append(Table(where_table(r, lang)))
    unknown = r.where_.loc[r.where_["stage"].isna(), "share"].sum()
    if unknown > 0:
        out.append(Text(t("losses.where_unknown", lang, share=fmt_.percent(unknown, lang, 1))))

    out.append(Heading(t("losses.how", lang), 3))
    out.append(Table(how_table(r, lang)) if r.several_terminals else Text(t("losses.one_terminal", lang)))

    out.append(Heading(t("losses.why", lang), 3))
    if r.has_reasons:
        note = t("losses.reasons_note", lang, top=fmt_.integer(r.top_reasons, lang)) if (r.why_["kind"] == "other").any() else t("losses.reasons_note_all", lang)
        out += [Text(note), Table(why_table(r, lang))]
    else:
        out.append(Text(t("losses.no_reasons", lang)))

    if len(r.groups_) > 1:
        out += [Heading(t("losses.groups", lang), 3), Table(groups_table(r, lang))]

    m = r.managers_
    if len(m):
        tests = int(m["judgeable"].sum())
        out += [Heading(t("losses.managers", lang), 3),
                Text(t("losses.managers_note", lang, tests=fmt_.integer(tests, lang), alpha=fmt_.percent(r.alpha, lang, 0),
                       min_effect=t("losses.pp", lang, value=fmt_.number(100 * r.min_effect, lang, 0)), min_n=fmt_.integer(r.min_n, lang)))]
        flagged = flags_table(r, lang)
        out.append(Table(flagged) if len(flagged) else Text(t("losses.no_flags", lang)))
        few = not_judged_table(r, lang)
        if len(few):
            out += [Text(t("losses.not_judged", lang)), Table(few)]
    else:
        out += [Heading(t("losses.managers", lang), 3), Text(t("losses.nothing_to_compare", lang))]
    return out
