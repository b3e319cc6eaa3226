"""``crmctl agenda`` (今日待办, issue 21): what a person has to do today (or this week), and what is
about to go late, from every part of the program -- planned activities, complaints, service
tickets, approvals, expiring documents, proposals and contract renewals.

One query per kind (never one per customer), each limited to the people looked at and read through
the visibility :class:`~crmctl.services.visibility.Scope`.  The pure parts (window, state, order)
are in :mod:`crmctl.rules.agenda`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from .. import i18n
from ..errors import InvalidInput, NotPermitted
from ..i18n import _, ngettext
from ..models import Activity, Complaint, Customer, Document, Proposal, ServiceTicket, Staff
from ..rules import agenda as rules
from ..rules.sla import CLOCK_DEADLINES, CLOCK_EVENTS, CLOCKS
from .app import App
from .lookups import find_staff
from .visibility import Scope, sees_every_file

#: a document type that expires but names no notice of its own is on the agenda this many days ahead
#: (what ``doc list --expiring-within 30`` looks at)
DEFAULT_NOTICE_DAYS = 30


def _people(app: App, s, owner: str | None, everyone: bool) -> tuple[set[int] | None, bool]:
    """The staff ids looked at (None: everyone the actor may see) and whether the actor's own
    approvals belong on the agenda."""
    actor = app.actor
    if owner and everyone:
        raise InvalidInput(_("give --owner or --all, not both"))
    if everyone:
        if not (actor.is_admin or sees_every_file(app)):
            raise NotPermitted(_("{login} may not see the agenda of the whole team: customer files are restricted "
                                 "(only administrators and permitted roles may)").format(login=actor.login))
        return None, True
    if owner:
        person = find_staff(s, owner, active_only=False)
        if person.id != actor.id and not sees_every_file(app):
            raise NotPermitted(_("{login} may not see the agenda of {owner}: customer files are restricted "
                                 "(only administrators and permitted roles may)").format(login=actor.login,
                                                                                        owner=person.login))
        return {person.id}, person.id == actor.id
    return {actor.id}, True


def state_text(state: rules.State) -> str:
    """The state of an item in words (the current language)."""
    n = state.n
    if state.code == "overdue_days":
        return ngettext("overdue {n} day", "overdue {n} days", n).format(n=n)
    if state.code == "overdue_working_days":
        return ngettext("overdue {n} working day", "overdue {n} working days", n).format(n=n)
    if state.code == "overdue_hours":
        return ngettext("overdue {n} h", "overdue {n} h", n).format(n=n)
    if state.code == "today":
        return _("today")
    if state.code == "in_days":
        return ngettext("in {n} day", "in {n} days", n).format(n=n)
    if state.code == "hours_left":
        return ngettext("{n} h left", "{n} h left", n).format(n=n)
    if state.code == "waiting_days":
        return ngettext("waiting {n} day", "waiting {n} days", n).format(n=n) if n else _("waiting since today")
    return ngettext("{n} day left", "{n} days left", n).format(n=n)


#: state -> its words, for the command being run (many items share a state; the language of a
#: process is fixed while the agenda is read: :func:`agenda_items` clears it)
_WORDS: dict[rules.State, str] = {}


def _item(kind: str, due, customer, name, owner, what: str, state: rules.State, command: str) -> dict:
    words = _WORDS.get(state)
    if words is None:
        words = _WORDS[state] = state_text(state)
    return {"kind": kind, "due": due, "customer": customer, "name": name, "owner": owner, "what": what,
            "state": words, "overdue": state.overdue, "command": command}


def agenda_items(app: App, *, week: bool = False, owner: str | None = None, everyone: bool = False) -> list[dict]:
    """Everything due or at risk for the acting person (or ``owner``; or, ``everyone``, every owner
    the actor may see): a list of dicts with the keys :data:`crmctl.rules.agenda.ITEM_KEYS`,
    grouped by kind, soonest first."""
    now = app.now()
    tz = app.tz
    today = now.date()
    last_day = rules.horizon(today, week)
    end = rules.horizon_end(today, tz, week)
    out: list[dict] = []
    _WORDS.clear()
    with app.db.read() as s:
        ids, own_approvals = _people(app, s, owner, everyone)
        scope = Scope(s, app)
        out += _activities(app, s, scope, ids, today, last_day)
        if app.policy.complaints is not None:
            out += _complaints(app, s, scope, ids, now, end)
        if app.policy.service is not None:
            out += _tickets(app, s, scope, ids, now, end)
        out += _documents(app, s, scope, ids, today)
        if app.policy.proposals is not None:
            out += _proposals(app, s, scope, ids, now)
    if own_approvals:
        out += _approvals(app, today)
    return rules.sort_items(out, tz)


def _mine(column, ids: set[int] | None):
    return True if ids is None else column.in_(ids)


def _activities(app: App, s, scope: Scope, ids, today: date, last_day: date) -> list[dict]:
    labels = {k: i18n.label(k, app.policy.activities.kinds) for k in app.policy.activities.kinds}
    q = (select(Activity.id, Activity.kind, Activity.due_date, Activity.customer_id, Activity.owner_id,
                Customer.code, Customer.name, Customer.owner_id, Staff.login)
         .outerjoin(Customer, Customer.id == Activity.customer_id)
         .outerjoin(Staff, Staff.id == Activity.owner_id)
         .where(Activity.status == "planned", Activity.due_date <= last_day, _mine(Activity.owner_id, ids)))
    out = []
    for aid, kind, due, cid, oid, code, name, keeper, login in s.execute(q):
        if not scope.readable(cid, keeper, oid):
            continue
        out.append(_item("activity", due, code, name, login, labels.get(kind, kind),
                         rules.date_state(due, today), f"crmctl visit log --planned {aid}"))
    return out


def _complaints(app: App, s, scope: Scope, ids, now: datetime, end: datetime) -> list[dict]:
    return _numbered(app, s, scope, Complaint, "complaint", Complaint.due_at < end, ids, now,
                     _("complaint {number}: {summary}"), "crmctl complaint close {number} --note TEXT")


def _tickets(app: App, s, scope: Scope, ids, now: datetime, end: datetime) -> list[dict]:
    T = ServiceTicket
    own = aliased(Staff)
    open_clock = or_(*(and_(getattr(T, CLOCK_DEADLINES[c]).is_not(None), getattr(T, CLOCK_EVENTS[c]).is_(None),
                            getattr(T, CLOCK_DEADLINES[c]) < end) for c in CLOCKS))
    mine = True if ids is None else or_(T.owner_id.in_(ids), T.technician_id.in_(ids))
    q = (select(T, Customer.code, Customer.name, Customer.owner_id, own.login)
         .join(Customer, Customer.id == T.customer_id)
         .outerjoin(own, own.id == T.owner_id)
         .where(T.status != "resolved", open_clock, mine))
    kinds = app.policy.service.kinds
    cal = app.calendar
    texts = {"respond": _("{number} {kind}: send a technician"), "arrive": _("{number} {kind}: technician to arrive"),
             "resolve": _("{number} {kind}: to resolve")}
    out = []
    for t, code, name, keeper, login in s.execute(q):
        if not scope.readable(t.customer_id, keeper, t.technician_id, t.owner_id):
            continue
        clock = next((c for c in CLOCKS if getattr(t, CLOCK_DEADLINES[c]) is not None
                      and getattr(t, CLOCK_EVENTS[c]) is None), None)
        if clock is None:
            continue
        due = getattr(t, CLOCK_DEADLINES[clock]).astimezone(app.tz)
        what = texts[clock]
        if clock == "respond":
            command = f"crmctl service dispatch {t.number} --technician LOGIN"
        elif clock == "arrive":
            command = f"crmctl service arrive {t.number}"
        else:
            command = f"crmctl service resolve {t.number}"
        out.append(_item("service", due, code, name, login,
                         what.format(number=t.number, kind=i18n.label(t.kind, kinds)),
                         rules.deadline_state(due, now, cal.working_days_between), command))
    return out


def _notices(app: App) -> dict[str, object]:
    """Document type -> how long before expiry it comes on the agenda (a relativedelta)."""
    from dateutil.relativedelta import relativedelta

    out = {}
    for key, d in app.policy.documents.items():
        if d.expires:
            out[key] = d.notice_before() or relativedelta(days=DEFAULT_NOTICE_DAYS)
    return out


def _documents(app: App, s, scope: Scope, ids, today: date) -> list[dict]:
    notices = _notices(app)
    if not notices:
        return []
    furthest = max(today + n for n in notices.values())
    newer = aliased(Document)
    renewed = exists().where(newer.customer_id == Document.customer_id, newer.type == Document.type,
                             or_(newer.expires.is_(None), newer.expires > Document.expires))
    q = (select(Document.type, Document.number, Document.expires, Document.customer_id,
                Customer.code, Customer.name, Customer.owner_id, Staff.login)
         .join(Customer, Customer.id == Document.customer_id)
         .outerjoin(Staff, Staff.id == Customer.owner_id)
         .where(Document.type.in_(list(notices)), Document.expires.is_not(None), Document.expires <= furthest,
                Customer.status != "disqualified", ~renewed, _mine(Customer.owner_id, ids)))
    docs = app.policy.documents
    renew_text, expiry_text = _("{document} expires: renew the contract"), _("{document} expires")
    out = []
    for type_, number, expires, cid, code, name, keeper, login in s.execute(q):
        if expires - notices[type_] > today or not scope.readable(cid, keeper):
            continue
        d = docs[type_]
        kind = "renewal" if d.notice_kind else "document"
        label = d.label
        what = (renew_text if kind == "renewal" else expiry_text).format(document=label if not number else f"{label} {number}")
        command = f"crmctl doc add {code} --type {type_} --expires DATE"
        out.append(_item(kind, expires, code, name, login, what, rules.date_state(expires, today), command))
    return out


def _proposals(app: App, s, scope: Scope, ids, now: datetime) -> list[dict]:
    return _numbered(app, s, scope, Proposal, "proposal", None, ids, now,
                     _("proposal {number}: {summary}"), "crmctl proposal close {number} --adopted|--rejected")


def _numbered(app: App, s, scope: Scope, model, kind: str, due_within, ids, now: datetime, template: str,
              command: str) -> list[dict]:
    """Open complaints or proposals (numbered, with a deadline, an owner and a summary) of the
    people looked at: one query; ``due_within`` further limits the deadline (None: every open one)."""
    q = (select(model.number, model.due_at, model.summary, model.customer_id, model.owner_id,
                Customer.code, Customer.name, Customer.owner_id, Staff.login)
         .join(Customer, Customer.id == model.customer_id)
         .outerjoin(Staff, Staff.id == model.owner_id)
         .where(model.status == "open", _mine(model.owner_id, ids)))
    if due_within is not None:
        q = q.where(due_within)
    cal = app.calendar
    out = []
    for number, due, summary, cid, oid, code, name, keeper, login in s.execute(q):
        if not scope.readable(cid, keeper, oid):
            continue
        due = due.astimezone(app.tz)
        out.append(_item(kind, due, code, name, login, template.format(number=number, summary=summary),
                         rules.deadline_state(due, now, cal.working_days_between), command.format(number=number)))
    return out


def _approvals(app: App, today: date) -> list[dict]:
    from .complaints import pending_requests
    from .customers import waiting_for

    rows = waiting_for(app)
    if app.policy.complaints is not None:
        rows += pending_requests(app)
    me = app.actor.login
    out = []
    for r in rows:
        since = r["submitted_at"]
        state = rules.State("waiting_days", max(0, (today - since.date()).days))
        if r["kind"] == "admission":
            what = _("admission step {step} ({role})").format(step=r["step"], role=app.policy.role_label(r["role"]))
            command = f"crmctl approve {r['code']}"
        elif r["kind"] == "extension":
            what = _("complaint {number}: extension by {n} working days").format(
                number=r["complaint"], n=r["working_days"])
            command = f"crmctl complaint approve-extension {r['complaint']}"
        else:
            what = _("complaint {number}: handling opinion").format(number=r["complaint"])
            command = f"crmctl complaint approve-opinion {r['complaint']}"
        out.append(_item("approval", since, r["code"], r["name"], me, what, state, command))
    return out

