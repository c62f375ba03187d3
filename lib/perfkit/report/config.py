"""What to build: reports (a notebook, its parameters and exports), read from a TOML config file.

A config file lists ``[[report]]`` tables::

    root = ".."                              # paths below are relative to this (itself relative to the file)

    [[report]]
    name = "fleet-high-cpu"                  # -> fleet-high-cpu.html, and what --only selects
    notebook = "notebooks/01-fleet-high-cpu.ipynb"
    title = "Fleet high CPU investigation"
    markdown = "perf.md"                     # optional markdown export
    slides = true                            # optional reveal.js deck <name>.slides.html and PDF handout
    parameters = { }                         # papermill parameters
    ci_parameters = { short = true }         # merged over them by --ci (the short mode tests build)
    # a notebook parameter that names a path which must exist: the first existing candidate wins
    # ($VARS expand; a candidate counts as a directory, a file, or with ".tar.gz" appended)
    path_parameters.normal_archive = ["$PERFKIT_FLEET_ARCHIVES/pprof-normal", "data/fleet/pprof-normal"]
    path_hint = "how to supply them"         # optional, added to the skip message

A report whose path parameter finds no candidate (and was not given with
``--param``) is skipped with a message naming the candidates tried.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PerfkitError

__all__ = ["Report", "PathResolution", "load_config", "resolve_path_parameters", "select_reports"]

_VAR = re.compile(r"\$(\w+)|\$\{(\w+)\}")


@dataclass(frozen=True)
class Report:
    """One notebook and what it is exported to (``html``/``markdown`` relative to the output directory)."""

    notebook: str
    name: str = ""
    title: str = ""
    markdown: str | None = None
    parameters: Mapping[str, object] = field(default_factory=dict)
    ci_parameters: Mapping[str, object] = field(default_factory=dict)
    path_parameters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    path_hint: str = ""
    slides: bool = False                     # also <name>.slides.html and <name>.slides.pdf

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", Path(self.notebook).stem)
        object.__setattr__(self, "path_parameters",
                           {k: tuple(v) for k, v in dict(self.path_parameters).items()})

    @property
    def html(self) -> str:
        return f"{self.name}.html"

    @property
    def slides_html(self) -> str:
        return f"{self.name}.slides.html"

    @property
    def slides_pdf(self) -> str:
        return f"{self.name}.slides.pdf"


@dataclass(frozen=True)
class PathResolution:
    """The path parameters found (name -> absolute path) and, when one was not, why."""

    found: Mapping[str, str]
    missing: str | None


def _expand(candidate: str, environ: Mapping[str, str]) -> str | None:
    """``$VAR``/``${VAR}`` expanded, ``~`` too; None when a variable is unset or empty."""
    names = [a or b for a, b in _VAR.findall(candidate)]
    if any(not environ.get(n) for n in names):
        return None
    return os.path.expanduser(_VAR.sub(lambda m: environ[m.group(1) or m.group(2)], candidate))


def _existing(p: Path) -> Path | None:
    if p.exists():
        return p
    tgz = p.with_name(p.name + ".tar.gz")
    return tgz if tgz.is_file() else None


def resolve_path_parameters(report: Report, root: str | os.PathLike, *, given: Mapping[str, object] = (),
                            environ: Mapping[str, str] | None = None) -> PathResolution:
    """The first existing candidate of each path parameter not in ``given``, relative ones under ``root``."""
    env = os.environ if environ is None else environ
    given = dict(given or {})
    found, problems = {}, []
    for name, candidates in report.path_parameters.items():
        if given.get(name) is not None:
            continue
        tried = []
        hit = None
        for c in candidates:
            text = _expand(c, env)
            if text is None:
                unset = ", ".join(a or b for a, b in _VAR.findall(c) if not env.get(a or b))
                tried.append(f"{c} ({unset} not set)")
                continue
            p = Path(text)
            p = p if p.is_absolute() else Path(root) / p
            hit = _existing(p)
            if hit is not None:
                break
            tried.append(f"{p.resolve()}[.tar.gz]")
        if hit is None:
            problems.append(f"parameter {name!r}: none of {'; '.join(tried)} exists")
        else:
            found[name] = str(hit.resolve())
    if not problems:
        return PathResolution(found, None)
    names = ", ".join(report.path_parameters)
    msg = ("; ".join(problems) + f". Supply them by creating one of those paths, setting the variables named, "
           f"or passing --param NAME=PATH (parameters: {names})")
    if report.path_hint:
        msg += f". {report.path_hint}"
    return PathResolution(found, msg)


def _table(raw: Mapping, key: str, where) -> dict:
    v = raw.get(key, {})
    if not isinstance(v, Mapping):
        raise PerfkitError(where, f"{key} must be a table")
    return dict(v)


def load_config(path: str | os.PathLike) -> tuple[list[Report], Path]:
    """The reports of a TOML config file and the root directory their paths are relative to."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise PerfkitError(p, f"cannot read the report config: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise PerfkitError(p, f"not valid TOML: {e}") from None
    root = (p.parent / str(data.get("root", "."))).resolve()
    known = {"name", "notebook", "title", "markdown", "parameters", "ci_parameters", "path_parameters",
             "path_hint", "slides"}
    reports = []
    for i, raw in enumerate(data.get("report", [])):
        where = f"{p} [[report]] #{i + 1}"
        unknown = set(raw) - known
        if unknown:
            raise PerfkitError(where, f"unknown keys: {', '.join(sorted(unknown))}")
        if "notebook" not in raw:
            raise PerfkitError(where, "needs a notebook")
        paths = _table(raw, "path_parameters", where)
        for k, v in paths.items():
            if isinstance(v, str):
                paths[k] = (v,)
            elif not (isinstance(v, list) and all(isinstance(c, str) for c in v)):
                raise PerfkitError(where, f"path_parameters.{k} must be a string or a list of strings")
        nb = Path(raw["notebook"])
        reports.append(Report(notebook=str(nb if nb.is_absolute() else root / nb), name=raw.get("name", ""),
                              title=raw.get("title", ""), markdown=raw.get("markdown"),
                              parameters=_table(raw, "parameters", where),
                              ci_parameters=_table(raw, "ci_parameters", where),
                              path_parameters=paths, path_hint=raw.get("path_hint", ""),
                              slides=bool(raw.get("slides", False))))
    names = [r.name for r in reports]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise PerfkitError(p, f"report names must be unique: {', '.join(dup)}")
    return reports, root


def select_reports(only, registry) -> list[Report]:
    """The reports named in ``only`` (by name, notebook stem or file name, html name); all when empty."""
    if not only:
        return list(registry)
    chosen = []
    for name in only:
        hits = [r for r in registry if name in (r.name, Path(r.notebook).stem, Path(r.notebook).name, r.html)]
        if not hits:
            raise PerfkitError(name, "no such report (known: " + ", ".join(r.name for r in registry) + ")")
        chosen += [h for h in hits if h not in chosen]
    return chosen
