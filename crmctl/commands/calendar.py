"""``crmctl calendar``: The company calendar: working days, holidays, make-up days, deadlines."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from ._common import BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, print_created, spec

app = typer.Typer(help="The company calendar: working days, holidays, make-up days, deadlines.", no_args_is_help=True)
