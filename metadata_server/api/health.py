"""/healthz and /metrics: for load balancers and Prometheus; no token needed, no secrets shown.

/metrics with an operator token (X-Auth-Token, or `Authorization: Bearer` as Prometheus sends
one) also shows the agents' newest samples in the token's tenants (service/metric_export.py).
"""
import os

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text

from metadata_server.api import metrics_ingest
from metadata_server.api.common import ctx
from metadata_server.service.metric_export import MAX_SERVERS, agent_gauges
from metadata_server.store import event_outbox

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        with ctx().store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the database is what can fail here; say so, briefly
        return jsonify({"status": "unavailable", "database": type(exc).__name__}), 503
    return jsonify({"status": "ok"})


@bp.get("/metrics")
def metrics():
    c = ctx()
    gauges = {"stoker_documents_cached": c.documents.size(),
              "stoker_watchers": c.documents.watchers,
              'stoker_db_queries_total{origin="request"}': c.store.queries["request"],
              'stoker_db_queries_total{origin="background"}': c.store.queries["background"],
              "stoker_process_id": os.getpid(),
              "stoker_event_sink_dropped_total": event_outbox.SETTINGS.dropped}
    engine = current_app.extensions.get("stoker-engine")  # made by `stoker server` at start
    if engine is not None:
        gauges.update(engine.gauges())
    gauges.update(metrics_ingest.gauges(current_app))   # agents' samples and alarms
    token = _token()
    if token is not None:
        principal = c.authenticate(token)
        principal.require_admin()   # an operator's: a server's token sees no other server
        gauges.update(agent_gauges(metrics_ingest.ingest().window.latest_per_server(
            principal.tenant, MAX_SERVERS)))
    return Response(c.metrics.render(gauges), mimetype="text/plain; version=0.0.4")


def _token() -> str | None:
    token = request.headers.get("X-Auth-Token")
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if token is None and scheme.lower() == "bearer" and credentials.strip():
        token = credentials.strip()
    return token
