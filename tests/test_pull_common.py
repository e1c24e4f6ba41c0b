"""The CRM-neutral pieces of `salesaudit.pull`: secrets, keyed tables, state, funnels, completeness, the HTTP client."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

pytest.importorskip("httpx")

from salesaudit.data.params import load_funnel  # noqa: E402
from salesaudit.pull import Http, PullError, Secret, State, Store, completeness, mask, write_funnel  # noqa: E402

HOOK = "https://portal.bitrix24.ru/rest/1/abcdefghijk3/"


def test_secret_is_masked_everywhere(tmp_path, monkeypatch):
    s = Secret(HOOK)
    assert str(s) == "https://portal.bitrix24.ru/rest/1/****…k3/" and "abcdefghijk3" not in repr(s)
    assert Secret("tok_0123456789xy").masked() == "****…xy"
    text = f"GET {HOOK}crm.deal.list failed; code=abcdefghijk3; enc={HOOK.replace('/', '%2F').replace(':', '%3A')}"
    out = mask(text, [s])
    assert "abcdefghijk3" not in out and out.count("****…k3") == 3
    f = tmp_path / "wh.txt"
    f.write_text("\n" + HOOK + "\n", encoding="utf-8")
    assert Secret.from_file(f).reveal() == HOOK
    monkeypatch.setenv("X_HOOK", HOOK)
    assert Secret.from_env("X_HOOK") == s
    monkeypatch.delenv("X_HOOK")
    with pytest.raises(PullError, match="X_HOOK is not set"):
        Secret.from_env("X_HOOK")


def test_store_upserts_by_key_across_runs(tmp_path):
    st = Store(tmp_path, "deals", "ID")
    assert st.upsert([{"ID": "1", "a": "x"}, {"ID": "2", "a": "y"}]) == 2
    st.flush()
    st2 = Store(tmp_path, "deals", "ID")
    assert st2.upsert([{"ID": "2", "a": "z", "b": "new"}, {"ID": "3", "a": "w"}]) == 1
    st2.flush()
    f = pd.read_csv(tmp_path / "deals.csv", dtype=str, keep_default_na=False)
    assert f["ID"].tolist() == ["1", "2", "3"] and f.set_index("ID").loc["2", "a"] == "z" and f.set_index("ID").loc["2", "b"] == "new"


def test_state_resumes_only_the_same_unfinished_range(tmp_path):
    s = State(tmp_path)
    assert s.begin("2025-01-01", None) is False
    s.set("deals", {"start": 100})
    s.done("users")
    s2 = State(tmp_path)
    assert s2.begin("2025-01-01", None) is True and s2.get("deals") == {"start": 100} and s2.is_done("users")
    s2.finish()
    s3 = State(tmp_path)
    assert s3.begin("2025-01-01", None) is False and s3.get("deals") == {} and s3.finished_at


def test_write_funnel_orders_terminals_and_loads(tmp_path):
    stages = [{"key": "new", "label_ru": "Новая", "label_en": "New", "kind": "open"},
              {"key": "lost", "label_ru": "Провал", "label_en": "Lost", "kind": "lost"},
              {"key": "won", "label_ru": "Успех", "label_en": "Won", "kind": "won"},
              {"key": "offer", "label_ru": "КП", "label_en": "Offer", "kind": "open"}]
    f = load_funnel(write_funnel(tmp_path, "Общая", stages))
    assert f.keys == ["new", "offer", "won", "lost"] and f.won == "won" and f.lost == "lost"
    with pytest.raises(PullError, match="no won stage"):
        write_funnel(tmp_path, "x", [s for s in stages if s["kind"] != "won"])


def test_completeness_against_hand_count():
    deals = pd.DataFrame({"deal_id": ["1", "2", "3", "4"], "stage": ["won", "b", "a", "a"],
                          "created_at": ["2025-01-01T10:00:00+03:00"] * 4})
    hist = pd.DataFrame({"deal_id": ["1", "1", "2", "3"], "stage": ["a", "won", "a", "a"],
                         "entered_at": ["2025-01-01T10:00:30+03:00", "2025-01-02T10:00:00+03:00",
                                        "2025-01-01T10:00:00+03:00", "2025-01-03T10:00:00+03:00"]})
    c = completeness(deals, hist)
    # 1: starts at creation, ends in its stage; 2: starts, but ends elsewhere (a gap); 3: starts late; 4: none
    assert c["deals_starting_at_creation"] == 2 and c["share_starting_at_creation"] == 0.5
    assert c["deals_without_history"] == 1 and c["deals_with_gaps"] == 3 and c["gap_deal_ids"] == ["2", "3", "4"]
    assert c["earliest_history"] == "2025-01-01"


class _Server:
    """A tiny JSON server answering a scripted list of (status, headers, body) per request."""

    def __init__(self, script):
        self.script = list(script)
        self.hits = 0
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.hits += 1
                status, headers, body = srv.script.pop(0) if srv.script else (200, {}, {"ok": True})
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/secret-token-123456/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_http_retries_429_with_retry_after_and_5xx_then_fails_masked():
    srv = _Server([(429, {"Retry-After": "3"}, {}), (502, {}, {}), (200, {}, {"x": 1})])
    slept = []
    sec = Secret(srv.url)
    try:
        h = Http(srv.url, secrets=[sec], rate_per_sec=0, sleep=slept.append)
        assert h.get("leads") == {"x": 1} and h.calls["leads"] == 3
        assert slept[0] == 3.0 and 0 < slept[1] <= 1.0
        srv.script = [(401, {}, {"error": "nope"})]
        with pytest.raises(PullError) as e:
            h.get("leads")
        assert "HTTP 401" in str(e.value) and "secret-token-123456" not in str(e.value)
        srv.script = [(500, {}, {})] * 3
        with pytest.raises(PullError, match="after 3 attempts"):
            Http(srv.url, secrets=[sec], rate_per_sec=0, sleep=slept.append, max_retries=2).get("x")
    finally:
        srv.close()


def test_token_bucket_spaces_requests_on_a_fake_clock():
    srv = _Server([])
    now = [0.0]

    def sleep(s):
        now[0] += s

    try:
        h = Http(srv.url, secrets=[], rate_per_sec=4, sleep=sleep, clock=lambda: now[0])
        for _ in range(9):
            h.get("p")
        gaps = [b - a for a, b in zip(h.sent_at, h.sent_at[1:])]
        assert all(g >= 0.25 - 1e-9 for g in gaps) and h.sent_at[-1] == pytest.approx(2.0)
    finally:
        srv.close()
