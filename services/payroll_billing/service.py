"""What makes payroll-billing payroll-billing: its routes, its own tables and the events it reacts to."""
from pathlib import Path

from services.payroll_billing.api import ROUTES
from services.payroll_billing.policies import SUBSCRIPTION
from services.platform.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="payroll_billing",
    description="The foundation's payroll and billing: employments and timesheets, payroll runs, invoices "
                "(Finvoice 3.0), payments from camt.054, reminders, pay subsidy and Kemi-lisä claims.",
    routes=ROUTES,
    subscription=SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
)
