"""The planted truth, measured on the generated department (the manifest :attr:`Department.anomalies`).

Every figure is computed from the department's arrays (positions in the roster, stage and status
codes, timestamps floored to the second as in the canonical tables) with group-bys and counts, one
pass over the rows each: the cost grows with the rows, not with rows × sellers.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data.calendar import WorkClock
from .build import _LEAD_STATUS, _REASONS, Activities, Deals, Leads, Payments, _floor_seconds
from .design import (
    _DESK_CONVERSION_GAP,
    _DESK_SLOWER,
    _MEDIAN_WORK_MIN,
    _NAT,
    _NS_DAY,
    CANCEL_SHARE,
    DEAL_LOAD_LIMIT,
    FUNNEL_STAGES,
    INSTALMENT_MIN_AMOUNT,
    INVOICE_BY_HEAD_P,
    LOST_STAGES,
    MAX_DISCOUNT_PCT,
    MINUTES_STAGE,
    NORM_DAYS,
    PAYMENT_TERMS,
    ROBOT,
    ROBOT_NAME,
    STAGE_KEYS,
    STALL_FACTOR,
    STALL_STAGE,
    _missing,
    _to_dt,
)

NEW, QUALIFIED, NEEDS, PROPOSAL, INVOICE, WON, LOST, CANCELLED = range(8)
_OUTCOMES = ("open", "won", "lost")


def _significant(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant digits (a p-value kept readable in the JSON)."""
    return float(x) if not x or not math.isfinite(x) else round(float(x), digits - 1 - int(math.floor(math.log10(abs(x)))))


def _thresholds() -> dict:
    """The practical thresholds of the `analysis:` section's defaults (the demo config's): what
    the manifest's expectations are stated against."""
    from ..data.params import FunnelSettings, LeadsSettings, StallsSettings

    f, le, st = FunnelSettings(), LeadsSettings(), StallsSettings()
    return {
        "funnel_min_effect": f.min_effect,
        "leads_min_effect": le.min_effect,
        "leads_min_ratio": le.min_ratio,
        "leads_min_difference_minutes": le.min_difference_minutes,
        "stalls_min_ratio": st.min_ratio,
        "stalls_min_difference_hours": st.min_difference_hours,
    }


def _r(x, n=3):
    return None if _missing(x) else round(float(x), n)


def _counts(codes: np.ndarray, n: int, mask=None) -> np.ndarray:
    """Rows per code (codes < 0 left out), optionally of the rows in ``mask``."""
    codes = np.asarray(codes)
    ok = codes >= 0 if mask is None else (codes >= 0) & mask
    return np.bincount(codes[ok], minlength=n)


def _by_text(codes: np.ndarray, labels) -> dict[str, int]:
    """``value_counts().sort_index()`` of a coded text column, as a dict (codes < 0 are missing: left out)."""
    c = _counts(codes, len(labels))
    return {k: int(v) for k, v in sorted(zip(labels, c.tolist())) if v}


def _days(delta_ns: np.ndarray) -> np.ndarray:
    """Calendar days of a nanosecond difference (as pandas' ``total_seconds() / 86400``)."""
    return pd.Series(np.asarray(delta_ns, dtype=np.int64).view("timedelta64[ns]")).dt.total_seconds().to_numpy() / 86400


def measure(roster, cal: WorkClock, as_of: pd.Timestamp, params: dict, leads: Leads, deals: Deals, acts: Activities, pay: Payments) -> dict:
    """The planted truth, measured on the generated tables.

    The *team* is the sellers (role manager, the desk included): not the head of sales, not the
    robot, not the deals without a manager. "The rest" of a manager is the team without him.
    """
    from ..stats import logrank

    n_p = len(roster)
    key_of = [p["manager"] for p in roster]
    at = {p["kind"]: j for j, p in enumerate(roster)}
    people = [j for j, p in enumerate(roster) if p["kind"] != "robot"]
    in_team = np.array([p["role"] == "manager" and p["kind"] != "robot" for p in roster] + [False])  # [-1]: no manager
    team = [key_of[j] for j in range(n_p) if in_team[j]]
    desk, slow, skipper, over = at["desk"], at["slow_responder"], at["stage_skipper"], at["overloaded_manager"]
    violator, weak, head, robot = at["discount_violator"], at["weak_closer"], at["head"], at["robot"]
    as_of_ns = int(as_of.value)

    def per_person(values) -> dict:
        return {key_of[j]: values[j] for j in people}

    # --------------------------------------------------------------- leads
    who = leads.who
    created = _floor_seconds(leads.t)
    answered_at = _floor_seconds(leads.responded)
    obs = answered_at != _NAT
    resp = np.full(len(who), np.nan)
    resp[obs] = np.asarray(cal.working_minutes_between(_to_dt(created[obs]), _to_dt(answered_at[obs])))
    med_resp = pd.Series(resp).groupby(who).median().reindex(range(n_p))
    decided = (leads.status == 2) | (leads.status == 3)
    converted = leads.status[decided] == 2
    d_who = who[decided]
    conv = pd.Series(converted).groupby(d_who).mean().reindex(range(n_p))
    next_day = (answered_at // _NS_DAY > created // _NS_DAY) & obs & (resp > 0)
    lead_resp = {key_of[j]: _r(med_resp[j], 1) for j in people}
    team_lead = in_team[who]
    team_decided = in_team[d_who]

    # --------------------------------------------------------------- the stage history, deal by deal
    owner = deals.owner
    h_row, h_stage = deals.h_row, deals.h_stage
    h_t = _floor_seconds(deals.h_entered)
    same_next = np.r_[h_row[1:] == h_row[:-1], False]
    nxt_stage = np.where(same_next, np.r_[h_stage[1:], -1], -1)
    nxt_t = np.r_[h_t[1:], 0]
    v = h_stage < WON  # visits: the non-terminal entries
    v_row, v_stage, v_next, v_t = h_row[v], h_stage[v], nxt_stage[v], h_t[v]
    v_days = np.where(same_next[v], _days(np.where(same_next, nxt_t - h_t, 0)[v]), np.nan)
    v_owner = owner[v_row]

    reached = np.zeros(len(owner), dtype=bool)
    reached[h_row[(h_stage == PROPOSAL) | (h_stage == INVOICE) | (h_stage == WON)]] = True
    had_needs = np.zeros(len(owner), dtype=bool)
    had_needs[h_row[h_stage == NEEDS]] = True
    skipped = reached & ~had_needs
    skip_sum = _counts(owner, n_p, skipped)
    skip_count = _counts(owner, n_p, reached)
    q = v_stage == QUALIFIED
    tgt = q & skipped[v_row] & ((v_next == PROPOSAL) | (v_next == INVOICE))
    first_tgt = np.flatnonzero(tgt)
    first_tgt = first_tgt[np.r_[True, v_row[first_tgt][1:] != v_row[first_tgt][:-1]]] if len(first_tgt) else first_tgt
    skip_targets = np.bincount(v_next[first_tgt], minlength=len(STAGE_KEYS)) if len(first_tgt) else np.zeros(len(STAGE_KEYS), dtype=np.int64)
    skip_q = (v_stage == NEW) & (v_next == NEEDS)
    back = (v_next >= 0) & (v_next <= WON) & (v_next < v_stage)

    # stage times over the deals people own (the robot's and the unassigned deals leave `new` in minutes)
    people_v = (v_owner >= 0) & (v_owner != robot)
    done_v = people_v & ~np.isnan(v_days)
    dv = pd.Series(v_days[done_v]).groupby(v_stage[done_v])
    med_days, p80_days = dv.median(), dv.quantile(0.8)
    med_days = {s: med_days[i] for i, s in enumerate(FUNNEL_STAGES)}
    p80_days = {s: p80_days[i] for i, s in enumerate(FUNNEL_STAGES)}
    ratios = {s: _r(med_days[s] / NORM_DAYS[s]) for s in FUNNEL_STAGES}
    other_ratio = float(np.median([ratios[s] for s in FUNNEL_STAGES if s != STALL_STAGE]))

    # --------------------------------------------------------------- deals
    is_open = deals.outcome == 0
    open_by = _counts(owner, n_p, is_open)
    inst = (deals.terms == PAYMENT_TERMS.index("instalment_3m")) | (deals.terms == PAYMENT_TERMS.index("instalment_6m"))
    disc_v = deals.discount > MAX_DISCOUNT_PCT
    inst_v = inst & (deals.amount <= INSTALMENT_MIN_AMOUNT)
    v_disc, v_inst = _counts(owner, n_p, disc_v), _counts(owner, n_p, inst_v)
    v_any, v_terms = _counts(owner, n_p, disc_v | inst_v), _counts(owner, n_p, deals.terms >= 0)
    viol = {
        key_of[j]: {
            "discount_over_limit": int(v_disc[j]),
            "instalment_below_min": int(v_inst[j]),
            "deals_with_violation": int(v_any[j]),
            "deals_with_terms": int(v_terms[j]),
        }
        for j in people
    }

    prop = (v_stage == PROPOSAL) & (v_next >= 0)
    to_inv = v_next[prop] == INVOICE
    prop_owner = v_owner[prop]
    prop_rate = pd.Series(to_inv).groupby(prop_owner).mean().reindex(range(n_p))
    team_prop = float(to_inv[in_team[prop_owner] & (prop_owner != weak)].mean())

    unanswered = ~obs & (leads.status == 0)

    # the inbound desk against the rest of the team
    waited = np.asarray(cal.working_minutes_between(_to_dt(created), _to_dt(np.where(obs, answered_at, as_of_ns))))
    mine_l, rest_l = who == desk, team_lead & (who != desk)
    # its answers are compared with the ordinary sellers': the analysis judges the slow responder apart (a robust baseline)
    rest_r = rest_l & (who != slow)
    d_med, r_med = float(pd.Series(resp[mine_l & obs]).median()), float(pd.Series(resp[rest_r & obs]).median())
    sla = (resp <= 30) & obs
    d_conv = float(converted[d_who == desk].mean())
    r_conv = float(converted[team_decided & (d_who != desk)].mean())
    lead_count = _counts(who, n_p)
    normal_keys = sorted((key_of[j], j) for j, p in enumerate(roster) if p["kind"] == "normal")
    normal_leads = pd.Series([lead_count[j] for _, j in normal_keys], dtype=np.int64)
    desk_deals = owner == desk

    # owner groups
    d_created, d_closed = _floor_seconds(deals.t0), _floor_seconds(deals.closed)
    with_manager = owner >= 0

    def group_row(sel, share):
        out = {"deals": int(sel.sum()), "share": _r(share), **_by_text(np.where(sel, deals.outcome, -1), _OUTCOMES)}
        lost = sel & (deals.outcome == 2)
        if lost.any():
            mins = pd.Series(pd.Series((d_closed[lost] - d_created[lost]).view("timedelta64[ns]")).dt.total_seconds().to_numpy() / 60)
            out.update({
                "median_minutes_to_decline": _r(mins.median(), 2), "max_minutes_to_decline": _r(mins.max(), 2),
                "lost_at_stage": _by_text(np.where(lost, deals.stage, -1), STAGE_KEYS),
                "lost_reasons": _by_text(np.where(lost, deals.lost_reason, -1), _REASONS),
                "with_lead": int((sel & (deals.lead >= 0)).sum()), "with_amount": int((sel & ~np.isnan(deals.amount)).sum()),
            })
        return out

    no_mgr = owner < 0
    system = owner == robot
    head_deals, team_deals = owner == head, in_team[owner]
    first_v = (v_stage == NEW) & (v_next >= 0)
    first_fwd = (v_next[first_v] != LOST) & (v_next[first_v] != CANCELLED)
    first_owner = v_owner[first_v]

    # lost terminals and reasons: the stage each lost deal was lost at (its entry before the last)
    last = np.r_[h_row[1:] != h_row[:-1], True]
    before_last = np.r_[last[1:], False] & np.r_[h_row[:-1] == h_row[1:], False]
    lost_from = np.full(len(owner), -1)
    lost_from[h_row[before_last]] = h_stage[before_last]
    lost_d = deals.outcome == 2
    lf_team = lost_d & in_team[owner]

    # who moved the deals: every entry but a deal's creation is a move
    h_owner = owner[h_row]
    mover = deals.h_moved_by
    firsts = np.r_[True, h_row[1:] != h_row[:-1]]
    moves = ~firsts
    inv_team = moves & (h_stage == INVOICE) & in_team[h_owner]

    # the stage that takes minutes: working minutes in qualified per manager
    qv = q & (v_next >= 0)
    q_entered = pd.Series(_to_dt(v_t[qv]))
    q_days = pd.Series(v_days[qv])
    q_exit = q_entered + pd.to_timedelta(q_days, unit="D")
    q_wmin = np.asarray(cal.working_minutes_between(q_entered.to_numpy(dtype="datetime64[ns]"), q_exit.to_numpy(dtype="datetime64[ns]")))
    q_owner = v_owner[qv]
    q_med = pd.Series(q_wmin).groupby(q_owner).median().reindex(range(n_p))
    q_in = in_team[q_owner]
    q_team_wmin, q_team_days = pd.Series(q_wmin[q_in]), pd.Series(q_days.to_numpy()[q_in])

    tasks_overdue = (acts.type == 1) & (acts.done == _NAT) & (_floor_seconds(acts.due) < as_of_ns) & (acts.due != _NAT)
    overdue = _counts(acts.manager, n_p, tasks_overdue)
    paid = np.zeros(len(owner), dtype=bool)
    paid[pay.deal] = True
    last_90 = _counts(who, n_p, created > as_of_ns - 90 * _NS_DAY)
    leaver = next(p for p in roster if p["kind"] == "leaver")
    newcomer = next(p for p in roster if p["kind"] == "newcomer")
    n_unanswered = _counts(who, n_p, unanswered)
    n_skip_q, n_back = _counts(v_owner, n_p, skip_q), _counts(v_owner, n_p, back)
    others_max = max(lead_resp[key_of[j]] for j in people if j != slow and lead_resp[key_of[j]] is not None)
    open_others = np.delete(open_by, [over, desk, robot])

    return {
        "seed": params["seed"],
        "period": {"start": params["start"], "end": params["end"], "as_of": as_of.strftime("%Y-%m-%d %H:%M:%S")},
        "team_definition": "the sellers (role manager, the inbound desk included); the head of sales, the CRM robot and the deals "
                           "without a manager are not the team; the rest of a manager = the team without him",
        "thresholds": _thresholds(),
        "roster": {
            "head_of_sales": key_of[head],
            "newcomer": key_of[at["newcomer"]],
            "newcomer_hired_at": pd.Timestamp(newcomer["hired_at"]).strftime("%Y-%m-%d"),
            "leaver": key_of[at["leaver"]],
            "leaver_left_at": pd.Timestamp(leaver["left_at"]).strftime("%Y-%m-%d"),
            "leaver_deals_reassigned": int(params["reassigned"]),
            "normal": [k for k, _ in normal_keys],
            "inbound_desk": key_of[desk],
            "system_owners": [ROBOT],
            "team": team,
            "head_share_of_deals": _r(head_deals.sum() / with_manager.sum()),
        },
        "slow_responder": {
            "manager": key_of[slow],
            "expect": {"response_time": "flag", "left_overnight": "flag", "lead_to_deal": "flag"},
            "design_median_response_working_min": 240,
            "median_response_working_min": lead_resp[key_of[slow]],
            "max_median_response_working_min_others": others_max,
            "answered_next_day_share": _r(next_day[who == slow].mean()),
            "answered_next_day_share_rest": _r(next_day[team_lead & (who != slow)].mean()),
            "lead_to_deal_conversion": _r(conv[slow]),
            "lead_to_deal_conversion_others": _r(converted[team_decided & (d_who != slow)].mean()),
            "median_response_working_min_by_manager": lead_resp,
            "unanswered_leads_by_manager": per_person([int(x) for x in n_unanswered]),
        },
        "stage_skipper": {
            "manager": key_of[skipper],
            "stage": "needs",
            "expect": {"skips_mandatory_stage": "flag", "funnel_step_qualified>needs": "do_not_flag", "funnel_step_needs>proposal": "do_not_flag"},
            "definition": "deals that entered proposal, invoice or won without ever entering needs / deals that entered proposal, invoice or won",
            "skipped_deals": int(skip_sum[skipper]),
            "eligible_deals": int(skip_count[skipper]),
            "share": _r(skip_sum[skipper] / max(skip_count[skipper], 1)),
            "skips_by_next_stage": {s: int(skip_targets[STAGE_KEYS.index(s)]) for s in ("proposal", "invoice")},
            "skipped_deals_others": int(sum(skip_sum[j] for j in people if j != skipper)),
            "qualified_skips_by_manager": per_person([int(x) for x in n_skip_q]),
            "backward_moves_by_manager": per_person([int(x) for x in n_back]),
        },
        "stalling_stage": {
            "stage": STALL_STAGE,
            "expect": {"stalled_stages": [STALL_STAGE]},
            "definition": "stays that ended before as_of, in the deals people own (not the robot's, not the unassigned ones); calendar days",
            "norm_days": NORM_DAYS[STALL_STAGE],
            "design_factor": STALL_FACTOR,
            "median_days_by_stage": {s: _r(med_days[s], 4) for s in FUNNEL_STAGES},
            "p80_days_by_stage": {s: _r(p80_days[s], 4) for s in FUNNEL_STAGES},
            "median_ratio_to_norm_by_stage": ratios,
            "stall_ratio_vs_other_stages": _r(ratios[STALL_STAGE] / other_ratio),
        },
        "overloaded_manager": {
            "manager": key_of[over],
            "expect": {"deal_load": "flag", "time_in_stage": "flag (slower; not at the minutes stage)"},
            "deal_load_limit": DEAL_LOAD_LIMIT,
            "open_deals": int(open_by[over]),
            "max_open_deals_others": int(open_others.max()),
            "open_deals_by_manager": per_person([int(x) for x in open_by]),
            "leads_last_90_days_by_manager": per_person([int(x) for x in last_90]),
        },
        "discount_violator": {
            "manager": key_of[violator],
            "expect": {"policy": "flag"},
            "policy": {"max_discount_pct": MAX_DISCOUNT_PCT, "instalment_min_amount_exclusive": INSTALMENT_MIN_AMOUNT},
            "discount_over_limit": viol[key_of[violator]]["discount_over_limit"],
            "instalment_below_min": viol[key_of[violator]]["instalment_below_min"],
            "deals_with_violation": viol[key_of[violator]]["deals_with_violation"],
            "violations_by_manager": viol,
        },
        "weak_closer": {
            "manager": key_of[weak],
            "expect": {"funnel_step_proposal>invoice": "flag"},
            "from_stage": "proposal",
            "to_stage": "invoice",
            "definition": "share of proposal visits that ended (before as_of) with a move to invoice; the rest of the team for the team rate",
            "rate": _r(prop_rate[weak]),
            "team_rate_others": _r(team_prop),
            "rate_by_manager": {key_of[j]: _r(prop_rate[j]) for j in people},
        },
        "inbound_desk": {
            "manager": key_of[desk],
            "expect": {"response_time": "do_not_flag", "sla_share": "do_not_flag", "lead_to_deal": "do_not_flag",
                       "deal_load": "do_not_flag (its personal limit in the demo config)", "time_in_stage": "do_not_flag"},
            "why": "a difference that is significant on ten sellers' volume but far below the practical thresholds",
            "leads": int(mine_l.sum()),
            "rest_leads": int(rest_l.sum()),
            "volume_vs_median_normal_seller": _r(mine_l.sum() / normal_leads.median(), 2),
            "design_response_factor": _DESK_SLOWER,
            "median_response_working_min": _r(d_med, 2),
            "rest_median_response_working_min": _r(r_med, 2),
            "response_ratio": _r(d_med / r_med),
            "response_difference_working_min": _r(d_med - r_med, 2),
            "response_log_rank_p": _significant(logrank(waited[mine_l], obs[mine_l], waited[rest_r], obs[rest_r])[1], 3),
            "response_definition": "working minutes to the first response, answered leads (medians); the log-rank test counts the "
                                   "unanswered leads as censored at as_of; against the rest of the team without the slow responder",
            "response_rest_leads": int(rest_r.sum()),
            "sla_share": _r(sla[mine_l].mean()),
            "rest_sla_share": _r(sla[rest_r].mean()),
            "design_lead_to_deal_gap": -_DESK_CONVERSION_GAP,
            "decided_leads": int((d_who == desk).sum()),
            "rest_decided_leads": int((team_decided & (d_who != desk)).sum()),
            "lead_to_deal_conversion": _r(d_conv, 4),
            "rest_lead_to_deal_conversion": _r(r_conv, 4),
            "lead_to_deal_difference": _r(d_conv - r_conv, 4),
            "deals": int(desk_deals.sum()),
            "open_deals": int(open_by[desk]),
        },
        "owner_groups": {
            "expect": "each group reported in a row of its own, outside the team baseline, never tested",
            "system_owners": [ROBOT],
            "robot_name": ROBOT_NAME,
            "no_manager": group_row(no_mgr, no_mgr.mean()),
            "system": group_row(system, system.sum() / with_manager.sum()),
            "head_of_sales": {"deals": int(head_deals.sum()), "share": _r(head_deals.sum() / with_manager.sum())},
            "team": {"deals": int(team_deals.sum()), "share": _r(team_deals.mean())},
            "first_step_rate": {
                "definition": "share of the stays in new that ended (before as_of) with a forward move",
                "all_deals": _r(first_fwd.mean()),
                "team_deals": _r(first_fwd[in_team[first_owner]].mean()),
            },
        },
        "minutes_stage": {
            "stage": MINUTES_STAGE,
            "expect": {"unit": "minutes", "managers_flagged": []},
            "why": "the overloaded manager is slower there too, but by minutes: under the stalls' practical difference of an hour",
            "norm_days": _r(NORM_DAYS[MINUTES_STAGE], 6),
            "design_median_working_min": _MEDIAN_WORK_MIN[MINUTES_STAGE],
            "median_working_min_team": _r(q_team_wmin.median(), 2),
            "p80_working_min_team": _r(q_team_wmin.quantile(0.8), 2),
            "median_calendar_min_team": _r(q_team_days.median() * 1440, 2),
            "median_working_min_by_manager": {key_of[j]: _r(q_med[j], 2) for j in people},
            "share_of_stays_over_norm_calendar": _r((q_team_days > NORM_DAYS[MINUTES_STAGE]).mean()),
        },
        "moved_by": {
            "expect": "with stay_owner: moved_by a stay is charged to whoever moved the deal into the stage: the head of sales' "
                      "invoice stays are his (own row); with deal_owner the owner's",
            "design_invoice_by_head_share": INVOICE_BY_HEAD_P,
            "invoice_entries_team_deals": int(inv_team.sum()),
            "invoice_entries_moved_by_head": int((inv_team & (mover == head)).sum()),
            "invoice_moved_by_head_share": _r((mover[inv_team] == head).mean()),
            "moves": int(moves.sum()),
            "moves_not_by_owner": int((moves & ((mover != h_owner) | (mover < 0) | (h_owner < 0))).sum()),
            "moves_by_head_on_others_deals": int((moves & (mover == head) & (h_owner != head) & (h_owner >= 0)).sum()),
            "moves_by_robot": int((moves & (mover == robot)).sum()),
            "moves_by_robot_on_unassigned_deals": int((moves & (mover == robot) & (h_owner < 0)).sum()),
            "creations_without_mover": int((firsts & (mover < 0)).sum()),
        },
        "lost_terminals": {
            "terminals": list(LOST_STAGES),
            "expect": "every lost deal maps to outcome lost; losses reported by terminal and reason",
            "definition": "lost deals by the terminal they ended in and the stage they were lost at; the team's deals unless 'all'",
            "design_cancel_share_by_stage": dict(CANCEL_SHARE),
            "deals_by_terminal_all": {s: int((lost_d & (deals.stage == STAGE_KEYS.index(s))).sum()) for s in LOST_STAGES},
            "deals_by_terminal_team": {s: int((lf_team & (deals.stage == STAGE_KEYS.index(s))).sum()) for s in LOST_STAGES},
            "team_by_stage_lost_at": {
                s: {t: int((lf_team & (lost_from == i) & (deals.stage == STAGE_KEYS.index(t))).sum()) for t in LOST_STAGES}
                for i, s in enumerate(FUNNEL_STAGES)
            },
            "team_reasons_by_terminal": {
                t: _by_text(np.where(lf_team & (deals.stage == STAGE_KEYS.index(t)), deals.lost_reason, -1), _REASONS) for t in LOST_STAGES
            },
            "team_empty_reason": int((lf_team & (deals.lost_reason < 0)).sum()),
        },
        "open_deals_by_manager": per_person([int(x) for x in open_by]),
        "background": {
            "note": "not planted anomalies: ordinary noise an audit will also see",
            "overdue_open_tasks_by_manager": per_person([int(x) for x in overdue]),
            "won_deals_without_payment_yet": int(((deals.outcome == 1) & ~paid).sum()),
            "lead_status_counts": _by_text(leads.status, _LEAD_STATUS),
            "deal_outcome_counts": _by_text(deals.outcome, _OUTCOMES),
            "deal_stage_counts": _by_text(deals.stage, STAGE_KEYS),
        },
    }
