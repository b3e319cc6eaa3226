"""What a user is shown when something is refused.

Library and service code raise these; only ``crmctl.cli`` turns them into an ``Error:`` line and
an exit code.  Nothing here imports anything heavy.
"""

from __future__ import annotations


class CrmError(Exception):
    """A refusal or failure the user can act on: printed as one ``Error:`` line, exit 1."""

    exit_code = 1

    def __init__(self, message: str, *, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        # Extra lines (e.g. every problem of a policy file) printed after the Error: line.
        self.details = list(details or [])


class NotFound(CrmError):
    """An unknown code, id, login, policy or file."""


class InvalidInput(CrmError):
    """A value the user gave is malformed or out of range."""


class NotPermitted(CrmError):
    """The acting person may not do this."""


class RuleViolation(CrmError):
    """The policy forbids this (approving out of turn, closing a closed ticket, ...)."""


class PolicyInvalid(CrmError):
    """A policy file has problems; ``details`` holds one located line per problem."""

    def __init__(self, source: str, problems: list[str]):
        n = len(problems)
        super().__init__(
            f"{source}: {n} problem{'s' if n != 1 else ''} in policy" + (f": {problems[0]}" if n == 1 else ""),
            details=problems if n > 1 else [],
        )
        self.problems = problems


class DatabaseError(CrmError):
    """The database cannot be opened, is of a newer schema, or is damaged."""
