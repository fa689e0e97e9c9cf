"""The snapshot routes through the REST API (both databases), against real Heat's bodies
(conformance/api-shapes.json: snapshot_create_response, snapshot_list, snapshot_show,
restore_effect, events_snapshot_restore)."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import shared_dir

pytestmark = pytest.mark.timeout(120)

TEMPLATE = {"heat_template_version": "2018-08-31", "resources": {
    "rand": {"type": "OS::Heat::RandomString", "properties": {"length": 12}},
    "val": {"type": "OS::Heat::Value", "properties": {"value": {"str_replace": {
        "template": "pw=$R", "params": {"$R": {"get_attr": ["rand", "value"]}}}}}}},
    "outputs": {"pw": {"value": {"get_attr": ["val", "value"]}},
                "rand_ref": {"value": {"get_resource": "rand"}}}}
RECORD_KEYS = {"action", "creation_time", "data", "id", "name", "status", "status_reason"}


def _shapes() -> dict:
    root = shared_dir()
    if root is None:
        return {}
    return json.loads((root / "conformance" / "api-shapes.json").read_text())["shapes"]


def test_the_record_keys_are_heats():
    shapes = _shapes()
    if not shapes:
        pytest.skip("shared conformance data not found (set STOKER_SHARED_DIR)")
    assert set(shapes["snapshot_create_response"]["body"]) == RECORD_KEYS
    assert set(shapes["snapshot_show"]["body"]["snapshot"]) == RECORD_KEYS
    (listed,) = shapes["snapshot_list"]["body"]["snapshots"]
    assert set(listed) == RECORD_KEYS


def test_snapshot_list_show_restore_delete(app, api):
    name = f"snap-demo-{uuid.uuid4().hex[:6]}"
    created = api.post("/v1/t1/stacks", {"stack_name": name, "template": TEMPLATE})
    stack_id = created.json["stack"]["id"]
    engine = app.extensions["stoker-engine"]
    engine.wait(stack_id, 30)
    base = f"/v1/t1/stacks/{name}/{stack_id}"
    before = api.get(base).json["stack"]["outputs"]

    made = api.post(f"{base}/snapshots", {"name": "snap1"})
    assert made.status_code == 200, made.json
    assert set(made.json) == RECORD_KEYS
    assert (made.json["status"], made.json["data"], made.json["action"]) == (
        "IN_PROGRESS", None, "CREATE")
    engine.wait(stack_id, 30)
    shown = api.get(base).json["stack"]
    assert (shown["stack_status"], shown["stack_status_reason"]) == (
        "SNAPSHOT_COMPLETE", "Stack SNAPSHOT completed successfully")

    listed = api.get(f"{base}/snapshots")
    assert listed.status_code == 200
    (record,) = listed.json["snapshots"]
    assert set(record) == RECORD_KEYS and record["status"] == "COMPLETE"
    assert record["status_reason"] == "Stack SNAPSHOT completed successfully"
    assert record["data"]["template"] == TEMPLATE
    one = api.get(f"{base}/snapshots/{made.json['id']}")
    assert one.status_code == 200 and one.json == {"snapshot": record}

    # the stack moves on, then goes back
    changed = dict(TEMPLATE, resources=dict(TEMPLATE["resources"], rand={
        "type": "OS::Heat::RandomString", "properties": {"length": 20}}))
    assert api.put(base, {"template": changed}).status_code == 202
    engine.wait(stack_id, 30)
    assert api.get(base).json["stack"]["outputs"] != before

    restored = api.post(f"{base}/snapshots/{made.json['id']}/restore")
    assert restored.status_code == 202 and restored.get_data() == b""
    engine.wait(stack_id, 30)
    after = api.get(base).json["stack"]
    assert (after["stack_status"], after["stack_status_reason"]) == (
        "RESTORE_COMPLETE", "Stack RESTORE completed successfully")
    assert after["outputs"] == before
    assert api.get(f"{base}/template").json == TEMPLATE
    events = api.get(f"{base}/events").json["events"]
    # the stack's own events as in Heat's recorded run (events_snapshot_restore), with the
    # update in between, which that run did not make
    assert [e["resource_status_reason"] for e in events if e["resource_name"] == name] == [
        "Stack CREATE started", "Stack CREATE completed successfully",
        "Stack SNAPSHOT started", "Stack SNAPSHOT completed successfully",
        "Stack UPDATE started", "Stack UPDATE completed successfully",
        "Stack RESTORE started", "Stack RESTORE completed successfully"]

    assert api.delete(f"{base}/snapshots/{made.json['id']}").status_code == 204
    assert api.get(f"{base}/snapshots").json == {"snapshots": []}
    gone = api.get(f"{base}/snapshots/{made.json['id']}")
    assert gone.status_code == 404 and gone.json["error"]["type"] == "NotFound"
