"""The owner's controls without a browser: set a control's value, the numbers and figures change
to what the library computes."""
from __future__ import annotations

import pytest
from conftest import REPO

from salesaudit import incentives as inc
from salesaudit import load
from salesaudit.incentives import widgets as iw

SCHEMES_DIR = REPO / "params" / "incentives"


@pytest.fixture(scope="module")
def base():
    ds = load(REPO / "params" / "clients" / "demo.yaml")
    a = inc.load_assumptions(SCHEMES_DIR / "assumptions.yaml")
    return ds, a, inc.monthly_inputs(ds, a), inc.load_schemes(SCHEMES_DIR)


@pytest.fixture
def app(base):
    ds, a, x, S = base
    return iw.IncentiveApp(S, x.copy(), a, "en", ds.config.seed, selected=["personal_plus_department", "department_revenue", "kpi_basket"], n_sims=300)


def _png(out):
    return out.outputs[0]["data"]["image/png"]


def test_moving_a_rate_changes_the_payout_to_the_library_value_and_redraws(app, base):
    _, _, x, S = base
    key, path = "department_revenue", ("components", 1, "rate_pct")
    before = dict(app.state["last_month_pay"])
    pngs = {}
    for i, view in enumerate(app.VIEWS):  # open every result tab once: each is drawn when opened
        app.results.selected_index = i
        pngs[view] = _png(getattr(app, f"out_{view}"))
    app.results.selected_index = 0
    mc_before = app.state["monte_carlo"].set_index("scheme")["p50"].copy()
    app.sliders[(key,) + path].value = 1.5
    expected = inc.payout(inc.set_value(S[key], path, 1.5), x)["total"].iloc[-1]
    # 70 000 + 1.5 % of October's revenue received, capped at 250 000 a month (October's 21.0 M is above the cap)
    assert expected == pytest.approx(70000 + min(0.015 * x["dept_revenue"].iloc[-1], 250_000)) == 320_000
    assert app.state["last_month_pay"][key] == pytest.approx(expected)
    assert app.state["last_month_pay"]["kpi_basket"] == before["kpi_basket"]  # the other schemes stay
    assert f"data-value='{round(expected)}'" in app.payout_html.value and f"{expected:,.0f}" in app.payout_html.value
    assert _png(app.out_history) != pngs["history"]  # the visible tab is redrawn at once
    assert _png(app.out_cost) == pngs["cost"]        # the others when opened
    for i, view in enumerate(app.VIEWS[:3]):
        app.results.selected_index = i
        assert _png(getattr(app, f"out_{view}")) != pngs[view], view
    mc_after = app.state["monte_carlo"].set_index("scheme")["p50"]
    assert mc_after[key] > mc_before[key] and mc_after["kpi_basket"] == mc_before["kpi_basket"]


def test_moving_the_base_of_the_seeds_scheme_moves_its_month_by_the_same_amount(app):
    key = "personal_plus_department"
    before = app.state["last_month_pay"][key]
    hist_before = app.state["history"].query("scheme == @key")["total"].to_numpy()
    app.sliders[(key, "components", 0, "amount")].value = 80000
    assert app.state["last_month_pay"][key] == pytest.approx(before + 10000)
    assert (app.state["history"].query("scheme == @key")["total"].to_numpy() == pytest.approx(hist_before + 10000))


def test_a_weight_slider_rescales_the_other_weights_and_their_sliders(app):
    key = "kpi_basket"
    app.sliders[(key, "components", 1, "kpis", 0, "weight")].value = 0.7
    weights = [k.weight for k in app.schemes[key].components[1].kpis]
    assert weights == pytest.approx([0.7, 0.12, 0.09, 0.09])
    assert app.sliders[(key, "components", 1, "kpis", 1, "weight")].value == pytest.approx(0.12)


def test_a_threshold_changes_the_focus_result(app, base):
    _, a, x, S = base
    key = "personal_plus_department"
    path = ("components", 1, "personal", "bonus_at_plan")
    share = app.state["focus"].set_index("scheme").loc[key, "selling_share"]
    assert share == 1.0
    app.sliders[(key,) + path].value = 0.0  # no personal bonus at all
    expected = inc.focus({key: inc.set_value(S[key], path, 0.0)}, a, inc.focus_context(x, a)).table["selling_share"].item()
    got = app.state["focus"].set_index("scheme").loc[key, "selling_share"]
    assert got == expected and got < share


def test_an_assumed_nps_moves_the_kpi_basket(app, base):
    _, _, x, S = base
    before = app.state["last_month_pay"]["kpi_basket"]
    app.sliders[("assumption", "nps")].value = 20  # below the NPS threshold (75 % of 40)
    expected = inc.payout(S["kpi_basket"], x.assign(nps=20.0))["total"].iloc[-1]
    assert app.state["last_month_pay"]["kpi_basket"] == pytest.approx(expected) and expected < before


def test_picking_schemes_rebuilds_the_controls(app):
    app.picker.value = ("growth_yoy", "focus_product")
    assert set(app.state["last_month_pay"]) == {"growth_yoy", "focus_product"}
    assert len(app.controls.children) == 3  # two schemes and the assumptions
    app.picker.value = ("growth_yoy", "focus_product", "kpi_basket", "department_revenue")
    assert app.message.value == "The first three schemes picked are compared."
    assert len(app.state["last_month_pay"]) == 3


def test_a_refused_value_is_a_message_not_an_exception(app):
    key = "department_revenue"
    before = app.schemes[key]
    app._on_change(key, ("components", 1, "rate_pct"), 150.0)  # above 100 %
    assert "rate_pct" in app.message.value and app.schemes[key] is before


def test_the_display_bundle_and_interactive_detection(app, monkeypatch):
    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("The interactive controls appear")
    for var in ("VOILA_BASE_URL", "VOILA_SERVER_URL", "SERVER_SOFTWARE", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    assert not iw.interactive()
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    assert iw.interactive()
