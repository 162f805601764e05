"""Retention: the personal data of a referral that never led to an enrolment is erased automatically
when the period of services/intake/retention.yaml has passed since the client's last referral.

One code for both ways it runs: a task in intake (every POLKU_RETENTION_INTERVAL_S) and `polku intake
erase-expired` for an operator or cron. Each client is erased in a transaction of its own, through the
same decision and vault shredding as an erasure on request, acting as `polku-retention` (audited)."""
import asyncio
import logging
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import yaml
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake import caseload
from services.intake.domain.client import CLIENT
from services.intake.domain.consent import erase_after_retention
from services.intake.tables import caseload as caseload_table, vault
from services.intake.vault import scrub, shred
from services.platform.auth import Principal
from services.platform.errors import ConcurrencyConflict
from services.platform.event_store import Cause
from services.platform.rules import SourcedRule
from services.platform.unit_of_work import UnitOfWork

RETENTION_FILE = Path(__file__).with_name("retention.yaml")
ACTOR = "polku-retention"
PURPOSE = "retention_erasure"  # services/purposes.yaml
NEVER_ENROLLED = ("referred", "not_eligible")
log = logging.getLogger(__name__)


class RetentionRule(SourcedRule):
    name: str
    days: int


@cache
def rules(path: Path = RETENTION_FILE) -> tuple[RetentionRule, ...]:
    return tuple(RetentionRule.model_validate(row) for row in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"])


def rule_on(day: date) -> RetentionRule:
    in_force = [rule for rule in rules() if rule.name == "referral_not_enrolled" and rule.in_force(day)]
    if len(in_force) != 1:
        raise ValueError(f"{RETENTION_FILE}: {len(in_force)} rules referral_not_enrolled in force on {day}; "
                         "exactly one must be")
    return in_force[0]


async def erase_expired(engine: AsyncEngine, today: date, on_commit=None) -> list[str]:
    """Erase every client whose retention ended by `today`; returns their ids."""
    rule = rule_on(today)
    referred_by = today - timedelta(days=rule.days)
    with suppress_instrumentation():  # a run that finds nobody is no flow an operator follows
        async with engine.connect() as connection:
            candidates = (await connection.execute(
                select(caseload_table.c.client_id, caseload_table.c.employment_area)
                .join(vault, vault.c.client_id == caseload_table.c.client_id)
                .where(caseload_table.c.status.in_(NEVER_ENROLLED), caseload_table.c.referred_on <= referred_by)
                .order_by(caseload_table.c.referred_on, caseload_table.c.client_id))).all()
    erased = []
    for client_id, area in candidates:
        actor = Principal(ACTOR, frozenset({"manager"}), area)
        try:
            async with UnitOfWork(engine, "intake", Cause.new(), on_commit, actor=actor, purpose=PURPOSE) as uow:
                client = await uow.decide(CLIENT, client_id, lambda client: erase_after_retention(
                    client, client_id, today, referred_by))
                if client.erased_on != today:
                    continue  # enrolled after all, or erased meanwhile
                await caseload.save(uow.connection, client_id, client)
                await shred(uow.connection, client_id)
        except ConcurrencyConflict:  # another instance (or a person) changed the client meanwhile: next run
            continue
        erased.append(client_id)
    if erased:
        await scrub(engine)
        log.info("personal data erased after the retention period",
                 extra={"clients": len(erased), "rule": rule.name, "days": rule.days})
    return erased


async def erase_expired_periodically(runtime) -> None:
    """Intake's task: erase what expired, then every POLKU_RETENTION_INTERVAL_S; a failed run is logged and
    tried again at the next interval (a database outage is no reason to stop the service)."""
    while True:
        try:
            await erase_expired(runtime.engine, date.today(), runtime.wake_relay)
        except Exception:
            log.exception("retention erasure failed; tried again at the next interval")
        await asyncio.sleep(runtime.settings.retention_interval_s)
