"""``crmctl audit``: who did what, when, before and after."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import BomOpt, Format, FormatOpt, OutputOpt, open_app, spec

app = typer.Typer(help="Read the audit trail of every change.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only changes to this customer code.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only changes at or after this date (YYYY-MM-DD) or date-time.")] = None,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Only changes made by this login.")] = None,
    action: Annotated[Optional[str], typer.Option("--action", help="Only this action, e.g. customer.edit or 'customer.*'.")] = None,
    last: Annotated[Optional[int], typer.Option("--last", min=1, help="Only the last N entries.")] = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False,
) -> None:
    """List audit entries, oldest first."""
    import json

    from ..errors import InvalidInput
    from ..output import Column, emit_rows
    from ..rules.times import parse_datetime
    from ..services.audit import list_entries

    app_ = open_app(ctx)
    since_at = None
    if since:
        try:
            since_at = parse_datetime(since, app_.tz, "--since")
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None

    def compact(v):
        return "" if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True)[:200]

    columns = [
        Column("id"), Column("at", "时间"), Column("actor", "操作人"), Column("action", "操作"),
        Column("entity", "对象"), Column("key", "编号"), Column("customer", "客户"),
        Column("before", "变更前", table_format=compact), Column("after", "变更后", table_format=compact),
        Column("policy_version", "制度版本"), Column("note", "备注"),
    ]
    rows = list_entries(app_, customer=customer, since=since_at, actor=actor, action=action, limit=last)
    emit_rows(spec(format, output, bom), rows, columns)
