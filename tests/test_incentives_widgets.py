"""The owner's app without a browser: set a control's value, the answer, the numbers and the figures
change to what the library computes; labels follow the language switch."""
from __future__ import annotations

import re

import pytest
from conftest import REPO

from salesaudit import incentives as inc
from salesaudit import load
from salesaudit.incentives import widgets as iw
from salesaudit.report import format as fmt

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
    for i, view in enumerate(app.VIEWS[:4]):  # open every chart tab once: each is drawn when opened
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
    assert f"data-value='{round(expected)}'" in app.payout_html.value and fmt.money(expected, "en") in app.payout_html.value  # RUB 320,000
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


def test_ticking_schemes_rebuilds_the_controls_and_a_fourth_is_refused(app):
    app.select(["growth_yoy", "focus_product"])
    assert set(app.state["last_month_pay"]) == set(app.state["answer"]["scheme"]) == {"growth_yoy", "focus_product"}
    # the first screen: per scheme its name and its main sliders (growth: base, % of revenue, % of growth; focus: base, % of margin, per unit)
    assert sum(1 for k in app.sliders if k[0] != "assumption" and k[-1] in iw.MAIN_FIELDS) == 6 == len(app.main_box.children) - 2
    app.checks["kpi_basket"].value = True
    app.checks["department_revenue"].value = True  # a fourth
    assert app.selected == ["growth_yoy", "focus_product", "kpi_basket"] and app.checks["department_revenue"].value is False
    assert "Up to three schemes can be compared" in app.message.value
    app.checks["growth_yoy"].value = False
    app.checks["department_revenue"].value = True
    assert app.selected == ["focus_product", "kpi_basket", "department_revenue"] and app.message.value == ""
    for k in app.selected:
        app.checks[k].value = False
    assert app.state == {} and app.answer_html.value == "" and app.message.value == "Pick at least one scheme."


def test_a_refused_value_is_a_message_not_an_exception(app):
    key = "department_revenue"
    before = app.schemes[key]
    app._on_change(key, ("components", 1, "rate_pct"), 150.0, "rate", app.readouts[(key, "components", 1, "rate_pct")])  # above 100 %
    assert app.schemes[key] is before
    assert "does not accept this value of “% of revenue/margin: rate, %”" in app.message.value and "rate_pct" not in app.message.value


def test_the_display_bundle_and_interactive_detection(app, monkeypatch):
    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("In the owner's app")
    for var in ("VOILA_BASE_URL", "VOILA_SERVER_URL", "SERVER_SOFTWARE", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    assert not iw.interactive()
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    assert iw.interactive()


def _expected_answer(base, schemes: dict, n_sims: int):
    """The answer computed here from the library's parts, without the app."""
    ds, a, x, _ = base
    mc = inc.monte_carlo(schemes, inc.simulate_inputs(x, a, ds.config.seed, n_sims=n_sims)).summary.set_index("scheme")
    fr = inc.focus(schemes, a, inc.focus_context(x, a)).table.set_index("scheme")
    return mc, fr


def test_the_answer_is_the_library_figures_and_names_the_winner(app, base):
    _, _, _, S = base
    keys = ["personal_plus_department", "department_revenue", "kpi_basket"]
    mc, fr = _expected_answer(base, {k: S[k] for k in keys}, 300)
    ans = app.state["answer"].set_index("scheme")
    assert ans["cost_p50"].to_dict() == pytest.approx(mc["p50"].to_dict()) and ans["cost_p90"].to_dict() == pytest.approx(mc["p90"].to_dict())
    assert ans["dept_revenue"].to_dict() == pytest.approx(fr.loc[keys, "dept_revenue"].to_dict())
    assert ans["owner_profit"].to_dict() == pytest.approx(fr.loc[keys, "owner_profit"].to_dict())
    winner = fr.loc[keys, "owner_profit"].idxmax()
    assert winner == "kpi_basket" and ans["best"].idxmax() == winner and app.state["answer"].attrs["months"] == 12
    shown = app.answer_html.value
    for k in keys:
        assert f"id='sa-answer-{k}-owner_profit' data-value='{round(fr.loc[k, 'owner_profit'])}'>{fmt.money(fr.loc[k, 'owner_profit'], 'en')}<" in shown
        assert f"id='sa-answer-{k}-cost_p90' data-value='{round(mc.loc[k, 'p90'])}'" in shown
    second = fr.loc[keys, "owner_profit"].drop(winner).idxmax()
    gap = fmt.money(fr.loc[winner, "owner_profit"] - fr.loc[second, "owner_profit"], "en")
    assert (f"Over the next 12 months the owner&#x27;s profit is highest under “KPI basket”: {fmt.money(fr.loc[winner, 'owner_profit'], 'en')}, "
            f"{gap} more than under “% of department revenue”.") in shown
    assert app.out_answer.outputs[0]["data"]["image/png"]  # the answer's chart


def test_the_language_switch_re_renders_labels_and_numbers(app):
    before = app.state["answer"].copy()
    pay = app.state["last_month_pay"]["department_revenue"]
    assert app.checks["kpi_basket"].description == "KPI basket" and app.results.titles[0] == "Pay by month"
    app.lang_toggle.value = "ru"
    assert app.lang == "ru" and app.checks["kpi_basket"].description == "Корзина KPI" and app.results.titles[0] == "Выплата по месяцам"
    assert "За следующие 12 мес. больше всего прибыли собственнику приносит схема «Корзина KPI»" in app.answer_html.value
    assert fmt.money(pay, "ru") == "320\u00a0000\u00a0₽" and fmt.money(pay, "ru") in app.payout_html.value
    assert app.readouts[("department_revenue", "components", 1, "rate_pct")].value == "1,2\u00a0%"
    table = app.out_history.outputs[1]["data"]["text/html"]
    assert "<th>Месяц</th>" in table and "scheme" not in table and "320\u00a0000\u00a0₽" in table
    assert app.state["answer"].equals(before)  # the same figures
    # no internals on the first screen: what a reader sees (tags and their attributes stripped)
    for text in (app.answer_html.value, app.payout_html.value, *(c.description for c in app.checks.values()), *(r.value for r in app.readouts.values())):
        seen = re.sub(r"<[^>]+>", " ", text)
        for bad in ("_", "True", "False", "None", ".yaml", "nan"):
            assert bad not in seen, (bad, seen)


def test_the_full_report_and_gaming_are_computed_only_when_opened(base):
    ds, a, x, S = base
    calls = []

    def report():
        calls.append(1)
        return inc.analyse(ds, schemes_dir=SCHEMES_DIR, assumptions_path=SCHEMES_DIR / "assumptions.yaml")

    app = iw.IncentiveApp(S, x.copy(), a, "ru", ds.config.seed, selected=["department_revenue", "kpi_basket"], n_sims=200, report=report)
    assert not calls and app.out_report.outputs == () and app.out_gaming.outputs == () and "gaming" not in app.state
    app.results.selected_index = app.VIEWS.index("gaming")
    gm = inc.gaming({k: S[k] for k in ("department_revenue", "kpi_basket")}, x, a)
    assert app.state["gaming"].equals(gm)
    app.results.selected_index = app.VIEWS.index("report")
    assert calls == [1] and len(app.out_report.outputs) > 10
    texts = " ".join(o["data"].get("text/markdown", "") for o in app.out_report.outputs)
    assert texts.startswith("## Как платить руководителю") and ".yaml" not in texts and "params/" not in texts


def test_the_app_keeps_the_dataset_in_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    config = REPO / "params" / "clients" / "demo.yaml"
    first = iw.load_dataset(config, live=True)
    stored = list((tmp_path / "salesaudit" / "app").glob("*/meta.json"))
    assert len(stored) == 1
    second = iw.load_dataset(config, live=True)
    assert second.tables.keys() == first.tables.keys()
    for name, frame in first.tables.items():
        assert len(second.tables[name]) == len(frame), name
    assert iw.load_dataset(config).config.language == "ru"  # a batch run never writes there
    assert len(list((tmp_path / "salesaudit" / "app").glob("*/meta.json"))) == 1
