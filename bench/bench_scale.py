"""Benchmark: a large client end to end, beside a vectorised engine, in one run.

    .venv/bin/python bench/bench_scale.py [--deals 100000] [--big-deals 1000000] [--repeat 3] [--skip load,analyses,run] [--keep DIR]

Two generated departments (``salesaudit.synth``, the vectorised engine, the demo's planted
anomalies, seed ``--seed``), both ending on 2026-10-31 (the audit moment 23:59:59):

* **100,000 deals**: 100 sellers from 2024-01-01, the lead volume per seller scaled to reach the
  deal count (``synth.lead_scale_for``), written as a generic export with its run config
  (``synth.write_config``: deal-load limits scaled with the volume);
* **1,000,000 deals**: 500 sellers over five years (2021-11-01 to 2026-10-31), likewise.

What is timed, each engine in a child process of its own so that its peak RSS is its own:

1. **load** of each department's export: ``salesaudit.load(run.yaml)`` (parsing, types, Russian
   dates, quarantine, checks) beside DuckDB's ``read_csv(...).df()`` of the same files into
   pandas, twice (types sniffed from every row, ``sample_size=-1``, since the planted bad rows
   past the default sample fail the read otherwise; and every column as text, ``all_varchar``,
   the least work DuckDB can do), and ``pandas.read_csv(engine="pyarrow")``. Printed: seconds,
   peak RSS (``VmHWM``), the RSS the read added, the in-memory size of the frames returned
   (``memory_usage(deep=True)``), the ratios salesaudit / DuckDB (time; the target is judged
   against the faster DuckDB read) and added RSS / accepted tables (memory).
2. **funnel and stalls** on the 1 M department's deals and stage history (the generator's
   canonical tables), exactly as ``bench/bench_funnel_stalls.py`` times them: salesaudit's
   ``funnel`` + ``stalls`` calls beside that script's DuckDB SQL of the same counts (the
   generator's second lost terminal, ``cancelled``, is passed to the SQL as ``lost``: the SQL knows
   one). The engines must agree on the step counts, stays, open stays and skips. Each engine runs
   ``--repeat`` times (fresh processes, alternating) and its fastest run is compared, as
   ``bench_funnel_stalls.py --repeat`` does: on a shared virtual machine a run's time varies by a
   fifth with the kernel's work on fresh memory; the slowest run is printed beside it.
3. **a full run**: ``salesaudit run`` of every notebook on the 100 k department, timed from the
   command's start to its end, with the peak of the summed RSS of the command and every process it
   starts (workers and kernels), sampled every 0.2 s; the time of each notebook comes from
   papermill's record in the executed notebook.

Targets (issue #16; printed beside the figures, never asserted): load <= 3x DuckDB; funnel +
stalls at 1 M deals <= 2x DuckDB; the full run at 100 k deals <= 10 min and <= 4 GB.

DuckDB comes from the ``bench`` extra (``pip install -e '.[bench]'``); without it, its columns are
skipped with a message. This is a measurement, not a test: nothing here asserts a speed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

# peak RSS from /proc's VmHWM, not getrusage: Linux keeps ru_maxrss across exec, so a child would
# report the parent's size at the fork (the generated department) when that is larger than its own
from bench_funnel_stalls import rss_mb  # noqa: E402

FILES = ["managers.csv", "deals.csv", "leads.csv", "stage_history.csv", "activities.csv", "payments.csv", "plans.csv"]
ENGINES = ("salesaudit", "duckdb", "duckdb_text", "pyarrow")
END = "2026-10-31"
DEPARTMENTS = {  # deals -> (sellers, first day)
    "small": (100, "2024-01-01"),
    "big": (500, "2021-11-01"),
}
TARGETS = {"load": 3.0, "funnel_stalls": 2.0, "run_minutes": 10.0, "run_gb": 4.0}


# --------------------------------------------------------------------------- the departments
def build(folder: Path, deals: int, managers: int, start: str, seed: int, tables_to: Path | None = None) -> dict:
    """Generate a department of about ``deals`` deals into ``folder`` (export + run.yaml)."""
    from salesaudit import synth

    t0 = time.perf_counter()
    scale = synth.lead_scale_for(deals, managers, start, END)
    dept = synth.generate(seed, start, END, managers, lead_scale=scale)
    generated = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    t1 = time.perf_counter()
    synth.write_generic(dept, folder)
    config = synth.write_config(dept, folder)
    written = time.perf_counter() - t1
    if tables_to is not None:  # the canonical deals and history, for the funnel-and-stalls engines
        tables_to.mkdir(parents=True, exist_ok=True)
        dept.tables["deals"].to_parquet(tables_to / "deals.parquet")
        dept.tables["stage_history"].to_parquet(tables_to / "history.parquet")
    files = {name: {"rows": _rows(folder / name), "bytes": (folder / name).stat().st_size} for name in FILES if (folder / name).exists()}
    return {"deals": int(len(dept.tables["deals"])), "managers": managers, "start": start, "end": END, "lead_scale": scale,
            "generate_s": generated, "write_s": written, "config": str(config), "files": files}


def _rows(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b"")) - 1


# --------------------------------------------------------------------------- children
def _frames_mb(frames) -> float:
    return sum(float(f.memory_usage(deep=True).sum()) for f in frames) / 2**20


def child_load(engine: str, folder: Path) -> dict:
    import pandas as pd

    paths = [folder / name for name in FILES]
    if engine == "salesaudit":
        import pyarrow.csv  # noqa: F401  (imported before the clock, as the other engines' modules are)

        import salesaudit
        import salesaudit.data.loader  # noqa: F401

        base = rss_mb("VmRSS")
        t0 = time.perf_counter()
        ds = salesaudit.load(folder / "run.yaml")
        seconds = time.perf_counter() - t0
        frames = list(ds.tables.values())
        extra = {"accepted_rows": int(sum(len(f) for f in frames)), "quarantined_rows": int(len(ds.quarantine)),
                 "fatal_problems": int(sum(p.fatal for p in ds.problems))}
    elif engine in ("duckdb", "duckdb_text"):
        import duckdb

        con = duckdb.connect()
        base = rss_mb("VmRSS")
        t0 = time.perf_counter()
        # duckdb: types sniffed from every row (the planted bad rows, a date such as 32.13.2025,
        # make a column text, as they must, instead of failing the read past the default sample);
        # duckdb_text: every column read as text, no types at all (the least work DuckDB can do)
        options = {"sample_size": -1} if engine == "duckdb" else {"all_varchar": True}
        frames = [con.read_csv(str(p), **options).df() for p in paths]
        seconds = time.perf_counter() - t0
        extra = {"rows": int(sum(len(f) for f in frames))}
    else:
        import pyarrow.csv  # noqa: F401

        base = rss_mb("VmRSS")
        t0 = time.perf_counter()
        frames = [pd.read_csv(p, engine="pyarrow") for p in paths]
        seconds = time.perf_counter() - t0
        extra = {"rows": int(sum(len(f) for f in frames))}
    peak = rss_mb("VmHWM")
    return {"engine": engine, "seconds": seconds, "rss_base_mb": base, "rss_peak_mb": peak, "frames_mb": _frames_mb(frames), **extra}


def child_funnel_stalls(engine: str, folder: Path) -> dict:
    import bench_funnel_stalls as fs
    import pandas as pd

    deals, history = pd.read_parquet(folder / "deals.parquet"), pd.read_parquet(folder / "history.parquet")
    if engine == "duckdb":  # the SQL knows one lost terminal
        for df, col in ((deals, "stage"), (history, "stage")):
            df[col] = df[col].astype(object).where(df[col].astype(object) != "cancelled", "lost")
    return fs.measure(engine, deals, history)


def run_child(kind: str, engine: str, folder: Path) -> dict | None:
    if engine.startswith("duckdb") and subprocess.run([sys.executable, "-c", "import duckdb"], capture_output=True).returncode:
        print("duckdb is not installed (pip install -e '.[bench]'): its column is skipped")
        return None
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--engine", engine, "--dir", str(folder)], capture_output=True, text=True)
    if proc.returncode:
        print(f"{kind} / {engine} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the full run
def full_run(config: Path, out: Path) -> dict:
    """``salesaudit run`` of every notebook: wall time, peak summed RSS of the process tree, per-notebook seconds."""
    import psutil

    cmd = [str(Path(sys.executable).with_name("salesaudit")), "run", "--config", str(config), "--out", str(out)]
    if not Path(cmd[0]).exists():
        cmd = [sys.executable, "-m", "salesaudit.runs.cli", "run", "--config", str(config), "--out", str(out)]
    peak = {"bytes": 0}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample():
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root] + root.children(recursive=True)
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak["bytes"] = max(peak["bytes"], total)
            except psutil.Error:
                pass
            done.wait(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - t0
    done.set()
    thread.join()
    notebooks = {}
    for nb in sorted(out.glob("[0-9][0-9]_*.ipynb")):
        meta = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {}).get("papermill", {})
        notebooks[nb.stem] = {"seconds": meta.get("duration"), "ok": meta.get("exception") in (None, False)}
    return {"seconds": seconds, "peak_gb": peak["bytes"] / 2**30, "returncode": proc.returncode, "notebooks": notebooks,
            "stderr": stderr[-2000:] if proc.returncode else ""}


# --------------------------------------------------------------------------- report
def _gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB"


def report_department(label: str, d: dict) -> None:
    rows = sum(f["rows"] for f in d["files"].values())
    mb = sum(f["bytes"] for f in d["files"].values()) / 1e6
    print(f"\n{label}: {d['deals']:,} deals, {d['managers']} sellers, {d['start']} to {d['end']} (lead scale {d['lead_scale']:.2f}); "
          f"generated in {d['generate_s']:.1f} s, export written in {d['write_s']:.1f} s: {rows:,} rows, {mb:.0f} MB")
    print("  " + ", ".join(f"{name.removesuffix('.csv')} {f['rows']:,}" for name, f in d["files"].items()))


def report_load(label: str, results: dict) -> float | None:
    cols = [e for e in ENGINES if results.get(e)]
    if not cols:
        return None
    header = {"salesaudit": "salesaudit", "duckdb": "duckdb", "duckdb_text": "duckdb text", "pyarrow": "pd+pyarrow"}
    print(f"\nload, {label}{'':10}" + "".join(f"{header[e]:>14}" for e in cols))
    for name, key, fmt in (("read, s", "seconds", "{:>14.2f}"), ("peak RSS, MB", "rss_peak_mb", "{:>14.0f}"),
                           ("RSS before the clock, MB", "rss_base_mb", "{:>14.0f}"), ("frames in memory, MB", "frames_mb", "{:>14.0f}")):
        print(f"{name:30}" + "".join(fmt.format(results[e][key]) for e in cols))
    print(f"{'RSS added by the read, MB':30}" + "".join(f"{results[e]['rss_peak_mb'] - results[e]['rss_base_mb']:>14.0f}" for e in cols))
    a = results.get("salesaudit")
    ratio = None
    if a:
        added = a["rss_peak_mb"] - a["rss_base_mb"]
        print(f"salesaudit: {a['accepted_rows']:,} rows accepted, {a['quarantined_rows']:,} quarantined, {a['fatal_problems']} fatal problems; "
              f"RSS added / accepted tables in memory: {added / a['frames_mb']:.2f}x (peak RSS with the imports: {a['rss_peak_mb'] / a['frames_mb']:.2f}x)")
        ratios = {e: a["seconds"] / results[e]["seconds"] for e in ("duckdb", "duckdb_text") if results.get(e)}
        for e, r in ratios.items():
            print(f"ratio salesaudit / {header[e]}: {r:.2f}x time")
        if ratios:  # judged against the faster DuckDB read
            ratio = max(ratios.values())
            print(f"target: <= {TARGETS['load']:.0f}x the faster DuckDB read: {ratio:.2f}x")
    return ratio


def report_funnel_stalls(results: dict) -> float | None:
    a, b = results.get("salesaudit"), results.get("duckdb")
    if not a:
        return None
    print(f"\nfunnel + stalls, {a['deals']:,} deals and {a['history_rows']:,} stage-history rows, {os.cpu_count()} cores")
    print(f"{'':28}{'salesaudit':>14}" + (f"{'duckdb SQL':>14}" if b else ""))
    print(f"{'computation, s (fastest)':28}{a['seconds']:>14.2f}" + (f"{b['seconds']:>14.2f}" if b else "") + f"   of {a['runs']} runs each")
    print(f"{'slowest run, s':28}{a['slowest']:>14.2f}" + (f"{b['slowest']:>14.2f}" if b else ""))
    print(f"{'CPU over it, s':28}{a['cpu_seconds']:>14.2f}" + (f"{b['cpu_seconds']:>14.2f}" if b else ""))
    for part, secs in a["parts"].items():
        print(f"{'  of which ' + part + ', s':28}{secs:>14.2f}")
    print(f"{'peak RSS, MB':28}{a['rss_peak_mb']:>14.0f}" + (f"{b['rss_peak_mb']:>14.0f}" if b else ""))
    if not b:
        return None
    ratio = a["seconds"] / b["seconds"]
    same = a["check"] == b["check"]
    print(f"CPU time, salesaudit / duckdb: {a['cpu_seconds'] / b['cpu_seconds']:.2f}x (DuckDB spreads its SQL over every core, salesaudit "
          "the stall analysis's stages over two threads)")
    print(f"ratio salesaudit / duckdb: {ratio:.2f}x (target <= {TARGETS['funnel_stalls']:.0f}x); the engines agree on steps, stays, open stays "
          f"and skips: {same}" + ("" if same else f"\n  salesaudit {a['check']}\n  duckdb     {b['check']}"))
    return ratio


def fastest_of(repeat: int, tables: Path) -> dict:
    """Each engine's fastest funnel + stalls run of ``repeat`` (alternating, fresh processes), with the slowest run's seconds beside it."""
    runs = {"salesaudit": [], "duckdb": []}
    for _ in range(max(1, repeat)):
        for engine, done in runs.items():
            result = run_child("funnel_stalls", engine, tables)
            if result:
                done.append(result)
    best = {}
    for engine, done in runs.items():
        if done:
            best[engine] = min(done, key=lambda r: r["seconds"])
            best[engine].update(runs=len(done), slowest=max(r["seconds"] for r in done))
    return best


def report_run(run: dict) -> None:
    print(f"\nfull run of every notebook on the 100 k department: {run['seconds'] / 60:.1f} min (target <= {TARGETS['run_minutes']:.0f}), "
          f"peak RSS of all its processes {run['peak_gb']:.2f} GB (target <= {TARGETS['run_gb']:.0f}); exit code {run['returncode']}")
    for name, nb in run["notebooks"].items():
        secs = nb["seconds"]
        print(f"  {name:22}{(f'{secs:8.1f} s' if secs is not None else '       —'):>10}{'' if nb['ok'] else '  FAILED'}")
    if run["stderr"]:
        print(run["stderr"])


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deals", type=int, default=100_000, help="deals of the department that is loaded and run (default 100,000)")
    ap.add_argument("--big-deals", type=int, default=1_000_000, help="deals of the department for load and funnel + stalls (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine of funnel + stalls (fresh processes, alternating); the fastest is compared")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: load, big-load, analyses, run")
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary folder)")
    ap.add_argument("--child", choices=["load", "funnel_stalls"], help=argparse.SUPPRESS)
    ap.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        fn = child_load if args.child == "load" else child_funnel_stalls
        print(json.dumps(fn(args.engine, args.dir)))
        return 0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    summary = {}
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        base = args.keep.resolve() if args.keep else Path(tmp)
        small, big, tables = base / "dept_small", base / "dept_big", base / "big_tables"
        print(f"{os.cpu_count()} cores; folders under {base}")
        d_small = build(small, args.deals, *DEPARTMENTS["small"], args.seed)
        report_department(f"department of {args.deals:,} deals", d_small)
        if "load" not in skip:
            summary["load_small"] = report_load(f"{d_small['deals']:,} deals", {e: run_child("load", e, small) for e in ENGINES})
        if not ({"analyses", "big-load"} <= skip):
            d_big = build(big, args.big_deals, *DEPARTMENTS["big"], args.seed, tables_to=tables)
            report_department(f"department of {args.big_deals:,} deals", d_big)
            if "big-load" not in skip:
                summary["load_big"] = report_load(f"{d_big['deals']:,} deals", {e: run_child("load", e, big) for e in ENGINES})
            if "analyses" not in skip:
                summary["funnel_stalls"] = report_funnel_stalls(fastest_of(args.repeat, tables))
        if "run" not in skip:
            run = full_run(Path(d_small["config"]), base / "run_small")
            report_run(run)
            summary["run_minutes"], summary["run_gb"] = run["seconds"] / 60, run["peak_gb"]
    print("\nsummary (issue #16 targets)")
    for key, label, unit in (("load_small", f"load {args.deals:,} deals / DuckDB", "x"), ("load_big", f"load {args.big_deals:,} deals / DuckDB", "x"),
                             ("funnel_stalls", f"funnel + stalls {args.big_deals:,} deals / DuckDB", "x"),
                             ("run_minutes", f"full run {args.deals:,} deals, minutes", ""), ("run_gb", "full run, peak RSS GB", "")):
        if summary.get(key) is not None:
            target = TARGETS["load" if key.startswith("load") else key]
            print(f"  {label:42}{summary[key]:8.2f}{unit}   target <= {target:g}{unit}   {'met' if summary[key] <= target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
