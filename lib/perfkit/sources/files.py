"""Reading an input file, with perfkit's own errors for every way it can fail."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import PerfkitError


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
