"""What a client reads on the demo's pages: no internal names, and pages that stand on their own.

The whole demo runs through the real runner (``salesaudit.runs.runner.run``) once per report
language; every HTML page it writes (``index.html`` and one page per notebook) is then read the way
a reader sees it: the visible text (text nodes outside ``<script>``/``<style>``, and the ``alt`` and
``title`` attributes) must carry no snake_case identifier, no ``True``/``False``/``None``/``NaN``,
no Python repr, no module or class name of the package, no file path and no ``make`` command.
The same pages must load nothing from the network, hold no widget data, weigh under 1 MB, fit a
1280 px wide window in a real headless Chromium, and collapse long tables behind "show all".
"""
from __future__ import annotations

import ast
import functools
import re
from html.parser import HTMLParser

import pytest
from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

LANGS = ("ru", "en")
MAX_PAGE_BYTES = 1_000_000
VIEWPORT = {"width": 1280, "height": 900}

# ---------------------------------------------------------------------------
# the visible text of a page


class _Visible(HTMLParser):
    """Text nodes outside <script>/<style>/<template>, plus ``alt`` and ``title`` attributes."""

    HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.attrs: list[tuple[str, str]] = []  # (tag, src/href) of every resource reference
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1
        for name, value in attrs:
            if value and name in ("alt", "title"):
                self.parts.append(value)
            if value and name in ("src", "href"):
                self.attrs.append((tag, value))
        if tag in ("br", "p", "div", "tr", "td", "th", "li", "h1", "h2", "h3", "h4", "summary", "pre"):
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        was = self._hidden
        self.handle_starttag(tag, attrs)
        self._hidden = was  # a void element (<img/>) opens nothing

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1
        if tag in ("td", "th", "p", "li", "div", "tr"):
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """The text a reader of ``page`` (HTML) sees, cells and paragraphs on their own lines."""
    p = _Visible()
    p.feed(page)
    p.close()
    return "".join(p.parts)


def resource_refs(page: str) -> list[tuple[str, str]]:
    """``(tag, url)`` of every ``src``/``href`` in ``page``."""
    p = _Visible()
    p.feed(page)
    p.close()
    return p.attrs


# ---------------------------------------------------------------------------
# what must not be on a client's page


@functools.lru_cache(maxsize=1)
def _package_classes() -> frozenset[str]:
    """CamelCase class names defined in the package (``QualityResult``, ``RunConfig``): two humps or more,
    so that a class named after a plain word (``Page``, ``Funnel``) is not mistaken for a leak."""
    names = set()
    for path in (REPO / "lib" / "salesaudit").rglob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:  # a module being edited: its classes are not what this test is about
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and re.fullmatch(r"_?[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+", node.name):
                names.add(node.name.lstrip("_"))
    return frozenset(names)


def _make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", text, re.M))


WORD = r"[^\W_]"  # a letter or digit of any script
CHECKS = {
    # an identifier with an underscore between two letters/digits: deal_limit, scorecard_red, m_desk; not the name
    # of a file of the client's own export (stage_history.csv): the data-quality page says which file each table came from
    "snake_case": re.compile(rf"(?<![\w/]){WORD}*[^\W\d_]_+{WORD}[\w]*(?!\w|\.(?:csv|tsv|txt|xlsx?|parquet)\b)"),
    # Python's constants; "None" is English too ("None of the deals ..."), so not where "of" follows it
    "python constant": re.compile(r"\b(?:True|False|NaN|nan|NaT|None(?!\s+of\b))\b"),
    "python repr": re.compile(r"object at 0x|\bdtype:|\bName: |\bDataFrame\b|\bTimestamp\(|\barray\(|\bSeries\(|<NA>"),
    "module": re.compile(r"\bsalesaudit\.\w|\b(?:pandas|numpy|matplotlib|papermill|nbconvert)\.\w"),
    # a path with a directory and an extension, the package's file kinds, the folders of the repository
    "file path": re.compile(r"(?<![\w:/])(?:[\w.-]+/)+[\w-]+\.[A-Za-z]{1,5}\b|\.(?:ya?ml|ipynb|py)\b|\b(?:params|data_samples|notebooks|lib)/"),
}

# What a client legitimately sees although it looks like an identifier. Keep it short; justify each.
# (The demo's client name, ООО «Демо» (synthetic demo), needs no entry: it has no underscore or path.)
ALLOWED = {
    # a lead channel as the demo's CRM export names it: the client's own word for its channel, shown as the
    # client wrote it (pages 01, 03 and 06 group conversion and response time by channel)
    "ads_yandex",
}
#: (page, text) allowed on one page only
PAGE_ALLOWED = {
    # the data-quality page shows quarantined rows "as they were in the export": this is a cell of such a
    # row (the payment terms of a deal, in the demo export's own spelling)
    ("00_data_quality.html", "instalment_3m"),
}


def leaks(text: str, classes: set[str], targets: set[str], page: str = "") -> list[tuple[str, str]]:
    """``(kind, excerpt)`` for every internal name in ``text`` (the visible text of ``page``)."""
    found = []
    for kind, rx in CHECKS.items():
        for m in rx.finditer(text):
            if m.group(0) not in ALLOWED and (page, m.group(0)) not in PAGE_ALLOWED:
                found.append((kind, _excerpt(text, m)))
    if classes:
        rx = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, classes))) + r")\b")
        found += [("class name", _excerpt(text, m)) for m in rx.finditer(text)]
    if targets:
        rx = re.compile(r"\bmake (?:" + "|".join(sorted(map(re.escape, targets))) + r")\b")
        found += [("make command", _excerpt(text, m)) for m in rx.finditer(text)]
    return found


def _excerpt(text: str, m: re.Match, width: int = 40) -> str:
    a, b = max(0, m.start() - width), min(len(text), m.end() + width)
    return f"[{m.group(0)}] …{' '.join(text[a:b].split())}…"


# ---------------------------------------------------------------------------
# the checker itself: it fires on internals, and stays quiet on ordinary text


@pytest.mark.parametrize("text", [
    "deal_limit", "Порог: scorecard_red", "менеджер m_desk", "True", "значение False.", "NaN", "nan", "NaT", "None",
    "<salesaudit.analysis.quality.QualityResult object at 0x7f>", "dtype: int64", "Name: deals", "a DataFrame",
    "see data_samples/demo_generic", "params/clients/demo.yaml", "notebooks/00_data_quality.ipynb", "lib/x/y.py",
    "файл demo.yaml", "QualityResult", "run make demo", "deal_limit None лимит", "None.", "stage_history, activities",
])
def test_the_checker_finds_internal_names(text):
    assert leaks(text, _package_classes(), _make_targets()), text


@pytest.mark.parametrize("text", [
    "P10–P90 of the cycle", "неделя 2026-W41", "2026-10-31 23:59", "ООО «Демо» (synthetic demo)", "None of the deals stalled",
    "руб./мес.", "1/2 of the leads", "конверсия 12,5 % (95 % ДИ 10,1–15,0 %)", "Make the plan smaller", "deals.csv, leads.csv",
    "make sure the plan", "Page 3", "Funnel", "stage_history.csv", "ads_yandex", "Часовой пояс: Europe/Moscow",
])
def test_the_checker_stays_quiet_on_ordinary_text(text):
    assert leaks(text, _package_classes(), _make_targets()) == []


def test_visible_text_skips_scripts_and_styles_and_keeps_alt_and_title():
    page = ('<html><head><style>.a_b{}</style><script>var deal_limit=1;</script></head><body>'
            '<p>Конверсия</p><img alt="воронка" src="data:image/png;base64,AAAA"/><span title="подсказка">x</span>'
            '<script type="text/x">True</script></body></html>')
    text = visible_text(page)
    assert "deal_limit" not in text and ".a_b" not in text and "True" not in text
    assert all(w in text for w in ("Конверсия", "воронка", "подсказка", "x"))


# ---------------------------------------------------------------------------
# the demo, run through the real runner once per language


@pytest.fixture(scope="module", params=LANGS)
def demo_pages(request, tmp_path_factory):
    """``(lang, {page name: html})`` for every page of one demo run in ``lang``."""
    from salesaudit.runs.runner import run

    lang = request.param
    out = tmp_path_factory.mktemp(f"demo_{lang}")
    result = run(REPO / "params" / "clients" / "demo.yaml", out_dir=out, language=lang, progress=False)
    assert result.ok, [(r.notebook, r.error) for r in result.failed]
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.html"))}
    assert "index.html" in pages and len(pages) == 1 + len(list((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    return lang, pages


def test_no_internal_names_on_any_page(demo_pages):
    lang, pages = demo_pages
    classes, targets = _package_classes(), _make_targets()
    report = {name: leaks(visible_text(html), classes, targets, name) for name, html in pages.items()}
    report = {k: v for k, v in report.items() if v}
    lines = [f"{name} ({lang}):\n" + "\n".join(f"    {kind}: {ex}" for kind, ex in found) for name, found in report.items()]
    assert not report, "internal names on the client's pages:\n" + "\n".join(lines)


def test_pages_load_nothing_from_the_network(demo_pages):
    lang, pages = demo_pages
    remote = {name: [(tag, url) for tag, url in resource_refs(html) if re.match(r"(?i)\s*(?:https?:)?//", url) and tag != "a"]
              for name, html in pages.items()}
    remote = {k: v for k, v in remote.items() if v}
    assert not remote, f"pages ({lang}) load from the network: {remote}"
    for name, html in pages.items():
        # nor by a CSS @import / url() or a script's require() of a CDN
        assert not re.search(r"(?i)(?:@import|url\()\s*['\"]?(?:https?:)?//", html), name
        assert "cdnjs" not in html and "unpkg.com" not in html and "cdn.jsdelivr" not in html, name


def test_pages_hold_no_widget_or_progress_output(demo_pages):
    lang, pages = demo_pages
    for name, html in pages.items():
        assert "application/vnd.jupyter.widget" not in html, name
        assert "jupyter-widgets" not in html, name
        text = visible_text(html)
        # tqdm's bar ("45%|████▌ | 9/20 [00:01<00:02, 4.5it/s]") and a widget's static fallback
        assert not re.search(r"\d+%\|.*\|\s*\d+/\d+|it/s\]", text), name
        assert not re.search(r"\b(?:IntProgress|FloatSlider|HBox|VBox|Tab|Output)\(", text), name


def test_pages_are_under_one_megabyte(demo_pages):
    lang, pages = demo_pages
    sizes = {name: len(html.encode("utf-8")) for name, html in pages.items()}
    print(lang, sizes)
    assert max(sizes.values()) < MAX_PAGE_BYTES, {k: v for k, v in sizes.items() if v >= MAX_PAGE_BYTES}


def _rows(table_html: str) -> int:
    return len(re.findall(r"<tr\b", table_html)) - len(re.findall(r"<thead\b", table_html))


def test_long_tables_are_collapsed_behind_show_all(demo_pages):
    """A long table shows its first rows; the whole table sits in a closed <details> labelled by the catalogue."""
    from salesaudit.report.i18n import t
    from salesaudit.report.show import COLLAPSE_ROWS, PREVIEW_ROWS

    lang, pages = demo_pages
    label = t("page.show_all", lang, n="0").split("0")[0]
    collapsed = {}
    for name, html in pages.items():
        blocks = re.findall(r'<div class="salesaudit-long"><details class="salesaudit-more"><summary>(.*?)</summary>(<table.*?</table>)</details>'
                            r'<div class="salesaudit-preview">(<table.*?</table>)</div></div>', html, re.S)
        assert len(blocks) == html.count("salesaudit-more\""), name  # every collapsed table has the expected shape
        for summary, whole, preview in blocks:
            assert summary.startswith(label), (name, summary)
            n = int(re.sub(r"\D", "", summary))
            assert _rows(whole) == n > COLLAPSE_ROWS and _rows(preview) == PREVIEW_ROWS, (name, summary)
            assert whole.startswith(preview[: preview.index("</thead>")]), name  # the same columns
        collapsed[name] = len(blocks)
        # the <details> is closed: the reader sees the preview first
        assert "<details open" not in html, name
    # the demo's long tables: the stage mapping (18 rows, 00), the action list of open deals over the norm (75, 02)
    assert collapsed["00_data_quality.html"] >= 1 and collapsed["02_stage_stalls.html"] >= 1, collapsed


@pytest.mark.browser
def test_pages_fit_a_1280_px_window(demo_pages, tmp_path):
    from test_app_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent")
    from playwright.sync_api import sync_playwright

    lang, pages = demo_pages
    widths = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            requested = []
            page.on("request", lambda r: requested.append(r.url) if not r.url.startswith(("file:", "data:", "about:")) else None)
            for name, html in pages.items():
                path = tmp_path / name
                path.write_text(html, encoding="utf-8")
                page.goto(path.as_uri(), wait_until="load")
                widths[name] = page.evaluate("document.documentElement.scrollWidth")
            assert requested == [], requested
        finally:
            browser.close()
    print(lang, widths)
    assert all(w <= VIEWPORT["width"] for w in widths.values()), widths
