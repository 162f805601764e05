"""Placements in reporting keep their planned end and how and when they ended.

0001 creates the tables as services/reporting/tables.py has them now, so a new database has these
columns already; a database made before them gets them here.

Revision ID: reporting_0002
Revises: reporting_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "reporting_0002"
down_revision = "reporting_0001"
branch_labels = None
depends_on = None


NEW_COLUMNS = (("planned_end_on", sa.Date), ("ended_on", sa.Date), ("ending", lambda: sa.String(32)))


def upgrade() -> None:
    existing = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("report_placements")}
    for name, column_type in NEW_COLUMNS:
        if name not in existing:
            op.add_column("report_placements", sa.Column(name, column_type()))


def downgrade() -> None:
    for column, _ in reversed(NEW_COLUMNS):
        op.drop_column("report_placements", column)
