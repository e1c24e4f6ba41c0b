"""The data-quality page (notebook 00) in one language, made from a :class:`~salesaudit.analysis.quality.QualityResult`.

Headers, codes and yes/no come from the message catalogue; the numbers are the result's own.
"""
from __future__ import annotations

import html as _html

import pandas as pd

from . import format as fmt_
from .i18n import has, t
from .page import Figure, Heading, Html, Page, Table, Text
from .verdict import problem_text

__all__ = ["page", "warnings_html", "plot_quarantine", "plot_completeness", "plot_monthly_volume"]


def _yes(flag: bool, lang: str) -> str:
    return t("index.yes" if flag else "index.no", lang)


def _table(name: str, lang: str) -> str:
    return t(f"table.{name}", lang)


def field(name: str, lang: str) -> str:
    """A canonical column (``created_at``) in words (``Created``); a column the catalogue does not know as it is."""
    key = f"page.field.{name}"
    return t(key, lang) if has(key) else name


def _fields(names, lang: str) -> str:
    return ", ".join(field(n, lang) for n in names) or fmt_.DASH


def crm_name(preset: str, lang: str) -> str:
    """The CRM a preset reads, in words (a client's own preset: its name)."""
    key = f"page.crm.{preset}"
    return t(key, lang) if has(key) else preset


def warnings_html(texts: list[str], lang: str) -> str:
    """The load verdict's warnings as a box (empty when there are none)."""
    if not texts:
        return ""
    items = []
    for text in texts:
        first, _, rest = text.partition("\n")
        block = f"<pre>{_html.escape(rest)}</pre>" if rest else ""
        items.append(f"<li>{_html.escape(first)}{block}</li>")
    return (
        '<div class="salesaudit-warnings" style="border:1px solid #e0a800;border-left:6px solid #e0a800;'
        'background:#fff8e1;padding:8px 14px;margin:8px 0 16px;border-radius:4px">'
        f"<strong>{_html.escape(t('dq.load_warnings', lang, n=len(texts)))}</strong><ol>{''.join(items)}</ol></div>"
    )


# ---------------------------------------------------------------------------
# tables in the page's language


def loaded_table(r, lang: str) -> pd.DataFrame:
    d = r.loaded_
    return pd.DataFrame({
        t("dq.col.table", lang): [_table(n, lang) for n in d["table"]],
        t("dq.col.status", lang): [t(f"dq.status.{s}", lang) for s in d["status"]],
        t("dq.col.files", lang): [", ".join(f) or "—" for f in d["files"]],
        t("dq.col.accepted", lang): d["accepted"].to_numpy(),
        t("dq.col.mapped", lang): d["mapped"].to_numpy(),
        t("dq.col.missing_optional", lang): [_fields(m, lang) for m in d["missing_optional"]],
    })


def reconciliation_table(r, lang: str) -> pd.DataFrame:
    d = r.reconciliation_
    return pd.DataFrame({
        t("dq.col.table", lang): [_table(n, lang) for n in d["table"]],
        t("dq.col.input", lang): d["input"].to_numpy(),
        t("dq.col.accepted", lang): d["accepted"].to_numpy(),
        t("dq.col.quarantined", lang): d["quarantined"].to_numpy(),
        t("dq.col.share_quarantined", lang): d["share_quarantined"].to_numpy(),
        t("dq.col.balanced", lang): [_yes(b, lang) for b in d["balanced"]],
    })


def quarantine_table(r, lang: str) -> pd.DataFrame:
    d = r.quarantine_
    return pd.DataFrame({
        t("dq.col.table", lang): [_table(n, lang) for n in d["table"]],
        t("dq.col.reason", lang): [t(f"reason.{c}", lang) for c in d["reason"]],
        t("dq.col.rows", lang): d["rows"].to_numpy(),
    }).reset_index(drop=True)


def example_table(rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Quarantined rows with the cells as they were in the export; tables and columns named in words."""
    rows = rows.assign(table=[_table(n, lang) for n in rows["table"]],
                       column=[field(c, lang) if isinstance(c, str) and c else fmt_.DASH for c in rows["column"]])
    fixed = {"table": t("dq.col.table", lang), "file": t("dq.col.file", lang), "row": t("dq.col.row", lang),
             "column": t("dq.col.column", lang), "value": t("dq.col.value", lang)}
    return rows.rename(columns={c: fixed.get(c) or field(c, lang) for c in rows.columns})


def completeness_table(r, lang: str) -> pd.DataFrame:
    d = r.completeness_
    return pd.DataFrame({
        t("dq.col.column", lang): [field(c, lang) for c in d["column"]],
        t("dq.col.required", lang): [_yes(b, lang) for b in d["required"]],
        t("dq.col.in_export", lang): [_yes(b, lang) for b in d["in_export"]],
        t("dq.col.filled", lang): d["filled"].to_numpy(),
    })


def empty_cards_table(r, lang: str) -> pd.DataFrame:
    d = r.empty_cards_
    if d.empty:
        return pd.DataFrame()
    fields = [f for f in r.required_deal_fields if f != "manager"]
    none = t("dq.no_manager", lang)
    # a manager by name (by the key where the managers table has no name): keys are the CRM's ids, not for a reader
    names = [none if (m is None or pd.isna(m)) else (n if isinstance(n, str) and n else m)
             for m, n in zip(d["manager"].astype(object), d["name"].astype(object))]
    d = d.drop(columns=["manager", "name"]).assign(manager=names)
    d = d[["manager"] + [c for c in d.columns if c != "manager"]]
    return d.rename(columns={
        "manager": t("dq.col.manager", lang), "deals": t("dq.col.deals", lang),
        "empty": t("dq.col.empty_cards", lang), "share": t("dq.col.share_empty", lang),
        **{f: t("dq.col.missing_field", lang, field=field(f, lang)) for f in fields},
    })


def date_ranges_table(r, lang: str) -> pd.DataFrame:
    d = r.date_ranges_
    if d.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        t("dq.col.table", lang): [_table(n, lang) for n in d["table"]],
        t("dq.col.column", lang): [field(c, lang) for c in d["column"]],
        t("dq.col.first", lang): d["first"].to_numpy(),
        t("dq.col.last", lang): d["last"].to_numpy(),
        t("dq.col.rows", lang): d["rows"].to_numpy(),
    })


def stage_mapping_table(r, lang: str) -> pd.DataFrame:
    d = r.stage_mapping_
    unknown = t("dq.unknown_stage", lang)
    return pd.DataFrame({
        t("dq.col.table", lang): [_table(n, lang) for n in d["table"]],
        t("dq.col.source_stage", lang): d["source"].to_numpy(),
        t("dq.col.stage", lang): [r.funnel_labels[s][lang] if s in r.funnel_labels else unknown for s in d["stage"]],
        t("dq.col.rows", lang): d["rows"].to_numpy(),
    }).reset_index(drop=True)


def references_table(r, lang: str) -> pd.DataFrame:
    d = r.references_
    return pd.DataFrame({
        t("dq.col.check", lang): [t(f"dq.check.{c}", lang) for c in d["check"]],
        t("dq.col.table", lang): [_table(n, lang) for n in d["table"]],
        t("dq.col.broken", lang): d["broken"].to_numpy(),
        t("dq.col.of", lang): d["of"].to_numpy(),
    })


# ---------------------------------------------------------------------------
# plots


def _sns():
    from .show import plotting

    return plotting()[1]


def plot_quarantine(r, lang: str):
    """Horizontal bars: quarantined rows per reason, coloured by table."""
    sns = _sns()
    import matplotlib.pyplot as plt

    s = quarantine_table(r, lang)
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


def plot_completeness(r, lang: str):
    """Filled share of each deal field the export has, the emptiest first."""
    sns = _sns()
    import matplotlib.pyplot as plt

    c = completeness_table(r, lang)
    c = c[c[t("dq.col.in_export", lang)] == t("index.yes", lang)]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(c) + 1))
    sns.barplot(data=c, y=t("dq.col.column", lang), x=t("dq.col.filled", lang), color="#4c72b0", ax=ax)
    ax.set_xlim(0, 1)
    ax.set_title(t("dq.plot.completeness", lang))
    if r.deals_missing_optional:
        ax.set_xlabel(t("dq.plot.not_in_export", lang, columns=_fields(r.deals_missing_optional, lang)))
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


_SERIES_LABEL = {"leads": "table.leads", "deals": "table.deals", "won_deals": "dq.won_deals", "payments": "table.payments"}


def plot_monthly_volume(r, lang: str):
    """Rows per month for leads, deals, won deals and payments: gaps and ramps show at a glance."""
    _sns()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    for kind, g in r.monthly_.groupby("series", sort=False):
        if len(g):
            ax.plot(g["month"], g["rows"].to_numpy(), marker="o", ms=3, label=t(_SERIES_LABEL[kind], lang))
    ax.set_title(t("dq.plot.monthly", lang))
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# the page


def page(r, lang: str) -> Page:
    """Notebook 00's page: what was loaded, the reconciliation, the quarantine, completeness, dates, stages, links."""
    p = Page(lang=lang)
    p.add(Heading(t("dq.title", lang, client=r.client), 1),
          Text(t("dq.intro", lang, crm=crm_name(r.preset, lang), as_of=fmt_.datetime_(r.as_of, lang))),
          Text(t("problem.timezone", lang, timezone=r.timezone)))
    warnings = [problem_text(pr, lang) for pr in r.problems if not pr.fatal]
    if warnings:
        p.add(Html(warnings_html(warnings, lang)))

    p.add(Heading(t("dq.loaded", lang)), Table(loaded_table(r, lang)))
    if r.notes:
        p.add(Heading(t("dq.notes", lang), 3))
        p.add(*[Text(t(key, lang, **{**fmt, **({"n": fmt_.integer(fmt["n"], lang)} if "n" in fmt else {})})) for key, fmt in r.notes])

    if r.pull and r.pull.get("deals"):
        pu = r.pull
        p.add(Heading(t("dq.pull", lang), 3),
              Text(t("dq.pull_text", lang, crm=crm_name(pu.get("crm") or r.preset, lang), deals=fmt_.integer(pu["deals"], lang),
                     start=fmt_.integer(pu.get("deals_starting_at_creation") or 0, lang),
                     share=fmt_.percent(pu.get("share_starting_at_creation") or 0, lang, 1),
                     without=fmt_.integer(pu.get("deals_without_history") or 0, lang), gaps=fmt_.integer(pu.get("deals_with_gaps") or 0, lang),
                     earliest=fmt_.date(pd.Timestamp(pu["earliest_history"]), lang) if pu.get("earliest_history") else fmt_.DASH)))
    p.add(Heading(t("dq.reconciliation", lang)), Table(reconciliation_table(r, lang)))
    k = r.key_figures()
    if k["all_balanced"]:
        p.add(Text(t("dq.balanced_ok", lang, count=k["rows_input"], input=fmt_.integer(k["rows_input"], lang),
                        accepted=fmt_.integer(k["rows_accepted"], lang), quarantined=fmt_.integer(k["rows_quarantined"], lang))))
    else:
        bad = r.reconciliation_.loc[~r.reconciliation_["balanced"], "table"]
        p.add(Text(t("dq.balanced_bad", lang, tables=", ".join(_table(n, lang) for n in bad))))

    p.add(Heading(t("dq.quarantine", lang)))
    if r.quarantine_.empty:
        p.add(Text(t("dq.no_quarantine", lang)))
    else:
        p.add(Table(quarantine_table(r, lang)), Figure(plot_quarantine(r, lang)))
    if r.examples_:
        p.add(Heading(t("dq.examples", lang), 3))
        for code, rows in r.examples_.items():
            p.add(Text(t("dq.example_of", lang, reason=t(f"reason.{code}", lang))), Table(example_table(rows, lang)))

    p.add(Heading(t("dq.completeness", lang)))
    if r.has_deals:
        p.add(Figure(plot_completeness(r, lang)),
              Heading(t("dq.empty_cards", lang, fields=_fields(r.required_deal_fields, lang)), 3),
              Table(empty_cards_table(r, lang)))
    else:
        p.add(Text(t("dq.no_table", lang, table=_table("deals", lang))))

    p.add(Heading(t("dq.dates", lang)), Table(date_ranges_table(r, lang)), Figure(plot_monthly_volume(r, lang)))
    p.add(Heading(t("dq.stages", lang)), Table(stage_mapping_table(r, lang), max_rows=60))
    if len(r.references_):
        p.add(Heading(t("dq.references", lang)), Table(references_table(r, lang)))
    return p
