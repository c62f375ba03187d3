"""Where the Go toolchain is: the one lookup every part of perfkit that runs ``go`` uses."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import ToolMissingError

GO_INSTALL_DIR = "/usr/local/go/bin"      # where Go's official tarball installs it, often not on PATH


def find_go(go: str | os.PathLike | None = None) -> str:
    """The Go command: ``go`` when given, else ``$PERFKIT_GO``, else ``go`` on PATH, else
    ``$GOROOT/bin/go``, else Go's official install location; ToolMissingError when none exists."""
    for cand in (go, os.environ.get("PERFKIT_GO"), shutil.which("go"),
                 os.path.join(os.environ["GOROOT"], "bin", "go") if os.environ.get("GOROOT") else None,
                 shutil.which("go", path=GO_INSTALL_DIR)):
        if cand and (Path(cand).is_file() or shutil.which(str(cand))):
            return str(cand)
    raise ToolMissingError("go", "the Go toolchain was not found: pass go=PATH, set PERFKIT_GO, put go on PATH "
                                 "(Debian: apt-get install golang-go)")
