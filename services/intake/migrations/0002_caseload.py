"""Intake's caseload: a row per client for case workers' lists, and a row per exited period for the
follow-ups due, filled from the clients already in the event log.

Revision ID: intake_0002
Revises: intake_0001
"""
from alembic import op

from services.intake.caseload import backfill
from services.intake.tables import caseload, follow_ups

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    caseload.create(op.get_bind())
    follow_ups.create(op.get_bind())
    backfill(op.get_bind())  # the clients referred before these tables


def downgrade() -> None:
    follow_ups.drop(op.get_bind())
    caseload.drop(op.get_bind())
