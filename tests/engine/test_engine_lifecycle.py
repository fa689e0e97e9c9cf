"""Whole-stack lifecycles on the in-memory driver: create, update, delete, rollback, cancel."""
from __future__ import annotations

import threading

import pytest

from engine_helpers import ENDPOINTS, hot, run, states
from metadata_server.engine.errors import ActionInProgress, CircularDependency, StackValidationFailed
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock

pytestmark = pytest.mark.timeout(60)


def volume(image="img-1", size=1, **extra):
    return {"type": "OS::Cinder::Volume", "properties": {"image": image, "size": size, **extra}}


def create(engine, resources, outputs=None, name="s1", **body):
    stack = engine.create_stack("t1", {"stack_name": name, "template": hot(resources, outputs),
                                       **body})
    return run(engine, stack["id"])


def test_create_resolves_references_and_outputs(engine):
    stack = create(engine, {
        "v": {"type": "OS::Heat::Value", "properties": {"value": "x"}},
        "t": {"type": "OS::Heat::TestResource",
              "properties": {"value": {"get_attr": ["v", "value"]}}},
        "vol": volume(),
    }, {"out": {"value": {"get_attr": ["t", "output"]}},
        "vid": {"value": {"get_resource": "vol"}}})
    assert (stack["action"], stack["status"]) == ("CREATE", "COMPLETE")
    assert stack["status_reason"] == "Stack CREATE completed successfully"
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["out"] == "x"
    assert outputs["vid"] in engine.driver.objects
    assert set(states(engine, stack).values()) == {"CREATE_COMPLETE"}


def test_events_record_every_state_change(engine):
    stack = create(engine, {"v": {"type": "OS::Heat::Value", "properties": {"value": 1}}})
    events = [(e["resource_name"], e["action"], e["status"]) for e in engine.events(stack)]
    assert events == [("s1", "CREATE", "IN_PROGRESS"), ("v", "CREATE", "IN_PROGRESS"),
                      ("v", "CREATE", "COMPLETE"), ("s1", "CREATE", "COMPLETE")]


def test_validation_errors_are_raised_before_anything_is_stored(engine):
    with pytest.raises(CircularDependency, match="a -> b -> a"):
        engine.create_stack("t1", {"stack_name": "bad", "template": hot({
            "a": {"type": "OS::Heat::None", "depends_on": ["b"]},
            "b": {"type": "OS::Heat::None", "depends_on": ["a"]}})})
    with pytest.raises(StackValidationFailed, match="OS::Nope"):
        engine.create_stack("t1", {"stack_name": "bad", "template": hot({
            "a": {"type": "OS::Nope"}})})
    with pytest.raises(StackValidationFailed,
                       match=r"resources\.v\.properties\.colour: Unknown Property colour"):
        engine.create_stack("t1", {"stack_name": "bad", "template": hot({
            "v": {"type": "OS::Heat::Value", "properties": {"value": 1, "colour": "red"}}})})
    assert engine.list_stacks("t1") == []


def test_failure_marks_dependants_with_upstream_and_stack_failed(engine):
    stack = create(engine, {
        "db": {"type": "OS::Heat::TestResource", "properties": {"fail": True}},
        "app": {"type": "OS::Heat::None", "depends_on": ["db"]},
        "other": {"type": "OS::Heat::None"},
    })
    assert (stack["action"], stack["status"]) == ("CREATE", "FAILED")
    assert stack["status_reason"].startswith("Resource CREATE failed: ValueError: resources.db: "
                                             "Test Resource failed db")
    rows = {r["name"]: r for r in engine.resources(stack)}
    assert rows["app"]["status"] == "FAILED"
    assert rows["app"]["status_reason"] == "CREATE aborted (upstream resource db failed)"
    assert rows["other"]["status"] == "COMPLETE"


def test_rollback_on_create_failure_deletes_what_was_made(engine, driver):
    stack = create(engine, {
        "vol": volume(),
        "bad": {"type": "OS::Heat::TestResource", "properties": {"fail": True},
                "depends_on": ["vol"]},
    }, disable_rollback=False)
    assert (stack["action"], stack["status"]) == ("ROLLBACK", "COMPLETE")
    assert driver.objects == {}


def test_update_noop_in_place_and_replace_create_before_delete(engine, driver):
    stack = create(engine, {"keep": volume("a"), "grow": volume("b", 1), "swap": volume("c")})
    before = {r["name"]: r["physical_id"] for r in engine.resources(stack)}
    driver.calls.clear()
    preview = engine.preview_update("t1", stack["id"], {"template": hot({
        "keep": volume("a"), "grow": volume("b", 2), "swap": volume("d"),
        "new": {"type": "OS::Heat::None"}})})
    changes = {k: [r["resource_name"] for r in v] for k, v in preview["resource_changes"].items()}
    assert changes == {"unchanged": ["keep"], "updated": ["grow"], "replaced": ["swap"],
                       "added": ["new"], "deleted": []}
    assert driver.calls == []  # the preview touched nothing

    engine.update_stack("t1", stack["id"], {"template": hot({
        "keep": volume("a"), "grow": volume("b", 2), "swap": volume("d"),
        "new": {"type": "OS::Heat::None"}})})
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("UPDATE", "COMPLETE"), stack["status_reason"]
    after = {r["name"]: r["physical_id"] for r in engine.resources(stack)}
    assert after["keep"] == before["keep"] and after["grow"] == before["grow"]
    assert after["swap"] != before["swap"]
    assert ("update", "volume", before["grow"]) in driver.calls
    creates = [i for i, c in enumerate(driver.calls) if c[0] == "create"]
    deletes = [i for i, c in enumerate(driver.calls) if c == ("delete", "volume", before["swap"])]
    assert creates and deletes and max(creates) < deletes[0]  # create before delete
    assert not any(c[2] == before["keep"] for c in driver.calls)
    assert len(engine.stacks.resources(stack["id"])) == 4  # the replaced row is gone


def test_removed_resources_are_deleted_after_dependants_updated(engine, driver):
    stack = create(engine, {"a": volume("a"), "b": volume("b")})
    engine.update_stack("t1", stack["id"], {"template": hot({"a": volume("a")})})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE"
    assert [r["name"] for r in engine.resources(stack)] == ["a"]
    assert len(driver.objects) == 1


def test_failed_update_rolls_back_to_the_old_resource(engine, driver):
    stack = create(engine, {"v": volume("a"),
                            "t": {"type": "OS::Heat::TestResource", "properties": {"value": "1"}}},
                   disable_rollback=False)
    old = {r["name"]: r["physical_id"] for r in engine.resources(stack)}
    engine.update_stack("t1", stack["id"], {"template": hot({
        "v": volume("b"),
        "t": {"type": "OS::Heat::TestResource", "properties": {"value": "2", "fail": True},
              "depends_on": ["v"]}})})
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("ROLLBACK", "COMPLETE"), stack["status_reason"]
    rows = {r["name"]: r for r in engine.resources(stack)}
    assert rows["v"]["physical_id"] == old["v"]  # the original volume came back
    assert list(driver.objects) == [old["v"]]


def test_delete_in_reverse_order_honours_retain(engine, driver):
    stack = create(engine, {
        "net": {"type": "OS::Neutron::Net", "properties": {}},
        "sub": {"type": "OS::Neutron::Subnet",
                "properties": {"network": {"get_resource": "net"}, "cidr": "10.0.0.0/24"}},
        "kept": volume("k"),
    })
    stack_rows = {r["name"]: r["physical_id"] for r in engine.resources(stack)}
    # make `kept` retained through an update of its deletion policy
    engine.update_stack("t1", stack["id"], {"template": hot({
        "net": {"type": "OS::Neutron::Net", "properties": {}},
        "sub": {"type": "OS::Neutron::Subnet",
                "properties": {"network": {"get_resource": "net"}, "cidr": "10.0.0.0/24"}},
        "kept": dict(volume("k"), deletion_policy="Retain")})})
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    driver.calls.clear()
    engine.delete_stack("t1", stack["id"])
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("DELETE", "COMPLETE")
    deletes = [c[2] for c in driver.calls if c[0] == "delete"]
    assert deletes == [stack_rows["sub"], stack_rows["net"]]
    assert stack_rows["kept"] in driver.objects
    assert engine.list_stacks("t1") == []


def test_stack_timeout_fails_with_timed_out(engine):
    engine.minute = 0.2  # timeout_mins: 1 lasts 0.2 s here
    stack = engine.create_stack("t1", {"stack_name": "slow", "timeout_mins": 1, "template": hot({
        "t": {"type": "OS::Heat::TestResource", "properties": {"wait_secs": 600}},
        "after": {"type": "OS::Heat::None", "depends_on": ["t"]}})})
    stack = run(engine, stack["id"])
    assert (stack["status"], stack["status_reason"]) == ("FAILED", "Create timed out")
    rows = {r["name"]: r["status_reason"] for r in engine.resources(stack)}
    assert rows == {"t": "CREATE aborted (Timed out)", "after": "CREATE aborted (Timed out)"}


def test_cancel_update_rolls_back_and_second_operation_is_refused(engine):
    stack = create(engine, {"t": {"type": "OS::Heat::TestResource", "properties": {"value": "1"}}})
    engine.update_stack("t1", stack["id"], {"template": hot({
        "t": {"type": "OS::Heat::TestResource", "properties": {"value": "2", "wait_secs": 600}}})})
    with pytest.raises(ActionInProgress):
        engine.update_stack("t1", stack["id"], {"template": hot({})})
    engine.cancel("t1", stack["id"])
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("ROLLBACK", "COMPLETE"), stack["status_reason"]
    assert engine.resources(stack)[0]["properties"]["value"] == "1"
    # as Heat: the stack goes from UPDATE_IN_PROGRESS straight to ROLLBACK, with no UPDATE_FAILED
    # of its own (`openstack stack cancel --wait` stops at the first one that ends)
    own = [(e["action"], e["status"]) for e in engine.events(stack)
           if e["resource_name"] == stack["name"]]
    assert own[-3:] == [("UPDATE", "IN_PROGRESS"), ("ROLLBACK", "IN_PROGRESS"),
                        ("ROLLBACK", "COMPLETE")], own


def test_patch_update_keeps_template_and_merges_parameters(engine):
    template = hot({"v": {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "p"}}}},
                   {"o": {"value": {"get_attr": ["v", "value"]}}},
                   {"p": {"type": "string"}, "q": {"type": "string", "default": "dq"}})
    stack = engine.create_stack("t1", {"stack_name": "p", "template": template,
                                       "parameters": {"p": "one", "q": "x"}})
    run(engine, stack["id"])
    engine.update_stack("t1", stack["id"], {"parameters": {"p": "two"}}, patch=True)
    stack = run(engine, stack["id"])
    assert engine.outputs(stack)[0]["output_value"] == "two"
    assert stack["definition"]["parameters"] == {"p": "two", "q": "x"}


def test_restart_during_operation_marks_failed_with_reason(store, driver):
    first = Engine(store, system_clock, driver=driver, poll_interval=0.02)
    stack = first.create_stack("t1", {"stack_name": "r", "template": hot({
        "t": {"type": "OS::Heat::TestResource", "properties": {"wait_secs": 600}}})})
    started = threading.Event()
    while not started.is_set():  # until the resource is stored as IN_PROGRESS
        rows = first.stacks.resources(stack["id"])
        if rows and rows[0]["status"] == "IN_PROGRESS":
            started.set()
        else:
            started.wait(0.01)
    # a second engine (the restarted server) finds the operation with no heartbeat
    second = Engine(store, system_clock, driver=driver, stale_after=-3600, resume=False)
    try:
        row = second.stacks.get_stack(stack["id"])
        assert (row["action"], row["status"]) == ("CREATE", "FAILED")
        assert "interrupted" in row["status_reason"]
        assert second.stacks.resources(stack["id"])[0]["status"] == "FAILED"
    finally:
        second.close()
        first.runner.forget()  # the old engine's operation is orphaned; stop its thread
        first.close()


def test_deployment_on_a_server_without_software_config_is_rejected(engine):
    with pytest.raises(StackValidationFailed, match="user_data_format should be set to "
                                                    "SOFTWARE_CONFIG"):
        engine.create_stack("t1", {"stack_name": "v", "template": hot({
            "vm": {"type": "OS::Nova::Server", "properties": {"flavor": "f"}},
            "d": {"type": "OS::Heat::SoftwareDeployment",
                  "properties": {"server": {"get_resource": "vm"}}}})})


def test_hidden_parameter_is_masked_in_reasons_and_outputs(engine):
    template = hot({"t": {"type": "OS::Heat::TestResource",
                          "properties": {"value": {"get_param": "pw"}}},
                    "n": {"type": "OS::Heat::Value",
                          "properties": {"value": {"get_param": "pw"}, "type": "number"}}},
                   {"o": {"value": {"get_attr": ["t", "output"]}}},
                   {"pw": {"type": "string", "hidden": True}})
    stack = engine.create_stack("t1", {"stack_name": "h", "template": template,
                                       "parameters": {"pw": "Sup3rSecret"}})
    stack = run(engine, stack["id"])
    assert stack["status"] == "FAILED"
    assert "******" in stack["status_reason"] and "Sup3rSecret" not in stack["status_reason"]
    assert engine.outputs(stack)[0]["output_value"] == "******"
    assert engine.parameters(stack)["pw"] == "******"
    assert "Sup3rSecret" not in repr(engine.events(stack))


def test_update_after_failed_create_creates_what_is_missing(engine, driver):
    stack = create(engine, {"bad": {"type": "OS::Heat::TestResource", "properties": {"fail": True}},
                            "vol": dict(volume(), depends_on=["bad"])})
    assert stack["status"] == "FAILED"
    engine.update_stack("t1", stack["id"], {"template": hot({
        "bad": {"type": "OS::Heat::TestResource", "properties": {"fail": False}},
        "vol": dict(volume(), depends_on=["bad"])})})
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("UPDATE", "COMPLETE"), stack["status_reason"]
    assert set(states(engine, stack).values()) == {"CREATE_COMPLETE"}
    assert len(driver.objects) == 1


def test_events_are_purged_beyond_heats_limit(store, driver):
    from metadata_server.engine.limits import Limits
    engine = Engine(store, system_clock, driver=driver, endpoints=ENDPOINTS, poll_interval=0.02,
                    limits=Limits(max_events_per_stack=5))
    try:
        stack = create(engine, {f"v{i}": {"type": "OS::Heat::Value", "properties": {"value": i}}
                                for i in range(4)})
        events = engine.events(stack)
    finally:
        engine.close()
    assert len(events) == 5  # 10 were recorded; the newest 5 are kept
    assert events[-1]["status_reason"] == "Stack CREATE completed successfully"


def test_pre_create_hook_pauses_until_cleared_and_unrelated_branch_goes_on(engine):
    from engine_helpers import wait_for
    from metadata_server.service.errors import InvalidInput
    stack = engine.create_stack("t1", {
        "stack_name": "hooks", "environment": {"resource_registry": {"resources": {
            "paused": {"hooks": "pre-create"}}}},
        "template": hot({"paused": {"type": "OS::Heat::None"},
                         "after": {"type": "OS::Heat::None", "depends_on": ["paused"]},
                         "free": {"type": "OS::Heat::None"}})})
    wait_for(lambda: (engine.find_resource(stack["id"], "free") or {}).get("status") == "COMPLETE"
             and (engine.find_resource(stack["id"], "paused") or {}).get("data", {}).get("pre-create"),
             what="the hook to be reached")
    assert engine.find_resource(stack["id"], "after")["action"] == "INIT"
    with pytest.raises(InvalidInput, match="pre-delete"):
        engine.signal_resource("t1", stack["id"], "paused", {"unset_hook": "pre-delete"})
    engine.signal_resource("t1", stack["id"], "paused", {"unset_hook": "pre-create"})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    reasons = [e["status_reason"] for e in engine.events(stack) if e["resource_name"] == "paused"]
    assert "CREATE paused until Hook pre-create is cleared" in reasons
    assert "Hook pre-create is cleared" in reasons


def test_update_preview_sees_a_changed_parameter_value(engine, driver):
    """The raw property trees are the same ({get_param: size}); the resolved values are not."""
    params = {"size": {"type": "number", "default": 1}}
    resources = {"grow": volume("b", {"get_param": "size"}),
                 "keep": volume("a"), "name": {"type": "OS::Heat::Value",
                                               "properties": {"value": {"get_resource": "keep"}}}}
    engine.create_stack("t1", {"stack_name": "p1", "template": hot(resources, parameters=params)})
    stack = run(engine, engine.get_stack("t1", "p1")["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    preview = engine.preview_update("t1", stack["id"], {
        "template": hot(resources, parameters=params), "parameters": {"size": 5}})
    changes = {k: [r["resource_name"] for r in v] for k, v in preview["resource_changes"].items()}
    assert changes["updated"] == ["grow"]
    assert sorted(changes["unchanged"]) == ["keep", "name"]
