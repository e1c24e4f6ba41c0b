"""Lead processing, managers against the rest of the team (#13): a flag needs significance *and* a size.

A small export, built here and read through the real loader: three team managers whose first
responses are spread evenly over whole working minutes (so the Kaplan–Meier medians are read off
by hand), one slow manager, and leads of no manager and of a CRM robot that must not move the team.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact

from salesaudit.analysis import leads as ld
from salesaudit.data.loader import load_dataset
from salesaudit.data.params import LeadsSettings, load_run_config
from salesaudit.stats import holm
from salesaudit.stats.effect import rate_difference

COLUMNS = "lead_id,created_at,channel,manager,first_response_at,status,disqualify_reason,deal_id\n"
CALENDAR = {"timezone": "Europe/Moscow", "workdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00", "production": "none"}


def _leads(manager: str, n: int, minutes: list[int], disqualified_per_100: int) -> list[str]:
    """``n`` leads of one manager, eight a working day from 09:30, answered after ``minutes[i % len]`` minutes
    (within the day: working minutes = minutes); lead i is disqualified when ``i % 100 < disqualified_per_100``."""
    days = pd.bdate_range("2026-01-05", periods=n // 8 + 1)
    rows = []
    for i in range(n):
        created = days[i // 8] + pd.Timedelta(hours=9, minutes=30) + pd.Timedelta(hours=i % 8)
        answered = created + pd.Timedelta(minutes=minutes[i % len(minutes)])
        dq = i % 100 < disqualified_per_100
        rows.append(f"{manager or 'x'}-{i},{created:%Y-%m-%d %H:%M},web,{manager},{answered:%Y-%m-%d %H:%M},"
                    f"{'disqualified' if dq else 'converted'},{'Спам' if dq else ''},")
    return rows


def _export(outside_the_team: bool) -> str:
    rows = (_leads("r1", 220, list(range(5, 16)), 0)  # 5..15 minutes, 20 leads each: median 10
            + _leads("r2", 220, list(range(5, 16)), 0)
            + _leads("tiny", 1100, list(range(6, 17)), 3)  # one minute slower on every lead, 1100 leads; 3 % disqualified
            + _leads("slow", 22, [36, 38, 40, 42, 44], 0))  # 36..44 minutes: median 40
    if outside_the_team:
        rows += _leads("", 300, [200], 100) + _leads("robot", 30, [0], 100)  # slow and all disqualified / instant and all disqualified
    return COLUMNS + "\n".join(rows) + "\n"


def _load(client, outside_the_team: bool = True, **cfg):
    cfg.setdefault("as_of", "2026-10-31 23:59:59")
    cfg.setdefault("lead_response", {"sla_minutes": 30, "same_day": True, "calendar": CALENDAR})
    return load_dataset(load_run_config(client({"leads.csv": _export(outside_the_team)}, system_owners=["robot"], **cfg)), refuse=False)


@pytest.fixture
def result(client):
    ds = _load(client)
    return ds, ld.analyse(ds, LeadsSettings())


def test_much_slower_is_flagged_and_slower_by_a_minute_on_a_big_volume_is_small(result):
    _, r = result
    rt = r.response_time_flags_.set_index("manager")
    # slow: 22 leads at 36, 38, 40, 42, 44 (5, 5, 4, 4, 4): S falls to 12/22 at 38 and 8/22 at 40, median 40.
    # The rest of the team: r1, r2 at 5..15 (40 a minute), tiny at 6..16 (100 a minute; 16: 100); 1540 leads,
    # cumulative by 10: 40 + 5 * 140 = 740 < 770, by 11: 880 -> median 11.
    slow = rt.loc["slow"]
    assert (slow["leads"], slow["rest_leads"], slow["median"], slow["rest_median"]) == (22, 1540, 40.0, 11.0)
    assert slow["ratio"] == pytest.approx(40 / 11) and slow["difference"] == 29.0
    assert slow["ratio_low"] < 40 / 11 < slow["ratio_high"] and slow["median_low"] <= 40 <= slow["median_high"]
    assert (slow["verdict"], slow["flag"]) == ("worse", "slower")
    # tiny: 6..16, 100 each, 1100 leads: by 10 500, by 11 600 -> median 11; the robust rest leaves out slow,
    # judged worse: r1, r2, 440 leads, by 10: 6 * 40 = 240 >= 220 -> median 10. Slower by a ratio of 1.1 and
    # one minute: significant, but small.
    assert rt.attrs["baseline_excluded"] == ["slow"]
    tiny = rt.loc["tiny"]
    assert (tiny["median"], tiny["rest_median"], tiny["rest_leads"]) == (11.0, 10.0, 440)
    assert tiny["ratio"] == pytest.approx(1.1) and tiny["difference"] == 1.0
    assert tiny["p_adjusted"] < 0.05 and tiny["verdict"] == "small" and tiny["flag"] == ""
    # the same data with a practical threshold below the effect would flag him: the size is what stops it
    lax = ld.compare_response_times(r.response_times_, min_ratio=1.05, min_difference_minutes=0.5).set_index("manager")
    assert lax.loc["tiny", "verdict"] == "worse"
    # flagged first, and the key figure lists the one who is worse
    assert r.response_time_flags_["manager"].iloc[0] == "slow"
    assert r.key_figures()["leads_flagged_response_time"] == ["slow"]


def test_shares_against_the_rest_of_the_team_by_hand(result):
    ds, r = result
    sla = r.response_flags_.set_index("manager")
    # slow answers no lead within 30 minutes; everyone else in the team answers every one (1540 leads)
    assert (sla.loc["slow", "finished"], sla.loc["slow", "advanced"], sla.loc["slow", "rest_finished"], sla.loc["slow", "rest_advanced"]) == (22, 0, 1540, 1540)
    assert sla.loc["slow", "diff"] == -1.0 and sla.loc["slow", "verdict"] == "worse" and sla.loc["slow", "flag"] == "below"
    assert r.key_figures()["leads_flagged_response"] == ["slow"]
    dq = r.disqualification_flags_.set_index("manager")
    # tiny disqualifies 3 of every 100 (33 of 1100), the rest of the team none (0 of 462): 3 p.p., below the 5 p.p. threshold
    t = dq.loc["tiny"]
    assert (t["finished"], t["advanced"], t["rest_finished"], t["rest_advanced"]) == (1100, 33, 462, 0)
    assert t["rate"] == 0.03 and t["team_rate"] == 0.0 and t["diff"] == pytest.approx(0.03)
    assert (t["diff_low"], t["diff_high"]) == pytest.approx(rate_difference(33, 1100, 0, 462)[1:])
    # Fisher's exact test of the 2x2 table, Holm over the four team managers
    p = {m: fisher_exact([[dq.loc[m, "advanced"], dq.loc[m, "finished"] - dq.loc[m, "advanced"]],
                          [dq.loc[m, "rest_advanced"], dq.loc[m, "rest_finished"] - dq.loc[m, "rest_advanced"]]])[1] for m in ("r1", "r2", "tiny", "slow")}
    adjusted = dict(zip(p, holm(list(p.values()))))
    assert t["p_value"] == pytest.approx(p["tiny"]) and t["p_adjusted"] == pytest.approx(adjusted["tiny"]) and adjusted["tiny"] < 0.05
    assert t["verdict"] == "small" and t["flag"] == ""
    assert r.key_figures()["leads_flagged_disqualification_high"] == [] == r.key_figures()["leads_flagged_disqualification_low"]
    # a threshold of 2 p.p. would flag the same difference
    lax = ld.disqualification_flags(ds, min_effect=0.02).set_index("manager")
    assert lax.loc["tiny", "verdict"] == "worse" and lax.loc["tiny", "flag"] == "above"


def test_leads_outside_the_team_have_rows_of_their_own_and_do_not_move_the_team(client, result):
    ds, r = result
    ds_team = _load(client, outside_the_team=False)
    r_team = ld.analyse(ds_team, LeadsSettings())
    for name in ("response_flags_", "overnight_flags_", "disqualification_flags_", "response_time_flags_"):
        mine, alone = getattr(r, name), getattr(r_team, name)
        outside = mine[mine["owner_group"] != "manager"]
        # one row per group: no manager (no code), the system owner; neither tested nor judged
        assert sorted(outside["owner_group"]) == ["no_manager", "system"], name
        assert (outside["verdict"] == ld.EXCLUDED).all() and outside["p_value"].isna().all() and not outside["judgeable"].any()
        pd.testing.assert_frame_equal(mine[mine["owner_group"] == "manager"].reset_index(drop=True), alone.reset_index(drop=True), check_dtype=False)
    dq = r.disqualification_flags_.set_index("owner_group")
    # the 300 leads without a manager are all disqualified: 100 %, against the team's 33 of 1562 (information only)
    assert (dq.loc["no_manager", "finished"], dq.loc["no_manager", "advanced"], dq.loc["no_manager", "rest_finished"]) == (300, 300, 1562)
    assert pd.isna(dq.loc["no_manager", "manager"]) and dq.loc["system", "manager"] == "robot"
    # the department's own figures still count every lead: the team row of the response summary has them all
    assert int(r.team_["leads"].iloc[0]) == 1562 + 330 and int(r_team.team_["leads"].iloc[0]) == 1562
    # and the key figures name the same managers
    keys = [k for k in r.key_figures() if k.startswith("leads_flagged")]
    assert {k: r.key_figures()[k] for k in keys} == {k: r_team.key_figures()[k] for k in keys}


def test_too_few_leads_is_a_not_judged_row(client):
    ds = _load(client, outside_the_team=False)
    r = ld.analyse(ds, LeadsSettings(min_n=30))  # slow has 22 leads
    for f in (r.response_flags_, r.overnight_flags_, r.disqualification_flags_, r.response_time_flags_):
        row = f.set_index("manager").loc["slow"]
        assert row["verdict"] == "not_judged" and not row["judgeable"] and pd.isna(row["p_adjusted"]) and row["flag"] == "not_judgeable"
        assert f["manager"].iloc[-1] == "slow"  # not judged after the judged ones
    assert r.key_figures()["leads_flagged_response"] == [] and r.key_figures()["leads_flagged_response_time"] == []


def test_a_zero_median_counts_as_an_infinite_ratio():
    # a manager who answers within the same minute, against a rest of the team at 20 minutes and more
    n = 40
    rt = pd.DataFrame({"manager": ["fast"] * n + ["a"] * n + ["b"] * n, "owner_group": "manager",
                       "working_minutes": [0.0] * n + list(np.linspace(20, 40, n)) * 2, "answered": True})
    f = ld.compare_response_times(rt).set_index("manager")
    assert f.loc["fast", "median"] == 0.0 and np.isnan(f.loc["fast", "ratio"]) and f.loc["fast", "difference"] < -15
    assert f.loc["fast", "verdict"] == "better" and f.loc["fast", "flag"] == "faster"


def test_judging_settings_reach_the_result(client):
    ds = _load(client, outside_the_team=False)
    st = ds.config.analysis.settings("leads", min_effect=0.02, min_ratio=1.05, min_difference_minutes=0.5)
    r = ld.analyse(ds, st)
    assert (r.min_effect, r.min_ratio, r.min_difference_minutes) == (0.02, 1.05, 0.5)
    k = r.key_figures()
    assert k["leads_flagged_response_time"] == ["slow", "tiny"] and k["leads_flagged_disqualification_high"] == ["tiny"]
    assert ld.summary(ds, min_effect=0.02, min_ratio=1.05, min_difference_minutes=0.5) == k


def test_the_page_says_how_big_in_a_sentence_each_and_shows_the_groups_apart(result):
    from salesaudit.report import leads as report

    _, r = result
    en = report.page(r, "en")
    texts = en.texts()
    slow = r.response_time_flags_.set_index("manager").loc["slow"]
    # two flagged differences, fewer than six: a sentence each, with the size and its interval
    assert ("**slow** — slower than the rest: median first response 40.0 min against 11.0 min for the rest of the team; "
            f"ratio {40 / 11:.2f} (95% CI {slow['ratio_low']:.2f}–{slow['ratio_high']:.2f}), difference +29.0 min.") in texts
    sla = r.response_flags_.set_index("manager").loc["slow"]
    assert ("**slow** — answers within the SLA less often than the rest: answered within the SLA 0.0% against 100.0% for the rest of the team; "
            f"difference -100.0 p.p. (95% CI -100.0…{100 * sla['diff_high']:+.1f}).") in texts
    # the small ones are counted, not listed: tiny and r1, r2 on the response time, tiny on the SLA and on disqualification, r1, r2 too
    small = sum(int((f["verdict"] == "small").sum()) for f in (r.response_time_flags_, r.response_flags_, r.overnight_flags_, r.disqualification_flags_))
    assert f"{small} differences are significant but smaller than the thresholds: marked small in the tables below, not flagged." in texts
    # the rows outside the team, by their group's name, last
    times = en.tables()[0]
    assert times["Manager"].tolist()[-2:] == ["(no manager)", "robot (system user)"]
    assert times["Verdict"].tolist()[-2:] == ["outside the team: not compared"] * 2
    assert times.set_index("Manager").loc["tiny", "Verdict"] == "significant, but a small difference"
    import matplotlib.pyplot as plt

    plt.close("all")
