"""What makes intake intake: its routes, its own tables and the pathway events it takes."""
from pathlib import Path

from services.intake.api import ROUTES
from services.intake.bus_referrals import bus_referrals
from services.intake.caseload_api import ROUTES as CASELOAD_ROUTES
from services.intake.policies import SUBSCRIPTION
from services.intake.retention import erase_expired_periodically
from services.platform.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="intake",
    description="Referral of job seekers (työnhakija-asiakas) to a programme, eligibility and enrolment, entry "
                "facts, one named case worker and their caseload, exit and return, and the six-month follow-up; "
                "their personal data in a vault encrypted per client, consent to share it, and erasure by "
                "deleting the client's key.",
    routes=ROUTES + CASELOAD_ROUTES,
    subscription=SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
    inbound=(bus_referrals,),
    tasks=(erase_expired_periodically,),
)
