"""Packaging: the wheels of perfkit and wordgame_lab, installed with their extras into a fresh venv outside the
checkout (and with the checkout off sys.path), run the CLI on a Fleet archive and the black-box suite against a
wordgame server started by the installed package."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, _go
from perfkit import read_profile

pytestmark = pytest.mark.slow

ARCHIVE = "pprof-bad-cpu"
# Every subprocess is bounded; the install fetches the dependencies through pip's cache.
INSTALL_TIMEOUT, BUILD_TIMEOUT, CMD_TIMEOUT, SUITE_TIMEOUT = 600, 300, 180, 600


class Venv:
    """A venv outside the checkout; commands run from ``work`` with PYTHONPATH unset."""

    def __init__(self, root: Path, work: Path):
        self.root, self.work = root, work
        self.bin = root / "bin"
        self.python = self.bin / "python"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "WORDGAME_BIN", "WORDGAME_SRC")}
        self.env["PATH"] = f"{self.bin}{os.pathsep}{self.env.get('PATH', '')}"

    def run(self, *cmd, timeout: float = CMD_TIMEOUT, env: dict | None = None, check: bool = True):
        p = subprocess.run([str(c) for c in cmd], cwd=self.work, env={**self.env, **(env or {})},
                           capture_output=True, text=True, timeout=timeout)
        if check:
            assert p.returncode == 0, f"{cmd} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
        return p

    def site_packages(self) -> Path:
        out = self.run(self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
        return Path(out.stdout.strip()).resolve()


def _copy_sources(dst: Path) -> None:
    """Build from a copy, so the build's egg-info and build/ directories never land in the checkout."""
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    shutil.copy2(ROOT / "pyproject.toml", dst / "pyproject.toml")
    shutil.copytree(ROOT / "lib", dst / "lib", ignore=junk)
    (dst / "wordgame").mkdir()
    shutil.copy2(ROOT / "wordgame" / "pyproject.toml", dst / "wordgame" / "pyproject.toml")
    shutil.copytree(ROOT / "wordgame" / "wordgame_lab", dst / "wordgame" / "wordgame_lab", ignore=junk)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.resolve().parents, "the temp dir must be outside the checkout"
    src, wheels, work = base / "src", base / "wheels", base / "work"
    for d in (src, wheels, work):
        d.mkdir()
    _copy_sources(src)
    build_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(wheels), ".", "./wordgame"], cwd=src, env=build_env, capture_output=True,
                       text=True, timeout=BUILD_TIMEOUT)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    pk, = wheels.glob("perfkit-*.whl")
    wg, = wheels.glob("wordgame_lab-*.whl")
    shutil.rmtree(src)      # nothing of the sources is left to import from
    p = subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], cwd=work, env=build_env,
                       capture_output=True, text=True, timeout=CMD_TIMEOUT)
    assert p.returncode == 0, p.stderr
    v = Venv(base / "venv", work)
    # no byte-compiling of the dependencies (a minute of CPU); the tests import what they use
    v.run(v.python, "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check", f"{pk}[lab]", str(wg),
          timeout=INSTALL_TIMEOUT)
    return v


@pytest.fixture(scope="module")
def archive(fleet_dir) -> Path:
    a = fleet_dir / ARCHIVE
    if not a.is_dir():
        pytest.skip(f"Fleet archive {a} is absent")
    return a


@pytest.fixture(scope="module")
def wordgame_binary(tmp_path_factory) -> Path:
    """The checkout-built server binary, else built now into a temp dir."""
    b = ROOT / "bin" / "wordgame"
    if b.is_file():
        return b
    go = _go()
    if go is None:
        pytest.fail("the Go toolchain is required to build the wordgame server and was not found")
    out = tmp_path_factory.mktemp("wordgame-bin") / "wordgame"
    p = subprocess.run([go, "build", "-o", str(out), "./cmd/wordgame"], cwd=ROOT / "wordgame", capture_output=True,
                       text=True, timeout=BUILD_TIMEOUT)
    assert p.returncode == 0, p.stderr[-3000:]
    return out


def test_installed_packages_come_from_the_new_venv_not_the_checkout(venv):
    site = venv.site_packages()
    out = venv.run(venv.python, "-c", "import sys, perfkit, wordgame_lab; "
                   "print(perfkit.__file__); print(wordgame_lab.__file__); print(wordgame_lab.suite_dir()); "
                   "print('\\n'.join(sys.path))")
    pk, wg, suite, *path = out.stdout.splitlines()
    for f in (pk, wg, suite):
        assert site in Path(f).resolve().parents, (f, site)
        assert ROOT not in Path(f).resolve().parents, f
    on_path = [p for p in path if p and (Path(p).resolve() == ROOT or ROOT in Path(p).resolve().parents)]
    assert not on_path, on_path
    assert (Path(suite) / "conftest.py").is_file() and (Path(suite) / "pytest.ini").is_file()
    for script in ("perfkit", "wordgame-lab"):
        assert (venv.bin / script).is_file(), script


def test_installed_top_csv_flat_sums_to_the_profile_total(venv, archive):
    prof = archive / "profile"
    out = venv.run(venv.bin / "perfkit", "top", prof, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(rows[0]) == ["name", "flat", "flat_pct", "sum_pct", "cum", "cum_pct"]
    assert len(rows) > 10
    flat = [int(r["flat"]) for r in rows]
    assert all(float(r["cum"]) >= float(r["flat"]) >= 0 for r in rows)
    # Oracle: the sum of the profile's sample values for its default sample type, read by the checkout.
    p = read_profile(prof)
    assert sum(flat) == int(p.values[:, p.sample_index(None)].sum()) > 0
    assert abs(float(rows[-1]["sum_pct"]) - 100.0) < 1e-3


def test_installed_flame_writes_html_with_an_svg(venv, archive):
    out = venv.work / "x.html"
    out.unlink(missing_ok=True)
    venv.run(venv.bin / "perfkit", "flame", archive / "profile", "-o", "x.html")
    html = out.read_text()
    assert html.lstrip().lower().startswith(("<!doctype html", "<html"))
    assert "<svg" in html
    assert "math/big.addMulVVW" in html     # the profile's hottest function is drawn


def test_installed_trace_summary_json(venv, archive):
    out = venv.run(venv.bin / "perfkit", "trace", "summary", archive / "trace", "--format", "json")
    s = json.loads(out.stdout)
    assert s["version"].startswith("1.")
    assert s["events"] > 0 and s["gomaxprocs"] >= 1 and s["duration_s"] > 0


SERVER_SCRIPT = textwrap.dedent("""
    import json, sys
    import wordgame_lab
    with wordgame_lab.WordgameServer(["GOPHER"]) as srv:
        print(json.dumps({"url": srv.url, "admin_url": srv.admin_url, "pid": srv.pid,
                          "module": wordgame_lab.__file__}), flush=True)
        sys.stdin.read()        # serve until the test closes stdin
""")


def test_installed_blackbox_cli_passes_against_a_server_started_by_the_installed_package(venv, wordgame_binary):
    env = {**venv.env, "WORDGAME_BIN": str(wordgame_binary)}
    srv = subprocess.Popen([str(venv.python), "-c", SERVER_SCRIPT], cwd=venv.work, env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        assert line, f"server script exited {srv.poll()}: {srv.stderr.read()[-3000:]}"
        info = json.loads(line)
        assert venv.site_packages() in Path(info["module"]).resolve().parents
        assert info["url"].startswith("http://127.0.0.1:")
        out = venv.run(venv.bin / "perfkit", "wordgame", "test", info["url"], "--group", "contract",
                       "--word", "GOPHER", "--pid", info["pid"], "--admin-url", info["admin_url"],
                       timeout=SUITE_TIMEOUT, check=False)
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-3000:]
        summary = out.stdout.strip().splitlines()[-1]
        counts = {k: int(n) for n, k in (part.split() for part in summary.split(", "))}
        assert counts.get("passed", 0) >= 5, out.stdout
        assert set(counts) <= {"passed", "skipped"}, out.stdout
    finally:
        srv.stdin.close()
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait(timeout=10)
