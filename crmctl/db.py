"""Engine, sessions and schema versions.

* A plain path is SQLite; an SQLAlchemy URL (``postgresql+psycopg://...``) selects that server.
* SQLite connections get WAL, ``busy_timeout`` and foreign keys; write transactions start with
  ``BEGIN IMMEDIATE`` (SQLAlchemy's pysqlite event-hook recipe) so two writers queue instead of
  failing half-way with "database is locked".
* Opening a database compares its schema revision with ``HEAD`` by one cheap query.  Alembic is
  imported only when the schema is out of date; a backup is made first.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError
from sqlmodel import Session

from .errors import DatabaseError, InvalidInput, NotFound, NotPermitted, RuleViolation
from .i18n import _
from .i18n import text as text_of
from .migrations import HEAD, REVISIONS

BUSY_TIMEOUT_MS = 30_000
PRIVATE_MODE = 0o660  # database files and their backups: owner and group only


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("crmctl", appauthor=False) / "crm.db"


def _mounts_text() -> str | None:
    """Linux's mount table of this process; None elsewhere (other systems are not checked) or when it
    cannot be read."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def check_local_filesystem(path: Path) -> None:
    """Refuse a SQLite database whose folder is on a network filesystem (``crmctl.rules.filesystems``:
    WAL needs shared memory on one host; writers on several hosts corrupt the file)."""
    mounts = _mounts_text()
    if mounts is None:
        return
    from .rules.filesystems import network_filesystem

    folder = path.expanduser().resolve().parent
    fstype = network_filesystem(str(folder), mounts)
    if fstype is not None:
        raise InvalidInput(_(
            "{path} is on a network filesystem ({fstype}): SQLite cannot share a database between hosts "
            "(its WAL mode needs shared memory on one host, and writers on several hosts corrupt the file); "
            "keep it on a local disk, or move the team to PostgreSQL with "
            "'CRMCTL_ALLOW_NETWORK_FS=1 crmctl db copy --to postgresql+psycopg://...' (README, Moving to "
            "PostgreSQL); CRMCTL_ALLOW_NETWORK_FS=1 lets a database only this host opens be used there")
            .format(path=path, fstype=fstype))


def resolve_db_url(value: str | None, *, allow_network_fs: bool = False) -> tuple[str, bool]:
    """(SQLAlchemy URL, whether it is the default location) for ``--db`` / ``CRMCTL_DB`` (read by
    ``crmctl.settings``); nothing given: ``crm.db`` in the user data folder.  A SQLite file on a
    network filesystem is refused unless ``allow_network_fs`` (``CRMCTL_ALLOW_NETWORK_FS=1``)."""
    raw = value or ""
    if not raw:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not allow_network_fs:
            check_local_filesystem(path)
        return f"sqlite:///{path}", True
    if "://" in raw:
        from .rules.text import mask_secrets

        try:
            url = make_url(raw)
        except ArgumentError:
            raise InvalidInput(_("'{url}' is not a database URL (e.g. postgresql+psycopg://user@host/db)")
                               .format(url=mask_secrets(raw))) from None
        except ValueError:  # a port that is not a number
            raise InvalidInput(_("'{url}' is not a database URL: the port must be a number "
                                 "(e.g. postgresql+psycopg://user@host:5432/db)").format(url=mask_secrets(raw))) from None
        if url.port is not None and not 0 < url.port < 65536:
            raise InvalidInput(_("'{url}' is not a database URL: the port must be 1 to 65535").format(url=mask_secrets(raw)))
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise InvalidInput(_("unsupported database '{backend}': use a file path or postgresql+psycopg://")
                               .format(backend=url.get_backend_name()))
        if (url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:"
                and not url.database.startswith("file:") and not allow_network_fs):
            check_local_filesystem(Path(url.database))
        return raw, False
    path = Path(raw).expanduser()
    if path.is_dir():
        raise InvalidInput(_("database path {path} is a folder, not a file").format(path=path))
    if not path.parent.exists():
        raise InvalidInput(_("database folder {folder} does not exist").format(folder=path.parent))
    if not allow_network_fs:
        check_local_filesystem(path)
    return f"sqlite:///{path.resolve()}", False


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, issue BEGIN (the documented recipe).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("crm_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _install_sqlite_hooks(engine)
        return engine
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise DatabaseError(_("{module} is not installed: pip install 'crmctl[postgres]'").format(module=exc.name)) from None
    if backend == "postgresql":
        _install_pg_hooks(engine)
    return engine


def _install_pg_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # crmctl reads every row of the cursors it streams (exports, reports): plan them for the whole
        # result, not for the first 10 % (PostgreSQL's default for cursors, which picks fast-start
        # nested loops that turn quadratic when a table's statistics are stale, e.g. after a load)
        cur = dbapi_conn.cursor()
        try:
            cur.execute("SET cursor_tuple_fraction = 1")
        finally:
            cur.close()
        dbapi_conn.commit()


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, or None for an empty database."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError) as exc:
        msg = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        if "alembic_version" in msg and ("no such table" in msg or "does not exist" in msg):
            return None
        if "file is not a database" in msg or "not a database" in msg:
            raise DatabaseError(_("{path} is not a crmctl database (not SQLite)").format(path=engine.url.database)) from None
        raise DatabaseError(_("cannot open the database: {problem}").format(problem=msg.splitlines()[0])) from None


def _alembic_config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def run_upgrade(engine: Engine, target: str = "head", *, have: str | None = None) -> None:
    """Migrate to ``target``.  PostgreSQL: as the owner role of the schema (``crmctl db roles``),
    which a member takes for the transaction; anyone else is refused (one line).  The grants and
    row-level security are then brought up to date for the new schema."""
    with engine.begin() as conn:
        _migrate(conn, target, have)


def _migrate(conn, target: str, have: str | None) -> None:
    from alembic import command

    postgres = conn.dialect.name == "postgresql"
    if postgres:
        from . import pg_security

        pg_security.take_owner_role(conn, have, HEAD)
        if have is not None and target == "head":  # two administrators upgrading at once: one migrates
            conn.exec_driver_sql("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
            if conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD:
                return
    command.upgrade(_alembic_config(conn), target)
    if postgres and target == "head":
        pg_security.reapply(conn)


#: a ``.partial`` file without a process id (older crmctl) or of a process that still seems to run is
#: left alone for this long before it counts as left over
STALE_PARTIAL_S = 86_400
_PARTIAL = re.compile(r"^(?P<base>.+)\.partial(?:-(?P<pid>\d+))?(?P<sfx>-journal|-wal|-shm)?$")


def partial_path(dest: Path) -> Path:
    """Where this process writes ``dest`` before moving it into place: ``dest.partial-PID`` (each
    process its own, so two copies made at once never write the same file)."""
    return dest.with_name(f"{dest.name}.partial-{os.getpid()}")


def _process_gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):  # another account's process, or an OS without signal 0
        return False
    return False


def clean_stale_partials(folder: Path, wanted) -> list[Path]:
    """Remove the ``.partial`` files (and their ``-journal``/``-wal``/``-shm``) in ``folder`` whose
    base name ``wanted(base)`` accepts and which a killed process left: named by a process that is
    gone, or without a process id (older crmctl) and not touched for a day.  Never a live process's."""
    removed = []
    now = time.time()
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _PARTIAL.match(name)
        if m is None or not wanted(m["base"]):
            continue
        path = folder / name
        try:
            old = now - path.stat().st_mtime > STALE_PARTIAL_S
        except OSError:
            continue
        if not (_process_gone(int(m["pid"])) if m["pid"] else old):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def backup_sqlite(src: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API), written atomically: to
    this process's ``.partial`` file first, then renamed.  Partial files left by killed copies of
    the same file are removed first."""
    if not dest.parent.exists():
        raise InvalidInput(_("backup folder {folder} does not exist").format(folder=dest.parent))
    if dest.exists() and dest.is_dir():
        raise InvalidInput(_("{path} is a folder").format(path=dest))
    stem = f"{src.name}.before-"
    clean_stale_partials(dest.parent, lambda base: base == dest.name
                         or (dest.parent == src.parent and base.startswith(stem)))
    tmp = partial_path(dest)
    journal = Path(f"{tmp}-journal")
    try:
        conn = sqlite3.connect(str(src), timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            target = sqlite3.connect(str(tmp))
            try:
                conn.backup(target)
            finally:
                target.close()
        finally:
            conn.close()
        os.chmod(tmp, PRIVATE_MODE)  # a copy of the data is as private as the data
        _same_group(tmp, dest if dest.exists() else src)
        os.replace(tmp, dest)
    except (sqlite3.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise DatabaseError(_("backup to {path} failed: {problem}").format(path=dest, problem=exc)) from None
    finally:
        journal.unlink(missing_ok=True)


class _Busy(Exception):
    pass


_SQLITE_OK, _SQLITE_BUSY, _SQLITE_LOCKED = 0, 5, 6  # sqlite3_backup_step()'s status, given to progress


def restore_sqlite(src: Path, dest: Path, keep: Path | None = None) -> None:
    """Copy the database file ``src`` over the live database ``dest`` holding ``dest``'s write lock
    from before the first page is written until the copy is committed: writers that are running are
    waited for (up to the busy timeout, then it is refused and nothing changed), new ones wait for the
    restore.  ``keep``: a copy of ``dest`` as it was, taken inside that lock, so every write that was
    acknowledged before the restore is in it."""
    started = time.monotonic()
    kept = False

    def step(status, _remaining, _total):
        nonlocal kept
        if status in (_SQLITE_BUSY, _SQLITE_LOCKED):
            if time.monotonic() - started > BUSY_TIMEOUT_MS / 1000:
                raise _Busy()
            return
        if keep is not None and not kept and status == _SQLITE_OK:
            # dest's write lock is ours (the first page is written, not committed): a reader sees the
            # last committed state, and no writer can commit until the restore has
            backup_sqlite(dest, keep)
            kept = True

    try:
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(str(dest), timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                target.execute("PRAGMA journal_mode = WAL")  # as crmctl opens it: readers go on reading
                source.backup(target, pages=1, progress=step)  # page by page: the lock is taken first
            finally:
                target.close()
        finally:
            source.close()
    except _Busy:
        raise DatabaseError(_("another crmctl kept writing to {path} for {seconds} s: nothing "
                              "was restored; try again when it is done").format(path=dest, seconds=BUSY_TIMEOUT_MS // 1000)) from None
    except sqlite3.Error as exc:
        raise DatabaseError(_("restore of {source} into {path} failed: {problem}").format(
            source=src, path=dest, problem=exc)) from None
    if keep is not None and not kept:  # pragma: no cover - a backup of one page is no crmctl database
        raise DatabaseError(_("restore of {source} into {path}: the current database could not be kept first")
                            .format(source=src, path=dest))


def create_private(path: Path) -> None:
    """A new, empty database file readable and writable by its owner and group only, whatever the
    umask (SQLite creates the -wal and -shm files with the same permissions)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE)
    try:
        if hasattr(os, "fchmod"):  # not on Windows
            os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)


def _same_group(path: Path, like: Path) -> None:
    """Give ``path`` the group of ``like`` (a team's shared database keeps its group when a backup is
    restored over it); left as it is where the user is not a member of that group or the OS has none."""
    if not hasattr(os, "chown"):  # pragma: no cover - Windows
        return
    try:
        gid = like.stat().st_gid
        if path.stat().st_gid != gid:
            os.chown(path, -1, gid)
    except OSError:
        pass


class Database:
    """An opened crmctl database: the engine and write/read units of work."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._writer = self.engine.execution_options(crm_write=True)
        self.path = sqlite_path(url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commit on success, roll back on any exception."""
        with Session(self._writer, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except DBAPIError as exc:
                session.rollback()
                _refusal(exc)
                raise
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        # Closing (not rolling back) ends the read transaction without expiring loaded objects.
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            except DBAPIError as exc:
                _refusal(exc)
                raise

    def set_role(self, role: str) -> None:
        """PostgreSQL: every connection takes ``role`` (``SET ROLE``), so the server applies that
        person's privileges and row-level security (the server refuses a role the user may not take)."""
        statement = f"SET ROLE {self.engine.dialect.identifier_preparer.quote(role)}"

        @event.listens_for(self.engine, "checkout")
        def _take_role(dbapi_conn, _record, _proxy):
            cur = dbapi_conn.cursor()
            try:
                cur.execute(statement)
            finally:
                cur.close()

        self.engine.dispose()  # connections made before take the role when they are made again

    def dispose(self) -> None:
        self.engine.dispose()


def _refusal(exc: DBAPIError) -> None:
    """PostgreSQL's refusal (privileges, row-level security, the triggers keeping the audit trail):
    a user-facing ``NotPermitted``; a duplicate refused by a unique index, or a transaction the server
    ended because another one changed the same rows (deadlock, serialisation): a ``RuleViolation``
    (typically two crmctl writing the same thing at the same moment); anything else is left as it is."""
    from .pg_security import refused

    message = refused(exc)
    if message is not None:
        raise NotPermitted(_("the database server refused: {message}").format(message=message)) from None
    conflict = _conflict(exc)
    if conflict is not None:
        raise RuleViolation(conflict) from None


def _conflict(exc: DBAPIError) -> str | None:
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    if state in ("40P01", "40001"):
        return _("another crmctl changed the same records at the same moment and the database stopped this "
                 "command; nothing was written: run it again")
    first = (str(orig).strip().splitlines() or [""])[0] if orig is not None else ""
    if state == "23505" or first.startswith("UNIQUE constraint failed"):
        diag = getattr(orig, "diag", None)
        what = (getattr(diag, "message_detail", None) or first).strip().rstrip(".")
        return _("the database refused a duplicate ({what}): another crmctl wrote the same at the same "
                 "moment, or it exists already; nothing was written").format(what=what[:200])
    return None


def _check_exists(url: str, create: bool) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    if not create and not path.exists():
        raise NotFound(_("no database at {path}: run 'crmctl init --policy NAME' first (or pass --db)").format(path=path))


def open_database(url: str, *, create: bool = False, upgrade: bool = True) -> Database:
    """Open (or, with ``create``, initialise) a database and make sure its schema is current: an older
    SQLite file is backed up and upgraded; an older PostgreSQL database is refused (``crmctl db
    upgrade``, an administrator's act, shows the migrations and asks first); a newer one is refused."""
    _check_exists(url, create)
    db = Database(url)
    rev = current_revision(db.engine)
    if create:
        if rev is not None:
            where = db.path or make_url(url).render_as_string(hide_password=True)
            raise DatabaseError(_("{where} already holds a crmctl database; choose another --db").format(where=where))
        run_upgrade(db.engine)
        return db
    if rev is None:
        raise DatabaseError(_("{where} is not a crmctl database: run 'crmctl init' first").format(
            where=db.path or make_url(url).render_as_string(hide_password=True)))
    if rev == HEAD:
        return db
    if rev not in REVISIONS:
        raise DatabaseError(
            _("the database schema ({revision}) is newer than this crmctl knows ({head}): upgrade crmctl")
            .format(revision=rev, head=HEAD)
        )
    if not db.is_sqlite:  # a shared server database: upgraded by an administrator, who is shown what changes
        db.dispose()
        raise DatabaseError(_("the database schema is at {revision}, this crmctl needs {head}: ask an administrator "
                              "to run 'crmctl db upgrade' (a PostgreSQL database is not upgraded on opening)")
                            .format(revision=rev, head=HEAD))
    if upgrade:
        upgrade_with_backup(db, rev)
        return db
    raise DatabaseError(_("the database schema ({revision}) is out of date: run 'crmctl db upgrade'").format(revision=rev))


#: how long a process opening an older database waits for another one that is upgrading it
MIGRATION_WAIT_S = 600


def upgrade_with_backup(db: Database, rev: str) -> Path | None:
    """Back up an older database, then migrate it to HEAD.  Returns the backup path (SQLite; None when
    another process upgraded it meanwhile).

    SQLite: the write lock is taken first (``BEGIN IMMEDIATE``), the revision read again under it, the
    backup made while it is held and the migration run in the same transaction: of
    several processes opening the old file at once one migrates, the others wait for it (up to
    ``MIGRATION_WAIT_S``) and find the schema current."""
    if db.path is None:
        run_upgrade(db.engine, have=rev)
        return None
    deadline = time.monotonic() + MIGRATION_WAIT_S
    while True:
        conn = None
        try:
            conn = db._writer.connect()
            with conn.begin():  # BEGIN IMMEDIATE (crm_write): waits up to the busy timeout
                have = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if have == HEAD:
                    return None
                if have not in REVISIONS:
                    raise DatabaseError(
                        _("the database schema ({revision}) is newer than this crmctl knows ({head}): upgrade crmctl")
                        .format(revision=have, head=HEAD))
                stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
                backup = db.path.with_name(f"{db.path.name}.before-{have}-{stamp}.bak")
                backup_sqlite(db.path, backup)  # a reader beside the lock: what it protects, nobody can change it
                _migrate(conn, "head", have)
                return backup
        except OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise DatabaseError(_("{path} is being upgraded by another crmctl for more than "
                                      "{minutes} min; try again later").format(path=db.path,
                                                                              minutes=MIGRATION_WAIT_S // 60)) from None
        finally:
            if conn is not None:
                conn.close()


def audit_problem(connection) -> tuple[str | None, int, str]:
    """``(problem or None, entries, head)``: the audit trail walked in id order against its hash chain
    and the chain's head (``crmctl.rules.audit_chain``)."""
    from .rules import audit_chain as chain

    head_row = connection.execute(text("SELECT last_hash, entries FROM audit_chain WHERE id = 1")).first()
    head, counted = (head_row[0], head_row[1]) if head_row else (chain.GENESIS, 0)
    if connection.dialect.name == "postgresql":  # row-level security may hide entries from this session
        from .pg_security import audit_hidden

        hidden = audit_hidden(connection)
        if hidden:
            return text_of(hidden), 0, head
    cols = ", ".join(("id", "hash") + chain.CONTENT)
    n = 0

    def entries():
        nonlocal n
        last = 0
        while True:
            rows = connection.execute(text(f"SELECT {cols} FROM audit_log WHERE id > :last ORDER BY id LIMIT 5000"),
                                      {"last": last}).mappings().all()
            if not rows:
                return
            n += len(rows)
            yield from rows
            last = rows[-1]["id"]

    broken = chain.first_break(entries(), head)
    if broken is None:
        if counted is not None and counted != n:
            return (_("audit trail: the chain's head counts {counted} entries but the trail holds {n}: entries were "
                      "removed or added outside crmctl").format(counted=counted, n=n)), n, head
        return None, n, head
    entry_id, why = broken
    if entry_id is None:
        return _("audit trail: {problem}").format(problem=text_of(why)), n, head
    return _("audit entry {entry} does not chain: {problem}").format(
        entry=_audit_entry_label(connection, entry_id), problem=text_of(why)), n, head


def _audit_entry_label(connection, entry_id: int) -> str:
    """``7 (customer.edit by sales01, 2026-11-22 02:00:00 UTC)``: an entry as ``db check`` names it."""
    from .rules import audit_chain as chain

    row = connection.execute(text("SELECT action, actor, at FROM audit_log WHERE id = :i"), {"i": entry_id}).first()
    if row is None:
        return str(entry_id)
    at = chain.utc_text(row[2])
    at = at[:19].replace("T", " ") + " UTC" if isinstance(at, str) else str(at)
    return _("{id} ({action} by {actor}, {at})").format(id=entry_id, action=row[0], actor=row[1], at=at)


def integrity_problems(db: Database) -> list[str]:
    """What ``db check`` reports: SQLite integrity and foreign keys, the schema revision, and the audit
    trail's hash chain."""
    problems: list[str] = []
    rev = current_revision(db.engine)
    if rev != HEAD:
        problems.append(_("schema revision {revision} is not the current {head}").format(revision=rev, head=HEAD))
    else:
        with db.engine.connect() as conn:
            problem, _n, _head = audit_problem(conn)
        if problem:
            problems.append(problem)
    if db.is_sqlite:
        with db.engine.connect() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
            if rows != ["ok"]:
                problems.extend(_("integrity: {problem}").format(problem=r) for r in rows)
            for row in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
                problems.append(_("foreign key: table {table} row {row} points to a missing {parent}").format(
                    table=row[0], row=row[1], parent=row[2]))
    return problems


# --------------------------------------------------------------------------------------------------
# SQL the two back ends spell differently


#: values per ``IN (...)`` list when a set of ids is looked up in chunks: well below SQLite's limit of
#: 32 766 parameters and PostgreSQL's 65 535, so that the statements of a command do not grow with
#: the number of customers below that size.
IN_CHUNK = 10_000


def marker(conn) -> str:
    """The driver's positional parameter marker: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    style = conn.dialect.paramstyle
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise RuntimeError(f"unsupported paramstyle {style}")  # pragma: no cover - no supported driver


def insert_sql(conn, table: str, columns: tuple[str, ...] | list[str], *, values: str | None = None,
               suffix: str = "") -> str:
    """A plain ``INSERT`` for ``executemany`` through the driver (bulk writes without per-row ORM
    work).  ``values``: the VALUES list when some are written into the statement; else one marker
    per column."""
    mark = marker(conn)
    vals = values if values is not None else ", ".join([mark] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({vals}){suffix}"


def copy_supported(conn) -> bool:
    """Whether rows can be streamed with ``COPY … FROM STDIN`` (PostgreSQL through psycopg 3)."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


class CopyIn:
    """``COPY table (columns) FROM STDIN`` on the unit of work's connection, in its transaction:
    ``write_row`` a tuple at a time (psycopg adapts the values), then ``close`` (or ``abort``)."""

    def __init__(self, conn, table: str, columns: tuple[str, ...]):
        cursor = conn.connection.dbapi_connection.cursor()
        self._context = cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN")
        self.write_row = self._context.__enter__().write_row
        self.failed = False

    def close(self) -> None:
        self._context.__exit__(None, None, None)

    def abort(self) -> None:
        """Abandon the copy (the server then refuses the transaction, which is rolled back)."""
        self.failed = True
        try:
            self._context.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
        except Exception:  # noqa: BLE001 - the server's answer to the abandoned copy
            pass


#: rows per ``executemany`` call of :func:`bulk_insert` (SQLite's driver steps them one by one anyway)
BULK_CHUNK = 10_000
_scratch = iter(range(1, 1 << 62))


def _scratch_table(conn, table: str, columns: tuple[str, ...]) -> str:
    """PostgreSQL: an empty temporary table with ``columns`` of ``table`` (same types, no
    constraints), dropped at the end of the transaction at the latest."""
    name = f"crm_bulk_{next(_scratch)}"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS SELECT {', '.join(columns)} "
                         f"FROM {table} WITH NO DATA")
    return name


def _copy_into(conn, name: str, columns: tuple[str, ...], rows) -> None:
    copy = CopyIn(conn, name, columns)
    try:
        write = copy.write_row
        for row in rows:
            write(row)
    except BaseException:
        copy.abort()
        raise
    copy.close()


def _rows_or_none(rows: Iterable[tuple]) -> Iterator[tuple] | None:
    """``rows`` as an iterator, or None when there are none (a generator is not consumed)."""
    it = iter(rows)
    first = next(it, None)
    return None if first is None else itertools.chain((first,), it)


def _chunks(rows: Iterator[tuple]) -> Iterator[list[tuple]]:
    while True:
        part = list(itertools.islice(rows, BULK_CHUNK))
        if not part:
            return
        yield part


def bulk_insert(conn, table: str, columns: tuple[str, ...], rows: Iterable[tuple], *,
                constants: dict[str, str] | None = None, suffix: str = "") -> None:
    """``INSERT INTO table (columns…, constants…) … suffix`` of many rows in the current transaction.
    ``constants``: column -> SQL literal, the same on every row (validated codes only).  ``suffix``:
    e.g. an ``ON CONFLICT`` clause.  SQLite: the driver's ``executemany`` in chunks (it steps every
    row in C); PostgreSQL with psycopg: the rows streamed with ``COPY`` into a temporary table, then
    one ``INSERT … SELECT`` (a round trip per statement instead of pipelined single-row inserts).
    ``rows`` may be a generator: it is read once, a chunk at a time."""
    rows = _rows_or_none(rows)
    if rows is None:
        return
    constants = constants or {}
    all_cols = ", ".join((*constants, *columns))
    if not copy_supported(conn):
        mark = marker(conn)
        values = ", ".join([*constants.values(), *[mark] * len(columns)])
        sql = f"INSERT INTO {table} ({all_cols}) VALUES ({values}){(' ' + suffix) if suffix else ''}"
        for part in _chunks(rows):
            conn.exec_driver_sql(sql, part)
        return
    name = _scratch_table(conn, table, columns)
    _copy_into(conn, name, columns, rows)
    select_list = ", ".join((*constants.values(), *columns))
    conn.exec_driver_sql(f"INSERT INTO {table} ({all_cols}) SELECT {select_list} FROM {name}"
                         f"{(' ' + suffix) if suffix else ''}")
    conn.exec_driver_sql(f"DROP TABLE {name}")


def bulk_update(conn, table: str, columns: tuple[str, ...], keys: tuple[str, ...], rows: Iterable[tuple], *,
                constants: dict[str, str] | None = None, where: str = "") -> None:
    """``UPDATE table SET columns…, constants… WHERE keys…`` of many rows; each row holds the new
    values, then the keys.  ``where``: a further condition on the table's constant columns (SQL
    text of validated codes).  SQLite: ``executemany``; PostgreSQL: ``COPY`` into a temporary
    table, then one ``UPDATE … FROM``."""
    rows = _rows_or_none(rows)
    if rows is None:
        return
    constants = constants or {}
    extra = f" AND {where}" if where else ""
    if not copy_supported(conn):
        mark = marker(conn)
        sets = ", ".join([*(f"{c} = {mark}" for c in columns), *(f"{c} = {v}" for c, v in constants.items())])
        sql = f"UPDATE {table} SET {sets} WHERE {' AND '.join(f'{k} = {mark}' for k in keys)}{extra}"
        for part in _chunks(rows):
            conn.exec_driver_sql(sql, part)
        return
    name = _scratch_table(conn, table, (*columns, *keys))
    _copy_into(conn, name, (*columns, *keys), rows)
    sets = ", ".join([*(f"{c} = n.{c}" for c in columns), *(f"{c} = {v}" for c, v in constants.items())])
    conn.exec_driver_sql(f"UPDATE {table} SET {sets} FROM {name} n WHERE "
                         f"{' AND '.join(f'{table}.{k} = n.{k}' for k in keys)}{extra}")
    conn.exec_driver_sql(f"DROP TABLE {name}")


def raw(session, sql: str, *params, stream: bool = False):
    """The driver cursor of a statement on the unit of work's connection, for bulk reads: plain
    tuples, no per-row wrapping.  ``sql`` is written with ``?`` markers.  It runs through
    SQLAlchemy's ``exec_driver_sql``, so statement events (and the statement-count tests) see it.
    ``stream``: rows come from the server as they are fetched (PostgreSQL: a server-side cursor;
    SQLite's cursor always steps), not all held by the driver first."""
    conn = session.connection()
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", marker(conn))
    if stream and conn.dialect.name != "sqlite":
        return _Streamed(conn.exec_driver_sql(sql, tuple(params), execution_options={"stream_results": True}))
    return conn.exec_driver_sql(sql, tuple(params)).cursor


class _Streamed:
    """A server-side cursor's rows as plain tuples, ``fetchmany`` only.  SQLAlchemy reads the first
    row ahead into its own buffer: the first part is taken through the result (which empties that
    buffer), the rest straight from the driver's cursor."""

    def __init__(self, result):
        self._result, self._first, self._done = result, True, False

    def fetchmany(self, size: int) -> list:
        if self._done:
            return []
        if self._first:
            self._first = False
            rows = [tuple(row) for row in self._result.fetchmany(max(size, 1))]
            self._done = len(rows) < max(size, 1)  # all there is (SQLAlchemy may have closed the cursor)
            return rows
        return self._result.cursor.fetchmany(size)


def driver_value(conn, type_, value):
    """``value`` as the driver expects it for a column of ``type_`` (e.g. SQLite's ISO date text)."""
    proc = type_.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return proc(value) if proc is not None else value



def json_value(column, key: str):
    """The value at ``key`` of a JSON object column, as the JSON holds it: text, whole or decimal
    number exactly as stored (no cast: 99 stays 99, 99.0 stays 99.0), None when absent.  Booleans
    come back as 1/0 from SQLite and as True/False from PostgreSQL (the caller knows which keys are
    yes/no fields).  For exports that read many keys of many rows."""
    from sqlalchemy import literal

    return _JsonValue(column, literal(f'$."{key}"'), literal(key))  # SQLite's path, PostgreSQL's key


def _json_value_construct():
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql.functions import FunctionElement
    from sqlalchemy.types import NullType

    class JsonValue(FunctionElement):
        type = NullType()  # no result processing: the driver's value as it comes
        inherit_cache = True
        name = "json_value"

    @compiles(JsonValue)
    def _sqlite(element, compiler, **kw):  # SQLite (and the default)
        column, path, _key = list(element.clauses)
        return f"JSON_EXTRACT({compiler.process(column, **kw)}, {compiler.process(path, **kw)})"

    @compiles(JsonValue, "postgresql")
    def _postgresql(element, compiler, **kw):  # json -> text: psycopg decodes the JSON scalar
        column, _path, key = list(element.clauses)
        return f"({compiler.process(column, **kw)} -> CAST({compiler.process(key, **kw)} AS TEXT))"

    class JsonText(FunctionElement):
        type = NullType()
        inherit_cache = True
        name = "json_text"

    @compiles(JsonText)
    def _sqlite_text(element, compiler, **kw):  # SQLite's JSON_EXTRACT gives a string value as text
        column, path, _key = list(element.clauses)
        return f"JSON_EXTRACT({compiler.process(column, **kw)}, {compiler.process(path, **kw)})"

    @compiles(JsonText, "postgresql")
    def _postgresql_text(element, compiler, **kw):  # the text of the value: no JSON decoding
        column, _path, key = list(element.clauses)
        return f"({compiler.process(column, **kw)} ->> CAST({compiler.process(key, **kw)} AS TEXT))"

    return JsonValue, JsonText


_JsonValue, _JsonText = _json_value_construct()


def json_text(column, key: str):
    """The value at ``key`` of a JSON object column as text, for values that are strings (segment
    codes, text fields): the same as :func:`json_value` on SQLite, ``->>`` on PostgreSQL."""
    from sqlalchemy import literal

    return _JsonText(column, literal(f'$."{key}"'), literal(key))


# --------------------------------------------------------------------------------------------------
# Streaming large results, and values as the driver gives them


def stream_chunks(session, query, size: int):
    """Run a Core query on the unit of work's connection (no ORM layer) and yield chunks of rows;
    streamed (server-side cursor on PostgreSQL)."""
    result = session.connection().execute(query.execution_options(stream_results=True, yield_per=size))
    try:
        yield from result.partitions(size)
    finally:
        result.close()


def copy_chunks(session, query, size: int):
    """PostgreSQL (psycopg): the rows of a Core query as tuples of text (None for NULL) through
    ``COPY (query) TO STDOUT``: streamed in constant memory, and planned as a plain query (a
    server-side cursor's plan may not use parallel workers: twice as slow for a whole export).  COPY
    takes no parameters: SQLAlchemy writes them into the statement as literals, each by its type
    (a type it cannot write as a literal is refused at compile time, never bound unconverted)."""
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    dbapi = connection.connection.dbapi_connection
    with dbapi.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
        part: list[tuple] = []
        for row in copy.rows():
            part.append(row)
            if len(part) >= size:
                yield part
                part = []
        if part:
            yield part


def raw_chunks(session, query, size: int):
    """Like :func:`stream_chunks`, but where the driver's own cursor streams (SQLite steps rows as
    they are fetched) the chunks are its plain tuples, without SQLAlchemy's row objects and result
    types; the caller takes values as the driver gives them (SQLite: 1/0 for booleans, ISO text for
    date-times).  Elsewhere (PostgreSQL's client-side cursor would hold the whole result) it is
    :func:`stream_chunks`."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield from stream_chunks(session, query, size)
        return
    result = connection.execute(query)  # no yield_per: SQLAlchemy fetches nothing ahead of us
    try:
        fetch = result.cursor.fetchmany
        while True:
            rows = fetch(size)
            if not rows:
                break
            yield rows
    finally:
        result.close()
