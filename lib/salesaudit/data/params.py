"""Run parameters: the schema of the YAML files in ``params/`` and their loader.

A run config (``params/clients/*.yaml``) names the data, the CRM preset, the
audit period and language, and carries the client's rules: the funnel, the
lead-response SLA with its working calendar, the deal-load limit and the
discount policy. Any section may instead be a path to another YAML file
(relative to the config), so a funnel can be shared between clients.

Every wrong key or value raises :class:`~salesaudit.errors.ParameterError`
naming the file, the key and the allowed values.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal, Optional
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator

from ..errors import ParameterError, closest, display_path
from .model import TABLES
from .parse import currency_code
from .presets import load_preset
from .schema import (  # noqa: F401  (read_yaml, validate… are also imported from here)
    SCHEMA_TABLE_HEAD,
    _check_timezone,
    _Strict,
    available_names,
    format_validation_error,
    named_dirs,
    read_yaml,
    schema_rows,
    validate,
)

__all__ = [
    "Labels",
    "Stage",
    "Funnel",
    "Calendar",
    "LeadResponse",
    "DealLoad",
    "Discounts",
    "Analysis",
    "RunConfig",
    "load_run_config",
    "load_funnel",
    "read_yaml",
    "validate",
    "parse_period",
    "parse_moment",
    "Period",
    "PERIOD_FORMS",
    "MOMENT_FORMS",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LANGUAGES = ("ru", "en")
GRAINS = ("day", "week", "month")


class Labels(_Strict):
    """A label in both report languages."""

    ru: str = Field(description="Russian text")
    en: str = Field(description="English text")

    def __call__(self, lang: str) -> str:
        return getattr(self, lang)


class Stage(_Strict):
    """One funnel stage."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="machine key, lower case")
    label: Labels
    norm_days: Optional[float] = Field(default=None, ge=0, description="time norm in calendar days")
    may_skip: bool = Field(default=True, description="false: a deal must pass through this stage")
    terminal: Optional[Literal["won", "lost"]] = Field(default=None, description="marks a terminal stage: `won`, or `lost`. A funnel may have several lost "
                                                                                "terminals (declined by us, cancelled by the client, no answer…) and "
                                                                                "several won ones; the deal's stage says which one it ended in")


class Funnel(_Strict):
    """Ordered stages: the open stages, then the terminals (one or more won, one or more lost)."""

    stages: list[Stage] = Field(min_length=3, description="open stages in order, then the terminals: at least one `terminal: won` and at least one `terminal: lost`")
    lost_reached_without_history: Optional[str] = Field(
        default=None,
        description="when the export has no stage history: the open stage a lost deal is assumed to have reached (default: the first)",
    )

    @model_validator(mode="after")
    def _check(self):
        keys = [s.key for s in self.stages]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"stage keys must be unique; repeated: {', '.join(dup)}")
        won = [s.key for s in self.stages if s.terminal == "won"]
        lost = [s.key for s in self.stages if s.terminal == "lost"]
        if not won or not lost:
            raise ValueError("at least one stage needs `terminal: won` and at least one `terminal: lost`")
        if self.lost_reached_without_history is not None and self.lost_reached_without_history not in [s.key for s in self.stages if s.terminal is None]:
            raise ValueError(f"lost_reached_without_history must be an open stage: {', '.join(s.key for s in self.stages if s.terminal is None)}")
        first_terminal = min(i for i, s in enumerate(self.stages) if s.terminal)
        if any(s.terminal is None for s in self.stages[first_terminal:]):
            raise ValueError("the terminal stages (won and lost) must come after every open stage")
        return self

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.stages]

    @property
    def open_stages(self) -> list[str]:
        return [s.key for s in self.stages if s.terminal is None]

    @property
    def won(self) -> str:
        """The first won terminal: where a deal the export only calls won is put (:attr:`won_stages`: all of them)."""
        return self.won_stages[0]

    @property
    def lost(self) -> str:
        """The first lost terminal: where a deal the export only calls lost is put (:attr:`lost_stages`: all of them)."""
        return self.lost_stages[0]

    @property
    def won_stages(self) -> list[str]:
        """Every won terminal, in funnel order."""
        return [s.key for s in self.stages if s.terminal == "won"]

    @property
    def lost_stages(self) -> list[str]:
        """Every lost terminal, in funnel order (declined, cancelled, no answer…: how a deal was lost)."""
        return [s.key for s in self.stages if s.terminal == "lost"]

    @property
    def terminals(self) -> list[str]:
        """Every terminal stage, won and lost, in funnel order."""
        return [s.key for s in self.stages if s.terminal is not None]

    def outcome_of(self, key: str) -> str:
        """``won``, ``lost`` or ``open``: the outcome a deal standing in stage ``key`` has."""
        return self.stage(key).terminal or "open"

    @property
    def mandatory(self) -> list[str]:
        """Stages that may not be skipped."""
        return [s.key for s in self.stages if not s.may_skip]

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(key)

    def label(self, key: str, lang: str) -> str:
        return self.stage(key).label(lang)

    def norms(self) -> dict[str, float | None]:
        return {s.key: s.norm_days for s in self.stages if s.terminal is None}

    def order(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.keys)}


class Calendar(_Strict):
    """The working calendar: used for lead response, business days and the simulation."""

    timezone: Optional[str] = Field(default=None, description="IANA timezone; empty: the run config's top-level `timezone` (set it there)")
    workdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(default=["mon", "tue", "wed", "thu", "fri"], description="working weekdays")
    start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="opening time, HH:MM")
    end: str = Field(default="18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="closing time, HH:MM")
    production: Optional[Literal["ru", "none"]] = Field(
        default=None,
        description="production calendar whose holidays and transferred working days apply (`ru`: Russia, from the maintained `holidays` package), "
                    "`none` for only the dates below; empty: the preset's",
    )
    holidays: list[dt.date] = Field(default=[], description="non-working dates of this client, added to the production calendar's")
    workdays_extra: list[dt.date] = Field(default=[], description="working dates on a day off (a working Saturday), added to the production calendar's")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v):
        return _check_timezone(v)

    @model_validator(mode="after")
    def _order(self):
        if self.end <= self.start:
            raise ValueError(f"`end` ({self.end}) must be after `start` ({self.start})")
        if not self.workdays:
            raise ValueError("`workdays` needs at least one day")
        return self

    def build(self):
        """A :class:`salesaudit.data.calendar.WorkCalendar` for these settings.

        With ``production: ru`` the Russian production calendar's holidays and transferred
        working days are merged with this client's own dates, and the calendar knows which years
        it covers (a date outside them is a load warning).
        """
        from .calendar import WorkCalendar

        common = dict(
            timezone=self.timezone or "UTC",
            workdays=tuple(WEEKDAYS.index(d) for d in self.workdays),
            start=self.start,
            end=self.end,
            holidays=tuple(self.holidays),
            workdays_extra=tuple(self.workdays_extra),
        )
        if self.production == "ru":
            from .calendar import covered_years

            return WorkCalendar.for_country("RU", covered_years("RU"), **common)
        return WorkCalendar(**common)


class LeadResponse(_Strict):
    """How fast a new lead must be answered, in working time."""

    sla_minutes: float = Field(default=30, gt=0, description="first response due within this many working minutes")
    same_day: bool = Field(default=True, description="every lead must be processed by the end of its working day")
    calendar: Calendar = Calendar()


class DealLoad(_Strict):
    """The number of open deals one seller may hold."""

    limit: int = Field(default=30, gt=0, description="open deals one seller may hold")
    per_manager: dict[str, int] = Field(default={}, description="manager key -> a personal limit")

    def limit_for(self, manager: str) -> int:
        return self.per_manager.get(manager, self.limit)


class Discounts(_Strict):
    """The discount and instalment policy."""

    max_discount_pct: float = Field(default=10, ge=0, le=100, description="largest discount without approval, %")
    allowed_payment_terms: list[str] = Field(default=["prepaid", "postpaid", "instalment_3m", "instalment_6m"], description="payment terms the policy allows")
    instalment_min_amount: Optional[float] = Field(default=None, ge=0, description="instalments only for deals at least this large")


class Rule(_Strict):
    """Thresholds of one scorecard checkpoint: green at or beyond ``green``, amber up to ``amber``, else red."""

    green: float
    amber: float
    higher_is_better: bool = True

    @model_validator(mode="after")
    def _order(self):
        if (self.higher_is_better and self.amber > self.green) or (not self.higher_is_better and self.amber < self.green):
            raise ValueError("`amber` must lie on the worse side of `green`")
        return self


class Scorecard(_Strict):
    """Rules of the head-of-sales scorecard (notebook 07); fractions, e.g. 0.9 = 90%."""

    new_head_months: float = Field(default=3, gt=0, description="a head of sales in the job for less than this many months is judged as new")
    plan_attainment: Rule = Field(default=Rule(green=1.0, amber=0.9), description="team revenue received / plan, last month")
    plan_trend: Rule = Field(default=Rule(green=0.0, amber=-0.05), description="change of attainment per month over the last three months")
    cumulative_lag: Rule = Field(default=Rule(green=0.0, amber=-0.05), description="cumulative revenue lag behind the prorated plan in the period")
    same_day_processing: Rule = Field(default=Rule(green=0.98, amber=0.9), description="share of leads processed by the end of their working day")
    mom_growth: Rule = Field(default=Rule(green=0.0, amber=-0.1), description="revenue received against the previous month (experienced head only)")
    analytics_per_manager: Rule = Field(default=Rule(green=0.99, amber=0.9), description="share of deals with a manager, given per-manager plans exist")
    lagging_managers: Rule = Field(default=Rule(green=0, amber=2, higher_is_better=False), description="managers behind the team on any check")


# ---------------------------------------------------------------------------
# thresholds and tuning of the analyses (notebooks 01-08)


def _each(values, test, what: str):
    """Validate every element of a list setting; ``what`` says what each must be."""
    bad = [v for v in values if v is not None and not test(v)]
    if bad:
        raise ValueError(f"every value must be {what}; check {', '.join(map(str, bad))}")
    return values


class FunnelSettings(_Strict):
    """Funnel conversion and managers against the team (notebook 01; also the scorecard's lagging managers)."""

    min_n: int = Field(default=20, ge=1, description="finished deals a manager needs at a step (decided leads at lead → deal) to be judged; fewer: not judged, "
                                                     "as an exact test on a handful of deals flags noise")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="family-wise error rate of the manager-vs-team tests (Holm over every manager × step)")
    min_effect: float = Field(default=0.05, gt=0, lt=1, description="smallest difference from the team that is flagged, as a fraction: 0.05 = 5 percentage "
                                                                     "points at a step. Below it a significant difference is reported as small, not flagged: "
                                                                     "a head of sales cannot act on a 1-point gap, and thousands of deals make it significant")
    cohort_horizons: list[int] = Field(default=[30, 60, 90], min_length=1, description="days after creation at which the cohort table reads the share won "
                                                                                       "(Aalen–Johansen): one, two and three months of a B2B cycle")
    cohort_days: float = Field(default=180, gt=0, description="days since creation the cohort curves show: two quarters, where most deals have closed")

    @field_validator("cohort_horizons")
    @classmethod
    def _horizons(cls, v):
        return _each(v, lambda x: x > 0, "a number of days greater than 0")


class StallsSettings(_Strict):
    """Time in stage, stalls and process compliance (notebook 02; also the scorecard's lagging managers)."""

    alpha: float = Field(default=0.05, gt=0, lt=1, description="family-wise error rate of the manager-vs-team log-rank and compliance tests (Holm); "
                                                               "1 - alpha is the level of the survival intervals")
    stall_share: float = Field(default=0.5, ge=0, lt=1, description="a stage stalls when the lower confidence bound of its share of stays over the norm "
                                                                   "exceeds this: 0.5 = most stays, beyond sampling doubt")
    min_stays: int = Field(default=15, ge=1, description="stays a manager needs in a stage to be judged against the rest of the team (log-rank)")
    min_ended: int = Field(default=5, ge=1, description="of them, stays that have ended: a log-rank test on fewer endings has next to no power")
    tolerance: float = Field(default=0.02, ge=0, lt=1, description="share of deals skipping a mandatory stage tolerated as CRM mis-clicks; a manager is "
                                                                  "flagged only when significantly above it")
    backward_tolerance: float = Field(default=0.05, ge=0, lt=1, description="share of deals moved back a stage tolerated (corrections happen); "
                                                                           "flagged only when significantly above it")
    min_deals: int = Field(default=10, ge=1, description="deals a manager needs to be judged on skips and backward moves")
    min_ratio: float = Field(default=1.25, gt=1, description="smallest ratio of a manager's median time in a stage to the rest of the team's that is flagged "
                                                             "(or its inverse, for faster): a quarter longer is what a head of sales notices in a pipeline review")
    min_difference_hours: float = Field(default=1.0, ge=0, description="and the smallest difference of the medians, in working hours: a stage that takes "
                                                                       "minutes is never flagged for seconds, however many deals pass it")
    min_effect: float = Field(default=0.05, gt=0, lt=1, description="smallest excess over the tolerance of a manager's share of skips or backward moves "
                                                                     "that is flagged: 5 percentage points")


class LeadsSettings(_Strict):
    """Lead processing: managers against the team on the SLA, same-day processing and disqualification (notebook 03; the scorecard)."""

    min_n: int = Field(default=20, ge=1, description="decided leads a manager needs to be judged; fewer: not judged, as with the funnel")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="family-wise error rate of the manager-vs-team tests (Holm over the managers)")
    min_effect: float = Field(default=0.05, gt=0, lt=1, description="smallest difference from the team in a share (answered within the SLA, left overnight, "
                                                                     "disqualified) that is flagged: 5 percentage points")
    min_ratio: float = Field(default=1.25, gt=1, description="smallest ratio of a manager's median response time to the rest of the team's that is flagged")
    min_difference_minutes: float = Field(default=15.0, ge=0, description="and the smallest difference of the median responses, in working minutes: "
                                                                          "the shortest SLA a seed article names")


class PlanFactSettings(_Strict):
    """Plan vs fact: the reverse funnel, the month-end forecast and its backtest (notebook 04)."""

    backtest_day: int = Field(default=15, ge=1, le=31, description="the backtest forecasts the period as it stood on this day of it: mid-month, "
                                                                   "when a forecast is still useful")
    backtest_periods: int = Field(default=6, ge=1, le=36, description="periods backtested the same way, the audited one and those before it: "
                                                                      "how often the realised revenue fell inside the band shows whether the band can be trusted")
    reverse_months: int = Field(default=6, ge=1, description="months before the period whose rates (average deal, conversions, calls per deal) "
                                                             "the reverse funnel uses: recent, yet enough deals")
    reverse_draws: int = Field(default=4000, ge=100, description="bootstrap draws behind the reverse funnel's intervals: stable 2.5 % and 97.5 % percentiles")
    reverse_alpha: float = Field(default=0.05, gt=0, lt=1, description="1 - the coverage of the reverse funnel's intervals (0.05: 95 %)")
    forecast_sims: int = Field(default=10000, ge=100, description="simulated period ends behind the forecast's P10-P90 and the chance to meet the plan")
    forecast_grid: int = Field(default=20, ge=1, description="steps over the rest of the period at which a deal's win is timed against the payment lag")
    forecast_min_entries: int = Field(default=30, ge=1, description="stage entries a manager needs for his own win curve in a stage; fewer: the team's")
    forecast_recent_days: Optional[int] = Field(default=180, gt=0, description="only stage entries of the last this many days feed the win curves "
                                                                             "(the current process, not last year's); empty: all history")


class HygieneSettings(_Strict):
    """CRM hygiene: the discount and payment policy check and the call sample (notebook 04)."""

    policy_tolerance: float = Field(default=0.05, ge=0, lt=1, description="share of a manager's deals outside the discount and payment policy tolerated "
                                                                         "as approved exceptions; a breaker is significantly above it")
    policy_min_deals: int = Field(default=10, ge=1, description="deals with terms a manager needs to be judged on the policy")
    policy_alpha: float = Field(default=0.05, gt=0, lt=1, description="family-wise error rate of the policy tests (one-sided exact binomial, Holm over managers)")
    policy_min_effect: float = Field(default=0.05, gt=0, lt=1, description="smallest excess of a manager's share of deals outside the policy over the "
                                                                            "tolerance that is flagged: 5 percentage points")
    calls_per_stratum: int = Field(default=1, ge=1, description="calls drawn per manager × length × outcome for the head of sales to listen to: "
                                                               "one keeps the list short")


class MeetingSettings(_Strict):
    """The head of sales' daily, weekly or monthly meeting (notebook 08)."""

    top_n: int = Field(default=3, ge=1, description="managers named per metric to repeat (furthest above plan) and to avoid (furthest below)")


class CapacitySettings(_Strict):
    """The capacity simulation's horizon, replications and scenario axes (notebook 06)."""

    horizon_days: int = Field(default=91, gt=0, description="days simulated after the audit moment, and the backtest's length: a quarter")
    replications: int = Field(default=30, ge=2, description="replications per scenario: enough for 95 % intervals that tell scenarios apart "
                                                            "in minutes on a laptop")
    plan_revenue: Optional[float] = Field(default=None, gt=0, description="revenue plan for the horizon; empty: from the CRM's plans")
    target: float = Field(default=0.8, gt=0, le=1, description="chance of meeting the plan the smallest headcount must reach: 80 %, "
                                                              "a plan met four quarters in five")
    headcount_below: int = Field(default=2, ge=0, description="headcounts tried below the current one")
    headcount_above: int = Field(default=3, ge=0, description="headcounts tried above the current one")
    deal_limits: list[Optional[int]] = Field(default=[5, 8, 12, 20, 30, None], min_length=1, description="deal-load limits tried "
                                                                                                         "(empty: no limit)")
    volumes: list[float] = Field(default=[1.0, 1.5, 2.0], min_length=1, description="lead volumes tried, × today's")
    routings: list[Literal["round_robin", "least_loaded", "skill", "pool"]] = Field(default=["round_robin", "least_loaded", "pool"], min_length=1,
                                                                                     description="routing rules tried at each volume")
    sla_minutes: list[int] = Field(default=[15, 30, 60], min_length=1, description="response SLAs tried, working minutes, each without and with escalation")
    head_shares: list[float] = Field(default=[0.0, 0.3, 0.6, 0.9], min_length=1, description="shares of the head of sales' time on own deals tried")
    head_months: int = Field(default=12, gt=0, description="months simulated for the head of sales' own selling: a year, as coaching pays off slowly")

    @field_validator("deal_limits")
    @classmethod
    def _limits(cls, v):
        return _each(v, lambda x: x > 0, "a whole number greater than 0 or empty (no limit)")

    @field_validator("volumes", "sla_minutes")
    @classmethod
    def _positive(cls, v):
        return _each(v, lambda x: x > 0, "greater than 0")

    @field_validator("head_shares")
    @classmethod
    def _shares(cls, v):
        return _each(v, lambda x: 0 <= x <= 1, "a share from 0 to 1")


class IncentivesSettings(_Strict):
    """Pay schemes for the head of sales compared in the report (notebook 05); the Monte Carlo's size is in the assumptions file."""

    schemes: list[str] = Field(default=["personal_plus_department", "department_revenue", "growth_yoy", "focus_product", "kpi_basket"], min_length=1,
                               description="scheme keys in params/incentives/ compared in the report")
    widget_schemes: list[str] = Field(default=["personal_plus_department", "department_revenue", "kpi_basket"], max_length=3,
                                      description="the schemes shown first in the owner's controls (at most 3, so that charts stay readable)")
    min_months: int = Field(default=3, ge=1, description="months with revenue the history, the Monte Carlo and gaming need: fewer says nothing about spread")
    widget_sims: int = Field(default=2000, ge=100, description="simulated years behind the controls' cost distribution: fewer than the report's, "
                                                               "so that a slider answers at once")


class FindingsSettings(_Strict):
    """The audit's findings ranked by money at stake (the summary page, notebook 07)."""

    months: int = Field(default=3, ge=1, le=24, description="months before the audit moment whose pace a finding's money per month is measured at: "
                                                            "recent enough to be today's, long enough to hold a manager's few deals")


class Analysis(_Strict):
    """Thresholds and tuning of the analyses; a notebook parameter of the same name overrides one for a run."""

    funnel: FunnelSettings = FunnelSettings()
    stalls: StallsSettings = StallsSettings()
    leads: LeadsSettings = LeadsSettings()
    planfact: PlanFactSettings = PlanFactSettings()
    hygiene: HygieneSettings = HygieneSettings()
    meeting: MeetingSettings = MeetingSettings()
    capacity: CapacitySettings = CapacitySettings()
    incentives: IncentivesSettings = IncentivesSettings()
    findings: FindingsSettings = FindingsSettings()

    def settings(self, area: str, **overrides):
        """The settings of ``area`` with the notebook's non-None ``overrides`` applied and validated.

        ``None`` keeps the run config's value, so a notebook's parameters cell holds ``None``
        and papermill may set any of them for one run. A bad override is a
        :class:`~salesaudit.errors.ParameterError` naming ``analysis.<area>.<key>``.

        >>> a = Analysis()
        >>> a.settings("stalls", alpha=None).alpha, a.settings("stalls", alpha=0.1).alpha
        (0.05, 0.1)
        """
        areas = list(type(self).model_fields)
        if area not in areas:
            raise ParameterError("analysis", [f"no area {area!r}.{closest(area, areas)} Areas: {', '.join(areas)}."])
        current = getattr(self, area)
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return current.model_copy(deep=True)
        data = {**current.model_dump(), **given}
        where = "notebook parameters (they override the run config's `analysis:`)"
        return getattr(validate(_AnalysisOnly, {"analysis": {area: data}}, where).analysis, area)


class _AnalysisOnly(_Strict):
    """Validates a notebook's overrides so that errors name ``analysis.<area>.<key>``."""

    analysis: Analysis


class RunConfig(_Strict):
    """A client's run config: what to load, how to read it, and the client's rules."""

    client: str = Field(default="client", description="client name shown in the reports")
    data: Path = Field(description="folder with the export files, relative to this config file")
    preset: str = Field(description="a preset name in params/crm/ (e.g. bitrix24) or a path to a preset YAML")
    files: dict[str, str] = Field(default={}, description="per table: a file name or glob overriding the preset's")
    stage_map: dict[str, str] = Field(default={}, description="extra CRM stage name -> funnel key mappings")
    funnel: Funnel = Field(description="the funnel: inline, a file path, or a name in params/funnels/ (`bitrix24_default`); omitted: the preset's default funnel")
    timezone: Optional[str] = Field(default=None, description="IANA timezone of every timestamp (timestamps with a UTC offset are converted to it; the working calendar "
                                                           "inherits it); empty: the preset's (Europe/Moscow for bitrix24 and amocrm, UTC for generic)")
    pipeline: Optional[str] = Field(default=None, description="audit one pipeline (Bitrix24 CATEGORY_ID such as 3, or the pipeline's name); "
                                                           "deals of other pipelines are quarantined as `other_pipeline`")
    currency: Optional[str] = Field(default=None, description="ISO code of the report's currency (names such as руб. or $ are understood); empty: the currency most "
                                                           "deals are in, else RUB. Amounts in other currencies need `exchange_rates`")
    exchange_rates: dict[str, float] = Field(default={}, description="ISO code -> units of `currency` per unit, e.g. USD: 92.5; deals in a currency without a rate are quarantined as `other_currency`")
    lead_response: LeadResponse = LeadResponse()
    deal_load: DealLoad = DealLoad()
    discounts: Discounts = Discounts()
    scorecard: Scorecard = Scorecard()
    analysis: Analysis = Analysis()
    system_owners: list[str] = Field(default=[], description="manager ids or names of CRM robots, bots and integration users: their deals are reported "
                                                             "in a row of their own, outside the team baseline and the manager-vs-team tests")
    stay_owner: Literal["deal_owner", "moved_by"] = Field(default="deal_owner", description="who a stay in a stage is charged to in the per-manager "
                                                                                          "times: the deal's owner, or whoever moved the deal into the stage "
                                                                                          "(stage history's moved_by; the owner where it is empty)")
    head_of_sales: Optional[str] = Field(default=None, description="manager id or name of the head of sales, when the managers table does not say "
                                                                   "(role head_of_sales): their own deals stay out of the team baseline")
    required_deal_fields: list[str] = Field(default=["manager", "amount", "product", "channel"], description="deal fields a card must have filled (empty cards are counted)")
    as_of: Optional[dt.datetime] = Field(default=None, description="the audit moment; later dates are quarantined as future. Forms: 2026-10-31 23:59, "
                                                                 "2026-10-31T23:59:00+03:00 (converted to `timezone`), 31.10.2026 23:59, 31.10.2026 (end of that day), "
                                                                 "2026-10 or 10.2026 (end of that month)")
    period: Optional[str] = Field(default=None, description="2026-10 or 10.2026 (month), 2026-W41 (ISO week), 2026-10-14 or 14.10.2026 (day)")
    grain: Literal["day", "week", "month"] = Field(default="month", description="reporting grain of the period")
    language: Literal["ru", "en"] = Field(default="ru", description="report language")
    seed: int = Field(default=20261031, description="seed of every random draw (samples, simulations)")
    executor: Optional[str] = Field(default=None, description="where the simulation sweeps run: empty for a local process pool of the machine's cores, "
                                                               "`serial` for one process, or a Dask scheduler address such as tcp://10.0.0.5:8786 "
                                                               "(needs the `cluster` extra); the numbers are the same on every executor")
    notebooks: Optional[list[str]] = Field(default=None, description="notebook file names to run; all by default")
    #: where the config was read from (set by the loader, not by the user)
    source: Optional[Path] = Field(default=None, exclude=True)
    #: keys the loader filled in because the config left them empty (the currency most deals are in,
    #: the audit moment of a run's load): the dataset cache keys on what the user wrote
    _filled: set = PrivateAttr(default_factory=set)

    @field_validator("required_deal_fields")
    @classmethod
    def _deal_fields(cls, v):
        names = TABLES["deals"].names
        bad = [f for f in v if f not in names]
        if bad:
            raise ValueError(f"not a deals column: {', '.join(bad)}; allowed: {', '.join(names)}")
        return v

    @field_validator("files")
    @classmethod
    def _files(cls, v):
        bad = [k for k in v if k not in TABLES]
        if bad:
            raise ValueError(f"unknown table {', '.join(bad)}; allowed: {', '.join(TABLES)}")
        return v

    @field_validator("period", mode="before")
    @classmethod
    def _period_text(cls, v):
        # YAML reads an unquoted 2026-10-14 as a date; the label is kept in its canonical form
        if v is None:
            return v
        if isinstance(v, dt.date):
            v = v.isoformat()
        return parse_period(_yaml_text(v)).label

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, v):
        return None if v is None else parse_moment(v)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v):
        return _check_timezone(v)

    @field_validator("pipeline", mode="before")
    @classmethod
    def _pipeline(cls, v):
        return None if v is None else str(v).strip()

    @field_validator("currency")
    @classmethod
    def _currency(cls, v):
        if v is None:
            return v
        code = currency_code(v)
        if code is None:
            raise ValueError(f"{v!r} is not a currency; use an ISO code such as RUB, USD, EUR, KZT")
        return code

    @field_validator("exchange_rates", mode="before")
    @classmethod
    def _rates(cls, v):
        if not isinstance(v, dict):
            return v
        out = {}
        for k, rate in v.items():
            code = currency_code(str(k))
            if code is None:
                raise ValueError(f"{k!r} is not a currency; use ISO codes as keys, e.g. USD: 92.5")
            out[code] = rate
        return out

    @field_validator("exchange_rates")
    @classmethod
    def _rates_positive(cls, v):
        bad = [k for k, r in v.items() if not r > 0]
        if bad:
            raise ValueError(f"rates must be positive numbers; check {', '.join(bad)}")
        return v

    @field_validator("notebooks", mode="before")
    @classmethod
    def _notebooks(cls, v):
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            v = [part.strip() for item in v for part in str(item).replace(",", " ").split() if part.strip()]
        return v

    @model_validator(mode="after")
    def _stage_map_targets(self):
        bad = sorted({t for t in self.stage_map.values() if t not in self.funnel.keys})
        if bad:
            raise ValueError(f"stage_map points to {', '.join(bad)}, not a funnel stage; allowed: {', '.join(self.funnel.keys)}")
        return self

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    @property
    def data_dir(self) -> Path:
        return (self.base_dir / self.data).resolve() if not self.data.is_absolute() else self.data

    @property
    def calendar(self):
        return self.lead_response.calendar.build()

    def audit_moment(self) -> dt.datetime:
        """``as_of``, or now (local, naive) when the config does not fix it."""
        return self.as_of if self.as_of is not None else dt.datetime.now().replace(microsecond=0)


# ---------------------------------------------------------------------------
# periods


class Period(BaseModel):
    """A reporting period: ``start`` inclusive, ``end`` exclusive."""

    label: str
    grain: Literal["day", "week", "month"]
    start: dt.datetime
    end: dt.datetime


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_MONTH_RU = re.compile(r"^(\d{1,2})[./](\d{4})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_RU = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")

PERIOD_FORMS = "2026-10 or 10.2026 (month), 2026-W41 (ISO week), 2026-10-14 or 14.10.2026 (day)"
MOMENT_FORMS = (
    "2026-10-31 23:59, 2026-10-31T23:59:00+03:00, 31.10.2026 23:59, 31.10.2026 (the end of that day), "
    "2026-10 or 10.2026 (the end of that month)"
)
_MOMENT_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_MOMENT_RU = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def _yaml_text(value) -> str:
    """A config value as the user wrote it: YAML reads an unquoted ``10.2026`` as the number 10.2026."""
    return f"{value:.4f}" if isinstance(value, float) else str(value).strip()


def parse_moment(value) -> dt.datetime:
    """A moment as people write it in a config; a date alone is the end of that day, a month its end.

    An offset (``+03:00``, ``Z``) is kept: the run config converts it to its timezone.

    >>> parse_moment("31.10.2026 23:59")
    datetime.datetime(2026, 10, 31, 23, 59)
    >>> parse_moment("10.2026")
    datetime.datetime(2026, 10, 31, 23, 59, 59)
    >>> parse_moment("2026-10-31T20:59:00Z").isoformat()
    '2026-10-31T20:59:00+00:00'
    """
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(23, 59, 59))
    text = _yaml_text(value)
    try:
        if m := _MOMENT_ISO.match(text):
            y, mo, d, hh, mm, ss, off = m.groups()
            if hh is None:
                out = dt.datetime(int(y), int(mo), int(d), 23, 59, 59)
            else:
                out = dt.datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss or 0))
            if off:
                if off.upper() == "Z":
                    tz = dt.timezone.utc
                else:
                    sign = 1 if off[0] == "+" else -1
                    digits = off[1:].replace(":", "")
                    tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
                out = out.replace(tzinfo=tz)
            return out
        if m := _MOMENT_RU.match(text):
            d, mo, y, hh, mm, ss = m.groups()
            if hh is None:
                return dt.datetime(int(y), int(mo), int(d), 23, 59, 59)
            return dt.datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss or 0))
        if _MONTH.match(text) or _MONTH_RU.match(text):
            p = parse_period(text)
            return p.end - dt.timedelta(seconds=1)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a moment; accepted forms: {MOMENT_FORMS}")


def parse_period(text: str, grain: str | None = None) -> Period:
    """Parse ``2026-10``, ``2026-W41`` or ``2026-10-14``; ``grain`` widens a day to its week or month.

    >>> p = parse_period("2026-W41"); (p.start.date().isoformat(), p.end.date().isoformat())
    ('2026-10-05', '2026-10-12')
    >>> parse_period("2026-10-14", grain="month").label
    '2026-10'
    >>> parse_period("10.2026").label, parse_period("14.10.2026").label
    ('2026-10', '2026-10-14')
    """
    text = str(text).strip()
    try:
        if m := _MONTH.match(text):
            start = dt.datetime(int(m[1]), int(m[2]), 1)
            found = "month"
        elif m := _MONTH_RU.match(text):
            start = dt.datetime(int(m[2]), int(m[1]), 1)
            found = "month"
        elif m := _WEEK.match(text):
            start = dt.datetime.combine(dt.date.fromisocalendar(int(m[1]), int(m[2]), 1), dt.time())
            found = "week"
        elif m := _DAY.match(text):
            start = dt.datetime(int(m[1]), int(m[2]), int(m[3]))
            found = "day"
        elif m := _DAY_RU.match(text):
            start = dt.datetime(int(m[3]), int(m[2]), int(m[1]))
            found = "day"
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"period {text!r} is not a period; accepted forms: {PERIOD_FORMS}") from None
    grain = grain or found
    if grain not in GRAINS:
        raise ValueError(f"grain {grain!r}; allowed: {', '.join(GRAINS)}")
    if grain == "month":
        start = start.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        label = start.strftime("%Y-%m")
    elif grain == "week":
        start = start - dt.timedelta(days=start.weekday())
        end = start + dt.timedelta(days=7)
        iso = start.isocalendar()
        label = f"{iso.year}-W{iso.week:02d}"
    else:
        end = start + dt.timedelta(days=1)
        label = start.strftime("%Y-%m-%d")
    return Period(label=label, grain=grain, start=start, end=end)


# ---------------------------------------------------------------------------
# loading and error messages


_INCLUDABLE = ("funnel", "lead_response", "deal_load", "discounts", "scorecard", "analysis")


def load_funnel(path) -> Funnel:
    """Load a funnel YAML file (``params/funnels/*.yaml``)."""
    return validate(Funnel, read_yaml(path), path)


def load_run_config(path, **overrides) -> RunConfig:
    """Load and validate a run config. ``overrides`` replace top-level keys (``period=…``, ``language=…``).

    Sections named in ``_INCLUDABLE`` may be a path to a YAML file holding that section.
    """
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ParameterError(display_path(path), ["must be a YAML mapping of keys to values."])
    data = dict(raw)
    for key, value in overrides.items():
        if value is not None:
            data[key] = value
    preset = _preset_for(data, path)
    if data.get("funnel") is None and preset is not None and preset.funnel:
        data["funnel"] = str((preset.source.parent / preset.funnel).resolve())
    elif data.get("funnel") is None:
        name = preset.name if preset is not None else data.get("preset")
        raise ParameterError(display_path(path), [f"the key `funnel` is missing and the preset {name!r} has no default funnel. Name one: `funnel: <name>` from "
                                                  f"{', '.join(available_funnels(path.parent)) or 'params/funnels/'}, or a path to a funnel YAML."])
    if isinstance(data.get("funnel"), str):
        data["funnel"] = str(_funnel_path(data["funnel"], path))
    for section in _INCLUDABLE:
        if isinstance(data.get(section), str):
            inc = (path.parent / data[section]).resolve()
            sub = read_yaml(inc)
            model = RunConfig.model_fields[section].annotation
            validate(model, sub, inc)  # errors name the included file
            data[section] = sub
    cfg = validate(RunConfig, data, path)
    cfg.source = path.resolve()
    _resolve_time(cfg, preset, path)
    return cfg


def _preset_for(data: dict, path: Path):
    """The run config's preset (for its defaults), or None when the config names none (validation says so)."""
    if not isinstance(data.get("preset"), str):
        return None
    return load_preset(data["preset"], path.parent, path)


def funnel_dirs(base_dir: Path | None = None) -> list[Path]:
    """Where funnel names are looked up: ``<config dir>/../funnels`` then the repository's ``params/funnels``."""
    return named_dirs("funnels", base_dir)


def available_funnels(base_dir: Path | None = None) -> list[str]:
    return available_names("funnels", base_dir)


def _funnel_path(text: str, config: Path) -> Path:
    """A funnel given as a name (``bitrix24_default``) or as a path relative to the config."""
    if text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
        return (config.parent / text).resolve()
    for d in funnel_dirs(config.parent):
        if (d / f"{text}.yaml").exists():
            return d / f"{text}.yaml"
    names = available_funnels(config.parent)
    raise ParameterError(display_path(config), [f"`funnel` is {text!r}, which is not a known funnel;{closest(text, names)} allowed names: {', '.join(names)} (or a path to a funnel YAML)."])


def _resolve_time(cfg: RunConfig, preset, path: Path) -> None:
    """One timezone for the whole run: the top-level key, else the calendar's (older configs), else the preset's.

    The calendar inherits it, the production calendar defaults to the preset's, and an ``as_of``
    written with a UTC offset becomes a naive local time in that timezone.
    """
    cal = cfg.lead_response.calendar
    if cfg.timezone and cal.timezone and cal.timezone != cfg.timezone:
        raise ParameterError(display_path(path), [f"two timezones: `timezone` is {cfg.timezone} but `lead_response.calendar.timezone` is {cal.timezone}. "
                                                  "A run has one timezone: keep the top-level `timezone` and remove the calendar's."])
    tz = cfg.timezone or cal.timezone or (preset.timezone if preset is not None else "UTC")
    cfg.timezone = tz
    cal.timezone = tz
    if cal.production is None:
        cal.production = (preset.production_calendar if preset is not None else None) or "none"
    if cfg.as_of is not None and cfg.as_of.tzinfo is not None:
        cfg.as_of = cfg.as_of.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def markdown_reference() -> str:
    """The parameter reference as Markdown (``docs/parameters.md`` is generated from it)."""
    lines = [
        "# Run parameters",
        "",
        "A run config (`params/clients/*.yaml`) is validated against this schema (`salesaudit.data.params`).",
        "A wrong key or value stops the run naming the file, the key and the allowed values.",
        "The sections `funnel`, `lead_response`, `deal_load`, `discounts`, `scorecard` and `analysis` may be written",
        "inline or as a path to a YAML file holding that section (relative to the config).",
        "`analysis` holds the thresholds and tuning of the analyses; a notebook's parameter of the same name",
        "(papermill, `None` by default) overrides one of them for a run, validated by the same rules.",
        "This file is generated by `python -m salesaudit.data.params > docs/parameters.md`; a test keeps it in sync.",
        "",
        *SCHEMA_TABLE_HEAD,
        *schema_rows(RunConfig),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown_reference(), end="")
