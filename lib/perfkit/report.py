"""Build the reports: execute the registered notebooks and export them.

``python -m perfkit.report [--only NAME] [--param KEY=VALUE ...] [--out DIR]``
(``make report``) executes every notebook of ``REPORTS`` that exists with its
defaults (papermill) into ``reports/_executed/`` -- the committed notebooks are
never modified -- and writes into ``reports/``:

* ``<name>.html``: self-contained and offline (no external ``src``/``href``;
  images are base64, interactive flame graphs are inline SVG + JS), code cells
  hidden by default behind a "Show code" button, a table of contents built from
  the h1-h3 headings, cells tagged ``hide-report`` or ``remove-cell`` removed;
* ``<markdown>`` (e.g. ``perf.md``) with its images in ``<stem>_files/``: no
  code, no cells tagged ``hide-report``/``remove-cell``/``html-only``, no
  ``<script>``;
* ``index.html`` linking every report, with the build time and why a report
  was skipped.

A report whose requirement is unmet (the Fleet archives are missing) or whose
notebook does not exist yet is skipped with a message; the others still build.
A notebook that raises, or whose outputs contain warnings or tracebacks on
stderr, fails its report (exit status 1). Every file is written atomically;
re-running gives the same files.
"""
from __future__ import annotations

import argparse
import ast
import copy
import datetime as _dt
import html as _html
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PerfkitError
from .fileio import write_bytes, write_text
from .paths import fleet_archives_available, missing_fleet_archives_message, repo_root

__all__ = ["Report", "ReportResult", "REPORTS", "build_report", "build_reports", "write_index",
           "export_html", "export_markdown", "execute_notebook", "main"]

HTML_REMOVE_TAGS = frozenset({"remove-cell", "hide-report"})
MD_REMOVE_TAGS = frozenset({"remove-cell", "hide-report", "html-only"})
EXECUTED_DIR = "_executed"
_QUIET = logging.getLogger("perfkit.report.nbconvert")     # nbconvert's notes (e.g. missing alt text)
_QUIET.setLevel(logging.ERROR)


@dataclass(frozen=True)
class Report:
    """One notebook and what it is exported to (paths relative to the repo / the output dir).

    ``requires`` is a callable returning True when the report can be built;
    ``requires_message`` (a string or a callable returning one) says why not.
    """

    notebook: str
    html: str
    markdown: str | None = None
    title: str = ""
    requires: Callable[[], bool] | None = None
    requires_message: str | Callable[[], str] | None = None
    parameters: Mapping[str, object] = field(default_factory=dict)
    ci_parameters: Mapping[str, object] = field(default_factory=dict)   # the short mode tests build

    @property
    def name(self) -> str:
        return Path(self.html).stem

    def unmet_requirement(self) -> str | None:
        """None when the report can be built, else the reason it cannot."""
        if self.requires is None:
            return None
        try:
            ok = self.requires()
        except PerfkitError as e:
            return str(e)
        if ok:
            return None
        msg = self.requires_message
        if callable(msg):
            msg = msg()
        return msg or f"requirement {getattr(self.requires, '__name__', self.requires)!r} not met"


REPORTS: list[Report] = [
    Report(notebook="notebooks/01-fleet-high-cpu.ipynb", html="fleet-high-cpu.html", markdown="perf.md",
           title="Fleet high CPU investigation", requires=fleet_archives_available,
           requires_message=missing_fleet_archives_message),
    Report(notebook="notebooks/02-wordgame.ipynb", html="wordgame.html", markdown=None,
           title="wordgame: testing & monitoring", requires=None, ci_parameters={"short": True}),
]


@dataclass
class ReportResult:
    report: Report
    status: str                      # "built", "skipped", "failed"
    seconds: float = 0.0
    message: str = ""
    files: list[Path] = field(default_factory=list)

    def line(self) -> str:
        where = str(self.files[0]) if self.files else self.report.notebook
        msg = f": {self.message}" if self.message else ""
        return f"{self.status:7s} {self.report.name:20s} {where} ({self.seconds:.1f} s){msg}"


class ReportError(PerfkitError):
    """A report could not be built (notebook error, warnings in outputs, external resources)."""


# ---------------------------------------------------------------- execution
def _kernel_ok() -> None:
    """Make sure the ``python3`` kernel runs this interpreter (perfkit importable)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        spec = None
    # jupyter_client replaces a leading "python" by sys.executable when it starts the kernel
    if spec is None or spec.argv[0] not in ("python", "python3", sys.executable):
        from ipykernel.kernelspec import install
        install(prefix=sys.prefix, kernel_name="python3")


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def execute_notebook(src: Path, dst: Path, parameters: Mapping[str, object] | None = None,
                     *, timeout: int = 600):
    """Run ``src`` top to bottom with papermill into ``dst``; return the executed notebook."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    _kernel_ok()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp.ipynb")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        papermill.execute_notebook(str(src), str(tmp), parameters=dict(parameters or {}),
                                   kernel_name="python3", cwd=str(src.parent), progress_bar=False,
                                   log_output=False, execution_timeout=timeout,
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except PapermillExecutionError as e:
        if tmp.exists():
            os.replace(tmp, dst)
        first = (e.source or "").strip().splitlines()
        where = f"cell index {e.cell_index}" + (f" (In [{e.exec_count}])" if e.exec_count else "")
        snippet = f" `{first[0][:80]}`" if first else ""
        raise ReportError(src, f"{where}{snippet} raised {e.ename}: {e.evalue} "
                               f"(executed notebook: {dst})") from None
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    os.replace(tmp, dst)
    nb = nbformat.read(str(dst), as_version=4)
    problems = output_problems(nb)
    if problems:
        raise ReportError(src, "warnings or tracebacks in the output: " + "; ".join(problems)
                          + f" (executed notebook: {dst})")
    return nb


_BAD_STDERR = re.compile(r"Warning|Traceback")


def output_problems(nb) -> list[str]:
    """Cells whose outputs hold an error, or stderr text with a warning or traceback."""
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                text = o.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                if _BAD_STDERR.search(text):
                    line = next((ln for ln in text.splitlines() if _BAD_STDERR.search(ln)), text)
                    out.append(f"cell {i}: {line.strip()[:200]}")
    return out


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


def _strip_volatile_metadata(nb):
    nb = copy.deepcopy(nb)
    nb.metadata.pop("papermill", None)
    for c in nb.cells:
        c.metadata.pop("papermill", None)
        c.metadata.pop("execution", None)
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


def _write_files_dir(out_dir: Path, files_dir: str, outputs: Mapping[str, bytes]) -> list[Path]:
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


# ---------------------------------------------------------------- build
def build_report(report: Report, out_dir: str | os.PathLike, parameters: Mapping[str, object] | None = None,
                 *, root: str | os.PathLike | None = None, check_requirements: bool = True) -> ReportResult:
    """Execute one report's notebook and write its HTML (and markdown) into ``out_dir``."""
    t0 = time.perf_counter()
    base = Path(root) if root is not None else repo_root()
    nb_path = Path(report.notebook)
    nb_path = nb_path if nb_path.is_absolute() else base / nb_path
    out = Path(out_dir)
    if not nb_path.is_file():
        return ReportResult(report, "skipped", time.perf_counter() - t0,
                            f"notebook {nb_path} does not exist (yet)")
    if check_requirements:
        why = report.unmet_requirement()
        if why:
            return ReportResult(report, "skipped", time.perf_counter() - t0, why)
    try:
        out.mkdir(parents=True, exist_ok=True)
        params = {**report.parameters, **(parameters or {})}
        nb = execute_notebook(nb_path, out / EXECUTED_DIR / nb_path.name, params)
        files = [write_text(out / report.html, export_html(nb, report.title or report.name))]
        if report.markdown:
            md_name = Path(report.markdown)
            files_dir = f"{md_name.stem}_files"
            text, outputs = export_markdown(nb, files_dir)
            files.append(write_text(out / md_name, text))
            files += _write_files_dir(out, files_dir, outputs)
    except PerfkitError as e:
        return ReportResult(report, "failed", time.perf_counter() - t0, e.problem)
    except Exception as e:  # noqa: BLE001 - one report failing must not stop the others
        return ReportResult(report, "failed", time.perf_counter() - t0, f"{type(e).__name__}: {e}")
    return ReportResult(report, "built", time.perf_counter() - t0, "", files)


def write_index(out_dir: str | os.PathLike, results: Sequence[ReportResult],
                registry: Iterable[Report] = (), *, now: _dt.datetime | None = None) -> Path:
    """``index.html``: every report of this run (and earlier builds of the others) with links."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    now = now or _dt.datetime.now().astimezone()
    seen = {r.report.name for r in results}
    rows = []
    esc = _html.escape

    def links(rep: Report) -> str:
        ls = [f'<a href="{esc(rep.html, quote=True)}">{esc(rep.html)}</a>']
        if rep.markdown and (out / rep.markdown).exists():
            ls.append(f'<a href="{esc(rep.markdown, quote=True)}">{esc(rep.markdown)}</a> (markdown)')
        return " &middot; ".join(ls)

    for r in results:
        rep = r.report
        title = esc(rep.title or rep.name)
        if r.status == "built":
            rows.append(f'<tr class="built"><td>{title}</td><td>built in {r.seconds:.1f} s</td>'
                        f"<td>{links(rep)}</td></tr>")
        else:
            rows.append(f'<tr class="{r.status}"><td>{title}</td><td>{r.status}</td>'
                        f"<td>{esc(r.message)}</td></tr>")
    for rep in registry:
        if rep.name not in seen and (out / rep.html).exists():
            rows.append(f'<tr class="earlier"><td>{esc(rep.title or rep.name)}</td>'
                        f"<td>not rebuilt in this run</td><td>{links(rep)}</td></tr>")
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<title>perfkit reports</title><style>"
        "body{font:15px system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em}"
        "table{border-collapse:collapse;width:100%}td{border-bottom:1px solid #ddd;padding:6px 8px;"
        "vertical-align:top}tr.skipped td,tr.failed td{color:#8a4b00}tr.failed td{color:#b00020}"
        "</style></head><body>\n<h1>perfkit reports</h1>\n"
        f'<p>Built <time datetime="{now.isoformat(timespec="seconds")}">'
        f"{now.strftime('%Y-%m-%d %H:%M:%S %Z')}</time>.</p>\n"
        "<table><tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n</body></html>\n")
    return write_text(out / "index.html", page)


def select_reports(only: Sequence[str] | None, registry: Sequence[Report]) -> list[Report]:
    if not only:
        return list(registry)
    chosen = []
    for name in only:
        hits = [r for r in registry if name in (r.name, Path(r.notebook).stem, Path(r.notebook).name, r.html)]
        if not hits:
            raise PerfkitError(name, "no such report (known: " + ", ".join(r.name for r in registry) + ")")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def build_reports(out_dir: str | os.PathLike | None = None, *, only: Sequence[str] | None = None,
                  parameters: Mapping[str, object] | None = None, registry: Sequence[Report] | None = None,
                  root: str | os.PathLike | None = None,
                  echo: Callable[[str], None] | None = None) -> list[ReportResult]:
    """Build the selected reports and ``index.html``; returns one result per report."""
    base = Path(root) if root is not None else repo_root()
    registry = REPORTS if registry is None else registry
    out = Path(out_dir) if out_dir is not None else base / "reports"
    results = []
    for rep in select_reports(only, registry):
        r = build_report(rep, out, parameters, root=base)
        results.append(r)
        if echo:
            echo(r.line())
    idx = write_index(out, results, registry)
    if echo:
        echo(f"index   {idx}")
    return results


def _parse_params(items: Sequence[str]) -> dict[str, object]:
    params = {}
    for it in items:
        if "=" not in it:
            raise PerfkitError(it, "--param wants KEY=VALUE")
        k, v = it.split("=", 1)
        params[k.strip()] = _parse_value(v)
    return params


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m perfkit.report", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="build only this report (e.g. fleet-high-cpu); repeatable")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="notebook parameter (Python literal or string); repeatable")
    ap.add_argument("--out", metavar="DIR", help="output directory (default: <repo>/reports)")
    args = ap.parse_args(argv)
    try:
        results = build_reports(args.out, only=args.only, parameters=_parse_params(args.param),
                                echo=lambda s: print(s, flush=True))
    except PerfkitError as e:
        print(f"perfkit.report: {e}", file=sys.stderr)
        return 2
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
