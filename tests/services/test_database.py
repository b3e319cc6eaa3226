"""Services: the database layer — migrations on open with a backup, no Alembic when current, pragmas."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import text

from crmctl import migrations
from crmctl.db import Database, current_revision, open_database, run_upgrade
from crmctl.errors import DatabaseError, InvalidInput, NotFound
from crmctl.services.app import Settings, open_app
from crmctl.services.policy import init_database


pytestmark = pytest.mark.sqlite_only


def test_sqlite_pragmas(tmp_path):
    init_database(Settings(db=str(tmp_path / "a.db"), actor="admin"), "petrochem", "admin", None)
    db = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    with db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()


def test_write_unit_rolls_back_on_error(tmp_path):
    init_database(Settings(db=str(tmp_path / "a.db"), actor="admin"), "petrochem", "admin", None)
    app = open_app(Settings(db=str(tmp_path / "a.db"), actor="admin"))
    with pytest.raises(RuntimeError):
        with app.db.write() as s:
            s.execute(text("update staff set name = 'changed'"))
            raise RuntimeError("boom")
    with app.db.read() as s:
        assert s.execute(text("select name from staff")).scalar() == "admin"
    app.close()


def test_opening_a_current_database_does_not_import_alembic(tmp_path):
    init_database(Settings(db=str(tmp_path / "a.db"), actor="admin"), "petrochem", "admin", None)
    code = ("import sys; from crmctl.services.app import Settings, open_app; "
            f"a = open_app(Settings(db={str(tmp_path / 'a.db')!r}, actor='admin')); "
            "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_older_schema_upgraded_after_backup(tmp_path):
    if len(migrations.REVISIONS) < 2:
        pytest.skip("one revision only")
    path = tmp_path / "old.db"
    db = Database(f"sqlite:///{path}")
    run_upgrade(db.engine, migrations.REVISIONS[0])
    with db.engine.begin() as c:
        c.execute(text("insert into staff(login, name, active, is_admin, created_at) values ('x', 'X', 1, 1, '2026-01-01')"))
        c.execute(text("insert into policy_version(version, code, source, text, sha256, applied_at, applied_by) "
                       "values (1, 'petrochem', 'petrochem', :t, 'h', '2026-01-01', 'x')"),
                  {"t": __import__("crmctl.policies", fromlist=["x"]).read_policy_source("petrochem")[0]})
    db.dispose()
    db = open_database(f"sqlite:///{path}")
    assert current_revision(db.engine) == migrations.HEAD
    with db.engine.connect() as c:
        assert c.execute(text("select login from staff")).scalar() == "x"
    db.dispose()
    backups = list(tmp_path.glob("old.db.before-*.bak"))
    assert len(backups) == 1
    conn = sqlite3.connect(backups[0])
    assert conn.execute("select version_num from alembic_version").fetchone()[0] == migrations.REVISIONS[0]
    conn.close()


def test_resolve_paths(tmp_path):
    from crmctl.db import resolve_db_url

    with pytest.raises(InvalidInput, match="does not exist"):
        resolve_db_url(str(tmp_path / "missing" / "x.db"))
    with pytest.raises(InvalidInput, match="folder"):
        resolve_db_url(str(tmp_path))
    with pytest.raises(InvalidInput, match="unsupported"):
        resolve_db_url("mysql://x/y")
    assert resolve_db_url("postgresql+psycopg://u@h/db")[0].startswith("postgresql")


def test_missing_database_is_not_created(tmp_path):
    with pytest.raises(NotFound):
        open_database(f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()


def test_empty_file_is_not_a_crmctl_database(tmp_path):
    p = tmp_path / "empty.db"
    sqlite3.connect(p).close()
    with pytest.raises(DatabaseError, match="not a crmctl database"):
        open_database(f"sqlite:///{p}")
