"""``customer import``: a CSV of customers, all or nothing, with bulk writes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ...db import IN_CHUNK
from ...errors import InvalidInput, RuleViolation
from ...models import Customer, CustomerGrade, Staff
from ...progress import Progress, silent
from ...rules import customers as rules
from ...rules.limits import MAX_NAME
from ...rules.errors import Invalid, RuleError
from ...rules.taxid import normalise_tax_id
from ...rules.times import parse_datetime
from .. import audit
from ..app import App
from ..csvfiles import read_csv, register_import
from .records import next_codes

BASE_COLUMNS = ("name", "code", "tax_id", "owner", "status", "created_at")
IMPORT_STATUSES = ("prospect", "active", "suspended", "disqualified")


def import_customers(app: App, path: Path, *, encoding: str = "utf-8", allow_duplicates: bool = False,
                     admitted: bool = False, progress: Progress = silent) -> dict:
    """``customer import FILE``: every row checked against the policy first, then written in bulk
    in one transaction; a bad row stops it with its row number and reason, and nothing is written.

    Rows start where ``customer add`` starts them: ``prospect`` under an admission chain.  ``admitted``
    (administrators only, audited) takes them as already admitted (``active``, or the ``status``
    column), for moving from an older system."""
    chain = bool(app.policy.admission.chain)
    if admitted:
        app.require_admin("import customers as admitted (--admitted skips the admission chain)")
    default_status = "prospect" if chain and not admitted else "active"
    f = read_csv(path, encoding)
    idx = app.segment_index
    header = f.header
    if "name" not in header:
        raise InvalidInput(f"{f.path.name}: the header needs a 'name' column")
    extra = [h for h in header if h not in BASE_COLUMNS]
    unknown = [h for h in extra if idx.segment_key(h) is None and idx.field_key(h) is None]
    if unknown:
        raise InvalidInput(f"{f.path.name}: column '{unknown[0]}' is neither a column of the contract "
                           f"({', '.join(BASE_COLUMNS)}) nor a segment or field of the policy")
    pos = {h: i for i, h in enumerate(header)}
    now = app.now()
    default_owner = app.actor.login
    records = []
    seen_codes: dict[str, int] = {}
    seen_tax: dict[str, int] = {}
    owners: set[str] = set()
    with progress("checking rows", total=len(f.rows)) as bar:
        for n, row in enumerate(f.rows, start=2):
            if len(row) > len(header):
                raise InvalidInput(f"{f.path.name}: row {n}: {len(row)} cells but {len(header)} columns")
            cells = {h: (row[i].strip() if i < len(row) else "") for h, i in pos.items()}
            try:
                name = rules.clean_text(cells["name"], "name", max_len=MAX_NAME)
                code = rules.clean_code(cells["code"]) if cells.get("code") else None
                tax = normalise_tax_id(cells["tax_id"]) if cells.get("tax_id") else None
                status = cells.get("status") or default_status
                if status not in IMPORT_STATUSES:
                    raise Invalid(f"status '{status}' cannot be imported: use {', '.join(IMPORT_STATUSES)}")
                if chain and not admitted and status != "prospect":
                    raise Invalid(f"status '{status}' skips the admission chain: rows start as prospects, "
                                  "unless an administrator imports them with --admitted")
                created = parse_datetime(cells["created_at"], app.tz, "created_at") if cells.get("created_at") else now
                if created > now:
                    raise Invalid(f"created_at {cells['created_at']} is in the future")
                attrs = {h: cells[h] for h in extra if cells[h] != ""}
                segs, flds, _ = rules.split_attributes(idx, attrs)
                fields = rules.normalise_fields(idx, flds)
                segments = rules.normalise_segments(idx, segs, fields=fields)
            except RuleError as exc:
                raise exc.within(f"{f.path.name}: row {n}") from None
            if code:
                if code in seen_codes:
                    raise InvalidInput(f"{f.path.name}: row {n}: code {code} repeats row {seen_codes[code]}")
                seen_codes[code] = n
            if tax:
                if tax in seen_tax:
                    raise InvalidInput(f"{f.path.name}: row {n}: tax id {tax} repeats row {seen_tax[tax]}")
                seen_tax[tax] = n
            owner = cells.get("owner") or default_owner
            owners.add(owner)
            records.append((n, code, name, tax, status, created, segments, fields, owner))
            bar.advance()
    if not records:
        raise InvalidInput(f"{f.path.name}: no data rows")

    with app.db.write() as s:
        owner_ids = dict(s.execute(select(Staff.login, Staff.id).where(Staff.login.in_(owners), Staff.active.is_(True))).all())
        for n, *_rest, owner in records:
            if owner not in owner_ids:
                raise InvalidInput(f"{f.path.name}: row {n}: owner '{owner}' is not an active staff member")
        batch = register_import(s, "customer", f, len(records), now, app.actor.login, allow_duplicates)
        _refuse_taken(s, f.path.name, seen_codes, Customer.code, "code")
        _refuse_taken(s, f.path.name, seen_tax, Customer.tax_id, "tax id")
        fresh = next_codes(s, app, sum(1 for r in records if r[1] is None))
        rows, grades_by_code, audit_rows = [], {}, []
        for n, code, name, tax, status, created, segments, fields, owner in records:
            code = code or next(fresh)
            rows.append({"code": code, "name": name, "status": status, "owner_id": owner_ids[owner], "tax_id": tax,
                         "segments": segments, "fields": fields, "admission_round": 0, "created_at": created,
                         "updated_at": now, "status_changed_at": now, "import_id": batch.id,
                         "status_reason": None, "previous_status": None})
            if status == "active":
                g = rules.initial_grades(app.policy, segments, fields)
                if g:
                    grades_by_code[code] = g
            audit_rows.append({"at": now, "action": "customer.import", "entity": "customer", "key": code,
                               "customer_code": code,
                               "after": {"code": code, "name": name, "status": status, "segments": segments,
                                         "fields": fields, "owner": owner, "tax_id": tax},
                               "note": f"{f.path.name} row {n}" + (" (imported as admitted)" if admitted else "")})
        with progress("writing customers", total=len(rows)) as bar:
            for i in range(0, len(rows), 5000):
                s.execute(Customer.__table__.insert(), rows[i:i + 5000])
                audit.record_many(s, app, audit_rows[i:i + 5000])
                bar.advance(len(rows[i:i + 5000]))
        if grades_by_code:
            ids = dict(s.execute(select(Customer.code, Customer.id).where(Customer.import_id == batch.id)).all())
            grade_rows = [{"customer_id": ids[code], "scale": scale, "grade": grade, "label": None, "since": now}
                          for code, g in grades_by_code.items() for scale, grade in g.items()]
            for i in range(0, len(grade_rows), 5000):
                s.execute(CustomerGrade.__table__.insert(), grade_rows[i:i + 5000])
    return {"imported": len(rows), "batch": batch.id, "file": f.path.name}


def _refuse_taken(session, filename: str, seen: dict[str, int], column, what: str) -> None:
    values = list(seen)
    for i in range(0, len(values), IN_CHUNK):
        taken = session.scalars(select(column).where(column.in_(values[i:i + IN_CHUNK]))).first()
        if taken:
            raise RuleViolation(f"{filename}: row {seen[taken]}: {what} {taken} already exists in the database")
