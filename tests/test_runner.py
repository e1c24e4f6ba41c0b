"""salesaudit run: real papermill execution of tiny fixture notebooks (kernel python3), the index, the CLI.

Preflight (loading the dataset) is off everywhere: the fixture config's data is never read.
"""
from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

import pytest

from salesaudit.cli import main
from salesaudit.errors import SalesauditError
from salesaudit.i18n import LABELS, LANGUAGES, t
from salesaudit.runner import find_notebooks, run

FIX = Path(__file__).parent / "fixtures" / "runner"
CONFIG = FIX / "config.yaml"
MIME_VALUE = "Ann"  # a recorded DataFrame value: present in the JSON, not in the HTML
MESSAGE = "bad thing happened in the fixture. How to fix: nothing, it is a test."


def _json(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _run_cli(*args) -> int:
    return main(["run", *args, "--notebooks-dir", str(FIX), "--no-progress", "--no-preflight"])


# ---------------------------------------------------------------------------
# one run of both fixture notebooks through the API, in a scratch working directory


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        result = run(CONFIG, notebooks_dir=FIX, progress=False, preflight=False)
    return cwd, result


def test_default_out_dir_is_reports_stem_period(both):
    cwd, result = both
    assert result.out_dir == (cwd / "reports" / "config" / "2026-09").resolve()
    assert result.index == result.out_dir / "index.html"
    for name in ("00_answer", "01_broken"):
        for ext in ("ipynb", "html", "json"):
            assert (result.out_dir / f"{name}.{ext}").is_file(), f"{name}.{ext}"
    assert result.index.is_file()


def test_happy_notebook_json_and_parameters_from_yaml(both):
    _, result = both
    ok = result.notebooks[0]
    assert (ok.stem, ok.status, ok.error, ok.title) == ("00_answer", "ok", None, "Ответ")
    assert ok.seconds > 0
    data = _json(ok.json)
    assert data == {
        "answer": 42,
        "language": "ru",
        "period": "2026-09",
        "grain": "month",
        "config_name": "config.yaml",
        "by_manager": [{"manager": "Ann", "won": 3.0}, {"manager": "Bob", "won": None}],
        "_notebook": "00_answer",
        "_title": "Ответ",
        "_status": "ok",
        "_error": None,
    }
    assert ok.records == {k: v for k, v in data.items() if not k.startswith("_")}


def test_html_report_has_no_code_prompts_parameters_or_warnings(both):
    _, result = both
    page = result.notebooks[0].html.read_text(encoding="utf-8")
    body = page[page.index("<body"):]  # the inline CSS mentions prompts
    assert "visible output" in body and "The answer" in body  # outputs and markdown stay
    for hidden in ("record(", "import warnings", "config_path", "In&nbsp;[", "Out[", "jp-InputPrompt",
                   "a warning that must not reach", "hidden cell output", MIME_VALUE):
        assert hidden not in body, hidden
    assert '<html lang="ru">' in page
    assert "<title>Ответ</title>" in page


def test_failing_notebook_does_not_stop_the_others(both):
    _, result = both
    assert [nb.status for nb in result.notebooks] == ["ok", "failed"]
    assert result.ok is False
    bad = result.notebooks[1]
    assert bad.ename == "SalesauditError"
    assert bad.evalue == MESSAGE and bad.error == MESSAGE
    data = _json(bad.json)
    assert data["_status"] == "failed"
    assert data["_error"] == {"ename": "SalesauditError", "evalue": MESSAGE}
    assert data["before_error"] == 1 and "after_error" not in data  # partial execution is kept
    assert bad.ipynb.is_file() and bad.html.is_file()
    page = bad.html.read_text(encoding="utf-8")
    assert MESSAGE in page and "Traceback" not in page and "raise SalesauditError" not in page


def test_index_lists_notebooks_statuses_and_key_results(both):
    _, result = both
    page = result.index.read_text(encoding="utf-8")
    assert "<title>" in page and "Test Client" in page
    assert "2026-09" in page and "2026-09-30" in page  # period and as_of
    assert t("index.status.ok", "ru") in page and t("index.status.failed", "ru") in page
    assert t("index.key_results", "ru") in page
    assert '<td>answer</td><td class="num">42</td>' in page
    assert 'href="00_answer.html"' in page and 'href="01_broken.html"' in page
    assert "Ответ" in page and "Сломанный" in page
    assert MESSAGE in page
    assert "by_manager" not in page  # not a scalar
    # self-contained: no external assets
    assert "<link" not in page and "<script" not in page and "http" not in page


# ---------------------------------------------------------------------------
# the command line (runs in-process; tmp folders for output)


def test_cli_all_ok_with_overrides(tmp_path, capsys):
    out = tmp_path / "out"
    rc = _run_cli("--config", str(CONFIG), "--notebooks", "00_answer", "--out", str(out),
                  "--language", "en", "--period", "2026-10")
    captured = capsys.readouterr()
    assert rc == 0
    assert f"Report: {(out / 'index.html').resolve()}" in captured.out
    assert "00_answer" in captured.out and " ok " in captured.out
    data = _json(out / "00_answer.json")
    assert (data["period"], data["language"], data["_status"]) == ("2026-10", "en", "ok")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert t("index.title", "en", client="Test Client") in page
    assert "Key results" in page and "Period" in page and "The answer" in page
    assert t("index.key_results", "ru") not in page
    assert not (out / "01_broken.json").exists()  # --notebooks restricts the run


def test_cli_failed_notebook_returns_1(tmp_path, capsys):
    rc = _run_cli("--config", str(CONFIG), "--notebooks", "01_broken.ipynb", "--out", str(tmp_path))
    captured = capsys.readouterr()
    assert rc == 1
    assert "01_broken" in captured.out and "FAILED" in captured.out and MESSAGE in captured.out
    assert "Report: " in captured.out


@pytest.mark.parametrize("config", [FIX / "bad_language.yaml", FIX / "no_such_config.yaml"])
def test_cli_config_problem_returns_2_without_traceback(config, tmp_path, capsys):
    rc = _run_cli("--config", str(config), "--out", str(tmp_path))
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.err.startswith("salesaudit: error: ")
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert config.name in captured.err
    if config.name == "bad_language.yaml":
        assert "language" in captured.err and "de" in captured.err
    assert not (tmp_path / "index.html").exists()


def test_cli_unknown_notebook_returns_2(tmp_path, capsys):
    rc = _run_cli("--config", str(CONFIG), "--notebooks", "07_nope", "--out", str(tmp_path))
    err = capsys.readouterr().err
    assert rc == 2 and "07_nope" in err and "00_answer" in err and "01_broken" in err


def test_cli_argparse_errors_keep_argparse_behaviour(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--config", str(CONFIG), "--language", "de"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["run", "--config", str(CONFIG), "--period", "October"])
    assert "invalid choice" in capsys.readouterr().err


def test_cli_as_a_process_prints_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "salesaudit.cli", "run", "--config", str(tmp_path / "missing.yaml"), "--no-progress"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("salesaudit: error: missing.yaml")


# ---------------------------------------------------------------------------
# choosing notebooks (no kernels)


def test_find_notebooks_names_numbers_and_suffix():
    all_ = [p.name for p in find_notebooks(FIX)]
    assert all_ == ["00_answer.ipynb", "01_broken.ipynb"]
    assert [p.name for p in find_notebooks(FIX, ["01_broken", "00_answer.ipynb"])] == all_  # sorted by name
    assert [p.name for p in find_notebooks(FIX, ["01"])] == ["01_broken.ipynb"]


def test_find_notebooks_unknown_name_lists_available():
    with pytest.raises(SalesauditError, match=r"00_answr.*Did you mean '00_answer'.*00_answer, 01_broken"):
        find_notebooks(FIX, ["00_answr"])


def test_find_notebooks_empty_or_missing_folder(tmp_path):
    with pytest.raises(SalesauditError, match="no audit notebooks"):
        find_notebooks(tmp_path)
    with pytest.raises(SalesauditError, match="does not exist"):
        find_notebooks(tmp_path / "nope")


def test_config_notebooks_key_selects_notebooks(tmp_path):
    cfg = tmp_path / "only_missing.yaml"
    cfg.write_text(CONFIG.read_text(encoding="utf-8") + "notebooks: [09_missing]\n", encoding="utf-8")
    with pytest.raises(SalesauditError, match="09_missing"):
        run(cfg, out_dir=tmp_path / "out", notebooks_dir=FIX, progress=False, preflight=False)


# ---------------------------------------------------------------------------
# i18n


def test_every_label_has_ru_and_en_with_the_same_placeholders():
    fields = lambda text: sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)  # noqa: E731
    for key, entry in LABELS.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(isinstance(entry[lang], str) and entry[lang].strip() for lang in LANGUAGES), key
        assert fields(entry["ru"]) == fields(entry["en"]), key


def test_t_formats_and_rejects_unknown_keys_and_languages():
    assert t("index.title", "en", client="Acme") == "Sales audit: Acme"
    assert t("index.seconds", "ru", seconds=2.345) == "2.3 с"
    with pytest.raises(KeyError, match="index.nope"):
        t("index.nope", "en")
    with pytest.raises(SalesauditError, match="ru, en"):
        t("index.title", "de", client="x")


def test_index_shows_short_lists_and_skips_long_ones():
    from salesaudit.runner import _index_rows

    rows = dict((label, value) for label, value, _ in _index_rows({"some_stages": ["proposal"], "empty": [], "many": list(range(20)), "_x": [1]}, "en"))
    assert rows["some_stages"] == "proposal" and rows["empty"] == "—"
    assert "many" not in rows and "_x" not in rows
