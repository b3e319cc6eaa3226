"""``customer import``: a CSV of customers, all or nothing, with bulk writes.

The file may be what ``customer list --format csv`` writes (an export re-imports: ``segments.x`` /
``fields.x`` headers, the derived columns ignored and named in the summary), or have the policy's
Chinese headings and labels (``rules.import_columns``).  Names that repeat a customer's, or each
other in the file, are warned about, or refused where the policy keeps names unique
(``services.customers.names``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ...db import IN_CHUNK
from ... import i18n
from ...errors import InvalidInput, RuleViolation
from ...i18n import _, ngettext
from ...models import Customer, CustomerGrade, Staff
from ...progress import Progress, silent
from ...rules import customers as rules
from ...rules.codes import pick_code
from ...rules.errors import Invalid, RuleError
from ...rules.import_columns import BASE_COLUMNS, plan_columns, unguard
from ...rules.limits import MAX_NAME
from ...rules.names import FOLDED, describe_customers, describe_rows, name_key, repeated_keys
from ...rules.taxid import normalise_tax_id
from ...rules.times import parse_datetime
from .. import audit
from ..app import App
from ..csvfiles import read_table, register_import
from .. import xlsxfiles
from .names import ALLOW_OPTION, customers_named
from .records import next_codes

__all__ = ["BASE_COLUMNS", "IMPORT_STATUSES", "import_customers"]

IMPORT_STATUSES = ("prospect", "active", "suspended", "disqualified")
#: duplicate names named one by one in the warnings; the rest are counted
SHOWN_DUPLICATES = 20


def import_customers(app: App, path: Path, *, encoding: str | None = None, sheet: str | None = None,
                     allow_duplicates: bool = False, admitted: bool = False, allow_duplicate_name: bool = False,
                     progress: Progress = silent) -> dict:
    """``customer import FILE``: a CSV file, or a sheet of an ``.xlsx`` workbook (the first, or
    ``sheet``; its cells read by what each column holds, ``xlsxfiles.cell_value``).  Every row checked against the policy first, then written in bulk
    in one transaction; a bad row stops it with its row number and reason, and nothing is written.

    Rows start where ``customer add`` starts them: ``prospect`` under an admission chain.  ``admitted``
    (administrators only, audited) takes them as already admitted (``active``, or the ``status``
    column), for moving from an older system.  A ``pending`` row (an export taken during an
    admission) starts as a prospect again: its approvals are not in the file.

    Returns ``imported``, ``batch``, ``file``, ``ignored`` (the derived columns left out, with why,
    or None), ``restarted`` (the rows of ``pending`` customers) and ``warnings`` (duplicate names)."""
    chain = bool(app.policy.admission.chain)
    if admitted:
        app.require_admin(_("import customers as admitted (--admitted skips the admission chain)"))
    default_status = "prospect" if chain and not admitted else "active"
    f = read_table(path, encoding, sheet)
    where = f.where
    idx = app.segment_index
    header = f.header
    try:
        plan = plan_columns(idx, app.policy, header)
    except RuleError as exc:
        raise exc.within(where) from None
    kinds = _cell_kinds(plan, idx) if f.numbers is not None else None
    base = plan.base
    segment_at = {pos: key for pos, (kind, key) in plan.attributes.items() if kind == "segment"}
    field_at = {pos: key for pos, (kind, key) in plan.attributes.items() if kind == "field"}
    statuses = app.policy.statuses.labels()
    now = app.now()
    default_owner = app.actor.login
    records = []
    seen_codes: dict[str, int] = {}
    seen_tax: dict[str, int] = {}
    owners: set[str] = set()
    restarted: list[int] = []
    with progress(_("checking rows"), total=len(f.rows)) as bar:
        for n, row in zip(f.numbers or range(2, len(f.rows) + 2), f.rows):
            if len(row) > len(header):
                raise InvalidInput(_("{file}: row {row}: {cells} cells but {width} columns").format(
                    file=where, row=n, cells=len(row), width=len(header)))
            if kinds is None:
                cells = [unguard(c.strip()) for c in row] + [""] * (len(header) - len(row))
            else:
                cells = _typed_cells(row, kinds, header, where, n)
            given = {key: cells[pos] for key, pos in base.items()}
            try:
                name = rules.clean_text(given["name"], "name", max_len=MAX_NAME)
                code = rules.clean_code(given["code"]) if given.get("code") else None
                tax = normalise_tax_id(given["tax_id"]) if given.get("tax_id") else None
                status = (pick_code(statuses, given["status"], _("status"), "status") if given.get("status")
                          else default_status)
                if status == "pending":  # mid-admission when exported: its approvals are not in the file
                    status = "prospect"
                    restarted.append(n)
                if status not in IMPORT_STATUSES:
                    raise Invalid(_("status '{status}' cannot be imported: use {statuses}").format(
                        status=status, statuses=", ".join(IMPORT_STATUSES)))
                if chain and not admitted and status != "prospect":
                    raise Invalid(_("status '{status}' skips the admission chain: rows start as prospects, "
                                    "unless an administrator imports them with --admitted").format(status=status))
                created = parse_datetime(given["created_at"], app.tz, "created_at") if given.get("created_at") else now
                if created > now:
                    raise Invalid(_("created_at {value} is in the future").format(value=given["created_at"]))
                flds = {key: cells[pos] for pos, key in field_at.items() if cells[pos] != ""}
                segs = {key: cells[pos] for pos, key in segment_at.items() if cells[pos] != ""}
                fields = rules.normalise_fields(idx, flds)
                segments = rules.normalise_segments(idx, segs, fields=fields)
            except RuleError as exc:
                raise exc.within(_("{file}: row {row}").format(file=where, row=n)) from None
            if code:
                if code in seen_codes:
                    raise InvalidInput(_("{file}: row {row}: code {code} repeats row {first}").format(
                        file=where, row=n, code=code, first=seen_codes[code]))
                seen_codes[code] = n
            if tax:
                if tax in seen_tax:
                    raise InvalidInput(_("{file}: row {row}: tax id {tax_id} repeats row {first}").format(
                        file=where, row=n, tax_id=tax, first=seen_tax[tax]))
                seen_tax[tax] = n
            owner = given.get("owner") or default_owner
            owners.add(owner)
            records.append((n, code, name, name_key(name), tax, status, created, segments, fields, owner))
            bar.advance()
    if not records:
        raise InvalidInput(_("{file}: no data rows").format(file=where))

    with app.db.write() as s:
        owner_ids = dict(s.execute(select(Staff.login, Staff.id).where(Staff.login.in_(owners), Staff.active.is_(True))).all())
        for n, *_rest, owner in records:
            if owner not in owner_ids:
                raise InvalidInput(_("{file}: row {row}: owner '{login}' is not an active staff member").format(
                    file=where, row=n, login=owner))
        batch = register_import(s, "customer", f, len(records), now, app.actor.login, allow_duplicates)
        _refuse_taken(s, where, seen_codes, Customer.code, _("code"))
        _refuse_taken(s, where, seen_tax, Customer.tax_id, _("tax id"))
        duplicates, notes = _duplicate_names(app, s, where, records, allow_duplicate_name)
        fresh = next_codes(s, app, sum(1 for r in records if r[1] is None))
        rows, grades_by_code, audit_rows = [], {}, []
        for n, code, name, key, tax, status, created, segments, fields, owner in records:
            code = code or next(fresh)
            rows.append({"code": code, "name": name, "name_key": key, "status": status, "owner_id": owner_ids[owner],
                         "tax_id": tax, "segments": segments, "fields": fields, "admission_round": 0,
                         "created_at": created, "updated_at": now, "status_changed_at": now, "import_id": batch.id,
                         "status_reason": None, "previous_status": None})
            if status == "active":
                g = rules.initial_grades(app.policy, segments, fields)
                if g:
                    grades_by_code[code] = g
            note = f"{where} row {n}" + (" (imported as admitted)" if admitted else "")
            if n in notes:
                note += f"; {notes[n]}"
            audit_rows.append({"at": now, "action": "customer.import", "entity": "customer", "key": code,
                               "customer_code": code,
                               "after": {"code": code, "name": name, "status": status, "segments": segments,
                                         "fields": fields, "owner": owner, "tax_id": tax},
                               "note": note})
        with progress(_("writing customers"), total=len(rows)) as bar:
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
    warnings = [] if allow_duplicate_name else duplicates[:SHOWN_DUPLICATES]
    if len(warnings) < len(duplicates) and not allow_duplicate_name:
        more = len(duplicates) - len(warnings)
        warnings.append(ngettext("... and {n} more duplicate name", "... and {n} more duplicate names", more).format(n=more))
    return {"imported": len(rows), "batch": batch.id, "file": f.path.name,
            "ignored": plan.ignored_text() or None, "restarted": restarted, "warnings": warnings,
            "duplicate_names": len(duplicates)}


#: what a custom field's cells hold in a workbook, by the field's type (``xlsxfiles.cell_value``)
_FIELD_KINDS = {"int": xlsxfiles.NUMBER, "decimal": xlsxfiles.NUMBER, "date": xlsxfiles.DATE, "bool": xlsxfiles.BOOL,
                "choice": xlsxfiles.CODE}
#: the contract's columns: identifiers and names are text; the status and keeper are checked against lists
_BASE_KINDS = {"name": xlsxfiles.TEXT, "code": xlsxfiles.TEXT, "tax_id": xlsxfiles.TEXT, "owner": xlsxfiles.CODE,
               "status": xlsxfiles.CODE, "created_at": xlsxfiles.DATETIME}


def _cell_kinds(plan, idx) -> dict[int, str]:
    """Position -> what the column's cells hold, for the columns the import reads (the ignored ones
    are not read)."""
    kinds = {pos: _BASE_KINDS[key] for key, pos in plan.base.items()}
    for pos, (kind, key) in plan.attributes.items():
        kinds[pos] = (xlsxfiles.CODE if kind == "segment"
                      else _FIELD_KINDS.get(idx.fields[key].type, xlsxfiles.TEXT))
    return kinds


def _typed_cells(row: list, kinds: dict[int, str], header: list[str], where: str, n: int) -> list:
    """A workbook's row as the checks read a CSV row: text, or numbers / booleans in such columns."""
    cells: list = [""] * len(header)
    try:
        for pos, kind in kinds.items():
            if pos < len(row):
                v = xlsxfiles.cell_value(row[pos], kind, header[pos])
                cells[pos] = unguard(v) if isinstance(v, str) else v
    except RuleError as exc:
        raise exc.within(_("{file}: row {row}").format(file=where, row=n)) from None
    return cells


def _duplicate_names(app: App, session, filename: str, records: list, allow: bool) -> tuple[list[str], dict[int, str]]:
    """The names of the file that repeat each other or a customer's (one query for the whole file):
    (one message per duplicate, the audit note of each row concerned).  Refused, naming the first,
    where the policy keeps names unique and ``allow`` was not given."""
    keyed = [(r[0], r[3]) for r in records]
    names = {r[0]: r[2] for r in records}
    inside = repeated_keys(keyed)
    existing = customers_named(session, {key for _, key in keyed})
    messages: list[str] = []
    notes: dict[int, str] = {}
    for key, rows in inside.items():
        spelled = list(dict.fromkeys(names[r] for r in rows))
        messages.append(_("{rows} give the same name ({names})").format(
            rows=i18n.text(describe_rows(rows)), names=", ".join(spelled[:3])))
        for r in rows[1:]:
            notes[r] = f"duplicate name allowed ({ALLOW_OPTION}): the same name as row {rows[0]}"
    for n, key in keyed:
        if key in existing:
            same = describe_customers(existing[key])
            messages.append(_("row {row}: the name '{name}' is already customer {same}").format(
                row=n, name=names[n], same=i18n.text(same)))
            notes[n] = f"duplicate name allowed ({ALLOW_OPTION}): the same name as customer {same}"
    if messages and not allow and app.policy.customers.unique_names:
        n = len(messages) - 1
        first = (ngettext("{first} (and {n} more duplicate name)", "{first} (and {n} more duplicate names)", n)
                 if n else "{first}").format(first=messages[0], n=n)
        raise RuleViolation(_("{file}: {first}: the same name once {folded} are set aside, and the policy keeps one "
                              "record per customer ([customers] unique_names): {option} imports them anyway").format(
            file=filename, first=first, folded=i18n.text(FOLDED), option=ALLOW_OPTION))
    return messages, notes if allow else {}


def _refuse_taken(session, filename: str, seen: dict[str, int], column, what: str) -> None:
    values = list(seen)
    for i in range(0, len(values), IN_CHUNK):
        taken = session.scalars(select(column).where(column.in_(values[i:i + IN_CHUNK]))).first()
        if taken:
            raise RuleViolation(_("{file}: row {row}: {what} {value} already exists in the database").format(
                file=filename, row=seen[taken], what=what, value=taken))
