"""Erlang B and Erlang C formulas for the M/M/c queue.

Notation: ``lam`` is the arrival rate, ``mu`` the service rate of one server
(1 / mean handling time), ``c`` the number of servers and ``a = lam / mu`` the
offered load in Erlangs. All rates must be in the same time unit as ``t``.

The probabilities are computed through the Erlang B recursion

    B(0, a) = 1,   B(k, a) = a B(k-1, a) / (k + a B(k-1, a)),

which never forms ``a**c`` or ``c!`` and is therefore stable for hundreds of
servers, and then ``C(c, a) = c B / (c - a (1 - B))``.

The classic textbook example (100 calls per 30 minutes, 3 minutes handling
time, so a = 10 Erlangs, target 80 % answered within 20 seconds):

>>> round(erlang_c(11, 10.0), 4), round(erlang_c(12, 10.0), 4), round(erlang_c(14, 10.0), 4)
(0.6821, 0.4494, 0.1741)
>>> lam, mu = 100 / 30, 1 / 3            # per minute
>>> staff_for(lam, mu, 0.80, 20 / 60)    # agents needed for 80/20
14
>>> round(service_level(13, lam, mu, 20 / 60), 4), round(service_level(14, lam, mu, 20 / 60), 4)
(0.7956, 0.8884)
"""
from __future__ import annotations

import math

__all__ = ["erlang_b", "erlang_c", "asa", "service_level", "occupancy", "staff_for"]


def _check(c: int, a: float) -> None:
    if int(c) != c or c < 1:
        raise ValueError(f"the number of servers must be a positive integer, got {c!r}")
    if not a >= 0:
        raise ValueError(f"the offered load must be >= 0, got {a!r}")


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c (Erlang B) with ``c`` servers and load ``a`` Erlangs.

    >>> round(erlang_b(1, 1.0), 4)
    0.5
    >>> round(erlang_b(10, 10.0), 4)
    0.2146
    """
    _check(c, a)
    b = 1.0
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival has to wait in M/M/c (Erlang C).

    ``a`` is the offered load ``lam / mu`` in Erlangs. The queue is stable only
    for ``a < c``; for ``a >= c`` the queue grows without bound, every arrival
    eventually waits, and the function returns ``1.0``.

    >>> round(erlang_c(1, 0.5), 4)           # M/M/1: P(wait) = rho
    0.5
    >>> round(erlang_c(11, 10.0), 4)
    0.6821
    >>> erlang_c(10, 10.0)
    1.0
    """
    _check(c, a)
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def _stable(c: int, lam: float, mu: float) -> None:
    if lam < 0 or mu <= 0:
        raise ValueError(f"need lam >= 0 and mu > 0, got lam={lam!r}, mu={mu!r}")
    if lam >= c * mu:
        raise ValueError(f"unstable queue: lam={lam} >= c*mu={c * mu}")


def asa(c: int, lam: float, mu: float) -> float:
    """Average speed of answer: mean wait in queue ``C(c, a) / (c mu - lam)``.

    Raises ``ValueError`` for an unstable queue (``lam >= c mu``).

    >>> round(asa(1, 0.5, 1.0), 4)           # M/M/1: rho / (mu - lam)
    1.0
    >>> round(asa(12, 100 / 30, 1 / 3) * 60, 1)   # seconds, textbook example
    40.4
    """
    _stable(c, lam, mu)
    return erlang_c(c, lam / mu) / (c * mu - lam)


def service_level(c: int, lam: float, mu: float, t: float) -> float:
    """Share of arrivals answered within ``t``: ``1 - C exp(-(c mu - lam) t)``.

    >>> round(service_level(1, 0.5, 1.0, 0.0), 4)
    0.5
    >>> round(service_level(14, 100 / 30, 1 / 3, 20 / 60), 4)
    0.8884
    """
    _stable(c, lam, mu)
    if t < 0:
        raise ValueError(f"the target time must be >= 0, got {t!r}")
    return 1.0 - erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)


def occupancy(c: int, lam: float, mu: float) -> float:
    """Server occupancy (utilisation) ``rho = lam / (c mu)``.

    >>> occupancy(10, 8.5, 1.0)
    0.85
    """
    if c < 1 or mu <= 0:
        raise ValueError(f"need c >= 1 and mu > 0, got c={c!r}, mu={mu!r}")
    return lam / (c * mu)


def staff_for(lam: float, mu: float, target_sl: float, t: float, max_c: int = 100_000) -> int:
    """Smallest number of servers whose service level within ``t`` reaches ``target_sl``.

    >>> staff_for(8.5, 1.0, 0.8, 0.1)
    12
    """
    if not 0 <= target_sl < 1:
        raise ValueError(f"the target service level must be in [0, 1), got {target_sl!r}")
    c = max(1, math.floor(lam / mu) + 1)
    while service_level(c, lam, mu, t) < target_sl:
        c += 1
        if c > max_c:
            raise ValueError(f"no staffing up to {max_c} servers reaches {target_sl}")
    return c
