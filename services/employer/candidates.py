"""Matching's candidates, kept in memory per area and brought up to date by what changed.

A coordinator's screen ranks every enrolled client of the area; reading 10,000 rows for each would
cost more than the ranking. Each service instance keeps the area's clients and, per request, reads
only the rows whose revision is above the one it has seen (one indexed query, usually empty). The
revision counter's row lock orders the changes (services/employer/tables.py), so nothing that
committed is missed; another instance's changes arrive the same way.
"""
import weakref
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.employer.domain.clients import ClientFacts
from services.employer.lookups import clients_changed_since


@dataclass
class AreaClients:
    revision: int = 0
    clients: dict[UUID, ClientFacts] = field(default_factory=dict)


_CACHES: "weakref.WeakKeyDictionary[AsyncEngine, dict[str, AreaClients]]" = weakref.WeakKeyDictionary()


async def area_clients(engine: AsyncEngine, connection: AsyncConnection, area: str) -> list[ClientFacts]:
    """The area's clients as of this moment: the cache, with the rows changed since it was last read."""
    cached = _CACHES.setdefault(engine, {}).setdefault(area, AreaClients())
    for revision, client in await clients_changed_since(connection, area, cached.revision):
        cached.clients[client.client_id] = client
        cached.revision = max(cached.revision, revision)
    return list(cached.clients.values())
