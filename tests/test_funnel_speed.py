"""The funnel's vectorised paths give the numbers of the plain computations they replace, exactly.

* ``stats._binomtest_pvalues`` (binomial_pvalue, behind manager_flags' exact binomial test, all rows at once) against
  ``scipy.stats.binomtest`` one row at a time;
* ``stats.cif_at_each`` (cohort_table's cumulative incidence of a win, all cohorts at once) against
  :func:`salesaudit.stats.cumulative_incidence` + :func:`~salesaudit.stats.cif_at` per cohort;
* ``deal_reach`` (one scatter of the stage history into packed bits) against a per-deal loop over
  the history rows that follows the rules of its docstring.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import salesaudit.stats as S
from salesaudit.analysis import funnel as fn
from salesaudit.analysis.baseline import owner_group
from salesaudit.data.loader import Dataset, TableReport
from salesaudit.data.params import load_run_config
from salesaudit.data.presets import load_preset
from salesaudit.resources import params_dir
from salesaudit.stats import binomial_pvalue, cif_at, cif_at_each, cumulative_incidence


def _triples(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random (k, n, p) with the edge cases: k = 0, k = n, p = 0, p = 1, p = k / n exactly, team-like rates, n = 1, large n."""
    n = np.concatenate([np.round(np.exp(rng.uniform(0, np.log(3000), size))), [1, 1, 1, 1, 2, 5000, 5000]])
    k = np.floor(rng.uniform(0, 1, n.size) * (n + 1))
    k[: size // 10] = 0
    k[size // 10: size // 5] = n[size // 10: size // 5]
    k = np.concatenate([k[:size], [0, 1, 0, 1, 1, 2500, 0]])
    p = rng.uniform(0, 1, n.size)
    kind = rng.integers(0, 6, n.size)
    p = np.where(kind == 0, k / n, p)  # the observed rate itself: the test gives 1
    p = np.where(kind == 1, rng.integers(0, 400, n.size) / 400, p)  # a team rate: a ratio of counts, 0 and 1 included
    p = np.where(kind == 2, rng.choice([0.0, 1.0, 1e-12, 1 - 1e-12, 0.5], n.size), p)
    p[size:] = [0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.5]
    return k, n, p


def test_binomtest_pvalues_are_scipys_to_the_last_bit():
    k, n, p = _triples(np.random.default_rng(16), 1500)
    expected = np.array([scipy.stats.binomtest(int(a), int(b), float(c)).pvalue for a, b, c in zip(k, n, p)])
    got = S._binomtest_pvalues(k, n, p)
    np.testing.assert_array_equal(got, expected)
    assert (got == 1.0).sum() >= 100 and (got < 1e-6).sum() >= 100  # both ends of the range were exercised
    assert S._binomtest_pvalues(np.array([0.0]), np.array([10.0]), np.array([0.5]))[0] == 2 * 0.5**10  # by hand


def test_manager_flags_p_values_are_binomial_pvalue():
    rng = np.random.default_rng(7)
    steps = 4
    per = pd.DataFrame({"manager": np.repeat([f"m{i}" for i in range(60)], steps), "step": np.tile(np.arange(steps), 60)})
    per["finished"] = rng.integers(0, 300, len(per))
    per["advanced"] = np.floor(rng.uniform(0, 1, len(per)) * (per["finished"] + 1)).astype(int)
    per["rate"] = np.where(per["finished"] > 0, per["advanced"] / per["finished"].clip(lower=1), np.nan)
    totals = per.groupby("step")[["advanced", "finished"]].sum()
    team = pd.DataFrame({"step": totals.index, "rate": totals["advanced"] / totals["finished"]})
    f = fn.manager_flags(per, team, min_n=20)
    judged = f["finished"] >= 20
    expected = binomial_pvalue(f.loc[judged, "advanced"], f.loc[judged, "finished"], f.loc[judged, "team_rate"])
    np.testing.assert_array_equal(f.loc[judged, "p_value"].to_numpy(), expected)
    assert f.loc[~judged, "p_value"].isna().all() and judged.sum() > 150 and (~judged).sum() > 0


def test_cif_at_each_is_cif_at_of_each_cohorts_cumulative_incidence():
    rng = np.random.default_rng(3)
    size, cohorts = 4000, 7
    days = np.round(rng.exponential(40, size) * 2) / 2  # half days: many ties between won, lost and censored
    days[rng.uniform(size=size) < 0.02] = np.nan
    days[:50] = 0.0
    cohort = rng.integers(-1, cohorts, size)
    cohort[cohort == 4] = 5  # cohort 4 has no deal
    days[cohort == 6] = np.nan  # nor cohort 6 a duration
    outcome = rng.choice([fn.WON, fn.LOST, fn.OPEN, -1], size, p=[0.3, 0.3, 0.3, 0.1])
    horizons = (0, 0.5, 7, 30, 90, 1000)
    got = cif_at_each(days, outcome == fn.WON, outcome == fn.LOST, cohort, cohorts, horizons)
    labels = np.array(["won", "lost", "open", None], dtype=object)[np.where(outcome < 0, 3, outcome)]
    for c in range(cohorts):
        m = cohort == c
        table = cumulative_incidence(days[m], labels[m], causes=("won", "lost"))
        np.testing.assert_array_equal(got[c], [cif_at(table, "won", h) for h in horizons])
    assert np.isnan(got[4]).all() and np.isnan(got[6]).all() and (got[[0, 1, 2, 3, 5], 3] > 0.1).all()


def test_cohort_table_reads_the_tables_cohort_curves_make(demo):
    table = fn.cohort_table(demo, horizons=(30, 60, 90))
    for (c, idx, cif), row in zip(fn._cohorts(demo, "M"), table.itertuples()):
        assert row.cohort == str(c) and row.deals == len(idx)
        observed = (demo.as_of - c.start_time).total_seconds() / 86400.0
        for h in (30, 60, 90):
            value = getattr(row, f"won_by_{h}d")
            assert value == cif_at(cif, "won", h) if observed >= h else np.isnan(value)
    assert len(table) > 5 and table["won_by_90d"].notna().sum() >= 3


STAGES = ["new", "qualified", "needs", "proposal", "invoice", "won", "lost", "cancelled"]
OUTCOME = {"won": "won", "lost": "lost", "cancelled": "lost"}


def _dataset(rng: np.random.Generator, dtype, lost_reached: str | None) -> Dataset:
    """A real Dataset of random deals and a random stage history: skips, repeats, won and lost rows,
    rows of deals that are not among the deals, stages that are no key, deals without history."""
    n = 400
    stage = rng.choice(STAGES + [None], n, p=[0.12, 0.1, 0.1, 0.1, 0.1, 0.2, 0.12, 0.1, 0.06])
    outcome = np.array([OUTCOME.get(s, "open") if s is not None else None for s in stage], dtype=object)
    managers = np.array(["m1", "m2", "m3", "robot", "", None, "m4"], dtype=object)
    created = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 200 * 24, n), unit="h")
    deals = pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(n)],
            "created_at": created,
            "manager": managers[rng.integers(0, len(managers), n)],
            "stage": stage,
            "closed_at": [c + pd.Timedelta(days=5) if o in ("won", "lost") else pd.NaT for c, o in zip(created, outcome)],
            "outcome": outcome,
            "channel": rng.choice(["web", "calls"], n),
            "amount": rng.uniform(100, 1000, n),
        }
    )
    rows = []
    for i in range(n):
        if rng.uniform() < 0.25:
            continue  # no history
        for _ in range(rng.integers(1, 6)):
            rows.append((f"d{i}", rng.choice(STAGES + ["on_hold"])))
    rows += [(f"x{i}", s) for i, s in enumerate(rng.choice(STAGES, 30))]  # deals not among the deals
    order = rng.permutation(len(rows))
    history = pd.DataFrame({"deal_id": [rows[j][0] for j in order], "stage": [rows[j][1] for j in order]})
    history["entered_at"] = pd.Timestamp("2026-01-01")
    for frame in (deals, history):
        for col in ("deal_id", "manager", "stage", "outcome", "channel"):
            if col in frame:
                frame[col] = frame[col].astype(dtype)
    cfg = load_run_config(params_dir() / "clients" / "demo.yaml")
    if lost_reached:
        cfg = cfg.model_copy(update={"funnel": cfg.funnel.model_copy(update={"lost_reached_without_history": lost_reached})})
    reports = {t: TableReport(t, "not_in_preset") for t in ("managers", "deals", "leads", "stage_history", "activities", "payments", "plans")}
    return Dataset(cfg, load_preset("generic"), {"deals": deals, "stage_history": history}, pd.DataFrame(), {}, reports, pd.DataFrame(), pd.Timestamp("2026-10-31 23:59:59"))


def _values(column: pd.Series) -> list:
    """A column as Python values, None where missing."""
    return [None if pd.isna(v) else v for v in column.astype(object)]


def _expected_reach(ds: Dataset) -> pd.DataFrame:
    """deal_reach's rules, deal by deal, from the rows of the stage history."""
    funnel = ds.funnel
    open_stages = funnel.open_stages
    n_open = len(open_stages)
    seen: dict[str, list[str]] = {}
    for deal, stage in zip(_values(ds.tables["stage_history"]["deal_id"]), _values(ds.tables["stage_history"]["stage"])):
        seen.setdefault(deal, []).append(stage)
    out = []
    for deal, stage, outcome in zip(*(_values(ds.tables["deals"][c]) for c in ("deal_id", "stage", "outcome"))):
        cur = open_stages.index(stage) if stage in open_stages else -1
        stages = [open_stages.index(s) for s in seen.get(deal, []) if s in open_stages]
        has_history = deal in seen
        reach = max([cur, 0] + stages)
        mask = sum({1 << s for s in stages + ([cur] if cur >= 0 else [])})
        if funnel.lost_reached_without_history and outcome == "lost" and not has_history:
            reach = max(reach, open_stages.index(funnel.lost_reached_without_history))
        if outcome == "won":
            reach = n_open
        if not has_history:
            mask = (1 << (min(reach, n_open - 1) + 1)) - 1
        out.append((reach, mask, outcome == "open", has_history, outcome == "open" and reach == cur))
    return pd.DataFrame(out, columns=["reach", "entered_mask", "is_open", "has_history", "pending"])


@pytest.mark.parametrize("dtype, lost_reached", [("string", None), (object, "needs")])
def test_deal_reach_follows_the_history_row_by_row(dtype, lost_reached):
    ds = _dataset(np.random.default_rng(11), dtype, lost_reached)
    got = fn.deal_reach(ds)
    expected = _expected_reach(ds)
    for col in expected:
        assert got[col].tolist() == expected[col].tolist(), col
    assert (got["reach"].dtype, got["entered_mask"].dtype, got["pending"].dtype) == (np.dtype(int), np.dtype(np.int64), np.dtype(bool))
    managers = ds.tables["deals"]["manager"]
    groups = owner_group(ds, managers)
    assert got["owner_group"].tolist() == list(groups) and got["owner_group"].dtype == pd.Series(list(groups)).dtype
    assert set(groups) >= {"manager", "no_manager", "system"}
    up_to = np.left_shift(1, expected["reach"].clip(upper=4) + 1) - 1
    assert got["has_history"].sum() < len(got) and (expected["entered_mask"] != up_to).sum() > 20  # skips: the history, not the reach rule
