"""Servers: when each agent was last seen, and each deployment's phase, status, logs and explanation.

The explanation is `stoker deployment explain`'s own (service/deployment_explain.py, a pure
function of the API's bodies), fed the same bodies the servers and deployments API return.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import render_template

from metadata_server.api.common import ctx
from metadata_server.dashboard import graph_svg
from metadata_server.dashboard import session as sessions
from metadata_server.dashboard.blueprint import bp
from metadata_server.service import deployments, servers
from metadata_server.service.deployment_explain import explain, parse_time, span
from metadata_server.store.metric_window import MetricWindow

MAX_LOG_CHARS = 64 * 1024   # the tail of a hook's output shown on the page
QUIET_POLLS = 3             # an agent missing this many polls in a row is called silent
MIN_QUIET = 90.0            # seconds: long polls and a loaded machine stay "healthy" below this


def _now() -> datetime:
    """The server's clock, aware (the explain text compares it with the API's UTC times)."""
    return ctx().clock().replace(tzinfo=timezone.utc)


def _health(server: dict, now: datetime) -> tuple[str, str, str]:
    """(css kind, icon, words) for the agent's health, from when it last polled."""
    seen = parse_time(server.get("last_seen_time"))
    if seen is None:
        return ("waiting", "\u25cb", "never seen: no agent has polled yet")
    quiet = max(MIN_QUIET, QUIET_POLLS * (ctx().poll_interval or 30.0))
    ago = (now - seen).total_seconds()
    if ago <= quiet:
        return ("ok", "\u2714", f"healthy: polled {span(ago)} ago")
    return ("failed", "\u2716", f"silent for {span(ago)} (expected a poll every "
                                f"{span(ctx().poll_interval or 30.0)})")


def _server_body(tenant: str, server_id: str) -> dict:
    c = ctx()
    return servers.format_server(c.last_seen.latest(servers.get_server(c.store, tenant, server_id)))


def _deployment_view(body: dict, server: dict | None, now: datetime) -> dict:
    status = f"{body['action']}_{body['status']}"
    outputs = body.get("output_values") or {}
    view = dict(body, joined=status, kind=graph_svg.status_kind(status),
                explained=explain(body, server, now))
    for key in ("deploy_stdout", "deploy_stderr"):
        text = outputs.get(key)
        text = "" if text is None else str(text)
        view[key] = text[-MAX_LOG_CHARS:]
        view[key + "_cut"] = len(text) > MAX_LOG_CHARS
    view["status_code"] = outputs.get("deploy_status_code")
    return view


@bp.get("/servers")
@sessions.signed_in
def servers_list(session):
    c = ctx()
    now = _now()
    rows = [servers.format_server(c.last_seen.latest(r))
            for r in c.store.list_servers(session.tenant)]
    counts: dict[str, int] = {}
    for d in c.store.list_deployments(session.tenant):
        counts[d.server_id] = counts.get(d.server_id, 0) + 1
    items = [dict(r, health=_health(r, now), deployments=counts.get(r["id"], 0)) for r in rows]
    return render_template("dashboard/servers.html", session=session, servers=items)


@bp.get("/servers/<server_id>")
@sessions.signed_in
def server(session, server_id):
    c = ctx()
    now = _now()
    body = _server_body(session.tenant, server_id)
    rows = c.store.list_deployments(session.tenant, server_id)
    views = [_deployment_view(deployments.format_deployment(r), body, now) for r in rows]
    latest = MetricWindow(c.store.engine).latest(server_id)   # what its agent sampled last
    metrics = None if latest is None else {
        "time": datetime.fromtimestamp(latest[0], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "values": sorted(latest[1].items())}
    return render_template("dashboard/server.html", session=session, server=body,
                           health=_health(body, now), deployments=views, metrics=metrics)


@bp.get("/deployments/<deployment_id>")
@sessions.signed_in
def deployment(session, deployment_id):
    c = ctx()
    now = _now()
    body = deployments.format_deployment(
        deployments.get_deployment(c.store, session.tenant, deployment_id))
    row = c.store.get_server(body["server_id"], session.tenant)
    server_body = servers.format_server(c.last_seen.latest(row)) if row is not None else None
    return render_template("dashboard/deployment.html", session=session,
                           deployment=_deployment_view(body, server_body, now),
                           server=server_body)
