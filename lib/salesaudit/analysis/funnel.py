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
(Maven: every opportunity with an engage date was engaging); the notebook says so.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.clock import elapsed_days
from ..data.model import require_tables
from ..report import format as fmt_
from ..report.i18n import t
from ..report.show import ci_text as _pct_ci
from ..report.show import p_text as _p_text
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
    "plot_funnel",
    "plot_heatmap",
    "plot_funnel_plots",
    "plot_cohorts",
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


def step_label(step: tuple[str, str] | str, funnel, lang: str) -> str:
    if step == LEAD_STEP or step == ("lead", "deal"):
        return t("funnel.step.lead_deal", lang)
    a, b = step
    return f"{funnel.label(a, lang)} → {funnel.label(b, lang)}"


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


def summary(ds, *, min_n: int = 20, alpha: float = 0.05) -> dict:
    """Key results of the funnel analysis (language-neutral), for ``record``."""
    reach = deal_reach(ds)
    team = step_conversion(ds, reach=reach)
    per = step_conversion(ds, by="manager", reach=reach)
    flags = manager_flags(per, team, min_n=min_n, alpha=alpha)
    out = {
        "deals": int(len(reach)),
        "won": int((reach["outcome"] == "won").sum()),
        "lost": int((reach["outcome"] == "lost").sum()),
        "open": int(reach["is_open"].sum()),
        "win_rate_closed": float((reach["outcome"] == "won").sum() / max(1, (reach["outcome"] != "open").sum())),
        "step_rates": {f"{r.from_stage}>{r.to_stage}": round(float(r.rate), 4) for r in team.itertuples()},
        "flagged_below": sorted(f"{r.manager}:{r.from_stage}>{r.to_stage}" for r in flags.itertuples() if r.flag == "below"),
        "flagged_above": sorted(f"{r.manager}:{r.from_stage}>{r.to_stage}" for r in flags.itertuples() if r.flag == "above"),
    }
    if ds.has("leads"):
        lt = lead_conversion(ds)
        out["lead_to_deal"] = round(float(lt["rate"].iloc[0]), 4)
        out["lead_managers_known"] = lead_managers_known(ds)
        if out["lead_managers_known"]:
            lf = manager_flags(lead_conversion(ds, by="manager"), lt, min_n=min_n, alpha=alpha)
            out["lead_flagged_below"] = sorted(str(m) for m, f in zip(lf["manager"], lf["flag"]) if f == "below")
            out["lead_flagged_above"] = sorted(str(m) for m, f in zip(lf["manager"], lf["flag"]) if f == "above")
    out["managers_flagged"] = sorted({s.split(":")[0] for s in out["flagged_below"] + out["flagged_above"]} | set(out.get("lead_flagged_below", [])) | set(out.get("lead_flagged_above", [])))
    return out


# ---------------------------------------------------------------------------
# plots


def _plt():
    from ..report.show import plotting

    return plotting()


def plot_funnel(ds, lang: str, reach: pd.DataFrame | None = None):
    """The funnel chart: deals reaching each stage, with the censoring-aware step conversion beside each bar."""
    plt, sns = _plt()
    funnel = ds.funnel
    reach = deal_reach(ds) if reach is None else reach
    sr = stage_reach(ds, reach)
    conv = step_conversion(ds, reach=reach)
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(sr) + 1.2))
    labels = [funnel.label(k, lang) for k in sr["stage"]]
    y = np.arange(len(sr))[::-1]
    widths = sr["deals"].to_numpy()
    ax.barh(y, widths, left=(widths.max() - widths) / 2, color=sns.color_palette("Blues_r", len(sr)))
    ax.set_yticks(y, labels)
    for yi, w, (_, r) in zip(y, widths, sr.iterrows()):
        ax.text(widths.max() / 2, yi, fmt_.integer(w, lang), ha="center", va="center", color="black", fontsize=9)
    for i, r in conv.iterrows():
        ax.text(widths.max() * 1.02, y[i] - 0.5, f"↓ {fmt_.percent(r['rate'], lang, 0)} [{fmt_.percent(r['ci_low'], lang, 0)}–{fmt_.percent(r['ci_high'], lang, 0)}]", va="center", fontsize=8)
    ax.set_xlim(0, widths.max() * 1.3)
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title(t("funnel.plot.funnel", lang))
    fig.tight_layout()
    return fig


def plot_heatmap(ds, lang: str, flags: pd.DataFrame, names: dict | None = None):
    """Manager × step conversion, annotated; flagged cells outlined (red below, green above)."""
    plt, sns = _plt()
    funnel = ds.funnel
    f = flags.copy()
    f["step_label"] = [step_label((a, b), funnel, lang) for a, b in zip(f["from_stage"], f["to_stage"])]
    order = [step_label(s, funnel, lang) for s in steps(funnel)]
    mat = f.pivot(index="manager", columns="step_label", values="rate").reindex(columns=order)
    flag = f.pivot(index="manager", columns="step_label", values="flag").reindex(columns=order)
    if names:
        mat.index = [names.get(m, m) for m in mat.index]
        flag.index = mat.index
    fig, ax = plt.subplots(figsize=(1.6 * len(order) + 3, 0.45 * len(mat) + 1.5))
    sns.heatmap(mat, annot=mat.map(lambda v: "" if pd.isna(v) else fmt_.percent(v, lang, 0)).to_numpy(), fmt="", cmap="RdYlGn", vmin=0, vmax=1, cbar=False, ax=ax, linewidths=0.5)
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            fl = flag.iat[i, j]
            if fl in ("below", "above"):
                ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, edgecolor="#b00020" if fl == "below" else "#006400", lw=3))
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(t("funnel.plot.heatmap", lang))
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    return fig


def plot_funnel_plots(ds, lang: str, flags: pd.DataFrame, names: dict | None = None):
    """One funnel plot per step: each manager's rate against volume, with 95% and 99.8% limits around the team rate."""
    plt, _ = _plt()
    funnel = ds.funnel
    st = list(dict.fromkeys(zip(flags["from_stage"], flags["to_stage"])))
    st = [s for s in steps(funnel) if s in st] + [s for s in st if s not in steps(funnel)]
    cols = min(3, len(st))
    rows = int(np.ceil(len(st) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    for ax, step in zip(axes.flat, st):
        f = flags[(flags["from_stage"] == step[0]) & (flags["to_stage"] == step[1])]
        p0 = float(f["team_rate"].iloc[0])
        nmax = max(20.0, float(f["finished"].max()) * 1.1)
        grid = np.linspace(5, nmax, 200)
        for a, style in ((0.05, "--"), (0.002, ":")):
            lo, hi = binomial_limits(np.full_like(grid, p0), grid, a)
            ax.plot(grid, lo, style, color="grey", lw=1)
            ax.plot(grid, hi, style, color="grey", lw=1)
        ax.axhline(p0, color="black", lw=1)
        colors = f["flag"].map({"below": "#b00020", "above": "#006400", "": "#4c72b0", "not_judgeable": "#bbbbbb"})
        ax.scatter(f["finished"], f["rate"], c=colors, zorder=3)
        for _, r in f.iterrows():
            if r["flag"] in ("below", "above"):
                ax.annotate(names.get(r["manager"], r["manager"]) if names else r["manager"], (r["finished"], r["rate"]), fontsize=8, xytext=(4, 4), textcoords="offset points")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(step_label(step, funnel, lang) if step != ("lead", "deal") else t("funnel.step.lead_deal", lang), fontsize=10)
        ax.set_xlabel(t("funnel.plot.volume", lang))
    for ax in list(axes.flat)[len(st):]:
        ax.set_axis_off()
    fig.suptitle(t("funnel.plot.funnel_plots", lang))
    fig.tight_layout()
    return fig


def plot_cohorts(ds, lang: str, freq: str = "Q", max_days: float = 180):
    """Cumulative incidence of a win by days since creation, one curve per cohort (open deals censored)."""
    plt, sns = _plt()
    curves = cohort_curves(ds, freq=freq, max_days=max_days)
    fig, ax = plt.subplots(figsize=(9, 4))
    palette = sns.color_palette("viridis", curves["cohort"].nunique())
    for color, (c, g) in zip(palette, curves.groupby("cohort", sort=True)):
        ax.step(g["time"], g["won"], where="post", color=color, label=c)
        ax.fill_between(g["time"], g["won_low"], g["won_high"], step="post", color=color, alpha=0.12)
    ax.set_xlabel(t("funnel.plot.days_since_created", lang))
    ax.set_ylabel(t("funnel.plot.share_won", lang))
    ax.set_ylim(0, None)
    ax.legend(title=t("funnel.col.cohort", lang), fontsize="small", ncol=2)
    ax.set_title(t("funnel.plot.cohorts", lang))
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# report tables: the same frames with labels in the report language


def team_table(ds, team: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The team's step conversion for the report."""
    funnel = ds.funnel
    return pd.DataFrame(
        {
            t("funnel.col.step", lang): [step_label((a, b), funnel, lang) for a, b in zip(team["from_stage"], team["to_stage"])],
            t("funnel.col.entered", lang): team["entered"].to_numpy(),
            t("funnel.col.pending", lang): team["pending"].to_numpy(),
            t("funnel.col.finished", lang): team["finished"].to_numpy(),
            t("funnel.col.advanced", lang): team["advanced"].to_numpy(),
            t("funnel.col.rate", lang): team["rate"].round(3).to_numpy(),
            t("funnel.col.ci", lang): _pct_ci(team["ci_low"], team["ci_high"], lang),
            t("funnel.col.naive", lang): team["naive_rate"].round(3).to_numpy(),
        }
    )


def lead_table(lt: pd.DataFrame, lang: str, by: str | None = None, names: dict | None = None) -> pd.DataFrame:
    """Lead → deal conversion for the report (per manager when ``by`` is given)."""
    out = {}
    if by:
        out[t(f"funnel.col.{by}", lang)] = [names.get(x, x) if names else x for x in lt[by]]
    out.update(
        {
            t("funnel.col.entered", lang): lt["entered"].to_numpy(),
            t("funnel.col.pending", lang): lt["pending"].to_numpy(),
            t("funnel.col.advanced", lang): lt["advanced"].to_numpy(),
            t("funnel.col.rate", lang): lt["rate"].round(3).to_numpy(),
            t("funnel.col.ci", lang): _pct_ci(lt["ci_low"], lt["ci_high"], lang),
        }
    )
    if "flag" in lt:
        out[t("funnel.col.flag", lang)] = [t(f"funnel.flag.{f}", lang) for f in lt["flag"]]
    return pd.DataFrame(out)


def flags_table(ds, flags: pd.DataFrame, lang: str, only_flagged: bool = True) -> pd.DataFrame:
    """Managers against the team, worst on top (only the flagged rows by default)."""
    funnel = ds.funnel
    names = ds.manager_names()
    f = flags[flags["flag"].isin(["below", "above"])] if only_flagged else flags
    if "from_stage" in f.columns:
        steps_ = [step_label((a, b), funnel, lang) for a, b in zip(f["from_stage"], f["to_stage"])]
    else:
        steps_ = [t("funnel.step.lead_deal", lang)] * len(f)
    return pd.DataFrame(
        {
            t("funnel.col.manager", lang): [names.get(m, m) for m in f["manager"]],
            t("funnel.col.step", lang): steps_,
            t("funnel.col.finished", lang): f["finished"].to_numpy(),
            t("funnel.col.rate", lang): f["rate"].round(3).to_numpy(),
            t("funnel.col.ci", lang): _pct_ci(f["ci_low"], f["ci_high"], lang),
            t("funnel.col.team_rate", lang): f["team_rate"].round(3).to_numpy(),
            t("funnel.col.p_adj", lang): [_p_text(p, lang) for p in f["p_adjusted"]],
            t("funnel.col.flag", lang): [t(f"funnel.flag.{x}", lang) for x in f["flag"]],
        }
    )


def not_judgeable(ds, flags: pd.DataFrame, lang: str) -> str:
    """'Name (step), …' for every manager × step with too few finished deals to judge."""
    names = ds.manager_names()
    f = flags[~flags["judgeable"]]
    return ", ".join(f"{names.get(m, m)} ({step_label((a, b), ds.funnel, lang)}: {n})" for m, a, b, n in zip(f["manager"], f["from_stage"], f["to_stage"], f["finished"]))


def cohort_display(cohorts: pd.DataFrame, lang: str) -> pd.DataFrame:
    ren = {
        "cohort": t("funnel.col.cohort", lang),
        "deals": t("funnel.col.deals", lang),
        "won": t("funnel.col.won", lang),
        "lost": t("funnel.col.lost", lang),
        "open": t("funnel.col.open", lang),
        "naive_win_rate": t("funnel.col.naive_win", lang),
        "closed_win_rate": t("funnel.col.closed_win", lang),
        "days_observed": t("funnel.col.days_observed", lang),
    }
    for c in cohorts.columns:
        if c.startswith("won_by_"):
            ren[c] = t("funnel.col.won_by", lang, h=c[len("won_by_") : -1])
    return cohorts.rename(columns=ren).round(3)


def channel_display(ch: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = pd.DataFrame({t("funnel.col.channel", lang): ch["channel"].to_numpy()})
    if "leads" in ch:
        out[t("funnel.col.leads", lang)] = ch["leads"].to_numpy()
        out[t("funnel.col.lead_to_deal", lang)] = ch["lead_to_deal"].round(3).to_numpy()
    out[t("funnel.col.deals", lang)] = ch["deals"].to_numpy()
    out[t("funnel.col.won", lang)] = ch["won"].to_numpy()
    out[t("funnel.col.closed_win", lang)] = ch["closed_win_rate"].round(3).to_numpy()
    out[t("funnel.col.ci", lang)] = _pct_ci(ch["ci_low"], ch["ci_high"], lang)
    out[t("funnel.col.won_by", lang, h=90)] = ch["won_by_90d"].round(3).to_numpy()
    out[t("funnel.col.revenue_won", lang)] = ch["revenue_won"].round(0).to_numpy()
    return out


def period_display(ds, flow: pd.DataFrame, lang: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("funnel.col.stage", lang): [ds.funnel.label(k, lang) for k in flow["stage"]],
            t("funnel.col.entered", lang): flow["entered"].to_numpy(),
            t("funnel.col.flow", lang): flow["flow_ratio"].round(3).to_numpy(),
        }
    )
