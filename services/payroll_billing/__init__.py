"""Payroll-billing: the foundation employs clients, approves hours and bills employers (Employment aggregate)."""
