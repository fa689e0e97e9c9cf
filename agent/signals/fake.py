"""An in-memory signal transport for tests: records what was sent, fails when told to."""
from __future__ import annotations

import copy
from typing import Any

from agent.signals.base import SignalError


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[dict, dict[str, Any]]] = []
        self.attempts: list[str | None] = []  # the attempt id of each entry in `sent`
        self.failures: list[SignalError] = []  # raised one per send attempt, first to last

    def fail_next(self, times: int = 1, message: str = "fake transport down", retryable: bool = True) -> None:
        self.failures += [SignalError(message, retryable) for _ in range(times)]

    def send(self, item: dict, payload: dict[str, Any], attempt: str | None = None) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((copy.deepcopy(item), copy.deepcopy(payload)))
        self.attempts.append(attempt)

    def payloads(self, deployment_id: str) -> list[dict[str, Any]]:
        return [p for item, p in self.sent if item.get("id") == deployment_id]
