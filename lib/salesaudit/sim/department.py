"""The sales department as a discrete-event simulation (SimPy).

What happens to one lead
------------------------
1. It **arrives** from the non-homogeneous Poisson inflow (:class:`~.inflow.LeadInflow`),
   by weekday, hour and channel.
2. It is **routed** to a seller: ``round_robin``, ``least_loaded`` (fewest open deals per unit
   of selling capacity), ``skill`` (the least loaded of the sellers who serve its channel) or
   ``pool`` (a shared queue: whoever is free first takes it — the M/M/c discipline).
   With a **deal-load limit**, a seller at the limit does not get it; then, as configured
   (``at_limit``), the lead ``queue``\\ s for that seller until a slot frees, is ``reassign``\\ ed
   to a seller below the limit (or waits for the first free slot), or is ``lose``\\ t.
   With ``escalate``, a lead that would wait longer than the SLA goes to the seller who can
   answer first.
3. The seller **responds** in working time (:class:`~.worktime.WorkTime`): out of hours the lead
   waits for the opening, and a lead not answered by the close of its working day is counted as
   *left overnight* (the rule of :func:`salesaudit.analysis.leads.response_times`). The response comes
   after the seller's own *reaction delay* (lognormal, calibrated per seller) — longer when the
   seller's open deals eat more of the day (touch work per open deal) — and after the seller
   has finished the leads before it (each takes ``handling_min`` working minutes).
4. The lead **converts** into a deal with a probability from the fitted lead → deal model
   (:class:`Conversion`): channel, seller, and the response delay (slow answers convert
   worse), times the seller's ramp-up and the head of sales' coaching lift.
5. A deal **moves through the stages**: at each stage it goes forward with the stage's (or the
   seller's) probability or is lost, after a lognormal stay in calendar days. The win chance
   falls with the seller's load at the deal's start (``delta_overload``) and rises with
   coaching. A won deal's amount (the *won amount*, resampled with its payment terms from the
   history) is paid over time: ``pay_curves`` give the share of a won deal's amount received
   within ``d`` days of the win, per payment-terms group (the plan-fact forecast's curves,
   :func:`salesaudit.analysis.planfact._pay_curves`). The run's **revenue is the payments
   received** inside the horizon: each win's amount × its group's share paid by the horizon's end,
   plus the expected payments of deals won before the start (``earlier_payments``).
6. The lead holds a **slot** of the seller's deal load from routing until it is disqualified or
   its deal is closed.

Around them: sellers are hired (and ramp up over ``ramp_weeks``), leave at the attrition rate
(their open deals and queued leads move to the others) and are replaced after
``time_to_fill_days``; the head of sales sells with ``selling_share`` of a seller's capacity and
coaches with part of the rest (:class:`salesaudit.sim.coaching.CoachingEffect`).

With no calendar, no reaction delay, exponential handling, the ``pool`` rule, no limit and one
stage, the model is exactly an M/M/c queue, and the tests check it against Erlang C.

Randomness: every random number of a lead is drawn up front from ``numpy.random.default_rng``
(common random numbers), so the same seed gives the same result and two scenarios with the
same seed differ only by their decisions.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from heapq import heapify, heappop, heappush
from typing import Optional

import numpy as np
import pandas as pd
import simpy
from scipy.special import ndtr, ndtri  # what scipy.stats.norm.cdf / ppf compute, without their per-call overhead

from .coaching import CoachingEffect
from .inflow import LeadInflow
from .worktime import WorkTime

__all__ = [
    "Stage",
    "Seller",
    "Conversion",
    "HeadOfSales",
    "Staffing",
    "DepartmentParams",
    "SimResult",
    "simulate",
    "apply_scenario",
    "run_scenario",
    "ROUTING_RULES",
    "AT_LIMIT",
]

ROUTING_RULES = ("round_robin", "least_loaded", "skill", "pool")
AT_LIMIT = ("queue", "reassign", "lose")
_DAY = 1440.0
_MONTH_DAYS = 30.4375


@dataclass
class Stage:
    """An open funnel stage: forward probability, lognormal stay (calendar days), touch work."""

    key: str
    p_forward: float
    mu: float  # log-days
    sigma: float
    touch_min_per_day: Optional[float] = None  # seller's minutes per open deal per calendar day here (None: the department's average)
    label: dict = field(default_factory=dict)

    @property
    def median_days(self) -> float:
        return float(math.exp(self.mu))


@dataclass
class Seller:
    """One seller (or the head of sales selling part-time)."""

    key: str
    name: str = ""
    reaction_median: float = 15.0  # working minutes from "free" to the first response
    reaction_sigma: float = 1.0
    handling_min: float = 10.0  # the seller's working minutes per lead
    logit_offset: float = 0.0  # lead → deal log-odds against the team
    forward: Optional[dict] = None  # stage → p_forward for this seller, where the data allow
    stay_scale: Optional[dict] = None  # stage → the seller's stays against the team's (2 = twice as long), where the data allow
    capacity: float = 1.0  # share of a full working day spent selling
    hired_day: float = -1e9  # days from the start; ramp-up counts from here
    channels: Optional[tuple] = None  # channels served under the skill rule (None: all)
    is_head: bool = False
    ref_occupancy: float = 0.0  # touch-work share of the day when reaction_median was measured


@dataclass
class Conversion:
    """Lead → deal log-odds: channel + seller + ``beta_response``·log(1 + response hours)."""

    channel_logit: dict
    beta_response: float = 0.0
    delta_overload: float = 0.0  # deal win log-odds per +10 open deals over ``ref_load``
    ref_load: float = 0.0

    def logit_for(self, channel: str) -> float:
        """The channel's log-odds (the mean of the known channels for an unknown one)."""
        if channel in self.channel_logit:
            return float(self.channel_logit[channel])
        return float(np.mean(list(self.channel_logit.values()))) if self.channel_logit else 0.0



@dataclass
class HeadOfSales:
    """The head of sales' month: own deals against coaching the team."""

    selling_share: float = 0.3  # of a seller's capacity spent on own deals
    baseline_share: float = 0.3  # the share in the history the conversions were measured under
    hours_per_month: float = 168.0
    coaching_share: float = 0.5  # of the non-selling hours that is coaching (the rest: admin, meetings)
    effect: CoachingEffect = field(default_factory=CoachingEffect)

    def coaching_hours(self, share: float | None = None) -> float:
        s = self.selling_share if share is None else share
        return (1.0 - s) * self.hours_per_month * self.coaching_share

    def monthly_multiplier(self, months: int) -> np.ndarray:
        """Team conversion multiplier per month, relative to the baseline split."""
        base = self.coaching_hours(self.baseline_share)
        m = self.effect.multiplier([self.coaching_hours()] * months, initial=base)
        return m / self.effect.steady_multiplier(base)


@dataclass
class Staffing:
    """Ramp-up of new sellers, attrition and replacement."""

    ramp_weeks: float = 8.0
    ramp_start: float = 0.5  # productivity on day one (conversion and speed)
    attrition_per_month: float = 0.0
    time_to_fill_days: float = 45.0
    replace: bool = True


@dataclass
class DepartmentParams:
    """Everything the simulation needs; :func:`salesaudit.sim.calibrate` fills it from a dataset."""

    inflow: LeadInflow
    sellers: list
    stages: list
    conversion: Conversion
    amounts: np.ndarray  # won-deal amounts to resample
    calendar: object = None  # WorkCalendar, or None for round-the-clock
    decision_mu: float = math.log(60.0)  # response → deal/disqualification, log working minutes
    decision_sigma: float = 1.0
    deal_limit: Optional[int] = None
    at_limit: str = "queue"
    routing: str = "round_robin"
    sla_minutes: float = 30.0
    escalate: bool = False
    reaction: bool = True  # False: no reaction delay (the M/M/c case)
    head: Optional[HeadOfSales] = None
    staffing: Staffing = field(default_factory=Staffing)
    initial: Optional[pd.DataFrame] = None  # open pipeline at the start: manager, stage, age_days, amount
    plan_revenue: Optional[float] = None  # plan of payments received (revenue) over the simulated horizon
    #: payment-terms group of each of ``amounts`` (None: every amount in the group ``"*"``)
    amount_terms: Optional[np.ndarray] = None
    #: group → share of a won amount received within ``d`` days of the win (index ``d`` = 0, 1, ...),
    #: with ``"*"`` for every group without its own curve; None: a win is paid in full on the day it is won
    pay_curves: Optional[dict] = None
    #: expected payments received within ``d`` days of the start (index ``d``) of the deals won before it
    earlier_payments: Optional[np.ndarray] = None
    start: pd.Timestamp = pd.Timestamp("2026-01-05")
    touch_min_per_deal_day: float = 0.0  # touch work per open deal per calendar day, for stages without their own
    volume_cv: float = 0.0  # month-to-month variation of the lead volume beyond Poisson (coefficient of variation)
    notes: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.routing not in ROUTING_RULES:
            raise ValueError(f"routing must be one of {ROUTING_RULES}, got {self.routing!r}")
        if self.at_limit not in AT_LIMIT:
            raise ValueError(f"at_limit must be one of {AT_LIMIT}, got {self.at_limit!r}")

    def replace(self, **changes) -> "DepartmentParams":
        return replace(self, **changes)

    @property
    def n_sellers(self) -> int:
        return sum(1 for s in self.sellers if not s.is_head)

    def typical_seller(self, key: str, hired_day: float = -1e9) -> Seller:
        """A new seller with the team's average behaviour."""
        team = [s for s in self.sellers if not s.is_head] or self.sellers
        return Seller(
            key=key,
            name=key,
            reaction_median=float(np.median([s.reaction_median for s in team])),
            reaction_sigma=float(np.median([s.reaction_sigma for s in team])),
            handling_min=float(np.median([s.handling_min for s in team])),
            hired_day=hired_day,
            ref_occupancy=float(np.median([s.ref_occupancy for s in team])),
        )

    def with_headcount(self, n: int, new_hires_ramp: bool = True) -> "DepartmentParams":
        """Keep the first ``n`` sellers (the head of sales aside) or add typical new ones.

        New sellers start on day 0 and ramp up (``new_hires_ramp``), as real hires would.
        """
        head = [s for s in self.sellers if s.is_head]
        team = [s for s in self.sellers if not s.is_head]
        if n <= len(team):
            kept = team[:n]
        else:
            kept = team + [
                self.typical_seller(f"new{i + 1}", 0.0 if new_hires_ramp else -1e9) for i in range(n - len(team))
            ]
        return self.replace(sellers=kept + head)

    @classmethod
    def mmc(cls, lam: float, mu: float, c: int) -> "DepartmentParams":
        """The department reduced to an M/M/c queue (per-minute rates): for validation.

        Round-the-clock Poisson arrivals at ``lam`` per minute, ``c`` sellers taking leads from a
        shared queue (``pool``), exponential handling with mean ``1/mu`` minutes, no reaction
        delay, no calendar, no limit, one stage, no deals.
        """
        inflow = LeadInflow.from_daily(lam * 1440.0, profile="24h")
        sellers = [Seller(f"s{i + 1}", handling_min=1.0 / mu, reaction_median=0.0) for i in range(c)]
        return cls(
            inflow=inflow, sellers=sellers, stages=[Stage("only", 1.0, 0.0, 1e-6)],
            conversion=Conversion({ch: -50.0 for ch in inflow.channels}), amounts=np.zeros(1),
            calendar=None, routing="pool", reaction=False, decision_mu=-20.0, decision_sigma=0.0,
        )

    @classmethod
    def example(cls, managers: int = 10, leads_per_year: float = 20000, seed: int = 0) -> "DepartmentParams":
        """A plausible uncalibrated B2B department (for benchmarks and examples)."""
        from ..data.calendar import WorkCalendar

        cal = WorkCalendar(start="09:00", end="18:00")
        per_day = leads_per_year / 365.25
        inflow = LeadInflow.from_daily(per_day * 7 / 5, {"website": 0.5, "calls": 0.3, "referrals": 0.2}, calendar=cal)
        stages = [
            Stage("new", 0.88, math.log(0.5), 0.8),
            Stage("qualified", 0.78, math.log(2.0), 0.8),
            Stage("needs", 0.80, math.log(3.0), 0.8),
            Stage("proposal", 0.66, math.log(5.0), 0.8),
            Stage("invoice", 0.86, math.log(3.0), 0.8),
        ]
        rng = np.random.default_rng(seed)
        sellers = [Seller(f"m{i + 1:02d}", f"m{i + 1:02d}") for i in range(managers)]
        return cls(
            inflow=inflow,
            sellers=sellers,
            stages=stages,
            conversion=Conversion({"website": 0.2, "calls": 0.6, "referrals": 1.2}, beta_response=-0.3),
            amounts=np.round(np.exp(rng.normal(math.log(250_000), 0.8, 500)), -3),
            calendar=cal,
            touch_min_per_deal_day=4.0,
        )


# --------------------------------------------------------------------------- result


@dataclass
class SimResult:
    """One replication: per-lead records and the summary figures.

    ``leads``, ``monthly`` and ``sellers`` are None when the run was asked for its summary alone
    (``simulate(..., tables=False)``, what a sweep reads).
    """

    params: DepartmentParams
    days: float
    seed: object
    leads: Optional[pd.DataFrame]
    summary: dict
    monthly: Optional[pd.DataFrame]
    sellers: Optional[pd.DataFrame]


# --------------------------------------------------------------------------- the model


class _Department:
    """The state and the event handlers of one run."""

    def __init__(self, p: DepartmentParams, days: float, seed, tables: bool = True):
        self.p = p
        self.tables = tables
        self.days = float(days)
        self.T = self.days * _DAY
        self.rng = np.random.default_rng(seed)
        self.env = simpy.Environment()
        self.wt = WorkTime(p.start, int(math.ceil(days)) + 400, p.calendar)
        self.stage_keys = [s.key for s in p.stages]
        self.sellers: list[Seller] = list(p.sellers)
        n_sel = len(self.sellers)
        self.active = [True] * n_sel
        self.load = [0] * n_sel  # open slots: leads in processing + open deals
        # touch work of each seller's open deals (minutes per calendar day), kept lazily: a heap of
        # future changes (time, lead, delta) per seller, applied when the seller is next looked at
        self.touch_now = [0.0] * n_sel
        self.touch_heap: list[list] = [[] for _ in range(n_sel)]
        self.touch_last = [0.0] * n_sel
        self.touch_area = [0.0] * n_sel  # ∫ touch dt over [0, T], minutes/day × minutes
        self.free_w = [0.0] * n_sel  # working minutes at which each seller is next free
        self.busy = [0.0] * n_sel
        self.pending: list[deque] = [deque() for _ in range(n_sel)]
        self.pool_queue: deque = deque()
        self.rr = 0
        self.peak = 0
        self.cap = [max(s.capacity, 1e-9) for s in self.sellers]
        self._eligible: dict = {}  # channel → eligible sellers; cleared when staff change
        self.coach = (
            p.head.monthly_multiplier(int(days / _MONTH_DAYS) + 3) if p.head is not None else None
        )
        self.channel_names = list(p.inflow.channels)

    # ---- helpers
    def touch_at(self, k: int, now: float) -> float:
        """Seller ``k``'s touch minutes per day at ``now`` (applies the changes due by then)."""
        h = self.touch_heap[k]
        if h and h[0][0] <= now:
            tn, last, area, T = self.touch_now[k], self.touch_last[k], self.touch_area[k], self.T
            while h and h[0][0] <= now:
                tau, _, d = heappop(h)
                area += tn * (min(tau, T) - min(last, T))
                last = tau
                tn += d
            self.touch_now[k], self.touch_last[k], self.touch_area[k] = tn, last, area
        return self.touch_now[k]

    def schedule_touch(self, k: int, i: int, first: int, t0: float, ends: list):
        """The touch work of a deal of seller ``k`` entering stage ``first`` at ``t0``, stage ends ``ends``."""
        if not self.any_touch:
            return
        tv = self.touch_stage
        h = self.touch_heap[k]
        heappush(h, (t0, i, tv[first]))
        for m in range(len(ends) - 1):
            d = tv[first + m + 1] - tv[first + m]
            if d:
                heappush(h, (ends[m], i, d))
        heappush(h, (ends[-1], i, -tv[first + len(ends) - 1]))

    def ramp(self, k: int, now: float) -> float:
        st = self.p.staffing
        tenure_w = (now / _DAY - self.sellers[k].hired_day) / 7.0
        if tenure_w >= st.ramp_weeks or st.ramp_start >= 1.0:
            return 1.0
        return st.ramp_start + (1.0 - st.ramp_start) * max(tenure_w, 0.0) / st.ramp_weeks

    def coach_mult(self, now: float) -> float:
        if self.coach is None:
            return 1.0
        return float(self.coach[min(int(now / (_MONTH_DAYS * _DAY)), len(self.coach) - 1)])

    def eligible(self, channel: str) -> list[int]:
        """The active sellers a lead of ``channel`` may go to (ascending; cached until staff change)."""
        out = self._eligible.get(channel)
        if out is None:
            out = [k for k in range(len(self.sellers)) if self.active[k]]
            if self.p.routing == "skill":
                skilled = [k for k in out if self.sellers[k].channels is None or channel in self.sellers[k].channels]
                out = skilled or out
            self._eligible[channel] = out
        return out

    def least_loaded(self, cand: list[int]) -> int:
        """The candidate with the fewest open slots per unit of selling capacity (lowest index on a tie)."""
        load, cap = self.load, self.cap
        vals = [load[j] / cap[j] for j in cand]
        return cand[vals.index(min(vals))]

    def at_limit(self, k: int) -> bool:
        lim = self.p.deal_limit
        return lim is not None and self.load[k] >= lim

    def choose(self, i: int, now: float) -> int:
        ch = self.channel_names[self.ch[i]]
        cand = self.eligible(ch)
        if not cand:
            return -1
        rule = self.p.routing
        if rule == "round_robin":
            self.rr += 1
            k = cand[self.rr % len(cand)]
        elif rule == "pool":
            fw = self.free_w
            vals = [fw[j] for j in cand]
            k = cand[vals.index(min(vals))]
        else:  # least_loaded, skill
            k = self.least_loaded(cand)
        if self.p.escalate:
            # the predicted start of work, in working minutes: when the lead is in and the seller free
            sla = self.p.sla_minutes
            w0 = self.w_arr[i] if now == self.t_list[i] else self.wt.worked(now)
            fw = self.free_w
            if max(w0, fw[k]) - w0 > sla:
                free = [j for j in cand if not self.at_limit(j)] or cand
                vals = [fw[j] for j in free]
                best = free[vals.index(min(vals))]
                if max(w0, fw[best]) - w0 <= sla:
                    k = best
        return k

    # ---- events
    def _arrival(self, ev):
        """Lead ``i`` arrives; the next one is scheduled (one pending arrival at a time)."""
        i = ev.value
        if i + 1 < len(self.t_list):
            self.env.timeout(self.t_list[i + 1] - self.t_list[i], i + 1).callbacks.append(self._arrival)
        self.arrive(i)

    def arrive(self, i: int):
        now = self.env.now
        k = self.choose(i, now)
        if k < 0:
            self.pool_queue.append(i)
            return
        if self.at_limit(k):
            mode = self.p.at_limit
            if mode == "lose":
                self.lost[i] = True
                return
            if mode == "reassign":
                free = [j for j in self.eligible(self.channel_names[self.ch[i]]) if not self.at_limit(j)]
                if not free:
                    self.pool_queue.append(i)
                    return
                k = self.least_loaded(free)
            else:
                self.pending[k].append(i)
                return
        self.assign(i, k)

    def seller_spec(self, s: Seller) -> tuple:
        """What :meth:`assign` reads of a seller, computed once."""
        cap = max(s.capacity, 1e-6)
        st = self.p.staffing
        ramp_end = (s.hired_day + 7.0 * st.ramp_weeks) * _DAY if st.ramp_start < 1.0 else -math.inf
        return (s.reaction_median, s.reaction_sigma, s.handling_min / cap, 1.0 - min(s.ref_occupancy, 0.95),
                s.logit_offset, self.occ_per_touch / cap, ramp_end)

    def assign(self, i: int, k: int):
        now = self.env.now
        react_med, react_sigma, handling, ref_free, offset, occ_per_touch, ramp_end = self.spec[k]
        load = self.load[k] + 1
        self.load[k] = load
        if load > self.peak:
            self.peak = load
        self.owner[i] = k
        self.assigned_at[i] = now
        ramp = 1.0 if now >= ramp_end else self.ramp(k, now)
        # on the working-minute axis (W): W(begin(w)) == w and begin() is monotone, so the start
        # of work is simply the later of "reacted" and "free from the leads before"
        wt = self.wt
        w_arr = self.w_arr[i]
        w_now = w_arr if now == self.t_list[i] else wt.worked(now)
        if self.reaction:
            occ = min(0.95, self.touch_at(k, now) * occ_per_touch) if self.any_touch else 0.0
            react = react_med * math.exp(react_sigma * self.z_react[i]) * ref_free / (1.0 - occ)
        else:
            react = 0.0
        w_begin = w_now + react
        if self.free_w[k] > w_begin:
            w_begin = self.free_w[k]
        begin = wt.begin(w_begin)
        service = handling * self.e_service[i] / ramp
        self.free_w[k] = w_begin + service
        self.busy[k] += service
        self.begin_at[i] = begin
        wait = w_begin - w_arr
        self.wait[i] = wait
        self.overnight[i] = begin > self.day_end[i]
        z = self.lead_logit[i] + offset + self.beta * math.log1p(wait / 60.0 if wait > 0.0 else 0.0)
        p_deal = ramp / (1.0 + math.exp(-z))
        if self.coach is not None:
            p_deal *= self.coach_mult(now)
        decided = wt.finish(w_begin + self.decision_min[i])
        if self.u_conv[i] >= min(p_deal, 0.99):
            self.env.timeout(max(decided - now, 0.0), i).callbacks.append(self._lead_closes)
            return
        self.converted[i] = True
        self.deal_at[i] = decided
        ends = self.path(i, k, 0, decided, load)
        close = ends[-1]
        if self.path_won:
            self.won[i] = True
            self.amount[i] = self.amounts[i]
        self.close_at[i] = close
        self.schedule_touch(k, i, 0, decided, ends)
        self.env.timeout(close - now, i).callbacks.append(self._lead_closes)

    def forward_of(self, s: Seller) -> list:
        """The seller's forward probability per stage (the team's where the data had too few)."""
        return [s.forward.get(st.key, st.p_forward) for st in self.p.stages] if s.forward else self.team_fwd

    def stay_scale_of(self, s: Seller) -> list | None:
        """The seller's stay multiplier per stage (``None``: the team's pace everywhere)."""
        if not s.stay_scale:
            return None
        return [float(s.stay_scale.get(st.key, 1.0)) for st in self.p.stages]

    def path(self, i: int, k: int, first: int, t0: float, load: float, u=None, stays=None) -> list:
        """Walk the deal through the stages from ``first``: the end of each stage it enters.

        ``u`` and ``stays`` (uniforms and stays in minutes per stage) default to lead ``i``'s.
        The last end is the close; whether it was won is left in ``self.path_won``.
        """
        u = self.u_stage[i] if u is None else u
        stays = self.stays[i] if stays is None else stays
        scale = self.scale_by[k]
        if scale is not None:
            stays = [x * c for x, c in zip(stays, scale)]
        fwd = self.fwd_by[k]
        S = len(fwd)
        # the win chance shifts with the load at the start and the coaching lift
        r = self.ramp(k, t0)
        if self.coach is not None:
            r *= self.coach_mult(t0)
        conv = self.p.conversion
        if conv.delta_overload:
            pw = math.prod(fwd[first:])
            if 0 < pw < 1:
                logit = math.log(pw / (1 - pw)) + conv.delta_overload * (load - conv.ref_load) / 10.0
                r *= 1.0 / (1.0 + math.exp(-logit)) / pw
        adj = 1.0 if r == 1.0 else r ** (1.0 / max(S - first, 1))
        t = t0
        ends = []
        for j in range(first, S):
            t += stays[j]
            ends.append(t)
            if u[j] >= min(fwd[j] * adj, 0.999):
                self.path_won = False
                return ends
        self.path_won = True
        return ends

    def _lead_closes(self, ev):
        """A lead is disqualified or its deal closes: its slot frees."""
        i = ev.value
        k = self.owner[i]
        self.released_at[i] = self.env.now
        self.load[k] -= 1
        self.refill(k)

    def refill(self, k: int):
        """A slot of seller ``k`` freed: take a queued lead."""
        while not self.at_limit(k) and self.active[k]:
            if self.pending[k]:
                self.assign(self.pending[k].popleft(), k)
            elif self.pool_queue:
                self.assign(self.pool_queue.popleft(), k)
            else:
                break

    # ---- staffing
    def leave(self, k: int):
        self.active[k] = False
        self._eligible.clear()
        now = self.env.now
        self.left_day[k] = now / _DAY
        others = [j for j in range(len(self.sellers)) if self.active[j]]
        queued = list(self.pending[k])
        self.pending[k].clear()
        if others:
            # open leads and deals move to the least loaded colleagues
            mine = [i for i, o in enumerate(self.owner) if o == k and math.isnan(self.released_at[i]) and not math.isnan(self.assigned_at[i])]
            self.touch_at(k, now)
            future: dict = {}  # lead → its touch changes still due (they sum to minus what it adds now)
            kept = []
            for e in self.touch_heap[k]:
                (future.setdefault(e[1], []) if e[1] >= 0 else kept).append(e)
            self.touch_heap[k] = kept
            heapify(kept)
            for i in mine:
                j = min(others, key=lambda j: (self.load[j], j))
                self.owner[i] = j
                self.load[j] += 1
                self.load[k] -= 1
                moved = future.pop(i, [])
                if moved:
                    self.touch_at(j, now)
                    now_touch = -sum(e[2] for e in moved)
                    self.touch_now[k] -= now_touch
                    self.touch_now[j] += now_touch
                    for e in moved:
                        heappush(self.touch_heap[j], e)
            for i in queued:
                self.pool_queue.append(i)
            for j in others:
                self.refill(j)
        else:
            self.pool_queue.extend(queued)
        st = self.p.staffing
        if st.replace:
            self.env.timeout(st.time_to_fill_days * _DAY).callbacks.append(lambda ev, k=k: self.hire_for(k))

    def hire_for(self, k: int):
        now = self.env.now
        new = self.p.typical_seller(f"{self.sellers[k].key}+", hired_day=now / _DAY)
        self.sellers.append(new)
        self.active.append(True)
        for lst, v in ((self.load, 0), (self.free_w, self.wt.worked(now)), (self.busy, 0.0),
                       (self.cap, max(new.capacity, 1e-9)), (self.touch_now, 0.0), (self.touch_heap, []),
                       (self.touch_last, now), (self.touch_area, 0.0), (self.spec, self.seller_spec(new)),
                       (self.fwd_by, self.forward_of(new)), (self.scale_by, self.stay_scale_of(new))):
            lst.append(v)
        self._eligible.clear()
        self.pending.append(deque())
        self.left_day.append(np.nan)
        self.hired_sim.append(now / _DAY)
        self.schedule_attrition(len(self.sellers) - 1)
        self.refill(len(self.sellers) - 1)

    def schedule_attrition(self, k: int):
        q = self.p.staffing.attrition_per_month
        if q <= 0 or self.sellers[k].is_head:
            return
        gap = self.rng_staff.exponential(_MONTH_DAYS / q) * _DAY
        if self.env.now + gap < self.T:
            self.env.timeout(gap).callbacks.append(lambda ev, k=k: self.leave(k) if self.active[k] else None)

    # ---- the run
    def run(self) -> SimResult:
        p = self.p
        rng = self.rng
        # the level of lead volume varies from month to month more than Poisson says: each
        # replication draws its own level (mean 1) from the variation seen in the history
        cv = p.volume_cv
        level = rng.gamma(1.0 / cv**2, cv**2) if cv > 0 else 1.0
        self.level = level
        t, ch = p.inflow.sample(p.start, p.start + pd.Timedelta(days=self.days), rng, calendar=p.calendar, volume=level)
        n = len(t)
        self.t = t
        S = len(p.stages)
        # every random number of every lead, drawn up front (common random numbers); kept
        # as Python lists because the event handlers read them one scalar at a time
        self.e_service = rng.exponential(size=n).tolist()
        self.z_react = rng.standard_normal(n).tolist()
        self.u_conv = rng.random(n).tolist()
        z_dec = rng.standard_normal(n)
        self.u_stage = rng.random((n, S)).tolist()
        mus = np.array([st.mu for st in p.stages])
        sigmas = np.array([st.sigma for st in p.stages])
        self.stays = (np.exp(mus + sigmas * rng.standard_normal((n, S))) * _DAY).tolist()  # minutes per stage
        idx = rng.integers(0, len(p.amounts), n) if len(p.amounts) else None
        self.amounts = (p.amounts[idx] if idx is not None else np.zeros(n)).tolist()
        self.terms = (np.asarray(p.amount_terms, dtype=object)[idx] if idx is not None and p.amount_terms is not None
                      else np.full(n, "*", dtype=object))
        ch_logit = [p.conversion.logit_for(c) for c in self.channel_names]
        self.lead_logit = np.asarray(ch_logit, dtype=float)[ch].tolist() if n else []
        # response → deal or disqualification, in working minutes
        self.decision_min = np.exp(p.decision_mu + p.decision_sigma * z_dec).tolist()
        self.reaction = p.reaction
        self.beta = p.conversion.beta_response
        self.team_fwd = [st.p_forward for st in p.stages]
        self.touch_stage = [p.touch_min_per_deal_day if st.touch_min_per_day is None else float(st.touch_min_per_day)
                            for st in p.stages]
        self.any_touch = any(self.touch_stage)
        # touch minutes per calendar day → share of the working time: divide by the working
        # minutes per calendar day over the horizon
        self.occ_per_touch = self.T / max(self.wt.worked(self.T) * _DAY, 1e-9) if self.T > 0 else 1.0 / _DAY
        self.spec = [self.seller_spec(s) for s in self.sellers]
        self.fwd_by = [self.forward_of(s) for s in self.sellers]
        self.scale_by = [self.stay_scale_of(s) for s in self.sellers]
        self.t_list = t.tolist()
        self.ch = ch.tolist()
        self.rng_staff = np.random.default_rng(rng.integers(2**63))
        self.w_arr = self.wt.worked_array(t).tolist()
        self.day_end = self.wt.day_end_array(t).tolist()
        nan = [math.nan] * n
        self.owner = [-1] * n
        self.assigned_at, self.begin_at, self.wait = nan[:], nan[:], nan[:]
        self.deal_at, self.close_at, self.released_at = nan[:], nan[:], nan[:]
        self.amount = [0.0] * n
        self.lost = [False] * n
        self.overnight = [False] * n
        self.converted = [False] * n
        self.won = [False] * n
        self.left_day = [np.nan] * len(self.sellers)
        self.hired_sim: list[float] = []

        self.initial_records = self._start_pipeline()
        for k in range(len(self.sellers)):
            self.schedule_attrition(k)

        if n:
            self.env.timeout(self.t_list[0], 0).callbacks.append(self._arrival)
        self.env.run()  # to the end: every lead and deal is finished, so every sojourn is complete
        return self._result()

    def _start_pipeline(self) -> list:
        """The open deals at the start, each finishing its remaining path."""
        init = self.p.initial
        out = []
        if init is None or len(init) == 0:
            return out
        rng = np.random.default_rng(self.rng.integers(2**63))
        keys = {s.key: k for k, s in enumerate(self.sellers)}
        stage_pos = {s: j for j, s in enumerate(self.stage_keys)}
        S = len(self.stage_keys)
        for row in init.itertuples(index=False):
            j = stage_pos.get(row.stage)
            if j is None:
                continue
            k = keys.get(row.manager)
            if k is None:
                k = min(range(len(self.sellers)), key=lambda x: (self.load[x], x))
            st = self.p.stages[j]
            age = max(float(row.age_days), 1e-6)
            # residual stay: the seller's lognormal conditioned on having lasted ``age`` already
            c = self.scale_by[k][j] if self.scale_by[k] is not None else 1.0
            mu = st.mu + math.log(c)
            lo = float(ndtr((math.log(age) - mu) / st.sigma))
            uu = lo + (1 - lo) * rng.random()
            stay = math.exp(mu + st.sigma * float(ndtri(min(uu, 1 - 1e-12)))) - age
            u = rng.random(S)
            z = rng.standard_normal(S)
            # walk from the current stage: its remaining stay replaces the drawn one (path() applies
            # the seller's pace to every stay, so this one is given at the team's pace)
            stays = [math.exp(s2.mu + s2.sigma * zz) * _DAY for s2, zz in zip(self.p.stages, z)]
            stays[j] = max(stay, 1e-6) * _DAY / c
            ends = self.path(-1, k, j, 0.0, self.load[k], u=u.tolist(), stays=stays)
            close, won = ends[-1], self.path_won
            self.schedule_touch(k, -1, j, 0.0, ends)
            amt = float(row.amount) if won and pd.notna(row.amount) and row.amount > 0 else (
                float(rng.choice(self.p.amounts)) if won and len(self.p.amounts) else 0.0
            )
            self.load[k] += 1
            terms = getattr(row, "terms", None)
            rec = {"seller": k, "close": close, "won": won, "amount": amt if won else 0.0,
                   "terms": "*" if terms is None or (isinstance(terms, float) and math.isnan(terms)) else str(terms)}
            out.append(rec)
            self.env.timeout(close).callbacks.append(lambda ev, rec=rec: self._release_initial(rec))
        return out

    def _release_initial(self, rec: dict):
        k = rec["seller"]
        self.load[k] -= 1
        self.refill(k)

    # ---- results
    def _result(self) -> SimResult:
        p, wt, T = self.p, self.wt, self.T
        n = len(self.t)
        for name in ("owner", "assigned_at", "begin_at", "wait", "deal_at", "close_at", "released_at", "amount",
                     "lost", "overnight", "converted", "won"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.int64 if name == "owner" else bool if name in ("lost", "overnight", "converted", "won") else float))
        self.ch = np.asarray(self.ch, dtype=np.int64)
        names = [s.key for s in self.sellers]
        leads = None if not self.tables else pd.DataFrame(
            {
                "arrived": self.t,
                "channel": np.asarray(self.channel_names, dtype=object)[self.ch] if n else np.array([], dtype=object),
                "seller": np.where(self.owner >= 0, np.asarray(names, dtype=object)[np.maximum(self.owner, 0)], None) if n else np.array([], dtype=object),
                "lost": self.lost,
                "assigned": self.assigned_at,
                "responded": self.begin_at,
                "wait_working_min": self.wait,
                "overnight": self.overnight,
                "converted": self.converted,
                "deal_at": self.deal_at,
                "closed": self.close_at,
                "won": self.won,
                "amount": self.amount,
                "released": self.released_at,
            }
        )
        answered = ~np.isnan(self.wait)
        w = self.wait[answered]
        init = self.initial_records
        init_close = np.array([r["close"] for r in init]) if init else np.zeros(0)
        init_won = np.array([r["won"] for r in init], dtype=bool) if init else np.zeros(0, dtype=bool)
        init_amt = np.array([r["amount"] for r in init]) if init else np.zeros(0)
        init_terms = np.array([r["terms"] for r in init], dtype=object) if init else np.zeros(0, dtype=object)
        in_h = lambda x: (x >= 0) & (x < T)  # noqa: E731
        won_new = self.won & in_h(self.close_at)
        won_init = init_won & in_h(init_close)
        won_amount = float(self.amount[won_new].sum() + init_amt[won_init].sum())
        # revenue = payments received in [0, T): every win in the horizon pays its group's share by T,
        # and the deals won before the start pay what they were expected to
        win_at = np.concatenate([self.close_at[won_new], init_close[won_init]])
        win_amt = np.concatenate([self.amount[won_new], init_amt[won_init]])
        win_terms = np.concatenate([self.terms[won_new], init_terms[won_init]])
        paid_wins = float(np.sum(win_amt * paid_share(p.pay_curves, win_terms, (T - win_at) / _DAY)))
        paid_earlier = earlier_paid(p.earlier_payments, self.days)
        revenue = paid_wins + paid_earlier
        # the sellers hired inside the horizon (new headcount, replacements) and what their leads gave
        new = np.array([s.hired_day >= 0 for s in self.sellers], dtype=bool)
        owned = self.owner >= 0
        by_new = owned & new[np.maximum(self.owner, 0)] if n else np.zeros(0, dtype=bool)
        # time-average open deals over [0, T] and seller utilisation
        avail = []
        for k, s in enumerate(self.sellers):
            start = max(s.hired_day * _DAY, 0.0)
            end = T if np.isnan(self.left_day[k]) else min(self.left_day[k] * _DAY, T)
            avail.append(max(wt.worked(end) - wt.worked(min(start, end)), 0.0) * max(s.capacity, 1e-9))
        avail = np.asarray(avail)
        deal_days = self._deal_days_by_seller() if self.tables else None
        # touch minutes done inside the horizon: ∫ touch(t) dt over [0, T] (minutes per day × minutes / 1440)
        touch = np.zeros(len(avail))
        for k in range(len(avail)):
            self.touch_at(k, T)
            touch[k] = (self.touch_area[k] + self.touch_now[k] * (T - min(self.touch_last[k], T))) / _DAY
        busy = np.asarray(self.busy[: len(avail)])
        caps = np.array([s.capacity for s in self.sellers], dtype=float)
        # a seller with no selling time (the head of sales at a share of 0) has no utilisation
        util = np.where((avail > 0) & (caps > 1e-6), (busy + touch) / np.maximum(avail, 1e-9), np.nan)
        months = self._monthly(win_at, win_amt, win_terms) if self.tables else None
        summary = {
            "leads": int(n),
            "lost_leads": int(self.lost.sum()),
            "answered": int(answered.sum()),
            "response_p50": float(np.percentile(w, 50)) if len(w) else np.nan,
            "response_p80": float(np.percentile(w, 80)) if len(w) else np.nan,
            "response_p90": float(np.percentile(w, 90)) if len(w) else np.nan,
            "sla_share": float(np.mean(w <= p.sla_minutes)) if len(w) else np.nan,
            "overnight_share": float(self.overnight[answered].mean()) if answered.any() else np.nan,
            "deals": int((self.converted & in_h(self.deal_at)).sum()),
            "won": int(won_new.sum() + won_init.sum()),
            "won_amount": won_amount,
            "revenue": revenue,
            "revenue_earlier_wins": paid_earlier,
            "assigned": int(owned.sum()),
            "won_from_leads": int(won_new.sum()),
            "new_hire_leads": int(by_new.sum()),
            "new_hire_won": int((won_new & by_new).sum()),
            "utilisation": float(np.nanmean(util)) if len(util) else np.nan,
            "mean_open_deals": float(self._time_avg_open_deals()),
            "max_load": self.peak,
            "sellers_left": int(np.sum(~np.isnan(np.asarray(self.left_day, dtype=float)))),
            "sellers_hired": len(self.hired_sim),
        }
        if p.plan_revenue is not None:
            summary["plan_met"] = float(revenue >= p.plan_revenue)
            summary["attainment"] = revenue / p.plan_revenue if p.plan_revenue > 0 else np.nan
        sellers = None if not self.tables else pd.DataFrame(
            {
                "seller": names,
                "is_head": [s.is_head for s in self.sellers],
                "leads": np.bincount(np.maximum(self.owner[self.owner >= 0], 0), minlength=len(names))[: len(names)],
                "utilisation": util,
                "deal_days": deal_days,
                "touch_min": touch,
                "left_day": self.left_day,
            }
        )
        return SimResult(p, self.days, None, leads, summary, months, sellers)

    def _intervals(self):
        """Open-deal intervals [open, close) of every deal, with its final seller."""
        conv = self.converted
        a = self.deal_at[conv]
        b = self.close_at[conv]
        k = self.owner[conv]
        init = self.initial_records
        if init:
            a = np.concatenate([a, np.zeros(len(init))])
            b = np.concatenate([b, [r["close"] for r in init]])
            k = np.concatenate([k, [r["seller"] for r in init]])
        return a, b, k

    def _time_avg_open_deals(self) -> float:
        a, b, _ = self._intervals()
        return float(np.clip(np.minimum(b, self.T) - np.maximum(a, 0.0), 0, None).sum() / self.T) if self.T else 0.0

    def _deal_days_by_seller(self) -> np.ndarray:
        a, b, k = self._intervals()
        d = np.clip(np.minimum(b, self.T) - np.maximum(a, 0.0), 0, None) / _DAY
        return np.bincount(k.astype(int), weights=d, minlength=len(self.sellers))[: len(self.sellers)] if len(k) else np.zeros(len(self.sellers))

    def _monthly(self, close, amt, terms) -> pd.DataFrame:
        """Per calendar month of the horizon: leads, deals, wins, won amount and payments received."""
        p = self.p
        start = p.start
        end = start + pd.Timedelta(days=self.days)
        months = pd.period_range(start, end - pd.Timedelta(seconds=1), freq="M")
        edges = [max((m.start_time - start) / pd.Timedelta(minutes=1), 0.0) for m in months] + [self.T]
        arr = self.t
        rows = []
        for j, m in enumerate(months):
            lo, hi = edges[j], edges[j + 1]
            sel = (close >= lo) & (close < hi)
            paid = (paid_share(p.pay_curves, terms, (hi - close) / _DAY) - paid_share(p.pay_curves, terms, (lo - close) / _DAY)) @ amt
            paid += earlier_paid(p.earlier_payments, hi / _DAY) - earlier_paid(p.earlier_payments, lo / _DAY)
            rows.append(
                {
                    "month": str(m),
                    "leads": int(((arr >= lo) & (arr < hi)).sum()),
                    "deals": int(((self.deal_at >= lo) & (self.deal_at < hi)).sum()),
                    "won": int(sel.sum()),
                    "won_amount": float(amt[sel].sum()),
                    "revenue": float(paid),
                }
            )
        return pd.DataFrame(rows)


def paid_share(curves: dict | None, groups, days) -> np.ndarray:
    """Share of each won amount received within ``days`` of its win (0 before the win).

    ``curves``: :attr:`DepartmentParams.pay_curves` (group → share by whole day, evaluated by
    :func:`salesaudit.analysis.planfact._g`, the plan-fact forecast's own reading: the whole days
    elapsed, the group ``"*"`` for a group without its own curve); None: paid in full on the day.

    >>> paid_share({"*": np.array([0.0, 0.5, 1.0]), "prepaid": np.array([1.0, 1.0, 1.0])},
    ...            ["x", "prepaid", "x", "x"], [1.7, 0.0, 5.0, -0.1]).tolist()
    [0.5, 1.0, 1.0, 0.0]
    """
    days = np.asarray(days, dtype=float)
    if curves is None:
        return (days >= 0).astype(float)
    from ..analysis.planfact import _g

    groups = np.asarray(groups, dtype=object)
    out = np.zeros(len(days))
    for g in pd.unique(groups):
        m = groups == g
        out[m] = _g(curves, g, days[m])
    return out


def earlier_paid(curve: np.ndarray | None, days: float) -> float:
    """The expected payments of the deals won before the start received within ``days`` of it."""
    if curve is None or len(curve) == 0 or days < 0:
        return 0.0
    return float(curve[min(int(math.floor(days)), len(curve) - 1)])


def simulate(params: DepartmentParams, days: float = 91, seed=0, tables: bool = True) -> SimResult:
    """Run the department for ``days`` calendar days from ``params.start``; one replication.

    The run continues after the horizon until every lead and deal present is finished (with no
    new arrivals), so response times and deal lifetimes are complete; the summary counts what
    happened inside the horizon (leads arrived, deals created, deals won and their ``won_amount``)
    and ``revenue``, the payments received inside it (:func:`paid_share`; of which
    ``revenue_earlier_wins`` from deals won before the start).
    ``tables=False`` keeps the summary alone (what a sweep reads), with the same numbers.

    >>> p = DepartmentParams.example(managers=4, leads_per_year=2000)
    >>> r = simulate(p, days=30, seed=1)
    >>> r.summary == simulate(p, days=30, seed=1).summary
    True
    >>> 0 < r.summary["won"] < r.summary["deals"] < r.summary["leads"]
    True
    >>> simulate(p, days=30, seed=1, tables=False).summary == r.summary
    True
    """
    model = _Department(params, days, seed, tables)
    res = model.run()
    res.seed = seed
    return res


# --------------------------------------------------------------------------- scenarios

#: scenario keys understood by :func:`apply_scenario`
SCENARIO_KEYS = {
    "managers": "headcount of sellers (the head of sales aside); new ones ramp up from day 0",
    "deal_limit": "concurrent deal-load limit per seller (None: no limit)",
    "at_limit": "queue, reassign or lose a lead when its seller is at the limit",
    "volume": "multiplier on the lead inflow (2 = marketing doubles the leads)",
    "routing": "round_robin, least_loaded, skill or pool",
    "sla_minutes": "response SLA in working minutes",
    "escalate": "send a lead that would miss the SLA to the seller who can answer first",
    "head_selling_share": "share of the head of sales' capacity spent on own deals",
    "attrition_per_month": "monthly chance that a seller leaves",
    "plan_revenue": "plan of payments received (revenue) over the horizon",
    "days": "simulated calendar days",
}


def apply_scenario(params: DepartmentParams, scenario: dict) -> DepartmentParams:
    """The base parameters with a scenario's changes (keys in :data:`SCENARIO_KEYS`)."""
    unknown = set(scenario) - set(SCENARIO_KEYS)
    if unknown:
        from ..errors import ParameterError

        raise ParameterError("the scenario", [
            f"unknown scenario key(s) {sorted(unknown)}. Allowed keys: {', '.join(SCENARIO_KEYS)}."
        ])
    p = params
    if "managers" in scenario and scenario["managers"] is not None:
        p = p.with_headcount(int(scenario["managers"]))
    changes = {}
    for key in ("deal_limit", "at_limit", "routing", "sla_minutes", "escalate", "plan_revenue"):
        if key in scenario:
            v = scenario[key]
            if key == "deal_limit" and v is not None and not (isinstance(v, float) and math.isnan(v)):
                v = int(v)
            elif key == "deal_limit":
                v = None
            changes[key] = v
    if "volume" in scenario and scenario["volume"] != 1:
        changes["inflow"] = p.inflow.scaled(float(scenario["volume"]))
    if "head_selling_share" in scenario and p.head is not None:
        share = float(scenario["head_selling_share"])
        changes["head"] = replace(p.head, selling_share=share)
        changes["sellers"] = [replace(s, capacity=share) if s.is_head else s for s in changes.get("sellers", p.sellers)]
    if "attrition_per_month" in scenario:
        changes["staffing"] = replace(p.staffing, attrition_per_month=float(scenario["attrition_per_month"]))
    return p.replace(**changes) if changes else p


def run_scenario(scenario: dict, seed, base: DepartmentParams | None = None) -> dict:
    """One replication of a scenario: its summary figures (for :func:`salesaudit.sim.sweep.run_sweep`).

    ``base`` defaults to :meth:`DepartmentParams.example`; pass it with :func:`functools.partial`.
    """
    base = DepartmentParams.example() if base is None else base
    sc = dict(scenario)
    days = float(sc.pop("days", 91))
    res = simulate(apply_scenario(base, sc), days=days, seed=seed, tables=False)
    return dict(res.summary)
