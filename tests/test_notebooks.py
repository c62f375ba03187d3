"""House rules for the committed notebooks: narrative plus perfkit calls."""
from __future__ import annotations

import ast

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_rules(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters' (papermill convention)"
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, "outputs must be stripped in git"
        tree = ast.parse(c.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                              ast.ClassDef, ast.Lambda))]
        assert not defs, f"helper code belongs in perfkit, not in the notebook: {c.source[:80]!r}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


def test_fleet_notebook_exists():
    assert (ROOT / "notebooks" / "01-fleet-high-cpu.ipynb").exists()
