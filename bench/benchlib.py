"""Shared pieces of the perfkit benchmarks: fresh-process measurement, interleaved runs,
medians with their spread, the machine's facts, PASS/FAIL/SKIP verdicts and the report files."""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
TIME_BIN = "/usr/bin/time"

# run one command, report its wall time and the peak RSS of its largest process (no /usr/bin/time)
_WRAPPER = """\
import json, resource, subprocess, sys, time
spec = json.loads(sys.argv[1])
out = open(spec["stdout"], "wb") if spec["stdout"] else subprocess.DEVNULL
t = time.perf_counter()
r = subprocess.run(spec["cmd"], stdout=out, stderr=subprocess.PIPE, env=spec["env"])
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(r.stderr.decode(errors="replace")[-2000:] + "\\n")
sys.stderr.write(json.dumps({"rc": r.returncode, "wall": wall, "maxrss_kb": ru.ru_maxrss,
                             "user": ru.ru_utime, "sys": ru.ru_stime}) + "\\n")
"""


def go_binary(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    found = shutil.which("go")
    if found:
        return found
    if Path("/usr/local/go/bin/go").exists():
        return "/usr/local/go/bin/go"
    sys.exit("bench: cannot find the go command (pass --go)")


def kit_env() -> dict:
    """The environment of a kit process: this checkout's lib first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("GOTOOLCHAIN", "local")
    env.setdefault("MPLBACKEND", "Agg")
    return env


# A machine shared with other timing-sensitive work may pause the benchmarks (SIGSTOP) while a file
# exists: name it in PERFKIT_BENCH_PAUSE_FILE and a run waits for it to go, and a run it overlapped is
# measured again (its wall time would include the pause).
PAUSE_FILE = os.environ.get("PERFKIT_BENCH_PAUSE_FILE")


def _paused() -> bool:
    return bool(PAUSE_FILE) and Path(PAUSE_FILE).exists()


def measure(cmd: list[str], stdout_path: str | None = None, timeout: float = 3600, env=None) -> dict:
    """Run cmd in a fresh process: wall seconds, peak RSS (KiB) of its largest process, CPU seconds.
    A run that a pause (PERFKIT_BENCH_PAUSE_FILE) overlapped is run again, up to 5 times."""
    for _ in range(5):
        while _paused():
            time.sleep(2)
        before = Path(PAUSE_FILE).stat().st_mtime if _paused() else None
        t0 = time.time()
        r = _measure(cmd, stdout_path, timeout, env)
        if PAUSE_FILE:
            time.sleep(0.6)                   # let the watcher note a stop that just ended
        overlapped = _paused() or (PAUSE_FILE and Path(PAUSE_FILE).exists()
                                   and Path(PAUSE_FILE).stat().st_mtime >= t0) or before is not None
        if not overlapped and not _pause_seen_since(t0):
            return r
        print(f"  (a pause overlapped the run of {Path(cmd[0]).name}: measuring again)", flush=True)
    return r


def timed_run(cmd: list[str], cwd=None, env=None, timeout: float = 3600) -> float:
    """Wall seconds of one run of cmd (output discarded; an error raises), measured again if a
    pause overlapped it (see measure)."""
    for _ in range(5):
        while _paused():
            time.sleep(2)
        t0 = time.time()
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=cwd, env=env or kit_env(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
        wall = time.perf_counter() - t
        if PAUSE_FILE:
            time.sleep(0.6)
        if not _paused() and not _pause_seen_since(t0):
            return wall
        print(f"  (a pause overlapped the run of {Path(cmd[0]).name}: measuring again)", flush=True)
    return wall


_PAUSES: list[float] = []


def _pause_seen_since(t0: float) -> bool:
    return any(t >= t0 for t in _PAUSES)


def _watch_pauses() -> None:
    """Note when the pause file is seen, or when this process itself was stopped (its clock jumps
    while a short sleep is pending): a daemon thread, so pauses shorter than a run are caught too."""
    import threading

    def loop():
        last = time.monotonic()
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            if _paused() or now - last > 5:
                _PAUSES.append(time.time())
            last = now
    if PAUSE_FILE:
        threading.Thread(target=loop, daemon=True).start()


_watch_pauses()


def _measure(cmd: list[str], stdout_path: str | None, timeout: float, env) -> dict:
    env = env or kit_env()
    if Path(TIME_BIN).exists():
        with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
            tpath = tf.name
        out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
        try:
            t = time.perf_counter()
            r = subprocess.run([TIME_BIN, "-f", "%M %U %S", "-o", tpath, *cmd], stdout=out,
                               stderr=subprocess.PIPE, timeout=timeout, env=env)
            wall = time.perf_counter() - t
            fields = Path(tpath).read_text().strip().splitlines()[-1].split()
        finally:
            if stdout_path:
                out.close()
            os.unlink(tpath)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
        return {"wall": wall, "maxrss_kb": int(fields[0]), "user": float(fields[1]), "sys": float(fields[2])}
    spec = json.dumps({"cmd": cmd, "stdout": stdout_path, "env": env})
    r = subprocess.run([sys.executable, "-c", _WRAPPER, spec], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
    lines = r.stderr.decode(errors="replace").strip().splitlines()
    res = json.loads(lines[-1])
    if res["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {res['rc']}: {chr(10).join(lines[:-1])[-2000:]}")
    return {k: res[k] for k in ("wall", "maxrss_kb", "user", "sys")}


def interleaved(cmds: dict[str, list[str]], repeat: int, label: str = "", timeout: float = 3600) -> dict:
    """Run each command `repeat` times, alternating which goes first; {name: [measurements]}."""
    runs = {name: [] for name in cmds}
    names = list(cmds)
    for i in range(repeat):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            r = measure(cmds[name], timeout=timeout)
            runs[name].append(r)
            print(f"  {label}run {i + 1}/{repeat} {name}: {r['wall']:.2f}s wall, {r['user'] + r['sys']:.2f}s cpu, "
                  f"peak RSS {r['maxrss_kb'] / 1024:,.0f} MB", flush=True)
    return runs


def spread(xs) -> dict:
    xs = list(xs)
    if not xs:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def ratios(runs: dict, a: str, b: str, key: str) -> dict:
    """Per-run ratio a/b of one measure (run i of a against run i of b), with its spread."""
    return spread(x[key] / y[key] for x, y in zip(runs[a], runs[b]) if y[key])


def fmt_spread(s: dict, digits: int = 2) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def verdict(ok: bool | None) -> str:
    return "SKIP" if ok is None else ("PASS" if ok else "FAIL")


def mem_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def environment(go: str | None = None) -> dict:
    env = {"date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "cpus": os.cpu_count(), "memory_gb": round(mem_gb(), 1), "platform": platform.platform(),
           "python": platform.python_version()}
    if go:
        env["go"] = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    try:
        out = subprocess.run([sys.executable, "-c", "import numpy, pandas, google.protobuf as pb; "
                              "print(numpy.__version__, pandas.__version__, pb.__version__)"],
                             capture_output=True, text=True, env=kit_env()).stdout.split()
        env.update(numpy=out[0], pandas=out[1], protobuf=out[2])
    except (IndexError, OSError):
        pass
    return env


def env_line(env: dict) -> str:
    parts = [env["date"], f"{env['cpus']} CPUs", f"{env['memory_gb']:.0f} GB RAM", f"Python {env['python']}"]
    if env.get("go"):
        parts.append(env["go"])
    return "; ".join(parts)


def write_report(out_dir: Path, name: str, md: str, data: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (out_dir / f"{name}.md").write_text(md.rstrip() + "\n")
    print()
    print(md)


def top_rows(df, n: int = 50) -> list[tuple]:
    """The first n rows of a perfkit.top table as (name, flat, cum)."""
    return [(str(r.name), int(r.flat), int(r.cum)) for r in df.head(n).itertuples(index=False)]
