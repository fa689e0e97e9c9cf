"""MemoryStackStore: the engine's Store seam (store_seam.EngineStore) kept in dicts, for engine
unit tests without SQLAlchemy. It answers as StackStore does (tests/engine/test_engine_store_seam.py
runs the same calls on both): rows are copied in and out, as a database would, so the engine
never shares a dict with the store.
"""
from __future__ import annotations

import copy
import itertools
import threading
from datetime import datetime
from typing import Iterable

from metadata_server.engine.store_seam import Row
from metadata_server.store.event_query import EventQuery, page_of
from metadata_server.store.stack_records import StackRecord


class MemoryStackStore:
    def __init__(self):
        self._lock = threading.Lock()
        self._stacks: dict[str, Row] = {}
        self._resources: dict[str, Row] = {}
        self._events: list[Row] = []
        self._snapshots: dict[str, Row] = {}
        self._seq = itertools.count(1)

    # -- stacks ------------------------------------------------------------------------------
    def insert_stack(self, record: StackRecord) -> None:
        with self._lock:
            if record.id in self._stacks:
                raise ValueError(f"stack {record.id} exists")
            self._stacks[record.id] = copy.deepcopy(record.as_row())

    def get_stack(self, stack_id: str) -> Row | None:
        with self._lock:
            return copy.deepcopy(self._stacks.get(stack_id))

    def find_stack(self, tenant: str, name_or_id: str) -> Row | None:
        with self._lock:
            row = self._stacks.get(name_or_id)
            if row is None or row["tenant"] != tenant:
                row = next((r for r in self._stacks.values() if r["name"] == name_or_id
                            and r["tenant"] == tenant and r["deleted_at"] is None), None)
            return copy.deepcopy(row)

    def list_stacks(self, tenant: str, *, show_deleted: bool = False,
                    show_nested: bool = False) -> list[Row]:
        with self._lock:
            rows = [r for r in self._stacks.values() if r["tenant"] == tenant
                    and (show_deleted or r["deleted_at"] is None)
                    and (show_nested or r["parent_id"] is None)]
            rows.sort(key=lambda r: r["id"])
            rows.sort(key=lambda r: r["created_at"], reverse=True)
            return copy.deepcopy(rows)

    def count_stacks(self, tenant: str) -> int:
        with self._lock:
            return sum(1 for r in self._stacks.values() if r["tenant"] == tenant
                       and r["deleted_at"] is None and r["parent_id"] is None)

    def children(self, stack_id: str) -> list[Row]:
        with self._lock:
            return copy.deepcopy([r for r in self._stacks.values()
                                  if r["parent_id"] == stack_id and r["deleted_at"] is None])

    def update_stack(self, stack_id: str, values: Row, *,
                     unless_status: str | None = None) -> bool:
        with self._lock:
            row = self._stacks.get(stack_id)
            if row is None or (unless_status is not None and row["status"] == unless_status):
                return False
            row.update(copy.deepcopy(values))
            return True

    # -- operations of engines that stopped --------------------------------------------------
    def stale_operations(self, heartbeat_before: datetime,
                         dead_engines: Iterable[str] = ()) -> list[Row]:
        dead = set(dead_engines)
        with self._lock:
            return copy.deepcopy([
                r for r in self._stacks.values() if r["status"] == "IN_PROGRESS" and (
                    r["heartbeat_at"] is None or r["heartbeat_at"] < heartbeat_before
                    or r["engine_id"] in dead)])

    def running_engines(self) -> list[str]:
        with self._lock:
            return sorted({r["engine_id"] for r in self._stacks.values()
                           if r["status"] == "IN_PROGRESS" and r["engine_id"] is not None})

    def claim_stale(self, row: Row, engine_id: str, when: datetime) -> bool:
        with self._lock:
            current = self._stacks.get(row["id"])
            if (current is None or current["status"] != "IN_PROGRESS"
                    or current["heartbeat_at"] != row["heartbeat_at"]):
                return False
            current.update(engine_id=engine_id, heartbeat_at=when)
            return True

    def release(self, stack_ids: Iterable[str], engine_id: str) -> None:
        with self._lock:
            for stack_id in stack_ids:
                row = self._stacks.get(stack_id)
                if row is not None and row["status"] == "IN_PROGRESS" \
                        and row["engine_id"] == engine_id:
                    row["heartbeat_at"] = None

    def heartbeat(self, stack_ids: Iterable[str], when: datetime) -> None:
        with self._lock:
            for stack_id in stack_ids:
                if stack_id in self._stacks:
                    self._stacks[stack_id]["heartbeat_at"] = when

    # -- resources and events ----------------------------------------------------------------
    def resources(self, stack_id: str) -> list[Row]:
        with self._lock:
            rows = [r for r in self._resources.values() if r["stack_id"] == stack_id]
            return copy.deepcopy(sorted(rows, key=lambda r: (r["created_at"], r["name"])))

    def apply(self, resource_inserts: list[Row], resource_updates: list[tuple[str, Row]],
              resource_deletes: list[str], events: list[Row],
              sources: dict | None = None) -> None:
        inserts, updates = copy.deepcopy(resource_inserts), copy.deepcopy(resource_updates)
        events = copy.deepcopy(events)
        with self._lock:
            if any(r["id"] in self._resources for r in inserts):
                raise ValueError("a resource row exists")  # as the primary key refuses it
            self._resources.update((r["id"], r) for r in inserts)
            for resource_id, values in updates:
                if resource_id in self._resources:
                    self._resources[resource_id].update(values)
            for resource_id in resource_deletes:
                self._resources.pop(resource_id, None)
            self._events.extend(dict(e, seq=next(self._seq)) for e in events)

    def purge_events(self, stack_id: str, keep: int) -> int:
        with self._lock:
            mine = [e for e in self._events if e["stack_id"] == stack_id]
            doomed = {id(e) for e in mine[:max(0, len(mine) - keep)]}
            self._events = [e for e in self._events if id(e) not in doomed]
            return len(doomed)

    def events(self, stack_id: str, resource_name: str | None = None,
               query: EventQuery = EventQuery()) -> list[Row]:
        with self._lock:
            stacks = (stack_id, *query.nested)
            return copy.deepcopy(page_of([e for e in self._events if e["stack_id"] in stacks and (
                resource_name is None or e["resource_name"] == resource_name)], query))

    def purge_stack(self, stack_id: str) -> None:
        with self._lock:
            self._stacks.pop(stack_id, None)
            self._resources = {k: r for k, r in self._resources.items()
                               if r["stack_id"] != stack_id}
            self._events = [e for e in self._events if e["stack_id"] != stack_id]
            self._snapshots = {k: r for k, r in self._snapshots.items()
                               if r["stack_id"] != stack_id}

    # -- snapshots ---------------------------------------------------------------------------
    def insert_snapshot(self, row: Row) -> None:
        with self._lock:
            self._snapshots[row["id"]] = copy.deepcopy(row)

    def get_snapshot(self, stack_id: str, snapshot_id: str) -> Row | None:
        with self._lock:
            row = self._snapshots.get(snapshot_id)
            return copy.deepcopy(row) if row and row["stack_id"] == stack_id else None

    def list_snapshots(self, stack_id: str) -> list[Row]:
        with self._lock:
            rows = [r for r in self._snapshots.values() if r["stack_id"] == stack_id]
            return copy.deepcopy(sorted(rows, key=lambda r: (r["created_at"], r["id"])))

    def count_snapshots(self, stack_id: str) -> int:
        with self._lock:
            return sum(1 for r in self._snapshots.values() if r["stack_id"] == stack_id)

    def update_snapshot(self, snapshot_id: str, values: Row) -> None:
        with self._lock:
            if snapshot_id in self._snapshots:
                self._snapshots[snapshot_id].update(copy.deepcopy(values))

    def delete_snapshot(self, snapshot_id: str) -> bool:
        with self._lock:
            return self._snapshots.pop(snapshot_id, None) is not None
