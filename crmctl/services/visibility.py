"""Who may read a customer's file (manufacturer 三.6: nobody reads a customer file without permission).

One place decides, and every read path asks here: where the policy restricts customer details
(``[permissions] restrict_customer_details``), an administrator, a holder of one of the policy's
reader roles, the customer's owner and its contacts see everything; anyone else sees a customer's
code and name only.  A piece of work given to someone (the complaint they handle, the ticket they
were dispatched to, the visit planned for them) is theirs to read as well -- the work, not the
customer's file.

* :func:`require_read` -- one customer (``customer show`` of the file's details, ``grade explain``,
  ``complaint show`` ...): refused when not readable.
* :class:`Scope` -- listings.  The customer list (the directory) shows an unreadable customer's code
  and name only; every other listing (documents, complaints, visits, notes, report rows about one
  customer ...) leaves rows about an unreadable customer out, as a row's presence tells something
  (:func:`readable_rows`).

PostgreSQL enforces the same rule in the database (row-level security, ``crmctl db roles``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from sqlalchemy import or_, select

from ..errors import NotPermitted
from ..errors import Msg
from ..i18n import _
from ..models import Customer, CustomerContact


def sees_every_file(app) -> bool:
    """Whether the acting person may read every customer's details (no per-customer check needed)."""
    perms = app.policy.permissions
    if not perms.restrict_customer_details:
        return True
    actor = app.actor
    return actor.is_admin or any(r in actor.roles for r in perms.readers_roles)


def can_read(session, app, c: Customer, assignees: Iterable[int | None] = ()) -> bool:
    """Whether the acting person may read (and change) the file of customer ``c`` (with
    ``assignees``: a piece of work on it, given to those staff ids)."""
    if sees_every_file(app):
        return True
    actor = app.actor
    if c.owner_id == actor.id or actor.id in set(assignees):
        return True
    return session.scalars(select(CustomerContact.staff_id).where(
        CustomerContact.customer_id == c.id, CustomerContact.staff_id == actor.id)).first() is not None


def require_read(session, app, c: Customer, assignees: Iterable[int | None] = (), what: str | None = None) -> None:
    """Refuse (one ``Error:`` line) unless the acting person may read ``c``'s file (or ``what``, a
    piece of work on it given to ``assignees``)."""
    if not can_read(session, app, c, assignees):
        thing = what or _("the file of customer {code}").format(code=c.code)
        raise NotPermitted(_("{login} may not read {thing} (customer {code}'s file is restricted: "
                             "only its owner, its contacts and permitted roles may read it)").format(
            login=app.actor.login, thing=thing, code=c.code))


def require_grant(app, c: Customer) -> None:
    """Adding a contact gives that person read access: on a restricted file only its owner, the
    policy's reader roles and administrators may (not the contacts themselves)."""
    if sees_every_file(app) or c.owner_id == app.actor.id:
        return
    raise NotPermitted(_("{login} may not add contacts to customer {code}: its file is restricted, and "
                         "a contact may read it (only its owner, permitted roles and administrators may add one)")
                       .format(login=app.actor.login, code=c.code))


def readable_customer(session, app, code: str, what: str | None = None) -> Customer:
    """The customer of ``code`` (refused when unknown), provided the acting person may read its file."""
    from .lookups import get_customer

    c = get_customer(session, code)
    require_read(session, app, c, what=what)
    return c


class Scope:
    """For listings: whether details are restricted, and the customers the actor may read anyway
    (the ones they keep, and the ones they are a contact of)."""

    def __init__(self, session, app):
        self.actor_id = app.actor.id
        self.restricted = not sees_every_file(app)
        self.contacts: set[int] = set()
        self._session = session
        self._codes: set[str] | None = None
        if self.restricted:
            self.contacts = set(session.scalars(select(CustomerContact.customer_id)
                                                .where(CustomerContact.staff_id == self.actor_id)).all())

    def readable(self, customer_id: int | None, owner_id: int | None, *assignees: int | None) -> bool:
        """Whether the row of customer ``customer_id`` (kept by ``owner_id``; a piece of work given to
        ``assignees``) may be shown in full."""
        return (not self.restricted or customer_id is None or owner_id == self.actor_id
                or self.actor_id in assignees or customer_id in self.contacts)

    def code_clause(self, column):
        """SQL: rows whose customer code (``column``, may be NULL) the person may read; None when
        nothing is restricted."""
        if not self.restricted:
            return None
        return or_(column.is_(None), column.in_(self._readable_code_query()))

    def customer_clause(self):
        """SQL: the customers (table ``customer``) the person may read although details are restricted."""
        return or_(Customer.owner_id == self.actor_id,
                   Customer.id.in_(select(CustomerContact.customer_id).where(CustomerContact.staff_id == self.actor_id)))

    def _readable_code_query(self):
        return select(Customer.code).where(self.customer_clause())

    def readable_codes(self) -> set[str]:
        """The codes of the customers the actor may read although details are restricted (one query:
        the ones they keep and the ones they are a contact of)."""
        if self._codes is None:
            self._codes = set(self._session.scalars(self._readable_code_query()).all())
        return self._codes

    def code_readable(self, code: str | None) -> bool:
        return not self.restricted or code is None or code in self.readable_codes()


def readable_rows(app, rows: Iterable[dict], key: str) -> Iterator[dict]:
    """Rows about one customer each (its code in ``key``): those the acting person may not read are
    left out (a row's presence already tells something about the customer).  Rows are read lazily;
    the scope is computed once (one query)."""
    if sees_every_file(app):
        yield from rows
        return
    with app.db.read() as s:
        codes = Scope(s, app).readable_codes()
    for row in rows:
        code = row.get(key)
        if code is None or code in codes:
            yield row


def readable_tuples(app, make: Callable[[], Iterable[tuple]], names: Sequence[str],
                    key: str) -> Callable[[], Iterator[tuple]]:
    """The flat (csv) form of :func:`readable_rows`: tuples in the order of ``names``."""
    pos = names.index(key)

    def rows() -> Iterator[tuple]:
        if sees_every_file(app):
            yield from make()
            return
        with app.db.read() as s:
            codes = Scope(s, app).readable_codes()
        for t in make():
            if t[pos] is None or t[pos] in codes:
                yield t

    return rows


#: the note a listing carries when rows were left out for a person without permission (English that
#: knows its catalogue id: shown with ``crmctl.i18n.text``)
LEFT_OUT = Msg("rows about customers whose files you may not read are left out (policy: restricted customer files)")
