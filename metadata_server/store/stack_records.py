"""Typed records the engine hands the store. A new stack is built as a StackRecord, so its
columns are named and typed in one place instead of in each dict literal that makes one."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StackRecord:
    """One row of the `stack` table (stack_tables.py), as the engine creates it."""

    id: str
    tenant: str
    name: str
    definition: dict           # template, files, environment, parameters: what update reuses
    action: str
    status: str
    status_reason: str
    created_at: datetime
    parent_id: str | None = None         # the owner stack of a nested stack
    parent_resource: str | None = None   # the owner's resource that made it
    previous_definition: dict | None = None
    timeout_mins: int | None = None
    disable_rollback: bool = True
    tags: list[str] | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    engine_id: str | None = None          # the engine running its operation
    heartbeat_at: datetime | None = None

    @classmethod
    def creating(cls, stack_id: str, tenant: str, name: str, definition: dict, now: datetime,
                 engine_id: str | None, **columns: Any) -> "StackRecord":
        """A stack whose CREATE this engine starts now (`columns`: the others, such as
        parent_id, timeout_mins)."""
        columns = {"engine_id": engine_id, "heartbeat_at": now, **columns}
        return cls(stack_id, tenant, name, definition, "CREATE", "IN_PROGRESS",
                   "Stack CREATE started", now, **columns)

    def as_row(self) -> dict[str, Any]:
        """The columns as a dict (shallow: a definition is not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
