"""Pay schemes for the head of sales as data: the YAML schema, its loader and the payout arithmetic.

A scheme (``params/incentives/*.yaml``) is a list of composable ``components`` plus the rule
for the head's own deals (``own_deals``) and an optional cap on the monthly variable pay. The
owner writes a new scheme without code; a wrong key or value stops with
:class:`~salesaudit.errors.ParameterError` naming the file, the key path and what is allowed.

Components (``type:``):

* ``base`` — a fixed salary per month;
* ``plan_percent`` — the seeds' "% of the personal plan + % of the department plan": each part
  pays ``bonus_at_plan × attainment / 100`` (attainment counted up to ``cap_pct``), nothing
  below ``threshold_pct`` and nothing when there is no plan (a zero or missing plan);
* ``revenue_percent`` — ``rate_pct`` of the department's revenue or gross margin;
* ``growth_percent`` — ``rate_pct`` of the growth against the same month (or quarter, paid in
  its last month) a year earlier; a fall pays nothing, a negative year-ago base counts as 0;
* ``focus_units`` — a fixed sum per unit (won deal) of the focus products sold by the department;
* ``kpi_basket`` — 2–4 weighted KPIs; each pays ``weight × factor`` of ``target_bonus``, where
  the factor is the attainment / 100, zero below ``threshold_pct``, above 100 % every point
  counts ``accelerator`` times, and the factor stops at ``cap_pct`` / 100.

Every component is paid for a month from one row of *inputs* (:data:`INPUT_COLUMNS`); pay is
never negative. :func:`payout` evaluates a scheme on many rows at once (months of the history,
simulated months, the focus model's months).

>>> s = scheme_from_dict({"key": "x", "label": {"ru": "x", "en": "x"}, "components": [
...     {"type": "base", "amount": 50000}, {"type": "revenue_percent", "rate_pct": 1}]})
>>> import pandas as pd
>>> payout(s, pd.DataFrame({"dept_revenue": [1_000_000.0]}))["total"].tolist()
[60000.0]
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from ..data.params import Labels
from ..data.schema import SCHEMA_TABLE_HEAD, format_validation_error, read_yaml, schema_rows
from ..errors import ParameterError, closest, display_path

__all__ = [
    "Base",
    "PlanPart",
    "PersonalPart",
    "PlanPercent",
    "RevenuePercent",
    "GrowthPercent",
    "FocusUnits",
    "Kpi",
    "KpiBasket",
    "OwnDeals",
    "Scheme",
    "COMPONENTS",
    "KPIS",
    "INPUT_COLUMNS",
    "load_scheme",
    "load_schemes",
    "scheme_from_dict",
    "complete_inputs",
    "payout",
    "set_value",
    "get_value",
    "tunables",
    "markdown_reference",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


# --------------------------------------------------------------------------- components


class Base(_Strict):
    """A fixed salary per month."""

    type: Literal["base"]
    amount: float = Field(ge=0, description="salary per month, money")


class PlanPart(_Strict):
    """One plan's bonus: ``bonus_at_plan`` at 100 % attainment, proportional to attainment."""

    bonus_at_plan: float = Field(ge=0, description="bonus paid at 100 % attainment, money per month")
    threshold_pct: float = Field(default=0, ge=0, le=1000, description="no bonus below this attainment, %")
    cap_pct: Optional[float] = Field(default=None, gt=0, le=1000, description="attainment counts at most up to this, % (empty: no cap)")


class PersonalPart(PlanPart):
    """The personal plan's bonus, paid on the head's own deals."""

    plan: Optional[float] = Field(default=None, ge=0, description="the head's personal revenue plan per month (empty: the dataset's plan for the head)")


class PlanPercent(_Strict):
    """% of the personal plan + % of the department plan (the scheme the seeds warn against)."""

    type: Literal["plan_percent"]
    personal: Optional[PersonalPart] = Field(default=None, description="bonus for the head's own deals against a personal plan")
    department: Optional[PlanPart] = Field(default=None, description="bonus for the department against its revenue plan")

    @model_validator(mode="after")
    def _one(self):
        if self.personal is None and self.department is None:
            raise ValueError("give `personal`, `department` or both")
        return self


class RevenuePercent(_Strict):
    """A percentage of the department's revenue or gross margin."""

    type: Literal["revenue_percent"]
    rate_pct: float = Field(ge=0, le=100, description="% of the base paid each month")
    base: Literal["revenue", "margin"] = Field(default="revenue", description="revenue or gross margin of the department")
    threshold_pct: float = Field(default=0, ge=0, le=1000, description="nothing is paid below this attainment of the department plan, % (0: always paid)")
    cap: Optional[float] = Field(default=None, ge=0, description="at most this much per month (empty: no cap)")


class GrowthPercent(_Strict):
    """A percentage of growth against the same month or quarter a year earlier."""

    type: Literal["growth_percent"]
    rate_pct: float = Field(ge=0, le=100, description="% of the growth (money) paid")
    compare: Literal["month", "quarter"] = Field(default="month", description="month: each month against the same month a year ago; quarter: paid in a quarter's last month on the quarter's growth")
    base: Literal["revenue", "margin"] = Field(default="revenue", description="growth of revenue or of gross margin")
    cap: Optional[float] = Field(default=None, ge=0, description="at most this much per payment (empty: no cap)")


class FocusUnits(_Strict):
    """A fixed sum per unit (won deal) of the focus products sold by the department."""

    type: Literal["focus_units"]
    products: list[str] = Field(min_length=1, description="focus products, as in the deals' `product` column")
    per_unit: float = Field(ge=0, description="money per unit sold")
    min_units: int = Field(default=0, ge=0, description="nothing is paid for a month with fewer units")
    cap: Optional[float] = Field(default=None, ge=0, description="at most this much per month (empty: no cap)")


#: KPI name -> (input column, higher is better, default target)
KPIS = {
    "department_revenue": ("dept_revenue", True, "the department's revenue plan"),
    "gross_margin": ("dept_margin", True, "the revenue plan × the assumed margin %"),
    "receivables_collected": ("receivables_collected", True, None),
    "overdue_receivables": ("overdue_receivables", False, None),
    "nps": ("nps", True, None),
    "ltv": ("ltv", True, None),
    "plan_attainment": ("plan_attainment", True, "100 (%)"),
}


class Kpi(_Strict):
    """One KPI of a basket."""

    kpi: Literal["department_revenue", "gross_margin", "receivables_collected", "overdue_receivables", "nps", "ltv", "plan_attainment"] = Field(
        description="what is measured (overdue_receivables: lower is better)")
    weight: float = Field(gt=0, le=1, description="share of the target bonus; the weights of a basket add up to 1")
    target: Optional[float] = Field(default=None, description="the value that gives 100 % (empty: the plan for department_revenue and gross_margin, 100 for plan_attainment; required for the others)")
    threshold_pct: float = Field(default=0, ge=0, le=1000, description="no pay for this KPI below this attainment, %")
    accelerator: float = Field(default=1, ge=0, le=20, description="above 100 % every point of attainment counts this many times")
    cap_pct: float = Field(default=200, gt=0, le=1000, description="the KPI's factor stops at this attainment-equivalent, %")

    @model_validator(mode="after")
    def _target(self):
        if self.target is None and KPIS[self.kpi][2] is None:
            raise ValueError(f"`target` is required for the KPI {self.kpi} (a CRM export has no plan for it)")
        if self.target is not None and self.target <= 0:
            raise ValueError(f"`target` of {self.kpi} must be above 0")
        return self


class KpiBasket(_Strict):
    """A basket of 2–4 KPIs with weights, thresholds, accelerators and caps."""

    type: Literal["kpi_basket"]
    target_bonus: float = Field(ge=0, description="bonus per month when every KPI is at 100 %")
    kpis: list[Kpi] = Field(min_length=2, max_length=4, description="2 to 4 KPIs")

    @model_validator(mode="after")
    def _weights(self):
        total = sum(k.weight for k in self.kpis)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"the weights add up to {total:g}; make them add up to 1")
        names = [k.kpi for k in self.kpis]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"a KPI appears twice: {', '.join(dup)}")
        return self


COMPONENTS = {c.model_fields["type"].annotation.__args__[0]: c for c in (Base, PlanPercent, RevenuePercent, GrowthPercent, FocusUnits, KpiBasket)}
Component = Annotated[Union[Base, PlanPercent, RevenuePercent, GrowthPercent, FocusUnits, KpiBasket], Field(discriminator="type")]


class OwnDeals(_Strict):
    """How the head's own deals count (the seeds: in the department plan, but no sales bonus)."""

    count_in_department: bool = Field(default=True, description="the head's deals count in the department's revenue, margin and plan attainment")
    hand_to_seller: bool = Field(default=False, description="the head hands own deals to a seller, who earns the seller's commission on them")
    seller_commission_pct: float = Field(default=0, ge=0, le=100, description="the seller's commission on a handed deal, % of its revenue (a cost to the owner, not the head's pay)")


class Scheme(_Strict):
    """A pay scheme for the head of sales."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="machine key, lower case (the file name by convention)")
    label: Labels = Field(description="name shown in the reports")
    description: Optional[Labels] = Field(default=None, description="one sentence for the owner")
    components: list[Component] = Field(min_length=1, description="the parts of the pay, added up")
    cap: Optional[float] = Field(default=None, ge=0, description="at most this much variable pay (all but `base`) per month (empty: no cap)")
    own_deals: OwnDeals = Field(default=OwnDeals(), description="how the head's own deals count")
    #: where the scheme was read from (set by the loader)
    source: Optional[Path] = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _rules(self):
        personal = any(isinstance(c, PlanPercent) and c.personal is not None for c in self.components)
        if personal and self.own_deals.hand_to_seller:
            raise ValueError("`own_deals.hand_to_seller` is true, so the head's deals go to a seller and cannot also pay a personal plan bonus; drop `personal` or set hand_to_seller: false")
        if sum(isinstance(c, KpiBasket) for c in self.components) > 1:
            raise ValueError("one `kpi_basket` per scheme (put up to 4 KPIs into it)")
        return self

    def name(self, lang: str) -> str:
        return self.label(lang)

    @property
    def products(self) -> list[str]:
        return sorted({p for c in self.components if isinstance(c, FocusUnits) for p in c.products})

    @property
    def has_personal_plan(self) -> bool:
        return any(isinstance(c, PlanPercent) and c.personal is not None for c in self.components)


# --------------------------------------------------------------------------- loading


def _component(raw, i: int, file) -> tuple[BaseModel | None, list[str]]:
    where = f"components[{i}]"
    if not isinstance(raw, dict):
        return None, [f"`{where}` must be a mapping with a `type` key, found {type(raw).__name__}."]
    kind = raw.get("type")
    if kind not in COMPONENTS:
        allowed = ", ".join(repr(k) for k in COMPONENTS)
        if kind is None:
            return None, [f"the key `{where}.type` is required but missing; allowed values: {allowed}."]
        return None, [f"`{where}.type` is {kind!r}.{closest(kind, COMPONENTS)} Allowed values: {allowed}."]
    cls = COMPONENTS[kind]
    wrapper = create_model(f"{cls.__name__}At", __base__=_Strict, components=(dict[int, cls], ...))
    try:
        return wrapper.model_validate({"components": {i: raw}}).components[i], []
    except ValidationError as exc:
        return None, format_validation_error(wrapper, exc)


def scheme_from_dict(data, file="<scheme>") -> Scheme:
    """Validate a scheme given as a dict (as read from YAML); errors name ``file`` and the key path."""
    if not isinstance(data, dict):
        raise ParameterError(display_path(file) if file != "<scheme>" else file, [f"must be a YAML mapping of keys to values, found {type(data).__name__}."])
    name = display_path(file) if not str(file).startswith("<") else str(file)
    top = {k: v for k, v in data.items() if k != "components"}
    problems: list[str] = []
    comps = data.get("components")
    Top = create_model("SchemeTop", __base__=_Strict, **{n: (f.annotation, f) for n, f in Scheme.model_fields.items() if n != "components"},
                       components=(list, Field(min_length=1)))
    try:
        Top.model_validate({**top, "components": comps if comps is not None else None} if "components" in data else top)
    except ValidationError as exc:
        problems += format_validation_error(Top, exc)
    parsed = []
    if isinstance(comps, list):
        for i, raw in enumerate(comps):
            obj, errs = _component(raw, i, file)
            problems += errs
            parsed.append(obj)
    if problems:
        raise ParameterError(name, problems)
    try:
        return Scheme.model_validate({**top, "components": parsed})
    except ValidationError as exc:
        raise ParameterError(name, format_validation_error(Scheme, exc)) from None


def load_scheme(path) -> Scheme:
    """Read and validate one scheme YAML (``params/incentives/*.yaml``)."""
    path = Path(path)
    s = scheme_from_dict(read_yaml(path), path)
    s.source = path.resolve()
    return s


def load_schemes(folder, keys=None) -> dict[str, Scheme]:
    """Every scheme YAML in ``folder`` (files with a ``components:`` key), by key, or only ``keys`` in that order.

    An unknown key in ``keys`` raises :class:`ParameterError` listing the schemes there are.
    """
    folder = Path(folder)
    found: dict[str, Scheme] = {}
    for p in sorted(folder.glob("*.yaml")):
        raw = read_yaml(p)
        if isinstance(raw, dict) and "components" in raw:
            s = scheme_from_dict(raw, p)
            s.source = p.resolve()
            if s.key in found:
                raise ParameterError(display_path(p), [f"`key` {s.key!r} is used by {display_path(found[s.key].source)} too; give each scheme its own key."])
            found[s.key] = s
    if keys is None:
        return found
    if isinstance(keys, str):
        keys = [keys]
    bad = [k for k in keys if k not in found]
    if bad:
        raise ParameterError("schemes", [f"no scheme {k!r} in {display_path(folder)}.{closest(k, found)} Schemes there: {', '.join(found) or 'none'}." for k in bad])
    return {k: found[k] for k in keys}


# --------------------------------------------------------------------------- inputs and payout

#: input column -> meaning; one row is one month (of the history, of a simulated path, of the focus model)
INPUT_COLUMNS = {
    "month": "label of the month (2026-10) or its index in a simulated path",
    "path": "simulated path (Monte Carlo) or focus split; rows of one path are consecutive months",
    "quarter": "quarter label (2026Q4): rows of one path with the same label form a quarter",
    "quarter_end": "true in a quarter's last month (a quarterly growth bonus is paid then)",
    "dept_revenue": "the department's revenue in the month, the head's own deals included",
    "head_revenue": "revenue of the head's own deals",
    "dept_plan": "the department's revenue plan (NaN: none)",
    "head_plan": "the head's personal revenue plan from the data (NaN: none)",
    "dept_margin": "the department's gross margin, money (the head's deals included)",
    "head_margin": "gross margin of the head's own deals",
    "dept_margin_plan": "the margin plan: dept_plan × the assumed margin %",
    "revenue_year_ago": "the department's revenue in the same month a year earlier (NaN: unknown)",
    "margin_year_ago": "the department's margin in the same month a year earlier (NaN: unknown)",
    "units.<product>": "won deals of a product in the month (the department's)",
    "receivables_collected": "money collected in the month on deals won before it",
    "overdue_receivables": "money overdue at the month's end (by payment terms)",
    "nps": "NPS (assumed: a CRM export has none)",
    "ltv": "customer lifetime value (assumed: a CRM export has none)",
}


def complete_inputs(inputs: pd.DataFrame) -> pd.DataFrame:
    """``inputs`` with every column of :data:`INPUT_COLUMNS` present (missing ones NaN, 0 or derived)."""
    df = inputs.copy()
    n = len(df)
    if "dept_revenue" not in df.columns:
        raise ValueError("incentive inputs need at least a `dept_revenue` column")
    if "path" not in df.columns:
        df["path"] = 0
    if "month" not in df.columns:
        df["month"] = df.groupby("path").cumcount()
    for col, default in (("head_revenue", 0.0), ("dept_plan", np.nan), ("head_plan", np.nan), ("revenue_year_ago", np.nan),
                         ("receivables_collected", np.nan), ("overdue_receivables", np.nan), ("nps", np.nan), ("ltv", np.nan)):
        if col not in df.columns:
            df[col] = default
    if "dept_margin" not in df.columns:
        df["dept_margin"] = np.nan
    if "head_margin" not in df.columns:
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(df["dept_revenue"] > 0, df["dept_margin"] / df["dept_revenue"], np.nan)
        df["head_margin"] = df["head_revenue"] * share
    if "dept_margin_plan" not in df.columns:
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(df["dept_revenue"] > 0, df["dept_margin"] / df["dept_revenue"], np.nan)
        df["dept_margin_plan"] = df["dept_plan"] * share
    if "margin_year_ago" not in df.columns:
        df["margin_year_ago"] = np.nan
    if "quarter" not in df.columns:
        df["quarter"] = df.groupby("path").cumcount() // 3
    if "quarter_end" not in df.columns:
        nxt = df.groupby("path")["quarter"].shift(-1)
        df["quarter_end"] = (df.groupby("path").cumcount() % 3 == 2) & (nxt != df["quarter"])
    assert len(df) == n
    return df


def _num(df, col) -> np.ndarray:
    return df[col].to_numpy(dtype=float) if col in df.columns else np.full(len(df), np.nan)


def _attainment(fact, plan) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(plan > 0, 100.0 * fact / np.where(plan > 0, plan, 1.0), np.nan)


def _cap(x, cap):
    return np.minimum(x, cap) if cap is not None else x


def _plan_part(part: PlanPart, fact, plan) -> np.ndarray:
    att = _attainment(fact, plan)
    counted = np.minimum(att, part.cap_pct) if part.cap_pct is not None else att
    ok = np.isfinite(att) & (att >= part.threshold_pct)
    return np.where(ok, part.bonus_at_plan * np.maximum(np.nan_to_num(counted), 0.0) / 100.0, 0.0)


def kpi_factor(kpi: Kpi, value, target) -> np.ndarray:
    """The pay factor of one KPI (1.0 = 100 %): zero below the threshold, accelerated above 100 %, capped."""
    value = np.asarray(value, dtype=float)
    target = np.broadcast_to(np.asarray(target, dtype=float), value.shape)
    higher = KPIS[kpi.kpi][1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if higher:
            att = np.where(target > 0, 100.0 * value / np.where(target > 0, target, 1.0), np.nan)
        else:  # lower is better: target / value; nothing overdue at all counts as the cap
            att = np.where(value > 0, 100.0 * target / np.where(value > 0, value, 1.0), np.where(np.isfinite(value), kpi.cap_pct, np.nan))
    eff = np.where(att > 100, 100 + (att - 100) * kpi.accelerator, att)
    eff = np.minimum(eff, kpi.cap_pct)
    ok = np.isfinite(att) & (att >= kpi.threshold_pct)
    return np.where(ok, np.maximum(np.nan_to_num(eff), 0.0) / 100.0, 0.0)


def _growth(c: GrowthPercent, df: pd.DataFrame, cur: np.ndarray) -> np.ndarray:
    ago = _num(df, "revenue_year_ago" if c.base == "revenue" else "margin_year_ago")
    ago0 = np.maximum(ago, 0.0)  # a negative base (refunds) does not inflate the growth
    if c.compare == "month":
        g = cur - ago0
        pay = np.where(np.isfinite(g), c.rate_pct / 100.0 * np.maximum(g, 0.0), 0.0)
        return _cap(pay, c.cap)
    key = pd.DataFrame({"path": df["path"].to_numpy(), "quarter": df["quarter"].to_numpy(), "cur": cur, "ago": ago0})
    grp = key.groupby(["path", "quarter"], sort=False)
    g = grp["cur"].transform("sum").to_numpy() - grp["ago"].transform(lambda s: s.sum(min_count=len(s))).to_numpy()
    pay = np.where(df["quarter_end"].to_numpy(dtype=bool) & np.isfinite(g), c.rate_pct / 100.0 * np.maximum(g, 0.0), 0.0)
    return _cap(pay, c.cap)


def component_keys(scheme: Scheme) -> list[str]:
    """Column names of the components in :func:`payout`'s result: ``c0_base``, ``c1_plan_percent``, …"""
    return [f"c{i}_{c.type}" for i, c in enumerate(scheme.components)]


def payout(scheme: Scheme, inputs: pd.DataFrame) -> pd.DataFrame:
    """The head's pay per input row: one column per component, ``base``, ``variable``, ``total``,
    ``owner_extra_cost`` (commission of sellers on handed deals) and ``cost`` (total + extra).

    The head's own deals count in the department's figures when ``own_deals.count_in_department``;
    the personal part of ``plan_percent`` pays on them against ``personal.plan`` (or the data's
    ``head_plan``). Missing inputs pay nothing (a KPI without a value, a month without a plan).
    """
    df = complete_inputs(inputs)
    own = scheme.own_deals
    head = np.nan_to_num(_num(df, "head_revenue"))
    head_m = np.nan_to_num(_num(df, "head_margin"))
    dept = _num(df, "dept_revenue") - (0.0 if own.count_in_department else head)
    margin = _num(df, "dept_margin") - (0.0 if own.count_in_department else head_m)
    plan = _num(df, "dept_plan")
    out = pd.DataFrame(index=df.index)
    for key, c in zip(component_keys(scheme), scheme.components):
        if isinstance(c, Base):
            pay = np.full(len(df), c.amount)
        elif isinstance(c, PlanPercent):
            pay = np.zeros(len(df))
            if c.personal is not None:
                hp = np.full(len(df), c.personal.plan) if c.personal.plan is not None else _num(df, "head_plan")
                pay = pay + _plan_part(c.personal, head, hp)
            if c.department is not None:
                pay = pay + _plan_part(c.department, dept, plan)
        elif isinstance(c, RevenuePercent):
            base = dept if c.base == "revenue" else margin
            pay = c.rate_pct / 100.0 * np.maximum(np.nan_to_num(base), 0.0)
            if c.threshold_pct > 0:
                att = _attainment(dept, plan)
                pay = np.where(np.isfinite(att) & (att >= c.threshold_pct), pay, 0.0)
            pay = _cap(pay, c.cap)
        elif isinstance(c, GrowthPercent):
            pay = _growth(c, df, dept if c.base == "revenue" else margin)
        elif isinstance(c, FocusUnits):
            units = np.zeros(len(df))
            for p in c.products:
                units = units + np.nan_to_num(_num(df, f"units.{p}"))
            pay = np.where(units >= c.min_units, c.per_unit * units, 0.0)
            pay = _cap(pay, c.cap)
        elif isinstance(c, KpiBasket):
            pay = np.zeros(len(df))
            for k in c.kpis:
                if k.kpi == "department_revenue":
                    value, target = dept, (k.target if k.target is not None else plan)
                elif k.kpi == "gross_margin":
                    value, target = margin, (k.target if k.target is not None else _num(df, "dept_margin_plan"))
                elif k.kpi == "plan_attainment":
                    value, target = _attainment(dept, plan), (k.target if k.target is not None else 100.0)
                else:
                    value, target = _num(df, KPIS[k.kpi][0]), k.target
                pay = pay + c.target_bonus * k.weight * kpi_factor(k, value, target)
        else:  # pragma: no cover - the schema admits no other type
            raise TypeError(type(c))
        out[key] = np.maximum(pay, 0.0)
    keys = component_keys(scheme)
    base_cols = [k for k, c in zip(keys, scheme.components) if isinstance(c, Base)]
    out["base"] = out[base_cols].sum(axis=1) if base_cols else 0.0
    variable = out[[k for k in keys if k not in base_cols]].sum(axis=1) if len(keys) > len(base_cols) else pd.Series(0.0, index=out.index)
    out["variable"] = _cap(variable.to_numpy(), scheme.cap)
    out["total"] = out["base"] + out["variable"]
    out["owner_extra_cost"] = (own.seller_commission_pct / 100.0 * head) if own.hand_to_seller else 0.0
    out["cost"] = out["total"] + out["owner_extra_cost"]
    return out


# --------------------------------------------------------------------------- editing (widgets)


def get_value(scheme: Scheme, path: tuple):
    """The value at ``path`` (e.g. ``("components", 1, "rate_pct")``) of a scheme."""
    obj = scheme
    for part in path:
        obj = obj[part] if isinstance(part, int) else getattr(obj, part)
    return obj


def set_value(scheme: Scheme, path: tuple, value, renormalise: bool = True) -> Scheme:
    """A validated copy of ``scheme`` with ``path`` set to ``value``.

    Setting a KPI ``weight`` rescales the basket's other weights so that they still add up to 1
    (``renormalise``). A value the schema refuses raises :class:`ParameterError`.
    """
    data = scheme.model_dump(mode="python", exclude={"source"})
    data = copy.deepcopy(data)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    if renormalise and path[-1] == "weight" and len(path) >= 3 and path[-3] == "kpis":
        kpis, i, v = get_path(data, path[:-2]), path[-2], float(value)
        if not 0.0 < v < 1.0:
            raise ParameterError(f"scheme {scheme.key}", [f"`{_dotted(path)}` is {v:g}: a weight must lie strictly between 0 and 1 (the other KPIs need some weight)."])
        rest = sum(k["weight"] for j, k in enumerate(kpis) if j != i)
        for j, k in enumerate(kpis):
            k["weight"] = v if j == i else (1.0 - v) * (k["weight"] / rest if rest > 0 else 1.0 / (len(kpis) - 1))
    new = scheme_from_dict(data, f"<scheme {scheme.key}>")
    new.source = scheme.source
    return new


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def get_path(data, path):
    for part in path:
        data = data[part]
    return data


def tunables(scheme: Scheme) -> list[dict]:
    """The numbers an owner may move in a scheme: ``path``, ``field``, ``value``, ``min``, ``max``, ``step``, ``kind``.

    ``kind`` is ``money``, ``pct`` (rates, thresholds, caps in %), ``weight`` or ``factor``;
    empty (``None``) values are left out.
    """
    out = []

    def add(path, value, kind, lo=0.0, hi=None, step=None):
        if value is None:
            return
        value = float(value)
        if kind == "money":
            hi = hi or max(4 * value, 10000.0)
            step = step or _nice_step(hi / 200)
        elif kind == "rate":
            hi = hi or max(4 * value, 1.0)
            step = step or _nice_step(hi / 200)
        out.append({"path": path, "field": path[-1], "value": value, "min": lo, "max": hi, "step": step, "kind": kind})

    for i, c in enumerate(scheme.components):
        p = ("components", i)
        if isinstance(c, Base):
            add(p + ("amount",), c.amount, "money")
        elif isinstance(c, PlanPercent):
            for part_name in ("personal", "department"):
                part = getattr(c, part_name)
                if part is None:
                    continue
                q = p + (part_name,)
                add(q + ("bonus_at_plan",), part.bonus_at_plan, "money")
                add(q + ("threshold_pct",), part.threshold_pct, "pct", 0, 150, 5)
                add(q + ("cap_pct",), part.cap_pct, "pct", 50, 300, 5)
        elif isinstance(c, RevenuePercent):
            add(p + ("rate_pct",), c.rate_pct, "rate", 0, None)
            add(p + ("threshold_pct",), c.threshold_pct, "pct", 0, 150, 5)
            add(p + ("cap",), c.cap, "money")
        elif isinstance(c, GrowthPercent):
            add(p + ("rate_pct",), c.rate_pct, "rate", 0, None)
            add(p + ("cap",), c.cap, "money")
        elif isinstance(c, FocusUnits):
            add(p + ("per_unit",), c.per_unit, "money")
            add(p + ("cap",), c.cap, "money")
        elif isinstance(c, KpiBasket):
            add(p + ("target_bonus",), c.target_bonus, "money")
            for j, k in enumerate(c.kpis):
                q = p + ("kpis", j)
                add(q + ("weight",), k.weight, "weight", 0.05, 0.95, 0.05)
                add(q + ("threshold_pct",), k.threshold_pct, "pct", 0, 150, 5)
                add(q + ("accelerator",), k.accelerator, "factor", 0, 5, 0.1)
                add(q + ("cap_pct",), k.cap_pct, "pct", 100, 400, 5)
    add(("cap",), scheme.cap, "money")
    return out


def _nice_step(x: float) -> float:
    if x <= 0:
        return 1.0
    mag = 10 ** np.floor(np.log10(x))
    for m in (1, 2, 5, 10):
        if x <= m * mag:
            return float(m * mag)
    return float(10 * mag)  # pragma: no cover


# --------------------------------------------------------------------------- reference


def _kind(name: str, inner) -> tuple[str, bool] | None:
    """How the incentive reference prints a field's type (see :func:`salesaudit.data.schema.schema_rows`)."""
    if name == "components":
        return "list of components (below)", False
    if inner is Labels:
        return "text in `ru` and `en`", False
    return None


def _rows(model: type[BaseModel]) -> list[str]:
    return schema_rows(model, skip=("type",), kind_hook=_kind)


def markdown_reference() -> str:
    """The scheme and assumption reference as Markdown (``docs/incentives.md`` is generated from it)."""
    from .assumptions import Assumptions

    head = SCHEMA_TABLE_HEAD
    lines = [
        "# Incentive schemes for the head of sales",
        "",
        "A scheme (`params/incentives/*.yaml`, any file with a `components:` key) is validated against this",
        "schema (`salesaudit.incentives`). A wrong key or value stops naming the file, the key path and the",
        "allowed values. Amounts are money per month; percentages are in % (5 = 5 %).",
        "This file is generated by `python -m salesaudit.incentives > docs/incentives.md`; a test keeps it in sync.",
        "",
        "## Scheme",
        "",
        *head,
    ]
    lines += _rows(Scheme)
    for kind, cls in COMPONENTS.items():
        lines += ["", f"## Component `type: {kind}`", "", (cls.__doc__ or "").strip().splitlines()[0], "", *head]
        lines += _rows(cls)
    lines += ["", "KPIs of a basket (`kpi`): " + ", ".join(f"`{k}`" for k in KPIS) + ". `overdue_receivables` is better when lower"
              " (attainment = target / value). NPS and LTV are not in a CRM export: their monthly values come from the assumptions.",
              "", "## Inputs of a month", "", "| column | meaning |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in INPUT_COLUMNS.items()]
    lines += ["", "## Assumptions (`params/incentives/assumptions.yaml`)", "",
              "What a CRM export cannot tell: the margin, NPS and LTV, and the focus model's parameters.", "", *head]
    lines += _rows(Assumptions)
    return "\n".join(lines) + "\n"
