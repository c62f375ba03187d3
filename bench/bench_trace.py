"""Time perfkit's trace parse + one blocking profile (net) against `go tool trace -pprof=net`.

    python bench/bench_trace.py [TRACE ...]
    python bench/bench_trace.py --make     # write bench/out/trace-current.trace (>= 100 MB, current Go)

Each side runs as its own process under ``/usr/bin/time -f %M`` (peak RSS, KB) and is timed
by wall clock, on the same file, in one run. Prints size, events, both times, the ratio
perfkit/go (target <= 3) and both peak RSS figures.

Without arguments: bench/out/trace-current.trace (made with --make if absent) and the
Fleet traces (go 1.11 format) when ../shared is present.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
GO = os.environ.get("GO", "/usr/local/go/bin/go")
PY = sys.executable
KIT = """
import sys; sys.path.insert(0, {lib!r})
from perfkit.trace import read_trace
from perfkit.trace.blocking import blocking_profile
t = read_trace(sys.argv[1])
p = blocking_profile(t, "net")
print(t.n_events, p.total("contentions"))
"""


def make_current(min_mb: int = 100) -> Path:
    out = OUT / "trace-current.trace"
    OUT.mkdir(parents=True, exist_ok=True)
    exe = OUT / "gotrace.bin"
    subprocess.run([GO, "build", "-o", str(exe), "."], cwd=ROOT / "tests" / "gotrace", check=True,
                   env={**os.environ, "GOTOOLCHAIN": "local"})
    d = 4
    while True:   # the trace rate varies between machines: lengthen until large enough
        subprocess.run([str(exe), "-o", str(out), "-d", f"{d}s", "-workers", "16"], check=True)
        if out.stat().st_size >= min_mb * 1e6 or d >= 120:
            return out
        d *= 2


def timed(cmd) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True,
                       env={**os.environ, "GOTOOLCHAIN": "local"})
    el = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {r.stderr[-2000:].decode(errors='replace')}")
    rss_kb = int(r.stderr.decode(errors="replace").strip().splitlines()[-1])
    return el, rss_kb, r.stdout.decode("latin-1")


def main(argv):
    if argv[:1] == ["--make"]:
        print(make_current())
        return
    paths = [Path(p) for p in argv]
    if not paths:
        cur = OUT / "trace-current.trace"
        paths = [cur if cur.exists() else make_current()]
        fleet = ROOT.parent / "shared" / "fleet-debug-archives"
        paths += [fleet / a / "trace" for a in ("pprof-normal",) if (fleet / a / "trace").exists()]
    for p in paths:
        mine, mine_rss, outp = timed([PY, "-c", KIT.format(lib=str(ROOT / "lib")), str(p)])
        ref, ref_rss, _ = timed([GO, "tool", "trace", "-pprof=net", str(p)])
        n_events = int(outp.split()[0])
        print(f"{p.name}: {p.stat().st_size / 1e6:.1f} MB, {n_events:,} events; "
              f"perfkit {mine:.2f}s (peak RSS {mine_rss / 1024:.0f} MB), "
              f"go tool trace -pprof=net {ref:.2f}s (peak RSS {ref_rss / 1024:.0f} MB), "
              f"ratio {mine / ref:.2f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
