"""perfkit.explore in a real JupyterLab (headless, 127.0.0.1) driven by Chromium: the widgets render and are linked."""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import perfkit
from perfkit.views.sandwich import sandwich

ROOT = Path(__file__).resolve().parents[1]
FN = "runtime.mallocgc"
FOCUS = "crypto/tls"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(archive: Path) -> dict:
    cells = [("markdown", "# Explorer"),
             ("code", "import perfkit"),
             ("code", f"ex = perfkit.explore(perfkit.load_archive({str(archive)!r}))\nex")]
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "perfkit-test", "display_name": "perfkit (test)", "language": "python"},
                         "language_info": {"name": "python"}},
            "cells": [{"cell_type": t, "id": f"c{i}", "metadata": {}, "source": s,
                       **({"outputs": [], "execution_count": None} if t == "code" else {})}
                      for i, (t, s) in enumerate(cells)]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory, fleet_dir):
    pytest.importorskip("ipywidgets")
    tmp = tmp_path_factory.mktemp("lab")
    root, data, cfg, runtime = tmp / "root", tmp / "data", tmp / "config", tmp / "runtime"
    for d in (root, cfg, runtime):
        d.mkdir()
    # the kernel: this Python (the project's .venv when the tests run from it), importing this checkout's perfkit
    kdir = data / "kernels" / "perfkit-test"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "perfkit (test)", "language": "python"}))
    (root / "explore.ipynb").write_text(json.dumps(_notebook(fleet_dir / "pprof-bad-cpu")))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_PATH=str(data), JUPYTER_CONFIG_DIR=str(cfg), JUPYTER_RUNTIME_DIR=str(runtime),
               PYTHONPATH=os.pathsep.join([str(ROOT / "lib"), os.environ.get("PYTHONPATH", "")]))
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
         "--ServerApp.port_retries=0", "--allow-root", f"--ServerApp.root_dir={root}",
         f"--IdentityProvider.token={token}", "--MultiKernelManager.default_kernel_name=perfkit-test",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start: {(tmp / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield {"base": base, "token": token, "log": tmp / "lab.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_widget_extension_is_installed(lab):
    with urllib.request.urlopen(f"{lab['base']}/lab?token={lab['token']}", timeout=10) as r:
        page = r.read().decode()
    cfg = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                               page, re.S).group(1))
    names = [e["name"] for e in cfg.get("federated_extensions", [])]
    assert "@jupyter-widgets/jupyterlab-manager" in names


def _texts(page, sel: str, attr: str = "data-name") -> list[str]:
    return page.eval_on_selector_all(sel, f"els => els.map(e => e.getAttribute({attr!r}))")


def _wait_equal(page, sel: str, want: list[str], timeout: float = 60, attr: str = "data-name"):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = _texts(page, sel, attr)
        if got == want:
            return got
        page.wait_for_timeout(250)
    assert got == want, f"{sel}: {got[:5]} != {want[:5]}"


def test_explorer_in_jupyterlab(lab, fleet_dir):
    from browser import open_url
    cpu = perfkit.load_archive(fleet_dir / "pprof-bad-cpu").cpu
    f = perfkit.Filters(focus=FOCUS)
    top_all = perfkit.top(cpu)["name"].head(40).tolist()
    top_focus = perfkit.top(cpu, filters=f)["name"].head(40).tolist()
    frames_all = len(perfkit.interactive_flame(cpu).perfkit_data)
    frames_focus = len(perfkit.interactive_flame(cpu, filters=f).perfkit_data)
    assert top_focus != top_all and frames_focus < frames_all
    pk = perfkit.peek(cpu, regex=rf"^{re.escape(FN)}$", filters=f)
    callers = pk[pk.relation == "caller"]["name"].tolist()
    sw = sandwich(perfkit.apply_filters(cpu, f), function=FN)
    sw_callers = sorted(sw[(sw.side == "caller") & (sw.depth == 1)]["name"])
    assert callers and sorted(callers) == sw_callers

    with open_url(f"{lab['base']}/lab/tree/explore.ipynb?token={lab['token']}") as page:
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        # the notebook's kernel (perfkit-test) started and idle; answer a kernel dialog if Lab asks
        page.locator(".jp-StatusBar-Widget", has_text="perfkit (test) | Idle").first.wait_for(timeout=90_000)
        page.wait_for_timeout(1000)
        if page.locator(".jp-Dialog").count():
            page.locator(".jp-Dialog select").select_option(label="perfkit (test)")
            page.locator(".jp-Dialog .jp-mod-accept").click()
            page.locator(".jp-StatusBar-Widget", has_text="perfkit (test) | Idle").first.wait_for(timeout=90_000)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        page.wait_for_timeout(1000)
        if page.locator(".jp-Dialog").count():
            page.screenshot(path=str(lab["log"].with_suffix(".dialog.png")))
            page.locator(".jp-Dialog select").select_option(label="perfkit (test)")
            page.locator(".jp-Dialog .jp-mod-accept").click()
        try:
            page.wait_for_selector(".pk-explore", timeout=90_000)
        except Exception:
            page.screenshot(path=str(lab["log"].with_suffix(".png")))
            raise AssertionError(f"no explorer widget; console: {page.console_errors}; "
                                 f"screenshot {lab['log'].with_suffix('.png')}") from None
        _wait_equal(page, ".pk-explore-top tr[data-name]", top_all)
        page.wait_for_selector(".pk-explore-flame .pk-flame[data-pk-ready='1']", timeout=30_000)
        assert page.locator(".pk-explore-flame svg.pk-frame:not([data-root])").count() == frames_all

        # a focus regex: the table and the flame graph follow
        box = page.locator(".pk-explore-focus input")
        box.fill(FOCUS)
        box.press("Enter")
        _wait_equal(page, ".pk-explore-top tr[data-name]", top_focus)
        deadline = time.monotonic() + 30
        while page.locator(".pk-explore-flame svg.pk-frame:not([data-root])").count() != frames_focus:
            assert time.monotonic() < deadline, "the flame graph did not follow the focus"
            page.wait_for_timeout(250)
        assert page.locator(".pk-explore-flame .pk-flame").count() == 1

        # select a function: the peek and the sandwich show its callers
        page.locator(".pk-explore-function select").select_option(label=FN)
        _wait_equal(page, ".pk-explore-peek tr.pk-peek-caller", callers)
        page.wait_for_selector(f".pk-explore-sandwich .pk-flame[data-sandwich='{FN}']", timeout=30_000)
        got = sorted(_texts(page, ".pk-explore-sandwich svg.pk-sw-frame[data-side='caller'][data-depth='1']"))
        assert got == sw_callers
        centre = page.get_attribute(".pk-explore-sandwich div.pk-sandwich", "data-total")
        assert int(centre) == int(sw.loc[0, "total"])
        page.wait_for_timeout(500)
        page.screenshot(path=str(lab["log"].with_suffix(".done.png")), full_page=True)
        assert page.console_errors == [], page.console_errors
        assert page.blocked == [], page.blocked


def test_make_lab_serves_notebooks_with_the_venv_kernel():
    """`make lab` (its own recipe; setup is taken as done): the printed URL and token work, notebooks/ is the root,
    and the default kernel runs this venv's Python."""
    import shutil
    import signal
    if sys.prefix == sys.base_prefix or shutil.which("make") is None:
        pytest.skip("needs make and a virtual environment (the project's .venv)")
    port = _free_port()
    proc = subprocess.Popen(["make", "-s", "-o", "setup", "lab", f"VENV={sys.prefix}", f"LAB_PORT={port}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        url, deadline = None, time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            m = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=([0-9a-f]+)", line)
            if m:
                url = m
        assert url, "make lab printed no URL"
        base, token = url.group(1), url.group(2)
        assert base.endswith(f":{port}")
        status = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=2) as r:
                    status = json.load(r)
                    break
            except OSError:
                time.sleep(0.5)
        assert status is not None, "the server did not answer"
        names = {c["name"] for c in status["content"]}
        assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= names
        with urllib.request.urlopen(f"{base}/api/kernelspecs?token={token}", timeout=5) as r:
            specs = json.load(r)
        assert specs["default"] == "perfkit"
        assert Path(specs["kernelspecs"]["perfkit"]["spec"]["argv"][0]).resolve() == Path(sys.executable).resolve()
        with pytest.raises(urllib.error.HTTPError):      # the token is required
            urllib.request.urlopen(f"{base}/api/contents", timeout=5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_rise_presents_a_notebook_as_live_slides(lab):
    """jupyterlab-rise (installed with the `slides` extra): a notebook opens at /rise/ as reveal.js slides."""
    pytest.importorskip("jupyterlab_rise", reason="jupyterlab-rise is not installed (pip install 'perfkit[slides]')")
    from browser import open_url
    with urllib.request.urlopen(f"{lab['base']}/lab?token={lab['token']}", timeout=10) as r:
        page = r.read().decode()
    cfg = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                               page, re.S).group(1))
    assert "jupyterlab-rise" in [e["name"] for e in cfg.get("federated_extensions", [])]
    with open_url(f"{lab['base']}/rise/explore.ipynb?token={lab['token']}") as p:
        p.wait_for_selector(".reveal .slides section", state="attached", timeout=90000)
        assert p.locator(".reveal .slides section").count() >= 1
        p.wait_for_function("document.querySelector('.reveal .slides').textContent.includes('Explorer')",
                            timeout=90000)
