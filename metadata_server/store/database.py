"""Open a database: engine settings per dialect, then bring the schema to head with Alembic.

Connections come from pools by lane: a thread marked with `use_lane` (the engine's workers, its
heartbeat) takes them from its lane's own bounded pool, every other thread (requests, the
background thread) from the main pool, so a heavy stack queues for the engine's connections
and never for those of requests, signals and metadata polls.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from metadata_server.store.repository import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(state_dir: str | os.PathLike) -> str:
    return f"sqlite:///{Path(state_dir).resolve() / 'stoker.db'}"


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets agents' reads proceed while a signal is being written
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver the `postgres` extra installs
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _route_by_lane(engine)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    _route_by_lane(engine)
    event.listen(engine, "before_cursor_execute", _no_nul, retval=True)
    return engine


# -- lanes ---------------------------------------------------------------------------------
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
        if stats is None or stats.size != size:
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


def _route_by_lane(engine: Engine) -> None:
    if type(engine.pool) is QueuePool:  # an in-memory SQLite database has one connection
        engine.pool = _like(engine.pool, LanePool)


def add_lane(engine: Engine, name: str, size: int) -> LaneStats | None:
    """Give threads of lane `name` a pool of their own on `engine`; None if it cannot route
    (their connections then come from the main pool)."""
    pool = engine.pool
    return pool.add_lane(name, size) if isinstance(pool, LanePool) else None


NUL, REPLACEMENT = "\x00", "\ufffd"


def _no_nul(_conn, _cursor, statement, parameters, _context, _executemany):
    """PostgreSQL text cannot hold U+0000 (SQLite can): in a bound string it becomes U+FFFD, so
    a script's output with a NUL is kept (less that one character) instead of failing the
    signal, and an id with a NUL finds nothing instead of failing the query. JSON values are
    bound as their text, where a NUL is the escape `\\u0000`, which PostgreSQL's json keeps."""
    if isinstance(parameters, (list, tuple)) and parameters and isinstance(
            parameters[0], (dict, list, tuple)):
        return statement, type(parameters)(_clean(p) for p in parameters)
    return statement, _clean(parameters)


def _clean(parameters):
    values = parameters.values() if isinstance(parameters, dict) else parameters
    if not isinstance(parameters, (dict, list, tuple)) or not any(
            isinstance(v, str) and NUL in v for v in values):
        return parameters

    def fix(value):
        return value.replace(NUL, REPLACEMENT) if isinstance(value, str) else value
    if isinstance(parameters, dict):
        return {k: fix(v) for k, v in parameters.items()}
    return type(parameters)(fix(v) for v in parameters)


def migrate(engine: Engine) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def open_store(url: str) -> Store:
    engine = create_db_engine(url)
    migrate(engine)
    return Store(engine)
