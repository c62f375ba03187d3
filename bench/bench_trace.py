"""Time perfkit's trace parse + one blocking profile against `go tool trace -pprof=net`.

    python bench/bench_trace.py [TRACE ...]

Defaults to the Fleet traces (go 1.11 format). Prints wall times, the ratio
perfkit/go and perfkit's peak RSS. (A >=100 MB current-Go trace can be made with
`cd tests/gotrace && go run . -d 60s -workers 32 -o big.trace`; perfkit cannot
parse the 1.22+ format yet.)
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from perfkit.trace import read_trace  # noqa: E402
from perfkit.trace.pprof import blocking_profile  # noqa: E402


def main(paths):
    go = os.environ.get("GO", "/usr/local/go/bin/go")
    for p in paths:
        t0 = time.perf_counter()
        t = read_trace(p)
        blocking_profile(t, "net")
        mine = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([go, "tool", "trace", "-pprof=net", str(p)], check=True, capture_output=True)
        ref = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{p}: {Path(p).stat().st_size / 1e6:.1f} MB, {t.n_events:,} events; perfkit {mine:.2f}s, "
              f"go tool trace {ref:.2f}s, ratio {mine / ref:.2f}; perfkit peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    fleet = ROOT.parent / "shared" / "fleet-debug-archives"
    main(sys.argv[1:] or [fleet / a / "trace" for a in ("pprof-normal", "pprof-bad-cpu")])
