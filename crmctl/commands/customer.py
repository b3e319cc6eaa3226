"""``crmctl customer``: the customer registry."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from .. import i18n
from ..i18n import _, ngettext
from ._common import (BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, OutputOpt, info, warn, open_app, parse_at, parse_pairs,
                      print_created, progress, spec)

TERMINAL_ROWS = 50  # customer list as a table on a terminal: one screenful, then how many more

app = typer.Typer(help="Add, find, show, edit and import customers; admission, disqualification, contacts.",
                  no_args_is_help=True)

SegmentOpt = Annotated[Optional[List[str]], typer.Option("--segment", "-s", help="KEY=VALUE by code or Chinese label; repeat.")]
FieldOpt = Annotated[Optional[List[str]], typer.Option("--field", help="Custom field KEY=VALUE; repeat.")]
CodeArg = Annotated[str, typer.Argument(help="Customer code, e.g. C000123.")]
AllowDuplicateNameOpt = Annotated[bool, typer.Option(
    "--allow-duplicate-name",
    help="Record it although a customer of the same name exists (width, spaces, case and 有限公司 forms set aside), "
         "where the policy keeps names unique; audited.")]


def _warn(warnings) -> None:
    for w in warnings or ():
        warn(w)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", "-n", help="Customer name, e.g. 河北华塑化工有限公司.")],
    segment: SegmentOpt = None,
    field: FieldOpt = None,
    tax_id: Annotated[Optional[str], typer.Option("--tax-id", help="18-character unified social credit code.")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Staff login keeping the customer (default: you).")] = None,
    prospect: Annotated[bool, typer.Option("--prospect", help="Create as a prospect (potential customer).")] = False,
    code: Annotated[Optional[str], typer.Option("--code", help="Use this code instead of the next one.")] = None,
    allow_duplicate_name: AllowDuplicateNameOpt = False,
    format: FormatOpt = Format.table,
) -> None:
    """Add a customer; prints the new code (a customer of the same name is warned about, or refused
    where the policy keeps names unique).

    Examples:
      crmctl customer add --name 沧州鑫源塑业有限公司 -s product_line=other -s channel=经销商
      crmctl customer add --name 沧州鑫源塑业 -s product_line=other -s channel=经销商 --prospect
    """
    from ..services.customers import add_customer

    app_ = open_app(ctx)
    result = add_customer(app_, name, parse_pairs(segment, "--segment"), parse_pairs(field, "--field"),
                          tax_id=tax_id, owner=owner, prospect=prospect, code=code,
                          allow_duplicate_name=allow_duplicate_name)
    _warn(result.pop("warnings", None))
    print_created(spec(format), result, "code")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option("--status", help="prospect, pending, active, suspended or disqualified, by code or the policy's label (正式客户).")] = None,
    grade: Annotated[Optional[str], typer.Option("--grade", help="Grade code or label (SCALE:GRADE when ambiguous).")] = None,
    segment: SegmentOpt = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only customers kept by this login.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Only names containing this text.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=0, help="At most N customers; 0: all (a table on a terminal shows 50 unless told).")] = None,
    stability: Annotated[Optional[str], typer.Option("--stability", help="existing, lost or potential, by code or label (流失客户), where the policy defines stability.")] = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List customers (streamed; CSV columns are the JSON keys, nested ones flattened).

    Examples:
      crmctl customer list --status active --limit 20
      crmctl customer list --grade star3 --format csv --output star3.csv
    """
    from ..output import emit_rows, emit_tuples
    from ..services.customers import export_customers, list_customers
    from ..views.customers import customer_columns

    app_ = open_app(ctx)
    filters = dict(status=status, grade=grade, segment=parse_pairs(segment, "--segment"), owner=owner,
                   name_like=name, limit=limit or None, stability=stability)
    out = spec(format, output, bom, encoding, labels)
    if (out.format == "csv" and not out.labels) or out.format == "xlsx":  # the export path: flat rows from one query
        fields, rows = export_customers(app_, text_cells=out.format == "csv", **filters)
        emit_tuples(out, fields, rows, label_columns=customer_columns(app_) if out.format == "xlsx" else None)
    else:
        # a table on a terminal: the first screenful, and how many more (CSV and JSON stay complete)
        screen = out.format == "table" and limit is None and out.output is None and sys.stdout.isatty()
        emit_rows(out, list_customers(app_, **filters), customer_columns(app_, full=out.format != "table"),
                  table_rows=TERMINAL_ROWS if screen else None, more_hint=_("--limit 0 shows all, --format csv exports them"))


@app.command("show")
def show(ctx: typer.Context, code: CodeArg, format: FormatOpt = Format.table, output: OutputOpt = None,
         bom: BomOpt = False, labels: LabelsOpt = False, encoding: EncodingOpt = Encoding.utf8) -> None:
    """Everything about one customer: fields, grades, documents, approvals, contacts, recent notes.

    Examples:
      crmctl customer show C000002
      crmctl customer show C000002 --format json
    """
    from ..services.customers import customer_dict

    app_ = open_app(ctx)
    data = customer_dict(app_, code, full=True)
    out = spec(format, output, bom, encoding, labels)
    if out.format != "table":
        from ..output import emit_object
        from ..views.customers import customer_columns

        emit_object(out, data, customer_columns(app_) if out.labels else None)
        return
    from ..views.customer_card import render_customer

    if data.get("stability") and app_.policy.stability is not None:
        # shown with the custom fields (customer_view renders those rows as label -> value)
        label = getattr(app_.policy.stability.labels, data["stability"], data["stability"])
        data = {**data, "fields": {**data["fields"], "稳定性 stability": f"{label} ({data['stability']})"}}
    render_customer(app_, data, out)


@app.command("edit")
def edit(
    ctx: typer.Context,
    code: CodeArg,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="New name.")] = None,
    segment: SegmentOpt = None,
    field: FieldOpt = None,
    tax_id: Annotated[Optional[str], typer.Option("--tax-id", help="New tax id ('' clears it).")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="New owner login.")] = None,
    allow_duplicate_name: AllowDuplicateNameOpt = False,
    format: FormatOpt = Format.table,
) -> None:
    """Change a customer's file (each change audited with before/after); empty VALUE clears a field."""
    from ..services.customers import edit_customer

    result = edit_customer(open_app(ctx), code, name=name, segments=parse_pairs(segment, "--segment"),
                           fields=parse_pairs(field, "--field"), tax_id=tax_id, owner=owner,
                           allow_duplicate_name=allow_duplicate_name)
    _warn(result.pop("warnings", None))
    print_created(spec(format), result, "code")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV file or .xlsx workbook with a header row: name (required), code, tax_id, owner, status, created_at, segment and field keys; or the Chinese headings and labels; or the columns of 'customer list --format csv'.")],
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Of a CSV file: utf-8 (with or without BOM, the default), gb18030 or gbk (read as gb18030). Not for an .xlsx workbook.")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="The sheet of an .xlsx workbook to read (default: the first).")] = None,
    allow_duplicates: Annotated[bool, typer.Option("--allow-duplicates", help="Import a file that was imported before.")] = False,
    admitted: Annotated[bool, typer.Option("--admitted", help="Take the rows as already admitted (active, or their status column), for moving from an older system; administrators only, audited.")] = False,
    allow_duplicate_name: AllowDuplicateNameOpt = False,
) -> None:
    """Import customers from CSV or an .xlsx workbook: all rows or none; a bad row is named with its reason.

    Rows start where 'customer add' starts them: prospects under an admission chain.  The CSV of
    'customer list --format csv' re-imports (derived columns such as grades are named and ignored);
    headings and values may be the policy's Chinese labels.  Names repeating each other or a
    customer's are warned about, or refused where the policy keeps names unique.

    Examples:
      crmctl customer import customers.csv
      crmctl customer import old-system.xlsx --sheet 客户 --admitted
    """
    from ..services.customers import import_customers

    result = import_customers(open_app(ctx), file, encoding=encoding, sheet=sheet, allow_duplicates=allow_duplicates,
                              admitted=admitted, allow_duplicate_name=allow_duplicate_name, progress=progress)
    typer.echo(result["imported"])
    n = result["imported"]
    info(ngettext("imported {n} customer from {file} (batch {batch})", "imported {n} customers from {file} (batch {batch})",
                  n).format(n=n, file=result["file"], batch=result["batch"]))
    if result["ignored"]:
        info(_("ignored columns: {columns}").format(columns=i18n.text(result["ignored"])))
    if result["restarted"]:
        from ..rules.names import describe_rows

        info(_("pending customers start as prospects again (their approvals are not in the file): {rows}").format(
            rows=i18n.text(describe_rows(result["restarted"], most=10))))
    if result["duplicate_names"] and allow_duplicate_name:
        info(_("{n} duplicate name(s) imported with --allow-duplicate-name (noted in the audit trail)").format(
            n=result["duplicate_names"]))
    _warn(result["warnings"])


@app.command("submit")
def submit(
    ctx: typer.Context,
    code: CodeArg,
    criterion: Annotated[Optional[List[str]], typer.Option("--criterion", help="Admission criterion KEY=SCORE where the policy scores them; repeat.")] = None,
) -> None:
    """Submit a prospect for admission: its required documents must be present and valid."""
    from ..services.customers import submit as do_submit

    app_ = open_app(ctx)
    r = do_submit(app_, code, criteria=parse_pairs(criterion, "--criterion"))
    typer.echo(r["status"])
    if r["waiting_for"]:
        info(_("{code} is pending; waiting for {waiting_for}").format(
            code=code, waiting_for=i18n.label(r["waiting_for"], app_.policy.roles)))


@app.command("disqualify")
def disqualify(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[str, typer.Option("--reason", help="A reason of the policy (e.g. fraud, loss, violation).")],
    note: Annotated[Optional[str], typer.Option("--note", help="Details for the file.")] = None,
) -> None:
    """Disqualify a customer (final unless the policy's reinstating role reinstates it)."""
    from ..services.customers import disqualify as do

    typer.echo(do(open_app(ctx), code, reason, note)["status"])


@app.command("reinstate")
def reinstate(ctx: typer.Context, code: CodeArg,
              note: Annotated[Optional[str], typer.Option("--note", help="Why.")] = None) -> None:
    """Reinstate a disqualified customer to its former status (the policy's role only, e.g. gm)."""
    from ..services.customers import reinstate as do

    typer.echo(do(open_app(ctx), code, note)["status"])


contact_app = typer.Typer(help="Staff contacts of a customer (who deals with them).", no_args_is_help=True)
app.add_typer(contact_app, name="contact")


@contact_app.command("add")
def contact_add(ctx: typer.Context, code: CodeArg,
                staff: Annotated[str, typer.Option("--staff", help="Staff login.")]) -> None:
    """Record that a staff member is in contact with the customer."""
    from ..services.customers import add_contact

    typer.echo(add_contact(open_app(ctx), code, staff)["contact"])


@contact_app.command("check")
def contact_check(ctx: typer.Context, format: FormatOpt = Format.table, output: OutputOpt = None,
                  bom: BomOpt = False, labels: LabelsOpt = False, encoding: EncodingOpt = Encoding.utf8) -> None:
    """Important customers with fewer staff contacts than the policy asks (manufacturer: 2)."""
    from ..output import emit_rows
    from ..services.customers import contact_coverage
    from ..services.customers.contacts import CONTACT_CHECK_KEYS
    from ..views.customers import contact_columns

    app_ = open_app(ctx)
    emit_rows(spec(format, output, bom, encoding, labels), contact_coverage(app_), contact_columns(),
              fields=CONTACT_CHECK_KEYS)


@app.command("note")
def note(
    ctx: typer.Context,
    code: CodeArg,
    channel: Annotated[str, typer.Option("--channel", help="call, letter, fax, visit, email, sms, meeting or other, by code or label (电话, 信函, 传真, 走访, 电子邮件, 短信, 会议, 其他).")],
    text: Annotated[str, typer.Option("--text", help="What was said or sent.")],
    at: Annotated[Optional[str], typer.Option("--at", help="When (default now).")] = None,
) -> None:
    """Log a business contact (letter, fax, call ...) in the customer's file; prints its id."""
    from ..services.customers import add_note

    app_ = open_app(ctx)
    typer.echo(add_note(app_, code, channel, text, parse_at(app_, at))["id"])
