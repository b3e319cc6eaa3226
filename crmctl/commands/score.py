"""``crmctl score``: Manual grading factors (credit, influence, ...) scored 1-10."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from ..i18n import _
from ._common import Format, FormatOpt, open_app, parse_pairs, spec

app = typer.Typer(help="Manual grading factors (credit, influence, ...) scored 1-10.", no_args_is_help=True)


@app.command("set")
def set_(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    factors: Annotated[List[str], typer.Argument(help="FACTOR=VALUE pairs, VALUE a whole number 1-10; factor by code or label.", metavar="FACTOR=VALUE...")],
    label: Annotated[str, typer.Option("--label", "-l", help="Review period the scores are for, e.g. 2026.")],
    scale: Annotated[Optional[str], typer.Option("--scale", help="Grading scale (needed only when several have the factor).")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Score manual factors of a rank-graded scale for one review label (until re-scored they carry over)."""
    from ..services.grading import set_scores

    result = set_scores(open_app(ctx), code, label, parse_pairs(factors, _("factor")), scale=scale)
    out = spec(format)
    if out.format == "json":
        from ..output import emit_object

        emit_object(out, result)
        return
    scores = " ".join(f"{k}={v if v is not None else '-'}" for k, v in result["scores"].items())
    typer.echo(f"{result['customer']} {result['scale']} {result['label']}: {scores}")
