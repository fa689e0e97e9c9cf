"""The engine on its in-memory Store seam (store_fake.MemoryStackStore) with a clock that moves
only when the test moves it: create, update, rollback, delete and a takeover, with no database
(the resources used need none)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine_helpers import ENDPOINTS, hot
from metadata_server.engine.drivers import FakeDriver
from metadata_server.engine.recovery import INTERRUPTED, STACK_INTERRUPTED
from metadata_server.engine.stack import Engine
from metadata_server.engine.store_fake import MemoryStackStore
from metadata_server.store.stack_records import StackRecord

T0 = datetime(2026, 1, 2, 3, 4, 5)


class StillClock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return StillClock()


@pytest.fixture
def stacks():
    return MemoryStackStore()


@pytest.fixture
def driver():
    return FakeDriver()


@pytest.fixture
def engine(stacks, clock, driver):
    eng = Engine(None, clock, stacks=stacks, driver=driver, endpoints=ENDPOINTS,
                 poll_interval=0.01, heartbeat_interval=3600)
    yield eng
    eng.close()


def volume(size=1) -> dict:
    return {"type": "OS::Cinder::Volume", "properties": {"size": size}}


def chained(value="x", **more) -> dict:
    return hot({"a": {"type": "OS::Heat::Value", "properties": {"value": value}},
                "b": {"type": "OS::Heat::Value", "properties": {"value": {
                    "list_join": ["-", [{"get_attr": ["a", "value"]}, "b"]]}}}, **more},
               {"out": {"value": {"get_attr": ["b", "value"]}}})


def done(engine, stack_id) -> dict:
    stack = engine.wait(stack_id, timeout=10)
    assert stack["status"] != "IN_PROGRESS"
    return stack


def rows(engine, stack) -> dict[str, dict]:
    return {r["name"]: r for r in engine.resources(stack)}


def test_create_update_and_delete_of_a_small_stack(engine, stacks, clock, driver):
    stack = engine.create_stack("t1", {"stack_name": "s", "template": chained("x", v=volume())})
    stack = done(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("CREATE", "COMPLETE"), stack["status_reason"]
    assert stack["created_at"] == T0 and stack["engine_id"] is None
    assert engine.outputs(stack)[0]["output_value"] == "x-b"
    events = [(e["resource_name"], e["status"]) for e in engine.events(stack)]
    assert events[0] == ("s", "IN_PROGRESS") and events[-1] == ("s", "COMPLETE")
    assert events.index(("a", "COMPLETE")) < events.index(("b", "IN_PROGRESS"))
    created = rows(engine, stack)
    assert set(created) == {"a", "b", "v"} and created["v"]["physical_id"] in driver.objects

    clock.now = T0 + timedelta(minutes=1)
    engine.update_stack("t1", "s", {"template": chained("y", v=volume(2),
                                                        n={"type": "OS::Heat::None"})})
    stack = done(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("UPDATE", "COMPLETE"), stack["status_reason"]
    assert stack["updated_at"] == T0 + timedelta(minutes=1)
    assert engine.outputs(stack)[0]["output_value"] == "y-b"
    updated = rows(engine, stack)
    assert set(updated) == {"a", "b", "v", "n"}
    assert {name: updated[name]["id"] for name in "abv"} == {
        name: created[name]["id"] for name in "abv"}                # updated in place
    assert ("update", "volume", created["v"]["physical_id"]) in driver.calls

    engine.update_stack("t1", "s", {"template": chained("y")})      # v and n removed
    stack = done(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("UPDATE", "COMPLETE"), stack["status_reason"]
    assert set(rows(engine, stack)) == {"a", "b"} and driver.objects == {}
    assert {r["name"] for r in stacks.resources(stack["id"])} == {"a", "b"}

    clock.now = T0 + timedelta(minutes=2)
    engine.delete_stack("t1", "s")
    stack = done(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("DELETE", "COMPLETE"), stack["status_reason"]
    assert stack["deleted_at"] == T0 + timedelta(minutes=2)
    assert engine.list_stacks("t1") == [] and stacks.count_stacks("t1") == 0


def test_failed_create_rolls_back_what_it_made(engine, driver):
    stack = engine.create_stack("t1", {"stack_name": "s", "disable_rollback": False,
                                       "template": hot({
        "v": volume(),
        "bad": {"type": "OS::Heat::TestResource", "properties": {"fail": True},
                "depends_on": ["v"]}})})
    stack = done(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("ROLLBACK", "COMPLETE")
    assert driver.objects == {} and [c[0] for c in driver.calls] == ["create", "delete"]
    reasons = [e["status_reason"] for e in engine.events(stack) if e["resource_name"] == "s"]
    assert reasons[1].startswith("Resource CREATE failed: ") and reasons[2:] == [
        "Stack ROLLBACK started", "Stack ROLLBACK completed successfully"]


def test_an_update_that_fails_rolls_back_to_the_old_definition(engine):
    stack = engine.create_stack("t1", {"stack_name": "s", "template": chained("x")})
    done(engine, stack["id"])
    engine.update_stack("t1", "s", {"disable_rollback": False, "template": chained(
        "y", bad={"type": "OS::Heat::TestResource", "properties": {"fail": True}})})
    stack = done(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("ROLLBACK", "COMPLETE"), stack["status_reason"]
    assert stack["definition"]["template"] == chained("x")
    assert engine.outputs(stack)[0]["output_value"] == "x-b"
    assert set(rows(engine, stack)) == {"a", "b"}


def test_an_operation_whose_engine_stopped_is_failed_by_the_next_one(stacks, clock, driver):
    stacks.insert_stack(StackRecord.creating("s1", "t1", "s", {"template": chained("x")},
                                             T0, "gone-engine"))
    stacks.apply([{"id": "r1", "stack_id": "s1", "name": "a", "type": "OS::Heat::Value",
                   "physical_id": None, "action": "CREATE", "status": "IN_PROGRESS",
                   "status_reason": "", "definition": None, "properties": None, "data": {},
                   "attributes": None, "replaced_by": None, "created_at": T0,
                   "updated_at": None}], [], [], [])
    clock.now = T0 + timedelta(seconds=31)        # past stale_after: its heartbeat stopped
    engine = Engine(None, clock, stacks=stacks, driver=driver, resume=False,
                    heartbeat_interval=3600)
    try:
        stack = stacks.get_stack("s1")
        assert (stack["action"], stack["status"], stack["status_reason"]) == (
            "CREATE", "FAILED", STACK_INTERRUPTED.format(action="CREATE"))
        (row,) = stacks.resources("s1")
        assert (row["status"], row["status_reason"]) == (
            "FAILED", INTERRUPTED.format(action="CREATE"))
        assert engine.recover() == []                # taken over once
    finally:
        engine.close()
