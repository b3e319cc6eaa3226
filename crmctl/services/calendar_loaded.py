"""The holiday schedules loaded with ``calendar set-year``, read for the company calendar (a bottom
module: the app reads it; ``calendar_years`` writes the table)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select


def loaded_years(session) -> dict:
    """Every loaded schedule as ``YearTable``s (a handful of rows)."""
    from ..models import CalendarYear
    from ..rules.calendar import YearTable

    out = {}
    for row in session.scalars(select(CalendarYear)):
        out[row.year] = YearTable(row.year, {date.fromisoformat(k): v for k, v in row.holidays.items()},
                                  {date.fromisoformat(k): v for k, v in row.workdays.items()}, "loaded", row.origin)
    return out
