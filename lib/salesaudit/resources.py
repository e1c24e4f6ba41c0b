"""Where the built-in parameters, notebooks and the demo data are: the checkout's, or the installed copies.

The repository's top-level folders are the source of truth: ``params/`` (CRM presets, funnels, pay
schemes, simulation assumptions, run configs), ``notebooks/`` (the audit notebooks) and
``data_samples/`` (the synthetic demo department). Run from a source checkout (an editable install,
or ``lib/`` on ``sys.path``), salesaudit reads them there. A wheel (``pip install .``) carries
copies of the three folders, made at build time by ``setup.py``, in ``salesaudit/_data/``, side by
side as in the repository, so that the relative paths inside them still work (the demo run config
names ``../../data_samples/demo_generic``; the notebooks read ``../params/...``).

>>> (params_dir() / "crm" / "generic.yaml").is_file()
True
>>> params_dir().parent == notebooks_dir().parent == samples_dir().parent
True
"""
from __future__ import annotations

from pathlib import Path

from .errors import SalesauditError

__all__ = ["repo_root", "params_dir", "notebooks_dir", "samples_dir", "PACKAGE_DIR", "INSTALLED_DATA"]

#: the ``salesaudit`` package folder
PACKAGE_DIR = Path(__file__).resolve().parent
#: where a wheel puts its copies of ``params/``, ``notebooks/`` and ``data_samples/``
INSTALLED_DATA = PACKAGE_DIR / "_data"


def repo_root() -> Path | None:
    """The source checkout salesaudit runs from (``<repo>/lib/salesaudit``), or ``None`` when installed from a wheel."""
    root = PACKAGE_DIR.parent.parent
    if PACKAGE_DIR.parent.name == "lib" and (root / "pyproject.toml").is_file():
        return root
    return None


def _folder(name: str, what: str, fix: str = "") -> Path:
    root = repo_root()
    candidates = ([root / name] if root is not None else []) + [INSTALLED_DATA / name]
    for path in candidates:
        if path.is_dir():
            return path
    raise SalesauditError(
        f"Cannot find {what}: none of {', '.join(str(p) for p in candidates)} exists (salesaudit is neither run "
        f"from its source repository nor installed from a wheel that carries `{name}/`). How to fix: install "
        f"salesaudit from its repository with `pip install .` (or `pip install -e .` in the checkout){fix}."
    )


def params_dir() -> Path:
    """The built-in ``params/``: CRM presets (``crm/``), funnels, pay schemes (``incentives/``), ``simulation/``, ``clients/``."""
    return _folder("params", "the built-in parameters (params/: CRM presets, funnels, pay schemes)")


def notebooks_dir() -> Path:
    """The audit notebooks (``notebooks/NN_name.ipynb``)."""
    return _folder("notebooks", "the audit notebooks (notebooks/NN_name.ipynb)",
                   ", or pass the folder holding the NN_name.ipynb notebooks with --notebooks-dir")


def samples_dir() -> Path:
    """The synthetic demo department (``data_samples/demo_generic``, ``data_samples/demo_bitrix24``)."""
    return _folder("data_samples", "the demo data (data_samples/)")
