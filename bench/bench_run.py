"""A whole audit run on the demo, split per notebook into kernel start, load, compute and export.

Three ways side by side, in one run, on the same machine:

* **at filing**: the whole engine as it was when issue #12 was filed (commit ``3b23e16``: its
  library, notebooks and runner, checked out into a temporary git worktree and run by this
  interpreter with ``PYTHONPATH`` pointing at it); the issue's "a third of today's time" is
  measured against this. Skipped, with a note, outside a git clone;
* **reference**: today's library and notebooks under the runner before the dataset cache (#12): one
  notebook after another, each starting its kernel and loading and validating the export itself;
* **salesaudit**: ``salesaudit.runs.runner.run`` today: one load in the preflight, stored in the
  run's folder and read by every notebook, notebooks side by side in ``--workers`` processes,
  each worker keeping one warm kernel.

Per notebook, from papermill's own cell timings in the executed notebook: *kernel* is the time
from papermill's start to the first cell, *load* the cell that calls ``sa.load`` (the imports, the
load and, in the notebooks built on result objects, ``analyse``), *compute* every other cell
(rendering, recording), *export* the HTML export (timed again here on the executed notebook).
Beside the table: one full load, one read of the run's stored load, and the imports a kernel
does before it can load (timed in a fresh interpreter), so that the load share is plain.
Asserts nothing: the figures are for the closing notes.

    python bench/bench_run.py [--config params/clients/demo.yaml] [--workers N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def split(executed: Path) -> dict:
    """kernel / load / compute seconds of one executed notebook (papermill's metadata)."""
    nb = json.loads(executed.read_text(encoding="utf-8"))
    pm = nb["metadata"].get("papermill", {})
    cells = [c for c in nb["cells"] if c["cell_type"] == "code" and c.get("metadata", {}).get("papermill", {}).get("start_time")]
    first = min(_ts(c["metadata"]["papermill"]["start_time"]) for c in cells)
    kernel = (first - _ts(pm["start_time"])).total_seconds()
    load = sum(c["metadata"]["papermill"]["duration"] or 0.0 for c in cells if "sa.load(" in "".join(c["source"]))
    total_cells = sum(c["metadata"]["papermill"]["duration"] or 0.0 for c in cells)
    return {"kernel": kernel, "load": load, "compute": total_cells - load}


def export_seconds(executed: Path) -> float:
    import nbformat

    from salesaudit.runs.runner import export_html

    nb = nbformat.read(str(executed), as_version=4)
    t0 = time.perf_counter()
    export_html(nb, title=executed.stem)
    return time.perf_counter() - t0


def reference(config: Path, out: Path) -> float:
    """The runner before the cache: sequential notebooks, each loading the export itself."""
    import nbformat
    import papermill

    from salesaudit.data.params import load_run_config
    from salesaudit.resources import notebooks_dir
    from salesaudit.runs.runner import QuietShutdownKernelManager, export_html, find_notebooks

    cfg = load_run_config(config)
    nb_dir = notebooks_dir()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    from salesaudit.data.loader import load_dataset

    load_dataset(cfg)  # the preflight of that time: a full load that nothing reused
    params = {"config_path": str(config.resolve()), "period": cfg.period, "grain": cfg.grain, "language": cfg.language, "dataset_cache": None}
    for path in find_notebooks(nb_dir):
        target = out / path.name
        papermill.execute_notebook(str(path), str(target), parameters=params, cwd=str(nb_dir), progress_bar=False, log_output=False,
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"], kernel_manager_class=QuietShutdownKernelManager)
        (out / f"{path.stem}.html").write_text(export_html(nbformat.read(str(target), as_version=4), title=path.stem), encoding="utf-8")
    return time.perf_counter() - t0


#: main when issue #12 was filed
FILED = "3b23e16"


def at_filing(config: Path, out: Path):
    """Wall seconds of a full run by the engine of :data:`FILED` (None outside a git clone)."""
    import shutil
    import subprocess

    if not (REPO / ".git").exists() or shutil.which("git") is None:
        return None
    tree = Path(tempfile.mkdtemp()) / "filed"
    made = subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), FILED], capture_output=True, text=True)
    if made.returncode != 0:
        print(f"(at filing: no worktree of {FILED}: {made.stderr.strip()})")
        return None
    try:
        rel = config.resolve().relative_to(REPO)
        env = dict(os.environ, PYTHONPATH=str(tree / "lib"))
        cmd = [sys.executable, "-c", "import sys; from salesaudit import cli; sys.exit(cli.main())",
               "run", "--config", str(tree / rel), "--out", str(out), "--no-progress"]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            print(f"(at filing: the run failed: {done.stdout[-500:]} {done.stderr[-500:]})")
            return None
        return wall
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


def ours(config: Path, out: Path, workers: int) -> float:
    from salesaudit.runs.runner import run

    t0 = time.perf_counter()
    res = run(config, out_dir=out, progress=False, workers=workers)
    wall = time.perf_counter() - t0
    if not res.ok:
        raise SystemExit(f"the run failed: {[n.error for n in res.failed]}")
    return wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(REPO / "params" / "clients" / "demo.yaml"))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    config = Path(args.config)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import subprocess
    import tempfile as _tf

    from salesaudit.data.cache import load_cached, save_dataset
    from salesaudit.data.loader import load_dataset
    from salesaudit.data.params import load_run_config

    t0 = time.perf_counter()
    ds = load_dataset(load_run_config(config))
    one_load = time.perf_counter() - t0
    folder = save_dataset(ds, _tf.mkdtemp())
    t0 = time.perf_counter()
    load_cached(load_run_config(config), folder)
    cached = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import salesaudit as sa, salesaudit.data.loader, salesaudit.report.show as s, salesaudit.analysis.funnel; s.setup()"], check=True)
    imports = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        filed_out, ref_out, new_out = Path(tmp) / "filed", Path(tmp) / "reference", Path(tmp) / "salesaudit"
        filed_wall = at_filing(config, filed_out)
        filed_split = {nb.stem: split(nb) for nb in sorted(filed_out.glob("[0-9][0-9]_*.ipynb"))} if filed_wall else {}
        ref_wall = reference(config, ref_out)
        new_wall = ours(config, new_out, args.workers)
        rows = []
        for nb in sorted(ref_out.glob("[0-9][0-9]_*.ipynb")):
            r, n = split(nb), split(new_out / nb.name)
            r["export"], n["export"] = export_seconds(nb), export_seconds(new_out / nb.name)
            rows.append((nb.stem, r, n))

    cols = ("kernel", "load", "compute", "export")
    head = f"{'notebook':<18}" + "".join(f"{'ref ' + c:>12}" for c in cols) + "".join(f"{'new ' + c:>12}" for c in cols)
    print(f"bench_run: {config.name}, {os.cpu_count()} cores, workers={args.workers}; seconds")
    print(head)
    print("-" * len(head))
    for stem, r, n in rows:
        print(f"{stem:<18}" + "".join(f"{r[c]:>12.2f}" for c in cols) + "".join(f"{n[c]:>12.2f}" for c in cols))
    tot = {k: (sum(r[k] for _, r, _ in rows), sum(n[k] for _, _, n in rows)) for k in cols}
    print(f"{'sum':<18}" + "".join(f"{tot[c][0]:>12.2f}" for c in cols) + "".join(f"{tot[c][1]:>12.2f}" for c in cols))
    print()
    if filed_wall:
        print(f"at filing ({FILED}), per notebook kernel+cells: " + ", ".join(f"{k[:2]} {v['kernel'] + v['load'] + v['compute']:.1f}" for k, v in filed_split.items()))
        print(f"wall time of the whole run: at filing {filed_wall:.1f} s, salesaudit {new_wall:.1f} s, "
              f"ratio {new_wall / filed_wall:.2f} (target <= 0.33)")
    print(f"wall time of the whole run: reference {ref_wall:.1f} s, salesaudit {new_wall:.1f} s, ratio {new_wall / ref_wall:.2f}")
    print(f"one full load {one_load:.2f} s; one read of the stored load {cached:.2f} s; a kernel's imports {imports:.2f} s")
    print(f"loads per run: reference {len(rows)} full loads + 1 preflight = {(len(rows) + 1) * one_load:.2f} s; "
          f"salesaudit 1 full load + {len(rows)} reads = {one_load + len(rows) * cached:.2f} s "
          f"({(one_load + len(rows) * cached) / one_load:.1f} loads' worth)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
