"""The printing of :mod:`salesaudit.runs.pdf` on small pages made for the purpose (no notebook runs):
a table far wider than A4 is scaled down, not cut, and links become text or links inside the PDF.
Read back with poppler's ``pdftotext``; skipped only when Chromium is absent."""
from __future__ import annotations

import pytest
from test_pdf import _pages

from salesaudit.runs import pdf

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(pdf.find_chromium() is None, reason="no Chromium (Debian's chromium is not installed): "
                       "`apt-get install chromium` (as .ci/run does) to run the PDF tests"),
]


def test_a_wide_table_is_scaled_down_not_cut(tmp_path):
    cols = 40
    head = "".join(f"<th>column{c:02d}</th>" for c in range(cols))
    body = "".join("<tr>" + "".join(f"<td>r{r}c{c:02d}value</td>" for c in range(cols)) + "</tr>" for r in range(3))
    (tmp_path / "index.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Wide</title>'
        "<style>td, th { white-space: nowrap; padding: 4px 12px; }</style></head>"
        '<body><h1>Summary page</h1><p><a href="wide.html">the wide section</a> · <a href="https://example.org/">out</a></p></body></html>',
        encoding="utf-8")
    (tmp_path / "wide.html").write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Wide section</title></head><body><h1>Wide section</h1>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>", encoding="utf-8")
    result = pdf.write_pdf(tmp_path / "index.html", [pdf.Section("Wide section", tmp_path / "wide.html")],
                           tmp_path / "wide.pdf", "en")
    assert result.scaled >= 1 and result.overflowing == []
    assert result.contents == [("Summary", 1), ("Wide section", 3)]
    pages = _pages(tmp_path / "wide.pdf")
    words = set(" ".join(pages).split())
    expected = {f"column{c:02d}" for c in range(cols)} | {f"r{r}c{c:02d}value" for r in range(3) for c in range(cols)}
    assert not expected - words, sorted(expected - words)[:10]
    assert "https://example.org/" not in " ".join(pages) and b"/URI" not in (tmp_path / "wide.pdf").read_bytes()
    # the summary's link to the section's page became a link to its page in the PDF
    dests = pdf.destination_pages((tmp_path / "wide.pdf").read_bytes())
    assert sorted(dests.values()) == [1, 3]
