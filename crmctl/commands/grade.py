"""``crmctl grade``: Grade customers for a period, explain a grade, show grade history."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from ._common import BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, print_created, spec

app = typer.Typer(help="Grade customers for a period, explain a grade, show grade history.", no_args_is_help=True)
