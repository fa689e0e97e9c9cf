"""Serving a server's document: shared by the Flask route and the WSGI fast path.

Answers from the DocumentCache; with `wait` (a long poll), holds an unchanged request until the
document changes or the wait ends. Returns None when it would need the database and may not use
it (the fast path then hands the request to Flask).

How it holds a long poll depends on who serves it. The embedded server gives each connection a
thread, which blocks here. A gunicorn worker (http_worker) instead runs the request inside
`held_in_loop`: an unchanged long poll then raises Park, the worker keeps the connection in its
event loop with no thread, and runs the same request again when the server's document changes or
the wait ends (with the wait's end fixed by the first run). Either way the client sees the same
answer.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
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


class Park(BaseException):
    """Raised instead of blocking, inside `held_in_loop`. A BaseException so that it passes
    Flask's error handlers on its way to the worker, like the control flow it is."""

    def __init__(self, server_id: str, version: int, deadline: float):
        super().__init__(server_id)
        self.server_id, self.version, self.deadline = server_id, version, deadline
        self.again = None  # set by the fast path: answer the poll from memory, or None


_held = threading.local()


@contextmanager
def held_in_loop(deadline: float | None):
    """Long polls run within this raise Park rather than wait. `deadline` (time.monotonic())
    is when the wait ends, as fixed by an earlier run of the same request; None on the first."""
    _held.on, _held.deadline = True, deadline
    try:
        yield
    finally:
        _held.on = False


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

    version = cache.version(req.server_id)  # before the look: a change after it shows
    doc = current()
    if doc is None:
        return None
    if req.wait and doc.etag in req.if_none_match and getattr(_held, "on", False):
        deadline = time.monotonic() + req.wait if _held.deadline is None else _held.deadline
        if deadline > time.monotonic():
            raise Park(req.server_id, version, deadline)
    elif req.wait and doc.etag in req.if_none_match:
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
