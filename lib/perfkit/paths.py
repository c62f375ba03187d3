"""Where perfkit finds things: the repository root and the Fleet debug archives.

The Fleet archives are looked up, in this order:

1. the directory named by the ``PERFKIT_FLEET_ARCHIVES`` environment variable,
2. ``<repo>/data/fleet/``,
3. ``<repo>/../shared/fleet-debug-archives/``.

A candidate counts only if it holds both ``pprof-normal`` and ``pprof-bad-cpu``
(each a directory or a ``.tar.gz``). Notebooks call ``require_fleet_archives()``
in their ``parameters`` cell; it raises one clear ``PerfkitError`` saying how to
supply the archives when none is found.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import PerfkitError

ENV_VAR = "PERFKIT_FLEET_ARCHIVES"
ARCHIVE_NAMES = ("pprof-normal", "pprof-bad-cpu")

__all__ = ["ENV_VAR", "ARCHIVE_NAMES", "repo_root", "fleet_archive_candidates", "fleet_archives_dir",
           "fleet_archives_available", "require_fleet_archives", "missing_fleet_archives_message",
           "fleet_archive_path"]


def _looks_like_repo(p: Path) -> bool:
    return (p / "pyproject.toml").is_file() and (p / "lib" / "perfkit").is_dir()


def repo_root() -> Path:
    """The perfkit checkout: ``lib/perfkit/../..`` when that is one, else the current directory
    (or its nearest parent that is a perfkit checkout)."""
    here = Path(__file__).resolve().parents[2]
    if _looks_like_repo(here):
        return here
    cwd = Path.cwd().resolve()
    for p in (cwd, *cwd.parents):
        if _looks_like_repo(p):
            return p
    return cwd


def fleet_archive_path(archives_dir: str | os.PathLike, name: str) -> Path:
    """``<dir>/<name>`` (a directory) or else ``<dir>/<name>.tar.gz``."""
    d = Path(archives_dir)
    tgz = d / f"{name}.tar.gz"
    return tgz if not (d / name).is_dir() and tgz.is_file() else d / name


def _has_archives(d: Path) -> bool:
    if not d.is_dir():
        return False
    return all((d / n).is_dir() or (d / f"{n}.tar.gz").is_file() for n in ARCHIVE_NAMES)


def fleet_archive_candidates(*, environ: Mapping[str, str] | None = None,
                             root: str | os.PathLike | None = None) -> list[Path]:
    """The directories looked at, in order (the environment variable only when set)."""
    env = os.environ if environ is None else environ
    base = Path(root) if root is not None else repo_root()
    out = []
    if env.get(ENV_VAR):
        out.append(Path(env[ENV_VAR]).expanduser())
    out += [base / "data" / "fleet", base.parent / "shared" / "fleet-debug-archives"]
    return out


def fleet_archives_dir(*, environ: Mapping[str, str] | None = None,
                       root: str | os.PathLike | None = None) -> Path | None:
    """The first candidate holding ``pprof-normal`` and ``pprof-bad-cpu``, or None."""
    for c in fleet_archive_candidates(environ=environ, root=root):
        if _has_archives(c):
            return c.resolve()
    return None


def fleet_archives_available(*, environ: Mapping[str, str] | None = None,
                             root: str | os.PathLike | None = None) -> bool:
    return fleet_archives_dir(environ=environ, root=root) is not None


def missing_fleet_archives_message(*, environ: Mapping[str, str] | None = None,
                                   root: str | os.PathLike | None = None) -> str:
    env = os.environ if environ is None else environ
    base = Path(root) if root is not None else repo_root()
    set_to = f" (currently {env[ENV_VAR]!r}, which does not hold them)" if env.get(ENV_VAR) else ""
    return ("the Fleet debug archives (pprof-normal/ and pprof-bad-cpu/, directories or .tar.gz) "
            "were not found. Supply them in one of three ways: "
            f"1) set {ENV_VAR}=/path/to/dir{set_to}; "
            f"2) copy them into {base / 'data' / 'fleet'}/; "
            f"3) place them in {base.parent / 'shared' / 'fleet-debug-archives'}/ next to the clone.")


def require_fleet_archives(*, environ: Mapping[str, str] | None = None,
                           root: str | os.PathLike | None = None) -> Path:
    """``fleet_archives_dir()`` or a ``PerfkitError`` saying how to supply the archives."""
    d = fleet_archives_dir(environ=environ, root=root)
    if d is None:
        raise PerfkitError("Fleet archives", missing_fleet_archives_message(environ=environ, root=root))
    return d
