"""Data quality of a loaded dataset: what was loaded, what was quarantined and why, how complete the
deal cards are, which dates the data covers, how stages were mapped, which links point nowhere.

``analyse(dataset) -> QualityResult``: tables with canonical column names and codes, no language,
no formatting, no plotting. The page a reader sees is made from the result by
:mod:`salesaudit.report.quality`; the key figures notebook 00 records come from
:meth:`QualityResult.key_figures`, never from a second computation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..data.dataset import Dataset
from ..data.loader import REASONS
from ..data.model import TABLE_ORDER, TABLES

__all__ = ["QualityResult", "analyse"]


@dataclass(frozen=True)
class QualityResult:
    """What notebook 00 reports, computed once.

    Tables (canonical column names; ``table``, ``reason`` and ``stage`` hold codes):

    * ``loaded_`` – per canonical table: status, files, accepted rows, columns mapped, optional columns the export lacks;
    * ``reconciliation_`` – per loaded table: input, accepted, quarantined, share quarantined, balanced;
    * ``quarantine_`` – quarantined rows per table and reason, the largest first;
    * ``examples_`` – per reason: its first rows as they were in the export;
    * ``completeness_`` – per deal column: required, in the export, share filled (the emptiest first);
    * ``empty_cards_`` – per manager: deals, deals with an empty required field, share, per field;
    * ``date_ranges_`` – per date column: first, last, rows with a value;
    * ``stage_mapping_`` – each stage name of the export, the funnel stage it became, its rows;
    * ``references_`` – links that point nowhere: kept rows whose deal or manager is unknown;
    * ``monthly_`` – rows per month of leads, deals, won deals and payments.
    """

    client: str
    data: str
    preset: str
    timezone: str
    as_of: pd.Timestamp
    required_deal_fields: tuple
    deals_missing_optional: tuple
    funnel_labels: dict
    loaded_: pd.DataFrame
    reconciliation_: pd.DataFrame
    quarantine_: pd.DataFrame
    examples_: dict
    completeness_: pd.DataFrame
    empty_cards_: pd.DataFrame
    date_ranges_: pd.DataFrame
    stage_mapping_: pd.DataFrame
    references_: pd.DataFrame
    monthly_: pd.DataFrame
    notes: tuple = field(default_factory=tuple)
    problems: tuple = field(default_factory=tuple)
    has_deals: bool = False
    deals_first_created: pd.Timestamp | None = None
    deals_last_created: pd.Timestamp | None = None
    deals_with_empty_required_field: int | None = None
    #: a folder ``salesaudit pull`` wrote: how complete the CRM's stage history is (its PULL_REPORT.json), else None
    pull: dict | None = None

    @property
    def all_balanced(self) -> bool:
        return bool(self.reconciliation_["balanced"].all()) if len(self.reconciliation_) else True

    def key_figures(self) -> dict:
        """The key results of notebook 00's JSON (language-neutral), read off this result."""
        rec = self.reconciliation_
        out = {
            "tables_loaded": [str(n) for n in rec["table"]],
            "rows_input": int(rec["input"].sum()),
            "rows_accepted": int(rec["accepted"].sum()),
            "rows_quarantined": int(rec["quarantined"].sum()),
            "all_balanced": bool(self.all_balanced and self.loaded_["balanced"].all()),
            "per_table": {r.table: {"input": int(r.input), "accepted": int(r.accepted), "quarantined": int(r.quarantined)} for r in rec.itertuples()},
            "quarantine_by_reason": {f"{r.table}.{r.reason}": int(r.rows) for r in self.quarantine_.sort_values(["table", "reason"]).itertuples()},
        }
        if self.has_deals:
            out["deals_with_empty_required_field"] = int(self.deals_with_empty_required_field)
            out["deals_first_created"] = str(self.deals_first_created)
            out["deals_last_created"] = str(self.deals_last_created)
        return out


def _loaded(ds: Dataset) -> pd.DataFrame:
    rows = []
    for name in TABLE_ORDER:
        rep = ds.reports[name]
        rows.append({"table": name, "status": rep.status, "files": list(rep.files), "accepted": rep.accepted, "mapped": len(rep.mapped),
                     "missing_optional": list(rep.missing_optional), "balanced": rep.input_rows == rep.accepted + rep.quarantined})
    return pd.DataFrame(rows)


def _reconciliation(ds: Dataset) -> pd.DataFrame:
    rec = ds.reconciliation()
    rec = rec[rec["status"] == "loaded"]
    share = (rec["quarantined"] / rec["input"].where(rec["input"] > 0)).round(4).fillna(0.0)
    return pd.DataFrame({
        "table": rec["table"].to_numpy(), "input": rec["input"].to_numpy(), "accepted": rec["accepted"].to_numpy(),
        "quarantined": rec["quarantined"].to_numpy(), "share_quarantined": share.to_numpy(), "balanced": rec["balanced"].to_numpy(dtype=bool),
    })


def _quarantine(ds: Dataset) -> pd.DataFrame:
    q = ds.quarantine
    if q.empty:
        return pd.DataFrame({"table": pd.Series(dtype=object), "reason": pd.Series(dtype=object), "rows": pd.Series(dtype="int64")})
    g = q.groupby(["table", "reason"]).size().reset_index(name="rows")
    order = {r: i for i, r in enumerate(REASONS)}
    g["_o"] = g["reason"].map(order)
    g = g.sort_values(["rows", "table", "_o"], ascending=[False, True, True], kind="stable")
    return g.drop(columns="_o").reset_index(drop=True)


def _examples(ds: Dataset, n: int) -> dict:
    return {code: ds.quarantine_examples(code, n) for code in REASONS if (ds.quarantine["reason"] == code).any()}


def _completeness(ds: Dataset, table: str) -> pd.DataFrame:
    if not ds.has(table):
        return pd.DataFrame(columns=["column", "required", "in_export", "filled"])
    df = ds.tables[table]
    rows = []
    for col in TABLES[table].columns:
        if col.name == "outcome" or (table == "leads" and col.name == "status" and "status" not in ds.reports[table].mapped):
            continue
        filled = float(df[col.name].notna().mean()) if len(df) else 0.0
        rows.append({"column": col.name, "required": col.required, "in_export": col.name in ds.reports[table].mapped, "filled": round(filled, 4)})
    return pd.DataFrame(rows).sort_values("filled", kind="stable").reset_index(drop=True)


def _empty_cards(ds: Dataset) -> pd.DataFrame:
    """Per manager: deals whose card lacks a field of ``required_deal_fields`` (the manager aside); worst share first."""
    if not ds.has("deals") or ds.tables["deals"].empty:
        return pd.DataFrame()
    deals = ds.tables["deals"]
    fields = [f for f in ds.config.required_deal_fields if f != "manager"]
    missing = deals[fields].isna()
    frame = pd.DataFrame({"manager": deals["manager"].astype(object).where(deals["manager"].notna(), None), "empty": missing.any(axis=1)})
    for f in fields:
        frame[f] = missing[f]
    g = frame.groupby("manager", sort=True, dropna=False).agg(deals=("empty", "size"), empty=("empty", "sum"), **{f: (f, "sum") for f in fields})
    g["share"] = (g["empty"] / g["deals"]).round(4)
    names = ds.manager_names()
    g = g.sort_values(["share", "empty"], ascending=False, kind="stable").reset_index()
    g.insert(1, "name", [names.get(m, m) if m is not None and not pd.isna(m) else None for m in g["manager"].astype(object)])
    return g


def _date_ranges(ds: Dataset) -> pd.DataFrame:
    rows = []
    for name in TABLE_ORDER:
        if not ds.has(name):
            continue
        df = ds.tables[name]
        for col in TABLES[name].columns:
            if col.kind != "datetime":
                continue
            s = df[col.name].dropna()
            rows.append({"table": name, "column": col.name, "first": s.min() if len(s) else pd.NaT, "last": s.max() if len(s) else pd.NaT, "rows": int(len(s))})
    return pd.DataFrame(rows)


def _stage_mapping(ds: Dataset) -> pd.DataFrame:
    sm = ds.stage_mapping
    return sm[sm["source"] != ""].reset_index(drop=True)


def _references(ds: Dataset) -> pd.DataFrame:
    rows = []
    deal_ids = set(ds.tables["deals"]["deal_id"].dropna()) if ds.has("deals") else None
    managers = set(ds.tables["managers"]["manager"].dropna()) if ds.has("managers") else None
    for name in ("leads", "activities"):
        if ds.has(name) and deal_ids is not None:
            ref = ds.tables[name]["deal_id"].dropna()
            rows.append({"check": "deal", "table": name, "broken": int((~ref.isin(deal_ids)).sum()), "of": int(len(ref))})
    if managers is not None:
        for name in ("leads", "deals", "activities", "plans"):
            if ds.has(name):
                ref = ds.tables[name]["manager"].dropna()
                rows.append({"check": "manager", "table": name, "broken": int((~ref.isin(managers)).sum()), "of": int(len(ref))})
    return pd.DataFrame(rows, columns=["check", "table", "broken", "of"])


def _monthly(ds: Dataset) -> pd.DataFrame:
    """Rows per month: leads, deals, won deals and payments (gaps and ramps show at a glance)."""
    series = {}
    if ds.has("leads"):
        series["leads"] = ds.tables["leads"]["created_at"]
    if ds.has("deals"):
        d = ds.tables["deals"]
        series["deals"] = d["created_at"]
        series["won_deals"] = d.loc[d["outcome"] == "won", "closed_at"]
    if ds.has("payments"):
        series["payments"] = ds.tables["payments"]["paid_at"]
    frames = []
    for kind, s in series.items():
        m = s.dropna().dt.to_period("M").value_counts().sort_index()
        frames.append(pd.DataFrame({"series": kind, "month": m.index.to_timestamp(), "rows": m.to_numpy()}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["series", "month", "rows"])


def analyse(ds: Dataset, settings=None, *, examples: int = 2) -> QualityResult:
    """The data-quality result of a loaded dataset (``examples``: rows shown per quarantine reason)."""
    has_deals = ds.has("deals") and len(ds.tables["deals"]) > 0
    deals = ds.tables["deals"] if has_deals else None
    notes = tuple((key, dict(fmt)) for rep in ds.reports.values() for key, fmt in rep.notes)
    return QualityResult(
        client=ds.config.client,
        data=ds.config.data.name,
        preset=ds.preset.name,
        timezone=ds.timezone,
        as_of=pd.Timestamp(ds.as_of),
        required_deal_fields=tuple(ds.config.required_deal_fields),
        deals_missing_optional=tuple(ds.reports["deals"].missing_optional) if "deals" in ds.reports else (),
        funnel_labels={k: {"ru": ds.funnel.label(k, "ru"), "en": ds.funnel.label(k, "en")} for k in ds.funnel.keys},
        loaded_=_loaded(ds),
        reconciliation_=_reconciliation(ds),
        quarantine_=_quarantine(ds),
        examples_=_examples(ds, examples),
        completeness_=_completeness(ds, "deals"),
        empty_cards_=_empty_cards(ds),
        date_ranges_=_date_ranges(ds),
        stage_mapping_=_stage_mapping(ds),
        references_=_references(ds),
        monthly_=_monthly(ds),
        notes=notes,
        problems=tuple(ds.problems),
        has_deals=bool(has_deals),
        deals_first_created=deals["created_at"].min() if has_deals else None,
        deals_last_created=deals["created_at"].max() if has_deals else None,
        deals_with_empty_required_field=int(deals[list(ds.config.required_deal_fields)].isna().any(axis=1).sum()) if has_deals else None,
        pull=ds.facts.get("pull"),
    )
