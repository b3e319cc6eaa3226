"""``crmctl init``: a new database bound to a company policy."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import Format, FormatOpt, print_created, settings, spec


app = typer.Typer()  # one command; crmctl.cli loads it on first use


@app.command("init")
def init(
    ctx: typer.Context,
    policy: Annotated[str, typer.Option("--policy", "-p", help="A built-in policy name (see 'crmctl policy list') or a policy .toml file.")],
    admin: Annotated[Optional[str], typer.Option("--admin", help="Login of the first administrator (default: the acting login).")] = None,
    admin_name: Annotated[Optional[str], typer.Option("--admin-name", help="Display name of the administrator.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Create the database, store the policy as version 1 and the first administrator (every role)."""
    from ..services.policy import init_database

    result = init_database(settings(ctx), policy, admin, admin_name)
    out = spec(format)
    if out.format == "json":
        print_created(out, result, "database")
    else:
        typer.echo(result["database"])
        from ..i18n import _

        typer.echo(
            _("initialised with policy {policy} (version 1); administrator {admin} holds roles {roles}").format(
                policy=result["policy"], admin=result["admin"], roles=", ".join(result["roles"])),
            err=True,
        )
