"""``pip install .`` (not editable) carries the parameters, the notebooks and the demo data.

A wheel is built from the repository and installed, without its dependencies, into a fresh
virtual environment; the dependencies come from the project's venv through a ``.pth`` line naming
its site-packages. (``--system-site-packages`` alone would not do: a venv made from a venv's python
points at the base interpreter.) A bare directory on ``sys.path`` has its ``.pth`` files ignored, so
the project's editable install (``__editable__.salesaudit-*.pth`` → ``lib/``) is not picked up, and
the child runs in a folder outside the repository without ``PYTHONPATH``: salesaudit can only be the
installed copy, and it must find everything inside itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

CHECK = r"""
import json, sys
import salesaudit
from salesaudit import resources

ds = salesaudit.load(resources.params_dir() / "clients" / "demo.yaml")
print(json.dumps({
    "file": salesaudit.__file__,
    "repo_root": None if resources.repo_root() is None else str(resources.repo_root()),
    "params": str(resources.params_dir()),
    "notebooks": str(resources.notebooks_dir()),
    "samples": str(resources.samples_dir()),
    "notebook_files": sorted(p.name for p in resources.notebooks_dir().glob("[0-9][0-9]_*.ipynb")),
    "deals": len(ds.tables["deals"]),
    "data_dir": str(ds.config.data_dir),
    "sys_path": sys.path,
}))
"""


def _run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv holding the wheel built from the repository: (its python, its bin folder, the package folder)."""
    tmp = tmp_path_factory.mktemp("install")
    wheels, venv = tmp / "wheels", tmp / "venv"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, REPO])
    (wheel,) = wheels.glob("salesaudit-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", venv])
    python = venv / "bin" / "python"
    # install before the project's site-packages become visible, so pip sees nothing to replace
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel])
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "_salesaudit_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python, venv / "bin", site / "salesaudit"


@pytest.fixture
def outside(tmp_path):
    """A working directory outside the repository and an environment without PYTHONPATH."""
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    return work, env


def test_installed_package_finds_its_data(installed, outside):
    python, _, package = installed
    work, env = outside
    info = json.loads(_run([python, "-c", CHECK], cwd=work, env=env).stdout.strip().splitlines()[-1])
    assert Path(info["file"]).resolve().is_relative_to(package.parent), info["file"]
    assert not any(str(REPO / "lib") == p for p in info["sys_path"])
    assert info["repo_root"] is None
    data = package / "_data"
    assert Path(info["params"]) == data / "params"
    assert Path(info["notebooks"]) == data / "notebooks"
    assert Path(info["samples"]) == data / "data_samples"
    assert info["notebook_files"] == sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert Path(info["data_dir"]) == data / "data_samples" / "demo_generic"
    manifest = json.loads((REPO / "data_samples" / "demo_generic" / "MANIFEST.json").read_text(encoding="utf-8"))
    assert info["deals"] == manifest["expected_clean_rows"]["deals"] == 3270


def test_installed_cli_checks_the_demo(installed, outside):
    _, bin_dir, package = installed
    work, env = outside
    proc = _run([bin_dir / "salesaudit", "check", "--config", package / "_data" / "params" / "clients" / "demo.yaml"], cwd=work, env=env)
    assert "deals" in proc.stdout
