"""``crmctl plan``: Monthly sales plans of exclusive agents and distributors (plan completion)."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from ._common import BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, print_created, spec

app = typer.Typer(help="Monthly sales plans of exclusive agents and distributors (plan completion).", no_args_is_help=True)
