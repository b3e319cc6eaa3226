"""Logging relationship work (``visit log``) and reading it back (``visit list`` / ``visit show``):
a done activity counts toward its cadence whether it was planned or not; a log fills in (and
completes) the open planned activity of the month it belongs to.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterator, Mapping

from sqlalchemy import select, update

from ...errors import InvalidInput, NotFound, RuleViolation
from ... import i18n
from ...i18n import _
from ...models import Activity, Customer, Staff
from ...rules.cadence import activity_status, missed_before
from ...rules.codes import pick_code
from ...rules.customers import clean_text
from ...rules.periods import parse_month, period_containing
from .. import audit
from ..app import App
from ..lookups import find_staff, get_customer
from ..visibility import Scope, require_read
from ..registry import handover_step
from .planning import local_date

VISIT_STATUSES = ("planned", "done", "missed")


def resolve_kind(app: App, text: str) -> str:
    return pick_code(app.policy.activities.kinds, text, _("activity kind"), "--kind")


def _company_kinds(app: App) -> set[str]:
    return {c.kind for c in app.policy.activities.cadences if c.scope == "company"}


def report_keys(policy) -> list[str]:
    """Every report field of every activity kind of the policy (petrochem's 走访报告单 ...), first
    seen first: the keys of an activity's ``report``."""
    keys: dict[str, None] = {}
    for fields in policy.activities.report_fields.values():
        keys.update(dict.fromkeys(fields))
    return list(keys)


def activity_keys(policy) -> list[str]:
    """The keys of an activity of ``visit list`` (``report`` flattened), in order."""
    return ["id", "customer", "kind", "due_date", "owner", "status", "planned", "done_at", "done_by", "notes",
            *(f"report.{k}" for k in report_keys(policy)), "note"]


def _activity_dict(a: Activity, customer: str | None, owner: str | None, today: date, tz,
                   report: list[str]) -> dict:
    given = a.report or {}
    return {"id": a.id, "customer": customer, "kind": a.kind, "due_date": a.due_date, "owner": owner,
            "status": activity_status(a.status, a.due_date, today),
            "planned": a.planned_by is not None, "done_at": a.done_at.astimezone(tz) if a.done_at else None,
            "done_by": a.done_by, "notes": a.notes,
            # every report field of the policy (null where not written): the same keys on every row
            "report": {k: given.get(k) for k in report}, "note": a.plan_note}


def get_activity(app: App, activity_id: int) -> dict:
    with app.db.read() as s:
        a = s.get(Activity, activity_id)
        if a is None:
            raise NotFound(_("no activity {id}").format(id=activity_id))
        cust = s.get(Customer, a.customer_id) if a.customer_id else None
        if cust is not None:
            require_read(s, app, cust, [a.owner_id], what=_("activity {id}").format(id=a.id))
        code = cust.code if cust is not None else None
        owner = s.get(Staff, a.owner_id).login if a.owner_id else None
        return _activity_dict(a, code, owner, app.now().date(), app.tz, report_keys(app.policy))


# ----------------------------------------------------------------------------------------------
# visit log


def _report(app: App, kind: str, fields: Mapping[str, str] | None) -> dict:
    allowed = app.policy.activities.report_fields.get(kind, {})
    out: dict[str, str] = {}
    for key, value in (fields or {}).items():
        code = key if key in allowed else next((k for k, label in allowed.items() if label == key), None)
        if code is None:
            known = i18n.coded_list(allowed.items()) or _("none")
            raise InvalidInput(_("--field {key}: not a report field of {kind} (the policy has {known})").format(
                key=key, kind=_kind(app, kind), known=known))
        text = clean_text(value, f"--field {key}", required=False)
        if text is not None:
            out[code] = text
    return out


def _kind(app: App, kind: str) -> str:
    """An activity kind inside a message: the policy's label in Chinese, the code in English."""
    return i18n.label(kind, app.policy.activities.kinds)


def _disqualified(c: Customer) -> str:
    return _("customer {code} is disqualified: no activities are logged for it").format(code=c.code)


def _counts_toward(app: App, kind: str, planned_kind: str) -> bool:
    return kind == planned_kind or any(
        c.kind == planned_kind and kind in c.counts for c in app.policy.activities.cadences)


def log_visit(app: App, code: str | None, kind: str | None = None, *, at: datetime | None = None,
              notes: str | None = None, planned: int | None = None, fields: Mapping[str, str] | None = None) -> dict:
    """``visit log``: record a done activity; with ``planned`` it fills in (and completes) that planned one."""
    kind_code = resolve_kind(app, kind) if kind is not None else None
    if kind_code is None and planned is None:
        raise InvalidInput(_("give --kind (or --planned ID to complete a planned activity)"))
    notes = clean_text(notes or "", "--note", required=False)
    now = app.now()
    when = app.event_time(at)
    if planned is not None and planned < 1:
        raise InvalidInput(_("--planned {id} is not an activity id").format(id=planned))
    with app.db.write() as s:
        c = None
        if code:
            c = get_customer(s, code)
            if c.status == "disqualified":
                raise RuleViolation(_disqualified(c))
        elif planned is None and kind_code not in _company_kinds(app):
            raise InvalidInput(_("give the customer CODE: only company-wide kinds ({kinds}) are logged without one").format(
                kinds=", ".join(sorted(_company_kinds(app))) or _("none in this policy")))
        auto = False
        if planned is None:
            planned = _open_planned_for(s, app, c, kind_code, when)
            auto = planned is not None
        if planned is not None:
            a = s.get(Activity, planned, with_for_update=True)  # two logs completing it at once: one does
            if a is None:
                raise NotFound(_("no activity {id}").format(id=planned))
            if c is None and not code and a.customer_id is not None:  # CODE left out: the planned one's customer
                c = s.get(Customer, a.customer_id)
                if c.status == "disqualified":
                    raise RuleViolation(_disqualified(c))
            if (a.customer_id or None) != (c.id if c else None):
                other = s.get(Customer, a.customer_id).code if a.customer_id else _("the whole company")
                raise RuleViolation(_("planned activity {id} is for {other}, not {this}").format(
                    id=planned, other=other, this=c.code if c else _("the whole company")))
            if a.status == "done":
                done = a.done_at.astimezone(app.tz).strftime("%Y-%m-%d %H:%M") if a.done_at else "?"
                raise RuleViolation(_("activity {id} is already done ({at} by {login})").format(
                    id=planned, at=done, login=a.done_by))
            kind_code = kind_code or a.kind
            if not _counts_toward(app, kind_code, a.kind):
                raise RuleViolation(_("planned activity {id} is a {planned_kind}; a {kind} does not count toward it").format(
                    id=planned, planned_kind=_kind(app, a.kind), kind=_kind(app, kind_code)))
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
            a = Activity(customer_id=c.id if c else None, kind=kind_code, due_date=local_date(when, app.tz),
                         owner_id=app.actor.id, status="done", done_at=when, done_by=app.actor.login, notes=notes,
                         report=report or None, created_at=now)
            s.add(a)
        s.flush()
        owner = s.get(Staff, a.owner_id).login if a.owner_id else None
        result = _activity_dict(a, c.code if c else None, owner, now.date(), app.tz, report_keys(app.policy))
        audit.record(s, app, "visit.log", "activity", str(a.id), before=before,
                     after={"kind": kind_code, "done_at": when, "planned": planned, "notes": notes, "report": report},
                     customer_code=c.code if c else None, at=now,
                     note="completes the open planned activity of the month" if auto else None)
    return result


def _open_planned_for(session, app: App, c: Customer | None, kind: str, when: datetime) -> int | None:
    """The open planned activity a log without --planned completes: for a customer, the one of the same
    kind due in the log's month nearest to the log's date; company-wide, the first one due on or after
    the log's date in the same year.  None: the log is recorded as unplanned."""
    day = local_date(when, app.tz)
    # locked (PostgreSQL): a log completing the same one at the same time waits, and then finds it done
    q = select(Activity.id, Activity.due_date).where(Activity.status == "planned", Activity.kind == kind).with_for_update()
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
    this_month = missed_before(today)
    q = (select(Activity, Customer.code, Staff.login, Customer.owner_id)
         .outerjoin(Customer, Customer.id == Activity.customer_id)
         .outerjoin(Staff, Staff.id == Activity.owner_id)
         .order_by(Activity.due_date, Activity.id))
    if month:
        p = parse_month(month)
        q = q.where(Activity.due_date >= p.start, Activity.due_date < p.end)
    if status:
        if status not in VISIT_STATUSES:
            raise InvalidInput(_("unknown status '{status}': use {statuses}").format(
                status=status, statuses=", ".join(VISIT_STATUSES)))
        if status == "done":
            q = q.where(Activity.status == "done")
        elif status == "planned":
            q = q.where(Activity.status == "planned", Activity.due_date >= this_month)
        else:
            q = q.where(Activity.status == "planned", Activity.due_date < this_month)
    if kind:
        q = q.where(Activity.kind == resolve_kind(app, kind))
    tz = app.tz
    report = report_keys(app.policy)

    def rows():
        with app.db.read() as s:
            qq = q
            if owner:
                qq = qq.where(Activity.owner_id == find_staff(s, owner, active_only=False).id)
            if customer:
                qq = qq.where(Activity.customer_id == get_customer(s, customer).id)
            scope = Scope(s, app)
            for a, code, login, keeper in s.execute(qq.execution_options(yield_per=2000)):
                if scope.readable(a.customer_id, keeper, a.owner_id):
                    yield _activity_dict(a, code, login, today, tz, report)

    # validate the owner and customer now, so a bad one is refused before any output
    if owner or customer:
        with app.db.read() as s:
            if owner:
                find_staff(s, owner, active_only=False)
            if customer:
                get_customer(s, customer)
    return rows()


@handover_step(order=20)
def handover(session, from_staff: Staff, to_staff: Staff, now: datetime) -> tuple[str, int]:
    """Move the leaver's planned (not done) activities to their successor."""
    res = session.execute(update(Activity).where(Activity.owner_id == from_staff.id, Activity.status == "planned")
                          .values(owner_id=to_staff.id))
    return "activities", res.rowcount or 0
