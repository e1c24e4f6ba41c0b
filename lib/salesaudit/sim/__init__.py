"""Capacity simulation of the sales department (notebook 06).

The flow: :func:`~.calibrate.calibrate` a dataset into :class:`~.department.DepartmentParams`
(with fit diagnostics), :func:`~.department.simulate` one replication, or sweep scenarios with
replications (:func:`~.sweep.run_sweep`, :mod:`.experiments`) on a process pool or a Dask
cluster; :func:`~.backtest.backtest` checks the model on the past. The department model reduces
to the plain M/M/c queue of :mod:`.queue` and must match the closed-form Erlang C results of
:mod:`.erlang` (tests).

Modules are named after the concepts: :mod:`.inflow`, :mod:`.worktime`, :mod:`.department`,
:mod:`.effects`, :mod:`.calibrate`, :mod:`.backtest`, :mod:`.sweep`, :mod:`.experiments`.
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
