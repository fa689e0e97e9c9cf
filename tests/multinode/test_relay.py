"""Cancel, delete and signals received by an engine that does not run the stack's operation:
two engines on one database stand for two workers or nodes (SQLite: workers of one host)."""
from __future__ import annotations

import time

import pytest

from metadata_server.engine.drivers import FakeDriver
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock
from metadata_server.service.endpoints import Endpoints
from tests.conftest import POSTGRES_URL
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)
ENDPOINTS = Endpoints("http://stoker.test", "test-signing-key")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(params=DATABASES)
def engines(request, tmp_path):
    """(runs, receives): two engines, each on a store of its own, on one database."""
    from sqlalchemy import text

    from metadata_server.store import open_store
    from metadata_server.store.tables import metadata
    import metadata_server.store.stack_requests  # noqa: F401  (its table, for the TRUNCATE)

    url = POSTGRES_URL if request.param == "postgresql" else f"sqlite:///{tmp_path / 'db'}"
    stores = [open_store(url), open_store(url)]
    if request.param == "postgresql":
        with stores[0].engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
    pair = [Engine(s, system_clock, driver=FakeDriver(), endpoints=ENDPOINTS,
                   poll_interval=0.02) for s in stores]
    yield pair
    for engine in pair:
        engine.close()
    for store in stores:
        store.engine.dispose()


def _create(engine, resources: dict) -> dict:
    return engine.create_stack("t1", {"stack_name": "s", "template": {
        "heat_template_version": "2018-08-31", "resources": resources}})


def _settled(engine, stack_id: str) -> dict:
    return until(lambda: (lambda s: s if s["status"] != "IN_PROGRESS" else None)(
        engine.stacks.get_stack(stack_id)), 30, "the stack to settle", pause=0.02)


def test_a_cancel_received_elsewhere_stops_the_operation(engines):
    runs, receives = engines
    stack = _create(runs, {"slow": {"type": "OS::Heat::TestResource",
                                    "properties": {"wait_secs": 60}}})
    started = time.monotonic()
    receives.cancel("t1", stack["id"], rollback=False)
    done = _settled(receives, stack["id"])
    assert (done["action"], done["status"], done["status_reason"]) == (
        "CREATE", "FAILED", "Stack CREATE cancelled")
    assert time.monotonic() - started < 20


def test_the_running_engines_error_is_the_reply(engines):
    runs, receives = engines
    stack = _create(runs, {"slow": {"type": "OS::Heat::TestResource",
                                    "properties": {"wait_secs": 60}}})
    with pytest.raises(Exception) as refused:  # a create is cancelled only without rollback
        receives.cancel("t1", stack["id"], rollback=True)
    assert (refused.value.code, refused.value.error_type) == (400, "NotSupported")
    assert "Cancelling update when stack is CREATE_IN_PROGRESS" in refused.value.message
    assert runs.stacks.get_stack(stack["id"])["status"] == "IN_PROGRESS"
    runs.cancel("t1", stack["id"], rollback=False)


def test_a_signal_received_elsewhere_reaches_the_waiting_resource(engines):
    runs, receives = engines
    stack = _create(runs, {
        "handle": {"type": "OS::Heat::WaitConditionHandle"},
        "wait": {"type": "OS::Heat::WaitCondition",
                 "properties": {"handle": {"get_resource": "handle"}, "timeout": 60}}})
    until(lambda: (runs.find_resource(stack["id"], "wait") or {}).get("status")
          == "IN_PROGRESS", 30, "the wait to begin", pause=0.02)
    with pytest.raises(Exception) as refused:
        receives.signal_resource("t1", stack["id"], "handle", {"unset_hook": "pre-create"})
    assert refused.value.error_type == "InvalidBreakPointHook"
    receives.signal_resource("t1", stack["id"], "handle",
                             {"status": "SUCCESS", "data": "hello", "id": "1"})
    done = _settled(receives, stack["id"])
    assert (done["action"], done["status"]) == ("CREATE", "COMPLETE"), done["status_reason"]


def test_a_delete_received_elsewhere_stops_and_deletes(engines):
    runs, receives = engines
    stack = _create(runs, {"slow": {"type": "OS::Heat::TestResource",
                                    "properties": {"wait_secs": 60}}})
    receives.delete_stack("t1", stack["id"])
    done = until(lambda: (lambda s: s if (s["action"], s["status"]) == ("DELETE", "COMPLETE")
                          else None)(receives.stacks.get_stack(stack["id"])), 30,
                 "the delete", pause=0.02)
    assert done["deleted_at"] is not None


def test_a_request_whose_engine_died_before_answering_is_acted_on_again(db_url, store):
    """The request was taken by an engine that died (no session holds its lock): the engine
    running the stack now acts on it."""
    import uuid

    from metadata_server.engine.liveness import AdvisoryLockLiveness
    from metadata_server.store.stack_requests import StackRequests

    runs = Engine(store, system_clock, driver=FakeDriver(), endpoints=ENDPOINTS,
                  poll_interval=0.02, liveness=AdvisoryLockLiveness(db_url))
    try:
        stack = _create(runs, {"slow": {"type": "OS::Heat::TestResource",
                                        "properties": {"wait_secs": 60}}})
        requests = StackRequests(store.engine)
        request_id = str(uuid.uuid4())
        requests.add({"id": request_id, "stack_id": stack["id"], "kind": "cancel",
                      "body": {"rollback": False}, "created_at": system_clock(),
                      "taken_by": str(uuid.uuid4())})
        done = _settled(runs, stack["id"])
        assert done["status_reason"] == "Stack CREATE cancelled"
        assert requests.get(request_id)["answer"] == {}
    finally:
        runs.close()
