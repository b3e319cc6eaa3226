"""Who is acting: never a typed name alone.

* **Authenticated person** -- on SQLite the staff member bound to the process's OS account
  (``staff.os_user``, by default the account of the same name as the login; ``init`` binds the first
  administrator to the account that runs it); on PostgreSQL the one bound to the database session
  user (``staff.db_role``).  No resolvable account, an account bound to nobody, or a person who has
  left: refused.
* **Acting for someone else** (``--as`` / ``CRMCTL_USER``): an administrator may act for any staff
  member (cron, back-filling, support) -- with that person's roles and visibility and no more; on
  PostgreSQL also whoever the server lets ``SET ROLE`` to that person's role.  Everyone else is
  refused.  The audit trail records both (``actor`` and ``by_login``).
* A fixed "now" (``CRMCTL_NOW``) is an administrator's back-filling tool.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text

from ..errors import NotPermitted
from ..i18n import _
from ..models import Staff, StaffRole


@dataclass
class Actor:
    id: int
    login: str
    name: str
    roles: frozenset[str]
    is_admin: bool
    by: str | None = None  # the authenticated administrator acting for this person (None: themselves)
    db_role: str | None = None  # PostgreSQL: the role the session takes to act as this person
    by_admin: bool = False  # ``by`` is an administrator (back-filling: any event date, a fixed "now")

    def has_role(self, role: str) -> bool:
        return self.is_admin or role in self.roles

    @property
    def in_person(self) -> bool:
        return self.by is None

    @property
    def back_fills(self) -> bool:
        """Whether the authenticated person is an administrator (who may date events at will)."""
        return self.by_admin if self.by is not None else self.is_admin


def _by_name(session, column, value: str) -> Staff | None:
    return session.scalars(select(Staff).where(func.lower(column) == value.lower())).first()


def _active(staff: Staff) -> Staff:
    if not staff.active:
        raise NotPermitted(_("'{login}' has left ({date}) and may not act").format(login=staff.login,
                                                                                   date=f"{staff.left_at:%Y-%m-%d}"))
    return staff


def authenticated(session, settings) -> Staff:
    """The staff member this process is: bound to its OS account (SQLite) or session user (PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        account = settings.os_user
        if not account:
            raise NotPermitted(_("this process runs as an OS account without a name: crmctl acts only for a "
                                 "known person (run it under your own account)"))
        staff = _by_name(session, Staff.os_user, account)
        if staff is None:
            raise NotPermitted(_("OS account '{account}' is bound to no staff member: an administrator binds it "
                                 "with 'crmctl staff edit LOGIN --os-user {account}' (or 'staff add ... --os-user')")
                               .format(account=account))
    else:
        account = session.execute(text("SELECT session_user")).scalar()
        staff = _by_name(session, Staff.db_role, account)
        if staff is None:
            raise NotPermitted(_("database user '{account}' is bound to no staff member: an administrator binds "
                                 "it with 'crmctl staff edit LOGIN --db-role {account}'").format(account=account))
    return _active(staff)


def _roles(session, staff: Staff) -> frozenset[str]:
    return frozenset(session.scalars(select(StaffRole.role).where(StaffRole.staff_id == staff.id)).all())


def _may_set_role(session, role: str | None) -> bool:
    """PostgreSQL: whether the session user may take ``role`` (an existing role it is a member of)."""
    if not role or session.get_bind().dialect.name == "sqlite":
        return False
    return bool(session.execute(text("SELECT pg_has_role(session_user, oid, 'MEMBER') FROM pg_roles "
                                     "WHERE rolname = :r"), {"r": role}).scalar())


def resolve(db, settings) -> Actor:
    """The acting person for these settings, or a refusal saying why (nothing is written either way)."""
    with db.read() as s:
        me = authenticated(s, settings)
        wanted = settings.acting_for()
        if not wanted or wanted.lower() == me.login.lower():
            actor = Actor(me.id, me.login, me.name, _roles(s, me), me.is_admin)
        else:
            target = _by_name(s, Staff.login, wanted)
            if target is None:
                raise NotPermitted(_("'{login}' is not a staff member (see 'crmctl staff list')").format(login=wanted))
            server_allows = _may_set_role(s, target.db_role)
            if not me.is_admin and not server_allows:
                raise NotPermitted(_("{login} may not act as {other}: only an administrator may act for "
                                     "another person (--as / CRMCTL_USER)").format(login=me.login, other=wanted))
            _active(target)
            actor = Actor(target.id, target.login, target.name, _roles(s, target), target.is_admin, by=me.login,
                          db_role=target.db_role if server_allows else None, by_admin=me.is_admin)
        if settings.now and not me.is_admin:
            raise NotPermitted(_("{login} may not fix the time: CRMCTL_NOW (a fixed 'now') is an "
                                 "administrator's back-filling tool").format(login=me.login))
    return actor
