"""What makes employer employer: its routes. It consumes no events yet."""
from services.employer.api import ROUTES
from services.platform.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="employer",
    description="Employers (työnantaja), open and hidden jobs, and placements of clients.",
    routes=ROUTES,
)
