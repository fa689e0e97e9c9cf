"""Resource plugins against the in-memory engine services (plugin_fakes): no Engine, no store."""
from __future__ import annotations

import json

import pytest

from metadata_server.engine.plugin_fakes import fake_context
from metadata_server.engine.resources.groups import ResourceGroup
from metadata_server.engine.resources.wait_condition import WaitCondition, WaitConditionFailed
from metadata_server.engine.walker import CancelToken

pytestmark = pytest.mark.timeout(20)


def _group(ctx, count):
    props = ResourceGroup.validate_properties("g", {
        "count": count, "resource_def": {"type": "OS::Heat::Value",
                                         "properties": {"value": "member-%index%"}}})
    return ResourceGroup("g", ctx, props)


def test_group_creates_its_members_as_a_child_stack_and_reads_them_back():
    ctx = fake_context()
    group = _group(ctx, 2)
    group.handle_create(CancelToken())

    child = ctx.children.children[group.physical_id]
    assert child.state == "CREATED"
    assert ctx.children.calls == [("create", group.physical_id),
                                  ("run_create", group.physical_id)]
    members = json.loads(child.definition["template"])["resources"]
    assert members == {str(i): {"type": "OS::Heat::Value",
                                "properties": {"value": f"member-{i}"}} for i in range(2)}

    child.members = {"0": {None: "ref-0", "value": {"a": 1}},
                     "1": {None: "ref-1", "value": {"a": 2}}}
    assert group.attribute("refs") == ["ref-0", "ref-1"]
    assert group.attribute("refs_map") == {"0": "ref-0", "1": "ref-1"}
    assert group.attribute_at("attributes", ("value", "1", "a")) == 2
    assert group.attribute("resource.1.value") == {"a": 2}


def test_group_update_sends_the_new_member_list_to_the_same_child():
    ctx = fake_context()
    group = _group(ctx, 1)
    group.handle_create(CancelToken())
    child_id = group.physical_id

    group.handle_update(dict(group.properties, count=3), {"count"}, CancelToken())

    assert ctx.children.calls[-1] == ("update", child_id)
    members = json.loads(ctx.children.children[child_id].definition["template"])["resources"]
    assert list(members) == ["0", "1", "2"]


def _wait_condition(ctx, count=1):
    props = WaitCondition.validate_properties("wc", {"handle": "h", "timeout": 10,
                                                     "count": count})
    return WaitCondition("wc", ctx, props)


def test_wait_condition_completes_from_the_handle_the_finder_returns():
    ctx = fake_context()
    ctx.finder.rows["stack-1"] = {"h": {"physical_id": "h-id", "data": {"signals": {
        "1": {"data": "hello", "reason": "ok", "status": "SUCCESS"}}}}}
    wc = _wait_condition(ctx)
    wc.handle_create(CancelToken())
    assert json.loads(wc.attribute("data")) == {"1": "hello"}
    assert "waiting_since" not in wc.data


def test_wait_condition_fails_with_the_failed_signals_reason():
    ctx = fake_context()
    ctx.finder.rows["stack-1"] = {"h": {"data": {"signals": {
        "1": {"data": None, "reason": "disk full", "status": "FAILURE"}}}}}
    with pytest.raises(WaitConditionFailed, match="disk full"):
        _wait_condition(ctx, count=2).handle_create(CancelToken())
