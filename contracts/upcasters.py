"""Upcasters: old events are never rewritten; each is brought up to the current version when read.

(event type, schema version it reads) -> function returning the data of the next version;
contracts/registry.py applies them when an event is read.
"""
from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from stdnum.iso7064 import mod_97_10

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _client_referred_1(data: dict[str, Any]) -> dict[str, Any]:
    """Before programmes every referral was to the Kemi model, and a client had one period."""
    return data | {"referral_id": str(uuid5(NAMESPACE_URL, f"polku:referral:{data['client_id']}:1")),
                   "period": 1, "programme": "kemi_model"}


def _eligibility_assessed_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 decisions applied the Kemi model's first rule set and did not list failed criteria."""
    return data | {"programme": "kemi_model", "rule_set_version": "kemi_model/2015-01-01", "failed_criteria": []}


def _first_period(data: dict[str, Any]) -> dict[str, Any]:
    return data | {"period": 1}


def _pathway_planned_1(data: dict[str, Any]) -> dict[str, Any]:
    return data | {"period": 1, "planned_on": None}


def _step_started_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 steps did not carry the client, a date or hours (the pathway's PathwayPlanned names the
    client); a version 1 "placement" did not say which kind of placement."""
    kind = {"placement": "placement", "training": "training", "coaching": "coaching",
            "rehabilitation": "rehabilitative_work"}[data["step_kind"]]
    return data | {"step_kind": kind, "client_id": None,
                   "started_on": None, "hours_per_week": None, "full_time": False}


JOURNEY_UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("ClientReferred", 1): _client_referred_1,
    ("EligibilityAssessed", 1): _eligibility_assessed_1,
    ("ClientEnrolled", 1): _first_period,
    ("PathwayPlanned", 1): _pathway_planned_1,
    ("StepStarted", 1): _step_started_1,
}


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

UPCASTERS: dict[tuple[str, int], Upcaster] = {**JOURNEY_UPCASTERS, **PAYROLL_BILLING_UPCASTERS}
