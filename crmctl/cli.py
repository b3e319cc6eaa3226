"""The root of the ``crmctl`` command line.

Global options (``--db``, ``--as``, ``--lang``: see ``crmctl.i18n``; ``-q``/``-v``), accepted before
or after the command (:func:`hoist_global_options`), the defaults of ``crmctl.config``, the command groups from ``crmctl/commands``, and the one place
that turns errors into exit codes: a refusal is one ``Error:`` line on stderr and exit 1, a usage
mistake exit 2, never a traceback (``CRMCTL_DEBUG=1`` shows it for developers).

Only Typer and the command modules (which import nothing heavy at module level) are imported here,
so ``crmctl --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

try:  # Typer >= 0.29 carries its own copy of Click
    from typer import _click as click
except ImportError:  # pragma: no cover - older Typer
    import click
from typer.core import TyperCommand, TyperGroup

from . import __version__, i18n
from .errors import CrmError
from .i18n import _


def _error_line(message: str) -> None:
    from .rules.text import mask_secrets  # never a password, whatever the message quotes

    click.echo(_("Error: {message}").format(message=mask_secrets(i18n.text(message))), err=True)


# Exit, Abort and usage errors keep their own handling (exit 0/1/2 as Click decides).
_PASS_THROUGH = tuple(
    t for t in (typer.Exit, typer.Abort, getattr(click.exceptions, "Exit", None),
                getattr(click.exceptions, "Abort", None), click.ClickException) if t is not None
)


# Top-level commands and command groups, loaded only when used: `crmctl --help` lists them from these
# tables without importing their modules.  name -> (module in crmctl.commands, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("setup", "Create the database, store the policy as version 1 and the first administrator (every role)."),
    "demo": ("demo", "Build a sample database (Chinese names, 18 months of volumes) and run the pipeline on it."),
    "agenda": ("agenda", "Today's agenda: visits, complaints, tickets, approvals, documents and proposals due or late."),
    "approve": ("approve", "Approve (or --reject) your step of a customer's admission; --list shows what waits for you."),
}
GROUPS: dict[str, tuple[str, str]] = {
    "customer": ("customer", "Add, find, show, edit and import customers; admission, disqualification, contacts."),
    "doc": ("doc", "Customer documents and their expiry (suspends customers whose documents lapsed)."),
    "volume": ("volume", "Record customer usage (tonnes, litres, m³) one by one or from CSV."),
    "score": ("score", "Set manual grading factors (credit, influence ...) on a 1-10 scale."),
    "plan": ("plan", "Monthly sales plans of exclusive agents and distributors (plan completion)."),
    "grade": ("grade", "Grade customers for a period, explain a grade, show grade history."),
    "complaint": ("complaint", "Open, extend, escalate and close complaints against the policy's deadlines."),
    "service": ("service", "Repair, inquiry and emergency tickets with response and resolution clocks."),
    "proposal": ("proposal", "Customer proposals: open, decide, share the benefit."),
    "calendar": ("calendar", "The company calendar: working days, holidays, make-up days, deadlines."),
    "visit": ("visit", "Plan, log and list visits, calls, inspections and greetings by the policy's cadences."),
    "survey": ("survey", "Record yearly satisfaction surveys and evaluations."),
    "target": ("target", "Market-development targets per customer manager per quarter."),
    "staff": ("staff", "Add and list staff, and hand over a leaver's customers and open work."),
    "policy": ("policy", "Show, check, compare and apply company policy files (every version is kept)."),
    "report": ("report", "Management reports and exports: customers, grades, complaints, visits, documents, allocation ..."),
    "audit": ("audit", "Read the audit trail of every change."),
    "db": ("db", "Upgrade, back up and check the database."),
    "config": ("config", "Show and set defaults (database, language, CSV output) in the user or system configuration file."),
}
_LOADED: dict = {}


class CrmGroup(TyperGroup):
    """The root group: lazy command groups, and every exception mapped to the contract's exit codes."""

    def main(self, args=None, *rest, **kwargs):
        # A new command: no language chosen yet.  `--lang` is read before Click parses anything, so
        # Click's own usage errors (an unknown option anywhere on the line) are in that language too.
        i18n.reset()
        i18n.install_help_formatting()  # help texts as written, no <bool> on flags (both languages)
        args = hoist_global_options(list(sys.argv[1:] if args is None else args))
        lang = _lang_argument(args)
        if lang:
            i18n.set_language(lang)
        else:
            if not os.environ.get(i18n.ENV):
                from .config import configured_language

                i18n.set_configured_language(configured_language())
            if i18n.current() == "zh":
                i18n.install_click_words()
        try:
            return super().main(args, *rest, **kwargs)
        finally:  # a command's language is its own (tests and embedders run many in one process)
            i18n.reset()

    def list_commands(self, ctx):
        return list(super().list_commands(ctx)) + [n for n in (*COMMANDS, *GROUPS) if n not in self.commands]

    def get_command(self, ctx, cmd_name):
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None or (cmd_name not in GROUPS and cmd_name not in COMMANDS):
            return cmd
        if cmd_name in _LOADED or ctx is None or ctx.resilient_parsing:  # loaded, or completion needs the real one
            return load_group(cmd_name)
        # Listing for --help: a light stand-in carrying the name and help line only.
        if cmd_name in COMMANDS:
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][1])
        return TyperGroup(name=cmd_name, help=GROUPS[cmd_name][1])

    def resolve_command(self, ctx, args):
        if args and (args[0] in GROUPS or args[0] in COMMANDS):
            load_group(args[0])
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError as exc:
            # Typer suggests among the commands it holds; ours are lazy: suggest among their names
            if args and "Did you mean" not in exc.message:
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    exc.message = "{}. Did you mean {}?".format(
                        exc.message.rstrip("."), ", ".join(repr(m) for m in matches))
            raise

    def invoke(self, ctx: click.Context):
        # what follows the root's options (the root callback sees it: `--help` of a sub-command)
        protected = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []
        ctx.meta["crmctl.rest"] = [*protected, *ctx.args]
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except CrmError as exc:
            _error_line(exc.message)
            if exc.details:
                from .rules.text import mask_secrets

                for line in exc.details:
                    click.echo(f"  {mask_secrets(i18n.text(line))}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _error_line(_("interrupted; nothing of the unfinished step was written"))
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(1) from None
        except Exception as exc:  # the last line of defence: no traceback for users
            if os.environ.get("CRMCTL_DEBUG"):
                raise
            _error_line(_describe_unexpected(exc))
            raise typer.Exit(1) from None


def _describe_unexpected(exc: Exception) -> str:
    from .rules.text import mask_secrets

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = mask_secrets(text)
    name = type(exc).__name__
    if name == "OperationalError" and "locked" in text:
        return "the database stayed busy for 30 s (another crmctl is writing); try again"
    if name in ("OperationalError", "ProgrammingError", "InterfaceError", "DatabaseError"):
        return f"database error: {text[:300]} (CRMCTL_DEBUG=1 shows details)"
    if name == "IntegrityError":
        return f"the database refused the change: {text[:300]}"
    problem = _file_name_problem(exc)
    if problem:
        return problem
    return f"unexpected {name}: {text[:300]} (please report it; CRMCTL_DEBUG=1 shows details)"


def _file_name_problem(exc: Exception) -> str | None:
    """A file name the system cannot take (too long, a NUL character, ``~nobody``): what to say."""
    import errno

    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        name = str(exc.filename or "")
        return f"file name too long: '{name[:40]}…' (at most 255 bytes a part)"
    if isinstance(exc, OSError) and exc.filename and exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR,
                                                                     errno.EACCES, errno.EROFS):
        return f"cannot use {exc.filename}: {exc.strerror}"
    if isinstance(exc, ValueError) and "null byte" in str(exc):
        return "a file name cannot contain a NUL character"
    if isinstance(exc, RuntimeError) and "home directory" in str(exc):
        return "a file name starting with '~' names no known home folder"
    return None


app = typer.Typer(
    cls=CrmGroup,
    name="crmctl",
    help="Customer-relationship management by company policy: admission, grading, service, visits, reports.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=True,
)


# The global options a user may also give after the command (`crmctl customer list --db x.db --as li`):
# name -> how many values it takes.
GLOBAL_OPTIONS = {"--db": 1, "--as": 1, "--lang": 1, "-q": 0, "--quiet": 0, "-v": 0, "--verbose": 0, "--no-pager": 0}


def _option_arity(cmd) -> dict[str, int]:
    """The options of a Click command: name -> how many values it takes."""
    out: dict[str, int] = {}
    for param in getattr(cmd, "params", ()):
        if getattr(param, "param_type_name", None) == "option":
            n = 0 if (param.is_flag or param.count) else max(param.nargs, 1)
            for name in (*param.opts, *param.secondary_opts):
                out[name] = n
    return out


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with the global options found after the command path moved in front of it (with their
    values; ``--db X`` and ``--db=X``), so Click parses them as the root's.  Left where they are: after
    ``--``, the values of the command's own options, and a name the command defines itself."""
    i = 0
    while i < len(args):  # the root's own options, before the command
        arg = args[i]
        if arg == "--" or not arg.startswith("-"):
            break
        i += 2 if GLOBAL_OPTIONS.get(arg) == 1 else 1
    if i >= len(args) or args[i] not in GROUPS and args[i] not in COMMANDS:
        return args
    try:
        cmd = load_group(args[i])
    except Exception:  # noqa: BLE001 - a command that cannot load: Click says why
        return args
    front, rest = args[:i], [args[i]]
    i += 1
    own = _option_arity(cmd)
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name = arg.partition("=")[0] if arg.startswith("--") else arg
        if name in GLOBAL_OPTIONS and name not in own:
            takes = GLOBAL_OPTIONS[name]
            if takes and "=" not in arg:
                if i + 1 >= len(args):  # no value: Click says so
                    rest.append(arg)
                    break
                front += args[i:i + 2]
                i += 2
            else:
                front.append(arg)
                i += 1
            continue
        if arg in own:
            rest += args[i:i + 1 + own[arg]]
            i += 1 + own[arg]
            continue
        if not arg.startswith("-") and isinstance(getattr(cmd, "commands", None), dict):  # a sub-command
            sub = cmd.commands.get(arg)
            if sub is not None:
                cmd, own = sub, _option_arity(sub)
        rest.append(arg)
        i += 1
    return front + rest


def _lang_argument(args: list[str]) -> str | None:
    """The value of a valid ``--lang`` among the global options (before the command), else None."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--lang="):
            value = arg.partition("=")[2]
        elif arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        else:
            if arg in GROUPS or arg in COMMANDS:
                break
            continue
        return value if value in i18n.LANGUAGES else None
    return None


def _choose_language(value: Optional[str]) -> Optional[str]:
    # The language is already set from the arguments (CrmGroup.main, before Click parses, so --help and
    # usage errors are in it too); here a value we do not speak is refused.  Not an eager option: Typer
    # would coerce its value (importing pydantic) before --help.
    if value is not None:
        if value not in i18n.LANGUAGES:
            raise typer.BadParameter(_("'{value}' is not a language crmctl speaks: use zh or en").format(value=value))
        i18n.set_language(value)
    return value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crmctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", help="Database file or URL (else $CRMCTL_DB, else crm.db in the user data folder).", metavar="PATH_OR_URL")] = None,
    as_: Annotated[Optional[str], typer.Option("--as", help="Act for this staff login: administrators only, audited as both (else $CRMCTL_USER; default: the person bound to your OS account).", metavar="LOGIN")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", callback=_choose_language, metavar="zh|en", help="Language of messages and help (else $CRMCTL_LANG, else the locale, else the policy's language, else English).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and warnings: no notes, and nothing from a command that changed nothing (cron).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More detail: a command's summary even when it changed nothing, and its notes.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
    no_pager: Annotated[bool, typer.Option("--no-pager", help="Never page a long table on a terminal (else through $CRMCTL_PAGER, else $PAGER, else less -FRX; an empty one pages nothing).")] = False,
) -> None:
    from .settings import Settings

    problem = i18n.env_problem()
    if problem and lang is None:
        raise click.exceptions.UsageError(problem, ctx)
    if quiet and verbose:
        raise click.exceptions.UsageError(_("--quiet and --verbose do not go together: give one"), ctx)

    settings = Settings(db=db, actor=as_, lang=lang, quiet=quiet, verbose=verbose, no_pager=no_pager)
    ctx.obj = settings
    rest = ctx.meta.get("crmctl.rest", [])
    rest = rest[:rest.index("--")] if "--" in rest else rest
    if ctx.invoked_subcommand != "config" and not {"--help", "-h"} & set(rest):
        # `crmctl config` shows and fixes a broken file; every other command refuses it
        settings.use_config()


def load_group(name: str):
    """Import a command (group)'s module and turn its Typer app into a Click command or group (cached)."""
    cached = _LOADED.get(name)
    if cached is None:
        import importlib

        from typer.main import get_command, get_group

        if name in COMMANDS:
            module = importlib.import_module(f"crmctl.commands.{COMMANDS[name][0]}")
            cached = get_command(module.app)  # a one-command Typer app gives the command itself
        else:
            module = importlib.import_module(f"crmctl.commands.{GROUPS[name][0]}")
            cached = get_group(module.app)
            cached.help = GROUPS[name][1]
        i18n.without_completion_options(cached)  # the root's options only
        cached.name = name
        from .completion import attach  # light: the database is read only on a Tab press

        attach(cached, name)
        _LOADED[name] = cached
    return cached


def load_all() -> None:
    """Load every command and command group (tests, documentation)."""
    for name in (*COMMANDS, *GROUPS):
        load_group(name)


def main() -> None:
    import gc

    # A command is short and builds few reference cycles, but importing SQLAlchemy, pydantic and
    # Typer allocates hundreds of thousands of objects: with the default threshold (700) the cyclic
    # collector runs ~160 times during start-up (~65 ms).  A young generation of 50 000 objects
    # keeps cyclic garbage bounded and start-up collections to two or three.
    gc.set_threshold(50_000, 10, 10)
    try:
        app()
    finally:
        # The process ends here.  Its objects (the database layer's classes and mapped tables, the
        # policy) would only be walked by the interpreter's final garbage collections, which cost
        # ~100 ms per command; every file and connection is already closed, and stdout/stderr are
        # still flushed by the interpreter.  Frozen objects are simply left to the OS.
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
