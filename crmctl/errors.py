"""What a user is shown when something is refused.

Library and service code raise these; only ``crmctl.cli`` turns them into an ``Error:`` line and
an exit code.  Nothing here imports anything heavy.
"""

from __future__ import annotations


class Msg(str):
    """An English message that remembers its catalogue id and its arguments, so that ``crmctl.cli``
    can show it in the user's language when it prints it (issue 17).  For code that may not read the
    language itself (the rules layer: no environment, no files): ``Invalid(Msg("'{value}' is not a
    date", value=v))``.  It *is* the English text (``str``), so tests, logs and ``in`` checks see
    English; the arguments may be ``Msg`` themselves (translated in turn)."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params) -> "Msg":
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def translated(self, gettext) -> str:
        """The message through ``gettext`` (a ``_``), its Msg arguments too."""
        text = gettext(self.msgid)
        if not self.params:
            return text
        return text.format(**{k: v.translated(gettext) if isinstance(v, Msg) else v for k, v in self.params.items()})


class Joined(Msg):
    """Messages joined by a separator that is a message too (``, `` is ``、`` in Chinese): the items
    of a list, the parts of a reason.  Like any :class:`Msg` it *is* the English text."""

    parts: list
    sep: str

    def __new__(cls, parts, sep: str) -> "Joined":
        parts = list(parts)
        self = str.__new__(cls, sep.join(parts))
        self.msgid, self.params, self.parts, self.sep = sep, {}, parts, sep
        return self

    def translated(self, gettext) -> str:
        return gettext(self.sep).join(p.translated(gettext) if isinstance(p, Msg) else p for p in self.parts)


class Term(Msg):
    """A code inside a message, shown as the English reader knows it (``gm``, ``business_license
    (企业营业执照)``) and as its policy label to a Chinese reader (``总经理``, ``企业营业执照``): the
    rules know both, only the printer knows the language (its ``gettext`` says, ``gettext.labels()``)."""

    label: str

    def __new__(cls, english: str, label: str | None = None) -> "Term":
        self = str.__new__(cls, english)
        self.msgid, self.params, self.label = english, {}, label or english
        return self

    def translated(self, gettext) -> str:
        labels = getattr(gettext, "labels", None)
        return self.label if labels is not None and labels() else str(self)


def coded(code: str, label: str | None) -> Term:
    """``code (label)`` in English, ``label`` in Chinese (a code without a label: itself)."""
    return Term(f"{code} ({label})" if label and label != code else code, label or code)


def translated(message: str, gettext) -> str:
    """``message`` in the language of ``gettext`` when it is a :class:`Msg`, else as it is."""
    return message.translated(gettext) if isinstance(message, Msg) else message


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
        if n == 1:
            message = Msg("{source}: 1 problem in policy: {problem}", source=source, problem=problems[0])
        else:
            message = Msg("{source}: {n} problems in policy", source=source, n=n)
        super().__init__(message, details=problems if n > 1 else [])
        self.problems = problems


class DatabaseError(CrmError):
    """The database cannot be opened, is of a newer schema, or is damaged."""
