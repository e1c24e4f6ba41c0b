"""The group-at-once statistics behind the leads, scorecard, findings and losses analyses (#16).

Every manager of a 100,000-deal department is compared with the rest of the team; the helpers of
:mod:`salesaudit.stats.effect` do it for all of them from one sort. Each is checked here against the
one-group function it stands for (:func:`km_median_ci`, :func:`km_quantiles`, :func:`logrank`,
``scipy.stats.fisher_exact``) on random samples with ties, censoring, groups without an event,
with no censoring at all and with durations outside every group: exact equality, the arithmetic
is the same.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import fisher_exact

from salesaudit.stats import km_quantiles, logrank
from salesaudit.stats.effect import compare_with_rest, fisher_p, km_median_ci, km_median_ci_each, km_quantiles_each


def _sample(rng, case: int):
    k = int(rng.integers(1, 9))
    n = int(rng.integers(1, 300))
    d = rng.exponential(rng.uniform(2, 30), n)
    if case % 3:
        d = np.round(d, int(rng.integers(0, 2)))  # ties: whole or tenth minutes
    o = rng.random(n) < rng.uniform(0.3, 1.0)
    if case % 7 == 0:
        o[:] = True  # no censoring: scipy's other formula
    codes = rng.integers(-1 if case % 4 == 0 else 0, k, n)  # -1: among everybody's others, in no group
    if case % 5 == 0 and k > 1:
        o[codes == 1] = False  # a group with nothing ended
    if case % 6 == 0:
        d[rng.random(n) < 0.05] = np.nan  # ignored, as kaplan_meier ignores them
    return d, o, codes, k


def test_each_groups_median_interval_and_quantiles_are_the_one_group_functions():
    rng = np.random.default_rng(16)
    checked = 0
    for case in range(400):
        d, o, codes, k = _sample(rng, case)
        got = km_median_ci_each(d, o, codes, k)
        q = km_quantiles_each(d, o, codes, k, (0.5, 0.8, 0.9))
        for j in range(k):
            mine = codes == j
            want = km_median_ci(d[mine], o[mine]) if mine.any() else (np.nan,) * 3
            assert np.array_equal(got[j], want, equal_nan=True), (case, j, got[j], want)
            if mine.any():
                wq = km_quantiles(d[mine], o[mine], (0.5, 0.8, 0.9))
                assert np.array_equal(q[j], [wq[0.5], wq[0.8], wq[0.9]], equal_nan=True)
            checked += int(np.isfinite(want[0]))
    assert checked > 500  # most groups have a median: the comparison is not of NaNs


def test_each_group_against_the_others_is_km_median_ci_and_logrank_of_the_others():
    rng = np.random.default_rng(61)
    finite = 0
    for case in range(400):
        d, o, codes, k = _sample(rng, case)
        got = compare_with_rest(d, o, codes, k)
        for j in range(k):
            mine, others = codes == j, codes != j
            want = km_median_ci(d[others], o[others]) if others.any() else (np.nan,) * 3
            assert np.array_equal([got["rest_median"][j], got["rest_low"][j], got["rest_high"][j]], want, equal_nan=True), (case, j)
            chi2, p = logrank(d[mine], o[mine], d[others], o[others])
            assert np.array_equal([got["chi2"][j], got["p_value"][j]], [chi2, p], equal_nan=True), (case, j, got["chi2"][j], chi2)
            finite += int(np.isfinite(p) and np.isfinite(want[2]))
    assert finite > 500


def test_the_others_of_many_groups_are_computed_a_few_groups_at_a_time(monkeypatch):
    """Chunks of groups (a small cell budget) give the same numbers as one pass."""
    from salesaudit.stats import effect

    rng = np.random.default_rng(7)
    d = np.round(rng.exponential(20, 3000), 1)
    o = rng.random(3000) < 0.9
    codes = rng.integers(0, 40, 3000)
    whole = compare_with_rest(d, o, codes, 40)
    monkeypatch.setattr(effect, "_CELLS", 500)
    chunked = compare_with_rest(d, o, codes, 40)
    for key in whole:
        assert np.array_equal(whole[key], chunked[key], equal_nan=True)
    j = 17
    assert whole["rest_median"][j] == km_median_ci(d[codes != j], o[codes != j])[0] > 0
    assert whole["p_value"][j] == logrank(d[codes == j], o[codes == j], d[codes != j], o[codes != j])[1]


def test_a_known_sample():
    """By hand: group 0 is 2, 3, 3+, 5, 8+ (S: 0.8, 0.6, 0.3), group 1 is 1 and 4 (both ended)."""
    d = [2, 3, 3, 5, 8, 1, 4]
    o = [True, True, False, True, False, True, True]
    c = [0, 0, 0, 0, 0, 1, 1]
    assert km_median_ci_each(d, o, c, 2)[0].tolist()[:2] == [5.0, 2.0]
    assert km_quantiles_each(d, o, c, 2, (0.5,))[:, 0].tolist() == [5.0, 1.0]
    rest = compare_with_rest(d, o, c, 2)
    # the others of group 1 are group 0: median 5
    assert rest["rest_median"].tolist() == [1.0, 5.0]  # the others of group 0 are 1 and 4: S = 0.5 at 1


@pytest.mark.parametrize("table", [(8, 10, 1, 6), (0, 25, 3, 40), (120, 200, 47602, 60019), (5, 5, 0, 0)])
def test_fisher_p_is_scipys_and_remembers_tables(table):
    k1, n1, k0, n0 = table
    want = fisher_exact([[k1, n1 - k1], [k0, n0 - k0]]).pvalue
    assert fisher_p(k1, n1, k0, n0) == want
    assert fisher_p(float(k1), float(n1), float(k0), float(n0)) == want  # float counts: the same table
    from salesaudit.stats.effect import _fisher_table

    hits = _fisher_table.cache_info().hits
    fisher_p(k1, n1, k0, n0)
    assert _fisher_table.cache_info().hits == hits + 1


# ---------------------------------------------------------------------------
# the analyses: one pass per table instead of one per manager, results passed on instead of computed twice

def _frames_equal(a, b, where: str = "result") -> None:
    """Two results equal field by field: tables exactly (dtypes, values, attrs), nested results, dicts and
    sequences item by item, numbers with NaN equal to NaN."""
    import dataclasses

    import pandas as pd

    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
        assert a.attrs == b.attrs, where
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _frames_equal(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _frames_equal(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _frames_equal(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and a != a:
        assert isinstance(b, float) and b != b, where
    else:
        assert a == b, where


def test_shares_against_the_rest_of_the_team_are_the_counts_by_hand():
    """_compare_shares on random leads, with managers left out of the baseline, against counts made manager by manager."""
    import pandas as pd

    from salesaudit.analysis import leads

    rng = np.random.default_rng(5)
    n = 4000
    manager = rng.choice([f"m{i:02d}" for i in range(25)] + [None], n)
    groups = np.where(pd.isna(manager), "no_manager", np.where(manager == "m24", "head_of_sales", "manager")).astype(object)
    value = pd.array(np.where(rng.random(n) < 0.1, None, rng.random(n) < np.where(manager == "m03", 0.2, 0.7)), dtype="boolean")
    out = frozenset({"m03", "m07"})
    got = leads._compare_shares(manager, groups, value, check="sla", min_n=20, alpha=0.05, min_effect=0.05, higher_is_worse=False,
                                baseline_out=out).set_index("manager", drop=False)
    decided = ~pd.isna(value)
    hit = np.asarray(value.fillna(False), dtype=bool)
    team = groups == "manager"
    for m in sorted({x for x in manager[team]}):
        mine = team & (manager == m)
        rest = team & ~mine & ~np.isin(manager, list(out))
        row = got.loc[m]
        assert (row["finished"], row["advanced"]) == ((mine & decided).sum(), (mine & hit).sum())
        assert (row["rest_finished"], row["rest_advanced"]) == ((rest & decided).sum(), (rest & hit).sum())
        want = fisher_exact([[(mine & hit).sum(), (mine & decided & ~hit).sum()], [(rest & hit).sum(), (rest & decided & ~hit).sum()]]).pvalue
        assert row["p_value"] == want
    head = got[got["owner_group"] == "head_of_sales"].iloc[0]
    assert head["manager"] == "m24" and head["finished"] == (decided & (manager == "m24")).sum() and head["verdict"] == "excluded"
    assert got.loc["m03", "verdict"] == "worse"  # 20 % against 70 %


def test_lost_deals_per_manager_and_category_are_the_counts_by_hand(demo):
    from salesaudit.analysis import losses

    r = losses.analyse(demo)
    lost = losses.lost_deals(demo)
    team = lost[lost["owner_group"] == "manager"]
    m = r.managers_
    assert len(m) > 50
    for row in m.itertuples():
        mine = team["manager"] == row.manager
        if row.dimension == "terminal":
            way = team["terminal"] == row.category
        elif row.dimension == "reason":
            way = team["reason"] == row.category
        else:
            way = team["reason"].isna()
        way = way.fillna(False).to_numpy(dtype=bool)
        assert (row.lost, row.count) == (mine.sum(), (mine.to_numpy() & way).sum())
        assert (row.rest_lost, row.rest_count) == ((~mine).sum(), (~mine.to_numpy() & way).sum())


def test_monthly_means_of_every_manager_are_the_ones_taken_manager_by_manager(demo):
    from salesaudit.analysis import leads
    from salesaudit.analysis import scorecard as sc

    rt = leads.response_times(demo)
    decided = rt["within_sla"].notna()
    values, months, who = rt.loc[decided, "within_sla"].astype(float), rt.loc[decided, "created_at"].dt.to_period("M").astype(str), rt.loc[decided, "manager"].astype(object)
    monthly = sc._Monthly(values, months, who)
    for m in list(who.dropna().unique()) + ["nobody"]:
        mine, team = sc._monthly(values, months, who, m)
        got_mine, got_team = monthly.of(m)
        assert list(got_mine.index) == list(mine.index) and np.array_equal(got_mine.to_numpy(), mine.to_numpy())
        assert got_team.equals(team)
    assert len(monthly.of("m01")[0]) >= 6


def test_findings_read_per_manager_first_dates_and_stage_win_rates_as_computed_by_hand(demo):
    import pandas as pd

    from salesaudit.analysis import findings as fnd

    T = pd.Timestamp(demo.as_of)
    deals = demo.tables["deals"]
    first = fnd._first_dates(deals)
    for m in deals["manager"].dropna().unique():
        assert fnd._span_from(first.get(m), T) == fnd._span_months(deals.loc[deals["manager"] == m, "created_at"], T)
    pwin = fnd._p_win_after(demo)
    d = fnd._people_deals(demo)
    closed = d[d["outcome"].isin(["won", "lost"])]
    h = demo.tables["stage_history"]
    h = h[h["deal_id"].isin(closed["deal_id"])]
    won = set(closed.loc[closed["outcome"] == "won", "deal_id"])
    for s, g in h.groupby(h["stage"].astype(str)):
        ids = set(g["deal_id"])
        assert pwin[s] == sum(i in won for i in ids) / len(ids)
    assert 0 < pwin["invoice"] < 1


def test_results_passed_on_give_the_same_scorecard_and_findings_and_stay_unchanged(demo):
    """Notebook 07 analyses leads, funnel and stalls once and passes them to the scorecard and the findings."""
    import copy

    from salesaudit.analysis import findings, funnel, leads, scorecard, stalls

    lr, fr, sr = leads.analyse(demo), funnel.analyse(demo), stalls.analyse(demo)
    kept = copy.deepcopy((lr, fr, sr))
    _frames_equal(scorecard.analyse(demo, leads=lr, funnel=fr, stalls=sr), scorecard.analyse(demo))
    _frames_equal(findings.analyse(demo, leads=lr, funnel=fr, stalls=sr), findings.analyse(demo))
    for before, after in zip(kept, (lr, fr, sr)):
        _frames_equal(before, after)
    assert len(scorecard.analyse(demo, leads=lr, funnel=fr, stalls=sr).lagging_) >= 5


def test_a_result_judged_with_other_settings_is_not_read(demo):
    from salesaudit.analysis import findings, funnel, leads, scorecard, stalls

    s = demo.config.analysis
    strict_leads = leads.analyse(demo, s.settings("leads", min_n=10**6))
    strict_funnel = funnel.analyse(demo, s.settings("funnel", min_n=10**6))
    strict_stalls = stalls.analyse(demo, s.settings("stalls", min_stays=10**6))
    assert (strict_leads.response_flags_["verdict"] != "worse").all() and (strict_funnel.flags_["flag"] != "worse").all()
    lagging = scorecard.lagging_managers(demo, leads=strict_leads, funnel=strict_funnel, stalls=strict_stalls)
    pd_lag = scorecard.lagging_managers(demo)
    assert lagging.equals(pd_lag) and {"conversion", "response", "slower"} <= set(lagging["check"])
    _frames_equal(findings.analyse(demo, leads=strict_leads, funnel=strict_funnel, stalls=strict_stalls), findings.analyse(demo))


def test_results_passed_on_are_read_not_computed_again(demo, monkeypatch):
    """With matching results given, the scorecard and the findings do not analyse leads, the funnel or stalls again."""
    from salesaudit.analysis import findings, funnel, leads, scorecard, stalls

    lr, fr, sr = leads.analyse(demo), funnel.analyse(demo), stalls.analyse(demo)
    want_sc, want_fd = scorecard.analyse(demo), findings.analyse(demo)

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    for mod, name in ((leads, "analyse"), (leads, "response_flags"), (leads, "overnight_flags"), (leads, "summary"), (funnel, "analyse"),
                      (funnel, "manager_comparison"), (stalls, "analyse"), (stalls, "stage_stays"), (stalls, "manager_stage_summary"),
                      (stalls, "compliance")):
        monkeypatch.setattr(mod, name, refuse)
    _frames_equal(scorecard.analyse(demo, leads=lr, funnel=fr, stalls=sr), want_sc)
    _frames_equal(findings.analyse(demo, leads=lr, funnel=fr, stalls=sr), want_fd)
    with pytest.raises(AssertionError, match="computed again"):
        findings.analyse(demo, leads=lr, funnel=fr)  # no stalls result given: analysed here
