"""Server credentials seen recently, so an unchanged poll needs no database query to authenticate.

Entries are dropped when the server's document changes (deletion and rotation record a change),
and expire on their own after `ttl` so a revocation made elsewhere is honoured within that time
even if its change notice were missed.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

TTL_SECONDS = 60.0


@dataclass(frozen=True)
class _Entry:
    principal: Any  # auth.Principal (auth imports this module)
    until: float


class CredentialCache:
    def __init__(self, ttl: float = TTL_SECONDS):
        self.ttl = ttl
        self._by_hash: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str):
        entry = self._by_hash.get(token_hash)
        if entry is None or entry.until < time.monotonic():
            return None
        return entry.principal

    def put(self, token_hash: str, principal) -> None:
        with self._lock:
            self._by_hash[token_hash] = _Entry(principal, time.monotonic() + self.ttl)

    def forget_server(self, server_id: str) -> None:
        with self._lock:
            for digest in [h for h, e in self._by_hash.items() if e.principal.server_id == server_id]:
                del self._by_hash[digest]
