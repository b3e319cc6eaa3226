"""``crmctl survey``: Record yearly satisfaction surveys and evaluations."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from ..i18n import _
from ._common import (BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, limited, open_app,
                      parse_pairs, print_created, spec)

app = typer.Typer(help="Record yearly satisfaction surveys and evaluations.", no_args_is_help=True)

SurveyOpt = Annotated[Optional[str], typer.Option("--survey", help="Survey code of the policy (needed when it has several).")]


@app.command("record")
def record(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    answers: Annotated[List[str], typer.Argument(help="ITEM=SCORE for every item of the survey (scores 1 … the policy's scale_max).", metavar="ITEM=SCORE...")],
    label: Annotated[str, typer.Option("--label", help="The survey's year, YYYY.", metavar="YYYY")],
    survey: SurveyOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Record one customer's scores for a year's survey (petrochem: product, service, image); prints its id."""
    from ..services.activities import record_survey

    r = record_survey(open_app(ctx), code, label, parse_pairs(answers, _("score")), survey=survey)
    print_created(spec(format), r, "id")


@app.command("list")
def list_(
    ctx: typer.Context,
    survey: SurveyOpt = None,
    label: Annotated[Optional[str], typer.Option("--label", help="Only this year.", metavar="YYYY")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer.")] = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List survey results (CSV: one column per item, scores.ITEM)."""
    from ..output import emit_rows
    from ..services.activities import list_surveys
    from ..views.activities import survey_columns

    app_ = open_app(ctx)
    rows = list_surveys(app_, survey=survey, label=label, customer=customer)
    from ..services.activities.surveys import survey_keys

    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), survey_columns(app_),
              fields=survey_keys(app_.policy))
