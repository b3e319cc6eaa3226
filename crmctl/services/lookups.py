"""Finding one record by what a user types: a customer by code, staff by login, a ticket by number.

The bottom of the services layer: every area may use it, and it uses only the tables and the
errors (never another service module).  Each lookup refuses with one clear line (``NotFound``,
``NotPermitted``, ``RuleViolation``) naming what was typed.

``lock=True`` reads the row for a decision about to be written in the same transaction: ``SELECT …
FOR UPDATE`` on PostgreSQL, so that a second writer deciding about the same record waits and then
reads what the first one wrote (on SQLite the write transaction, ``BEGIN IMMEDIATE``, is exclusive
already and the clause is left out).
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import func, select

from ..errors import NotFound, NotPermitted, RuleViolation
from ..models import Customer, Staff
from ..i18n import _


def get_customer(session, code: str, *, lock: bool = False) -> Customer:
    """The customer with this code (surrounding spaces ignored)."""
    q = select(Customer).where(Customer.code == (code or "").strip())
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    c = session.scalars(q).first()
    if c is None:
        raise NotFound(_("no customer '{code}'").format(code=code))
    return c


def customer_id(session, code: str) -> int:
    """The id of the customer with this code (one column read)."""
    cid = session.scalars(select(Customer.id).where(Customer.code == (code or "").strip())).first()
    if cid is None:
        raise NotFound(_("no customer '{code}'").format(code=code))
    return cid


def customer_for_work(session, code: str) -> Customer:
    """The customer a complaint, ticket or proposal is opened for: known and not disqualified."""
    c = get_customer(session, code)
    if c.status == "disqualified":
        raise RuleViolation(_("customer {code} is disqualified; nothing can be opened for it").format(code=c.code))
    return c


def find_staff(session, login: str, *, active_only: bool = True) -> Staff:
    """The staff member with this login (whatever its case); one who has left is refused unless
    ``active_only`` is off."""
    staff = session.scalars(select(Staff).where(func.lower(Staff.login) == (login or "").strip().lower())).first()
    if staff is None:
        raise NotFound(_("no staff member '{login}'").format(login=login))
    if active_only and not staff.active:
        raise NotPermitted(_("staff member '{login}' has left").format(login=login))
    return staff


def staff_ids(session, logins: Iterable[str]) -> dict[str, int]:
    """login -> id of active staff; the first unknown (or departed) login refused."""
    logins = list(set(logins))
    if not logins:
        return {}
    found = dict(session.execute(select(Staff.login, Staff.id)
                                 .where(Staff.login.in_(logins), Staff.active.is_(True))).all())
    missing = [x for x in logins if x not in found]
    if missing:
        raise NotFound(_("no active staff member '{login}'").format(login=missing[0]))
    return found


def staff_logins(session, ids: Iterable[int | None]) -> dict[int, str]:
    """id -> login for the given staff ids (None ignored)."""
    wanted = [i for i in set(ids) if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(select(Staff.id, Staff.login).where(Staff.id.in_(wanted))).all())


def find_record(session, model, ident: str, what: str, *, lock: bool = False):
    """A complaint / ticket / proposal by its number (``TS-2026-0001``, any case) or its integer id."""
    text = (ident or "").strip()

    def one(q):
        if lock:
            q = q.with_for_update().execution_options(populate_existing=True)
        return session.scalars(q).first()

    row = one(select(model).where(model.number == text)) if text else None
    if row is None and text.isdigit():
        row = one(select(model).where(model.id == int(text)))
    if row is None and text:
        row = one(select(model).where(func.upper(model.number) == text.upper()))
    if row is None:
        raise NotFound(_no_record(what).format(ident=ident))
    return row


def _no_record(what: str) -> str:
    """"no complaint '{ident}'" and its kin, each a whole sentence for the catalogue."""
    if what == "complaint":
        return _("no complaint '{ident}'")
    if what == "service ticket":
        return _("no service ticket '{ident}'")
    if what == "proposal":
        return _("no proposal '{ident}'")
    return f"no {what} '{{ident}}'"
