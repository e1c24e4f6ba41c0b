"""Notebook 05 in one call: :func:`analyse` evaluates the schemes and returns an :class:`IncentivesResult`.

The result holds numbers and tables with canonical column names and scheme keys, no language and
no formatting; :func:`salesaudit.report.incentives.page` turns it into the report page.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from .assumptions import Assumptions, load_assumptions
from .focus import FocusResult, focus, focus_context, seeds_claim
from .gaming import gaming
from .history import history, history_summary, monthly_inputs
from .montecarlo import MonteCarloResult, monte_carlo, payout_curves, simulate_inputs
from .schemes import load_schemes
from .summary import summary

__all__ = ["IncentivesResult", "analyse", "DEFAULT_DIR"]

#: the repository's ``params/incentives`` (schemes and ``assumptions.yaml``)
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "params" / "incentives"


@dataclass(frozen=True)
class IncentivesResult:
    """Everything notebook 05 shows, language-free.

    ``ok``: enough months with revenue (``analysis.incentives.min_months``) for the history, the
    Monte Carlo and the gaming check; the parts that need it are ``None`` otherwise. ``focus_`` is
    ``None`` when the focus model has no plan to work with.
    """

    client: str
    schemes: dict                      # key -> Scheme, the ones evaluated
    assumptions: Assumptions
    assumptions_file: str              # shown as params/incentives/<file>
    seed: int
    inputs_: pd.DataFrame              # monthly_inputs(ds, assumptions)
    revenue_basis: str
    head: Optional[str]                # the head's manager id
    head_name: Optional[str]
    head_share: Optional[float]        # the head's own revenue / the department's
    ok: bool
    has_plans: bool
    history_: Optional[pd.DataFrame] = None
    history_summary_: Optional[pd.DataFrame] = None
    monte_carlo: Optional[MonteCarloResult] = None
    jensen_scheme: Optional[str] = None  # the scheme with the largest |Jensen gap|
    jensen_gap: Optional[float] = None
    curves_: Optional[pd.DataFrame] = None
    attainment_: Optional[pd.Series] = None  # the department's monthly plan attainment, %
    focus_: Optional[FocusResult] = None
    claim: Optional[dict] = None
    gaming_: Optional[pd.DataFrame] = None
    widget_schemes: Optional[list] = None
    widget_sims: int = 2000

    @property
    def first_month(self):
        return self.inputs_["month"].iloc[0]

    @property
    def last_month(self):
        return self.inputs_["month"].iloc[-1]

    def key_figures(self) -> dict:
        """The notebook's key results (``record.incentives_*``), read off the result."""
        return summary(self.history_summary_, self.monte_carlo, self.focus_, self.gaming_, self.claim)


def analyse(ds, settings=None, *, schemes_dir=None, assumptions_path=None) -> IncentivesResult:
    """Evaluate the schemes of ``schemes_dir`` (``settings.schemes`` of them) on ``ds``.

    ``settings``: ``ds.config.analysis.settings("incentives", ...)`` (the run config's when None).
    """
    st = settings if settings is not None else ds.config.analysis.settings("incentives")
    schemes_dir = Path(schemes_dir) if schemes_dir is not None else DEFAULT_DIR
    a = load_assumptions(assumptions_path if assumptions_path is not None else schemes_dir / "assumptions.yaml")
    s = load_schemes(schemes_dir, st.schemes)
    seed = a.seed if a.seed is not None else ds.config.seed
    x = monthly_inputs(ds, a)
    ok = int((x["dept_revenue"] > 0).sum()) >= st.min_months
    head = x.attrs["head"]
    kw: dict = {}
    if ok:
        hist = history(s, x)
        mc = monte_carlo(s, simulate_inputs(x, a, seed))
        worst = mc.summary.loc[mc.summary["jensen_gap"].abs().idxmax()]
        kw.update(history_=hist, history_summary_=history_summary(hist), monte_carlo=mc, jensen_scheme=worst["scheme"], jensen_gap=worst["jensen_gap"],
                  curves_=payout_curves(s, x), attainment_=(x["dept_revenue"] / x["dept_plan"] * 100).dropna(), gaming_=gaming(s, x, a))
    if (ok and x.attrs["has_plans"]) or (a.focus.department_plan is not None and (ok or a.focus.team_revenue is not None)):
        fr = focus(s, a, focus_context(x if ok else None, a))
        kw["focus_"] = fr
        seeds = [k for k, sc in s.items() if sc.has_personal_plan]
        if seeds and len(s) > 1:
            kw["claim"] = seeds_claim(fr, seeds[0], [k for k in s if k not in seeds])
    return IncentivesResult(
        client=ds.config.client, schemes=s, assumptions=a, assumptions_file=a.source.name if a.source else "assumptions.yaml", seed=seed, inputs_=x,
        revenue_basis=x.attrs["revenue_basis"], head=head, head_name=None if head is None else ds.manager_names().get(head, head),
        head_share=None if head is None else x["head_revenue"].sum() / max(x["dept_revenue"].sum(), 1), ok=ok, has_plans=bool(x.attrs["has_plans"]),
        widget_schemes=st.widget_schemes, widget_sims=st.widget_sims, **kw)
