"""Contacts and the contact log (manufacturer part 三): which staff deal with a customer, every
business contact (letters, faxes, calls) recorded, and important customers kept by two or more staff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

from sqlalchemy import func, select

from ...errors import RuleViolation
from ...i18n import _
from ...models import Customer, CustomerContact, CustomerNote
from ...rules import customers as rules
from .. import audit
from ...rules.codes import pick_code
from ..app import App
from ..lookups import find_staff, get_customer
from ..visibility import Scope, require_grant, require_read

#: how a customer was reached (``customer note --channel``), code -> label: either is accepted
NOTE_CHANNELS = {"call": "电话", "letter": "信函", "fax": "传真", "visit": "走访", "email": "电子邮件", "sms": "短信",
                 "meeting": "会议", "other": "其他"}


def add_contact(app: App, code: str, login: str) -> dict:
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        require_grant(app, c)
        staff = find_staff(s, login)
        if s.get(CustomerContact, (c.id, staff.id)) is not None:
            raise RuleViolation(_("{login} is already a contact of customer {code}").format(login=login, code=c.code))
        s.add(CustomerContact(customer_id=c.id, staff_id=staff.id, since=now))
        audit.record(s, app, "customer.contact", "customer", c.code, after={"contact": login},
                     customer_code=c.code, at=now)
    return {"code": code, "contact": login}


def add_note(app: App, code: str, channel: str, text: str, at: datetime | None = None) -> dict:
    channel = pick_code(NOTE_CHANNELS, channel, _("channel"), "--channel")
    text = rules.clean_text(text, "--text")
    now = app.event_time(at)
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(_("customer {code} is disqualified").format(code=c.code))
        require_read(s, app, c)
        note = CustomerNote(customer_id=c.id, staff_login=app.actor.login, channel=channel, text=text, at=now)
        s.add(note)
        s.flush()
        audit.record(s, app, "customer.note", "customer", c.code, after={"channel": channel, "text": text},
                     customer_code=c.code, at=now)
        return {"id": note.id, "code": code, "channel": channel, "text": text, "at": now}


#: the keys of a row of ``customer contact check`` (its csv header, with rows or without)
CONTACT_CHECK_KEYS = ("code", "name", "contacts", "required")


def contact_coverage(app: App) -> Iterator[dict]:
    """Important customers with fewer staff contacts than the policy asks (manufacturer: >= 2)."""
    perms = app.policy.permissions
    need, flag = perms.important_min_contacts, perms.important_field
    if not need or not flag:
        return iter(())
    n_contacts = (select(func.count()).select_from(CustomerContact)
                  .where(CustomerContact.customer_id == Customer.id).scalar_subquery())
    q = (select(Customer.code, Customer.name, n_contacts.label("contacts"), Customer.id, Customer.owner_id)
         .where(Customer.fields[flag].as_boolean().is_(True), Customer.status != "disqualified",
                n_contacts < need).order_by(Customer.code))

    def rows():
        with app.db.read() as s:
            scope = Scope(s, app)
            for r in s.execute(q):
                if not scope.readable(r.id, r.owner_id):
                    continue
                yield {"code": r.code, "name": r.name, "contacts": r.contacts, "required": need}

    return rows()
