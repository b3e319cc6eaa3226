"""``crmctl visit``: Plan, log and list visits, calls, inspections and greetings by the policy's cadences."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from ._common import (BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, parse_pairs, print_created,
                      progress, spec)

app = typer.Typer(help="Plan, log and list visits, calls, inspections and greetings by the policy's cadences.", no_args_is_help=True)

MonthOpt = Annotated[str, typer.Option("--month", "-m", help="The month, YYYY-MM.", metavar="YYYY-MM")]
STATUS_LABELS = {"planned": "计划中", "done": "已完成", "missed": "未完成"}


def activity_columns(app_):
    from ..output import Column

    kinds = app_.policy.activities.kinds
    return [Column("id", justify="right"), Column("customer", "客户"),
            Column("kind", "类别", table_format=lambda v: kinds.get(v, v)), Column("due_date", "计划日期"),
            Column("owner", "负责人"), Column("status", "状态", table_format=lambda v: STATUS_LABELS.get(v, v)),
            Column("planned", "计划内"), Column("done_at", "完成时间"), Column("done_by", "完成人"),
            Column("notes", "备注"), Column("note", "说明")]


@app.command("plan")
def plan(
    ctx: typer.Context,
    month: MonthOpt,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only what this login would own (their customers; role duties if they hold the role).")] = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
) -> None:
    """Plan the activities due in a month by the policy's cadences; a second run adds nothing.

    Prints the new activities per owner and kind.  --format json prints one summary object:
    month, owner, planned, already_planned, unassigned, owners [{owner, kinds, planned}], warnings.
    The activities themselves: 'crmctl visit list --month YYYY-MM --format json'.
    """
    from ..output import Column, emit_object, emit_rows
    from ..services.activities import plan_visits

    app_ = open_app(ctx)
    r = plan_visits(app_, month, owner, progress=progress)
    for w in r["warnings"]:
        info(f"warning: {w}")
    out = spec(format, output)
    if out.format == "json":
        emit_object(out, r)
        return
    kinds = app_.policy.activities.kinds
    if out.format == "csv":
        rows = [{"month": r["month"], "owner": o["owner"], "kind": k, "planned": n}
                for o in r["owners"] for k, n in o["kinds"].items()]
        emit_rows(out, rows, [Column("month"), Column("owner"), Column("kind"), Column("planned")])
        return
    rows = [{"owner": o["owner"] or "(无负责人)", "planned": o["planned"],
             "kinds": "、".join(f"{kinds.get(k, k)} {n}" for k, n in o["kinds"].items())} for o in r["owners"]]
    if rows:
        emit_rows(out, rows, [Column("owner", "负责人"), Column("planned", "新计划", justify="right"),
                              Column("kinds", "类别")])
    typer.echo(f"{r['month']}: planned {r['planned']} activities"
               + (f" ({r['already_planned']} already planned)" if r["already_planned"] else "")
               + (f", {r['unassigned']} without an owner" if r["unassigned"] else ""))


@app.command("log")
def log(
    ctx: typer.Context,
    code: Annotated[Optional[str], typer.Argument(help="Customer code (may be left out with --planned, and for a company-wide activity such as a symposium).")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", "-k", help="Activity kind of the policy, by code or label (default: the planned one's).")] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="When it was done (default now; no offset = policy time zone).")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="What happened.")] = None,
    planned: Annotated[Optional[int], typer.Option("--planned", help="The planned activity this completes.", metavar="ID")] = None,
    field: Annotated[Optional[List[str]], typer.Option("--field", help="Report field KEY=VALUE of the kind (petrochem visit: product_info, market_info, service_quality, needs); repeat.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Log a done visit, call, inspection ...; prints its id.  It counts toward the cadence either way."""
    from ..services.activities import log_visit

    app_ = open_app(ctx)
    r = log_visit(app_, code, kind, at=parse_at(app_, at), notes=notes, planned=planned,
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
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False,
) -> None:
    """List planned and done activities, earliest due first (JSON: id, customer, kind, due_date, owner, status, …)."""
    from ..output import emit_rows
    from ..services.activities import list_visits

    app_ = open_app(ctx)
    rows = list_visits(app_, month=month, status=status, owner=owner, customer=customer, kind=kind)
    emit_rows(spec(format, output, bom), rows, activity_columns(app_))


@app.command("show")
def show(ctx: typer.Context, activity_id: Annotated[int, typer.Argument(help="Activity id.", metavar="ID")],
         format: FormatOpt = Format.table) -> None:
    """One activity with its report fields."""
    from ..output import emit_object
    from ..services.activities import get_activity

    emit_object(spec(format), get_activity(open_app(ctx), activity_id))
