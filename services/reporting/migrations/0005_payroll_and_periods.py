"""Payroll's figures: each invoice's credit, payments, overdue and reminders; payroll runs' totals; subsidy
claims; a row per client's enrolment period, so a returning client's earlier exits stay counted; each
client's first placement; and the tallies the outcome report reads (counts per area, day and category).

0001 creates the tables as services/reporting/tables.py has them now, so a new database has these
already; a database made before gets them here. `polku rebuild` fills them from the stream: run it after this
migration (the tallies count changes from what is stored, so they start right only from a rebuild).

Revision ID: reporting_0005
Revises: reporting_0004
"""
import sqlalchemy as sa
from alembic import op

from services.reporting.tables import (client_periods, client_tally, enrolment_tally, first_placement_tally,
                                       first_placements, hire_tally, invoice_tally, invoices, leaving_tally,
                                       opening_tally, payroll_runs, placement_tally, subsidy_claims)

revision = "reporting_0005"
down_revision = "reporting_0004"
branch_labels = None
depends_on = None

# The tallies this migration made (0006 adds report_esf_tally, 0007 the municipal share's).
NEW_TABLES = (payroll_runs, subsidy_claims, client_periods, first_placements, invoice_tally, enrolment_tally,
              leaving_tally, client_tally, placement_tally, hire_tally, opening_tally, first_placement_tally)
NEW_INVOICE_COLUMNS = ("total_cents", "due_on", "credited_cents", "credited_total_cents", "paid_cents",
                       "paid_net_cents", "open_cents", "overdue_on", "reminders")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = {column["name"] for column in inspector.get_columns(invoices.name)}
    for name in NEW_INVOICE_COLUMNS:
        if name not in existing:
            column = invoices.c[name]
            op.add_column(invoices.name, sa.Column(name, column.type, nullable=column.nullable,
                                                   server_default=column.server_default.arg
                                                   if column.server_default is not None else None))
    for table in NEW_TABLES:
        if not inspector.has_table(table.name):
            table.create(op.get_bind())  # with its indexes


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        table.drop(op.get_bind(), checkfirst=True)
    for name in reversed(NEW_INVOICE_COLUMNS):
        op.drop_column(invoices.name, name)
