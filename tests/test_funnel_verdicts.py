"""Skip-aware step conversion, the team baseline and the flag rule of the funnel (issue #13).

Small departments are built in each test and loaded through the real loader (the ``client``
fixture), or the comparison is fed counts directly; every expected number is counted by hand or
computed here independently of :mod:`salesaudit.analysis.funnel`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hypergeom

from salesaudit.analysis import funnel as fn
from salesaudit.data.loader import load
from salesaudit.data.params import FunnelSettings

OPEN = ["new", "qualified", "needs", "proposal", "invoice"]
T0 = pd.Timestamp("2026-01-05 10:00")


def _export(paths: dict[str, tuple[str | None, list[str]]], history: bool = True) -> dict[str, str]:
    """deals.csv (and stage_history.csv) from ``{deal_id: (manager, [stage, …])}``: the last stage is the deal's current one."""
    deals = ["deal_id,created_at,manager,stage,closed_at,channel"]
    rows = ["deal_id,stage,entered_at"]
    for deal_id, (manager, path) in paths.items():
        start = T0 + pd.Timedelta(hours=int(deal_id.lstrip("d")))
        moments = [start + pd.Timedelta(days=i) for i in range(len(path))]
        closed = moments[-1].strftime("%Y-%m-%d %H:%M") if path[-1] in ("won", "lost") else ""
        deals.append(f"{deal_id},{start:%Y-%m-%d %H:%M},{manager or ''},{path[-1]},{closed},web")
        rows += [f"{deal_id},{s},{m:%Y-%m-%d %H:%M}" for s, m in zip(path, moments)]
    files = {"deals.csv": "\n".join(deals) + "\n"}
    if history:
        files["stage_history.csv"] = "\n".join(rows) + "\n"
    return files


# ---------------------------------------------------------------------------------------- tiny, by hand

TINY = {
    "d1": ("m1", ["new", "qualified", "needs", "proposal", "invoice", "won"]),
    "d2": ("m1", ["new", "qualified", "lost"]),
    "d3": ("m2", ["new", "qualified", "needs"]),            # open in needs
    "d4": ("m2", ["new"]),                                  # open in new
    "d5": ("m2", ["new", "lost"]),
    "d6": ("m1", ["new", "needs", "proposal", "lost"]),     # jumped over qualified
    "d8": (None, ["new", "qualified", "needs", "proposal", "invoice", "won"]),  # nobody's deal
}


@pytest.fixture
def tiny(client):
    files = _export(TINY)
    # d7: m2's deal open in proposal with no stage history at all: counted by its reach
    files["deals.csv"] += "d7,2026-01-05 17:00,m2,proposal,,web\n"
    return load(client(files, as_of="2026-02-10 00:00:00"))


def test_hand_counted_skip_aware_team_rates(tiny):
    reach = fn.deal_reach(tiny).set_index("deal_id")
    assert reach.loc["d6", "reach"] == 3 and reach.loc["d6", "entered_mask"] == 0b1101  # new, needs, proposal: not qualified
    assert reach.loc["d7", "entered_mask"] == 0b1111 and not reach.loc["d7", "has_history"]  # reach rule: every stage up to proposal
    r = fn.analyse(tiny)
    team = r.team_.set_index("from_stage")
    cols = ["reached", "skipped", "entered", "pending", "finished", "advanced"]
    # team = d1..d7 (d8 has no manager). By hand, step by step:
    assert team.loc["new", cols].tolist() == [7, 0, 7, 1, 6, 5]          # d4 still in new; d5 lost from new
    assert team.loc["qualified", cols].tolist() == [5, 1, 4, 0, 4, 3]    # d6 never was in qualified; d2 lost there
    assert team.loc["needs", cols].tolist() == [4, 0, 4, 1, 3, 3]        # d3 still in needs
    assert team.loc["proposal", cols].tolist() == [3, 0, 3, 1, 2, 1]     # d7 still in proposal, d6 lost there
    assert team.loc["invoice", cols].tolist() == [1, 0, 1, 0, 1, 1]
    assert team["rate"].tolist() == pytest.approx([5 / 6, 3 / 4, 1.0, 1 / 2, 1.0])
    # the CRM's ratio: deals beyond the stage over deals that reached it, skips and open deals included
    assert team["naive_rate"].tolist() == pytest.approx([5 / 7, 4 / 5, 3 / 4, 1 / 3, 1.0])
    assert r.deals_without_history == 1 and r.key_figures()["deals_without_history"] == 1
    per = r.flags_.set_index(["manager", "from_stage"])
    assert per.loc[("m1", "qualified"), ["entered", "skipped", "finished", "advanced"]].tolist() == [2, 1, 2, 1]  # d1 moved on, d2 lost; d6 not there
    assert per.loc[("m1", "qualified"), "rate"] == 0.5 and per.loc[("m2", "qualified"), "rate"] == 1.0
    # against the rest of the team: m1 at new is 3/3, the rest (m2) 2/3
    row = per.loc[("m1", "new")]
    assert (row["rest_finished"], row["rest_advanced"]) == (3, 2)
    assert row["team_rate"] == pytest.approx(2 / 3) and row["difference"] == pytest.approx(1 - 2 / 3)
    assert (r.flags_["flag"] == "not_judged").all()  # nobody has 20 finished deals


def test_deals_without_a_manager_do_not_move_the_team_rate(tiny):
    r = fn.analyse(tiny)
    with_nobody = fn.step_conversion(tiny)  # every deal, d8 included: what the team's rate was before
    assert with_nobody.loc[0, "finished"] == 7 and with_nobody.loc[0, "rate"] == pytest.approx(6 / 7)
    assert r.team_.loc[0, "rate"] == pytest.approx(5 / 6)
    groups = r.groups_
    assert groups["owner_group"].unique().tolist() == ["no_manager"]
    assert groups["finished"].tolist() == [1] * 5 and groups["rate"].tolist() == [1.0] * 5
    assert set(r.flags_["manager"]) == {"m1", "m2"}
    assert r.key_figures()["excluded_deals"] == {"no_manager": 1} and r.key_figures()["team_deals"] == 7
    assert r.reach_["deals"].iloc[0] == 7  # the team's funnel chart


def test_head_of_sales_and_system_owners_are_their_own_rows(client):
    paths = {f"d{i}": (owner, ["new", "qualified", "lost"] if i % 2 else ["new", "lost"])
             for i, owner in enumerate(["m1", "m2", "boss", "Robot"] * 10, start=1)}
    ds = load(client(_export(paths), as_of="2026-06-01 00:00:00", head_of_sales="boss", system_owners=["robot"]))
    r = fn.analyse(ds)
    assert r.groups_.drop_duplicates("owner_group")["owner_group"].tolist() == ["system", "head_of_sales"]  # in baseline.GROUPS order
    assert set(r.flags_["manager"]) == {"m1", "m2"} and r.team_.loc[0, "finished"] == 20
    # m1 has the odd deals (all moved on), m2 the even ones (all lost): 10/20 for the team
    assert r.team_.loc[0, "rate"] == 0.5


# ---------------------------------------------------------------------------------------- the planted skipper


def _department(seed: int = 7) -> dict[str, tuple[str, list[str]]]:
    """Three ordinary managers and a skipper (s1) who takes every deal from qualified straight to proposal."""
    rng = np.random.default_rng(seed)
    paths, n = {}, 0
    for manager in ("a1", "a2", "a3", "s1"):
        for _ in range(90):
            n += 1
            path = ["new"]
            for nxt in [s for s in OPEN[1:] + ["won"] if manager != "s1" or s != "needs"]:
                if rng.random() >= 0.8:
                    path.append("lost")
                    break
                path.append(nxt)
            paths[f"d{n}"] = (manager, path)
    return paths


def test_the_skipper_is_not_flagged_at_the_step_he_skips(client):
    ds = load(client(_export(_department()), as_of="2026-10-31 00:00:00"))
    r = fn.analyse(ds)
    f = r.flags_.set_index(["manager", "from_stage"])
    at_needs = f.loc[("s1", "needs")]
    assert at_needs["entered"] == 0 and at_needs["skipped"] == at_needs["reached"] > 20
    assert at_needs["flag"] == "not_judged"
    assert not f.loc[f["flag"].isin(["worse", "better"])].index.get_level_values(0).isin(["s1"]).any(), r.flags_.query("flag in ['worse', 'better']")
    # his deals left qualified forward (to proposal): moved on at qualified -> needs, as the others'
    assert f.loc[("s1", "qualified"), "advanced"] == at_needs["reached"]
    # the team's needs -> proposal rate is over the three others' deals only
    others = f.loc[(["a1", "a2", "a3"], "needs"), :]
    assert r.team_.set_index("from_stage").loc["needs", "advanced"] == others["advanced"].sum()
    # the old reach rule (a deal that passed a stage was in it) credits him with 100 % and flags him above the team
    reach = fn.deal_reach(ds)
    n_open = len(OPEN)
    reach["entered_mask"] = np.left_shift(1, np.minimum(reach["reach"].to_numpy(), n_open - 1) + 1) - 1
    old = fn.manager_verdicts(fn.step_conversion(ds, by="manager", reach=reach)).set_index(["manager", "from_stage"])
    assert old.loc[("s1", "needs"), "rate"] == 1.0 and old.loc[("s1", "needs"), "flag"] == "better"


# ---------------------------------------------------------------------------------------- the flag rule


def _fisher_by_hand(k1, n1, k0, n0) -> float:
    """Two-sided Fisher: the hypergeometric probability of every table no more likely than the observed one."""
    dist = hypergeom(n1 + n0, k1 + k0, n1)
    support = np.arange(max(0, k1 + k0 - n0), min(n1, k1 + k0) + 1)
    pmf = dist.pmf(support)
    return float(min(1.0, pmf[pmf <= dist.pmf(k1) * (1 + 1e-7)].sum()))


def test_a_tiny_difference_on_a_large_volume_is_small_a_large_one_is_flagged():
    per = pd.DataFrame({"manager": ["big", "a", "b", "w", "few"], "step": 0,
                        "finished": [20000, 20000, 20000, 200, 19], "advanced": [15600, 16000, 16000, 120, 2]})
    out = fn.manager_verdicts(per, min_n=20, alpha=0.05, min_effect=0.05).set_index("manager")
    big, w = out.loc["big"], out.loc["w"]
    # big: 78.0 % against the rest's (16000 + 16000 + 120 + 2) / 40219: 2 points below, beyond doubt, too small to flag
    rest = (16000 + 16000 + 120 + 2) / (20000 + 20000 + 200 + 19)
    assert big["team_rate"] == pytest.approx(rest) and big["difference"] == pytest.approx(0.78 - rest)
    assert big["p_value"] == pytest.approx(_fisher_by_hand(15600, 20000, 32122, 40219), rel=1e-6)
    assert big["p_adjusted"] < 1e-4 and big["flag"] == "small"
    # w: 60 % against about 79 %: 19 points below, significant: worse; its interval excludes the threshold
    assert w["flag"] == "worse" and w["diff_high"] < -0.05 and w["diff_low"] < w["difference"] < w["diff_high"]
    assert w["p_value"] == pytest.approx(_fisher_by_hand(120, 200, 47602, 60019), rel=1e-6)
    # few: 19 finished deals < min_n, not judged and not counted in Holm's correction (4 tests)
    assert out.loc["few", "flag"] == "not_judged" and np.isnan(out.loc["few", "p_value"])
    tested = out["p_value"].dropna().sort_values()
    holm = np.maximum.accumulate(np.minimum(1.0, (len(tested) - np.arange(len(tested))) * tested.to_numpy()))
    assert out.loc[tested.index, "p_adjusted"].tolist() == pytest.approx(holm.tolist()) and len(tested) == 4
    assert out.index[0] == "w" and out.index[-1] == "few"  # flagged first, not judged last
    # a threshold of 1 point makes big's difference a flag
    assert fn.manager_verdicts(per, min_effect=0.01).set_index("manager").loc["big", "flag"] == "worse"


def test_summary_and_the_key_figures_use_the_flag_rule(client):
    ds = load(client(_export(_department()), as_of="2026-10-31 00:00:00"))
    k = fn.summary(ds)
    assert k == fn.analyse(ds).key_figures()
    assert k["flagged_below"] == k["flagged_above"] == [] and k["managers_flagged"] == []
    assert k["not_judged"] == 1  # s1 at needs -> proposal
    loose = fn.analyse(ds, FunnelSettings(min_n=1, alpha=0.05, min_effect=0.01))
    assert loose.min_effect == 0.01 and loose.key_figures()["not_judged"] == 1
