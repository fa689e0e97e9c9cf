"""Snapshots and restore through the engine (both databases): the SNAPSHOT operation and its
record, a restore back to the snapshot's template, parameters and resource data, and the
limits."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from engine_helpers import ENDPOINTS, hot, run, states, wait_for
from metadata_server.engine.drivers import FakeDriver
from metadata_server.engine.errors import ActionInProgress, RequestLimitExceeded
from metadata_server.engine.limits import DEFAULT
from metadata_server.engine.stack import Engine
from metadata_server.service import signals
from metadata_server.service.clock import system_clock
from metadata_server.service.errors import InvalidInput, NotFound

pytestmark = pytest.mark.timeout(60)

RAND = {"type": "OS::Heat::RandomString", "properties": {"length": {"get_param": "length"}}}
VAL = {"type": "OS::Heat::Value", "properties": {"value": {"str_replace": {
    "template": "pw=$R", "params": {"$R": {"get_attr": ["rand", "value"]}}}}}}
PARAMS = {"length": {"type": "number", "default": 12}}
OUTPUTS = {"pw": {"value": {"get_attr": ["val", "value"]}}}


def _outputs(engine, stack) -> dict:
    return {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}


def _stack(engine, resources=None, outputs=OUTPUTS, **body) -> dict:
    stack = engine.create_stack("t1", {"stack_name": f"s-{uuid.uuid4().hex[:8]}", "template": hot(
        resources or {"rand": RAND, "val": VAL}, outputs, PARAMS), **body})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    return stack


def _snapshot(engine, stack, name="snap") -> dict:
    row = engine.snapshot_stack("t1", stack["id"], {"name": name})
    run(engine, stack["id"])
    return engine.show_snapshot("t1", stack["id"], row["id"])


def test_a_snapshot_is_an_operation_that_keeps_the_abandon_body(engine):
    stack = _stack(engine)
    value = engine.find_resource(stack["id"], "rand")["data"]["value"]
    row = engine.snapshot_stack("t1", stack["id"], {"name": "snap1"})
    assert (row["status"], row["data"], row["name"], row["action"]) == (
        "IN_PROGRESS", None, "snap1", "CREATE")
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"], stack["status_reason"]) == (
        "SNAPSHOT", "COMPLETE", "Stack SNAPSHOT completed successfully")
    assert states(engine, stack) == {"rand": "SNAPSHOT_COMPLETE", "val": "SNAPSHOT_COMPLETE"}
    shown = engine.show_snapshot("t1", stack["id"], row["id"])
    assert (shown["status"], shown["status_reason"]) == (
        "COMPLETE", "Stack SNAPSHOT completed successfully")
    data = shown["data"]
    assert (data["action"], data["status"]) == ("SNAPSHOT", "COMPLETE")
    assert data["resources"]["rand"]["resource_data"]["value"] == value
    assert data["resources"]["rand"]["action"] == "SNAPSHOT"
    assert [s["id"] for s in engine.list_snapshots("t1", stack["id"])] == [row["id"]]
    events = [(e["resource_name"], e["action"], e["status"], e["status_reason"])
              for e in engine.events(stack)][-6:]
    assert events[0][1:] == ("SNAPSHOT", "IN_PROGRESS", "Stack SNAPSHOT started")
    assert events[-1][1:] == ("SNAPSHOT", "COMPLETE", "Stack SNAPSHOT completed successfully")


def test_restore_brings_back_the_template_parameters_and_values(engine):
    stack = _stack(engine)
    before = _outputs(engine, stack)
    snap = _snapshot(engine, stack)
    # a new length replaces the RandomString; a new resource is added
    engine.update_stack("t1", stack["id"], {
        "template": hot({"rand": RAND, "val": VAL, "extra": {"type": "OS::Heat::None"}},
                        OUTPUTS, PARAMS), "parameters": {"length": 20}})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE" and _outputs(engine, stack) != before

    engine.restore_snapshot("t1", stack["id"], snap["id"])
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"], stack["status_reason"]) == (
        "RESTORE", "COMPLETE", "Stack RESTORE completed successfully")
    assert _outputs(engine, stack) == before
    assert set(states(engine, stack)) == {"rand", "val"}
    assert stack["definition"] == snap["definition"]
    assert engine.parameters(stack)["length"] == "12"
    reasons = [e["status_reason"] for e in engine.events(stack) if e["resource_name"] == stack["name"]]
    assert reasons[-2:] == ["Stack RESTORE started", "Stack RESTORE completed successfully"]


CONFIG = {"type": "OS::Heat::SoftwareConfig", "properties": {
    "group": "script", "config": "#!/bin/sh\n", "outputs": [{"name": "result"}]}}
SOFTWARE = {"config": CONFIG, "server": {"type": "OS::Heat::DeployedServer"},
            "deploy": {"type": "OS::Heat::SoftwareDeployment", "properties": {
                "config": {"get_resource": "config"}, "server": {"get_resource": "server"}}},
            "handle": {"type": "OS::Heat::WaitConditionHandle"}}


def test_restore_puts_back_deployment_outputs_and_wait_condition_signals(engine, store):
    stack = engine.create_stack("t1", {"stack_name": f"sw-{uuid.uuid4().hex[:8]}",
                                       "template": hot(SOFTWARE, {"result": {"value": {
                                           "get_attr": ["deploy", "result"]}}})})
    deploy = wait_for(lambda: (engine.find_resource(stack["id"], "deploy") or {}).get(
        "physical_id"), what="the deployment")
    wait_for(lambda: store.get_deployment(deploy), what="its record")
    signals.signal_deployment(store, system_clock, deploy, {"deploy_status_code": 0,
                                                            "result": "first"})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    engine.signal_resource("t1", stack["id"], "handle", {"id": "1", "data": "kept"})
    snap = _snapshot(engine, stack)
    assert snap["data"]["resources"]["deploy"]["resource_data"]["output_values"][
        "result"] == "first"
    # what happened since: the agent reported other outputs, the handle got another signal
    record = store.get_deployment(deploy)
    store.update_deployment(deploy, record.version, {"output_values": {"result": "later"}})
    engine.signal_resource("t1", stack["id"], "handle", {"id": "2", "data": "later"})
    assert _outputs(engine, stack)["result"] == "later"

    engine.restore_snapshot("t1", stack["id"], snap["id"])
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    assert _outputs(engine, stack)["result"] == "first"
    assert set(engine.find_resource(stack["id"], "handle")["data"]["signals"]) == {"1"}
    assert engine.find_resource(stack["id"], "deploy")["physical_id"] == deploy


def test_snapshots_are_refused_while_running_and_only_complete_ones_restore(engine):
    stack = engine.create_stack("t1", {"stack_name": f"slow-{uuid.uuid4().hex[:8]}",
                                       "template": hot({"t": {
                                           "type": "OS::Heat::TestResource", "properties": {
                                               "action_wait_secs": {"create": 30}}}})})
    with pytest.raises(ActionInProgress):
        engine.snapshot_stack("t1", stack["id"], {"name": "x"})
    engine.cancel("t1", stack["id"], rollback=False)
    stack = run(engine, stack["id"])
    failed = engine.stacks.list_snapshots(stack["id"])
    assert failed == []
    with pytest.raises(NotFound) as caught:
        engine.restore_snapshot("t1", stack["id"], "nope")
    assert caught.value.message == (f"The Snapshot (nope) for Stack ({stack['name']}) could "
                                    "not be found.")
    with pytest.raises(InvalidInput):
        engine.snapshot_stack("t1", stack["id"], {"name": 7})
    with pytest.raises(InvalidInput):
        engine.snapshot_stack("t1", stack["id"], {"label": "x"})


@pytest.fixture
def limited(store):
    def make(**limits):
        return Engine(store, system_clock, driver=FakeDriver(), endpoints=ENDPOINTS,
                      poll_interval=0.02, limits=dataclasses.replace(DEFAULT, **limits))
    made = []
    yield lambda **limits: made.append(make(**limits)) or made[-1]
    for engine in made:
        engine.close()


def test_snapshots_per_stack_are_limited_and_go_with_their_stack(limited):
    engine = limited(max_snapshots_per_stack=2)
    stack = _stack(engine)
    first, _ = _snapshot(engine, stack, "a"), _snapshot(engine, stack, "b")
    with pytest.raises(RequestLimitExceeded) as caught:
        engine.snapshot_stack("t1", stack["id"], {"name": "c"})
    assert "maximum snapshots per stack, 2" in caught.value.message
    engine.delete_snapshot("t1", stack["id"], first["id"])
    _snapshot(engine, stack, "c")
    assert [s["name"] for s in engine.list_snapshots("t1", stack["id"])] == ["b", "c"]

    engine.delete_stack("t1", stack["id"])
    assert run(engine, stack["id"])["action"] == "DELETE"
    assert engine.stacks.list_snapshots(stack["id"]) == []


def test_a_snapshot_over_its_size_limit_fails_saying_so(limited):
    engine = limited(max_snapshot_size=100)
    stack = _stack(engine)
    snap = _snapshot(engine, stack)
    assert snap["status"] == "FAILED" and "over max_snapshot_size 100" in snap["status_reason"]
    stack = engine.get_stack("t1", stack["id"])
    assert (stack["action"], stack["status"]) == ("SNAPSHOT", "FAILED")
    with pytest.raises(InvalidInput) as caught:
        engine.restore_snapshot("t1", stack["id"], snap["id"])
    assert caught.value.error_type == "NotSupported"


@pytest.mark.parametrize("kind", ["memory", "database"])
def test_both_stores_keep_snapshots_alike(kind, store):
    from datetime import datetime, timedelta

    from metadata_server.engine.store_fake import MemoryStackStore
    from metadata_server.store.stack_records import StackRecord
    from metadata_server.store.stacks import StackStore

    stacks = MemoryStackStore() if kind == "memory" else StackStore(store.engine)
    t0 = datetime(2026, 1, 2, 3, 4, 5)
    ids = [f"stack-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for stack_id in ids:
        stacks.insert_stack(StackRecord.creating(stack_id, "t1", stack_id, {}, t0, None))

    def snap(stack_id, n):
        row = {"id": f"{stack_id}-{n}", "stack_id": stack_id, "tenant": "t1", "name": str(n),
               "action": "CREATE", "status": "IN_PROGRESS", "status_reason": None, "data": None,
               "definition": {"template": {}}, "created_at": t0 + timedelta(seconds=10 - n)}
        stacks.insert_snapshot(row)
        return row["id"]

    first, second, other = snap(ids[0], 1), snap(ids[0], 2), snap(ids[1], 1)
    assert [r["id"] for r in stacks.list_snapshots(ids[0])] == [second, first]  # oldest first
    assert stacks.count_snapshots(ids[0]) == 2
    assert stacks.get_snapshot(ids[1], first) is None   # another stack's
    stacks.update_snapshot(first, {"status": "COMPLETE", "data": {"resources": {}}})
    assert stacks.get_snapshot(ids[0], first)["data"] == {"resources": {}}
    assert stacks.delete_snapshot(second) and not stacks.delete_snapshot(second)
    stacks.purge_stack(ids[0])
    assert stacks.get_stack(ids[0]) is None and stacks.list_snapshots(ids[0]) == []
    assert [r["id"] for r in stacks.list_snapshots(ids[1])] == [other]
