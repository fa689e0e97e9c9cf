"""Queries of the engine's tables; rows come back as plain dicts, as from the main Store (a new
stack goes in as a StackRecord). engine/store_seam.py is the engine's view of this class."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import delete, func, insert, select, update

from metadata_server.store import event_outbox
from metadata_server.store.event_query import EventQuery
from metadata_server.store.events import list_events
from metadata_server.store.queries import Queries, Row
from metadata_server.store.stack_records import StackRecord
from metadata_server.store.stack_snapshots import SnapshotQueries
from metadata_server.store.stack_tables import stack, stack_event, stack_resource, stack_snapshot



class StackStore(SnapshotQueries, Queries):
    # -- stacks ------------------------------------------------------------------------------
    def insert_stack(self, record: StackRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(stack).values(**record.as_row()))

    def get_stack(self, stack_id: str) -> Row | None:
        return self._one(select(stack).where(stack.c.id == stack_id))

    def find_stack(self, tenant: str, name_or_id: str) -> Row | None:
        """A live stack by id or by name (deleted ones only by id, as Heat shows them)."""
        row = self._one(select(stack).where(stack.c.id == name_or_id, stack.c.tenant == tenant))
        if row is not None:
            return row
        return self._one(select(stack).where(stack.c.name == name_or_id,
                                             stack.c.tenant == tenant,
                                             stack.c.deleted_at.is_(None)))

    def list_stacks(self, tenant: str, *, show_deleted: bool = False,
                    show_nested: bool = False) -> list[Row]:
        stmt = select(stack).where(stack.c.tenant == tenant)
        if not show_deleted:
            stmt = stmt.where(stack.c.deleted_at.is_(None))
        if not show_nested:
            stmt = stmt.where(stack.c.parent_id.is_(None))
        return self._all(stmt.order_by(stack.c.created_at.desc(), stack.c.id))

    def count_stacks(self, tenant: str) -> int:
        """Live top-level stacks of a tenant (what max_stacks_per_tenant counts)."""
        return self._one(select(func.count().label("n")).select_from(stack).where(
            stack.c.tenant == tenant, stack.c.deleted_at.is_(None),
            stack.c.parent_id.is_(None)))["n"]

    def children(self, stack_id: str) -> list[Row]:
        return self._all(select(stack).where(stack.c.parent_id == stack_id,
                                             stack.c.deleted_at.is_(None)))

    def update_stack(self, stack_id: str, values: Row, *,
                     unless_status: str | None = None) -> bool:
        """Write `values`; with `unless_status`, only if the stack is not in that status
        (compare-and-swap, so two operations cannot start on one stack)."""
        stmt = update(stack).where(stack.c.id == stack_id)
        if unless_status is not None:
            stmt = stmt.where(stack.c.status != unless_status)
        with self.engine.begin() as conn:
            return conn.execute(stmt.values(**values)).rowcount == 1

    def stale_operations(self, heartbeat_before: datetime,
                         dead_engines: Iterable[str] = ()) -> list[Row]:
        """IN_PROGRESS stacks with no heartbeat since `heartbeat_before`, or run by an engine
        known to be dead."""
        stale = (stack.c.heartbeat_at.is_(None)) | (stack.c.heartbeat_at < heartbeat_before)
        dead = list(dead_engines)
        if dead:
            stale = stale | stack.c.engine_id.in_(dead)
        return self._all(select(stack).where(stack.c.status == "IN_PROGRESS", stale))

    def running_engines(self) -> list[str]:
        """The engines that hold IN_PROGRESS stacks."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(
                select(stack.c.engine_id).where(stack.c.status == "IN_PROGRESS",
                                                stack.c.engine_id.is_not(None)).distinct())]

    def engine_heartbeats(self) -> dict[str, datetime | None]:
        """Each engine that holds an IN_PROGRESS stack -> its latest heartbeat (GET /services)."""
        with self.engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(
                select(stack.c.engine_id, func.max(stack.c.heartbeat_at))
                .where(stack.c.status == "IN_PROGRESS", stack.c.engine_id.is_not(None))
                .group_by(stack.c.engine_id))}

    def claim_stale(self, row: Row, engine_id: str, when: datetime) -> bool:
        """Take over an orphaned operation, unless another engine already did (CAS)."""
        stmt = update(stack).where(stack.c.id == row["id"], stack.c.status == "IN_PROGRESS")
        if row["heartbeat_at"] is None:
            stmt = stmt.where(stack.c.heartbeat_at.is_(None))
        else:
            stmt = stmt.where(stack.c.heartbeat_at == row["heartbeat_at"])
        with self.engine.begin() as conn:
            return conn.execute(stmt.values(engine_id=engine_id,
                                            heartbeat_at=when)).rowcount == 1

    def release(self, stack_ids: Iterable[str], engine_id: str) -> None:
        """Hand an engine's running operations on: no heartbeat, so any engine's sweep takes
        them over at once (only those still IN_PROGRESS and still this engine's)."""
        ids = list(stack_ids)
        if ids:
            with self.engine.begin() as conn:
                conn.execute(update(stack).where(
                    stack.c.id.in_(ids), stack.c.status == "IN_PROGRESS",
                    stack.c.engine_id == engine_id).values(heartbeat_at=None))

    def heartbeat(self, stack_ids: Iterable[str], when: datetime) -> None:
        ids = list(stack_ids)
        if ids:
            with self.engine.begin() as conn:
                conn.execute(update(stack).where(stack.c.id.in_(ids)).values(heartbeat_at=when))

    def purge_stack(self, stack_id: str) -> None:
        """The stack's rows gone (abandon), its snapshots with them."""
        with self.engine.begin() as conn:
            conn.execute(delete(stack_snapshot).where(stack_snapshot.c.stack_id == stack_id))
            conn.execute(delete(stack_event).where(stack_event.c.stack_id == stack_id))
            conn.execute(delete(stack_resource).where(stack_resource.c.stack_id == stack_id))
            conn.execute(delete(stack).where(stack.c.id == stack_id))

    # -- resources and events, written in batches --------------------------------------------
    def resources(self, stack_id: str) -> list[Row]:
        return self._all(select(stack_resource).where(stack_resource.c.stack_id == stack_id)
                         .order_by(stack_resource.c.created_at, stack_resource.c.name))

    def apply(self, resource_inserts: list[Row], resource_updates: list[tuple[str, Row]],
              resource_deletes: list[str], events: list[Row],
              sources: dict | None = None) -> None:
        """Many state changes in one transaction: the walker produces them in bursts.
        `sources`: the events' stacks as the caller knows them (event_sinks_spec.EventSource),
        which spares the outbox reading them."""
        with self.engine.begin() as conn:
            if resource_inserts:
                conn.execute(insert(stack_resource), resource_inserts)
            for resource_id, values in resource_updates:
                conn.execute(update(stack_resource).where(stack_resource.c.id == resource_id)
                             .values(**values))
            if resource_deletes:
                conn.execute(delete(stack_resource).where(stack_resource.c.id.in_(resource_deletes)))
            if events:
                conn.execute(insert(stack_event), events)
                event_outbox.enqueue(conn, events, known=sources)  # deliveries to sinks, if any

    def purge_events(self, stack_id: str, keep: int) -> int:
        """Keep the newest `keep` events of the stack (Heat's max_events_per_stack)."""
        from sqlalchemy import func
        with self.engine.begin() as conn:
            count = conn.execute(select(func.count()).select_from(stack_event).where(
                stack_event.c.stack_id == stack_id)).scalar_one()
            if count <= keep:
                return 0
            cutoff = conn.execute(select(stack_event.c.seq).where(
                stack_event.c.stack_id == stack_id).order_by(stack_event.c.seq.desc())
                .offset(keep).limit(1)).scalar_one()
            return conn.execute(delete(stack_event).where(stack_event.c.stack_id == stack_id,
                                                          stack_event.c.seq <= cutoff)).rowcount

    def events(self, stack_id: str, resource_name: str | None = None,
               query: EventQuery = EventQuery()) -> list[Row]:
        return list_events(self.engine, stack_id, resource_name, query)
