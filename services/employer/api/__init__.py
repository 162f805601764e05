"""HTTP API of employer: one module per part of the coordinator's work."""
from services.employer.api import employers, matching, placements, work

ROUTES = employers.ROUTES + work.ROUTES + placements.ROUTES + matching.ROUTES
