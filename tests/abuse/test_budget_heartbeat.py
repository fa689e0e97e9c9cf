"""The heartbeat has connections of its own: with every connection of the engine's lane taken
(a heavy stack's threads all in the database), running stacks keep their heartbeat, so another
node sharing the database never takes them over, and requests keep theirs too."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from metadata_server.engine.drivers import FakeDriver
from metadata_server.engine.stack import ENGINE_LANE, Engine
from metadata_server.service.clock import system_clock
from metadata_server.store.lanes import use_lane
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)
WAITING = {"heat_template_version": "2018-08-31", "resources": {"wait": {
    "type": "OS::Heat::TestResource", "properties": {"wait_secs": 60}}}}


def test_heartbeat_beats_while_the_engine_connections_are_all_taken(store):
    engine = Engine(store, system_clock, driver=FakeDriver(), db_connections=1,
                    heartbeat_interval=0.05)
    try:
        stack = engine.create_stack("t1", {"stack_name": "s", "template": WAITING})
        until(lambda: engine.stacks.get_stack(stack["id"])["status_reason"]
              == "Stack CREATE started" and engine.budget.busy("t1"), 10, "the create to run")
        held, release = threading.Event(), threading.Event()

        def hog():  # an engine thread holding the lane's only connection
            use_lane(ENGINE_LANE)
            with store.engine.connect():
                held.set()
                release.wait(30)
        threading.Thread(target=hog, daemon=True).start()
        assert held.wait(10)
        assert engine.db_lane.pool.checkedout() == 1  # the lane is full
        try:
            first = engine.stacks.get_stack(stack["id"])["heartbeat_at"]  # the request lane
            until(lambda: engine.stacks.get_stack(stack["id"])["heartbeat_at"] > first, 10,
                  "a heartbeat with the engine's connections all taken")
            with store.engine.connect() as conn:  # so does a request
                assert conn.execute(text("SELECT 1")).scalar() == 1
        finally:
            release.set()
        engine.cancel("t1", stack["id"], rollback=False)
        assert engine.wait(stack["id"], 30)["status"] == "FAILED"
    finally:
        engine.close()
