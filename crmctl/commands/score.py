"""``crmctl score``: Set manual grading factors (credit, influence ...) on a 1-10 scale."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from ._common import BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, print_created, spec

app = typer.Typer(help="Set manual grading factors (credit, influence ...) on a 1-10 scale.", no_args_is_help=True)
