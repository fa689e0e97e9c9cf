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
    return engine


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
