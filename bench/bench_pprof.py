#!/usr/bin/env python3
"""Benchmark: perfkit load + top against `go tool pprof -top` on one big CPU profile.

In one run, on the same file (bench/out/big-cpu.pb.gz, built by
make_big_profile.py when missing):

  kit: a fresh `python -c` process doing perfkit.read_profile(path) + perfkit.top(p)
       (the full table, no nodecount)
  go:  go tool pprof -top -nodecount=1000000 -nodefraction=0 -unit=nanoseconds path  (> /dev/null)

Each is run --repeat times (interleaved, alternating which goes first) after
one untimed warm-up run of each that also checks both tools agree on the
top-1 row (name, flat, cum) and the row count, so the benchmark compares
equal work. Wall time is measured around each subprocess; peak RSS comes from
/usr/bin/time (%M) when present, else from a wrapper process reading
getrusage(RUSAGE_CHILDREN) for its single child. Either way it is the peak of
the largest process of the run (for `go tool pprof`, the pprof child of the
go command), not a sum.

Targets: median wall kit/go <= 1.0, peak RSS kit/go <= 2.0. A missed target is
reported (FAIL in the table) but the exit status stays 0; a tool that fails to
run or a top-1 mismatch exits non-zero. Results: bench/out/pprof.json and
bench/out/pprof.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
DEFAULT_PROFILE = OUT / "big-cpu.pb.gz"
TIME_BIN = "/usr/bin/time"
TARGET_TIME_RATIO = 1.0
TARGET_RSS_RATIO = 2.0

KIT_CODE = """\
import json, sys
import perfkit
p = perfkit.read_profile(sys.argv[1])
df = perfkit.top(p)
r = df.iloc[0]
print(json.dumps({"samples": p.n_samples, "rows": len(df),
                  "top1": [str(r["name"]), int(r["flat"]), int(r["cum"])]}))
"""

# run one command, report its wall time and the peak RSS of its process tree's largest process
WRAPPER_CODE = """\
import json, resource, subprocess, sys, time
spec = json.loads(sys.argv[1])
out = open(spec["stdout"], "wb") if spec["stdout"] else subprocess.DEVNULL
t = time.perf_counter()
rc = subprocess.run(spec["cmd"], stdout=out, stderr=subprocess.PIPE).returncode
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(json.dumps({"rc": rc, "wall": wall, "maxrss_kb": ru.ru_maxrss,
                             "user": ru.ru_utime, "sys": ru.ru_stime}) + "\\n")
"""


def go_binary(explicit: str | None) -> str:
    if explicit:
        return explicit
    found = shutil.which("go")
    if found:
        return found
    if Path("/usr/local/go/bin/go").exists():
        return "/usr/local/go/bin/go"
    sys.exit("bench_pprof: cannot find the go command (pass --go)")


def measure(cmd: list[str], stdout_path: str | None, use_time_bin: bool, timeout: float) -> dict:
    """Run cmd in a fresh process; wall seconds, peak RSS (KiB), CPU seconds."""
    if use_time_bin:
        with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
            tpath = tf.name
        try:
            out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
            try:
                t = time.perf_counter()
                r = subprocess.run([TIME_BIN, "-f", "%M %U %S", "-o", tpath, *cmd], stdout=out,
                                   stderr=subprocess.PIPE, timeout=timeout)
                wall = time.perf_counter() - t
            finally:
                if stdout_path:
                    out.close()
            fields = Path(tpath).read_text().strip().splitlines()[-1].split()
        finally:
            os.unlink(tpath)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
        return {"wall": wall, "maxrss_kb": int(fields[0]), "user": float(fields[1]), "sys": float(fields[2])}
    spec = json.dumps({"cmd": cmd, "stdout": stdout_path})
    r = subprocess.run([sys.executable, "-c", WRAPPER_CODE, spec], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
    lines = r.stderr.decode(errors="replace").strip().splitlines()
    try:
        res = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f"measurement wrapper failed: {r.stderr.decode(errors='replace')[-2000:]}") from None
    if res["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {res['rc']}: {chr(10).join(lines[:-1])[-2000:]}")
    return {"wall": res["wall"], "maxrss_kb": int(res["maxrss_kb"]), "user": res["user"], "sys": res["sys"]}


_VAL = re.compile(r"^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)([a-zA-Z]*)$")
_INLINE = re.compile(r" \((?:partial-)?inline\)$")


def _num(text: str) -> int:
    m = _VAL.match(text)
    if not m:
        raise ValueError(f"cannot parse pprof value {text!r}")
    return int(float(m.group(1)))


def parse_go_top(text: str) -> dict:
    """Rows of `go tool pprof -top` output: top-1 (name, flat, cum) and the row count."""
    rows = []
    started = False
    total = None
    for line in text.splitlines():
        if not started:
            m = re.search(r"of (-?\d+)\S* total", line)
            if m:
                total = int(m.group(1))
            started = line.split()[:2] == ["flat", "flat%"]
            continue
        parts = line.split(None, 5)
        if len(parts) == 6:
            rows.append((_INLINE.sub("", parts[5]), _num(parts[0]), _num(parts[3])))
    if not rows:
        raise RuntimeError("no rows in go tool pprof -top output:\n" + text[:2000])
    return {"top1": list(rows[0]), "rows": len(rows), "total": total}


def profile_facts(path: Path) -> dict:
    data = path.read_bytes()
    try:
        raw_len = len(zlib.decompress(data, wbits=31)) if data[:2] == b"\x1f\x8b" else len(data)
    except zlib.error:
        raw_len = None
    return {"path": str(path), "bytes": len(data), "uncompressed_bytes": raw_len}


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_mb(kb: float) -> str:
    return f"{kb / 1024:,.0f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", type=Path, default=DEFAULT_PROFILE, help="profile to use (built if missing)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each tool (default 3)")
    ap.add_argument("--go", help="go command (default: go on PATH, else /usr/local/go/bin/go)")
    ap.add_argument("--python", default=sys.executable, help="python running perfkit (default: this one)")
    ap.add_argument("--no-time-binary", action="store_true",
                    help=f"measure RSS with getrusage in a wrapper process even if {TIME_BIN} exists")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run (default 1800)")
    ap.add_argument("--out-dir", type=Path, default=OUT)
    args = ap.parse_args(argv)
    go = go_binary(args.go)
    use_time_bin = Path(TIME_BIN).exists() and not args.no_time_binary
    args.out_dir.mkdir(parents=True, exist_ok=True)

    prof = args.profile.resolve()
    if not prof.exists():
        print(f"bench_pprof: {prof} missing, building it", flush=True)
        subprocess.run([sys.executable, str(HERE / "make_big_profile.py"), "--out", str(prof)], check=True)
    facts = profile_facts(prof)

    kit_cmd = [args.python, "-c", KIT_CODE, str(prof)]
    go_cmd = [go, "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0", "-unit=nanoseconds",
              str(prof)]
    env_go = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    env_py = subprocess.run([args.python, "-c", "import sys, numpy, pandas, google.protobuf as pb;"
                             "from google.protobuf.internal import api_implementation as a;"
                             "print(sys.version.split()[0], numpy.__version__, pandas.__version__,"
                             " pb.__version__, a.Type())"], capture_output=True, text=True).stdout.split()

    # warm-up (untimed): builds/caches the pprof tool, warms the page cache, checks equal work
    print(f"bench_pprof: {prof.name}: {facts['bytes'] / 1e6:.1f} MB gzip, "
          f"{(facts['uncompressed_bytes'] or 0) / 1e6:.1f} MB uncompressed; warm-up runs", flush=True)
    with tempfile.TemporaryDirectory() as td:
        kit_out, go_out = os.path.join(td, "kit.json"), os.path.join(td, "go.txt")
        kit_warm = measure(kit_cmd, kit_out, use_time_bin, args.timeout)
        go_warm = measure(go_cmd, go_out, use_time_bin, args.timeout)
        kit_res = json.loads(Path(kit_out).read_text().strip().splitlines()[-1])
        go_res = parse_go_top(Path(go_out).read_text())
    check = {"kit_top1": kit_res["top1"], "go_top1": go_res["top1"], "kit_rows": kit_res["rows"],
             "go_rows": go_res["rows"], "top1_equal": kit_res["top1"] == go_res["top1"],
             "rows_equal": kit_res["rows"] == go_res["rows"]}
    facts["samples"] = kit_res["samples"]
    print(f"  warm-up: kit {kit_warm['wall']:.2f}s, go {go_warm['wall']:.2f}s; top-1 kit {kit_res['top1']} "
          f"go {go_res['top1']}; rows kit {kit_res['rows']} go {go_res['rows']}", flush=True)

    runs = {"kit": [], "go": []}
    for i in range(args.repeat):
        order = [("kit", kit_cmd), ("go", go_cmd)]
        if i % 2:
            order.reverse()
        for name, cmd in order:
            r = measure(cmd, None, use_time_bin, args.timeout)
            runs[name].append(r)
            print(f"  run {i + 1}/{args.repeat} {name}: {r['wall']:.2f}s wall, "
                  f"{r['user'] + r['sys']:.2f}s cpu, peak RSS {fmt_mb(r['maxrss_kb'])} MB", flush=True)

    summ = {}
    for name in runs:
        rs = runs[name]
        summ[name] = {"median_wall_s": median([r["wall"] for r in rs]),
                      "median_cpu_s": median([r["user"] + r["sys"] for r in rs]),
                      "peak_rss_mb": median([r["maxrss_kb"] for r in rs]) / 1024,
                      "max_peak_rss_mb": max(r["maxrss_kb"] for r in rs) / 1024 if rs else float("nan")}
    time_ratio = summ["kit"]["median_wall_s"] / summ["go"]["median_wall_s"]
    rss_ratio = summ["kit"]["peak_rss_mb"] / summ["go"]["peak_rss_mb"]
    time_ok, rss_ok = time_ratio <= TARGET_TIME_RATIO, rss_ratio <= TARGET_RSS_RATIO
    result = {
        "benchmark": "pprof",
        "profile": facts,
        "commands": {"kit": ["python", "-c", "perfkit.read_profile(path); perfkit.top(p)", str(prof)],
                     "go": go_cmd},
        "measurement": "/usr/bin/time %M" if use_time_bin else "getrusage(RUSAGE_CHILDREN) in a wrapper",
        "env": {"go": env_go, "python": env_py, "platform": platform.platform(), "cpus": os.cpu_count()},
        "repeat": args.repeat,
        "warmup": {"kit": kit_warm, "go": go_warm},
        "runs": runs,
        "summary": summ,
        "time_ratio": time_ratio, "rss_ratio": rss_ratio,
        "targets": {"time_ratio_max": TARGET_TIME_RATIO, "rss_ratio_max": TARGET_RSS_RATIO},
        "time_pass": time_ok, "rss_pass": rss_ok,
        "check": check,
    }
    (args.out_dir / "pprof.json").write_text(json.dumps(result, indent=2) + "\n")

    k, g = summ["kit"], summ["go"]
    pf = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    samples = f"{facts['samples']:,}" if facts.get("samples") is not None else "?"
    md = [
        "## pprof: perfkit load + top vs `go tool pprof -top`",
        "",
        f"Profile `{Path(facts['path']).name}`: {facts['bytes'] / 1e6:.1f} MB gzip, "
        f"{(facts['uncompressed_bytes'] or 0) / 1e6:.1f} MB uncompressed, {samples} samples. "
        f"Median of {args.repeat} runs (interleaved, after a warm-up run of each); "
        f"{env_go}; Python {env_py[0] if env_py else '?'}; {os.cpu_count()} CPUs.",
        "",
        "| metric | perfkit (read_profile + top) | go tool pprof -top | kit/go | target | result |",
        "|---|---:|---:|---:|---:|:---:|",
        f"| wall time (s) | {k['median_wall_s']:.2f} | {g['median_wall_s']:.2f} | {time_ratio:.2f} | "
        f"<= {TARGET_TIME_RATIO:.1f} | {pf(time_ok)} |",
        f"| peak RSS (MB) | {k['peak_rss_mb']:,.0f} | {g['peak_rss_mb']:,.0f} | {rss_ratio:.2f} | "
        f"<= {TARGET_RSS_RATIO:.1f} | {pf(rss_ok)} |",
        f"| CPU time, user+sys (s) | {k['median_cpu_s']:.2f} | {g['median_cpu_s']:.2f} | "
        f"{k['median_cpu_s'] / g['median_cpu_s']:.2f} | | |",
        "",
        f"Equal work: top-1 row {'matches' if check['top1_equal'] else 'DIFFERS'} "
        f"(`{check['go_top1'][0]}` flat {check['go_top1'][1]} cum {check['go_top1'][2]}); "
        f"rows kit {check['kit_rows']:,}, go {check['go_rows']:,}.",
        "",
    ]
    text = "\n".join(md)
    (args.out_dir / "pprof.md").write_text(text)
    print()
    print(text)
    if not check["top1_equal"]:
        print(f"bench_pprof: top-1 rows differ: kit {check['kit_top1']} go {check['go_top1']}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
