"""Projection tables. Disposable: `polku rebuild` empties them and replays the stream.

Money and hours are integer cents and hundredths: exact on SQLite, which has no decimal type.
"""
from sqlalchemy import BigInteger, Column, Date, Integer, MetaData, String, Table

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
    Column("version", Integer, nullable=False),
)

placements = Table(
    "report_placements",
    metadata,
    Column("placement_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("employer_type", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("planned_end_on", Date),
    Column("ended_on", Date),
    Column("ending", String(32)),
    Column("version", Integer, nullable=False),
)

invoices = Table(
    "report_invoices",
    metadata,
    Column("invoice_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("employer_id", String(36), nullable=False),
    Column("hundredths_of_hours", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("version", Integer, nullable=False),
)

PROJECTION_TABLES = (clients, placements, invoices)
