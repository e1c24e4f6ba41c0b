"""Lead processing (salesaudit.analysis.leads): working-time response, SLA, same-day rule, disqualification."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import salesaudit as sa
from salesaudit.analysis import leads as ld
from salesaudit.data.presets import REPO_ROOT
from salesaudit.errors import MissingTablesError

CALENDAR = {"timezone": "Europe/Moscow", "workdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00", "holidays": ["2026-11-04"]}
LEAD_COLUMNS = "lead_id,created_at,channel,manager,first_response_at,status,disqualify_reason,deal_id\n"
# 2026-10-16 is a Friday, 2026-11-04 (Wednesday) a holiday; as_of is Monday 2026-11-09 10:20.
HAND_LEADS = LEAD_COLUMNS + (
    "L1,2026-10-16 21:00:00,web,m1,2026-10-19 09:10:00,in_work,,\n"  # Friday night -> Monday 09:10: 10 min, same day
    "L2,2026-10-17 10:00:00,web,m1,2026-10-19 18:30:00,in_work,,\n"  # Saturday -> Monday after closing: 540 min, overnight
    "L3,2026-11-03 17:30:00,web,m2,2026-11-05 09:20:00,in_work,,\n"  # Tuesday 17:30, holiday Wednesday: 50 min, overnight
    "L4,2026-11-03 18:30:00,web,m2,2026-11-05 17:00:00,in_work,,\n"  # Tuesday after hours -> its day is Thursday: 480 min, same day
    "L5,2026-11-09 10:00:00,web,m2,,new,,\n"  # unanswered, 20 min old: inside the SLA and the day, undecided
    "L6,2026-11-06 17:00:00,web,m1,,new,,\n"  # unanswered since Friday 17:00: 60 + 80 = 140 min, breach, overnight
)


def _load(client, files, **cfg):
    """A small export, loaded without the verdict's refusal: lead tests need no deals table."""
    from salesaudit.data.loader import load_dataset
    from salesaudit.data.params import load_run_config

    cfg.setdefault("as_of", "2026-11-09 10:20:00")
    cfg.setdefault("lead_response", {"sla_minutes": 30, "same_day": True, "calendar": CALENDAR})
    return load_dataset(load_run_config(client(files, **cfg)), refuse=False)


@pytest.fixture
def hand(client):
    ds = _load(client, {"leads.csv": HAND_LEADS})
    return ds, ld.response_times(ds).set_index("lead_id")


def test_friday_night_lead_answered_monday_is_ten_working_minutes(hand):
    _, rt = hand
    r = rt.loc["L1"]
    assert r["working_minutes"] == 10.0
    assert not r["arrived_in_hours"] and r["answered"] and not r["censored"]
    assert r["within_sla"] is True or bool(r["within_sla"]) is True
    assert r["due_day"] == pd.Timestamp("2026-10-19") and r["day_end"] == pd.Timestamp("2026-10-19 18:00")
    assert bool(r["same_day"]) and not bool(r["left_overnight"])
    assert (r["hour"], r["weekday"]) == (21, 4)


def test_same_day_rules_across_weekend_and_holiday(hand):
    _, rt = hand
    assert rt.loc["L2", "working_minutes"] == 540.0
    assert rt.loc["L2", "due_day"] == pd.Timestamp("2026-10-19")
    assert bool(rt.loc["L2", "left_overnight"]) and not bool(rt.loc["L2", "within_sla"])
    # Tuesday 17:30 answered on Thursday 09:20 (Wednesday is a holiday): 30 + 20 minutes, but overnight
    assert rt.loc["L3", "working_minutes"] == 50.0
    assert rt.loc["L3", "due_day"] == pd.Timestamp("2026-11-03")
    assert bool(rt.loc["L3", "left_overnight"])
    # Tuesday 18:30 belongs to Thursday (the next working day): answered Thursday 17:00 is the same day
    assert rt.loc["L4", "working_minutes"] == 480.0
    assert rt.loc["L4", "due_day"] == pd.Timestamp("2026-11-05")
    assert bool(rt.loc["L4", "same_day"]) and not bool(rt.loc["L4", "within_sla"])


def test_unanswered_leads_are_censored(hand):
    _, rt = hand
    l5, l6 = rt.loc["L5"], rt.loc["L6"]
    assert l5["censored"] and not l5["answered"] and l5["working_minutes"] == 20.0
    assert pd.isna(l5["within_sla"]) and pd.isna(l5["same_day"]) and pd.isna(l5["left_overnight"])
    assert l6["censored"] and l6["working_minutes"] == 140.0
    assert not bool(l6["within_sla"]) and bool(l6["left_overnight"])


def test_team_summary_uses_kaplan_meier_and_drops_undecided_from_sla(hand):
    _, rt = hand
    team = ld.response_summary(rt.reset_index()).iloc[0]
    # times 10, 20+, 50, 140+, 480, 540: S = 5/6, 5/6*3/4 = 0.625, 0.625/2 = 0.3125 at 480 -> median 480
    assert team["median"] == 480.0
    assert (team["leads"], team["answered"], team["unanswered"]) == (6, 4, 2)
    # decided on the SLA: L1 (yes), L2, L3, L4, L6 (no); L5 is still inside its window
    assert (team["sla_decided"], team["within_sla"]) == (5, 1)
    assert team["share_within_sla"] == pytest.approx(0.2)
    assert team["ci_low"] < 0.2 < team["ci_high"]
    per = ld.response_summary(rt.reset_index(), "manager")
    # m1: 10, 140+, 540 -> median 540; m2: 20+, 50, 480 -> S(50) = 1/2 -> median 50; worst on top
    assert list(per["manager"]) == ["m1", "m2"] and list(per["median"]) == [540.0, 50.0]
    daily = ld.overnight_daily(rt.reset_index())
    assert daily.set_index("due_day").loc[pd.Timestamp("2026-11-03"), "left_overnight"] == 1


def test_suspicious_disqualifications(client):
    leads = LEAD_COLUMNS + (
        "D1,2026-10-05 10:00:00,web,m1,2026-10-05 10:05:00,disqualified,Спам,\n"  # fine: reason, response, call
        "D2,2026-10-05 11:00:00,web,m1,2026-10-05 11:05:00,disqualified,,\n"  # no reason
        "D3,2026-10-05 12:00:00,web,m2,,disqualified,Дубль,\n"  # no response, no call
        "D4,2026-10-05 13:00:00,web,m2,2026-10-05 13:05:00,disqualified,Не целевой,\n"  # answered, but no call at all
        "C1,2026-10-05 14:00:00,web,m2,2026-10-05 14:05:00,converted,,\n"
    )
    acts = ("activity_id,type,manager,deal_id,lead_id,created_at,duration_sec,due_at,done_at\n" "a1,call,m1,,D1,2026-10-05 10:05:00,60,,\n"
            "a2,call,m1,,D2,2026-10-05 11:05:00,0,,\n" "a3,email,m2,,D4,2026-10-05 13:05:00,,,\n")
    ds = _load(client, {"leads.csv": leads, "activities.csv": acts}, as_of="2026-10-31 23:59:59")
    sus = ld.suspicious_disqualifications(ds).set_index("lead_id")
    assert sorted(sus.index) == ["D2", "D3", "D4"]
    assert bool(sus.loc["D2", "no_reason"]) and not bool(sus.loc["D2", "no_call"])
    assert bool(sus.loc["D3", "no_response"]) and bool(sus.loc["D3", "no_call"])
    assert bool(sus.loc["D4", "no_call"]) and not bool(sus.loc["D4", "no_response"])
    team = ld.disqualification_by_manager(ds, by=None).iloc[0]
    assert (team["finished"], team["advanced"]) == (5, 4)
    reasons = ld.disqualification_reasons(ds, no_reason="(none)").set_index("manager")
    assert reasons.loc["m1", "(none)"] == 1 and reasons.loc["m2", "total"] == 2
    # without activities the call check is not made (NA), the other rules still apply
    (ds.config.data_dir / "activities.csv").unlink()
    ds2 = _load(client, {"leads.csv": leads}, as_of="2026-10-31 23:59:59")
    sus2 = ld.suspicious_disqualifications(ds2)
    assert sorted(sus2["lead_id"]) == ["D2", "D3"] and sus2["no_call"].isna().all()


def test_no_leads_and_no_response_times(client):
    deals = "deal_id,created_at,stage\n1,2026-10-01 10:00:00,new\n"
    ds = _load(client, {"deals.csv": deals}, as_of="2026-10-31 23:59:59")
    assert not ld.has_response_times(ds)
    with pytest.raises(MissingTablesError):
        ld.response_times(ds)
    leads = LEAD_COLUMNS + "X1,2026-10-05 10:00:00,web,m1,,,,\n"
    ds = _load(client, {"leads.csv": leads}, as_of="2026-10-31 23:59:59")
    assert not ld.has_response_times(ds) and not ld.has_disqualification(ds)
    assert ld.summary(ds) == {"leads_total": 1, "leads_response_times_known": False}


# ---------------------------------------------------------------------------
# the demo department

NORMAL = ["m01", "m03", "m05", "m08", "m10", "h01", "m04", "m12"]
def _half_up(x: float, digits: int, sign: bool = False) -> str:
    """x rounded half up to ``digits`` decimals from its shortest repr (12.95 -> 13.0), as printed numbers are."""
    from decimal import ROUND_HALF_UP, Decimal

    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{q:+}" if sign else str(q)


ANOMALIES = json.loads((REPO_ROOT / "data_samples" / "demo_generic" / "ANOMALIES.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo():
    ds = sa.load(REPO_ROOT / "params" / "clients" / "demo.yaml")
    return ds, ld.response_times(ds)


def _km_median(durations, observed):
    """A plain Kaplan–Meier median, written out independently of salesaudit.stats."""
    order = np.lexsort((~np.asarray(observed), np.asarray(durations)))
    d, o = np.asarray(durations)[order], np.asarray(observed)[order]
    s, at_risk = 1.0, len(d)
    for t in np.unique(d):
        here = d == t
        deaths = int((here & o).sum())
        if deaths:
            s *= 1 - deaths / at_risk
            if s <= 0.5 + 1e-12:
                return float(t)
        at_risk -= int(here.sum())
    return float("nan")


def test_demo_team_median_and_sla_share_against_an_independent_computation(demo):
    ds, rt = demo
    cal, as_of, sla = ds.calendar, ds.as_of, ds.config.lead_response.sla_minutes
    leads = ds.tables["leads"]
    mins, obs, within = [], [], []
    for c, r in zip(leads["created_at"], leads["first_response_at"]):
        answered = not pd.isna(r)
        m = cal.working_minutes_between(c, r if answered else as_of)  # scalar calls
        mins.append(m)
        obs.append(answered)
        if answered or m > sla:
            within.append(answered and m <= sla)
    assert np.allclose(rt["working_minutes"].to_numpy(), mins)
    team = ld.response_summary(rt).iloc[0]
    assert team["median"] == pytest.approx(_km_median(mins, obs))
    assert team["share_within_sla"] == pytest.approx(np.mean(within))
    assert team["sla_decided"] == len(within)
    s = ld.summary(ds)
    assert s["leads_median_response_min"] == pytest.approx(round(_km_median(mins, obs), 1))
    assert s["leads_share_within_sla"] == pytest.approx(round(float(np.mean(within)), 4))
    assert 10 < s["leads_median_response_min"] < 25 and 0.6 < s["leads_share_within_sla"] < 0.85


def test_demo_slow_responder_is_m11(demo):
    ds, rt = demo
    per = ld.response_summary(rt, "manager").set_index("manager")
    assert per.index[0] == "m11"
    assert 190 < per.loc["m11", "median"] < 240  # planted: 210 working minutes
    assert per.drop("m11")["median"].max() < 20  # everybody else: at most 17.4
    flags = ld.response_flags(rt)
    worse = set(flags.loc[flags["flag"] == "below", "manager"])
    # the robust rest of the team leaves out m11 (0.4 % within the SLA): the nine ordinary sellers are no longer "better"
    assert flags.attrs["baseline_excluded"] == ["m11"] and not (flags["verdict"] == "better").any()
    # the inbound desk is 2.3 p.p. below the other sellers on the SLA share (86.7 % vs 89.0 %), as the manifest measured it:
    # under the 5 p.p. threshold and not significant after Holm on the SLA share (it is "small" on the median response)
    sellers = rt[rt["manager"].isin(ANOMALIES["roster"]["team"]) & ~rt["manager"].isin(["m11", "m_desk"]) & rt["within_sla"].notna()]
    desk_truth = ANOMALIES["inbound_desk"]
    desk = rt[(rt["manager"] == "m_desk") & rt["within_sla"].notna()]
    d = flags.set_index("manager").loc["m_desk"]
    assert d["team_rate"] == pytest.approx(sellers["within_sla"].astype(bool).mean()) and d["rate"] == pytest.approx(desk["within_sla"].astype(bool).mean())
    assert (d["rate"], d["team_rate"]) == (pytest.approx(desk_truth["sla_share"], abs=2e-3), pytest.approx(desk_truth["rest_sla_share"], abs=2e-3))
    assert d["diff"] == pytest.approx(-0.0232, abs=5e-4) and d["verdict"] == "same"
    assert worse == {"m11"}
    over = ld.overnight_flags(rt)
    # m12, the newcomer, left 7 of 67 leads overnight (six arrived after 17:30): a chance finding the data support
    # (tests/test_planted_anomalies.py::test_chance_findings_are_real_in_the_data)
    assert set(over.loc[over["flag"] == "above", "manager"]) == {"m11", "m12"}
    assert ld.overnight_by_manager(rt)["manager"].iloc[0] == "m11"
    s = ld.summary(ds)
    assert s["leads_flagged_response"] == ["m11"] and s["leads_flagged_overnight"] == ["m11", "m12"]
    assert not set(NORMAL) & set(s["leads_flagged_response"] + s["leads_flagged_overnight"]) - {"m12"}  # m12: the chance finding above


def test_demo_disqualification(demo):
    ds, _ = demo
    f = ld.disqualification_flags(ds)
    assert set(f.loc[f["flag"] == "above", "manager"]) == {"m11"}  # the slow responder loses more leads
    assert not set(NORMAL) & set(f.loc[f["flag"].isin(["above", "below"]), "manager"])
    assert len(ld.suspicious_disqualifications(ds)) == 0
    reasons = ld.disqualification_reasons(ds)
    assert reasons["total"].sum() == (ds.tables["leads"]["status"] == "disqualified").sum() == ANOMALIES["background"]["lead_status_counts"]["disqualified"]


def test_demo_overnight_tables_add_up(demo):
    _, rt = demo
    total = int(rt["left_overnight"].fillna(False).sum())
    assert ld.overnight_weekly(rt)["left_overnight"].sum() == total
    assert ld.overnight_daily(rt, by_manager=True)["left_overnight"].sum() == total
    assert ld.overnight_by_manager(rt)["advanced"].sum() == total


# ---------------------------------------------------------------------------
# compute -> result -> render


def test_leads_result_is_language_free_and_matches_the_data(demo):
    ds, rt = demo
    r = ld.analyse(ds, ds.config.analysis.settings("leads"))
    leads = ds.tables["leads"]
    assert r.has_leads and r.response_times_known and r.has_disqualification and r.calls_linked
    assert r.leads_total == len(leads) == sum(ANOMALIES["background"]["lead_status_counts"].values()) == 5691 and (r.min_n, r.alpha, r.period) == (20, 0.05, "2026-10")
    assert r.response_times_["working_minutes"].tolist() == rt["working_minutes"].tolist()
    # arrivals out of hours, unanswered leads: counted from the leads table
    assert r.out_of_hours == int((~ds.calendar.is_working_time(leads["created_at"])).sum()) == 868
    assert int(r.team_["unanswered"].iloc[0]) == int(leads["first_response_at"].isna().sum()) == sum(ANOMALIES["slow_responder"]["unanswered_leads_by_manager"].values()) == 58
    assert r.by_manager_["manager"].iloc[0] == "m11" and r.by_hour_["hour"].is_monotonic_increasing
    assert r.by_channel_["leads"].sum() == len(leads)
    # left overnight: a lead answered after its working day's end, or unanswered when that day had ended
    day_end = ds.calendar.end_of_working_day(leads["created_at"])
    resp = leads["first_response_at"]
    decided = resp.notna() | (day_end <= pd.Timestamp(ds.as_of))
    left = (resp.notna() & (resp > day_end)) | (resp.isna() & decided)
    assert (r.overnight_left, r.overnight_decided) == (int(left.sum()), int(decided.sum())) == (223, 5687)
    assert r.overnight_weekly_["left_overnight"].sum() == r.overnight_by_manager_["advanced"].sum() == r.overnight_left
    days = r.overnight_days_
    assert len(days) and (days["left_overnight"] > 0).all() and (days["due_day"].dt.strftime("%Y-%m") == "2026-10").all()
    in_october = rt["left_overnight"].fillna(False).astype(bool) & (rt["due_day"].dt.strftime("%Y-%m") == "2026-10")
    assert days["left_overnight"].sum() == int(in_october.sum())
    # disqualification: new / in work without a deal are undecided
    status = leads["status"].astype(object)
    team = r.disqualification_team_.iloc[0]
    undecided = status.isin(["new", "in_work"]) & leads["deal_id"].isna()
    assert (team["advanced"], team["finished"]) == (int((status == "disqualified").sum()), int((~undecided).sum())) == (2660, 5614)
    reasons = r.disqualification_reasons_.set_index("manager")
    expected = leads[status == "disqualified"].groupby(["manager", "disqualify_reason"], observed=True).size()
    assert reasons["total"].sum() == 2660 and ld.NO_REASON not in reasons.columns
    assert all(reasons.loc[m, reason] == n for (m, reason), n in expected.items())
    assert r.suspicious_.empty
    # the key figures are read off the result: what the notebook records, and what summary() gives
    k = r.key_figures()
    assert k == ld.summary(ds)
    # the median and the SLA share are checked against an independent computation in the test above
    assert (k["leads_median_response_min"], k["leads_p90_response_min"], k["leads_share_within_sla"]) == (13.1, 43.1, 0.8381)
    assert (k["leads_share_left_overnight"], k["leads_disqualification_rate"]) == (round(223 / 5687, 4), round(2660 / 5614, 4))
    assert k["leads_flagged_overnight"] == ["m11", "m12"] and k["leads_flagged_disqualification_high"] == ["m11"] and k["leads_flagged_response"] == ["m11"]
    assert k["leads_flagged_response_time"] == ["m11"] and k["leads_flagged_disqualification_low"] == []
    # durations at full precision in seconds beside the rounded minutes
    assert k["leads_median_response_sec"] == 60 * float(r.team_["median"].iloc[0]) == pytest.approx(60 * _km_median(rt["working_minutes"], rt["answered"]))
    assert k["leads_p90_response_sec"] == 60 * float(r.team_["p90"].iloc[0]) and round(k["leads_p90_response_sec"] / 60, 1) == k["leads_p90_response_min"]
    # nothing in the result is in a language: canonical column names, codes for verdicts
    frames = [r.response_times_, r.team_, r.by_manager_, r.by_channel_, r.by_hour_, r.overnight_weekly_, r.overnight_by_manager_, days,
              r.response_flags_, r.response_time_flags_, r.overnight_flags_, r.disqualification_team_, r.disqualification_by_manager_, r.disqualification_flags_, r.suspicious_]
    for frame in frames:
        assert all(c == c.lower() and " " not in c for c in frame.columns)
    for f in (r.response_flags_, r.overnight_flags_, r.disqualification_flags_, r.response_time_flags_):
        assert set(f["flag"].dropna()) <= {"below", "above", "slower", "faster", "not_judgeable", ""}
        assert set(f["verdict"]) <= {"worse", "better", "small", "same", "not_judged", ld.EXCLUDED}
        assert set(f["owner_group"]) == {"manager", "head_of_sales"}  # the demo's head of sales sells too: her own row
    assert set(r.disqualification_reasons_.columns) - {"manager", "total"} == set(leads["disqualify_reason"].dropna())


def test_leads_page_in_both_languages(demo):
    from salesaudit.report import leads as report

    ds, _ = demo
    r = ld.analyse(ds)
    en, ru = report.page(r, "en"), report.page(r, "ru")
    m11 = r.manager_names["m11"]
    assert en.texts()[0] == "Lead processing: ООО «Демо» (synthetic demo)" and ru.texts()[0] == "Обработка лидов: ООО «Демо» (synthetic demo)"
    assert r.out_of_hours == 868 and r.leads_total == 5691  # counted independently in the test above
    assert "Leads: 5,691; 868 of them (15%) arrived out of working hours and are timed from the next opening." in en.texts()
    assert "Лидов: 5\u00a0691, из них 868 (15\u00a0%) пришли в нерабочее время; по ним отсчёт идёт с начала следующего рабочего дня." in ru.texts()
    # the team's median is 13.1 working minutes: minutes, the unit named in the sentence
    assert ("Медиана первого ответа по отделу: **13 рабочих мин**, 80-й перцентиль 26, 90-й 43. В норматив 30 мин уложились **84\u00a0%** лидов "
            "(95\u00a0% ДИ 83\u00a0%–85\u00a0%); без ответа на момент аудита: 58.") in ru.texts()
    intro = en.texts()[1]
    assert "(09:00–18:00, Europe/Moscow)" in intro and "The response SLA is 30 working minutes" in intro
    assert "audit moment (31 Oct 2026 23:59)" in intro and intro.endswith("Leads: 5,691.")  # the audit moment in English
    assert "Not processed by the end of that day: **223** of 5,687 leads (**3.9%**)." in en.texts()[en.texts().index("Leads not processed on their working day") + 1]
    # managers against the rest of the team, findings first: five flagged differences, not more than five, so a sentence each; how big each is
    assert en.texts()[2] == "Managers against the rest of the team" and "at least 5 percentage points in a share" in en.texts()[3]
    flagged = pd.concat([f[f["verdict"].isin(["worse", "better"])] for f in (r.response_time_flags_, r.response_flags_, r.overnight_flags_,
                                                                            r.disqualification_flags_)])
    assert len(flagged) == 5 and flagged["manager"].tolist().count("m11") == 4 and "Managers" not in en.tables()[0].columns[1]
    found = en.texts()[4:9]
    slow = r.response_time_flags_.iloc[0]
    assert slow["manager"] == "m11" and found[0] == (
        f"**{m11}** — slower than the rest: median first response {_half_up(slow['median'], 1)} min against {_half_up(slow['rest_median'], 1)} min for the rest of the team; "
        f"ratio {_half_up(slow['ratio'], 2)} (95% CI {_half_up(slow['ratio_low'], 2)}–{_half_up(slow['ratio_high'], 2)}), difference +{_half_up(slow['difference'], 1)} min.")
    sla = r.response_flags_.iloc[0]
    assert found[1] == (f"**{m11}** — answers within the SLA less often than the rest: answered within the SLA {_half_up(100 * sla['rate'], 1)}% against "
                        f"{_half_up(100 * sla['team_rate'], 1)}% for the rest of the team; difference {_half_up(100 * sla['diff'], 1, sign=True)} p.p. "
                        f"(95% CI {_half_up(100 * sla['diff_low'], 1, sign=True)}…{_half_up(100 * sla['diff_high'], 1, sign=True)}).")
    assert found[2].startswith(f"**{m11}** — leaves more leads overnight than the rest")
    assert found[3] == (f"**{r.manager_names['m12']}** — leaves more leads overnight than the rest: left overnight 10.4% against 2.2% for the rest of the team; "
                        "difference +8.2 p.p. (95% CI +2.9…+17.8).")  # 7 of 67 against 115 of 5141
    small = sum(int((f["verdict"] == "small").sum()) for f in (r.response_time_flags_, r.response_flags_, r.overnight_flags_, r.disqualification_flags_))
    assert f"{small} differences are significant but smaller than the thresholds: marked small in the tables below, not flagged." in en.texts()
    # each comparison in full, flagged first, names not codes, the head of sales in a row of her own, not compared
    times = en.tables()[0]
    assert list(times.columns) == ["Manager", "Leads", "Unanswered", "Median, working min (95% CI)", "Rest of the team, working min",
                                   "Ratio of medians (95% CI)", "Difference, working min", "p (Holm)", "Verdict"]
    assert times.iloc[0, 0] == m11 and times.iloc[0, -1] == "slower than the rest"
    head = r.manager_names["h01"]
    assert times.iloc[-1, 0] == f"{head} (head of sales)" and times.iloc[-1, -1] == "outside the team: not compared" and times.iloc[-1, -2] == "—"
    assert set(times["Verdict"][1:-1]) == {"significant, but a small difference", "no significant difference"}
    shares = en.tables()[1]
    assert list(shares.columns) == ["Manager", "Decided", "Within the SLA", "Share (95% CI)", "Rest of the team", "Difference, p.p. (95% CI)",
                                    "p (Holm)", "Verdict"]
    assert shares.iloc[0].tolist()[:4] == [m11, 252, 1, "0.4% (0.1%–2.2%)"]  # 1 of 252; Wilson 0.07 %-2.21 %
    ru_times = ru.tables()[0]
    assert ru_times.columns[3] == "Медиана, рабочих мин (95\u00a0% ДИ)" and ru_times.iloc[-1, 0] == f"{head} (РОП)"
    disq = en.tables()[6]
    assert disq.columns[2] == "Disqualified" and disq["Disqualified"].sum() == 2660 and disq.iloc[0, -1] == "disqualifies more than the rest"
    # presentation never changes a number: the same result gives the same tables in both pages
    assert [t.shape for t in en.tables()] == [t.shape for t in ru.tables()]
    assert [type(b) for b in en.blocks] == [type(b) for b in ru.blocks]
    # too few leads: a row of the table says "not judged", no sentence lists them
    few = report.page(ld.analyse(ds, ds.config.analysis.settings("leads", min_n=100)), "en")
    row = few.tables()[0].set_index("Manager").loc[r.manager_names["m12"]]  # 68 leads
    assert row["Verdict"] == "not judged: fewer than 100 leads" and row["p (Holm)"] == "—"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_units_and_intervals_on_the_leads_page(demo):
    from salesaudit.report import leads as report

    # an interval gets the decimals its bounds need to differ
    assert report.share_with_ci(0.98, 0.975, 0.984, "en") == "98.0% (97.5%–98.4%)"
    assert report.share_with_ci(0.9801, 0.9799, 0.9803, "en") == "98.01% (97.99%–98.03%)"
    assert report.pp_with_ci(-0.0004, -0.0011, 0.0003, "ru") == "-0,04 (-0,11…+0,03)"
    assert report.ratio_with_ci(1.001, 1.0004, 1.0016, "en") == "1.001 (1.000–1.002)" and report.ratio_with_ci(1.1, 1.0, 1.2, "en") == "1.10 (1.00–1.20)"
    # minutes or hours from the typical value; the unit is in the header
    assert report.time_unit([10, 20, 300]) == "min" and report.time_unit([50, 90, 300]) == "h"
    ds, _ = demo
    r = ld.analyse(ds)
    slow = r.response_time_flags_.copy()
    for c in ("median", "median_low", "median_high", "rest_median", "rest_median_low", "rest_median_high", "difference"):
        slow[c] = slow[c] * 10  # a department ten times slower: medians of two to three hours
    table = report.response_time_table(slow, "en", r.manager_names, r.min_n)
    assert table.columns[3] == "Median, working h (95% CI)" and table.columns[6] == "Difference, working h"
    m = slow.iloc[0]
    assert table.iloc[0, 3] == f"{_half_up(m['median'] / 60, 1)} ({_half_up(m['median_low'] / 60, 1)}–{_half_up(m['median_high'] / 60, 1)})"
    # the plot names the managers as the tables do, and marks the one flagged slower
    import matplotlib.pyplot as plt

    fig = report.plot_response_by_manager(r, "en")
    ax = fig.axes[0]
    colours = {label.get_text(): label.get_color() for label in ax.get_yticklabels()}
    assert set(colours) == {r.manager_names[m] for m in r.response_times_["manager"].dropna().unique()}
    assert [n for n, c in colours.items() if c == "#b00020"] == [r.manager_names["m11"]]
    assert ax.get_xlabel() == "Time to the first response, working min (log scale)"
    plt.close("all")


def test_leads_page_without_leads_or_response_times(client):
    from salesaudit.report import leads as report

    ds = _load(client, {"deals.csv": "deal_id,created_at,stage\n1,2026-10-01 10:00:00,new\n"}, as_of="2026-10-31 23:59:59")
    r = ld.analyse(ds)
    assert not r.has_leads and r.key_figures() == {}
    assert report.page(r, "en").texts() == ["Lead processing: " + ds.config.client, t_("leads.no_leads")]
    leads = LEAD_COLUMNS + "X1,2026-10-05 10:00:00,web,m1,,disqualified,,\nX2,2026-10-05 11:00:00,web,m1,,new,,\n"
    ds = _load(client, {"leads.csv": leads}, as_of="2026-10-31 23:59:59")
    r = ld.analyse(ds)
    assert not r.response_times_known and r.has_disqualification and not r.calls_linked
    assert r.key_figures() == ld.summary(ds) and r.key_figures()["leads_suspicious_disqualifications"] == 1
    texts = report.page(r, "en").texts()
    for key in ("leads.no_response_times", "leads.flags", "leads.no_flags", "leads.disq", "leads.no_calls_linked"):
        assert t_(key) in texts or any(x.startswith(t_(key)[:40]) for x in texts), key
    assert "Suspicious disqualifications: **1**." in texts
    assert list(r.disqualification_reasons_.columns) == ["manager", ld.NO_REASON, "total"]
    assert "(no reason)" in report.page(r, "en").tables()[-2].columns


def t_(key):
    from salesaudit.report.i18n import t

    return t(key, "en")
