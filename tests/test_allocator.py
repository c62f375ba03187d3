"""perfkit.tune_allocator: freed big blocks are reused, checked with the kernel's own page-fault counter."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

# in a fresh interpreter: import perfkit, then write a 64 MiB block, free it, and count the minor page faults
# (getrusage) that writing a second 64 MiB block costs
PROBE = """
import ctypes, json, resource, perfkit
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
n = 64 << 20
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    p = libc.malloc(n)
    ctypes.memset(p, 1, n)
    libc.free(p)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
first = faults()
print(json.dumps({"tuned": perfkit.tune_allocator(), "first": first, "second": faults()}))
"""

PAGES = (64 << 20) // 4096


def probe(**env) -> dict:
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, cwd=ROOT,
                       env={**os.environ, **env})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_a_freed_big_block_is_reused_without_page_faults():
    tuned = probe()
    if not tuned["tuned"]:
        pytest.skip("not glibc: the allocator is left alone")
    default = probe(PERFKIT_ALLOCATOR="system")
    assert default["tuned"] is False
    # glibc's default maps and unmaps each 64 MiB block: every page faults, both times
    assert default["second"] >= PAGES // 2, default
    # tuned: the second block reuses the first one's pages
    assert tuned["first"] >= PAGES // 2 and tuned["second"] < PAGES // 20, tuned
