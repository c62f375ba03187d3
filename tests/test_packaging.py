"""Packaging checks: pyproject.toml vs environment.yml, the generated
protobuf module, and committed notebooks being output-free."""

from __future__ import annotations

import base64
import difflib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"
PROTO_DIR = ROOT / "lib" / "perfkit" / "proto"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _norm_name(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _req_key(spec: str) -> tuple[str, str, str, str]:
    req = Requirement(spec)
    specifier = ",".join(sorted(str(s) for s in req.specifier))
    return (
        _norm_name(req.name),
        ",".join(sorted(req.extras)),
        specifier,
        str(req.marker or ""),
    )


def _pyproject() -> dict:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)


def _environment() -> dict:
    with ENVIRONMENT.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _env_pip_section(env: dict) -> list[str]:
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one `pip:` subsection"
    return [str(x) for x in sections[0]]


def _env_conda_names(env: dict) -> set[str]:
    return {
        _norm_name(re.split(r"[\s=<>!~]", d, maxsplit=1)[0])
        for d in env["dependencies"]
        if isinstance(d, str)
    }


# (a) -----------------------------------------------------------------------

def test_environment_pip_deps_match_pyproject():
    project = _pyproject()["project"]
    expected = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    # Lines such as `-e .` are pip options, not requirements.
    listed = [r for r in _env_pip_section(_environment()) if not r.lstrip().startswith("-")]

    expected_keys = [_req_key(r) for r in expected]
    listed_keys = [_req_key(r) for r in listed]
    assert len(set(listed_keys)) == len(listed_keys), "duplicate entries in environment.yml pip:"
    assert len(set(expected_keys)) == len(expected_keys), "duplicate entries in pyproject.toml"

    missing = set(expected_keys) - set(listed_keys)
    extra = set(listed_keys) - set(expected_keys)
    assert not missing and not extra, (
        f"environment.yml pip: differs from pyproject.toml\n"
        f"  only in pyproject.toml: {sorted(missing)}\n"
        f"  only in environment.yml: {sorted(extra)}"
    )


def test_pyproject_basics():
    data = _pyproject()
    project = data["project"]
    assert project["name"] == "perfkit"
    assert project["scripts"]["perfkit"] == "perfkit.cli:main"
    assert data["tool"]["setuptools"]["package-dir"] == {"": "lib"}
    assert data["tool"]["setuptools"]["packages"]["find"]["where"] == ["lib"]
    assert data["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]


# (b) -----------------------------------------------------------------------

def test_environment_lists_conda_tools():
    env = _environment()
    assert env["name"] == "perfkit"
    assert "conda-forge" in env["channels"]
    names = _env_conda_names(env)
    for tool in ("python", "go", "graphviz", "pip"):
        assert tool in names, f"environment.yml must list {tool!r} as a conda dependency"


# (c) -----------------------------------------------------------------------

# Each module is imported by path in its own interpreter: both register
# "profile.proto" in protobuf's default descriptor pool, so loading two
# differing versions in one process would fail with a confusing
# "duplicate file name" error instead of a comparison.
_LOAD_DESCRIPTOR = """
import base64, importlib.util, sys
spec = importlib.util.spec_from_file_location(sys.argv[1], sys.argv[2])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
sys.stdout.write(base64.b64encode(mod.DESCRIPTOR.serialized_pb).decode())
"""


def _serialized_descriptor(module_name: str, path: Path) -> bytes:
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_DESCRIPTOR, module_name, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, f"importing {path} failed:\n{out.stderr}"
    return base64.b64decode(out.stdout)


def _describe(serialized: bytes) -> str:
    from google.protobuf import descriptor_pb2, text_format

    fdp = descriptor_pb2.FileDescriptorProto.FromString(serialized)
    return text_format.MessageToString(fdp)


def test_profile_pb2_is_reproducible(tmp_path):
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        pytest.skip("grpc_tools is not importable (pip install grpcio-tools, or `make setup`)")

    committed = PROTO_DIR / "profile_pb2.py"
    assert (PROTO_DIR / "profile.proto").is_file()
    assert committed.is_file()

    gen = subprocess.run(
        [
            sys.executable, "-m", "grpc_tools.protoc",
            f"-I{PROTO_DIR}", f"--python_out={tmp_path}", "profile.proto",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gen.returncode == 0, f"protoc failed:\n{gen.stdout}\n{gen.stderr}"
    regenerated = tmp_path / "profile_pb2.py"
    assert regenerated.is_file()

    want = _serialized_descriptor("profile_pb2_regenerated", regenerated)
    got = _serialized_descriptor("profile_pb2_committed", committed)
    if got != want:
        diff = difflib.unified_diff(
            _describe(got).splitlines(),
            _describe(want).splitlines(),
            "profile_pb2.py (committed)",
            "profile.proto (regenerated)",
            lineterm="",
        )
        pytest.fail(
            "lib/perfkit/proto/profile_pb2.py is stale; regenerate it with\n"
            "  python -m grpc_tools.protoc -I lib/perfkit/proto "
            "--python_out=lib/perfkit/proto profile.proto\n" + "\n".join(diff)
        )


# (d) -----------------------------------------------------------------------

@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_no_outputs(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    dirty = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {i}: has outputs")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {i}: execution_count={cell['execution_count']}")
    assert not dirty, (
        f"{notebook.name} must be committed without outputs "
        f"(jupyter nbconvert --clear-output --inplace {notebook.relative_to(ROOT)}):\n"
        + "\n".join(dirty)
    )
