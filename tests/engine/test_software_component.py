"""OS::Heat::SoftwareComponent through the engine: the stored component, the actions its
deployments run for (its entries', not the deployment's `actions`), and its validation. The
real agent runs one in scenarios/software_component.yaml."""
from __future__ import annotations

import pytest

from engine_helpers import hot, run
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.service import documents

pytestmark = pytest.mark.timeout(60)

SERVER = {"type": "OS::Heat::DeployedServer", "properties": {}}


def component(*configs):
    return {"type": "OS::Heat::SoftwareComponent", "properties": {
        "inputs": [{"name": "who"}], "configs": list(configs)}}


def deployment(**props):
    return {"type": "OS::Heat::SoftwareDeployment", "properties": {
        "config": {"get_resource": "comp"}, "server": {"get_resource": "server"},
        "signal_transport": "NO_SIGNAL", **props}}


def test_the_deployment_carries_the_component_and_runs_for_its_entries_actions(engine, store):
    resources = {"server": SERVER,
                 "comp": component({"config": "#!/bin/sh\necho create\n", "tool": "script"},
                                   {"actions": ["SUSPEND", "RESUME"], "config": "pause", "tool": "ansible"}),
                 "deploy": deployment(actions=["DELETE"], input_values={"who": "a"})}
    stack = run(engine, engine.create_stack("t1", {"stack_name": "comp", "template": hot(resources)})["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    server = engine.find_resource(stack["id"], "server")["physical_id"]
    (item,) = documents.deployment_items(store, server)
    assert item["group"] == "component"
    assert item["config"] == {"configs": [
        {"actions": ["CREATE", "UPDATE"], "config": "#!/bin/sh\necho create\n", "tool": "script"},
        {"actions": ["SUSPEND", "RESUME"], "config": "pause", "tool": "ansible"}]}
    assert {i["name"]: i.get("value") for i in item["inputs"]}["deploy_action"] == "CREATE"

    def action():
        (row,) = store.list_deployments(server_id=server)
        return row.action

    for operation, expected in ((engine.suspend_stack, "SUSPEND"), (engine.resume_stack, "RESUME")):
        operation("t1", stack["id"])
        assert run(engine, stack["id"])["status"] == "COMPLETE"
        assert action() == expected   # listed by an entry, though not by the deployment
    resources["deploy"] = deployment(actions=["DELETE"], input_values={"who": "b"})
    engine.update_stack("t1", stack["id"], {"template": hot(resources)})
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    assert action() == "UPDATE"       # the first entry's default actions hold UPDATE


@pytest.mark.parametrize("configs, path, message", [
    ([{"config": "a", "tool": "script"}, {"actions": ["UPDATE"], "config": "b", "tool": "script"}],
     "configs[1].actions[0]", "Defining more than one configuration for the same action"),
    ([{"config": "a"}], "configs[0].tool", "Property tool not assigned"),
    ([{"actions": ["REBOOT"], "config": "a", "tool": "script"}], "configs[0].actions[0]",
     "\"REBOOT\" is not an allowed value"),
    ([{"config": "a", "tool": "script", "group": "x"}], "configs[0].group", "Unknown Property group"),
    (["a"], "configs[0]", "'a' is not a map"),
])
def test_invalid_components_are_refused_naming_the_entry(engine, configs, path, message):
    resources = {"server": SERVER, "comp": component(*configs)}
    try:
        stack = run(engine, engine.create_stack("t1", {"stack_name": "bad", "template": hot(resources)})["id"])
    except StackValidationFailed as exc:   # found before the stack exists
        reason = str(exc)
    else:                                   # or when the component is made
        assert stack["status"] == "FAILED"
        reason = stack["status_reason"]
    assert f"resources.comp.properties.{path}" in reason and message in reason, reason
