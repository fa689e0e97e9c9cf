"""`request`: a JSON document at any URL (Heat's POLL_TEMP_URL transport: a Swift temp URL).

As upstream: HEAD first, and when `Last-Modified` is not newer than the document already held, no
GET (when the HEAD answer carries an ETag, the ETag decides instead: Last-Modified cannot tell two
versions made within the same second apart). Unlike upstream the collector lives across polls, so that check really saves the GET (upstream
built a new collector every poll and always fetched). The GET also sends `If-None-Match` with the
last ETag, so a server that supports it answers 304. Either way the held document is returned, so
an unchanged source is still listed in OS_CONFIG_FILES.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, ClassVar, Mapping

from collector import http_source
from collector.base import Collector, Option, positive_float
from collector.errors import SourceNotConfigured
from stoker_common.http_client import HttpClient
from stoker_common.http_errors import redact_url
from stoker_common.retry_after import http_date

log = logging.getLogger(__name__)


def parse_last_modified(text: str | None) -> datetime | None:
    """An HTTP date, or None when the header is absent or cannot be read (always with a zone,
    so two of them compare whichever form the server wrote)."""
    return http_date((text or "").strip())


def should_fetch(previous: datetime | None, last_modified: datetime | None) -> bool:
    """Upstream's rule: fetch the first time, when there is no header, or when it is newer."""
    if previous is None or last_modified is None:
        return True
    return last_modified > previous


class RequestCollector(Collector):
    name: ClassVar[str] = "request"
    options: ClassVar[Mapping[str, Option]] = {
        "metadata_url": Option(str, None, "URL of a JSON document (e.g. a Swift temp URL)"),
        "timeout": Option(positive_float, 10.0, "seconds to wait for the server"),
    }
    explodes_deployments: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, Any], http: HttpClient | None = None):
        self.metadata_url = settings.get("metadata_url")
        self.timeout = settings.get("timeout") or 10.0
        self._http = http or HttpClient()
        self.last_modified: datetime | None = None
        self.poll_interval: float | None = None
        self._etag: str | None = None
        self._document: dict | None = None

    def collect(self) -> list[tuple[str, Any]]:
        if not self.metadata_url:
            raise SourceNotConfigured("no metadata_url configured in [request]")
        url = self.metadata_url
        head = http_source.request(self._http, "HEAD", url, self.timeout)
        last_modified = parse_last_modified(head.headers.get("Last-Modified"))
        head_etag = head.headers.get("ETag")
        if head_etag and self._etag:
            # Last-Modified has one-second resolution: two versions within a second look the same.
            # An ETag, when the server sends one, decides.
            unchanged = head_etag == self._etag
        else:
            unchanged = not should_fetch(self.last_modified, last_modified)
        if self._document is not None and head.ok and unchanged:
            log.debug("collector request: %s not modified since %s", redact_url(url), self.last_modified)
            self.poll_interval = http_source.poll_interval(head) or self.poll_interval
            return [(self.name, self._document)]

        headers = {"Accept": "application/json"}
        if self._etag and self._document is not None:
            headers["If-None-Match"] = self._etag
        resp = http_source.request(self._http, "GET", url, self.timeout, headers=headers)
        self.poll_interval = http_source.poll_interval(resp) or http_source.poll_interval(head)
        if resp.status == 304 and self._document is not None:
            return [(self.name, self._document)]
        http_source.require_success(resp, url)
        document = http_source.json_object(resp.body, f"{redact_url(url)} answered {resp.status}")
        self._document = document
        self._etag = resp.headers.get("ETag")
        self.last_modified = parse_last_modified(resp.headers.get("Last-Modified")) or last_modified
        return [(self.name, document)]

