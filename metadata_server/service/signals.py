"""Signals: an agent's result turned into a deployment status, by Heat's rules."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from metadata_server.service.clock import Clock
from metadata_server.service.deployments import COMPLETE, FAILED, IN_PROGRESS, get_deployment
from metadata_server.service.errors import InvalidInput
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.store.records import DeploymentRecord

ALWAYS_KEPT = ("deploy_stdout", "deploy_stderr", "deploy_status_code")


@dataclass
class SignalOutcome:
    applied: bool
    status: str
    status_reason: str
    output_values: dict | None = None
    event: str = ""
    reasons: dict = field(default_factory=dict)
    duplicate: bool = False  # this attempt was received before; nothing changed now
    phase: str | None = None


ATTEMPT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
PHASE = re.compile(r"^[a-z][a-z_-]{0,31}$")


def evaluate(deployment: DeploymentRecord, declared_outputs: list[dict],
             details: dict) -> SignalOutcome:
    """What a signal does to a deployment; pure, so every rule is testable without a store."""
    if deployment.status != IN_PROGRESS:
        return SignalOutcome(False, deployment.status, deployment.status_reason or "",
                             deployment.output_values,
                             f"signal ignored: deployment is {deployment.status}, not IN_PROGRESS")
    outputs = dict(deployment.output_values or {})
    reasons: dict[str, str] = {}
    code = details.get("deploy_status_code")
    # Heat: 0, "0", None, "" and false all mean success
    if code and str(code) != "0":
        reasons["deploy_status_code"] = f"Deployment exited with non-zero status code: {code}"
        event = f"deployment {deployment.id} failed ({code})"
    else:
        event = f"deployment {deployment.id} succeeded"
    for output in declared_outputs:
        name = output["name"]
        if name in details:
            outputs[name] = details[name]
            if output.get("error_output"):
                reasons[name] = details[name]
                event = f"deployment {deployment.id} failed"
    for key in ALWAYS_KEPT:
        outputs[key] = details.get(key)
    if reasons:
        reason = ", ".join(f"{k} : {v}" for k, v in reasons.items())
        return SignalOutcome(True, FAILED, reason, outputs, event, reasons)
    return SignalOutcome(True, COMPLETE, "Outputs received", outputs, event)


def _check(pattern: re.Pattern, value: str | None, what: str) -> None:
    if value is not None and not pattern.match(value):
        raise InvalidInput(f"{what}: {value[:70]!r} is not valid ({pattern.pattern})")


def signal_deployment(store: ServiceStore, clock: Clock, deployment_id: str, details: dict,
                      attempt_id: str | None = None) -> SignalOutcome:
    """Apply an agent's result. With an attempt id, a repeated delivery changes nothing."""
    if not isinstance(details, dict):
        raise InvalidInput("signal body: must be a JSON object")
    _check(ATTEMPT_ID, attempt_id, "X-Stoker-Attempt")
    while True:
        if attempt_id is not None:
            seen = store.get_attempt(deployment_id, attempt_id)
            if seen is not None:
                return SignalOutcome(**dict(seen["outcome"], applied=False, duplicate=True))
        deployment = get_deployment(store, None, deployment_id)
        config = store.get_config(deployment.config_id)
        declared = config.outputs if config else []
        outcome = evaluate(deployment, declared, details)
        now = clock()
        if not outcome.applied:
            if attempt_id is not None:
                store.record_attempt(deployment_id, {"attempt_id": attempt_id, "received_at": now,
                                                     "outcome": _stored(outcome)})
            return outcome
        attempt = None if attempt_id is None else {
            "attempt_id": attempt_id, "received_at": now, "outcome": _stored(outcome)}
        if store.update_deployment(deployment_id, deployment.version, {
                "status": outcome.status, "status_reason": outcome.status_reason,
                "output_values": outcome.output_values, "updated_at": now,
                "last_signal_at": now}, attempt):
            return outcome
        # another signal or update landed first: evaluate again against what it wrote


def _stored(outcome: SignalOutcome) -> dict:
    kept = asdict(outcome)
    kept.pop("output_values")  # the deployment holds them; the attempt needs only the verdict
    return kept


def record_phase(store: ServiceStore, clock: Clock, deployment_id: str, phase: str) -> SignalOutcome:
    """An agent says how far it got (e.g. `running`); the deployment stays IN_PROGRESS."""
    _check(PHASE, phase, "X-Stoker-Phase")
    while True:
        deployment = get_deployment(store, None, deployment_id)
        if deployment.status != IN_PROGRESS:
            return SignalOutcome(False, deployment.status, deployment.status_reason or "",
                                 event=f"phase {phase} ignored: deployment is {deployment.status}",
                                 phase=deployment.phase)
        now = clock()
        if store.update_deployment(deployment_id, deployment.version,
                                   {"phase": phase, "last_signal_at": now}):
            return SignalOutcome(False, IN_PROGRESS, deployment.status_reason or "",
                                 event=f"deployment {deployment_id} is {phase}", phase=phase)
