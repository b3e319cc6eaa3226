"""``crmctl plan``: Monthly sales plans of exclusive agents (for the completion rate)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, limited, open_app, spec

app = typer.Typer(help="Monthly sales plans of exclusive agents (for the completion rate).", no_args_is_help=True)


@app.command("set")
def set_(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    month: Annotated[str, typer.Option("--month", "-m", help="Plan month YYYY-MM.")],
    qty: Annotated[str, typer.Option("--qty", help="Planned volume in the policy's unit; not negative.")],
    format: FormatOpt = Format.table,
) -> None:
    """Set (or replace) a customer's plan for one month."""
    from ..services.sales_plans import set_plan

    result = set_plan(open_app(ctx), code, month, qty)
    out = spec(format)
    if out.format == "json":
        from ..output import emit_object

        emit_object(out, result)
        return
    typer.echo(f"{result['customer']} {result['month']} {result['qty']:g} {result['unit']}")


@app.command("list")
def list_(
    ctx: typer.Context,
    month: Annotated[Optional[str], typer.Option("--month", "-m", help="Only plans of this month YYYY-MM.")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's plans.")] = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Plans with the actual volume of their month and the completion rate (%)."""
    from ..output import emit_rows
    from ..services.sales_plans import SALES_PLAN_KEYS, list_plans
    from ..views.customers import sales_plan_columns

    app_ = open_app(ctx)
    rows = list_plans(app_, month=month, customer=customer)
    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), sales_plan_columns(), fields=SALES_PLAN_KEYS)
