"""A local amoCRM: API v4 over real HTTP on 127.0.0.1, serving a synthetic account.

The server speaks the protocol as amoCRM's public documentation describes it:

- ``GET /api/v4/<entity>`` with ``Authorization: Bearer <long-lived token>``;
- ``page`` / ``limit`` pagination (``limit`` up to 250, up to 100 for ``events``), ``_page``,
  ``_links.self`` / ``_links.next`` (absent on the last page), ``_embedded.<entity>``;
  **event pages come back shorter than asked although more exist** (every second page);
- ``204 No Content`` (empty body) for an empty list;
- ``filter[created_at][from|to]``, ``filter[updated_at][from|to]``, ``filter[type]``
  (``a,b`` or ``filter[type][]``), ``filter[entity]``, ``filter[note_type][]``, ``with=``;
- errors as ``application/problem+json`` (``title``, ``type``, ``status``, ``detail``):
  401 for a wrong token, 403 for a method the user has no right to (``users`` needs an
  administrator), 404 for an account (subdomain) that does not exist, 429 past the rate limit;
- every URL lives under ``/<subdomain>/``, so a client's base URL ``http://127.0.0.1:PORT/{subdomain}``
  stands for ``https://<subdomain>.amocrm.ru``.

The account (:func:`make_account`) is generated deterministically: 3 users, 2 pipelines with
their own stages, about 200 deals (some moved between pipelines, some moved back a stage),
their ``lead_status_changed`` events, tasks and call notes. :meth:`Account.mutate` adds
deals, moves and tasks later in time (an incremental pull must pick them up).

Tests script faults: ``server.faults[("events", n)] = 429`` answers the n-th request of that
entity with 429 (or 500, or ``"slow"``: a delayed answer, or ``"die"``: 503 from then on).
``server.log`` records (verb, entity, query, status, time) of every request.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlsplit

from local_server import LocalServer

MSK = dt.timezone(dt.timedelta(hours=3))
START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=MSK)
FIRST_END = dt.datetime(2026, 10, 20, 18, 0, tzinfo=MSK)   # the account as first pulled
LATER_END = dt.datetime(2026, 10, 27, 18, 0, tzinfo=MSK)   # after mutate()

WON, LOST = 142, 143


def ts(d: dt.datetime) -> int:
    return int(d.timestamp())


@dataclass
class Account:
    subdomain: str = "demo"
    account_id: int = 30110011
    timezone: str = "Europe/Moscow"
    currency: str = "RUB"
    users: dict = field(default_factory=dict)             # id -> name
    pipelines: list = field(default_factory=list)          # API objects
    loss_reasons: list = field(default_factory=list)
    leads: dict = field(default_factory=dict)              # id -> API object (without _links)
    events: list = field(default_factory=list)             # lead_status_changed, API objects
    tasks: list = field(default_factory=list)
    notes: list = field(default_factory=list)              # call_in / call_out notes of leads
    rng: random.Random = field(default_factory=lambda: random.Random(15))
    _ids: Counter = field(default_factory=Counter)

    # ----- lookups
    def statuses(self, pipeline_id: int) -> list[dict]:
        p = next(p for p in self.pipelines if p["id"] == pipeline_id)
        return p["_embedded"]["statuses"]

    def status_name(self, pipeline_id: int, status_id: int) -> str:
        return next(s["name"] for s in self.statuses(pipeline_id) if s["id"] == status_id)

    def open_statuses(self, pipeline_id: int) -> list[int]:
        return [s["id"] for s in sorted(self.statuses(pipeline_id), key=lambda s: s["sort"]) if s["id"] not in (WON, LOST)]

    def next_id(self, kind: str, base: int) -> int:
        self._ids[kind] += 1
        return base + self._ids[kind] * 3   # ids with holes, as in a real account

    # ----- changes
    def move(self, lead: dict, when: dt.datetime, status_id: int, pipeline_id: int, by: int) -> None:
        before = {"lead_status": {"id": lead["status_id"], "pipeline_id": lead["pipeline_id"]}}
        after = {"lead_status": {"id": status_id, "pipeline_id": pipeline_id}}
        eid = f"01k{self.next_id('event', 0):023d}"
        self.events.append({"id": eid, "type": "lead_status_changed", "entity_id": lead["id"], "entity_type": "lead",
                            "created_by": by, "created_at": ts(when), "value_after": [after], "value_before": [before],
                            "account_id": self.account_id, "_embedded": {"entity": {"id": lead["id"]}}})
        lead["status_id"], lead["pipeline_id"] = status_id, pipeline_id
        lead["updated_at"] = max(lead["updated_at"], ts(when))
        lead["updated_by"] = by
        if status_id in (WON, LOST):
            lead["closed_at"] = ts(when)
            if status_id == LOST and self.rng.random() < 0.8:
                lead["loss_reason_id"] = self.rng.choice(self.loss_reasons)["id"]
        else:
            lead["closed_at"] = None
            lead["loss_reason_id"] = None

    def add_lead(self, created: dt.datetime, end: dt.datetime) -> dict:
        r = self.rng
        pipeline_id = 7001 if r.random() < 0.68 else 7002
        opens = self.open_statuses(pipeline_id)
        start_status = opens[0] if r.random() < 0.5 else opens[1]
        owner = r.choice(list(self.users))
        creator = owner if r.random() < 0.8 else 0
        lid = self.next_id("lead", 21000000)
        fields = []
        if r.random() < 0.9:
            fields.append({"field_id": 550011, "field_name": "Товар", "field_code": None, "field_type": "select",
                           "values": [{"value": r.choice(["Лицензия", "Внедрение", "Поддержка"]), "enum_id": 1}]})
        if r.random() < 0.85:
            fields.append({"field_id": 550013, "field_name": "Источник", "field_code": None, "field_type": "select",
                           "values": [{"value": r.choice(["Сайт", "Звонок", "Рекомендация", "Выставка"]), "enum_id": 2}]})
        lead = {"id": lid, "name": f"Сделка #{lid}", "price": r.randrange(40, 900) * 1000, "responsible_user_id": owner,
                "group_id": 0, "status_id": start_status, "pipeline_id": pipeline_id, "loss_reason_id": None,
                "created_by": creator, "updated_by": creator, "created_at": ts(created), "updated_at": ts(created),
                "closed_at": None, "closest_task_at": None, "is_deleted": False, "custom_fields_values": fields or None,
                "score": None, "account_id": self.account_id, "labor_cost": None,
                "_embedded": {"tags": [{"id": 9001, "name": "b2b", "color": None}] if r.random() < 0.3 else [], "companies": []}}
        self.leads[lid] = lead
        self.walk(lead, created, end)
        self.add_activities(lead, created, end)
        return lead

    def walk(self, lead: dict, t: dt.datetime, end: dt.datetime, steps: int | None = None) -> None:
        """Moves through the pipeline: forward, sometimes back a stage, sometimes to the other pipeline, often to a terminal."""
        r = self.rng
        steps = r.randrange(0, 6) if steps is None else steps
        for _ in range(steps):
            if lead["status_id"] in (WON, LOST):
                break
            t = t + dt.timedelta(hours=r.randrange(2, 120), minutes=r.randrange(0, 60))
            if t >= end:
                break
            by = lead["responsible_user_id"] if r.random() < 0.75 else r.choice([0] + list(self.users))
            opens = self.open_statuses(lead["pipeline_id"])
            i = opens.index(lead["status_id"])
            u = r.random()
            if u < 0.12 and i > 1:                     # moved back
                self.move(lead, t, opens[i - 1], lead["pipeline_id"], by)
            elif u < 0.19:                              # to the other pipeline, into one of its stages
                other = 7002 if lead["pipeline_id"] == 7001 else 7001
                self.move(lead, t, r.choice(self.open_statuses(other)[1:]), other, by)
            elif u < 0.42:
                self.move(lead, t, WON if r.random() < 0.45 else LOST, lead["pipeline_id"], by)
            elif i + 1 < len(opens):
                self.move(lead, t, opens[i + 1], lead["pipeline_id"], by)

    def add_activities(self, lead: dict, created: dt.datetime, end: dt.datetime) -> None:
        r = self.rng
        for _ in range(r.randrange(0, 4)):
            c = created + dt.timedelta(hours=r.randrange(1, 200))
            if c >= end:
                continue
            till = c + dt.timedelta(days=r.randrange(1, 6))
            done = c + dt.timedelta(hours=r.randrange(1, 150))
            completed = done < end and r.random() < 0.7
            self.tasks.append({"id": self.next_id("task", 5100000), "created_by": lead["responsible_user_id"],
                               "updated_by": lead["responsible_user_id"], "created_at": ts(c),
                               "updated_at": ts(done) if completed else ts(c), "responsible_user_id": lead["responsible_user_id"],
                               "group_id": 0, "entity_id": lead["id"], "entity_type": "leads", "duration": 0,
                               "is_completed": completed, "task_type_id": 2 if r.random() < 0.25 else 1,
                               "text": "Связаться с клиентом", "result": {"text": "Готово"} if completed else [],
                               "complete_till": ts(till), "account_id": self.account_id})
        for _ in range(r.randrange(0, 5)):
            c = created + dt.timedelta(hours=r.randrange(0, 240), minutes=r.randrange(0, 60))
            if c >= end:
                continue
            user = lead["responsible_user_id"] if r.random() < 0.85 else r.choice(list(self.users))
            self.notes.append({"id": self.next_id("note", 8100000), "entity_id": lead["id"], "created_by": user,
                               "updated_by": user, "created_at": ts(c), "updated_at": ts(c), "responsible_user_id": user,
                               "group_id": 0, "note_type": r.choice(["call_in", "call_out"]), "is_deleted": False,
                               "params": {"uniq": f"c{r.randrange(10**8)}", "duration": r.randrange(0, 900), "source": "telephony",
                                          "link": "", "phone": "+7900" + str(r.randrange(10**6, 10**7)), "call_status": 4},
                               "account_id": self.account_id})

    def mutate(self) -> dict:
        """A week later: new deals, moves of open deals, tasks completed. Returns what changed (ids)."""
        r = self.rng
        t0 = FIRST_END + dt.timedelta(hours=1)
        moved = []
        for lead in sorted(self.leads.values(), key=lambda x: x["id"]):
            if lead["status_id"] not in (WON, LOST) and len(moved) < 12:
                opens = self.open_statuses(lead["pipeline_id"])
                i = opens.index(lead["status_id"])
                nxt = opens[i + 1] if i + 1 < len(opens) else WON
                self.move(lead, t0 + dt.timedelta(minutes=37 * len(moved)), nxt, lead["pipeline_id"], lead["responsible_user_id"])
                moved.append(lead["id"])
        completed = []
        for task in self.tasks:
            if not task["is_completed"] and len(completed) < 5:
                task["is_completed"] = True
                task["updated_at"] = ts(t0 + dt.timedelta(hours=2, minutes=len(completed)))
                task["result"] = {"text": "Готово"}
                completed.append(task["id"])
        new = [self.add_lead(t0 + dt.timedelta(days=1, hours=3 * k), LATER_END)["id"] for k in range(6)]
        del r
        return {"moved": moved, "completed": completed, "new": new}


def make_account(n_leads: int = 200, seed: int = 15) -> Account:
    a = Account(rng=random.Random(seed))
    a.users = {1001: "Иванова Анна Сергеевна", 1002: "Петров Борис Олегович", 1003: "Сидорова Вера Павловна"}

    def st(pid, sid, name, sort, typ=0):
        return {"id": sid, "name": name, "sort": sort, "is_editable": sid not in (WON, LOST), "pipeline_id": pid,
                "color": "#fffeb2", "type": typ, "account_id": a.account_id}

    sales = [st(7001, 70014, "Согласование договора", 50), st(7001, 70011, "Первичный контакт", 20),
             st(7001, WON, "Успешно реализовано", 10000), st(7001, 70010, "Неразобранное", 10, 1),
             st(7001, 70012, "Переговоры", 30), st(7001, LOST, "Закрыто и не реализовано", 11000),
             st(7001, 70013, "Принимают решение", 40)]
    repeat = [st(7002, 70020, "Неразобранное", 10, 1), st(7002, 70021, "Квалификация", 20),
              st(7002, 70023, "Счёт выставлен", 40), st(7002, 70022, "Коммерческое предложение", 30),
              st(7002, WON, "Успешно реализовано", 10000), st(7002, LOST, "Закрыто и не реализовано", 11000)]
    a.pipelines = [
        {"id": 7001, "name": "Продажи", "sort": 1, "is_main": True, "is_unsorted_on": True, "is_archive": False,
         "account_id": a.account_id, "_embedded": {"statuses": sales}},
        {"id": 7002, "name": "Повторные продажи", "sort": 2, "is_main": False, "is_unsorted_on": True, "is_archive": False,
         "account_id": a.account_id, "_embedded": {"statuses": repeat}},
    ]
    a.loss_reasons = [{"id": 60001, "name": "Дорого", "sort": 1}, {"id": 60002, "name": "Выбрали конкурента", "sort": 2},
                      {"id": 60003, "name": "Нет бюджета", "sort": 3}]
    r = a.rng
    span = (FIRST_END - dt.timedelta(days=3) - START).total_seconds()
    created = sorted(START + dt.timedelta(seconds=r.randrange(int(span))) for _ in range(n_leads))
    for c in created:
        a.add_lead(c, FIRST_END)
    return a


# --------------------------------------------------------------------------- the server

def _filters(q: dict) -> dict:
    """``filter[a][b]=v`` / ``filter[a][]=v`` / ``filter[a]=v`` -> {"a": {"b": v} | [v...] | v}."""
    out: dict = {}
    for k, vals in q.items():
        if not k.startswith("filter["):
            continue
        parts = [p.rstrip("]") for p in k[len("filter["):].split("[")]
        name = parts[0]
        if len(parts) == 1:
            out[name] = vals[-1].split(",") if name in ("type", "entity", "note_type") else vals[-1]
        elif parts[1] == "":
            out.setdefault(name, [])
            for v in vals:
                out[name].extend(v.split(","))
        else:
            out.setdefault(name, {})[parts[1]] = vals[-1]
    return out


def _in_range(value, spec) -> bool:
    if spec is None:
        return True
    if value is None:
        return False
    if isinstance(spec, dict):
        lo, hi = spec.get("from"), spec.get("to")
        return (lo is None or value >= int(lo)) and (hi is None or value <= int(hi))
    return value >= int(spec)


class FakeAmo(LocalServer):
    """The HTTP server in a thread; ``base_url`` is the client's ``{subdomain}`` template."""

    ADMIN_ONLY = {"users"}

    def __init__(self, account: Account | None = None, token: str = "amo-LongLivedToken.eyJ0eXAi.Z3k9sEcReT",
                 rate_limit: float | None = None, event_short_every: int = 2):
        self.account = account or make_account()
        self.token = token
        self.rate_limit = rate_limit          # requests a second; None: no limit
        self.event_short_every = event_short_every
        self.faults: dict = {}
        self.forbidden: set = set()           # entities answered 403 (the user lacks the right)
        self.blocked = False                  # the whole account blocked (403)
        self.slow_seconds = 0.6
        self.log: list[tuple] = []
        self.count: Counter = Counter()
        self._lock = threading.Lock()
        self._recent: list[float] = []
        self._dead = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _any(self):
                fake._handle(self)

            do_GET = _any
            do_POST = do_PATCH = do_PUT = do_DELETE = _any

        self._serve(Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{subdomain}}"

    # ----- plumbing
    def _send(self, h, status: int, body=None, headers: dict | None = None):
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        h.send_response(status)
        ctype = "application/problem+json" if status >= 400 else "application/hal+json"
        if status != 204:
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if status != 204:
            h.wfile.write(data)

    def _problem(self, h, status: int, title: str, detail: str, headers=None):
        self._send(h, status, {"title": title, "type": f"https://httpstatus.es/{status}", "status": status, "detail": detail}, headers)

    def _handle(self, h):
        u = urlsplit(h.path)
        q = parse_qs(u.query, keep_blank_values=True)
        parts = [p for p in u.path.split("/") if p]
        sub = parts[0] if parts else ""
        entity = "/".join(parts[3:]) if len(parts) > 3 and parts[1:3] == ["api", "v4"] else "/".join(parts[1:])
        status = self._route(h, h.command, sub, entity, q)
        with self._lock:
            self.log.append((h.command, entity, {k: v if len(v) > 1 else v[0] for k, v in q.items()}, status, time.monotonic(),
                             h.headers.get("Authorization", "")))

    def _route(self, h, verb, sub, entity, q) -> int:
        with self._lock:
            self.count[entity] += 1
            n = self.count[entity]
            now = time.monotonic()
            self._recent = [t for t in self._recent if now - t < 1.0]
            self._recent.append(now)
            over = self.rate_limit is not None and len(self._recent) > self.rate_limit
            fault = self.faults.get((entity, n))
        if sub != self.account.subdomain:
            self._problem(h, 404, "Not Found", f"Account {sub} not found")
            return 404
        if verb != "GET":
            self._problem(h, 405, "Method Not Allowed", "read-only fake")
            return 405
        if h.headers.get("Authorization", "") != f"Bearer {self.token}":
            self._problem(h, 401, "Unauthorized", "Unauthorized")
            return 401
        if self._dead or fault == "die":
            self._dead = True
            self._problem(h, 503, "Service Unavailable", "down")
            return 503
        if over:
            self._problem(h, 429, "Too Many Requests", "Too Many Requests", {"Retry-After": "1"})
            return 429
        if fault in (429, 500, 502, 503, 504):
            self._problem(h, fault, "Error", "scripted fault", {"Retry-After": "0"} if fault == 429 else None)
            return fault
        if fault == "slow":
            time.sleep(self.slow_seconds)
        if self.blocked:
            self._problem(h, 403, "Forbidden", "Account is blocked")
            return 403
        if entity in self.forbidden or (entity in self.ADMIN_ONLY and "users" in self.forbidden):
            self._problem(h, 403, "Forbidden", "Access denied")
            return 403
        try:
            status, body = self._answer(entity, q, sub)
        except ValueError as e:
            self._problem(h, 400, "Bad Request", str(e))
            return 400
        self._send(h, status, body)
        return status

    # ----- the API
    def _answer(self, entity: str, q: dict, sub: str):
        a = self.account
        f = _filters(q)
        with_ = set(",".join(q.get("with", [""])).split(","))
        if entity == "account":
            body = {"id": a.account_id, "name": "ООО «Демо»", "subdomain": a.subdomain, "currency": a.currency,
                    "currency_symbol": "₽", "is_loss_reason_enabled": True, "country": "RU", "_links": {}}
            if "datetime_settings" in with_:
                body["_embedded"] = {"datetime_settings": {"timezone": a.timezone, "timezone_offset": "+03:00",
                                                           "date_format": "d.m.Y", "time_format": "H:i"}}
            return 200, body
        if entity == "leads/pipelines":
            return 200, {"_total_items": len(a.pipelines), "_links": {}, "_embedded": {"pipelines": a.pipelines}}
        if entity == "leads/loss_reasons":
            return self._page(entity, "loss_reasons", a.loss_reasons, q, sub)
        if entity == "users":
            users = [{"id": i, "name": n, "email": f"u{i}@demo.example", "lang": "ru",
                      "rights": {"leads": {"view": "A"}, "is_admin": i == 1001, "is_active": True}} for i, n in a.users.items()]
            return self._page(entity, "users", users, q, sub)
        if entity == "leads":
            rows = sorted(a.leads.values(), key=lambda x: x["id"])
            rows = [x for x in rows if _in_range(x["created_at"], f.get("created_at")) and _in_range(x["updated_at"], f.get("updated_at"))]
            out = []
            for x in rows:
                x = dict(x)
                emb = dict(x["_embedded"])
                if "loss_reason" in with_:
                    emb["loss_reason"] = [dict(lr) for lr in a.loss_reasons if lr["id"] == x["loss_reason_id"]]
                x["_embedded"] = emb
                out.append(x)
            return self._page(entity, "leads", out, q, sub)
        if entity == "events":
            types = f.get("type") or []
            rows = [e for e in a.events if (not types or e["type"] in types) and _in_range(e["created_at"], f.get("created_at"))]
            rows = sorted(rows, key=lambda e: (-e["created_at"], e["id"]))   # newest first, as amoCRM lists them
            return self._page(entity, "events", rows, q, sub, max_limit=100, short=True)
        if entity == "tasks":
            rows = [t for t in sorted(a.tasks, key=lambda t: t["id"]) if _in_range(t["updated_at"], f.get("updated_at"))]
            if f.get("entity_type"):
                rows = [t for t in rows if t["entity_type"] == f["entity_type"]]
            return self._page(entity, "tasks", rows, q, sub)
        if entity == "leads/notes":
            kinds = f.get("note_type") or []
            rows = [x for x in sorted(a.notes, key=lambda x: x["id"]) if (not kinds or x["note_type"] in kinds)
                    and _in_range(x["updated_at"], f.get("updated_at"))]
            return self._page(entity, "notes", rows, q, sub)
        raise ValueError(f"unknown method {entity}")

    def _page(self, entity, key, rows, q, sub, max_limit=250, short=False):
        limit = int(q.get("limit", ["50"])[0])
        page = int(q.get("page", ["1"])[0])
        if limit < 1 or limit > max_limit:
            raise ValueError(f"limit must be 1..{max_limit}")
        if page < 1:
            raise ValueError("page must be >= 1")
        # page k covers [off_k, off_k+1); with short=True every `event_short_every`-th page is shorter than asked
        off, k = 0, 1
        sizes = []
        while off < len(rows) or k == 1:
            size = limit
            if short and self.event_short_every and k % self.event_short_every == 0:
                size = max(1, limit - max(3, limit // 3))
            sizes.append((off, size))
            off += size
            k += 1
            if off >= len(rows):
                break
        if page > len(sizes):
            return 204, None
        start, size = sizes[page - 1]
        chunk = rows[start:start + size]
        if not chunk:
            return 204, None
        base = f"http://127.0.0.1:{self.port}/{sub}/api/v4/{entity}"
        keep = [(k2, v) for k2, vs in q.items() for v in vs if k2 != "page"]
        links = {"self": {"href": base + "?" + urlencode(keep + [("page", page)])}}
        if page < len(sizes):
            links["next"] = {"href": base + "?" + urlencode(keep + [("page", page + 1)])}
        return 200, {"_page": page, "_links": links, "_embedded": {key: chunk}}
