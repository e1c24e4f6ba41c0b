"""A SimPy M/M/c queue: the validated core of the capacity simulation.

Arrivals are Poisson(``lam``), ``c`` identical servers share one FIFO queue
(:class:`simpy.Resource`) and service times are exponential(``mu``). With one
stage and no calendar this is exactly the Erlang C model of :mod:`.erlang`, and
the replications must reproduce its probability of waiting, ASA and service
level within their confidence interval.

Randomness comes only from ``numpy.random.default_rng(seed)``; both random
draws of a customer (inter-arrival gap and service time) are taken at its
arrival, so the stream does not depend on event ordering and the same seed
always gives the same result.

>>> r = simulate_mmc(lam=3.0, mu=1.0, c=6, horizon=500.0, warmup=50.0, seed=1)
>>> r == simulate_mmc(lam=3.0, mu=1.0, c=6, horizon=500.0, warmup=50.0, seed=1)
True
>>> sorted(r)[:4]
['asa', 'mean_in_system', 'mean_in_system_little', 'n']
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd
import simpy
from scipy import stats

__all__ = ["simulate_mmc", "replicate", "confidence_interval"]


def _overlap(lo: np.ndarray, hi: np.ndarray, start: float, end: float) -> float:
    """Total length of the intervals ``[lo_i, hi_i]`` inside the window ``[start, end]``."""
    return float(np.clip(np.minimum(hi, end) - np.maximum(lo, start), 0.0, None).sum())


def simulate_mmc(
    lam: float,
    mu: float,
    c: int,
    horizon: float,
    warmup: float = 0.0,
    seed: int | np.random.SeedSequence | None = None,
    sla_t: float = 0.0,
) -> dict:
    """Simulate one replication of M/M/c and return its statistics.

    Customers arrive during ``[0, horizon)``; those arriving before ``warmup``
    are discarded from the statistics (they only bring the queue to its
    steady state). After ``horizon`` no one arrives and the customers already
    present are served to the end, so every counted wait is complete.

    Returns a dict with

    - ``n``: customers counted (arrived in ``[warmup, horizon)``),
    - ``p_wait``: share of them with a wait > 0,
    - ``asa``: their mean wait in queue,
    - ``service_level``: share with wait <= ``sla_t``,
    - ``utilisation``: time-average busy servers / ``c`` over ``[warmup, horizon]``,
    - ``mean_in_system``: time-average number in system over the same window,
    - ``mean_in_system_little``: Little's law estimate ``lam_hat * W`` with the
      measured arrival rate and mean time in system of the counted customers.
    """
    if lam <= 0 or mu <= 0 or c < 1:
        raise ValueError(f"need lam > 0, mu > 0, c >= 1; got lam={lam}, mu={mu}, c={c}")
    if not 0 <= warmup < horizon:
        raise ValueError(f"need 0 <= warmup < horizon; got warmup={warmup}, horizon={horizon}")

    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    timeout, request, release, process = env.timeout, servers.request, servers.release, env.process
    arrived: list[float] = []
    started: list[float] = []
    done: list[float] = []

    def customer(i: int, service: float):
        req = request()
        yield req
        started[i] = env.now
        yield timeout(service)
        release(req)
        done[i] = env.now

    def arrivals():
        i = 0
        block = int(lam * horizon * 1.1) + 64
        while True:
            # draw in blocks: one gap and one service time per customer, in arrival order
            gaps = rng.exponential(1.0 / lam, block).tolist()
            services = rng.exponential(1.0 / mu, block).tolist()
            for gap, service in zip(gaps, services):
                if env.now + gap >= horizon:
                    return
                yield timeout(gap)
                arrived.append(env.now)
                started.append(math.nan)
                done.append(math.nan)
                process(customer(i, service))
                i += 1

    process(arrivals())
    env.run()  # arrivals stop at the horizon; everyone present is served to the end

    a, s, d = np.asarray(arrived), np.asarray(started), np.asarray(done)
    window = horizon - warmup
    utilisation = _overlap(s, d, warmup, horizon) / (c * window)
    mean_in_system = _overlap(a, d, warmup, horizon) / window
    counted = a >= warmup
    w = (s - a)[counted]
    n = int(w.size)
    if n == 0:
        nan = math.nan
        return {"n": 0, "p_wait": nan, "asa": nan, "service_level": nan, "utilisation": utilisation,
                "mean_in_system": mean_in_system, "mean_in_system_little": nan}
    return {
        "n": n,
        "p_wait": float(np.mean(w > 0.0)),
        "asa": float(w.mean()),
        "service_level": float(np.mean(w <= sla_t)),
        "utilisation": utilisation,
        "mean_in_system": mean_in_system,
        "mean_in_system_little": n / window * float((d - a)[counted].mean()),
    }


def replicate(fn: Callable[..., dict], n_reps: int, seed: int | None = None, **kw) -> pd.DataFrame:
    """Run ``fn(seed=child, **kw)`` ``n_reps`` times with independent child seeds.

    The children come from ``np.random.SeedSequence(seed).spawn(n_reps)``, so
    the replications are statistically independent and the whole table is
    reproducible from ``seed``. Returns one row per replication (column ``rep``
    plus the keys of the dicts ``fn`` returns).

    >>> df = replicate(simulate_mmc, 3, seed=7, lam=3.0, mu=1.0, c=6, horizon=200.0, warmup=20.0)
    >>> len(df), df["rep"].tolist()
    (3, [0, 1, 2])
    """
    if n_reps < 1:
        raise ValueError(f"need at least one replication, got {n_reps}")
    children = np.random.SeedSequence(seed).spawn(n_reps)
    rows = [{"rep": i, **fn(seed=child, **kw)} for i, child in enumerate(children)]
    return pd.DataFrame(rows)


def confidence_interval(series, level: float = 0.95) -> tuple[float, float, float]:
    """Student-t confidence interval of the mean: ``(mean, low, high)``.

    >>> m, lo, hi = confidence_interval([1.0, 2.0, 3.0])
    >>> m, round(lo, 3), round(hi, 3)
    (2.0, -0.484, 4.484)
    """
    x = np.asarray(series, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 2:
        raise ValueError("need at least two values for a confidence interval")
    if not 0 < level < 1:
        raise ValueError(f"the level must be in (0, 1), got {level}")
    mean = float(x.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half
