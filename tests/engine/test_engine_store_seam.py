"""The engine's Store seam: StackStore (SQLAlchemy) and MemoryStackStore answer the same calls
the same way, so engine tests on the fake say something about the engine on a database."""
from __future__ import annotations

import inspect
from datetime import datetime, timedelta

import pytest

from metadata_server.engine.store_fake import MemoryStackStore
from metadata_server.engine.store_seam import EngineStore
from metadata_server.store.stack_records import StackRecord
from metadata_server.store.stacks import StackStore
from tests.conftest import DATABASES, POSTGRES_URL

T0 = datetime(2026, 1, 2, 3, 4, 5)


def protocol_members() -> list[str]:
    return sorted(n for n, v in vars(EngineStore).items()
                  if callable(v) and not n.startswith("_"))


@pytest.mark.parametrize("implementation", [StackStore, MemoryStackStore])
def test_each_store_has_the_seams_calls_with_its_parameters(implementation):
    for name in protocol_members():
        expected = list(inspect.signature(getattr(EngineStore, name)).parameters)
        assert list(inspect.signature(getattr(implementation, name)).parameters) == expected, name


@pytest.fixture(params=["memory"] + DATABASES)
def stacks(request, tmp_path):
    if request.param == "memory":
        yield MemoryStackStore()
        return
    from sqlalchemy import text

    from metadata_server.store import open_store
    from metadata_server.store.tables import metadata
    store = open_store(f"sqlite:///{tmp_path / 'stoker.db'}" if request.param == "sqlite"
                       else POSTGRES_URL)
    if request.param == "postgresql":   # the session's one database: start from empty tables
        request.getfixturevalue("postgres_to_ourselves")
        with store.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in
                                                      metadata.sorted_tables) + " CASCADE"))
    yield StackStore(store.engine)
    store.engine.dispose()


def record(name, minutes=0, **columns) -> StackRecord:
    return StackRecord.creating(f"id-{name}", columns.pop("tenant", "t1"), name,
                                {"template": {"n": name}}, T0 + timedelta(minutes=minutes),
                                columns.pop("engine_id", "engine-a"), **columns)


def resource(stack_id, name, seconds=0, **values) -> dict:
    row = {"id": f"{stack_id}/{name}", "stack_id": stack_id, "name": name, "type": "T",
           "physical_id": None, "action": "INIT", "status": "COMPLETE", "status_reason": "",
           "definition": None, "properties": {"p": [1]}, "data": {}, "attributes": None,
           "replaced_by": None, "created_at": T0 + timedelta(seconds=seconds), "updated_at": None}
    return {**row, **values}


def event(stack_id, n, resource_name="r") -> dict:
    return {"id": f"{stack_id}-e{n}", "stack_id": stack_id, "resource_name": resource_name,
            "physical_resource_id": "", "resource_type": "T", "action": "CREATE",
            "status": "IN_PROGRESS", "status_reason": f"event {n}", "created_at": T0}


def names(rows) -> list[str]:
    return [r["name"] for r in rows]


def test_stacks_are_found_listed_counted_and_compare_and_swapped(stacks):
    stacks.insert_stack(record("a"))
    stacks.insert_stack(record("b", 1, timeout_mins=5, tags=["x"]))
    stacks.insert_stack(record("child", 2, parent_id="id-a", parent_resource="r"))
    stacks.insert_stack(record("other", 3, tenant="t2"))
    got = stacks.get_stack("id-b")
    assert got == {**record("b", 1, timeout_mins=5, tags=["x"]).as_row()}
    assert stacks.find_stack("t1", "a")["id"] == "id-a"
    assert stacks.find_stack("t1", "id-a")["name"] == "a"
    assert stacks.find_stack("t2", "a") is None and stacks.find_stack("t1", "other") is None
    assert names(stacks.list_stacks("t1")) == ["b", "a"]           # newest first
    assert names(stacks.list_stacks("t1", show_nested=True)) == ["child", "b", "a"]
    assert stacks.count_stacks("t1") == 2
    assert names(stacks.children("id-a")) == ["child"]

    assert stacks.update_stack("id-a", {"status": "COMPLETE"})
    assert stacks.update_stack("id-a", {"action": "UPDATE"}, unless_status="IN_PROGRESS")
    assert not stacks.update_stack("id-b", {"status": "COMPLETE"}, unless_status="IN_PROGRESS")
    assert stacks.get_stack("id-b")["status"] == "IN_PROGRESS"
    assert not stacks.update_stack("id-missing", {"status": "COMPLETE"})
    assert stacks.update_stack("id-a", {"deleted_at": T0, "action": "DELETE"})
    assert stacks.find_stack("t1", "a") is None                    # deleted: by id only
    assert stacks.find_stack("t1", "id-a")["action"] == "DELETE"
    assert names(stacks.list_stacks("t1")) == ["b"]
    assert names(stacks.list_stacks("t1", show_deleted=True)) == ["b", "a"]
    assert stacks.count_stacks("t1") == 1


def test_stale_operations_are_claimed_once_and_released_ones_at_once(stacks):
    stacks.insert_stack(record("fresh", 10))
    stacks.insert_stack(record("stale"))
    stacks.insert_stack(record("dead", 10, engine_id="engine-b"))
    before = T0 + timedelta(minutes=5)
    assert sorted(names(stacks.stale_operations(before))) == ["stale"]
    assert sorted(names(stacks.stale_operations(before, ["engine-b"]))) == ["dead", "stale"]
    assert stacks.running_engines() in (["engine-a", "engine-b"], ["engine-b", "engine-a"])

    stale = stacks.get_stack("id-stale")
    assert stacks.claim_stale(stale, "engine-c", before)
    assert not stacks.claim_stale(stale, "engine-d", before)      # its heartbeat moved
    assert stacks.get_stack("id-stale")["engine_id"] == "engine-c"

    stacks.heartbeat(["id-fresh"], before)
    assert stacks.get_stack("id-fresh")["heartbeat_at"] == before
    stacks.release(["id-fresh", "id-dead"], "engine-a")           # only its own
    assert stacks.get_stack("id-fresh")["heartbeat_at"] is None
    assert stacks.get_stack("id-dead")["heartbeat_at"] is not None
    assert "fresh" in names(stacks.stale_operations(T0 - timedelta(days=1)))


def test_resources_and_events_are_written_in_one_batch_and_purged_oldest_first(stacks):
    stacks.insert_stack(record("s"))
    stacks.apply([resource("id-s", "b", 1), resource("id-s", "a", 1), resource("id-s", "c", 0)],
                 [], [], [event("id-s", n) for n in range(3)])
    assert names(stacks.resources("id-s")) == ["c", "a", "b"]      # created_at, then name
    stacks.apply([], [("id-s/a", {"status": "FAILED", "data": {"k": "v"}}),
                      ("id-s/missing", {"status": "FAILED"})],
                 ["id-s/c"], [event("id-s", 3, "a")])
    rows = {r["name"]: r for r in stacks.resources("id-s")}
    assert sorted(rows) == ["a", "b"]
    assert (rows["a"]["status"], rows["a"]["data"], rows["a"]["properties"]) == (
        "FAILED", {"k": "v"}, {"p": [1]})
    assert [e["status_reason"] for e in stacks.events("id-s")] == [
        "event 0", "event 1", "event 2", "event 3"]
    assert [e["id"] for e in stacks.events("id-s", "a")] == ["id-s-e3"]
    assert stacks.purge_events("id-s", 3) == 1
    assert stacks.purge_events("id-s", 3) == 0
    assert [e["status_reason"] for e in stacks.events("id-s")] == ["event 1", "event 2",
                                                                   "event 3"]


def test_rows_read_are_copies_the_engine_may_change(stacks):
    stacks.insert_stack(record("s"))
    stacks.apply([resource("id-s", "r")], [], [], [])
    row = stacks.get_stack("id-s")
    row["definition"]["template"]["n"] = "changed"
    stacks.resources("id-s")[0]["properties"]["p"].append(2)
    assert stacks.get_stack("id-s")["definition"] == {"template": {"n": "s"}}
    assert stacks.resources("id-s")[0]["properties"] == {"p": [1]}
