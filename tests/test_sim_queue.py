"""The SimPy M/M/c core against queueing theory (Erlang B / Erlang C).

Published cases used:

- the Erlang C table for a = 10 Erlangs (C = 0.6821, 0.4494, 0.1741 for
  c = 11, 12, 14) -- the classic call-centre example of 100 calls per
  30 minutes at 3 minutes handling time, 80 % answered within 20 s, which
  needs 14 agents;
- a high-occupancy case, a = 8.5 Erlangs on c = 10 servers (rho = 0.85);
- a low-occupancy case, a = 3 Erlangs on c = 6 servers (rho = 0.5).

The simulated p_wait, ASA and service level must contain the Erlang C value
in the 95 % t-interval of the replications.
"""
from __future__ import annotations

import doctest
import math

import pytest

from salesaudit.sim import erlang, queue
from salesaudit.sim.erlang import asa, erlang_b, erlang_c, occupancy, service_level, staff_for
from salesaudit.sim.queue import confidence_interval, replicate, simulate_mmc


def direct_erlang_b(c: int, a: float) -> float:
    """Erlang B straight from its definition, with factorials."""
    return (a**c / math.factorial(c)) / sum(a**k / math.factorial(k) for k in range(c + 1))


def direct_erlang_c(c: int, a: float) -> float:
    """Erlang C straight from the textbook direct-sum formula."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_doctests():
    for module in (erlang, queue):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0


def test_erlang_b_recursion_against_factorial_formula():
    for c in range(1, 25):
        for a in (0.1, 0.5, 1.0, 3.0, 7.5, 10.0, 20.0):
            assert erlang_b(c, a) == pytest.approx(direct_erlang_b(c, a), rel=1e-12)


def test_erlang_c_against_table_values():
    # Erlang C table, a = 10 Erlangs
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert erlang_c(12, 10.0) == pytest.approx(0.4494, abs=5e-5)
    assert erlang_c(14, 10.0) == pytest.approx(0.1741, abs=5e-5)
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lam)
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert asa(1, 0.7, 1.0) == pytest.approx(0.7 / 0.3)
    # the independent direct-sum formula
    for c in range(1, 30):
        for a in (0.2, 0.9 * c, c - 0.5, c / 2):
            if a < c:
                assert erlang_c(c, a) == pytest.approx(direct_erlang_c(c, a), rel=1e-10)
    # overloaded: every arrival waits
    assert erlang_c(10, 10.0) == 1.0 and erlang_c(10, 12.0) == 1.0


def test_erlang_c_stable_for_large_systems():
    # factorials would overflow here; the recursion does not
    value = erlang_c(1000, 950.0)
    assert 0.0 < value < 1.0


def test_textbook_call_centre_staffing():
    # 100 calls / 30 min, 3 min handling time, 80 % within 20 s -> 14 agents
    lam, mu, t = 100 / 30, 1 / 3, 20 / 60
    assert occupancy(14, lam, mu) == pytest.approx(10 / 14)
    assert service_level(13, lam, mu, t) < 0.80 <= service_level(14, lam, mu, t)
    assert staff_for(lam, mu, 0.80, t) == 14
    assert service_level(14, lam, mu, t) == pytest.approx(0.8884, abs=5e-5)
    assert asa(14, lam, mu) * 60 == pytest.approx(7.84, abs=5e-3)  # seconds


def _check_against_erlang(lam, mu, c, sla_t, n_reps, horizon, warmup, seed):
    df = replicate(simulate_mmc, n_reps, seed=seed, lam=lam, mu=mu, c=c,
                   horizon=horizon, warmup=warmup, sla_t=sla_t)
    theory = {
        "p_wait": erlang_c(c, lam / mu),
        "asa": asa(c, lam, mu),
        "service_level": service_level(c, lam, mu, sla_t),
        "utilisation": occupancy(c, lam, mu),
    }
    for key, value in theory.items():
        _, lo, hi = confidence_interval(df[key])
        assert lo <= value <= hi, f"{key}: Erlang {value:.5f} outside 95% CI [{lo:.5f}, {hi:.5f}]"
    return df


def test_mmc_matches_erlang_c_high_occupancy():
    # a = 8.5 Erlangs on 10 servers, rho = 0.85; time unit = mean service time
    _check_against_erlang(lam=8.5, mu=1.0, c=10, sla_t=0.1, n_reps=30,
                          horizon=1200.0, warmup=100.0, seed=20240501)


def test_mmc_matches_erlang_c_low_occupancy():
    # a = 3 Erlangs on 6 servers, rho = 0.5
    _check_against_erlang(lam=3.0, mu=1.0, c=6, sla_t=0.1, n_reps=40,
                          horizon=4000.0, warmup=50.0, seed=20240502)


def test_mmc_matches_erlang_c_textbook_call_centre():
    # 100 calls / 30 min, 3 min handling, 12 agents (rho = 0.83), target 20 s; minutes
    _check_against_erlang(lam=100 / 30, mu=1 / 3, c=12, sla_t=20 / 60, n_reps=40,
                          horizon=6000.0, warmup=300.0, seed=20240503)


def test_littles_law_holds():
    r = simulate_mmc(lam=8.5, mu=1.0, c=10, horizon=2500.0, warmup=200.0, seed=11, sla_t=0.1)
    assert r["mean_in_system"] == pytest.approx(r["mean_in_system_little"], rel=0.02)
    # and both near the theoretical L = Lq + a
    theory_l = 8.5 * asa(10, 8.5, 1.0) + 8.5
    assert r["mean_in_system"] == pytest.approx(theory_l, rel=0.15)


def test_same_seed_same_results():
    kw = dict(lam=3.0, mu=1.0, c=6, horizon=300.0, warmup=30.0, sla_t=0.1)
    assert simulate_mmc(seed=5, **kw) == simulate_mmc(seed=5, **kw)
    assert simulate_mmc(seed=5, **kw) != simulate_mmc(seed=6, **kw)
    a = replicate(simulate_mmc, 4, seed=9, **kw)
    b = replicate(simulate_mmc, 4, seed=9, **kw)
    assert a.equals(b)
    assert a["asa"].nunique() == 4  # child seeds are independent, not copies
    assert not a.equals(replicate(simulate_mmc, 4, seed=10, **kw))


def test_confidence_interval_t_value():
    m, lo, hi = confidence_interval([1.0, 2.0, 3.0, 4.0])
    # t(0.975, 3) = 3.182446
    assert m == 2.5
    assert hi - m == pytest.approx(3.182446 * (math.sqrt(5 / 3) / 2), rel=1e-6)
    assert lo == pytest.approx(2 * m - hi)
