"""HTTP API of the caseload: a case worker's own clients and follow-ups due; a manager's view of the
area per case worker. Anonymous facts only."""
from datetime import date
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contracts.events.intake import ClientStatus
from contracts.events.pathway import StepKind
from contracts.values import Text
from services.intake import caseload
from services.intake.domain.journey import follow_up_overdue_from, timing
from services.platform.errors import Forbidden
from services.platform.http import RUNTIME, Route, principal_of


class CaseloadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ClientStatus | None = None
    step: StepKind | None = Field(default=None, description="the kind of the client's current step")
    case_worker_id: Text | None = Field(default=None, max_length=64, description="a manager's choice of case worker")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class CaseloadClient(BaseModel):
    client_id: UUID
    status: ClientStatus
    period: int
    programme: str
    referred_on: date
    current_step_kind: str | None
    exited_on: date | None


class CaseWorkerLoad(BaseModel):
    case_worker_id: str
    clients_by_status: dict[str, int]


class Caseload(BaseModel):
    """`clients` is one case worker's list (page by page); `case_workers` is a manager's overview."""

    case_worker_id: str | None
    total: int
    limit: int
    offset: int
    clients: list[CaseloadClient]
    case_workers: list[CaseWorkerLoad] | None


class FollowUpsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_by: date | None = Field(default=None, description="follow-ups due by this day; today when not given")


class FollowUpDue(BaseModel):
    client_id: UUID
    case_worker_id: str | None
    period: int
    exited_on: date
    due_on: date
    overdue: bool


class FollowUps(BaseModel):
    due_by: date
    rule: str
    follow_ups: list[FollowUpDue]


def _whose(request: web.Request, asked: str | None) -> str | None:
    """A case worker sees their own caseload only; a manager any case worker's of the area, or all."""
    actor = principal_of(request)
    if "manager" in actor.roles:
        return asked
    if asked not in (None, actor.user_id):
        raise Forbidden(f"case worker {actor.user_id} sees their own caseload only, not {asked}'s")
    return actor.user_id


async def get_caseload(request: web.Request, query: CaseloadQuery) -> Caseload:
    area, whose = principal_of(request).area, _whose(request, query.case_worker_id)
    async with request.app[RUNTIME].engine.connect() as connection:
        if whose is None:
            loads: dict[str, dict[str, int]] = {}
            for row in await caseload.per_case_worker(connection, area):
                loads.setdefault(row["case_worker_id"], {})[row["status"]] = row["clients"]
            return Caseload(case_worker_id=None, total=sum(sum(load.values()) for load in loads.values()),
                            limit=query.limit, offset=query.offset, clients=[],
                            case_workers=[CaseWorkerLoad(case_worker_id=worker, clients_by_status=load)
                                          for worker, load in loads.items()])
        page = await caseload.clients_of(connection, area, whose, query.status, query.step, query.limit, query.offset)
    return Caseload(case_worker_id=whose, total=page.total, limit=query.limit, offset=query.offset,
                    clients=[CaseloadClient(**row) for row in page.rows], case_workers=None)


async def get_follow_ups(request: web.Request, query: FollowUpsQuery) -> FollowUps:
    today = date.today()
    due_by = query.due_by or today
    async with request.app[RUNTIME].engine.connect() as connection:
        rows = await caseload.follow_ups_due(connection, principal_of(request).area, _whose(request, None), due_by)
    rule, overdue = timing("six_month_follow_up", today), timing("follow_up_overdue", today)
    return FollowUps(due_by=due_by, rule=f"due {rule.months} months after leaving ({rule.cited_source}), overdue "
                                         f"{overdue.days} days later ({overdue.cited_source})",
                     follow_ups=[FollowUpDue(client_id=row["client_id"], case_worker_id=row["case_worker_id"],
                                             period=row["period"], exited_on=row["exited_on"],
                                             due_on=row["due_on"],
                                             overdue=today >= follow_up_overdue_from(row["exited_on"]))
                                 for row in rows])


ROUTES = [
    Route("GET", "/caseload", get_caseload, "A case worker's own clients (?status, ?step, ?limit, ?offset); for a "
          "manager the area's caseload per case worker, or one case worker's list (?case_worker_id)",
          response=Caseload, query=CaseloadQuery),
    Route("GET", "/follow-ups", get_follow_ups, "Six-month follow-ups due and overdue (?due_by): a case worker's "
          "own, or for a manager the whole area's", response=FollowUps, query=FollowUpsQuery),
]
