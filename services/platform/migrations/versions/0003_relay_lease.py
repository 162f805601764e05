"""The outbox relay's lease: one row naming the instance whose relay publishes, and until when.

Revision ID: platform_0003
Revises: platform_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "platform_0003"
down_revision = "platform_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lease = op.create_table(
        "relay_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(lease, [{"name": "outbox", "holder": "", "expires_at_ms": 0}])


def downgrade() -> None:
    op.drop_table("relay_lease")
