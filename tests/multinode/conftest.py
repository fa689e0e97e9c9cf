"""Many processes on one PostgreSQL: everything here needs STOKER_TEST_POSTGRES_URL."""
import pytest

from tests.conftest import POSTGRES_URL
from tests.server.conftest import api, app, make_server  # noqa: F401  (fixtures used here)


@pytest.fixture
def db_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL: set STOKER_TEST_POSTGRES_URL")
    return POSTGRES_URL


@pytest.fixture(scope="module")
def cluster_db():
    """A database of its own, made afresh: the nodes take over any IN_PROGRESS stack they find,
    and other tests leave theirs in the shared test database."""
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL: set STOKER_TEST_POSTGRES_URL")
    from metadata_server.store import open_store
    from tests.databases import fresh_postgres_database

    url = fresh_postgres_database(POSTGRES_URL, suffix="_multinode")
    open_store(url).engine.dispose()  # migrated once, before nodes start at the same moment
    return url


@pytest.fixture(scope="module")
def cluster(cluster_db, tmp_path_factory):
    from tests.multinode.cluster import Cluster, haproxy_binary

    binary = haproxy_binary()
    if binary is None:
        pytest.skip("needs HAProxy as the load balancer: apt-get install haproxy")
    running = Cluster(tmp_path_factory.mktemp("cluster"), cluster_db, binary)
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture
def nodes(cluster):
    """The cluster with all three nodes running (a test before may have killed one)."""
    cluster.revive()
    yield cluster
    for agent in cluster.agents:
        agent.stop(10)
    cluster.agents.clear()
