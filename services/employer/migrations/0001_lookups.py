"""Employer's lookup tables: business ids per area, clients' anonymous facts, placement spans, proposals.

Revision ID: employer_0001
Revises: platform_0001
"""
from alembic import op

from services.employer.tables import TABLES

revision = "employer_0001"
down_revision = "platform_0001"
branch_labels = ("employer",)
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
