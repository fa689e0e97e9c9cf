"""Fixtures for engine tests: an engine on the suite's store with the in-memory cloud driver."""
from __future__ import annotations

import pytest

from metadata_server.engine.drivers import FakeDriver
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock

from engine_helpers import ENDPOINTS
from tests.server import conftest as server_fixtures

app = server_fixtures.app  # the Flask app on the suite's store, as the API tests use it


@pytest.fixture
def driver():
    return FakeDriver()


@pytest.fixture
def engine(store, driver):
    eng = Engine(store, system_clock, driver=driver, endpoints=ENDPOINTS, poll_interval=0.02)
    yield eng
    eng.close()

