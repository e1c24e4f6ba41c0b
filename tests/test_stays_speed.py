"""The fast paths of the stays and the compliance check, against plain computations of the same thing.

* :meth:`WorkCalendar.working_minutes_ns` (a table of days) is :meth:`WorkCalendar.working_minutes_between`;
* ``stalls._stable_sort`` (one int64 key) is ``np.lexsort`` and ``stalls._in_order`` tells a stable order;
* the order a stage history was sorted into is reused only while it is still that order;
* the stays (durations slice by slice, the ``moved_by`` of the row a stable sort keeps) and every compliance
  table equal loops over each deal's rows of a shuffled history with ties, duplicates and re-entries.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO_FUNNEL

from salesaudit.analysis import stalls as st
from salesaudit.data.calendar import WorkCalendar
from salesaudit.data.clock import utc_ns
from salesaudit.data.loader import load

_NAT = np.iinfo(np.int64).min


# ---------------------------------------------------------------------------
# working minutes from a table of days


def _moments(rng, n: int) -> np.ndarray:
    """Moments over 2024-2027 (minutes, some to the nanosecond), a few before 1970 and some NaT."""
    base = pd.Timestamp("2024-01-01").value
    ns = base + rng.integers(0, 4 * 365 * 24 * 60, n) * 60_000_000_000
    sub = rng.random(n) < 0.2
    ns[sub] += rng.integers(0, 60_000_000_000, sub.sum())
    old = rng.random(n) < 0.05
    ns[old] = pd.Timestamp("1969-12-31 17:00").value + rng.integers(-10**15, 10**14, old.sum())
    ns[rng.random(n) < 0.05] = _NAT
    return ns


@pytest.mark.parametrize("calendar", [WorkCalendar(), WorkCalendar.for_country("RU", [2024, 2025, 2026, 2027]),
                                      WorkCalendar(workdays=(0, 1, 2, 3, 5), start="08:30", end="20:15", holidays=["2025-05-01"],
                                                   workdays_extra=["2025-05-04"])])
def test_working_minutes_from_a_table_of_days_are_working_minutes_between(calendar):
    rng = np.random.default_rng(5)
    a, b = _moments(rng, 20_000), _moments(rng, 20_000)
    b[:5000] = a[:5000] + rng.integers(0, 3 * 86_400, 5000) * 1_000_000_000  # mostly short spans, some backwards below
    want = np.asarray(calendar.working_minutes_between(a.view("datetime64[ns]"), b.view("datetime64[ns]")), dtype=float)
    got = calendar.working_minutes_ns(a, b)
    assert np.array_equal(got, want, equal_nan=True) and np.isnan(got).sum() == ((a == _NAT) | (b == _NAT)).sum()
    assert (got > 0).sum() > 5000  # not all zeros
    assert calendar.working_minutes_ns(a[:0], b[:0]).shape == (0,) and np.isnan(calendar.working_minutes_ns(np.array([_NAT]), b[:1])).all()
    with pytest.raises(ValueError):
        calendar.working_minutes_ns(a[:2], b[:3])


# ---------------------------------------------------------------------------
# the sort of the history


@pytest.mark.parametrize("unit", [1, 1_000, 1_000_000, 1_000_000_000])
@pytest.mark.parametrize("slice_", [st._SLICE, 5])
def test_one_key_sort_is_lexsort(unit, slice_, monkeypatch):
    monkeypatch.setattr(st, "_SLICE", slice_)  # small slices: ties across the slices' borders
    rng = np.random.default_rng(unit % 97)
    for n in (0, 1, 2, 3, 50, 400):
        n_deals, n_keys = int(rng.integers(1, 12)), int(rng.integers(1, 9))
        deal = rng.integers(0, n_deals, n).astype(np.int64)
        ords = rng.integers(0, n_keys, n).astype(np.int16)
        ns = pd.Timestamp("2026-01-01").value // unit * unit + rng.integers(0, 6, n) * unit * int(rng.integers(1, 4))
        want = np.lexsort((ords, ns, deal))
        got, *columns = st._stable_sort(deal, ns, ords, n_deals, n_keys)
        assert np.array_equal(got, want) and st._in_order(deal[got], ns[got], ords[got], got)
        for a, b in zip(columns, (deal[want], ords[want], ns[want])):
            assert np.array_equal(a, b) and a.dtype == b.dtype
    # a span no int64 key holds with the deals: the plain lexsort
    ns = np.array([-9 * 10**18, 9 * 10**18, 0, 0], dtype=np.int64)
    deal, ords = np.array([1, 0, 1, 1]), np.array([0, 0, 2, 1], dtype=np.int16)
    assert np.array_equal(st._stable_sort(deal, ns, ords, 2, 3)[0], np.lexsort((ords, ns, deal)))


def test_in_order_tells_the_stable_order_from_another_sorted_one():
    deal = np.array([0, 0, 0, 1])
    ns = np.array([5, 5, 7, 1])
    ords = np.array([2, 2, 0, 0], dtype=np.int16)
    assert st._in_order(deal, ns, ords) and st._in_order(deal, ns, ords, np.array([1, 3, 0, 2]))
    assert not st._in_order(deal, ns, ords, np.array([3, 1, 0, 2]))  # sorted, but equal rows not in their order
    assert not st._in_order(deal[::-1], ns[::-1], ords[::-1])
    many = np.arange(200_000)
    assert st._in_order(many // 3, many, np.zeros(len(many), dtype=np.int16))
    assert not st._in_order(many // 3, np.r_[many[:-1], 0], np.zeros(len(many), dtype=np.int16))  # out of order in the last block


def test_ns_of_a_nanosecond_column_is_a_view():
    col = pd.Series(pd.to_datetime(["2026-01-05 10:00", None, "1960-05-05 00:00"]).as_unit("ns"))
    got = st._ns(col)
    assert np.shares_memory(got, col.to_numpy()) and not got.flags.writeable
    assert got.tolist() == [pd.Timestamp("2026-01-05 10:00").value, _NAT, pd.Timestamp("1960-05-05").value]
    assert st._ns(col.dt.as_unit("us")).tolist() == got.tolist()  # another unit: converted


# ---------------------------------------------------------------------------
# stays and compliance on a shuffled history, against loops over each deal's rows

FUNNEL = DEMO_FUNNEL.read_text(encoding="utf-8").replace(
    '    label: {ru: "Квалификация", en: "Qualified"}\n', '    label: {ru: "Квалификация", en: "Qualified"}\n    may_skip: false\n')


def _department(client, tmp_path, seed: int = 3, n: int = 500, **config):
    """Deals with paths that skip, go back and re-enter; entries at the same moment (some in the wrong
    funnel order), exact duplicates moved by different people, re-saves, closed deals without their
    terminal entry (with or without ``closed_at``), rows of unknown deals and stages; shuffled."""
    rng = np.random.default_rng(seed)
    funnel = tmp_path / "funnel.yaml"
    funnel.write_text(FUNNEL, encoding="utf-8")
    opens = ["new", "qualified", "needs", "proposal", "invoice"]
    deals, hist = ["deal_id,created_at,manager,amount,stage,closed_at"], []
    for i in range(n):
        did = f"D{i:04d}"
        t = pd.Timestamp("2026-03-20 09:00") + pd.Timedelta(minutes=int(rng.integers(0, 300_000)))
        k, rows = 0, []
        for _ in range(int(rng.integers(1, 9))):
            rows.append([did, opens[k], t, rng.choice(["m1", "m2", "", "robot"])])
            if rng.random() < 0.1:
                rows.append(list(rows[-1][:3]) + [rng.choice(["m3", "m4"])])  # the same entry twice, moved by another
            t = t + pd.Timedelta(minutes=int(rng.choice([0, 0, 1, 30, 600, 5000])))  # ties
            k = int(np.clip(k + rng.choice([1, 1, 2, 3, -1, -2, 0]), 0, len(opens) - 1))
        end = rng.choice(["open", "won", "lost", "cancelled"], p=[0.4, 0.3, 0.2, 0.1])
        if end != "open" and rng.random() < 0.8:
            rows.append([did, end, t, "m1"])
        closed = "" if end == "open" or rng.random() < 0.2 else f"{t + pd.Timedelta(hours=1):%Y-%m-%d %H:%M}"
        if rng.random() < 0.05:
            rows.append([did, "mystery", t, "m1"])
        hist += rows
        deals.append(f"{did},{rows[0][2]:%Y-%m-%d %H:%M},{rng.choice(['m1', 'm2', 'm3', ''])},{int(rng.integers(1, 9)) * 1000},"
                     f"{opens[k] if end == 'open' else end},{closed}")
    hist.append(["X9999", "new", pd.Timestamp("2026-04-01 10:00"), "m1"])
    text = "deal_id,stage,entered_at,moved_by\n" + "".join(f"{hist[i][0]},{hist[i][1]},{hist[i][2]:%Y-%m-%d %H:%M},{hist[i][3]}\n"
                                                             for i in rng.permutation(len(hist)))
    cfg = {"funnel": str(funnel), "as_of": "2026-10-31 23:59:59", **config}
    return load(client({"deals.csv": "\n".join(deals) + "\n", "stage_history.csv": text}, **cfg))


def _paths(ds) -> dict:
    """Each deal's path by a loop: its rows by time, then funnel order, then row (a stable sort), re-saves dropped;
    each entry with the row it came from."""
    order = {k: i for i, k in enumerate(ds.funnel.keys)}
    ids = set(ds.tables["deals"]["deal_id"].astype(str))
    rows: dict = {}
    h = ds.tables["stage_history"][["deal_id", "stage", "entered_at"]].astype(object)
    for i, (did, s, t) in enumerate(h.itertuples(index=False)):
        if str(did) in ids and s in order and not pd.isna(t):
            rows.setdefault(str(did), []).append((pd.Timestamp(t), order[s], i))
    out = {}
    for did, r in rows.items():
        path = []
        for t, o, i in sorted(r):
            if not path or path[-1][1] != o:
                path.append((t, o, i))
        out[did] = path
    return out


def _text(row: tuple) -> tuple:
    """A sort key for rows that hold None or NaT."""
    return tuple(str(x) for x in row)


def test_the_sort_order_of_a_history_is_reused_only_while_it_still_holds(client, tmp_path):
    ds = _department(client, tmp_path)
    st._SORTED.clear()
    first = st._ordered_path(ds)
    remembered = st._SORTED[0][1]
    assert st._SORTED[0][0]() is ds.tables["stage_history"] and not remembered.flags.writeable
    again = st._ordered_path(ds)
    assert st._SORTED[0][1] is remembered and all(np.array_equal(first[k], again[k]) for k in ("deal", "ord", "ns", "row", "with_history"))

    def plain(ds):
        """The path by the paths' loop, as (deal id, funnel position, time, history row)."""
        return sorted((did, o, t, i) for did, path in _paths(ds).items() for t, o, i in path)

    def got(path):
        ids = ds.tables["deals"]["deal_id"].astype(str).to_numpy()
        return sorted(zip(ids[path["deal"]], path["ord"].tolist(), pd.to_datetime(path["ns"]), path["row"].tolist()))

    assert got(again) == plain(ds)
    # the table changed in place: the remembered order no longer sorts it, so it is sorted again
    h = ds.tables["stage_history"]
    later = h["entered_at"].to_numpy().copy()
    swap = np.flatnonzero(h["deal_id"].isin(ds.tables["deals"]["deal_id"]).to_numpy())[:40]
    later[swap] = later[swap[::-1]]
    h["entered_at"] = later
    changed = st._ordered_path(ds)
    assert st._SORTED[0][1] is not remembered and got(changed) == plain(ds)


@pytest.mark.parametrize("owner", ["deal_owner", "moved_by"])
def test_stays_equal_a_loop_over_the_paths(client, tmp_path, owner):
    ds = _department(client, tmp_path, seed=11, timezone="Europe/Berlin")  # 2026-03-29: the clocks go forward
    stays = st.stage_stays(ds, owner=owner)
    keys, n_open = ds.funnel.keys, len(ds.funnel.open_stages)
    deals = ds.tables["deals"].set_index("deal_id")
    moved_by = ds.tables["stage_history"]["moved_by"].astype(object).to_numpy()
    as_of = pd.Timestamp(ds.as_of)
    want = []
    for did, path in _paths(ds).items():
        for j, (t, o, i) in enumerate(path):
            if o >= n_open:
                continue
            if j + 1 < len(path):
                left = path[j + 1][0]
            elif deals.loc[did, "outcome"] in ("won", "lost"):
                if pd.isna(deals.loc[did, "closed_at"]):
                    continue  # a closed deal that cannot say when its last stay ended
                left = max(deals.loc[did, "closed_at"], t)
            else:
                left = pd.NaT
            owner_name = deals.loc[did, "manager"]
            who = moved_by[i] if owner == "moved_by" and isinstance(moved_by[i], str) and moved_by[i].strip() else owner_name
            want.append((did, keys[o], t, left, st.NO_MANAGER if pd.isna(who) else who))
    cols = stays[["deal_id", "stage", "entered_at", "left_at", "manager"]].astype(object).itertuples(index=False)
    assert sorted(((str(a), str(b), c, d, str(e)) for a, b, c, d, e in cols), key=_text) == sorted(want, key=_text)
    # the durations, slice by slice, are those of the whole arrays at once
    entered, left = st._ns(stays["entered_at"]), st._ns(stays["left_at"])
    end = np.where(left != _NAT, left, as_of.value)
    elapsed = np.maximum(utc_ns(end.view("datetime64[ns]"), "Europe/Berlin") - utc_ns(entered.view("datetime64[ns]"), "Europe/Berlin"), 0)
    minutes = np.asarray(ds.calendar.working_minutes_between(entered.view("datetime64[ns]"), end.view("datetime64[ns]")), dtype=float)
    assert np.array_equal(stays["days"], elapsed / 86_400e9) and np.array_equal(stays["seconds"], elapsed / 1e9)
    assert np.array_equal(stays["business_days"], minutes / ds.calendar.minutes_per_day) and np.array_equal(stays["working_s"], minutes * 60.0)
    spring = (entered < pd.Timestamp("2026-03-29").value) & (end > pd.Timestamp("2026-03-30").value) & (end < pd.Timestamp("2026-10-25").value)
    assert spring.any() and np.all((end - entered)[spring] / 1e9 - stays["seconds"].to_numpy()[spring] == 3600)  # an hour short


def test_compliance_equals_a_loop_over_the_paths(client, tmp_path):
    ds = _department(client, tmp_path, seed=7)
    f = ds.funnel
    keys, n_open, mandatory = f.keys, len(f.open_stages), [f.keys.index(m) for m in f.mandatory]
    lost = {f.keys.index(k) for k in f.lost_stages}
    assert len(mandatory) == 2
    skips, backward, loops, per = [], [], [], {}
    managers = ds.tables["deals"].set_index("deal_id")["manager"].fillna(st.NO_MANAGER)
    for did, path in _paths(ds).items():
        c = per.setdefault(managers[did], dict.fromkeys(["deals", "eligible", "skips", "backward", "backward_moves", "loops", "loop_moves"], 0))
        c["deals"] += 1
        skipped = eligible = False
        for m in mandatory:
            for j, (t, o, _) in enumerate(path):
                before = path[j - 1][1] if j else -1
                if o > m and o not in lost:
                    eligible = True
                    if before < m and all(q != m for _, q, _ in path[:j]):
                        skips.append((did, keys[m], keys[before] if j else None, keys[o], t))
                        skipped = True
                        break
        moves_back = [(keys[path[j - 1][1]], keys[o], t) for j, (t, o, _) in enumerate(path) if j and o < path[j - 1][1] < n_open]
        backward += [(did, *b) for b in moves_back]
        again = [(did, keys[o], t) for j, (t, o, _) in enumerate(path) if o in {q for _, q, _ in path[:j]}]
        loops += again
        c["eligible"] += eligible
        c["skips"] += skipped
        c["backward"] += bool(moves_back)
        c["backward_moves"] += len(moves_back)
        c["loops"] += bool(again)
        c["loop_moves"] += len(again)
    got = st.compliance(ds)

    def rows(frame, cols):
        return sorted((tuple(None if pd.isna(v) else v for v in r) for r in frame[cols].astype(object).itertuples(index=False)), key=_text)

    assert len(skips) > 20 and len(backward) > 20 and len(loops) > 20
    assert rows(got["skips"], ["deal_id", "skipped", "from_stage", "to_stage", "at"]) == sorted(skips, key=_text)
    assert rows(got["backward"], ["deal_id", "from_stage", "to_stage", "at"]) == sorted(backward, key=_text)
    assert rows(got["loops"], ["deal_id", "stage", "at"]) == sorted(loops, key=_text)
    pm = got["per_manager"].set_index("manager")
    assert set(pm.index) == set(per)
    for m, c in per.items():
        assert pm.loc[m, list(c)].astype(int).to_dict() == c, m


def test_stage_rows_of_the_categorical_codes_are_a_group_by_of_the_stage(client, tmp_path):
    ds = _department(client, tmp_path, seed=5)
    stays = st.stage_stays(ds)
    stays = stays.assign(stage=stays["stage"].where(np.arange(len(stays)) % 9 != 0))  # some stays without a stage
    assert isinstance(stays["stage"].dtype, pd.CategoricalDtype) and stays["stage"].isna().any()
    got = st._stage_rows(stays, ds.funnel)
    plain = st._stage_rows(stays.assign(stage=stays["stage"].astype(object)), ds.funnel)  # a factorization of the names
    groups = {str(k): v for k, v in stays.reset_index(drop=True).groupby(stays["stage"].astype(object)).indices.items()}
    for s in ds.funnel.open_stages:
        assert got[s].dtype == np.int64 and np.array_equal(got[s], plain[s]) and np.array_equal(got[s], groups.get(s, []))
