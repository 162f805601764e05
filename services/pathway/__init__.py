"""Pathway: each enrolled client's individual pathway and its steps (the Pathway aggregate)."""
