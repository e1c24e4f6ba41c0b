"""The owner's app (ipywidgets; ``make app`` serves it with Voilà): it opens on the answer.

The first screen holds the scheme choice (checkboxes, up to :data:`MAX_SCHEMES`), the main
sliders of each chosen scheme (base, rates, bonuses) and the answer: per scheme the head's yearly
cost P50/P90, the department's revenue (payments received) and the owner's profit over the focus
model's horizon, and which scheme wins (:func:`salesaudit.incentives.summary.answer`, rendered by
:func:`salesaudit.report.incentives.answer_html`). Below it, the details in tabs: pay by month
(with the last month's payout), the cost distribution, the payout curves, the head's focus, gaming,
the other settings (thresholds, caps, weights, the assumed margin, NPS and LTV) and the full report
of notebook 05. A Russian/English switch re-renders every label.

:class:`IncentiveApp` holds the history's inputs, one fixed set of simulated months (so that a
moved slider changes the scheme, not the dice) and the focus model's context. Every control change
rebuilds the edited scheme through the schema (:func:`~salesaudit.incentives.schemes.set_value`: a
value the schema refuses is shown as a message, not raised) and :meth:`IncentiveApp.refresh`
recomputes. The latest numbers are in :attr:`IncentiveApp.state`. Charts and tables are written
into ``Output`` widgets as display data (the visible tab at once, the others when opened, the full
report only when asked for), so the same code serves JupyterLab, Voilà and tests without a kernel.

Speed: the notebook builds the app from the monthly inputs alone (:func:`start`; the heavier
analysis behind the full report waits for its tab) and reads the dataset through a cache
(:func:`load_dataset`). In a batch run (papermill, nbval) :func:`interactive` is false and the
notebook shows the static page instead.
"""
from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import pandas as pd

from ..errors import ParameterError, SalesauditError
from ..report import format as fmt_
from ..report.i18n import LANGUAGES, t
from ..report.incentives import answer_html, formatted, plot_answer, plot_cost_distribution, plot_focus, plot_history, plot_payout_curves
from .focus import focus, focus_context
from .gaming import gaming
from .history import history
from .montecarlo import monte_carlo, payout_curves, simulate_inputs
from .schemes import payout, set_value, tunables
from .summary import answer

__all__ = ["IncentiveApp", "interactive", "live", "app", "start", "load_dataset", "MAX_SCHEMES", "MAIN_FIELDS"]

MAX_SCHEMES = 3

#: the fields whose sliders are on the first screen; the others (thresholds, caps, weights, accelerators) are under "other settings"
MAIN_FIELDS = ("amount", "rate_pct", "bonus_at_plan", "target_bonus", "per_unit")

_CSS = """<style>
.sa-incentives-app { font-size: 13px; }
.sa-incentives-app h2 { font-size: 20px; margin: 0 0 4px 0; }
.sa-incentives-app .sa-section { font-weight: 600; margin: 6px 0 2px 0; }
.sa-answer-sentence { font-size: 15px; line-height: 1.35; margin: 0 0 8px 0; }
.sa-answer-table { border-collapse: collapse; font-size: 13px; }
.sa-answer-table th { text-align: right; font-weight: 600; padding: 3px 8px; border-bottom: 1px solid #999; vertical-align: bottom; line-height: 1.25; }
.sa-answer-table th:first-child, .sa-answer-table td:first-child { text-align: left; }
.sa-answer-table td { text-align: right; padding: 3px 8px; border-bottom: 1px solid #ddd; white-space: nowrap; }
.sa-answer-table tr.sa-best td { font-weight: 700; background: #eef6ee; }
.sa-answer-note { color: #555; font-size: 12px; margin-top: 6px; line-height: 1.3; }
.sa-slider-label { font-size: 13px; line-height: 1.15; padding-right: 8px; }
.sa-incentives-app .lm-TabBar-tab { max-width: none !important; flex: 0 0 auto !important; }
.sa-incentives-app table.sa-table { border-collapse: collapse; }
.sa-incentives-app table.sa-table td, .sa-incentives-app table.sa-table th { padding: 2px 8px; text-align: right; }
.sa-error { color: #b00; }
</style>"""


def interactive() -> bool:
    """Whether the kernel serves a person (JupyterLab, Voilà) rather than a batch run."""
    env = os.environ
    return bool(env.get("VOILA_BASE_URL") or env.get("VOILA_SERVER_URL") or env.get("SERVER_SOFTWARE", "").startswith("voila") or env.get("JPY_SESSION_NAME"))


def live(result, forced=None) -> bool:
    """Whether notebook 05 shows the owner's controls: enough data and a person at the kernel (``forced``: True/False overrides the latter)."""
    return bool(result.ok and (interactive() if forced is None else forced))


def load_dataset(config_path, cache=None, *, live: bool = False, **overrides):
    """:func:`salesaudit.load` for notebook 05. ``cache``: the run's dataset folder (``salesaudit run``).
    Without one, the app (``live``) keeps the loaded dataset in the user's cache folder
    (``$XDG_CACHE_HOME/salesaudit/app``, keyed by the export files' digests and the config, so a
    changed export is loaded afresh): the next page view reads it instead of the export."""
    from ..data.cache import dataset_key, load_cached, save_dataset
    from ..data.loader import load
    from ..data.loader import load_dataset as load_fresh
    from ..data.params import load_run_config

    if cache or not live:
        return load(config_path, cache=cache, **overrides)
    cfg = load_run_config(config_path, **overrides)
    key = dataset_key(cfg)
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "salesaudit" / "app" / key[:24]
    ds = load_cached(cfg, folder, key)
    if ds is None:
        ds = load_fresh(cfg)
        try:
            save_dataset(ds, folder, key)
        except OSError:  # a read-only home: the app works, only slower next time
            pass
    return ds


def app(result, schemes_dir, lang: str, currency: str | None = "RUB") -> "IncentiveApp":
    """The owner's app for an :class:`~salesaudit.incentives.result.IncentivesResult`: every scheme of ``schemes_dir`` to pick from."""
    from .schemes import load_schemes

    return IncentiveApp(load_schemes(schemes_dir), result.inputs_, result.assumptions, lang, result.seed, selected=result.widget_schemes,
                        n_sims=result.widget_sims, currency=currency, client=result.client, report=lambda: result)


def start(ds, settings, *, schemes_dir, assumptions_path) -> "IncentiveApp | None":
    """The owner's app straight from a dataset: only the monthly inputs are computed before the
    first screen (the full analysis of :func:`~salesaudit.incentives.result.analyse` runs when
    its tab is opened). None when the history is too short (fewer months with revenue than
    ``settings.min_months``, as :func:`analyse` decides): the notebook shows the page instead."""
    from .assumptions import load_assumptions
    from .history import monthly_inputs
    from .result import analyse
    from .schemes import load_schemes

    a = load_assumptions(assumptions_path)
    x = monthly_inputs(ds, a)
    if int((x["dept_revenue"] > 0).sum()) < settings.min_months:
        return None
    seed = a.seed if a.seed is not None else ds.config.seed
    return IncentiveApp(load_schemes(schemes_dir), x, a, ds.config.language, seed, selected=settings.widget_schemes, n_sims=settings.widget_sims,
                        currency=ds.config.currency, client=ds.config.client,
                        report=lambda: analyse(ds, settings, schemes_dir=schemes_dir, assumptions_path=assumptions_path))


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
    fig.savefig(buf, format="png", dpi=72, metadata={"Software": None})
    plt.close(fig)
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": ""}}


def _html(text: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": text, "text/plain": ""}}


def _markdown(text: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": text, "text/plain": ""}}


def _table(df: pd.DataFrame) -> dict:
    """An already formatted (text) table."""
    return _html(df.to_html(index=False, border=0, classes="sa-table", escape=True))


class IncentiveApp:
    """The owner's app (see the module doc).

    ``schemes``: every scheme the owner may pick, by key; ``selected``: the keys ticked first (at
    most :data:`MAX_SCHEMES`). ``inputs``: :func:`~salesaudit.incentives.history.monthly_inputs`.
    ``n_sims``: simulated years behind the cost distribution. ``currency``: the amounts' currency.
    ``report``: a callable returning the :class:`~salesaudit.incentives.result.IncentivesResult`
    of the full report tab (called when the tab is first opened; no tab without it).
    """

    #: the detail tabs, in order; only the visible one is drawn at once, the others when opened
    VIEWS = ("history", "cost", "curves", "focus", "gaming", "more", "report")

    def __init__(self, schemes: dict, inputs: pd.DataFrame, assumptions, lang: str, seed: int, selected=None, n_sims: int = 2000, outcomes=None,
                 currency: str | None = "RUB", client: str = "", report=None):
        w = _ipywidgets()

        self.original = dict(schemes)
        self.schemes = dict(schemes)
        self.inputs = inputs.copy()  # the assumption sliders rewrite its margin, NPS and LTV columns
        self.assumptions = assumptions.model_copy(deep=True)
        self.lang = lang
        self.currency = currency
        self.client = client
        self.seed = seed
        self.sims = simulate_inputs(inputs, self.assumptions, seed, outcomes=outcomes, n_sims=n_sims)
        self.context = focus_context(inputs, self.assumptions)
        self.month = str(inputs["month"].iloc[-1])
        self._report_source = report
        self._report = None
        self.state: dict = {}
        self._results: dict = {}
        self.sliders: dict[tuple, object] = {}
        self.readouts: dict[tuple, object] = {}
        self._syncing = False
        self._dirty: set[str] = {"report"}

        self.order: list[str] = [k for k in (selected or list(schemes)[:MAX_SCHEMES]) if k in schemes][:MAX_SCHEMES]
        self.lang_toggle = w.ToggleButtons(options=[(t(f"app.lang.{x}", x), x) for x in LANGUAGES], value=lang, style={"button_width": "90px"})
        self.lang_toggle.add_class("sa-lang")
        self.lang_toggle.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.title = w.HTML()
        self.schemes_label = w.HTML()
        self.checks = {}
        for k in schemes:
            c = w.Checkbox(value=k in self.order, indent=False, layout=w.Layout(width="auto", height="24px", margin="0"))
            c.add_class("sa-check")
            c.add_class(f"sa-check-{k}")
            c.observe(lambda ch, k=k: self._on_tick(k, ch["new"]), names="value")
            self.checks[k] = c
        self.message = w.HTML("")
        self.main_label = w.HTML()
        self.main_box = w.VBox()
        self.answer_html = w.HTML()
        self.answer_html.add_class("sa-answer")
        self.out_answer = w.Output()
        self.out_answer.add_class("sa-chart-answer")
        self.payout_html = w.HTML("")
        self.payout_html.add_class("sa-payouts")
        self.out_history, self.out_cost, self.out_curves, self.out_focus, self.out_gaming, self.out_report = (w.Output() for _ in range(6))
        for name in ("history", "cost", "curves", "focus", "gaming", "report"):
            getattr(self, f"out_{name}").add_class(f"sa-chart-{name}")
        self.assumption_box = w.VBox()
        self.more_box = w.VBox()
        views = [w.VBox([self.payout_html, self.out_history]), self.out_cost, self.out_curves, self.out_focus, self.out_gaming, self.more_box]
        if report is not None:
            views.append(self.out_report)
        self.results = w.Tab(children=views)
        self.results.selected_index = 0
        self.results.observe(lambda ch: self._draw(self.VIEWS[ch["new"]]) if ch["new"] is not None else None, names="selected_index")
        self.details_label = w.HTML()

        left = w.VBox([self.schemes_label, w.VBox(list(self.checks.values())), self.message, self.main_label, self.main_box],
                      layout=w.Layout(width="560px", min_width="560px", margin="0 16px 0 0"))
        top = w.HBox([self.title, self.lang_toggle], layout=w.Layout(justify_content="space-between", align_items="center"))
        self.widget = w.VBox([w.HTML(_CSS), top, w.HBox([left, w.VBox([self.answer_html, self.out_answer])]), self.details_label, self.results])
        self.widget.add_class("sa-incentives-app")
        self._label()
        self._build_controls()
        self.refresh()

    # ------------------------------------------------------------------ controls
    @property
    def selected(self) -> list[str]:
        """The chosen schemes, in the order they were ticked."""
        return list(self.order)

    def select(self, keys) -> None:
        """Tick exactly ``keys`` (the first :data:`MAX_SCHEMES` of them), as the owner would."""
        keys = list(keys)
        for k, c in self.checks.items():
            if k not in keys:
                c.value = False
        for k in keys:
            self.checks[k].value = True

    def _on_tick(self, key: str, value: bool) -> None:
        if self._syncing:
            return
        if value and key not in self.order:
            if len(self.order) >= MAX_SCHEMES:
                self.message.value = f"<span class='sa-error'>{html.escape(t('app.too_many', self.lang))}</span>"
                self._syncing = True
                try:
                    self.checks[key].value = False
                finally:
                    self._syncing = False
                return
            self.order.append(key)
        elif not value and key in self.order:
            self.order.remove(key)
        self.message.value = "" if self.order else html.escape(t("incentives.widgets.too_few", self.lang))
        self._build_controls()
        self.refresh()

    def _slider_label(self, key: str, path: tuple, field: str) -> str:
        label = t(f"incentives.field.{field}", self.lang)
        if key == "assumption":
            return label
        scheme = self.schemes[key]
        if "kpis" in path:
            kpi = scheme.components[path[1]].kpis[path[3]].kpi
            prefix = t(f"incentives.kpi.{kpi}", self.lang)
        elif "personal" in path or "department" in path:
            prefix = t("incentives.part." + path[2], self.lang)
        elif path[0] == "components" and field != "amount":
            prefix = t(f"incentives.component.{scheme.components[path[1]].type}", self.lang)
        else:
            return label
        if label[1:2].islower():  # "Rate, %" after a colon reads "rate, %" (NPS stays NPS)
            label = label[0].lower() + label[1:]
        return f"{prefix[0].upper()}{prefix[1:]}: {label}"


    def _readout(self, kind: str, value: float) -> str:
        if kind == "money":
            return fmt_.money(value, self.lang, self.currency)
        if kind in ("rate", "pct"):
            return fmt_.percent(value / 100, self.lang, 2, trim=True)
        if kind == "weight":
            return fmt_.percent(value, self.lang, 0)
        return fmt_.number(value, self.lang, 2, trim=True)

    def _slider(self, key: str, tun: dict, width: int = 420):
        w = _ipywidgets()

        path = tuple(tun["path"])
        label = w.HTML(f"<div class='sa-slider-label'>{html.escape(self._slider_label(key, path, tun['field']))}</div>", layout=w.Layout(width="230px"))
        s = w.FloatSlider(value=tun["value"], min=tun["min"], max=max(tun["max"], tun["value"]), step=tun["step"], readout=False,
                          continuous_update=False, layout=w.Layout(width=f"{width - 230}px", height="28px"))
        s.add_class("sa-slider")
        s.add_class("sa-" + key + "-" + "-".join(str(p) for p in path))
        out = w.HTML(self._readout(tun["kind"], tun["value"]), layout=w.Layout(width="130px", height="28px"))
        out.add_class("sa-readout")
        out.add_class("sa-readout-" + key + "-" + "-".join(str(p) for p in path))
        s.observe(lambda ch, key=key, path=path, kind=tun["kind"], out=out: self._on_change(key, path, ch["new"], kind, out), names="value")
        self.sliders[(key,) + path] = s
        self.readouts[(key,) + path] = out
        return w.HBox([label, s, out], layout=w.Layout(align_items="center"))

    def _build_controls(self) -> None:
        """The sliders of the chosen schemes: the main ones on the first screen, the rest under "other settings"."""
        w = _ipywidgets()

        self.sliders, self.readouts = {}, {}
        main, more = [], []
        for key in self.selected:
            name = w.HTML(f"<div class='sa-section'>{html.escape(self.schemes[key].name(self.lang))}</div>")
            tuns = tunables(self.schemes[key])
            main += [name, *(self._slider(key, tun) for tun in tuns if tun["field"] in MAIN_FIELDS)]
            rest = [self._slider(key, tun, 480) for tun in tuns if tun["field"] not in MAIN_FIELDS]
            if rest:
                more += [w.HTML(f"<div class='sa-section'>{html.escape(self.schemes[key].name(self.lang))}</div>"), *rest]
        self.main_box.children = main
        more += [w.HTML(f"<div class='sa-section'>{html.escape(t('incentives.widgets.assumptions', self.lang))}</div>"), *self._assumption_controls()]
        self.more_box.children = more

    def _assumption_controls(self) -> list:
        a = self.assumptions
        items = []
        for field, value, lo, hi, step, kind in (("nps", a.nps, -100, 100, 1, "factor"), ("ltv", a.ltv, 0, max(4 * (a.ltv or 0), 1e6), 10000, "money"),
                                                 ("margin_pct", a.margin_pct, 0, 100, 1, "pct")):
            if value is None:
                continue
            tun = {"path": (field,), "field": field, "value": float(value), "min": lo, "max": hi, "step": step, "kind": kind}
            box = self._slider("assumption", tun, 480)
            items.append(box)
        return items

    def _on_change(self, key: str, path: tuple, value, kind: str, readout) -> None:
        readout.value = self._readout(kind, value)
        if self._syncing:
            return
        if key == "assumption":
            self._on_assumption(path[0], value)
            return
        try:
            self.schemes[key] = set_value(self.schemes[key], path, value)
        except ParameterError:  # the schema's own message names fields as the YAML does: the owner reads the slider's label
            text = t("app.refused", self.lang, field=self._slider_label(key, path, path[-1]))
            self.message.value = f"<span class='sa-error'>{html.escape(text)}</span>"
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

    # ------------------------------------------------------------------ language
    def _label(self) -> None:
        """Every fixed label in the current language."""
        lang = self.lang
        self.title.value = f"<h2>{html.escape(t('app.title', lang, client=self.client))}</h2>" if self.client else ""
        self.schemes_label.value = f"<div class='sa-section'>{html.escape(t('app.schemes', lang))}</div>"
        for k, c in self.checks.items():
            c.description = self.schemes[k].name(lang)
        self.main_label.value = f"<div class='sa-section'>{html.escape(t('app.main', lang))}</div>"
        self.details_label.value = f"<h3>{html.escape(t('app.details', lang))}</h3>"
        titles = [t(f"incentives.widgets.{v}", lang) for v in ("history", "cost", "curves", "focus")] + [t("app.tab.gaming", lang), t("app.tab.more", lang)]
        if self._report_source is not None:
            titles.append(t("app.tab.report", lang))
        self.results.titles = tuple(titles)
        if self.message.value:
            self.message.value = ""

    def set_language(self, lang: str) -> None:
        """Re-render every label, number and chart in ``lang`` (the schemes and their values stay)."""
        if lang == self.lang:
            return
        self.lang = lang
        if self.lang_toggle.value != lang:
            self.lang_toggle.value = lang
        self._label()
        self._build_controls()
        self.out_report.outputs = ()
        self._dirty.add("report")
        self.refresh()

    # ------------------------------------------------------------------ results
    def refresh(self) -> None:
        """Recompute every result for the chosen schemes and redraw the answer and the visible tab."""
        keys = self.selected
        if not keys:
            self.state, self._results = {}, {}
            for out in (self.out_answer, self.out_history, self.out_cost, self.out_curves, self.out_focus, self.out_gaming):
                out.outputs = ()
            self.payout_html.value = ""
            self.answer_html.value = ""
            return
        chosen = {k: self.schemes[k] for k in keys}
        names = {k: s.name(self.lang) for k, s in chosen.items()}
        hist = history(chosen, self.inputs)
        mc = monte_carlo(chosen, self.sims)
        curves = payout_curves(chosen, self.inputs)
        fr = focus(chosen, self.assumptions, self.context)
        ans = answer(mc, fr)
        last = {k: float(payout(s, self.inputs)["total"].iloc[-1]) for k, s in chosen.items()}
        self.state = {"history": hist, "monte_carlo": mc.summary, "curves": curves, "focus": fr.table, "last_month_pay": last, "answer": ans}
        self._results = {"names": names, "chosen": chosen, "history": hist, "mc": mc, "curves": curves, "focus": fr}
        self.answer_html.value = answer_html(ans, names, self.lang, self.currency) + f"<div class='sa-answer-note'>{html.escape(t('app.answer.note', self.lang))}</div>"
        self.out_answer.outputs = (_png(plot_answer(ans, names, self.lang)),)
        self._render_payouts(names, last)
        self._dirty |= {"history", "cost", "curves", "focus", "gaming"}
        self._draw(self.VIEWS[self.results.selected_index or 0])

    def _draw(self, view: str) -> None:
        """Draw one detail tab from the latest numbers (if they changed since it was drawn)."""
        if view not in self._dirty:
            return
        if view == "report":
            self._draw_report()
            return
        if not self._results:
            return
        r, lang, cur = self._results, self.lang, self.currency
        names = r["names"]
        if view == "history":
            hist = r["history"]
            wide = hist.pivot_table(index="month", columns="scheme", values="total", sort=False)[list(names)].reset_index()
            self.out_history.outputs = (_png(plot_history(hist, names, lang)), _table(formatted(wide, names, lang, cur)))
        elif view == "cost":
            mc = r["mc"]
            cols = ["scheme", "mean", "p50", "p90", "reserve", "cost_at_mean_outcome"]
            self.out_cost.outputs = (_png(plot_cost_distribution(mc, names, lang)), _table(formatted(mc.summary[cols], names, lang, cur)))
        elif view == "curves":
            att = (self.inputs["dept_revenue"] / self.inputs["dept_plan"] * 100).dropna()
            self.out_curves.outputs = (_png(plot_payout_curves(r["curves"], names, lang, att)),)
        elif view == "focus":
            fr = r["focus"]
            cols = ["scheme", "selling_share", "head_pay", "dept_revenue", "owner_profit"]
            self.out_focus.outputs = (_png(plot_focus(fr, names, lang)), _table(formatted(fr.table[cols], names, lang, cur)))
        elif view == "gaming":
            gm = gaming(r["chosen"], self.inputs, self.assumptions)
            self.state["gaming"] = gm
            note = t("incentives.gaming_note", lang, amount=fmt_.money(gm.attrs["shift_amount"], lang, cur),
                     discount=fmt_.percent(gm.attrs["discount_pct"] / 100, lang, 3, trim=True))
            self.out_gaming.outputs = (_markdown(note), _table(formatted(gm, names, lang, cur)))
        self._dirty.discard(view)

    def _draw_report(self) -> None:
        """The full page of notebook 05 (every scheme as written), computed when its tab is first opened."""
        from ..report import incentives as report
        from ..report.page import Figure, Heading, Table, Text
        from ..report.show import _dates, _fmt, _integers, _yes_no

        if self._report_source is None:
            return
        if self._report is None:
            self._report = self._report_source()
        lang = self.lang
        outs = []
        for b in report.page(self._report, lang, live=True, currency=self.currency).blocks:
            if isinstance(b, Heading):
                outs.append(_markdown("#" * (b.level + 1) + " " + b.text))
            elif isinstance(b, Text):
                outs.append(_markdown(b.markdown))
            elif isinstance(b, Table):
                shown = _yes_no(_dates(_integers(b.frame, lang), lang), lang)
                outs.append(_html(shown.to_html(index=False, border=0, classes="sa-table", na_rep=fmt_.DASH, float_format=lambda x: _fmt(x, lang))))
            elif isinstance(b, Figure):
                outs.append(_png(b.figure))
        self.out_report.outputs = tuple(outs)
        self._dirty.discard("report")

    def _render_payouts(self, names, last) -> None:
        rows = [f"<li><b>{html.escape(name)}</b>: <span class='sa-payout' id='sa-payout-{k}' data-value='{round(last[k])}'>"
                f"{html.escape(fmt_.money(last[k], self.lang, self.currency))}</span></li>" for k, name in names.items()]
        self.payout_html.value = f"<div><b>{html.escape(t('incentives.widgets.payout_title', self.lang, month=self.month))}</b><ul>{''.join(rows)}</ul></div>"

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle or {})
        bundle["text/plain"] = t("incentives.widgets_static", self.lang)
        return bundle
