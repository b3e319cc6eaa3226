"""``crmctl service``: Repair, inquiry and emergency tickets with response and resolution clocks."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from .. import i18n
from ..i18n import _
from ..views.service_desk import fmt_dt, ticket_columns
from ._common import (AtOpt, BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, emit_detail, info,
                      limited, open_app, parse_at, parse_pairs, print_created, spec)

app = typer.Typer(help="Repair, inquiry and emergency tickets with response and resolution clocks.", no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="Ticket number (e.g. FW-2026-00001) or its integer id.")]


def _clock(clock: str) -> str:
    """A ticket's clock inside a message: its Chinese word (``i18n.label``; English readers see the code)."""
    return i18n.label(clock, {"respond": _("clock: respond"), "arrive": _("clock: arrive"),
                              "resolve": _("clock: resolve")})


def _clocks_line(r: dict) -> str:
    parts = [_("{clock} by {at}").format(clock=_clock(c), at=fmt_dt(r[k]))
             for c, k in (("respond", "respond_by"), ("arrive", "arrive_by"), ("resolve", "resolve_by")) if r.get(k)]
    return _(", ").join(parts) or _("no deadline")


def _echo(format, r: dict, text: str, clock: str | None = None) -> None:
    """The result (json: the ticket), and on stderr whether the clock this event stops was missed."""
    from ..output import emit_object

    out = spec(format)
    if out.format == "json":
        emit_object(out, r)
    else:
        typer.echo(text)
    if clock == "resolve":  # resolving says whether every deadline was kept
        clocks = [c for c in ("respond", "arrive", "resolve") if r.get(f"{c}_by") is not None]
        if r.get("missed"):
            info(_("{number}: missed {clocks}").format(number=r["id"], clocks=_(", ").join(
                _("{clock} (due {at})").format(clock=_clock(c), at=fmt_dt(r[f"{c}_by"])) for c in r["missed"])))
        elif clocks:
            info(_("{number}: every deadline kept ({clocks})").format(
                number=r["id"], clocks=_(", ").join(_clock(c) for c in clocks)))
    elif clock and clock in r.get("missed", []):
        info(_("{number}: {clock} deadline {at} missed").format(
            number=r["id"], clock=_clock(clock), at=fmt_dt(r[f"{clock}_by"])))


@app.command("open")
def open_(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    kind: Annotated[str, typer.Option("--kind", help="A ticket kind of the policy (repair, inquiry, emergency …), by code or label.")],
    location: Annotated[Optional[str], typer.Option("--location", help="Location class where the policy has them (urban, suburban).")] = None,
    service_type: Annotated[Optional[str], typer.Option("--service-type", help="Service type where the policy has them (A paid, B contract, C free).")] = None,
    summary: Annotated[Optional[str], typer.Option("--summary", help="What is wrong (name, address, model …).")] = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Register a service call; prints its number. The policy's clocks start at --at.

    Examples:
      crmctl service open C000029 --kind repair --summary 管道漏气
      crmctl service open C000107 --kind emergency --at 2026-11-30T08:15
    """
    from ..services.tickets import open_ticket

    app_ = open_app(ctx)
    r = open_ticket(app_, code, kind, location=location, service_type=service_type, summary=summary,
                    at=parse_at(app_, at))
    print_created(spec(format), r, "id")
    info(_("{number}: {clocks}").format(number=r["id"], clocks=_clocks_line(r)))


@app.command("dispatch")
def dispatch(
    ctx: typer.Context,
    ident: IdArg,
    technician: Annotated[str, typer.Option("--technician", help="Login of the technician sent.")],
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Send a technician (stops the respond clock)."""
    from ..services.tickets import dispatch as do

    app_ = open_app(ctx)
    r = do(app_, ident, technician, at=parse_at(app_, at))
    _echo(format, r, r["status"], "respond")


@app.command("arrive")
def arrive(ctx: typer.Context, ident: IdArg, at: AtOpt = None, format: FormatOpt = Format.table) -> None:
    """The technician arrived on site (stops the arrive clock)."""
    from ..services.tickets import arrive as do

    app_ = open_app(ctx)
    r = do(app_, ident, at=parse_at(app_, at))
    _echo(format, r, r["status"], "arrive")


@app.command("take-back")
def take_back(
    ctx: typer.Context,
    ident: IdArg,
    receipt: Annotated[str, typer.Option("--receipt", help="Number of the receipt given to the customer.")],
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Take the item back to the workshop for repair, against a receipt."""
    from ..services.tickets import take_back as do

    app_ = open_app(ctx)
    r = do(app_, ident, receipt, at=parse_at(app_, at))
    _echo(format, r, r["status"])


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    ident: IdArg,
    at: AtOpt = None,
    note: Annotated[Optional[str], typer.Option("--note", help="What was done.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Mark the ticket resolved (stops the resolve clock); says whether every deadline was kept.

    Examples:
      crmctl service resolve BX-2026-00016 --note 已更换阀门
      crmctl service resolve BX-2026-00016 --at 2026-11-30T18:30
    """
    from ..services.tickets import resolve as do

    app_ = open_app(ctx)
    r = do(app_, ident, at=parse_at(app_, at), note=note)
    _echo(format, r, r["status"], "resolve")


@app.command("rate")
def rate(
    ctx: typer.Context,
    ident: IdArg,
    scores: Annotated[List[str], typer.Argument(help="ITEM=LEVEL for every rating item, e.g. attitude=4 skill=3 arrival=4 promise=4.")],
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Record the customer's rating card of a resolved ticket's technician."""
    from ..services.tickets import rate_ticket

    app_ = open_app(ctx)
    r = rate_ticket(app_, ident, parse_pairs(scores, _("rating")), at=parse_at(app_, at))
    _echo(format, r, " ".join(f"{k}={v}" for k, v in r["rating"].items()))


@app.command("list")
def list_(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only tickets not yet resolved.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only tickets that missed a deadline or are past one.")] = False,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's.")] = None,
    technician: Annotated[Optional[str], typer.Option("--technician", help="Only this technician's.")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only this kind.")] = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List service tickets, oldest first."""
    from ..output import emit_rows
    from ..services.tickets import list_tickets

    app_ = open_app(ctx)
    rows = list_tickets(app_, open_only=open_only, overdue=overdue, customer=customer, technician=technician, kind=kind)
    from ..services.tickets import TICKET_KEYS

    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), ticket_columns(app_), fields=TICKET_KEYS)


@app.command("show")
def show(ctx: typer.Context, ident: IdArg, format: FormatOpt = Format.table, output: OutputOpt = None,
         bom: BomOpt = False, labels: LabelsOpt = False, encoding: EncodingOpt = Encoding.utf8) -> None:
    """One ticket: its clocks, who went when, the take-back receipt and the rating."""
    from ..services.tickets import ticket_dict

    app_ = open_app(ctx)
    d = ticket_dict(app_, ident)
    pol = app_.policy.service
    rows = [("编号 id", d["id"]), ("客户 customer", f"{d['customer']} {d['customer_name']}"),
            ("类型 kind", f"{d['kind']} ({pol.kinds.get(d['kind'], d['kind'])})")]
    if d["location"]:
        rows.append(("区域 location", f"{d['location']} ({pol.locations.get(d['location'], d['location'])})"))
    if d["service_type"]:
        rows.append(("服务类别 type", f"{d['service_type']} ({pol.service_types.get(d['service_type'], '')})"))
    if d["summary"]:
        rows.append(("内容 summary", d["summary"]))
    rows.append(("受理 opened", fmt_dt(d["opened_at"])))
    for clock, key in (("respond", "respond_by"), ("arrive", "arrive_by"), ("resolve", "resolve_by")):
        if d[key]:
            c = d["clocks"].get(clock, {})
            mark = "  " + _("MISSED") if clock in d["missed"] else ""
            rows.append((_("{clock} by").format(clock=_clock(clock)),
                         f"{fmt_dt(d[key])}  ({c.get('due')}, {c.get('calendar')}){mark}"))
    for label, key in (("派工 dispatched", "dispatched_at"), ("到达 arrived", "arrived_at"),
                       ("带回 taken back", "taken_back_at"), ("修复 resolved", "resolved_at")):
        if d[key]:
            rows.append((label, fmt_dt(d[key]) + ("  " + _("receipt {receipt}").format(receipt=d["receipt"])
                                                  if key == "taken_back_at" else "")))
    rows += [("技术员 technician", d["technician"] or "-"),
             ("状态 status", d["status"] + (_(" (overdue)") if d["overdue"] else ""))]
    if d["note"]:
        rows.append(("备注 note", d["note"]))
    if d.get("rating"):
        items = pol.rating_items
        rows.append(("评价 rating", ", ".join(f"{items.get(k, k)} {v}" for k, v in d["rating"].items())))
    emit_detail(spec(format, output, bom, encoding, labels), d, rows, columns=ticket_columns(app_))
