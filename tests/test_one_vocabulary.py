"""One vocabulary, one period: the same metric of the same period has the same value on every page and
in every JSON of one run (the demo, through the real runner, in Russian)."""
from __future__ import annotations

import html as html_lib
import re

import pandas as pd
import pytest
from conftest import REPO

from salesaudit.report import format as fmt
from salesaudit.runs.runner import run

pytestmark = [pytest.mark.notebook, pytest.mark.slow]
NOTEBOOKS = ["04_plan_fact", "07_rop_scorecard", "08_meeting"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vocabulary")
    result = run(REPO / "params" / "clients" / "demo.yaml", out_dir=out, notebooks=NOTEBOOKS, progress=False)
    assert result.ok, [(n.stem, n.error) for n in result.notebooks]
    return result


def _text(path) -> str:
    """The visible text of a page: tags dropped, entities decoded, spaces (and no-break spaces) collapsed."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).replace("\u00a0", " "))


def test_revenue_of_the_audited_month_is_one_figure_everywhere(demo_run):
    rec = {n.stem: n.records for n in demo_run.notebooks}
    pages = {n.stem: _text(n.html) for n in demo_run.notebooks}
    pages["index"] = _text(demo_run.index)
    # revenue = payments received in October 2026, counted here from the payments file
    pay = pd.read_csv(REPO / "data_samples" / "demo_generic" / "payments.csv")
    pay["paid_at"] = pd.to_datetime(pay["paid_at"], errors="coerce")
    pay["amount"] = pd.to_numeric(pay["amount"], errors="coerce")
    october = pay[(pay["paid_at"] >= "2026-10-01") & (pay["paid_at"] < "2026-11-01") & (pay["amount"] > 0) & pay["deal_id"].astype(str).str.match(r"^5\d{4}$")]
    plans = pd.read_csv(REPO / "data_samples" / "demo_generic" / "plans.csv")
    plan = plans.loc[(plans["period"] == "2026-10") & plans["manager"].isna() & (plans["metric"] == "revenue"), "target"].item()
    revenue = october["amount"].sum()
    assert rec["04_plan_fact"]["planfact_period"] == "2026-10" and rec["08_meeting"]["meeting_looked_back_at"] == "2026-10"
    assert rec["04_plan_fact"]["planfact_team_revenue"] == pytest.approx(revenue) and rec["04_plan_fact"]["planfact_team_revenue_plan"] == plan
    attainment = round(100 * revenue / plan, 1)
    # the JSONs: plan vs fact, the scorecard's "department plan met" and the meeting's review of the month
    assert rec["04_plan_fact"]["planfact_team_revenue_attainment_pct"] == attainment
    scorecard = {c["key"]: c for c in rec["07_rop_scorecard"]["scorecard_checkpoints"]}
    assert round(100 * scorecard["plan_attainment"]["value"], 1) == attainment
    assert rec["07_rop_scorecard"]["scorecard_attainment"][-1] == {"month": "2026-10", "attainment": pytest.approx(revenue / plan)}
    assert rec["08_meeting"]["meeting_team_revenue_pct"] == attainment
    # the pages: the same amount on plan vs fact and the meeting, the same percentage on them and the summary
    amount = fmt.integer(revenue, "ru").replace("\u00a0", " ")
    # the attainment as a percentage (whole or with a decimal) or, in a column headed "%", as a number
    shown = {x.replace("\u00a0", " ") for x in (fmt.percent(revenue / plan, "ru", 0), fmt.percent(revenue / plan, "ru", 1),
                                                   fmt.number(attainment, "ru", 1), fmt.number(attainment, "ru", 0))}
    pattern = re.compile("|".join(rf"(?<![\d,]){re.escape(x)}(?![\d,])" for x in sorted(shown, key=len, reverse=True)))
    assert amount in pages["04_plan_fact"] and amount in pages["08_meeting"]
    for page in ("04_plan_fact", "07_rop_scorecard", "08_meeting", "index"):
        assert pattern.search(pages[page]), page
