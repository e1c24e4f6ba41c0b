"""Incentive schemes for the head of sales (notebook 05): how to pay the head so that they manage.

The owner's question from the seeds (``../shared/seeds/003_*``), in numbers:

* :mod:`~salesaudit.incentives.schemes` — a scheme is data (``params/incentives/*.yaml``):
  composable components (base, % of personal + department plan, % of revenue or margin, % of
  growth, per focus unit, a KPI basket), the rule for the head's own deals and a cap;
  :func:`payout` pays a scheme for any number of months;
* :mod:`~salesaudit.incentives.assumptions` — what a CRM export cannot tell (margin, NPS, LTV,
  the focus model's parameters), ``params/incentives/assumptions.yaml``;
* :mod:`~salesaudit.incentives.history` — each scheme's pay for each past month, cost as % of
  revenue and margin, volatility;
* :mod:`~salesaudit.incentives.montecarlo` — cost distributions (P50, P90, the reserve) from
  months drawn from the history or from the capacity simulation, and payout curves;
* :mod:`~salesaudit.incentives.focus` — the head's split between own deals and coaching that
  maximises their pay, and what it does to the department over a year;
* :mod:`~salesaudit.incentives.gaming` — what each scheme pays for moving closes across a
  month end or for discounting to close;
* :mod:`~salesaudit.incentives.result` — :func:`analyse`: all of the above for notebook 05 in one
  :class:`IncentivesResult` (the page: :mod:`salesaudit.report.incentives`);
* :mod:`~salesaudit.incentives.widgets` — the owner's interactive controls (``make app`` serves
  them with Voilà); the charts, tables and texts of the page are in :mod:`salesaudit.report.incentives`.

``python -m salesaudit.incentives`` prints the schema reference (``docs/incentives.md``).
"""
from __future__ import annotations

from .assumptions import Assumptions, load_assumptions
from .focus import FocusResult, focus, focus_context, seeds_claim
from .gaming import gaming
from .history import history, history_summary, monthly_inputs
from .montecarlo import MonteCarloResult, monte_carlo, payout_curves, simulate_inputs
from .result import IncentivesResult, analyse
from .schemes import (
    COMPONENTS,
    INPUT_COLUMNS,
    KPIS,
    Scheme,
    complete_inputs,
    get_value,
    load_scheme,
    load_schemes,
    markdown_reference,
    payout,
    scheme_from_dict,
    set_value,
    tunables,
)
from .summary import summary

__all__ = [
    "Assumptions",
    "load_assumptions",
    "Scheme",
    "COMPONENTS",
    "KPIS",
    "INPUT_COLUMNS",
    "load_scheme",
    "load_schemes",
    "scheme_from_dict",
    "complete_inputs",
    "payout",
    "get_value",
    "set_value",
    "tunables",
    "markdown_reference",
    "monthly_inputs",
    "history",
    "history_summary",
    "simulate_inputs",
    "monte_carlo",
    "payout_curves",
    "MonteCarloResult",
    "focus",
    "focus_context",
    "FocusResult",
    "seeds_claim",
    "summary",
    "gaming",
    "IncentivesResult",
    "analyse",
]
