"""Effect sizes with intervals and the flag rule (salesaudit.stats.effect), checked against outside references."""
from __future__ import annotations

import numpy as np
import pytest

from salesaudit.stats.effect import judge, km_median_ci, median_ratio, rate_difference

# Newcombe RG (1998), Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Statistics in Medicine 17:873-890, Table II, method 10.
NEWCOMBE_METHOD_10 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize("counts,interval", NEWCOMBE_METHOD_10)
def test_rate_difference_matches_newcombe_1998_table_ii(counts, interval):
    d, lo, hi = rate_difference(*counts)
    k1, n1, k0, n0 = counts
    assert d == pytest.approx(k1 / n1 - k0 / n0)
    assert (round(lo, 4), round(hi, 4)) == interval


def test_rate_difference_vectorised_and_empty_groups():
    d, lo, hi = rate_difference([56, 9, 0], [70, 10, 0], [48, 3, 1], [80, 10, 5])
    assert np.round(lo[:2], 4).tolist() == [0.0524, 0.1705]
    assert np.isnan(d[2]) and np.isnan(lo[2]) and np.isnan(hi[2])


# The aml data (Miller 1981; R's survival::aml, 23 patients): lifelines 0.30.3,
# KaplanMeierFitter().fit(T, E) and median_survival_times(confidence_interval_) give
# median 27 with the interval 13-34 for all patients, and 31 with 13-inf for the maintained arm.
AML_T = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
AML_E = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]


def test_km_median_ci_matches_lifelines_on_aml():
    assert km_median_ci(AML_T, np.array(AML_E, dtype=bool)) == (27.0, 13.0, 34.0)
    median, lo, hi = km_median_ci(AML_T[:11], np.array(AML_E[:11], dtype=bool))
    assert (median, lo) == (31.0, 13.0) and np.isnan(hi)


def test_median_ratio_interval_covers_the_true_ratio_about_95_percent_of_the_time():
    """Lognormal stays, 30 % censored at random: the ratio of medians is 2 by construction."""
    rng = np.random.default_rng(20261130)
    covered, runs = 0, 400
    for _ in range(runs):
        a = rng.lognormal(np.log(10.0), 0.8, 150)
        b = rng.lognormal(np.log(5.0), 0.8, 600)
        ca, cb = rng.random(150) < 0.3, rng.random(600) < 0.3
        a = np.where(ca, a * rng.random(150), a)  # censored earlier than the event
        b = np.where(cb, b * rng.random(600), b)
        r, lo, hi = median_ratio(*km_median_ci(a, ~ca), *km_median_ci(b, ~cb))
        covered += lo <= 2.0 <= hi
    assert 0.91 <= covered / runs <= 0.99


def test_judge_needs_significance_and_size():
    v = judge([0.001, 0.001, 0.2, 0.001, 0.001, np.nan], [-0.10, 0.01, -0.30, 0.07, -0.05, 0.1],
              alpha=0.05, threshold=0.05, judgeable=[True, True, True, True, True, True])
    assert v.tolist() == ["worse", "small", "same", "better", "worse", "not_judged"]
    assert judge([0.001], [-0.3], alpha=0.05, threshold=0.05, judgeable=[False]).tolist() == ["not_judged"]
    # durations: a ratio both ways, and the absolute difference must also reach the threshold
    v = judge([1e-9] * 4, [1.3, 1.3, 0.7, 1.1], alpha=0.05, threshold=1.25, ratio=True, higher_is_worse=True,
              extra=[2.0, 0.2, -2.0, 5.0], extra_threshold=1.0)
    assert v.tolist() == ["worse", "small", "better", "small"]
