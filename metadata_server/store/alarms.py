"""Alarms stoker evaluates itself (migration 0008), and what the evaluator reads of the engine's
tables: the servers of a stack's tree, with their metadata.

An alarm row keeps the alarm as Aodh's API would (`body`: type, its `<type>_rule`, actions,
repeat_actions, ...), so the engine's plugin writes one shape whether the alarm goes to Aodh or
stays here. `next_at` is when it is due; an evaluator claims a due alarm by moving `next_at`
on (a compare-and-swap), so the processes sharing the database evaluate each alarm once a round.
Times are epoch seconds.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (JSON, Boolean, Column, Float, Index, String, Table, Text, delete, func,
                        insert, select, update)

from metadata_server.store.queries import Queries, Row
from metadata_server.store.stack_tables import stack, stack_resource
from metadata_server.store.tables import metadata

alarm = Table(
    "alarm", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False, index=True),
    Column("stack_id", String(36), nullable=False, index=True),
    Column("resource_name", String(255), nullable=False),
    Column("resource_type", String(255), nullable=False),
    Column("body", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("state", String(32), nullable=False),
    Column("state_reason", Text),
    Column("state_changed_at", Float),
    Column("evaluated_at", Float),
    Column("next_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("ix_alarm_enabled_next", alarm.c.enabled, alarm.c.next_at)

UNKNOWN = "insufficient data"
# the resource types whose physical id is the stoker server its agent reports as
SERVER_TYPES = ("OS::Nova::Server", "OS::Heat::DeployedServer", "AWS::EC2::Instance")
MAX_TREE_STACKS = 10_000   # a tree is bounded by max_resources_per_stack long before this


class AlarmStore(Queries):
    # -- what the engine's plugin writes --------------------------------------------------
    def put(self, row: Row) -> None:
        """Create the alarm, or replace its definition (its state is kept)."""
        a = alarm.c
        with self.engine.begin() as conn:
            kept = conn.execute(update(alarm).where(a.id == row["id"]).values(
                body=row["body"], enabled=row["enabled"], next_at=row["next_at"])).rowcount
            if not kept:
                conn.execute(insert(alarm).values(state=UNKNOWN, **row))

    def set_enabled(self, alarm_id: str, enabled: bool, next_at: float) -> None:
        self._write(update(alarm).where(alarm.c.id == alarm_id)
                    .values(enabled=enabled, next_at=next_at))

    def remove(self, alarm_id: str) -> None:
        self._write(delete(alarm).where(alarm.c.id == alarm_id))

    def get(self, alarm_id: str) -> Row | None:
        return self._one(select(alarm).where(alarm.c.id == alarm_id))

    # -- what the evaluator reads and writes ----------------------------------------------
    def due_tenants(self, now: float, limit: int) -> list[str]:
        a = alarm.c
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(
                select(a.tenant).where(a.enabled.is_(True), a.next_at <= now)
                .group_by(a.tenant).order_by(func.min(a.next_at)).limit(limit))]

    def due(self, tenant: str, now: float, limit: int) -> list[Row]:
        a = alarm.c
        return self._all(select(alarm).where(a.tenant == tenant, a.enabled.is_(True),
                                             a.next_at <= now)
                         .order_by(a.next_at, a.id).limit(limit))

    def claim(self, row: Row, next_at: float) -> bool:
        """Take a due alarm for this round, unless another process took it first."""
        a = alarm.c
        return self._write(update(alarm).where(a.id == row["id"], a.next_at == row["next_at"])
                           .values(next_at=next_at)) == 1

    def record(self, alarm_id: str, evaluated_at: float, state: str | None = None,
               reason: str | None = None) -> None:
        """An evaluation happened; with `state`, the alarm went to it (and why)."""
        values: dict[str, Any] = {"evaluated_at": evaluated_at}
        if state is not None:
            values.update(state=state, state_reason=reason, state_changed_at=evaluated_at)
        self._write(update(alarm).where(alarm.c.id == alarm_id).values(**values))

    def count_by_state(self) -> dict[str, int]:
        a = alarm.c
        with self.engine.connect() as conn:
            return {state: n for state, n in conn.execute(
                select(a.state, func.count()).where(a.enabled.is_(True)).group_by(a.state))}

    def oldest_due(self, now: float) -> float | None:
        """The next_at of the most overdue enabled alarm, if any is due."""
        a = alarm.c
        with self.engine.connect() as conn:
            return conn.execute(select(func.min(a.next_at)).where(
                a.enabled.is_(True), a.next_at <= now)).scalar()

    def prune_orphans(self) -> int:
        """Drop alarms whose stack is gone or deleted (an abandoned or purged stack's)."""
        live = select(stack.c.id).where(stack.c.deleted_at.is_(None))
        return self._write(delete(alarm).where(alarm.c.stack_id.not_in(live)))

    # -- the servers an alarm may match ---------------------------------------------------
    def servers_of_tree(self, stack_id: str) -> list[Row]:
        """The live servers of a stack and of every stack nested below it: {id, name, metadata}."""
        s, r = stack.c, stack_resource.c
        tree, frontier = [stack_id], [stack_id]
        with self.engine.connect() as conn:
            while frontier and len(tree) < MAX_TREE_STACKS:
                frontier = [row[0] for row in conn.execute(
                    select(s.id).where(s.parent_id.in_(frontier), s.deleted_at.is_(None)))]
                tree.extend(frontier)
            rows = conn.execute(
                select(r.physical_id, r.type, r.properties, r.data).where(
                    r.stack_id.in_(tree), r.type.in_(SERVER_TYPES), r.physical_id.is_not(None),
                    r.action != "DELETE", r.replaced_by.is_(None))).mappings().all()
        servers = []
        for row in rows:
            properties, data = row["properties"] or {}, row["data"] or {}
            metadata = properties.get("metadata") or {}
            if row["type"] == "AWS::EC2::Instance":   # its Tags are the server's metadata
                metadata = {str(t.get("Key")): str(t.get("Value"))
                            for t in properties.get("Tags") or [] if isinstance(t, dict)}
            servers.append({"id": row["physical_id"],
                            "name": properties.get("name") or data.get("name") or "",
                            "metadata": metadata})
        return servers

