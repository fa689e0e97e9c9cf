"""Abandon and adopt through the engine (both databases): the abandon body is Heat's, the
stack goes and its resources stay, and adopting the body makes a stack over the same physical
resources and data, ADOPT_COMPLETE; a body stoker cannot honour is refused before anything is
stored."""
from __future__ import annotations

import json
import uuid

import pytest

from engine_helpers import hot, run, states, wait_for
from metadata_server.engine.errors import StackNotFound
from metadata_server.service import signals
from metadata_server.service.clock import system_clock
from metadata_server.service.errors import InvalidInput

pytestmark = pytest.mark.timeout(60)

RAND = {"type": "OS::Heat::RandomString", "properties": {"length": 12}}
VAL = {"type": "OS::Heat::Value", "properties": {"value": {"str_replace": {
    "template": "pw=$R", "params": {"$R": {"get_attr": ["rand", "value"]}}}}}}
OUTPUTS = {"pw": {"value": {"get_attr": ["val", "value"]}},
           "rand_ref": {"value": {"get_resource": "rand"}}}
CONFIG = {"type": "OS::Heat::SoftwareConfig", "properties": {
    "group": "script", "config": "#!/bin/sh\necho hi\n", "outputs": [{"name": "result"}]}}
SERVER = {"type": "OS::Heat::DeployedServer", "properties": {}}
DEPLOY = {"type": "OS::Heat::SoftwareDeployment", "properties": {
    "config": {"get_resource": "config"}, "server": {"get_resource": "server"}}}
HANDLE = {"type": "OS::Heat::WaitConditionHandle"}
WAIT = {"type": "OS::Heat::WaitCondition", "properties": {
    "handle": {"get_resource": "handle"}, "timeout": 30}}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # stacks outlive a test on PostgreSQL


def _outputs(engine, stack) -> dict:
    return {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}


def _created(engine, resources, outputs=None, name=None) -> dict:
    stack = engine.create_stack("t1", {"stack_name": name or _name("src"),
                                       "template": hot(resources, outputs)})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    return stack


def test_abandon_gives_heats_body_and_adopt_takes_the_same_resources_back(engine):
    stack = _created(engine, {"rand": RAND, "val": VAL}, OUTPUTS)
    before = _outputs(engine, stack)
    physical = {r["name"]: r["physical_id"] for r in engine.resources(stack)}

    data = engine.abandon_stack("t1", stack["id"])

    assert set(data) == {"name", "id", "action", "status", "template", "environment", "files",
                         "project_id", "stack_user_project_id", "tags", "resources"}
    assert (data["id"], data["action"], data["status"]) == (stack["id"], "CREATE", "COMPLETE")
    assert data["environment"] == {"parameters": {}, "parameter_defaults": {},
                                   "resource_registry": {"resources": {}}, "event_sinks": []}
    rand = data["resources"]["rand"]
    assert set(rand) == {"name", "resource_id", "type", "action", "status", "metadata",
                         "resource_data"}
    assert rand["resource_data"]["value"] == before["rand_ref"]
    with pytest.raises(StackNotFound):
        engine.get_stack("t1", stack["id"])
    assert engine.stacks.resources(stack["id"]) == []

    adopted = engine.create_stack("t1", {"stack_name": _name("adopted"),
                                         "adopt_stack_data": json.dumps(data)})
    assert adopted["action"] == "ADOPT"
    adopted = run(engine, adopted["id"])
    assert (adopted["action"], adopted["status"]) == ("ADOPT", "COMPLETE")
    assert adopted["status_reason"] == "Stack ADOPT completed successfully"
    assert states(engine, adopted) == {"rand": "ADOPT_COMPLETE", "val": "ADOPT_COMPLETE"}
    assert {r["name"]: r["physical_id"] for r in engine.resources(adopted)} == physical
    assert _outputs(engine, adopted) == before
    events = [(e["resource_name"], e["action"], e["status"])
              for e in engine.events(adopted)]
    assert events[0][1:] == ("ADOPT", "IN_PROGRESS") and events[-1][1:] == ("ADOPT", "COMPLETE")
    # an adopted stack updates and deletes as any other
    engine.delete_stack("t1", adopted["id"])
    assert run(engine, adopted["id"])["action"] == "DELETE"


def test_deployment_and_wait_condition_data_survive_the_round_trip(engine, store):
    stack = _created(engine, {"config": CONFIG, "server": SERVER},
                     name=_name("sw"))
    stack = engine.update_stack("t1", stack["id"], {"template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": DEPLOY, "handle": HANDLE,
         "wait": WAIT}, {"result": {"value": {"get_attr": ["deploy", "result"]}},
                         "data": {"value": {"get_attr": ["wait", "data"]}}})})
    deploy = wait_for(lambda: (engine.find_resource(stack["id"], "deploy") or {}).get(
        "physical_id"), what="the deployment")
    wait_for(lambda: store.get_deployment(deploy), what="the deployment record")
    signals.signal_deployment(store, system_clock, deploy, {"deploy_status_code": 0,
                                                            "result": "done"})
    engine.signal_resource("t1", stack["id"], "handle", {"id": "1", "data": "ready"})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    before = _outputs(engine, stack)
    assert before == {"result": "done", "data": '{"1": "ready"}'}

    data = engine.abandon_stack("t1", stack["id"])
    assert data["resources"]["deploy"]["resource_data"]["output_values"]["result"] == "done"
    assert data["resources"]["handle"]["resource_data"]["signals"]["1"]["data"] == "ready"
    server = data["resources"]["server"]["resource_id"]
    # nothing was deleted: the server is registered and its deployment still there
    assert store.get_server(server) is not None
    assert store.get_deployment(deploy).output_values["result"] == "done"

    adopted = run(engine, engine.create_stack("t1", {
        "stack_name": _name("sw2"), "adopt_stack_data": json.dumps(data)})["id"])
    assert (adopted["action"], adopted["status"]) == ("ADOPT", "COMPLETE"), \
        adopted["status_reason"]
    assert _outputs(engine, adopted) == before
    assert engine.find_resource(adopted["id"], "deploy")["physical_id"] == deploy
    # deleting the adopted stack deletes what it adopted
    engine.delete_stack("t1", adopted["id"])
    assert run(engine, adopted["id"])["status"] == "COMPLETE"
    assert store.get_server(server) is None and store.get_deployment(deploy) is None


def _abandoned(engine) -> dict:
    return engine.abandon_stack("t1", _created(engine, {"rand": RAND, "val": VAL}, OUTPUTS)["id"])


def _refused(engine, body: dict) -> str:
    name = body.setdefault("stack_name", _name("bad"))
    with pytest.raises(InvalidInput) as caught:
        engine.create_stack("t1", body)
    with pytest.raises(StackNotFound):
        engine.get_stack("t1", name)   # never a silent new stack
    return caught.value.message


def test_an_adopt_body_stoker_cannot_honour_is_refused_naming_the_fault(engine):
    data = _abandoned(engine)
    assert "not valid JSON" in _refused(engine, {"adopt_stack_data": "{nope"})
    assert _refused(engine, {"adopt_stack_data": "[1]"}).startswith(
        "adopt_stack_data: must be a stack's abandon data (an object)")

    extra = json.loads(json.dumps(data))
    extra["resources"]["ghost"] = dict(extra["resources"]["rand"], name="ghost")
    assert _refused(engine, {"adopt_stack_data": json.dumps(extra)}) == (
        "adopt_stack_data.resources: ghost not in the template (its resources: rand, val)")

    missing = json.loads(json.dumps(data))
    del missing["resources"]["val"]
    assert "no entry for the template's val" in _refused(
        engine, {"adopt_stack_data": json.dumps(missing)})

    no_id = json.loads(json.dumps(data))
    no_id["resources"]["rand"]["resource_id"] = None
    assert _refused(engine, {"adopt_stack_data": json.dumps(no_id)}) == (
        "adopt_stack_data.resources.rand.resource_id: Resource ID was not provided.")

    other = hot({"rand": {"type": "OS::Heat::None"}, "val": VAL})
    assert _refused(engine, {"adopt_stack_data": json.dumps(data), "template": other}) == (
        "adopt_stack_data.resources.rand.type: OS::Heat::RandomString does not match the "
        "template's OS::Heat::None")

    bad_data = json.loads(json.dumps(data))
    bad_data["resources"]["rand"]["resource_data"] = "value"
    assert "resources.rand.resource_data: must be an object" in _refused(
        engine, {"adopt_stack_data": json.dumps(bad_data)})

    group = json.loads(json.dumps(data))
    group["template"] = hot({"rand": RAND, "val": {"type": "OS::Heat::ResourceGroup",
                                                   "properties": {"resource_def": {
                                                       "type": "OS::Heat::None"}}}})
    group["resources"]["val"]["type"] = "OS::Heat::ResourceGroup"
    assert "stoker cannot adopt a OS::Heat::ResourceGroup" in _refused(
        engine, {"adopt_stack_data": json.dumps(group)})


def test_an_adopted_resource_that_is_not_there_fails_the_adopt(engine, store):
    data = _abandoned(engine)
    data["template"] = hot({"server": SERVER})
    data["resources"] = {"server": {"name": "server", "type": "OS::Heat::DeployedServer",
                                    "resource_id": str(uuid.uuid4()), "resource_data": {}}}
    stack = run(engine, engine.create_stack("t1", {"stack_name": _name("gone"),
                                                   "adopt_stack_data": data})["id"])
    assert (stack["action"], stack["status"]) == ("ADOPT", "FAILED")
    assert "is not one of this tenant's servers" in stack["status_reason"]


def test_an_abandoned_stacks_snapshots_and_nested_stacks_go_with_it(engine):
    stack = _created(engine, {"rand": RAND, "group": {
        "type": "OS::Heat::ResourceGroup", "properties": {"count": 2, "resource_def": RAND}}})
    engine.snapshot_stack("t1", stack["id"], {"name": "s"})
    run(engine, stack["id"])
    children = engine.stacks.children(stack["id"])
    assert len(children) == 1
    data = engine.abandon_stack("t1", stack["id"])
    assert data["resources"]["group"]["resource_id"] == children[0]["id"]
    assert engine.stacks.get_stack(children[0]["id"]) is None
    assert engine.stacks.list_snapshots(stack["id"]) == []


@pytest.mark.parametrize("action", ["ADOPT", "SNAPSHOT", "ABANDON"])
def test_an_interrupted_adopt_snapshot_or_abandon_is_failed_not_resumed(store, driver, action):
    """Resuming them would create what an adopt takes over (or half a snapshot): the engine
    that takes the stack over marks it FAILED, saying why."""
    from datetime import datetime

    from engine_helpers import ENDPOINTS
    from metadata_server.engine.recovery import STACK_INTERRUPTED
    from metadata_server.engine.stack import Engine
    from metadata_server.service.clock import system_clock

    first = Engine(store, system_clock, driver=driver, endpoints=ENDPOINTS, poll_interval=0.02)
    try:
        stack = _created(first, {"rand": RAND})
        value = first.find_resource(stack["id"], "rand")["data"]["value"]
    finally:
        first.close()
    # as a stopped engine leaves it: IN_PROGRESS, its heartbeat long gone
    first.stacks.update_stack(stack["id"], {"action": action, "status": "IN_PROGRESS",
                                            "engine_id": "gone",
                                            "heartbeat_at": datetime(2020, 1, 1)})
    second = Engine(store, system_clock, driver=driver, endpoints=ENDPOINTS, poll_interval=0.02)
    try:
        row = second.wait(stack["id"], 30)
        assert (row["action"], row["status"]) == (action, "FAILED")
        assert row["status_reason"] == STACK_INTERRUPTED.format(action=action)
        assert second.find_resource(stack["id"], "rand")["data"]["value"] == value
    finally:
        second.close()
