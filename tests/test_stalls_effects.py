"""Stalls with effect sizes (#13): the team baseline, the ratio of medians and the difference in
working time, the flag rule, units in seconds, norms in the unit of the measure, who a stay is
charged to, and compliance against the tolerance with the effect rule.

Every dataset here goes through the real loader (the ``client`` fixture of conftest.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from salesaudit.analysis import stalls as st
from salesaudit.data.loader import load
from salesaudit.data.params import StallsSettings
from salesaudit.stats import km_groups as kg
from salesaudit.stats import logrank
from salesaudit.stats.effect import judge, km_median_ci, median_ratio

MANAGERS = "manager,name,role\nma,Anna Alpha,manager\nmb,Boris Beta,manager\nhh,Hanna Head,head_of_sales\n"


def _history_csv(rows) -> str:
    return "deal_id,stage,entered_at,moved_by\n" + "".join(f"{d},{s},{t},{m}\n" for d, s, t, m in rows)


# ---------------------------------------------------------------------------
# a small department computed by hand: stays in `new` inside one working day (09:00-18:00), so
# calendar and working time agree; every deal is then lost

HOURS = {"ma": [1, 1.5, 2, 2.5, 3], "mb": [2, 3, 4, 6, 8], "hh": [7, 7, 7, 7, 7], "": [6, 6, 6, 6, 6]}  # "": deals without a manager


@pytest.fixture
def small(client):
    deals, hist = ["deal_id,created_at,manager,amount,stage,closed_at"], []
    day = pd.Timestamp("2026-03-02 09:00")  # a Monday
    n = 0
    for who, hours in HOURS.items():
        for h in hours:
            n += 1
            start = day + pd.Timedelta(days=7 * (n - 1))  # one deal a Monday
            end = start + pd.Timedelta(hours=h)
            deals.append(f"D{n},{start:%Y-%m-%d %H:%M},{who},1000,lost,{end:%Y-%m-%d %H:%M}")
            hist += [(f"D{n}", "new", f"{start:%Y-%m-%d %H:%M}", who), (f"D{n}", "lost", f"{end:%Y-%m-%d %H:%M}", who)]
    return load(client({"deals.csv": "\n".join(deals) + "\n", "stage_history.csv": _history_csv(hist), "managers.csv": MANAGERS},
                       as_of="2026-12-31 23:59:59"))


def test_medians_ratio_and_difference_by_hand(small):
    stays = st.stage_stays(small)
    assert stays["seconds"].tolist() == stays["working_s"].tolist() == [h * 3600 for hs in HOURS.values() for h in hs]
    assert stays.groupby("manager")["owner_group"].first().to_dict() == {"hh": "head_of_sales", "ma": "manager", "mb": "manager", "—": "no_manager"}
    ms = st.manager_stage_summary(stays, small.funnel, "days", min_stays=5, min_ended=5).set_index("manager")
    h = 1 / 24
    # every stay ended: the KM median is the plain median. ma: 1, 1.5, 2, 2.5, 3 h -> 2 h; mb: 2, 3, 4, 6, 8 h -> 4 h
    assert ms.loc["ma", "median"] == pytest.approx(2 * h) and ms.loc["mb", "median"] == pytest.approx(4 * h)
    assert ms.loc["ma", "median_s"] == 7200 and ms.loc["mb", "median_s"] == 14400
    # the rest of the team is the other manager: the head of sales' seven-hour stays and the six-hour ones without a manager are not in it
    assert ms.loc["ma", "rest_median"] == pytest.approx(4 * h) and ms.loc["mb", "rest_median"] == pytest.approx(2 * h)
    # the team: 1, 1.5, 2, 2, 2.5, 3, 3, 4, 6, 8 h; S(2.5 h) = 5/10, so the median is 2.5 h (with the head's 7 h it would be 3 h)
    assert ms["team_median_s"].dropna().unique().tolist() == [2.5 * 3600]
    assert ms.loc["mb", "ratio"] == pytest.approx(2.0) and ms.loc["ma", "ratio"] == pytest.approx(0.5)
    assert ms.loc["mb", "difference_working_s"] == 2 * 3600 and ms.loc["ma", "difference_working_s"] == -2 * 3600
    # the intervals are the effect module's, on the durations themselves
    a = km_median_ci(np.array(HOURS["ma"]) * h, np.ones(5, bool))
    b = km_median_ci(np.array(HOURS["mb"]) * h, np.ones(5, bool))
    assert (ms.loc["mb", "median_ci_low"], ms.loc["mb", "median_ci_high"]) == pytest.approx(b[1:], nan_ok=True)
    assert (ms.loc["mb", "rest_median_ci_low"], ms.loc["mb", "rest_median_ci_high"]) == pytest.approx(a[1:], nan_ok=True)
    assert (ms.loc["mb", "ratio_ci_low"], ms.loc["mb", "ratio_ci_high"]) == pytest.approx(median_ratio(*b, *a)[1:], nan_ok=True)
    # the log-rank test is the team's: mb against ma only
    chi2, p = logrank(np.array(HOURS["mb"]), np.ones(5, bool), np.array(HOURS["ma"]), np.ones(5, bool))
    assert ms.loc["mb", "chi2"] == pytest.approx(chi2) and ms.loc["mb", "p_value"] == pytest.approx(p)
    assert ms.loc["mb", "p_adjusted"] == pytest.approx(min(1.0, 2 * p))  # Holm over the two team tests (equal p-values)
    # the head of sales: a row of her own, compared with the whole team for information, never tested
    assert ms.loc["hh", "verdict"] == st.OUTSIDE and np.isnan(ms.loc["hh", "p_value"]) and not ms.loc["hh", "judgeable"]
    assert ms.loc["hh", "ratio"] == pytest.approx(7 / 2.5) and ms.loc["hh", "flag"] == ""
    assert ms.loc["—", "verdict"] == st.OUTSIDE and ms.loc["—", "owner_group"] == "no_manager" and ms.loc["—", "median_s"] == 6 * 3600
    assert ms.attrs["tests"] == 2 and set(ms.index[-2:]) == {"hh", "—"}  # outside the team: last


def test_rest_of_the_team_median_from_counts_equals_the_effect_module():
    """The per-manager rest-of-team medians are computed from risk-table counts; they equal km_median_ci."""
    rng = np.random.default_rng(13)
    z = 1.959963984540054
    for _ in range(200):
        k = int(rng.integers(1, 80))
        d = np.round(rng.exponential(5, k), int(rng.integers(0, 3)))
        o = rng.random(k) < rng.uniform(0.1, 1.0)
        assert kg.median_ci_of(d, o, z) == pytest.approx(km_median_ci(d, o), nan_ok=True, abs=0, rel=0)
        # the rest: all but some of them, from the counts of all minus theirs
        some = rng.random(k) < 0.3
        rest = kg.RiskTable(d, o).median_ci(z, without=np.flatnonzero(some))
        assert rest == pytest.approx(km_median_ci(d[~some], o[~some]), nan_ok=True, abs=0, rel=0)
    # a grid longer than one block (the computation goes block by block and stops at the upper bound's crossing)
    d = rng.exponential(1000.0, 40000).round(3)
    o = rng.random(40000) < 0.8
    assert len(np.unique(d[o])) > 2 * kg.BLOCK
    some = rng.random(40000) < 0.1
    assert kg.RiskTable(d, o).median_ci(z, without=np.flatnonzero(some)) == pytest.approx(km_median_ci(d[~some], o[~some]), abs=0, rel=0)
    late = d + 50000.0 * (rng.random(40000) < 0.6)  # the median far into the grid
    assert kg.median_ci_of(late, o, z) == pytest.approx(km_median_ci(late, o), nan_ok=True, abs=0, rel=0)
    assert kg.median_ci_of(late, o, z, ci=False)[0] == km_median_ci(late, o)[0]


# ---------------------------------------------------------------------------
# real scale: a stage of minutes and a stage of hours, thousands of deals


def _scale_department(seed: int = 7, per_manager: int = 2500) -> tuple[str, str]:
    """Five managers; `new` takes ~10 working minutes (m1: 10 % longer), `qualified` ~2 working hours
    (m2: twice as long), `needs` ~5 minutes (m3: twice as long, still minutes). Every deal starts on a
    weekday at 09:30 and is lost after `needs` (exponential stays, so the medians are ln 2 of the scales)."""
    rng = np.random.default_rng(seed)
    deals, hist = ["deal_id,created_at,manager,amount,stage,closed_at"], []
    weekdays = pd.bdate_range("2025-01-06", "2026-09-30")
    n = 0
    for who in ("m1", "m2", "m3", "m4", "m5"):
        new_scale = (1.1 if who == "m1" else 1.0) * 10 * 60
        qual_scale = (2.0 if who == "m2" else 1.0) * 2 * 3600
        needs_scale = (2.0 if who == "m3" else 1.0) * 5 * 60
        for _ in range(per_manager):
            n += 1
            start = weekdays[int(rng.integers(len(weekdays)))] + pd.Timedelta(hours=9, minutes=30)
            a = start + pd.Timedelta(seconds=round(float(rng.exponential(new_scale))))
            b = a + pd.Timedelta(seconds=round(float(rng.exponential(qual_scale))))
            c = b + pd.Timedelta(seconds=round(float(rng.exponential(needs_scale))))
            deals.append(f"S{n},{start:%Y-%m-%d %H:%M:%S},{who},1000,lost,{c:%Y-%m-%d %H:%M:%S}")
            hist += [(f"S{n}", stage, f"{t:%Y-%m-%d %H:%M:%S}", who) for stage, t in (("new", start), ("qualified", a), ("needs", b), ("lost", c))]
    return "\n".join(deals) + "\n", _history_csv(hist)


@pytest.fixture(scope="module")
def scale(tmp_path_factory):
    import yaml

    folder = tmp_path_factory.mktemp("scale")
    (folder / "data").mkdir()
    deals, hist = _scale_department()
    (folder / "data" / "deals.csv").write_text(deals, encoding="utf-8")
    (folder / "data" / "stage_history.csv").write_text(hist, encoding="utf-8")
    cfg = {"data": "data", "preset": "generic", "funnel": str(REPO / "params" / "funnels" / "demo_b2b.yaml"), "as_of": "2026-10-31 23:59:59"}
    (folder / "client.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return load(folder / "client.yaml")


def test_significant_but_small_is_not_flagged_big_is(scale):
    r = st.analyse(scale)
    ms = r.managers_.set_index(["manager", "stage"])
    # m1 is 10 % slower in a stage of minutes: with 2 500 stays that is significant after Holm, but small
    m1 = ms.loc[("m1", "new")]
    assert m1["p_adjusted"] < 0.01 and 1.0 < m1["ratio"] < 1.2 and m1["verdict"] == "small" and m1["flag"] == ""
    # m3 takes twice as long in `needs`, another stage of minutes: a big ratio, but minutes (under min_difference_hours = 1 working hour)
    m3 = ms.loc[("m3", "needs")]
    assert m3["p_adjusted"] < 1e-20 and m3["ratio"] == pytest.approx(2.0, abs=0.2) and abs(m3["difference_working_s"]) < 3600
    assert m3["verdict"] == "small" and m3["flag"] == ""
    # m2 takes twice as long in a stage of hours: flagged, with its effect
    m2 = ms.loc[("m2", "qualified")]
    assert m2["verdict"] == "worse" and m2["flag"] == "slower" and m2["ratio"] == pytest.approx(2.0, abs=0.25)
    assert m2["ratio_ci_low"] > 1.25 and m2["difference_working_s"] > 3600
    k = r.key_figures()
    assert k["slow_managers"] == ["m2:qualified"]
    assert {"m1:new", "m3:needs"} <= set(k["small_differences"])
    assert k["slow_effects"]["m2:qualified"]["ratio"] == pytest.approx(m2["ratio"])
    # the same data with the old rule (significance alone) flags the minutes as well
    assert {("m1", "new"), ("m3", "needs"), ("m2", "qualified")} <= set(ms.index[(ms["p_adjusted"] < 0.05) & (ms["direction"] == "slower")])
    # a stage of minutes keeps its precision in seconds: the JSON says ~10 minutes, not "0.007 days"
    assert 300 < k["median_s"]["new"] < 900 and k["median_days"]["new"] == pytest.approx(k["median_s"]["new"] / 86400)
    assert k["median_working_s"]["new"] == pytest.approx(k["median_s"]["new"], abs=60)  # inside working hours
    # the thresholds are the settings': without the hour and with a ratio threshold of 1.02 the minutes are flagged
    loose = st.analyse(scale, StallsSettings(min_ratio=1.02, min_difference_hours=0.0))
    assert loose.managers_.set_index(["manager", "stage"]).loc[("m1", "new"), "verdict"] == "worse"


def test_judge_is_what_decides(scale):
    """The verdict column is stats.effect.judge on the table's own columns (no second rule hidden in stalls)."""
    ms = st.analyse(scale).managers_
    team = ms[ms["owner_group"] == "manager"]
    again = judge(team["p_adjusted"], team["ratio"], alpha=0.05, threshold=1.25, judgeable=team["judgeable"] & team["p_value"].notna(),
                  higher_is_worse=True, ratio=True, extra=team["difference_working_s"] / 3600, extra_threshold=1.0)
    assert team["verdict"].tolist() == list(again)


# ---------------------------------------------------------------------------
# who a stay is charged to


def test_moved_by_attribution(client):
    deals = ("deal_id,created_at,manager,amount,stage,closed_at\n"
             "A,2026-03-02 09:00,ma,1000,lost,2026-03-02 15:00\n"
             "B,2026-03-03 09:00,ma,1000,lost,2026-03-03 12:00\n")
    hist = _history_csv([
        ("A", "new", "2026-03-02 09:00", "ma"), ("A", "qualified", "2026-03-02 10:00", "mb"), ("A", "lost", "2026-03-02 15:00", "mb"),
        ("B", "new", "2026-03-03 09:00", ""), ("B", "qualified", "2026-03-03 11:00", "hh"), ("B", "lost", "2026-03-03 12:00", "ma"),
    ])
    files = {"deals.csv": deals, "stage_history.csv": hist, "managers.csv": MANAGERS}
    by_owner = st.stage_stays(load(client(files, as_of="2026-12-31 23:59:59")))
    ds = load(client(files, as_of="2026-12-31 23:59:59", stay_owner="moved_by"))
    by_mover = st.stage_stays(ds)
    cols = ["deal_id", "stage", "manager", "deal_owner", "owner_group", "seconds"]
    rows = lambda s: [(r.deal_id, str(r.stage), r.manager, r.deal_owner, r.owner_group, r.seconds) for r in s[cols].itertuples()]  # noqa: E731
    assert rows(by_owner) == [("A", "new", "ma", "ma", "manager", 3600.0), ("A", "qualified", "ma", "ma", "manager", 5 * 3600.0),
                              ("B", "new", "ma", "ma", "manager", 7200.0), ("B", "qualified", "ma", "ma", "manager", 3600.0)]
    # moved_by: A's qualified stay is mb's (he moved it there); B's new stay has no mover (the owner's);
    # B's qualified stay was moved by the head of sales: hers, outside the team
    assert rows(by_mover) == [("A", "new", "ma", "ma", "manager", 3600.0), ("A", "qualified", "mb", "ma", "manager", 5 * 3600.0),
                              ("B", "new", "ma", "ma", "manager", 7200.0), ("B", "qualified", "hh", "ma", "head_of_sales", 3600.0)]
    assert (by_owner.attrs["stay_owner"], by_mover.attrs["stay_owner"], by_mover.attrs["stay_owner_fallback"]) == ("deal_owner", "moved_by", 1)
    r = st.analyse(ds)
    assert (r.stay_owner, r.stay_owner_fallback) == ("moved_by", 1) and r.key_figures()["stay_owner"] == "moved_by"
    q = r.managers_[r.managers_["stage"] == "qualified"].set_index("manager")
    assert q.loc["mb", "median_s"] == 5 * 3600 and q.loc["hh", "verdict"] == st.OUTSIDE
    # the action list names the deal's owner whatever the rule; the explicit argument overrides the config
    assert st.stage_stays(ds, owner="deal_owner")["manager"].tolist() == by_owner["manager"].tolist()
    with pytest.raises(ValueError, match="owner must be one of"):
        st.stage_stays(ds, owner="mover")


def test_moved_by_without_a_history_is_the_owner(client):
    ds = load(client({"deals.csv": "deal_id,created_at,manager,amount,stage,closed_at\nA,2026-03-02 09:00,ma,1000,new,\n"},
                     as_of="2026-03-02 12:00:00", stay_owner="moved_by"))
    s = st.stage_stays(ds)
    assert s.attrs["source"] == "deals" and s.attrs["stay_owner"] == "deal_owner" and s.attrs["stay_owner_requested"] == "moved_by"
    assert s["manager"].tolist() == ["ma"] and s["working_s"].tolist() == [3 * 3600.0]


# ---------------------------------------------------------------------------
# compliance: the excess over the tolerance must be big enough


def _skippers(skip_share: dict) -> tuple[str, str]:
    """``{manager: (deals, share of them skipping `needs`)}`` -> deals and history CSV (every deal won)."""
    deals, hist = ["deal_id,created_at,manager,amount,stage,closed_at"], []
    n = 0
    for who, (per_manager, share) in skip_share.items():
        k = round(per_manager * share)
        for i in range(per_manager):
            n += 1
            day = pd.Timestamp("2025-01-06 10:00") + pd.Timedelta(days=n % 500)
            path = ["new", "qualified", "proposal", "invoice", "won"] if i < k else ["new", "qualified", "needs", "proposal", "invoice", "won"]
            times = [day + pd.Timedelta(hours=j) for j in range(len(path))]
            deals.append(f"K{n},{times[0]:%Y-%m-%d %H:%M},{who},1000,won,{times[-1]:%Y-%m-%d %H:%M}")
            hist += [(f"K{n}", s, f"{t:%Y-%m-%d %H:%M}", who) for s, t in zip(path, times)]
    return "\n".join(deals) + "\n", _history_csv(hist)


def test_compliance_needs_the_excess_over_the_tolerance(client):
    # tolerance 2 %: mx skips 5 % of 2 000 deals (significant, 3 p.p. over: small), my 12 % (10 p.p. over: flagged),
    # mz 2 % (at the tolerance), the head of sales 50 % (hers, never tested)
    deals, hist = _skippers({"mx": (2000, 0.05), "my": (2000, 0.12), "mz": (2000, 0.02), "hh": (40, 0.5)})
    managers = "manager,name,role\nmx,X,manager\nmy,Y,manager\nmz,Z,manager\nhh,Head,head_of_sales\n"
    ds = load(client({"deals.csv": deals, "stage_history.csv": hist, "managers.csv": managers}, as_of="2026-12-31 23:59:59"))
    pm = st.compliance(ds)["per_manager"].set_index("manager")
    assert pm.loc["mx", "skips"] == 100 and pm.loc["mx", "eligible"] == 2000
    assert pm.loc["mx", "p_adjusted"] < 1e-6 and pm.loc["mx", "excess"] == pytest.approx(0.03) and pm.loc["mx", "verdict"] == "small"
    assert not pm.loc["mx", "flag"]
    assert pm.loc["my", "verdict"] == "worse" and pm.loc["my", "flag"] and pm.loc["my", "excess"] == pytest.approx(0.10)
    assert pm.loc["my", "excess_ci_low"] == pytest.approx(pm.loc["my", "skip_ci_low"] - 0.02)
    assert pm.loc["mz", "verdict"] == "same"
    assert pm.loc["hh", "owner_group"] == "head_of_sales" and pm.loc["hh", "verdict"] == st.OUTSIDE and not pm.loc["hh", "flag"]
    assert np.isnan(pm.loc["hh", "p_adjusted"]) and pm.index[-1] == "hh"
    # Holm over the three team managers only
    from salesaudit.stats import holm

    raw = pm.loc[["mx", "my", "mz"], "p_value"].to_numpy()
    assert pm.loc[["mx", "my", "mz"], "p_adjusted"].to_numpy() == pytest.approx(holm(raw))
    k = st.summary(ds)
    assert k["skipping_managers"] == ["my"] and k["skipping_small"] == ["mx"]
    assert k["skip_effects"]["my"]["excess"] == pytest.approx(0.10)
    # a stricter practical threshold leaves my small as well
    assert st.compliance(ds, min_effect=0.2)["per_manager"].set_index("manager").loc["my", "verdict"] == "small"


def test_a_deal_lost_in_a_second_lost_terminal_has_skipped_nothing(client, tmp_path):
    """With several lost terminals (#13), a deal lost in any of them before a mandatory stage is no skip."""
    import yaml

    funnel = yaml.safe_load((REPO / "params" / "funnels" / "demo_b2b.yaml").read_text(encoding="utf-8"))
    funnel["stages"].append({"key": "no_answer", "label": {"ru": "Нет ответа", "en": "No answer"}, "terminal": "lost"})
    path = tmp_path / "funnel.yaml"
    path.write_text(yaml.safe_dump(funnel, allow_unicode=True), encoding="utf-8")
    deals = ("deal_id,created_at,manager,amount,stage,closed_at\n"
             "A,2026-03-02 09:00,ma,1000,no_answer,2026-03-03 10:00\n"
             "B,2026-03-02 09:00,ma,1000,no_answer,2026-03-03 10:00\n")
    hist = _history_csv([("A", "new", "2026-03-02 09:00", "ma"), ("A", "no_answer", "2026-03-03 10:00", "ma"),
                         ("B", "new", "2026-03-02 09:00", "ma")])  # B: the terminal entry is missing
    ds = load(client({"deals.csv": deals, "stage_history.csv": hist}, as_of="2026-12-31 23:59:59", funnel=str(path)))
    c = st.compliance(ds)
    assert len(c["skips"]) == 0 and c["per_manager"]["eligible"].tolist() == [0]
    s = st.stage_stays(ds)
    assert s["next_stage"].astype(str).tolist() == ["no_answer", "no_answer"]  # B's stay ends in the terminal the deal stands in


# ---------------------------------------------------------------------------
# the page: units that fit, names, the heatmap's marks, lists over five items as tables


def _figures(page):
    from salesaudit.report.page import Figure

    return [b.figure for b in page.blocks if isinstance(b, Figure)]


def test_page_units_fit_the_magnitude(scale):
    import matplotlib.pyplot as plt

    from salesaudit.report import stalls as report
    from salesaudit.report.format import duration_unit

    r = st.analyse(scale)
    en, ru = report.page(r, "en"), report.page(r, "ru")
    # the stages take minutes to hours: the typical median is minutes, so the table is in minutes, not "0.005 days"
    medians = r.stages_.set_index("stage")["median_s"].dropna()
    assert duration_unit(float(np.median(medians))) == "min"
    team, team_ru = en.tables()[0], ru.tables()[0]
    assert "Median (min)" in team.columns and "Медиана, мин" in team_ru.columns
    assert team["Median (min)"].to_numpy()[:3] == pytest.approx(medians.to_numpy() / 60) and team["Median (min)"].iloc[3:].isna().all()
    assert team["Norm (min)"].tolist() == [1440.0, 60.0, 7200.0, 10080.0, 7200.0]  # 1 day, 1 hour, 5, 7, 5 calendar days
    work = en.tables()[-2]
    # working days of 9 h: the one-hour norm (1/24 of a day) is 1/24 of a working day, 22.5 working minutes
    assert "Median (working min)" in work.columns and work["Norm (working min)"].tolist() == [540.0, 22.5, 2700.0, 3780.0, 2700.0]
    # each Kaplan–Meier panel in its stage's unit; the heatmap in its cells'
    km, heat = _figures(en)[:2]
    assert [a.get_xlabel() for a in km.axes if a.get_title()] == ["Time in stage (minutes)", "Time in stage (hours)", "Time in stage (minutes)"]
    assert "(minutes)" in heat.axes[0].get_title()
    assert [a.get_xlabel() for a in _figures(ru)[0].axes if a.get_title()] == ["Время на стадии, минуты", "Время на стадии, часы", "Время на стадии, минуты"]
    # the flagged manager's difference, in words, in the working time that fits it (hours)
    slow = next(x for x in en.texts() if x.startswith("**Slower than the rest of the team:**"))
    assert slow.startswith("**Slower than the rest of the team:** m2, “Qualified”: median 3 h against 1.4 h for the rest of the team, 2.15 times as long")
    assert "1.6 working h longer" in slow
    plt.close("all")


def test_page_heatmap_marks_names_and_long_lists(scale):
    import matplotlib.pyplot as plt

    from salesaudit.report import stalls as report
    from salesaudit.report.i18n import t

    # looser thresholds: 3 slower, 8 faster
    r = st.analyse(scale, StallsSettings(min_ratio=1.02, min_difference_hours=0.0))
    v = r.managers_["verdict"].value_counts().to_dict()
    assert (v["worse"], v["better"]) == (3, 8)
    en = report.page(r, "en")
    texts = en.texts()
    assert t("stalls.faster_many", "en", n="8") in texts  # eight items: a pointer to the table, not a run-on sentence
    assert sum(x.startswith("**Slower than the rest of the team:** ") and x.count("times as long") == 3 for x in texts) == 1  # three: a sentence
    table = en.tables()[1]
    assert (table["Verdict"] == "faster").sum() == 8 and (table["Verdict"] == "slower").sum() == 3
    heat = _figures(en)[1].axes[0]
    marks = [x.get_text() for x in heat.texts]
    assert sum(m.endswith("▲") for m in marks) == 3 and sum(m.endswith("▼") for m in marks) == 8  # ▼ is drawn for faster
    rows = [x.get_text() for x in heat.get_yticklabels()]
    # flagged slower first, the biggest ratio first; the team's row last
    worse = r.managers_[r.managers_["verdict"] == "worse"].sort_values("ratio", ascending=False)["manager"].tolist()
    assert rows[:3] == worse and rows[-1] == "Team"
    plt.close("all")


def test_page_names_the_stay_rule_and_names_managers(client):
    import matplotlib.pyplot as plt

    from salesaudit.report import stalls as report
    from salesaudit.report.i18n import t

    deals = ("deal_id,created_at,manager,amount,stage,closed_at\n"
             "A,2026-03-02 09:00,ma,1000,qualified,\n"
             "B,2026-03-03 09:00,hh,2000,new,\n")
    hist = _history_csv([("A", "new", "2026-03-02 09:00", "ma"), ("A", "qualified", "2026-03-02 10:00", ""), ("B", "new", "2026-03-03 09:00", "hh")])
    files = {"deals.csv": deals, "stage_history.csv": hist, "managers.csv": MANAGERS}
    for rule in ("deal_owner", "moved_by"):
        r = st.analyse(load(client(files, as_of="2026-12-31 23:59:59", stay_owner=rule)))
        for lang in ("en", "ru"):
            p = report.page(r, lang)
            expected = t("stalls.owner.moved_by", lang, n="1") if rule == "moved_by" else t("stalls.owner.deal_owner", lang)
            assert p.texts()[2] == expected
            # names, never ids, in the tables and on the heatmap; the head of sales' row says why she is not compared
            managers = p.tables()[1]
            assert set(managers.iloc[:, 0]) == {"Anna Alpha", "Hanna Head"}
            heat = _figures(p)[1].axes[0]
            labels = [x.get_text() for x in heat.get_yticklabels()]
            assert labels[:2] == ["Anna Alpha", t("stalls.plot.outside", lang, name="Hanna Head", group=t("stalls.group.head_of_sales", lang))]
            money = _figures(p)[2].axes[0]
            assert {x.get_text() for x in money.get_yticklabels()} == {"Anna Alpha", "Hanna Head"}
    plt.close("all")


def test_function_defaults_are_the_settings_defaults():
    """Callers without settings (the scorecard's lagging managers, summary) judge by the run config's defaults."""
    import inspect

    s = StallsSettings()

    def default(func, name):
        return inspect.signature(func).parameters[name].default

    for func in (st.manager_stage_summary, st.summary):
        assert default(func, "min_ratio") == s.min_ratio == 1.25 and default(func, "min_difference_hours") == s.min_difference_hours == 1.0
    for func in (st.compliance, st.summary):
        assert default(func, "min_effect") == s.min_effect == 0.05
