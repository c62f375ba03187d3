"""The sandwich view: perfkit.views.sandwich against top/peek, and the flame graph's sandwich in Chromium."""
from __future__ import annotations

import pytest

import perfkit
from perfkit.errors import OptionError
from perfkit.render.flame_html import interactive_flame
from perfkit.views.sandwich import sandwich

FN = "math/big.nat.montgomery"          # called from one site in the bad archive
MANY = "runtime.mallocgc"               # called from many sites


@pytest.fixture(scope="module")
def bad(fleet_dir):
    return perfkit.read_profile(fleet_dir / "pprof-bad-cpu" / "profile")


def _cum(profile, name, **kw):
    t = perfkit.top(profile, **kw)
    return int(t.loc[t["name"] == name, "cum"].iloc[0]), int(t.loc[t["name"] == name, "flat"].iloc[0])


def _peek(profile, name, relation, **kw):
    pk = perfkit.peek(profile, regex=f"^{name.replace('(', '[(]').replace(')', '[)]').replace('*', '[*]')}$", **kw)
    pk = pk[(pk["relation"] == relation) & (pk["name"] != name)]
    return dict(zip(pk["name"], pk["weight"].astype(int)))


@pytest.mark.parametrize("name", [FN, MANY])
def test_sandwich_against_top_and_peek(bad, name):
    s = sandwich(bad, function=name)
    cum, flat = _cum(bad, name)
    focus = s[s["side"] == "focus"]
    assert len(focus) == 1 and int(focus["total"].iloc[0]) == cum and int(focus["self"].iloc[0]) == flat
    callers = s[(s["side"] == "caller") & (s["depth"] == 1)]
    callees = s[(s["side"] == "callee") & (s["depth"] == 1)]
    assert dict(zip(callers["name"], callers["total"].astype(int))) == _peek(bad, name, "caller")
    assert dict(zip(callees["name"], callees["total"].astype(int))) == _peek(bad, name, "callee")
    # callees plus the function's own flat make up the centre; every frame lies within the centre's span
    assert int(callees["total"].sum()) + flat == cum
    assert (s["x"] >= 0).all() and ((s["x"] + s["total"]) <= cum + 1e-6).all()


def test_sandwich_merges_call_sites(bad):
    s = sandwich(bad, function=MANY)
    assert (s[(s["side"] == "caller") & (s["depth"] == 1)].shape[0]) >= 3
    # a caller two levels up is a child of a direct caller
    deep = s[(s["side"] == "caller") & (s["depth"] == 2)]
    assert set(deep["parent"]) <= set(s[(s["side"] == "caller") & (s["depth"] == 1)]["id"])


def test_sandwich_with_filters(bad):
    f = perfkit.Filters(focus="crypto/tls")
    s = sandwich(bad, function=FN, filters=f)
    assert int(s.loc[0, "total"]) == _cum(bad, FN, filters=f)[0]


def test_sandwich_bad_input(bad):
    with pytest.raises(OptionError, match="no sample"):
        sandwich(bad, function="no.such.function")
    with pytest.raises(OptionError):
        sandwich(bad, function=FN, colour="red")


# ---------------------------------------------------------------- in Chromium
def _sw(page):
    return page.evaluate("""() => {
      const r = document.querySelector('.pk-flame');
      const fr = [...r.querySelectorAll('svg.pk-sw-frame')].map(e => ({side: e.dataset.side,
        depth: +e.dataset.depth, name: e.dataset.name, value: +e.dataset.value}));
      return {fn: r.getAttribute('data-sandwich'), total: +r.querySelector('div.pk-sandwich').dataset.total,
              info: r.querySelector('.pk-sandwich-info').textContent, frames: fr};
    }""")


@pytest.mark.slow
def test_sandwich_in_browser(bad, tmp_path):
    from browser import open_page
    path = tmp_path / "flame.html"
    interactive_flame(bad, min_fraction=0).save(path)
    with open_page(path) as page:
        # search, then the Sandwich button: the heaviest match
        page.fill("input.pk-flame-search", "nat\\.montgomery")
        page.click("button.pk-flame-sandwich")
        got = _sw(page)
        assert got["fn"] == FN and FN in got["info"]
        assert got["total"] == _cum(bad, FN)[0]
        callers = {f["name"]: f["value"] for f in got["frames"] if f["side"] == "caller" and f["depth"] == 1}
        assert callers == _peek(bad, FN, "caller")
        # click a frame in the graph, press the button: many call sites merged
        page.fill("input.pk-flame-search", "")
        page.locator(f'svg.pk-frame[data-name="{MANY}"]').first.dispatch_event("click")
        page.click("button.pk-flame-sandwich")
        got = _sw(page)
        assert got["fn"] == MANY and got["total"] == _cum(bad, MANY)[0]
        callers = {f["name"]: f["value"] for f in got["frames"] if f["side"] == "caller" and f["depth"] == 1}
        callees = {f["name"]: f["value"] for f in got["frames"] if f["side"] == "callee" and f["depth"] == 1}
        assert callers == _peek(bad, MANY, "caller") and callees == _peek(bad, MANY, "callee")
        py = sandwich(bad, function=MANY)
        assert sorted((f["side"], f["depth"], f["name"], f["value"]) for f in got["frames"]) == sorted(
            (r.side, r.depth, r.name, int(r.total)) for r in py.itertuples())
        # clicking a caller re-centres on it; Close hides the view
        first = next(f["name"] for f in got["frames"] if f["side"] == "caller" and f["depth"] == 1)
        page.locator(f'svg.pk-sw-frame[data-side="caller"][data-name="{first}"]').first.dispatch_event("click")
        assert _sw(page)["fn"] == first
        page.click("button.pk-sandwich-close")
        assert page.locator("div.pk-sandwich").is_hidden()
        assert page.console_errors == [] and page.foreign_requests() == []


@pytest.mark.slow
def test_sandwich_opened_from_python(bad, tmp_path):
    from browser import open_page
    path = tmp_path / "flame.html"
    interactive_flame(bad, sandwich=FN).save(path)
    with open_page(path) as page:
        got = _sw(page)
        assert got["fn"] == FN and page.locator("div.pk-sandwich").is_visible()
        assert any(f["side"] == "caller" and f["name"] == "math/big.nat.expNNMontgomery" for f in got["frames"])
        assert page.console_errors == []


def test_sandwich_hooks_in_the_html(bad, fleet_dir):
    page = interactive_flame(bad, sandwich=FN).html_page()
    assert 'class="pk-flame-sandwich"' in page and 'class="pk-sandwich"' in page and f'"sandwich":"{FN}"' in page
    normal = perfkit.read_profile(fleet_dir / "pprof-normal" / "profile")
    assert '<button class="pk-flame-sandwich"' not in perfkit.interactive_diff_flame(normal, bad).html_page()


@pytest.mark.slow
def test_sandwich_of_an_inverted_graph(bad, tmp_path):
    from browser import open_page
    path = tmp_path / "inverted.html"
    interactive_flame(bad, inverted=True, min_fraction=0, sandwich=FN).save(path)
    with open_page(path) as page:
        got = _sw(page)
        assert got["total"] == _cum(bad, FN)[0]
        callers = {f["name"]: f["value"] for f in got["frames"] if f["side"] == "caller" and f["depth"] == 1}
        callees = {f["name"]: f["value"] for f in got["frames"] if f["side"] == "callee" and f["depth"] == 1}
        assert callers == _peek(bad, FN, "caller") and callees == _peek(bad, FN, "callee")
        assert page.console_errors == []
