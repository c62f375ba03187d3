"""`perfkit wordgame ...` (a plugin of perfkit's CLI, entry-point group ``perfkit.cli``) and the
`wordgame-lab` command: black-box tests, load and capacity from the command line."""
from __future__ import annotations

import json
import sys

from perfkit.cli import main as perfkit_main

from .blackbox import run_blackbox
from .load import distributed_load, generator_ceilings, run_load, wordgame_capacity, wordgame_open_capacity


def register(subparsers) -> None:
    """Add ``wordgame test|load|capacity`` to perfkit's sub-commands."""
    p = subparsers.add_parser("wordgame", help="test, load and break a wordgame server")
    _add_commands(p.add_subparsers(dest="wordgame_cmd", required=True))


def _add_commands(sub) -> None:
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
    c.add_argument("--model", choices=("closed", "open"), default="closed",
                   help="closed: Locust users stepped; open: arrival rate stepped, latency from intended send time")
    c.add_argument("--p99-ms", type=float, default=50)
    c.add_argument("--steps", default=None, help="users (closed, default 5,10,20,40,80) or arrivals/s "
                   "(open, default 500,1000,2000,4000,8000,16000)")
    c.add_argument("--step-seconds", type=float, default=5)
    c.add_argument("--admin-url", help="the server's admin URL: its CPU from /metrics decides the bottleneck")
    c.set_defaults(func=_capacity)

    g = sub.add_parser("ceilings", help="generator ceilings on POST /new (wrk, Locust per process), and with "
                       "--target-rps a distributed Locust run sized by them")
    g.add_argument("url")
    g.add_argument("-t", "--seconds", type=float, default=5)
    g.add_argument("--workers", type=int, default=2)
    g.add_argument("--target-rps", type=float)
    g.add_argument("--admin-url")
    g.set_defaults(func=_ceilings)


def _test(a) -> int:
    res = run_blackbox(a.url, group=a.group, word=a.word, pid=a.pid, admin_url=a.admin_url, slow_timeout=a.slow_timeout,
              ttl=a.ttl, examples=a.examples, concurrency=a.concurrency)
    print(res.table())
    return 0 if res.ok else 1


def _load(a) -> int:
    r = run_load(a.url, a.users, a.spawn_rate, a.duration, workers=a.workers, think=tuple(a.think),
                 abandon=a.abandon, invalid=a.invalid)
    print(r.stats.to_string(index=False))
    if len(r.failures):
        print(r.failures.to_string(index=False))
    print(json.dumps(r.summary()))
    return 0 if r.summary()["failures"] == 0 else 1


def _capacity(a) -> int:
    if a.model == "open":
        rates = [float(x) for x in (a.steps or "500,1000,2000,4000,8000,16000").split(",")]
        res = wordgame_open_capacity(a.url, rates=rates, step_seconds=a.step_seconds, p99_ms=a.p99_ms,
                                     admin_url=a.admin_url)
    else:
        res = wordgame_capacity(a.url, steps=[int(x) for x in (a.steps or "5,10,20,40,80").split(",")],
                                step_seconds=a.step_seconds, p99_ms=a.p99_ms, admin_url=a.admin_url)
    print(res.steps.to_string(index=False))
    print(json.dumps(res.as_dict(), default=str))
    return 0


def _ceilings(a) -> int:
    g = generator_ceilings(a.url, a.seconds, workers=a.workers)
    print(g.to_string(index=False))
    if a.target_rps:
        per = float(g.loc[g["generator"] == "locust", "rps"].iloc[0])
        d = distributed_load(a.url, a.target_rps, per, a.seconds, admin_url=a.admin_url)
        print(json.dumps(d.as_dict(), default=str))
    return 0


def main(argv=None) -> int:
    """The ``wordgame-lab`` command: ``perfkit wordgame`` under its own name (same commands and errors)."""
    return perfkit_main(["wordgame", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
