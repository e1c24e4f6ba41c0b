"""Notebooks 00–02 on the real public datasets beside the repository, checked against figures
computed here independently from the raw CSV files (skipped when ../shared is absent)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REALDATA, REPO, needs_realdata
from scipy.stats import CensoredData, ecdf

from salesaudit.runs.runner import run

pytestmark = pytest.mark.notebook

NOTEBOOKS = ["00_data_quality", "01_funnel", "02_stage_stalls"]


def _run(name, tmp_path_factory):
    result = run(REPO / "params" / "clients" / f"{name}.yaml", out_dir=tmp_path_factory.mktemp(name), language="en", notebooks=NOTEBOOKS, progress=False)
    assert result.ok, [(n.stem, n.error) for n in result.notebooks]
    return {n.stem: n.records for n in result.notebooks}


@needs_realdata("maven_crm_sales_opportunities", "sales_pipeline.csv")
def test_maven_notebooks_against_the_raw_csv(tmp_path_factory):
    rec = _run("maven", tmp_path_factory)
    src = pd.read_csv(REALDATA / "maven_crm_sales_opportunities" / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"])
    assert rec["00_data_quality"]["rows_quarantined"] == int(src["engage_date"].isna().sum()) == 500
    src = src[src["engage_date"].notna()]
    won, lost = (src["deal_stage"] == "Won").sum(), (src["deal_stage"] == "Lost").sum()
    assert rec["01_funnel"]["step_rates"]["engaging>won"] == round(won / (won + lost), 4) == 0.6315
    # time engaging: closed deals from engage to close, open deals censored at the audit moment
    as_of = pd.Timestamp("2017-12-31 23:59:59")
    closed = src["deal_stage"].isin(["Won", "Lost"])
    days = np.where(closed, (src["close_date"] - src["engage_date"]).dt.total_seconds(), (as_of - src["engage_date"]).dt.total_seconds()) / 86400
    sf = ecdf(CensoredData(uncensored=days[closed.to_numpy()], right=days[~closed.to_numpy()])).sf
    median = float(sf.quantiles[np.argmax(sf.probabilities <= 0.5)])
    assert rec["02_stage_stalls"]["median_days"]["engaging"] == pytest.approx(median, abs=1e-3)
    assert rec["02_stage_stalls"]["stays_source"] == "deals"


@needs_realdata("olist_marketing_funnel", "olist_closed_deals_dataset.csv")
def test_olist_notebooks_against_the_raw_csv(tmp_path_factory):
    rec = _run("olist", tmp_path_factory)
    mql = pd.read_csv(REALDATA / "olist_marketing_funnel" / "olist_marketing_qualified_leads_dataset.csv", parse_dates=["first_contact_date"])
    won = pd.read_csv(REALDATA / "olist_marketing_funnel" / "olist_closed_deals_dataset.csv", parse_dates=["won_date"])
    assert rec["00_data_quality"]["quarantine_by_reason"] == {"deals.closed_before_created": 1}
    assert rec["01_funnel"]["lead_to_deal"] == round(len(won) / len(mql), 4) == 0.1052
    # the SDR is known only for converted leads: no per-SDR lead conversion is judged
    assert rec["01_funnel"]["lead_managers_known"] is False
    assert rec["01_funnel"]["managers_flagged"] == []
    j = won.merge(mql, on="mql_id")
    days = (j["won_date"] - j["first_contact_date"]).dt.total_seconds() / 86400
    days = days[days >= 0]  # the deal won before its first contact is quarantined
    assert len(days) == 841
    assert rec["02_stage_stalls"]["median_days"]["negotiation"] == pytest.approx(float(np.sort(days)[420]), abs=1e-3)
