"""Stacks, stack resources and stack events for the engine.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stack",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False, index=True),
        sa.Column("parent_id", sa.String(36), index=True),
        sa.Column("parent_resource", sa.String(255)),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("previous_definition", sa.JSON),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("timeout_mins", sa.Integer),
        sa.Column("disable_rollback", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("tags", sa.JSON),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("deleted_at", sa.DateTime),
        sa.Column("engine_id", sa.String(36)),
        sa.Column("heartbeat_at", sa.DateTime),
    )
    op.create_table(
        "stack_resource",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stack.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("physical_id", sa.String(255)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("definition", sa.JSON),
        sa.Column("properties", sa.JSON),
        sa.Column("data", sa.JSON),
        sa.Column("attributes", sa.JSON),
        sa.Column("replaced_by", sa.String(36)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
    )
    op.create_table(
        "stack_event",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stack.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("resource_name", sa.String(255), nullable=False),
        sa.Column("physical_resource_id", sa.String(255)),
        sa.Column("resource_type", sa.String(255)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("stack_event")
    op.drop_table("stack_resource")
    op.drop_table("stack")
