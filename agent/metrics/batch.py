"""Samples waiting to be sent: a bounded queue, cut into POST bodies the wire contract allows.

Samples are kept already encoded (a JSON object each, about 200 bytes with the built-ins alone):
a Python dict of floats costs several times that, and the queue may hold hours of samples while
the server is away. Past `bound` samples the oldest are dropped: the alarms look at the recent
window, and the agent must not grow without limit.
"""
from __future__ import annotations

import json
from collections import deque
from itertools import islice

MAX_SAMPLES = 120            # per POST (wire contract)
MAX_BODY = 64 * 1024         # the server refuses bigger bodies with 413
BOUND = 360                  # samples kept: six hours at the default 60 s interval
_OPEN, _CLOSE = b'{"samples": [', b"]}"


class SampleQueue:
    def __init__(self, bound: int = BOUND):
        self.bound = bound
        self.dropped = 0         # samples dropped for room since the last delivery
        self._samples: deque[bytes] = deque()

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, time: float, metrics: dict[str, float]) -> None:
        if not metrics:
            return
        if len(self._samples) >= self.bound:
            self._samples.popleft()
            self.dropped += 1
        encoded = json.dumps({"time": round(time, 3), "metrics": metrics}, separators=(",", ":"),
                             allow_nan=False)
        self._samples.append(encoded.encode("ascii"))

    def next_body(self) -> tuple[int, bytes]:
        """The oldest samples that fit one POST, as (count, body); (0, b"") when empty."""
        count, size = 0, len(_OPEN) + len(_CLOSE)
        for sample in self._samples:
            if count == MAX_SAMPLES or size + len(sample) + 1 > MAX_BODY:
                break
            count += 1
            size += len(sample) + 1
        if count == 0:
            return 0, b""
        return count, _OPEN + b",".join(islice(self._samples, count)) + _CLOSE

    def drop_first(self, count: int) -> None:
        for _ in range(min(count, len(self._samples))):
            self._samples.popleft()
