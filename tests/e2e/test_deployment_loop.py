"""End to end: a real `stoker server` and a real `stoker agent`, as processes on loopback."""
from __future__ import annotations

import secrets
import socket

import pytest
import requests

from cli.processes import (Process, child_env, start_server, stoker_argv, write_agent_config)
from tests.conftest import DATABASES, POSTGRES_URL

pytestmark = pytest.mark.e2e

SCRIPT = """#!/bin/sh
echo "hello $name"
echo "to stderr" >&2
printf '%s' "$name-$count" > "$heat_outputs_path.result"
exit $code
"""


@pytest.fixture(params=DATABASES)
def server(request, tmp_path):
    token = secrets.token_urlsafe(16)
    postgres = request.param == "postgresql"
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log",
                                 POSTGRES_URL if postgres else None, "127.0.0.1:0",
                                 *(["--single-node"] if postgres else []))
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    yield base, session
    assert process.stop() == 0
    assert "Traceback" not in process.log()


def _post(session, url, body):
    response = session.post(url, json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _register_and_deploy(base, session, root, inputs_list):
    # a tenant per test: on PostgreSQL the tests share one database
    api = f"{base}/v1/e2e-{secrets.token_hex(4)}"
    registered = _post(session, f"{api}/servers", {"name": "vm"})
    write_agent_config(root, registered["agent_config"])
    config = _post(session, f"{api}/software_configs", {
        "name": "cfg", "group": "script", "config": SCRIPT,
        "inputs": [{"name": "name"}, {"name": "count", "type": "Number"},
                   {"name": "code", "type": "Number", "default": 0}],
        "outputs": [{"name": "result"}]})["software_config"]
    ids = []
    for index, values in enumerate(inputs_list):
        ids.append(_post(session, f"{api}/software_deployments", {
            "config_id": config["id"], "server_id": registered["server"]["id"],
            "signal_transport": "TEMP_URL_SIGNAL", "name": f"{index:02d}",
            "input_values": values})["software_deployment"]["id"])
    return api, ids


@pytest.mark.timeout(60)
def test_agent_once_deploys_and_signals(server, tmp_path):
    base, session = server
    root = tmp_path / "root"
    api, ids = _register_and_deploy(base, session, root, [
        {"name": "one", "count": 1}, {"name": "two", "count": 2, "code": 3}])
    agent = Process("agent", stoker_argv("agent", "--root", str(root), "--once"),
                    tmp_path / "agent.log", child_env())
    assert agent.proc.wait(45) == 0, agent.log()
    first = session.get(f"{api}/software_deployments/{ids[0]}").json()["software_deployment"]
    assert first["status"] == "COMPLETE", first
    assert first["status_reason"] == "Outputs received"
    assert first["output_values"]["result"] == "one-1"
    assert first["output_values"]["deploy_stdout"] == "hello one\n"
    assert first["output_values"]["deploy_stderr"] == "to stderr\n"
    assert first["output_values"]["deploy_status_code"] == 0
    second = session.get(f"{api}/software_deployments/{ids[1]}").json()["software_deployment"]
    assert second["status"] == "FAILED"
    assert second["status_reason"] == \
        "deploy_status_code : Deployment exited with non-zero status code: 3"
    # the agent keeps upstream's files: cache with .last committed, deployed markers
    cache = root / "var/lib/os-collect-config"
    assert (cache / "watch.json").exists() and (cache / "watch.json.last").exists()
    derived_ids = [item["id"] for item in session.get(
        f"{api}/software_deployments/metadata/{first['server_id']}").json()["metadata"]]
    for derived in derived_ids:
        assert (root / "var/lib/heat-config/deployed" / f"{derived}.json").exists()
    assert "Traceback" not in agent.log()


@pytest.mark.timeout(60)
def test_agent_daemon_picks_up_a_new_deployment(server, tmp_path):
    base, session = server
    root = tmp_path / "root"
    api, ids = _register_and_deploy(base, session, root, [{"name": "a", "count": 1}])
    agent = Process("agent", stoker_argv("agent", "--root", str(root)), tmp_path / "agent.log",
                    child_env())
    try:
        _wait_status(session, f"{api}/software_deployments/{ids[0]}", "COMPLETE")
        config_id = session.get(f"{api}/software_configs").json()["software_configs"][-1]["id"]
        server_id = session.get(f"{api}/servers").json()["servers"][0]["id"]
        second = _post(session, f"{api}/software_deployments", {
            "config_id": config_id, "server_id": server_id, "signal_transport": "CFN_SIGNAL",
            "input_values": {"name": "b", "count": 2}})["software_deployment"]
        done = _wait_status(session, f"{api}/software_deployments/{second['id']}", "COMPLETE")
        assert done["output_values"]["result"] == "b-2"
    finally:
        assert agent.stop() == 0
    assert "Traceback" not in agent.log()


def _wait_status(session, url, status, timeout=30):
    """Wait for a deployment to leave IN_PROGRESS; the server has no push channel yet."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment = session.get(url).json()["software_deployment"]
        if deployment["status"] != "IN_PROGRESS":
            assert deployment["status"] == status, deployment
            return deployment
        time.sleep(0.1)
    raise AssertionError(f"{url} still IN_PROGRESS after {timeout}s")


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.timeout(60)
def test_agent_with_server_down_retries_with_one_line_per_attempt(tmp_path):
    root = tmp_path / "root"
    url = f"http://127.0.0.1:{_closed_port()}/v1/t/servers/s/metadata"
    secret = "very-secret-token"
    write_agent_config(root, {"metadata_url": url, "auth_token": secret},
                       polling_interval=0.4, min_polling_interval=0.1)
    agent = Process("agent", stoker_argv("agent", "--root", str(root)), tmp_path / "agent.log",
                    child_env())
    try:
        attempts = _wait_for_log_lines(agent, url, 3)
    finally:
        assert agent.stop() == 0
    log = agent.log()
    assert "Traceback" not in log
    assert secret not in log
    for line in attempts:
        assert "retrying in" in line


def _wait_for_log_lines(agent: Process, needle: str, count: int, timeout: float = 30) -> list[str]:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line for line in agent.log().splitlines() if needle in line]
        if len(lines) >= count:
            return lines
        assert agent.proc.poll() is None, agent.log()
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} lines mentioning {needle}:\n{agent.log()}")


@pytest.mark.timeout(60)
def test_demo_runs_end_to_end():
    from cli import demo
    assert demo.run() == 0
