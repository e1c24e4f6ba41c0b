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

from salesaudit.errors import SalesauditError
from salesaudit.report.i18n import LABELS, LANGUAGES, t
from salesaudit.runs.cli import main
from salesaudit.runs.runner import find_notebooks, run

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
    assert bad.evalue == MESSAGE and bad.message == MESSAGE
    # one paragraph: the notebook, the failing cell (no heading above it in this fixture), the message as is
    assert (bad.cell, bad.cell_heading) == (3, None)
    assert bad.error == f"Notebook 01_broken failed in cell 3: {MESSAGE}"
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
    assert "2026-09" in page and "30.09.2026" in page  # period and as_of (report.format.date in ru)
    assert t("index.status.ok", "ru") in page and t("index.status.failed", "ru") in page
    # the fixtures record keys without a label in the catalogue: a client's page never shows a raw key
    assert ">answer<" not in page and "config_name" not in page and t("index.no_key_results", "ru") in page
    assert 'href="00_answer.html"' in page and 'href="01_broken.html"' in page
    assert "Ответ" in page and "Сломанный" in page
    assert f"Раздел 01_broken завершился с ошибкой в ячейке 3: {MESSAGE}" in page  # in the report language
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
    assert "Period" in page and "The answer" in page and "Sections of the audit" in page
    assert t("index.key_results", "ru") not in page
    assert not (out / "01_broken.json").exists()  # --notebooks restricts the run


def test_cli_failed_notebook_returns_1(tmp_path, capsys):
    rc = _run_cli("--config", str(CONFIG), "--notebooks", "01_broken.ipynb", "--out", str(tmp_path))
    captured = capsys.readouterr()
    assert rc == 1
    assert "01_broken" in captured.out and "FAILED" in captured.out
    assert f"Notebook 01_broken failed in cell 3: {MESSAGE}" in captured.out
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
        [sys.executable, "-m", "salesaudit.runs.cli", "run", "--config", str(tmp_path / "missing.yaml"), "--no-progress"],
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
    assert [p.name for p in find_notebooks(FIX, ["01_broken,00_answer"])] == all_  # --notebooks a,b
    assert [p.name for p in find_notebooks(FIX, ["00_answer,", " 01"])] == all_


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
        texts = {lang: [entry[lang]] if isinstance(entry[lang], str) else list(entry[lang].values()) for lang in LANGUAGES}  # plural forms
        assert all(x.strip() for lang in LANGUAGES for x in texts[lang]), key
        assert all(fields(x) == fields(texts["ru"][0]) for lang in LANGUAGES for x in texts[lang]), key


def test_t_formats_and_rejects_unknown_keys_and_languages():
    assert t("index.title", "en", client="Acme") == "Sales audit: Acme"
    assert t("unit.s", "ru", n="2,3") == "2,3 с"
    from salesaudit.report import format as fmt  # the catalogue holds words only: numbers arrive formatted

    assert t("capacity.inflow_text", "ru", per_day=fmt.number(2.345, "ru", 1), per_off=fmt.number(0.5, "ru", 1), disp=fmt.number(1.234, "ru", 2),
             p_disp="0,01", cv=fmt.percent(0.25, "ru", 0)).startswith("Поток лидов: 2,3 в рабочий день, 0,5 в выходной")
    with pytest.raises(KeyError, match="index.nope"):
        t("index.nope", "en")
    with pytest.raises(SalesauditError, match="ru, en"):
        t("index.title", "de", client="x")


def test_index_key_figures_are_labelled_numbers_and_named_codes_only():
    from salesaudit.report.summary import key_rows

    rows = dict((label, value) for label, value, _ in key_rows(
        {"stalled_stages": ["proposal"], "leads_total": 5691, "leads_share_within_sla": 0.8381, "all_balanced": True,
         "stay_owner": "moved_by", "planfact_period": "2026-10", "note": "as is", "_x": 1, "answer": 42}, "en"))
    assert dict((label, v) for label, v, _ in key_rows({"planfact_team_revenue_attainment_pct": 112.0, "leads_median_response_sec": 784.0,
                                                        "working_day_s": 32400.0}, "en")) == {"Revenue plan attainment": "112.0%", "Working day": "9.0 h"}
    # a list of codes, an unnamed string and a key without a label stay in the JSON
    assert rows == {"Leads": "5,691", "Share of leads answered within the SLA": "83.8%", "Rows balance": "yes",
                    "Time in a stage charged to": "whoever moved the deal in"}
    coded = dict((label, value) for label, value, _ in key_rows({"stay_owner": "moved_by"}, "ru"))
    assert coded == {"Кому отнесено время на стадии": "тому, кто перевёл сделку"}


# ---------------------------------------------------------------------------
# a failing notebook: one paragraph naming the notebook, the cell and its heading


def _notebook(cells) -> "nbformat.NotebookNode":  # noqa: F821 (imported inside)
    import nbformat

    made = []
    for kind, source, *tags in cells:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        made.append(cell)
    return nbformat.v4.new_notebook(cells=made, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })


PARAMS_CELL = ("code", 'config_path = None\nperiod = None\ngrain = "month"\nlanguage = "ru"', "parameters")


@pytest.fixture(scope="module")
def headed(tmp_path_factory):
    """One real run of two failing notebooks whose failing cells sit under headings."""
    import nbformat

    folder = tmp_path_factory.mktemp("headed")
    nbformat.write(_notebook([
        ("md", "# Title cell, not in the report", "remove_cell"), PARAMS_CELL,
        ("md", "## Section A"), ("code", "x = 1"),
        ("md", "## Section B\n\nSome text."), ("code", "y = 2"),
        ("code", "raise ValueError('boom at B')"),
    ]), str(folder / "00_markdown.ipynb"))
    nbformat.write(_notebook([
        PARAMS_CELL,
        ("code", "from IPython.display import Markdown, display\ndisplay(Markdown('## Section A'))"),
        ("code", "display(Markdown('### Rendered section'))\n1 / 0"),
    ]), str(folder / "01_rendered.ipynb"))
    out = folder / "out"
    result = run(CONFIG, out_dir=out, notebooks_dir=folder, progress=False, preflight=False, language="en")
    return result


def test_failing_cell_under_a_markdown_heading(headed):
    bad = headed.notebooks[0]
    assert (bad.stem, bad.status, bad.cell, bad.cell_heading) == ("00_markdown", "failed", 7, "Section B")
    assert bad.error == 'Notebook 00_markdown failed in cell 7 ("Section B"): ValueError: boom at B'


def test_failing_cell_heading_rendered_by_the_cell_itself(headed):
    bad = headed.notebooks[1]
    assert (bad.cell, bad.cell_heading) == (3, "Rendered section")
    assert bad.error == 'Notebook 01_rendered failed in cell 3 ("Rendered section"): ZeroDivisionError: division by zero'
    page = headed.index.read_text(encoding="utf-8")
    assert "Notebook 01_rendered failed in cell 3 (&quot;Rendered section&quot;)" in page


def test_failing_cell_heading_from_a_show_heading_call_and_a_comment():
    from salesaudit.runs.runner import failing_cell

    def failed(source):
        return {"cell_type": "code", "source": source, "metadata": {},
                "outputs": [{"output_type": "error", "ename": "E", "evalue": "v", "traceback": []}]}

    nb = _notebook([PARAMS_CELL, ("md", "## Earlier section")])
    nb.cells.insert(1, {"cell_type": "code", "source": "config_path = 'x'", "metadata": {"tags": ["injected-parameters"]}, "outputs": []})
    nb.cells.append(failed('team = f()\nshow.heading("index.key_results", lang)'))
    assert failing_cell(nb, "ru") == (3, "Ключевые показатели")  # the heading the cell would render; papermill's cell not counted
    nb.cells[-1] = failed("# compute the team summary\nteam = f()")
    assert failing_cell(nb, "en") == (3, "compute the team summary")
    nb.cells[-1] = failed("team = f()")
    assert failing_cell(nb, "en") == (3, "Earlier section")
    assert failing_cell(_notebook([PARAMS_CELL, ("code", "x = 1")])) == (None, None)


# ---------------------------------------------------------------------------
# no kernel noise: shutting a kernel down does not interrupt it


@pytest.mark.parametrize("quiet", [True, False])
def test_kernel_shutdown_sends_no_interrupt(quiet, tmp_path):
    """ipykernel logs ``ERROR | KeyboardInterrupt caught in kernel`` when jupyter_client's pre-shutdown
    SIGINT lands inside a request handler. The kernel here records any SIGINT in a file; the stock
    manager (quiet=False) shows that the test sees the interrupt."""
    import asyncio

    from jupyter_client import AsyncKernelManager

    from salesaudit.runs.runner import QuietShutdownKernelManager

    marker = tmp_path / "sigint"
    code = (
        "import signal, pathlib\n"
        f"def _mark(*_):\n    pathlib.Path({str(marker)!r}).write_text('interrupted')\n"
        "get_ipython().kernel.saved_sigint_handler = _mark  # restored as the idle handler after this cell\n"
    )

    async def main():
        km = (QuietShutdownKernelManager if quiet else AsyncKernelManager)(kernel_name="python3")
        await km.start_kernel(extra_arguments=["--IPKernelApp.log_level=ERROR"])
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(code, timeout=60)
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel()

    asyncio.run(main())
    assert marker.exists() is (not quiet)


# ---------------------------------------------------------------------------
# banner and load warnings


def test_export_html_and_index_show_the_banner_and_warnings(both):
    import nbformat

    _, result = both
    nb = nbformat.read(str(result.notebooks[0].ipynb), as_version=4)
    banner = "The period 2026-09 is only partly covered by the data: 01.09.2026 to 20.09.2026."
    page = __import__("salesaudit.runs.runner", fromlist=["export_html"]).export_html(nb, title="Ответ", lang="en", banner=banner)
    body = page[page.index("<body"):]
    assert body.count(banner) == 1 and body.index(banner) < body.index("The answer")
    assert banner not in __import__("salesaudit.runs.runner", fromlist=["export_html"]).export_html(nb, title="Ответ", lang="en")

    from salesaudit.data.params import load_run_config
    from salesaudit.runs.runner import render_index

    index = render_index(load_run_config(CONFIG, language="en"), result.notebooks, banner=banner,
                         warnings=["Table payments: no file matched <payments*.csv>.", "  "])
    assert index.count(banner) == 1
    assert "Data warnings" in index and "Table payments: no file matched &lt;payments*.csv&gt;." in index
    assert index.index(banner) < index.index("<h1>") < index.index("Data warnings") < index.index('class="summary"')
    plain = render_index(load_run_config(CONFIG), result.notebooks)
    assert "salesaudit-banner" not in plain and "Предупреждения о данных" not in plain


def test_preflight_warnings_and_partial_banner_reach_the_pages(tmp_path, monkeypatch):
    """run() with the preflight: the load warnings (verdict.warning_texts) go to index.html, the banner to every page."""
    import yaml
    from conftest import DEMO_FUNNEL, REPO

    import salesaudit.report.verdict

    cfg = yaml.safe_load((REPO / "params" / "clients" / "demo.yaml").read_text(encoding="utf-8"))
    cfg.update({"data": str(REPO / "data_samples" / "demo_generic"), "funnel": str(DEMO_FUNNEL),
                "as_of": "2026-10-20 23:59:59", "period": "2026-10", "language": "en"})
    config = tmp_path / "cut.yaml"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    seen = []

    def fake_warning_texts(ds, lang):
        seen.append((type(ds).__name__, lang))
        return ["More than 5 % of the deals were quarantined for a missing amount."]

    monkeypatch.setattr(salesaudit.report.verdict, "warning_texts", fake_warning_texts)
    res = run(config, out_dir=tmp_path / "out", notebooks=["00_answer"], notebooks_dir=FIX, progress=False)
    assert seen == [("Dataset", "en")]
    assert res.ok and res.coverage.status == "partial"
    banner = "The period 2026-10 is only partly covered by the data: 1 Oct 2026 to 20 Oct 2026."
    assert res.banner == banner and res.warnings == ["More than 5 % of the deals were quarantined for a missing amount."]
    index = res.index.read_text(encoding="utf-8")
    assert banner in index and "Data warnings" in index and "quarantined for a missing amount" in index
    assert banner in res.notebooks[0].html.read_text(encoding="utf-8")
    with pytest.raises(SalesauditError, match=r"The period 2027-05 lies outside the data: the export covers 1 Aug 2025 – 20 Oct 2026"):
        run(config, out_dir=tmp_path / "never", period="2027-05", notebooks=["00_answer"], notebooks_dir=FIX, progress=False)
    assert not (tmp_path / "never").exists()


# ---------------------------------------------------------------------------
# warm kernels: one kernel per worker, reset between notebooks, replaced when it died


def _kernel_processes() -> int:
    """Kernels started by this test process (its children, at any depth), alive now."""
    import psutil

    count = 0
    for p in psutil.Process().children(recursive=True):
        try:
            count += "ipykernel_launcher" in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            pass
    return count


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """Five notebooks in one worker: a leak attempt, a check, a failure, a kernel that dies, one after it."""
    import nbformat

    folder = tmp_path_factory.mktemp("warm")
    probe = ("code", "import os, sys\nfrom salesaudit.runs.record import record\n"
                     "record('pid', os.getpid())\nrecord('leaked', 'secret' in dir())\n"
                     "record('modules', 'salesaudit.data.loader' in sys.modules)")
    nbformat.write(_notebook([PARAMS_CELL, ("code", "secret = 42\nimport matplotlib.pyplot as plt\nplt.figure()"), probe]), str(folder / "00_first.ipynb"))
    nbformat.write(_notebook([PARAMS_CELL, probe, ("code", "import matplotlib.pyplot as plt\nrecord('figures', len(plt.get_fignums()))")]),
                   str(folder / "01_second.ipynb"))
    nbformat.write(_notebook([PARAMS_CELL, ("code", "x = 1\n1 / 0")]), str(folder / "02_fails.ipynb"))
    nbformat.write(_notebook([PARAMS_CELL, probe, ("code", "os._exit(1)")]), str(folder / "03_dies.ipynb"))
    nbformat.write(_notebook([PARAMS_CELL, probe]), str(folder / "04_after.ipynb"))
    before = _kernel_processes()
    result = run(CONFIG, out_dir=folder / "out", notebooks_dir=folder, progress=False, preflight=False, language="en", workers=1)
    return result, before


def test_a_warm_kernel_runs_the_next_notebook_clean(warm):
    result, _ = warm
    first, second = result.notebooks[0].records, result.notebooks[1].records
    assert first["pid"] == second["pid"]  # the same kernel ...
    assert second["leaked"] is False  # ... with nothing left of the notebook before
    assert second["figures"] == 0
    # the runner's reset cell is not in the executed notebook: the cells are the notebook's own
    import nbformat

    executed = nbformat.read(str(result.out_dir / "01_second.ipynb"), as_version=4)
    assert not any("salesaudit-reset" in c.metadata.get("tags", []) for c in executed.cells)
    assert [c.source for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])] == \
        [c.source for c in nbformat.read(str(result.out_dir.parent / "01_second.ipynb"), as_version=4).cells]


def test_a_kernel_that_died_is_replaced_and_failures_keep_their_cell_numbers(warm):
    result, _ = warm
    by = {n.stem: n for n in result.notebooks}
    assert by["02_fails"].status == "failed" and by["02_fails"].cell == 2  # ran after the reset cell, not counted
    assert "ZeroDivisionError" in by["02_fails"].error
    assert by["03_dies"].status == "failed"
    assert by["04_after"].status == "ok"
    assert by["04_after"].records["pid"] != by["01_second"].records["pid"]
    assert by["04_after"].records["leaked"] is False


def test_no_kernel_is_left_running_after_a_run(warm):
    _, before = warm
    assert _kernel_processes() == before
