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
    Column("timeout_at", DateTime),  # the server fails it after this, saying what it knows
    Column("phase", String(32)),  # what the agent last reported: received, running, ...
    Column("last_signal_at", DateTime),
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
    # bumped whenever the server's document changes
    Column("generation", Integer, nullable=False, default=0),
    Column("agent_info", JSON),  # what the agent reported of itself: version, hooks, collectors
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
    Column("kind", String(16), nullable=False, default="token"),  # token | ec2
    Column("access_key", String(64), unique=True),
    # EC2 signatures are HMACs: the verifier needs the secret itself
    Column("secret_key", String(128)),
    Column("expires_at", DateTime),
)

operator_token = Table(
    "operator_token", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("tenant", String(64)),  # null: may act in any tenant
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime),
    Column("revoked_at", DateTime),
)

signal_attempt = Table(
    "signal_attempt", metadata,
    Column("deployment_id", String(36), primary_key=True),
    Column("attempt_id", String(64), primary_key=True),
    Column("received_at", DateTime, nullable=False),
    Column("outcome", JSON),
)

document_change = Table(
    "document_change", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("server_id", String(255), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
)

secret = Table(
    "secret", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
