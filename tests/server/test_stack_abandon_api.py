"""DELETE .../abandon and POST /stacks with adopt_stack_data through the REST API (both
databases): Heat's bodies (conformance/api-shapes.json), the round trip, and the gates."""
from __future__ import annotations

import json
import uuid

import pytest

from metadata_server.api.stack_gates import SETTINGS
from tests.conftest import shared_dir

pytestmark = pytest.mark.timeout(120)
TEMPLATE = {"heat_template_version": "2018-08-31", "resources": {
    "rand": {"type": "OS::Heat::RandomString", "properties": {"length": 12}},
    "val": {"type": "OS::Heat::Value", "properties": {"value": {"str_replace": {
        "template": "pw=$R", "params": {"$R": {"get_attr": ["rand", "value"]}}}}}}},
    "outputs": {"pw": {"value": {"get_attr": ["val", "value"]}},
                "rand_ref": {"value": {"get_resource": "rand"}}}}
# the keys of Heat's abandon body and of each resource entry (api-shapes.json abandon_body)
BODY_KEYS = {"action", "environment", "files", "id", "name", "project_id", "resources",
             "stack_user_project_id", "status", "tags", "template"}
ENTRY_KEYS = {"action", "metadata", "name", "resource_data", "resource_id", "status", "type"}


@pytest.fixture
def adopting(app):
    app.extensions[SETTINGS] = {"abandon": True, "adopt": True}
    return app


def _create(app, api, body: dict) -> dict:
    created = api.post("/v1/t1/stacks", body)
    assert created.status_code == 201, created.json
    stack_id = created.json["stack"]["id"]
    app.extensions["stoker-engine"].wait(stack_id, 30)
    return api.get(f"/v1/t1/stacks/{body['stack_name']}/{stack_id}").json["stack"]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _outputs(stack: dict) -> dict:
    return {o["output_key"]: o["output_value"] for o in stack["outputs"]}


def test_the_keys_match_heats_recorded_bodies():
    root = shared_dir()
    if root is None:
        pytest.skip("shared conformance data not found (set STOKER_SHARED_DIR)")
    shapes = json.loads((root / "conformance" / "api-shapes.json").read_text())["shapes"]
    body = shapes["abandon_body"]["body"]
    assert set(body) == BODY_KEYS
    assert all(set(entry) == ENTRY_KEYS for entry in body["resources"].values())


def test_abandon_then_adopt_round_trip(adopting, api):
    name = _name("demo")
    stack = _create(adopting, api, {"stack_name": name, "template": TEMPLATE})
    before = _outputs(stack)
    resources = api.get(f"/v1/t1/stacks/{name}/{stack['id']}/resources").json["resources"]

    abandoned = api.delete(f"/v1/t1/stacks/{name}/{stack['id']}/abandon")
    assert abandoned.status_code == 200, abandoned.json
    data = abandoned.json
    assert set(data) == BODY_KEYS
    assert all(set(e) == ENTRY_KEYS for e in data["resources"].values())
    assert data["resources"]["rand"]["resource_data"]["value"] == before["rand_ref"]
    assert data["template"] == TEMPLATE and data["project_id"] == "t1"
    gone = api.get(f"/v1/t1/stacks/{name}/{stack['id']}")
    assert gone.status_code == 404 and gone.json["error"]["type"] == "EntityNotFound"
    assert api.get(f"/v1/t1/stacks/{name}").status_code == 404

    adopted_name = _name("adopted")
    created = api.post("/v1/t1/stacks", {"stack_name": adopted_name,
                                         "adopt_stack_data": json.dumps(data)})
    assert created.status_code == 201, created.json
    adopted_id = created.json["stack"]["id"]
    adopting.extensions["stoker-engine"].wait(adopted_id, 30)
    adopted = api.get(f"/v1/t1/stacks/{adopted_name}/{adopted_id}").json["stack"]
    assert adopted["stack_status"] == "ADOPT_COMPLETE"
    assert adopted["stack_status_reason"] == "Stack ADOPT completed successfully"
    assert _outputs(adopted) == before
    rows = api.get(f"/v1/t1/stacks/{adopted_name}/{adopted_id}/resources").json["resources"]
    assert ({r["resource_name"]: r["physical_resource_id"] for r in rows}
            == {r["resource_name"]: r["physical_resource_id"] for r in resources})
    assert {r["resource_status"] for r in rows} == {"ADOPT_COMPLETE"}
    events = api.get(f"/v1/t1/stacks/{adopted_name}/{adopted_id}/events").json["events"]
    assert [e["resource_status_reason"] for e in events
            if e["resource_name"] == adopted_name] == ["Stack ADOPT started",
                                                       "Stack ADOPT completed successfully"]


def test_adopt_is_refused_unless_the_server_allows_it(app, api):
    name = _name("demo")
    stack = _create(app, api, {"stack_name": name, "template": TEMPLATE})
    data = api.delete(f"/v1/t1/stacks/{name}/{stack['id']}/abandon").json
    refused = api.post("/v1/t1/stacks", {"stack_name": _name("x"),
                                         "adopt_stack_data": json.dumps(data)})
    assert refused.status_code == 400
    assert refused.json["error"]["type"] == "NotSupported"
    assert "Stack Adopt is not supported" in refused.json["error"]["message"]
    assert api.get("/v1/t1/stacks").json["stacks"] == []


def test_abandon_is_refused_when_the_server_disallows_it(app, api):
    app.extensions[SETTINGS] = {"abandon": False, "adopt": False}
    name = _name("demo")
    stack = _create(app, api, {"stack_name": name, "template": TEMPLATE})
    refused = api.delete(f"/v1/t1/stacks/{name}/{stack['id']}/abandon")
    assert refused.status_code == 400 and refused.json["error"]["type"] == "NotSupported"
    assert api.get(f"/v1/t1/stacks/{name}/{stack['id']}").status_code == 200


def test_a_bad_adopt_body_is_a_400_naming_the_fault(adopting, api):
    name = _name("demo")
    stack = _create(adopting, api, {"stack_name": name, "template": TEMPLATE})
    data = api.get(f"/v1/t1/stacks/{name}/{stack['id']}/export").json
    data["resources"]["rand"]["type"] = "OS::Heat::None"
    refused = api.post("/v1/t1/stacks", {"stack_name": _name("x"),
                                         "adopt_stack_data": json.dumps(data)})
    assert refused.status_code == 400
    assert refused.json["error"]["message"] == (
        "adopt_stack_data.resources.rand.type: OS::Heat::None does not match the template's "
        "OS::Heat::RandomString")
    refused = api.post("/v1/t1/stacks", {"stack_name": _name("x"), "adopt_stack_data": "{"})
    assert refused.status_code == 400
    assert refused.json["error"]["message"].startswith("adopt_stack_data: not valid JSON")
    assert [s["id"] for s in api.get("/v1/t1/stacks").json["stacks"]] == [stack["id"]]


def test_a_running_stack_is_not_abandoned(adopting, api):
    name = _name("slow")
    created = api.post("/v1/t1/stacks", {"stack_name": name, "template": {
        "heat_template_version": "2018-08-31", "resources": {"t": {
            "type": "OS::Heat::TestResource", "properties": {"action_wait_secs": {
                "create": 30}}}}}})
    stack_id = created.json["stack"]["id"]
    refused = api.delete(f"/v1/t1/stacks/{name}/{stack_id}/abandon")
    assert refused.status_code == 409 and refused.json["error"]["type"] == "ActionInProgress"
    assert api.delete(f"/v1/t1/stacks/{name}/{stack_id}").status_code == 204
    adopting.extensions["stoker-engine"].wait(stack_id, 30)
