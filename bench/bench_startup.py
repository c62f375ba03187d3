#!/usr/bin/env python3
"""Benchmark: `import perfkit` and the execution of notebook 01 (the Fleet high-CPU investigation).

  import:      a fresh `python -c "import perfkit"`, against a bare `python -c pass` (--repeat runs,
               default 5); target: <= 0.5 s.
  notebook 01: notebooks/01-fleet-high-cpu.ipynb executed with papermill from notebooks/ (it reads
               ../shared/fleet-debug-archives/), --nb-repeat runs (default 3); the time is papermill's
               wall time around the kernel (start-up included); target: <= 15 s. SKIP when the archives
               or papermill are missing.

Writes bench/out/startup.{json,md}. --smoke: one import run, and a two-cell notebook instead of 01.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import OUT, ROOT, environment, env_line, spread, timed_run, verdict, write_report

TARGET_IMPORT_S = 0.5
TARGET_NOTEBOOK_S = 15.0
NOTEBOOK = ROOT / "notebooks" / "01-fleet-high-cpu.ipynb"
ARCHIVES = ROOT.parent / "shared" / "fleet-debug-archives"


def timed(cmd, cwd=None) -> float:
    return timed_run(cmd, cwd=cwd)


def tiny_notebook(path: Path) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}
             for src in ("import perfkit", "perfkit.__version__")]
    path.write_text(json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3",
                                                                           "display_name": "Python 3",
                                                                           "language": "python"}},
                                "nbformat": 4, "nbformat_minor": 5}))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--nb-repeat", type=int, default=3)
    ap.add_argument("--out-dir", type=Path, default=OUT)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args(argv)
    if a.smoke:
        a.repeat, a.nb_repeat = 1, 1
    env = environment()
    bare, imp = [], []
    for _ in range(a.repeat):
        bare.append(timed([sys.executable, "-c", "pass"]))
        imp.append(timed([sys.executable, "-c", "import perfkit"]))
    s_imp, s_bare = spread(imp), spread(bare)
    ok_imp = s_imp["median"] <= TARGET_IMPORT_S
    print(f"bench_startup: import perfkit {s_imp['median']:.3f}s (bare python {s_bare['median']:.3f}s)", flush=True)

    nb_times, nb_skip = [], None
    have_pm = subprocess.run([sys.executable, "-c", "import papermill"], capture_output=True).returncode == 0
    with tempfile.TemporaryDirectory() as td:
        if a.smoke:
            nb = tiny_notebook(Path(td) / "tiny.ipynb")
        else:
            nb = NOTEBOOK
            if not ARCHIVES.is_dir():
                nb_skip = f"no Fleet archives in {ARCHIVES}"
        if not have_pm:
            nb_skip = "papermill is not installed"
        if nb_skip is None:
            for i in range(a.nb_repeat):
                t = timed([sys.executable, "-m", "papermill", "-k", "python3", "--log-level", "WARNING",
                           str(nb), str(Path(td) / "out.ipynb")], cwd=nb.parent)
                nb_times.append(t)
                print(f"  notebook run {i + 1}/{a.nb_repeat}: {t:.2f}s", flush=True)
    s_nb = spread(nb_times)
    ok_nb = None if nb_skip else s_nb["median"] <= TARGET_NOTEBOOK_S
    f = lambda s, d=2: f"{s['median']:.{d}f} ({s['min']:.{d}f}–{s['max']:.{d}f})"  # noqa: E731
    nb_name = "tiny smoke notebook" if a.smoke else NOTEBOOK.name
    md = "\n".join([
        "## start-up: `import perfkit` and notebook 01",
        "",
        f"Fresh processes; median (min–max) of {a.repeat} import runs and {a.nb_repeat} notebook runs. "
        f"{env_line(env)}.",
        "",
        "| measure | seconds | target | result |", "|---|---:|---:|:---:|",
        f"| `python -c pass` (baseline) | {f(s_bare, 3)} | | |",
        f"| `python -c 'import perfkit'` | {f(s_imp, 3)} | <= {TARGET_IMPORT_S} | {verdict(ok_imp)} |",
        (f"| papermill {nb_name} | {f(s_nb)} | <= {TARGET_NOTEBOOK_S:.0f} | {verdict(ok_nb)} |" if not nb_skip else
         f"| papermill {nb_name} | | <= {TARGET_NOTEBOOK_S:.0f} | SKIP |"),
    ] + ([f"\nSKIP notebook: {nb_skip}."] if nb_skip else []))
    write_report(a.out_dir, "startup", md, {"env": env, "import_s": imp, "bare_s": bare, "notebook_s": nb_times,
                                            "notebook": str(nb_name), "skip": nb_skip,
                                            "pass": {"import": ok_imp, "notebook": ok_nb}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
