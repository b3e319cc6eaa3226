"""``crmctl doc``: qualification documents and their expiry."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..i18n import _
from ._common import (BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, info, limited, open_app,
                      print_created, spec, summary_wanted)

app = typer.Typer(help="Add and list customer documents; suspend customers whose documents expired or are missing.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    type_: Annotated[str, typer.Option("--type", "-t", help="Document type of the policy, by code or label.")],
    number: Annotated[Optional[str], typer.Option("--number", help="Certificate or licence number.")] = None,
    expires: Annotated[Optional[str], typer.Option("--expires", help="Expiry date YYYY-MM-DD (required for expiring types).")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Add a document to a customer's file; a renewal reactivates a suspended customer. Prints its id.

    Examples:
      crmctl doc add C000002 --type tax_registration --number 1319904008 --expires 2027-10-24
    """
    from ..services.documents import add_document

    r = add_document(open_app(ctx), code, type_, number, expires)
    print_created(spec(format), r, "id")
    if r["reactivated"] and format != Format.json:
        info(_("{code} reactivated: its required documents are valid again").format(code=code))


@app.command("list")
def list_(
    ctx: typer.Context,
    expiring_within: Annotated[Optional[int], typer.Option("--expiring-within", help="Only documents expiring within DAYS (expired ones included).", metavar="DAYS")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's documents.")] = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List documents, soonest expiry first.

    Examples:
      crmctl doc list --expiring-within 30
      crmctl doc list --customer C000002
    """
    from ..output import emit_rows
    from ..services.documents import list_documents
    from ..views.customers import document_columns

    app_ = open_app(ctx)
    rows = list_documents(app_, expiring_within=expiring_within, customer=customer)
    from ..services.documents import DOCUMENT_KEYS

    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), document_columns(), fields=DOCUMENT_KEYS)


@app.command("check")
def check(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """Suspend active customers whose required document expired, or is missing where the policy
    says so; list the ones missing one; reactivate the ones whose documents are complete again.

    Examples:
      crmctl doc check
      crmctl doc check --format json
    """
    from ..output import emit_object
    from ..services.documents import check_documents

    r = check_documents(open_app(ctx))
    out = spec(format)
    if out.format == "json":
        emit_object(out, r)
        return
    if not summary_wanted(bool(r["suspended"] or r["reactivated"] or r["missing"])):  # missing: to act on
        return
    typer.echo(_("suspended {suspended}, reactivated {reactivated}, missing {missing}").format(
        suspended=len(r["suspended"]), reactivated=len(r["reactivated"]), missing=len(r["missing"])))
    groups = ((r["suspended"], _("suspended")), (r["reactivated"], _("reactivated")), (r["missing"], _("missing")))
    width = max(len(word) for _codes, word in groups)
    for codes, word in groups:
        for code in codes:
            typer.echo(f"  {word:<{width}} {code}")
