"""The generic triage report: perfkit.report.triage_report runs the packaged triage notebook on any archive.

On the Fleet pair it writes one self-contained offline HTML page holding every finding's title (opened in
headless Chromium: no console errors, no network requests); on an archive with no trace and no CPU profile,
only empty block/mutex profiles and a few others, it still builds and says what it could not check.
"""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

import perfkit
from perfkit import analysis
from perfkit.report import external_references, load_config, triage_notebook, triage_report

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.timeout(300)


def _text(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_one_source_for_the_triage_notebook():
    """notebooks/00-triage.ipynb is the packaged notebook, byte for byte; the package data ships it."""
    packaged = triage_notebook()
    assert packaged.is_file() and packaged.parent.name == "notebooks"
    assert (ROOT / "notebooks" / "00-triage.ipynb").read_bytes() == packaged.read_bytes()
    import tomllib
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "notebooks/*.ipynb" in data["tool"]["setuptools"]["package-data"]["perfkit.report"]


def test_make_report_builds_the_fleet_triage():
    registry, _ = load_config(ROOT / "notebooks" / "reports.toml")
    rep = next(r for r in registry if r.name == "triage-fleet")
    assert Path(rep.notebook) == ROOT / "notebooks" / "00-triage.ipynb"
    assert set(rep.path_parameters) == {"archive", "baseline"}
    assert rep.path_parameters["archive"][-1].endswith("pprof-bad-cpu")
    assert rep.path_parameters["baseline"][-1].endswith("pprof-normal")


def test_missing_archive_is_one_clear_error(tmp_path):
    with pytest.raises(perfkit.ArchiveError, match="no such file"):
        triage_report(tmp_path / "nope", None, tmp_path / "r.html", quiet=True)
    assert not (tmp_path / "r.html").exists()


@pytest.fixture(scope="module")
def fleet_report(tmp_path_factory, fleet_dir):
    out = tmp_path_factory.mktemp("triage") / "sub" / "fleet.html"
    path = triage_report(fleet_dir / "pprof-bad-cpu", fleet_dir / "pprof-normal", out, quiet=True)
    return path, analysis.triage(fleet_dir / "pprof-bad-cpu", fleet_dir / "pprof-normal")


@pytest.mark.slow            # executes the triage notebook (10-20 s)
def test_fleet_triage_report_is_self_contained(fleet_report):
    path, tri = fleet_report
    page = path.read_text(encoding="utf-8")
    assert external_references(page) == []
    text = _text(page)
    assert tri.findings, "the Fleet bad archive has findings"
    for f in tri.findings:
        assert f.title in text, f.title
    for section in ("Summary", "Findings", "Where the CPU goes", "Goroutines by wait site", "Heap and allocations",
                    "The runtime trace"):
        assert section in text
    assert page.count('class="pk-flame"') >= 2                # an interactive flame graph and the differential one
    assert page.count("data:image/png;base64") >= len(tri.findings) + 4
    assert "hide-report" not in page and "Traceback" not in page


@pytest.mark.slow            # executes the triage notebook (10-20 s)
def test_fleet_triage_report_in_chromium(fleet_report):
    from browser import open_page
    path, tri = fleet_report
    with open_page(path) as page:
        assert page.locator("#pk-toc a").count() >= 8
        assert page.locator(".pk-flame").count() >= 2
        assert page.console_errors == []
        assert page.foreign_requests() == [], page.requests


@pytest.mark.slow            # executes the triage notebook (10-20 s)
def test_archive_without_trace_or_cpu_still_builds(tmp_path, fleet_dir):
    """Only some members of the bad archive: no `profile`, no `trace`; `block` and `mutex` are empty."""
    part = tmp_path / "partial"
    part.mkdir()
    for name in ("goroutine", "heap", "block", "mutex", "cmdline"):
        shutil.copy(fleet_dir / "pprof-bad-cpu" / name, part / name)
    arch = perfkit.load_archive(part)
    assert arch.trace is None and "profile" not in arch and arch["block"].is_empty and arch["mutex"].is_empty
    out = triage_report(part, None, tmp_path / "partial.html", quiet=True)
    page = out.read_text(encoding="utf-8")
    assert external_references(page) == []
    text = _text(page)
    for f in analysis.triage(part).findings:
        assert f.title in text, f.title
    assert "What this report could not check" in text
    for lacking in ("CPU samples", "a readable runtime trace", "allocation samples", "block profile samples",
                    "mutex profile samples", "a baseline archive"):
        assert f"- {lacking}" in text or lacking in text.split("The archive lacked:", 1)[1], lacking
    assert "holds no runtime trace: no P timeline" in text
    assert "a readable runtime trace" in text
    assert "no cpu samples" in text.lower()


def test_finding_chart_per_kind(fleet_dir, tmp_path):
    """Every kind gets a chart on the Fleet pair; on an archive lacking the input, None and a note saying which."""
    from perfkit.render import finding_chart, finding_chart_note
    bad, normal = perfkit.load_archive(fleet_dir / "pprof-bad-cpu"), perfkit.load_archive(fleet_dir / "pprof-normal")
    part = tmp_path / "goroutines-only"
    part.mkdir()
    shutil.copy(fleet_dir / "pprof-bad-cpu" / "goroutine", part / "goroutine")
    only = perfkit.load_archive(part)
    for kind in analysis.KINDS:
        f = analysis.Finding(kind=kind, severity="info", title=f"a {kind} finding", evidence=(), explanation="",
                             next_step="")
        fig = finding_chart(f, bad, normal)
        if kind == "profiling-disabled":
            assert fig is None and "empty" in finding_chart_note(f, bad, normal)
            continue
        assert fig is not None and len(fig.perfkit_data), kind
        assert finding_chart_note(f, bad, normal) == ""
        alone = finding_chart(f, only)
        note = finding_chart_note(f, only)
        assert (alone is None) == bool(note), kind
        if kind in ("tls-handshakes", "syscall-heavy", "hot-function", "cpu-saturation"):
            assert alone is None and "no" in note, kind
        if kind == "connection-churn":
            creators = fig.perfkit_data.set_index("creator")
            assert creators.loc["net/http.(*Server).Serve", "pprof-bad-cpu"] == pytest.approx(
                analysis.trace_connections(perfkit.trace.read_trace(bad.trace)).accepted_per_s)
            assert creators.loc["net/http.(*Server).Serve", "baseline: pprof-normal"] == 0
        if kind in ("connection-churn", "goroutine-leak"):
            groups = perfkit.goroutine_groups(only["goroutine"], by="where")
            assert alone is not None
            assert alone.perfkit_data["goroutines-only"].tolist() == groups["goroutines"].head(12).tolist()


def test_unreadable_trace_is_left_out(tmp_path, fleet_dir):
    """A truncated trace: readable_traces leaves it out, finding_chart falls back to what the profiles show."""
    from perfkit.render import finding_chart, readable_traces
    part = tmp_path / "truncated"
    part.mkdir()
    for name in ("profile", "goroutine"):
        shutil.copy(fleet_dir / "pprof-bad-cpu" / name, part / name)
    data = (fleet_dir / "pprof-bad-cpu" / "trace").read_bytes()
    (part / "trace").write_bytes(data[: len(data) // 3])
    arch = perfkit.load_archive(part)
    assert arch.trace is not None and readable_traces({"a": arch, "none": None}) == {}
    churn = analysis.Finding(kind="connection-churn", severity="info", title="t", evidence=(), explanation="",
                             next_step="")
    sat = analysis.Finding(kind="cpu-saturation", severity="info", title="t", evidence=(), explanation="",
                           next_step="")
    assert list(finding_chart(churn, arch).perfkit_data.columns) == ["where", "truncated"]
    assert set(finding_chart(sat, arch).perfkit_data["profile"]) == {"truncated"}


@pytest.mark.slow            # executes the triage notebook (10-20 s)
def test_cli_triage_o_writes_the_report(tmp_path, fleet_dir):
    """`perfkit triage ARCHIVE -o report.html`, no baseline: exit 0, the report names every finding and says
    that a differential flame graph needs a baseline."""
    import subprocess
    import sys
    out = tmp_path / "normal.html"
    r = subprocess.run([sys.executable, "-m", "perfkit", "triage", str(fleet_dir / "pprof-normal"), "-o", str(out)],
                       capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stderr
    text = _text(out.read_text(encoding="utf-8"))
    for f in analysis.triage(fleet_dir / "pprof-normal").findings:
        assert f.title in text, f.title
    assert "No differential flame graph: it needs CPU samples in both the archive and a baseline" in text
    bad = subprocess.run([sys.executable, "-m", "perfkit", "triage", str(tmp_path / "nope"), "-o", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "nope" in bad.stderr
