"""`heat`: the server resource's metadata from Heat's API, with keystone password authentication.

GET <orchestration public endpoint>/stacks/<stack_id>/resources/<resource_name>/metadata answers
{"metadata": {...}}; the inner object is the source's data. All of auth_url, user_id, password,
project_id, stack_id and resource_name are required; region_name picks the catalog region.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping
from urllib.parse import quote

from collector import keystone
from collector.base import Collector, Option
from collector.errors import SourceNotAvailable
from stoker_common.http_errors import describe as describe_http

REQUIRED = ("auth_url", "password", "project_id", "user_id", "stack_id", "resource_name")


class HeatCollector(Collector):
    name: ClassVar[str] = "heat"
    options: ClassVar[Mapping[str, Option]] = {
        **keystone.OPTIONS,
        "stack_id": Option(str, None, "stack_name/stack_id"),
        "resource_name": Option(str, None, "the server's resource name in the stack"),
    }
    explodes_deployments: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, Any], session: Any = None):
        self.settings = dict(settings)
        self.timeout = settings.get("timeout") or 10.0
        self._session = session

    def collect(self) -> list[tuple[str, Any]]:
        keystone.require(self.name, self.settings, REQUIRED)
        if self._session is None:
            self._session = keystone.session(self.settings, verify=self.settings.get("ca_file") or True)
        path = "/stacks/{}/resources/{}/metadata".format(quote(self.settings["stack_id"], safe="/"),
                                                         quote(self.settings["resource_name"], safe=""))
        endpoint = {"service_type": "orchestration", "interface": "public"}
        if self.settings.get("region_name"):
            endpoint["region_name"] = self.settings["region_name"]
        try:
            resp = self._session.get(path, endpoint_filter=endpoint, raise_exc=False, timeout=self.timeout,
                                     headers={"Accept": "application/json"})
        except Exception as exc:  # keystoneauth raises its own hierarchy, and requests' on transport
            raise SourceNotAvailable(f"heat metadata for {self.settings['resource_name']}: {_describe(exc)}") from None
        where = f"heat metadata of {self.settings['stack_id']}/{self.settings['resource_name']}"
        if resp.status_code != 200:
            raise SourceNotAvailable(f"{where}: HTTP {resp.status_code} {resp.reason}")
        try:
            body = resp.json()
        except ValueError:
            raise SourceNotAvailable(f"{where}: the body is not JSON") from None
        metadata = body.get("metadata") if isinstance(body, dict) else None
        if not isinstance(metadata, dict):
            raise SourceNotAvailable(f"{where}: the body has no \"metadata\" object")
        return [(self.name, metadata)]


def _describe(exc: Exception) -> str:
    # requests is keystoneauth1's transport and loaded with it; importing it at the top would put it
    # in every os-collect-config process, which imports each collector for its command-line options.
    import requests

    if isinstance(exc, requests.RequestException):
        return describe_http(exc)
    return keystone.describe(exc)
