"""An engine on the suite's store with the in-memory cloud driver, for CFN templates end to end."""
from __future__ import annotations

import pytest

from metadata_server.engine.drivers import FakeDriver
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock
from metadata_server.service.endpoints import Endpoints
from tests.server import conftest as server_fixtures

app = server_fixtures.app  # the Flask app on the suite's store, as the API tests use it


@pytest.fixture
def engine(store):
    eng = Engine(store, system_clock, driver=FakeDriver(),
                 endpoints=Endpoints("http://stoker.test", "test-signing-key"),
                 poll_interval=0.02)
    yield eng
    eng.close()
