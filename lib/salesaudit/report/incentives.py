"""The incentives page (notebook 05) in one language, made from an :class:`~salesaudit.incentives.result.IncentivesResult`.

Also the charts and report tables of notebook 05 (labels ``incentives.*``), moved here from
``salesaudit.incentives.plots``: the head's pay by month, the cost distribution, the payout curves,
the focus model (:func:`plot_history`, :func:`plot_cost_distribution`, :func:`plot_payout_curves`,
:func:`plot_focus`), report copies of the tables (:func:`display`, :func:`assumptions_table`), a
scheme in words (:func:`describe_scheme`) and the seeds' claim as the focus model answers it
(:func:`explanation`, moved from :mod:`salesaudit.incentives.focus`). Texts come from the message
catalogue; nothing here computes a number.
"""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ..incentives.focus import FocusResult, seeds_claim
from ..incentives.schemes import Base, FocusUnits, GrowthPercent, KpiBasket, PlanPercent, RevenuePercent, Scheme
from . import format as fmt_
from .format import number as fmt_number
from .format import percent as fmt_percent
from .i18n import t
from .page import Figure, Heading, Page, Table, Text
from .show import plotting
from .stalls import money

__all__ = ["page", "plot_history", "plot_cost_distribution", "plot_payout_curves", "plot_focus", "display", "scheme_names",
           "assumptions_table", "describe_scheme", "explanation", "formatted", "answer_sentence", "answer_table", "answer_html", "plot_answer"]


# --------------------------------------------------------------------------- charts and tables (moved from incentives.plots)


def _plt():
    return plotting()[0]


def scheme_names(schemes: dict, lang: str) -> dict[str, str]:
    return {k: s.name(lang) for k, s in schemes.items()}


def _colors(keys) -> dict[str, str]:
    return {k: f"C{i}" for i, k in enumerate(keys)}


def plot_history(hist: pd.DataFrame, names: dict, lang: str):
    """The head's pay by month under each scheme (top) and the department's plan attainment (bottom)."""
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(10, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    col = _colors(names)
    for key in names:
        g = hist[hist["scheme"] == key]
        if len(g):
            ax.plot(g["month"], g["total"] / 1000, marker="o", ms=3, color=col[key], label=names[key])
    ax.set_ylabel(t("incentives.plot.pay_thousands", lang))
    ax.set_title(t("incentives.plot.history", lang))
    ax.legend(fontsize=8, loc="upper left")
    g = hist[hist["scheme"] == next(iter(names))] if len(names) else hist.iloc[:0]
    ax2.bar(g["month"], g["attainment_pct"], color="grey", alpha=0.6)
    ax2.axhline(100, color="C3", lw=1)
    ax2.set_ylabel(t("incentives.plot.attainment", lang))
    ax2.tick_params(axis="x", rotation=60, labelsize=8)
    fig.tight_layout()
    return fig


def plot_cost_distribution(mc, names: dict, lang: str):
    """The yearly cost of each scheme over the simulated years, with P50 and P90."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.8))
    col = _colors(names)
    allc = mc.annual[mc.annual["scheme"].isin(list(names))]["cost"] / 1e6
    bins = np.linspace(allc.min(), allc.max(), 60) if len(allc) and allc.max() > allc.min() else 30
    summ = mc.summary.set_index("scheme")
    for key in names:
        c = mc.annual.loc[mc.annual["scheme"] == key, "cost"] / 1e6
        ax.hist(c, bins=bins, color=col[key], alpha=0.45, label=names[key])
        ax.axvline(summ.loc[key, "p50"] / 1e6, color=col[key], lw=1.5)
        ax.axvline(summ.loc[key, "p90"] / 1e6, color=col[key], lw=1.5, ls=":")
    ax.set_xlabel(t("incentives.plot.cost_year_mln", lang))
    ax.set_ylabel(t("incentives.plot.years", lang))
    ax.set_title(t("incentives.plot.cost_distribution", lang, n=mc.n_sims))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_payout_curves(curves: pd.DataFrame, names: dict, lang: str, attainment: np.ndarray | None = None):
    """Pay in a month against the department's plan attainment; the history's attainment below."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.8))
    col = _colors(names)
    for key in names:
        g = curves[curves["scheme"] == key]
        ax.plot(g["attainment_pct"], g["pay"] / 1000, color=col[key], label=names[key])
    if attainment is not None and len(attainment):
        for a in attainment:
            ax.axvline(a, color="grey", alpha=0.25, lw=1)
    ax.axvline(100, color="C3", lw=1, ls="--")
    key = "incentives.plot.curve_x" if curves.attrs.get("has_plan", True) else "incentives.plot.curve_x_noplan"
    ax.set_xlabel(t(key, lang))
    ax.set_ylabel(t("incentives.plot.pay_thousands", lang))
    ax.set_title(t("incentives.plot.curves", lang))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_focus(res, names: dict, lang: str):
    """Left: the head's discounted pay against the share of hours on own deals (the chosen split
    marked). Middle: the department's 12-month revenue against the split. Right: the department's
    monthly revenue at each scheme's chosen split."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    col = _colors(names)
    tb = res.table.set_index("scheme")
    for key in names:
        g = res.curves[res.curves["scheme"] == key]
        rel = g["head_objective"] / max(float(g["head_objective"].abs().max()), 1e-9)
        axes[0].plot(100 * g["share"], rel, color=col[key], label=names[key])
        s = tb.loc[key, "selling_share"]
        axes[0].plot([100 * s], [float(rel[np.isclose(g["share"], s)].iloc[0])], "o", color=col[key])
        axes[1].plot(100 * g["share"], g["dept_revenue"] / 1e6, color=col[key])
        axes[1].plot([100 * s], [tb.loc[key, "dept_revenue"] / 1e6], "o", color=col[key])
        m = res.monthly[res.monthly["scheme"] == key]
        axes[2].plot(m["month"] + 1, m["dept_revenue"] / 1e6, marker="o", ms=3, color=col[key])
    axes[0].set_xlabel(t("incentives.plot.selling_share", lang))
    axes[0].set_ylabel(t("incentives.plot.head_objective", lang))
    axes[0].set_title(t("incentives.plot.focus_head", lang), fontsize=10)
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel(t("incentives.plot.selling_share", lang))
    axes[1].set_ylabel(t("incentives.plot.revenue_12_mln", lang, months=res.assumptions["months"]))
    axes[1].set_title(t("incentives.plot.focus_dept", lang), fontsize=10)
    axes[2].set_xlabel(t("incentives.plot.month_no", lang))
    axes[2].set_ylabel(t("incentives.plot.revenue_month_mln", lang))
    axes[2].set_title(t("incentives.plot.focus_monthly", lang), fontsize=10)
    fig.tight_layout()
    return fig


_COLS = {
    "scheme": "incentives.col.scheme", "month": "incentives.col.month", "months": "incentives.col.months", "dept_revenue": "incentives.col.dept_revenue",
    "attainment_pct": "incentives.col.attainment_pct", "base": "incentives.col.base", "variable": "incentives.col.variable", "total": "incentives.col.total",
    "cost": "incentives.col.cost", "cost_pct_revenue": "incentives.col.cost_pct_revenue", "cost_pct_margin": "incentives.col.cost_pct_margin",
    "mean_pay": "incentives.col.mean_pay", "min_pay": "incentives.col.min_pay", "max_pay": "incentives.col.max_pay", "sd_pay": "incentives.col.sd_pay",
    "cv_pct": "incentives.col.cv_pct", "variable_share_pct": "incentives.col.variable_share_pct", "total_cost": "incentives.col.total_cost",
    "mean": "incentives.col.mean", "p10": "incentives.col.p10", "p50": "incentives.col.p50", "p90": "incentives.col.p90", "reserve": "incentives.col.reserve",
    "monthly_p50": "incentives.col.monthly_p50", "monthly_p90": "incentives.col.monthly_p90", "cost_at_mean_outcome": "incentives.col.cost_at_mean_outcome",
    "jensen_gap": "incentives.col.jensen_gap", "pct_revenue": "incentives.col.pct_revenue",
    "selling_share": "incentives.col.selling_share", "selling_hours": "incentives.col.selling_hours", "coaching_hours": "incentives.col.coaching_hours",
    "head_pay": "incentives.col.head_pay", "owner_profit": "incentives.col.owner_profit", "dept_revenue_first2": "incentives.col.dept_revenue_first2",
    "owner_best_share": "incentives.col.owner_best_share", "owner_best_profit": "incentives.col.owner_best_profit",
    "pull_in_mean": "incentives.col.pull_in_mean", "pull_in_max": "incentives.col.pull_in_max", "push_out_mean": "incentives.col.push_out_mean",
    "push_out_max": "incentives.col.push_out_max", "discount_mean": "incentives.col.discount_mean", "discount_max": "incentives.col.discount_max",
    "months_gaming_pays_pct": "incentives.col.months_gaming_pays_pct", "owner_loss_discount_mean": "incentives.col.owner_loss_discount_mean",
    "parameter": "incentives.col.parameter", "value": "incentives.col.value", "source": "incentives.col.source",
}

_SHARES = ("selling_share", "owner_best_share")


def display(df: pd.DataFrame, names: dict, lang: str, digits: int = 0) -> pd.DataFrame:
    """A report copy: scheme names, shares in %, money rounded, headers in ``lang``."""
    out = df.copy()
    if "scheme" in out.columns:
        out["scheme"] = out["scheme"].map(lambda k: names.get(k, k))
    for c in out.columns:
        if c in _SHARES:
            out[c] = (100 * out[c]).round(0)
        elif "pct" in c:
            out[c] = out[c].astype(float).round(1) + 0.0
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(digits) + 0.0  # no "-0"
    return out.rename(columns={c: t(k, lang) for c, k in _COLS.items() if c in out.columns})


#: columns that hold counts or hours (whole numbers, not money)
_COUNTS = ("months", "selling_hours", "coaching_hours")


def formatted(df: pd.DataFrame, names: dict, lang: str, currency: str | None = "RUB") -> pd.DataFrame:
    """A table as text for ``lang``: scheme names, money with ``currency`` (``1 234 567 ₽``), shares
    and percentages with the locale's sign and decimal comma, headers from the catalogue. Columns
    named after a scheme key (a wide table) are money and take the scheme's name."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        v = df[c]
        if c == "scheme":
            out[c] = v.map(lambda k: names.get(k, k))
        elif not pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v):
            out[c] = v.astype(str)
        elif c in _SHARES:
            out[c] = [fmt_percent(x, lang, 0) for x in v]
        elif "pct" in c:
            out[c] = [fmt_percent(None if pd.isna(x) else x / 100, lang, 1) for x in v]
        elif c in _COUNTS:
            out[c] = [fmt_number(x, lang, 0) for x in v]
        else:
            out[c] = [fmt_.money(x, lang, currency) for x in v]
    heads = {c: t(k, lang) for c, k in _COLS.items() if c in out.columns}
    heads.update({k: n for k, n in names.items() if k in out.columns})
    out = out.rename(columns=heads)
    out.columns.name = None
    return out


def _answer_heads(ans: pd.DataFrame, lang: str) -> dict:
    months = fmt_.integer(ans.attrs.get("months") or 0, lang)
    return {"scheme": t("incentives.col.scheme", lang), "cost_p50": t("app.col.cost_p50", lang), "cost_p90": t("app.col.cost_p90", lang),
            "dept_revenue": t("app.col.dept_revenue", lang, months=months), "owner_profit": t("app.col.owner_profit", lang, months=months)}


def answer_table(ans: pd.DataFrame, names: dict, lang: str, currency: str | None = "RUB") -> pd.DataFrame:
    """The answer (:func:`salesaudit.incentives.summary.answer`) as a report table, the winner first."""
    a = ans.sort_values("best", ascending=False, kind="stable")
    cols = ["scheme", "cost_p50", "cost_p90"] + (["dept_revenue", "owner_profit"] if ans.attrs.get("months") else [])
    out = pd.DataFrame({c: ([names.get(k, k) for k in a[c]] if c == "scheme" else [fmt_.money(x, lang, currency) for x in a[c]]) for c in cols})
    return out.rename(columns=_answer_heads(ans, lang))


def answer_sentence(ans: pd.DataFrame, names: dict, lang: str, currency: str | None = "RUB") -> str:
    """Which scheme wins, by what, over which horizon (one sentence, Markdown-free)."""
    at = ans.attrs
    row = ans.set_index("scheme")
    win, second = at["winner"], at["runner_up"]
    fill = {"scheme": _quoted(names.get(win, win), lang), "months": fmt_.integer(at["months"] or at["cost_months"], lang),
            "p50": fmt_.money(row.loc[win, "cost_p50"], lang, currency), "p90": fmt_.money(row.loc[win, "cost_p90"], lang, currency)}
    if at["metric"] == "owner_profit":
        fill["profit"] = fmt_.money(row.loc[win, "owner_profit"], lang, currency)
        if second is None:
            return t("app.answer.profit_one", lang, **fill)
        return t("app.answer.profit", lang, other=_quoted(names.get(second, second), lang),
                 gap=fmt_.money(row.loc[win, "owner_profit"] - row.loc[second, "owner_profit"], lang, currency), **fill)
    if second is None:
        return t("app.answer.cost_one", lang, **fill)
    return t("app.answer.cost", lang, other=_quoted(names.get(second, second), lang),
             gap=fmt_.money(row.loc[second, "cost_p50"] - row.loc[win, "cost_p50"], lang, currency), **fill)


def plot_answer(ans: pd.DataFrame, names: dict, lang: str):
    """The answer at a glance: the owner's profit over the horizon (left, without a focus result
    left out) and the head's yearly cost, P50 bar and P90 tick (right), in millions; the winner dark."""
    from matplotlib.ticker import FuncFormatter

    plt = _plt()
    a = ans.iloc[::-1]
    has_profit = bool(ans.attrs.get("months"))
    fig, axes = plt.subplots(1, 2 if has_profit else 1, figsize=(8.6, 0.5 + 0.42 * len(a) + 0.6), sharey=True, squeeze=False)
    axes = axes[0]
    y = np.arange(len(a))
    col = ["#2e7d32" if b else "#9e9e9e" for b in a["best"]]
    tick = FuncFormatter(lambda v, _: fmt_number(v, lang, 1, trim=True))
    i = 0
    if has_profit:
        axes[0].barh(y, a["owner_profit"] / 1e6, color=col)
        axes[0].set_title(textwrap.fill(t("app.plot.profit", lang, months=fmt_.integer(ans.attrs["months"], lang)), 34), fontsize=9)
        i = 1
    ax = axes[i]
    ax.barh(y, a["cost_p50"] / 1e6, color=col, alpha=0.8)
    ax.plot(a["cost_p90"] / 1e6, y, "|", color="black", ms=14, mew=2)
    ax.set_title(textwrap.fill(t("app.plot.cost", lang), 34), fontsize=9)
    axes[0].set_yticks(y, [names.get(k, k) for k in a["scheme"]], fontsize=9)
    for x in axes:
        x.xaxis.set_major_formatter(tick)
        x.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def answer_html(ans: pd.DataFrame, names: dict, lang: str, currency: str | None = "RUB") -> str:
    """The answer for the owner's app: the sentence and the table, the winner's row marked; every
    figure cell carries its value (``data-value``, rounded) and an id ``sa-answer-<scheme>-<column>``."""
    import html as html_

    heads = _answer_heads(ans, lang)
    cols = ["cost_p50", "cost_p90"] + (["dept_revenue", "owner_profit"] if ans.attrs.get("months") else [])
    th = "".join(f"<th>{html_.escape(heads[c])}</th>" for c in ["scheme", *cols])
    rows = []
    for r in ans.sort_values("best", ascending=False, kind="stable").itertuples():
        cells = "".join(f"<td id='sa-answer-{r.scheme}-{c}' data-value='{round(getattr(r, c))}'>{html_.escape(fmt_.money(getattr(r, c), lang, currency))}</td>" for c in cols)
        mark = " class='sa-best'" if r.best else ""
        rows.append(f"<tr{mark}><td>{html_.escape(names.get(r.scheme, r.scheme))}</td>{cells}</tr>")
    return (f"<p class='sa-answer-sentence'>{html_.escape(answer_sentence(ans, names, lang, currency))}</p>"
            f"<table class='sa-answer-table'><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def assumptions_table(focus_assumptions: dict, lang: str) -> pd.DataFrame:
    """The focus model's assumptions as a two-column table, with where each came from."""
    src = focus_assumptions.get("sources", {})
    rows = []
    for k, v in focus_assumptions.items():
        if k == "sources":
            continue
        rows.append({"parameter": t(f"incentives.focus.param.{k}", lang), "value": fmt_number(v, lang, 0 if abs(v) >= 1000 else None),
                     "source": t(f"incentives.source.{'data' if src.get(k) == 'data' else ('derived' if k in src and src[k] != 'assumption' else 'assumption')}", lang)})
    return display(pd.DataFrame(rows), {}, lang)


def describe_scheme(scheme, lang: str) -> str:
    """One Markdown line per component of a scheme, in ``lang``."""
    parts = []
    for c in scheme.components:
        if isinstance(c, Base):
            parts.append(t("incentives.desc.base", lang, amount=money(c.amount, lang)))
        elif isinstance(c, PlanPercent):
            for name in ("personal", "department"):
                p = getattr(c, name)
                if p is not None:
                    plan = money(p.plan, lang) if name == "personal" and getattr(p, "plan", None) is not None else t("incentives.desc.plan_from_data", lang)
                    parts.append(t(f"incentives.desc.{name}", lang, bonus=money(p.bonus_at_plan, lang), threshold=_pct(p.threshold_pct, lang),
                                   cap="—" if p.cap_pct is None else _pct(p.cap_pct, lang), plan=plan))
        elif isinstance(c, RevenuePercent):
            parts.append(t(f"incentives.desc.revenue_percent.{c.base}", lang, rate=_pct(c.rate_pct, lang), cap="—" if c.cap is None else money(c.cap, lang)))
        elif isinstance(c, GrowthPercent):
            parts.append(t(f"incentives.desc.growth.{c.compare}", lang, rate=_pct(c.rate_pct, lang), cap="—" if c.cap is None else money(c.cap, lang)))
        elif isinstance(c, FocusUnits):
            parts.append(t("incentives.desc.focus_units", lang, per_unit=money(c.per_unit, lang), products=", ".join(c.products), min_units=c.min_units))
        elif isinstance(c, KpiBasket):
            kp = "; ".join(t("incentives.desc.kpi", lang, kpi=t(f"incentives.kpi.{k.kpi}", lang), weight=fmt_percent(k.weight, lang, 0), threshold=_pct(k.threshold_pct, lang),
                             acc=fmt_number(k.accelerator, lang), cap=_pct(k.cap_pct, lang)) for k in c.kpis)
            parts.append(t("incentives.desc.kpi_basket", lang, bonus=money(c.target_bonus, lang), kpis=kp))
    if scheme.cap is not None:
        parts.append(t("incentives.desc.cap", lang, cap=money(scheme.cap, lang)))
    od = scheme.own_deals
    if od.hand_to_seller:
        rule = "hand"
    elif scheme.has_personal_plan:
        rule = "personal" if od.count_in_department else "personal_only"
    else:
        rule = "count" if od.count_in_department else "excluded"
    parts.append(t(f"incentives.desc.own_deals.{rule}", lang, pct=_pct(od.seller_commission_pct, lang)))
    head = f"**{scheme.name(lang)}**" + (f" — {scheme.description(lang)}" if scheme.description is not None else "")
    return head + "\n" + "\n".join(f"* {p}" for p in parts)


def explanation(result: FocusResult, schemes: dict[str, Scheme], lang: str) -> str:
    """The seeds' claim as the model answers it, in ``lang`` (Markdown), or an empty string when no
    compared scheme has a personal plan."""
    seeds = [k for k, s in schemes.items() if s.has_personal_plan]
    others = [k for k in schemes if k not in seeds]
    if not seeds or not others:
        return ""
    key = seeds[0]
    claim = seeds_claim(result, key, others)
    tb = result.table.set_index("scheme")
    me = tb.loc[key]
    lines = []
    for o in others:
        r = claim["against"][o]
        lines.append(t("incentives.focus.vs", lang, other=schemes[o].name(lang), share=fmt_percent(me["selling_share"], lang, 0),
                       other_share=fmt_percent(tb.loc[o, "selling_share"], lang, 0),
                       early=money(r["early_gain"], lang), year=money(r["revenue_gap"], lang), profit=money(r["profit_gap"], lang)))
    a = result.assumptions
    verdict = t("incentives.focus.claim_holds" if claim["holds"] else "incentives.focus.claim_fails", lang, scheme=schemes[key].name(lang))
    why = t("incentives.focus.why", lang, lag=a["coaching.lag"], carryover=fmt_percent(a["coaching.carryover"], lang, 0),
            discount=fmt_number(a["head_discount"], lang),
            rph=money(a["revenue_per_selling_hour"], lang))
    return verdict + "\n\n" + "\n".join(f"* {x}" for x in lines) + ("\n\n" + why if claim["holds"] else "")


# --------------------------------------------------------------------------- the page


def _g(x, lang: str) -> str:
    """A number without needless decimals, for the page's language (30.0 -> '30', 2.5 -> '2,5' in ru)."""
    return fmt_number(x, lang)


def _pct(x, lang: str) -> str:
    """A percentage given in percent (a scheme's 90 for 90 %), without needless decimals: '90 %', '12,5 %' (ru), '90%' (en)."""
    return fmt_percent(None if x is None else x / 100, lang, 3, trim=True)


def _share(x, lang: str) -> str:
    """A share as a whole percentage for the page's language (0.234 -> '23 %' in ru, '23%' in en)."""
    return fmt_percent(x, lang, 0)


def _quoted(name: str, lang: str) -> str:
    return f"«{name}»" if lang == "ru" else f"“{name}”"


def page(r, lang: str, live: bool = False, currency: str | None = "RUB") -> Page:
    """The page of notebook 05: the answer first, then how it was reached. ``live``: the owner's
    controls are at hand (the last section says so); ``currency``: the answer's amounts."""
    from ..incentives.summary import answer
    names = scheme_names(r.schemes, lang)
    a = r.assumptions
    p = Page(lang=lang)

    def head(key, level=2, **fmt):
        p.add(Heading(t(key, lang, **fmt), level))

    def text(key, **fmt):
        p.add(Text(t(key, lang, **fmt)))

    head("incentives.title", 1, client=r.client)
    if r.ok:
        ans = answer(r.monte_carlo, r.focus_)
        head("app.answer.section")
        p.add(Text(answer_sentence(ans, names, lang, currency)), Table(answer_table(ans, names, lang, currency)), Figure(plot_answer(ans, names, lang)))
    text("incentives.intro")
    text("incentives.assumed", margin=_pct(a.margin_pct, lang), nps="—" if a.nps is None else _g(a.nps, lang), ltv=money(a.ltv, lang),
         basis=t(f"incentives.basis.{r.revenue_basis}", lang))
    if r.head is not None:
        text("incentives.head", name=r.head_name, share=_share(r.head_share, lang))
    else:
        text("incentives.no_head")
    if not r.ok:
        text("incentives.no_data")
    elif not r.has_plans:
        text("incentives.no_plans")

    head("incentives.schemes_section")
    text("incentives.schemes_note", schemes=", ".join(_quoted(n, lang) for n in names.values()))
    p.add(*(Text(describe_scheme(s, lang)) for s in r.schemes.values()))

    if r.ok:
        head("incentives.history_section")
        text("incentives.history_note", first=r.first_month, last=r.last_month)
        p.add(Table(display(r.history_summary_, names, lang)), Figure(plot_history(r.history_, names, lang)))

        mc = r.monte_carlo
        head("incentives.mc_section")
        text("incentives.mc_note", n=mc.n_sims, months=mc.months, seed=r.seed, source=t(f"incentives.mc_source.{mc.source}", lang),
             mu=fmt_number(mc.fit["log_mean"], lang, 3, sign=True), sd=fmt_number(mc.fit["log_sd"], lang, 3), n_months=mc.fit["months"],
             what=t(f"incentives.mc_what.{'plan' if mc.fit['has_plan'] else 'mean'}", lang))
        p.add(Table(display(mc.summary, names, lang)), Figure(plot_cost_distribution(mc, names, lang)))
        text("incentives.mc_jensen", scheme=names[r.jensen_scheme], gap=money(r.jensen_gap, lang))
        head("incentives.curves_section", 3)
        text("incentives.curves_note")
        p.add(Figure(plot_payout_curves(r.curves_, names, lang, r.attainment_)))

    head("incentives.focus_section")
    fr = r.focus_
    if fr is not None:
        text("incentives.focus_note", months=a.focus.months, discount=_g(a.focus.head_discount, lang))
        p.add(Table(display(fr.table, names, lang)))
        head("incentives.focus_assumptions", 3)
        p.add(Table(assumptions_table(fr.assumptions, lang)), Figure(plot_focus(fr, names, lang)), Text(explanation(fr, r.schemes, lang)))
    else:
        text("incentives.focus_needs_plan")

    if r.ok:
        gm = r.gaming_
        head("incentives.gaming_section")
        text("incentives.gaming_note", amount=money(gm.attrs["shift_amount"], lang), discount=_pct(gm.attrs["discount_pct"], lang))
        p.add(Table(display(gm, names, lang)))

    head("incentives.widgets_section")
    text("incentives.widgets_note" if r.ok and live else "incentives.widgets_static")
    return p
