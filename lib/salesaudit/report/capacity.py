"""The capacity simulation's page (notebook 06) in one language, made from a :class:`~salesaudit.sim.capacity.CapacityResult`.

Also the calibration's tables and notes in the report's language (:func:`calibration_tables`,
:func:`calibration_notes`, moved here from :mod:`salesaudit.sim.calibrate`). Headers, codes and
texts come from the message catalogue; the numbers are the result's own.
"""
from __future__ import annotations

import pandas as pd

from ..sim import experiments as ex
from ..sim.calibrate import Calibration, conversion_check
from ..sim.department import AT_LIMIT, ROUTING_RULES
from ..sim.effects import response_odds_ratio
from .format import date as fmt_date
from .format import integer as fmt_integer
from .i18n import _check_lang, has, t
from .page import Figure, Heading, Page, Table, Text
from .show import p_text

__all__ = ["page", "calibration_tables", "calibration_notes", "backtest_table"]


# --------------------------------------------------------------------------- the calibration in the report's language (moved from sim.calibrate)

#: placeholders of the assumption meanings that list the allowed values
_MEANING_PARAMS = {"at_limit": {"options": ", ".join(AT_LIMIT)}, "routing": {"options": ", ".join(ROUTING_RULES)}}


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
    assumptions' meanings in ``lang``; numbers rounded to 3 decimals (effects to 4). Assumption
    names stay as they are: they are the keys of ``params/simulation/*.yaml``.
    """
    _check_lang(lang)
    stage_label = _stage_labels(cal, lang)
    st = cal.stages_.copy()
    if "stage" in st:
        st["stage"] = [stage_label.get(k, k) for k in st["stage"].astype(str)]
    if "touch_source" in st:
        st["touch_source"] = [_code("capacity.cal.source", v, lang) for v in st["touch_source"]]

    se = cal.sellers_.drop(columns=["name"], errors="ignore")
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
    asm["meaning"] = [t(f"capacity.assumption.{k}", lang, **_MEANING_PARAMS.get(k, {})) if has(f"capacity.assumption.{k}") else m
                      for k, m in zip(asm["name"], asm["meaning"])]
    cv = cal.conversions_.copy() if cal.conversions_ is not None else conversion_check(pd.DataFrame(columns=["status", "answered"]), {}, {}, 0.0)
    if len(cv):
        is_band = cv["group"] == "response"
        cv.loc[is_band, "key"] = [t("capacity.cal.band", lang, band=k) for k in cv.loc[is_band, "key"]]
        cv["group"] = [_code("capacity.cal.group", g, lang) for g in cv["group"]]
        cv["inside"] = _yes_no(cv["inside"], lang)
    return {
        "stages": _headers(st.round(3), "stages", lang),
        "sellers": _headers(se.round(3), "sellers", lang),
        "effects": _headers(ef.round(4), "effects", lang),
        "conversions": _headers(cv.round(3), "conversions", lang),
        "assumptions": _headers(asm, "assumptions", lang),
    }


def calibration_notes(cal: Calibration, lang: str) -> list[str]:
    """The calibration's notes (limits of the data) in ``lang``, in the order of ``cal.notes``.

    A note of :func:`calibrate` is rebuilt from its label (a stage named by its label in ``lang``);
    a note added to ``cal.notes`` by hand has no label and comes back as it is.
    """
    _check_lang(lang)
    stage_label = _stage_labels(cal, lang)
    known = {t(key, "en", **params): (key, params) for key, params in (cal.note_keys_ or [])}
    out = []
    for text in cal.notes:
        if text not in known:
            out.append(text)
            continue
        key, params = known[text]
        params = {k: (stage_label.get(v, v) if k == "stage" else v) for k, v in params.items()}
        out.append(t(key, lang, **params))
    return out


# --------------------------------------------------------------------------- the page


def _day(ts, lang: str) -> str:
    """A day in the page's language (:func:`salesaudit.report.format.date`)."""
    return fmt_date(ts, lang)


def _plan_text(plan, lang: str) -> str:
    """The revenue plan, a whole number grouped for the page's language."""
    return fmt_integer(plan, lang) if plan is not None else "—"


def backtest_table(r, lang: str) -> pd.DataFrame:
    """The backtest per metric in ``lang`` (rounded to 3 decimals)."""
    tab = r.backtest_.copy()
    tab["metric"] = [t(f"capacity.col.{m}", lang) for m in tab["metric"]]
    return tab.rename(columns={c: t(f"capacity.col.{c}", lang) for c in tab.columns}).round(3)


def _calibration(r, lang: str, p: Page) -> None:
    cal, P = r.calibration, r.params
    s = cal.inflow_summary_
    disp = s.get("dispersion") or {}
    p.add(Heading(t("capacity.calibration", lang)),
          Text(t("capacity.inflow_text", lang, per_day=s.get("leads_per_working_day", float("nan")),
                 per_off=s.get("leads_per_off_day", float("nan")), disp=disp.get("index", float("nan")),
                 p_disp=p_text(disp.get("p_value", float("nan")), lang), cv=P.volume_cv)),
          Figure(P.inflow.plot(lang=lang)))
    tabs = calibration_tables(cal, lang)
    p.add(Heading(t("capacity.stages", lang), 3), Table(tabs["stages"]),
          Heading(t("capacity.sellers", lang), 3), Table(tabs["sellers"]))

    e = cal.effects_.set_index("effect")
    rr, o = e.loc["beta_response"], e.loc["delta_overload"]
    dtext = (t("capacity.overload_yes", lang, delta=o["estimate"], lo=o["lo"], hi=o["hi"]) if o["detectable"]
             else t("capacity.overload_no", lang, lo=o["lo"], hi=o["hi"], used=o["used"]))
    ratio = response_odds_ratio(rr["used"])  # answered after 4 hours instead of 15 minutes
    cv = cal.conversions_
    p.add(Heading(t("capacity.effects", lang), 3),
          Text(t("capacity.effects_text", lang, beta=rr["used"], lo=rr["lo"], hi=rr["hi"], ratio=ratio, dtext=dtext)),
          Table(tabs["effects"]),
          Heading(t("capacity.conversions", lang), 3),
          Text(t("capacity.conversions_text", lang, inside=int(cv["inside"].sum()), n=len(cv))),
          Table(tabs["conversions"], max_rows=40),
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
    P = r.params
    p.add(Text(t("capacity.intro", lang, as_of=_day(r.calibration.as_of, lang), days=r.horizon_days, start=_day(P.start, lang), reps=r.replications)))
    _calibration(r, lang, p)

    p.add(Heading(t("capacity.backtest", lang)),
          Text(t("capacity.backtest_text", lang, as_of=_day(r.backtest_as_of, lang), start=_day(r.backtest_start, lang),
                 end=_day(r.backtest_end - pd.Timedelta(days=1), lang))),
          Table(backtest_table(r, lang)))

    b = r.baseline_
    q = r.runs["base"]["revenue"].quantile([0.1, 0.5, 0.9])
    p.add(Heading(t("capacity.baseline", lang)),
          Text(t("capacity.baseline_text", lang, p10=q[0.1], p50=q[0.5], p90=q[0.9], plan=_plan_text(r.plan, lang),
                 plan_src=t(f"capacity.plan_src.{r.plan_source}", lang), p=r.p_plan,
                 lo=b.loc[0, "p_plan_lo"] if "p_plan_lo" in b else float("nan"),
                 hi=b.loc[0, "p_plan_hi"] if "p_plan_hi" in b else float("nan"))),
          Table(ex.report_table(b, lang, [])))

    if r.plan is not None:
        hc, ans = r.headcount_, r.smallest_headcount
        p.add(Heading(t("capacity.headcount", lang)), Figure(ex.plot_chance_by_headcount(hc, lang, r.target)))
        if ans["managers"] is None:
            p.add(Text(t("capacity.headcount_none", lang, target=r.target, p=ans["p"])))
        else:
            p.add(Text(t("capacity.headcount_answer", lang, target=r.target, n=ans["managers"], p=ans["p"], lo=ans["lo"], hi=ans["hi"],
                         sure=t("capacity.headcount_sure" if ans["sure"] else "capacity.headcount_unsure", lang))))
        p.add(Table(ex.report_table(hc, lang, ["managers"])))

    lt, best = r.limit_, r.best_limit
    no_limit = t("capacity.no_limit", lang)
    p.add(Heading(t("capacity.limit", lang)), Figure(ex.plot_revenue_by_limit(lt, lang)),
          Text(t("capacity.limit_answer", lang, limit=best["deal_limit"] if best["deal_limit"] is not None else no_limit,
                 mean=best["mean"], lo=best["lo"], hi=best["hi"], mode=P.at_limit,
                 tied=", ".join(str(x) if x is not None else no_limit for x in best["tied"]))),
          Table(ex.report_table(lt, lang, ["deal_limit"])))

    vt, st = r.volume_, r.sla_
    p.add(Heading(t("capacity.volume", lang)),
          Figure(ex.plot_metric_by(vt, "volume", "routing", "response_p90", lang)),
          Figure(ex.plot_metric_by(vt, "volume", "routing", "revenue", lang, scale=1e6)),
          Table(ex.report_table(vt, lang, ["volume", "routing"])),
          Heading(t("capacity.sla", lang)),
          Figure(ex.plot_metric_by(st, "sla_minutes", "escalate", "sla_share", lang)),
          Table(ex.report_table(st, lang, ["sla_minutes", "escalate"])))

    if r.head_ is not None:
        ht = r.head_
        p.add(Heading(t("capacity.head", lang)), Text(t("capacity.head_text", lang, months=r.head_months)),
              Figure(ex.plot_metric_by(ht, "head_selling_share", None, "revenue", lang, scale=1e6)),
              Table(ex.report_table(ht, lang, ["head_selling_share"], metrics=("revenue", "won", "response_p50", "utilisation"))))
    return p
