#!/usr/bin/env python3
"""Benchmark: flame graph generation on the big CPU profile, against loading it.

In one run, on bench/out/big-cpu.pb.gz (built by make_big_profile.py when
missing), each in a fresh process:

  load:        perfkit.read_profile(path)
  static:      load + perfkit.flame_graph(p) saved as PNG
  interactive: load + perfkit.interactive_flame(p) saved as a standalone HTML page

Generation time = (load + render) - load, per repeat (medians reported).
Targets: interactive HTML <= 2 MB with default merging; generation within
2x of loading the profile. Results: bench/out/flame.json and flame.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DEFAULT_PROFILE = OUT / "big-cpu.pb.gz"
TARGET_HTML_BYTES = 2 * 1024 * 1024
TARGET_GEN_RATIO = 2.0

CODE = {
    "load": "import perfkit,sys; perfkit.read_profile(sys.argv[1])",
    "static": ("import perfkit,sys; p=perfkit.read_profile(sys.argv[1]); "
               "perfkit.save_figure(perfkit.flame_graph(p), sys.argv[2]+'.png')"),
    "interactive": ("import perfkit,sys; p=perfkit.read_profile(sys.argv[1]); "
                    "perfkit.interactive_flame(p).save(sys.argv[2]+'.html')"),
}


def run(kind: str, profile: Path, out_stem: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", CODE[kind], str(profile), out_stem], check=True)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", type=Path, default=DEFAULT_PROFILE)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if not a.profile.exists():
        subprocess.run([sys.executable, str(HERE / "make_big_profile.py"), "--out", str(a.profile)], check=True)
    times: dict[str, list[float]] = {k: [] for k in CODE}
    with tempfile.TemporaryDirectory() as tmp:
        stem = str(Path(tmp) / "flame")
        for _ in range(a.repeat):
            for kind in CODE:
                times[kind].append(run(kind, a.profile, stem))
        html_bytes = Path(stem + ".html").stat().st_size
        png_bytes = Path(stem + ".png").stat().st_size
    load = statistics.median(times["load"])
    gen = {k: statistics.median([t - l for t, l in zip(times[k], times["load"])]) for k in ("static", "interactive")}
    res = {
        "profile": str(a.profile), "repeat": a.repeat, "load_s": load,
        "static_generation_s": gen["static"], "interactive_generation_s": gen["interactive"],
        "static_ratio": gen["static"] / load, "interactive_ratio": gen["interactive"] / load,
        "html_bytes": html_bytes, "png_bytes": png_bytes, "raw_times": times,
    }
    ok = lambda c: "PASS" if c else "FAIL"
    md = "\n".join([
        "| measure | value | target | verdict |", "|---|---|---|---|",
        f"| load (median) | {load:.2f} s | | |",
        f"| static flame generation | {gen['static']:.2f} s ({res['static_ratio']:.2f}x load) | <= 2x load | "
        f"{ok(res['static_ratio'] <= TARGET_GEN_RATIO)} |",
        f"| interactive flame generation | {gen['interactive']:.2f} s ({res['interactive_ratio']:.2f}x load) | "
        f"<= 2x load | {ok(res['interactive_ratio'] <= TARGET_GEN_RATIO)} |",
        f"| interactive HTML size | {html_bytes / 1e6:.2f} MB | <= 2 MiB | {ok(html_bytes <= TARGET_HTML_BYTES)} |",
        f"| static PNG size | {png_bytes / 1e6:.2f} MB | | |",
    ]) + "\n"
    (OUT / "flame.json").write_text(json.dumps(res, indent=1))
    (OUT / "flame.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
