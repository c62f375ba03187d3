"""File input and output: reads that fail with perfkit's own errors, writes that never leave a half-written
or silently replaced file."""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import PerfkitError


def read_input(path: str | os.PathLike, error: type[PerfkitError], what: str) -> bytes:
    """The file's bytes, or ``error`` naming the file: missing, a directory, a symlink loop, unreadable."""
    p = Path(path)
    try:
        return p.read_bytes()
    except IsADirectoryError:
        raise error(p, f"is a directory, not {what}") from None
    except FileNotFoundError:
        raise error(p, "no such file") from None
    except OSError as e:
        reason = "symlink loop" if e.errno == errno.ELOOP else (e.strerror or str(e))
        raise error(p, f"cannot read: {reason}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write atomically (temp file + rename) into an existing directory."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise PerfkitError(p, f"output directory {parent} does not exist")
    if p.is_dir():
        raise PerfkitError(p, "output path is a directory")
    if p.exists() and not overwrite:
        raise PerfkitError(p, "output file exists (pass overwrite=True or --force to replace it)")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())      # mkstemp creates 0600: use the usual mode
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def write_text(path: str | os.PathLike, text: str, **kw) -> Path:
    return write_bytes(path, text.encode("utf-8"), **kw)
