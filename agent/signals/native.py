"""stoker's own signalling additions, on top of the URL transports.

- Results: every result carries `X-Stoker-Attempt` (see url.py); the server treats a repeated
  (deployment, attempt) as a duplicate and changes nothing.
- Phases: when a hook starts, the agent PUTs `{}` with `X-Stoker-Phase: running` to the same
  signal URL; the server records the phase and keeps the deployment IN_PROGRESS. Only ever sent to
  stoker's own signal URLs (same scheme://host:port as the agent's `[watch] metadata_url`, path
  under /v1/signal/deployments/): Heat or Swift would take the empty body as the result.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from agent.deployment import describe, input_values
from stoker_common.http_client import HttpClient, TransportError
from stoker_common.http_errors import redact_url

log = logging.getLogger(__name__)

PHASE_HEADER = "X-Stoker-Phase"
SIGNAL_PATH = "/v1/signal/deployments/"
RUNNING = "running"


def origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port


def is_stoker_signal_url(url: Any, metadata_url: str | None) -> bool:
    if not isinstance(url, str) or not metadata_url:
        return False
    mine = origin(metadata_url)
    return mine is not None and origin(url) == mine and SIGNAL_PATH in urlsplit(url).path


class PhaseReporter:
    """Best effort: a phase report that fails is logged and dropped; the result is what matters."""

    def __init__(self, metadata_url: str | None, http: HttpClient | None = None, timeout: float = 5.0):
        self.metadata_url = metadata_url
        self.http = http or HttpClient()
        self.timeout = timeout

    def report(self, item: dict, phase: str = RUNNING) -> bool:
        url = input_values(item).get("deploy_signal_id")
        if not is_stoker_signal_url(url, self.metadata_url):
            return False
        try:
            resp = self.http.request("PUT", url, {"Content-Type": "application/json", PHASE_HEADER: phase}, b"{}",
                                     timeout=self.timeout)
        except TransportError as exc:
            log.info("%s: phase %s not reported: %s", describe(item), phase, exc.reason)
            return False
        if not resp.ok:
            log.info("%s: phase %s not reported: %s answered %s", describe(item), phase, redact_url(url),
                     resp.status)
            return False
        return True
