"""Display helpers for the notebooks: headings, text, tables and figures in the report language.

Notebooks stay thin: they call these with label keys from :mod:`salesaudit.report.i18n`
and objects computed by the package. Output is deterministic (no random ids),
so nbval can compare it between runs.
"""
from __future__ import annotations

import pandas as pd

from .i18n import t

__all__ = ["heading", "text", "text_raw", "table", "figure", "setup", "plotting", "ci_text", "p_text"]


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
    pd.set_option("display.float_format", lambda x: f"{x:,.4g}" if abs(x) < 1 else f"{x:,.2f}")
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")


def plotting():
    """``(matplotlib.pyplot, seaborn)`` with the reports' one plot style applied."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def ci_text(lo, hi) -> list[str]:
    """Interval bounds as ``12%–34%`` strings (``—`` where undefined)."""
    return [("—" if pd.isna(a) else f"{a:.0%}–{b:.0%}") for a, b in zip(lo, hi)]


def p_text(p) -> str:
    """A p-value for a report table: ``<0.001`` or three decimals (``—`` where untested)."""
    if pd.isna(p):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def heading(key: str, lang: str, level: int = 2, **fmt) -> None:
    """A Markdown heading from a label key."""
    from IPython.display import Markdown

    _display(Markdown("#" * level + " " + t(key, lang, **fmt)))


def text(key: str, lang: str, **fmt) -> None:
    """A paragraph from a label key."""
    from IPython.display import Markdown

    _display(Markdown(t(key, lang, **fmt)))


def table(df: pd.DataFrame, max_rows: int = 30) -> None:
    """A table without its index, cut to ``max_rows`` rows (the rest is counted below it)."""
    from IPython.display import HTML, Markdown

    shown = df.head(max_rows)
    _display(HTML(shown.to_html(index=False, na_rep="—", border=0, classes="salesaudit", float_format=_fmt)))
    if len(df) > max_rows:
        _display(Markdown(f"… +{len(df) - max_rows}"))


def _fmt(x: float) -> str:
    if pd.isna(x):
        return "—"
    if float(x).is_integer():
        return f"{x:,.0f}".replace(",", "\u202f")
    return f"{x:.3f}" if abs(x) < 1 else f"{x:,.2f}".replace(",", "\u202f")


def figure(fig) -> None:
    """Show a matplotlib figure once and free it."""
    import matplotlib.pyplot as plt

    _display(fig)
    plt.close(fig)


def text_raw(markdown: str) -> None:
    """A paragraph of already translated Markdown (e.g. a list item built from labels)."""
    from IPython.display import Markdown

    _display(Markdown(markdown))


def load_warnings(ds, lang: str) -> None:
    """The load verdict's warnings, in a box at the top of a report (nothing when the load is clean)."""
    from IPython.display import HTML

    from ..data.verdict import warning_texts
    from .quality import warnings_html

    box = warnings_html(warning_texts(ds, lang), lang)
    if box:
        _display(HTML(box))
