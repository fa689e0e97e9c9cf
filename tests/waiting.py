"""Waiting in tests for what offers no event to wait on (a process's files, a stack over HTTP):
look again after a short pause, up to a deadline, then fail saying what did not happen."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable


def until(value: Callable[[], Any], timeout: float = 60.0, what: str = "condition",
          pause: float = 0.05) -> Any:
    """The first truthy result of `value()`."""
    deadline, sleeper = time.monotonic() + timeout, threading.Event()
    while True:
        found = value()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        sleeper.wait(pause)


def stack_when(session, url: str, predicate: Callable[[dict], bool], timeout: float = 60) -> dict:
    """The stack at `url` (Heat's stack route, through a requests session) once `predicate`
    holds for it; the failure shows the last one seen."""
    seen: list[dict] = []

    def matching():
        seen[:] = [session.get(url, timeout=10).json()["stack"]]
        return seen[0] if predicate(seen[0]) else None
    try:
        return until(matching, timeout, f"the stack at {url}", pause=0.1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen {seen[0] if seen else None}") from None
