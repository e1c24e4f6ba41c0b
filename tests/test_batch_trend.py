"""The batch index shows the trend: each period's key figures, read from its recorded key results, and a plot across periods."""
from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import DEMO_FUNNEL, REPO

from salesaudit.data.coverage import Coverage
from salesaudit.data.params import load_run_config, parse_period
from salesaudit.report import format as fmt
from salesaudit.report import trend
from salesaudit.report.i18n import t as t_
from salesaudit.runs.batch import PeriodResult, render_period_index, run_periods

NBSP = "\u00a0"
DEMO = REPO / "params" / "clients" / "demo.yaml"
KEYS = ["planfact_team_revenue_attainment_pct", "planfact_team_revenue", "planfact_team_revenue_plan", "leads_share_within_sla", "money_at_risk"]


class _Page(HTMLParser):
    """The rows of the page's first table (cell texts), every href and src, the svg and script tags."""

    def __init__(self, text: str):
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: dict[str, str] = {}  # period -> href of its link
        self.refs: list[str] = []
        self.tags: list[str] = []
        self._table = 0
        self._cell: list[str] | None = None
        self._href: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("href", "src", "xlink:href") and v is not None]
        if tag == "table":
            self._table += 1
        if self._table == 1:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self._cell = []
            elif tag == "a":
                self._href = a.get("href")

    def handle_endtag(self, tag):
        if self._table == 1 and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "a":
            self._href = None
        if tag == "table" and self._table == 1:
            self._table = 2

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
            if self._href is not None:
                self.links[data.strip()] = self._href

    def table(self) -> tuple[list[str], dict[str, list[str]]]:
        head, *body = self.rows
        return head, {row[0]: row for row in body}


def _svg(text: str) -> str:
    m = re.search(r"<figure><svg .*?</svg>\s*</figure>", text, re.S)
    assert m, "the plot is embedded as an inline svg"
    return m.group(0)


def _self_contained(page: _Page, periods_linked: set[str]):
    assert "script" not in page.tags and "img" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    outside = [r for r in page.refs if not r.startswith("#") and r not in {f"{p}/index.html" for p in periods_linked}]
    assert not outside, outside


# ---------------------------------------------------------------------------
# rendering, with made-up records


def _fake_results(out: Path) -> list[PeriodResult]:
    recs = {
        "2026-W40": {"02_stage_stalls": {"money_at_risk": 1234567.4, "open_over_norm": 9}, "03_leads": {"leads_share_within_sla": 0.8125},
                     "04_plan_fact": {"planfact_period": "2026-W40", "planfact_team_revenue_attainment_pct": 92.44,
                                      "planfact_team_revenue": 4600000.5, "planfact_team_revenue_plan": 4976200.0}},
        # no plan: attainment and plan not recorded; the SLA share recorded as None; the money at risk as a flag (not a number)
        "2026-W41": {"02_stage_stalls": {"money_at_risk": True}, "03_leads": {"leads_share_within_sla": None},
                     "04_plan_fact": {"planfact_period": "2026-W41", "planfact_team_revenue": 5100000.0, "planfact_team_revenue_plan": None}},
        # notebook 04 recorded another period than the row's: its figures are not this period's
        "2026-W42": {"03_leads": {"leads_share_within_sla": 0.75},
                     "04_plan_fact": {"planfact_period": "2026-10", "planfact_team_revenue_attainment_pct": 101.0,
                                      "planfact_team_revenue": 20000000.0, "planfact_team_revenue_plan": 19800000.0}},
        "2026-W43": {},
    }
    res = []
    for label, r in recs.items():
        ok = label != "2026-W43"
        folder = out / label
        if ok:
            folder.mkdir(parents=True)
            (folder / "index.html").write_text("report", encoding="utf-8")
        res.append(PeriodResult(label, ok, folder, folder / "index.html" if ok else None, records=r, error="" if ok else "Kernel died"))
    w42 = parse_period("2026-W42")
    res[2].coverage = Coverage(w42, pd.Timestamp("2025-08-01 09:00"), pd.Timestamp("2026-10-14 17:00"), "partial",
                               pd.Timestamp(w42.start), pd.Timestamp("2026-10-14 17:00"))
    res[0].coverage = Coverage(parse_period("2026-W40"), pd.Timestamp("2025-08-01 09:00"), pd.Timestamp("2026-10-14 17:00"), "full",
                               pd.Timestamp("2026-09-28"), pd.Timestamp("2026-10-04 23:59:59"))
    return res


EXPECTED = {  # hand-written: period -> (coverage, status, attainment, revenue, plan, SLA share, money at risk)
    "ru": {
        "2026-W40": ("полностью", "готово", f"92,4{NBSP}%", f"4{NBSP}600{NBSP}001{NBSP}₽", f"4{NBSP}976{NBSP}200{NBSP}₽", f"81,3{NBSP}%",
                     f"1{NBSP}234{NBSP}567{NBSP}₽"),
        "2026-W41": ("не проверено", "готово", "—", f"5{NBSP}100{NBSP}000{NBSP}₽", "—", "—", "—"),
        "2026-W42": ("частично: 12.10.2026 – 14.10.2026", "готово", "—", "—", "—", f"75,0{NBSP}%", "—"),
        "2026-W43": ("не проверено", "ошибка", "—", "—", "—", "—", "—"),
    },
    "en": {
        "2026-W40": ("complete", "ok", "92.4%", f"RUB{NBSP}4,600,001", f"RUB{NBSP}4,976,200", "81.3%", f"RUB{NBSP}1,234,567"),
        "2026-W41": ("not checked", "ok", "—", f"RUB{NBSP}5,100,000", "—", "—", "—"),
        "2026-W42": ("partly: 12 Oct 2026 – 14 Oct 2026", "ok", "—", "—", "—", "75.0%", "—"),
        "2026-W43": ("not checked", "failed", "—", "—", "—", "—", "—"),
    },
}
HEAD = {
    "ru": ["Период", "Покрытие данными", "Статус", "Выполнение плана по поступлениям за период, %", "Поступления за период, ₽",
           "План поступлений на период, ₽", "Доля лидов с ответом в норматив, % (все лиды до момента аудита)",
           "Деньги в открытых сделках, зависших сверх нормы этапа, на момент аудита, ₽", "Ошибка"],
    "en": ["Period", "Data coverage", "Status", "Revenue plan attainment in the period, %", "Revenue received in the period, RUB",
           "Revenue plan of the period, RUB", "Leads answered within the SLA, % (all leads up to the audit moment)",
           "Money in open deals stalled over their stage norm at the audit moment, RUB", "Error"],
}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_index_shows_recorded_figures_formatted_and_dashes_where_missing(tmp_path, lang):
    res = _fake_results(tmp_path)
    cfg = load_run_config(DEMO, language=lang, grain="week")
    text = render_period_index(cfg, "week", res, tmp_path, currency="RUB")
    page = _Page(text)
    head, rows = page.table()
    assert head == HEAD[lang]
    assert list(rows) == ["2026-W40", "2026-W41", "2026-W42", "2026-W43"]
    for label, expected in EXPECTED[lang].items():
        assert tuple(rows[label][1:8]) == expected, label
    assert rows["2026-W43"][8] == "Kernel died" and rows["2026-W40"][8] == ""
    # each period that ran links to its report; the failed one has no link
    assert page.links == {p: f"{p}/index.html" for p in ("2026-W40", "2026-W41", "2026-W42")}
    # the figures measured at the audit moment say so, with the moment
    moment = {"ru": "31.10.2026 23:59", "en": "31 Oct 2026 23:59"}[lang]
    assert trend.horizon_note(lang, cfg.as_of) in text.replace("&#x27;", "'") and moment in trend.horizon_note(lang, cfg.as_of)
    # the plot: inline, self-contained, periods labelled as they are, the plan line at 100 %
    svg = _svg(text)
    for label in ("2026-W40", "2026-W41", "2026-W42", "2026-W43"):
        assert f">{label}<" in svg
    assert {"ru": f"план (100{NBSP}%)", "en": "plan (100%)"}[lang] in svg
    assert {"ru": "Поступления за период и план, ₽", "en": "Revenue received in the period and its plan, RUB"}[lang] in svg
    assert {"ru": f"100{NBSP}%", "en": "100%"}[lang] in svg  # ticks formatted for the language
    assert {"ru": "период покрыт данными частично", "en": "partly covered by the data"}[lang] in svg  # 2026-W42 is shaded
    _self_contained(page, {"2026-W40", "2026-W41", "2026-W42"})
    for internal in ("True", "False", "None", "NaN", "nan", "planfact_", "money_at_risk", "leads_share", str(tmp_path)):
        assert internal not in re.sub(r"<svg .*?</svg>", "", text, flags=re.S), internal


def test_only_per_period_figures_are_drawn_each_once():
    """The plan attainment and revenue (with its plan) get a panel; the figures measured at the audit moment none."""
    values = {"2026-08": {"planfact_team_revenue_attainment_pct": 80.0, "planfact_team_revenue": 8e6, "planfact_team_revenue_plan": 1e7,
                          "leads_share_within_sla": 0.8, "money_at_risk": 5e6}}
    svg = trend.plot_svg(["2026-08"], values, "en", "USD")
    assert svg.startswith('<svg role="img" aria-label="Key figures by period"')
    assert svg.count("Revenue plan attainment in the period, %") == 1 and svg.count("Revenue received in the period and its plan, $") == 1
    assert "SLA" not in svg and "stalled" not in svg
    assert "$8,000,000" in svg or "$10,000,000" in svg  # money ticks in the client's currency
    assert trend.plot_svg(["2026-08"], {"2026-08": dict.fromkeys(KEYS)}, "en", "USD") is None  # nothing recorded: no plot


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_plot_draws_the_recorded_values_with_gaps_and_the_100_percent_line(tmp_path, lang):
    res = _fake_results(tmp_path)
    values = {r.period: trend.figure_values(r.records, r.period) for r in res}
    fig = trend.plot([r.period for r in res], values, lang, "RUB", partial=["2026-W42"])
    attain, revenue = [ax for ax in fig.axes if ax.get_visible()]
    for ax in (attain, revenue):  # the partly covered week is shaded, and the legend says why
        (shade,) = [pt for pt in ax.patches if pt.get_label() == t_("batch.plot.partial", lang)]
        assert (shade.get_x(), shade.get_width()) == (1.5, 1.0)
    nan = float("nan")
    lines = {ln.get_label(): list(ln.get_ydata()) for ln in attain.get_lines()}
    plan_line = {"ru": f"план (100{NBSP}%)", "en": "plan (100%)"}[lang]
    assert lines[plan_line] == [100, 100]
    (fact,) = [v for k, v in lines.items() if k != plan_line]
    assert fact == pytest.approx([92.44, nan, nan, nan], nan_ok=True)
    lines = {ln.get_label(): list(ln.get_ydata()) for ln in revenue.get_lines()}
    assert lines == {t_("planfact.plot.fact", lang): pytest.approx([4600000.5, 5100000.0, nan, nan], nan_ok=True),
                     t_("planfact.plot.plan", lang): pytest.approx([4976200.0, nan, nan, nan], nan_ok=True)}
    assert [tick.get_text() for tick in attain.get_xticklabels()] == ["2026-W40", "2026-W41", "2026-W42", "2026-W43"]
    assert attain.get_title(loc="left") == {"ru": "Выполнение плана по поступлениям за период, %", "en": "Revenue plan attainment in the period, %"}[lang]


def test_without_figures_the_index_has_dashes_and_no_plot(tmp_path):
    res = [PeriodResult("2026-10", True, tmp_path, None, records={"00_period": {"period": "2026-10"}})]
    text = render_period_index(load_run_config(DEMO), "month", res, tmp_path)
    head, rows = _Page(text).table()
    assert rows["2026-10"][3:] == ["—"] * 5 and "<svg" not in text and "Ошибка" not in head


# ---------------------------------------------------------------------------
# the real runner: three months of the demo through notebooks 02, 03 and 04


def _cut_config(tmp_path):
    """The demo department exported on 2026-10-20: 2026-10 is partly covered, 2026-11 outside the data."""
    cfg = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    cfg.update({"data": str(REPO / "data_samples" / "demo_generic"), "funnel": str(DEMO_FUNNEL), "as_of": "2026-10-20 23:59:59"})
    path = tmp_path / "cut.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def _expected_cells(record: dict, lang: str) -> tuple:
    """The recorded JSON values of one period formatted for ``lang`` (— where not recorded)."""
    money = lambda v: fmt.money(v, lang, "RUB") if v is not None else "—"  # noqa: E731
    pct = lambda v: fmt.percent(v, lang, 1) if v is not None else "—"  # noqa: E731
    return (pct(record["planfact_team_revenue_attainment_pct"] / 100), money(record["planfact_team_revenue"]),
            money(record["planfact_team_revenue_plan"]), pct(record["leads_share_within_sla"]), money(record["money_at_risk"]))


@pytest.mark.slow
def test_real_periods_show_their_recorded_figures(tmp_path):
    out = tmp_path / "out"
    res = run_periods(_cut_config(tmp_path), "2026-08..2026-11", out_dir=out, notebooks=["02", "03", "04"], workers=2, progress=False)
    assert [(p.period, p.ok) for p in res.periods] == [("2026-08", True), ("2026-09", True), ("2026-10", True), ("2026-11", False)]

    recorded = {}
    for p in ("2026-08", "2026-09", "2026-10"):
        rec = {}
        for stem in ("02_stage_stalls", "03_leads", "04_plan_fact"):
            data = json.loads((out / p / f"{stem}.json").read_text(encoding="utf-8"))
            assert data["_status"] == "ok", (p, stem, data["_error"])
            rec.update(data)
        assert rec["planfact_period"] == p
        recorded[p] = {k: rec[k] for k in KEYS}

    # the JSON holds each month's own money, checked against the export: payments received in the month
    # (up to the export moment) and the team's revenue plan row of plans.csv
    pay = pd.read_csv(REPO / "data_samples" / "demo_generic" / "payments.csv", parse_dates=["paid_at"])
    pay = pay[pay["paid_at"] <= "2026-10-20 23:59:59"]
    plans = pd.read_csv(REPO / "data_samples" / "demo_generic" / "plans.csv")
    team_plan = plans[plans["manager"].isna() & (plans["metric"] == "revenue")].set_index("period")["target"]
    for p, rec in recorded.items():
        received = pay.loc[pay["paid_at"].dt.strftime("%Y-%m") == p, "amount"].sum()
        assert rec["planfact_team_revenue"] == pytest.approx(received, abs=0.01)
        assert rec["planfact_team_revenue_plan"] == team_plan[p]
        assert rec["planfact_team_revenue_attainment_pct"] == pytest.approx(100 * received / team_plan[p], abs=0.05)
    assert len({r["planfact_team_revenue"] for r in recorded.values()}) == 3  # a trend, not one number three times
    # the two figures measured at the audit moment are the same in every period, as the page says
    assert len({(r["leads_share_within_sla"], r["money_at_risk"]) for r in recorded.values()}) == 1

    cut = _cut_config(tmp_path)
    for lang in ("ru", "en"):
        if lang == "ru":  # the report language of the config: the page the batch wrote
            text = res.index.read_text(encoding="utf-8")
        else:  # the same batch in English, the records read back from the JSON files this time
            periods = [dataclasses.replace(p, records={}) for p in res.periods]
            text = render_period_index(load_run_config(cut, language="en"), "month", periods, out, currency="RUB")
        page = _Page(text)
        head, rows = page.table()
        assert list(rows) == ["2026-08", "2026-09", "2026-10", "2026-11"]
        for p, rec in recorded.items():
            assert tuple(rows[p][3:8]) == _expected_cells(rec, lang), (lang, p)
            assert (out / page.links[p]).is_file() and page.links[p] == f"{p}/index.html"
        assert rows["2026-11"][3:8] == ["—"] * 5 and "2026-11" not in page.links
        coverage = {p: rows[p][1] for p in rows}
        assert coverage == ({"2026-08": "полностью", "2026-09": "полностью", "2026-10": "частично: 01.10.2026 – 20.10.2026", "2026-11": "вне данных"}
                            if lang == "ru" else
                            {"2026-08": "complete", "2026-09": "complete", "2026-10": "partly: 1 Oct 2026 – 20 Oct 2026", "2026-11": "outside the data"})
        assert rows["2026-11"][-1].startswith({"ru": "Период 2026-11 лежит вне данных", "en": "The period 2026-11 lies outside the data"}[lang])
        svg = _svg(text)
        assert all(f">{p}<" in svg for p in rows)
        _self_contained(page, {"2026-08", "2026-09", "2026-10"})
