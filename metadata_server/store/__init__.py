"""Storage: SQLAlchemy Core tables, Alembic migrations, and the Store the service layer uses.

`Store` and `open_store` are loaded on first use, so that importing the plain records
(store/records.py) does not import SQLAlchemy and Alembic.
"""
from __future__ import annotations

__all__ = ["Store", "open_store"]


def __getattr__(name: str):
    if name == "Store":
        from metadata_server.store.repository import Store
        return Store
    if name == "open_store":
        from metadata_server.store.database import open_store
        return open_store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
