"""The `perfkit` command line.

Built-in commands live in this package (profiles, graphs, traces). Other packages add commands through
the entry-point group ``perfkit.cli``: each entry loads to a ``register(subparsers)`` function.
"""
from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from .. import __version__
from ..errors import PerfkitError
from . import graphs, profiles, traces, triage

PLUGIN_GROUP = "perfkit.cli"


def _single_line(text: str) -> str:
    return " ".join(str(text).split())


def register_plugins(sub, group: str = PLUGIN_GROUP) -> None:
    """Let every installed plugin add its commands; a plugin that fails is reported, not fatal."""
    for ep in entry_points(group=group):
        try:
            ep.load()(sub)
        except Exception as e:          # a broken plugin must not take the built-in commands down
            print(f"perfkit: warning: plugin {ep.name!r} ({ep.value}) not loaded: "
                  f"{type(e).__name__}: {_single_line(e)}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="perfkit", description="Investigate Go profiles, traces and debug archives.")
    ap.add_argument("--version", action="version", version=f"perfkit {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    profiles.add_profile_commands(sub)
    graphs.add_graph_commands(sub)
    traces.add_trace_commands(sub)
    triage.add_triage_command(sub)
    register_plugins(sub)
    return ap


def main(argv=None) -> int:
    """Run one command; every PerfkitError becomes one line on stderr and exit status 1."""
    a = build_parser().parse_args(argv)
    try:
        return a.func(a)
    except PerfkitError as e:
        print(f"perfkit: error: {_single_line(e)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
