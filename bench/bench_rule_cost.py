"""Cost of the 3-day SLO window: a raw rate over 3d against the sum of recorded 5m rates.

    .venv/bin/python bench/bench_rule_cost.py [--repeat 5] [--series 24] [--scrape 5] [--eval 15]

Backfills 3 days and 1 hour (``promtool tsdb create-blocks-from openmetrics``) of a wordgame-shaped
scrape: ``--series`` request and latency series every ``--scrape`` seconds, and the two recorded 5m
rates the 3d rule reads every ``--eval`` seconds. Then a Prometheus on 127.0.0.1 over those blocks
answers, interleaved ``--repeat`` times after a warm-up of each:

- **raw**: the 1h availability ratio of rules/recording.yml with its window set to 3d (what a
  raw-counter 3d rule would evaluate);
- **recorded**: ``wordgame:slo_errors:ratio_rate3d`` as rules/recording.yml defines it.

Reported: samples each query reads (Prometheus's own ``stats=all``, exact), median wall time of
each, and the ratio raw/recorded with its spread (min-max over the runs, each run's raw over the
same run's recorded). Target: the recorded rule reads at least 10x fewer samples. Writes
bench/out/rule_cost.json and rule_cost.md.
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
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RULES = HERE.parent / "wordgame" / "wordgame_lab" / "monitoring" / "rules" / "recording.yml"
OUT = HERE / "out"
TARGET_SAMPLE_RATIO = 10.0
SPAN_S = 3 * 86400 + 3600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _queries() -> dict[str, str]:
    rules = {r["record"]: r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    raw = rules["wordgame:slo_errors:ratio_rate1h"].replace("[1h]", "[3d]")
    assert "[3d]" in raw and "[1h]" not in raw
    return {"raw": raw, "recorded": rules["wordgame:slo_errors:ratio_rate3d"]}


def _series_labels(n: int) -> list[str]:
    combos = [(r, m) for r, m in (("/new", "POST"), ("/new", "GET"), ("/guess", "POST"))]
    codes = ["200", "400", "404", "500", "503", "none"]
    out = []
    for i in range(n):
        route, method = combos[i % len(combos)]
        code = codes[(i // len(combos)) % len(codes)]
        out.append(f'job="wordgame",instance="w{i // (len(combos) * len(codes))}",route="{route}",'
                   f'method="{method}",code="{code}"')
    return out


def write_openmetrics(path: Path, *, series: int, scrape: float, evaluation: float, end: float) -> int:
    """The backfill input; returns the number of samples written."""
    start = end - SPAN_S
    n = 0
    with open(path, "w") as f:
        f.write("# TYPE wordgame_http_requests counter\n")
        steps = int(SPAN_S / scrape)
        for i, labels in enumerate(_series_labels(series)):
            per_scrape = 1 + i % 7
            for k in range(steps):
                f.write(f"wordgame_http_requests_total{{{labels}}} {k * per_scrape} {start + k * scrape:.3f}\n")
            n += steps
        evals = int(SPAN_S / evaluation)
        for name in ("wordgame:slo_errors:rate5m", "wordgame:slo_requests:rate5m"):
            value = 0.01 if "errors" in name else 10.0
            for k in range(evals):
                f.write(f'{name}{{job="wordgame"}} {value} {start + k * evaluation:.3f}\n')
            n += evals
        f.write("# EOF\n")
    return n


class Prom:
    def __init__(self, binary: str, data: Path, workdir: Path):
        cfg = workdir / "prometheus.yml"
        cfg.write_text("global: {scrape_interval: 1m}\nscrape_configs: []\n")
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.proc = subprocess.Popen([binary, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                                      f"--web.listen-address={self.url[7:]}", "--storage.tsdb.retention.time=30d",
                                      "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("prometheus did not become ready")

    def query(self, expr: str, at: float) -> tuple[float, int, float]:
        """(wall seconds, samples read, value)."""
        q = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}", "stats": "all"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=300) as r:
            body = json.load(r)
        wall = time.perf_counter() - t0
        data = body["data"]
        samples = int(data.get("stats", {}).get("samples", {}).get("totalQueryableSamples", -1))
        value = float(data["result"][0]["value"][1]) if data["result"] else float("nan")
        return wall, samples, value

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--series", type=int, default=24, help="raw request series (wordgame with a few codes: ~24)")
    ap.add_argument("--scrape", type=float, default=5.0, help="scrape interval of the raw series, seconds")
    ap.add_argument("--eval", type=float, default=15.0, help="rule evaluation interval, seconds")
    args, _unknown = ap.parse_known_args(argv)       # run_all.py passes its arguments to every script
    prometheus, promtool = shutil.which("prometheus") or "/usr/bin/prometheus", shutil.which("promtool") or "/usr/bin/promtool"
    if not Path(prometheus).exists() or not Path(promtool).exists():
        print("prometheus/promtool missing (Debian: apt-get install prometheus)", file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    queries = _queries()
    end = float(int(time.time() // 3600 * 3600))
    runs: dict[str, list] = {k: [] for k in queries}
    with tempfile.TemporaryDirectory(prefix="bench-rule-cost-") as tmp:
        tmp = Path(tmp)
        t0 = time.monotonic()
        written = write_openmetrics(tmp / "in.om", series=args.series, scrape=args.scrape, evaluation=args.eval,
                                    end=end)
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(tmp / "in.om"), str(tmp / "data")],
                       check=True, capture_output=True, timeout=1800)
        (tmp / "in.om").unlink()
        print(f"backfilled {written:,} samples in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        prom = Prom(prometheus, tmp / "data", tmp)
        try:
            at = end - 60
            for name, expr in queries.items():          # warm-up: page cache, chunk decoding
                prom.query(expr, at)
            for _ in range(args.repeat):
                for name, expr in queries.items():
                    runs[name].append(prom.query(expr, at))
        finally:
            prom.stop()
    wall = {k: [r[0] for r in v] for k, v in runs.items()}
    samples = {k: v[0][1] for k, v in runs.items()}
    ratios = [a / b for a, b in zip(wall["raw"], wall["recorded"])]
    sample_ratio = samples["raw"] / samples["recorded"] if samples["recorded"] > 0 else float("nan")
    ok = sample_ratio >= TARGET_SAMPLE_RATIO
    result = {"args": vars(args), "samples": samples, "wall_s": wall, "wall_ratio_runs": ratios,
              "values": {k: v[0][2] for k, v in runs.items()}, "sample_ratio": sample_ratio, "ok": ok,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    (OUT / "rule_cost.json").write_text(json.dumps(result, indent=2))
    md = [f"## 3-day SLO window: raw rate vs recorded 5m sums ({args.series} series every {args.scrape:g} s, "
          f"rules every {args.eval:g} s, {args.repeat} interleaved runs)", "",
          "| query | samples read | median wall | wall min-max |", "|---|---|---|---|"]
    for k in queries:
        md.append(f"| {k} | {samples[k]:,} | {statistics.median(wall[k]) * 1e3:.1f} ms | "
                  f"{min(wall[k]) * 1e3:.1f}-{max(wall[k]) * 1e3:.1f} ms |")
    md += ["", f"raw / recorded: samples {sample_ratio:.1f}x; wall time {statistics.median(ratios):.1f}x "
           f"(per-run ratios {min(ratios):.1f}-{max(ratios):.1f}x). Target: samples >= {TARGET_SAMPLE_RATIO:g}x: "
           f"{'PASS' if ok else 'FAIL'}.", ""]
    (OUT / "rule_cost.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
