"""Wordgame benchmarks: max rps with p99 < 50 ms (metrics on / off), and Locust's ceiling vs wrk.

    .venv/bin/python bench/bench_wordgame.py [--step-seconds 5]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess

from perfkit.wordgame.capacity import capacity_search
from perfkit.wordgame.load import run_load
from perfkit.wordgame.server import WordgameServer


def wrk_rps(url: str, seconds: int = 5, conns: int = 32) -> dict:
    if not shutil.which("wrk"):
        return {"wrk": "not installed (apt-get install wrk)"}
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", "/dev/stdin", url + "/new"],
                         input='wrk.method = "POST"\n', capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    return {"wrk_rps": rps, "wrk_p99": p99.group(1) + p99.group(2) if p99 else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--step-seconds", type=float, default=5)
    ap.add_argument("--steps", default="5,10,20,40,80")
    a = ap.parse_args()
    steps = [int(x) for x in a.steps.split(",")]
    res = {}
    for metrics in ("true", "false"):
        with WordgameServer(args=[f"-metrics={metrics}"]) as s:
            df, knee = capacity_search(s.url, steps=steps, step_seconds=a.step_seconds)
            print(f"metrics={metrics}\n{df.to_string(index=False)}")
            res[f"metrics_{metrics}"] = knee["knee"].get("rps")
    if res["metrics_true"] and res["metrics_false"]:
        res["overhead_pct"] = round(100 * (1 - res["metrics_true"] / res["metrics_false"]), 1)
    with WordgameServer() as s:
        # same endpoint (POST /new) for both generators
        loc = run_load(s.url, users=max(steps), spawn_rate=max(steps), duration=a.step_seconds, workers=0)
        res["locust_ceiling_rps_mixed"] = round(loc.summary()["rps"], 1)
        res.update(wrk_rps(s.url, int(a.step_seconds)))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
