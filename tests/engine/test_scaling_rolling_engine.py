"""A rolling update of a scaling group on the engine: min_in_service grows the group for the
update and shrinks it back, pause_time waits on the engine's clock (moved by the test), a cancel
ends the pause, and the members updated in place keep their ids."""
from __future__ import annotations

import pytest

from engine_helpers import hot, run, wait_for
from restart_helpers import clock, engines  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def template(value: str) -> dict:
    return hot({"asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
        "min_size": 1, "max_size": 4, "desired_capacity": 2,
        "rolling_updates": {"min_in_service": 2, "max_batch_size": 1, "pause_time": 60},
        "resource": {"type": "OS::Heat::TestResource", "properties": {"value": value}}}}},
        {"refs": {"value": {"get_attr": ["asg", "refs_map"]}},
         "values": {"value": {"get_attr": ["asg", "outputs", "output"]}}})


def outputs(engine, stack_id):
    row = engine.stacks.get_stack(stack_id)
    return {o["output_key"]: o.get("output_value") for o in engine.outputs(row)}


def group_row(engine, stack_id):
    return {r["name"]: r for r in engine.stacks.resources(stack_id)
            if not r.get("replaced_by")}["asg"]


def members(engine, stack_id):
    child = group_row(engine, stack_id)["physical_id"]
    return {r["name"]: r for r in engine.stacks.resources(child) if not r.get("replaced_by")}


def pausing(engine, stack_id, batch):
    """The group pauses after its `batch`-th batch (the members show it)."""
    def ready():
        data = group_row(engine, stack_id).get("data") or {}
        new = [n for n, r in members(engine, stack_id).items()
               if (r.get("properties") or {}).get("value") == "b"
               and r["status"] == "COMPLETE"]
        return data if data.get("paused_until") and len(new) == batch else None
    return wait_for(ready, what=f"the pause after batch {batch}")


def test_rolling_update_keeps_min_in_service_and_pauses_on_the_engine_clock(engines, clock):
    engine = engines()
    stack = engine.create_stack("t1", {"stack_name": "roll", "template": template("a")})
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    before = outputs(engine, stack["id"])
    assert list(before["values"].values()) == ["a", "a"]
    old = members(engine, stack["id"])

    engine.update_stack("t1", stack["id"], {"template": template("b")})
    # batch 1: one new member beside the two old ones, so two stay in service
    pausing(engine, stack["id"], 1)
    assert len(members(engine, stack["id"])) == 3
    assert engine.stacks.get_stack(stack["id"])["status"] == "IN_PROGRESS"
    clock.advance(60)
    pausing(engine, stack["id"], 2)  # batch 2: the oldest member updated in place
    clock.advance(60)
    row = run(engine, stack["id"])  # batch 3 drops the old member left, back to two
    assert (row["action"], row["status"]) == ("UPDATE", "COMPLETE"), row["status_reason"]
    after = outputs(engine, stack["id"])
    assert list(after["values"].values()) == ["b", "b"]
    kept = set(after["refs"]) & set(before["refs"])
    # Heat's plan (3, 1) x2, (2, 0): the member batch 1 created, and the oldest one updated in
    # place, which keeps its name and physical id
    assert len(kept) == 1
    for name in kept:
        assert after["refs"][name] == before["refs"][name]
        assert members(engine, stack["id"])[name]["physical_id"] == old[name]["physical_id"]


def test_cancel_during_the_pause_fails_the_update_at_once(engines, clock):
    engine = engines()
    stack = engine.create_stack("t1", {"stack_name": "roll", "disable_rollback": True,
                                       "template": template("a")})
    run(engine, stack["id"])
    engine.update_stack("t1", stack["id"], {"template": template("b")})
    pausing(engine, stack["id"], 1)
    engine.cancel("t1", stack["id"], rollback=False)
    row = run(engine, stack["id"])
    assert (row["action"], row["status"]) == ("UPDATE", "FAILED")


def test_a_rolling_update_an_engine_crash_interrupts_goes_on_with_the_rest(engines, clock):
    """The next engine continues the update: the rest of the pause (its end was kept), then the
    batches still due, planned from the members' definitions; nothing is updated twice."""
    from restart_helpers import crash, reasons, take_over

    first = engines()
    stack = first.create_stack("t1", {"stack_name": "roll", "template": template("a")})
    run(first, stack["id"])
    before = outputs(first, stack["id"])
    first.update_stack("t1", stack["id"], {"template": template("b")})
    data = pausing(first, stack["id"], 1)
    crash(first)
    clock.advance(-29)  # the takeover's minute then leaves 29 s of the 60 s pause
    second = take_over(engines, clock)
    wait_for(lambda: "UPDATE continued after an engine restart" in reasons(second, stack, "asg"),
             what="the group's update continued")
    assert group_row(second, stack["id"])["data"]["paused_until"] == data["paused_until"]
    assert second.stacks.get_stack(stack["id"])["status"] == "IN_PROGRESS"
    assert sorted((r.get("properties") or {}).get("value") for r in
                  members(second, stack["id"]).values()) == ["a", "a", "b"]  # still pausing
    clock.advance(29)
    pausing(second, stack["id"], 2)
    clock.advance(60)
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("UPDATE", "COMPLETE"), row["status_reason"]
    after = outputs(second, stack["id"])
    assert list(after["values"].values()) == ["b", "b"]
    assert len(set(after["refs"]) & set(before["refs"])) == 1
