"""Stack snapshots (store/stack_tables.py stack_snapshot, engine/snapshots.py).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stack_snapshot",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stack.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("data", sa.JSON),
        sa.Column("definition", sa.JSON),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("stack_snapshot")
