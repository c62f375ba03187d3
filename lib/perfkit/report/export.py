"""Export an executed notebook: self-contained offline HTML and markdown with its images."""
from __future__ import annotations

import copy
import html as _html
import logging
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from ..errors import PerfkitError
from ..fileio import write_bytes

__all__ = ["ReportError", "export_html", "export_markdown", "external_references", "write_files_dir",
           "HTML_REMOVE_TAGS", "MD_REMOVE_TAGS"]

HTML_REMOVE_TAGS = frozenset({"remove-cell", "hide-report", "slides-only"})
MD_REMOVE_TAGS = frozenset({"remove-cell", "hide-report", "html-only", "slides-only"})
_QUIET = logging.getLogger("perfkit.report.nbconvert")     # nbconvert's notes (e.g. missing alt text)
_QUIET.setLevel(logging.ERROR)


class ReportError(PerfkitError):
    """A report could not be built (notebook error, warnings in outputs, external resources)."""


# ---------------------------------------------------------------- HTML
_EXT = r"""(?:https?:)?//"""
_EXT_SCRIPT = re.compile(rf"""<script\b[^>]*\bsrc\s*=\s*["']?{_EXT}[^>]*>\s*</script>\s*""", re.I)
_EXT_LINK = re.compile(rf"""<link\b[^>]*\bhref\s*=\s*["']?{_EXT}[^>]*>\s*""", re.I)
_EXT_ATTR = re.compile(rf"""<(\w+)\b[^>]*?\b(src|href|srcset|action|data)\s*=\s*["']?\s*{_EXT}""", re.I)
_CSS_EXT = re.compile(rf"""(?:@import\s+(?:url\()?\s*["']?|url\(\s*["']?){_EXT}""", re.I)
_JS_EXT = re.compile(rf"""(?:\bimport\s*\(\s*|\bfrom\s+|\bimport\s+)["']{_EXT}""", re.I)
_PKFLAME = re.compile(r"pkflame-[0-9a-f]{16}")
_HEADING = re.compile(r"<h([1-3])\b([^>]*)>(.*?)</h\1>", re.S | re.I)
_ID = re.compile(r"""\bid\s*=\s*["']([^"']+)["']""")
_TAG = re.compile(r"<[^>]+>")


def external_references(page: str) -> list[str]:
    """External resources a page would load: any http(s):// or //host in src/href/... of an
    element other than a plain ``<a>`` link, and CSS ``url()``/``@import`` of one."""
    bad = [m.group(0)[:120] for m in _EXT_ATTR.finditer(page) if m.group(1).lower() != "a"]
    bad += [m.group(0)[:120] for m in _CSS_EXT.finditer(page)]
    bad += [m.group(0)[:120] for m in _JS_EXT.finditer(page)]
    return bad


def _renumber_flames(page: str) -> str:
    """Deterministic flame graph ids (pkflame-<random>) so rebuilds give the same bytes."""
    ids: dict[str, str] = {}

    def sub(m):
        return ids.setdefault(m.group(0), f"pkflame-{len(ids):016x}")

    return _PKFLAME.sub(sub, page)


def _toc(page: str) -> str:
    items = []
    for m in _HEADING.finditer(page):
        idm = _ID.search(m.group(2))
        if not idm:
            continue
        text = _TAG.sub("", m.group(3)).replace("\u00b6", "").strip()
        text = _html.escape(_html.unescape(text))
        items.append(f'<li class="pk-toc-h{m.group(1)}"><a href="#{_html.escape(idm.group(1), quote=True)}">'
                     f"{text}</a></li>")
    if not items:
        return ""
    return ('<nav id="pk-toc" aria-label="Table of contents"><div class="pk-toc-title">Contents</div>'
            f'<ul>{"".join(items)}</ul></nav>')


_REPORT_CSS = """
#pk-report-bar{position:sticky;top:0;z-index:100;background:#fff;border-bottom:1px solid #ddd;
  padding:6px 12px;display:flex;gap:12px;align-items:center;font:14px system-ui,sans-serif}
#pk-report-bar .pk-report-title{font-weight:600;flex:1}
#pk-toggle-code{font:13px system-ui,sans-serif;padding:3px 10px;cursor:pointer}
#pk-toc{margin:12px 24px;padding:8px 16px;border:1px solid #ddd;border-radius:4px;background:#fafafa;
  font:14px system-ui,sans-serif;max-width:900px}
#pk-toc .pk-toc-title{font-weight:600;margin-bottom:4px}
#pk-toc ul{margin:0;padding-left:0;list-style:none}
#pk-toc li.pk-toc-h2{padding-left:1.2em}
#pk-toc li.pk-toc-h3{padding-left:2.4em}
body.pk-hide-code .jp-CodeCell .jp-Cell-inputWrapper{display:none}
body.pk-hide-code .jp-CodeCell.jp-mod-noOutputs{display:none}
body.pk-hide-code .jp-OutputPrompt{visibility:hidden}
"""

_REPORT_JS = """
(function(){
  var b=document.getElementById("pk-toggle-code");
  if(!b)return;
  function sync(){
    var hidden=document.body.classList.contains("pk-hide-code");
    b.textContent=hidden?"Show code":"Hide code";
    b.setAttribute("aria-pressed",hidden?"false":"true");
  }
  b.addEventListener("click",function(){document.body.classList.toggle("pk-hide-code");sync();});
  sync();
})();
"""


def _decorate(page: str, title: str) -> str:
    """Add the code toggle, the table of contents and the report CSS/JS to an nbconvert page."""
    body = re.search(r"<body\b([^>]*)>", page, re.I)
    if not body:
        raise ReportError(title, "exported HTML has no <body>")
    attrs = body.group(1)
    if re.search(r"""\bclass\s*=\s*["']""", attrs):
        attrs = re.sub(r"""\bclass\s*=\s*(["'])""", r"class=\1pk-hide-code ", attrs, count=1)
    else:
        attrs += ' class="pk-hide-code"'
    bar = ('<div id="pk-report-bar"><span class="pk-report-title">'
           f"{_html.escape(title)}</span>"
           '<button id="pk-toggle-code" type="button" aria-pressed="false">Show code</button></div>')
    head_add = f"<style>{_REPORT_CSS}</style>\n"
    page = page[:body.start()] + f"<body{attrs}>\n{bar}\n{_toc(page)}\n" + page[body.end():]
    page = re.sub(r"<head\b[^>]*>", lambda m: m.group(0) + f'\n<meta http-equiv="Content-Security-Policy" '
                  f'content="{_CSP}">', page, count=1, flags=re.I)
    page = re.sub(r"</head>", lambda m: head_add + m.group(0), page, count=1, flags=re.I)
    page = re.sub(r"</body>", lambda m: f"<script>{_REPORT_JS}</script>\n" + m.group(0), page,
                  count=1, flags=re.I)
    return page


def _strip_volatile_metadata(nb, *, keep_slide_notes: bool = False):
    """A copy without papermill's run metadata and, unless kept, without the outputs displayed
    as speaker notes (``display(..., metadata={"slides": "notes"})``), which only decks show."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("papermill", None)
    for c in nb.cells:
        c.metadata.pop("papermill", None)
        c.metadata.pop("execution", None)
        if not keep_slide_notes and c.get("outputs"):
            c.outputs = [o for o in c.outputs if o.get("metadata", {}).get("slides") != "notes"]
        if "injected-parameters" in c.metadata.get("tags", ()):
            c["id"] = "papermill-injected-parameters"        # papermill gives it a random id
    return nb


# the lab template without the CDN scripts it adds (require.js, MathJax, mermaid, widgets)
_HTML_TEMPLATE = "perfkit_report.html.j2"
_HTML_TEMPLATE_SRC = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
# belt and braces: the browser refuses anything but inline code and data: URLs
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; font-src data:")


def export_html(nb, title: str) -> str:
    """Self-contained, offline HTML of an executed notebook (see module docstring)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = set(HTML_REMOVE_TAGS)
    c.TagRemovePreprocessor.enabled = True
    c.HTMLExporter.embed_images = True
    exp = HTMLExporter(config=c, template_name="lab", template_file=_HTML_TEMPLATE, log=_QUIET,
                       extra_loaders=[DictLoader({_HTML_TEMPLATE: _HTML_TEMPLATE_SRC})])
    exp.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    body, _ = exp.from_notebook_node(_strip_volatile_metadata(nb),
                                     resources={"metadata": {"name": title}})
    body = _EXT_SCRIPT.sub("", body)
    body = _EXT_LINK.sub("", body)
    body = _renumber_flames(body)
    body = _decorate(body, title)
    bad = external_references(body)
    if bad:
        raise ReportError(title, "the HTML would load external resources: " + ", ".join(bad[:5]))
    return body


# ---------------------------------------------------------------- markdown
def _markdown_ready(nb):
    """Drop text/html outputs holding <script> (interactive outputs have no markdown form);
    an output left with nothing but text/plain is dropped too."""
    nb = _strip_volatile_metadata(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        keep = []
        for o in cell.get("outputs", []):
            data = o.get("data")
            if data is not None and "text/html" in data and "<script" in "".join(data["text/html"]).lower():
                del data["text/html"]
                if set(data) <= {"text/plain"}:
                    continue
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                continue
            keep.append(o)
        cell.outputs = keep
    return nb


def export_markdown(nb, files_dir: str) -> tuple[str, dict[str, bytes]]:
    """Markdown of an executed notebook without code; returns (text, {relative path: bytes})."""
    from nbconvert import MarkdownExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = set(MD_REMOVE_TAGS)
    c.TagRemovePreprocessor.enabled = True
    c.MarkdownExporter.exclude_input = True
    c.MarkdownExporter.exclude_input_prompt = True
    c.MarkdownExporter.exclude_output_prompt = True
    exp = MarkdownExporter(config=c, log=_QUIET)
    exp.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    body, res = exp.from_notebook_node(_markdown_ready(nb),
                                       resources={"output_files_dir": files_dir,
                                                  "unique_key": files_dir.removesuffix("_files")})
    body = re.sub(r"<style scoped>.*?</style>\s*", "", body, flags=re.S)    # pandas' table CSS
    body = re.sub(r"[ \t]+\n", "\n", body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    if "<script" in body.lower():
        raise ReportError(files_dir, "markdown export still contains a <script> block")
    return body, dict(res.get("outputs", {}))


def write_files_dir(out_dir: Path, files_dir: str, outputs: Mapping[str, bytes]) -> list[Path]:
    """Write the markdown's images; delete files from an earlier build in that folder only."""
    d = out_dir / files_dir
    d.mkdir(parents=True, exist_ok=True)
    written = []
    for rel, data in sorted(outputs.items()):
        p = out_dir / rel
        if p.resolve().parent != d.resolve():
            raise ReportError(rel, f"exported file outside {d}")
        written.append(write_bytes(p, data))
    keep = {p.name for p in written}
    for old in d.iterdir():
        if old.name not in keep:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    return written


