"""Qualification documents: add, list, and the expiry check that suspends and reactivates customers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterator

from sqlalchemy import and_, case, exists, literal, not_, null, or_, select, update

from ..errors import InvalidInput, RuleViolation
from ..i18n import _
from ..models import Customer, Document
from ..rules.codes import pick_code
from ..rules.customers import clean_text
from ..rules.limits import MAX_SHORT_TEXT, MAX_WITHIN_DAYS
from ..rules.times import parse_date
from . import audit
from .app import App
from .lookups import get_customer
from .visibility import Scope

SUSPEND_REASON = "document_expired"  # a required document's every copy has expired
MISSING_REASON = "document_missing"  # no copy at all of a required document ([admission] missing_documents)
REASONS = (SUSPEND_REASON, MISSING_REASON)


def _doc_type(app: App, text: str) -> str:
    return pick_code(app.policy.document_labels(), text, _("document type"), "--type")


def add_document(app: App, code: str, type_: str, number: str | None = None, expires: str | None = None) -> dict:
    dtype = _doc_type(app, type_)
    spec = app.policy.documents[dtype]
    now = app.now()
    today = now.date()
    exp: date | None = None
    if expires:
        exp = parse_date(expires, "--expires", today=today)
        if exp < today:
            raise InvalidInput(_("--expires {day} is in the past: an expired document cannot be added").format(day=exp))
    elif spec.expires:
        raise InvalidInput(_("document type {type} ({label}) expires: give --expires YYYY-MM-DD").format(
            type=dtype, label=spec.label))
    number = clean_text(number or "", "--number", required=False, max_len=MAX_SHORT_TEXT)
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(_("customer {code} is disqualified").format(code=c.code))
        doc = Document(customer_id=c.id, type=dtype, number=number, expires=exp, added_at=now, added_by=app.actor.login)
        s.add(doc)
        s.flush()
        audit.record(s, app, "doc.add", "document", str(doc.id), customer_code=c.code, at=now,
                     after={"type": dtype, "number": number, "expires": exp})
        changed = apply_expiry(s, app, today, customer_id=c.id)
        result = {"id": doc.id, "customer": c.code, "type": dtype, "number": number, "expires": exp,
                  "reactivated": bool(changed["reactivated"])}
    return result


#: the keys of a document of ``doc list``, in order: the csv header even without rows
DOCUMENT_KEYS = ("id", "customer", "name", "status", "type", "type_label", "number", "expires", "days_left", "expired")


def list_documents(app: App, *, expiring_within: int | None = None, customer: str | None = None,
                   include_expired: bool = True) -> Iterator[dict]:
    today = app.now().date()
    q = (select(Document, Customer.code, Customer.name, Customer.status, Customer.owner_id)
         .join(Customer, Customer.id == Document.customer_id)
         .order_by(Document.expires.is_(None), Document.expires, Customer.code))  # expired first, no expiry last
    if expiring_within is not None:
        if expiring_within < 0:
            raise InvalidInput(_("--expiring-within must be 0 or more days"))
        if expiring_within > MAX_WITHIN_DAYS:
            raise InvalidInput(_("--expiring-within {days} is too far: at most {most} days").format(
                days=expiring_within, most=MAX_WITHIN_DAYS))
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


def _missing_condition(required: list[str]):
    """SQL: the customer has no copy at all of one of the ``required`` document types (an expired
    copy is not missing: that is :func:`_lapsed_condition`); None when nothing is required."""
    conds = [not_(exists().where(Document.customer_id == Customer.id, Document.type == t)) for t in required]
    return or_(*conds) if conds else None


def _audit_suspend(code: str, now, before: dict, reason: str) -> dict:
    return {"action": "customer.suspend", "entity": "customer", "key": code, "customer_code": code, "at": now,
            "before": before, "after": {"status": "suspended", "reason": reason}}


def apply_expiry(session, app: App, today: date, customer_id: int | None = None, *, missing: bool = False) -> dict:
    """Suspend active customers whose required document lapsed; reactivate the ones whose reason is
    gone (set-based: a few statements over every customer, or over ``customer_id``).

    ``missing`` (``doc check``): also find the active customers without any copy of a required
    document, and suspend them where the policy says so (``[admission] missing_documents``).  A
    customer suspended for a missing document stays suspended while one is missing wherever the
    check runs (``doc add``, ``grade run``); its reason follows what is still wrong (an expired
    copy before a missing one)."""
    pol = app.policy
    docs = pol.documents
    required = list(pol.admission.required_documents)
    lapsed = _lapsed_condition([t for t in required if docs.get(t) and docs[t].suspends_on_expiry], today)
    lacking = _missing_condition(required)
    whens = [(lapsed, SUSPEND_REASON)] if lapsed is not None else []
    if lacking is not None and pol.admission.missing_documents == "suspend":
        whens.append((lacking, MISSING_REASON))
    # SQL: why a customer is to be suspended (NULL: no reason)
    due = case(*whens, else_=null()) if whens else null()
    now = app.now()
    scope = [Customer.id == customer_id] if customer_id is not None else []
    result: dict = {"suspended": [], "reactivated": [], "missing": []}
    entries: list[dict] = []

    # suspended by this check: reactivated when no reason is left, else the reason follows what is left
    ours = [Customer.status == "suspended", Customer.status_reason.in_(REASONS), *scope]
    gone = [*ours, due.is_(None)]
    other = [*ours, due.is_not(None), Customer.status_reason != due]
    to_reactivate = session.scalars(select(Customer.code).where(*gone).order_by(Customer.code)).all()
    changed = session.execute(select(Customer.code, Customer.status_reason, due).where(*other)
                              .order_by(Customer.code)).all() if whens else []
    if to_reactivate:
        session.execute(update(Customer).where(*gone).values(
            status="active", status_reason=None, status_changed_at=now, updated_at=now))
    if changed:
        session.execute(update(Customer).where(*other).values(status_reason=due, updated_at=now))

    # active customers: a lapsed document suspends; doc check also finds (and by policy suspends)
    # the ones missing a document
    if missing and lacking is not None:
        result["missing"] = list(session.scalars(select(Customer.code).where(
            Customer.status == "active", lacking, *scope).order_by(Customer.code)).all())
    reason = due if missing else (literal(SUSPEND_REASON) if lapsed is not None else None)
    to_suspend = []
    if reason is not None and whens:
        active = [Customer.status == "active", (due.is_not(None) if missing else lapsed), *scope]
        to_suspend = session.execute(select(Customer.code, reason).where(*active).order_by(Customer.code)).all()
        if to_suspend:
            session.execute(update(Customer).where(*active).values(
                status="suspended", status_reason=reason, status_changed_at=now, updated_at=now))

    for code, why in to_suspend:
        entries.append(_audit_suspend(code, now, {"status": "active"}, why))
    for code, old, why in changed:
        entries.append(_audit_suspend(code, now, {"status": "suspended", "reason": old}, why))
    for code in to_reactivate:
        entries.append({"action": "customer.reactivate", "entity": "customer", "key": code, "customer_code": code,
                        "at": now, "before": {"status": "suspended"}, "after": {"status": "active"}})
    if entries:
        audit.record_many(session, app, entries)
    result["suspended"], result["reactivated"] = [code for code, _ in to_suspend], list(to_reactivate)
    return result


def check_documents(app: App) -> dict:
    """``doc check``: the expiry and missing-document rules over every customer, in one transaction."""
    with app.db.write() as s:
        return apply_expiry(s, app, app.now().date(), missing=True)
