"""The derived config: a source config plus input values and the deploy_* inputs, per action.

Built as Heat's OS::Heat::SoftwareDeployment builds it, so agents and hooks see the same item.
The engine's deployment resources call it too.
"""
from __future__ import annotations

from dataclasses import dataclass

from metadata_server.service.endpoints import SignalTarget

# Heat's ZAQAR_SIGNAL needs a Zaqar queue, which stoker does not run
TRANSPORTS = ("CFN_SIGNAL", "TEMP_URL_SIGNAL", "HEAT_SIGNAL", "NO_SIGNAL")
SIGNAL_VERBS = {"CFN_SIGNAL": "POST", "TEMP_URL_SIGNAL": "PUT"}
KEYSTONE_INPUTS = ("deploy_auth_url", "deploy_username", "deploy_user_id", "deploy_password",
                   "deploy_project_id")

DESCRIPTIONS = {
    "deploy_server_id": "ID of the server being deployed to",
    "deploy_action": "Name of the current action being deployed",
    "deploy_stack_id": "ID of the stack this deployment belongs to",
    "deploy_resource_name": "Name of this deployment resource in the stack",
    "deploy_signal_transport": "How the server should signal to heat with the deployment output values.",
    "deploy_signal_id": "ID of signal to use for signaling output values",
    "deploy_signal_verb": "HTTP verb to use for signaling outputvalues",
    "deploy_auth_url": "URL for API authentication",
    "deploy_username": "Username for API authentication",
    "deploy_user_id": "User ID for API authentication",
    "deploy_password": "Password for API authentication",
    "deploy_project_id": "ID of project for API authentication",
}


@dataclass(frozen=True)
class DeployContext:
    server_id: str
    action: str
    transport: str
    stack_id: str = ""
    resource_name: str = ""


def _derived(name: str, value: str) -> dict:
    return {"name": name, "type": "String", "description": DESCRIPTIONS[name], "value": value}


def derive_inputs(source_inputs: list[dict], input_values: dict, ctx: DeployContext,
                  target: SignalTarget | None) -> list[dict]:
    """`target` None derives a preview: the transport's inputs are there, without values."""
    inputs = []
    for declared in source_inputs:
        item = dict(declared)
        if declared["name"] in input_values:
            item["value"] = input_values[declared["name"]]
        elif "default" in declared:
            item["value"] = declared["default"]
        inputs.append(item)
    declared_names = {i["name"] for i in source_inputs}
    inputs += [{"name": k, "type": "String", "value": v}
               for k, v in input_values.items() if k not in declared_names]
    inputs += [_derived("deploy_server_id", ctx.server_id),
               _derived("deploy_action", ctx.action),
               _derived("deploy_stack_id", ctx.stack_id),
               _derived("deploy_resource_name", ctx.resource_name),
               _derived("deploy_signal_transport", ctx.transport)]
    if ctx.transport in SIGNAL_VERBS:
        inputs += [_derived("deploy_signal_id", target.url() if target else None),
                   _derived("deploy_signal_verb", SIGNAL_VERBS[ctx.transport])]
    elif ctx.transport == "HEAT_SIGNAL":
        user = target.keystone_user() if target else {}
        inputs += [_derived(name, user.get(name)) for name in KEYSTONE_INPUTS]
    return inputs


def derive_body(source_body: dict, input_values: dict, ctx: DeployContext,
                target: SignalTarget | None) -> dict:
    return {"config": source_body.get("config") if source_body.get("config") is not None else "",
            "inputs": derive_inputs(source_body.get("inputs", []), input_values, ctx, target),
            "outputs": source_body.get("outputs", []),
            "options": source_body.get("options") or {}}
