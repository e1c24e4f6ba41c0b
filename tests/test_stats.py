"""salesaudit.stats against outside references: textbook tables, published intervals,
hand computations (exact fractions) and independent implementations.

Each test is named for the reference it checks against.
"""
from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as sps
from scipy.optimize import brentq

from salesaudit.stats import (
    KM_COLUMNS,
    benjamini_hochberg,
    binomial_limits,
    binomial_pvalue,
    cif_at,
    cumulative_incidence,
    holm,
    kaplan_meier,
    km_quantile,
    km_quantiles,
    km_survival_at,
    logrank,
    wilson,
)

Z95 = sps.norm.ppf(0.975)

# Freireich et al. (1963), remission times in weeks (Kleinbaum & Klein, Survival Analysis, ch. 2).
# 6-MP arm: "+" marks a censored time.
SIX_MP = "6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+".split()
SIX_MP_T = np.array([float(x.rstrip("+")) for x in SIX_MP])
SIX_MP_E = np.array([not x.endswith("+") for x in SIX_MP])
PLACEBO_T = np.array([1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23], dtype=float)
PLACEBO_E = np.ones(PLACEBO_T.size, dtype=bool)


# --------------------------------------------------------------------------- Kaplan-Meier


def test_kaplan_meier_against_freireich_6mp_textbook():
    tab = kaplan_meier(SIX_MP_T, SIX_MP_E)
    assert list(tab.columns) == list(KM_COLUMNS)
    assert tab["time"].is_monotonic_increasing and tab["time"].is_unique
    assert tab["time"].tolist() == sorted(set(SIX_MP_T.tolist()))
    ev = tab[tab["events"] > 0].set_index("time")
    # Kleinbaum & Klein, table of the 6-MP group: (t_j, n_j, S(t_j))
    textbook = [(6, 21, 0.8571), (7, 17, 0.8067), (10, 15, 0.7529), (13, 12, 0.6902), (16, 11, 0.6275), (22, 7, 0.5378), (23, 6, 0.4482)]
    assert ev.index.tolist() == [t for t, _, _ in textbook]
    for t, n, s in textbook:
        assert ev.loc[t, "at_risk"] == n
        assert round(ev.loc[t, "survival"], 4) == s
    assert ev["events"].tolist() == [3, 1, 1, 1, 1, 1, 1]
    assert tab["censored"].sum() == 12 and tab["events"].sum() == 9
    # the exact product-limit values
    exact = F(1)
    for t, n, _ in textbook:
        d = int(ev.loc[t, "events"])
        exact *= F(n - d, n)
        assert ev.loc[t, "survival"] == pytest.approx(float(exact), abs=1e-12)
    assert km_quantile(SIX_MP_T, SIX_MP_E, 0.5) == 23.0
    assert km_survival_at(SIX_MP_T, SIX_MP_E, 12.9) == pytest.approx(0.7529, abs=5e-5)
    # the log-log interval brackets the estimate wherever it is defined
    inside = tab["survival"] < 1
    assert (tab.loc[inside, "ci_low"] < tab.loc[inside, "survival"]).all()
    assert (tab.loc[inside, "survival"] < tab.loc[inside, "ci_high"]).all()
    # Greenwood by hand at t = 13, then the log-log transform (Kalbfleisch & Prentice):
    # Var(log S) = sum d/(n(n-d)); se of log(-log S) = sqrt(Var)/|log S|; S^exp(+-z se)
    greenwood = F(3, 21 * 18) + F(1, 17 * 16) + F(1, 15 * 14) + F(1, 12 * 11)
    s13 = float(F(18, 21) * F(16, 17) * F(14, 15) * F(11, 12))
    se = math.sqrt(greenwood) / abs(math.log(s13))
    v = math.log(-math.log(s13))
    assert ev.loc[13, "ci_low"] == pytest.approx(math.exp(-math.exp(v + Z95 * se)), rel=1e-9)
    assert ev.loc[13, "ci_high"] == pytest.approx(math.exp(-math.exp(v - Z95 * se)), rel=1e-9)
    # to first order the log-log interval is S +- z SE(S), SE(S) = S sqrt(Greenwood sum)
    se_s = s13 * math.sqrt(greenwood)
    assert (ev.loc[13, "ci_high"] - ev.loc[13, "ci_low"]) / 2 == pytest.approx(Z95 * se_s, rel=0.02)


def test_km_quantiles_against_freireich_6mp_textbook():
    # S never reaches 0.2 (last S = 0.4482), so the 80th and 90th percentiles are unknown.
    q = km_quantiles(SIX_MP_T, SIX_MP_E)
    assert list(q) == [0.5, 0.8, 0.9]
    assert q[0.5] == 23.0 and math.isnan(q[0.8]) and math.isnan(q[0.9])
    # placebo arm, no censoring: S(8) = 8/21 is the first value <= 0.5; S(12) = 4/21 <= 0.2
    assert km_quantiles(PLACEBO_T, PLACEBO_E, (0.5, 0.8)) == {0.5: 8.0, 0.8: 12.0}


def test_kaplan_meier_all_censored_is_flat_at_one():
    tab = kaplan_meier([3.0, 1.0, 3.0, 7.5], [False] * 4)
    assert tab["time"].tolist() == [1.0, 3.0, 7.5]
    assert tab["at_risk"].tolist() == [4, 3, 1]
    assert tab["censored"].tolist() == [1, 2, 1] and tab["events"].sum() == 0
    assert (tab["survival"] == 1.0).all()
    assert tab[["ci_low", "ci_high"]].isna().all().all()
    assert math.isnan(km_quantile([3.0, 1.0, 3.0, 7.5], [False] * 4, 0.5))
    assert km_survival_at([3.0, 1.0], [False, False], 100) == 1.0


def test_kaplan_meier_without_censoring_equals_one_minus_empirical_cdf():
    rng = np.random.default_rng(7)
    d = rng.integers(0, 30, size=200).astype(float)  # many ties
    tab = kaplan_meier(d, np.ones(d.size, dtype=bool))
    ecdf = np.array([(d <= t).mean() for t in tab["time"]])
    np.testing.assert_allclose(tab["survival"], 1.0 - ecdf, atol=1e-12)
    grid = np.linspace(-1, 31, 97)
    np.testing.assert_allclose(km_survival_at(d, np.ones(d.size, bool), grid), [1 - (d <= t).mean() for t in grid], atol=1e-12)
    for q in (0.1, 0.5, 0.8, 0.9, 1.0):
        # smallest t with ECDF(t) >= q
        expected = min(t for t in np.unique(d) if (d <= t).mean() >= q - 1e-12)
        assert km_quantile(d, np.ones(d.size, bool), q) == expected


def test_kaplan_meier_single_observation():
    tab = kaplan_meier([4.0], [True])
    assert tab[["time", "at_risk", "events", "censored", "survival"]].values.tolist() == [[4.0, 1, 1, 0, 0.0]]
    assert tab[["ci_low", "ci_high"]].isna().all().all()  # log-log undefined at S = 0
    assert km_quantile([4.0], [True], 0.5) == 4.0
    assert km_survival_at([4.0], [True], [3.9, 4.0]).tolist() == [1.0, 0.0]
    tab = kaplan_meier([4.0], [False])
    assert tab["survival"].tolist() == [1.0] and tab["censored"].tolist() == [1]
    assert math.isnan(km_quantile([4.0], [False], 0.5))


def test_kaplan_meier_zero_durations():
    # an event and a censoring at 0: 4 at risk, S(0) = 3/4; then 1 event among 2 at t = 1
    d, o = [0.0, 0.0, 1.0, 2.0], [True, False, True, False]
    tab = kaplan_meier(d, o)
    assert tab["time"].tolist() == [0.0, 1.0, 2.0]
    assert tab["at_risk"].tolist() == [4, 2, 1]
    np.testing.assert_allclose(tab["survival"], [0.75, 0.375, 0.375])
    assert km_survival_at(d, o, -0.1) == 1.0 and km_survival_at(d, o, 0.0) == 0.75
    assert km_quantile(d, o, 0.25) == 0.0 and km_quantile(d, o, 0.5) == 1.0


def test_kaplan_meier_empty_nan_and_invalid_input():
    empty = kaplan_meier([], [])
    assert list(empty.columns) == list(KM_COLUMNS) and len(empty) == 0
    assert math.isnan(km_quantile([], [], 0.5)) and math.isnan(km_survival_at([], [], 1.0))
    # NaN durations and missing statuses are dropped
    with_nan = kaplan_meier([1, np.nan, 2, 3, 4], [1.0, 1.0, np.nan, 0.0, 1.0])
    pd.testing.assert_frame_equal(with_nan, kaplan_meier([1, 3, 4], [True, False, True]))
    assert math.isnan(km_survival_at([1, 2], [True, True], np.nan))
    with pytest.raises(ValueError):
        kaplan_meier([-1.0, 2.0], [True, True])
    with pytest.raises(ValueError):
        kaplan_meier([1.0, 2.0], [True])
    with pytest.raises(ValueError):
        kaplan_meier([1.0, 2.0], [2, 1])
    with pytest.raises(ValueError):
        km_quantile([1.0], [True], 1.5)


# --------------------------------------------------------------------------- log-rank


def test_logrank_against_freireich_6mp_vs_placebo():
    chi2, p = logrank(SIX_MP_T, SIX_MP_E, PLACEBO_T, PLACEBO_E)
    assert round(chi2, 2) == 16.79  # Kleinbaum & Klein: log-rank chi-square 16.79, p < 0.0001
    assert p < 1e-4
    ref = sps.logrank(sps.CensoredData(uncensored=SIX_MP_T[SIX_MP_E], right=SIX_MP_T[~SIX_MP_E]), sps.CensoredData(uncensored=PLACEBO_T))
    assert chi2 == pytest.approx(ref.statistic**2, rel=1e-10)
    assert p == pytest.approx(ref.pvalue, rel=1e-8)
    assert logrank(PLACEBO_T, PLACEBO_E, SIX_MP_T, SIX_MP_E) == pytest.approx((chi2, p))


def test_logrank_degenerate_inputs_give_nan():
    for args in (([], [], [1.0], [True]), ([1.0], [True], [], []), ([1.0, 2.0], [False, False], [3.0], [False])):
        chi2, p = logrank(*args)
        assert math.isnan(chi2) and math.isnan(p)


# --------------------------------------------------------------------------- competing risks

# Ten deals (days, outcome), with a won/lost tie at 2, a won/censored tie at 3 and a
# censoring tie at 5:
#   1 won | 2 lost, 2 won | 3 open, 3 won | 4 lost | 5 open, 5 open | 6 won | 7 lost
# By hand (n at risk, S = KM of any outcome, CIF_c += S(t-) d_c / n):
#   t  n  won lost  S                 CIF_won                 CIF_lost
#   1 10   1   0    9/10              1/10                    0
#   2  9   1   1    9/10*7/9  = 7/10  1/10 + 9/10*1/9 = 2/10  9/10*1/9 = 1/10
#   3  7   1   0    7/10*6/7  = 6/10  2/10 + 7/10*1/7 = 3/10  1/10
#   4  5   0   1    6/10*4/5  = 12/25 3/10                    1/10 + 6/10*1/5 = 11/50
#   5  4   0   0    12/25             3/10                    11/50
#   6  2   1   0    12/25*1/2 = 6/25  3/10 + 12/25*1/2 = 27/50 11/50
#   7  1   0   1    0                 27/50                   11/50 + 6/25 = 23/50
CR_DAYS = [1, 2, 2, 3, 3, 4, 5, 5, 6, 7]
CR_OUTCOME = ["won", "lost", "won", "open", "won", "lost", None, np.nan, "won", "lost"]
CR_HAND = {
    "time": [1, 2, 3, 4, 5, 6, 7],
    "at_risk": [10, 9, 7, 5, 4, 2, 1],
    "events_won": [1, 1, 1, 0, 0, 1, 0],
    "events_lost": [0, 1, 0, 1, 0, 0, 1],
    "cif_won": [F(1, 10), F(2, 10), F(3, 10), F(3, 10), F(3, 10), F(27, 50), F(27, 50)],
    "cif_lost": [F(0), F(1, 10), F(1, 10), F(11, 50), F(11, 50), F(11, 50), F(23, 50)],
    "survival": [F(9, 10), F(7, 10), F(6, 10), F(12, 25), F(12, 25), F(6, 25), F(0)],
}


def _delta_method_variance(tab: pd.DataFrame, cause: str, causes=("won", "lost")) -> np.ndarray:
    """Independent check of the CIF variance: the multivariate delta method, done numerically.

    The CIF is a function of the cause-specific hazards h_cj = d_cj / n_j; at each time the
    vector (h_cj)_c is multinomial with covariance (diag(h) - h h') / n_j, independent across
    times. Gradient by central differences.
    """
    n = tab["at_risk"].to_numpy(float)
    h = np.array([tab[f"events_{c}"].to_numpy(float) / n for c in causes])  # causes x times
    k = causes.index(cause)

    def cif(hh):
        s_prev = np.concatenate(([1.0], np.cumprod(1.0 - hh.sum(axis=0))[:-1]))
        return np.cumsum(s_prev * hh[k])

    eps = 1e-6
    grads = np.zeros((len(causes), h.shape[1], h.shape[1]))  # cause, time j, output row i
    for c in range(len(causes)):
        for j in range(h.shape[1]):
            up, dn = h.copy(), h.copy()
            up[c, j] += eps
            dn[c, j] -= eps
            grads[c, j] = (cif(up) - cif(dn)) / (2 * eps)
    var = np.zeros(h.shape[1])
    for j in range(h.shape[1]):
        cov = (np.diag(h[:, j]) - np.outer(h[:, j], h[:, j])) / n[j]
        g = grads[:, j, :]  # causes x rows
        var += np.einsum("ci,cd,di->i", g, cov, g)
    return var


def test_cumulative_incidence_against_hand_computed_example():
    tab = cumulative_incidence(CR_DAYS, CR_OUTCOME, causes=("won", "lost"))
    assert list(tab.columns) == [
        "time", "at_risk",
        "events_won", "cif_won", "ci_low_won", "ci_high_won",
        "events_lost", "cif_lost", "ci_low_lost", "ci_high_lost",
        "survival",
    ]
    for col, hand in CR_HAND.items():
        np.testing.assert_allclose(tab[col].to_numpy(float), [float(x) for x in hand], rtol=0, atol=1e-15, err_msg=col)
    # won + lost + still open = 1 at every time (exactly, in fractions, by the table above)
    assert all(CR_HAND["cif_won"][i] + CR_HAND["cif_lost"][i] + CR_HAND["survival"][i] == 1 for i in range(7))
    np.testing.assert_allclose(tab["cif_won"] + tab["cif_lost"] + tab["survival"], 1.0, atol=1e-14)
    # survival is the Kaplan-Meier curve of any outcome
    any_event = np.array([o in ("won", "lost") for o in CR_OUTCOME])
    np.testing.assert_allclose(tab["survival"], kaplan_meier(CR_DAYS, any_event)["survival"], atol=1e-14)
    # the interval is CIF +- 1.96 SE (delta method), clipped to [0, 1]
    for cause in ("won", "lost"):
        se = np.sqrt(_delta_method_variance(tab, cause))
        f = tab[f"cif_{cause}"].to_numpy()
        np.testing.assert_allclose(tab[f"ci_low_{cause}"], np.clip(f - Z95 * se, 0, 1), atol=1e-8)
        np.testing.assert_allclose(tab[f"ci_high_{cause}"], np.clip(f + Z95 * se, 0, 1), atol=1e-8)
    # one term of the delta formula by hand: at t = 1 only, Var CIF_won = S(0)^2 d(n-d)/n^3 = 9/1000
    assert tab.loc[0, "ci_high_won"] == pytest.approx(0.1 + Z95 * math.sqrt(9 / 1000), abs=1e-12)
    # reading the step function
    assert cif_at(tab, "won", 0.99) == 0.0
    assert cif_at(tab, "won", 3) == pytest.approx(0.3)
    assert cif_at(tab, "lost", 4.5) == pytest.approx(11 / 50)
    assert cif_at(tab, "won", 1000) == pytest.approx(27 / 50)
    np.testing.assert_allclose(cif_at(tab, "lost", [0, 2, 7]), [0, 0.1, 23 / 50])
    assert math.isnan(cif_at(tab, "won", np.nan))
    with pytest.raises(KeyError):
        cif_at(tab, "open", 3)


def test_cumulative_incidence_without_competing_cause_equals_one_minus_kaplan_meier():
    won = np.array([o == "won" for o in CR_OUTCOME])
    km = kaplan_meier(CR_DAYS, won)
    # only "won" is a cause: every other label is censored, so the CIF is 1 - KM
    tab = cumulative_incidence(CR_DAYS, CR_OUTCOME, causes=("won",))
    np.testing.assert_allclose(tab["cif_won"], 1.0 - km["survival"], atol=1e-14)
    np.testing.assert_allclose(tab["survival"], km["survival"], atol=1e-14)
    # a competing cause that never happens changes nothing and has CIF 0
    labels = np.where(won, "won", "open")
    tab2 = cumulative_incidence(CR_DAYS, labels, causes=("won", "lost"))
    np.testing.assert_allclose(tab2["cif_won"], 1.0 - km["survival"], atol=1e-14)
    assert (tab2["cif_lost"] == 0).all() and (tab2["ci_high_lost"] == 0).all()
    # the delta variance then reduces to Greenwood's: Var(1 - KM) = S^2 sum d/(n(n-d))
    rng = np.random.default_rng(3)
    d = rng.integers(1, 40, 300).astype(float)
    e = rng.random(300) < 0.6
    t3 = cumulative_incidence(d, np.where(e, "won", None), causes=("won",))
    km3 = kaplan_meier(d, e)
    n, ev = km3["at_risk"].to_numpy(float), km3["events"].to_numpy(float)
    greenwood = km3["survival"].to_numpy() ** 2 * np.cumsum(ev / (n * (n - ev)))
    ok = t3["ci_high_won"] < 1
    np.testing.assert_allclose((t3["ci_high_won"] - t3["cif_won"])[ok], (Z95 * np.sqrt(greenwood))[ok], atol=1e-12)


def test_cumulative_incidence_variance_against_numerical_delta_method_random_data():
    rng = np.random.default_rng(11)
    d = rng.integers(0, 25, 120).astype(float)
    lab = rng.choice(np.array(["won", "lost", "open"], dtype=object), 120, p=[0.3, 0.4, 0.3])
    tab = cumulative_incidence(d, lab)
    for cause in ("won", "lost"):
        se = np.sqrt(_delta_method_variance(tab, cause))
        f = tab[f"cif_{cause}"].to_numpy()
        np.testing.assert_allclose(tab[f"ci_high_{cause}"], np.clip(f + Z95 * se, 0, 1), atol=1e-7)
    np.testing.assert_allclose(tab["cif_won"] + tab["cif_lost"] + tab["survival"], 1.0, atol=1e-12)


def test_cumulative_incidence_empty_and_nan():
    tab = cumulative_incidence([], [])
    assert len(tab) == 0 and "cif_won" in tab.columns and "survival" in tab.columns
    assert math.isnan(cif_at(tab, "won", 10))
    t1 = cumulative_incidence([1, np.nan, 2], ["won", "won", "lost"])
    t2 = cumulative_incidence([1, 2], ["won", "lost"])
    pd.testing.assert_frame_equal(t1, t2)
    with pytest.raises(ValueError):
        cumulative_incidence([1, 2], ["won", "lost"], causes=("won", "won"))


# --------------------------------------------------------------------------- proportions


def _wilson_by_root_finding(k: int, n: int, z: float) -> tuple[float, float]:
    """The score interval straight from its definition: the p with (k/n - p)^2 = z^2 p (1-p) / n."""
    ph = k / n

    def g(p):
        return (ph - p) ** 2 - z * z * p * (1 - p) / n

    lo = 0.0 if k == 0 else brentq(g, 1e-15, ph - 1e-15, xtol=1e-15)
    hi = 1.0 if k == n else brentq(g, ph + 1e-15, 1 - 1e-15, xtol=1e-15)
    return lo, hi


def test_wilson_against_published_values():
    # Newcombe (1998), Table I, method 3 (score interval without continuity correction).
    published = {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605), (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}
    for (k, n), (plo, phi) in published.items():
        # the references themselves, checked by two independent computations
        rlo, rhi = _wilson_by_root_finding(k, n, Z95)
        sci = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert (round(rlo, 4), round(rhi, 4)) == (plo, phi)
        assert (round(float(sci.low), 4), round(float(sci.high), 4)) == (plo, phi)
        lo, hi = wilson(k, n)
        assert type(lo) is float and type(hi) is float
        assert (round(lo, 4), round(hi, 4)) == (plo, phi)
        assert lo == pytest.approx(rlo, abs=1e-12) and hi == pytest.approx(rhi, abs=1e-12)
    # vectorised, with n == 0 and NaN
    lo, hi = wilson([81, 15, 0, 0, np.nan], [263, 148, 20, 0, 10])
    assert isinstance(lo, np.ndarray) and lo.shape == (5,)
    np.testing.assert_allclose(lo[:3], [0.2552885, 0.0623864, 0.0], atol=1e-7)
    assert np.isnan(lo[3:]).all() and np.isnan(hi[3:]).all()
    # 99 % interval from the definition as well; k = n gives an upper limit of 1
    for k, n in ((0, 5), (3, 7), (7, 7), (40, 1000)):
        rlo, rhi = _wilson_by_root_finding(k, n, sps.norm.ppf(0.995))
        assert wilson(k, n, alpha=0.01) == pytest.approx((rlo, rhi), abs=1e-10)
    with pytest.raises(ValueError):
        wilson(5, 4)


def test_binomial_pvalue_against_scipy():
    assert binomial_pvalue(0, 10, 0.5) == 0.001953125  # 2 * 0.5**10, by hand
    assert binomial_pvalue(10, 10, 0.5) == 0.001953125
    rng = np.random.default_rng(5)
    n = rng.integers(1, 300, 200)
    k = rng.binomial(n, 0.3)
    p0 = rng.uniform(0.01, 0.99, 200)
    got = binomial_pvalue(k.astype(float), n.astype(float), p0)
    ref = [sps.binomtest(int(a), int(b), c).pvalue for a, b, c in zip(k, n, p0)]
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    out = binomial_pvalue([3, 0, 2], [10, 0, np.nan], 0.2)
    assert out[0] == pytest.approx(sps.binomtest(3, 10, 0.2).pvalue) and np.isnan(out[1:]).all()
    assert math.isnan(binomial_pvalue(3, 10, np.nan))
    with pytest.raises(ValueError):
        binomial_pvalue(2.5, 10, 0.5)


def test_holm_against_hand_computed():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; running max
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    # NaNs are not counted (m = 4) and stay NaN; capped at 1; shape kept
    np.testing.assert_allclose(holm([0.01, np.nan, 0.04, 0.03, 0.005, np.nan]), [0.03, np.nan, 0.06, 0.06, 0.02, np.nan])
    np.testing.assert_allclose(holm([0.5, 0.6, 0.01]), [1.0, 1.0, 0.03])
    assert holm([[0.01, 0.02], [0.03, 0.04]]).shape == (2, 2)
    assert holm([]).shape == (0,) and np.isnan(holm([np.nan])).all()
    # ties get the same adjusted value
    np.testing.assert_allclose(holm([0.02, 0.02, 0.5]), [0.06, 0.06, 0.5])


def test_benjamini_hochberg_against_hand_computed_and_scipy():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4/1, 4/2, 4/3, 4/4 = 0.02, 0.02, 0.04, 0.04; running min from the top
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(benjamini_hochberg([0.01, np.nan, 0.04, 0.03, 0.005]), [0.02, np.nan, 0.04, 0.04, 0.02])
    rng = np.random.default_rng(9)
    p = rng.uniform(0, 1, 50) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), sps.false_discovery_control(p, method="bh"), rtol=1e-12)
    assert (benjamini_hochberg(p) <= holm(p) + 1e-15).all()


def _interpolated_cdf(y: np.ndarray, n: int, p0: float) -> np.ndarray:
    """CDF of X - U, X ~ Binomial(n, p0), U ~ Uniform[0, 1): linear between F(r-1) at r-1 and F(r) at r."""
    x = np.arange(n + 1)
    pmf = sps.binom.pmf(x, n, p0)
    return (pmf[None, :] * np.clip(np.asarray(y)[:, None] - x[None, :] + 1.0, 0.0, 1.0)).sum(axis=1)


def test_binomial_limits_properties():
    lo, hi = binomial_limits(0.5, 100, 0.05)
    assert abs(lo - (0.5 - 1.96 * 0.05)) < 0.01 and abs(hi - (0.5 + 1.96 * 0.05)) < 0.01
    # Spiegelhalter (2005, A.1.1) by hand at p0 = 0.5, n = 100: r = 40, a = (F(40) - .025)/(F(40) - F(39))
    f40, f39 = sps.binom.cdf(40, 100, 0.5), sps.binom.cdf(39, 100, 0.5)
    assert lo == pytest.approx((40 - (f40 - 0.025) / (f40 - f39)) / 100, rel=1e-12)
    p0 = np.linspace(0.05, 0.95, 19)[:, None]
    n = np.array([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 10000])[None, :]
    lo, hi = binomial_limits(p0, n)
    assert lo.shape == hi.shape == (19, 12)
    assert ((0 <= lo) & (lo <= p0) & (p0 <= hi) & (hi <= 1)).all()
    width = (hi - lo)[:, 2:]
    assert (np.diff(width, axis=1) < 0).all()  # narrower as n grows (from n = 5; n = 1, 2 are degenerate)
    lo998, hi998 = binomial_limits(p0, n, 0.002)
    assert ((lo998 <= lo) & (hi <= hi998)).all()
    # each limit is the exact quantile of the interpolated (X - U) distribution
    for pp, nn in ((0.3, 57), (0.8, 20), (0.05, 400), (0.5, 7)):
        lo, hi = binomial_limits(pp, nn)
        targets = [(lo, 0.025), (hi, 0.975)]
        for limit, q in targets:
            if 0 < limit < 1:
                assert _interpolated_cdf(np.array([limit * nn]), nn, pp)[0] == pytest.approx(q, abs=1e-12)
    # edge cases: n == 0, NaN, degenerate targets, non-integer n interpolated between neighbours
    lo, hi = binomial_limits([0.3, np.nan, 0.0, 1.0], [0, 50, 50, 50])
    assert np.isnan(lo[:2]).all() and np.isnan(hi[:2]).all()
    assert lo[2:].tolist() == [0.0, 1.0] and hi[2:].tolist() == [0.0, 1.0]
    lo3, hi3 = binomial_limits(0.3, np.array([100, 101, 100.25]))
    assert lo3[2] == pytest.approx(0.75 * lo3[0] + 0.25 * lo3[1])
    assert hi3[2] == pytest.approx(0.75 * hi3[0] + 0.25 * hi3[1])
    assert isinstance(binomial_limits(0.3, 100)[0], float)


def test_binomial_limits_upper_side_flags_in_control_units_at_small_n():
    """The documented limit of Spiegelhalter's interpolation: the band sits half a count low.

    p0 = 0.95, n = 20: r = 20 is the 97.5 % quantile, F(19) = 1 - 0.95**20, so the upper line
    is 20 - 0.025 / 0.95**20 counts = 0.9965; every unit with 20/20 (probability 0.358) is above
    it although its exact one-sided p-value 0.358 is far from significant.
    """
    lo, hi = binomial_limits(0.95, 20)
    assert hi == pytest.approx((20 - 0.025 / 0.95**20) / 20, rel=1e-12)
    assert 1.0 > hi and binomial_pvalue(20, 20, 0.95) > 0.5
    # lower side: a count below the line always has lower-tail probability < alpha/2
    for pp, nn in ((0.95, 20), (0.3, 40), (0.6, 150)):
        lo, _ = binomial_limits(pp, nn)
        below = np.arange(nn + 1)[np.arange(nn + 1) / nn < lo]
        if below.size:
            assert sps.binom.cdf(below.max(), nn, pp) < 0.025


@settings(max_examples=60, deadline=None, derandomize=True)
@given(p0=hst.floats(0.05, 0.95), n=hst.integers(20, 2000))
def test_binomial_limits_simulated_false_alarm_rate(p0, n):
    rng = np.random.default_rng(20261031)
    draws = 20_000
    share = rng.binomial(n, p0, size=draws) / n
    lo, hi = binomial_limits(p0, n)
    below, above = (share < lo).mean(), (share > hi).mean()
    # lower side: at most alpha/2 (plus 5 simulation standard errors)
    assert below <= 0.025 + 5 * math.sqrt(0.025 * 0.975 / draws)
    # upper side: at most P(X >= r), r the exact 97.5 % quantile (the half-count shift)
    r = sps.binom.ppf(0.975, n, p0)
    bound = sps.binom.sf(r - 1, n, p0)
    assert above <= bound + 5 * math.sqrt(bound * (1 - bound) / draws)
    # the brief's "<= ~7 % outside the 95 % limits" holds once n is a few hundred
    # (exact worst case over 0.05 <= p0 <= 0.95: about 6.0 % for n >= 700, but 10.6 % at n = 100)
    if n >= 700:
        assert below + above <= 0.07
