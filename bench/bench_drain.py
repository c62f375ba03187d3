"""Client-visible errors when the server gets SIGTERM under keep-alive load, before and after the drain order.

    .venv/bin/python bench/bench_drain.py [--repeat 5] [--clients 32] [--poll-ms 100] [--drain-delay 1]

The client (bench/drain/main.go) is what sits behind a load balancer: ``--clients`` keep-alive clients
POST /new in a loop, a health check polls /readyz every ``--poll-ms`` and the clients stop sending once it
fails. Before: the server of commit 3c5e3e7 (``git archive``, built in a temporary directory), where
/readyz fails at the instant the listener closes. After: the current server with ``-drain-delay``
(readiness fails first; the server keeps answering, with ``Connection: close``, for the delay). The two run
``--repeat`` times, interleaved, each on a fresh server. Target: 0 client errors after.
Writes bench/out/drain.json and drain.md.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
OLD_COMMIT = "3c5e3e7"


def _go() -> str:
    return shutil.which("go") or "/usr/local/go/bin/go"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_old(tmp: Path) -> Path:
    tar = subprocess.run(["git", "archive", "--format=tar", OLD_COMMIT, "wordgame"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(tmp / "old", filter="data")
    out = tmp / "wordgame-old"
    subprocess.run([_go(), "build", "-o", str(out), "./cmd/wordgame"], cwd=tmp / "old" / "wordgame", check=True,
                   timeout=300)
    return out


def build_new(tmp: Path) -> Path:
    out = tmp / "wordgame-new"
    subprocess.run([_go(), "build", "-o", str(out), "./cmd/wordgame"], cwd=ROOT / "wordgame", check=True, timeout=300)
    return out


def build_client(tmp: Path) -> Path:
    out = tmp / "drainbench"
    subprocess.run([_go(), "build", "-o", str(out), str(HERE / "drain" / "main.go")], cwd=tmp, check=True,
                   timeout=300)
    return out


def one_run(binary: Path, extra: list[str], client: Path, words: Path, a) -> dict:
    for _ in range(5):                                   # a port taken between probe and bind: retry
        p, q = _free_port(), _free_port()
        env = {**os.environ, "PORT": "", "ADMIN_PORT": ""}
        proc = subprocess.Popen([str(binary), "-addr", "127.0.0.1", "-port", str(p), "-admin-port", str(q),
                                 "-dict", str(words), "-log-level", "warn", *extra],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        pub, adm = f"http://127.0.0.1:{p}", f"http://127.0.0.1:{q}"
        deadline = time.monotonic() + 10
        up = False
        while time.monotonic() < deadline and proc.poll() is None and not up:
            try:
                with urllib.request.urlopen(adm + "/readyz", timeout=1) as r:
                    up = r.status == 200
            except OSError:
                time.sleep(0.05)
        if up:
            break
        proc.kill()
        proc.wait(5)
    else:
        raise RuntimeError("wordgame server did not start")
    try:
        c = subprocess.run([str(client), f"-pub={pub}", f"-admin={adm}", f"-pid={proc.pid}",
                            f"-clients={a.clients}", f"-poll={a.poll_ms:g}ms", f"-load={a.load:g}s"],
                           capture_output=True, text=True, timeout=120)
        if c.returncode != 0:
            raise RuntimeError(c.stderr)
        r = json.loads(c.stdout)
        r["exit_code"] = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--poll-ms", type=float, default=100)
    ap.add_argument("--drain-delay", type=float, default=1.0)
    ap.add_argument("--load", type=float, default=1.0)
    a, _unknown = ap.parse_known_args()                  # run_all.py passes its arguments to every script
    repeat = min(max(a.repeat, 5), 15)
    runs = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="bench-drain-") as tmp:
        tmp = Path(tmp)
        bins = {"before": (build_old(tmp), []), "after": (build_new(tmp), [f"-drain-delay={a.drain_delay:g}s"])}
        client = build_client(tmp)
        words = tmp / "words.txt"
        words.write_text("APPLE\nBANANA\nCHERRY\nORANGE\n")
        for i in range(repeat):
            for side in (("before", "after") if i % 2 == 0 else ("after", "before")):
                r = one_run(*bins[side], client, words, a)
                runs[side].append(r)
                print(f"  run {i + 1} {side:6}: {r['requests']:6} requests, {r['client_errors']:3} client errors "
                      f"{r['errors_by_kind']}, non-200 {r['non200']}, /readyz failed after "
                      f"{r['unready_after_s']:.3f} s, exit {r['exit_code']}", flush=True)

    def col(side, key):
        return [r[key] for r in runs[side]]
    med = {s: statistics.median(col(s, "client_errors")) for s in runs}
    verdict = "PASS" if max(col("after", "client_errors")) == 0 else "FAIL"
    lines = ["## drain", "",
             f"SIGTERM under {a.clients} keep-alive clients that stop sending when a {a.poll_ms:g} ms /readyz poll "
             f"fails (a load balancer); {repeat} interleaved runs, a fresh server each. Before: {OLD_COMMIT}; after: "
             f"the current server with -drain-delay={a.drain_delay:g}s. Load average at end "
             f"{os.getloadavg()[0]:.2f}.", "",
             "| measure | before | after |", "|---|---|---|"]
    for label, key in (("client errors per SIGTERM, median (min–max)", "client_errors"),
                       ("non-200 answers, median (min–max)", "non200"),
                       ("requests per run, median", "requests")):
        b, f = col("before", key), col("after", key)
        if key == "requests":
            lines.append(f"| {label} | {statistics.median(b):.0f} | {statistics.median(f):.0f} |")
        else:
            lines.append(f"| {label} | {statistics.median(b):g} ({min(b)}–{max(b)}) | "
                         f"{statistics.median(f):g} ({min(f)}–{max(f)}) |")
    lines.append(f"| exit codes | {sorted(set(col('before', 'exit_code')))} | "
                 f"{sorted(set(col('after', 'exit_code')))} |")
    lines += ["", f"Target: 0 client errors after, in every run: **{verdict}** "
              f"(median before {med['before']:g}, after {med['after']:g}).", ""]
    md = "\n".join(lines)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "drain.json").write_text(json.dumps({"runs": runs, "verdict": verdict, "clients": a.clients,
                                                "poll_ms": a.poll_ms, "drain_delay_s": a.drain_delay}, indent=1))
    (OUT / "drain.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
