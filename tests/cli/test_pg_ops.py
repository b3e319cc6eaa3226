"""PostgreSQL upkeep (issue 19): a shared database's schema is upgraded by an administrator's
``db upgrade`` (shown, confirmed), never on opening; ``db backup`` runs ``pg_dump``.  Run with
``CRMCTL_TEST_PG`` (each test in its own schema); skipped on a SQLite run."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from crmctl.migrations import HEAD
from tests.conftest import Cli, execute_sql, fingerprint


@pytest.fixture
def pg(make_cli, pg_server) -> Cli:
    if not pg_server:
        pytest.skip("PostgreSQL tests: set CRMCTL_TEST_PG")
    return make_cli("petrochem")


def _downgrade(url: str, rev: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from crmctl.db import _alembic_config

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), rev)
    finally:
        engine.dispose()


def _revision(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return c.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_an_older_schema_is_refused_until_an_administrator_upgrades(pg: Cli, monkeypatch):
    pg.ok("customer", "add", "--name", "甲公司", "-s", "product_line=polyolefin", "-s", "channel=distributor",
          "-s", "sales_form=auction")
    _downgrade(pg.db, "0007")
    r = pg.refused("customer", "list", match=f"the database schema is at 0007, this crmctl needs {HEAD}")
    assert "crmctl db upgrade" in r.stderr
    assert _revision(pg.db) == "0007"  # opening did not upgrade it
    # not at a terminal: --yes, or nothing
    pg.refused("db", "upgrade", match="pass --yes")
    # at a terminal: what changes, the pg_dump to run first, and a question (no: nothing changes)
    import crmctl.commands.db as db_command

    monkeypatch.setattr(db_command, "_stdin_is_terminal", lambda: True)
    r = pg("db", "upgrade", input="n\n")
    assert r.exit_code == 1 and r.stderr.startswith("Error: not upgraded"), r.stderr
    assert "0008  calendar_year" in r.stdout and "0009  name_key" in r.stdout and "0007  " not in r.stdout
    assert "pg_dump --format=custom" in r.stdout and "crmctl db backup" in r.stdout
    assert _revision(pg.db) == "0007"
    r = pg("db", "upgrade", input="y\n")
    assert r.exit_code == 0 and f"upgraded 0007 -> {HEAD}" in r.stdout, r.stdout + r.stderr
    assert "C000001" in pg.ok("customer", "list")
    assert "current" in pg.ok("db", "upgrade")
    # a script: --yes
    _downgrade(pg.db, "0008")
    monkeypatch.setattr(db_command, "_stdin_is_terminal", lambda: False)
    out = pg.ok("db", "upgrade", "--yes")
    assert "0009  name_key" in out and f"upgraded 0008 -> {HEAD}" in out
    assert _revision(pg.db) == HEAD
    assert "chained" in pg.ok("db", "check")


def test_a_newer_schema_is_refused(pg: Cli):
    execute_sql(pg.db, "UPDATE alembic_version SET version_num = '9999'")
    pg.refused("customer", "list", match="newer than this crmctl knows")
    pg.refused("db", "upgrade", "--yes", match="newer than this crmctl knows")


needs_pg_dump = pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
                                   reason="pg_dump / pg_restore not installed")


@needs_pg_dump
def test_backup_runs_pg_dump_verified_and_rotated(pg: Cli, tmp_path):
    pg.ok("customer", "add", "--name", "甲公司", "-s", "product_line=polyolefin", "-s", "channel=distributor",
          "-s", "sales_form=auction")
    dump = tmp_path / "crm-2026-11-22.dump"
    assert pg.ok("db", "backup", str(dump)).strip() == str(dump)
    listed = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA" in listed and " customer " in listed and "alembic_version" in listed
    assert oct(dump.stat().st_mode & 0o777) == "0o660"
    assert not list(tmp_path.glob("*.partial*"))
    audit = json.loads(pg.ok("audit", "list", "--format", "json"))
    assert audit[-1]["action"] == "db.backup"
    # the test's own schema (its search_path), not the other schemas of the database
    schema = pg.db.split("search_path%3D")[-1]
    tables = [ln for ln in listed.splitlines() if " TABLE DATA " in ln]
    assert tables and all(f" TABLE DATA {schema} " in ln for ln in tables), tables[:3]
    pg.refused("db", "backup", str(dump), match="--force")
    pg.ok("db", "backup", str(dump), "--force")
    # a series: the newest two kept
    import os

    for i, day in enumerate(("2026-11-01", "2026-11-08", "2026-11-15")):
        old = tmp_path / f"crm-{day}.dump"
        old.write_bytes(b"old")
        os.utime(old, (1_700_000_000 + i, 1_700_000_000 + i))
    out = pg.ok("db", "backup", str(tmp_path / "crm-2026-11-29.dump"), "--keep", "2")
    assert "removed older backup" in out
    left = sorted(p.name for p in tmp_path.glob("crm-*.dump"))
    assert left == ["crm-2026-11-22.dump", "crm-2026-11-29.dump"], left


@needs_pg_dump
def test_a_failed_pg_dump_leaves_nothing(pg: Cli, tmp_path, monkeypatch):
    from crmctl.services import pg_backup

    real = pg_backup.conninfo

    def wrong_port(url):
        info, env = real(url)
        return info.replace("port=5432", "port=1") if "port=" in info else info + " port=1", env

    monkeypatch.setattr(pg_backup, "conninfo", wrong_port)
    dump = tmp_path / "crm-1.dump"
    r = pg("db", "backup", str(dump))
    assert r.exit_code == 1 and r.stderr.startswith("Error: pg_dump failed"), r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("Error:")]) == 1
    assert not dump.exists() and not list(tmp_path.glob("*.partial*"))


def test_backup_without_pg_dump_says_what_to_install(pg: Cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    before = fingerprint(pg.db)
    pg.refused("db", "backup", str(tmp_path / "crm-1.dump"), match="postgresql-client")
    assert fingerprint(pg.db) == before and not (tmp_path / "crm-1.dump").exists()


def test_the_password_goes_to_the_child_in_its_environment_never_its_command_line():
    from crmctl.services.pg_backup import conninfo, dump_argv, shown

    url = "postgresql+psycopg://crm:s3cret@db.example:6432/crm?sslmode=verify-full&options=-csearch_path%3Dsales"
    info, env = conninfo(url)
    assert env == {"PGPASSWORD": "s3cret"} and "s3cret" not in info
    assert "sslmode=verify-full" in info and "host=db.example" in info and "port=6432" in info
    argv = dump_argv(url, tmp := __import__("pathlib").Path("x.dump"), "sales")
    assert "--schema=sales" in argv and "s3cret" not in shown(argv) and f"--file={tmp}" in argv
    info, env = conninfo("postgresql+psycopg:///?service=crm")
    assert info == "service=crm" and env == {}
    assert "--schema" not in " ".join(dump_argv("postgresql+psycopg://u@h/crm", tmp, "public"))
