"""Database upkeep: upgrade, backup, integrity check."""

from __future__ import annotations

from pathlib import Path

from ..db import Database, current_revision, integrity_problems, open_database, upgrade_with_backup
from ..db import backup_sqlite, sqlite_path
from ..errors import CrmError, DatabaseError, InvalidInput, NotFound
from ..migrations import HEAD, REVISIONS
from ..progress import Progress, silent
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


def copy_database(settings: Settings, to_url: str, *, chunk: int = 5000, progress: Progress = silent) -> list[dict]:
    """Copy every table to a new, empty database (e.g. SQLite -> PostgreSQL), verified by row counts."""
    from sqlalchemy import func, select, text
    from sqlmodel import SQLModel

    from .. import models
    from ..db import resolve_db_url

    models.load_all()
    src = open_database(settings.db_url())
    target_url, _ = resolve_db_url(to_url)
    if target_url == src.url:
        src.dispose()
        raise InvalidInput("--to names the database being copied")
    try:
        dst = open_database(target_url, create=True)
    except BaseException:
        src.dispose()
        raise
    report = []
    try:
        tables = [t for t in SQLModel.metadata.sorted_tables]
        with src.engine.connect() as s_conn, dst.engine.begin() as d_conn:
            counts = {t.name: s_conn.execute(select(func.count()).select_from(t)).scalar() for t in tables}
            with progress("copying rows", total=sum(counts.values())) as bar:
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
                    raise DatabaseError(f"copy check failed for {t.name}: {counts[t.name]} rows, {copied} copied")
                report.append({"table": t.name, "rows": copied})
    except BaseException:
        dst.dispose()
        _drop_everything(target_url)
        raise
    finally:
        src.dispose()
    dst.dispose()
    return report


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


def restore_database(settings: Settings, source: Path) -> str:
    """Replace the SQLite database with a backup file, after checking the file and backing up the current one."""
    import sqlite3
    from datetime import datetime, timezone

    url = settings.db_url()
    path = sqlite_path(url)
    if path is None:
        raise CrmError("restore works on SQLite files; for PostgreSQL use pg_restore (see README, Backups)")
    source = source.expanduser()
    if not source.is_file():
        raise NotFound(f"no backup file {source}")
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            rev = conn.execute("select version_num from alembic_version").fetchone()
            has_policy = conn.execute("select count(*) from policy_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InvalidInput(f"{source} is not a crmctl backup: {exc}") from None
    if ok != "ok":
        raise InvalidInput(f"{source} is damaged: {ok}")
    if not rev or rev[0] not in REVISIONS:
        raise InvalidInput(f"{source} has an unknown schema revision {rev[0] if rev else None}")
    if not has_policy:
        raise InvalidInput(f"{source} holds no policy: not a crmctl backup")
    if path.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        keep = path.with_name(f"{path.name}.before-restore-{stamp}.bak")
        backup_sqlite(path, keep)
    backup_sqlite(source, path)
    db = open_database(url)  # upgrades an older backup to the current schema (after its own backup)
    try:
        problems = integrity_problems(db)
    finally:
        db.dispose()
    if problems:
        raise DatabaseError("restored database fails its check: " + "; ".join(problems[:3]))
    return f"restored {source} into {path} (schema {HEAD})"
