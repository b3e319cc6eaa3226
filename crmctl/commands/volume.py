"""``crmctl volume``: Record customer usage (tonnes, litres, m³) one by one or from CSV."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from ._common import BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, print_created, spec

app = typer.Typer(help="Record customer usage (tonnes, litres, m³) one by one or from CSV.", no_args_is_help=True)
