"""The sending system's own referral ids, so a referral sent again never makes a second client.
Referrals taken over the bus before this table keep their uuid5 ids, which make them harmless anyway.

Revision ID: intake_0003
Revises: intake_0002
"""
from alembic import op

from services.intake.tables import sender_referrals

revision = "intake_0003"
down_revision = "intake_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sender_referrals.create(op.get_bind())


def downgrade() -> None:
    sender_referrals.drop(op.get_bind())
