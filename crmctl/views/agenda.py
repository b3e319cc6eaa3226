"""The agenda's table (``crmctl agenda``): the state and the command first, so a terminal of 80
columns keeps them (the columns that do not fit are named in a note; csv and json have them all)."""

from __future__ import annotations

from datetime import datetime

from ..i18n import N_
from . import Column, translated

AGENDA_KINDS = {"activity": N_("Activity"), "complaint": N_("Complaint case"), "service": N_("Service ticket"),
                "approval": N_("Approval"), "document": N_("Document"), "proposal": N_("Proposal"),
                "renewal": N_("Renewal")}


def _short_due(value) -> str:
    """A due day as ``MM-DD``, a deadline as ``MM-DD HH:MM`` (the company's zone; json has it whole)."""
    return value.strftime("%m-%d %H:%M") if isinstance(value, datetime) else value.strftime("%m-%d")


def agenda_columns() -> list[Column]:
    return [Column("kind", N_("Item"), table_format=translated(AGENDA_KINDS)),
            Column("due", N_("Due"), table_format=_short_due, no_wrap=True),
            Column("customer", N_("Customer"), no_wrap=True), Column("state", N_("State")),
            Column("command", N_("Command")), Column("what", N_("What")), Column("owner", N_("Owner")),
            Column("name", N_("Name"))]
