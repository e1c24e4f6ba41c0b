"""Pull a Bitrix24 portal through an inbound webhook: deals, leads, stage history, activities, users, pipelines.

``pull(webhook, out)`` calls only read methods (``*.list``, ``*.get``, ``*.fields`` and
``batch`` of them) of the REST API at ``https://<portal>/rest/<user_id>/<code>/``, and
writes into ``out`` the files the ``bitrix24`` preset reads:

- ``deals.csv``, ``leads.csv``, ``activities.csv``, ``managers.csv`` with the column names of
  Bitrix24's own list exports (Ответственный, Дата создания…: the preset's names), the
  values resolved as the export shows them (a manager's full name, a source's name, a
  pipeline's name), plus the API codes (``STAGE_ID``, ``CATEGORY_ID``, ``ASSIGNED_BY_ID``…)
  and every user field under its label (its code when it has none);
- ``stagehistory.csv``: ``crm.stagehistory.list`` for deals as the API gives it (a deal moved
  to another pipeline keeps the stages of both: every row has its ``CATEGORY_ID``), and
  ``leadhistory.csv`` for leads. Bitrix24 does not record who moved a deal: the history has
  no author, and a deal's ``MODIFY_BY_ID`` is its last editor, not the mover, so no
  ``moved_by`` column is written;
- ``funnel_<pipeline>.yaml`` per pipeline (from ``crm.category.list`` and ``crm.status.list``
  with the stages' semantics), ``run_config.yaml`` (a draft) and ``PULL_REPORT.json``
  (counts per entity, requests per method, how whole the history is).

Requests go through :class:`Bitrix24Http`: at most ``rate_per_sec`` a second (2 by default,
Bitrix24's sustained limit), list pages of 50 rows fetched 50 pages to a ``batch`` call,
``QUERY_LIMIT_EXCEEDED``/``OPERATION_TIME_LIMIT``, 5xx and timeouts retried with backoff.
After each batch the tables and the cursor are saved, so an interrupted pull resumes
where it stopped; a second pull of a folder whose last pull finished fetches only what
changed since (``>=DATE_MODIFY``), unless ``full=True``.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pandas as pd

from .common import (
    Http,
    PullError,
    Secret,
    State,
    Store,
    completeness,
    progress,
    slug,
    write_config_draft,
    write_funnel,
    write_report,
)

__all__ = ["pull", "Bitrix24Http", "check_webhook", "READ_METHOD"]

PAGE = 50
BATCH = 50
RETRY_ERRORS = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT"}
AUTH_ERRORS = {"expired_token", "invalid_token", "NO_AUTH_FOUND", "INVALID_CREDENTIALS", "WRONG_AUTH_TYPE", "invalid_grant"}
#: a read method: what a pull may call
READ_METHOD = re.compile(r"^(batch|[a-z0-9_.]+\.(list|get|fields))$")
ACTIVITY_TYPES = {"1": "Встреча", "2": "Звонок", "3": "Задача", "4": "Письмо"}
INCREMENTAL_MARGIN = dt.timedelta(hours=1)
HISTORY_NOTE = ("Bitrix24 does not record who moved a deal to a stage: crm.stagehistory.list has no author, and the "
                "deal's MODIFY_BY_ID is its last editor, not the mover; moved_by is left empty.")


def _scope_of(method: str) -> str:
    if method.startswith("user."):
        return "user"
    if method.startswith("department."):
        return "department"
    if method.startswith("tasks."):
        return "task"
    return "crm"


class Bitrix24Http(Http):
    """:class:`Http` that reads Bitrix24's error bodies ``{"error", "error_description"}``."""

    def retryable(self, response) -> bool:
        return _error_code(response) in RETRY_ERRORS

    def error_text(self, response) -> str:
        code = _error_code(response) or ""
        method = self.method_of(response.request.url)
        status = response.status_code
        if status == 401 or code in AUTH_ERRORS:
            return (f"The portal {self.host} refused the webhook ({code or 'HTTP 401'}) on {method}: the webhook is wrong, "
                    f"was deleted, or its user was dismissed or lost access. In Bitrix24 open Developer resources → "
                    f"Other → Inbound webhook, create one (rights: crm, user, department) and put its URL in the webhook "
                    f"file or in SALESAUDIT_B24_WEBHOOK.")
        if status == 403 or code in ("insufficient_scope", "ACCESS_DENIED"):
            scope = _scope_of(method)
            if code == "ACCESS_DENIED":
                return (f"The portal {self.host} denied {method} (ACCESS_DENIED): the webhook's user may not read this "
                        f"data (right «{scope}»). Create the webhook under a user who can see every deal, lead and "
                        f"activity (an administrator), or give this user read access to the CRM, and try again.")
            return (f"The webhook has no right «{scope}», which {method} needs (insufficient_scope on {self.host}). In "
                    f"Bitrix24 edit the inbound webhook, tick «{scope}» among its rights (a pull needs crm, user and "
                    f"department), save it, and try again.")
        if status == 404:
            if code == "ERROR_METHOD_NOT_FOUND":
                return (f"The portal {self.host} does not know the method {method}: an on-premise Bitrix24 may be too old "
                        f"for it. Update the portal's REST module, or pull from the file exports instead.")
            return (f"There is no Bitrix24 REST API at {self.host} (HTTP 404 on {method}): the portal address in the "
                    f"webhook is wrong. Copy the webhook URL again from Bitrix24 (it reads "
                    f"https://<portal>/rest/<user id>/<code>/) and try again.")
        desc = _error_desc(response)
        return (f"The portal {self.host} answered {method} with HTTP {status}" + (f" {code}" if code else "")
                + (f" ({desc})" if desc else "") + ". Check the webhook and its rights, and try again; if it persists, "
                "the parameters of the pull may not suit this portal.")


def _body(response):
    try:
        return response.json()
    except ValueError:
        return None


def _error_code(response) -> str | None:
    b = _body(response)
    return b.get("error") if isinstance(b, dict) and isinstance(b.get("error"), str) else None


def _error_desc(response) -> str:
    b = _body(response)
    d = b.get("error_description") if isinstance(b, dict) else None
    return " ".join(str(d).split())[:200] if d else ""


def check_webhook(webhook: Secret) -> tuple[str, str]:
    """(API root, host) of an inbound webhook URL, or a PullError saying what is wrong with it."""
    v = webhook.reveal()
    u = urlsplit(v) if "://" in v else None
    ok = (u is not None and u.hostname and re.fullmatch(r"/rest/\d+/[A-Za-z0-9_]+/?", u.path or "")
          and not u.query and not u.fragment)
    local = u is not None and u.hostname in ("127.0.0.1", "localhost", "::1")
    if ok and u.scheme != "https" and not (u.scheme == "http" and local):
        ok = False
    if not ok:
        shown = webhook.masked() if u is not None and u.hostname else "a value that is not a URL"
        raise PullError(f"The webhook URL is malformed ({shown}): an inbound webhook of Bitrix24 reads "
                        f"https://<portal>.bitrix24.ru/rest/<user id>/<code>/ (https, the portal's address, /rest/, the "
                        f"user's number and the code). Copy it from Bitrix24 (Developer resources → Other → Inbound "
                        f"webhook) into the webhook file, alone on one line, and try again.")
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.hostname}{port}{u.path.rstrip('/')}/", f"{u.hostname}{port}"


def php_query(params: dict) -> str:
    """Nested parameters as Bitrix24 (PHP) reads a query string: ``filter[>=DATE_CREATE]=…&select[]=*``."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix, v):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{prefix}[{k}]" if prefix else str(k), x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(f"{prefix}[]", x)
        elif v is None:
            pairs.append((prefix, ""))
        else:
            pairs.append((prefix, str(v)))

    walk("", params)
    return urlencode(pairs)


def _moment(v, end=False) -> str | None:
    """A --since/--until value as Bitrix24's filter reads it (ISO 8601); a date alone covers the whole day."""
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.isoformat(timespec="seconds")
    if isinstance(v, dt.date):
        return f"{v.isoformat()}T{'23:59:59' if end else '00:00:00'}"
    s = str(v).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return f"{s}T{'23:59:59' if end else '00:00:00'}"
    m = re.fullmatch(r"(\d{2})\.(\d{2})\.(\d{4})", s)
    if m:
        return f"{m.group(3)}-{m.group(2)}-{m.group(1)}T{'23:59:59' if end else '00:00:00'}"
    try:
        return dt.datetime.fromisoformat(s).isoformat(timespec="seconds")
    except ValueError:
        raise PullError(f"Cannot read the date {s!r} of --{'until' if end else 'since'}: write it as 2025-08-01 "
                        f"(or 01.08.2025, or 2025-08-01T09:00).") from None


def _comma(v) -> str:
    s = "" if v is None else str(v)
    return s.replace(".", ",") if re.fullmatch(r"-?\d+(\.\d+)?", s) else s


def _seconds_between(a, b) -> str:
    try:
        return str(int(round((dt.datetime.fromisoformat(str(b)) - dt.datetime.fromisoformat(str(a))).total_seconds())))
    except (TypeError, ValueError):
        return ""


class _Pull:
    def __init__(self, webhook: Secret, out: Path, *, since, until, head_of_sales, rate_per_sec, timeout, max_retries,
                 sleep, clock, batch_size, full):
        self.webhook = webhook
        self.root, self.host = check_webhook(webhook)
        self.out = Path(out)
        self.since = _moment(since)
        self.until = _moment(until, end=True)
        self.head_of_sales = head_of_sales
        self.batch_size = max(1, min(BATCH, int(batch_size)))
        self.full = full
        self.sleep = sleep
        self.http = Bitrix24Http(self.root, secrets=[webhook], rate_per_sec=rate_per_sec, timeout=timeout,
                                 max_retries=max_retries, sleep=sleep, clock=clock)
        self.warnings: list[str] = []
        self.server_time: str | None = None
        self.counts: dict[str, int] = {}

    # ----- requests
    def call(self, method: str, params: dict | None = None) -> dict:
        if not READ_METHOD.match(method):
            raise PullError(f"Refusing to call {method}: a pull only reads from Bitrix24.")
        body = self.http.post(f"{method}.json", json=params or {})
        if not isinstance(body, dict) or ("result" not in body and "error" not in body):
            raise PullError(f"The portal {self.host} answered {method} with something that is not a Bitrix24 REST answer: "
                            f"is the webhook address right?")
        if "error" in body:
            raise PullError(self.http.masked(f"The portal {self.host} answered {method} with the error {body.get('error')}: "
                                             f"{body.get('error_description', '')}. Check the webhook's rights and try again."))
        t = body.get("time") or {}
        if self.server_time is None and isinstance(t, dict) and t.get("date_start"):
            self.server_time = str(t["date_start"])
        return body

    def batch(self, cmds: dict[str, tuple[str, dict]]) -> dict[str, dict]:
        """Run read commands in one ``batch`` call; commands that hit a limit are sent again after a pause."""
        pending = dict(cmds)
        out: dict[str, dict] = {}
        attempt = 0
        while pending:
            body = self.call("batch", {"halt": 0, "cmd": {k: f"{m}?{php_query(p)}" for k, (m, p) in pending.items()}})
            res = body["result"]
            errors = res.get("result_error") or {}
            results = res.get("result") or {}
            if isinstance(errors, list):
                errors = {}
            if isinstance(results, list):
                results = {str(i): r for i, r in enumerate(results)}
            for k in list(pending):
                if k in results and k not in errors:
                    out[k] = {"result": results[k], "total": (res.get("result_total") or {}).get(k),
                              "next": (res.get("result_next") or {}).get(k)}
                    del pending[k]
            slow = {k: e for k, e in errors.items() if isinstance(e, dict) and e.get("error") in RETRY_ERRORS}
            hard = {k: e for k, e in errors.items() if k not in slow and k in pending}
            if hard:
                k, e = next(iter(hard.items()))
                method = pending[k][0]
                code = e.get("error") if isinstance(e, dict) else str(e)
                if code in ("insufficient_scope", "ACCESS_DENIED"):
                    raise PullError(f"The webhook has no right «{_scope_of(method)}», which {method} needs ({code} on "
                                    f"{self.host}). In Bitrix24 edit the inbound webhook, tick «{_scope_of(method)}» among "
                                    f"its rights (a pull needs crm, user and department), save it, and try again.")
                raise PullError(self.http.masked(f"The portal {self.host} answered {method} (inside a batch) with the error "
                                                 f"{code}: {e.get('error_description', '') if isinstance(e, dict) else ''}. "
                                                 f"Try again later; the pull resumes where it stopped."))
            if pending:
                if attempt >= self.http.max_retries:
                    raise PullError(f"The portal {self.host} kept answering QUERY_LIMIT_EXCEEDED or OPERATION_TIME_LIMIT "
                                    f"inside a batch after {attempt + 1} attempts. Try again later: the pull resumes "
                                    f"where it stopped.")
                self.http.retries += 1
                self.sleep(self.http._backoff(attempt))
                attempt += 1
        return out

    def fetch(self, entity: str, method: str, params: dict, store: Store, transform, *, items_key=None, keep=None):
        """Fetch every page of ``method`` into ``store`` (resumable through the state's cursor)."""
        if self.state.is_done(entity):
            self.counts[entity] = len(store)
            return
        start = int(self.state.get(entity).get("start", 0))
        params = {**params, "order": {"ID": "ASC"}}
        first = self.call(method, {**params, "start": start})
        total = int(first.get("total") or 0)
        bar = progress(entity, total)
        bar.update(min(start, total))

        def take(result):
            rows = result.get(items_key) if items_key and isinstance(result, dict) else result
            rows = [transform(r) for r in (rows or [])]
            rows = [r for r in rows if r is not None and (keep is None or keep(r))]
            store.upsert(rows)
            return len(rows)

        n = take(first["result"])
        bar.update(n)
        nxt = first.get("next")
        store.flush()
        self.state.set(entity, {"start": int(nxt) if nxt is not None else total, "total": total})
        while nxt is not None:
            starts = list(range(int(nxt), total, PAGE))[: self.batch_size]
            if not starts:
                break
            res = self.batch({f"p{s}": (method, {**params, "start": s}) for s in starts})
            for s in starts:
                bar.update(take(res[f"p{s}"]["result"]))
            last = res[f"p{starts[-1]}"]
            nxt = last.get("next")
            if nxt is None and starts[-1] + PAGE < total:
                nxt = starts[-1] + PAGE
            store.flush()
            self.state.set(entity, {"start": int(nxt) if nxt is not None else total, "total": total})
        bar.close()
        self.state.done(entity)
        self.counts[entity] = len(store)

    def simple(self, method: str, params: dict | None = None, *, items_key=None) -> list[dict]:
        """Every row of a small list (statuses, users, pipelines): pages fetched one by one."""
        out: list[dict] = []
        start = 0
        while True:
            body = self.call(method, {**(params or {}), "start": start})
            res = body["result"]
            rows = res.get(items_key, []) if items_key and isinstance(res, dict) else res
            out.extend(rows or [])
            if body.get("next") is None:
                return out
            start = int(body["next"])

    # ----- the pull
    def run(self) -> dict:
        t0 = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        self.state = State(self.out)
        prev_complete = bool(self.state.data.get("complete"))
        same_range = self.state.since == self.since and self.state.until == self.until
        watermark = self.state.data.get("watermark")
        incremental = None
        if prev_complete and same_range and watermark and not self.full:
            w = dt.datetime.fromisoformat(watermark) - INCREMENTAL_MARGIN
            incremental = w.isoformat(timespec="seconds")
        resumed = self.state.begin(self.since, self.until)
        if resumed:
            incremental = self.state.data.get("incremental")
        self.state.data["incremental"] = incremental
        self.state.save()

        # dictionaries: users, departments, sources, statuses, pipelines, fields
        users = self.simple("user.get", {"ADMIN_MODE": "true"})
        try:
            deps = {str(d["ID"]): d.get("NAME", "") for d in self.simple("department.get")}
        except PullError as e:
            if "right «department»" not in str(e):
                raise
            deps = {}
            self.warnings.append("The webhook has no right «department»: the managers' departments are left empty.")
        self.user_name = {}
        for u in users:
            name = " ".join(x for x in (u.get("LAST_NAME"), u.get("NAME"), u.get("SECOND_NAME")) if x).strip()
            self.user_name[str(u["ID"])] = name or f"{u.get('EMAIL') or u['ID']}"
        statuses = self.simple("crm.status.list", {"order": {"SORT": "ASC"}})
        sources = {s["STATUS_ID"]: s["NAME"] for s in statuses if s.get("ENTITY_ID") == "SOURCE"}
        lead_status = {s["STATUS_ID"]: s["NAME"] for s in statuses if s.get("ENTITY_ID") == "STATUS"}
        categories = self.simple("crm.category.list", {"entityTypeId": 2}, items_key="categories")
        if not any(str(c.get("id")) == "0" for c in categories):
            categories.insert(0, {"id": 0, "name": "Общая"})
        cat_name = {str(c["id"]): str(c.get("name") or c["id"]) for c in categories}
        stage_rows = {}
        for c in categories:
            cid = str(c["id"])
            ent = "DEAL_STAGE" if cid == "0" else f"DEAL_STAGE_{cid}"
            stage_rows[cid] = sorted([s for s in statuses if s.get("ENTITY_ID") == ent], key=lambda s: int(s.get("SORT") or 0))
        stage_name = {s["STATUS_ID"]: s["NAME"] for rows in stage_rows.values() for s in rows}
        deal_fields = self.call("crm.deal.fields")["result"]
        lead_fields = self.call("crm.lead.fields")["result"]

        def uf_labels(fields):
            out = {}
            for code, f in fields.items():
                if code.startswith("UF_"):
                    label = (f.get("listLabel") or f.get("formLabel") or f.get("title") or code)
                    out[code] = (str(label).strip() or code, {str(i.get("ID")): i.get("VALUE") for i in f.get("items") or []})
            return out

        deal_uf, lead_uf = uf_labels(deal_fields), uf_labels(lead_fields)

        def uf_value(v, items):
            if isinstance(v, list):
                return ", ".join(str(items.get(str(x), x)) for x in v)
            if v is None or v is False:
                return ""
            return str(items.get(str(v), v)) if items else str(v)

        def with_user_fields(row: dict, r: dict, fields: dict) -> dict:
            """``row`` with the record's user fields under their labels (the code where a label is taken)."""
            for code, (label, items) in fields.items():
                if code in r:
                    row[label if label not in row else code] = uf_value(r.get(code), items)
            return row

        # managers
        mgr = Store(self.out, "managers", "ID")
        mgr.upsert([{"ID": str(u["ID"]), "ФИО": self.user_name[str(u["ID"])], "Должность": u.get("WORK_POSITION") or "",
                     "Отдел": ", ".join(deps.get(str(d), "") for d in (u.get("UF_DEPARTMENT") or []) if deps.get(str(d))),
                     "Дата приёма": str(u.get("UF_EMPLOYMENT_DATE") or "")[:10],
                     "Дата увольнения": "", "ACTIVE": "Y" if u.get("ACTIVE") in (True, "Y", "true", 1) else "N"}
                    for u in users])
        mgr.flush()
        self.counts["managers"] = len(mgr)

        rng = {}
        if self.since:
            rng[">=DATE_CREATE"] = self.since
        if self.until:
            rng["<=DATE_CREATE"] = self.until
        mod = {">=DATE_MODIFY": incremental} if incremental else {}
        name = self.user_name.get

        def deal_row(r):
            closed = str(r.get("CLOSED") or "") == "Y"
            row = {"ID": str(r["ID"]), "Название сделки": r.get("TITLE") or "",
                   "Воронка": cat_name.get(str(r.get("CATEGORY_ID") or "0"), str(r.get("CATEGORY_ID") or "")),
                   "CATEGORY_ID": str(r.get("CATEGORY_ID") or "0"), "STAGE_ID": r.get("STAGE_ID") or "",
                   "Стадия сделки": stage_name.get(r.get("STAGE_ID") or "", r.get("STAGE_ID") or ""),
                   "Ответственный": name(str(r.get("ASSIGNED_BY_ID") or ""), "") if r.get("ASSIGNED_BY_ID") else "",
                   "ASSIGNED_BY_ID": str(r.get("ASSIGNED_BY_ID") or ""), "Сумма": _comma(r.get("OPPORTUNITY")),
                   "Валюта": r.get("CURRENCY_ID") or "", "Источник": sources.get(r.get("SOURCE_ID") or "", r.get("SOURCE_ID") or ""),
                   "SOURCE_ID": r.get("SOURCE_ID") or "", "ID лида": str(r.get("LEAD_ID") or ""),
                   "Сделка закрыта": "Да" if closed else "Нет", "Дата создания": r.get("DATE_CREATE") or "",
                   "Дата закрытия": (r.get("CLOSEDATE") or "") if closed else "", "DATE_MODIFY": r.get("DATE_MODIFY") or ""}
            return with_user_fields(row, r, deal_uf)

        deals = Store(self.out, "deals", "ID")
        self.fetch("deals", "crm.deal.list", {"filter": {**rng, **mod}, "select": ["*", "UF_*"]}, deals, deal_row)
        if len(deals) == 0:
            span = (f"created between {self.since or 'the start'} and {self.until or 'now'}" if (self.since or self.until)
                    else "at all")
            raise PullError(f"The portal {self.host} has no deals {span} that the webhook's user can see. Check --since and "
                            f"--until, and that the webhook was created by a user who sees every deal (an administrator).")

        def lead_row(r):
            row = {"ID": str(r["ID"]), "Название лида": r.get("TITLE") or "",
                   "Статус": lead_status.get(r.get("STATUS_ID") or "", r.get("STATUS_ID") or ""), "STATUS_ID": r.get("STATUS_ID") or "",
                   "Источник": sources.get(r.get("SOURCE_ID") or "", r.get("SOURCE_ID") or ""), "SOURCE_ID": r.get("SOURCE_ID") or "",
                   "Ответственный": name(str(r.get("ASSIGNED_BY_ID") or ""), "") if r.get("ASSIGNED_BY_ID") else "",
                   "ASSIGNED_BY_ID": str(r.get("ASSIGNED_BY_ID") or ""), "Дата создания": r.get("DATE_CREATE") or "",
                   "DATE_MODIFY": r.get("DATE_MODIFY") or ""}
            return with_user_fields(row, r, lead_uf)

        leads = Store(self.out, "leads", "ID")
        self.fetch("leads", "crm.lead.list", {"filter": {**rng, **mod}, "select": ["*", "UF_*"]}, leads, lead_row)

        hist_from = max(x for x in (self.since, incremental) if x) if (self.since or incremental) else None
        hflt = {">=CREATED_TIME": hist_from} if hist_from else {}
        cols = ["ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "CATEGORY_ID", "STAGE_SEMANTIC_ID", "STAGE_ID"]
        hist = Store(self.out, "stagehistory", "ID", columns=cols)
        self.fetch("stagehistory", "crm.stagehistory.list", {"entityTypeId": 2, "filter": hflt}, hist,
                   lambda r: {c: str(r.get(c) if r.get(c) is not None else "") for c in cols}, items_key="items")
        lcols = ["ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "STATUS_SEMANTIC_ID", "STATUS_ID"]
        lhist = Store(self.out, "leadhistory", "ID", columns=lcols)
        self.fetch("leadhistory", "crm.stagehistory.list", {"entityTypeId": 1, "filter": hflt}, lhist,
                   lambda r: {c: str(r.get(c) if r.get(c) is not None else "") for c in lcols}, items_key="items")

        def activity_row(r):
            t = str(r.get("TYPE_ID") or "")
            kind = ACTIVITY_TYPES.get(t) or ("Задача" if r.get("PROVIDER_ID") == "CRM_TODO" else None)
            if kind is None or str(r.get("OWNER_TYPE_ID")) not in ("1", "2"):
                return None
            task = kind == "Задача"
            owner = str(r.get("OWNER_ID") or "")
            return {"ID": str(r["ID"]), "Тип": kind,
                    "Ответственный": name(str(r.get("RESPONSIBLE_ID") or ""), "") if r.get("RESPONSIBLE_ID") else "",
                    "ID сделки": owner if str(r.get("OWNER_TYPE_ID")) == "2" else "",
                    "ID лида": owner if str(r.get("OWNER_TYPE_ID")) == "1" else "",
                    "Дата начала": r.get("START_TIME") or r.get("CREATED") or "",
                    "Длительность, сек": "" if task else _seconds_between(r.get("START_TIME"), r.get("END_TIME")),
                    "Крайний срок": (r.get("DEADLINE") or "") if task else "",
                    "Дата выполнения": (r.get("END_TIME") or "") if task and r.get("COMPLETED") == "Y" else "",
                    "TYPE_ID": t, "PROVIDER_ID": r.get("PROVIDER_ID") or "", "COMPLETED": r.get("COMPLETED") or ""}

        aflt: dict = {"OWNER_TYPE_ID": [1, 2]}
        if self.since:
            aflt[">=CREATED"] = self.since
        if incremental:
            aflt[">=LAST_UPDATED"] = incremental
        acts = Store(self.out, "activities", "ID")
        self.fetch("activities", "crm.activity.list", {"filter": aflt}, acts, activity_row)

        # links and scope: a lead's deal; history and activities of the pulled deals and leads only
        lead_deal = {}
        for r in deals.rows():
            if r.get("ID лида"):
                lead_deal.setdefault(str(r["ID лида"]), str(r["ID"]))
        for r in leads.rows():
            r["ID сделки"] = lead_deal.get(str(r["ID"]), "")
        leads.upsert(leads.rows())
        deal_ids, lead_ids = deals.keys(), leads.keys()
        hist.retain(lambda r: str(r["OWNER_ID"]) in deal_ids)
        lhist.retain(lambda r: str(r["OWNER_ID"]) in lead_ids)
        acts.retain(lambda r: (r["ID сделки"] in deal_ids) if r["ID сделки"] else (r["ID лида"] in lead_ids))
        for s in (leads, hist, lhist, acts):
            s.flush()
        self.counts.update({"deals": len(deals), "leads": len(leads), "stagehistory": len(hist), "leadhistory": len(lhist),
                            "activities": len(acts)})

        # funnels per pipeline, the config draft, the report
        df = deals.frame()
        per_cat = df["CATEGORY_ID"].astype(str).value_counts()
        funnels, maps, files = {}, {}, set()
        for c in categories:
            cid = str(c["id"])
            rows = stage_rows.get(cid) or []
            if not rows:
                continue
            stages, smap, used = [], {}, set()
            for s in rows:
                code = str(s["STATUS_ID"])
                bare = re.sub(r"^C\d+:", "", code)
                sem = (s.get("EXTRA") or {}).get("SEMANTICS") or {"S": "success", "F": "failure"}.get(s.get("SEMANTICS") or "", "process")
                kind = {"success": "won", "failure": "lost"}.get(sem, "open")
                key = {"WON": "won", "LOSE": "lost"}.get(bare) or slug(bare, "stage")
                while key in used:
                    key += "_2"
                used.add(key)
                stages.append({"key": key, "label_ru": s.get("NAME") or bare, "label_en": s.get("NAME") or bare, "kind": kind})
                smap[code] = key
                if bare != code:
                    smap.setdefault(bare, key)
            # two pipelines whose names give the same file name (Продажи and ПРОДАЖИ, or names without a letter
            # slug() keeps) must not overwrite each other's funnel: the second one's file carries its id
            fname = cat_name.get(cid, cid)
            if slug(fname) in files:
                fname = f"{fname} {cid}"
            files.add(slug(fname))
            try:
                funnels[cid] = write_funnel(self.out, fname, stages,
                                            header=f"Bitrix24 pipeline {cat_name.get(cid, cid)!r} (CATEGORY_ID {cid}) of {self.host}")
                maps[cid] = smap
            except PullError as e:
                self.warnings.append(str(e))
        if not funnels:
            raise PullError(f"No pipeline of {self.host} has both a success and a failure stage (crm.status.list), so no funnel "
                            f"can be written. Check the pipelines' stages in Bitrix24, or write the funnel by hand.")
        main = max(funnels, key=lambda c: int(per_cat.get(c, 0)))
        twins = [cid for cid in cat_name if cid != main and slug(cat_name[cid]) == slug(cat_name[main])]
        if len(funnels) > 1 and twins:
            self.warnings.append(f"The pipelines {', '.join(repr(f'{cat_name[c]} ({c})') for c in [main, *twins])} have "
                                 f"the same name: `pipeline: {cat_name[main]}` in the run config draft selects them all. "
                                 f"Rename them in Bitrix24 and pull again, or audit them together.")
        offsets = df["Дата создания"].astype(str).str.extract(r"([+-]\d\d:\d\d)$", expand=False).dropna()
        tz = "Europe/Moscow" if (len(offsets) and offsets.mode().iloc[0] == "+03:00") else None
        if tz is None:
            self.warnings.append("The portal's timestamps are not in Moscow time: set `timezone:` in the run config draft.")
        config = write_config_draft(self.out, client=self.host, preset="bitrix24", funnel_path=funnels[main], timezone=tz,
                                    head_of_sales=self.head_of_sales, stage_map=maps[main],
                                    pipeline=cat_name.get(main) if len(funnels) > 1 else None)
        hframe = hist.frame()
        comp = completeness(df.rename(columns={"ID": "deal_id", "Дата создания": "created_at", "STAGE_ID": "stage"}),
                            hframe.rename(columns={"OWNER_ID": "deal_id", "CREATED_TIME": "entered_at", "STAGE_ID": "stage"}),
                            timezone=tz)
        moved = hframe.groupby("OWNER_ID")["CATEGORY_ID"].nunique() if len(hframe) else pd.Series(dtype=int)
        self.state.data["watermark"] = self.server_time or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.state.finish()
        report = {
            "crm": "bitrix24", "portal": self.host, "pulled_at": self.state.data["watermark"],
            "range": {"since": self.since, "until": self.until}, "incremental_since": incremental, "resumed": resumed,
            "counts": dict(sorted(self.counts.items())),
            "requests": dict(sorted(self.http.calls.items())), "requests_total": int(sum(self.http.calls.values())),
            "retries": self.http.retries, "seconds": round(time.monotonic() - t0, 2),
            "completeness": comp, "deals_moved_between_pipelines": int((moved > 1).sum()),
            "moved_by": HISTORY_NOTE,
            "pipelines": [{"id": cid, "name": cat_name.get(cid, cid), "deals": int(per_cat.get(cid, 0)),
                           "funnel": funnels[cid].name} for cid in funnels],
            "run_config": config.name, "warnings": self.warnings,
        }
        write_report(self.out, report)
        self.http.close()
        return report


def pull(webhook: Secret, out: Path, since=None, until=None, head_of_sales=None, *, rate_per_sec: float = 2.0,
         timeout: float = 30, max_retries: int = 6, sleep=time.sleep, clock=time.monotonic, batch_size: int = BATCH,
         full: bool = False) -> dict:
    """Pull a Bitrix24 portal into ``out`` (see the module's docstring); returns the PULL_REPORT dict.

    ``since``/``until`` bound the deals' and leads' creation (a date, or an ISO moment). A
    folder whose last pull finished is brought up to date incrementally (what changed
    since), unless ``full``. ``rate_per_sec``, ``sleep``, ``clock`` and ``batch_size`` are
    there for tests and slow portals.
    """
    if not isinstance(webhook, Secret):
        webhook = Secret(str(webhook))
    p = _Pull(webhook, Path(out), since=since, until=until, head_of_sales=head_of_sales, rate_per_sec=rate_per_sec,
              timeout=timeout, max_retries=max_retries, sleep=sleep, clock=clock, batch_size=batch_size, full=full)
    try:
        return p.run()
    finally:
        p.http.close()
