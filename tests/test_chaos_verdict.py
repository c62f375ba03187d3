"""The chaos verdict helpers, without a server: a reason names what failed and by how much; the
standard error of a median shift comes from the samples' spread."""
from __future__ import annotations

import numpy as np

from perfkit.lab import ChaosResult
from perfkit.lab.chaos import chaos_verdict, median_shift


def test_chaos_verdict_and_reason():
    assert chaos_verdict([(True, "a held"), (1, "b held")]) == (True, "a held; b held")
    assert chaos_verdict([(True, "a held"), (False, "b rose 92.6 ms")]) == (False, "b rose 92.6 ms")
    r = ChaosResult("x", "y", {}, False, reason="b rose 92.6 ms")
    assert r.reason == "b rose 92.6 ms"


def test_median_shift_error_comes_from_the_spread():
    rng = np.random.default_rng(5)
    shift, se = median_shift(rng.normal(10, 1, 400), rng.normal(60, 1, 400))
    assert abs(shift - 50) < 0.5
    # the median of n normal samples has SD 1.2533 / sqrt(n); the difference of two, sqrt(2) times that
    assert 0.7 < se / (2 ** 0.5 * 1.2533 / 400 ** 0.5) < 1.3
    wide = median_shift(rng.normal(10, 5, 400), rng.normal(60, 5, 400))[1]
    assert 3.5 < wide / se < 7
    assert all(np.isnan(median_shift([], [1.0])))

