#!/usr/bin/env python3
"""Benchmark: perfkit load + top against `go tool pprof -top` on one big CPU profile.

  kit: a fresh `python -c` process doing perfkit.read_profile(path) + perfkit.top(p) (the full table)
  go:  go tool pprof -top -nodecount=1000000 -nodefraction=0 -unit=nanoseconds path  (> /dev/null)

One untimed warm-up of each checks equal work: the top-50 rows (name, flat, cum) and the row
count must be equal (else exit 2). Then --repeat interleaved runs (default 5); reported: medians
and the per-run kit/go ratios with their min-max spread. Targets: wall kit/go <= 0.15, peak RSS
kit/go <= 1.0. Writes bench/out/pprof.{json,md}. --smoke: a 5,000-sample profile, one run.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from benchlib import (HERE, OUT, environment, env_line, fmt_spread, go_binary, interleaved, measure, ratios,
                      spread, verdict, write_report)

TARGET_TIME_RATIO = 0.15
TARGET_RSS_RATIO = 1.0
TOP_N = 50

KIT_CODE = """\
import json, sys
import perfkit
p = perfkit.read_profile(sys.argv[1])
df = perfkit.top(p)
print(json.dumps({"samples": p.n_samples, "rows": len(df),
                  "top": [[str(r.name), int(r.flat), int(r.cum)] for r in df.head(%d).itertuples()]}))
""" % TOP_N

_VAL = re.compile(r"^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)([a-zA-Z]*)$")
_INLINE = re.compile(r" \((?:partial-)?inline\)$")


def _num(text: str) -> int:
    m = _VAL.match(text)
    if not m:
        raise ValueError(f"cannot parse pprof value {text!r}")
    return int(float(m.group(1)))


def parse_go_top(text: str) -> dict:
    """Rows of `go tool pprof -top` output: the first TOP_N (name, flat, cum) and the row count."""
    rows, started = [], False
    for line in text.splitlines():
        if not started:
            started = line.split()[:2] == ["flat", "flat%"]
            continue
        parts = line.split(None, 5)
        if len(parts) == 6:
            rows.append([_INLINE.sub("", parts[5]), _num(parts[0]), _num(parts[3])])
    if not rows:
        raise RuntimeError("no rows in go tool pprof -top output:\n" + text[:2000])
    return {"top": rows[:TOP_N], "rows": len(rows)}


def ensure_profile(path: Path, samples: int) -> Path:
    if not path.exists():
        print(f"bench: building {path.name} ({samples:,} samples)", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "make_big_profile.py"), "--samples", str(samples),
                        "--out", str(path)], check=True)
    return path


def profile_path(samples: int, out_dir: Path) -> Path:
    return out_dir / ("big-cpu.pb.gz" if samples == 1_000_000 else f"cpu-{samples}.pb.gz")


def uncompressed_size(path: Path) -> int:
    data = path.read_bytes()
    return len(zlib.decompress(data, wbits=31)) if data[:2] == b"\x1f\x8b" else len(data)


def parity(kit_cmd, go_cmd, timeout) -> tuple[dict, dict, dict]:
    """One untimed run of each (warm-up) and the equal-work check."""
    with tempfile.TemporaryDirectory() as td:
        kit_out, go_out = str(Path(td, "kit.json")), str(Path(td, "go.txt"))
        kw = measure(kit_cmd, kit_out, timeout)
        gw = measure(go_cmd, go_out, timeout)
        kit = json.loads(Path(kit_out).read_text().strip().splitlines()[-1])
        go = parse_go_top(Path(go_out).read_text())
    check = {"top_equal": kit["top"] == go["top"], "rows_equal": kit["rows"] == go["rows"],
             "kit_rows": kit["rows"], "go_rows": go["rows"], "samples": kit["samples"]}
    if not check["top_equal"]:
        bad = next(i for i, (a, b) in enumerate(zip(kit["top"], go["top"])) if a != b) \
            if any(a != b for a, b in zip(kit["top"], go["top"])) else min(len(kit["top"]), len(go["top"]))
        check["first_difference"] = {"row": bad, "kit": kit["top"][bad:bad + 1], "go": go["top"][bad:bad + 1]}
    return check, kw, gw


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=1_000_000, help="profile size (default 1,000,000)")
    ap.add_argument("--profile", type=Path, help="use this profile instead of a generated one")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--go", help="go command (default: go on PATH, else /usr/local/go/bin/go)")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--out-dir", type=Path, default=OUT)
    ap.add_argument("--smoke", action="store_true", help="tiny profile, one run: checks the script works")
    a = ap.parse_args(argv)
    if a.smoke:
        a.samples, a.repeat = 5_000, 1
    go = go_binary(a.go)
    prof = a.profile or ensure_profile(profile_path(a.samples, a.out_dir), a.samples)
    kit_cmd = [sys.executable, "-c", KIT_CODE, str(prof)]
    go_cmd = [go, "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0", "-unit=nanoseconds", str(prof)]
    env = environment(go)
    size = uncompressed_size(prof)
    print(f"bench_pprof: {prof.name}: {prof.stat().st_size / 1e6:.1f} MB gzip, {size / 1e6:.1f} MB; warm-up",
          flush=True)
    check, kw, gw = parity(kit_cmd, go_cmd, a.timeout)
    print(f"  warm-up: kit {kw['wall']:.2f}s, go {gw['wall']:.2f}s; top-{TOP_N} "
          f"{'equal' if check['top_equal'] else 'DIFFER'}; rows kit {check['kit_rows']} go {check['go_rows']}",
          flush=True)
    runs = interleaved({"kit": kit_cmd, "go": go_cmd}, a.repeat, timeout=a.timeout)
    wall = {k: spread(r["wall"] for r in runs[k]) for k in runs}
    rss = {k: spread(r["maxrss_kb"] / 1024 for r in runs[k]) for k in runs}
    cpu = {k: spread(r["user"] + r["sys"] for r in runs[k]) for k in runs}
    t_ratio, m_ratio = ratios(runs, "kit", "go", "wall"), ratios(runs, "kit", "go", "maxrss_kb")
    ok_t, ok_m = t_ratio["median"] <= TARGET_TIME_RATIO, m_ratio["median"] <= TARGET_RSS_RATIO
    parity_ok = check["top_equal"] and check["rows_equal"]
    md = "\n".join([
        "## pprof: perfkit load + top vs `go tool pprof -top`",
        "",
        f"Profile `{prof.name}`: {prof.stat().st_size / 1e6:.1f} MB gzip, {size / 1e6:.1f} MB uncompressed, "
        f"{check['samples']:,} samples. {a.repeat} interleaved runs after a warm-up of each; "
        f"median (min–max). {env_line(env)}.",
        "",
        "| metric | perfkit | go tool pprof | kit/go per run | target | result |",
        "|---|---:|---:|---:|---:|:---:|",
        f"| wall (s) | {fmt_spread(wall['kit'])} | {fmt_spread(wall['go'])} | {fmt_spread(t_ratio, 3)} | "
        f"<= {TARGET_TIME_RATIO} | {verdict(ok_t)} |",
        f"| peak RSS (MB) | {fmt_spread(rss['kit'], 0)} | {fmt_spread(rss['go'], 0)} | {fmt_spread(m_ratio)} | "
        f"<= {TARGET_RSS_RATIO} | {verdict(ok_m)} |",
        f"| CPU user+sys (s) | {fmt_spread(cpu['kit'])} | {fmt_spread(cpu['go'])} | | | |",
        f"| parity: top-{TOP_N} rows (name, flat, cum) and row count | kit {check['kit_rows']:,} rows | "
        f"go {check['go_rows']:,} rows | | equal | {verdict(parity_ok)} |",
    ])
    write_report(a.out_dir, "pprof", md, {
        "benchmark": "pprof", "profile": str(prof), "uncompressed_bytes": size, "env": env, "repeat": a.repeat,
        "commands": {"kit": ["python", "-c", "read_profile + top", str(prof)], "go": go_cmd},
        "warmup": {"kit": kw, "go": gw}, "runs": runs, "wall": wall, "rss_mb": rss, "cpu": cpu,
        "time_ratio": t_ratio, "rss_ratio": m_ratio, "check": check,
        "targets": {"time_ratio": TARGET_TIME_RATIO, "rss_ratio": TARGET_RSS_RATIO},
        "pass": {"time": ok_t, "rss": ok_m, "parity": parity_ok}})
    if not parity_ok:
        print(f"bench_pprof: kit and go differ: {check}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
