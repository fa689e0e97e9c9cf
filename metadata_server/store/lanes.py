"""Connections by lane: a thread marked with `use_lane` (the engine's workers, its heartbeat)
takes them from its lane's own bounded pool, every other thread (requests, the background
thread) from the main pool, so a heavy stack queues for the engine's connections and never for
those of requests, signals and metadata polls."""
from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

_thread = threading.local()
LANE_TIMEOUT = 60.0  # a lane's thread waits this long for a connection, then its work fails


def use_lane(name: str | None) -> None:
    """The calling thread takes its connections from lane `name`'s pool from now on."""
    _thread.lane = name


class LanePool(QueuePool):
    """The main pool, which hands a checkout to the calling thread's lane pool if it has one."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.lanes: dict[str, LaneStats] = {}

    def connect(self):
        stats = self.lanes.get(getattr(_thread, "lane", None) or "")
        return stats.pool.connect() if stats is not None else super().connect()

    def add_lane(self, name: str, size: int) -> "LaneStats":
        """A pool of at most `size` connections for threads of lane `name` (made once)."""
        stats = self.lanes.get(name)
        if stats is None or stats.size != max(1, size):
            if stats is not None:  # a new engine sized it anew: idle connections of the old go
                stats.pool.dispose()
            pool = _like(self, QueuePool, pool_size=max(1, size), max_overflow=0,
                         timeout=LANE_TIMEOUT)
            stats = self.lanes[name] = LaneStats(pool, max(1, size))
        return stats

    def recreate(self) -> "LanePool":
        fresh = _like(self, LanePool)
        for name, stats in self.lanes.items():
            stats.pool.dispose()
            fresh.add_lane(name, stats.size)
        return fresh

    def dispose(self) -> None:
        super().dispose()
        for stats in self.lanes.values():
            stats.pool.dispose()


class LaneStats:
    """A lane's pool and the most connections it has had checked out at once."""

    def __init__(self, pool: QueuePool, size: int):
        self.pool, self.size = pool, size
        self.peak = 0
        self._lock = threading.Lock()
        self._out = 0
        event.listen(pool, "checkout", self._checkout)
        event.listen(pool, "checkin", self._checkin)

    def _checkout(self, *_args) -> None:
        with self._lock:
            self._out += 1
            self.peak = max(self.peak, self._out)

    def _checkin(self, *_args) -> None:
        with self._lock:
            self._out -= 1


def _like(pool: QueuePool, cls: type, **overrides) -> QueuePool:
    """A pool of class `cls` with `pool`'s settings and event listeners, less `overrides`."""
    settings = dict(pool_size=pool.size(), max_overflow=pool._max_overflow,
                    timeout=pool._timeout, pre_ping=pool._pre_ping, recycle=pool._recycle,
                    reset_on_return=pool._reset_on_return, echo=pool.echo,
                    logging_name=pool._orig_logging_name, _dispatch=pool.dispatch,
                    dialect=pool._dialect)
    settings.update(overrides)
    return cls(pool._creator, **settings)


def route_by_lane(engine: Engine) -> None:
    """Called as the database is opened: lanes can be added to its main pool from now on."""
    if type(engine.pool) is QueuePool:  # an in-memory SQLite database has one connection
        engine.pool = _like(engine.pool, LanePool)


def add_lane(engine: Engine, name: str, size: int) -> LaneStats | None:
    """Give threads of lane `name` a pool of their own on `engine`; None if it cannot route
    (their connections then come from the main pool)."""
    pool = engine.pool
    return pool.add_lane(name, size) if isinstance(pool, LanePool) else None
