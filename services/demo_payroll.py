"""The payroll clerk's part of the demo: wage terms and timesheets, a payroll run per area and month,
invoices (one per employer and period), a camt.054 that pays some of them and leaves one overdue,
a reminder, and a pay subsidy and a Kemi-lisä claim for the job the foundation hosts."""
import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import aiohttp

# placement index (services/demo.py PLACEMENTS) -> hourly wage, hours a week; and the first day and
# the hours of each weekday worked from it.
WAGES = {1: ("12.37", "37.5"), 2: ("12.37", "20"), 4: ("13.21", "37.5"), 5: ("11.93", "30")}
TIMESHEETS = {
    1: (date(2026, 9, 1), ["7.5"] * 5),  # 37.5 h in September
    2: (date(2026, 10, 5), ["5"] * 4),  # 20 h in October
    3: (date(2026, 9, 1), ["6"] * 8),  # a work trial: 8 days of attendance
    4: (date(2026, 9, 1), ["8"] * 7 + ["4.25"]),  # 60.25 h in September
    5: (date(2026, 9, 1), ["6"] * 22),  # the foundation's pay subsidised job: every weekday of September
}
# employer index (services/demo.py EMPLOYERS) -> the periods invoiced and the day each invoice was issued
INVOICES = [(1, date(2026, 9, 1), date(2026, 9, 30), date(2026, 10, 1)),
            (1, date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 2)),
            (2, date(2026, 9, 1), date(2026, 9, 30), date(2026, 10, 1))]
PAYROLL_RUNS = [("kemi", date(2026, 9, 1), date(2026, 9, 30)), ("kemi", date(2026, 10, 1), date(2026, 10, 31)),
                ("tornio", date(2026, 9, 1), date(2026, 9, 30))]
SUBSIDISED = 5

Auth = Callable[[str, str], dict[str, str]]


def weekdays(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


async def load_payroll_demo(http: aiohttp.ClientSession, payroll: str, auth: Auth,
                            placements: list[tuple[str, str]], employers: list[tuple[str, str]]) -> dict[str, int]:
    for index, (first, hours) in TIMESHEETS.items():
        placement_id, area = placements[index]
        clerk, employment = auth("payroll_clerk", area), f"{payroll}/employments/{placement_id}"
        await wait_for(http, employment, clerk)
        if index in WAGES:
            wage, per_week = WAGES[index]
            await http.post(f"{employment}/wage-terms", headers=clerk, json={
                "hourly_wage": wage, "hours_per_week": per_week, "valid_from": "2026-09-01",
                "collective_agreement": "Yleinen työehtosopimus (demo)",
                "fixed_term_until": "2027-04-30" if index == SUBSIDISED else None})
        days = weekdays(first, len(hours))
        await http.post(f"{employment}/timesheets", headers=clerk, json={
            "period_start": str(first.replace(day=1)), "period_end": str(days[-1]),
            "days": [{"works_on": str(day), "hours": amount} for day, amount in zip(days, hours, strict=True)]})
    for area, start, end in PAYROLL_RUNS:
        await http.post(f"{payroll}/payroll-runs", headers=auth("payroll_clerk", area), json={
            "pay_period": "month", "period_start": str(start), "period_end": str(end)})
    issued = []
    for employer, start, end, issued_on in INVOICES:
        employer_id, area = employers[employer]
        async with http.post(f"{payroll}/invoices", headers=auth("payroll_clerk", area), json={
                "employer_id": employer_id, "period_start": str(start), "period_end": str(end),
                "issued_on": str(issued_on)}) as response:
            issued.append(((await response.json()), area))
    payments = await _pay(http, payroll, auth, issued)
    overdue, area = issued[1]
    reminded_on = date.fromisoformat(overdue["due_on"]) + timedelta(days=14)
    await http.post(f"{payroll}/invoices/overdue", headers=auth("payroll_clerk", area), json={"on": str(reminded_on)})
    await http.post(f"{payroll}/invoices/{overdue['invoice_id']}/reminders", headers=auth("payroll_clerk", area),
                    json={"sent_on": str(reminded_on)})
    claims = await _claim(http, payroll, auth, placements[SUBSIDISED])
    return {"invoices": len(issued), "payroll_runs": len(PAYROLL_RUNS), "payments": payments, "claims": claims}


async def _pay(http: aiohttp.ClientSession, payroll: str, auth: Auth, issued: list[tuple[dict, str]]) -> int:
    """The bank's camt.054 per area: September's invoices paid in full (by the RF reference in Kemi, by
    the Finnish one in Tornio), and in Kemi a payment whose reference matches nothing."""
    (september, kemi), _, (tornio_invoice, tornio) = issued
    files = {kemi: bank_notification(("DEMO-K-1", september["total"], september["rf_reference"]),
                                     ("DEMO-K-2", "50.00", "12344"), booked_on=date(2026, 10, 14)),
             tornio: bank_notification(("DEMO-T-1", tornio_invoice["total"], tornio_invoice["reference"]),
                                       booked_on=date(2026, 10, 15))}
    for area, document in files.items():
        await http.post(f"{payroll}/payments/camt054", headers=auth("payroll_clerk", area) | {
            "Content-Type": "application/xml"}, data=document)
    return 3


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


async def _claim(http: aiohttp.ClientSession, payroll: str, auth: Auth, placement: tuple[str, str]) -> int:
    placement_id, area = placement
    clerk, employment = auth("payroll_clerk", area), f"{payroll}/employments/{placement_id}"
    await http.post(f"{employment}/pay-subsidy-decisions", headers=clerk, json={
        "reference": "PT-KEMI-2026-0042 (demo)", "percent": 50, "monthly_cap": "1260.00",
        "starts_on": "2026-09-01", "ends_on": "2027-04-30", "decided_on": "2026-08-20"})
    await http.post(f"{employment}/pay-subsidy-claims", headers=clerk, json={"month": "2026-09"})
    await http.post(f"{employment}/kemi-supplement-claims", headers=clerk, json={
        "month": "2026-09", "applied_on": "2026-09-15", "person_criterion": "under_30", "guidance_form": True,
        "days_at_another_employer": 2})
    return 2


async def wait_for(http: aiohttp.ClientSession, resource: str, headers: dict[str, str],
                   timeout_s: float = 30.0) -> None:
    """The employment is opened by an event, a moment after the placement started."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        async with http.get(resource, headers=headers, raise_for_status=False) as response:
            if response.status == 200:
                return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{resource} did not appear within {timeout_s} s")
        await asyncio.sleep(0.1)
