"""Docs that match the code: generated references are up to date, the public table resolves."""
from __future__ import annotations

from pathlib import Path

import salesaudit
from salesaudit.data import model, params

REPO = Path(__file__).resolve().parents[1]


def test_data_model_doc_is_generated_from_model():
    assert (REPO / "docs" / "data_model.md").read_text(encoding="utf-8").rstrip("\n") == model.markdown_reference().rstrip("\n"), "run `make docs`"


def test_parameters_doc_is_generated_from_schema():
    assert (REPO / "docs" / "parameters.md").read_text(encoding="utf-8") == params.markdown_reference(), "run `make docs`"


def test_incentives_doc_is_generated_from_schema():
    from salesaudit.incentives import markdown_reference

    assert (REPO / "docs" / "incentives.md").read_text(encoding="utf-8") == markdown_reference(), "run `make docs`"


def test_every_public_name_resolves_and_is_documented_in_its_module():
    for name, (module, summary) in salesaudit.PUBLIC.items():
        obj = getattr(salesaudit, name)
        assert obj is getattr(__import__(f"salesaudit.{module}", fromlist=[name]), name)
        assert summary.endswith(".")
    assert sorted(salesaudit.PUBLIC) == [n for n in salesaudit.__all__ if n not in ("PUBLIC", "__version__", "api_markdown")]


def test_api_doc_is_generated_from_the_public_table():
    assert (REPO / "docs" / "api.md").read_text(encoding="utf-8") == salesaudit.api_markdown(), "run `make docs`"


def test_readme_names_the_two_commands_and_every_notebook():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    for nb in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert nb.name in readme, nb.name
    for preset in sorted((REPO / "params" / "crm").glob("*.yaml")):
        assert f"`{preset.stem}`" in (REPO / "docs" / "presets.md").read_text(encoding="utf-8"), preset.stem
