"""Open a database: engine settings per dialect (connections routed by lane, lanes.py), then
bring the schema to head with Alembic."""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from metadata_server.store.lanes import route_by_lane
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
        route_by_lane(engine)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    route_by_lane(engine)
    event.listen(engine, "before_cursor_execute", _no_nul, retval=True)
    return engine


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
