"""Intake's personal-data vault.

Revision ID: intake_0001
Revises: platform_0001
"""
from alembic import op

from services.intake.tables import vault

revision = "intake_0001"
down_revision = "platform_0001"
branch_labels = ("intake",)
depends_on = None


def upgrade() -> None:
    vault.create(op.get_bind())


def downgrade() -> None:
    vault.drop(op.get_bind())
