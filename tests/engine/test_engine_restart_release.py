"""A server that stops hands its operations on (release), and the engines of one host tell a
live engine from a dead one (liveness): the next engine takes over at once, without waiting for
the heartbeat to go stale."""
from __future__ import annotations

import os

import pytest

from engine_helpers import hot, run, wait_for
from metadata_server.engine.liveness import LockFileLiveness
from metadata_server.service import signals
from restart_helpers import (CONFIG, SERVER, clock, crash, deploying, deployment,  # noqa: F401
                             engines, reasons, server_deployments, stored)

pytestmark = pytest.mark.timeout(60)


def test_released_operation_stays_in_progress_and_the_next_engine_takes_it_at_once(
        engines, store, clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": deployment(input_values={"who": "a"})},
        {"result": {"value": {"get_attr": ["deploy", "result"]}}})})
    dep = deploying(first, store, stack)
    assert first.release(timeout=10) == [stack["id"]]
    assert first.runner.snapshot() == ([], [])  # its threads ended: nothing holds the process
    row = first.stacks.get_stack(stack["id"])
    assert (row["action"], row["status"], row["heartbeat_at"]) == ("CREATE", "IN_PROGRESS", None)
    assert stored(first, row, "deploy")["status"] == "IN_PROGRESS"  # not failed by the stop
    assert "cancelled" not in " ".join(reasons(first, row, "deploy"))
    assert store.get_deployment(dep.id).status == "IN_PROGRESS"

    second = engines()  # no clock advance: a released heartbeat is stale at once
    wait_for(lambda: stored(second, stack, "deploy").get("status_reason")
             == "CREATE continued after an engine restart", what="the deployment continued")
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0, "result": "ok"})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "COMPLETE"), row["status_reason"]
    assert server_deployments(second, store, stack) == [dep.id]
    assert second.outputs(row)[0]["output_value"] == "ok"


def test_released_nested_stack_is_continued_by_the_parent(engines, store, clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot({
        "config": CONFIG, "a": SERVER,
        "group": {"type": "OS::Heat::SoftwareDeploymentGroup", "properties": {
            "config": {"get_resource": "config"}, "servers": {"first": {"get_resource": "a"}}}}})})
    child_id = wait_for(lambda: stored(first, stack, "group").get("physical_id"),
                        what="the group's nested stack stored")
    child = first.stacks.get_stack(child_id)
    dep = deploying(first, store, child, "first")
    assert sorted(first.release(timeout=10)) == sorted([stack["id"], child_id])
    assert first.stacks.get_stack(child_id)["status"] == "IN_PROGRESS"

    second = engines()
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "COMPLETE"), row["status_reason"]
    assert stored(second, stack, "group")["physical_id"] == child_id  # not replaced
    server = second.find_resource(stack["id"], "a")["physical_id"]
    assert [d.id for d in store.list_deployments(server_id=server)] == [dep.id]


# -- a crashed engine of this host is known dead at once ------------------------------------
def test_liveness_tells_a_live_engine_from_a_dead_one_and_a_stranger(tmp_path):
    live, dead, checker = (LockFileLiveness(tmp_path) for _ in range(3))
    live.register("live")
    dead.register("dead")
    os.close(dead._held[1])  # its process died: the kernel drops the lock, the file stays
    assert checker.alive("live") is True
    assert checker.alive("dead") is False
    assert not (tmp_path / "engine-dead.lock").exists()  # cleaned up by whoever found it
    assert checker.alive("elsewhere") is None  # never ran here: only its heartbeat can tell
    live.release()
    assert checker.alive("live") is None


def test_crashed_engine_of_this_host_is_taken_over_without_waiting(engines, store, clock,
                                                                   tmp_path):
    first = engines(liveness=LockFileLiveness(tmp_path))
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": deployment()})})
    dep = deploying(first, store, stack)
    watching = engines(liveness=LockFileLiveness(tmp_path))  # alive first: left alone
    assert watching.recover() == []
    crash(first)
    os.close(first.liveness._held[1])  # the process is gone, and with it its lock
    second = engines(liveness=LockFileLiveness(tmp_path))  # no clock advance
    assert first.stacks.get_stack(stack["id"])["engine_id"] in (second.engine_id,
                                                                 watching.engine_id)
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    row = wait_for(lambda: (lambda r: r if r["status"] != "IN_PROGRESS" else None)(
        second.stacks.get_stack(stack["id"])), what="the resumed create to end")
    assert (row["action"], row["status"]) == ("CREATE", "COMPLETE"), row["status_reason"]
    assert server_deployments(second, store, stack) == [dep.id]
