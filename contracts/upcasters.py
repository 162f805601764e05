"""Functions that read an old schema version of an event as the next version. Old events are never
rewritten; contracts/registry.py applies these when an event is read."""
from typing import Any

from stdnum.iso7064 import mod_97_10


def employment_opened_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 opened an employment for every placement, to bill gig work; it knew no kind or schedule."""
    return data | {"kind": "gig_work", "employer_type": None, "starts_on": None, "planned_end_on": None,
                   "days_per_week": None,
                   "hours_per_day": None}


def timesheet_approved_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 recorded a period's total hours, not its days."""
    return data | {"days": []}


def employer_invoiced_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 billed one employment's hours with no VAT and no lines; its period is its issue date."""
    reference = data["reference"]
    rest = {key: value for key, value in data.items() if key != "employment_id"}
    return rest | {"period_start": data["issued_on"], "period_end": data["issued_on"], "vat_amount": "0.00",
                   "total": data["amount"], "vat_rules": [], "lines": [],
                   "rf_reference": f"RF{mod_97_10.calc_check_digits(reference + 'RF')}{reference}"}


PAYROLL_BILLING_UPCASTERS = {
    ("EmploymentOpened", 1): employment_opened_v1,
    ("TimesheetApproved", 1): timesheet_approved_v1,
    ("EmployerInvoiced", 1): employer_invoiced_v1,
}
