"""The load verdict: what is wrong with a loaded export, and how bad it is.

Row counts alone do not tell a consultant whether an export can carry the audit.
:func:`assess` looks at a loaded :class:`~salesaudit.data.loader.Dataset` and returns a list of
:class:`LoadProblem`, each with a severity:

* **fatal** – the load is refused (``load_dataset`` raises :class:`LoadRefused`, the command
  line exits with 2): a column the audit needs is absent or empty in every row, a needed table
  has no accepted row, or the deals table is missing while other tables are present;
* **warning** – the load goes on, and the warning is shown at the top of ``salesaudit check``,
  at the top of notebook 00 and on the report's index page: a table whose file patterns matched
  nothing, more than 5 % of a table's rows quarantined for one reason, a required field empty in
  more than 20 % of the rows, history for fewer than half the deals, several pipelines or
  currencies, dates outside the working calendar's years.

A problem is codes and figures, no language: :func:`salesaudit.report.verdict.problem_text`
renders it as one paragraph in Russian or English (what was found, in which file and column, and
how to fix it), and :func:`salesaudit.report.verdict.warning_texts` gives a dataset's warnings.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional

from ..errors import SalesauditError

__all__ = ["LoadProblem", "LoadRefused", "assess", "SEVERITIES", "AUDIT_COLUMNS", "THRESHOLDS"]

SEVERITIES = ("fatal", "warning")

#: columns the audit cannot do without although the canonical model allows them empty:
#: absent, or empty in every row, refuses the load (canonical column -> why, as a label key)
AUDIT_COLUMNS = {"deals": {"manager": "problem.why.manager"}}

#: when a warning is raised
THRESHOLDS = {
    "quarantine_share": 0.05,  # one reason quarantines more than this share of a table's rows
    "field_empty": 0.20,  # a required deal field is empty in more than this share of the deals
    "history_deals": 0.50,  # stage history for fewer than this share of the deals
}

#: tables the audit cannot run without
NEEDED_TABLES = ("deals",)


@dataclass(frozen=True)
class LoadProblem:
    """One problem of a load: ``severity`` (fatal | warning), a ``code``, where, and the details.

    ``params`` holds the figures the text is made of (counts, shares, names);
    :func:`salesaudit.report.verdict.problem_text` renders it as one paragraph in Russian or English.
    """

    severity: str
    code: str
    table: str | None = None
    file: str | None = None
    params: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def fatal(self) -> bool:
        return self.severity == "fatal"


class LoadRefused(SalesauditError):
    """The export cannot carry the audit: one paragraph per fatal problem (the command line exits with 2).

    ``problems`` holds the fatal problems. The message is written from them by :attr:`writer`,
    :func:`salesaudit.report.verdict.refusal_message` (English paragraphs), which the report layer
    installs when it is imported (``import salesaudit.report``: every notebook, ``salesaudit check``
    and ``salesaudit run`` do); without it the message names the problems' codes, tables and files.
    """

    #: problems -> the message; installed by :mod:`salesaudit.report.verdict`
    writer: ClassVar[Optional[Callable[[list], str]]] = None

    def __init__(self, problems: list[LoadProblem]):
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        if self.writer is not None:
            return self.writer(self.problems)
        where = [", ".join(x for x in (p.table, p.file) if x) for p in self.problems]
        return "The load is refused: " + "; ".join(f"{p.code} ({w})" if w else p.code for p, w in zip(self.problems, where))


# ---------------------------------------------------------------------------
# the checks


def _listing(items, limit: int = 8) -> str:
    items = list(items)
    more = f" … (+{len(items) - limit})" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more if items else "—"


def _files_of(ds, table: str) -> str:
    rep = ds.reports.get(table)
    return ", ".join(rep.files) if rep is not None and rep.files else ""


def _folder(ds) -> str:
    from ..errors import display_path

    return display_path(ds.config.data_dir)


def _table_checks(ds) -> list[LoadProblem]:
    out = []
    loaded = [n for n, r in ds.reports.items() if r.status == "loaded"]
    for name in NEEDED_TABLES:
        rep = ds.reports.get(name)
        if rep is None or rep.status != "loaded":
            if loaded:
                patterns = rep.patterns if rep is not None and rep.patterns else (list(ds.preset.tables[name].files) if name in ds.preset.tables else [])
                out.append(LoadProblem("fatal", "deals_missing", name, None, {
                    "folder": _folder(ds), "patterns": _listing(patterns), "present": ", ".join(loaded),
                    "files": _listing(ds.facts.get("folder_files", []), 12),
                }))
            continue
        if rep.accepted == 0:
            q = ds.quarantine[ds.quarantine["table"] == name]
            top = q["reason"].value_counts().index[0] if len(q) else None
            out.append(LoadProblem("fatal", "table_empty", name, _files_of(ds, name), {
                "input": rep.input_rows, "quarantined": rep.quarantined, "_top_reason": top,
            }))
    for name, rep in ds.reports.items():
        if rep.status == "no_file" and name not in NEEDED_TABLES:
            out.append(LoadProblem("warning", "no_file", name, None, {
                "folder": _folder(ds), "patterns": _listing(rep.patterns), "files": _listing(ds.facts.get("folder_files", []), 12),
            }))
    return out


def _column_checks(ds) -> list[LoadProblem]:
    out = []
    for table, needs in AUDIT_COLUMNS.items():
        rep = ds.reports.get(table)
        if rep is None or rep.status != "loaded" or rep.accepted == 0:
            continue
        tmap = ds.preset.tables.get(table)
        raw_columns = ds.raw_columns(table)
        columns = [c for c in raw_columns if not str(c).startswith("_")] if raw_columns is not None else []
        for col, why in needs.items():
            ref = tmap.columns.get(col) if tmap is not None else None
            wanted = (ref if isinstance(ref, str) else " | ".join(ref)) if ref is not None else col
            if col not in rep.mapped and col not in (tmap.constants if tmap else {}):
                out.append(LoadProblem("fatal", "column_missing", table, _files_of(ds, table), {
                    "column": wanted, "canonical": col, "_why": why, "preset": ds.preset.name, "columns": _listing(columns, 25),
                }))
            elif ds.tables[table][col].isna().all():
                out.append(LoadProblem("fatal", "column_empty", table, _files_of(ds, table), {
                    "column": rep.mapped.get(col, wanted), "canonical": col, "_why": why, "preset": ds.preset.name, "rows": rep.accepted,
                }))
    return out


def _stage_lines(ds, values: list[str]) -> tuple[str, str]:
    """``stage_map:`` lines that would map ``values``, with a guess where one is close."""
    from .readers import normalize_header

    funnel = ds.config.funnel
    names = {}
    for s in funnel.stages:
        for text in (s.key, s.label.ru, s.label.en):
            names[normalize_header(text)] = s.key
    lines = ["stage_map:"]
    for v in values:
        guess = difflib.get_close_matches(normalize_header(v), list(names), n=1, cutoff=0.75)
        target = names[guess[0]] if guess else "___"
        lines.append(f'  "{v}": {target}')
    return ", ".join(funnel.keys), "\n".join(lines)


def _quarantine_checks(ds) -> list[LoadProblem]:
    out = []
    q = ds.quarantine
    if q.empty:
        return out
    selected_pipeline = ds.config.pipeline is not None
    for (table, reason), grp in q.groupby(["table", "reason"], sort=False):
        rep = ds.reports[table]
        if not rep.input_rows:
            continue
        share = len(grp) / rep.input_rows
        if share <= THRESHOLDS["quarantine_share"]:
            continue
        if selected_pipeline and reason in ("other_pipeline", "deal_quarantined"):
            continue  # the chosen pipeline: the others are left out on purpose
        counts = grp["value"].astype(str).replace("", "—").value_counts().head(6)
        values = ", ".join(f"«{v}» ({n})" for v, n in counts.items())
        params = {"n": int(len(grp)), "input": rep.input_rows, "share": share, "values": values, "_reason": reason, "preset": ds.preset.name}
        if reason == "unknown_stage":
            keys, lines = _stage_lines(ds, [v for v in grp["value"].astype(str).value_counts().index[:12] if v])
            params.update({"_keys": keys, "_lines": lines})
        out.append(LoadProblem("warning", "quarantine_share", table, _files_of(ds, table), params))
    return out


def _field_checks(ds) -> list[LoadProblem]:
    out = []
    if not ds.has("deals") or ds.reports["deals"].accepted == 0:
        return out
    deals = ds.tables["deals"]
    rep = ds.reports["deals"]
    fatal_cols = set(AUDIT_COLUMNS.get("deals", {}))
    for col in ds.config.required_deal_fields:
        if col not in deals:
            continue
        empty = deals[col].isna()
        if col in fatal_cols and empty.all():
            continue  # refused above
        if col not in rep.mapped:
            continue  # the export has no such column: said by the data-quality page
        share = float(empty.mean())
        if share > THRESHOLDS["field_empty"]:
            out.append(LoadProblem("warning", "field_empty", "deals", _files_of(ds, "deals"), {
                "column": rep.mapped.get(col, col), "canonical": col, "share": share, "n": int(empty.sum()), "rows": len(deals), "preset": ds.preset.name,
            }))
    return out


def _history_checks(ds) -> list[LoadProblem]:
    if not (ds.has("deals") and ds.has("stage_history")) or len(ds.tables["deals"]) == 0:
        return []
    from .parse import isin

    deals = ds.tables["deals"]["deal_id"]
    with_hist = isin(deals, ds.tables["stage_history"]["deal_id"].dropna())
    share = float(with_hist.mean())
    if share >= THRESHOLDS["history_deals"]:
        return []
    return [LoadProblem("warning", "history_sparse", "stage_history", _files_of(ds, "stage_history"), {"share": share, "n": int(with_hist.sum()), "deals": len(deals)})]


def _pipeline_checks(ds) -> list[LoadProblem]:
    pipes = ds.facts.get("pipelines") or {}
    if ds.config.pipeline is not None or len(pipes) < 2:
        return []
    listed = "; ".join(f"«{k}» — {n}" for k, n in list(pipes.items())[:12])
    return [LoadProblem("warning", "pipelines", "deals", _files_of(ds, "deals"), {"pipelines": listed, "first": next(iter(pipes))})]


def _currency_checks(ds) -> list[LoadProblem]:
    curs = ds.facts.get("currencies") or {}
    cfg = ds.config
    if len(curs) < 2 and not (len(curs) == 1 and next(iter(curs)) != cfg.currency):
        return []
    missing = [c for c in curs if c != cfg.currency and c not in cfg.exchange_rates]
    converted = [c for c in curs if c != cfg.currency and c in cfg.exchange_rates]
    params = {
        "currencies": ", ".join(f"{c} — {n}" for c, n in curs.items()),
        "currency": cfg.currency,
        "_rates": ", ".join(f"{c} = {cfg.exchange_rates[c]:g} {cfg.currency}" for c in converted),
        "_missing": ", ".join(missing),
        "_n_missing": int(sum(curs[c] for c in missing)),
        "_example": ", ".join(f"{c}: ___" for c in missing),
    }
    return [LoadProblem("warning", "currencies", "deals", _files_of(ds, "deals"), params)]


#: the date columns whose years must lie inside the working calendar's
_DATE_COLUMNS = {"deals": ("created_at", "closed_at"), "leads": ("created_at", "first_response_at"), "stage_history": ("entered_at",), "activities": ("created_at",), "payments": ("paid_at",)}


def _calendar_checks(ds) -> list[LoadProblem]:
    try:
        cal = ds.calendar
    except Exception:  # a calendar that cannot be built is the config's error, raised elsewhere
        return []
    if not hasattr(cal, "uncovered_years") or not getattr(cal, "years", None):
        return []
    years: set[int] = set()
    for table, cols in _DATE_COLUMNS.items():
        if not ds.has(table):
            continue
        for col in cols:
            if col in ds.tables[table]:
                years.update(int(y) for y in cal.uncovered_years(ds.tables[table][col]))
    if not years:
        return []
    covered = sorted(cal.years)
    span = f"{covered[0]}–{covered[-1]}" if covered else "—"
    return [LoadProblem("warning", "calendar_years", None, None, {"years": ", ".join(str(y) for y in sorted(years)), "covered": span})]


def assess(dataset) -> list[LoadProblem]:
    """Every problem of ``dataset``, fatal ones first."""
    problems = (
        _table_checks(dataset)
        + _column_checks(dataset)
        + _quarantine_checks(dataset)
        + _field_checks(dataset)
        + _history_checks(dataset)
        + _pipeline_checks(dataset)
        + _currency_checks(dataset)
        + _calendar_checks(dataset)
    )
    return sorted(problems, key=lambda p: SEVERITIES.index(p.severity))
