"""`make bench`, payroll-billing: a payroll run over 10,000 employments and the Finvoice documents of
10,000 invoices.

The run goes through what `POST /payroll-runs` does after its HTTP parsing: the employments' facts
and approved days read from payroll's own tables (SQLite, filled here beforehand: 20 days each), a
line per employment, the run's event through the unit of work, and the lines saved, in one
transaction. The invoices are issued by the Invoice aggregate's `issue` (three lines each) and
written as Finvoice 3.0; a sample of them is validated against the schema, timed on its own.
"""
import asyncio
import random
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import xmlschema
from sqlalchemy import insert

from contracts.events.payroll_billing import PayrollRunClosed
from services.payroll_billing import ledger
from services.payroll_billing.domain.invoice import BillableDay, InvoiceEmployer, issue
from services.payroll_billing.domain.payroll_run import PAYROLL_RUN, StartPayrollRun, close, payroll_line
from services.payroll_billing.finvoice import SCHEMA, Buyer, Seller, finvoice
from services.payroll_billing.service import SERVICE
from services.payroll_billing.tables import payroll_register, wage_rates, worked_days
from services.platform.database import create_engine, migrate
from services.platform.event_store import Cause
from services.platform.unit_of_work import UnitOfWork

MONTH = StartPayrollRun(pay_period="month", period_start=date(2026, 9, 1), period_end=date(2026, 9, 30))
DAYS = [day for day in (MONTH.period_start + timedelta(days=n) for n in range(30)) if day.weekday() < 5][:20]
VALIDATED_SAMPLE = 200


async def _fill(engine, employments: int, rng: random.Random) -> None:
    async with engine.begin() as connection:
        for start in range(0, employments, 1000):
            ids = [str(uuid4()) for _ in range(min(1000, employments - start))]
            register = [{"employment_id": employment_id, "client_id": str(uuid4()), "area": "kemi",
                         "pays_wage": number % 10 != 0, "starts_on": date(2025, rng.randrange(1, 13), 1),
                         "pay_period": "month"} for number, employment_id in enumerate(ids, start=start)]
            await connection.execute(insert(payroll_register), register)
            await connection.execute(insert(wage_rates), [
                {"employment_id": row["employment_id"], "client_id": row["client_id"], "valid_from": row["starts_on"],
                 "hourly_wage": Decimal(rng.randrange(1150, 1600)) / 100} for row in register if row["pays_wage"]])
            await connection.execute(insert(worked_days), [
                {"employment_id": employment_id, "area": "kemi", "works_on": day, "task_id": None,
                 "employer_id": str(uuid4()), "hours": Decimal(rng.choice(("4", "6", "7.5", "8"))),
                 "hourly_billing_rate": Decimal("24.50")}
                for employment_id in ids for day in DAYS])


async def _run(engine) -> PayrollRunClosed:
    async with UnitOfWork(engine, "payroll_billing", Cause.new()) as uow:
        facts = await ledger.payroll_facts(uow.connection, "kemi", MONTH.pay_period, MONTH.period_start,
                                           MONTH.period_end)
        lines = [payroll_line(fact, days, MONTH.period_end) for fact, days in facts]
        run_id = uuid4()
        new_events, lines = close(run_id, MONTH, lines, None)
        await uow.create(PAYROLL_RUN, str(run_id), lambda _state: new_events, area="kemi")
        await ledger.save_lines(uow.connection, run_id, lines)
    return new_events[0]


async def payroll_run(work: Path, employments: int) -> dict:
    engine = create_engine(f"sqlite+aiosqlite:///{work / 'payroll.db'}")
    await migrate(engine, SERVICE.migrations)
    await _fill(engine, employments, random.Random(9))
    started = time.perf_counter()
    closed = await _run(engine)
    seconds = time.perf_counter() - started
    await engine.dispose()
    assert closed.employments == employments
    return {"employments": employments, "approved_days": employments * len(DAYS), "seconds": round(seconds, 2),
            "employments_per_s": round(employments / seconds), "gross_wages": str(closed.gross_wages)}


def finvoices(invoices: int) -> dict:
    rng, seller, buyer = random.Random(11), Seller(), Buyer("0210427-6", "Kemin kaupunki")
    employer = uuid4()
    command = InvoiceEmployer(employer_id=employer, period_start=date(2026, 9, 1), period_end=date(2026, 9, 30),
                              issued_on=date(2026, 10, 1))
    started = time.perf_counter()
    documents = []
    for _ in range(invoices):
        days = [BillableDay(uuid4(), uuid4(), date(2026, 9, rng.randrange(1, 29)), Decimal(rng.choice(("4", "7.5"))),
                            Decimal(rng.choice(("22.50", "24.50", "31.00")))) for _ in range(3)]
        [invoice] = issue(uuid4(), command, False, days, date(2026, 10, 1))
        documents.append(finvoice(invoice, seller, buyer))
    generated = time.perf_counter() - started
    schema = xmlschema.XMLSchema(str(SCHEMA))
    started = time.perf_counter()
    invalid = sum(1 for document in documents[:VALIDATED_SAMPLE] if not schema.is_valid(document.decode()))
    validated = time.perf_counter() - started
    return {"invoices": invoices, "seconds": round(generated, 2), "invoices_per_s": round(invoices / generated),
            "mean_bytes": round(sum(map(len, documents)) / invoices),
            "validated_sample": VALIDATED_SAMPLE, "invalid_in_sample": invalid,
            "validated_per_s": round(VALIDATED_SAMPLE / validated)}


def figures(work: Path, employments: int = 10_000, invoices: int = 10_000) -> dict:
    return {"payroll_run": asyncio.run(payroll_run(work, employments)), "finvoice": finvoices(invoices)}
