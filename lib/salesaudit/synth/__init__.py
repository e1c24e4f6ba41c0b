"""A deterministic synthetic sales department, and writers for two CRM export formats.

:func:`generate` builds a realistic Russian B2B sales department (equipment and
services, amounts in RUB) over a period: managers and their head of sales, an
inbound desk, a CRM robot, inbound leads, deals moving through the demo funnel
(new → qualified → needs → proposal → invoice → won, or one of two lost terminals:
``lost``, declined by us as not a fit, and ``cancelled``, the client withdrew),
the stage history with who moved each deal, calls, tasks, meetings and e-mails,
payments and monthly plans. The tables are canonical (:mod:`salesaudit.data.model`)
and clean.

Problems are planted on purpose, each with a known effect size, so that the
audit has something true to find, and look-alikes are planted that it must *not*
flag (the manifest :attr:`Department.anomalies` records the truth as measured on
the generated tables, with the expectation ``flag`` / ``do_not_flag`` of each effect):

``slow_responder``
    one manager answers new leads after hours instead of minutes; their leads
    convert to deals less often (the conversion falls with the response delay
    for everybody, so this is the mechanism, not a separate switch).
``stage_skipper``
    one manager jumps over the mandatory ``needs`` stage in about 40% of deals.
``stalling_stage``
    every deal sits about 2.5× longer than usual at ``proposal`` (team-wide).
``overloaded_manager``
    one manager receives many more leads in the last months and closes slower:
    40+ open deals at the audit moment while every other seller has at most 24.
``discount_violator``
    one manager grants discounts above the 10% policy and instalments on deals
    below 300 000 RUB.
``weak_closer``
    one manager converts proposal → invoice at about half the team's rate.
``inbound_desk`` (must not be flagged)
    ``m_desk`` takes ten times a seller's leads (and deals), answers them about 12%
    slower than the ordinary sellers (a minute and a half: significant on that volume,
    far below a practical threshold of ×1.25 and 15 minutes) and converts leads to
    deals 2.5 percentage points below the rest (under a 5-point threshold). Its
    personal deal-load limit (60) is in the demo config.
``owner_groups``
    about 5% of the deals have no manager and about 5% belong to the CRM robot
    (``robot``, «Робот CRM», a system owner): created by a web form without a lead
    and declined by the robot within minutes at ``new`` («Не целевой», «Дубль»).
    They are their own rows, outside the team baseline.
``minutes_stage``
    ``qualified`` is a phone call: it lasts minutes (working minutes, median ≈ 10)
    for everybody, so time there is compared in minutes; no manager is flagged at
    it (the overloaded manager is slower there by minutes only).
``moved_by``
    the head of sales moves the deal into ``invoice`` for about 60% of the deals
    (the invoice is approved by the head), and now and then makes other moves; the
    robot moves the unassigned deals it declines.
``lost_terminals``
    a lost deal ends in ``lost`` or ``cancelled`` with a share that depends on the
    stage it was lost at (early: mostly declined by us; late: mostly cancelled by
    the client), with a loss reason from a short list per terminal (a few empty).

A newcomer (hired about five months before the end, ramping up) and a leaver
(left about six months before the end, open deals reassigned) make the roster
realistic; the sellers differ mildly in skill (±3% on the forward moves: at most
2-3 points at a step). Only ``numpy.random.default_rng`` seeded from ``seed`` is
used, and the same seed gives identical tables and byte-identical files. Each
seller's forward-or-lost decisions and lead conversions are drawn from
equidistributed sequences of his own (:class:`_Even`), so that the rates sit at
their design values and no seller stands out by the luck of the draw; the desk's
response times are the rest of the team's quantiles, stretched.

:func:`write_generic` and :func:`write_bitrix24` write the department in two
export formats and both plant the same extra *dirty* rows (added rows, never
corruptions of real ones) that a loader must quarantine; ``MANIFEST.json`` in
the output folder lists the expected quarantine counts and the rows per file.
The generic export carries every canonical column (``moved_by`` included); the
Bitrix24 one is what Bitrix24 gives: its ``crm.stagehistory.list`` dump has no
user, so it carries no ``moved_by`` (stays are then charged to the deal's owner).

Command line::

    python -m salesaudit.synth --seed 20261031 --out data_samples

writes ``data_samples/demo_generic/`` and ``data_samples/demo_bitrix24/``.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.calendar import RU_HOLIDAYS_2025_2026, WorkCalendar
from ..data.model import TABLE_ORDER, TABLES, empty_table

__all__ = [
    "Department",
    "generate",
    "write_generic",
    "write_bitrix24",
    "main",
    "FUNNEL_STAGES",
    "LOST_STAGES",
    "TERMINAL_STAGES",
    "NORM_DAYS",
    "MINUTES_STAGE",
    "INVOICE_BY_HEAD_P",
    "CANCEL_SHARE",
    "LOST_REASONS",
    "DESK",
    "ROBOT",
    "ROBOT_NAME",
    "MAX_DISCOUNT_PCT",
    "INSTALMENT_MIN_AMOUNT",
    "DEAL_LOAD_LIMIT",
    "CHANNELS",
    "PRODUCTS",
    "BITRIX_STAGE_LABELS",
    "BITRIX_STAGE_IDS",
    "BITRIX_STAGE_SEMANTICS",
    "BITRIX_STAGE_PROBABILITY",
    "BITRIX_LEAD_STATUS",
    "BITRIX_ACTIVITY_TYPES",
    "BITRIX_PAYMENT_TERMS",
    "BITRIX_PLAN_METRICS",
    "BITRIX_CHANNELS",
    "BITRIX_ROLES",
    "BITRIX_PIPELINE",
    "BITRIX_TEAM_LABEL",
    "BITRIX_DEAL_CLOSED",
    "BITRIX_NOT_CLOSED",
    "BITRIX_UNKNOWN_STAGE_LABEL",
    "BITRIX_UNKNOWN_STAGE_ID",
    "GENERIC_UNKNOWN_STAGE",
    "BAD_DATE_TEXT",
]

# --------------------------------------------------------------------------- funnel and policy

#: Open stages of the demo funnel in order, then the terminals.
FUNNEL_STAGES = ("new", "qualified", "needs", "proposal", "invoice")
#: The lost terminals: declined by us (not a fit), cancelled by the client.
LOST_STAGES = ("lost", "cancelled")
TERMINAL_STAGES = ("won",) + LOST_STAGES
_FORWARD = {"new": "qualified", "qualified": "needs", "needs": "proposal", "proposal": "invoice", "invoice": "won"}
_STAGE_INDEX = {s: i for i, s in enumerate(FUNNEL_STAGES + ("won",))}

#: Time norm per stage, calendar days (as in ``params/funnels/demo_b2b.yaml``): qualification
#: is a phone call, its norm is one hour.
NORM_DAYS = {"new": 1, "qualified": 1 / 24, "needs": 5, "proposal": 7, "invoice": 5}
#: Stage durations are lognormal in *working minutes* (moves happen in working
#: time). The medians are calibrated so that the team's 80th percentile of the
#: duration in calendar days sits at the norm (weekends and holidays included),
#: except ``qualified``, which takes minutes (median 10 working minutes).
_DURATION_SIGMA = 0.55
_MEDIAN_WORK_MIN = {"new": 275.0, "qualified": 10.0, "needs": 1065.0, "proposal": 1625.0, "invoice": 1065.0}
#: The stage that takes minutes.
MINUTES_STAGE = "qualified"
_MIN_STAY_WORK_MIN = 1.0
#: The planted team-wide stall.
STALL_STAGE = "proposal"
STALL_FACTOR = 2.5

#: Probability of moving forward (rather than being lost) out of each stage.
_FORWARD_P = {"new": 0.88, "qualified": 0.78, "needs": 0.80, "proposal": 0.66, "invoice": 0.86}
_SKIP_QUALIFIED_P = 0.06  # new → needs directly: allowed by the funnel
_SKIP_NEEDS_P = 0.36  # the stage skipper, on a forward move out of qualified
_BACKWARD_DEAL_P = 0.012  # share of deals that go back one stage once
_HEAD_MOVES_P = 0.03  # stage moves made by the head of sales on a manager's deal
#: share of the deals whose move into ``invoice`` the head of sales makes (he approves the invoice)
INVOICE_BY_HEAD_P = 0.60
#: The overloaded manager: lead routing weight in the last ``_OVERLOAD_LEAD_DAYS``
#: days and stage-duration multiplier for deals created in the last
#: ``_OVERLOAD_SLOW_DAYS`` days (the forward/lose probabilities are unchanged).
_OVERLOAD_LEAD_WEIGHT = 5.0
_OVERLOAD_LEAD_DAYS = 100
_OVERLOAD_SLOWDOWN = 4.0
_OVERLOAD_SLOW_DAYS = 150

#: Sales policy of the demo company.
MAX_DISCOUNT_PCT = 10.0
INSTALMENT_MIN_AMOUNT = 300_000.0  # instalments only for amounts strictly above this
DEAL_LOAD_LIMIT = 30

#: channel → (share of leads, base lead → deal probability, multiplier on forward moves)
CHANNELS = {
    "website": (0.35, 0.58, 1.00),
    "calls": (0.20, 0.66, 1.00),
    "ads_yandex": (0.25, 0.48, 0.94),
    "referrals": (0.10, 0.80, 1.08),
    "exhibitions": (0.10, 0.55, 1.00),
}
#: product → (share of deals, median list price RUB)
PRODUCTS = {
    "Компрессорное оборудование": (0.24, 420_000),
    "Станки с ЧПУ": (0.14, 780_000),
    "Монтаж и пусконаладка": (0.20, 240_000),
    "Сервисный контракт": (0.24, 170_000),
    "Запчасти и расходники": (0.18, 75_000),
}
DISQUALIFY_REASONS = {
    "Не целевой": 0.30,
    "Не дозвонились": 0.20,
    "Нет бюджета": 0.18,
    "Дубль": 0.10,
    "Выбрали конкурента": 0.10,
    "Спам": 0.05,
    "Неактуально": 0.07,
}
#: Share of the deals lost at a stage that the client cancelled (the rest we declined as not a fit).
CANCEL_SHARE = {"new": 0.10, "qualified": 0.20, "needs": 0.45, "proposal": 0.75, "invoice": 0.65}
#: Loss reasons per lost terminal (the CRM's «Причина отказа»).
LOST_REASONS = {
    "lost": {
        "Не целевой": 0.30,
        "Нет бюджета": 0.25,
        "Не дозвонились": 0.20,
        "Не подошли условия оплаты": 0.12,
        "Дубль": 0.08,
        "Не устроили сроки поставки": 0.05,
    },
    "cancelled": {
        "Выбрали конкурента": 0.32,
        "Дорого": 0.28,
        "Отложили покупку": 0.22,
        "Пропал контакт": 0.10,
        "Неактуально": 0.08,
    },
}
#: share of the lost deals whose manager left the reason empty
_EMPTY_REASON_P = 0.04

#: The inbound desk: a routing weight of ten sellers; its first responses follow the ordinary
#: sellers' (their quantiles; not the slow responder's, who is judged apart) stretched by
#: ``_DESK_SLOWER``, so that its whole response curve lies a little to the right of theirs; and
#: its decided leads convert to deals ``_DESK_CONVERSION_GAP``
#: below the rest's rate.
DESK = "m_desk"
_DESK_WEIGHT = 10.0
_DESK_SLOWER = 1.12
_DESK_CONVERSION_GAP = 0.025
#: spread (log scale) of a seller's first-response time around his median (12 working minutes;
#: the newcomer's and the head's 14, the slow responder's 240): 10% of the answers within 5
#: minutes, 10% after 31
_RESPONSE_SIGMA = 0.75
#: The CRM robot: a system owner in the managers table (role manager).
ROBOT = "robot"
ROBOT_NAME = "Робот CRM"
#: Deals a web form creates without a lead, as a share of the lead inflow; half of them the
#: robot owns, the others nobody; the robot declines all of them within minutes (calendar time).
_FORM_DEALS_SCALE = 0.058
_FORM_ROBOT_SHARE = 0.5
_FORM_REASONS = {ROBOT: {"Не целевой": 0.6, "Дубль": 0.4}, None: {"Дубль": 0.6, "Не целевой": 0.4}}
_DECLINE_MEDIAN_MIN = 3.0
PAYMENT_TERMS = ("prepaid", "postpaid", "instalment_3m", "instalment_6m")

# --------------------------------------------------------------------------- Bitrix24 labels

BITRIX_STAGE_LABELS = {
    "new": "Новая",
    "qualified": "Квалификация",
    "needs": "Выявление потребностей",
    "proposal": "Коммерческое предложение",
    "invoice": "Счёт выставлен",
    "won": "Сделка успешна",
    "lost": "Сделка провалена",
    "cancelled": "Клиент отказался",
}
BITRIX_STAGE_IDS = {
    "new": "NEW",
    "qualified": "PREPARATION",
    "needs": "UC_NEEDS",
    "proposal": "UC_OFFER",
    "invoice": "PREPAYMENT_INVOICE",
    "won": "WON",
    "lost": "LOSE",
    "cancelled": "UC_CANCEL",  # a second failure stage of the portal
}
BITRIX_STAGE_SEMANTICS = {s: "P" for s in FUNNEL_STAGES} | {"won": "S", "lost": "F", "cancelled": "F"}
BITRIX_STAGE_PROBABILITY = {"new": 10, "qualified": 20, "needs": 40, "proposal": 60, "invoice": 80, "won": 100, "lost": 0, "cancelled": 0}
BITRIX_LEAD_STATUS = {
    "new": "Не обработан",
    "in_work": "В работе",
    "converted": "Качественный лид",
    "disqualified": "Некачественный лид",
}
BITRIX_ACTIVITY_TYPES = {"call": "Звонок", "task": "Задача", "meeting": "Встреча", "email": "Письмо"}
BITRIX_PAYMENT_TERMS = {
    "prepaid": "Предоплата 100%",
    "postpaid": "Постоплата",
    "instalment_3m": "Рассрочка 3 мес.",
    "instalment_6m": "Рассрочка 6 мес.",
}
BITRIX_PLAN_METRICS = {
    "revenue": "Выручка",
    "deals_won": "Выиграно сделок",
    "leads": "Лиды",
    "calls": "Звонки",
    "call_minutes": "Минуты на линии",
    "meetings": "Встречи",
    "tasks_done": "Задачи выполнены",
    "conversion": "Конверсия",
    "avg_deal": "Средний чек",
}
BITRIX_CHANNELS = {
    "website": "Сайт",
    "calls": "Звонок",
    "ads_yandex": "Яндекс Директ",
    "referrals": "Рекомендация",
    "exhibitions": "Выставка",
}
BITRIX_ROLES = {"head_of_sales": "Руководитель отдела продаж", "manager": "Менеджер по продажам"}
BITRIX_PIPELINE = "Общая"
BITRIX_TEAM_LABEL = "Весь отдел"
BITRIX_DEAL_CLOSED = {True: "Да", False: "Нет"}
BITRIX_NOT_CLOSED = "не закрыта"
BITRIX_UNKNOWN_STAGE_LABEL = "Архив"
BITRIX_UNKNOWN_STAGE_ID = "UC_ARCHIVE"
GENERIC_UNKNOWN_STAGE = "archive"
#: The unparseable date planted in both formats.
BAD_DATE_TEXT = "32.13.2025 25:61"
_BITRIX_LEAD_TITLES = {
    "website": "Заявка с сайта",
    "calls": "Входящий звонок",
    "ads_yandex": "Заявка из Яндекс Директ",
    "referrals": "Рекомендация клиента",
    "exhibitions": "Контакт с выставки",
}

# --------------------------------------------------------------------------- names

_SURNAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
    "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов",
    "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв",
    "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Беляев",
)
_MALE_NAMES = (
    "Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья", "Кирилл",
    "Михаил", "Никита", "Евгений", "Иван", "Павел", "Роман", "Олег", "Владимир", "Денис",
)
_FEMALE_NAMES = (
    "Анна", "Мария", "Елена", "Ольга", "Наталья", "Екатерина", "Татьяна", "Ирина", "Юлия",
    "Светлана", "Анастасия", "Дарья", "Марина", "Ксения", "Виктория",
)
_PATRONYMICS = (
    ("Александрович", "Александровна"), ("Сергеевич", "Сергеевна"), ("Дмитриевич", "Дмитриевна"),
    ("Андреевич", "Андреевна"), ("Алексеевич", "Алексеевна"), ("Владимирович", "Владимировна"),
    ("Игоревич", "Игоревна"), ("Викторович", "Викторовна"), ("Николаевич", "Николаевна"),
    ("Петрович", "Петровна"), ("Михайлович", "Михайловна"), ("Олегович", "Олеговна"),
    ("Юрьевич", "Юрьевна"), ("Евгеньевич", "Евгеньевна"),
)
_COMPANY_HEADS = (
    "Техно", "Пром", "Строй", "Агро", "Энерго", "Метал", "Сиб", "Урал", "Волга", "Нева", "Спец",
    "Транс", "Эко", "Гидро", "Термо", "Электро", "Авто", "Инж", "Кама", "Дон",
)
_COMPANY_TAILS = (
    "снаб", "ресурс", "маш", "комплект", "монтаж", "лайн", "групп", "инвест", "торг", "проект",
    "систем", "тех", "холдинг", "альянс", "сервис", "пласт", "лит", "мех",
)
_COMPANY_FORMS = (("ООО", 0.78), ("АО", 0.14), ("ПАО", 0.03), ("ЗАО", 0.05))

_NS_MIN = 60 * 1_000_000_000
_NS_DAY = 24 * 60 * _NS_MIN
_NAT = np.iinfo(np.int64).min


# --------------------------------------------------------------------------- the result


@dataclass
class Department:
    """A generated sales department.

    ``tables`` holds the seven canonical tables (clean). ``anomalies`` is the
    JSON-serialisable manifest of planted truth. ``extras`` carries CRM details
    that are not part of the canonical model but that an export shows (the
    client company and contact of each lead and deal).
    """

    tables: dict[str, pd.DataFrame]
    anomalies: dict
    calendar: WorkCalendar
    seed: int
    start: pd.Timestamp
    end: pd.Timestamp
    as_of: pd.Timestamp
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows per canonical table, in :data:`salesaudit.data.model.TABLE_ORDER`."""
        return {name: int(len(self.tables[name])) for name in TABLE_ORDER}

    def manager_names(self) -> dict[str, str]:
        """Manager key → full name."""
        m = self.tables["managers"]
        return dict(zip(m["manager"].tolist(), m["name"].tolist()))


# --------------------------------------------------------------------------- helpers


def _ns(ts) -> int:
    return int(pd.Timestamp(ts).as_unit("ns").value)


def _to_dt(ns: np.ndarray) -> np.ndarray:
    return np.asarray(ns, dtype=np.int64).view("datetime64[ns]")


def _pick(rng: np.random.Generator, table: dict, size: int) -> np.ndarray:
    keys = list(table)
    w = np.array([table[k] if not isinstance(table[k], tuple) else table[k][0] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=size, p=w / w.sum())]


def _lognormal(rng: np.random.Generator, median, sigma, size=None):
    return np.exp(rng.normal(np.log(median), sigma, size))


def _exact_share(rng: np.random.Generator, mask: np.ndarray, share: float) -> np.ndarray:
    """A boolean array selecting exactly ``round(share * mask.sum())`` of the positions in ``mask``."""
    idx = np.flatnonzero(mask)
    out = np.zeros(len(mask), dtype=bool)
    out[rng.choice(idx, size=int(round(share * len(idx))), replace=False)] = True
    return out


#: canonical columns the demo's generic export leaves out: the department has one pipeline, which
#: only the Bitrix24 export names («Воронка»)
_NOT_IN_GENERIC_EXPORT = {("deals", "pipeline")}


def _canonical(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Exactly the canonical columns, in model order, with model dtypes."""
    dtypes = empty_table(name).dtypes.to_dict()
    out = {}
    for col, dtype in dtypes.items():
        values = df[col] if col in df else pd.Series([None] * len(df))
        if str(dtype).startswith("datetime64"):
            # whole seconds: what the exports can carry
            out[col] = pd.to_datetime(pd.Series(values).reset_index(drop=True)).astype("datetime64[ns]").dt.floor("s")
        elif dtype == "float64":
            out[col] = pd.Series(values, dtype="float64").reset_index(drop=True)
        else:
            s = pd.Series(values, dtype=object).reset_index(drop=True)
            s = s.where(s.notna(), None)
            out[col] = s.astype(dtype)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- roster


def _full_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        female = rng.random() < 0.55
        surname = _SURNAMES[rng.integers(len(_SURNAMES))] + ("а" if female else "")
        first = (_FEMALE_NAMES if female else _MALE_NAMES)[rng.integers(len(_FEMALE_NAMES if female else _MALE_NAMES))]
        patronymic = _PATRONYMICS[rng.integers(len(_PATRONYMICS))][1 if female else 0]
        full = f"{surname} {first} {patronymic}"
        if full not in names and not any(x.split()[0].rstrip("а") == surname.rstrip("а") for x in names):
            names.append(full)
    return names


def _make_roster(rng, cal: WorkCalendar, n_managers: int, start: pd.Timestamp, end: pd.Timestamp) -> list[dict]:
    """Head of sales + ``n_managers`` managers with their planted roles."""
    span = (end - start).days
    keys = [f"m{i:02d}" for i in range(1, n_managers + 1)]
    names = _full_names(rng, n_managers + 1)
    # newcomer is the last one hired (highest key); the other roles are drawn
    newcomer = keys[-1]
    others = [keys[i] for i in rng.permutation(n_managers - 1)]
    roles = ["slow_responder", "stage_skipper", "overloaded_manager", "discount_violator", "weak_closer", "leaver"]
    role_of = {k: "normal" for k in keys}
    role_of.update({k: r for k, r in zip(others, roles)})
    role_of[newcomer] = "newcomer"
    hire_newcomer = end - pd.Timedelta(days=min(152, int(span * 0.45)))
    leave_day = end - pd.Timedelta(days=min(183, int(span * 0.5)))
    # everybody else was hired 0.5–6 years before the start, in key order
    earliest = start - pd.Timedelta(days=6 * 365)
    hire_days = np.sort(rng.integers(0, 6 * 365 - 180, size=n_managers - 1))
    roster = [
        dict(
            manager="h01",
            name=names[0],
            role="head_of_sales",
            team="Москва",
            hired_at=cal.next_open(earliest - pd.Timedelta(days=400)).normalize(),
            left_at=pd.NaT,
            kind="head",
            skill=1.04,
        )
    ]
    for i, key in enumerate(keys):
        kind = role_of[key]
        hired = hire_newcomer if kind == "newcomer" else earliest + pd.Timedelta(days=int(hire_days[i]))
        hired = cal.next_open(hired).normalize()
        left = pd.NaT
        if kind == "leaver":
            left = leave_day
            while not cal.is_working_day(left):
                left -= pd.Timedelta(days=1)
        roster.append(
            dict(
                manager=key,
                name=names[i + 1],
                role="manager",
                team="Москва" if i % 2 == 0 else "Регионы",
                hired_at=hired,
                left_at=left,
                kind=kind,
                # mild differences in skill: ±3% on the forward-move probabilities, at most 2-3
                # percentage points at a step: below the practical threshold of 5 points
                skill=float(np.round(rng.uniform(0.97, 1.03), 3)),
            )
        )
    return roster


def _add_desk_and_robot(rng, cal: WorkCalendar, roster: list[dict], start: pd.Timestamp) -> list[dict]:
    """The inbound desk (a seller with ten sellers' leads) and the CRM robot (a system owner)."""
    taken = {p["name"].split()[0].rstrip("а") for p in roster}
    while True:
        name = _full_names(rng, 1)[0]
        if name.split()[0].rstrip("а") not in taken:
            break
    hired = cal.next_open(start - pd.Timedelta(days=int(rng.integers(300, 900)))).normalize()
    robot_since = cal.next_open(start - pd.Timedelta(days=540)).normalize()
    return roster + [
        dict(manager=DESK, name=name, role="manager", team="Москва", hired_at=hired, left_at=pd.NaT, kind="desk", skill=1.0),
        dict(manager=ROBOT, name=ROBOT_NAME, role="manager", team=None, hired_at=robot_since, left_at=pd.NaT, kind="robot", skill=1.0),
    ]


# --------------------------------------------------------------------------- leads

_HOURS_IN = {9: 0.7, 10: 1.2, 11: 1.5, 12: 1.3, 13: 0.9, 14: 1.0, 15: 1.0, 16: 0.9, 17: 0.6}
_HOURS_OUT_WORKDAY = {0: 0.1, 1: 0.05, 2: 0.03, 3: 0.02, 4: 0.02, 5: 0.05, 6: 0.15, 7: 0.4, 8: 0.7,
                      18: 1.0, 19: 0.9, 20: 0.8, 21: 0.7, 22: 0.5, 23: 0.25}
_HOURS_OFF_DAY = {h: (0.2 if h < 8 else 1.0 if h < 22 else 0.5) for h in range(24)}
_WEEKDAY_FACTOR = {0: 1.12, 1: 1.05, 2: 1.0, 3: 0.98, 4: 0.85}
_MONTH_FACTOR = {1: 0.8, 2: 1.0, 3: 1.05, 4: 1.05, 5: 0.9, 6: 0.95, 7: 0.85, 8: 0.88, 9: 1.05, 10: 1.1, 11: 1.1, 12: 1.05}
#: leads per working day in working hours, out of hours, and per day off, before the factors: the
#: department's inflow of 8.6 / 0.9 / 1.3 and the inbound desk's line, 0.8 times as much (so that,
#: routed with ten sellers' weight, the desk takes ten sellers' leads and a seller keeps his own)
_SELLER_LEADS = (8.6, 0.9, 1.3)
_LEADS_SCALE = 1.8
_LEADS_IN_HOURS, _LEADS_OUT_WORKDAY, _LEADS_OFF_DAY = (x * _LEADS_SCALE for x in _SELLER_LEADS)


def _lead_times(rng, cal: WorkCalendar, start: pd.Timestamp, end: pd.Timestamp, scale: float = 1.0, rates=None) -> np.ndarray:
    """Arrival moments of inbound requests: ``scale`` × ``rates`` (in hours, out of hours, day off;
    default: the whole inflow, ``_LEADS_IN_HOURS``, ``_LEADS_OUT_WORKDAY``, ``_LEADS_OFF_DAY``) × the factors."""
    in_hours, out_workday, off_day = rates or (_LEADS_IN_HOURS, _LEADS_OUT_WORKDAY, _LEADS_OFF_DAY)
    days = pd.date_range(start, end, freq="D")
    working = np.asarray(cal.is_working_day(days))
    wd = days.day_of_week.to_numpy()
    month = days.month.to_numpy()
    mf = np.array([_MONTH_FACTOR[m] for m in month]) * scale
    wf = np.array([_WEEKDAY_FACTOR.get(d, 0.0) for d in wd])
    n_in = np.where(working, rng.poisson(in_hours * wf * mf), 0)
    n_out = rng.poisson(np.where(working, out_workday, off_day) * mf)

    def hours(table, size):
        h = np.array(list(table))
        w = np.array(list(table.values()), dtype=float)
        return h[rng.choice(len(h), size=size, p=w / w.sum())]

    day_ns = days.as_unit("ns").asi8
    parts = []
    # in working hours
    d = np.repeat(day_ns, n_in)
    parts.append(d + hours(_HOURS_IN, len(d)) * 60 * _NS_MIN + rng.integers(0, 3600, len(d)) * 1_000_000_000)
    # out of hours: evenings/nights of working days, any time on days off
    d = np.repeat(day_ns, n_out)
    w_day = np.repeat(working, n_out)
    h = np.where(w_day, hours(_HOURS_OUT_WORKDAY, len(d)), hours(_HOURS_OFF_DAY, len(d)))
    parts.append(d + h * 60 * _NS_MIN + rng.integers(0, 3600, len(d)) * 1_000_000_000)
    return np.sort(np.concatenate(parts))


def _lead_weights(roster, t: np.ndarray, overload_start: int) -> np.ndarray:
    """Routing weight of each person (columns) at each lead time (rows)."""
    w = np.zeros((len(t), len(roster)))
    for j, p in enumerate(roster):
        hired = _ns(p["hired_at"])
        active = t >= hired
        if pd.notna(p["left_at"]):
            active &= t < _ns(p["left_at"]) + _NS_DAY
        if p["kind"] == "robot":
            base = np.zeros(len(t))  # the robot gets no leads
        elif p["kind"] == "desk":
            base = np.full(len(t), _DESK_WEIGHT)
        elif p["kind"] == "head":
            base = np.full(len(t), 0.9)
        elif p["kind"] == "newcomer":
            tenure = (t - hired) / _NS_DAY
            base = 0.3 + 0.7 * np.clip(tenure / 56, 0, 1)
        elif p["kind"] == "overloaded_manager":
            base = np.where(t >= overload_start, _OVERLOAD_LEAD_WEIGHT, 1.0)
        else:
            base = np.ones(len(t))
        w[:, j] = np.where(active, base, 0.0)
    return w


def _route(weights: np.ndarray) -> np.ndarray:
    """Smooth weighted round-robin (as in nginx): deterministic, no randomness."""
    current = np.zeros(weights.shape[1])
    out = np.empty(len(weights), dtype=np.int64)
    for i, w in enumerate(weights):
        current = np.where(w > 0, current + w, 0.0)
        j = int(np.argmax(np.where(w > 0, current, -np.inf)))
        current[j] -= w.sum()
        out[i] = j
    return out


def _make_companies(rng, n: int) -> list[str]:
    forms = [f for f, _ in _COMPANY_FORMS]
    fw = np.array([w for _, w in _COMPANY_FORMS])
    seen: list[str] = []
    pool = set()
    while len(seen) < n:
        name = _COMPANY_HEADS[rng.integers(len(_COMPANY_HEADS))] + _COMPANY_TAILS[rng.integers(len(_COMPANY_TAILS))]
        if rng.random() < 0.25:
            name += "-" + ("М", "Центр", "Плюс", "Юг", "Север", "Регион")[rng.integers(6)]
        full = f"{forms[rng.choice(len(forms), p=fw / fw.sum())]} «{name}»"
        if full not in pool:
            pool.add(full)
            seen.append(full)
    return seen


def _make_leads(rng, cal: WorkCalendar, roster, start, end, as_of_ns: int, overload_start: int, seed: int):
    # two independent Poisson streams of one shape are one Poisson stream: the department's inflow
    # (drawn as before the desk existed) and the desk's line (a stream of its own)
    desk_line = tuple(x * (_LEADS_SCALE - 1) for x in _SELLER_LEADS)
    t = np.sort(np.concatenate([
        _lead_times(rng, cal, start, end, rates=_SELLER_LEADS),
        _lead_times(np.random.default_rng([seed, 31]), cal, start, end, rates=desk_line),
    ]))
    n = len(t)
    who = _route(_lead_weights(roster, t, overload_start))
    kinds = np.array([p["kind"] for p in roster], dtype=object)[who]
    keys = np.array([p["manager"] for p in roster], dtype=object)[who]
    channel = _pick(rng, CHANNELS, n)

    # first response, in working minutes
    median = np.select([kinds == "slow_responder", kinds == "newcomer", kinds == "head"], [240.0, 14.0, 14.0], 12.0)
    sigma = np.where(kinds == "slow_responder", 0.8, _RESPONSE_SIGMA)
    delay = np.clip(np.exp(rng.normal(np.log(median), sigma)), 1.0, 5 * 540.0)
    # the desk: the rest of the team's responses (their quantiles, in a random order) stretched
    desk = kinds == "desk"
    rest = ~np.isin(kinds, ("desk", "head", "robot"))
    if desk.any() and rest.any():
        q = rng.permutation((np.arange(desk.sum()) + 0.5) / desk.sum())
        ordinary = rest & (kinds != "slow_responder")  # the sellers a desk is compared with once the slow one is judged apart
        delay[desk] = np.clip(_DESK_SLOWER * np.quantile(delay[ordinary], q), 1.0, 5 * 540.0)
    responded = cal.add_working_minutes(_to_dt(t), delay).view(np.int64)
    never = rng.random(n) < np.where(kinds == "slow_responder", 0.03, 0.01)
    if desk.any() and rest.any():  # and leaves as many of them unanswered
        never[desk] = False
        never |= _exact_share(rng, desk, float(never[rest].mean()))

    # lead → deal: channel quality × a response-delay penalty × ramp-up × skill
    base = np.array([CHANNELS[c][1] for c in channel])
    response_factor = 0.55 + 0.45 * np.exp(-delay / 120.0)
    hired = np.array([_ns(p["hired_at"]) for p in roster])[who]
    ramp = np.where(kinds == "newcomer", 0.7 + 0.3 * np.clip((t - hired) / _NS_DAY / 56, 0, 1), 1.0)
    skill = np.array([p["skill"] for p in roster])[who]
    p_deal = np.clip(base * response_factor * ramp * (1 + (skill - 1) * 0.5), 0.02, 0.95)
    rng.random(n)  # drawn, unused: conversions come from equidistributed sequences (below)
    converted = _even_by_group(who) < p_deal  # each manager's own equidistributed sequence (see _Even)
    # most leads are decided within the hour; about a quarter need a few days of follow-up
    slow_decision = rng.random(n) < 0.25
    decision_delay = np.where(
        slow_decision,
        np.clip(_lognormal(rng, 3 * 540.0, 0.7, n), 540.0, 15 * 540.0),
        np.clip(_lognormal(rng, 45.0, 0.8, n), 3.0, 540.0),
    )
    decided = cal.add_working_minutes(_to_dt(responded), decision_delay).view(np.int64)
    reason = _pick(rng, DISQUALIFY_REASONS, n)

    no_response = never | (responded > as_of_ns)
    # the desk converts its decided leads exactly _DESK_CONVERSION_GAP below the rest's realised
    # rate; which of them convert is drawn by their own chances (a quick answer still helps)
    settled = ~no_response & (decided <= as_of_ns)
    mine = np.flatnonzero(desk & settled)
    if len(mine) and (rest & settled).any():
        rate = converted[rest & settled].mean() - _DESK_CONVERSION_GAP
        k = int(round(min(max(rate, 0.0), 1.0) * len(mine)))
        converted[mine] = False
        converted[rng.choice(mine, size=k, replace=False, p=p_deal[mine] / p_deal[mine].sum())] = True
    status = np.where(no_response, "new", np.where(decided > as_of_ns, "in_work", np.where(converted, "converted", "disqualified")))
    companies = _make_companies(rng, 900)
    company_idx = rng.integers(0, len(companies), n)
    contacts = _full_names_fast(rng, n)
    leads = pd.DataFrame(
        {
            "lead_id": [str(100001 + i) for i in range(n)],
            "created_at": _to_dt(t),
            "channel": channel,
            "manager": keys,
            "first_response_at": _to_dt(np.where(no_response, _NAT, responded)),
            "status": status,
            "disqualify_reason": np.where(status == "disqualified", reason, None),
            "deal_id": None,
        }
    )
    extras = pd.DataFrame(
        {
            "lead_id": leads["lead_id"],
            "company": np.array(companies, dtype=object)[company_idx],
            "company_id": [str(3001 + i) for i in company_idx],
            "contact": contacts,
            "contact_id": [str(700001 + i) for i in range(n)],
            "response_delay_min": np.where(no_response, np.nan, delay),
            "_decided": decided,
            "_who": who,
        }
    )
    return leads, extras


def _full_names_fast(rng, n: int) -> np.ndarray:
    """Contact person names ("Фамилия Имя"), repeats allowed."""
    female = rng.random(n) < 0.45
    s = np.array(_SURNAMES, dtype=object)[rng.integers(0, len(_SURNAMES), n)]
    s = np.where(female, s + "а", s)
    fm = np.array(_FEMALE_NAMES, dtype=object)[rng.integers(0, len(_FEMALE_NAMES), n)]
    ml = np.array(_MALE_NAMES, dtype=object)[rng.integers(0, len(_MALE_NAMES), n)]
    return s + " " + np.where(female, fm, ml)


# --------------------------------------------------------------------------- deals and their stages


_GOLDEN = 0.6180339887498949


class _Even:
    """An equidistributed sequence in [0, 1) (the golden-ratio additive recurrence).

    A share decided by it lands at its design value whatever the sample size (the discrepancy of
    n draws is of the order of log(n) / n, not 1 / sqrt(n)). Each seller's forward-or-lost
    decisions at each stage and his leads' conversions are drawn from sequences of their own, so
    that every seller's rates sit at their design values and only the planted effects stand out:
    a department of a dozen sellers drawn at random has a chance "significant" seller now and
    then, which would make the planted truth depend on the luck of the draw.
    """

    def __init__(self, start: float = 0.5):
        self.x = start % 1.0

    def __call__(self) -> float:
        self.x = (self.x + _GOLDEN) % 1.0
        return self.x


def _even_start(*keys) -> float:
    """A start for the sequence of ``keys`` (a manager and a stage): spread, not random."""
    return (sum((i + 1) * 0.7548776662466927 * (k + 1) for i, k in enumerate(keys))) % 1.0


def _even_by_group(groups: np.ndarray) -> np.ndarray:
    """Per position, the next value of its group's equidistributed sequence (groups: small ints, in order of the rows)."""
    out = np.empty(len(groups))
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out[idx] = (_even_start(int(g)) + _GOLDEN * np.arange(1, len(idx) + 1)) % 1.0
    return out


def _simulate_paths(rng, deals: pd.DataFrame, roster, overload_slow_from: int):
    """Stage entries of every deal, as working minutes after the deal's creation.

    Returns parallel arrays: deal row index, stage, working-minute offset.
    """
    person = {p["manager"]: j for j, p in enumerate(roster)}
    evens: dict[tuple, _Even] = {}

    def even(key, what) -> float:  # what: a stage (forward or lost from it), or "skip" (the skipper's jump)
        k = (person[key], _STAGE_INDEX.get(what, len(_STAGE_INDEX)))
        if k not in evens:
            evens[k] = _Even(_even_start(*k))
        return evens[k]()

    by_key = {p["manager"]: p for p in roster}
    rows, stages, times = [], [], []
    median_wm = dict(_MEDIAN_WORK_MIN)
    median_wm[STALL_STAGE] *= STALL_FACTOR
    for i, (t0, key, chan) in enumerate(zip(deals["_t0"].to_numpy(), deals["manager"], deals["channel"])):
        p = by_key[key]
        kind = p["kind"]
        mult = p["skill"] * CHANNELS[chan][2]
        if kind == "newcomer":
            tenure = (t0 - _ns(p["hired_at"])) / _NS_DAY
            mult *= 0.85 + 0.15 * min(1.0, tenure / 60)
        speed = _OVERLOAD_SLOWDOWN if (kind == "overloaded_manager" and t0 >= overload_slow_from) else 1.0
        goes_back = rng.random() < _BACKWARD_DEAL_P
        path = [("new", 0.0)]
        cur, t = "new", 0.0
        forced = None
        while True:
            dur = max(median_wm[cur] * speed * math.exp(rng.normal(0.0, _DURATION_SIGMA)), _MIN_STAY_WORK_MIN)
            if forced is not None:
                nxt, forced = forced, None
                dur = max(dur * 0.5, _MIN_STAY_WORK_MIN)
            else:
                p_fwd = _FORWARD_P[cur] * mult
                rng.random()  # drawn, unused: the decision comes from an equidistributed sequence (_Even)
                if cur == "proposal" and kind == "weak_closer":
                    p_fwd *= 0.5
                if even(key, cur) >= min(p_fwd, 0.97):
                    path.append(("lost", t + dur))
                    break
                nxt = _FORWARD[cur]
                if cur == "new" and rng.random() < _SKIP_QUALIFIED_P:
                    nxt = "needs"
                if cur == "qualified" and kind == "stage_skipper" and (rng.random(), even(key, "skip"))[1] < _SKIP_NEEDS_P:
                    nxt = "proposal" if rng.random() < 0.7 else "invoice"
                if goes_back and _STAGE_INDEX[cur] >= 2 and len(path) >= 2 and nxt != "won":
                    goes_back = False
                    forced = cur
                    nxt = path[-2][0]
            t = t + dur
            path.append((nxt, t))
            if nxt == "won":
                break
            cur = nxt
        for s, tt in path:
            rows.append(i)
            stages.append(s)
            times.append(tt)
    return np.array(rows), np.array(stages, dtype=object), np.array(times, dtype=float)


def _make_form_deals(rng, cal: WorkCalendar, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Deals a web form creates without a lead: the robot owns half of them, nobody the others.

    The robot declines every one within minutes (calendar time: a robot does not keep office
    hours), at the first stage, into ``lost`` with «Не целевой» or «Дубль».
    """
    t = _lead_times(rng, cal, start, end, scale=_FORM_DEALS_SCALE)
    n = len(t)
    robot = rng.random(n) < _FORM_ROBOT_SHARE
    delay_sec = np.round(np.clip(_lognormal(rng, _DECLINE_MEDIAN_MIN, 0.7, n), 0.5, 30.0) * 60).astype(np.int64)
    reason = np.where(robot, _pick(rng, _FORM_REASONS[ROBOT], n), _pick(rng, _FORM_REASONS[None], n))
    channel = np.where(rng.random(n) < 0.7, "website", "ads_yandex")
    return pd.DataFrame(
        {
            "_t0": t,
            "manager": np.where(robot, ROBOT, None).astype(object),
            "channel": channel.astype(object),
            "lead_id": None,
            "_form": True,
            "_declined": t + delay_sec * 1_000_000_000,
            "_form_reason": reason,
            "_contact": _full_names_fast(rng, n),
        }
    )


def _lost_terminals(rng, row: np.ndarray, stage: np.ndarray) -> np.ndarray:
    """Each lost entry goes to ``lost`` or ``cancelled`` by the stage the deal was lost at (:data:`CANCEL_SHARE`)."""
    stage = stage.copy()
    at = np.flatnonzero(stage == "lost")
    prev = stage[at - 1]  # a lost entry is never a deal's first: the previous row is the same deal's
    assert (row[at - 1] == row[at]).all()
    p = np.array([CANCEL_SHARE[s] for s in prev])
    stage[at[rng.random(len(at)) < p]] = "cancelled"
    return stage


def _lost_reasons(rng, stage: np.ndarray) -> np.ndarray:
    """A reason from the terminal's list, a few left empty."""
    out = np.full(len(stage), None, dtype=object)
    for terminal, table in LOST_REASONS.items():
        out = np.where(stage == terminal, _pick(rng, table, len(stage)), out)
    empty = rng.random(len(stage)) < _EMPTY_REASON_P
    return np.where(empty, None, out)


def _make_deals(rng, cal: WorkCalendar, roster, leads: pd.DataFrame, lead_extras: pd.DataFrame, as_of_ns: int, overload_slow_from: int,
                start: pd.Timestamp, end: pd.Timestamp, seed: int):
    conv = leads["status"].to_numpy() == "converted"
    src = leads.loc[conv].reset_index(drop=True)
    from_leads = pd.DataFrame(
        {
            "_t0": lead_extras.loc[conv, "_decided"].to_numpy(),
            "manager": src["manager"].to_numpy(dtype=object),
            "channel": src["channel"].to_numpy(dtype=object),
            "lead_id": src["lead_id"].to_numpy(dtype=object),
            "_form": False,
        }
    )
    forms = _make_form_deals(np.random.default_rng([seed, 41]), cal, start, end)
    deals = pd.concat([from_leads, forms], ignore_index=True)
    deals = deals.iloc[np.argsort(deals["_t0"].to_numpy(), kind="stable")].reset_index(drop=True)
    n = len(deals)
    deals.insert(0, "deal_id", [str(50001 + i) for i in range(n)])
    t0 = deals["_t0"].to_numpy()
    form = deals["_form"].to_numpy(dtype=bool)

    # deals from leads move through the funnel in working time
    sub = np.flatnonzero(~form)
    r_sub, stage, offset = _simulate_paths(rng, deals.iloc[sub], roster, overload_slow_from)
    row = sub[r_sub]
    first = np.r_[True, row[1:] != row[:-1]]
    moved = cal.add_working_minutes(_to_dt(t0[row]), offset).view(np.int64)
    entered = np.where(first, t0[row], moved)
    stage = _lost_terminals(np.random.default_rng([seed, 43]), row, stage)
    # form deals: created, declined by the robot minutes later
    fi = np.flatnonzero(form)
    row = np.r_[row, fi, fi]
    stage = np.r_[stage, np.full(len(fi), "new", dtype=object), np.full(len(fi), "lost", dtype=object)]
    entered = np.r_[entered, t0[fi], deals["_declined"].to_numpy()[fi].astype(np.int64)]
    seq = np.r_[np.arange(len(r_sub)), np.full(len(fi), -2), np.full(len(fi), -1)]
    order = np.lexsort((seq, row))
    row, stage, entered = row[order], stage[order], entered[order]
    keep = entered <= as_of_ns
    row, stage, entered = row[keep], stage[keep], entered[keep]

    # the deal's state at as_of
    last = np.r_[row[1:] != row[:-1], True]
    cur_stage = pd.Series(stage[last], index=row[last])
    cur_time = pd.Series(entered[last], index=row[last])
    deals["stage"] = cur_stage.reindex(range(n)).to_numpy()
    st = deals["stage"].to_numpy(dtype=object)
    terminal = np.isin(st, TERMINAL_STAGES)
    deals["outcome"] = np.where(np.isin(st, LOST_STAGES), "lost", np.where(terminal, st, "open"))
    deals["closed_at"] = _to_dt(np.where(terminal, cur_time.reindex(range(n)).to_numpy(), _NAT))

    # the leaver's unfinished deals go to the normal managers, round-robin
    by_key = {p["manager"]: p for p in roster}
    leaver = next((p for p in roster if p["kind"] == "leaver"), None)
    normal = sorted(p["manager"] for p in roster if p["kind"] == "normal") or ["h01"]
    deals["_orig_manager"] = deals["manager"]
    deals["_reassigned_at"] = _NAT
    if leaver is not None:
        cutoff = _ns(leaver["left_at"]) + _NS_DAY
        end_ns = np.where(terminal, deals["closed_at"].to_numpy().view(np.int64), as_of_ns)
        hit = (deals["manager"].to_numpy() == leaver["manager"]) & (end_ns >= cutoff)
        idx = np.flatnonzero(hit)
        deals.loc[idx, "manager"] = [normal[j % len(normal)] for j in range(len(idx))]
        deals.loc[idx, "_reassigned_at"] = np.maximum(cutoff, deals.loc[idx, "_t0"].to_numpy())

    # who moved each entry: the responsible manager at that moment, sometimes the head; the head
    # moves most deals into invoice (he approves the invoice); the robot declines the form deals
    d_orig = deals["_orig_manager"].to_numpy(dtype=object)[row]
    d_new = deals["manager"].to_numpy(dtype=object)[row]
    re_at = deals["_reassigned_at"].to_numpy(dtype=np.int64)[row]
    moved_by = np.where((re_at != _NAT) & (entered >= re_at), d_new, d_orig)
    first_kept = np.r_[True, row[1:] != row[:-1]]
    head = rng.random(len(row)) < _HEAD_MOVES_P
    moved_by = np.where(head & ~first_kept & ~form[row], "h01", moved_by)
    into_invoice = np.flatnonzero(stage == "invoice")  # (equidistributed: the share lands at the design value)
    approves = _even_by_group(np.zeros(len(into_invoice), dtype=np.int64)) < INVOICE_BY_HEAD_P
    moved_by[into_invoice[approves]] = "h01"
    moved_by = np.where(form[row] & ~first_kept, ROBOT, moved_by)
    history = pd.DataFrame(
        {"deal_id": deals["deal_id"].to_numpy(dtype=object)[row], "stage": stage, "entered_at": _to_dt(entered), "moved_by": moved_by}
    )

    # amounts, discounts and payment terms
    product = _pick(rng, PRODUCTS, n)
    med = np.array([PRODUCTS[p][1] for p in product], dtype=float)
    list_price = np.maximum(np.round(med * np.exp(rng.normal(0, 0.5, n)) / 100) * 100, 5000)
    reached = pd.Series(np.isin(stage, ("proposal", "invoice", "won"))).groupby(row).any().reindex(range(n), fill_value=False).to_numpy()
    kinds = np.array([by_key[k]["kind"] if k in by_key else "form" for k in deals["_orig_manager"]], dtype=object)
    violator = kinds == "discount_violator"
    steps = np.array([0, 0, 0, 0, 0, 0, 1, 2, 2.5, 3, 4, 5, 5, 6, 7, 7.5, 8, 10], dtype=float)
    disc = steps[rng.integers(0, len(steps), n)]
    # the violator: exactly 30% of the deals that got terms; anybody else: a rare slip
    over = (~violator & (rng.random(n) < 0.004)) | _exact_share(rng, violator & reached, 0.30)
    disc = np.where(over, np.round(rng.uniform(12, 25, n) * 2) / 2, disc)
    # list prices are whole hundreds and discounts whole or half percents, so the amount is a
    # multiple of 0.5 RUB; computed this way it is exact in binary floating point
    amount = np.round((list_price / 100) * (100 - disc) * 2) / 2
    amount = np.where(amount == INSTALMENT_MIN_AMOUNT, amount + 100, amount)
    big = amount > INSTALMENT_MIN_AMOUNT
    u = rng.random(n)
    terms_big = np.select([u < 0.35, u < 0.70, u < 0.90], ["prepaid", "postpaid", "instalment_3m"], "instalment_6m")
    terms_small = np.where(u < 0.5, "prepaid", "postpaid")
    small_instalment = (~violator & (rng.random(n) < 0.004)) | _exact_share(rng, violator & reached & ~big, 0.25)
    terms_small = np.where(small_instalment, np.where(rng.random(n) < 0.7, "instalment_3m", "instalment_6m"), terms_small)
    terms = np.where(big, terms_big, terms_small)
    # a form deal is an empty card: no amount, no product
    deals["amount"] = np.where(form, np.nan, np.where(reached, amount, list_price))
    deals["discount_pct"] = np.where(reached, disc, np.nan)
    deals["payment_terms"] = np.where(reached, terms, None)
    deals["product"] = np.where(form, None, product)
    deals["currency"] = "RUB"
    deals["created_at"] = _to_dt(t0)
    lost = deals["outcome"].to_numpy() == "lost"
    reason = _lost_reasons(np.random.default_rng([seed, 53]), st)
    deals["lost_reason"] = np.where(lost, np.where(form, deals["_form_reason"].to_numpy(dtype=object), reason), None)
    return deals, history


# --------------------------------------------------------------------------- activities


def _stage_visits(deals: pd.DataFrame, history: pd.DataFrame, as_of_ns: int) -> pd.DataFrame:
    """Non-terminal stage visits with their [entry, exit) interval."""
    h = history.reset_index(drop=True)
    t = h["entered_at"].to_numpy().view(np.int64)
    same_next = np.r_[h["deal_id"].to_numpy()[1:] == h["deal_id"].to_numpy()[:-1], False]
    exit_ns = np.where(same_next, np.r_[t[1:], 0], as_of_ns)
    v = pd.DataFrame({"deal_id": h["deal_id"], "stage": h["stage"], "entry": t, "exit": exit_ns})
    return v[~v["stage"].isin(TERMINAL_STAGES)].reset_index(drop=True)


def _make_activities(rng, cal: WorkCalendar, leads, lead_extras, deals, history, as_of_ns: int) -> pd.DataFrame:
    parts = []
    # the form deals the robot declines have no calls, tasks or meetings
    history = history[history["deal_id"].isin(deals.loc[~deals["_form"].to_numpy(dtype=bool), "deal_id"])]

    def call_durations(size, missed_p=0.12):
        d = np.round(np.clip(_lognormal(rng, 230.0, 0.6, size), 25, 1800))
        return np.where(rng.random(size) < missed_p, 0.0, d)

    # 1. first-response call on every answered lead
    answered = leads["first_response_at"].notna().to_numpy()
    la = leads.loc[answered]
    dur = call_durations(len(la))
    dur = np.where(la["disqualify_reason"].to_numpy(dtype=object) == "Не дозвонились", 0.0, dur)
    parts.append(pd.DataFrame({
        "type": "call", "manager": la["manager"].to_numpy(dtype=object), "deal_id": None,
        "lead_id": la["lead_id"].to_numpy(dtype=object), "_t": la["first_response_at"].to_numpy().view(np.int64),
        "duration_sec": dur, "_due": _NAT, "_done": _NAT,
    }))

    visits = _stage_visits(deals, history, as_of_ns)
    span = np.asarray(cal.working_minutes_between(_to_dt(visits["entry"].to_numpy()), _to_dt(visits["exit"].to_numpy())))
    dmeta = deals.set_index("deal_id")[["_orig_manager", "manager", "_reassigned_at"]]

    def at_fraction(vidx, frac):
        start = _to_dt(visits["entry"].to_numpy()[vidx])
        return cal.add_working_minutes(start, frac * span[vidx]).view(np.int64)

    # 2. calls during each stage
    lam = visits["stage"].map({"new": 0.7, "qualified": 0.9, "needs": 1.1, "proposal": 1.0, "invoice": 0.7}).to_numpy()
    n_calls = rng.poisson(lam)
    vidx = np.repeat(np.arange(len(visits)), n_calls)
    parts.append(pd.DataFrame({
        "type": "call", "deal_id": visits["deal_id"].to_numpy(dtype=object)[vidx], "lead_id": None,
        "_t": at_fraction(vidx, rng.random(len(vidx))), "duration_sec": call_durations(len(vidx)),
        "_due": _NAT, "_done": _NAT,
    }))

    # 3. one task for most stage visits: due in 1–3 working days; mostly done on time
    has_task = rng.random(len(visits)) < np.where(visits["stage"].to_numpy() == "new", 0.45, 0.6)
    vidx = np.flatnonzero(has_task)
    # set 2-60 working minutes into the stay, and within it when the stay is shorter (qualification takes minutes)
    after = np.minimum(rng.uniform(2, 60, len(vidx)), 0.8 * span[vidx])
    created = cal.add_working_minutes(_to_dt(visits["entry"].to_numpy()[vidx]), after).view(np.int64)
    due = cal.add_working_minutes(_to_dt(created), rng.integers(1, 4, len(vidx)) * 540.0).view(np.int64)
    u = rng.random(len(vidx))
    work_to_due = np.asarray(cal.working_minutes_between(_to_dt(created), _to_dt(due)))
    on_time = cal.add_working_minutes(_to_dt(created), rng.uniform(0.1, 0.95, len(vidx)) * work_to_due).view(np.int64)
    late = cal.add_working_minutes(_to_dt(due), np.clip(_lognormal(rng, 400.0, 0.9, len(vidx)), 10, 6000)).view(np.int64)
    done = np.select([u < 0.78, u < 0.91], [on_time, late], _NAT)
    parts.append(pd.DataFrame({
        "type": "task", "deal_id": visits["deal_id"].to_numpy(dtype=object)[vidx], "lead_id": None,
        "_t": created, "duration_sec": np.nan, "_due": due, "_done": done,
    }))

    # 4. meetings and e-mails around the commercial proposal and the invoice
    prop = np.flatnonzero((visits["stage"].to_numpy() == "proposal") & (rng.random(len(visits)) < 0.5))
    parts.append(pd.DataFrame({
        "type": "meeting", "deal_id": visits["deal_id"].to_numpy(dtype=object)[prop], "lead_id": None,
        "_t": at_fraction(prop, rng.uniform(0.05, 0.6, len(prop))),
        "duration_sec": rng.integers(3, 10, len(prop)) * 600.0, "_due": _NAT, "_done": _NAT,
    }))
    mail = np.flatnonzero(np.isin(visits["stage"].to_numpy(), ("proposal", "invoice")) & (rng.random(len(visits)) < 0.7))
    parts.append(pd.DataFrame({
        "type": "email", "deal_id": visits["deal_id"].to_numpy(dtype=object)[mail], "lead_id": None,
        "_t": cal.add_working_minutes(_to_dt(visits["entry"].to_numpy()[mail]), rng.uniform(5, 180, len(mail))).view(np.int64),
        "duration_sec": np.nan, "_due": _NAT, "_done": _NAT,
    }))

    act = pd.concat(parts[1:], ignore_index=True)
    # the responsible manager at the moment of the activity
    meta = dmeta.loc[act["deal_id"]]
    re_at = meta["_reassigned_at"].to_numpy(dtype=np.int64)
    act["manager"] = np.where((re_at != _NAT) & (act["_t"].to_numpy() >= re_at), meta["manager"].to_numpy(dtype=object), meta["_orig_manager"].to_numpy(dtype=object))
    act = pd.concat([parts[0], act], ignore_index=True)
    # nothing after the audit moment: events after as_of are dropped, and so are tasks
    # whose deadline is still ahead (so that no date in the data lies after as_of)
    act = act[(act["_t"].to_numpy() <= as_of_ns) & (act["_due"].to_numpy() <= as_of_ns)]
    act = act.assign(_done=np.where(act["_done"].to_numpy() > as_of_ns, _NAT, act["_done"].to_numpy()))
    type_rank = act["type"].map({"call": 0, "meeting": 1, "email": 2, "task": 3}).to_numpy()
    order = np.lexsort((type_rank, act["_t"].to_numpy()))
    act = act.iloc[order].reset_index(drop=True)
    act["activity_id"] = [str(1_000_001 + i) for i in range(len(act))]
    act["created_at"] = _to_dt(act["_t"].to_numpy())
    act["due_at"] = _to_dt(act["_due"].to_numpy(dtype=np.int64))
    act["done_at"] = _to_dt(act["_done"].to_numpy(dtype=np.int64))
    return act


# --------------------------------------------------------------------------- payments


def _make_payments(rng, cal: WorkCalendar, deals: pd.DataFrame, as_of_ns: int) -> pd.DataFrame:
    won = deals[deals["outcome"] == "won"]
    rows_deal, rows_t, rows_amt = [], [], []
    for deal_id, closed, amount, terms in zip(won["deal_id"], won["closed_at"], won["amount"], won["payment_terms"]):
        closed = pd.Timestamp(closed)
        if terms == "prepaid":
            dates = [cal.add_working_minutes(closed, float(rng.uniform(30, 3 * 540)))]
            parts = [amount]
        elif terms == "postpaid":
            dates = [cal.next_open(closed + pd.Timedelta(days=int(rng.integers(5, 31))) + pd.Timedelta(minutes=int(rng.integers(0, 480))))]
            parts = [amount]
        else:
            k = int(terms.split("_")[1].rstrip("m"))
            first = cal.add_working_minutes(closed, float(rng.uniform(60, 3 * 540)))
            dates = [cal.next_open(first + pd.DateOffset(months=j)) for j in range(k)]
            each = math.floor(amount / k)  # whole roubles; the last one takes the rest (exact floats)
            parts = [float(each)] * (k - 1) + [amount - each * (k - 1)]
        for d, a in zip(dates, parts):
            if d.value <= as_of_ns:
                rows_deal.append(deal_id)
                rows_t.append(d.value)
                rows_amt.append(float(a))
    pay = pd.DataFrame({"deal_id": rows_deal, "_t": np.array(rows_t, dtype=np.int64), "amount": rows_amt})
    pay = pay.sort_values(["_t", "deal_id"], kind="stable").reset_index(drop=True)
    pay["paid_at"] = _to_dt(pay["_t"].to_numpy())
    pay["payment_id"] = [str(9001 + i) for i in range(len(pay))]
    return pay


# --------------------------------------------------------------------------- plans

_PLAN_METRICS_MANAGER = ("revenue", "deals_won", "leads", "calls", "call_minutes", "meetings", "tasks_done")
_PLAN_ROUND = {"revenue": 10_000, "deals_won": 1, "leads": 1, "calls": 5, "call_minutes": 10, "meetings": 1, "tasks_done": 1}
_RAMP = (0.3, 0.6, 0.85)  # newcomer's plan in the first months, as a share of a typical manager


def _monthly_facts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Fact per (manager, month) for the planned metrics."""
    d, le, a = tables["deals"], tables["leads"], tables["activities"]
    won = d[d["outcome"] == "won"]
    frames = {
        "revenue": won.groupby([won["manager"], won["closed_at"].dt.strftime("%Y-%m")])["amount"].sum(),
        "deals_won": won.groupby([won["manager"], won["closed_at"].dt.strftime("%Y-%m")]).size(),
        "leads": le.groupby([le["manager"], le["created_at"].dt.strftime("%Y-%m")]).size(),
    }
    calls = a[a["type"] == "call"]
    frames["calls"] = calls.groupby([calls["manager"], calls["created_at"].dt.strftime("%Y-%m")]).size()
    frames["call_minutes"] = calls.groupby([calls["manager"], calls["created_at"].dt.strftime("%Y-%m")])["duration_sec"].sum() / 60
    meet = a[a["type"] == "meeting"]
    frames["meetings"] = meet.groupby([meet["manager"], meet["created_at"].dt.strftime("%Y-%m")]).size()
    done = a[(a["type"] == "task") & a["done_at"].notna()]
    frames["tasks_done"] = done.groupby([done["manager"], done["done_at"].dt.strftime("%Y-%m")]).size()
    out = pd.DataFrame(frames).fillna(0.0)
    out.index.names = ["manager", "period"]
    return out


def _round_up(x: float, step: float) -> float:
    return float(math.ceil(x / step - 1e-9) * step)


def _make_plans(tables, roster, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    facts = _monthly_facts(tables)
    periods = [p.strftime("%Y-%m") for p in pd.period_range(start, end, freq="M")]
    managers = [p for p in roster if p["role"] == "manager" and p["kind"] != "robot"]

    def months_active(p) -> list[str]:
        first = max(pd.Timestamp(p["hired_at"]).strftime("%Y-%m"), periods[0])
        last = pd.Timestamp(p["left_at"]).strftime("%Y-%m") if pd.notna(p["left_at"]) else periods[-1]
        return [x for x in periods if first <= x <= last]

    typical: dict[str, pd.Series] = {}
    for p in managers:
        act = months_active(p)
        full = act[1:-1] if pd.notna(p["left_at"]) else act[1:]  # skip partial first/last months
        if p["kind"] == "newcomer" or not full:
            continue
        f = facts.reindex(pd.MultiIndex.from_product([[p["manager"]], full])).fillna(0.0)
        typical[p["manager"]] = f.median()
    team_typical = pd.DataFrame(typical).T.median()

    rows = []
    for period in periods:
        team_sum = {m: 0.0 for m in _PLAN_METRICS_MANAGER}
        for p in managers:
            act = months_active(p)
            if period not in act:
                continue
            if p["kind"] == "newcomer":
                i = act.index(period)
                base = team_typical * (_RAMP[i] if i < len(_RAMP) else 1.0)
            else:
                base = typical.get(p["manager"], team_typical)
            for metric in _PLAN_METRICS_MANAGER:
                target = max(_round_up(base[metric] * 1.1, _PLAN_ROUND[metric]), _PLAN_ROUND[metric])
                rows.append((period, p["manager"], metric, target))
                team_sum[metric] += target
        for metric in _PLAN_METRICS_MANAGER:
            rows.append((period, None, metric, team_sum[metric]))
        # team-only ratios: conversion = deals won / leads, %; average won deal, RUB
        rows.append((period, None, "conversion", round(100 * team_sum["deals_won"] / max(team_sum["leads"], 1), 1)))
        rows.append((period, None, "avg_deal", _round_up(team_sum["revenue"] / max(team_sum["deals_won"], 1), 1000)))
    return pd.DataFrame(rows, columns=["period", "manager", "metric", "target"])


# --------------------------------------------------------------------------- the manifest


def _visit_durations(history: pd.DataFrame) -> pd.DataFrame:
    h = history.sort_values(["deal_id", "entered_at"], kind="stable").reset_index(drop=True)
    same_next = np.r_[h["deal_id"].to_numpy()[1:] == h["deal_id"].to_numpy()[:-1], False]
    nxt_t = h["entered_at"].shift(-1)
    nxt_s = h["stage"].shift(-1)
    v = h.assign(next_stage=nxt_s.where(same_next), days=((nxt_t - h["entered_at"]).dt.total_seconds() / 86400).where(same_next))
    return v[~v["stage"].isin(TERMINAL_STAGES)]


def _skipped_needs(history: pd.DataFrame) -> pd.Series:
    """Per deal: ``True`` if it reached proposal, invoice or won without ever entering ``needs``;
    ``NaN``-free boolean Series indexed by deal id, only for deals that reached one of those stages."""
    reached = history[history["stage"].isin(("proposal", "invoice", "won"))]["deal_id"].unique()
    had_needs = set(history.loc[history["stage"] == "needs", "deal_id"])
    return pd.Series([d not in had_needs for d in reached], index=reached, dtype=bool)


def _significant(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant digits (a p-value kept readable in the JSON)."""
    return float(x) if not x or not math.isfinite(x) else round(float(x), digits - 1 - int(math.floor(math.log10(abs(x)))))


def _thresholds() -> dict:
    """The practical thresholds of the `analysis:` section's defaults (the demo config's): what
    the manifest's expectations are stated against."""
    from ..data.params import FunnelSettings, LeadsSettings, StallsSettings

    f, le, st = FunnelSettings(), LeadsSettings(), StallsSettings()
    return {
        "funnel_min_effect": f.min_effect,
        "leads_min_effect": le.min_effect,
        "leads_min_ratio": le.min_ratio,
        "leads_min_difference_minutes": le.min_difference_minutes,
        "stalls_min_ratio": st.min_ratio,
        "stalls_min_difference_hours": st.min_difference_hours,
    }


def _measure(tables, roster, cal: WorkCalendar, as_of: pd.Timestamp, params: dict) -> dict:
    """The planted truth, measured on the generated tables.

    The *team* is the sellers (role manager, the desk included): not the head of sales, not the
    robot, not the deals without a manager. "The rest" of a manager is the team without him.
    """
    from ..stats import logrank

    leads, deals, hist, act = tables["leads"], tables["deals"], tables["stage_history"], tables["activities"]
    role = {p["kind"]: p["manager"] for p in roster}
    keys = [p["manager"] for p in roster if p["kind"] != "robot"]  # people
    team = [p["manager"] for p in roster if p["role"] == "manager" and p["kind"] != "robot"]
    desk = role["desk"]

    resp = cal.working_minutes_between(leads["created_at"], leads["first_response_at"])
    med_resp = resp.groupby(leads["manager"]).median().reindex(keys)
    decided = leads[leads["status"].isin(("converted", "disqualified"))]
    converted = decided["status"] == "converted"
    conv = converted.groupby(decided["manager"]).mean().reindex(keys)
    next_day = (leads["first_response_at"].dt.normalize() > leads["created_at"].dt.normalize()) & (resp > 0)

    def r(x, n=3):
        return None if _missing(x) else round(float(x), n)

    def rest_of(who, frame, col="manager"):
        return frame[col].isin(team) & (frame[col] != who)

    slow = role["slow_responder"]
    others = [k for k in keys if k != slow]
    lead_resp = {k: r(med_resp[k], 1) for k in keys}

    deal_mgr = deals.set_index("deal_id")["manager"]
    skips = _skipped_needs(hist)
    skip_by = (
        skips.groupby(deal_mgr.reindex(skips.index).to_numpy()).agg(["sum", "count"]).reindex(keys, fill_value=0)
    )
    skipper = role["stage_skipper"]
    visits = _visit_durations(hist)
    q = visits[visits["stage"] == "qualified"]
    skip_targets = (
        q[q["deal_id"].isin(skips[skips].index) & q["next_stage"].isin(("proposal", "invoice"))]
        .drop_duplicates("deal_id")["next_stage"].value_counts()
    )
    new_v = visits[visits["stage"] == "new"]
    skip_q = new_v[new_v["next_stage"] == "needs"]
    back = visits[visits["next_stage"].notna() & ~visits["next_stage"].isin(LOST_STAGES)]
    back = back[back["next_stage"].map(_STAGE_INDEX) < back["stage"].map(_STAGE_INDEX)]

    # stage times over the deals people own (the robot's and the unassigned deals leave `new` in minutes)
    people_visits = visits[visits["deal_id"].map(deal_mgr).isin(keys)]
    done_visits = people_visits[people_visits["days"].notna()]
    med_days = done_visits.groupby("stage")["days"].median()
    p80_days = done_visits.groupby("stage")["days"].quantile(0.8)
    ratios = {s: r(med_days[s] / NORM_DAYS[s]) for s in FUNNEL_STAGES}
    other_ratio = float(np.median([ratios[s] for s in FUNNEL_STAGES if s != STALL_STAGE]))

    open_by = deals[deals["outcome"] == "open"].groupby("manager").size().reindex(keys, fill_value=0)
    over = role["overloaded_manager"]

    terms = deals["payment_terms"].astype(object)
    inst = terms.isin(("instalment_3m", "instalment_6m"))
    disc_v = deals["discount_pct"] > MAX_DISCOUNT_PCT
    inst_v = inst & (deals["amount"] <= INSTALMENT_MIN_AMOUNT)
    viol = {}
    for k in keys:
        mine = deals["manager"] == k
        viol[k] = {
            "discount_over_limit": int((disc_v & mine).sum()),
            "instalment_below_min": int((inst_v & mine).sum()),
            "deals_with_violation": int(((disc_v | inst_v) & mine).sum()),
            "deals_with_terms": int((terms.notna() & mine).sum()),
        }
    violator = role["discount_violator"]

    prop = visits[(visits["stage"] == "proposal") & visits["next_stage"].notna()]
    prop_rate = (prop["next_stage"] == "invoice").groupby(prop["deal_id"].map(deal_mgr)).mean().reindex(keys)
    weak = role["weak_closer"]
    prop_owner = prop["deal_id"].map(deal_mgr)
    team_prop = float((prop["next_stage"] == "invoice")[prop_owner.isin(team) & (prop_owner != weak)].mean())

    unanswered = leads["first_response_at"].isna() & (leads["status"] == "new")

    # the inbound desk against the rest of the team
    obs = leads["first_response_at"].notna()
    waited = cal.working_minutes_between(leads["created_at"], leads["first_response_at"].where(obs, as_of))
    mine_l, rest_l = leads["manager"] == desk, rest_of(desk, leads)
    # its answers are compared with the ordinary sellers': the analysis judges the slow responder apart (a robust baseline)
    rest_r = rest_l & (leads["manager"] != role["slow_responder"])
    d_med, r_med = float(resp[mine_l & obs].median()), float(resp[rest_r & obs].median())
    sla = (resp <= 30) & obs
    d_conv, r_conv = float(converted[decided["manager"] == desk].mean()), float(converted[rest_of(desk, decided)].mean())
    normal_leads = leads["manager"].value_counts().reindex(sorted(p["manager"] for p in roster if p["kind"] == "normal"), fill_value=0)
    desk_deals = deals["manager"] == desk

    # owner groups
    def group_row(sel):
        d = deals[sel]
        out = {"deals": int(sel.sum()), "share": r(sel.mean()), **{k: int(v) for k, v in d["outcome"].value_counts().sort_index().items()}}
        lost = d[d["outcome"] == "lost"]
        if len(lost):
            mins = (lost["closed_at"] - lost["created_at"]).dt.total_seconds() / 60
            out.update({
                "median_minutes_to_decline": r(mins.median(), 2), "max_minutes_to_decline": r(mins.max(), 2),
                "lost_at_stage": {k: int(v) for k, v in lost["stage"].value_counts().sort_index().items()},
                "lost_reasons": {k: int(v) for k, v in lost["lost_reason"].value_counts().sort_index().items()},
                "with_lead": int(d["lead_id"].notna().sum()), "with_amount": int(d["amount"].notna().sum()),
            })
        return out

    no_mgr, system = deals["manager"].isna(), deals["manager"] == ROBOT
    head_deals, team_deals = deals["manager"] == "h01", deals["manager"].isin(team)
    first = new_v[new_v["next_stage"].notna()]
    first_fwd = ~first["next_stage"].isin(LOST_STAGES)
    first_owner = first["deal_id"].map(deal_mgr)

    # lost terminals and reasons
    lost_d = deals[deals["outcome"] == "lost"]
    lost_from = hist.sort_values(["deal_id", "entered_at"], kind="stable").groupby("deal_id")["stage"].apply(
        lambda s: s.iloc[-2] if len(s) > 1 else None)
    lf = lost_d.assign(lost_from=lost_d["deal_id"].map(lost_from).to_numpy())
    lf_team = lf[lf["manager"].isin(team)]

    # who moved the deals
    h_owner = hist["deal_id"].map(deal_mgr)
    firsts = ~hist["deal_id"].duplicated()
    moves = hist[~firsts.to_numpy()]
    m_owner = h_owner[~firsts.to_numpy()]
    inv = moves[moves["stage"] == "invoice"]
    inv_owner = m_owner[moves["stage"] == "invoice"]
    inv_team = inv[inv_owner.isin(team)]

    # the stage that takes minutes: working minutes in qualified per manager
    qv = q[q["next_stage"].notna()].copy()
    qv["exit"] = qv["entered_at"] + pd.to_timedelta(qv["days"], unit="D")
    qv["wmin"] = np.asarray(cal.working_minutes_between(qv["entered_at"], qv["exit"]))
    q_owner = qv["deal_id"].map(deal_mgr)
    q_med = qv["wmin"].groupby(q_owner).median().reindex(keys)
    q_team = qv[q_owner.isin(team)]

    return {
        "seed": params["seed"],
        "period": {"start": params["start"], "end": params["end"], "as_of": as_of.strftime("%Y-%m-%d %H:%M:%S")},
        "team_definition": "the sellers (role manager, the inbound desk included); the head of sales, the CRM robot and the deals "
                           "without a manager are not the team; the rest of a manager = the team without him",
        "thresholds": _thresholds(),
        "roster": {
            "head_of_sales": "h01",
            "newcomer": role["newcomer"],
            "newcomer_hired_at": pd.Timestamp(next(p for p in roster if p["kind"] == "newcomer")["hired_at"]).strftime("%Y-%m-%d"),
            "leaver": role["leaver"],
            "leaver_left_at": pd.Timestamp(next(p for p in roster if p["kind"] == "leaver")["left_at"]).strftime("%Y-%m-%d"),
            "leaver_deals_reassigned": int(params["reassigned"]),
            "normal": sorted(p["manager"] for p in roster if p["kind"] == "normal"),
            "inbound_desk": desk,
            "system_owners": [ROBOT],
            "team": team,
            "head_share_of_deals": r((deals["manager"] == "h01").mean()),
        },
        "slow_responder": {
            "manager": slow,
            "expect": {"response_time": "flag", "left_overnight": "flag", "lead_to_deal": "flag"},
            "design_median_response_working_min": 240,
            "median_response_working_min": lead_resp[slow],
            "max_median_response_working_min_others": max(lead_resp[k] for k in others if lead_resp[k] is not None),
            "answered_next_day_share": r(next_day[leads["manager"] == slow].mean()),
            "answered_next_day_share_rest": r(next_day[rest_of(slow, leads)].mean()),
            "lead_to_deal_conversion": r(conv[slow]),
            "lead_to_deal_conversion_others": r(converted[rest_of(slow, decided)].mean()),
            "median_response_working_min_by_manager": lead_resp,
            "unanswered_leads_by_manager": {k: int((unanswered & (leads["manager"] == k)).sum()) for k in keys},
        },
        "stage_skipper": {
            "manager": skipper,
            "stage": "needs",
            "expect": {"skips_mandatory_stage": "flag", "funnel_step_qualified>needs": "do_not_flag", "funnel_step_needs>proposal": "do_not_flag"},
            "definition": "deals that entered proposal, invoice or won without ever entering needs / deals that entered proposal, invoice or won",
            "skipped_deals": int(skip_by.loc[skipper, "sum"]),
            "eligible_deals": int(skip_by.loc[skipper, "count"]),
            "share": r(skip_by.loc[skipper, "sum"] / max(skip_by.loc[skipper, "count"], 1)),
            "skips_by_next_stage": {s: int(skip_targets.get(s, 0)) for s in ("proposal", "invoice")},
            "skipped_deals_others": int(skip_by.drop(index=skipper)["sum"].sum()),
            "qualified_skips_by_manager": {k: int((skip_q["deal_id"].map(deal_mgr) == k).sum()) for k in keys},
            "backward_moves_by_manager": {k: int((back["deal_id"].map(deal_mgr) == k).sum()) for k in keys},
        },
        "stalling_stage": {
            "stage": STALL_STAGE,
            "expect": {"stalled_stages": [STALL_STAGE]},
            "definition": "stays that ended before as_of, in the deals people own (not the robot's, not the unassigned ones); calendar days",
            "norm_days": NORM_DAYS[STALL_STAGE],
            "design_factor": STALL_FACTOR,
            "median_days_by_stage": {s: r(med_days[s], 4) for s in FUNNEL_STAGES},
            "p80_days_by_stage": {s: r(p80_days[s], 4) for s in FUNNEL_STAGES},
            "median_ratio_to_norm_by_stage": ratios,
            "stall_ratio_vs_other_stages": r(ratios[STALL_STAGE] / other_ratio),
        },
        "overloaded_manager": {
            "manager": over,
            "expect": {"deal_load": "flag", "time_in_stage": "flag (slower; not at the minutes stage)"},
            "deal_load_limit": DEAL_LOAD_LIMIT,
            "open_deals": int(open_by[over]),
            "max_open_deals_others": int(open_by.drop(index=[over, desk]).max()),
            "open_deals_by_manager": {k: int(v) for k, v in open_by.items()},
            "leads_last_90_days_by_manager": {
                k: int(((leads["manager"] == k) & (leads["created_at"] > as_of - pd.Timedelta(days=90))).sum()) for k in keys
            },
        },
        "discount_violator": {
            "manager": violator,
            "expect": {"policy": "flag"},
            "policy": {"max_discount_pct": MAX_DISCOUNT_PCT, "instalment_min_amount_exclusive": INSTALMENT_MIN_AMOUNT},
            "discount_over_limit": viol[violator]["discount_over_limit"],
            "instalment_below_min": viol[violator]["instalment_below_min"],
            "deals_with_violation": viol[violator]["deals_with_violation"],
            "violations_by_manager": viol,
        },
        "weak_closer": {
            "manager": weak,
            "expect": {"funnel_step_proposal>invoice": "flag"},
            "from_stage": "proposal",
            "to_stage": "invoice",
            "definition": "share of proposal visits that ended (before as_of) with a move to invoice; the rest of the team for the team rate",
            "rate": r(prop_rate[weak]),
            "team_rate_others": r(team_prop),
            "rate_by_manager": {k: r(prop_rate[k]) for k in keys},
        },
        "inbound_desk": {
            "manager": desk,
            "expect": {"response_time": "do_not_flag", "sla_share": "do_not_flag", "lead_to_deal": "do_not_flag",
                       "deal_load": "do_not_flag (its personal limit in the demo config)", "time_in_stage": "do_not_flag"},
            "why": "a difference that is significant on ten sellers' volume but far below the practical thresholds",
            "leads": int(mine_l.sum()),
            "rest_leads": int(rest_l.sum()),
            "volume_vs_median_normal_seller": r(mine_l.sum() / normal_leads.median(), 2),
            "design_response_factor": _DESK_SLOWER,
            "median_response_working_min": r(d_med, 2),
            "rest_median_response_working_min": r(r_med, 2),
            "response_ratio": r(d_med / r_med),
            "response_difference_working_min": r(d_med - r_med, 2),
            "response_log_rank_p": _significant(logrank(waited[mine_l], obs[mine_l], waited[rest_r], obs[rest_r])[1], 3),
            "response_definition": "working minutes to the first response, answered leads (medians); the log-rank test counts the "
                                   "unanswered leads as censored at as_of; against the rest of the team without the slow responder",
            "response_rest_leads": int(rest_r.sum()),
            "sla_share": r(sla[mine_l].mean()),
            "rest_sla_share": r(sla[rest_r].mean()),
            "design_lead_to_deal_gap": -_DESK_CONVERSION_GAP,
            "decided_leads": int((decided["manager"] == desk).sum()),
            "rest_decided_leads": int(rest_of(desk, decided).sum()),
            "lead_to_deal_conversion": r(d_conv, 4),
            "rest_lead_to_deal_conversion": r(r_conv, 4),
            "lead_to_deal_difference": r(d_conv - r_conv, 4),
            "deals": int(desk_deals.sum()),
            "open_deals": int(open_by[desk]),
        },
        "owner_groups": {
            "expect": "each group reported in a row of its own, outside the team baseline, never tested",
            "system_owners": [ROBOT],
            "robot_name": ROBOT_NAME,
            "no_manager": group_row(no_mgr),
            "system": group_row(system),
            "head_of_sales": {"deals": int(head_deals.sum()), "share": r(head_deals.mean())},
            "team": {"deals": int(team_deals.sum()), "share": r(team_deals.mean())},
            "first_step_rate": {
                "definition": "share of the stays in new that ended (before as_of) with a forward move",
                "all_deals": r(first_fwd.mean()),
                "team_deals": r(first_fwd[first_owner.isin(team)].mean()),
            },
        },
        "minutes_stage": {
            "stage": MINUTES_STAGE,
            "expect": {"unit": "minutes", "managers_flagged": []},
            "why": "the overloaded manager is slower there too, but by minutes: under the stalls' practical difference of an hour",
            "norm_days": r(NORM_DAYS[MINUTES_STAGE], 6),
            "design_median_working_min": _MEDIAN_WORK_MIN[MINUTES_STAGE],
            "median_working_min_team": r(q_team["wmin"].median(), 2),
            "p80_working_min_team": r(q_team["wmin"].quantile(0.8), 2),
            "median_calendar_min_team": r(q_team["days"].median() * 1440, 2),
            "median_working_min_by_manager": {k: r(q_med[k], 2) for k in keys},
            "share_of_stays_over_norm_calendar": r((q_team["days"] > NORM_DAYS[MINUTES_STAGE]).mean()),
        },
        "moved_by": {
            "expect": "with stay_owner: moved_by a stay is charged to whoever moved the deal into the stage: the head of sales' "
                      "invoice stays are his (own row); with deal_owner the owner's",
            "design_invoice_by_head_share": INVOICE_BY_HEAD_P,
            "invoice_entries_team_deals": int(len(inv_team)),
            "invoice_entries_moved_by_head": int((inv_team["moved_by"] == "h01").sum()),
            "invoice_moved_by_head_share": r((inv_team["moved_by"] == "h01").mean()),
            "moves": int(len(moves)),
            "moves_not_by_owner": int((moves["moved_by"].astype(object) != m_owner.astype(object)).sum()),
            "moves_by_head_on_others_deals": int(((moves["moved_by"] == "h01") & (m_owner != "h01")).sum()),
            "moves_by_robot": int((moves["moved_by"] == ROBOT).sum()),
            "moves_by_robot_on_unassigned_deals": int(((moves["moved_by"] == ROBOT) & m_owner.isna()).sum()),
            "creations_without_mover": int(hist.loc[firsts.to_numpy(), "moved_by"].isna().sum()),
        },
        "lost_terminals": {
            "terminals": list(LOST_STAGES),
            "expect": "every lost deal maps to outcome lost; losses reported by terminal and reason",
            "definition": "lost deals by the terminal they ended in and the stage they were lost at; the team's deals unless 'all'",
            "design_cancel_share_by_stage": dict(CANCEL_SHARE),
            "deals_by_terminal_all": {s: int((lost_d["stage"] == s).sum()) for s in LOST_STAGES},
            "deals_by_terminal_team": {s: int((lf_team["stage"] == s).sum()) for s in LOST_STAGES},
            "team_by_stage_lost_at": {
                s: {t: int(((lf_team["lost_from"] == s) & (lf_team["stage"] == t)).sum()) for t in LOST_STAGES} for s in FUNNEL_STAGES
            },
            "team_reasons_by_terminal": {
                t: {k: int(v) for k, v in lf_team.loc[lf_team["stage"] == t, "lost_reason"].value_counts().sort_index().items()}
                for t in LOST_STAGES
            },
            "team_empty_reason": int(lf_team["lost_reason"].isna().sum()),
        },
        "open_deals_by_manager": {k: int(v) for k, v in open_by.items()},
        "background": {
            "note": "not planted anomalies: ordinary noise an audit will also see",
            "overdue_open_tasks_by_manager": {
                k: int(((act["type"] == "task") & act["done_at"].isna() & (act["due_at"] < as_of) & (act["manager"] == k)).sum())
                for k in keys
            },
            "won_deals_without_payment_yet": int((~deals.loc[deals["outcome"] == "won", "deal_id"].isin(tables["payments"]["deal_id"])).sum()),
            "lead_status_counts": {k: int(v) for k, v in leads["status"].value_counts().sort_index().items()},
            "deal_outcome_counts": {k: int(v) for k, v in deals["outcome"].value_counts().sort_index().items()},
            "deal_stage_counts": {k: int(v) for k, v in deals["stage"].value_counts().sort_index().items()},
        },
    }


# --------------------------------------------------------------------------- generate


def generate(seed: int = 20261031, start="2025-08-01", end="2026-10-31", n_managers: int = 12) -> Department:
    """Generate the demo sales department (see the module docstring).

    ``start`` and ``end`` are the first and last calendar days; the audit moment
    ``as_of`` is ``end`` 23:59:59 and nothing is dated after it.
    """
    if not 8 <= int(n_managers) <= 15:
        raise ValueError(f"n_managers must be between 8 and 15, got {n_managers}")
    start_ts = pd.Timestamp(start).normalize()
    end_ts = pd.Timestamp(end).normalize()
    if (end_ts - start_ts).days < 60:
        raise ValueError("the period must span at least 60 days")
    as_of = end_ts + pd.Timedelta(hours=23, minutes=59, seconds=59)
    as_of_ns = _ns(as_of)
    rng = np.random.default_rng(seed)
    cal = WorkCalendar(holidays=RU_HOLIDAYS_2025_2026)

    roster = _make_roster(rng, cal, int(n_managers), start_ts, end_ts)
    roster = _add_desk_and_robot(np.random.default_rng([seed, 37]), cal, roster, start_ts)
    overload_start = _ns(end_ts - pd.Timedelta(days=_OVERLOAD_LEAD_DAYS))
    overload_slow_from = _ns(end_ts - pd.Timedelta(days=_OVERLOAD_SLOW_DAYS))
    leads, lead_extras = _make_leads(rng, cal, roster, start_ts, end_ts, as_of_ns, overload_start, int(seed))
    deals, history = _make_deals(rng, cal, roster, leads, lead_extras, as_of_ns, overload_slow_from, start_ts, end_ts, int(seed))
    leads = leads.drop(columns="deal_id").merge(deals.loc[deals["lead_id"].notna(), ["lead_id", "deal_id"]], on="lead_id", how="left")
    activities = _make_activities(rng, cal, leads, lead_extras, deals, history, as_of_ns)
    payments = _make_payments(rng, cal, deals, as_of_ns)

    managers = pd.DataFrame(roster)
    tables = {
        "managers": _canonical("managers", managers),
        "leads": _canonical("leads", leads),
        "deals": _canonical("deals", deals),
        "stage_history": _canonical("stage_history", history.sort_values(["entered_at", "deal_id"], kind="stable")),
        "activities": _canonical("activities", activities),
        "payments": _canonical("payments", payments),
    }
    tables["plans"] = _canonical("plans", _make_plans(tables, roster, start_ts, end_ts))
    tables = {name: tables[name] for name in TABLE_ORDER}

    ex = lead_extras[["lead_id", "company", "company_id", "contact", "contact_id"]]
    form = deals["_form"].to_numpy(dtype=bool)
    form_clients = pd.DataFrame({
        "deal_id": deals.loc[form, "deal_id"].to_numpy(), "company": "", "company_id": "",
        "contact": deals.loc[form, "_contact"].to_numpy(), "contact_id": [str(800001 + i) for i in range(int(form.sum()))],
    })
    deal_clients = deals.loc[~form, ["deal_id", "lead_id"]].merge(ex, on="lead_id", how="left").drop(columns="lead_id")
    extras = {
        "lead_clients": ex.reset_index(drop=True),
        "deal_clients": pd.concat([deal_clients, form_clients], ignore_index=True),
    }
    params = {
        "seed": int(seed),
        "start": start_ts.strftime("%Y-%m-%d"),
        "end": end_ts.strftime("%Y-%m-%d"),
        "reassigned": int((deals["_reassigned_at"].to_numpy(dtype=np.int64) != _NAT).sum()),
    }
    anomalies = _measure(tables, roster, cal, as_of, params)
    return Department(tables, anomalies, cal, int(seed), start_ts, end_ts, as_of, extras)


# --------------------------------------------------------------------------- dirty rows


class _Raw(str):
    """A value written verbatim (an unparseable date, say)."""


class _UnknownStage:
    """A stage that is not in the funnel; each format writes its own label."""


UNKNOWN_STAGE = _UnknownStage()


def _dirty_rows(dept: Department) -> dict[str, list[tuple[str, dict]]]:
    """The planted dirty rows per table: ``(reason, canonical row dict)``.

    Every row has exactly one problem. Dirty deals have no history, payments or
    activities (the exact duplicate is a copy of a real row whose first copy is
    accepted).
    """
    rng = np.random.default_rng([dept.seed, 17])
    t = dept.tables
    deals = t["deals"]
    # managers employed during the whole period, so that a row's manager is never a problem
    managers = list(dept.anomalies["roster"]["normal"]) or ["h01"]
    won_deals = deals[deals["outcome"] == "won"]
    real = won_deals.iloc[len(won_deals) // 3]
    span = dept.as_of - dept.start

    def when(frac):
        opening = dept.calendar.next_open((dept.start + span * frac).normalize())
        return dept.calendar.add_working_minutes(opening, float(rng.integers(20, 500 * 60)) / 60).floor("s")

    def deal(deal_id, frac, **over):
        created = when(frac)
        row = {
            "deal_id": deal_id, "created_at": created, "manager": managers[int(rng.integers(len(managers)))],
            "amount": float(np.round(rng.uniform(80_000, 600_000) / 100) * 100), "currency": "RUB",
            "product": "Сервисный контракт", "channel": "website", "lead_id": None, "stage": "qualified",
            "closed_at": None, "outcome": "open", "lost_reason": None, "discount_pct": None, "payment_terms": None,
        }
        row.update(over)
        return row

    all_ids = set(deals["deal_id"]) | set(t["leads"]["lead_id"])
    next_id = int(max(int(x) for x in deals["deal_id"])) + 1000
    new_ids = [str(next_id + i) for i in range(3)]
    ghost = [str(49001 + i) for i in range(5)]  # deal ids that exist nowhere
    assert not (set(new_ids) | set(ghost)) & all_ids

    c1 = when(0.42)
    conflict = deal(new_ids[0], 0.31, amount=185_000.0)
    out: dict[str, list[tuple[str, dict]]] = {
        "deals": [
            ("missing_id", deal(None, 0.15)),
            ("duplicate_conflict", conflict),
            ("duplicate_conflict", dict(conflict, amount=215_000.0)),
            ("duplicate_exact", {c: real[c] for c in deals.columns}),
            ("bad_date", deal(new_ids[1], 0.5, created_at=_Raw(BAD_DATE_TEXT))),
            ("future_date", deal(new_ids[2], 0.5, created_at=pd.Timestamp("2027-03-15 11:20:00"), stage="new")),
            ("negative_amount", deal(str(next_id + 3), 0.66, amount=-125_000.0)),
            ("unknown_stage", deal(str(next_id + 4), 0.22, stage=UNKNOWN_STAGE)),
            ("unknown_stage", deal(str(next_id + 5), 0.71, stage=UNKNOWN_STAGE)),
            (
                "closed_before_created",
                deal(str(next_id + 6), 0.42, created_at=c1, stage="won", outcome="won",
                     closed_at=c1 - pd.Timedelta(days=12), discount_pct=5.0, payment_terms="postpaid"),
            ),
        ],
    }
    # one exact copy must only carry the original's problems: none
    h = t["stage_history"]
    some = h.iloc[len(h) // 2]
    out["stage_history"] = [
        ("unknown_deal", {"deal_id": ghost[0], "stage": "qualified", "entered_at": when(0.2), "moved_by": managers[0 % len(managers)]}),
        ("unknown_deal", {"deal_id": ghost[1], "stage": "proposal", "entered_at": when(0.55), "moved_by": managers[1 % len(managers)]}),
        ("unknown_deal", {"deal_id": ghost[2], "stage": "won", "entered_at": when(0.8), "moved_by": managers[2 % len(managers)]}),
        ("unknown_stage", {"deal_id": some["deal_id"], "stage": UNKNOWN_STAGE,
                           "entered_at": some["entered_at"] + pd.Timedelta(minutes=7), "moved_by": some["moved_by"]}),
    ]
    le = t["leads"]
    next_lead = int(max(int(x) for x in le["lead_id"])) + 1000
    out["leads"] = [
        ("missing_id", {"lead_id": None, "created_at": when(0.37), "channel": "website", "manager": managers[3 % len(managers)],
                        "first_response_at": None, "status": "new", "disqualify_reason": None, "deal_id": None}),
        ("bad_date", {"lead_id": str(next_lead), "created_at": _Raw(BAD_DATE_TEXT), "channel": "calls", "manager": managers[4 % len(managers)],
                      "first_response_at": None, "status": "new", "disqualify_reason": None, "deal_id": None}),
    ]
    p = t["payments"]
    won = won_deals.iloc[len(won_deals) // 5]
    next_pay = int(max(int(x) for x in p["payment_id"])) + 1000
    out["payments"] = [
        ("unknown_deal", {"payment_id": str(next_pay), "deal_id": ghost[3], "paid_at": when(0.3), "amount": 120_000.0}),
        ("unknown_deal", {"payment_id": str(next_pay + 1), "deal_id": ghost[4], "paid_at": when(0.6), "amount": 64_500.0}),
        ("negative_amount", {"payment_id": str(next_pay + 2), "deal_id": won["deal_id"],
                             "paid_at": dept.calendar.next_open(won["closed_at"] + pd.Timedelta(days=2)), "amount": -50_000.0}),
    ]
    a = t["activities"]
    next_act = int(max(int(x) for x in a["activity_id"])) + 1000
    lead = le.iloc[len(le) // 2]
    out["activities"] = [
        ("bad_date", {"activity_id": str(next_act), "type": "call", "manager": lead["manager"], "deal_id": None,
                      "lead_id": lead["lead_id"], "created_at": _Raw(BAD_DATE_TEXT), "duration_sec": 95.0,
                      "due_at": None, "done_at": None}),
    ]
    return out


def _positions(seed: int, table: str, n_real: int, dirty: list[tuple[str, dict]], real_ids: list | None) -> list[int]:
    """Where each dirty row goes: index in the real rows before which it is inserted."""
    rng = np.random.default_rng([seed, 23, TABLE_ORDER.index(table)])
    pos = [int(x) for x in rng.integers(1, max(n_real, 2), len(dirty))]
    for i, (reason, row) in enumerate(dirty):
        if reason == "duplicate_exact" and real_ids is not None:
            original = real_ids.index(row["deal_id"])
            pos[i] = max(pos[i], original + 1)  # the copy comes after the original
            if pos[i] > n_real:
                pos[i] = n_real
    return pos


# --------------------------------------------------------------------------- writers


def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _num(v, comma: bool = False, fixed: bool = False) -> str:
    """Number with at most 2 decimals; ``fixed`` always writes 2; ``comma`` uses a decimal comma."""
    if _missing(v):
        return ""
    text = f"{float(v):.2f}"
    if not fixed:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text.replace(".", ",") if comma else text


def _fmt_dt(v, fmt: str) -> str:
    if isinstance(v, _Raw):
        return str(v)
    if _missing(v):
        return ""
    return pd.Timestamp(v).strftime(fmt)


def _txt(v) -> str:
    if isinstance(v, _Raw):
        return str(v)
    return "" if _missing(v) else str(v)


def _dump(path: Path, header: list[str], rows: list[list[str]], sep: str, encoding: str, eol: str, blank_after: int | None = None) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    for i, r in enumerate(rows):
        if blank_after is not None and i == blank_after:
            buf.write(eol)
        w.writerow(r)
    path.write_bytes(buf.getvalue().encode(encoding))


def _merge_rows(dept: Department, table: str, real_rows: list[list[str]], dirty_fmt: list[list[str]], dirty: list[tuple[str, dict]], real_ids=None):
    """Real rows with the dirty rows inserted; also each dirty row's final 0-based data-row index."""
    pos = _positions(dept.seed, table, len(real_rows), dirty, real_ids)
    order = sorted(range(len(dirty)), key=lambda i: (pos[i], i))
    out, where = [], {}
    j = 0
    for i in order:
        out.extend(real_rows[j:pos[i]])
        j = pos[i]
        where[i] = len(out)
        out.append(dirty_fmt[i])
    out.extend(real_rows[j:])
    return out, [where[i] for i in range(len(dirty))]


def _write_manifest(dept: Department, out: Path, fmt: str, files: dict, dirty: dict, lines: dict, blank: dict) -> dict:
    quarantine: dict[str, dict[str, int]] = {}
    planted = []
    for table, items in dirty.items():
        for (reason, row), line in zip(items, lines[table]):
            quarantine.setdefault(table, {})
            quarantine[table][reason] = quarantine[table].get(reason, 0) + 1
            key = TABLES[table].key or "deal_id"
            planted.append({"table": table, "file": files[table], "reason": reason, "line": line,
                            "key_column": key, "key": None if _missing(row.get(key)) else str(row[key])})
    for table, line in blank.items():
        quarantine.setdefault(table, {})["empty_row"] = 1
        planted.append({"table": table, "file": files[table], "reason": "empty_row", "line": line, "key_column": None, "key": None})
    counts = dept.counts()
    manifest = {
        "format": fmt,
        "seed": dept.seed,
        "as_of": dept.as_of.strftime("%Y-%m-%d %H:%M:%S"),
        "files": {
            files[t]: {
                "table": t,
                "rows": counts[t] + len(dirty.get(t, [])),
                "blank_lines": 1 if t in blank else 0,
                "planted_rows": len(dirty.get(t, [])),
            }
            for t in TABLE_ORDER
        },
        "expected_clean_rows": counts,
        "expected_quarantine": {t: dict(sorted(v.items())) for t, v in quarantine.items()},
        "planted": sorted(planted, key=lambda x: (TABLE_ORDER.index(x["table"]), x["line"])),
        "notes": (
            "rows = data records as pandas reads them (header and blank lines excluded); "
            "line = 1-based physical line in the file (line 1 is the header). "
            "duplicate_exact: the second copy is quarantined, the first accepted; "
            "duplicate_conflict: both rows are quarantined."
        ),
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def write_generic(dept: Department, out_dir) -> dict:
    """Format A: one UTF-8 CSV per canonical table (``<table>.csv``), comma, LF, ISO-like dates.

    Plants the dirty rows and a blank line in ``deals.csv``; writes ``MANIFEST.json``.
    Returns the manifest.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dirty = _dirty_rows(dept)
    fmt_dt = "%Y-%m-%d %H:%M:%S"

    def cell(table, col, v):
        if isinstance(v, _UnknownStage):
            return GENERIC_UNKNOWN_STAGE
        kind = TABLES[table].column(col).kind
        if kind == "datetime":
            return _fmt_dt(v, fmt_dt)
        if kind == "float":
            return _num(v)
        return _txt(v)

    files, lines, blank = {}, {}, {}
    for table in TABLE_ORDER:
        df = dept.tables[table]
        cols = [c for c in df.columns if (table, c) not in _NOT_IN_GENERIC_EXPORT]
        formatted = {}
        for c in cols:
            kind = TABLES[table].column(c).kind
            s = df[c]
            if kind == "datetime":
                formatted[c] = s.dt.strftime(fmt_dt).astype(object).where(s.notna(), "").tolist()
            elif kind == "float":
                formatted[c] = [_num(v) for v in s.tolist()]
            else:
                formatted[c] = s.astype(object).where(s.notna(), "").tolist()
        real_rows = [list(r) for r in zip(*(formatted[c] for c in cols))]
        items = dirty.get(table, [])
        drows = [[cell(table, c, row.get(c)) for c in cols] for _, row in items]
        ids = df["deal_id"].tolist() if table == "deals" else None
        rows, at = _merge_rows(dept, table, real_rows, drows, items, ids)
        blank_after = None
        line_of = [i + 2 for i in at]
        if table == "deals":
            blank_after = len(rows) // 2
            line_of = [i + 2 + (1 if i >= blank_after else 0) for i in at]
            blank[table] = blank_after + 2
        files[table] = f"{table}.csv"
        lines[table] = line_of
        _dump(out / files[table], cols, rows, ",", "utf-8", "\n", blank_after)
    return _write_manifest(dept, out, "generic", files, dirty, lines, blank)


_BX_DATE = "%d.%m.%Y %H:%M:%S"
_BX_DAY = "%d.%m.%Y"
_BITRIX_USER_ID = {"h01": "1", ROBOT: "2", DESK: "40"}


def _bx_user_id(key: str) -> str:
    return _BITRIX_USER_ID.get(key, str(10 + int(key[1:])) if key[1:].isdigit() else key)


def write_bitrix24(dept: Department, out_dir) -> dict:
    """Format B: a Bitrix24-style export (see the module constants for the labels).

    Windows-1251, ``;``, CRLF, ``DD.MM.YYYY HH:MM:SS`` and decimal commas, managers by
    full name; ``stagehistory.csv`` is a UTF-8 ``crm.stagehistory.list`` dump. Plants
    the dirty rows and writes ``MANIFEST.json``. Returns the manifest.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dirty = _dirty_rows(dept)
    t = dept.tables
    names = dept.manager_names()
    client = dept.extras["deal_clients"].set_index("deal_id")
    lead_client = dept.extras["lead_clients"].set_index("lead_id")
    default_client = ("ООО «Новый клиент»", "3999", "Клиентов Иван", "799999")

    def stage_label(v):
        return BITRIX_UNKNOWN_STAGE_LABEL if isinstance(v, _UnknownStage) else BITRIX_STAGE_LABELS.get(v, _txt(v))

    def who(v):
        return "" if _missing(v) else names.get(v, str(v))

    def deal_row(r: dict) -> list[str]:
        did = _txt(r["deal_id"])
        if did in client.index:
            c = client.loc[did]
            company, company_id, contact, contact_id = c["company"], c["company_id"], c["contact"], c["contact_id"]
        else:
            company, company_id, contact, contact_id = default_client
        stage = r["stage"]
        closed = (r.get("outcome") in ("won", "lost")) if not _missing(r.get("outcome")) else False
        prob = "" if isinstance(stage, _UnknownStage) else str(BITRIX_STAGE_PROBABILITY[stage])
        if _missing(r["product"]):  # a deal the web form created: titled by the form, no company
            title = f"{_BITRIX_LEAD_TITLES.get(r['channel'], 'Заявка')}: {contact}"
        else:
            title = f"{_txt(r['product'])} для {company}"
        return [
            did,
            title,
            BITRIX_PIPELINE,
            stage_label(stage),
            prob,
            who(r["manager"]),
            _num(r["amount"], comma=True, fixed=True),
            _txt(r["currency"]),
            BITRIX_CHANNELS.get(r["channel"], _txt(r["channel"])),
            _txt(r["product"]),
            company,
            company_id,
            contact,
            contact_id,
            BITRIX_DEAL_CLOSED[bool(closed)],
            _fmt_dt(r["created_at"], _BX_DATE),
            _fmt_dt(r["closed_at"], _BX_DATE) if closed else BITRIX_NOT_CLOSED,
            _num(r["discount_pct"], comma=True),
            BITRIX_PAYMENT_TERMS.get(r["payment_terms"], "") if not _missing(r["payment_terms"]) else "",
            _txt(r["lost_reason"]),
            _txt(r["lead_id"]),
        ]

    def lead_row(r: dict) -> list[str]:
        lid = _txt(r["lead_id"])
        company = lead_client.loc[lid, "company"] if lid in lead_client.index else default_client[0]
        return [
            lid,
            f"{_BITRIX_LEAD_TITLES.get(r['channel'], 'Заявка')}: {company}",
            BITRIX_LEAD_STATUS[r["status"]],
            BITRIX_CHANNELS.get(r["channel"], _txt(r["channel"])),
            who(r["manager"]),
            _fmt_dt(r["created_at"], _BX_DATE),
            _fmt_dt(r["first_response_at"], _BX_DATE),
            _txt(r["disqualify_reason"]),
            _txt(r["deal_id"]),
        ]

    def activity_row(r: dict) -> list[str]:
        dur = r["duration_sec"]
        return [
            _txt(r["activity_id"]),
            BITRIX_ACTIVITY_TYPES[r["type"]],
            who(r["manager"]),
            _txt(r["deal_id"]),
            _txt(r["lead_id"]),
            _fmt_dt(r["created_at"], _BX_DATE),
            "" if _missing(dur) else str(int(round(float(dur)))),
            _fmt_dt(r["due_at"], _BX_DATE),
            _fmt_dt(r["done_at"], _BX_DATE),
        ]

    def payment_row(r: dict) -> list[str]:
        return [_txt(r["payment_id"]), _txt(r["deal_id"]), _fmt_dt(r["paid_at"], _BX_DATE), _num(r["amount"], comma=True, fixed=True)]

    def history_row(r: dict) -> list[str]:
        # ID is filled in after the rows are merged; TYPE_ID 1 = the deal's creation
        stage = r["stage"]
        unknown = isinstance(stage, _UnknownStage)
        ts = r["entered_at"]
        # TYPE_ID: 1 the deal's creation, 2 a move to an intermediate stage, 3 to a final one
        type_id = "1" if r.get("_created") else ("2" if unknown or BITRIX_STAGE_SEMANTICS[stage] == "P" else "3")
        return [
            "", type_id, _txt(r["deal_id"]),
            _fmt_dt(ts, "%Y-%m-%dT%H:%M:%S") + "+03:00" if not isinstance(ts, _Raw) else str(ts),
            "0",
            "P" if unknown else BITRIX_STAGE_SEMANTICS[stage],
            BITRIX_UNKNOWN_STAGE_ID if unknown else BITRIX_STAGE_IDS[stage],
        ]

    def manager_row(r: dict) -> list[str]:
        return [
            _bx_user_id(r["manager"]),
            r["name"],
            BITRIX_ROLES[r["role"]],
            _txt(r["team"]),
            _fmt_dt(r["hired_at"], _BX_DAY),
            _fmt_dt(r["left_at"], _BX_DAY),
        ]

    def plan_row(r: dict) -> list[str]:
        return [
            r["period"],
            BITRIX_TEAM_LABEL if _missing(r["manager"]) else who(r["manager"]),
            BITRIX_PLAN_METRICS[r["metric"]],
            _num(r["target"], comma=True),
        ]

    spec = {
        "managers": ("managers.csv", ["ID", "ФИО", "Должность", "Отдел", "Дата приёма", "Дата увольнения"], manager_row),
        "deals": (
            "deals.csv",
            ["ID", "Название сделки", "Воронка", "Стадия сделки", "Вероятность", "Ответственный", "Сумма", "Валюта",
             "Источник", "Товар", "Компания", "ID", "Контакт", "ID", "Сделка закрыта", "Дата создания", "Дата закрытия",
             "Скидка, %", "Условия оплаты", "Причина отказа", "ID лида"],
            deal_row,
        ),
        "leads": (
            "leads.csv",
            ["ID", "Название лида", "Статус", "Источник", "Ответственный", "Дата создания", "Дата первого ответа",
             "Причина отказа", "ID сделки"],
            lead_row,
        ),
        "stage_history": (
            "stagehistory.csv",
            ["ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "CATEGORY_ID", "STAGE_SEMANTIC_ID", "STAGE_ID"],
            history_row,
        ),
        "activities": (
            "activities.csv",
            ["ID", "Тип", "Ответственный", "ID сделки", "ID лида", "Дата начала", "Длительность, сек", "Крайний срок",
             "Дата выполнения"],
            activity_row,
        ),
        "payments": ("payments.csv", ["ID", "ID сделки", "Дата оплаты", "Сумма"], payment_row),
        "plans": ("plans.csv", ["Период", "Менеджер", "Показатель", "План"], plan_row),
    }
    files, lines = {}, {}
    for table in TABLE_ORDER:
        fname, header, fn = spec[table]
        df = t[table]
        records = df.astype(object).where(df.notna(), None).to_dict("records")
        if table == "stage_history":
            first = ~df["deal_id"].duplicated().to_numpy()
            for r, f in zip(records, first):
                r["_created"] = bool(f)
        real_rows = [fn(r) for r in records]
        items = dirty.get(table, [])
        drows = [fn(row) for _, row in items]
        ids = df["deal_id"].tolist() if table == "deals" else None
        rows, at = _merge_rows(dept, table, real_rows, drows, items, ids)
        if table == "stage_history":
            for i, r in enumerate(rows):
                r[0] = str(1001 + i)
            _dump(out / fname, header, rows, ",", "utf-8", "\n")
        else:
            _dump(out / fname, header, rows, ";", "cp1251", "\r\n")
        files[table] = fname
        lines[table] = [i + 2 for i in at]
    return _write_manifest(dept, out, "bitrix24", files, dirty, lines, {})


def write_anomalies(dept: Department, out_dir) -> Path:
    """``ANOMALIES.json``: the planted-truth manifest."""
    path = Path(out_dir) / "ANOMALIES.json"
    path.write_text(json.dumps(dept.anomalies, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """``python -m salesaudit.synth --seed N --out DIR [--start D --end D --managers N]``."""
    ap = argparse.ArgumentParser(prog="python -m salesaudit.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20261031)
    ap.add_argument("--out", default="data_samples", help="folder that receives demo_generic/ and demo_bitrix24/")
    ap.add_argument("--start", default="2025-08-01")
    ap.add_argument("--end", default="2026-10-31")
    ap.add_argument("--managers", type=int, default=12)
    args = ap.parse_args(argv)
    dept = generate(args.seed, args.start, args.end, args.managers)
    root = Path(args.out)
    for folder, writer in (("demo_generic", write_generic), ("demo_bitrix24", write_bitrix24)):
        writer(dept, root / folder)
        write_anomalies(dept, root / folder)
    print(json.dumps({"counts": dept.counts(), "out": str(root)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
