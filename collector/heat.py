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
from stoker_common.keystone import Keystone

REQUIRED = ("auth_url", "password", "project_id", "user_id", "stack_id", "resource_name")


class HeatCollector(Collector):
    name: ClassVar[str] = "heat"
    options: ClassVar[Mapping[str, Option]] = {
        **keystone.OPTIONS,
        "stack_id": Option(str, None, "stack_name/stack_id"),
        "resource_name": Option(str, None, "the server's resource name in the stack"),
    }
    explodes_deployments: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, Any], keystone_client: Keystone | None = None):
        self.settings = dict(settings)
        self.timeout = settings.get("timeout") or 10.0
        self._keystone = keystone_client

    def collect(self) -> list[tuple[str, Any]]:
        keystone.require(self.name, self.settings, REQUIRED)
        if self._keystone is None:
            self._keystone = keystone.client(self.settings, verify=self.settings.get("ca_file") or True)
        http = self._keystone.http
        path = "/stacks/{}/resources/{}/metadata".format(quote(self.settings["stack_id"], safe="/"),
                                                         quote(self.settings["resource_name"], safe=""))
        where = f"heat metadata of {self.settings['stack_id']}/{self.settings['resource_name']}"
        resp = keystone.call(self._keystone, self.settings, where, lambda token, endpoint: http.request(
            "GET", endpoint + path, {"X-Auth-Token": token.value, "Accept": "application/json"},
            timeout=self.timeout), "orchestration")
        if resp.status != 200:
            raise SourceNotAvailable(f"{where}: HTTP {resp.status} {resp.reason}")
        try:
            body = resp.json()
        except ValueError:
            raise SourceNotAvailable(f"{where}: the body is not JSON") from None
        metadata = body.get("metadata") if isinstance(body, dict) else None
        if not isinstance(metadata, dict):
            raise SourceNotAvailable(f"{where}: the body has no \"metadata\" object")
        return [(self.name, metadata)]
