"""What every store shares: run a statement, get plain dicts back."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

Row = dict[str, Any]


class Queries:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _one(self, stmt) -> Row | None:
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return dict(row) if row is not None else None

    def _all(self, stmt) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def _write(self, stmt) -> int:
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount
