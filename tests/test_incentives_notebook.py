"""Notebook 05 through the runner: the demo's key results match the library, and a dataset without
plans or payments (the real Maven sample) gets sentences, not errors."""
from __future__ import annotations

import pytest
from conftest import REPO, needs_realdata

from salesaudit import incentives as inc
from salesaudit import load
from salesaudit.runs.runner import run

pytestmark = pytest.mark.notebook


def _records(config, tmp_path, **kw):
    result = run(REPO / "params" / "clients" / f"{config}.yaml", out_dir=tmp_path, notebooks=["05_incentives"], progress=False, **kw)
    nb = result.notebooks[0]
    assert nb.ok, nb.error
    return nb.records


def test_demo_key_results_are_the_library_figures(tmp_path):
    rec = _records("demo", tmp_path, language="en")
    ds = load(REPO / "params" / "clients" / "demo.yaml")
    a = inc.load_assumptions(REPO / "params" / "incentives" / "assumptions.yaml")
    x = inc.monthly_inputs(ds, a)
    S = inc.load_schemes(REPO / "params" / "incentives")
    hs = inc.history_summary(inc.history(S, x)).set_index("scheme")
    assert rec["incentives_history_months"] == 14
    assert rec["incentives_history_cost_pct_revenue"] == {k: round(v, 2) for k, v in hs["cost_pct_revenue"].items()}
    assert rec["incentives_seeds_claim_holds"] is True
    focus = rec["incentives_focus"]
    assert focus["personal_plus_department"]["selling_share"] > focus["department_revenue"]["selling_share"]
    mc = inc.monte_carlo(S, inc.simulate_inputs(x, a, ds.config.seed)).summary.set_index("scheme")
    assert rec["incentives_mc_cost"]["kpi_basket"] == {"p50": round(mc.loc["kpi_basket", "p50"]), "p90": round(mc.loc["kpi_basket", "p90"]),
                                                       "reserve": round(mc.loc["kpi_basket", "reserve"])}
    # 1.2 % of the revenue, capped at 250 000 a month: moving a deal pays only across a month where the cap binds
    # (October's 21.0 M received is above the 20.8 M where it starts). The best move by that formula:
    amount = inc.gaming(S, x, a).attrs["shift_amount"]
    pay = lambda rev: min(0.012 * rev, 250_000)  # noqa: E731
    rev = x["dept_revenue"].tolist()
    best = max(max(pay(rev[i] + amount) - pay(rev[i]) + pay(rev[i + 1] - amount) - pay(rev[i + 1]),
                   pay(rev[i] - amount) - pay(rev[i]) + pay(rev[i + 1] + amount) - pay(rev[i + 1])) for i in range(len(rev) - 1))
    assert best > 0 and rec["incentives_gaming_max"]["department_revenue"] == round(best)


@needs_realdata("maven_crm_sales_opportunities", "sales_pipeline.csv")
def test_a_dataset_without_plans_payments_or_head_degrades_to_sentences(tmp_path):
    rec = _records("maven", tmp_path)
    assert rec["incentives_history_months"] >= 3
    assert "incentives_focus" not in rec and "incentives_seeds_claim_holds" not in rec  # the focus model needs a plan
    page = (tmp_path / "05_incentives.html").read_text(encoding="utf-8")
    assert "The export has no plans" in page and "The focus model needs the department's plan" in page
    assert "Traceback" not in page
