"""``crmctl staff``: who works with customers, their roles, and hand-over when they leave."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from ._common import (BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, limited, open_app,
                      print_created, spec)

app = typer.Typer(help="Add and list staff, and hand over a leaver's customers and open work.", no_args_is_help=True)

@app.command("add")
def add(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ - @).")],
    name: Annotated[str, typer.Option("--name", help="Full name, e.g. 张伟.")],
    role: Annotated[List[str], typer.Option("--role", help="A role of the policy, by code or label; repeat for several.")],
    unit: Annotated[Optional[str], typer.Option("--unit", help="Department or station.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May manage staff and policies.")] = False,
    os_user: Annotated[Optional[str], typer.Option("--os-user", help="The OS account this person runs crmctl as (default: the login).", metavar="ACCOUNT")] = None,
    db_role: Annotated[Optional[str], typer.Option("--db-role", help="PostgreSQL: the database role this person connects as (default: the login).", metavar="ROLE")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Add a staff member with one or more of the policy's roles (an administrator's act).

    The person is who runs crmctl under the OS account --os-user (on PostgreSQL: connects as
    --db-role); both are the login itself unless given.  One account, one person.
    """
    from ..services.staff import add_staff

    print_created(spec(format), add_staff(open_app(ctx), login, name, role, unit, admin, os_user=os_user,
                                          db_role=db_role), "login")


@app.command("edit")
def edit(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The staff member to change.")],
    name: Annotated[Optional[str], typer.Option("--name", help="Full name.")] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="Department or station.")] = None,
    role: Annotated[Optional[List[str]], typer.Option("--role", help="Replace the roles: repeat for several.")] = None,
    os_user: Annotated[Optional[str], typer.Option("--os-user", help="Bind to this OS account.", metavar="ACCOUNT")] = None,
    db_role: Annotated[Optional[str], typer.Option("--db-role", help="PostgreSQL: bind to this database role.", metavar="ROLE")] = None,
    admin: Annotated[Optional[bool], typer.Option("--admin/--no-admin", help="Make (or stop making) the person an administrator.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Change a staff member's name, unit, roles, bindings or administrator flag (an administrator's act, audited)."""
    from ..services.staff import edit_staff

    print_created(spec(format), edit_staff(open_app(ctx), login, name=name, unit=unit, roles=role, os_user=os_user,
                                           db_role=db_role, is_admin=admin), "login")


@app.command("list")
def list_(
    ctx: typer.Context,
    role: Annotated[Optional[str], typer.Option("--role", help="Only staff holding this role.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include staff who have left.")] = False,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List staff members and their roles."""
    from ..output import emit_rows
    from ..services.staff import STAFF_KEYS, list_staff
    from ..views.admin import staff_columns

    app_ = open_app(ctx)
    rows = list_staff(app_, role=role, include_left=all_)
    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), staff_columns(app_), fields=STAFF_KEYS)


@app.command("leave")
def leave(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The person leaving.")],
    handover_to: Annotated[str, typer.Option("--handover-to", help="Who takes over their customers and open work.")],
    format: FormatOpt = Format.table,
) -> None:
    """Record that LOGIN left; move their customers, contacts and open work to --handover-to."""
    from ..output import emit_object
    from ..services.staff import leave as staff_leave

    result = staff_leave(open_app(ctx), login, handover_to)
    out = spec(format)
    if out.format == "json":
        emit_object(out, result)
        return
    from ..i18n import _

    moved = _(", ").join(_moved(what, n) for what, n in result["moved"].items())
    typer.echo(_("{login} left; handed over to {heir}: {moved}").format(login=login, heir=handover_to, moved=moved))


def _moved(what: str, n: int) -> str:
    """``3 customers``: what ``staff leave`` handed over (a key of its JSON ``moved``), in the summary's language."""
    from ..i18n import _

    words = {"customers": _("{n} customers"), "customer_notices": _("{n} customer_notices"),
             "contacts": _("{n} contacts"), "activities": _("{n} activities"),
             "open complaints/tickets/proposals": _("{n} open complaints/tickets/proposals")}
    return words[what].format(n=n) if what in words else f"{n} {what}"
