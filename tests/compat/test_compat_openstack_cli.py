"""The `openstack` CLI (python-openstackclient + python-heatclient, from PyPI at test time) against
a real stoker server with `--os-auth-type admin_token`, as an operator would point it at Heat."""
from __future__ import annotations

import json
import secrets
import subprocess

import pytest
import requests

from cli.processes import start_server



@pytest.fixture
def stoker(tmp_path):
    token = secrets.token_hex(16)
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    yield base, token
    process.stop()


@pytest.mark.timeout(300)
def test_openstack_cli_reads_configs_deployments_and_metadata(openstack_cli, stoker):
    base, token = stoker
    endpoint = f"{base}/v1/proj"
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    config = session.post(f"{endpoint}/software_configs", json={
        "name": "c1", "group": "script", "config": "#!/bin/sh\necho hi\n",
        "outputs": [{"name": "result"}]}).json()["software_config"]
    deployment = session.post(f"{endpoint}/software_deployments", json={
        "config_id": config["id"], "server_id": "srv-1", "signal_transport": "NO_SIGNAL",
        "name": "dep1"}).json()["software_deployment"]
    session.put(f"{endpoint}/software_deployments/{deployment['id']}",
                json={"output_values": {"result": "42"}})

    def run(*args: str, formatted: bool = True):
        result = subprocess.run([str(openstack_cli), "--os-auth-type", "admin_token",
                                 "--os-endpoint", endpoint, f"--os-token={token}", *args,
                                 *(["-f", "json"] if formatted else [])],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if formatted else result.stdout

    # the source config and the one stoker derived for the deployment
    assert config["id"] in [c["id"] for c in run("software", "config", "list")]
    assert run("software", "config", "show", config["id"])["group"] == "script"
    listed = run("software", "deployment", "list")
    assert [(d["id"], d["status"]) for d in listed] == [(deployment["id"], "COMPLETE")]
    assert run("software", "deployment", "show", deployment["id"])["server_id"] == "srv-1"
    output = run("software", "deployment", "output", "show", deployment["id"], "result",
                 formatted=False)
    assert "42" in output
    metadata = run("software", "deployment", "metadata", "show", "srv-1", formatted=False)
    assert "deploy_signal_transport" in metadata


@pytest.mark.timeout(300)
def test_openstack_cli_with_a_wrong_token_fails_cleanly(openstack_cli, stoker):
    base, _ = stoker
    result = subprocess.run([str(openstack_cli), "--os-auth-type", "admin_token", "--os-endpoint",
                             f"{base}/v1/proj", "--os-token", "wrong", "software", "config",
                             "list"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "401" in result.stderr or "not valid" in result.stderr
