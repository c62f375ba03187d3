"""Differences between two profiles, with pprof's -diff_base semantics.

For sampled CPU profiles each row carries an approximate 95 % interval for
the delta: sample counts are treated as Poisson, so the delta of counts
b -> t has variance b + t; the interval is scaled back to the value unit
(and to per-second rates when normalising). ``*_noise`` is True when the
delta lies inside its interval: the change may be sampling noise.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from .aggregate import aggregate_nodes

Z95 = 1.959963984540054
NORMALIZE = (None, "per_second", "total")


def normalization_scales(base: Profile, target: Profile, normalize: str | None,
                         base_total: float, target_total: float) -> tuple[float, float]:
    """Factors for base and target values: per second of each duration, or base scaled to the target's total."""
    if normalize == "per_second":
        for p in (base, target):
            if p.duration_nanos <= 0:
                raise OptionError(p.source, "cannot normalise per second: the profile has no duration")
        return 1e9 / base.duration_nanos, 1e9 / target.duration_nanos
    if normalize == "total":
        return (target_total / base_total if base_total else 1.0), 1.0
    return 1.0, 1.0


def sample_count_index(p: Profile) -> int | None:
    """The sample type holding raw sample counts, if the profile is a sampled CPU profile."""
    for i, t in enumerate(p.sample_types):
        if t.type == "samples" and t.unit == "count":
            return i
    return None


def _node_values(p: Profile, sample_index, granularity, filters, column=None):
    agg = aggregate_nodes(p, sample_index if column is None else column, granularity=granularity, filters=filters)
    flat, cum, present = agg.node_flat_cum
    idx = np.nonzero(present)[0]
    return pd.DataFrame({"name": agg.nodes.names[idx].astype(object), "flat": flat[idx],
                         "cum": cum[idx]}).set_index("name"), agg


@checked_options
def diff(base: Profile, target: Profile, sample_index=None, *, granularity: str = "functions",
         normalize: str | None = None, filters: Filters | None = None) -> pd.DataFrame:
    """Per node: base, target and delta of flat and cum, sorted like `pprof -top -diff_base`.

    normalize: None (raw values, percentages of the base total, exactly as
    `go tool pprof -diff_base`), "per_second" (values per second of each
    profile's duration) or "total" (base scaled to the target's total).
    """
    if normalize not in NORMALIZE:
        raise OptionError(target.source, f"normalize must be one of {NORMALIZE}, not {normalize!r}")
    bcol = base.sample_index(sample_index if sample_index is not None else target.sample_type_names[target.sample_index(None)])
    tcol = target.sample_index(sample_index)
    if base.sample_types[bcol] != target.sample_types[tcol]:
        raise OptionError(target.source, f"sample types differ: base {base.sample_types[bcol]} vs "
                          f"target {target.sample_types[tcol]}")
    b, bagg = _node_values(base, bcol, granularity, filters)
    t, tagg = _node_values(target, tcol, granularity, filters)
    df = b.merge(t, how="outer", left_index=True, right_index=True, suffixes=("_base", "_target")).fillna(0)
    df = df.rename(columns={"flat_base": "base_flat", "cum_base": "base_cum",
                            "flat_target": "target_flat", "cum_target": "target_cum"})
    bscale, tscale = normalization_scales(base, target, normalize, base.total(bcol), target.total(tcol))
    if normalize is None:
        for c in ("base_flat", "base_cum", "target_flat", "target_cum"):
            df[c] = df[c].astype(np.int64)
    else:
        for c in ("base_flat", "base_cum"):
            df[c] = df[c] * bscale
        for c in ("target_flat", "target_cum"):
            df[c] = df[c] * tscale
    df["flat_delta"] = df["target_flat"] - df["base_flat"]
    df["cum_delta"] = df["target_cum"] - df["base_cum"]
    base_total = base.total(bcol) * bscale
    for c in ("flat", "cum"):
        df[f"{c}_delta_pct"] = df[f"{c}_delta"] * 100.0 / base_total if base_total else np.nan
    _add_noise(df, base, target, granularity, filters, bscale, tscale)
    df = df.reset_index()
    df["_a"] = -df["flat_delta"].abs()
    df["_c"] = -df["cum_delta"].abs()
    df = df.sort_values(["_a", "name", "_c"], kind="mergesort").drop(columns=["_a", "_c"]).reset_index(drop=True)
    unit = target.sample_types[tcol].unit
    df.attrs.update(unit=unit if normalize != "per_second" else f"{unit}/s", base_total=base_total,
                    target_total=target.total(tcol) * tscale, normalize=normalize,
                    base=base.source, target=target.source)
    return df


def poisson_ci95(base: np.ndarray, nb: np.ndarray, target: np.ndarray, nt: np.ndarray,
                 bscale: float = 1.0, tscale: float = 1.0) -> np.ndarray:
    """Half-width of the ~95 % interval of target - base, from sample counts.

    base/target are (scaled) values, nb/nt their raw sample counts; a side
    with no samples borrows the other side's value per sample and counts as
    one pseudo-sample (absence is not proof of a zero rate).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        vb = np.where(nb > 0, base / nb, np.nan)
        vt = np.where(nt > 0, target / nt, np.nan)
    vb = np.where(np.isnan(vb), vt * (bscale / tscale), vb)
    vt = np.where(np.isnan(vt), vb * (tscale / bscale), vt)
    return Z95 * np.sqrt(np.maximum(nb, 1) * vb ** 2 + np.maximum(nt, 1) * vt ** 2)


def _add_noise(df, base, target, granularity, filters, bscale, tscale):
    """Adds *_delta_ci95 (half-width) and *_noise columns."""
    bi, ti = sample_count_index(base), sample_count_index(target)
    if bi is None or ti is None:
        for c in ("flat", "cum"):
            df[f"{c}_delta_ci95"] = np.nan
            df[f"{c}_noise"] = pd.array([pd.NA] * len(df), dtype="boolean")
        return
    bc, _ = _node_values(base, None, granularity, filters, column=bi)
    tc, _ = _node_values(target, None, granularity, filters, column=ti)
    counts = bc.merge(tc, how="outer", left_index=True, right_index=True, suffixes=("_b", "_t"))
    counts = counts.reindex(df.index).fillna(0)
    for c in ("flat", "cum"):
        nb, nt = counts[f"{c}_b"].to_numpy(float), counts[f"{c}_t"].to_numpy(float)
        half = poisson_ci95(df[f"base_{c}"].to_numpy(float), nb, df[f"target_{c}"].to_numpy(float), nt,
                            bscale, tscale)
        df[f"{c}_delta_ci95"] = half
        df[f"{c}_noise"] = np.abs(df[f"{c}_delta"].to_numpy(float)) <= half
