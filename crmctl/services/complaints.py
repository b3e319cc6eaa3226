"""Customer complaints: open (SLA from the policy), extend, escalate, the handling opinion's approval,
close, list, show, statistics.

Every change is one unit of work with its history event and its audit entry; everything is checked
before anything is written, so a refused command changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import and_, case, func, select

from ..errors import NotPermitted, RuleViolation
from ..models import ApprovalRequest, Complaint, ComplaintEvent, Customer, CustomerGrade, Staff
from ..rules import sla as rules
from ..rules.customers import clean_text
from ..rules.errors import RuleError
from . import audit
from .app import App
from .lookups import customer_for_work, customer_id, find_record, find_staff, staff_logins
from .service_desk import check_after, customer_context, local, next_number, period_bounds
from .visibility import Scope, require_read
from .. import i18n
from ..i18n import _


def _policy(app: App):
    pol = app.policy.complaints
    if pol is None:
        raise RuleViolation(_("policy {policy} has no complaints section").format(policy=app.policy.code))
    return pol


#: the keys of a complaint of the list (``_dict``), in order: the csv header even without rows
COMPLAINT_KEYS = ("id", "customer", "severity", "summary", "opened_at", "due_at", "closed_at", "status", "overdue",
                  "satisfied", "sla", "sla_due_at", "extended_days", "escalated_at", "escalated_to", "owner",
                  "resolution", "ref")


def _dict(app: App, c: Complaint, customer: str, owner: str | None, now: datetime) -> dict:
    return {
        "id": c.number,
        "customer": customer,
        "severity": c.severity,
        "summary": c.summary,
        "opened_at": local(app, c.opened_at),
        "due_at": local(app, c.due_at),
        "closed_at": local(app, c.closed_at),
        "status": c.status,
        "overdue": rules.is_overdue(c.due_at, c.closed_at, now),
        "satisfied": c.satisfied,
        "sla": c.sla,
        "sla_due_at": local(app, c.sla_due_at),
        "extended_days": c.extended_days,
        "escalated_at": local(app, c.escalated_at),
        "escalated_to": c.escalated_to,
        "owner": owner,
        "resolution": c.resolution,
        "ref": c.id,
    }


def _load(session, app: App, ident: str, *, lock: bool = False) -> tuple[Complaint, Customer]:
    """The complaint and its customer; ``lock``: the complaint's row locked for a decision about it
    (two people extending, deciding or closing one complaint at once are decided one after the other)."""
    c = find_record(session, Complaint, ident, "complaint", lock=lock)
    return c, session.get(Customer, c.customer_id)


def _event(session, c: Complaint, kind: str, at: datetime, actor: str, **details) -> None:
    session.add(ComplaintEvent(complaint_id=c.id, kind=kind, at=at, actor=actor,
                               details={k: (v.isoformat() if isinstance(v, datetime) else v)
                                        for k, v in details.items()}))


def open_complaint(app: App, code: str, summary: str, *, severity: str | None = None,
                   at: datetime | None = None) -> dict:
    """Record a complaint; its deadline is the first matching SLA rule counted from ``at``."""
    pol = _policy(app)
    summary = clean_text(summary or "", "--summary", required=True)
    sev = rules.pick_code(pol.severities, severity or pol.default_severity, "severity", "--severity")
    opened = app.event_time(at)
    cal = app.calendar
    actor = app.actor
    with app.db.write() as s:
        cust = customer_for_work(s, code)
        ctx = customer_context(s, cust)
        choice = rules.complaint_sla(pol, sev, **ctx)
        due = cal.add(opened, choice.due)
        number = next_number(s, "complaint", pol.number_pattern, opened, Complaint)
        c = Complaint(number=number, customer_id=cust.id, severity=sev, summary=summary, opened_at=opened,
                      opened_by=actor.login, sla=choice.due, sla_due_at=due, due_at=due, status="open",
                      policy_version=app.policy_version, owner_id=cust.owner_id or actor.id)
        s.add(c)
        s.flush()
        _event(s, c, "open", opened, actor.login, severity=sev, sla=choice.due, rule=choice.describe(), due_at=due)
        owner = staff_logins(s, [c.owner_id]).get(c.owner_id)
        out = _dict(app, c, cust.code, owner, app.now())
        audit.record(s, app, "complaint.open", "complaint", number, customer_code=cust.code,
                     after={k: out[k] for k in ("severity", "summary", "opened_at", "due_at", "sla", "owner")})
    if pol.escalate_role and sev in pol.escalate:
        out["escalate_to"] = pol.escalate_role
    return out


def _extension_policy(app: App):
    ext = _policy(app).extension
    if ext is None:
        raise RuleViolation(_("policy {policy} allows no extension of complaint deadlines").format(policy=app.policy.code))
    return ext


def _pending_extension(session, c: Complaint) -> ApprovalRequest | None:
    return session.scalars(select(ApprovalRequest).where(ApprovalRequest.kind == "extension",
                                                         ApprovalRequest.complaint_id == c.id,
                                                         ApprovalRequest.status == "pending")).first()


def _request_dict(app: App, r: ApprovalRequest | None) -> dict | None:
    if r is None:
        return None
    return {"id": r.id, "working_days": (r.details or {}).get("working_days"), "approver_role": r.approver_role,
            "requested_by": r.requested_by, "requested_at": local(app, r.requested_at), "status": r.status,
            "decided_by": r.decided_by, "decided_at": local(app, r.decided_at), "comment": r.comment}


def request_extension(app: App, ident: str, working_days: int, *, note: str | None = None,
                      at: datetime | None = None) -> dict:
    """Ask for the deadline in force to move back by N working days: a request that a holder of the
    policy's approver role grants (or refuses) as themselves (``decide_extension``)."""
    ext = _extension_policy(app)
    note = clean_text(note or "", "--note", required=False)
    when = app.event_time(at)
    actor = app.actor
    with app.db.write() as s:
        c, cust = _load(s, app, ident, lock=True)
        if c.status != "open":
            raise RuleViolation(_("complaint {number} is closed; only an open complaint can be extended").format(number=c.number))
        if _pending_extension(s, c) is not None:
            raise RuleViolation(_("complaint {number} already has an extension waiting for {role}").format(
                number=c.number, role=app.policy.role_label(ext.approver_role)))
        try:  # refused now if it could never be granted
            rules.extend_deadline(app.calendar, c.opened_at, c.due_at, working_days, ext.max_total)
        except RuleError as exc:
            raise exc.within(_("complaint {number}").format(number=c.number)) from None
        if ext.severities and c.severity not in ext.severities:
            allowed = i18n.coded_list((k, _policy(app).severities.get(k, k)) for k in ext.severities)
            raise RuleViolation(_("complaint {number} is {severity}: only {allowed} complaints may be extended").format(
                number=c.number, severity=_severity(app, c.severity), allowed=allowed))
        if rules.is_overdue(c.due_at, None, when):
            raise RuleViolation(_("complaint {number} was due {due}: an extension is asked for before the deadline "
                                  "passes (the miss stays recorded)").format(
                number=c.number, due=f"{local(app, c.due_at):%Y-%m-%d %H:%M}"))
        r = ApprovalRequest(kind="extension", complaint_id=c.id, customer_id=cust.id, approver_role=ext.approver_role,
                            details={"working_days": working_days, "note": note},
                            requested_by=actor.login, requested_at=when, status="pending")
        s.add(r)
        s.flush()
        _event(s, c, "extend_request", when, actor.login, working_days=working_days, note=note)
        audit.record(s, app, "complaint.extend_request", "complaint", c.number, customer_code=cust.code,
                     after={"working_days": working_days, "approver_role": ext.approver_role, "note": note})
        out = _dict(app, c, cust.code, staff_logins(s, [c.owner_id]).get(c.owner_id), app.now())
        out["extension_request"] = _request_dict(app, r)
    return out


def decide_extension(app: App, ident: str, *, grant: bool = True, comment: str | None = None,
                     at: datetime | None = None) -> dict:
    """The approver grants (or refuses) a complaint's waiting extension, as themselves: they hold the
    policy's approver role, did not ask for it, and act in person where the policy says so."""
    ext = _extension_policy(app)
    comment = clean_text(comment or "", "--comment", required=not grant)
    when = app.event_time(at)
    actor = app.actor
    with app.db.write() as s:
        c, cust = _load(s, app, ident, lock=True)
        r = _pending_extension(s, c)
        if r is None:
            last = s.scalars(select(ApprovalRequest).where(ApprovalRequest.kind == "extension",
                                                           ApprovalRequest.complaint_id == c.id,
                                                           ApprovalRequest.decided_by.is_not(None))
                             .order_by(ApprovalRequest.decided_at.desc(), ApprovalRequest.id.desc()).limit(1)).first()
            why = (_last_decided(app, last) if last is not None and last.decided_at
                   else _("ask for one with 'crmctl complaint extend'"))
            raise RuleViolation(_("complaint {number} has no extension waiting for a decision ({why})").format(
                number=c.number, why=why))
        check_decider(app, r.approver_role, r.requested_by,
                      _("the extension of complaint {number}").format(number=c.number))
        days = int((r.details or {}).get("working_days") or 0)
        r.status, r.decided_by, r.decided_at, r.comment = ("granted" if grant else "refused"), actor.login, when, comment
        s.add(r)
        if not grant:
            _event(s, c, "extend_refused", when, actor.login, working_days=days, comment=comment)
            audit.record(s, app, "complaint.extend_refused", "complaint", c.number, customer_code=cust.code,
                         after={"working_days": days, "requested_by": r.requested_by}, note=comment)
        else:
            try:
                new_due = rules.extend_deadline(app.calendar, c.opened_at, c.due_at, days, ext.max_total)
            except RuleError as exc:
                raise exc.within(_("complaint {number}").format(number=c.number)) from None
            before = local(app, c.due_at)
            c.due_at = new_due
            c.extended_days += days
            s.add(c)
            _event(s, c, "extend", when, r.requested_by, working_days=days, approved_by=actor.login,
                   before=before, due_at=local(app, new_due), note=(r.details or {}).get("note"))
            audit.record(s, app, "complaint.extend", "complaint", c.number, customer_code=cust.code,
                         before={"due_at": before},
                         after={"due_at": local(app, new_due), "approved_by": actor.login, "working_days": days,
                                "requested_by": r.requested_by}, note=comment)
        out = _dict(app, c, cust.code, staff_logins(s, [c.owner_id]).get(c.owner_id), app.now())
        out["extension_request"] = _request_dict(app, r)
    return out


def _severity(app: App, severity: str) -> str:
    """A complaint's severity inside a message: the policy's label in Chinese, the code in English."""
    pol = app.policy.complaints
    return i18n.label(severity, pol.severities if pol is not None else {})


def _last_decided(app: App, r: ApprovalRequest) -> str:
    """``the last one was already granted by zjl on 2026-11-22 10:00`` (a request decided before)."""
    at = f"{local(app, r.decided_at):%Y-%m-%d %H:%M}"
    if r.status == "granted":
        text = _("the last one was already granted by {login} on {at}")
    elif r.status == "refused":
        text = _("the last one was already refused by {login} on {at}")
    else:
        text = _("the last one was already {status} by {login} on {at}")
    return text.format(status=r.status, login=r.decided_by, at=at)


def check_decider(app: App, role: str, requested_by: str, what: str) -> None:
    """An approval is the approver's own act: they hold ``role``, are not who asked (counted as the
    person acted for, as one person, one step is), and -- where the policy wants approvals in person --
    are not acted for by an administrator.  ``what``: the request, already in the user's language."""
    actor = app.actor
    if not actor.has_role(role):
        raise NotPermitted(_("{login} may not decide {what}: it waits for role {role}").format(
            login=actor.login, what=what, role=i18n.coded(role, app.policy.role_label(role))))
    if requested_by.lower() == actor.login.lower():
        raise NotPermitted(_("{login} may not decide {what}: nobody approves their own request").format(
            login=actor.login, what=what))
    app.require_in_person(_("decide {what}").format(what=what))


def pending_requests(app: App) -> list[dict]:
    """Requests waiting for the acting person's decision (``approve --list``; the keys
    ``services.customers.admission.APPROVAL_KEYS``)."""
    actor = app.actor
    with app.db.read() as s:
        rows = s.execute(select(ApprovalRequest, Complaint.number, Customer.code, Customer.name)
                         .join(Complaint, Complaint.id == ApprovalRequest.complaint_id)
                         .join(Customer, Customer.id == ApprovalRequest.customer_id)
                         .where(ApprovalRequest.status == "pending").order_by(ApprovalRequest.requested_at)).all()
    return [{"kind": r.kind, "code": code, "name": name, "complaint": number, "step": None, "role": r.approver_role,
             "working_days": (r.details or {}).get("working_days"), "requested_by": r.requested_by,
             "submitted_at": local(app, r.requested_at)}
            for r, number, code, name in rows
            if actor.has_role(r.approver_role) and r.requested_by.lower() != actor.login.lower()]


# ----------------------------------------------------------------------------------------------
# The handling opinion (处理意见) approved before the close, where the policy says so (petrochem 12(二))


def _opinion_policy(app: App):
    op = _policy(app).opinion_approval
    if op is None:
        raise RuleViolation(_("policy {policy} asks no approval of handling opinions "
                              "(close the complaint with 'crmctl complaint close')").format(policy=app.policy.code))
    return op


def _latest_opinion(session, c: Complaint) -> ApprovalRequest | None:
    return session.scalars(select(ApprovalRequest).where(ApprovalRequest.kind == "opinion",
                                                         ApprovalRequest.complaint_id == c.id)
                           .order_by(ApprovalRequest.requested_at.desc(), ApprovalRequest.id.desc())
                           .limit(1)).first()


def _opinion_dict(app: App, c: Complaint, r: ApprovalRequest | None) -> dict | None:
    """Where the complaint's handling opinion stands: None when the policy asks no approval for it
    and none was submitted; else whether one is required, and the latest submitted (status None: none)."""
    op = _policy(app).opinion_approval
    required = op is not None and op.applies_to(c.severity)
    if r is None and not required:
        return None
    return {"required": required, "approver_role": r.approver_role if r is not None else op.approver_role,
            "status": r.status if r is not None else None,
            "text": (r.details or {}).get("opinion") if r is not None else None,
            "requested_by": r.requested_by if r is not None else None,
            "requested_at": local(app, r.requested_at) if r is not None else None,
            "decided_by": r.decided_by if r is not None else None,
            "decided_at": local(app, r.decided_at) if r is not None else None,
            "comment": r.comment if r is not None else None, "request": r.id if r is not None else None}


def _check_opinion_before_close(app: App, c: Complaint, r: ApprovalRequest | None, when: datetime) -> None:
    pol = _policy(app)
    lack = rules.opinion_to_close(pol.opinion_approval, c.severity, r.status if r is not None else None)
    if lack is None:
        if r is not None and r.status == "granted" and r.decided_at is not None:
            check_after(when, r.decided_at, _("close time"), _("the approval of the handling opinion"))
        return
    role = pol.opinion_approval.approver_role
    label = app.policy.role_label(role)
    if lack == "decide":
        raise RuleViolation(_("complaint {number}: its handling opinion waits for {label} "
                              "(crmctl complaint approve-opinion {number}, by a holder of role {role})").format(
            number=c.number, label=label, role=role))
    if lack == "resubmit":
        why = (_("its last handling opinion was refused by {login} ({comment}); submit another") if r.comment
               else _("its last handling opinion was refused by {login}; submit another")).format(
            login=r.decided_by, comment=r.comment)
    else:
        why = _("its handling opinion is approved by {label} before it is closed").format(label=label)
    raise RuleViolation(_("complaint {number} is {severity}: {why} "
                          "(crmctl complaint submit-opinion {number} --note TEXT)").format(
        number=c.number, severity=_severity(app, c.severity), why=why))


def submit_opinion(app: App, ident: str, opinion: str, *, at: datetime | None = None) -> dict:
    """Submit the handling opinion of a complaint for the policy's approver role (petrochem 12(二):
    报主管领导审批); one waits at a time, a refused one is submitted again."""
    op = _opinion_policy(app)
    opinion = clean_text(opinion or "", "--note", required=True)
    when = app.event_time(at)
    actor = app.actor
    with app.db.write() as s:
        c, cust = _load(s, app, ident, lock=True)
        if c.status != "open":
            raise RuleViolation(_("complaint {number} is closed; a handling opinion is submitted before the close")
                                .format(number=c.number))
        if not op.applies_to(c.severity):
            allowed = i18n.coded_list((k, _policy(app).severities.get(k, k)) for k in op.severities)
            raise RuleViolation(_("complaint {number} is {severity}: only the handling opinions of {allowed} "
                                  "complaints go to {role}").format(
                number=c.number, severity=_severity(app, c.severity), allowed=allowed,
                role=app.policy.role_label(op.approver_role)))
        last = _latest_opinion(s, c)
        if last is not None and last.status == "pending":
            raise RuleViolation(_("complaint {number} already has a handling opinion waiting for {role} "
                                  "(crmctl complaint approve-opinion {number})").format(
                number=c.number, role=app.policy.role_label(last.approver_role)))
        check_after(when, c.opened_at, "--at", _("the opening"))
        r = ApprovalRequest(kind="opinion", complaint_id=c.id, customer_id=cust.id, approver_role=op.approver_role,
                            details={"opinion": opinion}, requested_by=actor.login, requested_at=when, status="pending")
        s.add(r)
        s.flush()
        _event(s, c, "opinion", when, actor.login, opinion=opinion, to=op.approver_role)
        audit.record(s, app, "complaint.opinion_submit", "complaint", c.number, customer_code=cust.code,
                     after={"opinion": opinion, "approver_role": op.approver_role})
        out = _dict(app, c, cust.code, staff_logins(s, [c.owner_id]).get(c.owner_id), app.now())
        out["opinion"] = _opinion_dict(app, c, r)
    return out


def decide_opinion(app: App, ident: str, *, grant: bool = True, comment: str | None = None,
                   at: datetime | None = None) -> dict:
    """The approver approves (or refuses) a complaint's waiting handling opinion, as themselves: they
    hold the role, did not submit it (nobody approves their own request; on PostgreSQL the server
    refuses it too), and act in person where the policy says so.  A refused opinion is submitted again."""
    _opinion_policy(app)
    comment = clean_text(comment or "", "--comment", required=not grant)
    when = app.event_time(at)
    actor = app.actor
    with app.db.write() as s:
        c, cust = _load(s, app, ident, lock=True)
        r = _latest_opinion(s, c)
        if r is None or r.status != "pending":
            why = (_last_decided(app, r) if r is not None and r.decided_at
                   else _("submit one with 'crmctl complaint submit-opinion {number}'").format(number=c.number))
            raise RuleViolation(_("complaint {number} has no handling opinion waiting for a decision ({why})").format(
                number=c.number, why=why))
        check_decider(app, r.approver_role, r.requested_by,
                      _("the handling opinion of complaint {number}").format(number=c.number))
        check_after(when, r.requested_at, "--at", _("the submission of the opinion"))
        r.status, r.decided_by, r.decided_at, r.comment = ("granted" if grant else "refused"), actor.login, when, comment
        s.add(r)
        kind = "opinion_approved" if grant else "opinion_refused"
        _event(s, c, kind, when, actor.login, requested_by=r.requested_by, comment=comment)
        audit.record(s, app, "complaint.opinion_approve" if grant else "complaint.opinion_refuse", "complaint",
                     c.number, customer_code=cust.code, before={"status": "pending"},
                     after={"status": r.status, "opinion": (r.details or {}).get("opinion"),
                            "requested_by": r.requested_by}, note=comment)
        out = _dict(app, c, cust.code, staff_logins(s, [c.owner_id]).get(c.owner_id), app.now())
        out["opinion"] = _opinion_dict(app, c, r)
    return out


def escalate_complaint(app: App, ident: str, *, note: str | None = None, at: datetime | None = None) -> dict:
    """Refer a complaint to the policy's escalation role (e.g. a gm meeting); recorded once."""
    pol = _policy(app)
    if not pol.escalate_role:
        raise RuleViolation(_("policy {policy} names no role complaints are escalated to").format(policy=app.policy.code))
    note = clean_text(note or "", "--note", required=False)
    when = app.event_time(at)
    with app.db.write() as s:
        c, cust = _load(s, app, ident, lock=True)
        if c.status != "open":
            raise RuleViolation(_("complaint {number} is closed; it cannot be escalated").format(number=c.number))
        if c.escalated_at is not None:
            raise RuleViolation(_("complaint {number} was already escalated to {role} on {at}").format(
                number=c.number, role=i18n.label(c.escalated_to, app.policy.roles),
                at=f"{local(app, c.escalated_at):%Y-%m-%d %H:%M}"))
        check_after(when, c.opened_at, "--at", _("the opening"))
        c.escalated_at = when
        c.escalated_to = pol.escalate_role
        s.add(c)
        _event(s, c, "escalate", when, app.actor.login, to=pol.escalate_role, note=note)
        audit.record(s, app, "complaint.escalate", "complaint", c.number, customer_code=cust.code,
                     after={"escalated_to": pol.escalate_role, "escalated_at": when, "note": note})
        out = _dict(app, c, cust.code, staff_logins(s, [c.owner_id]).get(c.owner_id), app.now())
    return out


def close_complaint(app: App, ident: str, resolution: str, satisfied: bool | None = None, *,
                    at: datetime | None = None) -> dict:
    """Close with the resolution and whether the customer was satisfied (None: not asked)."""
    pol = _policy(app)
    resolution = clean_text(resolution or "", "--note", required=True)
    when = app.event_time(at)
    with app.db.write() as s:
        c, cust = _load(s, app, ident, lock=True)
        if c.status != "open":
            raise RuleViolation(_("complaint {number} is already closed ({at})").format(
                number=c.number, at=f"{local(app, c.closed_at):%Y-%m-%d %H:%M}"))
        if pol.escalate_before_close and c.severity in pol.escalate and c.escalated_at is None:
            raise RuleViolation(_("complaint {number} is {severity}: it goes to {role} before it is closed "
                                  "(crmctl complaint escalate {number})").format(
                number=c.number, severity=_severity(app, c.severity), role=app.policy.role_label(pol.escalate_role)))
        check_after(when, c.opened_at, _("close time"), _("the opening"))
        opinion = _latest_opinion(s, c)
        _check_opinion_before_close(app, c, opinion, when)
        c.closed_at = when
        c.resolution = resolution
        c.satisfied = satisfied
        c.status = "closed"
        s.add(c)
        late = rules.is_overdue(c.due_at, when, when)
        _event(s, c, "close", when, app.actor.login, resolution=resolution, satisfied=satisfied, late=late)
        audit.record(s, app, "complaint.close", "complaint", c.number, customer_code=cust.code,
                     before={"status": "open"},
                     after={"status": "closed", "closed_at": when, "satisfied": satisfied, "late": late})
        out = _dict(app, c, cust.code, staff_logins(s, [c.owner_id]).get(c.owner_id), app.now())
        out["follow_up"] = _plan_follow_up(s, app, pol.follow_up, c, cust, when)
        out["opinion"] = _opinion_dict(app, c, opinion)
    return out


def _plan_follow_up(s, app: App, fu, c: Complaint, cust: Customer, closed: datetime) -> dict | None:
    """The follow-up the policy asks for after a complaint (a planned activity: it shows in visit
    list, counts in report visits and is missed when not done in time); None when none applies."""
    from ..models import Activity
    from .assignment import role_holder, stand_in_warning

    if fu is None:
        return None
    if fu.when is not None and not fu.when.matches(**customer_context(s, cust)):
        return None
    stand_in = False
    if fu.role is None:
        owner_id = cust.owner_id
    else:
        owner_id, stand_in = role_holder(s, fu.role)
    due = app.calendar.add(closed, fu.due).astimezone(app.tz).date()
    a = Activity(customer_id=cust.id, kind=fu.kind, due_date=due, owner_id=owner_id, status="planned",
                 cadence_key=f"{cust.id}:{fu.kind}:complaint{c.id}",
                 plan_note=f"投诉 {c.number} 回访（{fu.due} 内）", created_at=app.now())
    s.add(a)
    s.flush()
    owner = staff_logins(s, [owner_id]).get(owner_id) if owner_id else None
    audit.record(s, app, "complaint.follow_up", "activity", str(a.id), customer_code=cust.code,
                 after={"complaint": c.number, "kind": fu.kind, "owner": owner, "due_date": due})
    return {"kind": fu.kind, "owner": owner, "due_date": due, "activity": a.id, "role": fu.role,
            "administrator_standing_in": stand_in,
            "warning": stand_in_warning(fu.role, app.policy.roles.get(fu.role), _("the follow-up")) if stand_in else None}


def complaint_dict(app: App, ident: str, *, history: bool = True) -> dict:
    """One complaint with its whole history (open, extensions, escalation, close)."""
    now = app.now()
    with app.db.read() as s:
        c, cust = _load(s, app, ident)
        require_read(s, app, cust, [c.owner_id], what=_("complaint {number}").format(number=c.number))
        out = _dict(app, c, cust.code, staff_logins(s, [c.owner_id]).get(c.owner_id), now)
        out["customer_name"] = cust.name
        out["opinion"] = _opinion_dict(app, c, _latest_opinion(s, c))
        if history:
            out["history"] = [
                {"at": local(app, e.at), "event": e.kind, "by": e.actor, "details": dict(e.details or {})}
                for e in s.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)
                                   .order_by(ComplaintEvent.at, ComplaintEvent.id)).all()
            ]
    return out


def list_complaints(app: App, *, open_only: bool = False, overdue: bool = False, customer: str | None = None,
                    severity: str | None = None, owner: str | None = None) -> Iterator[dict]:
    """Complaints, oldest first, streamed; ``overdue``: open past the deadline or closed after it."""
    pol = _policy(app)
    now = app.now()
    q = (select(Complaint, Customer.code, Staff.login, Customer.owner_id)
         .join(Customer, Customer.id == Complaint.customer_id)
         .outerjoin(Staff, Staff.id == Complaint.owner_id)
         .order_by(Complaint.opened_at, Complaint.id))
    if open_only:
        q = q.where(Complaint.status == "open")
    if overdue:
        q = q.where(rules.ClockSql(Complaint.due_at, Complaint.closed_at, now).overdue)
    if severity:
        q = q.where(Complaint.severity == rules.pick_code(pol.severities, severity, "severity", "--severity"))
    with app.db.read() as s:
        if customer:
            q = q.where(Complaint.customer_id == customer_id(s, customer))
        if owner:
            q = q.where(Complaint.owner_id == find_staff(s, owner, active_only=False).id)
        scope = Scope(s, app)
        for c, code, login, keeper in s.execute(q.execution_options(yield_per=1000)):
            if scope.readable(c.customer_id, keeper, c.owner_id):
                yield _dict(app, c, code, login, now)


# ----------------------------------------------------------------------------------------------
# Statistics (reports, the demo's summary)


def _stat_columns(now: datetime):
    closed = Complaint.status == "closed"
    clock = rules.ClockSql(Complaint.due_at, Complaint.closed_at, now)
    return (
        func.count(Complaint.id).label("opened"),
        func.sum(case((closed, 1), else_=0)).label("closed"),
        func.sum(case((clock.met, 1), else_=0)).label("on_time"),
        func.sum(case((clock.late, 1), else_=0)).label("late"),
        func.sum(case((clock.open_late, 1), else_=0)).label("open_overdue"),
        func.sum(case((and_(closed, Complaint.satisfied.is_(True)), 1), else_=0)).label("satisfied"),
        func.sum(case((and_(closed, Complaint.satisfied.is_(False)), 1), else_=0)).label("unsatisfied"),
    )


def _stat_row(row, target) -> dict:
    satisfied, unsatisfied = int(row.satisfied or 0), int(row.unsatisfied or 0)
    pct = rules.satisfaction_pct(satisfied, satisfied + unsatisfied)
    return {"opened": int(row.opened or 0), "closed": int(row.closed or 0), "on_time": int(row.on_time or 0),
            "late": int(row.late or 0), "open_overdue": int(row.open_overdue or 0), "satisfied": satisfied,
            "unsatisfied": unsatisfied, "satisfaction_pct": pct, "target_pct": target,
            "meets_target": rules.meets_target(pct, target)}


def complaint_stats(app: App, period) -> dict:
    """Complaints opened in ``period`` (a ``rules.periods.Period`` or ``(start, end)`` dates):
    opened / closed / on time / late / still open and overdue now / satisfaction against the
    policy's target, in total, by severity and by grade of every grading scale.  A few GROUP BYs."""
    start, end = (period.start, period.end) if hasattr(period, "start") else period
    label = getattr(period, "label", f"{start.isoformat()}..{end.isoformat()}")
    lo, hi = period_bounds(app, start, end)
    pol = app.policy.complaints
    target = float(pol.satisfaction_target_pct) if pol and pol.satisfaction_target_pct is not None else None
    now = app.now()
    where = and_(Complaint.opened_at >= lo, Complaint.opened_at < hi)
    out: dict[str, Any] = {"period": label, "start": start, "end": end, "target_pct": target}
    with app.db.read() as s:
        total = s.execute(select(*_stat_columns(now)).where(where)).one()
        out["total"] = _stat_row(total, target)
        out["by_severity"] = [
            {"severity": r.severity, **_stat_row(r, target)}
            for r in s.execute(select(Complaint.severity, *_stat_columns(now)).where(where)
                               .group_by(Complaint.severity).order_by(Complaint.severity))
        ]
        by_grade = []
        for scale in app.policy.grading.scales:
            q = (select(CustomerGrade.grade, *_stat_columns(now))
                 .select_from(Complaint)
                 .outerjoin(CustomerGrade, and_(CustomerGrade.customer_id == Complaint.customer_id,
                                                CustomerGrade.scale == scale))
                 .where(where).group_by(CustomerGrade.grade).order_by(CustomerGrade.grade))
            for r in s.execute(q):
                by_grade.append({"scale": scale, "grade": r.grade, **_stat_row(r, target)})
        out["by_grade"] = by_grade
    return out
