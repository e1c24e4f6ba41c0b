"""Effects the simulation needs, estimated from the CRM with their uncertainty.

* :func:`logit_fit` — logistic regression by Newton–Raphson with an optional ridge penalty
  per coefficient (a normal prior; it shrinks sellers with few leads towards the team) and
  standard errors from the inverse Hessian.
* :func:`response_effect` — does a slow first response lower lead → deal conversion? The
  log-odds of converting are modelled as channel + seller + ``beta``·log(1 + response hours)
  over the leads already decided (converted or disqualified). With the seller in the model,
  ``beta`` is estimated from the variation *within* each seller, so a seller who is slow and
  also weak is not read as "slowness costs that much".
* :func:`overload_effect` — does a deal started while its seller carries many open deals win
  less often? Won against lost over closed deals, with the seller's open deals at the deal's
  creation (per 10 deals) as the covariate, the seller in the model.

Both say when the data cannot tell (the confidence interval covers zero): the caller then uses
the parameter value instead and the report says which one was used.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=4000)
>>> y = rng.random(4000) < 1 / (1 + np.exp(-(0.5 + 1.0 * x)))
>>> fit = logit_fit(np.column_stack([np.ones(4000), x]), y, ["const", "x"])
>>> [round(float(v), 1) for v in fit.coef_]
[0.5, 1.0]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from ..stats import km_quantile

__all__ = ["LogitFit", "logit_fit", "response_effect", "response_odds_ratio", "overload_effect", "open_load_at_creation"]

#: prior standard deviation of a seller's log-odds offset from the team (the ridge)
SELLER_PRIOR_SD = 0.5


@dataclass
class LogitFit:
    names: list
    coef_: np.ndarray
    se_: np.ndarray
    n_: int
    events_: int
    converged_: bool

    def coef(self, name: str) -> float:
        return float(self.coef_[self.names.index(name)])

    def ci(self, name: str, level: float = 0.95) -> tuple[float, float]:
        j = self.names.index(name)
        z = stats.norm.ppf(0.5 + level / 2)
        return float(self.coef_[j] - z * self.se_[j]), float(self.coef_[j] + z * self.se_[j])

    def table(self) -> pd.DataFrame:
        z = stats.norm.ppf(0.975)
        return pd.DataFrame(
            {"term": self.names, "estimate": self.coef_, "se": self.se_, "lo": self.coef_ - z * self.se_, "hi": self.coef_ + z * self.se_}
        )


class _Dense:
    """A design matrix held as it is."""

    def __init__(self, X: np.ndarray):
        self.X = np.asarray(X, dtype=float)
        self.n, self.k = self.X.shape

    def eta(self, b):
        return self.X @ b

    def score(self, r):
        return self.X.T @ r

    def info(self, w):
        return (self.X * w[:, None]).T @ self.X


class _Grouped:
    """Dense columns followed by one-hot columns given as codes (one per row), never built.

    A seller offset is a one-hot column per seller: with hundreds of sellers the dense matrix
    would be rows x sellers, and its cross product the slow part of every Newton step. Here
    ``X @ b`` is ``D @ b_d + b_g[codes]``, ``X.T @ r`` is ``D.T @ r`` beside ``bincount(codes, r)``,
    and ``X.T W X`` is assembled from ``D.T W D``, one ``bincount`` per dense column and the
    diagonal ``bincount(codes, w)``: the same matrices, in O(rows x dense columns).
    """

    def __init__(self, D: np.ndarray, codes: np.ndarray, m: int):
        self.D = np.asarray(D, dtype=float).reshape(len(codes), -1)
        self.codes = np.asarray(codes, dtype=np.int64)
        self.m = int(m)
        self.p = self.D.shape[1]
        self.n, self.k = len(self.codes), self.p + self.m

    def eta(self, b):
        return self.D @ b[: self.p] + b[self.p:][self.codes]

    def score(self, r):
        return np.concatenate([self.D.T @ r, np.bincount(self.codes, weights=r, minlength=self.m)])

    def info(self, w):
        H = np.empty((self.k, self.k))
        H[: self.p, : self.p] = (self.D * w[:, None]).T @ self.D
        cross = np.array([np.bincount(self.codes, weights=w * self.D[:, j], minlength=self.m) for j in range(self.p)]).reshape(self.p, self.m)
        H[: self.p, self.p:] = cross
        H[self.p:, : self.p] = cross.T
        H[self.p:, self.p:] = np.diag(np.bincount(self.codes, weights=w, minlength=self.m))
        return H


def _newton(design, y: np.ndarray, pen: np.ndarray, max_iter: int, tol: float):
    """Newton-Raphson on the ridge-penalised log-likelihood: coefficients, covariance, converged."""
    k = design.k
    b = np.zeros(k)
    converged = False
    ridge = np.diag(pen) + 1e-10 * np.eye(k)
    for _ in range(max_iter):
        p = special.expit(design.eta(b))
        grad = design.score(y - p) - pen * b
        step = np.linalg.solve(design.info(p * (1 - p)) + ridge, grad)
        b = b + step
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    p = special.expit(design.eta(b))
    cov = np.linalg.inv(design.info(p * (1 - p)) + ridge)
    return b, cov, converged


def logit_fit(X: np.ndarray, y, names: list, penalty=None, max_iter: int = 50, tol: float = 1e-9) -> LogitFit:
    """Maximise the (ridge-penalised) log-likelihood of a logistic model; SEs from the Hessian."""
    design = X if isinstance(X, (_Dense, _Grouped)) else _Dense(X)
    y = np.asarray(y, dtype=float)
    k = design.k
    pen = np.zeros(k) if penalty is None else np.broadcast_to(np.asarray(penalty, dtype=float), (k,)).copy()
    b, cov, converged = _newton(design, y, pen, max_iter, tol)
    return LogitFit(list(names), b, np.sqrt(np.clip(np.diag(cov), 0, None)), design.n, int(y.sum()), converged)


def _design(frame: pd.DataFrame, cat_cols: list, num_cols: list, seller_col: str | None):
    """Channel dummies (no intercept: one log-odds per channel), seller offsets (ridge), numerics.

    Returns the design (dense columns, then the sellers as codes), the names and the penalties
    in that order: categories, numerics, sellers.
    """
    cols, names, pen = [], [], []
    for c in cat_cols:
        values = frame[c].astype(str).to_numpy(dtype=object)
        for lv in sorted(pd.unique(values)):
            cols.append((values == lv).astype(float))
            names.append(f"{c}={lv}")
            pen.append(1e-6)
    for c in num_cols:
        cols.append(frame[c].to_numpy(float))
        names.append(c)
        pen.append(1e-6)
    D = np.column_stack(cols) if cols else np.empty((len(frame), 0))
    if seller_col is None:
        return _Dense(D), names, np.array(pen)
    levels, codes = np.unique(frame[seller_col].astype(str).to_numpy(dtype=object), return_inverse=True)
    names += [f"seller={lv}" for lv in levels]
    pen += [1.0 / SELLER_PRIOR_SD**2] * len(levels)
    return _Grouped(D, codes, len(levels)), names, np.array(pen)


def response_odds_ratio(beta: float, slow_hours: float = 4.0, fast_hours: float = 0.25) -> float:
    """How the odds of a deal change when a lead is answered after ``slow_hours`` instead of
    ``fast_hours``, under the slope ``beta`` per unit of log(1 + response hours).

    >>> round(response_odds_ratio(-0.73), 2)
    0.36
    """
    return float(np.exp(beta * (np.log1p(slow_hours) - np.log1p(fast_hours))))


def response_effect(rt: pd.DataFrame, min_n: int = 200) -> dict:
    """Lead → deal log-odds against log(1 + response hours), channel and seller in the model.

    ``rt`` is :func:`salesaudit.analysis.leads.response_times` (it carries ``status`` and
    ``working_minutes``). Returns ``fit`` (:class:`LogitFit` or None), ``beta`` with ``lo``/``hi``,
    ``n`` decided leads, ``detectable`` (the 95 % CI excludes 0), ``channel_logit`` and
    ``seller_offset`` (dicts for :class:`~.department.Conversion`), and the ratio of conversion
    at a 4-hour against a 15-minute response implied by ``beta``.
    """
    d = rt[rt["answered"] & rt["status"].isin(["converted", "disqualified"])].copy()
    out = {"n": int(len(d)), "fit": None, "beta": np.nan, "lo": np.nan, "hi": np.nan, "detectable": False,
           "channel_logit": {}, "seller_offset": {}}
    if len(d) < min_n:
        return out
    d["channel"] = d["channel"].astype("string").fillna("unknown").astype(str)
    d["manager"] = d["manager"].astype("string").fillna("—").astype(str)
    d["log_response_hours"] = np.log1p(np.clip(d["working_minutes"].to_numpy(float), 0, None) / 60.0)
    y = (d["status"] == "converted").to_numpy()
    X, names, pen = _design(d, ["channel"], ["log_response_hours"], "manager")
    fit = logit_fit(X, y, names, pen)
    lo, hi = fit.ci("log_response_hours")
    beta = fit.coef("log_response_hours")
    out.update(
        fit=fit, beta=beta, lo=lo, hi=hi, detectable=bool(lo > 0 or hi < 0),
        channel_logit={n.split("=", 1)[1]: fit.coef(n) for n in names if n.startswith("channel=")},
        seller_offset={n.split("=", 1)[1]: fit.coef(n) for n in names if n.startswith("seller=")},
    )
    # the seller offsets average zero; the channel log-odds absorb the mean
    mean_off = float(np.mean(list(out["seller_offset"].values()))) if out["seller_offset"] else 0.0
    out["seller_offset"] = {k: v - mean_off for k, v in out["seller_offset"].items()}
    out["channel_logit"] = {k: v + mean_off for k, v in out["channel_logit"].items()}
    out["odds_ratio_4h_vs_15min"] = response_odds_ratio(beta)
    return out


def open_load_at_creation(deals: pd.DataFrame, as_of) -> np.ndarray:
    """For every deal, how many deals its manager had open at the moment it was created."""
    out = np.zeros(len(deals))
    created = deals["created_at"].to_numpy("datetime64[ns]")
    closed = deals["closed_at"].to_numpy("datetime64[ns]")
    open_ = pd.isna(deals["closed_at"]).to_numpy()
    closed = np.where(open_, np.datetime64(pd.Timestamp(as_of).as_unit("ns").to_datetime64()) + np.timedelta64(1, "D"), closed)
    mgr = deals["manager"].astype("string").fillna("—").to_numpy(dtype=object)
    for m in pd.unique(mgr):
        sel = np.flatnonzero(mgr == m)
        c = np.sort(created[sel])
        e = np.sort(closed[sel])
        t = created[sel]
        out[sel] = np.searchsorted(c, t, side="left") - np.searchsorted(e, t, side="right")
    return np.clip(out, 0, None)


def overload_effect(deals: pd.DataFrame, as_of, min_n: int = 200, maturity_q: float = 0.95) -> dict:
    """Deal win log-odds against the seller's open deals at creation (per 10), seller in the model.

    Only *mature* deals enter: those created before ``as_of`` minus the ``maturity_q`` quantile
    of the seller's deal lifetime (Kaplan–Meier, open deals censored). Recent deals are still open far more often when they are going
    to be won (a win needs every stage, a loss can come at the first), so keeping them would
    read "recent" — and whoever was loaded recently — as "loses more": a censoring artefact.
    """
    load = open_load_at_creation(deals, as_of)
    T = pd.Timestamp(as_of)
    is_closed = deals["outcome"].isin(["won", "lost"]).to_numpy()
    end = deals["closed_at"].where(deals["closed_at"].notna(), T)
    life = ((end - deals["created_at"]).dt.total_seconds().to_numpy() / 86400.0).clip(0)
    mgr = deals["manager"].astype("string").fillna("—").to_numpy(dtype=object)
    # each seller's own maturity: the censoring-aware (Kaplan–Meier) quantile of deal lifetime,
    # so a seller whose deals drag on is cut back further
    mature = np.zeros(len(deals), dtype=bool)
    maturity = {}
    created = deals["created_at"].to_numpy()
    for m in pd.unique(mgr):
        sel = mgr == m
        q = km_quantile(life[sel], is_closed[sel], maturity_q)
        if not np.isfinite(q):
            q = float(life[sel].max()) if sel.any() else 0.0
        maturity[str(m)] = float(q)
        mature[sel] = created[sel] <= np.datetime64(T - pd.Timedelta(days=q))
    closed = is_closed & mature
    out = {"n": int(closed.sum()), "fit": None, "delta": np.nan, "lo": np.nan, "hi": np.nan, "detectable": False,
           "maturity_days": maturity, "still_open_share": float(1 - is_closed[mature].mean()) if mature.any() else np.nan,
           "ref_load": float(np.mean(load[closed])) if closed.any() else 0.0}
    if closed.sum() < min_n:
        return out
    d = pd.DataFrame({"manager": deals["manager"].astype("string").fillna("—").astype(str).to_numpy()[closed],
                      "load10": load[closed] / 10.0, "const": 1.0})
    y = (deals["outcome"].to_numpy()[closed] == "won")
    X, names, pen = _design(d, [], ["const", "load10"], "manager")
    fit = logit_fit(X, y, names, pen)
    lo, hi = fit.ci("load10")
    out.update(fit=fit, delta=fit.coef("load10"), lo=lo, hi=hi, detectable=bool(lo > 0 or hi < 0))
    return out
