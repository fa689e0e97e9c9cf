"""The HTTP side of the operator commands: settings, one session, Heat-shaped errors made readable.

Every request goes through `Client.call`, which turns transport failures and Heat's error body
(`{"error": {"message": ...}}`) into a one-line `CliError` with an exit code and a hint. The token
is sent as `X-Auth-Token` and never appears in any message.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests

from cli.operator.errors import AUTH, NOT_FOUND, UNREACHABLE, CliError, code_for_status

DEFAULT_URL = "http://127.0.0.1:8004"
DEFAULT_TENANT = "default"

_HINTS = {
    401: "pass the admin token with --os-token or STOKER_TOKEN (`stoker server` prints it at "
         "first start and keeps it in <state-dir>/admin-token)",
    403: "this token may not do that; use the admin token (--os-token / STOKER_TOKEN)",
}


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None
    tenant: str
    timeout: float = 30.0

    @classmethod
    def from_args(cls, args) -> "Settings":
        url = getattr(args, "os_url", None) or os.environ.get("STOKER_URL") or DEFAULT_URL
        token = getattr(args, "os_token", None) or os.environ.get("STOKER_TOKEN") or None
        tenant = getattr(args, "tenant", None) or os.environ.get("STOKER_TENANT") or DEFAULT_TENANT
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CliError(f"--os-url: {url!r} is not an http(s) URL; "
                           f"use e.g. {DEFAULT_URL}", 2)
        # accept a URL copied with the version (…/v1) as well as the bare endpoint
        base = url.rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        return cls(url=base, token=token, tenant=tenant)


def q(segment: str) -> str:
    """One path segment, quoted (names may contain spaces; ids never contain '/')."""
    return quote(str(segment), safe="")


class Client:
    def __init__(self, settings: Settings, session: requests.Session | None = None):
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["Accept"] = "application/json"
        if settings.token:
            self.session.headers["X-Auth-Token"] = settings.token
        self.api = f"{settings.url}/v1/{q(settings.tenant)}"

    def call(self, method: str, path: str, *, json=None, params=None,
             allow_redirects: bool = True, what: str | None = None) -> dict | None:
        """`path` is relative to /v1/{tenant}; `what` names the object for a 404 message."""
        url = path if path.startswith("http") else f"{self.api}/{path.lstrip('/')}"
        try:
            response = self.session.request(method, url, json=json, params=params,
                                            timeout=self.settings.timeout,
                                            allow_redirects=allow_redirects)
        except requests.ConnectionError:
            raise CliError(f"cannot connect to the stoker server at {self.settings.url}; start it "
                           "with `stoker server` or set --os-url / STOKER_URL", UNREACHABLE)
        except requests.Timeout:
            raise CliError(f"the stoker server at {self.settings.url} did not answer within "
                           f"{self.settings.timeout:g} s; check its log", UNREACHABLE)
        except requests.RequestException as exc:
            # anything else on the wire (a reset, a broken chunked body, too many redirects)
            raise CliError(f"request to the stoker server at {self.settings.url} failed "
                           f"({type(exc).__name__}); check --os-url and the server's log",
                           UNREACHABLE)
        if response.status_code >= 400:
            raise self._error(response, method, what)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliError(f"{method} {url} answered {response.status_code} with a body that is "
                           "not JSON; is --os-url pointing at a stoker server?", UNREACHABLE)

    def _error(self, response: requests.Response, method: str, what: str | None) -> CliError:
        status = response.status_code
        try:
            body = response.json()
            message = body.get("error", {}).get("message") or body.get("explanation")
        except (ValueError, AttributeError):
            message = None
        message = message or response.reason or f"HTTP {status}"
        if status == 404 and what:
            message = f"{what} not found ({message})"
        hint = _HINTS.get(status)
        if status >= 500:
            hint = "the server failed; see its log"
        text = f"{message}" + (f"; {hint}" if hint else "")
        if status in (401, 403) and not self.settings.token:
            text = f"no token given: {_HINTS[401]}"
        code = code_for_status(status)
        return CliError(text, code)

    # small helpers so command code reads like the API
    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.call("POST", path, json=body, **kw)

    def put(self, path, body, **kw):
        return self.call("PUT", path, json=body, **kw)

    def patch(self, path, body, **kw):
        return self.call("PATCH", path, json=body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


__all__ = ["AUTH", "NOT_FOUND", "Client", "Settings", "q"]
