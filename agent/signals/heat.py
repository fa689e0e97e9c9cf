"""HEAT_SIGNAL: keystone v3 password auth with the deployment's credentials, then
POST <orchestration endpoint>/stacks/<deploy_stack_id>/resources/<deploy_resource_name>/signal.

Chosen when the inputs carry `deploy_auth_url` (and no queue id), as heat-config-notify does. Unlike
upstream the body is trimmed like the URL transports' (Heat refuses bodies over 1 MiB), and a 401
drops the cached token and retries once with a new one.
"""
from __future__ import annotations

import time
from typing import Any, Callable
from urllib.parse import quote

from agent.deployment import input_values
from agent.signals.base import SignalError
from agent.signals.keystone import Keystone
from agent.signals.url import ATTEMPT_HEADER, request_json, trimmed_body
from stoker_common.http_client import HttpClient


class HeatTransport:
    name = "HEAT_SIGNAL"
    service_type = "orchestration"

    def __init__(self, http: HttpClient | None = None, keystone: Keystone | None = None,
                 attempts: int = 3, backoff: float = 0.5, timeout: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.http = http or HttpClient()
        self.keystone = keystone or Keystone(self.http, timeout, clock=clock)
        self.attempts, self.backoff, self.timeout, self.sleep = attempts, backoff, timeout, sleep
        self.clock = clock

    def target(self, endpoint: str, values: dict[str, Any]) -> str:
        stack, resource = values.get("deploy_stack_id"), values.get("deploy_resource_name")
        if not stack or not resource:
            raise SignalError("HEAT_SIGNAL needs deploy_stack_id and deploy_resource_name in the inputs",
                              retryable=False)
        # the stack id is `name/uuid`: its slash is part of the path
        return f"{endpoint}/stacks/{quote(str(stack), safe='/')}/resources/{quote(str(resource), safe='')}/signal"

    def body(self, values: dict[str, Any], payload: dict[str, Any]) -> bytes:
        return trimmed_body(payload).encode("ascii")

    def send(self, item: dict, payload: dict[str, Any], attempt: str | None = None) -> None:
        values = input_values(item)
        for retry in (False, True):
            session = self.keystone.authenticate(values)
            url = self.target(session.endpoint(self.service_type, values.get("deploy_region_name")), values)
            headers = {"X-Auth-Token": session.token, **self.extra_headers(values)}
            if attempt:
                headers[ATTEMPT_HEADER] = attempt
            try:
                request_json(self.http, "POST", url, self.body(values, payload), headers, self.attempts,
                             self.backoff, self.timeout, self.sleep, clock=self.clock)
                return
            except SignalError as exc:
                if retry or " answered 401 " not in str(exc):
                    raise
                self.keystone.forget(session)  # token revoked or expired early: get a new one

    def extra_headers(self, values: dict[str, Any]) -> dict[str, str]:
        return {}
