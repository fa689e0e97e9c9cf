"""Whether another engine is still running, without waiting for its heartbeat.

A heartbeat says an engine is alive; only its absence for `stale_after` (30 s) says it died.
There are faster answers, each a lock that something else drops when the engine's process dies,
however it dies:
- LockFileLiveness (SQLite, one host): each engine holds an exclusive lock on its own file; the
  kernel drops it with the process. A restarted server takes over what a crashed one left at once.
- AdvisoryLockLiveness (PostgreSQL, any number of hosts): each engine holds a session-level
  advisory lock on a key made from its id, on a connection of its own; PostgreSQL drops it when
  that session ends, which a killed process's closed socket ends at once. Another node's sweep
  (every `sweep_interval` seconds) then takes over its stacks within seconds.
The engine's operations are the engine's: its one lock stands for all of them, and a stack
started or taken over is the engine's before its row says IN_PROGRESS, so there is no moment in
which a running operation looks unowned.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Protocol

log = logging.getLogger("stoker.engine")


class Liveness(Protocol):
    """What the engine asks of a liveness: both kinds below are one."""
    sweep_interval: float | None  # seconds between sweeps; None: the heartbeat's interval

    def register(self, engine_id: str) -> None: ...
    def hold(self) -> None: ...
    def alive(self, engine_id: str) -> bool | None: ...
    def release(self) -> None: ...


class LockFileLiveness:
    """Engines of one state directory: `engine-<id>.lock` in `directory`, locked by its engine."""
    sweep_interval: float | None = None  # the heartbeat's: a restart is found at its start

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

    def hold(self) -> None:
        """Nothing to renew: the kernel holds a file lock as long as the process lives."""

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


def advisory_key(engine_id: str) -> int:
    """A signed 64-bit key for pg_advisory_lock, the same on every node for one engine id."""
    digest = hashlib.sha256(f"stoker-engine:{engine_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLockLiveness:
    """Engines sharing a PostgreSQL database (`dsn`, a libpq URL).

    A session that ends while its process lives (PostgreSQL restarted, the network dropped)
    is made again at the next sweep (`hold`), which takes the lock again. After this engine's
    own session was made again it judges no other engine by its lock for `reconnect_grace`
    seconds, only by its heartbeat: after a restart of PostgreSQL every engine is reconnecting,
    and a lock not taken yet does not mean its engine died."""
    sweep_interval = 1.0  # seconds between looks for engines that died: the takeover's delay

    def __init__(self, dsn: str, connect_timeout: float = 10.0, reconnect_grace: float = 10.0):
        self.dsn, self.connect_timeout = dsn, connect_timeout
        self.reconnect_grace = reconnect_grace
        self._conn = None
        self._engine_id: str | None = None
        self._lock = threading.Lock()  # one session: register, probes and release take turns
        self._judge_after = 0.0  # time.monotonic() before which no lock is asked about

    def _connect(self):
        import psycopg
        conn = psycopg.connect(self.dsn, autocommit=True,
                               connect_timeout=int(self.connect_timeout),
                               application_name="stoker-engine-liveness")
        held = conn.execute("SELECT pg_try_advisory_lock(%s)",
                            (advisory_key(self._engine_id),)).fetchone()[0]
        if not held:  # only a key collision: the heartbeat still speaks for this engine
            log.warning("engine %s: its liveness lock is held by another session",
                        self._engine_id)
        return conn

    def _session(self):
        """This engine's session, made again (with its lock, and the grace) if it ended."""
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            self._judge_after = time.monotonic() + self.reconnect_grace
            log.warning("engine %s: its database session was made again", self._engine_id)
        return self._conn

    def _lost(self, exc: Exception) -> None:
        log.warning("engine liveness session failed: %s: %s", type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "")
        if self._conn is not None:
            self._conn.close()

    def register(self, engine_id: str) -> None:
        """This process runs `engine_id`: hold its lock while the session lives."""
        with self._lock:
            self._engine_id = engine_id
            self._conn = self._connect()

    def hold(self) -> None:
        """Every sweep: make sure this engine's session, and so its lock, still exists."""
        with self._lock:
            if self._engine_id is None:
                return
            try:
                self._session().execute("SELECT 1")
            except Exception as exc:
                self._lost(exc)

    def alive(self, engine_id: str) -> bool | None:
        """False if no session holds `engine_id`'s lock (its engine is gone), True if one does;
        None when this cannot be told (the database is away, or was just reconnected)."""
        if engine_id == self._engine_id:
            return True  # a session's own lock is granted again to it: never ask
        with self._lock:
            if self._engine_id is None:
                return None  # released: a late sweep must not take the lock again
            try:
                conn = self._session()
                if time.monotonic() < self._judge_after:
                    return None
                key = advisory_key(engine_id)
                free = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
                if free:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                return not free
            except Exception as exc:
                self._lost(exc)
                return None

    def release(self) -> None:
        with self._lock:
            self._engine_id = None
            if self._conn is not None:
                self._conn.close()  # the session ends: its lock with it
                self._conn = None
