"""The long polls a gunicorn worker holds in its event loop, with no thread each.

Only the worker's event loop touches this: which connection waits on which server's document,
and when each wait ends. A change (from any thread) reaches the loop through the worker's method
queue; `changed` then says which connections to run again. A connection leaves by `release`
(woken, timed out, gone, or the worker stopping).
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Held:
    server_id: str
    deadline: float  # time.monotonic() when the wait ends
    request: bytes  # the request as received, run again when woken
    http_request: Any = None  # gunicorn's parsed request, to frame an answer made in the loop
    again: Callable | None = None  # answers from memory in the loop (fast_path), or None
    order: int = field(default=0)


class HeldWatches:
    def __init__(self):
        self._by_server: dict[str, dict[object, Held]] = {}
        self._held: dict[object, Held] = {}
        self._deadlines: list[tuple[float, int, object]] = []  # stale entries are skipped
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, conn) -> bool:
        return conn in self._held

    def hold(self, conn, held: Held) -> None:
        held.order = next(self._order)
        self._held[conn] = held
        self._by_server.setdefault(held.server_id, {})[conn] = held
        heapq.heappush(self._deadlines, (held.deadline, held.order, conn))

    def holds_server(self, server_id: str) -> bool:
        return server_id in self._by_server

    def release(self, conn) -> Held | None:
        held = self._held.pop(conn, None)
        if held is not None:
            waiting = self._by_server[held.server_id]
            del waiting[conn]
            if not waiting:
                del self._by_server[held.server_id]
        return held

    def changed(self, server_id: str) -> list:
        """The connections waiting on `server_id`'s document."""
        return list(self._by_server.get(server_id, ()))

    def all(self) -> list:
        return list(self._held)

    def next_deadline(self) -> float | None:
        self._drop_stale()
        return self._deadlines[0][0] if self._deadlines else None

    def expired(self, now: float) -> list:
        """The connections whose wait has ended by `now`."""
        due = []
        while self.next_deadline() is not None and self._deadlines[0][0] <= now:
            due.append(heapq.heappop(self._deadlines)[2])
        return due

    def _drop_stale(self) -> None:
        while self._deadlines:
            _, order, conn = self._deadlines[0]
            held = self._held.get(conn)
            if held is not None and held.order == order:
                return
            heapq.heappop(self._deadlines)
