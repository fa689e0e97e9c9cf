"""HEAT_SIGNAL: keystone v3 password auth with the deployment's credentials, then
POST <orchestration endpoint>/stacks/<deploy_stack_id>/resources/<deploy_resource_name>/signal.

Chosen when the inputs carry `deploy_auth_url` (and no queue id), as heat-config-notify does. The
inputs Heat gives are `deploy_auth_url`, `deploy_user_id` or `deploy_username` (then in
`deploy_user_domain_id`, else the default domain), `deploy_password`, `deploy_project_id` and
`deploy_region_name`. Unlike upstream the token is kept while it is fresh (stoker_common/keystone.py),
the body is trimmed like the URL transports' (Heat refuses bodies over 1 MiB), and a 401 drops the
token and retries once with a new one.
"""
from __future__ import annotations

import time
from typing import Any, Callable
from urllib.parse import quote

from agent.deployment import input_values
from agent.signals.base import SignalError
from agent.signals.url import ATTEMPT_HEADER, request_json, trimmed_body
from stoker_common.http_client import HttpClient
from stoker_common.keystone import Credentials, Keystone, KeystoneError


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
        credentials = deployment_credentials(values)
        for retry in (False, True):
            try:
                token = self.keystone.token(credentials)
                endpoint = token.endpoint(self.service_type, values.get("deploy_region_name"))
            except KeystoneError as exc:
                raise SignalError(exc.reason, exc.retryable, exc.retry_after) from None
            url = self.target(endpoint, values)
            headers = {"X-Auth-Token": token.value, **self.extra_headers(values)}
            if attempt:
                headers[ATTEMPT_HEADER] = attempt
            try:
                request_json(self.http, "POST", url, self.body(values, payload), headers, self.attempts,
                             self.backoff, self.timeout, self.sleep, clock=self.clock)
                return
            except SignalError as exc:
                if retry or exc.status != 401:
                    raise
                self.keystone.forget(token)  # token revoked or expired early: get a new one

    def extra_headers(self, values: dict[str, Any]) -> dict[str, str]:
        return {}


def deployment_credentials(values: dict[str, Any]) -> Credentials:
    """The keystone user Heat made for the deployment, from its inputs."""
    auth_url, password = values.get("deploy_auth_url"), values.get("deploy_password")
    user_id, username = values.get("deploy_user_id"), values.get("deploy_username")
    missing = [name for name, value in (("deploy_auth_url", auth_url), ("deploy_password", password),
                                        ("deploy_user_id or deploy_username", user_id or username))
               if not value]
    if missing:
        raise SignalError(f"cannot authenticate to keystone: no {', '.join(missing)} in the inputs",
                          retryable=False)
    return Credentials(str(auth_url), str(password), user_id=user_id and str(user_id),
                       username=username and str(username),
                       user_domain_id=values.get("deploy_user_domain_id") or None,
                       project_id=values.get("deploy_project_id") or None)
