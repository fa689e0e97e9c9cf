"""The one interface every signal transport implements."""
from __future__ import annotations

from typing import Any, Protocol


class SignalError(Exception):
    """A signal was not delivered. `retryable` is False when sending it again cannot help
    (e.g. the server refused it with a 4xx), so the outbox stops trying. `retry_after` is the wait
    in seconds the server asked for (its Retry-After header, capped), when it asked; `status` the
    HTTP status that refused it, when one did."""

    def __init__(self, message: str, retryable: bool = True, retry_after: float | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class SignalTransport(Protocol):
    def send(self, item: dict, payload: dict[str, Any], attempt: str | None = None) -> None:
        """Deliver `payload` (the hook's result) for deployment `item`, or raise SignalError.

        `attempt` identifies this result: every resend of it carries the same id."""
        ...
