"""Pathway's record of each client's case worker and area.

Revision ID: pathway_0001
Revises: platform_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "pathway_0001"
down_revision = "platform_0001"
branch_labels = ("pathway",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_workers",
        sa.Column("client_id", sa.String(36), primary_key=True),
        sa.Column("employment_area", sa.String(40), nullable=False),
        sa.Column("case_worker_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("case_workers")
