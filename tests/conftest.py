"""Shared fixtures: the Fleet archives from ../shared and the Go toolchain."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
sys.path.insert(0, str(ROOT / "tests"))

SHARED = Path(os.environ.get("PERFKIT_SHARED", ROOT.parent / "shared"))
FLEET = SHARED / "fleet-debug-archives"
ARCHIVES = ("pprof-normal", "pprof-bad-cpu")
PROFILE_FILES = ("profile", "heap", "allocs", "goroutine", "block", "mutex", "threadcreate")


def _go() -> str | None:
    return shutil.which("go") or (("/usr/local/go/bin/go") if Path("/usr/local/go/bin/go").exists() else None)


@pytest.fixture(scope="session")
def fleet_dir() -> Path:
    if not FLEET.is_dir():
        pytest.skip(f"Fleet archives not found at {FLEET} (../shared is absent)")
    return FLEET


@pytest.fixture(scope="session")
def go_bin() -> str:
    go = _go()
    if go is None:
        pytest.fail("the Go toolchain is required for the oracle tests and was not found")
    return go
