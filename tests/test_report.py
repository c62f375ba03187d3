"""perfkit.report: executing notebooks (papermill) and exporting HTML / markdown / index.

The notebook-executing tests use tests/data/notebooks/demo.ipynb (a few seconds
per execution); the registered notebooks (notebooks/01-*.ipynb, ...) are built
and opened in Chromium too when they exist.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import perfkit
from perfkit.report import (Report, build_report, build_reports, external_references, load_config, report_command,
                            resolve_path_parameters, select_reports)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "notebooks" / "reports.toml"
REPORTS, CONFIG_ROOT = load_config(CONFIG)
DEMO = ROOT / "tests" / "data" / "notebooks" / "demo.ipynb"
ENV_VAR = "PERFKIT_FLEET_ARCHIVES"
ARCHIVE_NAMES = ("pprof-normal", "pprof-bad-cpu")
EXTERNAL = re.compile(r"""<(\w+)\b[^>]*?\b(?:src|href|srcset|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)

pytestmark = pytest.mark.timeout(300)


def demo_report(**kw) -> Report:
    return Report(notebook=str(DEMO), name="demo", markdown="perf.md", title="Demo report", **kw)


def fleet_like(tmp: Path) -> Report:
    """A report needing archives that are nowhere: the fleet report's candidates, with an empty
    PERFKIT_FLEET_ARCHIVES and a root that has no data/fleet and no ../shared."""
    fleet = REPORTS[0]
    return Report(notebook=str(DEMO), name="fleet-like", title="Needs the archives",
                  path_parameters={"archives": fleet.path_parameters["normal_archive"]},
                  path_hint=fleet.path_hint)


def nowhere(tmp: Path) -> tuple[Path, dict]:
    empty = tmp / "empty-archives"
    empty.mkdir(exist_ok=True)
    root = tmp / "nowhere" / "repo"
    root.mkdir(parents=True, exist_ok=True)
    return root, {ENV_VAR: str(empty)}


def registry(tmp: Path) -> list[Report]:
    return [
        fleet_like(tmp),
        demo_report(),
        Report(notebook=str(tmp / "does-not-exist.ipynb"), name="later", title="Not written yet"),
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory, fleet_dir):
    tmp = tmp_path_factory.mktemp("report")
    out = tmp / "reports"
    params = {"profile_path": str(fleet_dir / "pprof-bad-cpu" / "profile")}
    root, env = nowhere(tmp)
    lines = []
    results = build_reports(registry(tmp), out, parameters=params, root=root, environ=env, echo=lines.append)
    return {"tmp": tmp, "out": out, "results": results, "lines": lines, "params": params, "root": root,
            "env": env}


def _html(built) -> str:
    return (built["out"] / "demo.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- path parameters
def _archives(d: Path) -> Path:
    for n in ARCHIVE_NAMES:
        (d / n).mkdir(parents=True)
    return d


def test_archive_candidates_in_order(tmp_path):
    fleet = REPORTS[0]
    root = tmp_path / "clone" / "repo"
    root.mkdir(parents=True)
    empty = tmp_path / "empty"
    empty.mkdir()

    def found(environ):
        r = resolve_path_parameters(fleet, root, environ=environ)
        return None if r.missing else Path(r.found["bad_archive"]).parent

    assert found({}) is None
    shared = _archives(tmp_path / "clone" / "shared" / "fleet-debug-archives")
    assert found({}) == shared.resolve()
    data = _archives(root / "data" / "fleet")
    assert found({}) == data.resolve()
    # a variable pointing at an empty directory falls through to the next candidate
    assert found({ENV_VAR: str(empty)}) == data.resolve()
    env = _archives(tmp_path / "mine")
    assert found({ENV_VAR: str(env)}) == env.resolve()


def test_tar_gz_archives_count(tmp_path):
    (tmp_path / "pprof-normal").mkdir()
    (tmp_path / "pprof-bad-cpu.tar.gz").write_bytes(b"")
    r = resolve_path_parameters(REPORTS[0], tmp_path / "r", environ={ENV_VAR: str(tmp_path)})
    assert r.missing is None
    assert r.found == {"normal_archive": str(tmp_path / "pprof-normal"),
                       "bad_archive": str(tmp_path / "pprof-bad-cpu.tar.gz")}


def test_missing_archives_one_clear_message(tmp_path):
    root, env = nowhere(tmp_path)
    r = resolve_path_parameters(REPORTS[0], root, environ=env)
    assert r.found == {}
    msg = r.missing
    assert "\n" not in msg
    assert ENV_VAR in msg and "data/fleet" in msg and "shared/fleet-debug-archives" in msg
    assert "empty-archives" in msg                 # says where the variable pointed
    assert "--param" in msg and "normal_archive" in msg and "bad_archive" in msg
    unset = resolve_path_parameters(REPORTS[0], root, environ={}).missing
    assert f"{ENV_VAR} not set" in unset
    # a parameter given by the caller is not looked up
    given = resolve_path_parameters(REPORTS[0], root, environ=env,
                                    given={"normal_archive": "x", "bad_archive": "y"})
    assert given.missing is None and given.found == {}


def test_config_registry():
    names = [r.name for r in REPORTS]
    assert names[:2] == ["fleet-high-cpu", "wordgame"]
    fleet = REPORTS[0]
    assert CONFIG_ROOT == ROOT
    assert fleet.markdown == "perf.md" and fleet.html == "fleet-high-cpu.html"
    assert Path(fleet.notebook) == ROOT / "notebooks" / "01-fleet-high-cpu.ipynb"
    assert REPORTS[1].ci_parameters == {"short": True}
    assert select_reports(["fleet-high-cpu"], REPORTS) == [fleet]
    assert select_reports(["01-fleet-high-cpu"], REPORTS) == [fleet]
    with pytest.raises(perfkit.PerfkitError, match="no such report"):
        select_reports(["nope"], REPORTS)


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[report]]\nname = "x"\nnotebook = "x.ipynb"\ncolour = "red"\n')
    with pytest.raises(perfkit.PerfkitError, match="unknown keys: colour"):
        load_config(bad)
    bad.write_text('[[report]]\nname = "x"\n')
    with pytest.raises(perfkit.PerfkitError, match="needs a notebook"):
        load_config(bad)
    bad.write_text('[[report]\n')
    with pytest.raises(perfkit.PerfkitError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(perfkit.PerfkitError, match="cannot read"):
        load_config(tmp_path / "none.toml")


def test_cli_errors(capsys):
    assert report_command(["--config", str(CONFIG), "--only", "nope"]) == 2
    assert "no such report" in capsys.readouterr().err
    assert report_command(["--config", str(CONFIG), "--param", "novalue", "--only", "wordgame"]) == 2
    r = subprocess.run([sys.executable, "-m", "perfkit.report", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--only" in r.stdout and "--param" in r.stdout and "--config" in r.stdout


# ---------------------------------------------------------------- demo build
def test_build_statuses_and_lines(built):
    st = {r.report.name: r for r in built["results"]}
    assert st["demo"].status == "built", st["demo"].message
    assert st["fleet-like"].status == "skipped"
    assert ENV_VAR in st["fleet-like"].message and "data/fleet" in st["fleet-like"].message
    assert st["later"].status == "skipped" and "does not exist" in st["later"].message
    lines = built["lines"]
    assert len(lines) == 4 and lines[-1].startswith("index")
    assert re.match(r"built\s+demo\s+\S+demo\.html \(\d+\.\d s\)$", lines[1]), lines[1]
    assert not (built["out"] / "fleet-like.html").exists()
    # the committed notebook is untouched, the executed copy lives in _executed/
    assert nbformat.read(str(DEMO), as_version=4).cells[1].outputs == []
    assert (built["out"] / "_executed" / "demo.ipynb").is_file()


def test_html_self_contained_toc_hidden_code(built):
    page = _html(built)
    assert page.startswith("<!DOCTYPE html>")
    bad = [m.group(0) for m in EXTERNAL.finditer(page) if m.group(1).lower() != "a"]
    assert bad == [] and external_references(page) == []
    assert "cdnjs" not in page and "require.js" not in page.lower() and "mathjax" not in page.lower()
    assert "Content-Security-Policy" in page
    # table of contents with anchors for h1-h3
    toc = re.search(r'<nav id="pk-toc".*?</nav>', page, re.S).group(0)
    for anchor in ("Demo-report", "A-figure", "Interactive-flame-graph", "Click-a-frame-to-zoom", "Findings"):
        assert f'href="#{anchor}"' in toc and f'id="{anchor}"' in page
    assert page.index('id="pk-toc"') < page.index("<main")
    # code hidden by default, with a toggle
    assert re.search(r'<body[^>]*class="[^"]*\bpk-hide-code\b', page)
    assert 'id="pk-toggle-code"' in page and "Show code" in page
    assert "body.pk-hide-code .jp-CodeCell .jp-Cell-inputWrapper{display:none}" in page
    # hidden cells are gone, the others are there
    assert "HIDDEN_ASSERT_MARKER" not in page
    assert "profile_path" in page                       # the code is still in the page (toggle)
    assert 'class="pk-flame"' in page and "svg" in page
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)
    assert "<strong>Finding:</strong>" in page
    # deterministic ids for rebuilds
    assert "pkflame-0000000000000000" in page


def test_markdown_images_next_to_it(built):
    out = built["out"]
    md = (out / "perf.md").read_text(encoding="utf-8")
    assert "<script" not in md.lower()
    assert "HIDDEN_ASSERT_MARKER" not in md and "profile_path" not in md          # no code
    assert "pk-flame" not in md                                                  # html-only cell removed
    assert "# Demo report" in md and "**Finding:** cores used = " in md
    imgs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert imgs and all(i.startswith("perf_files/") for i in imgs)
    for i in imgs:
        data = (out / i).read_bytes()
        assert data.startswith(b"\x89PNG")
    assert sorted(p.name for p in (out / "perf_files").iterdir()) == sorted(Path(i).name for i in imgs)


def test_index_links(built):
    page = (built["out"] / "index.html").read_text(encoding="utf-8")
    assert '<a href="demo.html">' in page and '<a href="perf.md">' in page
    assert "Needs the archives" in page and "skipped" in page and ENV_VAR in page
    assert "Not written yet" in page and "does not exist" in page
    assert re.search(r"Built <time datetime=\"\d{4}-\d\d-\d\dT", page)
    assert not EXTERNAL.search(page)


def _snapshot(out: Path) -> dict[str, bytes]:
    snap = {}
    for p in sorted(out.rglob("*")):
        if p.is_file() and "_executed" not in p.parts:
            data = p.read_bytes()
            if p.name == "index.html":
                data = re.sub(rb"<time[^>]*>.*?</time>", b"<time/>", data)
                data = re.sub(rb"built in \d+\.\d s", b"built in N s", data)
            snap[str(p.relative_to(out))] = data
    return snap


def test_idempotent_rebuild(built):
    out = built["out"]
    before = _snapshot(out)
    stale = out / "perf_files" / "stale_from_an_old_build.png"
    stale.write_bytes(b"old")
    foreign = out / "someone-elses.txt"
    foreign.write_text("keep me")
    results = build_reports(registry(built["tmp"]), out, parameters=built["params"], root=built["root"],
                            environ=built["env"])
    assert [r.status for r in results] == ["skipped", "built", "skipped"]
    assert not stale.exists()                      # stale files in perf_files/ are removed
    assert foreign.read_text() == "keep me"        # nothing else is touched
    foreign.unlink()
    after = _snapshot(out)
    assert sorted(after) == sorted(before)
    for k in before:
        assert after[k] == before[k], k
    assert not [p for p in out.rglob(".*") if p.is_file()]        # no temp files left behind


# ---------------------------------------------------------------- failures
def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_failing_cell_is_named(tmp_path):
    nb = _notebook(tmp_path / "boom.ipynb", "x = 1", "raise ValueError('the claim does not hold')")
    r = build_report(Report(notebook=str(nb), name="boom", title="boom"), tmp_path / "out")
    assert r.status == "failed"
    assert "cell index 2 (In [2])" in r.message and "ValueError: the claim does not hold" in r.message
    assert "raise ValueError" in r.message
    assert not (tmp_path / "out" / "boom.html").exists()


def test_warnings_in_output_fail(tmp_path):
    nb = _notebook(tmp_path / "warn.ipynb", "import warnings\nwarnings.warn('careful: deprecated thing')")
    r = build_report(Report(notebook=str(nb), name="warn", title="warn"), tmp_path / "out")
    assert r.status == "failed" and "Warning" in r.message and "careful" in r.message


def test_cli_exit_status_on_failure(tmp_path):
    _notebook(tmp_path / "boom.ipynb", "1/0")
    cfg = tmp_path / "reports.toml"
    cfg.write_text('[[report]]\nname = "boom"\nnotebook = "boom.ipynb"\n')
    assert report_command(["--config", str(cfg)]) == 1
    assert "ZeroDivisionError" in (tmp_path / "reports" / "index.html").read_text()


# ---------------------------------------------------------------- browser
def _flame_click(page, container="div.pk-flame"):
    """Click a mid-sized frame of the first flame graph; return (frame width, svg width)."""
    graph = page.locator(container).first
    svg_w = graph.locator("svg.pk-flame-svg").bounding_box()["width"]
    row = page.evaluate("""([sel, w]) => {
        const g = document.querySelector(sel);
        let best = null, bw = 0;
        for (const f of g.querySelectorAll('svg.pk-frame[data-i]:not([data-root])')) {
            const r = f.querySelector('rect').getBoundingClientRect();
            if (r.width > 20 && r.width < 0.6 * w && r.width > bw) { best = f.dataset.i; bw = r.width; }
        }
        return best;
    }""", [container, svg_w])
    assert row is not None
    rect = graph.locator(f'svg.pk-frame[data-i="{row}"] > rect')
    before = rect.bounding_box()["width"]
    rect.click()
    return before, rect.bounding_box()["width"], svg_w


def test_browser_demo_report(built):
    from browser import open_page
    with open_page(built["out"] / "demo.html") as page:
        code = page.locator(".jp-CodeCell .jp-Cell-inputWrapper").first
        button = page.locator("#pk-toggle-code")
        assert code.is_hidden() and button.text_content() == "Show code"
        button.click()
        assert code.is_visible() and button.text_content() == "Hide code"
        button.click()
        assert code.is_hidden()
        assert page.locator("#pk-toc a").count() == 5
        before, after, svg_w = _flame_click(page)
        assert before < 0.7 * svg_w and after == pytest.approx(svg_w, rel=0.02)
        assert page.console_errors == []
        assert page.foreign_requests() == [], page.requests
    with open_page(built["out"] / "index.html") as page:
        assert page.locator('a[href="demo.html"]').count() == 1
        assert page.console_errors == [] and page.foreign_requests() == []


# ---------------------------------------------------------------- the real notebooks
# the reports that drive live servers and measure them run alone (`make test`'s serial part)
LIVE_REPORTS = {"wordgame", "tls-lab"}


@pytest.mark.slow
@pytest.mark.parametrize("report", [pytest.param(r, marks=[pytest.mark.serial] if r.name in LIVE_REPORTS else [])
                                    for r in REPORTS], ids=lambda r: r.name)
def test_registered_report_builds(report, tmp_path, fleet_dir):
    if not Path(report.notebook).is_file():
        pytest.skip(f"{report.notebook} does not exist yet")
    r = build_report(report, tmp_path, root=CONFIG_ROOT, ci=True)
    assert r.status == "built", r.message
    page = (tmp_path / report.html).read_text(encoding="utf-8")
    assert external_references(page) == []
    if report.markdown:
        assert "<script" not in (tmp_path / report.markdown).read_text(encoding="utf-8").lower()
    if 'class="pk-flame"' in page:
        from browser import open_page
        with open_page(tmp_path / report.html) as p:
            before, after, svg_w = _flame_click(p)
            assert after == pytest.approx(svg_w, rel=0.02)
            assert p.console_errors == []
            assert p.foreign_requests() == [], p.requests
    if report.slides:
        _check_deck(tmp_path / report.slides_html, tmp_path / report.slides_pdf)


def _check_deck(deck, pdf):
    """A built deck in Chromium at 1280x720: offline, navigable, every slide inside its box and
    readable (zoomed no lower than 0.45, main slides no lower than 0.6), notes on the main slides,
    a flame graph that zooms on a click; and a handout with one page per slide."""
    from pypdf import PdfReader

    from browser import deck_slides, open_page
    with open_page(deck, width=1280, height=720) as p:
        slides = deck_slides(p)
        main = [s for s in slides if s["main"]]
        assert p.evaluate("Reveal.getTotalSlides()") == len(slides)
        for n in range(1, len(main)):
            p.keyboard.press("ArrowRight")
        assert p.evaluate("Reveal.getIndices().h") == len(main) - 1
        bad = [s for s in slides if s["over"] > 1 or s["fit"] < (0.6 if s["main"] else 0.45)]
        assert bad == [], bad
        assert [s["heading"] for s in main if s["notes"] < 40] == []
        flames = p.locator(".reveal .pk-flame")
        if flames.count():
            idx = p.evaluate("""() => { const f = document.querySelector('.reveal .pk-flame');
                return Reveal.getIndices(f.closest('section')); }""")
            p.evaluate(f"Reveal.slide({idx['h']}, {idx.get('v') or 0})")
            g = p.locator(".reveal section.present:not(.stack) .pk-flame").first
            assert g.get_attribute("data-zoom") == "-1"
            g.locator("svg.pk-frame > rect").nth(3).click(timeout=90000)
            assert g.get_attribute("data-zoom") != "-1"
        assert p.console_errors == [] and p.foreign_requests() == [], p.requests
    assert len(PdfReader(pdf).pages) == len(slides)
