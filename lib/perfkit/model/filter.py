"""pprof's sample filters: focus, ignore, hide, show, tagfocus, tagignore.

Semantics follow pprof's FilterSamplesByName / FilterSamplesByTag:
- a location matches a regexp when any of its lines' function name or file
  name matches (unanchored search), or its mapping's file does;
- focus keeps samples with a matching location, ignore drops them (ignore wins);
- hide removes matching lines from locations, show keeps only matching lines;
  a location left without lines is removed from stacks, and a sample left
  without locations is dropped;
- tagfocus/tagignore select samples by label: ``regex`` (any string label
  value), ``key=regex``, or a numeric range ``[key=]lo:hi`` with optional units.
"""
from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass, field, fields

import numpy as np

from ..errors import OptionError
from .profile import Profile


def _help(text: str):
    return field(default=None, metadata={"help": text})


@dataclass(frozen=True)
class Filters:
    """pprof's sample filters; None or "" means "not set". Regexps are searched, not anchored."""
    focus: str | None = _help("keep samples with a frame matching REGEX")
    ignore: str | None = _help("drop samples with a frame matching REGEX")
    hide: str | None = _help("remove frames matching REGEX from stacks")
    show: str | None = _help("keep only frames matching REGEX in stacks")
    tagfocus: str | None = _help("keep samples whose label matches [KEY=]REGEX or [KEY=]LO:HI")
    tagignore: str | None = _help("drop samples whose label matches [KEY=]REGEX or [KEY=]LO:HI")

    def active(self) -> dict[str, str]:
        """The filters that are set, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


FILTER_HELP = {f.name: f.metadata["help"] for f in fields(Filters)}


def checked_options(view):
    """Make a call with an unknown or misplaced option raise OptionError, naming the profile."""
    sig = inspect.signature(view)

    @functools.wraps(view)
    def call(*args, **kwargs):
        try:
            sig.bind(*args, **kwargs)
        except TypeError as e:
            source = getattr(args[0], "source", None) if args else None
            raise OptionError(source, f"{view.__name__}(): {e}") from None
        f = kwargs.get("filters")
        if f is not None and not isinstance(f, Filters):
            source = getattr(args[0], "source", None) if args else None
            raise OptionError(source, f"{view.__name__}(): filters must be a perfkit.Filters, "
                              f"not {type(f).__name__}")
        return view(*args, **kwargs)
    return call


def _compile(source: str, what: str, pattern: str | None) -> re.Pattern | None:
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as e:
        raise OptionError(source, f"bad {what} regexp {pattern!r}: {e}") from None


def _match_names(names: np.ndarray, rx: re.Pattern) -> np.ndarray:
    cache: dict[str, bool] = {}
    out = np.zeros(len(names), bool)
    for i, n in enumerate(names):
        hit = cache.get(n)
        if hit is None:
            hit = cache[n] = bool(rx.search(n)) if n else False
        out[i] = hit
    return out


def _line_matches(p: Profile, rx: re.Pattern) -> np.ndarray:
    """Per line row: its function's name or file name matches."""
    fn_hit = _match_names(p.fn_name, rx) | _match_names(p.fn_filename, rx)
    f = p.line_function
    return np.where(f >= 0, fn_hit[np.where(f >= 0, f, 0)] if p.n_functions else False, False)


def _mapping_matches(p: Profile, rx: re.Pattern) -> np.ndarray:
    """Per location: its mapping's file matches."""
    files = p.mappings["file"].to_numpy() if len(p.mappings) else np.zeros(0, object)
    mhit = _match_names(files, rx)
    m = p.loc_mapping
    return np.where(m >= 0, mhit[np.where(m >= 0, m, 0)] if len(mhit) else False, False)


def _loc_any(p: Profile, line_flag: np.ndarray) -> np.ndarray:
    c = np.concatenate(([0], np.cumsum(line_flag, dtype=np.int64)))
    return (c[p.loc_line_start[1:]] - c[p.loc_line_start[:-1]]) > 0


def _stack_any(p: Profile, loc_flag: np.ndarray) -> np.ndarray:
    per_entry = loc_flag[p.stack_locs]
    c = np.concatenate(([0], np.cumsum(per_entry, dtype=np.int64)))
    return (c[p.stack_offsets[1:]] - c[p.stack_offsets[:-1]]) > 0


def _filter_by_name(p: Profile, focus=None, ignore=None, hide=None, show=None) -> Profile:
    src = p.source
    rf, ri, rh, rs = (_compile(src, "focus", focus), _compile(src, "ignore", ignore),
                      _compile(src, "hide", hide), _compile(src, "show", show))
    if not (rf or ri or rh or rs):
        return p
    keep = np.ones(p.n_samples, bool)
    if rf or ri:
        ign = (_loc_any(p, _line_matches(p, ri)) | _mapping_matches(p, ri)) if ri else np.zeros(p.n_locations, bool)
        foc = (_loc_any(p, _line_matches(p, rf)) | _mapping_matches(p, rf)) if rf else np.ones(p.n_locations, bool)
        foc &= ~ign
        keep = _stack_any(p, foc) & ~_stack_any(p, ign)
    line_keep = np.ones(len(p.line_function), bool)
    loc_hidden = np.zeros(p.n_locations, bool)
    any_hidden = False
    bare = p.loc_n_lines == 0
    line_loc = np.repeat(np.arange(p.n_locations), p.loc_n_lines)
    if rh:
        mm_h = _mapping_matches(p, rh)
        line_keep &= ~(_line_matches(p, rh) | mm_h[line_loc])
        loc_hidden |= bare & mm_h
    if rs:
        mm_s = _mapping_matches(p, rs)
        line_keep &= _line_matches(p, rs) | mm_s[line_loc]
        loc_hidden |= bare
    if rh or rs:
        kept_per_loc = np.diff(np.concatenate(([0], np.cumsum(line_keep, dtype=np.int64)))[p.loc_line_start])
        # a location whose lines were all removed is hidden from every stack
        loc_hidden |= (kept_per_loc == 0) & ~bare
        any_hidden = bool(loc_hidden.any())
    q = p
    if rh or rs:
        new_start = np.zeros(p.n_locations + 1, np.int64)
        np.cumsum(kept_per_loc, out=new_start[1:])
        q = p.derive(loc_line_start=new_start, line_function=p.line_function[line_keep],
                     line_number=p.line_number[line_keep], line_column=p.line_column[line_keep])
    entry_keep = ~loc_hidden[p.stack_locs] if any_hidden else None
    return _select(q, keep, entry_keep, drop_emptied=any_hidden)


def _select(p: Profile, keep: np.ndarray, entry_keep: np.ndarray | None, drop_emptied: bool) -> Profile:
    """Keep samples where keep is True; drop stack entries where entry_keep is False."""
    off = p.stack_offsets
    lens = np.diff(off)
    if entry_keep is not None:
        c = np.concatenate(([0], np.cumsum(entry_keep, dtype=np.int64)))
        new_lens = c[off[1:]] - c[off[:-1]]
        if drop_emptied:
            keep = keep & (new_lens > 0)
    else:
        new_lens = lens
    if keep.all() and entry_keep is None:
        return p
    sample_of_entry = np.repeat(np.arange(p.n_samples), lens)
    ek = keep[sample_of_entry]
    if entry_keep is not None:
        ek &= entry_keep
    new_off = np.zeros(int(keep.sum()) + 1, np.int64)
    np.cumsum(new_lens[keep], out=new_off[1:])
    labels = p.labels
    if len(labels):
        remap = np.cumsum(keep) - 1
        labels = labels[keep[labels["sample"].to_numpy()]].copy()
        labels["sample"] = remap[labels["sample"].to_numpy()]
        labels = labels.reset_index(drop=True)
    return p.derive(values=p.values[keep], stack_offsets=new_off, stack_locs=p.stack_locs[ek], labels=labels)


_UNITS = {  # unit -> (family, scale)
    "b": ("bytes", 1), "byte": ("bytes", 1), "bytes": ("bytes", 1), "kb": ("bytes", 1024),
    "mb": ("bytes", 1024**2), "gb": ("bytes", 1024**3), "tb": ("bytes", 1024**4),
    "ns": ("time", 1), "nanoseconds": ("time", 1), "us": ("time", 1000), "ms": ("time", 10**6),
    "s": ("time", 10**9), "sec": ("time", 10**9), "seconds": ("time", 10**9), "": ("", 1),
}
_NUM_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def _tag_bound(source: str, text: str) -> tuple[float, str] | None:
    if text.strip() == "":
        return None
    m = _NUM_RE.match(text)
    if not m or m.group(2).lower() not in _UNITS:
        raise OptionError(source, f"bad numeric tag bound {text!r}")
    family, scale = _UNITS[m.group(2).lower()]
    return float(m.group(1)) * scale, family


def _label_family(key: str, unit: str) -> str:
    """pprof infers a 'bytes' unit for the 'bytes' key when none is recorded."""
    unit = unit or ("bytes" if key == "bytes" else "")
    return _UNITS.get(unit.lower(), (unit, 1))[0]


def _tag_mask(p: Profile, spec: str, what: str) -> np.ndarray:
    """Samples matching a tag filter spec."""
    key = None
    body = spec
    if "=" in spec:
        key, body = spec.split("=", 1)
    labels = p.labels
    if key is not None:
        labels = labels[labels["key"] == key]
    hit = np.zeros(p.n_samples, bool)
    if ":" in body and _NUM_RE.match(body.split(":", 1)[0] or "0") and _NUM_RE.match(body.split(":", 1)[1] or "0"):
        lo, hi = (_tag_bound(p.source, x) for x in body.split(":", 1))
        num = labels[labels["str"] == ""]
        fam = np.array([_label_family(k, u) for k, u in zip(num["key"], num["num_unit"])], object)
        v = num["num"].to_numpy().astype(float)
        ok = np.ones(len(v), bool)
        for bound, cmp in ((lo, np.greater_equal), (hi, np.less_equal)):
            if bound is not None:
                # a bound matches only labels of the same unit family, as in pprof
                ok &= cmp(v, bound[0]) & (fam == bound[1])
        hit[num["sample"].to_numpy()[ok]] = True
        return hit
    rx = _compile(p.source, what, body)
    strs = labels[labels["str"] != ""]
    m = _match_names(strs["str"].to_numpy(), rx) if rx else np.ones(len(strs), bool)
    hit[strs["sample"].to_numpy()[m]] = True
    return hit


def _filter_by_tag(p: Profile, tagfocus: str | None = None, tagignore: str | None = None) -> Profile:
    if not tagfocus and not tagignore:
        return p
    keep = np.ones(p.n_samples, bool)
    if tagfocus:
        keep &= _tag_mask(p, tagfocus, "tagfocus")
    if tagignore:
        keep &= ~_tag_mask(p, tagignore, "tagignore")
    return _select(p, keep, None, drop_emptied=False)


def apply_filters(profile: Profile, filters: Filters | None = None) -> Profile:
    """The profile with every set filter applied, in pprof's order (names first, then tags)."""
    if filters is None:
        return profile
    if not isinstance(filters, Filters):
        raise OptionError(profile.source, f"filters must be a perfkit.Filters, not {type(filters).__name__}")
    p = _filter_by_name(profile, filters.focus, filters.ignore, filters.hide, filters.show)
    return _filter_by_tag(p, filters.tagfocus, filters.tagignore)
