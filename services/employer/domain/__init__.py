"""Employer's aggregates, one module each (commands, state, evolve, decide), and their rules as data."""
