"""The work signals hand on (a scaling policy's resize of its group), on a bounded pool.

A signal is answered at once, as Heat answers it; what it asks for runs here, later. A few
workers, made when there is work and gone after a while idle, take the queue in order. Each
target (a group) may have `per_target` signals waiting and the pool `queued` in all: past
either bound `submit` refuses and says why, and the caller records that where the signal's
sender and the operator look (the group's event). So a burst of alarms costs one queue entry
each, never a thread each, and one noisy group cannot fill the queue for the others.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable, Hashable

log = logging.getLogger("stoker.engine")
IDLE_EXIT = 10.0  # seconds an idle worker lingers before its thread ends


class SignalPool:
    def __init__(self, workers: int = 4, per_target: int = 4, queued: int = 256, *,
                 name: str = "stoker-engine-signal",
                 initializer: Callable[[], None] | None = None):
        self.workers, self.per_target, self.queued = max(1, workers), per_target, queued
        self._name, self._initializer = name, initializer
        self._cond = threading.Condition()
        self._queue: deque[tuple[Hashable, Callable[[], None]]] = deque()
        self._waiting: dict[Hashable, int] = {}  # target -> its signals in the queue
        self._alive = self._idle = 0
        self._closed = False
        self.peak_workers = 0

    def submit(self, target: Hashable, work: Callable[[], None]) -> str | None:
        """Queue `work` for `target`; None, or why it is refused (the queue's bounds)."""
        with self._cond:
            if self._closed:
                return "the engine is stopping"
            waiting = self._waiting.get(target, 0)
            if waiting >= self.per_target:
                return f"{waiting} earlier signals are still waiting"
            if len(self._queue) >= self.queued:
                return f"the engine's signal queue is full ({self.queued} waiting)"
            self._queue.append((target, work))
            self._waiting[target] = waiting + 1
            if self._idle:
                self._cond.notify()
            elif self._alive < self.workers:
                self._alive += 1
                self.peak_workers = max(self.peak_workers, self._alive)
                threading.Thread(target=self._work, daemon=True,
                                 name=f"{self._name}-{self._alive}").start()
        return None

    def stats(self) -> tuple[int, int]:
        """(worker threads alive, signals waiting)."""
        with self._cond:
            return self._alive, len(self._queue)

    def close(self) -> None:
        """Refuse new work and drop what waits; running work ends by itself."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._waiting.clear()
            self._cond.notify_all()

    def _work(self) -> None:
        if self._initializer is not None:
            self._initializer()
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._idle += 1
                    woke = self._cond.wait(IDLE_EXIT)
                    self._idle -= 1
                    if not woke and not self._queue:
                        break
                if not self._queue:
                    self._alive -= 1
                    return
                target, work = self._queue.popleft()
                left = self._waiting[target] - 1
                if left:
                    self._waiting[target] = left
                else:
                    del self._waiting[target]
            try:
                work()
            except Exception:  # the work records its own outcome; this is a last resort
                log.exception("signal work for %s failed", target)
