"""A stack update that changes a scaling group's member definition keeps the size a policy gave
it and updates the members in place, so they keep their names and ids."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from engine_helpers import ADMIN, hot
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)


def template(value: str) -> dict:
    return hot({
        "asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
            "min_size": 1, "max_size": 4, "rolling_updates": {"max_batch_size": 1},
            "resource": {"type": "OS::Heat::TestResource", "properties": {"value": value}}}},
        "up": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"},
            "adjustment_type": "exact_capacity", "scaling_adjustment": 3}}},
        {"url": {"value": {"get_attr": ["up", "alarm_url"]}},
         "refs": {"value": {"get_attr": ["asg", "refs_map"]}},
         "values": {"value": {"get_attr": ["asg", "outputs_list", "output"]}}})


def test_update_keeps_size_and_member_ids(app):
    client = app.test_client()
    client.environ_base["HTTP_X_AUTH_TOKEN"] = ADMIN
    created = client.post("/v1/t1/stacks", json={"stack_name": "roll", "template": template("a")})
    assert created.status_code == 201, created.json
    stack_id = created.json["stack"]["id"]
    engine = app.extensions["stoker-engine"]  # made by the first request
    engine.wait(stack_id, 30)
    base = f"/v1/t1/stacks/roll/{stack_id}"

    def outputs(status):
        stack = client.get(base).json["stack"]
        assert stack["stack_status"] == status, stack["stack_status_reason"]
        return {o["output_key"]: o.get("output_value") for o in stack["outputs"]}
    url = urlsplit(outputs("CREATE_COMPLETE")["url"])
    assert app.test_client().post(f"{url.path}?{url.query}", json={}).status_code == 200
    until(lambda: any(e["resource_status"] == "SIGNAL_COMPLETE" for e in client.get(
        f"{base}/resources/asg/events").json["events"]), 30, "the group's signal event")
    scaled = outputs("CREATE_COMPLETE")
    assert scaled["values"] == ["a", "a", "a"] and len(scaled["refs"]) == 3

    updated = client.put(base, json={"template": template("b")})
    assert updated.status_code == 202, updated.json
    engine.wait(stack_id, 30)
    after = outputs("UPDATE_COMPLETE")
    assert after["values"] == ["b", "b", "b"]
    assert after["refs"] == scaled["refs"]  # same member names, same physical ids
