"""Review periods and their labels: ``2026-11``, ``2026-Q4``, ``2026-H2``, ``2026``.

Pure functions over dates; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from dateutil.relativedelta import relativedelta

from .errors import Invalid
from .limits import EARLIEST_DATE, LATEST_DATE

PERIODS = ("month", "quarter", "half-year", "year")
_MONTHS = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}
_LABEL_RE = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "half-year": re.compile(r"^(\d{4})-H([12])$"),
    "year": re.compile(r"^(\d{4})$"),
}


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | half-year | year
    label: str
    start: date  # first day, inclusive
    end: date  # first day after the period, exclusive

    @property
    def months(self) -> int:
        return _MONTHS[self.kind]

    def shifted(self, years: int = 0, periods: int = 0) -> "Period":
        """The same kind of period ``years`` years and ``periods`` periods later (negative: earlier)."""
        start = self.start + relativedelta(years=years, months=periods * self.months)
        return period_starting(self.kind, start)

    def previous(self) -> "Period":
        return self.shifted(periods=-1)


def period_starting(kind: str, start: date) -> Period:
    end = start + relativedelta(months=_MONTHS[kind])
    if kind == "month":
        label = f"{start.year:04d}-{start.month:02d}"
    elif kind == "quarter":
        label = f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    elif kind == "half-year":
        label = f"{start.year:04d}-H{(start.month - 1) // 6 + 1}"
    else:
        label = f"{start.year:04d}"
    return Period(kind, label, start, end)


def check_kind(kind: str) -> str:
    if kind not in PERIODS:
        raise Invalid(f"unknown period '{kind}': use one of {', '.join(PERIODS)}")
    return kind


def detect_kind(label: str) -> str:
    """The kind of period a label names, or ValueError."""
    for kind, rx in _LABEL_RE.items():
        if rx.match(label or ""):
            return kind
    raise Invalid(f"'{label}' is not a period label: write 2026-11, 2026-Q4, 2026-H2 or 2026")


def parse_label(label: str, kind: str | None = None) -> Period:
    """Parse a label; when ``kind`` is given the label must be of that kind."""
    found = detect_kind(label)
    if kind is not None and check_kind(kind) != found:
        raise Invalid(f"label '{label}' is a {found}, not a {kind}")
    m = _LABEL_RE[found].match(label)
    year = int(m.group(1))
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise Invalid(f"'{label}': year {year} is outside the years crmctl accepts: "
                      f"{EARLIEST_DATE.year} to {LATEST_DATE.year}")
    if found == "month":
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise Invalid(f"'{label}': there is no month {month}")
    elif found == "quarter":
        month = (int(m.group(2)) - 1) * 3 + 1
    elif found == "half-year":
        month = (int(m.group(2)) - 1) * 6 + 1
    else:
        month = 1
    return period_starting(found, date(year, month, 1))


def parse_month(text: str | None, what: str = "--month") -> Period:
    """A month label typed by a user (``2026-11``); the refusal names the option ``what``."""
    try:
        return parse_label((text or "").strip(), "month")
    except Invalid as exc:
        raise exc.within(what) from None


def period_containing(kind: str, day: date) -> Period:
    check_kind(kind)
    months = _MONTHS[kind]
    first_month = ((day.month - 1) // months) * months + 1
    return period_starting(kind, date(day.year, first_month, 1))


def last_completed(kind: str, today: date) -> Period:
    """The last period of ``kind`` that ended on or before ``today``."""
    return period_containing(kind, today).previous()


def resolve_period(kind: str | None, label: str | None, today: date) -> Period:
    """What ``--period`` / ``--label`` select: a label alone, a kind alone (last completed), or both."""
    if label:
        return parse_label(label, kind)
    if not kind:
        raise Invalid("give --period (month, quarter, half-year, year) or --label")
    return last_completed(kind, today)


def local_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """A period's local dates [start, end) as aware datetimes at local midnight in ``tz``."""
    return datetime.combine(start, time(), tzinfo=tz), datetime.combine(end, time(), tzinfo=tz)
