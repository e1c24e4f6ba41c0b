"""Data quality of a loaded dataset: what was loaded, what was quarantined and why,
how complete the deal cards are, which dates the data covers, how stages were mapped.

Every function takes a :class:`~salesaudit.data.loader.Dataset` and returns a tidy
DataFrame whose column names are in the report language; ``plot_*`` functions
return a matplotlib Figure. ``summary(ds)`` gives the key results that
notebook 00 records.
"""
from __future__ import annotations

import pandas as pd

from ..data.loader import REASONS, Dataset
from ..data.model import TABLE_ORDER, TABLES
from ..report.i18n import t

__all__ = [
    "loaded_tables",
    "reconciliation",
    "quarantine_summary",
    "quarantine_examples",
    "completeness",
    "empty_deal_cards",
    "date_ranges",
    "stage_mapping",
    "reference_checks",
    "summary",
    "plot_quarantine",
    "plot_completeness",
    "plot_monthly_volume",
]


def _tl(key: str, lang: str) -> str:
    return t(key, lang)


def table_label(name: str, lang: str) -> str:
    return t(f"table.{name}", lang)


def reason_label(code: str, lang: str) -> str:
    return t(f"reason.{code}", lang)


def loaded_tables(ds: Dataset, lang: str) -> pd.DataFrame:
    """One row per canonical table: status, files, rows accepted, columns found and missing."""
    rows = []
    for name in TABLE_ORDER:
        rep = ds.reports[name]
        rows.append(
            {
                t("dq.col.table", lang): table_label(name, lang),
                t("dq.col.status", lang): t(f"dq.status.{rep.status}", lang),
                t("dq.col.files", lang): ", ".join(rep.files) or "—",
                t("dq.col.accepted", lang): rep.accepted,
                t("dq.col.mapped", lang): len(rep.mapped),
                t("dq.col.missing_optional", lang): ", ".join(rep.missing_optional) or "—",
            }
        )
    return pd.DataFrame(rows)


def reconciliation(ds: Dataset, lang: str) -> pd.DataFrame:
    """Input rows = accepted + quarantined, per table loaded."""
    rec = ds.reconciliation()
    rec = rec[rec["status"] == "loaded"]
    return pd.DataFrame(
        {
            t("dq.col.table", lang): [table_label(n, lang) for n in rec["table"]],
            t("dq.col.input", lang): rec["input"].to_numpy(),
            t("dq.col.accepted", lang): rec["accepted"].to_numpy(),
            t("dq.col.quarantined", lang): rec["quarantined"].to_numpy(),
            t("dq.col.share_quarantined", lang): (rec["quarantined"] / rec["input"].where(rec["input"] > 0)).round(4).fillna(0.0).to_numpy(),
            t("dq.col.balanced", lang): [t("index.yes" if b else "index.no", lang) for b in rec["balanced"]],
        }
    )


def quarantine_summary(ds: Dataset, lang: str) -> pd.DataFrame:
    """Quarantined rows per table and reason, the largest first."""
    q = ds.quarantine
    if q.empty:
        return pd.DataFrame(columns=[t("dq.col.table", lang), t("dq.col.reason", lang), t("dq.col.code", lang), t("dq.col.rows", lang)])
    g = q.groupby(["table", "reason"]).size().reset_index(name="rows")
    order = {r: i for i, r in enumerate(REASONS)}
    g["_o"] = g["reason"].map(order)
    g = g.sort_values(["rows", "table", "_o"], ascending=[False, True, True], kind="stable")
    return pd.DataFrame(
        {
            t("dq.col.table", lang): [table_label(n, lang) for n in g["table"]],
            t("dq.col.reason", lang): [reason_label(r, lang) for r in g["reason"]],
            t("dq.col.code", lang): g["reason"].to_numpy(),
            t("dq.col.rows", lang): g["rows"].to_numpy(),
        }
    ).reset_index(drop=True)


def quarantine_examples(ds: Dataset, lang: str, n: int = 2) -> dict[str, pd.DataFrame]:
    """For every reason that occurs: its first ``n`` rows as they were in the export."""
    out = {}
    for code in REASONS:
        if (ds.quarantine["reason"] == code).any():
            ex = ds.quarantine_examples(code, n)
            ex = ex.rename(columns={"table": t("dq.col.table", lang), "file": t("dq.col.file", lang), "row": t("dq.col.row", lang),
                                    "column": t("dq.col.column", lang), "value": t("dq.col.value", lang)})
            out[code] = ex
    return out


def completeness(ds: Dataset, table: str, lang: str) -> pd.DataFrame:
    """Share of filled cells per canonical column of ``table``, the emptiest first."""
    df = ds.tables[table]
    spec = TABLES[table]
    rows = []
    for col in spec.columns:
        if col.name == "outcome" or (table == "leads" and col.name == "status" and "status" not in ds.reports[table].mapped):
            continue
        filled = float(df[col.name].notna().mean()) if len(df) else 0.0
        rows.append(
            {
                t("dq.col.column", lang): col.name,
                t("dq.col.required", lang): t("index.yes" if col.required else "index.no", lang),
                t("dq.col.in_export", lang): t("index.yes" if col.name in ds.reports[table].mapped else "index.no", lang),
                t("dq.col.filled", lang): round(filled, 4),
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values(t("dq.col.filled", lang), kind="stable").reset_index(drop=True)


def empty_deal_cards(ds: Dataset, lang: str) -> pd.DataFrame:
    """Per manager: deals whose card lacks a field the run config marks as required.

    The fields are ``required_deal_fields`` of the run config; worst share first.
    """
    deals = ds.tables["deals"]
    fields = [f for f in ds.config.required_deal_fields if f != "manager"]
    if deals.empty:
        return pd.DataFrame()
    missing = deals[fields].isna()
    frame = pd.DataFrame({"manager": deals["manager"].fillna(t("dq.no_manager", lang)), "empty": missing.any(axis=1)})
    for f in fields:
        frame[f] = missing[f]
    g = frame.groupby("manager", sort=True).agg(deals=("empty", "size"), empty=("empty", "sum"), **{f: (f, "sum") for f in fields})
    g["share"] = (g["empty"] / g["deals"]).round(4)
    names = ds.manager_names()
    g = g.sort_values(["share", "empty"], ascending=False, kind="stable").reset_index()
    g.insert(1, "name", [names.get(m, m) for m in g["manager"].astype(object)])
    return g.rename(
        columns={
            "manager": t("dq.col.manager", lang),
            "name": t("dq.col.name", lang),
            "deals": t("dq.col.deals", lang),
            "empty": t("dq.col.empty_cards", lang),
            "share": t("dq.col.share_empty", lang),
            **{f: t("dq.col.missing_field", lang, field=f) for f in fields},
        }
    )


def date_ranges(ds: Dataset, lang: str) -> pd.DataFrame:
    """First and last value of every date column, with how many rows have one."""
    rows = []
    for name in TABLE_ORDER:
        if not ds.has(name):
            continue
        df = ds.tables[name]
        for col in TABLES[name].columns:
            if col.kind != "datetime":
                continue
            s = df[col.name].dropna()
            rows.append(
                {
                    t("dq.col.table", lang): table_label(name, lang),
                    t("dq.col.column", lang): col.name,
                    t("dq.col.first", lang): s.min() if len(s) else pd.NaT,
                    t("dq.col.last", lang): s.max() if len(s) else pd.NaT,
                    t("dq.col.rows", lang): int(len(s)),
                }
            )
    return pd.DataFrame(rows)


def stage_mapping(ds: Dataset, lang: str) -> pd.DataFrame:
    """Each stage name found in the export, the funnel stage it became, and its row count."""
    sm = ds.stage_mapping
    sm = sm[sm["source"] != ""]
    labels = {k: ds.funnel.label(k, lang) for k in ds.funnel.keys}
    unknown = t("dq.unknown_stage", lang)
    return pd.DataFrame(
        {
            t("dq.col.table", lang): [table_label(n, lang) for n in sm["table"]],
            t("dq.col.source_stage", lang): sm["source"].to_numpy(),
            t("dq.col.stage_key", lang): sm["stage"].replace("", "—").to_numpy(),
            t("dq.col.stage", lang): [labels.get(s, unknown) for s in sm["stage"]],
            t("dq.col.rows", lang): sm["rows"].to_numpy(),
        }
    ).reset_index(drop=True)


def reference_checks(ds: Dataset, lang: str) -> pd.DataFrame:
    """Links that point nowhere: kept rows whose deal or manager is not in the dataset."""
    rows = []
    deal_ids = set(ds.tables["deals"]["deal_id"].dropna()) if ds.has("deals") else None
    managers = set(ds.tables["managers"]["manager"].dropna()) if ds.has("managers") else None
    for name in ("leads", "activities"):
        if ds.has(name) and deal_ids is not None:
            ref = ds.tables[name]["deal_id"].dropna()
            rows.append({"check": "deal", "table": name, "n": int((~ref.isin(deal_ids)).sum()), "of": int(len(ref))})
    if managers is not None:
        for name in ("leads", "deals", "activities", "plans"):
            if ds.has(name):
                ref = ds.tables[name]["manager"].dropna()
                rows.append({"check": "manager", "table": name, "n": int((~ref.isin(managers)).sum()), "of": int(len(ref))})
    return pd.DataFrame(
        {
            t("dq.col.check", lang): [t(f"dq.check.{r['check']}", lang) for r in rows],
            t("dq.col.table", lang): [table_label(r["table"], lang) for r in rows],
            t("dq.col.broken", lang): [r["n"] for r in rows],
            t("dq.col.of", lang): [r["of"] for r in rows],
        }
    )


def summary(ds: Dataset) -> dict:
    """Key results of the data-quality check (language-neutral), for ``record``."""
    rec = ds.reconciliation()
    loaded = rec[rec["status"] == "loaded"]
    out = {
        "tables_loaded": [str(n) for n in loaded["table"]],
        "rows_input": int(loaded["input"].sum()),
        "rows_accepted": int(loaded["accepted"].sum()),
        "rows_quarantined": int(loaded["quarantined"].sum()),
        "all_balanced": bool(rec["balanced"].all()),
        "per_table": {r.table: {"input": int(r.input), "accepted": int(r.accepted), "quarantined": int(r.quarantined)} for r in loaded.itertuples()},
        "quarantine_by_reason": {f"{k[0]}.{k[1]}": int(v) for k, v in ds.quarantine.groupby(["table", "reason"]).size().items()},
    }
    if ds.has("deals") and len(ds.tables["deals"]):
        fields = [f for f in ds.config.required_deal_fields]
        out["deals_with_empty_required_field"] = int(ds.tables["deals"][fields].isna().any(axis=1).sum())
        out["deals_first_created"] = str(ds.tables["deals"]["created_at"].min())
        out["deals_last_created"] = str(ds.tables["deals"]["created_at"].max())
    return out


# ---------------------------------------------------------------------------
# plots


def _sns():
    from ..report.show import plotting

    return plotting()[1]


def plot_quarantine(ds: Dataset, lang: str):
    """Horizontal bars: quarantined rows per reason, coloured by table."""
    sns = _sns()
    import matplotlib.pyplot as plt

    s = quarantine_summary(ds, lang)
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(s), 2) + 1))
    if s.empty:
        ax.text(0.5, 0.5, t("dq.no_quarantine", lang), ha="center", va="center")
        ax.set_axis_off()
        return fig
    s = s.assign(_label=s[t("dq.col.table", lang)] + ": " + s[t("dq.col.reason", lang)])
    sns.barplot(data=s, y="_label", x=t("dq.col.rows", lang), hue=t("dq.col.table", lang), dodge=False, ax=ax)
    ax.legend_.remove() if ax.legend_ else None
    ax.set_title(t("dq.plot.quarantine", lang))
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


def plot_completeness(ds: Dataset, lang: str):
    """Filled share of each optional deal field, the emptiest first."""
    sns = _sns()
    import matplotlib.pyplot as plt

    c = completeness(ds, "deals", lang)
    c = c[c[t("dq.col.in_export", lang)] == t("index.yes", lang)]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(c) + 1))
    sns.barplot(data=c, y=t("dq.col.column", lang), x=t("dq.col.filled", lang), color="#4c72b0", ax=ax)
    ax.set_xlim(0, 1)
    ax.set_title(t("dq.plot.completeness", lang))
    missing = ds.reports["deals"].missing_optional
    if missing:
        ax.set_xlabel(t("dq.plot.not_in_export", lang, columns=", ".join(missing)))
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


def plot_monthly_volume(ds: Dataset, lang: str):
    """Rows per month for leads, deals, won deals and payments: gaps and ramps show at a glance."""
    _sns()
    import matplotlib.pyplot as plt

    series = {}
    if ds.has("leads"):
        series[t("table.leads", lang)] = ds.tables["leads"]["created_at"]
    if ds.has("deals"):
        d = ds.tables["deals"]
        series[t("table.deals", lang)] = d["created_at"]
        series[t("dq.won_deals", lang)] = d.loc[d["outcome"] == "won", "closed_at"]
    if ds.has("payments"):
        series[t("table.payments", lang)] = ds.tables["payments"]["paid_at"]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for label, s in series.items():
        m = s.dropna().dt.to_period("M").value_counts().sort_index()
        if len(m):
            ax.plot(m.index.to_timestamp(), m.to_numpy(), marker="o", ms=3, label=label)
    ax.set_title(t("dq.plot.monthly", lang))
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig
