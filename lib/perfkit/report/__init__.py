"""Build reports from notebooks: execute each with its parameters (papermill) and export it.

``python -m perfkit.report --config reports.toml [--only NAME] [--param KEY=VALUE ...] [--ci] [--out DIR]``
executes the selected notebooks of a config file (see :mod:`perfkit.report.config`) into
``<out>/_executed/`` -- the notebooks themselves are never modified -- and writes into ``<out>``:

* ``<name>.html``: self-contained and offline (no external ``src``/``href``; images are
  base64, interactive flame graphs are inline SVG + JS), code cells hidden by default behind
  a "Show code" button, a table of contents built from the h1-h3 headings, cells tagged
  ``hide-report`` or ``remove-cell`` removed;
* the report's ``markdown`` file (e.g. ``perf.md``) with its images in ``<stem>_files/``: no
  code, no cells tagged ``hide-report``/``remove-cell``/``html-only``, no ``<script>``;
* with ``slides = true``, ``<name>.slides.html`` (an offline reveal.js deck, see
  :mod:`perfkit.report.slides`) and ``<name>.slides.pdf`` (its handout);
* ``index.html`` linking every report, with the build time and why a report was skipped.

``triage_report(archive, baseline, out)`` runs the packaged generic triage notebook on any
debug archive (what ``perfkit triage ARCHIVE -o report.html`` does).

A report whose notebook does not exist, or one of whose path parameters finds none of its
candidates, is skipped with a message; the others still build. A notebook that raises, or
whose outputs contain warnings or tracebacks on stderr, fails its report (exit status 1).
Every file is written atomically; re-running gives the same files.
"""
from .build import EXECUTED_DIR, ReportResult, build_report, build_reports, report_command, write_index
from .config import PathResolution, Report, load_config, resolve_path_parameters, select_reports
from .execute import execute_notebook, output_problems
from .export import ReportError, export_html, export_markdown, external_references
from .slides import export_slides, print_slides_pdf, slide_counts
from .triage import TRIAGE_NOTEBOOK, triage_notebook, triage_report

__all__ = ["Report", "ReportResult", "ReportError", "PathResolution", "load_config", "resolve_path_parameters",
           "select_reports", "build_report", "build_reports", "write_index", "execute_notebook",
           "output_problems", "export_html", "export_markdown", "external_references", "EXECUTED_DIR", "report_command",
           "TRIAGE_NOTEBOOK", "triage_notebook", "triage_report", "export_slides", "print_slides_pdf", "slide_counts"]
