"""`stoker deployment explain`: the plain-words story, one fixture per situation, and once live."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from metadata_server.service.deployment_explain import explain, parse_time

CASES = sorted((Path(__file__).parent / "fixtures" / "explain").glob("*.json"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_explain_cases(case):
    data = json.loads(case.read_text())
    record = explain(data["deployment"], data["server"], parse_time(data["now"]))
    for key, value in data["expect"].items():
        assert record[key] == value, key
    for needle in data["explanation_contains"]:
        assert needle in record["explanation"]


@pytest.mark.timeout(30)
def test_explain_against_the_server(stoker):
    registered = stoker.http.post(f"{stoker.api}/servers", json={"name": "web"}, timeout=10).json()
    config = stoker.http.post(f"{stoker.api}/software_configs", json={
        "name": "c", "group": "script", "config": "true"}, timeout=10).json()["software_config"]
    deployment = stoker.http.post(f"{stoker.api}/software_deployments", json={
        "config_id": config["id"], "server_id": registered["server"]["id"],
        "signal_transport": "TEMP_URL_SIGNAL", "timeout": 600},
        timeout=10).json()["software_deployment"]

    before = stoker("deployment", "explain", deployment["id"], "-f", "json")
    assert before.code == 0, before.err
    record = json.loads(before.out)
    assert record["agent_last_seen"] == "never"
    assert "never fetched its metadata" in record["explanation"]
    assert record["timeout"].startswith(("10 min left", "11 min left"))

    # the agent polls once with its own token
    poll = requests.get(registered["agent_config"]["metadata_url"], timeout=10,
                        headers={"X-Auth-Token": registered["agent_config"]["auth_token"]})
    assert poll.status_code == 200
    table = stoker("deployment", "explain", deployment["id"])
    assert table.code == 0
    assert "| agent_last_seen |" in table.out and "never" not in table.out.split("\n\n")[0]
    assert "has not signalled a result yet" in " ".join(table.out.split())

    missing = stoker("deployment", "explain", "nope")
    assert missing.code == 3 and "software deployment nope not found" in missing.err
