"""Clean stop on SIGTERM/SIGINT: finish the current iteration, then leave with exit code 0.

The handler only records the request and wakes the sleep through a pipe: raising from a handler
could interrupt a state-file write or a hook halfway. The one exception is a step that writes
nothing, such as a long poll that may be held by the server for half a minute: inside
`interruptible()`, the signal raises Stopped at once. A second signal forces the exit.
"""
from __future__ import annotations

import logging
import os
import select
import signal
import sys
from contextlib import contextmanager
from typing import Any, Iterator

log = logging.getLogger(__name__)


class Stopped(BaseException):
    """Raised out of an interruptible step when a stop was requested (not an error: BaseException
    so that no `except Exception` on the way swallows it)."""


class Shutdown:
    def __init__(self) -> None:
        self.requested = False
        self._interruptible = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._previous: dict[int, Any] = {}

    def install(self, signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> "Shutdown":
        for signum in signums:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "Shutdown":
        return self.install()

    def __exit__(self, *exc: Any) -> None:
        self.restore()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if a stop was requested (now or while sleeping)."""
        if not self.requested:
            select.select([self._read], [], [], max(0.0, seconds))
        return self.requested

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A step that writes nothing: a stop request ends it at once (Stopped)."""
        if self.requested:
            raise Stopped()
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            log.warning("%s again; exiting now", signal.Signals(signum).name)
            sys.exit(0)
        self.requested = True
        if self._interruptible:
            self._interruptible = False
            log.info("%s received; stopping now", signal.Signals(signum).name)
            raise Stopped()
        log.info("%s received; stopping after the current step", signal.Signals(signum).name)
        try:
            os.write(self._write, b"x")
        except OSError:
            pass
