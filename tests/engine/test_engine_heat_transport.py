"""POLL_SERVER_HEAT and HEAT_SIGNAL through Heat's stack routes: the server reads its metadata
from its resource and a deployment signals its resource, each with a token from stoker's /v3,
and neither can reach what is not its own."""
from __future__ import annotations

import pytest

from engine_helpers import ADMIN, hot, wait_for

pytestmark = pytest.mark.timeout(60)

CONFIG = {"type": "OS::Heat::SoftwareConfig", "properties": {
    "group": "script", "config": "#!/bin/sh\necho hi\n", "outputs": [{"name": "result"}]}}


def server(name):
    return {"type": "OS::Heat::DeployedServer", "properties": {
        "name": name, "software_config_transport": "POLL_SERVER_HEAT"}}


def deployment(server_name):
    return {"type": "OS::Heat::SoftwareDeployment", "properties": {
        "config": {"get_resource": "config"}, "server": {"get_resource": server_name},
        "signal_transport": "HEAT_SIGNAL"}}


TEMPLATE = hot({"config": CONFIG, "a": server("a"), "b": server("b"),
                "deploy_a": deployment("a"), "deploy_b": deployment("b")},
               {"occ_a": {"value": {"get_attr": ["a", "os_collect_config"]}},
                "result": {"value": {"get_attr": ["deploy_a", "result"]}}})


def keystone_token(client, user_id, password, project):
    response = client.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"id": user_id, "password": password}}},
        "scope": {"project": {"id": project}}}})
    assert response.status_code == 201, response.json
    return {"X-Auth-Token": response.headers["X-Subject-Token"]}


def test_heat_collector_and_heat_signal_through_the_stack_routes(app, store):
    client = app.test_client()
    admin = {"X-Auth-Token": ADMIN}
    response = client.post("/v1/t1/stacks", json={"stack_name": "app", "template": TEMPLATE},
                           headers=admin)
    assert response.status_code == 201, response.json
    stack_id = response.json["stack"]["id"]
    stack_url = f"/v1/t1/stacks/app/{stack_id}"
    engine = app.extensions["stoker-engine"]
    pending = wait_for(lambda: [d for d in store.list_deployments()
                                if d.status == "IN_PROGRESS"] if len(store.list_deployments()) == 2
                       else None, what="two deployments")
    occ = engine.resource_attribute(engine.get_stack("t1", stack_id), "a", "os_collect_config")
    heat = occ["heat"]
    assert occ["collectors"] == ["heat", "local"]
    assert heat["auth_url"] == "http://stoker.test/v3" and heat["project_id"] == "t1"
    assert heat["stack_id"] == f"app/{stack_id}" and heat["resource_name"] == "a"

    # POLL_SERVER_HEAT: server a reads its own resource's metadata with its keystone token
    as_a = keystone_token(client, heat["user_id"], heat["password"], heat["project_id"])
    metadata = client.get(f"/v1/t1/stacks/{heat['stack_id']}/resources/a/metadata", headers=as_a)
    assert metadata.status_code == 200, metadata.json
    document = metadata.json["metadata"]
    (item,) = document["deployments"]
    assert document["os-collect-config"]["heat"]["user_id"] == heat["user_id"]
    assert client.get(f"{stack_url}/resources/b/metadata", headers=as_a).status_code == 403
    assert client.get(f"{stack_url}/resources", headers=as_a).status_code == 403
    assert client.get(stack_url, headers=as_a).status_code == 403

    # without a credential nothing is told, not even whether the stack exists
    for path in (f"{stack_url}/resources/deploy_a/signal", f"/v1/t1/stacks/nope/{stack_id}/resources/x/signal"):
        assert client.post(path, json={}).status_code == 401
    assert client.get(f"{stack_url}/resources/a/metadata").status_code == 401

    # HEAT_SIGNAL: the deployment's inputs carry its own keystone user
    values = {i["name"]: i.get("value") for i in item["inputs"]}
    assert values["deploy_stack_id"] == f"app/{stack_id}" and values["deploy_resource_name"] == "deploy_a"
    signaller = keystone_token(client, values["deploy_user_id"], values["deploy_password"],
                               values["deploy_project_id"])
    signal_url = f"/v1/t1/stacks/{values['deploy_stack_id']}/resources/deploy_a/signal"
    # not another deployment's resource, not a server's, not the stack
    assert client.post(f"{stack_url}/resources/deploy_b/signal", json={},
                       headers=signaller).status_code == 403
    assert client.post(f"{stack_url}/resources/a/signal", json={},
                       headers=signaller).status_code == 403
    assert client.get(f"{stack_url}/resources/a/metadata", headers=signaller).status_code == 403
    answer = client.post(signal_url, json={"deploy_status_code": 0, "result": "ok"},
                         headers={**signaller, "X-Stoker-Attempt": "attempt-1"})
    assert answer.status_code == 200, answer.json
    assert answer.json["signal"]["status"] == "COMPLETE"
    # a repeated delivery of the same attempt changes nothing
    again = client.post(signal_url, json={"deploy_status_code": 1},
                        headers={**signaller, "X-Stoker-Attempt": "attempt-1"})
    assert again.json["signal"]["duplicate"] is True

    # server b signals its own deployment with its own credential, as an agent may
    occ_b = engine.resource_attribute(engine.get_stack("t1", stack_id), "b", "os_collect_config")
    as_b = keystone_token(client, occ_b["heat"]["user_id"], occ_b["heat"]["password"], "t1")
    assert client.post(signal_url, json={}, headers=as_b).status_code == 403
    response = client.post(f"{stack_url}/resources/deploy_b/signal",
                           json={"deploy_status_code": 0}, headers=as_b)
    assert response.status_code == 200, response.json

    stack = engine.wait(stack_id, 30)
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["result"] == "ok"
    assert pending  # both were waiting before the signals
