"""``crmctl agenda``: what you have to do today (or this week), and what is about to go late."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import InvalidInput
from ..i18n import _
from ._common import BomOpt, Encoding, EncodingOpt, Format, FormatOpt, LabelsOpt, OutputOpt, open_app, spec

app = typer.Typer()  # one command; crmctl.cli loads it on first use


@app.command("agenda")
def agenda(
    ctx: typer.Context,
    week: Annotated[bool, typer.Option("--week", help="Look seven days ahead instead of today only.")] = False,
    owner: Annotated[Optional[str], typer.Option("--owner", help="The agenda of this login (their customers and work).", metavar="LOGIN")] = None,
    all_: Annotated[bool, typer.Option("--all", help="The whole team: every owner you may see.")] = False,
    send: Annotated[bool, typer.Option("--send", help="Post the agenda as a digest to the chat group's robot ([notify] in the configuration or the policy) instead of printing it.")] = False,
    force: Annotated[bool, typer.Option("--force", help="With --send: send again although today's digest went to that robot already.")] = False,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Today's agenda: visits, complaints, tickets, approvals, documents and proposals due or late.

    Grouped by kind, soonest first; each line names the command that deals with it.
    JSON: a list of objects with kind, due, customer, name, owner, what, state, overdue, command.

    Examples:
      crmctl agenda
      crmctl agenda --week
      crmctl agenda --owner sales01 --format json
      crmctl agenda --all --week
      crmctl agenda --all --send        # cron: 0 8 * * 1-5
    """
    from ..output import emit_rows
    from ..rules.agenda import ITEM_KEYS
    from ..services.agenda import agenda_items
    from ..views.agenda import agenda_columns

    out = spec(format, output, bom, encoding, labels)
    if force and not send:
        raise InvalidInput(_("--force goes with --send"))
    app_ = open_app(ctx)
    rows = agenda_items(app_, week=week, owner=owner, everyone=all_)
    if not send:
        emit_rows(out, rows, agenda_columns(), fields=ITEM_KEYS)
        return
    from ..services.notify import send_digest

    result = send_digest(app_, rows, title=_("Agenda {day}").format(day=app_.now().date().isoformat()), force=force)
    if out.format == "json":
        from ..output import emit_object

        emit_object(out, result)
    else:
        typer.echo(_("sent {items} items in {messages} messages to {robot}").format(**result))
