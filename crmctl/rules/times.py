"""Reading dates and times the way users type them, and "now" (``CRMCTL_NOW`` for back-fill/tests).

Pure apart from reading the clock and one environment variable.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str, what: str = "date") -> date:
    """A calendar date written ``YYYY-MM-DD``; ValueError naming ``what`` otherwise."""
    s = (text or "").strip()
    if not _DATE_RE.match(s):
        raise ValueError(f"{what} '{text}' is not a date: write YYYY-MM-DD")
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{what} '{text}' is not a real date") from None


def parse_datetime(text: str, tz: ZoneInfo | str, what: str = "time") -> datetime:
    """An ISO date or date-time; without an offset it is in ``tz``.  Returns an aware datetime."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    s = (text or "").strip()
    if _DATE_RE.match(s):
        d = parse_date(s, what)
        return datetime(d.year, d.month, d.day, tzinfo=zone)
    try:
        value = datetime.fromisoformat(s.replace(" ", "T", 1) if " " in s and "T" not in s else s)
    except ValueError:
        raise ValueError(f"{what} '{text}' is not a date-time: write e.g. 2026-11-22T09:30 or 2026-11-22") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value


def now(tz: ZoneInfo | str = "UTC") -> datetime:
    """The current time, or ``CRMCTL_NOW`` when set; aware, in ``tz``."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    fixed = os.environ.get("CRMCTL_NOW")
    if fixed:
        try:
            return parse_datetime(fixed, zone, "CRMCTL_NOW").astimezone(zone)
        except ValueError as exc:
            raise ValueError(f"environment variable {exc}") from None
    return datetime.now(timezone.utc).astimezone(zone)
