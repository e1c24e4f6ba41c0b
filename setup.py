"""Build step: a wheel of salesaudit carries copies of the repository's params/, notebooks/ and data_samples/.

The metadata is in pyproject.toml; this file only adds the copy. The three top-level folders stay
where they are and stay the source of truth; at build time they are copied into the built package
as ``salesaudit/_data/<folder>``, side by side as in the repository, so that the relative paths
inside them still hold (``params/clients/demo.yaml`` names ``../../data_samples/demo_generic``; the
notebooks read ``../params/...``). ``salesaudit.resources`` finds them there when salesaudit is not
run from a checkout. An editable install (``pip install -e .``) copies nothing: it reads the
checkout's folders.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_FOLDERS = ("params", "notebooks", "data_samples")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")


class build_py_with_data(build_py):
    """``build_py`` that also copies :data:`DATA_FOLDERS` into ``<build_lib>/salesaudit/_data/``."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "salesaudit" / "_data"
        for name in DATA_FOLDERS:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"cannot build salesaudit: the folder {source} is missing (a wheel carries params/, notebooks/ and data_samples/)")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(source, target / name, ignore=SKIP)


setup(cmdclass={"build_py": build_py_with_data})
