"""Lead processing: first-response time in working time, the SLA, the same-day rule, disqualification.

What the seeds demand of a sales department: every lead is processed the same working day, the
first response is fast, and disqualification is controlled. This module measures each of them.

* **Working time.** A lead's response time is counted in working minutes of the client's
  calendar (:class:`salesaudit.data.calendar.WorkCalendar`): a lead that arrives at 21:00 on
  Friday and is answered at 09:10 on Monday waited 10 minutes (:func:`response_times`).
* **Unanswered leads are censored, not dropped.** A lead not answered by the audit moment has
  waited *at least* the working minutes from its arrival to ``as_of``. Medians and the 80th/90th
  percentiles are Kaplan–Meier quantiles (:func:`response_summary`); a percentile the data cannot
  reach (too many leads still waiting) is left empty rather than guessed.
* **SLA.** A lead answered within ``lead_response.sla_minutes`` working minutes is within the SLA;
  an unanswered lead older than the SLA is a breach; an unanswered lead still inside its SLA window
  at ``as_of`` is undecided and left out. Shares carry Wilson intervals.
* **Same day.** A lead's working day is the working day of ``next_open(created_at)``: a lead from
  Saturday belongs to Monday, one from 18:30 to the next working day. It is processed the same day
  when its first response comes by that day's closing time; otherwise it was *left overnight*.
  A lead still unanswered whose day has not ended at ``as_of`` is undecided.
* **Managers against the rest of the team.** The team is the ``manager`` owner group of
  :mod:`salesaudit.analysis.baseline`; leads without a manager, of a system owner or of the head of
  sales get rows of their own and are neither tested nor part of any baseline. Each team manager
  is compared with the rest of the team (his own leads left out) on the SLA share, the overnight
  share and the disqualification rate (:func:`compare_shares`: the difference in percentage
  points with Newcombe's interval, Fisher's exact test) and on the response time
  (:func:`compare_response_times`: the ratio of the Kaplan–Meier medians with its interval, the
  difference in working minutes, the log-rank test). p-values are Holm-corrected over the
  managers of a check, and :func:`salesaudit.stats.effect.judge` flags a manager only when the
  difference is significant *and* at least the ``analysis.leads`` thresholds (``min_effect``;
  ``min_ratio`` and ``min_difference_minutes``); fewer than ``min_n`` decided leads: not judged.
* **A robust baseline.** The rest of the team leaves out the managers judged ``worse`` in the same
  check (the comparison is repeated until that set is stable). One slow responder sits in every
  other seller's "rest of the team": on the demo his 0.4 % within the SLA pulled the rest's share
  from 89 % to 80 %, and nine ordinary sellers at 89–90 % were flagged "better" by 8–11 p.p.
  Against the robust rest (89 %) they differ by 0–2 p.p. The median of the managers' rates was
  the other candidate; it gives every seller one vote whatever his volume, has no interval of its
  own for Newcombe's difference and Fisher's test, and a department of two or three sellers has no
  meaningful median, so the pooled rest without the worse managers was chosen.
* **Suspicious disqualifications** (:func:`suspicious_disqualifications`). The canonical model
  has no moment of disqualification, so "disqualified faster than any real contact" is implemented
  as: a disqualified lead with no reason, or with no first response, or (when the activities carry
  ``lead_id``) with no call on the lead at all.

``analyse(ds, settings) -> LeadsResult`` computes all of it once: tables with canonical column names,
no language, no formatting, no plotting. The page a reader sees is made from the result by
:mod:`salesaudit.report.leads`; the key figures notebook 03 records come from
:meth:`LeadsResult.key_figures` (and :func:`summary`), never from a second computation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.model import require_tables
from ..data.params import LeadsSettings, parse_period
from ..stats import holm, logrank, wilson
from ..stats.effect import compare_with_rest, fisher_p, judge, km_median_ci, km_median_ci_each, km_quantiles_each, median_ratio, rate_difference
from .baseline import TEAM, owner_group
from .funnel import _rates

__all__ = [
    "LeadsResult",
    "analyse",
    "has_response_times",
    "response_times",
    "response_summary",
    "response_flags",
    "compare_shares",
    "compare_response_times",
    "response_time_flags",
    "overnight_daily",
    "overnight_weekly",
    "overnight_by_manager",
    "overnight_flags",
    "has_disqualification",
    "disqualification_by_manager",
    "disqualification_flags",
    "disqualification_reasons",
    "suspicious_disqualifications",
    "share_left_overnight",
    "summary",
]

OPEN_STATUSES = ("new", "in_work")
#: the verdict of a row that is not a team manager (no manager, a system owner, the head of sales): shown, never tested
EXCLUDED = "excluded"
#: verdicts in the order the comparison tables list them (flagged first)
VERDICT_ORDER = ("worse", "better", "small", "same", "not_judged", EXCLUDED)
_DEFAULTS = LeadsSettings()
QUANTILES = (0.5, 0.8, 0.9)
#: the column of :attr:`LeadsResult.disqualification_reasons_` that counts disqualifications without a reason
NO_REASON = "—"


def has_response_times(ds) -> bool:
    """Whether the leads table holds any first-response time (Olist's export has none)."""
    return ds.has("leads") and bool(ds.tables["leads"]["first_response_at"].notna().any())


def response_times(ds) -> pd.DataFrame:
    """One row per lead: its first-response time in working minutes and the SLA and same-day verdicts.

    Columns: ``lead_id, manager, owner_group, channel, status, created_at, first_response_at,
    arrived_in_hours, hour, weekday, answered, censored, working_minutes, within_sla, due_day,
    day_end, same_day, left_overnight``; ``owner_group`` is the lead's owner group
    (:func:`salesaudit.analysis.baseline.owner_group`: ``manager`` for the team).

    ``working_minutes`` is the working time from arrival to the first response, or, for a lead not
    answered yet (``censored``), to the audit moment. ``within_sla``, ``same_day`` and
    ``left_overnight`` are nullable booleans: NA while undecided at ``as_of``. ``due_day`` is the
    lead's working day (the date of ``next_open(created_at)``) and ``day_end`` its closing time.
    """
    require_tables(ds, "leads", analysis="Lead processing")
    leads = ds.tables["leads"]
    cal = ds.calendar
    as_of = pd.Timestamp(ds.as_of)
    sla = float(ds.config.lead_response.sla_minutes)
    created = leads["created_at"]
    resp = leads["first_response_at"]
    answered = resp.notna()
    until = resp.where(answered, as_of)
    minutes = cal.working_minutes_between(created, until)
    day_end = cal.end_of_working_day(created)
    open_ = cal.next_open(created)

    within = pd.array(np.where(minutes <= sla, True, False), dtype="boolean")
    within[(~answered & (minutes <= sla)).to_numpy()] = pd.NA
    same = pd.array((answered & (resp <= day_end)).to_numpy(), dtype="boolean")
    same[(~answered & (day_end > as_of)).to_numpy()] = pd.NA
    out = pd.DataFrame(
        {
            "lead_id": leads["lead_id"],
            "manager": leads["manager"],
            "owner_group": owner_group(ds, leads["manager"]),
            "channel": leads["channel"],
            "status": leads["status"],
            "created_at": created,
            "first_response_at": resp,
            "arrived_in_hours": cal.is_working_time(created).to_numpy(dtype=bool),
            "hour": created.dt.hour.astype("int64"),
            "weekday": created.dt.day_of_week.astype("int64"),
            "answered": answered.to_numpy(dtype=bool),
            "censored": (~answered).to_numpy(dtype=bool),
            "working_minutes": minutes.to_numpy(dtype=float),
            "within_sla": within,
            "due_day": open_.dt.normalize(),
            "day_end": day_end,
            "same_day": same,
        }
    )
    out["left_overnight"] = ~out["same_day"]
    return out


def _group_key(rt: pd.DataFrame, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("team", index=rt.index)
    return rt[by].astype(object).fillna("—")


def response_summary(rt: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Per ``by`` (``manager``, ``channel``, ``hour``; ``None`` for the team): KM percentiles and the SLA share.

    Columns: ``[by,] leads, answered, unanswered, median, p80, p90, sla_decided, within_sla,
    share_within_sla, ci_low, ci_high``. Worst on top (highest median, then lowest SLA share);
    for ``hour`` in hour order.
    """
    key = _group_key(rt, by)
    codes, keys = pd.factorize(key, sort=True)  # the groups in the order of rt.groupby(key, sort=True)
    n_groups = len(keys)
    answered = rt["answered"].to_numpy(bool)
    w = rt["within_sla"]
    count = {name: np.bincount(codes[mask], minlength=n_groups) for name, mask in (
        ("leads", np.ones(len(rt), dtype=bool)), ("answered", answered), ("unanswered", rt["censored"].to_numpy(bool)),
        ("decided", w.notna().to_numpy(bool)), ("within", w.fillna(False).to_numpy(bool)))}
    q = km_quantiles_each(rt["working_minutes"].to_numpy(float), answered, codes, n_groups, QUANTILES)
    rows = []
    for i, k in enumerate(keys):
        n, kk = int(count["decided"][i]), int(count["within"][i])
        lo, hi = wilson(kk, n)
        rows.append(
            {
                **({by: k} if by else {}),
                "leads": int(count["leads"][i]),
                "answered": int(count["answered"][i]),
                "unanswered": int(count["unanswered"][i]),
                "median": float(q[i, 0]),
                "p80": float(q[i, 1]),
                "p90": float(q[i, 2]),
                "sla_decided": n,
                "within_sla": kk,
                "share_within_sla": kk / n if n else np.nan,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    out = pd.DataFrame(rows)
    if by and by != "hour" and len(out):
        out = out.sort_values(["median", "share_within_sla"], ascending=[False, True], na_position="first", kind="stable")
    return out.reset_index(drop=True)


def _binary_frame(rt: pd.DataFrame, col: str, by: str | None, step: str, *, pending: pd.Series | None = None) -> pd.DataFrame:
    """entered / pending / finished / advanced per ``by`` for a nullable-boolean column (NA = pending)."""
    v = rt[col]
    frame = pd.DataFrame(
        {
            "entered": 1,
            "pending": v.isna().to_numpy() if pending is None else pending.to_numpy(),
            "advanced": v.fillna(False).to_numpy(dtype=bool),
        },
        index=rt.index,
    )
    frame["finished"] = ~frame["pending"]
    cols = ["entered", "pending", "finished", "advanced"]
    if by:
        frame[by] = rt[by].astype(object)
        frame = frame[frame[by].notna()]
        g = frame.groupby(by, sort=True)[cols].sum().reset_index()
    else:
        g = frame[cols].sum().to_frame().T
    for c in cols:
        g[c] = g[c].astype(int)
    g.insert(1 if by else 0, "step", step)
    return _rates(g)


def _groups(rt: pd.DataFrame) -> np.ndarray:
    """The owner group of each row: the table's ``owner_group``, else team for a manager and ``no_manager`` for none."""
    if "owner_group" in rt.columns:
        return rt["owner_group"].astype(object).to_numpy()
    m = rt["manager"].astype(object)
    return np.where(m.isna().to_numpy(), "no_manager", TEAM).astype(object)


def _verdict_flag(verdict, diff, low: str, high: str) -> np.ndarray:
    """The verdict as the direction code older callers read (``flag``): ``low``/``high`` for a flag, ``not_judgeable``, else ``""``."""
    v = np.asarray(verdict, dtype=object)
    d = np.asarray(diff, dtype=float)
    flagged = np.isin(v, ["worse", "better"])
    return np.where(flagged, np.where(d < 0, low, high), np.where(v == "not_judged", "not_judgeable", "")).astype(object)


def _sort_verdicts(df: pd.DataFrame, size: str) -> pd.DataFrame:
    """Flagged first (worse, then better), then small, same, not judged and the rows outside the team; the biggest effect first."""
    order = df["verdict"].map({v: i for i, v in enumerate(VERDICT_ORDER)}).fillna(len(VERDICT_ORDER))
    mag = -df[size].abs().fillna(-1)
    return df.assign(_o=order, _m=mag).sort_values(["_o", "p_adjusted", "_m"], kind="stable", na_position="last").drop(columns=["_o", "_m"]).reset_index(drop=True)


def compare_shares(manager, groups, value, *, check: str, min_n: int = 20, alpha: float = 0.05, min_effect: float = _DEFAULTS.min_effect,
                   higher_is_worse: bool = False) -> pd.DataFrame:
    """Each team manager's share against the robust rest of the team (see :func:`_robust`): :func:`_compare_shares`."""
    counts = _ShareCounts(manager, groups, value)
    return _robust(lambda out: counts.compare(check=check, min_n=min_n, alpha=alpha, min_effect=min_effect, higher_is_worse=higher_is_worse,
                                              baseline_out=out))


def _robust(compare) -> pd.DataFrame:
    """A comparison whose baseline leaves out the managers it judges ``worse`` (the robust rest of the team).

    One planted or real outlier sits in every other manager's "rest of the team": a seller who
    answers one lead in two hundred within the SLA pulls the rest's share down by several points, and
    every ordinary seller then looks "better". So the comparison runs again with the managers judged
    ``worse`` left out of everybody else's baseline (each of them is still compared with the rest
    of the team without himself and the other worse ones), until the set of worse managers stops
    changing (at most five passes), provided they are fewer than half of the judged managers (with
    half the team "worse" there is no outlier to leave out). ``better`` managers stay in the baseline: leaving them out
    would make a department with one good seller look worse. The managers left out are listed in
    ``attrs["baseline_excluded"]``.
    """
    out: frozenset = frozenset()
    for _ in range(5):
        df = compare(out)
        worse = frozenset(df.loc[df["verdict"] == "worse", "manager"].dropna())
        judged = int(df["verdict"].isin(["worse", "better", "small", "same"]).sum())
        if worse == out or 2 * len(worse) >= judged:  # an outlier is a minority: with half the team worse, the team is the baseline
            break
        out = worse
    df.attrs["baseline_excluded"] = sorted(out, key=str)
    return df


def _compare_shares(manager, groups, value, *, check: str, min_n: int, alpha: float, min_effect: float,
                    higher_is_worse: bool, baseline_out: frozenset = frozenset()) -> pd.DataFrame:
    """Each team manager's share against the rest of the team's, with its size, interval and verdict.

    ``manager``: each lead's manager code; ``groups``: its owner group (:mod:`salesaudit.analysis.baseline`);
    ``value``: a nullable boolean per lead (NA: not decided yet, left out). Per team manager:
    ``finished`` decided leads, ``advanced`` of them counted (answered within the SLA, left
    overnight, disqualified), ``rate`` with its Wilson 95 % interval ``ci_low``/``ci_high``; the
    rest of the team's ``rest_finished``, ``rest_advanced``, ``team_rate``; the difference
    ``diff = rate - team_rate`` (a fraction: 0.05 = 5 p.p.) with Newcombe's 95 % interval
    ``diff_low``/``diff_high`` (:func:`salesaudit.stats.effect.rate_difference`); Fisher's exact
    two-sided ``p_value`` of the 2×2 table manager × rest, ``p_adjusted`` (Holm over the judged
    managers), ``judgeable`` (at least ``min_n`` decided leads) and ``verdict``
    (:func:`salesaudit.stats.effect.judge` with ``threshold=min_effect``: worse, better, small,
    same, not_judged). ``flag`` is the same verdict as a direction (``below``/``above`` when
    flagged, ``not_judgeable``, else ``""``); ``gap`` equals ``diff``.

    Leads of the other owner groups (no manager, a system owner, the head of sales) get one row
    per group, ``verdict`` :data:`EXCLUDED`, compared with the whole team for information only
    (``manager`` is the group's one manager code, or None). Sorted flagged first.
    """
    return _ShareCounts(manager, groups, value).compare(check=check, min_n=min_n, alpha=alpha, min_effect=min_effect,
                                                        higher_is_worse=higher_is_worse, baseline_out=baseline_out)


def _team_managers(m: pd.Series, team: np.ndarray) -> tuple[list, np.ndarray]:
    """The team's managers in the order the comparison tables list them (sorted as text), and each row's place
    among them (-1: not a team manager's row): one pass over the rows instead of one per manager."""
    codes, uniques = pd.factorize(m)
    present = sorted(np.unique(codes[team & (codes >= 0)]), key=lambda c: str(uniques[c]))
    place = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the last slot: a missing manager (code -1)
    place[np.asarray(present, dtype=np.int64)] = np.arange(len(present))
    return [uniques[c] for c in present], np.where(team, place[codes], -1)


class _ShareCounts:
    """The counts :func:`_compare_shares` compares, made once for every pass of :func:`_robust`: per team
    manager his decided and counted leads, the team's, and the rows of the other owner groups."""

    def __init__(self, manager, groups, value):
        m = pd.Series(manager).astype(object).reset_index(drop=True)
        g = pd.Series(np.asarray(groups, dtype=object))
        v = pd.array(value, dtype="boolean")
        decided = ~np.asarray(pd.isna(v), dtype=bool)
        hit = np.asarray(pd.Series(v).fillna(False), dtype=bool) & decided
        team = (g == TEAM).to_numpy()
        self.n_team, self.k_team = int((decided & team).sum()), int((hit & team).sum())
        self.whos, place = _team_managers(m, team)
        k = len(self.whos)
        self.n = np.bincount(place[decided & (place >= 0)], minlength=k)
        self.k = np.bincount(place[hit & (place >= 0)], minlength=k)
        self.index = {w: i for i, w in enumerate(self.whos)}
        self.others = []
        for group in ("no_manager", "system", "head_of_sales"):
            sel = (g == group).to_numpy()
            if not sel.any():
                continue
            who = m[sel].dropna().unique()
            self.others.append({"manager": who[0] if len(who) == 1 else None, "owner_group": group, "finished": int((decided & sel).sum()),
                                "advanced": int((hit & sel).sum()), "rest_finished": self.n_team, "rest_advanced": self.k_team})

    def compare(self, *, check: str, min_n: int, alpha: float, min_effect: float, higher_is_worse: bool,
                baseline_out: frozenset = frozenset()) -> pd.DataFrame:
        """:func:`_compare_shares` of these counts."""
        left_out = [self.index[w] for w in baseline_out if w in self.index]
        n_out, k_out = int(self.n[left_out].sum()), int(self.k[left_out].sum())
        rows = []
        for i, who in enumerate(self.whos):
            n1, k1 = int(self.n[i]), int(self.k[i])
            # the rest of the team without him and without the managers left out of the baseline
            n_own_out, k_own_out = (n1, k1) if who in baseline_out else (0, 0)
            rows.append({"manager": who, "owner_group": TEAM, "finished": n1, "advanced": k1,
                         "rest_finished": self.n_team - n1 - (n_out - n_own_out), "rest_advanced": self.k_team - k1 - (k_out - k_own_out)})
        rows += [dict(r) for r in self.others]
        cols = ["check", "manager", "owner_group", "finished", "advanced", "rate", "ci_low", "ci_high", "rest_finished", "rest_advanced", "team_rate",
                "diff", "diff_low", "diff_high", "p_value", "p_adjusted", "judgeable", "verdict", "flag", "gap"]
        if not rows:
            return pd.DataFrame(columns=cols)
        df = pd.DataFrame(rows)
        n1, k1 = df["finished"].to_numpy(float), df["advanced"].to_numpy(float)
        n0, k0 = df["rest_finished"].to_numpy(float), df["rest_advanced"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            df["rate"] = np.where(n1 > 0, k1 / np.maximum(n1, 1), np.nan)
            df["team_rate"] = np.where(n0 > 0, k0 / np.maximum(n0, 1), np.nan)
        df["ci_low"], df["ci_high"] = wilson(k1, n1)
        df["diff"], df["diff_low"], df["diff_high"] = rate_difference(k1, n1, k0, n0)
        in_team = (df["owner_group"] == TEAM).to_numpy()
        judgeable = in_team & (n1 >= min_n) & (n0 > 0)
        p = np.full(len(df), np.nan)
        for i in np.flatnonzero(judgeable):
            p[i] = fisher_p(k1[i], n1[i], k0[i], n0[i])
        adj = np.full(len(df), np.nan)
        tested = judgeable & np.isfinite(p)
        if tested.any():
            adj[tested] = np.asarray(holm(p[tested]), dtype=float)
        verdict = judge(adj, df["diff"].to_numpy(float), alpha=alpha, threshold=min_effect, judgeable=tested, higher_is_worse=higher_is_worse)
        verdict[~in_team] = EXCLUDED
        df["p_value"], df["p_adjusted"], df["judgeable"], df["verdict"] = p, adj, judgeable, verdict
        df["flag"] = _verdict_flag(verdict, df["diff"], "below", "above")
        df["gap"] = df["diff"]
        df["check"] = check
        return _sort_verdicts(df[cols], "diff")


def response_flags(rt: pd.DataFrame, *, min_n: int = 20, alpha: float = 0.05, min_effect: float = _DEFAULTS.min_effect) -> pd.DataFrame:
    """Managers' share of leads answered within the SLA against the rest of the team's (:func:`compare_shares`; lower is worse)."""
    return compare_shares(rt["manager"], _groups(rt), rt["within_sla"], check="sla", min_n=min_n, alpha=alpha, min_effect=min_effect)


def compare_response_times(rt: pd.DataFrame, *, min_n: int = 20, alpha: float = 0.05, min_ratio: float = _DEFAULTS.min_ratio,
                           min_difference_minutes: float = _DEFAULTS.min_difference_minutes) -> pd.DataFrame:
    """Each team manager's median first response against the rest of the team's, with its size and verdict.

    Per team manager: ``leads``, ``answered``, the Kaplan–Meier ``median`` of his working minutes to
    the first response (unanswered leads censored) with its Brookmeyer–Crowley 95 % interval
    ``median_low``/``median_high`` (:func:`salesaudit.stats.effect.km_median_ci`); the same for the
    rest of the team (``rest_leads``, ``rest_median``, ``rest_median_low``, ``rest_median_high``);
    ``ratio`` of the medians with its interval ``ratio_low``/``ratio_high``
    (:func:`salesaudit.stats.effect.median_ratio`; empty where a median is 0 or unknown);
    ``difference`` = median − rest median, working minutes; the log-rank ``p_value`` of the
    manager against the rest (the test of the whole curves, as for time in a stage), ``p_adjusted``
    (Holm over the judged managers), ``judgeable`` (at least ``min_n`` leads, both medians known)
    and ``verdict``: :func:`salesaudit.stats.effect.judge` with ``ratio=True``,
    ``threshold=min_ratio`` and the difference as the second size (``min_difference_minutes``):
    slower by a ratio of at least ``min_ratio`` *and* by at least that many minutes is ``worse``.
    A median of 0 against a positive one counts as an infinite ratio (the difference then decides).
    ``flag``: ``slower``/``faster`` when flagged, ``not_judgeable``, else ``""``.

    Leads of the other owner groups get one row per group (``verdict`` :data:`EXCLUDED`), with the
    whole team as the comparison, not tested. Sorted flagged first.
    """
    times = _ResponseTimes(rt)
    return _robust(lambda out: times.compare(min_n=min_n, alpha=alpha, min_ratio=min_ratio, min_difference_minutes=min_difference_minutes,
                                             baseline_out=out))


def _compare_response_times(rt: pd.DataFrame, *, min_n: int, alpha: float, min_ratio: float, min_difference_minutes: float,
                            baseline_out: frozenset = frozenset()) -> pd.DataFrame:
    """:func:`compare_response_times` against the rest of the team without the managers in ``baseline_out``."""
    return _ResponseTimes(rt).compare(min_n=min_n, alpha=alpha, min_ratio=min_ratio, min_difference_minutes=min_difference_minutes,
                                      baseline_out=baseline_out)


class _ResponseTimes:
    """What :func:`_compare_response_times` compares, made once for every pass of :func:`_robust`.

    Each team manager's own median with its interval comes from one sort of the team's leads
    (:func:`salesaudit.stats.effect.km_median_ci_each`); in each pass, the rest of the team of every
    manager and his log-rank test against it come from the risk table of the team without the managers
    left out of the baseline (:func:`salesaudit.stats.effect.compare_with_rest`): the numbers of
    :func:`~salesaudit.stats.effect.km_median_ci` and :func:`~salesaudit.stats.logrank` on each manager's
    leads and his rest of the team, without a pass over the team's leads per manager.
    """

    def __init__(self, rt: pd.DataFrame):
        m = rt["manager"].astype(object).reset_index(drop=True)
        g = pd.Series(_groups(rt))
        self.t = rt["working_minutes"].to_numpy(float)
        self.o = rt["answered"].to_numpy(bool)
        self.team = team = (g == TEAM).to_numpy()
        self.whos, self.place = _team_managers(m, team)
        k = len(self.whos)
        self.index = {w: i for i, w in enumerate(self.whos)}
        mine = self.place >= 0  # a team manager's lead
        self.leads = np.bincount(self.place[mine], minlength=k)
        self.answered = np.bincount(self.place[mine & self.o], minlength=k)
        self.own = km_median_ci_each(self.t[team], self.o[team], self.place[team], k)
        self.team_ci = km_median_ci(self.t[team], self.o[team]) if team.any() else (np.nan,) * 3
        self.others = []  # the rows of the other owner groups: (manager, group, rows)
        for group in ("no_manager", "system", "head_of_sales"):
            sel = (g == group).to_numpy()
            if sel.any():
                who = m[sel].dropna().unique()
                self.others.append((who[0] if len(who) == 1 else None, group, sel))

    def compare(self, *, min_n: int, alpha: float, min_ratio: float, min_difference_minutes: float,
                baseline_out: frozenset = frozenset()) -> pd.DataFrame:
        """:func:`_compare_response_times` of these leads."""
        t, o, team, place = self.t, self.o, self.team, self.place
        cols = ["manager", "owner_group", "leads", "answered", "median", "median_low", "median_high", "rest_leads", "rest_median", "rest_median_low",
                "rest_median_high", "ratio", "ratio_low", "ratio_high", "difference", "p_value", "p_adjusted", "judgeable", "verdict", "flag"]
        if not self.whos and not self.others:
            return pd.DataFrame(columns=cols)
        k = len(self.whos)
        left_out = np.zeros(k, dtype=bool)
        left_out[[self.index[w] for w in baseline_out if w in self.index]] = True
        pool = team & ~np.append(left_out, False)[place]  # the team without the managers left out of the baseline (place -1: not a team row)
        n_pool = int(pool.sum())
        rest = compare_with_rest(t[pool], o[pool], place[pool], k)
        rows, effect = [], []

        def add(who, group, n, answered, m1, n_rest, m0, p):
            r = median_ratio(*m1, *m0)
            rows.append({"manager": who, "owner_group": group, "leads": n, "answered": answered,
                         "median": m1[0], "median_low": m1[1], "median_high": m1[2], "rest_leads": n_rest,
                         "rest_median": m0[0], "rest_median_low": m0[1], "rest_median_high": m0[2],
                         "ratio": r[0], "ratio_low": r[1], "ratio_high": r[2], "difference": m1[0] - m0[0], "p_value": p})
            # the size judge() reads: the ratio, or where a median is 0, infinitely far (the difference decides)
            a, b = m1[0], m0[0]
            effect.append(r[0] if np.isfinite(r[0]) else (np.inf if a > 0 and b == 0 else 0.0 if a == 0 and b > 0 else 1.0 if a == b == 0 else np.nan))

        for i, who in enumerate(self.whos):
            # his rest of the team: the team without him and without the managers left out of the baseline
            n_rest = n_pool if left_out[i] else n_pool - int(self.leads[i])
            if not n_rest:
                m0, p = (np.nan,) * 3, np.nan
            else:
                m0 = (rest["rest_median"][i], rest["rest_low"][i], rest["rest_high"][i])
                if left_out[i]:  # not in the pool: tested against all of it
                    sel = team & (place == i)
                    p = logrank(t[sel], o[sel], t[pool], o[pool])[1]
                else:
                    p = rest["p_value"][i]
            add(who, TEAM, int(self.leads[i]), int(self.answered[i]), tuple(self.own[i]), n_rest, m0, p)
        for who, group, sel in self.others:
            add(who, group, int(sel.sum()), int(o[sel].sum()), km_median_ci(t[sel], o[sel]), n_pool, self.team_ci, np.nan)
        df = pd.DataFrame(rows)
        in_team = (df["owner_group"] == TEAM).to_numpy()
        effect = np.asarray(effect, dtype=float)
        judgeable = in_team & (df["leads"].to_numpy() >= min_n) & np.isfinite(df["difference"].to_numpy(float)) & ~np.isnan(effect)
        p = df["p_value"].to_numpy(float)
        adj = np.full(len(df), np.nan)
        tested = judgeable & np.isfinite(p)
        if tested.any():
            adj[tested] = np.asarray(holm(p[tested]), dtype=float)
        verdict = judge(adj, np.where(np.isnan(effect), 1.0, effect), alpha=alpha, threshold=min_ratio, judgeable=tested, higher_is_worse=True,
                        ratio=True, extra=df["difference"].to_numpy(float), extra_threshold=min_difference_minutes)
        verdict[~in_team] = EXCLUDED
        df["p_adjusted"], df["judgeable"], df["verdict"] = adj, judgeable, verdict
        df["flag"] = _verdict_flag(verdict, df["difference"], "faster", "slower")
        return _sort_verdicts(df[cols], "difference")


def response_time_flags(rt: pd.DataFrame, settings: LeadsSettings | None = None) -> pd.DataFrame:
    """:func:`compare_response_times` with the ``analysis.leads`` settings (default: their defaults)."""
    st = settings or _DEFAULTS
    return compare_response_times(rt, min_n=st.min_n, alpha=st.alpha, min_ratio=st.min_ratio, min_difference_minutes=st.min_difference_minutes)


def overnight_by_manager(rt: pd.DataFrame) -> pd.DataFrame:
    """Per manager: leads decided, left overnight, the overnight share with a Wilson CI (worst on top)."""
    g = _binary_frame(rt, "left_overnight", "manager", "overnight")
    return g.sort_values(["rate", "finished"], ascending=[False, False], kind="stable").reset_index(drop=True)


def overnight_flags(rt: pd.DataFrame, *, min_n: int = 20, alpha: float = 0.05, min_effect: float = _DEFAULTS.min_effect) -> pd.DataFrame:
    """Managers' share of leads left overnight against the rest of the team's (:func:`compare_shares`; higher is worse)."""
    return compare_shares(rt["manager"], _groups(rt), rt["left_overnight"], check="overnight", min_n=min_n, alpha=alpha, min_effect=min_effect,
                          higher_is_worse=True)


def overnight_daily(rt: pd.DataFrame, by_manager: bool = False) -> pd.DataFrame:
    """Per working day (``due_day``) [and manager]: leads due, decided, left overnight, their share."""
    keys = ["due_day"] + (["manager"] if by_manager else [])
    d = rt.assign(_decided=rt["left_overnight"].notna(), _left=rt["left_overnight"].fillna(False).astype(bool))
    g = d.groupby(keys, sort=True).agg(leads=("lead_id", "size"), decided=("_decided", "sum"), left_overnight=("_left", "sum")).reset_index()
    g["share"] = np.where(g["decided"] > 0, g["left_overnight"] / g["decided"].where(g["decided"] > 0, 1), np.nan)
    return g


def overnight_weekly(rt: pd.DataFrame) -> pd.DataFrame:
    """Leads left overnight per ISO week (of their working day), with the share of decided leads."""
    d = overnight_daily(rt)
    week = d["due_day"].dt.to_period("W-SUN").dt.start_time
    g = d.groupby(week).agg(leads=("leads", "sum"), decided=("decided", "sum"), left_overnight=("left_overnight", "sum")).reset_index()
    g = g.rename(columns={"due_day": "week"})
    g["share"] = np.where(g["decided"] > 0, g["left_overnight"] / g["decided"].where(g["decided"] > 0, 1), np.nan)
    return g


def share_left_overnight(rt: pd.DataFrame) -> float:
    """Leads left overnight among the decided ones of :func:`response_times` (0 when none is decided):
    :attr:`LeadsResult.share_left_overnight`, for a caller that needs this figure alone (the scorecard)."""
    ov = rt["left_overnight"]
    return float(int(ov.fillna(False).sum()) / max(1, int(ov.notna().sum())))


# ---------------------------------------------------------------------------
# disqualification


def _status(ds) -> pd.Series:
    return ds.tables["leads"]["status"].astype(object)


def has_disqualification(ds) -> bool:
    """Whether the export has any disqualified lead."""
    return ds.has("leads") and bool((_status(ds) == "disqualified").any())


def disqualification_by_manager(ds, by: str | None = "manager") -> pd.DataFrame:
    """Disqualified among decided leads (new / in work are pending), per manager or for the team."""
    require_tables(ds, "leads", analysis="Disqualification")
    leads = ds.tables["leads"]
    status = _status(ds)
    rt = pd.DataFrame({"lead_id": leads["lead_id"], "manager": leads["manager"], "dq": pd.array((status == "disqualified").to_numpy(), dtype="boolean")})
    pending = pd.Series(status.isin(OPEN_STATUSES).to_numpy() & leads["deal_id"].isna().to_numpy(), index=leads.index)
    g = _binary_frame(rt, "dq", by, "disqualified", pending=pending)
    if by:
        g = g.sort_values(["rate", "finished"], ascending=[False, False], kind="stable").reset_index(drop=True)
    return g


def disqualification_flags(ds, *, min_n: int = 20, alpha: float = 0.05, min_effect: float = _DEFAULTS.min_effect, groups=None) -> pd.DataFrame:
    """Managers' disqualification rate against the rest of the team's (:func:`compare_shares`).

    Both directions deserve a look: ``worse`` is a rate significantly and notably *higher* than the
    rest of the team's (leads thrown away), ``better`` a notably *lower* one (leads kept too long).
    Open leads (new, in work, without a deal) are undecided and left out. ``groups``: each lead's
    owner group when the caller has it (``response_times(ds)["owner_group"]``); None: worked out here.
    """
    require_tables(ds, "leads", analysis="Disqualification")
    leads = ds.tables["leads"]
    status = _status(ds)
    value = pd.array((status == "disqualified").to_numpy(), dtype="boolean")
    value[status.isin(OPEN_STATUSES).to_numpy() & leads["deal_id"].isna().to_numpy()] = pd.NA
    groups = owner_group(ds, leads["manager"]) if groups is None else groups
    return compare_shares(leads["manager"], groups, value, check="disqualified", min_n=min_n, alpha=alpha,
                          min_effect=min_effect, higher_is_worse=True)


def disqualification_reasons(ds, no_reason: str = "—") -> pd.DataFrame:
    """Manager × reason counts of disqualified leads (``no_reason`` for an empty reason), a total column."""
    require_tables(ds, "leads", analysis="Disqualification")
    leads = ds.tables["leads"]
    d = leads[_status(ds) == "disqualified"]
    reason = d["disqualify_reason"].astype(object).fillna(no_reason)
    tab = pd.crosstab(d["manager"].astype(object).fillna("—"), reason)
    tab = tab[tab.sum().sort_values(ascending=False).index]
    tab["total"] = tab.sum(axis=1)
    tab.columns.name = None
    return tab.sort_values("total", ascending=False, kind="stable").reset_index().rename(columns={"index": "manager"})


def suspicious_disqualifications(ds) -> pd.DataFrame:
    """Disqualified leads with no reason, no first response, or (activities with ``lead_id``) no call at all.

    Columns: ``lead_id, manager, channel, created_at, disqualify_reason, no_reason, no_response,
    no_call`` (``no_call`` is NA when the activities do not link calls to leads).
    """
    require_tables(ds, "leads", analysis="Disqualification")
    leads = ds.tables["leads"]
    d = leads[_status(ds) == "disqualified"]
    no_reason = d["disqualify_reason"].isna() | (d["disqualify_reason"].astype(object).fillna("").str.strip() == "")
    no_response = d["first_response_at"].isna()
    if _calls_linked(ds):
        a = ds.tables["activities"]
        called = a.loc[(a["type"] == "call") & a["lead_id"].notna(), "lead_id"].astype(object).unique()
        no_call = pd.array((~d["lead_id"].astype(object).isin(called)).to_numpy(), dtype="boolean")
    else:
        no_call = pd.array([pd.NA] * len(d), dtype="boolean")
    out = pd.DataFrame(
        {
            "lead_id": d["lead_id"].to_numpy(),
            "manager": d["manager"].to_numpy(),
            "channel": d["channel"].to_numpy(),
            "created_at": d["created_at"].to_numpy(),
            "disqualify_reason": d["disqualify_reason"].to_numpy(),
            "no_reason": no_reason.to_numpy(dtype=bool),
            "no_response": no_response.to_numpy(dtype=bool),
            "no_call": no_call,
        }
    )
    hit = out["no_reason"] | out["no_response"] | out["no_call"].fillna(False).to_numpy(dtype=bool)
    return out[hit].reset_index(drop=True)


def _calls_linked(ds) -> bool:
    """Whether the activities link calls to leads (the "no call" check of suspicious disqualifications needs it)."""
    return ds.has("activities") and bool(ds.tables["activities"]["lead_id"].notna().any())


# ---------------------------------------------------------------------------
# the result


def _flagged(flags: pd.DataFrame, verdict: str = "worse") -> list[str]:
    """The team managers of a comparison table with this verdict, sorted."""
    return sorted(str(m) for m, v in zip(flags["manager"], flags["verdict"]) if v == verdict)


@dataclass(frozen=True)
class LeadsResult:
    """What notebook 03 reports, computed once (``None``: the export cannot give it).

    Tables (canonical column names; ``manager`` holds manager codes, ``verdict`` the codes of
    :func:`salesaudit.stats.effect.judge` or :data:`EXCLUDED`):

    * ``response_times_`` – one row per lead (:func:`response_times`);
    * ``team_`` – the team's response summary, one row; ``by_manager_``, ``by_channel_``,
      ``by_hour_`` – the same per manager (worst on top), channel and hour of arrival (:func:`response_summary`);
    * ``overnight_weekly_`` – leads left overnight per week; ``overnight_by_manager_`` – per manager
      (worst on top); ``overnight_days_`` – per working day and manager in the run's period, days
      with a lead left overnight only (``None`` without a period);
    * ``response_flags_``, ``overnight_flags_``, ``disqualification_flags_`` – team managers against the
      rest of the team on a share (:func:`compare_shares`: difference in p.p. with its interval,
      ``verdict``), ``response_time_flags_`` on the median response (:func:`compare_response_times`:
      ratio and difference of the medians); rows of the other owner groups are not tested;
    * ``disqualification_team_`` – the team's disqualification, one row; ``disqualification_by_manager_``
      (worst on top); ``disqualification_reasons_`` – manager × reason counts (the :data:`NO_REASON`
      column: disqualified without a reason) with a total;
    * ``suspicious_`` – suspicious disqualifications (:func:`suspicious_disqualifications`).
    """

    client: str
    manager_names: dict
    sla_minutes: float
    calendar_start: str
    calendar_end: str
    timezone: str
    as_of: pd.Timestamp
    min_n: int
    alpha: float
    min_effect: float = _DEFAULTS.min_effect
    min_ratio: float = _DEFAULTS.min_ratio
    min_difference_minutes: float = _DEFAULTS.min_difference_minutes
    period: str | None = None
    has_leads: bool = False
    leads_total: int = 0
    response_times_known: bool = False
    out_of_hours: int | None = None
    overnight_left: int | None = None
    overnight_decided: int | None = None
    response_times_: pd.DataFrame | None = None
    team_: pd.DataFrame | None = None
    by_manager_: pd.DataFrame | None = None
    by_channel_: pd.DataFrame | None = None
    by_hour_: pd.DataFrame | None = None
    overnight_weekly_: pd.DataFrame | None = None
    overnight_by_manager_: pd.DataFrame | None = None
    overnight_days_: pd.DataFrame | None = None
    response_flags_: pd.DataFrame | None = None
    response_time_flags_: pd.DataFrame | None = None
    overnight_flags_: pd.DataFrame | None = None
    has_disqualification: bool = False
    calls_linked: bool = False
    disqualification_team_: pd.DataFrame | None = None
    disqualification_by_manager_: pd.DataFrame | None = None
    disqualification_flags_: pd.DataFrame | None = None
    disqualification_reasons_: pd.DataFrame | None = None
    suspicious_: pd.DataFrame | None = None

    @property
    def share_left_overnight(self) -> float | None:
        """Leads left overnight among the decided ones (0 when none is decided)."""
        if self.overnight_left is None:
            return None
        return float(self.overnight_left / max(1, self.overnight_decided))

    def key_figures(self) -> dict:
        """The key results of notebook 03's JSON (language-neutral; keys start with ``leads_``), read off this result.

        ``leads_flagged_*`` list the team managers whose verdict is ``worse`` (for
        ``leads_flagged_disqualification_low``: ``better``, a notably lower rate); durations in
        ``*_sec`` keys are working seconds at full precision (``*_min`` keys: minutes, rounded).
        """
        if not self.has_leads:
            return {}
        out: dict = {"leads_total": int(self.leads_total), "leads_response_times_known": bool(self.response_times_known)}
        if self.response_times_known:
            team = self.team_.iloc[0]
            out.update(
                {
                    "leads_unanswered": int(team["unanswered"]),
                    "leads_median_response_min": round(float(team["median"]), 1),
                    "leads_p90_response_min": None if pd.isna(team["p90"]) else round(float(team["p90"]), 1),
                    "leads_median_response_sec": None if pd.isna(team["median"]) else float(team["median"]) * 60.0,
                    "leads_p90_response_sec": None if pd.isna(team["p90"]) else float(team["p90"]) * 60.0,
                    "leads_share_within_sla": round(float(team["share_within_sla"]), 4),
                    "leads_share_left_overnight": round(self.share_left_overnight, 4),
                    "leads_flagged_response": _flagged(self.response_flags_),
                    "leads_flagged_response_time": _flagged(self.response_time_flags_),
                    "leads_flagged_overnight": _flagged(self.overnight_flags_),
                }
            )
        if self.has_disqualification:
            team = self.disqualification_team_.iloc[0]
            out.update(
                {
                    "leads_disqualified": int(team["advanced"]),
                    "leads_disqualification_rate": round(float(team["rate"]), 4),
                    "leads_flagged_disqualification_high": _flagged(self.disqualification_flags_, "worse"),
                    "leads_flagged_disqualification_low": _flagged(self.disqualification_flags_, "better"),
                    "leads_suspicious_disqualifications": int(len(self.suspicious_)),
                }
            )
        return out


def analyse(ds, settings: LeadsSettings | None = None) -> LeadsResult:
    """The lead-processing result of a loaded dataset.

    ``settings``: the run config's ``analysis.leads`` (``min_n``, ``alpha``, ``min_effect``,
    ``min_ratio``, ``min_difference_minutes``), as merged with a
    notebook's overrides by ``ds.config.analysis.settings("leads", ...)``; ``None``: the run config's.
    A dataset without leads gives a result with ``has_leads`` false and no tables.
    """
    st = settings if settings is not None else ds.config.analysis.settings("leads")
    cal = ds.calendar
    period = parse_period(ds.config.period, ds.config.grain) if ds.config.period else None
    base = dict(
        client=ds.config.client,
        manager_names=dict(ds.manager_names()),
        sla_minutes=float(ds.config.lead_response.sla_minutes),
        calendar_start=str(cal.start),
        calendar_end=str(cal.end),
        timezone=str(cal.timezone),
        as_of=pd.Timestamp(ds.as_of),
        min_n=int(st.min_n),
        alpha=float(st.alpha),
        min_effect=float(st.min_effect),
        min_ratio=float(st.min_ratio),
        min_difference_minutes=float(st.min_difference_minutes),
        period=period.label if period is not None else None,
    )
    if not ds.has("leads"):
        return LeadsResult(**base)
    flags = dict(min_n=st.min_n, alpha=st.alpha, min_effect=st.min_effect)
    out: dict = {"has_leads": True, "leads_total": int(len(ds.tables["leads"])), "response_times_known": has_response_times(ds)}
    rt = None
    if out["response_times_known"]:
        rt = response_times(ds)
        ov = rt["left_overnight"]
        days = None
        if period is not None:
            daily = overnight_daily(rt, by_manager=True)
            days = daily[(daily["due_day"] >= period.start) & (daily["due_day"] < period.end) & (daily["left_overnight"] > 0)]
        out.update(
            response_times_=rt,
            team_=response_summary(rt),
            by_manager_=response_summary(rt, "manager"),
            by_channel_=response_summary(rt, "channel"),
            by_hour_=response_summary(rt, "hour"),
            out_of_hours=int((~rt["arrived_in_hours"]).sum()),
            overnight_left=int(ov.fillna(False).sum()),
            overnight_decided=int(ov.notna().sum()),
            overnight_weekly_=overnight_weekly(rt),
            overnight_by_manager_=overnight_by_manager(rt),
            overnight_days_=days,
            response_flags_=response_flags(rt, **flags),
            response_time_flags_=response_time_flags(rt, st),
            overnight_flags_=overnight_flags(rt, **flags),
        )
    if has_disqualification(ds):
        out.update(
            has_disqualification=True,
            calls_linked=_calls_linked(ds),
            disqualification_team_=disqualification_by_manager(ds, by=None),
            disqualification_by_manager_=disqualification_by_manager(ds),
            disqualification_flags_=disqualification_flags(ds, **flags, groups=None if rt is None else rt["owner_group"].to_numpy()),
            disqualification_reasons_=disqualification_reasons(ds, no_reason=NO_REASON),
            suspicious_=suspicious_disqualifications(ds),
        )
    return LeadsResult(**base, **out)


def summary(ds, *, min_n: int = 20, alpha: float = 0.05, **thresholds) -> dict:
    """Key results of the lead analysis (language-neutral), for ``record``; keys start with ``leads_``.

    The same as ``analyse(ds, settings).key_figures()`` with these settings (``thresholds``:
    ``min_effect``, ``min_ratio``, ``min_difference_minutes``; default: their defaults).
    """
    require_tables(ds, "leads", analysis="Lead processing")
    return analyse(ds, LeadsSettings(min_n=min_n, alpha=alpha, **thresholds)).key_figures()
