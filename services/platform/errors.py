"""Errors a service raises; the HTTP layer maps each to one status code."""


class ConcurrencyConflict(Exception):
    """Another writer appended to the aggregate first (HTTP 409)."""

    def __init__(self, aggregate_type: str, aggregate_id: str, expected_version: int):
        super().__init__(
            f"{aggregate_type} {aggregate_id} changed while this request was handled "
            f"(expected version {expected_version}); reload and try again"
        )


class RuleViolated(Exception):
    """A command breaks a domain rule (HTTP 422). `field` names what to fix."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


class NotFound(Exception):
    """The addressed thing does not exist (HTTP 404)."""


class StateConflict(Exception):
    """The command does not fit the aggregate's current state (HTTP 409)."""


class Forbidden(Exception):
    """The caller is known but may not do this (HTTP 403); the message says why."""


class Gone(Exception):
    """The addressed thing existed and was deliberately removed, e.g. erased personal data (HTTP 410)."""


class NeverApplies(Exception):
    """An event that no later event can make apply: a consumer dead-letters it at once with this reason,
    using up no retries."""


class AreaMismatch(NeverApplies):
    """An event of one employment area touches an aggregate of another: it can never apply, and is
    dead-lettered with this reason instead."""


# What the domain refuses: in an event handler, the event waits for what it needs (services/platform/parking.py).
REFUSALS = (StateConflict, RuleViolated, NotFound)
