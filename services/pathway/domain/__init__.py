"""Pathway's domain: the Pathway aggregate (pathway.py), what the case worker decides on it
(steps.py, with the rules of step_rules.yaml), and placement steps from the employer's events
(placements.py). Pure functions; no HTTP, tokens or SQL."""
