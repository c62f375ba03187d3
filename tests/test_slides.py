"""Slide decks (perfkit.report.slides): reveal.js inlined, structure from cell metadata, a real Chromium."""
from __future__ import annotations

import re

import nbformat
import pytest

from perfkit.report import ReportError, build_reports, execute_notebook, export_html, load_config
from perfkit.report.slides import export_slides, find_reveal, slide_counts

CODE_MARK = "UNSEEN_CODE_MARKER_1234"


def _cell(kind, src, slide_type, tags=()):
    c = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
    c.metadata["slideshow"] = {"slide_type": slide_type}
    if tags:
        c.metadata["tags"] = list(tags)
    return c


@pytest.fixture(scope="module")
def deck_src(tmp_path_factory):
    cells = [
        _cell("md", "# A deck\n\nmade by the test", "slide"),
        _cell("md", "Say hello to the panel.", "notes"),
        _cell("code", f"# {CODE_MARK}\nimport pandas as pd\nimport perfkit\n"
                      "b = perfkit.ProfileBuilder([('cpu', 'nanoseconds')])\n"
                      "for i in range(30):\n"
                      "    b.add_sample([(f'pkg.leaf{i % 5}', 'a.go', 1), ('pkg.mid', 'a.go', 2), ('main.main', 'm.go', 3)],"
                      " [1000 * (i + 1)])\n"
                      "prof = b.build()", "skip"),
        _cell("md", "## A flame graph", "slide"),
        _cell("code", "display(perfkit.interactive_flame(prof, title='test'))", "-"),
        _cell("md", "Click a frame to zoom.", "notes"),
        _cell("code", "display(pd.DataFrame({'x': range(60), 'y': range(60)}))", "subslide"),
        _cell("code", "from IPython.display import Markdown\n"
                      "display(Markdown(f'## Computed takeaway: {prof.total(\"cpu\") // 1000} us'))\n"
                      "display(Markdown('takeaway note'), metadata={'slides': 'notes'})",
              "slide", tags=("slides-only",)),
        _cell("code", "assert prof.n_samples == 30", "-", tags=("hide-report",)),
        _cell("code", "for k in ('alpha', 'beta'):\n"
                      "    display(Markdown(f'## Part {k}'))\n"
                      "    display(Markdown(f'note for {k}'), metadata={'slides': 'notes'})\n"
                      "    display(Markdown(f'#### Detail {k}'))", "slide", tags=("slides-split",)),
        _cell("md", "## Last", "slide"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    src = tmp_path_factory.mktemp("deck") / "deck.ipynb"
    nbformat.write(nb, src)
    return src


@pytest.fixture(scope="module")
def deck_nb(deck_src):
    return execute_notebook(deck_src, deck_src.with_name("deck.executed.ipynb"))


@pytest.fixture(scope="module")
def deck(deck_nb, tmp_path_factory):
    path = tmp_path_factory.mktemp("out") / "deck.slides.html"
    path.write_text(export_slides(deck_nb, "Test deck"), encoding="utf-8")
    return path


def test_missing_reveal_names_the_folder(tmp_path, deck_nb):
    with pytest.raises(ReportError, match="not a reveal.js package folder") as e:
        export_slides(deck_nb, "x", reveal_dir=tmp_path)
    assert str(tmp_path) in str(e.value)
    with pytest.raises(ReportError, match="no reveal.js theme 'nope'"):
        export_slides(deck_nb, "x", theme="nope")


def test_deck_is_self_contained_and_hides_code(deck, deck_nb):
    page = deck.read_text(encoding="utf-8")
    assert (find_reveal() / "dist" / "reveal.js").read_text(encoding="utf-8")[:200] in page
    assert CODE_MARK not in page and "assert prof.n_samples" not in page
    assert "Computed takeaway: 465 us" in page                    # sum(1000 * (1..30)) / 1000
    assert page.count('<aside class="notes">') == 5
    assert re.search(r'<aside class="notes">(?:(?!</aside>).)*takeaway note', page, re.S)   # a note, not slide text
    html = export_html(deck_nb, "Test report")
    assert "Computed takeaway" not in html                         # slides-only stays out of the report
    assert "Part alpha" in html and "note for alpha" not in html   # notes outputs only in the deck
    assert slide_counts(deck_nb) == (6, 3)


def test_deck_in_chromium(deck):
    from browser import deck_slides, open_page
    with open_page(deck, width=1280, height=720) as page:
        page.wait_for_selector("html[data-pk-ready]", state="attached", timeout=60000)
        assert page.evaluate("Reveal.getTotalSlides()") == 9
        # right arrow walks the main slides; down enters the backup slide
        for n in range(1, 4):
            page.keyboard.press("ArrowRight")
            assert page.evaluate("Reveal.getIndices().h") == n
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")
        assert page.evaluate("JSON.stringify(Reveal.getIndices())") == '{"h":1,"v":1}'
        # every slide's content lies inside the slide box once fitted
        boxes = deck_slides(page)
        assert [b["over"] <= 1 for b in boxes] == [True] * 9, boxes
        assert boxes[2]["fit"] < 0.9 and all(b["fit"] == 1 for i, b in enumerate(boxes) if i != 2), boxes
        assert [b["notes"] > 0 for b in boxes] == [True, True, False, True, True, False, True, False, False]
        page.keyboard.press("End")                                 # split: one slide per heading, #### beneath
        assert page.evaluate("Reveal.getIndices().h") == 5
        page.evaluate("Reveal.slide(4, 1)")
        assert "Detail beta" in page.locator(".reveal section.present").last.inner_text()
        # the flame graph still zooms on a click inside its slide
        # (reveal.js returns to a stack's last vertical slide, here the table: go to the flame's own slide)
        page.evaluate("Reveal.slide(1, 0)")
        assert page.evaluate("JSON.stringify(Reveal.getIndices())") == '{"h":1,"v":0}'
        flame = page.locator(".reveal section.present:not(.stack) .pk-flame")
        assert flame.get_attribute("data-zoom") == "-1"
        flame.locator('svg.pk-frame[data-name="pkg.mid"] > rect').first.click(timeout=30000)
        assert flame.get_attribute("data-zoom") != "-1"
        assert page.console_errors == [] and page.foreign_requests() == []


def test_build_writes_deck_handout_and_index_links(deck_src, tmp_path):
    from pypdf import PdfReader
    cfg = tmp_path / "reports.toml"
    cfg.write_text(f'[[report]]\nname = "talk"\nnotebook = "{deck_src}"\ntitle = "Talk"\nslides = true\n'
                   f'[[report]]\nname = "plain"\nnotebook = "{deck_src}"\n', encoding="utf-8")
    registry, root = load_config(cfg)
    out = tmp_path / "out"
    results = build_reports(registry, out, root=root)
    assert [r.status for r in results] == ["built", "built"], [r.message for r in results]
    pages = PdfReader(out / "talk.slides.pdf").pages
    assert len(pages) == 9                                        # 6 main slides + 3 backups
    assert "Say hello to the panel" in pages[0].extract_text()    # the notes print with their slide
    assert not (out / "plain.slides.html").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="talk.slides.html"' in index and 'href="talk.slides.pdf"' in index
    assert 'href="plain.slides.html"' not in index
