"""Operator tokens, EC2-style server keys, signal attempts, document changes, deployment timing.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "operator_token",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("tenant", sa.String(64)),  # null: may act in any tenant
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("revoked_at", sa.DateTime),
    )
    with op.batch_alter_table("server_credential") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="token"))
        batch.add_column(sa.Column("access_key", sa.String(64)))
        batch.add_column(sa.Column("secret_key", sa.String(128)))
        batch.add_column(sa.Column("expires_at", sa.DateTime))
        batch.create_unique_constraint("uq_server_credential_access_key", ["access_key"])
    with op.batch_alter_table("server") as batch:
        batch.add_column(sa.Column("generation", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("agent_info", sa.JSON))
    with op.batch_alter_table("software_deployment") as batch:
        batch.add_column(sa.Column("timeout_at", sa.DateTime))
        batch.add_column(sa.Column("phase", sa.String(32)))
        batch.add_column(sa.Column("last_signal_at", sa.DateTime))
    op.create_table(
        "signal_attempt",
        sa.Column("deployment_id", sa.String(36), primary_key=True),
        sa.Column("attempt_id", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("outcome", sa.JSON),
    )
    op.create_table(
        "document_change",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("server_id", sa.String(255), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("document_change")
    op.drop_table("signal_attempt")
    with op.batch_alter_table("software_deployment") as batch:
        for name in ("last_signal_at", "phase", "timeout_at"):
            batch.drop_column(name)
    with op.batch_alter_table("server") as batch:
        batch.drop_column("agent_info")
        batch.drop_column("generation")
    with op.batch_alter_table("server_credential") as batch:
        batch.drop_constraint("uq_server_credential_access_key", type_="unique")
        for name in ("expires_at", "secret_key", "access_key", "kind"):
            batch.drop_column(name)
    op.drop_table("operator_token")
