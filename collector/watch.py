"""stoker's native collector: the server's document for this server, fetched with an ETag.

GET `metadata_url` with the server's token in `X-Auth-Token` and the last ETag in `If-None-Match`;
a 304 means the document held from the last good answer still stands, so polling often is cheap.
A failed or malformed answer raises SourceNotAvailable and stores nothing, so the cache keeps the
last good document.

Long poll: with an ETag to send, the request also carries `?wait=<seconds>`. stoker's server then
holds an unchanged request up to that long and answers 200 as soon as the document changes (304 when
the wait ends). A server that ignores `wait` answers at once, which is plain conditional polling.
`held_for` tells the loop how long the last request was held, so it can shorten its next sleep, and
`collect_promptly()` asks without `wait` (the agent does while a result waits to be signalled);
`poll_interval` is the longest sleep the server asks for (`X-Stoker-Poll-Interval`).
"""
from __future__ import annotations

import logging
import time
from typing import Any, ClassVar, Mapping

from collector import http_source
from collector.base import Collector, Option, non_negative_float, positive_float
from collector.errors import SourceNotAvailable, SourceNotConfigured
from stoker_common.http_client import HttpClient, ResponseTooLarge, Timeout, TransportError, with_query
from stoker_common.http_errors import redact_url

log = logging.getLogger(__name__)


class WatchCollector(Collector):
    name: ClassVar[str] = "watch"
    options: ClassVar[Mapping[str, Option]] = {
        "metadata_url": Option(str, None, "the server's document URL, from POST /v1/{tenant}/servers"),
        "auth_token": Option(str, None, "the server's token, sent as X-Auth-Token"),
        "timeout": Option(positive_float, 10.0, "seconds to wait for the server"),
        "wait": Option(non_negative_float, 25.0, "long-poll: seconds the server may hold an unchanged request (0: off)"),
    }
    explodes_deployments: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, Any], http: HttpClient | None = None):
        self.metadata_url = settings.get("metadata_url")
        self.auth_token = settings.get("auth_token")
        self.timeout = settings.get("timeout") or 10.0
        wait = settings.get("wait")
        self.wait: float = 25.0 if wait is None else wait
        self.poll_interval: float | None = None
        self.held_for = 0.0
        self._clock = time.monotonic
        self._http = http or HttpClient()
        self._etag: str | None = None
        self._document: dict | None = None

    def collect(self) -> list[tuple[str, Any]]:
        return self._collect(self.wait)

    def collect_promptly(self) -> list[tuple[str, Any]]:
        return self._collect(0)

    def _collect(self, wait: float) -> list[tuple[str, Any]]:
        if not self.metadata_url:
            raise SourceNotConfigured("no metadata_url configured in [watch]")
        url = redact_url(self.metadata_url)
        headers = {"Accept": "application/json", "User-Agent": "stoker-agent"}
        if self.auth_token:
            headers["X-Auth-Token"] = self.auth_token
        # Only ask for a 304 when there is a document to fall back on.
        params = {}
        if self._etag and self._document is not None:
            headers["If-None-Match"] = self._etag
            if wait:
                params["wait"] = f"{wait:g}"
        # A held request legitimately takes `wait` seconds before its first byte.
        timeout = self.timeout + (wait if params else 0)
        self.held_for = 0.0
        started = self._clock()
        try:
            resp = self._http.request("GET", with_query(self.metadata_url, params), headers, timeout=timeout)
        except Timeout:
            raise SourceNotAvailable(f"no answer from {url} within {timeout:g}s") from None
        except ResponseTooLarge as exc:
            raise SourceNotAvailable(f"{exc.url}: {exc.reason}") from None
        except TransportError as exc:
            raise SourceNotAvailable(f"cannot reach {url}: {exc.reason}") from None

        self.poll_interval = http_source.poll_interval(resp)
        if resp.status == 304 and self._document is not None:
            self.held_for = self._clock() - started if params else 0.0
            log.debug("collector watch: %s not modified", url)
            return [(self.name, self._document)]
        if not resp.ok:
            raise SourceNotAvailable(f"{url} answered {resp.status} {resp.reason}{http_source.server_message(resp)}")
        try:
            document = resp.json()
        except ValueError:
            raise SourceNotAvailable(f"{url} answered {resp.status} but the body is not JSON") from None
        if not isinstance(document, dict):
            raise SourceNotAvailable(
                f"{url} answered {resp.status} but the body is a JSON {type(document).__name__}, not an object")
        self._document = document
        self._etag = resp.headers.get("ETag")
        return [(self.name, document)]

