"""One active relay per outbox: a lease row in the service's own database.

Several instances of a service share its database and so its outbox. Only the instance holding
the lease publishes; it renews the lease well before it runs out, and releases it when it stops.
An instance that dies without releasing is replaced once the lease has run out (`ttl_s`).
Both databases serialise the conditional UPDATE, so two instances cannot both take it. A holder
paused for longer than the lease (a stalled process) may publish one more batch after another
took over; the stream's duplicate window and the consumers' inboxes absorb that copy.
"""
import time
from uuid import uuid4

from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.platform.commit_groups import transaction
from services.platform.tables import relay_lease

LEASE = "outbox"


def _now_ms() -> int:
    return int(time.time() * 1000)


class RelayLease:
    def __init__(self, engine: AsyncEngine, ttl_s: float, holder: str | None = None):
        self.engine, self.ttl_ms = engine, int(ttl_s * 1000)
        self.holder = holder or uuid4().hex
        self._held_until_ms = 0
        self._renewed_at_ms = 0

    @property
    def held(self) -> bool:
        return _now_ms() < self._held_until_ms

    async def hold(self) -> bool:
        """True while this instance holds the lease: renews it a third of the way through, or takes
        it over once it has run out. Costs a statement only when it renews or waits to take over."""
        now = _now_ms()
        if self.held and now - self._renewed_at_ms < self.ttl_ms // 3:
            return True
        expires = now + self.ttl_ms
        # The lease's statements are background work: they start no trace and join none.
        with suppress_instrumentation():
            async with transaction(self.engine) as connection:
                taken = (await connection.execute(
                    update(relay_lease)
                    .where(and_(relay_lease.c.name == LEASE,
                                or_(relay_lease.c.holder == self.holder, relay_lease.c.expires_at_ms < now)))
                    .values(holder=self.holder, expires_at_ms=expires))).rowcount
        if taken:
            self._held_until_ms, self._renewed_at_ms = expires, now
        else:
            self._held_until_ms = 0
        return bool(taken)

    async def release(self) -> None:
        """Hand the lease over at once (a clean stop), so another instance need not wait it out."""
        self._held_until_ms = 0
        with suppress_instrumentation():
            async with transaction(self.engine) as connection:
                await connection.execute(update(relay_lease).where(
                    and_(relay_lease.c.name == LEASE, relay_lease.c.holder == self.holder)).values(expires_at_ms=0))
