"""The audit head keeps the hash before the last one too: on PostgreSQL one statement advances the head
and writes the entry it returns (services/platform/audit.py), so the head's row lock is held for that
statement and the commit.

Revision ID: platform_0007
Revises: platform_0006
"""
import sqlalchemy as sa
from alembic import op

revision = "platform_0007"
down_revision = "platform_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_head", sa.Column("previous_hash", sa.String(64)))


def downgrade() -> None:
    op.drop_column("audit_head", "previous_hash")
