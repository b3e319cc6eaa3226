"""Reading dates and times the way users type them, and "now".

Pure apart from reading the clock: a fixed "now" (``CRMCTL_NOW``, for back-filling and tests) is
read from the environment once, by ``crmctl.settings``, and handed in.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from .errors import Invalid, Refused
from .limits import EARLIEST_DATE, LATEST_DATE

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def in_range(d: date, earliest: date = EARLIEST_DATE) -> bool:
    """Whether a date lies in the range crmctl accepts (``crmctl.rules.limits``)."""
    return earliest <= d <= LATEST_DATE


def check_date(d: date, what: str = "date", *, earliest: date = EARLIEST_DATE) -> date:
    """``d``, or Invalid when it is outside the range of dates crmctl accepts."""
    if not in_range(d, earliest):
        raise Invalid(f"{what} {d.isoformat()} is outside the dates crmctl accepts: "
                      f"{earliest.isoformat()} to {LATEST_DATE.isoformat()}", field=what)
    return d


def parse_date(text: str, what: str = "date", *, earliest: date = EARLIEST_DATE) -> date:
    """A calendar date written ``YYYY-MM-DD`` within the accepted range (``earliest`` to
    ``limits.LATEST_DATE``); Invalid naming ``what`` otherwise."""
    s = (text or "").strip()
    if not _DATE_RE.match(s):
        raise Invalid(f"{what} '{text}' is not a date: write YYYY-MM-DD")
    try:
        d = date.fromisoformat(s)
    except ValueError:
        raise Invalid(f"{what} '{text}' is not a real date") from None
    return check_date(d, what, earliest=earliest)


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
        raise Invalid(f"{what} '{text}' is not a date-time: write e.g. 2026-11-22T09:30 or 2026-11-22") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    check_date(value.date(), what)  # as written: far outside the range, before converting can overflow
    try:
        local = value.astimezone(zone)
    except OverflowError:  # pragma: no cover - the check above keeps two days of margin
        local = None
    if local is None or not in_range(local.date()):
        raise Invalid(f"{what} '{text}' is outside the dates crmctl accepts: "
                      f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()} ({zone.key if hasattr(zone, 'key') else zone})",
                      field=what)
    return value


def check_event_date(when: datetime, now: datetime, *, back_days: int | None, future=timedelta(minutes=5),
                     what: str = "--at") -> None:
    """Invalid when an event is dated outside the accepted range of dates or in the future (beyond the
    ``future`` tolerance); Refused when more than ``back_days`` days before ``now`` (None: any date
    in the range, an administrator's back-filling)."""
    check_date(now.date(), "now")
    check_date(when.date(), what)
    if when > now + future:
        raise Invalid(f"{what} {when:%Y-%m-%d %H:%M} is in the future (now is {now:%Y-%m-%d %H:%M})")
    if back_days is not None and when < now - timedelta(days=back_days):
        raise Refused(f"{what} {when:%Y-%m-%d %H:%M} is more than {back_days} days ago: dating events further back "
                      "is an administrator's back-filling (the policy's [permissions] backdate_days)")


def now(tz: ZoneInfo | str = "UTC", fixed: str | None = None) -> datetime:
    """The current time, aware, in ``tz``; ``fixed`` (the text of ``CRMCTL_NOW``) instead of the clock."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if fixed:
        try:
            return parse_datetime(fixed, zone, "CRMCTL_NOW").astimezone(zone)
        except Invalid as exc:
            raise Invalid(f"environment variable {exc.message}") from None
    current = datetime.now(timezone.utc).astimezone(zone)
    check_date(current.date(), "the system clock's date")
    return current


def utc_to_local_iso(tz: tzinfo):
    """A function: stored UTC time -> ISO 8601 text in ``tz`` with its offset, exactly as
    ``aware.astimezone(tz).isoformat()``.  It takes a naive UTC ``datetime`` or the database's ISO
    text of one (``"2026-11-01 02:00:00.000000"``).

    For exports of many rows: the zone's offset is worked out once per UTC hour, when the offsets at
    the start and the end of that hour agree (an hour holding a change of offset is converted
    instant by instant).  Where that offset is whole hours (Asia/Shanghai: +08:00), the local
    ``YYYY-MM-DDTHH`` of the hour is kept too, and the database's text is converted by joining
    strings: minutes, seconds and fraction do not change."""
    utc = timezone.utc
    parse = datetime.fromisoformat
    hour = timedelta(hours=1)
    offsets: dict[str, tuple[timedelta, str] | None] = {}
    local_hours: dict[str, tuple[str, str]] = {}  # UTC "YYYY-MM-DD HH" -> (local "YYYY-MM-DDTHH", offset)

    def exact(d: datetime) -> str:
        return d.replace(tzinfo=utc).astimezone(tz).isoformat()

    def convert(value) -> str:
        if type(value) is str:
            n = len(value)
            if n == 26 and value[19] == "." or n == 19:  # "YYYY-MM-DD HH:MM:SS[.ffffff]"
                known_hour = local_hours.get(value[:13])
                if known_hour is not None:
                    fraction = value[19:] if n == 26 and value[20:] != "000000" else ""
                    return known_hour[0] + value[13:19] + fraction + known_hour[1]
            text, d = value, parse(value)
        else:
            text, d = None, value
        if d.tzinfo is not None:  # already carries its offset
            return d.astimezone(tz).isoformat()
        key = text[:13] if text is not None and len(text) >= 13 else d.strftime("%Y-%m-%d %H")
        known = offsets.get(key, _UNKNOWN)
        if known is _UNKNOWN:
            start = d.replace(minute=0, second=0, microsecond=0)
            aware = start.replace(tzinfo=utc)
            first, last = aware.astimezone(tz).utcoffset(), (aware + hour).astimezone(tz).utcoffset()
            known = None
            if first == last and first is not None:
                suffix = datetime(2000, 1, 1, tzinfo=timezone(first)).isoformat()[19:]
                known = (first, suffix)
                if first % hour == timedelta(0) and text is not None:
                    local_hours[key] = ((start + first).isoformat()[:13], suffix)
            if len(offsets) > 100_000:  # bounded: a long export over many years
                offsets.clear()
                local_hours.clear()
            offsets[key] = known
        if known is None:
            return exact(d)
        return (d + known[0]).isoformat() + known[1]

    return convert


_UNKNOWN = object()
