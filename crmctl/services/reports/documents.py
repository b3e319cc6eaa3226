"""Qualification documents (petrochem Art. 15): documents expiring within N days or expired (not
renewed), the required documents active customers lack (petrochem Art. 7), and the customers
suspended until they renew or complete their file."""

from __future__ import annotations

from datetime import date, timedelta

from ...errors import InvalidInput
from ...fields import fields
from ...i18n import _
from ._common import STREAM, row
from .registry import Params, ReportResult, report

KEYS = ("section", "customer", "name", "status", "owner", "type", "number", "expires", "days_left", "expired",
        "suspends", "status_reason", "status_since")


def _fields(app, params: Params):
    return fields(*KEYS)


def notice_days(policy) -> int:
    """How far ahead the report looks by default: the policy's longest renew notice, else 30 days."""
    ref = date(2001, 3, 31)  # offsets in months measured back from a 31st: their longest span in days
    spans = [(ref - (ref - off)).days for d in policy.documents.values() if d.expires
             for off in [d.notice_before()] if off is not None]
    return max(spans, default=0) or 30


@report("documents", order=90, columns=_fields, needs=("expiring_documents",), customer_key="customer",
        summary="Documents expiring within N days or expired (not renewed), required documents missing, "
                "and the suspended customers.",
        description="""
A document replaced by a newer copy of the same type is not listed.  Section `missing`: a required
document ([admission] required_documents) an active or suspended customer has no copy of at all (no
number, no expiry); `suspends` says whether `doc check` suspends for it ([admission]
missing_documents).
""", options=("days",))
def documents(app, params: Params) -> ReportResult:
    from sqlalchemy import exists, literal, not_, or_, select, true, union_all
    from sqlalchemy.orm import aliased

    from ...models import Customer, Document, Staff

    pol = app.policy
    days = params.days if params.days is not None else notice_days(pol)
    if days < 0 or days > 3660:
        raise InvalidInput(_("--expiring-within must be from 0 to 3660"))
    today = app.now().date()
    until = today + timedelta(days=days)
    suspends = {k for k, d in pol.documents.items() if d.suspends_on_expiry}
    newer = aliased(Document)
    owner = aliased(Staff)
    # the newest copy of each (customer, type): an old copy replaced by a later one is not listed
    superseded = (select(newer.id).where(newer.customer_id == Document.customer_id, newer.type == Document.type,
                                         or_(newer.expires.is_(None), newer.expires > Document.expires))
                  .exists())
    q = (select(Customer.code, Customer.name, Customer.status, owner.login, Document.type, Document.number,
                Document.expires)
         .join(Customer, Customer.id == Document.customer_id)
         .outerjoin(owner, owner.id == Customer.owner_id)
         .where(Document.expires.is_not(None), Document.expires <= until, Customer.status != "disqualified",
                not_(superseded))
         .order_by(Document.expires, Customer.code, Document.type))
    # the required types as a small table (name, position), crossed with the customers who could
    # lack one: one statement over every customer (index document(customer_id, type))
    required = list(pol.admission.required_documents)
    qm = None
    if required:
        req = union_all(*[select(literal(t).label("type"), literal(i).label("pos")) for i, t in enumerate(required)]
                        ).subquery("req")
        qm = (select(Customer.code, Customer.name, Customer.status, owner.login, req.c.type)
              .select_from(Customer).join(req, true())
              .outerjoin(owner, owner.id == Customer.owner_id)
              .where(Customer.status.in_(("active", "suspended")),
                     not_(exists().where(Document.customer_id == Customer.id, Document.type == req.c.type)))
              .order_by(Customer.code, req.c.pos))
    missing_suspends = pol.admission.missing_documents == "suspend"
    qs = (select(Customer.code, Customer.name, Customer.status, owner.login, Customer.status_reason,
                 Customer.status_changed_at)
          .outerjoin(owner, owner.id == Customer.owner_id)
          .where(Customer.status == "suspended").order_by(Customer.code))

    def rows():
        with app.db.read() as s:
            for r in s.execute(q.execution_options(yield_per=STREAM)):
                yield row(KEYS, section="document", customer=r.code, name=r.name, status=r.status, owner=r.login,
                          type=r.type, number=r.number, expires=r.expires, days_left=(r.expires - today).days,
                          expired=r.expires < today, suspends=r.type in suspends)
            for r in (s.execute(qm.execution_options(yield_per=STREAM)) if qm is not None else ()):
                yield row(KEYS, section="missing", customer=r.code, name=r.name, status=r.status, owner=r.login,
                          type=r.type, suspends=missing_suspends)
            for r in s.execute(qs.execution_options(yield_per=STREAM)):
                yield row(KEYS, section="suspended", customer=r.code, name=r.name, status=r.status, owner=r.login,
                          status_reason=r.status_reason,
                          status_since=r.status_changed_at.astimezone(app.tz) if r.status_changed_at else None)

    return ReportResult("documents", _fields(app, params), rows(), shown={"days": days})
