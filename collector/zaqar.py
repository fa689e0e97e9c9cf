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

    def __init__(self, settings: Mapping[str, Any], session: Any = None):
        self.settings = dict(settings)
        self.timeout = settings.get("timeout") or 10.0
        self._session = session
        self._client_id = str(uuid.uuid4())
        self._body: dict | None = None
        self._warned = False

    def collect(self) -> list[tuple[str, Any]]:
        keystone.require(self.name, self.settings, REQUIRED)
        if self.settings.get("use_websockets") and not self._warned:
            log.warning("collector zaqar: use_websockets is not supported by stoker; popping over HTTP")
            self._warned = True
        if self._session is None:
            verify: Any = (self.settings.get("ca_file") or True) if self.settings.get("ssl_certificate_validation") else False
            self._session = keystone.session(self.settings, verify=verify)
        queue = self.settings["queue_id"]
        endpoint = {"service_type": "messaging", "interface": "public"}
        if self.settings.get("region_name"):
            endpoint["region_name"] = self.settings["region_name"]
        try:
            base = self._session.get_endpoint(**endpoint)
            if not base:
                raise SourceNotAvailable("no public messaging endpoint in the catalog")
            url = base.rstrip("/") + ("" if base.rstrip("/").endswith("/v2") else "/v2")
            resp = self._session.delete(f"{url}/queues/{quote(queue, safe='')}/messages", raise_exc=False,
                                        params={"pop": POP_AT_MOST}, timeout=self.timeout,
                                        headers={"Client-ID": self._client_id,
                                                 "X-Project-Id": self.settings["project_id"]})
        except SourceNotAvailable:
            raise
        except Exception as exc:
            raise SourceNotAvailable(f"zaqar queue {queue}: {keystone.describe(exc)}") from None
        where = f"zaqar queue {queue}"
        if resp.status_code == 204 or (resp.status_code == 200 and not _messages(resp)):
            if self._body is None:
                raise SourceNotAvailable(f"{where} is empty and no message was received yet")
            return [(self.name, self._body)]
        if resp.status_code != 200:
            raise SourceNotAvailable(f"{where}: HTTP {resp.status_code} {resp.reason}")
        body = _messages(resp)[-1].get("body")
        if not isinstance(body, dict):
            raise SourceNotAvailable(f"{where}: the newest message's body is not a JSON object")
        self._body = body
        return [(self.name, body)]


def _messages(resp: Any) -> list[dict]:
    try:
        messages = resp.json().get("messages")
    except (ValueError, AttributeError):
        return []
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
