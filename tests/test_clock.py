"""Elapsed time across clock changes, checked against hand-computed durations, through the real loader."""
from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from salesaudit.analysis.stalls import stage_stays
from salesaudit.data import clock
from salesaudit.data.loader import load

# Europe/Berlin: clocks go forward at 02:00 on 29.03.2026 (23-hour day), back at 03:00 on 25.10.2026 (25-hour day)
DEALS = "deal_id,created_at,manager,stage\n" + "\n".join(
    [
        "d1,2026-03-28 12:00,m1,qualified",  # new 28.03 12:00 -> qualified 29.03 12:00: 23 h
        "d2,2026-10-24 12:00,m1,qualified",  # new 24.10 12:00 -> qualified 25.10 12:00: 25 h
        "d3,2026-06-10 12:00,m1,qualified",  # an ordinary day: 24 h
        "d4,2026-03-29 01:30,m1,qualified",  # offsets in the export: 01:30+01:00 -> 03:30+02:00 is 1 h
    ]
)
HISTORY = "deal_id,stage,entered_at\n" + "\n".join(
    [
        "d1,new,2026-03-28 12:00",
        "d1,qualified,2026-03-29 12:00",
        "d2,new,2026-10-24 12:00",
        "d2,qualified,2026-10-25 12:00",
        "d3,new,2026-06-10 12:00",
        "d3,qualified,2026-06-11 12:00",
        "d4,new,2026-03-29T01:30:00+01:00",
        "d4,qualified,2026-03-29T03:30:00+02:00",
    ]
)
HOURS = {"d1": 23.0, "d2": 25.0, "d3": 24.0, "d4": 1.0}


def test_doctests():
    assert doctest.testmod(clock).failed == 0


@pytest.mark.parametrize("tz, d1, d2", [("Europe/Berlin", 23.0, 25.0), ("America/New_York", 24.0, 24.0), ("Europe/Moscow", 24.0, 24.0), ("UTC", 24.0, 24.0)])
def test_elapsed_hours_by_hand(tz, d1, d2):
    a = pd.Series(pd.to_datetime(["2026-03-28 12:00", "2026-10-24 12:00", None]))
    b = pd.Series(pd.to_datetime(["2026-03-29 12:00", "2026-10-25 12:00", "2026-01-01 00:00"]))
    got = clock.elapsed_hours(a, b, tz)
    assert got[0] == d1 and got[1] == d2 and np.isnan(got[2])


def test_new_york_changes_its_clocks_on_its_own_dates():
    # America/New_York: forward on 08.03.2026, back on 01.11.2026
    a = pd.Series(pd.to_datetime(["2026-03-07 12:00", "2026-10-31 12:00"]))
    b = pd.Series(pd.to_datetime(["2026-03-08 12:00", "2026-11-01 12:00"]))
    assert clock.elapsed_hours(a, b, "America/New_York").tolist() == [23.0, 25.0]


def test_skipped_and_repeated_wall_clock_times():
    # 02:30 on 29.03.2026 does not exist in Berlin: read as 03:00 (the first valid instant)
    a = pd.Series(pd.to_datetime(["2026-03-29 01:00", "2026-10-25 02:30"]))
    b = pd.Series(pd.to_datetime(["2026-03-29 02:30", "2026-10-25 04:00"]))
    # 01:00+01 -> 03:00+02 is 1 h; 02:30 occurs twice on 25.10: the first (+02) -> 04:00+01 is 2.5 h
    assert clock.elapsed_hours(a, b, "Europe/Berlin").tolist() == [1.0, 2.5]


def test_stays_across_a_clock_change_through_the_loader(client):
    ds = load(client({"deals.csv": DEALS, "stage_history.csv": HISTORY}, timezone="Europe/Berlin", as_of="2026-12-31 23:59:59"))
    assert ds.timezone == "Europe/Berlin" and ds.calendar.timezone == "Europe/Berlin"
    stays = stage_stays(ds)
    done = stays[(stays["stage"] == "new") & stays["observed"]].set_index("deal_id")
    for deal, hours in HOURS.items():
        assert done.loc[deal, "days"] * 24 == pytest.approx(hours, abs=1e-9), deal
    # the offsets were read and converted to Berlin's local time
    h = ds.tables["stage_history"].set_index(["deal_id", "stage"])["entered_at"]
    assert h.loc[("d4", "new")] == pd.Timestamp("2026-03-29 01:30") and h.loc[("d4", "qualified")] == pd.Timestamp("2026-03-29 03:30")


def test_the_same_export_in_moscow_has_whole_days(client):
    ds = load(client({"deals.csv": DEALS.replace(",m1,qualified\nd4", ",m1,qualified\nd9").rsplit("\nd9", 1)[0],
                      "stage_history.csv": "\n".join(HISTORY.splitlines()[:7])}, timezone="Europe/Moscow", as_of="2026-12-31 23:59:59"))
    stays = stage_stays(ds)
    done = stays[(stays["stage"] == "new") & stays["observed"]].set_index("deal_id")
    assert (done["days"] * 24).round(9).to_dict() == {"d1": 24.0, "d2": 24.0, "d3": 24.0}
