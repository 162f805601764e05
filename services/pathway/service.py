"""What makes pathway pathway: its routes and the events it reacts to."""
from pathlib import Path

from services.pathway.api import ROUTES
from services.pathway.policies import SUBSCRIPTION
from services.platform.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="pathway",
    description="Individual pathways (palvelupolku) to work, training, rehabilitation or a business.",
    routes=ROUTES,
    subscription=SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
)
