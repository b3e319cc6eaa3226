"""Creating a database bound to a policy, and keeping every version of that policy."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from ..db import create_private, open_database, sqlite_path
from ..errors import CrmError, RuleViolation
from ..i18n import _
from ..models import PolicyVersion, Staff, StaffRole
from . import audit
from .app import App, Settings
from .pg_access import refresh_settings


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def init_database(settings: Settings, policy_ref: str, admin_login: str | None, admin_name: str | None,
                  *, recorded_as: str | None = None) -> dict:
    """``crmctl init``: a new database, the policy as version 1 and the first administrator.
    ``recorded_as``: the file's name in the audit entry (the demo builds it under a temporary name)."""
    from ..policies import load_policy
    from ..rules import times

    from ..rules.customers import clean_text
    from ..rules.limits import MAX_NAME

    policy, text = load_policy(policy_ref)  # refuse a bad policy before anything is created
    if admin_name is not None:
        admin_name = clean_text(admin_name, "--admin-name", max_len=MAX_NAME)
    url = settings.db_url()
    path = sqlite_path(url)
    existed = path.exists() if path else False
    if existed and path.stat().st_size > 0:
        raise CrmError(_("{path} already exists; choose another --db or remove it").format(path=path))
    # the administrator's login: --admin, else --as / CRMCTL_USER, else the OS account's name; whatever
    # it is called, it is bound to the OS account (or database user) running init
    login = admin_login or settings.acting_for() or settings.os_user
    if not login:
        raise CrmError(_("this process runs as an OS account without a name: give the administrator's login with --admin"))
    _check_login(login)
    try:
        if path is not None and not existed:
            create_private(path)
        db = open_database(url, create=True)
    except BaseException:
        if path is not None and not existed:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        raise
    try:
        now = times.now(policy.policy.timezone, settings.now)
        with db.write() as s:
            # the first administrator is whoever runs init: bound to this OS account (SQLite) or
            # database session user (PostgreSQL)
            if db.is_sqlite:  # a uid without a name (--admin given): the account of the login's name
                os_user, db_role = settings.os_user or login, login
            else:
                os_user, db_role = login, s.execute(sql_text("SELECT session_user")).scalar()
            s.add(PolicyVersion(version=1, code=policy.policy.code, source=policy_ref, text=text,
                                sha256=_sha(text), applied_at=now, applied_by=login))
            staff = Staff(login=login, name=admin_name or login, active=True, is_admin=True, created_at=now,
                          os_user=os_user, db_role=db_role)
            s.add(staff)
            s.flush()
            for role in policy.roles:
                s.add(StaffRole(staff_id=staff.id, role=role))
            app = App(settings, db, PolicyVersion(version=1, code=policy.policy.code, source=policy_ref,
                                                  text=text, sha256=_sha(text), applied_at=now, applied_by=login))
            app.__dict__["policy"] = policy
            audit.record(s, app, "init", "database", recorded_as or str(path or _safe_url(url)), actor=login, at=now,
                         after={"policy": policy.policy.code, "admin": login, "roles": sorted(policy.roles)})
            refresh_settings(s, policy, 1)  # PostgreSQL: the access rules row-level security reads
    finally:
        db.dispose()
    return {"database": str(path or _safe_url(url)), "policy": policy.policy.code, "version": 1, "admin": login,
            "roles": sorted(policy.roles)}


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _check_login(login: str) -> None:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", login or ""):
        raise CrmError(_("'{login}' is not a usable login: letters, digits, '.', '_', '-', '@' (1-64)").format(login=login))


#: the keys of a stored version of ``policy show --history`` (its csv header, with rows or without)
POLICY_HISTORY_KEYS = ("version", "code", "source", "sha256", "applied_at", "applied_by")


def history(app: App) -> list[dict]:
    with app.db.read() as s:
        rows = s.scalars(select(PolicyVersion).order_by(PolicyVersion.version)).all()
    return [{"version": r.version, "code": r.code, "source": r.source, "sha256": r.sha256,
             "applied_at": r.applied_at.astimezone(app.tz), "applied_by": r.applied_by} for r in rows]


def apply_policy(app: App, policy_ref: str) -> dict:
    """Store a new version of the policy (the old ones stay); audited with the diff."""
    from ..policies import diff_policies, load_policy

    app.require_admin(_("apply a policy"))
    policy, text = load_policy(policy_ref)
    current = app.policy_row
    changes = diff_policies(current.text, text)
    if not changes:
        raise RuleViolation(_("{file} does not change the current policy (version {version})").format(
            file=policy_ref, version=current.version))
    _check_roles_still_defined(app, policy)
    now = app.now()
    with app.db.write() as s:
        version = (s.scalar(select(func.max(PolicyVersion.version))) or 0) + 1
        s.add(PolicyVersion(version=version, code=policy.policy.code, source=policy_ref, text=text,
                            sha256=_sha(text), applied_at=now, applied_by=app.actor.login))
        audit.record(s, app, "policy.apply", "policy", str(version),
                     before={"version": current.version, "sha256": current.sha256},
                     after={"version": version, "sha256": _sha(text)}, note="\n".join(changes)[:20000], at=now)
        refresh_settings(s, policy, version)  # PostgreSQL: the access rules row-level security reads
    return {"version": version, "code": policy.policy.code, "changes": changes}


def _check_roles_still_defined(app: App, policy) -> None:
    """A new version may not drop a role that active staff still hold."""
    with app.db.read() as s:
        held = set(s.scalars(select(StaffRole.role).join(Staff, Staff.id == StaffRole.staff_id)
                             .where(Staff.active.is_(True))).all())
    missing = sorted(held - set(policy.roles))
    if missing:
        raise RuleViolation(
            _("the new policy drops role(s) {roles} still held by active staff; reassign them first").format(
                roles=", ".join(missing))
        )
