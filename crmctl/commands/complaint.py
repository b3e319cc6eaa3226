"""``crmctl complaint``: Open, extend, escalate and close customer complaints against the policy's deadlines."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import i18n
from ..i18n import _, ngettext
from ..views.service_desk import complaint_columns, fmt_bool, fmt_dt, fmt_duration
from ._common import (AtOpt, BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, emit_detail, info, warn,
                      limited, open_app, parse_at, print_created, renamed, spec)

app = typer.Typer(help="Open, extend, escalate and close customer complaints against the policy's deadlines.", no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="Complaint number (e.g. TS-2026-0001) or its integer id.")]
NoteOpt = Annotated[Optional[str], typer.Option("--note", help="A note for the history.")]


def _echo_result(out, data: dict, text: str) -> None:
    from ..output import emit_object

    if out.format == "json":
        emit_object(out, data)
    else:
        typer.echo(text)


# ---- commands -----------------------------------------------------------------------------------

@app.command("open")
def open_(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    summary: Annotated[str, typer.Option("--summary", help="What the customer complains about.")],
    severity: Annotated[Optional[str], typer.Option("--severity", help="A severity of the policy, by code or label (default: the policy's).")] = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Record a complaint; prints its number. The deadline comes from the policy's SLA rules.

    Examples:
      crmctl complaint open C000007 --summary 提货延误两天 --severity general
      crmctl complaint open C000003 --summary 产品质量事故 --severity major --at 2026-11-27T10:00
    """
    from ..services.complaints import open_complaint

    app_ = open_app(ctx)
    result = open_complaint(app_, code, summary, severity=severity, at=parse_at(app_, at))
    print_created(spec(format), result, "id")
    if result.get("escalate_to"):
        line = _("{number}: due {due} ({sla}); to be escalated to {role}")
    else:
        line = _("{number}: due {due} ({sla})")
    info(line.format(number=result["id"], due=fmt_dt(result["due_at"]), sla=fmt_duration(result["sla"]),
                     role=i18n.label(result.get("escalate_to"), app_.policy.roles)))


@app.command("close")
def close(
    ctx: typer.Context,
    ident: IdArg,
    note: Annotated[Optional[str], typer.Option("--note", help="How it was resolved (the answer to the customer). Required.")] = None,
    satisfied: Annotated[Optional[bool], typer.Option("--satisfied/--unsatisfied", help="Whether the customer was satisfied (omit if not asked).")] = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
    resolution: Annotated[Optional[str], typer.Option("--resolution", hidden=True)] = None,
) -> None:
    """Close a complaint with its resolution (--note); says whether it was closed within the deadline.

    Examples:
      crmctl complaint close TS-2026-0015 --note 已重新发送价格通知 --satisfied
      crmctl complaint close TS-2026-0015 --note 已重新发送价格通知 --at 2026-11-30T16:00
    """
    from ..services.complaints import close_complaint

    note = renamed(note, resolution, new="--note", old="--resolution", required=True)
    app_ = open_app(ctx)
    r = close_complaint(app_, ident, note, satisfied, at=parse_at(app_, at))
    _echo_result(spec(format), r, r["status"])
    fu = r.get("follow_up")
    line = _("{number} closed LATE (due {due})") if r["overdue"] else _("{number} closed on time (due {due})")
    line = line.format(number=r["id"], due=fmt_dt(r["due_at"]))
    if fu:
        line = _("{closed}; follow-up {kind} planned for {owner}, due {due}").format(
            closed=line, kind=i18n.label(fu["kind"], app_.policy.activities.kinds), owner=fu["owner"] or _("nobody (no keeper)"),
            due=fu["due_date"])
    info(line)
    op = r.get("opinion")
    if op and op["status"] == "granted":
        info(_("handling opinion approved by {login} ({at})").format(login=op["decided_by"], at=fmt_dt(op["decided_at"])))
    if fu and fu["warning"]:
        warn(fu["warning"])


@app.command("extend")
def extend(
    ctx: typer.Context,
    ident: IdArg,
    working_days: Annotated[int, typer.Option("--working-days", help="Working days to add to the deadline in force.")],
    approved_by: Annotated[Optional[str], typer.Option("--approved-by", hidden=True)] = None,
    note: NoteOpt = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Ask to extend a complaint's deadline by N working days; the policy's approver grants it as themselves.

    The request waits in the approver's 'crmctl approve --list'; they grant it with
    'crmctl complaint approve-extension ID' (or refuse it with --reject --comment).
    Prints the complaint's number.
    """
    from ..errors import InvalidInput
    from ..services.complaints import request_extension

    if approved_by is not None:
        raise InvalidInput(_("--approved-by is gone: an extension is a request that the approver grants as "
                             "themselves ('crmctl complaint approve-extension ID', run by the approver)"))
    app_ = open_app(ctx)
    r = request_extension(app_, ident, working_days, note=note, at=parse_at(app_, at))
    _echo_result(spec(format), r, r["id"])
    req = r["extension_request"]
    info(ngettext("{number}: extension of {n} working day requested; waiting for {role} "
                  "(crmctl complaint approve-extension {number})",
                  "{number}: extension of {n} working days requested; waiting for {role} "
                  "(crmctl complaint approve-extension {number})", req["working_days"]).format(
        number=r["id"], n=req["working_days"], role=app_.policy.role_label(req["approver_role"])))


@app.command("approve-extension")
def approve_extension(
    ctx: typer.Context,
    ident: IdArg,
    reject: Annotated[bool, typer.Option("--reject", help="Refuse the extension (give --comment).")] = False,
    comment: Annotated[Optional[str], typer.Option("--comment", help="Why (required with --reject).")] = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Grant (or --reject) the extension a complaint waits for, as the approver; prints the new deadline."""
    from ..services.complaints import decide_extension

    app_ = open_app(ctx)
    r = decide_extension(app_, ident, grant=not reject, comment=comment, at=parse_at(app_, at))
    _echo_result(spec(format), r, "refused" if reject else r["due_at"].isoformat())


@app.command("submit-opinion")
def submit_opinion(
    ctx: typer.Context,
    ident: IdArg,
    note: Annotated[Optional[str], typer.Option("--note", help="The handling opinion (处理意见) for the approver. Required.")] = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Submit a complaint's handling opinion to the policy's approver role, where the policy wants it approved before the close.

    The opinion waits in the approver's 'crmctl approve --list'; they approve it with
    'crmctl complaint approve-opinion ID' (or refuse it with --reject --comment; then submit
    another). Prints the complaint's number.
    """
    from ..services.complaints import submit_opinion as do_submit

    app_ = open_app(ctx)
    r = do_submit(app_, ident, note, at=parse_at(app_, at))
    _echo_result(spec(format), r, r["id"])
    info(_("{number}: handling opinion submitted; waiting for {role} (crmctl complaint approve-opinion {number})").format(
        number=r["id"], role=app_.policy.role_label(r["opinion"]["approver_role"])))


@app.command("approve-opinion")
def approve_opinion(
    ctx: typer.Context,
    ident: IdArg,
    reject: Annotated[bool, typer.Option("--reject", help="Refuse the opinion (give --comment).")] = False,
    comment: Annotated[Optional[str], typer.Option("--comment", help="Why (required with --reject).")] = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Approve (or --reject) the handling opinion a complaint waits for, as the approver; prints granted or refused."""
    from ..services.complaints import decide_opinion

    app_ = open_app(ctx)
    r = decide_opinion(app_, ident, grant=not reject, comment=comment, at=parse_at(app_, at))
    _echo_result(spec(format), r, r["opinion"]["status"])
    info((_("{number}: handling opinion refused; submit another (crmctl complaint submit-opinion {number} --note TEXT)")
          if reject else _("{number}: handling opinion approved; it may be closed (crmctl complaint close {number})"))
         .format(number=r["id"]))


def _opinion_line(app_, op: dict, number: str) -> str:
    role = app_.policy.role_label(op["approver_role"])
    if op["status"] is None:
        return _("to be approved by {role} before the close (crmctl complaint submit-opinion {number} --note TEXT)").format(
            role=role, number=number)
    if op["status"] == "pending":
        return _("{text}  (waiting for {role}; submitted by {login} {at})").format(
            text=op["text"], role=role, login=op["requested_by"], at=fmt_dt(op["requested_at"]))
    if op["status"] == "granted":
        return _("{text}  (approved by {login} {at})").format(
            text=op["text"], login=op["decided_by"], at=fmt_dt(op["decided_at"]))
    line = (_("{text}  (refused by {login} {at}: {comment}; submit another: crmctl complaint submit-opinion {number})")
            if op["comment"] else
            _("{text}  (refused by {login} {at}; submit another: crmctl complaint submit-opinion {number})"))
    return line.format(text=op["text"], login=op["decided_by"], at=fmt_dt(op["decided_at"]), comment=op["comment"],
                       number=number)


@app.command("escalate")
def escalate(
    ctx: typer.Context,
    ident: IdArg,
    note: NoteOpt = None,
    at: AtOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Refer a complaint to the policy's escalation role (e.g. a gm meeting); prints that role."""
    from ..services.complaints import escalate_complaint

    app_ = open_app(ctx)
    r = escalate_complaint(app_, ident, note=note, at=parse_at(app_, at))
    _echo_result(spec(format), r, r["escalated_to"])


@app.command("list")
def list_(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only open complaints.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones: open past the deadline, or closed after it.")] = False,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's.")] = None,
    severity: Annotated[Optional[str], typer.Option("--severity", help="Only this severity.")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only those handled by this login.")] = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List complaints, oldest first (overdue against the deadline in force).

    Examples:
      crmctl complaint list --open
      crmctl complaint list --overdue --format csv --output overdue.csv
    """
    from ..output import emit_rows
    from ..services.complaints import list_complaints

    app_ = open_app(ctx)
    rows = list_complaints(app_, open_only=open_only, overdue=overdue, customer=customer, severity=severity, owner=owner)
    from ..services.complaints import COMPLAINT_KEYS

    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), complaint_columns(app_),
              fields=COMPLAINT_KEYS)


@app.command("show")
def show(ctx: typer.Context, ident: IdArg, format: FormatOpt = Format.table, output: OutputOpt = None,
         bom: BomOpt = False, labels: LabelsOpt = False, encoding: EncodingOpt = Encoding.utf8) -> None:
    """One complaint with its whole history: opening, extensions, escalation, closing."""
    from ..services.complaints import complaint_dict

    app_ = open_app(ctx)
    d = complaint_dict(app_, ident)
    sev = app_.policy.complaints.severities.get(d["severity"], d["severity"])
    status = d["status"] + (_(" (overdue)") if d["overdue"] else "")
    rows = [
        ("编号 id", d["id"]), ("客户 customer", f"{d['customer']} {d['customer_name']}"),
        ("性质 severity", f"{d['severity']} ({sev})"), ("内容 summary", d["summary"]),
        ("受理 opened", fmt_dt(d["opened_at"])),
        ("期限 due", (ngettext("{due}  (SLA {sla}: {sla_due}, extended {n} working day)",
                               "{due}  (SLA {sla}: {sla_due}, extended {n} working days)", d["extended_days"])
                      if d["extended_days"] else "{due}  (SLA {sla}: {sla_due})").format(
            due=fmt_dt(d["due_at"]), sla=fmt_duration(d["sla"]), sla_due=fmt_dt(d["sla_due_at"]), n=d["extended_days"])),
        ("状态 status", status), ("负责人 owner", d["owner"]),
    ]
    if d["escalated_at"]:
        rows.append(("上报 escalated", _("{at} to {role}").format(
            at=fmt_dt(d["escalated_at"]), role=i18n.label(d["escalated_to"], app_.policy.roles))))
    if d.get("opinion"):
        rows.append(("处理意见 opinion", _opinion_line(app_, d["opinion"], d["id"])))
    if d["closed_at"]:
        rows += [("结案 closed", fmt_dt(d["closed_at"])), ("处理结果 resolution", d["resolution"]),
                 ("满意 satisfied", fmt_bool(d["satisfied"]) or "-")]
    extra = ["", _("history:")]
    for e in d["history"]:
        details = " ".join(f"{k}={v}" for k, v in e["details"].items() if v is not None)
        extra.append(f"  {fmt_dt(e['at'])}  {e['event']:<9} {e['by']:<12} {details}".rstrip())
    emit_detail(spec(format, output, bom, encoding, labels), d, rows, extra, complaint_columns(app_))
