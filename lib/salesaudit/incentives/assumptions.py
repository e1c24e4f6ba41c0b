"""What a CRM export cannot tell about pay, as parameters: ``params/incentives/assumptions.yaml``.

The margin %, NPS and LTV, how receivables fall due, how the Monte Carlo draws, and every
parameter of the focus model (hours, the head's selling productivity, the coaching effect of
:class:`salesaudit.sim.coaching.CoachingEffect`, how the head chooses). Each is shown next to the
result that uses it. A wrong key or value raises :class:`~salesaudit.errors.ParameterError`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..data.schema import read_yaml, validate
from ..sim.coaching import CoachingEffect

__all__ = ["Coaching", "Focus", "MonteCarlo", "Receivables", "Gaming", "Assumptions", "load_assumptions"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Coaching(_Strict):
    """How coaching hours lift the team's conversion (salesaudit.sim.coaching.CoachingEffect)."""

    max_lift: float = Field(default=0.4, ge=0, le=5, description="largest relative lift of the team's revenue at unlimited coaching (0.4 = +40 %)")
    half_hours: float = Field(default=40, gt=0, description="steady coaching hours per month that give half of max_lift")
    lag: int = Field(default=1, ge=0, le=12, description="months before an hour of coaching starts to show")
    carryover: float = Field(default=0.7, ge=0, lt=1, description="share of the team's skill stock kept from one month to the next")

    def effect(self) -> CoachingEffect:
        return CoachingEffect(max_lift=self.max_lift, half_hours=self.half_hours, lag=self.lag, carryover=self.carryover)


class Focus(_Strict):
    """The focus model: the head splits working hours between own deals and managing the team."""

    months: int = Field(default=12, ge=1, le=60, description="horizon, months")
    hours_per_month: float = Field(default=168, gt=0, description="the head's working hours per month")
    fixed_hours: float = Field(default=48, ge=0, description="hours that go neither to own deals nor to coaching (operations, hiring, other services)")
    revenue_per_selling_hour: float = Field(default=10000, ge=0, description="revenue the head's own deals bring per hour of selling, money")
    initial_coaching_hours: float = Field(default=40, ge=0, description="coaching hours per month before the horizon (the team's skill stock at the start)")
    team_revenue: Optional[float] = Field(default=None, gt=0, description="the team's monthly revenue (without the head's deals) at the initial coaching level; empty: the mean of the history")
    department_plan: Optional[float] = Field(default=None, gt=0, description="the department's monthly revenue plan; empty: the mean plan of the history, or team_revenue × 1.1 without plans")
    head_plan: Optional[float] = Field(default=None, gt=0,
                                       description="the head's personal plan where a scheme has one but gives no number; empty: the hours of the initial split × revenue_per_selling_hour")
    head_discount: float = Field(default=0.9, gt=0, le=1, description="the head weights the pay of month t by head_discount^t when choosing (1: not short-sighted)")
    split_step: float = Field(default=0.05, gt=0, le=0.5, description="the shares of flexible hours on own deals tried: 0, step, 2·step, … 1")
    coaching: Coaching = Coaching()

    @model_validator(mode="after")
    def _hours(self):
        if self.fixed_hours >= self.hours_per_month:
            raise ValueError(f"`fixed_hours` ({self.fixed_hours:g}) must be below `hours_per_month` ({self.hours_per_month:g})")
        if self.initial_coaching_hours > self.hours_per_month - self.fixed_hours:
            raise ValueError("`initial_coaching_hours` cannot exceed hours_per_month − fixed_hours")
        return self

    @property
    def flexible_hours(self) -> float:
        return self.hours_per_month - self.fixed_hours


class MonteCarlo(_Strict):
    """How the Monte Carlo draws months."""

    n_sims: int = Field(default=5000, ge=100, le=200000, description="simulated years")
    months: int = Field(default=12, ge=1, le=36, description="months in one simulated year")
    nps_sd: float = Field(default=5, ge=0, description="monthly spread of NPS around the assumed value, points")
    ltv_sd_pct: float = Field(default=10, ge=0, description="monthly spread of LTV around the assumed value, %")


class Receivables(_Strict):
    """When money falls due, by payment terms (for receivables collected and overdue)."""

    prepaid_days: int = Field(default=3, ge=0, description="days after the win a prepaid deal is due")
    postpaid_days: int = Field(default=30, ge=0, description="days after the win a postpaid (or unknown-terms) deal is due")


class Gaming(_Strict):
    """How gaming is probed."""

    discount_pct: float = Field(default=10, ge=0, lt=100, description="the discount given to close a deal this month instead of next month, %")
    shift_amount: Optional[float] = Field(default=None, gt=0, description="the revenue moved across a month end; empty: the mean won deal of the history")


class Assumptions(_Strict):
    """Assumptions behind the evaluation of pay schemes."""

    margin_pct: float = Field(default=35, ge=0, le=100, description="gross margin, % of revenue (a CRM export has no cost of goods)")
    revenue: Literal["received", "won"] = Field(default="received", description="revenue = money received (payments) or the amount of deals won; won is used when there are no payments")
    warmup_months: int = Field(default=1, ge=0, le=24, description="first months of the data left out of the history (payments of deals won before the export began are missing there)")
    nps: Optional[float] = Field(default=None, ge=-100, le=100, description="the department's NPS per month (a CRM export has none)")
    ltv: Optional[float] = Field(default=None, ge=0, description="customer lifetime value, money (a CRM export has none)")
    seed: Optional[int] = Field(default=None, description="seed of every draw; empty: the run config's seed")
    receivables: Receivables = Receivables()
    monte_carlo: MonteCarlo = MonteCarlo()
    focus: Focus = Focus()
    gaming: Gaming = Gaming()
    #: where the assumptions were read from (set by the loader)
    source: Optional[Path] = Field(default=None, exclude=True)


def load_assumptions(path=None) -> Assumptions:
    """Read and validate an assumptions YAML; ``None`` gives the defaults."""
    if path is None:
        return Assumptions()
    path = Path(path)
    a = validate(Assumptions, read_yaml(path), path)
    a.source = path.resolve()
    return a
