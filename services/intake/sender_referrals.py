"""The sending system's own referral id: a TE-office or city system names each referral it sends, and
a referral it sends again (a retry after a lost answer, over HTTP or over the bus) never makes a
second client. One row per (employment area, sender, sender's referral id), written in the
transaction of the referral's events; its primary key makes concurrent retries one referral: the
first commits, every other rolls back and is answered with the first one's client."""
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.intake import caseload
from services.intake.domain.client import CLIENT, Client
from services.intake.domain.referral import ReferClient, refer
from services.intake.tables import sender_referrals
from services.platform.errors import ConcurrencyConflict, StateConflict
from services.platform.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SenderReferral:
    """A referral as its sender names it, and the ids Polku gives it (the same every time)."""

    employment_area: str
    referred_by: str
    sender_referral_id: str

    @classmethod
    def of(cls, referral: ReferClient) -> "SenderReferral | None":
        if referral.sender_referral_id is None:
            return None
        return cls(referral.employment_area, referral.referred_by, referral.sender_referral_id)

    @property
    def _name(self) -> str:
        return f"polku:bus-referral:{self.employment_area}:{self.referred_by}:{self.sender_referral_id}"

    @property
    def referral_id(self) -> UUID:
        return uuid5(NAMESPACE_URL, self._name)

    @property
    def new_client_id(self) -> UUID:
        """The id of the client a first referral makes (a returning client keeps their own)."""
        return uuid5(NAMESPACE_URL, f"{self._name}:client")

    def _key(self) -> list:
        return [sender_referrals.c.employment_area == self.employment_area,
                sender_referrals.c.referred_by == self.referred_by,
                sender_referrals.c.sender_referral_id == self.sender_referral_id]

    async def client_of(self, connection: AsyncConnection) -> UUID | None:
        """The client this referral was taken for, None when it was not taken yet."""
        found = (await connection.execute(select(sender_referrals.c.client_id).where(*self._key()))).scalar()
        return UUID(found) if found else None

    async def first_client(self, engine: AsyncEngine) -> UUID | None:
        """After a concurrent retry lost the race: the client the winner's committed row names."""
        async with engine.connect() as connection:
            return await self.client_of(connection)

    async def record(self, connection: AsyncConnection, client_id: UUID) -> None:
        """In the transaction of the referral's events; a concurrent second one fails on the key."""
        await connection.execute(insert(sender_referrals).values(
            employment_area=self.employment_area, referred_by=self.referred_by,
            sender_referral_id=self.sender_referral_id, client_id=str(client_id),
            referral_id=str(self.referral_id), taken_at=datetime.now(UTC)))


@dataclass(frozen=True)
class Taken:
    """A referral's client; `again` when the sender's referral was taken before (nothing new written)."""

    client_id: UUID
    client: Client
    again: bool = False


async def take(open_unit: Callable[[], UnitOfWork], engine: AsyncEngine, referral: ReferClient, today: date,
               returning: UUID | None = None, also: Callable[[UnitOfWork, UUID, Client], Awaitable[None]] | None = None,
               ) -> Taken:
    """Refer a new client (or, with `returning`, that client again), its caseload row and `also` (e.g. the
    person into the vault) in one transaction. A referral its sender took before, also one committed by a
    concurrent retry meanwhile, is answered with the first one's client and writes nothing."""
    sent = SenderReferral.of(referral)
    client_id = returning or (sent.new_client_id if sent else uuid4())
    try:
        async with open_unit() as uow:
            if sent is not None and (first := await sent.client_of(uow.connection)) is not None:
                return await _taken_before(uow, sent, first, returning)
            def decide(client: Client):
                return refer(client, client_id, referral, today, sent.referral_id if sent else None)
            if returning is None and sent is None:  # a uuid4 of its own: no history to load
                client = await uow.create(CLIENT, str(client_id), decide, area=referral.employment_area)
            else:
                client = await uow.decide(CLIENT, str(client_id), decide,
                                          area=None if returning else referral.employment_area)
            if sent is not None:
                await sent.record(uow.connection, client_id)
            await caseload.save(uow.connection, client_id, client)
            if also is not None:
                await also(uow, client_id, client)
        return Taken(client_id, client)
    except (IntegrityError, ConcurrencyConflict):
        if sent is None or (first := await sent.first_client(engine)) is None:
            raise
    async with open_unit() as uow:  # a concurrent retry committed first: its client is the answer
        return await _taken_before(uow, sent, first, returning)


async def _taken_before(uow: UnitOfWork, sent: SenderReferral, first: UUID, returning: UUID | None) -> Taken:
    if returning is not None and returning != first:
        raise StateConflict(f"referral {sent.sender_referral_id} of {sent.referred_by} was taken for client {first}, "
                            f"not {returning}")
    client, _ = await uow.read(CLIENT, str(first))
    return Taken(first, client, again=True)
