"""What makes intake intake: its routes and its vault table. It consumes no events yet."""
from pathlib import Path

from services.intake.api import ROUTES
from services.platform.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="intake",
    description="Referral, eligibility and enrolment of job seekers (työnhakija-asiakas); their personal data "
                "in a vault encrypted per client, consent to share it, and erasure by deleting the client's key.",
    routes=ROUTES,
    migrations=Path(__file__).parent / "migrations",
)
