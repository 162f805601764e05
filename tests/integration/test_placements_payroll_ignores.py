"""Payroll takes every placement's events, but only gig work, a foundation's pay subsidised job and
attendance open an employment there: the extension and end of any other placement are nothing to payroll,
not events waiting (parked) for an employment that never comes."""
from uuid import uuid4

from sqlalchemy import func, select

from services.payroll_billing.service import SERVICE as PAYROLL
from services.platform.tables import events, parked_events
from tests.integration.probe import publish
from tests.support import caught_up, eventually
from tests.unit.test_contracts import EXAMPLES, envelope_of


def placement(kind: str, employer_type: str) -> list:
    placement_id = uuid4()
    started = EXAMPLES["PlacementStarted"].model_copy(update={
        "placement_id": placement_id, "kind": kind, "employer_type": employer_type})
    extended = EXAMPLES["PlacementExtended"].model_copy(update={"placement_id": placement_id})
    ended = EXAMPLES["PlacementEnded"].model_copy(update={
        "placement_id": placement_id, "client_id": started.client_id, "employer_id": started.employer_id,
        "kind": kind, "employer_type": employer_type})
    return [envelope_of(event).model_copy(update={"aggregateid": str(placement_id), "subject": str(placement_id),
                                                  "aggregateversion": version})
            for version, event in enumerate((started, extended, ended), start=1)]


async def count(engine, table, *where) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def test_the_extension_and_end_of_a_placement_that_opened_nothing_here_are_not_parked(start_service, nc):
    payroll = await start_service(PAYROLL)
    for envelope in [*placement("open_market", "company"), *placement("gig_work", "foundation")]:
        await publish(nc.jetstream(), envelope)

    await eventually(lambda: caught_up(payroll), what="payroll caught up")
    assert await count(payroll.engine, parked_events) == 0
    assert await count(payroll.engine, events, events.c.event_type == "EmploymentExtended") == 1, "gig work's"
    assert await count(payroll.engine, events, events.c.event_type == "EmploymentEnded") == 1, "gig work's end"
