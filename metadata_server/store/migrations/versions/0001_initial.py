"""Software configs, deployments, servers and their credentials.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "software_config",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(255)),
        sa.Column("group", sa.String(255)),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "software_deployment",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("server_id", sa.String(255), nullable=False, index=True),
        sa.Column("config_id", sa.String(36), sa.ForeignKey("software_config.id"), nullable=False),
        sa.Column("input_values", sa.JSON),
        sa.Column("output_values", sa.JSON),
        sa.Column("action", sa.String(32)),
        sa.Column("status", sa.String(32)),
        sa.Column("status_reason", sa.Text),
        sa.Column("stack_user_project_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "server",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_seen_at", sa.DateTime),
    )
    op.create_table(
        "server_credential",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("server_id", sa.String(255), sa.ForeignKey("server.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime),
    )
    op.create_table(
        "secret",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade():
    for name in ("secret", "server_credential", "server", "software_deployment",
                 "software_config"):
        op.drop_table(name)
