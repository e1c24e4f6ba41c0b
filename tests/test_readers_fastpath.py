"""The vectorised CSV path of ``read_raw`` (pyarrow) gives exactly the frame of the csv-module path, or steps aside;
``strings="arrow"`` (how the loader reads) gives the same values held by pyarrow."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesaudit.data import readers

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data_samples" / "demo_generic"

#: name -> (bytes, whether the fast path may take it)
EDGE = {
    "cp1251_semicolon.csv": ("ID;Сумма;Дата;Комментарий\r\n1;125 000,50;31.12.2025;Звонок\r\n2;\"1 234,5\";01.01.2026;\"Встреча; офис\"\r\n".encode("cp1251"), True),
    "bom.csv": (b"\xef\xbb\xbfid,x\n1,2\n3,4", True),
    "quoted_ok.csv": (b'id,name,x\n1,"a, b",2\n2,"he said ""hi""",3\n3,"",4\n', True),
    "blank_line.csv": (b"id,x\n1,2\n\n3,4\n", True),
    "one_column_blank.csv": (b"id\n1\n\n3\n\n", True),
    "utf16.csv": "id;x\n1;Привет\n".encode("utf-16"),
    "spaces_dup_header.csv": (b"ID, x ,ID,\n 1 , 2 ,3,\n", True),
    "header_only.csv": (b"id,x\n", True),
    "stray_quotes.csv": (b'id,name,x\n1,"a, b",2\n3,a"b,4\n4,"x"y,5\n', False),
    "ragged.csv": (b"id,x\n1,2,3\n4\n", False),
    "multiline.csv": (b'id,x\n1,"a\nb"\n2,c\n', False),
    "lone_cr.csv": (b"id,x\r1,2\r3,4\r", False),
    "nul.csv": (b"id,x\n1,\x002\n", False),
    "long_field.csv": (b"id,x\n1," + b"y" * 200_000 + b"\n", False),
    "quoted_header.csv": (b'"id","a, b"\n1,2\n', True),
    "bom_twice_crlf.csv": (b"\xef\xbb\xbf\xef\xbb\xbfid;x\r\n1;\xd0\x9f\r\n", True),
    "no_newline.csv": (b"id,x", False),
    "blank_first_line.csv": (b"\nid,x\n1,2\n", False),
    "cp1251_undeclared.csv": ("ID;Имя\n1;Пётр\n".encode("cp1251"), True),
}
EDGE["utf16.csv"] = (EDGE["utf16.csv"], True)


def _read_both(path: Path, monkeypatch):
    taken = []
    fast = readers._read_csv_fast

    def spy(*args, **kwargs):
        out = fast(*args, **kwargs)
        taken.append(out is not None)
        return out

    def attempt():
        try:
            return readers.read_raw(path)
        except Exception as exc:  # the same refusal, word for word, is part of "the same result"
            return type(exc).__name__, str(exc)

    monkeypatch.setattr(readers, "_read_csv_fast", spy)
    got = attempt()
    monkeypatch.setattr(readers, "_read_csv_fast", lambda *a, **k: None)
    want = attempt()
    return got, want, any(taken)


def _assert_same(got, want):
    if isinstance(want[0], pd.DataFrame):
        pd.testing.assert_frame_equal(got[0], want[0], check_exact=True)
        assert got[1] == want[1]
        for col in got[0].columns[:-3]:
            assert got[0][col].dtype == object
            assert all(type(x) is str for x in got[0][col])
    else:
        assert got == want


@pytest.mark.parametrize("name", sorted(p.name for p in DEMO.glob("*.csv")))
def test_demo_files_take_the_fast_path_and_match(name, monkeypatch):
    got, want, fast = _read_both(DEMO / name, monkeypatch)
    assert fast
    _assert_same(got, want)
    assert len(got[0]) == sum(1 for _ in (DEMO / name).open(encoding="utf-8")) - 1


@pytest.mark.parametrize("name", sorted(EDGE))
def test_edge_files_match_the_csv_module(name, tmp_path, monkeypatch):
    data, may_be_fast = EDGE[name]
    path = tmp_path / name
    path.write_bytes(data)
    got, want, fast = _read_both(path, monkeypatch)
    assert fast == may_be_fast
    _assert_same(got, want)


def test_cp1251_values_and_rows(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_bytes(EDGE["cp1251_semicolon.csv"][0])
    df, info = readers.read_raw(path)
    assert info == {"encoding": "cp1251", "sep": ";"}
    assert df["Сумма"].tolist() == ["125 000,50", "1 234,5"]
    assert df["Комментарий"].tolist() == ["Звонок", "Встреча; офис"]
    assert df[readers.ROW_COL].tolist() == [2, 3]
    assert df["_extra"].tolist() == [0, 0]


def _arrow_matches_object(path: Path, **kw) -> pd.DataFrame:
    """``read_raw(strings="arrow")`` against ``read_raw()``: the same info, columns, values and bookkeeping."""
    obj, info = readers.read_raw(path, **kw)
    arr, info_a = readers.read_raw(path, strings="arrow", **kw)
    assert info_a == info and list(arr.columns) == list(obj.columns)
    text = [c for c in obj.columns if not c.startswith("_")]
    for c in text:
        assert arr[c].dtype == pd.Series([""], dtype=object).astype(str).dtype, c
        assert arr[c].tolist() == obj[c].tolist(), c
    assert isinstance(arr[readers.FILE_COL].dtype, pd.CategoricalDtype) or not len(arr)
    assert arr[readers.FILE_COL].astype(str).tolist() == obj[readers.FILE_COL].tolist()
    pd.testing.assert_frame_equal(arr[[readers.ROW_COL, "_extra"]], obj[[readers.ROW_COL, "_extra"]])
    return arr


@pytest.mark.parametrize("name", sorted(p.name for p in DEMO.glob("*.csv")))
def test_demo_files_read_as_arrow_hold_the_same_values(name):
    arr = _arrow_matches_object(DEMO / name)
    assert len(arr) == sum(1 for _ in (DEMO / name).open(encoding="utf-8")) - 1


@pytest.mark.parametrize("name", sorted(n for n in EDGE if n not in ("nul.csv",)))
def test_edge_files_read_as_arrow_hold_the_same_values(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(EDGE[name][0])
    try:
        readers.read_raw(path)
    except Exception as exc:  # a refused file is refused the same way
        with pytest.raises(type(exc)) as again:
            readers.read_raw(path, strings="arrow")
        assert str(again.value) == str(exc)
        return
    _arrow_matches_object(path)


def test_utf8_files_are_not_decoded_whole_for_the_fast_path(tmp_path, monkeypatch):
    """A plain UTF-8 file: its header from the first line, its values by pyarrow; the whole text never decoded."""
    path = tmp_path / "d.csv"
    path.write_bytes(("id,name\n" + "".join(f"{i},Имя {i}\n" for i in range(1000))).encode("utf-8"))
    calls = []
    real = readers._decode
    monkeypatch.setattr(readers, "_decode", lambda *a, **k: calls.append(a) or real(*a, **k))
    df, info = readers.read_raw(path, strings="arrow")
    assert calls == [] and info == {"encoding": "utf-8", "sep": ","} and df["name"].iloc[-1] == "Имя 999"
    path.write_bytes("id,name\n1,Пётр\n".encode("cp1251"))  # not UTF-8: decoded as before
    df, info = readers.read_raw(path, strings="arrow")
    assert len(calls) == 1 and info == {"encoding": "cp1251", "sep": ","} and df["name"].tolist() == ["Пётр"]
