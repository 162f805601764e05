"""Employer: employers and the placements of clients with them (Employer and Placement aggregates)."""
