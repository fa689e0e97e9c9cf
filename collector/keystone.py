"""Keystone for the heat and zaqar collectors: their shared settings, and a service call made with
a token from stoker_common/keystone.py.

One client per collector for the life of the process: the token is reused until keystone says it
expires, and a 401 from the service authenticates once more (upstream authenticated afresh on
every poll). An auth_url ending in /v2.0 is pointed at /v3, as upstream.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from collector.base import Option, positive_float
from collector.errors import SourceNotAvailable, SourceNotConfigured
from stoker_common.http_client import HttpClient, Response, ResponseTooLarge, TransportError
from stoker_common.keystone import Credentials, Keystone, KeystoneError, Token

# the settings every keystone-authenticated collector takes, as os-collect-config names them
OPTIONS: Mapping[str, Option] = {
    "auth_url": Option(str, None, "keystone URL"),
    "user_id": Option(str, None, "keystone user id"),
    "password": Option(str, None, "keystone password", secret=True),
    "project_id": Option(str, None, "keystone project id"),
    "region_name": Option(str, None, "catalog region"),
    "ca_file": Option(str, None,
                      "CA bundle to verify keystone and the service with (for heat, a stoker addition)"),
    "timeout": Option(positive_float, 10.0, "seconds to wait for each answer (stoker addition)"),
}


def require(section: str, settings: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if not settings.get(key):
            raise SourceNotConfigured(f"No {key} configured in [{section}]")


def credentials(settings: Mapping[str, Any]) -> Credentials:
    return Credentials(settings["auth_url"], settings["password"], user_id=settings["user_id"],
                       project_id=settings["project_id"])


def client(settings: Mapping[str, Any], verify: bool | str) -> Keystone:
    """A keystone client whose HTTP client (verifying TLS with `verify`) also calls the service."""
    timeout = settings.get("timeout") or 10.0
    return Keystone(HttpClient(verify=verify, user_agent="stoker-collector"), timeout)


def call(keystone: Keystone, settings: Mapping[str, Any], where: str,
         send: Callable[[Token, str], Response], service_type: str) -> Response:
    """`send(token, endpoint)` with a token for the collector's credentials and the catalog's public
    `service_type` endpoint (in `region_name` when set); once more with a new token when the
    service answers 401. SourceNotAvailable, starting with `where`, when there is no answer."""
    creds = credentials(settings)

    def attempt() -> tuple[Token, Response]:
        try:
            token = keystone.token(creds)
            endpoint = token.endpoint(service_type, settings.get("region_name"))
        except KeystoneError as exc:
            raise SourceNotAvailable(f"{where}: {exc.reason}") from None
        try:
            return token, send(token, endpoint)
        except ResponseTooLarge as exc:
            raise SourceNotAvailable(f"{where}: {exc.url}: {exc.reason}") from None
        except TransportError as exc:
            raise SourceNotAvailable(f"{where}: {exc.reason}") from None

    token, resp = attempt()
    if resp.status == 401:
        keystone.forget(token)  # revoked, or expired before keystone said
        resp = attempt()[1]
    return resp
