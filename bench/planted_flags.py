"""Precision and recall of the audit's flags on the planted anomalies of the demo department.

    .venv/bin/python bench/planted_flags.py [--engine after=lib] [--engine before=/tmp/before/lib] [--config params/clients/demo.yaml]

Each engine (a ``lib`` folder with its ``salesaudit`` package; its notebooks are the ``notebooks``
folder beside it) runs notebooks 01–04 and 07 through its own runner, in a process of its own, on
the SAME data (the demo run config's). The key results the notebooks record are compared with
``ANOMALIES.json`` of the data folder: per kind of flag, the planted targets (the manager, the
manager × step or stage, the stage the generator planted that effect on) and what the engine
flagged. A flag on a planted target is a true positive, any other flag of that kind a false
positive; precision = TP / flags, recall = TP / planted targets (no planted target: recall "—", and
every flag is a false positive; an engine without that check: "n/a", its planted targets still count
as missed in the totals). The records list the flags a reader is told about in the key results
("worse"/"below"/"slower"); a "better" verdict shown only in a table is not counted.

An engine whose funnel allows one lost terminal only (before #13) gets a copy of the run config
whose ``stage_map`` maps every other lost terminal to the first one and whose funnel keeps the first
lost terminal only (``--one-lost NAME``, repeatable: the engines that need it).

This is a measurement, not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NOTEBOOKS = ["01_funnel", "02_stage_stalls", "03_leads", "04_plan_fact", "07_rop_scorecard"]

CHILD = r"""
import json, sys
from salesaudit.runs.runner import run
config, out, dump = sys.argv[1:4]
r = run(config, out_dir=out, language="en", notebooks=%r, progress=False)
json.dump({"ok": r.ok, "errors": {n.stem: n.error for n in r.notebooks if n.error},
           "records": {n.stem: n.records for n in r.notebooks}}, open(dump, "w", encoding="utf-8"), ensure_ascii=False, default=str)
""" % (NOTEBOOKS,)


def one_lost_config(config: Path, tmp: Path) -> Path:
    """A copy of ``config`` for an engine with one lost terminal: the others mapped onto the first."""
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    base = config.parent
    funnel_path = (base / cfg["funnel"]).resolve()
    funnel = yaml.safe_load(funnel_path.read_text(encoding="utf-8"))
    lost = [s["key"] for s in funnel["stages"] if s.get("terminal") == "lost"]
    funnel["stages"] = [s for s in funnel["stages"] if s["key"] not in lost[1:]]
    (tmp / "funnel.yaml").write_text(yaml.safe_dump(funnel, allow_unicode=True), encoding="utf-8")
    cfg["funnel"] = str(tmp / "funnel.yaml")
    cfg["data"] = str((base / cfg["data"]).resolve())
    cfg["stage_map"] = {**(cfg.get("stage_map") or {}), **{k: lost[0] for k in lost[1:]}}
    path = tmp / config.name
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def run_engine(lib: Path, config: Path, tmp: Path, name: str) -> dict:
    dump = tmp / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(lib)}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(config), str(tmp / f"out_{name}"), str(dump)], env=env, cwd=str(lib.parent),
                          capture_output=True, text=True)
    if proc.returncode or not dump.exists():
        raise SystemExit(f"engine {name} failed:\n{proc.stderr[-3000:]}")
    got = json.loads(dump.read_text(encoding="utf-8"))
    if not got["ok"]:
        print(f"engine {name}: notebooks with errors: {sorted(got['errors'])}", file=sys.stderr)
    return got["records"]


def _items(rec: dict, *keys) -> set[str] | None:
    """The flagged items under ``keys`` of a notebook's record; None when the engine records none of them."""
    if not any(k in rec for k in keys):
        return None
    out: set[str] = set()
    for k in keys:
        v = rec.get(k)
        if isinstance(v, dict):
            v = list(v)
        for x in v or []:
            out.add(str(x))
    return out


def flags(records: dict) -> dict[str, set[str]]:
    """What an engine flagged, per kind, as comparable strings (manager, manager:step, manager:stage, stage)."""
    f, s, ld, pf, sc = (records.get(n, {}) or {} for n in NOTEBOOKS)
    return {
        "funnel step (manager:step)": _items(f, "flagged_below", "flagged_above"),
        "lead to deal": _items(f, "lead_flagged_below", "lead_flagged_above"),
        "stage time (manager:stage)": _items(s, "slow_managers"),
        "stalled stage": _items(s, "stalled_stages"),
        "skips": _items(s, "skipping_managers"),
        "backward moves": _items(s, "backward_managers"),
        "SLA share": _items(ld, "leads_flagged_response"),
        "response time": _items(ld, "leads_flagged_response_time"),
        "left overnight": _items(ld, "leads_flagged_overnight"),
        "disqualification": _items(ld, "leads_flagged_disqualification_high", "leads_flagged_disqualification_low"),
        "deal load": _items(pf, "hygiene_over_deal_limit"),
        "discount policy": _items(pf, "hygiene_policy_breakers"),
        "lagging (07)": _items(sc, "scorecard_lagging"),
    }


def planted(anomalies: dict) -> dict[str, set[str]]:
    """The planted targets per kind of flag, from the generator's manifest."""
    a = anomalies
    slow, skip, over, weak, pol = (a[k]["manager"] for k in ("slow_responder", "stage_skipper", "overloaded_manager", "weak_closer", "discount_violator"))
    minutes = a.get("minutes_stage", {}).get("stage")
    stages = list(a["stalling_stage"]["median_days_by_stage"])
    return {
        "funnel step (manager:step)": {f"{weak}:{a['weak_closer']['from_stage']}>{a['weak_closer']['to_stage']}"},
        "lead to deal": {slow},
        # the overloaded seller is slower everywhere but at the minutes-long stage (under the practical difference)
        "stage time (manager:stage)": {f"{over}:{st}" for st in stages if st != minutes},
        "stalled stage": {a["stalling_stage"]["stage"]},
        "skips": {skip},
        "backward moves": set(),
        "SLA share": {slow},
        "response time": {slow},
        "left overnight": {slow},
        "disqualification": {slow},  # the slow responder's leads go cold: the complement of his lower lead-to-deal rate
        "deal load": {over},
        "discount policy": {pol},
        "lagging (07)": {slow, skip, over, weak},
    }


def score(flagged: set[str] | None, truth: set[str]) -> tuple[int, int, str, str]:
    if flagged is None:  # the engine has no such check
        return 0, 0, "n/a", "n/a"
    tp, fp = len(flagged & truth), len(flagged - truth)
    precision = f"{tp / (tp + fp):.2f}" if tp + fp else "—"
    recall = f"{tp / len(truth):.2f}" if truth else "—"
    return tp, fp, precision, recall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "params" / "clients" / "demo.yaml"))
    ap.add_argument("--engine", action="append", default=None, help="NAME=PATH of a lib folder (default: after=this repository's lib)")
    ap.add_argument("--one-lost", action="append", default=[], help="engines that allow one lost terminal only")
    args = ap.parse_args(argv)
    engines = dict(e.split("=", 1) for e in (args.engine or [f"after={REPO / 'lib'}"]))
    config = Path(args.config).resolve()
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    anomalies = json.loads(((config.parent / cfg["data"]).resolve() / "ANOMALIES.json").read_text(encoding="utf-8"))
    truth = planted(anomalies)
    results = {}
    with tempfile.TemporaryDirectory(prefix="planted_flags_") as t:
        tmp = Path(t)
        for name, lib in engines.items():
            c = one_lost_config(config, tmp) if name in args.one_lost else config
            results[name] = flags(run_engine(Path(lib).resolve(), c, tmp, name))
    print(f"Planted anomalies of {config.relative_to(REPO) if config.is_relative_to(REPO) else config} (seed {anomalies['seed']}); "
          f"engines: {', '.join(f'{k} = {v}' for k, v in engines.items())}")
    print("TP: flags on a planted target; FP: any other flag of that kind; precision = TP / flags; recall = TP / planted targets.\n")
    head = f"{'kind of flag':<28} {'planted':<46}" + "".join(f" | {n + ' flagged':<46} {'TP':>3} {'FP':>3} {'prec':>5} {'rec':>5}" for n in engines)
    print(head)
    print("-" * len(head))
    tot = {n: [0, 0, 0] for n in engines}
    for kind, want in truth.items():
        line = f"{kind:<28} {', '.join(sorted(want)) or '(nothing)':<46}"
        for n in engines:
            got = results[n][kind]
            tp, fp, p, r = score(got, want)
            tot[n][0] += tp
            tot[n][1] += fp
            tot[n][2] += len(want)
            shown = "(no such check)" if got is None else ", ".join(sorted(got)) or "(nothing)"
            line += f" | {shown:<46} {tp:>3} {fp:>3} {p:>5} {r:>5}"
        print(line)
    print("-" * len(head))
    line = f"{'all kinds':<28} {'':<46}"
    for n in engines:
        tp, fp, total = tot[n]
        line += f" | {'':<46} {tp:>3} {fp:>3} {tp / max(tp + fp, 1):>5.2f} {tp / max(total, 1):>5.2f}"
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
