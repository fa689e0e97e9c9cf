"""Agents' metric samples (native; docs/protocol.md "Agent metrics"), with either credential:

- POST /v1/metadata/{server_id}/metrics?sig=: the signature of the server's signed metadata URL;
- POST /v1/{tenant}/servers/{server_id}/metrics: the server's token in X-Auth-Token (an operator
  of the tenant may send too, e.g. to try an alarm).

The server id comes from the URL and its credential only, so a server's samples go to its own
window. Answers 202 {"accepted": n}; 400 naming the field; 413 over 64 KiB; 429 with
Retry-After when one server sends faster than the operator allows.
"""
from __future__ import annotations

import math
from flask import Blueprint, current_app, jsonify, request

from metadata_server.api.common import caller, ctx, json_body
from metadata_server.api.signed_metadata import signed_server
from metadata_server.service import servers
from metadata_server.service.errors import PayloadTooLarge, ServiceError
from metadata_server.service.metric_samples import (MAX_BODY_BYTES, IngestLimits, RateGate,
                                                    epoch, parse_batch)
from metadata_server.store.metric_window import MetricWindow

bp = Blueprint("metrics_ingest", __name__)
SETTINGS = "stoker-metrics-ingest"
EVALUATOR = "stoker-alarm-evaluator"


class TooManyRequests(ServiceError):
    code = 429
    title = "Too Many Requests"
    explanation = "The server is shedding load; retry after the time it gives."


class Ingest:
    """What the routes share in one app: the limits, the rate gate, the window's queries."""

    def __init__(self, store, limits: IngestLimits | None = None):
        self.limits = limits or IngestLimits()
        self.gate = RateGate(self.limits.min_interval)
        self.window = MetricWindow(store.engine)
        self.samples_received = 0   # for /metrics
        self.batches_refused = 0


def ingest() -> Ingest:
    found = current_app.extensions.get(SETTINGS)
    if found is None:
        found = current_app.extensions.setdefault(SETTINGS, Ingest(ctx().store))
    return found


def configure(app, limits: IngestLimits) -> Ingest:
    """`stoker server`'s --metrics-* options for this app."""
    app.extensions[SETTINGS] = Ingest(app.extensions["stoker"].store, limits)
    return app.extensions[SETTINGS]


def _take(server_id: str, tenant: str):
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes")
    c, found = ctx(), ingest()
    now = epoch(c.clock)
    samples = parse_batch(json_body(), now)
    wait = found.gate.wait_needed(server_id, now)
    if wait > 0:
        found.batches_refused += 1
        error = TooManyRequests(f"server {server_id} sent its previous batch less than "
                                f"{found.limits.min_interval:g} s ago; retry after "
                                f"{math.ceil(wait)} s")
        response = current_app.handle_user_exception(error)
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    found.window.add_batch(server_id, tenant, now, samples)
    found.samples_received += len(samples)
    return jsonify({"accepted": len(samples)}), 202


@bp.post("/v1/metadata/<server_id>/metrics")
def signed(server_id):
    server, _access_key = signed_server(server_id, "metrics")
    return _take(server_id, server.tenant)


@bp.post("/v1/<tenant>/servers/<server_id>/metrics")
def with_token(tenant, server_id):
    principal = caller()
    principal.require_server(server_id)
    servers.get_server(ctx().store, tenant, server_id)
    return _take(server_id, tenant)


def gauges(app) -> dict[str, float]:
    """For /metrics: the samples this process took and refused, and its alarm evaluator's."""
    gauges: dict[str, float] = {}
    found = app.extensions.get(SETTINGS)
    if found is not None:
        gauges.update({"stoker_metric_samples_received_total": found.samples_received,
                       "stoker_metric_batches_refused_total": found.batches_refused})
    evaluator = app.extensions.get(EVALUATOR)   # `stoker server` starts one
    if evaluator is not None:
        gauges.update(evaluator.gauges())
    return gauges
