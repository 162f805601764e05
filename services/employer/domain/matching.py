"""Matching clients to work: an explainable score per candidate, its weights as data.

A candidate is an enrolled client of the area who is available (not in a full-time step). The
score adds up, each part with its reason: the work's requirement tags the client's skill tags meet,
living in a municipality where the work is, how free the client is, how long they have been
unemployed (the longest unemployed first), and the priority groups.
"""
import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from services.employer.domain.clients import ClientFacts


@dataclass(frozen=True)
class MatchingWeights:
    source: str
    requirements: int = 40
    municipality: int = 15
    availability: int = 15
    unemployment: int = 20
    unemployment_full_at_months: int = 36
    priority: int = 10
    full_time_hours: int = 30  # a client whose steps take this many hours a week is not available


WEIGHTS = MatchingWeights(source="Polku's matching weights, agreed with the Kemi employer coordinators; "
                                 "priority groups per RULES.md 'Eligibility and target groups'")


@dataclass(frozen=True)
class Work:
    """What a client is matched to: an opening, or the tasks of a gig job to be."""

    requirement_tags: frozenset[str]
    municipalities: frozenset[str]  # casefolded

    @classmethod
    def of(cls, requirement_tags: Iterable[str], municipalities: Iterable[str | None]) -> "Work":
        return cls(frozenset(requirement_tags), frozenset(place.casefold() for place in municipalities if place))


@dataclass(frozen=True)
class Candidate:
    client_id: UUID
    score: int
    reasons: tuple[str, ...]
    case_worker_id: str | None
    municipality: str | None
    age_band: str | None
    months_unemployed: int | None
    priority_groups: tuple[str, ...]
    skill_tags: tuple[str, ...]


def available(client: ClientFacts, weights: MatchingWeights = WEIGHTS) -> bool:
    return client.enrolled and not client.exited and client.hours_in_steps < weights.full_time_hours


def score(work: Work, client: ClientFacts, weights: MatchingWeights = WEIGHTS) -> float:
    total = weights.requirements * (len(work.requirement_tags & client.skill_tags) / len(work.requirement_tags)
                                    if work.requirement_tags else 1)
    if client.municipality and client.municipality.casefold() in work.municipalities:
        total += weights.municipality
    total += weights.availability * (1 - client.hours_in_steps / weights.full_time_hours)
    total += weights.unemployment * min(client.months_unemployed or 0, weights.unemployment_full_at_months) \
        / weights.unemployment_full_at_months
    if client.priority_groups:
        total += weights.priority
    return total


def explain(work: Work, client: ClientFacts, weights: MatchingWeights = WEIGHTS) -> Candidate:
    reasons = []
    if work.requirement_tags:
        met = sorted(work.requirement_tags & client.skill_tags)
        lacking = sorted(work.requirement_tags - client.skill_tags)
        reasons.append(f"meets {len(met)} of {len(work.requirement_tags)} requirement tags"
                       + (f": {', '.join(met)}" if met else "") + (f"; lacks {', '.join(lacking)}" if lacking else ""))
    else:
        reasons.append("the work has no requirement tags")
    if client.municipality and client.municipality.casefold() in work.municipalities:
        reasons.append(f"lives in {client.municipality}, where the work is")
    reasons.append("in no pathway step now" if client.hours_in_steps == 0
                   else f"in pathway steps {client.hours_in_steps} h a week")
    reasons.append(f"unemployed {client.months_unemployed} months" if client.months_unemployed is not None
                   else "length of unemployment not recorded")
    if client.priority_groups:
        reasons.append(f"priority groups: {', '.join(client.priority_groups)}")
    return Candidate(client_id=client.client_id, score=round(score(work, client, weights)), reasons=tuple(reasons),
                     case_worker_id=client.case_worker_id, municipality=client.municipality,
                     age_band=client.age_band, months_unemployed=client.months_unemployed,
                     priority_groups=client.priority_groups, skill_tags=tuple(sorted(client.skill_tags)))


def rank(work: Work, clients: Iterable[ClientFacts], limit: int = 50,
         weights: MatchingWeights = WEIGHTS) -> list[Candidate]:
    """The best `limit` available clients, best first; ties go to the longest unemployed, then by id."""
    scored = ((score(work, client, weights), client.months_unemployed or 0, str(client.client_id), client)
              for client in clients if available(client, weights))
    best = heapq.nsmallest(limit, scored, key=lambda item: (-item[0], -item[1], item[2]))
    return [explain(work, client, weights) for *_, client in best]

