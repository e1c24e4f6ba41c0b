"""Benchmark: today's loader on a large generic export, beside DuckDB and pandas+pyarrow.

    .venv/bin/python bench/bench_scale.py [--deals 100000] [--keep DIR]

1. Builds a large generic export in a temporary folder by tiling ``data_samples/demo_generic``
   ``ceil(--deals / 3270)`` times, vectorised with pandas (no Python loop over rows):
   * every numeric id (``deal_id``, ``lead_id``, ``activity_id``, ``payment_id``) and every
     reference to one is shifted by ``copy * 10**7``, so references stay inside their copy and the
     planted references to unknown deals stay unknown; ids that are not numbers are kept as they are;
   * copy 0 keeps the manager ids; copy ``k >= 1`` renames them (``m01`` -> ``m01_c7``), in deals,
     leads, activities, stage history (``moved_by``), ``managers.csv`` and ``plans.csv``, whose rows
     are repeated once per copy (the names get `` [k]`` so that they stay distinct);
   * dates, amounts and the planted quarantine rows are unchanged, so each copy quarantines the
     same rows as the demo.
   The run config is ``params/clients/demo.yaml`` with ``data:`` and ``funnel:`` made absolute, and
   the per-manager deal limit of the inbound desk and the system owners (the CRM robot) repeated
   for every copy.
2. Reads the seven files with each engine in its own subprocess, so that each peak RSS is its own:
   * ``salesaudit``: ``salesaudit.load(config)`` (parsing, types, Russian dates, quarantine, checks);
   * ``duckdb``: ``read_csv`` of each file (types auto-detected), ``.df()`` into pandas;
   * ``pyarrow``: ``pandas.read_csv(engine="pyarrow")`` of each file.
   Files are in the page cache for every engine (they were just written). Peak RSS is the child's
   own ``ru_maxrss`` (``getrusage(RUSAGE_SELF)``), imports included; "added" is the peak minus the
   RSS before the clock started.
3. Prints rows and MB per file, seconds, ratios (salesaudit / DuckDB, salesaudit / pyarrow), peak
   RSS and the in-memory size of the frames each engine returned.

DuckDB comes from the ``bench`` extra (``pip install -e '.[bench]'``); without it, that column is
skipped with a message. This is a measurement, not a test: nothing here asserts a speed.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO = ROOT / "data_samples" / "demo_generic"
DEMO_CONFIG = ROOT / "params" / "clients" / "demo.yaml"
DEMO_DEALS = 3270  # accepted deals of the demo (MANIFEST.json, expected_clean_rows)
OFFSET = 10**7  # id shift per copy: above every id of the demo (activities reach about 1.03 M)
FILES = ["managers.csv", "deals.csv", "leads.csv", "stage_history.csv", "activities.csv", "payments.csv", "plans.csv"]
ID_COLUMNS = {
    "deals.csv": ["deal_id", "lead_id"],
    "leads.csv": ["lead_id", "deal_id"],
    "stage_history.csv": ["deal_id"],
    "activities.csv": ["activity_id", "deal_id", "lead_id"],
    "payments.csv": ["payment_id", "deal_id"],
}
MANAGER_COLUMNS = {
    "managers.csv": ["manager"],
    "deals.csv": ["manager"],
    "leads.csv": ["manager"],
    "stage_history.csv": ["moved_by"],
    "activities.csv": ["manager"],
    "plans.csv": ["manager"],
}
ENGINES = ("salesaudit", "duckdb", "pyarrow")


# --------------------------------------------------------------------------- the export
def _shift_ids(col: pd.Series, copies: int) -> pd.Series:
    """``col`` tiled ``copies`` times, numeric ids shifted by ``copy * OFFSET``; other text kept."""
    n = len(col)
    numeric = col.str.fullmatch(r"\d+").to_numpy(dtype=bool)
    values = np.where(numeric, pd.to_numeric(col.where(numeric, "0")).to_numpy(dtype=np.int64), 0)
    shifted = np.tile(values, copies) + np.repeat(np.arange(copies, dtype=np.int64) * OFFSET, n)
    out = pd.Series(np.tile(col.to_numpy(dtype=object), copies), dtype=object)
    mask = np.tile(numeric, copies)
    out[mask] = shifted[mask].astype(str)
    return out


def _rename(col: pd.Series, copies: int, fmt: str = "_c{}") -> pd.Series:
    """``col`` tiled ``copies`` times; non-empty values of copy ``k >= 1`` get the suffix ``fmt.format(k)``."""
    n = len(col)
    out = pd.Series(np.tile(col.to_numpy(dtype=object), copies), dtype=object)
    suffix = pd.Series(np.repeat(np.array([""] + [fmt.format(k) for k in range(1, copies)], dtype=object), n), dtype=object)
    keep = (out == "") | (suffix == "")
    return out.where(keep, out + suffix)


def build_export(folder: Path, copies: int) -> dict:
    """Write the tiled export into ``folder``; return rows and bytes per file."""
    stats = {}
    for name in FILES:
        src = pd.read_csv(DEMO / name, dtype=str, keep_default_na=False, encoding="utf-8")
        n = len(src)
        out = pd.DataFrame({c: np.tile(src[c].to_numpy(dtype=object), copies) for c in src.columns})
        for c in ID_COLUMNS.get(name, []):
            out[c] = _shift_ids(src[c], copies).to_numpy()
        for c in MANAGER_COLUMNS.get(name, []):
            out[c] = _rename(src[c], copies).to_numpy()
        if name == "managers.csv":
            out["name"] = _rename(src["name"], copies, fmt=" [{}]").to_numpy()
        path = folder / name
        out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        stats[name] = {"rows": len(out), "rows_per_copy": n, "bytes": path.stat().st_size}
    return stats


def write_config(folder: Path, copies: int) -> Path:
    """The demo run config pointed at ``folder``, its per-manager settings repeated for every copy."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    sfx = [""] + [f"_c{k}" for k in range(1, copies)]
    subs = [
        (r"(?m)^data:.*$", f"data: {folder}"),
        (r"(?m)^funnel:\s*(\S+).*$", lambda m: f"funnel: {(DEMO_CONFIG.parent / m.group(1)).resolve()}"),
        (r"(?m)^system_owners:.*$", "system_owners: [" + ", ".join(f"robot{s}" for s in sfx) + "]"),
        (r"(?m)^    m_desk: 60.*$", "\n".join(f"    m_desk{s}: 60" for s in sfx)),
    ]
    for pattern, repl in subs:
        text, count = re.subn(pattern, repl, text)
        if count != 1:
            raise SystemExit(f"{DEMO_CONFIG} no longer has the line {pattern!r}: update bench_scale.write_config")
    path = folder / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- one engine, in a child
def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _frames_mb(frames) -> float:
    return sum(float(f.memory_usage(deep=True).sum()) for f in frames) / 2**20


def child(engine: str, folder: Path) -> dict:
    paths = [folder / name for name in FILES]
    if engine == "salesaudit":
        import salesaudit

        base = _rss_mb()
        t0 = time.perf_counter()
        ds = salesaudit.load(folder / "run.yaml")
        seconds = time.perf_counter() - t0
        frames = list(ds.tables.values())
        extra = {"accepted_rows": int(sum(len(f) for f in frames)), "quarantined_rows": int(len(ds.quarantine)),
                 "fatal_problems": int(sum(p.fatal for p in ds.problems))}
    elif engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        base = _rss_mb()
        t0 = time.perf_counter()
        frames = [con.read_csv(str(p)).df() for p in paths]
        seconds = time.perf_counter() - t0
        extra = {"rows": int(sum(len(f) for f in frames)), "duckdb": duckdb.__version__}
    else:
        import pyarrow

        base = _rss_mb()
        t0 = time.perf_counter()
        frames = [pd.read_csv(p, engine="pyarrow") for p in paths]
        seconds = time.perf_counter() - t0
        extra = {"rows": int(sum(len(f) for f in frames)), "pyarrow": pyarrow.__version__}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KB on Linux
    return {"engine": engine, "seconds": seconds, "rss_base_mb": base, "rss_peak_mb": peak, "frames_mb": _frames_mb(frames), **extra}


def run_child(engine: str, folder: Path) -> dict | None:
    if engine == "duckdb":
        probe = subprocess.run([sys.executable, "-c", "import duckdb"], capture_output=True)
        if probe.returncode:
            print("duckdb is not installed (pip install -e '.[bench]'): its column is skipped")
            return None
    proc = subprocess.run([sys.executable, __file__, "--engine", engine, "--dir", str(folder)], capture_output=True, text=True)
    if proc.returncode:
        print(f"{engine} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report
def report(stats: dict, copies: int, build_s: float, results: dict) -> None:
    total_rows = sum(s["rows"] for s in stats.values())
    total_mb = sum(s["bytes"] for s in stats.values()) / 1e6
    print(f"\nexport: {copies} copies of the demo (about {copies * DEMO_DEALS:,} accepted deals), built in {build_s:.1f} s")
    print(f"{'file':22}{'rows':>12}{'MB':>10}")
    for name, s in stats.items():
        print(f"{name:22}{s['rows']:>12,}{s['bytes'] / 1e6:>10.1f}")
    print(f"{'total':22}{total_rows:>12,}{total_mb:>10.1f}")
    cols = [e for e in ENGINES if results.get(e)]
    header = {"salesaudit": "salesaudit", "duckdb": "duckdb", "pyarrow": "pd+pyarrow"}
    print(f"\n{'':30}" + "".join(f"{header[e]:>14}" for e in cols))
    for label, key, fmt in (("read, s", "seconds", "{:>14.2f}"), ("peak RSS, MB", "rss_peak_mb", "{:>14.0f}"),
                            ("RSS before the clock, MB", "rss_base_mb", "{:>14.0f}"), ("frames in memory, MB", "frames_mb", "{:>14.0f}")):
        print(f"{label:30}" + "".join(fmt.format(results[e][key]) for e in cols))
    print(f"{'RSS added by the read, MB':30}" + "".join(f"{results[e]['rss_peak_mb'] - results[e]['rss_base_mb']:>14.0f}" for e in cols))
    a = results.get("salesaudit")
    if a:
        print(f"\nsalesaudit: {a['accepted_rows']:,} rows accepted, {a['quarantined_rows']:,} quarantined, "
              f"{a['fatal_problems']} fatal problems; peak RSS / accepted frames in memory: {a['rss_peak_mb'] / a['frames_mb']:.1f}x")
        for e in ("duckdb", "pyarrow"):
            if results.get(e):
                print(f"ratio salesaudit / {e}: {a['seconds'] / results[e]['seconds']:.1f}x time, "
                      f"{a['rss_peak_mb'] / results[e]['rss_peak_mb']:.1f}x peak RSS")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deals", type=int, default=100_000, help="about how many deals (copies = ceil(deals / 3270))")
    ap.add_argument("--keep", type=Path, help="build the export in this folder and keep it (default: a temporary folder)")
    ap.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.engine:
        print(json.dumps(child(args.engine, args.dir)))
        return 0
    copies = max(1, math.ceil(args.deals / DEMO_DEALS))
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        folder = args.keep.resolve() if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        stats = build_export(folder, copies)
        write_config(folder, copies)
        build_s = time.perf_counter() - t
        results = {e: run_child(e, folder) for e in ENGINES}
    report(stats, copies, build_s, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
