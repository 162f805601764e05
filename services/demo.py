"""The demo cohort `make run` loads through the services' HTTP APIs: a small Kemi and Tornio history.

No real people. Each client has a made-up person (name, personal identity code, e-mail, phone, a
note) that goes to intake's vault only: names are invented, e-mails are at example.org (reserved
for examples), phone numbers are in 040 555 01xx, and identity codes are well-formed (check
character and all) with the century signs introduced in 2023 (Y, X, W for the 1900s; B, C for the
2000s), which few real codes use yet. Employers use valid but illustrative business IDs.
"""
import asyncio
from collections.abc import Callable
from datetime import date, timedelta

import aiohttp

from services.demo_payroll import load_payroll_demo, wait_for

REFERRALS = [
    # area, age, gender, subsidy days, unemployed months, TYP client (all to the Kemi model)
    ("kemi", 23, "male", 120, 8, True),
    ("kemi", 27, "female", 420, 14, False),
    ("kemi", 35, "female", 650, 30, False),
    ("kemi", 41, "male", 310, 11, False),
    ("kemi", 52, "male", 900, 40, False),
    ("kemi", 58, "female", 1300, 60, False),
    ("kemi", 31, "non_binary", 40, 3, False),  # not eligible
    ("tornio", 24, "female", 200, 13, False),
    ("tornio", 46, "male", 700, 26, False),
    ("tornio", 29, "male", 10, 2, False),  # not eligible
]
# A made-up person for each referral: name, birth date, century sign, individual number.
PERSONS = [
    ("Eero Esimerkkinen", date(2002, 3, 14), "B", 215),
    ("Aino Kuvitelmanen", date(1998, 11, 2), "Y", 486),
    ("Kaisa Demolahti", date(1990, 6, 30), "X", 342),
    ("Veikko Testimaa", date(1984, 1, 9), "W", 119),
    ("Lauri Malliniemi", date(1973, 8, 21), "Y", 577),
    ("Helmi Keksittylä", date(1967, 12, 5), "X", 248),
    ("Sasha Harjoituskoski", date(1994, 4, 17), "W", 631),
    ("Iida Satumaa-Demo", date(2001, 9, 27), "C", 804),
    ("Onni Kokeilujärvi", date(1979, 2, 11), "Y", 153),
    ("Toivo Näytevaara", date(1996, 7, 3), "X", 390),
]
AREAS = ("kemi", "tornio")
# business id, name, type, area, municipality, what its partnership agreement covers
EMPLOYERS = [
    ("0210427-6", "Kemin kaupunki", "city_unit", "kemi", "Kemi", ("work_trial", "rehabilitative_work", "gig_work")),
    ("2719034-2", "Meri-Lapin Kierrätysyhdistys ry (demo)", "association", "kemi", "Kemi",
     ("rehabilitative_work", "gig_work")),
    ("2876543-5", "Meri-Lapin työhönvalmennussäätiö sr (demo)", "foundation", "kemi", "Kemi",
     ("pay_subsidised_work",)),
    ("3012345-8", "Kemin Kauppa Oy (demo)", "company", "kemi", "Kemi", ("gig_work", "apprenticeship", "recruitment")),
    ("1013712-3", "Perämeren Konepaja Oy (demo)", "company", "tornio", "Tornio", ("work_trial",)),
    ("2456789-6", "Tornionlaakson työvalmennus sr (demo)", "foundation", "tornio", "Tornio", ("pay_subsidised_work",)),
]
# employer index, title, hours a week, requirement tags, source
OPENINGS = [
    (3, "Myyjä-oppisopimusopiskelija", "30", ("customer_service",), "advertised"),
    (0, "Kiinteistönhoitaja", "37.5", ("outdoor_maintenance",), "hidden"),
    (1, "Kierrätystyöntekijä", "25", ("recycling",), "hidden"),
]
# employer index, date, from, to: three employers' tasks, pooled into one gig job of 20 hours a week
GIG_TASKS = [
    (0, "2026-09-07", "08:00", "15:00"), (1, "2026-09-08", "09:00", "16:00"), (3, "2026-09-09", "10:00", "16:00"),
    (0, "2026-09-14", "08:00", "15:00"), (1, "2026-09-15", "09:00", "16:00"), (3, "2026-09-16", "10:00", "16:00"),
]
GIG_WORKER = 0  # the client the gig job is pooled for
# client index, employer index, kind, schedule, billing rate, opening filled, ending (date, how); the
# payroll clerk's part (hours, wages, invoices, payments, claims) is services/demo_payroll.py
PLACEMENTS = [
    (1, 2, "pay_subsidised_work", {"hours_per_week": "30"}, "0.00", None, None),
    (2, 0, "work_trial", {"days_per_week": 4, "hours_per_day": "6", "hours_per_week": "24"}, "0.00", None,
     ("2026-11-13", "completed")),
    (3, 1, "rehabilitative_work", {"days_per_week": 3, "hours_per_day": "5", "hours_per_week": "15"}, "0.00", 2,
     ("2026-10-30", "interrupted_by_client")),
    (4, 3, "apprenticeship", {"hours_per_week": "30"}, "0.00", 0, ("2026-11-20", "hired_by_employer")),
    (5, 3, "open_market", {"hours_per_week": "37.5"}, "0.00", None, ("2026-11-27", "other")),
    (7, 4, "work_trial", {"days_per_week": 5, "hours_per_day": "6", "hours_per_week": "30"}, "0.00", None,
     ("2026-10-16", "interrupted_by_employer")),
    (8, 5, "pay_subsidised_work", {"hours_per_week": "25"}, "0.00", None, None),
]


Tokens = Callable[[str, str], str]  # (role, employment area) -> a bearer token


def identity_code(born: date, century_sign: str, individual: int) -> str:
    """A well-formed henkilötunnus: DDMMYY, the century sign, the individual number, the check character."""
    digits = f"{born:%d%m%y}{individual:03d}"
    return f"{born:%d%m%y}{century_sign}{individual:03d}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(digits) % 31]


def demo_person(number: int) -> dict[str, str]:
    """The made-up person of referral `number` (from 1), as POST /clients takes it in `person`."""
    name, born, sign, individual = PERSONS[number - 1]
    ascii_name = name.lower().translate(str.maketrans("äöå", "aoa")).replace(" ", ".")
    return {"name": name, "personal_identity_code": identity_code(born, sign, individual),
            "email": f"{ascii_name}@example.org", "phone": f"+358 40 555 01{number:02d}",
            "notes": f"Demo note {number}: prefers appointments in the morning, "
                     f"interested in {_INTERESTS[number % 4]}."}


_INTERESTS = ("warehouse work", "cooking", "recycling workshops", "outdoor maintenance")


async def load_demo(url: Callable[[str], str], token: Tokens) -> dict[str, int]:
    """Drives the demo flow; `url(service)` gives each service's base URL, `token(role, area)` a
    bearer token. Each request acts as the role that does it in real life. Returns what it created."""
    def auth(role: str, area: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, area)}"}

    async with aiohttp.ClientSession(raise_for_status=True) as http:
        clients = []
        for number, (area, age, gender, days, months, typ) in enumerate(REFERRALS, start=1):
            async with http.post(f"{url('intake')}/clients", headers=auth("integration", area), json={
                "programme": "kemi_model", "employment_area": area, "municipality": area.capitalize(),
                "referred_by": "te_office",
                "age": age, "gender": gender, "labour_market_subsidy_days": days, "unemployed_months": months,
                "in_multisectoral_service": typ, "case_worker_id": f"cw-{area}-{number % 3 + 1}",
                "person": demo_person(number),
            }) as response:
                clients.append(((await response.json())["client_id"], area))
        employers = await _employers(http, url, auth)
        openings = []
        for employer, title, hours, tags, source in OPENINGS:
            employer_id, area = employers[employer]
            async with http.post(f"{url('employer')}/openings", headers=auth("employer_coordinator", area), json={
                "employer_id": employer_id, "title": title, "hours_per_week": hours, "starts_on": "2026-09-01",
                "requirement_tags": list(tags), "source": source,
            }) as response:
                openings.append((await response.json())["opening_id"])
        placements = [await _gig_job(http, url, auth, employers, clients[GIG_WORKER][0])]
        for client, employer, kind, schedule, rate, opening, ending in PLACEMENTS:
            employer_id, area = employers[employer]
            coordinator = auth("employer_coordinator", area)
            placement = await _once_client_known(http, f"{url('employer')}/placements", coordinator, {
                "client_id": clients[client][0], "employer_id": employer_id, "kind": kind, "starts_on": "2026-09-01",
                "planned_end_on": "2027-02-26", "schedule": schedule, "hourly_billing_rate": rate,
                "opening_id": openings[opening] if opening is not None else None,
                "pay_subsidy_decision": "PT-2026-0815" if kind == "pay_subsidised_work" else None})
            placements.append((placement["placement_id"], area))
            if ending:
                await http.post(f"{url('employer')}/placements/{placement['placement_id']}/ending",
                                headers=coordinator, json={"ended_on": ending[0], "ending": ending[1]})
        paid = await load_payroll_demo(http, url("payroll_billing"), auth, placements, employers)
        journeys = await load_journeys(http, url, auth)
    return {"clients": len(clients) + journeys, "employers": len(employers), "placements": len(placements), **paid}


# Whole journeys that have ended, one of each status at exit; the own case worker is the one whose
# token the demo is given, so that token sees them in GET /caseload and GET /follow-ups.
# area, age, gender, programme, referred on, exited on, status at exit, qualification, six-month status
JOURNEYS = [
    ("kemi", 33, "female", "kemi_model", "2025-03-03", "2025-11-28", "employed_company", False, "employed_company"),
    ("kemi", 45, "male", "pointti", "2025-04-01", "2025-12-15", "employed_association", False, "unemployed"),
    ("kemi", 22, "male", "typ_need_assessment", "2025-05-05", "2026-01-30", "employed_foundation", True, None),
    ("kemi", 38, "female", "municipal_trial", "2025-06-02", "2026-02-27", "employed_city_unit", False, None),
    ("kemi", 50, "male", "kemi_model", "2025-08-04", "2026-03-31", "employed_other_public", False, None),
    ("kemi", 29, "female", "kemi_model", "2025-09-01", "2026-04-30", "self_employed", False, None),
    ("tornio", 20, "female", "typ_need_assessment", "2025-10-06", "2026-05-29", "in_education_or_training", True, None),
    ("tornio", 41, "male", "kemi_model", "2025-11-03", "2026-06-30", "in_rehabilitation", False, None),
    ("kemi", 57, "male", "kemi_model", "2026-01-05", "2026-07-31", "unemployed", False, None),
    ("kemi", 36, "female", "pointti", "2026-02-02", "2026-08-31", "inactive", False, None),
    ("tornio", 31, "male", "kemi_model", "2026-03-02", "2026-09-30", "moved_away", False, None),
    ("kemi", 44, "female", "kemi_model", "2026-04-01", "2026-10-30", "other", False, None),
]
RETURNING = 8  # the client who left unemployed comes back: a second enrolment period
SECOND_STEPS = [("coaching", "foundation"), ("training", "education_provider"), ("studies", "education_provider"),
                ("own_business", "te_office")]


async def load_journeys(http: aiohttp.ClientSession, url: Callable[[str], str],
                        auth: Callable[[str, str], dict[str, str]]) -> int:
    """Referral, a start period and coaching on the pathway, the exit, and the follow-up where it was due
    and recorded; one client returns. Returns how many clients it referred."""
    for number, (area, age, gender, programme, referred_on, exited_on, status, qualified, six_months) in enumerate(
            JOURNEYS):
        case_worker = auth("case_worker", area)
        async with http.get(f"{url('intake')}/caseload", headers=case_worker) as response:
            own_id = (await response.json())["case_worker_id"]
        async with http.post(f"{url('intake')}/clients", headers=auth("integration", area), json={
            "programme": programme, "employment_area": area, "municipality": area.capitalize(),
            "referred_by": "city", "age": age, "gender": gender, "labour_market_subsidy_days": 420,
            "unemployment_benefit_days": 520, "unemployed_months": 14, "in_multisectoral_service": number % 3 == 0,
            "immigrant": number % 4 == 1, "education_level": f"isced_{number % 9}", "referred_on": referred_on,
            "case_worker_id": own_id,
        }) as response:
            client_id = (await response.json())["client_id"]
        pathway = f"{url('pathway')}/clients/{client_id}/pathway"
        await wait_for(http, pathway, case_worker)
        await _walk_pathway(http, pathway, case_worker, date.fromisoformat(referred_on), number)
        client = f"{url('intake')}/clients/{client_id}"
        left = date.fromisoformat(exited_on)
        await http.post(f"{client}/exit", headers=case_worker, json={
            "exited_on": exited_on, "status_at_exit": status, "status_on": str(left + timedelta(days=14)),
            "qualification_gained": qualified})
        if six_months:
            await http.post(f"{client}/periods/1/follow-up", headers=case_worker, json={
                "status": six_months, "status_on": str(left + timedelta(days=190))})
        if number == RETURNING:
            await http.post(f"{client}/referrals", headers=case_worker, json={
                "programme": "kemi_model", "employment_area": area, "municipality": area.capitalize(),
                "referred_by": "te_office", "age": age, "gender": gender, "labour_market_subsidy_days": 480,
                "unemployed_months": 17, "referred_on": "2026-10-05", "case_worker_id": own_id})
    return len(JOURNEYS)


async def _walk_pathway(http: aiohttp.ClientSession, pathway: str, case_worker: dict[str, str], enrolled: date,
                        number: int) -> None:
    """A start period of a month, then coaching, training, studies or a business of one's own, completed
    or (every third client) interrupted."""
    await http.post(f"{pathway}/goal", headers=case_worker,
                    json={"goal": ("employment", "training", "rehabilitation", "entrepreneurship")[number % 4]})
    start_period = await _plan(http, pathway, case_worker, {
        "step_kind": "start_period", "planned_start_on": str(enrolled), "planned_end_on": str(enrolled + timedelta(30)),
        "days_per_week": 2, "hours_per_day": "4", "provider": "city"})
    await http.post(f"{pathway}/steps/{start_period}/start", headers=case_worker, json={"started_on": str(enrolled)})
    await http.post(f"{pathway}/steps/{start_period}/completion", headers=case_worker,
                    json={"completed_on": str(enrolled + timedelta(30))})
    second_start = enrolled + timedelta(35)
    kind, provider = SECOND_STEPS[number % len(SECOND_STEPS)]
    second = await _plan(http, pathway, case_worker, {
        "step_kind": kind, "planned_start_on": str(second_start),
        "planned_end_on": str(second_start + timedelta(120)), "days_per_week": 3, "hours_per_day": "5",
        "provider": provider})
    await http.post(f"{pathway}/steps/{second}/start", headers=case_worker, json={"started_on": str(second_start)})
    if number % 3 == 2:
        await http.post(f"{pathway}/steps/{second}/interruption", headers=case_worker, json={
            "interrupted_on": str(second_start + timedelta(40)), "reason": "client_illness"})
    else:
        await http.post(f"{pathway}/steps/{second}/completion", headers=case_worker,
                        json={"completed_on": str(second_start + timedelta(120))})


async def _plan(http: aiohttp.ClientSession, pathway: str, case_worker: dict[str, str], step: dict) -> str:
    async with http.post(f"{pathway}/steps", headers=case_worker, json=step) as response:
        body = await response.json()
    return next(planned["step_id"] for planned in body["steps"] if planned["state"] == "planned")


async def _employers(http: aiohttp.ClientSession, url: Callable[[str], str], auth) -> list[tuple[str, str]]:
    """The employers, each with its partnership agreement."""
    employers = []
    for business_id, name, employer_type, area, municipality, scope in EMPLOYERS:
        coordinator = auth("employer_coordinator", area)
        async with http.post(f"{url('employer')}/employers", headers=coordinator, json={
            "business_id": business_id, "name": name, "employer_type": employer_type, "employment_area": area,
            "municipality": municipality,
        }) as response:
            employer_id = (await response.json())["employer_id"]
        await http.post(f"{url('employer')}/employers/{employer_id}/agreements", headers=coordinator, json={
            "scope": list(scope), "valid_from": "2026-01-01", "valid_to": "2027-12-31"})
        employers.append((employer_id, area))
    return employers


async def _gig_job(http: aiohttp.ClientSession, url: Callable[[str], str], auth, employers: list[tuple[str, str]],
                   client_id: str) -> tuple[str, str]:
    """Gig tasks of three Kemi employers, a proposal the case worker accepts, and the pooled gig job."""
    coordinator = auth("employer_coordinator", "kemi")
    task_ids = []
    for employer, day, starts_at, ends_at in GIG_TASKS:
        async with http.post(f"{url('employer')}/gig-tasks", headers=coordinator, json={
            "employer_id": employers[employer][0], "works_on": day, "starts_at": starts_at, "ends_at": ends_at,
            "municipality": "Kemi", "place": EMPLOYERS[employer][1], "requirement_tags": ["cleaning"],
            "hourly_billing_rate": "26.00",
        }) as response:
            task_ids.append((await response.json())["task_id"])
    foundation = next(employers[index][0] for index, (_, _, employer_type, area, _, _) in enumerate(EMPLOYERS)
                      if (employer_type, area) == ("foundation", "kemi"))
    await _once_client_known(http, f"{url('employer')}/proposals", coordinator,
                             {"client_id": client_id, "task_ids": task_ids})
    placement = await _once_client_known(http, f"{url('employer')}/gig-jobs", coordinator, {
        "client_id": client_id, "foundation_id": foundation, "task_ids": task_ids})
    return placement["placement_id"], "kemi"


async def _once_client_known(http: aiohttp.ClientSession, target: str, headers: dict[str, str], body: dict,
                             timeout_s: float = 30.0) -> dict:
    """POSTs once the employer service has heard of the client's enrolment from the bus (until then
    it refuses, naming client_id, and writes nothing)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        async with http.post(target, headers=headers, json=body, raise_for_status=False) as response:
            answer = await response.json()
            if response.status == 201:
                return answer
            if response.status != 422 or answer["errors"][0]["field"] != "client_id":
                raise RuntimeError(f"POST {target} answered {response.status}: {answer['detail']}")
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the employer service did not hear of client {body['client_id']} in {timeout_s} s")
        await asyncio.sleep(0.1)

