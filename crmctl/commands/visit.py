"""``crmctl visit``: Plan, log and list visits, calls, inspections and greetings by the policy's cadences."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from ..i18n import _, ngettext
from ._common import (BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, warn, limited, open_app, summary_wanted,
                      parse_at, parse_pairs, print_created, progress, renamed, spec)

app = typer.Typer(help="Plan, log and list visits, calls, inspections and greetings by the policy's cadences.", no_args_is_help=True)

MonthOpt = Annotated[str, typer.Option("--month", "-m", help="The month, YYYY-MM.", metavar="YYYY-MM")]

@app.command("plan")
def plan(
    ctx: typer.Context,
    month: MonthOpt,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only what this login would own (their customers; role duties if they hold the role).")] = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Plan the activities due in a month by the policy's cadences; a second run adds nothing.

    Prints the new activities per owner and kind.  --format json prints one summary object:
    month, owner, planned, already_planned, unassigned, owners [{owner, kinds, planned}], warnings.
    The activities themselves: 'crmctl visit list --month YYYY-MM --format json'.

    Examples:
      crmctl visit plan --month 2026-12
      crmctl visit plan --month 2026-12 --owner sales01
    """
    from ..output import emit_object, emit_rows
    from ..services.activities import plan_visits
    from ..views.activities import plan_columns, plan_csv_columns, plan_rows

    app_ = open_app(ctx)
    r = plan_visits(app_, month, owner, progress=progress)
    for w in r["warnings"]:
        warn(w)
    out = spec(format, output, bom, encoding, labels)
    if out.format == "json":
        emit_object(out, r)
        return
    if out.format in ("csv", "xlsx"):
        rows = [{"month": r["month"], "owner": o["owner"], "kind": k, "planned": n}
                for o in r["owners"] for k, n in o["kinds"].items()]
        emit_rows(out, rows, plan_csv_columns())
        return
    if not summary_wanted(bool(r["planned"])):
        return
    rows = plan_rows(app_, r)
    if rows:
        emit_rows(out, rows, plan_columns())
    line = ngettext("{month}: planned {n} activity", "{month}: planned {n} activities", r["planned"]).format(
        month=r["month"], n=r["planned"])
    if r["already_planned"]:
        line = _("{line} ({n} already planned)").format(line=line, n=r["already_planned"])
    if r["unassigned"]:
        line = _("{line}, {n} without an owner").format(line=line, n=r["unassigned"])
    typer.echo(line)


@app.command("log")
def log(
    ctx: typer.Context,
    code: Annotated[Optional[str], typer.Argument(help="Customer code (may be left out with --planned, and for a company-wide activity such as a symposium).")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", "-k", help="Activity kind of the policy, by code or label (default: the planned one's).")] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="When it was done (default now; no offset = policy time zone).")] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="What happened.")] = None,
    planned: Annotated[Optional[int], typer.Option("--planned", help="The planned activity this completes.", metavar="ID")] = None,
    field: Annotated[Optional[List[str]], typer.Option("--field", help="Report field KEY=VALUE of the kind (petrochem visit: product_info, market_info, service_quality, needs); repeat.")] = None,
    format: FormatOpt = Format.table,
    notes: Annotated[Optional[str], typer.Option("--notes", hidden=True)] = None,
) -> None:
    """Log a done visit, call, inspection ...; prints its id.  It counts toward the cadence either way.

    Examples:
      crmctl visit log --planned 242 --note 了解明年需求
      crmctl visit log C000002 --kind call --note 确认发货时间
    """
    from ..services.activities import log_visit

    note = renamed(note, notes, new="--note", old="--notes")
    app_ = open_app(ctx)
    r = log_visit(app_, code, kind, at=parse_at(app_, at), notes=note, planned=planned,
                  fields=parse_pairs(field, "--field"))
    print_created(spec(format), r, "id")


@app.command("list")
def list_(
    ctx: typer.Context,
    month: Annotated[Optional[str], typer.Option("--month", "-m", help="Only activities due in this month (YYYY-MM).", metavar="YYYY-MM")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="planned, done or missed (planned and its month is over).")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only this login's activities.")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's activities.")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", "-k", help="Only this kind.")] = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List planned and done activities, earliest due first (JSON: id, customer, kind, due_date, owner, status, …).

    Examples:
      crmctl visit list --month 2026-11 --status planned
      crmctl visit list --customer C000002 --format json
    """
    from ..output import emit_rows
    from ..services.activities import list_visits
    from ..views.activities import activity_columns

    app_ = open_app(ctx)
    rows = list_visits(app_, month=month, status=status, owner=owner, customer=customer, kind=kind)
    from ..services.activities.visits import activity_keys

    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), activity_columns(app_),
              fields=activity_keys(app_.policy))


@app.command("show")
def show(ctx: typer.Context, activity_id: Annotated[int, typer.Argument(help="Activity id.", metavar="ID")],
         format: FormatOpt = Format.table) -> None:
    """One activity with its report fields."""
    from ..output import emit_object
    from ..services.activities import get_activity

    emit_object(spec(format), get_activity(open_app(ctx), activity_id))
