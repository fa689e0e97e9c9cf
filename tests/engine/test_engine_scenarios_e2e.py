"""Whole stacks in the shapes of Heat's software-config examples (script, deploy sequence,
structured config, deployment group, a failing script), each as one fixture file in
scenarios/, run on a real `stoker server` whose local driver makes every OS::Nova::Server a real
`stoker agent` process booted from its SOFTWARE_CONFIG user_data.

A fixture holds `template` (with `{work}` for the case's own directory), optional `parameters`,
and `expect`: `status`, and any of `reason` (the stack's status reason), `outputs` (each key
compared whole), `files` (text under {work}), `json_files` (parsed JSON under {work}) and
`absent` (paths under {work} that must not exist). Every stack is deleted afterwards and the
delete must complete.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import requests
import yaml

from cli.processes import start_server
from tests.waiting import stack_when
from tests.placeholders import fill

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SCENARIOS = Path(__file__).parent / "scenarios"
KEYS = {"template", "parameters", "expect"}
EXPECT_KEYS = {"status", "reason", "outputs", "files", "json_files", "absent"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scenario-server")
    token = secrets.token_urlsafe(16)
    server, base = start_server(tmp / "server", token, tmp / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    yield session, base
    assert server.stop() == 0
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_scenario(path, api, tmp_path):
    case = yaml.safe_load(path.read_text())
    assert set(case) <= KEYS and set(case["expect"]) <= EXPECT_KEYS, f"{path.name}: unknown keys"
    case = fill(case, {"work": str(tmp_path)})
    expect = case["expect"]
    session, base = api
    response = session.post(f"{base}/v1/scenarios/stacks", timeout=10, json={
        # as text, as `openstack stack create -t` reads it; PyYAML made the version a date,
        # which goes back out as the same text and stoker's loader keeps as a string
        "stack_name": path.stem.replace("_", "-"),
        "template": yaml.safe_dump(case["template"], sort_keys=False),
        "parameters": case.get("parameters", {})})
    assert response.status_code == 201, response.text
    url = response.headers["Location"]
    try:
        stack = stack_when(session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS", 90)
        assert stack["stack_status"] == expect["status"], stack["stack_status_reason"]
        if "reason" in expect:
            assert stack["stack_status_reason"] == expect["reason"]
        outputs = {o["output_key"]: o.get("output_value") for o in stack.get("outputs", [])}
        for key, value in expect.get("outputs", {}).items():
            assert outputs.get(key) == value, key
        for name, text in expect.get("files", {}).items():
            assert (tmp_path / name).read_text() == text, name
        for name, data in expect.get("json_files", {}).items():
            assert json.loads((tmp_path / name).read_text()) == data, name
        for name in expect.get("absent", []):
            assert not (tmp_path / name).exists(), name
    finally:
        assert session.delete(url, timeout=10).status_code == 204
        stack = stack_when(session, url, lambda s: s["stack_status"] != "DELETE_IN_PROGRESS", 60)
        assert stack["stack_status"] == "DELETE_COMPLETE", stack["stack_status_reason"]
