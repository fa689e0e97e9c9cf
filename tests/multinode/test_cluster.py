"""Three nodes on one PostgreSQL behind HAProxy act as one service (docs/operations.md)."""
from __future__ import annotations

import secrets
import threading
import time

import pytest
import requests

from tests.waiting import stack_when, until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _post(session, url, body):
    response = session.post(url, json=body, timeout=20)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _watchers(nodes, index: int) -> int:
    text = nodes.session.get(f"{nodes.urls[index]}/metrics", timeout=10).text
    line = next(line for line in text.splitlines() if line.startswith("stoker_watchers "))
    return int(float(line.split()[1]))


def _tenant() -> str:
    return f"mn-{secrets.token_hex(4)}"


@pytest.mark.timeout(90)
def test_a_watcher_on_one_node_wakes_when_another_creates_a_deployment(nodes):
    api = f"/v1/{_tenant()}"
    registered = _post(nodes.session, f"{nodes.urls[0]}{api}/servers", {"name": "vm"})
    # the URLs handed to the agent name the balancer, whichever node answered
    assert registered["agent_config"]["metadata_url"].startswith(nodes.public_url + "/")
    metadata = registered["agent_config"]["metadata_url"].replace(nodes.public_url,
                                                                  nodes.urls[1], 1)
    agent = requests.Session()
    agent.headers["X-Auth-Token"] = registered["agent_config"]["auth_token"]
    etag = agent.get(metadata, timeout=10).headers["ETag"]
    answer = {}

    def watch():
        answer["response"] = agent.get(metadata, params={"wait": 20}, timeout=30,
                                       headers={"If-None-Match": etag})
        answer["at"] = time.monotonic()
    watcher = threading.Thread(target=watch)
    watcher.start()
    until(lambda: _watchers(nodes, 1) == 1, 30, "the watch to park on node 1")
    config = _post(nodes.session, f"{nodes.urls[2]}{api}/software_configs",
                   {"name": "c", "group": "script", "config": "#!/bin/sh\n"})
    created = time.monotonic()
    _post(nodes.session, f"{nodes.urls[2]}{api}/software_deployments", {
        "config_id": config["software_config"]["id"], "server_id": registered["server"]["id"],
        "signal_transport": "TEMP_URL_SIGNAL"})
    watcher.join(40)
    response = answer["response"]
    assert response.status_code == 200 and len(response.json()["deployments"]) == 1
    # NOTIFY wakes it within milliseconds; the table, read every 5 s, would take seconds
    assert answer["at"] - created < 3, "the watch woke by the table feed, not by NOTIFY"


# every hook appends its name to a file: each name must be there once, whatever node died
SCRIPT = """#!/bin/sh
echo "$name" >> "$log"
if [ -n "$gate" ]; then
  while [ ! -e "$gate" ]; do sleep 0.05; done
fi
printf '%s' "$name-done" > "$heat_outputs_path.result"
"""


def _deployments(log, gate) -> dict:
    config = {"type": "OS::Heat::SoftwareConfig", "properties": {
        "group": "script", "config": SCRIPT, "outputs": [{"name": "result"}],
        "inputs": [{"name": "name"}, {"name": "log"}, {"name": "gate", "default": ""}]}}

    def deployment(name, after=None, wait_for=""):
        found = {"type": "OS::Heat::SoftwareDeployment", "properties": {
            "config": {"get_resource": "config"}, "server": {"get_resource": "server"},
            "input_values": {"name": name, "log": str(log), "gate": wait_for},
            "signal_transport": "CFN_SIGNAL"}}
        if after:
            found["depends_on"] = after
        return found
    return {"heat_template_version": "2018-08-31", "resources": {
        "server": {"type": "OS::Heat::DeployedServer",
                   "properties": {"software_config_transport": "POLL_TEMP_URL"}},
        "config": config,
        "d1": deployment("d1"),
        # d2's hook holds on until the test opens the gate: its node is killed meanwhile
        "d2": deployment("d2", "d1", str(gate)),
        "d3": deployment("d3", "d2"), "d4": deployment("d4", "d2"),
        "d5": deployment("d5", ["d3", "d4"])},
        "outputs": {"occ": {"value": {"get_attr": ["server", "os_collect_config"]}},
                    "results": {"value": [{"get_attr": [f"d{i}", "result"]}
                                          for i in range(1, 6)]}}}


@pytest.mark.timeout(120)
def test_killing_the_node_running_a_create_loses_nothing(nodes, tmp_path):
    log, gate = tmp_path / "hooks.log", tmp_path / "gate"
    tenant = _tenant()
    # created through node 0, so node 0's engine runs it
    response = nodes.session.post(f"{nodes.urls[0]}/v1/{tenant}/stacks", json={
        "stack_name": "app", "template": _deployments(log, gate)}, timeout=20)
    assert response.status_code == 201, response.text
    url = response.headers["Location"]
    assert url.startswith(nodes.public_url + "/")
    stack = stack_when(nodes.session, url, lambda s: any(
        o["output_key"] == "occ" and o["output_value"] for o in s.get("outputs", [])))
    occ = next(o["output_value"] for o in stack["outputs"] if o["output_key"] == "occ")
    assert occ["watch"]["metadata_url"].startswith(nodes.public_url + "/")
    nodes.start_agent(tmp_path / "root", occ["watch"])
    until(lambda: log.exists() and "d2" in log.read_text().split(), 60, "d2's hook to start")
    nodes.kill(0)
    gate.touch()  # d2's result now goes to the balancer, which sends it to a live node
    # taken over within a second or two (advisory lock), where a stale heartbeat took 30 s
    stack = stack_when(nodes.session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS",
                       timeout=30)
    assert stack["stack_status"] == "CREATE_COMPLETE", (stack["stack_status_reason"],
                                                       nodes.logs())
    assert sorted(log.read_text().split()) == ["d1", "d2", "d3", "d4", "d5"]
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert outputs["results"] == [f"d{i}-done" for i in range(1, 6)]
    events = nodes.session.get(f"{url}/events", timeout=10).json()["events"]
    assert any(e["resource_status_reason"] == "Stack CREATE resumed after an engine restart"
               for e in events)


def _waiting_stack(nodes, node: int, seconds: int = 120):
    tenant = _tenant()
    response = nodes.session.post(f"{nodes.urls[node]}/v1/{tenant}/stacks", json={
        "stack_name": "slow", "template": {"heat_template_version": "2018-08-31", "resources": {
            "slow": {"type": "OS::Heat::TestResource", "properties": {"wait_secs": seconds}}}}},
        timeout=20)
    assert response.status_code == 201, response.text
    url = response.headers["Location"]
    stack_when(nodes.session, url.replace(nodes.public_url, nodes.urls[node], 1),
               lambda s: s["stack_status"] == "CREATE_IN_PROGRESS")
    return url


@pytest.mark.timeout(60)
def test_a_cancel_sent_through_another_node_stops_the_operation(nodes):
    url = _waiting_stack(nodes, 0)
    response = nodes.session.post(f"{url.replace(nodes.public_url, nodes.urls[1], 1)}/actions",
                                  json={"cancel_without_rollback": None}, timeout=30)
    assert response.status_code == 200, response.text
    stack = stack_when(nodes.session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS",
                       timeout=20)
    assert (stack["stack_status"], stack["stack_status_reason"]) == (
        "CREATE_FAILED", "Stack CREATE cancelled")


@pytest.mark.timeout(60)
def test_a_delete_sent_through_another_node_stops_and_deletes(nodes):
    url = _waiting_stack(nodes, 0)
    response = nodes.session.delete(url.replace(nodes.public_url, nodes.urls[2], 1), timeout=30)
    assert response.status_code == 204, response.text
    stack = stack_when(nodes.session, url, lambda s: s["stack_status"] in (
        "DELETE_COMPLETE", "DELETE_FAILED"), timeout=20)
    assert stack["stack_status"] == "DELETE_COMPLETE", stack["stack_status_reason"]


@pytest.mark.timeout(60)
def test_a_wait_condition_signalled_through_another_node_completes(nodes):
    tenant = _tenant()
    response = nodes.session.post(f"{nodes.urls[0]}/v1/{tenant}/stacks", json={
        "stack_name": "waits", "template": {"heat_template_version": "2018-08-31", "resources": {
            "handle": {"type": "OS::Heat::WaitConditionHandle"},
            "wait": {"type": "OS::Heat::WaitCondition",
                     "properties": {"handle": {"get_resource": "handle"}, "timeout": 60}}},
            "outputs": {"endpoint": {"value": {"get_attr": ["handle", "endpoint"]}},
                        "data": {"value": {"get_attr": ["wait", "data"]}}}}}, timeout=20)
    assert response.status_code == 201, response.text
    url = response.headers["Location"]
    stack = stack_when(nodes.session, url, lambda s: any(
        o["output_key"] == "endpoint" and o["output_value"] for o in s.get("outputs", [])))
    endpoint = next(o["output_value"] for o in stack["outputs"] if o["output_key"] == "endpoint")
    # the handle's URL names the balancer; sent to a node that does not run the stack
    assert endpoint.startswith(nodes.public_url + "/")
    signalled = requests.post(endpoint.replace(nodes.public_url, nodes.urls[1], 1),
                              json={"status": "SUCCESS", "data": "hello", "id": "1"}, timeout=30)
    assert signalled.status_code == 200, signalled.text
    # a bad signal gets the running engine's own error, through the node that relayed it
    refused = nodes.session.post(f"{url.replace(nodes.public_url, nodes.urls[2], 1)}"
                                 "/resources/wait/signal", json={"unset_hook": "pre-create"},
                                 timeout=30)
    assert refused.status_code == 400 and "InvalidBreakPointHook" in refused.text
    stack = stack_when(nodes.session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS",
                       timeout=30)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert outputs["data"] == '{"1": "hello"}'
