"""A loaded dataset: the canonical tables, the quarantine, how each table was read, the verdict.

:func:`salesaudit.data.loader.load_dataset` makes one from an export; :mod:`salesaudit.data.cache` stores
it for the notebooks of a run and reads it back. Everything the analyses read comes from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from .model import TABLE_ORDER
from .readers import FILE_COL, ROW_COL

if TYPE_CHECKING:  # annotations only: the dataset module stays below the config and preset schemas
    from .params import RunConfig
    from .presets import Preset

__all__ = ["Dataset", "TableReport"]


@dataclass
class TableReport:
    """What happened to one table while loading."""

    table: str
    status: str  # loaded | not_in_preset | no_file | api_only (absent; the CRM exports it through its API only)
    files: list[str] = field(default_factory=list)
    input_rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    mapped: dict[str, str] = field(default_factory=dict)
    missing_optional: list[str] = field(default_factory=list)
    read_info: list[dict] = field(default_factory=list)
    #: what the loader derived or assumed: (label key in i18n, format values)
    notes: list[tuple[str, dict]] = field(default_factory=list)
    #: the file patterns that were tried (for a table whose files were not found)
    patterns: list[str] = field(default_factory=list)


@dataclass
class Dataset:
    """A loaded dataset: canonical tables, quarantine, and how each table was read."""

    config: RunConfig
    preset: Preset
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    raw: dict[str, pd.DataFrame]
    reports: dict[str, TableReport]
    stage_mapping: pd.DataFrame
    as_of: pd.Timestamp
    #: the load verdict: fatal problems and warnings (:mod:`salesaudit.data.verdict`)
    problems: list = field(default_factory=list)
    #: what the loader saw beyond the rows: pipelines and currencies with their deal counts, the data folder's files
    facts: dict = field(default_factory=dict)

    @property
    def warnings(self) -> list:
        """The load's warnings (:class:`salesaudit.data.verdict.LoadProblem` of severity ``warning``)."""
        return [p for p in self.problems if not p.fatal]

    @property
    def timezone(self) -> str:
        """The one timezone of every timestamp of this dataset."""
        return self.config.timezone

    def has(self, name: str) -> bool:
        return name in self.tables

    def __getitem__(self, name: str) -> pd.DataFrame:
        from .model import require_tables

        require_tables(self, name, analysis=f"reading `{name}`")
        return self.tables[name]

    @property
    def funnel(self):
        return self.config.funnel

    @property
    def calendar(self):
        return self.config.calendar

    def manager_names(self) -> dict:
        """Manager key -> display name (the key itself when there is no managers table)."""
        if self.has("managers"):
            m = self.tables["managers"]
            return dict(zip(m["manager"].astype(object), m["name"].astype(object)))
        return {}

    def reconciliation(self) -> pd.DataFrame:
        """Rows per table: input, accepted, quarantined, and whether they add up."""
        rows = []
        for name in TABLE_ORDER:
            rep = self.reports[name]
            rows.append(
                {
                    "table": name,
                    "status": rep.status,
                    "files": ", ".join(rep.files),
                    "input": rep.input_rows,
                    "accepted": rep.accepted,
                    "quarantined": rep.quarantined,
                    "balanced": rep.input_rows == rep.accepted + rep.quarantined,
                }
            )
        return pd.DataFrame(rows)

    def quarantine_examples(self, reason: str, n: int = 3) -> pd.DataFrame:
        """The first ``n`` source rows quarantined for ``reason``, as they were in the file."""
        q = self.quarantine[self.quarantine["reason"] == reason].head(n)
        out = []
        for rec in q.itertuples(index=False):
            raw = self.raw[rec.table]
            src = raw[(raw[FILE_COL] == rec.file) & (raw[ROW_COL] == rec.row)]
            row = src.drop(columns=[c for c in src.columns if c.startswith("_")]).iloc[0].to_dict() if len(src) else {}
            out.append({"table": rec.table, "file": rec.file, "row": rec.row, "column": rec.column, "value": rec.value, **{k: v for k, v in row.items() if v != ""}})
        return pd.DataFrame(out)
