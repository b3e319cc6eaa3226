"""``crmctl calendar``: The company calendar: working days, holidays, make-up days, deadlines."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ._common import BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, OutputOpt, open_app, parse_at, spec

app = typer.Typer(help="The company calendar: working days, holidays, make-up days, deadlines.", no_args_is_help=True)

_KIND_MARK = {"holiday": "*", "makeup_workday": "+", "weekend": "-", "workday": " "}


def _kind_word(kind: str) -> str:
    """A day's kind in the month's list (holiday 休 / 节假日 ...)."""
    from ..i18n import _

    return {"holiday": _("holiday 休"), "makeup_workday": _("make-up working day 班"), "weekend": _("weekend"),
            "workday": _("working day")}.get(kind, kind)


def _source_note(source: str) -> str:
    from ..i18n import _

    note = {"policy": _("(policy)"), "estimate": _("(estimate)"), "loaded": _("(loaded schedule)")}.get(source)
    return f" {note}" if note else ""


class Clock(str, Enum):
    working = "working"
    x24x7 = "24x7"


def _grid(year: int, month: int, days) -> list[str]:
    from ..i18n import _

    # each column five characters wide: "  Mon", " 周一" (a Chinese character is two columns)
    lines = [f"{year:04d}-{month:02d}", _("  Mon  Tue  Wed  Thu  Fri  Sat  Sun")]
    row = ["     "] * days[0].date.weekday()
    for d in days:
        row.append(f"{d.date.day:4d}{_KIND_MARK.get(d.kind, ' ')}")
        if len(row) == 7:
            lines.append("".join(row).rstrip())
            row = []
    if row:
        lines.append("".join(row).rstrip())
    lines.append(_("* holiday   + make-up working day   - weekend"))
    return lines


@app.command("show")
def show(
    ctx: typer.Context,
    month: Annotated[Optional[str], typer.Option("--month", help="YYYY-MM (default: this month).")] = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Show a month: working days, holidays and make-up working days (调休) with their names."""
    from ..errors import InvalidInput
    from ..i18n import _, current
    from ..output import emit_rows, emit_text
    from ..rules.calendar import holiday_name, weekday_name
    from ..services.calendar_days import CALENDAR_DAY_KEYS, day_rows

    app_ = open_app(ctx, need_actor=False)
    if month is None:
        now = app_.now()
        year, mon = now.year, now.month
    else:
        from ..rules.periods import parse_month

        first = parse_month(month).start  # 2026-10, 2026年10月, full-width forms
        year, mon = first.year, first.month
    try:
        days = app_.calendar.month(year, mon)
    except ValueError as exc:  # a rule's refusal, or a date past what datetime can hold
        raise InvalidInput(getattr(exc, "message", None) or str(exc)) from None
    out = spec(format, output, bom, encoding, labels)
    if out.format != "table":
        emit_rows(out, day_rows(days), fields=CALENDAR_DAY_KEYS)
        return
    lines = _grid(year, mon, days)
    marked = [d for d in days if d.kind in ("holiday", "makeup_workday")]
    if marked:
        lines.append("")
    chinese = current() == "zh"
    for d in marked:
        name = holiday_name(d.name, chinese) or ""
        lines.append(f"{d.date.isoformat()} {weekday_name(d.date, _)}  {_kind_word(d.kind)}  "
                     f"{name}{_source_note(d.source)}".rstrip())
    if any(d.source == "estimate" for d in days):
        lines.append(_("{year}: estimated holidays and make-up days, not yet the official schedule").format(year=year))
    if any(d.source == "fallback" for d in days):
        lines.append(_("{year}: no official holiday data; weekends and the policy's own holidays only").format(year=year))
    working = sum(d.working for d in days)
    lines.append(_("{working} working days, {off} days off ({timezone})").format(
        working=working, off=len(days) - working, timezone=app_.calendar.timezone))
    emit_text(out, "\n".join(lines))


@app.command("due")
def due(
    ctx: typer.Context,
    in_: Annotated[str, typer.Option("--in", help="A duration: '24 h', '3 working days', '6 working hours', '1 month'.")],
    from_: Annotated[Optional[str], typer.Option("--from", help="Start (ISO date-time; default now; no offset = policy time zone).")] = None,
    clock: Annotated[Optional[Clock], typer.Option("--clock", help="Count on the working calendar (default) or 24x7.",
                                                   case_sensitive=False)] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Print the deadline DURATION after a start on the company calendar, with the steps that made it."""
    from ..errors import InvalidInput
    from ..i18n import _, current
    from ..output import emit_object

    app_ = open_app(ctx, need_actor=False)
    start = parse_at(app_, from_, "--from") or app_.now()
    cal = app_.clock_calendar if clock == Clock.x24x7 else app_.calendar
    out = spec(format)
    try:
        if out.format == "table":  # the steps in the language of the messages
            steps = cal.explain(start, in_, tr=_, chinese=current() == "zh")
        else:  # JSON does not change with the language
            steps = cal.explain(start, in_)
        deadline = cal.add(start, in_)
    except ValueError as exc:  # a rule's refusal, or a date past what datetime can hold
        from ..i18n import text

        raise InvalidInput(_("{where}: {message}").format(where="--in", message=text(getattr(exc, "message", None)
                                                                                     or str(exc)))) from None
    if out.format != "table":
        emit_object(out, {"from": start.astimezone(app_.tz), "in": in_.strip(), "due": deadline, "steps": steps})
        return
    typer.echo(deadline.isoformat())
    for step in steps:
        typer.echo(f"  {step}")


@app.command("set-year")
def set_year(
    ctx: typer.Context,
    year: Annotated[int, typer.Argument(help="The year of the schedule, e.g. 2027.")],
    file: Annotated[Optional[str], typer.Argument(help="TOML: [holidays] and [workdays] tables of YYYY-MM-DD = name.",
                                                  metavar="FILE")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Forget the loaded schedule (back to crmctl's estimate).")] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Load the State Council's holiday schedule of a year the holiday library does not cover yet (administrators).

    Deadlines computed from then on follow it (until a chinesecalendar release covers the year);
    deadlines already stored keep their dates.
    """
    from pathlib import Path

    from ..errors import InvalidInput
    from ..output import emit_object
    from ..services.calendar_years import set_year as do

    from ..i18n import _

    if remove and file:
        raise InvalidInput(_("give FILE or --remove, not both"))
    r = do(open_app(ctx), year, Path(file) if file else None, remove=remove)
    out = spec(format)
    if out.format == "json":
        emit_object(out, r)
    elif remove:
        typer.echo(_("{year}: loaded schedule removed; counting on crmctl's estimate again").format(year=year))
    else:
        if r["replaced"]:
            line = _("{year}: {holidays} holidays and {workdays} make-up working days loaded from {origin} "
                     "(replacing the one loaded before)")
        else:
            line = _("{year}: {holidays} holidays and {workdays} make-up working days loaded from {origin}")
        typer.echo(line.format(year=year, holidays=r["holidays"], workdays=r["workdays"], origin=r["origin"]))
        typer.echo(_("deadlines already computed keep their dates"), err=True)
