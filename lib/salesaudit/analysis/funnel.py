"""Funnel conversion, statistically right: open deals are unfinished, rates have intervals.

What the CRMs' funnel reports get wrong, and what this module does instead:

* A deal still sitting in a stage has not failed to move on; it has not finished. Step
  conversion here counts, at each step, only the deals that have *left* the stage (moved on,
  won or lost): a deal open in the stage is excluded from the denominator
  (:func:`deal_steps`). The naive ratio is kept beside it for contrast.
* Every rate has a Wilson confidence interval (:func:`salesaudit.stats.wilson`).
* Young cohorts have had less time to convert, so cohorts are compared with cumulative
  incidence curves of won and lost as competing outcomes, open deals censored
  (:func:`cohort_table`, :func:`cohort_curves`), not with won / created.
* Managers are compared with the team on a funnel plot: exact binomial control limits by
  volume, two-sided tests Holm-corrected over every manager × step, and a manager with too
  few finished deals at a step is "not judgeable" rather than flagged (:func:`manager_flags`).

Reach: a deal reached a stage if its history entered that stage or any later one (a deal that
skipped a stage still passed it, as in Bitrix24's funnel); a won deal reached every open stage.
Without ``stage_history`` only the current stage is known, so a lost deal counts as having
reached the first stage only, or the stage the funnel names in ``lost_reached_without_history``
(Maven: every opportunity with an engage date was engaging); the page says so.

``analyse(ds, settings) -> FunnelResult``: everything notebook 01 reports, as tables with
canonical column names and codes, no language, no formatting, no plotting. The page is made from
the result by :mod:`salesaudit.report.funnel`; the key figures the notebook records come from
:meth:`FunnelResult.key_figures`, never from a second computation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.clock import elapsed_days
from ..data.model import require_tables
from ..data.params import FunnelSettings, parse_period
from ..stats import benjamini_hochberg, binomial_limits, binomial_pvalue, cif_at, cumulative_incidence, holm, wilson  # noqa: F401

__all__ = [
    "steps",
    "deal_reach",
    "deal_steps",
    "step_conversion",
    "stage_reach",
    "period_flow",
    "lead_conversion",
    "lead_managers_known",
    "manager_flags",
    "cohort_table",
    "cohort_curves",
    "channel_conversion",
    "summary",
    "FunnelResult",
    "analyse",
]

LEAD_STEP = "lead>deal"
OPEN_LEAD_STATUSES = ("new", "in_work")


def steps(funnel) -> list[tuple[str, str]]:
    """The funnel's steps: each open stage to the next, the last open stage to won.

    >>> from salesaudit.data.params import load_funnel
    >>> from salesaudit.data.presets import REPO_ROOT
    >>> steps(load_funnel(REPO_ROOT / "params/funnels/demo_b2b.yaml"))[-2:]
    [('proposal', 'invoice'), ('invoice', 'won')]
    """
    keys = funnel.open_stages + [funnel.won]
    return list(zip(keys[:-1], keys[1:]))


def deal_reach(ds) -> pd.DataFrame:
    """One row per deal: how far it got (``reach``: index into open stages + won) and its state.

    ``reach`` = k means the deal entered open stage k (0-based) or, for k = number of open
    stages, was won. ``pending`` is True for an open deal sitting at its furthest stage.
    """
    require_tables(ds, "deals", analysis="The funnel")
    funnel = ds.funnel
    order = {k: i for i, k in enumerate(funnel.open_stages)}
    n_open = len(funnel.open_stages)
    d = ds.tables["deals"]
    stage_index = pd.Index(funnel.open_stages)
    cur = pd.Series(stage_index.get_indexer(d["stage"]), index=d.index).replace(-1, np.nan)
    reach = cur.fillna(0).astype(int).to_numpy()
    if ds.has("stage_history") and len(ds.tables["stage_history"]):
        h = ds.tables["stage_history"]
        codes = stage_index.get_indexer(h["stage"])
        deal_codes, deal_keys = pd.factorize(h["deal_id"])
        hist_max = np.full(len(deal_keys), -1)
        np.maximum.at(hist_max, deal_codes, codes)
        pos = pd.Index(deal_keys).get_indexer(d["deal_id"])
        has_history = pd.Series(pos >= 0, index=d.index)
        reach = np.maximum(reach, np.where(pos >= 0, hist_max[pos], 0))
    else:
        has_history = pd.Series(False, index=d.index)
    if funnel.lost_reached_without_history:
        assumed = order[funnel.lost_reached_without_history]
        lost_blind = ((d["outcome"] == "lost") & ~has_history).to_numpy()
        reach = np.where(lost_blind, np.maximum(reach, assumed), reach)
    won = (d["outcome"] == "won").to_numpy()
    reach = np.where(won, n_open, reach)
    is_open = (d["outcome"] == "open").to_numpy()
    out = pd.DataFrame(
        {
            "deal_id": d["deal_id"],
            "manager": d["manager"],
            "channel": d["channel"],
            "created_at": d["created_at"],
            "closed_at": d["closed_at"],
            "outcome": d["outcome"],
            "amount": d["amount"],
            "reach": np.asarray(reach, dtype=int),
            "is_open": is_open,
            "has_history": has_history.to_numpy(),
        }
    )
    out["pending"] = out["is_open"] & (out["reach"] == cur.fillna(-1).astype(int).to_numpy())
    return out


def deal_steps(reach: pd.DataFrame, funnel) -> pd.DataFrame:
    """Long table, one row per deal × step it entered: ``entered``, ``finished`` (left the stage), ``advanced``.

    The censoring-aware rate of a step is ``advanced.sum() / finished.sum()``; the naive CRM
    ratio is ``advanced.sum() / entered.sum()``.
    """
    rows = []
    for i, step in enumerate(steps(funnel)):
        entered = reach["reach"] >= i
        sub = reach[entered]
        pending = sub["pending"] & (sub["reach"] == i)
        rows.append(
            pd.DataFrame(
                {
                    "deal_id": sub["deal_id"].to_numpy(),
                    "manager": sub["manager"].to_numpy(),
                    "channel": sub["channel"].to_numpy(),
                    "created_at": sub["created_at"].to_numpy(),
                    "step": i,
                    "from_stage": step[0],
                    "to_stage": step[1],
                    "finished": (~pending).to_numpy(),
                    "advanced": (sub["reach"] > i).to_numpy(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _rates(g: pd.DataFrame) -> pd.DataFrame:
    """k/n with Wilson CI from grouped sums of ``advanced`` and ``finished`` (and ``entered``)."""
    k = g["advanced"].to_numpy(dtype=float)
    n = g["finished"].to_numpy(dtype=float)
    lo, hi = wilson(k, n)
    out = g.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
        out["naive_rate"] = np.where(g["entered"] > 0, k / np.where(g["entered"] > 0, g["entered"], 1), np.nan)
    out["ci_low"], out["ci_high"] = lo, hi
    return out


def step_conversion(ds, by: str | None = None, reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """Step conversion for the team (``by=None``) or per ``manager`` / ``channel``.

    Columns: ``[by,] step, from_stage, to_stage, entered, pending, finished, advanced, rate,
    ci_low, ci_high, naive_rate``. ``rate`` leaves out deals still open in the stage.
    """
    funnel = ds.funnel
    reach = deal_reach(ds) if reach is None else reach
    r = reach["reach"].to_numpy()
    pend = reach["pending"].to_numpy(dtype=bool)
    if by:
        codes, keys = pd.factorize(reach[by].astype(object), sort=True)
        valid = codes >= 0
        codes, r, pend = codes[valid], r[valid], pend[valid]
        n_keys = len(keys)
    parts = []
    for i, (a, b) in enumerate(steps(funnel)):
        counts = {"entered": r >= i, "pending": pend & (r == i), "advanced": r > i}
        if by:
            frame = pd.DataFrame({by: list(keys), "step": i, "from_stage": a, "to_stage": b})
            for name, mask in counts.items():
                frame[name] = np.bincount(codes, weights=mask, minlength=n_keys).astype(int)
            frame = frame[frame["entered"] > 0]
        else:
            frame = pd.DataFrame({"step": [i], "from_stage": [a], "to_stage": [b], **{name: [int(mask.sum())] for name, mask in counts.items()}})
        parts.append(frame)
    g = pd.concat(parts, ignore_index=True)
    g["finished"] = g["entered"] - g["pending"]
    g = g[([by] if by else []) + ["step", "from_stage", "to_stage", "entered", "pending", "finished", "advanced"]]
    if by:
        g = g.sort_values([by, "step"], kind="stable").reset_index(drop=True)
    return _rates(g)


def stage_reach(ds, reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """Deals that reached each stage (open stages and won), as a share of all deals: the funnel chart."""
    funnel = ds.funnel
    reach = deal_reach(ds) if reach is None else reach
    keys = funnel.open_stages + [funnel.won]
    n = len(reach)
    counts = [int((reach["reach"] >= i).sum()) for i in range(len(keys))]
    return pd.DataFrame({"stage": keys, "deals": counts, "share_of_created": [c / n if n else np.nan for c in counts]})


def period_flow(ds, start, end) -> pd.DataFrame:
    """The "by period" funnel (Bitrix24's standard mode): distinct deals that entered each stage in [start, end).

    The ratio of consecutive counts is a flow ratio, not a conversion of the same deals; it is
    shown as such. Needs ``stage_history``; without it, deals created / won in the period.
    """
    funnel = ds.funnel
    keys = funnel.open_stages + [funnel.won, funnel.lost]
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if ds.has("stage_history"):
        h = ds.tables["stage_history"]
        inside = h[(h["entered_at"] >= start) & (h["entered_at"] < end)]
        counts = inside.groupby(inside["stage"].astype(object))["deal_id"].nunique()
        values = [int(counts.get(k, 0)) for k in keys]
    else:
        d = ds.tables["deals"]
        created = int(((d["created_at"] >= start) & (d["created_at"] < end)).sum())
        closed = d[(d["closed_at"] >= start) & (d["closed_at"] < end)]
        values = [created] + [0] * (len(funnel.open_stages) - 1) + [int((closed["outcome"] == "won").sum()), int((closed["outcome"] == "lost").sum())]
    out = pd.DataFrame({"stage": keys, "entered": values})
    prev = out["entered"].shift(1)
    out["flow_ratio"] = np.where((prev > 0) & (out["stage"] != funnel.lost), out["entered"] / prev, np.nan)
    out.loc[0, "flow_ratio"] = np.nan
    return out


def lead_conversion(ds, by: str | None = None) -> pd.DataFrame:
    """Leads that became deals. Leads still new or in work are not finished and leave the denominator."""
    require_tables(ds, "leads", analysis="Lead conversion")
    leads = ds.tables["leads"]
    status = leads["status"].astype(object)
    frame = pd.DataFrame(
        {
            "entered": 1,
            "pending": status.isin(OPEN_LEAD_STATUSES) & leads["deal_id"].isna(),
            "advanced": leads["deal_id"].notna(),
        }
    )
    frame["finished"] = ~frame["pending"]
    if by:
        frame[by] = leads[by].astype(object)
        frame = frame[frame[by].notna()]
        g = frame.groupby(by, sort=True)[["entered", "pending", "finished", "advanced"]].sum().reset_index()
    else:
        g = frame[["entered", "pending", "finished", "advanced"]].sum().to_frame().T
    for c in ("entered", "pending", "finished", "advanced"):
        g[c] = g[c].astype(int)
    g.insert(0 if not by else 1, "step", LEAD_STEP)
    return _rates(g)


def lead_managers_known(ds) -> bool:
    """Whether leads carry their manager whatever their fate.

    Some exports name the manager only on leads that became deals (Olist's SDR comes with the
    closed deal). Then every manager converts 100% of "their" leads and a per-manager lead
    conversion would be survivorship bias: it is not computed.
    """
    leads = ds.tables["leads"]
    unconverted = leads[leads["deal_id"].isna()]
    return bool(len(unconverted)) and bool(unconverted["manager"].notna().any())


def manager_flags(per_manager: pd.DataFrame, team: pd.DataFrame, *, min_n: int = 20, alpha: float = 0.05, step_col: str = "step") -> pd.DataFrame:
    """Compare each manager's step rate with the team's: the funnel-plot test.

    For every manager × step: the team rate ``p0``, 95% and 99.8% binomial control limits at the
    manager's volume, the exact two-sided binomial p-value, Holm-adjusted over every judgeable
    manager × step. ``flag`` is ``below``/``above`` when adjusted p < ``alpha``; a manager with
    fewer than ``min_n`` finished deals at a step is ``not_judgeable``. Worst first.
    """
    team_rate = team.set_index(step_col)["rate"]
    df = per_manager.copy()
    df["team_rate"] = df[step_col].map(team_rate).astype(float)
    n = df["finished"].to_numpy(dtype=float)
    k = df["advanced"].to_numpy(dtype=float)
    p0 = df["team_rate"].to_numpy(dtype=float)
    df["limit95_low"], df["limit95_high"] = binomial_limits(p0, n, 0.05)
    df["limit998_low"], df["limit998_high"] = binomial_limits(p0, n, 0.002)
    judgeable = n >= min_n
    p = np.full(len(df), np.nan)
    if judgeable.any():
        p[judgeable] = binomial_pvalue(k[judgeable], n[judgeable], p0[judgeable])
    df["p_value"] = p
    df["p_adjusted"] = holm(p)
    df["judgeable"] = judgeable
    direction = np.where(df["rate"] < df["team_rate"], "below", "above")
    df["flag"] = np.where(~judgeable, "not_judgeable", np.where(df["p_adjusted"] < alpha, direction, ""))
    df["gap"] = df["rate"] - df["team_rate"]
    order = df["flag"].map({"below": 0, "above": 2, "": 3, "not_judgeable": 4})
    return df.assign(_o=order).sort_values(["_o", "p_adjusted", "gap"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _durations(ds) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    d = ds.tables["deals"]
    end = d["closed_at"].where(d["outcome"] != "open", ds.as_of)
    end = end.fillna(ds.as_of)
    days = np.clip(elapsed_days(d["created_at"], end, getattr(ds.config, "timezone", None)), 0, None)
    events = d["outcome"].astype(object).where(d["outcome"] != "open", None).to_numpy()
    return days, events, d


def _cohorts(ds, freq: str):
    """For each creation cohort in time order: (period, deals of the cohort, its Aalen–Johansen table)."""
    require_tables(ds, "deals", analysis="Cohort conversion")
    days, events, d = _durations(ds)
    cohort = d["created_at"].dt.to_period(freq)
    for c in sorted(cohort.dropna().unique()):
        m = (cohort == c).to_numpy()
        yield c, d[m], cumulative_incidence(days[m], events[m], causes=("won", "lost"))


def cohort_table(ds, freq: str = "M", horizons=(30, 60, 90)) -> pd.DataFrame:
    """Deals by creation month (or quarter): naive won/created beside the censoring-aware view.

    ``won_by_<h>d`` is the Aalen–Johansen cumulative incidence of a win within h days of
    creation (lost is the competing outcome, open deals are censored); NaN when the cohort has
    not been observed that long. Youngest cohort first in time order.
    """
    rows = []
    for c, sub, cif in _cohorts(ds, freq):
        won, lost = int((sub["outcome"] == "won").sum()), int((sub["outcome"] == "lost").sum())
        observed = (ds.as_of - c.start_time).total_seconds() / 86400.0
        row = {
            "cohort": str(c),
            "deals": int(len(sub)),
            "won": won,
            "lost": lost,
            "open": int((sub["outcome"] == "open").sum()),
            "naive_win_rate": won / len(sub) if len(sub) else np.nan,
            "closed_win_rate": won / (won + lost) if won + lost else np.nan,
            "days_observed": round(observed, 1),
        }
        for h in horizons:
            row[f"won_by_{h}d"] = cif_at(cif, "won", h) if observed >= h else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def cohort_curves(ds, freq: str = "Q", max_days: float = 180) -> pd.DataFrame:
    """Cumulative incidence of won and lost by days since creation, per cohort, for plotting."""
    out = []
    for c, _, cif in _cohorts(ds, freq):
        cif = cif[cif["time"] <= max_days]
        out.append(pd.DataFrame({"cohort": str(c), "time": cif["time"], "won": cif["cif_won"], "won_low": cif["ci_low_won"], "won_high": cif["ci_high_won"], "lost": cif["cif_lost"]}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def channel_conversion(ds) -> pd.DataFrame:
    """Per lead source: leads → deals (if leads exist), deals → won among closed, and wins within 90 days.

    For the talk with marketing about lead quantity and quality; the worst channel first.
    """
    require_tables(ds, "deals", analysis="Conversion by channel")
    days, events, d = _durations(ds)
    ch = d["channel"].astype(object).fillna("—")
    rows = []
    lead_rates = lead_conversion(ds, by="channel").set_index("channel") if ds.has("leads") else None
    for c in sorted(ch.unique()):
        m = (ch == c).to_numpy()
        won, lost = int((d.loc[m, "outcome"] == "won").sum()), int((d.loc[m, "outcome"] == "lost").sum())
        lo, hi = wilson(won, won + lost)
        cif = cumulative_incidence(days[m], events[m], causes=("won", "lost"))
        row = {"channel": c}
        if lead_rates is not None:
            lr = lead_rates.loc[c] if c in lead_rates.index else None
            row.update({"leads": int(lr["entered"]) if lr is not None else 0, "lead_to_deal": float(lr["rate"]) if lr is not None else np.nan})
        row.update(
            {
                "deals": int(m.sum()),
                "won": won,
                "closed_win_rate": won / (won + lost) if won + lost else np.nan,
                "ci_low": lo,
                "ci_high": hi,
                "won_by_90d": cif_at(cif, "won", 90),
                "revenue_won": float(d.loc[m & (d["outcome"] == "won").to_numpy(), "amount"].sum()),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows).sort_values("closed_win_rate", kind="stable", na_position="last").reset_index(drop=True)


def _core(ds, min_n: int, alpha: float) -> dict:
    """What both :func:`summary` and :func:`analyse` need: reach, team, managers against the team, leads."""
    reach = deal_reach(ds)
    team = step_conversion(ds, reach=reach)
    flags = manager_flags(step_conversion(ds, by="manager", reach=reach), team, min_n=min_n, alpha=alpha)
    lead_team = lead_conversion(ds) if ds.has("leads") else None
    known = lead_managers_known(ds) if lead_team is not None else None
    lead_flags = manager_flags(lead_conversion(ds, by="manager"), lead_team, min_n=min_n, alpha=alpha) if known else None
    outcome = reach["outcome"]
    return {
        "reach": reach,
        "deals": int(len(reach)),
        "won": int((outcome == "won").sum()),
        "lost": int((outcome == "lost").sum()),
        "open": int(reach["is_open"].sum()),
        "team": team,
        "flags": flags,
        "lead_team": lead_team,
        "lead_managers_known": known,
        "lead_flags": lead_flags,
    }


def _key_figures(deals: int, won: int, lost: int, open: int, team: pd.DataFrame, flags: pd.DataFrame,
                 lead_team: pd.DataFrame | None, lead_managers_known: bool | None, lead_flags: pd.DataFrame | None) -> dict:
    """The key results (language-neutral) from the counts and tables: one rule for :func:`summary` and :meth:`FunnelResult.key_figures`."""
    out = {
        "deals": deals,
        "won": won,
        "lost": lost,
        "open": open,
        "win_rate_closed": float(won / max(1, deals - open)),
        "step_rates": {f"{r.from_stage}>{r.to_stage}": round(float(r.rate), 4) for r in team.itertuples()},
        "flagged_below": sorted(f"{r.manager}:{r.from_stage}>{r.to_stage}" for r in flags.itertuples() if r.flag == "below"),
        "flagged_above": sorted(f"{r.manager}:{r.from_stage}>{r.to_stage}" for r in flags.itertuples() if r.flag == "above"),
    }
    if lead_team is not None:
        out["lead_to_deal"] = round(float(lead_team["rate"].iloc[0]), 4)
        out["lead_managers_known"] = bool(lead_managers_known)
        if lead_flags is not None:
            out["lead_flagged_below"] = sorted(str(m) for m, f in zip(lead_flags["manager"], lead_flags["flag"]) if f == "below")
            out["lead_flagged_above"] = sorted(str(m) for m, f in zip(lead_flags["manager"], lead_flags["flag"]) if f == "above")
    out["managers_flagged"] = sorted({s.split(":")[0] for s in out["flagged_below"] + out["flagged_above"]} | set(out.get("lead_flagged_below", [])) | set(out.get("lead_flagged_above", [])))
    return out


def summary(ds, *, min_n: int = 20, alpha: float = 0.05) -> dict:
    """Key results of the funnel analysis (language-neutral), for ``record``: :meth:`FunnelResult.key_figures` without the cohorts and channels."""
    core = _core(ds, min_n, alpha)
    return _key_figures(core["deals"], core["won"], core["lost"], core["open"], core["team"], core["flags"],
                        core["lead_team"], core["lead_managers_known"], core["lead_flags"])


# ---------------------------------------------------------------------------
# the result notebook 01 reports


@dataclass(frozen=True)
class FunnelResult:
    """What notebook 01 reports, computed once.

    Tables (canonical column names; stages, steps and flags are codes):

    * ``reach_`` – per stage (open stages, then won): deals that reached it, share of all deals (:func:`stage_reach`);
    * ``team_`` – per step: entered, pending, finished, advanced, rate with its Wilson interval, naive rate (:func:`step_conversion`);
    * ``flags_`` – per manager × step: the team's step table, control limits, Holm-adjusted p, ``flag`` (:func:`manager_flags`);
    * ``period_flow_`` – per stage: distinct deals that entered it in the run's period and the flow ratio (:func:`period_flow`); None without a period;
    * ``lead_team_`` – lead → deal conversion of the team (:func:`lead_conversion`); None without leads;
    * ``lead_flags_`` – per manager: lead → deal against the team; None without leads or when leads do not carry their manager;
    * ``cohorts_`` – per creation month: naive and closed win rates, the share won by each horizon (:func:`cohort_table`);
    * ``cohort_curves_`` – per creation quarter: cumulative incidence of won by days since creation (:func:`cohort_curves`);
    * ``channels_`` – per lead source: leads → deals, won among closed, won within 90 days, revenue (:func:`channel_conversion`).

    ``funnel`` is the run's funnel (stage keys and their labels in each language), ``manager_names`` the
    managers' names by id; ``min_n`` and ``alpha`` the settings the managers were judged with.
    """

    client: str
    as_of: pd.Timestamp
    funnel: object
    manager_names: dict
    has_history: bool
    min_n: int
    alpha: float
    deals: int
    won: int
    lost: int
    open: int
    reach_: pd.DataFrame
    team_: pd.DataFrame
    flags_: pd.DataFrame
    cohorts_: pd.DataFrame
    cohort_curves_: pd.DataFrame
    channels_: pd.DataFrame
    period: str | None = None
    period_flow_: pd.DataFrame | None = None
    lead_team_: pd.DataFrame | None = None
    lead_managers_known: bool | None = None
    lead_flags_: pd.DataFrame | None = None

    @property
    def steps(self) -> list[tuple[str, str]]:
        """The funnel's steps, in order (:func:`steps`)."""
        return steps(self.funnel)

    def key_figures(self) -> dict:
        """The key results of notebook 01's JSON (language-neutral), read off this result."""
        return _key_figures(self.deals, self.won, self.lost, self.open, self.team_, self.flags_, self.lead_team_, self.lead_managers_known, self.lead_flags_)


def analyse(ds, settings=None) -> FunnelResult:
    """The funnel result of a loaded dataset.

    ``settings``: the run's :class:`~salesaudit.data.params.FunnelSettings` (``ds.config.analysis.settings("funnel", ...)``);
    None: the run config's ``analysis.funnel``.
    """
    if settings is None:
        analysis = getattr(ds.config, "analysis", None)
        settings = analysis.funnel if analysis is not None else FunnelSettings()
    core = _core(ds, settings.min_n, settings.alpha)
    period = parse_period(ds.config.period, ds.config.grain) if ds.config.period else None
    return FunnelResult(
        client=ds.config.client,
        as_of=pd.Timestamp(ds.as_of),
        funnel=ds.funnel,
        manager_names=ds.manager_names(),
        has_history=bool(ds.has("stage_history")),
        min_n=settings.min_n,
        alpha=settings.alpha,
        deals=core["deals"],
        won=core["won"],
        lost=core["lost"],
        open=core["open"],
        reach_=stage_reach(ds, core["reach"]),
        team_=core["team"],
        flags_=core["flags"],
        cohorts_=cohort_table(ds, horizons=settings.cohort_horizons),
        cohort_curves_=cohort_curves(ds, max_days=settings.cohort_days),
        channels_=channel_conversion(ds),
        period=period.label if period is not None else None,
        period_flow_=period_flow(ds, period.start, period.end) if period is not None else None,
        lead_team_=core["lead_team"],
        lead_managers_known=core["lead_managers_known"],
        lead_flags_=core["lead_flags"],
    )
