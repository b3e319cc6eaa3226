"""``crmctl visit``: Plan, log and list visits, calls, inspections and greetings by the policy's cadences."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from ._common import BomOpt, Format, FormatOpt, OutputOpt, info, open_app, parse_at, print_created, spec

app = typer.Typer(help="Plan, log and list visits, calls, inspections and greetings by the policy's cadences.", no_args_is_help=True)
