"""The capacity simulation's page (notebook 06) in one language, made from a :class:`~salesaudit.sim.capacity.CapacityResult`.

Also the calibration's tables and notes in the report's language (:func:`calibration_tables`,
:func:`calibration_notes`), the lead inflow's fit (:func:`plot_inflow`) and the what-if sweeps'
plots and tables (:func:`plot_chance_by_headcount`, :func:`plot_revenue_by_limit`,
:func:`plot_metric_by`, :func:`report_table`), moved here from :mod:`salesaudit.sim`. Headers,
codes and texts come from the message catalogue; the numbers are the result's own.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..sim.calibrate import Calibration, conversion_check
from ..sim.department import AT_LIMIT, ROUTING_RULES
from ..sim.effects import response_odds_ratio
from ..sim.experiments import METRICS
from ..sim.inflow import WEEKDAYS, _garwood
from . import format as fmt_
from .format import date as fmt_date
from .i18n import _check_lang, has, t
from .page import Figure, Heading, Page, Table, Text
from .show import p_text, plotting

__all__ = ["page", "calibration_tables", "calibration_notes", "backtest_table", "plot_inflow", "plot_chance_by_headcount",
           "plot_revenue_by_limit", "plot_metric_by", "report_table"]


# --------------------------------------------------------------------------- the calibration in the report's language (moved from sim.calibrate)

#: the codes an assumption's meaning lists, named by their labels
_MEANING_OPTIONS = {"at_limit": [f"capacity.value.{x}" for x in AT_LIMIT], "routing": [f"capacity.value.{x}" for x in ROUTING_RULES]}
#: decimals of the assumptions' values (others: whole numbers when whole, else 2)
_VALUE_DIGITS = {"ramp_start": 2, "coaching_share": 2, "coaching_max_lift": 2, "coaching_carryover": 2, "plan_growth": 2,
                 "volume_cv": 3, "handling_min": 1, "touch_min_per_deal_day": 2, "decision_median_min": 1}


def _meaning_params(key: str, lang: str) -> dict:
    opts = _MEANING_OPTIONS.get(key)
    return {"options": ", ".join(t(k, lang) for k in opts)} if opts else {}


def _assumption_value(key: str, value, lang: str) -> str:
    """An assumption's value in words: a code by its label, no value as "no limit" / "—", a number for ``lang``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return t("capacity.no_limit", lang) if key == "deal_limit" else fmt_.DASH
    if key in ("at_limit", "routing", "inflow_trend"):  # a code, named by its label
        k = "capacity.trend." + str(value) if key == "inflow_trend" else "capacity.value." + str(value)
        return t(k, lang) if has(k) else str(value)
    if isinstance(value, bool):
        return t("capacity.cal.yes" if value else "capacity.cal.no", lang)
    if isinstance(value, (int, np.integer)):
        return fmt_.integer(int(value), lang)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return fmt_.number(v, lang, _VALUE_DIGITS.get(key, 0 if v.is_integer() else 2))
    return str(value)


def _stage_labels(cal: Calibration, lang: str) -> dict:
    return {s.key: (s.label or {}).get(lang) or s.key for s in cal.params.stages}


def _code(prefix: str, value, lang: str):
    """``value`` in words when ``prefix.value`` is a label (spaces read as ``_``), else as it is."""
    key = f"{prefix}.{str(value).replace(' ', '_')}"
    return t(key, lang) if isinstance(value, str) and has(key) else value


def _yes_no(values, lang: str) -> list:
    return [t("capacity.cal.yes" if bool(v) else "capacity.cal.no", lang) for v in values]


def _headers(df: pd.DataFrame, table: str, lang: str) -> pd.DataFrame:
    return df.rename(columns={c: t(f"capacity.cal.{table}.{c}", lang) for c in df.columns})


def calibration_tables(cal: Calibration, lang: str) -> dict[str, pd.DataFrame]:
    """The calibration's tables for the report in ``lang``: ``stages``, ``sellers``, ``effects``, ``conversions``, ``assumptions``.

    Copies of ``stages_``, ``sellers_`` (without the names), ``effects_`` and ``assumptions_`` with
    the headers, the coded cells (stage keys, sources, effects, yes/no, all channels) and the
    assumptions (their names, values and meanings) in ``lang``; numbers rounded to 3 decimals
    (effects to 4). An assumption's key in ``params/simulation/*.yaml`` is not shown: its label is.
    """
    _check_lang(lang)
    stage_label = _stage_labels(cal, lang)
    st = cal.stages_.copy()
    if "stage" in st:
        st["stage"] = [stage_label.get(k, k) for k in st["stage"].astype(str)]
    if "touch_source" in st:
        st["touch_source"] = [_code("capacity.cal.source", v, lang) for v in st["touch_source"]]

    se = cal.sellers_.copy()
    names = dict(zip(se["seller"], se["name"])) if {"seller", "name"} <= set(se.columns) else {}
    if names:  # a seller is named, never shown by the CRM's key
        se["seller"] = [names.get(k, k) for k in se["seller"]]
    se = se.drop(columns=["name"], errors="ignore")
    for c in ("head", "own_response_fit", "own_stage_shares"):
        if c in se:
            se[c] = _yes_no(se[c], lang)
    if "channels" in se:
        se["channels"] = [_code("capacity.cal.channels", v, lang) for v in se["channels"]]

    ef = cal.effects_.copy()
    if "effect" in ef:
        ef["effect"] = [_code("capacity.cal.effect", v, lang) for v in ef["effect"]]
    if "detectable" in ef:
        ef["detectable"] = _yes_no(ef["detectable"], lang)
    if "source" in ef:
        ef["source"] = [_code("capacity.cal.source", v, lang) for v in ef["source"]]

    asm = cal.assumptions_.copy()
    asm["meaning"] = [t(f"capacity.assumption.{k}", lang, **_meaning_params(k, lang)) if has(f"capacity.assumption.{k}") else m
                      for k, m in zip(asm["name"], asm["meaning"])]
    asm["value"] = [_assumption_value(k, v, lang) for k, v in zip(asm["name"], asm["value"])]
    asm["name"] = [t(f"capacity.assumption_name.{k}", lang) if has(f"capacity.assumption_name.{k}") else k for k in asm["name"]]
    cv = cal.conversions_.copy() if cal.conversions_ is not None else conversion_check(pd.DataFrame(columns=["status", "answered"]), {}, {}, 0.0)
    if len(cv):
        is_band = cv["group"] == "response"
        cv.loc[is_band, "key"] = [t("capacity.cal.band", lang, band=k) for k in cv.loc[is_band, "key"]]
        is_seller = cv["group"] == "seller"
        cv.loc[is_seller, "key"] = [names.get(k, k) for k in cv.loc[is_seller, "key"]]
        cv["group"] = [_code("capacity.cal.group", g, lang) for g in cv["group"]]
        cv["inside"] = _yes_no(cv["inside"], lang)
    return {
        "stages": _headers(st.round(3), "stages", lang),
        "sellers": _headers(se.round(3), "sellers", lang),
        "effects": _headers(ef.round(4), "effects", lang),
        "conversions": _headers(cv.round(3), "conversions", lang),
        "assumptions": _headers(asm, "assumptions", lang),
    }


#: the numbers a calibration note's parameters hold: key -> {parameter: decimals}
_NOTE_DIGITS = {
    "capacity.note.amounts_all_deals": {"n": 0},
    "capacity.note.trend_used": {"growth": 2, "lo": 2, "hi": 2},
    "capacity.note.trend_unused": {"growth": 2, "lo": 2, "hi": 2},
}


def calibration_notes(cal: Calibration, lang: str) -> list[str]:
    """The calibration's notes (limits of the data) in ``lang``, in the order of ``cal.notes``.

    A note of :func:`calibrate` (a label key and its parameters) is written from its label (a stage
    named by its label in ``lang``); a note added to ``cal.notes`` by hand as text comes back as it is.
    """
    _check_lang(lang)
    stage_label = _stage_labels(cal, lang)
    out = []
    for note in cal.notes:
        if isinstance(note, str):
            out.append(note)
            continue
        key, params = note
        params = {k: (stage_label.get(v, v) if k == "stage" else v) for k, v in params.items()}
        digits = _NOTE_DIGITS.get(key, {})
        params = {k: (fmt_.number(v, lang, digits[k]) if k in digits else v) for k, v in params.items()}
        out.append(t(key, lang, **params))
    return out


# --------------------------------------------------------------------------- the lead inflow's fit (moved from sim.inflow)

#: the texts of :func:`plot_inflow`, per language
_INFLOW_LABELS = {
    "en": {
        "hour": "Hour of day",
        "weekday": "Day of week",
        "per_day": "Leads per day",
        "per_hour": "Leads per hour (mean per day)",
        "observed": "observed",
        "observed_working": "observed, working days",
        "observed_off": "observed, days off",
        "fitted": "model",
        "fitted_working": "model, working days",
        "fitted_off": "model, days off",
        "title_hour": "Lead inflow by hour of day",
        "title_weekday": "Lead inflow by day of week (95% CI)",
        "weekdays": WEEKDAYS,
    },
    "ru": {
        "hour": "Час суток",
        "weekday": "День недели",
        "per_day": "Лидов в день",
        "per_hour": "Лидов в час (в среднем за день)",
        "observed": "факт",
        "observed_working": "факт, рабочие дни",
        "observed_off": "факт, выходные",
        "fitted": "модель",
        "fitted_working": "модель, рабочие дни",
        "fitted_off": "модель, выходные",
        "title_hour": "Поток лидов по часам суток",
        "title_weekday": "Поток лидов по дням недели (95% ДИ)",
        "weekdays": ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"),
    },
}


def plot_inflow(inflow, ax=None, lang: str = "en", labels: Mapping[str, Any] | None = None):
    """A :class:`~salesaudit.sim.inflow.LeadInflow`'s fit, observed against fitted: leads per day by hour of day
    (working days and days off) and by weekday.

    ``ax``: two matplotlib axes, or None for a new figure. ``labels``
    overrides the texts of ``lang`` (``"en"`` or ``"ru"``). Returns the figure.
    """
    diag = inflow.diagnostics()
    if lang not in _INFLOW_LABELS:
        raise ParameterError("plot_inflow", [f"`lang` must be one of {', '.join(map(repr, _INFLOW_LABELS))}, got {lang!r}."])
    lab = {**_INFLOW_LABELS[lang], **(dict(labels) if labels else {})}
    plt, _ = plotting()
    if ax is None:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    else:
        a1, a2 = ax
        fig = a1.figure
    x = np.arange(24)
    for name, color, shift, ol, fl in (
        ("hour_working", "#4c72b0", -0.2, "observed_working", "fitted_working"),
        ("hour_off", "#dd8452", 0.2, "observed_off", "fitted_off"),
    ):
        d = diag[diag["section"] == name]
        if d.empty:
            continue
        a1.bar(x + shift, d["observed_per_day"], width=0.4, color=color, alpha=0.75, label=lab[ol])
        a1.plot(x, d["fitted_per_day"], color=color, lw=1.5, marker=".", label=lab[fl])
    a1.set_xticks(range(0, 24, 2))
    a1.set_xlim(-0.7, 23.7)
    a1.set_xlabel(lab["hour"])
    a1.set_ylabel(lab["per_hour"])
    a1.set_title(lab["title_hour"])
    a1.legend(fontsize="small")
    d = diag[diag["section"] == "weekday"]
    y = d["observed_per_day"].to_numpy()
    lo, hi = _garwood(d["observed"].to_numpy())
    days = d["days"].to_numpy()
    xs = np.arange(7)
    a2.bar(xs, y, color="#4c72b0", alpha=0.75, label=lab["observed"])
    a2.errorbar(xs, y, yerr=[y - lo / days, hi / days - y], fmt="none", ecolor="black", lw=1, capsize=2)
    a2.plot(xs, d["fitted_per_day"], "o", color="black", label=lab["fitted"])
    a2.set_xticks(xs)
    a2.set_xticklabels(lab["weekdays"])
    a2.set_xlabel(lab["weekday"])
    a2.set_ylabel(lab["per_day"])
    a2.set_title(lab["title_weekday"])
    a2.legend(fontsize="small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the sweeps' plots and tables (moved from sim.experiments)


def _plt():
    return plotting()[0]


def _limit_label(x, lang):
    return t("capacity.no_limit", lang) if x is None or (isinstance(x, float) and math.isnan(x)) else str(int(x))


def plot_chance_by_headcount(table: pd.DataFrame, lang: str, target: float = 0.8):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    tab = table.sort_values("managers")
    x = tab["managers"].to_numpy()
    y = tab["p_plan"].to_numpy()
    ax.errorbar(x, y, yerr=[y - tab["p_plan_lo"].to_numpy(), tab["p_plan_hi"].to_numpy() - y], fmt="o-", capsize=3)
    ax.axhline(target, ls="--", color="grey")
    ax.text(x.min(), target + 0.02, t("capacity.plot.target", lang, target=fmt_.percent(target, lang, 0)), color="grey", fontsize=8)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xticks(x)
    ax.set_xlabel(t("capacity.plot.headcount", lang))
    ax.set_ylabel(t("capacity.plot.p_plan", lang))
    ax.set_title(t("capacity.plot.headcount_title", lang))
    fig.tight_layout()
    return fig


def plot_revenue_by_limit(table: pd.DataFrame, lang: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    tab = table.reset_index(drop=True)
    x = np.arange(len(tab))
    y = tab["revenue"].to_numpy() / 1e6
    ax.errorbar(x, y, yerr=[y - tab["revenue_lo"].to_numpy() / 1e6, tab["revenue_hi"].to_numpy() / 1e6 - y], fmt="o-", capsize=3)
    i = int(np.argmax(y))
    ax.plot([x[i]], [y[i]], "o", ms=12, mfc="none", mec="C3")
    ax.set_xticks(x, [_limit_label(v, lang) for v in tab["deal_limit"]])
    ax.set_xlabel(t("capacity.plot.limit", lang))
    ax.set_ylabel(t("capacity.plot.revenue_mln", lang))
    ax.set_title(t("capacity.plot.limit_title", lang))
    fig.tight_layout()
    return fig


def plot_metric_by(table: pd.DataFrame, x: str, hue: str | None, metric: str, lang: str, scale: float = 1.0):
    """One metric (mean with 95 % CI) against a scenario axis, one line per ``hue`` value."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    groups = [(None, table)] if hue is None else list(table.groupby(hue, sort=False))
    for key, g in groups:
        g = g.sort_values(x)
        y = g[metric].to_numpy() / scale
        ax.errorbar([_key_value(x, v, lang) for v in g[x].tolist()], y, yerr=[y - g[f"{metric}_lo"].to_numpy() / scale, g[f"{metric}_hi"].to_numpy() / scale - y],
                    fmt="o-", capsize=3, label=None if key is None else (t(f"capacity.value.{key}", lang) if has(f"capacity.value.{key}") else str(key)))
    ax.set_xlabel(t(f"capacity.axis.{x}", lang))
    ax.set_ylabel(t(f"capacity.col.{metric}", lang) + (", " + t("capacity.mln", lang) if scale == 1e6 else ""))
    if hue is not None:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- report tables

_SHARE = {"sla_share", "overnight_share", "utilisation", "p_plan"}
#: money metrics, shown in millions
_MONEY = {"revenue", "won_amount"}


def _fmt(metric: str, v: float, lang: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return fmt_.DASH
    if metric in _SHARE:
        return fmt_.percent(v, lang, 0)
    if metric in _MONEY:
        return fmt_.number(v / 1e6, lang, 2)
    return fmt_.number(v, lang, 0 if abs(v) >= 10 else 1)


def _key_value(key: str, v, lang: str) -> str:
    """A scenario's value on an axis in words."""
    if key == "deal_limit":
        return _limit_label(v, lang)
    if isinstance(v, (bool, np.bool_, str)):
        code = f"capacity.value.{v}"
        return t(code, lang) if has(code) else str(v)
    if key == "head_selling_share":
        return fmt_.percent(float(v), lang, 0)
    if isinstance(v, (int, np.integer)):
        return fmt_.integer(int(v), lang)
    if isinstance(v, (float, np.floating)):
        return fmt_.number(float(v), lang, 2, trim=True)
    return str(v)


def report_table(table: pd.DataFrame, lang: str, keys: list[str], metrics=METRICS) -> pd.DataFrame:
    """A sweep table for the report: scenario keys in words, each metric as ``mean (lo–hi)``.

    Revenue (payments received) and the won amount are in millions.
    """
    out = pd.DataFrame(index=table.index)
    for k in keys:
        out[t(f"capacity.axis.{k}", lang)] = [_key_value(k, v, lang) for v in table[k].tolist()]
    for m in list(metrics) + (["p_plan"] if "p_plan" in table.columns else []):
        if m not in table.columns:
            continue
        name = t(f"capacity.col.{m}", lang) + (", " + t("capacity.mln", lang) if m in _MONEY else "")
        out[name] = [f"{_fmt(m, a, lang)} ({_fmt(m, lo, lang)}–{_fmt(m, hi, lang)})" for a, lo, hi in
                     zip(table[m], table[f"{m}_lo"], table[f"{m}_hi"])]
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- the page


def _day(ts, lang: str) -> str:
    """A day in the page's language (:func:`salesaudit.report.format.date`)."""
    return fmt_date(ts, lang)


def _money(x, lang: str) -> str:
    """An amount in whole units, grouped for the page's language (the sentence names the currency)."""
    return fmt_.money(x, lang, currency=None)


def _plan_text(plan, lang: str) -> str:
    """The revenue plan, a whole number grouped for the page's language."""
    return _money(plan, lang) if plan is not None else fmt_.DASH


def _month_name(m: str, lang: str) -> str:
    """A month in words: ``ноябрь 2026``, ``November 2026``."""
    from babel.dates import format_date

    return format_date(pd.Period(m, freq="M").start_time.date(), "LLLL yyyy", locale=fmt_._locale(lang))


def _months_text(months: list, lang: str) -> str:
    """Months in words: one month, or the first – the last when they follow each other, else a list."""
    ms = sorted(str(m) for m in months)
    if not ms:
        return fmt_.DASH
    if len(ms) == 1:
        return _month_name(ms[0], lang)
    periods = [pd.Period(m, freq="M") for m in ms]
    if all((b - a).n == 1 for a, b in zip(periods, periods[1:])):
        return f"{_month_name(ms[0], lang)} – {_month_name(ms[-1], lang)}"
    return ", ".join(_month_name(m, lang) for m in ms)


def horizon_text(r, lang: str) -> str:
    """The simulated horizon: its first and last day and its length."""
    info = r.plan_info
    start, end = pd.Timestamp(info["start"]), pd.Timestamp(info["end"]) - pd.Timedelta(days=1)
    return t("capacity.horizon", lang, start=_day(start, lang), end=_day(end, lang), n=int(round(info["days"])))


def plan_text(r, lang: str) -> str:
    """Where the plan of the horizon comes from, in words (the CRM's plans, or the stated assumption)."""
    info, src = r.plan_info, r.plan_source
    growth = fmt_.number(info.get("growth", 1.0), lang, 2)
    basis = _months_text(info.get("basis_months") or [], lang)
    per_month = _money(info.get("basis_per_month"), lang)
    if src == "plans":
        return t("capacity.plan_src.plans", lang, months=_months_text(info["months"], lang))
    if src == "plans_and_assumption":
        return t("capacity.plan_src.plans_and_assumption", lang, planned=_months_text(info["planned_months"], lang),
                 basis=basis, per_month=per_month, growth=growth)
    if src in ("last_three_plans", "last_three_payments"):
        return t(f"capacity.plan_src.{src}", lang, months=_months_text(info["months"], lang), basis=basis, per_month=per_month,
                 growth=growth)
    return t(f"capacity.plan_src.{src}", lang)


def _metric_label(m: str, lang: str) -> str:
    return t(f"capacity.col.{m}", lang)


def backtest_table(r, lang: str) -> pd.DataFrame:
    """The backtest per metric in ``lang``: counts as whole numbers, money grouped, shares in %."""
    tab = r.backtest_
    rows = []
    for row in tab.itertuples(index=False):
        def v(x, m=row.metric):
            return _money(x, lang) if m in _MONEY else fmt_.integer(round(float(x)), lang)

        rows.append({"metric": _metric_label(row.metric, lang), "actual": v(row.actual), "p05": v(row.p05), "p50": v(row.p50),
                     "p95": v(row.p95), "inside": t("capacity.cal.yes" if row.inside else "capacity.cal.no", lang),
                     "error": fmt_.percent(row.error, lang, 0, sign=True)})
    out = pd.DataFrame(rows, columns=["metric", "actual", "p05", "p50", "p95", "inside", "error"])
    return out.rename(columns={c: t(f"capacity.col.{c}", lang) for c in out.columns})


def payments_text(r, lang: str) -> str | None:
    """How the simulation turns wins into payments: the share paid within 30 and 90 days, and the deals won before."""
    P = r.params
    if P.pay_curves is None:
        return t("capacity.payments_none", lang)
    c = P.pay_curves["*"]
    early = P.earlier_payments
    in_h = float(early[min(int(r.horizon_days), len(early) - 1)]) if early is not None else 0.0
    return t("capacity.payments_text", lang, d30=fmt_.percent(c[min(30, len(c) - 1)], lang, 0), d90=fmt_.percent(c[min(90, len(c) - 1)], lang, 0),
             as_of=_day(r.calibration.as_of, lang), n=int(P.notes.get("earlier_deals", 0)), left=_money(P.notes.get("earlier_left", 0.0), lang),
             in_h=_money(in_h, lang))


def more_is_worse_text(r, lang: str) -> str | None:
    """Why a larger team brings in less, from the simulation's own figures (None: it does not)."""
    w = r.more_is_worse
    if not w:
        return None
    st = r.params.staffing
    return t("capacity.more_is_worse", lang, n=w["managers"], current=w["current"], rev=_money(w["revenue"], lang),
             rev_current=_money(w["revenue_current"], lang), hires=w["managers"] - w["current"],
             share=fmt_.percent(w["new_share"], lang, 0), new_rate=fmt_.percent(w["new_rate"], lang, 1),
             rest_rate=fmt_.percent(w["rest_rate"], lang, 1), start=fmt_.percent(st.ramp_start, lang, 0),
             weeks=fmt_.number(st.ramp_weeks, lang, 0)) + (
        " " + t("capacity.more_is_worse_diff", lang, diff=_money(w["diff"], lang), diff_lo=_money(w["diff_lo"], lang),
                diff_hi=_money(w["diff_hi"], lang)) if w["diff_lo"] == w["diff_lo"] else "")


def _calibration(r, lang: str, p: Page) -> None:
    cal, P = r.calibration, r.params
    s = cal.inflow_summary_
    disp = s.get("dispersion") or {}
    p.add(Heading(t("capacity.calibration", lang)),
          Text(t("capacity.inflow_text", lang, per_day=fmt_.number(s.get("leads_per_working_day", float("nan")), lang, 1),
                 per_off=fmt_.number(s.get("leads_per_off_day", float("nan")), lang, 1),
                 disp=fmt_.number(disp.get("index", float("nan")), lang, 2),
                 p_disp=p_text(disp.get("p_value", float("nan")), lang), cv=fmt_.percent(P.volume_cv, lang, 0))),
          Figure(plot_inflow(P.inflow, lang=lang)))
    tabs = calibration_tables(cal, lang)
    p.add(Heading(t("capacity.stages", lang), 3), Table(tabs["stages"]),
          Heading(t("capacity.sellers", lang), 3), Table(tabs["sellers"]))

    e = cal.effects_.set_index("effect")
    rr, o = e.loc["beta_response"], e.loc["delta_overload"]
    def signed(x):
        return fmt_.number(x, lang, 2, sign=True)

    dtext = (t("capacity.overload_yes", lang, delta=signed(o["estimate"]), lo=signed(o["lo"]), hi=signed(o["hi"])) if o["detectable"]
             else t("capacity.overload_no", lang, lo=signed(o["lo"]), hi=signed(o["hi"]), used=signed(o["used"])))
    ratio = response_odds_ratio(rr["used"])  # answered after 4 hours instead of 15 minutes
    cv = cal.conversions_
    p.add(Heading(t("capacity.effects", lang), 3),
          Text(t("capacity.effects_text", lang, beta=signed(rr["used"]), lo=signed(rr["lo"]), hi=signed(rr["hi"]),
                 ratio=fmt_.number(ratio, lang, 2), dtext=dtext)),
          Table(tabs["effects"]),
          Heading(t("capacity.conversions", lang), 3),
          Text(t("capacity.conversions_text", lang, inside=int(cv["inside"].sum()), n=len(cv))),
          Table(tabs["conversions"], max_rows=40),
          Heading(t("capacity.payments", lang), 3),
          Text(payments_text(r, lang)),
          Heading(t("capacity.assumptions", lang), 3),
          Table(tabs["assumptions"], max_rows=40))
    if cal.notes:
        p.add(Heading(t("capacity.notes", lang), 3), Text("\n".join(f"- {n}" for n in calibration_notes(cal, lang))))


def page(r, lang: str) -> Page:
    """Notebook 06's page: calibration, backtest, baseline, headcount, deal-load limit, volume × routing, SLA, head of sales."""
    p = Page(lang=lang)
    p.add(Heading(t("capacity.title", lang, client=r.client), 1))
    if r.missing:
        return p.add(Text(t("capacity.no_data", lang, missing=", ".join(r.missing))))
    horizon = horizon_text(r, lang)
    p.add(Text(t("capacity.intro", lang, as_of=_day(r.calibration.as_of, lang), horizon=horizon, reps=r.replications)))
    _calibration(r, lang, p)

    p.add(Heading(t("capacity.backtest", lang)),
          Text(t("capacity.backtest_text", lang, as_of=_day(r.backtest_as_of, lang), start=_day(r.backtest_start, lang),
                 end=_day(r.backtest_end - pd.Timedelta(days=1), lang))),
          Table(backtest_table(r, lang)))

    b = r.baseline_
    base = r.runs["base"]
    q = base["revenue"].quantile([0.1, 0.5, 0.9])
    plan_words = plan_text(r, lang)
    p.add(Heading(t("capacity.baseline", lang)),
          Text(t("capacity.baseline_text", lang, horizon=horizon, p10=_money(q[0.1], lang), p50=_money(q[0.5], lang), p90=_money(q[0.9], lang),
                 earlier=_money(base["revenue_earlier_wins"].mean(), lang) if "revenue_earlier_wins" in base else fmt_.DASH,
                 start=_day(r.plan_info["start"], lang), won=_money(base["won_amount"].median(), lang) if "won_amount" in base else fmt_.DASH)))
    if r.plan is not None:
        p.add(Text(t("capacity.baseline_plan", lang, plan=_plan_text(r.plan, lang), plan_src=plan_words, p=fmt_.percent(r.p_plan, lang, 0),
                     lo=fmt_.percent(b.loc[0, "p_plan_lo"] if "p_plan_lo" in b else float("nan"), lang, 0),
                     hi=fmt_.percent(b.loc[0, "p_plan_hi"] if "p_plan_hi" in b else float("nan"), lang, 0))))
    else:
        p.add(Text(t("capacity.baseline_no_plan", lang)))
    p.add(Table(report_table(b, lang, [])))

    if r.plan is not None:
        hc, ans = r.headcount_, r.smallest_headcount
        common = dict(horizon=horizon, plan=_plan_text(r.plan, lang), target=fmt_.percent(r.target, lang, 0))
        p.add(Heading(t("capacity.headcount", lang)), Figure(plot_chance_by_headcount(hc, lang, r.target)))
        if ans["managers"] is None:
            best = hc.sort_values(["p_plan", "managers"], ascending=[False, True]).iloc[0]
            p.add(Text(t("capacity.headcount_none", lang, p=fmt_.percent(ans["p"], lang, 0), best=int(best["managers"]),
                         lo=int(hc["managers"].min()), hi=int(hc["managers"].max()), **common)))
        else:
            p.add(Text(t("capacity.headcount_question", lang, horizon=horizon, plan=common["plan"]) + " "
                       + t("capacity.headcount_answer", lang, n=ans["managers"], target=common["target"],
                           p=fmt_.percent(ans["p"], lang, 0), lo=fmt_.percent(ans["lo"], lang, 0), hi=fmt_.percent(ans["hi"], lang, 0),
                           sure=t("capacity.headcount_sure" if ans["sure"] else "capacity.headcount_unsure", lang))))
        why = more_is_worse_text(r, lang)
        if why:
            p.add(Text(why))
        p.add(Table(report_table(hc, lang, ["managers"])))

    lt, best = r.limit_, r.best_limit
    no_limit = t("capacity.no_limit", lang)
    p.add(Heading(t("capacity.limit", lang)), Figure(plot_revenue_by_limit(lt, lang)),
          Text(t("capacity.limit_question", lang, horizon=horizon) + " "
               + t("capacity.limit_answer" if best["deal_limit"] is not None else "capacity.limit_answer_none", lang,
                 limit=best["deal_limit"] if best["deal_limit"] is not None else no_limit, mean=_money(best["mean"], lang), lo=_money(best["lo"], lang), hi=_money(best["hi"], lang),
                 mode=t(f"capacity.value.{r.params.at_limit}", lang),
                 tied=", ".join(str(x) if x is not None else no_limit for x in best["tied"]))),
          Table(report_table(lt, lang, ["deal_limit"])))

    vt, st = r.volume_, r.sla_
    p.add(Heading(t("capacity.volume", lang)),
          Figure(plot_metric_by(vt, "volume", "routing", "response_p90", lang)),
          Figure(plot_metric_by(vt, "volume", "routing", "revenue", lang, scale=1e6)),
          Table(report_table(vt, lang, ["volume", "routing"])),
          Heading(t("capacity.sla", lang)),
          Figure(plot_metric_by(st, "sla_minutes", "escalate", "sla_share", lang)),
          Table(report_table(st, lang, ["sla_minutes", "escalate"])))

    if r.head_ is not None:
        ht = r.head_
        p.add(Heading(t("capacity.head", lang)), Text(t("capacity.head_text", lang, n=r.head_months)),
              Figure(plot_metric_by(ht, "head_selling_share", None, "revenue", lang, scale=1e6)),
              Table(report_table(ht, lang, ["head_selling_share"], metrics=("revenue", "won_amount", "won", "response_p50", "utilisation"))))
    return p

