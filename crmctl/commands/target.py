"""``crmctl target``: Market-development targets per customer manager per quarter."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import (BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, limited, open_app,
                      print_created, spec)

app = typer.Typer(help="Market-development targets per customer manager per quarter.", no_args_is_help=True)


@app.command("set")
def set_(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The customer manager's login.")],
    quarter: Annotated[str, typer.Option("--quarter", "--label", help="The period, e.g. 2026-Q4 (the policy's development.targets_per).")],
    prospects: Annotated[int, typer.Option("--prospects", help="Prospects to develop (files opened) in the period.")],
    admitted: Annotated[int, typer.Option("--admitted", help="Prospects to bring to admission in the period.")],
    format: FormatOpt = Format.table,
) -> None:
    """Set (or replace) a manager's development targets for a quarter (petrochem Art. 6); prints the login."""
    from ..services.activities import set_target

    print_created(spec(format), set_target(open_app(ctx), login, quarter, prospects, admitted), "login")


@app.command("list")
def list_(
    ctx: typer.Context,
    quarter: Annotated[Optional[str], typer.Option("--quarter", "--label", help="Only this period.")] = None,
    login: Annotated[Optional[str], typer.Option("--login", help="Only this manager.")] = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List development targets by period and manager."""
    from ..output import emit_rows
    from ..services.activities import list_targets
    from ..services.activities.targets import TARGET_KEYS
    from ..views.activities import target_columns

    rows = list_targets(open_app(ctx), label=quarter, login=login)
    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), target_columns(), fields=TARGET_KEYS)
