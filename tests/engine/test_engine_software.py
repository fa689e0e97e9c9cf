"""Software configs and deployments through the engine, with the agent's signal simulated by the
service's own signal rules (a real agent runs them in test_engine_agent_e2e.py)."""
from __future__ import annotations

import pytest

from engine_helpers import hot, run, wait_for
from metadata_server.service import documents, signals
from metadata_server.service.clock import system_clock

pytestmark = pytest.mark.timeout(60)

CONFIG = {"type": "OS::Heat::SoftwareConfig", "properties": {
    "group": "script", "config": "#!/bin/sh\necho hi\n",
    "inputs": [{"name": "who", "default": "world"}],
    "outputs": [{"name": "result"}]}}
SERVER = {"type": "OS::Heat::DeployedServer", "properties": {}}


def deployment(**props):
    return {"type": "OS::Heat::SoftwareDeployment", "properties": {
        "config": {"get_resource": "config"}, "server": {"get_resource": "server"}, **props}}


def start(engine, resources, outputs=None, name="sw"):
    return engine.create_stack("t1", {"stack_name": name, "template": hot(resources, outputs)})


def server_id(engine, stack):
    row = wait_for(lambda: engine.find_resource(stack["id"], "server")
                   if (engine.find_resource(stack["id"], "server") or {}).get("physical_id")
                   else None, what="the server resource")
    return row["physical_id"]


def pending(store, server):
    return wait_for(lambda: [d for d in store.list_deployments(server_id=server)
                             if d.status == "IN_PROGRESS"], what="an IN_PROGRESS deployment")


def test_deployment_waits_for_signal_and_exposes_outputs(engine, store):
    stack = start(engine, {"config": CONFIG, "server": SERVER,
                           "deploy": deployment(input_values={"who": "stoker"})},
                  {"stdout": {"value": {"get_attr": ["deploy", "deploy_stdout"]}},
                   "result": {"value": {"get_attr": ["deploy", "result"]}},
                   "occ": {"value": {"get_attr": ["server", "os_collect_config"]}}})
    server = server_id(engine, stack)
    (dep,) = pending(store, server)
    assert engine.stacks.get_stack(stack["id"])["status"] == "IN_PROGRESS"
    # the document the agent would fetch: derived inputs in Heat's order
    (item,) = documents.deployment_items(store, server)
    names = [i["name"] for i in item["inputs"]]
    assert names == ["who", "deploy_server_id", "deploy_action", "deploy_stack_id",
                     "deploy_resource_name", "deploy_signal_transport", "deploy_signal_id",
                     "deploy_signal_verb"]
    values = {i["name"]: i.get("value") for i in item["inputs"]}
    assert values["who"] == "stoker" and values["deploy_action"] == "CREATE"
    assert values["deploy_stack_id"] == f"sw/{stack['id']}"
    assert values["deploy_resource_name"] == "deploy"
    assert values["deploy_signal_id"].startswith(f"http://stoker.test/v1/signal/deployments/{dep.id}?")
    signals.signal_deployment(store, system_clock, dep.id,
                              {"deploy_stdout": "hi stoker", "deploy_status_code": 0,
                               "result": "done"})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["stdout"] == "hi stoker" and outputs["result"] == "done"
    occ = outputs["occ"]
    assert occ["collectors"] == ["cfn", "local"]
    assert occ["cfn"]["metadata_url"] == "http://stoker.test/v1/"
    assert occ["cfn"]["path"] == "server.Metadata" and occ["cfn"]["stack_name"] == "sw"
    assert occ["watch"]["metadata_url"] == f"http://stoker.test/v1/t1/servers/{server}/metadata"

    engine.delete_stack("t1", stack["id"])
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    assert store.list_deployments(server_id=server) == []
    assert store.get_server(server) is None


def test_failed_deployment_fails_stack_with_heat_reason(engine, store):
    stack = start(engine, {"config": CONFIG, "server": SERVER, "deploy": deployment(),
                           "after": {"type": "OS::Heat::None", "depends_on": ["deploy"]}})
    (dep,) = pending(store, server_id(engine, stack))
    signals.signal_deployment(store, system_clock, dep.id,
                              {"deploy_stdout": "", "deploy_stderr": "bad", "deploy_status_code": 1})
    stack = run(engine, stack["id"])
    assert stack["status"] == "FAILED"
    assert stack["status_reason"] == (
        "Resource CREATE failed: Error: resources.deploy: Deployment to server failed: "
        "deploy_status_code : Deployment exited with non-zero status code: 1")
    rows = {r["name"]: r for r in engine.resources(stack)}
    assert rows["after"]["status_reason"] == "CREATE aborted (upstream resource deploy failed)"


def test_structured_config_get_input_and_no_signal(engine, store):
    structured = {"type": "OS::Heat::StructuredConfig", "properties": {
        "group": "apply-config", "inputs": [{"name": "port"}],
        "config": {"listen": {"get_input": "port"}, "server": {"get_input": "deploy_server_id"},
                   "missing": {"get_input": "nope"}, "text": "get_input"}}}
    stack = start(engine, {"config": structured, "server": SERVER, "deploy": {
        "type": "OS::Heat::StructuredDeployment", "properties": {
            "config": {"get_resource": "config"}, "server": {"get_resource": "server"},
            "input_values": {"port": 8080}, "signal_transport": "NO_SIGNAL"}}})
    stack = run(engine, stack["id"])  # NO_SIGNAL: complete without any agent
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    server = engine.find_resource(stack["id"], "server")["physical_id"]
    (item,) = documents.deployment_items(store, server)
    assert item["config"] == {"listen": 8080, "server": server, "missing": None,
                              "text": "get_input"}
    assert [i["name"] for i in item["inputs"]][-1] == "deploy_signal_transport"


def test_update_redeploys_only_when_properties_change(engine, store):
    resources = {"config": CONFIG, "server": SERVER,
                 "deploy": deployment(input_values={"who": "a"}, signal_transport="NO_SIGNAL")}
    stack = run(engine, start(engine, resources)["id"])
    server = engine.find_resource(stack["id"], "server")["physical_id"]
    first = documents.deployment_items(store, server)[0]["id"]
    engine.update_stack("t1", stack["id"], {"template": hot(resources)})
    run(engine, stack["id"])
    assert documents.deployment_items(store, server)[0]["id"] == first  # unchanged: no re-run
    resources["deploy"] = deployment(input_values={"who": "b"}, signal_transport="NO_SIGNAL")
    engine.update_stack("t1", stack["id"], {"template": hot(resources)})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    (item,) = documents.deployment_items(store, server)
    values = {i["name"]: i.get("value") for i in item["inputs"]}
    assert item["id"] != first and values["who"] == "b" and values["deploy_action"] == "UPDATE"
    assert store.get_config(first) is None  # the previous derived config is gone


def test_delete_action_runs_before_the_deployment_goes(engine, store):
    resources = {"config": CONFIG, "server": SERVER,
                 "deploy": deployment(actions=["CREATE", "DELETE"])}
    stack = start(engine, resources)
    server = server_id(engine, stack)
    (dep,) = pending(store, server)
    signals.signal_deployment(store, system_clock, dep.id, {"deploy_status_code": 0})
    run(engine, stack["id"])
    engine.delete_stack("t1", stack["id"])
    (again,) = pending(store, server)
    item = documents.deployment_items(store, server)[0]
    assert {i["name"]: i.get("value") for i in item["inputs"]}["deploy_action"] == "DELETE"
    signals.signal_deployment(store, system_clock, again.id, {"deploy_status_code": 0})
    assert run(engine, stack["id"])["status"] == "COMPLETE"


def test_cancel_without_rollback_fails_waiting_deployment(engine, store):
    stack = start(engine, {"config": CONFIG, "server": SERVER, "deploy": deployment()})
    (dep,) = pending(store, server_id(engine, stack))
    engine.cancel("t1", stack["id"], rollback=False)
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("CREATE", "FAILED")
    assert store.get_deployment(dep.id).status_reason == "Deployment cancelled."


def test_deployment_group_over_two_servers(engine, store):
    stack = start(engine, {
        "config": CONFIG, "a": SERVER, "b": SERVER,
        "group": {"type": "OS::Heat::SoftwareDeploymentGroup", "properties": {
            "config": {"get_resource": "config"}, "signal_transport": "NO_SIGNAL",
            "servers": {"first": {"get_resource": "a"}, "second": {"get_resource": "b"}}}}},
        {"codes": {"value": {"get_attr": ["group", "deploy_status_codes"]}}})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    assert engine.outputs(stack)[0]["output_value"] == {"first": None, "second": None}
    for name in ("a", "b"):
        server = engine.find_resource(stack["id"], name)["physical_id"]
        assert len(documents.deployment_items(store, server)) == 1


def test_wait_condition_completes_on_signals(engine):
    stack = start(engine, {
        "handle": {"type": "OS::Heat::WaitConditionHandle"},
        "wait": {"type": "OS::Heat::WaitCondition", "properties": {
            "handle": {"get_resource": "handle"}, "timeout": 30, "count": 2}}},
        {"data": {"value": {"get_attr": ["wait", "data"]}},
         "curl": {"value": {"get_attr": ["handle", "curl_cli"]}}})
    wait_for(lambda: (engine.find_resource(stack["id"], "wait") or {}).get("status")
             == "IN_PROGRESS", what="the wait condition")
    engine.signal_resource("t1", stack["id"], "handle", {"data": "one"})
    engine.signal_resource("t1", stack["id"], "handle", {"status": "SUCCESS", "id": "x",
                                                         "data": "two", "reason": "ok"})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["data"] == '{"1": "one", "x": "two"}'
    assert "/resources/handle/signal?sig=" in outputs["curl"]


def test_wait_condition_handle_has_no_url_before_it_exists(engine, store):
    """A signal sent while the handle is being created would be lost (the create's result
    overwrites it), so its URL is known only once the handle exists."""
    from engine_helpers import ENDPOINTS
    from metadata_server.engine.context import PluginContext
    from metadata_server.engine.resources.wait_condition import WaitConditionHandle
    ctx = PluginContext(store, system_clock, "t1", "stack-id", "s", ENDPOINTS, None,
                        children=engine, finder=engine, limits=engine.limits)
    names = ("token", "endpoint", "curl_cli", "signal")
    assert [WaitConditionHandle("h", ctx, {}).attribute(n) for n in names] == [None] * 4
    made = WaitConditionHandle("h", ctx, {}, physical_id="made")
    assert "/stacks/s/stack-id/resources/h/signal?sig=" in made.attribute("endpoint")


def test_nova_server_with_security_group_and_deployments_as_in_heats_examples(engine, store):
    """The constructs Heat's software-config examples use, on the fake cloud: a security group,
    a SOFTWARE_CONFIG Nova server, two deployments (one listing SUSPEND/RESUME), a group."""
    stack = start(engine, {
        "sg": {"type": "OS::Neutron::SecurityGroup", "properties": {
            "name": "sg", "description": "ping and ssh",
            "rules": [{"protocol": "icmp"},
                      {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22}]}},
        "config": CONFIG,
        "server": {"type": "OS::Nova::Server", "properties": {
            "image": "img", "flavor": "small", "key_name": "k",
            "security_groups": [{"get_resource": "sg"}], "user_data_format": "SOFTWARE_CONFIG"}},
        "one": deployment(input_values={"who": "a"}, signal_transport="NO_SIGNAL"),
        "two": deployment(input_values={"who": "b"}, signal_transport="NO_SIGNAL",
                          actions=["CREATE", "UPDATE", "SUSPEND", "RESUME"]),
        "group": {"type": "OS::Heat::SoftwareDeploymentGroup", "properties": {
            "config": {"get_resource": "config"}, "signal_transport": "NO_SIGNAL",
            "servers": {"0": {"get_resource": "server"}}}}},
        {"stdout": {"value": {"get_attr": ["group", "deploy_stdout"]}},
         "occ": {"value": {"get_attr": ["server", "os_collect_config"]}}})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    server = engine.find_resource(stack["id"], "server")["physical_id"]
    assert len(documents.deployment_items(store, server)) == 3
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs["stdout"] == {"0": None}
    assert outputs["occ"]["cfn"]["path"] == "server.Metadata"


def test_suspend_and_resume_deploy_when_listed(engine, store):
    resources = {"config": CONFIG, "server": SERVER,
                 "listed": deployment(actions=["CREATE", "SUSPEND", "RESUME"],
                                      signal_transport="NO_SIGNAL"),
                 "plain": deployment(signal_transport="NO_SIGNAL"),
                 "group": {"type": "OS::Heat::ResourceGroup", "properties": {
                     "count": 2, "resource_def": {"type": "OS::Heat::None"}}}}
    stack = run(engine, start(engine, resources)["id"])
    server = engine.find_resource(stack["id"], "server")["physical_id"]

    def actions():
        return sorted(d.action for d in store.list_deployments(server_id=server))

    assert actions() == ["CREATE", "CREATE"]
    with pytest.raises(Exception, match="only a suspended stack can be resumed"):
        engine.resume_stack("t1", stack["id"])
    engine.suspend_stack("t1", stack["id"])
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("SUSPEND", "COMPLETE"), stack["status_reason"]
    assert actions() == ["CREATE", "SUSPEND"]
    assert {r["name"]: r["action"] for r in engine.resources(stack)}["group"] == "SUSPEND"
    engine.resume_stack("t1", stack["id"])
    stack = run(engine, stack["id"])
    assert (stack["action"], stack["status"]) == ("RESUME", "COMPLETE"), stack["status_reason"]
    assert actions() == ["CREATE", "RESUME"]
