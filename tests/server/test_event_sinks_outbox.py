"""The outbox's cost in the engine's common case: events of a stack the engine says has no sinks
are written with no query beyond their insert; told of sinks, or told nothing, it writes their
deliveries as before."""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import event, func, select

from metadata_server.store import event_outbox
from metadata_server.store.event_outbox import event_outbox as outbox_table
from metadata_server.store.event_sinks_spec import event_source
from metadata_server.store.stack_records import StackRecord
from metadata_server.store.stacks import StackStore

pytestmark = pytest.mark.timeout(60)
SINK = {"type": "webhook", "target": "http://127.0.0.1:9/hook", "secret": "k"}


def _stack(stacks: StackStore, sinks: list) -> str:
    stack_id = str(uuid.uuid4())
    stacks.insert_stack(StackRecord.creating(
        stack_id, "t1", f"s-{stack_id[:8]}", {"template": {"heat_template_version": "2018-08-31"},
                                              "event_sinks": sinks}, datetime.utcnow(), None))
    return stack_id


def _events(stack_id: str, count: int = 3) -> list[dict]:
    return [{"id": str(uuid.uuid4()), "stack_id": stack_id, "resource_name": f"r{i}",
             "physical_resource_id": "", "resource_type": "OS::Heat::RandomString",
             "action": "CREATE", "status": "COMPLETE", "status_reason": "state changed",
             "created_at": datetime.utcnow()} for i in range(count)]


@pytest.fixture
def statements(store):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.split()[0].upper())
    event.listen(store.engine, "before_cursor_execute", record)
    yield seen
    event.remove(store.engine, "before_cursor_execute", record)


def _outbox_rows(store, stack_id: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox_table)
                            .where(outbox_table.c.stack_id == stack_id)).scalar_one()


def test_events_of_a_stack_known_to_have_no_sinks_cost_only_their_insert(store, statements):
    stacks = StackStore(store.engine)
    stack_id = _stack(stacks, [])
    statements.clear()
    stacks.apply([], [], [], _events(stack_id),
                 sources={stack_id: event_source("t1", "quiet", [])})
    assert "SELECT" not in statements
    assert "INSERT" in statements
    assert _outbox_rows(store, stack_id) == 0


@pytest.mark.parametrize("told", [True, False], ids=["sinks-known", "sinks-read"])
def test_events_of_a_stack_with_a_sink_get_their_deliveries(store, told):
    stacks = StackStore(store.engine)
    stack_id = _stack(stacks, [SINK])
    sources = {stack_id: event_source("t1", "hooked", [SINK])} if told else None
    stacks.apply([], [], [], _events(stack_id), sources=sources)
    assert _outbox_rows(store, stack_id) == 3


def test_the_server_wide_sink_gets_events_of_stacks_known_to_have_none(store):
    stacks = StackStore(store.engine)
    stack_id = _stack(stacks, [])
    event_outbox.SETTINGS.server_sink = True
    try:
        stacks.apply([], [], [], _events(stack_id),
                     sources={stack_id: event_source("t1", "quiet", [])})
    finally:
        event_outbox.SETTINGS.server_sink = False
    assert _outbox_rows(store, stack_id) == 3


def test_an_invalid_sink_the_engine_kept_is_not_written():
    assert event_source("t1", "s", [{"type": "carrier-pigeon"}, SINK]).sinks == (SINK,)
