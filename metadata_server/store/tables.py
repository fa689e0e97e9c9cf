"""SQLAlchemy Core tables. Alembic migrations under migrations/ must produce exactly these."""
from sqlalchemy import (JSON, Column, DateTime, ForeignKey, Integer, MetaData, String, Table,
                        Text)

metadata = MetaData()

software_config = Table(
    "software_config", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False, index=True),
    Column("name", String(255)),
    Column("group", String(255)),
    # {"config": str|map, "inputs": [...], "outputs": [...], "options": {...}}, as Heat keeps it
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

software_deployment = Table(
    "software_deployment", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False, index=True),
    Column("server_id", String(255), nullable=False, index=True),
    Column("config_id", String(36), ForeignKey("software_config.id"), nullable=False),
    Column("input_values", JSON),
    Column("output_values", JSON),
    Column("action", String(32)),
    Column("status", String(32)),
    Column("status_reason", Text),
    Column("stack_user_project_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    # bumped on every write; writers compare-and-swap on it (optimistic concurrency)
    Column("version", Integer, nullable=False, default=1),
)

server = Table(
    "server", metadata,
    Column("id", String(255), primary_key=True),
    Column("tenant", String(64), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime),
)

server_credential = Table(
    "server_credential", metadata,
    Column("id", String(36), primary_key=True),
    Column("server_id", String(255), ForeignKey("server.id", ondelete="CASCADE"),
           nullable=False, index=True),
    # SHA-256 of the token: the token itself is shown once and never stored
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

secret = Table(
    "secret", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
