"""How long to sleep between polls.

Starts at the minimum and doubles after every poll that saw no change (failed or idle) up to the
maximum; a change brings it back to the minimum, because one deployment is often followed by the
next (upstream stopped resetting in 2017, so only the first half minute after start was fast).
A ±10% jitter keeps a fleet of agents from polling in lockstep.
"""
from __future__ import annotations

import random
from typing import Callable, Iterable, Optional, Protocol


class PollSource(Protocol):
    # The longest sleep the source asks for, None when it asks nothing (collector.base.Collector).
    poll_interval: Optional[float]


class Backoff:
    def __init__(self, minimum: float, maximum: float, jitter: float = 0.1,
                 rand: Callable[[], float] = random.random):
        self.minimum = minimum
        # A minimum above the maximum wins, as upstream (its first sleep is the minimum).
        self.maximum = max(minimum, maximum)
        self.jitter = jitter
        self.rand = rand
        self._base = minimum

    def follow_server(self, collectors: Iterable[PollSource]) -> None:
        """A server that suggests a poll interval (`X-Stoker-Poll-Interval`) sets the maximum
        sleep: it knows its load; never below the minimum."""
        suggested = [c.poll_interval for c in collectors if c.poll_interval]
        if suggested:
            self.maximum = max(self.minimum, min(suggested))

    def next(self, changed: bool) -> float:
        if changed:
            self._base = self.minimum
        delay = self._base
        self._base = min(self._base * 2, self.maximum)
        return delay * (1 + self.jitter * (2 * self.rand() - 1))
