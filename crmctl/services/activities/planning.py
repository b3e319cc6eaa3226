"""The monthly plan of relationship work (``visit plan``): visits, calls, inspections, contacts and
greetings the policy's cadences make due in a month, per customer (by grade, segment, class) and
company-wide (symposiums, surveys).

``plan_visits`` is set-based: customers are read in id-ordered chunks (one query each for the
customers, their grades, their done history and, where the policy asks, expiring documents), the
pure cadence engine (``crmctl.rules.cadence``) says what is due, and new activities are inserted in
bulk.  Every planned activity has an idempotency key with a unique constraint; keys already in the
database are skipped (set difference per chunk) and ``INSERT … ON CONFLICT DO NOTHING`` guards
against a concurrent run, so planning a month twice adds nothing.
"""

from __future__ import annotations

from collections import Counter as Tally
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from ...db import bulk_insert
from ...i18n import _
from ...models import Activity, ActivityPlanRun, Customer, CustomerGrade, Document, Staff
from ...progress import Progress, silent
from ...rules.cadence import EMPTY_HISTORY, History, MonthPlanner
from ...rules.periods import Period, parse_month
from .. import audit
from ..app import App
from ..assignment import RolePool, stand_in_warning
from ..lookups import find_staff

CHUNK = 5000
INSERT_BATCH = 5000


def local_date(value: datetime, tz) -> date:
    return value.astimezone(tz).date()


def day_start(d: date, tz) -> datetime:
    return datetime.combine(d, time(), tzinfo=tz)


def _planner(app: App, period: Period) -> MonthPlanner:
    pol = app.policy
    return MonthPlanner(pol.activities, period, greeting_holidays=pol.calendar.greeting_holidays,
                        working_day=app.calendar.is_working_day, documents=pol.documents)


class _Inserter:
    """Bulk INSERT … ON CONFLICT (cadence_key) DO NOTHING of planned activities
    (:func:`crmctl.db.bulk_insert`: executemany on SQLite, COPY and one INSERT … SELECT on
    PostgreSQL), values converted once per distinct value (the hot path of ``visit plan``)."""

    COLUMNS = ("customer_id", "kind", "due_date", "owner_id", "status", "planned_by", "cadence_key", "plan_note",
               "created_at")

    def __init__(self, session):
        self.session = session
        dialect = session.get_bind().dialect
        table = Activity.__table__
        self._date = table.c.due_date.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
        self._ts = table.c.created_at.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
        self._dates: dict[date, object] = {}

    def row(self, customer_id, kind, due_date, owner_id, run_id, key, note, created_at) -> tuple:
        d = self._dates.get(due_date)
        if d is None:
            d = self._dates[due_date] = self._date(due_date)
        return (customer_id, kind, d, owner_id, "planned", run_id, key, note, created_at)

    def created_at(self, now: datetime):
        return self._ts(now)  # UTC without offset, as the column holds it

    def write(self, rows: list) -> None:
        for i in range(0, len(rows), INSERT_BATCH):
            bulk_insert(self.session.connection(), "activity", self.COLUMNS, rows[i:i + INSERT_BATCH],
                        suffix="ON CONFLICT (cadence_key) DO NOTHING")


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


def plan_visits(app: App, month: str, owner: str | None = None, *, progress: Progress = silent) -> dict:
    """``visit plan``: create the activities due in ``month`` (idempotent); a summary per owner and kind.

    ``owner``: plan only what that person would own (their customers' keeper cadences, and role
    cadences of a role they hold, all given to them).  ``progress``: one step per customer read.
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
    window_lo = day_start(first - timedelta(days=8), tz)
    window_hi = day_start(last + timedelta(days=9), tz)
    scale_keys = planner.scale_keys
    # Stored idempotency keys of customer activities: "<month>/<customer id, 10 digits>:<kind>:<slot>" (the
    # engine's key with the month in front and the id padded), so a chunk's keys are one range of the index.
    key_prefix = f"{period.label}/"

    with progress(_("planning {month}").format(month=period.label)) as bar, app.db.write() as s:
        only = find_staff(s, owner) if owner else None
        pool = RolePool(s, customer_roles | company_roles, only)
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
                    last_done.setdefault(cid, {})[kind] = local_date(at, tz)
                for cid, kind, at in conn.execute(
                        select(Activity.customer_id, Activity.kind, Activity.done_at)
                        .where(in_chunk, Activity.kind.in_(counted_kinds), Activity.done_at >= window_lo,
                               Activity.done_at < window_hi)).all():
                    recent.setdefault(cid, {}).setdefault(kind, []).append(local_date(at, tz))
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
            bar.advance(len(rows))

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
    roles = app.policy.roles
    warnings += [stand_in_warning(role, roles.get(role), _("{n} of its activities").format(n=n))
                 for role, n in sorted(pool.fallbacks.items())]
    owners = [{"owner": o, "kinds": dict(sorted(k.items())), "planned": sum(k.values())}
              for o, k in sorted(by_owner.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))]
    return {"month": period.label, "owner": owner, "planned": total, "already_planned": existing,
            "unassigned": sum(by_owner.get(None, {}).values()), "owners": owners, "warnings": warnings}


def _company_history(session, planner: MonthPlanner, tz) -> History:
    kinds = sorted({k for c in planner.company for k in (c.kind, *c.counts)})
    start = planner.company_history_start()
    done: dict[str, list[date]] = {}
    for kind, at in session.execute(select(Activity.kind, Activity.done_at).where(
            Activity.customer_id.is_(None), Activity.kind.in_(kinds), Activity.done_at >= day_start(start, tz))):
        done.setdefault(kind, []).append(local_date(at, tz))
    return History({}, done)
