"""PostgreSQL access for people: ``crmctl db roles`` and the login roles bound to staff members.

The SQL (roles, grants, triggers, row-level security) is ``crmctl.pg_security``; here are the
administrator's acts around it: checked, audited, and the staff members' login roles kept in their
groups (``staff add/edit --db-role`` creates one where the server lets the administrator).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from .. import pg_security as pg
from ..errors import InvalidInput, NotPermitted, RuleViolation
from ..errors import Msg
from ..i18n import _
from ..models import Staff
from . import audit
from .app import App


def _server_refused(exc: DBAPIError, what: str) -> NotPermitted:
    """``what``: the act, in the user's language."""
    msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return NotPermitted(_("the database server refused to {what}: {problem}").format(what=what, problem=msg))


def _staff_rows(session) -> list[dict]:
    rows = session.execute(select(Staff.login, Staff.db_role, Staff.is_admin, Staff.active).order_by(Staff.id))
    return [{"login": r.login, "db_role": r.db_role, "is_admin": r.is_admin, "active": r.active} for r in rows]


def setup_roles(app: App, *, prefix: str = pg.DEFAULT_PREFIX, dry_run: bool = False) -> dict:
    """``crmctl db roles``: the owner role, the staff and administrators' groups, ownership, grants,
    the audit/approval triggers and row-level security, idempotently; audited.  ``dry_run``: the SQL
    only, nothing changed."""
    if app.db.is_sqlite:
        raise RuleViolation(_("SQLite cannot enforce database roles: whoever may write the file can change it with any tool "
                              "(the audit chain shows it, 'crmctl db check'); database-enforced roles and row-level security "
                              "need PostgreSQL (see README, Security model)"))
    app.require_admin(_("set up the database roles"))
    if not pg.IDENT_RE.fullmatch(prefix or "") or len(prefix) > 50:
        raise InvalidInput(_("--prefix '{prefix}' is not usable: letters, digits and '_' (at most 50), e.g. crmctl_")
                           .format(prefix=prefix))
    roles = pg.Roles.with_prefix(prefix)
    known = pg_roles_of(app)
    if known is not None and known != roles and not dry_run:
        raise RuleViolation(_("this database's roles are {owner}, {staff} and {admin}: "
                              "run 'crmctl db roles --prefix {prefix}'").format(
            owner=known.owner, staff=known.staff, admin=known.admin, prefix=known.owner.removesuffix("owner")))
    perms, chain = app.policy.permissions, list(app.policy.admission.chain)
    with app.db.write() as s:
        conn = s.connection()
        plan = pg.plan(conn, roles, _staff_rows(s))
        if dry_run:
            s.rollback()
            return {"dry_run": True, "sql": plan.sql(), "done": [], "missing": plan.missing, "roles": roles}
        me = conn.exec_driver_sql("SELECT current_user").scalar()
        try:
            pg.execute(conn, plan.as_caller)
            conn.exec_driver_sql(f"SET LOCAL ROLE {pg.q(roles.owner)}")
            pg.execute(conn, plan.as_owner)
            pg.store_settings(conn, roles=roles, restrict=perms.restrict_customer_details,
                              readers=list(perms.readers_roles), chain=chain, version=app.policy_version)
            conn.exec_driver_sql(f"SET LOCAL ROLE {pg.q(me)}")
        except DBAPIError as exc:
            raise _server_refused(exc, _("set up the roles (run 'crmctl db roles' connected as the role that owns "
                                         "the tables, e.g. the one that ran init, or as a superuser)")) from None
        audit.record(s, app, "db.roles", "database", roles.owner,
                     after={"owner": roles.owner, "staff": roles.staff, "admin": roles.admin,
                            "statements": len(plan.sql()), "restrict_customer_details": perms.restrict_customer_details},
                     note="; ".join(plan.done + ([Msg("no database role for: {logins}", logins=", ".join(plan.missing))]
                                                 if plan.missing else [])))
    return {"dry_run": False, "sql": plan.sql(), "done": plan.done, "missing": plan.missing, "roles": roles}


def pg_roles_of(app: App) -> pg.Roles | None:
    with app.db.read() as s:
        return pg.configured_roles(s.connection())


def refresh_settings(session, policy, version: int) -> None:
    """PostgreSQL: the policy's access rules into ``access_setting`` (``init``, ``policy apply``), so
    that row-level security decides from the policy in force.  Nothing on SQLite."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    try:
        pg.store_settings(conn, roles=None, restrict=policy.permissions.restrict_customer_details,
                          readers=list(policy.permissions.readers_roles), chain=list(policy.admission.chain),
                          version=version)
    except DBAPIError as exc:
        raise _server_refused(exc, _("store the policy's access rules")) from None


def bind_login_role(session, name: str | None, *, admin: bool, active: bool = True, create: bool,
                    previous: str | None = None) -> tuple[str | None, list[str]]:
    """PostgreSQL: the login role a staff member is bound to, made ready.  ``create`` (``--db-role``
    given): a missing role is created (LOGIN; administrators may create roles in turn) where the
    connected role may create roles, and refused otherwise.  Where ``db roles`` set up the groups,
    the role joins the staff group (and the administrators' group for an administrator), and a
    ``previous`` role bound no more leaves them.  Returns the role's exact name (an existing role
    whose name differs only in case is used) and what was done, in words (English :class:`Msg`: it
    is kept in the audit note)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql" or not name:
        return name, []
    roles = pg.configured_roles(conn)
    manage = pg.may_manage_roles(conn)
    done: list[str] = []
    stmts: list[str] = []
    role = pg.find_role(conn, name)
    if role is None and create:
        if not manage:
            who = conn.exec_driver_sql("SELECT current_user").scalar()
            raise NotPermitted(_("database role '{name}' does not exist and {who} may not create roles: ask the "
                                 "database administrator to run CREATE ROLE {quoted} LOGIN (or to grant {who} "
                                 "CREATEROLE), then bind it again").format(name=name, who=who, quoted=pg.q(name)))
        caller = pg.caller(conn)
        extra = " CREATEROLE" if admin and (caller["rolsuper"] or caller["rolcreaterole"]) else ""
        stmts.append(f"CREATE ROLE {pg.q(name)} LOGIN{extra}")
        done.append(Msg("database login role {name} created", name=name))
        if roles is not None:
            stmts += [f"GRANT {pg.q(roles.staff)} TO {pg.q(name)}"] + (
                [f"GRANT {pg.q(roles.admin)} TO {pg.q(name)}"] if admin else [])
    elif role is not None:
        name = role["rolname"]
        if roles is not None and not role["rolsuper"]:
            stmts += pg.membership_statements(conn, roles, name, admin=admin, active=active)
    if roles is not None and previous and previous.lower() != (name or "").lower():
        old = pg.find_role(conn, previous)
        if old is not None and not old["rolsuper"]:
            stmts += pg.membership_statements(conn, roles, old["rolname"], admin=False, active=False)
    if not stmts:
        return name, done
    if not manage:
        if create:
            raise NotPermitted(_("database role '{name}' is not in the groups of 'crmctl db roles' and the connected "
                                 "role may not grant them: ask the database administrator (or run 'crmctl db roles' "
                                 "as the owner of the tables)").format(name=name))
        return name, done + [Msg("group memberships left for 'crmctl db roles'")]
    try:
        pg.execute(conn, stmts)
    except DBAPIError as exc:
        raise _server_refused(exc, _("create or grant database role {name}").format(name=name)) from None
    done += [s for s in stmts if not s.startswith("CREATE ROLE")]
    return name, done
