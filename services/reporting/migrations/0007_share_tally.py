"""The municipal share's inputs per client and its tally of cells (report_share_inputs, report_share_tally),
so the municipal share and return reports read a few thousand cells, not every client's periods; and the
indexes the return's client-months read alone.

0001 creates the tables as services/reporting/tables.py has them now, so a new database has these
already; a database made before gets them here. `polku rebuild` fills them from the stream: run it after
this migration (a tally counts changes from what is stored, so it starts right only from a rebuild).

Revision ID: reporting_0007
Revises: reporting_0006
"""
import sqlalchemy as sa
from alembic import op

from services.reporting.tables import client_enrolment_days, placement_days, share_inputs, share_tally

revision = "reporting_0007"
down_revision = "reporting_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in (share_inputs, share_tally):
        if not inspector.has_table(table.name):
            table.create(op.get_bind())
    for index in (placement_days, client_enrolment_days):
        if index.name not in {known["name"] for known in inspector.get_indexes(index.table.name)}:
            index.create(op.get_bind())


def downgrade() -> None:
    for index in (client_enrolment_days, placement_days):
        index.drop(op.get_bind(), checkfirst=True)
    for table in (share_tally, share_inputs):
        table.drop(op.get_bind(), checkfirst=True)
