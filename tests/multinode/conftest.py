"""Many processes on one PostgreSQL: everything here needs STOKER_TEST_POSTGRES_URL."""
import pytest

from tests.conftest import POSTGRES_URL
from tests.server.conftest import api, app, make_server  # noqa: F401  (fixtures used here)


@pytest.fixture
def db_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL: set STOKER_TEST_POSTGRES_URL")
    return POSTGRES_URL
