"""The Customer aggregate: an employer as the foundation's customer, and whether it is invoiced without VAT.
The employer's name and Y-tunnus come from the employer service's events (ledger.customers)."""
from dataclasses import dataclass
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.base import Event
from contracts.events.payroll_billing import VatStatusRecorded
from services.platform.event_store import AggregateKind


class RecordVatStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vat_exempt: bool
    reason: str | None = Field(default=None, max_length=200)


@dataclass(frozen=True)
class Customer:
    vat: VatStatusRecorded | None = None


def evolve(customer: Customer, event: Event) -> Customer:
    return Customer(vat=event) if isinstance(event, VatStatusRecorded) else customer


CUSTOMER = AggregateKind("Customer", Customer(), evolve)


def record_vat_status(_customer: Customer, employer_id: UUID, command: RecordVatStatus) -> list[Event]:
    return [VatStatusRecorded(employer_id=employer_id, vat_exempt=command.vat_exempt, reason=command.reason)]
