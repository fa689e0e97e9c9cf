"""`zaqar`: the server's metadata from a Zaqar queue (Heat's ZAQAR_MESSAGE transport).

Heat posts the whole metadata as a message on every change. Messages are popped (Zaqar v2,
`DELETE /v2/queues/<queue>/messages?pop=N`) and the newest body is the source's data. Better than
upstream: all queued messages are popped at once (upstream took one per poll, so N snapshots took N
polls), and the last body is kept, so an empty queue means "unchanged", not "unavailable" (upstream
then had nothing to re-run a failed command with). Websocket mode is not implemented; with
`use_websockets = true` the collector logs that once and pops over HTTP.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, ClassVar, Mapping
from urllib.parse import quote

from collector import keystone
from collector.base import Collector, Option, boolean
from collector.errors import SourceNotAvailable
from stoker_common.http_client import Response, with_query
from stoker_common.keystone import Keystone, Token

log = logging.getLogger(__name__)

REQUIRED = ("auth_url", "password", "project_id", "user_id", "queue_id")
POP_AT_MOST = 20


class ZaqarCollector(Collector):
    name: ClassVar[str] = "zaqar"
    options: ClassVar[Mapping[str, Option]] = {
        **keystone.OPTIONS,
        "queue_id": Option(str, None, "the queue Heat posts this server's metadata to"),
        "use_websockets": Option(boolean, False, "not implemented: HTTP is used"),
        "ssl_certificate_validation": Option(boolean, False, "verify the server's certificate"),
    }
    explodes_deployments: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, Any], keystone_client: Keystone | None = None):
        self.settings = dict(settings)
        self.timeout = settings.get("timeout") or 10.0
        self._keystone = keystone_client
        self._client_id = str(uuid.uuid4())
        self._body: dict | None = None
        self._warned = False

    def collect(self) -> list[tuple[str, Any]]:
        keystone.require(self.name, self.settings, REQUIRED)
        if self.settings.get("use_websockets") and not self._warned:
            log.warning("collector zaqar: use_websockets is not supported by stoker; popping over HTTP")
            self._warned = True
        if self._keystone is None:
            verify: bool | str = ((self.settings.get("ca_file") or True)
                                  if self.settings.get("ssl_certificate_validation") else False)
            self._keystone = keystone.client(self.settings, verify=verify)
        http = self._keystone.http
        queue = self.settings["queue_id"]
        where = f"zaqar queue {queue}"

        def pop(token: Token, endpoint: str) -> Response:
            base = endpoint if endpoint.endswith("/v2") else endpoint + "/v2"
            url = with_query(f"{base}/queues/{quote(queue, safe='')}/messages", {"pop": POP_AT_MOST})
            return http.request("DELETE", url, {"X-Auth-Token": token.value, "Accept": "application/json",
                                                "Client-ID": self._client_id,
                                                "X-Project-Id": self.settings["project_id"]},
                                timeout=self.timeout)

        resp = keystone.call(self._keystone, self.settings, where, pop, "messaging")
        if resp.status == 204 or (resp.status == 200 and not _messages(resp)):
            if self._body is None:
                raise SourceNotAvailable(f"{where} is empty and no message was received yet")
            return [(self.name, self._body)]
        if resp.status != 200:
            raise SourceNotAvailable(f"{where}: HTTP {resp.status} {resp.reason}")
        body = _messages(resp)[-1].get("body")
        if not isinstance(body, dict):
            raise SourceNotAvailable(f"{where}: the newest message's body is not a JSON object")
        self._body = body
        return [(self.name, body)]


def _messages(resp: Response) -> list[dict]:
    try:
        messages = resp.json().get("messages")
    except (ValueError, AttributeError):
        return []
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
