#!/usr/bin/env python3
"""Print the README's performance table from the reports in bench/out/*.json (after a bench run)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def load(name):
    p = OUT / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def f(s, d=2):
    return f"{s['median']:.{d}f} ({s['min']:.{d}f}–{s['max']:.{d}f})"


def verdict(ok):
    return "SKIP" if ok is None else ("PASS" if ok else "FAIL")


def main() -> int:
    rows, env = [], None
    pp = load("pprof")
    if pp:
        env = pp["env"]
        n = pp["check"]["samples"]
        rows.append(f"| profile load + top, {n:,} samples ({pp['uncompressed_bytes'] / 1e6:.0f} MB) | wall s | "
                    f"{f(pp['wall']['kit'])} | {f(pp['wall']['go'])} | {f(pp['time_ratio'], 3)} | <= 0.15 | "
                    f"{verdict(pp['pass']['time'])} | {pp['repeat']} |")
        rows.append(f"| same | peak RSS MB | {f(pp['rss_mb']['kit'], 0)} | {f(pp['rss_mb']['go'], 0)} | "
                    f"{f(pp['rss_ratio'])} | <= 1.0 | {verdict(pp['pass']['rss'])} | {pp['repeat']} |")
    sc = load("scaling")
    if sc:
        per = ", ".join(f"{r['samples'] // 1000:,}k: {r['kit']['us_per_sample']:.1f} / {r['go']['us_per_sample']:.1f}"
                        for r in sc["rows"])
        reps = len(sc["rows"][0]["kit"]["runs"])
        rows.append(f"| scaling, µs per sample kit / go ({per}) | kit growth, largest / next | "
                    f"{sc['growth']:.2f} | | | <= 1.1 | {verdict(sc['pass']['growth'])} | {reps} |")
    fl = load("flame")
    if fl:
        for k in ("static", "interactive"):
            rows.append(f"| {k} flame graph generation / load | ratio | {f(fl['ratio'][k])} | | | <= 0.3 | "
                        f"{verdict(fl['pass'][k])} | {fl['repeat']} |")
        rows.append(f"| interactive flame graph HTML | MB | {fl['html_bytes'] / 1e6:.2f} | | | <= 2 MiB | "
                    f"{verdict(fl['pass']['html'])} | |")
    tr = load("trace")
    if tr:
        for r in tr["results"]:
            reps = len(r["runs"]["kit"])
            rows.append(f"| trace {r['name']} (go {r['version']} format, {r['mb']:.0f} MB, {r['events']:,} events) "
                        f"+ net blocking profile | wall s | {f(r['wall']['kit'])} | {f(r['wall']['go'])} | "
                        f"{f(r['time_ratio'])} | <= 1.0 | {verdict(r['pass']['time'])} | {reps} |")
            rows.append(f"| same | peak RSS MB | {f(r['rss_mb']['kit'], 0)} | {f(r['rss_mb']['go'], 0)} | "
                        f"{f(r['rss_ratio'])} | <= 0.5 | {verdict(r['pass']['rss'])} | {reps} |")
        for name, why in tr.get("skipped", {}).items():
            rows.append(f"| trace {name} | | | | | | SKIP ({why}) | |")
    st = load("startup")
    if st:
        imp = sorted(st["import_s"])
        rows.append(f"| `import perfkit` | s | {imp[len(imp) // 2]:.3f} | | | <= 0.5 | "
                    f"{verdict(st['pass']['import'])} | {len(imp)} |")
        nb = sorted(st["notebook_s"])
        if nb:
            rows.append(f"| notebook 01 (papermill, kernel start included) | s | {nb[len(nb) // 2]:.1f} "
                        f"({nb[0]:.1f}–{nb[-1]:.1f}) | | | <= 15 | {verdict(st['pass']['notebook'])} | {len(nb)} |")
    if env is None:
        print("no reports in bench/out", file=sys.stderr)
        return 1
    go_versions = sorted({env.get("go", "")} | {r["go"] for r in (tr or {}).get("results", [])})
    print(f"{env['date']}; {env['cpus']} cores, {env['memory_gb']:.0f} GB RAM; {'; '.join(go_versions)}; "
          f"Python {env['python']}, numpy {env.get('numpy')}, pandas {env.get('pandas')}, "
          f"protobuf {env.get('protobuf')} (upb).\n")
    print("| benchmark | measure | perfkit | Go tool | kit/go per run | target | result | runs |")
    print("|---|---|---:|---:|---:|---:|:---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
