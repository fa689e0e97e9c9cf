"""The event outbox: stack events still to deliver to their sinks (store/event_outbox.py).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "event_outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("stack_id", sa.String(36), nullable=False),
        sa.Column("sink_key", sa.String(2080), nullable=False),
        sa.Column("sink", sa.JSON, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False, index=True),
        sa.Column("last_error", sa.Text),
    )


def downgrade():
    op.drop_table("event_outbox")
