"""An event whose prerequisite has not arrived waits in the consumer's own database and is applied
when it arrives; an event of another employment area than the aggregate it touches never applies."""
import asyncio
from datetime import date
from uuid import uuid4

from sqlalchemy import select

from contracts.events.employer import PlacementStarted
from contracts.events.intake import ClientEnrolled
from services.pathway.domain.pathway import pathway_id_of
from services.pathway.service import SERVICE as PATHWAY
from services.platform import dead_letters, parking
from services.platform.consumer import Subscription
from services.platform.event_store import AggregateKind
from services.platform.service import ServiceDefinition
from services.platform.tables import events
from tests.integration.histories import envelope_of
from tests.integration.probe import client_of, enrolled_envelope, publish
from tests.support import BOTH_DATABASES, eventually


def placement_started(client_id, area: str = "kemi"):
    event = PlacementStarted(placement_id=uuid4(), client_id=client_id, employer_id=uuid4(), employer_type="city_unit",
                             kind="pay_subsidised_work", starts_on=date(2026, 10, 1), hourly_billing_rate="24.50")
    return envelope_of(event, 1, area)


async def pathway_events(engine, client_id) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(events.c.event_type).where(
            events.c.aggregate_id == str(pathway_id_of(client_id))).order_by(events.c.aggregate_version))
        return [event_type for (event_type,) in rows]


@BOTH_DATABASES
async def test_a_placement_that_overtakes_the_enrolment_waits_for_it_and_uses_up_no_tries(start_service, nc):
    # Two tries: before, the placement was dead-lettered ("pathway … is not planned yet") within a second.
    pathway = await start_service(PATHWAY, max_deliver=2)
    js = nc.jetstream()
    enrolled = enrolled_envelope()
    client_id = client_of(enrolled)
    placement = placement_started(client_id)
    await publish(js, placement)
    await eventually(lambda: _parked(pathway.engine, 1), what="the placement parked")
    await asyncio.sleep(1)  # far longer than the two tries' back-off
    assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []
    assert await pathway_events(pathway.engine, client_id) == []

    await publish(js, enrolled)
    await eventually(lambda: _pathway_is(pathway.engine, client_id, ["PathwayPlanned", "StepStarted"]),
                     what="the placement's step started once the pathway was planned")
    assert await parking.count(pathway.engine) == 0
    assert await dead_letters.list_all(js, "POLKU_DEADLETTER") == []


async def test_an_event_of_another_area_than_the_aggregate_it_touches_is_dead_lettered_with_the_reason(
        start_service, nc):
    """A handler that changes one aggregate for every event: the Kemi event makes it Kemi's, and a
    Tornio event that would change it never applies."""
    kind = AggregateKind("Probe", (), lambda seen, event: (*seen, event))

    async def change_one_aggregate(uow, event, envelope) -> None:
        await uow.decide(kind, "one-aggregate", lambda _seen: [event], area=envelope.employmentarea)

    definition = ServiceDefinition(name="areaprobe", description="test", routes=[],
                                   subscription=Subscription("areaprobe", {ClientEnrolled: change_one_aggregate}))
    runtime = await start_service(definition)
    js = nc.jetstream()
    await publish(js, enrolled_envelope(area="kemi"))
    await eventually(lambda: _aggregate_versions(runtime.engine, 1), what="the Kemi event applied")
    await publish(js, enrolled_envelope(area="tornio"))

    async def dead_lettered() -> bool:
        return len(await dead_letters.list_all(js, "POLKU_DEADLETTER")) == 1

    await eventually(dead_lettered, what="the other area's event dead-lettered")
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert letter.deliveries == 1, "it can never apply: no retries"
    assert letter.error.startswith("AreaMismatch: an event of area tornio")
    assert await _aggregate_versions(runtime.engine, 1)


async def _aggregate_versions(engine, expected: int) -> bool:
    async with engine.connect() as connection:
        rows = await connection.execute(select(events.c.aggregate_version).where(
            events.c.aggregate_id == "one-aggregate"))
        return len(list(rows)) == expected


async def _parked(engine, expected: int) -> bool:
    return await parking.count(engine) == expected


async def _pathway_is(engine, client_id, expected: list[str]) -> bool:
    return await pathway_events(engine, client_id) == expected


async def _none_parked(engine) -> bool:
    return await parking.count(engine) == 0


async def test_pathway_dead_letters_another_areas_event_about_a_client_at_once(start_service, nc):
    """Pathway's own check of the client's area is the platform's AreaMismatch: no retries."""
    pathway = await start_service(PATHWAY)
    js = nc.jetstream()
    enrolled = enrolled_envelope(area="kemi")
    client_id = client_of(enrolled)
    await publish(js, enrolled)
    await eventually(lambda: _pathway_is(pathway.engine, client_id, ["PathwayPlanned"]), what="the pathway planned")
    await publish(js, placement_started(client_id, area="tornio"))

    async def dead_lettered() -> bool:
        return len(await dead_letters.list_all(js, "POLKU_DEADLETTER")) == 1

    await eventually(dead_lettered, what="Tornio's placement of a Kemi client dead-lettered")
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert letter.deliveries == 1, "it can never apply: no retries"
    assert letter.error.startswith(f"AreaMismatch: an event of area tornio (PlacementStarted) names client {client_id}")
    assert await pathway_events(pathway.engine, client_id) == ["PathwayPlanned"]


@BOTH_DATABASES
async def test_an_event_parked_too_long_is_dead_lettered_with_why_and_a_replay_applies_it(start_service, nc):
    pathway = await start_service(PATHWAY, max_parked_s=1.0)
    js = nc.jetstream()
    enrolled = enrolled_envelope()
    client_id = client_of(enrolled)
    await publish(js, placement_started(client_id))

    async def dead_lettered() -> bool:
        return len(await dead_letters.list_all(js, "POLKU_DEADLETTER")) == 1

    await eventually(dead_lettered, what="the placement dead-lettered after waiting too long")
    [letter] = await dead_letters.list_all(js, "POLKU_DEADLETTER")
    assert (letter.consumer, letter.event_type) == ("pathway", "PlacementStarted")
    assert letter.error.startswith("Parked too long: parked ") and "longer than 1 s, waiting for" in letter.error
    assert f"client {client_id} is not enrolled here yet" in letter.error
    # The letter is published inside the transaction that deletes the parked row (a failed publish keeps
    # it parked), so the row may still be there for the moment until that commit.
    await eventually(lambda: _none_parked(pathway.engine), what="the dead-lettered event no longer parked")

    # Its prerequisite comes after all: the operator replays the dead letter, and it applies (its inbox
    # row went with it to the dead letters, so it is no duplicate).
    await publish(js, enrolled)
    await eventually(lambda: _pathway_is(pathway.engine, client_id, ["PathwayPlanned"]), what="the pathway planned")
    await dead_letters.replay(js, "POLKU", "POLKU_DEADLETTER", letter)
    await eventually(lambda: _pathway_is(pathway.engine, client_id, ["PathwayPlanned", "StepStarted"]),
                     what="the replayed placement's step started")


async def test_polku_status_lists_each_parked_event(start_service, nc):
    from services.platform.status import Thresholds, service_lines
    pathway = await start_service(PATHWAY)
    client_id = uuid4()
    await publish(nc.jetstream(), placement_started(client_id))
    await eventually(lambda: _parked(pathway.engine, 1), what="the placement parked")
    url = f"http://127.0.0.1:{pathway.settings.http_port}"
    service, parked = await service_lines([("pathway", url)], Thresholds(parked_age_s=3600))
    assert "1 parked, the oldest" in service.detail
    assert parked.section == "parked" and parked.state == "ok"
    assert "PlacementStarted" in parked.detail and f"client {client_id} is not enrolled here yet" in parked.detail
    [_, late] = await service_lines([("pathway", url)], Thresholds(parked_age_s=0))
    assert late.needs_attention
