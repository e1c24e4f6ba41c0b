"""Tests for salesaudit.synth: model conformity, determinism, planted anomalies, export files."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesaudit import synth
from salesaudit.data.model import TABLE_ORDER, empty_table
from salesaudit.synth import (
    BAD_DATE_TEXT,
    BITRIX_STAGE_IDS,
    BITRIX_STAGE_LABELS,
    NORM_DAYS,
    generate,
    write_bitrix24,
    write_generic,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data_samples"
STAGES = ("new", "qualified", "needs", "proposal", "invoice")
BITRIX_FILES = {
    "managers": "managers.csv", "deals": "deals.csv", "leads": "leads.csv", "stage_history": "stagehistory.csv",
    "activities": "activities.csv", "payments": "payments.csv", "plans": "plans.csv",
}


@pytest.fixture(scope="module")
def dept():
    return generate()


@pytest.fixture(scope="module")
def written(dept, tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    synth.main(["--out", str(root)])
    return root


def _history_visits(h: pd.DataFrame) -> pd.DataFrame:
    h = h.sort_values(["deal_id", "entered_at"], kind="stable").reset_index(drop=True)
    same = h["deal_id"].shift(-1) == h["deal_id"]
    h["next_stage"] = h["stage"].shift(-1).where(same)
    h["days"] = ((h["entered_at"].shift(-1) - h["entered_at"]).dt.total_seconds() / 86400).where(same)
    return h


# --------------------------------------------------------------------------- model conformity


def test_tables_match_the_model(dept):
    assert list(dept.tables) == list(TABLE_ORDER)
    for name, df in dept.tables.items():
        expected = empty_table(name)
        assert list(df.columns) == list(expected.columns), name
        assert df.dtypes.to_dict() == expected.dtypes.to_dict(), name
    assert dept.counts() == {n: len(df) for n, df in dept.tables.items()}
    assert dept.as_of == pd.Timestamp("2026-10-31 23:59:59")


def test_allowed_values_and_keys(dept):
    t = dept.tables
    assert set(t["deals"]["stage"]) <= set(STAGES) | {"won", "lost", "cancelled"}
    assert {"lost", "cancelled"} <= set(t["deals"]["stage"])
    assert set(t["deals"]["outcome"]) == {"won", "lost", "open"}
    assert set(t["leads"]["status"]) == {"new", "in_work", "converted", "disqualified"}
    assert set(t["activities"]["type"]) == {"call", "task", "meeting", "email"}
    assert set(t["deals"]["payment_terms"].dropna()) <= set(synth.PAYMENT_TERMS)
    assert set(t["deals"]["currency"]) == {"RUB"}
    for name, key in (("leads", "lead_id"), ("deals", "deal_id"), ("activities", "activity_id"), ("payments", "payment_id")):
        assert t[name][key].is_unique and t[name][key].notna().all(), name
    assert t["deals"]["amount"].min() > 0 and t["payments"]["amount"].min() > 0


def test_nothing_after_as_of(dept):
    for name, df in dept.tables.items():
        for col in df.columns:
            if str(df[col].dtype).startswith("datetime64"):
                assert not (df[col] > dept.as_of).any(), (name, col)
                assert (df[col].dropna().dt.microsecond == 0).all(), (name, col)


def test_referential_integrity(dept):
    t = dept.tables
    deals, leads, h = t["deals"], t["leads"], t["stage_history"]
    assert set(h["deal_id"]) == set(deals["deal_id"])
    linked = leads.dropna(subset=["deal_id"])
    assert linked["deal_id"].isin(deals["deal_id"]).all()
    assert (linked["status"] == "converted").all() and (leads["status"] == "converted").sum() == len(linked)
    by_deal = deals.set_index("deal_id")
    assert (by_deal.loc[linked["deal_id"], "lead_id"].to_numpy() == linked["lead_id"].to_numpy()).all()
    assert (by_deal.loc[linked["deal_id"], "channel"].to_numpy() == linked["channel"].to_numpy()).all()
    keys = set(t["managers"]["manager"])
    for name in ("leads", "deals", "activities"):
        assert set(t[name]["manager"].dropna()) <= keys, name
    assert t["leads"]["manager"].notna().all() and t["activities"]["manager"].notna().all()
    assert set(h["moved_by"].dropna()) <= keys
    assert set(t["plans"]["manager"].dropna()) <= keys
    a = t["activities"]
    assert a["deal_id"].dropna().isin(deals["deal_id"]).all()
    assert a["lead_id"].dropna().isin(leads["lead_id"]).all()


def test_deal_lifecycle_consistency(dept):
    t = dept.tables
    deals, h, leads = t["deals"].set_index("deal_id"), t["stage_history"], t["leads"]
    hs = h.sort_values(["deal_id", "entered_at"], kind="stable")
    first, last = hs.groupby("deal_id").first(), hs.groupby("deal_id").last()
    assert (first["stage"] == "new").all()
    assert (first["entered_at"] == deals.loc[first.index, "created_at"]).all()
    assert (last["stage"] == deals.loc[last.index, "stage"]).all()
    assert not hs.duplicated(["deal_id", "entered_at"]).any()
    closed = deals["outcome"] != "open"
    terminal_outcome = deals["stage"].map({"won": "won", "lost": "lost", "cancelled": "lost"})
    assert (terminal_outcome[closed] == deals.loc[closed, "outcome"]).all() and terminal_outcome[~closed].isna().all()
    assert deals.loc[closed, "closed_at"].notna().all() and deals.loc[~closed, "closed_at"].isna().all()
    assert (last.loc[deals.index[closed], "entered_at"] == deals.loc[closed, "closed_at"]).all()
    lost = deals["outcome"] == "lost"
    assert 0.9 < deals.loc[lost, "lost_reason"].notna().mean() < 0.99 and deals.loc[~lost, "lost_reason"].isna().all()
    # deals from leads come after the lead's first response; their moves and the activities happen
    # in working time (the robot declines the web form's deals at any hour)
    from_lead = deals["lead_id"].notna()
    resp = leads.set_index("lead_id")["first_response_at"]
    assert (deals.loc[from_lead, "created_at"] >= resp.loc[deals.loc[from_lead, "lead_id"]].to_numpy()).all()
    cal = dept.calendar
    assert cal.is_working_time(h.loc[h["deal_id"].isin(deals.index[from_lead]), "entered_at"]).all()
    assert not cal.is_working_time(h.loc[~h["deal_id"].isin(deals.index[from_lead]), "entered_at"]).all()
    assert cal.is_working_time(t["activities"]["created_at"]).all()
    assert cal.is_working_time(leads["first_response_at"].dropna()).all()


def test_payments(dept):
    t = dept.tables
    deals, pay = t["deals"].set_index("deal_id"), t["payments"]
    assert set(pay["deal_id"]) <= set(deals.index[deals["outcome"] == "won"])
    paid = pay.groupby("deal_id")["amount"].sum()
    assert (paid <= deals.loc[paid.index, "amount"]).all()  # exact: amounts are multiples of 0.5 RUB
    assert (pay["paid_at"].to_numpy() >= deals.loc[pay["deal_id"], "closed_at"].to_numpy()).all()
    n_payments = pay.groupby("deal_id").size()
    terms = deals.loc[n_payments.index, "payment_terms"]
    assert (n_payments[terms.isin(["prepaid", "postpaid"])] == 1).all()
    assert (n_payments[terms == "instalment_6m"] <= 6).all() and (n_payments[terms == "instalment_3m"] <= 3).all()
    full = deals[(deals["payment_terms"] == "prepaid") & (deals["outcome"] == "won")]
    assert (paid.reindex(full.index).dropna() == full["amount"].reindex(paid.reindex(full.index).dropna().index)).all()


def test_realistic_volumes(dept):
    t = dept.tables
    leads, deals = t["leads"], t["deals"]
    cal = dept.calendar
    per_day = len(leads) / cal.business_days_between(dept.start, dept.as_of)
    assert 16 < per_day < 20  # a seller's ~0.8 a day, the inbound desk's ~8
    out_of_hours = 1 - cal.is_working_time(leads["created_at"]).mean()
    assert 0.10 < out_of_hours < 0.20
    decided = leads[leads["status"].isin(["converted", "disqualified"])]
    assert 0.50 <= (decided["status"] == "converted").mean() <= 0.60
    assert {"new", "in_work"} <= set(leads["status"])
    assert 200_000 < deals["amount"].median() < 300_000
    assert deals["amount"].isna().sum() == deals["lead_id"].isna().sum()  # the web form's deals: empty cards
    dec = decided.assign(conv=decided["status"] == "converted").groupby("channel")["conv"].mean()
    assert dec.idxmax() == "referrals"
    m = t["managers"]
    assert len(m) == 15 and (m["role"] == "head_of_sales").sum() == 1
    assert 0.03 < (deals["manager"] == "h01").mean() < 0.08
    people = m[m["manager"] != "robot"]
    assert people["name"].str.split().str.len().eq(3).all() and m["name"].is_unique
    assert m.set_index("manager").loc["robot", ["name", "role"]].tolist() == ["Робот CRM", "manager"]
    # calls: some missed (0 s), the rest mostly 1–15 minutes
    calls = t["activities"].query("type == 'call'")["duration_sec"]
    assert 0.05 < (calls == 0).mean() < 0.25
    assert 60 < calls[calls > 0].median() < 600
    tasks = t["activities"].query("type == 'task'")
    assert tasks["due_at"].notna().all()
    assert ((tasks["done_at"] > tasks["due_at"]).sum() > 50) and (tasks["done_at"].isna().sum() > 50)


def test_plans(dept):
    plans = dept.tables["plans"]
    assert set(plans["period"]) == {p.strftime("%Y-%m") for p in pd.period_range("2025-08", "2026-10", freq="M")}
    team = plans[plans["manager"].isna()]
    assert set(team["metric"]) == {"revenue", "deals_won", "leads", "calls", "call_minutes", "meetings", "tasks_done", "conversion", "avg_deal"}
    mgr = plans.dropna(subset=["manager"])
    assert not {"h01", "robot"} & set(mgr["manager"])
    assert "m_desk" in set(mgr["manager"])
    r = dept.anomalies["roster"]
    assert mgr.query("manager == @r['newcomer']")["period"].min() == "2026-06"
    assert mgr.query("manager == @r['leaver']")["period"].max() == "2026-04"
    # team totals are the sum of the managers' targets
    s = mgr.groupby(["period", "metric"])["target"].sum()
    tt = team.set_index(["period", "metric"])["target"]
    assert np.allclose(s.to_numpy(), tt.loc[s.index].to_numpy())
    # newcomers start lower
    nc = mgr[(mgr["manager"] == r["newcomer"]) & (mgr["metric"] == "revenue")].sort_values("period")["target"].to_numpy()
    assert nc[0] < nc[-1]


# --------------------------------------------------------------------------- validation and determinism


def test_n_managers_enforced():
    for bad in (7, 501):
        with pytest.raises(ValueError):
            generate(n_managers=bad)
    small = generate(seed=3, start="2026-03-01", n_managers=8)
    assert len(small.tables["managers"]) == 11  # 8 sellers, the head, the inbound desk and the robot
    roles = small.anomalies
    keys = [roles[k]["manager"] for k in ("slow_responder", "stage_skipper", "overloaded_manager", "discount_violator", "weak_closer")]
    assert len(set(keys)) == 5


def test_same_seed_same_bytes_different_seed_different_data(tmp_path):
    kw = dict(start="2026-05-01", end="2026-10-31")
    a, b = generate(seed=7, **kw), generate(seed=7, **kw)
    for folder, d in (("a", a), ("b", b)):
        write_generic(d, tmp_path / folder / "g")
        write_bitrix24(d, tmp_path / folder / "x")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 16
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert a.anomalies == b.anomalies
    c = generate(seed=8, **kw)
    assert not c.tables["deals"]["amount"].equals(a.tables["deals"]["amount"])
    assert not c.tables["leads"]["created_at"].equals(a.tables["leads"]["created_at"])


# --------------------------------------------------------------------------- planted anomalies


def test_anomaly_managers_are_distinct(dept):
    an = dept.anomalies
    keys = [an[k]["manager"] for k in ("slow_responder", "stage_skipper", "overloaded_manager", "discount_violator", "weak_closer", "inbound_desk")]
    assert len(set(keys)) == 6
    assert not set(keys) & {"h01", an["roster"]["newcomer"], an["roster"]["leaver"]}
    json.dumps(an)  # serialisable


def test_slow_responder(dept):
    leads = dept.tables["leads"]
    wm = dept.calendar.working_minutes_between(leads["created_at"], leads["first_response_at"])
    med = wm.groupby(leads["manager"]).median()
    slow = dept.anomalies["slow_responder"]["manager"]
    assert med[slow] > 120
    assert (med.drop(slow) < 30).all()
    decided = leads[leads["status"].isin(["converted", "disqualified"])]
    conv = (decided["status"] == "converted").groupby(decided["manager"]).mean()
    assert conv[slow] < 0.45 and conv.drop(slow).min() > conv[slow]
    assert dept.anomalies["slow_responder"]["lead_to_deal_conversion"] == pytest.approx(conv[slow], abs=1e-3)


def test_stage_skipper(dept):
    h, deals = dept.tables["stage_history"], dept.tables["deals"].set_index("deal_id")
    later = h[h["stage"].isin(["proposal", "invoice", "won"])].groupby("deal_id").size().index
    had_needs = set(h.loc[h["stage"] == "needs", "deal_id"])
    skipped = pd.Series([d not in had_needs for d in later], index=later)
    by = skipped.groupby(deals.loc[later, "manager"].to_numpy()).agg(["sum", "mean"])
    sk = dept.anomalies["stage_skipper"]
    assert 0.3 <= by.loc[sk["manager"], "mean"] <= 0.5
    assert by.drop(sk["manager"])["sum"].sum() == 0
    assert by.loc[sk["manager"], "sum"] == sk["skipped_deals"]
    # skipping `qualified` is allowed and happens to everybody now and then
    v = _history_visits(h)
    assert (v[(v["stage"] == "new")]["next_stage"] == "needs").sum() > 30
    # backward moves are rare
    order = {s: i for i, s in enumerate(STAGES + ("won",))}
    moves = v.dropna(subset=["next_stage"])
    moves = moves[~moves["next_stage"].isin(["lost", "cancelled"])]
    back = moves["next_stage"].map(order) < moves["stage"].map(order)
    assert 0 < back.sum() < 0.03 * len(deals)


def test_stalling_stage(dept):
    people = dept.tables["deals"].query("manager.notna() and manager != 'robot'")["deal_id"]
    v = _history_visits(dept.tables["stage_history"]).dropna(subset=["days"])
    v = v[v["deal_id"].isin(people)]
    ratio = {s: v.loc[v["stage"] == s, "days"].median() / NORM_DAYS[s] for s in STAGES}
    others = np.median([ratio[s] for s in STAGES if s != "proposal"])
    assert ratio["proposal"] > 2 * others
    p80 = {s: v.loc[v["stage"] == s, "days"].quantile(0.8) / NORM_DAYS[s] for s in STAGES}
    assert p80["proposal"] > 2.0
    for s in ("new", "needs", "invoice"):
        assert 0.8 < p80[s] < 1.3, (s, p80[s])
    # qualification takes minutes: most stays end well inside the one-hour norm
    assert p80["qualified"] < 0.5 and (v.loc[v["stage"] == "qualified", "days"] > NORM_DAYS["qualified"]).mean() < 0.08
    assert dept.anomalies["stalling_stage"]["median_days_by_stage"]["proposal"] == pytest.approx(v.loc[v["stage"] == "proposal", "days"].median(), abs=1e-4)


def test_overloaded_manager(dept):
    deals = dept.tables["deals"]
    open_by = deals[deals["outcome"] == "open"].groupby("manager").size()
    over = dept.anomalies["overloaded_manager"]["manager"]
    assert open_by[over] >= 40
    assert open_by.drop([over, "m_desk"]).max() <= 24
    assert 20 <= open_by["m_desk"] <= 45  # ten sellers' volume: under its personal limit of 60
    assert dept.anomalies["overloaded_manager"]["open_deals"] == open_by[over]


def test_discount_violator(dept):
    deals = dept.tables["deals"]
    inst = deals["payment_terms"].isin(["instalment_3m", "instalment_6m"])
    viol = (deals["discount_pct"] > 10) | (inst & (deals["amount"] <= 300_000))
    by = viol.groupby(deals["manager"]).sum()
    man = dept.anomalies["discount_violator"]
    v = man["manager"]
    assert by[v] == man["deals_with_violation"]
    for k, counts in man["violations_by_manager"].items():
        assert by.get(k, 0) == counts["deals_with_violation"]
    with_terms = deals["payment_terms"].notna().groupby(deals["manager"]).sum()
    assert (by.drop(v) <= 1 + 0.05 * with_terms.drop(v)).all()  # a rare slip: within the policy's 5 % tolerance
    mine = deals[(deals["manager"] == v) & deals["discount_pct"].notna()]
    share = (mine["discount_pct"] > 10).mean()
    assert 0.2 <= share <= 0.4
    assert mine.loc[mine["discount_pct"] > 10, "discount_pct"].between(12, 25).all()
    assert (inst & (deals["amount"] <= 300_000) & (deals["manager"] == v)).sum() >= 5


def test_weak_closer(dept):
    v = _history_visits(dept.tables["stage_history"])
    deals = dept.tables["deals"].set_index("deal_id")
    prop = v[(v["stage"] == "proposal") & v["next_stage"].notna()]
    mgr = deals.loc[prop["deal_id"], "manager"].to_numpy()
    rate = (prop["next_stage"] == "invoice").groupby(mgr).mean()
    weak = dept.anomalies["weak_closer"]["manager"]
    team = (prop["next_stage"] == "invoice")[mgr != weak].mean()
    assert rate[weak] < 0.6 * team
    assert dept.anomalies["weak_closer"]["rate"] == pytest.approx(rate[weak], abs=1e-3)


def test_newcomer_and_leaver(dept):
    t = dept.tables
    m = t["managers"].set_index("manager")
    r = dept.anomalies["roster"]
    hired = m.loc[r["newcomer"], "hired_at"]
    left = m.loc[r["leaver"], "left_at"]
    assert 130 <= (dept.end - hired).days <= 170
    assert 165 <= (dept.end - left).days <= 200
    assert m["left_at"].notna().sum() == 1
    leads = t["leads"]
    assert leads.loc[leads["manager"] == r["leaver"], "created_at"].max() < left + pd.Timedelta(days=1)
    assert leads.loc[leads["manager"] == r["newcomer"], "created_at"].min() >= hired
    assert not ((t["deals"]["manager"] == r["leaver"]) & (t["deals"]["outcome"] == "open")).any()
    acts = t["activities"]
    assert not ((acts["manager"] == r["leaver"]) & (acts["created_at"] > left + pd.Timedelta(days=1))).any()
    # the newcomer ramps up: fewer leads in the first month than in the last full one
    monthly = leads[leads["manager"] == r["newcomer"]].groupby(leads["created_at"].dt.strftime("%Y-%m")).size()
    assert monthly.iloc[0] < monthly.iloc[-1]


# --------------------------------------------------------------------------- export files


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))


def test_manifest_row_counts_match_files(written, dept):
    g, b = written / "demo_generic", written / "demo_bitrix24"
    mg, mb = _manifest(g), _manifest(b)
    for fname, info in mg["files"].items():
        assert len(pd.read_csv(g / fname, dtype=str)) == info["rows"], fname
    for fname, info in mb["files"].items():
        if fname == "stagehistory.csv":
            df = pd.read_csv(b / fname, dtype=str)
        else:
            df = pd.read_csv(b / fname, sep=";", encoding="cp1251", dtype=str)
        assert len(df) == info["rows"], fname
    for m in (mg, mb):
        assert m["expected_clean_rows"] == dept.counts()
        q = m["expected_quarantine"]
        assert q["deals"] | {"empty_row": 1} == {
            "missing_id": 1, "duplicate_conflict": 2, "duplicate_exact": 1, "bad_date": 1, "future_date": 1,
            "negative_amount": 1, "unknown_stage": 2, "closed_before_created": 1, "empty_row": 1,
        }
        assert q["stage_history"] == {"unknown_deal": 3, "unknown_stage": 1}
        assert q["leads"] == {"missing_id": 1, "bad_date": 1}
        assert q["payments"] == {"unknown_deal": 2, "negative_amount": 1}
        assert q["activities"] == {"bad_date": 1}
        for info in m["files"].values():
            t = info["table"]
            assert info["rows"] == dept.counts()[t] + sum(q.get(t, {}).values()) - info["blank_lines"]
    assert "empty_row" in mg["expected_quarantine"]["deals"] and "empty_row" not in mb["expected_quarantine"]["deals"]
    assert json.loads((g / "ANOMALIES.json").read_text(encoding="utf-8")) == dept.anomalies


def test_generic_format(written, dept):
    g = written / "demo_generic"
    m = _manifest(g)
    raw = (g / "deals.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    lines = raw.decode("utf-8").split("\n")
    assert lines[0] == ",".join(c for c in empty_table("deals").columns if c != "pipeline")  # one pipeline, not named
    assert sum(1 for x in lines[:-1] if x == "") == 1
    planted = {p["line"]: p for p in m["planted"] if p["file"] == "deals.csv"}
    for line, p in planted.items():
        text = lines[line - 1]
        assert {"missing_id": text.startswith(","), "bad_date": BAD_DATE_TEXT in text, "future_date": ",2027-" in text,
                "negative_amount": ",-125000," in text, "unknown_stage": ",archive," in text, "empty_row": text == "",
                "duplicate_conflict": True, "duplicate_exact": True, "closed_before_created": ",won," in text}[p["reason"]], p
    # without the planted rows the file is exactly the canonical table
    keep = [x for i, x in enumerate(lines[1:-1], start=2) if i not in planted]
    df = pd.read_csv(io.StringIO("\n".join([lines[0]] + keep)), dtype=str, keep_default_na=False)
    d = dept.tables["deals"]
    assert df["deal_id"].tolist() == d["deal_id"].tolist()
    assert np.array_equal(df["amount"].replace("", np.nan).astype(float).to_numpy(), d["amount"].to_numpy(), equal_nan=True)  # exact
    assert (pd.to_datetime(df["created_at"]) == d["created_at"]).all()
    assert df["stage"].tolist() == d["stage"].tolist()
    dup = [p for p in m["planted"] if p["reason"] == "duplicate_exact"][0]
    assert lines[dup["line"] - 1] in keep  # an exact copy of a real row, further down
    assert keep.index(lines[dup["line"] - 1]) + 2 < dup["line"]


def test_bitrix_format(written, dept):
    b = written / "demo_bitrix24"
    raw = (b / "deals.csv").read_bytes()
    text = raw.decode("cp1251")
    assert raw.count(b"\r\n") == raw.count(b"\n")
    header = text.split("\r\n")[0].split(";")
    assert header.count("ID") == 3 and header[0] == "ID" and header[6] == "Сумма" and header[-1] == "ID лида"
    df = pd.read_csv(b / "deals.csv", sep=";", encoding="cp1251", dtype=str, keep_default_na=False)
    assert set(df["Стадия сделки"]) == set(BITRIX_STAGE_LABELS.values()) | {"Архив"}
    assert set(df["Воронка"]) == {"Общая"}
    names = set(dept.tables["managers"]["name"])
    assert set(df["Ответственный"]) <= names | {""} and "Робот CRM" in set(df["Ответственный"])
    unassigned = df[df["ID"].isin(dept.tables["deals"].query("manager.isna()")["deal_id"])]
    assert len(unassigned) > 100 and (unassigned["Ответственный"] == "").all()
    open_rows = df[df["Сделка закрыта"] == "Нет"]
    assert (open_rows["Дата закрытия"] == "не закрыта").all()
    empty_card = df["ID"].isin(dept.tables["deals"].query("lead_id.isna()")["deal_id"])
    assert df.loc[~empty_card, "Сумма"].str.fullmatch(r"-?\d+,\d\d").all() and (df.loc[empty_card, "Сумма"] == "").all()
    assert df["Дата создания"].str.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d|32\.13\.2025 25:61").all()
    real = df[df["ID"].isin(dept.tables["deals"]["deal_id"])].drop_duplicates()
    assert len(real) == len(dept.tables["deals"])
    sh = pd.read_csv(b / "stagehistory.csv", dtype=str)
    assert list(sh.columns) == ["ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "CATEGORY_ID", "STAGE_SEMANTIC_ID", "STAGE_ID"]
    assert set(sh["STAGE_ID"]) == set(BITRIX_STAGE_IDS.values()) | {"UC_ARCHIVE"}
    # TYPE_ID: 1 creation, 2 a move to an intermediate stage, 3 to a final one (WON, LOSE, UC_CANCEL)
    final = sh["STAGE_ID"].isin(["WON", "LOSE", "UC_CANCEL"])
    assert (sh.loc[final & (sh["TYPE_ID"] != "1"), "TYPE_ID"] == "3").all() and (sh.loc[~final & (sh["TYPE_ID"] != "1"), "TYPE_ID"] == "2").all()
    assert sh["CREATED_TIME"].str.endswith("+03:00").all()
    assert (sh["TYPE_ID"] == "1").sum() == dept.tables["deals"].shape[0]
    assert b"\r\n" not in (b / "stagehistory.csv").read_bytes()
    plans = pd.read_csv(b / "plans.csv", sep=";", encoding="cp1251", dtype=str)
    assert set(plans["Показатель"]) == set(synth.BITRIX_PLAN_METRICS.values())
    assert "Весь отдел" in set(plans["Менеджер"])
    leads = pd.read_csv(b / "leads.csv", sep=";", encoding="cp1251", dtype=str)
    assert set(leads["Статус"]) == set(synth.BITRIX_LEAD_STATUS.values())
    acts = pd.read_csv(b / "activities.csv", sep=";", encoding="cp1251", dtype=str)
    assert set(acts["Тип"]) == set(synth.BITRIX_ACTIVITY_TYPES.values())


def test_both_formats_plant_the_same_rows(written):
    g, b = _manifest(written / "demo_generic"), _manifest(written / "demo_bitrix24")

    def keyed(m):
        return sorted((p["table"], p["reason"], str(p["key"])) for p in m["planted"] if p["reason"] != "empty_row")

    assert keyed(g) == keyed(b)


def test_committed_samples_are_up_to_date(written):
    """data_samples/ is what ``python -m salesaudit.synth --seed 20261031 --out data_samples`` writes."""
    if not (SAMPLES / "demo_generic").exists():
        pytest.skip("data_samples not generated")
    for folder in ("demo_generic", "demo_bitrix24"):
        fresh = sorted(p.name for p in (written / folder).iterdir())
        assert sorted(p.name for p in (SAMPLES / folder).iterdir()) == fresh
        for name in fresh:
            assert (SAMPLES / folder / name).read_bytes() == (written / folder / name).read_bytes(), name
    size = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert size < 8e6
