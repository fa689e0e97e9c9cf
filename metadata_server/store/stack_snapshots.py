"""Queries of the stack_snapshot table (engine/snapshots.py); mixed into StackStore, so the
engine reaches them through its one EngineStore."""
from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update

from metadata_server.store.queries import Row
from metadata_server.store.stack_tables import stack_snapshot


class SnapshotQueries:
    engine: object

    def insert_snapshot(self, row: Row) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(stack_snapshot).values(**row))

    def get_snapshot(self, stack_id: str, snapshot_id: str) -> Row | None:
        return self._one(select(stack_snapshot).where(stack_snapshot.c.id == snapshot_id,
                                                      stack_snapshot.c.stack_id == stack_id))

    def list_snapshots(self, stack_id: str) -> list[Row]:
        """Oldest first."""
        return self._all(select(stack_snapshot).where(stack_snapshot.c.stack_id == stack_id)
                         .order_by(stack_snapshot.c.created_at, stack_snapshot.c.id))

    def count_snapshots(self, stack_id: str) -> int:
        return self._one(select(func.count().label("n")).select_from(stack_snapshot).where(
            stack_snapshot.c.stack_id == stack_id))["n"]

    def update_snapshot(self, snapshot_id: str, values: Row) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(stack_snapshot).where(stack_snapshot.c.id == snapshot_id)
                         .values(**values))

    def delete_snapshot(self, snapshot_id: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(stack_snapshot).where(
                stack_snapshot.c.id == snapshot_id)).rowcount == 1
