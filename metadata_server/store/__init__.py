"""Storage: SQLAlchemy Core tables, Alembic migrations, and the Store the service layer uses."""
from metadata_server.store.database import open_store
from metadata_server.store.repository import Store

__all__ = ["Store", "open_store"]
