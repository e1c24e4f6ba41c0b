"""``salesaudit run --pdf`` without what it needs: one paragraph saying what is missing and how to
install it, exit code 2, no traceback, and no notebook run for nothing (the check comes first)."""
from __future__ import annotations

import sys

import pytest
from conftest import REPO

from salesaudit.runs import pdf
from salesaudit.runs.cli import build_parser, main

DEMO = REPO / "params" / "clients" / "demo.yaml"


def test_the_flag_is_on_run_and_on_a_range_of_periods():
    parser = build_parser()
    assert parser.parse_args(["run", "--config", "x.yaml", "--pdf"]).pdf is True
    assert parser.parse_args(["run", "--config", "x.yaml", "--periods", "2026-09..2026-10", "--pdf"]).pdf is True
    assert parser.parse_args(["run", "--config", "x.yaml"]).pdf is False


@pytest.mark.parametrize("periods", [[], ["--periods", "2026-09..2026-10"]])
def test_no_chromium_stops_the_run_before_any_notebook(tmp_path, monkeypatch, capsys, periods):
    monkeypatch.setenv("SALESAUDIT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    out = tmp_path / "out"
    code = main(["run", "--config", str(DEMO), "--notebooks", "00_data_quality", "--out", str(out), "--pdf",
                 "--no-progress", *periods])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("salesaudit: error: Cannot write the PDF (--pdf)")
    assert err.strip().count("\n") == 0  # one paragraph
    assert "apt-get install chromium" in err and str(tmp_path / "no-such-chromium") in err
    assert "the Python package playwright" not in err  # installed here: not named missing
    assert not out.exists() or not list(out.rglob("*.html"))  # nothing ran


def test_no_playwright_is_named_with_its_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "playwright", None)  # `import playwright…` raises ImportError
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    monkeypatch.setenv("SALESAUDIT_CHROMIUM", sys.executable)  # some file: Chromium counts as found
    with pytest.raises(pdf.PdfUnavailable) as caught:
        pdf.require()
    text = str(caught.value)
    assert "the Python package playwright is missing" in text
    assert "pip install 'salesaudit[pdf]'" in text
    assert "apt-get install chromium" not in text  # Chromium was found


def test_both_missing_are_named_in_one_paragraph(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "playwright", None)
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    monkeypatch.setenv("SALESAUDIT_CHROMIUM", str(tmp_path / "none"))
    with pytest.raises(pdf.PdfUnavailable) as caught:
        pdf.require()
    text = str(caught.value)
    assert "playwright and Chromium" in text and "are missing" in text and "\n" not in text
    assert "pip install 'salesaudit[pdf]'" in text and "apt-get install chromium" in text
