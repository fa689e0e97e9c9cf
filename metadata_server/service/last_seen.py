"""Agent last-seen times, kept in memory and written in batches instead of once per poll."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from metadata_server.service.store_protocol import ServiceStore
from metadata_server.store.records import ServerRecord


class SeenRecorder:
    def __init__(self):
        self._pending: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def record(self, server_id: str, when: datetime) -> None:
        self._pending[server_id] = when  # a dict store is atomic under the GIL

    def pending(self, server_id: str) -> datetime | None:
        return self._pending.get(server_id)

    def latest(self, server: ServerRecord) -> ServerRecord:
        """The server as shown, with the last-seen time noted here but not yet written (a copy:
        the batch writes it soon)."""
        pending = self.pending(server.id)
        if pending is not None and (server.last_seen_at is None or pending > server.last_seen_at):
            return replace(server, last_seen_at=pending)
        return server

    def flush(self, store: ServiceStore) -> int:
        with self._lock:
            batch, self._pending = self._pending, {}
        store.mark_seen_many(batch)
        return len(batch)
