"""Events a consumer took whose prerequisite has not arrived: kept here until the aggregate they wait for changes.

Revision ID: platform_0005
Revises: platform_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "platform_0005"
down_revision = "platform_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parked_events",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("waiting_for", sa.String(64), nullable=False),
        sa.Column("stream_sequence", sa.BigInteger, nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_parked_events_waiting_for", "parked_events", ["consumer", "waiting_for"])


def downgrade() -> None:
    op.drop_table("parked_events")
