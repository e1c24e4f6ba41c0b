"""A corpus of malformed CRM exports, each with its run config and the verdict it must get.

Not a test module (no ``test_`` prefix): ``tests/test_corpus.py`` runs ``salesaudit check`` on
every case. Each :class:`Case` is built from a trimmed, clean copy of a committed sample export
(:func:`base_tables`): ``data_samples/demo_generic`` (generic shape), ``data_samples/demo_bitrix24``
(Bitrix24 shape) or an amoCRM "Сделки" export written from the generic deals. The copy keeps
:data:`N_DEALS` deals spread over the whole sample, their leads, stage history, activities and
payments, and drops every row the sample plants on purpose (``MANIFEST.json``), so that a case's
quarantine holds exactly the rows the case mutated. The base is the sellers' deals: the web form's
deals without a manager or owned by the CRM robot (no amount, no product, no lead; ``owner_groups``
of ``ANOMALIES.json``) are left out, so that a case that empties a column or breaks an amount starts
from a base without empty cells.

``build_case(case, root)`` writes ``root/data/…`` and ``root/config.yaml`` and returns the config
path and the final :class:`Expect` (a build function may add quarantine counts it computed from
the data, e.g. the stage-history rows of a quarantined deal, ``deal_quarantined``).
"""
from __future__ import annotations

import copy
import csv
import datetime as dt
import gzip
import html
import io
import json
import zipfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import yaml

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data_samples"
CLIENTS = REPO / "params" / "clients"
FUNNELS = REPO / "params" / "funnels"

#: deals kept in the trimmed base of the generic and Bitrix24 shapes (spread over the sample)
N_DEALS = 300

__all__ = ["Case", "Expect", "Export", "Table", "Fmt", "CASES", "build_case", "base_tables", "base_config", "refused", "config_error", "accepted", "N_DEALS"]


# ---------------------------------------------------------------------------
# tables of text


@dataclass(frozen=True)
class Fmt:
    """How a table is written: encoding, separator, line ending."""

    encoding: str = "utf-8"
    sep: str = ","
    eol: str = "\n"


@dataclass
class Table:
    """A CSV file as text cells: a header (names may repeat, as Bitrix24's ``ID``) and rows."""

    header: list[str]
    rows: list[list[str]]
    fmt: Fmt = Fmt()

    def idx(self, name: str, nth: int = 1) -> int:
        hits = [i for i, h in enumerate(self.header) if h == name]
        if len(hits) < nth:
            raise KeyError(f"no column {name!r} (#{nth}) in {self.header}")
        return hits[nth - 1]

    def col(self, name: str) -> list[str]:
        i = self.idx(name)
        return [r[i] for r in self.rows]

    def get(self, row: int, name: str) -> str:
        return self.rows[row][self.idx(name)]

    def set(self, row: int, name: str, value: str) -> None:
        self.rows[row][self.idx(name)] = value

    def where(self, name: str, values) -> list[int]:
        """Indices of the rows whose ``name`` is one of ``values``."""
        i, values = self.idx(name), set(values)
        return [k for k, r in enumerate(self.rows) if r[i] in values]

    def keep_rows(self, keep: Callable[[list[str]], bool]) -> None:
        self.rows = [r for r in self.rows if keep(r)]

    def drop_column(self, name: str) -> None:
        i = self.idx(name)
        self.header.pop(i)
        for r in self.rows:
            r.pop(i)

    def rename_column(self, old: str, new: str) -> None:
        self.header[self.idx(old)] = new

    def copy(self) -> "Table":
        return Table(list(self.header), [list(r) for r in self.rows], self.fmt)

    def text(self, sep: str | None = None, eol: str | None = None) -> str:
        buf = io.StringIO(newline="")
        w = csv.writer(buf, delimiter=sep or self.fmt.sep, lineterminator=eol or self.fmt.eol)
        w.writerow(self.header)
        w.writerows(self.rows)
        return buf.getvalue()

    def encode(self, encoding: str | None = None, sep: str | None = None, eol: str | None = None) -> bytes:
        return self.text(sep, eol).encode(encoding or self.fmt.encoding)


def _sniff_fmt(path: Path) -> Fmt:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
        encoding = "utf-8"
    except UnicodeDecodeError:
        text = data.decode("cp1251")
        encoding = "cp1251"
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    return Fmt(encoding, sep, "\r\n" if b"\r\n" in data[:65536] else "\n")


def read_table(path: Path) -> tuple[Table, list[int]]:
    """A sample CSV as a :class:`Table`, and the physical line number each row starts on."""
    fmt = _sniff_fmt(path)
    with open(path, encoding=fmt.encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=fmt.sep)
        header = next(reader)
        rows, lines = [], []
        start = reader.line_num + 1
        for rec in reader:
            rows.append(rec)
            lines.append(start)
            start = reader.line_num + 1
    return Table(header, rows, fmt), lines


# ---------------------------------------------------------------------------
# the clean, trimmed bases

FILES = {
    "generic": {
        "managers": "managers.csv", "deals": "deals.csv", "leads": "leads.csv", "stage_history": "stage_history.csv",
        "activities": "activities.csv", "payments": "payments.csv", "plans": "plans.csv",
    },
    "bitrix24": {
        "managers": "managers.csv", "deals": "deals.csv", "leads": "leads.csv", "stage_history": "stagehistory.csv",
        "activities": "activities.csv", "payments": "payments.csv", "plans": "plans.csv",
    },
    "amocrm": {"deals": "amocrm_export_leads_2026-10-31.csv"},
}

#: the columns that tie the tables together, per shape
KEYS = {
    "generic": {"deal_id": "deal_id", "deal_lead": "lead_id", "lead_id": "lead_id", "history_deal": "deal_id", "payment_deal": "deal_id",
                "activity_deal": "deal_id", "activity_lead": "lead_id", "amount": "amount", "stage": "stage", "currency": "currency",
                "deal_manager": "manager"},
    "bitrix24": {"deal_id": "ID", "deal_lead": "ID лида", "lead_id": "ID", "history_deal": "OWNER_ID", "payment_deal": "ID сделки",
                 "activity_deal": "ID сделки", "activity_lead": "ID лида", "amount": "Сумма", "stage": "Стадия сделки", "currency": "Валюта",
                 "deal_manager": "Ответственный"},
    "amocrm": {"deal_id": "ID", "amount": "Бюджет ", "stage": "Этап сделки"},
}

SAMPLE_DIRS = {"generic": SAMPLES / "demo_generic", "bitrix24": SAMPLES / "demo_bitrix24"}


def _spread(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (all of them when ``n <= k``)."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


@lru_cache(maxsize=None)
def _clean_sample(shape: str) -> dict[str, Table]:
    src = SAMPLE_DIRS[shape]
    keys = KEYS[shape]
    manifest = json.loads((src / "MANIFEST.json").read_text(encoding="utf-8"))
    planted = {(p["file"], int(p["line"])) for p in manifest["planted"]}
    conflict = {str(p["key"]) for p in manifest["planted"] if p["table"] == "deals" and p["reason"] == "duplicate_conflict"}
    tables = {}
    for table, name in FILES[shape].items():
        t, lines = read_table(src / name)
        t.rows = [r for r, ln in zip(t.rows, lines) if (name, ln) not in planted and any(c.strip() for c in r)]
        tables[table] = t
    deals = tables["deals"]
    i = deals.idx(keys["deal_id"])
    # the web form's deals: no manager, or the CRM robot (by code or by name, as each export spells it)
    robot = json.loads((src / "ANOMALIES.json").read_text(encoding="utf-8"))["owner_groups"]
    web_form = {"", *robot["system_owners"], robot["robot_name"]}
    m = deals.idx(keys["deal_manager"])
    seen: set[str] = set()
    rows = []
    for r in deals.rows:
        if r[i] and r[i] not in conflict and r[i] not in seen and r[m].strip() not in web_form:
            seen.add(r[i])
            rows.append(r)
    deals.rows = rows
    return tables


@lru_cache(maxsize=None)
def _trimmed(shape: str) -> dict[str, Table]:
    tables = {k: v.copy() for k, v in _clean_sample(shape).items()}
    keys = KEYS[shape]
    deals = tables["deals"]
    deals.rows = [deals.rows[i] for i in _spread(len(deals.rows), N_DEALS)]
    deal_ids = set(deals.col(keys["deal_id"]))
    lead_ids = set(deals.col(keys["deal_lead"])) - {""}
    leads = tables["leads"]
    li = leads.idx(keys["lead_id"])
    leads.keep_rows(lambda r: r[li] in lead_ids)
    for table, col in (("stage_history", "history_deal"), ("payments", "payment_deal")):
        k = tables[table].idx(keys[col])
        tables[table].keep_rows(lambda r, k=k: r[k] in deal_ids)
    act = tables["activities"]
    ad, al = act.idx(keys["activity_deal"]), act.idx(keys["activity_lead"])
    act.keep_rows(lambda r: r[ad] in deal_ids or r[al] in lead_ids)
    return tables


#: generic stage keys -> the amoCRM default pipeline's stage names
AMO_STAGES = {
    "new": "Неразобранное", "qualified": "Первичный контакт", "needs": "Переговоры", "proposal": "Принимают решение",
    "invoice": "Согласование договора", "won": "Успешно реализовано", "lost": "Закрыто и не реализовано",
    "cancelled": "Закрыто и не реализовано",  # the default pipeline has one lost stage: both of the demo's lost terminals
}
AMO_HEADER = [
    "ID", "Название сделки", "Бюджет ", "Ответственный", "Дата создания сделки", "Кем создана сделка", "Дата закрытия",
    "Теги", "Воронка", "Этап сделки", "Товар", "Источник", "Компания", "Товар", "utm_source",
]


def _ddmmyyyy(iso: str, sep: str) -> str:
    """``2025-08-01 12:50:22`` -> ``01<sep>08<sep>2025 12:50:22`` (empty stays empty)."""
    if not iso:
        return ""
    d = dt.datetime.fromisoformat(iso)
    return d.strftime(f"%d{sep}%m{sep}%Y %H:%M:%S")


@lru_cache(maxsize=None)
def _amocrm() -> dict[str, Table]:
    """The amoCRM "Сделки" export of the trimmed generic deals (UTF-8 with BOM, ',')."""
    g = _trimmed("generic")
    names = dict(zip(g["managers"].col("manager"), g["managers"].col("name")))
    d = g["deals"]
    rows = []
    for k in range(len(d.rows)):
        closed = _ddmmyyyy(d.get(k, "closed_at"), ".") or "не закрыта"
        manager = names.get(d.get(k, "manager"), d.get(k, "manager"))
        rows.append([
            d.get(k, "deal_id"), f"{d.get(k, 'product')} #{d.get(k, 'deal_id')}", d.get(k, "amount"), manager,
            _ddmmyyyy(d.get(k, "created_at"), "-"), manager, closed, "", "Воронка", AMO_STAGES[d.get(k, "stage")],
            d.get(k, "product"), d.get(k, "channel"), "", "", "",
        ])
    return {"deals": Table(list(AMO_HEADER), rows, Fmt("utf-8-sig", ",", "\n"))}


def base_tables(shape: str) -> dict[str, Table]:
    """A fresh copy of the clean base of ``shape`` (``generic``, ``bitrix24``, ``amocrm``): canonical table -> Table."""
    src = _amocrm() if shape == "amocrm" else _trimmed(shape)
    return {k: v.copy() for k, v in src.items()}


def base_config(shape: str) -> dict:
    """The run config of a base export (``data: data``), from the demo's run config."""
    demo = yaml.safe_load((CLIENTS / ("demo_bitrix24.yaml" if shape == "bitrix24" else "demo.yaml")).read_text(encoding="utf-8"))
    cfg = dict(demo)
    cfg["client"] = f"corpus ({shape})"
    cfg["data"] = "data"
    cfg["language"] = "ru"  # the command line's --language en must win
    cfg["funnel"] = str(FUNNELS / "demo_b2b.yaml")
    if shape == "amocrm":
        cfg["preset"] = "amocrm"
        cfg.pop("funnel")  # the preset's default: amocrm_default
        cfg.pop("stage_map", None)
    return cfg


# ---------------------------------------------------------------------------
# expectations


@dataclass(frozen=True)
class Expect:
    """The verdict a case must get.

    ``verdict``: ``refused`` (exit 2, the load is refused: a verdict's fatal problem when ``fatal``
    names its codes, else a whole-file error), ``config_error`` (exit 2, the run config is wrong) or
    ``accepted`` (exit 0; with ``--strict`` 1 when ``warnings`` is not empty). ``message``: substrings
    of the error paragraph; ``warnings``: the exact set of warning codes; ``quarantine``: the exact
    quarantine counts ``{(table, reason): n}`` (None: not checked); ``stdout``: substrings of the
    output of ``check``; ``check(ds, root)``: more assertions on the dataset loaded in-process.
    """

    verdict: str
    message: tuple[str, ...] = ()
    fatal: tuple[str, ...] = ()
    warnings: frozenset = frozenset()
    quarantine: Optional[dict] = field(default_factory=dict)
    stdout: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    check: Optional[Callable] = None

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == "accepted" else 2

    @property
    def strict_exit_code(self) -> int:
        return self.exit_code if self.verdict != "accepted" else (1 if self.warnings else 0)


def refused(*message: str, fatal: tuple[str, ...] = (), forbidden: tuple[str, ...] = ()) -> Expect:
    return Expect("refused", message=("How to fix",) + message, fatal=tuple(fatal), quarantine=None, forbidden=forbidden)


def config_error(*message: str) -> Expect:
    return Expect("config_error", message=("config.yaml",) + message, quarantine=None, forbidden=("Input should be", "validation error", "pydantic"))


def accepted(*, warnings=(), quarantine: Optional[dict] = None, stdout=(), check=None, exact: bool = True) -> Expect:
    q = dict(quarantine or {}) if exact else None
    return Expect("accepted", warnings=frozenset(warnings), quarantine=q, stdout=tuple(stdout), check=check)


# ---------------------------------------------------------------------------
# one case's export


class Export:
    """The export a case builds: copies of the base tables, files written by the case, the run config."""

    def __init__(self, shape: str, root: Path):
        self.shape = shape
        self.root = Path(root)
        self.data = self.root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.tables = base_tables(shape)
        self.files = dict(FILES[shape])
        self.keys = KEYS[shape]
        self.config = copy.deepcopy(base_config(shape))
        self.handled: set[str] = set()

    # tables
    @property
    def deals(self) -> Table:
        return self.tables["deals"]

    @property
    def history(self) -> Table:
        return self.tables["stage_history"]

    @property
    def payments(self) -> Table:
        return self.tables["payments"]

    def deal_id(self, row: int) -> str:
        return self.deals.get(row, self.keys["deal_id"])

    def deal_rows(self, stage_values, n: int, skip: int = 0) -> list[int]:
        """``n`` deal rows (after the first ``skip``) whose stage is one of ``stage_values``."""
        rows = self.deals.where(self.keys["stage"], stage_values)[skip:skip + n]
        assert len(rows) == n, f"the base has too few deals in {stage_values}"
        return rows

    # files
    def write(self, name: str, content, table: str | None = None) -> Path:
        """Write ``content`` (bytes or text in UTF-8) as ``data/<name>``; ``table`` is then not written by :meth:`finish`."""
        p = self.data / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        if table is not None:
            self.handled.add(table)
        return p

    def remove(self, table: str) -> None:
        """Leave ``table`` out of the export."""
        self.handled.add(table)

    def finish(self) -> Path:
        for table, t in self.tables.items():
            if table not in self.handled:
                (self.data / self.files[table]).write_bytes(t.encode())
        path = self.root / "config.yaml"
        path.write_text(yaml.safe_dump(self.config, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    # expectations computed from the data
    def cascade(self, deal_ids) -> dict:
        """Quarantine counts of the stage history and payments of quarantined deals (``deal_quarantined``)."""
        ids = set(deal_ids)
        out = {}
        for table, col in (("stage_history", "history_deal"), ("payments", "payment_deal")):
            if table in self.tables and table not in self.handled:
                n = len(self.tables[table].where(self.keys[col], ids))
                if n:
                    out[(table, "deal_quarantined")] = n
        return out


@dataclass(frozen=True)
class Case:
    """One malformed export: ``build_fn(export)`` mutates it (and may return extra quarantine counts)."""

    name: str
    shape: str
    build_fn: Callable[[Export], Optional[dict]]
    expect: Expect

    def __repr__(self) -> str:
        return f"Case({self.name})"


def build_case(case: Case, root: Path) -> tuple[Path, Expect]:
    """Write the case's export and run config under ``root``; the config's path and the final expectation."""
    ex = Export(case.shape, root)
    extra = case.build_fn(ex)
    path = ex.finish()
    expect = case.expect
    if extra:
        assert expect.quarantine is not None, f"{case.name}: computed quarantine counts for a case that does not check them"
        expect = replace(expect, quarantine={**expect.quarantine, **extra})
    return path, expect


# ---------------------------------------------------------------------------
# helpers of the cases


def _num(text: str) -> float:
    return float(text.replace("\xa0", "").replace(" ", "").replace(",", "."))


def _html_table(t: Table, charset: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>\n" for r in t.rows)
    return (
        f'<html>\n<head><meta http-equiv="Content-type" content="text/html;charset={charset}" /></head>\n'
        f'<body>\n<table border="1">\n<tr>{head}</tr>\n{body}</table>\n</body>\n</html>\n'
    )


def _xlsx(t: Table, kinds: dict[str, str]) -> bytes:
    """A real workbook of ``t`` with typed cells: ``kinds`` maps a column to ``int``, ``float`` or ``datetime``."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Сделки"
    ws.append(t.header)
    for r in t.rows:
        out = []
        for name, v in zip(t.header, r):
            kind = kinds.get(name)
            if v == "":
                out.append(None)
            elif kind == "int":
                out.append(int(v))
            elif kind == "float":
                f = float(v)
                out.append(int(f) if f.is_integer() else f)
            elif kind == "datetime":
                out.append(dt.datetime.fromisoformat(v))
            else:
                out.append(v)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)

OPEN_STAGES = ("qualified", "needs", "proposal", "invoice")
#: stages of the demo funnel that Bitrix24's default funnel does not have (the open ones and the second lost terminal)
NOT_IN_BITRIX_DEFAULT = OPEN_STAGES + ("cancelled",)
#: Bitrix24 stage names of the demo funnel -> the portal's stage ids (the demo's stage_map maps the custom ones)
BITRIX_IDS = {
    "Новая": "NEW", "Новая заявка": "NEW", "Квалификация": "PREPARATION", "Выявление потребностей": "UC_NEEDS",
    "Коммерческое предложение": "UC_OFFER", "Счёт выставлен": "PREPAYMENT_INVOICE", "Сделка успешна": "WON", "Сделка провалена": "LOSE",
    "Отказ: не подошёл": "LOSE", "Клиент отказался": "UC_CANCEL",  # the demo's two lost terminals (UC_CANCEL: stage_map -> cancelled)
}


def _ds_deals(ds):
    return ds.tables["deals"].set_index("deal_id")


def _info(ds, table="deals") -> dict:
    return ds.reports[table].read_info[0]


def _problem(ds, code):
    found = [p for p in ds.problems if p.code == code]
    assert found, f"no {code} problem among {[p.code for p in ds.problems]}"
    return found[0]


def problem_text(problem, lang: str) -> str:
    """A problem's paragraph in ``lang`` (:func:`salesaudit.report.verdict.problem_text`)."""
    from salesaudit.report.verdict import problem_text as text

    return text(problem, lang)


# ---------------------------------------------------------------------------
# the cases: generic shape


def b_no_manager_column(ex: Export):
    ex.deals.drop_column("manager")


def b_manager_empty(ex: Export):
    for k in range(len(ex.deals.rows)):
        ex.deals.set(k, "manager", "")


def b_header_only(ex: Export):
    ex.deals.rows = []


def b_renamed(ex: Export):
    ex.write("export_2026.csv", ex.deals.encode(), table="deals")


def b_no_activities(ex: Export):
    ex.remove("activities")


def b_wrong_funnel(ex: Export):
    ex.config["funnel"] = "bitrix24_default"  # a funnel name, with other stages
    d, h = ex.deals, ex.history
    bad_deals = set(d.col("deal_id")[k] for k in d.where("stage", NOT_IN_BITRIX_DEFAULT))
    h_unknown = len(h.where("stage", NOT_IN_BITRIX_DEFAULT))
    hi, hs = h.idx("deal_id"), h.idx("stage")
    h_cascade = sum(1 for r in h.rows if r[hi] in bad_deals and r[hs] not in NOT_IN_BITRIX_DEFAULT)
    pay = len(ex.payments.where("deal_id", bad_deals))
    out = {("deals", "unknown_stage"): len(bad_deals), ("stage_history", "unknown_stage"): h_unknown}
    if h_cascade:
        out[("stage_history", "deal_quarantined")] = h_cascade
    if pay:
        out[("payments", "deal_quarantined")] = pay
    return out


def c_wrong_funnel(ds, root):
    p = [p for p in ds.warnings if p.code == "quarantine_share" and p.table == "stage_history" and p.params.get("_reason") == "unknown_stage"]
    assert p, "no quarantine_share warning for the stage history's unknown stages"
    text = problem_text(p[0], "en")
    assert "stage_map:" in text and '"qualified": ' in text, text


def b_as_of_utc(ex: Export):
    ex.config["as_of"] = "2026-10-31T20:59:00Z"


def c_as_of_utc(ds, root):
    assert ds.config.as_of == dt.datetime(2026, 10, 31, 23, 59), ds.config.as_of  # Moscow = UTC+3
    assert ds.as_of == dt.datetime(2026, 10, 31, 23, 59)


def b_as_of_ru(ex: Export):
    ex.config["as_of"] = "31.10.2026 23:59"


def c_as_of_ru(ds, root):
    assert ds.config.as_of == dt.datetime(2026, 10, 31, 23, 59), ds.config.as_of


def b_period_ru(ex: Export):
    ex.config["period"] = 10.2026  # unquoted in YAML: a number
    ex.config["as_of"] = 10.2026


def c_period_ru(ds, root):
    assert ds.config.period == "2026-10", ds.config.period
    assert ds.config.as_of == dt.datetime(2026, 10, 31, 23, 59, 59), ds.config.as_of


def b_as_of_invalid(ex: Export):
    ex.config["as_of"] = "yesterday"


def b_funnel_typo(ex: Export):
    ex.config["funnel"] = "demo_b2"


def b_key_typo(ex: Export):
    ex.config["langauge"] = ex.config.pop("language")


def b_csv_as_xlsx(ex: Export):
    ex.write("deals.xlsx", ex.deals.encode(), table="deals")


def c_csv_as_xlsx(ds, root):
    info = _info(ds)
    assert info.get("format") == "csv" and "format_note" in info, info
    assert len(ds.tables["deals"]) == N_DEALS


def b_html_as_csv(ex: Export):
    ex.write("deals.csv", _html_table(ex.deals, "utf-8").encode("utf-8"), table="deals")


def c_html_as_csv(ds, root):
    info = _info(ds)
    assert info.get("format") == "html" and "format_note" in info, info
    assert ("note.read_by_content.html", {"file": "deals.csv"}) in ds.reports["deals"].notes  # shown on the data-quality page
    assert len(ds.tables["deals"]) == N_DEALS
    assert "Запчасти и расходники" in set(ds.tables["deals"]["product"].dropna())


GENERIC_KINDS = {"deal_id": "int", "lead_id": "int", "amount": "float", "discount_pct": "float", "created_at": "datetime", "closed_at": "datetime"}


def b_real_xlsx(ex: Export):
    ex.write("deals.xlsx", _xlsx(ex.deals, GENERIC_KINDS), table="deals")


def c_same_amounts(ds, root):
    base = base_tables("generic")["deals"]
    want = {i: float(a) for i, a in zip(base.col("deal_id"), base.col("amount"))}
    got = _ds_deals(ds)["amount"].to_dict()
    assert got == want
    assert _ds_deals(ds)["created_at"].notna().all()


def c_real_xlsx(ds, root):
    assert _info(ds).get("format") == "xlsx", _info(ds)
    c_same_amounts(ds, root)


def b_gz(ex: Export):
    ex.write("deals.csv.gz", gzip.compress(ex.deals.encode(), mtime=0), table="deals")


def c_gz(ds, root):
    assert "gzip" in str(_info(ds).get("compression")), _info(ds)
    c_same_amounts(ds, root)


def b_zip(ex: Export):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("crm/", b"")
        for table, t in ex.tables.items():
            zf.writestr(f"crm/{ex.files[table]}", t.encode())
            ex.handled.add(table)
        zf.writestr("__MACOSX/crm/._deals.csv", b"\x00\x05\x16\x07junk")
    ex.write("export.zip", buf.getvalue())


def c_zip(ds, root):
    for table in FILES["generic"]:
        assert ds.reports[table].status == "loaded", (table, ds.reports[table].status)
    assert len(ds.tables["deals"]) == N_DEALS


def b_pdf(ex: Export):
    ex.write("deals.csv", PDF, table="deals")


def b_zero_bytes(ex: Export):
    ex.write("deals.csv", b"", table="deals")


def b_cp1251(ex: Export):
    ex.write("deals.csv", ex.deals.encode("cp1251"), table="deals")


def c_cp1251(ds, root):
    assert _info(ds).get("encoding") == "cp1251", _info(ds)
    assert "Запчасти и расходники" in set(ds.tables["deals"]["product"].dropna())


def b_utf16(ex: Export):
    ex.write("deals.csv", ex.deals.encode("utf-16"), table="deals")  # Python's utf-16 writes a BOM


def c_utf16(ds, root):
    assert str(_info(ds).get("encoding")).startswith("utf-16"), _info(ds)
    assert "Запчасти и расходники" in set(ds.tables["deals"]["product"].dropna())
    c_same_amounts(ds, root)


def b_semicolon_decimal_comma(ex: Export):
    d = ex.deals
    for k in range(len(d.rows)):
        d.set(k, "amount", f"{float(d.get(k, 'amount')) + 0.25:.2f}".replace(".", ","))  # 144800,25
    ex.write("deals.csv", d.encode(sep=";"), table="deals")


def c_semicolon_decimal_comma(ds, root):
    assert _info(ds).get("sep") == ";", _info(ds)
    base = base_tables("generic")["deals"]
    want = {i: float(a) + 0.25 for i, a in zip(base.col("deal_id"), base.col("amount"))}
    assert _ds_deals(ds)["amount"].to_dict() == want


def b_bad_rows(ex: Export):
    d = ex.deals
    lost = d.where("stage", ["lost"])
    bad_date, negative, exact, conflict = lost[5:8], lost[20:22], lost[40:42], lost[60]
    for k, value in zip(bad_date, ["31.02.2026 10:00", "not a date", "2026-13-45 10:00:00"]):
        d.set(k, "created_at", value)
    for k, value in zip(negative, ["-1500", "-20"]):
        d.set(k, "amount", value)
    quarantined = [d.get(k, "deal_id") for k in bad_date + negative + [conflict]]
    extra = [list(d.rows[k]) for k in exact]
    variant = list(d.rows[conflict])
    variant[d.idx("amount")] = str(int(float(variant[d.idx("amount")])) + 1000)
    d.rows[100:100] = extra[:1]  # one repeat inside the file, one at its end
    d.rows.append(extra[1])
    d.rows.append(variant)
    return ex.cascade(quarantined)


def b_history_unknown_deals(ex: Export):
    h = ex.history
    for i in range(4):
        h.rows.insert(50 + 100 * i, [f"9900{i + 1}", "new", "2026-03-0{} 10:00:00".format(i + 1), "m01"])


def b_history_sparse(ex: Export):
    ids = ex.deals.col("deal_id")
    keep = {x for k, x in enumerate(ids) if k % 5 in (3, 4)}  # 40 % of the deals
    hi = ex.history.idx("deal_id")
    ex.history.keep_rows(lambda r: r[hi] in keep)


def c_history_sparse(ds, root):
    p = _problem(ds, "history_sparse")
    assert 0.35 < p.params["share"] < 0.45, p.params


def b_product_empty(ex: Export):
    for k in range(len(ex.deals.rows)):
        if k % 10 < 3:
            ex.deals.set(k, "product", "")


def c_product_empty(ds, root):
    p = _problem(ds, "field_empty")
    assert p.params["canonical"] == "product" and abs(p.params["share"] - 0.3) < 0.01, p.params


#: the physical line of deals.csv that gets the unclosed quote
QUOTE_LINE = 41


def b_unclosed_quote(ex: Export):
    d = ex.deals
    lines = d.text().split("\n")
    cells = list(d.rows[QUOTE_LINE - 2])  # line 1 is the header
    assert not any("," in c or '"' in c or "\n" in c for c in cells)
    cells[d.idx("product")] = '"' + cells[d.idx("product")]  # a quote opened and never closed
    lines[QUOTE_LINE - 1] = ",".join(cells)
    ex.write("deals.csv", "\n".join(lines), table="deals")


# ---------------------------------------------------------------------------
# the cases: Bitrix24 shape

SECOND_PIPELINE = "Тендеры"


def _two_pipelines(ex: Export) -> list[str]:
    d = ex.deals
    moved = []
    for k in range(len(d.rows)):
        if k % 3 == 1:
            d.set(k, "Воронка", SECOND_PIPELINE)
            moved.append(d.get(k, "ID"))
    return moved


def b_two_pipelines(ex: Export):
    _two_pipelines(ex)


def c_two_pipelines(ds, root):
    p = _problem(ds, "pipelines")
    text = problem_text(p, "en")
    assert f"«Общая» — {N_DEALS - N_DEALS // 3}" in text and f"«{SECOND_PIPELINE}» — {N_DEALS // 3}" in text, text


def b_pipeline_selected(ex: Export):
    moved = _two_pipelines(ex)
    ex.config["pipeline"] = "Общая"
    return {("deals", "other_pipeline"): len(moved), **ex.cascade(moved)}


def c_pipeline_selected(ds, root):
    assert set(ds.tables["deals"]["pipeline"].dropna()) == {"Общая"}
    assert len(ds.tables["deals"]) == N_DEALS - N_DEALS // 3


def b_stage_ids_pipeline3(ex: Export):
    d, h = ex.deals, ex.history
    d.drop_column("Воронка")
    d.rename_column("Стадия сделки", "STAGE_ID")
    in3, other = set(), []
    for k in range(len(d.rows)):
        sid = BITRIX_IDS[d.get(k, "STAGE_ID")]
        if k % 2 == 0:
            sid = "C3:" + sid
            in3.add(d.get(k, "ID"))
        else:
            other.append(d.get(k, "ID"))
        d.set(k, "STAGE_ID", sid)
    for r in h.rows:
        if r[h.idx("OWNER_ID")] in in3:
            r[h.idx("STAGE_ID")] = "C3:" + r[h.idx("STAGE_ID")]
            r[h.idx("CATEGORY_ID")] = "3"
    ex.config["pipeline"] = 3
    return {("deals", "other_pipeline"): len(other), **ex.cascade(other)}


def c_stage_ids_pipeline3(ds, root):
    keys = set(ds.funnel.keys)
    assert set(ds.tables["deals"]["pipeline"].dropna()) == {"3"}
    assert set(ds.tables["deals"]["stage"]) <= keys
    assert set(ds.tables["stage_history"]["stage"]) <= keys
    assert len(ds.tables["stage_history"]) > 0


#: deals of the currency cases written in dollars
N_USD, N_DOLLAR_SIGN = 5, 4


def _currencies(ex: Export) -> dict[str, float]:
    """RUB written four ways, and dollars on some lost deals: {deal id: its amount in dollars}."""
    d = ex.deals
    for k in range(len(d.rows)):
        d.set(k, "Валюта", ("Российский рубль", "руб.", "RUB", "Российский рубль")[k % 4])
    usd = {}
    for n, k in enumerate(ex.deal_rows(["Сделка провалена"], N_USD + N_DOLLAR_SIGN, skip=10)):
        d.set(k, "Валюта", "USD" if n < N_USD else "$")
        usd[d.get(k, "ID")] = _num(d.get(k, "Сумма"))
    return usd


def b_currencies(ex: Export):
    usd = _currencies(ex)
    return {("deals", "other_currency"): len(usd), **ex.cascade(usd)}


def c_currencies(ds, root):
    assert ds.facts["currencies"] == {"RUB": N_DEALS - N_USD - N_DOLLAR_SIGN, "USD": N_USD + N_DOLLAR_SIGN}, ds.facts["currencies"]
    assert set(ds.tables["deals"]["currency"].dropna()) == {"RUB"}
    assert "USD: ___" in problem_text(_problem(ds, "currencies"), "en")


def b_currencies_rate(ex: Export):
    usd = _currencies(ex)
    ex.config["exchange_rates"] = {"USD": 90}
    (ex.root / "usd.json").write_text(json.dumps(usd), encoding="utf-8")


def c_currencies_rate(ds, root):
    usd = json.loads((Path(root) / "usd.json").read_text(encoding="utf-8"))
    deals = _ds_deals(ds)
    for deal_id, original in usd.items():
        assert deals.loc[deal_id, "currency"] == "USD"
        assert deals.loc[deal_id, "amount"] == 90 * original, (deal_id, deals.loc[deal_id, "amount"], original)
    assert "USD = 90 RUB" in problem_text(_problem(ds, "currencies"), "en")


def b_bitrix_html_xls(ex: Export):
    ex.write("deals.xls", _html_table(ex.deals, "windows-1251").encode("cp1251"), table="deals")


def c_bitrix_html_xls(ds, root):
    assert _info(ds).get("format") == "html", _info(ds)
    assert len(ds.tables["deals"]) == N_DEALS


# ---------------------------------------------------------------------------
# the cases: amoCRM shape


def b_amocrm(ex: Export):
    pass


def c_amocrm(ds, root):
    d = ds.tables["deals"]
    assert len(d) == N_DEALS
    assert set(d["stage"]) <= set(ds.funnel.keys)
    open_ = d["outcome"] == "open"
    assert open_.any() and d.loc[open_, "closed_at"].isna().all()
    assert d.loc[~open_, "closed_at"].notna().all()


def b_amocrm_bad_budget(ex: Export):
    for k, value in ((30, "сто тысяч"), (150, "12 000 000 руб. + НДС")):
        ex.deals.set(k, "Бюджет ", value)


# ---------------------------------------------------------------------------

CASES: list[Case] = [
    # refused: the audit cannot run
    Case("deals_no_manager_column", "generic", b_no_manager_column, refused("deals.csv", "manager", "The load is refused", fatal=("column_missing",))),
    Case("deals_manager_empty", "generic", b_manager_empty, refused("deals.csv", "manager", "The load is refused", fatal=("column_empty",))),
    Case("deals_header_only", "generic", b_header_only, refused("deals.csv", "The load is refused", fatal=("table_empty",))),
    Case("deals_renamed_export_2026", "generic", b_renamed, refused("export_2026.csv", "The load is refused", fatal=("deals_missing",))),
    Case("pdf_named_deals_csv", "generic", b_pdf, refused("deals.csv", "PDF", "neither CSV, XLSX, HTML nor Parquet")),
    Case("deals_zero_bytes", "generic", b_zero_bytes, refused("deals.csv", "empty")),
    Case("deals_unclosed_quote", "generic", b_unclosed_quote, refused("deals.csv", f"line {QUOTE_LINE}")),
    # config errors
    Case("as_of_invalid", "generic", b_as_of_invalid, config_error("as_of", "yesterday", "accepted forms", "31.10.2026 23:59")),
    Case("funnel_unknown_name", "generic", b_funnel_typo, config_error("funnel", "demo_b2", "Did you mean 'demo_b2b'")),
    Case("config_key_typo", "generic", b_key_typo, config_error("langauge", "Did you mean 'language'")),
    # accepted with a warning
    Case("activities_missing", "generic", b_no_activities, accepted(warnings=["no_file"], stdout=["activities"])),
    Case("wrong_funnel", "generic", b_wrong_funnel, accepted(warnings=["quarantine_share"], stdout=["stage_map:", '"qualified": '], check=c_wrong_funnel)),
    Case("history_sparse", "generic", b_history_sparse, accepted(warnings=["history_sparse"], check=c_history_sparse)),
    Case("product_30pct_empty", "generic", b_product_empty, accepted(warnings=["field_empty"], check=c_product_empty)),
    Case("bitrix_two_pipelines", "bitrix24", b_two_pipelines, accepted(warnings=["pipelines"], stdout=["Общая", SECOND_PIPELINE], check=c_two_pipelines)),
    Case("bitrix_currencies_no_rate", "bitrix24", b_currencies, accepted(warnings=["currencies"], stdout=["USD"], check=c_currencies)),
    Case("bitrix_currencies_rate_90", "bitrix24", b_currencies_rate, accepted(warnings=["currencies"], check=c_currencies_rate)),
    # accepted, the mutated rows quarantined with exact counts
    Case("deals_bad_rows", "generic", b_bad_rows,
         accepted(quarantine={("deals", "bad_date"): 3, ("deals", "negative_amount"): 2, ("deals", "duplicate_exact"): 2, ("deals", "duplicate_conflict"): 2})),
    Case("history_unknown_deals", "generic", b_history_unknown_deals, accepted(quarantine={("stage_history", "unknown_deal"): 4})),
    Case("bitrix_pipeline_selected", "bitrix24", b_pipeline_selected, accepted(check=c_pipeline_selected)),
    Case("bitrix_stage_ids_pipeline3", "bitrix24", b_stage_ids_pipeline3, accepted(check=c_stage_ids_pipeline3)),
    Case("amocrm_bad_budget", "amocrm", b_amocrm_bad_budget, accepted(quarantine={("deals", "bad_number"): 2})),
    # accepted, clean: the config's forms and the files' formats
    Case("as_of_utc_offset", "generic", b_as_of_utc, accepted(check=c_as_of_utc)),
    Case("as_of_ru_form", "generic", b_as_of_ru, accepted(check=c_as_of_ru)),
    Case("period_ru_month", "generic", b_period_ru, accepted(check=c_period_ru)),
    Case("deals_csv_saved_as_xlsx", "generic", b_csv_as_xlsx, accepted(check=c_csv_as_xlsx)),
    Case("deals_html_saved_as_csv", "generic", b_html_as_csv, accepted(check=c_html_as_csv, stdout=("Loader notes:", "is in fact an HTML table"))),
    Case("deals_real_xlsx", "generic", b_real_xlsx, accepted(check=c_real_xlsx)),
    Case("deals_csv_gz", "generic", b_gz, accepted(check=c_gz)),
    Case("zip_all_tables", "generic", b_zip, accepted(check=c_zip)),
    Case("deals_cp1251_undeclared", "generic", b_cp1251, accepted(check=c_cp1251)),
    Case("deals_utf16_bom", "generic", b_utf16, accepted(check=c_utf16)),
    Case("deals_semicolon_decimal_comma", "generic", b_semicolon_decimal_comma, accepted(check=c_semicolon_decimal_comma)),
    Case("bitrix_html_xls", "bitrix24", b_bitrix_html_xls, accepted(check=c_bitrix_html_xls)),
    Case("amocrm_export", "amocrm", b_amocrm, accepted(check=c_amocrm)),
]

assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
