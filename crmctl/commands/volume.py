"""``crmctl volume``: Record customer usage (tonnes, litres, m³) one by one or from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..i18n import ngettext
from ._common import Format, FormatOpt, info, open_app, print_created, progress, spec

app = typer.Typer(help="Record customer usage (tonnes, litres, m³) one by one or from CSV.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    qty: Annotated[str, typer.Option("--qty", help="Quantity in the policy's unit (t, L, m³); not negative.")],
    date: Annotated[Optional[str], typer.Option("--date", "-d", help="Day of the purchase YYYY-MM-DD (default today).")] = None,
    product: Annotated[Optional[str], typer.Option("--product", "-p", help="Product, e.g. 聚乙烯 or 92#.")] = None,
    amount: Annotated[Optional[str], typer.Option("--amount", "-a", help="Money paid (yuan); not negative.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Record one usage record (a lifting, a refuelling, a meter reading); prints its id."""
    from ..services.volumes import add_volume

    print_created(spec(format), add_volume(open_app(ctx), code, qty, day=date, product=product, amount=amount), "id")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV file or .xlsx workbook with a header row: customer,date,qty[,product,amount].")],
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Of a CSV file: utf-8 (with or without BOM, the default), gb18030 or gbk (read as gb18030). Not for an .xlsx workbook.")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="The sheet of an .xlsx workbook to read (default: the first).")] = None,
    allow_duplicates: Annotated[bool, typer.Option("--allow-duplicates", help="Import a file that was imported before.")] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Import usage records from CSV or an .xlsx workbook: all rows or none; a bad row is named with its reason. Prints the count.

    Examples:
      crmctl volume import volumes.csv
      crmctl volume import 2026-11.xlsx --sheet 销量
    """
    from ..services.volumes import import_volumes

    result = import_volumes(open_app(ctx), file, encoding=encoding, sheet=sheet, allow_duplicates=allow_duplicates,
                            progress=progress)
    out = spec(format)
    if out.format == "json":
        from ..output import emit_object

        emit_object(out, result)
        return
    typer.echo(result["imported"])
    n = result["imported"]
    info(ngettext("imported {n} usage record from {file} (batch {batch})",
                  "imported {n} usage records from {file} (batch {batch})", n).format(
        n=n, file=result["file"], batch=result["batch"]))
