"""salesaudit.runs.record: JSON-safe values, reading records back, nothing visible in HTML."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import warnings

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from salesaudit.runs.record import MIME, read_records, record, to_jsonable


def _record_output(key, value):
    return new_output("display_data", data={MIME: {"key": key, "value": to_jsonable(value)}})


def _notebook(*outputs_per_cell):
    cells = []
    for i, outputs in enumerate(outputs_per_cell):
        cell = new_code_cell(f"# cell {i}", outputs=list(outputs), execution_count=i + 1)
        cell.id = f"c{i}"
        cells.append(cell)
    return new_notebook(cells=cells)


# ---------------------------------------------------------------------------
# to_jsonable


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (True, True),
        ("text", "text"),
        (7, 7),
        (2.5, 2.5),
        (np.int64(3), 3),
        (np.float32(0.5), 0.5),
        (np.bool_(False), False),
        (float("nan"), None),
        (float("inf"), None),
        (np.float64("nan"), None),
        (pd.NA, None),
        (pd.NaT, None),
        (np.datetime64("NaT"), None),
        (decimal.Decimal("1.25"), 1.25),
        (pd.Timestamp("2026-10-01 09:30"), "2026-10-01T09:30:00"),
        (dt.date(2026, 10, 1), "2026-10-01"),
        (dt.datetime(2026, 10, 1, 8, 0), "2026-10-01T08:00:00"),
        (np.datetime64("2026-10-01T00:00"), "2026-10-01T00:00:00"),
        (dt.timedelta(hours=1, minutes=30), "P0DT1H30M0S"),
        (pd.Period("2026-10", "M"), "2026-10"),
        ((1, np.int64(2)), [1, 2]),
        ({3, 1, 2}, [1, 2, 3]),
        (np.array([1.5, np.nan]), [1.5, None]),
    ],
)
def test_to_jsonable_scalars(value, expected):
    got = to_jsonable(value)
    assert got == expected
    assert type(got) is type(expected)
    json.dumps(got, allow_nan=False)


def test_to_jsonable_nested_dicts_and_keys():
    value = {"a": {"b": [np.int64(1), float("nan")]}, 5: pd.Timestamp("2026-01-02"), ("x", "y"): 1}
    got = to_jsonable(value)
    assert got == {"a": {"b": [1, None]}, "5": "2026-01-02T00:00:00", "x / y": 1}
    json.dumps(got, allow_nan=False)


def test_to_jsonable_dataframe_is_list_of_records():
    df = pd.DataFrame({
        "manager": ["Ann", "Bob"],
        "won": [np.int64(3), np.int64(0)],
        "share": [0.25, np.nan],
        "last": pd.to_datetime(["2026-10-01", None]),
    })
    assert to_jsonable(df) == [
        {"manager": "Ann", "won": 3, "share": 0.25, "last": "2026-10-01T00:00:00"},
        {"manager": "Bob", "won": 0, "share": None, "last": None},
    ]
    # a filtered frame keeps its rows, not its row numbers
    assert to_jsonable(df[df["manager"] == "Bob"]) == [{"manager": "Bob", "won": 0, "share": None, "last": None}]
    # a named index is kept as a column
    assert to_jsonable(df.set_index("manager")[["won"]]) == [{"manager": "Ann", "won": 3}, {"manager": "Bob", "won": 0}]


def test_to_jsonable_series():
    s = pd.Series({"Ann": 3, "Bob": 0}, name="won")
    assert to_jsonable(s) == {"Ann": 3, "Bob": 0}
    assert to_jsonable(pd.Series([1.0, np.nan])) == [1.0, None]


def test_to_jsonable_rejects_unknown_objects():
    with pytest.raises(TypeError, match="cannot record"):
        to_jsonable(object())


# ---------------------------------------------------------------------------
# record outside IPython, read_records


def test_record_outside_ipython_returns_safe_value():
    assert record("share", np.float64(0.5)) == 0.5
    assert record("missing", np.nan) is None


@pytest.mark.parametrize("key", ["", "  ", "_status", 3])
def test_record_rejects_bad_keys(key):
    with pytest.raises(ValueError):
        record(key, 1)


def test_read_records_later_keys_overwrite(tmp_path):
    nb = _notebook(
        [_record_output("answer", 1), new_output("stream", name="stdout", text="hello\n")],
        [],
        [_record_output("answer", 42), _record_output("table", pd.DataFrame({"a": [1]}))],
    )
    expected = {"answer": 42, "table": [{"a": 1}]}
    assert read_records(nb) == expected
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert read_records(path) == expected
    assert read_records(str(path)) == expected
    assert type(read_records(path)["table"][0]) is dict


def test_read_records_of_notebook_without_records():
    assert read_records(_notebook([new_output("stream", name="stdout", text="x\n")])) == {}


def test_plain_nbconvert_html_does_not_show_records():
    from nbconvert import HTMLExporter

    nb = _notebook([_record_output("secret_measure", "VALUE-THAT-MUST-NOT-SHOW")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbconvert warns that it has no renderer for the MIME type
        body, _ = HTMLExporter(exclude_input=True).from_notebook_node(nb)
    assert "VALUE-THAT-MUST-NOT-SHOW" not in body
    assert "secret_measure" not in body
