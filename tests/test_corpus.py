"""Every export of the malformed corpus (``tests/corpus.py``) gets its verdict from the real command line.

Each case runs ``python -m salesaudit.runs.cli check --config … --language en`` in a subprocess and
checks the exit code, that no traceback leaks, and the one-paragraph error of a refused load or a
wrong config; an accepted load is then loaded in-process to check the exact warning codes, the exact
quarantine counts and that every table reconciles (input = accepted + quarantined).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CASES, N_DEALS, Case, Export, base_tables, build_case  # noqa: E402

from salesaudit.data.loader import load_dataset  # noqa: E402
from salesaudit.data.params import load_run_config  # noqa: E402
from salesaudit.errors import ParameterError, SalesauditError  # noqa: E402
from salesaudit.report.verdict import problem_text  # noqa: E402


def run_check(config: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "salesaudit.runs.cli", "check", "--config", str(config), "--language", "en", *extra]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", cwd=config.parent, env=env, timeout=300)


def _show(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"


def quarantine_counts(ds) -> dict:
    q = ds.quarantine
    return {(t, r): int(n) for (t, r), n in q.groupby(["table", "reason"]).size().items()} if len(q) else {}


def assert_reconciled(ds) -> None:
    rec = ds.reconciliation()
    assert rec["balanced"].all(), rec.to_string()
    for name, rep in ds.reports.items():
        if rep.status == "loaded":
            assert len(ds.tables[name]) == rep.accepted, name
            assert int((ds.quarantine["table"] == name).sum()) == rep.quarantined, name


@pytest.mark.parametrize("shape", ["generic", "bitrix24", "amocrm"])
def test_base_export_is_clean(shape, tmp_path, monkeypatch):
    """The trimmed copy every case starts from loads with no quarantine and no problem at all."""
    ex = Export(shape, tmp_path)
    config = ex.finish()
    monkeypatch.chdir(tmp_path)
    ds = load_dataset(load_run_config(config), refuse=False)
    assert quarantine_counts(ds) == {}
    assert [p.code for p in ds.problems] == []
    assert len(ds.tables["deals"]) == N_DEALS
    assert_reconciled(ds)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Case, tmp_path, monkeypatch):
    config, expect = build_case(case, tmp_path)
    proc = run_check(config)
    assert "Traceback" not in proc.stderr, _show(proc)
    assert proc.returncode == expect.exit_code, _show(proc)

    if expect.verdict in ("refused", "config_error"):
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, "the error must be one paragraph on one line\n" + _show(proc)
        message = lines[0]
        assert message.startswith("salesaudit: error: "), _show(proc)
        for part in expect.message:
            assert part in message, f"{part!r} is not in the message\n{message}"
        for part in expect.forbidden:
            assert part not in message, f"{part!r} is in the message\n{message}"
        assert "Timezone of every timestamp" not in proc.stdout, _show(proc)
    else:
        assert proc.stderr.strip() == "", _show(proc)
        out = proc.stdout.splitlines()
        assert out and out[0].startswith("Timezone of every timestamp: "), _show(proc)
        if expect.warnings:
            assert out[1].startswith("Warning ("), _show(proc)
        else:
            assert out[1] == "The load raised no problems.", _show(proc)
        for part in expect.stdout:
            assert part in proc.stdout, f"{part!r} is not in the output\n{_show(proc)}"
        strict = run_check(config, "--strict")
        assert "Traceback" not in strict.stderr, _show(strict)
        assert strict.returncode == expect.strict_exit_code, _show(strict)

    # in-process: the same verdict, in detail
    monkeypatch.chdir(tmp_path)
    if expect.verdict == "config_error":
        with pytest.raises(ParameterError):
            load_run_config(config)
        return
    cfg = load_run_config(config)
    if expect.verdict == "refused" and not expect.fatal:
        with pytest.raises(SalesauditError):  # a whole-file error: raised whatever `refuse` says
            load_dataset(cfg, refuse=False)
        return
    ds = load_dataset(cfg, refuse=False)
    assert_reconciled(ds)
    fatal = sorted(p.code for p in ds.problems if p.fatal)
    assert fatal == sorted(expect.fatal), [problem_text(p, "en") for p in ds.problems]
    if expect.verdict == "refused":
        return
    assert {p.code for p in ds.warnings} == set(expect.warnings), [problem_text(p, "en") for p in ds.warnings]
    if expect.quarantine is not None:
        assert quarantine_counts(ds) == expect.quarantine
    if expect.check is not None:
        expect.check(ds, tmp_path)


def test_corpus_is_large_enough():
    assert len(CASES) >= 28
    assert {c.shape for c in CASES} == {"generic", "bitrix24", "amocrm"}
    assert len(base_tables("generic")["deals"].rows) == N_DEALS
