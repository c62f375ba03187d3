"""Execute a notebook top to bottom (papermill) and check its outputs for warnings and tracebacks."""
from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from .export import ReportError

__all__ = ["execute_notebook", "output_problems"]


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


