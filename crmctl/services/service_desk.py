"""The service desk: what complaints, service tickets and proposals share.

- the company calendars (working, and 24/7) built once per ``App`` from the policy;
- the customer a ticket is opened for (unknown or disqualified refused) and what the policy's
  conditions look at (segments, fields, current grades, status);
- numbers from the policy's patterns (``TS-2026-0001``), drawn from per-year counters;
- finding a record by its number or integer id;
- ``handover`` (wired into ``staff leave``), ``complaint_stats`` (for reports) and ``demo_step``.

The use cases themselves are in ``complaints.py``, ``tickets.py`` and ``proposals.py``.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator

from sqlalchemy import and_, case, func, select, update

from ..errors import InvalidInput, NotFound, RuleViolation
from ..models import Complaint, Customer, CustomerGrade, Proposal, ServiceTicket, Staff, StaffRole
from ..rules import sla as rules
from ..rules.calendar import CompanyCalendar, calendar_from_policy
from . import counters
from .app import App

# ----------------------------------------------------------------------------------------------
# Calendars


def company_calendar(app: App) -> CompanyCalendar:
    """The policy's working calendar (statutory holidays, make-up days, business hours)."""
    cal = app.__dict__.get("_company_calendar")
    if cal is None:
        try:
            cal = calendar_from_policy(app.policy.calendar, app.policy.policy.timezone)
        except ValueError as exc:
            raise InvalidInput(f"policy calendar: {exc}") from None
        app.__dict__["_company_calendar"] = cal
    return cal


def clock_calendar(app: App) -> CompanyCalendar:
    """Every hour of every day (``calendar = "24x7"``), in the policy's time zone."""
    cal = app.__dict__.get("_clock_calendar")
    if cal is None:
        cal = app.__dict__["_clock_calendar"] = rules.round_the_clock_calendar(app.policy.policy.timezone)
    return cal


def deadline(cal: CompanyCalendar, start: datetime, due: str) -> datetime:
    try:
        return cal.add(start, due)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


# ----------------------------------------------------------------------------------------------
# Customers, staff, numbers, lookups


def customer_for_work(session, code: str) -> Customer:
    """The customer a complaint, ticket or proposal is opened for: known and not disqualified."""
    c = session.scalars(select(Customer).where(Customer.code == (code or "").strip())).first()
    if c is None:
        raise NotFound(f"no customer '{code}'")
    if c.status == "disqualified":
        raise RuleViolation(f"customer {c.code} is disqualified; nothing can be opened for it")
    return c


def customer_context(session, c: Customer) -> dict[str, Any]:
    """What policy conditions look at: segments, fields, current grades, status."""
    grades = dict(session.execute(select(CustomerGrade.scale, CustomerGrade.grade)
                                  .where(CustomerGrade.customer_id == c.id)).all())
    return {"segments": dict(c.segments or {}), "fields": dict(c.fields or {}), "grades": grades,
            "status": c.status}


def next_number(session, kind: str, pattern: str, at: datetime, model) -> str:
    """The next free number from ``pattern`` for the year of ``at`` (company zone)."""
    year = at.year
    name = rules.number_counter(kind, pattern, year)
    while True:
        number = rules.format_number(pattern, year, counters.advance(session, name))
        if session.scalars(select(model.id).where(model.number == number)).first() is None:
            return number


def find_record(session, model, ident: str, what: str):
    """A complaint / ticket / proposal by its number (``TS-2026-0001``) or its integer id."""
    text = (ident or "").strip()
    row = session.scalars(select(model).where(model.number == text)).first() if text else None
    if row is None and text.isdigit():
        row = session.get(model, int(text))
    if row is None:
        row = session.scalars(select(model).where(func.upper(model.number) == text.upper())).first() if text else None
    if row is None:
        raise NotFound(f"no {what} '{ident}'")
    return row


def staff_logins(session, ids) -> dict[int, str]:
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    return dict(session.execute(select(Staff.id, Staff.login).where(Staff.id.in_(ids))).all())


#: how far ahead of the clock an event time may be (clock skew between PCs)
FUTURE_TOLERANCE = timedelta(minutes=5)


def event_time(app: App, at: datetime | None) -> datetime:
    """When an event happened: ``--at`` or now, in the company zone; the future is refused."""
    now = app.now()
    when = (at or now).astimezone(app.tz)
    if when > now + FUTURE_TOLERANCE:
        raise InvalidInput(f"--at {when:%Y-%m-%d %H:%M} is in the future (now is {now:%Y-%m-%d %H:%M})")
    return when


def check_after(at: datetime, after: datetime | None, what: str, after_what: str) -> None:
    """Refuse an event recorded before the event it follows (both shown in the zone of ``at``)."""
    if after is None:
        return
    try:
        rules.check_event_time(at, after.astimezone(at.tzinfo), what, after_what)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def local(app: App, value: datetime | None) -> datetime | None:
    return value.astimezone(app.tz) if value is not None else None


def period_bounds(app: App, start: date, end: date) -> tuple[datetime, datetime]:
    """A period's local dates [start, end) as aware datetimes in the company zone."""
    return (datetime.combine(start, time(), tzinfo=app.tz), datetime.combine(end, time(), tzinfo=app.tz))


# ----------------------------------------------------------------------------------------------
# Hand-over when staff leave


def handover(session, from_staff, to_staff, now: datetime) -> tuple[str, int]:
    """Move the leaver's open complaints, tickets (handled or assigned as technician) and proposals.

    ``from_staff`` / ``to_staff`` are ``Staff`` rows (or ids).  Set-based: one UPDATE per table.
    """
    src = getattr(from_staff, "id", from_staff)
    dst = getattr(to_staff, "id", to_staff)
    n = 0
    n += session.execute(update(Complaint).where(Complaint.owner_id == src, Complaint.status == "open")
                         .values(owner_id=dst)).rowcount or 0
    n += session.execute(update(ServiceTicket).where(ServiceTicket.owner_id == src, ServiceTicket.status != "resolved")
                         .values(owner_id=dst)).rowcount or 0
    n += session.execute(update(ServiceTicket).where(ServiceTicket.technician_id == src,
                                                     ServiceTicket.status != "resolved")
                         .values(technician_id=dst)).rowcount or 0
    n += session.execute(update(Proposal).where(Proposal.owner_id == src, Proposal.status == "open")
                         .values(owner_id=dst)).rowcount or 0
    return "open complaints/tickets/proposals", n


# ----------------------------------------------------------------------------------------------
# Complaint statistics (for reports)


def _stat_columns(now: datetime):
    closed = Complaint.status == "closed"
    return (
        func.count(Complaint.id).label("opened"),
        func.sum(case((closed, 1), else_=0)).label("closed"),
        func.sum(case((and_(closed, Complaint.closed_at <= Complaint.due_at), 1), else_=0)).label("on_time"),
        func.sum(case((and_(closed, Complaint.closed_at > Complaint.due_at), 1), else_=0)).label("late"),
        func.sum(case((and_(Complaint.status == "open", Complaint.due_at < now), 1), else_=0)).label("open_overdue"),
        func.sum(case((and_(closed, Complaint.satisfied.is_(True)), 1), else_=0)).label("satisfied"),
        func.sum(case((and_(closed, Complaint.satisfied.is_(False)), 1), else_=0)).label("unsatisfied"),
    )


def _stat_row(row, target) -> dict:
    satisfied, unsatisfied = int(row.satisfied or 0), int(row.unsatisfied or 0)
    pct = rules.satisfaction_pct(satisfied, satisfied + unsatisfied)
    return {"opened": int(row.opened or 0), "closed": int(row.closed or 0), "on_time": int(row.on_time or 0),
            "late": int(row.late or 0), "open_overdue": int(row.open_overdue or 0), "satisfied": satisfied,
            "unsatisfied": unsatisfied, "satisfaction_pct": pct, "target_pct": target,
            "meets_target": rules.meets_target(pct, target)}


def complaint_stats(app: App, period) -> dict:
    """Complaints opened in ``period`` (a ``rules.periods.Period`` or ``(start, end)`` dates):
    opened / closed / on time / late / still open and overdue now / satisfaction against the
    policy's target, in total, by severity and by grade of every grading scale.  A few GROUP BYs."""
    start, end = (period.start, period.end) if hasattr(period, "start") else period
    label = getattr(period, "label", f"{start.isoformat()}..{end.isoformat()}")
    lo, hi = period_bounds(app, start, end)
    pol = app.policy.complaints
    target = float(pol.satisfaction_target_pct) if pol and pol.satisfaction_target_pct is not None else None
    now = app.now()
    where = and_(Complaint.opened_at >= lo, Complaint.opened_at < hi)
    out: dict[str, Any] = {"period": label, "start": start, "end": end, "target_pct": target}
    with app.db.read() as s:
        total = s.execute(select(*_stat_columns(now)).where(where)).one()
        out["total"] = _stat_row(total, target)
        out["by_severity"] = [
            {"severity": r.severity, **_stat_row(r, target)}
            for r in s.execute(select(Complaint.severity, *_stat_columns(now)).where(where)
                               .group_by(Complaint.severity).order_by(Complaint.severity))
        ]
        by_grade = []
        for scale in (app.policy.grading.scales if app.policy.grading else {}):
            q = (select(CustomerGrade.grade, *_stat_columns(now))
                 .select_from(Complaint)
                 .outerjoin(CustomerGrade, and_(CustomerGrade.customer_id == Complaint.customer_id,
                                                CustomerGrade.scale == scale))
                 .where(where).group_by(CustomerGrade.grade).order_by(CustomerGrade.grade))
            for r in s.execute(q):
                by_grade.append({"scale": scale, "grade": r.grade, **_stat_row(r, target)})
        out["by_grade"] = by_grade
    return out


# ----------------------------------------------------------------------------------------------
# Demo


_COMPLAINTS = ["到货数量与提单不符", "提货排队时间过长", "发票信息开具错误", "产品包装破损", "价格通知未及时送达",
               "客户经理联系不上", "质量指标与合同不符", "燃气费账单有误", "维修人员未按约定时间到达", "加油卡积分未到账"]
_TICKETS = ["设备无法启动", "燃气表不走字", "管道异味", "压力不稳", "控制面板报警", "噪声异常", "咨询收费标准", "定期保养"]
_PROPOSALS = ["包装规格统一为25kg", "合并配送线路降低运费", "改进质检抽样方案", "推荐新型密封件", "增设售后服务网点",
              "简化对账流程"]


def _staff_with_roles(app: App, roles) -> list[str]:
    roles = list(roles)
    if not roles:
        return []
    with app.db.read() as s:
        return list(s.scalars(select(Staff.login).join(StaffRole, StaffRole.staff_id == Staff.id)
                              .where(StaffRole.role.in_(roles), Staff.active.is_(True), Staff.is_admin.is_(False))
                              .order_by(Staff.login).distinct()).all())


def _work_times(app: App, rng: random.Random, n: int, days: int = 90) -> list[datetime]:
    """``n`` plausible moments in the last ``days`` days: mostly office hours of working days."""
    cal = company_calendar(app)
    now = app.now()
    out = []
    while len(out) < n:
        d = (now - timedelta(days=rng.randrange(1, days))).date()
        if not cal.is_working_day(d) and rng.random() < 0.85:
            continue
        t = datetime.combine(d, time(rng.choice((8, 9, 9, 10, 10, 11, 14, 14, 15, 16, 17)), rng.randrange(0, 60)),
                             tzinfo=app.tz)
        if t < now:
            out.append(t)
    return sorted(out)


def demo_step(app: App, rng: random.Random) -> Iterator[str]:
    """Complaints, service tickets and proposals over the last three months, as the policy has them."""
    from .complaints import close_complaint, escalate_complaint, extend_complaint, open_complaint
    from .proposals import close_proposal, open_proposal
    from .tickets import arrive, dispatch, open_ticket, rate_ticket, resolve, take_back

    pol = app.policy
    if not (pol.complaints or pol.service or pol.proposals):
        return
    now = app.now()
    with app.db.read() as s:
        codes = list(s.scalars(select(Customer.code).where(Customer.status == "active")
                               .order_by(Customer.id).limit(500)).all())
    if not codes:
        return
    non_admin = _staff_with_roles(app, pol.roles)
    share = 30 // sum(bool(x) for x in (pol.complaints, pol.service, pol.proposals))  # ~30 items in all

    def later(start: datetime, hours: float) -> datetime | None:
        t = (start + timedelta(minutes=max(1, round(hours * 60)))).replace(second=0, microsecond=0)
        return t if t < now else None

    if pol.complaints:
        cp = pol.complaints
        severities = list(cp.severities)
        times = _work_times(app, rng, share)
        opened = closed = late = unsatisfied = extended = escalated = 0
        approvers = _staff_with_roles(app, [cp.extension.approver_role]) if cp.extension else []
        for t in times:
            sev = severities[-1] if len(severities) > 1 and rng.random() < 0.25 else cp.default_severity
            c = open_complaint(app, rng.choice(codes), rng.choice(_COMPLAINTS), severity=sev, at=t)
            opened += 1
            if cp.escalate_role and sev in cp.escalate:
                escalate_complaint(app, c["id"], note="提交专题会议研究", at=later(t, 2) or t)
                escalated += 1
            if cp.extension and approvers and rng.random() < 0.2:
                try:
                    c = extend_complaint(app, c["id"], 2, rng.choice(approvers), note="需现场核实", at=t)
                    extended += 1
                except (RuleViolation, InvalidInput):
                    pass
            due = c["due_at"]
            span = (due - t).total_seconds() / 3600
            r = rng.random()
            if r < 0.12:
                continue  # still open
            hours = span * (rng.uniform(1.05, 1.8) if r < 0.3 else rng.uniform(0.1, 0.95))
            at = later(t, max(hours, 0.5))
            if at is None:
                continue
            satisfied = rng.random() >= 0.1
            close_complaint(app, c["id"], "已调查处理并答复客户", satisfied, at=at)
            closed += 1
            late += at > due
            unsatisfied += not satisfied
        extra = (f", {extended} extended" if extended else "") + (f", {escalated} escalated" if escalated else "")
        yield (f"complaints: {opened} opened over 3 months, {closed} closed ({late} late, {unsatisfied} unsatisfied)"
               f"{extra}")

    if pol.service:
        sv = pol.service
        kinds = list(sv.kinds)
        techs = [x for x in non_admin]
        pref = [x for x in techs if any(w in x for w in ("techn", "repair"))]
        techs = pref or techs or [app.actor.login]
        times = _work_times(app, rng, share)
        opened = resolved = rated = missed = 0
        for t in times:
            kind = "repair" if "repair" in kinds and rng.random() < 0.6 else rng.choice(kinds)
            loc = rng.choice(list(sv.locations)) if sv.locations else None
            stype = rng.choice(list(sv.service_types)) if sv.service_types else None
            tk = open_ticket(app, rng.choice(codes), kind, location=loc, service_type=stype,
                             summary=rng.choice(_TICKETS), at=t)
            opened += 1
            if rng.random() < 0.1:
                continue
            tech = rng.choice(techs)
            d_at = later(t, rng.uniform(0.2, 2))
            if d_at is None:
                continue
            dispatch(app, tk["id"], tech, at=d_at)
            a_at = later(d_at, rng.uniform(0.5, 4) if rng.random() < 0.85 else rng.uniform(4, 30))
            if a_at is None:
                continue
            arrive(app, tk["id"], at=a_at)
            if rng.random() < 0.15:
                a_at = later(a_at, 1) or a_at
                take_back(app, tk["id"], f"SJ{rng.randrange(10**5, 10**6)}", at=a_at)
            r_at = later(a_at, rng.uniform(0.5, 12) if rng.random() < 0.85 else rng.uniform(12, 60))
            if r_at is None:
                continue
            tk = resolve(app, tk["id"], at=r_at, note="已修复")
            resolved += 1
            missed += bool(tk["overdue"])
            if sv.rating_items and (not sv.rate_kinds or kind in sv.rate_kinds):
                levels = sorted(sv.rating_levels, key=lambda x: int(x) if x.isdigit() else 0)
                top = levels[-2:] if rng.random() < 0.8 else levels
                rate_ticket(app, tk["id"], {item: rng.choice(top) for item in sv.rating_items},
                            at=later(r_at, 2) or r_at)
                rated += 1
        yield (f"service:  {opened} tickets, {resolved} resolved by {len(set(techs))} technicians "
               f"({missed} missed a clock), {rated} rated")

    if pol.proposals:
        pp = pol.proposals
        cats = list(pp.categories)
        times = _work_times(app, rng, share)
        opened = adopted = rejected = 0
        for t in times:
            p = open_proposal(app, rng.choice(codes), rng.choice(cats), rng.choice(_PROPOSALS), at=t)
            opened += 1
            at = later(t, rng.uniform(24 * 5, 24 * 40))
            if at is None or rng.random() < 0.2:
                continue
            if rng.random() < 0.6:
                close_proposal(app, p["id"], adopted=True, saving=str(rng.randrange(5, 200) * 1000),
                               implement_by=(at.date() + timedelta(days=30)).isoformat(), at=at)
                adopted += 1
            else:
                close_proposal(app, p["id"], adopted=False, at=at)
                rejected += 1
        yield f"proposals: {opened} received, {adopted} adopted, {rejected} rejected"
