"""Cadences: which relationship activities (visits, calls, inspections, greetings …) are due in a month.

Pure functions over the policy's ``[activities]`` section and plain values; no I/O, no database.
The service (``crmctl.services.activities.plan_visits``) feeds customers in chunks and writes what
:class:`MonthPlanner` returns.

How a cadence ``{kind, when, times, per, every, scope, owner, counts}`` becomes due dates:

* **Which cadence.**  Per activity kind, of the cadences whose ``when`` matches the customer, the
  most frequent applies (:func:`strictest`: where several classes or flags apply, the strictest
  rhythm wins; equal rates, the first listed).  A condition without ``status`` selects only
  ``active`` customers; a condition naming statuses selects exactly those.
* **Slots (``per = "week"`` or ``"month"`` with ``every = 1``).**  Every period of the month gets
  ``times`` slots.  Month: the month's days cut into ``times`` equal parts (two a month = days 1–15
  and 16–end).  Week: one slot per ISO week whose Thursday falls in the month (so each week belongs
  to exactly one month), limited to that week's days inside the month, cut into ``times`` parts.  A
  slot is already covered when an activity of the kind — or of a kind in ``counts`` — was done in
  it (for weeks: anywhere in that ISO week).  The due date is a working day inside the slot,
  chosen from the customer id so that a keeper's work spreads over the slot instead of piling up
  on one day.
* **Intervals (everything longer: quarter, half-year, year, or ``every > 1``).**  The interval is
  ``every × per / times`` (a quarterly visit: 3 months; twice a year: 6 months; every two years:
  24 months).  The activity is due in the month when the last *done* activity of the kind (or of
  a kind in ``counts``) plus the interval falls on or before the month's last day, or when none was
  ever done.  The due date is ``last done + interval`` (moved to a working day in the month) when
  that falls inside the month; an overdue or never-done activity gets a spread working day of the
  month.  A planned activity that was missed is therefore planned again the next month.
* **Company scope** (a yearly symposium or survey): one activity for the whole company per period
  of ``per`` (``every`` periods aligned on multiples of ``every``: every two years = even years),
  ``times`` windows per period, each due on the window's last working day and planned by the
  first ``visit plan`` of a month that overlaps the window.  Owned by the cadence's role.  A window
  is covered by a company-wide activity of the kind done in it.
* **Greetings** (``[activities.greetings]``): one per matching customer and holiday whose date
  (minus ``days_before``) falls in the month; covered by a greeting done in the seven days up to
  the holiday.  Holiday dates: see :func:`holiday_date`.
* **Document notices** (``[documents.X] notice_kind``): an activity of that kind ``renew_notice``
  (calendar time: "1 month" before 31 July is 30 June) or ``renew_notice_days`` before the document
  expires (manufacturer 五.19: a maintenance contract's expiry notice one month before its end).

Every due item carries an idempotency key (``<customer id>:<kind>:<slot>``) that the database keeps
unique, so planning a month twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from .errors import Invalid, Msg
from .periods import Period, parse_label

UNIT_MONTHS = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}
GREETING_WINDOW_DAYS = 7  # a greeting done up to this many days before the holiday covers it
_DAY = timedelta(days=1)

# --------------------------------------------------------------------------------------------------
# Holiday dates
# --------------------------------------------------------------------------------------------------

# year: MMDD of 春节 (lunar 1/1), 清明 (solar term), 端午 (lunar 5/5), 中秋 (lunar 8/15).  Computed
# once from the Chinese lunisolar calendar (and 清明 from chinesecalendar's solar terms); the tests
# check every covered year against chinesecalendar's statutory holiday blocks.
_TABLE = (
    "2000:0205040406060912 2001:0124040506251001 2002:0212040506150921 2003:0201040506040911 2004:0122040406220928 "
    "2005:0209040506110918 2006:0129040505311006 2007:0218040506190925 2008:0207040406080914 2009:0126040405281003 "
    "2010:0214040506160922 2011:0203040506060912 2012:0123040406230930 2013:0210040406120919 2014:0131040506020908 "
    "2015:0219040506200927 2016:0208040406090915 2017:0128040405301004 2018:0216040506180924 2019:0205040506070913 "
    "2020:0125040406251001 2021:0212040406140921 2022:0201040506030910 2023:0122040506220929 2024:0210040406100917 "
    "2025:0129040405311006 2026:0217040506190925 2027:0206040506090915 2028:0126040405281003 2029:0213040406160922 "
    "2030:0203040506050912 2031:0123040506241001 2032:0211040406120919 2033:0131040406010908 2034:0219040506200927 "
    "2035:0208040506100916 2036:0128040405301004 2037:0215040406180924 2038:0204040506070913 2039:0124040505271002 "
    "2040:0212040406140920 2041:0201040406030910 2042:0122040406220928 2043:0210040506110917 2044:0130040405311005 "
    "2045:0217040406190925 2046:0206040406080915 2047:0126040505291004 2048:0214040406150922 2049:0202040406040911 "
    "2050:0123040406230930 2051:0211040506130919 2052:0201040406010907 2053:0219040406200926 2054:0208040406100916 "
    "2055:0128040505301005 2056:0215040406170924 2057:0204040406060913 2058:0124040406251002 2059:0212040506140921 "
    "2060:0202040406030909"
)
_MOVABLE: dict[int, tuple[date, date, date, date]] = {}
for _item in _TABLE.split():
    _y, _v = _item.split(":")
    _MOVABLE[int(_y)] = tuple(date(int(_y), int(_v[i:i + 2]), int(_v[i + 2:i + 4])) for i in range(0, 16, 4))  # type: ignore[assignment]
TABLE_YEARS = (min(_MOVABLE), max(_MOVABLE))

_FIXED = {"new_year": (1, 1), "labour_day": (5, 1), "national_day": (10, 1)}
_MOVABLE_INDEX = {"spring_festival": 0, "qingming": 1, "dragon_boat": 2, "mid_autumn": 3}
#: chinesecalendar's English names of the statutory holidays, for years beyond the table
LIBRARY_NAMES = {
    "new_year": "New Year's Day",
    "spring_festival": "Spring Festival",
    "qingming": "Tomb-sweeping Day",
    "labour_day": "Labour Day",
    "dragon_boat": "Dragon Boat Festival",
    "mid_autumn": "Mid-autumn Festival",
    "national_day": "National Day",
}


def missed_before(today: date) -> date:
    """A planned activity due before this day -- the first of the current month -- was missed: its
    month is over and it was not done.  (``activity_status`` in Python; listings and reports compare
    the due date with this day in SQL.)"""
    return date(today.year, today.month, 1)


def activity_status(status: str, due: date, today: date) -> str:
    """``done``, ``missed`` (planned, and its month is over) or ``planned``."""
    if status == "done":
        return "done"
    return "missed" if due < missed_before(today) else "planned"


def _library_block_start(code: str, year: int) -> date | None:
    name = LIBRARY_NAMES.get(code)
    if name is None:
        return None
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    days = [d for d, n in chinese_calendar.holidays.items() if d.year == year and n == name]
    return min(days) if days else None


def holiday_date(code: str, year: int) -> date | None:
    """The day of a greeting holiday in ``year``, or None when it cannot be dated.

    ``new_year``, ``labour_day``, ``national_day``: 1 January, 1 May, 1 October.  ``spring_festival``
    (lunar 1/1), ``lantern`` (lunar 1/15), ``dragon_boat`` (5/5), ``mid_autumn`` (8/15) and
    ``qingming`` (the solar term) come from a table of the years 2000–2060.  Outside the table the
    first day of chinesecalendar's statutory holiday of that name is used where the library covers
    the year (the lantern festival has no statutory holiday); otherwise None, and the planner
    reports the holiday as skipped.
    """
    if code in _FIXED:
        m, d = _FIXED[code]
        return date(year, m, d)
    row = _MOVABLE.get(year)
    if code == "lantern":
        return row[0] + timedelta(days=14) if row else None  # lunar month 1 always has 29+ days
    if code not in _MOVABLE_INDEX:
        raise Invalid(Msg("unknown greeting holiday '{code}'", code=code))
    if row is not None:
        return row[_MOVABLE_INDEX[code]]
    return _library_block_start(code, year)


# --------------------------------------------------------------------------------------------------
# Values the planner works with
# --------------------------------------------------------------------------------------------------


class Due(NamedTuple):
    """One activity due in the planned month (a tuple: the planner makes hundreds of thousands)."""

    kind: str
    due_date: date
    key: str  # idempotency key, unique in the database
    owner: str  # "keeper" (the customer's owner) or a role code
    customer_id: int | None = None  # None: company-wide
    note: str | None = None


@dataclass
class History:
    """What was already done for one customer (or company-wide): dates in the company's zone.

    ``last_done``: kind -> the latest done date (any time); ``done``: kind -> done dates from a week
    before the month to a week after it (enough to judge the month's slots and greetings).
    """

    last_done: Mapping[str, date] = field(default_factory=dict)
    done: Mapping[str, Sequence[date]] = field(default_factory=dict)

    def last_of(self, kinds: Iterable[str]) -> date | None:
        found = [self.last_done[k] for k in kinds if k in self.last_done]
        return max(found) if found else None

    def any_between(self, kinds: Iterable[str], first: date, last: date) -> bool:
        return any(first <= d <= last for k in kinds for d in self.done.get(k, ()))


EMPTY_HISTORY = History()


@dataclass(frozen=True)
class _Window:
    label: str  # slot label used in the key
    suffix: str  # ":<kind>:<label>", the key without the customer id
    days: tuple[date, ...]  # candidate days (inside the month)
    covered_from: date  # a done activity in [covered_from, covered_to] covers the window
    covered_to: date
    working: tuple[date, ...]  # working days among ``days`` (or all days when none work)


def _split(days: Sequence[date], parts: int) -> list[tuple[date, ...]]:
    """``days`` cut into ``parts`` near-equal runs (fewer when there are fewer days than parts)."""
    n = len(days)
    runs = (tuple(days[(i * n) // parts:((i + 1) * n) // parts]) for i in range(parts))
    return [r for r in runs if r]


def _interval(cadence) -> relativedelta | timedelta:
    if cadence.per == "week":
        return timedelta(days=max(1, round(cadence.every * 7 / cadence.times)))
    months = cadence.every * UNIT_MONTHS[cadence.per] / cadence.times
    if float(months).is_integer():
        return relativedelta(months=int(months))
    return timedelta(days=max(1, round(months * 365.25 / 12)))


def notice_offset(text: str | None, days: int | None) -> relativedelta | None:
    """A document's renewal notice as a calendar offset: ``renew_notice`` ("1 month" is one calendar
    month: a contract ending 31 July is noticed 30 June; manufacturer 五.19) or ``renew_notice_days``."""
    if text:
        from .durations import parse_duration

        d = parse_duration(text)
        n = int(d.amount)
        if d.amount != n or d.unit not in ("days", "months", "years"):
            raise Invalid(Msg("renew_notice '{text}': a whole number of days, months or years", text=text))
        return relativedelta(**{d.unit: n})
    return relativedelta(days=days) if days else None


def cadence_rate(cadence) -> float:
    """How many activities a cadence asks for per month (a weekly one: 52/12 × times)."""
    months = 12 / 52 if cadence.per == "week" else UNIT_MONTHS[cadence.per]
    return cadence.times / (cadence.every * months)


def strictest(cadences: Iterable, applies: Callable[[object], bool]):
    """The cadence that applies to a customer: of those whose condition holds, the most frequent
    (gas-tiered Art. 21(二): a risk customer keeps the monthly inspection whatever other class or
    flag also applies); equal rates: the first listed.  None when none applies."""
    best = None
    for c in cadences:
        if applies(c) and (best is None or cadence_rate(c) > cadence_rate(best)):
            best = c
    return best


def describe_cadence(cadence) -> str:
    """``2 per month``, ``1 every 2 years``, ``1 per year (company)`` — for summaries."""
    unit = cadence.per
    text = f"{cadence.times} per {unit}" if cadence.every == 1 else f"{cadence.times} every {cadence.every} {unit}s"
    return text + (" (company)" if cadence.scope == "company" else "")


def is_slotted(cadence) -> bool:
    """Week and month cadences (every period) are planned in slots; the rest by interval."""
    return cadence.per in ("week", "month") and cadence.every == 1


def _applies(cond, status: str, segments: Mapping, fields: Mapping, grades: Mapping) -> bool:
    if cond is None or not getattr(cond, "status", None):
        if status != "active":
            return False
    if cond is None:
        return True
    return cond.matches(segments=segments, fields=fields, grades=grades, status=status)


class MonthPlanner:
    """Everything due in one month under a policy's ``[activities]`` (and documents, calendar).

    ``activities``: the policy's Activities model; ``month``: a month ``Period`` or label
    (``2026-11``); ``greeting_holidays``: ``calendar.greeting_holidays``; ``working_day``: the
    company calendar's ``is_working_day`` (due dates avoid days off where the slot has a working
    day); ``documents``: the policy's document types (for ``notice_kind``).
    """

    def __init__(self, activities, month: Period | str, *, greeting_holidays: Mapping[str, str] | None = None,
                 working_day: Callable[[date], bool] | None = None, documents: Mapping | None = None):
        if isinstance(month, str):
            month = parse_label(month, "month")
        if month.kind != "month":
            raise Invalid(Msg("'{label}' is not a month", label=month.label))
        self.month = month
        self.first = month.start
        self.last = month.end - _DAY
        self._working = working_day or (lambda d: True)
        self._workcache: dict[date, bool] = {}
        self.days = tuple(self.first + timedelta(days=i) for i in range((month.end - month.start).days))
        self.month_working = self._working_of(self.days)
        self.warnings: list[str] = []
        cadences = list(getattr(activities, "cadences", None) or [])
        # customer cadences by kind, in the policy's order (first match wins)
        self.by_kind: dict[str, list] = {}
        for c in cadences:
            if c.scope == "customer":
                self.by_kind.setdefault(c.kind, []).append(c)
        self.company = [c for c in cadences if c.scope == "company"]
        self._windows: dict[int, list[_Window]] = {}
        for kind_list in self.by_kind.values():
            for c in kind_list:
                if is_slotted(c):
                    self._windows[id(c)] = self._slot_windows(c)
        self.greetings = getattr(activities, "greetings", None)
        self.greeting_events: list[tuple[str, date, date]] = []  # (holiday, holiday date, due date)
        if self.greetings is not None:
            self._plan_greetings(greeting_holidays or {})
        self.notices = {code: (d.notice_kind, notice_offset(getattr(d, "renew_notice", None), d.renew_notice_days))
                        for code, d in (documents or {}).items()
                        if getattr(d, "notice_kind", None)
                        and (getattr(d, "renew_notice_days", None) or getattr(d, "renew_notice", None))}
        kinds: set[str] = set()
        for c in cadences:
            kinds.add(c.kind)
            kinds.update(c.counts)
        if self.greetings is not None:
            kinds.add(self.greetings.kind)
        self.history_kinds = kinds
        statuses = {"active"}
        for c in cadences:
            if c.when is not None and c.when.status:
                statuses.update(c.when.status)
        if self.greetings is not None and self.greetings.when is not None and self.greetings.when.status:
            statuses.update(self.greetings.when.status)
        self.statuses = statuses
        conds = [c.when for cs in self.by_kind.values() for c in cs if c.when is not None]
        if self.greetings is not None and self.greetings.when is not None:
            conds.append(self.greetings.when)
        seg_keys: dict[str, None] = {}
        field_keys: dict[str, None] = {}
        scale_keys: dict[str, None] = {}
        for cond in conds:
            seg_keys.update(dict.fromkeys(cond.segments))
            seg_keys.update(dict.fromkeys(cond.not_segments))
            field_keys.update(dict.fromkeys(cond.fields))
            scale_keys.update(dict.fromkeys(cond.grades))
        #: the segment keys, field keys and grading scales the conditions look at (nothing else matters)
        self.segment_keys = tuple(seg_keys)
        self.field_keys = tuple(field_keys)
        self.scale_keys = tuple(scale_keys)
        self._memo: dict[tuple, tuple] = {}

    # ---- calendar helpers

    def _is_working(self, d: date) -> bool:
        hit = self._workcache.get(d)
        if hit is None:
            hit = self._workcache[d] = bool(self._working(d))
        return hit

    def _working_of(self, days: Sequence[date]) -> tuple[date, ...]:
        work = tuple(d for d in days if self._is_working(d))
        return work or tuple(days)

    def _in_month_working(self, d: date) -> date:
        """``d`` itself if it works, else the next working day in the month, else the one before."""
        for x in self.month_working:
            if x >= d:
                return x
        return self.month_working[-1]

    @staticmethod
    def _pick(days: Sequence[date], seed: int) -> date:
        return days[(seed * 7919) % len(days)]

    # ---- windows

    def _slot_windows(self, c) -> list[_Window]:
        out: list[_Window] = []
        if c.per == "month":
            for i, part in enumerate(_split(self.days, c.times), start=1):
                label = f"{self.month.label}#{i}"
                out.append(_Window(label, f":{c.kind}:{label}", part, part[0], part[-1], self._working_of(part)))
            return out
        # weeks whose Thursday falls in the month
        monday = self.first - timedelta(days=self.first.weekday())
        while monday <= self.last:
            thursday = monday + timedelta(days=3)
            if self.first <= thursday <= self.last:
                iso = thursday.isocalendar()
                week_days = [monday + timedelta(days=i) for i in range(7)]
                inside = [d for d in week_days if self.first <= d <= self.last]
                parts = _split(inside, c.times) if c.times > 1 else [tuple(inside)]
                for i, part in enumerate(parts, start=1):
                    label = f"{iso[0]}-W{iso[1]:02d}" + (f"#{i}" if c.times > 1 else "")
                    lo, hi = (week_days[0], week_days[-1]) if c.times == 1 else (part[0], part[-1])
                    out.append(_Window(label, f":{c.kind}:{label}", part, lo, hi, self._working_of(part)))
            monday += timedelta(days=7)
        return out

    def _plan_greetings(self, known: Mapping[str, str]) -> None:
        g = self.greetings
        for code in g.holidays:
            if known and code not in known:
                continue
            # the holiday of this month, or of next month/January when days_before reaches back
            for year in {self.first.year, (self.last + timedelta(days=g.days_before)).year}:
                try:
                    day = holiday_date(code, year)
                except ValueError:
                    day = None
                if day is None:
                    self.warnings.append(Msg("greeting holiday {code} has no known date in {year}: not planned",
                                             code=code, year=year))
                    continue
                due = day - timedelta(days=g.days_before)
                if self.first <= due <= self.last:
                    self.greeting_events.append((code, day, due))
        self.greeting_events.sort(key=lambda e: e[2])

    # ---- what is due

    def cadence_for(self, kind: str, status: str, segments: Mapping, fields: Mapping, grades: Mapping):
        return strictest(self.by_kind.get(kind, ()), lambda c: _applies(c.when, status, segments, fields, grades))

    def _selection(self, status: str, segments: Mapping, fields: Mapping, grades: Mapping) -> tuple:
        """(cadences that apply, whether greetings apply): memoised on the values conditions look at."""
        sig = (status, tuple(map(segments.get, self.segment_keys)) + tuple(map(fields.get, self.field_keys)),
               tuple(map(grades.get, self.scale_keys)))
        sel = self._memo.get(sig)
        if sel is None:
            chosen = []
            for kind in self.by_kind:
                c = self.cadence_for(kind, status, segments, fields, grades)
                if c is not None:
                    chosen.append((c, (c.kind, *c.counts), self._windows.get(id(c))))
            g = self.greetings
            greet = bool(g is not None and self.greeting_events and _applies(g.when, status, segments, fields, grades))
            sel = self._memo[sig] = (tuple(chosen), greet)
        return sel

    def customer_due(self, customer_id: int, *, status: str = "active", segments: Mapping | None = None,
                     fields: Mapping | None = None, grades: Mapping | None = None,
                     history: History = EMPTY_HISTORY) -> list[Due]:
        """The activities due in the month for one customer (keeper-owned unless the cadence names a role)."""
        return self._due(customer_id, self._selection(status, segments or {}, fields or {}, grades or {}), history)

    def customer_due_values(self, customer_id: int, status: str, values: tuple, grades: Mapping,
                            history: History = EMPTY_HISTORY) -> list[Due]:
        """``customer_due`` for bulk callers: ``values`` are the customer's values of ``segment_keys``
        then ``field_keys``, in that order (as a query selects them)."""
        sel = self._memo.get((status, values, tuple(map(grades.get, self.scale_keys))))
        if sel is None:
            n = len(self.segment_keys)
            sel = self._selection(status, dict(zip(self.segment_keys, values[:n])),
                                  dict(zip(self.field_keys, values[n:])), grades)
        return self._due(customer_id, sel, history)

    def _due(self, customer_id: int, selection: tuple, history: History) -> list[Due]:
        chosen, greet = selection
        out: list[Due] = []
        blank = history is EMPTY_HISTORY
        for c, counted, windows in chosen:
            kind = c.kind
            if windows is not None:
                for n, w in enumerate(windows):
                    if not blank and history.any_between(counted, w.covered_from, w.covered_to):
                        continue
                    days = w.working
                    out.append(Due(kind, days[((customer_id + n) * 7919) % len(days)], f"{customer_id}{w.suffix}",
                                   c.owner, customer_id, c.note))
            else:
                out.extend(self._interval_due(c, customer_id, None if blank else history.last_of(counted)))
        if greet:
            g = self.greetings
            for code, day, due in self.greeting_events:
                if not blank and history.any_between((g.kind,), day - timedelta(days=GREETING_WINDOW_DAYS), day):
                    continue
                out.append(Due(g.kind, due, f"{customer_id}:{g.kind}:{code}:{day.year}", "keeper", customer_id, None))
        return out

    def _interval_due(self, c, customer_id: int, last: date | None) -> list[Due]:
        step = _interval(c)
        if last is None:
            first = self._pick(self.month_working, customer_id)
        else:
            nxt = last + step
            if nxt > self.last:
                return []
            first = self._pick(self.month_working, customer_id) if nxt < self.first else self._in_month_working(nxt)
        out = [Due(c.kind, first, f"{customer_id}:{c.kind}:{self.month.label}", c.owner, customer_id, c.note)]
        d, n = first + step, 2
        while d <= self.last:  # intervals shorter than a month (rare: every N weeks)
            out.append(Due(c.kind, self._in_month_working(d), f"{customer_id}:{c.kind}:{self.month.label}#{n}",
                           c.owner, customer_id, c.note))
            d, n = d + step, n + 1
        return out

    def company_due(self, history: History = EMPTY_HISTORY) -> list[Due]:
        """Company-wide activities due (a yearly symposium, survey, training), owned by a role."""
        out: list[Due] = []
        for c in self.company:
            counted = (c.kind, *c.counts)
            if is_slotted(c):
                windows = self._windows.get(id(c)) or self._slot_windows(c)
                for w in windows:
                    if not history.any_between(counted, w.covered_from, w.covered_to):
                        out.append(Due(c.kind, w.working[-1], f"company:{c.kind}:{w.label}", c.owner, None, c.note))
                continue
            label, start, end = self._company_period(c)
            span = [start + timedelta(days=i) for i in range((end - start).days)]
            parts = _split_months(start, end, c.times) or [(p[0], p[-1]) for p in _split(span, c.times)]
            for i, (lo, hi) in enumerate(parts, start=1):
                if hi < self.first or lo > self.last:
                    continue
                if history.any_between(counted, lo, hi):
                    continue
                window = [lo + timedelta(days=k) for k in range((hi - lo).days + 1)]
                due = self._working_of(window)[-1]
                key = f"company:{c.kind}:{label}" + (f"#{i}" if c.times > 1 else "")
                out.append(Due(c.kind, due, key, c.owner, None, c.note))
        return out

    def company_history_start(self) -> date:
        """The earliest day a company-wide activity done then could cover something this month."""
        starts = [self._company_period(c)[1] for c in self.company if not is_slotted(c)]
        return min([*starts, self.first]) - timedelta(days=8)

    def _company_period(self, c) -> tuple[str, date, date]:
        """(label, first day, day after) of the company cadence's period containing the month."""
        unit = UNIT_MONTHS[c.per]
        index = self.first.year * (12 // unit) + (self.first.month - 1) // unit
        index -= index % c.every
        per_year = 12 // unit
        start = date(index // per_year, (index % per_year) * unit + 1, 1)
        end = start + relativedelta(months=unit * c.every)
        if c.per == "year":
            label = f"{start.year}" if c.every == 1 else f"{start.year}-{end.year - 1}"
        elif c.per == "half-year":
            label = f"{start.year}-H{(start.month - 1) // 6 + 1}"
        else:
            label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        if c.every > 1 and c.per != "year":
            label += f"+{c.every}"
        return label, start, end

    def document_due(self, customer_id: int, doc_id: int, doc_type: str, expires: date, *,
                     status: str = "active") -> Due | None:
        """A renewal notice ``renew_notice`` (calendar time) before a document of a ``notice_kind``
        type expires."""
        spec = self.notices.get(doc_type)
        if spec is None or status != "active":
            return None
        kind, before = spec
        due = expires - before
        if not self.first <= due <= self.last:
            return None
        return Due(kind, due, f"{customer_id}:{kind}:doc{doc_id}", "keeper", customer_id, f"{doc_type} expires {expires}")

    def notice_expiry_range(self, doc_type: str) -> tuple[date, date] | None:
        """Expiry dates whose notice falls in the month (for the service's document query)."""
        spec = self.notices.get(doc_type)
        if spec is None:
            return None
        # every expiry whose notice (expiry - offset) falls in the month; one calendar month back
        # folds 29-31 March onto 28 February, so the upper end is the day before (last + 1) + offset
        return self.first + spec[1], self.last + _DAY + spec[1] - _DAY


def _split_months(start: date, end: date, parts: int) -> list[tuple[date, date]]:
    """A period cut into ``parts`` windows of whole months when it divides evenly, else []."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if parts < 1 or months % parts:
        return []
    size = months // parts
    out = []
    for i in range(parts):
        lo = start + relativedelta(months=i * size)
        hi = start + relativedelta(months=(i + 1) * size) - _DAY
        out.append((lo, hi))
    return out


__all__ = ["Due", "History", "MonthPlanner", "holiday_date", "describe_cadence", "is_slotted", "UNIT_MONTHS",
           "LIBRARY_NAMES", "TABLE_YEARS", "GREETING_WINDOW_DAYS"]
