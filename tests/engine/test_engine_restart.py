"""An engine restart in the middle of an operation: the next engine takes it over.

The first engine "crashes" (it stops writing, its heartbeat stops, and its threads can reach
neither the store nor the cloud); the clock moves past `stale_after`; a second engine on the
same store takes the operation over. Software deployments and wait conditions continue where
they were (the agent's signal may have come while no engine ran) instead of running again.
"""
from __future__ import annotations

import pytest

from engine_helpers import hot, run, states, wait_for
from metadata_server.service import deployments, documents, signals
from restart_helpers import (CONFIG, FAILED_REASON, SERVER, clock, crash, deploying,  # noqa: F401
                             deployment, engines, reasons, server_deployments, stored, take_over)

pytestmark = pytest.mark.timeout(60)


def test_signal_that_came_while_down_completes_the_deployment(engines, store, clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": deployment(input_values={"who": "a"}),
         "after": {"type": "OS::Heat::Value", "depends_on": ["deploy"],
                   "properties": {"value": {"get_attr": ["deploy", "result"]}}}},
        {"result": {"value": {"get_attr": ["after", "value"]}}})})
    dep = deploying(first, store, stack)
    crash(first)
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0,
                                                        "result": "ran once"})
    second = take_over(engines, clock)
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "COMPLETE"), row["status_reason"]
    assert server_deployments(second, store, stack) == [dep.id]  # nothing deployed again
    assert second.outputs(row)[0]["output_value"] == "ran once"
    assert reasons(second, row, "deploy")[-3:] == ["CREATE interrupted by an engine restart",
                                                   "CREATE continued after an engine restart",
                                                   "state changed"]
    assert "Stack CREATE resumed after an engine restart" in reasons(second, row, "s")


def test_failure_signalled_while_down_fails_the_deployment_with_heats_reason(engines, store,
                                                                           clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": deployment()})})
    dep = deploying(first, store, stack)
    crash(first)
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 1})
    second = take_over(engines, clock)
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "FAILED")
    assert row["status_reason"] == f"Resource CREATE failed: Error: resources.deploy: {FAILED_REASON}"
    assert stored(second, row, "deploy")["status_reason"] == f"Error: resources.deploy: {FAILED_REASON}"
    assert server_deployments(second, store, stack) == [dep.id]


def test_running_deployment_is_waited_for_within_the_remaining_stack_timeout(engines, store,
                                                                           clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "timeout_mins": 10, "template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": deployment()})})
    dep = deploying(first, store, stack)
    crash(first)
    second = take_over(engines, clock)  # a minute later
    assert 0 < second.runner.operation(stack["id"]).token.remaining() <= 540
    wait_for(lambda: stored(second, stack, "deploy").get("status_reason")
             == "CREATE continued after an engine restart", what="the deployment continued")
    assert second.stacks.get_stack(stack["id"])["status"] == "IN_PROGRESS"
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "COMPLETE"), row["status_reason"]
    assert server_deployments(second, store, stack) == [dep.id]


def test_operation_whose_timeout_passed_while_down_times_out(engines, store, clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "timeout_mins": 1, "template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": deployment()})})
    dep = deploying(first, store, stack)
    crash(first)
    row = run(take_over(engines, clock), stack["id"])
    assert (row["action"], row["status"], row["status_reason"]) == (
        "CREATE", "FAILED", "Create timed out")
    assert states(engines(), row) == {"config": "CREATE_COMPLETE", "server": "CREATE_COMPLETE",
                                      "deploy": "CREATE_FAILED"}
    assert server_deployments(engines(), store, stack) == [dep.id]


def test_interrupted_update_waits_for_the_updated_deployment(engines, store, clock):
    first = engines()
    resources = {"config": CONFIG, "server": SERVER, "deploy": deployment(input_values={"who": "a"})}
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot(resources)})
    dep = deploying(first, store, stack)
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    run(first, stack["id"])
    resources["deploy"] = deployment(input_values={"who": "b"})
    first.update_stack("t1", stack["id"], {"template": hot(resources)})
    updating = deploying(first, store, stack, action="UPDATE")
    crash(first)
    second = take_over(engines, clock)
    wait_for(lambda: stored(second, stack, "deploy").get("status_reason")
             == "UPDATE continued after an engine restart", what="the update continued")
    assert store.get_deployment(dep.id).config_id == updating.config_id  # not redeployed
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("UPDATE", "COMPLETE"), row["status_reason"]
    server = second.find_resource(stack["id"], "server")["physical_id"]
    (item,) = documents.deployment_items(store, server)
    values = {i["name"]: i.get("value") for i in item["inputs"]}
    assert item["id"] == updating.config_id  # the document the agent already had
    assert (values["who"], values["deploy_action"]) == ("b", "UPDATE")
    assert [d.id for d in store.list_deployments(server_id=server)] == [dep.id]


def test_interrupted_delete_waits_for_the_delete_deployment(engines, store, clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": deployment(actions=["CREATE", "DELETE"])})})
    dep = deploying(first, store, stack)
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    run(first, stack["id"])
    server = first.find_resource(stack["id"], "server")["physical_id"]
    first.delete_stack("t1", stack["id"])
    deleting = deploying(first, store, stack, action="DELETE")
    crash(first)
    second = take_over(engines, clock)
    wait_for(lambda: stored(second, stack, "deploy").get("status_reason")
             == "DELETE continued after an engine restart", what="the delete continued")
    assert store.get_deployment(dep.id).config_id == deleting.config_id
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("DELETE", "COMPLETE"), row["status_reason"]
    assert store.list_deployments(server_id=server) == []
    assert store.get_config(deleting.config_id) is None


def test_deployment_group_members_continue(engines, store, clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot({
        "config": CONFIG, "a": SERVER, "b": SERVER,
        "group": {"type": "OS::Heat::SoftwareDeploymentGroup", "properties": {
            "config": {"get_resource": "config"},
            "servers": {"first": {"get_resource": "a"}, "second": {"get_resource": "b"}}}}},
        {"codes": {"value": {"get_attr": ["group", "deploy_status_codes"]}}})})
    child_id = wait_for(lambda: stored(first, stack, "group").get("physical_id"),
                        what="the group's nested stack stored")
    child = first.stacks.get_stack(child_id)
    running = {name: deploying(first, store, child, name) for name in ("first", "second")}
    crash(first)
    signals.signal_deployment(store, clock, running["first"].id, {"deploy_status_code": 0})
    second = take_over(engines, clock)
    wait_for(lambda: stored(second, child, "second").get("status_reason")
             == "CREATE continued after an engine restart", what="the member continued")
    signals.signal_deployment(store, clock, running["second"].id, {"deploy_status_code": 3})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "FAILED")
    assert row["status_reason"].endswith(
        "Deployment to server failed: deploy_status_code : Deployment exited with non-zero "
        "status code: 3")
    assert states(second, second.stacks.get_stack(child_id)) == {
        "first": "CREATE_COMPLETE", "second": "CREATE_FAILED"}
    assert stored(second, stack, "group")["physical_id"] == child_id  # not replaced
    for name in ("a", "b"):
        server = second.find_resource(stack["id"], name)["physical_id"]
        assert [d.id for d in store.list_deployments(server_id=server)] == [
            running["first" if name == "a" else "second"].id]


def test_wait_condition_keeps_its_signals_and_its_timeout(engines, store, clock):
    template = {"stack_name": "s", "template": hot({
        "handle": {"type": "OS::Heat::WaitConditionHandle"},
        "wait": {"type": "OS::Heat::WaitCondition", "properties": {
            "handle": {"get_resource": "handle"}, "timeout": 100, "count": 2}}},
        {"data": {"value": {"get_attr": ["wait", "data"]}}})}
    first = engines()
    stack = first.create_stack("t1", template)
    wait_for(lambda: "waiting_since" in (stored(first, stack, "wait").get("data") or {}),
             what="the wait stored")
    crash(first)
    # the restarted server answers signals before its sweep finds the operation stale
    api = engines(recover=False, heartbeat_interval=3600)
    # the stack is still the crashed engine's, which will never answer: the signal is kept
    # (relay.py) for the engine that takes the stack over, without waiting long for an answer
    api.relay.wait_seconds = 0.5
    api.signal_resource("t1", stack["id"], "handle", {"data": "one"})
    second = take_over(engines, clock)
    wait_for(lambda: stored(second, stack, "wait").get("status_reason")
             == "CREATE continued after an engine restart", what="the wait continued")
    second.signal_resource("t1", stack["id"], "handle", {"data": "two"})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "COMPLETE"), row["status_reason"]
    assert second.outputs(row)[0]["output_value"] == '{"1": "one", "2": "two"}'

    # a wait whose timeout ran out while no engine ran fails at once, as it would have
    third = engines()
    stack = third.create_stack("t1", dict(template, stack_name="late"))
    wait_for(lambda: "waiting_since" in (stored(third, stack, "wait").get("data") or {}),
             what="the wait stored")
    crash(third)
    clock.advance(100)
    row = run(take_over(engines, clock), stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "FAILED")
    assert row["status_reason"] == ("Resource CREATE failed: WaitConditionTimeout: "
                                    "resources.wait: 0 of 2 received")


def test_deployment_gone_while_down_is_replaced(engines, store, clock):
    """What cannot continue is done again, as for any other resource."""
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot(
        {"config": CONFIG, "server": SERVER, "deploy": deployment()})})
    dep = deploying(first, store, stack)
    crash(first)
    deployments.delete_deployment(store, clock, "t1", dep.id)
    second = take_over(engines, clock)
    again = deploying(second, store, stack)
    assert again.id != dep.id
    signals.signal_deployment(store, clock, again.id, {"deploy_status_code": 0})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("CREATE", "COMPLETE"), row["status_reason"]
    assert server_deployments(second, store, stack) == [again.id]


def test_interrupted_suspend_suspends_the_rest_and_continues_the_deployment(engines, store,
                                                                           clock):
    first = engines()
    stack = first.create_stack("t1", {"stack_name": "s", "template": hot(
        {"config": CONFIG, "server": SERVER,
         "deploy": deployment(actions=["CREATE", "SUSPEND"]),
         "after": {"type": "OS::Heat::None", "depends_on": ["deploy"]}})})
    dep = deploying(first, store, stack)
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    run(first, stack["id"])
    first.suspend_stack("t1", stack["id"])  # in reverse: `after` first, then the deployment
    suspending = deploying(first, store, stack, action="SUSPEND")
    crash(first)
    second = take_over(engines, clock)
    wait_for(lambda: stored(second, stack, "deploy").get("status_reason")
             == "SUSPEND continued after an engine restart", what="the suspend continued")
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("SUSPEND", "COMPLETE"), row["status_reason"]
    assert states(second, row) == {"config": "SUSPEND_COMPLETE", "server": "SUSPEND_COMPLETE",
                                   "deploy": "SUSPEND_COMPLETE", "after": "SUSPEND_COMPLETE"}
    assert store.get_deployment(dep.id).config_id == suspending.config_id


def test_interrupted_rollback_continues_without_the_stack_timeout(engines, store, clock):
    first = engines()
    stack = first.create_stack("t1", {
        "stack_name": "s", "timeout_mins": 1, "disable_rollback": False, "template": hot(
            {"config": CONFIG, "server": SERVER,
             "deploy": deployment(actions=["CREATE", "DELETE"]),
             "bad": {"type": "OS::Heat::TestResource", "depends_on": ["deploy"],
                     "properties": {"fail": True}}})})
    dep = deploying(first, store, stack)
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    # `bad` fails, the rollback deletes what was made: the deployment runs its DELETE action
    deleting = deploying(first, store, stack, action="DELETE")
    assert first.stacks.get_stack(stack["id"])["action"] == "ROLLBACK"
    crash(first)
    second = take_over(engines, clock)  # past the stack's 1 minute: a rollback has no deadline
    wait_for(lambda: stored(second, stack, "deploy").get("status_reason")
             == "ROLLBACK continued after an engine restart", what="the rollback continued")
    assert store.get_deployment(dep.id).config_id == deleting.config_id
    signals.signal_deployment(store, clock, dep.id, {"deploy_status_code": 0})
    row = run(second, stack["id"])
    assert (row["action"], row["status"]) == ("ROLLBACK", "COMPLETE"), row["status_reason"]
    assert store.get_deployment(dep.id) is None


# -- a graceful stop: the engine hands its operations on ------------------------------------
