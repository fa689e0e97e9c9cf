"""Requests for a running stack operation, made on one engine and acted on by the one running it.

A cancel, delete or signal can reach any worker of any node; only the engine running the stack's
operation holds its state. The receiving engine writes a request row and NOTIFYs (notify.py);
the running engine (or whichever engine takes the stack over, or the receiver itself once the
operation ended) takes the row, acts, and writes the answer the receiver is waiting for. Taking
is a compare-and-swap, so each request is acted on exactly once.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import (JSON, Column, DateTime, ForeignKey, String, Table, delete, insert,
                        select, update)

from metadata_server.store import notify
from metadata_server.store.queries import Queries, Row
from metadata_server.store.stack_tables import stack
from metadata_server.store.tables import metadata

RETENTION = timedelta(hours=1)  # then a request nobody acted on or read is pruned

stack_request = Table(
    "stack_request", metadata,
    Column("id", String(36), primary_key=True),
    Column("stack_id", String(36), ForeignKey(stack.c.id, ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", String(16), nullable=False),   # cancel, delete, signal
    Column("body", JSON, nullable=False),         # what the receiving engine was asked
    Column("created_at", DateTime, nullable=False),
    Column("taken_by", String(36)),               # the engine acting on it
    Column("answer", JSON),                       # {} done, or {"error": {...}}: what to reply
)


class StackRequests(Queries):
    def add(self, row: Row) -> None:
        """Store a request and wake the engines (the one running the stack acts on it)."""
        with self.engine.begin() as conn:
            conn.execute(insert(stack_request).values(**row))
            notify.send(conn, notify.ENGINES, row["stack_id"])

    def pending(self, stack_ids: Iterable[str]) -> list[Row]:
        ids = list(stack_ids)
        if not ids:
            return []
        r = stack_request.c
        return self._all(select(stack_request).where(r.stack_id.in_(ids), r.taken_by.is_(None))
                         .order_by(r.created_at, r.id))

    def take(self, request_id: str, engine_id: str, from_engine: str | None = None) -> bool:
        """Claim a pending request (or one `from_engine` took and never answered); False if
        another engine claimed it first."""
        r = stack_request.c
        held = r.taken_by.is_(None) if from_engine is None else r.taken_by == from_engine
        return self._write(update(stack_request).where(r.id == request_id, held,
                                                       r.answer.is_(None))
                           .values(taken_by=engine_id)) == 1

    def unanswered(self, stack_ids: Iterable[str], engine_id: str) -> list[Row]:
        """Requests for these stacks that another engine took and has not answered."""
        ids = list(stack_ids)
        if not ids:
            return []
        r = stack_request.c
        return self._all(select(stack_request).where(
            r.stack_id.in_(ids), r.taken_by.is_not(None), r.taken_by != engine_id,
            r.answer.is_(None)).order_by(r.created_at, r.id))

    def answer(self, request_id: str, answer: dict) -> None:
        self._write(update(stack_request).where(stack_request.c.id == request_id)
                    .values(answer=answer))

    def get(self, request_id: str) -> Row | None:
        return self._one(select(stack_request).where(stack_request.c.id == request_id))

    def forget(self, request_id: str) -> None:
        self._write(delete(stack_request).where(stack_request.c.id == request_id))

    def prune(self, before: datetime) -> int:
        """Answered or abandoned requests older than `before`."""
        return self._write(delete(stack_request).where(stack_request.c.created_at < before))

