"""Do the chaos verdicts hold? ``run_all_chaos`` N times in a row, one table of passes.

    .venv/bin/python bench/bench_chaos.py [--runs 5] [--long] [--only latency_injection,fault_injection]

Each run is one ``wordgame_lab.run_all_chaos`` (short mode unless ``--long``), so the experiments run
as in a report, in the same order, on whatever else the machine is doing. ``--only`` runs just the
named experiments (each with run_all_chaos's arguments), N times each. For every experiment the table
gives the runs, the passes, the median and the spread (min to max) of its key figure, and the reason
of every failed run. ``--repeat N`` (what ``bench/run_all.py --repeat`` passes to every script) is
taken as ``--runs`` when ``--runs`` is not given. Writes bench/out/chaos.json and bench/out/chaos.md.
Target: every experiment passes every run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "lib"), str(HERE.parent / "wordgame")]

from wordgame_lab import EXPERIMENTS, WordgameServer, run_all_chaos  # noqa: E402
from wordgame_lab import chaos as ch  # noqa: E402

OUT = HERE / "out"
# the figures each experiment's verdict turns on (names in its ``observed``), with their units
KEY = {"latency_injection": [("p50_rise_ms", "ms"), ("hold_overshoot_ms", "ms")],
       "fault_injection": [("proxy_drop_ratio", ""), ("client_errors", "")],
       "cpu_starvation": [("throughput_ratio", ""), ("slo_fast_share_starved", ""), ("p99_starved_ms", "ms")],
       "abandon_soak": [("active_over_bound_max", ""), ("heap_growth", "")],
       "kill9_under_load": [("first_success_after_ready_s", "s")], "sigterm_under_load": [("failed_in_flight", "")]}


def _one(name: str, short: bool):
    """One experiment alone, with run_all_chaos's arguments."""
    k = 1 if short else 4
    if name in ("latency_injection", "fault_injection", "kill9_under_load"):
        with WordgameServer(env=ch.FAST_STOP) as srv:
            if name == "latency_injection":
                return ch.latency_injection(srv, delay_ms=50, requests=240 * k)
            if name == "fault_injection":
                return ch.fault_injection(srv, drop_rate=0.2, requests=400 * k)
            return ch.kill9_under_load(srv, load_seconds=1.5 if short else 5, after_seconds=1.5 if short else 5)
    if name == "cpu_starvation":
        return ch.cpu_starvation(requests=720 * k)
    if name == "abandon_soak":
        return ch.abandon_soak(short=short)
    srv = WordgameServer().start()
    try:
        return ch.sigterm_under_load(srv, load_seconds=1.5 if short else 5)
    finally:
        srv.stop()


def _fmt(v: float, unit: str) -> str:
    if v is None:
        return "n/a"
    return f"{v if v != 0 else 0.0:.3g} {unit}".strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--long", action="store_true", help="run_all_chaos(short=False): longer runs")
    ap.add_argument("--only", default="", help="comma-separated experiments, each run alone")
    a, _unknown = ap.parse_known_args()                  # run_all.py passes its arguments to every script
    runs = min(max(a.runs or a.repeat or 5, 1), 50)
    only = [x for x in a.only.split(",") if x]
    bad = [x for x in only if x not in EXPERIMENTS]
    if bad:
        print(f"bench_chaos: unknown experiment(s) {bad}; choose from {list(EXPERIMENTS)}", file=sys.stderr)
        return 2
    short = not a.long
    t0 = time.monotonic()
    rows: list[dict] = []
    for i in range(runs):
        if only:
            results = []
            for name in only:
                t = time.monotonic()
                try:
                    r = _one(name, short)
                    results.append((r.experiment, r.passed, r.reason, r.observed, time.monotonic() - t))
                except Exception as e:                   # noqa: BLE001 - a failed run, reported
                    results.append((name, False, f"raised {e!r}", {}, time.monotonic() - t))
        else:
            run = run_all_chaos(short=short)
            secs = dict(zip(run.summary["experiment"], run.summary["seconds"]))
            results = [(r.experiment, r.passed, r.reason, r.observed, secs.get(r.experiment)) for r in run.results]
        for name, passed, reason, observed, secs in results:
            figures = {f: observed.get(f) for f, _ in KEY.get(name, [])}
            rows.append({"run": i + 1, "experiment": name, "passed": bool(passed), "reason": reason,
                         "figures": {f: float(v) if isinstance(v, (int, float)) else None for f, v in figures.items()},
                         "seconds": round(secs, 1) if secs is not None else None,
                         "observed": {k: v for k, v in observed.items() if isinstance(v, (int, float, str, bool))}})
            shown = ", ".join(f"{f}={v}" for f, v in figures.items())
            print(f"  run {i + 1}: {name:20} {'PASS' if passed else 'FAIL'} {shown}  ({reason[:160]})", flush=True)
    elapsed = time.monotonic() - t0
    names = list(dict.fromkeys(r["experiment"] for r in rows))
    table = ["| experiment | runs | passes | figure | median | spread (min to max) | s per run |",
             "|---|---|---|---|---|---|---|"]
    summary = []
    for name in names:
        rs = [r for r in rows if r["experiment"] == name]
        secs = [r["seconds"] for r in rs if r["seconds"] is not None]
        passes = sum(r["passed"] for r in rs)
        entry = {"experiment": name, "runs": len(rs), "passes": passes, "figures": {}}
        for k, (figure, unit) in enumerate(KEY.get(name, [("(none)", "")])):
            vals = [r["figures"][figure] for r in rs if r["figures"].get(figure) is not None]
            med = statistics.median(vals) if vals else None
            spread = f"{_fmt(min(vals), unit)} to {_fmt(max(vals), unit)}" if vals else "n/a"
            entry["figures"][figure] = {"median": med, "min": min(vals) if vals else None,
                                        "max": max(vals) if vals else None}
            head = (f"| {name} | {len(rs)} | {passes} |" if k == 0 else "| | | |")
            tail = f" {statistics.median(secs) if secs else 'n/a'} |" if k == 0 else " |"
            table.append(f"{head} `{figure}` | {_fmt(med, unit)} | {spread} |{tail}")
        summary.append(entry)
    held = all(s["passes"] == s["runs"] for s in summary)
    fails = [f"- run {r['run']}, {r['experiment']}: {r['reason']}" for r in rows if not r["passed"]]
    mode = "long" if a.long else "short"
    md = [f"## chaos: do the verdicts hold? ({runs} consecutive runs, {mode} mode)", "",
          *table, "",
          f"**{'PASS' if held else 'FAIL'}**: " + ("every experiment passed every run." if held else
                                                 f"{len(fails)} failed run(s):"), *fails, "",
          f"_load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {elapsed:.0f} s in all._"]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "chaos.md").write_text("\n".join(md) + "\n")
    (OUT / "chaos.json").write_text(json.dumps({
        "runs": runs, "mode": mode, "only": only, "summary": summary, "rows": rows, "passed": held,
        "env": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_at_end": os.getloadavg()},
        "elapsed_s": round(elapsed, 1)}, indent=1, default=str))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
