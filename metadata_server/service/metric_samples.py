"""What an agent's metrics batch must look like (docs/protocol.md, "Agent metrics"), and how
much of them one server may send.

A batch is read into plain (time, {name: value}) samples or refused with a 400 naming the
field. An agent clock that is off by more than the tolerance has its whole batch shifted so
that its newest sample is the time of receipt (the spacing of its samples is kept); a sample
still outside [now - 1 h, now + 60 s] is clamped into it.
"""
from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timezone

from metadata_server.service.errors import InvalidInput

MAX_BODY_BYTES = 64 * 1024
MAX_SAMPLES = 120
MAX_METRICS = 64
PAST_TOLERANCE = 3600.0
FUTURE_TOLERANCE = 60.0
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")

Sample = tuple[float, dict[str, float]]


@dataclass
class IngestLimits:
    """The operator's bounds on the window (`stoker server --metrics-*`)."""
    retention: float = 3600.0      # seconds a sample is kept
    max_batches: int = 720         # batches kept per server (the newest)
    min_interval: float = 1.0      # seconds between two batches of one server; sooner is a 429


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{where}: must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(f"{where}: must be a finite number")
    return number


def parse_batch(body: dict, now: float) -> list[Sample]:
    """The batch's samples, oldest first, with their times corrected as the module says."""
    samples = body.get("samples")
    extra = sorted(set(body) - {"samples"})
    if extra:
        raise InvalidInput(f"{extra[0]}: unknown field; a batch is {{\"samples\": [...]}}")
    if not isinstance(samples, list) or not samples:
        raise InvalidInput("samples: must be a non-empty list of {\"time\": ..., \"metrics\": {...}}")
    if len(samples) > MAX_SAMPLES:
        raise InvalidInput(f"samples: {len(samples)} samples; at most {MAX_SAMPLES} per batch")
    parsed = []
    for index, sample in enumerate(samples):
        where = f"samples[{index}]"
        if not isinstance(sample, dict):
            raise InvalidInput(f"{where}: must be an object with time and metrics")
        unknown = sorted(set(sample) - {"time", "metrics"})
        if unknown:
            raise InvalidInput(f"{where}.{unknown[0]}: unknown field")
        if "time" not in sample:
            raise InvalidInput(f"{where}.time: missing (the sample's UNIX time)")
        time = _number(sample["time"], f"{where}.time")
        metrics = sample.get("metrics")
        if not isinstance(metrics, dict) or not metrics:
            raise InvalidInput(f"{where}.metrics: must be a non-empty object of name: number")
        if len(metrics) > MAX_METRICS:
            raise InvalidInput(f"{where}.metrics: {len(metrics)} metrics; at most {MAX_METRICS} "
                               "per sample")
        values = {}
        for name, value in metrics.items():
            if not NAME.match(name):
                raise InvalidInput(f"{where}.metrics: name {name[:80]!r} does not match "
                                   f"{NAME.pattern}")
            values[name] = _number(value, f"{where}.metrics.{name}")
        parsed.append((time, values))
    return _corrected(sorted(parsed, key=lambda s: s[0]), now)


def _corrected(samples: list[Sample], now: float) -> list[Sample]:
    newest = samples[-1][0]
    shift = 0.0
    if newest > now + FUTURE_TOLERANCE or newest < now - PAST_TOLERANCE:
        shift = now - newest
    low, high = now - PAST_TOLERANCE, now + FUTURE_TOLERANCE
    return [(min(max(t + shift, low), high), values) for t, values in samples]


def epoch(clock) -> float:
    """The clock's (naive UTC) time as UNIX seconds."""
    return clock().replace(tzinfo=timezone.utc).timestamp()


class RateGate:
    """At most one batch per server per `min_interval` in this process: what arrives sooner is
    told to come back later (429 with Retry-After). Remembers a bounded number of servers."""

    def __init__(self, min_interval: float, capacity: int = 100_000):
        self.min_interval, self.capacity = min_interval, capacity
        self._last: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def wait_needed(self, server_id: str, now: float) -> float:
        """0 when the batch may be taken now (and it is counted), else seconds to wait."""
        with self._lock:
            last = self._last.get(server_id)
            if last is not None and now - last < self.min_interval:
                return self.min_interval - (now - last)
            self._last[server_id] = now
            self._last.move_to_end(server_id)
            while len(self._last) > self.capacity:
                self._last.popitem(last=False)
            return 0.0
