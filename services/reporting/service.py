"""What makes reporting reporting: its routes, the events it projects and its own tables."""
from pathlib import Path

from services.platform.service import ServiceDefinition
from services.reporting.api import ROUTES
from services.reporting.policies import SUBSCRIPTION
from services.reporting.share_recount import recount_if_stale

SERVICE = ServiceDefinition(
    name="reporting",
    description="The follow-up system (seurantajärjestelmä): outcomes, target groups and billing totals.",
    routes=ROUTES,
    subscription=SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
    prepare=(recount_if_stale,),
)
