"""Keystone v3 password authentication and service catalog lookup, for HEAT_SIGNAL and ZAQAR_SIGNAL.

The deployment's inputs carry the credentials Heat made for it (`deploy_auth_url`,
`deploy_user_id` or `deploy_username`, `deploy_password`, `deploy_project_id`,
`deploy_region_name`). A token is kept per credential until shortly before it expires, rather than
fetched for every signal as upstream did.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from agent.signals.base import SignalError
from stoker_common.http_client import HttpClient, TransportError
from stoker_common.retry_after import retry_after

# Refresh a token this long before keystone says it expires.
EXPIRY_MARGIN = 60.0


@dataclass
class Session:
    token: str
    catalog: list[dict]
    expires: float

    def endpoint(self, service_type: str, region: str | None, interface: str = "public") -> str:
        for service in self.catalog:
            if service.get("type") != service_type:
                continue
            for endpoint in service.get("endpoints") or []:
                if endpoint.get("interface") != interface:
                    continue
                if region and region not in (endpoint.get("region_id"), endpoint.get("region")):
                    continue
                return str(endpoint["url"]).rstrip("/")
        where = f" in region {region}" if region else ""
        raise SignalError(f"keystone catalog has no {interface} {service_type} endpoint{where}", retryable=False)


def v3_url(auth_url: str) -> str:
    """`deploy_auth_url` as Heat gives it may end in /v3, /v2.0 or nothing."""
    base = auth_url.rstrip("/")
    if base.endswith("/v2.0"):
        base = base[:-len("/v2.0")]
    return base if base.endswith("/v3") else base + "/v3"


class Keystone:
    def __init__(self, http: HttpClient | None = None, timeout: float = 10.0,
                 clock: Callable[[], float] = time.time):
        self.http = http or HttpClient()
        self.timeout = timeout
        self.clock = clock
        self._cache: dict[str, Session] = {}

    def authenticate(self, values: dict[str, Any]) -> Session:
        auth_url = values.get("deploy_auth_url")
        password = values.get("deploy_password")
        user_id, username = values.get("deploy_user_id"), values.get("deploy_username")
        project_id = values.get("deploy_project_id")
        missing = [name for name, value in (("deploy_auth_url", auth_url), ("deploy_password", password),
                                            ("deploy_user_id or deploy_username", user_id or username))
                   if not value]
        if missing:
            raise SignalError(f"cannot authenticate to keystone: no {', '.join(missing)} in the inputs",
                              retryable=False)
        key = hashlib.sha256(json.dumps([auth_url, user_id, username, password, project_id]).encode()).hexdigest()
        cached = self._cache.get(key)
        if cached and cached.expires - EXPIRY_MARGIN > self.clock():
            return cached
        user: dict[str, Any] = {"password": password}
        if user_id:
            user["id"] = user_id
        else:
            user.update(name=username, domain={"id": values.get("deploy_user_domain_id") or "default"})
        body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
        if project_id:
            body["auth"]["scope"] = {"project": {"id": project_id}}
        url = v3_url(str(auth_url)) + "/auth/tokens"
        try:
            resp = self.http.request("POST", url, {"Content-Type": "application/json"}, json.dumps(body).encode(),
                                     timeout=self.timeout)
        except TransportError as exc:
            raise SignalError(f"keystone {url}: {exc.reason}", retryable=True) from None
        if resp.status in (401, 403):
            # The deployment's credentials are wrong or revoked: resending will not fix that.
            raise SignalError(f"keystone {url} refused the deployment's credentials ({resp.status})",
                              retryable=False)
        if resp.status != 201 or "X-Subject-Token" not in resp.headers:
            retryable = resp.status >= 500 or resp.status in (408, 429)
            raise SignalError(f"keystone {url} answered {resp.status} {resp.reason}", retryable=retryable,
                              retry_after=retry_after(resp.headers, self.clock()) if retryable else None)
        try:
            token_body = resp.json()["token"]
        except (ValueError, KeyError, TypeError):
            raise SignalError(f"keystone {url} answered without a token body", retryable=True) from None
        session = Session(resp.headers["X-Subject-Token"], token_body.get("catalog") or [],
                          _expiry(token_body.get("expires_at"), self.clock()))
        self._cache[key] = session
        return session

    def forget(self, session: Session) -> None:
        self._cache = {k: v for k, v in self._cache.items() if v is not session}


def _expiry(text: Any, now: float) -> float:
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return now + 3600
