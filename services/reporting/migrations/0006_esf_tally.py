"""ESF participants tallied per area, day, programme, gender and indicator, and an index of the employers of
placements by area, employer type and start, so the ESF report and the plans read a few rows, not every
client's.

0001 creates the tables as services/reporting/tables.py has them now, so a new database has these
already; a database made before gets them here. `polku rebuild` fills the tally from the stream: run it
after this migration (a tally counts changes from what is stored, so it starts right only from a rebuild).

Revision ID: reporting_0006
Revises: reporting_0005
"""
import sqlalchemy as sa
from alembic import op

from services.reporting.tables import esf_tally, placement_employers

revision = "reporting_0006"
down_revision = "reporting_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(esf_tally.name):
        esf_tally.create(op.get_bind())
    if placement_employers.name not in {index["name"] for index in inspector.get_indexes("report_placements")}:
        placement_employers.create(op.get_bind())


def downgrade() -> None:
    placement_employers.drop(op.get_bind(), checkfirst=True)
    esf_tally.drop(op.get_bind(), checkfirst=True)
