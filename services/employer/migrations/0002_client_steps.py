"""The case worker's steps a client is in, with their hours (matching's availability).

0001 creates the tables as services/employer/tables.py has them now, so a new database has this
one already; a database made before it gets it here.

Revision ID: employer_0002
Revises: employer_0001
"""
import sqlalchemy as sa
from alembic import op

from services.employer.tables import client_steps

revision = "employer_0002"
down_revision = "employer_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table(client_steps.name):
        client_steps.create(op.get_bind())


def downgrade() -> None:
    client_steps.drop(op.get_bind())
