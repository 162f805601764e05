"""Payroll-billing's own tables besides the event log.

Personal data (a person's wages, payroll lines, pay subsidy decisions) lives only here: never in an
event, readable through the payroll clerk's endpoints only, and deleted when intake erases the
person (ClientDataErased). The other tables are read models written in the same transaction as
the events they follow, for the queries an aggregate cannot answer (all unbilled hours of an
employer, a payment's reference).
"""
from decimal import Decimal

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class DecimalText(TypeDecorator):
    """Exact decimals on SQLite too (which has no decimal type): stored as text."""

    impl = String(24)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else str(value)

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


# Personal: who is paid what, from when.
payroll_register = Table(
    "payroll_register", metadata,
    Column("employment_id", String(36), primary_key=True),
    Column("client_id", String(36), nullable=False, index=True),
    Column("area", String(40), nullable=False),
    Column("pays_wage", Boolean, nullable=False),
    Column("starts_on", Date),
    Column("pay_period", String(12), nullable=False),
)

wage_rates = Table(
    "wage_rates", metadata,
    Column("employment_id", String(36), primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("client_id", String(36), nullable=False, index=True),
    Column("hourly_wage", DecimalText, nullable=False),
)

payroll_lines = Table(
    "payroll_lines", metadata,
    Column("run_id", String(36), primary_key=True),
    Column("employment_id", String(36), primary_key=True),
    Column("client_id", String(36), nullable=False, index=True),
    Column("hours", DecimalText, nullable=False),
    Column("attendance_days", Integer, nullable=False),
    Column("gross_wage", DecimalText, nullable=False),
    Column("holiday_compensation", DecimalText, nullable=False),
    Column("expense_allowance", DecimalText, nullable=False),
    Column("pension", DecimalText, nullable=False),
    Column("unemployment_insurance", DecimalText, nullable=False),
    Column("accident_insurance", DecimalText, nullable=False),
    Column("health_insurance", DecimalText, nullable=False),
    Column("rules", Text, nullable=False),
)

# What intake's eligibility decision said of a client (anonymous facts, as on the bus), for Kemi-lisä.
client_facts = Table(
    "client_facts", metadata,
    Column("client_id", String(36), primary_key=True),
    Column("target_groups", String(255), nullable=False),
    Column("criterion", String(80)),
)

pay_subsidy_decisions = Table(
    "pay_subsidy_decisions", metadata,
    Column("employment_id", String(36), primary_key=True),
    Column("client_id", String(36), nullable=False, index=True),
    Column("reference", String(60), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("monthly_cap", DecimalText, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("decided_on", Date, nullable=False),
)

# Read models (no personal data).
worked_days = Table(
    "worked_days", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employment_id", String(36), nullable=False),
    Column("area", String(40), nullable=False),
    Column("works_on", Date, nullable=False),
    Column("task_id", String(36)),
    Column("employer_id", String(36), nullable=False),
    Column("hours", DecimalText, nullable=False),
    Column("hourly_billing_rate", DecimalText, nullable=False),
    Column("invoice_id", String(36)),
    Index("ix_worked_days_billing", "area", "employer_id", "invoice_id"),
    Index("ix_worked_days_payroll", "area", "works_on"),
)

customers = Table(
    "customers", metadata,
    Column("employer_id", String(36), primary_key=True),
    Column("area", String(40), nullable=False),
    Column("business_id", String(9), nullable=False),
    Column("name", String(200), nullable=False),
    Column("vat_exempt", Boolean, nullable=False, default=False),
)

receivables = Table(
    "receivables", metadata,
    Column("invoice_id", String(36), primary_key=True),
    Column("reference", String(20), nullable=False, unique=True),
    Column("area", String(40), nullable=False),
    Column("employer_id", String(36), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("payable", DecimalText, nullable=False),
    Column("paid", DecimalText, nullable=False),
)

payments = Table(
    "payments", metadata,
    Column("bank_reference", String(70), primary_key=True),
    Column("area", String(40), nullable=False),
    Column("amount", DecimalText, nullable=False),
    Column("booked_on", Date, nullable=False),
    Column("reference", String(40)),
    Column("invoice_id", String(36)),
)

payroll_runs = Table(
    "payroll_runs", metadata,
    Column("run_id", String(36), primary_key=True),
    Column("area", String(40), nullable=False),
    Column("pay_period", String(12), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("corrects_run_id", String(36)),
)

# Placements that opened nothing here (a company's job, an apprenticeship): their extensions carry no
# kind, and without this row would wait for an employment that never comes.
placements_not_here = Table(
    "placements_not_here", metadata,
    Column("placement_id", String(36), primary_key=True),
)
