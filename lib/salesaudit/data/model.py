"""The canonical data model: seven tables every CRM export is mapped into.

Each table is a :class:`TableSpec` with typed :class:`Column` entries. Loaders
(``salesaudit.data.loader``) turn raw exports into DataFrames whose columns and
dtypes are exactly these; analyses declare which tables they need with
:func:`require_tables`.

Column kinds and their pandas dtypes:

========  =======================  ===============================================
kind      pandas dtype             notes
========  =======================  ===============================================
id        ``string``               identifiers are kept as text, never as numbers
str       ``string``
category  ``string``               value must be one of ``Column.allowed``
datetime  ``datetime64[ns]``       naive, local time of the working calendar
float     ``float64``
========  =======================  ===============================================

>>> TABLES["deals"].required
('deal_id', 'created_at', 'stage')
>>> TABLES["payments"].column("amount").kind
'float'
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Column",
    "TableSpec",
    "TABLES",
    "TABLE_ORDER",
    "DTYPES",
    "OUTCOMES",
    "LEAD_STATUSES",
    "ACTIVITY_TYPES",
    "ROLES",
    "PLAN_METRICS",
    "require_tables",
    "empty_table",
    "markdown_reference",
]

OUTCOMES = ("won", "lost", "open")
LEAD_STATUSES = ("new", "in_work", "converted", "disqualified")
ACTIVITY_TYPES = ("call", "task", "meeting", "email")
ROLES = ("head_of_sales", "manager")
PLAN_METRICS = (
    "revenue",
    "deals_won",
    "leads",
    "conversion",
    "avg_deal",
    "calls",
    "call_minutes",
    "meetings",
    "tasks_done",
)

DTYPES = {
    "id": "string",
    "str": "string",
    "category": "string",
    "datetime": "datetime64[ns]",
    "float": "float64",
}


@dataclass(frozen=True)
class Column:
    """One canonical column."""

    name: str
    kind: str
    required: bool = False
    description: str = ""
    allowed: tuple[str, ...] = ()
    #: for ``float`` columns: smallest allowed value (``None``: no bound)
    minimum: float | None = None
    #: for ``float`` columns: largest allowed value
    maximum: float | None = None
    #: for ``datetime`` columns: a value after the audit moment is legitimate (a task due tomorrow)
    future_ok: bool = False

    @property
    def dtype(self) -> str:
        return DTYPES[self.kind]


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its key, its columns, and what it means."""

    name: str
    key: str | None
    description: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}; columns: {', '.join(self.names)}")

    def dtypes(self) -> dict[str, str]:
        return {c.name: c.dtype for c in self.columns}


def _c(name, kind, required=False, description="", allowed=(), minimum=None, maximum=None, future_ok=False):
    return Column(name, kind, required, description, tuple(allowed), minimum, maximum, future_ok)


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "managers",
            "manager",
            "People in the sales department, the head of sales included.",
            (
                _c("manager", "id", True, "Key used in every other table's `manager` column (an id or the name as the CRM exports it)."),
                _c("name", "str", True, "Display name."),
                _c("role", "category", True, "`head_of_sales` (РОП) or `manager`.", ROLES),
                _c("team", "str", False, "Team or office."),
                _c("hired_at", "datetime", False, "First working day."),
                _c("left_at", "datetime", False, "Last working day; empty while employed (may lie after the audit moment).", future_ok=True),
            ),
        ),
        TableSpec(
            "leads",
            "lead_id",
            "Inbound requests (заявки, лиды) before they become deals.",
            (
                _c("lead_id", "id", True, "Lead id."),
                _c("created_at", "datetime", True, "When the lead arrived."),
                _c("channel", "str", False, "Source or channel (сайт, звонок, реклама…)."),
                _c("manager", "id", False, "Responsible manager."),
                _c("first_response_at", "datetime", False, "First contact by the manager; empty if never answered."),
                _c("status", "category", False, "new, in_work, converted or disqualified.", LEAD_STATUSES),
                _c("disqualify_reason", "str", False, "Why the lead was disqualified."),
                _c("deal_id", "id", False, "Deal the lead converted into."),
            ),
        ),
        TableSpec(
            "deals",
            "deal_id",
            "Deals (сделки, opportunities) with their current stage.",
            (
                _c("deal_id", "id", True, "Deal id."),
                _c("created_at", "datetime", True, "When the deal was created."),
                _c("manager", "id", False, "Responsible manager."),
                _c("amount", "float", False, "Deal amount (budget), not negative.", minimum=0.0),
                _c("currency", "str", False, "ISO currency code, e.g. RUB."),
                _c("product", "str", False, "Product or product line."),
                _c("channel", "str", False, "Lead source or channel."),
                _c("lead_id", "id", False, "Lead the deal came from."),
                _c("pipeline", "str", False, "Pipeline (Bitrix24 direction / CATEGORY_ID, amoCRM pipeline); `pipeline:` in the run config audits one."),
                _c("stage", "category", True, "Current stage: a key of the funnel in the run parameters; for a closed deal its terminal (which of several lost terminals it was lost in)."),
                _c("closed_at", "datetime", False, "When the deal was won or lost; empty while open."),
                _c("outcome", "category", False, "won, lost or open; derived from the stage (any `terminal: won` stage: won, any `terminal: lost`: lost) when the export has none.", OUTCOMES),
                _c("lost_reason", "str", False, "Why the deal was lost: the CRM's loss-reason field as written (Bitrix24 and amoCRM «Причина отказа», HubSpot «Closed Lost Reason»)."),
                _c("discount_pct", "float", False, "Discount granted, % of list price (0–100).", minimum=0.0, maximum=100.0),
                _c("payment_terms", "str", False, "`prepaid`, `postpaid` or `instalment_<N>m`."),
            ),
        ),
        TableSpec(
            "stage_history",
            None,
            "Every move of a deal into a stage (one row per entry).",
            (
                _c("deal_id", "id", True, "Deal that moved."),
                _c("stage", "category", True, "Stage entered: a funnel key."),
                _c("entered_at", "datetime", True, "When the deal entered the stage."),
                _c("moved_by", "id", False, "Who moved it (a manager key)."),
            ),
        ),
        TableSpec(
            "activities",
            "activity_id",
            "Calls, tasks, meetings and e-mails, each with its manager and deal.",
            (
                _c("activity_id", "id", True, "Activity id."),
                _c("type", "category", True, "call, task, meeting or email.", ACTIVITY_TYPES),
                _c("manager", "id", False, "Who did it."),
                _c("deal_id", "id", False, "Deal it belongs to."),
                _c("lead_id", "id", False, "Lead it belongs to."),
                _c("created_at", "datetime", True, "Start of a call or meeting; creation of a task."),
                _c("duration_sec", "float", False, "Call or meeting length in seconds.", minimum=0.0),
                _c("due_at", "datetime", False, "Task deadline (may lie after the audit moment).", future_ok=True),
                _c("done_at", "datetime", False, "When the task was completed; empty while not done."),
            ),
        ),
        TableSpec(
            "payments",
            "payment_id",
            "Money received (поступления) against deals.",
            (
                _c("payment_id", "id", False, "Payment id, when the export has one."),
                _c("deal_id", "id", True, "Deal paid for."),
                _c("paid_at", "datetime", True, "When the money arrived."),
                _c("amount", "float", True, "Amount received, not negative.", minimum=0.0),
            ),
        ),
        TableSpec(
            "plans",
            None,
            "Targets per period, per manager or for the team.",
            (
                _c("period", "str", True, "`2026-10` (month), `2026-W41` (ISO week) or `2026-10-14` (day)."),
                _c("manager", "id", False, "Manager key; empty for the whole team."),
                _c("metric", "category", True, "What is planned.", PLAN_METRICS),
                _c("target", "float", True, "Target value.", minimum=0.0),
            ),
        ),
    )
}

#: Load order: referenced tables come before the tables that reference them.
TABLE_ORDER = ("managers", "deals", "leads", "stage_history", "activities", "payments", "plans")


def empty_table(name: str):
    """An empty DataFrame with the canonical columns and dtypes of ``name``.

    >>> empty_table("payments").dtypes["paid_at"]
    dtype('<M8[ns]')
    """
    import pandas as pd

    spec = TABLES[name]
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in spec.columns})


def require_tables(dataset, *names: str, analysis: str = "this analysis") -> None:
    """Raise a clear :class:`~salesaudit.errors.MissingTablesError` if ``dataset`` lacks any of ``names``."""
    from ..errors import MissingTablesError

    missing = [n for n in names if not dataset.has(n)]
    if missing:
        raise MissingTablesError(analysis, missing, [n for n in TABLE_ORDER if dataset.has(n)])


def markdown_reference() -> str:
    """The data-model reference as Markdown (``docs/data_model.md`` is generated from it)."""
    lines = [
        "# The canonical data model",
        "",
        "Every CRM export is mapped into these tables by a preset in `params/crm/`.",
        "A dataset may hold only some of them; each analysis names the tables it needs.",
        "Datetimes are naive local times in the timezone of the working calendar.",
        "This file is generated by `python -m salesaudit.data.model > docs/data_model.md`; a test keeps it in sync.",
        "",
    ]
    for name in TABLE_ORDER:
        spec = TABLES[name]
        lines += [f"## `{name}`", "", spec.description, ""]
        if spec.key:
            lines += [f"Key: `{spec.key}` (unique).", ""]
        lines += ["| column | type | required | meaning |", "|---|---|---|---|"]
        for c in spec.columns:
            kind = c.kind
            if c.allowed:
                kind += ": " + ", ".join(f"`{a}`" for a in c.allowed)
            if c.minimum is not None or c.maximum is not None:
                lo = "" if c.minimum is None else f"≥ {c.minimum:g}"
                hi = "" if c.maximum is None else f"≤ {c.maximum:g}"
                kind += " (" + " ".join(x for x in (lo, hi) if x) + ")"
            lines.append(f"| `{c.name}` | {kind} | {'yes' if c.required else 'no'} | {c.description} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_reference())
