"""The agent side's one keystone client: v3 password authentication and the service catalog.

Used by the heat and zaqar collectors (os-collect-config's `auth_url`, `user_id`, `password`,
`project_id`, `region_name`) and by the HEAT_SIGNAL and ZAQAR_SIGNAL transports (the deployment's
`deploy_*` inputs). It runs on the agent's own HTTP client rather than keystoneauth1, whose
session and password plugin cost about 12 MB of an idle agent's RSS (docs/benchmarks.md).

- The auth URL is used as given when it ends in /v3; one ending in /v2.0 (or in nothing) gets /v3
  instead. Heat hands out v3 URLs; upstream's version discovery is not done (it cost a request
  per poll and found the same URL).
- A token is kept per set of credentials until EXPIRY_MARGIN before keystone says it expires, for
  the life of the process (upstream authenticated afresh on every poll and every signal). A caller
  whose service answers 401 calls `forget(token)` and authenticates once more.
- Failures raise KeystoneError, one line that never holds the password, saying whether trying
  again later can help.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import astuple, dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from stoker_common.http_client import HttpClient, TransportError
from stoker_common.retry_after import retry_after

# Refresh a token this long before keystone says it expires.
EXPIRY_MARGIN = 60.0
# The lifetime assumed for a token whose expiry keystone did not say (keystone's default is 1 h).
DEFAULT_LIFETIME = 3600.0


class KeystoneError(Exception):
    """No token or no endpoint. `retryable`: whether asking again later can help (False for refused
    credentials or a catalog without the service); `retry_after`: the wait keystone asked for."""

    def __init__(self, reason: str, retryable: bool, retry_after: Optional[float] = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class Credentials:
    """A keystone user's password and the project to scope to, as Heat hands them out: the user is
    `user_id`, or `username` in the domain `user_domain_id` ("default" when not given); without
    `project_id` the token is unscoped."""

    auth_url: str
    password: str = field(repr=False)  # kept out of repr(), so out of any log line
    user_id: Optional[str] = None
    username: Optional[str] = None
    user_domain_id: Optional[str] = None
    project_id: Optional[str] = None

    def cache_key(self) -> str:
        return hashlib.sha256(json.dumps(astuple(self)).encode()).hexdigest()

    def auth_request(self) -> dict[str, Any]:
        """The body of POST /v3/auth/tokens."""
        user: dict[str, Any] = {"password": self.password}
        if self.user_id:
            user["id"] = self.user_id
        else:
            user.update(name=self.username, domain={"id": self.user_domain_id or "default"})
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": user}}}
        if self.project_id:
            auth["scope"] = {"project": {"id": self.project_id}}
        return {"auth": auth}


@dataclass
class Token:
    value: str
    catalog: list
    expires: float

    def endpoint(self, service_type: str, region: Optional[str] = None, interface: str = "public") -> str:
        """The catalog's URL for the service (without a trailing slash)."""
        for service in self.catalog:
            if not isinstance(service, dict) or service.get("type") != service_type:
                continue
            for endpoint in service.get("endpoints") or []:
                if not isinstance(endpoint, dict) or endpoint.get("interface") != interface:
                    continue
                if region and region not in (endpoint.get("region_id"), endpoint.get("region")):
                    continue
                if isinstance(endpoint.get("url"), str):
                    return endpoint["url"].rstrip("/")
        where = f" in region {region}" if region else ""
        raise KeystoneError(f"keystone catalog has no {interface} {service_type} endpoint{where}", retryable=False)


def v3_url(auth_url: str) -> str:
    """The v3 API under `auth_url`, which may end in /v3, /v2.0 or neither."""
    base = auth_url.rstrip("/")
    if base.endswith("/v2.0"):
        base = base[:-len("/v2.0")]
    return base if base.endswith("/v3") else base + "/v3"


class Keystone:
    def __init__(self, http: Optional[HttpClient] = None, timeout: float = 10.0,
                 clock: Callable[[], float] = time.time):
        self.http = http or HttpClient()
        self.timeout = timeout
        self.clock = clock
        self._tokens: dict[str, Token] = {}

    def token(self, credentials: Credentials) -> Token:
        """A token for `credentials`: the one held while it is fresh, else a new one."""
        key = credentials.cache_key()
        held = self._tokens.get(key)
        if held and held.expires - EXPIRY_MARGIN > self.clock():
            return held
        token = self._authenticate(credentials)
        self._tokens[key] = token
        return token

    def forget(self, token: Token) -> None:
        """Drop `token` (a service refused it: revoked, or expired early), so the next call
        authenticates again."""
        self._tokens = {k: v for k, v in self._tokens.items() if v is not token}

    def _authenticate(self, credentials: Credentials) -> Token:
        url = v3_url(credentials.auth_url) + "/auth/tokens"
        body = json.dumps(credentials.auth_request()).encode()
        try:
            resp = self.http.request("POST", url, {"Content-Type": "application/json",
                                                   "Accept": "application/json"}, body, timeout=self.timeout)
        except TransportError as exc:
            raise KeystoneError(f"keystone {url}: {exc.reason}", retryable=True) from None
        if resp.status in (401, 403):
            # Wrong or revoked credentials: asking again with the same ones will not help.
            raise KeystoneError(f"keystone {url} refused the credentials ({resp.status})", retryable=False)
        if resp.status != 201 or "X-Subject-Token" not in resp.headers:
            retryable = resp.status >= 500 or resp.status in (408, 429)
            raise KeystoneError(f"keystone {url} answered {resp.status} {resp.reason}", retryable,
                                retry_after(resp.headers, self.clock()) if retryable else None)
        try:
            answer = resp.json()["token"]
            catalog = answer.get("catalog") or []
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeystoneError(f"keystone {url} answered without a token body", retryable=True) from None
        return Token(resp.headers["X-Subject-Token"], catalog if isinstance(catalog, list) else [],
                     _expiry(answer.get("expires_at"), self.clock()))


def _expiry(text: Any, now: float) -> float:
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return now + DEFAULT_LIFETIME
