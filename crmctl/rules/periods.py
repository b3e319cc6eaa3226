"""Review periods and their labels: ``2026-11``, ``2026-Q4``, ``2026-H2``, ``2026``.

Labels are typed in Chinese too (``2026年11月``, ``2026年第4季度``, ``2026年下半年``, ``2026年``) and the
kinds by their Chinese words (月, 季度, 半年, 年): :func:`parse_label` and :func:`parse_kind` read both
and always give the ISO-like label and the English code, which is what is stored and shown in JSON.

Pure functions over dates; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from dateutil.relativedelta import relativedelta

from .errors import Invalid, Msg
from .limits import EARLIEST_DATE, LATEST_DATE
from .typed import fold

PERIODS = ("month", "quarter", "half-year", "year")
_MONTHS = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}
_LABEL_RE = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "half-year": re.compile(r"^(\d{4})-H([12])$"),
    "year": re.compile(r"^(\d{4})$"),
}
#: The same labels as people type them (after :func:`crmctl.rules.typed.fold`, spaces removed):
#: the number of the month, quarter or half-year is checked after matching, for a precise refusal.
_TYPED_RE = {
    "month": re.compile(r"([0-9]{4})(?:-([0-9]{1,2})|年([0-9]{1,2})月份?)", re.ASCII),
    "quarter": re.compile(r"([0-9]{4})(?:-?Q|年第?|年Q)([0-9]+|[一二三四五六七八九])(?:季度|季)?", re.ASCII),
    "half-year": re.compile(r"([0-9]{4})(?:-?H([0-9]+)|年?(上|下)半年度?|年H([0-9]+))", re.ASCII),
    "year": re.compile(r"([0-9]{4})(?:年度?)?", re.ASCII),
}
_CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
#: The words for a kind of period (``--period 半年``), besides the codes themselves.
KIND_WORDS = {"月": "month", "月度": "month", "季": "quarter", "季度": "quarter", "半年": "half-year",
              "半年度": "half-year", "年": "year", "年度": "year"}
LABEL_EXAMPLES = Msg("2026-11, 2026-Q4, 2026-H2 or 2026 (or 2026年11月, 2026年第4季度, 2026年下半年, 2026年)")


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
        raise Invalid(Msg("unknown period '{kind}': use one of {kinds}", kind=kind, kinds=', '.join(PERIODS)))
    return kind


def parse_kind(text: str, what: str = "--period") -> str:
    """A kind of period as typed: the code (any case: ``half-year``) or its word (``半年``, ``季度``,
    ``月``, ``年``); returns the code.  Invalid naming the codes otherwise."""
    s = fold(text or "")
    code = s.lower().replace("_", "-")
    if code in PERIODS:
        return code
    if s in KIND_WORDS:
        return KIND_WORDS[s]
    raise Invalid(Msg("unknown period '{text}': use one of {kinds} (or {words})", text=text, kinds=', '.join(PERIODS), words=', '.join(('月', '季度', '半年', '年'))),
                  field=what)


def _typed(label: str) -> tuple[str, int, int] | None:
    """(kind, year, number of the month / quarter / half-year) of a label as typed, or None."""
    for kind, rx in _LABEL_RE.items():
        m = rx.match(label or "")
        if m:
            return kind, int(m.group(1)), int(m.group(2)) if kind != "year" else 1
    s = fold(label or "").replace(" ", "").upper()
    for kind, rx in _TYPED_RE.items():
        m = rx.fullmatch(s)
        if m is None:
            continue
        if kind == "year":
            return kind, int(m.group(1)), 1
        if kind == "month":
            return kind, int(m.group(1)), int(m.group(2) or m.group(3))
        if kind == "quarter":
            n = m.group(2)
            return kind, int(m.group(1)), _CN_NUMBERS[n] if n in _CN_NUMBERS else int(n)
        half = m.group(2) or m.group(4)
        return kind, int(m.group(1)), int(half) if half else (1 if m.group(3) == "上" else 2)
    return None


def detect_kind(label: str) -> str:
    """The kind of period a label names, or Invalid."""
    found = _typed(label)
    if found is None:
        raise Invalid(Msg("'{label}' is not a period label: write {examples}", label=label, examples=LABEL_EXAMPLES))
    return found[0]


def parse_label(label: str, kind: str | None = None) -> Period:
    """Parse a label (``2026-Q4`` or as typed: ``2026年第4季度``, ``2026Q4``, full-width forms); when
    ``kind`` is given (a code or a word) the label must be of that kind.  The Period's label is the
    ISO-like one."""
    found = _typed(label)
    if found is None:
        raise Invalid(Msg("'{label}' is not a period label: write {examples}", label=label, examples=LABEL_EXAMPLES))
    found_kind, year, n = found
    if kind is not None:
        kind = check_kind(kind) if kind in PERIODS else parse_kind(kind)
        if kind != found_kind:
            raise Invalid(Msg("label '{label}' is a {found_kind}, not a {kind}", label=label, found_kind=found_kind, kind=kind))
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise Invalid(Msg("'{label}': year {year} is outside the years crmctl accepts: {earliest} to {latest}", label=label, year=year, earliest=EARLIEST_DATE.year, latest=LATEST_DATE.year))
    count = 12 // _MONTHS[found_kind]
    if not 1 <= n <= count:
        raise Invalid(Msg("'{label}' is not a period label: there is no {found_kind} {n} (a year has {count})", label=label, found_kind=found_kind, n=n, count=count))
    return period_starting(found_kind, date(year, (n - 1) * _MONTHS[found_kind] + 1, 1))


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
    kind = parse_kind(kind) if kind else None
    if label:
        return parse_label(label, kind)
    if not kind:
        raise Invalid(Msg("give --period (month, quarter, half-year, year) or --label"))
    return last_completed(kind, today)


def local_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """A period's local dates [start, end) as aware datetimes at local midnight in ``tz``."""
    return datetime.combine(start, time(), tzinfo=tz), datetime.combine(end, time(), tzinfo=tz)
