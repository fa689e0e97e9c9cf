"""Periodic work each server process does beside answering requests, on one thread.

- the change feed: drop documents and credentials other workers changed (every 0.2 s; on
  PostgreSQL a NOTIFY on commit does that at once, and the table is read every 5 s and after
  the LISTEN connection is made again, to catch up on anything a lost connection missed);
- last-seen flush: write agents' poll times in one batch (every 10 s, and at exit);
- the timeout sweep: fail deployments no agent finished, with a reason (every 2 s);
- pruning of the change table and of relayed stack requests (every 5 min).
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Callable

from metadata_server.api.common import Context
from metadata_server.service import timeouts
from metadata_server.service.document_cache import ChangeFeed
from metadata_server.store import notify
from metadata_server.store.repository import BACKGROUND_THREAD
from metadata_server.store.stack_requests import RETENTION as REQUEST_RETENTION
from metadata_server.store.stack_requests import StackRequests

log = logging.getLogger("stoker.server")
CHANGE_RETENTION = timedelta(hours=1)
NOTIFIED_FEED_INTERVAL = 5.0  # the table as a safety net only: NOTIFY wakes watchers at once


class Background:
    def __init__(self, context: Context, feed_interval: float = 0.2,
                 flush_interval: float = 10.0, sweep_interval: float = 2.0):
        c = context
        self.context = context
        self._feed = ChangeFeed(c.store, c.documents)
        self._feed_lock = threading.Lock()  # the listener's catch-up and the schedule's
        self._listener = notify.listener(c.store.engine)
        if self._listener is not None:
            feed_interval = max(feed_interval, NOTIFIED_FEED_INTERVAL)
        self.tasks: list[tuple[str, float, Callable[[], object]]] = [
            ("change feed", feed_interval, self._poll_feed),
            ("last-seen flush", flush_interval, lambda: c.last_seen.flush(c.store)),
            ("timeout sweep", sweep_interval, self._sweep),
            ("change pruning", 300.0, self._prune),
        ]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=BACKGROUND_THREAD, daemon=True)
        self._failing: set[str] = set()
        # work on threads of its own, started and stopped with this (event delivery)
        self.companions: list = []

    def _sweep(self) -> None:
        c = self.context
        for deployment_id in timeouts.sweep(c.store, c.clock, c.last_seen):
            log.warning("deployment %s timed out; marked FAILED", deployment_id)
            c.metrics.inc("stoker_deployments_timed_out_total")

    def _prune(self) -> None:
        c = self.context
        c.store.prune_changes(c.clock() - CHANGE_RETENTION)
        # relayed stack requests nobody waits for any more (stack_requests.py)
        StackRequests(c.store.engine).prune(c.clock() - REQUEST_RETENTION)

    def _poll_feed(self) -> int:
        with self._feed_lock:
            return self._feed.poll()

    def _notified(self, payload: str) -> None:
        """Another process changed a server's document (its NOTIFY of "<seq>:<server id>")."""
        seq_text, _, server_id = payload.partition(":")
        if not seq_text.isdigit() or not server_id:
            return
        seq, own = int(seq_text), self.context.store.own_changes
        if seq in own:
            return  # this process's own change: applied when it was written
        if seq > self._feed.seq:
            # marked as applied, so the table's catch-up does not wake its watchers again
            own.add(seq)
        self.context.documents.invalidate(server_id)

    def start(self) -> "Background":
        if self._listener is not None:  # here, not at build: a forked worker listens itself
            self._listener.subscribe(notify.CHANGES, self._notified, self._poll_feed)
        self._thread.start()
        for companion in self.companions:
            companion.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for companion in self.companions:
            companion.stop()
        self._thread.join(5)
        self.context.last_seen.flush(self.context.store)

    def _run(self) -> None:
        due = {name: 0.0 for name, _, _ in self.tasks}
        while not self._stop.is_set():
            now = time.monotonic()
            for name, interval, task in self.tasks:
                if now < due[name]:
                    continue
                due[name] = now + interval
                try:
                    task()
                    self._failing.discard(name)
                except Exception as exc:  # e.g. the database is briefly away: say it once
                    if name not in self._failing:
                        log.error("%s failed: %s: %s; retrying", name, type(exc).__name__, exc)
                    self._failing.add(name)
            self._stop.wait(max(0.0, min(due.values()) - time.monotonic()))
