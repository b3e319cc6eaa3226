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
from ..i18n import _
from ..i18n import text as text_of
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
        raise InvalidInput(_("{where}: {message}").format(where=source, message=text_of(toml_problem(exc, text)))) from None
    except _TooDeep as exc:
        raise InvalidInput(_("{where}: {message}").format(where=source, message=text_of(exc.problem))) from None
    unknown = sorted(set(data) - {"year", "source", "holidays", "workdays"})
    if unknown:
        raise InvalidInput(_("{source}: unknown key '{key}' (use year, source, [holidays] and [workdays])").format(
            source=source, key=unknown[0]))
    if "year" in data and data["year"] != year:
        raise InvalidInput(_("{source}: the file is for {found}, not {year}").format(
            source=source, found=repr(data["year"]), year=year))
    tables = {}
    for key in ("holidays", "workdays"):
        table = data.get(key, {})
        if not isinstance(table, dict):
            raise InvalidInput(_("{source}: {key} must be a table of date = name").format(source=source, key=key))
        days: dict[date, str] = {}
        for k, name in table.items():
            try:
                d = date.fromisoformat(str(k))
            except ValueError:
                raise InvalidInput(_("{source}: {key}: not a date (YYYY-MM-DD)").format(source=source, key=f"{key}.{k}")) from None
            if not isinstance(name, str):
                raise InvalidInput(_("{source}: {key}: the name must be text, e.g. \"春节\"").format(
                    source=source, key=f"{key}.{k}"))
            days[d] = clean_text(name, f"{key}.{k}", max_len=MAX_NAME)
        tables[key] = days
    if not tables["holidays"]:
        raise InvalidInput(_("{source}: no holidays: a year's schedule names its holidays in [holidays]").format(source=source))
    origin = str(data.get("source") or source)
    try:
        return YearTable(year, tables["holidays"], tables["workdays"], "loaded", origin)
    except Invalid as exc:
        raise InvalidInput(_("{where}: {message}").format(where=source, message=text_of(exc.message))) from None


def set_year(app: App, year: int, path: Path | None, *, remove: bool = False) -> dict:
    """Load (or with ``remove`` forget) the official schedule of ``year``; administrators only."""
    from ..models import CalendarYear
    from ..rules.calendar import COVERED_YEARS

    app.require_admin(_("load a holiday schedule"))
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise InvalidInput(_("year {year} is outside {first}-{last}").format(year=year, first=EARLIEST_DATE.year,
                                                                             last=LATEST_DATE.year))
    now = app.now()
    if remove:
        with app.db.write() as s:
            row = s.get(CalendarYear, year)
            if row is None:
                raise RuleViolation(_("no schedule was loaded for {year}").format(year=year))
            before = {"holidays": len(row.holidays), "workdays": len(row.workdays), "origin": row.origin}
            s.delete(row)
            audit.record(s, app, "calendar.set-year", "calendar_year", str(year), before=before, after=None, at=now)
        return {"year": year, "removed": True}
    if COVERED_YEARS is not None and COVERED_YEARS[0] <= year <= COVERED_YEARS[1]:
        raise RuleViolation(_("the installed chinesecalendar already has the official {year} schedule: "
                              "a loaded one would never be used").format(year=year))
    if path is None:
        raise InvalidInput(_("give the schedule FILE (or --remove)"))
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(_("no file {path}").format(path=path) if not path.exists()
                           else _("{path} is not a file").format(path=path))
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(_("{file} is larger than 1 MB: not a holiday schedule").format(file=path.name))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("{file} is not UTF-8 text").format(file=path.name)) from None
    except OSError as exc:
        raise InvalidInput(_("cannot read {path}: {problem}").format(path=path, problem=exc.strerror)) from None
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
