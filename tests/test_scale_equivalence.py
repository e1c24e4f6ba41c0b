"""The vectorised funnel and stall computations (#16) against simple, independent reference computations.

The fast paths sort every manager of a stage at once, read the rest of the team of every manager off
the team's risk table in blocks, look the per-point terms up in a table and skip the blocks where
no crossing can be, reuse the history's deal lookup, and group deals and cohorts by one sort. Each
is checked here against a plain computation of the same figure: scipy's Kaplan–Meier fit and the
effect module's median interval per group, the two-sample log-rank test, np.unique /
np.searchsorted, and loops over the deals of a small random department loaded by the real loader.
Exact equality wherever the arithmetic is the same.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO_FUNNEL

from salesaudit.analysis import funnel as fn
from salesaudit.analysis import stalls as st
from salesaudit.analysis.baseline import TEAM, owner_group, people_mask
from salesaudit.data.loader import load
from salesaudit.data.params import load_funnel
from salesaudit.stats import _km_fit, cumulative_incidence, kaplan_meier, km_quantile, logrank
from salesaudit.stats import km_groups as kg
from salesaudit.stats.effect import km_median_ci, median_ratio, median_ratios

Z = 1.959963984540054  # the z of alpha = 0.05, as manager_stage_summary uses it


def _random_durations(rng, n: int, ties: bool = True):
    d = rng.exponential(5.0, n)
    if ties:
        d = np.round(d, int(rng.integers(0, 3)))
    o = rng.random(n) < rng.uniform(0.2, 1.0)
    return d, o


# ---------------------------------------------------------------------------
# Kaplan-Meier of sorted durations, the risk table's places, the single-event terms


def test_km_of_sorted_durations_is_scipys_fit():
    rng = np.random.default_rng(3)
    for case in range(300):
        n = int(rng.integers(1, 400))
        d, o = _random_durations(rng, n, ties=case % 2 == 0)
        if case % 7 == 0:
            o[:] = True  # no censoring: scipy's other formula
        if case % 11 == 0:
            o[:] = False  # nothing ended
        srt = np.argsort(d)
        km = kg.SortedKM(d[srt], o[srt])
        assert np.array_equal(km.times, np.unique(d))
        if o.any():
            sf = _km_fit(d, o).sf
            assert np.array_equal(km.surv, sf.probabilities)
            assert np.array_equal(km.at_risk, sf._n) and np.array_equal(km.events, sf._d)
        else:
            assert (km.surv == 1.0).all()
        for q in (0.5, 0.8, 0.9):
            assert np.array_equal(km.quantile(q), km_quantile(d, o, q), equal_nan=True)
        table = kaplan_meier(d, o)
        for t in (float(rng.choice(d)), float(rng.uniform(0, d.max() + 1))):
            i = int(np.searchsorted(table["time"].to_numpy(), t, side="right")) - 1
            s, lo, hi = km.survival_ci(t, 0.05)
            if 0.0 < s < 1.0:  # the row of the whole table
                assert (s, lo, hi) == tuple(float(table.iloc[i][c]) for c in ("survival", "ci_low", "ci_high"))
            elif s >= 1.0:  # nothing ended by t: the exact bound of "k of k" stays longer than t
                k = int((d > t).sum())
                assert (lo, hi) == (0.025 ** (1 / k), 1.0) if k else (np.isnan(lo) and np.isnan(hi))
            else:  # everything ended
                assert (lo, hi) == (0.0, 1 - 0.025 ** (1 / n))


def test_risk_table_places_are_the_searchsorted_ones():
    rng = np.random.default_rng(5)
    for _ in range(100):
        d, o = _random_durations(rng, int(rng.integers(1, 3000)))
        c = kg.RiskTable(d, o)
        grid = np.unique(d[o])
        assert np.array_equal(c.grid, grid)
        assert np.array_equal(c.after, np.searchsorted(grid, d, side="right"))
        assert np.array_equal(c.ended, np.where(o, np.searchsorted(grid, d), len(grid)))
        assert np.array_equal(c.at_risk, [(d >= g).sum() for g in grid])
        assert np.array_equal(c.events, [(o & (d == g)).sum() for g in grid])


def test_single_event_terms_read_from_the_table_are_the_formula():
    rng = np.random.default_rng(7)
    table = kg.SingleEventTerms()
    for _ in range(50):
        rows, w = int(rng.integers(1, 6)), int(rng.integers(1, 500))
        start = rng.integers(w, 5 * w, rows)
        nn = start[:, None] - np.sort(rng.integers(0, w, (rows, w)), axis=1)  # numbers at risk: never rising along a row
        dd = np.minimum(rng.choice([0, 1, 1, 1, 2, 3], (rows, w)), nn)
        for ci in (True, False):
            got, want = kg.km_terms(nn, dd, ci, table), kg.km_terms(nn, dd, ci)
            assert np.array_equal(got[0], want[0]) and np.array_equal(np.signbit(got[0]), np.signbit(want[0]))
            assert (got[1] is None) == (not ci) and (not ci or np.array_equal(got[1], want[1]))


# ---------------------------------------------------------------------------
# every manager's rest of the team at once, against the effect module group by group


@pytest.mark.parametrize("late", [False, True])
def test_every_groups_rest_of_the_team_is_km_median_ci_of_the_others(late, monkeypatch):
    rng = np.random.default_rng(11)
    n, k = 24000, 7
    d = rng.exponential(1000.0, n).round(2)
    o = rng.random(n) < 0.85
    codes = rng.integers(0, k, n)
    codes[codes == 3] = rng.integers(0, k, int((codes == 3).sum()))  # unequal groups
    if late:
        d = d + 40000.0 * (rng.random(n) < 0.6)  # the medians far into the grid, many blocks on
    counts = kg.RiskTable(d, o)
    assert len(counts.grid) > 2 * kg.BLOCK
    rest = counts.median_ci_each(codes, k, Z)
    rest_median = counts.median_ci_each(codes, k, Z, ci=False)
    for j in range(k):
        others = codes != j
        want = km_median_ci(d[others], o[others])
        assert np.array_equal(rest[j], want, equal_nan=True)
        assert np.array_equal(rest_median[j, 0], want[0], equal_nan=True) and np.isnan(rest_median[j, 1:]).all()
        assert counts.median_ci(Z, without=np.flatnonzero(codes == j)) == pytest.approx(want, nan_ok=True, abs=0, rel=0)
    # the blocks skipped because no bound can cross there change nothing
    monkeypatch.setattr(kg, "MARGIN", np.inf)
    assert np.array_equal(counts.median_ci_each(codes, k, Z), rest, equal_nan=True)


def test_every_groups_rest_with_ties_and_small_groups():
    rng = np.random.default_rng(17)
    for _ in range(40):
        n, k = int(rng.integers(5, 600)), int(rng.integers(1, 9))
        d, o = _random_durations(rng, n)
        codes = rng.integers(0, k, n)
        rest = kg.RiskTable(d, o).median_ci_each(codes, k, Z)
        for j in range(k):
            others = codes != j
            want = km_median_ci(d[others], o[others]) if others.any() else (np.nan,) * 3
            assert np.array_equal(rest[j], want, equal_nan=True)


@pytest.mark.parametrize("block", [1, 16])
def test_no_block_a_bound_crosses_in_is_skipped(block, monkeypatch):
    """With short blocks the crossings fall anywhere in a block, often at its end (with blocks of one
    point the bound is the bound itself): searching only the blocks the bound says may hold one finds
    what searching every block finds, and the medians and bounds are still km_median_ci's."""
    monkeypatch.setattr(kg, "BLOCK", block)
    rng = np.random.default_rng(31)
    for _ in range(60):
        n, k = int(rng.integers(20, 400)), int(rng.integers(1, 5))
        d, o = _random_durations(rng, n, ties=rng.random() < 0.5)
        codes = rng.integers(0, k, n)
        counts = kg.RiskTable(d, o)
        skipping = counts.median_ci_each(codes, k, Z)
        with monkeypatch.context() as m:
            m.setattr(kg, "MARGIN", np.inf)  # every block searched
            assert np.array_equal(counts.median_ci_each(codes, k, Z), skipping, equal_nan=True)
        for j in range(k):
            others = codes != j
            if others.any():
                assert np.array_equal(skipping[j], km_median_ci(d[others], o[others]), equal_nan=True)


def test_one_pass_log_rank_of_every_group_is_the_two_sample_test():
    rng = np.random.default_rng(19)
    d, o = _random_durations(rng, 5000)
    codes = rng.integers(0, 6, 5000)
    out = kg.logrank_each(kg.RiskTable(d, o), o, codes, 6)
    for j in range(6):
        m = codes == j
        chi2, p = logrank(d[m], o[m], d[~m], o[~m])
        assert out["chi2"][j] == pytest.approx(chi2, rel=1e-9) and out["p_value"][j] == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert out["n"][j] == m.sum() and out["events"][j] == (o & m).sum()


def _many_groups(rng, n: int, k: int, ties: bool, censored: float, big: float = 0.0):
    """A table of ``n`` durations in ``k`` groups of unequal size (one holding ``big`` of them), part censored."""
    d = rng.lognormal(2.0, 1.0, n)
    if ties:
        d = np.round(d, 1)
    o = rng.random(n) >= censored
    p = rng.dirichlet(np.full(k, 2.0)) * (1 - big)
    p[0] += big
    codes = rng.choice(k, n, p=p / p.sum())
    return d, o, codes


@pytest.mark.parametrize("ci", [True, False])
def test_rest_by_series_is_the_sum_along_the_grid(ci):
    """The rest of every group from the team's table plus a series (:class:`km_groups.RestSeries`) gives, to the last
    bit, what summing each rest along the grid gives (and so km_median_ci of the others), in every case: ties, no
    censoring (S exactly one half happens), a group holding half the durations (its series does not hold: it is
    left to the sum along the grid), blocks short enough for crossings to need several rounds."""
    rng = np.random.default_rng(41)
    served = total = 0
    for case in range(16):
        n, k = int(rng.integers(20_000, 60_000)), int(rng.integers(24, 160))
        d, o, codes = _many_groups(rng, n, k, ties=case % 2 == 0, censored=0.0 if case % 4 == 1 else rng.uniform(0.05, 0.4),
                                   big=0.5 if case % 5 == 3 else 0.0)
        counts = kg.RiskTable(d, o)
        along = counts.median_ci_each(codes, k, Z, ci=ci, series=False)
        assert np.array_equal(counts.median_ci_each(codes, k, Z, ci=ci, series=True), along, equal_nan=True)
        for block in (None, 64):
            rest = kg.RestSeries(counts, codes, k, Z, ci, block=block)
            out, exact = rest.solve()
            served, total = served + int((~exact).sum()), total + k
            assert np.array_equal(out[~exact], along[~exact], equal_nan=True)
            if case % 5 == 3:  # half the durations: c / (n - d) passes one half, no bound on the series' error
                assert np.isinf(rest.query(np.array([0]), np.array([rest.J - 1]))[2][0])
        for j in rng.choice(k, 3, replace=False):
            want = km_median_ci(d[codes != j], o[codes != j])
            assert np.array_equal(along[j, :3 if ci else 1], want[:3 if ci else 1], equal_nan=True)
    assert served > 0.9 * total  # the series served nearly every group, not the fallback


def test_every_groups_km_at_once_is_each_groups_km():
    """:class:`km_groups.KMEach` (every group's Kaplan–Meier figures in padded matrices, chunk by chunk) equals
    :class:`km_groups.SortedKM` of each group to the last bit: quantiles, S at a time with its interval (S of 1 and 0
    included), the median with its interval."""
    rng = np.random.default_rng(43)
    for case in range(40):
        k = int(rng.integers(1, 30))
        sizes = rng.integers(0 if case % 3 else 1, 400, k)
        sizes[rng.random(k) < 0.2] = int(rng.integers(1, 3))
        d = np.concatenate([np.sort(np.round(rng.exponential(5.0, s), int(rng.integers(0, 3)))) for s in sizes])
        o = rng.random(len(d)) < rng.uniform(0.0, 1.0)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        for j in rng.choice(k, min(k, 3), replace=False):
            o[bounds[j]:bounds[j + 1]] = case % 2 == 0  # uncensored, or nothing ended
        t = float(rng.choice([0.0, 1.0, 5.0, 40.0]))
        each = kg.KMEach(d, o, bounds)
        quant, share = each.figures((0.5, 0.8), t, 0.05)
        med = each.median_ci(Z)
        med_only = each.median_ci(Z, ci=False)
        for j in range(k):
            dj, oj = d[bounds[j]:bounds[j + 1]], o[bounds[j]:bounds[j + 1]]
            if not len(dj):
                continue
            km = kg.SortedKM(dj, oj)
            assert np.array_equal(quant[j], [km.quantile(0.5), km.quantile(0.8)], equal_nan=True)
            assert np.array_equal(share[j], km.survival_ci(t, 0.05), equal_nan=True)
            assert np.array_equal(med[j], km.median_ci(Z), equal_nan=True)
            assert np.array_equal(med_only[j], km.median_ci(Z, ci=False), equal_nan=True)


def test_median_ratios_are_median_ratio_element_by_element():
    rng = np.random.default_rng(47)
    v = [rng.lognormal(0.0, 1.0, 4000) for _ in range(6)]
    for x in v:
        x[rng.random(4000) < 0.1] = np.nan
        x[rng.random(4000) < 0.05] = 0.0
        x[rng.random(4000) < 0.03] = np.inf
    got = median_ratios(*v)
    for i in range(4000):
        assert np.array_equal([g[i] for g in got], median_ratio(*(x[i] for x in v)), equal_nan=True)


# ---------------------------------------------------------------------------
# manager_stage_summary against a per-manager reference


def _stays_frame(rng, funnel, n_per_stage: int = 3000) -> pd.DataFrame:
    managers = ["ma", "mb", "mc", "md", "head", "—"]
    groups = {"head": "head_of_sales", "—": "no_manager"}
    parts = []
    for s in funnel.open_stages[:3]:
        m = rng.choice(managers, n_per_stage, p=[0.3, 0.25, 0.2, 0.15, 0.05, 0.05])
        slow = np.where(m == "mb", 2.0, 1.0)
        days = np.round(rng.exponential(1.5, n_per_stage) * slow, 3)
        parts.append(pd.DataFrame({"stage": s, "manager": m, "owner_group": [groups.get(x, TEAM) for x in m], "days": days,
                                   "observed": rng.random(n_per_stage) < 0.9, "working_s": np.round(days * 32400.0 * rng.uniform(0.2, 0.4, n_per_stage))}))
    stays = pd.concat(parts, ignore_index=True)
    stays["stage"] = pd.Categorical(stays["stage"], categories=funnel.keys)
    for c in ("manager", "owner_group"):
        stays[c] = stays[c].astype("string")
    stays["business_days"] = stays["working_s"] / 32400.0
    stays.attrs["working_seconds_per_day"] = 32400.0
    return stays


@pytest.mark.parametrize("unit", ["days", "business_days"])
def test_manager_stage_summary_equals_a_per_manager_reference(unit):
    funnel = load_funnel(DEMO_FUNNEL)
    stays = _stays_frame(np.random.default_rng(23), funnel)
    ms = st.manager_stage_summary(stays, funnel, unit, min_stays=15, min_ended=5)
    assert len(ms) == 3 * 6
    per_unit = 86400.0 if unit == "days" else 32400.0
    norms = funnel.norms()
    for r in ms.itertuples():
        sub = stays[stays["stage"] == r.stage]
        mine = (sub["manager"] == r.manager).to_numpy()
        team = (sub["owner_group"] == TEAM).to_numpy()
        d, o, w = sub[unit].to_numpy(), sub["observed"].to_numpy(), sub["working_s"].to_numpy()
        rest = team & ~mine
        own = km_median_ci(d[mine], o[mine])
        want_rest = km_median_ci(d[rest], o[rest]) if r.owner_group == TEAM else km_median_ci(d[team], o[team])
        assert (r.stays, r.open, r.ended) == (mine.sum(), (~o[mine]).sum(), o[mine].sum())
        assert np.array_equal([r.median, r.median_ci_low, r.median_ci_high], [km_quantile(d[mine], o[mine], 0.5), own[1], own[2]], equal_nan=True)
        assert np.array_equal(r.p80, km_quantile(d[mine], o[mine], 0.8), equal_nan=True)
        assert np.array_equal([r.rest_median, r.rest_median_ci_low, r.rest_median_ci_high], want_rest, equal_nan=True)
        assert r.team_median == km_median_ci(d[team], o[team])[0]
        norm = norms[r.stage]
        table = kaplan_meier(d[mine], o[mine])
        i = int(np.searchsorted(table["time"].to_numpy(), norm, side="right")) - 1
        if 0 <= i and 0.0 < table["survival"].iloc[i] < 1.0:
            assert (r.share_over_norm, r.share_over_ci_low, r.share_over_ci_high) == tuple(table.iloc[i][["survival", "ci_low", "ci_high"]])
        # the difference in working time: the working medians themselves (business days: the same clock)
        if unit == "days":
            w_rest = w[rest] if r.owner_group == TEAM else w[team]
            o_rest = o[rest] if r.owner_group == TEAM else o[team]
            own_w, rest_w = km_median_ci(w[mine], o[mine])[0], km_median_ci(w_rest, o_rest)[0]
        else:
            own_w, rest_w = own[0] * per_unit, want_rest[0] * per_unit
        assert r.difference_working_s == own_w - rest_w
        if r.owner_group == TEAM:
            chi2, p = logrank(d[mine], o[mine], d[rest], o[rest])
            assert r.chi2 == pytest.approx(chi2, rel=1e-9) and r.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
        else:
            assert np.isnan(r.p_value) and r.verdict == st.OUTSIDE
    assert set(ms.loc[ms["verdict"] == "worse", "manager"]) == {"mb"}  # the one planted twice as slow


# ---------------------------------------------------------------------------
# the funnel, the stays and the compliance check on a random department, against loops over its rows


def _random_department(client, seed: int = 29, n: int = 600):
    rng = np.random.default_rng(seed)
    funnel = load_funnel(DEMO_FUNNEL)
    opens = funnel.open_stages
    deals, hist = ["deal_id,created_at,manager,amount,stage,closed_at,channel"], []
    managers = ["m1", "m2", "m3", "m4", "", "hh"]
    for i in range(n):
        did = f"D{i:04d}"
        t = pd.Timestamp("2026-01-05 09:00") + pd.Timedelta(minutes=int(rng.integers(0, 400_000)))
        path, k = [], 0
        for _ in range(int(rng.integers(1, 8))):
            path.append(opens[k])
            k = int(np.clip(k + rng.choice([1, 1, 1, 2, -1, 0]), 0, len(opens) - 1))  # on, skip, back, a re-save
        end = rng.choice(["open", "won", "lost", "cancelled"], p=[0.4, 0.25, 0.25, 0.1])
        rows = []
        for s in path:
            rows.append((did, s, t))
            t = t + pd.Timedelta(minutes=int(rng.integers(0, 20_000)))
        if end != "open":
            rows.append((did, end, t))
        if rng.random() < 0.1:
            rows.append((did, "mystery", t))  # not a funnel stage
        if rng.random() < 0.15:
            rows = []  # a deal without history
        hist += rows
        stage = path[-1] if end == "open" else end
        closed = f"{t:%Y-%m-%d %H:%M}" if end != "open" else ""
        deals.append(f"{did},{rows[0][2] if rows else t:%Y-%m-%d %H:%M},{rng.choice(managers)},{int(rng.integers(1, 9)) * 1000},{stage},{closed},"
                     f"{rng.choice(['web', 'calls'])}")
    hist += [("X9999", "new", pd.Timestamp("2026-02-01 10:00"))]  # a deal the export does not have
    order = rng.permutation(len(hist))
    text = "deal_id,stage,entered_at\n" + "".join(f"{hist[i][0]},{hist[i][1]},{hist[i][2]:%Y-%m-%d %H:%M}\n" for i in order)
    managers_csv = "manager,name,role\nm1,A,manager\nm2,B,manager\nm3,C,manager\nm4,D,manager\nhh,H,head_of_sales\n"
    return load(client({"deals.csv": "\n".join(deals) + "\n", "stage_history.csv": text, "managers.csv": managers_csv}))


def _paths(ds) -> dict:
    """Each deal's funnel path by a loop: its history rows in time order (ties in funnel order), re-saves dropped."""
    order = {k: i for i, k in enumerate(ds.funnel.keys)}
    deal_ids = set(ds.tables["deals"]["deal_id"].astype(str))
    rows = {}
    for did, s, t in ds.tables["stage_history"][["deal_id", "stage", "entered_at"]].itertuples(index=False):
        if str(did) in deal_ids and s in order and not pd.isna(t):
            rows.setdefault(str(did), []).append((pd.Timestamp(t), order[s]))
    out = {}
    for did, r in rows.items():
        path = []
        for t, o in sorted(r):
            if not path or path[-1][1] != o:
                path.append((t, o))
        out[did] = path
    return out


def test_deal_reach_and_step_counts_equal_a_loop_over_the_history(client):
    ds = _random_department(client)
    funnel, d, h = ds.funnel, ds.tables["deals"], ds.tables["stage_history"]
    n_open = len(funnel.open_stages)
    where = {k: i for i, k in enumerate(funnel.open_stages)}
    seen: dict[str, set] = {}
    for did, s in h[["deal_id", "stage"]].astype(object).itertuples(index=False):
        seen.setdefault(str(did), set())
        if s in where:
            seen[str(did)].add(where[s])
    reach = fn.deal_reach(ds)
    for i, (did, stage, outcome) in enumerate(d[["deal_id", "stage", "outcome"]].astype(object).itertuples(index=False)):
        cur = where.get(stage, -1)
        has = did in seen
        r = max([max(cur, 0)] + list(seen.get(did, [])))
        r = n_open if outcome == "won" else r
        mask = (((1 << cur) if cur >= 0 else 0) | sum(1 << c for c in seen.get(did, []))) if has else (1 << (min(r, n_open - 1) + 1)) - 1
        got = reach.iloc[i]
        assert (got["reach"], got["entered_mask"], got["has_history"], got["is_open"]) == (r, mask, has, outcome == "open")
        assert got["pending"] == (outcome == "open" and r == cur)
    assert list(reach["owner_group"]) == list(owner_group(ds, d["manager"]))
    per = fn.step_conversion(ds, by="manager", reach=reach)
    for row in per.itertuples():
        sub = reach[reach["manager"] == row.manager]
        entered = ((sub["entered_mask"].to_numpy() >> row.step) & 1).astype(bool)
        r = sub["reach"].to_numpy()
        assert row.entered == entered.sum() and row.advanced == (entered & (r > row.step)).sum()
        assert row.pending == (sub["pending"].to_numpy() & (r == row.step)).sum() and row.reached == (r >= row.step).sum()


def test_stays_and_compliance_equal_a_loop_over_the_paths(client):
    ds = _random_department(client)
    paths = _paths(ds)
    keys = ds.funnel.keys
    n_open = len(ds.funnel.open_stages)
    stays = st.stage_stays(ds)
    deals = ds.tables["deals"].set_index("deal_id")
    want = []
    for did, path in paths.items():
        for j, (t, o) in enumerate(path):
            if o < n_open:
                last = j + 1 == len(path)
                if last and deals.loc[did, "outcome"] in ("won", "lost") and pd.isna(deals.loc[did, "closed_at"]):
                    continue  # a closed deal that cannot say when its last stay ended
                want.append((did, keys[o], t))
    got = stays[["deal_id", "stage", "entered_at"]].astype(object).itertuples(index=False)
    assert sorted((str(a), str(b), pd.Timestamp(c)) for a, b, c in got) == sorted(want)
    owner = deals["manager"]
    assert list(stays["deal_owner"]) == [owner[x] if not pd.isna(owner[x]) else st.NO_MANAGER for x in stays["deal_id"]]
    assert list(stays["owner_group"]) == list(owner_group(ds, [None if pd.isna(owner[x]) else owner[x] for x in stays["deal_id"]]))
    # loops: every re-entry into a stage the deal had visited before
    loops = st.compliance(ds)["loops"]
    want_loops = [(did, keys[o], t) for did, path in paths.items() for j, (t, o) in enumerate(path) if o in {q for _, q in path[:j]}]
    assert sorted((str(a), str(b), pd.Timestamp(c)) for a, b, c in loops[["deal_id", "stage", "at"]].astype(object).itertuples(index=False)) == sorted(want_loops)
    # the department's people, decided per group, are the rows people_mask keeps
    assert st.people_stays(stays).index.tolist() == stays.index[people_mask(stays["owner_group"].astype(object))].tolist()


def test_cohorts_grouped_by_one_sort_equal_one_mask_per_cohort(client):
    ds = _random_department(client)
    table = fn.cohort_table(ds, horizons=(30, 60))
    days, events, d = fn._durations(ds)
    cohort = d["created_at"].dt.to_period("M")
    assert list(table["cohort"]) == [str(c) for c in sorted(cohort.dropna().unique())]
    for row, c in zip(table.itertuples(), sorted(cohort.dropna().unique())):
        m = (cohort == c).to_numpy()
        assert (row.deals, row.won, row.lost, row.open) == (m.sum(), (d.loc[m, "outcome"] == "won").sum(), (d.loc[m, "outcome"] == "lost").sum(),
                                                            (d.loc[m, "outcome"] == "open").sum())
        cif = cumulative_incidence(days[m], events[m], causes=("won", "lost"))
        assert np.array_equal(fn.cif_at(cif, "won", 30), row.won_by_30d) or np.isnan(row.won_by_30d)


def test_the_history_lookups_are_reused_only_for_the_same_columns(client):
    ds = _random_department(client)
    h, d = ds.tables["stage_history"], ds.tables["deals"]
    first = st._lookup(h["deal_id"], d["deal_id"])
    assert st._lookup(h["deal_id"], d["deal_id"]) is first and not first.flags.writeable
    want = pd.Index(d["deal_id"].astype(object)).get_indexer(h["deal_id"].astype(object))
    assert np.array_equal(first, want)
    stages = st._lookup(h["stage"], ds.funnel.keys)
    assert st._lookup(h["stage"], list(ds.funnel.keys)) is stages
    assert np.array_equal(stages, pd.Index(ds.funnel.keys).get_indexer(h["stage"].astype(object)))
    assert not np.array_equal(st._lookup(h["stage"], ds.funnel.open_stages), stages)  # other keys: looked up anew
    h2 = h.copy()
    h2.loc[h2.index[0], "deal_id"] = d["deal_id"].iloc[-1]  # a change makes a new array: looked up again
    again = st._lookup(h2["deal_id"], d["deal_id"])
    assert again is not first and again[0] == len(d) - 1 and np.array_equal(again[1:], want[1:])
    del h2, again
    import gc

    gc.collect()
    assert all(ref() is not None for ref, _, _ in st._LOOKUPS)  # a gone array's lookups are forgotten
