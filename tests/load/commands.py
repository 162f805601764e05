"""The commands `make load` sends, as an integrated city system and the staff would, in one area.

Proportions per 100 commands: 40 referrals, 5 employer registrations, 20 placements, 20 timesheets,
15 invoices. Placements take clients enrolled in the seeding step (by then known to the employer
service, which hears of enrolments from the bus) and the seeded foundations with their partnership
agreements; timesheets and invoices go to employments made in the seeding step, each used by one
command at a time (two at once on one employment would be a legitimate 409, not an error of the system).
"""
import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import aiohttp

from services.demo import identity_code

AREA = "kemi"
MIX = (("referral", 40), ("employer", 5), ("placement", 20), ("timesheet", 20), ("invoice", 15))
FIRST_DAY = date(2026, 1, 1)


def business_id(serial: int) -> str:
    """A valid Y-tunnus of its own for each serial number (weights 7 9 10 5 8 4 2; a remainder of 1 has no
    check digit, so the next number of the serial's block of ten is taken)."""
    number = serial * 10
    while True:
        digits = f"{number % 10_000_000:07d}"
        remainder = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
        if remainder != 1:
            return f"{digits}-{0 if remainder == 0 else 11 - remainder}"
        number += 1


@dataclass
class Employment:
    employment_id: str
    employer_id: str  # an employer of its own: invoices are per employer, one command at a time on it
    next_day: date = FIRST_DAY
    uninvoiced: bool = False


@dataclass
class Workload:
    """The callers' commands; `send(kind)` sends one of the kinds in MIX and answers its HTTP status."""

    http: aiohttp.ClientSession
    url: Callable[[str], str]
    token: Callable[[str, str], str]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    enrolled: list[str] = field(default_factory=list)
    employers: list[str] = field(default_factory=list)  # the seeded foundations, with agreements
    placeable: list[str] = field(default_factory=list)  # clients enrolled in the seeding step
    employments: asyncio.Queue = field(default_factory=asyncio.Queue)
    serial: int = 0

    def choose(self) -> str:
        return self.rng.choices([kind for kind, _ in MIX], [weight for _, weight in MIX])[0]

    async def send(self, kind: str) -> int:
        return await getattr(self, kind)()

    async def _post(self, service: str, path: str, role: str, body: dict) -> tuple[int, dict]:
        async with self.http.post(f"{self.url(service)}{path}", json=body,
                                  headers={"Authorization": f"Bearer {self.token(role, AREA)}"}) as response:
            return response.status, await response.json(content_type=None)

    async def referral(self) -> int:
        self.serial += 1
        number = self.serial
        status, answer = await self._post("intake", "/clients", "integration", referral_body(number, self.rng))
        if status == 201 and answer["status"] == "enrolled":
            self.enrolled.append(answer["client_id"])
        return status

    async def employer(self, employer_type: str | None = None) -> int:
        self.serial += 1
        status, _ = await self._post("employer", "/employers", "employer_coordinator", {
            "business_id": business_id(1_000_000 + self.serial), "name": f"Load test employer {self.serial}",
            "employer_type": employer_type or self.rng.choice(("company", "association", "foundation", "city_unit")),
            "employment_area": AREA})
        return status

    async def placement(self) -> int:
        status, _ = await self._post("employer", "/placements", "employer_coordinator",
                                     self._placement_body(self.rng.choice(self.placeable)))
        return status

    def _placement_body(self, client_id: str) -> dict:
        """A pay subsidised job at a seeded foundation: the kind payroll opens an employment for."""
        return {"client_id": client_id, "employer_id": self.rng.choice(self.employers), "kind": "pay_subsidised_work",
                "starts_on": "2026-01-01", "schedule": {"hours_per_week": "10"}, "hourly_billing_rate": "24.50",
                "pay_subsidy_decision": "PT-LOAD-1"}

    async def timesheet(self) -> int:
        return await self._on_employment(invoice=False)

    async def invoice(self) -> int:
        return await self._on_employment(invoice=True)

    async def _on_employment(self, invoice: bool) -> int:
        employment: Employment = await self.employments.get()
        try:
            path = f"/employments/{employment.employment_id}"
            if invoice and employment.uninvoiced:
                status, _ = await self._post("payroll_billing", "/invoices", "payroll_clerk", {
                    "employer_id": employment.employer_id, "period_start": str(FIRST_DAY),
                    "period_end": str(employment.next_day), "issued_on": str(employment.next_day)})
                employment.uninvoiced = status != 201
                return status
            day = employment.next_day
            status, _ = await self._post("payroll_billing", f"{path}/timesheets", "payroll_clerk", {
                "period_start": str(day), "period_end": str(day), "days": [{"works_on": str(day), "hours": "7.5"}]})
            if status == 201:  # the next weekday: at most 5 days of pay subsidised work in a calendar week
                employment.next_day = day + timedelta(days=3 if day.weekday() == 4 else 1)
                employment.uninvoiced = True
            return status
        finally:
            self.employments.put_nowait(employment)

    async def _foundation(self) -> str:
        """A foundation with a partnership agreement for pay subsidised work."""
        self.serial += 1
        status, answer = await self._post("employer", "/employers", "employer_coordinator", {
            "business_id": business_id(1_000_000 + self.serial), "name": f"Load test foundation {self.serial}",
            "employer_type": "foundation", "employment_area": AREA})
        status, _ = await self._post("employer", f"/employers/{answer['employer_id']}/agreements",
                                     "employer_coordinator", {"scope": ["pay_subsidised_work"],
                                                              "valid_from": "2026-01-01", "valid_to": "2027-12-31"})
        if status != 201:
            raise RuntimeError(f"seeding an agreement answered {status}")
        return answer["employer_id"]

    async def seed(self, employers: int, employments: int) -> None:
        """Foundations with partnership agreements, enrolled clients and their placements (each at a
        foundation of its own: invoices are per employer, one command at a time on it), then waits for
        payroll to open each employment."""
        for _ in range(employers):
            self.employers.append(await self._foundation())
        await _all(self.referral() for _ in range(employments * 2))
        self.placeable = list(self.enrolled)
        placement_ids = []
        for _ in range(employments):
            client_id, own = self.enrolled.pop(), await self._foundation()
            for _ in range(300):  # until the employer service has heard of the enrolment
                status, answer = await self._post("employer", "/placements", "employer_coordinator",
                                                  self._placement_body(client_id) | {"employer_id": own})
                if status != 422:
                    break
                await asyncio.sleep(0.1)
            if status != 201:
                raise RuntimeError(f"seeding a placement answered {status}: {answer}")
            placement_ids.append((answer["placement_id"], own))
        clerk = {"Authorization": f"Bearer {self.token('payroll_clerk', AREA)}"}
        for placement_id, employer_id in placement_ids:
            for _ in range(300):
                async with self.http.get(f"{self.url('payroll_billing')}/employments/{placement_id}",
                                         headers=clerk) as response:
                    if response.status == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"payroll did not open the employment of placement {placement_id}")
            self.employments.put_nowait(Employment(placement_id, employer_id))


def referral_body(number: int, rng: random.Random) -> dict:
    """An eligible client three times in four, with a made-up person (a well-formed identity code)."""
    eligible = rng.random() < 0.75
    born = date(1970, 1, 1) + timedelta(days=rng.randrange(12_000))
    return {
        "programme": "kemi_model", "employment_area": AREA, "municipality": "Kemi", "referred_by": "te_office",
        "age": rng.randrange(18, 64), "gender": rng.choice(("female", "male", "non_binary")),
        "labour_market_subsidy_days": rng.randrange(320, 1500) if eligible else rng.randrange(0, 100),
        "unemployed_months": rng.randrange(13, 60) if eligible else rng.randrange(0, 5),
        "case_worker_id": f"cw-{number % 20}",
        "person": {"name": f"Kuormitus Testinen {number}",
                   "personal_identity_code": identity_code(born, "X" if born.year < 2000 else "B",
                                                           2 + number % 897),
                   "email": f"load.{number}@example.org", "phone": f"+358 40 555 {number % 10000:04d}"},
    }


async def _all(calls) -> None:
    for status in await asyncio.gather(*calls):
        if status != 201:
            raise RuntimeError(f"seeding answered {status}")
