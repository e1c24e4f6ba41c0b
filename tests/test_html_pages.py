"""The report page of one notebook (``salesaudit.runs.runner.export_html``) stands on its own, and
long tables collapse (``salesaudit.report.show.table_html``): fast checks on small notebooks made
here; the demo's real pages are checked in tests/test_visible_text.py."""
from __future__ import annotations

import base64
import re

import nbformat
import pandas as pd
import pytest
from test_visible_text import leaks, resource_refs, visible_text

from salesaudit.report.i18n import t
from salesaudit.report.show import COLLAPSE_ROWS, PREVIEW_ROWS, figure_data, figure_title, table_html
from salesaudit.runs.runner import export_html

WIDGET = "application/vnd.jupyter.widget-view+json"


def _notebook():
    """A notebook as a run leaves it: a heading, a table, a plot, a widget, a progress bar and a script."""
    out = nbformat.v4.new_output
    md = nbformat.v4.new_markdown_cell("# Воронка продаж")
    code = nbformat.v4.new_code_cell("x", outputs=[
        out("display_data", data={"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "x"}),
        out("display_data", data={"image/png": base64.b64encode(b"\x89PNG fake").decode(), "text/plain": "<Figure>"},
            metadata={"image/png": {"alt": "Конверсия по стадиям"}}),
        out("display_data", data={WIDGET: {"model_id": "abc", "version_major": 2, "version_minor": 0},
                                  "text/plain": "IntProgress(value=3, max=10)"}),
        out("stream", name="stdout", text="45%|████▌     | 9/20 [00:01<00:02, 4.5it/s]\n"),
        out("display_data", data={"application/javascript": "console.log('x')", "text/plain": "<IPython.core.display.Javascript object>"}),
        out("stream", name="stdout", text="Итог: 12 сделок\n"),
    ])
    nb = nbformat.v4.new_notebook(cells=[md, code])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"abc": {}}, "version_major": 2, "version_minor": 0}}
    return nb


@pytest.fixture(scope="module")
def page():
    return export_html(_notebook(), title="Воронка", lang="ru")


def test_the_page_loads_nothing_from_the_network(page):
    refs = resource_refs(page)
    assert [u for _, u in refs if re.match(r"(?i)\s*(?:https?:)?//", u)] == []
    assert "require.js" not in page and "mathjax" not in page.lower() and "mermaid" not in page.lower()
    assert "<script" not in page  # a report runs no code
    assert [tag for tag, u in refs if u.startswith("data:image/png;base64,")] == ["img"]  # the plot is embedded


def test_the_page_holds_no_widget_progress_bar_or_script(page):
    text = visible_text(page)
    assert WIDGET not in page and "widget-state" not in page and "IntProgress" not in page
    assert "it/s" not in page and "console.log" not in page and "Javascript object" not in text
    assert "Итог: 12 сделок" in text and "Воронка продаж" in text  # what is for the reader stays


def test_images_carry_their_title_as_alternative_text(page):
    (img,) = re.findall(r"<img [^>]*>", page)
    assert 'alt="Конверсия по стадиям"' in img and 'src="data:image/png;base64,' in img
    assert "No description has been provided" not in page


def test_the_page_carries_its_own_small_stylesheet(page):
    assert len(page.encode("utf-8")) < 20_000  # JupyterLab's theme alone is about 260 kB
    assert "font-variant-numeric: tabular-nums" in page and "overflow-x: auto" in page
    assert '<html lang="ru">' in page or "lang=\"ru\"" in page


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_long_table_shows_its_first_rows_and_all_of_them_under_show_all(lang):
    df = pd.DataFrame({"Менеджер": [f"Менеджер {i}" for i in range(40)], "Сделок": range(40), "Доля": [i / 40 for i in range(40)],
                       "Закрыта": [True, False] * 20})
    html = table_html(df, 200, lang=lang)
    m = re.fullmatch(r'<div class="salesaudit-long"><details class="salesaudit-more"><summary>(.*?)</summary>(<table.*?</table>)</details>'
                     r'<div class="salesaudit-preview">(<table.*?</table>)</div></div>', html, re.S)
    assert m, html[:300]
    summary, whole, preview = m.groups()
    assert summary == t("page.show_all", lang, n="40") == {"ru": "Показать все строки (40)", "en": "Show all rows (40)"}[lang]
    rows = lambda h: re.findall(r"<tr>\s*<td>(.*?)</td>", h)  # noqa: E731
    assert rows(whole) == [f"Менеджер {i}" for i in range(40)] and rows(preview) == [f"Менеджер {i}" for i in range(PREVIEW_ROWS)]
    yes = t("index.yes", lang)
    assert f"<td>{yes}</td>" in whole and "True" not in html and "False" not in html
    assert leaks(visible_text(html), set(), set()) == []
    # a table as long as COLLAPSE_ROWS is shown whole, and a cut beyond max_rows is said in words
    assert "<details" not in table_html(df.head(COLLAPSE_ROWS), lang=lang)
    cut = table_html(df, 20, lang=lang)
    assert t("page.show_all", lang, n="20") in cut and len(re.findall(r"<tr>\s*<td>", cut)) == 20 + PREVIEW_ROWS


def test_a_cut_table_says_how_many_rows_are_not_shown(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    from salesaudit.report import show

    shown = []
    original = show._display
    show._display = shown.append
    try:
        show.table(pd.DataFrame({"a": range(50)}), 30, lang="ru")
    finally:
        show._display = original
    assert InteractiveShell  # IPython is there, as in a kernel
    assert shown[-1].data == "… не показано строк: 20"


def test_a_plot_is_the_smaller_of_a_256_colour_png_and_an_svg_and_is_named_by_its_title():
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(6, 3), dpi=90)
    ax.plot(range(50), [i % 7 for i in range(50)])
    ax.set_title("Сделки по неделям")
    mime, data = figure_data(fig)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=90, bbox_inches="tight")
    assert figure_title(fig) == "Сделки по неделям"
    if mime == "image/png":
        img = Image.open(io.BytesIO(base64.b64decode(data)))
        assert img.mode == "P" and len(base64.b64decode(data)) < png.tell()
    else:
        assert mime == "image/svg+xml" and data.lstrip().startswith("<?xml") and len(data.encode()) < png.tell()
        assert "<dc:date>" not in data and "matplotlib.org" not in data  # no date, nothing a reader could see as a name
    assert figure_data(fig) == (mime, data)  # deterministic, so nbval compares it
    plt.close(fig)
