"""Keystone password authentication for the heat (and zaqar) collectors, through keystoneauth1.

One session per collector for the life of the process: the token is reused until keystone says it
expires, and a 401 re-authenticates once (upstream authenticated afresh on every poll). An auth_url
ending in /v2.0 is pointed at /v3, as upstream; any other URL goes through version discovery.
keystoneauth1 comes with `pip install 'stoker[openstack]'`; it is imported only when used.
"""
from __future__ import annotations

from typing import Any, Mapping

from collector.base import Option, positive_float
from collector.errors import SourceNotAvailable, SourceNotConfigured

REQUIRED = ("auth_url", "password", "project_id", "user_id")

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


def auth_url(url: str) -> str:
    stripped = url.rstrip("/")
    return stripped[: -len("/v2.0")] + "/v3" if stripped.endswith("/v2.0") else url


def session(settings: Mapping[str, Any], verify: Any = True) -> Any:
    try:
        from keystoneauth1 import identity
        from keystoneauth1 import session as ks_session
    except ImportError:
        raise SourceNotAvailable("keystoneauth1 is not installed: pip install 'stoker[openstack]'") from None
    plugin = identity.Password(auth_url=auth_url(settings["auth_url"]), user_id=settings["user_id"],
                               password=settings["password"], project_id=settings["project_id"])
    return ks_session.Session(auth=plugin, verify=verify, user_agent="stoker-collector")


def describe(exc: Exception) -> str:
    """One line for a keystoneauth failure, without credentials."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
