"""Staff members, their roles, and hand-over when someone leaves."""

from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import select, update

from ..errors import InvalidInput, RuleViolation
from ..models import Customer, CustomerContact, Staff, StaffRole
from . import audit
from .app import App
from .lookups import find_staff
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
            raise InvalidInput(f"unknown role '{r}': the policy defines {', '.join(defined)}")
        if code not in out:
            out.append(code)
    return out


def add_staff(app: App, login: str, name: str, roles: list[str], unit: str | None, is_admin: bool = False) -> dict:
    app.require_admin("add staff")
    if not LOGIN_RE.fullmatch(login or ""):
        raise InvalidInput(f"'{login}' is not a usable login: letters, digits, '.', '_', '-', '@' (1-64)")
    if not name or not name.strip():
        raise InvalidInput("--name must not be empty")
    if not roles:
        raise InvalidInput("give at least one --role")
    codes = resolve_roles(app, roles)
    now = app.now()
    with app.db.write() as s:
        if s.scalars(select(Staff.id).where(Staff.login == login)).first() is not None:
            raise RuleViolation(f"staff login '{login}' already exists")
        staff = Staff(login=login, name=name.strip(), unit=unit, active=True, is_admin=is_admin, created_at=now)
        s.add(staff)
        s.flush()
        for code in codes:
            s.add(StaffRole(staff_id=staff.id, role=code))
        result = _staff_dict(staff, codes)
        audit.record(s, app, "staff.add", "staff", login, after=result, at=now)
    return result


def _staff_dict(staff: Staff, roles: list[str]) -> dict:
    return {"login": staff.login, "name": staff.name, "roles": sorted(roles), "unit": staff.unit,
            "active": staff.active, "admin": staff.is_admin}


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


def leave(app: App, login: str, handover_to: str) -> dict:
    """Mark a person as left and move their customers and open work to another."""
    app.require_admin("record that staff leave")
    if login == handover_to:
        raise InvalidInput("--handover-to must be another person")
    now = app.now()
    with app.db.write() as s:
        person = find_staff(s, login)
        heir = find_staff(s, handover_to)
        if person.is_admin:
            admins = s.scalars(select(Staff.id).where(Staff.is_admin.is_(True), Staff.active.is_(True))).all()
            if len(admins) <= 1 and not heir.is_admin:
                raise RuleViolation(f"{login} is the last administrator; make {handover_to} an administrator first")
        moved = {}
        res = s.execute(update(Customer).where(Customer.owner_id == person.id)
                        .values(owner_id=heir.id, updated_at=now))
        moved["customers"] = res.rowcount
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
        audit.record(s, app, "staff.leave", "staff", login, before={"active": True},
                     after={"active": False, "handover_to": heir.login, **{f"moved_{k}": v for k, v in moved.items()}},
                     at=now)
    return {"login": login, "handover_to": handover_to, "moved": moved}
