"""The app's one engine: made at start by `stoker server` (or by the first request that needs it),
shared by every route that acts on stacks, and handed on at shutdown."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import current_app

from metadata_server.api.common import ctx
from metadata_server.engine.drivers import LocalDriver
from metadata_server.engine.stack import Engine
from metadata_server.service.endpoints import Endpoints

log = logging.getLogger("stoker.server")
_engine_lock = threading.Lock()


def start_engine(app, endpoints: Endpoints, driver=None, liveness=None,
                 budget: dict | None = None) -> Engine:
    """Make the app's engine now, so a restarted server takes over orphaned operations at once
    (`stoker server` does this at start; otherwise the first stack request does it).
    `budget`: the engine's threads and database connections (Engine's keyword arguments)."""
    with _engine_lock:
        found = app.extensions.get("stoker-engine")
        if found is None:
            c = app.extensions["stoker"]
            found = Engine(c.store, c.clock, endpoints=endpoints,
                           driver=driver or LocalDriver(_local_cloud_dir(c.store), store=c.store),
                           liveness=liveness, limits=app.extensions["stoker-limits"],
                           **(budget or {}))
            app.extensions["stoker-engine"] = found
            app.extensions["stoker-engine-started"] = c.clock()
        return found


def engine_started(app):
    """When this process made its engine (GET /services' created_at)."""
    return app.extensions.get("stoker-engine-started")


def release_engine(app) -> None:
    """At shutdown: hand the app's running stack operations on to the next engine (see
    Engine.release), so the process can exit at once and nothing is marked FAILED for it."""
    found = app.extensions.get("stoker-engine")
    if found is not None:
        handed = found.release()
        if handed:
            log.info("handed %d running stack operation(s) on to the next engine", len(handed))


def engine() -> Engine:
    """The app's engine, made on first use with the app's store and clock."""
    return (current_app.extensions.get("stoker-engine")
            or start_engine(current_app, ctx().endpoints()))


def _local_cloud_dir(store) -> Path | None:
    """Beside the SQLite database: the local driver's records and its servers' agent roots."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database).resolve().parent / "local-cloud"
    return None
