"""Staff members, their roles, and hand-over when someone leaves."""

from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import delete, func, select, update

from ..errors import InvalidInput, NotPermitted, RuleViolation
from ..i18n import _
from ..models import Customer, CustomerContact, Staff, StaffRole
from ..rules.customers import clean_text
from ..rules.limits import MAX_NAME
from . import audit
from .app import App
from .lookups import find_staff
from .pg_access import bind_login_role
from .registry import handover_steps

LOGIN_RE = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def resolve_roles(app: App, roles: Iterable[str]) -> list[str]:
    """Role codes, given by code or by the policy's label; unknown ones refused."""
    defined = app.policy.roles
    by_label = {label: code for code, label in defined.items()}
    out: list[str] = []
    for r in roles:
        code = r if r in defined else by_label.get(r)
        if code is None:
            raise InvalidInput(_("unknown role '{role}': the policy defines {roles}").format(role=r, roles=", ".join(defined)))
        if code not in out:
            out.append(code)
    return out


ACCOUNT_RE = re.compile(r"[A-Za-z0-9_.@$-][A-Za-z0-9_.@$ -]{0,63}")


def _account(value: str | None, what: str) -> str | None:
    """An OS account or database role name as given (None stays None)."""
    if value is None:
        return None
    v = value.strip()
    if not ACCOUNT_RE.fullmatch(v):
        raise InvalidInput(_("{what} '{value}' is not an account name (1-64 letters, digits, '.', '_', '-', '@', '$')")
                           .format(what=what, value=value))
    return v


def _refuse_taken(session, column, value: str | None, what: str, staff_id: int | None = None) -> None:
    """One person, one identity: an OS account (database role, login) binds to one staff member.
    ``what``: which, in the user's language."""
    if value is None:
        return
    q = select(Staff.login).where(func.lower(column) == value.lower())
    if staff_id is not None:
        q = q.where(Staff.id != staff_id)
    other = session.scalars(q).first()
    if other is not None:
        raise RuleViolation(_("{what} '{value}' already belongs to staff member {other}: one person, one identity")
                            .format(what=what, value=value, other=other))


def add_staff(app: App, login: str, name: str, roles: list[str], unit: str | None, is_admin: bool = False, *,
              os_user: str | None = None, db_role: str | None = None) -> dict:
    """A new staff member, bound to the OS account ``os_user`` and the database role ``db_role``
    (both by default the login itself)."""
    app.require_admin(_("add staff"))
    if not LOGIN_RE.fullmatch(login or ""):
        raise InvalidInput(_("'{login}' is not a usable login: letters, digits, '.', '_', '-', '@' (1-64)").format(login=login))
    name = clean_text(name or "", "--name", max_len=MAX_NAME)
    unit = clean_text(unit or "", "--unit", required=False, max_len=MAX_NAME)
    if not roles:
        raise InvalidInput(_("give at least one --role"))
    codes = resolve_roles(app, roles)
    os_user = _account(os_user, "--os-user") or login
    given_role = _account(db_role, "--db-role")
    db_role = given_role or login
    now = app.now()
    with app.db.write() as s:
        other = s.scalars(select(Staff.login).where(func.lower(Staff.login) == login.lower())).first()
        if other is not None:
            if other != login:
                raise RuleViolation(_("staff login '{login}' already exists (as {other})").format(login=login, other=other))
            raise RuleViolation(_("staff login '{login}' already exists").format(login=login))
        _refuse_taken(s, Staff.os_user, os_user, _("OS account"))
        _refuse_taken(s, Staff.db_role, db_role, _("database role"))
        # PostgreSQL: --db-role creates the login role where the server lets us; an existing one joins its groups
        db_role, db_done = bind_login_role(s, db_role, admin=is_admin, create=given_role is not None)
        staff = Staff(login=login, name=name.strip(), unit=unit, active=True, is_admin=is_admin, created_at=now,
                      os_user=os_user, db_role=db_role)
        s.add(staff)
        s.flush()
        for code in codes:
            s.add(StaffRole(staff_id=staff.id, role=code))
        result = _staff_dict(staff, codes)
        audit.record(s, app, "staff.add", "staff", login, after=result, at=now, note="; ".join(db_done) or None)
    return result


def edit_staff(app: App, login: str, *, name: str | None = None, unit: str | None = None,
               roles: list[str] | None = None, os_user: str | None = None, db_role: str | None = None,
               is_admin: bool | None = None) -> dict:
    """``staff edit``: change a person's name, unit, roles, administrator flag or bindings (audited)."""
    app.require_admin(_("change staff"))
    codes = resolve_roles(app, roles) if roles else None
    os_user = _account(os_user, "--os-user")
    db_role = _account(db_role, "--db-role")
    if name is not None:
        name = clean_text(name, "--name", max_len=MAX_NAME)
    if unit is not None:
        unit = clean_text(unit, "--unit", required=False, max_len=MAX_NAME) or ""
    now = app.now()
    with app.db.write() as s:
        staff = find_staff(s, login)
        held = sorted(s.scalars(select(StaffRole.role).where(StaffRole.staff_id == staff.id)).all())
        before = _staff_dict(staff, held)
        _refuse_taken(s, Staff.os_user, os_user, _("OS account"), staff.id)
        _refuse_taken(s, Staff.db_role, db_role, _("database role"), staff.id)
        if is_admin is False and staff.is_admin:
            admins = s.scalars(select(Staff.id).where(Staff.is_admin.is_(True), Staff.active.is_(True))).all()
            if len(admins) <= 1:
                raise RuleViolation(_("{login} is the last administrator; make someone else one first").format(login=staff.login))
        db_done: list[str] = []
        if db_role is not None or is_admin is not None:  # PostgreSQL: the login role and its groups
            db_role, db_done = bind_login_role(
                s, db_role or staff.db_role, admin=staff.is_admin if is_admin is None else is_admin,
                create=db_role is not None, previous=staff.db_role if db_role is not None else None)
            if db_role == staff.db_role:
                db_role = None  # the binding itself is unchanged
        for attr, value in (("name", name.strip() if name else None), ("unit", unit), ("os_user", os_user),
                            ("db_role", db_role), ("is_admin", is_admin)):
            if value is not None:
                setattr(staff, attr, value)
        if codes is not None:
            s.execute(delete(StaffRole).where(StaffRole.staff_id == staff.id))
            s.add_all(StaffRole(staff_id=staff.id, role=c) for c in codes)
        after = _staff_dict(staff, codes if codes is not None else held)
        b, a = audit.changed_fields(before, after)
        if not a and not b and not db_done:
            raise InvalidInput(_("nothing to change: give --name, --unit, --role, --os-user, --db-role or --admin"))
        s.add(staff)
        audit.record(s, app, "staff.edit", "staff", staff.login, before=b, after=a, at=now,
                     note="; ".join(db_done) or None)
    return after


#: the keys of a row of ``staff list`` (its csv header, with rows or without)
STAFF_KEYS = ("login", "name", "roles", "unit", "active", "admin", "os_user", "db_role")


def _staff_dict(staff: Staff, roles: list[str]) -> dict:
    return {"login": staff.login, "name": staff.name, "roles": sorted(roles), "unit": staff.unit,
            "active": staff.active, "admin": staff.is_admin, "os_user": staff.os_user, "db_role": staff.db_role}


def list_staff(app: App, *, role: str | None = None, include_left: bool = False) -> list[dict]:
    with app.db.read() as s:
        q = select(Staff).order_by(Staff.login)
        if not include_left:
            q = q.where(Staff.active.is_(True))
        staff = s.scalars(q).all()
        roles: dict[int, list[str]] = {}
        for sid, r in s.execute(select(StaffRole.staff_id, StaffRole.role)):
            roles.setdefault(sid, []).append(r)
    if role:
        role = resolve_roles(app, [role])[0]
    rows = [_staff_dict(m, roles.get(m.id, [])) for m in staff]
    return [r for r in rows if not role or role in r["roles"]]


def _plan_handover_notices(s, app: App, notice, person: Staff, heir: Staff, now) -> int:
    """One planned activity per customer ``person`` keeps (active, pending or suspended), for the new
    keeper ``heir`` (manufacturer 三.7(4)), in one INSERT ... SELECT before the hand-over moves them;
    returns how many."""
    from sqlalchemy import String, cast, insert, literal

    from ..models import Activity

    due = app.calendar.add(now, notice.due).astimezone(app.tz).date()
    note = f"通知客户：原负责人 {person.name}（{person.login}）离职，接替人员 {heir.name}（{heir.login}）"
    key = cast(Customer.id, String) + literal(f":{notice.kind}:handover{person.id}")
    rows = select(Customer.id, literal(notice.kind), literal(due), literal(heir.id), literal("planned"), key,
                  literal(note), literal(now, type_=Activity.__table__.c.created_at.type)).where(
        Customer.owner_id == person.id, Customer.status.in_(("active", "pending", "suspended")))
    columns = ["customer_id", "kind", "due_date", "owner_id", "status", "cadence_key", "plan_note", "created_at"]
    n = s.scalar(select(func.count()).select_from(rows.subquery()))  # (rowcount of INSERT ... SELECT: -1 on psycopg)
    if n:
        s.execute(insert(Activity).from_select(columns, rows))
    return n


def leave(app: App, login: str, handover_to: str) -> dict:
    """Mark a person as left and move their customers and open work to another."""
    app.require_admin(_("record that staff leave"))
    if login == handover_to:
        raise InvalidInput(_("--handover-to must be another person"))
    now = app.now()
    with app.db.write() as s:
        person = find_staff(s, login)
        heir = find_staff(s, handover_to)
        # Locked in one statement, in id order (PostgreSQL): the leaver, the heir and -- for the last
        # administrator check -- every active administrator, read again once locked.  Two leaves at
        # once (A to B while B leaves to A, or the last two administrators) are decided one after the
        # other, and the second finds the first one's leaver gone.
        wanted = Staff.id.in_([person.id, heir.id])
        if person.is_admin:
            wanted = wanted | (Staff.is_admin.is_(True) & Staff.active.is_(True))
        s.scalars(select(Staff).where(wanted).order_by(Staff.id).with_for_update()
                  .execution_options(populate_existing=True)).all()
        for who in (person, heir):
            if not who.active:
                raise NotPermitted(_("staff member '{login}' has left").format(login=who.login))
        if person.is_admin:
            admins = s.scalars(select(Staff.id).where(Staff.is_admin.is_(True), Staff.active.is_(True))).all()
            if len(admins) <= 1 and not heir.is_admin:
                raise RuleViolation(_("{login} is the last administrator; make {heir} an administrator first")
                                    .format(login=login, heir=handover_to))
        moved = {}
        notice = app.policy.activities.handover_notice if app.policy.activities else None
        if notice is not None:  # planned from the customers still theirs, before they move
            notices = _plan_handover_notices(s, app, notice, person, heir, now)
        res = s.execute(update(Customer).where(Customer.owner_id == person.id)
                        .values(owner_id=heir.id, updated_at=now))
        moved["customers"] = res.rowcount
        if notice is not None:
            moved["customer_notices"] = notices
        # Contacts: the heir takes over contacts the leaver had, without duplicating existing ones.
        theirs = set(s.scalars(select(CustomerContact.customer_id).where(CustomerContact.staff_id == heir.id)).all())
        mine = s.scalars(select(CustomerContact).where(CustomerContact.staff_id == person.id)).all()
        for c in mine:
            if c.customer_id not in theirs:
                s.add(CustomerContact(customer_id=c.customer_id, staff_id=heir.id, since=now))
            s.delete(c)
        moved["contacts"] = len(mine)
        for step in handover_steps():  # every area that keeps open work per person
            what, count = step(s, person, heir, now)
            moved[what] = count
        person.active = False
        person.left_at = now
        person.handover_to = heir.login
        s.add(person)
        # PostgreSQL: the leaver's login role leaves crmctl's groups (where the server lets us)
        _role, db_done = bind_login_role(s, person.db_role, admin=False, active=False, create=False)
        audit.record(s, app, "staff.leave", "staff", login, before={"active": True},
                     after={"active": False, "handover_to": heir.login, **{f"moved_{k}": v for k, v in moved.items()}},
                     at=now, note="; ".join(db_done) or None)
    return {"login": login, "handover_to": handover_to, "moved": moved}
