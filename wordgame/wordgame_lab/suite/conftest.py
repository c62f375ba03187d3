"""Black-box suite for any wordgame server.

    perfkit wordgame test http://127.0.0.1:8080 [--group contract|hardening]
    pytest $(python -c 'import wordgame_lab; print(wordgame_lab.suite_dir())') --wordgame-url URL

Without a URL the suite starts the project's server (WORDGAME_BIN, or built from WORDGAME_SRC) (one-word
dictionary, so the secret is known and states are checked exactly) and stops
it afterwards. A target that dies is reported once, as "process died during
<test>"; every later test is reported as not run (skipped with a reason that
starts with "not run:").
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from wordgame_lab.client import Client, port_open

KNOWN_WORD = "GOPHER"
# Flags that make our own server's limits observable in a short run.
OWN_SERVER_ARGS = ("-game-ttl", "2s", "-read-header-timeout", "2s", "-read-timeout", "3s")

OPTIONS = [
    ("--wordgame-url", "WORDGAME_URL", None, "base URL of the server under test (default: start our own)"),
    ("--wordgame-word", "WORDGAME_WORD", None, "the secret word, when the target's dictionary has one word"),
    ("--wordgame-pid", "WORDGAME_PID", None, "pid of the target process (liveness by pid as well as by port)"),
    ("--wordgame-admin-url", "WORDGAME_ADMIN_URL", None, "admin base URL (/healthz, /metrics), if any"),
    ("--wordgame-slow-timeout", "WORDGAME_SLOW_TIMEOUT", "30", "seconds a slow client may be held before it is a finding"),
    ("--wordgame-ttl", "WORDGAME_TTL", None, "idle-game TTL in seconds configured on the target (enables the eviction test)"),
    ("--wordgame-max-games", "WORDGAME_MAX_GAMES", None, "the target's maximum of live games, when small (enables the capacity test)"),
    ("--wordgame-examples", "WORDGAME_EXAMPLES", "20", "hypothesis examples for the model-based and schemathesis tests"),
    ("--wordgame-concurrency", "WORDGAME_CONCURRENCY", "32x25", "parallel clients x games each"),
]


def pytest_addoption(parser):
    for opt, _env, default, help_ in OPTIONS:
        try:
            parser.addoption(opt, default=None, help=f"{help_} (default {default})")
        except ValueError:      # already added (e.g. by a plugin)
            pass


def opt(config, name: str):
    for o, env, default, _ in OPTIONS:
        if o == name:
            v = None
            try:
                v = config.getoption(o)
            except ValueError:
                pass
            return v if v not in (None, "") else os.environ.get(env) or default
    raise KeyError(name)


def pytest_configure(config):
    config.addinivalue_line("markers", "contract: documented API and game rules (the original passes these)")
    config.addinivalue_line("markers", "hardening: the defect classes of the original (it fails these)")


@dataclass
class Target:
    url: str
    word: str | None = None
    pid: int | None = None
    admin_url: str | None = None
    slow_timeout: float = 30.0
    ttl: float | None = None
    max_games: int | None = None
    examples: int = 20
    clients: int = 16
    games: int = 20
    server: object = None     # WordgameServer when the suite started it

    def client(self, timeout: float = 5.0) -> Client:
        return Client(self.url, timeout=timeout)

    def alive(self) -> bool:
        if self.server is not None and not self.server.alive:
            return False
        if self.pid:
            try:
                st = Path(f"/proc/{self.pid}/status").read_text()
                if "\nState:\tZ" in st:
                    return False
            except OSError:
                return False
        return any(port_open(self.url, timeout=1.0) for _ in range(3))


_STATE: dict = {"target": None, "dead_during": None}


@pytest.fixture(scope="session")
def target(request) -> Target:
    cfg = request.config
    url = opt(cfg, "--wordgame-url")
    n, _, m = str(opt(cfg, "--wordgame-concurrency")).partition("x")
    common = dict(slow_timeout=float(opt(cfg, "--wordgame-slow-timeout")),
                  examples=int(opt(cfg, "--wordgame-examples")), clients=int(n), games=int(m or 10))
    server = None
    if url:
        ttl = opt(cfg, "--wordgame-ttl")
        pid = opt(cfg, "--wordgame-pid")
        mg = opt(cfg, "--wordgame-max-games")
        t = Target(url.rstrip("/"), word=(opt(cfg, "--wordgame-word") or None), pid=int(pid) if pid else None,
                   admin_url=opt(cfg, "--wordgame-admin-url"), ttl=float(ttl) if ttl else None,
                   max_games=int(mg) if mg else None, **common)
    else:
        from wordgame_lab.server import WordgameServer
        server = WordgameServer(words=[KNOWN_WORD], args=list(OWN_SERVER_ARGS)).start()
        t = Target(server.url, word=KNOWN_WORD, pid=server.pid, admin_url=server.admin_url, ttl=2.0,
                   server=server, **{**common, "slow_timeout": min(common["slow_timeout"], 10.0)})
    if t.word:
        t.word = t.word.strip().upper()
    _STATE["target"] = t
    yield t
    if server is not None:
        server.stop()


@pytest.fixture
def client(target):
    c = target.client()
    yield c
    c.close()


def pytest_runtest_setup(item):
    if _STATE["dead_during"]:
        pytest.skip(f"not run: the target process died during {_STATE['dead_during']}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    t = _STATE["target"]
    if rep.when != "call" or t is None or _STATE["dead_during"]:
        return
    if not t.alive():
        _STATE["dead_during"] = item.name
        rep.outcome = "failed"
        rep.longrepr = f"process died during {item.name}"
        rep.user_properties.append(("finding", f"process died during {item.name}"))
