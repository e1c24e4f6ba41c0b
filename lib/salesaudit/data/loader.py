"""Load a CRM export into the canonical model: every row accepted or quarantined.

``load_dataset(config)`` reads each table the preset describes, maps columns and
values, parses dates and numbers, and checks each row. A row with a problem is
not dropped: it goes to ``Dataset.quarantine`` with one machine-readable reason
(the first that applies, in the order of :data:`REASONS`), and for every table
``input rows = accepted + quarantined`` (see ``Dataset.reconciliation()``).

A problem with a whole file (missing required column, undecodable bytes, an
empty file, a mapping that matches nothing) raises
:class:`~salesaudit.errors.InputFileError`: one paragraph naming the file, what
was expected and which preset key to change.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError, closest, display_path
from .dataset import Dataset, RawRows, TableReport
from .model import TABLE_ORDER, TABLES
from .params import RunConfig, load_run_config
from .parse import _arrow_strings, blank_as_missing, categorise, clean_text, isin, parse_currencies, parse_datetimes, parse_numbers
from .presets import Preset, TableMap, load_preset
from .readers import FILE_COL, ROW_COL, Source, find_sources, list_sources, normalize_header, read_raw

__all__ = ["REASONS", "Dataset", "TableReport", "load", "load_dataset", "map_table"]  # Dataset, TableReport: from salesaudit.data.dataset

#: quarantine reason codes, in the order they are checked (a row gets the first that applies)
REASONS = {
    "empty_row": "every cell of the row is empty",
    "bad_shape": "the row has more values than the header has columns",
    "missing_id": "the row's id is empty",
    "bad_date": "a date cannot be parsed (or lies before 2000)",
    "bad_number": "a number cannot be parsed",
    "bad_value": "a value is not one of the allowed ones",
    "missing_value": "a required value is empty",
    "future_date": "a date lies after the audit moment (as_of)",
    "negative_amount": "an amount is negative",
    "out_of_range": "a number lies outside its allowed range",
    "unknown_stage": "the stage is not in the funnel (nor in the stage mapping)",
    "closed_before_created": "the deal was closed before it was created",
    "response_before_created": "the lead was answered before it arrived",
    "inconsistent_outcome": "the outcome column contradicts the stage",
    "other_pipeline": "the deal belongs to another pipeline than the one audited (`pipeline:` in the run config)",
    "other_currency": "the amount is in another currency and the run config gives no exchange rate for it",
    "duplicate_exact": "a repeat of a row already accepted with the same id and values",
    "duplicate_conflict": "several rows share the id with different values",
    "unknown_deal": "the deal it refers to is not in the deals table",
    "deal_quarantined": "the deal it refers to was itself quarantined",
}

_MIN_DATE = pd.Timestamp("2000-01-01")
QUARANTINE_COLUMNS = ["table", "file", "row", "reason", "column", "value"]


class _Verdicts:
    """The first problem found in each row, held as small codes (a million rows cost three megabytes): the reason,
    the column, and the value quoted, kept for the flagged rows only."""

    def __init__(self, index):
        self.index = index
        self._reason = np.zeros(len(index), dtype=np.int16)  # 0: no problem; else the position in _reasons
        self._column = np.zeros(len(index), dtype=np.int16)  # the position in _columns
        self._reasons: list[str] = [""]
        self._columns: list[str] = [""]
        self._values: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, the values quoted), a later one overrides

    def prefer(self, mask: pd.Series, reason: str, over: tuple, column: str = "", values: pd.Series | None = None) -> None:
        """Give ``reason`` to the rows of ``mask`` already flagged for one of ``over``: the cause, not its symptom
        (a deal of another pipeline has a stage of that pipeline's funnel, not an unknown stage)."""
        codes = [i for i, r in enumerate(self._reasons) if i and r in over]
        self._set(self._mask(mask) & np.isin(self._reason, codes), reason, column, values)

    def flag(self, mask: pd.Series, reason: str, column: str = "", values: pd.Series | None = None) -> None:
        self._set(self._mask(mask) & (self._reason == 0), reason, column, values)

    def _mask(self, mask: pd.Series) -> np.ndarray:
        if not mask.index.equals(self.index):
            mask = mask.reindex(self.index)
        return mask.fillna(False).astype(bool).to_numpy(dtype=bool)

    @staticmethod
    def _code(names: list[str], name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    def _set(self, m: np.ndarray, reason: str, column: str, values: pd.Series | None) -> None:
        if not m.any():
            return
        self._reason[m] = self._code(self._reasons, reason)
        self._column[m] = self._code(self._columns, column)
        if values is not None:
            if not values.index.equals(self.index):
                values = values.reindex(self.index)
            self._values.append((np.flatnonzero(m), values[m].astype(str).to_numpy(dtype=object)))

    @property
    def ok(self) -> pd.Series:
        return pd.Series(self._reason == 0, index=self.index)

    @property
    def reason(self) -> pd.Series:
        return pd.Series(np.array(self._reasons, dtype=object)[self._reason], index=self.index)

    def quarantined(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The reason, column and value of each flagged row, in the order of the rows."""
        rows = np.flatnonzero(self._reason)
        at = np.full(len(self.index), -1, dtype=np.int64)
        at[rows] = np.arange(len(rows))
        value = np.full(len(rows), "", dtype=object)
        for where, quoted in self._values:
            i = at[where]
            value[i[i >= 0]] = quoted[i >= 0]
        return (np.array(self._reasons, dtype=object)[self._reason[rows]], np.array(self._columns, dtype=object)[self._column[rows]], value)


# ---------------------------------------------------------------------------
# files


def find_files(data_dir: Path, patterns: list[str] | str) -> list[Source]:
    """Sources for a table: the first pattern that matches anything wins (all its matches, sorted).

    Matching ignores case, so ``deals*.csv`` also finds ``Deals_2026.CSV``; it also finds
    ``deals_2026.csv.gz`` and a ``deals.csv`` inside a zip archive
    (:func:`salesaudit.data.readers.find_sources`).
    """
    return find_sources(data_dir, patterns)


def _read_table_files(name: str, files: list[Source], tmap: TableMap, data_dir: Path, strings: str = "object") -> tuple[pd.DataFrame, list[dict]]:
    """The raw rows of table ``name`` (its files one after the other, joined as the preset says) and what was read."""
    frames, infos = [], []
    for src in files:
        raw, info = read_raw(src, encoding=tmap.encoding, sep=tmap.sep, sheet=tmap.sheet, strings=strings)
        for join in tmap.join:
            raw = _apply_join(raw, join, data_dir, src.label, name, strings)
        label = src.label
        # the label on every row (as a category when reading for the loader: one value, a million rows)
        raw[FILE_COL] = label if strings == "object" else pd.Categorical.from_codes(np.zeros(len(raw), dtype=np.int8), [label])
        frames.append(raw)
        infos.append({"file": label, "rows": len(raw), **info})
    if len(frames) == 1:
        return frames[0], infos
    return pd.concat(frames, ignore_index=True).fillna(""), infos


def _find_header(raw: pd.DataFrame, ref: str) -> str | None:
    target = normalize_header(ref)
    for col in raw.columns:
        if not str(col).startswith("_") and normalize_header(col) == target:
            return col
    return None


def _read_again(name: str, files: list[Source], tmap: TableMap, data_dir: Path) -> pd.DataFrame:
    """The raw rows of table ``name`` as Python strings, as ``ds.raw[name]`` gives them (see :class:`RawRows`)."""
    return _read_table_files(name, files, tmap, data_dir)[0]


def _joined_paths(files: list[Source], tmap: TableMap, data_dir: Path) -> list[Path]:
    """The files a table is read from: its own, and the one each join adds."""
    paths = [f.path for f in files]
    for join in tmap.join:
        hits = find_files(data_dir, join.file)
        if hits:
            paths.append(hits[0].path)
    return paths


def _text_as_object(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw rows read with ``strings="arrow"`` as ``read_raw`` gives them by default: the file's columns as Python strings,
    the file's label as text."""
    kinds = {c: object for c in raw.columns if not c.startswith("_") and raw[c].dtype != object}
    if FILE_COL in raw and raw[FILE_COL].dtype != _STR:
        kinds[FILE_COL] = str
    return raw.astype(kinds) if kinds else raw


#: pandas' text dtype (what ``astype(str)`` gives)
_STR = pd.Series([""], dtype=object).astype(str).dtype


def _apply_join(raw: pd.DataFrame, join, data_dir: Path, main_label: str, table: str, strings: str = "object") -> pd.DataFrame:
    hits = find_files(data_dir, join.file)
    where = f"tables.{table}.join"
    if not hits:
        raise InputFileError(main_label, f"the preset joins it with {join.file!r}, which is not in {display_path(data_dir)}.",
                             f"put that file in the data folder or change `{where}.file` in the preset.")
    other, _ = read_raw(hits[0], encoding=join.encoding, sep=join.sep, strings=strings)
    left_key = _find_header(raw, join.key)
    right_key = _find_header(other, join.right_key or join.key)
    if left_key is None:
        columns = ", ".join(c for c in raw.columns if not c.startswith("_"))
        raise InputFileError(main_label, f"the join key column {join.key!r} is missing.", f"change `{where}.key` in the preset to one of: {columns}.")
    if right_key is None:
        raise InputFileError(hits[0].label, f"the join key column {(join.right_key or join.key)!r} is missing.", f"change `{where}.right_key` in the preset.")
    keys = other[right_key]
    dup = keys[keys.duplicated() & (keys != "")]
    if len(dup):
        raise InputFileError(hits[0].label, f"the join key {right_key!r} repeats ({len(dup)} repeated values, e.g. {dup.iloc[0]!r}), so rows cannot be matched one to one.",
                             f"deduplicate that file or choose another key in `{where}.key`.")
    keep = [c for c in other.columns if not c.startswith("_")]
    right = other[keep].rename(columns={c: f"{join.prefix}{c}" for c in keep})
    rk = f"{join.prefix}{right_key}"
    right = right[right[rk] != ""]
    merged = raw.merge(right, how="left", left_on=left_key, right_on=rk, validate="many_to_one", sort=False)
    merged.index = raw.index
    return merged.fillna("")


# ---------------------------------------------------------------------------
# mapping one table


def _resolve(raw: pd.DataFrame, ref) -> list[str]:
    refs = [ref] if isinstance(ref, str) else list(ref)
    return [h for h in (_find_header(raw, r) for r in refs) if h is not None]


def _coalesce(raw: pd.DataFrame, headers: list[str]) -> pd.Series:
    out = clean_text(raw[headers[0]])
    for h in headers[1:]:
        nxt = clean_text(raw[h])
        out = out.where(out != "", nxt)
    return out


def _empty_rows(cells: pd.DataFrame) -> pd.Series:
    """Rows whose every cell is blank once stripped: column by column, each only on the rows still blank so far."""
    blank = np.ones(len(cells), dtype=bool)
    for j in range(cells.shape[1]):
        pos = np.flatnonzero(blank)
        if not len(pos):
            break
        col = cells.iloc[:, j]
        if len(pos) == len(blank) and col.dtype == _STR:  # the whole column: block by block (no stripped copy of it)
            import pyarrow as pa
            import pyarrow.compute as pc

            arr = pa.array(col.array)
            blocks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
            parts = [pc.fill_null(pc.equal(pc.binary_length(pc.utf8_trim_whitespace(b)), 0), False).to_numpy(zero_copy_only=False) for b in blocks]
            blank = np.concatenate(parts) if parts else blank
            continue
        blank[pos] = (col.iloc[pos].astype(str).str.strip() == "").to_numpy(dtype=bool)
    return pd.Series(blank, index=cells.index)


def _normalized(s: pd.Series) -> pd.Series:
    """``s.map(normalize_header)``, computed once per distinct value (an export repeats a few stage names a million times)."""
    if s.hasnans:
        return s.map(normalize_header)
    return s.map({u: normalize_header(u) for u in pd.unique(s)})


def _per_distinct(s: pd.Series, fn) -> pd.Series:
    """``fn(s)`` for an ``fn`` that maps each value on its own, computed on the distinct values of ``s`` and spread
    back (a column of a million stage names holds a few dozen); ``fn(s)`` itself unless ``s`` is text held by pyarrow."""
    if s.dtype != _STR or not len(s) or s.hasnans:
        return fn(s)
    codes, uniques = pd.factorize(s)
    out = fn(pd.Series(uniques, name=s.name)).take(codes)
    out.index = s.index
    return out


def _value_map(text: pd.Series, mapping: dict[str, str]) -> pd.Series:
    if not mapping:
        return text
    lookup = {normalize_header(k): v for k, v in mapping.items()}

    def mapped(t: pd.Series) -> pd.Series:
        m = _normalized(t).map(lookup)
        return m.where(m.notna(), t).astype(object)

    return _per_distinct(text, mapped)


def stage_lookup(preset: Preset, config: RunConfig) -> dict[str, str]:
    """Normalised CRM stage text -> funnel key: funnel keys and labels, then the preset, then the config."""
    lookup: dict[str, str] = {}
    for s in config.funnel.stages:
        for text in (s.key, s.label.ru, s.label.en):
            lookup[normalize_header(text)] = s.key
    keys = set(config.funnel.keys)
    for src, dst in preset.stages.items():
        if dst in keys:  # a preset stage outside this client's funnel is ignored
            lookup[normalize_header(src)] = dst
    for src, dst in config.stage_map.items():
        lookup[normalize_header(src)] = dst
    return lookup


def map_table(
    name: str, raw: pd.DataFrame, tmap: TableMap, *, config: RunConfig, preset: Preset, as_of: pd.Timestamp, files_label: str
) -> tuple[pd.DataFrame, _Verdicts, dict, list[str], pd.DataFrame]:
    """Map one raw table into canonical columns and give each row a verdict.

    Returns the canonical frame (all rows, same index as ``raw``), the verdicts,
    the columns used, the optional columns the export lacks, and the stage mapping.
    """
    spec = TABLES[name]
    where = f"tables.{name}.columns"
    v = _Verdicts(raw.index)
    text: dict[str, pd.Series] = {}
    mapped: dict[str, str] = {}
    missing_optional: list[str] = []
    file_cols = [c for c in raw.columns if not c.startswith("_")]
    derivable = {("deals", "outcome"), ("leads", "status")}

    resolved = {c: _resolve(raw, ref) for c, ref in tmap.columns.items()}
    if file_cols and not any(resolved.values()):
        raise InputFileError(
            files_label,
            f"none of the columns that preset `{preset.name}` maps for `{name}` is in the file; its columns are: {', '.join(file_cols[:20])}{' …' if len(file_cols) > 20 else ''}.",
            f"use the preset of the CRM this file came from (`preset:` in the run config), or edit `{where}` in {display_path(preset.source)}.",
        )
    for col in spec.columns:
        if col.name in tmap.constants:
            text[col.name] = pd.Series(tmap.constants[col.name], index=raw.index, dtype=object)
            mapped[col.name] = f"= {tmap.constants[col.name]}"
            continue
        ref = tmap.columns.get(col.name)
        if ref is None:
            if col.required and (name, col.name) not in derivable:
                raise InputFileError(
                    files_label,
                    f"the preset `{preset.name}` maps no export column to the required canonical column `{name}.{col.name}`.",
                    f"add `{col.name}: <export column>` under `{where}` in {display_path(preset.source)}.",
                )
            continue
        headers = resolved[col.name]
        if not headers:
            if col.required:
                wanted = ref if isinstance(ref, str) else " or ".join(ref)
                hint = closest(wanted if isinstance(ref, str) else ref[0], file_cols)
                raise InputFileError(
                    files_label,
                    f"the required column {wanted!r} (canonical `{name}.{col.name}`) is not in the file.{hint} "
                    f"The file's columns are: {', '.join(file_cols[:40])}{' …' if len(file_cols) > 40 else ''}.",
                    f"change `{where}.{col.name}` in {display_path(preset.source)} to the file's column name, or export that column.",
                )
            missing_optional.append(col.name)
            continue
        text[col.name] = _coalesce(raw, headers)
        mapped[col.name] = " | ".join(headers)
    for col_name, mapping in tmap.values.items():
        if col_name in text:
            text[col_name] = _value_map(text[col_name], mapping)

    # 1. empty and malformed rows
    cells = raw[file_cols] if file_cols else pd.DataFrame(index=raw.index)
    empty = _empty_rows(cells) if file_cols else pd.Series(True, index=raw.index)
    v.flag(empty, "empty_row")
    if "_extra" in raw:
        v.flag(raw["_extra"] > 0, "bad_shape", "", raw["_extra"].astype(str) + " extra value(s)")

    # 2. the key
    out = {}
    if spec.key and spec.key in text and spec.column(spec.key).required:
        v.flag(text[spec.key] == "", "missing_id", spec.key)

    # 3. parse every column
    tz = config.timezone or config.lead_response.calendar.timezone
    future: list[tuple[str, pd.Series]] = []
    below: list[tuple[str, pd.Series]] = []
    stage_src = None
    for col in spec.columns:
        if col.name not in text:
            continue
        t = text[col.name].astype(str)
        if col.kind == "datetime":
            values, bad = parse_datetimes(t, dayfirst=tmap.dayfirst, timezone=tz, null_values=tmap.null_values)
            v.flag(bad, "bad_date", col.name, t)
            early = values < _MIN_DATE
            v.flag(early, "bad_date", col.name, t)
            if not col.future_ok:
                future.append((col.name, values > as_of))
            out[col.name] = values
        elif col.kind == "float":
            values, bad = parse_numbers(t, decimal=tmap.decimal, null_values=tmap.null_values)
            v.flag(bad, "bad_number", col.name, t)
            lo = values < col.minimum if col.minimum is not None else pd.Series(False, index=raw.index)
            hi = values > col.maximum if col.maximum is not None else pd.Series(False, index=raw.index)
            below.append((col.name, lo, hi))
            out[col.name] = values
        elif col.kind == "category" and col.name == "stage":
            stage_src = t
            out[col.name] = t  # mapped below
        elif col.name == "currency":
            codes, bad = parse_currencies(t, tmap.null_values)
            v.flag(bad, "bad_value", col.name, t)
            out[col.name] = codes
        elif col.kind == "category":
            values, bad = categorise(t, col.allowed, tmap.null_values)
            v.flag(bad, "bad_value", col.name, t)
            out[col.name] = values
        else:  # id, str
            out[col.name] = blank_as_missing(t)

    # 4. required values
    for col in spec.columns:
        if col.required and col.name in out and col.name != spec.key:
            v.flag(pd.Series(out[col.name], index=raw.index).isna(), "missing_value", col.name)

    # 5. dates after the audit moment
    for col_name, mask in future:
        v.flag(mask, "future_date", col_name, text[col_name])

    # 6. ranges
    for col_name, lo, hi in below:
        col = spec.column(col_name)
        v.flag(lo, "negative_amount" if col.minimum == 0 and "amount" in col_name else "out_of_range", col_name, text[col_name])
        v.flag(hi, "out_of_range", col_name, text[col_name])

    # 7. stages and outcomes
    mapping_rows = pd.DataFrame(columns=["table", "source", "stage", "rows"])
    row_pipeline = None
    if stage_src is not None:
        lookup = stage_lookup(preset, config)
        keys = _per_distinct(stage_src, lambda t: _normalized(t).map(lookup))
        if preset.pipeline_prefix:
            # Bitrix24 writes the stages of pipeline 3 as C3:NEW: the prefix names the pipeline
            prefix = stage_src.str.extract(preset.pipeline_prefix, expand=False)
            has_prefix = prefix.notna()
            row_pipeline = prefix.where(has_prefix | (stage_src == ""), "0")  # the pipeline a stage id names ("" when none)
            if has_prefix.any():
                stripped = stage_src.str.replace(preset.pipeline_prefix, "", regex=True)
                keys = keys.where(keys.notna() | ~has_prefix, _per_distinct(stripped, lambda t: _normalized(t).map(lookup)))
                if name == "deals" and "pipeline" not in out:
                    out["pipeline"] = prefix.where(has_prefix, "0").astype(object)
                    text["pipeline"] = pd.Series(out["pipeline"], index=raw.index).astype(str)
        if name == "deals" and "outcome" in out and tmap.stage_from_outcome:
            o = pd.Series(out["outcome"], index=raw.index)
            # the status says won or lost, not which terminal: a stage already at one of them is kept
            won_at, lost_at = keys.isin(config.funnel.won_stages), keys.isin(config.funnel.lost_stages)
            keys = keys.mask((o == "won") & ~won_at, config.funnel.won).mask((o == "lost") & ~lost_at, config.funnel.lost)
        unknown = (stage_src != "") & keys.isna()
        nonempty = int((stage_src != "").sum())
        if nonempty and int(unknown.sum()) == nonempty:
            sample = ", ".join(repr(x) for x in stage_src[unknown].drop_duplicates().head(8))
            raise InputFileError(
                files_label,
                f"none of its stage names ({sample}) matches the funnel ({', '.join(config.funnel.keys)}) or the stage mapping of preset `{preset.name}`.",
                "map them to funnel keys under `stage_map:` in the run config (or `stages:` in the preset), or use the funnel of this CRM.",
            )
        v.flag(unknown, "unknown_stage", "stage", stage_src)
        out["stage"] = keys.where(keys.notna(), None)
        counts = pd.DataFrame({"source": stage_src, "stage": keys.fillna("")}).value_counts().reset_index(name="rows")
        counts.insert(0, "table", name)
        mapping_rows = counts.sort_values(["stage", "rows"], ascending=[True, False], kind="stable").reset_index(drop=True)

    if name == "deals":
        stage = pd.Series(out["stage"], index=raw.index)
        derived = pd.Series(np.where(stage.isin(config.funnel.won_stages), "won", np.where(stage.isin(config.funnel.lost_stages), "lost", "open")), index=raw.index)
        derived = derived.where(stage.notna(), None)
        if "outcome" in out:
            o = pd.Series(out["outcome"], index=raw.index)
            v.flag(o.notna() & stage.notna() & (o != derived), "inconsistent_outcome", "outcome", text.get("outcome"))
            out["outcome"] = o.where(o.notna(), derived)
        else:
            out["outcome"] = derived
        if "closed_at" in out:
            v.flag(out["closed_at"] < out["created_at"], "closed_before_created", "closed_at", text["closed_at"])
        if config.pipeline is not None:
            _select_pipeline(out, text, v, config, preset, files_label, raw.index,
                             [clean_text(raw[h]) for h in resolved.get("pipeline") or []])
        if "currency" in out:
            cur = pd.Series(out["currency"], index=raw.index)
            if config.currency is None:  # the report's currency: the one most deals are in
                counts = cur[v.ok].dropna().value_counts()
                config.currency = str(counts.index[0]) if len(counts) else "RUB"
                config._filled.add("currency")
            foreign = cur.notna() & (cur != config.currency)
            no_rate = foreign & ~cur.isin(list(config.exchange_rates))
            v.flag(no_rate, "other_currency", "currency", text["currency"])
            if "amount" in out:
                rate = cur.map(config.exchange_rates).where(foreign & ~no_rate, 1.0).astype("float64")
                out["amount"] = pd.Series(out["amount"], index=raw.index) * rate
    if name == "leads":
        if "first_response_at" in out:
            v.flag(out["first_response_at"] < out["created_at"], "response_before_created", "first_response_at", text["first_response_at"])
        if "status" not in out and "deal_id" in out:
            out["status"] = pd.Series(np.where(pd.Series(out["deal_id"], index=raw.index).notna(), "converted", None), index=raw.index, dtype=object)

    data = {}
    for col in spec.columns:
        if col.name in out:
            data[col.name] = pd.Series(out[col.name], index=raw.index).astype(col.dtype)
        else:
            data[col.name] = pd.Series(pd.NA if col.dtype == "string" else np.nan, index=raw.index).astype(col.dtype)
    frame = pd.DataFrame(data, index=raw.index, copy=False)  # in the model's order; the columns as they are (no copy)

    # 8. duplicates among rows still accepted
    if spec.key and spec.key in out:
        dup = _duplicated(frame[spec.key], (v.ok & frame[spec.key].notna()).to_numpy(dtype=bool))  # the key alone
        if dup.any():
            d = frame.loc[dup.index[dup.to_numpy(dtype=bool)]]
            h = pd.util.hash_pandas_object(d.astype(str), index=False)
            n_variants = h.groupby(d[spec.key]).transform("nunique")
            exact = n_variants == 1
            repeat = d[spec.key].duplicated(keep="first")
            v.flag((exact & repeat).reindex(raw.index, fill_value=False), "duplicate_exact", spec.key, text[spec.key])
            v.flag((~exact).reindex(raw.index, fill_value=False), "duplicate_conflict", spec.key, text[spec.key])
    if row_pipeline is not None:
        frame.attrs["stage_pipeline"] = row_pipeline
    return frame, v, mapped, missing_optional, mapping_rows


def _duplicated(key: pd.Series, rows: np.ndarray) -> pd.Series:
    """``key[rows].duplicated(keep=False)`` (``rows``: a mask of rows without a missing key); when those ids are all
    plain numbers (no sign, no leading zero, at most 18 digits: one text per number) they are compared as numbers."""
    if rows.any() and _arrow_strings(key):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(key.array)
        if arr.null_count:
            arr = pc.fill_null(arr, "0")  # (rows holds no missing key)
        plain = pc.match_substring_regex(arr, r"^(0|[1-9][0-9]{0,17})$")
        plain_np = plain.to_numpy(zero_copy_only=False)
        if plain_np[rows].all():
            numbers = pc.cast(arr if plain_np.all() else pc.if_else(plain, arr, "0"), pa.int64()).to_numpy()[rows]
            return pd.Series(pd.Series(numbers).duplicated(keep=False).to_numpy(), index=key.index[rows], name=key.name)
    return key[rows].duplicated(keep=False)


def _accepted(frame: pd.DataFrame, ok: pd.Series, nbad: int) -> pd.DataFrame:
    """``frame[ok].reset_index(drop=True)``, built column by column while ``frame`` gives its columns up (emptied):
    the table is never held twice."""
    if not nbad:
        return frame.reset_index(drop=True)
    rows = np.flatnonzero(ok.to_numpy(dtype=bool))
    names = list(frame.columns)
    out = {}
    for c in names:
        out[c] = frame[c].take(rows).reset_index(drop=True)
        del frame[c]
    return pd.DataFrame(out, columns=names, copy=False)


def _pipeline_key(value) -> str:
    return normalize_header(str(value))


def _select_pipeline(out: dict, text: dict, v: _Verdicts, config: RunConfig, preset: Preset, files_label: str, index,
                     alternatives: list | None = None) -> None:
    """Keep the deals of the pipeline the run config names (``pipeline:``, its id or its name: any of the columns the
    preset maps to ``pipeline``, such as Воронка and CATEGORY_ID, may hold it); quarantine the others."""
    if "pipeline" not in out:
        raise InputFileError(
            files_label,
            f"the run config selects `pipeline: {config.pipeline}`, but the deals export names no pipeline (no column that preset `{preset.name}` "
            "maps to `pipeline`, such as Воронка, Направление or CATEGORY_ID, and no stage ids like C3:NEW).",
            "export the deals with the pipeline column (Bitrix24: «Направление»/«Воронка»; amoCRM: «Воронка»), or remove `pipeline:` from the run config.",
        )
    pipe = pd.Series(out["pipeline"], index=index).astype(object)
    want = _pipeline_key(config.pipeline)
    match = pipe.map(lambda x: x is not None and not pd.isna(x) and _pipeline_key(x) == want)
    for alt in alternatives or []:
        match = match | pd.Series(alt, index=index).map(lambda x: x != "" and _pipeline_key(x) == want)
    if not match.any():
        counts = pipe.dropna().astype(str).value_counts()
        listed = "; ".join(f"{k!r}: {n} deals" for k, n in counts.head(12).items()) or "none"
        raise InputFileError(
            files_label,
            f"the run config selects `pipeline: {config.pipeline}`, which no deal belongs to. The export's pipelines: {listed}.",
            "set `pipeline:` in the run config to one of these (the id or the name as written), or remove it to audit them all.",
        )
    v.prefer(~match, "other_pipeline", ("unknown_stage", "inconsistent_outcome"), "pipeline", pipe.astype(str))
    v.flag(~match, "other_pipeline", "pipeline", pipe.astype(str))


def _convert_payments(payments: pd.DataFrame, deals_frame: pd.DataFrame, config: RunConfig) -> int:
    """Payments of a deal in another currency are in that currency too: convert them at the config's rate."""
    if not config.exchange_rates or "currency" not in deals_frame:
        return 0
    cur = deals_frame.set_index("deal_id")["currency"]
    cur = cur[~cur.index.duplicated()]
    pay_cur = payments["deal_id"].map(cur)
    rate = pay_cur.map(config.exchange_rates)
    conv = rate.notna() & (pay_cur != config.currency)
    payments.loc[conv, "amount"] = payments.loc[conv, "amount"] * rate[conv].astype("float64")
    return int(conv.sum())


def _derive_closed_at(deals: pd.DataFrame, history: pd.DataFrame, funnel) -> int:
    """Fill an empty ``closed_at`` of a won or lost deal with its first entry into its terminal stage.

    The terminal is the deal's stage (which of several lost terminals it ended in); a deal whose
    stage is not a terminal of its outcome is looked up in the funnel's first one.
    """
    need = deals["outcome"].isin(["won", "lost"]) & deals["closed_at"].isna()
    if not need.any():
        return 0
    terminal = history[history["stage"].isin(funnel.terminals)]
    first = terminal.groupby(["deal_id", "stage"], observed=True)["entered_at"].min()
    outcome = deals.loc[need, "outcome"].astype(object)
    own = deals.loc[need, "stage"].astype(object)
    own_ok = (outcome.eq("won") & own.isin(funnel.won_stages)) | (outcome.eq("lost") & own.isin(funnel.lost_stages))
    key = own.where(own_ok, outcome.map({"won": funnel.won, "lost": funnel.lost}))
    idx = pd.MultiIndex.from_arrays([deals.loc[need, "deal_id"].astype(object), key.astype(object)])
    found = pd.Series(first.reindex(idx).to_numpy(), index=deals.index[need])
    deals.loc[need, "closed_at"] = found.astype("datetime64[ns]")
    return int(found.notna().sum())


def _history_of_other_pipelines(history: pd.DataFrame, v: _Verdicts, deals: pd.DataFrame, rows: pd.Series | None, own: pd.Series | None) -> None:
    """With one pipeline audited, the history rows a deal left in another pipeline before it moved (Bitrix24 writes the
    stages of pipeline 3 as C3:NEW, of the default one as NEW) are that pipeline's: set aside as ``other_pipeline``, not read
    as stages of the audited funnel nor as unknown ones."""
    if rows is None or own is None:
        return
    deal_pipe = pd.Series(own.reindex(deals.index).to_numpy(), index=deals["deal_id"].to_numpy())
    deal_pipe = deal_pipe[~deal_pipe.index.duplicated()]
    theirs = history["deal_id"].map(deal_pipe)
    other = theirs.notna() & rows.reindex(history.index).ne("") & rows.reindex(history.index).ne(theirs)
    v.prefer(other, "other_pipeline", ("unknown_stage",), "stage", rows.reindex(history.index).astype(str))
    v.flag(other, "other_pipeline", "stage", rows.reindex(history.index).astype(str))


def _check_deal_refs(name: str, frame: pd.DataFrame, v: _Verdicts, deals: pd.DataFrame, deals_quarantined: set,
                     other_pipeline: set = frozenset()) -> None:
    """Rows referring to a deal that is quarantined or absent. A row of a deal of another pipeline is that deal's, whatever
    its stage (its stage is of the other pipeline's funnel, not an unknown one)."""
    ref = frame["deal_id"]
    present = ref.notna()
    known = isin(ref, deals["deal_id"].dropna().unique())
    gone = present & isin(ref, deals_quarantined) & ~known
    text = ref.astype(str)
    v.prefer(gone & isin(ref, other_pipeline), "deal_quarantined", ("unknown_stage",), "deal_id", text)
    v.flag(gone, "deal_quarantined", "deal_id", text)
    v.flag(present & ~known, "unknown_deal", "deal_id", text)


# ---------------------------------------------------------------------------
# the dataset


def load_dataset(config: RunConfig | str | Path, *, progress: bool = False, refuse: bool = True) -> Dataset:
    """Load every table the preset describes from ``config.data``, and judge the load.

    ``Dataset.problems`` holds the verdict (:func:`salesaudit.data.verdict.assess`). With ``refuse``
    (the default) a fatal problem raises :class:`salesaudit.data.verdict.LoadRefused`, one paragraph
    naming the file, what was expected and how to fix it; ``refuse=False`` returns the dataset
    with its problems, for a report on a broken export.
    """
    if not isinstance(config, RunConfig):
        config = load_run_config(config)
    preset = load_preset(config.preset, config.base_dir, config.source)
    data_dir = config.data_dir
    if not data_dir.is_dir():
        where = display_path(config.source) if config.source else "the run config"
        raise InputFileError(display_path(data_dir), "the data folder does not exist.", f"set `data:` in {where} to the folder with the export files (relative to the config).")
    as_of = pd.Timestamp(config.audit_moment())
    reports: dict = {}
    plan = []  # (name, table map, files) of the tables the export has, in the model's order
    for name in TABLE_ORDER:
        tmap = preset.tables.get(name)
        if tmap is None:
            reports[name] = TableReport(name, "not_in_preset")
            continue
        patterns = config.files.get(name) or tmap.files
        files = find_files(data_dir, patterns)
        if not files:
            reports[name] = TableReport(name, "api_only" if tmap.api_only and not config.files.get(name) else "no_file",
                                        patterns=[patterns] if isinstance(patterns, str) else list(patterns))
            continue
        plan.append((name, tmap, files))
    # The largest table that needs no other (activities, often half the export) is read first, the others in the model's
    # order after it: the largest one is read and checked with nothing else in memory, and the peak of the load is
    # lower than when it comes last, on top of every finished table. Its error, if it has one, waits for the tables
    # before it in the model's order, whose errors come first (and nothing is read past it), as before.
    first = max((p for p in plan if p[0] in _READ_FIRST), key=lambda p: sum(_size(f) for f in p[2]), default=None)
    order = ([first] if first is not None else []) + [p for p in plan if p is not first]
    position = {p[0]: i for i, p in enumerate(plan)}
    if progress:
        from tqdm.auto import tqdm

        order = tqdm(order, desc="load", leave=False)
    state = _LoadState()
    done: dict[str, dict] = {}
    waiting = None  # (position, error) of the table read first
    with _system_allocator() as release:
        state.release = release
        for name, tmap, files in order:
            if waiting is not None and position[name] > waiting[0]:
                raise waiting[1]
            try:
                done[name] = _load_table(name, tmap, files, config=config, preset=preset, data_dir=data_dir, as_of=as_of, state=state)
            except Exception as exc:
                if first is not None and name == first[0]:
                    waiting = (position[name], exc)
                    continue
                raise
            finally:
                release()
    if waiting is not None:
        raise waiting[1]
    tables, raws, qs, mappings = {}, RawRows(), [], []
    for name in TABLE_ORDER:  # everything in the model's order, whatever the order of reading
        if name not in done:
            continue
        d = done.pop(name)
        tables[name] = d["table"]
        raws.add(name, *d["raw"])
        if d["quarantine"] is not None:
            qs.append(d["quarantine"])
        if len(d["mapping"]):
            mappings.append(d["mapping"])
        reports[name] = d["report"]
    reports = {name: reports[name] for name in TABLE_ORDER}
    frames, verdicts = state.frames, state.verdicts
    if not frames:
        expected = "; ".join(f"{t}: {', '.join(m.files)}" for t, m in preset.tables.items())
        present = ", ".join(p.name for p in sorted(data_dir.iterdir())[:20]) or "nothing"
        raise InputFileError(display_path(data_dir), f"no file in it matches any table of preset `{preset.name}` (expected {expected}); the folder holds: {present}.",
                             "rename the files, point `data:` at the right folder, or set `files:` per table in the run config.")
    if "deals" in tables and "stage_history" in tables:
        n = _derive_closed_at(tables["deals"], tables["stage_history"], config.funnel)
        if n:
            reports["deals"].notes.append(("note.closed_at_from_history", {"n": n}))
    if config.currency is None:
        config.currency = "RUB"
        config._filled.add("currency")
    if "deals" in tables and "payments" in tables:
        n = _convert_payments(tables["payments"], tables["deals"], config)
        if n:
            reports["payments"].notes.append(("note.payments_converted", {"n": n, "currency": config.currency}))
    if "deals" in tables and config.exchange_rates:
        d = tables["deals"]
        n = int((d["currency"].notna() & (d["currency"] != config.currency)).sum())
        if n:
            rates = ", ".join(f"{k} = {r:g} {config.currency}" for k, r in sorted(config.exchange_rates.items()))
            reports["deals"].notes.append(("note.deals_converted", {"n": n, "currency": config.currency, "rates": rates}))
    quarantine = pd.concat(qs, ignore_index=True) if qs else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    quarantine["row"] = quarantine["row"].astype("int64")
    stage_mapping = pd.concat(mappings, ignore_index=True) if mappings else pd.DataFrame(columns=["table", "source", "stage", "rows"])
    facts = _facts(frames, verdicts, data_dir)
    ds = Dataset(config, preset, tables, quarantine, raws, reports, stage_mapping, as_of, facts=facts)
    from .verdict import LoadRefused, assess

    ds.problems = assess(ds)
    fatal = [p for p in ds.problems if p.fatal]
    if fatal and refuse:
        raise LoadRefused(fatal)
    return ds


@contextmanager
def _system_allocator():
    """While the tables are read, pyarrow allocates with the system allocator, and gives what a table's reading freed
    back to the system after each table (the function this yields): the load's memory is then its data at any moment.
    pyarrow's default allocator (mimalloc) keeps freed memory for reuse, so a large load would hold the sum of its
    tables' scratch memory until the process ends. The default is restored afterwards; buffers remember their allocator."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency of pandas here
        yield lambda: None
        return
    previous = pa.default_memory_pool()
    pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield pool.release_unused
    finally:
        pa.set_memory_pool(previous)


#: the tables that may be read before the others: none needs another's rows, and reading one changes nothing the others read
_READ_FIRST = ("managers", "leads", "activities", "plans")


def _size(source: Source) -> int:
    try:
        return source.path.stat().st_size
    except OSError:
        return 0


class _LoadState:
    """What the tables read so far leave for the next ones: of the deals, every row's id, pipeline and currency and their
    verdicts (the deal references of the stage history and the payments, the facts), and the pipeline of each stage id."""

    def __init__(self):
        self.frames: dict = {}
        self.verdicts: dict = {}
        self.stage_pipelines: dict = {}  # per table: the pipeline each row's stage id names (Bitrix24's C3: prefix)
        self.release = lambda: None  # gives freed memory back to the system (see _system_allocator)


def _load_table(name: str, tmap: TableMap, files: list[Source], *, config: RunConfig, preset: Preset, data_dir: Path,
                as_of: pd.Timestamp, state: _LoadState) -> dict:
    """Read, map and check one table; its accepted rows, its quarantined rows as read and in the quarantine, its report."""
    raw, infos = _read_table_files(name, files, tmap, data_dir, strings="arrow")
    state.release()  # the file's bytes
    label = ", ".join(display_path(f.path) + (f":{f.member}" if f.member else "") for f in files)
    frame, v, mapped, missing_opt, mapping = map_table(name, raw, tmap, config=config, preset=preset, as_of=as_of, files_label=label)
    state.release()  # the checks' scratch memory
    state.stage_pipelines[name] = frame.attrs.pop("stage_pipeline", None)  # (never left in a table's attrs: pandas compares them)
    frames, verdicts = state.frames, state.verdicts
    if name in ("stage_history", "payments") and "deals" in frames:
        dv = verdicts["deals"]
        dframe = frames["deals"]
        _check_deal_refs(name, frame, v, dframe[dv.ok], set(dframe.loc[~dv.ok, "deal_id"].dropna()),
                         set(dframe.loc[dv.reason.eq("other_pipeline"), "deal_id"].dropna()))
        if name == "stage_history" and config.pipeline is not None:
            _history_of_other_pipelines(frame, v, dframe[dv.ok], state.stage_pipelines.get(name), state.stage_pipelines.get("deals"))
    # the table's verdicts are final: keep its accepted rows and, of the rows as read, the quarantined ones
    ok = v.ok
    bad = ~ok
    nbad = int(bad.sum())
    kept = _text_as_object(raw[bad])
    raw_rows = (kept, list(raw.columns), partial(_read_again, name, files, tmap, data_dir), _joined_paths(files, tmap, data_dir))
    quarantine = None
    if nbad:
        reason, column, value = v.quarantined()
        quarantine = pd.DataFrame({"table": name, "file": kept[FILE_COL].values, "row": kept[ROW_COL].values,
                                   "reason": reason, "column": column, "value": value})
    n_raw = len(raw)
    del raw, kept
    if name == "deals":  # of every row, what the deal references and the facts read
        frames[name], verdicts[name] = frame[["deal_id", "pipeline", "currency"]], v
    else:
        frames[name] = None
    table = _accepted(frame, ok, nbad)
    del frame, v
    report = TableReport(name, "loaded", [i["file"] for i in infos], n_raw, n_raw - nbad, nbad, mapped, missing_opt, infos)
    for info in infos:  # content and ending disagree: say how the file was read
        if info.get("format_note") and info.get("format") in ("csv", "xlsx", "html", "parquet"):
            report.notes.append((f"note.read_by_content.{info['format']}", {"file": info["file"]}))
    return {"table": table, "raw": raw_rows, "quarantine": quarantine, "mapping": mapping, "report": report}


def _facts(frames: dict, verdicts: dict, data_dir: Path) -> dict:
    """Pipelines and currencies of the deals (all rows that name one), and the data folder's files."""
    facts: dict = {"folder_files": [s.label for s in list_sources(data_dir)][:40]}
    if "deals" in frames:
        d, v = frames["deals"], verdicts["deals"]
        usable = v.ok | v.reason.isin(["other_pipeline", "other_currency"])
        for col, key in (("pipeline", "pipelines"), ("currency", "currencies")):
            vals = d.loc[usable, col].dropna().astype(str)
            facts[key] = {k: int(n) for k, n in vals.value_counts().sort_values(ascending=False, kind="stable").items()}
    pulled = Path(data_dir) / "PULL_REPORT.json"
    if pulled.is_file():  # a folder `salesaudit pull` wrote: how complete the CRM's stage history is
        import json

        try:
            report = json.loads(pulled.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = {}
        comp = report.get("completeness") or {}
        facts["pull"] = {"crm": report.get("crm"), "pulled_at": report.get("pulled_at"),
                         **{k: comp.get(k) for k in ("deals", "deals_with_history", "deals_starting_at_creation", "share_starting_at_creation",
                                                    "deals_without_history", "deals_with_gaps", "earliest_history")}}
    return facts


def load(config_path, cache=None, **overrides) -> Dataset:
    """Load a run config (``params/clients/*.yaml``) and its dataset in one call.

    ``cache`` is a folder written by :func:`salesaudit.data.cache.save_dataset` (``salesaudit run``
    passes its own to every notebook): when it holds this config's dataset, the dataset is read
    from it instead of loading the export again.
    """
    cfg = load_run_config(config_path, **overrides)
    if cache:
        from .cache import load_cached

        ds = load_cached(cfg, cache)
        if ds is not None:
            return ds
    return load_dataset(cfg)
