"""``crmctl db``: schema upgrades, consistent backups and integrity checks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InvalidInput
from ..i18n import _
from ._common import open_app, progress, settings, summary_wanted

app = typer.Typer(help="Upgrade, back up and check the database.", no_args_is_help=True)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="PostgreSQL: upgrade without asking (for scripts).")] = False,
) -> None:
    """Bring an older database to the current schema (SQLite: a backup is made first; PostgreSQL: shows the migrations and asks first)."""
    from ..services.maintenance import upgrade_database

    def plan(lines: list[str]) -> bool:
        if not yes and not _stdin_is_terminal():
            raise InvalidInput(_("upgrading a PostgreSQL database asks for confirmation at a terminal: pass --yes "
                                 "to upgrade from a script"))
        for line in lines:
            typer.echo(line)
        return yes or typer.confirm(_("Upgrade the database now?"), default=False)

    typer.echo(upgrade_database(settings(ctx), plan=plan))


@app.command("backup")
def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the copy.", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    keep: Annotated[Optional[int], typer.Option(
        "--keep", min=1, metavar="N",
        help="Then keep only the N newest backups named like FILE but for its date or number (e.g. crm-2026-12-01.db) in its folder; say which were removed.")] = None,
) -> None:
    """Write a consistent copy of the live database (SQLite online backup API, safe while others write; PostgreSQL: pg_dump -Fc).

    Examples:
      crmctl db backup /backup/crm-2026-11-30.db
      crmctl db backup /backup/crm-2026-11-30.db --keep 8
    """
    from ..services.maintenance import backup_database

    for line in backup_database(settings(ctx), file, force=force, keep=keep):
        if summary_wanted(True):
            typer.echo(line)


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Check integrity, foreign keys and the schema version; exit 1 on any problem."""
    from ..services.maintenance import check_database

    for line in check_database(settings(ctx)):
        typer.echo(line)


@app.command("copy")
def copy(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Target database: an empty PostgreSQL URL or a new SQLite file.", metavar="URL")],
) -> None:
    """Copy everything into a new database (e.g. move a team from the SQLite file to PostgreSQL), verified by counts."""
    from ..services.maintenance import copy_database

    report = copy_database(settings(ctx), to, progress=progress)
    total = sum(r["rows"] for r in report)
    typer.echo(_("copied {rows} rows in {tables} tables; every table's count verified").format(rows=total,
                                                                                             tables=len(report)))


@app.command("restore")
def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A file made by 'crmctl db backup'.", dir_okay=False)],
) -> None:
    """Replace the database with a backup (checked first; the current file is kept as a .bak)."""
    from ..services.maintenance import restore_database

    typer.echo(restore_database(settings(ctx), file))


@app.command("roles")
def roles(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Option("--prefix", help="Names of the roles: PREFIXowner, PREFIXstaff, PREFIXadmin.")] = "crmctl_",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the SQL it would run; change nothing.")] = False,
) -> None:
    """PostgreSQL: set up the roles, grants, audit triggers and row-level security (an administrator's act, audited).

    An owner role owns the tables (migrations run as it), a staff group may read and write what
    crmctl needs but never change the audit trail or approval records, an administrators' group may
    change staff and policies.  Staff login roles join their groups.  Running it again changes
    nothing that is already in place.
    """
    from ..services.pg_access import setup_roles

    app_ = open_app(ctx, need_actor=False)  # SQLite is refused before anyone is asked for
    result = setup_roles(app_, prefix=prefix, dry_run=dry_run)
    if dry_run:
        for stmt in result["sql"]:
            typer.echo(stmt.rstrip() + ";")
        return
    from ..i18n import text

    r = result["roles"]
    for line in result["done"]:
        typer.echo(text(line))
    if result["missing"]:
        typer.echo(_("no database role yet for: {logins} (create one with 'crmctl staff edit LOGIN --db-role NAME')")
                   .format(logins=", ".join(result["missing"])))
    typer.echo(_("owner {owner}; staff group {staff}; administrators' group {admin}").format(
        owner=r.owner, staff=r.staff, admin=r.admin))
