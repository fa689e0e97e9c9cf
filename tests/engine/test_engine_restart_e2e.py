"""End to end: `stoker server` stops while a real agent runs a deployment; the restarted server
takes the stack over and the deployment is not run again.

The script counts its runs in a file and waits for a gate file, so the server can be stopped
while it runs. The agent's signal finds no server, waits in the agent's outbox, and lands in the
restarted server's store. A server stopped with SIGTERM exits at once and hands its operation
on; a crashed (SIGKILLed) one cannot, but the lock its engine held on a file of the state
directory died with it, so the restarted server knows it is gone without waiting 30 s for its
heartbeat to go stale. Either way the new engine takes the operation over as it starts, resumes
the create, finds the deployment COMPLETE and completes the stack.
"""
from __future__ import annotations

import os
import secrets
import signal

import pytest
import requests

from cli.processes import Process, child_env, start_server, stoker_argv, write_agent_config
from tests.waiting import stack_when, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(110)]

SCRIPT = """#!/bin/sh
echo run >> "$runs"
while [ ! -e "$gate" ]; do sleep 0.1; done
echo "ran for $who"
"""


def _template(runs, gate):
    return {
        "heat_template_version": "2018-08-31",
        "resources": {
            "server": {"type": "OS::Heat::DeployedServer",
                       "properties": {"software_config_transport": "POLL_TEMP_URL"}},
            "config": {"type": "OS::Heat::SoftwareConfig", "properties": {
                "group": "script", "config": SCRIPT,
                "inputs": [{"name": "who"}, {"name": "runs"}, {"name": "gate"}]}},
            "deploy": {"type": "OS::Heat::SoftwareDeployment", "properties": {
                "config": {"get_resource": "config"}, "server": {"get_resource": "server"},
                "input_values": {"who": "once", "runs": str(runs), "gate": str(gate)},
                "signal_transport": "TEMP_URL_SIGNAL"}},
        },
        "outputs": {"occ": {"value": {"get_attr": ["server", "os_collect_config"]}},
                    "stdout": {"value": {"get_attr": ["deploy", "deploy_stdout"]}}},
    }


def _outputs(stack: dict) -> dict:
    return {o["output_key"]: o.get("output_value") for o in stack.get("outputs", [])}


def _created(stack: dict) -> bool:
    """The create has ended (the restarted server finished it; no stale heartbeat is waited
    for, and within the bound the agent's outbox retries too)."""
    return stack["stack_status"] != "CREATE_IN_PROGRESS"


@pytest.mark.parametrize("stop", ["crash", "sigterm"])
def test_restarted_server_takes_over_and_the_deployment_runs_once(tmp_path, stop):
    token = secrets.token_urlsafe(16)
    state, runs, gate = tmp_path / "server", tmp_path / "runs", tmp_path / "gate"
    server, base = start_server(state, token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    agent = restarted = None
    try:
        response = session.post(f"{base}/v1/restart/stacks", timeout=10, json={
            "stack_name": "app", "template": _template(runs, gate)})
        assert response.status_code == 201, response.text
        url = response.headers["Location"]
        stack = stack_when(session, url, lambda s: _outputs(s).get("occ"), 30)
        occ = _outputs(stack)["occ"]
        root = tmp_path / "root"
        write_agent_config(root, occ["watch"])
        agent = Process("agent", stoker_argv("agent", "--root", str(root),
                                             "--signal-retry-max", "2"),
                        tmp_path / "agent.log", child_env())
        until(runs.exists, 30, "the agent to start the deployment")

        if stop == "crash":
            os.killpg(server.proc.pid, signal.SIGKILL)  # nothing is cleaned up
            server.proc.wait()
        else:
            assert server.stop() == 0  # exits on its own, not killed
            assert "handed 1 running stack operation(s) on" in server.log()
        gate.touch()  # the script ends; its signal waits in the agent's outbox
        restarted, again = start_server(state, token, tmp_path / "restarted.log",
                                        None, base.rsplit("//", 1)[1])
        assert again == base
        stack = stack_when(session, url, _created, 40)
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        assert _outputs(stack)["stdout"] == "ran for once\n"
        assert runs.read_text() == "run\n"  # the agent ran it once
        events = session.get(f"{url}/events", timeout=10).json()["events"]
        assert any(e["resource_status_reason"] == "CREATE continued after an engine restart"
                   for e in events)
    finally:
        if agent is not None:
            assert agent.stop() == 0
            assert "Traceback" not in agent.log()
        for process in (server, restarted):
            if process is not None:
                process.stop()
    assert "Traceback" not in (tmp_path / "restarted.log").read_text()
