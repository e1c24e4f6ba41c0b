"""Calibrate the department simulation from a dataset, with fit diagnostics.

:func:`calibrate` reads what the CRM knew at ``as_of`` (:func:`salesaudit.data.snapshot.snapshot`)
and returns a :class:`Calibration`: the :class:`~.department.DepartmentParams` to simulate, and
tables that show how well each part fits:

========================  ==========================================================  ===========
part                      estimated from                                              diagnostics
========================  ==========================================================  ===========
lead inflow               leads of the last ``window_days`` (weekday × hour × channel)  ``inflow_``
                          and its trend, projected when ``inflow_trend: fitted``
first response            each seller's response times in working minutes, lognormal  ``sellers_``
                          with the unanswered leads censored (team when < ``min_n``)
lead → deal               logistic model: channel + seller + log(1 + response hours)   ``effects_``,
                          observed against fitted by channel, response band, seller  ``conversions_``
slow-response effect      the same model's slope, with its 95 % CI                    ``effects_``
overload effect           won/lost of mature deals against the seller's open deals     ``effects_``
stage progression         forward share of finished stays; lognormal stays with the   ``stages_``
                          open stays censored (MLE); per seller forward share and pace
                          (stays against the team's), both shrunk to the team's
touch work                call, meeting, task minutes per open deal-day, per stage    ``stages_``
                          (:func:`touch_by_stage`; the department's average elsewhere)
skill routing             who got which channel's leads (:func:`seller_channels`)     ``sellers_``
deal amounts              won deals of the last ``deal_window_days``, resampled with
                          their payment terms
payments                  share of a won amount received d days after the win, per
                          payment-terms group (the plan-fact forecast's curves);
                          expected payments of the deals won before ``as_of``
open pipeline             every open deal, its stage and time in it                  ``initial``
attrition                 leavers per seller-month over the data's span (exact CI)   ``effects_``
========================  ==========================================================  ===========

What a CRM cannot tell — the head of sales' coaching effect, ramp-up of new hires, time to fill
a vacancy, the minutes of admin per lead — are assumptions (:data:`ASSUMPTIONS`, overridable from
``params/simulation/*.yaml`` via :func:`load_assumptions`), listed in ``assumptions_`` next to
every result. The notes (what the data could not tell) are label keys and their parameters, no
language; :func:`salesaudit.report.capacity.calibration_tables` and ``calibration_notes`` give the
tables and the notes in the report's language.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import optimize, special, stats

from ..analysis.baseline import TEAM, deal_groups, owner_group
from ..data.snapshot import snapshot
from ..errors import ParameterError, closest, display_path
from ..stats import kaplan_meier, km_quantile
from .coaching import CoachingEffect
from .department import AT_LIMIT, ROUTING_RULES, Conversion, DepartmentParams, HeadOfSales, Seller, Staffing, Stage
from .effects import overload_effect, response_effect
from .inflow import LeadInflow

__all__ = ["ASSUMPTIONS", "Calibration", "calibrate", "conversion_check", "earlier_payments", "load_assumptions",
           "lognormal_fit", "revenue_plan", "seller_channels", "touch_by_stage"]

#: assumption → (default, meaning). Override them in ``params/simulation/*.yaml``.
ASSUMPTIONS: dict = {
    "window_days": (182, "days of leads before the audit moment used for the inflow and the response times"),
    "deal_window_days": (365, "days of deals and stage stays before the audit moment used for stages and amounts"),
    "min_n": (30, "fewest observations to estimate a seller's own figure (else the team's)"),
    "seller_prior_deals": (20.0, "pseudo-count pulling a seller's stage forward share and pace to the team's"),
    "admin_min_per_lead": (5.0, "minutes of CRM entry per lead, on top of the first call"),
    "task_min": (5.0, "minutes per task or e-mail on a deal"),
    "beta_response_default": (0.0, "slow-response slope used when the data cannot estimate it"),
    "delta_overload_default": (0.0, "overload slope used when the data cannot show it (per 10 open deals)"),
    "ramp_weeks": (8.0, "weeks until a new seller is fully productive"),
    "ramp_start": (0.5, "a new seller's productivity on day one"),
    "time_to_fill_days": (45.0, "days to replace a seller who left"),
    "head_hours_per_month": (168.0, "working hours of the head of sales per month"),
    "coaching_share": (0.5, "share of the head's non-selling hours spent coaching"),
    "coaching_max_lift": (0.15, "largest relative lift of conversion from coaching"),
    "coaching_half_hours": (20.0, "steady coaching hours per month giving half the largest lift"),
    "coaching_lag_months": (1, "months before coaching shows"),
    "coaching_carryover": (0.6, "share of the coaching effect kept from month to month"),
    "deal_limit": (None, "deal-load limit per seller in the base scenario (empty: no limit)"),
    "at_limit": ("queue", f"what happens to a lead for a seller at the limit: {', '.join(AT_LIMIT)}"),
    "routing": ("round_robin", f"lead routing rule: {', '.join(ROUTING_RULES)}"),
    "inflow_trend": ("none", "lead volume ahead: the window's average level, or the window's trend projected forward"),
    "plan_growth": (1.0, "when the CRM has no revenue plan for the horizon: the plan is the team's plan of the last three planned months "
                         "(without plans: the payments of the last three months), per day, times this factor"),
}

INFLOW_TRENDS = ("none", "fitted")


def load_assumptions(path=None, **overrides) -> dict:
    """Defaults of :data:`ASSUMPTIONS`, updated from a YAML file and keyword overrides.

    An unknown key or a value of the wrong kind is a :class:`~salesaudit.errors.ParameterError`
    naming the file, the key and what is allowed.
    """
    values = {k: v[0] for k, v in ASSUMPTIONS.items()}
    sources = []
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ParameterError(display_path(p), ["the simulation assumptions file does not exist. How to fix: point `assumptions_path` at a file under "
                                                   "params/simulation/, or leave it empty for the defaults."])
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ParameterError(display_path(p), [f"expected a mapping of assumption: value, got {type(data).__name__}."])
        sources.append((display_path(p), data))
    if overrides:
        sources.append(("the notebook parameters", overrides))
    for where, data in sources:
        for key, value in data.items():
            if key not in ASSUMPTIONS:
                hint = closest(key, ASSUMPTIONS)
                raise ParameterError(where, [
                    f"unknown simulation assumption `{key}`" + (f" (did you mean `{hint}`?)" if hint else "")
                    + f". Allowed keys: {', '.join(ASSUMPTIONS)}."
                ])
            default = ASSUMPTIONS[key][0]
            if key == "at_limit" and value not in AT_LIMIT:
                raise ParameterError(where, [f"`at_limit` must be one of {', '.join(AT_LIMIT)}, got {value!r}."])
            if key == "inflow_trend" and value not in INFLOW_TRENDS:
                raise ParameterError(where, [f"`inflow_trend` must be one of {', '.join(INFLOW_TRENDS)}, got {value!r}."])
            if key == "routing" and value not in ROUTING_RULES:
                raise ParameterError(where, [f"`routing` must be one of {', '.join(ROUTING_RULES)}, got {value!r}."])
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if not isinstance(value, (int, float)) or isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)) or value < 0:
                    raise ParameterError(where, [f"`{key}` ({ASSUMPTIONS[key][1]}) must be a number ≥ 0, got {value!r}."])
            if key == "deal_limit" and value is not None and (not isinstance(value, int) or value < 1):
                raise ParameterError(where, [f"`deal_limit` must be a whole number ≥ 1 or empty, got {value!r}."])
            values[key] = value
    return values


# --------------------------------------------------------------------------- fitting helpers


_NORM_PDF_LOGC = np.log(np.sqrt(2 * np.pi))


def _lognormal_nll(lt: np.ndarray, o: np.ndarray, mu: float, log_sigma: float) -> float:
    """Negative log-likelihood of a lognormal (``lt``: log times; ``o``: observed, else right-censored)."""
    z = (lt - mu) / math.exp(log_sigma)
    # scipy.stats.norm.logpdf and .logsf written out as scipy computes them (same numbers, without
    # the argument checks that cost more than the sums on the thousands of calls of a fit)
    zo = z[o]
    return -(np.sum(-zo**2 / 2.0 - _NORM_PDF_LOGC - log_sigma - lt[o]) + np.sum(special.log_ndtr(-z[~o])))


def lognormal_fit(t, observed=None) -> dict:
    """MLE of a lognormal with right-censored observations: ``mu``, ``sigma``, ``n``, ``events``.

    >>> rng = np.random.default_rng(3)
    >>> x = np.exp(rng.normal(1.0, 0.5, 4000))
    >>> c = np.minimum(x, 4.0)                    # censor at 4
    >>> f = lognormal_fit(c, x < 4.0)
    >>> round(f["mu"], 1), round(f["sigma"], 1)
    (1.0, 0.5)
    """
    t = np.maximum(np.asarray(t, dtype=float), 1e-4)
    o = np.ones(len(t), dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    lt = np.log(t)
    if len(t) == 0:
        return {"mu": np.nan, "sigma": np.nan, "n": 0, "events": 0}
    if o.sum() < 2:
        return {"mu": float(lt.mean()), "sigma": 1.0, "n": int(len(t)), "events": int(o.sum())}

    x0 = [float(lt[o].mean()), math.log(max(float(lt[o].std()), 0.05))]
    res = optimize.minimize(lambda th: _lognormal_nll(lt, o, th[0], th[1]), x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 2000})
    return {"mu": float(res.x[0]), "sigma": float(math.exp(res.x[1])), "n": int(len(t)), "events": int(o.sum())}


def lognormal_mu(t, observed, sigma: float) -> float:
    """MLE of a lognormal's ``mu`` with ``sigma`` given, right-censored observations allowed.

    >>> rng = np.random.default_rng(1)
    >>> x = np.exp(rng.normal(2.0, 0.8, 3000))
    >>> round(lognormal_mu(np.minimum(x, 12.0), x < 12.0, 0.8), 1)
    2.0
    """
    lt = np.log(np.maximum(np.asarray(t, dtype=float), 1e-4))
    o = np.asarray(observed, dtype=bool)
    if o.sum() == 0:
        return math.nan

    log_sigma = math.log(sigma)
    lo, hi = float(lt.min()) - 5 * sigma, float(lt.max()) + 5 * sigma
    return float(optimize.minimize_scalar(lambda mu: _lognormal_nll(lt, o, mu, log_sigma), bounds=(lo, hi), method="bounded", options={"xatol": 1e-7}).x)


def revenue_plan(ds, start, days: float) -> float | None:
    """The team's revenue plan over ``[start, start + days)``, months prorated by calendar days.

    The plans table's rows of metric ``revenue`` with a monthly period, the team's row (no
    manager; the managers' sum when the team has none). None when no month of the horizon is
    planned; a horizon planned in part counts the planned months only (the caller checks
    :func:`plan_coverage`).
    """
    if not ds.has("plans"):
        return None
    pl = ds.tables["plans"]
    pl = pl[(pl["metric"] == "revenue") & pl["period"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
    if pl.empty:
        return None
    team = pl[pl["manager"].isna()]
    by_month = (team if not team.empty else pl).groupby(pl["period"].astype(str))["target"].sum()
    start = pd.Timestamp(start)
    end = start + pd.Timedelta(days=days)
    total, covered = 0.0, 0.0
    for m in pd.period_range(start, end - pd.Timedelta(seconds=1), freq="M"):
        m_end = (m + 1).start_time
        lo, hi = max(m.start_time, start), min(m_end, end)
        share = (hi - lo) / (m_end - m.start_time)
        if str(m) in by_month.index:
            total += float(by_month[str(m)]) * share
            covered += share
    return total if covered > 0 else None


def plan_coverage(ds, start, days: float) -> float:
    """The share of the horizon's days that fall in months the team's revenue plan covers."""
    if not ds.has("plans"):
        return 0.0
    pl = ds.tables["plans"]
    months = set(pl.loc[(pl["metric"] == "revenue") & pl["period"].astype(str).str.fullmatch(r"\d{4}-\d{2}"), "period"].astype(str))
    start = pd.Timestamp(start)
    end = start + pd.Timedelta(days=days)
    hit = sum((min((m + 1).start_time, end) - max(m.start_time, start)) / pd.Timedelta(days=1)
              for m in pd.period_range(start, end - pd.Timedelta(seconds=1), freq="M") if str(m) in months)
    return float(hit / days) if days > 0 else 0.0


def earlier_payments(ds, T, curves: dict, grid_days: int = 800) -> dict:
    """Expected payments of the deals won by ``T`` received within ``d`` days after ``T``.

    The plan-fact forecast's rule (:func:`salesaudit.analysis.planfact.forecast`): a deal won ``a``
    days before ``T`` with ``left`` of its amount not received by ``T`` pays
    ``left × (g(a + d) − g(a)) / (1 − g(a))`` within ``d`` days, ``g`` its payment-terms group's
    curve. Returns ``curve`` (the sum by ``d`` = 0 … ``grid_days``), ``deals`` (won deals with
    something left) and ``left`` (their amount not yet received).
    """
    from ..analysis.planfact import _g

    deals = ds.tables["deals"]
    won = deals[(deals["outcome"] == "won") & deals["closed_at"].notna() & (deals["closed_at"] <= T) & (deals["amount"] > 0)]
    pay = ds.tables["payments"]
    paid = pay[pay["paid_at"] <= T].groupby("deal_id")["amount"].sum()
    left = np.maximum(won["amount"].to_numpy(float) - won["deal_id"].map(paid).fillna(0.0).to_numpy(float), 0.0)
    group = won["payment_terms"].astype(object).where(won["payment_terms"].notna(), "?").astype(str).to_numpy() \
        if "payment_terms" in won else np.full(len(won), "?", dtype=object)
    age = ((T - won["closed_at"]).dt.total_seconds() / 86400.0).to_numpy(float)
    d = np.arange(grid_days + 1, dtype=float)
    curve = np.zeros(len(d))
    keep = left > 0
    for g in pd.unique(group[keep]):
        m = keep & (group == g)
        a, lf = age[m], left[m]
        g0 = _g(curves, g, a)
        ok = g0 < 1.0 - 1e-9
        if not ok.any():
            continue
        a, lf, g0 = a[ok], lf[ok], g0[ok]
        g1 = _g(curves, g, a[:, None] + d[None, :])
        share = np.clip((g1 - g0[:, None]) / (1.0 - g0[:, None]), 0.0, 1.0)
        curve += lf @ share
    return {"curve": curve, "deals": int(keep.sum()), "left": float(left[keep].sum())}


# --------------------------------------------------------------------------- the calibration


@dataclass
class Calibration:
    """Fitted parameters (``params``) and the diagnostics of each part."""

    params: DepartmentParams
    as_of: pd.Timestamp
    inflow_: pd.DataFrame
    inflow_summary_: dict
    stages_: pd.DataFrame
    sellers_: pd.DataFrame
    effects_: pd.DataFrame
    assumptions_: pd.DataFrame
    stays_: pd.DataFrame = field(repr=False, default=None)
    #: lead → deal conversion observed against the model, by channel, response band and seller (:func:`conversion_check`)
    conversions_: pd.DataFrame = field(default=None)
    #: the limits of the data, each as ``(label key, parameters)`` (no language): in words by
    #: :func:`salesaudit.report.capacity.calibration_notes`
    notes: list = field(default_factory=list)


class _Notes(list):
    """The calibration's notes: ``(label key, parameters)`` of each."""

    def add(self, key: str, **params) -> None:
        self.append((key, params))


def _active_people(ds, T) -> pd.DataFrame:
    if not ds.has("managers"):
        src = pd.concat([ds.tables[t]["manager"] for t in ("leads", "deals") if ds.has(t)])
        keys = sorted(pd.unique(src.dropna().astype(str)))
        return pd.DataFrame({"manager": keys, "name": keys, "role": "manager", "hired_at": pd.NaT, "left_at": pd.NaT})
    m = ds.tables["managers"]
    act = (m["hired_at"].isna() | (m["hired_at"] <= T)) & (m["left_at"].isna() | (m["left_at"] > T))
    act &= owner_group(ds, m["manager"]) != "system"  # a CRM robot is no seller
    return m[act].reset_index(drop=True)


def _attrition(ds, lo, T) -> dict:
    if not ds.has("managers"):
        return {"rate": 0.0, "lo": 0.0, "hi": np.nan, "leavers": 0, "months": 0.0}
    m = ds.tables["managers"]
    m = m[m["role"].astype(str) == "manager"]
    start = m["hired_at"].fillna(lo).clip(lower=lo)
    end = m["left_at"].fillna(T).clip(upper=T)
    months = float(((end - start).dt.days.clip(lower=0)).sum() / 30.4375)
    k = int(((m["left_at"].notna()) & (m["left_at"] >= lo) & (m["left_at"] <= T)).sum())
    if months <= 0:
        return {"rate": 0.0, "lo": 0.0, "hi": np.nan, "leavers": k, "months": months}
    lo_ci = stats.chi2.ppf(0.025, 2 * k) / 2 / months if k > 0 else 0.0
    hi_ci = stats.chi2.ppf(0.975, 2 * (k + 1)) / 2 / months
    return {"rate": k / months, "lo": float(lo_ci), "hi": float(hi_ci), "leavers": k, "months": months}


def _derive_lead_status(snap, T, notes: _Notes):
    """Leads that are never marked disqualified (Olist): converted when a deal links to them, else disqualified
    once older than 60 days, else still in work. Returns the dataset with that status."""
    from dataclasses import replace

    le = snap.tables["leads"]
    if (le["status"].astype(str) == "disqualified").any() or not snap.has("deals"):
        return snap
    d = snap.tables["deals"]
    linked = set(d["lead_id"].dropna().astype(str)) | set(le["deal_id"].dropna().astype(str).map(
        dict(zip(d["deal_id"].astype(str), d["lead_id"].astype(str)))).dropna())
    conv = le["lead_id"].astype(str).isin(linked)
    old = le["created_at"] <= T - pd.Timedelta(days=60)
    status = np.where(conv, "converted", np.where(old, "disqualified", "in_work"))
    le = le.copy()
    le["status"] = pd.Categorical(status, categories=["new", "in_work", "converted", "disqualified"])
    notes.add("capacity.note.lead_status")
    return replace(snap, tables={**snap.tables, "leads": le})


def _response_proxy(snap, cal, lo, notes: _Notes) -> pd.DataFrame | None:
    """When the export has no first-response times: the lead → deal time of converted leads
    (the deal is created at the first contact, as in Olist), in working minutes."""
    le, d = snap.tables["leads"], snap.tables["deals"]
    if "lead_id" not in d or d["lead_id"].isna().all():
        return None
    m = d[["lead_id", "created_at", "manager"]].dropna(subset=["lead_id"]).merge(
        le[["lead_id", "created_at"]].rename(columns={"created_at": "lead_at"}), on="lead_id")
    m = m[m["lead_at"] >= lo]
    if m.empty:
        return None
    mins = cal.working_minutes_between(m["lead_at"], m["created_at"]) if cal is not None else (m["created_at"] - m["lead_at"]).dt.total_seconds() / 60
    notes.add("capacity.note.response_proxy")
    return pd.DataFrame({"manager": m["manager"].astype(str).to_numpy(), "working_minutes": np.asarray(mins, float), "answered": True})


def _activity_minutes(act: pd.DataFrame, task_min: float) -> np.ndarray:
    """Minutes of each activity: calls and meetings by their duration, tasks and e-mails at ``task_min``."""
    minutes = act["duration_sec"].fillna(0).to_numpy(float) / 60.0
    return np.where(act["type"].isin(["task", "email"]).to_numpy(), task_min, minutes)


def touch_by_stage(stays: pd.DataFrame, activities: pd.DataFrame | None, lo, T, task_min: float = 5.0) -> pd.DataFrame:
    """Touch work per open deal per calendar day in each stage, with a 95 % CI.

    Each deal activity in ``[lo, T]`` is put in the stay its deal was in at the time
    (``pandas.merge_asof`` on the stay's entry); each stay's days are cut to ``[lo, T]``. The
    rate of a stage is its minutes over its deal-days (a ratio estimator); the CI is the ratio's
    normal interval with the deals as clusters. Activities outside any stay (before the first
    entry, after the close) count in no stage. Columns: ``stage, stays, deal_days, minutes,
    activities, touch_min_per_day, lo, hi``. The deal-days per seller and stage are in
    ``attrs["deal_days_by_seller"]`` (a Series indexed by manager, stage).

    >>> st = pd.DataFrame({"deal_id": ["1", "1", "2"], "manager": "m", "stage": ["a", "b", "a"],
    ...     "entered_at": pd.to_datetime(["2026-01-01", "2026-01-03", "2026-01-01"]), "days": [2.0, 2.0, 4.0]})
    >>> act = pd.DataFrame({"deal_id": ["1", "1", "2"], "type": "call", "duration_sec": [600.0, 1200.0, 600.0],
    ...     "created_at": pd.to_datetime(["2026-01-02", "2026-01-04", "2026-01-02"])})
    >>> t = touch_by_stage(st, act, pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01"))
    >>> t[["stage", "deal_days", "minutes", "touch_min_per_day"]].values.tolist()
    [['a', 6.0, 20.0, 3.3333333333333335], ['b', 2.0, 20.0, 10.0]]
    """
    lo, T = pd.Timestamp(lo), pd.Timestamp(T)
    st = stays[["deal_id", "manager", "stage", "entered_at", "days"]].copy()
    st["stage"] = st["stage"].astype(str)
    st["deal_id"] = st["deal_id"].astype(str)
    leave = st["entered_at"] + pd.to_timedelta(st["days"].to_numpy(float), unit="D")
    st["leave"] = leave
    st["d"] = ((leave.clip(upper=T) - st["entered_at"].clip(lower=lo)).dt.total_seconds() / 86400.0).clip(lower=0.0)
    st = st[st["d"] > 0]
    st["m"] = 0.0
    st["n_act"] = 0
    if activities is not None and len(activities):
        act = activities[(activities["created_at"] >= lo) & (activities["created_at"] <= T) & activities["deal_id"].notna()]
        act = pd.DataFrame({"deal_id": act["deal_id"].astype(str).to_numpy(), "at": act["created_at"].to_numpy(),
                            "min": _activity_minutes(act, task_min)})
        if len(act) and len(st):
            right = st.reset_index().rename(columns={"index": "stay"})[["stay", "deal_id", "entered_at", "leave"]]
            hit = pd.merge_asof(act.sort_values("at"), right.sort_values("entered_at"), left_on="at", right_on="entered_at",
                                by="deal_id", direction="backward")
            hit = hit[hit["stay"].notna() & (hit["at"] < hit["leave"])]
            per = hit.groupby(hit["stay"].astype(int))["min"].agg(["sum", "count"])
            st.loc[per.index, "m"] = per["sum"].to_numpy()
            st.loc[per.index, "n_act"] = per["count"].to_numpy()
    rows = []
    for key, g in st.groupby("stage", sort=False, observed=True):
        per_deal = g.groupby("deal_id")[["m", "d"]].sum()
        D, M = float(per_deal["d"].sum()), float(per_deal["m"].sum())
        r = M / D if D > 0 else np.nan
        n = len(per_deal)
        se = math.sqrt(n / max(n - 1, 1) * float(((per_deal["m"] - r * per_deal["d"]) ** 2).sum())) / D if D > 0 and n > 1 else np.nan
        rows.append({"stage": key, "stays": int(len(g)), "deal_days": D, "minutes": M, "activities": int(g["n_act"].sum()),
                     "touch_min_per_day": r, "lo": max(r - 1.96 * se, 0.0) if se == se else np.nan,
                     "hi": r + 1.96 * se if se == se else np.nan})
    out = pd.DataFrame(rows, columns=["stage", "stays", "deal_days", "minutes", "activities", "touch_min_per_day", "lo", "hi"])
    out.attrs["deal_days_by_seller"] = st.groupby([st["manager"].astype(str), "stage"])["d"].sum()
    return out


def seller_channels(leads: pd.DataFrame, channels=None, share: float = 0.1, alpha: float = 0.001) -> dict:
    """The channels each seller serves, read from who got which leads (for the ``skill`` rule).

    A seller is taken **not** to serve a channel when they got under ``share`` of their fair
    share of its leads (their share of all leads × the channel's leads) and a binomial test
    says that is no chance (p < ``alpha``). With few leads nothing is excluded, so under round
    robin everybody serves everything. Returns manager → tuple of channels, or ``None`` for all.

    >>> le = pd.DataFrame({"manager": ["a"] * 60 + ["b"] * 60,
    ...                    "channel": ["web"] * 30 + ["calls"] * 30 + ["web"] * 60})
    >>> seller_channels(le)
    {'a': None, 'b': ('web',)}
    """
    ch = leads["channel"].astype("string").fillna("unknown").astype(str)
    m = leads["manager"].astype("string").fillna("").astype(str)
    ok = m != ""
    tab = pd.crosstab(m[ok], ch[ok])
    universe = list(channels) if channels is not None else list(tab.columns)
    tab = tab.reindex(columns=universe, fill_value=0)
    n = float(tab.to_numpy().sum())
    out = {}
    for k, row in tab.iterrows():
        n_k = float(row.sum())
        served = []
        for c in universe:
            p_c = float(tab[c].sum()) / n if n else 0.0
            expected = n_k * p_c
            x = int(row[c])
            excluded = expected > 0 and x < share * expected and stats.binom.cdf(x, int(n_k), p_c) < alpha
            if not excluded:
                served.append(c)
        out[str(k)] = None if len(served) == len(universe) else tuple(served)
    return out


#: response-time bands of :func:`conversion_check`, in working minutes (upper edges)
RESPONSE_BANDS = (15.0, 60.0, 240.0, 540.0, math.inf)


def conversion_check(rt: pd.DataFrame, channel_logit: dict, seller_offset: dict, beta: float) -> pd.DataFrame:
    """Lead → deal conversion, observed against the fitted model, by channel, response band and seller.

    ``rt``: decided leads (converted or disqualified) with ``channel``, ``manager``, ``answered``
    and ``working_minutes`` (:func:`salesaudit.analysis.leads.response_times`). The model's chance of a
    lead is ``sigmoid(channel + seller + beta·log(1 + response hours))``; a group's ``fitted`` is
    the mean chance of its leads, ``observed`` its share converted with the Wilson 95 % CI
    (``lo``, ``hi``), and ``inside`` says whether the fitted share lies in it. Response bands
    (working minutes: up to 15, 60, 240, 540, more) need answered leads; without them only the
    channels and sellers are checked.
    """
    from ..stats import wilson

    cols = ["group", "key", "leads", "observed", "lo", "hi", "fitted", "inside"]
    d = rt[rt["status"].isin(["converted", "disqualified"])]
    if d["answered"].any():
        d = d[d["answered"]]
    if d.empty:
        return pd.DataFrame(columns=cols)
    ch = d["channel"].astype("string").fillna("unknown").astype(str).to_numpy()
    mgr = d["manager"].astype("string").fillna("—").astype(str).to_numpy()
    mins = np.clip(d["working_minutes"].to_numpy(float), 0, None)
    hours = np.where(np.isfinite(mins), mins, 0.0) / 60.0
    logit = {c: Conversion(channel_logit).logit_for(c) for c in set(ch)}
    z = (np.array([logit[c] for c in ch]) + np.array([seller_offset.get(m, 0.0) for m in mgr])
         + (beta if math.isfinite(beta) else 0.0) * np.log1p(hours))
    frame = pd.DataFrame({"channel": ch, "seller": mgr, "y": (d["status"] == "converted").to_numpy(), "p": 1.0 / (1.0 + np.exp(-z))})
    groups = ["channel", "seller"]
    if np.isfinite(mins).any() and d["answered"].all():
        names = [f"≤{e:g}" for e in RESPONSE_BANDS[:-1]] + [f">{RESPONSE_BANDS[-2]:g}"]
        frame["response"] = pd.cut(mins, [-np.inf, *RESPONSE_BANDS], labels=names)  # categorical, in band order
        groups = ["channel", "response", "seller"]
    rows = []
    for g in groups:
        agg = frame.groupby(g, observed=True).agg(leads=("y", "size"), k=("y", "sum"), fitted=("p", "mean"))
        lo, hi = wilson(agg["k"].to_numpy(), agg["leads"].to_numpy())
        for (key, r), a_, b_ in zip(agg.iterrows(), np.atleast_1d(lo), np.atleast_1d(hi)):
            obs = r["k"] / r["leads"]
            rows.append({"group": g, "key": str(key), "leads": int(r["leads"]), "observed": float(obs), "lo": float(a_),
                         "hi": float(b_), "fitted": float(r["fitted"]), "inside": bool(a_ <= r["fitted"] <= b_)})
    return pd.DataFrame(rows, columns=cols)


def calibrate(ds, as_of=None, assumptions: dict | None = None) -> Calibration:
    """Fit the simulation to the dataset as it was at ``as_of`` (default: the dataset's)."""
    from ..analysis import leads as leads_mod
    from ..analysis import stalls

    a = load_assumptions(**(assumptions or {}))
    T = pd.Timestamp(ds.as_of if as_of is None else as_of)
    snap = snapshot(ds, T) if T < pd.Timestamp(ds.as_of) else ds
    cal = ds.calendar
    start = (T + pd.Timedelta(seconds=1)).normalize()
    if start <= T:
        start += pd.Timedelta(days=1)
    win_lo = T - pd.Timedelta(days=a["window_days"])
    deal_lo = T - pd.Timedelta(days=a["deal_window_days"])
    notes = _Notes()
    min_n = int(a["min_n"])

    # ---- lead inflow
    inflow = LeadInflow.fit(snap.tables["leads"], start=win_lo, end=T, calendar=cal)
    trend = (inflow.fit_summary_ or {}).get("trend")
    grows = trend is not None and "origin" in trend and trend["p_value"] < 0.01
    if a["inflow_trend"] == "fitted" and trend is not None and "origin" in trend:
        inflow = inflow.with_trend()
        notes.add("capacity.note.trend_used", growth=trend["per_year"], lo=trend["ci_low"], hi=trend["ci_high"])
    elif grows and not 0.8 <= trend["per_year"] <= 1.25:
        notes.add("capacity.note.trend_unused", growth=trend["per_year"], lo=trend["ci_low"], hi=trend["ci_high"])

    # month-to-month variation of the lead volume beyond Poisson, over the last 12 full months
    months = snap.tables["leads"]["created_at"]
    first_full = (T - pd.Timedelta(days=366)).to_period("M") + 1
    if len(months):  # only months the export covers in full
        first_full = max(first_full, months.min().to_period("M") + 1)
    last_full = (T + pd.Timedelta(seconds=1)).to_period("M") - 1  # T at a month's end counts that month
    per = months.dt.to_period("M")
    per = per[(per >= first_full) & (per <= last_full)]
    counts = per.value_counts().reindex(pd.period_range(first_full, last_full, freq="M"), fill_value=0).to_numpy(float)
    if per.empty:
        counts = np.zeros(0)
    volume_cv = 0.0
    if len(counts) >= 3 and counts.mean() > 0:
        if inflow.growth_per_year != 1.0 and len(counts) >= 4 and (counts > 0).all():
            # with the trend projected, the variation around a log-linear line through the months
            mu_m = np.exp(np.polyval(np.polyfit(np.arange(len(counts)), np.log(counts), 1), np.arange(len(counts))))
            mu_m *= counts.sum() / mu_m.sum()
            excess = float(np.sum((counts - mu_m) ** 2 / mu_m**2) / (len(counts) - 2) - np.mean(1.0 / mu_m))
        else:
            excess = float((counts.var(ddof=1) - counts.mean()) / counts.mean() ** 2)
        volume_cv = float(math.sqrt(max(0.0, excess)))

    # ---- response times and the lead → deal model
    snap = _derive_lead_status(snap, T, notes)
    rt = leads_mod.response_times(snap)
    rt_win = rt[rt["created_at"] >= win_lo]
    resp_src = rt_win
    if rt_win["answered"].sum() < min_n:
        proxy = _response_proxy(snap, cal, win_lo, notes)
        if proxy is not None and len(proxy) >= min_n:
            resp_src = proxy
    resp = response_effect(rt[rt["created_at"] >= deal_lo])
    beta = resp["beta"] if resp["detectable"] else a["beta_response_default"]
    channel_logit = resp["channel_logit"]
    if not channel_logit:  # no response-time model: each channel's plain conversion share
        d = rt[(rt["created_at"] >= deal_lo) & rt["status"].isin(["converted", "disqualified"])]
        ch = d["channel"].astype("string").fillna("unknown").astype(str)
        conv = (d["status"] == "converted").groupby(ch).agg(["sum", "count"])
        channel_logit = {}
        for c in inflow.channels:
            k, n = (conv.loc[c, "sum"], conv.loc[c, "count"]) if c in conv.index else (0, 0)
            share = (k + 0.5) / (n + 1.0)  # Jeffreys-like: no channel at exactly 0 or 1
            channel_logit[c] = math.log(share / (1 - share))
        notes.add("capacity.note.channel_share")

    # ---- stages
    all_stays = stalls.stage_stays(snap, owner="deal_owner")  # a seller's pace is the deals they own, whoever moved them
    # the department the simulation models: the team and the head of sales (analysis.baseline); the
    # deals nobody owns and those of a system owner (a CRM robot declining web-form duplicates in
    # minutes) are not a seller's work and would bend the stage times and forward shares
    # (by the deal's owner group: a stay of a deal without a manager carries a placeholder, not an empty owner)
    dg = deal_groups(snap)
    dg.index = snap.tables["deals"]["deal_id"].to_numpy()
    modelled = all_stays["deal_id"].map(dg).isin([TEAM, "head_of_sales"]).to_numpy(bool)
    all_stays = all_stays[modelled]
    stays = all_stays[all_stays["entered_at"] >= deal_lo]
    funnel = ds.funnel
    lost_keys = list(getattr(funnel, "lost_stages", [funnel.lost]))  # every lost terminal: a stay that ends in any of them did not move forward
    stage_rows, stages = [], []
    # touch work per stage (calls, meetings, tasks on the deal while it sat there)
    touch_tbl = touch_by_stage(all_stays, snap.tables["activities"] if snap.has("activities") else None, win_lo, T,
                               float(a["task_min"]))
    touch_at = touch_tbl.set_index("stage")
    fwd_by_seller: dict = {}
    pace_by_seller: dict = {}
    prior = float(a["seller_prior_deals"])
    for key in funnel.open_stages:
        s = stays[stays["stage"].astype(str) == key]
        obs = s["observed"].to_numpy(bool)
        days = s["days"].to_numpy(float)
        nxt = s["next_stage"].astype(str).to_numpy()
        exits = int(obs.sum())
        fwd = int((obs & ~np.isin(nxt, lost_keys)).sum())
        p = fwd / exits if exits else 1.0
        if len(s) == 0:  # no stay ever recorded in this stage (no stage history): pass through it at once
            notes.add("capacity.note.stage_no_stays", stage=key)
            fit = {"mu": math.log(1e-4), "sigma": 0.01, "n": 0, "events": 0}
        else:
            fit = lognormal_fit(days, obs)
        lo_p, hi_p = (stats.beta.ppf([0.025, 0.975], fwd + 0.5, exits - fwd + 0.5) if exits else (np.nan, np.nan))
        med_km, p80_km = km_quantile(days, obs, 0.5), km_quantile(days, obs, 0.8)
        z80 = stats.norm.ppf(0.8)
        # largest gap between the Kaplan–Meier curve and the fitted survival (a KS-type distance)
        ks = np.nan
        if exits >= 5:
            km = kaplan_meier(days, obs)
            tt = km["time"].to_numpy(float)
            fitted = stats.norm.sf((np.log(np.maximum(tt, 1e-4)) - fit["mu"]) / fit["sigma"])
            ks = float(np.max(np.abs(km["survival"].to_numpy(float) - fitted)))
        tr = touch_at.loc[key] if key in touch_at.index else None
        own_touch = tr is not None and snap.has("activities") and tr["stays"] >= min_n
        stage_rows.append({
            "stage": key, "stays": len(s), "finished": exits, "p_forward": p, "p_lo": float(lo_p), "p_hi": float(hi_p),
            "median_km": med_km, "median_fit": math.exp(fit["mu"]), "p80_km": p80_km,
            "p80_fit": math.exp(fit["mu"] + fit["sigma"] * z80), "sigma": fit["sigma"], "ks_distance": ks,
            "touch_min_per_day": float(tr["touch_min_per_day"]) if tr is not None else np.nan,
            "touch_lo": float(tr["lo"]) if tr is not None else np.nan, "touch_hi": float(tr["hi"]) if tr is not None else np.nan,
            "touch_source": "data" if own_touch else "department average",
        })
        stages.append(Stage(key, p, fit["mu"], fit["sigma"], touch_min_per_day=float(tr["touch_min_per_day"]) if own_touch else None,
                            label=dict(getattr(funnel.stage(key), "label", {}) or {}) if hasattr(funnel, "stage") else {}))
        managers = s["manager"].astype(str).to_numpy()
        by = pd.DataFrame({"m": managers, "o": obs, "f": obs & ~np.isin(nxt, lost_keys)}).groupby("m")[["o", "f"]].sum()
        for m, row in by.iterrows():
            if row["o"] >= 5:
                fwd_by_seller.setdefault(m, {})[key] = float((row["f"] + prior * p) / (row["o"] + prior))
                # the seller's pace: their stays' log-median against the team's (same sigma), pulled
                # to the team's by the pseudo-count, as a multiplier on the team's stays
                mine = managers == m
                mu_k = lognormal_mu(days[mine], obs[mine], fit["sigma"])
                if math.isfinite(mu_k):
                    w = row["o"] / (row["o"] + prior)
                    pace_by_seller.setdefault(m, {})[key] = float(math.exp(w * (mu_k - fit["mu"])))

    # ---- touch work and open load per seller in the window
    deals = snap.tables["deals"]
    deals = deals[np.isin(owner_group(snap, deals["manager"]), [TEAM, "head_of_sales"])]
    d_open = deals["created_at"].clip(lower=win_lo)
    d_close = deals["closed_at"].fillna(T).clip(upper=T)
    deal_days = ((d_close - d_open).dt.total_seconds().clip(lower=0) / 86400.0)
    win_days = max((T - win_lo).total_seconds() / 86400.0, 1.0)
    open_by = deal_days.groupby(deals["manager"].astype(str)).sum() / win_days
    touch = 0.0
    if snap.has("activities"):
        act = snap.tables["activities"]
        act = act[(act["created_at"] >= win_lo) & act["deal_id"].notna()]
        touch = float(_activity_minutes(act, float(a["task_min"])).sum() / max(deal_days.sum(), 1.0))
    # each seller's open touch work per calendar day: deal-days per stage × the stage's rate
    stage_rate = {st.key: (touch if st.touch_min_per_day is None else st.touch_min_per_day) for st in stages}
    dd = touch_tbl.attrs["deal_days_by_seller"]
    open_touch = {m: sum(float(v) * stage_rate.get(stg, touch) for (_, stg), v in g.items()) / win_days
                  for m, g in dd.groupby(level=0)} if len(dd) else {}
    handling = 10.0
    if snap.has("activities"):
        act = snap.tables["activities"]
        calls = act[(act["type"] == "call") & act["lead_id"].notna() & (act["created_at"] >= win_lo)]["duration_sec"].dropna()
        if len(calls) >= min_n:
            handling = float(calls.mean() / 60.0) + float(a["admin_min_per_lead"])
    mpd = cal.minutes_per_day if cal is not None else 1440.0

    # ---- sellers and the head of sales
    people = _active_people(snap, T)
    lead_counts = rt_win["manager"].astype(str).value_counts()
    if resp_src is not rt_win:
        lead_counts = resp_src["manager"].astype(str).value_counts()
    working_days = max(float(np.sum(cal.is_working_day(pd.date_range(win_lo.normalize(), T.normalize(), freq="D")))) if cal is not None else win_days, 1.0)
    work_per_day = mpd * working_days / win_days  # working minutes per calendar day
    team_fit = lognormal_fit(np.maximum(resp_src["working_minutes"].to_numpy(float), 0.5), resp_src["answered"].to_numpy(bool))
    resp_by_manager = {str(k): g for k, g in resp_src.groupby(resp_src["manager"].astype(str), sort=False)}
    sellers, seller_rows = [], []
    team_leads = [lead_counts.get(str(k), 0) for k, r in zip(people["manager"], people["role"]) if str(r) == "manager"]
    typical_leads = float(np.median([x for x in team_leads if x > 0])) if any(x > 0 for x in team_leads) else 1.0
    head = None
    for row in people.itertuples(index=False):
        key = str(row.manager)
        is_head = str(row.role) == "head_of_sales"
        mine = resp_by_manager.get(key, resp_src.iloc[:0])
        own = len(mine) >= min_n
        fit = lognormal_fit(np.maximum(mine["working_minutes"].to_numpy(float), 0.5), mine["answered"].to_numpy(bool)) if own else team_fit
        capacity = 1.0
        if is_head:
            capacity = float(np.clip(lead_counts.get(key, 0) / typical_leads, 0.0, 1.0))
        hired = pd.Timestamp(row.hired_at) if pd.notna(row.hired_at) else None
        hired_day = (hired - start).total_seconds() / 86400.0 if hired is not None else -1e9
        # the share of the seller's working time their open deals took when the reaction was measured
        occ = min(0.95, float(open_touch.get(key, 0.0)) / (work_per_day * max(capacity, 1e-6)))
        fwd = fwd_by_seller.get(key) if len(fwd_by_seller.get(key, {})) else None
        seller = Seller(
            key=key, name=str(row.name), reaction_median=math.exp(fit["mu"]), reaction_sigma=fit["sigma"],
            handling_min=handling, logit_offset=float(resp["seller_offset"].get(key, 0.0)), forward=fwd,
            stay_scale=pace_by_seller.get(key) or None,
            capacity=capacity, hired_day=hired_day, is_head=is_head, ref_occupancy=occ,
        )
        if is_head and capacity <= 0:
            notes.add("capacity.note.head_no_leads", seller=key)
        else:
            sellers.append(seller)
        if is_head:
            head = HeadOfSales(
                selling_share=capacity, baseline_share=capacity, hours_per_month=float(a["head_hours_per_month"]),
                coaching_share=float(a["coaching_share"]),
                effect=CoachingEffect(max_lift=float(a["coaching_max_lift"]), half_hours=float(a["coaching_half_hours"]),
                                      lag=int(a["coaching_lag_months"]), carryover=float(a["coaching_carryover"])),
            )
        seller_rows.append({
            "seller": key, "name": str(row.name), "head": is_head, "leads_in_window": int(len(mine)),
            "own_response_fit": own, "response_median_obs": km_quantile(np.maximum(mine["working_minutes"].to_numpy(float), 0.5), mine["answered"].to_numpy(bool), 0.5) if len(mine) else np.nan,
            "reaction_median": seller.reaction_median, "reaction_sigma": seller.reaction_sigma,
            "logit_offset": seller.logit_offset, "open_deals_avg": float(open_by.get(key, 0.0)), "occupancy": occ,
            "capacity": capacity, "own_stage_shares": fwd is not None,
            # the seller's stays against the team's, geometric mean over the stages with their own figure
            "stage_pace": float(np.exp(np.mean(np.log(list(pace_by_seller[key].values()))))) if pace_by_seller.get(key) else np.nan,
        })
    sellers.sort(key=lambda s: (s.is_head, s.key))
    # channels each seller serves (the skill rule), from who got which leads in the window
    le_win = snap.tables["leads"]
    serves = seller_channels(le_win[le_win["created_at"] >= win_lo], inflow.channels)
    for s_ in sellers:
        s_.channels = serves.get(s_.key)
    for r_ in seller_rows:
        c_ = serves.get(r_["seller"])
        r_["channels"] = "all" if c_ is None else ", ".join(c_)
    if any(v is not None for v in serves.values()):
        notes.add("capacity.note.skill_channels")

    # ---- deal amounts, decision delay, overload, attrition
    won = deals[(deals["outcome"] == "won") & (deals["closed_at"] >= deal_lo) & (deals["amount"] > 0)]
    if len(won) < min_n:
        won = deals[deals["amount"] > 0]
        notes.add("capacity.note.amounts_all_deals", n=min_n)
    amounts = won["amount"].to_numpy(float)
    terms_of = (lambda f: f["payment_terms"].astype(object).where(f["payment_terms"].notna(), "?").astype(str).to_numpy()) \
        if "payment_terms" in deals else (lambda f: np.full(len(f), "?", dtype=object))
    amount_terms = terms_of(won)
    # payments: the share of a won amount received d days after the win (the plan-fact forecast's curves)
    pay_curves, earlier = None, None
    if snap.has("payments") and len(snap.tables["payments"]):
        from ..analysis.planfact import _pay_curves

        pay_curves = {k: v for k, v in _pay_curves(snap, T).items() if k != "_grid"}
        earlier = earlier_payments(snap, T, pay_curves)
    else:
        notes.add("capacity.note.no_payments")
    dec_mu, dec_sigma = math.log(60.0), 1.0
    le = snap.tables["leads"]
    conv = le[le["deal_id"].notna() & le["first_response_at"].notna() & (le["created_at"] >= deal_lo)]
    if resp_src is not rt_win:
        dec_mu, dec_sigma = 0.0, 0.1  # the proxy already runs up to the deal's creation
    elif len(conv) >= min_n:
        created = conv["deal_id"].astype(str).map(dict(zip(deals["deal_id"].astype(str), deals["created_at"])))
        ok = created.notna()
        mins = (cal.working_minutes_between(conv.loc[ok, "first_response_at"], pd.to_datetime(created[ok])) if cal is not None
                else (pd.to_datetime(created[ok]) - conv.loc[ok, "first_response_at"]).dt.total_seconds() / 60)
        f = lognormal_fit(np.maximum(np.asarray(mins, float), 1.0))
        dec_mu, dec_sigma = f["mu"], f["sigma"]
    over = overload_effect(deals, T)
    delta = over["delta"] if over["detectable"] else a["delta_overload_default"]
    data_lo = min(x for x in [le["created_at"].min(), deals["created_at"].min()] if pd.notna(x))
    attr = _attrition(snap, data_lo, T)

    # ---- the open pipeline
    cur = all_stays[all_stays["is_current"]]
    terms_by_deal = pd.Series(terms_of(snap.tables["deals"]), index=snap.tables["deals"]["deal_id"].to_numpy())
    initial = pd.DataFrame({"manager": cur["manager"].astype(str).to_numpy(), "stage": cur["stage"].astype(str).to_numpy(),
                            "age_days": cur["days"].to_numpy(float), "amount": cur["amount"].to_numpy(float),
                            "terms": cur["deal_id"].map(terms_by_deal).fillna("?").to_numpy(object)})

    deal_limit = a["deal_limit"] if a["deal_limit"] is not None else getattr(getattr(ds.config, "deal_load", None), "limit", None)
    params = DepartmentParams(
        inflow=inflow, sellers=sellers, stages=stages,
        conversion=Conversion(channel_logit, beta_response=float(beta), delta_overload=float(delta), ref_load=over["ref_load"]),
        amounts=amounts, calendar=cal, decision_mu=dec_mu, decision_sigma=dec_sigma,
        deal_limit=a["deal_limit"], at_limit=a["at_limit"], routing=a["routing"],
        sla_minutes=float(ds.config.lead_response.sla_minutes), head=head,
        staffing=Staffing(ramp_weeks=float(a["ramp_weeks"]), ramp_start=float(a["ramp_start"]),
                          attrition_per_month=float(attr["rate"]), time_to_fill_days=float(a["time_to_fill_days"])),
        initial=initial, start=start, touch_min_per_deal_day=touch, volume_cv=volume_cv,
        amount_terms=amount_terms, pay_curves=pay_curves, earlier_payments=None if earlier is None else earlier["curve"],
        notes={"deal_limit_in_config": deal_limit, "plan_growth": float(a["plan_growth"]),
               "earlier_deals": 0 if earlier is None else earlier["deals"], "earlier_left": 0.0 if earlier is None else earlier["left"]},
    )
    effects = pd.DataFrame([
        {"effect": "beta_response", "estimate": resp["beta"], "lo": resp["lo"], "hi": resp["hi"], "n": resp["n"],
         "detectable": resp["detectable"], "used": float(beta), "source": "data" if resp["detectable"] else "assumption"},
        {"effect": "delta_overload", "estimate": over["delta"], "lo": over["lo"], "hi": over["hi"], "n": over["n"],
         "detectable": over["detectable"], "used": float(delta), "source": "data" if over["detectable"] else "assumption"},
        {"effect": "attrition_per_month", "estimate": attr["rate"], "lo": attr["lo"], "hi": attr["hi"], "n": attr["leavers"],
         "detectable": attr["leavers"] > 0, "used": attr["rate"], "source": "data"},
    ])
    assumptions_tbl = pd.DataFrame(
        [{"name": k, "value": a[k], "meaning": ASSUMPTIONS[k][1]} for k in ASSUMPTIONS]
        + [
            {"name": "handling_min", "value": round(handling, 2), "meaning": "seller's minutes per new lead (mean first-call length + admin)"},
            {"name": "touch_min_per_deal_day", "value": round(touch, 2),
             "meaning": "call, meeting and task minutes per open deal per day, department average (data); stages with enough stays use their own (stages_)"},
            {"name": "volume_cv", "value": round(volume_cv, 3), "meaning": "month-to-month variation of lead volume beyond Poisson (data); each replication draws its level"},
            {"name": "decision_median_min", "value": round(math.exp(dec_mu), 1), "meaning": "working minutes from the first response to the deal (data)"},
        ]
    )
    return Calibration(
        params=params, as_of=T, inflow_=inflow.diagnostics(), inflow_summary_=dict(inflow.fit_summary_ or {}),
        stages_=pd.DataFrame(stage_rows), sellers_=pd.DataFrame(seller_rows), effects_=effects,
        conversions_=conversion_check(rt[rt["created_at"] >= deal_lo], channel_logit, resp["seller_offset"], float(beta)),
        assumptions_=assumptions_tbl, stays_=stays, notes=list(notes),
    )
