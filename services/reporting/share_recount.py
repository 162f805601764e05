"""The municipal share's tally counted anew from report_share_inputs when the rule file has changed.

Every cell carries the fingerprint of the rules it was made by (tables.share_tally), and a report
ignores the cells of other rules and computes every client instead: right, but hundreds of times
slower over a large area. The cells are a pure function of a client's share inputs and the rules,
so they are counted again from those rows, no events needed, before the service takes any event
(ServiceDefinition.prepare): the same cells a rebuild under the new rules makes.

Under the table's write lock (SQLite's transaction; PostgreSQL's LOCK TABLE), so two instances
starting at once count once: the second finds the cells current. An instance still running the old
rules (a rolling deploy) writes cells of its rules meanwhile; reports compute every client until
the next start counts again.
"""
import logging

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.platform.commit_groups import transaction
from services.reporting.projections import LIVE, SHARE_INPUTS, Folded, count_rows, write
from services.reporting.rules.share_grid import share_grid
from services.reporting.tables import share_inputs, share_tally

log = logging.getLogger(__name__)
ROWS_AT_ONCE = 5_000
OTHER_RULES = select(share_tally.c.rules).where(share_tally.c.rules != bindparam("rules")).limit(1)


async def recount_if_stale(engine: AsyncEngine) -> None:
    """Count the share's tally anew when any of its cells follows other rules than the file's now."""
    if (grid := share_grid()) is None:
        return
    async with transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"LOCK TABLE {share_tally.name} IN SHARE ROW EXCLUSIVE MODE"))
        if (await connection.execute(OTHER_RULES, {"rules": grid.fingerprint})).first() is None:
            return
        # ~30 s at 1M events on PostgreSQL (140,000 clients): a start that waits says why.
        log.info("the municipal share tally follows other rules than the file's: counting it anew before the "
                 "service starts")
        clients = await recount(connection)
    log.info("municipal share tally counted anew for the rule file", extra={"clients": clients})


async def recount(connection: AsyncConnection) -> int:
    """Replace every cell with those of the share inputs under the file's rules; the clients read."""
    (tally,) = SHARE_INPUTS.tallies
    await connection.execute(share_tally.delete())
    changes: dict[tuple, list[int]] = {}
    clients, after = 0, ""
    while rows := (await connection.execute(
            select(share_inputs).where(share_inputs.c.client_id > after)
            .order_by(share_inputs.c.client_id).limit(ROWS_AT_ONCE))).mappings().all():
        count_rows(changes, tally, rows)
        clients, after = clients + len(rows), rows[-1]["client_id"]
    await write(connection, Folded(LIVE.waiting, tallies={tally: changes}))
    return clients
