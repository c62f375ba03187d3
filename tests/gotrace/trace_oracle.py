"""Reference results from the Go toolchain for the trace tests.

* pre-1.22 event counts: tests/gotrace/countv1 (this folder) built against an unmodified copy
  of $GOROOT/src/internal/trace/internal/tracev1 (the parser `go tool trace`
  itself uses for 1.11-1.21 traces), copied into a temporary module at test time.
* 1.22+ event counts: `go tool trace -d=footprint` (the tool's wire-format reader; it prints
  one row per wire event type, named as in $GOROOT/src/internal/trace/tracev2/events.go, with
  structural records -- EventBatch, Strings/String, Stacks/Stack, Sync, Frequency,
  ClockSnapshot, EndOfGeneration -- counted too). perfkit names its types the same way and
  reports the structural records through Trace.extra["extra_counts"].
* blocking profiles: `go tool trace -pprof=TYPE`, decoded with perfkit.
"""
from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

GOTRACE = Path(__file__).resolve().parent


def goroot(go: str) -> Path:
    return Path(subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())


@lru_cache(maxsize=None)
def countv1_binary(go: str, workdir: str) -> Path:
    w = Path(workdir) / "countv1"
    if w.exists():
        shutil.rmtree(w)
    shutil.copytree(GOTRACE / "countv1", w)
    src = goroot(go) / "src/internal/trace/internal/tracev1"
    (w / "tracev1").mkdir()
    for f in ("parser.go", "order.go"):
        text = (src / f).read_text().replace('"internal/trace/version"', '"countv1/version"')
        (w / "tracev1" / f).write_text(text)
    out = w / "countv1.bin"
    subprocess.run([go, "build", "-o", str(out), "."], cwd=w, check=True,
                   env={**_env(), "GOFLAGS": "-mod=mod"})
    return out


def _env():
    import os
    return {**os.environ, "GOTOOLCHAIN": "local"}


def legacy_counts(go: str, workdir: str, trace: Path) -> dict[str, int]:
    exe = countv1_binary(go, workdir)
    out = subprocess.run([str(exe), str(trace)], capture_output=True, text=True, check=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines() if line.strip())}


def v2_counts(go: str, trace: Path) -> dict[str, int]:
    out = subprocess.run([go, "tool", "trace", "-d=footprint", str(trace)], capture_output=True,
                         text=True, check=True, env=_env()).stdout
    counts = {}
    for line in out.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 5 and parts[3].isdigit():
            counts[parts[0]] = int(parts[3])
    return counts


def go_pprof(go: str, trace: Path, kind: str) -> bytes:
    r = subprocess.run([go, "tool", "trace", f"-pprof={kind}", str(trace)], capture_output=True,
                       check=True, env=_env())
    return r.stdout


def make_trace(go: str, workdir: Path, out: Path, duration: str = "1s", workers: int = 4) -> Path:
    """Build tests/gotrace (this folder) with the local Go and let it write a trace to ``out``.
    The trace is in the format of that Go (``go 1.26 trace`` for Go 1.26)."""
    exe = Path(workdir) / "gotrace.bin"
    if not exe.exists():
        subprocess.run([go, "build", "-o", str(exe), "."], cwd=GOTRACE, check=True, env=_env(),
                       capture_output=True)
    subprocess.run([str(exe), "-o", str(out), "-d", duration, "-workers", str(workers)], check=True,
                   capture_output=True)
    return Path(out)
