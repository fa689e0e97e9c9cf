"""POLL_SERVER_HEAT and HEAT_SIGNAL end to end, with no keystone but stoker's own /v3.

A real `stoker server` runs a stack whose server polls with the `heat` collector and whose
deployment signals with HEAT_SIGNAL. Upstream os-collect-config (from PyPI: python-keystoneclient
and python-heatclient inside) reads the server's metadata with the os_collect_config settings
the stack hands out; a real `stoker agent` (its one keystone client for the collector and the
signal) configured the same way runs the deployment, and the stack completes.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest
import requests

from cli.processes import Process, child_env, start_server, stoker_argv
from tests.upstream import require
from tests.waiting import stack_when

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SCRIPT = """#!/bin/sh
printf 'signalled by %s' "$who" > "$heat_outputs_path.result"
"""
TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "vm": {"type": "OS::Heat::DeployedServer",
               "properties": {"software_config_transport": "POLL_SERVER_HEAT"}},
        "config": {"type": "OS::Heat::SoftwareConfig", "properties": {
            "group": "script", "config": SCRIPT, "inputs": [{"name": "who"}],
            "outputs": [{"name": "result"}]}},
        "deploy": {"type": "OS::Heat::SoftwareDeployment", "properties": {
            "config": {"get_resource": "config"}, "server": {"get_resource": "vm"},
            "input_values": {"who": "HEAT_SIGNAL"}, "signal_transport": "HEAT_SIGNAL"}},
    },
    "outputs": {"occ": {"value": {"get_attr": ["vm", "os_collect_config"]}},
                "result": {"value": {"get_attr": ["deploy", "result"]}}},
}


def _heat_conf(root: Path, heat: dict, polling_interval: float = 1) -> Path:
    """os-collect-config.conf as heat-config's template renders it from os_collect_config."""
    path = root / "etc" / "os-collect-config.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = ("auth_url", "user_id", "password", "project_id", "stack_id", "resource_name")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"[DEFAULT]\ncollectors = heat\npolling_interval = {polling_interval}\n"
                     f"min_polling_interval = 0.2\n\n[heat]\n"
                     + "".join(f"{k} = {heat[k]}\n" for k in keys))
    return path


def test_heat_collector_and_heat_signal_without_keystone(tmp_path):
    token = secrets.token_hex(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    agent = None
    try:
        response = session.post(f"{base}/v1/t1/stacks", json={"stack_name": "heatpoll",
                                                             "template": TEMPLATE}, timeout=10)
        assert response.status_code == 201, response.text
        url = response.headers["Location"]
        stack = stack_when(session, url, lambda s: any(o["output_key"] == "occ" and o["output_value"]
                                                  for o in s.get("outputs", [])))
        occ = next(o["output_value"] for o in stack["outputs"] if o["output_key"] == "occ")
        assert occ["collectors"] == ["heat", "local"]
        heat = occ["heat"]
        assert heat["auth_url"] == f"{base}/v3"

        # upstream os-collect-config: keystoneclient discovery + password auth, heatclient read
        upstream = require(["os-collect-config"], 180) / "bin" / "os-collect-config"
        conf = _heat_conf(tmp_path / "upstream", heat)
        printed = subprocess.run(
            [str(upstream), "--config-file", str(conf), "--one-time", "--print",
             "--cachedir", str(tmp_path / "upstream-cache"), "heat"],
            capture_output=True, text=True, timeout=120, env=dict(os.environ, LC_ALL="C"))
        assert printed.returncode == 0, printed.stderr[-3000:]
        metadata = json.loads(printed.stdout)["heat"]
        (item,) = metadata["deployments"]
        inputs = {i["name"]: i.get("value") for i in item["inputs"]}
        assert inputs["deploy_signal_transport"] == "HEAT_SIGNAL"
        assert inputs["deploy_auth_url"] == f"{base}/v3"
        assert heat["password"] not in printed.stderr

        # stoker's agent, configured the same way, runs the deployment and signals HEAT_SIGNAL
        root = tmp_path / "root"
        _heat_conf(root, heat)
        agent = Process("agent", stoker_argv("agent", "--root", str(root)),
                        tmp_path / "agent.log", child_env())
        stack = stack_when(session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS", 90)
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
        assert outputs["result"] == "signalled by HEAT_SIGNAL"
    finally:
        if agent is not None:
            assert agent.stop() == 0
            log = agent.log()
            assert "Traceback" not in log
        assert server.stop() == 0
    server_log = server.log()
    assert "Traceback" not in server_log
    assert heat["password"] not in server_log and inputs["deploy_password"] not in server_log
