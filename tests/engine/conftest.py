"""Fixtures for engine tests: an engine on the suite's store with the in-memory cloud driver."""
from __future__ import annotations

import pytest

from metadata_server.engine.drivers import FakeDriver
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock

from engine_helpers import ADMIN, ENDPOINTS


@pytest.fixture
def driver():
    return FakeDriver()


@pytest.fixture
def engine(store, driver):
    eng = Engine(store, system_clock, driver=driver, endpoints=ENDPOINTS, poll_interval=0.02)
    yield eng
    eng.close()


@pytest.fixture
def app(store, clock):
    """The Flask app on the suite's store; its engine (made on the first stack request) is
    closed afterwards."""
    from metadata_server.app import create_app
    from metadata_server.service.credentials import token_hash
    app = create_app(store, token_hash(ADMIN), clock=clock, public_url="http://stoker.test")
    yield app
    engine = app.extensions.get("stoker-engine")
    if engine is not None:
        engine.close()
