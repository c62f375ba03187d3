"""peek/edges, diff, merge, sample stacks, call trees, exports, the Filters API: against go tool pprof where it can judge."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import perfkit
from conftest import ARCHIVES
from gotool import go, pprof_peek_edges, pprof_top
from perfkit.model.frames import package_of


@pytest.fixture(scope="module")
def cpu(fleet_dir):
    return {a: perfkit.read_profile(fleet_dir / a / "profile") for a in ARCHIVES}


@pytest.mark.oracle
@pytest.mark.parametrize("archive", ARCHIVES)
def test_edges_match_go_peek(fleet_dir, go_bin, cpu, archive):
    want = pprof_peek_edges(fleet_dir / archive / "profile", "nanoseconds", "-sample_index=cpu")
    e = perfkit.edges(cpu[archive], "cpu")
    got = {(r.caller, r.callee): int(r.weight) for r in e.itertuples()}
    assert len(want) > 100
    assert got == want


@pytest.mark.oracle
def test_peek_lists_callers_and_callees(cpu, fleet_dir, go_bin):
    df = perfkit.peek(cpu["pprof-bad-cpu"], regex=r"^crypto/rsa\.SignPSS$")
    want = pprof_peek_edges(fleet_dir / "pprof-bad-cpu" / "profile", "nanoseconds")
    callers = {r.name: r.weight for r in df[df.relation == "caller"].itertuples()}
    callees = {r.name: r.weight for r in df[df.relation == "callee"].itertuples()}
    assert callers == {c: w for (c, d), w in want.items() if d == "crypto/rsa.SignPSS"}
    assert callees == {d: w for (c, d), w in want.items() if c == "crypto/rsa.SignPSS"}
    self_row = df[df.relation == "self"].iloc[0]
    top = perfkit.top(cpu["pprof-bad-cpu"]).set_index("name")
    assert self_row.cum == top.loc["crypto/rsa.SignPSS", "cum"]


@pytest.mark.oracle
@pytest.mark.parametrize("name,index", [("profile", "cpu"), ("heap", "inuse_space"), ("goroutine", "goroutine")])
def test_diff_matches_go_diff_base(fleet_dir, go_bin, name, index):
    base = perfkit.read_profile(fleet_dir / "pprof-normal" / name)
    target = perfkit.read_profile(fleet_dir / "pprof-bad-cpu" / name)
    df = perfkit.diff(base, target, index)
    want, header = pprof_top(fleet_dir / "pprof-bad-cpu" / name, base.unit(index), f"-sample_index={index}",
                             f"-diff_base={fleet_dir / 'pprof-normal' / name}")
    got = {r.name: (int(r.flat_delta), int(r.cum_delta)) for r in df.itertuples()
           if (r.flat_delta, r.cum_delta) != (0, 0) or r.name in want}
    assert got == want
    assert df.attrs["base_total"] == header["total"]


def test_diff_noise_interval(cpu):
    normal, bad = cpu["pprof-normal"], cpu["pprof-bad-cpu"]
    same = perfkit.diff(normal, normal)
    assert (same["cum_delta"] == 0).all() and same["cum_noise"].all()
    d = perfkit.diff(normal, bad, normalize="per_second").set_index("name")
    # montgomery multiplication is absent from the normal profile: a real change
    assert not d.loc["math/big.nat.montgomery", "cum_noise"]
    assert d.loc["math/big.nat.montgomery", "cum_delta"] > 10 * d.loc["math/big.nat.montgomery", "cum_delta_ci95"]
    # per-second normalisation: delta is the difference of rates
    n_rate = perfkit.top(normal).set_index("name").loc["syscall.syscall", "cum"] / normal.duration_seconds
    b_rate = perfkit.top(bad).set_index("name").loc["syscall.syscall", "cum"] / bad.duration_seconds
    assert d.loc["syscall.syscall", "cum_delta"] == pytest.approx(b_rate - n_rate)
    # Poisson interval from counts: sqrt(nb + nt) samples of 10 ms each (per second)
    counts = perfkit.top(bad, "samples").set_index("name").loc["syscall.syscall", "cum"]
    counts_b = perfkit.top(normal, "samples").set_index("name").loc["syscall.syscall", "cum"]
    expect = 1.96 * np.sqrt(counts * (bad.period / bad.duration_seconds) ** 2
                            + counts_b * (normal.period / normal.duration_seconds) ** 2)
    assert d.loc["syscall.syscall", "cum_delta_ci95"] == pytest.approx(expect, rel=0.01)


def test_diff_rejects_different_sample_types(cpu, fleet_dir):
    heap = perfkit.read_profile(fleet_dir / "pprof-normal" / "heap")
    with pytest.raises(perfkit.OptionError, match="sample type"):
        perfkit.diff(heap, cpu["pprof-normal"], "cpu")


@pytest.mark.oracle
def test_merge_matches_go_merging_two_profiles(fleet_dir, go_bin, cpu):
    m = perfkit.merge([cpu["pprof-normal"], cpu["pprof-bad-cpu"]])
    want, _ = pprof_top(fleet_dir / "pprof-normal" / "profile", "nanoseconds",
                        str(fleet_dir / "pprof-bad-cpu" / "profile"))
    got = {r.name: (int(r.flat), int(r.cum)) for r in perfkit.top(m).itertuples()}
    assert got == want
    assert m.duration_nanos == cpu["pprof-normal"].duration_nanos + cpu["pprof-bad-cpu"].duration_nanos


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["profile", "heap", "goroutine", "threadcreate"])
def test_pprof_export_round_trips_through_go_tool(fleet_dir, go_bin, tmp_path, name):
    src = fleet_dir / "pprof-bad-cpu" / name
    p = perfkit.read_profile(src)
    out = perfkit.write_profile(p, tmp_path / f"{name}.pb.gz")
    for st in p.sample_types:
        a = subprocess.run([go(), "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0",
                            f"-sample_index={st.type}", f"-unit={st.unit}", str(src)], capture_output=True,
                           text=True, check=True).stdout
        b = subprocess.run([go(), "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0",
                            f"-sample_index={st.type}", f"-unit={st.unit}", str(out)], capture_output=True,
                           text=True, check=True).stdout
        # the first line names the file (File: ...) when a mapping has one; compare the table and header facts
        strip = lambda s: [ln for ln in s.splitlines() if not ln.startswith("File:")]
        assert strip(a) == strip(b)
    again = perfkit.read_profile(out)
    assert again.n_samples == p.n_samples
    assert np.array_equal(again.values, p.values)
    assert again.labels.equals(p.labels)


def test_folded_export_sums_to_total(cpu):
    p = cpu["pprof-bad-cpu"]
    text = perfkit.to_folded(p)
    lines = text.strip().splitlines()
    total = sum(int(ln.rsplit(" ", 1)[1]) for ln in lines)
    assert total == p.total("cpu")
    tls = [ln for ln in lines if "crypto/rsa.SignPSS" in ln]
    assert tls and all(ln.startswith("runtime.goexit;") or ln.split(";")[0] for ln in tls)
    # root first: the goroutine entry comes before the leaf
    ln = tls[0].rsplit(" ", 1)[0].split(";")
    assert ln.index("net/http.(*conn).serve") < ln.index("crypto/rsa.SignPSS")


def test_speedscope_export_is_consistent(cpu):
    p = cpu["pprof-bad-cpu"]
    doc = json.loads(json.dumps(perfkit.to_speedscope(p)))
    prof = doc["profiles"][0]
    assert prof["type"] == "sampled" and prof["unit"] == "nanoseconds"
    assert sum(prof["weights"]) == p.total("cpu") == prof["endValue"]
    frames = doc["shared"]["frames"]
    assert len(prof["samples"]) == len(prof["weights"])
    assert all(0 <= i < len(frames) for s in prof["samples"] for i in s)
    names = {f["name"] for f in frames}
    assert "crypto/rsa.SignPSS" in names


def test_sample_stacks_and_call_tree_account_for_every_sample(cpu):
    p = cpu["pprof-bad-cpu"]
    tr = perfkit.sample_stacks(p)
    assert tr["value"].sum() == p.total("cpu")
    assert tr["value"].is_monotonic_decreasing
    ct = perfkit.call_tree(p)
    assert ct.loc[ct.parent == -1, "total"].sum() == p.total("cpu")
    # a node's total is its self plus its children's totals
    child_sum = ct[ct.parent >= 0].groupby("parent")["total"].sum()
    expect = ct["self"] + child_sum.reindex(ct["id"]).fillna(0).to_numpy()
    assert (ct["total"].to_numpy() == expect.to_numpy()).all()
    assert ct["self"].sum() == p.total("cpu")
    inv = perfkit.call_tree(p, inverted=True)
    leaf_roots = inv[inv.parent == -1].set_index("name")["total"]
    flat = perfkit.top(p).set_index("name")["flat"]
    assert leaf_roots.sort_index().equals(flat[flat != 0].sort_index())


@pytest.mark.oracle
def test_packages_granularity_sums_function_flat(fleet_dir, go_bin, cpu):
    want, _ = pprof_top(fleet_dir / "pprof-bad-cpu" / "profile", "nanoseconds")
    by_pkg: dict[str, int] = {}
    for name, (flat, _cum) in want.items():
        by_pkg[package_of(name)] = by_pkg.get(package_of(name), 0) + flat
    pk = perfkit.top(cpu["pprof-bad-cpu"], granularity="packages").set_index("name")
    assert {k: v for k, v in pk["flat"].items() if v} == {k: v for k, v in by_pkg.items() if v}
    # cum of a package is at least the cum of each of its functions
    for name, (_flat, cum) in want.items():
        assert pk.loc[package_of(name), "cum"] >= cum


@pytest.mark.parametrize("name,pkg", [
    ("net/http.(*conn).serve", "net/http"), ("main.main", "main"),
    ("github.com/go-sql-driver/mysql.(*mysqlConn).readPacket", "github.com/go-sql-driver/mysql"),
    ("gopkg.in/yaml.v2.Unmarshal", "gopkg.in/yaml.v2"), ("runtime.gcBgMarkWorker.func2", "runtime"),
    ("vendor/golang.org/x/crypto/curve25519.x25519", "vendor/golang.org/x/crypto/curve25519"),
])
def test_package_of(name, pkg):
    assert package_of(name) == pkg


@pytest.mark.oracle
@pytest.mark.parametrize("archive", ARCHIVES)
def test_cores_used_matches_go_header(fleet_dir, go_bin, cpu, archive):
    out = subprocess.run([go(), "tool", "pprof", "-top", "-nodecount=1", str(fleet_dir / archive / "profile")],
                         capture_output=True, text=True, check=True).stdout
    pct = float(out.split("Total samples =", 1)[1].split("(", 1)[1].split("%", 1)[0])
    assert perfkit.cores_used(cpu[archive]) * 100 == pytest.approx(pct, abs=0.01)
    ps = perfkit.per_second(perfkit.top(cpu[archive]), cpu[archive])
    assert ps["flat"].sum() == pytest.approx(perfkit.cores_used(cpu[archive]) * 1e9)
    assert ps.attrs["unit"] == "cores"


@pytest.mark.parametrize("archive", ARCHIVES)
def test_goroutine_groups(fleet_dir, archive):
    g = perfkit.read_profile(fleet_dir / archive / "goroutine")
    for by in ("leaf", "stack", "where"):
        df = perfkit.goroutine_groups(g, by=by)
        assert df["goroutines"].sum() == g.total()
    where = perfkit.goroutine_groups(g, by="where").set_index("where")
    # almost every goroutine of a Fleet server under load sits in a network read
    assert where["goroutines"].idxmax() == "net.(*netFD).Read"


def test_archive_summary(fleet_dir):
    for a in ARCHIVES:
        arch = perfkit.load_archive(fleet_dir / a)
        s = arch.summary().set_index("file")
        assert set(s.index) >= {"profile", "heap", "allocs", "goroutine", "block", "mutex", "threadcreate",
                                "trace", "cmdline", "errors"}
        assert arch.cmdline == ["./build/fleet", "serve", "--dev"]
        assert arch.errors == []
        assert arch.trace.version == "1.11"
        assert s.loc["block", "samples"] == 0 and s.loc["block", "status"] == "ok (no samples)"
        assert s.loc["profile", "samples"] == arch.cpu.n_samples
        assert arch.unknown == []


def test_archive_tar_gz_and_unknown_files(fleet_dir, tmp_path):
    import tarfile
    src = fleet_dir / "pprof-normal"
    tgz = tmp_path / "fleet-archive.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        for f in sorted(src.iterdir()):
            tf.add(f, arcname=f"fleet-profiles-archive-2022-01-12/{f.name}")
        extra = tmp_path / "README.unknown"
        extra.write_text("hello")
        tf.add(extra, arcname="fleet-profiles-archive-2022-01-12/README.unknown")
    arch = perfkit.load_archive(tgz)
    assert arch.unknown == ["README.unknown"]
    direct = perfkit.load_archive(src)
    assert perfkit.top(arch.cpu).equals(perfkit.top(direct.cpu))
    assert sorted(arch.profiles) == sorted(direct.profiles)


def test_flame_layout_geometry(cpu):
    p = cpu["pprof-bad-cpu"]
    lay = perfkit.flame_layout(p, min_fraction=0.001)
    grand = p.total("cpu")
    assert lay.attrs["grand_total"] == grand
    assert lay.loc[lay.parent == -1, "total"].sum() == grand
    par = lay["parent"].to_numpy()
    assert (par < lay["id"].to_numpy()).all()
    # children inside their parent, siblings side by side without overlap
    for parent, grp in lay[lay.parent >= 0].groupby("parent"):
        g = grp.sort_values("x")
        px, pw = lay.loc[parent, "x"], lay.loc[parent, "total"]
        assert g["x"].iloc[0] >= px and (g["x"] + g["total"]).iloc[-1] <= px + pw
        assert (g["x"].to_numpy()[1:] >= (g["x"] + g["total"]).to_numpy()[:-1]).all()
    # small frames are merged, never lost; a lone small frame keeps its name
    assert (lay.loc[lay.merged == 0, "total"].abs() >= 0.001 * grand).all()
    assert lay.loc[lay.merged > 1, "name"].str.match(r"\[\d+ small frames\]").all()
    assert not lay.loc[lay.merged == 1, "name"].str.startswith("[").any()
    full = perfkit.flame_layout(p, min_fraction=0)
    assert len(full) == len(perfkit.call_tree(p)) > len(lay)


_VIEWS = {
    "top": lambda p, **kw: perfkit.top(p, "cpu", **kw),
    "edges": lambda p, **kw: perfkit.edges(p, "cpu", **kw),
    "peek": lambda p, **kw: perfkit.peek(p, "cpu", regex="SignPSS", **kw),
    "call_tree": lambda p, **kw: perfkit.call_tree(p, "cpu", **kw),
    "sample_stacks": lambda p, **kw: perfkit.sample_stacks(p, "cpu", **kw),
    "diff": lambda p, **kw: perfkit.diff(p, p, "cpu", **kw),
    "flame_layout": lambda p, **kw: perfkit.flame_layout(p, "cpu", **kw),
    "diff_flame_layout": lambda p, **kw: perfkit.diff_flame_layout(p, p, "cpu", **kw),
    "to_folded": lambda p, **kw: perfkit.to_folded(p, "cpu", **kw),
    "to_speedscope": lambda p, **kw: perfkit.to_speedscope(p, "cpu", **kw),
}


@pytest.mark.parametrize("view", sorted(_VIEWS))
def test_views_take_one_filters_and_reject_unknown_options(cpu, view):
    p = cpu["pprof-bad-cpu"]
    call = _VIEWS[view]
    for bad in ({"focus": "rsa"}, {"filters": {"focus": "rsa"}}, {"granularty": "lines"}):
        with pytest.raises(perfkit.OptionError, match=p.source.replace("/", ".")):
            call(p, **bad)
    f = perfkit.Filters(focus=r"crypto/rsa", hide=r"^runtime\.")
    filtered = perfkit.apply_filters(p, f)
    got, want = call(p, filters=f), call(filtered)
    if isinstance(got, str):
        assert got == want and got
    elif isinstance(got, dict):
        assert got["profiles"][0]["weights"] == want["profiles"][0]["weights"]
    else:
        value_cols = [c for c in got.columns if c not in ("pct", "flat_pct", "sum_pct", "cum_pct")
                      and not c.endswith("_delta_pct")]
        assert len(got) and got[value_cols].equals(want[value_cols])


def test_goroutine_groups_take_filters(fleet_dir):
    g = perfkit.read_profile(fleet_dir / "pprof-bad-cpu" / "goroutine")
    every = perfkit.goroutine_groups(g, by="leaf").set_index("leaf")["goroutines"]
    only = perfkit.goroutine_groups(g, by="leaf", filters=perfkit.Filters(focus="net/http")).set_index("leaf")
    assert 0 < only["goroutines"].sum() < every.sum()
    assert (only["goroutines"] <= every.reindex(only.index)).all()
    with pytest.raises(perfkit.OptionError):
        perfkit.goroutine_groups(g, "leaf")


def test_filters_is_frozen_and_apply_filters_checks_its_argument(cpu):
    import dataclasses
    f = perfkit.Filters(focus="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.focus = "y"
    assert f.active() == {"focus": "x"} and perfkit.Filters().active() == {}
    p = cpu["pprof-normal"]
    assert perfkit.apply_filters(p, None) is p and perfkit.apply_filters(p, perfkit.Filters()) is p
    with pytest.raises(perfkit.OptionError, match="Filters"):
        perfkit.apply_filters(p, {"focus": "x"})
    with pytest.raises(perfkit.OptionError, match="order"):
        perfkit.call_tree(p, order="depth")


def test_write_exports_match_the_text_exports(cpu, tmp_path):
    p = cpu["pprof-normal"]
    f = perfkit.Filters(focus="net/http")
    assert perfkit.write_folded(p, tmp_path / "a.folded", filters=f).read_text() == perfkit.to_folded(p, filters=f)
    doc = json.loads(perfkit.write_speedscope(p, tmp_path / "a.json", "cpu").read_text())
    assert doc == json.loads(json.dumps(perfkit.to_speedscope(p, "cpu")))
    assert sum(doc["profiles"][0]["weights"]) == p.total("cpu")
