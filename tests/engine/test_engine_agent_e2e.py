"""End to end: a stack whose software deployments a real `stoker agent` runs.

A real `stoker server` (with its engine) and a real agent, as processes on loopback. The agent is
configured from the DeployedServer's os_collect_config attribute, as an operator would.
"""
from __future__ import annotations

import secrets

import pytest
import requests

from cli.processes import Process, child_env, start_server, stoker_argv, write_agent_config
from tests.waiting import stack_when

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

SCRIPT = """#!/bin/sh
echo "hello $who"
printf '%s' "$who-done" > "$heat_outputs_path.result"
"""

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "server": {"type": "OS::Heat::DeployedServer",
                   "properties": {"software_config_transport": "POLL_TEMP_URL"}},
        "config": {"type": "OS::Heat::SoftwareConfig", "properties": {
            "group": "script", "config": SCRIPT, "inputs": [{"name": "who"}],
            "outputs": [{"name": "result"}]}},
        "first": {"type": "OS::Heat::SoftwareDeployment", "properties": {
            "config": {"get_resource": "config"}, "server": {"get_resource": "server"},
            "input_values": {"who": "first"}, "signal_transport": "TEMP_URL_SIGNAL"}},
        # chained: runs after `first`, with first's output as its input
        "second": {"type": "OS::Heat::SoftwareDeployment", "properties": {
            "config": {"get_resource": "config"}, "server": {"get_resource": "server"},
            "input_values": {"who": {"get_attr": ["first", "result"]}},
            "signal_transport": "CFN_SIGNAL"}},
    },
    "outputs": {
        "occ": {"value": {"get_attr": ["server", "os_collect_config"]}},
        "stdout": {"value": {"get_attr": ["second", "deploy_stdout"]}},
        "result": {"value": {"get_attr": ["second", "result"]}},
    },
}


def test_stack_with_chained_deployments_run_by_a_real_agent(tmp_path):
    token = secrets.token_urlsafe(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    api = f"{base}/v1/e2e-{secrets.token_hex(4)}"
    agent = None
    try:
        response = session.post(f"{api}/stacks", json={"stack_name": "app", "template": TEMPLATE},
                                timeout=10)
        assert response.status_code == 201, response.text
        url = response.headers["Location"]
        # the server resource is made first; its os_collect_config bootstraps the agent
        stack = stack_when(session, url, lambda s: any(o["output_key"] == "occ" and o["output_value"]
                                                  for o in s.get("outputs", [])))
        occ = next(o["output_value"] for o in stack["outputs"] if o["output_key"] == "occ")
        assert occ["collectors"] == ["request", "local"]
        assert occ["request"]["metadata_url"].startswith(f"{base}/v1/metadata/")
        root = tmp_path / "root"
        write_agent_config(root, occ["watch"])
        agent = Process("agent", stoker_argv("agent", "--root", str(root)),
                        tmp_path / "agent.log", child_env())
        stack = stack_when(session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS")
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
        assert outputs["stdout"] == "hello first-done\n"
        assert outputs["result"] == "first-done-done"
        assert session.delete(url, timeout=10).status_code == 204
        stack_when(session, url, lambda s: s["stack_status"] == "DELETE_COMPLETE")
    finally:
        if agent is not None:
            assert agent.stop() == 0
            assert "Traceback" not in agent.log()
        assert server.stop() == 0
    assert "Traceback" not in server.log()
