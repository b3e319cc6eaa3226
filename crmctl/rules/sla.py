"""Service-desk rules: which deadline applies, when it falls, whether it was kept.

Pure functions over policy sections (pydantic models or anything with the same attributes), plain
values and a ``CompanyCalendar``; no I/O, no database.  The calendar arithmetic itself lives in
``crmctl.rules.calendar``.

- Complaints (``[complaints]``): the SLA rule is the **first** of ``complaints.sla`` whose
  ``severity`` (if given) equals the complaint's and whose ``when`` (if given) matches the
  customer; its ``due`` counted from the opening on the company calendar is the deadline.  An
  extension adds N working days to the deadline in force, approved by the policy's
  ``extension.approver_role``; the extended deadline may not lie beyond ``extension.max_total``
  counted from the opening.  Where ``opinion_approval`` lists a complaint's severity its handling
  opinion is approved by ``opinion_approval.approver_role`` before it is closed.
- Service tickets (``[service]``): up to three clocks (``respond``, ``arrive``, ``resolve``); per
  kind and clock the first matching rule wins; ``calendar = "24x7"`` counts every hour of every day,
  ``"working"`` the company's working days and business hours.
- Proposals (``[proposals]``): answer due ``proposals.due`` after opening (``"1 month"``:
  calendar months, dateutil), benefit shared per ``proposals.benefit``.
- Overdue: an open item is overdue once ``now`` is past its deadline; a closed one when it was
  closed after it (:func:`clock_state` in Python, :class:`ClockSql` in SQL: one rule, two forms).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from crmctl.rules import conditions
from crmctl.rules.codes import pick_code  # noqa: F401  (re-exported: services call rules.pick_code)
from crmctl.rules.calendar import CompanyCalendar
from crmctl.rules.durations import Duration, check_amount, parse_duration
from crmctl.rules.errors import Invalid, Msg, Refused
from crmctl.rules.typed import fold, read_number

CLOCKS = ("respond", "arrive", "resolve")
#: the deadline of each service clock, and the event that stops it (ticket fields)
CLOCK_DEADLINES = {"respond": "respond_by", "arrive": "arrive_by", "resolve": "resolve_by"}
CLOCK_EVENTS = {"respond": "dispatched_at", "arrive": "arrived_at", "resolve": "resolved_at"}


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


# --------------------------------------------------------------------------- codes and labels


# --------------------------------------------------------------------------- complaints


@dataclass(frozen=True)
class SlaChoice:
    index: int  # position in complaints.sla
    due: str  # the duration text, e.g. "3 working days"
    severity: str | None  # the rule's severity condition
    when: Any  # the rule's customer condition (or None)

    def describe(self) -> str:
        parts = []
        if self.severity:
            parts.append(f"severity {self.severity}")
        if self.when is not None and not _is_empty(self.when):
            parts.append("customer condition")
        return f"sla[{self.index}] ({', '.join(parts) or 'default'}): {self.due}"


def _is_empty(cond: Any) -> bool:
    empty = _get(cond, "is_empty")
    if isinstance(empty, bool):
        return empty
    return not any(_get(cond, k) for k in ("segments", "not_segments", "fields", "grades", "status"))


def complaint_sla(complaints: Any, severity: str, *, segments: Mapping | None = None,
                  fields: Mapping | None = None, grades: Mapping | None = None,
                  status: str | None = None) -> SlaChoice:
    """The first SLA rule of ``complaints.sla`` for this severity and customer (first match wins)."""
    for i, rule in enumerate(_get(complaints, "sla") or []):
        sev = _get(rule, "severity")
        if sev is not None and sev != severity:
            continue
        when = _get(rule, "when")
        if when is not None and not conditions.matches(when, segments=segments, fields=fields,
                                                        grades=grades, status=status):
            continue
        return SlaChoice(i, _get(rule, "due"), sev, when)
    raise Refused(Msg("no SLA rule of the policy applies to a '{severity}' complaint of this customer", severity=severity))


def due_at(cal: CompanyCalendar, start: datetime, due: str | Duration) -> datetime:
    """``due`` after ``start`` on ``cal`` (ValueError for a bad duration)."""
    return cal.add(start, due)


def extend_deadline(cal: CompanyCalendar, opened_at: datetime, current_due: datetime, working_days: int,
                    max_total: str | None) -> datetime:
    """The deadline ``working_days`` working days after the deadline in force.

    ValueError when ``working_days`` is not a whole number ≥ 1, or when the result lies beyond
    ``max_total`` counted from ``opened_at`` (None: the policy allows no extension).
    """
    if max_total is None:
        raise Refused(Msg("the policy allows no extension of complaint deadlines"))
    if isinstance(working_days, bool) or not isinstance(working_days, int) or working_days < 1:
        raise Invalid(Msg("--working-days: {working_days!r} is not a whole number of at least 1", working_days=working_days))
    check_amount(working_days, "working_days", "--working-days")
    new_due = cal.add(current_due, Duration(working_days, "working_days"))
    cap = cal.add(opened_at, max_total)
    if new_due > cap:
        raise Refused(
            Msg("extending by {working_days} working day would make the deadline {new_due:%Y-%m-%d %H:%M}, past the cap "
                "of {max_total} from opening ({cap:%Y-%m-%d %H:%M})", working_days=working_days, new_due=new_due,
                max_total=max_total, cap=cap) if working_days == 1 else
            Msg("extending by {working_days} working days would make the deadline {new_due:%Y-%m-%d %H:%M}, past the "
                "cap of {max_total} from opening ({cap:%Y-%m-%d %H:%M})", working_days=working_days, new_due=new_due,
                max_total=max_total, cap=cap)
        )
    return new_due


def extension_cap(cal: CompanyCalendar, opened_at: datetime, max_total: str) -> datetime:
    return cal.add(opened_at, max_total)


def opinion_to_close(approval: Any, severity: str, latest: str | None) -> str | None:
    """What a complaint of ``severity`` still lacks before it is closed, under the policy's
    ``complaints.opinion_approval`` (None: no approval asked; petrochem 12(二)) and the status of
    the latest handling opinion submitted for it (None: none yet): None when nothing (it may close),
    ``"submit"`` when no opinion was submitted, ``"resubmit"`` when the last one was refused,
    ``"decide"`` when one waits for the approver."""
    if approval is None:
        return None
    severities = _get(approval, "severities") or []
    if severities and severity not in severities:
        return None
    return {None: "submit", "refused": "resubmit", "pending": "decide"}.get(latest)


def clock_state(due: datetime | None, done: datetime | None, now: datetime) -> str | None:
    """Where a deadline stands: ``met`` (done by it), ``late`` (done after it), ``open_late`` (not done
    and past it), ``running`` (not done, still ahead); None without a deadline.  :class:`ClockSql` is
    the same rule in SQL."""
    if due is None:
        return None
    if done is not None:
        return "met" if done <= due else "late"
    return "open_late" if now > due else "running"


def is_overdue(due: datetime | None, done: datetime | None, now: datetime) -> bool:
    """Past the deadline: still open after it, or done after it.  No deadline: never overdue."""
    return clock_state(due, done, now) in ("late", "open_late")


class ClockSql:
    """:func:`clock_state` as SQL conditions on a deadline column and the column of the event that
    meets it (a complaint's ``due_at`` and ``closed_at``, a ticket's ``respond_by`` and
    ``dispatched_at`` ...), for reports and listings that count or filter many rows at once."""

    def __init__(self, due, done, now: datetime):
        from sqlalchemy import and_, or_

        has_due = due.is_not(None)
        self.met = and_(has_due, done.is_not(None), done <= due)
        self.late = and_(has_due, done.is_not(None), done > due)
        self.open_late = and_(has_due, done.is_(None), due < now)
        self.running = and_(has_due, done.is_(None), due >= now)
        self.overdue = or_(self.late, self.open_late)  # is_overdue


def check_event_time(at: datetime, after: datetime, what: str, after_what: str) -> None:
    """ValueError when an event is recorded before the event it follows."""
    if at < after:
        raise Invalid(Msg("{what} {at:%Y-%m-%d %H:%M} is before {after_what} {after:%Y-%m-%d %H:%M}", what=what, at=at, after_what=after_what, after=after))


# --------------------------------------------------------------------------- service clocks


@dataclass(frozen=True)
class ClockChoice:
    clock: str  # respond | arrive | resolve
    due: str  # duration text
    calendar: str  # 24x7 | working


def service_clocks(service: Any, kind: str, *, location: str | None = None, service_type: str | None = None,
                   segments: Mapping | None = None, fields: Mapping | None = None,
                   grades: Mapping | None = None, status: str | None = None) -> dict[str, ClockChoice]:
    """The clocks that run for a ticket: per clock the first matching rule of ``service.clocks``."""
    out: dict[str, ClockChoice] = {}
    for rule in _get(service, "clocks") or []:
        clock = _get(rule, "clock")
        if _get(rule, "kind") != kind or clock in out:
            continue
        when = _get(rule, "when")
        if when is not None:
            locs = _get(when, "location") or []
            types = _get(when, "service_type") or []
            if isinstance(locs, str):
                locs = [locs]
            if isinstance(types, str):
                types = [types]
            if locs and location not in locs:
                continue
            if types and service_type not in types:
                continue
            if not conditions.matches(when, segments=segments, fields=fields, grades=grades, status=status):
                continue
        due = _get(rule, "due")
        cal = _get(rule, "calendar")
        if cal is None:
            cal = "working" if parse_duration(due).unit.startswith("working") else "24x7"
        out[clock] = ClockChoice(clock, due, cal)
    return {c: out[c] for c in CLOCKS if c in out}


def clock_deadlines(choices: Mapping[str, ClockChoice], opened_at: datetime, working: CompanyCalendar,
                    round_the_clock: CompanyCalendar) -> dict[str, datetime]:
    """Each clock's deadline from the opening: on ``round_the_clock`` (24x7) or ``working``."""
    return {c: (round_the_clock if ch.calendar == "24x7" else working).add(opened_at, ch.due)
            for c, ch in choices.items()}


def missed_clocks(deadlines: Mapping[str, datetime | None], events: Mapping[str, datetime | None],
                  now: datetime) -> list[str]:
    """The clocks whose deadline passed without (or before) their event."""
    return [c for c in CLOCKS if is_overdue(deadlines.get(c), events.get(CLOCK_EVENTS[c]), now)]


def round_the_clock_calendar(timezone: str) -> CompanyCalendar:
    return CompanyCalendar(timezone=timezone, base="none", business_hours=())


# --------------------------------------------------------------------------- numbering


def number_counter(kind: str, pattern: str, year: int) -> str:
    """The name of the counter a number is drawn from: per year when the pattern shows the year."""
    fields = {f.split(":")[0].split("!")[0] for _, f, _, _ in string.Formatter().parse(pattern) if f}
    return f"{kind}:{year}" if "year" in fields else kind


def format_number(pattern: str, year: int, seq: int) -> str:
    """``"TS-{year}-{seq:04d}"`` with year 2026, seq 1 -> ``TS-2026-0001``."""
    return pattern.format(year=year, seq=seq)


# --------------------------------------------------------------------------- ratings, satisfaction


def parse_rating(values: Mapping[str, str], items: Mapping[str, str], levels: Mapping[str, str]) -> dict[str, int]:
    """``{"attitude": "4", …}`` checked against the policy: every item once, each a level.

    Items by code or label; levels by key ("1".."4") or label.  ValueError naming the item.
    """
    if not items:
        raise Refused(Msg("the policy defines no rating items"))
    by_label = {label: code for code, label in items.items()}
    level_by_label = {label: key for key, label in levels.items()}
    out: dict[str, int] = {}
    for key, raw in values.items():
        code = key if key in items else by_label.get(key)
        if code is None:
            raise Invalid(Msg("unknown rating item '{key}': the policy rates {known}", key=key,
                              known=", ".join(f"{c} ({lb})" for c, lb in items.items())))
        if code in out:
            raise Invalid(Msg("rating item '{code}' given twice", code=code))
        text = str(raw).strip()
        level = text if text in levels else level_by_label.get(text)
        if level is None:
            known = ", ".join(f"{k} ({lb})" for k, lb in levels.items())
            raise Invalid(Msg("rating {code}={raw}: not a level; use {known}", code=code, raw=raw, known=known))
        try:
            out[code] = int(level)
        except ValueError:
            raise Invalid(Msg("rating level '{level}' of the policy is not a number", level=level)) from None
    missing = [c for c in items if c not in out]
    if missing:
        raise Invalid(Msg("rating lacks {missing}: give every item {items}", missing=", ".join(missing),
                          items=" ".join(f"{c}=N" for c in items)))
    return out


def satisfaction_pct(satisfied: int, answered: int) -> float | None:
    """Share of satisfied among the closures that were asked (None when none was)."""
    if answered <= 0:
        return None
    return round(100.0 * satisfied / answered, 1)


def meets_target(pct: float | None, target: float | None) -> bool | None:
    if pct is None or target is None:
        return None
    return pct >= target


# --------------------------------------------------------------------------- proposals


def parse_money(text: str | float | int | Decimal, what: str = "--saving") -> Decimal:
    """A non-negative finite amount with at most 2 decimals, as typed (``12500``, ``12,500.50``,
    ``¥12,500``, ``1.25万``, ``1.25万元``, full-width forms: :func:`crmctl.rules.typed.read_number`;
    no scientific notation)."""
    if isinstance(text, bool):
        raise Invalid(Msg("{what}: {text!r} is not an amount", what=what, text=text))
    if isinstance(text, float) and not math.isfinite(text):
        raise Invalid(Msg("{what}: {text} is not a finite amount", what=what, text=text))
    if isinstance(text, (int, float, Decimal)):
        raw = str(text)
    else:
        raw = fold(text or "").replace("¥", "").removesuffix("元").strip()
    if not raw or "e" in raw.lower() or raw.lower().strip("+-") in ("nan", "inf", "infinity"):
        raise Invalid(Msg("{what}: '{text}' is not an amount of money (write e.g. 12500, 12,500.50 or 1.25万)", what=what, text=text))
    try:
        value = read_number(raw, what)
    except Invalid as exc:
        if "comma" in exc.message:
            raise Invalid(Msg("{what}: '{text}' is not an amount of money: a comma separates thousands in groups of three (12,500.50)", what=what, text=text)) from None
        raise Invalid(Msg("{what}: '{text}' is not an amount of money (write e.g. 12500, 12,500.50 or 1.25万)", what=what, text=text)) from None
    if value < 0:
        raise Invalid(Msg("{what}: {text} is negative", what=what, text=text))
    if value != value.quantize(Decimal("0.01")):
        raise Invalid(Msg("{what}: {text} has more than 2 decimals", what=what, text=text))
    if value >= Decimal("1e14"):
        raise Invalid(Msg("{what}: {text} is too large", what=what, text=text))
    return value.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class BenefitShare:
    company_pct: float
    customer_pct: float
    months: int
    start: date
    until: date  # first day after the shared period
    company_amount: Decimal | None
    customer_amount: Decimal | None


def benefit_share(benefit: Any, start: date, saving: Decimal | None) -> BenefitShare | None:
    """How an adopted proposal's saving is shared for ``benefit.months`` from ``start``."""
    if benefit is None:
        return None
    cpct, upct, months = _get(benefit, "company_pct"), _get(benefit, "customer_pct"), int(_get(benefit, "months"))
    until = start + relativedelta(months=months)
    ca = ua = None
    if saving is not None:
        ca = (saving * Decimal(str(cpct)) / 100).quantize(Decimal("0.01"))
        ua = saving - ca
    return BenefitShare(float(cpct), float(upct), months, start, until, ca, ua)


__all__ = [
    "BenefitShare", "CLOCKS", "CLOCK_DEADLINES", "CLOCK_EVENTS", "ClockChoice", "ClockSql", "SlaChoice", "benefit_share",
    "check_event_time", "clock_deadlines", "clock_state", "complaint_sla", "due_at", "extend_deadline", "extension_cap", "format_number",
    "is_overdue", "meets_target", "missed_clocks", "number_counter", "parse_money", "parse_rating",
    "pick_code", "round_the_clock_calendar", "satisfaction_pct", "service_clocks",
]
