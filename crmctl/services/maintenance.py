"""Database upkeep: upgrade, backup, integrity check."""

from __future__ import annotations

from pathlib import Path

from ..db import Database, current_revision, integrity_problems, open_database, upgrade_with_backup
from ..db import backup_sqlite, sqlite_path
from ..errors import CrmError, DatabaseError, InvalidInput, NotFound
from ..migrations import HEAD, REVISIONS
from .app import Settings


def _open_raw(settings: Settings) -> Database:
    url = settings.db_url()
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise NotFound(f"no database at {path}: run 'crmctl init --policy NAME' first (or pass --db)")
    return Database(url)


def upgrade_database(settings: Settings) -> str:
    db = _open_raw(settings)
    try:
        rev = current_revision(db.engine)
        if rev is None:
            raise DatabaseError("not a crmctl database: run 'crmctl init' first")
        if rev == HEAD:
            return f"schema is current ({HEAD})"
        if rev not in REVISIONS:
            raise DatabaseError(f"the database schema ({rev}) is newer than this crmctl knows ({HEAD}): upgrade crmctl")
        backup = upgrade_with_backup(db, rev)
        return f"upgraded {rev} -> {HEAD}" + (f"; backup at {backup}" if backup else "")
    finally:
        db.dispose()


def backup_database(settings: Settings, dest: Path, *, force: bool = False) -> str:
    db = open_database(settings.db_url())
    try:
        if db.path is None:
            raise CrmError("backup works on SQLite files; for PostgreSQL use pg_dump (see README, Backups)")
        dest = dest.expanduser()
        if dest.resolve() == db.path.resolve():
            raise InvalidInput("the backup file must not be the database itself")
        if dest.exists() and not force:
            raise InvalidInput(f"{dest} exists; pass --force to overwrite")
        backup_sqlite(db.path, dest)
        return str(dest)
    finally:
        db.dispose()


def check_database(settings: Settings) -> list[str]:
    db = _open_raw(settings)
    try:
        problems = integrity_problems(db)
    finally:
        db.dispose()
    if problems:
        raise CrmError(f"{len(problems)} problem(s): " + "; ".join(problems[:5]), details=problems[5:])
    return [f"ok: integrity and foreign keys checked, schema {HEAD}"]
