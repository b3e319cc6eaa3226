"""Relationship work: the monthly visit plan, visit logs, surveys and development targets.

``plan_visits`` is set-based: customers are read in id-ordered chunks (one query each for the
customers, their grades, their done history and, where the policy asks, expiring documents), the
pure cadence engine (``crmctl.rules.cadence``) says what is due, and new activities are inserted in
bulk.  Every planned activity has an idempotency key with a unique constraint; keys already in the
database are skipped (set difference per chunk) and ``INSERT … ON CONFLICT DO NOTHING`` guards
against a concurrent run, so planning a month twice adds nothing.
"""

from __future__ import annotations

import heapq
import random
import re
from collections import Counter as Tally
from datetime import date, datetime, time, timedelta
from typing import Iterator, Mapping

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.orm import aliased

from ..errors import InvalidInput, NotFound, RuleViolation
from ..models import (Activity, ActivityPlanRun, Customer, CustomerGrade, DevelopmentTarget, Document, Staff,
                      StaffRole, SurveyResult)
from ..rules import calendar as calendar_rules
from ..rules.cadence import EMPTY_HISTORY, History, MonthPlanner
from ..rules.codes import pick_code
from ..rules.customers import clean_text
from ..rules.periods import Period, parse_label, period_containing
from . import audit
from .app import App, find_staff, parse_month
from .customers import get_customer

CHUNK = 5000
INSERT_BATCH = 5000
VISIT_STATUSES = ("planned", "done", "missed")
_YEAR_RE = re.compile(r"^\d{4}$")


# ----------------------------------------------------------------------------------------------
# Parsing what users type


def resolve_kind(app: App, text: str) -> str:
    try:
        return pick_code(app.policy.activities.kinds, text, "activity kind", "--kind")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _company_kinds(app: App) -> set[str]:
    return {c.kind for c in app.policy.activities.cadences if c.scope == "company"}


def _local_date(value: datetime, tz) -> date:
    return value.astimezone(tz).date()


def _day_start(d: date, tz) -> datetime:
    return datetime.combine(d, time(), tzinfo=tz)


# ----------------------------------------------------------------------------------------------
# visit plan


class _RolePool:
    """Active staff holding a role, least-loaded first (load = their open planned activities)."""

    def __init__(self, session, roles: set[str], only: Staff | None):
        self._heaps: dict[str, list[list[int]]] = {}
        if not roles:
            return
        rows = session.execute(select(StaffRole.role, Staff.id).join(Staff, Staff.id == StaffRole.staff_id)
                               .where(StaffRole.role.in_(sorted(roles)), Staff.active.is_(True))).all()
        ids = {sid for _, sid in rows}
        load = dict(session.execute(select(Activity.owner_id, func.count()).where(
            Activity.status == "planned", Activity.owner_id.in_(sorted(ids))).group_by(Activity.owner_id)).all()) if ids else {}
        for role, sid in rows:
            if only is not None and sid != only.id:
                continue
            self._heaps.setdefault(role, []).append([load.get(sid, 0), sid])
        for heap in self._heaps.values():
            heapq.heapify(heap)

    def pick(self, role: str) -> int | None:
        heap = self._heaps.get(role)
        if not heap:
            return None
        entry = heap[0]
        entry[0] += 1
        heapq.heapreplace(heap, entry)
        return entry[1]


def _planner(app: App, period: Period) -> MonthPlanner:
    pol = app.policy
    try:
        cal = calendar_rules.calendar_from_policy(pol.calendar, pol.policy.timezone)
    except ValueError as exc:  # a valid policy always gives a calendar; be safe
        raise InvalidInput(f"calendar: {exc}") from None
    return MonthPlanner(pol.activities, period, greeting_holidays=pol.calendar.greeting_holidays,
                        working_day=cal.is_working_day, documents=pol.documents)


class _Inserter:
    """Bulk INSERT … ON CONFLICT (cadence_key) DO NOTHING of planned activities.

    SQLite: the driver's executemany with values converted once per distinct value (the hot path of
    ``visit plan``); PostgreSQL: SQLAlchemy's dialect insert."""

    COLUMNS = ("customer_id", "kind", "due_date", "owner_id", "status", "planned_by", "cadence_key", "plan_note",
               "created_at")

    def __init__(self, session):
        self.session = session
        dialect = session.get_bind().dialect
        self.sqlite = dialect.name == "sqlite"
        table = Activity.__table__
        if self.sqlite:
            cols = ", ".join(self.COLUMNS)
            self.sql = (f"INSERT INTO activity ({cols}) VALUES ({', '.join('?' * len(self.COLUMNS))}) "
                        "ON CONFLICT (cadence_key) DO NOTHING")
            self._date = table.c.due_date.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
            self._ts = table.c.created_at.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
        else:
            from sqlalchemy.dialects.postgresql import insert

            self.stmt = insert(table).on_conflict_do_nothing(index_elements=["cadence_key"])
        self._dates: dict[date, object] = {}

    def row(self, customer_id, kind, due_date, owner_id, run_id, key, note, created_at) -> tuple:
        if self.sqlite:
            d = self._dates.get(due_date)
            if d is None:
                d = self._dates[due_date] = self._date(due_date)
            return (customer_id, kind, d, owner_id, "planned", run_id, key, note, created_at)
        return dict(zip(self.COLUMNS, (customer_id, kind, due_date, owner_id, "planned", run_id, key, note, created_at)))

    def created_at(self, now: datetime):
        return self._ts(now) if self.sqlite else now

    def write(self, rows: list) -> None:
        for i in range(0, len(rows), INSERT_BATCH):
            part = rows[i:i + INSERT_BATCH]
            if self.sqlite:
                self.session.connection().exec_driver_sql(self.sql, part)
            else:
                self.session.execute(self.stmt, part)


def _customer_query(app: App, planner: MonthPlanner):
    """Customer id, status, keeper and only the segment and field values the cadences look at."""
    cols = [Customer.id, Customer.status, Customer.owner_id]
    for key in planner.segment_keys:
        cols.append(Customer.segments[key].as_string().label(f"s_{len(cols)}"))
    types = {f.key: f.type for f in app.policy.fields}
    for key in planner.field_keys:
        expr = Customer.fields[key]
        t = types.get(key, "text")
        expr = (expr.as_boolean() if t == "bool" else expr.as_integer() if t == "int"
                else expr.as_float() if t == "decimal" else expr.as_string())
        cols.append(expr.label(f"f_{len(cols)}"))
    return select(*cols)


def plan_visits(app: App, month: str, owner: str | None = None, *, progress=None) -> dict:
    """``visit plan``: create the activities due in ``month`` (idempotent); a summary per owner and kind.

    ``owner``: plan only what that person would own (their customers' keeper cadences, and role
    cadences of a role they hold, all given to them).  ``progress``: an object with ``advance(n)``.
    """
    period = parse_month(month)
    planner = _planner(app, period)
    tz = app.tz
    now = app.now()
    first, last = period.start, period.end - timedelta(days=1)
    counted_kinds = sorted(planner.history_kinds)
    notice_types = {t: planner.notice_expiry_range(t) for t in planner.notices}
    customer_roles = {c.owner for cs in planner.by_kind.values() for c in cs if c.owner != "keeper"}
    company_roles = {c.owner for c in planner.company}
    only_keeper = not customer_roles  # every customer activity is the keeper's: filter customers in SQL
    window_lo = _day_start(first - timedelta(days=8), tz)
    window_hi = _day_start(last + timedelta(days=9), tz)
    scale_keys = planner.scale_keys
    # Stored idempotency keys of customer activities: "<month>/<customer id, 10 digits>:<kind>:<slot>" (the
    # engine's key with the month in front and the id padded), so a chunk's keys are one range of the index.
    key_prefix = f"{period.label}/"

    with app.db.write() as s:
        only = find_staff(s, owner) if owner else None
        pool = _RolePool(s, customer_roles | company_roles, only)
        run = ActivityPlanRun(month=period.label, owner_id=only.id if only else None, planned=0, at=now,
                              actor=app.actor.login)
        s.add(run)
        s.flush()
        ins = _Inserter(s)
        created = ins.created_at(now)
        run_id = run.id
        existing = 0
        pending: list = []
        only_id = only.id if only else None

        def add(due, keeper_id, key) -> None:
            oid = keeper_id if due.owner == "keeper" else pool.pick(due.owner)
            if only_id is not None and oid != only_id:
                return
            pending.append(ins.row(due.customer_id, due.kind, due.due_date, oid, run_id, key, due.note, created))

        # -- company-wide activities (few)
        company = planner.company_due(_company_history(s, planner, tz)) if planner.company else []
        if company:
            keys = [d.key for d in company]
            have = set(s.scalars(select(Activity.cadence_key).where(Activity.cadence_key.in_(keys))).all())
            existing += len(have)
            for due in company:
                if due.key not in have:
                    add(due, None, due.key)
            ins.write(pending)
            pending.clear()

        # -- customer activities, chunk by chunk
        has_customer_work = bool(planner.by_kind) or bool(planner.greeting_events) or bool(notice_types)
        base_q = _customer_query(app, planner).where(Customer.status.in_(sorted(planner.statuses)))
        if only is not None and only_keeper:
            base_q = base_q.where(Customer.owner_id == only.id)
        last_id = 0
        conn = s.connection()  # Core results: no ORM row processing on the hot path
        while has_customer_work:
            rows = conn.execute(base_q.where(Customer.id > last_id).order_by(Customer.id).limit(CHUNK)).all()
            if not rows:
                break
            lo, hi = rows[0][0], rows[-1][0]
            last_id = hi
            in_chunk = and_(Activity.customer_id >= lo, Activity.customer_id <= hi)
            grades: dict[int, dict[str, str]] = {}
            if scale_keys:
                # by the primary key's customer range (a scale filter would make SQLite scan the whole scale)
                for cid, sc, gr in conn.execute(select(CustomerGrade.customer_id, CustomerGrade.scale, CustomerGrade.grade)
                                             .where(CustomerGrade.customer_id >= lo, CustomerGrade.customer_id <= hi)).all():
                    grades.setdefault(cid, {})[sc] = gr
            last_done: dict[int, dict[str, date]] = {}
            recent: dict[int, dict[str, list[date]]] = {}
            if counted_kinds:
                for cid, kind, at in conn.execute(
                        select(Activity.customer_id, Activity.kind, func.max(Activity.done_at))
                        .where(in_chunk, Activity.kind.in_(counted_kinds), Activity.done_at.is_not(None))
                        .group_by(Activity.customer_id, Activity.kind)).all():
                    last_done.setdefault(cid, {})[kind] = _local_date(at, tz)
                for cid, kind, at in conn.execute(
                        select(Activity.customer_id, Activity.kind, Activity.done_at)
                        .where(in_chunk, Activity.kind.in_(counted_kinds), Activity.done_at >= window_lo,
                               Activity.done_at < window_hi)).all():
                    recent.setdefault(cid, {}).setdefault(kind, []).append(_local_date(at, tz))
            have = set(conn.scalars(select(Activity.cadence_key).where(
                Activity.cadence_key >= f"{key_prefix}{lo:010d}", Activity.cadence_key < f"{key_prefix}{hi + 1:010d}")).all())
            docs: dict[int, list[tuple]] = {}
            for dtype, (exp_lo, exp_hi) in notice_types.items():
                newer = aliased(Document)
                for cid, did, exp in conn.execute(
                        select(Document.customer_id, Document.id, Document.expires).where(
                            Document.customer_id >= lo, Document.customer_id <= hi, Document.type == dtype,
                            Document.expires >= exp_lo, Document.expires <= exp_hi,
                            ~exists().where(newer.customer_id == Document.customer_id, newer.type == dtype,
                                            newer.expires > Document.expires))):
                    docs.setdefault(cid, []).append((did, dtype, exp))
            no_grades: dict = {}
            due_values = planner.customer_due_values
            for r in rows:
                cid, status, keeper = r[0], r[1], r[2]
                hist = History(last_done.get(cid, {}), recent.get(cid, {})) if (cid in last_done or cid in recent) \
                    else EMPTY_HISTORY
                dues = due_values(cid, status, tuple(r[3:]), grades.get(cid, no_grades), hist)
                if docs:
                    for did, dtype, exp in docs.get(cid, ()):
                        d = planner.document_due(cid, did, dtype, exp, status=status)
                        if d is not None:
                            dues.append(d)
                stored, cut = f"{key_prefix}{cid:010d}", len(str(cid))
                for due in dues:
                    key = stored + due.key[cut:]  # the engine's key starts with the customer id
                    if key in have:
                        existing += 1
                    else:
                        add(due, keeper, key)
            ins.write(pending)
            pending.clear()
            if progress is not None:
                progress.advance(len(rows))

        counts = s.execute(select(Activity.owner_id, Activity.kind, func.count())
                           .where(Activity.planned_by == run.id).group_by(Activity.owner_id, Activity.kind)).all()
        logins = dict(s.execute(select(Staff.id, Staff.login)).all())
        by_owner: dict[str | None, dict[str, int]] = {}
        for oid, kind, n in counts:
            by_owner.setdefault(logins.get(oid) if oid else None, {})[kind] = n
        total = sum(n for _, _, n in counts)
        if total:
            run.planned = total
            s.add(run)
            audit.record(s, app, "visit.plan", "activity_plan_run", str(run.id), at=now,
                         after={"month": period.label, "owner": owner, "planned": total,
                                "by_kind": dict(sum((Tally(k) for k in by_owner.values()), Tally()))})
        else:
            s.delete(run)  # nothing new: leave no trace, so a second run changes nothing
    warnings = list(planner.warnings)  # (a year without holiday data is warned about by the command)
    owners = [{"owner": o, "kinds": dict(sorted(k.items())), "planned": sum(k.values())}
              for o, k in sorted(by_owner.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))]
    return {"month": period.label, "owner": owner, "planned": total, "already_planned": existing,
            "unassigned": sum(by_owner.get(None, {}).values()), "owners": owners, "warnings": warnings}


def _company_history(session, planner: MonthPlanner, tz) -> History:
    kinds = sorted({k for c in planner.company for k in (c.kind, *c.counts)})
    start = planner.company_history_start()
    done: dict[str, list[date]] = {}
    for kind, at in session.execute(select(Activity.kind, Activity.done_at).where(
            Activity.customer_id.is_(None), Activity.kind.in_(kinds), Activity.done_at >= _day_start(start, tz))):
        done.setdefault(kind, []).append(_local_date(at, tz))
    return History({}, done)


# ----------------------------------------------------------------------------------------------
# One activity as the contract shows it


def _status_of(status: str, due: date, today: date) -> str:
    if status == "done":
        return "done"
    return "missed" if due < date(today.year, today.month, 1) else "planned"


def _activity_dict(a: Activity, customer: str | None, owner: str | None, today: date, tz) -> dict:
    return {"id": a.id, "customer": customer, "kind": a.kind, "due_date": a.due_date, "owner": owner,
            "status": _status_of(a.status, a.due_date, today),
            "planned": a.planned_by is not None, "done_at": a.done_at.astimezone(tz) if a.done_at else None,
            "done_by": a.done_by, "notes": a.notes, "report": a.report or {}, "note": a.plan_note}


def get_activity(app: App, activity_id: int) -> dict:
    with app.db.read() as s:
        a = s.get(Activity, activity_id)
        if a is None:
            raise NotFound(f"no activity {activity_id}")
        code = s.get(Customer, a.customer_id).code if a.customer_id else None
        owner = s.get(Staff, a.owner_id).login if a.owner_id else None
        return _activity_dict(a, code, owner, app.now().date(), app.tz)


# ----------------------------------------------------------------------------------------------
# visit log


def _report(app: App, kind: str, fields: Mapping[str, str] | None) -> dict:
    allowed = app.policy.activities.report_fields.get(kind, {})
    out: dict[str, str] = {}
    for key, value in (fields or {}).items():
        code = key if key in allowed else next((k for k, label in allowed.items() if label == key), None)
        if code is None:
            known = ", ".join(f"{k} ({v})" for k, v in allowed.items()) or "none"
            raise InvalidInput(f"--field {key}: not a report field of {kind} (the policy has {known})")
        try:
            text = clean_text(value, f"--field {key}", required=False)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if text is not None:
            out[code] = text
    return out


def _counts_toward(app: App, kind: str, planned_kind: str) -> bool:
    return kind == planned_kind or any(
        c.kind == planned_kind and kind in c.counts for c in app.policy.activities.cadences)


def log_visit(app: App, code: str | None, kind: str | None = None, *, at: datetime | None = None,
              notes: str | None = None, planned: int | None = None, fields: Mapping[str, str] | None = None) -> dict:
    """``visit log``: record a done activity; with ``planned`` it fills in (and completes) that planned one."""
    kind_code = resolve_kind(app, kind) if kind is not None else None
    if kind_code is None and planned is None:
        raise InvalidInput("give --kind (or --planned ID to complete a planned activity)")
    try:
        notes = clean_text(notes or "", "--notes", required=False)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    now = app.now()
    when = at or now
    if when > now:
        raise InvalidInput(f"--at {when.astimezone(app.tz):%Y-%m-%d %H:%M} is in the future: log what was done")
    if planned is not None and planned < 1:
        raise InvalidInput(f"--planned {planned} is not an activity id")
    with app.db.write() as s:
        c = None
        if code:
            c = get_customer(s, code)
            if c.status == "disqualified":
                raise RuleViolation(f"customer {c.code} is disqualified: no activities are logged for it")
        elif planned is None and kind_code not in _company_kinds(app):
            raise InvalidInput(f"give the customer CODE: only company-wide kinds "
                               f"({', '.join(sorted(_company_kinds(app))) or 'none in this policy'}) are logged without one")
        auto = False
        if planned is None:
            planned = _open_planned_for(s, app, c, kind_code, when)
            auto = planned is not None
        if planned is not None:
            a = s.get(Activity, planned)
            if a is None:
                raise NotFound(f"no activity {planned}")
            if c is None and not code and a.customer_id is not None:  # CODE left out: the planned one's customer
                c = s.get(Customer, a.customer_id)
                if c.status == "disqualified":
                    raise RuleViolation(f"customer {c.code} is disqualified: no activities are logged for it")
            if (a.customer_id or None) != (c.id if c else None):
                other = s.get(Customer, a.customer_id).code if a.customer_id else "the whole company"
                raise RuleViolation(f"planned activity {planned} is for {other}, not "
                                    f"{c.code if c else 'the whole company'}")
            if a.status == "done":
                done = a.done_at.astimezone(app.tz).strftime("%Y-%m-%d %H:%M") if a.done_at else "?"
                raise RuleViolation(f"activity {planned} is already done ({done} by {a.done_by})")
            kind_code = kind_code or a.kind
            if not _counts_toward(app, kind_code, a.kind):
                raise RuleViolation(f"planned activity {planned} is a {a.kind}; a {kind_code} does not count toward it")
            report = _report(app, kind_code, fields)
            before = {"status": "planned"}
            a.status = "done"  # the row keeps its planned kind; the audit entry names the kind logged
            a.done_at = when
            a.done_by = app.actor.login
            a.notes = notes
            a.report = report or None
            s.add(a)
        else:
            report = _report(app, kind_code, fields)
            before = None
            a = Activity(customer_id=c.id if c else None, kind=kind_code, due_date=_local_date(when, app.tz),
                         owner_id=app.actor.id, status="done", done_at=when, done_by=app.actor.login, notes=notes,
                         report=report or None, created_at=now)
            s.add(a)
        s.flush()
        owner = s.get(Staff, a.owner_id).login if a.owner_id else None
        result = _activity_dict(a, c.code if c else None, owner, now.date(), app.tz)
        audit.record(s, app, "visit.log", "activity", str(a.id), before=before,
                     after={"kind": kind_code, "done_at": when, "planned": planned, "notes": notes, "report": report},
                     customer_code=c.code if c else None, at=now,
                     note="completes the open planned activity of the month" if auto else None)
    return result


def _open_planned_for(session, app: App, c: Customer | None, kind: str, when: datetime) -> int | None:
    """The open planned activity a log without --planned completes: for a customer, the one of the same
    kind due in the log's month nearest to the log's date; company-wide, the first one due on or after
    the log's date in the same year.  None: the log is recorded as unplanned."""
    day = _local_date(when, app.tz)
    q = select(Activity.id, Activity.due_date).where(Activity.status == "planned", Activity.kind == kind)
    if c is not None:
        month = period_containing("month", day)
        q = q.where(Activity.customer_id == c.id, Activity.due_date >= month.start, Activity.due_date < month.end)
        rows = session.execute(q).all()
        if not rows:
            return None
        return min(rows, key=lambda r: (abs((r.due_date - day).days), r.due_date, r.id)).id
    q = q.where(Activity.customer_id.is_(None), Activity.due_date >= day,
                Activity.due_date <= date(day.year, 12, 31)).order_by(Activity.due_date, Activity.id)
    return session.scalars(q.limit(1)).first()


# ----------------------------------------------------------------------------------------------
# visit list


def list_visits(app: App, *, month: str | None = None, status: str | None = None, owner: str | None = None,
                customer: str | None = None, kind: str | None = None) -> Iterator[dict]:
    """Activities, earliest due first (streamed); ``missed`` = planned and its due month is over."""
    today = app.now().date()
    this_month = date(today.year, today.month, 1)
    q = (select(Activity, Customer.code, Staff.login)
         .outerjoin(Customer, Customer.id == Activity.customer_id)
         .outerjoin(Staff, Staff.id == Activity.owner_id)
         .order_by(Activity.due_date, Activity.id))
    if month:
        p = parse_month(month)
        q = q.where(Activity.due_date >= p.start, Activity.due_date < p.end)
    if status:
        if status not in VISIT_STATUSES:
            raise InvalidInput(f"unknown status '{status}': use {', '.join(VISIT_STATUSES)}")
        if status == "done":
            q = q.where(Activity.status == "done")
        elif status == "planned":
            q = q.where(Activity.status == "planned", Activity.due_date >= this_month)
        else:
            q = q.where(Activity.status == "planned", Activity.due_date < this_month)
    if kind:
        q = q.where(Activity.kind == resolve_kind(app, kind))
    tz = app.tz

    def rows():
        with app.db.read() as s:
            qq = q
            if owner:
                qq = qq.where(Activity.owner_id == find_staff(s, owner, active_only=False).id)
            if customer:
                qq = qq.where(Activity.customer_id == get_customer(s, customer).id)
            for a, code, login in s.execute(qq.execution_options(yield_per=2000)):
                yield _activity_dict(a, code, login, today, tz)

    # validate the owner and customer now, so a bad one is refused before any output
    if owner or customer:
        with app.db.read() as s:
            if owner:
                find_staff(s, owner, active_only=False)
            if customer:
                get_customer(s, customer)
    return rows()


# ----------------------------------------------------------------------------------------------
# Hand-over when staff leave (called by services.staff.leave)


def handover(session, from_staff: Staff, to_staff: Staff, now: datetime) -> tuple[str, int]:
    """Move the leaver's planned (not done) activities to their successor."""
    res = session.execute(update(Activity).where(Activity.owner_id == from_staff.id, Activity.status == "planned")
                          .values(owner_id=to_staff.id))
    return "activities", res.rowcount or 0


# ----------------------------------------------------------------------------------------------
# Surveys


def _survey(app: App, code: str | None):
    surveys = app.policy.surveys
    if not surveys:
        raise RuleViolation("this policy defines no surveys ([surveys.CODE])")
    if code is None:
        if len(surveys) > 1:
            raise InvalidInput(f"give --survey: the policy has {', '.join(surveys)}")
        return next(iter(surveys.items()))
    for k, sv in surveys.items():
        if code in (k, sv.label):
            return k, sv
    raise InvalidInput(f"unknown survey '{code}': the policy has {', '.join(f'{k} ({v.label})' for k, v in surveys.items())}")


def _year_label(app: App, label: str) -> str:
    text = (label or "").strip()
    if not _YEAR_RE.match(text):
        raise InvalidInput(f"--label '{label}' is not a year: write YYYY, e.g. 2026")
    year = int(text)
    if year < 1900 or year > app.now().year:
        raise InvalidInput(f"--label {text}: the survey year must be between 1900 and {app.now().year}")
    return text


def _score(text: str, item: str, scale_max: int) -> int:
    t = (text or "").strip()
    if not re.fullmatch(r"\d{1,3}", t):
        raise InvalidInput(f"{item}={text}: a score is a whole number from 1 to {scale_max}")
    n = int(t)
    if not 1 <= n <= scale_max:
        raise InvalidInput(f"{item}={text}: a score is from 1 to {scale_max}")
    return n


def record_survey(app: App, code: str, label: str, answers: Mapping[str, str], survey: str | None = None) -> dict:
    """``survey record``: one customer's scores for one year; every item of the survey, 1..scale_max."""
    key, sv = _survey(app, survey)
    year = _year_label(app, label)
    scores: dict[str, int] = {}
    by_label = {v: k for k, v in sv.items.items()}
    for name, value in answers.items():
        item = name if name in sv.items else by_label.get(name)
        if item is None:
            raise InvalidInput(f"unknown item '{name}' of survey {key}: use {', '.join(f'{k} ({v})' for k, v in sv.items.items())}")
        if item in scores:
            raise InvalidInput(f"item {item} given twice")
        scores[item] = _score(value, item, sv.scale_max)
    missing = [k for k in sv.items if k not in scores]
    if missing:
        raise InvalidInput(f"missing score for {', '.join(missing)} (survey {key} asks {', '.join(sv.items)})")
    now = app.now()
    average = round(sum(scores.values()) / len(scores), 2)
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(f"customer {c.code} is disqualified")
        if s.scalars(select(SurveyResult.id).where(SurveyResult.customer_id == c.id, SurveyResult.survey == key,
                                                   SurveyResult.label == year)).first() is not None:
            raise RuleViolation(f"survey {key} {year} is already recorded for {c.code}")
        r = SurveyResult(customer_id=c.id, survey=key, label=year, scores=scores, scale_max=sv.scale_max,
                         average=average, recorded_at=now, recorded_by=app.actor.login)
        s.add(r)
        s.flush()
        out = _survey_dict(r, c.code, app.tz)
        audit.record(s, app, "survey.record", "survey_result", str(r.id), after={"survey": key, "label": year, "scores": scores},
                     customer_code=c.code, at=now)
    return out


def _survey_dict(r: SurveyResult, code: str, tz) -> dict:
    return {"id": r.id, "customer": code, "survey": r.survey, "label": r.label, "scores": dict(r.scores),
            "average": r.average, "scale_max": r.scale_max, "recorded_at": r.recorded_at.astimezone(tz),
            "recorded_by": r.recorded_by}


def list_surveys(app: App, *, survey: str | None = None, label: str | None = None,
                 customer: str | None = None) -> Iterator[dict]:
    q = (select(SurveyResult, Customer.code).join(Customer, Customer.id == SurveyResult.customer_id)
         .order_by(SurveyResult.label, Customer.code, SurveyResult.survey))
    if survey:
        q = q.where(SurveyResult.survey == _survey(app, survey)[0])
    if label:
        q = q.where(SurveyResult.label == _year_label(app, label))
    if customer:
        with app.db.read() as s:
            cid = get_customer(s, customer).id
        q = q.where(SurveyResult.customer_id == cid)
    tz = app.tz

    def rows():
        with app.db.read() as s:
            for r, code in s.execute(q.execution_options(yield_per=2000)):
                yield _survey_dict(r, code, tz)

    return rows()


# ----------------------------------------------------------------------------------------------
# Development targets (petrochem Art. 6)


def _target_label(app: App, label: str) -> str:
    dev = app.policy.development
    if dev is None:
        raise RuleViolation("this policy sets no development targets ([development])")
    try:
        return parse_label((label or "").strip(), dev.targets_per).label
    except ValueError as exc:
        raise InvalidInput(f"--quarter: {exc}") from None


def set_target(app: App, login: str, label: str, prospects: int, admitted: int) -> dict:
    """``target set``: a manager's targets for a period (replaces earlier ones for that period)."""
    period = _target_label(app, label)
    for name, n in (("--prospects", prospects), ("--admitted", admitted)):
        if n is None or isinstance(n, bool) or not isinstance(n, int) or n < 0 or n > 1_000_000:
            raise InvalidInput(f"{name} must be a whole number from 0 to 1000000")
    now = app.now()
    with app.db.write() as s:
        staff = find_staff(s, login)
        t = s.scalars(select(DevelopmentTarget).where(DevelopmentTarget.staff_id == staff.id,
                                                      DevelopmentTarget.label == period)).first()
        before = {"prospects": t.prospects, "admitted": t.admitted} if t else None
        if t is None:
            t = DevelopmentTarget(staff_id=staff.id, label=period, prospects=prospects, admitted=admitted,
                                  set_at=now, set_by=app.actor.login)
        else:
            t.prospects, t.admitted, t.set_at, t.set_by = prospects, admitted, now, app.actor.login
        s.add(t)
        s.flush()
        audit.record(s, app, "target.set", "development_target", f"{login}/{period}", before=before,
                     after={"prospects": prospects, "admitted": admitted}, at=now)
        return _target_dict(t, staff, app.tz)


def _target_dict(t: DevelopmentTarget, staff: Staff, tz) -> dict:
    return {"login": staff.login, "name": staff.name, "label": t.label, "prospects": t.prospects,
            "admitted": t.admitted, "set_at": t.set_at.astimezone(tz), "set_by": t.set_by}


def list_targets(app: App, *, label: str | None = None, login: str | None = None) -> list[dict]:
    q = (select(DevelopmentTarget, Staff).join(Staff, Staff.id == DevelopmentTarget.staff_id)
         .order_by(DevelopmentTarget.label, Staff.login))
    if label:
        q = q.where(DevelopmentTarget.label == _target_label(app, label))
    with app.db.read() as s:
        if login:
            q = q.where(DevelopmentTarget.staff_id == find_staff(s, login, active_only=False).id)
        return [_target_dict(t, st, app.tz) for t, st in s.execute(q)]


# ----------------------------------------------------------------------------------------------
# crmctl demo


def _has_cadences(app: App) -> bool:
    a = app.policy.activities
    return bool(a.cadences or a.greetings or any(getattr(d, "notice_kind", None) for d in app.policy.documents.values()))


def demo_step(app: App, rng: random.Random) -> Iterator[str]:
    """Plan last month, log about 70 % of it (and some unplanned contacts), plan this month, record
    a few surveys and development targets.  Does nothing for a policy without cadences or surveys."""
    now = app.now()
    tz = app.tz
    this = period_containing("month", now.date())
    prev = this.previous()
    if _has_cadences(app):
        r = plan_visits(app, prev.label)
        yield f"visits:   planned {r['planned']} activities for {prev.label} over {len(r['owners'])} owners"
        with app.db.read() as s:
            planned = s.execute(select(Activity.id, Activity.due_date, Activity.kind, Activity.owner_id)
                                .where(Activity.status == "planned", Activity.due_date >= prev.start,
                                       Activity.due_date < prev.end).order_by(Activity.id)).all()
            logins = dict(s.execute(select(Staff.id, Staff.login)).all())
            customers = s.scalars(select(Customer.code).where(Customer.status == "active")
                                  .order_by(Customer.id).limit(2000)).all()
        chosen = [p for p in planned if rng.random() < 0.7]
        rows = []
        for p in chosen:
            at = datetime.combine(p.due_date, time(rng.randrange(9, 17), rng.choice((0, 15, 30, 45))), tzinfo=tz)
            rows.append({"aid": p.id, "done_at": min(at, now), "done_by": logins.get(p.owner_id) or app.actor.login,
                         "notes": rng.choice(("客户反馈良好", "已电话回访", "客户提出新的用量需求", "现场检查无异常", None))})
        if rows:
            with app.db.write() as s:
                stmt = (update(Activity.__table__).where(Activity.__table__.c.id == bindparam("aid"))
                        .values(status="done", done_at=bindparam("done_at"), done_by=bindparam("done_by"),
                                notes=bindparam("notes")))
                for i in range(0, len(rows), INSERT_BATCH):
                    s.connection().execute(stmt, rows[i:i + INSERT_BATCH])
                audit.record(s, app, "visit.log", "activity", f"demo {prev.label}", at=now,
                             after={"done": len(rows), "month": prev.label}, note="demo: bulk log of planned activities")
        # a few unplanned logs, through the service, counting toward the cadences too
        kinds = app.policy.activities.kinds
        extra_kind = "call" if "call" in kinds else next(iter(kinds))
        unplanned = 0
        for code in rng.sample(list(customers), min(len(customers), max(1, len(customers) // 20), 50)):
            day = prev.start + timedelta(days=rng.randrange(0, (prev.end - prev.start).days))
            at = datetime.combine(day, time(rng.randrange(9, 17), 0), tzinfo=tz)
            log_visit(app, code, extra_kind, at=min(at, now), notes="客户来电咨询，顺带回访")
            unplanned += 1
        pct = round(100 * len(rows) / len(planned)) if planned else 0
        yield f"visits:   logged {len(rows)} of {len(planned)} planned ({pct} %) and {unplanned} unplanned {extra_kind}s"
        r = plan_visits(app, this.label)
        yield f"visits:   planned {r['planned']} activities for {this.label} (missed ones of {prev.label} planned again)"
    if app.policy.surveys:
        with app.db.read() as s:
            codes = s.scalars(select(Customer.code).where(Customer.status == "active")
                              .order_by(Customer.id).limit(500)).all()
        n = 0
        for survey, sv in app.policy.surveys.items():
            for code in rng.sample(list(codes), min(len(codes), 12)):
                answers = {item: str(max(1, min(sv.scale_max, round(rng.gauss(sv.scale_max * 0.8, sv.scale_max * 0.15)))))
                           for item in sv.items}
                record_survey(app, code, str(now.year), answers, survey=survey)
                n += 1
        yield f"surveys:  {n} results recorded for {now.year} ({', '.join(app.policy.surveys)})"
    if app.policy.development is not None:
        with app.db.read() as s:
            keepers = s.scalars(select(Staff.login).join(Customer, Customer.owner_id == Staff.id)
                                .where(Staff.active.is_(True)).group_by(Staff.login).order_by(Staff.login).limit(6)).all()
        label = period_containing(app.policy.development.targets_per, now.date()).label
        for login in keepers:
            prospects = rng.randrange(3, 12)
            set_target(app, login, label, prospects, rng.randrange(1, prospects + 1))
        if keepers:
            yield f"targets:  development targets for {label} set for {len(keepers)} customer managers"
