"""ZAQAR_SIGNAL: keystone v3 password auth, then the result posted as one message
(`{"body": <result>, "ttl": 600}`) to the queue `deploy_queue_id` on the messaging endpoint.

Chosen when the inputs carry `deploy_queue_id`. Heat pops the queue when it next shows the
deployment. Uses Zaqar's v2 API (upstream's notify used v1.1; both post to the same queue).
"""
from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

from agent.signals.base import SignalError
from agent.signals.heat import HeatTransport
from agent.signals.url import MAX_BODY_CHARS, trimmed_body

MESSAGE_TTL = 600


class ZaqarTransport(HeatTransport):
    name = "ZAQAR_SIGNAL"
    service_type = "messaging"

    def target(self, endpoint: str, values: dict[str, Any]) -> str:
        queue = values.get("deploy_queue_id")
        if not queue:
            raise SignalError("ZAQAR_SIGNAL needs deploy_queue_id in the inputs", retryable=False)
        return f"{endpoint}/v2/queues/{quote(str(queue), safe='')}/messages"

    def body(self, values: dict[str, Any], payload: dict[str, Any]) -> bytes:
        message = json.loads(trimmed_body(payload, MAX_BODY_CHARS - 100))
        return json.dumps({"messages": [{"body": message, "ttl": MESSAGE_TTL}]}).encode("ascii")

    def extra_headers(self, values: dict[str, Any]) -> dict[str, str]:
        # Zaqar requires a client id per request; a stable one per project keeps it simple.
        client = uuid.uuid5(uuid.NAMESPACE_URL, f"stoker-agent:{values.get('deploy_project_id')}")
        headers = {"Client-ID": str(client)}
        if values.get("deploy_project_id"):
            headers["X-Project-Id"] = str(values["deploy_project_id"])
        return headers
