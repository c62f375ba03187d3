"""The generic triage report: the packaged triage notebook, executed on one archive (and a baseline), as HTML.

The notebook ships inside perfkit (``perfkit/report/notebooks/triage.ipynb``) so an installed
``perfkit triage ARCHIVE -o report.html`` can run it; ``notebooks/00-triage.ipynb`` in the
repository is the same file (a test checks that they are identical).
"""
from __future__ import annotations

import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

from ..errors import ArchiveError
from ..fileio import write_text
from .execute import execute_notebook
from .export import export_html

__all__ = ["TRIAGE_NOTEBOOK", "triage_notebook", "triage_report"]

TRIAGE_NOTEBOOK = "notebooks/triage.ipynb"


def triage_notebook() -> Path:
    """Path of the packaged triage notebook (parameters ``archive`` and ``baseline``)."""
    return Path(str(resources.files(__package__).joinpath(TRIAGE_NOTEBOOK)))


def _existing(path, what: str) -> str:
    p = Path(path).expanduser()
    if not p.exists():
        raise ArchiveError(p, f"{what}: no such file or directory")
    return str(p.resolve())


def triage_report(archive: str | os.PathLike, baseline: str | os.PathLike | None = None,
                  out: str | os.PathLike = "triage.html", *, quiet: bool = False) -> Path:
    """Execute the triage notebook on ``archive`` (and ``baseline``) and write a self-contained,
    offline HTML report to ``out``; returns ``out``.

    ``archive`` and ``baseline`` are debug archives (directories or .tar.gz). The executed
    notebook goes to a temporary directory; ``out`` is written atomically. Raises
    :class:`perfkit.ArchiveError` for a path that does not exist and
    :class:`perfkit.report.ReportError` when the notebook fails. Unless ``quiet``, one line
    saying what is being done is printed to stderr.
    """
    params = {"archive": _existing(archive, "archive"),
              "baseline": _existing(baseline, "baseline") if baseline is not None else None}
    out = Path(out)
    name = Path(params["archive"]).name.removesuffix(".tar.gz")
    title = f"Triage of {name}" + (f" against {Path(params['baseline']).name.removesuffix('.tar.gz')}"
                                   if params["baseline"] else "")
    if not quiet:
        print(f"perfkit: executing the triage notebook on {params['archive']} ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="perfkit-triage-") as tmp:
        nb = execute_notebook(triage_notebook(), Path(tmp) / "triage.ipynb", params)
        page = export_html(nb, title)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text(out, page)
