"""What makes employer employer: its routes, the events it consumes and its lookup tables."""
from pathlib import Path

from services.employer.api import ROUTES
from services.employer.policies import SUBSCRIPTION
from services.platform.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="employer",
    description="Employers (työnantaja) and their partnership agreements, open and hidden jobs, gig tasks pooled "
                "into gig jobs, matching clients to work, and placements from start to end.",
    routes=ROUTES,
    subscription=SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
)
