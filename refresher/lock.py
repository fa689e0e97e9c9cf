"""The run lock: one os-refresh-config at a time, never waiting (upstream's non-blocking flock).

While held, the file says who holds it; afterwards it is left in place, empty. A second run gets
LockHeld, whose message names the file and the holder, and exits with EAGAIN (11) as upstream.
"""
from __future__ import annotations

import errno
import fcntl
import os
import time

DEFAULT_LOCKFILE = "/var/run/os-refresh-config.lock"


class LockHeld(Exception):
    def __init__(self, path: str, holder: str, code: int):
        detail = f" ({holder})" if holder else ""
        super().__init__(f"Could not lock {path}: another os-refresh-config run holds it{detail}; "
                         "it was not started again, try later")
        self.code = code


class LockError(Exception):
    """The lock file cannot be opened at all (missing directory, permissions)."""


class RunLock:
    def __init__(self, path: str):
        self.path = path
        self._file = None

    def __enter__(self) -> "RunLock":
        try:
            f = open(self.path, "a+")
        except OSError as e:
            raise LockError(f"cannot open lock file {self.path}: {e.strerror}") from None
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            f.seek(0)
            holder = f.read().strip()
            f.close()
            raise LockHeld(self.path, holder, e.errno or errno.EAGAIN) from None
        f.truncate(0)
        f.write(f"Locked by pid=={os.getpid()} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
        f.flush()
        self._file = f
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.truncate(0)
            self._file.close()
            self._file = None
