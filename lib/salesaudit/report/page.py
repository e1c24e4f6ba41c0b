"""A report page: blocks a reader sees, built from a result object in one language.

An analysis returns a result (numbers and tables with canonical column names, no language); a
``report`` module turns it into a :class:`Page`: headings, paragraphs, tables with translated
headers, figures and warning boxes. :func:`show` displays a page in a notebook, which nbconvert
turns into the HTML report. Nothing on a page is computed here, so presentation can never change
a number.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

import pandas as pd

__all__ = ["Heading", "Text", "Table", "Figure", "Html", "Page", "show"]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    """A paragraph of Markdown, already in the page's language."""

    markdown: str


@dataclass(frozen=True)
class Table:
    """A table whose headers and values are already in the page's language."""

    frame: pd.DataFrame
    max_rows: int = 30


@dataclass(frozen=True)
class Figure:
    """A matplotlib figure (shown once, then closed)."""

    figure: Any


@dataclass(frozen=True)
class Html:
    """A block of HTML made by the report layer (a warning box)."""

    html: str


Block = Union[Heading, Text, Table, Figure, Html]


@dataclass
class Page:
    """The blocks of one report page, in reading order, and its language (tables format their numbers in it)."""

    blocks: list = field(default_factory=list)
    lang: Optional[str] = None

    def add(self, *blocks: Block) -> "Page":
        self.blocks.extend(b for b in blocks if b is not None)
        return self

    def texts(self) -> list[str]:
        """Every heading and paragraph (for tests: what a reader reads)."""
        return [b.text if isinstance(b, Heading) else b.markdown for b in self.blocks if isinstance(b, (Heading, Text))]

    def tables(self) -> list[pd.DataFrame]:
        return [b.frame for b in self.blocks if isinstance(b, Table)]


def show(page: Page) -> None:
    """Display every block of ``page`` in the notebook, in order."""
    from IPython.display import HTML, Markdown

    from .show import _display, figure, table

    for b in page.blocks:
        if isinstance(b, Heading):
            _display(Markdown("#" * b.level + " " + b.text))
        elif isinstance(b, Text):
            _display(Markdown(b.markdown))
        elif isinstance(b, Table):
            table(b.frame, max_rows=b.max_rows, lang=page.lang)
        elif isinstance(b, Figure):
            figure(b.figure)
        elif isinstance(b, Html):
            _display(HTML(b.html))
        else:  # pragma: no cover - a programming error
            raise TypeError(f"not a page block: {type(b).__name__}")
