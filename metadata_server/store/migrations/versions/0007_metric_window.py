"""Each server's recent metric samples (store/metric_window.py).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "metric_batch",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("server_id", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("oldest", sa.Float, nullable=False),
        sa.Column("newest", sa.Float, nullable=False),
        sa.Column("samples", sa.JSON, nullable=False),
    )
    op.create_index("ix_metric_batch_server_newest", "metric_batch", ["server_id", "newest"])
    op.create_index("ix_metric_batch_newest", "metric_batch", ["newest"])


def downgrade():
    op.drop_table("metric_batch")
