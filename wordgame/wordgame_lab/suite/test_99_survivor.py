"""Runs after everything else: the target still serves (and, if it has one, is healthy)."""
from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.hardening


def test_target_still_serves_after_the_suite(target, client):
    r = client.new()
    assert r.status == 200, f"POST /new -> {r.status}"
    if target.admin_url:
        assert requests.get(target.admin_url + "/healthz", timeout=5).status_code == 200
