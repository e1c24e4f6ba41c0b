"""A local Bitrix24 portal speaking the REST protocol of an inbound webhook, for the pull tests.

``https://<portal>/rest/<user_id>/<code>/<method>.json`` becomes
``http://127.0.0.1:<port>/rest/<user_id>/<code>/<method>.json``. The portal is built from
the demo department's file export (data_samples/demo_bitrix24): its deals, leads, stage
history, activities and employees are served as ``crm.deal.list``, ``crm.lead.list``,
``crm.stagehistory.list``, ``crm.activity.list`` and ``user.get`` would serve them, with the
protocol's details as Bitrix24's documentation describes them:

- parameters as a JSON body or PHP-style query (``filter[>=DATE_CREATE]=…``); filters with
  the ``=, !=, <, >, <=, >=`` prefixes; ``order``; pages of 50 rows with ``next`` and ``total``;
- ``batch`` with up to 50 ``cmd`` entries (``method?query``), ``halt``, and
  ``result``/``result_error``/``result_total``/``result_next``;
- the leaky-bucket limit (``QUERY_LIMIT_EXCEEDED``, HTTP 503), ``OPERATION_TIME_LIMIT`` (429),
  error bodies ``{"error", "error_description"}`` for 401 (``NO_AUTH_FOUND``), 403
  (``insufficient_scope``) and unknown methods; an unknown path answers 404 with an HTML page;
- faults injected per method and page: a 503/500/429 once, a slow answer, a permanent failure;
- with ``Portal(second_pipeline=True)``, a second pipeline (``crm.category.list`` id 3, its stages
  ``C3:…`` under ``ENTITY_ID`` ``DEAL_STAGE_3`` with ``EXTRA.SEMANTICS``), deals created in it, and
  open deals of pipeline 0 moved to it mid-life: their history keeps the rows of pipeline 0 and
  goes on with a ``TYPE_ID`` 5 row (moved to another pipeline) and rows of pipeline 3, each row
  with its ``CATEGORY_ID``.

``server.log`` lists every method called, the commands inside a batch included.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
from local_server import LocalServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data_samples" / "demo_bitrix24"
TZ = "+03:00"
PAGE = 50

# the demo portal's deal stages (pipeline 0, «Общая»), in order, with their semantics
STAGES = [
    ("NEW", "Новая", "P"), ("PREPARATION", "Квалификация", "P"), ("UC_NEEDS", "Выявление потребностей", "P"),
    ("UC_OFFER", "Коммерческое предложение", "P"), ("PREPAYMENT_INVOICE", "Счёт выставлен", "P"),
    ("UC_ARCHIVE", "Архив", "P"), ("WON", "Сделка успешна", "S"), ("LOSE", "Сделка провалена", "F"),
    ("UC_CANCEL", "Клиент отказался", "F"),
]
LEAD_STATUSES = [("NEW", "Не обработан", "P"), ("IN_PROCESS", "В работе", "P"), ("PROCESSED", "Обработан", "P"),
                 ("CONVERTED", "Качественный лид", "S"), ("JUNK", "Некачественный лид", "F")]
ACT_TYPES = {"Встреча": "1", "Звонок": "2", "Задача": "3", "Письмо": "4"}
# user fields of the demo portal: code -> (list label, source column)
DEAL_UF = {"UF_CRM_PRODUCT": ("Товар", "Товар"), "UF_CRM_DISCOUNT": ("Скидка, %", "Скидка, %"),
           "UF_CRM_PAY_TERMS": ("Условия оплаты", "Условия оплаты"), "UF_CRM_LOSS_REASON": ("Причина отказа", "Причина отказа")}
LEAD_UF = {"UF_CRM_FIRST_REPLY": ("Дата первого ответа", "Дата первого ответа"),
           "UF_CRM_LOSS_REASON": ("Причина отказа", "Причина отказа")}
SCOPES = {"crm": "crm", "user": "user", "department": "department", "tasks": "task"}
SEMANTICS = {"P": "process", "S": "success", "F": "failure"}
CATEGORY0 = {"id": 0, "name": "Общая", "sort": 100, "entityTypeId": 2, "isDefault": "Y"}
# the second pipeline (only with Portal(second_pipeline=True)): Bitrix24 names its stages C3:…; the
# status ids are not in the stages' order (the stages were reordered after they were made): SORT decides
STAGES3 = [("C3:NEW", "Новая", "P", 10), ("C3:PREPARATION", "Подготовка документов", "P", 20),
           ("C3:EXECUTING", "В работе", "P", 30), ("C3:WON", "Сделка успешна", "S", 40), ("C3:LOSE", "Сделка провалена", "F", 50)]
STATUS_ID_ORDER3 = ["C3:WON", "C3:LOSE", "C3:EXECUTING", "C3:NEW", "C3:PREPARATION"]
CATEGORY3 = {"id": 3, "name": "Сервисные контракты", "sort": 200, "entityTypeId": 2, "isDefault": "N"}
# the paths of the deals created in pipeline 3: i % 5 -> the stages they went through
PATHS3 = [["C3:NEW"], ["C3:NEW", "C3:PREPARATION"], ["C3:NEW", "C3:PREPARATION", "C3:EXECUTING"],
          ["C3:NEW", "C3:PREPARATION", "C3:EXECUTING", "C3:WON"], ["C3:NEW", "C3:PREPARATION", "C3:LOSE"]]
# where a deal moved from pipeline 0 went after its move (into C3:NEW): i % 3
AFTER_MOVE3 = [[], ["C3:EXECUTING"], ["C3:EXECUTING", "C3:WON"]]


def iso(v: str) -> str:
    """dd.mm.yyyy[ HH:MM[:SS]] -> ISO with the portal's offset; anything else as it is (the export's anomalies)."""
    v = (v or "").strip()
    for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(v, fmt).strftime("%Y-%m-%dT%H:%M:%S") + TZ
        except ValueError:
            pass
    return v


def _read(name):
    """An export table as a portal holds it: a row without an id, or an id's second row, cannot exist there."""
    t = pd.read_csv(DEMO / name, sep=";", encoding="cp1251", dtype=str, keep_default_na=False)
    if "ID" in t:
        t = t[t["ID"].str.strip() != ""].drop_duplicates("ID", keep="first")
    return t


class Portal:
    """The demo export as Bitrix24 holds it: rows with API field codes."""

    def __init__(self, now="2026-11-01T00:00:00+03:00", *, second_pipeline: bool = False, native3: int = 100,
                 moved3: int = 20):
        self.now = now
        self.categories: list[dict] = [dict(CATEGORY0)]
        self.deal_stages: dict[str, list[tuple[str, str, str, int]]] = {
            "0": [(c, n, s, 10 * (i + 1)) for i, (c, n, s) in enumerate(STAGES)]}
        self.sources: dict[str, str] = {}
        self.users: list[dict] = []
        self.departments: list[dict] = []
        mg = _read("managers.csv")
        deps: dict[str, str] = {}
        self._uid: dict[str, str] = {}
        for r in mg.to_dict("records"):
            parts = r["ФИО"].split()
            dep = deps.setdefault(r["Отдел"], str(len(deps) + 1)) if r["Отдел"] else None
            self.users.append({"ID": r["ID"], "LAST_NAME": parts[0] if parts else "", "NAME": parts[1] if len(parts) > 1 else "",
                               "SECOND_NAME": " ".join(parts[2:]), "WORK_POSITION": r["Должность"], "ACTIVE": not r["Дата увольнения"],
                               "UF_DEPARTMENT": [int(dep)] if dep else [], "UF_EMPLOYMENT_DATE": iso(r["Дата приёма"]) if r["Дата приёма"] else ""})
            self._uid[r["ФИО"]] = r["ID"]
        self.departments = [{"ID": i, "NAME": n} for n, i in deps.items()]
        name_to_stage = {n: c for c, n, _ in STAGES}
        hist = pd.read_csv(DEMO / "stagehistory.csv", dtype=str, keep_default_na=False)
        self.stagehistory = {2: hist.to_dict("records"), 1: []}
        last_hist = hist.groupby("OWNER_ID").last()
        d = _read("deals.csv")
        self.deals = []
        for r in d.to_dict("records"):
            did = r["ID"]
            h = last_hist.loc[did] if did in last_hist.index else None
            modify = max([iso(r["Дата создания"])] + ([h["CREATED_TIME"]] if h is not None else []))
            row = {"ID": did, "TITLE": r["Название сделки"], "CATEGORY_ID": "0",
                   "STAGE_ID": name_to_stage.get(r["Стадия сделки"], r["Стадия сделки"]),
                   "ASSIGNED_BY_ID": self.uid(r["Ответственный"]), "OPPORTUNITY": r["Сумма"].replace(" ", "").replace(",", "."),
                   "CURRENCY_ID": r["Валюта"], "SOURCE_ID": self.source(r["Источник"]), "LEAD_ID": r["ID лида"] or None,
                   "CLOSED": "Y" if r["Сделка закрыта"] == "Да" else "N", "DATE_CREATE": iso(r["Дата создания"]),
                   "DATE_MODIFY": modify, "CLOSEDATE": iso(r["Дата закрытия"]), "MODIFY_BY_ID": "1"}
            for code, (_, col) in DEAL_UF.items():
                row[code] = r[col]
            self.deals.append(row)
        le = _read("leads.csv")
        st = {n: c for c, n, _ in LEAD_STATUSES}
        self.leads = []
        for r in le.to_dict("records"):
            row = {"ID": r["ID"], "TITLE": r["Название лида"], "STATUS_ID": st.get(r["Статус"], r["Статус"]),
                   "SOURCE_ID": self.source(r["Источник"]), "ASSIGNED_BY_ID": self.uid(r["Ответственный"]),
                   "DATE_CREATE": iso(r["Дата создания"]), "DATE_MODIFY": iso(r["Дата создания"])}
            row["UF_CRM_FIRST_REPLY"] = iso(r["Дата первого ответа"])
            row["UF_CRM_LOSS_REASON"] = r["Причина отказа"]
            self.leads.append(row)
        ac = _read("activities.csv")
        self.activities = []
        for r in ac.to_dict("records"):
            start = iso(r["Дата начала"])
            dur = r["Длительность, сек"]
            end = ""
            if dur and re.fullmatch(r"\d+", dur) and re.match(r"\d{4}-", start):
                end = (dt.datetime.fromisoformat(start) + dt.timedelta(seconds=int(dur))).isoformat()
            owner_type, owner = ("2", r["ID сделки"]) if r["ID сделки"] else ("1", r["ID лида"])
            done = iso(r["Дата выполнения"])
            self.activities.append({
                "ID": r["ID"], "TYPE_ID": ACT_TYPES.get(r["Тип"], "6"), "OWNER_TYPE_ID": owner_type, "OWNER_ID": owner,
                "RESPONSIBLE_ID": self.uid(r["Ответственный"]), "START_TIME": start,
                "END_TIME": done if r["Тип"] == "Задача" else end, "DEADLINE": iso(r["Крайний срок"]),
                "COMPLETED": "Y" if (done or r["Тип"] != "Задача") else "N", "CREATED": start, "LAST_UPDATED": done or start,
                "SETTINGS": {"DURATION": dur} if dur and not re.fullmatch(r"\d+", dur) else {},
            })

        if second_pipeline:
            self.add_second_pipeline(native3, moved3)

    def add_second_pipeline(self, native: int, moved: int) -> None:
        """Pipeline 3 «Сервисные контракты»: ``native`` deals created in it (one week, 2026-10-05..11, so that in
        that week it holds more deals than pipeline 0), and ``moved`` open deals of pipeline 0 moved to it."""
        self.categories.append(dict(CATEGORY3))
        self.deal_stages["3"] = list(STAGES3)
        sem = {c: s for c, _, s, _ in STAGES3}
        hist = self.stagehistory[2]
        next_hist = max(int(r["ID"]) for r in hist) + 1000
        managers = [u["ID"] for u in self.users if u["ACTIVE"] and u["UF_DEPARTMENT"]]
        sources = sorted(self.sources.values())
        end = dt.datetime.fromisoformat("2026-10-31T12:00:00" + TZ)

        def row(owner, when, stage, type_id):
            nonlocal next_hist
            next_hist += 1
            return {"ID": str(next_hist), "TYPE_ID": type_id, "OWNER_ID": owner, "CREATED_TIME": when.isoformat(),
                    "CATEGORY_ID": "3", "STAGE_SEMANTIC_ID": sem[stage], "STAGE_ID": stage}

        def type_of(stage):
            return "2" if sem[stage] == "P" else "3"

        template = {k: "" for k in self.deals[0]}
        start = dt.datetime.fromisoformat("2026-10-05T09:00:00" + TZ)
        for i in range(native):
            did = str(90001 + i)
            created = start + dt.timedelta(minutes=(7 * 24 * 60 - 60) * i // max(native, 1))
            path = PATHS3[i % len(PATHS3)]
            rows = [row(did, created, path[0], "1")]
            for k, stage in enumerate(path[1:], 1):
                rows.append(row(did, created + dt.timedelta(days=k, hours=k), stage, type_of(stage)))
            hist.extend(rows)
            last = rows[-1]
            closed = sem[last["STAGE_ID"]] != "P"
            self.deals.append({**template, "ID": did, "TITLE": f"Сервисный контракт {i + 1}", "CATEGORY_ID": "3",
                               "STAGE_ID": last["STAGE_ID"], "ASSIGNED_BY_ID": managers[i % len(managers)],
                               "OPPORTUNITY": f"{12000 + 500 * i}.00", "CURRENCY_ID": "RUB",
                               "SOURCE_ID": sources[i % len(sources)], "LEAD_ID": None, "CLOSED": "Y" if closed else "N",
                               "DATE_CREATE": created.isoformat(), "DATE_MODIFY": last["CREATED_TIME"],
                               "CLOSEDATE": last["CREATED_TIME"] if closed else "", "MODIFY_BY_ID": "1"})
        # open deals of pipeline 0 with some history, moved a day after their last stage
        n_rows: dict[str, int] = {}
        last_at: dict[str, str] = {}
        for r in hist:
            if r["CATEGORY_ID"] == "0":
                n_rows[r["OWNER_ID"]] = n_rows.get(r["OWNER_ID"], 0) + 1
                last_at[r["OWNER_ID"]] = max(last_at.get(r["OWNER_ID"], ""), r["CREATED_TIME"])
        open0 = {c for c, _, s in STAGES if s == "P"}
        candidates = [d for d in self.deals if d["CATEGORY_ID"] == "0" and d["STAGE_ID"] in open0
                      and n_rows.get(d["ID"], 0) >= 2 and last_at[d["ID"]] < "2026-10-25"
                      and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", d["DATE_CREATE"])
                      and re.fullmatch(r"\d+\.\d\d", d["OPPORTUNITY"])]
        for i, d in enumerate(candidates[::2][:moved]):
            when = dt.datetime.fromisoformat(last_at[d["ID"]]) + dt.timedelta(days=1)
            rows = [row(d["ID"], when, "C3:NEW", "5")]
            for k, stage in enumerate(AFTER_MOVE3[i % len(AFTER_MOVE3)], 1):
                rows.append(row(d["ID"], min(when + dt.timedelta(days=k), end), stage, type_of(stage)))
            hist.extend(rows)
            last = rows[-1]
            closed = sem[last["STAGE_ID"]] != "P"
            d.update(CATEGORY_ID="3", STAGE_ID=last["STAGE_ID"], DATE_MODIFY=last["CREATED_TIME"],
                     CLOSED="Y" if closed else "N", CLOSEDATE=last["CREATED_TIME"] if closed else d["CLOSEDATE"])

    def uid(self, name: str) -> str:
        if not name:
            return ""
        if name not in self._uid:
            uid = str(900 + len(self._uid))
            parts = name.split()
            self.users.append({"ID": uid, "LAST_NAME": parts[0], "NAME": " ".join(parts[1:2]), "SECOND_NAME": " ".join(parts[2:]),
                               "WORK_POSITION": "", "ACTIVE": True, "UF_DEPARTMENT": [], "UF_EMPLOYMENT_DATE": ""})
            self._uid[name] = uid
        return self._uid[name]

    def source(self, name: str) -> str:
        if not name:
            return ""
        return self.sources.setdefault(name, f"SRC{len(self.sources) + 1}")

    # ----- statuses
    def statuses(self) -> list[dict]:
        out = []
        for cat, stages in self.deal_stages.items():
            ids = STATUS_ID_ORDER3 if cat == "3" else [c for c, *_ in stages]
            for c, n, s, sort in stages:
                out.append({"ID": str(100 * (1 + 3 * int(cat)) + ids.index(c)),
                            "ENTITY_ID": "DEAL_STAGE" if cat == "0" else f"DEAL_STAGE_{cat}", "STATUS_ID": c, "NAME": n,
                            "SORT": str(sort), "CATEGORY_ID": cat, "SEMANTICS": None if s == "P" else s,
                            "EXTRA": {"SEMANTICS": SEMANTICS[s]}})
        for i, (c, n, s) in enumerate(LEAD_STATUSES):
            out.append({"ID": str(200 + i), "ENTITY_ID": "STATUS", "STATUS_ID": c, "NAME": n, "SORT": str(10 * (i + 1)),
                        "SEMANTICS": None if s == "P" else s, "EXTRA": {"SEMANTICS": {"P": "process", "S": "success", "F": "failure"}[s]}})
        for i, (n, c) in enumerate(self.sources.items()):
            out.append({"ID": str(300 + i), "ENTITY_ID": "SOURCE", "STATUS_ID": c, "NAME": n, "SORT": str(10 * (i + 1))})
        return out


# --------------------------------------------------------------------------- protocol helpers

def parse_php(pairs) -> dict:
    """``[("filter[>=DATE_CREATE]", v), ("select[]", "*")]`` -> nested dicts/lists, as PHP reads a query."""
    out: dict = {}
    for key, value in pairs:
        m = re.match(r"^([^\[]+)((?:\[[^\]]*\])*)$", key)
        if not m:
            continue
        parts = [m.group(1)] + re.findall(r"\[([^\]]*)\]", m.group(2))
        cur = out
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(cur, list):
                if last:
                    cur.append(value)
                    break
                cur.append({})
                cur = cur[-1]
                continue
            if last:
                cur[p] = value
            else:
                nxt_list = parts[i + 1] == ""
                cur = cur.setdefault(p, [] if nxt_list else {})
    return out


def _cmp_value(v):
    s = "" if v is None else str(v)
    if re.fullmatch(r"-?\d+", s):
        return (0, int(s), "")
    if re.match(r"^\d{4}-\d{2}-\d{2}", s):
        try:
            t = dt.datetime.fromisoformat(s if "T" in s or len(s) > 10 else s + "T00:00:00")
            if t.tzinfo is None:
                t = t.replace(tzinfo=dt.timezone(dt.timedelta(hours=3)))
            return (1, t.timestamp(), "")
        except ValueError:
            pass
    return (2, 0, s)


def _match(row: dict, flt: dict) -> bool:
    for k, want in (flt or {}).items():
        m = re.match(r"^(>=|<=|!=|>|<|=|!)?(.+)$", k)
        op, field = m.group(1) or "=", m.group(2)
        have = row.get(field)
        if isinstance(want, list):
            ok = str(have) in [str(w) for w in want]
            if op in ("!", "!="):
                ok = not ok
            if not ok:
                return False
            continue
        a, b = _cmp_value(have), _cmp_value(want)
        if op in (">=", "<=", ">", "<") and (have in (None, "") or a[0] != b[0]):
            return False
        ok = {"=": a == b, "!=": a != b, "!": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]
        if not ok:
            return False
    return True


class ApiError(Exception):
    def __init__(self, status, error, description):
        self.status, self.error, self.description = status, error, description


class FakeBitrix24(LocalServer):
    """The server; ``url`` is the inbound webhook (``http://127.0.0.1:<port>/rest/1/<code>/``)."""

    def __init__(self, portal: Portal | None = None, *, code="k0d3s3cr3tw3bh00kx9", user_id="1",
                 scopes=("crm", "user", "department", "task"), limit: tuple[float, float] | None = None,
                 missing: bool = False):
        self.portal = portal or Portal()
        self.code = code
        self.user_id = user_id
        self.scopes = set(scopes)
        self.missing = missing                  # True: no portal at this address (every path 404)
        self.limit = limit                      # (X, Y): bucket size and drain per second
        self._level = 0.0
        self._t = time.monotonic()
        self.log: list[tuple[str, str, dict]] = []  # (verb, method, params), batch commands included
        self.requests: list[tuple[float, str]] = []  # (monotonic time, method) of every HTTP request
        self.faults: dict[tuple[str, int], list] = {}  # (method, start) -> [(status, error), ...] served once each
        self.broken: set[tuple[str, int]] = set()   # (method, start) failing permanently (HTTP 500)
        self.slow: dict[tuple[str, int], float] = {}  # (method, start) -> seconds to wait before answering
        self.lock = threading.Lock()
        self.version = 0                        # bump after changing the portal's rows (drops the page cache)
        self._cache: dict = {}
        self._serve(self._handler())

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.root}/rest/{self.user_id}/{self.code}/"

    def methods(self) -> set[str]:
        return {m for _, m, _ in self.log}

    # ----- methods
    def call(self, method: str, params: dict, *, inner=False) -> dict:
        start = int(params.get("start") or 0)
        with self.lock:
            self.log.append(("BATCH" if inner else "POST", method, params))
            key = (method, start)
            if key in self.broken:
                raise ApiError(500, "INTERNAL_SERVER_ERROR", "Internal server error")
            if self.faults.get(key):
                status, error = self.faults[key].pop(0)
                raise ApiError(status, error, {"QUERY_LIMIT_EXCEEDED": "Too many requests",
                                               "OPERATION_TIME_LIMIT": "Method is blocked due to operation time limit."}.get(error, "Internal error"))
            delay = self.slow.get(key, 0)
        if delay:
            time.sleep(delay)
        scope = "user" if method.startswith("user.") else "department" if method.startswith("department.") else \
            "task" if method.startswith("tasks.") else "crm"
        if method != "batch" and scope not in self.scopes:
            raise ApiError(403, "insufficient_scope", "The request requires higher privileges than provided by the webhook token")
        p = self.portal
        order = params.get("order") or {}
        flt = params.get("filter") or {}
        if method == "crm.deal.list":
            return self._page(p.deals, flt, order, start)
        if method == "crm.lead.list":
            return self._page(p.leads, flt, order, start)
        if method == "crm.activity.list":
            return self._page(p.activities, flt, order, start)
        if method == "crm.stagehistory.list":
            et = int(params.get("entityTypeId") or 0)
            if et not in (1, 2, 5):
                raise ApiError(400, "ERROR_ARGUMENT", "entityTypeId is required")
            page = self._page(p.stagehistory.get(et, []), flt, order, start)
            page["result"] = {"items": page["result"]}
            return page
        if method == "crm.status.list":
            return self._page(p.statuses(), flt, order, start)
        if method == "crm.category.list":
            page = self._page(p.categories, {}, {}, start)
            page["result"] = {"categories": page["result"]}
            return page
        if method == "crm.deal.fields":
            return {"result": {**{k: {"type": "string", "title": k} for k in p.deals[0] if not k.startswith("UF_")},
                               **{c: {"type": "string", "title": c, "listLabel": lab, "formLabel": lab, "isDynamic": True}
                                  for c, (lab, _) in DEAL_UF.items()}}}
        if method == "crm.lead.fields":
            return {"result": {**{k: {"type": "string", "title": k} for k in p.leads[0] if not k.startswith("UF_")},
                               **{c: {"type": "datetime" if "REPLY" in c else "string", "title": c, "listLabel": lab,
                                      "formLabel": lab, "isDynamic": True} for c, (lab, _) in LEAD_UF.items()}}}
        if method == "user.get":
            return self._page(p.users, {k: v for k, v in flt.items() if k != "USER_TYPE"}, order, start)
        if method == "department.get":
            return self._page(p.departments, {}, {}, start)
        if method == "batch":
            return self._batch(params)
        raise ApiError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")

    def _page(self, rows, flt, order, start):
        key = (id(rows), len(rows), self.version, json.dumps(flt, sort_keys=True, default=str), json.dumps(order, sort_keys=True))
        with self.lock:
            sel = self._cache.get(key)
        if sel is None:
            sel = [r for r in rows if _match(r, flt)]
            for k, direction in reversed(list((order or {}).items())):
                sel.sort(key=lambda r: _cmp_value(r.get(k)), reverse=str(direction).upper() == "DESC")
            with self.lock:
                self._cache[key] = sel
        out = {"result": sel[start:start + PAGE], "total": len(sel),
               "time": {"start": time.time(), "date_start": self.portal.now}}
        if start + PAGE < len(sel):
            out["next"] = start + PAGE
        return out

    def _batch(self, params):
        cmds = params.get("cmd") or {}
        if isinstance(cmds, list):
            cmds = {str(i): c for i, c in enumerate(cmds)}
        if len(cmds) > 50:
            raise ApiError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
        halt = str(params.get("halt", "0")) not in ("0", "", "false")
        res, err, tot, nxt = {}, {}, {}, {}
        for k, cmd in cmds.items():
            method, _, query = cmd.partition("?")
            try:
                r = self.call(method, parse_php(parse_qsl(query, keep_blank_values=True)), inner=True)
            except ApiError as e:
                err[k] = {"error": e.error, "error_description": e.description}
                if halt:
                    break
                continue
            res[k] = r["result"]
            if "total" in r:
                tot[k] = r["total"]
            if "next" in r:
                nxt[k] = r["next"]
        return {"result": {"result": res, "result_error": err, "result_total": tot, "result_next": nxt, "result_time": {}},
                "time": {"date_start": self.portal.now}}

    # ----- HTTP
    def _limited(self) -> bool:
        if not self.limit:
            return False
        x, y = self.limit
        with self.lock:
            now = time.monotonic()
            self._level = max(0.0, self._level - (now - self._t) * y)
            self._t = now
            if self._level + 1 > x:
                return True
            self._level += 1
            return False

    def _handler(self):
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, status, body, ctype="application/json; charset=utf-8"):
                data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, verb):
                u = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                m = re.match(r"^/rest/([^/]+)/([^/]+)/([A-Za-z0-9_.]+?)(?:\.json)?/?$", u.path)
                server.requests.append((time.monotonic(), m.group(3) if m else u.path))
                if not m or server.missing:
                    return self._send(404, b"<html><body><h1>404 Not Found</h1>Portal not found</body></html>", "text/html")
                if server._limited():
                    return self._send(503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
                user, code, method = m.groups()
                if user != server.user_id or code != server.code:
                    return self._send(401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"})
                params = parse_php(parse_qsl(u.query, keep_blank_values=True))
                if raw:
                    ctype = self.headers.get("Content-Type", "")
                    if "json" in ctype:
                        params.update(json.loads(raw.decode("utf-8")))
                    else:
                        params.update(parse_php(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
                try:
                    self._send(200, server.call(method, params))
                except ApiError as e:
                    self._send(e.status, {"error": e.error, "error_description": e.description})
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return H
