"""Service tickets: open (clocks from the policy), dispatch, arrive, take back, resolve, rate, list, show.

States: ``open`` → ``dispatched`` → ``arrived`` (→ ``taken_back``: repaired in the workshop with a
receipt) → ``resolved``.  Up to three clocks run from the opening: ``respond`` (met by the dispatch),
``arrive`` (met by the arrival) and ``resolve`` (met by the resolution).  A ticket is overdue when any
of its clocks was missed, or is running past its deadline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterator, Mapping

from sqlalchemy import func, or_, select

from ..errors import InvalidInput, RuleViolation
from ..models import Customer, ServiceTicket, Staff, StaffRole, TicketRating
from ..rules import sla as rules
from ..rules.customers import clean_text
from ..rules.limits import MAX_SHORT_TEXT
from .. import i18n
from ..i18n import _
from . import audit
from .app import App
from .lookups import customer_for_work, customer_id, find_record, find_staff, staff_logins
from .service_desk import check_after, customer_context, local, next_number
from .visibility import Scope, require_read

STATUSES = ("open", "dispatched", "arrived", "taken_back", "resolved")


def _status(status: str) -> str:
    """A ticket's status inside a message: its Chinese word (``i18n.label``; English readers see the code)."""
    return i18n.label(status, {"open": _("ticket status: open"), "dispatched": _("ticket status: dispatched"),
                               "arrived": _("ticket status: arrived"), "taken_back": _("ticket status: taken back"),
                               "resolved": _("ticket status: resolved")})


def _kind(app: App, kind: str) -> str:
    pol = app.policy.service
    return i18n.label(kind, pol.kinds if pol is not None else {})


def _policy(app: App):
    pol = app.policy.service
    if pol is None:
        raise RuleViolation(_("policy {policy} has no service tickets").format(policy=app.policy.code))
    return pol


def _deadlines(t: ServiceTicket) -> dict:
    return {clock: getattr(t, field) for clock, field in rules.CLOCK_DEADLINES.items()}


def _events(t: ServiceTicket) -> dict:
    return {field: getattr(t, field) for field in rules.CLOCK_EVENTS.values()}


#: the keys of a ticket of the list (``_dict``, without ``rating``), in order: the csv header even without rows
TICKET_KEYS = ("id", "customer", "kind", "opened_at", "respond_by", "resolve_by", "status", "arrive_by", "location",
               "service_type", "summary", "technician", "dispatched_at", "arrived_at", "taken_back_at", "receipt",
               "resolved_at", "note", "overdue", "missed", "owner", "ref")


def _dict(app: App, t: ServiceTicket, customer: str, logins: Mapping[int, str], now: datetime,
          rating: dict | None = None) -> dict:
    missed = rules.missed_clocks(_deadlines(t), _events(t), now)
    out = {
        "id": t.number,
        "customer": customer,
        "kind": t.kind,
        "opened_at": local(app, t.opened_at),
        "respond_by": local(app, t.respond_by),
        "resolve_by": local(app, t.resolve_by),
        "status": t.status,
        "arrive_by": local(app, t.arrive_by),
        "location": t.location,
        "service_type": t.service_type,
        "summary": t.summary,
        "technician": logins.get(t.technician_id),
        "dispatched_at": local(app, t.dispatched_at),
        "arrived_at": local(app, t.arrived_at),
        "taken_back_at": local(app, t.taken_back_at),
        "receipt": t.receipt,
        "resolved_at": local(app, t.resolved_at),
        "note": t.note,
        "overdue": bool(missed),
        "missed": missed,
        "owner": logins.get(t.owner_id),
        "ref": t.id,
    }
    if rating is not None:
        out["rating"] = rating
    return out


def _load(session, ident: str, *, lock: bool = False) -> tuple[ServiceTicket, Customer]:
    """The ticket and its customer; ``lock``: the ticket's row locked for the transition about to be
    written (two people moving one ticket at once are decided one after the other; the second reads
    the first one's step)."""
    t = find_record(session, ServiceTicket, ident, "service ticket", lock=lock)
    return t, session.get(Customer, t.customer_id)


def _finish(session, app: App, t: ServiceTicket, cust: Customer) -> dict:
    return _dict(app, t, cust.code, staff_logins(session, [t.technician_id, t.owner_id]), app.now())


def _not_resolved(t: ServiceTicket) -> None:
    if t.status == "resolved":
        raise RuleViolation(_("service ticket {number} is already resolved").format(number=t.number))


def _check_service_type(s, app: App, pol, cust: Customer, service_type: str | None, opened: datetime) -> None:
    """manufacturer 五.6: a contract call (B) needs a maintenance contract in force on the call's date,
    a free call (C) a warranty in force; the policy's ``service_type_documents`` says which."""
    from ..models import Document

    doc_type = pol.service_type_documents.get(service_type) if service_type else None
    if doc_type is None:
        return
    day = opened.astimezone(app.tz).date()
    held = s.execute(select(Document.id).where(Document.customer_id == cust.id, Document.type == doc_type,
                                               or_(Document.expires.is_(None), Document.expires >= day))).first()
    if held is None:
        label = app.policy.documents[doc_type].label if doc_type in app.policy.documents else doc_type
        raise RuleViolation(_("a {service_type} ({service_label}) call needs a {doc_type} ({label}) of {code} in force "
                              "on {day}: none is on file (crmctl doc list --customer {code})").format(
            service_type=service_type, service_label=pol.service_types[service_type], doc_type=doc_type, label=label,
            code=cust.code, day=day))


def open_ticket(app: App, code: str, kind: str, *, location: str | None = None, service_type: str | None = None,
                summary: str | None = None, at: datetime | None = None) -> dict:
    """Register a call; the policy's clocks for its kind, location, service type and customer start."""
    pol = _policy(app)
    kind = rules.pick_code(pol.kinds, kind, _("kind"), "--kind")
    if pol.locations:
        if not location and not pol.default_location:
            raise InvalidInput(_("--location is required: {choices}").format(
                choices=i18n.coded_list(pol.locations.items())))
        location = rules.pick_code(pol.locations, location or pol.default_location, _("location"), "--location")
    elif location:
        raise InvalidInput(_("--location: policy {policy} has no location classes").format(policy=app.policy.code))
    if pol.service_types:
        if not service_type and pol.service_type_required:
            raise InvalidInput(_("--service-type is required: {choices}").format(
                choices=i18n.coded_list(pol.service_types.items())))
        service_type = (rules.pick_code(pol.service_types, service_type, _("service type"), "--service-type")
                        if service_type else None)
    elif service_type:
        raise InvalidInput(_("--service-type: policy {policy} has no service types").format(policy=app.policy.code))
    summary = clean_text(summary or "", "--summary", required=False)
    opened = app.event_time(at)
    actor = app.actor
    with app.db.write() as s:
        cust = customer_for_work(s, code)
        _check_service_type(s, app, pol, cust, service_type, opened)
        ctx = customer_context(s, cust)
        choices = rules.service_clocks(pol, kind, location=location, service_type=service_type, **ctx)
        due = rules.clock_deadlines(choices, opened, app.calendar, app.clock_calendar)
        number = next_number(s, "ticket", pol.number_pattern, opened, ServiceTicket)
        t = ServiceTicket(number=number, customer_id=cust.id, kind=kind, location=location, service_type=service_type,
                          summary=summary, opened_at=opened, opened_by=actor.login, respond_by=due.get("respond"),
                          arrive_by=due.get("arrive"), resolve_by=due.get("resolve"),
                          clocks={c: {"due": ch.due, "calendar": ch.calendar} for c, ch in choices.items()},
                          status="open", policy_version=app.policy_version, owner_id=actor.id)
        s.add(t)
        s.flush()
        out = _finish(s, app, t, cust)
        audit.record(s, app, "ticket.open", "service_ticket", number, customer_code=cust.code,
                     after={k: out[k] for k in ("kind", "location", "service_type", "opened_at", "respond_by",
                                                "arrive_by", "resolve_by")})
    return out


def dispatch(app: App, ident: str, technician: str, *, at: datetime | None = None) -> dict:
    """Send a technician (again, as long as nobody has arrived yet); stops the respond clock.  The
    person must hold the policy's ``technician_role`` where it names one."""
    pol = _policy(app)
    when = app.event_time(at)
    with app.db.write() as s:
        t, cust = _load(s, ident, lock=True)
        _not_resolved(t)
        if t.status not in ("open", "dispatched"):
            raise RuleViolation(_("service ticket {number} is {status}; a technician is already on it").format(
                number=t.number, status=_status(t.status)))
        tech = find_staff(s, technician)
        if pol.technician_role and not s.execute(select(StaffRole.staff_id).where(
                StaffRole.staff_id == tech.id, StaffRole.role == pol.technician_role)).first():
            raise RuleViolation(_("{login} does not hold role {role} ({label}): only they are dispatched").format(
                login=tech.login, role=pol.technician_role, label=app.policy.role_label(pol.technician_role)))
        check_after(when, t.opened_at, _("dispatch time"), _("the opening"))
        before = {"technician": staff_logins(s, [t.technician_id]).get(t.technician_id), "status": t.status}
        t.technician_id = tech.id
        if t.dispatched_at is None:
            t.dispatched_at = when
        t.status = "dispatched"
        s.add(t)
        audit.record(s, app, "ticket.dispatch", "service_ticket", t.number, customer_code=cust.code, before=before,
                     after={"technician": tech.login, "status": "dispatched", "at": when})
        return _finish(s, app, t, cust)


def arrive(app: App, ident: str, *, at: datetime | None = None) -> dict:
    """The technician is on site; stops the arrive clock."""
    _policy(app)
    when = app.event_time(at)
    with app.db.write() as s:
        t, cust = _load(s, ident, lock=True)
        _not_resolved(t)
        if t.status != "dispatched":
            raise RuleViolation((_("service ticket {number} is {status}: dispatch a technician first") if t.status == "open"
                                 else _("service ticket {number} is {status}: the technician already arrived")).format(
                number=t.number, status=_status(t.status)))
        check_after(when, t.dispatched_at, _("arrival time"), _("the dispatch"))
        t.arrived_at = when
        t.status = "arrived"
        s.add(t)
        audit.record(s, app, "ticket.arrive", "service_ticket", t.number, customer_code=cust.code,
                     before={"status": "dispatched"}, after={"status": "arrived", "at": when})
        return _finish(s, app, t, cust)


def take_back(app: App, ident: str, receipt: str, *, at: datetime | None = None) -> dict:
    """The item goes to the workshop for repair, against a receipt (number) given to the customer."""
    _policy(app)
    receipt = clean_text(receipt or "", "--receipt", required=True, max_len=MAX_SHORT_TEXT)
    when = app.event_time(at)
    with app.db.write() as s:
        t, cust = _load(s, ident, lock=True)
        _not_resolved(t)
        if t.status != "arrived":
            raise RuleViolation(_("service ticket {number} is {status}: only after the technician arrived "
                                  "can the item be taken back").format(number=t.number, status=_status(t.status)))
        check_after(when, t.arrived_at, _("take-back time"), _("the arrival"))
        t.receipt = receipt
        t.taken_back_at = when
        t.status = "taken_back"
        s.add(t)
        audit.record(s, app, "ticket.take_back", "service_ticket", t.number, customer_code=cust.code,
                     before={"status": "arrived"}, after={"status": "taken_back", "receipt": receipt, "at": when})
        return _finish(s, app, t, cust)


def resolve(app: App, ident: str, *, at: datetime | None = None, note: str | None = None) -> dict:
    """Done; stops the resolve clock.  A kind in ``resolve_needs_dispatch`` (a repair) is resolved only
    after a technician was dispatched; an inquiry may be resolved without one."""
    pol = _policy(app)
    note = clean_text(note or "", "--note", required=False)
    when = app.event_time(at)
    with app.db.write() as s:
        t, cust = _load(s, ident, lock=True)
        _not_resolved(t)
        if t.kind in pol.resolve_needs_dispatch and t.dispatched_at is None:
            raise RuleViolation(_("service ticket {number} is a {kind} call and no technician was dispatched: "
                                  "crmctl service dispatch {number} --technician LOGIN first").format(
                number=t.number, kind=_kind(app, t.kind)))
        last, what = max(((v, k) for k, v in ((_("the opening"), t.opened_at), (_("the dispatch"), t.dispatched_at),
                                               (_("the arrival"), t.arrived_at), (_("the take-back"), t.taken_back_at))
                          if v is not None), key=lambda p: p[0])
        check_after(when, last, _("resolve time"), what)
        before = t.status
        t.resolved_at = when
        t.note = note or t.note
        t.status = "resolved"
        s.add(t)
        audit.record(s, app, "ticket.resolve", "service_ticket", t.number, customer_code=cust.code,
                     before={"status": before}, after={"status": "resolved", "at": when, "note": note})
        return _finish(s, app, t, cust)


def rate_ticket(app: App, ident: str, values: Mapping[str, str], *, at: datetime | None = None) -> dict:
    """The customer's survey card: every rating item of the policy on its levels (e.g. 4 × 1..4)."""
    pol = _policy(app)
    if not pol.rating_items:
        raise RuleViolation(_("policy {policy} has no rating items for service tickets").format(policy=app.policy.code))
    scores = rules.parse_rating(values, pol.rating_items, pol.rating_levels)
    when = app.event_time(at)
    with app.db.write() as s:
        t, cust = _load(s, ident, lock=True)
        if pol.rate_kinds and t.kind not in pol.rate_kinds:
            raise RuleViolation(_("service ticket {number} is a {kind} call; the policy rates {kinds} calls only").format(
                number=t.number, kind=_kind(app, t.kind), kinds=", ".join(_kind(app, k) for k in pol.rate_kinds)))
        if t.status != "resolved":
            raise RuleViolation(_("service ticket {number} is {status}; rate it once it is resolved").format(
                number=t.number, status=_status(t.status)))
        if t.technician_id is None:
            raise RuleViolation(_("service ticket {number} had no technician to rate").format(number=t.number))
        if s.scalars(select(TicketRating.id).where(TicketRating.ticket_id == t.id)).first() is not None:
            raise RuleViolation(_("service ticket {number} is already rated").format(number=t.number))
        check_after(when, t.resolved_at, _("rating time"), _("the resolution"))
        month = f"{when.year:04d}-{when.month:02d}"
        for item, score in scores.items():
            s.add(TicketRating(ticket_id=t.id, technician_id=t.technician_id, month=month, item=item, score=score,
                               rated_at=when, rated_by=app.actor.login))
        audit.record(s, app, "ticket.rate", "service_ticket", t.number, customer_code=cust.code,
                     after={"rating": scores, "at": when})
        out = _finish(s, app, t, cust)
    out["rating"] = scores
    return out


def _rating(session, t: ServiceTicket) -> dict | None:
    rows = session.execute(select(TicketRating.item, TicketRating.score).where(TicketRating.ticket_id == t.id)).all()
    return {item: score for item, score in rows} or None


def ticket_dict(app: App, ident: str) -> dict:
    with app.db.read() as s:
        t, cust = _load(s, ident)
        require_read(s, app, cust, [t.technician_id, t.owner_id],
                     what=_("service ticket {number}").format(number=t.number))
        out = _dict(app, t, cust.code, staff_logins(s, [t.technician_id, t.owner_id]), app.now(), _rating(s, t))
        out["customer_name"] = cust.name
        out["clocks"] = dict(t.clocks or {})
        out.setdefault("rating", None)
    return out


def clock_sql(clock: str, now: datetime) -> rules.ClockSql:
    """The SQL conditions of one of a ticket's clocks (``respond``, ``arrive``, ``resolve``)."""
    return rules.ClockSql(getattr(ServiceTicket, rules.CLOCK_DEADLINES[clock]),
                          getattr(ServiceTicket, rules.CLOCK_EVENTS[clock]), now)


def overdue_clause(now: datetime):
    """SQL: a ticket with a clock missed or running past its deadline (``rules.sla.missed_clocks``)."""
    return or_(*(clock_sql(c, now).overdue for c in rules.CLOCKS))


def list_tickets(app: App, *, open_only: bool = False, overdue: bool = False, customer: str | None = None,
                 technician: str | None = None, kind: str | None = None) -> Iterator[dict]:
    """Tickets, oldest first, streamed; ``overdue``: a clock missed or running past its deadline."""
    pol = _policy(app)
    now = app.now()
    tech = Staff.__table__.alias("tech")
    own = Staff.__table__.alias("own")
    q = (select(ServiceTicket, Customer.code, tech.c.login, own.c.login, Customer.owner_id)
         .join(Customer, Customer.id == ServiceTicket.customer_id)
         .outerjoin(tech, tech.c.id == ServiceTicket.technician_id)
         .outerjoin(own, own.c.id == ServiceTicket.owner_id)
         .order_by(ServiceTicket.opened_at, ServiceTicket.id))
    if open_only:
        q = q.where(ServiceTicket.status != "resolved")
    if overdue:
        q = q.where(overdue_clause(now))
    if kind:
        q = q.where(ServiceTicket.kind == rules.pick_code(pol.kinds, kind, _("kind"), "--kind"))
    with app.db.read() as s:
        if customer:
            q = q.where(ServiceTicket.customer_id == customer_id(s, customer))
        if technician:
            q = q.where(ServiceTicket.technician_id == find_staff(s, technician, active_only=False).id)
        scope = Scope(s, app)
        for t, code, tech_login, owner_login, keeper in s.execute(q.execution_options(yield_per=1000)):
            if scope.readable(t.customer_id, keeper, t.technician_id, t.owner_id):
                yield _dict(app, t, code, {t.technician_id: tech_login, t.owner_id: owner_login}, now)


def technician_ratings(app: App, month: str) -> list[dict]:
    """Average score per technician and item for one month (``YYYY-MM``): one GROUP BY."""
    with app.db.read() as s:
        rows = s.execute(select(Staff.login, TicketRating.item, func.count(TicketRating.id), func.avg(TicketRating.score))
                         .join(Staff, Staff.id == TicketRating.technician_id)
                         .where(TicketRating.month == month)
                         .group_by(Staff.login, TicketRating.item).order_by(Staff.login, TicketRating.item)).all()
    return [{"technician": login, "item": item, "ratings": n, "average": round(float(avg), 2)}
            for login, item, n, avg in rows]
