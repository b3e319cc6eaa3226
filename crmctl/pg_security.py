"""PostgreSQL: the server enforces what crmctl enforces (``crmctl db roles``).

* **Roles.**  An owner role (``crmctl_owner``, NOLOGIN) owns the schema's tables, views and functions;
  migrations run as it (an administrator's connection takes it with ``SET LOCAL ROLE``).  A staff
  group (``crmctl_staff``) holds what crmctl needs to read and write; an administrators' group
  (``crmctl_admin``, NOINHERIT) may additionally change staff, policies and the access settings, and
  is a member of the owner role -- so an administrator can *take* the owner role for an upgrade
  without holding its privileges day to day.  Every staff member's login role is a member of the
  staff group (administrators of the admin group too).
* **Kept as written.**  The staff group may only INSERT into ``audit_log`` and ``approval``, and
  may UPDATE only the decision columns of ``approval_request``; triggers refuse UPDATE, DELETE and
  TRUNCATE of the audit trail and the approval records (and any change of a request once decided)
  for every role, the owner's included.
* **Row-level security.**  Where the policy restricts customer files, a session sees the rows of a
  customer's file only where crmctl's ``services.visibility`` would show them: administrators and
  holders of the policy's reader roles everything; others the customers they keep or are a contact
  of, the admissions whose waiting step is theirs (or which they decided in the current round),
  and the pieces of work given to them (with the customer row they are about).  The decision is
  made by SECURITY DEFINER functions owned by the owner role (``crmctl_sees_all()``,
  ``crmctl_files()``, ``crmctl_can_read(customer_id)`` ...) from the staff row bound to the
  **session user** and the table ``access_setting`` (the policy's flag, reader roles and chain,
  refreshed by ``db roles`` and by ``policy apply``).  The view ``customer_directory`` (id, code,
  name; owned by the owner role) lists every customer.
* Superusers and the owner role bypass row-level security (as PostgreSQL does for table owners).

Only SQLAlchemy and ``crmctl.errors`` are imported: ``crmctl.db`` calls in here for upgrades.  Messages
are English :class:`crmctl.errors.Msg` (shown translated; ``Plan.done`` is also kept in the audit note).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sqlalchemy import text

from .errors import DatabaseError, Msg, NotPermitted

DEFAULT_PREFIX = "crmctl_"
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: tables whose rows are never changed or deleted once written (triggers; staff: INSERT only)
FROZEN = ("audit_log", "approval")
#: the columns of ``approval_request`` a decision fills in (the only ones the staff group may UPDATE)
DECISION_COLUMNS = ("status", "decided_by", "decided_at", "comment")
#: what the administrators' group may write beyond the staff group (the staff group only reads these)
ADMIN_WRITES = {"staff": "INSERT, UPDATE, DELETE", "staff_role": "INSERT, UPDATE, DELETE",
                "policy_version": "INSERT", "access_setting": "INSERT, UPDATE",
                "calendar_year": "INSERT, UPDATE, DELETE"}
#: the staff group reads these and writes none of them
READ_ONLY = ("alembic_version",) + tuple(ADMIN_WRITES)
#: the staff group may add and move the chain's head, never delete it
NO_DELETE = ("audit_chain",)
#: functions of row-level security and the triggers (all ``crmctl_*`` in the schema are the owner's)
FUNCTIONS = ("crmctl_refuse_change()", "crmctl_decide_once()", "crmctl_me()", "crmctl_login()", "crmctl_is_admin()",
             "crmctl_my_roles()", "crmctl_sees_all()", "crmctl_files()", "crmctl_seen()", "crmctl_decides()",
             "crmctl_file_codes()", "crmctl_can_read(integer)")


def q(name: str) -> str:
    """A quoted SQL identifier (role names keep their case)."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Roles:
    owner: str
    staff: str
    admin: str

    @classmethod
    def with_prefix(cls, prefix: str = DEFAULT_PREFIX) -> "Roles":
        return cls(f"{prefix}owner", f"{prefix}staff", f"{prefix}admin")


# --------------------------------------------------------------------------------------------------
# Triggers: the audit trail and the approval records are kept as written (installed by migration
# 0006 on every PostgreSQL database, and again by ``db roles``)


def freeze_statements() -> list[str]:
    stmts = [
        """CREATE OR REPLACE FUNCTION crmctl_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
    MESSAGE = 'crmctl keeps ' || TG_TABLE_NAME || ' as written: ' || TG_OP || ' refused',
    HINT = 'audit entries and approval records are never changed or deleted';
END
$$""",
        """CREATE OR REPLACE FUNCTION crmctl_decide_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status = 'pending'
     AND (NEW.id, NEW.kind, NEW.complaint_id, NEW.customer_id, NEW.details::text, NEW.approver_role,
          NEW.requested_by, NEW.requested_at)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.kind, OLD.complaint_id, OLD.customer_id, OLD.details::text, OLD.approver_role,
          OLD.requested_by, OLD.requested_at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
    MESSAGE = 'crmctl keeps approval_request as written: ' || TG_OP || ' refused',
    HINT = 'a waiting request is decided once (status, decided_by, decided_at, comment); then it is kept';
END
$$""",
    ]
    for table in FROZEN + ("approval_request",):
        check = "crmctl_decide_once" if table == "approval_request" else "crmctl_refuse_change"
        stmts += [f"DROP TRIGGER IF EXISTS crmctl_kept ON {table}",
                  f"CREATE TRIGGER crmctl_kept BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {check}()",
                  f"DROP TRIGGER IF EXISTS crmctl_kept_whole ON {table}",
                  f"CREATE TRIGGER crmctl_kept_whole BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
                  "EXECUTE FUNCTION crmctl_refuse_change()"]
    return stmts


def unfreeze_statements() -> list[str]:
    stmts = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for table in FROZEN + ("approval_request",)
             for name in ("crmctl_kept", "crmctl_kept_whole")]
    return stmts + ["DROP FUNCTION IF EXISTS crmctl_decide_once()", "DROP FUNCTION IF EXISTS crmctl_refuse_change()"]


# --------------------------------------------------------------------------------------------------
# Row-level security


def _functions(schema: str) -> list[str]:
    head = f"LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {q(schema)}, pg_temp"
    me = "me AS (SELECT id, login FROM staff WHERE lower(db_role) = lower(session_user) AND active)"
    return [
        f"""CREATE OR REPLACE FUNCTION crmctl_me() RETURNS integer {head} AS $$
  SELECT id FROM staff WHERE lower(db_role) = lower(session_user) AND active
$$""",
        f"""CREATE OR REPLACE FUNCTION crmctl_login() RETURNS text {head} AS $$
  SELECT login FROM staff WHERE lower(db_role) = lower(session_user) AND active
$$""",
        f"""CREATE OR REPLACE FUNCTION crmctl_is_admin() RETURNS boolean {head} AS $$
  SELECT coalesce((SELECT is_admin FROM staff WHERE lower(db_role) = lower(session_user) AND active), false)
$$""",
        f"""CREATE OR REPLACE FUNCTION crmctl_my_roles() RETURNS SETOF text {head} AS $$
  SELECT r.role FROM staff_role r JOIN staff s ON s.id = r.staff_id
   WHERE lower(s.db_role) = lower(session_user) AND s.active
$$""",
        # no restriction (or no setting at all: closed) -- else an administrator or a reader role
        f"""CREATE OR REPLACE FUNCTION crmctl_sees_all() RETURNS boolean {head} AS $$
  SELECT CASE
    WHEN NOT coalesce((SELECT restrict_customer_details FROM access_setting WHERE id = 1), true) THEN true
    ELSE coalesce((SELECT s.is_admin OR EXISTS (
                     SELECT 1 FROM staff_role r WHERE r.staff_id = s.id AND r.role IN (
                       SELECT json_array_elements_text(a.reader_roles) FROM access_setting a WHERE a.id = 1))
                   FROM staff s WHERE lower(s.db_role) = lower(session_user) AND s.active), false)
  END
$$""",
        # the customers whose file the session user may read (besides crmctl_sees_all()): kept, a
        # contact of, an admission whose waiting step is theirs (by the steps approved in its current
        # round -- counted by step, as crmctl counts them -- whatever its status says mid-transaction),
        # or one they decided this round
        f"""CREATE OR REPLACE FUNCTION crmctl_files() RETURNS SETOF integer {head} AS $$
  WITH {me}
  SELECT c.id FROM customer c JOIN me ON c.owner_id = me.id
  UNION
  SELECT cc.customer_id FROM customer_contact cc JOIN me ON cc.staff_id = me.id
  UNION
  SELECT c.id FROM customer c JOIN approval ap ON ap.customer_id = c.id AND ap.round = c.admission_round
                JOIN me ON ap.staff_login = me.login
   WHERE ap.step > 0
  UNION
  SELECT c.id FROM customer c CROSS JOIN me JOIN access_setting a ON a.id = 1
   WHERE c.admission_round > 0 AND c.status IN ('pending', 'prospect', 'active')
     AND EXISTS (SELECT 1 FROM staff_role r WHERE r.staff_id = me.id
                    AND r.role IN (SELECT json_array_elements_text(a.chain_roles)))
     AND (a.chain_roles ->> (SELECT count(DISTINCT ap.step)::int FROM approval ap WHERE ap.customer_id = c.id
                              AND ap.round = c.admission_round AND ap.decision = 'approve' AND ap.step > 0))
         IN (SELECT r.role FROM staff_role r WHERE r.staff_id = me.id)
$$""",
        # complaints with an extension request the session user asked for, decided, or may decide
        f"""CREATE OR REPLACE FUNCTION crmctl_decides() RETURNS SETOF integer {head} AS $$
  WITH {me}
  SELECT r.complaint_id FROM approval_request r CROSS JOIN me
   WHERE r.complaint_id IS NOT NULL
     AND (r.requested_by = me.login OR r.decided_by = me.login
          OR (r.status = 'pending' AND r.approver_role IN (SELECT role FROM staff_role WHERE staff_id = me.id)))
$$""",
        # the customer rows the session user sees: their files, and the customers of work given to them
        f"""CREATE OR REPLACE FUNCTION crmctl_seen() RETURNS SETOF integer {head} AS $$
  WITH {me}
  SELECT crmctl_files()
  UNION SELECT x.customer_id FROM complaint x JOIN me ON x.owner_id = me.id
  UNION SELECT x.customer_id FROM complaint x WHERE x.id IN (SELECT crmctl_decides())
  UNION SELECT x.customer_id FROM service_ticket x JOIN me ON x.technician_id = me.id OR x.owner_id = me.id
  UNION SELECT x.customer_id FROM activity x JOIN me ON x.owner_id = me.id WHERE x.customer_id IS NOT NULL
  UNION SELECT x.customer_id FROM proposal x JOIN me ON x.owner_id = me.id
$$""",
        f"""CREATE OR REPLACE FUNCTION crmctl_file_codes() RETURNS SETOF text {head} AS $$
  SELECT code FROM customer WHERE id IN (SELECT crmctl_files())
$$""",
        f"""CREATE OR REPLACE FUNCTION crmctl_can_read(customer_id integer) RETURNS boolean {head} AS $$
  SELECT crmctl_sees_all() OR customer_id IN (SELECT crmctl_files())
$$""",
    ]


SEES = "(SELECT crmctl_sees_all())"
ADMIN = "(SELECT crmctl_is_admin())"
ME = "(SELECT crmctl_me())"
LOGIN = "(SELECT crmctl_login())"
FILE = "customer_id IN (SELECT crmctl_files())"

#: table -> which rows a session sees (and may change), for everyone subject to row-level security
ROW_RULES: dict[str, str] = {
    "customer": f"{SEES} OR owner_id = {ME} OR id IN (SELECT crmctl_seen())",
    "customer_contact": f"{SEES} OR staff_id = {ME} OR {FILE}",
    "customer_note": f"{SEES} OR {FILE}",
    "document": f"{SEES} OR {FILE}",
    "customer_grade": f"{SEES} OR {FILE}",
    "approval": f"{SEES} OR staff_login = {LOGIN} OR {FILE}",
    "grade_result": f"{SEES} OR {FILE}",
    "factor_score": f"{SEES} OR {FILE}",
    "sales_plan": f"{SEES} OR {FILE}",
    "usage_record": f"{SEES} OR {FILE}",
    "survey_result": f"{SEES} OR {FILE}",
    "complaint": f"{SEES} OR owner_id = {ME} OR {FILE} OR id IN (SELECT crmctl_decides())",
    "complaint_event": f"{SEES} OR complaint_id IN (SELECT c.id FROM complaint c)",
    "service_ticket": f"{SEES} OR technician_id = {ME} OR owner_id = {ME} OR {FILE}",
    "ticket_rating": f"{SEES} OR technician_id = {ME} OR ticket_id IN (SELECT t.id FROM service_ticket t)",
    "proposal": f"{SEES} OR owner_id = {ME} OR {FILE}",
    "activity": f"{SEES} OR owner_id = {ME} OR customer_id IS NULL OR {FILE}",
    "approval_request": (f"{SEES} OR requested_by = {LOGIN} OR decided_by = {LOGIN} OR {FILE} "
                         "OR complaint_id IN (SELECT c.id FROM complaint c)"),
    "audit_log": f"customer_code IS NULL OR {SEES} OR actor = {LOGIN} OR customer_code IN (SELECT crmctl_file_codes())",
}

#: table -> which rows a session may write, where that is narrower than what it sees: contacts
#: (who may read a file) are added by its owner, readers and administrators; approvals, requests
#: and audit entries are written in one's own name (an administrator's also for whom they act)
WRITE_RULES: dict[str, str] = {
    "customer_contact": f"{SEES} OR customer_id IN (SELECT c.id FROM customer c WHERE c.owner_id = {ME})",
    "approval": (f"{ADMIN} OR (staff_login = {LOGIN} AND ({SEES} OR {FILE}) "
                 "AND (step = 0 OR role IN (SELECT crmctl_my_roles())))"),
    "approval_request": (f"{ADMIN} OR (requested_by = {LOGIN} AND status = 'pending' AND decided_by IS NULL) "
                         f"OR (decided_by = {LOGIN} AND requested_by <> decided_by "
                         "AND approver_role IN (SELECT crmctl_my_roles()))"),
    "audit_log": f"{ADMIN} OR actor = {LOGIN} OR by_login = {LOGIN}",
}


def object_statements(schema: str, roles: Roles, tables: list[str]) -> list[str]:
    """Run as the owner role: the triggers, the row-level security functions and policies, the
    directory view and every grant (revoked first, so that running it again gives the same)."""
    staff, admin = q(roles.staff), q(roles.admin)
    groups = f"{staff}, {admin}"
    stmts = freeze_statements() + _functions(schema)
    stmts.append("CREATE OR REPLACE VIEW customer_directory AS SELECT id, code, name FROM customer")
    stmts.append("COMMENT ON VIEW customer_directory IS 'every customer''s code and name (crmctl: whoever may "
                 "read its file sees the rest in table customer)'")
    stmts.append(f"GRANT USAGE ON SCHEMA {q(schema)} TO {groups}")
    for t in tables + ["customer_directory"]:
        stmts.append(f"REVOKE ALL ON {t} FROM PUBLIC, {groups}")
    for t in tables:
        if t in FROZEN:
            privs = "SELECT, INSERT"
        elif t in READ_ONLY:
            privs = "SELECT"
        elif t in NO_DELETE:
            privs = "SELECT, INSERT, UPDATE"
        elif t == "approval_request":
            privs = f"SELECT, INSERT, UPDATE ({', '.join(DECISION_COLUMNS)})"
        else:
            privs = "SELECT, INSERT, UPDATE, DELETE"
        stmts.append(f"GRANT {privs} ON {t} TO {staff}")
        if t in ADMIN_WRITES:
            stmts.append(f"GRANT {ADMIN_WRITES[t]} ON {t} TO {admin}")
    stmts.append(f"GRANT SELECT ON customer_directory TO {staff}")
    stmts.append(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {q(schema)} FROM PUBLIC, {groups}")
    stmts.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q(schema)} TO {staff}")
    for fn in FUNCTIONS:
        stmts.append(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        stmts.append(f"GRANT EXECUTE ON FUNCTION {fn} TO {groups}")
    for t, rule in ROW_RULES.items():
        if t not in tables:
            continue
        stmts.append(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
        stmts.append(f"DROP POLICY IF EXISTS crmctl_rows ON {t}")
        stmts.append(f"CREATE POLICY crmctl_rows ON {t} FOR ALL USING ({rule}) WITH CHECK ({WRITE_RULES.get(t, rule)})")
    return stmts


# --------------------------------------------------------------------------------------------------
# The state of the server, and what ``db roles`` would do about it


@dataclass
class Plan:
    """What ``db roles`` does: statements as the connected role, then as the owner role."""

    roles: Roles
    schema: str
    as_caller: list[str] = field(default_factory=list)
    as_owner: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # what it did, in words
    missing: list[str] = field(default_factory=list)  # staff whose database role does not exist

    def sql(self) -> list[str]:
        owner = [f"SET LOCAL ROLE {q(self.roles.owner)}"] + self.as_owner if self.as_owner else []
        return self.as_caller + owner


def crmctl_tables(conn) -> list[str]:
    """crmctl's tables in the current schema (the models' tables, the schema version, the settings)."""
    from sqlmodel import SQLModel

    from . import models

    models.load_all()
    names = set(SQLModel.metadata.tables) | {"alembic_version", "access_setting"}
    present = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
    return sorted(set(present) & names)


def _role(conn, name: str):
    return conn.execute(text("SELECT rolname, rolsuper, rolcanlogin, rolcreaterole, rolinherit FROM pg_roles "
                             "WHERE rolname = :n"), {"n": name}).mappings().first()


def find_role(conn, name: str):
    """The role named ``name`` (exactly, else the one whose name differs only in case), or None."""
    row = _role(conn, name)
    if row is None:
        found = conn.execute(text("SELECT rolname FROM pg_roles WHERE lower(rolname) = lower(:n) ORDER BY rolname"),
                             {"n": name}).scalars().all()
        row = _role(conn, found[0]) if len(found) == 1 else None
    return row


def _member(conn, group: str, member: str) -> bool:
    """``member`` is directly a member of ``group``."""
    return conn.execute(text(
        "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member "
        "WHERE g.rolname = :g AND u.rolname = :u"), {"g": group, "u": member}).first() is not None


def caller(conn):
    return _role(conn, conn.execute(text("SELECT current_user")).scalar())


def may_manage_roles(conn) -> bool:
    me = caller(conn)
    return bool(me and (me["rolsuper"] or me["rolcreaterole"]))


def configured_roles(conn) -> Roles | None:
    """The roles ``db roles`` set up for this database (None: not set up, or no settings table yet)."""
    readable = conn.execute(text("SELECT to_regclass('access_setting') IS NOT NULL "
                                 "AND has_table_privilege('access_setting', 'SELECT')")).scalar()
    if not readable:
        return None
    row = conn.execute(text("SELECT owner_role, staff_role, admin_role FROM access_setting WHERE id = 1")).first()
    if row is None or not all(row):
        return None
    return Roles(*row)


def inferred_roles(conn) -> Roles | None:
    """The roles of an earlier ``db roles`` told by the schema itself (its tables' owner PREFIXowner,
    with PREFIXstaff and PREFIXadmin beside it, the latter a member of the owner), for a settings
    table that does not name them (made anew by a migration)."""
    owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
                              "AND tablename = 'alembic_version'")).scalar()
    if not owner or not owner.endswith("owner"):
        return None
    roles = Roles.with_prefix(owner.removesuffix("owner"))
    if _role(conn, roles.staff) is None or _role(conn, roles.admin) is None or not _member(conn, roles.owner, roles.admin):
        return None
    return roles


def membership_statements(conn, roles: Roles, role: str, *, admin: bool, active: bool) -> list[str]:
    """GRANT / REVOKE that make login role ``role`` a member of the groups it should be in."""
    stmts = []
    want = {roles.staff: active, roles.admin: active and admin}
    for group, wanted in want.items():
        if _role(conn, group) is None:
            continue
        has = _member(conn, group, role)
        if wanted and not has:
            stmts.append(f"GRANT {q(group)} TO {q(role)}")
        elif has and not wanted:
            stmts.append(f"REVOKE {q(group)} FROM {q(role)}")
    return stmts


def plan(conn, roles: Roles, staff: list[dict]) -> Plan:
    """What makes this database's roles, ownership, grants and row-level security as they should be.
    ``staff``: ``{"login", "db_role", "is_admin", "active"}`` of every staff member."""
    schema = conn.execute(text("SELECT current_schema()")).scalar()
    p = Plan(roles, schema)
    me = caller(conn)
    creating = []
    for name, opts in ((roles.owner, "NOLOGIN"), (roles.staff, "NOLOGIN"), (roles.admin, "NOLOGIN NOINHERIT")):
        row = _role(conn, name)
        if row is None:
            p.as_caller.append(f"CREATE ROLE {q(name)} {opts}")
            creating.append(name)
        elif row["rolcanlogin"]:
            raise NotPermitted(Msg("role {name} can log in: crmctl's owner and group roles must not (choose another "
                                   "--prefix, or ALTER ROLE ... NOLOGIN)", name=name))
    p.done.append(Msg("roles {roles} created", roles=", ".join(creating)) if creating else
                  Msg("roles {owner}, {staff}, {admin} exist", owner=roles.owner, staff=roles.staff, admin=roles.admin))
    if roles.admin in creating or not _member(conn, roles.owner, roles.admin):
        p.as_caller.append(f"GRANT {q(roles.owner)} TO {q(roles.admin)}")
    # every staff member's login role in its groups
    granted = 0
    for st in staff:
        role = find_role(conn, st["db_role"]) if st["db_role"] else None
        if role is None:
            if st["active"] and st["db_role"]:
                p.missing.append(f"{st['login']} ({st['db_role']})")
            continue
        if role["rolsuper"] or role["rolname"] in (roles.owner, roles.staff, roles.admin):
            continue
        stmts = (_new_group_grants(roles, role["rolname"], st) if {roles.staff, roles.admin} & set(creating)
                 else membership_statements(conn, roles, role["rolname"], admin=st["is_admin"], active=st["active"]))
        granted += len(stmts)
        p.as_caller.extend(stmts)
    p.done.append(Msg("{n} group membership(s) of staff login roles changed", n=granted) if granted
                  else Msg("staff login roles already in their groups"))
    # the schema and the tables owned by the owner role
    tables = crmctl_tables(conn)
    owner_of_schema = conn.execute(text("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = :s"),
                                   {"s": schema}).scalar()
    if owner_of_schema != roles.owner:
        if schema != "public" and (owner_of_schema == me["rolname"] or me["rolsuper"]):
            p.as_caller.append(f"ALTER SCHEMA {q(schema)} OWNER TO {q(roles.owner)}")
        else:  # public (the database owner's) or someone else's: the owner role creates tables in it
            p.as_caller.append(f"GRANT USAGE, CREATE ON SCHEMA {q(schema)} TO {q(roles.owner)}")
    owners = dict(conn.execute(text("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = current_schema()"))
                  .all())
    moved = [t for t in tables if owners.get(t) != roles.owner]
    for t in moved:
        p.as_caller.append(f"ALTER TABLE {t} OWNER TO {q(roles.owner)}")
    views_fns = conn.execute(text(
        "SELECT 'VIEW ' || c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'v' AND c.relname = 'customer_directory' "
        "UNION ALL SELECT 'FUNCTION ' || p.oid::regprocedure::text, pg_get_userbyid(p.proowner) FROM pg_proc p "
        "WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'crmctl\\_%'")).all()
    for what, who in views_fns:
        if who != roles.owner:
            p.as_caller.append(f"ALTER {what} OWNER TO {q(roles.owner)}")
    p.done.append(Msg("{n} table(s) now owned by {owner}", n=len(moved), owner=roles.owner) if moved
                  else Msg("tables already owned by {owner}", owner=roles.owner))
    p.as_owner = object_statements(schema, roles, tables)
    p.done.append(Msg("grants, audit/approval triggers, row-level security on {n} tables and view "
                      "customer_directory in place", n=len(ROW_RULES)))
    return p


def _new_group_grants(roles: Roles, role: str, st: dict) -> list[str]:
    if not st["active"]:
        return []
    stmts = [f"GRANT {q(roles.staff)} TO {q(role)}"]
    if st["is_admin"]:
        stmts.append(f"GRANT {q(roles.admin)} TO {q(role)}")
    return stmts


def execute(conn, statements: list[str]) -> None:
    for stmt in statements:
        conn.exec_driver_sql(stmt)


def store_settings(conn, *, roles: Roles | None, restrict: bool, readers: list[str], chain: list[str],
                   version: int | None) -> None:
    """The policy's access rules (and the roles, when given) in ``access_setting``, row 1."""
    from datetime import datetime, timezone

    values = {"r": restrict, "rd": json.dumps(list(readers)), "ch": json.dumps(list(chain)), "v": version,
              "at": datetime.now(timezone.utc).replace(tzinfo=None)}
    cols = "restrict_customer_details, reader_roles, chain_roles, policy_version, updated_at"
    vals = ":r, CAST(:rd AS json), CAST(:ch AS json), :v, :at"
    sets = ("restrict_customer_details = EXCLUDED.restrict_customer_details, reader_roles = EXCLUDED.reader_roles, "
            "chain_roles = EXCLUDED.chain_roles, policy_version = EXCLUDED.policy_version, "
            "updated_at = EXCLUDED.updated_at")
    if roles is not None:
        values.update({"o": roles.owner, "s": roles.staff, "a": roles.admin})
        cols += ", owner_role, staff_role, admin_role"
        vals += ", :o, :s, :a"
        sets += (", owner_role = EXCLUDED.owner_role, staff_role = EXCLUDED.staff_role, "
                 "admin_role = EXCLUDED.admin_role")
    conn.execute(text(f"INSERT INTO access_setting (id, {cols}) VALUES (1, {vals}) "
                      f"ON CONFLICT (id) DO UPDATE SET {sets}"), values)


# --------------------------------------------------------------------------------------------------
# Upgrades run as the owner role


def take_owner_role(conn, have: str | None = None, want: str | None = None) -> str | None:
    """Before migrations: the connection takes the schema's owner role for this transaction (``SET
    LOCAL ROLE``), so that new tables belong to it; refused (one line) for a role that may not.
    Returns the role taken (None: already the owner, or a new database)."""
    owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
                              "AND tablename = 'alembic_version'")).scalar()
    user = conn.execute(text("SELECT current_user")).scalar()
    if owner is None or owner == user:
        return None
    if not conn.execute(text("SELECT pg_has_role(current_user, :o, 'MEMBER')"), {"o": owner}).scalar():
        if have and want:
            raise DatabaseError(Msg("the database schema is out of date ({have}, this crmctl needs {want}) and database "
                                    "role {user} may not upgrade it (its tables belong to {owner}): ask an administrator "
                                    "to run 'crmctl db upgrade'", have=have, want=want, user=user, owner=owner))
        raise DatabaseError(Msg("the database schema is out of date and database role {user} may not upgrade it "
                                "(its tables belong to {owner}): ask an administrator to run 'crmctl db upgrade'",
                                user=user, owner=owner))
    conn.exec_driver_sql(f"SET LOCAL ROLE {q(owner)}")
    return owner


def reapply(conn) -> bool:
    """After migrations (as the owner): grants, triggers and row-level security again, so that new
    tables are covered.  False when ``db roles`` was never run here."""
    roles = configured_roles(conn)
    if roles is None:
        roles = inferred_roles(conn)
        if roles is None:
            return False
        conn.execute(text("UPDATE access_setting SET owner_role = :o, staff_role = :s, admin_role = :a WHERE id = 1"),
                     {"o": roles.owner, "s": roles.staff, "a": roles.admin})
    schema = conn.execute(text("SELECT current_schema()")).scalar()
    execute(conn, object_statements(schema, roles, crmctl_tables(conn)))
    return True


def audit_hidden(conn) -> str | None:
    """Why this session cannot verify the audit chain (row-level security hides entries from it), or
    None: it sees every entry (no row-level security, owner, superuser, or permitted to read all)."""
    row = conn.execute(text(
        "SELECT c.relrowsecurity AS rls, pg_has_role(current_user, c.relowner, 'USAGE') AS owns, "
        "r.rolsuper OR r.rolbypassrls AS bypass, current_user AS who FROM pg_class c, pg_roles r "
        "WHERE c.oid = to_regclass('audit_log') AND r.rolname = current_user")).mappings().first()
    if row is None or not row["rls"] or row["owns"] or row["bypass"]:
        return None
    if conn.execute(text("SELECT crmctl_sees_all()")).scalar():
        return None
    return Msg("the audit trail cannot be verified by database role {role}: row-level security hides the entries "
               "about customers it may not read (an administrator runs 'crmctl db check')", role=row["who"])


def refused(exc) -> str | None:
    """The server's message when ``exc`` is its refusal (SQLSTATE 42501: privilege, row-level
    security, crmctl's triggers), else None."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) != "42501":
        return None
    return str(orig).strip().splitlines()[0]
