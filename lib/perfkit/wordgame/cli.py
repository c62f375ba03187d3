"""`perfkit wordgame ...`: black-box tests, load, capacity and chaos from the command line.

lib/perfkit/cli.py calls ``register(subparsers)``.
"""
from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("wordgame", help="test, load and break a wordgame server")
    sub = p.add_subparsers(dest="wordgame_cmd", required=True)

    t = sub.add_parser("test", help="run the black-box suite; exit 0 only if every selected test passed")
    t.add_argument("url", nargs="?", default=None, help="base URL (default: build and start our own server)")
    t.add_argument("--group", choices=("contract", "hardening", "all"), default="all")
    t.add_argument("--word", help="the secret word, if the target has a one-word dictionary")
    t.add_argument("--pid", type=int, help="pid of the target (liveness by pid)")
    t.add_argument("--admin-url")
    t.add_argument("--slow-timeout", type=float)
    t.add_argument("--ttl", type=float, help="the target's idle-game TTL in seconds")
    t.add_argument("--examples", type=int)
    t.add_argument("--concurrency", help="CLIENTSxGAMES, e.g. 32x25")
    t.set_defaults(func=_test)

    ld = sub.add_parser("load", help="headless Locust run; prints the per-request stats")
    ld.add_argument("url")
    ld.add_argument("-u", "--users", type=int, default=10)
    ld.add_argument("-r", "--spawn-rate", type=float, default=10)
    ld.add_argument("-t", "--duration", type=float, default=10)
    ld.add_argument("--workers", type=int, default=0)
    ld.add_argument("--think", type=float, nargs=2, default=(0.0, 0.0), metavar=("MIN", "MAX"))
    ld.add_argument("--abandon", type=float, default=0.1)
    ld.add_argument("--invalid", type=float, default=0.02)
    ld.set_defaults(func=_load)

    c = sub.add_parser("capacity", help="step the load up until p99 > threshold or errors")
    c.add_argument("url")
    c.add_argument("--p99-ms", type=float, default=50)
    c.add_argument("--steps", default="5,10,20,40,80")
    c.add_argument("--step-seconds", type=float, default=5)
    c.set_defaults(func=_capacity)


def _test(a) -> int:
    from .blackbox import run
    res = run(a.url, group=a.group, word=a.word, pid=a.pid, admin_url=a.admin_url, slow_timeout=a.slow_timeout,
              ttl=a.ttl, examples=a.examples, concurrency=a.concurrency)
    print(res.table())
    return 0 if res.ok else 1


def _load(a) -> int:
    from .load import run_load
    r = run_load(a.url, a.users, a.spawn_rate, a.duration, workers=a.workers, think=tuple(a.think),
                 abandon=a.abandon, invalid=a.invalid)
    print(r.stats.to_string(index=False))
    if len(r.failures):
        print(r.failures.to_string(index=False))
    print(json.dumps(r.summary()))
    return 0 if r.summary()["failures"] == 0 else 1


def _capacity(a) -> int:
    from .capacity import capacity_search
    df, knee = capacity_search(a.url, steps=[int(x) for x in a.steps.split(",")], step_seconds=a.step_seconds,
                               p99_ms=a.p99_ms)
    print(df.to_string(index=False))
    print(json.dumps(knee, default=str))
    return 0
