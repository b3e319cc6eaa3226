"""Reading customer files: one customer (``customer show``), the list (json and tables, streamed),
and the flat export (csv, one query), all through the one visibility rule (``services.visibility``).

The fields of the list, in the JSON's order (code, name, status, segments.*[, fields.*], owner,
grades.*[, stability][, created_at, tax_id]), are :func:`customer_fields`; every row holds every
segment and custom field of the policy (null where not set, and for a customer whose file the actor
may not read).  Headings and labels for tables are the view's (``crmctl.views.customers``).
"""

from __future__ import annotations

import json

from datetime import date
from typing import Any, Iterator, Mapping

from sqlalchemy import String, and_, exists, select, type_coerce
from sqlalchemy.orm import aliased

from ...db import copy_chunks, copy_supported, json_text, json_value, raw_chunks, stream_chunks
from ...db_decoders import day_decoder, json_decoder, utc_decoder
from ...errors import InvalidInput
from ...fields import Field
from ...i18n import _
from ...models import Approval, Customer, CustomerContact, CustomerGrade, CustomerNote, Document, Staff
from ...rules import customers as rules
from ...rules import grading as rules_grading
from ...rules.times import utc_to_local_iso
from ..app import App
from ..lookups import find_staff, get_customer
from ..visibility import Scope, can_read


def customer_fields(policy, *, full: bool = True) -> list[Field]:
    """The fields of the customer list (json/csv keys) in the JSON's order: code, name, status,
    segments.*[, fields.*], owner, grades.*[, stability][, created_at, tax_id] (``full=False``, the
    table: without the custom fields, the creation time and the tax id)."""
    keys = ["code", "name", "status"] + [f"segments.{seg.key}" for seg in policy.segments]
    if full:
        keys += [f"fields.{f.key}" for f in policy.fields]
    keys += ["owner"] + [f"grades.{code}" for code in policy.grading.scales]
    if policy.stability is not None:
        keys.append("stability")
    if full:
        keys += ["created_at", "tax_id"]
    return [Field(k) for k in keys]


def chain_state(session, app: App, c: Customer) -> rules.ChainState:
    """Where the customer's admission stands in its current round (who approved which step)."""
    approved = session.execute(select(Approval.step, Approval.staff_login).where(
        Approval.customer_id == c.id, Approval.round == c.admission_round, Approval.decision == "approve",
        Approval.step > 0).order_by(Approval.step, Approval.id)).all()
    return rules.ChainState.from_approvals(app.policy.admission.chain, approved)


def customer_dict(app: App, code: str, *, full: bool = False) -> dict:
    """The customer object of the JSON contract (``full``: with documents, approvals, contacts, notes)."""
    with app.db.read() as s:
        c = get_customer(s, code)
        owner = s.get(Staff, c.owner_id).login if c.owner_id else None
        grades = dict(s.execute(select(CustomerGrade.scale, CustomerGrade.grade)
                                .where(CustomerGrade.customer_id == c.id)).all())
        readable = can_read(s, app, c)
        last = None
        if app.policy.stability is not None:  # (imported here: the usage tables load on first use)
            from ..volume_totals import last_purchase

            last = last_purchase(s, c.id)
        out = _public_dict(app, c, owner, grades, last)
        if not readable:
            return {"code": c.code, "name": c.name, "restricted": True}
        if full:
            today = app.now().date()
            out["tax_id"] = c.tax_id
            out["status_reason"] = c.status_reason
            out["documents"] = [
                {"id": d.id, "type": d.type, "number": d.number, "expires": d.expires,
                 "valid": d.expires is None or d.expires >= today, "added_at": d.added_at.astimezone(app.tz)}
                for d in s.scalars(select(Document).where(Document.customer_id == c.id)
                                   .order_by(Document.type, Document.added_at)).all()
            ]
            out["approvals"] = [
                {"round": a.round, "step": a.step, "role": a.role, "by": a.staff_login, "decision": a.decision,
                 "comment": a.comment, "details": a.details, "at": a.at.astimezone(app.tz)}
                for a in s.scalars(select(Approval).where(Approval.customer_id == c.id)
                                   .order_by(Approval.at, Approval.id)).all()
            ]
            out["admission"] = _admission_summary(s, app, c)
            out["contacts"] = list(s.scalars(select(Staff.login).join(CustomerContact, CustomerContact.staff_id == Staff.id)
                                             .where(CustomerContact.customer_id == c.id).order_by(Staff.login)).all())
            out["notes"] = [
                {"at": n.at.astimezone(app.tz), "by": n.staff_login, "channel": n.channel, "text": n.text}
                for n in s.scalars(select(CustomerNote).where(CustomerNote.customer_id == c.id)
                                   .order_by(CustomerNote.at.desc()).limit(20)).all()
            ]
            benefits = {}
            for scale_code, grade in grades.items():
                scale = app.policy.grading.scales.get(scale_code)
                text = scale.benefits.get(grade) if scale else None
                if text:
                    benefits[scale_code] = text
            if benefits:
                out["benefits"] = benefits
    return out


def _public_dict(app: App, c: Customer, owner: str | None, grades: Mapping[str, str],
                 last_purchase: date | None = None) -> dict:
    scales = list(app.policy.grading.scales)
    out = {
        "code": c.code,
        "name": c.name,
        "status": c.status,
        "segments": dict(c.segments or {}),
        "fields": dict(c.fields or {}),
        "owner": owner,
        "grades": {sc: grades.get(sc) for sc in scales},
    }
    if app.policy.stability is not None:  # fuel-retail Art. 6: existing / lost / potential
        from ..stability import stability_of

        out["stability"] = stability_of(app, c.status, last_purchase)
    out["created_at"] = c.created_at.astimezone(app.tz)
    return out


def _admission_summary(session, app: App, c: Customer) -> dict | None:
    chain = list(app.policy.admission.chain)
    if not chain or c.status not in ("pending", "prospect"):
        return None
    state = chain_state(session, app, c)
    return {"round": c.admission_round, "approved_steps": len(state.approved_by), "steps": len(chain),
            "waiting_for": state.next_role if c.status == "pending" else None}



class CustomerQuery:
    """The customer list's query, filters checked before anything is read: shared by the nested rows
    (json, tables, reports) and the flat export (csv)."""

    def __init__(self, app: App, *, status: str | None = None, grade: str | None = None,
                 segment: Mapping[str, str] | None = None, owner: str | None = None,
                 name_like: str | None = None, limit: int | None = None, stability: str | None = None):
        idx = app.segment_index
        self.app = app
        self.scales = list(app.policy.grading.scales)
        self.with_stability = app.policy.stability is not None
        if stability and not self.with_stability:
            raise InvalidInput(_("this policy does not define stability ([stability]); --stability cannot be used"))
        self.last = None
        self.where: list = []
        if self.with_stability:  # (imported here: the usage tables load on first use)
            from ..stability import stability_clause
            from ..volume_totals import last_purchase_column

            self.last = last_purchase_column()
            if stability:
                self.where.append(stability_clause(app, stability, self.last))
        if status:  # by code or by the policy's label (正式客户)
            from ...rules.codes import pick_code

            self.where.append(Customer.status == pick_code(app.policy.statuses.labels(), status, _("status"), "--status"))
        for key, value in (segment or {}).items():
            k = idx.segment_key(key)
            if k is None:
                raise InvalidInput(_("unknown segment '{key}': the policy has {segments}").format(
                    key=key, segments=", ".join(idx.segments) or _("none")))
            v = idx.segment_value(k, value)
            self.where.append(Customer.segments[k].as_string() == v)
        if grade:
            scale, g = resolve_grade(app, grade)
            self.where.append(exists().where(CustomerGrade.customer_id == Customer.id, CustomerGrade.scale == scale,
                                             CustomerGrade.grade == g))
        if name_like:  # the typed text literally: % and _ are not wildcards
            from ...rules.limits import MAX_NAME
            from ...rules.text import LIKE_ESCAPE, like_contains

            rules.clean_text(name_like, "--name", max_len=MAX_NAME)
            self.where.append(Customer.name.like(like_contains(name_like), escape=LIKE_ESCAPE))
        self.owner = owner
        self.limit = limit
        # filtering on what only a readable file shows (status, grade, segments, stability, keeper)
        # would tell about a restricted customer: then only readable customers are listed
        self.on_details = bool(status or grade or segment or stability or owner)

    def visible(self, q, scope):
        """``q`` limited to the readable customers where the filters look at details."""
        return q.where(scope.customer_clause()) if scope.restricted and self.on_details else q

    def grade_joins(self) -> tuple[list, list]:
        """One LEFT JOIN per grading scale: (the grade columns, the joins for :meth:`select`)."""
        cols, joins = [], []
        for i, sc in enumerate(self.scales):
            g = aliased(CustomerGrade, name=f"grade_{i}")
            joins.append((g, and_(g.customer_id == Customer.id, g.scale == sc)))
            cols.append(g.grade)
        return cols, joins

    def select(self, session, *columns, joins: list = ()):
        """``columns`` of the matching customers in code order (``joins`` from :meth:`grade_joins`;
        the last purchase, :attr:`last`, is a correlated column)."""
        q = select(*columns).select_from(Customer)
        for target, on in joins:
            q = q.outerjoin(target, on)
        if self.owner:
            q = q.where(Customer.owner_id == find_staff(session, self.owner, active_only=False).id)
        q = q.where(*self.where).order_by(Customer.code)
        return q.limit(self.limit) if self.limit else q



def list_customers(app: App, **filters: Any) -> Iterator[dict]:
    """Customers matching the filters (see :class:`CustomerQuery`), streamed in code order as the
    customer objects of the JSON contract: one query (the current grade of each scale joined).

    Where the policy defines stability, the query joins one aggregate (last purchase per customer)
    and ``stability`` filters on it."""
    cq = CustomerQuery(app, **filters)
    return _nested_rows(app, cq)


def _nested_rows(app: App, cq: CustomerQuery) -> Iterator[dict]:
    scales, with_stability = cq.scales, cq.with_stability
    grade_cols, joins = cq.grade_joins()
    # Column order: id, code, name, status, segments, fields, created_at, owner_id, tax_id, grades…[, last].
    cols = [Customer.id, Customer.code, Customer.name, Customer.status, Customer.segments, Customer.fields,
            Customer.created_at, Customer.owner_id, Customer.tax_id, *grade_cols]
    last_at = len(cols)
    if with_stability:
        classify = rules_grading.stability_classifier(app.now().date(), app.policy.stability.lost_after_months)
        cols.append(cq.last)

    seg_keys = [seg.key for seg in app.policy.segments]
    field_keys = [f.key for f in app.policy.fields]
    # every row holds every segment and field of the policy (None where not set): the same keys on
    # every row, as the csv columns (customer_fields)
    no_segments, no_fields = dict.fromkeys(seg_keys), dict.fromkeys(field_keys)

    def restricted(code: str, name: str) -> dict:
        """A customer whose file the actor may not read: code and name only."""
        row = {"code": code, "name": name, "status": None, "segments": dict(no_segments),
               "fields": dict(no_fields), "owner": None, "grades": dict.fromkeys(scales)}
        if with_stability:
            row["stability"] = None
        row["created_at"] = None
        row["tax_id"] = None
        return row

    with app.db.read() as s:
        scope = Scope(s, app)
        q = cq.visible(cq.select(s, *cols, joins=joins), scope)
        logins = dict(s.execute(select(Staff.id, Staff.login)).all())
        decode_json = json_decoder()
        to_time = utc_decoder()
        to_day = day_decoder()
        for part in stream_chunks(s, q, 2000):  # streamed: one query, whatever the number of customers
            for r in part:
                cid, code, name, status_, segs, flds, created, owner_id, tax_id = r[:9]
                if not scope.readable(cid, owner_id):
                    yield restricted(code, name)
                    continue
                segs, flds = decode_json(segs) or {}, decode_json(flds) or {}
                row = {"code": code, "name": name, "status": status_,
                       "segments": {k: segs.get(k) for k in seg_keys},
                       "fields": {k: flds.get(k) for k in field_keys}, "owner": logins.get(owner_id),
                       "grades": dict(zip(scales, r[9:last_at]))}
                if with_stability:
                    row["stability"] = classify(status_, to_day(r[last_at]))
                row["created_at"] = to_time(created).astimezone(app.tz)
                row["tax_id"] = tax_id
                yield row


def export_customers(app: App, *, full: bool = True, text_cells: bool = False,
                     **filters: Any) -> tuple[list[Field], Iterator[tuple]]:
    """The customer list flat, for csv: (fields, rows), each row a tuple in the order of the fields
    (:func:`customer_fields`) holding exactly what the nested objects of :func:`list_customers` hold.

    Everything a row needs comes from one query: segments and fields taken out of their JSON by the
    database (``crmctl.db.json_value``: text, and numbers exactly as stored; yes/no fields made
    booleans), one LEFT JOIN per grading scale, the owner's login, the last purchase where stability
    is defined.
    ``text_cells`` (a CSV file): the cells may come as the text the CSV shows (numbers too), which
    lets PostgreSQL stream the rows with ``COPY … TO STDOUT`` (:func:`crmctl.db.copy_chunks`).
    The filters are checked here, before anything is read or written."""
    cq = CustomerQuery(app, **filters)
    return customer_fields(app.policy, full=full), _flat_rows(app, cq, full, text_cells)


def _flat_rows(app: App, cq: CustomerQuery, full: bool, text_cells: bool = False) -> Iterator[tuple]:

    pol = app.policy
    # in the order of customer_fields: code, name, status, segments…[, fields…], owner, grades…
    # [, stability][, created_at, tax_id]
    cols: list = [Customer.code, Customer.name, Customer.status]
    cols += [json_text(Customer.segments, seg.key) for seg in pol.segments]  # codes: text
    yes_no: list[int] = []  # positions of yes/no fields: SQLite's JSON gives 1/0 for true/false
    numbers: list[int] = []  # positions of number fields (decoded from their JSON text when copied)
    if full:
        for f in pol.fields:
            if f.type == "bool":
                yes_no.append(len(cols))
            elif f.type in ("int", "decimal"):
                numbers.append(len(cols))
            cols.append(json_value(Customer.fields, f.key) if f.type in ("bool", "int", "decimal")
                        else json_text(Customer.fields, f.key))
    cols.append(Staff.login)
    grade_cols, joins = cq.grade_joins()
    cols += grade_cols
    at_stability = len(cols)
    if cq.with_stability:
        cols.append(type_coerce(cq.last, String))
    at_created = len(cols)
    if full:
        # ISO text in the company's zone, as the json shows it: converted below from what the driver
        # gives (no per-row regex parse of SQLAlchemy's date-time type)
        cols += [type_coerce(Customer.created_at, String), Customer.tax_id]
    with app.db.read() as s:
        scope = Scope(s, app)
        restricted = scope.restricted
        if restricted:
            cols += [Customer.id, Customer.owner_id]
        q = cq.visible(cq.select(s, *cols, joins=[(Staff, Staff.id == Customer.owner_id), *joins]), scope)
        classify = None
        if cq.with_stability:
            classify = rules_grading.stability_classifier(app.now().date(), pol.stability.lost_after_months)
        to_day = day_decoder()
        iso_time = utc_to_local_iso(app.tz)  # stored UTC (ISO text or datetime) -> ISO text in the zone
        width = len(cols) - (2 if restricted else 0)  # the row as the database gives it
        hidden_tail = (None,) * (width - 2)  # a restricted row: code and name only
        copied = text_cells and copy_supported(s.connection())  # every cell text, numbers too
        if copied:
            chunks, loads = copy_chunks(s, q, 2000), json.loads
            truth = "true"
        else:
            chunks, numbers = raw_chunks(s, q, 2000), []
        plain = classify is None and not yes_no and not numbers and full  # only created_at to convert
        for part in chunks:
            for r in part:
                if restricted:
                    if not (scope.readable(int(r[-2]), int(r[-1]) if r[-1] is not None else None) if copied
                            else scope.readable(r[-2], r[-1])):
                        yield (r[0], r[1]) + hidden_tail
                        continue
                    r = r[:-2]
                if plain:
                    created = r[at_created]
                    yield r[:at_created] + (iso_time(created) if created is not None else None, r[-1])
                    continue
                row = list(r)
                if classify is not None:
                    last = row[at_stability]  # the ISO day from SQLite (and COPY), a date from PostgreSQL
                    row[at_stability] = classify(row[2], to_day(last) if last else None)
                for at in yes_no:
                    if row[at] is not None:
                        row[at] = (row[at] == truth) if copied else bool(row[at])
                for at in numbers:  # the JSON text of a number: as the driver would have decoded it
                    if row[at] is not None:
                        row[at] = loads(row[at])
                if full and row[at_created] is not None:
                    row[at_created] = iso_time(row[at_created])
                yield tuple(row)


def resolve_grade(app: App, text: str) -> tuple[str, str]:
    """``--grade`` as ``GRADE``, ``SCALE:GRADE`` or a label, to (scale, grade)."""
    scales = app.policy.grading.scales
    if not scales:
        raise InvalidInput(_("this policy has no grading scales"))
    scale_part, sep, grade_part = (text or "").partition(":")
    candidates = [scale_part] if sep else list(scales)
    wanted = grade_part if sep else scale_part
    found = []
    for sc in candidates:
        scale = scales.get(sc)
        if scale is None:
            raise InvalidInput(_("unknown scale '{scale}': use {scales}").format(scale=sc, scales=", ".join(scales)))
        for g in scale.grades:
            if wanted in (g.code, g.label):
                found.append((sc, g.code))
    if not found:
        known = "; ".join(f"{sc}: " + ", ".join(f"{g.code} ({g.label})" for g in s.grades) for sc, s in scales.items())
        raise InvalidInput(_("unknown grade '{grade}': {known}").format(grade=text, known=known))
    if len(found) > 1:
        raise InvalidInput(_("grade '{grade}' exists on several scales; write SCALE:GRADE, e.g. {example}").format(
            grade=text, example=f"{found[0][0]}:{found[0][1]}"))
    return found[0]
