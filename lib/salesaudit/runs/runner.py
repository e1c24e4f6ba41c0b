"""``salesaudit run``: execute the audit notebooks for one run config and index the reports.

For every selected notebook ``notebooks/NN_name.ipynb`` the runner writes, into
the output folder (default ``reports/<config stem>[/<period>]``):

* ``NN_name.ipynb`` - the executed notebook (papermill);
* ``NN_name.html`` - the report: no code, no prompts, no parameter cells, no
  warnings (stderr), no cells tagged ``remove_cell``;
* ``NN_name.json`` - the key results the notebook recorded with
  :func:`salesaudit.runs.record.record`, plus ``_notebook``, ``_title``, ``_status``
  (``"ok"``/``"failed"``) and ``_error`` (``{"ename", "evalue"}`` or ``null``);

and finally ``index.html``, a self-contained page listing every notebook with
its status, a link to its report and its scalar key results.

The notebooks receive exactly four parameters (papermill injects them after the
cell tagged ``parameters``): ``config_path`` (absolute path of the YAML),
``period`` (str or None), ``grain`` and ``language``, taken from the validated
config after the command-line overrides. Everything else a notebook needs it
reads from the config itself.

A failing notebook does not stop the run: it is reported as failed and the next
one runs, with one paragraph naming the notebook, the failing cell (its number and
the heading of the section it belongs to) and the error. A problem with the config
or the data (found by the preflight load) stops the run before any notebook, as a
:class:`~salesaudit.errors.SalesauditError`; so does a period that lies wholly
outside the data (:mod:`salesaudit.data.coverage`). A period the data cover only in
part gets a banner at the top of every page, and the load warnings of the
preflight (:func:`salesaudit.report.verdict.warning_texts`) are shown on the index page.

Each worker keeps one kernel warm: the notebooks it executes run one after another in the same
kernel, whose namespace is reset in between (``%reset -f``, figures closed), so the imports of
pandas, SciPy and the plotting stack are paid once per worker rather than once per notebook.
A kernel that died is replaced before the next notebook (:class:`KernelSlot`).

Kernels are shut down without the interrupt (SIGINT) jupyter_client sends before
every shutdown: papermill asks the kernel for its info right after the last cell,
and a SIGINT that lands while the kernel is still in that request's handler makes
ipykernel log ``ERROR | KeyboardInterrupt caught in kernel`` on a run that went
well (see :class:`QuietShutdownKernelManager`).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from jupyter_client import AsyncKernelManager

from ..data.cache import CACHE_DIRNAME
from ..data.params import RunConfig, load_run_config, parse_period
from ..errors import SalesauditError, closest, display_path
from ..report.coverage import banner_html
from ..report.i18n import t
from .record import MIME, read_records

__all__ = [
    "run",
    "RunResult",
    "NotebookResult",
    "find_notebooks",
    "default_notebooks_dir",
    "export_html",
    "render_index",
    "QuietShutdownKernelManager",
    "KernelSlot",
    "failing_cell",
]

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
#: cells with these tags never reach the HTML report
REMOVE_CELL_TAGS = ("remove_cell", "injected-parameters", "parameters", "papermill-error-cell-tag")


@dataclass
class NotebookResult:
    """The outcome of one notebook."""

    stem: str
    status: str  # "ok" | "failed"
    title: str
    ipynb: Optional[Path]
    html: Optional[Path]
    json: Path
    error: Optional[str] = None  # one paragraph for people: notebook, failing cell and heading, error
    ename: Optional[str] = None
    evalue: Optional[str] = None
    cell: Optional[int] = None  # 1-based number of the failing cell in the notebook as written
    cell_heading: Optional[str] = None  # the heading of the section the failing cell belongs to
    message: Optional[str] = None  # the error alone (the SalesauditError message, or "ename: evalue")
    records: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class RunResult:
    """The outcome of :func:`run`."""

    out_dir: Path
    index: Path
    notebooks: list[NotebookResult]
    config: Optional[RunConfig] = None
    coverage: Optional[Any] = None  # salesaudit.data.coverage.Coverage of the period (with preflight and a period)
    banner: Optional[str] = None  # the notice shown at the top of every page (a partly covered period)
    warnings: list[str] = field(default_factory=list)  # the load warnings shown on the index page

    @property
    def ok(self) -> bool:
        """True when every notebook succeeded."""
        return all(nb.ok for nb in self.notebooks)

    @property
    def failed(self) -> list[NotebookResult]:
        return [nb for nb in self.notebooks if not nb.ok]


# ---------------------------------------------------------------------------
# finding notebooks


def default_notebooks_dir() -> Path:
    """The audit notebooks: the checkout's ``notebooks/``, else the copy installed with the package."""
    from ..resources import notebooks_dir

    return notebooks_dir()


def find_notebooks(notebooks_dir, names: Optional[Iterable[str]] = None) -> list[Path]:
    """The ``NN_*.ipynb`` notebooks of ``notebooks_dir`` sorted by name, restricted to ``names``.

    A name may be given with or without ``.ipynb`` (``00_data_quality``), or as
    its two-digit number (``00``). An unknown name raises a SalesauditError
    listing the available notebooks.
    """
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise SalesauditError(
            f"The notebooks folder {display_path(folder)} does not exist. How to fix: pass an existing "
            f"folder with --notebooks-dir."
        )
    available = sorted(folder.glob(NOTEBOOK_GLOB), key=lambda p: p.name)
    if not available:
        raise SalesauditError(
            f"The folder {display_path(folder)} holds no audit notebooks (files named like "
            f"00_data_quality.ipynb). How to fix: pass the right folder with --notebooks-dir."
        )
    if names is None:
        return available
    # "01_funnel,02_stage_stalls" as well as separate names
    names = [part for raw in names for part in str(raw).replace(",", " ").split()]
    by_stem = {p.stem: p for p in available}
    chosen: set[Path] = set()
    unknown: list[str] = []
    for raw in names:
        name = str(raw).strip()
        stem = name[: -len(".ipynb")] if name.endswith(".ipynb") else name
        if stem in by_stem:
            chosen.add(by_stem[stem])
            continue
        numbered = [p for p in available if len(stem) == 2 and stem.isdigit() and p.name.startswith(stem + "_")]
        if len(numbered) == 1:
            chosen.add(numbered[0])
        else:
            unknown.append(name)
    if unknown:
        hint = closest(unknown[0], list(by_stem)) if len(unknown) == 1 else ""
        raise SalesauditError(
            f"Unknown notebook(s): {', '.join(unknown)}.{hint} Available in {display_path(folder)}: "
            f"{', '.join(by_stem)}. How to fix: name notebooks as listed (with or without .ipynb)."
        )
    return [p for p in available if p in chosen]


def default_out_dir(cfg: RunConfig, config_path: Path) -> Path:
    out = Path("reports") / config_path.stem
    if cfg.period:
        out = out / parse_period(cfg.period).label
    return out


# ---------------------------------------------------------------------------
# running


def run(
    config,
    out_dir=None,
    period: Optional[str] = None,
    grain: Optional[str] = None,
    language: Optional[str] = None,
    notebooks: Optional[Iterable[str]] = None,
    notebooks_dir=None,
    progress: bool = True,
    preflight: bool = True,
    kernel_name: str = "python3",
    *,
    banner: Optional[str] = None,
    load_warnings: Optional[Iterable[str]] = None,
    workers: Optional[int] = None,
    cache_dir=None,
) -> RunResult:
    """Execute the audit notebooks for the run config ``config`` and write the reports.

    ``period``, ``grain`` and ``language`` override the config's keys when given;
    ``notebooks`` (names, default: the config's ``notebooks`` key, else all)
    selects notebooks in ``notebooks_dir`` (default: the repository's
    ``notebooks/``). With ``preflight`` the dataset is loaded once before any
    notebook so that a data problem stops the run early: a period wholly outside
    the data raises a SalesauditError, a partly covered one gets a banner on
    every page, and the load warnings are shown on the index page.

    ``banner`` and ``load_warnings`` are for callers that did the preflight
    themselves (a batch of periods loads the data once): a banner found by this
    run's own preflight takes precedence, its warnings replace ``load_warnings``.

    The data are loaded once per run: the preflight stores the loaded dataset in
    ``cache_dir`` (default ``<out>/.dataset``, :mod:`salesaudit.data.cache`) and every
    notebook reads it (papermill parameter ``dataset_cache``). Notebooks run side
    by side in ``workers`` processes (default: the number of cores).
    """
    from tqdm import tqdm

    config_path = Path(config)
    overrides = {k: v for k, v in {"period": period, "grain": grain, "language": language}.items() if v is not None}
    cfg = load_run_config(config_path, **overrides)
    config_path = config_path.resolve()
    lang = cfg.language

    nb_dir = Path(notebooks_dir).resolve() if notebooks_dir is not None else default_notebooks_dir()
    names = list(notebooks) if notebooks is not None else cfg.notebooks
    selected = find_notebooks(nb_dir, names)

    out = Path(out_dir) if out_dir is not None else default_out_dir(cfg, config_path)
    out = out.resolve()
    cache = Path(cache_dir).resolve() if cache_dir is not None else out / CACHE_DIRNAME

    workers = max(1, min(int(workers if workers is not None else (os.cpu_count() or 1)), len(selected) or 1))
    with _quiet_kernel_env(workers):
        pool = None
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            # the workers start now, each with its kernel importing what the notebooks need, while
            # this process loads the data (one core loads, the other warms up)
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_warm_worker, initargs=(kernel_name, str(nb_dir)))
            pool.submit(_started)
        try:
            banner, warnings, coverage = _preflight(cfg, cache, out, lang, preflight, banner, load_warnings)
        except BaseException:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            raise

        parameters = {
            "config_path": str(config_path),
            "period": cfg.period,
            "grain": cfg.grain,
            "language": lang,
            "dataset_cache": str(cache) if (preflight or (cache / "meta.json").is_file()) else None,
        }
        bar = tqdm(total=len(selected), unit="notebook", disable=not progress, file=sys.stderr, leave=True)
        by_path: dict[Path, NotebookResult] = {}
        if pool is None:
            slot = KernelSlot(kernel_name, nb_dir)
            try:
                for path in selected:
                    bar.set_description(path.stem)
                    by_path[path] = _run_one(path, out, parameters, nb_dir, kernel_name, lang, banner=banner, slot=slot)
                    bar.update(1)
            finally:
                slot.close()
        else:
            from concurrent.futures import as_completed

            # the longest notebooks first, so that the last to finish is a short one
            order = sorted(selected, key=lambda p: -_expected_seconds(p))
            with pool:
                futures = {pool.submit(_run_in_worker, path, out, parameters, nb_dir, kernel_name, lang, banner=banner): path for path in order}
                for fut in as_completed(futures):
                    path = futures[fut]
                    try:
                        by_path[path] = fut.result()
                    except Exception as exc:  # the worker process itself died
                        by_path[path] = _dead_worker(path, out, exc)
                    bar.set_description(path.stem)
                    bar.update(1)
    bar.close()
    results = [by_path[p] for p in selected]

    index = out / "index.html"
    index.write_text(render_index(cfg, results, banner=banner, warnings=warnings), encoding="utf-8")
    return RunResult(out_dir=out, index=index, notebooks=results, config=cfg, coverage=coverage,
                     banner=banner, warnings=warnings)


def _preflight(cfg: RunConfig, cache: Path, out: Path, lang: str, preflight: bool, banner, load_warnings):
    """Load the data once (or read the stored load), judge the period, create ``out`` and store the load.

    Returns ``(banner, warnings, coverage)``. A SalesauditError (a refused load, a period wholly
    outside the data, a folder that cannot be created) stops the run before any notebook.
    """
    coverage = None
    warnings = [str(w) for w in (load_warnings or [])]
    fresh = False
    if preflight:
        from ..data.cache import dataset_key, load_cached
        from ..data.coverage import period_coverage
        from ..data.loader import load_dataset  # a SalesauditError here stops the run
        from ..report.coverage import banner as coverage_banner
        from ..report.coverage import refusal as coverage_refusal
        from ..report.verdict import warning_texts

        key = dataset_key(cfg)
        # a stored load is reused only for a fixed audit moment: "now" is loaded afresh
        ds = load_cached(cfg, cache, key) if cfg.as_of is not None else None
        fresh = ds is None
        if fresh:
            ds = load_dataset(cfg)
        warnings = [str(w) for w in (warning_texts(ds, lang) or [])]
        if cfg.period:
            coverage = period_coverage(ds, cfg.period, cfg.grain)
            if coverage.outside:
                raise SalesauditError(coverage_refusal(coverage, "en"))
            banner = coverage_banner(coverage, lang) or banner

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SalesauditError(
            f"Cannot create the report folder {display_path(out)}: {exc.strerror or exc}. "
            f"How to fix: choose another folder with --out."
        ) from None
    if preflight and fresh:
        from ..data.cache import save_dataset

        save_dataset(ds, cache, key)
    return banner, warnings, coverage


def _expected_seconds(path: Path) -> float:
    """How long a notebook took last time (its committed cells' execution times), for scheduling."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0
    total = 0.0
    for cell in nb.get("cells", []):
        ex = (cell.get("metadata") or {}).get("execution") or {}
        a, b = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
        if a and b:
            try:
                total += (dt.datetime.fromisoformat(b.replace("Z", "+00:00")) - dt.datetime.fromisoformat(a.replace("Z", "+00:00"))).total_seconds()
            except ValueError:
                pass
    return total


def _dead_worker(path: Path, out: Path, exc: BaseException) -> NotebookResult:
    message = f"{type(exc).__name__}: {exc}"
    return NotebookResult(stem=path.stem, status="failed", title=path.stem, ipynb=None, html=None, json=out / f"{path.stem}.json",
                          error=f"Notebook {path.stem} failed: {message}", ename=type(exc).__name__, evalue=str(exc), message=message)


class QuietShutdownKernelManager(AsyncKernelManager):
    """A kernel manager that shuts the kernel down without interrupting it first.

    ``KernelManager.shutdown_kernel`` sends SIGINT before the shutdown request.
    papermill asks the kernel for its info right after the last cell and shuts it
    down as soon as the reply arrives, while ipykernel may still be inside that
    request's handler - where SIGINT raises KeyboardInterrupt and the kernel logs
    ``ERROR | KeyboardInterrupt caught in kernel.`` on stderr after a run that
    went well. When the runner shuts a kernel down every cell has finished, so
    there is nothing to interrupt: the shutdown request alone stops the kernel
    (one that does not stop in time is still killed by jupyter_client). An
    explicit ``interrupt_kernel()`` is unchanged.
    """

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


#: the tag of the cell the runner puts first in a notebook that runs in a used kernel (removed from the output)
RESET_TAG = "salesaudit-reset"
#: that cell: a clean namespace, no open figures
RESET_CODE = """\
get_ipython().run_line_magic("reset", "-f")
import matplotlib.pyplot as _plt
_plt.close("all")
del _plt
"""

#: run in a worker's kernel while the main process loads the data: the imports every notebook makes
WARM_CODE = """\
import salesaudit, salesaudit.data.loader, salesaudit.data.cache, salesaudit.report.page, salesaudit.report.show
import scipy.stats, matplotlib.pyplot, seaborn
"""

#: ipykernel >= 7 warns on every start that local TCP is unencrypted; keep the terminal clean
KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]


class KernelSlot:
    """One kernel kept warm, and connected, for the notebooks a worker executes one after another.

    :meth:`connection` starts the kernel and its client the first time (and again after the kernel
    died) and says whether the kernel was used before: then the notebook first runs
    :data:`RESET_CODE` (a cell the runner adds and removes again, see :func:`with_reset_cell`), so
    that it sees nothing of the notebook before, only the modules already imported. Papermill runs
    every notebook on that kernel and client (the engine :data:`WARM_ENGINE`), so neither a kernel
    start nor a client's connection is paid per notebook. :meth:`warm` starts the kernel ahead and
    imports what every notebook needs. :meth:`close` stops the kernel.
    """

    def __init__(self, kernel_name: str = "python3", cwd=None):
        self.kernel_name = kernel_name
        self.cwd = str(cwd) if cwd is not None else None
        self.km: Optional[QuietShutdownKernelManager] = None
        self.kc = None
        self.used = False

    def _alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self.km is not None and self.km.has_kernel and bool(run_sync(self.km.is_alive)())

    def _start(self) -> None:
        from jupyter_core.utils import run_sync

        if self.km is not None and not self._alive():
            self.close()
        if self.km is None:
            km = QuietShutdownKernelManager(kernel_name=self.kernel_name)
            kwargs = {"cwd": self.cwd} if self.cwd else {}
            run_sync(km.start_kernel)(extra_arguments=KERNEL_ARGS, **kwargs)
            kc = km.client()
            kc.start_channels()
            run_sync(kc.wait_for_ready)(timeout=60)
            kc.allow_stdin = False
            self.km, self.kc, self.used = km, kc, False

    def connection(self) -> tuple:
        """``(kernel manager, kernel client, used)`` for the next notebook; ``used``: reset it first."""
        self._start()
        used, self.used = self.used, True
        return self.km, self.kc, used

    def warm(self) -> None:
        """Start the kernel now and import what every notebook imports (the next notebook resets it)."""
        from jupyter_core.utils import run_sync

        _, kc, _ = self.connection()
        run_sync(kc.execute_interactive)(WARM_CODE, timeout=120, output_hook=lambda msg: None)

    def close(self) -> None:
        """Stop the kernel (nothing to do when none was started).

        Every notebook's outputs are saved by then and the kernel holds nothing else, so it is
        stopped at once rather than asked and waited for (which took half a second at the end of
        every run).
        """
        from jupyter_core.utils import run_sync

        km, kc, self.km, self.kc = self.km, self.kc, None, None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:  # pragma: no cover
                pass
        if km is not None and km.has_kernel:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # pragma: no cover - a kernel that is already gone
                pass


#: the papermill engine that runs a notebook on a :class:`KernelSlot`'s kernel and client
WARM_ENGINE = "salesaudit-warm"


def _register_warm_engine() -> None:
    """Register :data:`WARM_ENGINE` with papermill (once per process)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    if WARM_ENGINE in papermill_engines._engines:
        return

    class WarmNotebookClient(PapermillNotebookClient):
        """papermill's notebook client on a kernel client that stays connected (``kc=``)."""

        def __init__(self, nb_man, km=None, kc=None, **kw):
            super().__init__(nb_man, km=km, **kw)
            self.kc = kc  # nbclient connects a new client only when it has none

    class WarmEngine(NBClientEngine):
        """papermill's nbclient engine (the same arguments) on a warm kernel and its client."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                     start_timeout=60, execution_timeout=None, **kwargs):
            kwargs = remove_args(["input_path"], **kwargs)
            safe = remove_args(["timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(safe, timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                                 startup_timeout=start_timeout, kernel_name=kernel_name, log=logger,
                                 log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            return WarmNotebookClient(nb_man, **final).execute()

    papermill_engines.register(WARM_ENGINE, WarmEngine)


#: the warm kernel of this worker process (see _worker_slot)
_SLOT: Optional[KernelSlot] = None


def _worker_slot(kernel_name: str, cwd=None) -> KernelSlot:
    """This worker process's warm kernel, shut down when the worker exits."""
    global _SLOT
    if _SLOT is None or _SLOT.kernel_name != kernel_name:
        from multiprocessing import util

        if _SLOT is not None:
            _SLOT.close()
        _SLOT = KernelSlot(kernel_name, cwd)
        util.Finalize(None, _SLOT.close, exitpriority=10)
    return _SLOT


def _warm_worker(kernel_name: str, cwd: str) -> None:
    """A worker's initializer: its kernel starts and imports while the main process loads the data."""
    try:
        _worker_slot(kernel_name, cwd).warm()
    except Exception:  # a kernel that cannot start fails the notebook later, with its own message
        pass


def with_reset_cell(nb):
    """A copy of ``nb`` that first resets a used kernel (a cell tagged :data:`RESET_TAG`)."""
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(RESET_CODE, metadata={"tags": ["remove_cell", RESET_TAG]})
    nb.cells.insert(0, cell)
    return nb


def without_reset_cell(nb) -> bool:
    """Remove the reset cell from an executed notebook; True when there was one."""
    n = len(nb.cells)
    nb.cells = [c for c in nb.cells if RESET_TAG not in (c.get("metadata") or {}).get("tags", [])]
    return len(nb.cells) != n


def _started() -> None:
    """A no-op task: submitting it makes the pool start its workers (and their kernels) now."""


def _run_in_worker(path, out, parameters, cwd, kernel_name, lang, banner=None) -> "NotebookResult":
    return _run_one(path, out, parameters, cwd, kernel_name, lang, banner=banner, slot=_worker_slot(kernel_name, cwd))


@contextmanager
def _quiet_kernel_env(workers: int = 1):
    """The kernels' environment for a run.

    Silences debugpy's 'frozen modules' warning that Python 3.11 kernels print on start, and with
    notebooks side by side gives each kernel its share of the cores (``SALESAUDIT_WORKERS``, read
    by the simulation's sweeps), so that nested pools do not fight for the same cores.
    """
    values = {"PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if workers > 1 and "SALESAUDIT_WORKERS" not in os.environ:
        values["SALESAUDIT_WORKERS"] = str(max(1, (os.cpu_count() or 1) // workers))
    old = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        os.environ.setdefault(k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)


def _notebook_title(nb, stem: str, lang: str) -> str:
    meta = (nb.get("metadata") or {}).get("salesaudit") or {}
    title = meta.get("title") if isinstance(meta, dict) else None
    if isinstance(title, str) and title.strip():
        return title
    if isinstance(title, dict):
        for key in (lang, "ru", "en"):
            if isinstance(title.get(key), str) and title[key].strip():
                return title[key]
    return stem


def _run_one(path: Path, out: Path, parameters: dict, cwd: Path, kernel_name: str, lang: str,
             banner: Optional[str] = None, slot: Optional[KernelSlot] = None) -> NotebookResult:
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    stem = path.stem
    out_ipynb = out / f"{stem}.ipynb"
    out_html = out / f"{stem}.html"
    out_json = out / f"{stem}.json"
    for stale in (out_ipynb, out_html, out_json):
        stale.unlink(missing_ok=True)

    title = stem
    status, ename, evalue, message = "ok", None, None, None
    failed_in_cell = False
    start = time.perf_counter()
    try:
        source_nb = nbformat.read(str(path), as_version=4)
        title = _notebook_title(source_nb, stem, lang)
        source, warm = str(path), {}
        if slot is not None:
            _register_warm_engine()
            km, kc, used = slot.connection()
            warm = {"km": km, "kc": kc, "engine_name": WARM_ENGINE}
            if used:
                source = with_reset_cell(source_nb)
        papermill.execute_notebook(
            source,
            str(out_ipynb),
            parameters=parameters,
            cwd=str(cwd),
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=False,
            report_mode=False,
            extra_arguments=KERNEL_ARGS,
            # no SIGINT before the shutdown: it makes the kernel log a KeyboardInterrupt at ERROR
            kernel_manager_class=QuietShutdownKernelManager,
            **warm,
        )
    except PapermillExecutionError as exc:
        status, ename, evalue = "failed", exc.ename, exc.evalue
        message = evalue if _is_user_error(exc.ename, exc.traceback) else f"{ename}: {evalue}"
        failed_in_cell = True
    except Exception as exc:  # a kernel that died or never started, an unreadable notebook, ...
        status, ename, evalue = "failed", type(exc).__name__, str(exc)
        message = evalue if isinstance(exc, SalesauditError) else f"{ename}: {evalue}"

    executed = None
    records: dict[str, Any] = {}
    if out_ipynb.exists():
        try:
            executed = nbformat.read(str(out_ipynb), as_version=4)
            if without_reset_cell(executed):
                nbformat.write(executed, str(out_ipynb))
            records = read_records(executed)
        except Exception:  # a half-written file: keep the failure that caused it
            executed = None

    cell, cell_heading = None, None
    if failed_in_cell and executed is not None:
        cell, cell_heading = failing_cell(executed, lang)

    html_path: Optional[Path] = None
    if executed is not None:
        try:
            out_html.write_text(export_html(executed, title=title, lang=lang, banner=banner), encoding="utf-8")
            html_path = out_html
        except Exception as exc:
            if status == "ok":
                status, ename, evalue = "failed", type(exc).__name__, str(exc)
                message = t("runner.html_failed", lang, error=f"{ename}: {evalue}")

    seconds = time.perf_counter() - start

    payload = dict(records)
    payload.update({
        "_notebook": stem,
        "_title": title,
        "_status": status,
        "_error": None if status == "ok" else {"ename": ename, "evalue": evalue},
    })
    out_json.write_text(json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False), encoding="utf-8")

    return NotebookResult(
        stem=stem,
        status=status,
        title=title,
        ipynb=out_ipynb if out_ipynb.exists() else None,
        html=html_path,
        json=out_json,
        error=None if status == "ok" else failure_text(stem, message or "", cell, cell_heading, "en"),
        ename=ename,
        evalue=evalue,
        cell=cell,
        cell_heading=cell_heading,
        message=message,
        records=records,
        seconds=seconds,
    )


def failure_text(notebook: str, message: str, cell: Optional[int], heading: Optional[str], lang: str) -> str:
    """One paragraph for a failed notebook: the notebook, the failing cell and its heading, the error."""
    if cell is None:
        return t("run.failed", lang, notebook=notebook, error=message)
    if heading:
        return t("run.failed_cell_heading", lang, notebook=notebook, cell=cell, heading=heading, error=message)
    return t("run.failed_cell", lang, notebook=notebook, cell=cell, error=message)


#: cells papermill adds to an executed notebook (not part of the notebook as written)
_ADDED_CELL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
_HEADING_CALL = re.compile(r"""\bheading\(\s*["']([\w.\-]+)["']""")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def _tags(cell) -> set:
    return set((cell.get("metadata") or {}).get("tags") or [])


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _md_headings(text: str) -> list[str]:
    """The Markdown headings of ``text`` (``#`` lines outside fenced code), in order."""
    found, fenced = [], False
    for line in str(text).splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        m = None if fenced else _MD_HEADING.match(line)
        if m:
            found.append(m.group(1).strip())
    return found


def _output_headings(outputs) -> list[str]:
    """Headings a code cell rendered (``show.heading`` displays a Markdown heading) up to its error."""
    found = []
    for out in outputs or []:
        if out.get("output_type") == "error":
            break
        data = out.get("data") or {}
        md = data.get("text/markdown")
        if md:
            found.extend(_md_headings("".join(md) if isinstance(md, list) else md))
    return found


def _called_heading(source: str, lang: str) -> Optional[str]:
    """The heading a code cell would render: its first ``show.heading("key", ...)`` call, as a label."""
    from ..report.i18n import LABELS

    for key in _HEADING_CALL.findall(source):
        if key in LABELS:
            text = t(key, lang)
            if "{" not in text:
                return text
    return None


def _first_comment(source: str) -> Optional[str]:
    """The first comment line of a code cell (``# ...``), if its first non-blank line is one."""
    for line in source.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#") and not line.startswith("#!") and line.lstrip("#").strip():
            return line.lstrip("#").strip()
        return None
    return None


def failing_cell(nb, lang: str = "en") -> tuple[Optional[int], Optional[str]]:
    """(number, heading) of the first failing cell of an executed notebook.

    The number counts the cells of the notebook as written, from 1 (the cells
    papermill adds are not counted). The heading is the one the failing cell
    renders or would render (a Markdown heading it displayed before the error,
    else its first ``show.heading("key", ...)`` call), else the first comment
    line of the cell, else the nearest heading above it that the report shows
    (a Markdown cell's heading or one an earlier cell rendered); None when
    there is none.
    """
    cells = [c for c in nb.get("cells", []) if not (_tags(c) & _ADDED_CELL_TAGS)]
    index = None
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        meta = (cell.get("metadata") or {}).get("papermill") or {}
        if meta.get("exception") is True or any(o.get("output_type") == "error" for o in cell.get("outputs") or []):
            index = i
            break
    if index is None:
        return None, None
    cell = cells[index]
    source = _source(cell)
    own = _output_headings(cell.get("outputs"))
    heading = own[0] if own else _called_heading(source, lang) or _first_comment(source)
    if heading is None:
        for prev in reversed(cells[:index]):
            if _tags(prev) & set(REMOVE_CELL_TAGS):
                continue  # not in the report: its heading would mean nothing to the reader
            if prev.get("cell_type") == "markdown":
                found = _md_headings(_source(prev))
            elif prev.get("cell_type") == "code":
                found = _output_headings(prev.get("outputs"))
            else:
                found = []
            if found:
                heading = found[-1]
                break
    return index + 1, heading


def _is_user_error(ename: Optional[str], traceback: Optional[list]) -> bool:
    """Whether a kernel error is a SalesauditError (its message is meant for people as is)."""
    names = set()
    stack = [SalesauditError]
    while stack:
        cls = stack.pop()
        names.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    if ename in names:
        return True
    # SalesauditError._render_traceback_ replaces the traceback with one line "<name>: <message>"
    tb = [line for line in (traceback or []) if line.strip()]
    return len(tb) == 1 and ename is not None and ename in tb[0] and "Traceback" not in tb[0]


# ---------------------------------------------------------------------------
# HTML


def _report_preprocessors():
    from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

    class HideRecordsAndStderr(Preprocessor):
        """Drop from a report what is not for its reader: recorded key results, stderr streams
        (warnings), widgets (their state, their views and the views' plain-text fallback, e.g.
        ``IntProgress(value=3)``), progress bars printed as text, and scripts."""

        def preprocess(self, nb, resources):
            nb.metadata.pop("widgets", None)  # the widget state the page would load a widget manager for
            return super().preprocess(nb, resources)

        def preprocess_cell(self, cell, resources, index):
            if cell.get("cell_type") == "code":
                kept = []
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "stream" and (out.get("name") == "stderr" or _PROGRESS.search(out.get("text", ""))):
                        continue
                    data = out.get("data")
                    if data and any(k.startswith(_WIDGET_MIME) or k == _SCRIPT_MIME for k in data):
                        continue  # with its text fallback ("IntProgress(value=3)", "<...Javascript object>")
                    if data and MIME in data:
                        rest = {k: v for k, v in data.items() if k != MIME}
                        if not rest:
                            continue
                        out["data"] = rest
                    kept.append(out)
                cell["outputs"] = kept
            return cell, resources

    tags = TagRemovePreprocessor(
        remove_cell_tags=set(REMOVE_CELL_TAGS),
        remove_input_tags={"remove_input"},
        remove_all_outputs_tags={"remove_output"},
        enabled=True,
    )
    return [tags, HideRecordsAndStderr(enabled=True)]


#: outputs a static page cannot show: a widget's view (and with it its text fallback) and a script
_WIDGET_MIME = "application/vnd.jupyter.widget"
_SCRIPT_MIME = "application/javascript"
#: a progress bar printed as text (tqdm: ``45%|████▌     | 9/20 [00:01<00:02, 4.5it/s]``)
_PROGRESS = re.compile(r"\d+%\|[^|\n]*\||\d+/\d+ \[\d+:\d+")

#: The report page's template: JupyterLab's, without anything loaded from the network (require.js,
#: MathJax, Mermaid, the widget manager: a report has no code to run, no formulas and no widgets)
#: and with a compact stylesheet of its own instead of JupyterLab's whole theme (about 260 kB a page).
#: Images get their alternative text from the output's metadata (``salesaudit.report.show.figure``).
_REPORT_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block notebook_css %}<style>
__CSS__
</style>{% endblock notebook_css %}
{% block data_png scoped %}<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}" alt="{{ (output.metadata.get('image/png') or {}).get('alt', '') | escape_html }}">
</div>{%- endblock data_png %}
{% block data_svg scoped %}<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}">
<img src="data:image/svg+xml;base64,{{ output.data['image/svg+xml'] | text_base64 | escape_html }}" alt="{{ (output.metadata.get('image/svg+xml') or {}).get('alt', '') | escape_html }}">
</div>{%- endblock data_svg %}
"""

#: The report's stylesheet. Tables fit a 1280 px window: headers wrap, numbers are tabular and
#: right-aligned, cells are compact; a table wider than the page scrolls inside its own box
#: (the last resort), never the page. Long tables: the first rows, the rest behind "show all"
#: (``salesaudit.report.show.table``: the preview is hidden while the whole table is open).
_REPORT_CSS = """
:root { --line: #dcdcdc; --muted: #666; --head: #f4f5f7; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: #1f2328; background: #fff; font: 15px/1.5 -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1400px; margin: 0 auto; padding: 12px 20px 48px; }
h1 { font-size: 1.7em; margin: 0.6em 0 0.4em; } h2 { font-size: 1.35em; margin: 1.4em 0 0.5em; border-bottom: 1px solid var(--line); padding-bottom: 0.2em; }
h3 { font-size: 1.12em; margin: 1.2em 0 0.4em; } h4 { font-size: 1em; }
p, ul, ol { margin: 0.4em 0 0.8em; max-width: 80em; }
a.anchor-link { display: none; }
code { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: 0.92em; background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font: 13px/1.4 ui-monospace, 'DejaVu Sans Mono', monospace; background: #f7f7f7; padding: 8px 10px; border-radius: 4px; }
.jp-OutputArea-output { max-width: 100%; overflow-x: auto; margin: 0.3em 0; }
.jp-RenderedImage img, .jp-RenderedSVG img, img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 13px; line-height: 1.35; font-variant-numeric: tabular-nums; max-width: 100%; }
th, td { padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; text-align: right; white-space: normal; overflow-wrap: break-word; }
th { background: var(--head); font-weight: 600; vertical-align: bottom; hyphens: auto; }
td:first-child, th:first-child { text-align: left; }
tbody tr:nth-child(even) td { background: #fafafb; }
details.salesaudit-more > summary { cursor: pointer; color: #0b57d0; margin: 0.2em 0 0.6em; }
.salesaudit-long { display: flex; flex-direction: column; align-items: flex-start; }
.salesaudit-long > .salesaudit-preview { order: 1; max-width: 100%; overflow-x: auto; }
.salesaudit-long > details { order: 2; max-width: 100%; overflow-x: auto; }
.salesaudit-long > details[open] + .salesaudit-preview { display: none; }
@media print { details.salesaudit-more > summary { display: none; } .salesaudit-long > .salesaudit-preview { display: none; } }
"""

_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def _with_banner(page: str, text: Optional[str]) -> str:
    """``page`` with the banner as the first thing in its body."""
    if not text:
        return page
    m = _BODY_OPEN.search(page)
    block = banner_html(text)
    if m is None:
        return block + page
    return page[: m.end()] + "\n" + block + page[m.end():]


def export_html(nb, title: Optional[str] = None, lang: str = "ru", banner: Optional[str] = None) -> str:
    """The HTML report of an executed notebook: outputs and text only.

    No code, no input/output prompts, no parameter cells (``parameters``,
    papermill's ``injected-parameters``), no cells tagged ``remove_cell``,
    no stderr streams and no recorded key results. ``banner`` (a partly covered
    period, see :func:`salesaudit.report.coverage.banner`) is shown at the top.

    The page stands on its own: it loads nothing from the network (no require.js, MathJax or
    widget manager), holds no widget and no progress bar, and carries its own compact stylesheet
    (:data:`_REPORT_TEMPLATE`); plots are embedded images.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code=lang,
        extra_loaders=[DictLoader({"salesaudit_report.html.j2": _REPORT_TEMPLATE.replace("__CSS__", _REPORT_CSS)})],
        template_file="salesaudit_report.html.j2",
    )
    for pre in _report_preprocessors():
        exporter.register_preprocessor(pre, enabled=True)
    resources = {"metadata": {"name": title or "report"}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return _with_banner(body, banner)



def render_index(cfg: RunConfig, results: list[NotebookResult], banner: Optional[str] = None,
                 warnings: Optional[Iterable[str]] = None) -> str:
    """The self-contained ``index.html`` of a run: the audit's first page
    (:func:`salesaudit.report.summary.render`: the scorecard and the findings ranked by money from
    the records, then the sections). ``banner`` (a partly covered period) is shown first;
    ``warnings`` (the load warnings, one paragraph each) in a box under the title."""
    from ..report import summary

    return summary.render(cfg, results, banner=banner, warnings=warnings, failure_text=failure_text)
