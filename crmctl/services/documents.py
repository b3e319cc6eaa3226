"""Qualification documents: add, list, and the expiry check that suspends and reactivates customers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterator

from sqlalchemy import and_, exists, not_, or_, select, update

from ..errors import InvalidInput, RuleViolation
from ..models import Customer, Document
from ..rules.codes import pick_code
from ..rules.customers import clean_text
from ..rules.limits import MAX_SHORT_TEXT, MAX_WITHIN_DAYS
from ..rules.times import parse_date
from . import audit
from .app import App
from .lookups import get_customer
from .visibility import Scope

SUSPEND_REASON = "document_expired"


def _doc_type(app: App, text: str) -> str:
    return pick_code(app.policy.document_labels(), text, "document type", "--type")


def add_document(app: App, code: str, type_: str, number: str | None = None, expires: str | None = None) -> dict:
    dtype = _doc_type(app, type_)
    spec = app.policy.documents[dtype]
    now = app.now()
    today = now.date()
    exp: date | None = None
    if expires:
        exp = parse_date(expires, "--expires")
        if exp < today:
            raise InvalidInput(f"--expires {exp} is in the past: an expired document cannot be added")
    elif spec.expires:
        raise InvalidInput(f"document type {dtype} ({spec.label}) expires: give --expires YYYY-MM-DD")
    number = clean_text(number or "", "--number", required=False, max_len=MAX_SHORT_TEXT)
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(f"customer {c.code} is disqualified")
        doc = Document(customer_id=c.id, type=dtype, number=number, expires=exp, added_at=now, added_by=app.actor.login)
        s.add(doc)
        s.flush()
        audit.record(s, app, "doc.add", "document", str(doc.id), customer_code=c.code, at=now,
                     after={"type": dtype, "number": number, "expires": exp})
        changed = apply_expiry(s, app, today, customer_id=c.id)
        result = {"id": doc.id, "customer": c.code, "type": dtype, "number": number, "expires": exp,
                  "reactivated": bool(changed["reactivated"])}
    return result


def list_documents(app: App, *, expiring_within: int | None = None, customer: str | None = None,
                   include_expired: bool = True) -> Iterator[dict]:
    today = app.now().date()
    q = (select(Document, Customer.code, Customer.name, Customer.status, Customer.owner_id)
         .join(Customer, Customer.id == Document.customer_id)
         .order_by(Document.expires.is_(None), Document.expires, Customer.code))  # expired first, no expiry last
    if expiring_within is not None:
        if expiring_within < 0:
            raise InvalidInput("--expiring-within must be 0 or more days")
        if expiring_within > MAX_WITHIN_DAYS:
            raise InvalidInput(f"--expiring-within {expiring_within} is too far: at most {MAX_WITHIN_DAYS} days")
        until = today + timedelta(days=expiring_within)
        q = q.where(Document.expires.is_not(None), Document.expires <= until)
        if not include_expired:
            q = q.where(Document.expires >= today)
    labels = app.policy.document_labels()
    with app.db.read() as s:
        if customer:
            q = q.where(Document.customer_id == get_customer(s, customer).id)
        scope = Scope(s, app)
        for d, code, name, status, owner_id in s.execute(q.execution_options(yield_per=2000)):
            if not scope.readable(d.customer_id, owner_id):
                continue
            yield {"id": d.id, "customer": code, "name": name, "status": status, "type": d.type,
                   "type_label": labels.get(d.type, d.type), "number": d.number, "expires": d.expires,
                   "days_left": (d.expires - today).days if d.expires else None,
                   "expired": bool(d.expires and d.expires < today)}


def _lapsed_condition(required: list[str], today: date):
    """SQL: the customer has a required document type whose every copy has expired."""
    conds = []
    for t in required:
        has_type = exists().where(Document.customer_id == Customer.id, Document.type == t)
        has_valid = exists().where(Document.customer_id == Customer.id, Document.type == t,
                                   or_(Document.expires.is_(None), Document.expires >= today))
        conds.append(and_(has_type, not_(has_valid)))
    return or_(*conds) if conds else None


def apply_expiry(session, app: App, today: date, customer_id: int | None = None) -> dict:
    """Suspend active customers whose required document lapsed; reactivate renewed ones (set-based)."""
    docs = app.policy.documents
    required = [t for t in app.policy.admission.required_documents if docs.get(t) and docs[t].suspends_on_expiry]
    lapsed = _lapsed_condition(required, today)
    result = {"suspended": [], "reactivated": []}
    if lapsed is None:
        return result
    now = app.now()
    scope = [Customer.id == customer_id] if customer_id is not None else []
    to_suspend = session.scalars(select(Customer.code).where(Customer.status == "active", lapsed, *scope)).all()
    to_reactivate = session.scalars(select(Customer.code).where(
        Customer.status == "suspended", Customer.status_reason == SUSPEND_REASON, not_(lapsed), *scope)).all()
    if to_suspend:
        session.execute(update(Customer).where(Customer.status == "active", lapsed, *scope).values(
            status="suspended", status_reason=SUSPEND_REASON, status_changed_at=now, updated_at=now))
    if to_reactivate:
        session.execute(update(Customer).where(Customer.status == "suspended", Customer.status_reason == SUSPEND_REASON,
                                               not_(lapsed), *scope).values(
            status="active", status_reason=None, status_changed_at=now, updated_at=now))
    for code in to_suspend:
        audit.record(session, app, "customer.suspend", "customer", code, before={"status": "active"},
                     after={"status": "suspended", "reason": SUSPEND_REASON}, customer_code=code, at=now)
    for code in to_reactivate:
        audit.record(session, app, "customer.reactivate", "customer", code, before={"status": "suspended"},
                     after={"status": "active"}, customer_code=code, at=now)
    result["suspended"], result["reactivated"] = list(to_suspend), list(to_reactivate)
    return result


def check_documents(app: App) -> dict:
    """``doc check``: the expiry rule over every customer, in one transaction."""
    with app.db.write() as s:
        return apply_expiry(s, app, app.now().date())
