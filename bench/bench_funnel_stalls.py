"""Benchmark: the whole funnel and stall computation on a million deals, against DuckDB SQL.

    .venv/bin/python bench/bench_funnel_stalls.py [--deals 1000000] [--seed 7] [--repeat 1]

1. Generates (once, cached in ``bench/out/``) a department with ``--deals`` deals and about
   3.5 rows of stage history per deal, vectorised with numpy, as Parquet.
2. Runs each engine in its own process, so that peak memory is its own:
   * ``salesaudit``: ``funnel.deal_reach`` + ``step_conversion`` (team and per manager) +
     ``manager_flags`` + ``cohort_table``, then ``stalls.stage_stays`` + ``stage_summary`` +
     ``manager_stage_summary`` + ``action_list`` + ``compliance`` — Kaplan–Meier, Wilson,
     log-rank and Holm included;
   * ``duckdb``: the same aggregates as one SQL script (reach per deal, step counts per manager,
     stays with a window function, counts / medians / share over norm per stage and manager,
     skips and backward moves). SQL has no censored estimator, so its quantiles are plain
     quantiles of the stays cut at the audit moment: the engines agree on every count, not on
     the medians of stages with open stays.
3. Prints both times, their ratio, peak RSS and the RSS added by the computation, and checks
   that the two engines' step counts agree.

Timing is wall-clock of the computation only (the Parquet is already in memory), beside the CPU
seconds of the process over the same span (all its threads: DuckDB runs one per core, salesaudit
one), which say how much of a slow wall-clock was other work on a shared machine. ``--repeat N``
runs each engine N times, each in a fresh process, alternating, and keeps each engine's fastest
run. This is a benchmark, not a test: nothing here asserts a speed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
AS_OF = pd.Timestamp("2026-10-31 23:59:59")
STAGES = ["new", "qualified", "needs", "proposal", "invoice"]
NORM_DAYS = [1, 3, 5, 7, 5]
CONTINUE = [0.70, 0.70, 0.72, 0.60, 0.80]  # probability of moving on from each open stage (the last: winning)


def generate(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals and their stage history, vectorised: no Python loop over deals."""
    rng = np.random.default_rng(seed)
    n_managers = 60
    managers = np.array([f"m{i:03d}" for i in range(1, n_managers + 1)])
    span = 730 * 86400.0
    created = AS_OF - pd.to_timedelta(rng.uniform(0, span, n), unit="s")
    created = created.floor("s")
    manager = managers[rng.integers(0, n_managers, n)]
    skill = rng.normal(0, 0.03, n_managers)[rng.integers(0, n_managers, n)]
    k = len(STAGES)
    go_on = rng.random((n, k)) < (np.array(CONTINUE)[None, :] + skill[:, None])
    # reach: index of the first stage the deal does not move on from (k = won)
    stop = np.where(go_on.all(axis=1), k, np.argmin(go_on, axis=1))
    stay_days = rng.lognormal(np.log(np.array(NORM_DAYS) * 0.6)[None, :], 0.8, (n, k))
    entry = np.zeros((n, k + 1))
    entry[:, 1:] = np.cumsum(stay_days, axis=1)  # entry[:, j] = days from creation to entering step j (j = k: terminal)
    # the terminal move happens when the deal leaves its last stage
    last = np.minimum(stop, k - 1)
    terminal_at = entry[np.arange(n), last + 1]
    created_ns = created.to_numpy().astype("datetime64[ns]").astype(np.int64)
    as_of_ns = AS_OF.to_datetime64().astype("datetime64[ns]").astype(np.int64)
    day = 86400 * 10**9
    # skips of the mandatory "needs" stage by a few managers, and some backward moves, as in real data
    skip = (np.isin(manager, managers[:3])) & (rng.random(n) < 0.3) & (stop > 2)
    rows_deal, rows_stage, rows_at = [], [], []
    for j in range(k):
        m = (stop >= j) & ~((j == 2) & skip)
        at = created_ns + (entry[:, j] * day).astype(np.int64)
        m &= at <= as_of_ns
        rows_deal.append(np.nonzero(m)[0])
        rows_stage.append(np.full(m.sum(), j))
        rows_at.append(at[m])
    t_ns = created_ns + (terminal_at * day).astype(np.int64)
    closed = t_ns <= as_of_ns
    won = closed & (stop == k)
    lost = closed & (stop < k)
    for mask, code in ((won, k), (lost, k + 1)):
        idx = np.nonzero(mask)[0]
        rows_deal.append(idx)
        rows_stage.append(np.full(len(idx), code))
        rows_at.append(t_ns[idx])
    deal_idx = np.concatenate(rows_deal)
    stage_code = np.concatenate(rows_stage)
    at = np.concatenate(rows_at)
    order = np.lexsort((stage_code, at, deal_idx))
    deal_idx, stage_code, at = deal_idx[order], stage_code[order], at[order]
    names = np.array(STAGES + ["won", "lost"])
    ids = np.array([f"D{i:07d}" for i in range(n)])
    history = pd.DataFrame(
        {
            "deal_id": pd.array(ids[deal_idx], dtype="string"),
            "stage": pd.array(names[stage_code], dtype="string"),
            "entered_at": at.astype("datetime64[ns]"),
            "moved_by": pd.array(manager[deal_idx], dtype="string"),
        }
    )
    # current stage: the last history entry
    last_code = pd.Series(stage_code).groupby(deal_idx).last().reindex(range(n)).fillna(0).astype(int).to_numpy()
    outcome = np.where(won, "won", np.where(lost, "lost", "open"))
    amount = np.round(rng.lognormal(np.log(250_000), 0.7, n), 2)
    deals = pd.DataFrame(
        {
            "deal_id": pd.array(ids, dtype="string"),
            "created_at": created.to_numpy().astype("datetime64[ns]"),
            "manager": pd.array(manager, dtype="string"),
            "amount": amount,
            "currency": pd.array(["RUB"] * n, dtype="string"),
            "product": pd.array(np.array(["A", "B", "C"])[rng.integers(0, 3, n)], dtype="string"),
            "channel": pd.array(np.array(["website", "calls", "ads", "referrals"])[rng.integers(0, 4, n)], dtype="string"),
            "lead_id": pd.array([None] * n, dtype="string"),
            "stage": pd.array(names[last_code], dtype="string"),
            "closed_at": pd.Series(np.where(closed, t_ns, np.iinfo(np.int64).min)).astype("datetime64[ns]").where(closed).to_numpy(),
            "outcome": pd.array(outcome, dtype="string"),
            "lost_reason": pd.array([None] * n, dtype="string"),
            "discount_pct": np.zeros(n),
            "payment_terms": pd.array(["prepaid"] * n, dtype="string"),
        }
    )
    return deals, history


def data_paths(n: int, seed: int) -> tuple[Path, Path]:
    return OUT / f"deals_{n}_{seed}.parquet", OUT / f"history_{n}_{seed}.parquet"


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak() -> None:
    try:  # Linux >= 4.0: writing 5 resets the peak RSS (VmHWM) to the current RSS
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def make_dataset(deals: pd.DataFrame, history: pd.DataFrame):
    from salesaudit.data.loader import Dataset, TableReport
    from salesaudit.data.params import load_run_config
    from salesaudit.data.presets import load_preset
    from salesaudit.resources import params_dir

    cfg = load_run_config(params_dir() / "clients" / "demo.yaml")
    reports = {t: TableReport(t, "not_in_preset") for t in ("managers", "deals", "leads", "stage_history", "activities", "payments", "plans")}
    return Dataset(cfg, load_preset("generic"), {"deals": deals, "stage_history": history}, pd.DataFrame(), {}, reports, pd.DataFrame(), AS_OF)


def run_salesaudit(deals: pd.DataFrame, history: pd.DataFrame) -> dict:
    import scipy.stats  # noqa: F401  (imported before the clock starts, as duckdb is)

    from salesaudit.analysis import funnel as fn
    from salesaudit.analysis import stalls as st

    ds = make_dataset(deals, history)
    times = {}
    c0 = time.process_time()
    t0 = time.perf_counter()
    reach = fn.deal_reach(ds)
    team = fn.step_conversion(ds, reach=reach)
    per = fn.step_conversion(ds, by="manager", reach=reach)
    fn.manager_flags(per, team)
    fn.cohort_table(ds)
    times["funnel"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    stays = st.stage_stays(ds)
    st.stage_summary(stays, ds.funnel)
    st.manager_stage_summary(stays, ds.funnel)
    st.action_list(stays, ds.funnel)
    comp = st.compliance(ds)
    times["stalls"] = time.perf_counter() - t1
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "parts": times,
        "check": {
            "steps": team[["entered", "pending", "advanced"]].to_numpy().tolist(),
            "stays": int(len(stays)),
            "open_stays": int((~stays["observed"]).sum()),
            "skips": int(len(comp["skips"])),
        },
    }


SQL = """
CREATE OR REPLACE TEMP TABLE ord AS SELECT * FROM (VALUES ('new',0),('qualified',1),('needs',2),('proposal',3),('invoice',4),('won',5),('lost',6)) t(stage, o);
CREATE OR REPLACE TEMP TABLE norms AS SELECT * FROM (VALUES ('new',1.0),('qualified',3.0),('needs',5.0),('proposal',7.0),('invoice',5.0)) t(stage, norm);
CREATE OR REPLACE TEMP TABLE reach AS
  SELECT d.deal_id, d.manager, d.outcome, d.created_at, d.amount, co.o AS cur, hm.hmask,
         CASE WHEN d.outcome = 'won' THEN 5 ELSE greatest(coalesce(hm.hmax, 0), coalesce(co.o, 0)) END AS reach
  FROM deals d
  LEFT JOIN (SELECT deal_id, max(o) AS hmax, bit_or(1 << o) AS hmask FROM history JOIN ord USING (stage) WHERE o < 5 GROUP BY deal_id) hm USING (deal_id)
  LEFT JOIN ord co ON co.stage = d.stage AND co.o < 5;
CREATE OR REPLACE TEMP TABLE steps AS
  SELECT r.manager, s.i AS step, count(*) AS entered,
         sum(CASE WHEN r.outcome = 'open' AND r.reach = s.i AND r.cur = s.i THEN 1 ELSE 0 END) AS pending,
         sum(CASE WHEN r.reach > s.i THEN 1 ELSE 0 END) AS advanced
  FROM reach r JOIN range(5) s(i) ON CASE WHEN r.hmask IS NULL THEN r.reach >= s.i ELSE (r.hmask >> s.i) & 1 = 1 OR r.cur = s.i END GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE cohorts AS
  SELECT date_trunc('month', created_at) AS cohort, count(*) AS deals,
         sum((outcome = 'won')::INT) AS won, sum((outcome = 'lost')::INT) AS lost FROM reach GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE stays AS
  SELECT h.deal_id, d.manager, h.stage, o.o, h.entered_at,
         lead(h.entered_at) OVER w AS left_at, lead(o.o) OVER w AS next_o, lag(o.o) OVER w AS prev_o, d.amount, d.outcome
  FROM history h JOIN ord o USING (stage) JOIN deals d USING (deal_id)
  WINDOW w AS (PARTITION BY h.deal_id ORDER BY h.entered_at, o.o);
CREATE OR REPLACE TEMP TABLE stay_days AS
  SELECT s.*, n.norm, left_at IS NOT NULL AS observed,
         epoch(coalesce(left_at, TIMESTAMP '{as_of}') - entered_at) / 86400.0 AS days
  FROM stays s JOIN norms n USING (stage) WHERE s.o < 5;
CREATE OR REPLACE TEMP TABLE stage_stats AS
  SELECT stage, count(*) AS stays, sum((NOT observed)::INT) AS open,
         quantile_cont(days, 0.5) AS median, quantile_cont(days, 0.8) AS p80, quantile_cont(days, 0.9) AS p90,
         avg((days > norm)::INT) AS share_over_norm FROM stay_days GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE manager_stats AS
  SELECT stage, manager, count(*) AS stays, sum((NOT observed)::INT) AS open,
         quantile_cont(days, 0.5) AS median, quantile_cont(days, 0.8) AS p80, avg((days > norm)::INT) AS share_over_norm
  FROM stay_days GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE actions AS
  SELECT deal_id, manager, stage, days, days - norm AS days_over, amount FROM stay_days
  WHERE NOT observed AND outcome = 'open' AND days > norm ORDER BY amount DESC, days_over DESC;
CREATE OR REPLACE TEMP TABLE skips AS
  SELECT deal_id FROM stays GROUP BY deal_id HAVING max(o) FILTER (WHERE o < 6) > 2 AND count(*) FILTER (WHERE o = 2) = 0;
CREATE OR REPLACE TEMP TABLE backward AS SELECT deal_id FROM stays WHERE o < 5 AND prev_o < 5 AND o < prev_o;
"""


def run_duckdb(deals: pd.DataFrame, history: pd.DataFrame) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count() or 1}")
    con.register("deals_df", deals)
    con.register("history_df", history)
    # materialise the inputs first, so that the timing compares computation only
    con.execute("CREATE TEMP TABLE deals AS SELECT * FROM deals_df; CREATE TEMP TABLE history AS SELECT * FROM history_df;")
    c0 = time.process_time()
    t0 = time.perf_counter()
    con.execute(SQL.format(as_of=AS_OF.strftime("%Y-%m-%d %H:%M:%S")))
    steps = con.execute("SELECT step, sum(entered), sum(pending), sum(advanced) FROM steps GROUP BY step ORDER BY step").fetchall()
    stays = con.execute("SELECT count(*), sum((NOT observed)::INT) FROM stay_days").fetchone()
    skips = con.execute("SELECT count(*) FROM skips").fetchone()[0]
    seconds = time.perf_counter() - t0
    check = {"steps": [[int(a), int(b), int(c)] for _, a, b, c in steps], "stays": int(stays[0]), "open_stays": int(stays[1]), "skips": int(skips)}
    return {"seconds": seconds, "cpu_seconds": time.process_time() - c0, "parts": {}, "check": check}


def measure(engine: str, deals: pd.DataFrame, history: pd.DataFrame) -> dict:
    """One engine's run on the tables as read from Parquet (text columns as pandas strings, as the loader gives them),
    with its peak RSS and the RSS it added (also used by ``bench_scale.py``)."""
    for col in ("deal_id", "manager", "stage", "currency", "product", "channel", "lead_id", "outcome", "lost_reason", "payment_terms", "moved_by"):
        for df in (deals, history):
            if col in df:
                df[col] = df[col].astype("string")
    base = rss_mb("VmRSS")
    reset_peak()
    result = run_salesaudit(deals, history) if engine == "salesaudit" else run_duckdb(deals, history)
    result.update({"engine": engine, "rss_base_mb": base, "rss_peak_mb": rss_mb("VmHWM"), "deals": len(deals), "history_rows": len(history)})
    return result


def child(engine: str, n: int, seed: int) -> None:
    dp, hp = data_paths(n, seed)
    print(json.dumps(measure(engine, pd.read_parquet(dp), pd.read_parquet(hp))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deals", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine (fresh processes, alternating); the fastest is kept")
    ap.add_argument("--engine", choices=["salesaudit", "duckdb"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.engine:
        child(args.engine, args.deals, args.seed)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    dp, hp = data_paths(args.deals, args.seed)
    if not (dp.exists() and hp.exists()):
        t = time.perf_counter()
        deals, history = generate(args.deals, args.seed)
        deals.to_parquet(dp)
        history.to_parquet(hp)
        print(f"generated {len(deals):,} deals and {len(history):,} history rows in {time.perf_counter() - t:.1f} s -> {OUT}")
    results = {}
    for _ in range(max(1, args.repeat)):
        for engine in ("salesaudit", "duckdb"):
            proc = subprocess.run([sys.executable, __file__, "--engine", engine, "--deals", str(args.deals), "--seed", str(args.seed)], capture_output=True, text=True)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            run = json.loads(proc.stdout.strip().splitlines()[-1])
            if engine not in results or run["seconds"] < results[engine]["seconds"]:
                results[engine] = run
    a, b = results["salesaudit"], results["duckdb"]
    best = f", fastest of {args.repeat} runs each" if args.repeat > 1 else ""
    print(f"\n{a['deals']:,} deals, {a['history_rows']:,} stage-history rows, {os.cpu_count()} cores{best}")
    print(f"{'':28}{'salesaudit':>14}{'duckdb SQL':>14}")
    print(f"{'computation, s':28}{a['seconds']:>14.2f}{b['seconds']:>14.2f}")
    for part, secs in a["parts"].items():
        print(f"{'  of which ' + part + ', s':28}{secs:>14.2f}{'':>14}")
    print(f"{'CPU over it, s':28}{a['cpu_seconds']:>14.2f}{b['cpu_seconds']:>14.2f}")
    print(f"{'peak RSS, MB':28}{a['rss_peak_mb']:>14.0f}{b['rss_peak_mb']:>14.0f}")
    print(f"{'RSS added by the work, MB':28}{a['rss_peak_mb'] - a['rss_base_mb']:>14.0f}{b['rss_peak_mb'] - b['rss_base_mb']:>14.0f}")
    print(f"ratio salesaudit / duckdb: {a['seconds'] / b['seconds']:.2f}x")
    same = a["check"]["steps"] == b["check"]["steps"]
    print(f"step counts agree: {same}; stays {a['check']['stays']:,} vs {b['check']['stays']:,}; "
          f"open stays {a['check']['open_stays']:,} vs {b['check']['open_stays']:,}; skips {a['check']['skips']:,} vs {b['check']['skips']:,}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
