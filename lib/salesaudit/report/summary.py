"""The audit's first page (``index.html`` of a run): the verdict, then the sections.

Made from the run's records only (what the notebooks computed and recorded), in the run's
language:

1. the coverage banner and the load warnings, when there are any;
2. **the head of sales' scorecard** (notebook 07's ``scorecard_head`` / ``scorecard_checkpoints``):
   new or experienced, each checkpoint's value, green/amber/red and rule;
3. **the findings ranked by money at stake** (notebook 07's ``findings``, see
   :mod:`salesaudit.analysis.findings`): what, how big with its interval and horizon, how sure, what
   to do, and a link to the section that holds the evidence;
4. the sections: every notebook's page with its status (and what failed), its time, and a few
   key figures behind a "show" (numbers and named codes only, never raw keys or lists of codes).

Self-contained: inline CSS, no script, nothing loaded from the network.
"""
from __future__ import annotations

import datetime as dt
import html
from typing import Iterable, Optional
from urllib.parse import quote

import pandas as pd

from . import findings as findings_report
from . import format as fmt_
from . import scorecard as scorecard_report
from .coverage import banner_html
from .i18n import duration, t
from .i18n import has as _has_label

__all__ = ["render", "key_rows", "CSS"]

CSS = """
:root { --ok: #1b7f3b; --bad: #c62828; --amber: #b26a00; --muted: #666; --line: #e3e3e3; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0;
       color: #222; background: #fafafa; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 32px 20px 48px; }
h1 { font-size: 1.7em; margin: 0 0 6px; }
h2 { font-size: 1.3em; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0 0 4px; }
.lead { margin: 6px 0 12px; }
.summary { margin: 12px 0 16px; font-weight: 600; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin: 0 0 16px; }
section.nb { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--ok);
             border-radius: 6px; padding: 10px 18px; margin: 0 0 10px; }
section.nb.failed { border-left-color: var(--bad); }
section.nb h3 { font-size: 1.05em; margin: 0 0 4px; }
section.nb h3 a { color: inherit; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: .85em; color: #fff;
          background: var(--ok); margin-right: 8px; }
.failed .status { background: var(--bad); }
.error { color: var(--bad); margin: 8px 0; white-space: pre-wrap; }
.time { color: var(--muted); font-size: .85em; margin-left: 8px; }
table { border-collapse: collapse; margin-top: 8px; width: 100%; }
th, td { text-align: left; padding: 6px 10px 6px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85em; color: var(--muted); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.money { font-variant-numeric: tabular-nums; min-width: 12em; }
.st { font-weight: 600; }
.st.green { color: var(--ok); } .st.amber { color: var(--amber); } .st.red { color: var(--bad); }
.none { color: var(--muted); font-size: .9em; margin-top: 8px; }
details summary { cursor: pointer; color: var(--muted); font-size: .9em; margin-top: 6px; }
.warnings { background: #fff8e1; border: 1px solid #f0a020; border-left: 6px solid #f0a020; border-radius: 6px;
            padding: 10px 18px; margin: 0 0 20px; }
.warnings h2 { font-size: 1.1em; margin: 0 0 6px; color: #8a5300; }
.warnings p { margin: 6px 0; }
.warnings pre { margin: 2px 0 8px 16px; font-size: .9em; }
footer { color: var(--muted); font-size: .8em; margin-top: 32px; }
@media print { body { background: #fff; } main { max-width: none; padding: 0; } details { display: none; }
               td.money { min-width: 0; } th, td { padding: 3px 6px 3px 0; font-size: .85em; } }
"""

#: key results shown per section: no longer than this (a period label, a named code)
MAX_STRING = 80


def _fmt_number(value, lang: str) -> str:
    """A key figure: whole from 1000 on, up to two decimals from 1, else up to three."""
    if isinstance(value, int) or fmt_.missing(value) or float(value).is_integer() or abs(value) >= 1000:
        return fmt_.integer(value, lang) if not fmt_.missing(value) and abs(value) < 1e15 else fmt_.number(value, lang)
    return fmt_.number(value, lang, 2, trim=True) if abs(value) >= 1 else fmt_.number(value, lang)


def _shown(key: str, value, lang: str) -> str:
    """A key figure as a reader reads it: a percentage for ``*_pct`` (percent units) and for shares,
    rates and chances (0–1), a duration for seconds (``*_sec``, ``*_s``), else a number."""
    if fmt_.missing(value):
        return fmt_.DASH
    if key.endswith("_pct"):
        return fmt_.percent(value / 100, lang, 1)
    if any(w in key for w in ("share", "rate", "chance")) and 0 <= value <= 1:
        return fmt_.percent(value, lang, 1)
    if key.endswith(("_sec", "_s")):
        return duration(value, lang)
    return _fmt_number(value, lang)


def key_rows(records: dict, lang: str) -> list[tuple[str, str, bool]]:
    """(label, shown value, is number) of the section's key figures a reader can read: labelled
    numbers and yes/no, and codes the catalogue names (``record.<key>.<code>``); raw lists of codes,
    unnamed strings and nested values stay in the JSON."""
    rows = []
    for key, value in records.items():
        if key.startswith("_") or not _has_label(f"record.{key}") or key.endswith("_sec"):
            continue  # (``*_sec``: a figure's full-precision twin in the JSON; the page shows it in minutes)
        label = t(f"record.{key}", lang)
        if isinstance(value, bool):
            rows.append((label, t("index.yes" if value else "index.no", lang), False))
        elif isinstance(value, (int, float)):
            rows.append((label, _shown(key, value, lang), True))
        elif isinstance(value, str) and _has_label(f"record.{key}.{value}"):
            rows.append((label, t(f"record.{key}.{value}", lang), False))
    return rows


def _status_class(s: str) -> str:
    return s if s in ("green", "amber", "red") else ""


def _scorecard(records: dict, lang: str, e) -> list[str]:
    cps = records.get("scorecard_checkpoints")
    if not cps:
        return []
    head = records.get("scorecard_head") or {}
    cp = pd.DataFrame(cps)
    att = pd.DataFrame(records.get("scorecard_attainment") or [], columns=["month", "attainment"])
    out = [f'<h2 id="scorecard">{e(t("summary.scorecard", lang))}</h2>', '<div class="card">']
    if head.get("name"):
        kind = t("scorecard.kind." + ("new" if head.get("new") else "experienced"), lang)
        months = fmt_.number(head["months"], lang, 1) if head.get("months") is not None else fmt_.DASH
        out.append(f'<p class="lead">{e(t("summary.head", lang, name=head["name"], months=months, kind=kind))}</p>')
    out.append(f"<table><thead><tr><th>{e(t('scorecard.col.checkpoint', lang))}</th><th>{e(t('scorecard.col.value', lang))}</th>"
               f"<th>{e(t('scorecard.col.status', lang))}</th><th>{e(t('scorecard.col.rule', lang))}</th></tr></thead><tbody>")
    for row in cp.itertuples():
        value = scorecard_report.value_text(row, att, lang) if len(att) or row.key not in ("plan_attainment", "plan_trend") else fmt_.DASH
        status = t(f"scorecard.status.{row.status}", lang)
        out.append(f"<tr><td>{e(t(f'scorecard.check.{row.key}', lang))}</td><td class=\"num\">{e(value)}</td>"
                   f'<td><span class="st {_status_class(row.status)}">{e(status)}</span></td><td>{e(scorecard_report.rule_text(row, lang))}</td></tr>')
    out += ["</tbody></table>", "</div>"]
    return out


def _findings(records: dict, pages: dict, lang: str, e) -> list[str]:
    recs = records.get("findings")
    if recs is None:
        return []
    currency = records.get("findings_currency")
    months = records.get("findings_months") or 3
    out = [f'<h2 id="findings">{e(t("findings.title", lang))}</h2>', '<div class="card">',
           f'<p class="lead">{e(t("summary.findings_intro", lang, months=fmt_.integer(months, lang)))}</p>']
    if not recs:
        return out + [f'<p class="none">{e(t("findings.none", lang))}</p>', "</div>"]
    out.append(f"<table><thead><tr><th>{e(t('findings.col.rank', lang))}</th><th>{e(t('findings.col.what', lang))}</th>"
               f"<th>{e(t('findings.col.money', lang))}</th><th>{e(t('findings.col.sure', lang))}</th>"
               f"<th>{e(t('findings.col.action', lang))}</th><th>{e(t('findings.col.evidence', lang))}</th></tr></thead><tbody>")
    for r in findings_report.rows(recs, lang, currency):
        page = pages.get(r["evidence"])
        evidence = (f'<a href="{quote(page[1])}">{e(page[0])}</a>' if page and page[1] else e(page[0]) if page else fmt_.DASH)
        out.append(f"<tr><td class=\"num\">{r['rank']}</td><td>{e(r['what'])}</td><td class=\"money\">{e(r['money'])}</td>"
                   f"<td>{e(r['sure'])}</td><td>{e(r['action'])}</td><td>{evidence}</td></tr>")
    out += ["</tbody></table>", f'<p class="none">{e(t("findings.models", lang))}</p>', "</div>"]
    return out


def render(cfg, results: list, banner: Optional[str] = None, warnings: Optional[Iterable[str]] = None,
           failure_text=None) -> str:
    """The self-contained ``index.html`` of a run: banner, warnings, scorecard, findings, sections.

    ``results`` are the run's :class:`~salesaudit.runs.runner.NotebookResult` (``stem``, ``title``,
    ``ok``, ``html``, ``seconds``, ``records``, ``message``/``error``); ``failure_text(stem, message,
    cell, heading, lang)`` words a failed notebook.
    """
    from ..data.params import parse_period

    lang = cfg.language
    e = html.escape
    title = t("index.title", lang, client=cfg.client)
    period = parse_period(cfg.period).label if cfg.period else t("index.period.all", lang)
    audit_date = fmt_.date(cfg.as_of.date() if cfg.as_of is not None else dt.date.today(), lang)
    n_ok = sum(r.ok for r in results)
    records = {}
    for r in results:  # the verdict's records (notebook 07) and any other notebook's
        records.update({k: v for k, v in (r.records or {}).items() if k.startswith(("scorecard_", "findings"))})
    pages = {r.stem: (r.title, r.html.name if r.html is not None else None) for r in results}

    parts = [
        "<!DOCTYPE html>", f'<html lang="{e(lang)}">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)} — {e(period)} — {e(audit_date)}</title>", f"<style>{CSS}</style>", "</head>", "<body><main>",
        *([banner_html(banner)] if banner else []),
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">{e(t("index.period", lang))}: <strong>{e(period)}</strong> · '
        f'{e(t("index.date", lang))}: <strong>{e(audit_date)}</strong></p>',
    ]
    warnings = [str(w) for w in (warnings or []) if str(w).strip()]
    if warnings:
        parts.append(f'<section class="warnings" role="alert"><h2>{e(t("run.load_warnings", lang))}</h2>')
        for w in warnings:  # a warning's first line is its paragraph; lines after it (stage_map:) are to be pasted as they are
            first, _, rest = w.partition("\n")
            parts.append(f"<p>{e(first)}</p>" + (f"<pre>{e(rest)}</pre>" if rest else ""))
        parts.append("</section>")
    parts += _scorecard(records, lang, e)
    parts += _findings(records, pages, lang, e)
    parts.append(f'<h2 id="sections">{e(t("summary.sections", lang))}</h2>')
    parts.append(f'<p class="summary">{e(t("index.summary", lang, total=len(results), ok=n_ok, failed=len(results) - n_ok))}</p>')
    for r in results:
        status = t("index.status.ok" if r.ok else "index.status.failed", lang)
        heading = e(r.title)
        if r.html is not None:
            heading = f'<a href="{quote(r.html.name)}">{heading}</a>'
        parts.append(f'<section class="nb {"ok" if r.ok else "failed"}" id="{e(r.stem)}">')
        parts.append(f"<h3>{heading}</h3>")
        line = f'<span class="status">{e(status)}</span>'
        if r.html is not None:
            line += f'<a href="{quote(r.html.name)}">{e(t("index.open", lang))}</a>'
        else:
            line += f'<span class="none">{e(t("index.no_html", lang))}</span>'
        line += f'<span class="time">{e(duration(r.seconds, lang, "s"))}</span>'
        parts.append(f"<div>{line}</div>")
        if not r.ok:
            shown = failure_text(r.stem, r.message, r.cell, r.cell_heading, lang) if (r.message is not None and failure_text) else (r.error or "")
            parts.append(f'<p class="error"><strong>{e(t("index.error", lang))}:</strong> {e(shown)}</p>')
        rows = key_rows(r.records or {}, lang)
        if rows:
            parts.append(f'<details><summary>{e(t("index.key_results", lang))}</summary>'
                         f'<table><thead><tr><th>{e(t("index.key", lang))}</th><th>{e(t("index.value", lang))}</th></tr></thead><tbody>')
            for label, value, is_num in rows:
                cls = ' class="num"' if is_num else ""
                parts.append(f"<tr><td>{e(label)}</td><td{cls}>{e(value)}</td></tr>")
            parts.append("</tbody></table></details>")
        elif r.ok:
            parts.append(f'<p class="none">{e(t("index.no_key_results", lang))}</p>')
        parts.append("</section>")
    when = fmt_.datetime_(dt.datetime.now(), lang)
    parts.append(f'<footer>{e(t("index.generated", lang, when=when))}</footer>')
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
