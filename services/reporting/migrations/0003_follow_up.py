"""The follow-up system: when clients were referred and enrolled, whose placement it is, with which employer, its gig
hours, and openings (hidden jobs found).

0001 creates the tables as services/reporting/tables.py has them now, so a new database has all of
this already; a database made before gets it here. `polku rebuild` fills the new columns.

Revision ID: reporting_0003
Revises: reporting_0002
"""
import sqlalchemy as sa
from alembic import op

from services.reporting.tables import openings

revision = "reporting_0003"
down_revision = "reporting_0002"
branch_labels = None
depends_on = None

NEW_COLUMNS = {
    "report_clients": (("referred_on", sa.Date), ("enrolled_on", sa.Date), ("programme", lambda: sa.String(32)),
                       ("period", sa.Integer), ("subsidy_days_at_entry", sa.Integer),
                       ("labour_market_status", lambda: sa.String(40)), ("education_level", lambda: sa.String(16)),
                       ("disability", lambda: sa.String(16)), ("migrant_or_minority", lambda: sa.String(16)),
                       ("other_disadvantage", lambda: sa.String(16)), ("exited_on", sa.Date),
                       ("exit_status", lambda: sa.String(32)), ("exit_status_on", sa.Date),
                       ("qualification_gained", sa.Boolean), ("six_month_status", lambda: sa.String(32))),
    "report_placements": (("client_id", lambda: sa.String(36)), ("employer_id", lambda: sa.String(36)),
                          ("gig_hundredths_of_hours", sa.BigInteger)),
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, columns in NEW_COLUMNS.items():
        existing = {column["name"] for column in inspector.get_columns(table)}
        for name, column_type in columns:
            if name not in existing:
                op.add_column(table, sa.Column(name, column_type()))
    if not inspector.has_table(openings.name):
        openings.create(op.get_bind())


def downgrade() -> None:
    openings.drop(op.get_bind(), checkfirst=True)
    for table, columns in NEW_COLUMNS.items():
        for name, _ in reversed(columns):
            op.drop_column(table, name)
