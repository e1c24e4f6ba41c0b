"""Presets against real exports: the public datasets and real CRM headers in ../shared/realdata/.

Each test skips with a reason when ../shared is not beside the repository.
Expected figures are recomputed here straight from the CSV files with pandas.
"""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import REALDATA, REPO, needs_realdata

from salesaudit.data.loader import load
from salesaudit.data.readers import read_raw


@needs_realdata("maven_crm_sales_opportunities", "sales_pipeline.csv")
def test_maven_loads_through_its_preset():
    ds = load(REPO / "params" / "clients" / "maven.yaml")
    src = pd.read_csv(REALDATA / "maven_crm_sales_opportunities" / "sales_pipeline.csv")
    rec = ds.reconciliation().set_index("table")
    assert rec.loc["deals", "input"] == len(src) == 8800
    # Prospecting opportunities have no engage_date: quarantined, not dropped
    assert rec.loc["deals", "quarantined"] == int(src["engage_date"].isna().sum()) == 500
    assert set(ds.quarantine["reason"]) == {"missing_value"} and set(ds.quarantine["column"]) == {"created_at"}
    deals = ds.tables["deals"]
    assert deals["outcome"].value_counts().to_dict() == {"won": 4238, "lost": 2473, "open": 1589}
    won_value = src.loc[src["deal_stage"] == "Won", "close_value"].sum()
    assert deals.loc[deals["outcome"] == "won", "amount"].sum() == pytest.approx(won_value)
    assert deals["manager"].nunique() == src["sales_agent"].nunique() == 30
    assert rec.loc["managers", "accepted"] == 35 and rec["balanced"].all()


@needs_realdata("olist_marketing_funnel", "olist_closed_deals_dataset.csv")
def test_olist_loads_through_its_preset():
    ds = load(REPO / "params" / "clients" / "olist.yaml")
    mql = pd.read_csv(REALDATA / "olist_marketing_funnel" / "olist_marketing_qualified_leads_dataset.csv")
    won = pd.read_csv(REALDATA / "olist_marketing_funnel" / "olist_closed_deals_dataset.csv")
    rec = ds.reconciliation().set_index("table")
    assert rec.loc["leads", "input"] == rec.loc["leads", "accepted"] == len(mql) == 8000
    assert rec.loc["deals", "input"] == len(won) == 842
    joined = won.merge(mql, on="mql_id")
    before = (pd.to_datetime(joined["won_date"]) < pd.to_datetime(joined["first_contact_date"])).sum()
    assert before == 1  # SOURCE.md: one deal is won 2 days before first contact
    assert ds.quarantine.groupby("reason").size().to_dict() == {"closed_before_created": 1}
    leads = ds.tables["leads"]
    assert (leads["status"] == "converted").sum() == 842
    assert leads["manager"].nunique() == won["sdr_id"].nunique() == 32
    assert ds.tables["deals"]["manager"].nunique() == won["sr_id"].nunique() == 22
    assert (ds.tables["deals"]["outcome"] == "won").all()


def _header(name):
    lines = (REALDATA / "crm_export_headers" / name).read_text(encoding="utf-8").splitlines()
    return [ln.split("\t", 1)[1] for ln in lines if "\t" in ln]


@needs_realdata("crm_export_headers", "bitrix24_deal_export_header_full.txt")
def test_bitrix24_full_real_header_maps_and_keeps_the_first_id(client):
    header = _header("bitrix24_deal_export_header_full.txt")
    assert header.count("ID") == 3

    def make(deal_id, stage, amount, created):
        r = [""] * len(header)
        ids = [i for i, h in enumerate(header) if h == "ID"]
        r[ids[0]], r[ids[1]], r[ids[2]] = deal_id, "c" + deal_id, "p" + deal_id
        for h, v in {"Стадия сделки": stage, "Сумма": amount, "Дата создания": created, "Ответственный": "Иванова Мария", "Валюта": "RUB"}.items():
            r[header.index(h)] = v
        return ";".join(f'"{x}"' if ";" in x else x for x in r)

    text = "\r\n".join([";".join(header), make("11", "Новая", "1500,50", "01.12.2022 10:00:00"), make("12", "Сделка успешна", "20000", "02.12.2022")]) + "\r\n"
    funnel = str(REPO / "params" / "funnels" / "bitrix24_default.yaml")
    ds = load(client({"DEAL_20221231.csv": text.encode("cp1251")}, preset="bitrix24", funnel=funnel, as_of="2022-12-31 23:59:59"))
    d = ds.tables["deals"]
    assert ds.quarantine.empty and d["deal_id"].tolist() == ["11", "12"]
    assert d["amount"].tolist() == [1500.5, 20000.0] and d["stage"].tolist() == ["new", "won"]
    assert ds.reports["deals"].mapped["deal_id"] == "ID"
    assert "closed_at" in ds.reports["deals"].missing_optional  # this portal exports no close date


@needs_realdata("crm_export_headers", "bitrix24_deal_export_header_reduced.txt")
def test_bitrix24_reduced_real_header_with_text_dates(client):
    header = _header("bitrix24_deal_export_header_reduced.txt")
    values = {"ID": "5", "Стадия сделки": "Счёт на предоплату", "Ответственный": "Петров", "Сумма": "12000", "Дата начала": "03.02.2023", "Название сделки": "X"}
    text = ";".join(header) + "\r\n" + ";".join(values.get(h, "") for h in header) + "\r\n"
    preset = REPO / "params" / "crm" / "bitrix24.yaml"
    # the reduced export has "Дата начала" but no "Дата создания": the whole file is refused with the key to change
    from salesaudit.errors import InputFileError

    funnel = str(REPO / "params" / "funnels" / "bitrix24_default.yaml")
    with pytest.raises(InputFileError) as err:
        load(client({"deals_feb.csv": text.encode("cp1251")}, preset="bitrix24", funnel=funnel))
    assert "'Дата создания'" in str(err.value) and "tables.deals.columns.created_at" in str(err.value) and preset.name in str(err.value)


@needs_realdata("crm_export_headers", "amocrm_leads_export_header.txt")
def test_amocrm_real_header_with_repeats_and_not_closed(client):
    header = _header("amocrm_leads_export_header.txt")
    assert header.count("Товар") == 2 and header.count("Источник") == 2
    header = [("Бюджет " if h == "Бюджет" else h) for h in header]  # the trailing-space variant
    values = {"ID": "77", "Бюджет ": "35000", "Ответственный": "Анна", "Дата создания сделки": "31-12-2025 14:05:00", "Дата закрытия": "не закрыта",
              "Этап сделки": "Переговоры", "Источник": "Сайт", "Товар": "Станок"}
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerow([values.get(h, "") for h in header])
    funnel = str(REPO / "params" / "funnels" / "amocrm_default.yaml")
    ds = load(client({"amocrm_export_leads_2025-12-31.csv": buf.getvalue()}, preset="amocrm", funnel=funnel))
    d = ds.tables["deals"]
    assert ds.quarantine.empty
    assert d.loc[0, "amount"] == 35000.0 and d.loc[0, "stage"] == "negotiation" and pd.isna(d.loc[0, "closed_at"])
    assert d.loc[0, "created_at"] == pd.Timestamp("2025-12-31 14:05") and d.loc[0, "channel"] == "Сайт"


def test_hubspot_pipedrive_salesforce_presets_read_their_documented_headers(client):
    funnels = REPO / "params" / "funnels"
    hub = ("Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Deal owner,Pipeline\n1,A,Closed Won,1000,2026-02-01 10:00,2026-01-05 09:00,Ann,Sales Pipeline\n"
           "2,B,qualifiedtobuy,500,,01/06/2026 09:00,Bob,Sales Pipeline\n")
    ds = load(client({"hubspot-crm-exports-all-deals-2026-02-01.csv": hub}, preset="hubspot", funnel=str(funnels / "hubspot_default.yaml")))
    d = ds.tables["deals"]
    assert d["stage"].tolist() == ["won", "qualified"] and d["outcome"].tolist() == ["won", "open"]
    assert d["created_at"].tolist() == [pd.Timestamp("2026-01-05 09:00"), pd.Timestamp("2026-01-06 09:00")]  # US month-first

    pipe = (
        "Deal - ID,Deal - Title,Deal - Value,Deal - Currency of Value,Deal - Stage,Deal - Status,Deal - Owner,Deal - Deal created,Deal - Won time,Deal - Lost time,Deal - Lost reason\n"
        "1,A,1000,EUR,Negotiations Started,Won,Ann,2026-01-05 09:00:00,2026-02-01 10:00:00,,\n"
        "2,B,500,EUR,Contact Made,Lost,Bob,2026-01-06 09:00:00,,2026-01-20 10:00:00,Price\n"
        "3,C,700,EUR,Proposal Made,Open,Bob,2026-01-07 09:00:00,,,\n"
        "4,D,700,EUR,Proposal Made,Deleted,Bob,2026-01-07 09:00:00,,,\n"
    )
    ds = load(client({"deals-2026.csv": pipe}, preset="pipedrive", funnel=str(funnels / "pipedrive_default.yaml")))
    d = ds.tables["deals"]
    assert d["stage"].tolist() == ["won", "lost", "proposal"] and d["outcome"].tolist() == ["won", "lost", "open"]
    assert d["closed_at"].tolist()[:2] == [pd.Timestamp("2026-02-01 10:00"), pd.Timestamp("2026-01-20 10:00")]
    assert ds.quarantine[["reason", "column", "value"]].values.tolist() == [["bad_value", "outcome", "Deleted"]]


def test_salesforce_history_gives_closed_at_in_local_time(client):
    funnels = REPO / "params" / "funnels"
    opp = ("Id,Name,StageName,Amount,CloseDate,CreatedDate,OwnerId,LeadSource\n006A,A,Closed Won,1000,2026-02-01,2026-01-05T06:00:00.000Z,005X,Web\n"
           "006B,B,Qualification,500,2026-03-01,2026-01-06T06:00:00.000Z,005Y,Phone\n")
    hist = ("Id,OpportunityId,StageName,CreatedDate,CreatedById\nh1,006A,Prospecting,2026-01-05T06:00:00.000Z,005X\n"
            "h2,006A,Closed Won,2026-02-01T07:30:00.000Z,005X\nh3,006B,Qualification,2026-01-06T06:00:00.000Z,005Y\n")
    ds = load(client({"Opportunity.csv": opp, "OpportunityHistory.csv": hist}, preset="salesforce", funnel=str(funnels / "salesforce_default.yaml"), timezone="Europe/Moscow"))
    d = ds.tables["deals"].set_index("deal_id")
    assert d.loc["006A", "created_at"] == pd.Timestamp("2026-01-05 09:00")  # UTC -> Europe/Moscow
    assert d.loc["006A", "closed_at"] == pd.Timestamp("2026-02-01 10:30") and pd.isna(d.loc["006B", "closed_at"])


def test_read_raw_reports_detected_encoding_and_separator(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("ID;Сумма\r\n1;2,5\r\n".encode("cp1251"))
    df, info = read_raw(p)
    assert info == {"encoding": "cp1251", "sep": ";"} and df["Сумма"].tolist() == ["2,5"] and df["_row"].tolist() == [2]
