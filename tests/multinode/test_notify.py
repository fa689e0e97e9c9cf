"""LISTEN/NOTIFY between processes on one PostgreSQL: two apps on one database stand for two
workers or nodes; a change through one wakes the other's watchers without its table feed."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from tests.server.conftest import ADMIN, Api



@pytest.fixture
def other(db_url, store, clock):
    """A second app and its background work on the same database; its table feed runs only
    at start (every 60 s after), so a wake-up within seconds came by NOTIFY."""
    from metadata_server.app import create_app
    from metadata_server.background import Background
    from metadata_server.service.credentials import token_hash
    from metadata_server.store import open_store

    other_store = open_store(db_url)
    app = create_app(other_store, token_hash(ADMIN), clock=clock, public_url="http://x.test")
    background = Background(app.extensions["stoker"], feed_interval=60).start()
    from metadata_server.store import notify
    assert notify.listener(other_store.engine).wait_connected(10)
    yield app
    background.stop()
    other_store.engine.dispose()


def _deploy(api, server_id):
    config = api.post("/v1/t1/software_configs", {"name": "c", "group": "script",
                                                   "config": "#!/bin/sh\n"}).json
    response = api.post("/v1/t1/software_deployments", {
        "config_id": config["software_config"]["id"], "server_id": server_id,
        "signal_transport": "TEMP_URL_SIGNAL"})
    assert response.status_code == 200, response.json


def _watch_while(other_app, registered, change) -> float:
    """Seconds from `change()` until a watcher on the other app wakes (it waits up to 10 s)."""
    url = f"/v1/t1/servers/{registered['server']['id']}/metadata"
    agent = Api(other_app.test_client(), registered["credential"]["token"])
    etag = agent.get(url).headers["ETag"]
    documents = other_app.extensions["stoker"].documents
    woke = {}

    def watch():
        answer = agent.get(f"{url}?wait=10", headers={"If-None-Match": etag})
        woke["changed"] = answer.status_code == 200
        woke["at"] = time.monotonic()
    watcher = threading.Thread(target=watch)
    watcher.start()
    deadline = time.monotonic() + 10
    while documents.watchers == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    change()
    watcher.join(15)
    assert woke.get("changed") is True
    return woke["at"] - started


def test_a_watcher_on_another_process_wakes_by_notify(store, api, make_server, other):
    registered = make_server()
    assert _watch_while(other, registered, lambda: _deploy(api, registered["server"]["id"])) < 2


def test_the_listener_reconnects_and_catches_up(store, api, make_server, other):
    registered = make_server()
    with store.engine.begin() as conn:
        ended = conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
            "datname = current_database() AND application_name = 'stoker-listen'")).all()
    assert ended
    # sent while the connection may be down: the catch-up after reconnecting reads the table
    assert _watch_while(other, registered, lambda: _deploy(api, registered["server"]["id"])) < 4
