"""The dataset cache (salesaudit.data.cache): one load per run, read back identical, invalidated by a changed file."""
from __future__ import annotations

import doctest
import json
import shutil

import pandas as pd
import pytest
import yaml
from conftest import REPO

import salesaudit as sa
from salesaudit.analysis import quality
from salesaudit.data import cache
from salesaudit.data.cache import dataset_key, load_cached, save_dataset

pytestmark = pytest.mark.notebook  # two tests run real notebooks


def test_doctests(monkeypatch):
    monkeypatch.chdir(REPO)
    assert doctest.testmod(cache).failed == 0


def test_round_trip_is_identical(demo, tmp_path):
    folder = save_dataset(demo, tmp_path / "c")
    again = load_cached(demo.config, folder)
    assert again is not None
    for name, table in demo.tables.items():
        pd.testing.assert_frame_equal(table, again.tables[name], obj=name)
    pd.testing.assert_frame_equal(demo.quarantine, again.quarantine)
    pd.testing.assert_frame_equal(demo.stage_mapping, again.stage_mapping)
    assert demo.reports == again.reports and demo.problems == again.problems and demo.facts == again.facts
    assert demo.as_of == again.as_of
    a, b = quality.analyse(demo).examples_, quality.analyse(again).examples_
    assert list(a) == list(b)
    for k in a:
        pd.testing.assert_frame_equal(a[k].reset_index(drop=True), b[k].reset_index(drop=True))
    # the raw rows kept are exactly the quarantined ones
    assert sum(len(r) for r in again.raw.values()) == len(demo.quarantine)


def _copy_demo(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(REPO / "data_samples" / "demo_generic", data)
    cfg = yaml.safe_load((REPO / "params" / "clients" / "demo.yaml").read_text(encoding="utf-8"))
    cfg.update({"data": "data", "funnel": "demo_b2b"})
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path, data


def test_load_reads_the_cache_and_a_changed_file_is_a_miss(tmp_path):
    path, data = _copy_demo(tmp_path)
    ds = sa.load(path)
    folder = save_dataset(ds, tmp_path / "cache")
    # mark the stored deals: a load through the cache returns the mark, so it did not parse the export
    deals = pd.read_parquet(folder / "table.deals.parquet")
    deals.loc[0, "amount"] = 123456789.0
    deals.to_parquet(folder / "table.deals.parquet", index=False)
    cached = sa.load(path, cache=folder, period="2026-09", language="en")
    assert cached.tables["deals"].loc[0, "amount"] == 123456789.0
    assert (cached.config.period, cached.config.language) == ("2026-09", "en")  # the caller's own choices
    # the key ignores what only chooses the report...
    assert dataset_key(cached.config) == json.loads((folder / "meta.json").read_text(encoding="utf-8"))["key"]
    # ...but not the export: one changed byte and the cache is not used
    text = (data / "plans.csv").read_text(encoding="utf-8")
    (data / "plans.csv").write_text(text + "\n", encoding="utf-8")
    assert load_cached(sa.load_run_config(path), folder) is None
    fresh = sa.load(path, cache=folder)
    assert fresh.tables["deals"].loc[0, "amount"] != 123456789.0


def test_a_run_loads_once_and_hands_the_load_to_its_notebooks(tmp_path):
    from salesaudit.runs.runner import run

    path, _ = _copy_demo(tmp_path)
    res = run(path, out_dir=tmp_path / "out", notebooks=["07_rop_scorecard", "08_meeting"], progress=False, workers=2)
    assert res.ok, [n.error for n in res.notebooks]
    folder = tmp_path / "out" / ".dataset"
    assert (folder / "meta.json").is_file()
    for nb in res.notebooks:
        executed = json.loads(nb.ipynb.read_text(encoding="utf-8"))
        injected = next(c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
        assert f"dataset_cache = \"{folder}\"" in "".join(injected["source"])
    assert [n.stem for n in res.notebooks] == ["07_rop_scorecard", "08_meeting"]  # the report's order, whatever finished first


@pytest.mark.parametrize("workers", [1, 2])
def test_notebooks_side_by_side_give_the_same_records(tmp_path, workers):
    from salesaudit.runs.runner import run

    res = run(REPO / "params" / "clients" / "demo.yaml", out_dir=tmp_path / "out", notebooks=["07_rop_scorecard", "08_meeting"], progress=False, workers=workers)
    assert res.ok
    records = {n.stem: n.records for n in res.notebooks}
    assert records["07_rop_scorecard"] and records["08_meeting"]
    test_notebooks_side_by_side_give_the_same_records.seen = getattr(test_notebooks_side_by_side_give_the_same_records, "seen", {})
    test_notebooks_side_by_side_give_the_same_records.seen[workers] = records
    if len(test_notebooks_side_by_side_give_the_same_records.seen) == 2:
        assert test_notebooks_side_by_side_give_the_same_records.seen[1] == test_notebooks_side_by_side_give_the_same_records.seen[2]
