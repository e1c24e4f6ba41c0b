"""A loaded dataset stored on disk, so that one run loads and validates the export once.

``salesaudit run`` loads the export in its preflight and writes the result into the run's output
folder (``<out>/.dataset/``): the canonical tables, the quarantine, the stage mapping and the
quarantined rows as they were in the files (Parquet), and the load report and verdict
(``meta.json``). Every notebook of the run, and every period of a batch, then reads that folder
instead of parsing the export again. A notebook opened on its own has no cache and loads by itself.

The folder is keyed by a hash of what decides the load: the input files' bytes, the preset and
funnel, and the run config without the keys that only choose what to report (period, grain,
language, notebooks). A key that does not match (a file changed since) is a miss: the export is
loaded again, as without a cache.

>>> import salesaudit as sa, tempfile
>>> ds = sa.load("params/clients/demo.yaml")
>>> folder = save_dataset(ds, tempfile.mkdtemp())
>>> again = load_cached(ds.config, folder)
>>> again is not None and len(again.tables["deals"]) == len(ds.tables["deals"])
True
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pandas as pd

from .model import TABLES, empty_table

__all__ = ["dataset_key", "save_dataset", "load_cached", "CACHE_DIRNAME", "FORMAT"]

#: the cache's folder inside a run's output folder
CACHE_DIRNAME = ".dataset"
#: bump when the stored layout changes: an older folder is then a miss
FORMAT = 1
#: run-config keys that choose what to report, not what is loaded
_NOT_LOADING = {"period", "grain", "language", "notebooks", "client", "seed", "scorecard", "analysis", "source"}


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dataset_key(config) -> str:
    """The hash of everything that decides what ``load_dataset(config)`` returns."""
    from .. import __version__
    from .presets import load_preset

    h = hashlib.blake2b(digest_size=20)
    h.update(f"salesaudit {__version__} cache {FORMAT}\n".encode())
    dump = config.model_dump(mode="json", exclude=_NOT_LOADING)
    for filled in getattr(config, "_filled", ()):  # what the loader filled in counts as the user left it
        dump[filled] = None
    h.update(json.dumps(dump, sort_keys=True, ensure_ascii=False, default=str).encode())
    preset = load_preset(config.preset, config.base_dir, config.source)
    if preset.source is not None:
        h.update(Path(preset.source).read_bytes())
    data_dir = config.data_dir
    if data_dir.is_dir():
        for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
            h.update(f"{path.relative_to(data_dir).as_posix()}:{path.stat().st_size}:{_file_digest(path)}\n".encode())
    return h.hexdigest()


def _report_dict(rep) -> dict:
    d = dataclasses.asdict(rep)
    d["notes"] = [[k, v] for k, v in rep.notes]
    return d


def save_dataset(ds, folder, key: str | None = None) -> Path:
    """Write ``ds`` into ``folder`` (created); returns the folder. ``key`` defaults to :func:`dataset_key`."""
    from .readers import FILE_COL, ROW_COL

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    for name, table in ds.tables.items():
        table.to_parquet(folder / f"table.{name}.parquet", index=False)
    ds.quarantine.to_parquet(folder / "quarantine.parquet", index=False)
    ds.stage_mapping.to_parquet(folder / "stage_mapping.parquet", index=False)
    # the raw rows only where the quarantine points (its example rows), with every column of the file
    for name in ds.raw:
        raw = ds.raw_rows(name)
        q = ds.quarantine[ds.quarantine["table"] == name]
        wanted = set(zip(q["file"].astype(str), q["row"].astype("int64")))
        keep = pd.Series([(f, r) in wanted for f, r in zip(raw[FILE_COL].astype(str), raw[ROW_COL].astype("int64"))], index=raw.index, dtype=bool)
        raw[keep].astype({c: str for c in raw.columns if c not in (ROW_COL, "_extra")}).to_parquet(folder / f"raw.{name}.parquet", index=False)
    meta = {
        "format": FORMAT,
        "key": key or dataset_key(ds.config),
        "as_of": str(pd.Timestamp(ds.as_of)),
        "currency": ds.config.currency,
        "reports": {n: _report_dict(r) for n, r in ds.reports.items()},
        "problems": [dataclasses.asdict(p) for p in ds.problems],
        "facts": ds.facts,
    }
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    return folder


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A canonical table read back with exactly the model's dtypes."""
    dtypes = empty_table(name).dtypes.to_dict()
    return frame.astype({c: d for c, d in dtypes.items() if c in frame})[list(TABLES[name].names)]


def load_cached(config, folder, key: str | None = None):
    """The dataset stored in ``folder`` for ``config``, or None when there is none or its key differs.

    ``config`` is the run config of the caller (its period, grain and language are kept); the
    stored tables, quarantine and verdict are the preflight's.
    """
    from .dataset import Dataset, TableReport
    from .presets import load_preset
    from .verdict import LoadProblem

    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT or meta.get("key") != (key or dataset_key(config)):
        return None
    if config.currency is None:
        config.currency = meta.get("currency")
        config._filled.add("currency")
    if config.as_of is None:  # "now" is the preflight's moment for the whole run
        config.as_of = pd.Timestamp(meta["as_of"]).to_pydatetime()
        config._filled.add("as_of")
    preset = load_preset(config.preset, config.base_dir, config.source)
    tables = {p.name[len("table."):-len(".parquet")]: None for p in folder.glob("table.*.parquet")}
    tables = {n: _typed(n, pd.read_parquet(folder / f"table.{n}.parquet")) for n in tables}
    raw = {p.name[len("raw."):-len(".parquet")]: pd.read_parquet(p) for p in folder.glob("raw.*.parquet")}
    reports = {}
    for n, d in meta["reports"].items():
        d = dict(d)
        d["notes"] = [(k, v) for k, v in d.get("notes", [])]
        reports[n] = TableReport(**d)
    quarantine = pd.read_parquet(folder / "quarantine.parquet")
    quarantine["row"] = quarantine["row"].astype("int64")
    stage_mapping = pd.read_parquet(folder / "stage_mapping.parquet")
    ds = Dataset(config, preset, tables, quarantine, raw, reports, stage_mapping, pd.Timestamp(meta["as_of"]), facts=meta.get("facts", {}))
    ds.problems = [LoadProblem(**p) for p in meta.get("problems", [])]
    return ds
