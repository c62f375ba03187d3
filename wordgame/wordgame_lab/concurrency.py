"""N parallel clients x M full games, spread over processes (Python threads alone rarely overlap
enough to expose a racy server) and threads. Every game is checked against the rules."""
from __future__ import annotations

import multiprocessing as mp
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from .client import Client
from .model import FREQUENCY, GameModel, check_transition, is_finished


def _play(url: str, word: str | None, games: int, threads: int, offset: int, deadline: float,
          start_at: float = 0.0) -> dict:
    # every process starts at the same moment, so the requests really overlap
    time.sleep(max(0.0, start_at - time.time()))
    out = {"games": 0, "requests": 0, "5xx": 0, "conn_errors": 0, "errors": []}
    lock = threading.Lock()

    def player(k: int):
        c = Client(url, timeout=10)
        local = {"games": 0, "requests": 0, "5xx": 0, "conn_errors": 0}
        errs = []
        try:
            for g in range(games):
                if time.time() > deadline:
                    break
                r = c.new()
                local["requests"] += 1
                if r.status != 200:
                    local["5xx"] += r.status >= 500
                    errs.append(f"POST /new -> {r.status}")
                    continue
                st = r.json
                model = GameModel(word) if word else None
                shift = (k + g) % 26
                for L in FREQUENCY[shift:] + FREQUENCY[:shift]:
                    r = c.guess(st["id"], L)
                    local["requests"] += 1
                    if r.status != 200:
                        local["5xx"] += r.status >= 500
                        errs.append(f"guess on a live game -> {r.status}")
                        break
                    after = r.json
                    bad = check_transition(st, after, L)
                    if model is not None:
                        model.guess(L)
                        if after.get("current") != model.current or \
                                after.get("guesses_remaining") != model.guesses_remaining:
                            bad.append(f"state {after} != model {model.state()}")
                    if after.get("id") != st["id"]:
                        bad.append(f"answer for another game: {after.get('id')} != {st['id']}")
                    if bad:
                        errs.append(f"inconsistent game: {bad[0]}")
                        break
                    st = after
                    if is_finished(st):
                        local["games"] += 1
                        break
        except Exception as e:                     # noqa: BLE001 - a connection error is a result
            local["conn_errors"] += 1
            errs.append(f"{type(e).__name__}: {str(e)[:100]}")
        finally:
            c.close()
        with lock:
            for key, v in local.items():
                out[key] += v
            out["errors"].extend(errs[:5])

    ts = [threading.Thread(target=player, args=(offset + k,), daemon=True) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(max(1.0, deadline - time.time() + 15))
    return out


def _burst(url: str, threads: int, per_thread: int, deadline: float, start_at: float) -> dict:
    time.sleep(max(0.0, start_at - time.time()))
    out = {"requests": 0, "5xx": 0, "conn_errors": 0}
    lock = threading.Lock()

    def worker():
        c = Client(url, timeout=10)
        n = bad = lost = 0
        try:
            for _ in range(per_thread):
                if time.time() > deadline:
                    break
                r = c.new()
                n += 1
                bad += r.status >= 500
        except Exception:                          # noqa: BLE001 - a dropped connection is a result
            lost += 1
        finally:
            c.close()
        with lock:
            out["requests"] += n
            out["5xx"] += bad
            out["conn_errors"] += lost

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(max(1.0, deadline - time.time() + 15))
    return out


def burst_new_games(url: str, clients: int = 32, per_client: int = 100, *, processes: int | None = None,
                    max_seconds: float = 20) -> dict:
    """Many clients starting games at the same moment: the most store writes in the least time,
    which is what exposes an unlocked game map. Bounded by count and time."""
    processes = processes or max(1, min(4, clients // 4))
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    start_at = time.time() + 1.0 + 0.3 * processes
    deadline = start_at + max_seconds
    total = {"clients": clients, "requests": 0, "5xx": 0, "conn_errors": 0}
    with ProcessPoolExecutor(processes, mp_context=mp.get_context("spawn")) as ex:
        futs = [ex.submit(_burst, url, n, per_client, deadline, start_at) for n in per if n]
        for f in futs:
            r = f.result(timeout=max_seconds + 60)
            for key in ("requests", "5xx", "conn_errors"):
                total[key] += r[key]
    return total


def run_concurrent_games(url: str, clients: int = 16, games: int = 20, *, word: str | None = None,
                         processes: int | None = None, max_seconds: float = 60) -> dict:
    """Play ``clients`` x ``games`` full games in parallel; returns totals and the first errors."""
    processes = processes or max(1, min(4, clients // 2))
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    start_at = time.time() + 1.0 + 0.3 * processes
    deadline = start_at + max_seconds
    total = {"clients": clients, "games_each": games, "games": 0, "requests": 0, "5xx": 0, "conn_errors": 0,
             "errors": []}
    t0 = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=mp.get_context("spawn")) as ex:
        futs = [ex.submit(_play, url, word, games, n, sum(per[:i]), deadline, start_at) for i, n in enumerate(per) if n]
        for f in futs:
            r = f.result(timeout=max_seconds + 60)
            for key in ("games", "requests", "5xx", "conn_errors"):
                total[key] += r[key]
            total["errors"].extend(r["errors"])
    total["seconds"] = round(time.perf_counter() - t0, 2)
    return total
