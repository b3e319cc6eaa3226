"""``crmctl target``: Market-development targets per customer manager per quarter."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from ._common import BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, print_created, spec

app = typer.Typer(help="Market-development targets per customer manager per quarter.", no_args_is_help=True)
