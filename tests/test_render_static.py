"""Static (matplotlib) flame graphs and comparison charts on the Fleet archives."""
from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import perfkit  # noqa: E402
from perfkit.errors import OptionError, PerfkitError  # noqa: E402
from perfkit.render.charts import (delta_bars, goroutines_side_by_side, heap_side_by_side,  # noqa: E402
                                   subsystem_bars)
from perfkit.render.flame_static import (diff_flame_graph, flame_graph,  # noqa: E402
                                         save_figure)
from perfkit.views.diff import diff  # noqa: E402
from perfkit.style import DIFF_SCALE  # noqa: E402
from perfkit.views.goroutines import goroutine_groups  # noqa: E402

ARCHIVES = ("pprof-normal", "pprof-bad-cpu")


@pytest.fixture(scope="module")
def archives(fleet_dir):
    return {name: perfkit.load_archive(fleet_dir / name) for name in ARCHIVES}


@pytest.fixture(scope="module")
def normal(archives):
    return archives["pprof-normal"]


@pytest.fixture(scope="module")
def bad(archives):
    return archives["pprof-bad-cpu"]


@pytest.fixture(scope="module")
def bad_flame(bad):
    return flame_graph(bad.cpu)


@pytest.fixture(scope="module")
def cpu_diff(normal, bad):
    return diff_flame_graph(normal.cpu, bad.cpu)


def _assert_png_not_blank(path):
    img = mpimg.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    rgb = img[..., :3]
    assert float(rgb.std()) > 0.05, "image is (nearly) uniform"
    colours = {tuple(c) for c in np.round(rgb.reshape(-1, 3)[::7] * 255).astype(int)}
    assert len(colours) >= 8, f"only {len(colours)} distinct colours"


def _save_both(fig, tmp_path, stem):
    png = save_figure(fig, tmp_path / f"{stem}.png")
    svg = save_figure(fig, tmp_path / f"{stem}.svg")
    _assert_png_not_blank(png)
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    return text


def _frame_texts(fig):
    """gid -> label text drawn on the frames (one LabelLayer per graph)."""
    return fig.perfkit_labels.labels


# --------------------------------------------------------------------------- flame graphs

@pytest.mark.parametrize("archive", ARCHIVES)
@pytest.mark.parametrize("kind", ["profile", "heap", "allocs", "goroutine"])
def test_flame_graph_renders_every_archive_profile(archives, archive, kind, tmp_path):
    prof = archives[archive][kind]
    fig = flame_graph(prof)
    assert isinstance(fig, Figure)
    lay = fig.perfkit_data
    assert len(lay) > 10
    svg = _save_both(fig, tmp_path, f"{archive}-{kind}")
    # the widest root frame is labelled and its name is in the SVG as text
    root = lay[lay.depth == 0].sort_values("total", ascending=False).iloc[0]
    assert root["label"] and root["label"] in svg.replace("&amp;", "&")
    # title: sample type and total in human units
    title = fig.axes[0].get_title(loc="left")
    assert lay.attrs["sample_type"] in title
    assert perfkit.format_value(lay.attrs["grand_total"], lay.attrs["unit"]) in title


def test_flame_graph_bad_cpu_shows_signpss(bad_flame, tmp_path):
    lay = bad_flame.perfkit_data
    row = lay[lay.name == "crypto/rsa.SignPSS"].iloc[0]
    assert row["label"] == "crypto/rsa.SignPSS"
    assert _frame_texts(bad_flame)[f"frame-{int(row['id'])}"] == "crypto/rsa.SignPSS"
    svg = _save_both(bad_flame, tmp_path, "bad-cpu")
    assert ">crypto/rsa.SignPSS<" in svg
    assert 'id="frame-%d"' % int(row["id"]) in svg
    # legend of subsystems present
    legend = [t.get_text() for t in bad_flame.axes[0].get_legend().get_texts()]
    assert "TLS & crypto" in legend and "math/big" in legend
    assert set(legend) == set(lay["subsystem"])
    # colour by subsystem
    coll = bad_flame.perfkit_collection
    i = int(row.name)
    assert np.allclose(coll.get_facecolors()[i], to_rgba(perfkit.Subsystems().color("TLS & crypto")))


def test_flame_graph_widths_proportional_to_values(bad_flame):
    lay = bad_flame.perfkit_data
    ax = bad_flame.axes[0]
    paths = bad_flame.perfkit_collection.get_paths()
    assert len(paths) == len(lay)
    grand = lay.attrs["grand_total"]
    to_axes = ax.transData + ax.transAxes.inverted()
    for i, row in lay.iterrows():
        xs = to_axes.transform(paths[i].vertices)[:, 0]
        width_in_axes = xs.max() - xs.min()
        assert abs(width_in_axes - row["total"] / grand) < 1e-6
        assert abs(xs.min() - row["x"] / grand) < 1e-6
    # children never stick out of their parent
    par = lay[lay.parent >= 0]
    p = lay.loc[par.parent.to_numpy()]
    assert (par.x0.to_numpy() >= p.x0.to_numpy() - 1e-9).all()
    assert (par.x0.to_numpy() + par.w.to_numpy() <= p.x0.to_numpy() + p.w.to_numpy() + 1e-9).all()


def test_flame_graph_labels_fit_or_are_left_out(bad_flame):
    lay = bad_flame.perfkit_data
    ax = bad_flame.axes[0]
    texts = _frame_texts(bad_flame)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    renderer = FigureCanvasAgg(bad_flame).get_renderer()
    ax_px = ax.get_window_extent(renderer).width
    labelled = lay[lay.label != ""]
    unlabelled = lay[lay.label == ""]
    assert len(labelled) > 20 and len(unlabelled) > 20
    assert set(texts) == {f"frame-{i}" for i in labelled.id}
    # frames narrower than a few characters carry no text at all
    narrow = lay[lay.w * ax_px < 20]
    assert len(narrow) > 0 and (narrow.label == "").all()
    layer = bad_flame.perfkit_labels
    ink = layer.extents(renderer).set_index("text")
    left_px = ax.get_window_extent(renderer).x0
    for _, row in labelled.iterrows():
        s = texts[f"frame-{row.id}"]
        assert s == row["name"] or (s.endswith("…") and row["name"].startswith(s[:-1]))
        # the text fits in its rectangle, by matplotlib's own text metrics and by the ink the layer lays down
        width = renderer.get_text_width_height_descent(s, layer.prop, False)[0]
        assert width <= row.w * ax_px + 0.5, (s, width, row.w * ax_px)
        right = ink.loc[[s], "right"].min()
        assert right <= left_px + (row.x0 + row.w) * ax_px + 1.0, (s, right)


def test_raster_labels_match_matplotlib_text(bad, bad_flame, tmp_path):
    """The label layer's glyph-cached raster against the same labels drawn as matplotlib Text artists: the same
    ink, in the same place (a one-pixel shift of every label doubles the difference)."""
    from PIL import Image
    fast = bad_flame
    ref = flame_graph(bad.cpu)
    ax, layer = ref.axes[0], ref.perfkit_labels
    layer.set_visible(False)
    for x, y, s in zip(layer.x, layer.y, layer.texts):
        t = ax.text(x, y, s, fontsize=layer.prop.get_size_in_points(), va="center", ha="left", clip_on=True,
                    color="black", transform=ax.get_yaxis_transform())
        t.set_in_layout(False)
    bare = flame_graph(bad.cpu)
    bare.perfkit_labels.set_visible(False)
    a, b, c = (np.asarray(Image.open(save_figure(f, tmp_path / f"{n}.png")).convert("L"), float)
               for f, n in ((fast, "fast"), (ref, "ref"), (bare, "bare")))
    assert a.shape == b.shape == c.shape
    ink_a, ink_b = np.abs(a - c).sum(), np.abs(b - c).sum()      # what the labels change
    assert ink_b > 0 and abs(ink_a - ink_b) < 0.05 * ink_b, (ink_a, ink_b)
    shifted = np.abs(np.roll(a, 1, axis=1) - b).mean()
    assert np.abs(a - b).mean() < 0.5 * shifted, (np.abs(a - b).mean(), shifted)


def test_min_fraction_merges_small_frames(bad):
    fine = flame_graph(bad.cpu, min_fraction=0)
    default = flame_graph(bad.cpu)
    coarse = flame_graph(bad.cpu, min_fraction=0.02)
    n = [len(f.perfkit_collection.get_paths()) for f in (fine, default, coarse)]
    assert n[0] > n[1] > n[2]
    assert coarse.perfkit_data["merged"].sum() > 0
    assert not fine.perfkit_data["merged"].any()
    # merging never loses value: roots still cover the whole width
    for f in (fine, default, coarse):
        lay = f.perfkit_data
        assert abs(lay.loc[lay.depth == 0, "w"].sum() - 1) < 1e-9


def test_icicle_flips_y(bad, bad_flame):
    ice = flame_graph(bad.cpu, icicle=True)

    def root_and_child_y(fig):
        ax = fig.axes[0]
        lay = fig.perfkit_data
        child = lay[lay.depth == 1].iloc[0]
        root = lay.loc[child.parent]
        ys = ax.transData.transform([[0, root.y0 + 0.5], [0, child.y0 + 0.5]])[:, 1]
        return ys  # display coordinates: larger is higher on the page

    flame_y = root_and_child_y(bad_flame)
    ice_y = root_and_child_y(ice)
    assert flame_y[0] < flame_y[1]      # flame: root below its child
    assert ice_y[0] > ice_y[1]          # icicle: root above its child
    assert ice.axes[0].yaxis_inverted() and not bad_flame.axes[0].yaxis_inverted()
    assert len(ice.perfkit_data) == len(bad_flame.perfkit_data)


def test_filters_pass_through(bad):
    fig = flame_graph(bad.cpu, filters=perfkit.Filters(focus=r"crypto/rsa\.SignPSS$"))
    lay = fig.perfkit_data
    assert "crypto/rsa.SignPSS" in set(lay.name)
    assert lay.attrs["grand_total"] < bad.cpu.total("cpu")


# --------------------------------------------------------------------------- differential

def test_diff_flame_colours(cpu_diff, tmp_path):
    lay = cpu_diff.perfkit_data
    fc = cpu_diff.perfkit_collection.get_facecolors()
    sign = lay[lay.name == "crypto/rsa.SignPSS"].iloc[0]
    assert sign["only_in"] == "target"
    assert np.allclose(fc[int(sign.name)], to_rgba(DIFF_SCALE.only_target))
    only = lay.only_in == "target"
    assert np.allclose(fc[only.to_numpy()], to_rgba(DIFF_SCALE.only_target))
    noisy = (lay.noise & ~only).to_numpy()
    assert noisy.sum() > 10
    assert np.allclose(fc[noisy], to_rgba(DIFF_SCALE.noise))
    real = (~lay.noise & ~only).to_numpy()
    grew = real & (lay.delta > 0).to_numpy()
    shrank = real & (lay.delta < 0).to_numpy()
    assert grew.any() and shrank.any()
    assert (fc[grew, 0] > fc[grew, 2]).all(), "grown frames are red"
    assert (fc[shrank, 2] > fc[shrank, 0]).all(), "shrunk frames are blue"
    # stronger relative change, stronger colour (distance from white)
    sat = 3 - fc[:, :3].sum(axis=1)
    rel = lay.rel_delta.abs().to_numpy()
    g = np.nonzero(grew | shrank)[0]
    hi, lo = g[np.argmax(rel[g])], g[np.argmin(rel[g])]
    if rel[hi] > rel[lo]:
        assert sat[hi] >= sat[lo]
    # widths from the target
    grand = lay.attrs["grand_total"]
    assert abs(grand - bad_total_ns(cpu_diff)) < 1
    svg = _save_both(cpu_diff, tmp_path, "diff")
    assert "crypto/rsa.SignPSS" in svg and "only in target" in svg
    # colour bar + legend explain the colours
    assert len(cpu_diff.axes) == 2
    assert {t.get_text() for t in cpu_diff.axes[0].get_legend().get_texts()} == {
        "only in target (new)", "within sampling noise / merged"}


def bad_total_ns(fig):
    lay = fig.perfkit_data
    return lay.loc[lay.depth == 0, "width"].sum()


def test_diff_flame_reverse_uses_base_widths(normal, bad, tmp_path):
    rev = diff_flame_graph(normal.cpu, bad.cpu, reverse=True)
    lay = rev.perfkit_data
    base_lay = perfkit.flame_layout(normal.cpu)
    # same shape as the base's own flame layout, same relative widths
    assert list(lay.name) == list(base_lay.name)
    assert np.allclose(lay.w, base_lay.total / base_lay.attrs["grand_total"], atol=1e-9)
    gone = (lay.only_in == "base").to_numpy()
    assert gone.any()
    fc = rev.perfkit_collection.get_facecolors()
    assert np.allclose(fc[gone], to_rgba(DIFF_SCALE.only_base))
    assert "only in base (gone)" in _save_both(rev, tmp_path, "reverse")


def test_diff_flame_per_second(normal, bad):
    fig = diff_flame_graph(normal.cpu, bad.cpu, normalize="per_second")
    lay = fig.perfkit_data
    # widths in CPU-ns per second of the target: the roots sum to its cores used
    assert abs(lay.attrs["grand_total"] / 1e9 - perfkit.cores_used(bad.cpu)) < 1e-9
    assert "cores" in fig.axes[0].get_title(loc="left")
    with pytest.raises(OptionError):
        diff_flame_graph(normal.cpu, bad.cpu, normalize="bogus")


# --------------------------------------------------------------------------- charts

def _bar_heights_by_x(ax):
    sums = {}
    for cont in ax.containers:
        for rect in cont.patches:
            x = round(rect.get_x() + rect.get_width() / 2, 6)
            sums[x] = sums.get(x, 0.0) + rect.get_height()
    return [sums[k] for k in sorted(sums)]


def test_subsystem_bars_sum_to_cores(normal, bad, tmp_path):
    fig = subsystem_bars({"normal": normal.cpu, "bad": bad.cpu})
    heights = _bar_heights_by_x(fig.axes[0])
    assert heights == pytest.approx([perfkit.cores_used(normal.cpu), perfkit.cores_used(bad.cpu)], rel=1e-9)
    data = fig.perfkit_data
    assert set(data.unit) == {"cores"}
    bad_rows = data[data.profile == "bad"].set_index("subsystem")
    assert bad_rows.loc["math/big", "value"] > 0.5 * perfkit.cores_used(bad.cpu) * 0.8
    _save_both(fig, tmp_path, "subsystems")


def test_subsystem_bars_custom_mapping_keeps_other(normal, bad):
    mapping = [("crypto", r"^crypto/"), ("big", r"^math/big\.")]
    fig = subsystem_bars({"normal": normal.cpu, "bad": bad.cpu}, mapping=mapping, by="leaf", per_second=False)
    heights = _bar_heights_by_x(fig.axes[0])
    assert heights == pytest.approx([normal.cpu.total("cpu"), bad.cpu.total("cpu")])
    data = fig.perfkit_data
    assert set(data.subsystem) == {"crypto", "big", "other"}
    assert (data[data.subsystem == "other"].value > 0).all()
    legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    assert legend == {"crypto", "big", "other"}


@pytest.mark.parametrize("archive", ARCHIVES)
def test_subsystem_bars_heap_per_archive(archives, archive, tmp_path):
    a = archives[archive]
    fig = subsystem_bars({"heap": a["heap"], "allocs": a["allocs"]}, sample_index="inuse_space", per_second=False)
    assert _bar_heights_by_x(fig.axes[0]) == pytest.approx([a["heap"].total("inuse_space"),
                                                             a["allocs"].total("inuse_space")])
    _save_both(fig, tmp_path, f"sub-{archive}")


@pytest.mark.parametrize("direction", ["normal->bad", "bad->normal"])
def test_delta_bars(normal, bad, direction, tmp_path):
    base, target = (normal.cpu, bad.cpu) if direction == "normal->bad" else (bad.cpu, normal.cpu)
    fig = delta_bars(base, target, n=20)
    ax = fig.axes[0]
    data = fig.perfkit_data
    assert len(data) == 20
    d = diff(base, target, normalize="per_second").set_index("name")
    expect = d.loc[data.name, "cum_delta"].to_numpy() / 1e9
    bars = [c for c in ax.containers if c.__class__.__name__ == "BarContainer"][0].patches
    assert np.allclose([b.get_width() for b in bars], expect)
    assert np.allclose(data.ci95, d.loc[data.name, "cum_delta_ci95"].to_numpy() / 1e9)
    assert (np.diff(np.abs(expect)) <= 1e-12).all(), "sorted by |delta|"
    assert "crypto/rsa.SignPSS" in set(data.name)
    sign = 1 if direction == "normal->bad" else -1
    assert sign * data.set_index("name").loc["crypto/rsa.SignPSS", "delta"] > 0.5
    for b, nz, v in zip(bars, data.noise, data.delta):
        assert bool(b.get_hatch()) == bool(nz)
        want = DIFF_SCALE.noise if nz else DIFF_SCALE.step_color(v > 0, DIFF_SCALE.levels - 1)
        assert np.allclose(b.get_facecolor(), to_rgba(want))
    # error bars: the 95 % interval
    err = [c for c in ax.containers if c.__class__.__name__ == "ErrorbarContainer"]
    assert err
    _save_both(fig, tmp_path, "delta")


def test_delta_bars_shows_noise_rows(normal, bad):
    fig = delta_bars(normal.cpu, bad.cpu, n=200, by="flat")
    data = fig.perfkit_data
    assert data.noise.any() and (~data.noise).any()
    assert (np.abs(data.loc[data.noise, "delta"]) <= data.loc[data.noise, "ci95"] + 1e-12).all()


def test_goroutines_side_by_side(normal, bad, tmp_path):
    fig = goroutines_side_by_side({"normal": normal["goroutine"], "bad": bad["goroutine"]}, n=10)
    data = fig.perfkit_data.set_index("where")
    assert len(data) == 10
    assert data.loc["net.(*netFD).Read", "normal"] == 8008
    assert data.loc["net.(*netFD).Read", "bad"] == 4380
    ax = fig.axes[0]
    for k, lab in enumerate(["normal", "bad"]):
        widths = [b.get_width() for b in ax.containers[k].patches]
        s = goroutine_groups({"normal": normal, "bad": bad}[lab]["goroutine"], by="where").set_index("where")
        assert widths == [int(s["goroutines"].get(w, 0)) for w in data.index]
    _save_both(fig, tmp_path, "goroutines")


@pytest.mark.parametrize("archive", ARCHIVES)
def test_heap_side_by_side(archives, archive, tmp_path):
    a = archives[archive]
    fig = heap_side_by_side({"heap": a["heap"], "allocs": a["allocs"]}, n=12,
                            sample_index={"heap": "inuse_space", "allocs": "alloc_space"})
    data = fig.perfkit_data
    assert len(fig.axes) == 2
    order = data.attrs["order"]
    assert len(order) == 12
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] in (order[0], "…" + order[0][-54:])
    for ax, (lab, prof, si) in zip(fig.axes, [("heap", a["heap"], "inuse_space"),
                                             ("allocs", a["allocs"], "alloc_space")]):
        t = perfkit.top(prof, si).set_index("name")["flat"]
        widths = [b.get_width() for b in ax.containers[0].patches]
        assert widths == [float(t.get(nm, 0)) for nm in order]
        assert si in ax.get_title(loc="left")
    # the order is shared: each panel's bars follow the same function list
    assert (data.groupby("profile")["name"].apply(list).apply(lambda x: x == order)).all()
    _save_both(fig, tmp_path, f"heap-{archive}")


# --------------------------------------------------------------------------- figures and files

def test_figures_are_not_in_pyplot_and_render_inline(bad_flame, normal):
    before = plt.get_fignums()
    fig = subsystem_bars({"normal": normal.cpu})
    assert plt.get_fignums() == before == []
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert bad_flame._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def _tight_png(fig) -> np.ndarray:
    import io
    buf = io.BytesIO()
    Figure.savefig(fig, buf, format="png", bbox_inches="tight")
    buf.seek(0)
    return mpimg.imread(buf, format="png")


def test_png_bounding_box_is_matplotlibs_tight_box(archives, normal, bad, bad_flame, cpu_diff, tmp_path):
    # save_figure and _repr_png_ skip matplotlib's throw-away draw for PNGs: the same pixels, every chart kind
    from perfkit.render import p_timeline
    from perfkit.trace import read_trace
    figs = {"flame": bad_flame, "icicle": flame_graph(bad.cpu, icicle=True), "diff": cpu_diff,
            "subsystems": subsystem_bars({"normal": normal.cpu, "bad": bad.cpu}),
            "delta": delta_bars(normal.cpu, bad.cpu),
            "goroutines": goroutines_side_by_side({k: a["goroutine"] for k, a in archives.items()}),
            "heap": heap_side_by_side({k: a["heap"] for k, a in archives.items()}),
            "timeline": p_timeline({"bad": read_trace(bad.trace)})}
    for name, fig in figs.items():
        want = _tight_png(fig)
        saved = mpimg.imread(str(save_figure(fig, tmp_path / f"{name}.png")))
        assert saved.shape == want.shape and np.array_equal(saved, want), name
        import io
        inline = mpimg.imread(io.BytesIO(fig._repr_png_()), format="png")
        assert np.array_equal(inline, want), name


def test_save_figure_formats_and_safety(bad_flame, tmp_path):
    pdf = save_figure(bad_flame, tmp_path / "f.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    with pytest.raises(PerfkitError, match="does not exist"):
        save_figure(bad_flame, tmp_path / "missing" / "f.png")
    with pytest.raises(OptionError, match="format"):
        save_figure(bad_flame, tmp_path / "f.gif")
    with pytest.raises(PerfkitError, match="exists"):
        save_figure(bad_flame, pdf, overwrite=False)
    before = pdf.stat().st_size
    save_figure(bad_flame, pdf)  # default overwrite=True
    assert pdf.stat().st_size > 0 and abs(pdf.stat().st_size - before) < before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf"], "no temp files left behind"
    # plain matplotlib figures can be saved too
    plain = Figure()
    plain.add_subplot().plot([0, 1], [1, 0])
    assert save_figure(plain, tmp_path / "plain.svg").read_text().count("<svg") == 1


def test_flame_graph_with_nothing_left_after_filters(bad):
    fig = flame_graph(bad.cpu, filters=perfkit.Filters(focus="no-function-is-called-like-this"))
    assert len(fig.perfkit_data) == 0
    assert "no samples" in [t.get_text() for t in fig.axes[0].texts]
    assert fig._repr_png_()[:4] == b"\x89PNG"


def test_one_diff_scale_for_every_diff(cpu_diff, normal, bad):
    """The static and the interactive diff flame graphs and the delta bars draw from one palette,
    and the same frame gets the same colour in both flame graphs."""
    from perfkit.render.flame_html import interactive_diff_flame
    palette = [to_rgba(c) for c in DIFF_SCALE.palette()]
    fc = cpu_diff.perfkit_collection.get_facecolors()
    assert all(any(np.allclose(f, p) for p in palette) for f in fc)
    inter = interactive_diff_flame(normal.cpu, bad.cpu)
    assert inter.payload["colors"] == DIFF_SCALE.palette()
    static_lay = cpu_diff.perfkit_data
    fills = [inter.payload["colors"][c] for c in inter.payload["c"]]
    assert list(static_lay["name"]) == list(inter.perfkit_data["name"])
    assert all(np.allclose(f, to_rgba(c)) for f, c in zip(fc, fills))
    # a real grown frame is red-ish, a real shrunk one blue-ish, with more colour for a bigger change
    assert DIFF_SCALE.step_color(True, 7) != DIFF_SCALE.step_color(True, 0)
    bars = delta_bars(normal.cpu, bad.cpu, n=10).perfkit_data
    assert set(bars["color"]) <= set(DIFF_SCALE.palette())


def test_unknown_or_positional_options_raise(normal, bad):
    with pytest.raises(OptionError, match="focus"):
        flame_graph(bad.cpu, focus="x")           # filters come as one perfkit.Filters
    with pytest.raises(OptionError):
        delta_bars(normal.cpu, bad.cpu, "cpu", 15)   # options are keyword-only
    with pytest.raises(OptionError, match="colour"):
        subsystem_bars({"bad": bad.cpu}, colour="red")
    with pytest.raises(OptionError, match="source"):
        diff_flame_graph(normal.cpu, bad.cpu, source="x")


def test_style_units_and_diff_scale():
    from perfkit.style import format_rate, format_value, per_second_unit, relative_delta, unit_steps
    assert format_value(56_730_000_000, "nanoseconds") == "56.7s"
    assert format_value(68_738_938, "bytes") == "65.6MiB"
    assert format_value(1234, "count") == "1,234"
    assert format_value(0.4681, "cores") == "0.468 cores"
    assert format_rate(468_100_000, "nanoseconds/s", signed=True) == "+0.468 cores"
    assert format_rate(-2 * 1024 * 1024, "bytes") == "-2MiB/s"
    assert per_second_unit("nanoseconds") == "cores" and per_second_unit("bytes") == "bytes/s"
    assert unit_steps("count") is None and unit_steps("bytes")[0] == ("GiB", float(1 << 30))
    rel = relative_delta([100, 100, 0, 50], [150, 20, 10, 50], [50, -80, 10, 0])
    assert np.allclose(rel, [50 / 150, -0.8, 1.0, 0.0])
    idx, state = DIFF_SCALE.classify(rel, [False, False, False, False], ["", "", "target", ""])
    assert list(state) == ["grew", "shrank", "only-in", "noise"]
    pal = DIFF_SCALE.palette()
    assert pal[idx[2]] == DIFF_SCALE.only_target and pal[idx[3]] == DIFF_SCALE.noise
    # more change, more colour: each step is further from white than the one before
    for grew in (True, False):
        shades = [to_rgba(DIFF_SCALE.step_color(grew, k)) for k in range(DIFF_SCALE.levels)]
        dist = [3 - sum(c[:3]) for c in shades]
        assert dist == sorted(dist) and len(set(dist)) == DIFF_SCALE.levels


def test_p_timeline_keeps_what_it_drew(normal, bad):
    from perfkit.render import p_timeline
    from perfkit.trace import p_utilization, read_trace
    traces = {"normal": read_trace(normal.trace), "bad": read_trace(bad.trace)}
    fig = p_timeline(traces)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    data = fig.perfkit_data
    assert list(data.columns) == ["trace", "ms", "busy_ps"]
    for label, t in traces.items():
        want = p_utilization(t)
        got = data[data["trace"] == label]
        assert np.allclose(got["busy_ps"].to_numpy(), want["busy_ps"].to_numpy())


def test_heap_side_by_side_of_an_empty_profile_says_so_without_warnings():
    import warnings
    empty = perfkit.ProfileBuilder([("inuse_objects", "count"), ("inuse_space", "bytes")]).build()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = perfkit.heap_side_by_side({"heap": empty}, "inuse_space")
    assert len(fig.perfkit_data) == 0
    assert any(t.get_text() == "no samples" for ax in fig.axes for t in ax.texts)
