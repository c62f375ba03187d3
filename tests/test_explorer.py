"""perfkit.explore: the widget's state follows its controls (no browser; see test_lab_browser.py for the UI)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import perfkit
from perfkit.errors import OptionError
from perfkit.views.source import source_lines

pytest.importorskip("ipywidgets")


@pytest.fixture(scope="module")
def archive(fleet_dir):
    return perfkit.load_archive(fleet_dir / "pprof-bad-cpu")


@pytest.fixture()
def ex(archive):
    return perfkit.explore(archive)


def test_import_perfkit_does_not_import_ipywidgets():
    code = "import sys, json, perfkit; print(json.dumps([m for m in ('ipywidgets', 'IPython') if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
    assert "explore" in perfkit.__all__


def test_initial_state_matches_top(ex, archive):
    cpu = archive.cpu
    t = perfkit.top(cpu)
    assert ex.kind.value == "profile" and ex.sample.value == "cpu"
    assert ex.top_frame["name"].tolist() == t["name"].tolist()
    assert ex.selected == t["name"].iloc[0]                  # sorted by flat: the hottest function
    assert ex.table.value.count("<tr data-name=") == min(40, len(t))
    assert f'data-name="{t["name"].iloc[0]}" class="pk-selected"' in ex.table.value
    assert ex.flame_out.outputs[0]["data"]["text/html"].count('class="pk-flame"') == 1
    assert ex.message == ""


def test_focus_updates_table_flame_and_selection(ex, archive):
    before = ex.flame
    ex.regex["focus"].value = "crypto/tls"
    t = perfkit.top(archive.cpu, filters=perfkit.Filters(focus="crypto/tls"))
    assert ex.top_frame["cum"].tolist() == t["cum"].tolist() and ex.top_frame.attrs["total"] == t.attrs["total"]
    kept = int(perfkit.sample_stacks(archive.cpu, filters=perfkit.Filters(focus="crypto/tls"))["value"].sum())
    assert ex.flame is not before and ex.flame.perfkit_data.attrs["grand_total"] == kept < t.attrs["total"]
    assert ex.selected in set(t["name"])


def test_bad_regex_is_a_message_not_a_traceback(ex):
    table = ex.table.value
    ex.regex["ignore"].value = "(unclosed"
    assert "bad ignore regexp" in ex.message and "pk-explore-err" in ex.msg.value
    assert ex.table.value == table                          # the last good state stays
    ex.regex["ignore"].value = ""
    assert ex.message == "" and ex.msg.value == ""
    ex.regex["focus"].value = "no.such.function.anywhere"
    assert "no samples" in ex.message


def test_select_shows_peek_and_sandwich(ex, archive):
    fn = "runtime.mallocgc"
    ex.function.value = fn
    assert ex.selected == fn
    pk = perfkit.peek(archive.cpu, regex=r"^runtime\.mallocgc$")
    assert ex.peek_frame.equals(pk)
    callers = pk[pk.relation == "caller"]
    assert ex.peek_html.value.count('class="pk-peek-caller"') == len(callers)
    cum = int(perfkit.top(archive.cpu).set_index("name").loc[fn, "cum"])
    assert int(ex.sandwich_frame.loc[0, "total"]) == cum
    html = ex.sandwich_out.outputs[0]["data"]["text/html"]
    assert '"sandwich":"runtime.mallocgc"' in html


def test_sort_and_sample_and_kind(ex, archive):
    ex.sort.value = "cum"
    first = ex.table.value.split("<tr data-name=\"", 1)[1].split('"', 1)[0]
    t = perfkit.top(archive.cpu)
    assert first == t.loc[t["cum"].abs().idxmax(), "name"]
    ex.sample.value = "samples"
    assert ex.top_frame.attrs["unit"] == "count"
    ex.kind.value = "heap"
    assert ex.sample.value == archive["heap"].sample_types[-1].type
    assert ex.top_frame["name"].tolist() == perfkit.top(archive["heap"])["name"].tolist()
    ex.granularity.value = "packages"
    assert ex.sandwich_frame is None and ex.top_frame["name"].tolist() == \
        perfkit.top(archive["heap"], granularity="packages")["name"].tolist()


def test_source_lines_read_from_local_files(archive, go_bin):
    goroot = Path(subprocess.run([go_bin, "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
    fn = "runtime.mallocgc"
    src = source_lines(archive.cpu, function=fn, source_dirs=[goroot], hottest=3, context=1)
    lines = perfkit.top(archive.cpu, granularity="lines")
    mine = lines[lines["name"].str.startswith(fn + " ")].sort_values("cum", ascending=False).head(3)
    hot = src[src["hot"]]
    assert sorted(hot["cum"].tolist(), reverse=True) == mine["cum"].tolist()
    for r in src.itertuples():   # each text is that line of the local copy of the file
        local = goroot / "src" / r.file.split("/src/", 1)[1]
        assert r.text == local.read_text().splitlines()[r.line - 1]
    assert len(src) >= len(hot) and src.attrs["missing"] == []
    assert source_lines(archive.cpu, function=fn).attrs["missing"]   # the Darwin paths do not exist here
    ex = perfkit.explore(archive, source_dirs=[goroot])
    ex.select(fn)
    assert 'class="pk-explore-source"' in ex.peek_html.value


def test_explore_bad_input(archive, tmp_path):
    with pytest.raises(OptionError):
        perfkit.explore(archive, colour="red")
    with pytest.raises(OptionError, match="granularity"):
        perfkit.explore(archive, granularity="bytes")
    with pytest.raises(OptionError, match="no profile 'nope'"):
        perfkit.explore(archive, kind="nope")
    with pytest.raises(OptionError):
        perfkit.explore(42)
    with pytest.raises(OptionError, match="load it first"):
        perfkit.explore(str(archive.source))
    e = perfkit.explore(archive, kind="heap")
    assert e.kind.value == "heap"
    assert perfkit.explore(archive.cpu).kind.options == ("profile",)
