"""Database upkeep: upgrade, backup, integrity check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..db import Database, current_revision, integrity_problems, open_database, upgrade_with_backup
from ..db import backup_sqlite, create_private, restore_sqlite, sqlite_path
from ..errors import CrmError, DatabaseError, InvalidInput, NotFound
from ..migrations import HEAD, REVISIONS
from ..progress import Progress, silent
from .app import Settings
from ..i18n import _


def _open_raw(settings: Settings) -> Database:
    url = settings.db_url()
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise NotFound(_("no database at {path}: run 'crmctl init --policy NAME' first (or pass --db)").format(path=path))
    return Database(url)


def pending_migrations(have: str) -> list[tuple[str, str]]:
    """``(revision, title)`` of each migration from ``have`` to HEAD, oldest first (the title: the first
    paragraph of the migration's docstring)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(Path(__file__).resolve().parent.parent / "migrations"))
    later = REVISIONS[REVISIONS.index(have) + 1:]
    titles = []
    for r in later:
        doc = (scripts.get_revision(r).module.__doc__ or "").strip().split("\n\n")[0]
        titles.append((r, " ".join(doc.split())))
    return titles


def upgrade_database(settings: Settings, *, plan: Callable[[list[str]], bool] | None = None) -> str:
    """``db upgrade``.  SQLite: a backup, then the migrations.  PostgreSQL (a shared database, never
    upgraded on opening): once the role is known to be allowed to migrate, ``plan`` is given the lines
    saying what will change (the pending migrations) and the ``pg_dump`` command to run first, and
    the upgrade goes on only when it returns True (None: without asking)."""
    db = _open_raw(settings)
    try:
        rev = current_revision(db.engine)
        if rev is None:
            raise DatabaseError(_("not a crmctl database: run 'crmctl init' first"))
        if rev == HEAD:
            return _("schema is current ({head})").format(head=HEAD)
        if rev not in REVISIONS:
            raise DatabaseError(_("the database schema ({revision}) is newer than this crmctl knows ({head}): "
                                  "upgrade crmctl").format(revision=rev, head=HEAD))
        if not db.is_sqlite and plan is not None:
            _may_migrate(db, rev)
            if not plan(_upgrade_plan(db, rev)):
                raise CrmError(_("not upgraded: the database is unchanged (schema {revision})").format(revision=rev))
        backup = upgrade_with_backup(db, rev)
        if backup:
            return _("upgraded {revision} -> {head}; backup at {backup}").format(revision=rev, head=HEAD, backup=backup)
        return _("upgraded {revision} -> {head}").format(revision=rev, head=HEAD)
    finally:
        db.dispose()


def _may_migrate(db: Database, rev: str) -> None:
    """Refused (one line) before anything is shown when the session's role may not take the schema's
    owner role (``pg_security.take_owner_role``, tried in a transaction that is rolled back)."""
    from .. import pg_security

    with db.engine.connect() as conn:
        with conn.begin() as tx:
            pg_security.take_owner_role(conn, rev, HEAD)
            tx.rollback()


def _upgrade_plan(db: Database, rev: str) -> list[str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from . import pg_backup

    lines = [_("the database schema is at {revision}; this crmctl needs {head}. Migrations to apply:").format(
        revision=rev, head=HEAD)]
    lines += [f"  {r}  {title}" for r, title in pending_migrations(rev)]
    with db.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    name = f"{make_url(db.url).database or 'crm'}-before-{rev}.dump"
    lines.append(_("Back up first (or with 'crmctl db backup {file}'): {command}").format(
        file=name, command=pg_backup.shown(pg_backup.dump_argv(db.url, Path(name), schema))))
    return lines


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    from ..rules.text import mask_secrets

    return mask_secrets(make_url(url).render_as_string(hide_password=True))


def backup_database(settings: Settings, dest: Path, *, force: bool = False, keep: int | None = None) -> list[str]:
    """``db backup``: an administrator's consistent copy of the live database, audited (the entry is
    in the copy too, so its audit chain holds): SQLite's online backup, or ``pg_dump`` on PostgreSQL
    (``crmctl.services.pg_backup``).  ``keep``: then only the ``keep`` newest backups of FILE's series
    stay in its folder (``crmctl.rules.rotation``).  The lines to show: the file, then what was removed."""
    from sqlalchemy.exc import DatabaseError as SqlDatabaseError

    try:
        return _backup(settings, dest, force=force, keep=keep)
    except SqlDatabaseError as exc:  # a damaged file, noticed on opening it
        raise DatabaseError(_("the database is damaged ({problem}): not backed up; see 'crmctl db check'")
                            .format(problem=_first_line(exc))) from None


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]


def _damaged(path: Path) -> str | None:
    """What SQLite's quick check finds wrong with the file (its pages and b-trees), or None."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows)


def _backup(settings: Settings, dest: Path, *, force: bool, keep: int | None) -> list[str]:
    from . import audit
    from .app import open_app

    with open_app(settings) as app:
        app.require_admin(_("back up the database"))
        db = app.db
        dest = dest.expanduser()
        # everything that would make the copy fail is refused before the entry saying it was made
        if keep is not None:
            from ..rules.rotation import series

            if series(dest.name) is None:
                raise InvalidInput(_("--keep needs a date or number in the backup's name to tell the backups of "
                                     "one series apart (e.g. crm-2026-12-01.db); {name} has none").format(name=dest.name))
        if not dest.parent.is_dir():
            raise InvalidInput(_("backup folder {folder} does not exist").format(folder=dest.parent))
        if not os.access(dest.parent, os.W_OK | os.X_OK):
            raise InvalidInput(_("backup folder {folder} is not writable by this account").format(folder=dest.parent))
        if dest.exists() and dest.is_dir():
            raise InvalidInput(_("{path} is a folder").format(path=dest))
        if db.path is not None and dest.resolve() == db.path.resolve():
            raise InvalidInput(_("the backup file must not be the database itself"))
        if dest.exists() and not force:
            raise InvalidInput(_("{path} exists; pass --force to overwrite").format(path=dest))
        if db.path is None:
            from sqlalchemy import text

            from . import pg_backup

            pg_backup.tools()  # refused when pg_dump is not installed
            with db.engine.connect() as conn:
                schema = conn.execute(text("SELECT current_schema()")).scalar()
            with db.write() as s:
                audit.record(s, app, "db.backup", "database", _safe(db.url), after={"to": str(dest)})
            pg_backup.dump(db.url, dest, schema)
        else:
            damaged = _damaged(db.path)  # a copy of a damaged file is no backup
            if damaged:
                raise DatabaseError(_("the database is damaged ({problem}): not backed up; see 'crmctl db check'")
                                    .format(problem=damaged[:200]))
            with db.write() as s:
                audit.record(s, app, "db.backup", "database", str(db.path), after={"to": str(dest)})
            backup_sqlite(db.path, dest)
        lines = [str(dest)]
        if keep is not None:
            lines += [_("removed older backup {path}").format(path=p) for p in _rotate(dest, keep, db.path)]
        return lines


def _rotate(dest: Path, keep: int, database: Path | None) -> list[Path]:
    """Remove the backups of ``dest``'s series beyond the ``keep`` newest (never the database itself,
    nor a symbolic link or a folder); the ones removed."""
    import stat

    from ..rules.rotation import to_remove

    folder = dest.parent
    spared = {database.resolve()} if database is not None else set()
    files = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and (folder / entry.name).resolve() not in spared:
            files.append((entry.name, st.st_mtime))
    removed = []
    for name in to_remove(files, dest.name, keep):
        try:
            (folder / name).unlink()
            removed.append(folder / name)
        except OSError:
            pass
    return removed


def _world_readable(path: Path | None) -> bool:
    import stat

    try:
        return path is not None and bool(path.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH))
    except OSError:
        return False


def check_database(settings: Settings) -> list[str]:
    """``db check``: integrity, foreign keys, the schema, the audit trail's hash chain; a warning for a
    database file anyone on the machine may read."""
    from ..db import audit_problem

    from sqlalchemy.exc import DatabaseError as SqlDatabaseError

    db = _open_raw(settings)
    try:
        problems = integrity_problems(db)
        chained = None
        if not problems:
            with db.engine.connect() as conn:
                _p, n, head = audit_problem(conn)
            chained = _("audit trail of {n} entries chained, head {head}").format(n=n, head=head[:16])
    except SqlDatabaseError as exc:  # the file is too damaged to be read: SQLite's own check says where
        problems = [_("integrity: {problem}").format(problem=_first_line(exc))]
        if db.path is not None:
            found = _damaged(db.path)
            if found and found not in problems[0]:
                problems.append(_("integrity: {problem}").format(problem=found))
        problems.append(_("restore the last good backup ('crmctl db restore FILE')"))
    finally:
        db.dispose()
    if problems:
        raise CrmError(_("{n} problem(s): {problems}").format(n=len(problems), problems="; ".join(problems[:5])),
                       details=problems[5:])
    lines = [_("ok: integrity and foreign keys checked, schema {head}; {chained}").format(head=HEAD, chained=chained)]
    if _world_readable(db.path):
        lines.append(_("Warning: {message}").format(message=_(
            "{path} can be read by every account on this machine: chmod o-rwx it (and its -wal and -shm files); "
            "see README, Security model").format(path=db.path)))
    return lines


def copy_database(settings: Settings, to_url: str, *, chunk: int = 5000, progress: Progress = silent) -> list[dict]:
    """``db copy``: an administrator copies every table to a new, empty database (e.g. SQLite ->
    PostgreSQL), verified by row counts; audited in both.  On a new PostgreSQL database the
    administrator is bound to its session user when nobody is."""
    from sqlalchemy import func, select, text
    from sqlmodel import SQLModel

    from .. import models
    from ..db import resolve_db_url
    from . import audit
    from .app import open_app

    models.load_all()
    app = open_app(settings)
    try:
        app.require_admin(_("copy the database"))
        target_url, _default = resolve_db_url(to_url, allow_network_fs=settings.allow_network_fs)
        if target_url == app.db.url:
            raise InvalidInput(_("--to names the database being copied"))
    finally:
        app.close()
    src = open_database(settings.db_url())
    made = sqlite_path(target_url)
    try:
        if made is not None and not made.exists():
            create_private(made)  # a copy of the data is as private as the data
        else:
            made = None
        dst = open_database(target_url, create=True)
    except BaseException:
        src.dispose()
        if made is not None:
            made.unlink(missing_ok=True)
        raise
    report = []
    try:
        tables = [t for t in SQLModel.metadata.sorted_tables]
        with src.engine.connect() as s_conn, dst.engine.begin() as d_conn:
            counts = {t.name: s_conn.execute(select(func.count()).select_from(t)).scalar() for t in tables}
            for t in reversed(tables):  # what the new database's migrations seeded (the audit chain's head)
                d_conn.execute(t.delete())
            with progress(_("copying rows"), total=sum(counts.values())) as bar:
                for t in tables:
                    result = s_conn.execute(select(t).order_by(*t.primary_key.columns)).yield_per(chunk)
                    for part in result.partitions(chunk):
                        d_conn.execute(t.insert(), [dict(r._mapping) for r in part])
                        bar.advance(len(part))
            if dst.engine.dialect.name == "postgresql":
                for t in tables:
                    pk = list(t.primary_key.columns)
                    if len(pk) == 1 and pk[0].autoincrement is not False and str(pk[0].type) == "INTEGER":
                        d_conn.execute(text(
                            f"select setval(pg_get_serial_sequence('{t.name}', '{pk[0].name}'), "
                            f"coalesce((select max({pk[0].name}) from {t.name}), 0) + 1, false)"))
            for t in tables:
                copied = d_conn.execute(select(func.count()).select_from(t)).scalar()
                if copied != counts[t.name]:
                    raise DatabaseError(_("copy check failed for {table}: {rows} rows, {copied} copied").format(
                        table=t.name, rows=counts[t.name], copied=copied))
                report.append({"table": t.name, "rows": copied})
            if dst.engine.dialect.name == "postgresql":  # the planner's statistics, before the first command plans
                for t in tables:
                    d_conn.execute(text(f"ANALYZE {t.name}"))
        if dst.engine.dialect.name == "postgresql":
            _bind_copier(dst, app)
        entry = {"from": _safe(src.url), "to": _safe(target_url), "rows": sum(r["rows"] for r in report)}
        for db in (src, dst):  # recorded in both, each chained on
            with db.write() as s:
                audit.record(s, app, "db.copy", "database", _safe(db.url), after=entry)
    except BaseException:
        dst.dispose()
        _drop_everything(target_url)
        raise
    finally:
        src.dispose()
    dst.dispose()
    return report


def _bind_copier(dst: Database, app) -> None:
    """The administrator who copies is bound to the new server's session user, if nobody is."""
    from sqlalchemy import func, select, text

    from ..models import Staff
    from . import audit

    me = app.actor.by or app.actor.login
    with dst.write() as s:
        user = s.execute(text("SELECT session_user")).scalar()
        if s.scalars(select(Staff.id).where(func.lower(Staff.db_role) == user.lower())).first() is not None:
            return
        staff = s.scalars(select(Staff).where(Staff.login == me)).first()
        before = staff.db_role
        staff.db_role = user
        s.add(staff)
        audit.record(s, app, "staff.bind", "staff", me, before={"db_role": before}, after={"db_role": user},
                     actor=me, note="db copy: the administrator who copied")


def _drop_everything(url: str) -> None:
    """Undo a failed copy: drop the tables it created (the target was empty before)."""
    from sqlalchemy import MetaData

    from ..db import make_engine

    engine = make_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
    finally:
        engine.dispose()


def _administrator(settings: Settings, url: str, what: str):
    """The administrator doing ``what``, authenticated against the database at ``url``."""
    from .app import open_app

    with open_app(Settings(db=url, actor=settings.actor, now=settings.now, env_user=settings.env_user,
                           allow_network_fs=settings.allow_network_fs,
                           os_user=settings.os_user)) as app:
        app.require_admin(what)
        return app.actor


def restore_database(settings: Settings, source: Path) -> str:
    """``db restore``: an administrator replaces the SQLite database with a backup file, after checking
    the file (integrity, schema, policy, an audit chain that holds) and keeping the current one; the
    restore is audited in the restored database."""
    import sqlite3
    from datetime import datetime, timezone

    from ..db import audit_problem
    from . import audit
    from .app import open_app

    url = settings.db_url()
    path = sqlite_path(url)
    if path is None:
        raise CrmError(_("restore works on SQLite files; for PostgreSQL use pg_restore (see README, Backups)"))
    # an administrator of the live database (or, when there is none to open, of the backup, below)
    live = path.exists() and path.stat().st_size > 0
    admin = _administrator(settings, url, _("restore the database")) if live else None
    source = source.expanduser()
    if not source.is_file():
        raise NotFound(_("no backup file {path}").format(path=source))
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            dangling = conn.execute("PRAGMA foreign_key_check").fetchone()
            rev = conn.execute("select version_num from alembic_version").fetchone()
            has_policy = conn.execute("select count(*) from policy_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InvalidInput(_("{path} is not a crmctl backup: {problem}").format(path=source, problem=exc)) from None
    if ok != "ok":
        raise InvalidInput(_("{path} is damaged: {problem}").format(path=source, problem=ok))
    if dangling is not None:
        raise InvalidInput(_("{path} is damaged: table {table} row {row} points to a missing {parent}").format(
            path=source, table=dangling[0], row=dangling[1], parent=dangling[2]))
    if not rev or rev[0] not in REVISIONS:
        raise InvalidInput(_("{path} has an unknown schema revision {revision}").format(
            path=source, revision=rev[0] if rev else None))
    if not has_policy:
        raise InvalidInput(_("{path} holds no policy: not a crmctl backup").format(path=source))
    if rev[0] >= "0005":  # older backups have no chain yet (their upgrade chains what they hold)
        probe = Database(f"sqlite:///file:{source.resolve()}?mode=ro&uri=true")
        try:
            with probe.engine.connect() as c:
                problem, _n, _head = audit_problem(c)
        finally:
            probe.dispose()
        if problem:
            raise InvalidInput(_("{path} is not restored: its {problem}").format(path=source, problem=problem))
    if admin is None:
        admin = _administrator(settings, str(source), _("restore the database"))
    keep = None
    if live:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        keep = path.with_name(f"{path.name}.before-restore-{stamp}.bak")
        # the copy is written holding the live database's write lock, and the current one is kept inside
        # that lock: a writer that is running is waited for (and is in the kept copy), one that comes
        # later waits for the restore (and writes into the restored database)
        restore_sqlite(source, path, keep)
    else:
        backup_sqlite(source, path)
    try:
        with open_app(settings, need_actor=False) as restored:  # upgrades an older backup (after its own backup)
            problems = integrity_problems(restored.db)
            if problems:
                raise DatabaseError(_("restored database fails its check: {problems}").format(
                    problems="; ".join(problems[:3])))
            with restored.db.write() as s:
                audit.record(s, restored, "db.restore", "database", str(path), after={"from": str(source)},
                             actor=admin.login, by=admin.by)
    except BaseException:  # the database as it was before, not a half-restored one
        if live:
            restore_sqlite(keep, path)
        else:
            path.unlink(missing_ok=True)
        raise
    return _("restored {source} into {path} (schema {head})").format(source=source, path=path, head=HEAD)
