"""The one retry schedule of the agent side: exponential from a base, capped, with jitter, and never
sooner than a server's `Retry-After` asked (read and capped by retry_after.py).

Used for a signal's few tries within one send (agent/signals/url.py: no jitter, no cap, the caller
bounds the count and how long a Retry-After it waits out in the call) and for the outbox's tries
across polls and restarts (agent/outbox.py: capped at signal_retry_max, ±20% jitter so a fleet
does not retry in lockstep). Not a retry: the HTTP client's one reconnect when a kept-alive
connection turns out closed (the request never reached the server), and the poll's own backoff
(backoff.py), which resets on change instead of counting tries.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class RetryPolicy:
    base: float
    cap: float = math.inf
    jitter: float = 0.0  # a fraction: the delay is scaled by a factor in [1 - jitter, 1 + jitter]
    rand: Callable[[], float] = random.random

    def delay(self, tries: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `tries`-th failed try (1 for the first) before the next."""
        wait = min(self.cap, self.base * 2 ** (tries - 1))
        if self.jitter:
            wait *= 1 + self.jitter * (2 * self.rand() - 1)
        return max(wait, retry_after or 0.0)
