"""A loaded dataset: the canonical tables, the quarantine, how each table was read, the verdict.

:func:`salesaudit.data.loader.load_dataset` makes one from an export; :mod:`salesaudit.data.cache` stores
it for the notebooks of a run and reads it back. Everything the analyses read comes from here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pandas as pd

from .model import TABLE_ORDER
from .readers import FILE_COL, ROW_COL

if TYPE_CHECKING:  # annotations only: the dataset module stays below the config and preset schemas
    from .params import RunConfig
    from .presets import Preset

__all__ = ["Dataset", "TableReport", "RawRows"]


class RawRows(Mapping):
    """The export's rows as they were read (text, every column of the file), per table: ``ds.raw``.

    A loaded dataset keeps in memory only the rows its quarantine points to (:meth:`quarantined`,
    what the data-quality page shows and the dataset cache stores) and the files' column names
    (:meth:`columns`). ``ds.raw["deals"]``, the whole table, reads the table's files again, once,
    the way the load read them (the same frame the load saw); it refuses when a file changed since
    the load, rather than give other rows.
    """

    def __init__(self):
        self._quarantined: dict[str, pd.DataFrame] = {}
        self._columns: dict[str, list[str]] = {}
        self._read: dict[str, Callable[[], pd.DataFrame]] = {}
        self._stamps: dict[str, list] = {}
        self._full: dict[str, pd.DataFrame] = {}

    def add(self, name: str, quarantined: pd.DataFrame, columns: list[str], read: Callable[[], pd.DataFrame], paths: list[Path]) -> None:
        """Keep ``quarantined`` (the table's quarantined rows as read) and how to read the whole table again."""
        self._quarantined[name] = quarantined
        self._columns[name] = list(columns)
        self._read[name] = read
        self._stamps[name] = [_stamp(p) for p in paths]

    def quarantined(self, name: str) -> pd.DataFrame:
        """The quarantined rows of table ``name`` as they were in the file (all its columns, ``_file`` and ``_row``)."""
        return self._quarantined[name]

    def columns(self, name: str) -> list[str]:
        """The columns of table ``name``'s raw rows (the file's, then ``_file``, ``_row``, ``_extra``)."""
        return self._columns[name]

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._full:
            if name not in self._read:
                raise KeyError(name)
            from ..errors import InputFileError

            paths = [s[0] for s in self._stamps[name]]
            if [_stamp(p) for p in paths] != self._stamps[name]:
                changed = ", ".join(str(p) for p, s in zip(paths, self._stamps[name]) if _stamp(p) != s)
                raise InputFileError(changed, "the file changed (or went away) since the dataset was loaded, so its rows as loaded cannot be read again.",
                                     "load the dataset again.")
            self._full[name] = self._read[name]()
        return self._full[name]

    def __contains__(self, name) -> bool:  # without reading the table (Mapping's would)
        return name in self._read

    def __iter__(self):
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)

    def __repr__(self) -> str:
        return f"RawRows({', '.join(f'{n}: {len(q)} quarantined' for n, q in self._quarantined.items())})"


def _stamp(path: Path) -> tuple:
    try:
        st = Path(path).stat()
    except OSError:
        return (Path(path), None, None)
    return (Path(path), st.st_size, st.st_mtime_ns)


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
    #: the rows as read, per table (:class:`RawRows` after a load; the quarantined rows only, from the cache)
    raw: Mapping[str, pd.DataFrame]
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

    def raw_rows(self, name: str) -> pd.DataFrame:
        """The rows of table ``name`` as read that the dataset keeps: at least every quarantined one."""
        return self.raw.quarantined(name) if isinstance(self.raw, RawRows) else self.raw[name]

    def raw_columns(self, name: str) -> list[str] | None:
        """The columns of table ``name`` as read (the file's, then the ``_`` bookkeeping ones); None when it was not read."""
        if name not in self.raw:
            return None
        return self.raw.columns(name) if isinstance(self.raw, RawRows) else list(self.raw[name].columns)

    def quarantine_examples(self, reason: str, n: int = 3) -> pd.DataFrame:
        """The first ``n`` source rows quarantined for ``reason``, as they were in the file."""
        q = self.quarantine[self.quarantine["reason"] == reason].head(n)
        out = []
        for rec in q.itertuples(index=False):
            raw = self.raw_rows(rec.table)
            src = raw[(raw[FILE_COL] == rec.file) & (raw[ROW_COL] == rec.row)]
            row = src.drop(columns=[c for c in src.columns if c.startswith("_")]).iloc[0].to_dict() if len(src) else {}
            out.append({"table": rec.table, "file": rec.file, "row": rec.row, "column": rec.column, "value": rec.value, **{k: v for k, v in row.items() if v != ""}})
        return pd.DataFrame(out)
