"""``crmctl service``: Repair, inquiry and emergency tickets with response and resolution clocks."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from ._common import BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, print_created, spec

app = typer.Typer(help="Repair, inquiry and emergency tickets with response and resolution clocks.", no_args_is_help=True)
