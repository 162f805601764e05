"""The bench's events: client flows of the event types reporting projects, so a rebuild does real work
and every report has figures to compute (report_latency.py).

One flow is a referred client (ClientReferred with the entry facts, subsidy days among them, then
EligibilityAssessed, ClientEnrolled when eligible; for some enrolled clients ClientExited and later the
six-month follow-up), for most enrolled clients a placement (PlacementStarted, with GigJobPooled for a
gig job; some end, some hired by the employer) and the employment's invoices (EmployerInvoiced, most
paid), and for some an opening found (OpeningRegistered, hidden or advertised, later OpeningFilled).
About one flow in 200 closes a payroll run and claims a pay subsidy in its area.
Every aggregate is new, so each change is an append at expected version 0.
"""
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from contracts.envelope import EventEnvelope, dataschema_for
from contracts.events.base import Event
from contracts.events.employer import (GigJobPooled, OpeningFilled, OpeningRegistered, PlacementEnded, PlacementStarted,
                                      PooledTask)
from contracts.events.intake import (ClientEnrolled, ClientExited, ClientReferred, EligibilityAssessed, EntryFacts,
                                     EntryFactsRecorded, SixMonthFollowUpRecorded)
from contracts.events.payroll_billing import EmployerInvoiced, PaymentReceived, PayrollRunClosed, PaySubsidyClaimed
from services.employer.domain.openings import OPENING
from services.employer.domain.placements import PLACEMENT
from services.intake.domain.client import CLIENT
from services.payroll_billing.domain.invoice import INVOICE
from services.payroll_billing.domain.money import cents, finnish_reference, reference_base, rf_reference
from services.payroll_billing.domain.payroll_run import PAYROLL_RUN
from services.payroll_billing.domain.subsidy_claim import SUBSIDY_CLAIM
from services.platform.event_store import AggregateKind, Cause

AREAS = ("kemi", "tornio", "helsinki", "espoo", "oulu")
MUNICIPALITIES = {"kemi": "Kemi", "tornio": "Tornio", "helsinki": "Helsinki", "espoo": "Espoo", "oulu": "Oulu"}
FIRST_DAY = date(2026, 1, 5)


@dataclass(frozen=True)
class Change:
    """New events of one new aggregate, as EventStore.envelopes would make them for one write."""

    service: str
    kind: AggregateKind
    aggregate_id: str
    events: list[Event]
    area: str
    cause: Cause


@dataclass(frozen=True)
class Message:
    """One envelope as it goes on the bus: what the relay reads from the outbox."""

    subject: str
    event_id: str
    event_type: str
    body: bytes


def changes(event_count: int, seed: int) -> Iterator[Change]:
    """Client flows until at least `event_count` events; the caller stops at exactly the count it wants."""
    rng = random.Random(seed)
    produced = 0
    while produced < event_count:
        for change in _client_flow(rng):
            produced += len(change.events)
            yield change


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _client_flow(rng: random.Random) -> list[Change]:
    area = rng.choice(AREAS)
    cause = Cause(correlation_id=_uuid(rng))
    client_id, day = _uuid(rng), FIRST_DAY + timedelta(days=rng.randrange(300))
    eligible = rng.random() < 0.75
    client_events: list[Event] = [
        ClientReferred(client_id=client_id, referral_id=_uuid(rng), period=1, programme="kemi_model",
                       referred_by=rng.choice(("te_office", "city", "self")),
                       employment_area=area, municipality=MUNICIPALITIES[area],
                       age_band=rng.choice(("18_24", "25_29", "30_54", "55_plus")),
                       gender=rng.choice(("female", "male", "non_binary", "unknown")), referred_on=day),
        EligibilityAssessed(client_id=client_id, eligible=eligible, programme="kemi_model",
                            rule_set_version="kemi_model/2015-01-01", failed_criteria=(),
                            criterion="labour_market_subsidy_days" if eligible else None,
                            rule_source="bench" if eligible else None,
                            target_groups=("long_term_unemployed", "structurally_unemployed") if eligible else ()),
    ]
    client_events.insert(1, EntryFactsRecorded(client_id=client_id, period=1, facts=_entry_facts(rng)))
    if eligible:
        client_events.append(ClientEnrolled(client_id=client_id, period=1, case_worker_id=f"cw-{rng.randrange(40)}",
                                            enrolled_on=day))
        if rng.random() < 0.4:
            client_events += _exit(rng, client_id, day + timedelta(days=rng.randrange(30, 330)))
    flow = [Change("intake", CLIENT, str(client_id), client_events, area, cause)]
    if eligible and rng.random() < 0.7:
        flow += _placement_and_invoices(rng, area, cause, client_id, day)
    if rng.random() < 0.15:
        flow.append(_opening(rng, area, cause, day))
    if rng.random() < 0.005:
        flow += _payroll(rng, area, cause, day)
    return flow


def _entry_facts(rng: random.Random) -> EntryFacts:
    return EntryFacts(labour_market_subsidy_days=rng.choice((0, rng.randrange(1, 1500))),
                      unemployed_months=rng.randrange(60), in_multisectoral_service=rng.random() < 0.3,
                      in_employment_promoting_service=rng.random() < 0.5, priority_groups=(),
                      labour_market_status=rng.choice(("unemployed", "long_term_unemployed", "inactive")),
                      education_level=rng.choice(("isced_1", "isced_2", "isced_3", "isced_5", "not_asked")),
                      disability=rng.choice(("yes", "no", "not_asked")), migrant_or_minority=rng.choice(("yes", "no")),
                      other_disadvantage=rng.choice(("yes", "no", "declined_to_say")))


def _exit(rng: random.Random, client_id: UUID, exited_on: date) -> list[Event]:
    status = rng.choice(("employed_company", "employed_association", "employed_city_unit", "self_employed",
                         "in_education_or_training", "unemployed", "other"))
    events: list[Event] = [ClientExited(client_id=client_id, period=1, exited_on=exited_on, status_at_exit=status,
                                        status_on=exited_on + timedelta(days=14),
                                        qualification_gained=rng.random() < 0.2)]
    if rng.random() < 0.5:
        events.append(SixMonthFollowUpRecorded(client_id=client_id, period=1, exited_on=exited_on,
                                               status=rng.choice(("employed_company", "unemployed", "other")),
                                               status_on=exited_on + timedelta(days=182)))
    return events


def _payroll(rng: random.Random, area: str, cause: Cause, day: date) -> list[Change]:
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    run_id, claim_id = _uuid(rng), _uuid(rng)
    wages = Decimal(rng.randrange(100_000, 900_000))
    run = PayrollRunClosed(run_id=run_id, pay_period="month", period_start=first, period_end=last, corrects_run_id=None,
                           employments=rng.randrange(10, 200), gross_wages=wages,
                           holiday_compensation=cents(wages * Decimal("0.1")), expense_allowances=Decimal(500),
                           employer_contributions=cents(wages * Decimal("0.2")), rules=("bench",))
    claim = PaySubsidyClaimed(claim_id=claim_id, employment_id=_uuid(rng), period_start=first, period_end=last,
                              amount=cents(wages * Decimal("0.3")), rules=("bench",), decision_reference="PT-bench")
    return [Change("payroll_billing", PAYROLL_RUN, str(run_id), [run], area, cause),
            Change("payroll_billing", SUBSIDY_CLAIM, str(claim_id), [claim], area, cause)]


def _opening(rng: random.Random, area: str, cause: Cause, day: date) -> Change:
    opening_id = _uuid(rng)
    events: list[Event] = [OpeningRegistered(
        opening_id=opening_id, employer_id=_uuid(rng), title="Helper", occupation="9112",
        hours_per_week=Decimal(rng.choice((20, 30, 37))), starts_on=day + timedelta(days=14), duration_months=None,
        requirement_tags=(), source=rng.choice(("hidden", "advertised")), registered_on=day)]
    if rng.random() < 0.5:
        events.append(OpeningFilled(opening_id=opening_id, placement_id=_uuid(rng), filled_on=day + timedelta(days=10)))
    return Change("employer", OPENING, str(opening_id), events, area, cause)


def _placement_and_invoices(rng: random.Random, area: str, cause: Cause, client_id: UUID, day: date) -> list[Change]:
    placement_id, employer_id = _uuid(rng), _uuid(rng)
    rate = Decimal(rng.randrange(1800, 3500)) / 100
    placement = PlacementStarted(placement_id=placement_id, client_id=client_id, employer_id=employer_id,
                                 employer_type=rng.choice(("company", "association", "foundation", "city_unit")),
                                 kind=rng.choice(("pay_subsidised_work", "work_trial", "gig_work")),
                                 starts_on=day, hourly_billing_rate=rate)
    placement_events: list[Event] = [placement]
    if placement.kind == "gig_work":
        placement_events.append(GigJobPooled(placement_id=placement_id, client_id=client_id, tasks=tuple(
            PooledTask(task_id=_uuid(rng), employer_id=_uuid(rng), works_on=day, starts_at=time(8 + task * 4),
                       ends_at=time(12 + task * 4), hours=Decimal(4), hourly_billing_rate=rate)
            for task in range(rng.randint(1, 2)))))
    if rng.random() < 0.5:
        placement_events.append(PlacementEnded(
            placement_id=placement_id, client_id=client_id, employer_id=employer_id,
            employer_type=placement.employer_type, kind=placement.kind,
            ended_on=day + timedelta(days=rng.randrange(30, 200)),
            ending=rng.choice(("completed", "hired_by_employer", "interrupted_by_client", "other"))))
    invoices: list[list[Event]] = []
    for month in range(rng.randint(1, 3)):
        invoice_id, hours = _uuid(rng), Decimal(rng.randrange(400, 16000)) / 100
        issued_on = day + timedelta(days=30 * (month + 1))
        amount = cents(hours * rate)
        vat = cents(amount * Decimal("0.255"))
        reference = finnish_reference(reference_base(invoice_id))
        invoice: list[Event] = [EmployerInvoiced(
            invoice_id=invoice_id, employer_id=employer_id, period_start=issued_on - timedelta(days=30),
            period_end=issued_on - timedelta(days=1), hours=hours, amount=amount, vat_amount=vat, total=amount + vat,
            vat_rules=("vat_25_5",), reference=reference, rf_reference=rf_reference(reference), issued_on=issued_on,
            due_on=issued_on + timedelta(days=14), lines=())]
        if rng.random() < 0.6:
            invoice.append(PaymentReceived(invoice_id=invoice_id, payment_id=_uuid(rng), bank_reference=reference,
                                           amount=amount + vat, booked_on=issued_on + timedelta(days=10),
                                           paid_total=amount + vat, status="paid"))
        invoices.append(invoice)
    return [Change("employer", PLACEMENT, str(placement_id), placement_events, area, cause),
            *(Change("payroll_billing", INVOICE, str(invoice[0].invoice_id), invoice, area, cause)
              for invoice in invoices)]


def messages(change: Change, rng: random.Random) -> list[Message]:
    """The envelopes EventStore.envelopes would make for `change`, built without a database.

    For filling a large stream quickly; the fields mirror EventStore.envelopes.
    """
    now = datetime.now(UTC)
    out = []
    for version, event in enumerate(change.events, start=1):
        event_type = type(event).__name__
        envelope = EventEnvelope(
            id=_uuid(rng), source=f"/polku/{change.service}", type=event_type, time=now, subject=change.aggregate_id,
            dataschema=dataschema_for(event_type, event.schema_version), aggregatetype=change.kind.name,
            aggregateid=change.aggregate_id, aggregateversion=version, employmentarea=change.area,
            correlationid=change.cause.correlation_id, causationid=change.cause.causation_id,
            data=event.model_dump(mode="json"),
        )
        out.append(Message(envelope.nats_subject, str(envelope.id), event_type, envelope.model_dump_json().encode()))
    return out
