"""End to end: an OS::Nova::Server of the local driver is a real `stoker agent` process that
belongs to the service, not to the worker or node that created it.

Real `stoker server` nodes on one state directory, real keepers and agents: an agent outlives
a gunicorn worker's exit and a node's SIGKILL, the next node adopts it (same process) and it
keeps applying deployments, deleting its server stops it, and with no node left it stops
itself within the grace.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import time

import psutil
import pytest
import requests

from cli.processes import start_server
from tests.waiting import stack_when, until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(120)]

SCRIPT = """#!/bin/sh
echo "hello $who"
printf '%s' "$who-done" > "$heat_outputs_path.result"
"""
CONFIG = {"type": "OS::Heat::SoftwareConfig", "properties": {
    "group": "script", "config": SCRIPT, "inputs": [{"name": "who"}],
    "outputs": [{"name": "result"}]}}
VM_STACK = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "vm": {"type": "OS::Nova::Server", "properties": {
            "flavor": "m1.small", "image": "any", "user_data_format": "SOFTWARE_CONFIG"}},
        "config": CONFIG,
        "deploy": {"type": "OS::Heat::SoftwareDeployment", "properties": {
            "config": {"get_resource": "config"}, "server": {"get_resource": "vm"},
            "input_values": {"who": "vm"}}},
    },
    "outputs": {"result": {"value": {"get_attr": ["deploy", "result"]}},
                "vm": {"value": {"get_resource": "vm"}}},
}
# a later deployment to that server, from a stack of its own
DEPLOY_STACK = {
    "heat_template_version": "2018-08-31",
    "parameters": {"server": {"type": "string"}, "who": {"type": "string"}},
    "resources": {
        "config": CONFIG,
        "deploy": {"type": "OS::Heat::SoftwareDeployment", "properties": {
            "config": {"get_resource": "config"}, "server": {"get_param": "server"},
            "input_values": {"who": {"get_param": "who"}}}},
    },
    "outputs": {"result": {"value": {"get_attr": ["deploy", "result"]}}},
}
LOADED = 30   # seconds a process may take to start or end on a loaded 2-core machine


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.session = base, requests.Session()
        self.session.headers["X-Auth-Token"] = token

    def create(self, name: str, template: dict, **parameters) -> str:
        response = self.session.post(f"{self.base}/v1/local/stacks", timeout=10, json={
            "stack_name": name, "template": template, "parameters": parameters})
        assert response.status_code == 201, response.text
        return response.headers["Location"]

    def outputs_when_created(self, url: str) -> dict:
        stack = stack_when(self.session, url,
                           lambda s: s["stack_status"] != "CREATE_IN_PROGRESS", 60)
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        return {o["output_key"]: o.get("output_value") for o in stack["outputs"]}

    def delete(self, url: str) -> None:
        assert self.session.delete(url, timeout=10).status_code == 204
        stack = stack_when(self.session, url,
                           lambda s: s["stack_status"] != "DELETE_IN_PROGRESS", 60)
        assert stack["stack_status"] == "DELETE_COMPLETE", stack["stack_status_reason"]


def _keeper(root) -> dict:
    return json.loads((root / "keeper.json").read_text())


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_local_driver_server_is_an_agent_process(tmp_path):
    """OS::Nova::Server on the local driver: an agent runs the server's deployments; deleting
    the server stops the agent and removes its root (its credential with it)."""
    token = secrets.token_urlsafe(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    api = Api(base, token)
    try:
        url = api.create("vm", VM_STACK)
        outputs = api.outputs_when_created(url)
        assert outputs["result"] == "vm-done"
        root = tmp_path / "server" / "local-cloud" / "servers" / outputs["vm"]
        assert (root / "var/lib/heat-config/deployed").is_dir()  # the agent's own state dir
        assert "Traceback" not in (root / "agent.log").read_text()
        agent, keeper = _keeper(root)["agent_pid"], _keeper(root)["pid"]
        api.delete(url)
        assert not _running(agent) and not _running(keeper) and not root.exists()
        records = json.loads((tmp_path / "server" / "local-cloud" / "local-cloud.json").read_text())
        assert outputs["vm"] not in records["objects"]
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()


def test_a_killed_node_leaves_its_agent_to_the_next_node_and_no_node_stops_it(tmp_path):
    token = secrets.token_urlsafe(16)
    state = tmp_path / "server"
    node, base = start_server(state, token, tmp_path / "node1.log", None, "127.0.0.1:0",
                              "--local-agent-grace", "60")
    api = Api(base, token)
    restarted = None
    try:
        outputs = api.outputs_when_created(api.create("vm", VM_STACK))
        root = state / "local-cloud" / "servers" / outputs["vm"]
        agent, keeper = _keeper(root)["agent_pid"], _keeper(root)["pid"]

        os.killpg(node.proc.pid, signal.SIGKILL)      # the node and its session, at once
        node.proc.wait()
        assert _running(agent) and _running(keeper)   # not its child: it lives on

        grace = 3.0   # the node that adopts it sets the grace from now on
        restarted, again = start_server(state, token, tmp_path / "node2.log", None,
                                        base.rsplit("//", 1)[1],
                                        "--local-agent-grace", f"{grace:g}")
        assert again == base
        later = api.outputs_when_created(api.create("later", DEPLOY_STACK, server=outputs["vm"],
                                                    who="adopted"))
        assert later["result"] == "adopted-done"      # the same agent applied it
        assert _keeper(root)["agent_pid"] == agent and _keeper(root)["pid"] == keeper

        os.killpg(restarted.proc.pid, signal.SIGKILL)  # now no node lives on this machine
        restarted.proc.wait()
        killed = time.monotonic()
        psutil.Process(keeper).wait(grace + LOADED)
        assert time.monotonic() - killed >= grace - 2.0   # not before the grace (minus a beat)
        until(lambda: not _running(agent), LOADED, "the agent to end with its keeper")
        assert "no node touched nodes.lease for 3 s" in (root / "keeper.log").read_text()
    finally:
        for process in (node, restarted):
            if process is not None:
                process.stop()
    assert "Traceback" not in (tmp_path / "node2.log").read_text()


def test_a_workers_exit_does_not_stop_the_agents_of_its_servers(tmp_path):
    """Under gunicorn each worker has its own driver: a worker that exits (and is replaced)
    leaves the agents it started running, and they go on applying deployments."""
    token = secrets.token_urlsafe(16)
    state = tmp_path / "server"
    node, base = start_server(state, token, tmp_path / "node.log", None, "127.0.0.1:0",
                              "--workers", "1")
    api = Api(base, token)
    try:
        first = api.create("vm", VM_STACK)
        outputs = api.outputs_when_created(first)
        root = state / "local-cloud" / "servers" / outputs["vm"]
        agent = _keeper(root)["agent_pid"]
        (worker,) = psutil.Process(node.proc.pid).children()
        worker.terminate()                 # exits cleanly: atexit, the driver's close
        worker.wait(LOADED)
        until(lambda: psutil.Process(node.proc.pid).children(), LOADED, "a new worker")
        assert _running(agent)
        later = api.outputs_when_created(api.create("later", DEPLOY_STACK, server=outputs["vm"],
                                                    who="after"))
        assert later["result"] == "after-done"
        assert _keeper(root)["agent_pid"] == agent
        api.delete(first)
        assert not _running(agent)
    finally:
        assert node.stop() == 0
    assert "Traceback" not in node.log()


GATED = """#!/bin/sh
echo run >> "$runs"
while [ ! -e "$gate" ]; do sleep 0.1; done
echo "ran for $who"
"""


@pytest.mark.parametrize("stop", ["crash", "sigterm"])
def test_a_deployment_running_while_its_node_stops_runs_once_on_the_adopted_agent(tmp_path,
                                                                                  stop):
    """The node stops (SIGKILL, or SIGTERM: it hands its operation on) while the local
    server's agent runs a hook; the agent runs on, the restarted node adopts it and takes the
    stack over, and the hook's signal (waiting in the agent's outbox) completes it: run once."""
    token = secrets.token_urlsafe(16)
    state, runs, gate = tmp_path / "server", tmp_path / "runs", tmp_path / "gate"
    template = {
        "heat_template_version": "2018-08-31",
        "resources": {
            "vm": VM_STACK["resources"]["vm"],
            "config": {"type": "OS::Heat::SoftwareConfig", "properties": {
                "group": "script", "config": GATED,
                "inputs": [{"name": "who"}, {"name": "runs"}, {"name": "gate"}]}},
            "deploy": {"type": "OS::Heat::SoftwareDeployment", "properties": {
                "config": {"get_resource": "config"}, "server": {"get_resource": "vm"},
                "input_values": {"who": "once", "runs": str(runs), "gate": str(gate)}}},
        },
        "outputs": {"stdout": {"value": {"get_attr": ["deploy", "deploy_stdout"]}}},
    }
    node, base = start_server(state, token, tmp_path / "node1.log")
    api = Api(base, token)
    restarted = None
    try:
        url = api.create("gated", template)
        until(runs.exists, LOADED, "the local server's agent to start the deployment")
        vm = api.session.get(f"{url}/resources/vm", timeout=10).json()["resource"][
            "physical_resource_id"]
        root = state / "local-cloud" / "servers" / vm
        agent = _keeper(root)["agent_pid"]
        if stop == "crash":
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait()
        else:
            assert node.stop() == 0
        gate.touch()   # the hook ends; its signal waits in the outbox for a node
        restarted, again = start_server(state, token, tmp_path / "node2.log", None,
                                        base.rsplit("//", 1)[1])
        assert again == base
        assert api.outputs_when_created(url)["stdout"] == "ran for once\n"
        assert runs.read_text() == "run\n"
        assert _keeper(root)["agent_pid"] == agent    # adopted, never restarted
        api.delete(url)
        assert not _running(agent)
    finally:
        for process in (node, restarted):
            if process is not None:
                process.stop()
    assert "Traceback" not in (tmp_path / "node2.log").read_text()


def test_nodes_with_their_own_state_keep_each_others_agents_through_one_local_cloud(tmp_path):
    """Two nodes of one database on this machine, each with its own state directory and one
    --local-cloud-dir: the one left alive keeps the killed one's agent past the grace."""
    token, grace = secrets.token_urlsafe(16), 2.0
    shared = ["--local-cloud-dir", str(tmp_path / "local-cloud"),
              "--local-agent-grace", f"{grace:g}"]
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    first, base = start_server(tmp_path / "a", token, tmp_path / "a.log", db, "127.0.0.1:0",
                               *shared)
    second = None
    try:
        second, _ = start_server(tmp_path / "b", token, tmp_path / "b.log", db, "127.0.0.1:0",
                                 *shared)
        outputs = Api(base, token).outputs_when_created(Api(base, token).create("vm", VM_STACK))
        root = tmp_path / "local-cloud" / "servers" / outputs["vm"]
        agent = _keeper(root)["agent_pid"]
        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        lease = tmp_path / "local-cloud" / "nodes.lease"
        gone = time.time()
        until(lambda: lease.stat().st_mtime > gone + 2 * grace, LOADED, "two graces of lease")
        assert _running(agent) and _keeper(root)["agent_pid"] == agent
    finally:
        for process in (first, second):
            if process is not None:
                process.stop()
