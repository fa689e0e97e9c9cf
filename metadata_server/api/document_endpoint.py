"""Serving a server's document: shared by the Flask route and the WSGI fast path.

Answers from the DocumentCache; with `wait` (a long poll), holds an unchanged request until the
document changes or the wait ends. Returns None when it would need the database and may not use
it (the fast path then hands the request to Flask).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import format_datetime
from datetime import timezone

from metadata_server.service.document_cache import CachedDocument, DocumentCache

Response = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class DocumentRequest:
    tenant: str
    server_id: str
    if_none_match: frozenset[str]
    wait: float
    os_collect_config: dict | None  # None: answer only from the cache
    head: bool = False
    variant: str = "watch"


def parse_if_none_match(header: str | None) -> frozenset[str]:
    if not header:
        return frozenset()
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tags.add(tag.strip('"'))
    return frozenset(tags)


def parse_wait(value: str | None) -> float:
    """`wait` seconds for a long poll; anything unusable means no wait, never an error."""
    try:
        return min(max(float(value), 0.0), 60.0) if value else 0.0
    except ValueError:
        return 0.0


def _answer(doc: CachedDocument, req: DocumentRequest, poll_interval: float | None) -> Response:
    headers = [("ETag", f'"{doc.etag}"'),
               ("Last-Modified", format_datetime(doc.built_at.replace(tzinfo=timezone.utc),
                                                 usegmt=True)),
               ("Cache-Control", "no-cache")]
    if poll_interval:
        headers.append(("X-Stoker-Poll-Interval", f"{poll_interval:g}"))
    if doc.etag in req.if_none_match or "*" in req.if_none_match:
        return 304, headers, b""
    headers.append(("Content-Type", "application/json"))
    headers.append(("Content-Length", str(len(doc.body))))
    return 200, headers, b"" if req.head else doc.body


def respond(cache: DocumentCache, req: DocumentRequest,
            poll_interval: float | None = None) -> Response | None:
    def current() -> CachedDocument | None:
        if req.os_collect_config is not None:
            return cache.get(req.server_id, req.tenant, req.os_collect_config, req.variant)
        doc = cache.peek(req.server_id, req.variant)
        return doc if doc is not None and doc.tenant == req.tenant else None

    doc = current()
    if doc is None:
        return None
    if req.wait and doc.etag in req.if_none_match:
        deadline = time.monotonic() + req.wait
        while (left := deadline - time.monotonic()) > 0:
            if not cache.wait_for_change(req.server_id, doc.etag, left):
                break
            doc = current()
            if doc is None:
                return None
            if doc.etag not in req.if_none_match:
                break
    return _answer(doc, req, poll_interval)
