"""The owner's controls (ipywidgets): pick 2–3 schemes, move their numbers, watch the results.

:class:`IncentiveApp` holds the history's inputs, one fixed set of simulated months (so that a
moved slider changes the scheme, not the dice) and the focus model's context. Every control
change rebuilds the edited scheme through the schema (:func:`~salesaudit.incentives.schemes.set_value`:
a value the schema refuses is shown as a message, not raised) and :meth:`IncentiveApp.refresh`
recomputes pay by month, the cost distribution, the payout curves and the focus result. The
latest numbers are in :attr:`IncentiveApp.state`; the charts are written into ``Output``
widgets as PNG display data (the visible result tab at once, the others when opened), so the
same code serves JupyterLab, Voilà (``make app``) and tests without a kernel.

In a batch run (papermill, nbval) :func:`interactive` is false and the notebook shows a sentence
instead of the controls, so the static report stays clean.
"""
from __future__ import annotations

import base64
import html
import io
import os

import pandas as pd

from ..errors import ParameterError, SalesauditError
from ..report import format as fmt_
from ..report.i18n import t
from ..report.incentives import display as table_display
from ..report.incentives import plot_cost_distribution, plot_focus, plot_history, plot_payout_curves
from ..report.stalls import money as _money
from .focus import focus, focus_context
from .history import history
from .montecarlo import monte_carlo, payout_curves, simulate_inputs
from .schemes import payout, set_value, tunables

__all__ = ["IncentiveApp", "interactive", "live", "app", "MAX_SCHEMES"]

MAX_SCHEMES = 3


def interactive() -> bool:
    """Whether the kernel serves a person (JupyterLab, Voilà) rather than a batch run."""
    env = os.environ
    return bool(env.get("VOILA_BASE_URL") or env.get("VOILA_SERVER_URL") or env.get("SERVER_SOFTWARE", "").startswith("voila") or env.get("JPY_SESSION_NAME"))


def live(result, forced=None) -> bool:
    """Whether notebook 05 shows the owner's controls: enough data and a person at the kernel (``forced``: True/False overrides the latter)."""
    return bool(result.ok and (interactive() if forced is None else forced))


def app(result, schemes_dir, lang: str) -> "IncentiveApp":
    """The owner's controls for an :class:`~salesaudit.incentives.result.IncentivesResult`: every scheme of ``schemes_dir`` to pick from."""
    from .schemes import load_schemes

    return IncentiveApp(load_schemes(schemes_dir), result.inputs_, result.assumptions, lang, result.seed, selected=result.widget_schemes, n_sims=result.widget_sims)


def _ipywidgets():
    """``ipywidgets``, imported when controls are built (it comes with the ``lab`` and ``app`` extras, not the core install)."""
    try:
        import ipywidgets
    except ImportError as exc:
        raise SalesauditError(
            "The owner's controls need ipywidgets, which is not installed. How to fix: install the `lab` or `app` extra "
            "(pip install 'salesaudit[lab]' or 'salesaudit[app]'), or run the notebook as a report (salesaudit run), "
            "which shows the results without the controls."
        ) from exc
    return ipywidgets


def _png(fig) -> dict:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": "<Figure>"}}


def _html(text: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": text, "text/plain": ""}}


class IncentiveApp:
    """Controls and live results for comparing pay schemes (see the module doc).

    ``schemes``: every scheme the owner may pick, by key; ``selected``: the keys shown first
    (at most :data:`MAX_SCHEMES`). ``inputs``: :func:`~salesaudit.incentives.history.monthly_inputs`.
    ``n_sims``: simulated years behind the cost distribution (fewer than the report's, for speed).
    """

    #: the result tabs, in order; only the visible one is drawn at once, the others when opened
    VIEWS = ("history", "cost", "curves", "focus")

    def __init__(self, schemes: dict, inputs: pd.DataFrame, assumptions, lang: str, seed: int, selected=None, n_sims: int = 2000, outcomes=None):
        w = _ipywidgets()

        self.original = dict(schemes)
        self.schemes = dict(schemes)
        self.inputs = inputs.copy()  # the assumption sliders rewrite its margin, NPS and LTV columns
        self.assumptions = assumptions.model_copy(deep=True)
        self.lang = lang
        self.seed = seed
        self.sims = simulate_inputs(inputs, self.assumptions, seed, outcomes=outcomes, n_sims=n_sims)
        self.context = focus_context(inputs, self.assumptions)
        self.month = str(inputs["month"].iloc[-1])
        self.state: dict = {}
        self._results: dict = {}
        self.sliders: dict[tuple, object] = {}
        self._syncing = False
        selected = list(selected or list(schemes)[:MAX_SCHEMES])[:MAX_SCHEMES]
        self.picker = w.SelectMultiple(options=[(s.name(lang), k) for k, s in schemes.items()], value=tuple(selected), rows=min(len(schemes), 6),
                                       description=t("incentives.widgets.pick", lang), style={"description_width": "initial"},
                                       layout=w.Layout(width="460px"))
        self.picker.add_class("sa-picker")
        self.picker.observe(self._on_pick, names="value")
        self.message = w.HTML("")
        self.payout_html = w.HTML("")
        self.payout_html.add_class("sa-payouts")
        self.controls = w.Tab()
        self.out_history, self.out_cost, self.out_curves, self.out_focus = (w.Output() for _ in range(4))
        self.results = results = w.Tab(children=[self.out_history, self.out_cost, self.out_curves, self.out_focus])
        for i, k in enumerate(self.VIEWS):
            results.set_title(i, t(f"incentives.widgets.{k}", lang))
        results.selected_index = 0
        results.observe(lambda ch: self._draw(self.VIEWS[ch["new"]]) if ch["new"] is not None else None, names="selected_index")
        self._dirty: set[str] = set()
        self.assumption_sliders = self._assumption_controls()
        self.widget = w.VBox([self.picker, self.message, self.controls, self.payout_html, results])
        self.widget.add_class("sa-incentives-app")
        self._build_controls()
        self.refresh()

    # ------------------------------------------------------------------ controls
    @property
    def selected(self) -> list[str]:
        return list(self.picker.value)[:MAX_SCHEMES]

    def _slider(self, key: str, tun: dict):
        w = _ipywidgets()

        path = tun["path"]
        label = t(f"incentives.field.{tun['field']}", self.lang)
        if "kpis" in path:
            kpi = self.schemes[key].components[path[1]].kpis[path[3]].kpi
            label = f"{t(f'incentives.kpi.{kpi}', self.lang)}: {label}"
        elif "personal" in path or "department" in path:
            label = f"{t('incentives.part.' + path[2], self.lang)}: {label}"
        fmt = ".2f" if tun["kind"] in ("rate", "weight", "factor") else ".0f"
        s = w.FloatSlider(value=tun["value"], min=tun["min"], max=max(tun["max"], tun["value"]), step=tun["step"], description=label,
                          continuous_update=False, readout_format=fmt, style={"description_width": "220px"}, layout=w.Layout(width="640px"))
        s.add_class("sa-slider")
        s.add_class("sa-" + key + "-" + "-".join(str(p) for p in path))
        s.observe(lambda ch, key=key, path=path: self._on_change(key, path, ch["new"]), names="value")
        self.sliders[(key,) + tuple(path)] = s
        return s

    def _build_controls(self) -> None:
        w = _ipywidgets()

        self.sliders = {k: v for k, v in self.sliders.items() if k[0] == "assumption"}
        tabs = []
        for key in self.selected:
            scheme = self.schemes[key]
            groups: dict[str, list] = {}
            for tun in tunables(scheme):
                comp = t(f"incentives.component.{scheme.components[tun['path'][1]].type}", self.lang) if tun["path"][0] == "components" else t("incentives.component.scheme", self.lang)
                groups.setdefault(f"{tun['path'][1] if tun['path'][0] == 'components' else 99}. {comp}", []).append(self._slider(key, tun))
            box = w.VBox([w.VBox([w.HTML(f"<b>{html.escape(g.split('. ', 1)[1])}</b>"), *sl]) for g, sl in groups.items()])
            tabs.append(box)
        tabs.append(self.assumption_sliders)
        self.controls.children = tabs
        for i, key in enumerate(self.selected):
            self.controls.set_title(i, self.schemes[key].name(self.lang))
        self.controls.set_title(len(tabs) - 1, t("incentives.widgets.assumptions", self.lang))

    def _assumption_controls(self):
        w = _ipywidgets()

        a = self.assumptions
        items = []
        for field, value, lo, hi, step in (("nps", a.nps, -100, 100, 1), ("ltv", a.ltv, 0, max(4 * (a.ltv or 0), 1e6), 10000), ("margin_pct", a.margin_pct, 0, 100, 1)):
            if value is None:
                continue
            s = w.FloatSlider(value=value, min=lo, max=hi, step=step, description=t(f"incentives.field.{field}", self.lang), continuous_update=False,
                              readout_format=".0f", style={"description_width": "220px"}, layout=w.Layout(width="640px"))
            s.add_class(f"sa-assumption-{field}")
            s.observe(lambda ch, field=field: self._on_assumption(field, ch["new"]), names="value")
            self.sliders[("assumption", field)] = s
            items.append(s)
        return w.VBox(items)

    def _on_pick(self, change) -> None:
        if len(change["new"]) > MAX_SCHEMES:
            self.message.value = t("incentives.widgets.too_many", self.lang)
        elif not change["new"]:
            self.message.value = t("incentives.widgets.too_few", self.lang)
        else:
            self.message.value = ""
        self._build_controls()
        self.refresh()

    def _on_change(self, key: str, path: tuple, value) -> None:
        if self._syncing:
            return
        try:
            self.schemes[key] = set_value(self.schemes[key], path, value)
        except ParameterError as exc:
            self.message.value = f"<span class='sa-error'>{html.escape(str(exc))}</span>"
            return
        self.message.value = ""
        if path[-1] == "weight":  # the basket's other weights were rescaled: show them
            self._syncing = True
            try:
                for j, k in enumerate(self.schemes[key].components[path[1]].kpis):
                    s = self.sliders.get((key,) + tuple(path[:-2]) + (j, "weight"))
                    if s is not None:
                        s.value = k.weight
            finally:
                self._syncing = False
        self.refresh()

    def _on_assumption(self, field: str, value) -> None:
        setattr(self.assumptions, field, float(value))
        m = self.assumptions.margin_pct / 100.0
        for df in (self.inputs, self.sims):
            if field == "nps":
                df["nps"] = float(value) if df is self.inputs else df["nps"] - df["nps"].mean() + float(value)
            elif field == "ltv":
                df["ltv"] = float(value) if df is self.inputs else df["ltv"] * (float(value) / df["ltv"].mean())
            elif field == "margin_pct":
                for col, src in (("dept_margin", "dept_revenue"), ("head_margin", "head_revenue"), ("dept_margin_plan", "dept_plan"), ("margin_year_ago", "revenue_year_ago")):
                    df[col] = df[src] * m
        self.refresh()

    # ------------------------------------------------------------------ results
    def refresh(self) -> None:
        """Recompute every result for the selected schemes and redraw."""
        keys = self.selected
        if not keys:
            self.state, self._results = {}, {}
            for out in (self.out_history, self.out_cost, self.out_curves, self.out_focus):
                out.outputs = ()
            self.payout_html.value = ""
            return
        chosen = {k: self.schemes[k] for k in keys}
        names = {k: s.name(self.lang) for k, s in chosen.items()}
        hist = history(chosen, self.inputs)
        mc = monte_carlo(chosen, self.sims)
        curves = payout_curves(chosen, self.inputs)
        fr = focus(chosen, self.assumptions, self.context)
        last = {k: float(payout(s, self.inputs)["total"].iloc[-1]) for k, s in chosen.items()}
        self.state = {"history": hist, "monte_carlo": mc.summary, "curves": curves, "focus": fr.table, "last_month_pay": last}
        self._results = {"names": names, "history": hist, "mc": mc, "curves": curves, "focus": fr}
        self._render_payouts(names, last, hist, mc.summary, fr.table)
        self._dirty = set(self.VIEWS)
        self._draw(self.VIEWS[self.results.selected_index or 0])

    def _draw(self, view: str) -> None:
        """Draw one result tab from the latest numbers (if they changed since it was drawn)."""
        if view not in self._dirty or not self._results:
            return
        r, lang = self._results, self.lang
        names = r["names"]
        if view == "history":
            hist = r["history"]
            wide = hist.pivot_table(index="month", columns="scheme", values="total", sort=False)[list(names)].rename(columns=names).reset_index()
            self.out_history.outputs = (_png(plot_history(hist, names, lang)), _html(table_display(wide, {}, lang).to_html(index=False, border=0)))
        elif view == "cost":
            mc = r["mc"]
            cols = ["scheme", "mean", "p50", "p90", "reserve", "cost_at_mean_outcome"]
            self.out_cost.outputs = (_png(plot_cost_distribution(mc, names, lang)), _html(table_display(mc.summary[cols], names, lang).to_html(index=False, border=0)))
        elif view == "curves":
            att = (self.inputs["dept_revenue"] / self.inputs["dept_plan"] * 100).dropna()
            self.out_curves.outputs = (_png(plot_payout_curves(r["curves"], names, lang, att)),)
        elif view == "focus":
            fr = r["focus"]
            cols = ["scheme", "selling_share", "head_pay", "dept_revenue", "owner_profit"]
            self.out_focus.outputs = (_png(plot_focus(fr, names, lang)), _html(table_display(fr.table[cols], names, lang).to_html(index=False, border=0)))
        self._dirty.discard(view)

    def _render_payouts(self, names, last, hist, summ, ftab) -> None:
        s = summ.set_index("scheme")
        f = ftab.set_index("scheme")
        rows = []
        for k, name in names.items():
            mean = hist.loc[hist["scheme"] == k, "total"].mean()
            extra = t("incentives.widgets.summary_row", self.lang, mean=_money(mean, self.lang), p50=_money(s.loc[k, "p50"], self.lang),
                      p90=_money(s.loc[k, "p90"], self.lang), share=fmt_.percent(f.loc[k, "selling_share"], self.lang, 0))
            rows.append(f"<li><b>{html.escape(name)}</b>: <span class='sa-payout' id='sa-payout-{k}' data-value='{round(last[k])}'>{_money(last[k], self.lang)}</span>"
                        f" <span class='sa-payout-extra'>({html.escape(extra)})</span></li>")
        self.payout_html.value = f"<div><b>{html.escape(t('incentives.widgets.payout_title', self.lang, month=self.month))}</b><ul>{''.join(rows)}</ul></div>"

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle or {})
        bundle["text/plain"] = t("incentives.widgets_static", self.lang)
        return bundle
