"""The synthetic department's design: its parameters, the :class:`Department` record and the small
helpers every part of the generator shares.

Both path engines (:mod:`salesaudit.synth.paths`) and every table builder
(:mod:`salesaudit.synth.build`) read their probabilities, medians, shares and labels from here, so
that the model exists once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.calendar import WorkCalendar
from ..data.model import TABLE_ORDER

# --------------------------------------------------------------------------- funnel and policy

#: Open stages of the demo funnel in order, then the terminals.
FUNNEL_STAGES = ("new", "qualified", "needs", "proposal", "invoice")
#: The lost terminals: declined by us (not a fit), cancelled by the client.
LOST_STAGES = ("lost", "cancelled")
TERMINAL_STAGES = ("won",) + LOST_STAGES
#: Every stage a deal can be in: the open stages in order, then the terminals (the generator's stage codes).
STAGE_KEYS = FUNNEL_STAGES + TERMINAL_STAGES
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
#: the inbound desk's personal deal-load limit (ten sellers' volume worked as a queue)
DESK_DEAL_LOAD_LIMIT = 60

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

# --------------------------------------------------------------------------- lead inflow

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


# --------------------------------------------------------------------------- plans

_PLAN_METRICS_MANAGER = ("revenue", "deals_won", "leads", "calls", "call_minutes", "meetings", "tasks_done")
_PLAN_ROUND = {"revenue": 10_000, "deals_won": 1, "leads": 1, "calls": 5, "call_minutes": 10, "meetings": 1, "tasks_done": 1}
_RAMP = (0.3, 0.6, 0.85)  # newcomer's plan in the first months, as a share of a typical manager

# --------------------------------------------------------------------------- size and engines

#: The sizes :func:`salesaudit.synth.generate` makes: sellers (the inbound desk, the head of sales and
#: the CRM robot come on top), years of data and the lead volume multiplier.
MIN_MANAGERS = 8
MAX_MANAGERS = 500
MAX_YEARS = 5
MIN_LEAD_SCALE = 0.1
MAX_LEAD_SCALE = 10.0
#: Up to this many sellers at the demo's lead volume (``lead_scale`` 1) the sequential engine is the
#: default: every department the generator made before it scaled keeps its exact draws.
SEQUENTIAL_MAX_MANAGERS = 15
#: The demo's inflow is calibrated on 12 sellers and the head of sales (routing weight 0.9): above
#: :data:`SEQUENTIAL_MAX_MANAGERS` sellers the inflow grows with the roster, ``(n + 0.9) / 12.9``
#: times the demo's, so that each seller keeps a demo seller's load.
_DEMO_SELLER_WEIGHT = 12.9
#: Company names a department draws from: 900 for the demo, more for a larger inflow (at most this many).
_MAX_COMPANIES = 3000


def inflow_factor(n_managers: int, lead_scale: float = 1.0) -> float:
    """The department's lead inflow as a multiple of the demo's (see :data:`_DEMO_SELLER_WEIGHT`).

    >>> inflow_factor(12), inflow_factor(15), inflow_factor(500, 3.0)
    (1.0, 1.0, 116.48837209302324)
    """
    per_roster = 1.0 if n_managers <= SEQUENTIAL_MAX_MANAGERS else (n_managers + 0.9) / _DEMO_SELLER_WEIGHT
    return per_roster * float(lead_scale)


#: deals a year per unit of inflow (the demo's inflow for 12 sellers, or the desk's line at 1.25): measured
#: on a 500-seller, 5-year department at lead_scale 1 (296 278 deals); the demo's window gives 3% less
_DEALS_PER_UNIT_YEAR = 1495.0


def lead_scale_for(n_deals: int, n_managers: int, start, end) -> float:
    """The ``lead_scale`` that gives about ``n_deals`` deals (within about 5%) to ``n_managers``
    sellers over ``start``..``end``: deals grow in proportion to it.

    >>> round(lead_scale_for(1_000_000, 500, "2022-01-01", "2026-12-31"), 2)
    3.38
    """
    years = ((pd.Timestamp(end) - pd.Timestamp(start)).days + 1) / 365.25
    unit = inflow_factor(n_managers) + (_LEADS_SCALE - 1)
    return float(n_deals) / (_DEALS_PER_UNIT_YEAR * years * unit)


def deal_load_limits(lead_scale: float = 1.0) -> dict[str, int]:
    """The deal-load limits a run config should use for a department of ``lead_scale``: a seller's
    (``limit``) and the inbound desk's (``m_desk``). Every seller's open deals grow with the lead
    volume, so the demo's limits (30 and 60) grow with it: the overloaded manager stays above the
    limit (about 40 × ``lead_scale`` open deals at the end, more over a long window) and every other
    seller well below it (at most about 25 × ``lead_scale``). Below a ``lead_scale`` of about 0.5 the
    counts are a handful of deals and the picture is noisy.

    >>> deal_load_limits(), deal_load_limits(3.5)
    ({'limit': 30, 'm_desk': 60}, {'limit': 105, 'm_desk': 210})
    """
    s = float(lead_scale)
    return {"limit": int(round(DEAL_LOAD_LIMIT * s)), DESK: int(round(DESK_DEAL_LOAD_LIMIT * s))}


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
    #: the path engine that made it: ``"sequential"`` (the reference) or ``"vector"``
    engine: str = "sequential"
    #: the lead volume multiplier it was made with
    lead_scale: float = 1.0
    #: the days off of the working calendar it was made with (ISO dates)
    holidays: tuple[str, ...] = ()

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


def _pick_index(rng: np.random.Generator, table: dict, size: int) -> np.ndarray:
    """Positions in ``table``'s keys drawn by its weights (the first item of a tuple value)."""
    keys = list(table)
    w = np.array([table[k] if not isinstance(table[k], tuple) else table[k][0] for k in keys], dtype=float)
    return rng.choice(len(keys), size=size, p=w / w.sum())


def _pick(rng: np.random.Generator, table: dict, size: int) -> np.ndarray:
    """Keys of ``table`` drawn by its weights (the same draws as :func:`_pick_index`)."""
    return np.array(list(table), dtype=object)[_pick_index(rng, table, size)]


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


def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False

