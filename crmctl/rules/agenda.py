"""The agenda (今日待办, issue 21): the pure parts -- the window looked at, the state of one item
(how late, or how much time is left), and the order (grouped by kind, soonest first).

No database and no translation here: a state is a code and a number, worded by the service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

#: the kinds of an agenda item, in the order the agenda shows them
KINDS = ("activity", "complaint", "service", "approval", "document", "proposal", "renewal")
KIND_ORDER = {k: i for i, k in enumerate(KINDS)}
#: the keys of an agenda item (JSON objects, CSV header), in order
ITEM_KEYS = ("kind", "due", "customer", "name", "owner", "what", "state", "overdue", "command")
#: days looked ahead with --week (today and the six days after it: seven days)
WEEK_DAYS = 7


def horizon(today: date, week: bool = False) -> date:
    """The last day whose work the agenda shows: today, or the seventh day from today with ``week``."""
    return today + timedelta(days=WEEK_DAYS - 1) if week else today


def horizon_end(today: date, tz: ZoneInfo, week: bool = False) -> datetime:
    """The first moment after the window (midnight after :func:`horizon`, in ``tz``): a deadline
    before it is on the agenda."""
    return datetime.combine(horizon(today, week) + timedelta(days=1), time(0), tz)


@dataclass(frozen=True)
class State:
    """How an item stands: ``code`` is one of ``overdue_days``, ``overdue_working_days``,
    ``overdue_hours``, ``today``, ``in_days``, ``hours_left``, ``days_left``; ``n`` the number."""
    code: str
    n: int = 0

    @property
    def overdue(self) -> bool:
        return self.code.startswith("overdue")


def date_state(due: date, today: date) -> State:
    """A task due on a day (a planned visit, a document's expiry)."""
    if due < today:
        return State("overdue_days", (today - due).days)
    if due == today:
        return State("today")
    return State("in_days", (due - today).days)


def deadline_state(due: datetime, now: datetime,
                   working_days_between: Callable[[date, date], int] | None = None) -> State:
    """A deadline at a moment (a complaint's, a ticket's clock): time left, or how late -- in
    working days on the company calendar when ``working_days_between`` is given and at least one
    working day has passed, else in clock hours."""
    if due <= now:
        if working_days_between is not None:
            days = working_days_between(due.astimezone(now.tzinfo).date(), now.date())
            if days >= 1:
                return State("overdue_working_days", days)
        return State("overdue_hours", max(1, math.ceil((now - due).total_seconds() / 3600)))
    left = due - now
    if left < timedelta(hours=24):
        return State("hours_left", max(1, math.ceil(left.total_seconds() / 3600)))
    return State("days_left", left.days)


def moment(due: date | datetime, tz: ZoneInfo) -> datetime:
    """A due date or date-time as a moment to compare (a day: its start in ``tz``)."""
    if isinstance(due, datetime):
        return due if due.tzinfo else due.replace(tzinfo=tz)
    return datetime.combine(due, time(0), tz)


def sort_items(items: Iterable[Mapping], tz: ZoneInfo) -> list:
    """Grouped by kind (the order of :data:`KINDS`), soonest first within a kind, then by customer."""
    return sorted(items, key=lambda i: (KIND_ORDER.get(i["kind"], len(KINDS)), moment(i["due"], tz),
                                        i.get("customer") or "", i.get("command") or ""))
