#!/usr/bin/env python3
"""Run every bench/bench_*.py in turn and collect their reports into bench/out/summary.md.

Each benchmark script bench_NAME.py writes its markdown table to
bench/out/NAME.md. Exit status is non-zero if any script fails to run (or
writes no report); a benchmark that runs but misses its target is reported
in the summary, not treated as a failure.

Extra arguments are passed to every script (e.g. `--repeat 5`).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    scripts = sorted(HERE.glob("bench_*.py"))
    if not scripts:
        print("run_all: no bench/bench_*.py scripts", file=sys.stderr)
        return 1
    sections, failed = [], []
    for script in scripts:
        name = script.stem[len("bench_"):]
        report = OUT / f"{name}.md"
        report.unlink(missing_ok=True)
        print(f"==> {script.name}", flush=True)
        t = time.perf_counter()
        rc = subprocess.run([sys.executable, str(script), *argv]).returncode
        took = time.perf_counter() - t
        if rc != 0:
            failed.append(script.name)
            sections.append(f"## {name}\n\n**{script.name} failed (exit {rc}) after {took:.0f}s.**\n")
        elif not report.exists():
            failed.append(script.name)
            sections.append(f"## {name}\n\n**{script.name} wrote no {report.relative_to(HERE.parent)}.**\n")
        else:
            sections.append(report.read_text().rstrip() + f"\n\n_{script.name}: {took:.0f}s_\n")
    summary = "# perfkit benchmarks\n\n" + "\n".join(sections)
    if failed:
        summary += f"\n**Failed to run: {', '.join(failed)}**\n"
    (OUT / "summary.md").write_text(summary)
    print(f"\nwrote {OUT / 'summary.md'}")
    if failed:
        print(f"run_all: failed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
