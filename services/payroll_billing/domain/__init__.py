"""Payroll-billing's aggregates, one module each, with their rule tables (YAML) beside them."""
