"""``crmctl demo``: a realistic sample database, then the whole pipeline."""

from __future__ import annotations

from typing import Annotated

import typer

from ..i18n import _
from ._common import settings


app = typer.Typer()  # one command; crmctl.cli loads it on first use


@app.command("demo")
def demo(
    ctx: typer.Context,
    policy: Annotated[str, typer.Option("--policy", "-p", help="Built-in policy to run the demo on.")] = "petrochem",
    customers: Annotated[int, typer.Option("--customers", "-n", min=1, max=1_000_000, help="How many customers to generate.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 7,
    replace: Annotated[bool, typer.Option("--replace", help="Build it again over an existing file (the demo's own, or --db).")] = False,
) -> None:
    """Build a sample database (Chinese names, 18 months of volumes) and run the pipeline on it."""
    from ..services.demo import run_demo

    for line in run_demo(settings(ctx), policy, customers, seed=seed, replace=replace, then=_pack):
        typer.echo(line)


def _pack(app_, target):
    """The demo's report pack: every report of its last completed period, one HTML page."""
    from ..output import OutputSpec
    from .report import pack_reports, write_html_pack

    path = target.with_name(target.stem + "-reports.html")
    chosen, skipped = pack_reports(app_, None)
    write_html_pack(app_, OutputSpec(format="table", output=str(path)), chosen, skipped, None)
    yield _("reports:  every report in one page for managers: {path} (crmctl report pack; --format xlsx "
            "for a workbook)").format(path=path)
