"""The department's tables: roster, leads, deals and their stages, activities, payments and plans.

One code path for both engines: only the routing of the leads to the sellers and the deals' paths
(:mod:`salesaudit.synth.paths`) differ between the sequential (reference) engine and the vectorised
one. Everything here works on arrays (positions in the roster, codes of stages and labels); the
canonical tables are assembled at the end with pyarrow-backed text columns. The draws are made in
the order the generator has always made them, so that the demo department stays byte-identical.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..data.calendar import WorkCalendar, WorkClock
from ..data.model import empty_table
from . import paths
from .design import (
    _COMPANY_FORMS,
    _COMPANY_HEADS,
    _COMPANY_TAILS,
    _DECLINE_MEDIAN_MIN,
    _DESK_CONVERSION_GAP,
    _DESK_SLOWER,
    _DESK_WEIGHT,
    _EMPTY_REASON_P,
    _FEMALE_NAMES,
    _FORM_DEALS_SCALE,
    _FORM_REASONS,
    _FORM_ROBOT_SHARE,
    _HEAD_MOVES_P,
    _HOURS_IN,
    _HOURS_OFF_DAY,
    _HOURS_OUT_WORKDAY,
    _LEADS_IN_HOURS,
    _LEADS_OFF_DAY,
    _LEADS_OUT_WORKDAY,
    _LEADS_SCALE,
    _MALE_NAMES,
    _MAX_COMPANIES,
    _MONTH_FACTOR,
    _NAT,
    _NS_DAY,
    _NS_MIN,
    _OVERLOAD_LEAD_WEIGHT,
    _PATRONYMICS,
    _PLAN_METRICS_MANAGER,
    _PLAN_ROUND,
    _RAMP,
    _RESPONSE_SIGMA,
    _SELLER_LEADS,
    _SURNAMES,
    _WEEKDAY_FACTOR,
    CANCEL_SHARE,
    CHANNELS,
    DESK,
    DISQUALIFY_REASONS,
    FUNNEL_STAGES,
    INSTALMENT_MIN_AMOUNT,
    INVOICE_BY_HEAD_P,
    LOST_REASONS,
    PAYMENT_TERMS,
    PRODUCTS,
    ROBOT,
    ROBOT_NAME,
    STAGE_KEYS,
    _exact_share,
    _lognormal,
    _ns,
    _pick_index,
    _to_dt,
)

NEW, QUALIFIED, NEEDS, PROPOSAL, INVOICE, WON, LOST, CANCELLED = range(8)
#: the model's text dtype (pyarrow-backed)
_TEXT = empty_table("managers")["manager"].dtype
_CHANNEL_KEYS = tuple(CHANNELS)
_PRODUCT_KEYS = tuple(PRODUCTS)
_LEAD_STATUS = ("new", "in_work", "converted", "disqualified")
_ACTIVITY_TYPES = ("call", "task", "meeting", "email")
#: every loss or disqualification reason, once: the codes of the reason columns
_REASONS = tuple(dict.fromkeys([*DISQUALIFY_REASONS, *LOST_REASONS["lost"], *LOST_REASONS["cancelled"], *_FORM_REASONS[ROBOT], *_FORM_REASONS[None]]))
_REASON_CODE = {r: i for i, r in enumerate(_REASONS)}


# --------------------------------------------------------------------------- text columns


def text_take(keys, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A text column: ``keys[codes]``, missing where a code is negative."""
    codes = np.asarray(codes, dtype=np.int64)
    table = keys if isinstance(keys, pa.Array) else pa.array([None if k is None else str(k) for k in keys], type=pa.large_string())
    miss = codes < 0
    idx = pa.array(np.where(miss, 0, codes), mask=miss if miss.any() else None)
    return pd.array(table.take(idx), dtype=_TEXT)


def text_ids(first: int, n: int) -> pa.Array:
    """The decimal texts of ``first, first + 1, ..., first + n - 1``."""
    return pc.cast(pa.array(np.arange(first, first + n, dtype=np.int64)), pa.large_string())


def text_column(values) -> pd.api.extensions.ExtensionArray:
    """A text column from a list or array of strings (``None`` missing)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pd.array(values, dtype=_TEXT)
    return pd.array(pd.Series(values, dtype=object).where(pd.notna(pd.Series(values, dtype=object)), None), dtype=_TEXT)


def id_order(first: int, n: int) -> np.ndarray:
    """Rank of each id ``first + i`` among the others when the ids are compared as texts."""
    v = np.arange(first, first + n, dtype=np.int64)
    digits = np.maximum(np.searchsorted(10 ** np.arange(19, dtype=np.int64), v, side="right"), 1)
    top = int(digits.max()) if n else 1
    key = v * 10 ** (top - digits)
    order = np.lexsort((digits, key))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank


def _floor_seconds(ns: np.ndarray) -> np.ndarray:
    """Nanoseconds floored to whole seconds (NaT kept)."""
    ns = np.asarray(ns).view(np.int64)
    return np.where(ns == _NAT, _NAT, ns - ns % 1_000_000_000)


def canonical(name: str, columns: dict) -> pd.DataFrame:
    """Exactly the canonical columns of table ``name``, in model order, with model dtypes.

    ``columns`` maps a column to a text column (:func:`text_take`, :func:`text_column`), a
    datetime as int64 nanoseconds or ``datetime64[ns]``, or floats; a column left out is empty.
    Datetimes are floored to whole seconds: what the exports can carry.
    """
    dtypes = empty_table(name).dtypes.to_dict()
    n = len(next(iter(columns.values())))
    out = {}
    for col, dtype in dtypes.items():
        v = columns.get(col)
        if str(dtype).startswith("datetime64"):
            out[col] = pd.Series(_to_dt(_floor_seconds(np.full(n, _NAT) if v is None else v)), copy=False)
        elif dtype == "float64":
            out[col] = pd.Series(np.full(n, np.nan) if v is None else np.asarray(v, dtype=float), copy=False)
        elif v is None:
            out[col] = pd.Series(pd.array([None] * n, dtype=_TEXT))
        else:
            v = v if isinstance(v, pd.api.extensions.ExtensionArray) and v.dtype == _TEXT else text_column(v)
            out[col] = pd.Series(v)
    return pd.DataFrame(out, copy=False)


# --------------------------------------------------------------------------- roster


def _full_names(rng: np.random.Generator, n: int, distinct_surnames: bool = True, taken: set | None = None) -> list[str]:
    """Full names ("Фамилия Имя Отчество"), all different; with ``distinct_surnames`` no two share a
    surname (a small department), otherwise only the full names differ (the 36 surnames run out)."""
    names: list[str] = []
    seen = set(taken or ())
    while len(names) < n:
        female = rng.random() < 0.55
        surname = _SURNAMES[rng.integers(len(_SURNAMES))] + ("а" if female else "")
        first = (_FEMALE_NAMES if female else _MALE_NAMES)[rng.integers(len(_FEMALE_NAMES if female else _MALE_NAMES))]
        patronymic = _PATRONYMICS[rng.integers(len(_PATRONYMICS))][1 if female else 0]
        full = f"{surname} {first} {patronymic}"
        if distinct_surnames:
            ok = full not in names and not any(x.split()[0].rstrip("а") == surname.rstrip("а") for x in names)
        else:
            ok = full not in seen
        if ok:
            names.append(full)
            seen.add(full)
    return names


#: a department of up to this many people gets distinct surnames (a dozen sellers do not share one)
_DISTINCT_SURNAMES_UP_TO = 24


def make_roster(rng, cal: WorkCalendar, n_managers: int, start: pd.Timestamp, end: pd.Timestamp) -> list[dict]:
    """Head of sales + ``n_managers`` managers with their planted roles (one of each)."""
    span = (end - start).days
    width = max(2, len(str(n_managers)))
    keys = [f"m{i:0{width}d}" for i in range(1, n_managers + 1)]
    names = _full_names(rng, n_managers + 1, distinct_surnames=n_managers + 2 <= _DISTINCT_SURNAMES_UP_TO)
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


def add_desk_and_robot(rng, cal: WorkCalendar, roster: list[dict], start: pd.Timestamp) -> list[dict]:
    """The inbound desk (a seller with ten sellers' leads) and the CRM robot (a system owner)."""
    if len(roster) + 1 <= _DISTINCT_SURNAMES_UP_TO:
        taken = {p["name"].split()[0].rstrip("а") for p in roster}
        while True:
            name = _full_names(rng, 1)[0]
            if name.split()[0].rstrip("а") not in taken:
                break
    else:
        name = _full_names(rng, 1, distinct_surnames=False, taken={p["name"] for p in roster})[0]
    hired = cal.next_open(start - pd.Timedelta(days=int(rng.integers(300, 900)))).normalize()
    robot_since = cal.next_open(start - pd.Timedelta(days=540)).normalize()
    return roster + [
        dict(manager=DESK, name=name, role="manager", team="Москва", hired_at=hired, left_at=pd.NaT, kind="desk", skill=1.0),
        dict(manager=ROBOT, name=ROBOT_NAME, role="manager", team=None, hired_at=robot_since, left_at=pd.NaT, kind="robot", skill=1.0),
    ]


def roster_index(roster: list[dict], kind: str) -> int:
    """Position in the roster of the (first) person of ``kind``; -1 when there is none."""
    return next((j for j, p in enumerate(roster) if p["kind"] == kind), -1)


# --------------------------------------------------------------------------- leads


def _lead_times(rng, cal: WorkCalendar | WorkClock, start: pd.Timestamp, end: pd.Timestamp, scale: float = 1.0, rates=None) -> np.ndarray:
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
    """Routing weight of each person (columns) at each moment of ``t`` (rows)."""
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
    """Smooth weighted round-robin (as in nginx), lead after lead: deterministic, no randomness.
    The sequential engine's router (a Python loop over the leads)."""
    current = np.zeros(weights.shape[1])
    out = np.empty(len(weights), dtype=np.int64)
    for i, w in enumerate(weights):
        current = np.where(w > 0, current + w, 0.0)
        j = int(np.argmax(np.where(w > 0, current, -np.inf)))
        current[j] -= w.sum()
        out[i] = j
    return out


def _route_by_day(roster, t: np.ndarray, overload_start: int) -> np.ndarray:
    """The vectorised engine's router: the same weights (:func:`_lead_weights`, read at each day's
    noon), deterministic, no randomness. Each day's leads are shared out by the largest-remainder
    rule on what each active person is owed (his share of the day's leads plus what he was owed
    before), and each person's leads of the day are spread evenly over the day's arrivals.
    """
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    day0 = (int(t[0]) // _NS_DAY) * _NS_DAY
    day = (t - day0) // _NS_DAY
    n_days = int(day[-1]) + 1
    per_day = np.bincount(day, minlength=n_days)
    w = _lead_weights(roster, day0 + np.arange(n_days, dtype=np.int64) * _NS_DAY + _NS_DAY // 2, overload_start)
    total = w.sum(axis=1)
    share = np.divide(w, total[:, None], out=np.zeros_like(w), where=total[:, None] > 0)
    n_people = w.shape[1]
    owed = np.zeros(n_people)
    alloc = np.zeros((n_days, n_people), dtype=np.int64)
    for d in np.flatnonzero(per_day):
        k = int(per_day[d])
        active = w[d] > 0
        if not active.any():
            raise RuntimeError(f"nobody takes leads on day {d} of the period")  # the inbound desk always does
        owed = np.where(active, owed + k * share[d], 0.0)
        a = np.where(active, np.floor(np.maximum(owed, 0.0)), 0.0).astype(np.int64)
        rest = k - int(a.sum())
        frac = np.where(active, owed - a, -np.inf)
        while rest > 0:
            top = np.argsort(-frac, kind="stable")[: min(rest, int(active.sum()))]
            a[top] += 1
            frac[top] -= 1.0
            rest = k - int(a.sum())
        while rest < 0:
            low = np.argsort(np.where(a > 0, frac, np.inf), kind="stable")[: min(-rest, int((a > 0).sum()))]
            a[low] -= 1
            frac[low] += 1.0
            rest = k - int(a.sum())
        alloc[d] = a
        owed = owed - a
    dd, jj = np.nonzero(alloc)
    cnt = alloc[dd, jj]
    claim_day = np.repeat(dd, cnt)
    claim_who = np.repeat(jj, cnt)
    k_in = np.arange(len(claim_day)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    phase = (0.5 + 0.6180339887498949 * claim_who) % 1.0
    pos = (k_in + phase) / np.repeat(cnt, cnt)
    order = np.lexsort((claim_who, pos, claim_day))
    return claim_who[order].astype(np.int64)


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


_CONTACT_TABLE = pa.array(
    [f"{s}а {f}" for s in _SURNAMES for f in _FEMALE_NAMES] + [f"{s} {m}" for s in _SURNAMES for m in _MALE_NAMES], type=pa.large_string()
)


def _full_names_fast(rng, n: int) -> pa.Array:
    """Contact person names ("Фамилия Имя"), repeats allowed."""
    female = rng.random(n) < 0.45
    s = rng.integers(0, len(_SURNAMES), n)
    fm = rng.integers(0, len(_FEMALE_NAMES), n)
    ml = rng.integers(0, len(_MALE_NAMES), n)
    code = np.where(female, s * len(_FEMALE_NAMES) + fm, len(_SURNAMES) * len(_FEMALE_NAMES) + s * len(_MALE_NAMES) + ml)
    return _CONTACT_TABLE.take(pa.array(code))


@dataclass
class Leads:
    """The leads as arrays (positions in the roster, codes), and what the deals need of them."""

    t: np.ndarray  # created, ns
    who: np.ndarray  # roster position
    channel: np.ndarray  # position in CHANNELS
    responded: np.ndarray  # first response, ns (NaT when none)
    status: np.ndarray  # position in _LEAD_STATUS
    reason: np.ndarray  # code in _REASONS, -1 none
    decided: np.ndarray  # ns
    company: pa.Array
    company_id: pa.Array
    contact: pa.Array

    def __len__(self) -> int:
        return len(self.t)


def make_leads(rng, cal: WorkCalendar | WorkClock, roster, start, end, as_of_ns: int, overload_start: int, seed: int,
               vector: bool = False, factor: float = 1.0, lead_scale: float = 1.0) -> Leads:
    """The inbound leads: arrivals, routing, first responses, decisions and conversions.

    ``factor`` multiplies the department's inflow (:func:`salesaudit.synth.design.inflow_factor`),
    ``lead_scale`` the inbound desk's line; ``vector`` routes with :func:`_route_by_day` instead of
    the lead-by-lead :func:`_route`.
    """
    # two independent Poisson streams of one shape are one Poisson stream: the department's inflow
    # (drawn as before the desk existed) and the desk's line (a stream of its own)
    desk_line = tuple(x * (_LEADS_SCALE - 1) for x in _SELLER_LEADS)
    t = np.sort(np.concatenate([
        _lead_times(rng, cal, start, end, scale=factor, rates=_SELLER_LEADS),
        _lead_times(np.random.default_rng([seed, 31]), cal, start, end, scale=lead_scale, rates=desk_line),
    ]))
    n = len(t)
    who = _route_by_day(roster, t, overload_start) if vector else _route(_lead_weights(roster, t, overload_start))
    kind_of = np.array([p["kind"] for p in roster])
    kinds = kind_of[who]
    channel = _pick_index(rng, CHANNELS, n)

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
    base = np.array([v[1] for v in CHANNELS.values()])[channel]
    response_factor = 0.55 + 0.45 * np.exp(-delay / 120.0)
    hired = np.array([_ns(p["hired_at"]) for p in roster])[who]
    ramp = np.where(kinds == "newcomer", 0.7 + 0.3 * np.clip((t - hired) / _NS_DAY / 56, 0, 1), 1.0)
    skill = np.array([p["skill"] for p in roster])[who]
    p_deal = np.clip(base * response_factor * ramp * (1 + (skill - 1) * 0.5), 0.02, 0.95)
    rng.random(n)  # drawn, unused: conversions come from equidistributed sequences (below)
    converted = paths.even_by_group(who) < p_deal  # each manager's own equidistributed sequence (see paths.Even)
    # most leads are decided within the hour; about a quarter need a few days of follow-up
    slow_decision = rng.random(n) < 0.25
    decision_delay = np.where(
        slow_decision,
        np.clip(_lognormal(rng, 3 * 540.0, 0.7, n), 540.0, 15 * 540.0),
        np.clip(_lognormal(rng, 45.0, 0.8, n), 3.0, 540.0),
    )
    decided = cal.add_working_minutes(_to_dt(responded), decision_delay).view(np.int64)
    reason = np.array([_REASON_CODE[r] for r in DISQUALIFY_REASONS])[_pick_index(rng, DISQUALIFY_REASONS, n)]

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
    status = np.where(no_response, 0, np.where(decided > as_of_ns, 1, np.where(converted, 2, 3)))
    n_companies = 900 if factor == 1.0 else int(min(round(900 * factor), _MAX_COMPANIES))
    companies = pa.array(_make_companies(rng, n_companies), type=pa.large_string())
    company_idx = rng.integers(0, len(companies), n)
    contacts = _full_names_fast(rng, n)
    take = pa.array(company_idx)
    return Leads(
        t=t, who=who, channel=channel, responded=np.where(no_response, _NAT, responded), status=status,
        reason=np.where(status == 3, reason, -1), decided=decided,
        company=companies.take(take), company_id=text_ids(3001, len(companies)).take(take), contact=contacts,
    )


# --------------------------------------------------------------------------- deals and their stages


@dataclass
class Deals:
    """The deals as arrays, in the order of their ids (creation)."""

    t0: np.ndarray  # created, ns
    orig: np.ndarray  # roster position of the first owner, -1 none
    owner: np.ndarray  # roster position of the owner at the end (the leaver's deals reassigned)
    reassigned_at: np.ndarray  # ns, NaT when not reassigned
    channel: np.ndarray
    lead: np.ndarray  # lead position, -1 for the web form's deals
    form: np.ndarray  # bool
    stage: np.ndarray  # code at as_of
    closed: np.ndarray  # ns or NaT
    outcome: np.ndarray  # 0 open, 1 won, 2 lost
    amount: np.ndarray
    discount: np.ndarray
    terms: np.ndarray  # position in PAYMENT_TERMS, -1 none
    product: np.ndarray  # position in PRODUCTS, -1 none
    lost_reason: np.ndarray  # code in _REASONS, -1 none
    contact: pa.Array  # the web form's deals' contacts, in their order
    # the stage history: deal position, stage code, entered (ns), mover (roster position, -1 none)
    h_row: np.ndarray
    h_stage: np.ndarray
    h_entered: np.ndarray
    h_moved_by: np.ndarray

    def __len__(self) -> int:
        return len(self.t0)


def _make_form_deals(rng, cal: WorkCalendar | WorkClock, start: pd.Timestamp, end: pd.Timestamp, scale: float = 1.0):
    """Deals a web form creates without a lead: the robot owns half of them, nobody the others.

    The robot declines every one within minutes (calendar time: a robot does not keep office
    hours), at the first stage, into ``lost`` with «Не целевой» or «Дубль».
    """
    t = _lead_times(rng, cal, start, end, scale=_FORM_DEALS_SCALE * scale)
    n = len(t)
    robot = rng.random(n) < _FORM_ROBOT_SHARE
    delay_sec = np.round(np.clip(_lognormal(rng, _DECLINE_MEDIAN_MIN, 0.7, n), 0.5, 30.0) * 60).astype(np.int64)
    codes = {k: np.array([_REASON_CODE[r] for r in table]) for k, table in _FORM_REASONS.items()}
    reason = np.where(robot, codes[ROBOT][_pick_index(rng, _FORM_REASONS[ROBOT], n)], codes[None][_pick_index(rng, _FORM_REASONS[None], n)])
    channel = np.where(rng.random(n) < 0.7, _CHANNEL_KEYS.index("website"), _CHANNEL_KEYS.index("ads_yandex"))
    return t, robot, t + delay_sec * 1_000_000_000, reason, channel, _full_names_fast(rng, n)


def _lost_terminals(rng, row: np.ndarray, stage: np.ndarray) -> np.ndarray:
    """Each lost entry goes to ``lost`` or ``cancelled`` by the stage the deal was lost at (:data:`CANCEL_SHARE`)."""
    stage = stage.copy()
    at = np.flatnonzero(stage == LOST)
    prev = stage[at - 1]  # a lost entry is never a deal's first: the previous row is the same deal's
    assert (row[at - 1] == row[at]).all()
    p = np.array([CANCEL_SHARE[s] for s in FUNNEL_STAGES])[prev]
    stage[at[rng.random(len(at)) < p]] = CANCELLED
    return stage


def _lost_reasons(rng, stage: np.ndarray) -> np.ndarray:
    """A reason code from the terminal's list, a few left empty (-1)."""
    out = np.full(len(stage), -1, dtype=np.int64)
    for terminal, table in LOST_REASONS.items():
        codes = np.array([_REASON_CODE[r] for r in table])[_pick_index(rng, table, len(stage))]
        out = np.where(stage == STAGE_KEYS.index(terminal), codes, out)
    empty = rng.random(len(stage)) < _EMPTY_REASON_P
    return np.where(empty, -1, out)


def make_deals(rng, cal: WorkCalendar | WorkClock, roster, leads: Leads, as_of_ns: int, overload_slow_from: int,
               start: pd.Timestamp, end: pd.Timestamp, seed: int, vector: bool = False, form_scale: float = 1.0) -> Deals:
    """The deals: one per converted lead (created when the lead was decided) and the web form's
    (``form_scale`` × the demo's share of the inflow); their paths (``vector``: the vectorised
    engine, else the sequential one), the state at the audit moment, the leaver's reassigned deals,
    who moved each entry, amounts, discounts, payment terms and loss reasons."""
    conv = np.flatnonzero(leads.status == 2)
    form_t, form_robot, form_declined, form_reason, form_channel, form_contact = _make_form_deals(
        np.random.default_rng([seed, 41]), cal, start, end, form_scale)
    n_form = len(form_t)
    robot_i = roster_index(roster, "robot")
    t0 = np.r_[leads.decided[conv], form_t]
    person = np.r_[leads.who[conv], np.where(form_robot, robot_i, -1)]
    channel = np.r_[leads.channel[conv], form_channel]
    lead = np.r_[conv, np.full(n_form, -1)]
    form = np.r_[np.zeros(len(conv), dtype=bool), np.ones(n_form, dtype=bool)]
    declined = np.r_[np.full(len(conv), _NAT), form_declined]
    f_reason = np.r_[np.full(len(conv), -1), form_reason]
    order = np.argsort(t0, kind="stable")
    t0, person, channel, lead, form, declined, f_reason = (x[order] for x in (t0, person, channel, lead, form, declined, f_reason))
    contact = form_contact.take(pa.array(order[form] - len(conv)))
    n = len(t0)

    # deals from leads move through the funnel in working time
    sub = np.flatnonzero(~form)
    setup = paths.path_setup(t0[sub], person[sub], channel[sub], roster, overload_slow_from)
    if vector:
        r_sub, stage, offset = paths.simulate_vector(rng, setup, len(roster))
    else:
        r_sub, stage, offset = paths.simulate_sequential(rng, setup)
    row = sub[r_sub]
    first = np.r_[True, row[1:] != row[:-1]]
    moved = cal.add_working_minutes(_to_dt(t0[row]), offset).view(np.int64)
    entered = np.where(first, t0[row], moved)
    stage = _lost_terminals(np.random.default_rng([seed, 43]), row, stage)
    # form deals: created, declined by the robot minutes later
    fi = np.flatnonzero(form)
    row = np.r_[row, fi, fi]
    stage = np.r_[stage, np.full(len(fi), NEW, dtype=np.int8), np.full(len(fi), LOST, dtype=np.int8)]
    entered = np.r_[entered, t0[fi], declined[fi]]
    seq = np.r_[np.arange(len(r_sub)), np.full(len(fi), -2), np.full(len(fi), -1)]
    order = np.lexsort((seq, row))
    row, stage, entered = row[order], stage[order], entered[order]
    keep = entered <= as_of_ns
    row, stage, entered = row[keep], stage[keep], entered[keep]

    # the deal's state at as_of
    last = np.r_[row[1:] != row[:-1], True]
    assert np.array_equal(row[last], np.arange(n))  # every deal was created by as_of
    st = stage[last]
    terminal = st >= WON
    outcome = np.where(st >= LOST, 2, np.where(st == WON, 1, 0))
    closed = np.where(terminal, entered[last], _NAT)

    # the leaver's unfinished deals go to the normal managers, round-robin
    leaver = roster_index(roster, "leaver")
    normal = sorted((p["manager"], j) for j, p in enumerate(roster) if p["kind"] == "normal")
    normal_idx = np.array([j for _, j in normal] or [0])
    owner = person.copy()
    reassigned_at = np.full(n, _NAT)
    if leaver >= 0:
        cutoff = _ns(roster[leaver]["left_at"]) + _NS_DAY
        end_ns = np.where(terminal, closed, as_of_ns)
        idx = np.flatnonzero((person == leaver) & (end_ns >= cutoff))
        owner[idx] = normal_idx[np.arange(len(idx)) % len(normal_idx)]
        reassigned_at[idx] = np.maximum(cutoff, t0[idx])

    # who moved each entry: the responsible manager at that moment, sometimes the head; the head
    # moves most deals into invoice (he approves the invoice); the robot declines the form deals
    re_at = reassigned_at[row]
    moved_by = np.where((re_at != _NAT) & (entered >= re_at), owner[row], person[row])
    first_kept = np.r_[True, row[1:] != row[:-1]]
    head_i = roster_index(roster, "head")
    head = rng.random(len(row)) < _HEAD_MOVES_P
    moved_by = np.where(head & ~first_kept & ~form[row], head_i, moved_by)
    into_invoice = np.flatnonzero(stage == INVOICE)  # (equidistributed: the share lands at the design value)
    approves = paths.even_by_group(np.zeros(len(into_invoice), dtype=np.int64)) < INVOICE_BY_HEAD_P
    moved_by[into_invoice[approves]] = head_i
    moved_by = np.where(form[row] & ~first_kept, robot_i, moved_by)

    # amounts, discounts and payment terms
    product = _pick_index(rng, PRODUCTS, n)
    med = np.array([v[1] for v in PRODUCTS.values()], dtype=float)[product]
    list_price = np.maximum(np.round(med * np.exp(rng.normal(0, 0.5, n)) / 100) * 100, 5000)
    reached = np.zeros(n, dtype=bool)
    reached[row[(stage == PROPOSAL) | (stage == INVOICE) | (stage == WON)]] = True
    violator = person == roster_index(roster, "discount_violator")
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
    prepaid, postpaid, inst3, inst6 = (PAYMENT_TERMS.index(x) for x in ("prepaid", "postpaid", "instalment_3m", "instalment_6m"))
    terms_big = np.select([u < 0.35, u < 0.70, u < 0.90], [prepaid, postpaid, inst3], inst6)
    terms_small = np.where(u < 0.5, prepaid, postpaid)
    small_instalment = (~violator & (rng.random(n) < 0.004)) | _exact_share(rng, violator & reached & ~big, 0.25)
    terms_small = np.where(small_instalment, np.where(rng.random(n) < 0.7, inst3, inst6), terms_small)
    terms = np.where(big, terms_big, terms_small)
    lost = outcome == 2
    reason = _lost_reasons(np.random.default_rng([seed, 53]), st)
    return Deals(
        t0=t0, orig=person, owner=owner, reassigned_at=reassigned_at, channel=channel, lead=lead, form=form,
        stage=st, closed=closed, outcome=outcome,
        # a form deal is an empty card: no amount, no product
        amount=np.where(form, np.nan, np.where(reached, amount, list_price)),
        discount=np.where(reached, disc, np.nan),
        terms=np.where(reached, terms, -1),
        product=np.where(form, -1, product),
        lost_reason=np.where(lost, np.where(form, f_reason, reason), -1),
        contact=contact,
        h_row=row, h_stage=stage, h_entered=entered, h_moved_by=moved_by,
    )


# --------------------------------------------------------------------------- activities


@dataclass
class Activities:
    """The activities as arrays, in their final order (by moment, then type)."""

    type: np.ndarray  # position in _ACTIVITY_TYPES
    manager: np.ndarray  # roster position
    deal: np.ndarray  # deal position, -1 none
    lead: np.ndarray  # lead position, -1 none
    t: np.ndarray
    duration: np.ndarray
    due: np.ndarray
    done: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


def make_activities(rng, cal: WorkCalendar | WorkClock, leads: Leads, deals: Deals, as_of_ns: int) -> Activities:
    """Calls (a first response to every answered lead, a few in each stage), tasks, meetings and
    e-mails, by the person responsible for the deal at that moment; nothing after the audit moment."""
    def call_durations(size, missed_p=0.12):
        d = np.round(np.clip(_lognormal(rng, 230.0, 0.6, size), 25, 1800))
        return np.where(rng.random(size) < missed_p, 0.0, d)

    # 1. first-response call on every answered lead
    answered = np.flatnonzero(leads.responded != _NAT)
    dur = call_durations(len(answered))
    dur = np.where(leads.reason[answered] == _REASON_CODE["Не дозвонились"], 0.0, dur)
    first_calls = dict(type=np.zeros(len(answered), dtype=np.int64), manager=leads.who[answered], deal=np.full(len(answered), -1),
                       lead=answered, t=leads.responded[answered], duration=dur,
                       due=np.full(len(answered), _NAT), done=np.full(len(answered), _NAT))

    # non-terminal stage visits with their [entry, exit) interval; the form deals the robot
    # declines have no calls, tasks or meetings
    h_row, h_stage, h_t = deals.h_row, deals.h_stage, deals.h_entered
    same_next = np.r_[h_row[1:] == h_row[:-1], False]
    h_exit = np.where(same_next, np.r_[h_t[1:], 0], as_of_ns)
    keep = ~deals.form[h_row] & (h_stage < WON)
    v_row, v_stage, v_entry, v_exit = h_row[keep], h_stage[keep], h_t[keep], h_exit[keep]
    n_v = len(v_row)
    span = np.asarray(cal.working_minutes_between(_to_dt(v_entry), _to_dt(v_exit)))

    def at_fraction(vidx, frac):
        return cal.add_working_minutes(_to_dt(v_entry[vidx]), frac * span[vidx]).view(np.int64)

    parts = []
    # 2. calls during each stage
    lam = np.array([0.7, 0.9, 1.1, 1.0, 0.7])[v_stage]
    n_calls = rng.poisson(lam)
    vidx = np.repeat(np.arange(n_v), n_calls)
    t_calls = at_fraction(vidx, rng.random(len(vidx)))
    parts.append(dict(type=np.zeros(len(vidx), dtype=np.int64), vidx=vidx, t=t_calls, duration=call_durations(len(vidx)),
                      due=np.full(len(vidx), _NAT), done=np.full(len(vidx), _NAT)))

    # 3. one task for most stage visits: due in 1–3 working days; mostly done on time
    has_task = rng.random(n_v) < np.where(v_stage == NEW, 0.45, 0.6)
    vidx = np.flatnonzero(has_task)
    # set 2-60 working minutes into the stay, and within it when the stay is shorter (qualification takes minutes)
    after = np.minimum(rng.uniform(2, 60, len(vidx)), 0.8 * span[vidx])
    created = cal.add_working_minutes(_to_dt(v_entry[vidx]), after).view(np.int64)
    due = cal.add_working_minutes(_to_dt(created), rng.integers(1, 4, len(vidx)) * 540.0).view(np.int64)
    u = rng.random(len(vidx))
    work_to_due = np.asarray(cal.working_minutes_between(_to_dt(created), _to_dt(due)))
    on_time = cal.add_working_minutes(_to_dt(created), rng.uniform(0.1, 0.95, len(vidx)) * work_to_due).view(np.int64)
    late = cal.add_working_minutes(_to_dt(due), np.clip(_lognormal(rng, 400.0, 0.9, len(vidx)), 10, 6000)).view(np.int64)
    done = np.select([u < 0.78, u < 0.91], [on_time, late], _NAT)
    parts.append(dict(type=np.full(len(vidx), 1), vidx=vidx, t=created, duration=np.full(len(vidx), np.nan), due=due, done=done))

    # 4. meetings and e-mails around the commercial proposal and the invoice
    prop = np.flatnonzero((v_stage == PROPOSAL) & (rng.random(n_v) < 0.5))
    t_meet = at_fraction(prop, rng.uniform(0.05, 0.6, len(prop)))
    parts.append(dict(type=np.full(len(prop), 2), vidx=prop, t=t_meet, duration=rng.integers(3, 10, len(prop)) * 600.0,
                      due=np.full(len(prop), _NAT), done=np.full(len(prop), _NAT)))
    mail = np.flatnonzero(((v_stage == PROPOSAL) | (v_stage == INVOICE)) & (rng.random(n_v) < 0.7))
    t_mail = cal.add_working_minutes(_to_dt(v_entry[mail]), rng.uniform(5, 180, len(mail))).view(np.int64)
    parts.append(dict(type=np.full(len(mail), 3), vidx=mail, t=t_mail, duration=np.full(len(mail), np.nan),
                      due=np.full(len(mail), _NAT), done=np.full(len(mail), _NAT)))

    vidx = np.concatenate([p["vidx"] for p in parts])
    deal = v_row[vidx]
    t = np.concatenate([p["t"] for p in parts])
    # the responsible manager at the moment of the activity
    re_at = deals.reassigned_at[deal]
    manager = np.where((re_at != _NAT) & (t >= re_at), deals.owner[deal], deals.orig[deal])
    cols = {
        "type": np.concatenate([first_calls["type"]] + [p["type"] for p in parts]),
        "manager": np.concatenate([first_calls["manager"], manager]),
        "deal": np.concatenate([first_calls["deal"], deal]),
        "lead": np.concatenate([first_calls["lead"], np.full(len(deal), -1)]),
        "t": np.concatenate([first_calls["t"], t]),
        "duration": np.concatenate([first_calls["duration"]] + [p["duration"] for p in parts]),
        "due": np.concatenate([first_calls["due"]] + [p["due"] for p in parts]),
        "done": np.concatenate([first_calls["done"]] + [p["done"] for p in parts]),
    }
    # nothing after the audit moment: events after as_of are dropped, and so are tasks
    # whose deadline is still ahead (so that no date in the data lies after as_of)
    kept = np.flatnonzero((cols["t"] <= as_of_ns) & (cols["due"] <= as_of_ns))
    type_rank = np.array([0, 3, 1, 2])[cols["type"][kept]]  # call, meeting, email, task
    take = kept[np.lexsort((type_rank, cols["t"][kept]))]
    out = {k: v[take] for k, v in cols.items()}
    out["done"] = np.where(out["done"] > as_of_ns, _NAT, out["done"])
    return Activities(**out)


# --------------------------------------------------------------------------- payments

#: the largest range (exclusive) a scalar ``Generator.integers`` draw takes from one 32-bit half
_U32 = 0xFFFFFFFF


def _lemire(bits: np.ndarray, n_values: int):
    """``Generator.integers(0, n_values)`` of 32 random bits each (numpy's Lemire method), and
    where it would have rejected them and drawn again."""
    m = (bits & np.uint64(_U32)) * np.uint64(n_values)
    leftover = m & np.uint64(_U32)
    threshold = (_U32 - (n_values - 1)) % n_values
    return (m >> np.uint64(32)).astype(np.int64), leftover < np.uint64(threshold)


def _payment_draws_scalar(rng, kind: np.ndarray):
    """The reference: one scalar draw after another, deal after deal (kind 0 prepaid, 1 postpaid, 2 instalments)."""
    u = np.zeros(len(kind))
    days = np.zeros(len(kind), dtype=np.int64)
    minutes = np.zeros(len(kind), dtype=np.int64)
    for i, k in enumerate(kind.tolist()):
        if k == 0:
            u[i] = float(rng.uniform(30, 3 * 540))
        elif k == 1:
            days[i] = int(rng.integers(5, 31))
            minutes[i] = int(rng.integers(0, 480))
        else:
            u[i] = float(rng.uniform(60, 3 * 540))
    return u, days, minutes


def _payment_draws(rng, kind: np.ndarray):
    """The draws of :func:`_payment_draws_scalar`, made at once from the bit generator's outputs.

    A uniform draw takes one 64-bit output (its upper 53 bits); an integer draw below 2**32 takes
    32 bits by numpy's Lemire method from the bit generator's 32-bit stream, which halves a 64-bit
    output (the lower half first) and keeps the other half for the next such draw, whatever comes
    in between. So the outputs are read in one block, each draw is given its output (or half), and
    the generator's state, 32-bit half included, is left where the scalar loop leaves it. Should an
    integer draw have needed another output (Lemire's rejection, about once in 10**8 draws), the
    block is put back and the scalar loop runs instead.
    """
    bg = rng.bit_generator
    state = bg.state
    n = len(kind)
    has_half = bool(state.get("has_uint32", 0))
    # the draws in order: a uniform (0) for prepaid and instalments, two integers (1) for postpaid
    n_draws = np.where(kind == 1, 2, 1)
    ev_deal = np.repeat(np.arange(n), n_draws)
    ev_int = kind[ev_deal] == 1
    int_rank = np.cumsum(ev_int) - ev_int  # integers drawn before this one
    refill = ev_int & ((int_rank + has_half) % 2 == 0)  # takes a fresh output, keeps its upper half
    takes = ~ev_int | refill
    out = np.cumsum(takes) - 1
    raw = bg.random_raw(int(takes.sum()))
    # each integer draw's 32 bits: its own output's lower half, or the upper half of the previous refill's
    last_refill = np.maximum.accumulate(np.where(refill, np.arange(len(ev_int)), -1))
    prev_refill = np.r_[-1, last_refill[:-1]]
    bits = np.zeros(len(ev_int), dtype=np.uint64)
    lo = np.flatnonzero(refill)
    bits[lo] = raw[out[lo]] & np.uint64(_U32)
    hi = np.flatnonzero(ev_int & ~refill)
    from_prev = prev_refill[hi] >= 0
    bits[hi[from_prev]] = raw[out[prev_refill[hi[from_prev]]]] >> np.uint64(32)
    bits[hi[~from_prev]] = np.uint64(state.get("uinteger", 0))
    ints = np.flatnonzero(ev_int)
    first_int, second_int = ints[0::2], ints[1::2]
    days, reject1 = _lemire(bits[first_int], 31 - 5)
    minutes, reject2 = _lemire(bits[second_int], 480)
    if reject1.any() or reject2.any():
        bg.state = state
        return _payment_draws_scalar(rng, kind)
    dbl = ~ev_int
    double = (raw[out[dbl]] >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    u = np.zeros(n)
    k = kind[ev_deal[dbl]]
    u[ev_deal[dbl]] = np.where(k == 0, 30.0 + (3 * 540 - 30.0) * double, 60.0 + (3 * 540 - 60.0) * double)
    d = np.zeros(n, dtype=np.int64)
    m = np.zeros(n, dtype=np.int64)
    d[ev_deal[first_int]] = days + 5
    m[ev_deal[second_int]] = minutes
    if len(ints):  # the 32-bit half the loop would leave for the next integer draw
        after = bg.state
        keep = (len(ints) + has_half) % 2 == 1
        after["has_uint32"] = int(keep)
        after["uinteger"] = int(raw[out[lo[-1]]] >> np.uint64(32))  # (numpy leaves the used half there too)
        bg.state = after
    return u, d, m


@dataclass
class Payments:
    deal: np.ndarray
    t: np.ndarray
    amount: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


def make_payments(rng, cal: WorkCalendar | WorkClock, deals: Deals, as_of_ns: int, deal_rank: np.ndarray) -> Payments:
    """Payments of the won deals by their terms: prepaid within three working days, postpaid 5-30
    days later, instalments monthly. ``deal_rank``: the deals' order by id text (the tie-break)."""
    won = np.flatnonzero(deals.outcome == 1)
    terms = deals.terms[won]
    kind = np.select([terms == PAYMENT_TERMS.index("prepaid"), terms == PAYMENT_TERMS.index("postpaid")], [0, 1], 2)
    u, days, minutes = _payment_draws(rng, kind)
    closed = deals.closed[won]
    amount = deals.amount[won]
    n_parts = np.select([kind < 2, terms == PAYMENT_TERMS.index("instalment_3m")], [1, 3], 6)
    base = np.where(kind == 1, closed + days * _NS_DAY + minutes * _NS_MIN, 0)
    start = np.where(kind == 1, _NAT, cal.add_working_minutes(_to_dt(closed), u).view(np.int64))
    # one row per payment, deal after deal, in the order of the parts
    rep = np.repeat(np.arange(len(won)), n_parts)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(n_parts) - n_parts, n_parts)
    when = np.empty(len(rep), dtype=np.int64)
    pre = kind[rep] == 0
    when[pre] = start[rep[pre]]
    post = kind[rep] == 1
    when[post] = cal.next_open(_to_dt(base[rep[post]])).view(np.int64)
    inst = kind[rep] == 2
    for month in range(6):
        at = inst & (j == month)
        if at.any():
            shifted = (pd.DatetimeIndex(_to_dt(start[rep[at]])) + pd.DateOffset(months=month)).asi8 if month else start[rep[at]]
            when[at] = cal.next_open(_to_dt(shifted)).view(np.int64)
    k = n_parts[rep].astype(float)
    each = np.floor(amount[rep] / k)  # whole roubles; the last one takes the rest (exact floats)
    last = j == n_parts[rep] - 1
    part = np.where(kind[rep] < 2, amount[rep], np.where(last, amount[rep] - each * (k - 1), each))
    ok = when <= as_of_ns
    deal, when, part = won[rep[ok]], when[ok], part[ok]
    order = np.lexsort((deal_rank[deal], when))
    return Payments(deal=deal[order], t=when[order], amount=part[order])


# --------------------------------------------------------------------------- plans


def _month_code(ns: np.ndarray) -> np.ndarray:
    m = _to_dt(ns).astype("datetime64[M]").astype(np.int64)
    return np.where(np.asarray(ns) == _NAT, -1, m)


def _round_up(x, step):
    return np.ceil(np.asarray(x, dtype=float) / step - 1e-9) * step


def _round_up_scalar(x: float, step: float) -> float:
    return float(math.ceil(x / step - 1e-9) * step)


def make_plans(roster, leads: Leads, deals: Deals, acts: Activities, start: pd.Timestamp, end: pd.Timestamp) -> dict:
    """Monthly plans: each seller's typical month (the median of his full months' facts) plus 10%,
    rounded up; the newcomer ramps up; the team's rows are the sums and two team-only ratios."""
    m0 = int(np.datetime64(start.to_period("M").start_time.date(), "M").astype(np.int64))
    m1 = int(np.datetime64(end.to_period("M").start_time.date(), "M").astype(np.int64))
    n_m, n_p = m1 - m0 + 1, len(roster)
    metrics = _PLAN_METRICS_MANAGER

    def fact(person, month, weights=None):
        ok = (person >= 0) & (month >= m0) & (month <= m1)
        key = person[ok] * n_m + (month[ok] - m0)
        return np.bincount(key, weights=None if weights is None else weights[ok], minlength=n_p * n_m).reshape(n_p, n_m).astype(float)

    won = deals.outcome == 1
    won_m = _month_code(deals.closed[won])
    calls = acts.type == 0
    meet = acts.type == 2
    done = (acts.type == 1) & (acts.done != _NAT)
    facts = np.stack([
        fact(deals.owner[won], won_m, deals.amount[won]),
        fact(deals.owner[won], won_m),
        fact(leads.who, _month_code(leads.t)),
        fact(acts.manager[calls], _month_code(acts.t[calls])),
        fact(acts.manager[calls], _month_code(acts.t[calls]), acts.duration[calls]) / 60,
        fact(acts.manager[meet], _month_code(acts.t[meet])),
        fact(acts.manager[done], _month_code(acts.done[done])),
    ], axis=-1)  # person × month × metric

    sellers = [j for j, p in enumerate(roster) if p["role"] == "manager" and p["kind"] != "robot"]
    first = np.zeros(n_p, dtype=np.int64)
    last = np.zeros(n_p, dtype=np.int64)
    for j in sellers:
        p = roster[j]
        first[j] = max(int(np.datetime64(pd.Timestamp(p["hired_at"]).strftime("%Y-%m"), "M").astype(np.int64)), m0) - m0
        last[j] = (int(np.datetime64(pd.Timestamp(p["left_at"]).strftime("%Y-%m"), "M").astype(np.int64)) - m0) if pd.notna(p["left_at"]) else n_m - 1
    typical = {}
    for j in sellers:
        p = roster[j]
        lo, hi = first[j] + 1, (last[j] - 1 if pd.notna(p["left_at"]) else last[j])  # skip partial first/last months
        if p["kind"] == "newcomer" or hi < lo:
            continue
        typical[j] = np.median(facts[j, lo:hi + 1], axis=0)
    team_typical = np.median(np.array(list(typical.values())), axis=0)

    step = np.array([_PLAN_ROUND[m] for m in metrics], dtype=float)
    per, who, met, target = [], [], [], []
    ramp = np.r_[np.array(_RAMP), 1.0]
    for j in sellers:
        months = np.arange(first[j], last[j] + 1)
        if not len(months):
            continue
        if roster[j]["kind"] == "newcomer":
            base = team_typical[None, :] * ramp[np.minimum(months - first[j], len(_RAMP))][:, None]
        else:
            base = np.broadcast_to(typical.get(j, team_typical), (len(months), len(metrics)))
        tg = np.maximum(_round_up(base * 1.1, step), step)
        per.append(np.repeat(months, len(metrics)))
        who.append(np.full(len(months) * len(metrics), j))
        met.append(np.tile(np.arange(len(metrics)), len(months)))
        target.append(tg.ravel())
    per, who, met, target = (np.concatenate(x) for x in (per, who, met, target))
    rank = np.empty(n_p, dtype=np.int64)
    rank[sellers] = np.arange(len(sellers))
    team_sum = np.zeros((n_m, len(metrics)))
    np.add.at(team_sum, (per, met), target)
    periods = pd.period_range(start, end, freq="M").strftime("%Y-%m").tolist()
    team_rows = []
    for m in range(n_m):
        s = dict(zip(metrics, team_sum[m].tolist()))
        # team-only ratios: conversion = deals won / leads, %; average won deal, RUB
        team_rows.append(list(s.values()) + [round(100 * s["deals_won"] / max(s["leads"], 1), 1), _round_up_scalar(s["revenue"] / max(s["deals_won"], 1), 1000)])
    team = np.array(team_rows)
    all_metrics = metrics + ("conversion", "avg_deal")
    n_team = len(all_metrics)
    per = np.r_[per, np.repeat(np.arange(n_m), n_team)]
    block = np.r_[np.zeros(len(who), dtype=np.int64), np.ones(n_m * n_team, dtype=np.int64)]
    mrank = np.r_[rank[who], np.zeros(n_m * n_team, dtype=np.int64)]
    met = np.r_[met, np.tile(np.arange(n_team), n_m)]
    who = np.r_[who, np.full(n_m * n_team, -1)]
    target = np.r_[target, team.ravel()]
    order = np.lexsort((met, mrank, block, per))
    return {
        "period": text_take(periods, per[order]),
        "manager": text_take([p["manager"] for p in roster], who[order]),
        "metric": text_take(all_metrics, met[order]),
        "target": target[order],
    }
