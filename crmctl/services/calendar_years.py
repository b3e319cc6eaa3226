"""Official holiday schedules loaded for years the holiday library does not cover yet
(``crmctl calendar set-year``): the State Council publishes next year's schedule late in the year and
``chinesecalendar`` ships it weeks later; an administrator loads it in between.

The file is TOML, one table of holidays and one of make-up working days, ISO date = name::

    year = 2027                      # optional; must be the year given on the command line
    source = "国办发明电〔2026〕…号"   # optional: where it is from
    [holidays]
    2027-01-01 = "元旦"
    [workdays]
    2027-02-20 = "春节调休"
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..errors import InvalidInput, RuleViolation
from ..rules.customers import clean_text
from ..rules.errors import Invalid
from ..rules.limits import EARLIEST_DATE, LATEST_DATE
from . import audit
from .app import App

MAX_NAME = 20  # a holiday's name
MAX_FILE_BYTES = 1 << 20


def parse_year_file(text: str, year: int, source: str):
    """A ``YearTable`` from the file's text, or ``InvalidInput`` naming the line or key."""
    from ..policies.loader import _loads, _TooDeep, tomllib, toml_problem
    from ..rules.calendar import YearTable

    try:
        data = _loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: {toml_problem(exc, text)}") from None
    except _TooDeep as exc:
        raise InvalidInput(f"{source}: {exc.problem}") from None
    unknown = sorted(set(data) - {"year", "source", "holidays", "workdays"})
    if unknown:
        raise InvalidInput(f"{source}: unknown key '{unknown[0]}' (use year, source, [holidays] and [workdays])")
    if "year" in data and data["year"] != year:
        raise InvalidInput(f"{source}: the file is for {data['year']!r}, not {year}")
    tables = {}
    for key in ("holidays", "workdays"):
        table = data.get(key, {})
        if not isinstance(table, dict):
            raise InvalidInput(f"{source}: {key} must be a table of date = name")
        days: dict[date, str] = {}
        for k, name in table.items():
            try:
                d = date.fromisoformat(str(k))
            except ValueError:
                raise InvalidInput(f"{source}: {key}.{k}: not a date (YYYY-MM-DD)") from None
            if not isinstance(name, str):
                raise InvalidInput(f"{source}: {key}.{k}: the name must be text, e.g. \"春节\"")
            days[d] = clean_text(name, f"{key}.{k}", max_len=MAX_NAME)
        tables[key] = days
    if not tables["holidays"]:
        raise InvalidInput(f"{source}: no holidays: a year's schedule names its holidays in [holidays]")
    origin = str(data.get("source") or source)
    try:
        return YearTable(year, tables["holidays"], tables["workdays"], "loaded", origin)
    except Invalid as exc:
        raise InvalidInput(f"{source}: {exc}") from None


def set_year(app: App, year: int, path: Path | None, *, remove: bool = False) -> dict:
    """Load (or with ``remove`` forget) the official schedule of ``year``; administrators only."""
    from ..models import CalendarYear
    from ..rules.calendar import COVERED_YEARS

    app.require_admin("load a holiday schedule")
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise InvalidInput(f"year {year} is outside {EARLIEST_DATE.year}-{LATEST_DATE.year}")
    now = app.now()
    if remove:
        with app.db.write() as s:
            row = s.get(CalendarYear, year)
            if row is None:
                raise RuleViolation(f"no schedule was loaded for {year}")
            before = {"holidays": len(row.holidays), "workdays": len(row.workdays), "origin": row.origin}
            s.delete(row)
            audit.record(s, app, "calendar.set-year", "calendar_year", str(year), before=before, after=None, at=now)
        return {"year": year, "removed": True}
    if COVERED_YEARS is not None and COVERED_YEARS[0] <= year <= COVERED_YEARS[1]:
        raise RuleViolation(f"the installed chinesecalendar already has the official {year} schedule: "
                            "a loaded one would never be used")
    if path is None:
        raise InvalidInput("give the schedule FILE (or --remove)")
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no file {path}" if not path.exists() else f"{path} is not a file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path.name} is larger than 1 MB: not a holiday schedule")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    table = parse_year_file(text, year, path.name)
    holidays = {d.isoformat(): n for d, n in sorted(table.holidays.items())}
    workdays = {d.isoformat(): n for d, n in sorted(table.workdays.items())}
    with app.db.write() as s:
        row = s.get(CalendarYear, year)
        before = None if row is None else {"holidays": len(row.holidays), "workdays": len(row.workdays),
                                            "origin": row.origin}
        if row is None:
            row = CalendarYear(year=year, holidays=holidays, workdays=workdays, origin=table.origin,
                               loaded_at=now, loaded_by=app.actor.login)
        else:
            row.holidays, row.workdays, row.origin = holidays, workdays, table.origin
            row.loaded_at, row.loaded_by = now, app.actor.login
        s.add(row)
        audit.record(s, app, "calendar.set-year", "calendar_year", str(year), before=before, at=now,
                     after={"holidays": len(holidays), "workdays": len(workdays), "origin": table.origin})
    return {"year": year, "holidays": len(holidays), "workdays": len(workdays), "origin": table.origin,
            "replaced": before is not None}
