"""Admission (petrochem Art. 7, manufacturer 二): prospect → submitted (required documents present)
→ one approval per step of the policy's chain → active; rejection back to prospect with the reason;
disqualification (petrochem Art. 17) and reinstatement by the policy's role.

Who may take which step is the pure rule :func:`crmctl.rules.customers.check_approver` (one person,
one step); the chain's state is read by :func:`crmctl.services.customers.reading.chain_state`.

Every decision here is read and written under a lock of the customer's row (``get_customer(...,
lock=True)``: ``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transaction is exclusive), so two
people deciding at once are decided one after the other, and the second one reads the first one's
decision; the unique index on approval (customer, round, step) keeps one decision per step whatever
else writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Mapping

from sqlalchemy import select

from ...db import IN_CHUNK
from ...errors import InvalidInput, Joined, Msg, NotPermitted, RuleViolation
from ...models import Approval, Customer, Document
from ...rules import customers as rules
from ...rules.codes import pick_code
from ...rules.errors import RuleError
from .. import audit
from ..app import App
from ..lookups import get_customer
from .reading import chain_state
from .records import set_initial_grades
from ... import i18n
from ...i18n import _


def _status(app: App, status: str) -> str:
    """A customer's status inside a message: the policy's label in Chinese (待审批), the code in English."""
    return i18n.label(status, app.policy.statuses.labels())


def _role(app: App, role: str) -> str:
    """A role inside a message: the policy's label in Chinese (财务), the code in English."""
    return i18n.label(role, app.policy.roles)


def _missing_documents(session, app: App, c: Customer, required, now: datetime) -> list[str]:
    """The required documents the customer lacks or holds only expired copies of."""
    docs = session.execute(select(Document.type, Document.expires).where(Document.customer_id == c.id)).all()
    return rules.document_problems(required, docs, now.date(), app.policy.document_labels())


def submit(app: App, code: str, at: datetime | None = None, criteria: Mapping[str, str] | None = None) -> dict:
    """prospect -> pending (or active where the policy has no chain): required documents present?"""
    now = at or app.now()
    adm = app.policy.admission
    scores = rules.criteria_scores(adm.criteria, criteria or {}, adm.criteria_scale_max, adm.criteria_min)
    with app.db.write() as s:
        c = get_customer(s, code, lock=True)
        if c.status != "prospect":
            raise RuleViolation(_("customer {code} is {status}; only a prospect can be submitted").format(
                code=c.code, status=_status(app, c.status)))
        missing = _missing_documents(s, app, c, adm.required_documents, now)
        if missing:
            raise RuleViolation(_("customer {code} lacks valid documents: {documents} (add them with 'crmctl doc add')").format(
                code=c.code, documents=i18n.text(Joined(missing, Msg(", ")))))
        c.admission_round += 1
        chain = list(adm.chain)
        c.status = "pending" if chain else "active"
        c.status_changed_at = c.updated_at = now
        s.add(Approval(customer_id=c.id, round=c.admission_round, step=0, role=None, staff_login=app.actor.login,
                       decision="submit", details={"criteria": scores} if scores else None, at=now))
        if c.status == "active":
            set_initial_grades(s, app, c, now)
        s.add(c)
        audit.record(s, app, "customer.submit", "customer", c.code, before={"status": "prospect"},
                     after={"status": c.status, "round": c.admission_round}, customer_code=c.code, at=now)
        waiting = chain[0] if chain else None
    return {"code": code, "status": c.status, "waiting_for": waiting}


def approve(app: App, code: str, *, reject: bool = False, comment: str | None = None,
            at: datetime | None = None) -> dict:
    """The acting person's step of the admission chain: approve (last step activates) or reject."""
    now = at or app.now()
    adm = app.policy.admission
    if not adm.chain:
        raise RuleViolation(_("this policy has no approval chain: customers are admitted by 'customer submit'"))
    try:
        comment = rules.clean_text(comment or "", "--comment", required=reject)
    except RuleError as exc:
        raise InvalidInput(_("{problem} (a rejection needs a reason)").format(problem=exc.message) if reject
                           else exc.message) from None
    actor = app.actor
    with app.db.write() as s:
        c = get_customer(s, code, lock=True)
        if c.status != "pending":
            decided = _last_decision(s, app, c)
            if reject:
                text = (_("customer {code} is {status}; only a pending admission can be rejected ({decided})")
                        if decided else _("customer {code} is {status}; only a pending admission can be rejected "
                                          "(submit it first)"))
            else:
                text = (_("customer {code} is {status}; only a pending admission can be approved ({decided})")
                        if decided else _("customer {code} is {status}; only a pending admission can be approved "
                                          "(submit it first)"))
            raise RuleViolation(text.format(code=c.code, status=_status(app, c.status), decided=decided))
        state = chain_state(s, app, c)
        try:
            step = rules.check_approver(state, actor.login, actor.roles, is_admin=actor.is_admin,
                                        one_person_one_step=adm.one_person_one_step, role_labels=app.policy.roles)
        except RuleError as exc:
            raise exc.within(_("customer {code}").format(code=c.code)) from None
        _check_in_person(app, c)
        role = state.chain[step - 1]
        if not reject:
            missing = _missing_documents(s, app, c, adm.step_documents.get(role, []), now)
            if missing:
                raise RuleViolation(_("customer {code}: step {step} ({role}) needs valid documents: {documents}").format(
                    code=c.code, step=step, role=_role(app, role), documents=i18n.text(Joined(missing, Msg(", ")))))
        s.add(Approval(customer_id=c.id, round=c.admission_round, step=step, role=role, staff_login=actor.login,
                       decision="reject" if reject else "approve", comment=comment, at=now))
        before = {"status": c.status}
        if reject:
            c.status = "prospect"
            c.status_reason = f"rejected at step {step} ({role}): {comment}"
        elif step == len(state.chain):
            c.status = "active"
            c.status_reason = None
            set_initial_grades(s, app, c, now)
        c.status_changed_at = c.updated_at = now
        s.add(c)
        audit.record(s, app, "customer.reject" if reject else "customer.approve", "customer", c.code,
                     before=before, after={"status": c.status, "step": step, "role": role},
                     customer_code=c.code, note=comment, at=now)
        next_role = None if reject or step == len(state.chain) else state.chain[step]
    return {"code": code, "step": step, "role": role, "decision": "reject" if reject else "approve",
            "status": c.status, "waiting_for": next_role}


def _last_decision(session, app: App, c: Customer) -> str | None:
    """``step 3 (gm) was already approved by zjl on 2026-11-22 10:00``: the decision that ended the
    customer's current admission round, for the refusal of someone deciding it after (or at the same
    time as) them."""
    if c.admission_round < 1:
        return None
    a = session.scalars(select(Approval).where(Approval.customer_id == c.id, Approval.round == c.admission_round,
                                               Approval.step > 0).order_by(Approval.step.desc(), Approval.id)
                        .limit(1)).first()
    if a is None:
        return None
    text = (_("step {step} ({role}) was already approved by {login} on {at}") if a.decision == "approve"
            else _("step {step} ({role}) was already rejected by {login} on {at}"))
    return text.format(step=a.step, role=_role(app, a.role), login=a.staff_login,
                       at=f"{a.at.astimezone(app.tz):%Y-%m-%d %H:%M}")


def _check_in_person(app: App, c: Customer) -> None:
    """An approval is the approver's own act: the customer's keeper takes no step where the policy
    separates them, and an administrator acting for someone approves nothing where the policy wants
    approvals in person."""
    actor = app.actor
    if not app.policy.admission.owner_may_approve and c.owner_id == actor.id:
        raise NotPermitted(_("customer {code}: {login} keeps this customer and may not decide its admission").format(
            code=c.code, login=actor.login))
    app.require_in_person(_("decide the admission of customer {code}").format(code=c.code))


#: the keys of a row of ``approve --list``, an admission step here or a request of a complaint
#: (``services.complaints.pending_requests``): every row has them all, in this order (the csv header)
APPROVAL_KEYS = ("kind", "code", "name", "complaint", "step", "role", "working_days", "requested_by",
                 "submitted_at")


def waiting_for(app: App) -> list[dict]:
    """Pending admissions whose next step the acting person may decide."""
    adm = app.policy.admission
    if not adm.chain:
        return []
    actor = app.actor
    out = []
    with app.db.read() as s:
        pending = s.scalars(select(Customer).where(Customer.status == "pending").order_by(Customer.status_changed_at)).all()
        approvals: dict[int, list[tuple[int, int, str]]] = {}
        ids = [c.id for c in pending]
        for i in range(0, len(ids), IN_CHUNK):
            for cid, rnd, step, login in s.execute(
                    select(Approval.customer_id, Approval.round, Approval.step, Approval.staff_login)
                    .where(Approval.customer_id.in_(ids[i:i + IN_CHUNK]), Approval.decision == "approve",
                           Approval.step > 0)
                    .order_by(Approval.step, Approval.id)):
                approvals.setdefault(cid, []).append((rnd, step, login))
        for c in pending:
            state = rules.ChainState.from_approvals(
                adm.chain, ((step, login) for rnd, step, login in approvals.get(c.id, []) if rnd == c.admission_round))
            try:
                step = rules.check_approver(state, actor.login, actor.roles, is_admin=actor.is_admin,
                                            one_person_one_step=adm.one_person_one_step, role_labels=app.policy.roles)
                _check_in_person(app, c)
            except (RuleError, NotPermitted):
                continue
            out.append({"kind": "admission", "code": c.code, "name": c.name, "complaint": None, "step": step,
                        "role": state.next_role, "working_days": None, "requested_by": None,
                        "submitted_at": c.status_changed_at.astimezone(app.tz)})
    return out


def disqualify(app: App, code: str, reason: str, note: str | None = None) -> dict:
    reasons = app.policy.disqualification.reasons
    if reasons:
        reason = pick_code(reasons, reason, _("reason"), "--reason")
    else:
        reason = rules.clean_text(reason, "--reason", max_len=200)
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code, lock=True)
        if c.status == "disqualified":
            raise RuleViolation(_("customer {code} is already disqualified").format(code=c.code))
        before = {"status": c.status}
        c.previous_status = c.status
        c.status = "disqualified"
        c.status_reason = reason
        c.status_changed_at = c.updated_at = now
        s.add(c)
        audit.record(s, app, "customer.disqualify", "customer", c.code, before=before,
                     after={"status": "disqualified", "reason": reason}, customer_code=c.code, note=note, at=now)
    return {"code": code, "status": "disqualified", "reason": reason}


def reinstate(app: App, code: str, note: str | None = None) -> dict:
    role = app.policy.disqualification.reinstate_role or None
    if role and not app.actor.has_role(role):
        raise NotPermitted(_("only role {role} may reinstate a disqualified customer").format(role=_role(app, role)))
    if not role:
        app.require_admin(_("reinstate a disqualified customer"))
    app.require_in_person(_("reinstate customer {code}").format(code=code))
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code, lock=True)
        if c.status != "disqualified":
            raise RuleViolation(_("customer {code} is {status}, not disqualified").format(
                code=c.code, status=_status(app, c.status)))
        c.status = c.previous_status or "prospect"
        c.status_reason = None
        c.previous_status = None
        c.status_changed_at = c.updated_at = now
        s.add(c)
        audit.record(s, app, "customer.reinstate", "customer", c.code, before={"status": "disqualified"},
                     after={"status": c.status}, customer_code=c.code, note=note, at=now)
    return {"code": code, "status": c.status}


# ----------------------------------------------------------------------------------------------
