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

    def latest(self, row: dict) -> dict:
        """A server row with the last-seen time noted here but not yet written."""
        pending = self.pending(row["id"])
        if pending is not None and (row["last_seen_at"] is None or pending > row["last_seen_at"]):
            return dict(row, last_seen_at=pending)
        return row

    def flush(self, store: Store) -> int:
        with self._lock:
            batch, self._pending = self._pending, {}
        store.mark_seen_many(batch)
        return len(batch)
