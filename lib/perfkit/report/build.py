"""Build reports: execute each notebook with its parameters, export it, write the index."""
from __future__ import annotations

import argparse
import ast
import datetime as _dt
import html as _html
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PerfkitError
from ..fileio import write_text
from .config import Report, load_config, resolve_path_parameters, select_reports
from .execute import execute_notebook
from .export import export_html, export_markdown, write_files_dir
from .slides import export_slides, print_slides_pdf

__all__ = ["ReportResult", "build_report", "build_reports", "write_index", "report_command", "EXECUTED_DIR"]

EXECUTED_DIR = "_executed"


@dataclass(frozen=True)
class ReportResult:
    report: Report
    status: str                      # "built", "skipped", "failed"
    seconds: float = 0.0
    message: str = ""
    files: tuple[Path, ...] = field(default_factory=tuple)

    def line(self) -> str:
        where = str(self.files[0]) if self.files else self.report.notebook
        msg = f": {self.message}" if self.message else ""
        return f"{self.status:7s} {self.report.name:20s} {where} ({self.seconds:.1f} s){msg}"


def build_report(report: Report, out_dir: str | os.PathLike, parameters: Mapping[str, object] | None = None,
                 *, root: str | os.PathLike | None = None, ci: bool = False,
                 environ: Mapping[str, str] | None = None) -> ReportResult:
    """Execute one report's notebook and write its HTML (and markdown) into ``out_dir``.

    Parameters, later ones winning: the report's, its CI ones (``ci``), the
    path parameters found, ``parameters``. Relative notebook and path candidates
    are taken under ``root`` (default: the current directory).
    """
    t0 = time.perf_counter()
    base = Path(root) if root is not None else Path.cwd()
    nb_path = Path(report.notebook)
    nb_path = nb_path if nb_path.is_absolute() else base / nb_path
    out = Path(out_dir)
    if not nb_path.is_file():
        return ReportResult(report, "skipped", time.perf_counter() - t0,
                            f"notebook {nb_path} does not exist (yet)")
    params = {**report.parameters, **(report.ci_parameters if ci else {})}
    given = {**params, **(parameters or {})}
    paths = resolve_path_parameters(report, base, given=given, environ=environ)
    if paths.missing:
        return ReportResult(report, "skipped", time.perf_counter() - t0, paths.missing)
    params = {**params, **paths.found, **(parameters or {})}
    try:
        out.mkdir(parents=True, exist_ok=True)
        nb = execute_notebook(nb_path, out / EXECUTED_DIR / nb_path.name, params)
        files = [write_text(out / report.html, export_html(nb, report.title or report.name))]
        if report.markdown:
            md_name = Path(report.markdown)
            files_dir = f"{md_name.stem}_files"
            text, outputs = export_markdown(nb, files_dir)
            files.append(write_text(out / md_name, text))
            files += write_files_dir(out, files_dir, outputs)
        if report.slides:
            deck = write_text(out / report.slides_html, export_slides(nb, report.title or report.name))
            files += [deck, print_slides_pdf(deck, out / report.slides_pdf)]
    except PerfkitError as e:
        return ReportResult(report, "failed", time.perf_counter() - t0, e.problem)
    except Exception as e:  # noqa: BLE001 - one report failing must not stop the others
        return ReportResult(report, "failed", time.perf_counter() - t0, f"{type(e).__name__}: {e}")
    return ReportResult(report, "built", time.perf_counter() - t0, "", tuple(files))


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
        for f, what in ((rep.slides_html, "slides"), (rep.slides_pdf, "handout")):
            if rep.slides and (out / f).exists():
                ls.append(f'<a href="{esc(f, quote=True)}">{esc(f)}</a> ({what})')
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


def build_reports(registry: Sequence[Report], out_dir: str | os.PathLike, *, only: Sequence[str] | None = None,
                  parameters: Mapping[str, object] | None = None, root: str | os.PathLike | None = None,
                  ci: bool = False, environ: Mapping[str, str] | None = None,
                  echo: Callable[[str], None] | None = None) -> list[ReportResult]:
    """Build the selected reports of ``registry`` and ``index.html``; returns one result per report."""
    results = []
    for rep in select_reports(only, registry):
        r = build_report(rep, out_dir, parameters, root=root, ci=ci, environ=environ)
        results.append(r)
        if echo:
            echo(r.line())
    idx = write_index(out_dir, results, registry)
    if echo:
        echo(f"index   {idx}")
    return results


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_params(items: Sequence[str]) -> dict[str, object]:
    params = {}
    for it in items:
        if "=" not in it:
            raise PerfkitError(it, "--param wants KEY=VALUE")
        k, v = it.split("=", 1)
        params[k.strip()] = _parse_value(v)
    return params


def report_command(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m perfkit.report",
        description="Execute notebooks with their parameters and export them as offline HTML (and markdown).")
    ap.add_argument("--config", required=True, metavar="TOML", help="the reports to build (see perfkit.report)")
    ap.add_argument("--only", action="append", metavar="NAME", help="build only this report; repeatable")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="notebook parameter (Python literal or string); repeatable")
    ap.add_argument("--ci", action="store_true", help="use each report's ci_parameters (its short mode)")
    ap.add_argument("--out", metavar="DIR", help="output directory (default: <root>/reports)")
    args = ap.parse_args(argv)
    try:
        registry, root = load_config(args.config)
        results = build_reports(registry, args.out or root / "reports", only=args.only,
                                parameters=_parse_params(args.param), root=root, ci=args.ci,
                                echo=lambda s: print(s, flush=True))
    except PerfkitError as e:
        print(f"perfkit.report: {e}", file=sys.stderr)
        return 2
    return 1 if any(r.status == "failed" for r in results) else 0
