"""Customer files: add, edit, list, show, admission chain, disqualification, contacts and notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterator, Mapping

from sqlalchemy import and_, exists, func, select

from ..errors import InvalidInput, NotFound, NotPermitted, RuleViolation
from ..models import (Approval, Customer, CustomerContact, CustomerGrade, CustomerNote, Document,
                      Staff)
from ..rules import customers as rules
from ..rules.codes import pick_code
from ..rules.taxid import normalise_tax_id
from . import audit, counters
from .app import App, find_staff

NOTE_CHANNELS = ("call", "letter", "fax", "visit", "email", "sms", "meeting", "other")


def _bad(exc: ValueError) -> InvalidInput:
    return InvalidInput(str(exc))


def index(app: App) -> rules.SegmentIndex:
    idx = app.__dict__.get("_segment_index")
    if idx is None:
        idx = app.__dict__["_segment_index"] = rules.SegmentIndex(app.policy)
    return idx


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


def get_customer(session, code: str) -> Customer:
    c = session.scalars(select(Customer).where(Customer.code == (code or "").strip())).first()
    if c is None:
        raise NotFound(f"no customer '{code}'")
    return c


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
    idx = index(app)
    try:
        name = rules.clean_text(name, "name", max_len=200)
        flds = rules.normalise_fields(idx, fields)
        segs = rules.normalise_segments(idx, segments, fields=flds)
        tax = normalise_tax_id(tax_id) if tax_id else None
    except ValueError as exc:
        raise _bad(exc) from None
    return name, segs, flds, tax


def add_customer(app: App, name: str, segments: Mapping[str, str], fields: Mapping[str, str], *,
                 tax_id: str | None = None, owner: str | None = None, prospect: bool = False,
                 code: str | None = None, at: datetime | None = None) -> dict:
    name, segs, flds, tax = validate_new(app, name, segments, fields, tax_id)
    chain = app.policy.admission.chain if app.policy.admission else []
    status = "prospect" if (prospect or chain) else "active"
    now = at or app.now()
    with app.db.write() as s:
        owner_id = _owner_id(s, owner or app.actor.login)
        if tax and s.scalars(select(Customer.code).where(Customer.tax_id == tax)).first():
            other = s.scalars(select(Customer.code).where(Customer.tax_id == tax)).first()
            raise RuleViolation(f"tax id {tax} already belongs to customer {other}")
        if code:
            try:
                code = rules.clean_code(code)
            except ValueError as exc:
                raise _bad(exc) from None
            if s.scalars(select(Customer.id).where(Customer.code == code)).first():
                raise RuleViolation(f"customer code {code} is already taken")
        else:
            code = next(next_codes(s, app, 1))
        c = Customer(code=code, name=name, status=status, owner_id=owner_id, tax_id=tax, segments=segs,
                     fields=flds, created_at=now, updated_at=now, status_changed_at=now)
        s.add(c)
        s.flush()
        if status == "active":
            _set_initial_grades(s, app, c, now)
        result = snapshot(c, owner or app.actor.login)
        audit.record(s, app, "customer.add", "customer", code, after=result, customer_code=code, at=now)
    return customer_dict(app, code)


def _set_initial_grades(session, app: App, c: Customer, now: datetime) -> dict[str, str]:
    grades = rules.initial_grades(app.policy, c.segments, c.fields)
    existing = set(session.scalars(select(CustomerGrade.scale).where(CustomerGrade.customer_id == c.id)).all())
    for scale, grade in grades.items():
        if scale not in existing:
            session.add(CustomerGrade(customer_id=c.id, scale=scale, grade=grade, label=None, since=now))
    return grades


def edit_customer(app: App, code: str, *, name: str | None = None, segments: Mapping[str, str] | None = None,
                  fields: Mapping[str, str] | None = None, tax_id: str | None = None,
                  owner: str | None = None) -> dict:
    idx = index(app)
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        _require_can_read(s, app, c)
        if c.status == "disqualified":
            raise RuleViolation(f"customer {c.code} is disqualified; a gm must reinstate it first")
        before_owner = s.get(Staff, c.owner_id).login if c.owner_id else None
        before = snapshot(c, before_owner)
        try:
            if name is not None:
                c.name = rules.clean_text(name, "name", max_len=200)
            if fields:
                c.fields = rules.normalise_fields(idx, fields, base=c.fields)
            if segments or fields:
                c.segments = rules.normalise_segments(idx, segments or {}, base=c.segments, fields=c.fields)
            if tax_id is not None:
                c.tax_id = normalise_tax_id(tax_id) if tax_id.strip() else None
        except ValueError as exc:
            raise _bad(exc) from None
        if c.tax_id and c.tax_id != before["tax_id"]:
            other = s.scalars(select(Customer.code).where(Customer.tax_id == c.tax_id, Customer.id != c.id)).first()
            if other:
                raise RuleViolation(f"tax id {c.tax_id} already belongs to customer {other}")
        owner_login = before_owner
        if owner:
            c.owner_id = _owner_id(s, owner)
            owner_login = owner
        after = snapshot(c, owner_login)
        b, a = audit.changed_fields(before, after)
        if not a and not b:
            raise InvalidInput("nothing to change: give --name, --segment, --field, --tax-id or --owner")
        c.updated_at = now
        s.add(c)
        audit.record(s, app, "customer.edit", "customer", c.code, before=b, after=a, customer_code=c.code, at=now)
    return customer_dict(app, code)


# ----------------------------------------------------------------------------------------------
# Reading


def _can_read_all(session, app: App, c: Customer | None = None) -> bool:
    perms = getattr(app.policy, "permissions", None)
    if not perms or not perms.restrict_customer_details:
        return True
    actor = app.actor
    if actor.is_admin or any(r in actor.roles for r in (perms.readers_roles or [])):
        return True
    if c is None:
        return False
    if c.owner_id == actor.id:
        return True
    return session.scalars(select(CustomerContact.staff_id).where(
        CustomerContact.customer_id == c.id, CustomerContact.staff_id == actor.id)).first() is not None


def _require_can_read(session, app: App, c: Customer) -> None:
    if not _can_read_all(session, app, c):
        raise NotPermitted(f"{app.actor.login} may not read or change the file of customer {c.code} "
                           "(only its owner, its contacts and permitted roles may)")


def customer_dict(app: App, code: str, *, full: bool = False) -> dict:
    """The customer object of the JSON contract (``full``: with documents, approvals, contacts, notes)."""
    with app.db.read() as s:
        c = get_customer(s, code)
        owner = s.get(Staff, c.owner_id).login if c.owner_id else None
        grades = dict(s.execute(select(CustomerGrade.scale, CustomerGrade.grade)
                                .where(CustomerGrade.customer_id == c.id)).all())
        readable = _can_read_all(s, app, c)
        last = None
        if app.policy.stability is not None:
            from .volumes import last_purchase

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
                scale = app.policy.grading.scales.get(scale_code) if app.policy.grading else None
                text = (getattr(scale, "benefits", None) or {}).get(grade) if scale else None
                if text:
                    benefits[scale_code] = text
            if benefits:
                out["benefits"] = benefits
    return out


def _public_dict(app: App, c: Customer, owner: str | None, grades: Mapping[str, str],
                 last_purchase: date | None = None) -> dict:
    scales = list(app.policy.grading.scales) if app.policy.grading else []
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
        from .grading import stability_of

        out["stability"] = stability_of(app, c.status, last_purchase)
    out["created_at"] = c.created_at.astimezone(app.tz)
    return out


def _admission_summary(session, app: App, c: Customer) -> dict | None:
    chain = list(app.policy.admission.chain) if app.policy.admission else []
    if not chain or c.status not in ("pending", "prospect"):
        return None
    state = chain_state(session, app, c)
    return {"round": c.admission_round, "approved_steps": len(state.approved_by), "steps": len(chain),
            "waiting_for": state.next_role if c.status == "pending" else None}


def customer_columns(app: App, *, full: bool = True) -> list:
    """The columns of the customer list (json/csv keys; Chinese labels for tables), in the contract's
    order: code, name, status, segments.*, grades.*, owner[, stability][, fields.*, created_at]."""
    from ..output import Column

    pol = app.policy
    statuses = pol.statuses.model_dump()

    def labelled(labels: Mapping) -> Any:
        return lambda v: labels.get(v, v or "")

    cols = [Column("code", "编号"), Column("name", "名称"), Column("status", "状态", table_format=labelled(statuses))]
    for seg in pol.segments:
        cols.append(Column(f"segments.{seg.key}", seg.label, table_format=labelled(seg.values)))
    for code, scale in (pol.grading.scales.items() if pol.grading else []):
        cols.append(Column(f"grades.{code}", scale.label,
                           table_format=labelled({g.code: g.label for g in scale.grades})))
    cols.append(Column("owner", "负责人"))
    if pol.stability is not None:
        cols.append(Column("stability", "稳定性", table_format=labelled(pol.stability.labels.model_dump())))
    if full:
        for f in pol.fields:
            cols.append(Column(f"fields.{f.key}", f.label))
        cols.append(Column("created_at", "建档时间"))
    return cols


class _CustomerQuery:
    """The customer list's query, filters checked before anything is read: shared by the nested rows
    (json, tables, reports) and the flat export (csv)."""

    def __init__(self, app: App, *, status: str | None = None, grade: str | None = None,
                 segment: Mapping[str, str] | None = None, owner: str | None = None,
                 name_like: str | None = None, limit: int | None = None, stability: str | None = None):
        idx = index(app)
        self.app = app
        self.scales = list(app.policy.grading.scales) if app.policy.grading else []
        self.with_stability = app.policy.stability is not None
        if stability and not self.with_stability:
            raise InvalidInput("this policy does not define stability ([stability]); --stability cannot be used")
        self.last = None
        self.where: list = []
        if self.with_stability:
            from .volumes import last_purchase_subquery

            self.last = last_purchase_subquery()
            if stability:
                from .grading import stability_clause

                self.where.append(stability_clause(app, stability, self.last.c.last))
        if status:
            if status not in rules.STATUSES:
                raise InvalidInput(f"unknown status '{status}': use {', '.join(rules.STATUSES)}")
            self.where.append(Customer.status == status)
        for key, value in (segment or {}).items():
            k = idx.segment_key(key)
            if k is None:
                raise InvalidInput(f"unknown segment '{key}': the policy has {', '.join(idx.segments) or 'none'}")
            try:
                v = idx.segment_value(k, value)
            except ValueError as exc:
                raise _bad(exc) from None
            self.where.append(Customer.segments[k].as_string() == v)
        if grade:
            scale, g = resolve_grade(app, grade)
            self.where.append(exists().where(CustomerGrade.customer_id == Customer.id, CustomerGrade.scale == scale,
                                             CustomerGrade.grade == g))
        if name_like:
            self.where.append(Customer.name.contains(name_like))
        self.owner = owner
        self.limit = limit

    def select(self, session, *columns):
        """``columns`` of the matching customers in code order (last purchase joined where needed)."""
        q = select(*columns).select_from(Customer)
        if self.last is not None:
            q = q.outerjoin(self.last, self.last.c.customer_id == Customer.id)
        if self.owner:
            q = q.where(Customer.owner_id == find_staff(session, self.owner, active_only=False).id)
        q = q.where(*self.where).order_by(Customer.code)
        return q.limit(self.limit) if self.limit else q

    def visibility(self, session) -> tuple[bool, set[int]]:
        """(restricted, customers the actor keeps contact with): who may read every detail."""
        if _can_read_all(session, self.app):
            return False, set()
        return True, set(session.scalars(select(CustomerContact.customer_id)
                                         .where(CustomerContact.staff_id == self.app.actor.id)).all())


def list_customers(app: App, **filters: Any) -> Iterator[dict]:
    """Customers matching the filters (see :class:`_CustomerQuery`), streamed in code order as the
    customer objects of the JSON contract: one query, grades by a second per batch.

    Where the policy defines stability, the query joins one aggregate (last purchase per customer)
    and ``stability`` filters on it."""
    cq = _CustomerQuery(app, **filters)
    return _nested_rows(app, cq)


def _nested_rows(app: App, cq: _CustomerQuery) -> Iterator[dict]:
    scales, with_stability = cq.scales, cq.with_stability
    cols = [Customer.id, Customer.code, Customer.name, Customer.status, Customer.segments, Customer.fields,
            Customer.created_at, Customer.owner_id]
    if with_stability:
        from ..rules.grading import stability_classifier

        classify = stability_classifier(app.now().date(), app.policy.stability.lost_after_months)
        cols.append(cq.last.c.last)
    with app.db.read() as s:
        q = cq.select(s, *cols)
        logins = dict(s.execute(select(Staff.id, Staff.login)).all())
        restricted, visible = cq.visibility(s)
        # Driver rows (plain tuples, no ORM wrapping) in chunks; grades by one query per chunk.
        # Column order: id, code, name, status, segments, fields, created_at, owner_id[, last].
        decode_json = _json_decoder(s)
        to_time = _utc_decoder(s)
        to_day = _day_decoder(s)
        for part in _driver_chunks(s, q, 2000):
            ids = [r[0] for r in part]
            grades: dict[int, dict[str, str]] = {}
            if scales:
                for cid, sc, gr in s.execute(select(CustomerGrade.customer_id, CustomerGrade.scale, CustomerGrade.grade)
                                             .where(CustomerGrade.customer_id.in_(ids))):
                    grades.setdefault(cid, {})[sc] = gr
            for r in part:
                cid, code, name, status_, segs, flds, created, owner_id = r[:8]
                if restricted and owner_id != app.actor.id and cid not in visible:
                    row = {"code": code, "name": name, "status": None, "segments": {}, "fields": {},
                           "owner": None, "grades": {sc: None for sc in scales}}
                    if with_stability:
                        row["stability"] = None
                    row["created_at"] = None
                    yield row
                    continue
                g = grades.get(cid, {})
                row = {"code": code, "name": name, "status": status_, "segments": decode_json(segs) or {},
                       "fields": decode_json(flds) or {}, "owner": logins.get(owner_id),
                       "grades": {sc: g.get(sc) for sc in scales}}
                if with_stability:
                    row["stability"] = classify(status_, to_day(r[8]))
                row["created_at"] = to_time(created).astimezone(app.tz)
                yield row


def export_customers(app: App, *, full: bool = True, **filters: Any) -> tuple[list, Iterator[tuple]]:
    """The customer list flat, for csv: (columns, rows), each row a tuple in the columns' order
    (``customer_columns``) holding exactly what the nested objects of :func:`list_customers` hold.

    Everything a row needs comes from one query: segments and fields taken out of their JSON by the
    database (``crmctl.db.json_value``: text, and numbers exactly as stored; yes/no fields made
    booleans), one LEFT JOIN per grading scale, the owner's login, the last purchase where stability
    is defined.
    The filters are checked here, before anything is read or written."""
    cq = _CustomerQuery(app, **filters)
    return customer_columns(app, full=full), _flat_rows(app, cq, full)


def _flat_rows(app: App, cq: _CustomerQuery, full: bool) -> Iterator[tuple]:
    from sqlalchemy import String, type_coerce
    from sqlalchemy.orm import aliased

    from ..db import json_value
    from ..rules.times import utc_to_local_iso

    pol = app.policy
    cols: list = [Customer.code, Customer.name, Customer.status]
    cols += [json_value(Customer.segments, seg.key) for seg in pol.segments]
    joins = []
    for i, sc in enumerate(cq.scales):
        g = aliased(CustomerGrade, name=f"grade_{i}")
        joins.append((g, and_(g.customer_id == Customer.id, g.scale == sc)))
        cols.append(g.grade)
    cols.append(Staff.login)
    n_head = len(cols)  # code .. owner: as the database gives them
    if cq.with_stability:
        cols.append(type_coerce(cq.last.c.last, String))
    yes_no: list[int] = []  # positions of yes/no fields: SQLite's JSON gives 1/0 for true/false
    if full:
        for f in pol.fields:
            if f.type == "bool":
                yes_no.append(len(cols))
            cols.append(json_value(Customer.fields, f.key))
        # ISO text in the company's zone, as the json shows it: converted below from what the driver
        # gives (no per-row regex parse of SQLAlchemy's date-time type)
        cols.append(type_coerce(Customer.created_at, String))
    with app.db.read() as s:
        restricted, visible = cq.visibility(s)
        if restricted:
            cols += [Customer.id, Customer.owner_id]
        q = cq.select(s, *cols).outerjoin(Staff, Staff.id == Customer.owner_id)
        for g, on in joins:
            q = q.outerjoin(g, on)
        actor_id = app.actor.id
        classify = None
        if cq.with_stability:
            from ..rules.grading import stability_classifier

            classify = stability_classifier(app.now().date(), pol.stability.lost_after_months)
        to_day = _day_decoder(s)
        iso_time = utc_to_local_iso(app.tz)  # stored UTC (ISO text or datetime) -> ISO text in the zone
        width = len(cols) - (2 if restricted else 0)  # the row as the database gives it
        hidden_tail = (None,) * (width - 2)  # a restricted row: code and name only
        plain = classify is None and not yes_no and full  # the common case: only created_at to convert
        for part in _raw_chunks(s, q, 2000):
            for r in part:
                if restricted:
                    if r[-1] != actor_id and r[-2] not in visible:
                        yield (r[0], r[1]) + hidden_tail
                        continue
                    r = r[:-2]
                if plain:
                    created = r[-1]
                    yield r[:-1] + (iso_time(created) if created is not None else None,)
                    continue
                row = list(r)
                if classify is not None:
                    last = row[n_head]  # the ISO day from SQLite, a date from PostgreSQL
                    row[n_head] = classify(row[2], to_day(last) if last else None)
                for at in yes_no:
                    if row[at] is not None:
                        row[at] = bool(row[at])
                if full and row[-1] is not None:
                    row[-1] = iso_time(row[-1])
                yield tuple(row)


def _driver_chunks(session, query, size: int):
    """Run a Core query on the unit of work's connection (no ORM layer) and yield chunks of rows;
    streamed (server-side cursor on PostgreSQL)."""
    result = session.connection().execute(query.execution_options(stream_results=True, yield_per=size))
    try:
        yield from result.partitions(size)
    finally:
        result.close()


def _raw_chunks(session, query, size: int):
    """Like :func:`_driver_chunks`, but where the driver's own cursor streams (SQLite steps rows as
    they are fetched) the chunks are its plain tuples, without SQLAlchemy's row objects and result
    types; the caller takes values as the driver gives them (SQLite: 1/0 for booleans, ISO text for
    date-times).  Elsewhere (PostgreSQL's client-side cursor would hold the whole result) it is
    :func:`_driver_chunks`."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield from _driver_chunks(session, query, size)
        return
    result = connection.execute(query)  # no yield_per: SQLAlchemy fetches nothing ahead of us
    try:
        fetch = result.cursor.fetchmany
        while True:
            rows = fetch(size)
            if not rows:
                break
            yield rows
    finally:
        result.close()


def _json_decoder(session):
    import json

    loads = json.loads
    return lambda v: loads(v) if isinstance(v, (str, bytes)) else v


def _utc_decoder(session):
    from datetime import timezone

    def to_time(v):
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v

    return to_time


def _day_decoder(session):
    return lambda v: date.fromisoformat(v[:10]) if isinstance(v, str) else v


def resolve_grade(app: App, text: str) -> tuple[str, str]:
    """``--grade`` as ``GRADE``, ``SCALE:GRADE`` or a label, to (scale, grade)."""
    scales = app.policy.grading.scales if app.policy.grading else {}
    if not scales:
        raise InvalidInput("this policy has no grading scales")
    scale_part, sep, grade_part = (text or "").partition(":")
    candidates = [scale_part] if sep else list(scales)
    wanted = grade_part if sep else scale_part
    found = []
    for sc in candidates:
        scale = scales.get(sc)
        if scale is None:
            raise InvalidInput(f"unknown scale '{sc}': use {', '.join(scales)}")
        for g in scale.grades:
            if wanted in (g.code, g.label):
                found.append((sc, g.code))
    if not found:
        known = "; ".join(f"{sc}: " + ", ".join(f"{g.code} ({g.label})" for g in s.grades) for sc, s in scales.items())
        raise InvalidInput(f"unknown grade '{text}': {known}")
    if len(found) > 1:
        raise InvalidInput(f"grade '{text}' exists on several scales; write SCALE:GRADE, e.g. {found[0][0]}:{found[0][1]}")
    return found[0]


# ----------------------------------------------------------------------------------------------
# Admission


def chain_state(session, app: App, c: Customer) -> rules.ChainState:
    chain = tuple(app.policy.admission.chain) if app.policy.admission else ()
    approved = session.scalars(select(Approval.staff_login).where(
        Approval.customer_id == c.id, Approval.round == c.admission_round, Approval.decision == "approve")
        .order_by(Approval.step)).all()
    return rules.ChainState(chain, tuple(approved))


def submit(app: App, code: str, at: datetime | None = None, criteria: Mapping[str, str] | None = None) -> dict:
    """prospect -> pending (or active where the policy has no chain): required documents present?"""
    now = at or app.now()
    adm = app.policy.admission
    try:
        scores = rules.criteria_scores(adm.criteria if adm else {}, criteria or {},
                                       adm.criteria_scale_max if adm else 10)
    except ValueError as exc:
        raise _bad(exc) from None
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status != "prospect":
            raise RuleViolation(f"customer {c.code} is {c.status}; only a prospect can be submitted")
        docs = s.execute(select(Document.type, Document.expires).where(Document.customer_id == c.id)).all()
        labels = {k: d.label for k, d in (app.policy.documents or {}).items()}
        missing = rules.document_problems(adm.required_documents if adm else [], docs, now.date(), labels)
        if missing:
            raise RuleViolation(f"customer {c.code} lacks valid documents: {', '.join(missing)} (add them with 'crmctl doc add')")
        c.admission_round += 1
        chain = list(adm.chain) if adm else []
        c.status = "pending" if chain else "active"
        c.status_changed_at = c.updated_at = now
        s.add(Approval(customer_id=c.id, round=c.admission_round, step=0, role=None, staff_login=app.actor.login,
                       decision="submit", details={"criteria": scores} if scores else None, at=now))
        if c.status == "active":
            _set_initial_grades(s, app, c, now)
        s.add(c)
        audit.record(s, app, "customer.submit", "customer", c.code, before={"status": "prospect"},
                     after={"status": c.status, "round": c.admission_round}, customer_code=c.code, at=now)
        waiting = chain[0] if chain else None
    return {"code": code, "status": c.status, "waiting_for": waiting}


def approve(app: App, code: str, *, reject: bool = False, comment: str | None = None,
            at: datetime | None = None) -> dict:
    """The acting person's step of the admission chain: approve (last step activates) or reject."""
    now = at or app.now()
    adm = app.policy.admission
    if not adm or not adm.chain:
        raise RuleViolation("this policy has no approval chain: customers are admitted by 'customer submit'")
    try:
        comment = rules.clean_text(comment or "", "--comment", required=reject)
    except ValueError as exc:
        raise InvalidInput(f"{exc} (a rejection needs a reason)" if reject else str(exc)) from None
    actor = app.actor
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status != "pending":
            raise RuleViolation(f"customer {c.code} is {c.status}; only a pending admission can be "
                                f"{'rejected' if reject else 'approved'} (submit it first)")
        state = chain_state(s, app, c)
        try:
            step = rules.check_approver(state, actor.login, actor.roles, is_admin=actor.is_admin,
                                        one_person_one_step=adm.one_person_one_step)
        except ValueError as exc:
            raise RuleViolation(f"customer {c.code}: {exc}") from None
        role = state.chain[step - 1]
        if not reject:
            needed = (adm.step_documents or {}).get(role, [])
            docs = s.execute(select(Document.type, Document.expires).where(Document.customer_id == c.id)).all()
            labels = {k: d.label for k, d in (app.policy.documents or {}).items()}
            missing = rules.document_problems(needed, docs, now.date(), labels)
            if missing:
                raise RuleViolation(f"customer {c.code}: step {step} ({role}) needs valid documents: {', '.join(missing)}")
        s.add(Approval(customer_id=c.id, round=c.admission_round, step=step, role=role, staff_login=actor.login,
                       decision="reject" if reject else "approve", comment=comment, at=now))
        before = {"status": c.status}
        if reject:
            c.status = "prospect"
            c.status_reason = f"rejected at step {step} ({role}): {comment}"
        elif step == len(state.chain):
            c.status = "active"
            c.status_reason = None
            _set_initial_grades(s, app, c, now)
        c.status_changed_at = c.updated_at = now
        s.add(c)
        audit.record(s, app, "customer.reject" if reject else "customer.approve", "customer", c.code,
                     before=before, after={"status": c.status, "step": step, "role": role},
                     customer_code=c.code, note=comment, at=now)
        next_role = None if reject or step == len(state.chain) else state.chain[step]
    return {"code": code, "step": step, "role": role, "decision": "reject" if reject else "approve",
            "status": c.status, "waiting_for": next_role}


def waiting_for(app: App) -> list[dict]:
    """Pending admissions whose next step the acting person may decide."""
    adm = app.policy.admission
    if not adm or not adm.chain:
        return []
    actor = app.actor
    out = []
    with app.db.read() as s:
        pending = s.scalars(select(Customer).where(Customer.status == "pending").order_by(Customer.status_changed_at)).all()
        approvals: dict[int, list[tuple[int, str]]] = {}
        ids = [c.id for c in pending]
        for i in range(0, len(ids), 500):
            for cid, rnd, login in s.execute(select(Approval.customer_id, Approval.round, Approval.staff_login)
                                             .where(Approval.customer_id.in_(ids[i:i + 500]), Approval.decision == "approve")
                                             .order_by(Approval.step)):
                approvals.setdefault(cid, []).append((rnd, login))
        for c in pending:
            done = tuple(login for rnd, login in approvals.get(c.id, []) if rnd == c.admission_round)
            state = rules.ChainState(tuple(adm.chain), done)
            try:
                step = rules.check_approver(state, actor.login, actor.roles, is_admin=actor.is_admin,
                                            one_person_one_step=adm.one_person_one_step)
            except ValueError:
                continue
            out.append({"code": c.code, "name": c.name, "step": step, "role": state.next_role,
                        "submitted_at": c.status_changed_at.astimezone(app.tz)})
    return out


def disqualify(app: App, code: str, reason: str, note: str | None = None) -> dict:
    dq = app.policy.disqualification
    reasons = dict(dq.reasons) if dq and dq.reasons else {}
    if reasons:
        try:
            reason = pick_code(reasons, reason, "reason", "--reason")
        except ValueError as exc:
            raise _bad(exc) from None
    else:
        try:
            reason = rules.clean_text(reason, "--reason", max_len=200)
        except ValueError as exc:
            raise _bad(exc) from None
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(f"customer {c.code} is already disqualified")
        before = {"status": c.status}
        c.previous_status = c.status
        c.status = "disqualified"
        c.status_reason = reason
        c.status_changed_at = c.updated_at = now
        s.add(c)
        audit.record(s, app, "customer.disqualify", "customer", c.code, before=before,
                     after={"status": "disqualified", "reason": reason}, customer_code=c.code, note=note, at=now)
    return {"code": code, "status": "disqualified", "reason": reason}


def reinstate(app: App, code: str, note: str | None = None) -> dict:
    dq = app.policy.disqualification
    role = dq.reinstate_role if dq and dq.reinstate_role else None
    if role and not app.actor.has_role(role):
        raise NotPermitted(f"only role {role} may reinstate a disqualified customer")
    if not role:
        app.require_admin("reinstate a disqualified customer")
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status != "disqualified":
            raise RuleViolation(f"customer {c.code} is {c.status}, not disqualified")
        c.status = c.previous_status or "prospect"
        c.status_reason = None
        c.previous_status = None
        c.status_changed_at = c.updated_at = now
        s.add(c)
        audit.record(s, app, "customer.reinstate", "customer", c.code, before={"status": "disqualified"},
                     after={"status": c.status}, customer_code=c.code, note=note, at=now)
    return {"code": code, "status": c.status}


# ----------------------------------------------------------------------------------------------
# Contacts and the contact log (manufacturer part 三)


def add_contact(app: App, code: str, login: str) -> dict:
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        staff = find_staff(s, login)
        if s.get(CustomerContact, (c.id, staff.id)) is not None:
            raise RuleViolation(f"{login} is already a contact of customer {c.code}")
        s.add(CustomerContact(customer_id=c.id, staff_id=staff.id, since=now))
        audit.record(s, app, "customer.contact", "customer", c.code, after={"contact": login},
                     customer_code=c.code, at=now)
    return {"code": code, "contact": login}


def add_note(app: App, code: str, channel: str, text: str, at: datetime | None = None) -> dict:
    if channel not in NOTE_CHANNELS:
        raise InvalidInput(f"unknown channel '{channel}': use {', '.join(NOTE_CHANNELS)}")
    try:
        text = rules.clean_text(text, "--text")
    except ValueError as exc:
        raise _bad(exc) from None
    now = at or app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(f"customer {c.code} is disqualified")
        _require_can_read(s, app, c)
        note = CustomerNote(customer_id=c.id, staff_login=app.actor.login, channel=channel, text=text, at=now)
        s.add(note)
        s.flush()
        audit.record(s, app, "customer.note", "customer", c.code, after={"channel": channel, "text": text},
                     customer_code=c.code, at=now)
        return {"id": note.id, "code": code, "channel": channel, "text": text, "at": now}


def contact_coverage(app: App) -> Iterator[dict]:
    """Important customers with fewer staff contacts than the policy asks (manufacturer: >= 2)."""
    perms = getattr(app.policy, "permissions", None)
    need = getattr(perms, "important_min_contacts", None) if perms else None
    flag = getattr(perms, "important_field", None) if perms else None
    if not need or not flag:
        return iter(())
    n_contacts = (select(func.count()).select_from(CustomerContact)
                  .where(CustomerContact.customer_id == Customer.id).scalar_subquery())
    q = (select(Customer.code, Customer.name, n_contacts.label("contacts"))
         .where(Customer.fields[flag].as_boolean().is_(True), Customer.status != "disqualified",
                n_contacts < need).order_by(Customer.code))

    def rows():
        with app.db.read() as s:
            for r in s.execute(q):
                yield {"code": r.code, "name": r.name, "contacts": r.contacts, "required": need}

    return rows()
