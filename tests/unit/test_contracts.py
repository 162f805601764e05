"""contracts/: the generated documents match the models and describe real events; value types,
subjects and upcasting behave as the services rely on."""
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from types import SimpleNamespace
from uuid import UUID, uuid4

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from contracts.envelope import ALL_EVENTS, EventEnvelope, dataschema_for, event_subject
from contracts.events.base import Event
from contracts.events.employer import (CandidateProposed, EmployerDetailsCorrected, EmployerRegistered, GigJobPooled,
                                       GigTaskOffered, GigTaskPooled, OpeningExpired, OpeningFilled, OpeningRegistered,
                                       OpeningWithdrawn, PartnershipAgreementEnded, PartnershipAgreementSigned,
                                       PlacementEnded, PlacementExtended, PlacementStarted, PooledTask,
                                       ProposalAccepted, ProposalDeclined, Schedule)
from contracts.events.intake import (CaseWorkerAssigned, ClientDataErased, ClientEnrolled, ClientExited,
                                     ClientReferred, ConsentRecorded, ConsentWithdrawn, EligibilityAssessed,
                                     EntryFacts, EntryFactsCorrected, EntryFactsRecorded, FailedCriterion,
                                     SixMonthFollowUpRecorded, SkillTagsRecorded)
from contracts.events.pathway import (PathwayClosed, PathwayGoalSet, PathwayPlanned, StepCancelled, StepCompleted,
                                      StepExtended, StepInterrupted, StepPlanned, StepStarted)
from contracts.events.payroll_billing import (AttendanceOpened, EmployerInvoiced, EmploymentEnded, EmploymentExtended,
                                              EmploymentOpened, GigTasksAssigned, InvoiceCredited, InvoiceLine,
                                              InvoiceOverdue, MunicipalSupplementClaimed, PaymentReceived,
                                              PayrollRunClosed, PaySubsidyClaimed, PaySubsidyGranted, ReminderSent,
                                              TimesheetApproved, VatStatusRecorded, WageTermsAgreed, WorkedDay)
from contracts.generate import GENERATED, documents, schema_path, stale
from contracts.upcasters import UPCASTERS
from contracts.registry import EVENT_TYPES, UnknownEventType, UnsupportedSchemaVersion, decode
from contracts.values import BilledHours, BusinessId, Hours, Money
from services.platform.config import Settings
from services.platform.consumer import UNDECODABLE, InboxConsumer, Subscription

CLIENT, PATHWAY, STEP, EMPLOYER, PLACEMENT, EMPLOYMENT, TIMESHEET, INVOICE = (UUID(int=n) for n in range(1, 9))
RUN = UUID(int=30)
KEMI = "0210427-6"  # the city of Kemi's Y-tunnus
AGREEMENT, OPENING, TASK, PROPOSAL = (UUID(int=n) for n in range(11, 15))
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

ENTRY_FACTS = EntryFacts(
    labour_market_subsidy_days=120, unemployed_months=7, in_multisectoral_service=False,
    in_employment_promoting_service=False, priority_groups=("under_30", "immigrant"), labour_market_status="unemployed",
    education_level="isced_3", disability="declined_to_say", migrant_or_minority="yes", other_disadvantage="not_asked")

POOLED_TASK = PooledTask(task_id=TASK, employer_id=EMPLOYER, works_on=date(2025, 2, 4), starts_at=time(8),
                         ends_at=time(12), hours=Decimal("4"), hourly_billing_rate=Decimal("24.00"))
EXAMPLES: dict[str, Event] = {type(event).__name__: event for event in (
    ClientReferred(client_id=CLIENT, referral_id=UUID(int=21), period=1, programme="typ_need_assessment",
                   referred_by="te_office", employment_area="kemi", municipality="Keminmaa", age_band="18_24",
                   gender="female", referred_on=date(2025, 1, 7)),
    EntryFactsRecorded(client_id=CLIENT, period=1, facts=ENTRY_FACTS),
    EntryFactsCorrected(client_id=CLIENT, period=1, facts=ENTRY_FACTS, corrected_on=date(2025, 1, 20)),
    EligibilityAssessed(client_id=CLIENT, eligible=True, programme="typ_need_assessment",
                        rule_set_version="typ_need_assessment/2015-01-01", criterion="under_25_unemployed_6_months",
                        rule_source="tem.fi", failed_criteria=(FailedCriterion(
                            criterion="labour_market_subsidy_300_days", source="tem.fi",
                            reason="labour_market_subsidy_days is 120, less than 300"),),
                        target_groups=("youth",)),
    ClientEnrolled(client_id=CLIENT, period=1, case_worker_id="cw-17", enrolled_on=date(2025, 1, 9)),
    CaseWorkerAssigned(client_id=CLIENT, case_worker_id="cw-18", previous_case_worker_id="cw-17",
                       assigned_on=date(2025, 2, 1)),
    SkillTagsRecorded(client_id=CLIENT, skill_tags=("forklift_licence", "cleaning")),
    ClientExited(client_id=CLIENT, period=1, exited_on=date(2025, 9, 30), status_at_exit="employed_company",
                 status_on=date(2025, 10, 14), qualification_gained=True),
    SixMonthFollowUpRecorded(client_id=CLIENT, period=1, exited_on=date(2025, 9, 30), status="employed_company",
                             status_on=date(2026, 3, 31)),
    ConsentRecorded(client_id=CLIENT, consent_id=UUID(int=9), partner="te_office", scope=("contact_details",),
                    valid_from=date(2025, 1, 9), valid_to=date(2025, 12, 31), recorded_on=date(2025, 1, 9)),
    ConsentWithdrawn(client_id=CLIENT, consent_id=UUID(int=9), withdrawn_on=date(2025, 2, 1)),
    ClientDataErased(client_id=CLIENT, reason="client_request", erased_on=date(2025, 6, 30)),
    PathwayPlanned(pathway_id=PATHWAY, client_id=CLIENT, period=1, kind="employment", planned_on=date(2025, 1, 9)),
    PathwayGoalSet(pathway_id=PATHWAY, client_id=CLIENT, goal="training", set_on=date(2025, 1, 10)),
    StepPlanned(pathway_id=PATHWAY, client_id=CLIENT, step_id=STEP, step_kind="coaching",
                planned_start_on=date(2025, 1, 13), planned_end_on=date(2025, 3, 31), days_per_week=3,
                hours_per_day=Decimal("6"), hours_per_week=Decimal("18"), full_time=False, provider="foundation"),
    StepStarted(pathway_id=PATHWAY, client_id=CLIENT, step_id=STEP, step_kind="gig_work", placement_id=PLACEMENT,
                started_on=date(2025, 2, 3), hours_per_week=Decimal("20"), full_time=False),
    StepExtended(pathway_id=PATHWAY, client_id=CLIENT, step_id=STEP, planned_end_on=date(2025, 12, 31)),
    StepCompleted(pathway_id=PATHWAY, client_id=CLIENT, step_id=STEP, completed_on=date(2025, 3, 31),
                  hired_by_host=False),
    StepInterrupted(pathway_id=PATHWAY, client_id=CLIENT, step_id=STEP, interrupted_on=date(2025, 3, 1),
                    reason="client_illness"),
    StepCancelled(pathway_id=PATHWAY, client_id=CLIENT, step_id=STEP, cancelled_on=date(2025, 3, 1),
                  reason="plan_changed"),
    PathwayClosed(pathway_id=PATHWAY, client_id=CLIENT, closed_on=date(2025, 9, 30), reason="client_exited"),
    EmployerRegistered(employer_id=EMPLOYER, business_id=KEMI, name="Kemin kaupunki", employer_type="city_unit",
                       employment_area="kemi"),
    EmployerDetailsCorrected(employer_id=EMPLOYER, name="Kemin kaupunki, tilapalvelut", employer_type="city_unit",
                             industry="84110", municipality="Kemi"),
    PartnershipAgreementSigned(employer_id=EMPLOYER, agreement_id=AGREEMENT, scope=("work_trial", "gig_work"),
                               valid_from=date(2025, 1, 1), valid_to=date(2026, 12, 31)),
    PartnershipAgreementEnded(employer_id=EMPLOYER, agreement_id=AGREEMENT, ended_on=date(2026, 6, 30),
                              reason="employer_request"),
    OpeningRegistered(opening_id=OPENING, employer_id=EMPLOYER, title="Kiinteistöhuollon työntekijä", occupation="9112",
                      hours_per_week=Decimal("30"), starts_on=date(2025, 3, 1), duration_months=6,
                      requirement_tags=("cleaning",), source="hidden", registered_on=date(2025, 2, 10)),
    OpeningFilled(opening_id=OPENING, placement_id=PLACEMENT, filled_on=date(2025, 3, 1)),
    OpeningWithdrawn(opening_id=OPENING, withdrawn_on=date(2025, 3, 1)),
    OpeningExpired(opening_id=OPENING, expired_on=date(2025, 4, 1)),
    GigTaskOffered(task_id=TASK, employer_id=EMPLOYER, works_on=date(2025, 2, 4), starts_at=time(8), ends_at=time(12),
                   municipality="Kemi", place="Sauvosaari", requirement_tags=(), hourly_billing_rate=Decimal("24.00")),
    GigTaskPooled(task_id=TASK, placement_id=PLACEMENT),
    PlacementStarted(placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER, employer_type="city_unit",
                     kind="gig_work", starts_on=date(2025, 2, 3), hourly_billing_rate=Decimal("12.5"),
                     planned_end_on=date(2025, 8, 3), schedule=Schedule(hours_per_week=Decimal("20"))),
    GigJobPooled(placement_id=PLACEMENT, client_id=CLIENT, tasks=(POOLED_TASK,)),
    PlacementExtended(placement_id=PLACEMENT, client_id=CLIENT, planned_end_on=date(2025, 12, 31)),
    PlacementEnded(placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER, employer_type="city_unit",
                   kind="gig_work", ended_on=date(2025, 12, 31), ending="hired_by_employer"),
    CandidateProposed(proposal_id=PROPOSAL, client_id=CLIENT, opening_id=OPENING, task_ids=(), score=72,
                      reasons=("meets 1 of 1 requirement tags: cleaning",), proposed_on=date(2025, 2, 11)),
    ProposalAccepted(proposal_id=PROPOSAL, client_id=CLIENT, decided_on=date(2025, 2, 12)),
    ProposalDeclined(proposal_id=PROPOSAL, client_id=CLIENT, decided_on=date(2025, 2, 12), reason="health"),
    EmploymentOpened(employment_id=EMPLOYMENT, placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER,
                     hourly_billing_rate=Decimal("12.50"), kind="gig_work", employer_type="foundation",
                     starts_on=date(2025, 2, 3), planned_end_on=None, days_per_week=None, hours_per_day=None),
    AttendanceOpened(employment_id=EMPLOYMENT, placement_id=PLACEMENT, client_id=CLIENT, employer_id=EMPLOYER,
                     kind="work_trial", starts_on=date(2025, 2, 3), days_per_week=4, hours_per_day=Decimal("6")),
    GigTasksAssigned(employment_id=EMPLOYMENT, tasks=(POOLED_TASK,)),
    WageTermsAgreed(employment_id=EMPLOYMENT, collective_agreement="Yleinen työehtosopimus (demo)",
                    hours_per_week=Decimal("20"), pay_period="month", valid_from=date(2025, 2, 3),
                    fixed_term_until=date(2025, 12, 31)),
    EmploymentExtended(employment_id=EMPLOYMENT, planned_end_on=date(2026, 3, 31)),
    EmploymentEnded(employment_id=EMPLOYMENT, ended_on=date(2025, 12, 31)),
    PaySubsidyGranted(employment_id=EMPLOYMENT, decision_reference="PT-2025-17", starts_on=date(2025, 2, 3),
                      ends_on=date(2025, 11, 30)),
    VatStatusRecorded(employer_id=EMPLOYER, vat_exempt=True, reason="a city unit's own activity (demo)"),
    TimesheetApproved(employment_id=EMPLOYMENT, timesheet_id=TIMESHEET, period_start=date(2025, 2, 3),
                      period_end=date(2025, 2, 28), hours=Decimal("7.5"),
                      days=(WorkedDay(works_on=date(2025, 2, 3), hours=Decimal("7.5"), employer_id=EMPLOYER,
                                      hourly_billing_rate=Decimal("12.50")),)),
    PayrollRunClosed(run_id=RUN, pay_period="month", period_start=date(2025, 2, 1), period_end=date(2025, 2, 28),
                     corrects_run_id=None, employments=2, gross_wages=Decimal("2400.00"),
                     holiday_compensation=Decimal("0.00"), expense_allowances=Decimal("54.00"),
                     employer_contributions=Decimal("480.00"), rules=("employer_contributions_2025",)),
    EmployerInvoiced(invoice_id=INVOICE, employer_id=EMPLOYER, period_start=date(2025, 2, 1),
                     period_end=date(2025, 2, 28), hours=Decimal("112.5"), amount=Decimal("1406.25"),
                     vat_amount=Decimal("358.59"), total=Decimal("1764.84"), vat_rules=("vat_25_5",),
                     reference="1232", rf_reference="RF111232", issued_on=date(2025, 3, 3), due_on=date(2025, 3, 17),
                     lines=(InvoiceLine(employment_id=EMPLOYMENT, task_id=None, period_start=date(2025, 2, 3),
                                        period_end=date(2025, 2, 28), hours=Decimal("112.5"),
                                        hourly_billing_rate=Decimal("12.50"), net=Decimal("1406.25"),
                                        vat_percent=Decimal("25.5"), vat=Decimal("358.59")),)),
    InvoiceCredited(invoice_id=INVOICE, credit_note_id=UUID(int=31), amount=Decimal("1406.25"),
                    vat_amount=Decimal("358.59"), total=Decimal("1764.84"), reason="wrong_hours",
                    issued_on=date(2025, 3, 5)),
    PaymentReceived(invoice_id=INVOICE, payment_id=UUID(int=32), bank_reference="20250310-0001",
                    amount=Decimal("1764.84"), booked_on=date(2025, 3, 10), paid_total=Decimal("1764.84"),
                    status="paid"),
    InvoiceOverdue(invoice_id=INVOICE, employer_id=EMPLOYER, due_on=date(2025, 3, 17), open_amount=Decimal("1764.84"),
                   noted_on=date(2025, 3, 18)),
    ReminderSent(invoice_id=INVOICE, reminder_id=UUID(int=33), sent_on=date(2025, 4, 1),
                 open_amount=Decimal("1764.84"), interest=Decimal("6.74"), fee=Decimal("5.00"),
                 rules=("reference_rate_2025_h1",)),
    PaySubsidyClaimed(claim_id=UUID(int=34), employment_id=EMPLOYMENT, period_start=date(2025, 2, 1),
                      period_end=date(2025, 2, 28), amount=Decimal("1260.00"), rules=("pay_subsidy_2023_50",),
                      decision_reference="PT-2025-17"),
    MunicipalSupplementClaimed(claim_id=UUID(int=35), employment_id=EMPLOYMENT, employer_id=EMPLOYER,
                               period_start=date(2025, 2, 1), period_end=date(2025, 2, 28), amount=Decimal("500.00"),
                               rules=("kemi_lisa",)),
)}


def envelope(event_type: str, data: dict[str, Any], schema_version: int = 1, service: str = "intake",
             aggregate_type: str = "Client") -> EventEnvelope:
    return EventEnvelope(
        id=uuid4(), source=f"/polku/{service}", type=event_type, time=datetime(2025, 1, 9, 8, 30, tzinfo=UTC),
        subject=str(CLIENT), dataschema=dataschema_for(event_type, schema_version), aggregatetype=aggregate_type,
        aggregateid=str(CLIENT), aggregateversion=1, employmentarea="kemi", correlationid=uuid4(), data=data,
    )


def envelope_of(event: Event) -> EventEnvelope:
    cls = type(event)
    return envelope(cls.__name__, event.model_dump(mode="json"), cls.schema_version, cls.service, cls.aggregate_type)


def validator(schema: dict[str, Any], registry: Registry | None = None) -> Draft202012Validator:
    kwargs = {"registry": registry} if registry else {}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER, **kwargs)


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return documents()


@pytest.fixture(scope="module")
def asyncapi(generated) -> dict[str, Any]:
    return yaml.safe_load(generated["asyncapi.yaml"])


# --- generated documents ----------------------------------------------------------------------

def test_committed_documents_are_fresh(generated):
    assert generated == documents(), "generation is not deterministic"
    outdated = stale()
    assert not outdated, f"stale in {GENERATED}: {outdated}; run `python -m contracts.generate`"


def test_every_event_type_has_an_example():
    assert EXAMPLES.keys() == EVENT_TYPES.keys()


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_event_schema_validates_a_real_event(generated, name):
    cls, event = EVENT_TYPES[name], EXAMPLES[name]
    schema = json.loads(generated[schema_path(cls)])
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == envelope_of(event).dataschema
    assert schema["title"] and schema["description"]
    data = event.model_dump(mode="json")
    validator(schema).validate(data)
    assert not validator(schema).is_valid(data | {"personal_identity_code": "131052-308T"}), "must refuse unknown fields"


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_envelope_schema_validates_a_real_envelope(generated, name):
    schema = json.loads(generated["schemas/EventEnvelope.json"])
    Draft202012Validator.check_schema(schema)
    validator(schema).validate(envelope_of(EXAMPLES[name]).model_dump(mode="json"))


def test_asyncapi_has_a_channel_and_receive_operation_per_event_type(asyncapi):
    assert asyncapi["asyncapi"] == "3.0.0"
    assert asyncapi["info"]["title"] == "Polku events"
    assert asyncapi["servers"]["nats"]["protocol"] == "nats"
    channels = asyncapi["channels"]
    assert channels.keys() - {"deadLetter"} == EVENT_TYPES.keys()
    for name, cls in EVENT_TYPES.items():
        assert channels[name]["address"] == f"polku.events.{{area}}.{cls.service}.{name}"
        assert "area" in channels[name]["parameters"]
    assert channels["deadLetter"]["address"] == "polku.deadletter.{consumer}"
    operations = asyncapi["operations"].values()
    assert sorted(op["channel"]["$ref"] for op in operations) == sorted(f"#/channels/{key}" for key in channels)
    assert {op["action"] for op in operations} == {"receive"}


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_asyncapi_message_describes_a_real_message(asyncapi, name):
    """Resolving the $refs through the whole document also proves that each one points somewhere."""
    base = "https://polku.invalid/asyncapi.yaml"
    registry = Registry().with_resource(base, DRAFT202012.create_resource(asyncapi))
    sent = envelope_of(EXAMPLES[name])
    message = f"{base}#/components/messages/{name}"
    validator({"$ref": f"{message}/payload"}, registry).validate(sent.model_dump(mode="json"))
    headers = {"Nats-Msg-Id": str(sent.id), "ce-type": name, "traceparent": TRACEPARENT}
    validator({"$ref": f"{message}/headers"}, registry).validate(headers)
    other = next(other for other in EVENT_TYPES if other != name)
    assert not validator({"$ref": f"{message}/headers"}, registry).is_valid(headers | {"ce-type": other})


# --- value types --------------------------------------------------------------------------------

@pytest.mark.parametrize("given", [KEMI, "02104276", " 0210427-6 ", "0210427 6", "FI02104276", "fi02104276"])
def test_business_id_is_normalised_to_the_hyphenated_form(given):
    assert TypeAdapter(BusinessId).validate_python(given) == "0210427-6"


@pytest.mark.parametrize("given", ["2077474-0", "20774740"])
def test_business_id_normalises_another_valid_id(given):
    """stdnum's own example, so the normalisation is not just Kemi's number echoed back."""
    assert TypeAdapter(BusinessId).validate_python(given) == "2077474-0"


@pytest.mark.parametrize(("given", "rule"), [
    ("0210427-5", "check digit does not match"),
    ("2077474-1", "check digit does not match"),
    ("210427-6", "wrong length"),
    ("02104276-1", "wrong length"),
    ("", "wrong format"),
    ("0210A27-6", "wrong format"),
    ("0210427/6", "wrong format"),
])
def test_business_id_error_names_the_rule_that_failed(given, rule):
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(BusinessId).validate_python(given)
    [error] = caught.value.errors()
    assert error["type"] == "value_error"
    assert error["msg"].startswith(f"Value error, not a valid Finnish business ID (Y-tunnus): {rule}")


def test_business_id_rules_other_than_the_check_digit_name_the_format():
    with pytest.raises(ValidationError, match=r"must be 7 digits, a hyphen and a check digit, e\.g\. 0210427-6"):
        TypeAdapter(BusinessId).validate_python("123")


def test_business_id_is_normalised_inside_an_event_and_in_its_json():
    registered = EmployerRegistered(employer_id=EMPLOYER, business_id="02104276", name="Kemin kaupunki",
                                    employer_type="city_unit", employment_area="kemi")
    assert registered.business_id == KEMI
    assert registered.model_dump(mode="json")["business_id"] == KEMI


def test_an_event_stored_with_the_compact_business_id_reads_back_hyphenated():
    """Events written before the normalisation carry "02104276"; they are never rewritten."""
    old = EXAMPLES["EmployerRegistered"].model_dump(mode="json") | {"business_id": "02104276"}
    event = decode(envelope("EmployerRegistered", old, service="employer", aggregate_type="Employer"))
    assert event.business_id == KEMI


def test_money_travels_as_a_string_with_cents():
    money = TypeAdapter(Money)
    assert money.dump_json(Decimal("12.5")) == b'"12.50"'
    assert EXAMPLES["PlacementStarted"].model_dump(mode="json")["hourly_billing_rate"] == "12.50"
    with pytest.raises(ValidationError, match="decimal places"):
        money.validate_python(Decimal("12.345"))
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        money.validate_python(Decimal("-0.01"))


def test_timesheet_hours_are_capped_at_a_month_but_invoiced_hours_are_not():
    """An invoice bills every approved timesheet not billed before, so it may hold more than 744 h."""
    assert TypeAdapter(Hours).validate_python(Decimal("744")) == Decimal("744")
    with pytest.raises(ValidationError, match="less than or equal to 744"):
        TypeAdapter(Hours).validate_python(Decimal("744.01"))
    assert TypeAdapter(BilledHours).validate_python(Decimal("1488.50")) == Decimal("1488.50")
    assert TypeAdapter(BilledHours).dump_json(Decimal("1488.5")) == b'"1488.50"'
    with pytest.raises(ValidationError, match="greater than 0"):
        TypeAdapter(BilledHours).validate_python(Decimal("0"))
    invoiced = EXAMPLES["EmployerInvoiced"].model_copy(update={"hours": Decimal("800"), "amount": Decimal("10000")})
    assert EmployerInvoiced.model_validate(invoiced.model_dump(mode="json")).hours == Decimal("800")


# --- events and envelopes ----------------------------------------------------------------------

def test_events_are_frozen_and_refuse_unknown_fields():
    event = EXAMPLES["ClientEnrolled"]
    with pytest.raises(ValidationError, match="frozen"):
        event.case_worker_id = "cw-18"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ClientEnrolled(**event.model_dump(), personal_identity_code="131052-308T")


def test_envelope_time_must_carry_a_timezone():
    base = envelope_of(EXAMPLES["ClientEnrolled"]).model_dump()
    with pytest.raises(ValidationError, match="timezone info") as caught:
        EventEnvelope.model_validate(base | {"time": datetime(2025, 1, 9, 8, 30)})
    assert caught.value.errors()[0]["loc"] == ("time",)
    with pytest.raises(ValidationError, match="timezone info"):
        EventEnvelope.model_validate_json(
            envelope_of(EXAMPLES["ClientEnrolled"]).model_dump_json().replace("08:30:00Z", "08:30:00"))


def test_envelope_time_keeps_its_offset_through_json():
    helsinki = timezone(timedelta(hours=2))
    sent = EventEnvelope.model_validate(envelope_of(EXAMPLES["ClientEnrolled"]).model_dump()
                                        | {"time": datetime(2025, 1, 9, 10, 30, tzinfo=helsinki)})
    assert '"time":"2025-01-09T10:30:00+02:00"' in sent.model_dump_json()
    received = EventEnvelope.model_validate_json(sent.model_dump_json())
    assert received.time.utcoffset() == timedelta(hours=2)
    assert received.time == datetime(2025, 1, 9, 8, 30, tzinfo=UTC)
    assert EventEnvelope.model_validate_json(
        sent.model_dump_json().replace("10:30:00+02:00", "08:30:00Z")).time.utcoffset() == timedelta(0)


@pytest.mark.parametrize("dataschema", ["urn:polku:event:ClientEnrolled:v1", "urn:polku:event:ClientEnrolled",
                                        "ClientEnrolled:1", "urn:polku:event:ClientEnrolled:-1"])
def test_envelope_refuses_a_malformed_dataschema(dataschema):
    with pytest.raises(ValidationError) as caught:
        EventEnvelope.model_validate(envelope_of(EXAMPLES["ClientEnrolled"]).model_dump() | {"dataschema": dataschema})
    assert [error["loc"] for error in caught.value.errors()] == [("dataschema",)]


def test_event_subjects():
    assert event_subject("kemi", "intake", "ClientEnrolled") == "polku.events.kemi.intake.ClientEnrolled"
    assert envelope_of(EXAMPLES["ClientEnrolled"]).nats_subject == "polku.events.kemi.intake.ClientEnrolled"
    assert event_subject() == "polku.events.*.*.*"
    assert event_subject(area="kemi") == "polku.events.kemi.*.*"
    assert event_subject(service="intake") == "polku.events.*.intake.*"
    assert event_subject(event_type="ClientEnrolled") == "polku.events.*.*.ClientEnrolled"
    assert ALL_EVENTS == "polku.events.>"


# --- decoding ------------------------------------------------------------------------------------

def test_decode_upcasts_an_old_version():
    """Version 0 of ClientEnrolled, made up here: `caseworker` and `enrolled` were renamed."""
    def v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
        return {"client_id": data["client_id"], "case_worker_id": data["caseworker"], "enrolled_on": data["enrolled"]}

    old = envelope("ClientEnrolled", {"client_id": str(CLIENT), "caseworker": "cw-17", "enrolled": "2025-01-09"},
                   schema_version=0)
    assert old.dataschema == "urn:polku:event:ClientEnrolled:0"
    upcasters = {("ClientEnrolled", 0): v0_to_v1, ("ClientEnrolled", 1): UPCASTERS[("ClientEnrolled", 1)]}
    assert decode(old, upcasters=upcasters) == EXAMPLES["ClientEnrolled"]


def test_version_1_journey_events_read_as_version_2():
    """Events written before programmes and periods: the Kemi model, period 1; a step of unknown date."""
    referred = decode(envelope("ClientReferred", {
        "client_id": str(CLIENT), "referred_by": "city", "employment_area": "kemi", "municipality": "Kemi",
        "age_band": "under_25", "gender": "male", "referred_on": "2025-01-07"}))
    assert (referred.programme, referred.period, referred.age_band) == ("kemi_model", 1, "under_25")
    assessed = decode(envelope("EligibilityAssessed", {
        "client_id": str(CLIENT), "eligible": False, "criterion": None, "rule_source": None, "target_groups": []}))
    assert (assessed.programme, assessed.failed_criteria) == ("kemi_model", ())
    assert decode(envelope("ClientEnrolled", {"client_id": str(CLIENT), "case_worker_id": "cw-1",
                                               "enrolled_on": "2025-01-09"})).period == 1
    planned = decode(envelope("PathwayPlanned", {"pathway_id": str(PATHWAY), "client_id": str(CLIENT),
                                                 "kind": "employment"}, service="pathway", aggregate_type="Pathway"))
    assert (planned.period, planned.planned_on) == (1, None)
    step = decode(envelope("StepStarted", {"pathway_id": str(PATHWAY), "step_id": str(STEP), "step_kind": "placement",
                                           "placement_id": str(PLACEMENT)}, service="pathway",
                           aggregate_type="Pathway"))
    assert (step.step_kind, step.client_id, step.started_on, step.full_time) == ("placement", None, None, False)


def test_decode_reads_the_current_version_as_it_is():
    event = EXAMPLES["EmployerInvoiced"]
    assert decode(envelope_of(event), upcasters={}) == event


def test_decode_refuses_an_unknown_type():
    with pytest.raises(UnknownEventType, match="ClientVanished"):
        decode(envelope("ClientVanished", {"client_id": str(CLIENT)}))


def test_decode_without_an_upcaster_names_the_type_and_version():
    old = envelope("ClientEnrolled", {"client_id": str(CLIENT), "caseworker": "cw-17", "enrolled": "2025-01-09"},
                   schema_version=0)
    with pytest.raises(UnsupportedSchemaVersion) as caught:
        decode(old, upcasters={})
    error = caught.value
    assert isinstance(error, ValueError) and not isinstance(error, KeyError)
    assert (error.event_type, error.schema_version, error.current_version) == ("ClientEnrolled", 0, 2)
    assert str(error) == ("dataschema: ClientEnrolled schema version 0 has no upcaster from version 0 "
                          "(this reader knows version 2)")


def test_decode_refuses_a_version_newer_than_the_reader():
    """Decoding v3 data with the v2 model could silently drop or misread fields."""
    newer = envelope_of(EXAMPLES["ClientEnrolled"]).model_copy(
        update={"dataschema": dataschema_for("ClientEnrolled", 3)})
    with pytest.raises(UnsupportedSchemaVersion, match="ClientEnrolled schema version 3 is newer than this reader"):
        decode(newer, upcasters={("ClientEnrolled", 2): lambda data: data})


def test_decode_errors_are_undecodable_for_consumers():
    assert issubclass(UnsupportedSchemaVersion, UNDECODABLE)
    assert issubclass(UnknownEventType, UNDECODABLE)


class FakeJetStream:
    def __init__(self):
        self.published: list[tuple[str, bytes, str, dict[str, str]]] = []

    async def publish(self, subject, payload, stream, headers):
        self.published.append((subject, payload, stream, headers))


class FakeMsg:
    def __init__(self, data: bytes):
        self.data, self.subject = data, "polku.events.kemi.intake.ClientEnrolled"
        self.headers = {"Nats-Msg-Id": "event-1", "ce-type": "ClientEnrolled"}
        self.metadata = SimpleNamespace(num_delivered=1, sequence=SimpleNamespace(stream=42))
        self.reply = "$JS.ACK.POLKU.probe.1.42.1.1764460000000000000.0"  # delivered once, stream sequence 42
        self.calls: list[str] = []

    async def ack(self):
        self.calls.append("ack")

    async def nak(self, delay=None):
        self.calls.append("nak")

    async def term(self):
        self.calls.append("term")

    @property
    def is_acked(self) -> bool:
        """Settled, as nats-py's Msg says after an ack, nak or term."""
        return bool(self.calls)


async def test_consumer_dead_letters_an_event_without_an_upcaster_on_the_first_delivery():
    """No handler runs, no database is touched (engine=None), and the message is not retried."""
    handled = []

    async def handler(uow, event, envelope):
        handled.append(event)

    js = FakeJetStream()
    consumer = InboxConsumer(Subscription("pathway", {ClientEnrolled: handler}), engine=None, js=lambda: js,
                             settings=Settings(service="pathway"))
    body = envelope("ClientEnrolled", {"client_id": str(CLIENT)}, schema_version=0).model_dump_json().encode()
    msg = FakeMsg(body)
    await consumer.process_batch([msg])
    assert msg.calls == ["term"]
    assert handled == []
    [(subject, payload, stream, headers)] = js.published
    assert (subject, payload, stream) == ("polku.deadletter.pathway", body, "POLKU_DEADLETTER")
    assert headers["polku-error"].startswith("UnsupportedSchemaVersion: dataschema: ClientEnrolled schema version 0")
    assert headers["polku-deliveries"] == "1"


def test_the_published_envelope_schema_requires_specversion_as_cloudevents_does():
    from contracts.generate import envelope_schema
    required = set(envelope_schema()["required"])
    assert {"specversion", "id", "source", "type"} <= required


# --- payroll-billing's upcasters ----------------------------------------------------------------------

def payroll_envelope(event_type: str, data: dict[str, Any], aggregate_type: str) -> EventEnvelope:
    return envelope(event_type, data, 1, "payroll_billing", aggregate_type)


def test_a_version_1_employment_reads_as_gig_work_without_a_schedule():
    old = {"employment_id": str(EMPLOYMENT), "placement_id": str(PLACEMENT), "client_id": str(CLIENT),
           "employer_id": str(EMPLOYER), "hourly_billing_rate": "12.50"}
    event = decode(payroll_envelope("EmploymentOpened", old, "Employment"))
    assert (event.kind, event.starts_on, event.days_per_week, event.hourly_billing_rate) == (
        "gig_work", None, None, Decimal("12.50"))


def test_a_version_1_timesheet_reads_with_its_total_and_no_days():
    old = {"employment_id": str(EMPLOYMENT), "timesheet_id": str(TIMESHEET), "period_start": "2025-02-03",
           "period_end": "2025-02-28", "hours": "112.50"}
    event = decode(payroll_envelope("TimesheetApproved", old, "Employment"))
    assert (event.hours, event.days) == (Decimal("112.50"), ())


def test_a_version_1_invoice_reads_without_vat_and_with_its_rf_reference():
    old = {"employment_id": str(EMPLOYMENT), "invoice_id": str(INVOICE), "employer_id": str(EMPLOYER),
           "hours": "112.50", "amount": "1406.25", "reference": "1232", "issued_on": "2025-03-03",
           "due_on": "2025-03-17"}
    event = decode(payroll_envelope("EmployerInvoiced", old, "Employment"))
    assert (event.amount, event.vat_amount, event.total, event.lines) == (
        Decimal("1406.25"), Decimal("0"), Decimal("1406.25"), ())
    # ISO 11649 by hand: "1232" + "RF00" as digits (R=27, F=15) is 1232271500; mod 97 = 87; 98 - 87 = 11.
    assert int("1232" + "271500") % 97 == 87 and event.rf_reference == "RF111232"
