"""Usage records and the customer's status: which days a customer may have usage recorded for.

petrochem Art. 15 (an expired licence suspends business until renewed) and Art. 17 (a disqualified
customer's business ends): a record dated on or after the day the customer entered a status the
policy lists in ``[statuses] no_records`` is refused with the reason; records dated before stay
allowed (late entry of earlier liftings).  Pure: the service hands over the status, since when and
the record's day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from .errors import Msg, Refused


def check_record_day(code: str, status: str, since: date | None, day: date, no_records: Sequence[str],
                     label: str | None = None, reason: str | None = None) -> None:
    """Refuse a usage record of customer ``code`` dated ``day`` while it is ``status`` since ``since``."""
    if status not in no_records or since is None or day < since:
        return
    label = label or status
    if reason:
        raise Refused(Msg("{code} is {label} ({status}, {reason}) since {since}: usage dated {day} is refused (records "
                          "dated before {since} are accepted)", code=code, label=label, status=status, reason=reason,
                          since=since.isoformat(), day=day.isoformat()), field="date")
    raise Refused(Msg("{code} is {label} ({status}) since {since}: usage dated {day} is refused (records dated before "
                      "{since} are accepted)", code=code, label=label, status=status, since=since.isoformat(),
                      day=day.isoformat()), field="date")
