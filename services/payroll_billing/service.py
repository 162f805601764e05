"""What makes payroll-billing payroll-billing: its routes and the events it reacts to."""
from services.payroll_billing.api import ROUTES
from services.payroll_billing.policies import SUBSCRIPTION
from services.platform.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="payroll_billing",
    description="The foundation's payroll and billing: employments, approved hours, invoices to employers.",
    routes=ROUTES,
    subscription=SUBSCRIPTION,
)
