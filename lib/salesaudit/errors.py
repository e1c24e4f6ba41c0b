"""Errors a user can fix, each one clear paragraph and never a traceback.

Every error the package raises on purpose is a :class:`SalesauditError`. Its
message names the file, the column or key, what was expected and how to fix it.
In Jupyter the traceback is hidden (IPython calls ``_render_traceback_``), and
the command line prints the message alone and exits with code 2.
"""
from __future__ import annotations

import difflib
from pathlib import Path

__all__ = [
    "SalesauditError",
    "InputFileError",
    "ParameterError",
    "PresetError",
    "MissingTablesError",
    "closest",
]


class SalesauditError(Exception):
    """Base class: a problem with the user's input, explained in one paragraph."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class InputFileError(SalesauditError):
    """A whole-file problem: missing column, undecodable bytes, empty file, a mapping that matches nothing."""

    def __init__(self, file, problem: str, fix: str):
        self.file = str(file)
        self.problem = problem
        self.fix = fix
        super().__init__(f"Cannot load {self.file}: {problem} How to fix: {fix}")


class ParameterError(SalesauditError):
    """A bad key or value in a YAML parameter file (or a notebook parameter)."""

    def __init__(self, file, problems: list[str]):
        self.file = str(file)
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = f"{self.file}: {self.problems[0]}"
        else:
            text = f"{self.file} has {len(self.problems)} problems: " + " ".join(
                f"({i}) {p}" for i, p in enumerate(self.problems, 1)
            )
        super().__init__(text)


class PresetError(ParameterError):
    """A bad CRM preset (``params/crm/*.yaml``)."""


class MissingTablesError(SalesauditError):
    """An analysis needs tables the dataset does not hold."""

    def __init__(self, analysis: str, missing: list[str], present: list[str]):
        self.missing = list(missing)
        super().__init__(
            f"{analysis} needs the table(s) {', '.join(missing)}, which this dataset does not hold "
            f"(it holds: {', '.join(present) or 'nothing'}). How to fix: export them from the CRM and map "
            f"them in the preset's `tables:` section, or skip this analysis."
        )


def closest(word: str, choices, n: int = 1) -> str:
    """' Did you mean …?' text for the nearest of ``choices``, or an empty string.

    >>> closest("lanuage", ["language", "period"])
    " Did you mean 'language'?"
    """
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=n, cutoff=0.6)
    return f" Did you mean {', '.join(repr(m) for m in match)}?" if match else ""


def display_path(path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
