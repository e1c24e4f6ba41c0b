"""`salesaudit pull amocrm` against a real local HTTP server speaking amoCRM API v4 (tests/fake_amocrm.py).

The expected tables are computed here from the fake account's own objects (leads, events, tasks,
call notes), independently of the pull; waits are injected so retries cost no time.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_amocrm import LOST, MSK, WON, FakeAmo, make_account  # noqa: E402
from local_server import closed_port  # noqa: E402

pytest.importorskip("httpx")

from salesaudit import load  # noqa: E402
from salesaudit.pull import amocrm  # noqa: E402
from salesaudit.pull.common import PullError, Secret  # noqa: E402

HEAD = "Иванова Анна Сергеевна"


class Sleeps(list):
    def __call__(self, s):
        self.append(s)


def fast(**kw):
    """Instant waits (recorded), no client-side rate limit: the logic under test, not the clock."""
    return {"rate_per_sec": 0, "sleep": Sleeps(), "backoff_base": 0.01, **kw}


def run(fk, out, **kw):
    opts = kw.pop("http_options", None) or fast()
    return amocrm.pull("demo", Secret(fk.token), out, base_url=fk.base_url, http_options=opts, **kw)


def local(unix) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.fromtimestamp(unix, MSK).replace(tzinfo=None))


def field(lead, name):
    for f in lead.get("custom_fields_values") or []:
        if f["field_name"] == name:
            return f["values"][0]["value"]
    return None


def csvs(out: Path) -> dict:
    return {n: pd.read_csv(out / f"{n}.csv", dtype=str, keep_default_na=False).sort_values(k).reset_index(drop=True)
            for n, k in (("deals", "ID"), ("stage_history", "event_id"), ("activities", "activity_id"), ("managers", "manager"))}


# --------------------------------------------------------------------------- the truth, from the fake's own data

def expected(account, funnel_keys: dict, pipeline_id=7001, since=None, until=None):
    """Canonical deals, stage history and activities the draft config must load (pipeline ``pipeline_id`` audited)."""
    acc = account
    leads = [ld for ld in acc.leads.values() if (since is None or ld["created_at"] >= since) and (until is None or ld["created_at"] <= until)]
    ids = {ld["id"] for ld in leads}
    deals, hist = [], []
    for ld in leads:
        if ld["pipeline_id"] != pipeline_id:
            continue
        name = acc.status_name(ld["pipeline_id"], ld["status_id"])
        closed = ld["status_id"] in (WON, LOST)
        reason = next((r["name"] for r in acc.loss_reasons if r["id"] == ld["loss_reason_id"]), None) if ld["status_id"] == LOST else None
        deals.append((str(ld["id"]), local(ld["created_at"]), acc.users[ld["responsible_user_id"]], float(ld["price"]), funnel_keys[name],
                      local(ld["closed_at"]) if closed else pd.NaT, {WON: "won", LOST: "lost"}.get(ld["status_id"], "open"),
                      reason, field(ld, "Товар"), field(ld, "Источник")))
        evs = sorted((e for e in acc.events if e["entity_id"] == ld["id"]), key=lambda e: (e["created_at"], e["id"]))
        first = evs[0]["value_before"][0]["lead_status"] if evs else {"id": ld["status_id"], "pipeline_id": ld["pipeline_id"]}
        rows = [(first["pipeline_id"], first["id"], ld["created_at"], ld["created_by"])]
        rows += [(e["value_after"][0]["lead_status"]["pipeline_id"], e["value_after"][0]["lead_status"]["id"], e["created_at"], e["created_by"]) for e in evs]
        for pid, sid, at, by in rows:
            key = funnel_keys.get(acc.status_name(pid, sid))
            if key is not None:           # a stage of the other pipeline is not in this funnel (unknown_stage)
                hist.append((str(ld["id"]), key, local(at), acc.users.get(by)))
    acts = []
    for t in acc.tasks:
        if t["entity_id"] in ids:
            acts.append((f"task-{t['id']}", "meeting" if t["task_type_id"] == 2 else "task", acc.users[t["responsible_user_id"]], str(t["entity_id"]),
                         local(t["created_at"]), None, local(t["complete_till"]), local(t["updated_at"]) if t["is_completed"] else pd.NaT))
    for n in acc.notes:
        if n["entity_id"] in ids:
            acts.append((f"call-{n['id']}", "call", acc.users[n["responsible_user_id"]], str(n["entity_id"]), local(n["created_at"]),
                         float(n["params"]["duration"]), pd.NaT, pd.NaT))
    return sorted(deals), sorted(hist, key=str), sorted(acts)


def loaded(ds):
    d = ds.tables["deals"]
    deals = sorted(zip(d.deal_id, d.created_at, d.manager, d.amount, d.stage, d.closed_at, d.outcome,
                       [None if pd.isna(x) else x for x in d.lost_reason], [None if pd.isna(x) else x for x in d["product"]],
                       [None if pd.isna(x) else x for x in d.channel]))
    h = ds.tables["stage_history"]
    hist = sorted(zip(h.deal_id, h.stage, h.entered_at, [None if pd.isna(x) else x for x in h.moved_by]), key=str)
    a = ds.tables["activities"]
    acts = sorted(zip(a.activity_id, a.type, a.manager, a.deal_id, a.created_at, [None if pd.isna(x) else x for x in a.duration_sec], a.due_at, a.done_at))
    return deals, hist, acts


def same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple("NaT" if (x is pd.NaT or (isinstance(x, float) and pd.isna(x))) else x for x in g) == \
            tuple("NaT" if (x is pd.NaT or (isinstance(x, float) and pd.isna(x))) else x for x in w), (g, w)


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """One clean pull of the standard account: (server log, report, folder, account)."""
    out = tmp_path_factory.mktemp("amo") / "pulled"
    with FakeAmo() as fk:
        rep = run(fk, out, head_of_sales=HEAD)
        return {"log": list(fk.log), "report": rep, "out": out, "account": fk.account, "token": fk.token}


def funnel_keys(out: Path, name="funnel_prodazhi.yaml") -> dict:
    doc = yaml.safe_load((out / name).read_text(encoding="utf-8"))
    return {s["label"]["ru"]: s["key"] for s in doc["stages"]}


# --------------------------------------------------------------------------- the pulled dataset is the account

def test_pulled_folder_loads_and_equals_the_account(clean):
    out, acc = clean["out"], clean["account"]
    ds = load(out / "run_config.yaml")
    want = expected(acc, funnel_keys(out))
    got = loaded(ds)
    assert len(want[0]) > 100 and len(want[1]) > 250 and len(want[2]) > 500
    for g, w in zip(got, want):
        same(g, w)
    m = ds.tables["managers"]
    assert sorted(zip(m.manager, m.role)) == sorted((n, "head_of_sales" if n == HEAD else "manager") for n in acc.users.values())
    # robots' moves have no author; people's have a name
    h = ds.tables["stage_history"]
    assert h["moved_by"].isna().any() and set(h["moved_by"].dropna()) <= set(acc.users.values())


def test_funnels_follow_the_pipelines_sort_and_semantics(clean):
    out, acc = clean["out"], clean["account"]
    for pid, fname in ((7001, "funnel_prodazhi.yaml"), (7002, "funnel_povtornye_prodazhi.yaml")):
        doc = yaml.safe_load((out / fname).read_text(encoding="utf-8"))
        stages = doc["stages"]
        opens = [s["name"] for s in sorted(acc.statuses(pid), key=lambda s: s["sort"]) if s["id"] not in (WON, LOST)]
        assert [s["label"]["ru"] for s in stages] == opens + ["Успешно реализовано", "Закрыто и не реализовано"]
        assert [s.get("terminal") for s in stages][-2:] == ["won", "lost"] and all("terminal" not in s for s in stages[:-2])
    assert [s["key"] for s in yaml.safe_load((out / "funnel_prodazhi.yaml").read_text())["stages"]] == \
        ["new", "first_contact", "negotiation", "decision", "contract", "won", "lost"]   # the amocrm preset's keys
    cfg = yaml.safe_load((out / "run_config.yaml").read_text(encoding="utf-8"))
    assert cfg["preset"] == "amocrm" and cfg["pipeline"] == "Продажи" and cfg["funnel"] == "funnel_prodazhi.yaml"
    assert cfg["timezone"] == "Europe/Moscow" and cfg["head_of_sales"] == HEAD


def test_moved_deals_keep_the_stages_of_both_pipelines(clean):
    out, acc = clean["out"], clean["account"]
    h = pd.read_csv(out / "stage_history.csv", dtype=str, keep_default_na=False)
    moved = {e["entity_id"] for e in acc.events
             if e["value_before"][0]["lead_status"]["pipeline_id"] != e["value_after"][0]["lead_status"]["pipeline_id"]}
    assert len(moved) >= 10
    for did in moved:
        rows = h[h["deal_id"] == str(did)]
        assert set(rows["pipeline_id"]) == {"7001", "7002"}
    # every event is a row, and every deal a creation row: nothing lost on the short event pages
    assert int((h["source"] == "event").sum()) == len(acc.events)
    assert int((h["source"] == "created").sum()) == len(acc.leads)
    rep = clean["report"]
    assert rep["counts"]["deals_moved_between_pipelines"] == len(moved)
    c = rep["completeness"]
    assert c["share_starting_at_creation"] == 1.0 and c["deals_with_gaps"] == 0 and c["deals_with_broken_chain"] == 0
    first = min(ld["created_at"] for ld in acc.leads.values())
    assert c["earliest_history"] == local(first).date().isoformat()
    on_disk = json.loads((out / "PULL_REPORT.json").read_text(encoding="utf-8"))
    assert on_disk["counts"] == rep["counts"] and on_disk["completeness"]["deals"] == len(acc.leads)


def test_pagination_follows_links_next_through_short_event_pages(clean):
    log = clean["log"]
    acc = clean["account"]
    ev = [q for verb, ent, q, st, _, _ in log if ent == "events"]
    assert len(ev) >= 4 and all(q["limit"] == "100" and q["filter[type]"] == "lead_status_changed" for q in ev)
    assert [int(q["page"]) for q in ev] == list(range(1, len(ev) + 1))
    # the fake's pages 2, 4… are shorter than asked: a client stopping on a short page would lose events
    assert len(ev) > -(-len(acc.events) // 100)
    leads = [q for verb, ent, q, st, _, _ in log if ent == "leads"]
    assert leads and all(q["limit"] == "250" and q["with"] == "loss_reason" for q in leads)


def test_small_pages_give_the_same_tables(clean, tmp_path):
    with FakeAmo() as fk:
        run(fk, tmp_path / "p", head_of_sales=HEAD, page_limit=37, event_limit=23)
        n_leads = sum(1 for x in fk.log if x[1] == "leads")
    assert n_leads == -(-200 // 37)
    a, b = csvs(clean["out"]), csvs(tmp_path / "p")
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])


def test_only_get_requests_with_the_bearer_token(clean):
    log = clean["log"]
    assert {x[0] for x in log} == {"GET"}
    assert {x[5] for x in log} == {f"Bearer {clean['token']}"}
    assert {x[1] for x in log} == {"account", "users", "leads/pipelines", "leads/loss_reasons", "leads", "events", "tasks", "leads/notes"}


# --------------------------------------------------------------------------- a polite client

def test_429_500_and_a_slow_answer_are_retried(clean, tmp_path):
    sleeps = Sleeps()
    with FakeAmo() as fk:
        fk.faults = {("leads", 1): 429, ("events", 2): 500, ("events", 3): 503, ("tasks", 1): "slow"}
        fk.slow_seconds = 0.5
        rep = run(fk, tmp_path / "p", head_of_sales=HEAD, http_options=fast(sleep=sleeps, timeout=0.25))
        statuses = [x[3] for x in fk.log]
    assert statuses.count(429) == 1 and statuses.count(500) == 1 and statuses.count(503) == 1
    assert rep["retries"] == 4                       # 429, 500, 503 and the timeout of the slow answer
    assert 0.0 in sleeps                             # Retry-After: 0 of the 429 was honoured
    a, b = csvs(clean["out"]), csvs(tmp_path / "p")
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])


def test_the_client_stays_under_the_servers_rate_limit(tmp_path):
    # the real clock: the server answers 429 past amoCRM's 7 requests in any second; the pull's own pace (6.5/s)
    with FakeAmo(make_account(n_leads=40)) as fk:
        fk.rate_limit = amocrm.RATE_LIMIT
        rep = amocrm.pull("demo", Secret(fk.token), tmp_path / "p", base_url=fk.base_url, page_limit=10, event_limit=10)
        times = sorted(x[4] for x in fk.log)
        statuses = [x[3] for x in fk.log]
    assert 429 not in statuses
    assert max(sum(1 for t in times if s <= t < s + 1.0) for s in times) <= 7
    assert rep["requests_total"] == len(times) >= 15 and rep["rate_limit_per_sec"] == amocrm.RATE_PER_SEC
    assert 300 <= rep["requests_per_minute"] <= amocrm.RATE_LIMIT * 60


def test_an_interrupted_pull_resumes_without_duplicates(clean, tmp_path):
    out = tmp_path / "p"
    with FakeAmo() as fk:
        fk.faults = {("events", 3): "die"}             # the server goes down at the third page of events
        with pytest.raises(PullError) as err:
            run(fk, out, head_of_sales=HEAD, http_options=fast(max_retries=2))
        assert "503" in str(err.value) and "resumes" in str(err.value)
        state = json.loads((out / ".pull_state.json").read_text())
        assert state["entities"]["leads"]["done"] and state["entities"]["events"]["cursor"]["params"]["page"] == "3"
        fk._dead = False
        fk.faults = {}
        before = len(fk.log)
        rep = run(fk, out, head_of_sales=HEAD)
        second = fk.log[before:]
    assert rep["mode"] == "resumed"
    assert not [x for x in second if x[1] == "leads"]                       # deals were not fetched again
    assert [int(x[2]["page"]) for x in second if x[1] == "events"][0] == 3   # events went on at page 3
    a, b = csvs(clean["out"]), csvs(out)
    for k in a:
        assert not b[k].iloc[:, 0].duplicated().any()
        pd.testing.assert_frame_equal(a[k], b[k])


def test_an_incremental_pull_asks_only_for_changes_and_equals_a_fresh_pull(tmp_path):
    out = tmp_path / "p"
    with FakeAmo() as fk:
        run(fk, out, head_of_sales=HEAD)
        marks = json.loads((out / ".pull_state.json").read_text())["amocrm_marks"]
        changed = fk.account.mutate()
        before = len(fk.log)
        rep = run(fk, out, head_of_sales=HEAD)
        second = fk.log[before:]
        run(fk, tmp_path / "fresh", head_of_sales=HEAD)
        acc = fk.account
    assert rep["mode"] == "incremental"
    leads_q = [x[2] for x in second if x[1] == "leads"]
    assert leads_q and all(q["filter[updated_at][from]"] == str(marks["leads"]) for q in leads_q)
    assert all(x[2]["filter[created_at][from]"] == str(marks["events"]) for x in second if x[1] == "events")
    assert all(x[2]["filter[updated_at][from]"] == str(marks["tasks"]) for x in second if x[1] == "tasks")
    a, b = csvs(out), csvs(tmp_path / "fresh")
    for k in a:
        assert not a[k].iloc[:, 0].duplicated().any()
        pd.testing.assert_frame_equal(a[k], b[k])
    assert rep["counts"]["deals"] == len(acc.leads) == 200 + len(changed["new"])
    ds = load(out / "run_config.yaml")
    for g, w in zip(loaded(ds), expected(acc, funnel_keys(out))):
        same(g, w)


def test_since_until_select_deals_by_creation(tmp_path):
    with FakeAmo() as fk:
        rep = run(fk, tmp_path / "p", since="2026-07-01", until="2026-08-31", head_of_sales=HEAD)
        acc = fk.account
        q = [x[2] for x in fk.log if x[1] == "leads"][0]
    lo = int(dt.datetime(2026, 7, 1, tzinfo=MSK).timestamp())
    hi = int(dt.datetime(2026, 8, 31, 23, 59, 59, tzinfo=MSK).timestamp())
    assert q["filter[created_at][from]"] == str(lo) and q["filter[created_at][to]"] == str(hi)
    want_ids = {str(ld["id"]) for ld in acc.leads.values() if lo <= ld["created_at"] <= hi}
    got = pd.read_csv(tmp_path / "p" / "deals.csv", dtype=str)
    assert set(got["ID"]) == want_ids and 40 < len(want_ids) < 120 and rep["counts"]["deals"] == len(want_ids)
    ds = load(tmp_path / "p" / "run_config.yaml")
    for g, w in zip(loaded(ds), expected(acc, funnel_keys(tmp_path / "p"), since=lo, until=hi)):
        same(g, w)


# --------------------------------------------------------------------------- secrets and bad input

def _all_text(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_the_token_never_reaches_the_folder(clean):
    blob = _all_text(clean["out"])
    tok = clean["token"]
    assert tok.encode() not in blob and tok[:-2].encode() not in blob and b"Bearer" not in blob


def _bad(tmp_path, **setup):
    with FakeAmo(make_account(n_leads=30)) as fk:
        token = setup.pop("token", fk.token)
        for k, v in setup.pop("fake", {}).items():
            setattr(fk, k, v)
        sub = setup.pop("subdomain", "demo")
        base = setup.pop("base_url", fk.base_url)
        with pytest.raises(PullError) as err:
            amocrm.pull(sub, Secret(token), tmp_path / "p", base_url=base, http_options=fast(max_retries=1), **setup)
        return str(err.value), token


BAD = {
    "wrong_token": ({"token": "amo-WrongToken-0123456789abcdef"}, ["401", "token is wrong, expired or revoked", "long-lived token"]),
    "no_users_right": ({"fake": {"forbidden": {"users"}}}, ["403", "users", "administrator"]),
    "no_tasks_right": ({"fake": {"forbidden": {"tasks"}}}, ["403", "tasks", "view tasks (Задачи: просмотр)"]),
    "blocked": ({"fake": {"blocked": True}}, ["403", "blocked", "unblock"]),
    "unknown_subdomain": ({"subdomain": "nosuchaccount"}, ["404", "no amoCRM account «nosuchaccount»", "check the subdomain"]),
    "no_deals": ({"since": "2030-01-01"}, ["no deals created since 2030-01-01 00:00:00", "Widen --since/--until"]),
    "unreachable": ({"base_url": f"http://127.0.0.1:{closed_port()}/{{subdomain}}"}, ["Cannot reach host 127.0.0.1", "Check the address"]),
    "bad_subdomain": ({"subdomain": "demo account!"}, ["is not an amoCRM subdomain"]),
    "bad_date": ({"since": "01/07/2026"}, ["is not a date", "YYYY-MM-DD"]),
    "unknown_head": ({"head_of_sales": "Нет Такого"}, ["«Нет Такого» is not a user", "Петров Борис Олегович"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gives_one_paragraph_without_the_token(case, tmp_path, capsys):
    setup, words = BAD[case]
    msg, token = _bad(tmp_path, **dict(setup))
    assert "\n" not in msg and "Traceback" not in msg
    for w in words:
        assert w in msg, (case, msg)
    captured = capsys.readouterr()
    for text in (msg, captured.out, captured.err):
        assert token not in text and token[:-2] not in text
    if (tmp_path / "p").exists():
        assert token.encode() not in _all_text(tmp_path / "p")


# --------------------------------------------------------------------------- the command line

def _cli(*args, env=None):
    import os
    import subprocess

    exe = Path(sys.executable).with_name("salesaudit")
    e = {k: v for k, v in os.environ.items() if k != "SALESAUDIT_AMO_TOKEN"}
    e.update(env or {})
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=e, timeout=300)


def test_cli_pulls_then_check_loads_and_errors_are_one_masked_paragraph(tmp_path):
    with FakeAmo(make_account(n_leads=60)) as fk:
        tok = tmp_path / "token.txt"
        tok.write_text(fk.token + "\n", encoding="utf-8")
        out = tmp_path / "data"
        ok = _cli("pull", "amocrm", "--subdomain", "demo", "--token-file", str(tok), "--out", str(out),
                  "--head-of-sales", HEAD, "--base-url", fk.base_url)
        assert ok.returncode == 0, ok.stderr
        assert "deals 60" in ok.stdout and str(out / "run_config.yaml") in ok.stdout
        bad = _cli("pull", "amocrm", "--subdomain", "demo", "--out", str(tmp_path / "x"), "--base-url", fk.base_url,
                   env={"SALESAUDIT_AMO_TOKEN": "amo-Revoked-Token-0123456789"})
    assert bad.returncode == 2 and "401" in bad.stderr and "Traceback" not in bad.stderr
    assert "amo-Revoked-Token-0123456789" not in bad.stderr + bad.stdout and "****…89" in bad.stderr
    check = _cli("check", "--config", str(out / "run_config.yaml"))
    assert check.returncode in (0, 1), check.stderr
    for text in (ok.stdout, ok.stderr, check.stdout, check.stderr):
        assert fk.token not in text
    assert fk.token.encode() not in _all_text(out)
