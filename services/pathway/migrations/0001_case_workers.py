"""Pathway's record of each client's case worker and area.

Revision ID: pathway_0001
Revises: platform_0001
"""
from alembic import op

from services.pathway.tables import case_workers

revision = "pathway_0001"
down_revision = "platform_0001"
branch_labels = ("pathway",)
depends_on = None


def upgrade() -> None:
    case_workers.create(op.get_bind())


def downgrade() -> None:
    case_workers.drop(op.get_bind())
