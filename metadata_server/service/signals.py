"""Signals: an agent's result turned into a deployment status, by Heat's rules."""
from __future__ import annotations

from dataclasses import dataclass, field

from metadata_server.service.clock import Clock
from metadata_server.service.deployments import COMPLETE, FAILED, IN_PROGRESS, get_deployment
from metadata_server.service.errors import InvalidInput
from metadata_server.store import Store

ALWAYS_KEPT = ("deploy_stdout", "deploy_stderr", "deploy_status_code")


@dataclass
class SignalOutcome:
    applied: bool
    status: str
    status_reason: str
    output_values: dict | None = None
    event: str = ""
    reasons: dict = field(default_factory=dict)


def evaluate(deployment: dict, declared_outputs: list[dict], details: dict) -> SignalOutcome:
    """What a signal does to a deployment; pure, so every rule is testable without a store."""
    if deployment["status"] != IN_PROGRESS:
        return SignalOutcome(False, deployment["status"], deployment["status_reason"] or "",
                             deployment["output_values"],
                             f"signal ignored: deployment is {deployment['status']}, not IN_PROGRESS")
    outputs = dict(deployment["output_values"] or {})
    reasons: dict[str, str] = {}
    code = details.get("deploy_status_code")
    # Heat: 0, "0", None, "" and false all mean success
    if code and str(code) != "0":
        reasons["deploy_status_code"] = f"Deployment exited with non-zero status code: {code}"
        event = f"deployment {deployment['id']} failed ({code})"
    else:
        event = f"deployment {deployment['id']} succeeded"
    for output in declared_outputs:
        name = output["name"]
        if name in details:
            outputs[name] = details[name]
            if output.get("error_output"):
                reasons[name] = details[name]
                event = f"deployment {deployment['id']} failed"
    for key in ALWAYS_KEPT:
        outputs[key] = details.get(key)
    if reasons:
        reason = ", ".join(f"{k} : {v}" for k, v in reasons.items())
        return SignalOutcome(True, FAILED, reason, outputs, event, reasons)
    return SignalOutcome(True, COMPLETE, "Outputs received", outputs, event)


def signal_deployment(store: Store, clock: Clock, deployment_id: str, details: dict) -> SignalOutcome:
    if not isinstance(details, dict):
        raise InvalidInput("signal body: must be a JSON object")
    while True:
        deployment = get_deployment(store, None, deployment_id)
        config = store.get_config(deployment["config_id"])
        declared = config["body"].get("outputs", []) if config else []
        outcome = evaluate(deployment, declared, details)
        if not outcome.applied:
            return outcome
        if store.update_deployment(deployment_id, deployment["version"], {
                "status": outcome.status, "status_reason": outcome.status_reason,
                "output_values": outcome.output_values, "updated_at": clock()}):
            return outcome
        # another signal or update landed first: evaluate again against what it wrote
