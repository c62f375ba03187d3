"""Export an executed notebook as an offline reveal.js slide deck (nbconvert's slides exporter).

Slide structure comes from the standard cell metadata ``slideshow.slide_type``: ``slide``
starts a main slide, ``subslide`` a backup slide beneath it (reveal.js's vertical stack),
``fragment`` appears on the next key press, ``-`` continues the current slide, ``notes``
becomes the speaker notes and ``skip`` leaves the deck. A code cell tagged ``slides-split``
becomes one slide per markdown heading it displays (a loop over findings, say); what it
displays with ``metadata={"slides": "notes"}`` becomes that slide's notes (and stays out of
the reports). Cells tagged ``remove-cell`` or
``hide-report`` are left out (as in the reports); cells tagged ``slides-only`` appear only
here (the HTML and markdown reports drop them). Code is never shown.

reveal.js itself (its JavaScript, CSS, theme and notes plugin) is inlined from an installed
copy of the npm package (``find_reveal``), so a deck loads nothing from the network.
Every slide is laid out at ``width`` x ``height`` (1280 x 720); content taller or wider than
the slide is zoomed down to fit, and the zoom is recorded in ``data-pk-fit`` on the slide.
"""
from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

from .export import _QUIET, ReportError, _renumber_flames, _strip_volatile_metadata, external_references

__all__ = ["SLIDES_REMOVE_TAGS", "REVEAL_ENV", "CHROMIUM_ENV", "find_reveal", "find_chromium", "export_slides",
           "print_slides_pdf", "slide_counts"]

SLIDES_REMOVE_TAGS = frozenset({"remove-cell", "hide-report"})
REVEAL_ENV = "PERFKIT_REVEALJS"
CHROMIUM_ENV = "PERFKIT_CHROMIUM"
_CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
_CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--disable-default-apps", "--disable-extensions"]
_REVEAL_FILES = ("dist/reveal.js", "dist/reveal.css", "plugin/notes/notes.js")
_INSTALL_HINT = ("install it with `npm install reveal.js@5` (or `make setup`, which installs it into "
                 f"tools/slides/node_modules) and point ${REVEAL_ENV} at its folder")


def _candidates(start: Path):
    for d in (start, *start.parents):
        yield d / "tools" / "slides" / "node_modules" / "reveal.js"
        yield d / "node_modules" / "reveal.js"


def find_reveal(reveal_dir: str | os.PathLike | None = None) -> Path:
    """The reveal.js package folder: ``reveal_dir``, else ``$PERFKIT_REVEALJS``, else the first
    ``tools/slides/node_modules/reveal.js`` or ``node_modules/reveal.js`` in the current
    directory or above it (then above this package's own folder)."""
    given = reveal_dir or os.environ.get(REVEAL_ENV)
    if given:
        where = Path(given)
        missing = [f for f in _REVEAL_FILES if not (where / f).is_file()]
        if missing:
            raise ReportError(where, f"not a reveal.js package folder (no {', '.join(missing)}); {_INSTALL_HINT}")
        return where
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for cand in _candidates(start):
            if all((cand / f).is_file() for f in _REVEAL_FILES):
                return cand
    raise ReportError("reveal.js", f"not found for the slide decks; {_INSTALL_HINT}")


def _script(text: str) -> str:
    return "<script>\n" + text.replace("</script", "<\\/script") + "\n</script>"


def _style(text: str) -> str:
    return "<style>\n" + text.replace("</style", "<\\/style") + "\n</style>"


_SLIDES_CSS = """
.reveal .slides section{text-align:left;height:100%}
.reveal .slides section .pk-fit{transform-origin:top left}
.reveal .jp-Cell,.reveal .jp-OutputArea-output{padding:0;margin:0}
.reveal .jp-OutputArea{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:flex-start}
.reveal .jp-OutputArea-child{margin:0 0 6px 0;flex:1 1 0;min-width:0}
.reveal .jp-OutputArea-child:has(.jp-RenderedMarkdown),.reveal .jp-OutputArea-child:has(.pk-flame),
.reveal .jp-OutputArea-child:has(table){flex-basis:100%}
.reveal .jp-RenderedHTMLCommon{font-size:22px;line-height:1.35;padding-right:0}
.reveal h1,.reveal h2,.reveal h3,.reveal h4{text-transform:none}
.reveal .jp-RenderedHTMLCommon h1{font-size:44px;margin:0 0 14px 0}
.reveal .jp-RenderedHTMLCommon h2{font-size:36px;margin:0 0 12px 0}
.reveal .jp-RenderedHTMLCommon h3{font-size:28px;margin:0 0 10px 0}
.reveal .jp-RenderedHTMLCommon p,.reveal .jp-RenderedHTMLCommon li{font-size:22px}
.reveal .jp-RenderedHTMLCommon table{font-size:16px;margin:4px 0}
.reveal .jp-RenderedHTMLCommon td,.reveal .jp-RenderedHTMLCommon th{padding:3px 8px}
.reveal .pk-flame-body{max-height:430px;overflow-y:auto}
.reveal .jp-RenderedImage img,.reveal .jp-OutputArea-output img{max-width:100%;max-height:460px;
  width:auto;height:auto;margin:0 auto;display:block}
.reveal .jp-OutputArea-output pre{font-size:15px}
.reveal .slide-number{font-size:16px}
.reveal aside.notes{display:none}
"""

# wraps each leaf slide's content in div.pk-fit, then zooms it down when it overflows the slide
_FIT_JS = """
(function(){
  function leaves(){return Array.prototype.filter.call(document.querySelectorAll(".reveal .slides section"),
    function(s){return !s.querySelector("section");});}
  leaves().forEach(function(s){
    var w=document.createElement("div");w.className="pk-fit";
    Array.prototype.slice.call(s.childNodes).forEach(function(n){
      if(!(n.nodeType===1&&n.tagName==="ASIDE"))w.appendChild(n);});
    s.insertBefore(w,s.firstChild);
  });
  function extent(s,w){            // content's right and bottom edges in slide pixels; a flame graph's scroll box clips
    var r=s.getBoundingClientRect(),k=r.width/(s.offsetWidth||1),x=0,y=0;
    (function walk(el){
      Array.prototype.forEach.call(el.children,function(c){
        var b=c.getBoundingClientRect();
        if(b.width||b.height){x=Math.max(x,(b.right-r.left)/k);y=Math.max(y,(b.bottom-r.top)/k);}
        if(!c.classList.contains("pk-flame-body"))walk(c);
      });
    })(w);
    return [x,y];
  }
  window.pkFitSlides=function(W,H){
    leaves().forEach(function(s){
      var w=s.querySelector(":scope > .pk-fit");if(!w)return;
      var outer=s.parentElement.closest("section"),os=outer&&outer.style.display,oh=outer&&outer.hidden;
      if(outer){outer.style.display="block";outer.hidden=false;}
      var shown=s.style.display,hidden=s.hidden;s.style.display="block";s.hidden=false;
      var z=1;w.style.zoom=1;
      for(var i=0;i<6;i++){
        var e=extent(s,w),f=Math.min((W+1)/Math.max(e[0],1),(H+1)/Math.max(e[1],1));
        if(f>=1)break;
        z=Math.floor(z*f*0.995*1000)/1000;w.style.zoom=z;
      }
      s.setAttribute("data-pk-fit",String(z));
      s.style.display=shown;s.hidden=hidden;
      if(outer){outer.style.display=os;outer.hidden=oh;}
    });
  };
})();
"""

_INIT_JS = """
(function(){
  var cfg=%(config)s;
  cfg.plugins=[RevealNotes];
  cfg.showNotes=/print-pdf/i.test(window.location.search);
  var images=Array.prototype.map.call(document.querySelectorAll(".reveal img"),function(im){
    return im.complete?null:new Promise(function(ok){im.addEventListener("load",ok);im.addEventListener("error",ok);});});
  Promise.all([Reveal.initialize(cfg)].concat(images)).then(function(){
    Reveal.layout();
    window.pkFitSlides(cfg.width,cfg.height);
    Reveal.layout();
    document.documentElement.setAttribute("data-pk-ready","1");
  });
})();
"""

_TEMPLATE = "perfkit_slides.html.j2"
_TEMPLATE_SRC = """{%- extends 'reveal/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block footer_js -%}PERFKIT-REVEAL-SCRIPTS{%- endblock footer_js -%}
"""
_PREFIX = "PERFKIT-REVEAL"
_THEME_IMPORT = re.compile(r"@import\s+url\([^)]*\)\s*;?")     # the theme's web fonts: system fonts instead


def _heading_level(output) -> int:
    """The level of the markdown heading an output starts with (0: none)."""
    text = "".join(output.get("data", {}).get("text/markdown", "")).lstrip()
    return len(text) - len(text.lstrip("#")) if text.startswith("#") else 0


def _is_note(output) -> bool:
    return output.get("metadata", {}).get("slides") == "notes"


def _split_cells(nb):
    """Code cells into deck cells. Tagged ``slides-split``: one cell per group of outputs, a group
    starting at each markdown heading; after the first group, a heading of level 1-3 starts a slide
    (a subslide when the cell itself is one), a deeper one a backup subslide. In every code cell, the
    outputs marked as notes (``metadata={"slides": "notes"}``) follow their group as a notes cell."""
    cells = []
    for cl in nb.cells:
        if cl.cell_type != "code":
            cells.append(cl)
            continue
        kind = cl.metadata.get("slideshow", {}).get("slide_type", "-")
        groups = _output_groups(cl, kind) if "slides-split" in cl.metadata.get("tags", ()) else [(kind, cl.get("outputs", []))]
        if len(groups) == 1 and not any(_is_note(o) for o in groups[0][1]):
            cells.append(cl)
            continue
        for i, (part_kind, outs) in enumerate(groups):
            for j, (k, os_) in enumerate(((part_kind, [o for o in outs if not _is_note(o)]),
                                          ("notes", [o for o in outs if _is_note(o)]))):
                if j and not os_:
                    continue
                part = copy.deepcopy(cl)
                part.outputs = os_
                part.metadata["slideshow"] = {"slide_type": k}
                if (i or j) and "id" in part:
                    part["id"] = f"{part['id']}-{i}-{j}"
                cells.append(part)
    nb.cells = cells
    return nb


def _output_groups(cl, kind: str) -> list[tuple[str, list]]:
    groups: list[tuple[str, list]] = []
    for o in cl.get("outputs", []):
        level = _heading_level(o)
        if not groups or level:
            groups.append((kind if not groups else "subslide" if level > 3 or kind == "subslide"
                           else "slide", []))
        groups[-1][1].append(o)
    return groups or [(kind, [])]


def export_slides(nb, title: str, *, reveal_dir: str | os.PathLike | None = None, theme: str = "white",
                  width: int = 1280, height: int = 720, margin: float = 0.04) -> str:
    """Self-contained offline reveal.js deck of an executed notebook (see module docstring)."""
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    reveal = find_reveal(reveal_dir)
    theme_css = reveal / "dist" / "theme" / f"{theme}.css"
    if not theme_css.is_file():
        known = sorted(p.stem for p in (reveal / "dist" / "theme").glob("*.css"))
        raise ReportError(theme_css, f"no reveal.js theme {theme!r}; known: {', '.join(known)}")
    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = set(SLIDES_REMOVE_TAGS)
    c.TagRemovePreprocessor.enabled = True
    c.SlidesExporter.embed_images = True
    c.SlidesExporter.exclude_input = True
    c.SlidesExporter.exclude_input_prompt = True
    c.SlidesExporter.exclude_output_prompt = True
    c.SlidesExporter.reveal_url_prefix = _PREFIX
    c.SlidesExporter.reveal_theme = theme
    exp = SlidesExporter(config=c, template_file=_TEMPLATE, log=_QUIET,
                         extra_loaders=[DictLoader({_TEMPLATE: _TEMPLATE_SRC})])
    exp.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    nb = _split_cells(_strip_volatile_metadata(nb, keep_slide_notes=True))
    nb.cells = [cl for cl in nb.cells if not (cl.cell_type == "code" and not cl.get("outputs")
                                             and cl.metadata.get("slideshow", {}).get("slide_type", "-") == "-")]
    page, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": title}})

    def read(rel: str) -> str:
        return (reveal / rel).read_text(encoding="utf-8")

    page = re.sub(rf'<link\b[^>]*href="{_PREFIX}/dist/reveal.css"[^>]*>',
                  lambda m: _style(read("dist/reveal.css")), page)
    page = re.sub(rf'<link\b[^>]*href="{_PREFIX}/dist/theme/[\w-]+\.css"[^>]*>',
                  lambda m: _style(_THEME_IMPORT.sub("", theme_css.read_text(encoding="utf-8")))
                  + _style(_SLIDES_CSS), page)
    config = {"controls": True, "progress": True, "hash": True, "slideNumber": "c/t", "transition": "none",
              "width": width, "height": height, "margin": margin, "center": False,
              "pdfSeparateFragments": False, "pdfMaxPagesPerSlide": 1}
    scripts = "\n".join([_script(read("dist/reveal.js")), _script(read("plugin/notes/notes.js")),
                         _script(_FIT_JS), _script(_INIT_JS % {"config": json.dumps(config)})])
    page = page.replace("PERFKIT-REVEAL-SCRIPTS", scripts)
    page = re.sub(r"<title>(.*?) slides</title>", lambda m: f"<title>{m.group(1)}: slides</title>", page, count=1)
    page = _renumber_flames(page)
    if _PREFIX in page:
        raise ReportError(title, "slides template left a reveal.js reference un-inlined: " + page[page.index(_PREFIX) - 80:page.index(_PREFIX) + 80])
    bad = external_references(page)
    if bad:
        raise ReportError(title, "the slides would load external resources: " + ", ".join(bad[:5]))
    return page


def slide_counts(nb) -> tuple[int, int]:
    """(main slides, backup subslides) of an executed notebook's deck."""
    main = sub = 0
    for cl in _split_cells(_strip_volatile_metadata(nb, keep_slide_notes=True)).cells:
        tags = set(cl.metadata.get("tags", ()))
        if tags & SLIDES_REMOVE_TAGS:
            continue
        kind = cl.metadata.get("slideshow", {}).get("slide_type", "-")
        main += kind == "slide"
        sub += kind == "subslide"
    return main, sub


def find_chromium() -> Path:
    """The Chromium that prints the handouts: ``$PERFKIT_CHROMIUM``, else the system one."""
    import shutil
    env = os.environ.get(CHROMIUM_ENV)
    if env:
        if not Path(env).is_file():
            raise ReportError(env, f"${CHROMIUM_ENV} names no file")
        return Path(env)
    for c in (*_CHROMIUM_PATHS, shutil.which("chromium"), shutil.which("chromium-browser")):
        if c and Path(c).is_file():
            return Path(c)
    raise ReportError("chromium", f"not found for the PDF handouts; install Debian's `chromium` or set ${CHROMIUM_ENV}")


def print_slides_pdf(deck: str | os.PathLike, pdf: str | os.PathLike, *, timeout_s: float = 60) -> Path:
    """Print a deck from ``export_slides`` to a PDF handout through reveal.js's print mode in
    headless Chromium: one slide per page (fragments shown), the speaker notes on the slide's page."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ReportError(pdf, "printing a handout needs the Python package `playwright` "
                               "(pip install 'perfkit[slides]'; it drives the system Chromium)") from None
    from ..fileio import write_bytes
    exe = find_chromium()
    src = Path(deck).resolve()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(exe), headless=True, args=_CHROMIUM_ARGS)
            try:
                page = browser.new_context(offline=True).new_page()
                page.goto(src.as_uri() + "?print-pdf", timeout=timeout_s * 1000)
                page.wait_for_selector("html[data-pk-ready]", state="attached", timeout=timeout_s * 1000)
                page.wait_for_selector(".reveal .pdf-page", state="attached", timeout=timeout_s * 1000)
                data = page.pdf(prefer_css_page_size=True, print_background=True)
            finally:
                browser.close()
    except PlaywrightError as e:
        raise ReportError(src, f"Chromium could not print the deck: {str(e).splitlines()[0]}") from None
    return write_bytes(Path(pdf), data)

