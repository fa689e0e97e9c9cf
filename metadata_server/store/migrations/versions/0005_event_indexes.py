"""Indexes for event lists paged in SQL: a stack's events and one resource's, in order.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_stack_event_stack_seq", "stack_event", ["stack_id", "seq"])
    op.create_index("ix_stack_event_stack_resource_seq", "stack_event",
                    ["stack_id", "resource_name", "seq"])
    # (stack_id, seq) serves every lookup by stack alone
    op.drop_index("ix_stack_event_stack_id", "stack_event")


def downgrade():
    op.create_index("ix_stack_event_stack_id", "stack_event", ["stack_id"])
    op.drop_index("ix_stack_event_stack_resource_seq", "stack_event")
    op.drop_index("ix_stack_event_stack_seq", "stack_event")
