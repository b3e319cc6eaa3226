"""Shared fixtures: every test runs with its own user folder, clock and database (never real data).

Set ``CRMCTL_TEST_PG=postgresql+psycopg://postgres@127.0.0.1/test`` (or pass ``--pg URL``) to run
the database tests against PostgreSQL: each test then gets a schema of its own, dropped afterwards.
Tests marked ``sqlite_only`` (file backups, raw sqlite3 checks) are skipped there.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

NOW = "2026-11-22T10:00:00"


def pytest_addoption(parser):
    parser.addoption("--pg", default=None, metavar="URL",
                     help="run database tests against this PostgreSQL URL (default: $CRMCTL_TEST_PG)")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: the test checks SQLite files directly")


def pg_url(config) -> str | None:
    return config.getoption("--pg") or os.environ.get("CRMCTL_TEST_PG") or None


def pytest_collection_modifyitems(config, items):
    if not pg_url(config):
        return
    skip = pytest.mark.skip(reason="SQLite-only test (PostgreSQL run)")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pg_server(pytestconfig):
    """The PostgreSQL URL for this run, checked once; None on a SQLite run."""
    url = pg_url(pytestconfig)
    if not url:
        return None
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url)
        with engine.connect() as c:
            c.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to test against
        pytest.skip(f"PostgreSQL at {url} is not reachable: {str(exc).splitlines()[0]}")
    return url


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One user cache folder for the run (the validated-policy cache), outside each test's tmp_path."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch, shared_cache):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    # English unless a test chooses (the machine's locale and the built-in policies' `language = "zh"`
    # must not change the suite's expected words)
    monkeypatch.setenv("CRMCTL_LANG", "en")
    for var in ("CRMCTL_DB", "CRMCTL_USER", "CRMCTL_DEBUG", "CRMCTL_ALLOW_NETWORK_FS", "CRMCTL_BOM", "CRMCTL_ENCODING",
                "CRMCTL_NOTIFY_WEBHOOK", "CRMCTL_NOTIFY_SECRET", "CRMCTL_NOTIFY_KIND"):
        monkeypatch.delenv(var, raising=False)
    # never the machine's configuration files (issue 19): a test writes its own
    monkeypatch.setenv("CRMCTL_CONFIG", str(tmp_path / "config" / "user.toml"))
    monkeypatch.setenv("CRMCTL_SYSTEM_CONFIG", str(tmp_path / "config" / "system.toml"))
    from crmctl import i18n
    from crmctl.rules import calendar

    calendar.reset_fallback_warnings()
    i18n.reset()  # a --lang zh of an earlier test (same process) must not choose this test's language
    yield


class Cli:
    """Runs crmctl in-process through Typer's CliRunner against one database file."""

    def __init__(self, db, actor: str = "admin"):
        self.db = db
        self.actor = actor
        self.runner = CliRunner()

    def __call__(self, *args: str, actor: str | None = None, input: str | None = None, env: dict | None = None):
        from crmctl.cli import app

        argv = ["--db", str(self.db)]
        who = actor if actor is not None else self.actor
        if who:
            argv += ["--as", who]
        return self.runner.invoke(app, argv + [str(a) for a in args], input=input, env=env)

    def ok(self, *args: str, **kw) -> str:
        r = self(*args, **kw)
        assert r.exit_code == 0, f"exit {r.exit_code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
        return r.stdout

    def refused(self, *args: str, match: str | None = None, **kw):
        """The contract for a refusal: exit 1, one Error: line, no traceback, no change to the data --
        in both languages: the same command is run again with ``--lang zh`` and must give one
        ``错误:`` line in Chinese, exit 1, no change (issue 17: every user mistake in the suite gives
        its error in both languages)."""
        before = fingerprint(self.db)
        r = self(*args, **kw)
        assert_refused(r, match)
        assert fingerprint(self.db) == before, "a refused command changed the database"
        if "--lang" not in args:
            zh = self("--lang", "zh", *args, **kw)
            assert_refused(zh, prefix="错误:")
            assert fingerprint(self.db) == before, "a refused command changed the database (in Chinese)"
            assert_translated(r.stderr, zh.stderr)
        return r

    def refused_zh(self, *args: str, match: str | None = None, **kw):
        """The refusal contract in Chinese (``--lang zh``): one ``错误:`` line, exit 1, no change."""
        before = fingerprint(self.db)
        r = self("--lang", "zh", *args, **kw) if "--lang" not in args else self(*args, **kw)
        assert_refused(r, match, prefix="错误:")
        assert fingerprint(self.db) == before, "a refused command changed the database"
        return r


def leaf_commands() -> dict[str, object]:
    """Every command of the Typer app (groups loaded), by its words ("customer list") -> Click command."""
    import typer.main

    from crmctl.cli import COMMANDS, GROUPS, app, load_group

    for name in (*GROUPS, *COMMANDS):
        load_group(name)
    out: dict[str, object] = {}

    def walk(cmd, path):
        if hasattr(cmd, "list_commands"):
            ctx = cmd.context_class(cmd)
            for n in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, n), [*path, n])
        else:
            out[" ".join(path)] = cmd

    walk(typer.main.get_command(app), [])
    return out


def count_statements(app, job) -> int:
    """How many statements ``job()`` sends through the app's engine (SQLAlchemy's and the driver-level
    ones: ``before_cursor_execute``)."""
    from sqlalchemy import event

    n = 0

    def seen(*_args):
        nonlocal n
        n += 1

    event.listen(app.db.engine, "before_cursor_execute", seen)
    try:
        job()
    finally:
        event.remove(app.db.engine, "before_cursor_execute", seen)
    return n


def assert_refused(r, match: str | None = None, prefix: str = "Error:") -> None:
    """One ``prefix`` line first on stderr (``错误:`` in Chinese), exit 1, no traceback."""
    err = r.stderr
    assert r.exit_code == 1, f"exit {r.exit_code} (wanted 1)\nstdout: {r.stdout}\nstderr: {err}"
    assert "Traceback" not in err + r.stdout
    lines = [ln for ln in err.splitlines() if ln.startswith(prefix)]
    assert len(lines) == 1, f"wanted one {prefix} line, got: {err!r}"
    assert err.startswith(prefix), err
    if match:
        assert match.lower() in lines[0].lower(), f"{match!r} not in {lines[0]!r}"


def _words(line: str) -> list[str]:
    """The English words of an error line (quoted values, options, paths and codes left out)."""
    line = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`|--?[\w-]+|\S*[/\\.]\S*|\{[^}]*\}", " ", line)
    return [w for w in re.findall(r"[A-Za-z]{3,}", line) if not w.isupper()]


def assert_translated(english: str, chinese: str) -> None:
    """The Chinese refusal is not the English one: its first line has Chinese words where the English
    has words of its own (``错误: no customer 'X'`` fails)."""
    en = next(ln for ln in english.splitlines() if ln.startswith("Error:"))[len("Error:"):].strip()
    zh = next(ln for ln in chinese.splitlines() if ln.startswith("错误:"))[len("错误:"):].strip()
    if _words(en):
        assert re.search(r"[\u4e00-\u9fff]", re.sub(r"'[^']*'", "", zh)) and zh != en, (
            f"not translated: {en!r} -> {zh!r}")


def fingerprint(db) -> str | None:
    """A digest of every row of every table (None when there is no SQLite file)."""
    if isinstance(db, str) and "://" in db:
        return _pg_fingerprint(db)
    if not Path(db).exists():
        return None
    conn = sqlite3.connect(str(db))
    try:
        h = hashlib.sha256()
        for line in conn.iterdump():
            h.update(line.encode())
        return h.hexdigest()
    finally:
        conn.close()


def execute_sql(db, sql: str, params: dict | None = None) -> None:
    """Run one statement against the test database (SQLite file or PostgreSQL URL) and commit."""
    from sqlalchemy import create_engine, text

    url = db if isinstance(db, str) and "://" in db else f"sqlite:///{db}"
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text(sql), params or {})
    finally:
        engine.dispose()


def _pg_fingerprint(url: str) -> str:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    h = hashlib.sha256()
    try:
        with engine.connect() as c:
            for table in sorted(inspect(c).get_table_names()):
                h.update(table.encode())
                for row in c.execute(text(f'select * from "{table}" order by 1')):
                    h.update(repr(tuple(row)).encode())
    finally:
        engine.dispose()
    return h.hexdigest()


@pytest.fixture
def db_path(tmp_path, pg_server):
    """Where the test's database lives: a SQLite file, or a fresh PostgreSQL schema on a --pg run."""
    if not pg_server:
        yield tmp_path / "crm.db"
        return
    yield from _pg_schema(pg_server)


def _pg_schema(server: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'create schema "{schema}"'))
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


def drop_pg_roles(server: str, roles: list[str]) -> None:
    """Drop the cluster-wide login/group roles a test made (what they own goes to the caller first)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            for role in roles:
                if c.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is None:
                    continue
                c.exec_driver_sql(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
                c.exec_driver_sql(f'DROP OWNED BY "{role}"')
                c.exec_driver_sql(f'DROP ROLE "{role}"')
    finally:
        engine.dispose()


# Initialised databases to copy from, one per (policy, CRMCTL_NOW): running `init` through the four
# migrations costs ~0.3 s, copying the file a millisecond.  (A PostgreSQL run initialises each schema.)
_TEMPLATES: dict[tuple[str, str | None], Path] = {}
_TEMPLATE_DIR: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _template_dir(tmp_path_factory):
    _TEMPLATE_DIR.append(tmp_path_factory.mktemp("templates"))
    yield
    _TEMPLATE_DIR.clear()
    _TEMPLATES.clear()


def _init(db_path, policy: str) -> Cli:
    """A database initialised with ``policy`` and the administrator ``admin`` (as `crmctl init` makes it)."""
    if not isinstance(db_path, Path) or not _TEMPLATE_DIR:
        cli = Cli(db_path)
        cli.ok("init", "--policy", policy, "--admin", "admin", actor="")
        return cli
    key = (policy, os.environ.get("CRMCTL_NOW"))
    template = _TEMPLATES.get(key)
    if template is None:
        template = _TEMPLATE_DIR[0] / f"{policy}-{len(_TEMPLATES)}.db"
        Cli(template).ok("init", "--policy", policy, "--admin", "admin", actor="")
        _TEMPLATES[key] = template
    for suffix in ("", "-wal"):
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", f"{db_path}{suffix}")
            os.chmod(f"{db_path}{suffix}", 0o660)  # as init makes it (no world-readable warning)
    return Cli(db_path)


@pytest.fixture
def petrochem(db_path) -> Cli:
    return _init(db_path, "petrochem")


@pytest.fixture
def fuel(db_path) -> Cli:
    return _init(db_path, "fuel-retail")


@pytest.fixture
def make_cli(tmp_path, pg_server):
    """Initialise a database with a policy (a SQLite file, or a PostgreSQL schema on a --pg run)."""
    cleanups = []

    def make(policy: str, name: str = "crm.db") -> Cli:
        if not pg_server:
            return _init(tmp_path / name, policy)
        gen = _pg_schema(pg_server)
        cleanups.append(gen)
        return _init(next(gen), policy)

    yield make
    for gen in cleanups:
        for _ in gen:
            pass
