"""Per-tenant and per-stack limits: stacks per tenant, events kept per stack, template size,
signals kept per wait condition handle."""
from __future__ import annotations

import json

import pytest

from tests.abuse.limits_app import create, limited, refused, stored_stacks, wait  # noqa: F401

pytestmark = pytest.mark.timeout(60)

EMPTY = json.dumps({"heat_template_version": "2016-10-14"})


def test_stacks_per_tenant(limited):
    client = limited(max_stacks_per_tenant=2)
    for name in ("a", "b"):
        response = create(client, EMPTY, name=name)
        assert response.status_code == 201, response.json
        wait(client, response.json["stack"]["id"])
    message = refused(create(client, EMPTY, name="c"))
    assert message.startswith("You have reached the maximum stacks per tenant, 2.")
    assert "option --max-stacks-per-tenant" in message
    assert len(stored_stacks(client)) == 2
    other = create(client, EMPTY, name="c", tenant="t2")   # another tenant has its own count
    assert other.status_code == 201, other.json
    first = stored_stacks(client)[0]
    assert client.delete(f"/v1/t1/stacks/{first['name']}/{first['id']}").status_code == 204
    wait(client, first["id"])
    assert create(client, EMPTY, name="c").status_code == 201


def test_nested_stacks_do_not_count_as_the_tenants(limited):
    client = limited(max_stacks_per_tenant=1)
    template = json.dumps({"heat_template_version": "2016-10-14", "resources": {"g": {
        "type": "OS::Heat::ResourceGroup",
        "properties": {"count": 2, "resource_def": {"type": "OS::Heat::None"}}}}})
    response = create(client, template)
    assert response.status_code == 201, response.json
    assert wait(client, response.json["stack"]["id"])["status"] == "COMPLETE"
    assert len(stored_stacks(client)) == 2


def test_events_kept_per_stack(limited):
    client = limited(max_events_per_stack=7)
    template = json.dumps({"heat_template_version": "2016-10-14", "resources": {
        f"v{i}": {"type": "OS::Heat::Value", "properties": {"value": i}} for i in range(10)}})
    response = create(client, template)
    stack = wait(client, response.json["stack"]["id"])
    events = client.get(f"/v1/t1/stacks/s/{stack['id']}/events").json["events"]
    assert len(events) == 7   # 22 were recorded; the newest are kept
    assert events[-1]["resource_status_reason"] == "Stack CREATE completed successfully"


def test_template_size(limited):
    client = limited(max_template_size=1000)
    template = json.dumps({"heat_template_version": "2016-10-14", "description": "x" * 1000})
    message = refused(create(client, template))
    assert "exceeds maximum allowed size (max_template_size 1000" in message
    nested = create(client, json.dumps({"heat_template_version": "2016-10-14", "resources": {
        "r": {"type": "big.yaml"}}}), files={"big.yaml": template})
    assert "max_template_size 1000" in refused(nested)
    assert stored_stacks(client) == []


def test_events_kept_per_stack_between_operations(limited):
    """Signals and mark-unhealthy record events without an operation ending: each keeps the
    stack within its events too."""
    client = limited(max_events_per_stack=5)
    template = json.dumps({"heat_template_version": "2016-10-14", "resources": {
        "h": {"type": "OS::Heat::WaitConditionHandle"}}})
    stack = wait(client, create(client, template).json["stack"]["id"])
    base = f"/v1/t1/stacks/s/{stack['id']}/resources/h"
    for i in range(8):
        response = client.post(f"{base}/signal", json={"id": str(i), "reason": f"signal {i}"})
        assert response.status_code == 200, response.json
    events = client.get(f"/v1/t1/stacks/s/{stack['id']}/events").json["events"]
    assert [e["resource_status_reason"] for e in events] == [
        f"status:SUCCESS reason:signal {i}" for i in range(3, 8)]
    for unhealthy in (True, False) * 4:
        response = client.patch(base, json={"mark_unhealthy": unhealthy})
        assert response.status_code == 200, response.json
    events = client.get(f"/v1/t1/stacks/s/{stack['id']}/events").json["events"]
    assert len(events) == 5
    assert events[-1]["resource_status"] == "CHECK_COMPLETE"


def test_signals_kept_per_wait_condition_handle(limited):
    client = limited(max_handle_signal_size=2000)
    template = json.dumps({"heat_template_version": "2016-10-14", "resources": {
        "h": {"type": "OS::Heat::WaitConditionHandle"}}})
    stack = wait(client, create(client, template).json["stack"]["id"])
    signal = f"/v1/t1/stacks/s/{stack['id']}/resources/h/signal"
    for i in range(3):
        response = client.post(signal, json={"id": str(i), "data": "x" * 500})
        assert response.status_code == 200, response.json
    message = refused(client.post(signal, json={"id": "3", "data": "x" * 500}))
    assert "more than the limit (max_handle_signal_size 2000, option " \
           "--max-handle-signal-size)" in message
    assert client.post(signal, json={"id": "2", "data": "y"}).status_code == 200   # replaces
    assert client.post(signal, json={"id": "3", "data": "x" * 500}).status_code == 200
    resource = client.get(f"/v1/t1/stacks/s/{stack['id']}/resources/h").json["resource"]
    assert resource["resource_status"] == "CREATE_COMPLETE"
