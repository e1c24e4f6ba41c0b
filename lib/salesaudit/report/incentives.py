"""The incentives page (notebook 05) in one language, made from an :class:`~salesaudit.incentives.result.IncentivesResult`.

Texts come from the message catalogue, tables and charts from :mod:`salesaudit.incentives.plots`;
nothing here computes a number.
"""
from __future__ import annotations

from ..incentives import plots as ip
from ..incentives.focus import explanation
from .format import number as fmt_number
from .format import percent as fmt_percent
from .i18n import t
from .page import Figure, Heading, Page, Table, Text
from .stalls import money

__all__ = ["page"]


def _g(x, lang: str) -> str:
    """A number without needless decimals, for the page's language (30.0 -> '30', 2.5 -> '2,5' in ru)."""
    return fmt_number(x, lang)


def _share(x, lang: str) -> str:
    """A share as a whole percentage for the page's language (0.234 -> '23 %' in ru, '23%' in en)."""
    return fmt_percent(x, lang, 0)


def _quoted(name: str, lang: str) -> str:
    return f"«{name}»" if lang == "ru" else f"“{name}”"


def page(r, lang: str, live: bool = False) -> Page:
    """The page of notebook 05. ``live``: the owner's controls follow the page (JupyterLab, Voilà)."""
    names = ip.scheme_names(r.schemes, lang)
    a = r.assumptions
    p = Page(lang=lang)

    def head(key, level=2, **fmt):
        p.add(Heading(t(key, lang, **fmt), level))

    def text(key, **fmt):
        p.add(Text(t(key, lang, **fmt)))

    head("incentives.title", 1, client=r.client)
    text("incentives.intro")
    text("incentives.assumed", margin=_g(a.margin_pct, lang), nps="—" if a.nps is None else _g(a.nps, lang), ltv=money(a.ltv, lang),
         file="params/incentives/" + r.assumptions_file, basis=t(f"incentives.basis.{r.revenue_basis}", lang))
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
    p.add(*(Text(ip.describe_scheme(s, lang)) for s in r.schemes.values()))

    if r.ok:
        head("incentives.history_section")
        text("incentives.history_note", first=r.first_month, last=r.last_month)
        p.add(Table(ip.display(r.history_summary_, names, lang)), Figure(ip.plot_history(r.history_, names, lang)))

        mc = r.monte_carlo
        head("incentives.mc_section")
        text("incentives.mc_note", n=mc.n_sims, months=mc.months, seed=r.seed, source=t(f"incentives.mc_source.{mc.source}", lang),
             mu=mc.fit["log_mean"], sd=mc.fit["log_sd"], n_months=mc.fit["months"], what=t(f"incentives.mc_what.{'plan' if mc.fit['has_plan'] else 'mean'}", lang))
        p.add(Table(ip.display(mc.summary, names, lang)), Figure(ip.plot_cost_distribution(mc, names, lang)))
        text("incentives.mc_jensen", scheme=names[r.jensen_scheme], gap=money(r.jensen_gap, lang))
        head("incentives.curves_section", 3)
        text("incentives.curves_note")
        p.add(Figure(ip.plot_payout_curves(r.curves_, names, lang, r.attainment_)))

    head("incentives.focus_section")
    fr = r.focus_
    if fr is not None:
        text("incentives.focus_note", months=a.focus.months, discount=_g(a.focus.head_discount, lang))
        p.add(Table(ip.display(fr.table, names, lang)))
        head("incentives.focus_assumptions", 3)
        p.add(Table(ip.assumptions_table(fr.assumptions, lang)), Figure(ip.plot_focus(fr, names, lang)), Text(explanation(fr, r.schemes, lang)))
    else:
        text("incentives.focus_needs_plan")

    if r.ok:
        gm = r.gaming_
        head("incentives.gaming_section")
        text("incentives.gaming_note", amount=money(gm.attrs["shift_amount"], lang), discount=_g(gm.attrs["discount_pct"], lang))
        p.add(Table(ip.display(gm, names, lang)))

    head("incentives.widgets_section")
    text("incentives.widgets_note" if r.ok and live else "incentives.widgets_static")
    return p
