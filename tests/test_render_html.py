"""Interactive HTML flame graphs: content, escaping, size, and a real headless Chromium."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import perfkit
from perfkit.errors import OptionError
from perfkit.style import DIFF_SCALE
from perfkit.render.flame_html import (InteractiveFlame, _base_payload,
                                       flame_page, interactive_diff_flame, interactive_flame)

MB2 = 2 * 1024 * 1024
EXTERNAL_REF = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
IDS = re.compile(r'<div id="(pkflame-[0-9a-f]+)" class="pk-flame"')


@pytest.fixture(scope="module")
def bad(fleet_dir):
    return perfkit.read_profile(fleet_dir / "pprof-bad-cpu" / "profile")


@pytest.fixture(scope="module")
def normal(fleet_dir):
    return perfkit.read_profile(fleet_dir / "pprof-normal" / "profile")


@pytest.fixture(scope="module")
def flame_bad(bad):
    return interactive_flame(bad)


@pytest.fixture(scope="module")
def diff(normal, bad):
    return interactive_diff_flame(normal, bad)


def _data_blocks(html: str) -> list[dict]:
    return [json.loads(m) for m in
            re.findall(r'<script type="application/json" class="pk-flame-data">(.*?)</script>', html, re.S)]


def expected_match_pct(layout: pd.DataFrame, pattern: str, widths="total") -> float:
    """Sum of matched frames with no matched ancestor, over the grand total, in %."""
    rx = re.compile(pattern)
    pos = {int(i): k for k, i in enumerate(layout["id"])}
    hit = [bool(rx.search(n)) for n in layout["name"]]
    covered = [False] * len(layout)
    w = np.abs(layout[widths].to_numpy(float))
    s = 0.0
    for k, p in enumerate(layout["parent"]):
        pc = covered[pos[int(p)]] if p >= 0 else False
        if hit[k] and not pc:
            s += w[k]
        covered[k] = hit[k] or pc
    return 100.0 * s / layout.attrs["grand_total"]


# ---------------------------------------------------------------- static HTML
def test_page_content_and_no_cdn(flame_bad, diff):
    for g in (flame_bad, diff):
        page = g.html_page()
        assert page.startswith("<!DOCTYPE html>")
        assert "crypto/rsa.SignPSS" in page
        assert not EXTERNAL_REF.search(page), EXTERNAL_REF.search(page).group(0)
        assert "<script src" not in page and "<link" not in page
        assert len(page.encode()) < MB2
    snippet = flame_bad._repr_html_()
    assert "<html" not in snippet and 'class="pk-flame"' in snippet
    data = _data_blocks(snippet)[0]
    assert data["kind"] == "flame" and len(data["n"]) == len(flame_bad.perfkit_data)
    assert {"strings", "n", "p", "d", "x", "w", "c"} <= set(data)
    assert isinstance(flame_bad.perfkit_data, pd.DataFrame)


def test_sizes_under_2mb(fleet_dir, normal, bad):
    for p in (normal, bad):
        assert len(interactive_flame(p).html_page().encode()) < MB2
    assert len(interactive_diff_flame(normal, bad, normalize="per_second").html_page().encode()) < MB2


def test_large_layout_stays_compact(flame_bad):
    """20 000 frames with 5 000 distinct long names (a very large profile after merging) stay < 2 MB."""
    n = 20_000
    rng = np.random.default_rng(1)
    depth = np.minimum(np.arange(n) % 60, 59)
    parent = np.where(depth == 0, -1, np.arange(n) - 1)
    lay = pd.DataFrame({"id": np.arange(n), "parent": parent, "depth": depth,
                        "name": [f"github.com/fleetdm/fleet/v4/server/service.(*Service).Method{i % 5000:05d}"
                                 for i in range(n)],
                        "self": rng.integers(0, 10**9, n), "total": rng.integers(10**9, 10**11, n),
                        "x": rng.integers(0, 10**12, n).astype(float)})
    payload = _base_payload(lay, lay["total"], ["#ff7f0e"], [0] * n, "flame", "big",
                            {"kind": "time", "suffix": ""}, 10**12)
    payload["s"] = [int(v) for v in lay["self"]]
    size = len(InteractiveFlame(lay, payload, title="big").html_page().encode())
    assert size < MB2, size


def test_names_are_escaped(flame_bad):
    evil = '</script><script>alert("x")</script> & <b>\'q\'</b> \u2028'
    payload = json.loads(json.dumps(flame_bad.payload))
    payload["strings"][payload["n"][0]] = evil
    g = InteractiveFlame(flame_bad.perfkit_data, payload, title='<i>"title" & co</i>')
    snippet = g._repr_html_()
    assert "</script><script>alert" not in snippet and "<b>'q'</b>" not in snippet
    assert "<i>" not in snippet and "&lt;i&gt;&quot;title&quot; &amp; co&lt;/i&gt;" in snippet
    assert _data_blocks(snippet)[0]["strings"][payload["n"][0]] == evil
    # every script element closes where it should: two per graph
    assert snippet.count("<script") == 2 and snippet.count("</script>") == 2


def test_distinct_ids_and_save(flame_bad, normal, tmp_path):
    other = interactive_flame(normal, title="normal")
    page = flame_page(flame_bad, other, flame_bad, title="three")
    ids = IDS.findall(page)
    assert len(ids) == 3 and len(set(ids)) == 3
    for i in ids:   # each script looks up only its own container
        assert page.count(f'"{i}"') == 2   # the div's id and its own script's ID
    out = flame_bad.save(tmp_path / "f.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "crypto/rsa.SignPSS" in text


def test_options(bad, normal):
    inv = interactive_flame(bad, inverted=True, min_fraction=0.01, title="inv", height=300)
    assert "max-height:300px" in inv._repr_html_() and inv.perfkit_data.attrs["inverted"]
    ps = interactive_diff_flame(normal, bad, normalize="per_second")
    assert ps.payload["fmt"]["kind"] == "cores"
    rev = interactive_diff_flame(normal, bad, reverse=True)
    assert rev.payload["only"] == "only in base" and (rev.perfkit_data["only_in"] == "base").any()
    assert "what disappeared" in rev.title
    with pytest.raises(OptionError):
        interactive_diff_flame(normal, bad, normalize="bogus")


def test_diff_colours(diff):
    lay, pl = diff.perfkit_data, diff.payload
    fills = [pl["colors"][c] for c in pl["c"]]
    only = (lay["only_in"] == "target").to_numpy()
    noise = (lay["noise"] & (lay["only_in"] == "")).to_numpy()
    assert only.any() and noise.any()
    assert all(f == DIFF_SCALE.only_target for f, o in zip(fills, only) if o)
    assert all(f == DIFF_SCALE.noise for f, z in zip(fills, noise) if z)
    for f, d, z, o in zip(fills, lay["delta"], noise, only):
        if z or o or f == DIFF_SCALE.noise:
            continue
        r, b = int(f[1:3], 16), int(f[5:7], 16)
        assert (r > b) == (d > 0), (f, d)


# ---------------------------------------------------------------- real browser
def _rect(page, graph: int, row: int):
    return page.locator(".pk-flame").nth(graph).locator(f'svg.pk-frame[data-i="{row}"] > rect')


def _width(loc) -> float:
    box = loc.bounding_box()
    return 0.0 if box is None else box["width"]


def test_browser_two_graphs_zoom_search_reset(tmp_path, flame_bad, normal):
    from browser import open_page
    g2 = interactive_flame(normal, title="normal")
    path = tmp_path / "two.html"
    path.write_text(flame_page(flame_bad, g2, title="two graphs"), encoding="utf-8")

    lay = flame_bad.perfkit_data
    target = int(lay[lay["name"] == "crypto/rsa.SignPSS"]["total"].idxmax())
    depth = int(lay.loc[target, "depth"])
    anc = set()
    p = int(lay.loc[target, "parent"])
    while p >= 0:
        anc.add(p)
        p = int(lay.loc[p, "parent"])
    same = lay[(lay["depth"] == depth) & (lay.index != target)]
    sibling = int(same["total"].idxmax())
    parent = int(lay.loc[target, "parent"])

    with open_page(path) as page:
        graphs = page.locator(".pk-flame")
        assert graphs.count() == 2
        svg_w = _width(graphs.nth(0).locator("svg.pk-flame-svg"))
        assert page.locator('svg.pk-frame[data-name="crypto/rsa.SignPSS"]').count() >= 1
        w0, s0 = _width(_rect(page, 0, target)), _width(_rect(page, 0, sibling))
        assert 0 < w0 < 0.9 * svg_w and s0 > 0
        other_before = _width(_rect(page, 1, 0))

        # click-to-zoom: the frame becomes full width, ancestors stay, a same-depth frame goes
        _rect(page, 0, target).click()
        assert _width(_rect(page, 0, target)) == pytest.approx(svg_w, rel=0.02)
        assert _width(_rect(page, 0, parent)) == pytest.approx(svg_w, rel=0.02)
        assert _rect(page, 0, sibling).is_hidden() or _width(_rect(page, 0, sibling)) < 1
        assert graphs.nth(0).get_attribute("data-zoom") == str(target)
        assert graphs.nth(1).get_attribute("data-zoom") == "-1"          # the other graph is untouched
        assert _width(_rect(page, 1, 0)) == pytest.approx(other_before, abs=0.5)

        # search: highlighted total % equals the layout's, nested matches counted once
        graphs.nth(0).locator("input.pk-flame-search").fill("crypto/rsa")
        text = graphs.nth(0).locator(".pk-flame-match").text_content()
        m = re.search(r"matched: ([0-9.]+)% of total", text)
        assert m, text
        want = expected_match_pct(lay, "crypto/rsa")
        assert float(m.group(1)) == pytest.approx(want, abs=0.01)
        assert want < 100 * lay.loc[lay["name"].str.contains("crypto/rsa", regex=False), "total"].sum() \
            / lay.attrs["grand_total"]                                       # nesting really was present
        n_hits = int(lay["name"].str.contains("crypto/rsa", regex=False).sum())
        assert graphs.nth(0).locator("svg.pk-frame.pk-match").count() == n_hits
        assert graphs.nth(1).locator(".pk-flame-match").text_content() == ""
        assert graphs.nth(1).locator("svg.pk-frame.pk-match").count() == 0

        # reset restores the full graph
        graphs.nth(0).locator("button.pk-flame-reset").click()
        assert _width(_rect(page, 0, target)) == pytest.approx(w0, abs=1)
        assert _width(_rect(page, 0, sibling)) == pytest.approx(s0, abs=1)
        # clicking the root frame also resets
        _rect(page, 0, target).click()
        graphs.nth(0).locator('svg.pk-frame[data-root="1"] > rect').click()
        assert _width(_rect(page, 0, target)) == pytest.approx(w0, abs=1)

        # hover tooltip: name, value in the unit, % of total, % of parent
        _rect(page, 0, target).hover()
        tip = graphs.nth(0).locator(".pk-flame-tooltip")
        assert tip.is_visible()
        tt = tip.inner_text()
        assert "crypto/rsa.SignPSS" in tt and "of total" in tt and "of parent" in tt
        assert re.search(r"\d(\.\d+)?(s|ms)\b", tt), tt
        assert f"{100 * lay.loc[target, 'total'] / lay.attrs['grand_total']:.2f}%" in tt

        assert page.console_errors == []
        assert page.foreign_requests() == [], page.requests


def test_browser_diff(tmp_path, diff):
    from browser import open_page
    path = tmp_path / "diff.html"
    diff.save(path)
    lay = diff.perfkit_data
    only = int(lay[lay["only_in"] == "target"]["width"].idxmax())
    noise = int(lay[lay["noise"] & (lay["only_in"] == "") & (lay["merged"] == 0)]["width"].idxmax())
    known = lay[(lay["only_in"] == "") & (lay["base"] > 0) & (lay["merged"] == 0)]
    both = int(known["width"].idxmax())

    with open_page(path) as page:
        g = page.locator(".pk-flame").nth(0)
        assert g.get_attribute("data-kind") == "diff"
        assert _rect(page, 0, only).get_attribute("fill") == DIFF_SCALE.only_target
        assert g.locator(f'svg.pk-frame[data-i="{only}"]').get_attribute("data-state") == "only-in"
        assert _rect(page, 0, noise).get_attribute("fill") == DIFF_SCALE.noise
        assert g.locator(f'svg.pk-frame[data-i="{noise}"]').get_attribute("data-state") == "noise"

        _rect(page, 0, both).hover()
        tt = g.locator(".pk-flame-tooltip").inner_text()
        assert lay.loc[both, "name"] in tt
        for word in ("base:", "target:", "delta:"):
            assert word in tt, tt
        assert re.search(r"delta: [+-]?[0-9.]+\w+ \([+-][0-9.]+%\)", tt), tt

        _rect(page, 0, only).hover()
        tt = g.locator(".pk-flame-tooltip").inner_text()
        assert lay.loc[only, "name"] in tt and "only in target" in tt

        assert page.console_errors == []
        assert page.foreign_requests() == [], page.requests
