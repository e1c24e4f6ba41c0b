"""``salesaudit run --pdf``: the audit as one printable PDF, ``audit.pdf`` in the run's folder.

The PDF holds the summary (``index.html``) first, then a contents page (every part's title with
the page it starts on, labels from the catalogue in the report's language), then every notebook
page in the run's order, each from a new page; A4 with 15 mm margins and "3 / 42" in the footer,
printed at :data:`SCALE` (a page is laid out as on a screen 800 px wide, the reports' 14-16 px text
comes out at 9-10 pt).

How it is printed (the simplest robust way we found):

* **One document, one print.** A real headless Chromium (Debian's ``chromium``, driven by
  Playwright; never a downloaded browser) opens the summary, then the page is rebuilt as one
  document: each HTML page of the run becomes one part, a ``<section>`` whose content lives in its
  own *shadow root* with that page's own stylesheets (``:root``/``html`` rules apply to the shadow
  host, ``body`` rules to a ``div`` that stands for the page's body). The summary's CSS and the
  notebooks' JupyterLab CSS thus never meet, and Chromium paginates the whole thing at once, so
  the footer's ``pageNumber``/``totalPages`` count the whole report: no PDF merging, no PDF
  library.
* **Page numbers of the contents from the PDF itself.** The contents page links to every part
  (``<a href="#part-id">``), so Chromium writes a *named destination* per part into the PDF,
  pointing at the page where the part starts. The first print has placeholder numbers (in a
  column of fixed width, so the numbers cannot change the layout); the destinations are read back
  from that PDF (:func:`destination_pages`, a few lines over the PDF's cross-reference table,
  since Chromium writes its catalogue, page tree and destinations as plain objects), filled in, and
  the document is printed again; the pages are read back once more and must agree (else one more
  print, at most :data:`MAX_PASSES`). The links stay in the final PDF: the contents are clickable.
* **Paper, not screen.** Scripts, widgets, forms and embedded frames are removed; ``<details>``
  are opened (unless the page's own print CSS hides them, as the summary's does); a link to
  another page of the run becomes an internal link to its part, any other link plain text. Print CSS is injected only here, at print time: images and SVG fit the width,
  code-like blocks wrap, headings stay with what follows; anything still wider than the page after
  that (a wide table) is scaled down with CSS ``zoom`` (measured in the browser at the printed
  width, with print media emulated) so that nothing is cut off at the right edge. Network requests
  other than ``file:`` and ``data:`` are blocked: the report's own images are embedded.

Alternatives not taken: printing each page separately and merging would need a PDF library (a
new dependency) and would number the pages per part, not "3 / 42" for the report; finding the
sections' pages by searching the text with ``pdftotext`` would need poppler at run time and break
on titles repeated on the summary page.

Requirements, only for ``--pdf``: the ``playwright`` package (``pip install 'salesaudit[pdf]'``)
and Chromium (``apt-get install chromium``); :func:`require` checks both and raises
:class:`PdfUnavailable` (one paragraph, no traceback) when one is missing.
"""
from __future__ import annotations

import html as html_
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from ..errors import SalesauditError
from ..report.i18n import t

__all__ = [
    "PDF_NAME",
    "MAX_PASSES",
    "CHROMIUM_ARGS",
    "PdfUnavailable",
    "Section",
    "PdfResult",
    "find_chromium",
    "require",
    "Printer",
    "write_pdf",
    "write_run_pdf",
    "folder_sections",
    "destination_pages",
]

PDF_NAME = "audit.pdf"
#: prints of the document at most (normally two: one to find the pages, one with them filled in)
MAX_PASSES = 4
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: where Chromium is looked for, after $SALESAUDIT_CHROMIUM
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: A4, margins in mm (the footer sits in the bottom margin)
MARGIN_MM = {"top": 15, "right": 15, "bottom": 18, "left": 15}
A4_MM = (210, 297)
#: pages are printed at this scale: laid out as on a screen 1/SCALE as wide as the paper, so that a
#: 16 px screen text is 10 pt on paper and the reports' tables have room
SCALE = 0.85
#: the width the document is laid out at, in CSS pixels (the browser measures it at this width)
CONTENT_WIDTH_PX = int((A4_MM[0] - MARGIN_MM["left"] - MARGIN_MM["right"]) * 96 / 25.4 / SCALE)

FOOTER = ('<div style="width:100%;text-align:center;font-size:11px;color:#555;'
          'font-family:-apple-system,\'Segoe UI\',Roboto,Helvetica,Arial,sans-serif;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
HEADER = "<span></span>"  # an empty header (Chromium's default prints the date and the title)


class PdfUnavailable(SalesauditError):
    """``--pdf`` cannot print: Playwright or Chromium is missing."""


@dataclass
class Section:
    """One part of the PDF: its title (in the contents) and the HTML page it is printed from."""

    title: str
    html: Path


@dataclass
class PdfResult:
    """What :func:`write_pdf` wrote."""

    path: Path
    pages: int
    contents: list[tuple[str, int]]  # (title, page where the part starts), the summary first
    passes: int = 0
    scaled: int = 0  # elements scaled down to fit the width (wide tables)
    overflowing: list[str] = field(default_factory=list)  # elements still wider than the page (should be none)


# ---------------------------------------------------------------------------
# requirements


def find_chromium() -> Optional[Path]:
    """The Chromium to print with: ``$SALESAUDIT_CHROMIUM``, else the first of :data:`CHROMIUM_NAMES` on PATH."""
    env = os.environ.get("SALESAUDIT_CHROMIUM")
    if env:
        return Path(env) if Path(env).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def require() -> Path:
    """Check that a PDF can be printed here; the Chromium to use, else :class:`PdfUnavailable`."""
    missing, fixes = [], []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright")
        fixes.append("pip install 'salesaudit[pdf]' (or pip install playwright; no `playwright install` is needed)")
    chromium = find_chromium()
    if chromium is None:
        env = os.environ.get("SALESAUDIT_CHROMIUM")
        missing.append(f"Chromium ($SALESAUDIT_CHROMIUM={env} is not a file)" if env else
                       f"Chromium (none of {', '.join(CHROMIUM_NAMES)} is on PATH)")
        fixes.append("apt-get install chromium (Debian/Ubuntu), or set SALESAUDIT_CHROMIUM to a Chromium or Chrome executable")
    if missing:
        raise PdfUnavailable(
            f"Cannot write the PDF (--pdf): it is printed by a headless Chromium driven by Playwright, and "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing. How to fix: "
            f"{'; '.join(fixes)}. The HTML reports do not need either: run without --pdf to write them alone.")
    return chromium


# ---------------------------------------------------------------------------
# reading the PDF back

_XREF_ROW = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_REF = rb"(\d+) 0 R"


def _objects(data: bytes):
    """A function: object number -> the object's text up to ``endobj`` / ``stream`` (from the xref table)."""
    m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    if m is None:
        raise ValueError("no startxref")
    pos = int(m.group(1))
    if not data[pos:pos + 4] == b"xref":
        raise ValueError("a cross-reference stream (not written by Chromium's printer)")
    offsets: dict[int, int] = {}
    lines = iter(data[pos + 4:].split(b"\n"))
    first = count = 0
    for line in lines:
        line = line.strip()
        if line.startswith(b"trailer"):
            break
        head = re.fullmatch(rb"(\d+) (\d+)", line)
        if head:
            first, count = int(head.group(1)), int(head.group(2))
            continue
        row = _XREF_ROW.match(line)
        if row and count:
            if row.group(3) == b"n":
                offsets[first] = int(row.group(1))
            first += 1
            count -= 1
    trailer = data[pos:]

    def obj(num: int) -> bytes:
        start = offsets[num]
        end = min(i for i in (data.find(b"endobj", start), data.find(b"stream", start)) if i != -1)
        return data[start:end]

    return obj, trailer


def destination_pages(data: bytes) -> dict[str, int]:
    """The named destinations of a PDF Chromium printed: name -> 1-based page number.

    Chromium (Skia) writes a classic cross-reference table and the catalogue, the page tree and the
    ``/Dests`` dictionary as plain objects, which is all this reads.
    """
    obj, trailer = _objects(data)
    root = re.search(rb"/Root " + _REF, trailer)
    catalog = obj(int(root.group(1)))
    pages_ref = re.search(rb"/Pages " + _REF, catalog)
    order: dict[int, int] = {}

    def walk(num: int) -> None:
        node = obj(num)
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", node)
        if kids is None or re.search(rb"/Type\s*/Page(?![s\w])", node):
            order[num] = len(order) + 1
            return
        for ref in re.findall(_REF, kids.group(1)):
            walk(int(ref))

    walk(int(pages_ref.group(1)))
    dests_ref = re.search(rb"/Dests " + _REF, catalog)
    if dests_ref is None:
        return {}
    dests = obj(int(dests_ref.group(1)))
    found = {}
    for name, page in re.findall(rb"/([^\s/\[\]<>()]+)\s*\[\s*" + _REF, dests):
        text = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name).decode("utf-8", "replace")
        found[text] = order[int(page)]
    return found


def _page_count(data: bytes) -> int:
    obj, trailer = _objects(data)
    catalog = obj(int(re.search(rb"/Root " + _REF, trailer).group(1)))
    pages = obj(int(re.search(rb"/Pages " + _REF, catalog).group(1)))
    return int(re.search(rb"/Count (\d+)", pages).group(1))


# ---------------------------------------------------------------------------
# the document

#: CSS of the assembled document (outside the parts)
_DOC_CSS = """
html, body { margin: 0; padding: 0; background: #fff; }
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222; }
.sa-pdf-part { display: block; break-before: page; }
.sa-pdf-part:first-child { break-before: auto; }
#sa-pdf-contents h1 { font-size: 26px; margin: 0 0 22px; }
#sa-pdf-contents ol { list-style: none; margin: 0; padding: 0; }
#sa-pdf-contents li { margin: 0 0 10px; font-size: 16px; line-height: 1.35; break-inside: avoid; }
#sa-pdf-contents a { display: flex; align-items: baseline; color: inherit; text-decoration: none; }
#sa-pdf-contents .sa-pdf-title { flex: 0 1 auto; }
#sa-pdf-contents .sa-pdf-dots { flex: 1 1 auto; border-bottom: 1px dotted #999; margin: 0 6px; min-width: 24px; }
#sa-pdf-contents .sa-pdf-page { flex: 0 0 3.5em; text-align: right; font-variant-numeric: tabular-nums; }
"""

#: print CSS injected into every part, after the page's own styles
_PART_CSS = """
:host { display: block; }
.sa-pdf-body { margin: 0 !important; padding: 0 !important; background: #fff !important;
               max-width: none !important; min-width: 0 !important; overflow: visible !important; }
main { max-width: none !important; margin: 0 !important; padding: 0 !important; }
.jp-Notebook { padding: 0 !important; }
.jp-Cell { padding-left: 0 !important; padding-right: 0 !important; }
.jp-Notebook, .jp-Cell, .jp-Cell-outputWrapper, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output,
.jp-RenderedHTMLCommon, .jp-RenderedHTML, .jp-RenderedImage, .jp-RenderedSVG, .jp-RenderedText {
    overflow: visible !important; max-width: 100% !important; }
img, svg, canvas, video { max-width: 100% !important; height: auto !important; }
pre, code, samp, .jp-RenderedText pre { white-space: pre-wrap !important; overflow-wrap: break-word !important; }
h1, h2, h3, h4, h5, h6 { break-after: avoid; break-inside: avoid; }
img, svg, figure, tr, .jp-RenderedImage, .jp-RenderedSVG { break-inside: avoid; }
a { color: inherit; }
a.anchor-link, .jp-InputPrompt, .jp-OutputPrompt, .jp-Collapser,
.jupyter-widgets, .jupyter-widgets-view, .widget-area,
[data-mime-type="application/vnd.jupyter.widget-view+json"] { display: none !important; }
.sa-pdf-link { color: inherit; text-decoration: none; }
"""

_BUILD_JS = r"""
async ({parts, docCss, partCss, contents, title, lang}) => {
  const parser = new DOMParser();
  const sheets = new Map();  // identical page CSS (every notebook's JupyterLab CSS) is parsed once
  const partSheet = new CSSStyleSheet();
  partSheet.replaceSync(partCss);
  const rewrite = (sel) => sel
      .replace(/:root\b/g, ':host')
      .replace(/(^|[\s>+~,(])html(?=$|[\s>+~,.:\[#)])/g, '$1:host')
      .replace(/(^|[\s>+~,(])body(?=$|[\s>+~,.:\[#)])/g, '$1.sa-pdf-body');
  const fixRules = (rules) => {
    for (const rule of rules) {
      if (rule instanceof CSSStyleRule) {
        const sel = rewrite(rule.selectorText);
        if (sel !== rule.selectorText) rule.selectorText = sel;
      }
      if (rule.cssRules && !(rule instanceof CSSStyleRule)) fixRules(rule.cssRules);
    }
  };
  const sheetFor = (text) => {
    if (!sheets.has(text)) {
      const s = new CSSStyleSheet();
      s.replaceSync(text);
      fixRules(s.cssRules);
      sheets.set(text, s);
    }
    return sheets.get(text);
  };
  document.documentElement.setAttribute('lang', lang);
  for (const a of [...document.body.attributes]) document.body.removeAttribute(a.name);
  document.head.innerHTML = '<meta charset="utf-8">';
  const style = document.createElement('style');
  style.textContent = docCss;
  document.head.appendChild(style);
  document.title = title;
  document.body.innerHTML = '';
  const built = [];
  for (const part of parts) {
    let host;
    if (part.kind === 'contents') {
      host = document.createElement('nav');
      host.innerHTML = contents;
    } else {
      const doc = parser.parseFromString(part.html, 'text/html');
      const css = [...doc.querySelectorAll('style')].map((s) => s.textContent);
      doc.querySelectorAll('script, noscript, template, link, style, iframe, object, embed, form, input, button, select, textarea')
         .forEach((e) => e.remove());
      doc.querySelectorAll('.anchor-link').forEach((e) => e.remove());  // the pilcrow after every heading
      doc.querySelectorAll('details').forEach((d) => d.setAttribute('open', ''));
      doc.querySelectorAll('a').forEach((a) => {
        const href = (a.getAttribute('href') || '').trim();
        const file = href.split('#')[0].split('?')[0];
        const target = file ? part.links[decodeURIComponent(file)] : null;
        if (target) {
          a.setAttribute('href', '#' + target);
          a.classList.add('sa-pdf-link');
          a.removeAttribute('target');
          return;
        }
        const span = doc.createElement('span');  // paper has no links: the text stays
        span.className = a.className;
        span.append(...a.childNodes);
        a.replaceWith(span);
      });
      host = document.createElement('section');
      const root = host.attachShadow({mode: 'open'});
      root.adoptedStyleSheets = [...css.map(sheetFor), partSheet];
      const body = document.createElement('div');
      for (const attr of doc.body.attributes) body.setAttribute(attr.name, attr.value);
      body.classList.add('sa-pdf-body');
      body.append(...[...doc.body.childNodes].map((n) => document.adoptNode(n)));
      root.appendChild(body);
      built.push(root);
    }
    host.id = part.id;
    host.classList.add('sa-pdf-part');
    document.body.appendChild(host);
  }
  const images = built.flatMap((r) => [...r.querySelectorAll('img')]);
  await Promise.all(images.map((i) => i.decode().catch(() => null)));
  await document.fonts.ready;
  // anything wider than the printed width: scale it down (zoom changes the layout, unlike transform)
  let scaled = 0;
  for (const root of built) {
    const body = root.querySelector('.sa-pdf-body');
    const right = body.getBoundingClientRect().right;
    const candidates = root.querySelectorAll('table, pre, svg, img, .jp-OutputArea-output > *, .jp-RenderedHTMLCommon > *');
    for (const el of candidates) {
      if (el.parentElement && el.parentElement.closest('[data-sa-pdf-zoom]')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0) continue;
      const width = Math.max(r.width, el.scrollWidth);
      if (r.left + width > right + 0.5) {
        const zoom = Math.max(0.2, (right - r.left) / width);
        el.style.zoom = String(Math.floor(zoom * 1000) / 1000);
        el.setAttribute('data-sa-pdf-zoom', '');
        scaled += 1;
      }
    }
  }
  // what is still past the right edge (reported, never expected)
  const overflowing = [];
  for (const root of built) {
    const right = root.querySelector('.sa-pdf-body').getBoundingClientRect().right;
    for (const el of root.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0 && r.right > right + 1 && getComputedStyle(el).visibility !== 'hidden') {
        overflowing.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : ''));
      }
    }
  }
  return {scaled, overflowing};
}
"""

_FILL_JS = """
(pages) => {
  for (const el of document.querySelectorAll('#sa-pdf-contents [data-dest]')) {
    const n = pages[el.getAttribute('data-dest')];
    el.textContent = n === undefined ? '' : String(n);
  }
}
"""


def _contents_html(entries: Sequence[tuple[str, str]], lang: str) -> str:
    e = html_.escape
    rows = "".join(
        f'<li><a href="#{e(pid)}"><span class="sa-pdf-title">{e(title)}</span><span class="sa-pdf-dots"></span>'
        f'<span class="sa-pdf-page" data-dest="{e(pid)}"></span></a></li>'
        for pid, title in entries)
    return f'<h1>{e(t("pdf.contents", lang))}</h1><ol>{rows}</ol>'


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _html_title(path: Path) -> Optional[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.read(200_000)
    m = _TITLE.search(head)
    return html_.unescape(re.sub(r"\s+", " ", m.group(1))).strip() if m else None


class Printer:
    """A headless Chromium kept open to print one PDF or several (a batch of periods).

    ``with Printer() as p: p.write(summary, sections, path, lang)``.
    """

    def __init__(self, chromium: Optional[Path] = None):
        self.chromium = Path(chromium) if chromium is not None else require()
        self._pw = None
        self._browser = None

    def __enter__(self) -> "Printer":
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=str(self.chromium), args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:
            self._pw.stop()
            self._pw = None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PdfUnavailable(
                f"Cannot write the PDF (--pdf): Chromium at {self.chromium} did not start ({first}). How to fix: "
                "check that it runs (`chromium --headless --version`), reinstall it (apt-get install chromium), or set "
                "SALESAUDIT_CHROMIUM to another Chromium or Chrome executable.") from None
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            if self._pw is not None:
                self._pw.stop()
            self._browser = self._pw = None

    def write(self, summary, sections: Iterable[Section], path, lang: str, title: Optional[str] = None) -> PdfResult:
        """Print ``summary`` (an HTML page) then ``sections`` into the PDF ``path``; see the module docstring."""
        summary = Path(summary).resolve()
        sections = [Section(s.title, Path(s.html).resolve()) for s in sections]
        path = Path(path)
        summary_id = "sa-pdf-part-0"
        ids = [f"sa-pdf-part-{i}" for i in range(1, len(sections) + 1)]
        links = {summary.name: summary_id, **{s.html.name: pid for s, pid in zip(sections, ids)}}
        entries = [(summary_id, t("pdf.summary", lang)), *zip(ids, (s.title for s in sections))]
        parts = [{"id": summary_id, "kind": "page", "html": summary.read_text(encoding="utf-8"), "links": links},
                 {"id": "sa-pdf-contents", "kind": "contents"}]
        parts += [{"id": pid, "kind": "page", "html": s.html.read_text(encoding="utf-8"), "links": links}
                  for s, pid in zip(sections, ids)]

        page = self._browser.new_page(viewport={"width": CONTENT_WIDTH_PX, "height": 1000})
        try:
            # the report's own images are embedded: nothing is fetched from the network
            page.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
            page.emulate_media(media="print")
            page.goto(summary.as_uri(), wait_until="load", timeout=120_000)
            fit = page.evaluate(_BUILD_JS, {
                "parts": parts, "docCss": _DOC_CSS, "partCss": _PART_CSS, "lang": lang,
                "contents": _contents_html(entries, lang), "title": title or _html_title(summary) or t("pdf.summary", lang),
            })
            shown: dict[str, int] = {}
            passes = 0
            while True:
                passes += 1
                data = page.pdf(
                    format="A4", scale=SCALE, print_background=True, display_header_footer=True,
                    header_template=HEADER, footer_template=FOOTER,
                    margin={k: f"{v}mm" for k, v in MARGIN_MM.items()},
                )
                found = destination_pages(data)
                pages = {pid: found.get(pid) for pid, _ in entries}
                if pages == shown or passes >= MAX_PASSES:
                    break
                page.evaluate(_FILL_JS, {k: v for k, v in pages.items() if v is not None})
                shown = pages
        finally:
            page.close()
        missing = [pid for pid, n in pages.items() if n is None]
        if missing or pages != shown:
            raise RuntimeError(f"the PDF's contents could not be numbered (parts without a page: {missing}, "
                               f"passes: {passes})")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        return PdfResult(path=path, pages=_page_count(data), contents=[(title_, pages[pid]) for pid, title_ in entries],
                         passes=passes, scaled=fit["scaled"], overflowing=list(fit["overflowing"]))


def write_pdf(summary, sections: Iterable[Section], path, lang: str, title: Optional[str] = None,
              chromium: Optional[Path] = None) -> PdfResult:
    """Print one PDF (a Chromium started and stopped for it); see :class:`Printer`."""
    with Printer(chromium) as printer:
        return printer.write(summary, sections, path, lang, title=title)


def _run_sections(result) -> list[Section]:
    return [Section(nb.title, nb.html) for nb in result.notebooks if nb.html is not None and Path(nb.html).is_file()]


def write_run_pdf(result, path=None, printer: Optional[Printer] = None) -> PdfResult:
    """``audit.pdf`` of a :class:`~salesaudit.runs.runner.RunResult`: its index, then every notebook
    page it wrote, in the run's order (a notebook that wrote no page is only on the summary)."""
    path = Path(path) if path is not None else Path(result.out_dir) / PDF_NAME
    lang = result.config.language if result.config is not None else "ru"
    sections = _run_sections(result)
    if printer is not None:
        return printer.write(result.index, sections, path, lang)
    return write_pdf(result.index, sections, path, lang)


def folder_sections(folder, stems: Iterable[str]) -> list[Section]:
    """The parts of a report folder written earlier (a batch's period): ``<stem>.html`` that exist,
    titled by their ``<title>``."""
    folder = Path(folder)
    found = []
    for stem in stems:
        page = folder / f"{stem}.html"
        if page.is_file():
            found.append(Section(_html_title(page) or stem, page))
    return found
