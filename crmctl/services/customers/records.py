"""Customer files: adding and editing a customer against the policy's segments and fields.

Admission (submit, approve, disqualify) is in ``admission.py``, reading (show, list, export) in
``reading.py``, contacts and the contact log in ``contacts.py``, CSV imports in ``importing.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, Mapping

from sqlalchemy import select

from ...errors import InvalidInput, RuleViolation
from ...models import Customer, CustomerGrade, Staff
from ...rules import customers as rules
from ...rules.limits import MAX_NAME
from ...rules.taxid import normalise_tax_id
from .. import audit, counters
from ..app import App
from ..lookups import find_staff, get_customer
from ..visibility import require_read
from .names import check_name
from .reading import customer_dict
from ...i18n import _


def next_codes(session, app: App, n: int) -> Iterator[str]:
    """``n`` fresh customer codes from the policy's pattern, skipping codes already taken (imports)."""
    pattern = app.policy.policy.customer_code_pattern
    produced = 0
    while produced < n:
        want = n - produced
        first = counters.advance(session, "customer_code", want)
        batch = [rules.format_code(pattern, first + i) for i in range(want)]
        taken = set()
        for i in range(0, len(batch), 500):
            taken.update(session.scalars(select(Customer.code).where(Customer.code.in_(batch[i:i + 500]))).all())
        for code in batch:
            if code not in taken:
                produced += 1
                yield code


def _owner_id(session, login: str | None) -> int | None:
    if not login:
        return None
    return find_staff(session, login).id


def snapshot(c: Customer, owner_login: str | None = None) -> dict:
    return {"code": c.code, "name": c.name, "status": c.status, "segments": dict(c.segments or {}),
            "fields": dict(c.fields or {}), "owner": owner_login, "tax_id": c.tax_id}


def validate_new(app: App, name: str, segments: Mapping[str, Any], fields: Mapping[str, Any],
                 tax_id: str | None) -> tuple[str, dict, dict, str | None]:
    """Name, segments, fields and tax id of a new customer, checked against the policy (pure)."""
    idx = app.segment_index
    name = rules.clean_text(name, "name", max_len=MAX_NAME)
    flds = rules.normalise_fields(idx, fields)
    segs = rules.normalise_segments(idx, segments, fields=flds)
    tax = normalise_tax_id(tax_id) if tax_id else None
    return name, segs, flds, tax


def add_customer(app: App, name: str, segments: Mapping[str, str], fields: Mapping[str, str], *,
                 tax_id: str | None = None, owner: str | None = None, prospect: bool = False,
                 code: str | None = None, at: datetime | None = None, allow_duplicate_name: bool = False) -> dict:
    """The new customer's object; ``warnings`` (a customer of the same name exists) is taken out by
    the command and shown on stderr."""
    name, segs, flds, tax = validate_new(app, name, segments, fields, tax_id)
    status = "prospect" if (prospect or app.policy.admission.chain) else "active"
    now = at or app.now()
    with app.db.write() as s:
        owner_id = _owner_id(s, owner or app.actor.login)
        other = s.scalars(select(Customer.code).where(Customer.tax_id == tax)).first() if tax else None
        if other:
            raise RuleViolation(_("tax id {tax_id} already belongs to customer {code}").format(tax_id=tax, code=other))
        if code:
            code = rules.clean_code(code)
            if s.scalars(select(Customer.id).where(Customer.code == code)).first():
                raise RuleViolation(_("customer code {code} is already taken").format(code=code))
        else:
            code = next(next_codes(s, app, 1))
        key, warnings, note = check_name(s, app, name, allow=allow_duplicate_name)
        c = Customer(code=code, name=name, name_key=key, status=status, owner_id=owner_id, tax_id=tax, segments=segs,
                     fields=flds, created_at=now, updated_at=now, status_changed_at=now)
        s.add(c)
        s.flush()
        if status == "active":
            set_initial_grades(s, app, c, now)
        result = snapshot(c, owner or app.actor.login)
        audit.record(s, app, "customer.add", "customer", code, after=result, customer_code=code, at=now, note=note)
    return {**customer_dict(app, code), "warnings": warnings}


def set_initial_grades(session, app: App, c: Customer, now: datetime) -> dict[str, str]:
    """The grade each scale gives a newly admitted customer (a fixed grade, else the initial one)."""
    grades = rules.initial_grades(app.policy, c.segments, c.fields)
    existing = set(session.scalars(select(CustomerGrade.scale).where(CustomerGrade.customer_id == c.id)).all())
    for scale, grade in grades.items():
        if scale not in existing:
            session.add(CustomerGrade(customer_id=c.id, scale=scale, grade=grade, label=None, since=now))
    return grades


def edit_customer(app: App, code: str, *, name: str | None = None, segments: Mapping[str, str] | None = None,
                  fields: Mapping[str, str] | None = None, tax_id: str | None = None,
                  owner: str | None = None, allow_duplicate_name: bool = False) -> dict:
    """The customer's object after the change; ``warnings`` as for :func:`add_customer` (a rename to
    the name of another customer)."""
    idx = app.segment_index
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        require_read(s, app, c)
        if c.status == "disqualified":
            raise RuleViolation(_("customer {code} is disqualified; a gm must reinstate it first").format(code=c.code))
        before_owner = s.get(Staff, c.owner_id).login if c.owner_id else None
        before = snapshot(c, before_owner)
        warnings, note = [], None
        if name is not None:
            c.name = rules.clean_text(name, "name", max_len=MAX_NAME)
            if c.name != before["name"]:
                c.name_key, warnings, note = check_name(s, app, c.name, allow=allow_duplicate_name, except_id=c.id)
        if fields:
            c.fields = rules.normalise_fields(idx, fields, base=c.fields)
        if segments or fields:
            c.segments = rules.normalise_segments(idx, segments or {}, base=c.segments, fields=c.fields)
        if tax_id is not None:
            c.tax_id = normalise_tax_id(tax_id) if tax_id.strip() else None
        if c.tax_id and c.tax_id != before["tax_id"]:
            other = s.scalars(select(Customer.code).where(Customer.tax_id == c.tax_id, Customer.id != c.id)).first()
            if other:
                raise RuleViolation(_("tax id {tax_id} already belongs to customer {code}").format(tax_id=c.tax_id, code=other))
        owner_login = before_owner
        if owner:
            c.owner_id = _owner_id(s, owner)
            owner_login = owner
        after = snapshot(c, owner_login)
        b, a = audit.changed_fields(before, after)
        if not a and not b:
            raise InvalidInput(_("nothing to change: give --name, --segment, --field, --tax-id or --owner"))
        c.updated_at = now
        s.add(c)
        audit.record(s, app, "customer.edit", "customer", c.code, before=b, after=a, customer_code=c.code, at=now,
                     note=note)
    return {**customer_dict(app, code), "warnings": warnings}
