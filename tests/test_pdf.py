"""``salesaudit run --pdf``: the real runner on the demo (three notebooks), printed by Debian's
headless Chromium, and the PDF read back with poppler's ``pdftotext``/``pdfinfo``. What the PDF must
show is taken independently from the run's own files: the titles from each notebook's JSON
(``_title``), each section's heading from its HTML page, the table cells from the HTML tables.
Skipped only when Chromium is absent."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPO

from salesaudit.report.i18n import t
from salesaudit.runs import pdf

NOTEBOOKS = ["00_data_quality", "01_funnel", "07_rop_scorecard"]
LANG = "ru"  # the demo reports in Russian
A4_WIDTH_PT = 595.92
MM = 72 / 25.4

pytestmark = [
    pytest.mark.browser,
    pytest.mark.notebook,  # the runner executes three notebooks in kernels
    pytest.mark.slow,
    pytest.mark.skipif(pdf.find_chromium() is None, reason="no Chromium (Debian's chromium is not installed): "
                       "`apt-get install chromium` (as .ci/run does) to run the PDF tests"),
]


def _poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: the PDF is read back with poppler-utils (`apt-get install poppler-utils`)")
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True).stdout


def _pages(path: Path, *opts: str) -> list[str]:
    """The text of every page (``pdftotext`` separates pages with a form feed)."""
    text = _poppler("pdftotext", *opts, str(path), "-")
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def _norm(text: str) -> str:
    return " ".join(text.replace("¶", " ").split())


class _Texts(HTMLParser):
    """The first ``<h1>`` of a page and the text of every table cell (no scripts, styles or pilcrows; not
    within ``<details>``, which the summary's own print CSS hides)."""

    def __init__(self):
        super().__init__()
        self.h1, self.cells = None, []
        self._in_h1, self._cell, self._skip, self._links, self._details = False, None, 0, [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "a":
            anchor = "anchor-link" in (dict(attrs).get("class") or "")
            self._links.append(anchor)
            self._skip += anchor
        elif tag == "details":
            self._details += 1
        elif tag == "h1" and self.h1 is None:
            self._in_h1, self.h1 = True, ""
        elif tag in ("td", "th") and not self._details:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "a" and self._links:
            self._skip -= self._links.pop()
        elif tag == "details":
            self._details -= 1
        elif tag == "h1":
            self._in_h1 = False
        elif tag in ("td", "th") and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._in_h1:
            self.h1 += data
        if self._cell is not None:
            self._cell += data


def _texts(path: Path) -> _Texts:
    parser = _Texts()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """``salesaudit run --pdf`` on the demo with three notebooks: (output folder, the PDF's pages' text)."""
    from salesaudit.runs.cli import main

    out = tmp_path_factory.mktemp("pdf_run")
    code = main(["run", "--config", str(REPO / "params" / "clients" / "demo.yaml"), "--notebooks", *NOTEBOOKS,
                 "--out", str(out), "--pdf", "--no-progress"])
    assert code == 0
    path = out / pdf.PDF_NAME
    assert path.is_file()
    return out, _pages(path, "-layout")


def _titles(out: Path) -> list[str]:
    return [json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))["_title"] for stem in NOTEBOOKS]


def _contents(pages: list[str]) -> tuple[int, list[tuple[str, int]]]:
    """(the contents page's number, its (title, page) rows)."""
    label = t("pdf.contents", LANG)
    found = [i for i, text in enumerate(pages, 1) if text.strip().splitlines()[0].strip() == label]
    assert len(found) == 1, f"one page titled {label!r} expected, found {found}"
    rows = []
    for line in pages[found[0] - 1].strip().splitlines()[1:-1]:  # between the heading and the footer
        m = re.fullmatch(r"\s*(.+?)[\s.]+(\d+)\s*", line)
        if m:
            rows.append((m.group(1).strip(), int(m.group(2))))
    return found[0], rows


def _first_page_with(pages: list[str], text: str, skip: int) -> int:
    wanted = _norm(text)
    return next(i for i, page in enumerate(pages, 1) if i != skip and wanted in _norm(page))


def test_the_contents_list_every_section_at_the_page_where_its_title_is(printed):
    out, pages = printed
    contents_page, rows = _contents(pages)
    titles = [t("pdf.summary", LANG), *_titles(out)]
    assert [title for title, _ in rows] == titles
    numbers = [n for _, n in rows]
    assert numbers[0] == 1  # the summary opens the report
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert contents_page == numbers[1] - 1  # the contents come right before the first section
    for stem, (title, number) in zip(NOTEBOOKS, rows[1:]):
        heading = _texts(out / f"{stem}.html").h1
        assert heading, stem
        # the section's own heading is first printed on the page the contents give, at its top
        assert _first_page_with(pages, heading, skip=contents_page) == number, (title, number)
        assert _norm(pages[number - 1]).startswith(_norm(heading)), (title, pages[number - 1][:200])


def test_the_summary_comes_first(printed):
    out, pages = printed
    heading = _texts(out / "index.html").h1
    assert heading
    assert _norm(pages[0]).startswith(_norm(heading))
    contents_page, _ = _contents(pages)
    for stem in NOTEBOOKS:  # no section's text before the summary's end
        assert _first_page_with(pages, _texts(out / f"{stem}.html").h1, skip=contents_page) > contents_page


def test_more_pages_than_sections_and_every_page_numbered(printed):
    out, pages = printed
    info = _poppler("pdfinfo", str(out / pdf.PDF_NAME))
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert "A4" in re.search(r"^Page size:.*$", info, re.M).group(0)
    assert count == len(pages) > len(NOTEBOOKS) + 2  # summary, contents, and the sections run over pages
    for i, text in enumerate(pages, 1):
        assert text.strip().splitlines()[-1].strip() == f"{i} / {count}", i


def test_no_code_no_internals_no_links_out(printed):
    out, pages = printed
    text = "\n".join(pages)
    for code in ("import ", "def ", "salesaudit.", "¶"):
        assert code not in text
    assert not re.search(r"\b(True|False|None|NaN)\b", text), re.search(r".{40}\b(True|False|None|NaN)\b.{40}", text)
    data = (out / pdf.PDF_NAME).read_bytes()
    assert b"/URI" not in data  # no link leaves the PDF: a link to a file became text or a link inside
    links = re.findall(rb"/Subtype /Link\b(.*?)>>", data, re.S)
    assert len(links) >= len(NOTEBOOKS) + 1  # the contents page at least
    assert all(b"/Dest" in link for link in links)


def test_destinations_read_as_poppler_reads_them(printed):
    out, _ = printed
    path = out / pdf.PDF_NAME
    listed = {}
    for line in _poppler("pdfinfo", "-dests", str(path)).splitlines()[1:]:
        m = re.match(r"\s*(\d+)\s+\[.*\]\s+\"(.*)\"\s*$", line)
        if m:
            listed[m.group(2)] = int(m.group(1))
    assert listed and pdf.destination_pages(path.read_bytes()) == listed


def test_nothing_is_cut_off_at_the_right_edge(printed):
    out, _ = printed
    path = out / pdf.PDF_NAME
    # every word within the margins (2 pt for the glyphs' own boxes)
    boxes = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', _poppler("pdftotext", "-bbox", str(path), "-"))
    assert boxes
    assert max(float(x1) for _, x1 in boxes) <= A4_WIDTH_PT - pdf.MARGIN_MM["right"] * MM + 2
    assert min(float(x0) for x0, _ in boxes) >= pdf.MARGIN_MM["left"] * MM - 2
    # Chromium drops what lies past the page: every table cell of the HTML pages must be printed (in the PDF's
    # own text order a cell's lines follow each other; compared without whitespace, as a cell may wrap anywhere)
    flat = "".join(_poppler("pdftotext", "-raw", str(path), "-").split())
    for stem in ["index", *NOTEBOOKS]:
        cells = ["".join(cell.split()) for cell in _texts(out / f"{stem}.html").cells]
        missing = [cell for cell in cells if cell not in flat]
        assert cells and not missing, (stem, missing[:10])
