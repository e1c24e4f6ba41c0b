"""Display helpers for the notebooks: headings, text, tables and figures in the report language.

Notebooks stay thin: they call these with label keys from :mod:`salesaudit.report.i18n`
and objects computed by the package. Output is deterministic (no random ids),
so nbval can compare it between runs. Numbers are formatted by :mod:`salesaudit.report.format`
in the report language, which every call is given (a page passes its own, ``Page.lang``).
"""
from __future__ import annotations

import html as _html

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


#: a table longer than this many rows is collapsed: its first :data:`PREVIEW_ROWS` rows are shown,
#: the whole table opens under "show all" (a ``<details>`` the report's stylesheet pairs with the preview)
COLLAPSE_ROWS = 15
PREVIEW_ROWS = 10


def table(df: pd.DataFrame, max_rows: int = 30, *, lang: str) -> None:
    """A table without its index, cut to ``max_rows`` rows (the rest is counted below it).

    Float cells are formatted in ``lang`` by :func:`_fmt`, integer columns grouped by
    :func:`_integers` (``1 682``), date-time columns by :func:`_dates`, yes/no cells by
    :func:`_yes_no`. See :func:`table_html` for a long table.
    """
    from IPython.display import HTML, Markdown

    _display(HTML(table_html(df, max_rows, lang=lang)))
    if len(df) > max_rows:
        _display(Markdown(t("page.rows_not_shown", lang, n=fmt_.integer(len(df) - max_rows, lang))))


def table_html(df: pd.DataFrame, max_rows: int = 30, *, lang: str) -> str:
    """The HTML of :func:`table`'s table: up to ``max_rows`` rows, formatted in ``lang``.

    A table of more than :data:`COLLAPSE_ROWS` rows shows its first :data:`PREVIEW_ROWS`; all of
    them open under the catalogue's "show all rows (n)" (``<details class="salesaudit-more">``,
    followed by the preview, which the report's stylesheet shows first and hides while the whole
    table is open). Deterministic: no random ids.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"show.table needs the report language (one of {', '.join(LANGUAGES)}), got {lang!r}")
    shown = _yes_no(_dates(_integers(df.head(max_rows), lang), lang), lang)

    def html(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, na_rep=fmt_.DASH, border=0, classes="salesaudit", float_format=lambda x: _fmt(x, lang))

    if len(shown) <= COLLAPSE_ROWS:
        return html(shown)
    summary = _html.escape(t("page.show_all", lang, n=fmt_.integer(len(shown), lang)))
    return (f'<div class="salesaudit-long"><details class="salesaudit-more"><summary>{summary}</summary>{html(shown)}</details>'
            f'<div class="salesaudit-preview">{html(shown.head(PREVIEW_ROWS))}</div></div>')


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
    """Show a matplotlib figure once (as the smaller of :func:`figure_data`'s PNG and SVG, its
    title as the image's alternative text) and free it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    mime, data = figure_data(fig)
    display({mime: data}, raw=True, metadata={mime: {"alt": figure_title(fig)}})
    plt.close(fig)


def figure_data(fig) -> tuple[str, str]:
    """``(mime type, data)`` of ``fig`` for a page: a PNG of at most 256 colours (base64) or an SVG,
    whichever is smaller. Both are sharp at the figure's resolution and deterministic (the SVG's
    ids are salted by :func:`setup`, neither carries a date)."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight", facecolor="white")
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    png = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(png, format="PNG", optimize=True)
    svg = io.StringIO()
    fig.savefig(svg, format="svg", bbox_inches="tight", facecolor="white", metadata={"Date": None, "Creator": None})
    svg_text = svg.getvalue()
    if len(svg_text.encode("utf-8")) < png.tell():
        return "image/svg+xml", svg_text
    return "image/png", base64.b64encode(png.getvalue()).decode("ascii")


def figure_title(fig) -> str:
    """The title a reader sees on ``fig`` (its suptitle, else its axes' titles), for the image's alternative text."""
    parts = []
    if getattr(fig, "_suptitle", None) is not None and fig._suptitle.get_text():
        parts.append(fig._suptitle.get_text())
    for ax in fig.axes:
        title = ax.get_title() or ax.get_title("left")
        if title and title not in parts:
            parts.append(title)
    return "; ".join(parts)


def text_raw(markdown: str) -> None:
    """A paragraph of already translated Markdown (e.g. a list item built from labels)."""
    from IPython.display import Markdown

    _display(Markdown(markdown))
