"""Payroll-billing's own tables: the payroll register, lines and decisions (personal), and read models.

Revision ID: payroll_billing_0001
Revises: platform_0001
"""
from alembic import op

from services.payroll_billing.tables import metadata

revision = "payroll_billing_0001"
down_revision = "platform_0001"
branch_labels = ("payroll_billing",)
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
