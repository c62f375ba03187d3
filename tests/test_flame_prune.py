"""The pruned call tree flame_layout builds gives the same merged layout as the full tree."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from perfkit import read_profile
from perfkit.views.flame import _merge_small
from perfkit.views.tree import call_tree

FLEET = Path(__file__).resolve().parents[2] / "shared" / "fleet-debug-archives"
PROFILES = sorted(p for a in ("pprof-normal", "pprof-bad-cpu") for p in (FLEET / a).glob("*")
                  if p.name in ("profile", "heap", "allocs", "goroutine"))


@pytest.mark.skipif(not PROFILES, reason="no Fleet archives in ../shared/fleet-debug-archives")
@pytest.mark.parametrize("path", PROFILES, ids=lambda p: f"{p.parent.name}-{p.name}")
@pytest.mark.parametrize("inverted", [False, True])
@pytest.mark.parametrize("fraction", [0.001, 0.02])
def test_pruned_tree_merges_alike(path, inverted, fraction):
    p = read_profile(path)
    full = call_tree(p, inverted=inverted, order="bfs")
    pruned = call_tree(p, inverted=inverted, order="bfs", prune_below=fraction)
    assert len(pruned) <= len(full)
    grand = full.loc[full.parent == -1, "total"].abs().sum()
    a = _merge_small(full, fraction * grand)
    b = _merge_small(pruned, fraction * grand)
    pd.testing.assert_frame_equal(a, b)
