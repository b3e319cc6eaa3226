"""The root of the ``crmctl`` command line.

Global options (``--db``, ``--as``), the command groups from ``crmctl/commands``, and the one place
that turns errors into exit codes: a refusal is one ``Error:`` line on stderr and exit 1, a usage
mistake exit 2, never a traceback (``CRMCTL_DEBUG=1`` shows it for developers).

Only Typer and the command modules (which import nothing heavy at module level) are imported here,
so ``crmctl --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

try:  # Typer >= 0.29 carries its own copy of Click
    from typer import _click as click
except ImportError:  # pragma: no cover - older Typer
    import click
from typer.core import TyperGroup
from typing_extensions import Annotated

from . import __version__
from .commands import approve as approve_cmd
from .commands import audit as audit_cmd
from .commands import customer as customer_cmd
from .commands import db as db_cmd
from .commands import demo as demo_cmd
from .commands import doc as doc_cmd
from .commands import policy as policy_cmd
from .commands import setup as setup_cmd
from .commands import staff as staff_cmd
from .commands import volume as volume_cmd
from .commands import score as score_cmd
from .commands import plan as plan_cmd
from .commands import grade as grade_cmd
from .commands import calendar as calendar_cmd
from .commands import complaint as complaint_cmd
from .commands import service as service_cmd
from .commands import proposal as proposal_cmd
from .commands import visit as visit_cmd
from .commands import survey as survey_cmd
from .commands import target as target_cmd
from .errors import CrmError


def _error_line(message: str) -> None:
    click.echo(f"Error: {message}", err=True)


# Exit, Abort and usage errors keep their own handling (exit 0/1/2 as Click decides).
_PASS_THROUGH = tuple(
    t for t in (typer.Exit, typer.Abort, getattr(click.exceptions, "Exit", None),
                getattr(click.exceptions, "Abort", None), click.ClickException) if t is not None
)


class CrmGroup(TyperGroup):
    """Maps every exception raised by a command to the contract's exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except CrmError as exc:
            _error_line(exc.message)
            for line in exc.details:
                click.echo(f"  {line}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _error_line("interrupted; nothing of the unfinished step was written")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(1) from None
        except Exception as exc:  # the last line of defence: no traceback for users
            if os.environ.get("CRMCTL_DEBUG"):
                raise
            _error_line(_describe_unexpected(exc))
            raise typer.Exit(1) from None


def _describe_unexpected(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    name = type(exc).__name__
    if name == "OperationalError" and "locked" in text:
        return "the database stayed busy for 30 s (another crmctl is writing); try again"
    if name in ("OperationalError", "ProgrammingError", "InterfaceError", "DatabaseError"):
        return f"database error: {text[:300]} (CRMCTL_DEBUG=1 shows details)"
    if name == "IntegrityError":
        return f"the database refused the change: {text[:300]}"
    return f"unexpected {name}: {text[:300]} (please report it; CRMCTL_DEBUG=1 shows details)"


app = typer.Typer(
    cls=CrmGroup,
    name="crmctl",
    help="Customer-relationship management by company policy: admission, grading, service, visits, reports.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crmctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", help="Database file or URL (else $CRMCTL_DB, else crm.db in the user data folder).", metavar="PATH_OR_URL")] = None,
    as_: Annotated[Optional[str], typer.Option("--as", help="Act as this staff login (else $CRMCTL_USER, else the OS login).", metavar="LOGIN")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    from .services.app import Settings

    ctx.obj = Settings(db=db, actor=as_)


setup_cmd.register(app)
demo_cmd.register(app)
app.add_typer(customer_cmd.app, name="customer")
approve_cmd.register(app)
app.add_typer(doc_cmd.app, name="doc")
app.add_typer(volume_cmd.app, name="volume")
app.add_typer(score_cmd.app, name="score")
app.add_typer(plan_cmd.app, name="plan")
app.add_typer(grade_cmd.app, name="grade")
app.add_typer(calendar_cmd.app, name="calendar")
app.add_typer(complaint_cmd.app, name="complaint")
app.add_typer(service_cmd.app, name="service")
app.add_typer(proposal_cmd.app, name="proposal")
app.add_typer(visit_cmd.app, name="visit")
app.add_typer(survey_cmd.app, name="survey")
app.add_typer(target_cmd.app, name="target")
app.add_typer(policy_cmd.app, name="policy")
app.add_typer(staff_cmd.app, name="staff")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(db_cmd.app, name="db")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
