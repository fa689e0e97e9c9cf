"""Upstream heat-config-notify (heat-agents' sdist from PyPI, run with python-keystoneclient and
python-heatclient) signals a HEAT_SIGNAL deployment through stoker's /v3 and stack route."""
from __future__ import annotations

import json
import secrets
import subprocess

import pytest
import requests

from cli.processes import start_server
from tests.upstream import require, require_sdist
from tests.waiting import stack_when, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "vm": {"type": "OS::Heat::DeployedServer"},
        "config": {"type": "OS::Heat::SoftwareConfig", "properties": {
            "group": "script", "config": "#!/bin/sh\n", "outputs": [{"name": "result"}]}},
        "deploy": {"type": "OS::Heat::SoftwareDeployment", "properties": {
            "config": {"get_resource": "config"}, "server": {"get_resource": "vm"},
            "signal_transport": "HEAT_SIGNAL"}},
    },
    "outputs": {"vm": {"value": {"get_resource": "vm"}},
                "result": {"value": {"get_attr": ["deploy", "result"]}},
                "stdout": {"value": {"get_attr": ["deploy", "deploy_stdout"]}}},
}


def test_heat_config_notify_signals_with_heat_signal(tmp_path):
    python = require(["os-collect-config"], 180) / "bin" / "python"  # keystoneclient, heatclient
    notify = require_sdist("heat-agents") / "heat-config" / "bin" / "heat-config-notify"
    token = secrets.token_hex(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    try:
        response = session.post(f"{base}/v1/t1/stacks", json={"stack_name": "notify",
                                                             "template": TEMPLATE}, timeout=10)
        assert response.status_code == 201, response.text
        stack_url = response.headers["Location"]
        # the server's id once it exists (before that get_resource gives the resource's name)
        vm = until(lambda: session.get(f"{stack_url}/resources/vm", timeout=10).json()
                   .get("resource", {}).get("physical_resource_id"), 60, "the server's id")
        (item,) = until(lambda: session.get(f"{base}/v1/t1/software_deployments/metadata/{vm}",
                                            timeout=10).json()["metadata"], 30, "its deployment")
        config = tmp_path / "deploy.json"
        config.write_text(json.dumps(item))
        result = {"deploy_stdout": "configured", "deploy_stderr": "", "deploy_status_code": 0,
                  "result": "from heat-config-notify"}
        done = subprocess.run([str(python), str(notify), str(config)], input=json.dumps(result),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        stack = stack_when(session, stack_url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS")
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
        assert outputs["result"] == "from heat-config-notify"
        assert outputs["stdout"] == "configured"
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()
