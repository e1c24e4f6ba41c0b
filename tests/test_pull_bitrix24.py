"""`salesaudit pull bitrix24` against a local Bitrix24 portal (tests/fake_bitrix24.py) built from the demo export.

A real httpx client talks to a real HTTP server on 127.0.0.1; sleeps between retries are
injected (no waiting) except in the rate-limit test, which runs on the real clock.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("httpx")

from fake_bitrix24 import FakeBitrix24, Portal, _cmp_value  # noqa: E402
from local_server import closed_port  # noqa: E402

from salesaudit import load  # noqa: E402
from salesaudit.pull import PullError, Secret, bitrix24  # noqa: E402
from salesaudit.pull.bitrix24 import READ_METHOD  # noqa: E402
from salesaudit.runs.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXPORT_CONFIG = ROOT / "params" / "clients" / "demo_bitrix24.yaml"
NOSLEEP = {"rate_per_sec": 0, "sleep": lambda s: None}


@pytest.fixture(scope="module")
def portal():
    return Portal()


@pytest.fixture(scope="module")
def pulled(portal, tmp_path_factory):
    """One full pull of the demo portal, shared by the read-only checks."""
    out = tmp_path_factory.mktemp("b24") / "pulled"
    with FakeBitrix24(portal) as srv:
        report = bitrix24.pull(Secret(srv.url), out, **NOSLEEP)
        return {"out": out, "report": report, "log": list(srv.log), "code": srv.code, "url": srv.url}


def _export_config_for(folder: Path, tmp: Path) -> Path:
    """The demo_bitrix24 run config (same funnel and stage map), its data pointed at ``folder``."""
    cfg = yaml.safe_load(EXPORT_CONFIG.read_text(encoding="utf-8"))
    cfg["data"] = str(folder)
    cfg["funnel"] = str((EXPORT_CONFIG.parent / cfg["funnel"]).resolve())
    p = tmp / "pulled_as_export.yaml"
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return p


def test_pulled_portal_gives_the_exports_canonical_deals_and_history(pulled, tmp_path):
    exp = load(EXPORT_CONFIG)
    got = load(_export_config_for(pulled["out"], tmp_path))
    d_exp, d_got = exp["deals"].set_index("deal_id"), got["deals"].set_index("deal_id")
    # the export's planted anomalies a portal cannot hold (a row without an id, a second row of an id)
    # are quarantined by the file load; every other deal is kept by both, identically
    assert len(d_exp) == 3270 and len(d_got) >= len(d_exp)
    common = d_exp.index.intersection(d_got.index)
    assert len(common) == len(d_exp)
    for col in ["created_at", "manager", "amount", "currency", "channel", "stage", "outcome", "closed_at", "lost_reason",
                "discount_pct", "payment_terms", "product", "lead_id", "pipeline"]:
        a, b = d_exp.loc[common, col], d_got.loc[common, col]
        same = (a == b) | (a.isna() & b.isna())
        assert same.all(), (col, a[~same].head(3).tolist(), b[~same].head(3).tolist())
    h_exp, h_got = exp["stage_history"], got["stage_history"]
    key = ["deal_id", "stage", "entered_at"]
    m = h_exp[key].merge(h_got[key], how="outer", indicator=True)
    assert len(h_exp) == len(h_got) == 13449
    assert (m["_merge"] == "both").all()
    # leads and activities reach the same canonical rows too
    assert len(got["leads"]) == len(exp["leads"])
    assert len(got["activities"]) == len(exp["activities"])


def test_draft_config_loads_the_pulled_folder(pulled):
    out = pulled["out"]
    draft = out / "run_config.yaml"
    ds = load(draft)
    # every deal the portal holds but the export's planted bad values (quarantined by both loads alike)
    assert len(ds["deals"]) == 3273
    assert len(ds["stage_history"]) == 13450    # the draft's funnel keeps the portal's «Архив» stage, the export's funnel has none
    funnel = yaml.safe_load((out / "funnel_obschaya.yaml").read_text(encoding="utf-8"))
    keys = [s["key"] for s in funnel["stages"]]
    assert keys[:6] == ["new", "preparation", "uc_needs", "uc_offer", "prepayment_invoice", "uc_archive"]
    assert [s.get("terminal") for s in funnel["stages"][6:]] == ["won", "lost", "lost"]
    won = ds["deals"]["outcome"].eq("won").sum()
    raw = pd.read_csv(out / "deals.csv", dtype=str)
    kept = raw[raw["ID"].isin(ds["deals"]["deal_id"].astype(str))]
    assert won == (kept["STAGE_ID"] == "WON").sum() == 832
    # the data-quality page says how complete the pulled history is, from PULL_REPORT.json
    from salesaudit.analysis import quality
    from salesaudit.report import quality as quality_report

    rep = json.loads((out / "PULL_REPORT.json").read_text(encoding="utf-8"))["completeness"]
    q = quality.analyse(ds)
    assert q.pull["deals_starting_at_creation"] == rep["deals_starting_at_creation"] and q.pull["crm"] == "bitrix24"
    text = next(x for x in quality_report.page(q, "en").texts() if x.startswith("The data were pulled from Bitrix24"))
    assert f"Of {rep['deals']:,} deals, {rep['deals_starting_at_creation']:,} ({100 * rep['share_starting_at_creation']:.1f}%)" in text
    assert f"{rep['deals_with_gaps']} have gaps" in text


def test_report_counts_and_completeness(pulled):
    rep = json.loads((pulled["out"] / "PULL_REPORT.json").read_text(encoding="utf-8"))
    assert rep["counts"] == {"activities": 22380, "deals": 3277, "leadhistory": 0, "leads": 5692, "managers": 15,
                             "stagehistory": 13450}
    # independent: deals whose first history row is their creation moment
    d = pd.read_csv(pulled["out"] / "deals.csv", dtype=str)
    h = pd.read_csv(pulled["out"] / "stagehistory.csv", dtype=str)
    first = h.groupby("OWNER_ID")["CREATED_TIME"].min()
    starts = (d.set_index("ID")["Дата создания"] == first.reindex(d["ID"]).values).sum()
    c = rep["completeness"]
    assert c["deals_starting_at_creation"] == starts == 3270
    assert c["deals_without_history"] == d["ID"].isin(h["OWNER_ID"]).__invert__().sum() == 7
    assert c["earliest_history"] == "2025-08-01"
    assert "no author" in rep["moved_by"]


def test_pagination_batches_and_only_read_methods(pulled):
    log = pulled["log"]
    assert all(READ_METHOD.match(m) for _, m, _ in log), {m for _, m, _ in log}
    assert not any(m.split(".")[-1] in ("add", "update", "delete", "set") for _, m, _ in log)
    deal_pages = [p for v, m, p in log if m == "crm.deal.list"]
    assert len(deal_pages) == math.ceil(3277 / 50)                          # every page once
    assert sum(1 for v, m, _ in log if m == "crm.deal.list" and v == "BATCH") == len(deal_pages) - 1
    assert sorted(int(p.get("start") or 0) for p in deal_pages) == list(range(0, 3277, 50))
    assert pulled["report"]["requests"]["batch"] == 2 + 6 + 3 + 1 + 9 - 1  # deals, history, leads, (lead history: 1 page) , activities
    assert pulled["report"]["requests_total"] < 40


def test_webhook_never_reaches_disk(pulled):
    code = pulled["code"]
    for f in pulled["out"].rglob("*"):
        if f.is_file():
            text = f.read_bytes()
            assert code.encode() not in text, f.name
            assert b"/rest/1/" not in text, f.name


def test_limits_5xx_and_slow_answers_are_retried(portal, tmp_path):
    slept = []
    with FakeBitrix24(portal) as srv:
        srv.faults[("crm.deal.list", 0)] = [(503, "QUERY_LIMIT_EXCEEDED"), (500, "INTERNAL_SERVER_ERROR")]
        srv.faults[("crm.lead.list", 100)] = [(503, "QUERY_LIMIT_EXCEEDED")]     # inside a batch
        srv.faults[("crm.activity.list", 0)] = [(429, "OPERATION_TIME_LIMIT")]
        srv.slow[("crm.stagehistory.list", 0)] = 0.3
        rep = bitrix24.pull(Secret(srv.url), tmp_path / "o", rate_per_sec=0, sleep=slept.append, timeout=5)
        assert rep["counts"]["deals"] == 3277 and rep["counts"]["leads"] == 5692
        assert rep["retries"] == 4 and len(slept) == 4 and all(0 < s <= 8 for s in slept)
        assert sum(1 for _, m, p in srv.log if m == "crm.lead.list" and int(p.get("start") or 0) == 100) == 2


def test_timeout_that_persists_is_one_paragraph(portal, tmp_path):
    with FakeBitrix24(portal) as srv:
        srv.slow[("user.get", 0)] = 1.0
        with pytest.raises(PullError) as e:
            bitrix24.pull(Secret(srv.url), tmp_path / "o", timeout=0.2, max_retries=1, **NOSLEEP)
        assert "did not answer user.get within 0.2 s" in str(e.value) and srv.code not in str(e.value)


def test_interrupted_pull_resumes_without_duplicates(portal, tmp_path):
    out = tmp_path / "o"
    with FakeBitrix24(portal) as srv:
        srv.broken.add(("crm.stagehistory.list", 5000))
        with pytest.raises(PullError) as e:
            bitrix24.pull(Secret(srv.url), out, batch_size=20, **NOSLEEP)
        assert "resumes" in str(e.value) and srv.code not in str(e.value)
        part = pd.read_csv(out / "stagehistory.csv", dtype=str)
        assert len(part) == 4050    # the first page and four batches of 20 pages saved before the broken batch
        srv.broken.clear()
        n_before = len(srv.log)
        rep = bitrix24.pull(Secret(srv.url), out, batch_size=20, **NOSLEEP)
        again = srv.log[n_before:]
    assert rep["resumed"] is True
    assert not any(m == "crm.deal.list" for _, m, _ in again)               # deals were done: not fetched again
    starts = sorted(int(p.get("start") or 0) for _, m, p in again if m == "crm.stagehistory.list" and p.get("entityTypeId") in (2, "2"))
    assert starts[0] == 4050
    h = pd.read_csv(out / "stagehistory.csv", dtype=str)
    assert len(h) == 13450 and not h["ID"].duplicated().any()


def test_since_then_everything_and_incremental(tmp_path):
    portal = Portal()
    out = tmp_path / "o"
    with FakeBitrix24(portal) as srv:
        rep = bitrix24.pull(Secret(srv.url), out, since="2026-01-01", **NOSLEEP)
        d = pd.read_csv(out / "deals.csv", dtype=str)
        truth = sum(1 for r in portal.deals
                    if _cmp_value(r["DATE_CREATE"])[0] == 1 and _cmp_value(r["DATE_CREATE"]) >= _cmp_value("2026-01-01T00:00:00+03:00"))
        assert len(d) == truth == rep["counts"]["deals"] == 2094 and (d["Дата создания"] >= "2026-01-01").all()
        rep = bitrix24.pull(Secret(srv.url), out, **NOSLEEP)                # the whole portal into the same folder
        assert rep["counts"]["deals"] == 3277 and rep["incremental_since"] is None
        # the portal changes: one deal moves on; the next pull fetches only what changed since the last one
        deal = next(r for r in portal.deals if r["STAGE_ID"] == "UC_OFFER")
        deal.update(STAGE_ID="WON", CLOSED="Y", DATE_MODIFY="2026-11-02T10:00:00+03:00", CLOSEDATE="2026-11-02T10:00:00+03:00")
        portal.stagehistory[2].append({"ID": "99999", "TYPE_ID": "3", "OWNER_ID": deal["ID"], "CREATED_TIME": "2026-11-02T10:00:00+03:00",
                                       "CATEGORY_ID": "0", "STAGE_SEMANTIC_ID": "S", "STAGE_ID": "WON"})
        portal.now = "2026-11-03T00:00:00+03:00"
        srv.version += 1
        n = len(srv.log)
        rep = bitrix24.pull(Secret(srv.url), out, **NOSLEEP)
        again = srv.log[n:]
    assert rep["incremental_since"] == "2026-10-31T23:00:00+03:00"
    assert sum(1 for _, m, _ in again if m == "crm.deal.list") == 1          # one page of changed deals
    d = pd.read_csv(out / "deals.csv", dtype=str).set_index("ID")
    assert len(d) == 3277 and d.loc[deal["ID"], "STAGE_ID"] == "WON"
    h = pd.read_csv(out / "stagehistory.csv", dtype=str)
    assert len(h) == 13451 and not h["ID"].duplicated().any()


def test_client_keeps_to_the_rate_it_is_given(portal, tmp_path):
    # the server blocks beyond a bucket of 3 draining 10 a second; the client is told 8 a second
    with FakeBitrix24(portal, limit=(3, 10)) as srv:
        t = time.monotonic()
        rep = bitrix24.pull(Secret(srv.url), tmp_path / "o", rate_per_sec=8, sleep=time.sleep)
        took = time.monotonic() - t
        times = [x for x, _ in srv.requests]
    assert rep["retries"] == 0                                  # never hit QUERY_LIMIT_EXCEEDED
    n = len(times)
    assert n == rep["requests_total"]
    # over any second at most 8 requests (+1 for the bucket's first token)
    assert max(sum(1 for y in times if x <= y < x + 1.0) for x in times) <= 9
    assert took >= (n - 1) / 8 * 0.9


# --------------------------------------------------------------------------- the command line and bad input

def _cli(args, capsys, env=None, monkeypatch=None):
    code = main(args)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _one_paragraph(err: str, secret: str):
    assert err.startswith("salesaudit: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and secret not in err


def test_cli_pull_and_help(portal, tmp_path, capsys, monkeypatch):
    with FakeBitrix24(portal) as srv:
        wh = tmp_path / "webhook.txt"
        wh.write_text(srv.url + "\n", encoding="utf-8")
        code, out, err = _cli(["pull", "bitrix24", "--webhook-file", str(wh), "--out", str(tmp_path / "o"), "--rate", "0"], capsys)
        assert code == 0, err
        assert "deals 3277" in out and srv.code not in out + err
        monkeypatch.setenv("SALESAUDIT_B24_WEBHOOK", srv.url)
        for argv in (["pull", "--help"], ["pull", "bitrix24", "--help"]):
            with pytest.raises(SystemExit):
                main(argv)
            h = capsys.readouterr().out
            assert srv.code not in h and "--base-url" not in h and "--rate" not in h
        assert "--webhook-file" in h and "SALESAUDIT_B24_WEBHOOK" in h


@pytest.mark.parametrize("case", ["malformed", "http_remote", "401", "403", "404", "empty_range", "unreachable"])
def test_bad_input_is_one_paragraph(case, portal, tmp_path, capsys):
    code_ = "k0d3s3cr3tw3bh00kx9"
    scopes = ("user", "department") if case == "403" else ("crm", "user", "department", "task")
    with FakeBitrix24(portal, scopes=scopes, missing=case == "404") as srv:
        url = {"malformed": f"{srv.root}/rest/{code_}/",                       # the user id is missing
               "http_remote": f"http://portal.bitrix24.ru/rest/1/{code_}/",
               "401": f"{srv.root}/rest/1/{code_}zz/",
               "unreachable": f"http://127.0.0.1:{closed_port()}/rest/1/{code_}/"}.get(case, srv.url)
        wh = tmp_path / "wh"
        wh.write_text(url, encoding="utf-8")
        argv = ["pull", "bitrix24", "--webhook-file", str(wh), "--out", str(tmp_path / "o"), "--rate", "0"]
        if case == "empty_range":
            argv += ["--since", "2030-01-01"]
        t = time.monotonic()
        code, out, err = _cli(argv, capsys)
        took = time.monotonic() - t
    assert code == 2
    _one_paragraph(err, code_)
    expect = {"malformed": "webhook URL is malformed", "http_remote": "webhook URL is malformed",
              "401": "refused the webhook (NO_AUTH_FOUND)", "403": "has no right «crm»",
              "404": "no Bitrix24 REST API at 127.0.0.1", "empty_range": "has no deals created between 2030-01-01",
              "unreachable": "Cannot reach host 127.0.0.1"}[case]
    assert expect in err
    assert "****…" in err or case in ("empty_range", "unreachable", "401", "403", "404")
    if case == "unreachable":
        assert took < 10          # real backoff, two retries, then the paragraph
    if (tmp_path / "o").exists():
        for f in (tmp_path / "o").rglob("*"):
            assert not f.is_file() or code_.encode() not in f.read_bytes()


def test_secret_file_problems(tmp_path, capsys):
    code, _, err = _cli(["pull", "bitrix24", "--webhook-file", str(tmp_path / "none.txt"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "does not exist" in err
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    code, _, err = _cli(["pull", "bitrix24", "--webhook-file", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "is empty" in err
    shutil.rmtree(tmp_path / "o", ignore_errors=True)


# --------------------------------------------------------------------------- several pipelines
# The portal with a second pipeline (category 3, «Сервисные контракты»): deals created in it and open
# deals of pipeline 0 moved to it mid-life (tests/fake_bitrix24.py, Portal(second_pipeline=True)).
# Every expectation is computed from the fake's own rows, not from the pull.

MULTI_WINDOW = ("2026-10-05", "2026-10-11")      # the week the deals of pipeline 3 were created in


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    portal = Portal(second_pipeline=True)
    base = tmp_path_factory.mktemp("b24multi")
    with FakeBitrix24(portal) as srv:
        report = bitrix24.pull(Secret(srv.url), base / "all", **NOSLEEP)
        week = bitrix24.pull(Secret(srv.url), base / "week", since=MULTI_WINDOW[0], until=MULTI_WINDOW[1], **NOSLEEP)
    return {"portal": portal, "out": base / "all", "report": report, "week_out": base / "week", "week": week}


def _pipelines(portal) -> dict[str, dict]:
    """Per pipeline id: its name, stages in SORT order with their semantics, and its deals (from the fake's rows)."""
    out = {}
    statuses = portal.statuses()
    for c in portal.categories:
        cid = str(c["id"])
        ent = "DEAL_STAGE" if cid == "0" else f"DEAL_STAGE_{cid}"
        stages = sorted((s for s in statuses if s["ENTITY_ID"] == ent), key=lambda s: int(s["SORT"]))
        out[cid] = {"name": c["name"], "stages": stages,
                    "deals": {d["ID"] for d in portal.deals if str(d["CATEGORY_ID"]) == cid}}
    return out


def _history(portal) -> pd.DataFrame:
    ids = {d["ID"] for d in portal.deals}
    h = pd.DataFrame(portal.stagehistory[2]).astype(str)
    return h[h["OWNER_ID"].isin(ids)]


def _moved(portal) -> set[str]:
    h = _history(portal)
    n = h.groupby("OWNER_ID")["CATEGORY_ID"].nunique()
    return set(n[n > 1].index)


def test_multi_portal_is_what_the_tests_need(multi):
    pipes = _pipelines(multi["portal"])
    assert sorted(pipes) == ["0", "3"]
    assert [s["STATUS_ID"] for s in pipes["3"]["stages"]] == ["C3:NEW", "C3:PREPARATION", "C3:EXECUTING", "C3:WON", "C3:LOSE"]
    # the status ids are not in the stages' order: only SORT gives it
    assert [s["STATUS_ID"] for s in sorted(pipes["3"]["stages"], key=lambda s: int(s["ID"]))][0] == "C3:WON"
    moved = _moved(multi["portal"])
    assert len(pipes["0"]["deals"]) == 3257 and len(pipes["3"]["deals"]) == 120 and len(moved) == 20
    assert moved <= pipes["3"]["deals"]


def test_multi_funnel_per_pipeline_in_order_with_terminals(multi):
    rep = multi["report"]
    pipes = _pipelines(multi["portal"])
    assert {p["id"]: p["deals"] for p in rep["pipelines"]} == {cid: len(p["deals"]) for cid, p in pipes.items()} \
        == {"0": 3257, "3": 120}
    files = {p["id"]: p["funnel"] for p in rep["pipelines"]}
    assert len(set(files.values())) == 2
    for cid, p in pipes.items():
        funnel = yaml.safe_load((multi["out"] / files[cid]).read_text(encoding="utf-8"))
        sem = {s["STATUS_ID"]: s["EXTRA"]["SEMANTICS"] for s in p["stages"]}
        want = ([(s["NAME"], None) for s in p["stages"] if sem[s["STATUS_ID"]] == "process"]
                + [(s["NAME"], "won") for s in p["stages"] if sem[s["STATUS_ID"]] == "success"]
                + [(s["NAME"], "lost") for s in p["stages"] if sem[s["STATUS_ID"]] == "failure"])
        assert [(s["label"]["ru"], s.get("terminal")) for s in funnel["stages"]] == want, cid
    f3 = yaml.safe_load((multi["out"] / files["3"]).read_text(encoding="utf-8"))
    assert [s["key"] for s in f3["stages"]] == ["new", "preparation", "executing", "won", "lost"]
    assert [s.get("terminal") for s in f3["stages"]] == [None, None, None, "won", "lost"]


def test_multi_moved_deals_keep_the_stages_of_both_pipelines(multi):
    portal = multi["portal"]
    cols = ["ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "CATEGORY_ID", "STAGE_SEMANTIC_ID", "STAGE_ID"]
    want = _history(portal)[cols].sort_values("ID").reset_index(drop=True)
    got = pd.read_csv(multi["out"] / "stagehistory.csv", dtype=str, keep_default_na=False)[cols]
    got = got.sort_values("ID").reset_index(drop=True)
    assert len(got) == len(want) == multi["report"]["counts"]["stagehistory"] == 13749
    pd.testing.assert_frame_equal(got, want)
    moved = _moved(portal)
    assert multi["report"]["deals_moved_between_pipelines"] == len(moved) == 20
    deals = pd.read_csv(multi["out"] / "deals.csv", dtype=str, keep_default_na=False).set_index("ID")
    for did in moved:
        rows = got[got["OWNER_ID"] == did].sort_values("CREATED_TIME")
        move = rows[rows["TYPE_ID"] == "5"]
        assert len(move) == 1 and move["CATEGORY_ID"].iloc[0] == "3" and move["STAGE_ID"].iloc[0] == "C3:NEW"
        before = rows[rows["CREATED_TIME"] < move["CREATED_TIME"].iloc[0]]
        after = rows[rows["CREATED_TIME"] >= move["CREATED_TIME"].iloc[0]]
        assert len(before) >= 2 and (before["CATEGORY_ID"] == "0").all() and before["TYPE_ID"].iloc[0] == "1"
        assert (after["CATEGORY_ID"] == "3").all() and after["STAGE_ID"].str.startswith("C3:").all()
        assert deals.loc[did, "CATEGORY_ID"] == "3" and deals.loc[did, "STAGE_ID"] == rows["STAGE_ID"].iloc[-1]
        assert deals.loc[did, "Воронка"] == "Сервисные контракты"
    # a moved deal's history still starts at its creation: completeness counts it whole
    comp = multi["report"]["completeness"]
    d = pd.read_csv(multi["out"] / "deals.csv", dtype=str)
    first = got.groupby("OWNER_ID")["CREATED_TIME"].min()
    assert comp["deals_starting_at_creation"] == int((d.set_index("ID")["Дата создания"] == first.reindex(d["ID"]).values).sum()) == 3370


def _draft(folder: Path) -> dict:
    return yaml.safe_load((folder / "run_config.yaml").read_text(encoding="utf-8"))


def test_multi_draft_picks_the_biggest_pipeline(multi):
    portal = multi["portal"]
    pipes = _pipelines(portal)
    files = {p["id"]: p["funnel"] for p in multi["report"]["pipelines"]}
    # the whole portal: pipeline 0 is the biggest
    size = {cid: len(p["deals"]) for cid, p in pipes.items()}
    big = max(size, key=size.get)
    draft = _draft(multi["out"])
    assert big == "0" and draft["pipeline"] == pipes[big]["name"] == "Общая" and draft["funnel"] == files[big]
    assert set(draft["stage_map"]) == {s["STATUS_ID"] for s in pipes[big]["stages"]}
    # the week pipeline 3's deals were created in: pipeline 3 is the biggest there
    lo, hi = _cmp_value(f"{MULTI_WINDOW[0]}T00:00:00+03:00"), _cmp_value(f"{MULTI_WINDOW[1]}T23:59:59+03:00")
    in_week = {cid: sum(1 for d in portal.deals if d["ID"] in p["deals"] and _cmp_value(d["DATE_CREATE"])[0] == 1
                        and lo <= _cmp_value(d["DATE_CREATE"]) <= hi) for cid, p in pipes.items()}
    assert in_week == {p["id"]: p["deals"] for p in multi["week"]["pipelines"]} == {"0": 69, "3": 99}
    big = max(in_week, key=in_week.get)
    week = _draft(multi["week_out"])
    assert big == "3" and week["pipeline"] == pipes["3"]["name"] == "Сервисные контракты"
    assert week["funnel"] == {p["id"]: p["funnel"] for p in multi["week"]["pipelines"]}["3"] == "funnel_servisnye_kontrakty.yaml"
    assert {k: v for k, v in week["stage_map"].items() if k.startswith("C3:")} == {
        "C3:NEW": "new", "C3:PREPARATION": "preparation", "C3:EXECUTING": "executing", "C3:WON": "won", "C3:LOSE": "lost"}
    assert load(multi["week_out"] / "run_config.yaml")["deals"]["deal_id"].astype(str).isin(pipes["3"]["deals"]).all()


def _reasons(ds, table: str) -> pd.Series:
    q = ds.quarantine
    return q.loc[q["table"] == table, "reason"].value_counts()


def test_multi_draft_quarantines_the_other_pipeline_as_such(multi):
    portal = multi["portal"]
    pipes = _pipelines(portal)
    hist = _history(portal)
    ds = load(multi["out"] / "run_config.yaml")
    deals = _reasons(ds, "deals")
    # every deal of pipeline 3 (the moved ones included) is other_pipeline, not unknown_stage
    assert deals.get("other_pipeline") == len(pipes["3"]["deals"]) == 120
    assert "unknown_stage" not in deals
    q = ds.quarantine[(ds.quarantine["table"] == "deals") & (ds.quarantine["reason"] == "other_pipeline")]
    assert (q["value"] == "Сервисные контракты").all()
    # and their history, the rows of pipeline 0 of the moved deals included, is deal_quarantined
    h3 = hist[hist["OWNER_ID"].isin(pipes["3"]["deals"])]
    assert _reasons(ds, "stage_history").to_dict() == {"deal_quarantined": len(h3)} and len(h3) == 379
    assert int((h3["CATEGORY_ID"] == "0").sum()) == 80
    # what stays is pipeline 0: its deals but the export's planted bad values, and all their history
    kept = set(ds["deals"]["deal_id"].astype(str))
    other_reasons = int(deals.drop("other_pipeline").sum())
    assert kept <= pipes["0"]["deals"] and len(kept) == len(pipes["0"]["deals"]) - other_reasons == 3253
    assert len(ds["stage_history"]) == int(hist["OWNER_ID"].isin(kept).sum()) == 13370


@pytest.mark.parametrize("select", ["name", "id"])  # the pipeline's name (Воронка) or its id (CATEGORY_ID)
def test_multi_other_pipeline_audited_with_its_funnel(multi, tmp_path, select):
    portal = multi["portal"]
    pipes = _pipelines(portal)
    hist = _history(portal)
    cfg = _draft(multi["out"])
    cfg.pop("stage_map")
    cfg["funnel"] = str(multi["out"] / {p["id"]: p["funnel"] for p in multi["report"]["pipelines"]}["3"])
    cfg["data"] = str(multi["out"])
    cfg["pipeline"] = pipes["3"]["name"] if select == "name" else 3
    path = tmp_path / "pipeline3.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    ds = load(path)
    d = ds["deals"].assign(deal_id=ds["deals"]["deal_id"].astype(str)).set_index("deal_id")
    assert set(d.index) == pipes["3"]["deals"] and len(d) == 120
    stage = {x["ID"]: x["STAGE_ID"] for x in portal.deals if x["ID"] in pipes["3"]["deals"]}
    assert (d["outcome"] == "won").sum() == sum(1 for s in stage.values() if s == "C3:WON") == 26
    assert (d["outcome"] == "lost").sum() == sum(1 for s in stage.values() if s == "C3:LOSE") == 20
    assert (d["stage"] == d.index.map(lambda i: stage[i].split(":")[1].lower().replace("lose", "lost"))).all()
    deals = _reasons(ds, "deals")
    assert deals.get("other_pipeline") == len(pipes["0"]["deals"]) - int(deals.drop("other_pipeline").sum()) == 3253
    # every row of pipeline 3 is kept
    h = ds["stage_history"].assign(deal_id=ds["stage_history"]["deal_id"].astype(str))
    h3 = hist[hist["CATEGORY_ID"] == "3"]
    assert len(h3) == 299
    got = set(zip(h["deal_id"], h["entered_at"]))
    assert all((o, pd.Timestamp(t).tz_convert("Europe/Moscow").tz_localize(None)) in got
               for o, t in zip(h3["OWNER_ID"], h3["CREATED_TIME"]))


def test_multi_moved_deals_rows_of_the_old_pipeline_are_set_aside(multi, tmp_path):
    pipes = _pipelines(multi["portal"])
    hist = _history(multi["portal"])
    cfg = _draft(multi["out"])
    cfg.pop("stage_map")
    cfg["funnel"] = str(multi["out"] / "funnel_servisnye_kontrakty.yaml")
    cfg["data"] = str(multi["out"])
    cfg["pipeline"] = pipes["3"]["name"]
    path = tmp_path / "pipeline3.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    ds = load(path)
    assert len(ds["stage_history"]) == int((hist["CATEGORY_ID"] == "3").sum()) == 299
    reasons = _reasons(ds, "stage_history")
    assert "unknown_stage" not in reasons
    # the moved deals' rows in pipeline 0, before their move: set aside as another pipeline's
    moved = set(hist.loc[hist["CATEGORY_ID"] == "3", "OWNER_ID"]) & set(hist.loc[hist["CATEGORY_ID"] == "0", "OWNER_ID"])
    assert reasons.get("other_pipeline") == int((hist["OWNER_ID"].isin(moved) & (hist["CATEGORY_ID"] == "0")).sum()) == 80


def test_multi_pipelines_of_the_same_name_keep_a_funnel_each(tmp_path):
    portal = Portal(second_pipeline=True)
    portal.categories[1]["name"] = "ОБЩАЯ"          # Bitrix24 lets two pipelines share a name
    with FakeBitrix24(portal) as srv:
        rep = bitrix24.pull(Secret(srv.url), tmp_path / "o", **NOSLEEP)
    files = {p["id"]: p["funnel"] for p in rep["pipelines"]}
    assert files == {"0": "funnel_obschaya.yaml", "3": "funnel_obschaya_3.yaml"}
    pipes = _pipelines(portal)
    for cid, f in files.items():
        funnel = yaml.safe_load((tmp_path / "o" / f).read_text(encoding="utf-8"))
        assert [s["label"]["ru"] for s in funnel["stages"]] == [s["NAME"] for s in pipes[cid]["stages"]
                                                                  if s["EXTRA"]["SEMANTICS"] == "process"] + \
            [s["NAME"] for s in pipes[cid]["stages"] if s["EXTRA"]["SEMANTICS"] == "success"] + \
            [s["NAME"] for s in pipes[cid]["stages"] if s["EXTRA"]["SEMANTICS"] == "failure"]
    assert any("have the same name" in w and "'Общая (0)'" in w and "'ОБЩАЯ (3)'" in w for w in rep["warnings"])


@pytest.mark.notebook
@pytest.mark.slow
def test_the_audit_runs_on_a_pulled_portal(pulled, tmp_path):
    """The draft a pull writes, with the audited period set, runs through the real runner: the data-quality, funnel,
    stalls and leads notebooks on the pulled folder, their key figures equal to the fake portal's own counts."""
    from salesaudit.runs.runner import run

    cfg = yaml.safe_load((pulled["out"] / "run_config.yaml").read_text(encoding="utf-8"))
    cfg.update({"data": str(pulled["out"]), "period": "2026-10", "as_of": "2026-10-31 23:59:59", "language": "en"})
    if not Path(cfg["funnel"]).is_absolute():
        cfg["funnel"] = str(pulled["out"] / cfg["funnel"])
    config = tmp_path / "client.yaml"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    notebooks = ["00_data_quality", "01_funnel", "02_stage_stalls", "03_leads"]
    result = run(config, out_dir=tmp_path / "report", notebooks=notebooks, progress=False)
    assert result.ok, [(n.stem, n.error) for n in result.notebooks]
    rec = {n.stem: n.records for n in result.notebooks}
    raw = pd.read_csv(pulled["out"] / "deals.csv", dtype=str)
    assert rec["00_data_quality"]["all_balanced"] is True
    assert rec["00_data_quality"]["rows_input"] >= len(raw)
    ds = load(config)
    kept = raw[raw["ID"].isin(ds["deals"]["deal_id"].astype(str))]  # the portal's deals but its planted bad values
    assert rec["01_funnel"]["deals"] == len(ds["deals"]) and rec["01_funnel"]["won"] == int((kept["STAGE_ID"] == "WON").sum()) == 832
    assert rec["02_stage_stalls"]["stays_source"] == "stage_history"
    # every lead the portal holds but the planted one with a date no calendar has (106691, quarantined as in the export)
    assert rec["03_leads"]["leads_total"] == len(ds["leads"]) == len(pd.read_csv(pulled["out"] / "leads.csv", dtype=str)) - 1
    assert (tmp_path / "report" / "index.html").is_file()
