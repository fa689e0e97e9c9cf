"""Nested stacks through the engine: provider templates and resource groups."""
from __future__ import annotations

from engine_helpers import hot, run, wait_for


def create(engine, resources, outputs=None, name="s1", **body):
    stack = engine.create_stack("t1", {"stack_name": name, "template": hot(resources, outputs),
                                       **body})
    return run(engine, stack["id"])


def test_nested_provider_template(engine):
    child = ("heat_template_version: 2018-08-31\n"
             "parameters:\n  size: {type: number}\n"
             "resources:\n  vol: {type: OS::Cinder::Volume, properties: {size: {get_param: size}}}\n"
             "outputs:\n  vol_size: {value: {get_attr: [vol, size]}}\n"
             "  OS::stack_id: {value: {get_resource: vol}}\n")
    stack = engine.create_stack("t1", {
        "stack_name": "n", "files": {"child.yaml": child},
        "template": hot({"c": {"type": "child.yaml", "properties": {"size": 3}}},
                        {"size": {"value": {"get_attr": ["c", "vol_size"]}},
                         "ref": {"value": {"get_resource": "c"}}})})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["size"] == 3
    assert outputs["ref"] in engine.driver.objects  # OS::stack_id is the reference
    children = engine.stacks.children(stack["id"])
    assert len(children) == 1 and children[0]["parent_resource"] == "c"
    engine.delete_stack("t1", stack["id"])
    run(engine, stack["id"])
    assert engine.driver.objects == {}


def test_resource_group_count_index_and_removal_policies(engine):
    group = {"type": "OS::Heat::ResourceGroup", "properties": {
        "count": 3, "resource_def": {"type": "OS::Heat::Value",
                                     "properties": {"value": "node-%index%"}}}}
    outputs = {"values": {"value": {"get_attr": ["g", "value"]}},
               "refs": {"value": {"get_attr": ["g", "refs"]}},
               "by_name": {"value": {"get_attr": ["g", "attributes", "value"]}},
               "one": {"value": {"get_attr": ["g", "resource.1.value"]}}}
    stack = engine.create_stack("t1", {"stack_name": "g", "template": hot({"g": group}, outputs)})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs_now = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs_now["values"] == ["node-0", "node-1", "node-2"]
    assert outputs_now["by_name"] == {"0": "node-0", "1": "node-1", "2": "node-2"}
    assert outputs_now["one"] == "node-1"
    assert len(outputs_now["refs"]) == 3
    group["properties"]["removal_policies"] = [{"resource_list": ["1"]}]
    engine.update_stack("t1", stack["id"], {"template": hot({"g": group}, outputs)})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    values = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}["values"]
    assert values == ["node-0", "node-2", "node-3"]


def test_nested_stack_updates_in_place_and_delete_during_create(engine, driver):
    child = ("heat_template_version: 2018-08-31\n"
             "parameters:\n  size: {type: number}\n"
             "resources:\n  vol: {type: OS::Cinder::Volume, properties: {size: {get_param: size}}}\n"
             "outputs:\n  vol_size: {value: {get_attr: [vol, size]}}\n")
    def body(size):
        return {"files": {"child.yaml": child}, "template": hot(
            {"c": {"type": "child.yaml", "properties": {"size": size}}},
            {"size": {"value": {"get_attr": ["c", "vol_size"]}}})}
    stack = run(engine, engine.create_stack("t1", {"stack_name": "n", **body(1)})["id"])
    child_id = engine.find_resource(stack["id"], "c")["physical_id"]
    engine.update_stack("t1", stack["id"], body(5))
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    assert engine.find_resource(stack["id"], "c")["physical_id"] == child_id  # in place
    assert engine.outputs(stack)[0]["output_value"] == 5
    # delete while a create is running: the create is stopped, then everything is deleted
    slow = engine.create_stack("t1", {"stack_name": "slow", "template": hot({
        "t": {"type": "OS::Heat::TestResource", "properties": {"wait_secs": 600}}})})
    engine.delete_stack("t1", slow["id"])
    assert run(engine, slow["id"])["action"] == "DELETE"
    assert engine.stacks.get_stack(slow["id"])["status"] == "COMPLETE"


def test_group_batch_create_runs_members_in_batches(engine):
    import threading
    running, peak, lock = [0], [0], threading.Lock()
    from metadata_server.engine.resources.core import TestResource
    original = TestResource.handle_create

    def counting(self, token):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        token.wait(0.05)
        with lock:
            running[0] -= 1
        original(self, token)

    TestResource.handle_create = counting
    try:
        stack = create(engine, {"g": {
            "type": "OS::Heat::ResourceGroup",
            "update_policy": {"batch_create": {"max_batch_size": 2}},
            "properties": {"count": 6, "resource_def": {"type": "OS::Heat::TestResource"}}}})
    finally:
        TestResource.handle_create = original
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    assert peak[0] == 2


FACADE_CHILD = ("heat_template_version: 2018-08-31\n"
                "resources: {}\n"
                "outputs:\n"
                "  meta: {value: {resource_facade: metadata}}\n"
                "  policy: {value: {resource_facade: deletion_policy}}\n"
                "  update: {value: {resource_facade: update_policy}}\n")


def _facade_body(role, policy="Retain"):
    return {"files": {"facade.yaml": FACADE_CHILD},
            "parameters": {"role": role},
            "template": "heat_template_version: 2018-08-31\n"
                        "parameters:\n  role: {type: string}\n"
                        "resources:\n"
                        f"  f:\n    type: facade.yaml\n    deletion_policy: {policy}\n"
                        "    metadata: {role: {get_param: role}, tier: web}\n"
                        "outputs:\n"
                        "  meta: {value: {get_attr: [f, meta]}}\n"
                        "  policy: {value: {get_attr: [f, policy]}}\n"
                        "  update: {value: {get_attr: [f, update]}}\n"
                        "  top: {value: {resource_facade: metadata}}\n"}


def test_resource_facade_gives_the_parent_resources_sections(engine):
    stack = run(engine, engine.create_stack("t1", {"stack_name": "fa",
                                                   **_facade_body("front")})["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs = {o["output_key"]: o for o in engine.outputs(stack)}
    assert outputs["meta"]["output_value"] == {"role": "front", "tier": "web"}
    assert outputs["policy"]["output_value"] == "Retain"
    assert outputs["update"]["output_value"] == {}
    # at the top level there is no parent resource: the output fails, as Heat's does
    assert "parent resource" in outputs["top"]["output_error"]
    # an update of the parent resource's metadata reaches the nested stack
    engine.update_stack("t1", stack["id"], _facade_body("back"))
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["meta"] == {"role": "back", "tier": "web"}
    # the facade is kept with the child's stored definition: a reader with no parent runtime
    child = engine.stacks.children(stack["id"])[0]
    assert child["definition"]["facade"]["metadata"]["role"] == "back"
    # a policy change alone updates the record, not the nested stack: the facade follows too
    engine.update_stack("t1", stack["id"], _facade_body("back", "Delete"))
    stack = run(engine, stack["id"])
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["policy"] == "Delete"


def test_a_group_resized_by_a_signal_keeps_the_facade_of_its_nested_stack(engine):
    """No operation of the group's own stack runs when a policy signal resizes it: the facade
    the group handed its nested stack stands."""
    stack = run(engine, engine.create_stack("t1", {"stack_name": "sig", "template": hot({
        "asg": {"type": "OS::Heat::AutoScalingGroup", "metadata": {"team": "ops"},
                "properties": {"min_size": 1, "max_size": 3, "cooldown": 0,
                               "resource": {"type": "OS::Heat::None"}}},
        "up": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"}, "cooldown": 0,
            "adjustment_type": "change_in_capacity", "scaling_adjustment": 1}}})})["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    [child] = engine.stacks.children(stack["id"])
    assert child["definition"]["facade"]["metadata"] == {"team": "ops"}
    engine.signal_resource("t1", stack["id"], "up", {})
    wait_for(lambda: len(engine.stacks.resources(child["id"])) == 2
             and engine.stacks.get_stack(child["id"])["status"] == "COMPLETE",
             what="the resize to two members")
    facade = engine.stacks.get_stack(child["id"])["definition"]["facade"]
    assert facade == {"metadata": {"team": "ops"}, "deletion_policy": "Delete",
                      "update_policy": {}}
