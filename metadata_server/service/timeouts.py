"""Deployment deadlines: the server fails what no agent finished, and says what it knows."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from metadata_server.service.clock import Clock, isotime
from metadata_server.service.deployments import FAILED, IN_PROGRESS
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.store.records import DeploymentRecord, ServerRecord


def _ago(then: datetime, now: datetime) -> str:
    seconds = int((now - then).total_seconds())
    return f"{isotime(then)} ({seconds} s ago)"


def explain(deployment: DeploymentRecord, server: ServerRecord | None, now: datetime) -> str:
    started = deployment.updated_at or deployment.created_at
    waited = int((now - started).total_seconds())
    parts = [f"Deployment timed out: no result signal within {waited} s"]
    if server is None:
        parts.append(f"server {deployment.server_id} is not registered with stoker, so no "
                     "agent of it was ever seen")
    elif server.last_seen_at is None:
        parts.append(f"the agent of server {deployment.server_id} has never polled: check that "
                     "it booted, runs stoker agent or os-collect-config, and can reach this server")
    elif server.last_seen_at < started:
        parts.append(f"the agent last polled at {_ago(server.last_seen_at, now)}, before this "
                     "deployment was created: it stopped polling")
    else:
        parts.append(f"the agent last polled at {_ago(server.last_seen_at, now)}")
    if deployment.phase:
        parts.append(f"last phase reported: {deployment.phase}"
                     + (f" at {isotime(deployment.last_signal_at)}"
                        if deployment.last_signal_at else ""))
    else:
        parts.append("the agent never reported starting it")
    return "; ".join(parts)


def sweep(store: ServiceStore, clock: Clock, last_seen=None) -> list[str]:
    """Fail every overdue IN_PROGRESS deployment; returns their ids."""
    now = clock()
    failed = []
    for deployment in store.overdue_deployments(now):
        server = store.get_server(deployment.server_id)
        if server is not None and last_seen is not None:
            pending = last_seen.pending(server.id)
            if pending and (server.last_seen_at is None or pending > server.last_seen_at):
                server = replace(server, last_seen_at=pending)
        # compare-and-swap: a signal that lands meanwhile wins, and so does another worker's sweep
        if deployment.status == IN_PROGRESS and store.update_deployment(
                deployment.id, deployment.version,
                {"status": FAILED, "status_reason": explain(deployment, server, now),
                 "updated_at": now}):
            failed.append(deployment.id)
    return failed
