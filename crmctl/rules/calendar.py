"""The company calendar and deadline arithmetic.

Pure functions over dates and times.  The only outside data is the State Council holiday table
shipped with ``chinesecalendar`` (import name ``chinese_calendar``): statutory holidays and the
make-up working days (调休) that go with them.

Rules (``docs/cli.md``, "Deadline arithmetic"):

- ``N h``: clock hours, every day, every hour (elapsed time, so correct across DST too).
- ``N days`` / ``N months`` / ``N years``: calendar arithmetic on the local wall clock
  (``relativedelta``: a proposal opened 31 January with 1 month is due 28/29 February).
- ``N working days``: a start on a day that is not a working day moves to the start of the next
  working day (the start of its first business-hours window, 08:30 by default; 00:00 on a 24/7
  calendar); the deadline is the same time of day N working days later.  A start on a working day
  stays where it is, even before opening or after closing.
- ``N working hours``: only the business-hours windows of working days count (lunch breaks
  included); a start inside a window counts from there, before a window jumps to its start, after
  the last window moves to the first window of the next working day.  A deadline that uses up a
  window exactly is that window's end (17:30, not 08:30 the next working day).

Which days work:

- ``base="china"``: in a year the library covers, its statutory holidays are off and its make-up
  working days are on; the other days follow ``weekend`` (Saturday and Sunday by default, which is
  exactly the library's own rule).  In a year the library does not cover (before its first or
  after its last year of data) a schedule loaded from the State Council's notice (``calendar
  set-year``) decides, else crmctl's estimate for the year (``china_estimates``, by the 2025 holiday
  rules; it yields to the library as soon as the library covers the year), else only ``weekend``;
  the program warns once per estimated or uncovered year (``fallback_warnings()``).
- ``base="none"``: every day is a working day and business hours are the whole day (24/7).
- In every year and for both bases the policy's own ``extra_holidays`` are off and its
  ``extra_workdays`` are on; they override everything else.

All inputs may be aware (any zone) or naive (taken as the calendar's zone); results are aware
datetimes in the calendar's zone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from crmctl.rules.durations import Duration, check_amount, duration_text, parse_duration
from crmctl.rules.errors import Invalid, Msg

try:  # a declared dependency; without it every year is a fallback year
    import chinese_calendar as _cc

    _LIB_HOLIDAYS: Mapping[date, str] = dict(_cc.holidays)
    _LIB_WORKDAYS: Mapping[date, str] = dict(_cc.workdays)
except ImportError:  # pragma: no cover - exercised only without the dependency
    _LIB_HOLIDAYS = {}
    _LIB_WORKDAYS = {}

#: first and last year of the holiday library's data, read from the data itself (None: no data)
COVERED_YEARS: tuple[int, int] | None = (
    (min(d.year for d in _LIB_HOLIDAYS), max(d.year for d in _LIB_HOLIDAYS)) if _LIB_HOLIDAYS else None
)

#: how far ahead to look for a working day before deciding the calendar has none
MAX_SCAN_DAYS = 3660

#: called once per uncovered year, the first time this process uses that year (the CLI prints a
#: warning to stderr); ``fallback_warnings()`` keeps the messages either way
on_fallback: Callable[[int], None] | None = None

_fallback_lock = threading.Lock()
_fallback_years: dict[int, str] = {}  # year -> message, in the order they were first hit


def N_(message: str) -> str:
    """Marks a message for the Chinese catalogue (as ``crmctl.i18n.N_``; the rules layer imports
    nothing of crmctl but rules and errors): the caller's translator (``tr``) translates it."""
    return message


def _same(message: str) -> str:
    return message


_DAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))

#: the holiday library's (English) names -> the Chinese ones, for showing a day in Chinese; the
#: names themselves (JSON, CSV, the database) stay the library's
HOLIDAY_NAMES_ZH: Mapping[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
    # crmctl's own names of the policy's days
    "company holiday": "公司假日",
    "company working day": "公司调休上班日",
}


def holiday_name(name: str | None, chinese: bool) -> str | None:
    """A day's name as shown: the Chinese one in Chinese (names not in the table, such as the
    Chinese names of estimates and loaded schedules, unchanged), else the name itself."""
    if name is None or not chinese:
        return name
    return HOLIDAY_NAMES_ZH.get(name, name)


def weekday_name(d: date, tr: Callable[[str], str] = _same) -> str:
    """``Mon`` … ``Sun`` (``tr``: the caller's translator, e.g. ``crmctl.i18n._``: 周一 … 周日)."""
    return tr(_DAY_NAMES[d.weekday()])


class _Steps(list):
    """The steps of ``explain``: a list of lines, with the translator and whether names are Chinese."""

    def __init__(self, tr: Callable[[str], str] | None = None, chinese: bool = False) -> None:
        super().__init__()
        self.tr = tr or _same
        self.chinese = chinese

_WEEKDAY_WORDS = {
    **{name.lower(): i + 1 for i, name in enumerate(_DAY_NAMES)},
    **{
        name: i + 1
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
_DAY = timedelta(days=1)
_UNITS = ("hours", "working_days", "working_hours", "days", "months", "years")

DEFAULT_BUSINESS_HOURS: tuple[tuple[time, time], ...] = (
    (time(8, 30), time(12, 0)),
    (time(13, 30), time(17, 30)),
)


@dataclass(frozen=True)
class DayInfo:
    date: date
    working: bool
    kind: str  # workday | weekend | holiday | makeup_workday
    name: str | None  # the holiday's name (library: English, e.g. "National Day"), else None
    source: str  # library | loaded | estimate | policy | fallback


@dataclass(frozen=True)
class YearTable:
    """One year's holidays and make-up working days for a year the holiday library does not cover:
    an ``estimate`` (``crmctl.rules.china_estimates``) or a schedule ``loaded`` from the State
    Council's notice (``crmctl calendar set-year``).  Names are the Chinese ones."""

    year: int
    holidays: Mapping[date, str]
    workdays: Mapping[date, str]
    source: str = "estimate"  # estimate | loaded
    origin: str | None = None  # where a loaded schedule came from (a file name)

    def __post_init__(self) -> None:
        for what, days in (("holidays", self.holidays), ("workdays", self.workdays)):
            stray = sorted(d for d in days if d.year != self.year)
            if stray:
                raise Invalid(Msg("{what}: {day} is not in {year}", what=what, day=stray[0].isoformat(), year=self.year))
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise Invalid(Msg("{day} is both a holiday and a make-up working day", day=min(both).isoformat()))


def estimated_years() -> dict[int, YearTable]:
    """crmctl's estimates for the years no package has official data for yet."""
    from .china_estimates import ESTIMATES

    return {y: YearTable(y, dict(h), dict(w), "estimate", "crmctl estimate") for y, (h, w) in ESTIMATES.items()}


# --------------------------------------------------------------------------- fallback warnings


def fallback_warnings() -> list[str]:
    """One message per year that fell back to weekends plus the policy's holidays in this process."""
    with _fallback_lock:
        return list(_fallback_years.values())


def reset_fallback_warnings() -> None:
    """Forget which years have warned (for tests and long-running processes)."""
    with _fallback_lock:
        _fallback_years.clear()


def _note_estimate(year: int) -> None:
    with _fallback_lock:
        if year in _fallback_years:
            return
        data = (f"the installed chinesecalendar has data up to {COVERED_YEARS[1]}" if COVERED_YEARS
                else "chinesecalendar is not installed")
        _fallback_years[year] = (
            f"{year}: holidays and make-up working days are crmctl's estimate by the 2025 holiday rules, "
            f"not the official schedule ({data}): load it with 'crmctl calendar set-year {year} FILE' "
            "once the State Council publishes it"
        )


def _note_fallback(year: int) -> None:
    with _fallback_lock:
        if year in _fallback_years:
            return
        if COVERED_YEARS:
            data = f"the installed chinesecalendar has data for {COVERED_YEARS[0]}–{COVERED_YEARS[1]}"
        else:
            data = "chinesecalendar is not installed"
        _fallback_years[year] = (
            f"no official holiday data for {year} ({data}): {year} counts weekends and the "
            f"policy's own holidays only; upgrade chinesecalendar or list the holidays in the policy"
        )
    hook = on_fallback
    if hook is not None:
        hook(year)


# --------------------------------------------------------------------------- value parsing


def _as_date(value, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(Msg("{what}: '{value}' is not a date (write YYYY-MM-DD)", what=what, value=value))


def _as_weekday(value) -> int:
    if isinstance(value, bool):
        raise Invalid(Msg("weekend: '{value}' is not a weekday", value=value))
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    elif isinstance(value, str) and value.strip().lower() in _WEEKDAY_WORDS:
        return _WEEKDAY_WORDS[value.strip().lower()]
    else:
        raise Invalid(Msg("weekend: '{value}' is not a weekday (use 1-7, Monday = 1, or Mon…Sun)", value=value))
    if not 1 <= n <= 7:
        raise Invalid(Msg("weekend: {n} is not an ISO weekday (1 = Monday … 7 = Sunday)", n=n))
    return n


def _parse_clock_time(text: str, what: str) -> time:
    text = text.strip()
    if text == "24:00":
        return time(0, 0)  # end of the day (see _window_offsets)
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise Invalid(Msg("{what}: '{text}' is not a time of day (write HH:MM)", what=what, text=text)) from None


def _as_window(value) -> tuple[time, time]:
    if isinstance(value, str):
        text = value.replace("–", "-").replace("—", "-").replace("~", "-")
        parts = text.split("-")
        if len(parts) != 2:
            raise Invalid(Msg("business_hours: '{value}' is not a window (write HH:MM-HH:MM)", value=value))
        return (
            _parse_clock_time(parts[0], "business_hours"),
            _parse_clock_time(parts[1], "business_hours"),
        )
    try:
        start, end = value
    except (TypeError, ValueError):
        raise Invalid(Msg("business_hours: {value!r} is not a window (write HH:MM-HH:MM)", value=value)) from None
    start = start if isinstance(start, time) else _parse_clock_time(str(start), "business_hours")
    end = end if isinstance(end, time) else _parse_clock_time(str(end), "business_hours")
    return (start, end)


def _window_offsets(windows: tuple[tuple[time, time], ...]) -> tuple[tuple[timedelta, timedelta], ...]:
    """Windows as offsets from midnight; an end of 00:00 means 24:00; no windows = the whole day."""
    if not windows:
        return ((timedelta(0), _DAY),)
    out: list[tuple[timedelta, timedelta]] = []
    for start, end in windows:
        s = timedelta(hours=start.hour, minutes=start.minute, seconds=start.second,
                      microseconds=start.microsecond)
        e = timedelta(hours=end.hour, minutes=end.minute, seconds=end.second,
                      microseconds=end.microsecond)
        if e == timedelta(0):
            e = _DAY
        label = f"{start:%H:%M}-{end:%H:%M}"
        if e <= s:
            raise Invalid(Msg("business_hours: window {label} ends before it starts", label=label))
        if out and s < out[-1][1]:
            raise Invalid(Msg("business_hours: window {label} overlaps or precedes the window before it", label=label))
        out.append((s, e))
    return tuple(out)


def _fmt_hours(td: timedelta, tr: Callable[[str], str] = _same) -> str:
    hours = td.total_seconds() / 3600
    text = f"{hours:.4f}".rstrip("0").rstrip(".")
    return tr(N_("{hours} h")).format(hours=text)


_DURATION_WORDS = {
    "hours": N_("{n} h"), "working_days": N_("{n} working days"), "working_hours": N_("{n} working hours"),
    "days": N_("{n} days"), "months": N_("{n} months"), "years": N_("{n} years"),
}


def _fmt_duration(dur: Duration, tr: Callable[[str], str] = _same) -> str:
    """``str(dur)`` (``3 working days``, ``1 month``), or its translation (``3 个工作日``)."""
    template = _DURATION_WORDS.get(dur.unit)
    if template is None or tr(template) == template:
        return str(dur)
    n = int(dur.amount) if float(dur.amount).is_integer() else dur.amount
    return tr(template).format(n=n)


def _fmt_day(d: date, tr: Callable[[str], str] = _same) -> str:
    return f"{weekday_name(d, tr)} {d.isoformat()}"


def _fmt_dt(t: datetime, tr: Callable[[str], str] = _same) -> str:
    text = f"{weekday_name(t, tr)} {t:%Y-%m-%d %H:%M}"
    if t.second or t.microsecond:
        text += f":{t:%S}"
    return text


def _describe(info: DayInfo, tr: Callable[[str], str] = _same, chinese: bool = False) -> str:
    name = holiday_name(info.name, chinese)
    if info.kind == "holiday":
        what = tr(N_("holiday ({name})")).format(name=name) if name else tr(N_("holiday"))
    elif info.kind == "makeup_workday":
        what = tr(N_("make-up working day ({name})")).format(name=name) if name else tr(N_("make-up working day"))
    elif info.kind == "weekend":
        what = tr(N_("weekend"))
    elif info.kind == "workday":
        what = tr(N_("workday"))
    else:
        what = info.kind
    if info.source == "policy":
        what = tr(N_("{day}, policy")).format(day=what)
    elif info.source == "fallback":
        what = tr(N_("{day}, no official holiday data for this year")).format(day=what)
    elif info.source == "estimate":
        what = tr(N_("{day}, estimate")).format(day=what)
    elif info.source == "loaded":
        what = tr(N_("{day}, loaded schedule")).format(day=what)
    return what


# --------------------------------------------------------------------------- the calendar


@dataclass(frozen=True)
class CompanyCalendar:
    timezone: str = "Asia/Shanghai"
    base: str = "china"  # china: statutory holidays + make-up days; none: every day works, 24/7
    weekend: tuple[int, ...] = (6, 7)  # ISO weekdays off on days the holiday data does not name
    business_hours: tuple[tuple[time, time], ...] = DEFAULT_BUSINESS_HOURS  # () = the whole day
    extra_holidays: frozenset[date] = frozenset()  # the policy's own days off, every year
    extra_workdays: frozenset[date] = frozenset()  # the policy's own make-up working days
    #: years the library does not cover: an estimate or a loaded official schedule (china base)
    years: Mapping[int, YearTable] = field(default_factory=dict, compare=False)

    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _windows: tuple[tuple[timedelta, timedelta], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise Invalid(Msg("timezone: '{timezone}' is not a known time zone", timezone=self.timezone)) from None
        if self.base not in ("china", "none"):
            raise Invalid(Msg("base: '{base}' is not a calendar base (use china or none)", base=self.base))
        weekend = tuple(sorted({_as_weekday(w) for w in (self.weekend or ())}))
        windows = tuple(_as_window(w) for w in (self.business_hours or ()))
        holidays = frozenset(_as_date(d, "extra_holidays") for d in (self.extra_holidays or ()))
        workdays = frozenset(_as_date(d, "extra_workdays") for d in (self.extra_workdays or ()))
        both = holidays & workdays
        if both:
            raise Invalid(
                Msg("{day} is in both extra_holidays and extra_workdays", day=min(both).isoformat())
            )
        offsets = ((timedelta(0), _DAY),) if self.base == "none" else _window_offsets(windows)
        object.__setattr__(self, "weekend", weekend)
        object.__setattr__(self, "business_hours", windows)
        object.__setattr__(self, "extra_holidays", holidays)
        object.__setattr__(self, "extra_workdays", workdays)
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_windows", offsets)

    # ---- days

    def covered(self, year: int) -> bool:
        """Whether the holiday library has official data (holidays and make-up days) for ``year``."""
        return COVERED_YEARS is not None and COVERED_YEARS[0] <= year <= COVERED_YEARS[1]

    def day_info(self, d: date) -> DayInfo:
        d = self._local_date(d)
        if d in self.extra_holidays:
            base = self._base_info(d)
            if base.kind == "holiday":
                return base
            return DayInfo(d, False, "holiday", "company holiday", "policy")
        if d in self.extra_workdays:
            base = self._base_info(d)
            if base.working:
                return base
            return DayInfo(d, True, "makeup_workday", base.name or "company working day", "policy")
        return self._base_info(d)

    def _base_info(self, d: date) -> DayInfo:
        if self.base == "none":
            return DayInfo(d, True, "workday", None, "policy")
        off = d.isoweekday() in self.weekend
        if not self.covered(d.year):
            table = self.years.get(d.year)
            if table is None:
                _note_fallback(d.year)
                return DayInfo(d, not off, "weekend" if off else "workday", None, "fallback")
            if table.source == "estimate":
                _note_estimate(d.year)
            if d in table.workdays:
                return DayInfo(d, True, "makeup_workday", table.workdays[d], table.source)
            if d in table.holidays:
                return DayInfo(d, False, "holiday", table.holidays[d], table.source)
            return DayInfo(d, not off, "weekend" if off else "workday", None, table.source)
        if d in _LIB_WORKDAYS:
            return DayInfo(d, True, "makeup_workday", _LIB_WORKDAYS[d], "library")
        if d in _LIB_HOLIDAYS:
            return DayInfo(d, False, "holiday", _LIB_HOLIDAYS[d], "library")
        # ordinary day: the library's rule is Saturday/Sunday off; a policy weekend may differ
        source = "library" if off == (d.isoweekday() >= 6) else "policy"
        return DayInfo(d, not off, "weekend" if off else "workday", None, source)

    def is_working_day(self, d: date) -> bool:
        return self.day_info(d).working

    def month(self, year: int, month: int) -> list[DayInfo]:
        first = date(year, month, 1)
        nxt = first + relativedelta(months=1)
        return [self.day_info(first + timedelta(days=i)) for i in range((nxt - first).days)]

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b`` (negative when ``b`` is before ``a``).

        So a deadline N working days after a start on a working day is N working days after it.
        """
        a, b = self._local_date(a), self._local_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        d = a
        while d < b:
            d += _DAY
            if self.is_working_day(d):
                count += 1
        return count

    def _next_working_date(self, d: date, *, inclusive: bool, skipped: list[DayInfo] | None = None) -> date:
        """The first working day on (``inclusive``) or after ``d``; ValueError if none within ~10 years."""
        if not inclusive:
            d = self._step(d)
        for _ in range(MAX_SCAN_DAYS):
            info = self.day_info(d)
            if info.working:
                return d
            if skipped is not None:
                skipped.append(info)
            d = self._step(d)
        raise Invalid(
            Msg("the company calendar has no working day in the {days} days from {since}: check its weekend and holidays", days=MAX_SCAN_DAYS, since=d - MAX_SCAN_DAYS * _DAY)
        )

    @staticmethod
    def _step(d: date) -> date:
        try:
            return d + _DAY
        except OverflowError:
            raise Invalid(Msg("a deadline past the year 9999 cannot be computed")) from None

    # ---- times

    def _local(self, t: datetime) -> datetime:
        """``t`` as a naive wall-clock time in the calendar's zone."""
        if not isinstance(t, datetime):
            if isinstance(t, date):
                return datetime.combine(t, time())
            raise Invalid(Msg("'{t}' is not a date-time", t=t))
        if t.tzinfo is not None and t.utcoffset() is not None:
            t = t.astimezone(self._tz)
        return t.replace(tzinfo=None)

    def _local_date(self, d: date) -> date:
        if isinstance(d, datetime):
            return self._local(d).date()
        if isinstance(d, date):
            return d
        if isinstance(d, str):
            return _as_date(d, "date")
        raise Invalid(Msg("'{d}' is not a date", d=d))

    def _aware(self, local: datetime) -> datetime:
        """Attach the calendar's zone to a wall-clock time; a time skipped by DST moves forward."""
        aware = local.replace(tzinfo=self._tz)
        return aware.astimezone(dt_timezone.utc).astimezone(self._tz)

    def _day_start(self, d: date) -> datetime:
        return datetime.combine(d, time()) + self._windows[0][0]

    def next_working_day_start(self, t: datetime) -> datetime:
        """Where the working-days clock starts for an event at ``t``.

        ``t`` itself (in the calendar's zone) when it falls on a working day, whatever the hour;
        otherwise the start of the next working day: the start of its first business-hours window
        (08:30 by default), 00:00 on a 24/7 calendar.
        """
        local = self._local(t)
        if self.is_working_day(local.date()):
            return self._aware(local)
        return self._aware(self._day_start(self._next_working_date(local.date(), inclusive=False)))

    def add(self, start: datetime, duration: Duration | str, *, clock: str | None = None) -> datetime:
        """The deadline: ``duration`` after ``start`` on this calendar.

        ``duration`` is a ``Duration``, text (``"3 working days"``) or, with ``clock``, a number.
        ``clock`` names the unit to count in (``"working hours"``, ``"h"``, ``"working_days"`` …)
        and overrides the duration's own unit.
        """
        return self._deadline(start, duration, clock, None)

    def explain(self, start: datetime, duration, *, clock: str | None = None,
                tr: Callable[[str], str] | None = None, chinese: bool = False) -> list[str]:
        """The steps that make the deadline, in words (for ``crmctl calendar due``).

        ``tr`` translates the words (``crmctl.i18n._``; default: English) and ``chinese`` shows the
        holiday library's names in Chinese (:data:`HOLIDAY_NAMES_ZH`).
        """
        steps = _Steps(tr, chinese)
        self._deadline(start, duration, clock, steps)
        return list(steps)

    # ---- arithmetic

    def _deadline(self, start: datetime, duration, clock: str | None, steps: _Steps | None) -> datetime:
        try:
            return self._compute(start, duration, clock, steps)
        except OverflowError:
            raise Invalid(Msg("a deadline {duration} after {start} is out of the supported range", duration=duration, start=start)) from None

    def _compute(self, start: datetime, duration, clock: str | None, steps: _Steps | None) -> datetime:
        dur = _as_duration(duration, clock)
        local = self._local(start)
        if steps is not None:
            tr = steps.tr
            steps.append(tr(N_("start: {when} ({timezone}), {day}")).format(
                when=_fmt_dt(local, tr), timezone=self.timezone,
                day=_describe(self.day_info(local.date()), tr, steps.chinese)))
            steps.append(tr(N_("duration: {duration}")).format(duration=_fmt_duration(dur, tr)))
        unit, amount = dur.unit, dur.amount
        if unit == "hours":
            aware_start = (start if isinstance(start, datetime) and start.utcoffset() is not None
                           else self._aware(local))
            utc = aware_start.astimezone(dt_timezone.utc)
            result = (utc + timedelta(hours=amount)).astimezone(self._tz)
            if steps is not None:
                steps.append(steps.tr(N_("+{hours} of clock time: every hour counts, holidays and nights included"))
                             .format(hours=_fmt_hours(timedelta(hours=amount), steps.tr)))
        elif unit in ("days", "months", "years"):
            n = int(amount)
            delta = {"days": relativedelta(days=n), "months": relativedelta(months=n),
                     "years": relativedelta(years=n)}[unit]
            try:
                result = self._aware(local + delta)
            except (OverflowError, ValueError):
                raise Invalid(Msg("{dur} after {local:%Y-%m-%d} is past the year 9999", dur=duration_text(dur), local=local)) from None
            if steps is not None:
                steps.append(steps.tr(N_("+{duration} on the wall calendar (holidays count; a month ending early "
                                         "keeps its last day)")).format(duration=_fmt_duration(dur, steps.tr)))
        elif unit == "working_days":
            result = self._aware(self._add_working_days(local, int(amount), steps))
        else:
            result = self._aware(self._add_working_hours(local, timedelta(hours=amount), steps))
        if steps is not None:
            steps.append(steps.tr(N_("due: {when} ({iso})")).format(when=_fmt_dt(result, steps.tr),
                                                                   iso=result.isoformat()))
        return result

    def _skip_steps(self, skipped: list[DayInfo] | None, steps: _Steps | None) -> None:
        """Group consecutive skipped days of the same kind and name into one line each."""
        if steps is None or not skipped:
            return
        runs: list[list[DayInfo]] = []
        for info in skipped:
            last = runs[-1][-1] if runs else None
            if (last is not None and info.date == last.date + _DAY and
                    (info.kind, info.name, info.source) == (last.kind, last.name, last.source)):
                runs[-1].append(info)
            else:
                runs.append([info])
        tr = steps.tr
        for run in runs:
            span = (_fmt_day(run[0].date, tr) if len(run) == 1
                    else f"{_fmt_day(run[0].date, tr)} – {_fmt_day(run[-1].date, tr)}")
            steps.append(tr(N_("skip {days}: {day}")).format(days=span, day=_describe(run[0], tr, steps.chinese)))
        skipped.clear()

    def _add_working_days(self, local: datetime, n: int, steps: _Steps | None) -> datetime:
        skipped: list[DayInfo] | None = [] if steps is not None else None
        d = local.date()
        if not self.is_working_day(d):
            d = self._next_working_date(d, inclusive=True, skipped=skipped)
            self._skip_steps(skipped, steps)
            local = self._day_start(d)
            if steps is not None:
                steps.append(steps.tr(N_("not a working day: the clock starts at {when}, "
                                         "the start of the next working day")).format(when=_fmt_dt(local, steps.tr)))
        for i in range(1, n + 1):
            d = self._next_working_date(d, inclusive=False, skipped=skipped)
            self._skip_steps(skipped, steps)
            if steps is not None:
                steps.append(steps.tr(N_("working day {n}: {date}, {day}")).format(
                    n=i, date=_fmt_day(d, steps.tr), day=_describe(self.day_info(d), steps.tr, steps.chinese)))
        if steps is not None and n:
            steps.append(steps.tr(N_("same time of day as the start: {time}")).format(time=f"{local:%H:%M}"))
        return datetime.combine(d, local.time())

    def _add_working_hours(self, local: datetime, remaining: timedelta, steps: _Steps | None) -> datetime:
        skipped: list[DayInfo] | None = [] if steps is not None else None
        t = local
        d = t.date()
        if not self.is_working_day(d):
            d = self._next_working_date(d, inclusive=True, skipped=skipped)
            t = datetime.combine(d, time())
        while True:
            midnight = datetime.combine(d, time())
            for ws_off, we_off in self._windows:
                ws, we = midnight + ws_off, midnight + we_off
                if t >= we:
                    continue
                s = max(t, ws)
                available = we - s
                if remaining <= available:
                    end = s + remaining
                    if steps is not None:
                        self._skip_steps(skipped, steps)
                        steps.append(steps.tr(N_("{date} {start}–{end}: {hours}, done")).format(
                            date=_fmt_day(d, steps.tr), start=f"{s:%H:%M}", end=f"{end:%H:%M}",
                            hours=_fmt_hours(remaining, steps.tr)))
                    return end
                remaining -= available
                t = we
                if steps is not None:
                    self._skip_steps(skipped, steps)
                    steps.append(steps.tr(N_("{date} {start}–{end}: {hours} ({left} left)")).format(
                        date=_fmt_day(d, steps.tr), start=f"{s:%H:%M}", end=_end_label(we_off),
                        hours=_fmt_hours(available, steps.tr), left=_fmt_hours(remaining, steps.tr)))
            d = self._next_working_date(d, inclusive=False, skipped=skipped)
            t = datetime.combine(d, time())


def _end_label(offset: timedelta) -> str:
    if offset >= _DAY:
        return "24:00"
    minutes = int(offset.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _as_duration(duration, clock: str | None) -> Duration:
    unit = None
    if clock is not None:
        clock_text = str(clock).strip()
        if clock_text in _UNITS:
            unit = clock_text
        else:
            try:
                unit = parse_duration(f"1 {clock_text}").unit
            except ValueError:
                raise Invalid(
                    Msg("clock '{clock}' is not a unit: use h, working days, working hours, days, months or years", clock=clock)
                ) from None
    if isinstance(duration, Duration):
        dur = duration
    elif isinstance(duration, str):
        text = duration.strip()
        if unit is not None and text.replace(".", "", 1).isdigit():
            dur = Duration(float(text), unit)
        else:
            dur = parse_duration(text)
    elif isinstance(duration, (int, float)) and not isinstance(duration, bool):
        if unit is None:
            raise Invalid(Msg("a bare number {duration} needs a clock (h, working days, working hours …)", duration=duration))
        dur = Duration(float(duration), unit)
    else:
        raise Invalid(Msg("{duration!r} is not a duration: write e.g. '24 h' or '3 working days'", duration=duration))
    if unit is not None and dur.unit != unit:
        dur = Duration(dur.amount, unit)
    if dur.unit not in _UNITS:
        raise Invalid(Msg("unknown duration unit '{unit}'", unit=dur.unit))
    if dur.amount < 0:
        raise Invalid(Msg("'{dur}': a duration cannot be negative", dur=duration_text(dur)))
    check_amount(dur.amount, dur.unit, "a duration of")
    if dur.unit in ("working_days", "days", "months", "years") and not float(dur.amount).is_integer():
        raise Invalid(Msg("'{dur}': {unit} must be a whole number", dur=dur, unit=dur.unit.replace('_', ' ')))
    return dur


# --------------------------------------------------------------------------- from a policy


def _get(cal, name: str):
    if cal is None:
        return None
    if isinstance(cal, Mapping):
        return cal.get(name)
    return getattr(cal, name, None)


def _as_list(value, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def calendar_from_policy(cal, timezone: str | None = None, loaded: Mapping[int, YearTable] | None = None) -> CompanyCalendar:
    """A ``CompanyCalendar`` from a policy's calendar section.

    ``cal`` is any object (or mapping) with some of ``timezone``, ``base``, ``weekend``,
    ``business_hours`` (``["08:30-12:00", "13:30-17:30"]``; an empty list means the whole day),
    ``extra_holidays`` and ``extra_workdays`` (dates or ISO strings); missing or None values take
    the defaults.  Years the library does not cover take the ``loaded`` schedules, else crmctl's
    estimates (:func:`estimated_years`).  ``timezone``, when given, wins over ``cal.timezone``.  Bad values raise
    ``ValueError`` naming the field.
    """
    kwargs: dict = {}
    tz = timezone or _get(cal, "timezone")
    if tz:
        kwargs["timezone"] = str(tz)
    base = _get(cal, "base")
    if base:
        kwargs["base"] = str(base).strip().lower()
    weekend = _get(cal, "weekend")
    if weekend is not None:
        kwargs["weekend"] = tuple(_as_weekday(w) for w in _as_list(weekend, "weekend"))
    hours = _get(cal, "business_hours")
    if hours is not None:
        kwargs["business_hours"] = tuple(_as_window(w) for w in _as_list(hours, "business_hours"))
    for name in ("extra_holidays", "extra_workdays"):
        value = _get(cal, name)
        if value is not None:
            kwargs[name] = frozenset(_as_date(d, name) for d in _as_list(value, name))
    # official data first: the library (checked per day), then a loaded schedule, then the estimate
    kwargs["years"] = {**estimated_years(), **(loaded or {})}
    return CompanyCalendar(**kwargs)


__all__ = [
    "COVERED_YEARS",
    "CompanyCalendar",
    "DayInfo",
    "HOLIDAY_NAMES_ZH",
    "YearTable",
    "calendar_from_policy",
    "estimated_years",
    "fallback_warnings",
    "holiday_name",
    "on_fallback",
    "reset_fallback_warnings",
    "weekday_name",
]
