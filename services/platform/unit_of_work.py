"""One SQL transaction around a change: events, outbox and inbox commit together or not at all
(on SQLite, concurrent units of work share the commit: services/platform/commit_groups.py)."""
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import EventEnvelope
from contracts.events.base import Event
from contracts.registry import decode
from services.platform import audit
from services.platform.among import among
from services.platform.auth import Principal
from services.platform.commit_groups import transaction
from services.platform.errors import AreaMismatch, Forbidden, NotFound, RuleViolated
from services.platform.event_store import AggregateKind, Cause, EventStore, driver_statements, fold
from services.platform.idempotency import Claim
from services.platform.tables import inbox

State = TypeVar("State")
PROCESSED_AMONG = select(inbox.c.event_id).where(
    inbox.c.consumer == bindparam("consumer"), among(inbox.c.event_id, "event_ids"))


class UnitOfWork:
    """`async with UnitOfWork(...) as uow:` commits on success and rolls back on any error.

    New events are kept until the commit and then written together (one insert for the events of
    every aggregate decided, one for their outbox rows); reads within the unit see them. After a
    commit that wrote events, `on_commit` wakes the outbox relay.
    """

    def __init__(self, engine: AsyncEngine, service: str, cause: Cause, on_commit: Callable[[], None] | None = None,
                 actor: Principal | None = None, purpose: str = "", claim: Claim | None = None):
        """`actor` is the caller of an HTTP request: it sees and changes its own employment area only,
        and every change it makes is written to the audit log. Event handlers act without one.
        `claim`: the request's Idempotency-Key, taken in this transaction (services/platform/idempotency.py)."""
        self.engine, self.service, self.cause, self.on_commit = engine, service, cause, on_commit
        self.actor, self.purpose, self.claim = actor, purpose, claim
        # In an event handler: the employment area of the event at hand, which every aggregate it
        # touches must share (set by the consumer), and the aggregates read, the last one first to blame.
        self.event_area: str | None = None
        self.touched: list[str] = []
        self.appended: list[EventEnvelope] = []
        self._appended_to: dict[str, list[EventEnvelope]] = {}
        self._loaded: dict[str, list[EventEnvelope]] = {}  # each aggregate's stored history, read once
        self._events_of: dict[UUID, Event] = {}  # each envelope's event, decoded once
        # A service's own lookups read for a whole batch (Subscription.prefetch), by the service's keys;
        # the service keeps an entry true to what it writes. Gone with the unit, as its reads are.
        self.lookups: dict[object, object] = {}

    async def __aenter__(self) -> "UnitOfWork":
        self._transaction = transaction(self.engine)
        self.connection: AsyncConnection = await self._transaction.__aenter__()
        self.events = EventStore(self.connection, self.service)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                if self.claim:
                    await self.claim.write(self.connection, self.appended)
                if self.appended:
                    await self.events.write(self.appended)
                    if self.actor:
                        self._audit_changes()
            except BaseException as error:
                await self._transaction.__aexit__(type(error), error, error.__traceback__)
                raise
        await self._transaction.__aexit__(exc_type, exc, tb)  # commits, or rolls back on an error
        if exc_type is None:
            if self.claim:
                self.claim.written = True
            if self.appended and self.on_commit:
                self.on_commit()

    async def read(self, kind: AggregateKind[State], aggregate_id: str) -> tuple[State, int]:
        """The aggregate's state and version; NotFound if it has no events or is of another area."""
        history = await self._visible_history(kind, aggregate_id)
        if not history:
            raise NotFound(f"no {kind.name.lower()} {aggregate_id}")
        return self._state(kind, history), len(history)

    async def read_referenced(self, kind: AggregateKind[State], aggregate_id: str, field: str) -> State:
        """An aggregate a command's body names: one that does not exist (or is another area's) breaks a
        rule of that field (422), where a missing aggregate in the path is 404."""
        try:
            state, _ = await self.read(kind, aggregate_id)
        except NotFound:
            raise RuleViolated(field, f"no {kind.name.lower()} {aggregate_id}") from None
        return state

    async def decide(
        self,
        kind: AggregateKind[State],
        aggregate_id: str,
        decide: Callable[[State], Sequence[Event]],
        area: str | None = None,
    ) -> State:
        """Load the aggregate, let the pure `decide` function choose new events, append them.

        An aggregate belongs to one employment area: a new one is given it, an existing one keeps
        the area of its first event. Without `area` the aggregate must exist (NotFound: 404 for a
        request; for an event, it waits until it does). Returns the state after the new events.
        """
        history = await self._visible_history(kind, aggregate_id)
        if not history and area is None:  # nothing to change, and nothing that says it is to be made
            raise NotFound(f"no {kind.name.lower()} {aggregate_id}")
        return await self._decide(kind, aggregate_id, history, decide, area)

    async def create(
        self,
        kind: AggregateKind[State],
        aggregate_id: str,
        decide: Callable[[State], Sequence[Event]],
        area: str,
    ) -> State:
        """`decide` for an aggregate under an id this service has just made (a uuid4): there is no
        history to load. Were the id taken after all, the event log's key refuses it (409)."""
        return await self._decide(kind, aggregate_id, [], decide, area)

    async def _decide(self, kind: AggregateKind[State], aggregate_id: str, history: list[EventEnvelope],
                      decide: Callable[[State], Sequence[Event]], area: str | None) -> State:
        state = self._state(kind, history)
        new_events = decide(state)
        if new_events:
            area = history[0].employmentarea if history else area
            if self.event_area and area is not None and area != self.event_area:
                raise AreaMismatch(f"an event of area {self.event_area} would change {kind.name.lower()} "
                                   f"{aggregate_id} of area {area}")
            if area is None:
                raise ValueError(f"{kind.name} {aggregate_id} is new and needs an employment area")
            if self.actor and area != self.actor.area:
                raise Forbidden(f"employment_area: the caller acts for area {self.actor.area}, not {area}")
            envelopes = self.events.envelopes(kind, aggregate_id, len(history), new_events, area, self.cause)
            self.appended += envelopes
            self._appended_to.setdefault(aggregate_id, []).extend(envelopes)
        return fold(kind, new_events, state)

    async def preload(self, aggregate_ids: Sequence[str]) -> None:
        """Read the histories of aggregates a batch's handlers will read, in one statement (a subscription's
        prefetch); `read` and `decide` then find them as if they had read them first."""
        if missing := [aggregate_id for aggregate_id in dict.fromkeys(aggregate_ids) if aggregate_id not in self._loaded]:
            self._loaded.update(await self.events.load_many(missing))

    async def _visible_history(self, kind: AggregateKind, aggregate_id: str) -> list[EventEnvelope]:
        # Read once a unit: within its transaction only the unit itself adds to an aggregate's history.
        if (stored := self._loaded.get(aggregate_id)) is None:
            stored = self._loaded[aggregate_id] = await self.events.load(aggregate_id)
        history = stored + self._appended_to.get(aggregate_id, [])
        self.touched.append(aggregate_id)
        if history and self.event_area and history[0].employmentarea != self.event_area:
            raise AreaMismatch(f"an event of area {self.event_area} touches {kind.name.lower()} {aggregate_id} "
                               f"of area {history[0].employmentarea}")
        if history and self.actor and history[0].employmentarea != self.actor.area:
            raise NotFound(f"no {kind.name.lower()} {aggregate_id}")  # another area's data is invisible
        return history

    def _state(self, kind: AggregateKind[State], history: list[EventEnvelope]) -> State:
        return fold(kind, [self._event_of(envelope) for envelope in history])

    def _event_of(self, envelope: EventEnvelope) -> Event:
        if (event := self._events_of.get(envelope.id)) is None:
            event = self._events_of[envelope.id] = decode(envelope)
        return event

    @property
    def changed_aggregates(self) -> set[str]:
        """The aggregates this unit appended events to."""
        return set(self._appended_to)

    def audit_read(self, subject: str, what: str) -> None:
        """Record that the actor read personal data of `subject`, in this transaction."""
        self.audit_action(f"read {what}", subject)

    def audit_action(self, action: str, subject: str) -> None:
        """Record what the actor did to `subject` that writes no event (e.g. stored personal data)."""
        audit.record(self.connection, self.actor, action, subject, self.purpose)

    def _audit_changes(self) -> None:
        changed: dict[str, list[str]] = {}
        for envelope in self.appended:
            changed.setdefault(f"{envelope.aggregatetype} {envelope.aggregateid}", []).append(envelope.type)
        for subject, event_types in changed.items():
            audit.record(self.connection, self.actor, "change: " + ", ".join(event_types), subject, self.purpose)

    async def already_processed(self, consumer: str, event_ids: list[str]) -> set[str]:
        """Which of these events the consumer has processed before (its inbox)."""
        found = await self.connection.execute(PROCESSED_AMONG, {"consumer": consumer, "event_ids": event_ids})
        return {event_id for (event_id,) in found}

    async def mark_processed(self, consumer: str, event_ids: list[str]) -> None:
        """The inbox rows; their primary key makes a concurrent second processing fail and roll back."""
        await self.mark_in(self.connection, consumer, event_ids)

    @staticmethod
    async def mark_in(connection: AsyncConnection, consumer: str, event_ids: list[str]) -> None:
        if event_ids:
            statements = driver_statements(connection.dialect)
            now = datetime.now(UTC)
            processed_at = statements.processed_at(now) if statements.processed_at else now
            await connection.exec_driver_sql(statements.mark_in, [(consumer, event_id, processed_at)
                                                                  for event_id in event_ids])



