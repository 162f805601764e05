"""Each tally's index of its empty groups (services/reporting/tables.py, EMPTY_GROUPS): the projection
deletes a group whose last row left it by this index, where it scanned the whole tally.

0001 creates the tables as tables.py has them now, so a new database has these already; a database made
before gets them here.

Revision ID: reporting_0008
Revises: reporting_0007
"""
import sqlalchemy as sa
from alembic import op

from services.reporting.tables import EMPTY_GROUPS

revision = "reporting_0008"
down_revision = "reporting_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for index in EMPTY_GROUPS:
        if index.name not in {known["name"] for known in inspector.get_indexes(index.table.name)}:
            index.create(op.get_bind())


def downgrade() -> None:
    for index in EMPTY_GROUPS:
        index.drop(op.get_bind(), checkfirst=True)
