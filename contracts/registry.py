"""Which event class a type name means, and how old versions are brought up to date."""
from functools import cache

from pydantic import ValidationError, create_model

from contracts.envelope import EventEnvelope
from contracts.events.base import Event
from contracts.events.employer import (CandidateProposed, EmployerDetailsCorrected, EmployerRegistered, GigJobPooled,
                                       GigTaskOffered, GigTaskPooled, OpeningExpired, OpeningFilled, OpeningRegistered,
                                       OpeningWithdrawn, PartnershipAgreementEnded, PartnershipAgreementSigned,
                                       PlacementEnded, PlacementExtended, PlacementStarted, ProposalAccepted,
                                       ProposalDeclined)
from contracts.events.intake import (CaseWorkerAssigned, ClientDataErased, ClientEnrolled, ClientExited,
                                     ClientReferred, ConsentRecorded, ConsentWithdrawn, EligibilityAssessed,
                                     EntryFactsCorrected, EntryFactsRecorded, SixMonthFollowUpRecorded,
                                     SkillTagsRecorded)
from contracts.events.pathway import (PathwayClosed, PathwayGoalSet, PathwayPlanned, StepCancelled, StepCompleted,
                                      StepExtended, StepInterrupted, StepPlanned, StepStarted)
from contracts.events.payroll_billing import (AttendanceOpened, EmployerInvoiced, EmploymentEnded, EmploymentExtended,
                                              EmploymentOpened, GigTasksAssigned, InvoiceCredited, InvoiceOverdue,
                                              MunicipalSupplementClaimed, PaymentReceived, PayrollRunClosed,
                                              PaySubsidyClaimed, PaySubsidyGranted, ReminderSent, TimesheetApproved,
                                              VatStatusRecorded, WageTermsAgreed)
from contracts.upcasters import UPCASTERS, Upcaster

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        ClientReferred,
        EligibilityAssessed,
        EntryFactsRecorded,
        EntryFactsCorrected,
        ClientEnrolled,
        CaseWorkerAssigned,
        SkillTagsRecorded,
        ClientExited,
        SixMonthFollowUpRecorded,
        ConsentRecorded,
        ConsentWithdrawn,
        ClientDataErased,
        PathwayPlanned,
        PathwayGoalSet,
        StepPlanned,
        StepStarted,
        StepCompleted,
        StepInterrupted,
        StepCancelled,
        StepExtended,
        PathwayClosed,
        EmployerRegistered,
        EmployerDetailsCorrected,
        PartnershipAgreementSigned,
        PartnershipAgreementEnded,
        OpeningRegistered,
        OpeningFilled,
        OpeningWithdrawn,
        OpeningExpired,
        GigTaskOffered,
        GigTaskPooled,
        PlacementStarted,
        GigJobPooled,
        PlacementExtended,
        PlacementEnded,
        CandidateProposed,
        ProposalAccepted,
        ProposalDeclined,
        EmploymentOpened,
        AttendanceOpened,
        GigTasksAssigned,
        WageTermsAgreed,
        EmploymentExtended,
        EmploymentEnded,
        PaySubsidyGranted,
        TimesheetApproved,
        PayrollRunClosed,
        EmployerInvoiced,
        InvoiceCredited,
        PaymentReceived,
        InvoiceOverdue,
        ReminderSent,
        VatStatusRecorded,
        PaySubsidyClaimed,
        MunicipalSupplementClaimed,
    )
}



class UnknownEventType(ValueError):
    """The envelope names an event type this reader does not know."""


class UnsupportedSchemaVersion(ValueError):
    """The event's schema version cannot be brought to the version this reader knows: no upcaster
    reads it, or it is newer than the reader (deploy the newer contracts first)."""

    def __init__(self, event_type: str, schema_version: int, current_version: int, reason: str):
        super().__init__(f"dataschema: {event_type} schema version {schema_version} {reason} "
                         f"(this reader knows version {current_version})")
        self.event_type, self.schema_version, self.current_version = event_type, schema_version, current_version


def decode(envelope: EventEnvelope, upcasters: dict[tuple[str, int], Upcaster] = UPCASTERS) -> Event:
    """The typed event inside an envelope, upcast to the current schema version.

    Raises UnknownEventType or UnsupportedSchemaVersion (both ValueErrors, so a consumer dead-letters
    the message at once: it will not decode on a retry either), or pydantic's ValidationError.
    """
    try:
        cls = EVENT_TYPES[envelope.type]
    except KeyError:
        raise UnknownEventType(f"type: unknown event type {envelope.type!r}") from None
    data, version = envelope.data, envelope.schema_version
    if version > cls.schema_version:
        raise UnsupportedSchemaVersion(envelope.type, version, cls.schema_version, "is newer than this reader")
    while version < cls.schema_version:
        try:
            upcast = upcasters[(envelope.type, version)]
        except KeyError:
            raise UnsupportedSchemaVersion(envelope.type, envelope.schema_version, cls.schema_version,
                                           f"has no upcaster from version {version}") from None
        data = upcast(data)
        version += 1
    return cls.model_validate(data)


def decode_json(raw: bytes | str, type_name: str | None) -> tuple[EventEnvelope, Event]:
    """The envelope and its event from a message's JSON, in one pydantic pass where the message says its
    type (the ce-type header, the subject) and is of the current version; otherwise the envelope, then
    `decode`: two passes, the data built as a dict and validated again (a fifth of a consumer's CPU
    catching up, py-spy 2026-11-30). Raises what `decode` and the envelope's validation raise."""
    cls = EVENT_TYPES.get(type_name) if type_name else None
    if cls is not None:
        try:
            envelope = _envelope_of(cls).model_validate_json(raw)
        except ValidationError:
            pass  # validated again below, which says why
        else:
            if envelope.type == type_name and envelope.schema_version == cls.schema_version:
                return envelope, envelope.data
    envelope = EventEnvelope.model_validate_json(raw)
    return envelope, decode(envelope)


@cache
def _envelope_of(cls: type[Event]) -> type[EventEnvelope]:
    """EventEnvelope with `data` typed as `cls` (its JSON dump is the same as the plain envelope's)."""
    return create_model(f"{cls.__name__}Envelope", __base__=EventEnvelope, data=(cls, ...))
