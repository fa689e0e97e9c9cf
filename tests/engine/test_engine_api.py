"""Heat's stack routes (reference §6.1) through the Flask app."""
from __future__ import annotations

import pytest

from engine_helpers import ADMIN, hot, wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_AUTH_TOKEN"] = ADMIN
    return client


def wait(app, stack_id):
    return app.extensions["stoker-engine"].wait(stack_id, 30)


TEMPLATE = hot({"v": {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "p"}}},
                "t": {"type": "OS::Heat::TestResource",
                      "properties": {"value": {"get_attr": ["v", "value"]}}}},
               {"out": {"value": {"get_attr": ["t", "output"]}, "description": "the value"}},
               {"p": {"type": "string", "default": "hello"},
                "secret": {"type": "string", "default": "s3cr3t", "hidden": True}})


def create(client, app, name="web", template=TEMPLATE, **body):
    response = client.post("/v1/t1/stacks", json={"stack_name": name, "template": template, **body})
    assert response.status_code == 201, response.json
    stack_id = response.json["stack"]["id"]
    assert response.headers["Location"] == f"http://stoker.test/v1/t1/stacks/{name}/{stack_id}"
    wait(app, stack_id)
    return stack_id


def test_create_show_list_outputs(client, app):
    stack_id = create(client, app)
    shown = client.get(f"/v1/t1/stacks/web/{stack_id}").json["stack"]
    assert shown["stack_status"] == "CREATE_COMPLETE"
    assert shown["stack_status_reason"] == "Stack CREATE completed successfully"
    assert shown["outputs"] == [{"output_key": "out", "output_value": "hello",
                                 "description": "the value"}]
    assert shown["parameters"]["p"] == "hello"
    assert shown["parameters"]["secret"] == "******"
    assert shown["disable_rollback"] is True and shown["links"][0]["rel"] == "self"
    listed = client.get("/v1/t1/stacks").json["stacks"]
    assert [s["stack_name"] for s in listed] == ["web"] and "outputs" not in listed[0]
    assert client.get(f"/v1/t1/stacks/web/{stack_id}/outputs").json == {
        "outputs": [{"output_key": "out", "description": "the value"}]}
    assert client.get(f"/v1/t1/stacks/web/{stack_id}/outputs/out").json["output"][
        "output_value"] == "hello"
    missing = client.get(f"/v1/t1/stacks/web/{stack_id}/outputs/nope")
    assert missing.status_code == 404 and "nope" in missing.json["error"]["message"]


def test_lookup_by_name_redirects(client, app):
    stack_id = create(client, app)
    response = client.get("/v1/t1/stacks/web")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/v1/t1/stacks/web/{stack_id}")
    response = client.get("/v1/t1/stacks/web/resources")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/v1/t1/stacks/web/{stack_id}/resources")


def test_resources_and_events(client, app):
    stack_id = create(client, app)
    resources = client.get(f"/v1/t1/stacks/web/{stack_id}/resources").json["resources"]
    by_name = {r["resource_name"]: r for r in resources}
    assert by_name["v"]["resource_status"] == "CREATE_COMPLETE"
    assert by_name["v"]["required_by"] == ["t"]
    one = client.get(f"/v1/t1/stacks/web/{stack_id}/resources/t?with_attr=output").json
    assert one["resource"]["attributes"] == {"output": "hello"}
    bad = client.get(f"/v1/t1/stacks/web/{stack_id}/resources?colour=red")
    assert bad.status_code == 400
    events = client.get(f"/v1/t1/stacks/web/{stack_id}/events").json["events"]
    assert events[0]["resource_name"] == "web"
    assert events[0]["resource_status"] == "CREATE_IN_PROGRESS"
    assert events[-1]["resource_status"] == "CREATE_COMPLETE"
    only_v = client.get(f"/v1/t1/stacks/web/{stack_id}/resources/v/events").json["events"]
    assert {e["resource_name"] for e in only_v} == {"v"} and len(only_v) == 2


def test_update_patch_preview_and_delete(client, app):
    stack_id = create(client, app)
    preview = client.patch(f"/v1/t1/stacks/web/{stack_id}/preview",
                           json={"parameters": {"p": "bye"}})
    assert preview.status_code == 200
    changes = preview.json["resource_changes"]
    assert set(changes) == {"unchanged", "updated", "replaced", "added", "deleted"}
    response = client.patch(f"/v1/t1/stacks/web/{stack_id}", json={"parameters": {"p": "bye"}})
    assert response.status_code == 202
    wait(app, stack_id)
    shown = client.get(f"/v1/t1/stacks/web/{stack_id}").json["stack"]
    assert shown["stack_status"] == "UPDATE_COMPLETE"
    assert shown["outputs"][0]["output_value"] == "bye"
    assert client.delete(f"/v1/t1/stacks/web/{stack_id}").status_code == 204
    wait(app, stack_id)
    assert client.get("/v1/t1/stacks").json["stacks"] == []
    gone = client.get(f"/v1/t1/stacks/web/{stack_id}").json["stack"]
    assert gone["stack_status"] == "DELETE_COMPLETE" and "outputs" in gone


def test_bad_input_is_a_clear_400(client, app):
    bad = client.post("/v1/t1/stacks", json={"stack_name": "x", "template": hot({
        "a": {"type": "OS::Heat::Value", "properties": {"value": 1, "extra": 2}}})})
    assert bad.status_code == 400
    assert "resources.a.properties.extra" in bad.json["error"]["message"]
    cycle = client.post("/v1/t1/stacks", json={"stack_name": "x", "template": hot({
        "a": {"type": "OS::Heat::None", "depends_on": "b"},
        "b": {"type": "OS::Heat::None", "depends_on": "a"}})})
    assert cycle.status_code == 400 and "a -> b -> a" in cycle.json["error"]["message"]
    name = client.post("/v1/t1/stacks", json={"stack_name": "1bad", "template": TEMPLATE})
    assert name.status_code == 400 and "stack_name" in name.json["error"]["message"]
    text = client.post("/v1/t1/stacks", json={"stack_name": "y",
                                              "template": "heat_template_version: 2018-08-31\n"
                                                          "resources:\n  a: [oops\n"})
    assert text.status_code == 400
    create(client, app)
    again = client.post("/v1/t1/stacks", json={"stack_name": "web", "template": TEMPLATE})
    assert again.status_code == 409


def test_validate_and_preview(client, app):
    validated = client.post("/v1/t1/validate", json={"template": TEMPLATE})
    assert validated.status_code == 200, validated.json
    assert "Parameters" in validated.json and "p" in validated.json["Parameters"]
    preview = client.post("/v1/t1/stacks/preview", json={"stack_name": "pv", "template": TEMPLATE})
    assert preview.status_code == 200
    assert {r["resource_name"] for r in preview.json["stack"]["resources"]} == {"v", "t"}
    assert client.get("/v1/t1/stacks").json["stacks"] == []


def test_auth_is_required_and_tenant_checked(client, app):
    assert client.get("/v1/t1/stacks", headers={"X-Auth-Token": "wrong"}).status_code == 401


def test_wait_condition_signal_by_signed_url(client, app):
    template = hot({"handle": {"type": "OS::Heat::WaitConditionHandle"},
                    "wait": {"type": "OS::Heat::WaitCondition", "properties": {
                        "handle": {"get_resource": "handle"}, "timeout": 30}}},
                   {"url": {"value": {"get_attr": ["handle", "endpoint"]}}})
    response = client.post("/v1/t1/stacks", json={"stack_name": "wc", "template": template})
    stack_id = response.json["stack"]["id"]
    engine = app.extensions["stoker-engine"]
    stack = engine.stacks.get_stack(stack_id)
    # the handle is created first; its URL is known once it is
    url = wait_for(lambda: engine.outputs(stack)[0]["output_value"], what="the handle's URL")
    path = url.replace("http://stoker.test", "")
    forged = client.post(path.split("?")[0] + "?sig=forged", json={},
                         headers={"X-Auth-Token": ""})
    assert forged.status_code == 403
    ok = client.post(path, json={"status": "SUCCESS", "data": "d"}, headers={"X-Auth-Token": ""})
    assert ok.status_code == 200, ok.json
    assert wait(app, stack_id)["status"] == "COMPLETE"


def test_cancel_action(client, app):
    stack_id = create(client, app)
    slow = hot({"t": {"type": "OS::Heat::TestResource", "properties": {"wait_secs": 600}}})
    client.put(f"/v1/t1/stacks/web/{stack_id}", json={"template": slow})
    both = client.post(f"/v1/t1/stacks/web/{stack_id}/actions",
                       json={"cancel_update": None, "suspend": None})
    assert both.status_code == 400
    response = client.post(f"/v1/t1/stacks/web/{stack_id}/actions", json={"cancel_update": None})
    assert response.status_code == 200, response.json
    assert wait(app, stack_id)["action"] == "ROLLBACK"


def test_resource_types_lists_the_registry(client, app):
    types = client.get("/v1/t1/resource_types").json["resource_types"]
    assert "OS::Heat::SoftwareDeployment" in types and "OS::Neutron::Net" in types


def test_mark_unhealthy_then_update_replaces(client, app):
    stack_id = create(client, app)
    path = f"/v1/t1/stacks/web/{stack_id}/resources/t"
    before = client.get(path).json["resource"]["physical_resource_id"]
    bad = client.patch(path, json={"mark_unhealthy": True, "colour": "red"})
    assert bad.status_code == 400
    response = client.patch(path, json={"mark_unhealthy": True,
                                        "resource_status_reason": "disk on fire"})
    assert response.status_code == 200, response.json
    shown = client.get(path).json["resource"]
    assert shown["resource_status"] == "CHECK_FAILED"
    assert shown["resource_status_reason"] == "disk on fire"
    client.patch(f"/v1/t1/stacks/web/{stack_id}", json={})
    wait(app, stack_id)
    after = client.get(path).json["resource"]
    assert after["resource_status"] == "CREATE_COMPLETE"
    assert after["physical_resource_id"] != before  # replaced


def test_check_and_export(client, app):
    stack_id = create(client, app)
    assert client.post(f"/v1/t1/stacks/web/{stack_id}/actions",
                       json={"check": None}).status_code == 200
    wait(app, stack_id)
    shown = client.get(f"/v1/t1/stacks/web/{stack_id}").json["stack"]
    assert shown["stack_status"] == "CHECK_COMPLETE"
    resource = client.get(f"/v1/t1/stacks/web/{stack_id}/resources/v").json["resource"]
    assert resource["resource_status_reason"] == "CHECK not supported for OS::Heat::Value"
    exported = client.get(f"/v1/t1/stacks/web/{stack_id}/export").json
    assert exported["id"] == stack_id and set(exported["resources"]) == {"v", "t"}
    assert exported["template"]["heat_template_version"] == "2018-08-31"


@pytest.mark.parametrize("template, description", [
    ("heat_template_version: 2018-08-31\ndescription: sent as text\n"
     "resources:\n  v: {type: OS::Heat::Value, properties: {value: 1}}\n", "sent as text"),
    ("AWSTemplateFormatVersion: '2010-09-09'\nDescription: a CFN one\n"
     "Resources:\n  v: {Type: OS::Heat::Value, Properties: {value: 1}}\n", "a CFN one"),
    (hot({"v": {"type": "OS::Heat::Value", "properties": {"value": 1}}}), "No description"),
], ids=["hot-text", "cfn-text", "no-description"])
def test_show_and_list_give_the_templates_description(client, app, template, description):
    stack_id = create(client, app, "described", template)
    assert client.get(f"/v1/t1/stacks/described/{stack_id}").json["stack"][
        "description"] == description
    listed = {s["id"]: s for s in client.get("/v1/t1/stacks").json["stacks"]}
    assert listed[stack_id]["description"] == description
    patched = "heat_template_version: 2018-08-31\ndescription: updated\nresources: {}\n"
    assert client.patch(f"/v1/t1/stacks/described/{stack_id}",
                        json={"template": patched}).status_code == 202
    wait(app, stack_id)
    assert client.get(f"/v1/t1/stacks/described/{stack_id}").json["stack"][
        "description"] == "updated"
