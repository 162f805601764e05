"""The demo cohort `make run` loads through the services' HTTP APIs: a small Kemi and Tornio history.

No real people. Each client has a made-up person (name, personal identity code, e-mail, phone, a
note) that goes to intake's vault only: names are invented, e-mails are at example.org (reserved
for examples), phone numbers are in 040 555 01xx, and identity codes are well-formed (check
character and all) with the century signs introduced in 2023 (Y, X, W for the 1900s; B, C for the
2000s), which few real codes use yet. Employers use valid but illustrative business IDs.
"""
from collections.abc import Callable
from datetime import date

import aiohttp

from services.demo_payroll import load_payroll_demo

REFERRALS = [
    # area, age, gender, subsidy days, unemployed months, TYP client
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
EMPLOYERS = [
    ("0210427-6", "Kemin kaupunki", "city_unit", "kemi"),
    ("2719034-2", "Meri-Lapin Kierrätysyhdistys ry (demo)", "association", "kemi"),
    ("1013712-3", "Perämeren Konepaja Oy (demo)", "company", "tornio"),
    # The foundation employs gig workers and hosts pay subsidised jobs; its Y-tunnus is the seller's.
    ("2345670-5", "Meri-Lapin työhönvalmennussäätiö sr (demo)", "foundation", "kemi"),
]
# client index, employer index, kind, hourly billing rate (payroll and billing: services/demo_payroll.py)
PLACEMENTS = [
    (1, 0, "pay_subsidised_work", "0.00"),
    (2, 1, "gig_work", "24.50"),
    (4, 1, "gig_work", "24.50"),
    (5, 0, "work_trial", "0.00"),
    (8, 2, "gig_work", "31.00"),
    (0, 3, "pay_subsidised_work", "0.00"),
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
                "employment_area": area, "municipality": area.capitalize(), "referred_by": "te_office",
                "age": age, "gender": gender, "labour_market_subsidy_days": days, "unemployed_months": months,
                "in_multisectoral_service": typ, "case_worker_id": f"cw-{area}-{number % 3 + 1}",
                "person": demo_person(number),
            }) as response:
                clients.append(((await response.json())["client_id"], area))
        employers = []
        for business_id, name, employer_type, area in EMPLOYERS:
            async with http.post(f"{url('employer')}/employers", headers=auth("employer_coordinator", area), json={
                "business_id": business_id, "name": name, "employer_type": employer_type, "employment_area": area,
            }) as response:
                employers.append(((await response.json())["employer_id"], area))
        placements = []
        for client, employer, kind, rate in PLACEMENTS:
            employer_id, area = employers[employer]
            async with http.post(f"{url('employer')}/placements", headers=auth("employer_coordinator", area), json={
                "client_id": clients[client][0], "employer_id": employer_id, "kind": kind,
                "starts_on": "2026-09-01", "hourly_billing_rate": rate,
            }) as response:
                placements.append(((await response.json())["placement_id"], area))
        paid = await load_payroll_demo(http, url('payroll_billing'), auth, placements, employers)
    return {"clients": len(clients), "employers": len(employers), "placements": len(placements), **paid}
