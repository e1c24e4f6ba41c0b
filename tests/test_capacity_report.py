"""Notebook 06's plots and sweep tables in the report's language (:mod:`salesaudit.report.capacity`).

Moved here with the functions they test: the lead inflow's fit (``plot_inflow``, formerly
``LeadInflow.plot``) and the sweep table for the report (``report_table``, formerly in
``salesaudit.sim.experiments``).
"""
from __future__ import annotations

from test_sim_experiments import _runs  # the same 3 headcounts × 10 replications

from salesaudit.report.capacity import plot_inflow, report_table
from salesaudit.sim import experiments as ex
from salesaudit.sim.inflow import LeadInflow


def test_report_table_formats_keys_and_intervals():
    tab = ex.sweep_table(_runs(), metrics=("revenue",))
    out = report_table(tab, "en", ["managers"], metrics=("revenue",))
    assert list(out.columns) == ["Sellers", "Revenue, mln", "Chance of plan"]
    assert out.iloc[2, 2].startswith("100% (")


def test_plot_observed_vs_fitted(demo):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = LeadInflow.from_dataset(demo)
    fig = plot_inflow(m, lang="ru")
    a1, a2 = fig.axes[:2]
    assert a2.get_xticklabels()[0].get_text() == "Пн" and a1.get_xlabel() == "Час суток"
    fig2 = plot_inflow(m, labels={"title_hour": "Inflow"})
    assert fig2.axes[0].get_title() == "Inflow"
    plt.close(fig)
    plt.close(fig2)
