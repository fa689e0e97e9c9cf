"""A scaling group on two engines sharing one database (two nodes, or two workers): the resize
guard is the group's nested stack claimed in the database, not a lock of one process. While one
engine resizes, the other refuses a signal at once, and its stack update waits for the resize
and starts from the members it left. A resize an engine crash interrupts is continued by the
engine that takes it over, so the group's recorded members and its nested stack agree."""
from __future__ import annotations

import pytest

from engine_helpers import hot, run, wait_for
from metadata_server.service import signals
from restart_helpers import (CONFIG, SERVER, clock, crash, engines, reasons,  # noqa: F401
                             stored, take_over)
from restart_helpers import deploying as deploying_member

pytestmark = pytest.mark.timeout(90)


def group_template(config_id: str, server_id: str, cooldown: int = 0) -> dict:
    member = {"type": "OS::Heat::SoftwareDeployment", "properties": {
        "config": config_id, "server": server_id, "input_values": {"who": "member"}}}
    return hot({"asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
        "min_size": 0, "max_size": 3, "cooldown": cooldown,
        "resource": member}},
        "up": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"},
            "adjustment_type": "change_in_capacity", "scaling_adjustment": 1}}})


@pytest.fixture
def scaled(engines, store):
    """(engine, the group's stack, the server its members deploy to, a function making the
    group stack's template): the members are deployments, so a resize waits for their
    signals, as long as the test wants."""
    engine = engines()
    base = engine.create_stack("t1", {"stack_name": "base",
                                      "template": hot({"config": CONFIG, "server": SERVER})})
    assert run(engine, base["id"])["status"] == "COMPLETE"
    config, server = (stored(engine, base, n)["physical_id"] for n in ("config", "server"))

    def template(**options):
        return group_template(config, server, **options)
    stack = engine.create_stack("t1", {"stack_name": "grp", "template": template()})
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    return engine, stack, server, template


def deploying(store, server):
    return wait_for(lambda: next((d for d in store.list_deployments(server_id=server)
                                  if d.status == "IN_PROGRESS"), None),
                    what="a member's deployment handed to its server")


def group_reasons(engine, stack, count):
    def found():
        got = [r for r in reasons(engine, stack, "asg") if r.startswith("Scal")]
        return got if len(got) >= count else None
    return wait_for(found, what=f"{count} scaling events of the group")


def members_agree(engine, stack, size):
    group = stored(engine, stack, "asg")
    members = group["data"]["members"]
    child = engine.stacks.get_stack(group["physical_id"])
    assert (child["action"], child["status"]) == ("UPDATE", "COMPLETE"), child["status_reason"]
    nested = {r["name"]: r for r in engine.stacks.resources(child["id"])
              if not r.get("replaced_by")}
    assert len(members) == size and sorted(nested) == sorted(members)
    assert all(r["status"] == "COMPLETE" for r in nested.values())
    assert "resizing" not in group["data"]


def test_the_resize_guard_holds_across_engines(scaled, engines, store, clock):
    first, stack, server, template = scaled
    second = engines()
    first.signal_resource("t1", stack["id"], "up", {})
    member = deploying(store, server)  # the first engine's resize waits for its new member
    child = first.stacks.get_stack(stored(first, stack, "asg")["physical_id"])
    assert (child["status"], child["engine_id"]) == ("IN_PROGRESS", first.engine_id)

    resizing = stored(first, stack, "asg")["data"]
    assert len(resizing["members"]) == 1 and resizing["resizing"]["to"] == 1
    second.signal_resource("t1", stack["id"], "up", {})
    assert group_reasons(second, stack, 1) == [
        "Scaling refused (policy up): a scaling of the group is already running"]
    assert stored(second, stack, "asg")["data"] == resizing  # the refusal wrote nothing

    second.update_stack("t1", stack["id"], {"template": template(cooldown=5)})
    wait_for(lambda: stored(second, stack, "asg")["status"] == "IN_PROGRESS",
             what="the second engine's update reached the group")
    # it waits for the resize: the nested stack is still the first engine's
    assert first.stacks.get_stack(child["id"])["engine_id"] == first.engine_id
    signals.signal_deployment(store, clock, member.id, {"deploy_status_code": 0})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("UPDATE", "COMPLETE"), row["status_reason"]
    assert group_reasons(first, stack, 2)[-1] == (
        "Scaled from 0 to 1 (policy up, change_in_capacity : 1)")
    members_agree(second, stack, 1)  # the update started from the resize's member
    assert [d.id for d in store.list_deployments(server_id=server)] == [member.id]


def test_a_resize_interrupted_by_a_crash_is_continued_by_the_next_engine(scaled, engines,
                                                                        store, clock):
    first, stack, server, _ = scaled
    first.signal_resource("t1", stack["id"], "up", {})
    member = deploying(store, server)
    # the crash comes once the member's row knows its deployment (as in every restart test:
    # before that, the next engine cannot know the deployment exists and makes another)
    group = stored(first, stack, "asg")
    child = first.stacks.get_stack(group["physical_id"])
    assert deploying_member(first, store, child, group["data"]["members"][0]).id == member.id
    crash(first)
    signals.signal_deployment(store, clock, member.id, {"deploy_status_code": 0})
    second = take_over(engines, clock)
    assert group_reasons(second, stack, 1) == [
        "Scaling from 0 to 1 (policy up, change_in_capacity : 1) continued after an engine "
        "restart"]
    members_agree(second, stack, 1)
    # the member's deployment was waited for again, not run a second time
    assert [d.id for d in store.list_deployments(server_id=server)] == [member.id]
    # and the group scales on: its cooldown (0 s) counted from the continued resize's end
    second.signal_resource("t1", stack["id"], "up", {})
    deploying(store, server)


def test_a_stack_delete_stops_a_running_resize(scaled, store):
    engine, stack, server, _ = scaled
    engine.signal_resource("t1", stack["id"], "up", {})
    deploying(store, server)
    engine.delete_stack("t1", stack["id"])
    row = run(engine, stack["id"])
    assert (row["action"], row["status"]) == ("DELETE", "COMPLETE"), row["status_reason"]
    outcome = group_reasons(engine, stack, 1)[0]
    assert outcome.startswith("Scaling from 0 to 1 failed (policy up, change_in_capacity : 1)")


def test_a_resize_handed_on_by_a_graceful_stop_is_continued_at_once(scaled, engines, store,
                                                                   clock):
    first, stack, server, _ = scaled
    first.signal_resource("t1", stack["id"], "up", {})
    member = deploying(store, server)
    group = stored(first, stack, "asg")
    child = first.stacks.get_stack(group["physical_id"])
    deploying_member(first, store, child, group["data"]["members"][0])
    assert child["id"] in first.release()  # the nested stack is handed on with the rest
    second = engines()  # no clock move: a cleared heartbeat is taken over at once
    signals.signal_deployment(store, clock, member.id, {"deploy_status_code": 0})
    assert group_reasons(second, stack, 1) == [
        "Scaling from 0 to 1 (policy up, change_in_capacity : 1) continued after an engine "
        "restart"]
    members_agree(second, stack, 1)
    assert [d.id for d in store.list_deployments(server_id=server)] == [member.id]


def test_a_signal_refused_while_the_group_resizes_writes_nothing(engines, store, clock):
    """Two signals on two signal threads, both loaded before the first resize wrote anything:
    the second one, refused, must not write its older copy of the group back over what the
    running resize stored (a crash then would leave members and nested stack disagreeing)."""
    engine = engines(signal_workers=2)
    base = engine.create_stack("t1", {"stack_name": "base",
                                      "template": hot({"config": CONFIG, "server": SERVER})})
    run(engine, base["id"])
    config, server = (stored(engine, base, n)["physical_id"] for n in ("config", "server"))
    stack = engine.create_stack("t1", {"stack_name": "grp",
                                       "template": group_template(config, server)})
    run(engine, stack["id"])
    engine.signal_resource("t1", stack["id"], "up", {})
    engine.signal_resource("t1", stack["id"], "up", {})
    deploying(store, server)
    assert group_reasons(engine, stack, 1) == [
        "Scaling refused (policy up): a scaling of the group is already running"]
    data = stored(engine, stack, "asg")["data"]
    assert len(data["members"]) == 1 and data["resizing"]["to"] == 1
