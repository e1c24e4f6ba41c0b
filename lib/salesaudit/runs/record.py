"""Key results recorded inside a notebook and read back from the executed file.

A notebook calls :func:`record` for each number worth a line on the run's index
page (``record("win_rate", 0.23)``). The value is stored in the notebook's JSON
as a display output of the MIME type :data:`MIME` (payload
``{"key": ..., "value": ...}``), which no front end renders, and the runner
collects every recorded value with :func:`read_records` into ``<notebook>.json``.

Values are made JSON-safe by :func:`to_jsonable`: numpy scalars become Python
numbers, timestamps ISO strings, NaN/NaT/NA ``None``, DataFrames lists of records.

>>> to_jsonable({"n": 3, "share": float("nan"), "when": __import__("datetime").date(2026, 10, 1)})
{'n': 3, 'share': None, 'when': '2026-10-01'}
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import numbers
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

__all__ = ["MIME", "record", "read_records", "to_jsonable"]

#: The MIME type of a recorded key result in a notebook's outputs.
MIME = "application/vnd.salesaudit.record+json"


def record(key: str, value: Any) -> Any:
    """Record ``value`` under ``key`` as a key result of the running notebook.

    Publishes ``{"key": key, "value": to_jsonable(value)}`` as a display output
    of type :data:`MIME` (nothing visible in Jupyter or in the HTML report) and
    returns the JSON-safe value. Outside IPython nothing is published. A later
    ``record`` of the same key overwrites the earlier one in :func:`read_records`.

    End the line with ``;`` if it is the last line of a cell, or IPython shows
    the returned value as the cell's output.
    """
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"record(): the key must be a non-empty string, got {key!r}")
    if key.startswith("_"):
        raise ValueError(f"record(): keys starting with '_' are reserved for the runner, got {key!r}")
    safe = to_jsonable(value)
    _publish({"key": key, "value": safe})
    return safe


def _publish(payload: dict) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    if get_ipython() is None:
        return
    display({MIME: payload}, raw=True)


def read_records(nb_or_path) -> dict[str, Any]:
    """All key results recorded in an executed notebook, in execution order.

    ``nb_or_path`` is an nbformat ``NotebookNode`` (or a plain dict of the same
    shape) or the path of an ``.ipynb`` file. Later records of a key overwrite
    earlier ones.
    """
    if isinstance(nb_or_path, (str, PurePath)):
        import nbformat

        nb = nbformat.read(str(nb_or_path), as_version=4)
    else:
        nb = nb_or_path
    found: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            if MIME not in data:
                continue
            payload = data[MIME]
            if isinstance(payload, str):
                try:
                    payload = json.loads(payload)
                except ValueError:
                    continue
            if isinstance(payload, Mapping) and isinstance(payload.get("key"), str):
                found[payload["key"]] = _plain(payload.get("value"))
    return found


def _plain(value):
    """NotebookNode (a dict subclass with attribute access) -> plain dicts/lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------
# JSON-safe values


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dict, list, str, int, float, bool, None).

    * ``None``, ``bool``, ``str``, ``int`` are kept; numpy scalars become Python scalars;
    * floats that are NaN or infinite, ``pd.NA``, ``NaT`` become ``None``;
    * ``datetime``/``date``/``time``/``pd.Timestamp``/``np.datetime64`` become ISO strings,
      timedeltas ISO 8601 durations (``P0DT1H30M0S``), ``pd.Period`` its label;
    * ``Decimal`` becomes ``float``; ``Enum`` its value; paths strings;
    * dicts (keys become strings; tuple keys are joined with `` / ``), lists, tuples,
      sets (sorted when possible), numpy arrays and pandas Index/arrays are converted
      element by element;
    * a ``DataFrame`` becomes a list of row dicts (a named or non-integer index is
      kept as leading column(s)); a ``Series`` a dict index -> value, or a list when
      its index is an unnamed integer index;
    * pydantic models and dataclasses become dicts.

    Anything else raises :class:`TypeError`.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    np, pd = _np_pd()
    if _is_missing(value, np, pd):
        return None
    if np is not None and isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if pd is not None and isinstance(value, (pd.Timedelta, dt.timedelta)):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if np is not None and isinstance(value, np.datetime64):
        return pd.Timestamp(value).isoformat()
    if np is not None and isinstance(value, np.timedelta64):
        return pd.Timedelta(value).isoformat()
    if np is not None and isinstance(value, np.generic):
        return to_jsonable(value.item())
    if pd is not None:
        if isinstance(value, pd.DataFrame):
            return _frame(value)
        if isinstance(value, pd.Series):
            if _meaningful_index(value.index):
                return {_key(k): to_jsonable(v) for k, v in value.items()}
            return [to_jsonable(v) for v in value.tolist()]
        if isinstance(value, (pd.Period, pd.Interval)):
            return str(value)
        if isinstance(value, (pd.Index, pd.api.extensions.ExtensionArray)):
            return [to_jsonable(v) for v in value]
    if np is not None and isinstance(value, np.ndarray):
        if value.dtype.kind in "mM":
            return [to_jsonable(v) for v in value]
        return to_jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [to_jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if hasattr(value, "model_dump") and callable(value.model_dump):  # pydantic
        return to_jsonable(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    raise TypeError(f"cannot record a value of type {type(value).__module__}.{type(value).__qualname__}; "
                    f"pass numbers, strings, dates, lists, dicts or pandas objects")


def _np_pd():
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    return np, pd


def _is_missing(value, np, pd) -> bool:
    if pd is None:
        return isinstance(value, float) and math.isnan(value)
    if not pd.api.types.is_scalar(value):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _meaningful_index(index) -> bool:
    """Keep an index unless it is an unnamed integer one (a plain row number)."""
    import pandas as pd

    if any(name is not None for name in index.names):
        return True
    return not (pd.api.types.is_integer_dtype(index.dtype) and index.nlevels == 1)


def _frame(df) -> list[dict]:
    if _meaningful_index(df.index):
        df = df.reset_index()
    cols = [_key(c) for c in df.columns]
    return [
        {c: to_jsonable(v) for c, v in zip(cols, row)}
        for row in df.itertuples(index=False, name=None)
    ]


def _key(k) -> str:
    """A dict key / column label as a JSON object key."""
    if isinstance(k, str):
        return k
    if isinstance(k, tuple):
        return " / ".join(_key(p) for p in k if not (isinstance(p, str) and p == ""))
    j = to_jsonable(k)
    return j if isinstance(j, str) else json.dumps(j, ensure_ascii=False)
