"""Who may read a customer's file (manufacturer 三.6: nobody reads a customer file without permission).

One place decides: where the policy restricts customer details (``[permissions]
restrict_customer_details``), an administrator, a holder of one of the policy's reader roles, the
customer's owner and its contacts see everything; anyone else sees a customer's code and name only.
Every read path asks here.
"""

from __future__ import annotations

from sqlalchemy import select

from ..errors import NotPermitted
from ..models import Customer, CustomerContact


def sees_every_file(app) -> bool:
    """Whether the acting person may read every customer's details (no per-customer check needed)."""
    perms = app.policy.permissions
    if not perms.restrict_customer_details:
        return True
    actor = app.actor
    return actor.is_admin or any(r in actor.roles for r in perms.readers_roles)


def can_read(session, app, c: Customer) -> bool:
    """Whether the acting person may read (and change) the file of customer ``c``."""
    if sees_every_file(app):
        return True
    actor = app.actor
    if c.owner_id == actor.id:
        return True
    return session.scalars(select(CustomerContact.staff_id).where(
        CustomerContact.customer_id == c.id, CustomerContact.staff_id == actor.id)).first() is not None


def require_read(session, app, c: Customer) -> None:
    if not can_read(session, app, c):
        raise NotPermitted(f"{app.actor.login} may not read or change the file of customer {c.code} "
                           "(only its owner, its contacts and permitted roles may)")


class Scope:
    """For listings: whether details are restricted, and the customers the actor may read anyway
    (the ones they keep, and the ones they are a contact of)."""

    def __init__(self, session, app):
        self.actor_id = app.actor.id
        self.restricted = not sees_every_file(app)
        self.contacts: set[int] = set()
        if self.restricted:
            self.contacts = set(session.scalars(select(CustomerContact.customer_id)
                                                .where(CustomerContact.staff_id == self.actor_id)).all())

    def readable(self, customer_id: int, owner_id: int | None) -> bool:
        return not self.restricted or owner_id == self.actor_id or customer_id in self.contacts
