"""Pull an amoCRM account through API v4 (read only) into the files the ``amocrm`` preset reads.

``pull(subdomain, token, out)`` fetches, with a long-lived token:

=======================  =====================================================  =========================
what                     API v4 method                                          file
=======================  =====================================================  =========================
account settings         ``GET account?with=datetime_settings``                 (timezone, currency)
users                    ``GET users`` (needs an administrator's token)         ``managers.csv``
pipelines and statuses   ``GET leads/pipelines``                                ``funnel_<pipeline>.yaml``
loss reasons             ``GET leads/loss_reasons``                             (names)
deals ("leads")          ``GET leads?with=loss_reason`` (created in range)      ``deals.csv``
stage history            ``GET events?filter[type]=lead_status_changed``        ``stage_history.csv``
tasks and meetings       ``GET tasks?filter[entity_type]=leads``                ``activities.csv``
calls                    ``GET leads/notes?filter[note_type][]=call_in|call_out``  ``activities.csv``
=======================  =====================================================  =========================

plus ``run_config.yaml`` (a run-config draft auditing the pipeline with the most deals) and
``PULL_REPORT.json`` (counts, requests, completeness of the history).

``deals.csv`` has the columns of amoCRM's own «Сделки» export (ID, Бюджет, Ответственный,
Дата создания сделки, Воронка, Этап сделки, Дата закрытия, Причина отказа, one column per
custom field such as Товар or Источник), so a pulled account and the same account's file
export give the same canonical deals; a few technical columns (``status_id``, ``pipeline_id``,
``created_by``…) follow. Times are local times of the account's timezone.

The stage history: every ``lead_status_changed`` event is one row (entered stage, time, who
moved it: the event's ``created_by`` as a user name, empty for amoCRM's robots); before the
first move the deal stood, from its creation, in the stage the first event left (or, with no
event, in its current stage): that creation row is written too (``source = created``). A deal
moved to another pipeline keeps the stages of both (``pipeline`` / ``pipeline_id`` per row).
Consecutive events that do not chain (one's ``value_before`` is not the previous one's
``value_after``) and a last entry that is not the deal's current stage count as gaps.

Protocol: ``page``/``limit`` (250; 100 for events) following ``_links.next`` until it is
absent, never stopping on a short page (event pages come back shorter than asked); 204 is an
empty list; 7 requests a second at most; 429 and 5xx retried with backoff (the shared
:class:`~salesaudit.pull.common.Http`); 401/403/404 turned into one paragraph.

Client library: maintained amoCRM v4 clients on PyPI were weighed (``amocrm-api`` 2.6: v2-era
object model and its own token storage, last release 2023; ``aioamocrm`` 0.1 and
``amocrm-api-wrapper`` 1.0: weeks old, async-first or without a stable API; ``amochka``: an ETL
toolkit bound to PostgreSQL). None gives more than the six GET methods needed here, and each
would bring its own retry, rate-limit and logging behaviour (and its own way to leak a token
in an exception). So this module uses ``httpx`` through the shared retrying, rate-limited,
secret-masking client that the Bitrix24 pull uses too.

Resume and increments: every entity's page cursor is kept in ``.pull_state.json`` after its
rows are written, so an interrupted pull continues where it stopped; rows are keyed by id, so
nothing duplicates. After a complete pull the highest ``updated_at`` (deals, tasks, calls) and
``created_at`` (events) are kept; the next pull of the same range asks only for what changed
since (``filter[updated_at][from]``, ``filter[created_at][from]``).
"""
from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pandas as pd

from .common import Http, PullError, Secret, State, Store, completeness, progress, slug, write_config_draft, write_funnel, write_report

__all__ = ["pull", "AmoHttp", "RATE_LIMIT", "RATE_PER_SEC", "parse_subdomain"]

RATE_LIMIT = 7.0          # amoCRM's documented limit: requests a second per integration
RATE_PER_SEC = 6.5        # what the pull sends: under the limit, so network jitter never bunches 8 into a second
WON, LOST = 142, 143      # the two terminal statuses every pipeline has
PAGE_LIMIT = 250
EVENT_LIMIT = 100
CALL_NOTES = ("call_in", "call_out")

#: the right a 403 on each method points to
RIGHTS = {
    "users": "administrator of the account (amoCRM lists users to administrators only)",
    "leads": "view deals (Сделки: просмотр)",
    "leads/pipelines": "view deals (Сделки: просмотр)",
    "leads/loss_reasons": "view deals (Сделки: просмотр)",
    "leads/notes": "view deals (Сделки: просмотр)",
    "events": "view deals (Сделки: просмотр), whose events these are",
    "tasks": "view tasks (Задачи: просмотр)",
    "account": "access to the account",
}

DEAL_COLUMNS = ["ID", "Название сделки", "Бюджет", "Валюта", "Ответственный", "Дата создания сделки", "Дата закрытия",
                "Воронка", "Этап сделки", "Причина отказа", "Теги"]
TECH_COLUMNS = ["pipeline_id", "status_id", "responsible_user_id", "created_by", "updated_at", "created_unix", "updated_unix"]
HISTORY_COLUMNS = ["event_id", "deal_id", "entered_at", "stage", "status_id", "pipeline", "pipeline_id", "moved_by", "moved_by_id",
                   "left_stage", "left_status_id", "left_pipeline_id", "source", "at_unix"]
ACTIVITY_COLUMNS = ["activity_id", "type", "manager", "deal_id", "created_at", "duration_sec", "due_at", "done_at",
                    "kind", "result", "updated_unix"]
MANAGER_COLUMNS = ["manager", "name", "role", "user_id"]


# --------------------------------------------------------------------------- HTTP

class AmoHttp(Http):
    """:class:`Http` for amoCRM v4: 401/403/404 bodies become one paragraph (a 204 is None: an empty list)."""

    def __init__(self, base_url: str, *, subdomain: str, **kw):
        super().__init__(base_url, **kw)
        self.subdomain = subdomain  # (204 No Content, an empty list, comes back as None from Http)

    def error_text(self, response) -> str:
        status = response.status_code
        method = self.method_of(response.request.url)
        detail = _detail(response)
        where = f"amoCRM account «{self.subdomain}» ({self.host})"
        if status == 401:
            shown = f" {self.secrets[0]}" if self.secrets else ""
            return (f"{where} refused the token{shown} (HTTP 401 on {method}): the long-lived token is wrong, expired or revoked. "
                    "Create a new long-lived token (amoCRM: Settings → Integrations → your private integration → Keys and "
                    "access), put it in the token file (or SALESAUDIT_AMO_TOKEN) and run the pull again.")
        if status == 403:
            if "block" in detail.lower():
                return (f"{where} is blocked (HTTP 403 on {method}: {detail}): amoCRM answers nothing while an account is "
                        "blocked, usually for an unpaid subscription. Ask the account's owner to unblock it, then pull again.")
            right = RIGHTS.get(method, "view deals (Сделки: просмотр)")
            return (f"{where} refused {method} (HTTP 403{': ' + detail if detail else ''}): the user whose token this is "
                    f"lacks the right «{right}». Ask an administrator of the account to grant it (Settings → Users → "
                    "rights), or use a token of a user who has it, and pull again.")
        if status == 404 or 300 <= status < 400:
            return (f"There is no amoCRM account «{self.subdomain}» at {self.host} (HTTP {status} on {method}): check the "
                    "subdomain, the first part of the account's address (demo in https://demo.amocrm.ru), and pull again.")
        if status == 400:
            return (f"{where} rejected the request {method} (HTTP 400{': ' + detail if detail else ''}). This is a fault of "
                    "the pull, not of the account: report it with this message.")
        return (f"{where} answered HTTP {status} to {method}{': ' + detail if detail else ''}. Try again later; the pull "
                "resumes where it stopped.")


def _detail(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join((response.text or "").split())[:160]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or "")[:160]
    return ""


# --------------------------------------------------------------------------- helpers

_SUB = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DOMAINS = ("amocrm.ru", "amocrm.com", "kommo.com")


def parse_subdomain(text: str) -> tuple[str, str]:
    """``demo``, ``demo.amocrm.ru`` or ``https://demo.amocrm.ru/leads`` -> (``demo``, ``amocrm.ru``)."""
    t = str(text or "").strip().lower()
    if "://" in t:
        t = urlsplit(t).hostname or ""
    t = t.strip("/").split("/")[0]
    domain = "amocrm.ru"
    for d in _DOMAINS:
        if t.endswith("." + d):
            t, domain = t[: -len(d) - 1], d
            break
    if not _SUB.match(t):
        raise PullError(f"«{text}» is not an amoCRM subdomain: give the first part of the account's address, for example "
                        "demo for https://demo.amocrm.ru (letters, digits and hyphens).")
    return t, domain


def _moment(value, tz: ZoneInfo, end: bool) -> int | None:
    """--since / --until as a unix time: a date is the start (``end``: the end) of that day in the account's timezone."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        d = value if value.tzinfo else value.replace(tzinfo=tz)
        return int(d.timestamp())
    if isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip()
        try:
            if len(text) > 10:
                d = dt.datetime.fromisoformat(text)
                return int((d if d.tzinfo else d.replace(tzinfo=tz)).timestamp())
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise PullError(f"«{value}» is not a date: give --since and --until as YYYY-MM-DD (or YYYY-MM-DD HH:MM).") from None
    t = dt.datetime.combine(day, dt.time(23, 59, 59) if end else dt.time(0, 0), tzinfo=tz)
    return int(t.timestamp())


def _local(unix, tz: ZoneInfo) -> str:
    if unix in (None, "", 0):
        return ""
    return dt.datetime.fromtimestamp(int(unix), tz).strftime("%Y-%m-%d %H:%M:%S")


def _fmt_unix(unix, tz) -> str:
    return _local(unix, tz) or "—"


def _field_text(field: dict) -> str:
    vals = [v.get("value") for v in field.get("values") or [] if isinstance(v, dict)]
    out = []
    for v in vals:
        if v is None:
            continue
        if isinstance(v, bool):
            out.append("да" if v else "нет")
        else:
            out.append(str(v))
    return ", ".join(out)


class _Pages:
    """Reads one list method page by page, following ``_links.next``; resumable through :class:`State`."""

    def __init__(self, http: AmoHttp, state: State, entity: str, path: str, params: dict, key: str, limit: int):
        self.http, self.state, self.entity = http, state, entity
        self.path, self.params, self.key, self.limit = path, params, key, limit

    def __iter__(self):
        cur = self.state.get(self.entity)
        path, params = cur.get("path") or self.path, cur.get("params") or {**self.params, "limit": self.limit, "page": 1}
        if self.state.is_done(self.entity):
            return
        while True:
            body = self.http.get(path, params)
            rows = []
            if body:
                rows = (body.get("_embedded") or {}).get(self.key) or []
            nxt = ((body or {}).get("_links") or {}).get("next", {}) or {}
            href = nxt.get("href") if isinstance(nxt, dict) else None
            following = self._relative(href) if href else None
            yield rows
            # the caller has stored the rows: now the cursor may move on
            if not following or following == (path, params):
                break
            path, params = following
            self.state.set(self.entity, {"path": path, "params": params})
        self.state.done(self.entity)

    def _relative(self, href: str):
        base = self.http.base_url
        u = urlsplit(href)
        b = urlsplit(base)
        if (u.scheme, u.netloc) != (b.scheme, b.netloc) or not u.path.startswith(b.path):
            raise PullError(f"amoCRM's next-page link of {self.entity} points to another host ({u.netloc}); the pull does not "
                            "follow it, so that the token is never sent elsewhere. Report this message.")
        params: dict = {}
        for k, v in parse_qsl(u.query, keep_blank_values=True):
            if k in params:
                params[k] = (params[k] if isinstance(params[k], list) else [params[k]]) + [v]
            else:
                params[k] = v
        return u.path[len(b.path):], params


# --------------------------------------------------------------------------- the pull

def _mark(marks: dict | None, entity: str, default=None):
    """Where an incremental pull of ``entity`` starts: the last pull's high-water mark (unix seconds), else ``default``."""
    return int(marks[entity]) if marks and marks.get(entity) else default


def pull(subdomain: str, token: Secret, out: Path, since=None, until=None, head_of_sales=None, base_url=None, *,
         full: bool = False, rate_per_sec: float | None = None, http_options: dict | None = None,
         page_limit: int = PAGE_LIMIT, event_limit: int = EVENT_LIMIT) -> dict:
    """Pull the amoCRM account ``subdomain`` into ``out``; returns the report (also ``out/PULL_REPORT.json``).

    ``since``/``until`` select deals by creation (dates: whole days in the account's timezone).
    ``base_url`` replaces ``https://<subdomain>.amocrm.ru`` (a local server in tests; ``{subdomain}``
    in it is filled in). ``full`` fetches the range again instead of only what changed since the last
    complete pull; ``rate_per_sec`` overrides the pace (:data:`RATE_PER_SEC`). ``http_options`` go to :class:`AmoHttp` (``sleep``, ``clock``, ``timeout``,
    ``rate_per_sec``, ``backoff_base``…): tests make the waits instant.
    """
    t0 = time.monotonic()
    if not isinstance(token, Secret):
        token = Secret(str(token))
    sub, domain = parse_subdomain(subdomain)
    root = (base_url.format(subdomain=sub) if base_url else f"https://{sub}.{domain}").rstrip("/")
    out = Path(out)
    opts = {"rate_per_sec": RATE_PER_SEC if rate_per_sec is None else rate_per_sec, "timeout": 30.0, **(http_options or {})}
    http = AmoHttp(root + "/api/v4/", subdomain=sub, secrets=[token], headers={"Authorization": f"Bearer {token.reveal()}"}, **opts)
    try:
        return _pull(http, sub, out, since, until, head_of_sales, page_limit, event_limit, t0, full)
    finally:
        http.close()


def _pull(http: AmoHttp, sub: str, out: Path, since, until, head_of_sales, page_limit: int, event_limit: int, t0: float,
          full: bool = False) -> dict:
    account = http.get("account", {"with": "datetime_settings"}) or {}
    tz_name = ((account.get("_embedded") or {}).get("datetime_settings") or {}).get("timezone") or "Europe/Moscow"
    try:
        tz = ZoneInfo(tz_name)
    except Exception:
        tz_name, tz = "Europe/Moscow", ZoneInfo("Europe/Moscow")
    currency = account.get("currency") or ""
    since_ts, until_ts = _moment(since, tz, end=False), _moment(until, tz, end=True)
    if since_ts is not None and until_ts is not None and until_ts < since_ts:
        raise PullError(f"--until ({until}) is before --since ({since}): give a range whose end is after its start.")

    # users first: the head of sales must be one of them, and every name comes from here
    users_raw = []
    for rows in _Pages(http, _Volatile(), "users", "users", {}, "users", page_limit):
        users_raw += rows
    users = {int(u["id"]): str(u.get("name") or f"user {u['id']}") for u in users_raw}
    hos = None
    if head_of_sales:
        want = str(head_of_sales).strip()
        match = [n for i, n in users.items() if n.casefold() == want.casefold() or str(i) == want]
        if not match:
            raise PullError(f"The head of sales «{want}» is not a user of amoCRM account «{sub}»: its users are "
                            f"{', '.join(sorted(users.values()))}. Give one of these names (or a user id) to --head-of-sales.")
        hos = match[0]

    pipelines = (http.get("leads/pipelines") or {}).get("_embedded", {}).get("pipelines", []) or []
    if not pipelines:
        raise PullError(f"amoCRM account «{sub}» lists no pipeline (GET leads/pipelines was empty): the token's user "
                        "probably cannot see deals. Grant the right «view deals (Сделки: просмотр)» and pull again.")
    statuses: dict[tuple[int, int], dict] = {}
    pipe_name: dict[int, str] = {}
    for p in pipelines:
        pipe_name[int(p["id"])] = str(p.get("name") or p["id"])
        for s in (p.get("_embedded") or {}).get("statuses") or []:
            statuses[(int(p["id"]), int(s["id"]))] = s
    reasons = {}
    for rows in _Pages(http, _Volatile(), "loss_reasons", "leads/loss_reasons", {}, "loss_reasons", page_limit):
        reasons.update({int(r["id"]): str(r.get("name") or "") for r in rows})

    def status_name(pid, sid) -> str:
        if pid is None or sid is None:
            return ""
        s = statuses.get((int(pid), int(sid)))
        if s is None and int(sid) in (WON, LOST):
            s = next((v for (p2, s2), v in statuses.items() if s2 == int(sid)), None)
        return str(s.get("name")) if s else f"status {sid}"

    # ----- state: resume, incremental or full
    state = State(out)
    prev = dict(state.data)
    same_range = (prev.get("since") == _iso(since) and prev.get("until") == _iso(until) and prev.get("subdomain") == sub
                  and prev.get("crm") == "amocrm")
    resuming = state.begin(since, until, crm="amocrm", subdomain=sub)
    if resuming:
        base_marks = state.data.get("amocrm_base_marks")
        mode = "resumed"
    elif not full and same_range and prev.get("complete") and prev.get("amocrm_marks"):
        base_marks = dict(prev["amocrm_marks"])
        mode = "incremental"
    else:
        base_marks = None
        mode = "full"
    state.data["amocrm_base_marks"] = base_marks
    state.save()

    if mode == "full":   # a new range (or a first pull): rows of another range do not belong here
        for table in ("deals", "stage_history", "activities", "managers"):
            (out / f"{table}.csv").unlink(missing_ok=True)
    deals = Store(out, "deals", "ID", DEAL_COLUMNS + TECH_COLUMNS)
    history = Store(out, "stage_history", "event_id", HISTORY_COLUMNS)
    acts = Store(out, "activities", "activity_id", ACTIVITY_COLUMNS)
    managers = Store(out, "managers", "manager", MANAGER_COLUMNS)

    def name_of(uid) -> str:
        try:
            uid = int(uid)
        except (TypeError, ValueError):
            return ""
        return users.get(uid, "" if uid == 0 else f"user {uid}")

    managers.upsert({"manager": n, "name": n, "role": "head_of_sales" if n == hos else "manager", "user_id": str(i)}
                    for i, n in users.items())
    managers.flush()

    # ----- deals
    flt = {}
    if since_ts is not None:
        flt["filter[created_at][from]"] = since_ts
    if until_ts is not None:
        flt["filter[created_at][to]"] = until_ts
    if (changed := _mark(base_marks, "leads")) is not None:
        flt["filter[updated_at][from]"] = changed
    params = {"with": "loss_reason", "order[id]": "asc", **flt}
    fixed = set(DEAL_COLUMNS) | set(TECH_COLUMNS)
    with progress("deals", None) as bar:
        for rows in _Pages(http, state, "leads", "leads", params, "leads", page_limit):
            out_rows = []
            for ld in rows:
                if ld.get("is_deleted"):
                    continue
                pid, sid = ld.get("pipeline_id"), ld.get("status_id")
                emb = ld.get("_embedded") or {}
                lr = emb.get("loss_reason") or []
                reason = lr[0].get("name") if lr and isinstance(lr[0], dict) else reasons.get(ld.get("loss_reason_id") or -1, "")
                row = {"ID": str(ld["id"]), "Название сделки": ld.get("name") or "", "Бюджет": "" if ld.get("price") is None else str(ld["price"]),
                       "Валюта": currency, "Ответственный": name_of(ld.get("responsible_user_id")),
                       "Дата создания сделки": _local(ld.get("created_at"), tz), "Дата закрытия": _local(ld.get("closed_at"), tz) if sid in (WON, LOST) else "",
                       "Воронка": pipe_name.get(int(pid), str(pid)) if pid is not None else "", "Этап сделки": status_name(pid, sid),
                       "Причина отказа": (reason or "") if sid == LOST else "",
                       "Теги": ", ".join(str(t.get("name")) for t in emb.get("tags") or [] if isinstance(t, dict)),
                       "pipeline_id": str(pid), "status_id": str(sid), "responsible_user_id": str(ld.get("responsible_user_id") or ""),
                       "created_by": str(ld.get("created_by") or 0), "updated_at": _local(ld.get("updated_at"), tz),
                       "created_unix": str(ld.get("created_at") or ""), "updated_unix": str(ld.get("updated_at") or "")}
                for f in ld.get("custom_fields_values") or []:
                    col = str(f.get("field_name") or f"field {f.get('field_id')}")
                    if col in fixed:
                        col = f"Поле: {col}"
                    row.setdefault(col, _field_text(f))
                out_rows.append(row)
            deals.upsert(out_rows)
            deals.flush()
            bar.update(len(out_rows))
    if len(deals) == 0:
        rng = _range_text(since_ts, until_ts, tz)
        raise PullError(f"amoCRM account «{sub}» has no deals created {rng}: nothing to audit. Widen --since/--until, or check "
                        "that the token's user can see the deals (right «view deals (Сделки: просмотр)»).")
    deal_ids = deals.keys()

    # ----- stage history: lead_status_changed events
    ev_from = _mark(base_marks, "events", since_ts)
    params = {"filter[type]": "lead_status_changed", "filter[entity][]": "lead"}
    if ev_from is not None:
        params["filter[created_at][from]"] = ev_from
    skipped_events = 0
    with progress("stage history", None) as bar:
        for rows in _Pages(http, state, "events", "events", params, "events", event_limit):
            out_rows = []
            for ev in rows:
                did = str(ev.get("entity_id"))
                if ev.get("type") != "lead_status_changed" or did not in deal_ids:
                    skipped_events += 1
                    continue
                after = _status_of(ev.get("value_after"))
                before = _status_of(ev.get("value_before"))
                out_rows.append({
                    "event_id": str(ev["id"]), "deal_id": did, "entered_at": _local(ev.get("created_at"), tz),
                    "stage": status_name(*after), "status_id": str(after[1]), "pipeline": pipe_name.get(after[0], str(after[0])),
                    "pipeline_id": str(after[0]), "moved_by": name_of(ev.get("created_by")), "moved_by_id": str(ev.get("created_by") or 0),
                    "left_stage": status_name(*before) if before[1] is not None else "", "left_status_id": "" if before[1] is None else str(before[1]),
                    "left_pipeline_id": "" if before[0] is None else str(before[0]), "source": "event", "at_unix": str(ev.get("created_at") or ""),
                })
            history.upsert(out_rows)
            history.flush()
            bar.update(len(out_rows))

    # ----- activities: tasks (and meetings), calls
    base_upd = since_ts
    with progress("tasks", None) as bar:
        params = {"filter[entity_type]": "leads"}
        frm = _mark(base_marks, "tasks", base_upd)
        if frm is not None:
            params["filter[updated_at][from]"] = frm
        for rows in _Pages(http, state, "tasks", "tasks", params, "tasks", page_limit):
            out_rows = []
            for tk in rows:
                if tk.get("entity_type") != "leads" or str(tk.get("entity_id")) not in deal_ids:
                    continue
                done = bool(tk.get("is_completed"))
                res = tk.get("result")
                out_rows.append({
                    "activity_id": f"task-{tk['id']}", "type": "meeting" if int(tk.get("task_type_id") or 0) == 2 else "task",
                    "manager": name_of(tk.get("responsible_user_id")), "deal_id": str(tk.get("entity_id")),
                    "created_at": _local(tk.get("created_at"), tz), "duration_sec": "", "due_at": _local(tk.get("complete_till"), tz),
                    "done_at": _local(tk.get("updated_at"), tz) if done else "", "kind": f"task_type_{tk.get('task_type_id')}",
                    "result": (res.get("text") or "") if isinstance(res, dict) else "", "updated_unix": str(tk.get("updated_at") or ""),
                })
            acts.upsert(out_rows)
            acts.flush()
            bar.update(len(out_rows))
    with progress("calls", None) as bar:
        params = {"filter[note_type][]": list(CALL_NOTES)}
        frm = _mark(base_marks, "calls", base_upd)
        if frm is not None:
            params["filter[updated_at][from]"] = frm
        for rows in _Pages(http, state, "calls", "leads/notes", params, "notes", page_limit):
            out_rows = []
            for nt in rows:
                if nt.get("note_type") not in CALL_NOTES or str(nt.get("entity_id")) not in deal_ids:
                    continue
                p = nt.get("params") or {}
                out_rows.append({
                    "activity_id": f"call-{nt['id']}", "type": "call",
                    "manager": name_of(nt.get("responsible_user_id") or nt.get("created_by")), "deal_id": str(nt.get("entity_id")),
                    "created_at": _local(nt.get("created_at"), tz), "duration_sec": "" if p.get("duration") is None else str(p["duration"]),
                    "due_at": "", "done_at": "", "kind": nt.get("note_type"), "result": str(p.get("call_result") or ""),
                    "updated_unix": str(nt.get("updated_at") or ""),
                })
            acts.upsert(out_rows)
            acts.flush()
            bar.update(len(out_rows))

    # ----- creation rows and gaps
    dframe = deals.frame()
    hframe = history.frame()
    ev_rows = hframe[hframe["source"] == "event"].copy()
    ev_rows["_t"] = pd.to_numeric(ev_rows["at_unix"], errors="coerce")
    ev_rows = ev_rows.sort_values(["deal_id", "_t", "event_id"], kind="stable")
    first = ev_rows.groupby("deal_id").head(1).set_index("deal_id")
    creation, breaks, moved_between = [], [], set()
    by_deal = {k: g for k, g in ev_rows.groupby("deal_id", sort=False)}
    for d in dframe.to_dict("records"):
        did = d["ID"]
        g = by_deal.get(did)
        if g is not None and did in first.index:
            f = first.loc[did]
            pid, sid = f["left_pipeline_id"], f["left_status_id"]
        else:
            pid, sid = d["pipeline_id"], d["status_id"]
        pid_i, sid_i = _int(pid), _int(sid)
        creation.append({"event_id": f"created-{did}", "deal_id": did, "entered_at": d["Дата создания сделки"],
                         "stage": status_name(pid_i, sid_i), "status_id": str(sid), "pipeline": pipe_name.get(pid_i, str(pid)),
                         "pipeline_id": str(pid), "moved_by": name_of(d.get("created_by")), "moved_by_id": str(d.get("created_by") or 0),
                         "left_stage": "", "left_status_id": "", "left_pipeline_id": "", "source": "created",
                         "at_unix": d.get("created_unix", "")})
        chain = [(str(pid), str(sid))]
        if g is not None:
            for r in g.itertuples():
                if (str(r.left_pipeline_id), str(r.left_status_id)) != chain[-1]:
                    breaks.append(did)
                chain.append((str(r.pipeline_id), str(r.status_id)))
                if str(r.pipeline_id) != str(r.left_pipeline_id):
                    moved_between.add(did)
        if chain[-1] != (str(d["pipeline_id"]), str(d["status_id"])) and (g is not None):
            breaks.append(did)
    history.upsert(creation)
    history.flush()

    # ----- funnels, config draft, report
    counts = dframe["pipeline_id"].value_counts()
    funnels = {}
    for p in pipelines:
        pid = int(p["id"])
        stages = _funnel_stages(pid, [s for (p2, _), s in statuses.items() if p2 == pid])
        funnels[pid] = write_funnel(out, pipe_name[pid], stages,
                                    header=f"amoCRM pipeline «{pipe_name[pid]}» (id {pid}) of account {sub}")
    main = sorted(pipelines, key=lambda p: (-int(counts.get(str(p["id"]), 0)), not p.get("is_main"), int(p.get("sort") or 0)))[0]
    main_id = int(main["id"])
    draft = write_config_draft(out, client=account.get("name") or sub, preset="amocrm", funnel_path=funnels[main_id], timezone=tz_name,
                               head_of_sales=hos, pipeline=pipe_name[main_id] if len(pipelines) > 1 else None)

    hist_all = history.frame()
    comp = completeness(dframe.rename(columns={"ID": "deal_id", "Дата создания сделки": "created_at", "Этап сделки": "stage"}),
                        hist_all[["deal_id", "entered_at", "stage"]], timezone=tz_name)
    comp["deals_with_broken_chain"] = len(set(breaks))
    comp["broken_chain_deal_ids"] = sorted(set(breaks), key=lambda x: (len(x), x))[:20]
    comp["creation_rows_inferred"] = len(creation)
    comp["note"] = ("the first row of each deal is its creation, in the stage its first recorded move left (or its current "
                    "stage without moves); a gap is a deal whose moves do not chain or do not end in its current stage")
    kinds = acts.frame()["type"].value_counts().to_dict() if len(acts) else {}
    seconds = round(time.monotonic() - t0, 2)
    n_req = sum(http.calls.values())
    report = {
        "crm": "amocrm", "subdomain": sub, "host": http.host, "timezone": tz_name, "currency": currency,
        "range": {"since": _iso(since), "until": _iso(until)}, "mode": mode,
        "counts": {"deals": len(deals), "stage_history": len(history), "stage_moves": int((hist_all["source"] == "event").sum()),
                   "activities": len(acts), "calls": int(kinds.get("call", 0)), "tasks": int(kinds.get("task", 0)),
                   "meetings": int(kinds.get("meeting", 0)), "managers": len(managers), "pipelines": len(pipelines),
                   "deals_moved_between_pipelines": len(moved_between), "events_of_other_deals": skipped_events},
        "pipelines": [{"id": int(p["id"]), "name": pipe_name[int(p["id"])], "deals": int(counts.get(str(p["id"]), 0)),
                       "funnel": funnels[int(p["id"])].name} for p in pipelines],
        "audited_pipeline": pipe_name[main_id], "config_draft": draft.name, "run_config": draft.name,
        "requests": dict(sorted(http.calls.items())), "requests_total": n_req, "retries": http.retries, "seconds": seconds,
        "requests_per_minute": round(n_req / seconds * 60, 1) if seconds > 0 else None, "rate_limit_per_sec": http.rate_per_sec,
        "completeness": comp,
    }
    write_report(out, report)
    # high-water marks of the account's own clock: the next pull of this range asks only for what changed since
    afr = acts.frame()
    state.data["amocrm_marks"] = {
        "leads": _max_int(dframe["updated_unix"]), "events": _max_int(hist_all.loc[hist_all["source"] == "event", "at_unix"]),
        "tasks": _max_int(afr.loc[afr["activity_id"].astype(str).str.startswith("task-"), "updated_unix"]) if len(afr) else None,
        "calls": _max_int(afr.loc[afr["activity_id"].astype(str).str.startswith("call-"), "updated_unix"]) if len(afr) else None,
    }
    state.finish()
    return report


class _Volatile:
    """A State stand-in for small lists that are fetched afresh each time (users, loss reasons)."""

    def get(self, entity):
        return {}

    def set(self, entity, cursor):
        pass

    def done(self, entity):
        pass

    def is_done(self, entity):
        return False


def _status_of(value) -> tuple[int | None, int | None]:
    """``value_after``/``value_before`` of a lead_status_changed event -> (pipeline_id, status_id)."""
    items = value if isinstance(value, list) else [value]
    for it in items:
        if isinstance(it, dict) and isinstance(it.get("lead_status"), dict):
            ls = it["lead_status"]
            return _int(ls.get("pipeline_id")), _int(ls.get("id"))
    return None, None


def _max_int(s: pd.Series):
    v = pd.to_numeric(s, errors="coerce").max() if len(s) else None
    return None if v is None or pd.isna(v) else int(v)


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _iso(v):
    if v is None or v == "":
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def _range_text(since_ts, until_ts, tz) -> str:
    if since_ts is None and until_ts is None:
        return "at all"
    if until_ts is None:
        return f"since {_fmt_unix(since_ts, tz)}"
    if since_ts is None:
        return f"until {_fmt_unix(until_ts, tz)}"
    return f"between {_fmt_unix(since_ts, tz)} and {_fmt_unix(until_ts, tz)}"


def _standard_stages() -> tuple[dict, dict]:
    """amoCRM's standard status names -> funnel keys (the amocrm preset), and keys -> English labels (its funnel)."""
    try:
        from ..data.params import load_funnel
        from ..data.presets import load_preset

        preset = load_preset("amocrm")
        keys = {k.casefold(): v for k, v in preset.stages.items()}
        en = {}
        if preset.funnel and preset.source:
            f = load_funnel(Path(preset.source).parent / preset.funnel)
            en = {s.key: s.label.en for s in f.stages}
        return keys, en
    except Exception:  # the preset is optional for the pull itself
        return {}, {}


def _funnel_stages(pipeline_id: int, statuses: list[dict]) -> list[dict]:
    """A pipeline's statuses as write_funnel stages: open ones by ``sort``, won 142, lost 143."""
    std_keys, std_en = _standard_stages()
    out, used = [], set()
    for s in sorted(statuses, key=lambda s: (int(s.get("sort") or 0), int(s["id"]))):
        sid, name = int(s["id"]), str(s.get("name") or s["id"])
        if sid == WON:
            key, kind = "won", "won"
        elif sid == LOST:
            key, kind = "lost", "lost"
        else:
            kind = "open"
            key = std_keys.get(name.casefold()) or slug(name, "stage")
            if key in ("won", "lost") or key in used:
                key = f"{slug(name, 'stage')}_{sid}"
        used.add(key)
        en = std_en.get(key) if std_keys.get(name.casefold()) == key or key in ("won", "lost") else None
        out.append({"key": key, "label_ru": name, "label_en": en or name, "kind": kind})
    return out
