"""Pathways (the step a client was in at exit) and a partial index of the clients' exits.

0001 creates the tables as services/reporting/tables.py has them now, so a new database has these
already; a database made before gets them here. `polku rebuild` fills report_pathways.

Revision ID: reporting_0004
Revises: reporting_0003
"""
import sqlalchemy as sa
from alembic import op

from services.reporting.tables import client_exits, pathways

revision = "reporting_0004"
down_revision = "reporting_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(pathways.name):
        pathways.create(op.get_bind())
    if client_exits.name not in {index["name"] for index in inspector.get_indexes("report_clients")}:
        client_exits.create(op.get_bind())


def downgrade() -> None:
    client_exits.drop(op.get_bind(), checkfirst=True)
    pathways.drop(op.get_bind(), checkfirst=True)
