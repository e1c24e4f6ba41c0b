"""salesaudit: audit a sales department and its head from a CRM export.

The flow is export → load → analyse → report:

* :mod:`salesaudit.data.readers` reads a file (CSV in any common encoding, XLSX, Parquet);
* :mod:`salesaudit.data.presets` maps a CRM's export into :mod:`salesaudit.data.model`;
* :mod:`salesaudit.data.loader` accepts or quarantines every row (:func:`load`);
* analyses (:mod:`salesaudit.analysis.quality`, …) compute tables and plots;
* :mod:`salesaudit.runs.runner` executes the notebooks with papermill into an HTML report.

The table below is the public API; ``docs/api.md`` is generated from it and a
test keeps the two in sync.
"""
from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

#: public name -> (module, one-line summary)
PUBLIC = {
    "load": ("data.loader", "Load a run config and its dataset: every row accepted or quarantined."),
    "load_dataset": ("data.loader", "Load the dataset of an already validated RunConfig."),
    "Dataset": ("data.dataset", "Canonical tables, quarantine, reconciliation and how each table was read."),
    "REASONS": ("data.loader", "Quarantine reason codes, in the order they are checked."),
    "load_run_config": ("data.params", "Read and validate a run config YAML (params/clients/*.yaml)."),
    "RunConfig": ("data.params", "The run-config schema: data, preset, funnel, calendar, limits, policy."),
    "Funnel": ("data.params", "Ordered funnel stages with norms, mandatory stages and terminals."),
    "parse_period": ("data.params", "Parse 2026-10, 2026-W41 or 2026-10-14 into a Period."),
    "load_preset": ("data.presets", "Read a CRM preset (params/crm/*.yaml)."),
    "TABLES": ("data.model", "The canonical tables and their typed columns."),
    "WorkCalendar": ("data.calendar", "Working hours, weekends and holidays; working time between moments."),
    "run": ("runs.runner", "Execute the notebooks with papermill into HTML, JSON and an index page."),
    "read_records": ("runs.record", "Read the recorded key results of an executed notebook."),
    "t": ("report.i18n", "A report label in ru or en."),
    "load_schemes": ("incentives", "Read and validate the head-of-sales pay schemes (params/incentives/*.yaml)."),
    "load_assumptions": ("incentives", "Read the assumptions behind pay schemes: margin, NPS, LTV, the focus model."),
    "payout": ("incentives", "Pay a scheme for any number of months of inputs (history, simulation, focus model)."),
    "IncentiveApp": ("incentives.widgets", "The owner's controls for comparing pay schemes (notebook 05, `make app`)."),
    "calibrate": ("sim.calibrate", "Fit the capacity simulation to a dataset, with fit diagnostics and assumptions."),
    "simulate": ("sim.department", "Run the SimPy department for a number of days; one replication."),
    "DepartmentParams": ("sim.department", "Everything the department simulation needs (calibrated or set by hand)."),
    "LeadInflow": ("sim.inflow", "Lead inflow: a Poisson process by weekday, hour and channel."),
    "run_sweep": ("sim.sweep", "Replications of scenarios on a process pool or a Dask cluster, same numbers either way."),
    "backtest": ("sim.backtest", "Calibrate on the past, simulate what followed, compare with the actual figures."),
    "CoachingEffect": ("sim.coaching", "Coaching hours to a conversion lift, with a lag, carry-over and saturation."),
    "SalesauditError": ("errors", "Base of every user-fixable error (one paragraph, no traceback)."),
}

__all__ = sorted(PUBLIC) + ["PUBLIC", "__version__", "api_markdown"]


def api_markdown() -> str:
    """``docs/api.md``: the public names, where they live and what they are for (``make docs``)."""
    lines = [
        "# Public API",
        "",
        "Everything below is importable as `salesaudit.<name>` (imported when first used). The flow:",
        "export → `load` (data/) → analyses (analysis/, sim/, incentives/) → reports (runs/, report/).",
        "This file is generated from `salesaudit.PUBLIC` by `make docs`; a test keeps it in sync.",
        "",
        "| name | module | what it is for |",
        "|---|---|---|",
    ]
    lines += [f"| `{name}` | `salesaudit.{module}` | {summary} |" for name, (module, summary) in PUBLIC.items()]
    return "\n".join(lines) + "\n"


def __getattr__(name: str):
    """Import lazily, so ``import salesaudit`` stays fast and light."""
    if name in PUBLIC:
        if name in ("load", "load_dataset"):
            # a refused load is worded by the report layer (report.verdict sets LoadRefused.writer)
            import_module(".report.verdict", __name__)
        value = getattr(import_module(f".{PUBLIC[name][0]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'salesaudit' has no attribute {name!r}")


def __dir__():
    return __all__
