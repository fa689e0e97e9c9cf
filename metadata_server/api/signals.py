"""/v1/signal/deployments/{id}: where agents (and upstream heat-config-notify) send results."""
from datetime import datetime, timezone

from flask import Blueprint, jsonify, request

from metadata_server.api.common import caller, ctx, json_body
from metadata_server.service import signals
from metadata_server.service.clock import isotime
from metadata_server.service.credentials import verify
from metadata_server.service.deployments import get_deployment
from metadata_server.service.errors import Forbidden

bp = Blueprint("signals", __name__, url_prefix="/v1/signal")


def _authorise(deployment_id: str) -> None:
    c = ctx()
    signature = request.args.get("sig")
    if signature is not None:
        expires = request.args.get("expires", "")
        if not verify(c.signing_keys(), signature, "signal", deployment_id, expires):
            raise Forbidden("the signal URL's signature does not match this deployment")
        if expires and int(expires) < c.clock().replace(tzinfo=timezone.utc).timestamp():
            raise Forbidden(f"this signal URL expired at {isotime(datetime.fromtimestamp(int(expires), timezone.utc))}")
        get_deployment(c.store, None, deployment_id)
        return
    principal = caller()
    deployment = get_deployment(c.store, principal.tenant, deployment_id)
    principal.require_deployment(deployment)


@bp.route("/deployments/<deployment_id>", methods=["PUT", "POST"])
def signal(deployment_id):
    _authorise(deployment_id)
    return apply(deployment_id)


def apply(deployment_id: str):
    """Apply this request's signal to an authorised deployment (also HEAT_SIGNAL's route)."""
    c = ctx()
    body = json_body()
    phase = request.headers.get("X-Stoker-Phase")
    if phase is not None:
        outcome = signals.record_phase(c.store, c.clock, deployment_id, phase)
    else:
        outcome = signals.signal_deployment(c.store, c.clock, deployment_id, body,
                                            request.headers.get("X-Stoker-Attempt"))
    answer = {"deployment_id": deployment_id, "applied": outcome.applied,
              "status": outcome.status, "status_reason": outcome.status_reason,
              "event": outcome.event}
    result = ("phase" if phase is not None else "duplicate" if outcome.duplicate
              else "applied" if outcome.applied else "ignored")
    c.metrics.inc("stoker_signals_total", result=result)
    if outcome.duplicate:
        answer["duplicate"] = True
    if outcome.phase is not None:
        answer["phase"] = outcome.phase
    return jsonify({"signal": answer})
