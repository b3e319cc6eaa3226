"""Customer proposals (提案): open in a category of the policy, answer by the deadline, adopt or reject.

An adopted proposal keeps its saving and the policy's benefit split (company / customer share and
for how many months, from the implementation date or else the decision) for the benefit report.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Iterator

from sqlalchemy import select

from ..errors import InvalidInput, RuleViolation
from ..i18n import _
from ..models import Customer, Proposal, Staff
from ..rules import sla as rules
from ..rules.customers import clean_text
from ..rules.limits import MAX_LONG_TEXT
from ..rules.times import parse_date
from . import audit
from .app import App
from .lookups import customer_for_work, customer_id, find_record
from .service_desk import check_after, local, next_number
from .visibility import Scope, require_read


def _policy(app: App):
    pol = app.policy.proposals
    if pol is None:
        raise RuleViolation(_("policy {policy} has no customer proposals").format(policy=app.policy.code))
    return pol


#: the keys of a proposal of the list (``_dict``, ``benefit`` flattened), in order: the csv header even without rows
PROPOSAL_KEYS = ("id", "customer", "category", "summary", "opened_at", "due_at", "closed_at", "status", "overdue",
                 "outcome", "saving", "implement_by", "benefit.company_pct", "benefit.customer_pct", "benefit.months",
                 "benefit.until", "note", "owner", "ref")


def _dict(app: App, p: Proposal, customer: str, owner: str | None, now: datetime) -> dict:
    return {
        "id": p.number,
        "customer": customer,
        "category": p.category,
        "summary": p.summary,
        "opened_at": local(app, p.opened_at),
        "due_at": local(app, p.due_at),
        "closed_at": local(app, p.closed_at),
        "status": p.status,
        "overdue": rules.is_overdue(p.due_at, p.closed_at, now),
        "outcome": p.outcome,
        "saving": p.saving,
        "implement_by": p.implement_by,
        # always the object (its members null until a benefit is shared): every row has the same keys
        "benefit": {"company_pct": p.benefit_company_pct, "customer_pct": p.benefit_customer_pct,
                    "months": p.benefit_months, "until": p.benefit_until},
        "note": p.note,
        "owner": owner,
        "ref": p.id,
    }


def _load(session, ident: str, *, lock: bool = False) -> tuple[Proposal, Customer]:
    """The proposal and its customer; ``lock``: its row locked for the decision about to be written."""
    p = find_record(session, Proposal, ident, "proposal", lock=lock)
    return p, session.get(Customer, p.customer_id)


def _owner(session, p: Proposal) -> str | None:
    return session.scalars(select(Staff.login).where(Staff.id == p.owner_id)).first() if p.owner_id else None


def open_proposal(app: App, code: str, category: str, summary: str, *, at: datetime | None = None) -> dict:
    """Record a proposal; the answer is due ``proposals.due`` later (e.g. one calendar month)."""
    pol = _policy(app)
    cat = rules.pick_code(pol.categories, category, _("category"), "--category")
    summary = clean_text(summary, "--summary", max_len=MAX_LONG_TEXT)
    opened = app.event_time(at)
    due = app.calendar.add(opened, pol.due)
    actor = app.actor
    with app.db.write() as s:
        cust = customer_for_work(s, code)
        number = next_number(s, "proposal", pol.number_pattern, opened, Proposal)
        p = Proposal(number=number, customer_id=cust.id, category=cat, summary=summary, opened_at=opened,
                     opened_by=actor.login, due_at=due, status="open", policy_version=app.policy_version,
                     owner_id=actor.id)
        s.add(p)
        s.flush()
        out = _dict(app, p, cust.code, actor.login, app.now())
        audit.record(s, app, "proposal.open", "proposal", number, customer_code=cust.code,
                     after={k: out[k] for k in ("category", "summary", "opened_at", "due_at")})
    return out


def _closed(p: Proposal, suffix: bool = False) -> str:
    """``proposal TA-2026-0001 is already closed (adopted)`` (``suffix``: ``…: nothing to schedule``)."""
    if p.outcome == "adopted":
        text = (_("proposal {number} is already closed (adopted): nothing to schedule") if suffix
                else _("proposal {number} is already closed (adopted)"))
    elif p.outcome == "rejected":
        text = (_("proposal {number} is already closed (rejected): nothing to schedule") if suffix
                else _("proposal {number} is already closed (rejected)"))
    else:
        text = (_("proposal {number} is already closed ({outcome}): nothing to schedule") if suffix
                else _("proposal {number} is already closed ({outcome})"))
    return text.format(number=p.number, outcome=p.outcome)


def close_proposal(app: App, ident: str, *, adopted: bool, saving: str | None = None,
                   implement_by: str | None = None, note: str | None = None, at: datetime | None = None) -> dict:
    """Decide: adopted (optionally with the yearly saving and an implementation date) or rejected."""
    pol = _policy(app)
    amount = rules.parse_money(saving, "--saving") if saving is not None else None
    impl = parse_date(implement_by, "--implement-by", today=app.now().date()) if implement_by else None
    note = clean_text(note or "", "--note", required=False, max_len=MAX_LONG_TEXT)
    if not adopted and (amount is not None or impl is not None):
        raise InvalidInput(_("--saving and --implement-by apply to an adopted proposal only"))
    when = app.event_time(at)
    with app.db.write() as s:
        p, cust = _load(s, ident, lock=True)
        if p.status != "open":
            raise RuleViolation(_closed(p))
        check_after(when, p.opened_at, _("close time"), _("the opening"))
        if impl is not None and impl < local(app, p.opened_at).date():
            raise InvalidInput(_("--implement-by {day} is before the proposal was opened").format(day=impl))
        p.status = "closed"
        p.closed_at = when
        p.outcome = "adopted" if adopted else "rejected"
        p.note = note
        if adopted:
            p.saving = amount
            p.implement_by = impl
            share = rules.benefit_share(pol.benefit, impl or when.date(), amount)
            if share is not None:
                p.benefit_company_pct = share.company_pct
                p.benefit_customer_pct = share.customer_pct
                p.benefit_months = share.months
                p.benefit_until = share.until
        s.add(p)
        out = _dict(app, p, cust.code, _owner(s, p), app.now())
        audit.record(s, app, "proposal.close", "proposal", p.number, customer_code=cust.code,
                     before={"status": "open"},
                     after={"status": "closed", "outcome": p.outcome, "saving": str(amount) if amount is not None else None,
                            "implement_by": impl, "closed_at": when})
    return out


def schedule_proposal(app: App, ident: str, by: str, *, note: str | None = None) -> dict:
    """manufacturer 一.5(3): research that takes longer than the deadline gets a schedule; the end of
    day ``by`` (policy time) becomes the deadline.  Only later than the current deadline and not in
    the past; an open proposal only; audited with the old and new deadline."""
    day = parse_date(by, "--by", today=app.now().date())
    note = clean_text(note or "", "--note", required=False, max_len=MAX_LONG_TEXT)
    now = app.now()
    with app.db.write() as s:
        p, cust = _load(s, ident, lock=True)
        require_read(s, app, cust, [p.owner_id], what=_("proposal {number}").format(number=p.number))
        if p.status != "open":
            raise RuleViolation(_closed(p, suffix=True))
        due = local(app, p.due_at)
        if day < now.astimezone(app.tz).date():
            raise InvalidInput(_("--by {day} is in the past").format(day=day))
        if day <= due.date():
            raise InvalidInput(_("--by {day} is not after the deadline {due}: a schedule is for research that takes "
                                 "longer").format(day=day, due=f"{due:%Y-%m-%d %H:%M}"))
        new_due = datetime.combine(day, time(23, 59, 59), app.tz)
        p.due_at = new_due
        if note:
            p.note = note
        s.add(p)
        out = _dict(app, p, cust.code, _owner(s, p), now)
        audit.record(s, app, "proposal.schedule", "proposal", p.number, customer_code=cust.code,
                     before={"due_at": due}, after={"due_at": local(app, new_due), "note": note or None})
    return out


def proposal_dict(app: App, ident: str) -> dict:
    with app.db.read() as s:
        p, cust = _load(s, ident)
        require_read(s, app, cust, [p.owner_id], what=_("proposal {number}").format(number=p.number))
        out = _dict(app, p, cust.code, _owner(s, p), app.now())
        out["customer_name"] = cust.name
    return out


def list_proposals(app: App, *, open_only: bool = False, overdue: bool = False,
                   customer: str | None = None, category: str | None = None) -> Iterator[dict]:
    pol = _policy(app)
    now = app.now()
    q = (select(Proposal, Customer.code, Staff.login, Customer.owner_id)
         .join(Customer, Customer.id == Proposal.customer_id)
         .outerjoin(Staff, Staff.id == Proposal.owner_id)
         .order_by(Proposal.opened_at, Proposal.id))
    if open_only:
        q = q.where(Proposal.status == "open")
    if overdue:
        q = q.where(rules.ClockSql(Proposal.due_at, Proposal.closed_at, now).overdue)
    if category:
        q = q.where(Proposal.category == rules.pick_code(pol.categories, category, _("category"), "--category"))
    with app.db.read() as s:
        if customer:
            q = q.where(Proposal.customer_id == customer_id(s, customer))
        scope = Scope(s, app)
        for p, code, login, keeper in s.execute(q.execution_options(yield_per=1000)):
            if scope.readable(p.customer_id, keeper, p.owner_id):
                yield _dict(app, p, code, login, now)
