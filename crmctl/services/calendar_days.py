"""The days of a month as ``calendar show`` lists them in csv and json."""

from __future__ import annotations

from typing import Iterable

#: the keys of a day of ``calendar show`` (its csv header, with rows or without)
CALENDAR_DAY_KEYS = ("date", "weekday", "working", "kind", "name", "source")


def day_rows(days: Iterable) -> list[dict]:
    """One row per day of the company calendar (``crmctl.rules.calendar`` days)."""
    return [{"date": d.date, "weekday": d.date.strftime("%a"), "working": d.working, "kind": d.kind,
             "name": d.name, "source": d.source} for d in days]
