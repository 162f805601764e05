"""Each client's latest enrolment period beside their case worker: an event about a client then reads
which pathways the client has from the row it reads for the area anyway, instead of probing for the
pathway after the last (services/pathway/pathways.py). Rows from before stay without it and are probed.

Revision ID: pathway_0002
Revises: pathway_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "pathway_0002"
down_revision = "pathway_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_workers", sa.Column("latest_period", sa.Integer))


def downgrade() -> None:
    op.drop_column("case_workers", "latest_period")
