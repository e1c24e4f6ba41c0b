"""Parameter sweeps of a simulation: scenarios x replications on an executor, then summaries.

A *scenario* is a dict of parameters (headcount, deal-load limit, lead volume,
routing rule, SLA, ...). :func:`grid` builds the cartesian product of a few
axes; :func:`run_sweep` runs ``replications`` independent replications of a
scenario function for every scenario and returns one row per (scenario,
replication); :func:`summarise` gives per-scenario means with a t confidence
interval and a 5-50-95 % prediction band, and :func:`probability` the share of
replications meeting a condition with a Wilson interval.

Replication ``r`` of scenario ``i`` always gets the seed
``numpy.random.SeedSequence(seed, spawn_key=(i, r))``: the numbers depend on
``seed`` and on the position of the scenario in the list, never on the
executor, the number of workers or the chunking.

Executors: ``"serial"`` (in this process, for debugging), ``None`` /
``"processes"`` (a local process pool, the default), or Dask distributed when
given a scheduler address (``"tcp://host:8786"``, ``"dask://host:8786"``) or a
``distributed.Client``. Dask needs ``pip install 'salesaudit[cluster]'`` and
salesaudit installed on the workers.

>>> scenarios = grid(c=[2, 3], lam=1.5, mu=1.0, horizon=200.0, warmup=20.0)
>>> scenarios[0]
{'c': 2, 'lam': 1.5, 'mu': 1.0, 'horizon': 200.0, 'warmup': 20.0}
>>> res = run_sweep(mmc_scenario, scenarios, replications=4, seed=1, executor="serial", progress=False)
>>> res[["scenario", "replication", "c"]].drop_duplicates("scenario").values.tolist()
[[0, 0, 2], [1, 0, 3]]
>>> res.equals(run_sweep(mmc_scenario, scenarios, replications=4, seed=1, executor="serial", progress=False))
True
>>> s = summarise(res, ["p_wait"])
>>> bool((s["p_wait_lo"] <= s["p_wait_mean"]).all() and (s["p_wait_mean"] <= s["p_wait_hi"]).all())
True
>>> probability(res, "p_wait < 0.5")[["scenario", "c", "k", "n"]].values.tolist()
[[0, 2, 0, 4], [1, 3, 4, 4]]
"""
from __future__ import annotations

import itertools
import math
import os
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError

__all__ = ["run_sweep", "summarise", "probability", "grid", "mmc_scenario", "ScenarioError"]

_RESERVED = ("scenario", "replication")
# default chunking: about this many tasks per worker -- fine enough for a moving progress bar and a
# balanced tail, coarse enough that the ~1 ms per task of a fork pool (a few ms on Dask) is noise
_TASKS_PER_WORKER = 50


class ScenarioError(RuntimeError):
    """The scenario function failed (or its worker died) for a named scenario and replication."""


# ---------------------------------------------------------------------------
# scenarios


def grid(**axes) -> list[dict]:
    """Every combination of the axes, as scenario dicts, the last axis varying fastest.

    A value that is a list, tuple, range, numpy array or pandas Series is an
    axis; anything else (a number, a string, a dict) is a constant put into
    every scenario.

    >>> grid(managers=[8, 10], limit=[20, 30])
    [{'managers': 8, 'limit': 20}, {'managers': 8, 'limit': 30}, {'managers': 10, 'limit': 20}, {'managers': 10, 'limit': 30}]
    >>> grid(managers=[8, 10], routing="round_robin")
    [{'managers': 8, 'routing': 'round_robin'}, {'managers': 10, 'routing': 'round_robin'}]
    """
    names = list(axes)
    values = []
    for name in names:
        v = axes[name]
        if isinstance(v, (list, tuple, range, np.ndarray, pd.Series, pd.Index)):
            v = [x.item() if isinstance(x, np.generic) else x for x in v]
            if not v:
                raise ValueError(f"grid axis {name!r} is empty")
            values.append(v)
        else:
            values.append([v])
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def mmc_scenario(scenario: dict, seed: np.random.SeedSequence) -> dict:
    """Scenario function for :func:`run_sweep`: one :func:`~salesaudit.sim.queue.simulate_mmc` run.

    The scenario holds the keyword arguments of ``simulate_mmc`` (``lam``,
    ``mu``, ``c``, ``horizon`` and optionally ``warmup``, ``sla_t``).
    """
    from .queue import simulate_mmc

    return simulate_mmc(**scenario, seed=seed)


def _as_scenarios(scenarios) -> list[dict]:
    if isinstance(scenarios, pd.DataFrame):
        out = scenarios.to_dict("records")
    elif isinstance(scenarios, Mapping):
        raise TypeError("scenarios must be a list of dicts or a DataFrame, not one dict: wrap it in a list")
    else:
        out = list(scenarios)
    for i, s in enumerate(out):
        if not isinstance(s, Mapping):
            raise TypeError(f"scenario {i} is a {type(s).__name__}, not a dict")
        bad = [k for k in s if k in _RESERVED]
        if bad:
            raise ValueError(f"scenario {i} uses the reserved key(s) {bad}: 'scenario' and 'replication' are columns of the result")
    return [{str(k) if not isinstance(k, str) else k: (v.item() if isinstance(v, np.generic) else v) for k, v in s.items()} for s in out]


def _label(i: int, scenario: dict, limit: int = 200) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in scenario.items())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"scenario {i} ({text})"


# ---------------------------------------------------------------------------
# running one task (in a worker)


def _call(func, scenario: dict, i: int, r: int, entropy) -> dict:
    metrics = func(dict(scenario), np.random.SeedSequence(entropy, spawn_key=(i, r)))
    if not isinstance(metrics, Mapping):
        raise TypeError(f"the scenario function returned a {type(metrics).__name__}, expected a dict of metrics")
    return dict(metrics)


def _run_chunk(func, scenario: dict, i: int, reps: tuple[int, ...], entropy) -> tuple:
    """Run replications ``reps`` of scenario ``i``; never raises (an error comes back as data).

    Returns ``("ok", [metrics, ...])`` or ``("error", r, "Type: message", traceback_text)``:
    exceptions are not pickled, so an unpicklable exception cannot break the pool.
    """
    out = []
    for r in reps:
        try:
            out.append(_call(func, scenario, i, r, entropy))
        except Exception as exc:  # reported with the scenario named, in the caller
            return ("error", r, f"{type(exc).__name__}: {exc}", traceback.format_exc())
    return ("ok", out)


def _failure(i: int, scenario: dict, r, what: str, tb: str | None = None) -> ScenarioError:
    where = _label(i, scenario) + (f", replication {r}" if r is not None else "")
    msg = f"{where} failed: {what}"
    if tb:
        msg += "\n\nTraceback in the worker:\n" + tb.rstrip()
    return ScenarioError(msg)


# ---------------------------------------------------------------------------
# executors


def _is_dask_client(obj) -> bool:
    return type(obj).__module__.startswith("distributed") and hasattr(obj, "scheduler_info")


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ParameterError(
            "executor",
            [
                "a Dask scheduler address was given but the Dask 'distributed' package is not installed. "
                "How to fix: pip install 'salesaudit[cluster]' (or run the sweep on the local process pool: executor=None)."
            ],
        ) from None
    return distributed


def _mp_context():
    """The multiprocessing context of the local pool: ``fork`` where the OS has it.

    Measured on Linux (2 workers, 200 M/M/c replications of a few ms): the whole
    sweep takes 0.19 s with fork, 2.0-2.3 s with forkserver or spawn, whose fresh
    interpreters import numpy, pandas and SimPy again (forkserver with those
    modules preloaded still pays 2 s for its first pool). Fork also runs
    functions defined in a notebook or a script's ``__main__`` (the children
    inherit them), which forkserver / spawn cannot import, and it stayed correct
    with a live Dask client's threads in the parent (30 sweeps). It is requested
    explicitly because Python 3.14 changes the Linux default to forkserver; pass
    your own ``ProcessPoolExecutor(mp_context=...)`` as ``executor`` to choose.
    """
    import multiprocessing as mp

    return mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()


def _check_dask_workers(client) -> None:
    """Clear error when the cluster has no worker or a worker cannot import salesaudit."""
    info = client.scheduler_info()
    if not info.get("workers"):
        try:
            client.wait_for_workers(1, timeout=30)
        except Exception:
            raise ParameterError("executor", [f"the Dask cluster at {client.scheduler.address} has no workers. How to fix: start at least one `dask worker {client.scheduler.address}`."]) from None

    def probe():  # pickled by value: it must not need salesaudit to load
        try:
            import salesaudit

            return "ok " + getattr(salesaudit, "__version__", "?")
        except Exception as exc:  # pragma: no cover - depends on the remote workers
            return f"{type(exc).__name__}: {exc}"

    bad = {w: r for w, r in client.run(probe).items() if not str(r).startswith("ok")}
    if bad:
        worker, reason = next(iter(bad.items()))
        raise ParameterError(
            "executor",
            [f"{len(bad)} Dask worker(s) cannot import salesaudit (e.g. {worker}: {reason}). How to fix: install it on the workers, "
             "pip install 'salesaudit[cluster]', in the same environment as the workers run in."],
        )


def _workers_of(client) -> int:
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:
        return 1


# ---------------------------------------------------------------------------
# the sweep


def run_sweep(
    func: Callable[[dict, np.random.SeedSequence], Mapping[str, float]],
    scenarios: list[dict] | pd.DataFrame,
    replications: int,
    seed: int | None = 0,
    executor: str | Any | None = None,
    workers: int | None = None,
    progress: bool | None = True,
    chunk: int | None = None,
    desc: str = "scenarios",
    common_seeds: bool = False,
) -> pd.DataFrame:
    """Run ``replications`` replications of ``func`` for every scenario; one row per (scenario, replication).

    ``func(scenario, seed)`` gets a copy of the scenario dict and a
    ``numpy.random.SeedSequence`` and returns one replication's metrics as a
    dict of numbers. For the process pool and Dask it must be a module-level
    (picklable) function. Replication ``r`` of scenario ``i`` gets
    ``SeedSequence(seed, spawn_key=(i, r))`` whatever the executor, so the
    result does not depend on it. ``seed=None`` draws fresh entropy once (kept
    in ``result.attrs["seed"]``). ``common_seeds=True`` gives replication ``r``
    of every scenario the same seed ``SeedSequence(seed, spawn_key=(0, r))``
    (common random numbers: scenarios then differ by their decisions, not by
    their luck, and their differences are measured far more precisely).

    ``executor``: ``None`` or ``"processes"`` -- a local process pool of
    ``workers`` processes (default ``os.cpu_count()``); ``"serial"`` -- in this
    process; a scheduler address (``"tcp://host:8786"``, ``"dask://host:8786"``,
    any ``scheme://``) or a ``distributed.Client`` -- Dask distributed (a client
    made from an address is closed at the end, a given one is left open); or any
    ``concurrent.futures.Executor`` (left open).

    Several replications of a scenario go in one task (``chunk`` of them;
    default: about 50 tasks per worker, never more than ``replications``), and
    a text progress bar on stderr advances as each task finishes
    (``progress=True``; ``None``: only when stderr is a terminal; never a
    notebook widget, which a saved notebook or report shows blank). An error in ``func`` stops the sweep with a :class:`ScenarioError`
    that names the scenario and replication and carries the worker's traceback.

    Returns the columns ``scenario`` (position in ``scenarios``),
    ``replication``, the scenario's keys and the metrics, sorted by
    ``(scenario, replication)``; ``attrs`` holds ``scenario_keys``, ``metrics``,
    ``seed`` and ``replications`` for :func:`summarise`.
    """
    if not callable(func):
        raise TypeError("func must be a function func(scenario: dict, seed: SeedSequence) -> dict")
    if int(replications) != replications or replications < 1:
        raise ValueError(f"need at least one replication, got {replications!r}")
    replications = int(replications)
    if chunk is not None and (int(chunk) != chunk or chunk < 1):
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    if workers is not None and (int(workers) != workers or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    scen = _as_scenarios(scenarios)
    entropy = np.random.SeedSequence(seed).entropy if seed is None else seed
    keys = list(dict.fromkeys(k for s in scen for k in s))

    mode, client, own_client = _resolve_executor(executor)
    try:
        if mode == "dask":
            n_workers = _workers_of(client)
        elif mode == "serial":
            n_workers = 1
        else:
            # SALESAUDIT_WORKERS: set by `salesaudit run` for notebooks that run side by side, so that
            # one notebook's pool does not fight the others for the same cores
            n_workers = int(workers or os.environ.get("SALESAUDIT_WORKERS") or os.cpu_count() or 1)
            if n_workers == 1 and mode == "processes":
                mode = "serial"  # a pool of one process only adds its start-up; the numbers are the same
        total = len(scen) * replications
        if chunk is None:
            chunk = max(1, min(replications, math.ceil(total / (_TASKS_PER_WORKER * n_workers)))) if total else 1
        chunk = min(int(chunk), replications)
        tasks = [(i, tuple(range(r0, min(r0 + chunk, replications)))) for i in range(len(scen)) for r0 in range(0, replications, chunk)]
        results: dict[int, list] = {i: [None] * replications for i in range(len(scen))}

        import sys

        from tqdm.std import tqdm  # text on stderr, never a notebook widget (a saved widget is blank offline)

        if progress is None:  # only where someone watches a terminal
            progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
        bar = tqdm(total=total, unit="run", desc=desc, disable=not progress or not tasks, leave=True, file=sys.stderr)
        seeds = (lambda i: 0) if common_seeds else (lambda i: i)
        left = [replications] * len(scen)

        def done(i: int, reps: tuple, metrics: list) -> None:
            for r, m in zip(reps, metrics):
                results[i][r] = m
            left[i] -= len(reps)
            bar.update(len(reps))
            bar.set_postfix_str(f"{sum(1 for x in left if x == 0)}/{len(scen)} {desc}", refresh=False)

        try:
            if mode == "serial":
                _serial(func, scen, tasks, entropy, done, seeds)
            elif mode == "dask":
                _dask(client, func, scen, tasks, entropy, done, seeds)
            else:
                _pool(executor if mode == "executor" else None, func, scen, tasks, entropy, done, min(n_workers, max(1, len(tasks))), seeds)
        finally:
            bar.close()
    finally:
        if own_client and client is not None:
            client.close()

    rows = [{"scenario": i, "replication": r, **scen[i], **_check_metrics(i, scen[i], r, results[i][r], keys)} for i in range(len(scen)) for r in range(replications)]
    df = pd.DataFrame(rows, columns=None if rows else list(_RESERVED) + keys)
    metrics = [c for c in df.columns if c not in _RESERVED and c not in keys]
    df.attrs.update({"scenario_keys": keys, "metrics": metrics, "seed": entropy, "replications": replications})
    return df


def _check_metrics(i: int, scenario: dict, r: int, m: dict, keys: list[str]) -> dict:
    clash = [k for k in m if k in _RESERVED or k in keys]
    if clash:
        raise _failure(i, scenario, r, f"the metric name(s) {clash} clash with the scenario keys or the columns 'scenario'/'replication'; rename them")
    return m


def _resolve_executor(executor):
    """``(mode, client, own_client)`` with mode one of serial / processes / executor / dask."""
    if executor is None or (isinstance(executor, str) and executor.lower() in ("processes", "process", "pool", "local")):
        return "processes", None, False
    if isinstance(executor, str):
        if executor.lower() == "serial":
            return "serial", None, False
        if "://" not in executor:
            raise ParameterError("executor", [f"{executor!r} is not an executor: use None or 'processes' (local process pool), 'serial', or a Dask scheduler address such as 'tcp://host:8786'."])
        distributed = _import_distributed()
        address = "tcp://" + executor[len("dask://"):] if executor.lower().startswith("dask://") else executor
        try:
            client = distributed.Client(address, set_as_default=False)
        except Exception as exc:
            raise ParameterError("executor", [f"cannot connect to the Dask scheduler at {address} ({type(exc).__name__}: {exc}). "
                                              "How to fix: check the address and that `dask scheduler` runs there."]) from None
        try:
            _check_dask_workers(client)
        except BaseException:
            client.close()
            raise
        return "dask", client, True
    if _is_dask_client(executor):
        _check_dask_workers(executor)
        return "dask", executor, False
    if hasattr(executor, "submit"):
        return "executor", None, False
    raise TypeError(f"executor must be None, 'processes', 'serial', a Dask scheduler address, a distributed.Client or a concurrent.futures.Executor, not {type(executor).__name__}")


def _serial(func, scen, tasks, entropy, done, seeds) -> None:
    for i, reps in tasks:
        out = []
        for r in reps:
            try:
                out.append(_call(func, scen[i], seeds(i), r, entropy))
            except Exception as exc:
                raise _failure(i, scen[i], r, f"{type(exc).__name__}: {exc}") from exc
        done(i, reps, out)


def _check_picklable(func, scen) -> None:
    """Pickle the function and the scenarios here, as the pool would, before any task is sent.

    A work item that fails to pickle inside ``ProcessPoolExecutor`` can leave its
    ``shutdown()`` waiting forever (CPython 3.11: about one run in three hung here), so
    that failure must never reach the pool.
    """
    from multiprocessing.reduction import ForkingPickler

    what = "the scenario function"
    try:
        ForkingPickler.dumps(func)
        for i, sc in enumerate(scen):
            what = _label(i, sc)
            ForkingPickler.dumps(sc)
    except Exception as exc:
        raise ScenarioError(
            f"cannot send {what} to the process pool: {type(exc).__name__}: {exc}. The scenario function must be a "
            "module-level function (not a lambda or a function defined inside another) and the scenarios picklable; "
            "executor='serial' runs anything."
        ) from exc


def _take(result, i: int, reps: tuple, scen, done, hint) -> None:
    """Hand a finished chunk to ``done``, or raise the :class:`ScenarioError` of its failure.

    ``result()`` returns the chunk (:func:`_run_chunk`) or raises what the executor raised;
    ``hint(exc)`` adds the executor's advice to that message.
    """
    try:
        out = result()
    except Exception as exc:
        raise _failure(i, scen[i], f"{reps[0]}-{reps[-1]}", f"{type(exc).__name__}: {exc}{hint(exc)}") from exc
    if out[0] == "error":
        raise _failure(i, scen[i], out[1], out[2], out[3])
    done(i, reps, out[1])


def _pool_hint(exc) -> str:  # the worker died, or func / its result could not be (un)pickled
    if "pickl" in f"{type(exc).__name__} {exc}".lower():
        return " (the scenario function must be a module-level function and the scenarios picklable; executor='serial' runs anything)"
    return ""


def _dask_hint(exc) -> str:  # deserialisation on the worker, killed worker, ...
    return " (is the scenario function importable on the workers?)" if isinstance(exc, (ImportError, AttributeError)) else ""


def _pool(pool, func, scen, tasks, entropy, done, n_workers: int, seeds) -> None:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _check_picklable(func, scen)
    own = pool is None
    if own:
        pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=_mp_context())
    futures = {}
    ok = False
    try:
        try:
            for i, reps in tasks:
                futures[pool.submit(_run_chunk, func, scen[i], seeds(i), reps, entropy)] = (i, reps)
        except Exception as exc:  # e.g. func cannot be pickled
            raise ScenarioError(f"cannot send the sweep to the process pool: {type(exc).__name__}: {exc}. The scenario function must be a module-level "
                                "function and the scenarios picklable; executor='serial' runs anything.") from exc
        for fut in as_completed(futures):
            i, reps = futures[fut]
            _take(fut.result, i, reps, scen, done, _pool_hint)
        ok = True
    finally:
        if not ok:
            for fut in futures:
                fut.cancel()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _dask(client, func, scen, tasks, entropy, done, seeds) -> None:
    import uuid

    distributed = _import_distributed()
    token = uuid.uuid4().hex[:8]
    futures = {}
    ok = False
    try:
        for i, reps in tasks:
            fut = client.submit(_run_chunk, func, scen[i], seeds(i), reps, entropy, pure=False, key=f"sweep-{token}-{i}-{reps[0]}")
            futures[fut.key] = (fut, i, reps)
        for fut in distributed.as_completed([f for f, _, _ in futures.values()], loop=client.loop):
            _, i, reps = futures[fut.key]
            _take(fut.result, i, reps, scen, done, _dask_hint)
        ok = True
    finally:
        if not ok:
            client.cancel([f for f, _, _ in futures.values()])


# ---------------------------------------------------------------------------
# summaries


def _groups(by) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def _keys_and_metrics(results: pd.DataFrame, by: list[str], metrics) -> tuple[list[str], list[str]]:
    keys = [k for k in results.attrs.get("scenario_keys", []) if k in results.columns and k not in by]
    if metrics is None:
        metrics = results.attrs.get("metrics")
        if metrics is None:
            metrics = [c for c in results.select_dtypes("number").columns if c not in by and c not in _RESERVED and c not in keys]
        metrics = [m for m in metrics if m in results.columns and m not in by]
    else:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        missing = [m for m in metrics if m not in results.columns]
        if missing:
            raise KeyError(f"no metric column(s) {missing} in the results; they have {list(results.columns)}")
    missing = [b for b in by if b not in results.columns]
    if missing:
        raise KeyError(f"cannot group by {missing}: not a column of the results")
    return keys, metrics


def _key_frame(results: pd.DataFrame, by: list[str], keys: list[str]) -> pd.DataFrame:
    """The group columns plus the scenario keys (their first value in each group), one row per group."""
    g = results.groupby(by, sort=True, dropna=False)
    if keys:
        out = g[keys].first().reset_index()
    else:
        out = g.size().reset_index()[by]
    return out


def summarise(results: pd.DataFrame, metrics: list[str] | None = None, level: float = 0.95, by="scenario") -> pd.DataFrame:
    """Per scenario (or per ``by`` group): mean, t confidence interval of the mean, and 5/50/95 % quantiles.

    For every metric ``m`` the columns are ``m_mean``, ``m_lo``, ``m_hi`` (the
    Student-t interval of the mean at ``level``: how well the replications pin
    down the expected value) and ``m_q05``, ``m_q50``, ``m_q95`` (quantiles of
    the replications, linear interpolation: the band one quarter or one year
    falls in). NaN values are left out; a group with fewer than two values has
    NaN bounds. The group columns, the scenario keys and ``replications`` (rows
    in the group) come first. ``metrics`` defaults to every metric of the
    sweep.
    """
    if not 0 < level < 1:
        raise ValueError(f"the level must be in (0, 1), got {level}")
    by = _groups(by)
    keys, metrics = _keys_and_metrics(results, by, metrics)
    out = _key_frame(results, by, keys)
    g = results.groupby(by, sort=True, dropna=False)
    out["replications"] = g.size().to_numpy()
    cols = {}
    for m in metrics:
        x = g[m]
        n = x.count().to_numpy().astype(float)
        mean = x.mean().to_numpy(dtype=float)
        sd = x.std(ddof=1).to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            half = np.where(n >= 2, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n), np.nan)
        q = x.quantile([0.05, 0.5, 0.95]).unstack()
        cols[f"{m}_mean"] = mean
        cols[f"{m}_lo"] = mean - half
        cols[f"{m}_hi"] = mean + half
        cols[f"{m}_q05"] = q[0.05].to_numpy(dtype=float)
        cols[f"{m}_q50"] = q[0.5].to_numpy(dtype=float)
        cols[f"{m}_q95"] = q[0.95].to_numpy(dtype=float)
    return pd.concat([out, pd.DataFrame(cols, index=out.index)], axis=1)


def probability(
    results: pd.DataFrame,
    condition: Callable[[pd.DataFrame], pd.Series] | str,
    by="scenario",
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of replications meeting ``condition`` per scenario, with a Wilson interval.

    ``condition`` is a function of the results frame returning a boolean
    Series (``lambda d: d.service_level >= 0.8``) or a :meth:`DataFrame.eval`
    expression (``"service_level >= 0.8"``). A replication whose metric is NaN
    does not meet a comparison. Columns: the group columns, the scenario keys,
    ``k`` (replications meeting it), ``n``, ``p = k / n``, ``lo``, ``hi``.
    """
    from ..stats import wilson

    if not 0 < level < 1:
        raise ValueError(f"the level must be in (0, 1), got {level}")
    by = _groups(by)
    keys, _ = _keys_and_metrics(results, by, [])
    hit = results.eval(condition) if isinstance(condition, str) else condition(results)
    hit = pd.Series(hit, index=results.index) if not isinstance(hit, pd.Series) else hit
    if hit.dtype != bool:
        if hit.isna().any() or not set(pd.unique(hit)) <= {True, False, 0, 1}:
            raise ValueError(f"the condition must give True/False per replication, got dtype {hit.dtype}")
        hit = hit.astype(bool)
    out = _key_frame(results, by, keys)
    g = hit.groupby([results[b] for b in by], sort=True, dropna=False)
    k = g.sum().to_numpy(dtype=float)
    n = g.size().to_numpy(dtype=float)
    lo, hi = wilson(k, n, alpha=1 - level)
    out["k"] = k.astype(int)
    out["n"] = n.astype(int)
    out["p"] = k / n
    out["lo"] = np.asarray(lo, dtype=float)
    out["hi"] = np.asarray(hi, dtype=float)
    return out
