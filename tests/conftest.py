"""Shared fixtures: the repository layout, the real datasets beside it, tiny client folders."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REALDATA = SHARED / "realdata"
DEMO_FUNNEL = REPO / "params" / "funnels" / "demo_b2b.yaml"


@pytest.fixture(scope="module")
def demo():
    """The demo department (``params/clients/demo.yaml`` on ``data_samples/``), loaded once per test module."""
    from salesaudit import load

    return load(REPO / "params" / "clients" / "demo.yaml")


@pytest.fixture(scope="module")
def demo_cal(demo):
    """The capacity simulation calibrated on the demo department at its audit moment."""
    from salesaudit.sim.calibrate import calibrate

    return calibrate(demo)


def needs_realdata(*parts: str):
    """Mark a test ``realdata`` and skip it (with the reason) when ``../shared/realdata/<parts>`` is not beside the repository."""
    path = REALDATA.joinpath(*parts)
    skip = pytest.mark.skipif(not path.exists(), reason=f"{path} is absent: the real datasets live in ../shared beside the repository")

    def mark(test):
        return pytest.mark.realdata(skip(test))

    return mark


@pytest.fixture
def client(tmp_path):
    """Build a client folder: ``client(files={name: text_or_bytes}, **config)`` returns the config path."""

    def make(files: dict, encoding: str = "utf-8", **config):
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        for name, content in files.items():
            p = data / name
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding=encoding, newline="")
        cfg = {"data": "data", "preset": "generic", "funnel": str(DEMO_FUNNEL), "as_of": "2026-10-31 23:59:59"}
        cfg.update(config)
        path = tmp_path / "client.yaml"
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        return path

    return make



# ---------------------------------------------------------------- nbval's executions, shared
# nbval executes every committed notebook in a real kernel and compares its outputs with the
# committed ones. The plugin below keeps the outputs nbval got, so that the tests that read the key
# results a notebook records (salesaudit.runs.record) read them from that same execution instead of
# running the notebook again: each notebook runs once per `make test`.


class _SharedExecutions:
    """Collects the recorded key results of every notebook cell nbval runs (a global plugin)."""

    def __init__(self):
        self.records: dict = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        yield
        outputs = getattr(item, "test_outputs", None)  # nbval's cell item, once the cell has run
        if call.when != "call" or outputs is None:
            return
        from salesaudit.runs.record import MIME

        records = self.records.setdefault(item.path.stem, {})
        for out in outputs:
            payload = (out.get("data") or {}).get(MIME)
            if isinstance(payload, dict) and "key" in payload:
                records[payload["key"]] = payload.get("value")


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("salesaudit-shared-executions"):
        config.pluginmanager.register(_SharedExecutions(), "salesaudit-shared-executions")


def executed_records(config) -> dict:
    """``{notebook stem: {key: value}}`` recorded by the notebooks nbval executed in this session.

    The committed notebooks run with their committed parameters (the demo). Empty when the session
    runs without ``--nbval`` or without ``notebooks/``.
    """
    plugin = config.pluginmanager.get_plugin("salesaudit-shared-executions")
    return dict(plugin.records) if plugin is not None else {}


def pytest_collection_modifyitems(config, items):
    """Tests marked ``reads_notebooks`` run after nbval's items, so that they read its executions."""
    late = [i for i in items if i.get_closest_marker("reads_notebooks")]
    if late:
        items[:] = [i for i in items if not i.get_closest_marker("reads_notebooks")] + late
