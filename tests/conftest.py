"""Fixtures shared by the whole suite: stores on every database under test, a fake clock."""
from __future__ import annotations

import os
from pathlib import Path
from datetime import datetime, timedelta

import pytest

POSTGRES_URL = os.environ.get("STOKER_TEST_POSTGRES_URL")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def shared_dir() -> Path | None:
    """The read-only reference material beside the checkout (conformance data from real Heat)."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (os.environ.get("STOKER_SHARED_DIR"), here.parent / "shared", "/work/shared"):
        if candidate and (Path(candidate) / "conformance").is_dir():
            return Path(candidate)
    return None


class FakeClock:
    """Deterministic time: each reading is one second after the previous one."""

    def __init__(self, start: datetime = datetime(2026, 1, 2, 3, 4, 5)):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# the key of the advisory lock a pytest session holds on its PostgreSQL database (any constant)
SESSION_LOCK = 0x570C3E12


@pytest.fixture(scope="session")
def postgres_to_ourselves():
    """Hold the test database for the whole session. Each test TRUNCATEs every table, so a
    second session on the same database deletes rows under this one's running tests (its
    signing key, so a keystone token fails its signature check; a stack's resources, so its
    outputs read None): that session stops at once, saying why, instead of both failing at
    random."""
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    conn = engine.connect()
    held = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": SESSION_LOCK}).scalar()
    conn.commit()
    if not held:
        conn.close()
        engine.dispose()
        pytest.exit(f"another pytest session is using the database of STOKER_TEST_POSTGRES_URL "
                    f"({POSTGRES_URL}); give each session a database of its own", returncode=3)
    yield
    conn.close()
    engine.dispose()  # closes the connection, which releases the lock


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stoker.db'}"
    request.getfixturevalue("postgres_to_ourselves")
    return POSTGRES_URL


@pytest.fixture
def store(db_url):
    pytest.importorskip("sqlalchemy")
    from sqlalchemy import text

    from metadata_server.store import open_store
    from metadata_server.store.tables import metadata

    store = open_store(db_url)
    if db_url.startswith("postgres"):
        # one database for the session: start each test from empty tables
        with store.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
    yield store
    store.engine.dispose()


@pytest.fixture(scope="session")
def openstack_cli() -> Path:
    """The `openstack` command (python-openstackclient + python-heatclient from PyPI)."""
    from tests.upstream import require
    return require(["python-openstackclient", "python-heatclient"]) / "bin" / "openstack"


@pytest.fixture
def http_server():
    """A loopback HTTP server that records requests and answers as told (tests/loopback.py)."""
    from tests.loopback import Loopback
    server = Loopback().start()
    yield server
    server.stop()


@pytest.fixture
def closed_url():
    """A loopback URL nobody listens on: `closed_url("/path")`."""
    from tests.loopback import closed_port_url
    return closed_port_url


@pytest.fixture(autouse=True)
def _local_agents_end_with_their_test(request):
    """A failing test never leaves a local-driver server's keeper or agent running: whatever
    was recorded under the test's tmp_path is killed when it ends (and, for the dirs of
    module- or session-scoped fixtures, at the end of the session)."""
    yield
    tmp_path = request.node.funcargs.get("tmp_path")
    if tmp_path is not None:
        from metadata_server.engine.drivers.local_servers import kill_all_under
        kill_all_under(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _local_agents_end_with_the_session(tmp_path_factory):
    yield
    from metadata_server.engine.drivers.local_servers import kill_all_under
    kill_all_under(tmp_path_factory.getbasetemp())
