"""Three nodes on one PostgreSQL behind HAProxy act as one service (docs/operations.md)."""
from __future__ import annotations

import secrets
import threading
import time

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _post(session, url, body):
    response = session.post(url, json=body, timeout=20)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _until(condition, what: str, timeout: float = 30, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what} after {timeout}s")


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
    _until(lambda: _watchers(nodes, 1) == 1, "the watch to park on node 1")
    config = _post(nodes.session, f"{nodes.urls[2]}{api}/software_configs",
                   {"name": "c", "group": "script", "config": "#!/bin/sh\n"})
    created = time.monotonic()
    _post(nodes.session, f"{nodes.urls[2]}{api}/software_deployments", {
        "config_id": config["software_config"]["id"], "server_id": registered["server"]["id"],
        "signal_transport": "TEMP_URL_SIGNAL"})
    watcher.join(40)
    response = answer["response"]
    assert response.status_code == 200 and len(response.json()["deployments"]) == 1
    assert answer["at"] - created < 2, "the watch woke by the table feed, not by NOTIFY"
