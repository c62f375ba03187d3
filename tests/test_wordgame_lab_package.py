"""wordgame_lab as a package of its own: package data covered by its pyproject, the library never
imports it, perfkit.lab never imports Locust, the CLI plugin's commands and options, server lookup errors."""
from __future__ import annotations

import argparse
import ast
import fnmatch
import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT
from perfkit.lab import GoServer, ServerProcessError, build_go_binary
from wordgame_lab import WordgameError, WordgameServer, cli

PKG = ROOT / "wordgame" / "wordgame_lab"


def test_every_data_file_of_the_package_is_declared_package_data():
    conf = tomllib.loads((ROOT / "wordgame" / "pyproject.toml").read_text())
    globs = conf["tool"]["setuptools"]["package-data"]["wordgame_lab"]
    data = [p.relative_to(PKG).as_posix() for p in PKG.rglob("*")
            if p.is_file() and p.suffix != ".pyc" and "__pycache__" not in p.parts
            and not (p.suffix == ".py" and p.parent == PKG)]
    missing = [f for f in data if not any(fnmatch.fnmatchcase(f, g) for g in globs)]
    assert not missing, missing
    assert {"suite/conftest.py", "suite/pytest.ini", "defective_src/go.mod", "openapi.yaml",
            "monitoring/prometheus.yml"} <= set(data)
    ep = conf["project"]["entry-points"]["perfkit.cli"]
    assert ep == {"wordgame": "wordgame_lab.cli:register"}


def test_the_library_never_imports_wordgame_lab_and_has_no_wordgame_module():
    offenders = []
    for f in (ROOT / "lib" / "perfkit").rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{f.name}: {n}" for n in names if n.split(".")[0] == "wordgame_lab" or ".wordgame" in n]
    assert not offenders
    assert not (ROOT / "lib" / "perfkit" / "wordgame").exists()
    assert not (ROOT / "lib" / "perfkit" / "monitoring").exists()


def test_importing_perfkit_lab_and_wordgame_lab_does_not_import_locust():
    code = ("import sys, perfkit, perfkit.lab, wordgame_lab, wordgame_lab.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cli_plugin_registers_the_three_commands_with_their_options():
    ap = argparse.ArgumentParser(prog="perfkit")
    cli.register(ap.add_subparsers(dest="cmd"))
    a = ap.parse_args(["wordgame", "test", "http://127.0.0.1:1", "--group", "contract", "--concurrency", "4x3"])
    assert (a.url, a.group, a.concurrency, a.func.__name__) == ("http://127.0.0.1:1", "contract", "4x3", "_test")
    a = ap.parse_args(["wordgame", "load", "http://127.0.0.1:1", "-u", "3", "--think", "0.1", "0.2"])
    assert (a.users, a.think, a.abandon, a.func.__name__) == (3, [0.1, 0.2], 0.1, "_load")
    a = ap.parse_args(["wordgame", "capacity", "http://127.0.0.1:1", "--steps", "1,2"])
    assert (a.steps, a.p99_ms, a.func.__name__) == ("1,2", 50, "_capacity")
    with pytest.raises(SystemExit):
        cli.main(["bogus"])


def test_server_binary_lookup_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDGAME_BIN", str(tmp_path / "missing"))
    with pytest.raises(WordgameError, match="no such wordgame binary"):
        WordgameServer()
    monkeypatch.delenv("WORDGAME_BIN")
    with pytest.raises(WordgameError, match="not the wordgame Go module"):
        WordgameServer(src=tmp_path)
    with pytest.raises(ServerProcessError, match="no go.mod"):
        build_go_binary(tmp_path)


def test_go_server_that_exits_at_once_is_a_clear_error():
    srv = GoServer(lambda d: [sys.executable, "-c", "print('bye')"], url="http://127.0.0.1:9", start_timeout=5)
    with pytest.raises(ServerProcessError, match="not ready: bye"):
        srv.start()
    assert not srv.alive


def test_go_server_output_to_a_file_survives_stop():
    from perfkit.lab import free_port
    port = free_port()
    srv = GoServer(lambda d: [sys.executable, "-u", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                   url=f"http://127.0.0.1:{port}", log_to_file=True, start_timeout=20)
    with srv:
        assert srv.alive and srv.pid
    assert not srv.alive
    assert f"port {port}" in srv.output()


def test_build_go_binary_is_keyed_by_the_sources(tmp_path, monkeypatch):
    # two checkouts of one module with different sources must never share a cached binary
    monkeypatch.setenv("PERFKIT_LAB_CACHE", str(tmp_path / "cache"))
    mods = []
    for i, word in enumerate(("alpha", "beta", "alpha")):
        m = tmp_path / f"checkout{i}" / "hello"
        m.mkdir(parents=True)
        (m / "go.mod").write_text("module example.test/hello\n\ngo 1.21\n")
        (m / "main.go").write_text(f'package main\n\nimport "fmt"\n\nfunc main() {{ fmt.Println("{word}") }}\n')
        mods.append(m)
    bins = [build_go_binary(m) for m in mods]
    outs = [subprocess.run([str(b)], capture_output=True, text=True).stdout.strip() for b in bins]
    assert outs == ["alpha", "beta", "alpha"]
    assert bins[0] != bins[1] and bins[0] == bins[2]
    # an explicit output path is rebuilt when the sources behind it change
    fixed = tmp_path / "out" / "hello"
    build_go_binary(mods[0], out=fixed)
    build_go_binary(mods[1], out=fixed)
    assert subprocess.run([str(fixed)], capture_output=True, text=True).stdout.strip() == "beta"
