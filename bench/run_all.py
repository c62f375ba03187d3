#!/usr/bin/env python3
"""Run every bench/bench_*.py in turn and collect their reports into bench/out/summary.md.

Each benchmark script bench_NAME.py writes its markdown table to
bench/out/NAME.md. Exit status is non-zero if any script fails to run (or
writes no report); a benchmark that runs but misses its target is reported
in the summary, not treated as a failure.

Extra arguments are passed to every script (e.g. `--repeat 5`). `--only a,b` runs only
bench_a.py and bench_b.py. The summary opens with one row per benchmark: its PASS, FAIL and SKIP
verdicts (counted in its report), so a missed target shows there. `--no-run` only gathers the
reports already in bench/out/ (after running scripts one by one, with their own options).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def verdicts(text: str) -> dict[str, int]:
    return {v: len(re.findall(rf"\b{v}\b", text)) for v in ("PASS", "FAIL", "SKIP")}


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    only = None
    no_run = "--no-run" in argv
    argv = [a for a in argv if a != "--no-run"]
    if "--only" in argv:
        i = argv.index("--only")
        only = set(argv[i + 1].split(","))
        argv = argv[:i] + argv[i + 2:]
    scripts = sorted(p for p in HERE.glob("bench_*.py") if only is None or p.stem[len("bench_"):] in only)
    if not scripts:
        print("run_all: no bench/bench_*.py scripts", file=sys.stderr)
        return 1
    sections, failed, rows = [], [], []
    for script in scripts:
        name = script.stem[len("bench_"):]
        report = OUT / f"{name}.md"
        if no_run:
            if not report.exists():
                continue
            rc, took = 0, float("nan")
        else:
            report.unlink(missing_ok=True)
            print(f"==> {script.name}", flush=True)
            t = time.perf_counter()
            rc = subprocess.run([sys.executable, str(script), *argv]).returncode
            took = time.perf_counter() - t
        if rc != 0:
            failed.append(script.name)
            sections.append(f"## {name}\n\n**{script.name} failed (exit {rc}) after {took:.0f}s.**\n")
            rows.append(f"| {name} | | | | ERROR (exit {rc}) | {took:.0f} |")
        elif not report.exists():
            failed.append(script.name)
            sections.append(f"## {name}\n\n**{script.name} wrote no {report.relative_to(HERE.parent)}.**\n")
            rows.append(f"| {name} | | | | ERROR (no report) | {took:.0f} |")
        else:
            text = report.read_text().rstrip()
            v = verdicts(text)
            status = "FAIL" if v["FAIL"] else ("PASS" if v["PASS"] else ("SKIP" if v["SKIP"] else "-"))
            secs = "-" if took != took else f"{took:.0f}"          # nan: gathered, not run
            rows.append(f"| {name} | {v['PASS']} | {v['FAIL']} | {v['SKIP']} | {status} | {secs} |")
            sections.append(text + (f"\n\n_{script.name}: {secs}s_\n" if secs != "-" else "\n"))
    head = (f"# perfkit benchmarks\n\n{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} CPUs.\n\n"
            "| benchmark | PASS | FAIL | SKIP | status | seconds |\n|---|---:|---:|---:|:---:|---:|\n"
            + "\n".join(rows) + "\n\n")
    summary = head + "\n".join(sections)
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
