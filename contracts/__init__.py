"""Shared event contracts of Polku: the envelope, the events each service writes and value types.

Everything that crosses a service boundary is defined here and nowhere else.
"""
