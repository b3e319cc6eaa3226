"""Durations as policies write them: ``"6 h"``, ``"1 working day"``, ``"7 working hours"``, ``"1 month"``.

Pure: parsing only.  The arithmetic that applies a duration to a start time on the company
calendar lives in ``crmctl.rules.calendar``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import Invalid, Msg
from .limits import MAX_DURATION

# unit -> accepted spellings (singular/plural, English and Chinese)
_UNITS = {
    "hours": ("h", "hour", "hours", "小时"),
    "working_days": ("working day", "working days", "wd", "工作日", "个工作日"),
    "working_hours": ("working hour", "working hours", "wh", "工作小时", "个工作小时"),
    "days": ("day", "days", "d", "天", "日"),
    "months": ("month", "months", "个月", "月"),
    "years": ("year", "years", "年"),
}
_LOOKUP = {spelling: unit for unit, spellings in _UNITS.items() for spelling in spellings}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([^\d\s].*?)\s*$")


@dataclass(frozen=True)
class Duration:
    amount: float
    unit: str  # one of: hours, working_days, working_hours, days, months, years

    def __str__(self) -> str:
        n = int(self.amount) if float(self.amount).is_integer() else self.amount
        words = {
            "hours": "h",
            "working_days": "working day" if n == 1 else "working days",
            "working_hours": "working hour" if n == 1 else "working hours",
            "days": "day" if n == 1 else "days",
            "months": "month" if n == 1 else "months",
            "years": "year" if n == 1 else "years",
        }
        return f"{n} {words[self.unit]}"


def duration_text(d: Duration) -> str:
    """``str(d)`` as a :class:`~crmctl.errors.Msg`: ``3 working days`` in English, translated when shown."""
    n = int(d.amount) if float(d.amount).is_integer() else d.amount
    one = n == 1
    if d.unit == "hours":
        return Msg("{n} h", n=n)
    if d.unit == "working_days":
        return Msg("{n} working day", n=n) if one else Msg("{n} working days", n=n)
    if d.unit == "working_hours":
        return Msg("{n} working hour", n=n) if one else Msg("{n} working hours", n=n)
    if d.unit == "days":
        return Msg("{n} day", n=n) if one else Msg("{n} days", n=n)
    if d.unit == "months":
        return Msg("{n} month", n=n) if one else Msg("{n} months", n=n)
    return Msg("{n} year", n=n) if one else Msg("{n} years", n=n)


def parse_duration(text: str) -> Duration:
    """Parse ``"3 working days"`` and friends; raise ``ValueError`` with a readable message."""
    if not isinstance(text, str):
        raise Invalid(Msg("a duration is text like '24 h' or '3 working days', not {text!r}", text=text))
    m = _PATTERN.match(text)
    unit = _LOOKUP.get(m.group(2).lower()) if m else None
    if not m or unit is None:
        raise Invalid(
            Msg("'{text}' is not a duration: write e.g. '24 h', '3 working days', '6 working hours', '1 month'", text=text)
        )
    amount = float(m.group(1))
    if amount <= 0:
        raise Invalid(Msg("'{text}': a duration must be above zero", text=text))
    limit = MAX_DURATION[unit]
    if amount > limit:
        raise Invalid(Msg("'{text}' is too long: at most {limit}", text=_short(text), limit=duration_text(Duration(limit, unit))))
    if unit in ("working_days", "days", "months", "years") and not amount.is_integer():
        raise Invalid(Msg("'{text}': {unit} must be a whole number", text=text, unit=unit.replace('_', ' ')))
    return Duration(amount, unit)


def _short(text: str) -> str:
    """The text as typed, cut to a readable length for a message."""
    text = text.strip()
    return text if len(text) <= 40 else text[:20] + "…" + text[-15:]


def check_amount(amount: float, unit: str, what: str) -> None:
    """Invalid when ``amount`` of ``unit`` (``working_days`` ...) is beyond the limit (``--working-days``)."""
    limit = MAX_DURATION[unit]
    if amount > limit:
        shown = int(amount) if float(amount).is_integer() else amount
        raise Invalid(Msg("{what} {amount} is too long: at most {limit}", what=what, amount=_short(str(shown)), limit=duration_text(Duration(limit, unit))))
