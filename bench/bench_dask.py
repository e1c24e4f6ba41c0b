"""Benchmark: notebook 06's simulation on a Dask cluster of 2 workers against 1.

    .venv/bin/python bench/bench_dask.py [--config params/clients/demo.yaml] [--replications N]

Runs what notebook 06 runs, ``salesaudit.sim.capacity.analyse`` with the run config's
``analysis.capacity`` settings (calibration, the backtest and the what-if sweeps), three times:
on a ``distributed.LocalCluster`` of one worker process, on one of two (one thread each), and
serially in this process. The clusters are started before the clock and closed after it, as a
standing cluster would be. Prints the seconds, the speed-up of 2 workers over 1 and checks that
the three give the same tables (a replication's seed depends on its scenario and number only).

Only the sweeps are spread; calibration runs in the caller, so the speed-up of the whole
analysis is below the number of workers. This is a benchmark, not a test: nothing here asserts
a speed. It needs the ``distributed`` package (the ``cluster`` or ``dev`` extra).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TABLES = ("baseline_", "headcount_", "limit_", "volume_", "sla_", "head_")


def timed(ds, settings, executor) -> tuple[float, object]:
    from salesaudit.sim import capacity

    run = dataclasses.replace(ds, config=ds.config.model_copy(update={"executor": executor}))
    t0 = time.perf_counter()
    result = capacity.analyse(run, settings, progress=False)
    return time.perf_counter() - t0, result


def same(a, b) -> bool:
    for name in TABLES:
        x, y = getattr(a, name), getattr(b, name)
        if (x is None) != (y is None):
            return False
        if x is not None:
            try:
                pd.testing.assert_frame_equal(x, y)
            except AssertionError:
                return False
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "params" / "clients" / "demo.yaml")
    ap.add_argument("--replications", type=int, help="replications per scenario (default: the run config's)")
    args = ap.parse_args(argv)
    try:
        import distributed
    except ImportError:
        print("distributed is not installed (pip install -e '.[cluster]'): nothing to measure")
        return 0
    import salesaudit

    ds = salesaudit.load(args.config)
    settings = ds.config.analysis.settings("capacity", replications=args.replications)
    print(f"notebook 06 on {args.config.name}: {settings.replications} replications per scenario, horizon {settings.horizon_days} days, "
          f"{os.cpu_count()} cores")
    rows = {}
    for workers in (1, 2):
        # silence_logs=50: a worker's last heartbeat racing the scheduler's shutdown logs an error and a traceback at
        # exit, after the timing; a failed replication still raises in timed()
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=50) as cluster, distributed.Client(cluster) as client:
            client.wait_for_workers(workers)
            rows[f"LocalCluster, {workers} worker{'s' if workers > 1 else ''}"] = timed(ds, settings, cluster.scheduler_address)
    rows["serial, this process"] = timed(ds, settings, "serial")
    print(f"\n{'executor':34}{'seconds':>10}")
    for label, (seconds, _) in rows.items():
        print(f"{label:34}{seconds:>10.1f}")
    (t1, r1), (t2, r2), (_, rs) = rows.values()
    print(f"\nspeed-up, 2 workers over 1: {t1 / t2:.2f}x; same tables on every executor: {same(r1, r2) and same(r1, rs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
