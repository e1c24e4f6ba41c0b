"""Display helpers for the notebooks: headings, text, tables and figures in the report language.

Notebooks stay thin: they call these with label keys from :mod:`salesaudit.report.i18n`
and objects computed by the package. Output is deterministic (no random ids),
so nbval can compare it between runs. Numbers are formatted by :mod:`salesaudit.report.format`
in the report language, which every call is given (a page passes its own, ``Page.lang``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import format as fmt_
from .i18n import LANGUAGES, t

__all__ = ["heading", "text", "text_raw", "table", "figure", "setup", "plotting", "p_text"]


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def setup() -> None:
    """Deterministic pandas and plot settings for a report notebook."""
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "salesaudit"
    matplotlib.rcParams["figure.dpi"] = 90
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")


def plotting():
    """``(matplotlib.pyplot, seaborn)`` with the reports' one plot style applied."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def p_text(p, lang: str) -> str:
    """A p-value for a report table: ``<0,001`` (ru) / ``<0.001`` (en) or three decimals (``—`` where untested)."""
    if pd.isna(p):
        return fmt_.DASH
    return "<" + fmt_.number(0.001, lang, 3) if p < 0.001 else fmt_.number(p, lang, 3)


def heading(key: str, lang: str, level: int = 2, **fmt) -> None:
    """A Markdown heading from a label key."""
    from IPython.display import Markdown

    _display(Markdown("#" * level + " " + t(key, lang, **fmt)))


def text(key: str, lang: str, **fmt) -> None:
    """A paragraph from a label key."""
    from IPython.display import Markdown

    _display(Markdown(t(key, lang, **fmt)))


def table(df: pd.DataFrame, max_rows: int = 30, *, lang: str) -> None:
    """A table without its index, cut to ``max_rows`` rows (the rest is counted below it).

    Float cells are formatted in ``lang`` by :func:`_fmt`, integer columns grouped by
    :func:`_integers` (``1 682``), date-time columns by :func:`_dates`, yes/no cells by
    :func:`_yes_no`.
    """
    from IPython.display import HTML, Markdown

    if lang not in LANGUAGES:
        raise ValueError(f"show.table needs the report language (one of {', '.join(LANGUAGES)}), got {lang!r}")
    shown = _yes_no(_dates(_integers(df.head(max_rows), lang), lang), lang)
    _display(HTML(shown.to_html(index=False, na_rep=fmt_.DASH, border=0, classes="salesaudit", float_format=lambda x: _fmt(x, lang))))
    if len(df) > max_rows:
        _display(Markdown(f"… +{fmt_.integer(len(df) - max_rows, lang)}"))


def _yes_no(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Cells that are booleans (a bool column, or an object column of booleans and blanks) as the
    catalogue's yes/no in ``lang``, never Python's True/False."""
    cols = []
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if pd.api.types.is_bool_dtype(s.dtype) or (s.dtype == object and len(s.dropna()) and all(isinstance(v, (bool, np.bool_)) for v in s.dropna())):
            cols.append(i)
    if not cols:
        return df
    out = df.copy()
    yes, no = t("index.yes", lang), t("index.no", lang)
    for i in cols:
        out.isetitem(i, [None if v is None or (not isinstance(v, (bool, np.bool_)) and pd.isna(v)) else (yes if v else no) for v in df.iloc[:, i]])
    return out


def _integers(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Integer columns (counts, amounts in whole units) grouped in ``lang``: ``1 682`` (ru), ``1,682`` (en).

    Identifiers never reach a client's table as integers: the report layer shows names and codes as text.
    """
    cols = [i for i in range(df.shape[1]) if pd.api.types.is_integer_dtype(df.iloc[:, i].dtype) and not pd.api.types.is_bool_dtype(df.iloc[:, i].dtype)]
    if not cols:
        return df
    out = df.copy()
    for i in cols:
        out.isetitem(i, [fmt_.DASH if pd.isna(v) else fmt_.integer(v, lang) for v in df.iloc[:, i]])
    return out


def _dates(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Date-time columns as text in ``lang``: days when every value is at midnight, else to the minute."""
    cols = [i for i in range(df.shape[1]) if pd.api.types.is_datetime64_any_dtype(df.iloc[:, i].dtype)]
    if not cols:
        return df
    out = df.copy()
    for i in cols:
        s = df.iloc[:, i]
        known = s.dropna()
        day = bool(len(known)) and bool((known == known.dt.normalize()).all())
        out.isetitem(i, [fmt_.date(v, lang) if day else fmt_.datetime_(v, lang) for v in s])
    return out


def _fmt(x: float, lang: str) -> str:
    """A float cell: a whole number grouped, below 1 three decimals, else two.

    >>> _fmt(35722878.0, "ru"), _fmt(1234.567, "en"), _fmt(0.1234, "ru"), _fmt(float("nan"), "en")
    ('35\xa0722\xa0878', '1,234.57', '0,123', '—')
    """
    if pd.isna(x):
        return fmt_.DASH
    if float(x).is_integer():
        return fmt_.integer(x, lang)
    return fmt_.number(x, lang, 3 if abs(x) < 1 else 2)


def figure(fig) -> None:
    """Show a matplotlib figure once and free it."""
    import matplotlib.pyplot as plt

    _display(fig)
    plt.close(fig)


def text_raw(markdown: str) -> None:
    """A paragraph of already translated Markdown (e.g. a list item built from labels)."""
    from IPython.display import Markdown

    _display(Markdown(markdown))
