#!/usr/bin/env python3
"""Benchmark: how perfkit load + top and `go tool pprof -top` scale with the profile's size.

Profiles of 10k, 100k, 1M and 3M samples from the same stack-shape generator (make_big_profile.py,
same seed); at each size both tools run --repeat times interleaved (default 5; the first round also
checks that the top-50 rows agree). Reported per size: median wall time and peak RSS of both, and the cost
per sample. Target: the kit's cost per sample does not grow with size (at the largest size it is at
most 1.1x the cost at the next size down). Plot: bench/out/scaling.png. Writes bench/out/scaling.{json,md}.
--smoke: 1k and 3k samples, one run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench_pprof import KIT_CODE, ensure_profile, parity, profile_path, uncompressed_size
from benchlib import OUT, environment, env_line, go_binary, interleaved, spread, verdict, write_report

GROWTH_LIMIT = 1.1


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = [r["samples"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for tool, style in (("kit", "o-"), ("go", "s--")):
        label = "perfkit" if tool == "kit" else "go tool pprof"
        axes[0].plot(n, [r[tool]["wall"]["median"] for r in rows], style, label=label)
        axes[1].plot(n, [r[tool]["us_per_sample"] for r in rows], style, label=label)
        axes[2].plot(n, [r[tool]["rss_mb"]["median"] for r in rows], style, label=label)
    for ax, title, unit in zip(axes, ("load + top, wall time", "wall time per sample", "peak RSS"),
                               ("s", "µs / sample", "MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("samples")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000,3000000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--go")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--out-dir", type=Path, default=OUT)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args(argv)
    if a.smoke:
        a.sizes, a.repeat = "1000,3000", 1
    go = go_binary(a.go)
    env = environment(go)
    rows = []
    parity_ok = True
    for n in [int(x) for x in a.sizes.split(",")]:
        prof = ensure_profile(profile_path(n, a.out_dir), n)
        kit_cmd = [sys.executable, "-c", KIT_CODE, str(prof)]
        go_cmd = [go, "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0", "-unit=nanoseconds",
                  str(prof)]
        # the first round captures both outputs for the parity check (no separate warm-up: the
        # profile was just written or read, so it is in the page cache)
        check, kw, gw = parity(kit_cmd, go_cmd, a.timeout)
        parity_ok &= check["top_equal"] and check["rows_equal"]
        print(f"bench_scaling: {n:,} samples; top-50 {'equal' if check['top_equal'] else 'DIFFER'}; "
              f"kit {kw['wall']:.2f}s go {gw['wall']:.2f}s", flush=True)
        runs = {"kit": [kw], "go": [gw]}
        if a.repeat > 1:
            more = interleaved({"go": go_cmd, "kit": kit_cmd}, a.repeat - 1, label=f"{n:,}: ", timeout=a.timeout)
            runs = {k: runs[k] + more[k] for k in runs}
        row = {"samples": n, "mb": uncompressed_size(prof) / 1e6, "parity": check}
        for tool in ("kit", "go"):
            w = spread(r["wall"] for r in runs[tool])
            row[tool] = {"wall": w, "rss_mb": spread(r["maxrss_kb"] / 1024 for r in runs[tool]),
                         "us_per_sample": w["median"] / n * 1e6, "runs": runs[tool]}
        rows.append(row)
    png = a.out_dir / "scaling.png"
    plot(rows, png)
    growth = (rows[-1]["kit"]["us_per_sample"] / rows[-2]["kit"]["us_per_sample"]) if len(rows) > 1 else 1.0
    ok = growth <= GROWTH_LIMIT
    lines = [
        "## scaling: load + top against profile size",
        "",
        f"Same generator and seed at each size; {a.repeat} interleaved runs per size and tool, median "
        f"(min–max). {env_line(env)}. Plot: `{png.name}`.",
        "",
        "| samples | MB | perfkit wall (s) | go wall (s) | kit/go | perfkit µs/sample | go µs/sample "
        "| perfkit RSS (MB) | go RSS (MB) | kit/go RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        k, g = r["kit"], r["go"]
        lines.append(
            f"| {r['samples']:,} | {r['mb']:.1f} | {k['wall']['median']:.2f} ({k['wall']['min']:.2f}–"
            f"{k['wall']['max']:.2f}) | {g['wall']['median']:.2f} ({g['wall']['min']:.2f}–{g['wall']['max']:.2f}) | "
            f"{k['wall']['median'] / g['wall']['median']:.3f} | {k['us_per_sample']:.2f} | {g['us_per_sample']:.2f} | "
            f"{k['rss_mb']['median']:,.0f} | {g['rss_mb']['median']:,.0f} | "
            f"{k['rss_mb']['median'] / g['rss_mb']['median']:.2f} |")
    lines += [
        "",
        "| check | value | target | result |",
        "|---|---:|---:|:---:|",
        f"| perfkit µs/sample, largest size / next size down | {growth:.2f} | <= {GROWTH_LIMIT} | {verdict(ok)} |",
        f"| parity: top-50 rows and row count at every size | | equal | {verdict(parity_ok)} |",
    ]
    write_report(a.out_dir, "scaling", "\n".join(lines), {"benchmark": "scaling", "env": env, "rows": rows,
                                                          "growth": growth, "pass": {"growth": ok,
                                                                                     "parity": parity_ok}})
    return 0 if parity_ok else 2


if __name__ == "__main__":
    sys.exit(main())
