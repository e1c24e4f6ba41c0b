"""Sweeps of the simulation: same numbers on every executor, summaries checked by hand.

The executors compared are real: in-process ("serial"), the local process pool,
and a ``distributed.LocalCluster`` with two worker processes reached through
its scheduler address, as a remote cluster would be.
"""
from __future__ import annotations

import doctest
import math
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from salesaudit.errors import ParameterError
from salesaudit.sim import sweep
from salesaudit.sim.queue import simulate_mmc
from salesaudit.sim.sweep import ScenarioError, grid, mmc_scenario, probability, run_sweep, summarise
from salesaudit.stats import wilson

SCENARIOS = grid(c=[2, 3], lam=1.5, mu=1.0, horizon=100.0, warmup=10.0, sla_t=[0.0, 0.5])
REPS = 5


def fails_on_c3(scenario: dict, seed) -> dict:
    """A scenario function that breaks for one scenario (module-level, so the pool can run it)."""
    if scenario["c"] == 3:
        raise ValueError("no room for a third manager")
    return {"x": float(np.random.default_rng(seed).random())}


def not_a_dict(scenario: dict, seed):
    return 1.0


@pytest.fixture(scope="module")
def serial():
    return run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, executor="serial", progress=False)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40) as c:
        yield c


def test_doctests():
    result = doctest.testmod(sweep)
    assert result.failed == 0 and result.attempted > 0


def test_grid_order_and_constants():
    assert grid(managers=[8, 10], limit=[20, 30]) == [
        {"managers": 8, "limit": 20},
        {"managers": 8, "limit": 30},
        {"managers": 10, "limit": 20},
        {"managers": 10, "limit": 30},
    ]
    g = grid(routing="round_robin", managers=range(2), sla=np.array([1.0, 2.0]))
    assert g == [
        {"routing": "round_robin", "managers": 0, "sla": 1.0},
        {"routing": "round_robin", "managers": 0, "sla": 2.0},
        {"routing": "round_robin", "managers": 1, "sla": 1.0},
        {"routing": "round_robin", "managers": 1, "sla": 2.0},
    ]
    assert type(g[0]["sla"]) is float  # numpy scalars become Python numbers
    assert grid() == [{}]
    with pytest.raises(ValueError, match="empty"):
        grid(managers=[])


def test_result_layout_and_seeds(serial):
    assert list(serial.columns[:2]) == ["scenario", "replication"]
    assert list(serial.columns[2:7]) == ["c", "lam", "mu", "horizon", "warmup"]
    assert "sla_t" in serial.columns and {"p_wait", "asa", "n"} <= set(serial.columns)
    assert len(serial) == len(SCENARIOS) * REPS
    assert serial[["scenario", "replication"]].values.tolist() == [[i, r] for i in range(len(SCENARIOS)) for r in range(REPS)]
    assert serial.attrs["scenario_keys"] == ["c", "lam", "mu", "horizon", "warmup", "sla_t"]
    assert "p_wait" in serial.attrs["metrics"] and "c" not in serial.attrs["metrics"]
    # replication r of scenario i is simulate_mmc with SeedSequence(seed, spawn_key=(i, r))
    for i, r in [(0, 0), (3, 4), (2, 1)]:
        direct = simulate_mmc(**SCENARIOS[i], seed=np.random.SeedSequence(11, spawn_key=(i, r)))
        row = serial[(serial.scenario == i) & (serial.replication == r)].iloc[0]
        assert {k: row[k] for k in direct} == direct


def test_serial_is_deterministic_and_chunk_free(serial):
    again = run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, executor="serial", progress=False, chunk=2)
    pd.testing.assert_frame_equal(serial, again)
    other = run_sweep(mmc_scenario, SCENARIOS, REPS, seed=12, executor="serial", progress=False)
    assert not other["asa"].equals(serial["asa"])


def test_process_pool_gives_the_serial_numbers(serial):
    pool = run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, workers=2, progress=False)
    pd.testing.assert_frame_equal(serial, pool)
    one_per_task = run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, executor="processes", workers=2, chunk=1, progress=False)
    pd.testing.assert_frame_equal(serial, one_per_task)
    # a scenario DataFrame is the same as the list of dicts
    as_frame = run_sweep(mmc_scenario, pd.DataFrame(SCENARIOS), REPS, seed=11, workers=2, progress=False)
    pd.testing.assert_frame_equal(serial, as_frame)


def test_a_kernels_share_of_the_cores_gives_the_serial_numbers(serial, monkeypatch):
    """`salesaudit run` with notebooks side by side sets SALESAUDIT_WORKERS; one worker runs in-process."""
    monkeypatch.setenv("SALESAUDIT_WORKERS", "1")
    pd.testing.assert_frame_equal(serial, run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, progress=False))
    monkeypatch.setenv("SALESAUDIT_WORKERS", "2")
    pd.testing.assert_frame_equal(serial, run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, progress=False))


def test_local_cluster_gives_the_serial_numbers(serial, cluster):
    address = cluster.scheduler_address
    assert isinstance(address, str) and address.startswith("tcp://")
    on_cluster = run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, executor=address, progress=False)
    pd.testing.assert_frame_equal(serial, on_cluster)
    again = run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, executor="dask://" + address.removeprefix("tcp://"), chunk=1, progress=False)
    pd.testing.assert_frame_equal(serial, again)


def test_given_dask_client_is_left_open(serial, cluster):
    import distributed

    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        res = run_sweep(mmc_scenario, SCENARIOS, REPS, seed=11, executor=client, progress=False)
        assert client.status == "running"
        pd.testing.assert_frame_equal(serial, res)
        # an error on a worker names the scenario and does not hang
        with pytest.raises(ScenarioError, match=r"scenario 1 \(c=0.*ValueError: need lam > 0, mu > 0, c >= 1"):
            run_sweep(mmc_scenario, [SCENARIOS[0], {**SCENARIOS[0], "c": 0}], 3, executor=client, progress=False)
        assert client.status == "running"


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_errors_name_the_scenario(executor):
    with pytest.raises(ScenarioError, match=r"scenario 2 \(c=3, lam=1.5.*replication [0-9-]+ failed: ValueError: no room for a third manager") as info:
        run_sweep(fails_on_c3, SCENARIOS, REPS, executor=executor, workers=2, progress=False)
    if executor == "processes":
        assert "Traceback in the worker" in str(info.value) and "fails_on_c3" in str(info.value)
    else:
        assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(ScenarioError, match="returned a float, expected a dict"):
        run_sweep(not_a_dict, SCENARIOS[:1], 2, executor=executor, workers=2, progress=False)


def test_unpicklable_function_or_scenario_is_reported_before_the_pool_starts():
    # checked in this process: a pickling error inside ProcessPoolExecutor can hang its shutdown
    with pytest.raises(ScenarioError, match="cannot send the scenario function to the process pool.*must be a module-level function"):
        run_sweep(lambda s, seed: {"x": 1.0}, SCENARIOS[:1], 2, workers=2, progress=False)
    with pytest.raises(ScenarioError, match=r"cannot send scenario 1 \(c=.*\) to the process pool"):
        run_sweep(mmc_scenario, [SCENARIOS[0], {**SCENARIOS[0], "c": (lambda: 2)}], 2, workers=2, progress=False)
    # the same function runs in process
    assert run_sweep(lambda s, seed: {"x": 1.0}, SCENARIOS[:1], 2, executor="serial", progress=False)["x"].tolist() == [1.0, 1.0]


def test_bad_arguments(monkeypatch):
    with pytest.raises(ParameterError, match="not an executor"):
        run_sweep(mmc_scenario, SCENARIOS, 2, executor="threads", progress=False)
    with pytest.raises(ValueError, match="replication"):
        run_sweep(mmc_scenario, SCENARIOS, 0, executor="serial", progress=False)
    with pytest.raises(ValueError, match="reserved"):
        run_sweep(mmc_scenario, [{"scenario": 1}], 2, executor="serial", progress=False)
    with pytest.raises(ScenarioError, match="clash"):
        run_sweep(fails_on_c3, [{"c": 2, "x": 0}], 1, executor="serial", progress=False)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    with pytest.raises(ParameterError, match=r"pip install 'salesaudit\[cluster\]'"):
        run_sweep(mmc_scenario, SCENARIOS, 2, executor="tcp://127.0.0.1:8786", progress=False)


def test_progress_bar(capsys):
    run_sweep(mmc_scenario, SCENARIOS, REPS, executor="serial", progress=True, desc="staffing", chunk=5)
    cap = capsys.readouterr()
    err = cap.err
    assert "staffing" in err and f"{len(SCENARIOS) * REPS}/{len(SCENARIOS) * REPS}" in err and f"{len(SCENARIOS)}/{len(SCENARIOS)} staffing" in err
    assert cap.out == ""  # text on stderr only: never a widget, nothing a saved notebook or report keeps
    # progress=None: a bar only when stderr is a terminal (pytest's capture is not; nor is a notebook kernel's)
    run_sweep(mmc_scenario, SCENARIOS, REPS, executor="serial", progress=None, desc="quiet", chunk=5)
    assert capsys.readouterr().err == ""


def test_common_seeds_give_every_scenario_the_same_draws(serial):
    """With common random numbers replication r of every scenario has the seed of scenario 0's."""
    same = run_sweep(mmc_scenario, [dict(SCENARIOS[0]), dict(SCENARIOS[0])], REPS, seed=11, executor="serial", progress=False, common_seeds=True)
    a, b = same[same.scenario == 0].drop(columns="scenario").reset_index(drop=True), same[same.scenario == 1].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    first = serial[serial.scenario == 0].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, first)  # scenario 0 keeps its own seeds
    apart = run_sweep(mmc_scenario, [dict(SCENARIOS[0]), dict(SCENARIOS[0])], REPS, seed=11, executor="serial", progress=False)
    assert not apart[apart.scenario == 0]["asa"].reset_index(drop=True).equals(apart[apart.scenario == 1]["asa"].reset_index(drop=True))


def tiny_frame() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "scenario": [0, 0, 0, 0, 1, 1, 1, 2],
            "replication": [0, 1, 2, 3, 0, 1, 2, 0],
            "managers": [8, 8, 8, 8, 10, 10, 10, 12],
            "sl": [0.5, 0.7, 0.9, 1.0, 0.8, np.nan, 0.6, 0.9],
            "wait": [1.0, 2.0, 4.0, 8.0, 0.5, 0.5, 0.5, 3.0],
        }
    )
    df.attrs.update({"scenario_keys": ["managers"], "metrics": ["sl", "wait"]})
    return df


def test_summarise_by_hand():
    s = summarise(tiny_frame(), level=0.9)
    assert s["scenario"].tolist() == [0, 1, 2]
    assert s["managers"].tolist() == [8, 10, 12]
    assert s["replications"].tolist() == [4, 3, 1]
    # scenario 0, wait = 1, 2, 4, 8: mean 3.75, sd = sqrt(((2.75)^2 + 1.75^2 + 0.25^2 + 4.25^2) / 3)
    sd = math.sqrt((2.75**2 + 1.75**2 + 0.25**2 + 4.25**2) / 3)
    half = sps.t.ppf(0.95, 3) * sd / 2
    row = s.iloc[0]
    assert row["wait_mean"] == 3.75
    assert row["wait_lo"] == pytest.approx(3.75 - half) and row["wait_hi"] == pytest.approx(3.75 + half)
    lo, hi = sps.t.interval(0.9, 3, loc=3.75, scale=sps.sem([1.0, 2.0, 4.0, 8.0]))
    assert (row["wait_lo"], row["wait_hi"]) == pytest.approx((lo, hi))
    # linear quantiles: position 0.05 * 3 = 0.15 -> 1 + 0.15 * 1; median 3; 0.95 * 3 = 2.85 -> 4 + 0.85 * 4
    assert (row["wait_q05"], row["wait_q50"], row["wait_q95"]) == pytest.approx((1.15, 3.0, 7.4))
    # scenario 1: a NaN is left out (sl = 0.8, 0.6); a constant metric has a zero-width interval
    row = s.iloc[1]
    assert row["sl_mean"] == pytest.approx(0.7)
    assert (row["sl_lo"], row["sl_hi"]) == pytest.approx(sps.t.interval(0.9, 1, loc=0.7, scale=sps.sem([0.8, 0.6])))
    assert (row["wait_lo"], row["wait_mean"], row["wait_hi"]) == (0.5, 0.5, 0.5)
    # scenario 2: one replication, no interval
    row = s.iloc[2]
    assert row["wait_mean"] == 3.0 and math.isnan(row["wait_lo"]) and math.isnan(row["wait_hi"]) and row["wait_q95"] == 3.0
    # explicit metrics and other groupings
    assert [c for c in summarise(tiny_frame(), ["sl"]).columns if c.startswith("wait")] == []
    by_manager = summarise(tiny_frame(), ["wait"], by="managers")
    assert by_manager["managers"].tolist() == [8, 10, 12] and by_manager["wait_mean"].tolist() == [3.75, 0.5, 3.0]


def test_summarise_real_sweep_against_confidence_interval(serial):
    from salesaudit.sim.queue import confidence_interval

    s = summarise(serial)
    for i in range(len(SCENARIOS)):
        m, lo, hi = confidence_interval(serial.loc[serial.scenario == i, "asa"])
        assert (s.loc[i, "asa_mean"], s.loc[i, "asa_lo"], s.loc[i, "asa_hi"]) == pytest.approx((m, lo, hi))
        assert s.loc[i, "asa_q50"] == pytest.approx(np.percentile(serial.loc[serial.scenario == i, "asa"], 50))
    assert "c_mean" not in s.columns and "replication_mean" not in s.columns


def test_probability_with_wilson():
    p = probability(tiny_frame(), "sl >= 0.8")
    # scenario 0: 0.9, 1.0 of 4; scenario 1: 0.8 of 3 (NaN does not meet it); scenario 2: 1 of 1
    assert p["k"].tolist() == [2, 1, 1] and p["n"].tolist() == [4, 3, 1]
    assert p["p"].tolist() == pytest.approx([0.5, 1 / 3, 1.0])
    lo, hi = wilson(np.array([2, 1, 1]), np.array([4, 3, 1]), alpha=0.05)
    assert p["lo"].tolist() == pytest.approx(list(lo)) and p["hi"].tolist() == pytest.approx(list(hi))
    assert p["managers"].tolist() == [8, 10, 12]
    q = probability(tiny_frame(), lambda d: d.wait < 3, level=0.8)
    lo, hi = wilson(2, 4, alpha=0.2)
    assert q.loc[0, "k"] == 2 and (q.loc[0, "lo"], q.loc[0, "hi"]) == pytest.approx((lo, hi))
