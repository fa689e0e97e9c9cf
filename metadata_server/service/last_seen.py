"""Agent last-seen times, kept in memory and written in batches instead of once per poll."""
from __future__ import annotations

import threading
from datetime import datetime

from metadata_server.store import Store


class SeenRecorder:
    def __init__(self):
        self._pending: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def record(self, server_id: str, when: datetime) -> None:
        self._pending[server_id] = when  # a dict store is atomic under the GIL

    def pending(self, server_id: str) -> datetime | None:
        return self._pending.get(server_id)

    def flush(self, store: Store) -> int:
        with self._lock:
            batch, self._pending = self._pending, {}
        store.mark_seen_many(batch)
        return len(batch)
