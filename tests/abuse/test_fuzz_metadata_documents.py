"""Property: whatever configs, input values and signals a tenant sends, the documents agents
read (the server's own metadata, the signed `request` URL, the deployments' metadata list) keep
answering with JSON that holds the config exactly as accepted, and a signal is answered, never
with a 500: a hostile config cannot break its server's agent channel."""
from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.abuse.fuzzing import any_text, budget, check_answer, encode, finite_scalars
from tests.abuse.fuzzing import json_values as any_json
from tests.server.conftest import api, app, make_server  # noqa: F401 (fixtures)

INPUT_TYPES = ["String", "Number", "CommaDelimitedList", "Json", "Boolean", "nope"]


def json_values(max_leaves=10):
    return any_json(max_leaves=max_leaves, leaves=finite_scalars)


def _mostly(strategy, otherwise, one_in=6):
    return st.integers(0, one_in - 1).flatmap(lambda n: otherwise if n == 0 else strategy)


inputs = st.lists(_mostly(st.fixed_dictionaries({"name": any_text}, optional={
    "type": st.sampled_from(INPUT_TYPES), "default": json_values(), "description": any_text,
    "replace_on_change": st.booleans()}), json_values()), max_size=3)
outputs = st.lists(_mostly(st.fixed_dictionaries({"name": any_text}, optional={
    "type": st.sampled_from(INPUT_TYPES), "error_output": st.booleans(),
    "description": any_text}), json_values()), max_size=3)
configs = st.fixed_dictionaries({"name": any_text, "config": st.one_of(any_text, json_values())},
                                optional={"group": st.one_of(st.sampled_from(
                                              ["script", "ansible", "Heat::Ungrouped"]), any_text),
                                          "inputs": inputs, "outputs": outputs,
                                          "options": json_values()})
signals = st.one_of(st.dictionaries(st.one_of(st.sampled_from(
    ["deploy_stdout", "deploy_stderr", "deploy_status_code", "result"]), any_text),
    json_values(), max_size=5), json_values())


@pytest.fixture
def server(make_server) -> dict:
    """One registered server per test: every example's deployments go to the same agent."""
    return make_server()


@budget
@given(config=configs, input_values=st.dictionaries(any_text, json_values(), max_size=3),
       transport=st.sampled_from([None, "TEMP_URL_SIGNAL", "CFN_SIGNAL", "NO_SIGNAL"]),
       signal=signals)
def test_agent_documents_survive_any_config_and_signal(api, server, config, input_values,
                                                       transport, signal):
    agent = api.as_(server["credential"]["token"])
    server_id = server["server"]["id"]
    made = api.client.post("/v1/t1/software_configs", data=encode(config), headers={
        "X-Auth-Token": api.token, "Content-Type": "application/json"})
    check_answer(made)
    event(f"config {made.status_code}")
    if made.status_code != 200:
        return
    config_id = made.get_json()["software_config"]["id"]
    body = {"config_id": config_id, "server_id": server_id, "input_values": input_values,
            "action": "CREATE", "status": "IN_PROGRESS"}
    if transport:
        body["signal_transport"] = transport
    deployed = api.client.post("/v1/t1/software_deployments", data=encode(body), headers={
        "X-Auth-Token": api.token, "Content-Type": "application/json"})
    check_answer(deployed)
    event(f"deployment {deployed.status_code}")
    if deployed.status_code == 200:
        deployment = deployed.get_json()["software_deployment"]
        _documents_hold(api, agent, server, config, deployment["config_id"])
        signalled = agent.client.post(f"/v1/signal/deployments/{deployment['id']}",
                                      data=encode(signal), headers={
                                          "X-Auth-Token": agent.token,
                                          "Content-Type": "application/json"})
        check_answer(signalled)
        event(f"signal {signalled.status_code}")
        check_answer(api.get(f"/v1/t1/software_deployments/{deployment['id']}"))
        _documents_hold(api, agent, server, config, deployment["config_id"])
        assert api.delete(f"/v1/t1/software_deployments/{deployment['id']}").status_code == 204
        if transport:
            api.delete(f"/v1/t1/software_configs/{deployment['config_id']}")
    assert api.delete(f"/v1/t1/software_configs/{config_id}").status_code == 204


def _documents_hold(api, agent, server, config, config_id):
    server_id = server["server"]["id"]
    request_url = server["os-collect-config"]["request"]["metadata_url"]
    for who, path in ((agent, f"/v1/t1/servers/{server_id}/metadata"),
                      (agent, f"/v1/t1/software_deployments/metadata/{server_id}"),
                      (api.as_(None), request_url.removeprefix("http://stoker.test"))):
        response = who.get(path)
        check_answer(response)
        assert response.status_code == 200, response.get_data(True)[:300]
        document = response.get_json()
        items = document.get("deployments", document.get("metadata"))
        item = next(i for i in items if i["id"] == config_id)
        # kept exactly, also in a derived config (where, as in Heat, none becomes "")
        assert item.get("config") in (config["config"], "" if config["config"] is None else None)
