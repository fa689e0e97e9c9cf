"""The Flask app under chosen limits, for the tests/abuse/test_limits_* files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.server.conftest import ADMIN

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def limited(store, clock):
    """limited(**limits) -> a test client (admin token) of an app with those limits."""
    from metadata_server.app import create_app
    from metadata_server.engine.limits import Limits
    from metadata_server.service.credentials import token_hash

    apps = []

    def make(**limits):
        app = create_app(store, token_hash(ADMIN), clock=clock, public_url="http://stoker.test",
                         limits=Limits(**limits))
        apps.append(app)
        client = app.test_client()
        client.environ_base["HTTP_X_AUTH_TOKEN"] = ADMIN
        client.app = app
        return client
    yield make
    for app in apps:
        engine = app.extensions.get("stoker-engine")
        if engine is not None:
            engine.close()


def create(client, template, name="s", tenant="t1", **body):
    return client.post(f"/v1/{tenant}/stacks", json={"stack_name": name, "template": template,
                                                      **body})


def wait(client, stack_id):
    return client.app.extensions["stoker-engine"].wait(stack_id, 30)


def refused(response, kind="RequestLimitExceeded") -> str:
    """The 400 error message, after checking the status and Heat's error type."""
    assert response.status_code == 400, (response.status_code, response.json)
    assert response.json["error"]["type"] == kind, response.json
    return response.json["error"]["message"]


def stored_stacks(client, tenant="t1") -> list:
    engine = client.app.extensions.get("stoker-engine")
    if engine is None:
        return []
    return engine.stacks.list_stacks(tenant, show_nested=True, show_deleted=True)


def peak_growth(code: str) -> dict:
    """Run `code` in a fresh interpreter after importing the engine; return its
    {"grew_kb": peak RSS growth, "out": what `code` left in `out`}."""
    script = textwrap.dedent("""
        import json, resource, sys
        from metadata_server.engine import template as hot
        from metadata_server.engine.template.loader import load_document
        import yaml
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = None
        """) + textwrap.dedent(code) + textwrap.dedent("""
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"grew_kb": after - before, "out": out}))
        """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
