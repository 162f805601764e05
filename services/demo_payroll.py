"""The payroll clerk's part of the demo, after the placements of services/demo.py:

- wage terms and September's timesheets: the pooled gig job's hours per task, the foundation's pay
  subsidised jobs, and the days of the work trials and the rehabilitative work;
- a payroll run per area for September;
- the gig job's month invoiced to the three employers whose tasks it did;
- the bank's camt.054 paying two of them (by the RF and by the Finnish reference) with one payment
  that matches nothing; the third left overdue, noted and reminded;
- a pay subsidy claim per area and a Kemi-lisä claim for the Kemi foundation's job.
"""
import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import aiohttp

# Indexes into services/demo.py's placements (the gig job first, then PLACEMENTS) and EMPLOYERS.
GIG_JOB, KEMI_SUBSIDISED, KEMI_TRIAL, KEMI_REHABILITATIVE, TORNIO_TRIAL, TORNIO_SUBSIDISED = 0, 1, 2, 3, 6, 7
GIG_EMPLOYERS = (0, 1, 3)  # the city, the association, the shop: the employers of the pooled tasks
SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))
# placement -> hourly wage, hours a week, last day of a fixed-term contract
WAGES = {GIG_JOB: ("12.37", "20", None), KEMI_SUBSIDISED: ("11.93", "30", "2027-04-30"),
         TORNIO_SUBSIDISED: ("13.21", "25", "2027-02-26")}
# placement -> the weekdays worked (0 is Monday) and the hours of each
ATTENDANCE = {KEMI_SUBSIDISED: ((0, 1, 2, 3, 4), "6"), KEMI_TRIAL: ((0, 1, 2, 3), "6"),
              KEMI_REHABILITATIVE: ((0, 2, 4), "5"), TORNIO_TRIAL: ((0, 1, 2, 3, 4), "6"),
              TORNIO_SUBSIDISED: ((0, 1, 2, 3, 4), "5")}
# placement -> pay subsidy percent and monthly cap (the decision's period is its contract's)
PAY_SUBSIDIES = {KEMI_SUBSIDISED: (50, "1260.00"), TORNIO_SUBSIDISED: (70, "1770.00")}

Auth = Callable[[str, str], dict[str, str]]


def days_of(weekdays: tuple[int, ...], start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)
            if (start + timedelta(days=n)).weekday() in weekdays]


async def load_payroll_demo(http: aiohttp.ClientSession, payroll: str, auth: Auth,
                            placements: list[tuple[str, str]], employers: list[tuple[str, str]]) -> dict[str, int]:
    for index in (GIG_JOB, *ATTENDANCE):
        placement_id, area = placements[index]
        clerk, employment = auth("payroll_clerk", area), f"{payroll}/employments/{placement_id}"
        opened = await wait_for(http, employment, clerk, needs_tasks=index == GIG_JOB)
        if index in WAGES:
            wage, per_week, fixed_term_until = WAGES[index]
            await _post(http, f"{employment}/wage-terms", headers=clerk, json={
                "hourly_wage": wage, "hours_per_week": per_week, "valid_from": "2026-09-01",
                "collective_agreement": "Yleinen työehtosopimus (demo)", "fixed_term_until": fixed_term_until})
        if index == GIG_JOB:  # each task as pooled
            days = [{"works_on": task["works_on"], "hours": task["hours"], "task_id": task["task_id"]}
                    for task in opened["tasks"]]
        else:
            weekdays, hours = ATTENDANCE[index]
            days = [{"works_on": str(day), "hours": hours} for day in days_of(weekdays, *SEPTEMBER)]
        await _post(http, f"{employment}/timesheets", headers=clerk, json={
            "period_start": str(SEPTEMBER[0]), "period_end": str(SEPTEMBER[1]), "days": days})
    runs = 0
    for area in ("kemi", "tornio"):
        await _post(http, f"{payroll}/payroll-runs", headers=auth("payroll_clerk", area), json={
            "pay_period": "month", "period_start": str(SEPTEMBER[0]), "period_end": str(SEPTEMBER[1])})
        runs += 1
    issued = []
    for employer in GIG_EMPLOYERS:
        employer_id, area = employers[employer]
        issued.append(await _post(http, f"{payroll}/invoices", headers=auth("payroll_clerk", area), json={
            "employer_id": employer_id, "period_start": str(SEPTEMBER[0]), "period_end": str(SEPTEMBER[1]),
            "issued_on": "2026-10-01"}))
    payments = await _pay_and_remind(http, payroll, auth("payroll_clerk", "kemi"), issued)
    claims = await _claim(http, payroll, auth, placements)
    return {"invoices": len(issued), "payroll_runs": runs, "payments": payments, "claims": claims}


async def _pay_and_remind(http: aiohttp.ClientSession, payroll: str, clerk: dict[str, str],
                          issued: list[dict]) -> int:
    city, association, shop = issued
    notification = bank_notification(("DEMO-1", city["total"], city["rf_reference"]),
                                     ("DEMO-2", association["total"], association["reference"]),
                                     ("DEMO-3", "50.00", "12344"), booked_on=date(2026, 10, 14))
    await _post(http, f"{payroll}/payments/camt054", headers=clerk | {"Content-Type": "application/xml"},
                    data=notification)
    reminded_on = date.fromisoformat(shop["due_on"]) + timedelta(days=14)
    await _post(http, f"{payroll}/invoices/{shop['invoice_id']}/overdue", headers=clerk,
                json={"on": str(reminded_on)})
    await _post(http, f"{payroll}/invoices/{shop['invoice_id']}/reminders", headers=clerk,
                    json={"sent_on": str(reminded_on)})
    return 3


async def _claim(http: aiohttp.ClientSession, payroll: str, auth: Auth, placements: list[tuple[str, str]]) -> int:
    claims = 0
    for index, (percent, cap) in PAY_SUBSIDIES.items():
        placement_id, area = placements[index]
        clerk, employment = auth("payroll_clerk", area), f"{payroll}/employments/{placement_id}"
        await _post(http, f"{employment}/pay-subsidy-decisions", headers=clerk, json={
            "reference": f"PT-{area.upper()}-2026-0815 (demo)", "percent": percent, "monthly_cap": cap,
            "starts_on": "2026-09-01", "ends_on": WAGES[index][2], "decided_on": "2026-08-20"})
        await _post(http, f"{employment}/pay-subsidy-claims", headers=clerk, json={"month": "2026-09"})
        claims += 1
    placement_id, area = placements[KEMI_SUBSIDISED]
    await _post(http, f"{payroll}/employments/{placement_id}/kemi-supplement-claims",
                    headers=auth("payroll_clerk", area), json={
                        "month": "2026-09", "applied_on": "2026-09-15", "person_criterion": "under_30",
                        "guidance_form": True, "days_at_another_employer": 2})
    return claims + 1


async def _post(http: aiohttp.ClientSession, url: str, headers: dict[str, str], **body) -> dict:
    """POST, and on a refusal stop the demo naming what was refused and why."""
    async with http.post(url, headers=headers, raise_for_status=False, **body) as response:
        answer = await response.json()
        if response.status >= 300:
            raise RuntimeError(f"POST {url} answered {response.status}: {answer.get('detail')}")
        return answer


def bank_notification(*payments: tuple[str, str, str | None], booked_on: date,
                      namespace: str = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02") -> bytes:
    """A camt.054 as a Finnish bank sends it: one credit entry of reference payments, each given as
    (the bank's reference, amount, the creditor reference or None)."""
    details = "".join(
        f"<TxDtls><Refs><AcctSvcrRef>{bank}</AcctSvcrRef></Refs>"
        f"<AmtDtls><TxAmt><Amt Ccy=\"EUR\">{amount}</Amt></TxAmt></AmtDtls>"
        + (f"<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{reference}</Ref>"
           f"</CdtrRefInf></Strd></RmtInf>" if reference else "")
        + "</TxDtls>" for bank, amount, reference in payments)
    total = sum((Decimal(amount) for _, amount, _ in payments), Decimal(0))
    entry = f"{booked_on:%Y%m%d}-{payments[0][0]}"
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{namespace}"><BkToCstmrDbtCdtNtfctn>'
            f"<GrpHdr><MsgId>MSG-{entry}</MsgId><CreDtTm>{booked_on}T18:00:00</CreDtTm></GrpHdr>"
            f"<Ntfctn><Id>N-{entry}</Id><CreDtTm>{booked_on}T18:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>FI2112345600000785</IBAN></Id></Acct>"
            f"<Ntry><NtryRef>{entry}</NtryRef><Amt Ccy=\"EUR\">{total}</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            f"<Sts>BOOK</Sts><BookgDt><Dt>{booked_on}</Dt></BookgDt><ValDt><Dt>{booked_on}</Dt></ValDt>"
            f"<AcctSvcrRef>{entry}</AcctSvcrRef><BkTxCd/><NtryDtls>{details}</NtryDtls></Ntry>"
            f"</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


async def wait_for(http: aiohttp.ClientSession, resource: str, headers: dict[str, str], needs_tasks: bool = False,
                   timeout_s: float = 30.0) -> dict:
    """A resource made from events, once it is there: an employment payroll opens from the placement's
    events (with `needs_tasks`, once it has taken a pooled gig job's tasks), a pathway planned at
    enrolment."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        async with http.get(resource, headers=headers, raise_for_status=False) as response:
            if response.status == 200:
                found = await response.json()
                if not needs_tasks or found["tasks"]:
                    return found
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{resource} did not appear within {timeout_s} s")
        await asyncio.sleep(0.1)
