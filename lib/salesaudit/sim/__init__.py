"""Capacity simulation of the sales department.

The first, validated core: a plain M/M/c queue in SimPy (:mod:`.queue`) checked
against the closed-form Erlang C results (:mod:`.erlang`). The later department
model (lead inflow by weekday and hour, working calendar, routing, deal-load
limits, stage progression) grows from these modules and must reduce to the
M/M/c case when those features are switched off.
"""
from __future__ import annotations

from .erlang import asa, erlang_b, erlang_c, occupancy, service_level, staff_for
from .queue import confidence_interval, replicate, simulate_mmc

__all__ = [
    "asa",
    "confidence_interval",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "replicate",
    "service_level",
    "simulate_mmc",
    "staff_for",
]
