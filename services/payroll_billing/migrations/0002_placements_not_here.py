"""Placements that opened nothing here, so that their extensions are not parked.

0001 creates the tables as services/payroll_billing/tables.py has them now, so a new database has this
one already. Placements started before it are not in it: an extension of one of them still waits until
dead-lettered as overdue, as before.

Revision ID: payroll_billing_0002
Revises: payroll_billing_0001
"""
import sqlalchemy as sa
from alembic import op

from services.payroll_billing.tables import placements_not_here

revision = "payroll_billing_0002"
down_revision = "payroll_billing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table(placements_not_here.name):
        placements_not_here.create(op.get_bind())


def downgrade() -> None:
    placements_not_here.drop(op.get_bind())
