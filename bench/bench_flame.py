#!/usr/bin/env python3
"""Benchmark: flame graph generation on the big CPU profile, against loading it.

In one run, on bench/out/big-cpu.pb.gz (built by make_big_profile.py when
missing), each in a fresh process:

  load:        perfkit.read_profile(path)
  static:      load + perfkit.flame_graph(p) saved as PNG
  interactive: load + perfkit.interactive_flame(p) saved as a standalone HTML page

Generation time = (load + render) - load, per repeat (medians, min-max spread).
Targets: interactive HTML <= 2 MiB with default merging; each generation <= 0.3x the
load time. Results: bench/out/flame.json and flame.md. --smoke: a 5,000-sample profile, one run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench_pprof import ensure_profile, profile_path
from benchlib import OUT, environment, env_line, spread, timed_run, verdict, write_report

TARGET_HTML_BYTES = 2 * 1024 * 1024
TARGET_GEN_RATIO = 0.3

TIMED = ("import perfkit,sys,time; p=perfkit.read_profile(sys.argv[1]); t=time.perf_counter(); {render}; "
         "open(sys.argv[3],'w').write(str(time.perf_counter()-t))")
CODE = {
    "load": "import perfkit,sys; perfkit.read_profile(sys.argv[1])",
    "static": TIMED.format(render="perfkit.save_figure(perfkit.flame_graph(p), sys.argv[2]+'.png')"),
    "interactive": TIMED.format(render="perfkit.interactive_flame(p).save(sys.argv[2]+'.html')"),
}


def run(kind: str, profile: Path, out_stem: str) -> float:
    """Wall seconds of the load-only process; the in-process generation seconds of the others."""
    timing = Path(out_stem + ".seconds")
    wall = timed_run([sys.executable, "-c", CODE[kind], str(profile), out_stem, str(timing)])
    return wall if kind == "load" else float(timing.read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", type=Path)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out-dir", type=Path, default=OUT)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args(argv)
    if a.smoke:
        a.samples, a.repeat = 5_000, 1
    prof = a.profile or ensure_profile(profile_path(a.samples, a.out_dir), a.samples)
    env = environment()
    times: dict[str, list[float]] = {k: [] for k in CODE}
    with tempfile.TemporaryDirectory() as tmp:
        stem = str(Path(tmp) / "flame")
        for i in range(a.repeat):
            kinds = list(CODE) if i % 2 == 0 else list(CODE)[::-1]
            for kind in kinds:
                times[kind].append(run(kind, prof, stem))
            print(f"  run {i + 1}/{a.repeat}: " + ", ".join(f"{k} {times[k][-1]:.2f}s" for k in CODE), flush=True)
        html_bytes = Path(stem + ".html").stat().st_size
        png_bytes = Path(stem + ".png").stat().st_size
    load = spread(times["load"])
    gen = {k: spread(times[k]) for k in ("static", "interactive")}
    ratio = {k: spread(t / l for t, l in zip(times[k], times["load"])) for k in gen}
    ok = {k: ratio[k]["median"] <= TARGET_GEN_RATIO for k in gen}
    ok_html = html_bytes <= TARGET_HTML_BYTES
    f = lambda s: f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"  # noqa: E731
    md = "\n".join([
        "## flame graphs: generation against loading the profile",
        "",
        f"Profile `{prof.name}`; {a.repeat} runs of each, fresh processes, median (min–max); generation is timed "
        f"in the rendering process, from the loaded profile to the written file; ratios divide it by the "
        f"load-only process of the same round. {env_line(env)}.",
        "",
        "| measure | value | target | result |", "|---|---:|---:|:---:|",
        f"| load, fresh process (s) | {f(load)} | | |",
        f"| static flame graph (PNG) generation (s) | {f(gen['static'])} | | |",
        f"| static generation / load | {f(ratio['static'])} | <= {TARGET_GEN_RATIO} | {verdict(ok['static'])} |",
        f"| interactive flame graph (HTML) generation (s) | {f(gen['interactive'])} | | |",
        f"| interactive generation / load | {f(ratio['interactive'])} | <= {TARGET_GEN_RATIO} | "
        f"{verdict(ok['interactive'])} |",
        f"| interactive HTML size (MB) | {html_bytes / 1e6:.2f} | <= 2 MiB | {verdict(ok_html)} |",
        f"| static PNG size (MB) | {png_bytes / 1e6:.2f} | | |",
    ])
    write_report(a.out_dir, "flame", md, {
        "profile": str(prof), "repeat": a.repeat, "env": env, "load_s": load, "generation_s": gen,
        "ratio": ratio, "html_bytes": html_bytes, "png_bytes": png_bytes, "raw_times": times,
        "pass": {**ok, "html": ok_html}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
