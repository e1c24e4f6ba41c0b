"""Batch runs: the same audit for every period of a range, in parallel, for the analyst.

``salesaudit run --config … --periods 2026-01..2026-10 [--grain month] [--workers 2]`` runs the
notebooks once per period into ``<out>/<period>/`` and writes ``<out>/index.html`` listing the
periods. Periods are independent, so they run in a process pool with a progress bar; one failing
period is reported with its error and does not stop the others.

With the preflight (the default) the data are loaded once, before any period runs, and every
period's coverage is checked (:mod:`salesaudit.data.coverage`): when every period lies outside the data
the batch is refused as a whole (a SalesauditError naming the range); a period outside the data
is marked failed with the reason and runs no notebook; a partly covered period runs with the
banner on every page. The load warnings go to every period's index page.

The batch index shows the trend: one row per period with a link to its report, its coverage
(complete, partly covered, outside the data), its status and its key figures - plan attainment of
revenue, revenue received and its plan, the share of leads answered within the SLA and the money in
open deals stalled over their stage norm - read from the key results each period's notebooks
recorded (never recomputed; :mod:`salesaudit.report.trend`), and a plot of them across the periods,
inline, so the page needs no file but the period folders it links to.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional
from urllib.parse import quote

from ..data.cache import CACHE_DIRNAME
from ..data.params import load_run_config, parse_period
from ..errors import SalesauditError
from ..report import format as fmt_
from ..report import trend
from ..report.coverage import banner as coverage_banner
from ..report.coverage import fmt_date
from ..report.coverage import refusal as coverage_refusal
from ..report.i18n import t

__all__ = ["expand_periods", "PeriodResult", "BatchResult", "run_periods", "render_period_index", "period_records"]

_RANGE = re.compile(r"^\s*(\S+)\s*\.\.\s*(\S+)\s*$")


def expand_periods(text: str, grain: str | None = None) -> list[str]:
    """Every period label from ``A..B`` inclusive, at ``grain`` (default: the grain of ``A``).

    >>> expand_periods("2026-01..2026-04")
    ['2026-01', '2026-02', '2026-03', '2026-04']
    >>> expand_periods("2026-W52..2027-W02")
    ['2026-W52', '2026-W53', '2027-W01', '2027-W02']
    >>> expand_periods("2026-10-09..2026-10-12")
    ['2026-10-09', '2026-10-10', '2026-10-11', '2026-10-12']
    >>> expand_periods("2026-10-01..2026-10-31", grain="week")[:2]
    ['2026-W40', '2026-W41']
    """
    m = _RANGE.match(str(text))
    if not m:
        raise SalesauditError(f"--periods {text!r} is not a range. How to fix: write FIRST..LAST, e.g. 2026-01..2026-10, 2026-W01..2026-W10 or 2026-10-01..2026-10-14.")
    try:
        first = parse_period(m[1], grain)
        last = parse_period(m[2], grain or parse_period(m[1]).grain)
    except ValueError as exc:
        raise SalesauditError(f"--periods {text!r}: {exc}.") from None
    if last.start < first.start:
        raise SalesauditError(f"--periods {text!r} ends before it starts. How to fix: put the earlier period first.")
    labels, p = [], first
    while p.start <= last.start:
        labels.append(p.label)
        p = parse_period(p.end.date().isoformat(), first.grain)
        if len(labels) > 5000:
            raise SalesauditError(f"--periods {text!r} spans more than 5000 periods. How to fix: choose a shorter range or a coarser --grain.")
    return labels


@dataclass
class PeriodResult:
    period: str
    ok: bool
    out_dir: Path
    index: Optional[Path]
    notebooks: list[tuple[str, bool, str]] = field(default_factory=list)  # (stem, ok, error)
    error: str = ""
    seconds: float = 0.0
    coverage: Optional[object] = None  # salesaudit.data.coverage.Coverage (with the preflight)
    banner: Optional[str] = None  # shown on every page of a partly covered period
    records: dict[str, dict] = field(default_factory=dict)  # notebook stem -> its key results (notebooks that succeeded)


@dataclass
class BatchResult:
    out_dir: Path
    index: Path
    periods: list[PeriodResult]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.periods)


def _one(config: str, period: str, grain: str, out: str, language, notebooks, notebooks_dir, kernel_name,
         banner: Optional[str] = None, load_warnings: Optional[list[str]] = None) -> PeriodResult:
    """Run one period (in a worker process); never raises."""
    from time import perf_counter

    from .runner import run

    start = perf_counter()
    target = Path(out) / period
    try:
        # the batch loaded the data once into <out>/.dataset; each period's notebooks read it, one after another
        res = run(config, out_dir=target, period=period, grain=grain, language=language, notebooks=notebooks, notebooks_dir=notebooks_dir,
                  progress=False, preflight=False, kernel_name=kernel_name, banner=banner, load_warnings=load_warnings,
                  workers=1, cache_dir=Path(out) / CACHE_DIRNAME)
    except Exception as exc:  # a failing period is reported, the others go on
        msg = str(exc) if isinstance(exc, SalesauditError) else f"{type(exc).__name__}: {exc}"
        return PeriodResult(period, False, target, None, [], msg, perf_counter() - start, banner=banner)
    nbs = [(n.stem, n.ok, n.error or "") for n in res.notebooks]
    err = "; ".join(e for s, ok, e in nbs if not ok)  # each error names its notebook
    records = {n.stem: dict(n.records) for n in res.notebooks if n.ok}
    return PeriodResult(period, res.ok, res.out_dir, res.index, nbs, err, perf_counter() - start, banner=banner, records=records)


def run_periods(
    config,
    periods: str | Iterable[str],
    *,
    grain: Optional[str] = None,
    out_dir=None,
    language: Optional[str] = None,
    notebooks: Optional[Iterable[str]] = None,
    notebooks_dir=None,
    workers: int = 2,
    progress: bool = True,
    preflight: bool = True,
    kernel_name: str = "python3",
) -> BatchResult:
    """Run the audit for every period of ``periods`` (``"A..B"`` or a list of labels) in parallel."""
    from tqdm import tqdm

    config = Path(config)
    cfg = load_run_config(config, language=language, grain=grain)
    grain = grain or cfg.grain
    labels = expand_periods(periods, grain) if isinstance(periods, str) else [parse_period(p, grain).label for p in periods]
    coverages: dict = {}
    warnings: list[str] = []
    if preflight:  # one whole-file problem stops the batch before any period runs; the data are loaded once
        from ..data.coverage import period_coverage
        from ..data.loader import load_dataset
        from ..report.verdict import warning_texts

        ds = load_dataset(cfg)
        loaded = ds
        warnings = [str(w) for w in (warning_texts(ds, cfg.language) or [])]
        coverages = {label: period_coverage(ds, label, grain) for label in labels}
        if labels and all(c.outside for c in coverages.values()):
            span = f"{labels[0]}..{labels[-1]}" if len(labels) > 1 else labels[0]
            c = coverages[labels[0]]
            if c.first is None:
                raise SalesauditError(t("coverage.no_dates", "en", period=span))
            raise SalesauditError(t("coverage.range_outside", "en", periods=span, first=fmt_date(c.first, "en"), last=fmt_date(c.last, "en")))
    out = Path(out_dir) if out_dir is not None else Path("reports") / config.stem / f"{grain}s"
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if preflight:  # every period reads this one load (salesaudit.data.cache)
        from ..data.cache import save_dataset

        save_dataset(loaded, out / CACHE_DIRNAME)
    nb_list = list(notebooks) if notebooks is not None else None
    results: dict[str, PeriodResult] = {}
    bar = tqdm(total=len(labels), unit="period", desc="periods", disable=not progress, file=sys.stderr)
    args = (str(config.resolve()),)
    tail = (grain, str(out), language, nb_list, str(notebooks_dir) if notebooks_dir else None, kernel_name)
    for label, cov in coverages.items():
        if cov.outside:  # refused without running a notebook
            results[label] = PeriodResult(label, False, out / label, None, [], coverage_refusal(cov, "en"), coverage=cov)
            bar.update(1)
    todo = [label for label in labels if label not in results]
    extra = {label: {"banner": coverage_banner(coverages[label], cfg.language) if label in coverages else None, "load_warnings": warnings}
             for label in todo}
    if workers <= 1 or len(todo) <= 1:
        for label in todo:
            results[label] = _one(*args, label, *tail, **extra[label])
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_one, *args, label, *tail, **extra[label]): label for label in todo}
            for fut in as_completed(futures):
                label = futures[fut]
                try:
                    results[label] = fut.result()
                except Exception as exc:  # the worker itself died
                    results[label] = PeriodResult(label, False, out / label, None, [], f"{type(exc).__name__}: {exc}")
                bar.set_postfix_str(label)
                bar.update(1)
    bar.close()
    for label, cov in coverages.items():
        results[label].coverage = cov
    ordered = [results[label] for label in labels]
    index = out / "index.html"
    currency = loaded.config.currency if preflight else cfg.currency  # the loader fills in the client's currency
    index.write_text(render_period_index(cfg, grain, ordered, out, currency=currency), encoding="utf-8")
    return BatchResult(out, index, ordered)


def period_records(folder) -> dict[str, dict]:
    """The key results of every notebook that succeeded in a period's report folder, read from the
    ``NN_name.json`` files the runner wrote (notebook stem -> records, without the runner's ``_`` keys)."""
    found: dict[str, dict] = {}
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("_status") == "ok":
            found[path.stem] = {k: v for k, v in data.items() if not k.startswith("_")}
    return found


def _coverage_cell(cov, lang: str) -> str:
    if cov is None:
        return t("batch.coverage.unknown", lang)
    if getattr(cov, "outside", False):
        return t("batch.coverage.none", lang)
    if getattr(cov, "partial", False):
        return t("batch.coverage.partial", lang, start=fmt_date(cov.covered_from, lang), end=fmt_date(cov.covered_to, lang))
    return t("batch.coverage.full", lang)


_INDEX_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}"
    "td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}th{font-size:.85em;color:#555}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.failed td{color:#b00020}"
    "td.period{white-space:nowrap}td.cov{min-width:10rem}td.error{min-width:18rem}td.partial{color:#8a5300}.note{font-size:.85em;color:#555;margin:.4rem 0;max-width:60rem}"
    "figure{margin:1rem 0}svg.trend{max-width:100%;height:auto}"
)


def render_period_index(cfg, grain: str, results: list[PeriodResult], out: Path, currency: Optional[str] = None) -> str:
    """``index.html`` of a batch: one row per period (link to its report, coverage, status, key figures)
    and the plot of the key figures across the periods.

    The figures are those of :data:`salesaudit.report.trend.FIGURES`, read from each period's
    recorded key results (``PeriodResult.records``, else the JSON files in its folder); money is in
    ``currency`` (the client's; None: the config's).
    """
    lang = cfg.language
    currency = currency or cfg.currency
    e = html.escape
    title = t("index.title", lang, client=cfg.client)
    n_ok = sum(r.ok for r in results)
    keys = [f.key for f in trend.FIGURES]
    values: dict[str, dict] = {}
    for r in results:
        records = r.records or (period_records(r.out_dir) if r.index is not None else {})
        values[r.period] = trend.figure_values(records, r.period)
    show_error = any(not r.ok for r in results)
    rows = []
    for r in results:
        link = e(r.period)
        if r.index is not None:
            rel = r.index.resolve().relative_to(out.resolve()).as_posix()
            link = f'<a href="{quote(rel)}">{e(r.period)}</a>'
        cov = r.coverage
        cov_cls = ' class="cov partial"' if cov is not None and getattr(cov, "partial", False) else ' class="cov"'
        error = coverage_refusal(cov, lang) if cov is not None and getattr(cov, "outside", False) else r.error
        status = t("index.status.ok" if r.ok else "index.status.failed", lang)
        cells = "".join(f'<td class="num">{e(trend.cell(k, values[r.period][k], lang, currency))}</td>' for k in keys)
        rows.append(f'<tr class="{"ok" if r.ok else "failed"}"><td class="period">{link}</td><td{cov_cls}>{e(_coverage_cell(cov, lang))}</td>'
                    f'<td>{e(status)}</td>{cells}' + (f'<td class="error">{e(error)}</td>' if show_error else "") + "</tr>")
    head = (f'<th>{e(t("index.period", lang))}</th><th>{e(t("batch.col.coverage", lang))}</th><th>{e(t("index.status", lang))}</th>'
            + "".join(f"<th>{e(trend.column_label(k, lang, currency))}</th>" for k in keys)
            + (f'<th>{e(t("index.error", lang))}</th>' if show_error else ""))
    notes = [t("batch.trend.missing", lang)]
    horizon = trend.horizon_note(lang, cfg.as_of)
    if horizon:
        notes.append(horizon)
    partial = [r.period for r in results if r.coverage is not None and getattr(r.coverage, "partial", False)]
    svg = trend.plot_svg([r.period for r in results], values, lang, currency, partial)
    when = fmt_.datetime_(dt.datetime.now(), lang)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(title)}</title>',
            f"<style>{_INDEX_CSS}</style></head><body>",
            f"<h1>{e(title)}</h1>",
            f'<p>{e(t("index.periods", lang, grain=t(f"index.grain.{grain}", lang), first=results[0].period if results else "—", last=results[-1].period if results else "—"))}</p>',
            f'<p><strong>{e(t("index.periods_summary", lang, total=len(results), ok=n_ok, failed=len(results) - n_ok))}</strong></p>',
            f'<h2>{e(t("batch.trend.heading", lang))}</h2>',
            f"<table><thead><tr>{head}</tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            *(f'<p class="note">{e(n)}</p>' for n in notes),
            *([f'<h2>{e(t("batch.trend.plot_heading", lang))}</h2>', f"<figure>{svg}</figure>"] if svg else []),
            f'<footer><p>{e(t("index.generated", lang, when=when))} · salesaudit</p></footer>',
            "</body></html>",
        ]
    ) + "\n"
