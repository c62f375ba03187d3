"""Frames to graph nodes at a granularity, as pprof names them."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.frames import package_of
from ..model.profile import FrameLines, Profile

GRANULARITIES = ("functions", "files", "lines", "packages", "addresses")

# a Go package path ends at the first '.' after the last '/'
def _clean(path: str) -> str:
    return posixpath.normpath(path) if path else path


@dataclass
class NodeTable:
    """Node names and, per frame kind, the node of each line row."""
    names: np.ndarray          # node index -> display name
    of_line: np.ndarray        # line row -> node index
    of_bare_loc: np.ndarray    # location index -> node index, for locations without lines (-1 otherwise)

    def of_frames(self, fr: FrameLines) -> np.ndarray:
        dt = np.int32 if max(len(self.names), 1) < 2**31 else np.int64      # one entry per frame: keep it small
        if not fr.bare:                                                      # every frame has a line
            return fr.of_lines(self.of_line.astype(dt))
        has = fr.line >= 0
        return np.where(has, self.of_line.astype(dt)[np.where(has, fr.line, 0)] if len(self.of_line) else -1,
                        self.of_bare_loc.astype(dt)[fr.loc])


def _objfile_names(p: Profile, loc_idx: np.ndarray) -> np.ndarray:
    """pprof's fallback name for a frame without function info: [binary] or <unknown>."""
    mp = p.loc_mapping[loc_idx]
    files = p.mappings["file"].to_numpy() if len(p.mappings) else np.array([""], object)
    out = np.empty(len(loc_idx), object)
    for i, (m,) in enumerate(zip(mp)):
        f = files[m] if m >= 0 else ""
        out[i] = f"[{posixpath.basename(f)}]" if f else "<unknown>"
    return out


def node_table(p: Profile, granularity: str = "functions") -> NodeTable:
    if granularity not in GRANULARITIES:
        raise OptionError(p.source, f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
    nlines = len(p.line_function)
    fn = p.line_function
    has_fn = fn >= 0
    safe = np.where(has_fn, fn, 0)
    fname = p.fn_name[safe] if p.n_functions else np.full(nlines, "", object)
    ffile = p.fn_filename[safe] if p.n_functions else np.full(nlines, "", object)
    fname = np.where(has_fn, fname, "")
    ffile = np.where(has_fn, ffile, "")
    line_loc = np.repeat(np.arange(p.n_locations), p.loc_n_lines)

    if granularity == "functions":
        key = fname.astype(object)
    elif granularity == "packages":
        uniq, inv = np.unique(fname.astype(str), return_inverse=True) if nlines else (np.array([], str), np.zeros(0, int))
        key = np.array([package_of(u) for u in uniq], object)[inv] if nlines else np.zeros(0, object)
    elif granularity == "files":
        uniq, inv = np.unique(ffile.astype(str), return_inverse=True) if nlines else (np.array([], str), np.zeros(0, int))
        key = np.array([_clean(u) for u in uniq], object)[inv] if nlines else np.zeros(0, object)
    elif granularity == "addresses":
        return _address_nodes(p, fname, ffile, line_loc)
    else:  # lines
        files = np.array([_clean(f) for f in ffile], object)
        key = np.array([f"{n} {f}:{ln}" if (f or ln) else n
                        for n, f, ln in zip(fname, files, p.line_number)], object)
    # frames with nothing to name fall back to the binary, as pprof does
    empty = np.array([k == "" for k in key], bool) if nlines else np.zeros(0, bool)
    if empty.any():
        key = key.copy()
        key[empty] = _objfile_names(p, line_loc[empty])
    bare = np.nonzero(p.loc_n_lines == 0)[0]
    bare_names = _objfile_names(p, bare)
    all_keys = np.concatenate([key, bare_names]) if len(bare) else key
    codes, names = pd.factorize(pd.Series(all_keys, dtype=object), sort=False)
    of_line = codes[:nlines].astype(np.int64)
    of_bare = np.full(p.n_locations, -1, np.int64)
    of_bare[bare] = codes[nlines:]
    return NodeTable(np.asarray(names, dtype=object), of_line, of_bare)


def _address_nodes(p: Profile, fname: np.ndarray, ffile: np.ndarray, line_loc: np.ndarray) -> NodeTable:
    """pprof -addresses: one node per (address, line), named like pprof's NodeInfo (hex address first)."""
    objfile = _objfile_names(p, np.arange(p.n_locations))

    def name(loc: int, fn: str, file: str, line: int, col: int, bare: bool) -> str:
        parts = [f"{int(p.loc_address[loc]):016x}"] if p.loc_address[loc] else []
        if fn:
            parts.append(fn)
        if not bare and line:
            parts.append(f"{file}:{line}" + (f":{col}" if col else ""))
        elif not bare and file:
            parts.append(file)
        elif not fn:
            parts.append(objfile[loc])
        return " ".join(parts)

    keys = [name(int(loc), fn, _clean(f), int(ln), int(c), False)
            for loc, fn, f, ln, c in zip(line_loc, fname, ffile, p.line_number, p.line_column)]
    bare = np.nonzero(p.loc_n_lines == 0)[0]
    keys += [name(int(loc), "", "", 0, 0, True) for loc in bare]
    codes, names = pd.factorize(pd.Series(keys, dtype=object), sort=False)
    nlines = len(line_loc)
    of_bare = np.full(p.n_locations, -1, np.int64)
    of_bare[bare] = codes[nlines:]
    return NodeTable(np.asarray(names, dtype=object), codes[:nlines].astype(np.int64), of_bare)
