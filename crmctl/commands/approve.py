"""``crmctl approve``: the acting person's step of the admission chain."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import i18n
from ..i18n import _
from ._common import BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, OutputOpt, info, open_app, spec


app = typer.Typer()  # one command; crmctl.cli loads it on first use


@app.command("approve")
def approve(
    ctx: typer.Context,
    code: Annotated[Optional[str], typer.Argument(help="Customer code awaiting your step.")] = None,
    reject: Annotated[bool, typer.Option("--reject", help="Reject: the customer goes back to prospect.")] = False,
    comment: Annotated[Optional[str], typer.Option("--comment", "-m", help="Opinion; required with --reject.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the admissions waiting for you.")] = False,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Approve (or --reject) your step of a customer's admission; --list shows what waits for you.

    Examples:
      crmctl approve --list
      crmctl --as sales01 approve C000201 --comment 资质齐全
      crmctl --as sales01 approve C000201 --reject --comment 缺少营业执照
    """
    from ..errors import InvalidInput

    app_ = open_app(ctx)
    if list_:
        if code or reject or comment:
            raise InvalidInput(_("--list takes no customer code, --reject or --comment"))
        from ..output import emit_rows
        from ..services.complaints import pending_requests
        from ..services.customers import waiting_for
        from ..services.customers.admission import APPROVAL_KEYS
        from ..views.customers import approval_columns

        rows = waiting_for(app_)
        if app_.policy.complaints is not None:
            rows += pending_requests(app_)
        emit_rows(spec(format, output, bom, encoding, labels), rows, approval_columns(app_), fields=APPROVAL_KEYS)
        return
    if output is not None or bom or labels or encoding != Encoding.utf8:
        raise InvalidInput(_("--output, --bom, --encoding and --labels go with --list"))
    if not code:
        raise InvalidInput(_("give a customer code, or --list"))
    from ..services.customers import approve as do_approve

    r = do_approve(app_, code, reject=reject, comment=comment)
    out = spec(format)
    if out.format == "json":
        from ..output import emit_object

        emit_object(out, r)
        return
    typer.echo(r["status"])
    if r["waiting_for"]:
        info(_("step {step} ({role}) approved; waiting for {waiting_for}").format(
            step=r["step"], role=i18n.label(r["role"], app_.policy.roles),
            waiting_for=i18n.label(r["waiting_for"], app_.policy.roles)))
