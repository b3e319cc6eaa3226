"""What a rule says when it will not go on: two typed errors, each carrying the field it is about.

* :class:`Invalid` -- a value is malformed or out of range (``2026-02-30``, ``-5 t``, an unknown code);
* :class:`Refused` -- the value is fine but the policy forbids what was asked (approving out of turn,
  extending past the cap, a grade the scale does not have).

Both are ``ValueError`` (so pure code, pydantic validators and the rules' own tests treat them as
such) and both are the user-facing refusals of :mod:`crmctl.errors` (``InvalidInput`` and
``RuleViolation``): this class hierarchy is the one place where a rule's refusal becomes what the user
is shown, so no service translates them one by one, and ``crmctl.cli`` prints them as one ``Error:``
line, exit 1.  A caller that knows more context than the rule (the option, the CSV row, the customer)
adds it with :meth:`RuleError.within`: ``raise exc.within("--label") from None`` gives
``--label: 'x' is not a period label ...``.

Messages are English :class:`crmctl.errors.Msg` (``Invalid(Msg("'{value}' is not a date",
value=v))``): the rules read no language setting; ``crmctl.cli`` shows them translated.

Only :mod:`crmctl.errors` (which imports nothing) is imported here.
"""

from __future__ import annotations

from ..errors import InvalidInput, Msg, RuleViolation


class RuleError(ValueError):
    """Base of the rules' refusals; ``field`` names the input it is about, when known."""

    message: str
    field: str | None

    def within(self, where: str) -> "RuleError":
        """The same refusal, its message prefixed by ``where`` (an option, a row, a record)."""
        return type(self)(Msg("{where}: {message}", where=where, message=self.message), field=self.field or where)


class Invalid(RuleError, InvalidInput):
    """A value is malformed or out of range."""

    def __init__(self, message: str, *, field: str | None = None):
        InvalidInput.__init__(self, message)
        self.field = field


class Refused(RuleError, RuleViolation):
    """The policy forbids what was asked."""

    def __init__(self, message: str, *, field: str | None = None):
        RuleViolation.__init__(self, message)
        self.field = field


__all__ = ["Invalid", "Msg", "Refused", "RuleError"]
