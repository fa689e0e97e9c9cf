"""SQLAlchemy Core tables of the engine: stacks, their resources and events (migration 0003).

They share `tables.metadata`, so one Alembic environment and one TRUNCATE cover them.
"""
from sqlalchemy import (JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, String,
                        Table, Text)

from metadata_server.store.tables import metadata

stack = Table(
    "stack", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False, index=True),
    Column("name", String(255), nullable=False, index=True),
    Column("parent_id", String(36), index=True),       # owner stack of a nested stack
    Column("parent_resource", String(255)),
    # {"template": ..., "files": ..., "environment": ..., "parameters": ...}: what update reuses
    Column("definition", JSON, nullable=False),
    Column("previous_definition", JSON),                # what a rollback of an update returns to
    Column("action", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text),
    Column("timeout_mins", Integer),
    Column("disable_rollback", Boolean, nullable=False, default=True),
    Column("tags", JSON),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    Column("deleted_at", DateTime),
    # while an operation runs, the engine that runs it bumps this; a stale one after a restart
    # tells the recovery sweep the operation is orphaned
    Column("engine_id", String(36)),
    Column("heartbeat_at", DateTime),
)

stack_resource = Table(
    "stack_resource", metadata,
    Column("id", String(36), primary_key=True),
    Column("stack_id", String(36), ForeignKey("stack.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("type", String(255), nullable=False),
    Column("physical_id", String(255)),
    Column("action", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text),
    # the raw definition and the resolved properties the resource was last acted on with:
    # comparing them with the new ones decides no-op, update in place or replace
    Column("definition", JSON),
    Column("properties", JSON),
    Column("data", JSON),          # what the resource keeps for itself (ids, generated values)
    Column("attributes", JSON),    # attribute values, cached so outputs resolve without a cloud
    Column("replaced_by", String(36)),  # set on the old row while its replacement takes over
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
)

stack_event = Table(
    "stack_event", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("stack_id", String(36), ForeignKey("stack.id", ondelete="CASCADE"), nullable=False),
    Column("resource_name", String(255), nullable=False),
    Column("physical_resource_id", String(255)),
    Column("resource_type", String(255)),
    Column("action", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text),
    Column("created_at", DateTime, nullable=False),
)
# event lists page in SQL (store/events.py, migration 0005)
Index("ix_stack_event_stack_seq", stack_event.c.stack_id, stack_event.c.seq)
Index("ix_stack_event_stack_resource_seq", stack_event.c.stack_id, stack_event.c.resource_name,
      stack_event.c.seq)

# a stack's snapshots (migration 0009): Heat's record, `data` the stack's abandon body
stack_snapshot = Table(
    "stack_snapshot", metadata,
    Column("id", String(36), primary_key=True),
    Column("stack_id", String(36), ForeignKey("stack.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("tenant", String(64), nullable=False),
    Column("name", String(255)),
    Column("action", String(16), nullable=False),   # the stack's when the snapshot was asked
    Column("status", String(16), nullable=False),
    Column("status_reason", Text),
    Column("data", JSON),
    # the stack's stored definition when it was taken: what a restore updates the stack to
    Column("definition", JSON),
    Column("created_at", DateTime, nullable=False),
)
