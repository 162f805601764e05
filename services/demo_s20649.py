"""`polku demo --cohort s20649`: a cohort shaped like the seed ESF project S20649 (Kemi, 2015-2019),
loaded through the HTTP APIs into a running system (`make run`).

The seed's final figures (ESF project S20649; docs: README, "The follow-up system"): 317 clients,
of whom 93 were employed by companies, 43 by associations, 12 by foundations, 4 started a business
and 44 started studies. The rest of the cohort below is made up to add up to 317 (the seed does not
break it down): left unemployed, into rehabilitation, other, or still enrolled. No real people:
clients are anonymous referrals from an integrated system (no personal data), ages, genders and
subsidy days follow a fixed pattern.
"""
import asyncio
from collections.abc import Callable
from datetime import date, timedelta

import aiohttp

# status at exit (None: still enrolled), clients: the seed's five outcomes, then the made-up rest
COHORT = (
    ("employed_company", 93), ("employed_association", 43), ("employed_foundation", 12), ("self_employed", 4),
    ("in_education_or_training", 44),
    ("unemployed", 61), ("in_rehabilitation", 25), ("other", 15), (None, 20),
)
AREA = "kemi"
FIRST_REFERRAL = date(2015, 9, 1)
AGES = (22, 27, 34, 41, 48, 56, 60)
GENDERS = ("female", "male", "male", "female", "non_binary", "female", "male")
CONCURRENCY = 8


def cohort_size() -> int:
    return sum(count for _, count in COHORT)


async def load_s20649(url: Callable[[str], str], token: Callable[[str, str], str]) -> dict[str, int]:
    """Refers, enrolls and exits the cohort; returns the clients per status at exit (`enrolled`: no exit)."""
    integration = {"Authorization": f"Bearer {token('integration', AREA)}"}
    case_worker = {"Authorization": f"Bearer {token('case_worker', AREA)}"}
    statuses = [status for status, count in COHORT for _ in range(count)]
    created: dict[str, int] = {}
    slots = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        async with http.get(f"{url('intake')}/caseload", headers=case_worker) as response:
            own_id = (await response.json())["case_worker_id"]

        async def one(number: int, status: str | None) -> None:
            referred_on = FIRST_REFERRAL + timedelta(days=(number * 5) % 1200)
            async with slots:
                async with http.post(f"{url('intake')}/clients", headers=integration, json={
                    "programme": "kemi_model", "employment_area": AREA, "municipality": "Kemi",
                    "referred_by": "te_office", "age": AGES[number % len(AGES)],
                    "gender": GENDERS[number % len(GENDERS)], "labour_market_subsidy_days": 301 + (number * 37) % 900,
                    "unemployed_months": 13 + number % 30, "in_multisectoral_service": number % 4 == 0,
                    "referred_on": referred_on.isoformat(), "case_worker_id": own_id,
                }) as response:
                    client_id = (await response.json())["client_id"]
                if status is not None:
                    left = referred_on + timedelta(days=120 + (number * 11) % 400)
                    await http.post(f"{url('intake')}/clients/{client_id}/exit", headers=case_worker, json={
                        "exited_on": left.isoformat(), "status_at_exit": status,
                        "status_on": (left + timedelta(days=7)).isoformat(),
                        "qualification_gained": status == "in_education_or_training" and number % 3 == 0})
            created[status or "enrolled"] = created.get(status or "enrolled", 0) + 1

        await asyncio.gather(*(one(number, status) for number, status in enumerate(statuses)))
    return created
