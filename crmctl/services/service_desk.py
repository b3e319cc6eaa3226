"""The service desk's common ground: what complaints, service tickets and proposals share.

- deadlines are counted on the policy's calendars (``app.calendar``: working days and hours;
  ``app.clock_calendar``: 24/7);
- what the policy's conditions look at for a customer (segments, fields, current grades, status);
- numbers from the policy's patterns (``TS-2026-0001``), drawn from per-year counters;
- event times (``--at``): not in the future, not before the event they follow;
- the hand-over of open work when staff leave.

The use cases are in ``complaints.py``, ``tickets.py`` and ``proposals.py``, which build on this
module and never on each other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from ..models import Complaint, Customer, CustomerGrade, Proposal, ServiceTicket
from ..rules import sla as rules
from ..rules.periods import local_bounds
from . import counters
from .app import App
from .registry import handover_step


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


#: how far ahead of the clock an event time may be (clock skew between PCs)


def check_after(at: datetime, after: datetime | None, what: str, after_what: str) -> None:
    """Refuse an event recorded before the event it follows (both shown in the zone of ``at``)."""
    if after is None:
        return
    rules.check_event_time(at, after.astimezone(at.tzinfo), what, after_what)


def local(app: App, value: datetime | None) -> datetime | None:
    return value.astimezone(app.tz) if value is not None else None


def period_bounds(app: App, start: date, end: date) -> tuple[datetime, datetime]:
    """A period's local dates [start, end) as aware datetimes in the company zone."""
    return local_bounds(start, end, app.tz)


@handover_step(order=10)
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
