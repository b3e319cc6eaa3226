"""``crmctl proposal``: Customer proposals: open, decide, share the benefit."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..i18n import _, ngettext
from ..views.service_desk import fmt_dt, proposal_columns
from ._common import (AtOpt, BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, emit_detail, info,
                      limited, open_app, parse_at, print_created, spec)

app = typer.Typer(help="Customer proposals: open, decide, share the benefit.", no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="Proposal number (e.g. TA-2026-0001) or its integer id.")]


@app.command("open")
def open_(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    category: Annotated[str, typer.Option("--category", help="A category of the policy, by code or label.")],
    summary: Annotated[str, typer.Option("--summary", help="The proposal.")],
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Record a customer's proposal; prints its number. The answer is due per the policy (e.g. 1 month)."""
    from ..services.proposals import open_proposal

    app_ = open_app(ctx)
    r = open_proposal(app_, code, category, summary, at=parse_at(app_, at))
    print_created(spec(format), r, "id")
    info(_("{number}: answer due {due}").format(number=r["id"], due=fmt_dt(r["due_at"])))


@app.command("close")
def close(
    ctx: typer.Context,
    ident: IdArg,
    adopted: Annotated[Optional[bool], typer.Option("--adopted/--rejected", help="The decision (one of them is required).")] = None,
    saving: Annotated[Optional[str], typer.Option("--saving", help="Cost reduction of an adopted proposal (money, e.g. 120000).")] = None,
    implement_by: Annotated[Optional[str], typer.Option("--implement-by", help="Date it is put into effect (YYYY-MM-DD).")] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="What the customer is told.")] = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Decide a proposal: --adopted (with its saving; the benefit split is stored) or --rejected."""
    from ..errors import InvalidInput
    from ..output import emit_object
    from ..services.proposals import close_proposal

    if adopted is None:
        raise InvalidInput(_("give --adopted or --rejected"))
    app_ = open_app(ctx)
    r = close_proposal(app_, ident, adopted=adopted, saving=saving, implement_by=implement_by, note=note,
                       at=parse_at(app_, at))
    out = spec(format)
    if out.format == "json":
        emit_object(out, r)
    else:
        typer.echo(r["outcome"])
    b = r.get("benefit")
    if b and b["months"] is not None and r["outcome"] == "adopted":  # members null until shared
        info(_("{number}: benefit shared {company}% company / {customer}% customer until {until}").format(
            number=r["id"], company=f"{b['company_pct']:g}", customer=f"{b['customer_pct']:g}", until=b["until"]))


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    ident: IdArg,
    by: Annotated[str, typer.Option("--by", help="The day research will be finished (YYYY-MM-DD): the new deadline.")],
    note: Annotated[Optional[str], typer.Option("--note", help="The schedule as told to the customer.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Research takes longer than the deadline (manufacturer 一.5(3)): record its schedule; the end of --by becomes the deadline."""
    from ..output import emit_object
    from ..services.proposals import schedule_proposal

    r = schedule_proposal(open_app(ctx), ident, by, note=note)
    out = spec(format)
    if out.format == "json":
        emit_object(out, r)
    else:
        typer.echo(r["due_at"].isoformat())


@app.command("list")
def list_(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only undecided proposals.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those past the answer deadline (open or answered late).")] = False,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's.")] = None,
    category: Annotated[Optional[str], typer.Option("--category", help="Only this category.")] = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List proposals, oldest first."""
    from ..output import emit_rows
    from ..services.proposals import list_proposals

    app_ = open_app(ctx)
    rows = list_proposals(app_, open_only=open_only, overdue=overdue, customer=customer, category=category)
    from ..services.proposals import PROPOSAL_KEYS

    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), proposal_columns(app_),
              fields=PROPOSAL_KEYS)


@app.command("show")
def show(ctx: typer.Context, ident: IdArg, format: FormatOpt = Format.table, output: OutputOpt = None,
         bom: BomOpt = False, labels: LabelsOpt = False, encoding: EncodingOpt = Encoding.utf8) -> None:
    """One proposal: its deadline, the decision, the saving and how the benefit is shared."""
    from ..services.proposals import proposal_dict

    app_ = open_app(ctx)
    d = proposal_dict(app_, ident)
    cats = app_.policy.proposals.categories
    rows = [("编号 id", d["id"]), ("客户 customer", f"{d['customer']} {d['customer_name']}"),
            ("类别 category", f"{d['category']} ({cats.get(d['category'], d['category'])})"),
            ("内容 summary", d["summary"]), ("受理 opened", fmt_dt(d["opened_at"])),
            ("答复期限 due", fmt_dt(d["due_at"])),
            ("状态 status", d["status"] + (_(" (overdue)") if d["overdue"] else ""))]
    if d["closed_at"]:
        rows += [("答复 decided", fmt_dt(d["closed_at"])), ("结果 outcome", d["outcome"])]
    if d["saving"] is not None:
        rows.append(("降低成本 saving", f"{d['saving']:,.2f}"))
    if d["implement_by"]:
        rows.append(("实施 implement by", d["implement_by"].isoformat()))
    if d["benefit"]["months"] is not None:  # the benefit's members are null until it is shared
        b = d["benefit"]
        rows.append(("收益分享 benefit", ngettext("{company}% company / {customer}% customer, {n} month until {until}",
                                                  "{company}% company / {customer}% customer, {n} months until {until}",
                                                  b["months"]).format(
            company=f"{b['company_pct']:g}", customer=f"{b['customer_pct']:g}", n=b["months"], until=b["until"])))
    if d["note"]:
        rows.append(("备注 note", d["note"]))
    emit_detail(spec(format, output, bom, encoding, labels), d, rows, columns=proposal_columns(app_))
