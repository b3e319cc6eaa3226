"""``crmctl audit``: who did what, when, before and after."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, OutputOpt, open_app, renamed, spec

app = typer.Typer(help="Read the audit trail of every change.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only changes to this customer code.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only changes at or after this date (YYYY-MM-DD) or date-time.")] = None,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Only changes made by this login (themselves, or acting for someone).")] = None,
    action: Annotated[Optional[str], typer.Option("--action", help="Only this action, e.g. customer.edit or 'customer.*'.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the last N entries (the most recent).")] = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
    last: Annotated[Optional[int], typer.Option("--last", min=1, hidden=True)] = None,
) -> None:
    """List audit entries, oldest first."""
    from ..output import emit_rows
    from ..rules.times import parse_datetime
    from ..services.audit import AUDIT_KEYS, list_entries
    from ..views.admin import audit_columns

    app_ = open_app(ctx)
    since_at = None
    if since:
        since_at = parse_datetime(since, app_.tz, "--since", now=app_.now())
    limit = renamed(limit, last, new="--limit", old="--last")
    rows = list_entries(app_, customer=customer, since=since_at, actor=actor, action=action, limit=limit)
    emit_rows(spec(format, output, bom, encoding, labels), rows, audit_columns(), fields=AUDIT_KEYS)
