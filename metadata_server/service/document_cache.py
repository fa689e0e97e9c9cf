"""Each server's document, built once per change and kept in memory with its ETag.

An unchanged poll is answered from here with no database query. A change made in this process
drops the entry at once (Store.change_listeners); a change made by another worker arrives through
the document_change table (ChangeFeed). Watchers wait on a condition that both paths notify.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from metadata_server.service import documents
from metadata_server.service.clock import Clock
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.store import Store

MAX_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class CachedDocument:
    server_id: str
    tenant: str
    variant: str  # which transport's os-collect-config section it carries: watch, cfn, request
    etag: str
    body: bytes
    built_at: datetime  # Last-Modified for clients that compare times


class DocumentCache:
    def __init__(self, store: ServiceStore, clock: Clock):
        self.store, self.clock = store, clock
        self._docs: dict[tuple[str, str], CachedDocument] = {}
        self._lock = threading.Lock()
        # one condition per watched server, all on one lock: a change wakes only its watchers
        self._conditions: dict[str, threading.Condition] = {}
        self._waiting: dict[str, int] = {}
        self._building: dict[str, threading.Lock] = {}
        self._versions: dict[str, int] = {}  # bumped on every invalidation, for watchers
        self.watchers = 0
        # called with the server's id after each invalidation, from whichever thread made it:
        # how a worker's event loop learns to wake the long polls it holds (http_worker)
        self.wakers: list[Callable[[str], None]] = []
        store.change_listeners.append(self.invalidate)

    def size(self) -> int:
        return len(self._docs)

    def peek(self, server_id: str, variant: str = "watch") -> CachedDocument | None:
        return self._docs.get((server_id, variant))

    def get(self, server_id: str, tenant: str, os_collect_config: dict,
            variant: str = "watch") -> CachedDocument:
        """The document, built on a miss; `os_collect_config` is only used to build it."""
        cached = self._docs.get((server_id, variant))
        if cached is not None and cached.tenant == tenant:
            return cached
        with self._lock:
            building = self._building.setdefault(server_id, threading.Lock())
        # after a change, many watchers ask at once: one builds, the others take its result
        with building:
            cached = self._docs.get((server_id, variant))
            if cached is not None and cached.tenant == tenant:
                return cached
            version = self._versions.get(server_id, 0)
            doc = documents.server_document(
                documents.deployment_items(self.store, server_id, tenant), os_collect_config)
            built = CachedDocument(server_id, tenant, variant, documents.etag(doc),
                                   json.dumps(doc, separators=(",", ":")).encode(), self.clock())
            with self._lock:
                # a change that landed while we were building makes this build stale
                if self._versions.get(server_id, 0) == version:
                    self._docs[(server_id, variant)] = built
        return built

    def document(self, cached: CachedDocument) -> dict:
        return json.loads(cached.body)

    def invalidate(self, server_id: str) -> None:
        with self._lock:
            for key in [k for k in self._docs if k[0] == server_id]:
                del self._docs[key]
            self._versions[server_id] = self._versions.get(server_id, 0) + 1
            condition = self._conditions.get(server_id)
            if condition is not None:
                condition.notify_all()
        for wake in self.wakers:
            wake(server_id)

    def version(self, server_id: str) -> int:
        """Bumped by every invalidation: a watcher that read it before looking at the document
        knows, by reading it again, whether a change may have slipped in between."""
        return self._versions.get(server_id, 0)

    def count_held(self, delta: int) -> None:
        """Long polls held without a thread (in a worker's event loop) count as watchers."""
        with self._lock:
            self.watchers += delta

    def wait_for_change(self, server_id: str, etag: str, timeout: float) -> bool:
        """Block until the server's document may differ from `etag`; False on timeout."""
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_WAIT_SECONDS)
        with self._lock:
            condition = self._conditions.get(server_id)
            if condition is None:
                condition = self._conditions[server_id] = threading.Condition(self._lock)
            self._waiting[server_id] = self._waiting.get(server_id, 0) + 1
            self.watchers += 1
            version = self._versions.get(server_id, 0)
            try:
                while True:
                    if self._versions.get(server_id, 0) != version:
                        return True
                    cached = self._docs.get((server_id, "watch"))
                    if cached is not None and cached.etag != etag:
                        return True
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    condition.wait(left)
            finally:
                self.watchers -= 1
                self._waiting[server_id] -= 1
                if not self._waiting[server_id]:
                    del self._waiting[server_id], self._conditions[server_id]


class ChangeFeed:
    """Tails the document_change table so every worker drops documents other workers changed."""

    def __init__(self, store: Store, cache: DocumentCache):
        self.store, self.cache = store, cache
        self.seq = store.last_change_seq()

    def poll(self) -> int:
        rows = self.store.changes_since(self.seq)
        for row in rows:
            self.seq = max(self.seq, row["seq"])
        own = self.store.own_changes
        # changes made in this process were applied at once by Store.change_listeners;
        # applying them again would only make every watcher of those servers rebuild twice
        others = {row["server_id"] for row in rows if row["seq"] not in own}
        for row in rows:
            own.discard(row["seq"])
        for server_id in others:
            self.cache.invalidate(server_id)
        return len(rows)
