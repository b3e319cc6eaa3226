"""Options and helpers shared by the command modules (kept light: no database imports here)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional, TYPE_CHECKING

import typer

from ..i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from ..output import OutputSpec
    from ..progress import Bar
    from ..services.app import App
    from ..settings import Settings


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Encoding(str, Enum):
    utf8 = "utf-8"
    gb18030 = "gb18030"
    gbk = "gbk"  # written as GB 18030, its superset: no character is replaced


def check_path(value, what: str = "--output"):
    """A file name the system can take: no NUL character, no part longer than 255 bytes, a ``~user``
    that exists.  Refused (one Error line, before any work) otherwise; ``value`` unchanged."""
    if value is None or value == "-":
        return value
    from ..errors import InvalidInput

    text = str(value)
    if "\x00" in text:
        raise InvalidInput(_("{option}: a file name cannot contain a NUL character").format(option=what))
    if len(text.encode("utf-8", "surrogateescape")) > 4096 or any(
            len(part.encode("utf-8", "surrogateescape")) > 255 for part in text.split("/")):
        raise InvalidInput(_("{option}: the file name is too long (at most 255 bytes a part, 4096 in all)").format(
            option=what))
    if text.startswith("~") and os.path.expanduser(text).startswith("~"):
        raise InvalidInput(_("{option}: '{home}' is not a known home folder").format(option=what, home=text.split("/")[0]))
    return value


def _check_output(value):
    """``--output``: a usable name in a folder that exists, checked before any work is done."""
    check_path(value, "--output")
    if value is not None and str(value) != "-":
        from ..errors import InvalidInput

        folder = Path(os.path.expanduser(str(value))).parent
        if not folder.is_dir():
            raise InvalidInput(_("--output: folder {folder} does not exist").format(folder=folder))
    return value


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format (xlsx: an Excel workbook, with --output FILE.xlsx).", case_sensitive=False)]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to FILE instead of standard output.", dir_okay=False, callback=_check_output)]
BomOpt = Annotated[bool, typer.Option("--bom/--no-bom", help="Start CSV with a UTF-8 byte-order mark (for Excel).")]
EncodingOpt = Annotated[Encoding, typer.Option("--encoding", help="Text encoding of CSV output: utf-8, or gb18030 for older Excel and WPS (gbk is written as gb18030, which holds every character).", case_sensitive=False)]
LabelsOpt = Annotated[bool, typer.Option("--labels", help="CSV for people (Excel, WPS): the table's headings and labels, in the interface's language, instead of keys and codes (same columns; date-times YYYY-MM-DD HH:MM in the company's time zone). CSV only.")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", min=0, help="At most N rows (0 or left out: all).", metavar="N")]
AtOpt = Annotated[Optional[str], typer.Option("--at", help="When it happened (ISO date-time; default now; no offset = policy time zone).")]


def settings(ctx: typer.Context) -> "Settings":
    root = ctx.find_root()
    if root.obj is None:
        from ..settings import Settings

        root.obj = Settings()
    return root.obj


def open_app(ctx: typer.Context, *, need_actor: bool = True) -> "App":
    """Open the database for a command; closed automatically when the command ends."""
    from ..services.app import open_app as _open

    app = _open(settings(ctx), need_actor=need_actor)
    ctx.call_on_close(app.close)
    warn_calendar_fallback(ctx)
    return app


def warn_calendar_fallback(ctx: typer.Context) -> None:
    """A year this command computed with but the holiday data does not cover is one ``Warning:`` line
    on stderr when the command ends (the deadline is still computed from weekends + the policy's
    holidays).  The calendar module is not imported here: only commands that count working days
    load it."""
    calendar = sys.modules.get("crmctl.rules.calendar")
    if calendar is not None:  # an earlier command in this process (tests) may have used it
        calendar.reset_fallback_warnings()

    def report() -> None:
        loaded = sys.modules.get("crmctl.rules.calendar")
        for message in loaded.fallback_warnings() if loaded is not None else ():
            typer.echo(_("Warning: {message}").format(message=message), err=True)

    ctx.call_on_close(report)


@contextmanager
def progress(description: str, total: Optional[int] = None) -> Iterator["Bar"]:
    """A progress bar for long work (the services' ``progress`` parameter), on stderr, shown only
    when stdout and stderr are a terminal: cron and pipes see nothing extra."""
    from ..progress import silent

    if not sys.stdout.isatty() or not sys.stderr.isatty():
        with silent() as bar:
            yield bar
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as p:
        yield _Bar(p, p.add_task(description, total=total))


class _Bar:
    def __init__(self, progress, task):
        self._p, self._t = progress, task

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._t, n)

    def update_total(self, total: Optional[int]) -> None:
        self._p.update(self._t, total=total)


def spec(format: Format = Format.table, output: Optional[Path] = None, bom: bool = False,
         encoding: Encoding = Encoding.utf8, labels: bool = False) -> "OutputSpec":
    """The :class:`~crmctl.output.OutputSpec` of the output options (``--labels`` without
    ``--format csv`` refused).  CSV takes ``bom`` and ``encoding`` from the environment and the
    configuration files (``crmctl.config``) where the command line gives neither."""
    from ..output import OutputSpec

    check_path(output, "--output")
    if format == Format.csv:
        bom, encoding = _csv_defaults(bom, encoding)
    return OutputSpec(format=format.value, output=str(output) if output else None, bom=bom, encoding=encoding.value,
                      labels=labels)


def _csv_defaults(bom: bool, encoding: Encoding) -> tuple[bool, Encoding]:
    """``--bom`` and ``--encoding`` of this command, a configured default where it gave neither (a
    configured BOM only with UTF-8: the mark is UTF-8's)."""
    ctx = _current_context()
    if ctx is None or not isinstance(ctx.find_root().obj, _settings_class()):
        return bom, encoding
    defaults = ctx.find_root().obj.output

    def given(name: str) -> bool:
        source = ctx.get_parameter_source(name) if name in ctx.params else None
        return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

    if not given("encoding") and defaults.get("encoding"):
        encoding = Encoding(defaults["encoding"])
    if not given("bom") and defaults.get("bom") and encoding == Encoding.utf8:
        bom = True
    return bom, encoding


def _settings_class():
    from ..settings import Settings

    return Settings


def _current_context():
    try:  # Typer >= 0.29 carries its own copy of Click
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - older Typer
        from click import get_current_context
    return get_current_context(silent=True)


def _root_settings() -> "Settings | None":
    ctx = _current_context()
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, _settings_class()) else None


def quiet() -> bool:
    """``-q``/``--quiet``: only errors and warnings."""
    s = _root_settings()
    return bool(s and s.quiet)


def verbose() -> bool:
    """``-v``/``--verbose``: more detail."""
    s = _root_settings()
    return bool(s and s.verbose)


def summary_wanted(changed: bool) -> bool:
    """Whether a command run by cron (``doc check``, ``grade run``, ``visit plan``, ``db backup``)
    prints its human summary: always with ``-v``; never with ``-q``; otherwise when it changed
    something or stdout is a terminal -- so a night that changed nothing mails nothing.  (JSON is
    printed whole whatever these say: a script asked for it.)"""
    if verbose():
        return True
    if quiet():
        return False
    if changed:
        return True
    from ..output import _stdout_is_terminal

    return _stdout_is_terminal()


def limited(rows, limit: Optional[int]):
    """The first ``limit`` rows of a streamed listing (``--limit``; 0 or None: all): the rest are
    never read, and the cursor is closed with the generator."""
    if not limit:
        return rows
    from itertools import islice

    return islice(rows, limit)


def renamed(value, old_value, *, new: str, old: str, required: bool = False):
    """An option renamed for one name across commands (``--note`` on close/resolve/log, ``--limit``
    on every list, ...): the old name stays accepted, hidden from help, with one ``Warning:`` line;
    both at once, or neither when the option is required, is a usage error (exit 2, as Click's own)."""
    try:  # Typer >= 0.29 carries its own copy of Click
        from typer import _click as click
    except ImportError:  # pragma: no cover - older Typer
        import click

    if old_value is not None:
        if value is not None:
            raise click.exceptions.UsageError(_("{old} is the old name of {new}: give only {new}").format(old=old, new=new))
        typer.echo(_("Warning: {message}").format(
            message=_("{old} is now called {new} (the old name will go in a later version)").format(old=old, new=new)),
            err=True)
        return old_value
    if value is None and required:
        raise click.exceptions.MissingParameter(param_hint=f"'{new}'", param_type="option")
    return value


def print_created(out: "OutputSpec", obj: dict, key: str) -> None:
    """A created thing: its id/code alone on stdout, or the whole object with --format json (or xlsx)."""
    from ..output import emit_object

    if out.format in ("json", "xlsx"):
        emit_object(out, obj)
    else:
        typer.echo(obj[key])


def info(message: str) -> None:
    """A human note on stderr (never mixed into data on stdout); none with ``-q``."""
    if not quiet():
        typer.echo(message, err=True)


def warn(message: str) -> None:
    """A ``Warning:`` line on stderr (shown with ``-q`` too: cron should mail it)."""
    typer.echo(_("Warning: {message}").format(message=message), err=True)


def parse_pairs(items: list[str] | None, what: str) -> dict[str, str]:
    """``K=V`` options into a dict; a malformed one refused."""
    from ..errors import InvalidInput

    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(_("{what} '{item}' is not KEY=VALUE").format(what=what, item=item))
        key = key.strip()
        if key in out:
            raise InvalidInput(_("{what} '{key}' given twice").format(what=what, key=key))
        out[key] = value.strip()
    return out


def parse_at(app, text: str | None, what: str = "--at"):
    """An event time from ``--at`` (None = now), in the policy's time zone; refused if in the future."""
    from ..rules.times import parse_datetime

    if not text:
        return None
    return parse_datetime(text, app.tz, what, now=app.now())


def emit_detail(out, data: dict, rows: list[tuple[str, object]], extra: list[str] | None = None,
                columns=None) -> None:
    """``show`` in table format: aligned label/value lines (then ``extra`` lines); json/csv as usual
    (``columns``: the list's view columns, for the headings and labels of ``--labels`` CSV)."""
    from ..output import emit_object, emit_text

    if out.format != "table":
        emit_object(out, data, columns if out.labels else None)
        return
    from rich.cells import cell_len  # a Chinese character takes two columns of the terminal

    width = max(cell_len(label) for label, _ in rows)
    lines = [f"{label}{' ' * (width - cell_len(label))}  {'' if value is None else value}".rstrip()
             for label, value in rows]
    emit_text(out, "\n".join(lines + (extra or [])))
