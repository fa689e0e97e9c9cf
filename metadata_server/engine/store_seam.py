"""The engine's Store seam: exactly what the engine uses of its tables (store/stacks.py's
StackStore answers it on SQLAlchemy; store_fake.MemoryStackStore in memory, for engine unit
tests). Rows come back as plain dicts, as their columns are named in store/stack_tables.py; a
new stack goes in as a typed StackRecord (docs/architecture.md says why only that one).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Protocol

from metadata_server.store.event_query import EventQuery
from metadata_server.store.stack_records import StackRecord

Row = dict[str, Any]


class EngineStore(Protocol):
    # -- stacks ------------------------------------------------------------------------------
    def insert_stack(self, record: StackRecord) -> None:
        ...

    def get_stack(self, stack_id: str) -> Row | None:
        ...

    def find_stack(self, tenant: str, name_or_id: str) -> Row | None:
        """A live stack by id or by name (deleted ones only by id, as Heat shows them)."""

    def list_stacks(self, tenant: str, *, show_deleted: bool = False,
                    show_nested: bool = False) -> list[Row]:
        """Newest first."""

    def count_stacks(self, tenant: str) -> int:
        """Live top-level stacks of a tenant."""

    def children(self, stack_id: str) -> list[Row]:
        """Live nested stacks whose parent is `stack_id`."""

    def update_stack(self, stack_id: str, values: Row, *,
                     unless_status: str | None = None) -> bool:
        """Write `values` (with `unless_status`: only if the stack is not in that status);
        whether a row was written."""

    def purge_stack(self, stack_id: str) -> None:
        """The stack's rows gone, its resources, events and snapshots with them (abandon)."""

    # -- operations of engines that stopped --------------------------------------------------
    def stale_operations(self, heartbeat_before: datetime,
                         dead_engines: Iterable[str] = ()) -> list[Row]:
        ...

    def running_engines(self) -> list[str]:
        ...

    def claim_stale(self, row: Row, engine_id: str, when: datetime) -> bool:
        """Take over an orphaned operation unless another engine did first (its heartbeat
        is still the one `row` read)."""

    def release(self, stack_ids: Iterable[str], engine_id: str) -> None:
        ...

    def heartbeat(self, stack_ids: Iterable[str], when: datetime) -> None:
        ...

    # -- resources and events ----------------------------------------------------------------
    def resources(self, stack_id: str) -> list[Row]:
        """Oldest first (created_at, then name)."""

    def apply(self, resource_inserts: list[Row], resource_updates: list[tuple[str, Row]],
              resource_deletes: list[str], events: list[Row],
              sources: dict | None = None) -> None:
        """All in one transaction: all written, or none. `sources`: the events' stacks as the
        engine knows them (stack id: event_sinks_spec.EventSource), so the event outbox need
        not read them."""

    def purge_events(self, stack_id: str, keep: int) -> int:
        """Keep the newest `keep` events; how many went."""

    def events(self, stack_id: str, resource_name: str | None = None,
               query: EventQuery = EventQuery()) -> list[Row]:
        """In the order they were written, unless `query` (store/events.py) filters, sorts or
        pages them."""

    # -- snapshots (engine/snapshots.py) -----------------------------------------------------
    def insert_snapshot(self, row: Row) -> None:
        ...

    def get_snapshot(self, stack_id: str, snapshot_id: str) -> Row | None:
        """One of the stack's snapshots (another stack's id: None)."""

    def list_snapshots(self, stack_id: str) -> list[Row]:
        """Oldest first."""

    def count_snapshots(self, stack_id: str) -> int:
        ...

    def update_snapshot(self, snapshot_id: str, values: Row) -> None:
        ...

    def delete_snapshot(self, snapshot_id: str) -> bool:
        ...
