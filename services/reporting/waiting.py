"""Reporting's waiting room: an event that came before an earlier version of its aggregate waits in
reporting's own database until that version has been projected, and is then folded with it, live and
in `polku rebuild` alike (projections.py `fold`).

The room is the platform's `parked_events` table (services/platform/parking.py), under a name of its
own: the live room and a rebuild's are two names in it, and the rebuild's swap (swap.py) makes its
room the live one in the transaction that swaps the tables. Neither is the durable consumer's own
name ("reporting"): the consumer tries its parked events one by one after every commit, while an event
here waits for one thing only, the version before it, and is taken with the next event of its
aggregate that arrives.
"""
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.envelope import EventEnvelope
from services.platform import parking
from services.platform.among import among
from services.platform.tables import parked_events

LIVE = "reporting.projections"
REBUILD = "reporting.rebuild"
# Reporting folds waiting events by aggregate version; the stream position the table has room for is
# not known to a batch handler, and nothing here orders by it.
POSITION_UNKNOWN = 0


@dataclass
class WaitingRoom:
    name: str
    # The keys that have events waiting, where no other process parks under `name` for these keys (a
    # rebuild, or a part of one: parts share no row): the database is then asked only about them. None: ask
    # the database every time.
    keys: set[str] | None = None

    @property
    def may_hold_any(self) -> bool:
        return self.keys is None or bool(self.keys)

    async def waiting_for(self, connection: AsyncConnection, keys: Collection[str]) -> list[parking.Parked]:
        if self.keys is not None:
            keys = self.keys.intersection(keys)
        if not keys:
            return []
        return await parking.waiting(connection, self.name, keys)

    async def write(self, connection: AsyncConnection, park: list[tuple[str, EventEnvelope, str]],
                    release: list[tuple[str, str]]) -> None:
        """`park`: (key waited for, envelope, reason); `release`: (key, event id) of events folded now."""
        for key, envelope, reason in park:
            await parking.park(connection, self.name, envelope, POSITION_UNKNOWN, key, reason)
        for _key, event_id in release:
            await parking.release(connection, self.name, event_id)
        if self.keys is not None:
            # Released first: a key may lose one event and keep another.
            self.keys.difference_update(key for key, _ in release)
            self.keys.update(key for key, _, _ in park)
            if release:
                self.keys.update(await _keys_waiting(connection, self.name, {key for key, _ in release}))

    async def empty(self, connection: AsyncConnection) -> None:
        await connection.execute(delete(parked_events).where(parked_events.c.consumer == self.name))
        if self.keys is not None:
            self.keys.clear()

    async def become(self, connection: AsyncConnection, other: "WaitingRoom") -> None:
        """In the caller's transaction: this room's events replace those of `other` (the swap)."""
        await other.empty(connection)
        await connection.execute(update(parked_events).where(parked_events.c.consumer == self.name)
                                 .values(consumer=other.name))


KEYS_WAITING = select(parked_events.c.waiting_for).where(parked_events.c.consumer == bindparam("name"),
                                                         among(parked_events.c.waiting_for, "keys"))


async def _keys_waiting(connection: AsyncConnection, name: str, keys: set[str]) -> set[str]:
    return {key for (key,) in await connection.execute(KEYS_WAITING, {"name": name, "keys": list(keys)})}


async def count(connection: AsyncConnection, name: str = LIVE) -> int:
    return (await connection.execute(select(func.count()).select_from(parked_events).where(
        parked_events.c.consumer == name))).scalar_one()
