"""Projection tables. Disposable: `polku rebuild` replays the stream into twins of every table here and
swaps those in (swap.py).

Money and hours are integer cents and hundredths: exact on SQLite, which has no decimal type.
"""
from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

clients = Table(
    "report_clients",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("municipality", String(100), nullable=False),
    Column("age_band", String(16), nullable=False),
    Column("gender", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("eligibility_criterion", String(64)),
    Column("referred_on", Date),
    Column("enrolled_on", Date),
    # The latest enrolment period's entry facts, exit and follow-up (intake's journey events).
    Column("programme", String(32)),
    Column("period", Integer),
    Column("subsidy_days_at_entry", Integer),
    Column("labour_market_status", String(40)),
    Column("education_level", String(16)),
    Column("disability", String(16)),
    Column("migrant_or_minority", String(16)),
    Column("other_disadvantage", String(16)),
    Column("exited_on", Date),
    Column("exit_status", String(32)),
    Column("exit_status_on", Date),
    Column("qualification_gained", Boolean),
    Column("six_month_status", String(32)),
    Column("version", Integer, nullable=False),
)

placements = Table(
    "report_placements",
    metadata,
    Column("placement_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("client_id", String(36)),
    Column("employer_id", String(36)),
    Column("employer_type", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("planned_end_on", Date),
    Column("ended_on", Date),
    Column("ending", String(32)),
    Column("gig_hundredths_of_hours", BigInteger),
    Column("version", Integer, nullable=False),
)

openings = Table(
    "report_openings",
    metadata,
    Column("opening_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("source", String(16), nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("state", String(16), nullable=False),
    Column("closed_on", Date),
    Column("version", Integer, nullable=False),
)

# One row per invoice, following the Invoice aggregate (a version 1 EmployerInvoiced, written by the
# Employment aggregate, is the invoice's only event and counts as its version 1).
invoices = Table(
    "report_invoices",
    metadata,
    Column("invoice_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("employer_id", String(36), nullable=False),
    Column("hundredths_of_hours", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),  # net, as invoiced
    Column("issued_on", Date, nullable=False),
    Column("total_cents", BigInteger, nullable=False, server_default="0"),  # with VAT: what the employer pays
    Column("due_on", Date),
    Column("credited_cents", BigInteger, nullable=False, server_default="0"),  # net of the credit note
    Column("credited_total_cents", BigInteger, nullable=False, server_default="0"),
    Column("paid_cents", BigInteger, nullable=False, server_default="0"),  # PaymentReceived.paid_total: cumulative
    Column("paid_net_cents", BigInteger, nullable=False, server_default="0"),  # paid up to payable, less its VAT
    Column("open_cents", BigInteger, nullable=False, server_default="0"),  # payable less paid, never below 0
    Column("overdue_on", Date),  # InvoiceOverdue's noted_on
    Column("reminders", Integer, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False),
)

payroll_runs = Table(
    "report_payroll_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("pay_period", String(16), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("corrects_run_id", String(36)),  # a correcting run's totals are differences: they add up
    Column("employments", Integer, nullable=False),
    Column("gross_wages_cents", BigInteger, nullable=False),
    Column("holiday_compensation_cents", BigInteger, nullable=False),
    Column("expense_allowances_cents", BigInteger, nullable=False),
    Column("employer_contributions_cents", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
)

subsidy_claims = Table(
    "report_subsidy_claims",
    metadata,
    Column("claim_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("kind", String(32), nullable=False),  # pay_subsidy | municipal_supplement
    Column("employment_id", String(36), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
)

# Exits are a fraction of the clients: a partial index finds an area's exits without reading every client
# row, and costs a rebuild nothing for the clients who have not left.
client_exits = Index("ix_report_clients_exits", clients.c.employment_area, clients.c.exited_on,
                     sqlite_where=clients.c.exited_on.is_not(None), postgresql_where=clients.c.exited_on.is_not(None))

pathways = Table(
    "report_pathways",
    metadata,
    Column("pathway_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("period", Integer, nullable=False),
    Column("goal", String(32), nullable=False),
    Column("last_step_kind", String(32)),  # of the step started last: what the client was doing at exit
    Column("steps_started", Integer, nullable=False),
    Column("closed_on", Date),
    Column("version", Integer, nullable=False),
)

# One row per enrolment period of a client, so a returning client's earlier exits stay counted. Its
# events may come in any order (the row is not the whole Client aggregate): each column is set once,
# by its own event (a period is referred, enrolled and exited once).
client_periods = Table(
    "report_client_periods",
    metadata,
    Column("period_key", String(48), primary_key=True),  # client id:period
    Column("employment_area", String(40), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("period", Integer, nullable=False),
    Column("programme", String(32)),  # null until the period's ClientReferred has come
    Column("referred_on", Date),
    Column("enrolled_on", Date),
    Column("exited_on", Date),
    Column("exit_status", String(32)),
    Column("version", Integer, nullable=False),  # the highest version of the client's events it took
)
period_exits = Index("ix_report_client_periods_exits", client_periods.c.employment_area, client_periods.c.exited_on,
                     sqlite_where=client_periods.c.exited_on.is_not(None),
                     postgresql_where=client_periods.c.exited_on.is_not(None))

# A client's first placement against their latest enrolment, from two aggregates (Client, Placement):
# each column is kept by a rule that does not depend on order (the latest period's enrolment day,
# the earliest placement start).
first_placements = Table(
    "report_first_placements",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("period", Integer),
    Column("enrolled_on", Date),
    Column("first_placement_on", Date),
    Column("version", Integer, nullable=False),
)

# Tallies: counts of projection rows per area, day and the categories a report groups by, kept as the
# rows change (projections.Tally), so a report reads a few rows per day instead of every client.
# Every column but the counts is the key, and none is null (a null key would never match an upsert).
client_tally = Table(
    "report_client_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("referred_on", Date, primary_key=True),
    Column("municipality", String(100), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("clients", BigInteger, nullable=False),
    Column("enrolled", BigInteger, nullable=False),
)

placement_tally = Table(
    "report_placement_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("starts_on", Date, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("ending", String(32), primary_key=True),  # "ongoing" until it ends
    Column("placements", BigInteger, nullable=False),
    Column("gig_jobs", BigInteger, nullable=False),
    Column("gig_hundredths_of_hours", BigInteger, nullable=False),
)

hire_tally = Table(
    "report_hire_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("ended_on", Date, primary_key=True),
    Column("employer_type", String(16), primary_key=True),
    Column("hired", BigInteger, nullable=False),
)

opening_tally = Table(
    "report_opening_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("registered_on", Date, primary_key=True),
    Column("source", String(16), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("openings", BigInteger, nullable=False),
)

first_placement_tally = Table(
    "report_first_placement_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("enrolled_on", Date, primary_key=True),
    Column("days", Integer, primary_key=True),
    Column("clients", BigInteger, nullable=False),
)

# Enrolment periods begun and ended per day: the number of clients in service at any month's end follows.
enrolment_tally = Table(
    "report_enrolment_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("enrolled_on", Date, primary_key=True),
    Column("periods", BigInteger, nullable=False),
)

leaving_tally = Table(
    "report_leaving_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("exited_on", Date, primary_key=True),
    Column("periods", BigInteger, nullable=False),  # enrolled periods that ended that day
)

# Invoices per day of issue, with what became of them: billing and the return read these.
invoice_tally = Table(
    "report_invoice_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("issued_on", Date, primary_key=True),
    Column("invoices", BigInteger, nullable=False),
    Column("hundredths_of_hours", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("credited_total_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("paid_net_cents", BigInteger, nullable=False),
    Column("open_cents", BigInteger, nullable=False),
    Column("overdue_cents", BigInteger, nullable=False),  # open, of the invoices noted overdue
    Column("reminders", BigInteger, nullable=False),
)

# ESF participants per area, day of enrolment and programme, in every indicator that applies to them (and
# "participants"), with the genders as counts beside the total (a gender in the key made four times the rows
# to write): the ESF report and the plans read these, not every client's row.
esf_tally = Table(
    "report_esf_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("enrolled_on", Date, primary_key=True),
    Column("programme", String(32), primary_key=True),
    Column("indicator", String(16), primary_key=True),
    Column("participants", BigInteger, nullable=False),
    Column("female", BigInteger, nullable=False),
    Column("male", BigInteger, nullable=False),
    Column("non_binary", BigInteger, nullable=False),  # the rest of the participants: gender unknown
)

# The companies a plan counts (distinct employers of company placements started in its window), read from
# the index alone.
placement_employers = Index("ix_report_placements_employers", placements.c.employment_area,
                            placements.c.employer_type, placements.c.starts_on, placements.c.employer_id)

# What the municipal share counts of a client, from two aggregates (Client, Placement), each column by a
# rule that does not depend on order: the latest period's referral day, and its entry facts and exit by
# the client's version (the latest correction wins); every placement as "id kind first-day last-day;".
share_inputs = Table(
    "report_share_inputs",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("period", Integer),  # of the latest ClientReferred
    Column("referred_on", Date),
    Column("facts_period", Integer),
    Column("facts_version", Integer),
    Column("subsidy_days_at_entry", Integer),
    Column("exit_period", Integer),
    Column("exit_version", Integer),
    Column("exited_on", Date),
    Column("exit_status", String(32)),
    Column("placements", Text, nullable=False),
    Column("version", Integer, nullable=False),
)

# The municipal share's cells (services/reporting/rules/share_cells.py says what each record is): per
# area a few thousand rows, from which a report sweeps the months up to any day. `rules`: a fingerprint of
# the rule file the cells follow (a report ignores cells made by other rules and says so).
share_tally = Table(
    "report_share_tally",
    metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("rules", Integer, primary_key=True),
    Column("record", String(8), primary_key=True),
    Column("side", String(4), primary_key=True),
    Column("day", Integer, primary_key=True),  # an ordinal (date.toordinal)
    Column("bucket", Integer, primary_key=True),
    Column("in_work", Integer, primary_key=True),  # bits: the period's benefit days in paid work
    Column("cut", Integer, primary_key=True),  # the ordinal of an exit day that cuts the period, or 0
    # The clients' cells in the group, never below 0 (a group that has none is deleted; a run's stop has a
    # negative `clients`, which deleted on every batch would cost a scan of the table each time).
    Column("cells", BigInteger, nullable=False),
    Column("clients", BigInteger, nullable=False),  # a run's start (+) or stop (-): the sum is what counts
    Column("paid_cents", BigInteger, nullable=False),
    Column("idle_cents", BigInteger, nullable=False),
    Column("days_not_paid", BigInteger, nullable=False),
    sqlite_with_rowid=False,  # rows in the key's tree: an upsert is one B-tree step, not two
)

# The return's client-months of paid work and of enrolment, read from these alone: an area's rows, not the
# table (35 and 25 ms for an area of the 1M bench without them, 4 and 6 ms with).
placement_days = Index("ix_report_placements_days", placements.c.employment_area, placements.c.kind,
                       placements.c.starts_on, placements.c.ended_on)
client_enrolment_days = Index("ix_report_clients_enrolment_days", clients.c.employment_area, clients.c.enrolled_on,
                              clients.c.exited_on)

def empty_groups(tally: Table) -> Index:
    """A tally's groups whose row count is 0, which the projection deletes at the end of a batch
    (projections.Tally.delete_empty): only those are in the index, for as long as they exist. Made for a
    rebuild's twin of a tally too (swap.new_tables), under the twin's name."""
    rows = next(column for column in tally.columns if not column.primary_key)
    return Index(f"ix_{tally.name}_empty", rows, sqlite_where=rows == 0, postgresql_where=rows == 0)


TALLY_TABLES = (client_tally, placement_tally, hire_tally, opening_tally, first_placement_tally, enrolment_tally,
                leaving_tally, invoice_tally, esf_tally, share_tally)
EMPTY_GROUPS = tuple(empty_groups(tally) for tally in TALLY_TABLES)

# Every table of this module: a rebuild replaces them all (swap.py), tallies included: their twins start
# empty, and a tally counts differences from what its projection table stores, which is empty too.
PROJECTION_TABLES = tuple(metadata.tables.values())
