"""Bad input from the wordgame's OpenAPI description (wordgame_lab/openapi.yaml), with schemathesis.

One finding for the whole run: every operation is fuzzed (valid and invalid
bodies, methods, headers); no response may be a 5xx or a dropped connection,
and every response must conform to the spec (status, content type, schema).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import schemathesis
from helpers import finding

pytestmark = pytest.mark.hardening

SPEC = Path(__file__).resolve().parents[1] / "openapi.yaml"


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi import checks as oc
    return [not_a_server_error, oc.status_code_conformance, oc.content_type_conformance,
            oc.response_schema_conformance]


def test_schemathesis_no_5xx_and_conforms(target):
    schema = schemathesis.openapi.from_path(SPEC)
    checks = _checks()
    failures = []
    for result in schema.get_all_operations():
        op = result.ok()
        label = f"{op.method.upper()} {op.path}"

        @settings(max_examples=max(10, target.examples * 2), deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case):
            case.call_and_validate(base_url=target.url, checks=checks, timeout=5)
        try:
            run()
        except BaseException as e:                  # noqa: BLE001 - FailureGroup is a BaseExceptionGroup
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            subs = getattr(e, "exceptions", None) or [e]
            titles = sorted({str(getattr(x, "title", "") or f"{type(x).__name__}: {str(x)[:80]}") for x in subs})
            failures.append(f"{label}: " + ", ".join(titles))
    if failures:
        finding(f"schemathesis: {len(failures)} operation(s) fail: " + " | ".join(failures))
