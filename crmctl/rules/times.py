"""Reading dates and times the way users type them, and "now".

Pure apart from reading the clock: a fixed "now" (``CRMCTL_NOW``, for back-filling and tests) is
read from the environment once, by ``crmctl.settings``, and handed in.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from .errors import Invalid, Msg, Refused
from .limits import EARLIEST_DATE, LATEST_DATE
from .typed import fold

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the plain ISO date: read without folding

#: Days named relative to today (the caller's "now", in the policy's time zone).
DAY_WORDS = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "明天": 1, "明日": 1, "后天": 2}
_WORDS_LONGEST_FIRST = sorted(DAY_WORDS, key=len, reverse=True)
#: A date with the year first: 2026-11-30, 2026/11/30, 2026.11.30 (one separator throughout), 2026年11月30日.
_YMD = re.compile(r"(?P<y>[0-9]{4})(?:(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})"
                  r"|(?P<cn> ?年 ?)(?P<cm>[0-9]{1,2}) ?月 ?(?P<cd>[0-9]{1,2}) ?(?:[日号])?)")
#: A time of day after the date: 15:00, 15:00:30, 15点, 15点30(分), 15时30分, 15点半; with the part of
#: the day before it: 下午3点, 上午9:30, 晚上8点 (a 12-hour clock: 下午 / 晚上 add 12 to 1-11).
_TIME = re.compile(r"(?:(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上) ?)?"
                   r"(?P<h>[0-9]{1,2})(?::(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?"
                   r"| ?[点时](?: ?(?P<cmi>[0-9]{1,2}) ?分?|(?P<half>半))?)")
_AFTERNOON = ("下午", "傍晚", "晚上")
_DAY_FIRST = re.compile(r"[0-9]{1,2}([-/.])[0-9]{1,2}\1[0-9]{2,4}")  # 11/30/2026, 30.11.2026, 30-11-26
_NO_YEAR = re.compile(r"[0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2} ?月 ?[0-9]{1,2} ?[日号]?")  # 11/30, 11月30日
DATE_EXAMPLES = Msg("YYYY-MM-DD, e.g. 2026-11-30, or 2026年11月30日")
DATETIME_EXAMPLES = Msg("e.g. 2026-11-30 15:00, 2026年11月30日 15:00 or 2026-11-30")


def in_range(d: date, earliest: date = EARLIEST_DATE) -> bool:
    """Whether a date lies in the range crmctl accepts (``crmctl.rules.limits``)."""
    return earliest <= d <= LATEST_DATE


def check_date(d: date, what: str = Msg("date"), *, earliest: date = EARLIEST_DATE) -> date:
    """``d``, or Invalid when it is outside the range of dates crmctl accepts."""
    if not in_range(d, earliest):
        raise Invalid(Msg("{what} {d} is outside the dates crmctl accepts: {earliest} to {latest}", what=what, d=d.isoformat(), earliest=earliest.isoformat(), latest=LATEST_DATE.isoformat()), field=what)
    return d


def _unreadable(raw: str, folded: str, what: str, kind: str = "date") -> Invalid:
    """The refusal of a date (or date-time) crmctl cannot read, saying why when it can tell: the day
    and month in an order that is not certain (11/30/2026, 30/11/2026), or no year."""
    head = folded.split(" ")[0] if kind == "date-time" else folded
    examples = DATE_EXAMPLES if kind == "date" else DATETIME_EXAMPLES
    if _DAY_FIRST.fullmatch(head):
        return Invalid(Msg("{what} '{raw}' is ambiguous (which is the day, which the month?): write the year first, {examples}", what=what, raw=raw, examples=DATE_EXAMPLES), field=what)
    if _NO_YEAR.fullmatch(head):
        return Invalid(Msg("{what} '{raw}' has no year: write {examples}", what=what, raw=raw, examples=DATE_EXAMPLES), field=what)
    if folded in DAY_WORDS:
        return Invalid(Msg("{what}: '{raw}' (a day counted from today) cannot be used here: write the date, {examples}", what=what, raw=raw, examples=DATE_EXAMPLES), field=what)
    if kind == "date":
        return Invalid(Msg("{what}: cannot read '{raw}' as a date (write {examples})", what=what, raw=raw,
                           examples=examples), field=what)
    return Invalid(Msg("{what}: cannot read '{raw}' as a date-time (write {examples})", what=what, raw=raw,
                       examples=examples), field=what)


def _read_day(folded: str, raw: str, what: str, today: date | None, earliest: date) -> tuple[date, str, bool] | None:
    """The day at the start of ``folded`` and the text after it, and whether that text may follow
    without a separator (after 日, 号 or a word); None when it does not start with a day.  Invalid for a
    word without ``today``, a day that does not exist or one outside the accepted range."""
    for word in _WORDS_LONGEST_FIRST:
        if folded.startswith(word):
            if today is None:
                raise _unreadable(raw, word, what)
            return check_date(today + timedelta(days=DAY_WORDS[word]), what, earliest=earliest), folded[len(word):], True
    m = _YMD.match(folded)
    if m is None:
        return None
    year = int(m["y"])
    month, day = (int(m["m"]), int(m["d"])) if m["sep"] else (int(m["cm"]), int(m["cd"]))
    if not 1 <= year:
        raise Invalid(Msg("{what} '{raw}' is outside the dates crmctl accepts: {earliest} to {latest}", what=what, raw=raw, earliest=earliest.isoformat(), latest=LATEST_DATE.isoformat()), field=what)
    try:
        d = date(year, month, day)
    except ValueError:
        raise Invalid(Msg("{what} '{raw}' is not a real date", what=what, raw=raw), field=what) from None
    return check_date(d, what, earliest=earliest), folded[m.end():], m["cn"] is not None


def parse_date(text: str, what: str = Msg("date"), *, earliest: date = EARLIEST_DATE, today: date | None = None) -> date:
    """A calendar date within the accepted range (``earliest`` to ``limits.LATEST_DATE``), the year
    first: ``2026-11-30``, ``2026/11/30``, ``2026.11.30``, ``2026年11月30日`` (``号`` too; one-digit
    months and days; full-width forms), or, given ``today``, ``今天``/``昨天``/``前天``/``明天``/``后天``
    (today, yesterday, tomorrow).  Invalid naming ``what`` otherwise; what could be read two ways
    (``11/30/2026``, ``30/11/2026``, ``11/30``) is refused, not guessed."""
    s = (text or "").strip()
    if _DATE_RE.match(s):
        try:
            return check_date(date.fromisoformat(s), what, earliest=earliest)
        except ValueError as exc:
            if isinstance(exc, Invalid):
                raise
    folded = fold(s)
    got = _read_day(folded, text, what, today, earliest)
    if got is not None and got[1] and (got[1][0] in " T" or got[2]) and _TIME.fullmatch(got[1].lstrip(" T")):
        raise Invalid(Msg("{what} '{text}' has a time of day: give the day alone, {examples}", what=what, text=text, examples=DATE_EXAMPLES), field=what)
    if got is None or got[1]:
        raise _unreadable(text, folded, what)
    return got[0]


def _time_of_day(rest: str, raw: str, what: str) -> time | None:
    m = _TIME.fullmatch(rest)
    if m is None:
        return None
    hour = int(m["h"])
    if m["part"] and hour > 12:
        raise Invalid(Msg("{what} '{raw}': {part} goes with a 12-hour clock (下午3点, or 15:00 alone)",
                          what=what, raw=raw, part=m["part"]), field=what)
    if m["part"] in _AFTERNOON and 1 <= hour <= 11:
        hour += 12
    elif m["part"] in ("凌晨", "早上", "早晨", "上午") and hour == 12:
        hour = 0
    minute = int(m["mi"] or m["cmi"] or (30 if m["half"] else 0))
    second = int(m["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise Invalid(Msg("{what} '{raw}' is not a real time of day (00:00 to 23:59)", what=what, raw=raw), field=what)
    return time(hour, minute, second)


def parse_datetime(text: str, tz: ZoneInfo | str, what: str = Msg("time"), *, now: datetime | None = None) -> datetime:
    """A date or a date and time of day, aware; without an offset it is in ``tz``.  The date as
    :func:`parse_date` reads it (the words need ``now``), then optionally a time: ``15:00``,
    ``15:00:30``, ``15点``, ``15点30分``, ``15时30分``, ``15点半``, ``下午3点``, ``上午9:30`` (after a space or
    ``T``; after ``日`` or a word directly too: ``2026年11月30日15点``, ``昨天下午3点``); or any ISO 8601 date-time with an
    offset or fractions (``2026-11-30T15:00:00.5+08:00``).  A date alone is its midnight."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    s = (text or "").strip()
    if _DATE_RE.match(s):
        d = parse_date(s, what)
        return datetime(d.year, d.month, d.day, tzinfo=zone)
    folded = fold(s)
    today = now.astimezone(zone).date() if now is not None else None
    value = None
    got = _read_day(folded, text, what, today, EARLIEST_DATE)
    if got is not None:
        d, rest, joined = got
        if not rest:
            return datetime(d.year, d.month, d.day, tzinfo=zone)
        if rest[0] in " T" or joined:
            at = _time_of_day(rest[1:] if rest[0] in " T" else rest, text, what)
            if at is not None:
                value = datetime.combine(d, at)
    if value is None:
        iso = folded.replace(" ", "T", 1) if " " in folded and "T" not in folded else folded
        try:
            value = datetime.fromisoformat(iso)
        except ValueError:
            raise _unreadable(text, folded, what, "date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    check_date(value.date(), what)  # as written: far outside the range, before converting can overflow
    try:
        local = value.astimezone(zone)
    except OverflowError:  # pragma: no cover - the check above keeps two days of margin
        local = None
    if local is None or not in_range(local.date()):
        raise Invalid(Msg("{what} '{text}' is outside the dates crmctl accepts: {earliest} to {latest} ({timezone})", what=what, text=text, earliest=EARLIEST_DATE.isoformat(), latest=LATEST_DATE.isoformat(), timezone=zone.key if hasattr(zone, 'key') else zone),
                      field=what)
    return value


def check_event_date(when: datetime, now: datetime, *, back_days: int | None, future=timedelta(minutes=5),
                     what: str = "--at") -> None:
    """Invalid when an event is dated outside the accepted range of dates or in the future (beyond the
    ``future`` tolerance); Refused when more than ``back_days`` days before ``now`` (None: any date
    in the range, an administrator's back-filling)."""
    check_date(now.date(), Msg("now"))
    check_date(when.date(), what)
    if when > now + future:
        raise Invalid(Msg("{what} {when:%Y-%m-%d %H:%M} is in the future (now is {now:%Y-%m-%d %H:%M})", what=what, when=when, now=now))
    if back_days is not None and when < now - timedelta(days=back_days):
        raise Refused(Msg("{what} {when:%Y-%m-%d %H:%M} is more than {back_days} days ago: dating events further back is an administrator's back-filling (the policy's [permissions] backdate_days)", what=what, when=when, back_days=back_days))


def now(tz: ZoneInfo | str = "UTC", fixed: str | None = None) -> datetime:
    """The current time, aware, in ``tz``; ``fixed`` (the text of ``CRMCTL_NOW``) instead of the clock."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if fixed:
        try:
            return parse_datetime(fixed, zone, "CRMCTL_NOW").astimezone(zone)
        except Invalid as exc:
            raise Invalid(Msg("environment variable {message}", message=exc.message)) from None
    current = datetime.now(timezone.utc).astimezone(zone)
    check_date(current.date(), Msg("the system clock's date"))
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
