"""The metrics thread: a sample every `interval` seconds, the queue sent every `batch` seconds.

`tick()` does whatever is due and says how long until the next thing is; the thread only waits
that long on an Event (so stopping is immediate) and calls it again. Tests drive `tick()` with a
fake clock and a fake sender. A failed delivery keeps the samples and waits the project's one
retry schedule (stoker_common/retry.py: exponential from `batch`, capped, jittered, never sooner
than the server's Retry-After); sampling goes on meanwhile, the queue dropping its oldest past
its bound.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

from agent.metrics.batch import SampleQueue
from agent.metrics.sender import DROP, SENT, Sender
from stoker_common.retry import RetryPolicy

log = logging.getLogger(__name__)

RETRY_CAP = 300.0
Sample = Callable[[], "dict[str, float]"]


class Reporter:
    def __init__(self, sample: Sample, sender: Sender, interval: float, batch: float,
                 queue: Optional[SampleQueue] = None, retry: Optional[RetryPolicy] = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time):
        self.sample = sample
        self.sender = sender
        self.interval = interval
        self.batch = batch
        self.queue = queue if queue is not None else SampleQueue()
        self.retry = retry or RetryPolicy(batch, max(batch, RETRY_CAP), 0.2)
        self.clock = clock
        self.wall = wall
        now = clock()
        # The first sample one interval after start: cpu_util is measured from the start (the
        # sampler read the CPU times then), so every sample's covers a whole interval.
        self._next_sample = now + interval
        self._next_send = now + batch
        self._tries = 0                  # failed deliveries in a row
        self._failing_since: Optional[float] = None
        self._sample_failed = False
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # -- one step -------------------------------------------------------------------------------
    def tick(self) -> float:
        """Sample and send if due; seconds until the next thing is due."""
        if self.clock() >= self._next_sample:
            self._take()
            # Planned times keep the cadence; a late tick (a slow script) does not catch up.
            self._next_sample = max(self._next_sample + self.interval, self.clock())
        if self.clock() >= self._next_send:
            self.flush()
        return max(0.0, min(self._next_sample, self._next_send) - self.clock())

    def _take(self) -> None:
        stamp = self.wall()
        try:
            metrics = self.sample()
        except Exception as exc:  # a bug in a reader must not end the thread
            if not self._sample_failed:
                log.error("metrics: sampling failed: %s: %s", type(exc).__name__, exc)
            self._sample_failed = True
            return
        self._sample_failed = False
        self.queue.add(stamp, metrics)

    def flush(self) -> None:
        """Send what is queued, oldest first, until it is empty or a POST fails."""
        while len(self.queue):
            count, body = self.queue.next_body()
            outcome = self.sender.post(body)
            if outcome.result == SENT:
                self._delivered(count)
                continue
            if outcome.result == DROP:
                log.error("metrics: %s; %d sample(s) dropped", outcome.detail, count)
                self.queue.drop_first(count)
                continue
            self._tries += 1
            wait = self.retry.delay(self._tries, outcome.retry_after)
            self._next_send = self.clock() + wait
            if self._failing_since is None:
                self._failing_since = self.wall()
                log.warning("metrics: %s; %d sample(s) kept, retrying in %.0fs (logged once until "
                            "delivered)", outcome.detail, len(self.queue), wait)
            else:
                log.debug("metrics: %s; retrying in %.0fs", outcome.detail, wait)
            return
        self._next_send = self.clock() + self.batch

    def _delivered(self, count: int) -> None:
        self.queue.drop_first(count)
        if self._failing_since is not None:
            lost = f", {self.queue.dropped} older sample(s) dropped for room" if self.queue.dropped else ""
            log.info("metrics: delivered again after %.0fs%s", self.wall() - self._failing_since, lost)
        self._failing_since = None
        self._tries = 0
        self.queue.dropped = 0

    # -- the thread -----------------------------------------------------------------------------
    def start(self) -> "Reporter":
        self._thread = threading.Thread(target=self._run, name="stoker-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current step (a POST in flight gets up to `timeout`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.tick()
            except Exception as exc:
                log.error("metrics: %s: %s", type(exc).__name__, exc)
                log.debug("details", exc_info=True)
                wait = self.interval
            self._stop.wait(wait)
