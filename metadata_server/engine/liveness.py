"""Whether another engine on this host is still running, without waiting for its heartbeat.

A heartbeat says an engine is alive; only its absence for `stale_after` (30 s) says it died, which
is all an engine can know of one on another host. On the same host there is a faster answer: each
engine holds an exclusive lock on its own file while its process lives, and the kernel drops the
lock when the process dies, however it dies. So a restarted server takes over what a crashed one
left at once, not 30 s later.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


class LockFileLiveness:
    """Engines of one state directory: `engine-<id>.lock` in `directory`, locked by its engine."""

    def __init__(self, directory: str | os.PathLike):
        self._dir = Path(directory)
        self._held: tuple[Path, int] | None = None

    def _path(self, engine_id: str) -> Path:
        return self._dir / f"engine-{engine_id}.lock"

    def register(self, engine_id: str) -> None:
        """This process runs `engine_id`: hold its lock until release (or death)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._path(engine_id)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._held = (path, fd)

    def alive(self, engine_id: str) -> bool | None:
        """False if `engine_id` ran here and its process is gone; True if it runs; None if it
        never ran on this host (its heartbeat is all there is to go by)."""
        path = self._path(engine_id)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # drops the lock this call may have taken
        path.unlink(missing_ok=True)  # a dead engine's file: nobody will lock it again
        return False

    def release(self) -> None:
        if self._held is not None:
            path, fd = self._held
            self._held = None
            path.unlink(missing_ok=True)
            os.close(fd)
