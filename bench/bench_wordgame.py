"""Wordgame benchmarks, with wrk as the load generator.

    .venv/bin/python bench/bench_wordgame.py [--step-seconds 3] [--repeat 3] [--connections 1,2,...]

(a) Maximum throughput with p99 < 50 ms, metrics on and off (``-metrics=false``): a closed-loop wrk
    run (Lua players: POST /new, then guesses in letter-frequency order until won or lost) stepping the
    connection count; the knee is the highest rps whose p99 < 50 ms with no socket errors. The steps
    alternate on/off at each connection count so drift on the machine hits both alike. The
    instrumentation overhead is then measured at one fixed connection count (the knee of the
    metrics-off server) with ``--repeat`` interleaved runs of each: 1 - median(on) / median(off).
    Target: <= 5 %.
(b) The load generator's ceiling: Locust (one process, ``new_only`` users) and wrk against the same
    endpoint (POST /new) of the same server, one after the other.

The server runs on core 0 (``taskset -c 0``; Go then sets GOMAXPROCS=1), wrk and Locust on core 1, this
script too (2 cores here). Servers log at the default level (info, one JSON line per request) to
/dev/null: the log formatting cost is the server's, not a pipe's back-pressure. Writes
bench/out/wordgame.json and wordgame.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "lib"), str(HERE.parent / "wordgame")]

from wordgame_lab import DEFAULT_WORDS, build_binary, run_load, wrk_wordgame  # noqa: E402


OUT = HERE / "out"
TARGET_OVERHEAD_PCT = 5.0
P99_MS = 50.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchServer:
    """The server on 127.0.0.1 pinned to a core, logs to /dev/null (no pipe to drain)."""

    def __init__(self, binary: Path, words: Path, metrics: bool, core: str = "0"):
        self.cmd = ["taskset", "-c", core, str(binary), "-addr", "127.0.0.1", "-dict", str(words),
                    f"-metrics={'true' if metrics else 'false'}"]
        self.proc = None

    def __enter__(self):
        for _ in range(5):                               # a port taken between probe and bind: retry
            p, a = _free_port(), _free_port()
            self.proc = subprocess.Popen([*self.cmd, "-port", str(p), "-admin-port", str(a)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.url, self.admin_url = f"http://127.0.0.1:{p}", f"http://127.0.0.1:{a}"
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(self.admin_url + "/readyz", timeout=1) as r:
                        if r.status == 200:
                            return self
                except OSError:
                    time.sleep(0.05)
            self.__exit__()
        raise RuntimeError("wordgame server did not start")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _env() -> dict:
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return None
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else None
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "wrk": out(["wrk", "-v"]), "go": out([shutil.which("go") or "go", "version"]),
            "loadavg_at_start": os.getloadavg()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--step-seconds", type=float, default=3)
    ap.add_argument("--connections", default="1,2,4,8,16,32,64,128,256")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--locust-users", type=int, default=64)
    a, _unknown = ap.parse_known_args()                  # run_all.py passes its arguments to every script
    if not shutil.which("wrk") or not shutil.which("taskset"):
        print("bench_wordgame: needs wrk and taskset (apt-get install wrk util-linux)", file=sys.stderr)
        return 1
    ncpu = os.cpu_count() or 1
    srv_core, gen_core = ("0", "1") if ncpu >= 2 else ("0", "0")
    os.sched_setaffinity(0, {int(gen_core)})
    steps = [int(x) for x in a.connections.split(",")][:12]
    secs = min(max(a.step_seconds, 1), 60)
    repeat = min(max(a.repeat, 1), 15)
    binary = build_binary()
    dict_src = HERE.parent / "bin" / "words.txt"
    tmp = tempfile.TemporaryDirectory(prefix="bench-wordgame-")
    words = Path(tmp.name) / "words.txt"
    words.write_text(dict_src.read_text() if dict_src.exists() else "\n".join(DEFAULT_WORDS) + "\n")
    res: dict = {"env": _env(), "server_core": srv_core, "generator_core": gen_core, "step_seconds": secs,
                 "p99_threshold_ms": P99_MS, "dictionary": str(dict_src) if dict_src.exists() else "DEFAULT_WORDS"}
    t0 = time.monotonic()

    # (a) capacity, metrics on vs off, interleaved per step
    rows = []
    with BenchServer(binary, words, True, srv_core) as on, BenchServer(binary, words, False, srv_core) as off:
        srv = {"on": on, "off": off}
        for m in srv.values():                           # warm-up
            wrk_wordgame(m.url, connections=8, seconds=1, taskset=gen_core)
        over = {"on": 0, "off": 0}
        for c in steps:
            for mode in ("on", "off"):
                if over[mode] >= 2:
                    continue
                r = wrk_wordgame(srv[mode].url, connections=c, seconds=secs, taskset=gen_core)
                if r["p99_ms"] >= P99_MS or r["socket_errors"]:
                    # one retry: a stall from other work on the machine should not end the search
                    r2 = wrk_wordgame(srv[mode].url, connections=c, seconds=secs, taskset=gen_core)
                    r2["retried"] = True
                    r = min((r, r2), key=lambda x: (x["socket_errors"] > 0, x["p99_ms"]))
                r["metrics"] = mode
                rows.append(r)
                over[mode] = over[mode] + 1 if (r["p99_ms"] >= P99_MS or r["socket_errors"]) else 0
                print(f"  metrics={mode:3} c={c:4} rps={r['rps']:9.1f} p50={r['p50_ms']:7.2f} ms "
                      f"p99={r['p99_ms']:7.2f} ms non2xx={r['non2xx']} errors={r['socket_errors']}", flush=True)
            if over["on"] >= 2 and over["off"] >= 2:
                break
        knees = {}
        for mode in ("on", "off"):
            ok = [r for r in rows if r["metrics"] == mode and r["p99_ms"] < P99_MS and not r["socket_errors"]]
            knees[mode] = max(ok, key=lambda r: r["rps"]) if ok else None
        # overhead at one fixed concurrency, interleaved repeats
        # saturated throughput (closed loop) measures the CPU cost per request: the smaller knee, >= 16
        c_fix = max(16, min((k["connections"] for k in knees.values() if k), default=16))
        reps = {"on": [], "off": []}
        for i in range(repeat):
            for mode in (("on", "off") if i % 2 == 0 else ("off", "on")):
                r = wrk_wordgame(srv[mode].url, connections=c_fix, seconds=secs + 1, taskset=gen_core)
                reps[mode].append(r)
                print(f"  repeat {i + 1}: metrics={mode:3} c={c_fix} rps={r['rps']:9.1f} p99={r['p99_ms']:.2f} ms",
                      flush=True)
    med = {m: statistics.median(r["rps"] for r in reps[m]) for m in reps}
    p99med = {m: statistics.median(r["p99_ms"] for r in reps[m]) for m in reps}
    knee_over = (round(100 * (1 - knees["on"]["rps"] / knees["off"]["rps"]), 1)
                 if knees["on"] and knees["off"] else None)
    overhead = round(100 * (1 - med["on"] / med["off"]), 1)
    res["capacity_steps"] = rows
    res["max_rps_p99_lt_50ms"] = {m: (k and {x: k[x] for x in ("connections", "rps", "p50_ms", "p99_ms")})
                                  for m, k in knees.items()}
    res["overhead"] = {"connections": c_fix, "repeat": repeat, "rps_on": [r["rps"] for r in reps["on"]],
                       "rps_off": [r["rps"] for r in reps["off"]], "median_rps_on": med["on"],
                       "median_rps_off": med["off"], "median_p99_on_ms": p99med["on"],
                       "median_p99_off_ms": p99med["off"], "overhead_pct": overhead,
                       "overhead_at_knees_pct": knee_over, "target_pct": TARGET_OVERHEAD_PCT,
                       "passed": overhead <= TARGET_OVERHEAD_PCT}
    # run-to-run noise: relative standard deviation of the repeats; an overhead below the noise is not measured
    noise = max(100 * statistics.pstdev(r["rps"] for r in reps[m]) / med[m] for m in reps)
    res["overhead"]["noise_pct"] = round(noise, 1)
    res["overhead"]["verdict"] = ("INCONCLUSIVE (noise %.0f %% > target)" % noise if noise > TARGET_OVERHEAD_PCT
                                  else "PASS" if overhead <= TARGET_OVERHEAD_PCT else "FAIL")

    # (b) generator ceilings on POST /new
    with BenchServer(binary, words, True, srv_core) as s:
        w = wrk_wordgame(s.url, connections=a.locust_users, seconds=secs + 2, script="new", taskset=gen_core)
        lo = run_load(s.url, users=a.locust_users, spawn_rate=a.locust_users, duration=secs + 4, new_only=True,
                      taskset=gen_core)
        ls = lo.summary()
        res["generator_ceiling"] = {
            "endpoint": "POST /new", "connections_or_users": a.locust_users,
            "wrk": {k: w[k] for k in ("rps", "p50_ms", "p99_ms", "requests", "non2xx", "socket_errors")},
            "locust_1_process": {"rps": round(ls["rps"], 1), "p50_ms": ls["p50_ms"], "p99_ms": ls["p99_ms"],
                                 "requests": ls["requests"], "failures": ls["failures"]},
            "wrk_over_locust": round(w["rps"] / ls["rps"], 1) if ls["rps"] else None}
        print(f"  wrk   POST /new c={a.locust_users}: {w['rps']:.0f} rps, p99 {w['p99_ms']:.1f} ms")
        print(f"  locust POST /new u={a.locust_users}: {ls['rps']:.0f} rps, p99 {ls['p99_ms']:.1f} ms")
    res["elapsed_s"] = round(time.monotonic() - t0, 1)
    res["env"]["loadavg_at_end"] = os.getloadavg()
    tmp.cleanup()

    ov, kn, g = res["overhead"], res["max_rps_p99_lt_50ms"], res["generator_ceiling"]

    def kfmt(k):
        return f"{k['rps']:.0f} rps at c={k['connections']} (p99 {k['p99_ms']:.1f} ms)" if k else "none under 50 ms"
    md = "\n".join([
        "## wordgame", "",
        f"Server on core {srv_core} (GOMAXPROCS=1 by affinity), wrk/Locust on core {gen_core}; closed-loop wrk "
        f"players (/new + /guess), {secs:g} s per step. Load average at start "
        f"{res['env']['loadavg_at_start'][0]:.2f} (other work on the machine makes the figures noisy).", "",
        "| measure | metrics on | metrics off | result |", "|---|---|---|---|",
        f"| max rps with p99 < {P99_MS:g} ms (stepping -c) | {kfmt(kn['on'])} | {kfmt(kn['off'])} | "
        f"overhead {knee_over if knee_over is not None else 'n/a'} % |",
        f"| median rps at c={c_fix}, {repeat} interleaved runs | {med['on']:.0f} (p99 {p99med['on']:.1f} ms) | "
        f"{med['off']:.0f} (p99 {p99med['off']:.1f} ms) | overhead {overhead} % (target <= {TARGET_OVERHEAD_PCT:g} %): "
        f"{ov['verdict']}; run-to-run noise {ov['noise_pct']} % |", "",
        "| generator, POST /new, same server | rps | p50 ms | p99 ms |", "|---|---|---|---|",
        f"| wrk, 1 thread, c={a.locust_users} | {g['wrk']['rps']:.0f} | {g['wrk']['p50_ms']:.2f} | "
        f"{g['wrk']['p99_ms']:.2f} |",
        f"| Locust, 1 process, {a.locust_users} users | {g['locust_1_process']['rps']:.0f} | "
        f"{g['locust_1_process']['p50_ms']:.0f} | {g['locust_1_process']['p99_ms']:.0f} |",
        f"| wrk / Locust | {g['wrk_over_locust']}x | | |", ""])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "wordgame.json").write_text(json.dumps(res, indent=1, default=str))
    (OUT / "wordgame.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
