"""The capacity simulation of notebook 06, computed once: calibration, backtest and the what-if sweeps.

``analyse(dataset, settings) -> CapacityResult``: the calibration (:func:`~.calibrate.calibrate`),
a backtest one horizon back (:func:`~.backtest.backtest`), and the sweeps of
:mod:`~.experiments` (baseline, headcount, deal-load limit, volume × routing, SLA, the head of
sales' selling) with their tables and answers — no language, no formatting, no plotting. The page
is made by :mod:`salesaudit.report.capacity`; the key figures notebook 06 records come from
:meth:`CapacityResult.key_figures`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pandas as pd

from . import experiments as ex
from .backtest import backtest
from .calibrate import Calibration, calibrate, load_assumptions

__all__ = ["CapacityResult", "analyse", "NEEDED"]

#: the tables the simulation needs
NEEDED = ("leads", "deals")


@dataclass(frozen=True)
class CapacityResult:
    """What notebook 06 reports.

    ``missing`` lists the needed tables the data lacks (then nothing else is computed). Otherwise:
    ``calibration`` (its diagnostics tables ``inflow_summary_``, ``stages_``, ``sellers_``,
    ``effects_``, ``conversions_``, ``assumptions_`` and notes), ``params`` (the calibrated
    department with the revenue plan), ``plan`` and ``plan_source`` (``parameter`` or a source of
    :func:`~.experiments.horizon_plan`: ``plans``, ``plans_and_assumption``, ``last_three_plans``,
    ``last_three_payments``, ``none``) with ``plan_info`` (the horizon's dates and months, the
    months the CRM plans, the months and growth factor an assumed plan is read from), the backtest (``backtest_as_of``, ``backtest_start``,
    ``backtest_end``, ``backtest_``: one row per metric with ``actual, p05, p50, p95, inside,
    error``), the replications of each sweep in ``runs`` and their tables (``baseline_``,
    ``headcount_``, ``limit_``, ``volume_``, ``sla_``, ``head_``: per scenario each metric's mean
    and 95 % CI, and the chance of meeting the plan), and the answers ``smallest_headcount``
    (None without a plan), ``more_is_worse`` (:func:`~.experiments.more_is_worse`: when a larger
    team brings in less, the new hires' share of the leads and win rates; else None) and
    ``best_limit``.

    Revenue everywhere is the payments received over the horizon (the plan-fact page's revenue);
    the amount of the deals won is ``won_amount``. The head of sales' sweep runs ``head_months``
    and is not compared with the horizon's plan.
    """

    client: str
    horizon_days: float
    replications: int
    target: float
    head_months: float
    missing: tuple = ()
    calibration: Optional[Calibration] = None
    params: Any = None
    plan: Optional[float] = None
    plan_source: Optional[str] = None
    plan_info: dict = field(default_factory=dict)
    backtest_as_of: Optional[pd.Timestamp] = None
    backtest_start: Optional[pd.Timestamp] = None
    backtest_end: Optional[pd.Timestamp] = None
    backtest_: Optional[pd.DataFrame] = None
    runs: dict = field(default_factory=dict, repr=False)
    baseline_: Optional[pd.DataFrame] = None
    headcount_: Optional[pd.DataFrame] = None
    limit_: Optional[pd.DataFrame] = None
    volume_: Optional[pd.DataFrame] = None
    sla_: Optional[pd.DataFrame] = None
    head_: Optional[pd.DataFrame] = None
    smallest_headcount: Optional[dict] = None
    best_limit: Optional[dict] = None
    more_is_worse: Optional[dict] = None

    @property
    def p_plan(self) -> float:
        """The baseline's chance of meeting the plan (NaN without a plan)."""
        b = self.baseline_
        return float(b.loc[0, "p_plan"]) if b is not None and "p_plan" in b else float("nan")

    def key_figures(self) -> dict:
        """The key results of notebook 06's JSON (language-neutral), read off this result."""
        if self.missing:
            return {}
        bt = self.backtest_
        p = self.p_plan
        out = {"capacity_backtest_inside": dict(zip(bt["metric"], bt["inside"])),
               "capacity_p_plan": round(p, 3) if p == p else None}
        if self.plan is not None:
            out["capacity_smallest_headcount"] = self.smallest_headcount["managers"]
        out["capacity_best_limit"] = self.best_limit["deal_limit"]
        return out


def analyse(ds, settings=None, *, assumptions_path=None, seed: int = 20261031, executor=None,
            progress: bool | None = None) -> CapacityResult:
    """Calibrate, backtest and run the sweeps of notebook 06 (``settings``: the ``capacity`` settings).

    ``executor``: None for the run config's ``executor`` (empty there: a local process pool), a
    Dask scheduler address such as ``"tcp://host:8786"``, or ``"serial"``.
    ``progress``: a text progress bar on stderr (None: only when stderr is a terminal).
    """
    cap = settings if settings is not None else ds.config.analysis.settings("capacity")
    if executor is None:
        executor = getattr(ds.config, "executor", None)
    common = dict(client=ds.config.client, horizon_days=cap.horizon_days, replications=cap.replications,
                  target=cap.target, head_months=cap.head_months)
    missing = tuple(name for name in NEEDED if not ds.has(name))
    if missing:
        return CapacityResult(missing=missing, **common)

    cal = calibrate(ds, assumptions=load_assumptions(assumptions_path))
    P = cal.params
    info = ex.horizon_plan(ds, P.start, cap.horizon_days, growth=float(P.notes.get("plan_growth", 1.0)))
    if cap.plan_revenue is not None:
        info.update(plan=float(cap.plan_revenue), source="parameter")
    plan, plan_src = info["plan"], info["source"]
    P = P.replace(plan_revenue=plan)

    days, reps = cap.horizon_days, cap.replications
    bt_as_of = pd.Timestamp(cal.as_of) - pd.Timedelta(days=days)
    bt = backtest(ds, bt_as_of, days=days, replications=reps, seed=seed, executor=executor, progress=progress)

    def sweep(scenarios, desc, replications=reps):
        return ex.sweep(P, scenarios, replications, seed, executor, progress=progress, desc=desc)

    runs = {}
    runs["base"] = sweep([{"days": days}], "baseline")
    runs["headcount"] = sweep([{"managers": n, "days": days} for n in ex.headcount_axis(P, below=cap.headcount_below, above=cap.headcount_above)], "headcount")
    runs["limit"] = sweep([{"deal_limit": x, "days": days} for x in cap.deal_limits], "deal limit")
    runs["volume"] = sweep([{"volume": v, "routing": r, "days": days} for v in cap.volumes for r in cap.routings], "volume × routing")
    runs["sla"] = sweep([{"sla_minutes": s, "escalate": e, "days": days} for s in cap.sla_minutes for e in (False, True)], "SLA")
    # a year of the head's selling against coaching: payments over those months, no plan of the horizon to compare with
    runs["head"] = (sweep([{"head_selling_share": h, "days": cap.head_months * 30.4, "plan_revenue": None} for h in cap.head_shares],
                          "head of sales", max(10, reps // 2))
                    if P.head is not None else None)

    tables = {k: (ex.sweep_table(v) if v is not None else None) for k, v in runs.items()}
    return CapacityResult(
        missing=(),
        calibration=cal,
        params=P,
        plan=plan,
        plan_source=plan_src,
        plan_info=info,
        backtest_as_of=bt_as_of,
        backtest_start=pd.Timestamp(bt["start"]),
        backtest_end=pd.Timestamp(bt["end"]),
        backtest_=bt["table"],
        runs=runs,
        baseline_=tables["base"],
        headcount_=tables["headcount"],
        limit_=tables["limit"],
        volume_=tables["volume"],
        sla_=tables["sla"],
        head_=tables["head"],
        smallest_headcount=ex.smallest_headcount(tables["headcount"], cap.target) if plan is not None else None,
        best_limit=ex.best_limit(tables["limit"]),
        more_is_worse=ex.more_is_worse(tables["headcount"], P.n_sellers, runs["headcount"]),
        **common,
    )
