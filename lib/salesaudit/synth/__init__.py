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
    40+ open deals at the audit moment while every other seller has at most 24
    (at ``lead_scale`` 1; both grow with it, see :func:`deal_load_limits`).
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
equidistributed sequences of his own (:class:`~salesaudit.synth.paths.Even`), so
that the rates sit at their design values and no seller stands out by the luck of
the draw; the desk's response times are the rest of the team's quantiles, stretched.

Size and the two engines
------------------------
A department has 8 to 500 sellers (one of each planted role whatever the size; the
others are ordinary), covers 60 days to 5 years, and ``lead_scale`` (0.1 to 10)
multiplies every seller's lead volume: 500 sellers over 5 years at ``lead_scale``
3.4 make about a million deals (:func:`lead_scale_for` gives the scale for a number of
deals). Up to 15 sellers the department's inflow is the
demo's (calibrated on 12 sellers), above it grows with the roster so that each
seller keeps a demo seller's load. Open deals grow with ``lead_scale``, and so do the
deal-load limits a run config should use (:func:`deal_load_limits`: 30 and the
desk's 60 at ``lead_scale`` 1); :func:`write_config` writes them.

Two engines make the deals' paths and route the leads, over one model (the same
constants, the same mechanisms, shared code: :mod:`salesaudit.synth.paths`):

* the **sequential** engine, the reference, walks the deals one by one with scalar
  draws in a data-dependent order and routes the leads one by one (smooth weighted
  round-robin). Every department the generator could make before it scaled (8 to 15
  sellers at ``lead_scale`` 1, the default window 2025-08-01..2026-10-31 among them)
  still comes out of it draw for draw: the committed samples stay byte-identical.
  It is the default for those departments (``engine="auto"``).
* the **vector** engine moves all deals a step at a time with arrays of draws from
  the same distributions, and routes each day's leads by the same weights at once
  (largest remainder). Other draws, so other departments than the sequential engine
  makes, with the same rates; the default above 15 sellers or at another
  ``lead_scale``, or asked for with ``engine="vector"``. The lead-by-lead routing is
  what the sequential engine cannot do at size (a weight per lead and person: 500
  sellers and 1.6 million leads would take gigabytes and minutes); a million deals
  take the vector engine 10 to 25 seconds on two shared cores.

Everything else (leads, deals' amounts and terms, activities, payments, plans, the
manifest) is one vectorised code path both engines use, drawing in the order the
generator always drew.

The working calendar is Mon–Fri 09:00–18:00 with the Russian days off: the years
2025 and 2026 from :data:`~salesaudit.data.calendar.RU_HOLIDAYS_2025_2026` (as the
demo always had them), any other year of the window from the official production
calendar (:func:`~salesaudit.data.calendar.production_calendar`; a year without a
published decree has its fixed-date holidays only). :attr:`Department.holidays` lists
them (:func:`holidays_for`). Before, every window had the 2025-2026 list only: a
department dated outside those two years now gets its own years' days off, so its
moments differ from what the generator made then (its random draws do not).

:func:`write_generic` and :func:`write_bitrix24` write the department in two
export formats and both plant the same extra *dirty* rows (added rows, never
corruptions of real ones) that a loader must quarantine; ``MANIFEST.json`` in
the output folder lists the expected quarantine counts and the rows per file.
The generic export carries every canonical column (``moved_by`` included); the
Bitrix24 one is what Bitrix24 gives: its ``crm.stagehistory.list`` dump has no
user, so it carries no ``moved_by`` (stays are then charged to the deal's owner).
Both are formatted column by column (:mod:`salesaudit.synth.export`).

Command line::

    python -m salesaudit.synth --seed 20261031 --out data_samples
    python -m salesaudit.synth --seed 7 --out /tmp/big --managers 500 --start 2022-01-01 \\
        --end 2026-12-31 --lead-scale 3.4 --format generic --config

writes ``<out>/demo_generic/`` and/or ``<out>/demo_bitrix24/`` (and, with ``--config``,
the run config ``<out>/demo_generic/run.yaml``).
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.calendar import RU_HOLIDAYS_2025_2026, WorkCalendar, WorkClock
from ..data.model import TABLE_ORDER
from . import build
from .build import _lead_times as _lead_times
from .design import (
    _HOURS_IN as _HOURS_IN,
)
from .design import (
    _LEADS_IN_HOURS as _LEADS_IN_HOURS,
)
from .design import (
    _LEADS_OFF_DAY as _LEADS_OFF_DAY,
)
from .design import (
    _LEADS_OUT_WORKDAY as _LEADS_OUT_WORKDAY,
)
from .design import (
    _LEADS_SCALE,
    _NAT,
    _OVERLOAD_LEAD_DAYS,
    _OVERLOAD_SLOW_DAYS,
    BAD_DATE_TEXT,
    BITRIX_ACTIVITY_TYPES,
    BITRIX_CHANNELS,
    BITRIX_DEAL_CLOSED,
    BITRIX_LEAD_STATUS,
    BITRIX_NOT_CLOSED,
    BITRIX_PAYMENT_TERMS,
    BITRIX_PIPELINE,
    BITRIX_PLAN_METRICS,
    BITRIX_ROLES,
    BITRIX_STAGE_IDS,
    BITRIX_STAGE_LABELS,
    BITRIX_STAGE_PROBABILITY,
    BITRIX_STAGE_SEMANTICS,
    BITRIX_TEAM_LABEL,
    BITRIX_UNKNOWN_STAGE_ID,
    BITRIX_UNKNOWN_STAGE_LABEL,
    CANCEL_SHARE,
    CHANNELS,
    DEAL_LOAD_LIMIT,
    DESK,
    DESK_DEAL_LOAD_LIMIT,
    DISQUALIFY_REASONS,
    FUNNEL_STAGES,
    GENERIC_UNKNOWN_STAGE,
    INSTALMENT_MIN_AMOUNT,
    INVOICE_BY_HEAD_P,
    LOST_REASONS,
    LOST_STAGES,
    MAX_DISCOUNT_PCT,
    MAX_LEAD_SCALE,
    MAX_MANAGERS,
    MAX_YEARS,
    MIN_LEAD_SCALE,
    MIN_MANAGERS,
    MINUTES_STAGE,
    NORM_DAYS,
    PAYMENT_TERMS,
    PRODUCTS,
    ROBOT,
    ROBOT_NAME,
    SEQUENTIAL_MAX_MANAGERS,
    STAGE_KEYS,
    STALL_FACTOR,
    STALL_STAGE,
    TERMINAL_STAGES,
    Department,
    _ns,
    deal_load_limits,
    inflow_factor,
    lead_scale_for,
)
from .design import (
    _MONTH_FACTOR as _MONTH_FACTOR,
)
from .design import (
    _WEEKDAY_FACTOR as _WEEKDAY_FACTOR,
)
from .export import UNKNOWN_STAGE, write_anomalies, write_bitrix24, write_generic
from .measure import measure

__all__ = [
    "Department",
    "generate",
    "write_generic",
    "write_bitrix24",
    "write_anomalies",
    "write_config",
    "deal_load_limits",
    "inflow_factor",
    "lead_scale_for",
    "holidays_for",
    "main",
    "ENGINES",
    "FUNNEL_STAGES",
    "LOST_STAGES",
    "TERMINAL_STAGES",
    "STAGE_KEYS",
    "NORM_DAYS",
    "MINUTES_STAGE",
    "STALL_STAGE",
    "STALL_FACTOR",
    "INVOICE_BY_HEAD_P",
    "CANCEL_SHARE",
    "LOST_REASONS",
    "DISQUALIFY_REASONS",
    "DESK",
    "ROBOT",
    "ROBOT_NAME",
    "MAX_DISCOUNT_PCT",
    "INSTALMENT_MIN_AMOUNT",
    "DEAL_LOAD_LIMIT",
    "DESK_DEAL_LOAD_LIMIT",
    "CHANNELS",
    "PRODUCTS",
    "PAYMENT_TERMS",
    "MIN_MANAGERS",
    "MAX_MANAGERS",
    "MAX_YEARS",
    "MIN_LEAD_SCALE",
    "MAX_LEAD_SCALE",
    "SEQUENTIAL_MAX_MANAGERS",
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
    "UNKNOWN_STAGE",
]

#: ``engine=`` of :func:`generate`
ENGINES = ("auto", "sequential", "vector")
#: the first ids of each table (as the demo always had them)
_FIRST_LEAD, _FIRST_DEAL, _FIRST_ACTIVITY, _FIRST_PAYMENT = 100001, 50001, 1_000_001, 9001
_FIRST_LEAD_CONTACT, _FIRST_FORM_CONTACT = 700001, 800001


# --------------------------------------------------------------------------- calendar


def holidays_for(start, end) -> tuple[str, ...]:
    """The days off of a department over ``start``..``end`` (ISO dates): the years 2025 and 2026 from
    :data:`RU_HOLIDAYS_2025_2026` (the demo's list, as it always was), every other year of the window
    from the official Russian production calendar (fixed-date holidays only for a year without a
    published decree).

    >>> holidays_for("2025-08-01", "2026-10-31") == RU_HOLIDAYS_2025_2026
    True
    >>> "2027-02-22" in holidays_for("2026-01-01", "2027-12-31")
    True
    """
    own = {2025, 2026}
    years = set(range(pd.Timestamp(start).year, pd.Timestamp(end).year + 1))
    if years <= own:
        return tuple(RU_HOLIDAYS_2025_2026)
    from ..data.calendar import production_calendar

    listed = {d for d in RU_HOLIDAYS_2025_2026 if int(d[:4]) in years}
    official = {d.isoformat() for d in production_calendar("RU", sorted(years - own)).holidays}
    return tuple(sorted(listed | official))


# --------------------------------------------------------------------------- generate


def _check(n_managers, start_ts: pd.Timestamp, end_ts: pd.Timestamp, lead_scale, engine) -> None:
    if isinstance(n_managers, bool) or not isinstance(n_managers, (int, np.integer)) or not MIN_MANAGERS <= n_managers <= MAX_MANAGERS:
        raise ValueError(f"n_managers={n_managers!r} was asked for; a department has {MIN_MANAGERS} to {MAX_MANAGERS} sellers (a whole number).")
    if (end_ts - start_ts).days < 60:
        raise ValueError(f"the period {start_ts.date()}..{end_ts.date()} was asked for; it must span at least 60 days.")
    if end_ts >= start_ts + pd.DateOffset(years=MAX_YEARS):
        years = ((end_ts - start_ts).days + 1) / 365.25
        raise ValueError(f"the period {start_ts.date()}..{end_ts.date()} ({years:.1f} years) was asked for; at most {MAX_YEARS} years are allowed "
                         f"(the last day before {(start_ts + pd.DateOffset(years=MAX_YEARS)).date()}).")
    if not MIN_LEAD_SCALE <= float(lead_scale) <= MAX_LEAD_SCALE:
        raise ValueError(f"lead_scale={lead_scale!r} was asked for; it must lie between {MIN_LEAD_SCALE} and {MAX_LEAD_SCALE}.")
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} was asked for; the engines are {', '.join(ENGINES)}.")


def generate(seed: int = 20261031, start="2025-08-01", end="2026-10-31", n_managers: int = 12, *,
             lead_scale: float = 1.0, engine: str = "auto") -> Department:
    """Generate a sales department (see the module docstring).

    ``start`` and ``end`` are the first and last calendar days (at most 5 years); the audit moment
    ``as_of`` is ``end`` 23:59:59 and nothing is dated after it. ``n_managers``: 8 to 500 sellers
    besides the inbound desk, the head of sales and the CRM robot. ``lead_scale``: every seller's
    lead volume as a multiple of the demo's (0.1 to 10). ``engine``: ``"sequential"`` (the
    reference, draw for draw as the generator always drew), ``"vector"`` (arrays of draws, for
    large departments) or ``"auto"``: sequential up to 15 sellers at ``lead_scale`` 1, vector
    otherwise. Raises ``ValueError`` (one sentence: what was asked, what is allowed) outside these
    bounds.
    """
    start_ts = pd.Timestamp(start).normalize()
    end_ts = pd.Timestamp(end).normalize()
    _check(n_managers, start_ts, end_ts, lead_scale, engine)
    n_managers, lead_scale = int(n_managers), float(lead_scale)
    vector = engine == "vector" or (engine == "auto" and (n_managers > SEQUENTIAL_MAX_MANAGERS or lead_scale != 1.0))
    as_of = end_ts + pd.Timedelta(hours=23, minutes=59, seconds=59)
    as_of_ns = _ns(as_of)
    rng = np.random.default_rng(seed)
    holidays = holidays_for(start_ts, end_ts)
    cal = WorkCalendar(holidays=holidays)

    roster = build.make_roster(rng, cal, n_managers, start_ts, end_ts)
    roster = build.add_desk_and_robot(np.random.default_rng([seed, 37]), cal, roster, start_ts)
    # the calendar's clock read from tables of days: the same moments, a lot faster on millions of them
    clock = WorkClock(cal, (start_ts - pd.Timedelta(days=31)).date(), (end_ts + pd.Timedelta(days=400)).date())
    overload_start = _ns(end_ts - pd.Timedelta(days=_OVERLOAD_LEAD_DAYS))
    overload_slow_from = _ns(end_ts - pd.Timedelta(days=_OVERLOAD_SLOW_DAYS))
    factor = inflow_factor(n_managers, lead_scale)
    # the web form's deals follow the whole inflow: the department's and the desk's line
    form_scale = (factor + (_LEADS_SCALE - 1) * lead_scale) / _LEADS_SCALE
    leads = build.make_leads(rng, clock, roster, start_ts, end_ts, as_of_ns, overload_start, int(seed), vector, factor, lead_scale)
    deals = build.make_deals(rng, clock, roster, leads, as_of_ns, overload_slow_from, start_ts, end_ts, int(seed), vector, form_scale)
    acts = build.make_activities(rng, clock, leads, deals, as_of_ns)
    deal_rank = build.id_order(_FIRST_DEAL, len(deals))
    pay = build.make_payments(rng, clock, deals, as_of_ns, deal_rank)
    tables = _tables(roster, leads, deals, acts, pay, deal_rank, start_ts, end_ts)
    extras = _extras(leads, deals, tables)
    params = {
        "seed": int(seed),
        "start": start_ts.strftime("%Y-%m-%d"),
        "end": end_ts.strftime("%Y-%m-%d"),
        "reassigned": int((deals.reassigned_at != _NAT).sum()),
    }
    anomalies = measure(roster, clock, as_of, params, leads, deals, acts, pay)
    return Department(tables, anomalies, cal, int(seed), start_ts, end_ts, as_of, extras,
                      engine="vector" if vector else "sequential", lead_scale=lead_scale, holidays=tuple(holidays))


def _tables(roster, leads, deals, acts, pay, deal_rank, start_ts, end_ts) -> dict[str, pd.DataFrame]:
    """The seven canonical tables of the generated arrays."""
    keys = [p["manager"] for p in roster]
    deal_ids = build.text_ids(_FIRST_DEAL, len(deals))
    lead_ids = build.text_ids(_FIRST_LEAD, len(leads))
    lead_deal = np.full(len(leads), -1)
    linked = deals.lead >= 0
    lead_deal[deals.lead[linked]] = np.flatnonzero(linked)
    managers = pd.DataFrame(roster)
    h_order = np.lexsort((deal_rank[deals.h_row], deals.h_entered))
    tables = {
        "managers": build.canonical("managers", {
            "manager": build.text_column(managers["manager"].tolist()), "name": build.text_column(managers["name"].tolist()),
            "role": build.text_column(managers["role"].tolist()), "team": build.text_column(managers["team"].tolist()),
            "hired_at": pd.to_datetime(managers["hired_at"]).to_numpy(dtype="datetime64[ns]"),
            "left_at": pd.to_datetime(managers["left_at"]).to_numpy(dtype="datetime64[ns]"),
        }),
        "deals": build.canonical("deals", {
            "deal_id": build.text_column(deal_ids), "created_at": deals.t0, "manager": build.text_take(keys, deals.owner),
            "amount": deals.amount, "currency": build.text_take(["RUB"], np.zeros(len(deals), dtype=np.int64)),
            "product": build.text_take(build._PRODUCT_KEYS, deals.product), "channel": build.text_take(build._CHANNEL_KEYS, deals.channel),
            "lead_id": build.text_take(lead_ids, deals.lead), "stage": build.text_take(STAGE_KEYS, deals.stage),
            "closed_at": deals.closed, "outcome": build.text_take(("open", "won", "lost"), deals.outcome),
            "lost_reason": build.text_take(build._REASONS, deals.lost_reason), "discount_pct": deals.discount,
            "payment_terms": build.text_take(PAYMENT_TERMS, deals.terms),
        }),
        "leads": build.canonical("leads", {
            "lead_id": build.text_column(lead_ids), "created_at": leads.t, "channel": build.text_take(build._CHANNEL_KEYS, leads.channel),
            "manager": build.text_take(keys, leads.who), "first_response_at": leads.responded,
            "status": build.text_take(build._LEAD_STATUS, leads.status), "disqualify_reason": build.text_take(build._REASONS, leads.reason),
            "deal_id": build.text_take(deal_ids, lead_deal),
        }),
        "stage_history": build.canonical("stage_history", {
            "deal_id": build.text_take(deal_ids, deals.h_row[h_order]), "stage": build.text_take(STAGE_KEYS, deals.h_stage[h_order]),
            "entered_at": deals.h_entered[h_order], "moved_by": build.text_take(keys, deals.h_moved_by[h_order]),
        }),
        "activities": build.canonical("activities", {
            "activity_id": build.text_column(build.text_ids(_FIRST_ACTIVITY, len(acts))), "type": build.text_take(build._ACTIVITY_TYPES, acts.type),
            "manager": build.text_take(keys, acts.manager), "deal_id": build.text_take(deal_ids, acts.deal),
            "lead_id": build.text_take(lead_ids, acts.lead), "created_at": acts.t, "duration_sec": acts.duration,
            "due_at": acts.due, "done_at": acts.done,
        }),
        "payments": build.canonical("payments", {
            "payment_id": build.text_column(build.text_ids(_FIRST_PAYMENT, len(pay))), "deal_id": build.text_take(deal_ids, pay.deal),
            "paid_at": pay.t, "amount": pay.amount,
        }),
    }
    tables["plans"] = build.canonical("plans", build.make_plans(roster, leads, deals, acts, start_ts, end_ts))
    return {name: tables[name] for name in TABLE_ORDER}


def _extras(leads, deals, tables) -> dict[str, pd.DataFrame]:
    """The client company and contact of each lead and deal (what an export shows besides the model)."""
    text = build.text_column
    lead_clients = pd.DataFrame({
        "lead_id": tables["leads"]["lead_id"].array, "company": text(leads.company), "company_id": text(leads.company_id),
        "contact": text(leads.contact), "contact_id": text(build.text_ids(_FIRST_LEAD_CONTACT, len(leads))),
    })
    form = deals.form
    from_lead = np.flatnonzero(~form)
    src = deals.lead[from_lead]
    n_form = int(form.sum())
    deal_id = tables["deals"]["deal_id"].array
    empty = build.text_take([""], np.zeros(n_form, dtype=np.int64))
    deal_clients = pd.DataFrame({
        "deal_id": pd.concat([pd.Series(deal_id[from_lead]), pd.Series(deal_id[np.flatnonzero(form)])], ignore_index=True).array,
        "company": pd.concat([pd.Series(lead_clients["company"].array[src]), pd.Series(empty)], ignore_index=True).array,
        "company_id": pd.concat([pd.Series(lead_clients["company_id"].array[src]), pd.Series(empty)], ignore_index=True).array,
        "contact": pd.concat([pd.Series(lead_clients["contact"].array[src]), pd.Series(text(deals.contact))], ignore_index=True).array,
        "contact_id": pd.concat([pd.Series(lead_clients["contact_id"].array[src]),
                                 pd.Series(text(build.text_ids(_FIRST_FORM_CONTACT, n_form)))], ignore_index=True).array,
    })
    return {"lead_clients": lead_clients, "deal_clients": deal_clients}


# --------------------------------------------------------------------------- run config


def write_config(dept: Department, data_dir, path=None, *, language: str = "ru") -> Path:
    """A run config for the generic export of ``dept`` written in ``data_dir``: the demo config
    (``params/clients/demo.yaml``) with ``data:`` and ``funnel:`` absolute, the department's audit
    moment and report period, the generator's days off (weekdays), its deal-load limits
    (:func:`deal_load_limits`, the inbound desk's included) and the CRM robot as a system owner.
    Written to ``path`` (default ``data_dir/run.yaml``); returns its path.
    """
    from ..resources import params_dir

    data = Path(data_dir).resolve()
    target = Path(path) if path is not None else data / "run.yaml"
    demo = params_dir() / "clients" / "demo.yaml"
    text = demo.read_text(encoding="utf-8")
    funnel = (demo.parent / re.search(r"(?m)^funnel:\s*(\S+)", text).group(1)).resolve()
    limits = deal_load_limits(dept.lead_scale)
    days_off = [d for d in dept.holidays if pd.Timestamp(d).day_of_week < 5]
    n_sellers = len(dept.anomalies["roster"]["team"]) - 1
    required = [
        (r"(?m)^data:.*$", f"data: {json.dumps(str(data))}"),
        (r"(?m)^funnel:.*$", f"funnel: {json.dumps(str(funnel))}"),
        (r"(?m)^as_of:.*$", f"as_of: {dept.as_of.strftime('%Y-%m-%d %H:%M:%S')}"),
        (r"(?m)^period:.*$", f"period: {dept.as_of.strftime('%Y-%m')}"),
        (r"(?m)^language:.*$", f"language: {language}"),
        (r"(?m)^(\s+)holidays:.*$", lambda m: f"{m.group(1)}holidays: [{', '.join(days_off)}]"),
        (r"(?m)^  limit:.*$", f"  limit: {limits['limit']}"),
        (r"(?m)^    m_desk:.*$", f"    {DESK}: {limits[DESK]}"),
    ]
    optional = [  # the comments that describe the demo
        (r"(?m)^# Run config.*$", f"# Run config of a generated department (salesaudit.synth): seed {dept.seed}, {n_sellers} sellers and the "
                                  f"inbound desk, {dept.start.date()}..{dept.end.date()}, lead_scale {dept.lead_scale:g}, {dept.engine} engine."),
        (r"(?m)^client:.*$", f'client: "Synthetic department (seed {dept.seed}, {n_sellers} sellers)"'),
        (r"(?m)^(\s+)# the synthetic department.*\n(\s+)# instead of.*\n", lambda m: f"{m.group(1)}# the days off the generator used (salesaudit.synth.holidays_for)\n"),
    ]
    for pattern, repl in required:
        text, count = re.subn(pattern, repl, text)
        if count != 1:
            raise RuntimeError(f"{demo} no longer has the line {pattern!r}: update salesaudit.synth.write_config")
    for pattern, repl in optional:
        text = re.sub(pattern, repl, text, count=1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """``python -m salesaudit.synth --seed N --out DIR [--managers N] [--start D] [--end D] [--lead-scale X]
    [--format generic|bitrix24|both] [--engine auto|sequential|vector] [--config]``."""
    ap = argparse.ArgumentParser(prog="python -m salesaudit.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20261031)
    ap.add_argument("--out", default="data_samples", help="folder that receives demo_generic/ and demo_bitrix24/")
    ap.add_argument("--start", default="2025-08-01")
    ap.add_argument("--end", default="2026-10-31")
    ap.add_argument("--managers", type=int, default=12, help=f"sellers besides the inbound desk ({MIN_MANAGERS} to {MAX_MANAGERS})")
    ap.add_argument("--lead-scale", type=float, default=1.0, help=f"every seller's lead volume as a multiple of the demo's ({MIN_LEAD_SCALE} to {MAX_LEAD_SCALE})")
    ap.add_argument("--format", choices=("generic", "bitrix24", "both"), default="both")
    ap.add_argument("--engine", choices=ENGINES, default="auto")
    ap.add_argument("--config", action="store_true", help="also write the run config demo_generic/run.yaml (see write_config)")
    args = ap.parse_args(argv)
    if args.config and args.format == "bitrix24":
        ap.error("--config writes the run config of the generic export: use --format generic or both")
    try:
        t0 = time.perf_counter()
        dept = generate(args.seed, args.start, args.end, args.managers, lead_scale=args.lead_scale, engine=args.engine)
    except ValueError as e:
        ap.error(str(e))
    seconds = {"generate": round(time.perf_counter() - t0, 2)}
    root = Path(args.out)
    writers = {"generic": [("demo_generic", write_generic)], "bitrix24": [("demo_bitrix24", write_bitrix24)]}
    writers["both"] = writers["generic"] + writers["bitrix24"]
    for folder, writer in writers[args.format]:
        t0 = time.perf_counter()
        writer(dept, root / folder)
        write_anomalies(dept, root / folder)
        seconds[folder] = round(time.perf_counter() - t0, 2)
    if args.config:
        write_config(dept, root / "demo_generic")
    print(json.dumps({"counts": dept.counts(), "engine": dept.engine, "seconds": seconds, "out": str(root)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
