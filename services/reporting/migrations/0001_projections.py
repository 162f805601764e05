"""Reporting's projection tables.

Revision ID: reporting_0001
Revises: platform_0001
"""
from alembic import op

from services.reporting.tables import PROJECTION_TABLES

revision = "reporting_0001"
down_revision = "platform_0001"
branch_labels = ("reporting",)
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in PROJECTION_TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(PROJECTION_TABLES):
        table.drop(bind)
